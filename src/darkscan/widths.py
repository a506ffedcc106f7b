"""Physical (minimal) widths of the DMsimp spin-0, spin-1 and spin-2 mediators, GeV.

The LHC Dark Matter Working Group benchmarks (arXiv:1507.00966, 1603.04156) fix the mediator width
to the sum of its partial widths into the particles it couples to, computed from the masses and
couplings of each scan point, instead of one fixed number. :func:`mediator_width_gev` is that sum
for exactly the model MadGraph runs (DMsimp_s_spin0/1 v1.0, DMsimp_s_spin2 v1.1): the two-body
formulas are those of the models' own ``decays.py`` (which MG5's ``compute_widths`` / ``DECAY … Auto``
evaluates), written out per channel, with

- quarks carrying the colour factor 3; u, d, s, c, b massless as in the models' 5-flavour scheme and
  the top massive (m_t = 172 GeV), so the tt̄ channel opens at m_med = 2 m_t with its β threshold;
- the model parameters a study cannot set kept at the model's defaults (spin-0: the dimension-5
  electroweak couplings gSb = 1, gSh1 = 1 at Λ = 10 TeV; spin-2: gTw = gTb = gTl = gTh = 1);
- for the scalar mediator, in addition, the loop-induced Y0 → gg of the Working Group formula
  (top loop, α_s at m_med): MG5's tree-level ``Auto`` cannot see it (< 0.1 % of the width at the
  reference point).

Checked against MG5_aMC 3.5.7's ``compute_widths`` (tests/test_widths.py): Γ(Y1) = 56.34 GeV at
m_med 1000, m_dm 10, g_q 0.25, g_dm 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from darkscan.errors import StudyError

__all__ = ["PHYSICAL", "mediator_width_gev", "resolve_widths", "scalar_partial_widths_gev"]

#: the width value meaning "the physical width of this scan point" (the DMsimp mediators' default)
PHYSICAL = "physical"

# SM inputs of the DMsimp param cards (MG5's sm conventions: MW, sin²θ_W, e and v derived from
# α_EW(MZ)⁻¹, G_F and MZ).
_MT = 172.0
_MZ = 91.1876
_MH = 125.0
_MTA = 1.777
_ALPHA_EW = 1 / 127.9
_GF = 1.16637e-5
_ALPHA_S_MZ = 0.1184
_MW = math.sqrt(_MZ**2 / 2 + math.sqrt(_MZ**4 / 4 - _ALPHA_EW * math.pi * _MZ**2 / (_GF * math.sqrt(2))))
_CW2 = _MW**2 / _MZ**2
_SW2 = 1 - _CW2
_EE = math.sqrt(4 * math.pi * _ALPHA_EW)
_VEV = 2 * _MW * math.sqrt(_SW2) / _EE
_N_LIGHT_QUARKS = 5  # u d s c b, massless in the 5-flavour DMsimp models
_N_COLOURS = 3

_MEDIATOR_FAMILIES = ("spin0", "spin1", "spin2")


def _beta(m_med: float, m_daughter: float) -> float:
    """Velocity of each of two equal-mass daughters; 0 below threshold (channel closed)."""
    x = 1 - 4 * m_daughter**2 / m_med**2
    return math.sqrt(x) if x > 0 else 0.0


# --- spin 1: vector and axial couplings to Dirac fermions -----------------------------------------

def _vector_to_fermions(m_med: float, m_f: float, g_v: float, g_a: float, colours: int) -> float:
    beta = _beta(m_med, m_f)
    z = m_f**2 / m_med**2
    return colours * m_med * beta * (g_v**2 * (1 + 2 * z) + g_a**2 * (1 - 4 * z)) / (12 * math.pi)


def _spin1_width(p: Mapping[str, float]) -> float:
    m = p["m_med"]
    quarks = (_N_LIGHT_QUARKS * _vector_to_fermions(m, 0.0, p["g_q"], p["ga_q"], _N_COLOURS)
              + _vector_to_fermions(m, _MT, p["g_q"], p["ga_q"], _N_COLOURS))
    return quarks + _vector_to_fermions(m, p["m_dm"], p["g_dm"], p["ga_dm"], 1)


# --- spin 0: Yukawa-scaled couplings to quarks, direct coupling to DM --------------------------

# DMsimp_s_spin0 v1.0 defaults of the couplings darkscan does not expose (DMINPUTS 17, 20, 22).
_SPIN0_LAMBDA = 1.0e4
_SPIN0_G_SB = 1.0
_SPIN0_G_SH1 = 1.0


def _scalar_to_fermions(m_med: float, m_f: float, g_s: float, g_p: float, colours: int, coupling: float) -> float:
    """Y0 → ff̄ with the interaction coupling·(g_s + i g_p γ5): β³ for the scalar, β for the pseudoscalar."""
    beta = _beta(m_med, m_f)
    return colours * coupling**2 * m_med * beta * (g_s**2 * beta**2 + g_p**2) / (8 * math.pi)


def _alpha_s(q_gev: float) -> float:
    """One-loop α_s(Q) from α_s(MZ) with 5 flavours (6 above m_t, continuous at the threshold)."""
    def run(alpha: float, q0: float, q: float, nf: int) -> float:
        b0 = (33 - 2 * nf) / (12 * math.pi)
        return alpha / (1 + alpha * b0 * math.log(q**2 / q0**2))

    if q_gev <= _MT:
        return run(_ALPHA_S_MZ, _MZ, q_gev, 5)
    return run(run(_ALPHA_S_MZ, _MZ, _MT, 5), _MT, q_gev, 6)


def _loop_functions(tau: float) -> tuple[complex, complex]:
    """Working Group top-loop form factors f_S(τ), f_P(τ), τ = 4 m_t²/m_med² (→ 2/3 and 1 for heavy tops)."""
    if tau >= 1:
        arctan2 = complex(math.asin(1 / math.sqrt(tau)) ** 2)  # arctan²(1/√(τ−1)) = arcsin²(1/√τ)
    else:
        root = math.sqrt(1 - tau)
        arctan2 = -0.25 * complex(math.log((1 + root) / (1 - root)), -math.pi) ** 2
    return tau * (1 + (1 - tau) * arctan2), tau * arctan2


def _scalar_to_gluons(m_med: float, g_s: float, g_p: float) -> float:
    f_s, f_p = _loop_functions(4 * _MT**2 / m_med**2)
    return (_alpha_s(m_med) ** 2 * m_med**3 / (32 * math.pi**3 * _VEV**2)
            * (g_s**2 * abs(f_s) ** 2 + g_p**2 * abs(f_p) ** 2))


def _spin0_electroweak(m: float) -> float:
    """Y0 → γγ, Zγ, ZZ, WW, hh from the model's dimension-5 couplings gSb, gSh1 / Λ (at their defaults)."""
    lam2, g_b, g_h = _SPIN0_LAMBDA**2, _SPIN0_G_SB, _SPIN0_G_SH1
    mz2, mw2, mh2, m2 = _MZ**2, _MW**2, _MH**2, m**2
    gamma_gamma = _CW2**2 * g_b**2 * m**3 / (4 * math.pi * lam2)
    z_gamma = (_CW2 * _SW2 * g_b**2 * (m2 - mz2) ** 3 / (2 * math.pi * lam2 * m**3)) if m > _MZ else 0.0
    zz = ((8 * g_b**2 * _SW2**2 * (m2**2 - 4 * m2 * mz2 + 6 * mz2**2)
           - 12 * g_b * g_h * _SW2 * mz2 * (m2 - 2 * mz2)
           + g_h**2 * (m2**2 - 4 * m2 * mz2 + 12 * mz2**2) / 4)
          * _beta(m, _MZ) / (32 * math.pi * lam2 * m))
    ww = g_h**2 * (m2**2 / 4 - m2 * mw2 + 3 * mw2**2) * _beta(m, _MW) / (16 * math.pi * lam2 * m)
    hh = g_h**2 * (m2 / 2 - mh2) ** 2 * _beta(m, _MH) / (32 * math.pi * lam2 * m)
    return gamma_gamma + z_gamma + zz + ww + hh


def scalar_partial_widths_gev(m_med: float, m_dm: float, g_q: float, gp_q: float, g_dm: float,
                              gp_dm: float) -> tuple[float, float]:
    """Γ(Y0 → gg) (top loop) and Γ(Y0 → χχ̄) of DMsimp_s_spin0, GeV: what production and decay
    of the embedded spin-0 signal are normalised to."""
    return _scalar_to_gluons(m_med, g_q, gp_q), _scalar_to_fermions(m_med, m_dm, g_dm, gp_dm, 1, 1.0)


def _spin0_width(p: Mapping[str, float]) -> float:
    m = p["m_med"]
    y_top = math.sqrt(2) * _MT / _VEV
    # the DMsimp coupling to quarks is g·y_q/√2; only the top has a Yukawa in the 5-flavour model
    top = _scalar_to_fermions(m, _MT, p["g_q"], p["gp_q"], _N_COLOURS, y_top / math.sqrt(2))
    gluons, dm = scalar_partial_widths_gev(m, p["m_dm"], p["g_q"], p["gp_q"], p["g_dm"], p["gp_dm"])
    return top + dm + gluons + _spin0_electroweak(m)


# --- spin 2: couplings T^i_μν Y2^μν / Λ ---------------------------------------------------------

# DMsimp_s_spin2 v1.1 defaults of the couplings darkscan does not expose (DMINPUTS 3, 4, 7, 8).
_SPIN2_G_W = _SPIN2_G_B = _SPIN2_G_L = _SPIN2_G_H = 1.0


def _tensor_to_fermions(m: float, m_f: float, g: float, lam: float, colours: int) -> float:
    r = m_f**2 / m**2
    return colours * g**2 * m**3 * _beta(m, m_f) * (1 - 4 * r / 3 - 32 * r**2 / 3) / (160 * math.pi * lam**2)


def _tensor_to_vectors(m: float, m_v: float, g_v: float, g_h: float, lam: float) -> float:
    """Y2 → VV (massive: W⁺W⁻ or ZZ, with the Goldstone part from gTh), W⁺W⁻ normalisation."""
    m2, mv2 = m**2, m_v**2
    bracket = (2 * g_v**2 * (m2**2 - 3 * m2 * mv2 + 6 * mv2**2) + 40 / 3 * g_v * g_h * mv2 * (m2 - mv2)
               + g_h**2 * (m2**2 / 6 + 2 * m2 * mv2 + 28 / 3 * mv2**2))
    return bracket * _beta(m, m_v) / (80 * math.pi * lam**2 * m)


def _spin2_width(p: Mapping[str, float]) -> float:
    m, lam = p["m_med"], p["lambda_med"]
    g_w, g_b, g_l, g_h = _SPIN2_G_W, _SPIN2_G_B, _SPIN2_G_L, _SPIN2_G_H
    quarks = (_N_LIGHT_QUARKS * _tensor_to_fermions(m, 0.0, p["g_q"], lam, _N_COLOURS)
              + _tensor_to_fermions(m, _MT, p["g_q"], lam, _N_COLOURS))
    leptons = 2 * _tensor_to_fermions(m, 0.0, g_l, lam, 1) + _tensor_to_fermions(m, _MTA, g_l, lam, 1)
    neutrinos = 3 * _tensor_to_fermions(m, 0.0, g_l, lam, 1) / 2  # one helicity
    gluons = p["g_g"] ** 2 * m**3 / (10 * math.pi * lam**2)
    g_photon = _CW2 * g_b + _SW2 * g_w
    photons = g_photon**2 * m**3 / (80 * math.pi * lam**2)
    mz2 = _MZ**2
    z_photon = (2 * _CW2 * _SW2 * (g_b - g_w) ** 2 * (m - mz2 / m) * (
        m**4 - 1.5 * m**2 * mz2 + mz2**2 / 6 + mz2**3 / (6 * m**2) + mz2**4 / (6 * m**4))
        / (80 * math.pi * lam**2 * m**2)) if m > _MZ else 0.0
    ww = _tensor_to_vectors(m, _MW, g_w, g_h, lam)
    zz = _tensor_to_vectors(m, _MZ, _CW2 * g_w + _SW2 * g_b, g_h, lam) / 2  # identical bosons
    hh = g_h**2 * (8 * _MH**4 / 3 - 4 * _MH**2 * m**2 / 3 + m**4 / 6) * _beta(m, _MH) / (160 * math.pi * lam**2 * m)
    dm = _tensor_to_fermions(m, p["m_dm"], p["g_dm"], lam, 1)
    return quarks + leptons + neutrinos + gluons + photons + z_photon + ww + zz + hh + dm


_WIDTHS = {"spin0": _spin0_width, "spin1": _spin1_width, "spin2": _spin2_width}


def mediator_width_gev(process_name: str, parameters: Mapping[str, float | str]) -> float:
    """Physical width (GeV) of the DMsimp mediator of ``process_name`` at ``parameters``.

    ``parameters`` uses the registry's names (``m_med``, ``m_dm``, ``g_q``, …); missing ones take the
    registry defaults, and the width parameter itself is ignored. A :class:`StudyError` for a process
    without a DMsimp mediator or a non-numeric mass/coupling.
    """
    from darkscan.registry import get_process

    process = get_process(process_name)
    if process.family not in _WIDTHS:
        raise StudyError(f"{process_name}: no DMsimp mediator (a physical width exists for "
                         f"{', '.join(_MEDIATOR_FAMILIES)} processes)")
    values: dict[str, float] = {}
    for parameter in process.parameters:
        if parameter.kind == "width":
            continue
        value = parameters.get(parameter.name, parameter.default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StudyError(f"{process_name}: parameter {parameter.name} = {value!r} must be a number "
                             "to compute the mediator width")
        values[parameter.name] = float(value)
    if values["m_med"] <= 0:
        raise StudyError(f"{process_name}: m_med must be > 0 GeV to compute its width, got {values['m_med']:g}")
    return _WIDTHS[process.family](values)


def resolve_widths(process_name: str, parameters: Mapping[str, float | str]) -> dict[str, float | str]:
    """``parameters`` with every width set to ``"physical"`` replaced by its value in GeV.

    The value is rounded to 7 significant digits, as MG5 writes widths (``%e``), so that the param
    card, the Pythia settings and ``sample.json`` all carry the same number.
    """
    resolved = dict(parameters)
    for name, value in parameters.items():
        if isinstance(value, str) and value.lower() == PHYSICAL:
            resolved[name] = float(f"{mediator_width_gev(process_name, parameters):.6e}")
    return resolved
