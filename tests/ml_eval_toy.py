"""A toy study for the evaluation tests: feature tables with known spectra → real histogram datasets.

The datasets are built by darkscan's own ``darkscan.datasets.build`` from feature tables whose
spectra are known: MET falling exponentially (harder for heavier mediators), the leading jet
recoiling against it, jet η Gaussian (more central for the signals).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from darkscan.readers.events import EventTableMetadata, write_feature_table
from darkscan.study import Study, parse_study

# sample: (σ pb, MET slope GeV, η width); spin1's slope scales with (m_med/1000)^0.3
SPECTRA = {
    "znunu": (200.0, 130.0, 1.5),
    "wlnu": (300.0, 110.0, 1.6),
    "spin1": (0.5, 190.0, 1.3),
    "spin0": (0.3, 170.0, 1.4),
}


#: training settings that converge in seconds on these small datasets
FAST = {"epochs": 25, "patience": 5, "learning_rate": 3e-3, "batch_size": 64}


def study_data(**datasets: Any) -> dict[str, Any]:
    """Two backgrounds, spin1 at three mediator masses and spin0; a coarse image and stacked 1D channels."""
    data: dict[str, Any] = {
        "name": "evaltoy",
        "samples": [
            {"name": "znunu", "process": "sm_znunu_jet"},
            {"name": "wlnu", "process": "sm_wlnu_jet"},
            {"name": "spin1", "process": "spin1_monojet", "scan": {"m_med": [500, 1000, 2000]}},
            {"name": "spin0", "process": "spin0_monojet"},
        ],
        "histograms": [
            {"name": "image", "kind": "2d", "axes": [
                {"feature": "leading_jet_pt", "bins": 8, "range": [200, 1200], "log": True},
                {"feature": "leading_jet_eta", "bins": 6, "range": [-2.4, 2.4]}]},
            {"name": "channels", "kind": "1d", "axes": [
                {"feature": "met", "bins": 10, "range": [200, 900]},
                {"feature": "leading_jet_eta", "bins": 10, "range": [-2.4, 2.4]}]},
        ],
        "datasets": {"s_over_sqrt_b": [1, 2], "background_events": 400, "n_histograms": 400, "seed": 3,
                     "histograms_per_point": 200, "pure_events": 60, **datasets},
        "training": [
            {"name": "spin1_vs_sm", "labels": "binary", "signals": ["spin1"], "histogram": "image", "network": "dnn"},
            {"name": "any_vs_sm", "labels": "multimodel", "signals": ["spin1", "spin0"], "histogram": "image",
             "network": "dnn"},
            {"name": "which", "labels": "multiclass", "signals": ["spin1", "spin0"], "histogram": "image",
             "network": "dnn"},
            {"name": "pure", "labels": "pure", "signals": ["spin1"], "histogram": "image", "network": "dnn"},
            {"name": "mass", "labels": "regression", "signals": ["spin1"], "histogram": "channels",
             "target": "m_med", "network": "dnn"},
        ],
    }
    for task in data["training"]:
        task.update(FAST)
    return data


def write_pools(study: Study, n_events: int = 20_000) -> None:
    """One feature table per sample point, with the spectra above (seeded)."""
    rng = np.random.default_rng(2024)
    for point in study.plan():
        sigma, slope, eta_width = SPECTRA[point.sample]
        if point.sample == "spin1":
            slope *= (float(point.parameters["m_med"]) / 1000.0) ** 0.3
        met = 150.0 + rng.exponential(slope, n_events)
        jet_pt = met * rng.normal(1.0, 0.1, n_events)
        eta = rng.normal(0.0, eta_width, n_events)
        columns = {"met": met.astype(np.float32), "leading_jet_pt": jet_pt.astype(np.float32),
                   "leading_jet_eta": eta.astype(np.float32), "weight": np.ones(n_events), "passed": met > 200.0}
        metadata = EventTableMetadata(sample=point.sample, source="embedded", level="detector",
                                      cross_section_pb=sigma, sum_weights=float(n_events), n_accepted=n_events,
                                      parameters=dict(point.parameters))
        write_feature_table(point.directory / "features.parquet", columns, metadata)


def make_study(root: Path, *, tasks: list[str] | None = None, **datasets: Any) -> Study:
    """The toy study under ``root`` with its feature tables written (datasets not yet built)."""
    data = study_data(**datasets)
    if tasks is not None:
        data["training"] = [t for t in data["training"] if t["name"] in tasks]
    study = parse_study(data, source=root / "evaltoy.yaml")
    write_pools(study)
    return study
