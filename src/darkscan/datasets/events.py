"""Event-level datasets: the selected events of a study's feature tables, split and weighted, for ``event_dnn``.

The histogram datasets (:mod:`darkscan.datasets.build`) classify many events at once; the event-level
baseline (the Oslo and Sussex analyses) classifies one event at a time from a few features. For a
training task with ``network: event_dnn`` :func:`build_event_task` writes
``study.output_dir/datasets/<task>.h5`` holding, for every background sample point and every scan
point of the task's signal, the events that pass the study selection (``passed``) and have every
chosen feature finite:

- ``x`` (n, n_features) float64, the features in the task's order (units in
  :data:`darkscan.analysis.features.FEATURES`);
- ``sample`` (n,) int16, the row's sample point (index into the ``samples`` attribute);
- ``part`` (n,) int8: 0 train, 1 validation, 2 test. The split is stratified per sample point
  (each point's events are split in the task's ``split`` fractions) and seeded by ``datasets.seed``
  and the point, so a background event is in the same part for every signal model;
- ``weight`` (n,) float64, the generator weight;
- ``weight_physical`` (n,) float64, the expected number of such events at the study luminosity:
  ``σ·L·w/ΣW`` with σ in pb, L in fb⁻¹ (× 1000 pb/fb) and ΣW the weight sum of *all* generated
  events of the point, so that a point's physical weights sum to σ·L·(selected fraction).

The ``samples`` attribute (JSON) lists per point its key, role, σ, ΣW, the sha256 of its feature
table, the stored events and the selected fraction. The file's ``fingerprint`` hashes the settings
that shape it and the content of every feature table it reads (never times or paths); a file with
the current fingerprint is not rebuilt, and the same inputs and seed give byte-identical files.

:func:`training_weights` turns the physical weights of a part into the training weights of a
weight scheme (``none``, ``physical``, ``balanced``) and class weighting.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from darkscan.datasets.build import NullProgress, Progress, _dataset, _file_fingerprint, _h5_open, read_point
from darkscan.errors import InputFileError
from darkscan.io import atomic_path

if TYPE_CHECKING:
    from darkscan.study import SamplePoint, Study, TrainingTask

__all__ = [
    "EVENT_DATASET_FIELDS",
    "EVENTS_FORMAT",
    "EVENTS_FORMAT_VERSION",
    "PARTS",
    "build_event_task",
    "event_dataset_settings",
    "split_parts",
    "training_weights",
]

EVENTS_FORMAT = "darkscan-events"
EVENTS_FORMAT_VERSION = 1
#: the fields of an event_dnn task that decide its dataset (the rest configure the network and its weights)
EVENT_DATASET_FIELDS = ("name", "labels", "signals", "features", "split")
#: ``part`` codes
PARTS = {"train": 0, "val": 1, "test": 2}
#: pb → fb: σ[pb] · L[fb⁻¹] · 1000 = expected events
_FB_PER_PB = 1000.0


def __dir__() -> list[str]:
    return list(__all__)


def event_dataset_settings(study: Study, task: TrainingTask) -> dict[str, Any]:
    """Everything besides the feature tables' content that shapes a task's event dataset."""
    return {"format_version": EVENTS_FORMAT_VERSION,
            "task": task.model_dump(mode="json", include=set(EVENT_DATASET_FIELDS)),
            "seed": study.datasets.seed, "luminosity_fb": study.luminosity_fb}


def split_parts(n: int, split: tuple[float, float, float], seed: int, key: str) -> np.ndarray:
    """The part (0 train, 1 validation, 2 test) of each of ``n`` events of one sample point, seeded by ``key``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(key.encode()),)))
    order = rng.permutation(n)
    n_train = int(round(split[0] * n))
    n_val = int(round(split[1] * n))
    parts = np.full(n, PARTS["test"], dtype=np.int8)
    parts[order[:n_train]] = PARTS["train"]
    parts[order[n_train:n_train + n_val]] = PARTS["val"]
    return parts


def training_weights(scheme: str, class_weight: str, y: np.ndarray, physical: np.ndarray) -> np.ndarray:
    """Training weights of one part's events (labels ``y``: 0 background, 1 signal).

    - ``none``: 1 per event;
    - ``physical``: the physical weights σ·L·w/ΣW, divided by their mean so that the loss keeps the
      scale of unweighted training (a common factor changes nothing else);
    - ``balanced``: the physical weights, each class scaled to sum to the number of signal events
      of the part (Σ background = Σ signal = N_sig; within a class the samples keep their physical
      proportions).

    ``class_weight: balanced`` then multiplies each class so that both carry half the total weight
    (scikit-learn's ``n/(n_classes·n_c)``, with weight sums in place of counts).
    """
    y = np.asarray(y)
    physical = np.asarray(physical, dtype=np.float64)
    if scheme == "none":
        weights = np.ones(len(y))
    elif scheme == "physical":
        weights = physical / physical.mean()
    elif scheme == "balanced":
        n_signal = float(np.sum(y == 1))
        weights = physical.copy()
        for label in (0, 1):
            rows = y == label
            total = weights[rows].sum()
            if total > 0:
                weights[rows] *= n_signal / total
    else:
        raise ValueError(f"unknown weight scheme {scheme!r}; allowed: none, physical, balanced")
    if class_weight == "balanced":
        total = weights.sum()
        for label in (0, 1):
            rows = y == label
            if weights[rows].sum() > 0:
                weights[rows] *= total / (2 * weights[rows].sum())
    elif class_weight != "none":
        raise ValueError(f"unknown class_weight {class_weight!r}; allowed: none, balanced")
    return weights


def _points(study: Study, task: TrainingTask) -> list[SamplePoint]:
    """Every background point, then the task's signal points, in study order."""
    plan = study.plan()
    return [p for p in plan if p.role == "background"] + [p for s in task.signals for p in plan if p.sample == s]


def _fingerprint(study: Study, task: TrainingTask, hashes: list[tuple[str, str]]) -> str:
    data = {**event_dataset_settings(study, task), "samples": hashes}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def build_event_task(study: Study, task: TrainingTask, *, progress: Progress | None = None) -> Path:
    """Build (or skip when up to date) the event-level dataset of one ``event_dnn`` task; return its path.

    Raises:
        InputFileError: a feature table is missing, unreadable or lacks a feature; a sample point
            keeps no event with every feature defined.
    """
    from darkscan.io import sha256_file

    progress = progress if progress is not None else NullProgress()
    points = _points(study, task)
    tables = [p.directory / "features.parquet" for p in points]
    for point, table in zip(points, tables):
        if not table.exists():
            raise InputFileError(f"{table}: no feature table for sample {point.sample!r} point {point.point_id!r}; "
                                 "generate it first (darkscan gen run, then darkscan histos features)")
    keys = [f"{p.sample}.{p.point_id}" for p in points]
    hashes = [(key, sha256_file(table)) for key, table in zip(keys, tables)]
    fingerprint = _fingerprint(study, task, hashes)
    path = study.output_dir / "datasets" / f"{task.name}.h5"
    if path.exists() and _file_fingerprint(path) == fingerprint:
        return path
    progress_id = progress.add_task(f"{task.name}: events", total=len(points))
    columns: dict[str, list[np.ndarray]] = {"x": [], "sample": [], "part": [], "weight": [], "weight_physical": []}
    samples = []
    for index, (point, key) in enumerate(zip(points, keys)):
        selected, weights, total, metadata, table = read_point(point, task.features)
        x = np.column_stack([np.asarray(selected[f], dtype=np.float64) for f in task.features]) if len(weights) else \
            np.zeros((0, len(task.features)))
        defined = np.all(np.isfinite(x), axis=1)
        x, weights = x[defined], weights[defined]
        if len(x) == 0:
            raise InputFileError(f"{table}: no event passes the selection with every feature of task {task.name!r} "
                                 f"defined ({', '.join(task.features)})")
        sigma = float(metadata.cross_section_pb)
        physical = sigma * study.luminosity_fb * _FB_PER_PB * weights / total
        columns["x"].append(x)
        columns["sample"].append(np.full(len(x), index, dtype=np.int16))
        columns["part"].append(split_parts(len(x), task.split, study.datasets.seed, key))
        columns["weight"].append(weights)
        columns["weight_physical"].append(physical)
        samples.append({"key": key, "sample": point.sample, "point": point.point_id, "role": point.role,
                        "cross_section_pb": sigma, "sum_weights": total, "events": int(len(x)),
                        "selected_fraction": float(weights.sum() / total), "physical_events": float(physical.sum()),
                        "sha256": hashes[index][1]})
        progress.advance(progress_id, 1)
    attrs: dict[str, Any] = {
        "format": EVENTS_FORMAT, "format_version": EVENTS_FORMAT_VERSION, "study": study.name, "task": task.name,
        "labels": task.labels, "features": json.dumps(task.features), "seed": study.datasets.seed,
        "split": np.asarray(task.split, dtype=np.float64), "luminosity_fb": float(study.luminosity_fb),
        "samples": json.dumps(samples, sort_keys=True),
        "models": json.dumps([s["key"] for s in samples if s["role"] == "signal"]),
        "fingerprint": fingerprint,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, _h5_open(tmp) as h5:
        for key, value in attrs.items():
            h5.attrs[key] = value
        for name, parts in columns.items():
            _dataset(h5, name, np.concatenate(parts))
    return path
