"""Pythia 8 process recipes (keyed by registry process name) and the in-process event loop.

A recipe turns a sample point (registry process, model parameters in GeV, generation cuts) into
Pythia ``readString`` settings, plus an optional generator-level event filter whose efficiency is
folded into the cross section. Processes whose registry entry has ``pythia = None`` have no recipe
and fail with a :class:`~darkscan.errors.StudyError` pointing to the MadGraph backend.

What each family reproduces of the MadGraph model (the registry's ``pythia`` field says the same):

- SM backgrounds: the same LO processes as the MG5 lines; V+jet at 2→2 with the jet cut mapped to
  ``PhaseSpace:pTHatMin``; Z is pure Z (``WeakZ0:gmZmode = 2``). The PDF is the same set as MG5's
  ``nn23lo1`` (NNPDF2.3 QCD+QED LO, αs(MZ) = 0.130), but the scales are Pythia's (μR² = geometric
  mean of the mT², μF² = smaller mT²): σ(Z(νν)+jet, pT > 130) = 52.4 pb vs MG5's 45.9 pb, and 46.5 pb
  with μR² = μF² = ŝ — the 14 % is LO scale dependence (``benchmarks/validate_embedded.py``).
- spin0 (``DM:gg2S2XX``, g g → S → χχ̄ with the jet from ISR and a recoil filter), at Y0's width:
  Pythia's S partial widths scale as (g m_f)²/m_S, not as DMsimp's Yukawa-scaled couplings, and its
  σ̂ carries an extra factor ŝ, which is why its rate came out ~1e-4 of MG5's; σ is renormalised to
  DMsimp's Γ(Y0 → gg) Γ(Y0 → χχ̄) (:class:`ScalarMediator`). Inclusive σ(g g → Y0 → χχ̄) is then
  0.89 / 0.97 / 1.08 × MG5's loop-induced ``g g > y0`` × BR at m_med = 500 / 1000 / 2000 GeV; with the ptj > 130 cut
  σ is 1.34× MG5's ``p p > xd xd~ j [noborn=QCD]`` (the shower's hard ISR against the loop matrix
  element), the ``atlas_monojet`` efficiency agrees (ratio 0.97), MET KS 0.052.
  ``DM:gg2S2XXj`` is marked "not yet available" in the Pythia 8.3 manual (its σ came out ~1e-11 pb).
- spin1 (DMsimp vector mediator Y1 → χχ̄ + jet): Pythia's q q̄ → Z g and q g → Z q matrix elements
  with the Z given the mediator's mass and (fixed) width, each event kept with the ratio of DMsimp's
  quark coupling to the Z's for its quark flavour, σ scaled by Γ(Y1 → χχ̄)/Γ(Z → νν̄)
  (:class:`VectorMediator`); scales as MG5's default (mean m_T², 2-loop α_s). Against MG5 at
  Γ = 10 GeV: σ ratio 1.07–1.11 at m_med = 500, 1000, 2000 GeV, and through the same
  fast detector the ``atlas_monojet`` efficiency and the MET, jet-pT and jet-multiplicity shapes agree
  (efficiency within 4 %, KS ≤ 0.029 at 3000 events; ``benchmarks/validate_signals.py``).
  Pythia's own ``DM:qg2Zp2XXj`` / ``DM:ffbar2Zp2XXj`` are "not yet available" (manual) and σ ∝ 1/Γ²
  (see :class:`VectorMediator`);
  ``DM:ffbar2Zp2XX`` with the jet from ISR gives too soft a jet (efficiency 0.394 vs 0.501).
- spin2 (RS graviton ``G*`` = 5100039 + jet, decaying to νν̄): approximation; universal coupling
  κ m_G = √2 g m_med / Λ, the invisible final state is neutrinos rather than DM fermions. Not
  faithful (σ 0.46× MG5's, MET 269 vs 318 GeV at the defaults; a warning says so).
- alp (HiggsBSM ``A3`` = 36, stable, + jet): same final state; σ is Pythia's 2HDM A3 one — c_g and
  f_a are NOT applied (shapes only, a warning says so); the shapes agree with MG5 + shower
  (efficiency 0.237 vs 0.225, MET KS 0.015).
- neutralino (SLHA spectrum): q q̄ → χ̃⁰₁χ̃⁰₁ (jet from ISR) plus q g → χ̃⁰₁ q̃ with q̃ → q χ̃⁰₁ (BR
  folded in) — the resonant-squark diagrams that dominate MG5's ``p p > n1 n1 j``; σ(ptj > 20) is
  0.217 pb vs MG5's 0.171 pb on the reference spectrum. sneutrino: q q̄ → ν̃ν̃* (jet from ISR).
  The MG5 jet cut becomes a generator-level filter on the recoil (|Σ pT of invisibles| > ptj)
  folded into σ.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from darkscan.errors import ExternalProgramError, StudyError

__all__ = [
    "MB_TO_PB",
    "RECIPES",
    "PythiaRun",
    "Recipe",
    "ScalarMediator",
    "VectorMediator",
    "base_settings",
    "generation_pt_cut",
    "recipe_for",
    "shard_seed",
    "weights_of",
]

MB_TO_PB = 1e9
#: below this, a sample is useless at any LHC luminosity (< 0.003 events in 3 ab⁻¹): warn
SIGMA_WARN_PB = 1e-6
MAX_PYTHIA_SEED = 900_000_000

_QUIET = (
    "Next:numberCount = 0", "Next:numberShowEvent = 0", "Next:numberShowInfo = 0",
    "Next:numberShowProcess = 0", "Init:showChangedSettings = off", "Init:showChangedParticleData = off",
    "Init:showProcesses = off", "Init:showMultipartonInteractions = off", "Print:quiet = on",
)

EventFilter = Callable[[Any, np.ndarray], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Pythia settings for one sample point.

    Attributes:
        process: registry process name.
        settings: Pythia ``readString`` lines for the process and its parameters.
        invisible_pdgids: BSM PDG ids that escape the detector (neutrinos are always invisible).
        event_filter: name of a generator-level filter (``FILTERS``), or None.
        filter_cut: the filter's threshold (GeV), when it has one.
        slha: SLHA spectrum text to write to a file for ``SLHA:file``, or None.
        warnings: caveats a user should see (approximate normalisation, …).
        mediator: how Pythia's events and σ become the DMsimp mediator's (spin-1: Z + jet events
            reweighted to Y1's couplings; spin-0: Pythia's g g → S σ renormalised to Y0's), or None.
    """

    process: str
    settings: tuple[str, ...]
    invisible_pdgids: tuple[int, ...] = ()
    event_filter: str | None = None
    filter_cut: float = 0.0
    slha: str | None = None
    warnings: tuple[str, ...] = ()
    mediator: VectorMediator | ScalarMediator | None = None


@dataclasses.dataclass(frozen=True)
class VectorMediator:
    """A DMsimp vector mediator Y1 → χχ̄ + jet generated with Pythia's Z + jet matrix element.

    Pythia's own Z′ + jet processes (``DM:qg2Zp2XXj``, ``DM:ffbar2Zp2XXj``) are "not yet available"
    (Pythia 8.3 manual): their σ̂ multiplies the on-shell Z′ + jet cross section by one more
    propagator ŝ₃/((ŝ₃ − m²)² + m²Γ²) while the phase space already samples the Breit–Wigner, so σ
    scales like 1/Γ² (measured: 1.6e-3 pb at Γ = 10 GeV, 3.9e-4 pb at 20 GeV, against MG5's 5.4 pb).
    For massless quarks, q q̄ → V g and q g → V q are the same matrix element for any vector boson up
    to the coupling factor v_q² + a_q², and the MET of a monojet event is the boson's pT whatever its
    decay angles. So the Z (``WeakBosonAndParton``, pure Z) is given the mediator's mass and width
    and decays to νν̄, and each event is kept with probability ∝ (g_q² + g_a,q²) / C_Z(q) — the ratio
    of DMsimp's universal quark coupling to the Z's coupling of that event's quark flavour and α_em —
    which makes the u/d mixture and the rate those of Y1. σ(χχ̄ + jet) = σ(Z + jet, Z → νν̄) × kept
    fraction × ``bound`` × Γ(Y1 → χχ̄) / Γ(Z → νν̄) (both partial widths at m_med; the fixed total
    width Γ cancels, as in MG5's fixed-width propagator).
    """

    m_med: float
    m_dm: float
    g_q: float
    ga_q: float
    g_dm: float
    ga_dm: float
    #: events are kept with a probability (``acceptance``), which makes the run a filtered one
    reweights: ClassVar[bool] = True

    def dm_width_gev(self) -> float:
        """Γ(Y1 → χχ̄) for a Dirac χ with vector and axial couplings (DMsimp), GeV."""
        z = (self.m_dm / self.m_med) ** 2
        beta = math.sqrt(max(1.0 - 4.0 * z, 0.0))
        return self.m_med * beta * (self.g_dm**2 * (1 + 2 * z) + self.ga_dm**2 * (1 - 4 * z)) / (12 * math.pi)

    @staticmethod
    def _z_coupling(pythia: Any, quark: np.ndarray, alpha_em: np.ndarray) -> np.ndarray:
        """C_Z = 4π α_em (v_q² + a_q²) / (16 sin²θ_W cos²θ_W): the Z's analogue of g² (Pythia's conventions)."""
        couplings = pythia.coupSM
        vf2af2 = np.array([couplings.vf2af2(int(q)) if 0 < q < 7 else 0.0 for q in range(7)])
        s2w = couplings.sin2thetaW()
        return 4.0 * math.pi * alpha_em * vf2af2[quark] / (16.0 * s2w * (1.0 - s2w))

    def _bound(self, pythia: Any) -> float:
        """The largest coupling ratio any event can have (smallest C_Z: α_em at Q² = 0, the
        smaller of the up/down couplings), so that every acceptance probability is ≤ 1."""
        alpha0 = pythia.coupSM.alphaEM(0.0)
        smallest = float(np.min(self._z_coupling(pythia, np.array([1, 2]), np.full(2, alpha0))))
        return (self.g_q**2 + self.ga_q**2) / smallest

    def acceptance(self, pythia: Any, batch: Any) -> np.ndarray:
        """Probability to keep each event: its coupling ratio over the bound."""
        import awkward as ak

        info = batch["info"]
        id1, id2 = ak.to_numpy(info["id1"]), ak.to_numpy(info["id2"])
        quark = np.abs(np.where(np.abs(id1) < 7, id1, id2))  # the quark line the boson couples to
        ratio = (self.g_q**2 + self.ga_q**2) / self._z_coupling(pythia, quark, ak.to_numpy(info["alphaEM"]))
        return ratio / self._bound(pythia)

    def sigma_factor(self, pythia: Any) -> float:
        """What multiplies σ(Z + jet → νν̄ + jet) × kept fraction to give σ(Y1 + jet → χχ̄ + jet)."""
        s2w = pythia.coupSM.sin2thetaW()
        # Pythia's Γ(Z → νν̄) summed over 3 flavours at m_med, with α_em(m_med²) as its width code uses
        alpha = pythia.coupSM.alphaEM(self.m_med**2)
        neutrino_width = 3 * 2 * alpha * self.m_med / (3 * 16 * s2w * (1 - s2w))
        return self._bound(pythia) * self.dm_width_gev() / neutrino_width


@dataclasses.dataclass(frozen=True)
class ScalarMediator:
    """A DMsimp scalar mediator Y0 → χχ̄ generated with Pythia's ``DM:gg2S2XX`` (S = 54).

    Pythia's S has other conventions than DMsimp's Y0: Γ(S → ff̄) = N_c (g m_f)² (1 − 4r)(1 + 2r) /
    (12π m_S) with the ``Sdm`` couplings g (DMsimp: N_c (g_q y_f/√2)² m β³/(8π) for quarks, g_dm² m
    β³/(8π) for χ), and its σ̂ = 8π ŝ / ((ŝ − m²)² + m²Γ²) · Γ(S → gg)/64 · Γ(S → χχ̄) carries a factor ŝ
    (GeV², so σ is ~m_S² too large in GeV units) against the resonance formula π/8 · Γ_gg Γ_χχ̄ /
    ((ŝ − m²)² + m²Γ²). With the total width forced to Y0's, σ(Y0 → χχ̄) = σ_Pythia × Γ_gg Γ_χχ̄ (DMsimp,
    ``darkscan.widths``) / (Γ_gg Γ_χχ̄ (Pythia, as its σ̂ uses them) × m_med²). Checked against MG5's
    loop-induced ``g g > y0 [noborn=QCD]`` times BR(Y0 → χχ̄): 0.89 / 0.97 / 1.08 at m_med = 500 / 1000 /
    2000 GeV (tests/test_gen.py).
    """

    m_med: float
    m_dm: float
    g_q: float
    gp_q: float
    g_dm: float
    gp_dm: float
    reweights: ClassVar[bool] = False

    def dmsimp_widths_gev(self) -> tuple[float, float]:
        """Γ(Y0 → gg) and Γ(Y0 → χχ̄) of DMsimp_s_spin0 (GeV)."""
        from darkscan.widths import scalar_partial_widths_gev

        return scalar_partial_widths_gev(self.m_med, self.m_dm, self.g_q, self.gp_q, self.g_dm, self.gp_dm)

    def sigma_factor(self, pythia: Any) -> float:
        """What multiplies Pythia's σ(g g → S → χχ̄) to give DMsimp's σ(g g → Y0 → χχ̄)."""
        entry = pythia.particleData.particleDataEntryPtr(54)
        pythia_gg = entry.resWidthChan(self.m_med, 21, 21)
        pythia_dm = entry.resWidthChan(self.m_med, 52, -52)
        dmsimp_gg, dmsimp_dm = self.dmsimp_widths_gev()
        return dmsimp_gg * dmsimp_dm / (pythia_gg * pythia_dm * self.m_med**2)


def generation_pt_cut(cuts: Mapping[str, float]) -> float:
    """The jet pT cut implied by MG5-style generation cuts (``ptj``, ``ptj1min``, ``xptj``), GeV."""
    return max((float(cuts[k]) for k in ("ptj", "ptj1min", "xptj") if k in cuts), default=0.0)


def _pthat(cuts: Mapping[str, float]) -> tuple[str, ...]:
    cut = generation_pt_cut(cuts)
    return (f"PhaseSpace:pTHatMin = {cut:g}",) if cut > 0 else ()


def _width(pdg: int, value: float | str) -> tuple[str, ...]:
    """A numeric width is forced; ``"auto"`` lets Pythia compute it from the couplings."""
    if isinstance(value, str):
        return ()
    return (f"{pdg}:mWidth = {float(value):g}", f"{pdg}:doForceWidth = on")


def _num(parameters: Mapping[str, float | str], name: str) -> float:
    value = parameters[name]
    if isinstance(value, str):
        raise StudyError(f"parameter {name} = {value!r}: the embedded backend needs a number here")
    return float(value)


def _decays(pdg: int, *daughters: int) -> tuple[str, ...]:
    return (f"{pdg}:onMode = off", f"{pdg}:onIfAny = {' '.join(map(str, daughters))}")


# --- SM backgrounds ----------------------------------------------------------------------------
_V_JET = ("WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on", "WeakZ0:gmZmode = 2")


def _znunu_jet(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
    return Recipe("sm_znunu_jet", (*_V_JET, *_decays(23, 12, 14, 16), *_pthat(cuts)))


def _zll_jet(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
    return Recipe("sm_zll_jet", (*_V_JET, *_decays(23, 11, 13), *_pthat(cuts)))


def _wlnu_jet(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
    return Recipe("sm_wlnu_jet", ("WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on",
                                  *_decays(24, 11, 13, 15), *_pthat(cuts)))


def _ttbar(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
    return Recipe("sm_ttbar", ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on"))


def _zz_llvv(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
    # Both Z decay to ee/μμ/νν; the filter keeps one Z → ℓℓ and one Z → νν (efficiency ≈ 0.38).
    return Recipe("sm_zz_llvv", ("WeakDoubleBoson:ffbar2gmZgmZ = on", "WeakZ0:gmZmode = 2",
                                 *_decays(23, 11, 13, 12, 14, 16)), event_filter="zz_llvv")


def _wz_lvll(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
    return Recipe("sm_wz_lvll", ("WeakDoubleBoson:ffbar2ZW = on", *_decays(23, 11, 13), *_decays(24, 11, 13, 15)))


def _ww_lvlv(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
    return Recipe("sm_ww_lvlv", ("WeakDoubleBoson:ffbar2WW = on", *_decays(24, 11, 13, 15)))


# --- signals -----------------------------------------------------------------------------------
def _spin0(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
    # DM:gg2S2XXj is "not yet available" in the Pythia 8.3 manual: the 2 → 1 process with the jet from
    # ISR and a recoil filter is the supported route. Pythia's S couplings and σ̂ differ from DMsimp's
    # by known factors (ScalarMediator), so the settings only need a nonzero coupling per channel; the
    # width is Y0's, in a Breit–Wigner window [m/2, 2m] as for spin-1.
    m_med = _num(p, "m_med")
    mediator = ScalarMediator(m_med=m_med, m_dm=_num(p, "m_dm"), g_q=_num(p, "g_q"), gp_q=_num(p, "gp_q"),
                              g_dm=_num(p, "g_dm"), gp_dm=_num(p, "gp_dm"))
    settings = (
        "DM:gg2S2XX = on", f"54:m0 = {m_med:g}", f"54:mWidth = {_mediator_width('spin0_monojet', p):g}",
        "54:doForceWidth = on", f"54:mMin = {m_med / 2:g}", f"54:mMax = {2 * m_med:g}", f"52:m0 = {_num(p, 'm_dm'):g}",
        f"Sdm:vf = {_num(p, 'g_q'):g}", f"Sdm:af = {_num(p, 'gp_q'):g}",
        f"Sdm:vX = {_num(p, 'g_dm'):g}", f"Sdm:aX = {_num(p, 'gp_dm'):g}",
        "54:onMode = off", "54:onIfAny = 52",
    )
    warnings = ("spin0_monojet: the jet comes from Pythia's parton shower, not from the loop-induced g g → Y0 g "
                "matrix element: at the registry defaults σ is ~1.3× MG5's and the jets fewer (benchmarks/"
                "validate_signals.py); use the MadGraph backend for precise rates",)
    return Recipe("spin0_monojet", settings, (52,), event_filter="recoil", filter_cut=generation_pt_cut(cuts),
                  warnings=warnings, mediator=mediator)


def _mediator_width(process: str, p: Mapping[str, float | str]) -> float:
    """The numeric mediator width (GeV): the study's number, or the physical width for a text value
    (``"auto"``: MG5's Auto width, which is the same two-body width)."""
    from darkscan.widths import mediator_width_gev

    width = p["w_med"]
    if not isinstance(width, str):
        return float(width)
    return float(mediator_width_gev(process, {k: v for k, v in p.items() if not isinstance(v, str)}))


def _spin1(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
    m_med = _num(p, "m_med")
    mediator = VectorMediator(m_med=m_med, m_dm=_num(p, "m_dm"), g_q=_num(p, "g_q"), ga_q=_num(p, "ga_q"),
                              g_dm=_num(p, "g_dm"), ga_dm=_num(p, "ga_dm"))
    width = _mediator_width("spin1_monojet", p)
    settings = (
        *_V_JET, f"23:m0 = {m_med:g}", f"23:mWidth = {width:g}", "23:doForceWidth = on",
        # MG5 integrates the whole off-shell propagator of p p > xd xd~ j: a wide Breit–Wigner window
        f"23:mMin = {m_med / 2:g}", f"23:mMax = {2 * m_med:g}",
        *_decays(23, 12, 14, 16), *_pthat(cuts),
        # MG5's default dynamical scale for a 2 → 2 core is ~ Σ m_T / 2: Pythia's mean m_T² (option 3),
        # with α_s running at two loops as in the NNPDF2.3 LO set both use; Pythia's default
        # scales (√(m_T,V m_T,j), μ_F = m_T,j) raise σ by 20–60 % for heavy mediators
        "SigmaProcess:renormScale2 = 3", "SigmaProcess:factorScale2 = 3", "SigmaProcess:alphaSorder = 2",
    )
    return Recipe("spin1_monojet", settings, (52,), mediator=mediator)


def _spin2(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
    m_med, lam = _num(p, "m_med"), _num(p, "lambda_med")
    g_q, g_g = _num(p, "g_q"), _num(p, "g_g")
    warnings = ["spin2_monojet: Pythia's RS graviton has one universal coupling; the map uses g_q "
                "(κ m_G = √2 g_q m_med / Λ) and decays to νν̄ instead of DM fermions (m_dm, g_dm unused)",
                "spin2_monojet: not DMsimp's Y2 + jet: at the registry defaults σ is 0.46× MG5's and the jet "
                "softer (atlas_monojet efficiency 0.418 vs 0.513, benchmarks/validate_signals.py): use the "
                "MadGraph backend"]
    if g_q != g_g:
        warnings.append(f"spin2_monojet: g_g = {g_g:g} differs from g_q = {g_q:g}; Pythia cannot separate them")
    settings = (
        "ExtraDimensionsG*:gg2G*g = on", "ExtraDimensionsG*:qg2G*q = on", "ExtraDimensionsG*:qqbar2G*g = on",
        f"5100039:m0 = {m_med:g}", *_width(5100039, p["w_med"]),
        f"ExtraDimensionsG*:kappaMG = {math.sqrt(2.0) * g_q * m_med / lam:.6g}",
        *_decays(5100039, 12, 14, 16), *_pthat(cuts),
    )
    return Recipe("spin2_monojet", settings, (), warnings=tuple(warnings))


def _alp(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
    m_a = _num(p, "m_a")
    warnings = ["alp_monojet: the cross section is Pythia's 2HDM A3 + jet with default A3 couplings; "
                "the ALP EFT's c_g / f_a are not applied (kinematics only): use the MadGraph backend for rates"]
    if m_a < _MIN_RESONANCE_MASS:
        # Pythia refuses resonances below ~0.1 GeV ("resonance mass too small"); for an invisible
        # particle recoiling against a jet of pT > 100 GeV the difference is O(m²/pT²) ≈ 1e-6
        warnings.append(f"alp_monojet: m_a = {m_a:g} GeV is generated at {_MIN_RESONANCE_MASS:g} GeV, the lightest "
                        "A3 Pythia accepts (kinematically the same for a stable invisible particle)")
    settings = (
        "Higgs:useBSM = on", "HiggsBSM:gg2A3g(l:t) = on", "HiggsBSM:qg2A3q(l:t) = on", "HiggsBSM:qqbar2A3g(l:t) = on",
        f"36:m0 = {max(m_a, _MIN_RESONANCE_MASS):g}", "36:mMin = 0.", "36:mWidth = 0.", "36:mayDecay = off",
        *_pthat(cuts),
    )
    return Recipe("alp_monojet", settings, (36,), warnings=tuple(warnings))


_MIN_RESONANCE_MASS = 0.1


def _mssm(process: str, settings: tuple[str, ...], invisible: tuple[int, ...]) -> Callable[..., Recipe]:
    def build(p: Mapping[str, float | str], cuts: Mapping[str, float]) -> Recipe:
        from darkscan.cards.slha import render_slha
        from darkscan.registry import PROCESSES

        slha = render_slha(PROCESSES[process], dict(p))
        return Recipe(process, settings, invisible, event_filter="recoil", filter_cut=generation_pt_cut(cuts),
                      slha=slha)
    return build


#: first- and second-generation squarks: MG5's ``p p > n1 n1 j`` contains q g → q̃ χ̃⁰₁ → q χ̃⁰₁ χ̃⁰₁
_LIGHT_SQUARKS = (1000001, 1000002, 1000003, 1000004, 2000001, 2000002, 2000003, 2000004)

RECIPES: dict[str, Callable[[Mapping[str, float | str], Mapping[str, float]], Recipe]] = {
    "sm_znunu_jet": _znunu_jet,
    "sm_wlnu_jet": _wlnu_jet,
    "sm_ttbar": _ttbar,
    "sm_zz_llvv": _zz_llvv,
    "sm_wz_lvll": _wz_lvll,
    "sm_ww_lvlv": _ww_lvlv,
    "sm_zll_jet": _zll_jet,
    "spin0_monojet": _spin0,
    "spin1_monojet": _spin1,
    "spin2_monojet": _spin2,
    "alp_monojet": _alp,
    "neutralino_monojet": _mssm("neutralino_monojet", (
        "SUSY:qqbar2chi0chi0 = on", "SUSY:qg2chi0squark = on", "SUSY:idVecA = 1000022",
        f"SUSY:idVecB = 1000022,{','.join(map(str, _LIGHT_SQUARKS))}",
        *(line for q in _LIGHT_SQUARKS for line in _decays(q, 1000022))), (1000022,)),
    "sneutrino_monojet": _mssm("sneutrino_monojet", (
        "SUSY:qqbar2sleptonantislepton = on", "SUSY:idVecA = 1000012,1000014,1000016",
        "SUSY:idVecB = 1000012,1000014,1000016"), (1000012, 1000014, 1000016, 1000022)),
}


def recipe_for(process: str, parameters: Mapping[str, float | str], generation_cuts: Mapping[str, float]) -> Recipe:
    """The recipe of a registry process at one parameter point; StudyError if Pythia has none."""
    from darkscan.registry import get_process

    entry = get_process(process)
    if entry.pythia is None or process not in RECIPES:
        raise StudyError(
            f"process {process!r} has no Pythia 8 equivalent in the embedded backend "
            f"({entry.mg5_processes[0]} in {entry.mg5_import}); set generator.backend: madgraph in the study file"
        )
    return RECIPES[process](parameters, generation_cuts)


def base_settings(sqrt_s_gev: float, preset: str, seed: int) -> tuple[str, ...]:
    """Beam, preset and seed settings shared by every run (``fast``: MPI off; ``full``: defaults)."""
    if preset not in ("fast", "full"):
        raise StudyError(f"generator.preset {preset!r} unknown; allowed: 'fast', 'full'")
    if not 1 <= seed <= MAX_PYTHIA_SEED:
        raise StudyError(f"Pythia seed {seed} outside [1, {MAX_PYTHIA_SEED}]")
    preset_lines = ("PartonLevel:MPI = off",) if preset == "fast" else ()
    return (f"Beams:eCM = {sqrt_s_gev:g}", *preset_lines, "Random:setSeed = on", f"Random:seed = {seed}")


def shard_seed(point_seed: int, shard: int) -> int:
    """An independent, reproducible Pythia seed for shard ``shard`` of a sample point."""
    state = np.random.SeedSequence(point_seed, spawn_key=(shard,)).generate_state(1)[0]
    return int(state) % MAX_PYTHIA_SEED + 1


# --- generator-level filters: (batch, invisible ids) → boolean mask per event --------------------
def _filter_zz_llvv(batch: Any, invisible: np.ndarray) -> np.ndarray:
    import awkward as ak

    prt = batch["prt"]
    hard = prt[abs(prt["status"]) == 23]
    ids = abs(hard["id"])
    n_ll = ak.to_numpy(ak.sum((ids == 11) | (ids == 13), axis=1))
    n_vv = ak.to_numpy(ak.sum((ids == 12) | (ids == 14) | (ids == 16), axis=1))
    return (n_ll == 2) & (n_vv == 2)


def _recoil_pt(batch: Any, invisible: np.ndarray) -> np.ndarray:
    import awkward as ak

    prt = batch["prt"]
    ids = ak.to_numpy(ak.flatten(abs(prt["id"])))
    is_invisible = ak.unflatten(np.isin(ids, invisible), ak.num(prt))
    inv = prt[(prt["status"] > 0) & is_invisible]
    return np.hypot(ak.to_numpy(ak.sum(inv["p"]["px"], axis=1)), ak.to_numpy(ak.sum(inv["p"]["py"], axis=1)))


FILTERS: dict[str, Callable[..., np.ndarray]] = {"zz_llvv": _filter_zz_llvv}


class PythiaRun:
    """One initialised Pythia instance for a recipe, producing batches of (filtered) events."""

    def __init__(self, recipe: Recipe, *, sqrt_s_gev: float, preset: str, seed: int,
                 slha_path: Path | None = None, extra_settings: tuple[str, ...] = ()) -> None:
        import pythia8mc

        self.recipe = recipe
        self.settings = (*base_settings(sqrt_s_gev, preset, seed), *recipe.settings, *extra_settings)
        with tempfile.TemporaryDirectory(prefix="darkscan-slha-") as tmp:
            if recipe.slha is not None:
                if slha_path is None:  # Pythia reads the spectrum during init only
                    slha_path = Path(tmp) / "spectrum.slha"
                    slha_path.write_text(recipe.slha, encoding="utf-8")
                self.settings = (*self.settings, f"SLHA:file = {slha_path}")
            self.pythia = pythia8mc.Pythia("", False)
            for line in (*_QUIET, *self.settings):
                if not self.pythia.readString(line):
                    raise ExternalProgramError(f"Pythia rejected the setting {line!r} (process {recipe.process})")
            if not self.pythia.init():
                raise ExternalProgramError(
                    f"Pythia initialisation failed for {recipe.process} with settings {list(recipe.settings)}; "
                    "rerun with Print:quiet = off to see Pythia's reason")
        self.invisible = np.array(sorted({12, 14, 16, *recipe.invisible_pdgids}), dtype=np.int64)
        self.n_generated = 0
        self.n_passed = 0
        # the acceptance draws of a reweighting recipe: reproducible from the Pythia seed
        self._rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))

    def batch(self, n: int) -> Any:
        """Up to ``n`` events that pass the recipe's filter (an awkward ``nextBatch`` array)."""
        events = self.pythia.nextBatch(n, "skip")
        self.n_generated += len(events)
        if self.recipe.event_filter == "recoil":
            mask = _recoil_pt(events, self.invisible) > self.recipe.filter_cut
            events = events[mask]
        elif self.recipe.event_filter is not None:
            events = events[FILTERS[self.recipe.event_filter](events, self.invisible)]
        mediator = self.recipe.mediator
        if mediator is not None and mediator.reweights and len(events):
            events = events[self._rng.random(len(events)) < mediator.acceptance(self.pythia, events)]
        self.n_passed += len(events)
        return events

    @property
    def filtered(self) -> bool:
        """Whether events are thrown away after generation (a filter or a reweighting acceptance)."""
        return self.recipe.event_filter is not None or (self.recipe.mediator is not None
                                                         and self.recipe.mediator.reweights)

    @property
    def filter_efficiency(self) -> float:
        return self.n_passed / self.n_generated if self.n_generated else 0.0

    def cross_section_pb(self) -> tuple[float, float]:
        """σ ± error (pb) of the events kept: Pythia's estimate times the filter efficiency."""
        info = self.pythia.infoPython()
        eff = self.filter_efficiency if self.filtered else 1.0
        sigma, error = info.sigmaGen() * MB_TO_PB, info.sigmaErr() * MB_TO_PB
        if self.recipe.mediator is not None:
            factor = self.recipe.mediator.sigma_factor(self.pythia)
            sigma, error = sigma * factor, error * factor
        if self.filtered and self.n_passed:
            # add the binomial error of the filter efficiency in quadrature
            rel = math.hypot(error / sigma if sigma else 0.0,
                             math.sqrt(max(eff * (1 - eff), 0.0) / self.n_generated) / eff)
            return sigma * eff, sigma * eff * rel
        return sigma * eff, error * eff

    def n_trials(self) -> int:
        return int(self.pythia.infoPython().nTried())

    def sanity_warnings(self) -> list[str]:
        """Warnings about the cross section (absurdly small) for the user."""
        sigma, _ = self.cross_section_pb()
        if sigma < SIGMA_WARN_PB:
            # one significant digit: the shards of a point then give the same text, shown once
            return [f"{self.recipe.process}: σ ≈ {sigma:.1g} pb is below {SIGMA_WARN_PB:g} pb: fewer than "
                    f"{sigma * 3e6:.1g} events even in 3 ab⁻¹ — check the couplings (settings: "
                    f"{', '.join(s for s in self.recipe.settings if ':' in s and '=' in s and 'on' not in s.split('=')[1])})"]
        return []


def weights_of(events: Any) -> np.ndarray:
    """The generator weight of each event (the first of Pythia's weights; 1 if none)."""
    import awkward as ak

    weights = events["info"]["weights"]
    first = ak.firsts(weights)
    return ak.to_numpy(ak.fill_none(first, 1.0)).astype(float)
