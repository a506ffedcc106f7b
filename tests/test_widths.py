"""Physical DMsimp mediator widths (darkscan.widths) against MG5_aMC's own width computation."""

from __future__ import annotations

import cmath
import math

import pytest
from mg5_widths import POINTS, mg5_widths
from shared import mg5_home

from darkscan.cards import mg5
from darkscan.errors import StudyError
from darkscan.registry import PROCESSES
from darkscan.study import parse_study
from darkscan.widths import _alpha_s, _scalar_to_gluons, mediator_width_gev

# MG5_aMC 3.5.7 `compute_widths PDG --body_decay=2` at POINTS (tests/mg5_widths.py, which also reruns
# them in the slow test below). MG5 evaluates the models' analytic two-body widths at tree level.
MG5_WIDTHS_GEV = [56.34015, 14.70982, 58.6541, 88.86524, 10.0235, 22.75506, 95.34173, 2.330646]


def _higgs_like_gluon_width(m: float, g_s: float) -> float:
    """Γ(S → gg) in the SM-Higgs convention (Spira/Djouadi A_1/2), scaled by the coupling ratio g_s."""
    tau = m**2 / (4 * 172.0**2)
    if tau <= 1:
        f = cmath.asin(math.sqrt(tau)) ** 2
    else:
        f = -0.25 * (cmath.log((1 + math.sqrt(1 - 1 / tau)) / (1 - math.sqrt(1 - 1 / tau))) - 1j * math.pi) ** 2
    amplitude = 2 * (tau + (tau - 1) * f) / tau**2
    gf = 1.16637e-5
    return g_s**2 * gf * _alpha_s(m) ** 2 * m**3 / (36 * math.sqrt(2) * math.pi**3) * abs(0.75 * amplitude) ** 2


@pytest.mark.parametrize(("point", "mg5_width"), list(zip(POINTS, MG5_WIDTHS_GEV)),
                         ids=[f"{name}-{i}" for i, (name, _) in enumerate(POINTS)])
def test_width_is_mg5s_tree_level_width(point, mg5_width):
    name, parameters = point
    width = mediator_width_gev(name, parameters)
    if name.startswith("spin0"):  # plus the loop-induced Y0 → gg, which MG5's tree level cannot see
        gluons = _higgs_like_gluon_width(parameters.get("m_med", 1000.0), parameters.get("g_q", 1.0))
        pseudo = parameters.get("gp_q", 0.0)
        width -= gluons + _scalar_to_gluons(parameters.get("m_med", 1000.0), 0.0, pseudo)
        assert 0 < gluons < 0.01 * mg5_width
    assert width == pytest.approx(mg5_width, rel=2e-6)


def test_spin1_reference_point_is_the_working_group_number():
    # Γ(Y1) = Γ(χχ̄) + 5 Γ(qq̄, massless) + Γ(tt̄) with 3 colours, from 1507.00966 eq. (2.3)-(2.4)
    m, g_q, g_dm, m_t = 1000.0, 0.25, 1.0, 172.0
    beta_t = math.sqrt(1 - 4 * m_t**2 / m**2)
    z_dm = 10.0**2 / m**2
    expected = (g_dm**2 * m / (12 * math.pi) * math.sqrt(1 - 4 * z_dm) * (1 + 2 * z_dm)
                + 3 * g_q**2 * m / (12 * math.pi) * (5 + beta_t * (1 + 2 * m_t**2 / m**2)))
    assert mediator_width_gev("spin1_monojet", {}) == pytest.approx(expected, rel=1e-12)
    assert mediator_width_gev("spin1_monojet", {}) == pytest.approx(56.3, abs=0.05)


def test_scalar_gluon_width_matches_the_sm_higgs_formula_across_the_top_threshold():
    for m in (125.0, 300.0, 344.0, 350.0, 1000.0, 3000.0):
        assert _scalar_to_gluons(m, 1.0, 0.0) == pytest.approx(_higgs_like_gluon_width(m, 1.0), rel=1e-9)
    # the SM Higgs at LO: Γ(h → gg) ≈ 0.2 MeV with α_s(m_h)
    assert 1.5e-4 < _scalar_to_gluons(125.0, 1.0, 0.0) < 2.5e-4


def test_top_channel_opens_at_twice_the_top_mass():
    below, above = (mediator_width_gev("spin1_monojet", {"m_med": m}) for m in (344.0 - 1e-7, 344.0 + 1e-7))
    assert 0 < above - below < 1e-4  # β vanishes at threshold: continuous
    far = mediator_width_gev("spin1_monojet", {"m_med": 400.0}) - mediator_width_gev(
        "spin1_monojet", {"m_med": 400.0, "g_q": 0.0})
    assert far == pytest.approx(3 * 0.25**2 * 400 / (12 * math.pi) * (5 + math.sqrt(1 - 4 * 172**2 / 400**2)
                                                                        * (1 + 2 * 172**2 / 400**2)), rel=1e-12)


def test_dm_channel_closes_when_the_mediator_is_off_shell():
    on = mediator_width_gev("spin1_monojet", {"m_med": 1000.0, "m_dm": 10.0})
    off = mediator_width_gev("spin1_monojet", {"m_med": 1000.0, "m_dm": 600.0})
    assert on - off == pytest.approx(1000 / (12 * math.pi), rel=1e-3)


def test_physical_width_is_the_default_and_follows_every_scan_point():
    plan = parse_study({"name": "s", "samples": [
        {"name": "a", "process": "spin1_monojet", "scan": {"m_med": [500, 1000, 2000]}},
        {"name": "fixed", "process": "spin1_monojet", "parameters": {"w_med": 10}},
        {"name": "mg5", "process": "spin1_monojet", "parameters": {"w_med": "auto"}}]}).plan()
    widths = [p.parameters["w_med"] for p in plan]
    assert widths[:3] == [pytest.approx(mediator_width_gev("spin1_monojet", {"m_med": m}), rel=1e-6)
                          for m in (500, 1000, 2000)]
    assert widths[3] == 10 and widths[4] == "auto"
    cards = [mg5.param_card_entries(PROCESSES["spin1_monojet"], p.parameters)["DECAY 55"] for p in plan]
    assert cards == [f"{w:.6e}" for w in widths[:3]] + ["1.000000e+01", "Auto"]
    assert cards[1] == "5.634015e+01"  # MG5's Auto at the reference point


def test_only_dmsimp_mediators_have_a_physical_width():
    with pytest.raises(StudyError, match="no DMsimp mediator"):
        mediator_width_gev("alp_monojet", {})
    with pytest.raises(StudyError, match="must be a number"):
        mediator_width_gev("spin1_monojet", {"m_dm": "heavy"})


@pytest.mark.slow
def test_width_agrees_with_a_live_mg5_compute_widths(tmp_path):
    measured = mg5_widths(mg5_home(), POINTS, tmp_path)
    assert measured == pytest.approx(MG5_WIDTHS_GEV, rel=1e-6)
