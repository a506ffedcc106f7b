"""darkscan's χ̃⁰₂₋₄ 2-body widths against MG5_aMC's own (issue #14 item 2) and how they reach the MG5 cards.

tests/data/mssm_neutralino_widths_mg5.json holds MG5 3.5.7's ``compute_widths 1000023 1000025
1000035 --body_decay=2`` on two spectra (benchmarks/mssm_neutralino_widths_mg5.py made it): the
example's n1_monoz m_dm-150 card and a split spectrum where the H, A, H± and χ̃±W∓ channels are open
and χ̃⁰₃'s mass is negative.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from darkscan.cards import mg5, slha
from darkscan.registry import PROCESSES

MG5_WIDTHS = json.loads((Path(__file__).resolve().parent / "data" / "mssm_neutralino_widths_mg5.json").read_text())
EXAMPLE_POINT = {"m_dm": 150.0, "m_sneutrino": 3000.0, "m_sneutrino_tau": 3000.0, "m_sparticles": 3000.0}


def _channel(daughters: tuple[int, int]) -> str:
    return " ".join(sorted(map(str, daughters), key=lambda w: (-abs(int(w)), w)))


@pytest.mark.parametrize("spectrum", sorted(MG5_WIDTHS["spectra"]))
def test_neutralino_widths_agree_with_mg5_channel_by_channel(spectrum):
    record = MG5_WIDTHS["spectra"][spectrum]
    masses = {int(pdg): mass for pdg, mass in record["masses"].items()}
    computed = slha.neutralino_partial_widths_gev(masses)
    for pdg, theirs in record["widths"].items():
        ours = {_channel(d): width for d, width in computed[int(pdg)].items()}
        assert sorted(ours) == sorted(theirs["channels"]), pdg
        for channel, width in theirs["channels"].items():
            # MG5 integrates each channel with madevent: its digits beyond ~1e-5 are Monte Carlo
            assert ours[channel] == pytest.approx(width, rel=2e-4), (pdg, channel)
        if theirs["channels"]:  # with no open 2-body channel MG5 leaves the card's width as it was
            assert sum(ours.values()) == pytest.approx(theirs["width"], rel=2e-4), pdg


def test_mg5_data_cover_every_kind_of_channel():
    """The comparison above means something for Z, h, H, A, W and H± and for a negative mass."""
    bosons = {abs(int(word)) for record in MG5_WIDTHS["spectra"].values() for entry in record["widths"].values()
              for channel in entry["channels"] for word in channel.split()[1:]}
    assert bosons == {23, 24, 25, 35, 36, 37}
    assert MG5_WIDTHS["spectra"]["split"]["masses"]["1000025"] < 0
    assert MG5_WIDTHS["spectra"]["split"]["widths"]["1000025"]["width"] > 0


def test_moved_monoz_point_gets_darkscans_widths_and_mg5_computes_none():
    process = PROCESSES["neutralino_monoz"]
    entries = mg5.param_card_entries(process, EXAMPLE_POINT)
    assert "Auto" not in entries.values() and mg5.two_body_widths(process, entries) == []
    mg5_data = MG5_WIDTHS["spectra"]["n1_monoz_m_dm_150"]["widths"]
    for pdg in process.resonances:  # the card's widths are MG5's to its integration precision
        assert float(entries[f"DECAY {pdg}"]) == pytest.approx(mg5_data[str(pdg)]["width"], rel=2e-4)
    assert "DECAY 1000022" not in entries  # stable: the reference card's 0 stays (no "Auto" for MG5 to warn about)


def test_param_card_carries_the_branching_ratios():
    process = PROCESSES["neutralino_monoz"]
    text = slha.render_param_card(process, EXAMPLE_POINT)
    tables: dict[int, list[tuple[float, int, int]]] = {}
    current = None
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] == ["DECAY"]:
            current = int(words[1])
        elif current is not None and len(words) == 4 and words[1] == "2":
            tables.setdefault(current, []).append((float(words[0]), int(words[2]), int(words[3])))
    assert sorted(tables) == sorted(process.resonances)
    for pdg, table in tables.items():
        assert sum(br for br, _, _ in table) == pytest.approx(1, abs=1e-5)
        assert table[0][1:] == (1000022, 23)  # a 3 TeV χ̃⁰ᵢ goes mostly to χ̃⁰₁ Z
    # BR lines are decay-table lines: the DECAY widths read back unchanged
    assert slha.parse_slha(text)["DECAY"][(1000023,)] == pytest.approx(9.783065)


def test_an_open_sfermion_channel_leaves_the_width_to_mg5():
    """darkscan has no χ̃⁰ → f̃ f channels: with one open, MG5 computes that width (2-body) itself."""
    process = PROCESSES["neutralino_monoz"]
    light_sneutrinos = {**EXAMPLE_POINT, "m_sneutrino": 400.0}
    entries = mg5.param_card_entries(process, light_sneutrinos)
    assert mg5.two_body_widths(process, entries) == list(process.resonances)
    masses = {p: m for p, m, _ in slha.MSSM_MASSES}
    assert slha.sfermion_channel_open(1000023, masses)  # reference χ̃⁰₂ (181 GeV) → ẽ_R (144 GeV) e
    assert not slha.sfermion_channel_open(1000022, masses)
    lifted = {**masses, **{p: 3000.0 for p in masses if p > 1_000_000 and p != 1000022}}
    assert not slha.sfermion_channel_open(1000035, lifted)  # degenerate with every sfermion: closed
    assert slha.sfermion_channel_open(1000035, {**lifted, 1000006: 2800.0})  # 3000 > 2800 + m_t
    assert not slha.sfermion_channel_open(1000035, {**lifted, 1000006: 2850.0})  # 3000 < 2850 + 175


def test_reference_spectrum_keeps_the_reference_widths_without_tables():
    process = PROCESSES["neutralino_monoz"]
    masses = [(p, m, n) for p, m, n in slha.MSSM_MASSES]
    assert slha.mg5_widths(process, masses) == {} and slha.mg5_decay_tables(process, masses) == {}


def test_a_lifted_neutralino_keeps_the_sign_its_mixing_matrix_row_was_built_for():
    """NMIX is real with χ̃⁰₃'s eigenvalue negative: m_sparticles sets |m|, the sign stays (script, card, SLHA)."""
    process = PROCESSES["neutralino_monoz"]
    assert slha.parse_slha(slha.render_slha(process, EXAMPLE_POINT))["MASS"][(1000025,)] == -3000.0
    assert slha.parse_slha(slha.render_param_card(process, EXAMPLE_POINT))["MASS"][(1000025,)] == -3000.0
    entries = mg5.param_card_entries(process, EXAMPLE_POINT)
    assert entries["MASS 1000025"] == "-3.000000e+03" and entries["MASS 1000035"] == "3.000000e+03"
    # the sign is physics: Γ(χ̃⁰₃) would be 174.4908 GeV (MG5: 174.4908) with +3000 instead of 174.1216
    masses = {p: m for p, m, _ in slha.MSSM_MASSES}
    masses.update({p: 3000.0 for p in masses if p > 1_000_000})
    masses[1000022] = 150.0
    flipped = sum(slha.neutralino_partial_widths_gev(masses)[1000025].values())
    masses[1000025] = -3000.0
    kept = sum(slha.neutralino_partial_widths_gev(masses)[1000025].values())
    assert flipped == pytest.approx(174.4908, rel=1e-6) and kept == pytest.approx(174.1216, rel=1e-6)
