from __future__ import annotations

import re
from pathlib import Path

import pytest
from particle import PDGID

from darkscan.errors import StudyError
from darkscan.registry import PROCESSES, get_process

FAMILIES = ("spin0", "spin1", "spin2", "alp", "neutralino", "sneutrino")
BACKGROUNDS = ("sm_znunu_jet", "sm_wlnu_jet", "sm_ttbar", "sm_zz_llvv", "sm_wz_lvll", "sm_ww_lvlv", "sm_zll_jet")


def test_registry_covers_the_mission():
    expected = {f"{family}_{signature}" for family in FAMILIES for signature in ("monojet", "monoz")}
    assert expected | set(BACKGROUNDS) == set(PROCESSES)


@pytest.mark.parametrize("process", PROCESSES.values(), ids=list(PROCESSES))
def test_process_is_consistent(process):
    assert process.mg5_processes
    for line in process.mg5_processes:
        assert line.startswith("p p > ")
    if process.role == "signal":
        assert process.invisible_pdgids, "a DM signal needs an invisible BSM particle"
        final_state = process.mg5_processes[0].split(",")[0]
        if "monojet" in process.signatures:
            assert re.search(r"\bj\b", final_state)
        else:
            assert re.search(r"\bz\b", final_state)
            assert process.madspin_decays == ("z > l+ l-",) or "z > l+ l-" in process.mg5_processes[0]
    for parameter in process.parameters:
        assert parameter.check(parameter.default) is None, parameter
        assert parameter.entries
    assert len(set(process.parameter_names)) == len(process.parameters)


def test_loop_induced_spin0_uses_noborn():
    # MG5 3.5.7 finds no tree-level amplitude for p p > xd xd~ j in DMsimp_s_spin0
    for name in ("spin0_monojet", "spin0_monoz"):
        assert all("[noborn=QCD]" in line for line in PROCESSES[name].mg5_processes)


@pytest.mark.parametrize("pdgid", sorted({i for p in PROCESSES.values() for i in p.invisible_pdgids if i > 1_000_000 and i < 2_000_000}))
def test_mssm_invisibles_are_neutral_sparticles(pdgid):
    assert PDGID(pdgid).is_SUSY and PDGID(pdgid).charge == 0


def test_mssm_defaults_match_the_real_mg5_param_card(shared_data: Path):
    banner = (shared_data / "mg5" / "mssm_n1n1j" / "run_01_tag_1_banner.txt").read_text()
    mass_block = re.search(r"BLOCK MASS.*?\n(.*?)\nBLOCK", banner, re.S).group(1)
    masses = {int(m[1]): float(m[2]) for m in re.finditer(r"^\s+(\d+) ([-+.\de]+)", mass_block, re.M)}
    for parameter in PROCESSES["neutralino_monojet"].parameters:
        for entry in parameter.entries:
            assert parameter.default == pytest.approx(masses[entry.ids[0]], rel=1e-6), (parameter.name, entry)
    assert PROCESSES["neutralino_monojet"].mg5_import == "MSSM_SLHA2-full"


def test_unknown_process_suggests_the_closest():
    with pytest.raises(StudyError, match="did you mean 'spin1_monojet'"):
        get_process("spin1_monjet")
