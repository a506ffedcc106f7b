"""Points of examples/mssm_neutralino_vs_sneutrino.yaml through the real MG5_aMC (slow, issue #14 item 2).

Before the fix, every point away from the reference spectrum asked MG5 for 31 ``Auto`` widths with
3- and 4-body decays and did not start integrating within 15 minutes. Each point here takes about a
minute on two shared cores (51 / 53 s wall for the monojet / mono-Z one at load 2, 2026-12-02).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time

import pytest
from conftest import REPO
from shared import mg5_home

from darkscan.cards import mg5, slha
from darkscan.study import load_study


def _run_point(tmp_path, sample: str, point_id: str, n_events: int, timeout: int) -> tuple[str, str, float]:
    """MG5's log and run banner of one example point rendered by darkscan, and the wall seconds."""
    home = mg5_home()
    study = load_study(REPO / "examples" / "mssm_neutralino_vs_sneutrino.yaml")
    point = next(p for p in study.plan() if p.sample == sample and p.point_id == point_id)
    point = dataclasses.replace(point, n_events=n_events)
    (tmp_path / mg5.SCRIPT_NAME).write_text(mg5.render_mg5_script(point, study_name=study.name, settings=mg5.MG5Settings()))
    env = {**os.environ, "PATH": f"{home / 'darkscan-bin'}:{os.environ['PATH']}"}
    start = time.monotonic()
    with (tmp_path / "mg5.log").open("w") as log:
        result = subprocess.run([sys.executable, str(home / "bin" / "mg5_aMC"), mg5.SCRIPT_NAME], cwd=tmp_path,
                                stdout=log, stderr=subprocess.STDOUT, timeout=timeout, env=env)
    wall = time.monotonic() - start
    text = (tmp_path / "mg5.log").read_text()
    assert result.returncode == 0 and not re.search(r"^(Error|InvalidCmd)|command not executed", text, re.M), text[-3000:]
    banner = next((tmp_path / "mg5" / "Events" / "run_01").glob("*banner.txt")).read_text()
    return text, banner, wall


def _sigma_pb(banner: str) -> float:
    return float(re.search(r"Integrated weight \(pb\)\s*:\s*(\S+)", banner).group(1))


@pytest.mark.slow
def test_moved_mssm_point_runs_in_mg5_with_2_body_resonance_widths(tmp_path):
    _, banner, wall = _run_point(tmp_path, "n1_monojet", "m_dm-1000_m_sparticles-1200", 500, 1800)
    sigma = _sigma_pb(banner)
    # q g → q̃ χ̃⁰₁ → q χ̃⁰₁χ̃⁰₁, q̃ at 1200 GeV: 4.844e-4 pb at 20 000 events (mg5_point_timing.py), 4.787e-4 at 500
    assert sigma == pytest.approx(4.844e-4, rel=0.05)
    decays = dict(re.findall(r"^DECAY\s+(\d+)\s+(\S+)", banner, re.M))
    for squark in (1000001, 1000002, 2000001, 2000002):  # 2-body q̃ → q χ̃⁰₁, the card's numbers
        assert float(decays[str(squark)]) > 0
    assert float(decays["1000022"]) == 0.0
    print(f"n1_monojet m_dm-1000 (sparticles at 1200), 500 events: {wall:.0f} s wall, σ = {sigma:.4g} pb")


@pytest.mark.slow
def test_moved_neutralino_monoz_point_uses_darkscans_widths_and_mg5_computes_none(tmp_path):
    text, banner, wall = _run_point(tmp_path, "n1_monoz", "m_dm-550_m_sparticles-750", 300, 3600)
    assert "compute_widths" not in text and "get decay diagram" not in text  # no madevent run for widths
    decays = {int(pdg): float(width) for pdg, width in re.findall(r"^DECAY\s+(\d+)\s+(\S+)", banner, re.M)}
    masses = {int(pdg): float(mass) for pdg, mass in
              re.findall(r"^\s+(\d+)\s+(\S+)\s+#", _block(banner, "MASS"), re.M)}
    computed = slha.neutralino_partial_widths_gev(masses)
    for pdg in (1000023, 1000025, 1000035):
        assert decays[pdg] == pytest.approx(sum(computed[pdg].values()), rel=1e-6)
    sigma = _sigma_pb(banner)
    # bino-like χ̃⁰₁, σ falling with the mass: between the example's m_dm 800 and 150 points (4.086e-7 and
    # 1.067e-4 pb, mg5_point_timing.py); 2.21e-6 pb here at 300 events
    assert 4.086e-7 < sigma < 1.067e-4
    print(f"n1_monoz m_dm-550 (sparticles at 750), 300 events: {wall:.0f} s wall, σ = {sigma:.4g} pb")


def _block(banner: str, name: str) -> str:
    """The lines of SLHA block ``name`` in the banner's param card."""
    match = re.search(rf"^BLOCK\s+{name}\b.*?\n(.*?)(?=^(?:BLOCK|DECAY)\b)", banner, re.M | re.S | re.I)
    assert match, f"no BLOCK {name} in the banner"
    return match.group(1)
