"""Event selections as data: ordered lists of cuts on :data:`~darkscan.analysis.features.FEATURES`.

A :class:`Cut` keeps events with ``min ≤ value < max`` (on ``|value|`` when ``abs``); a missing
bound is open. A NaN feature (missing object) fails every cut. No string is ever evaluated.

Presets (``selection.preset`` in the study file), applied before the study's own ``cuts``:

``atlas_monojet`` — ATLAS jet + MET, 139 fb⁻¹ (arXiv:2102.10874): MET > 200 GeV; leading jet
pT > 150 GeV and |η| < 2.4; at most 4 jets with pT > 30 GeV, |η| < 2.8; Δφ_min(jets, MET) > 0.4
over those (up to four) jets; no electron or muon; no photon (the paper vetoes reconstructed
e, μ, τ and γ; τ is not in the event table).

``atlas_monoz`` — ATLAS Z(→ℓℓ) + invisible, 139 fb⁻¹ (arXiv:2111.08372): exactly two leptons
(third-lepton veto), same flavour and opposite sign, pT > 30 / 20 GeV; 76 < m_ℓℓ < 106 GeV;
no b-tagged jet; MET > 90 GeV; ΔR_ℓℓ < 1.8; MET significance > 9. The paper uses the
object-based MET significance S (resolution-weighted likelihood ratio), which needs per-object
resolutions a fast simulation does not provide; here the cut is on the event-based proxy
``met_significance`` = MET/√(Σ pT of jets, e, μ, γ) in √GeV — same scale for ZZ → ℓℓνν (S ≈ MET/σ
with σ ∝ √ΣpT), but not identical.

The cut flow (:func:`cutflow`) gives, after each cut, the raw events, Σ weights and the expected
yield ``σ[pb] · 1000 · L[fb⁻¹] · Σ w_selected / Σ w_all``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from darkscan.errors import StudyError, did_you_mean

__all__ = ["PRESETS", "Cut", "CutflowRow", "apply", "cutflow", "format_cutflow", "study_cuts"]


@dataclasses.dataclass(frozen=True)
class Cut:
    """Keep ``min ≤ feature < max`` (``|feature|`` when ``abs``); ``label`` names it in cut flows."""

    feature: str
    min: float | None = None
    max: float | None = None
    abs: bool = False
    label: str = ""

    def __post_init__(self) -> None:
        from darkscan.analysis.features import FEATURES

        if self.feature not in FEATURES:
            raise StudyError(f"cut on unknown feature {self.feature!r}: {did_you_mean(self.feature, FEATURES)}")
        if self.min is None and self.max is None:
            raise StudyError(f"cut on {self.feature!r} needs min, max or both")

    @property
    def description(self) -> str:
        if self.label:
            return self.label
        name = f"|{self.feature}|" if self.abs else self.feature
        low = f"{self.min:g} ≤ " if self.min is not None else ""
        high = f" < {self.max:g}" if self.max is not None else ""
        return f"{low}{name}{high}"

    def mask(self, features: Mapping[str, Any]) -> Any:
        """Boolean numpy mask of the events passing this cut."""
        import numpy as np

        values = np.asarray(features[self.feature], dtype=np.float64)
        if self.abs:
            values = np.abs(values)
        keep = ~np.isnan(values)
        if self.min is not None:
            keep &= values >= self.min
        if self.max is not None:
            keep &= values < self.max
        return keep


PRESETS: dict[str, tuple[Cut, ...]] = {
    "none": (),
    "atlas_monojet": (
        Cut("met", min=200.0, label="MET > 200 GeV"),
        Cut("leading_jet_pt", min=150.0, label="leading jet pT > 150 GeV"),
        Cut("leading_jet_eta", max=2.4, abs=True, label="leading jet |η| < 2.4"),
        Cut("n_jets_30", max=4.5, label="≤ 4 jets (pT > 30 GeV, |η| < 2.8)"),
        Cut("dphi_min_jets_met", min=0.4, label="Δφ_min(jets, MET) > 0.4"),
        Cut("n_leptons", max=0.5, label="lepton veto (no e, μ)"),
        Cut("n_photons", max=0.5, label="photon veto"),
    ),
    "atlas_monoz": (
        Cut("n_leptons", min=1.5, max=2.5, label="exactly 2 leptons (e, μ)"),
        Cut("ll_sfos", min=0.5, label="same flavour, opposite sign"),
        Cut("leading_lepton_pt", min=30.0, label="leading lepton pT > 30 GeV"),
        Cut("subleading_lepton_pt", min=20.0, label="subleading lepton pT > 20 GeV"),
        Cut("mll", min=76.0, max=106.0, label="76 < m_ℓℓ < 106 GeV"),
        Cut("n_bjets", max=0.5, label="b-jet veto"),
        Cut("met", min=90.0, label="MET > 90 GeV"),
        Cut("drll", max=1.8, label="ΔR_ℓℓ < 1.8"),
        Cut("met_significance", min=9.0, label="MET/√ΣpT > 9 √GeV (MET-significance proxy)"),
    ),
}


def study_cuts(preset: str = "none", cuts: Iterable[Any] = ()) -> list[Cut]:
    """The preset's cuts followed by the study's own (objects with feature/min/max/abs)."""
    if preset not in PRESETS:
        raise StudyError(f"selection.preset: unknown preset {preset!r}: {did_you_mean(preset, PRESETS)}")
    result = list(PRESETS[preset])
    for cut in cuts:
        result.append(cut if isinstance(cut, Cut) else Cut(cut.feature, cut.min, cut.max, cut.abs))
    return result


def apply(features: Mapping[str, Any], cuts: Sequence[Cut]) -> Any:
    """Boolean mask of the events passing every cut."""
    import numpy as np

    n = len(features["weight"])
    keep = np.ones(n, dtype=bool)
    for cut in cuts:
        keep &= cut.mask(features)
    return keep


@dataclasses.dataclass(frozen=True)
class CutflowRow:
    cut: str
    events: int  #: raw events left
    sum_weights: float  #: Σ generator weights left
    yield_events: float  #: expected events at the luminosity
    efficiency: float  #: Σ w left / Σ w of all generated events


def cutflow(features: Mapping[str, Any], cuts: Sequence[Cut], *, cross_section_pb: float,
            luminosity_fb: float, sum_weights: float | None = None) -> list[CutflowRow]:
    """Events, Σ w and yield after each cut (first row: all events).

    ``sum_weights`` is Σ w over *all generated* events (the event table's metadata); it defaults
    to the sum over ``features``.
    """
    import numpy as np

    weight = np.asarray(features["weight"], dtype=np.float64)
    total = float(weight.sum()) if sum_weights is None or sum_weights == 0 else float(sum_weights)
    scale = cross_section_pb * 1000.0 * luminosity_fb / total if total != 0 else float("nan")
    keep = np.ones(len(weight), dtype=bool)
    rows = [CutflowRow("all events", int(keep.sum()), float(weight.sum()), float(weight.sum()) * scale,
                       float(weight.sum()) / total if total else float("nan"))]
    for cut in cuts:
        keep &= cut.mask(features)
        selected = float(weight[keep].sum())
        rows.append(CutflowRow(cut.description, int(keep.sum()), selected, selected * scale,
                               selected / total if total else float("nan")))
    return rows


def format_cutflow(rows: Sequence[CutflowRow], *, title: str = "", luminosity_fb: float | None = None) -> str:
    """Plain-text cut-flow table."""
    header = f"{'cut':<46} {'events':>9} {'Σ weights':>12} {'yield' + (f' ({luminosity_fb:g}/fb)' if luminosity_fb else ''):>16} {'eff.':>8}"
    lines = [title] if title else []
    lines += [header, "-" * len(header)]
    for row in rows:
        lines.append(f"{row.cut:<46} {row.events:>9} {row.sum_weights:>12.5g} {row.yield_events:>16.5g} {row.efficiency:>8.4f}")
    return "\n".join(lines)


def __dir__() -> list[str]:
    return list(__all__)
