"""Physics choices of the registry and the cards (issue #14, items 4, 6, 7, 8)."""

from __future__ import annotations

import re

import pytest

from darkscan.cards import mg5
from darkscan.cards.slha import parse_slha, render_param_card, render_slha
from darkscan.errors import CardError
from darkscan.gen.pythia import recipe_for
from darkscan.registry import PROCESSES
from darkscan.study import parse_study

# MG5's sm model: its multiparticle labels and particle names (PDG ids, sign dropped)
_MG5_SM_LABELS = {"l+": ("e+", "mu+"), "l-": ("e-", "mu-"), "vl": ("ve", "vm", "vt"), "vl~": ("ve~", "vm~", "vt~")}
_MG5_SM_LEPTONS = {"e": 11, "mu": 13, "ta": 15, "ve": 12, "vm": 14, "vt": 16}


def _mg5_boson_leptons(process) -> dict[int, set[int]]:
    """|PDG| of the leptons each W/Z decays to in the MG5 lines (defines and sm labels resolved)."""
    labels = dict(_MG5_SM_LABELS)
    for define in process.mg5_defines:
        name, members = define.split("=")
        labels[name.strip()] = tuple(members.split())
    bosons = {"w+": 24, "w-": 24, "z": 23}
    found: dict[int, set[int]] = {}
    for line in process.mg5_processes:
        for decay in line.split(",")[1:]:
            mother, daughters = decay.split(">")
            for daughter in daughters.split():
                for name in labels.get(daughter, (daughter,)):
                    pdg = _MG5_SM_LEPTONS.get(name.rstrip("+-~"))
                    if pdg is not None:
                        found.setdefault(bosons[mother.strip()], set()).add(pdg)
    return found


def _pythia_boson_leptons(process_name: str) -> dict[int, set[int]]:
    recipe = recipe_for(process_name, PROCESSES[process_name].defaults(), PROCESSES[process_name].generation_cuts)
    found = {}
    for setting in recipe.settings:
        if match := re.match(r"(23|24):onIfAny = (.*)", setting):
            found[int(match.group(1))] = {int(i) for i in match.group(2).split()}
    return found


@pytest.mark.parametrize("name", ["sm_znunu_jet", "sm_zll_jet", "sm_wlnu_jet", "sm_zz_llvv", "sm_wz_lvll", "sm_ww_lvlv"])
def test_both_backends_decay_the_bosons_to_the_same_leptons(name):
    mg5_leptons, pythia_leptons = _mg5_boson_leptons(PROCESSES[name]), _pythia_boson_leptons(name)
    assert mg5_leptons.keys() == pythia_leptons.keys()
    for boson, leptons in mg5_leptons.items():
        charged = {11, 13, 15}
        if boson == 24:  # Pythia's onIfAny names the charged lepton; MG5 lists both
            assert leptons & charged == pythia_leptons[24], name
        else:
            assert leptons == pythia_leptons[23], name


def test_ttbar_tops_are_decayed_with_spin_correlations_in_mg5():
    process = PROCESSES["sm_ttbar"]
    assert process.mg5_processes == ("p p > t t~",)
    assert process.madspin_decays == ("t > w+ b, w+ > all all", "t~ > w- b~, w- > all all")
    point = parse_study({"name": "s", "generator": {"backend": "madgraph"},
                         "samples": [{"name": "tt", "process": "sm_ttbar"}]}).plan()[0]
    script = mg5.parse_mg5_script(mg5.render_mg5_script(point, study_name="s", settings=mg5.MG5Settings()))
    assert script.switches["madspin"] == "ON"
    assert not any(line.startswith("set spinmode") for line in script.madspin)  # MadSpin's full mode


def _masses(text: str) -> dict[int, float]:
    return {ids[0]: abs(value) for ids, value in parse_slha(text)["MASS"].items()}


@pytest.mark.parametrize("name", ["sneutrino_monojet", "sneutrino_monoz"])
def test_sneutrino_default_spectrum_is_ordered_with_the_sneutrino_the_lsp(name):
    process = PROCESSES[name]
    masses = _masses(render_slha(process, process.defaults()))
    sneutrinos = [masses[p] for p in (1000012, 1000014, 1000016)]
    others = {p: m for p, m in masses.items() if p >= 1_000_000 and p not in (1000012, 1000014, 1000016)}
    assert max(sneutrinos) < min(others.values())  # ν̃ is the LSP
    # the neutralino/chargino sector keeps its order: χ̃⁰₁ ≤ χ̃⁰₂ ≤ χ̃⁰₃ ≤ χ̃⁰₄, χ̃⁰₁ ≤ χ̃±₁ ≤ χ̃±₂
    n1, n2, n3, n4, c1, c2 = (masses[p] for p in (1000022, 1000023, 1000025, 1000035, 1000024, 1000037))
    assert n1 <= n2 <= n3 <= n4 and n1 <= c1 <= c2
    # a χ̃⁰₁ moved alone above χ̃⁰₂ is refused: the study check and the cards say so
    with pytest.raises(CardError, match="heavier than"):
        render_slha(process, {**process.defaults(), "m_neutralino": 2500.0, "m_sparticles": 2000.0})
    why = [c.check({**process.defaults(), "m_neutralino": 2500.0}) for c in process.constraints]
    assert any(w and "m_neutralino = 2500 must be at most m_sparticles = 2000" in w for w in why)


def test_reference_neutralino_spectrum_is_reproduced_exactly():
    """Unmoved spectrum: every reference width stays, so the reference runs are reproduced."""
    process = PROCESSES["neutralino_monojet"]
    card = parse_slha(render_param_card(process, process.defaults()))["DECAY"]
    assert "Auto" not in card.values() and card[(1000001,)] == 5.312788
    assert not [k for k in mg5.param_card_entries(process, process.defaults()) if k.startswith("DECAY")]


def test_scan_script_says_how_mg5_seeds_the_later_runs():
    study = parse_study({"name": "s", "generator": {"backend": "madgraph", "seed": 5}, "samples": [
        {"name": "a", "process": "spin1_monojet", "scan": {"m_med": [500, 1000, 2000]}}]})
    text = mg5.render_mg5_scan_script(study.plan(), study_name="s", settings=mg5.MG5Settings())
    assert "iseed + 6, iseed + 12" in text and "resets it to 0" not in text
