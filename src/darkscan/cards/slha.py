"""SLHA2 spectra for MG5's ``MSSM_SLHA2`` model, for MadGraph (param card) and Pythia 8 (``SLHA:file``).

One template (``templates/mssm_slha2.slha.j2``) holds the complete SPS1a-like spectrum that MG5
3.5.7 wrote into the reference runs' banners (``shared/data/mg5/mssm_*``); a study sets or scans
the neutralino and sneutrino masses on top of it. Two flavours:

- ``target="pythia"`` (:func:`render_slha`): standard SLHA2 block names, a ``MODSEL`` and a full
  ``SMINPUTS`` block, and **no DECAY tables**: Pythia 8 then computes the SUSY widths and branching
  ratios itself for the spectrum it is given (an "Auto" width would be unreadable to it).
- ``target="mg5"`` (:func:`render_param_card`): MG5's block names (``FRALPHA``) and a DECAY line
  for every particle. The reference widths belong to the reference spectrum, so they are kept
  numerically when no mass moved (the reference runs are reproduced exactly). Once a mass differs
  (:func:`mg5_widths`): the dark-matter candidate (the LSP) is stable, width 0; the sparticles that
  can be on-shell s-channel resonances of the process (:attr:`darkscan.registry.Process.resonances`)
  get their 2-body widths: the u, d, s, c squarks from :func:`light_squark_widths_gev` (tree-level
  formulas that reproduce the reference card and MG5's own 2-body widths to 7 digits), the
  neutralinos from :func:`neutralino_partial_widths_gev` (χ̃⁰ⱼZ, χ̃⁰ⱼh/H/A, χ̃±W∓, χ̃±H∓ with
  MSSM_SLHA2's couplings: MG5's 2-body widths to 3e-5), written with their branching ratios
  (:func:`mg5_decay_tables`). A neutralino that can decay into a sfermion, whose channels darkscan
  lacks, is ``Auto``: the MG5 script computes it from its 2-body decays (``compute_widths …
  --body_decay=2``), as it would any other resonance. Every other width keeps its reference value,
  since those particles enter the process only in t-channel propagators or not at all. Asking MG5
  for ``Auto`` widths of all 31 sparticles instead makes it integrate 3- and 4-body decays with
  hundreds of diagrams each for ~30 particles, which never finished on two cores (issue #14); its
  2-body χ̃⁰₂₋₄ widths alone, without a decays.py in MSSM_SLHA2, are a madevent run of their own
  (~70 s CPU per spectrum: benchmarks/mssm_neutralino_widths_mg5.py).

:func:`parse_slha` reads any SLHA text back into ``{block: {ids: value}}`` (DECAY lines under the
block ``"DECAY"``), which the card checks use.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Literal

from darkscan import __version__
from darkscan.cards._render import TEMPLATE_VERSIONS, format_number, render_template
from darkscan.errors import CardError
from darkscan.registry import Process

__all__ = [
    "MSSM_MASSES",
    "MSSM_WIDTHS",
    "light_squark_widths_gev",
    "mg5_decay_tables",
    "mg5_widths",
    "neutralino_partial_widths_gev",
    "parse_slha",
    "render_param_card",
    "render_slha",
    "sfermion_channel_open",
    "slha_values",
]

#: MASS block of the reference spectrum: (PDG id, mass in GeV, MG5 parameter name).
MSSM_MASSES: tuple[tuple[int, float, str], ...] = (
    (5, 4.889917, "mb"), (6, 175.0, "mt"), (15, 1.777, "mta"), (23, 91.1876, "mz"), (24, 79.82901, "mw"),
    (25, 110.8991, "mh01"), (35, 399.9601, "mh02"), (36, 399.5839, "ma0"), (37, 407.879, "mh"),
    (1000001, 568.4411, "msd1"), (1000002, 561.119, "msu1"), (1000003, 568.4411, "msd2"),
    (1000004, 561.119, "msu2"), (1000005, 513.0652, "msd3"), (1000006, 399.6685, "msu3"),
    (1000011, 202.9157, "msl1"), (1000012, 185.2583, "msn1"), (1000013, 202.9157, "msl2"),
    (1000014, 185.2583, "msn2"), (1000015, 134.4909, "msl3"), (1000016, 184.7085, "msn3"),
    (1000021, 607.7137, "mgo"), (1000022, 96.68807, "mneu1"), (1000023, 181.0882, "mneu2"),
    (1000024, 181.6965, "mch1"), (1000025, -363.756, "mneu3"), (1000035, 381.7294, "mneu4"),
    (1000037, 379.9393, "mch2"), (2000001, 545.2285, "msd4"), (2000002, 549.2593, "msu4"),
    (2000003, 545.2285, "msd5"), (2000004, 549.2593, "msu5"), (2000005, 543.7267, "msd6"),
    (2000006, 585.7858, "msu6"), (2000011, 144.1028, "msl4"), (2000013, 144.1028, "msl5"),
    (2000015, 206.8678, "msl6"),
)

#: DECAY lines of the reference param card: (PDG id, width in GeV, MG5 parameter name).
MSSM_WIDTHS: tuple[tuple[int, float, str], ...] = (
    (6, 1.56195, "wt"), (23, 2.411433, "wz"), (24, 2.002822, "ww"), (25, 0.001986108, "wh01"),
    (35, 0.5748014, "wh02"), (36, 0.6321785, "wa0"), (37, 0.5469628, "wh"),
    (1000001, 5.312788, "wsd1"), (1000002, 5.477195, "wsu1"), (1000003, 5.312788, "wsd2"),
    (1000004, 5.477195, "wsu2"), (1000005, 3.736276, "wsd3"), (1000006, 2.021596, "wsu3"),
    (1000011, 0.2136822, "wsl1"), (1000012, 0.1498816, "wsn1"), (1000013, 0.2136822, "wsl2"),
    (1000014, 0.1498816, "wsn2"), (1000015, 0.1483273, "wsl3"), (1000016, 0.147519, "wsn3"),
    (1000021, 5.506754, "wgo"), (1000022, 0.0, "wneu1"), (1000023, 0.020777, "wneu2"),
    (1000024, 0.01704145, "wch1"), (1000025, 1.915985, "wneu3"), (1000035, 2.585851, "wneu4"),
    (1000037, 2.486895, "wch2"), (2000001, 0.2858123, "wsd4"), (2000002, 1.152973, "wsu4"),
    (2000003, 0.2858123, "wsd5"), (2000004, 1.152973, "wsu5"), (2000005, 0.8015663, "wsd6"),
    (2000006, 7.373133, "wsu6"), (2000011, 0.2161216, "wsl4"), (2000013, 0.2161216, "wsl5"),
    (2000015, 0.2699061, "wsl6"),
)

#: The neutralino/chargino sector, lightest first in the reference spectrum (|mass|: χ̃⁰₃ is negative).
_NEUTRALINOS_CHARGINOS = (1000022, 1000023, 1000024, 1000025, 1000035, 1000037)


def slha_values(process: Process, parameters: Mapping[str, float | str]) -> dict[tuple[str, tuple[int, ...]], float]:
    """The ``(block, ids) → value`` entries the parameters of ``process`` set (MASS entries only here).

    A mass takes the sign of the reference one: the reference NMIX has real entries with χ̃⁰₃'s
    eigenvalue negative, and flipping that sign without NMIX would change the state's couplings
    (e.g. ``m_sparticles = 3000`` gives χ̃⁰₃ the mass -3000).
    """
    values: dict[tuple[str, tuple[int, ...]], float] = {}
    known_masses = {pdg: mass for pdg, mass, _ in MSSM_MASSES}
    for name, value in parameters.items():
        try:
            parameter = process.parameter(name)
        except KeyError:
            raise CardError(f"{process.name}: unknown parameter {name!r}; allowed: "
                            f"{', '.join(process.parameter_names)}") from None
        if isinstance(value, str):
            raise CardError(f"{process.name}: parameter {name} must be a number in an SLHA spectrum, got {value!r}")
        for entry in parameter.entries:
            if entry.block != "MASS" or len(entry.ids) != 1 or entry.ids[0] not in known_masses:
                raise CardError(f"{process.name}: parameter {name} goes to {entry}, which the MSSM_SLHA2 "
                                "spectrum template does not have")
            values[(entry.block, entry.ids)] = math.copysign(float(value), known_masses[entry.ids[0]])
    return values


def _render(process: Process, parameters: Mapping[str, float | str], target: Literal["mg5", "pythia"]) -> str:
    if process.mg5_model != "MSSM_SLHA2":
        raise CardError(f"{process.name}: an SLHA spectrum exists only for MSSM_SLHA2 processes, "
                        f"not for model {process.mg5_model}")
    overrides = slha_values(process, parameters)
    masses = [(pdg, overrides.get(("MASS", (pdg,)), mass), name) for pdg, mass, name in MSSM_MASSES]
    _check_lsp(process, masses)
    _check_neutralino_ordering(process, masses)
    decays = mg5_widths(process, masses)
    tables = mg5_decay_tables(process, masses)
    widths = [(pdg, decays.get(pdg, format_number(width)), name, tables.get(pdg, []))
              for pdg, width, name in MSSM_WIDTHS]
    text = render_template(
        "mssm_slha2.slha.j2",
        version=__version__,
        template_version=TEMPLATE_VERSIONS["mssm_slha2"],
        process=process.name,
        parameters=[(name, format_number(float(v)) if not isinstance(v, str) else v)
                    for name, v in sorted(parameters.items())],
        target=target,
        masses=[(pdg, format_number(value), name) for pdg, value, name in masses],
        widths=widths,
    )
    check_slha(text, overrides, where=f"{process.name} SLHA ({target})")
    return text


def mg5_widths(process: Process, masses: Sequence[tuple[int, float, str]]) -> dict[int, str]:
    """DECAY values that differ from the reference card for the spectrum ``masses`` (see the module doc):
    ``{}`` for the reference spectrum; else 0 for the dark-matter candidate, darkscan's 2-body widths
    for the process's squark and neutralino resonances, and ``"Auto"`` (computed 2-body by MG5 before
    it generates) for a neutralino that can decay into a sfermion, whose channels darkscan lacks."""
    if not _moved(masses):
        return {}
    widths = {pdg: format_number(0.0) for pdg in _dm_ids(process)}
    by_pdg = {pdg: mass for pdg, mass, _ in masses}
    computed = {**light_squark_widths_gev(by_pdg), **{pdg: sum(channels.values()) for pdg, channels
                                                       in _computed_neutralino_widths(process, by_pdg).items()}}
    widths.update({pdg: format_number(float(f"{computed[pdg]:.6e}")) if pdg in computed else "Auto"
                   for pdg in process.resonances})
    return widths


def mg5_decay_tables(process: Process, masses: Sequence[tuple[int, float, str]]) -> dict[int, list[tuple[str, int, int]]]:
    """SLHA decay tables ``{pdg: [(BR, daughter, daughter), …]}`` of the neutralino resonances whose
    widths :func:`mg5_widths` computes (largest BR first; none for the reference spectrum)."""
    if not _moved(masses):
        return {}
    tables = {}
    for pdg, channels in _computed_neutralino_widths(process, {p: m for p, m, _ in masses}).items():
        total = sum(channels.values())
        if total > 0:
            tables[pdg] = [(f"{width / total:.6e}", *daughters)
                           for daughters, width in sorted(channels.items(), key=lambda c: (-c[1], c[0]))]
    return tables


def _moved(masses: Sequence[tuple[int, float, str]]) -> bool:
    return any(value != default for (_, value, _), (_, default, _) in zip(masses, MSSM_MASSES))


def _computed_neutralino_widths(process: Process, masses: Mapping[int, float]) -> dict[int, dict[tuple[int, int], float]]:
    """The 2-body channels of the process's neutralino resonances that have no open sfermion channel."""
    wanted = [pdg for pdg in process.resonances if pdg in _NEUTRALINOS and not sfermion_channel_open(pdg, masses)]
    if not wanted:
        return {}
    channels = neutralino_partial_widths_gev(masses)
    return {pdg: channels[pdg] for pdg in wanted}


#: u, d, s, c squarks (no L-R mixing for massless quarks): PDG id → (T3, charge, left-handed)
_LIGHT_SQUARKS = {1000001: (-0.5, -1 / 3, True), 1000002: (0.5, 2 / 3, True), 1000003: (-0.5, -1 / 3, True),
                  1000004: (0.5, 2 / 3, True), 2000001: (-0.5, -1 / 3, False), 2000002: (0.5, 2 / 3, False),
                  2000003: (-0.5, -1 / 3, False), 2000004: (0.5, 2 / 3, False)}


@functools.lru_cache(maxsize=1)
def _reference_blocks() -> dict[str, dict[tuple[int, ...], float | str]]:
    text = render_template("mssm_slha2.slha.j2", version=__version__, template_version=0, process="reference",
                           parameters=[], target="pythia",
                           masses=[(pdg, format_number(m), name) for pdg, m, name in MSSM_MASSES], widths=[])
    return parse_slha(text)


def light_squark_widths_gev(masses: Mapping[int, float]) -> dict[int, float]:
    """Tree-level 2-body widths (GeV) of the u, d, s, c squarks for the spectrum ``masses`` (PDG → GeV).

    q̃ → q χ̃⁰ᵢ (bino/wino couplings through NMIX), q̃_L → q' χ̃±ⱼ (UMIX, VMIX), q̃ → q g̃, with massless
    quarks (no Yukawa or L-R mixing terms) and the reference card's mixing matrices, α_EW(MZ)⁻¹ =
    127.934, G_F, MZ and α_s = 0.130 (the card's, as MG5 uses it). They reproduce the reference card's
    widths (e.g. 5.312788 GeV for d̃_L) and MG5's ``compute_widths --body_decay=2`` for moved spectra.
    """
    blocks = _reference_blocks()
    smin = blocks["SMINPUTS"]
    alpha_ew, g_fermi, m_z, alpha_s = 1 / float(smin[(1,)]), float(smin[(2,)]), float(smin[(4,)]), float(smin[(3,)])
    m_w = math.sqrt(m_z**2 / 2 + math.sqrt(m_z**4 / 4 - alpha_ew * math.pi * m_z**2 / (g_fermi * math.sqrt(2))))
    sw2 = 1 - m_w**2 / m_z**2
    g2 = 4 * math.pi * alpha_ew / sw2  # SU(2) coupling squared
    tan_w = math.sqrt(sw2 / (1 - sw2))
    nmix, umix, vmix = blocks["NMIX"], blocks["UMIX"], blocks["VMIX"]

    def phase_space(m: float, m_daughter: float) -> float:
        x = m_daughter**2 / m**2
        return (1 - x) ** 2 if x < 1 else 0.0

    widths = {}
    for pdg, (t3, charge, left) in _LIGHT_SQUARKS.items():
        m = abs(masses[pdg])
        width = 0.0
        for i, neutralino in enumerate((1000022, 1000023, 1000025, 1000035), start=1):
            n1, n2 = float(nmix[(i, 1)]), float(nmix[(i, 2)])
            coupling = t3 * n2 - tan_w * (t3 - charge) * n1 if left else tan_w * charge * n1
            width += g2 * m * 2 * coupling**2 * phase_space(m, abs(masses[neutralino])) / (16 * math.pi)
        if left:
            for j, chargino in enumerate((1000024, 1000037), start=1):
                mixing = float(vmix[(j, 1)]) if t3 > 0 else float(umix[(j, 1)])
                width += g2 * m * mixing**2 * phase_space(m, abs(masses[chargino])) / (16 * math.pi)
        width += 2 * alpha_s / 3 * m * phase_space(m, abs(masses[1000021]))
        widths[pdg] = width
    return widths


#: Neutralinos in NMIX row order and charginos in UMIX/VMIX row order (MSSM_SLHA2's n1-n4, x1-x2).
_NEUTRALINOS = (1000022, 1000023, 1000025, 1000035)
_CHARGINOS = (1000024, 1000037)
#: Sfermion → its SM partner (for the threshold of χ̃⁰ → f̃ f̄): squarks, charged sleptons, sneutrinos.
_SFERMION_PARTNERS = {**{q: q % 10 for q in (*range(1000001, 1000007), *range(2000001, 2000007))},
                      **{s: s % 100 for s in (1000011, 1000013, 1000015, 2000011, 2000013, 2000015)},
                      1000012: 12, 1000014: 14, 1000016: 16}


def neutralino_partial_widths_gev(masses: Mapping[int, float]) -> dict[int, dict[tuple[int, int], float]]:
    """Tree-level 2-body partial widths (GeV) of each neutralino into χ̃⁰ⱼ Z, χ̃⁰ⱼ h/H/A, χ̃±ₖ W∓ and χ̃±ₖ H∓.

    ``masses`` is a complete MASS block (PDG → GeV, neutralino masses signed as in the card); the
    result maps each neutralino to ``{(sparticle, boson): width}``, charge-conjugate channels apart
    (``(1000024, -24)`` and ``(-1000024, 24)``), closed channels left out. Couplings are MSSM_SLHA2's
    own vertices (its UFO ``couplings.py``) with the reference card's NMIX, UMIX, VMIX, α, tan β,
    1/α_EW = 127.934 and s_W from the card's W and Z masses, so the widths are the ones MG5 computes
    for that card: real mixing matrices with signed masses, so a negative mass enters the m_i m_j
    interference terms with its sign. Sfermion channels are not included (see :func:`sfermion_channel_open`).
    """
    blocks = _reference_blocks()
    alpha_ew = 1 / float(blocks["SMINPUTS"][(1,)])
    m_w, m_z = masses[24], masses[23]
    cw = m_w / m_z
    sw = math.sqrt(1 - cw**2)
    g = math.sqrt(4 * math.pi * alpha_ew) / sw
    tan_w = sw / cw
    alpha = float(blocks["FRALPHA"][(1,)]) if "FRALPHA" in blocks else float(blocks["ALPHA"][(1,)])
    beta = math.atan(float(blocks["HMIX"][(2,)]))
    n = [[float(blocks["NMIX"][(i, a)]) for a in range(1, 5)] for i in range(1, 5)]
    u = [[float(blocks["UMIX"][(k, a)]) for a in range(1, 3)] for k in range(1, 3)]
    v = [[float(blocks["VMIX"][(k, a)]) for a in range(1, 3)] for k in range(1, 3)]

    def symmetric(i: int, j: int, third: float, fourth: float) -> float:
        # (N_a2 - tan θ_W N_a1)(third N_b3 + fourth N_b4), symmetrised in the two neutralinos
        return sum((n[a][1] - tan_w * n[a][0]) * (third * n[b][2] + fourth * n[b][3]) for a, b in ((i, j), (j, i)))

    widths: dict[int, dict[tuple[int, int], float]] = {}
    for i, parent in enumerate(_NEUTRALINOS):
        m_i = masses[parent]
        channels: dict[tuple[int, int], float] = {}
        for j, daughter in enumerate(_NEUTRALINOS):
            if j == i:
                continue
            m_j = masses[daughter]
            # each coupling as (C_L, C_R) of  χ̄⁰ⱼ (C_L P_L + C_R P_R) χ⁰ᵢ φ  or  χ̄⁰ⱼ γ^μ (C_L P_L + C_R P_R) χ⁰ᵢ Z_μ
            z = g / (2 * cw) * (n[i][2] * n[j][2] - n[i][3] * n[j][3])
            h = g / 2 * symmetric(i, j, math.sin(alpha), math.cos(alpha))
            heavy = g / 2 * symmetric(i, j, -math.cos(alpha), math.sin(alpha))
            pseudo = g / 2 * symmetric(i, j, math.sin(beta), -math.cos(beta))
            for boson, (c_l, c_r) in ((23, (z, -z)), (25, (h, h)), (35, (heavy, heavy)), (36, (pseudo, -pseudo))):
                width = _two_body_width(m_i, m_j, masses[boson], c_l, c_r, vector=boson == 23)
                if width > 0:
                    channels[(daughter, boson)] = width
        for k, chargino in enumerate(_CHARGINOS):
            m_k = masses[chargino]
            w_left = -g * (v[k][0] * n[i][1] - v[k][1] * n[i][3] / math.sqrt(2))
            w_right = -g * (n[i][1] * u[k][0] + n[i][2] * u[k][1] / math.sqrt(2))
            hc_left = -g * math.sin(beta) * (n[i][2] * u[k][0] - (n[i][1] + tan_w * n[i][0]) * u[k][1] / math.sqrt(2))
            hc_right = -g * math.cos(beta) * (n[i][3] * v[k][0] + (n[i][1] + tan_w * n[i][0]) * v[k][1] / math.sqrt(2))
            for boson, (c_l, c_r) in ((24, (w_left, w_right)), (37, (hc_left, hc_right))):
                width = _two_body_width(m_i, m_k, masses[boson], c_l, c_r, vector=boson == 24)
                if width > 0:  # χ̃⁺ W⁻ and χ̃⁻ W⁺ alike (real couplings: CP conserved)
                    channels[(chargino, -boson)] = channels[(-chargino, boson)] = width
        widths[parent] = channels
    return widths


def _two_body_width(m_i: float, m_j: float, m_boson: float, c_l: float, c_r: float, *, vector: bool) -> float:
    """Γ(F_i → F_j B) for the vertex F̄_j Γ (c_l P_L + c_r P_R) F_i (Γ = 1 or γ^μ), spin-averaged.

    Fermion masses are signed (the real-mixing-matrix convention), bosons' positive; 0 when closed.
    """
    a2, b2, c2 = m_i**2, m_j**2, m_boson**2
    if abs(m_i) <= abs(m_j) + m_boson:
        return 0.0
    kallen = (a2 - b2 - c2) ** 2 - 4 * b2 * c2
    momentum = math.sqrt(max(kallen, 0.0)) / (2 * abs(m_i))
    chiral, mixed = c_l**2 + c_r**2, c_l * c_r
    if vector:  # Σ|M|² with the unitary-gauge polarisation sum -g + q q / m²
        kp, kq, pq = (a2 + b2 - c2) / 2, (a2 - b2 - c2) / 2, (a2 - b2 + c2) / 2
        summed = 2 * chiral * kp + 4 * chiral * kq * pq / c2 - 12 * m_i * m_j * mixed
    else:
        summed = chiral * (a2 + b2 - c2) + 4 * m_i * m_j * mixed
    return momentum / (8 * math.pi * a2) * summed / 2


def sfermion_channel_open(neutralino: int, masses: Mapping[int, float]) -> bool:
    """Whether ``neutralino`` can decay to a sfermion and its fermion (χ̃⁰ → f̃ f̄) in the spectrum ``masses``."""
    return any(abs(masses[neutralino]) > abs(masses[sfermion]) + abs(masses.get(fermion, 0.0))
               for sfermion, fermion in _SFERMION_PARTNERS.items())


def _dm_ids(process: Process) -> set[int]:
    try:
        return {entry.ids[0] for entry in process.parameter("m_dm").entries}
    except KeyError:
        return set()


def _check_neutralino_ordering(process: Process, masses: Sequence[tuple[int, float, str]]) -> None:
    """χ̃⁰₁ must stay the lightest neutralino/chargino: the reference mixing matrices assume that order."""
    by_pdg = {pdg: (abs(mass), name) for pdg, mass, name in masses}
    m_n1, _ = by_pdg[1000022]
    below = [(m, name, pdg) for pdg in _NEUTRALINOS_CHARGINOS[1:] if (m := by_pdg[pdg][0]) < m_n1
             for name in [by_pdg[pdg][1]]]
    if below:
        m, name, pdg = min(below)
        raise CardError(f"{process.name}: χ̃⁰₁ at {m_n1:g} GeV is heavier than {name} (PDG {pdg}) at {m:g} GeV; "
                        "lift the other neutralinos and charginos with it (m_sparticles ≥ the χ̃⁰₁ mass)")


def _check_lsp(process: Process, masses: Sequence[tuple[int, float, str]]) -> None:
    """The dark-matter candidate must be the lightest sparticle, or it decays and leaves no MET."""
    try:
        dm_ids = {entry.ids[0] for entry in process.parameter("m_dm").entries}
    except KeyError:
        return
    by_pdg = {pdg: (abs(mass), name) for pdg, mass, name in masses}
    m_dm = max(by_pdg[pdg][0] for pdg in dm_ids)
    lighter = sorted((m, name, pdg) for pdg, (m, name) in by_pdg.items() if pdg >= 1_000_000 and pdg not in dm_ids
                     and m <= m_dm)
    if lighter:
        m, name, pdg = lighter[0]
        raise CardError(
            f"{process.name}: m_dm = {m_dm:g} GeV is not the lightest sparticle: {name} (PDG {pdg}) of the "
            f"fixed MSSM_SLHA2 spectrum is at {m:g} GeV ({len(lighter)} sparticle(s) lighter in all), so the "
            f"dark matter would decay; keep m_dm below {m:g} GeV")


def render_slha(process: Process, parameters: Mapping[str, float | str]) -> str:
    """Full SLHA2 text for Pythia 8 ``SLHA:file``: the spectrum with ``parameters`` applied, no DECAY tables.

    Pythia 8 computes the sparticle widths and branching ratios itself when a DECAY table is absent.
    ``parameters`` are the process's registry parameters (``m_dm``, ``m_sneutrino``, …); unknown
    names, strings and entries outside the template raise :class:`CardError`.
    """
    return _render(process, parameters, "pythia")


def render_param_card(process: Process, parameters: Mapping[str, float | str]) -> str:
    """The MG5 ``param_card.dat`` (SLHA2 with MG5's block names, DECAY lines, ``Auto`` where recomputed)."""
    return _render(process, parameters, "mg5")


def parse_slha(text: str) -> dict[str, dict[tuple[int, ...], float | str]]:
    """``{BLOCK: {ids: value}}`` of SLHA text; DECAY lines are block ``"DECAY"``, decay tables skipped.

    Values that are not numbers (``Auto``, ``scan:[…]``) are kept as strings.
    """
    blocks: dict[str, dict[tuple[int, ...], float | str]] = {}
    current: dict[tuple[int, ...], float | str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        head = words[0].upper()
        if head == "BLOCK":
            if len(words) < 2:
                raise CardError(f"SLHA line {number}: BLOCK without a name")
            current = blocks.setdefault(words[1].upper(), {})
            continue
        if head == "DECAY":
            if len(words) < 3:
                raise CardError(f"SLHA line {number}: DECAY needs a PDG id and a width: {raw.strip()!r}")
            blocks.setdefault("DECAY", {})[(int(words[1]),)] = _value(words[2])
            current = None  # branching-ratio lines of a decay table follow; not needed here
            continue
        if current is None:
            continue
        try:
            *ids, value = words
            current[tuple(int(i) for i in ids)] = _value(value)
        except ValueError:
            raise CardError(f"SLHA line {number}: cannot read {raw.strip()!r}") from None
    return blocks


def _value(word: str) -> float | str:
    try:
        return float(word)
    except ValueError:
        return word


def check_slha(text: str, expected: Mapping[tuple[str, tuple[int, ...]], float], *, where: str) -> None:
    """Raise :class:`CardError` unless every ``expected`` entry is in ``text`` with its value."""
    if "{{" in text or "{%" in text:
        raise CardError(f"{where}: unrendered template markup left in the card")
    if not text.isascii():
        raise CardError(f"{where}: non-ASCII text in the card")
    blocks = parse_slha(text)
    for (block, ids), value in expected.items():
        found = blocks.get(block, {}).get(ids)
        if not isinstance(found, float) or not _close(found, value):
            raise CardError(f"{where}: {block} {' '.join(map(str, ids))} is {found!r}, expected {value!r}")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300)
