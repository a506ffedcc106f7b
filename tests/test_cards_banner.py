"""The rendered ``sm`` and ``MSSM_SLHA2`` MG5 scripts against the cards of real MG5 3.5.7 runs.

``shared/data/mg5/*/run_01_tag_1_banner.txt`` holds the proc card, run card and param card MG5
recorded. With the reference settings (2000 events, iseed 11, 13 TeV, nn23lo1, systematics on as
in MG5's default card), every run-card key and param-card entry our script sets must equal the
banner's, and the generated process must be the same. Reproducing σ itself (45.87 pb for Z(νν)j
with ptj > 130 GeV, 0.1708 pb for χ̃⁰₁χ̃⁰₁j) needs a real MG5, which the test machines do not have.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from shared import shared_data

from darkscan.cards import mg5, slha
from darkscan.registry import PROCESSES
from darkscan.study import parse_study


def _section(banner: str, tag: str) -> str:
    match = re.search(rf"<{tag}>\s*(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?\s*</{tag}>", banner, re.S)
    assert match, tag
    return match.group(1)


def _run_card(banner: str) -> dict[str, str]:
    card = {}
    for line in _section(banner, "MGRunCard").splitlines():
        line = line.split("!", 1)[0]
        if "=" in line and not line.strip().startswith("#"):
            value, key = line.split("=", 1)
            card[key.strip()] = value.strip()
    return card


def _same(ours: str, theirs: str) -> bool:
    try:
        return float(ours) == float(theirs)
    except ValueError:
        return ours.lower() == theirs.lower()


REFERENCE = {
    # folder: (process, sample generation cuts) — the MSSM runs kept MG5's default ptj = 20 GeV
    "znunu_j": ("sm_znunu_jet", {}),
    "mssm_n1n1j": ("neutralino_monojet", {"ptj": 20.0}),
    "mssm_n1n1z_ll": ("neutralino_monoz", {}),
}


@pytest.mark.parametrize("folder", sorted(REFERENCE))
def test_script_sets_what_the_real_run_used(folder: str, tmp_path: Path):
    banner = (shared_data() / "mg5" / folder / "run_01_tag_1_banner.txt").read_text()
    name, cuts = REFERENCE[folder]
    study = parse_study({"name": "reference", "generator": {"backend": "madgraph", "n_events": 2000},
                         "samples": [{"name": folder, "process": name, "generation_cuts": cuts}]},
                        source=tmp_path / "study.yaml")
    point = dataclasses.replace(study.plan()[0], seed=11)
    settings = mg5.MG5Settings(sqrt_s_gev=13000.0, use_syst=True)
    script = mg5.parse_mg5_script(mg5.render_mg5_script(point, study_name="reference", settings=settings))

    # the process: same generate line; the model is the same MSSM_SLHA2 without restriction
    theirs = mg5.parse_mg5_script(_section(banner, "MG5ProcCard"))
    assert script.processes == theirs.processes
    assert script.imports[0].removesuffix("-full") == theirs.imports[0]

    run_card = _run_card(banner)
    assert script.run_card.keys() >= {"nevents", "iseed", "ebeam1", "ebeam2", "lpp1", "lpp2", "pdlabel", "use_syst"}
    for key, value in script.run_card.items():
        assert key in run_card, key
        assert _same(value, run_card[key]), (key, value, run_card[key])

    param_card = slha.parse_slha(_section(banner, "slha"))
    for entry, value in script.param_card.items():
        block, *ids = entry.split()
        assert float(value) == pytest.approx(param_card[block][tuple(map(int, ids))], rel=1e-6), entry


def test_mssm_param_card_template_is_the_real_param_card():
    """Every entry MG5 wrote for the reference spectrum is in our SLHA2 template with its value."""
    banner = (shared_data() / "mg5" / "mssm_n1n1j" / "run_01_tag_1_banner.txt").read_text()
    theirs = slha.parse_slha(_section(banner, "slha"))
    process = PROCESSES["neutralino_monojet"]
    ours = slha.parse_slha(slha.render_param_card(process, process.defaults()))
    compared = 0
    for block, entries in theirs.items():
        if block == "QNUMBERS":
            continue  # particle definitions MG5 adds for the event-file reader, not parameters
        for ids, value in entries.items():
            if value == 0.0 and block in ("MASS", "DECAY"):
                continue  # massless / stable SM particles MG5 lists for information
            assert ours[block][ids] == pytest.approx(value, rel=1e-6, abs=1e-12), (block, ids)
            compared += 1
    assert compared == 160  # MASS, DECAY, mixing and soft-breaking blocks of the real card
    for block, entries in ours.items():
        for ids in entries:
            assert ids in theirs[block], (block, ids)
