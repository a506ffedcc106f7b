"""Physics-process registry: every signal model and SM background darkscan can generate.

Each :class:`Process` declares what the cards and generators need: the signature (monojet or
mono-Z with Z→ℓℓ), the MadGraph5 UFO model and restriction to import, the process lines, the model
parameters with units, defaults and param-card locations (LHA block and ids), the PDG ids of the
invisible BSM particles (for the Delphes invisibility patch and for MET), and whether the embedded
Pythia 8 backend has an equivalent.

Sources of the facts, in order of trust:

- ``shared/notes/madgraph-models.md``: DMsimp_s_spin0 v1.0, DMsimp_s_spin1 v1.0, DMsimp_s_spin2 v1.1
  and ALP_linear_UFO imported and run in a real MG5_aMC 3.5.7 (particle names, PDG ids, DMINPUTS /
  ALPPARS entries, which process lines generate).
- ``shared/data/mg5/*/run_01_tag_1_banner.txt``: real MG5 3.5.7 runs of ``sm`` and ``MSSM_SLHA2``.
- MG5's MSSM_SLHA2 model: sneutrino names ``sve svm svt`` (PDG 1000012/14/16), ``n1`` = 1000022.

PDG ids follow the model actually used: DMsimp_s_spin1 **v1.0** numbering (Y1 = 55, Xd = 52). The
v2.x release renumbers (Y1 = 5000001, Xd = 5000521); the container pins v1.0, and a user who swaps
the model must swap the ids too.

Unconfirmed facts are said so in :attr:`Process.unconfirmed`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

from darkscan.errors import StudyError, did_you_mean

__all__ = [
    "PROCESSES",
    "CardEntry",
    "Constraint",
    "Parameter",
    "Process",
    "get_process",
]

Signature = Literal["monojet", "monoz"]
Role = Literal["signal", "background"]


@dataclasses.dataclass(frozen=True)
class CardEntry:
    """Where a parameter lands in the MG5 param card: LHA ``block`` and entry ``ids``."""

    block: str
    ids: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.block} {' '.join(map(str, self.ids))}"


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A model parameter a study can set or scan.

    ``entries`` lists every param-card location the value is written to (one physics coupling can be
    several card entries, e.g. a universal quark coupling). Widths accept the string ``"auto"``
    (MG5 computes them from the other parameters); a width with ``physical`` set also accepts
    ``"physical"``: darkscan computes it per scan point (:mod:`darkscan.widths`) and every backend
    gets that number.
    """

    name: str
    kind: Literal["mass", "width", "coupling", "scale"]
    unit: str
    #: None: the model card's own values stay unless the study sets the parameter
    default: float | str | None
    description: str
    entries: tuple[CardEntry, ...]
    minimum: float | None = None
    #: a width darkscan can compute from the other parameters (value ``"physical"``)
    physical: bool = False

    def check(self, value: float | str) -> str | None:
        """Why ``value`` is not allowed, or None if it is."""
        if isinstance(value, str):
            if self.kind == "width" and value.lower() == "auto":
                return None
            if self.physical and value.lower() == "physical":
                return None
            allowed = ('a number, "physical" or "auto"' if self.physical
                       else 'a number or "auto"' if self.kind == "width" else "a number")
            return f"must be {allowed}, got {value!r}"
        if self.minimum is not None and value < self.minimum:
            return f"must be ≥ {self.minimum:g} {self.unit}".rstrip() + f", got {value:g}"
        return None


@dataclasses.dataclass(frozen=True)
class Constraint:
    """``lower < upper`` (``lower ≤ upper`` when ``or_equal``) must hold between two parameters."""

    lower: str
    upper: str
    reason: str
    or_equal: bool = False

    def check(self, values: Mapping[str, float | str]) -> str | None:
        lo, hi = values.get(self.lower), values.get(self.upper)
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and not (lo <= hi if self.or_equal else lo < hi):
            return (f"{self.lower} = {lo:g} must be {'at most' if self.or_equal else 'below'} {self.upper} = {hi:g}: "
                    f"{self.reason}")
        return None


@dataclasses.dataclass(frozen=True)
class Process:
    """One generable process: a signal model in one signature, or an SM background."""

    name: str
    role: Role
    family: str
    signatures: tuple[Signature, ...]
    description: str
    mg5_model: str
    mg5_restriction: str | None
    mg5_model_source: str
    mg5_processes: tuple[str, ...]
    mg5_defines: tuple[str, ...] = ()
    #: decays handed to MadSpin (e.g. the Z of a loop-induced process, the tops of tt̄)
    madspin_decays: tuple[str, ...] = ()
    #: BSM particles that can be on-shell s-channel resonances of the process: their widths enter the
    #: rate, so they get 2-body widths for every spectrum that moved (MSSM only: darkscan's for
    #: squarks and for neutralinos without an open sfermion channel, MG5's ``Auto`` otherwise)
    resonances: tuple[int, ...] = ()
    #: MG5 run-card generation cuts used unless the study overrides them (GeV)
    generation_cuts: Mapping[str, float] = dataclasses.field(default_factory=dict)
    parameters: tuple[Parameter, ...] = ()
    #: stable BSM particles that escape the detector (SM neutrinos are always invisible)
    invisible_pdgids: tuple[int, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    #: what the embedded Pythia 8 backend generates instead, and how exact it is; None: no equivalent
    pythia: str | None = None
    unconfirmed: str | None = None

    @property
    def mg5_import(self) -> str:
        """The ``import model`` argument, restriction included (``MSSM_SLHA2-full``)."""
        return f"{self.mg5_model}-{self.mg5_restriction}" if self.mg5_restriction else self.mg5_model

    def parameter(self, name: str) -> Parameter:
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise KeyError(name)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def defaults(self) -> dict[str, float | str]:
        return {p.name: p.default for p in self.parameters if p.default is not None}


def _p(name: str, kind: Literal["mass", "width", "coupling", "scale"], default: float | str | None, description: str,
       *entries: tuple[str, tuple[int, ...]], minimum: float | None = None, physical: bool = False) -> Parameter:
    unit = "GeV" if kind in ("mass", "width", "scale") else ""
    if minimum is None and kind in ("mass", "width", "scale"):
        minimum = 0.0
    return Parameter(name, kind, unit, default, description,
                     tuple(CardEntry(block, ids) for block, ids in entries), minimum, physical)


def _mediator_width(particle: str, pdg: int) -> Parameter:
    # The LHC DM Working Group benchmarks take the minimal width from the couplings at every scan
    # point; a fixed width (e.g. the models' 10 GeV) overstates σ several-fold once the quark and DM
    # channels are open (spin-1 reference: 5.394 pb at 10 GeV, 0.956 pb at the physical 56.3 GeV).
    return _p("w_med", "width", "physical",
              f'{particle} width: "physical" (default) = the minimal width from the masses and couplings of each '
              'scan point (darkscan.widths, LHC DM Working Group formulas), a number = that fixed width, '
              '"auto" = computed by MG5 alone', ("DECAY", (pdg,)), physical=True)


_DMSIMP = "FeynRules DMsimp (https://feynrules.irmp.ucl.ac.be/wiki/DMsimp)"
_MONOJET_CUTS = {"ptj": 130.0}

# --- spin-1 mediator (DMsimp_s_spin1 v1.0): Y1 = 55, Xd = 52, coupling order DMV -------------
_SPIN1 = (
    _p("m_med", "mass", 1000.0, "vector mediator Y1 mass", ("MASS", (55,))),
    _mediator_width("Y1", 55),
    _p("m_dm", "mass", 10.0, "Dirac DM Xd mass", ("MASS", (52,))),
    _p("g_dm", "coupling", 1.0, "vector coupling of Y1 to Xd (gVXd)", ("DMINPUTS", (2,))),
    _p("g_q", "coupling", 0.25, "universal vector coupling of Y1 to quarks (gVd11…gVu33)",
       *[("DMINPUTS", (i,)) for i in range(4, 10)]),
    _p("ga_dm", "coupling", 0.0, "axial coupling of Y1 to Xd (gAXd)", ("DMINPUTS", (3,))),
    _p("ga_q", "coupling", 0.0, "universal axial coupling of Y1 to quarks (gAd11…gAu33)",
       *[("DMINPUTS", (i,)) for i in range(10, 16)]),
)
# --- spin-0 mediator (DMsimp_s_spin0 v1.0): Y0 = 54, Xd = 52, coupling order DMS -------------
_SPIN0 = (
    _p("m_med", "mass", 1000.0, "scalar mediator Y0 mass", ("MASS", (54,))),
    _mediator_width("Y0", 54),
    _p("m_dm", "mass", 10.0, "Dirac DM Xd mass", ("MASS", (52,))),
    _p("g_dm", "coupling", 1.0, "scalar coupling of Y0 to Xd (gSXd)", ("DMINPUTS", (3,))),
    _p("g_q", "coupling", 1.0, "universal scalar (Yukawa-scaled) coupling to quarks (gSd11…gSu33)",
       *[("DMINPUTS", (i,)) for i in range(5, 11)]),
    _p("gp_dm", "coupling", 0.0, "pseudoscalar coupling of Y0 to Xd (gPXd)", ("DMINPUTS", (4,))),
    _p("gp_q", "coupling", 0.0, "universal pseudoscalar coupling to quarks (gPd11…gPu33)",
       *[("DMINPUTS", (i,)) for i in range(11, 17)]),
)
# --- spin-2 mediator (DMsimp_s_spin2 v1.1): Y2 = 5000002, Xd = 5000521, coupling order DMT ---
_SPIN2 = (
    _p("m_med", "mass", 1000.0, "spin-2 mediator Y2 mass", ("MASS", (5000002,))),
    _mediator_width("Y2", 5000002),
    _p("m_dm", "mass", 10.0, "Dirac DM Xd mass", ("MASS", (5000521,))),
    _p("lambda_med", "scale", 1000.0, "suppression scale Λ of the Y2 couplings", ("DMINPUTS", (1,)), minimum=1e-9),
    _p("g_g", "coupling", 1.0, "Y2 coupling to gluons (gTg)", ("DMINPUTS", (2,))),
    _p("g_q", "coupling", 1.0, "Y2 coupling to quarks (gTq, and gTq3 for the third generation)",
       ("DMINPUTS", (5,)), ("DMINPUTS", (6,))),
    _p("g_dm", "coupling", 1.0, "Y2 coupling to Xd (gTXd)", ("DMINPUTS", (10,))),
)
# --- ALP (ALP_linear_UFO): ax = 9000005, coupling orders QCD, QED, NP ---------------------------
_ALP = (
    _p("m_a", "mass", 0.001, "ALP mass", ("MASS", (9000005,))),
    # A light ALP escapes the detector; a zero width keeps MG5 from decaying it.
    _p("w_a", "width", 0.0, "ALP width (0: stable at collider scales)", ("DECAY", (9000005,))),
    _p("f_a", "scale", 1000.0, "ALP decay constant f_a", ("ALPPARS", (1,)), minimum=1e-9),
    _p("c_g", "coupling", 1.0, "ALP–gluon Wilson coefficient CGtil (model default 0: no monojet)",
       ("ALPPARS", (2,))),
    _p("c_w", "coupling", 1.0, "ALP–SU(2) Wilson coefficient CWtil", ("ALPPARS", (3,))),
    _p("c_b", "coupling", 1.0, "ALP–U(1) Wilson coefficient CBtil", ("ALPPARS", (4,))),
)
# --- MSSM (MSSM_SLHA2-full): defaults = the SPS1a-like spectrum MG5 ships ----------------------
_SNEUTRINO_IDS = (1000012, 1000014, 1000016)
# Every other sparticle of MSSM_SLHA2: squarks, sleptons, gluino, heavier neutralinos, charginos.
_OTHER_SPARTICLE_IDS = (
    *range(1000001, 1000007), *range(2000001, 2000007), 1000011, 1000013, 1000015, 2000011, 2000013, 2000015,
    1000021, 1000023, 1000024, 1000025, 1000035, 1000037,
)


def _m_sparticles(default: float | None = None) -> Parameter:
    # A DM-mass scan above ~135 GeV in the fixed SPS1a-like spectrum makes τ̃₁, ẽ_R, χ̃⁰₂, χ̃±₁ lighter
    # than the DM, which then decays: lifting the rest of the spectrum keeps the DM the LSP.
    return _p("m_sparticles", "mass", default,
              "common mass of all other sparticles (squarks, sleptons, gluino, χ̃⁰₂₋₄, χ̃±); "
              "unset: the reference spectrum", *[("MASS", (i,)) for i in _OTHER_SPARTICLE_IDS])


_NEUTRALINO_DM = (
    _p("m_dm", "mass", 96.68807, "lightest neutralino χ̃⁰₁ mass", ("MASS", (1000022,))),
    # The shipped spectrum has m(ν̃_e) = m(ν̃_μ) = 185.2583 but m(ν̃_τ) = 184.7085 GeV.
    _p("m_sneutrino", "mass", 185.2583, "e- and μ-sneutrino mass", ("MASS", (1000012,)), ("MASS", (1000014,))),
    _p("m_sneutrino_tau", "mass", 184.7085, "τ-sneutrino mass", ("MASS", (1000016,))),
    _m_sparticles(),
)
# ν̃ must be the LSP: in the reference spectrum χ̃⁰₁ (96.7 GeV), τ̃₁ (134.5), ẽ_R (144.1), χ̃⁰₂ (181.1)
# and χ̃±₁ (181.7) are all lighter than its 185.3 GeV sneutrinos. Moving χ̃⁰₁ alone above them would
# reorder the neutralino/chargino sector under the reference mixing matrices, so the default lifts
# the whole sector with every other sparticle: a decoupled spectrum at 2 TeV with only ν̃ light
# (ν̃ν̃* production goes through the Z alone, so the heavy states do not enter it).
_SNEUTRINO_DM = (
    _p("m_dm", "mass", 120.0, "sneutrino ν̃ mass (all three flavours, the DM candidate)",
       *[("MASS", (i,)) for i in _SNEUTRINO_IDS]),
    _p("m_neutralino", "mass", 2000.0, "lightest neutralino χ̃⁰₁ mass (above the sneutrino, at most m_sparticles)",
       ("MASS", (1000022,))),
    _m_sparticles(2000.0),
)
_MSSM_SOURCE = "ships with MG5_aMC (models/MSSM_SLHA2)"
_MSSM_NOTE = ("MSSM_SLHA2's default restriction ties sneutrino masses together and overwrites "
              "differing card values; '-full' keeps every mass independent")

_SIGNAL_FAMILIES: dict[str, dict[str, object]] = {
    "spin0": dict(
        description="scalar mediator Y0 → Dirac DM (DMsimp_s_spin0), gluon fusion via top loop",
        mg5_model="DMsimp_s_spin0", mg5_restriction=None, source=f"{_DMSIMP}, v1.0",
        parameters=_SPIN0, invisible=(52,),
        monojet=dict(processes=("p p > xd xd~ j [noborn=QCD]",),
                     pythia="DM:gg2S2XX (g g → S = 54 → χχ at Y0's width) with the jet from ISR and a recoil filter "
                            "(DM:gg2S2XXj is 'not yet available' in Pythia 8.3); σ renormalised to DMsimp's "
                            "Γ(Y0 → gg) Γ(Y0 → χχ̄) (Pythia's S couplings and σ̂ differ by known factors); vs MG5 "
                            "[noborn=QCD] + shower at the defaults (Γ physical, 88.9 GeV): σ 9.01e-3 vs 6.75e-3 pb "
                            "(1.34; inclusive g g → Y0 → χχ̄ 0.89 / 0.97 / 1.08 at m_med 500 / 1000 / 2000), "
                            "atlas_monojet efficiency ratio 0.971 ± 0.027, MET 299 vs 276 GeV (KS 0.052), "
                            "lead-jet pT KS 0.123, jets 2.71 vs 3.17: good for efficiencies and rates within "
                            "~35 %, shapes roughly (benchmarks/validate_signals.py)"),
        monoz=dict(processes=("p p > xd xd~ z [noborn=QCD]",), madspin=("z > l+ l-",), pythia=None),
        constraints=(), note="monojet and mono-Z are loop-induced: MG5 needs [noborn=QCD] (MadLoop); mono-Z's "
                             "Z → ℓℓ is decayed by MadSpin with spinmode none, the only mode for loop-induced "
                             "production (no tree-level matrix element): on-shell Z (m_ℓℓ = m_Z), no spin "
                             "correlation, σ × BR exact",
    ),
    "spin1": dict(
        description="vector mediator Y1 → Dirac DM (DMsimp_s_spin1)",
        mg5_model="DMsimp_s_spin1", mg5_restriction="full", source=f"{_DMSIMP}, v1.0",
        parameters=_SPIN1, invisible=(52,),
        monojet=dict(processes=("p p > xd xd~ j",),
                     pythia="Pythia's q q̄ → V g / q g → V q matrix elements with V at the mediator's mass and "
                            "width (Z → νν̄ as the invisible pair), reweighted to DMsimp's quark couplings, σ × "
                            "Γ(Y1 → χχ̄)/Γ(Z → νν̄); good for rates and shapes: vs MG5 + shower at Γ = 10 GeV, σ ratio "
                            "1.080 / 1.085 / 1.114, atlas_monojet efficiency ratio 1.033 / 0.966 / 1.020, MET KS "
                            "0.029 / 0.012 / 0.017 at m_med 500 / 1000 / 2000 (benchmarks/validate_signals.py)"),
        monoz=dict(processes=("p p > xd xd~ z, z > l+ l-",), pythia=None),
        constraints=(),
    ),
    "spin2": dict(
        description="spin-2 mediator Y2 → Dirac DM (DMsimp_s_spin2)",
        mg5_model="DMsimp_s_spin2", mg5_restriction=None, source=f"{_DMSIMP}, v1.1",
        parameters=_SPIN2, invisible=(5000521,),
        monojet=dict(processes=("p p > xd xd~ j",),
                     pythia="ExtraDimensionsG*: RS graviton G* (5100039) + jet decaying invisibly: an "
                            "approximation (universal graviton couplings, invisible decay to neutrinos); NOT "
                            "faithful: vs MG5 + shower at the defaults σ ratio 0.46, atlas_monojet efficiency "
                            "0.418 vs 0.513, MET 269 vs 318 GeV (KS 0.138): use the MadGraph backend"),
        monoz=dict(processes=("p p > xd xd~ z, z > l+ l-",), pythia=None),
        constraints=(),
    ),
    "alp": dict(
        description="axion-like particle a, stable at collider scales (ALP_linear_UFO)",
        mg5_model="ALP_linear_UFO", mg5_restriction=None,
        source="FeynRules ALP linear EFT (Brivio et al., arXiv:1701.05379)",
        parameters=_ALP, invisible=(9000005,),
        monojet=dict(processes=("p p > ax j",),
                     pythia="HiggsBSM A3 (36) + jet, A3 stable (a light invisible pseudoscalar): same "
                            "final state; couplings are Pythia's 2HDM ones, not the ALP EFT's: good for shapes "
                            "only (vs MG5 + shower at the defaults: atlas_monojet efficiency 0.237 vs 0.225, MET "
                            "KS 0.015; σ 45× MG5's)"),
        monoz=dict(processes=("p p > ax z, z > l+ l-",), pythia=None),
        constraints=(),
    ),
    "neutralino": dict(
        description="MSSM lightest neutralino χ̃⁰₁ pair (MSSM_SLHA2)",
        mg5_model="MSSM_SLHA2", mg5_restriction="full", source=_MSSM_SOURCE,
        parameters=_NEUTRALINO_DM, invisible=(1000022,),
        # q g → q̃ χ̃⁰₁ with q̃ → q χ̃⁰₁ on shell (p is 4-flavour: u, d, c, s squarks)
        monojet=dict(processes=("p p > n1 n1 j",), resonances=(*range(1000001, 1000005), *range(2000001, 2000005)),
                     pythia="SUSY:qqbar2chi0chi0 (χ̃⁰₁χ̃⁰₁, jet from ISR) + SUSY:qg2chi0squark (χ̃⁰₁ q̃, q̃ → q χ̃⁰₁) "
                            "from the SLHA spectrum; recoil filter at the jet cut; vs MG5 + shower at the defaults "
                            "(ptj > 130): σ ratio 1.28, atlas_monojet efficiency 0.581 vs 0.563, MET KS 0.045: "
                            "shapes roughly, rate 28 % high"),
        # q q̄ → Z* → χ̃⁰₁ χ̃⁰ᵢ with χ̃⁰ᵢ → χ̃⁰₁ Z on shell
        monoz=dict(processes=("p p > n1 n1 z, z > l+ l-",), pythia=None, resonances=(1000023, 1000025, 1000035)),
        constraints=(Constraint("m_dm", "m_sneutrino", "χ̃⁰₁ must be the LSP to be the dark matter"),
                     Constraint("m_dm", "m_sneutrino_tau", "χ̃⁰₁ must be the LSP to be the dark matter"),
                     Constraint("m_dm", "m_sparticles", "χ̃⁰₁ must be the LSP to be the dark matter")),
        note=_MSSM_NOTE,
    ),
    "sneutrino": dict(
        description="MSSM sneutrino ν̃ pair, ν̃ the LSP (MSSM_SLHA2)",
        mg5_model="MSSM_SLHA2", mg5_restriction="full", source=_MSSM_SOURCE,
        parameters=_SNEUTRINO_DM, invisible=(*_SNEUTRINO_IDS, 1000022),
        defines=("snu = sve svm svt", "snu~ = sve~ svm~ svt~"),
        monojet=dict(processes=("p p > snu snu~ j",),
                     pythia="SUSY:qqbar2sleptonantislepton restricted to ν̃ν̃* from the SLHA spectrum; the "
                            "jet comes from the parton shower (ISR)"),
        monoz=dict(processes=("p p > snu snu~ z, z > l+ l-",), pythia=None),
        constraints=(Constraint("m_dm", "m_neutralino", "ν̃ must be the LSP to be the dark matter"),
                     Constraint("m_dm", "m_sparticles", "ν̃ must be the LSP to be the dark matter"),
                     Constraint("m_neutralino", "m_sparticles", "χ̃⁰₁ must stay the lightest neutralino/chargino",
                                or_equal=True)),
        note=_MSSM_NOTE,
    ),
}


def _signals() -> list[Process]:
    processes = []
    for family, spec in _SIGNAL_FAMILIES.items():
        for signature in ("monojet", "monoz"):
            sig = spec[signature]
            assert isinstance(sig, dict)
            processes.append(Process(
                name=f"{family}_{signature}",
                role="signal",
                family=family,
                signatures=(signature,),  # type: ignore[arg-type]
                description=f"{spec['description']}, {'monojet' if signature == 'monojet' else 'mono-Z (Z→ℓℓ)'}",
                mg5_model=spec["mg5_model"],  # type: ignore[arg-type]
                mg5_restriction=spec["mg5_restriction"],  # type: ignore[arg-type]
                mg5_model_source=spec["source"],  # type: ignore[arg-type]
                mg5_processes=sig["processes"],
                mg5_defines=spec.get("defines", ()),  # type: ignore[arg-type]
                madspin_decays=sig.get("madspin", ()),
                resonances=sig.get("resonances", ()),
                generation_cuts=_MONOJET_CUTS if signature == "monojet" else {},
                parameters=spec["parameters"],  # type: ignore[arg-type]
                invisible_pdgids=spec["invisible"],  # type: ignore[arg-type]
                constraints=spec["constraints"],  # type: ignore[arg-type]
                pythia=sig.get("pythia"),
                unconfirmed=spec.get("note"),  # type: ignore[arg-type]
            ))
    return processes


_SM_SOURCE = "ships with MG5_aMC (models/sm)"


def _background(name: str, signatures: tuple[Signature, ...], description: str, processes: tuple[str, ...],
                pythia: str, cuts: Mapping[str, float] | None = None, *, defines: tuple[str, ...] = (),
                madspin: tuple[str, ...] = ()) -> Process:
    return Process(name=name, role="background", family="sm", signatures=signatures, description=description,
                   mg5_model="sm", mg5_restriction=None, mg5_model_source=_SM_SOURCE, mg5_processes=processes,
                   mg5_defines=defines, madspin_decays=madspin, generation_cuts=dict(cuts or {}), pythia=pythia)


# W → eν, μν, τν in both backends: MG5's own l± holds only e, μ, and the leptonic τ decays are part of
# the real background (Pythia decays the τ of either backend).
_W_LEPTONS = ("ell+ = e+ mu+ ta+", "ell- = e- mu- ta-")


_BACKGROUNDS = [
    _background("sm_znunu_jet", ("monojet",), "Z(→νν) + jet, the irreducible monojet background",
                ("p p > z j, z > vl vl~",),
                "WeakBosonAndParton:qqbar2gmZg + qg2gmZq, pure Z, Z → νν; vs MG5 + shower (ptj > 130): σ "
                "ratio 1.14 (Pythia's LO scales), atlas_monojet efficiency 0.172 vs 0.165, MET KS 0.021; "
                "spin-1's mean-m_T² scales do not close the σ gap (52.0 vs 52.3 pb at ptj > 130, 2.19 vs "
                "2.21 pb at ptj > 300: -0.6 %), so Pythia's defaults stay",
                _MONOJET_CUTS),
    _background("sm_wlnu_jet", ("monojet",), "W(→ℓν) + jet, ℓ = e, μ, τ (lepton lost or a τ-jet)",
                ("p p > w+ j, w+ > l+ vl", "p p > w- j, w- > l- vl~",
                 "p p > w+ j, w+ > ta+ vt", "p p > w- j, w- > ta- vt~"),
                "WeakBosonAndParton:qqbar2Wg + qg2Wq, W → eν, μν, τν; vs MG5 + shower (ptj > 130): σ ratio "
                "1.06, atlas_monojet efficiency 0.031 vs 0.031, MET KS 0.026", _MONOJET_CUTS),
    # The tops are decayed by MadSpin (full spin correlations, Breit-Wigner lineshapes) rather than
    # left to Pythia, which would decay them isotropically.
    _background("sm_ttbar", ("monojet", "monoz"), "top-pair production, all decays (MG5: tops decayed by MadSpin "
                "with spin correlations)", ("p p > t t~",),
                "Top:gg2ttbar + qqbar2ttbar; vs MG5 (MadSpin decays) + shower, 3000 events a side: σ ratio 1.004, "
                "MET 48.3 vs 50.3 GeV (KS 0.045, 95 % critical 0.035), leading-jet pT KS 0.033, jet multiplicity "
                "4.92 vs 4.93 (KS 0.013); atlas_monojet keeps 5 vs 3 events, atlas_monoz none: rates and jet shapes, "
                "MET 4 % soft",
                madspin=("t > w+ b, w+ > all all", "t~ > w- b~, w- > all all")),
    _background("sm_zz_llvv", ("monoz",), "ZZ → ℓℓνν, the irreducible mono-Z background",
                ("p p > z z, z > l+ l-, z > vl vl~",),
                "WeakDoubleBoson:ffbar2gmZgmZ, pure Z, filtered to one Z → ee/μμ and one Z → νν; vs MG5 + "
                "shower (3000 events a side): σ ratio 1.010, atlas_monoz efficiency 0.0337 vs 0.0300 (ratio "
                "1.12 ± 0.16), KS of MET / leading-jet pT / jet multiplicity 0.021 / 0.019 / 0.012 (95 % "
                "critical 0.035): rates and shapes"),
    _background("sm_wz_lvll", ("monoz",), "WZ → ℓνℓℓ, W → eν/μν/τν, Z → ee/μμ (one lepton lost)",
                ("p p > w+ z, w+ > ell+ vl, z > l+ l-", "p p > w- z, w- > ell- vl~, z > l+ l-"),
                "WeakDoubleBoson:ffbar2ZW, Z → ee/μμ, W → eν/μν/τν; vs MG5 + shower (3000 events a side): σ "
                "ratio 0.949, atlas_monoz efficiency 0.0047 vs 0.0067 (ratio 0.70 ± 0.24, 14 vs 20 events), KS "
                "of MET / leading-jet pT / jet multiplicity 0.019 / 0.026 / 0.008 (95 % critical 0.035): rates "
                "(5 % low) and shapes", defines=_W_LEPTONS),
    _background("sm_ww_lvlv", ("monoz",), "WW → ℓνℓν, W → eν/μν/τν",
                ("p p > w+ w-, w+ > ell+ vl, w- > ell- vl~",),
                "WeakDoubleBoson:ffbar2WW, W → eν/μν/τν; vs MG5 + shower (3000 events a side): σ ratio 0.993, "
                "atlas_monoz keeps none of either, KS of MET / leading-jet pT / jet multiplicity 0.018 / 0.032 / "
                "0.018 (95 % critical 0.035): rates and shapes", defines=_W_LEPTONS),
    _background("sm_zll_jet", ("monoz",), "Z(→ℓℓ) + jet (fake MET from jet mismeasurement)",
                ("p p > z j, z > l+ l-",),
                "WeakBosonAndParton:qqbar2gmZg + qg2gmZq, pure Z, Z → ee/μμ; vs MG5 + shower (ptj > 20, 3000 "
                "events a side): σ ratio 0.995; atlas_monoz keeps none of either; MET / leading-jet pT KS 0.047 / "
                "0.051 (95 % critical 0.035), jet multiplicity 1.28 vs 1.53 (KS 0.10): the rate, not the extra "
                "jets (Pythia's own Z + jet showers less than MG5's LHE from its scale)", {"ptj": 20.0}),
]

#: Every process, by name.
PROCESSES: dict[str, Process] = {p.name: p for p in (*_signals(), *_BACKGROUNDS)}


def get_process(name: str) -> Process:
    """The registered process ``name``; a :class:`StudyError` with the closest name otherwise."""
    try:
        return PROCESSES[name]
    except KeyError:
        raise StudyError(f"unknown process {name!r}: {did_you_mean(name, PROCESSES)}") from None
