"""Kinematic features computed from event tables.

:data:`FEATURES` is the one vocabulary of feature names: the study file's selections and histogram
axes are validated against it, and the feature table has exactly these columns.
:func:`compute_features` computes all of them from an event table (the schema of
:mod:`darkscan.readers.events`), columnar: numpy on the flat object arrays plus awkward for the
jagged bits, no Python loop over events.

Conventions:

- Objects are taken as stored in the event table (pT-ordered, the producer's definitions);
  ``n_jets_30`` and ``dphi_min_jets_met`` use the ATLAS monojet jets (pT > 30 GeV, |η| < 2.8).
- "Leptons" are electrons and muons merged and ordered by pT; masses m_e, m_μ are used in m_ℓℓ.
- A feature whose objects are missing (no jet for ``leading_jet_pt``, fewer than two leptons for
  ``mll``, no jet for ``met_over_sqrt_ht``) is **NaN**: it fails every cut and is left out of
  histograms, never a silently wrong number. Counts are never NaN.
- φ in (−π, π], Δφ in [0, π], GeV throughout.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "FEATURES",
    "MZ_GEV",
    "build_file_features",
    "build_point_features",
    "build_study_features",
    "combine_metadata",
    "compute_features",
    "feature_columns",
    "point_features_state",
    "point_inputs",
    "write_features",
]

#: Z mass used by ``mt_zz`` (PDG 2024), GeV
MZ_GEV = 91.1876
_M_ELECTRON = 0.000510999
_M_MUON = 0.105658

#: name → (unit, description). Unit "" means dimensionless.
FEATURES: dict[str, tuple[str, str]] = {
    "met": ("GeV", "missing transverse momentum"),
    "met_phi": ("", "azimuth of the missing transverse momentum"),
    "invisible_pt": ("GeV", "generator-level |Σ pT| of invisible particles"),
    "n_jets": ("", "number of jets"),
    "n_jets_30": ("", "number of jets with pT > 30 GeV and |η| < 2.8 (ATLAS monojet jet count)"),
    "n_bjets": ("", "number of b-tagged jets"),
    "ht": ("GeV", "scalar sum of jet pT"),
    "leading_jet_pt": ("GeV", "leading-jet pT"),
    "leading_jet_eta": ("", "leading-jet pseudorapidity"),
    "leading_jet_phi": ("", "leading-jet azimuth"),
    "subleading_jet_pt": ("GeV", "second-jet pT"),
    "subleading_jet_eta": ("", "second-jet pseudorapidity"),
    "subleading_jet_phi": ("", "second-jet azimuth"),
    "dphi_min_jets_met": ("", "smallest |Δφ| between MET and the four leading jets with pT > 30 GeV, |η| < 2.8"),
    "met_over_sqrt_ht": ("GeV^1/2", "MET/√H_T, a MET-significance proxy (NaN without jets)"),
    "met_significance": ("GeV^1/2", "MET/√(Σ pT of jets, e, μ, γ): event-based MET-significance proxy"),
    "n_electrons": ("", "number of electrons"),
    "n_muons": ("", "number of muons"),
    "n_leptons": ("", "number of electrons + muons"),
    "n_photons": ("", "number of photons"),
    "leading_photon_pt": ("GeV", "leading-photon pT"),
    "leading_lepton_pt": ("GeV", "leading-lepton (e or μ) pT"),
    "leading_lepton_eta": ("", "leading-lepton pseudorapidity"),
    "leading_lepton_charge": ("", "leading-lepton charge (±1)"),
    "leading_lepton_flavour": ("", "leading-lepton |PDG id| (11 or 13)"),
    "subleading_lepton_pt": ("GeV", "second-lepton pT"),
    "subleading_lepton_eta": ("", "second-lepton pseudorapidity"),
    "subleading_lepton_charge": ("", "second-lepton charge (±1)"),
    "subleading_lepton_flavour": ("", "second-lepton |PDG id| (11 or 13)"),
    "ll_sfos": ("", "1 if the two leading leptons are same-flavour opposite-sign, else 0 (NaN if < 2)"),
    "mll": ("GeV", "invariant mass of the two leading leptons"),
    "ptll": ("GeV", "pT of the two-lepton system"),
    "drll": ("", "ΔR between the two leading leptons"),
    "dphi_ll_met": ("", "|Δφ| between the two-lepton system and MET"),
    "mt_ll_met": ("GeV", "transverse mass of the two-lepton system and MET"),
    "mt_zz": ("GeV", "ATLAS mono-Z transverse mass of Z(ℓℓ) + MET, with m_Z for both Z"),
    "mt2_ll": ("GeV", "stransverse mass m_T2 of the two leptons and MET (massless invisibles)"),
    "weight": ("", "event weight"),
}

#: ATLAS monojet jet definition for ``n_jets_30`` and ``dphi_min_jets_met``
JET_PT_MIN = 30.0
JET_ABS_ETA_MAX = 2.8


def _flat(array: Any) -> tuple[Any, Any, Any]:
    """(flat numpy values, per-event start offsets, counts) of a jagged awkward array."""
    import awkward as ak
    import numpy as np

    counts = ak.to_numpy(ak.num(array, axis=1)).astype(np.int64)
    values = ak.to_numpy(ak.flatten(array, axis=1)).astype(np.float64)
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return values, starts, counts


def _nth(values: Any, starts: Any, counts: Any, n: int) -> Any:
    """The n-th (0-based) object's value per event, NaN where there are not enough objects."""
    import numpy as np

    has = counts > n
    out = np.full(len(counts), np.nan)
    out[has] = values[starts[has] + n]
    return out


def _wrap_dphi(dphi: Any) -> Any:
    """|Δφ| folded into [0, π]."""
    import numpy as np

    return np.abs(np.mod(dphi + np.pi, 2 * np.pi) - np.pi)


def compute_features(events: Any) -> dict[str, Any]:
    """Every feature of :data:`FEATURES` for an event table: ``{name: float64 numpy array}``."""
    import awkward as ak
    import numpy as np
    from mt2 import mt2

    n = len(events)
    met = ak.to_numpy(events.met).astype(np.float64)
    met_phi = ak.to_numpy(events.met_phi).astype(np.float64)
    met_x, met_y = met * np.cos(met_phi), met * np.sin(met_phi)
    out: dict[str, Any] = {
        "met": met,
        "met_phi": met_phi,
        "invisible_pt": ak.to_numpy(events.invisible_pt).astype(np.float64),
        "weight": ak.to_numpy(events.weight).astype(np.float64),
    }

    jets = events.jets
    pt, starts, counts = _flat(jets.pt)
    eta = ak.to_numpy(ak.flatten(jets.eta)).astype(np.float64)
    phi = ak.to_numpy(ak.flatten(jets.phi)).astype(np.float64)
    btag = ak.to_numpy(ak.flatten(jets.btag)).astype(np.float64)
    owner = np.repeat(np.arange(n), counts)
    out["n_jets"] = counts.astype(np.float64)
    out["n_bjets"] = np.bincount(owner, weights=btag, minlength=n)
    ht = np.bincount(owner, weights=pt, minlength=n)
    out["ht"] = ht
    for rank, prefix in ((0, "leading"), (1, "subleading")):
        out[f"{prefix}_jet_pt"] = _nth(pt, starts, counts, rank)
        out[f"{prefix}_jet_eta"] = _nth(eta, starts, counts, rank)
        out[f"{prefix}_jet_phi"] = _nth(phi, starts, counts, rank)
    good = (pt > JET_PT_MIN) & (np.abs(eta) < JET_ABS_ETA_MAX)
    out["n_jets_30"] = np.bincount(owner, weights=good, minlength=n)
    # rank of each good jet among the good jets of its event (jets are pT-ordered)
    cumulative = np.concatenate([[0], np.cumsum(good)])
    rank = cumulative[1:] - 1 - cumulative[starts][owner]
    use = good & (rank < 4)
    dphi = _wrap_dphi(phi - met_phi[owner])
    dphi_min = np.full(n, np.inf)
    np.minimum.at(dphi_min, owner[use], dphi[use])
    out["dphi_min_jets_met"] = np.where(np.isinf(dphi_min), np.nan, dphi_min)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["met_over_sqrt_ht"] = np.where(counts > 0, met / np.sqrt(ht), np.nan)

    # leptons: electrons and muons merged, pT-ordered
    def tagged(collection: Any, flavour: int, mass: float) -> Any:
        return ak.zip({
            "pt": ak.values_astype(collection.pt, np.float64), "eta": ak.values_astype(collection.eta, np.float64),
            "phi": ak.values_astype(collection.phi, np.float64), "charge": ak.values_astype(collection.charge, np.float64),
            "flavour": ak.full_like(ak.values_astype(collection.pt, np.float64), flavour),
            "mass": ak.full_like(ak.values_astype(collection.pt, np.float64), mass),
        })

    leptons = ak.concatenate([tagged(events.electrons, 11, _M_ELECTRON), tagged(events.muons, 13, _M_MUON)], axis=1)
    leptons = leptons[ak.argsort(leptons.pt, axis=1, ascending=False, stable=True)]
    l_pt, l_starts, l_counts = _flat(leptons.pt)
    column = {name: ak.to_numpy(ak.flatten(leptons[name])).astype(np.float64) for name in ("eta", "phi", "charge", "flavour", "mass")}
    out["n_electrons"] = ak.to_numpy(ak.num(events.electrons)).astype(np.float64)
    out["n_muons"] = ak.to_numpy(ak.num(events.muons)).astype(np.float64)
    out["n_leptons"] = l_counts.astype(np.float64)
    lead = {name: _nth(values, l_starts, l_counts, 0) for name, values in {"pt": l_pt, **column}.items()}
    sub = {name: _nth(values, l_starts, l_counts, 1) for name, values in {"pt": l_pt, **column}.items()}
    for prefix, lepton in (("leading", lead), ("subleading", sub)):
        out[f"{prefix}_lepton_pt"] = lepton["pt"]
        out[f"{prefix}_lepton_eta"] = lepton["eta"]
        out[f"{prefix}_lepton_charge"] = lepton["charge"]
        out[f"{prefix}_lepton_flavour"] = lepton["flavour"]
    two = l_counts >= 2
    sfos = (lead["flavour"] == sub["flavour"]) & (lead["charge"] * sub["charge"] < 0)
    out["ll_sfos"] = np.where(two, sfos.astype(np.float64), np.nan)

    def four_momentum(lepton: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
        px = lepton["pt"] * np.cos(lepton["phi"])
        py = lepton["pt"] * np.sin(lepton["phi"])
        pz = lepton["pt"] * np.sinh(lepton["eta"])
        e = np.sqrt(px**2 + py**2 + pz**2 + lepton["mass"] ** 2)
        return px, py, pz, e

    px1, py1, pz1, e1 = four_momentum(lead)
    px2, py2, pz2, e2 = four_momentum(sub)
    px, py, pz, e = px1 + px2, py1 + py2, pz1 + pz2, e1 + e2
    mll = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
    ptll = np.hypot(px, py)
    out["mll"] = mll
    out["ptll"] = ptll
    out["drll"] = np.hypot(lead["eta"] - sub["eta"], _wrap_dphi(lead["phi"] - sub["phi"]))
    out["dphi_ll_met"] = _wrap_dphi(np.arctan2(py, px) - met_phi)
    sum_x, sum_y = px + met_x, py + met_y
    et_ll = np.sqrt(mll**2 + ptll**2)
    out["mt_ll_met"] = np.sqrt(np.maximum((et_ll + met) ** 2 - sum_x**2 - sum_y**2, 0.0))
    et_zz = np.sqrt(MZ_GEV**2 + ptll**2) + np.sqrt(MZ_GEV**2 + met**2)
    out["mt_zz"] = np.sqrt(np.maximum(et_zz**2 - sum_x**2 - sum_y**2, 0.0))
    mt2_values = np.full(n, np.nan)
    if two.any():
        m1 = np.sqrt(np.maximum(e1**2 - px1**2 - py1**2 - pz1**2, 0.0))
        m2 = np.sqrt(np.maximum(e2**2 - px2**2 - py2**2 - pz2**2, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN only on numerical failure
            mt2_values[two] = mt2(m1[two], px1[two], py1[two], m2[two], px2[two], py2[two],
                                  met_x[two], met_y[two], 0.0, 0.0)
        # no MET: both invisibles at rest in the transverse plane, m_T2 = max(m1, m2) exactly
        # (the bisection does not converge on this degenerate case)
        no_met = two & (met == 0)
        mt2_values[no_met] = np.maximum(m1, m2)[no_met]
    out["mt2_ll"] = mt2_values
    for name in ("mll", "ptll", "dphi_ll_met", "mt_ll_met", "mt_zz"):
        out[name] = np.where(two, out[name], np.nan)

    photons_pt, p_starts, p_counts = _flat(events.photons.pt)
    out["n_photons"] = p_counts.astype(np.float64)
    out["leading_photon_pt"] = _nth(photons_pt, p_starts, p_counts, 0)
    visible = ht + np.bincount(np.repeat(np.arange(n), l_counts), weights=l_pt, minlength=n) \
        + np.bincount(np.repeat(np.arange(n), p_counts), weights=photons_pt, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["met_significance"] = np.where(visible > 0, met / np.sqrt(visible), np.nan)

    missing = set(FEATURES) - set(out)
    if missing:  # pragma: no cover - guards the vocabulary against drift
        raise RuntimeError(f"features not computed: {sorted(missing)}")
    return {name: out[name] for name in FEATURES}


# ----------------------------------------------------------------------------------------------
# Feature tables: event tables → features + the study selection's verdict, on disk


def feature_columns(events: Any, cuts: Any = ()) -> dict[str, Any]:
    """:func:`compute_features` plus ``passed`` (bool: every cut of ``cuts`` passed)."""
    from darkscan.analysis.selection import apply

    columns = compute_features(events)
    columns["passed"] = apply(columns, list(cuts))
    return columns


def combine_metadata(parts: Sequence[Any]) -> Any:
    """Metadata of several shards of one sample point as one.

    σ = Σ σ_i·n_trials_i / Σ n_trials_i (each shard's Pythia estimate, weighted by its trials;
    by accepted events when trials are unknown); errors combine the same way in quadrature.
    """
    import dataclasses as _dc

    if not parts:
        raise ValueError("no metadata to combine")
    use_trials = all(p.n_trials > 0 for p in parts)
    weights = [float(p.n_trials if use_trials else max(p.n_accepted, 1)) for p in parts]
    total = sum(weights)
    sigma = sum(p.cross_section_pb * w for p, w in zip(parts, weights)) / total
    error = sum((p.cross_section_error_pb * w) ** 2 for p, w in zip(parts, weights)) ** 0.5 / total
    first = parts[0]
    return _dc.replace(
        first,
        cross_section_pb=sigma,
        cross_section_error_pb=error,
        sum_weights=sum(p.sum_weights for p in parts),
        n_trials=sum(p.n_trials for p in parts),
        n_accepted=sum(p.n_accepted for p in parts),
        extra={**first.extra, "shards": len(parts)},
    )


def _fingerprint(inputs: Sequence[Path], settings: Any) -> str:
    """Content of the inputs (name and sha256) + settings + feature list.

    Never file times or locations: the fingerprint is stored in the feature table, so a
    modification time here would make two runs of the same study write different bytes.
    """
    import hashlib
    import json

    from darkscan.io import sha256_file

    digest = hashlib.sha256()
    for path in inputs:
        digest.update(f"{path.name}\0{sha256_file(path)}\n".encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    digest.update(",".join(FEATURES).encode())
    return digest.hexdigest()


def _selection_settings(cuts: Sequence[Any], luminosity_fb: float) -> dict[str, Any]:
    return {"cuts": [[c.feature, c.min, c.max, c.abs] for c in cuts], "luminosity_fb": luminosity_fb}


def write_features(output: Path, events_chunks: Iterable[tuple[Any, Any]], *, cuts: Sequence[Any],
                   luminosity_fb: float, fingerprint: str = "") -> Any:
    """Compute features of (events, metadata) chunks of one sample and write one feature table."""
    import dataclasses as _dc

    import numpy as np

    from darkscan.readers.events import write_feature_table
    from darkscan.analysis.selection import cutflow

    columns: dict[str, list[Any]] = {}
    metadata = []
    for events, meta in events_chunks:
        for name, values in feature_columns(events, cuts).items():
            columns.setdefault(name, []).append(values)
        metadata.append(meta)
    merged = {name: np.concatenate(values) for name, values in columns.items()}
    combined = combine_metadata(metadata)
    rows = cutflow(merged, cuts, cross_section_pb=combined.cross_section_pb, luminosity_fb=luminosity_fb,
                   sum_weights=combined.sum_weights)
    extra = {
        **combined.extra,
        "cutflow": [_dc.asdict(r) for r in rows],
        "selection": _selection_settings(cuts, luminosity_fb),
        "inputs_fingerprint": fingerprint,
    }
    combined = _dc.replace(combined, extra=extra)
    write_feature_table(output, merged, combined)
    return combined


#: what a sample point's ``events/`` folder may hold: the embedded generator's shards, or the output of
#: an external chain (MG5 LHE, HepMC3, Delphes ROOT) put there by hand or by ``gen shower -o``
POINT_EVENT_FILES = ("shard-*.parquet", "*.lhe", "*.lhe.gz", "*.hepmc", "*.hepmc.gz", "*.hepmc3", "*.hepmc3.gz",
                     "*.root")


def point_inputs(directory: Path) -> list[Path]:
    """The event files of a sample point (``events/``), in name order."""
    events = directory / "events"
    return sorted({path for pattern in POINT_EVENT_FILES for path in events.glob(pattern)})


def point_features_state(directory: Path, *, cuts: Sequence[Any], luminosity_fb: float) -> tuple[str, str]:
    """(``"up to date"``, ``"stale"``, ``"missing"`` or ``"no events"``, the inputs' fingerprint now) of a
    point's ``features.parquet``: up to date when its stored fingerprint (event files' names and content
    hashes, selection, feature list) is the one of the files on disk now."""
    from darkscan.readers.events import read_event_table_metadata

    inputs = point_inputs(directory)
    if not inputs:
        return "no events", ""
    output = directory / "features.parquet"
    fingerprint = _fingerprint(inputs, _selection_settings(cuts, luminosity_fb))
    if not output.exists():
        return "missing", fingerprint
    try:
        stored = read_event_table_metadata(output).extra.get("inputs_fingerprint")
    except Exception:  # an unreadable old file is rebuilt, not trusted
        stored = None
    return ("up to date" if stored == fingerprint else "stale"), fingerprint


def build_point_features(directory: Path, *, cuts: Sequence[Any], luminosity_fb: float,
                         force: bool = False, invisible_pdgids: Sequence[int] = ()) -> str:
    """``features.parquet`` of one sample point; returns ``"written"``, ``"up to date"`` or
    ``"no events"``. Skips the point when the stored input fingerprint (shard names and
    content hashes, selection, feature list) matches."""
    from darkscan.readers.sources import load_event_table

    state, fingerprint = point_features_state(directory, cuts=cuts, luminosity_fb=luminosity_fb)
    if state == "no events" or (state == "up to date" and not force):
        return state
    output = directory / "features.parquet"
    tables = (load_event_table(path, invisible_pdgids=invisible_pdgids) for path in point_inputs(directory))
    write_features(output, tables, cuts=cuts, luminosity_fb=luminosity_fb, fingerprint=fingerprint)
    return "written"


class _NoProgress:
    def start(self, total: int) -> None: ...
    def advance(self, label: str, status: str) -> None: ...


def build_study_features(study: Any, *, force: bool = False, progress: Any = None) -> dict[str, str]:
    """Feature tables of every sample point of ``study``; ``{point directory: status}``.

    ``progress`` has ``start(total)`` and ``advance(label, status)``; the default does nothing.
    """
    from darkscan.analysis.selection import study_cuts
    from darkscan.registry import PROCESSES

    progress = progress or _NoProgress()
    cuts = study_cuts(study.selection.preset, study.selection.cuts)
    plan = study.plan()
    progress.start(len(plan))
    results: dict[str, str] = {}
    for point in plan:
        status = build_point_features(point.directory, cuts=cuts, luminosity_fb=study.luminosity_fb, force=force,
                                      invisible_pdgids=PROCESSES[point.process].invisible_pdgids)
        results[str(point.directory)] = status
        progress.advance(f"{point.sample}/{point.point_id}", status)
    return results


def build_file_features(path: Path, output: Path | None = None, *, cuts: Sequence[Any] = (),
                        luminosity_fb: float = 139.0, invisible_pdgids: Iterable[int] = (),
                        cross_section_pb: float | None = None) -> tuple[Path, Any]:
    """Feature table of a single event file (event table, LHE, HepMC3, Delphes ROOT)."""
    from darkscan.readers.sources import load_event_table

    path = Path(path)
    events, metadata = load_event_table(path, invisible_pdgids=invisible_pdgids, cross_section_pb=cross_section_pb)
    if output is None:
        name = path.name
        for ending in (".gz", ".parquet", ".lhe", ".hepmc3", ".hepmc", ".root"):
            name = name.removesuffix(ending)
        output = path.with_name(f"{name}.features.parquet")
    combined = write_features(Path(output), [(events, metadata)], cuts=cuts, luminosity_fb=luminosity_fb)
    return Path(output), combined


def __dir__() -> list[str]:
    return list(__all__)
