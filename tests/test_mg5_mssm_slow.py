"""One point of examples/mssm_neutralino_vs_sneutrino.yaml through the real MG5_aMC (slow, issue #14 item 2).

Before the fix, every point away from the reference spectrum asked MG5 for 31 ``Auto`` widths with
3- and 4-body decays and did not start integrating within 15 minutes.
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

from darkscan.cards import mg5
from darkscan.study import load_study


@pytest.mark.slow
def test_moved_mssm_point_runs_in_mg5_with_2_body_resonance_widths(tmp_path):
    home = mg5_home()
    study = load_study(REPO / "examples" / "mssm_neutralino_vs_sneutrino.yaml")
    point = next(p for p in study.plan() if p.sample == "n1_monojet" and p.point_id == "m_dm-1000")
    point = dataclasses.replace(point, n_events=500)
    (tmp_path / mg5.SCRIPT_NAME).write_text(mg5.render_mg5_script(point, study_name=study.name, settings=mg5.MG5Settings()))
    env = {**os.environ, "PATH": f"{home / 'darkscan-bin'}:{os.environ['PATH']}"}
    start = time.monotonic()
    with (tmp_path / "mg5.log").open("w") as log:
        result = subprocess.run([sys.executable, str(home / "bin" / "mg5_aMC"), mg5.SCRIPT_NAME], cwd=tmp_path,
                                stdout=log, stderr=subprocess.STDOUT, timeout=1800, env=env)
    wall = time.monotonic() - start
    text = (tmp_path / "mg5.log").read_text()
    assert result.returncode == 0 and not re.search(r"^(Error|InvalidCmd)|command not executed", text, re.M), text[-3000:]
    banner = next((tmp_path / "mg5" / "Events" / "run_01").glob("*banner.txt")).read_text()
    sigma = float(re.search(r"Integrated weight \(pb\)\s*:\s*(\S+)", banner).group(1))
    assert 0 < sigma < 0.1  # χ̃⁰₁ pairs at 1 TeV + a 130 GeV jet: well below the 0.17 pb of 97 GeV ones
    decays = dict(re.findall(r"^DECAY\s+(\d+)\s+(\S+)", banner, re.M))
    for squark in (1000001, 1000002, 2000001, 2000002):  # 2-body q̃ → q χ̃⁰₁, the card's numbers
        assert float(decays[str(squark)]) > 0
    assert float(decays["1000022"]) == 0.0
    print(f"n1_monojet m_dm-1000, 500 events: {wall:.0f} s wall, σ = {sigma:.4g} pb")
