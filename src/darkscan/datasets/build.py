"""Histogram datasets at fixed S/√B, built from a study's feature tables (Arganda–Medina–Perez–Szynkman).

Instead of single events, a network classifies histograms of many events: SM-only histograms with
B background events against SM+NP histograms with B background + S signal events, at a fixed
``S/√B`` (S = (S/√B)·√B). :func:`build_datasets` writes one HDF5 file per training task of the study
at ``study.output_dir/datasets/<task>.h5`` (+ ``<task>.png``, mean histograms per class).

Inputs. Every sample point's ``features.parquet``; only events with ``passed == True`` (the study
selection) when that column exists, weighted by ``weight``. The background shape is the mix of all
background sample points weighted by their selected rate ``σ_i·ε_i`` (ε_i = selection efficiency
× the fraction with all histogram features defined), so that the SM histograms hold each background
in its physical proportion. Signal "models" are the sample points of the task's signals (every
scan point of a scanned sample is one model).

Counts never leak the label: each histogram's cell counts are ``Poisson(B·q_i)`` (SM) or
``Poisson(B·q_i + S·p_i)`` (SM+NP), so the totals are ``Poisson(B)`` and ``Poisson(B+S)``: the totals
overlap exactly as much as real data would, and counting alone reaches ``AUC = Φ((S/√B)/√2)``,
no better. With ``datasets.counts: normalise`` each histogram (each channel of a 1D stack) is also
divided by its total, removing the count information altogether. Sampling is exact in bin space
(see :mod:`darkscan.datasets.histograms`).

Label sets (``training[].labels``):

- ``binary``: per signal model, SM (y=0) vs SM+model (y=1); one group per (S/√B, model).
- ``multimodel``: SM (y=0) vs SM + a model drawn uniformly per histogram (y=1; ``model`` says which).
- ``multiclass``: SM-only (y=0) and SM + model k (y=k, k = 1..K).
- ``pure``: histograms of ``datasets.pure_events`` (Poisson mean) events of one process only:
  y=0 the background mix, y=k signal model k (Khosa–Sanz–Soughton). No S/√B.
- ``regression``: ``datasets.histograms_per_point`` SM+NP histograms per scan point of the signals,
  ``target`` = the scanned parameter ``task.target`` of that point.

Every class has ``datasets.n_histograms`` histograms per S/√B, in a seeded random order.

File layout (``h5py``; every array row-aligned within its group)::

    /                     attrs: format, format_version, study, task, labels, histogram, kind, shape,
                                 counts, background_events, n_histograms, seed, s_over_sqrt_b,
                                 models (JSON), samples (JSON: ids, sha256 of features.parquet,
                                 σ, efficiencies, pool sizes), groups (JSON), overflow, fingerprint
    /axes/<i>             bin edges of axis i; attrs feature, unit, bins, range, log
    /shapes/background    normalised background shape (histogram shape; 1D: per-channel marginals)
    /shapes/models        (n_models, *shape) normalised signal shapes
    /ceiling/auc          (n_models, n_s_over_sqrt_b) optimal AUC, large-B formula (ceiling.py)
    /ceiling/auc_llr      same from the exact LLR moments (the ceiling at this B; with ``counts: normalise``
                          both without the total's information); also sum_p2_over_q,
                          empty_background_fraction (n_models,), and for stacked 1D channels
                          best_channel_auc (a lower bound; ``auc`` is then an upper bound)
    /sb_<v>[/<model>]     x (n, *shape) float32 counts; y (n,) int16; model (n,) int16 (−1: SM only);
                          total (n,) float64 events in the histogram; target (n,) for regression;
                          attrs s_over_sqrt_b, background_events, signal_events, seed
    /pure                 the pure images (labels ``pure``)

Same inputs and seed → byte-identical files (no timestamps, fixed HDF5 format, a random stream per
piece and chunk derived from ``datasets.seed``). Each (task, S/√B[, model]) piece is first written
atomically to ``datasets/.pieces/<task>/``; an interrupted build resumes by skipping the pieces
whose fingerprint (inputs + settings) matches, then assembles the task file and removes its pieces.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import shutil
import warnings
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from darkscan.datasets.ceiling import channel_ceilings, optimal_auc
from darkscan.datasets.histograms import (
    BinnedPool,
    Binning,
    CellSpace,
    bin_pool,
    binning_from_histogram,
    cell_space,
    check_pool_size,
    sample_mixture,
)
from darkscan.analysis.luminosity import SampleRate
from darkscan.errors import InputFileError, StudyError
from darkscan.io import atomic_path, sha256_file

if TYPE_CHECKING:
    import h5py

    from darkscan.study import SamplePoint, Study, TrainingTask

__all__ = [
    "DATASET_TASK_FIELDS",
    "FORMAT_VERSION",
    "NullProgress",
    "PointPool",
    "Progress",
    "TaskInputs",
    "UnsampledBackgroundWarning",
    "build_datasets",
    "build_task",
    "dataset_state",
    "load_task_inputs",
    "read_point",
    "sample_rates",
]

FORMAT_VERSION = 1

#: the fields of a training task that decide its dataset (the rest configure the network)
DATASET_TASK_FIELDS = ("name", "labels", "signals", "histogram", "target")

#: cap on one chunk's expectation matrix (rows × cells float64 values): bounds memory
_CHUNK_VALUES = 1 << 21
_MAX_CHUNK_ROWS = 1024


class UnsampledBackgroundWarning(UserWarning):
    """Signal falls in histogram cells that the background pool never populates (a too-small pool)."""


def __dir__() -> list[str]:
    return list(__all__)


class Progress(Protocol):
    """What :func:`build_datasets` reports progress to; a ``rich.progress.Progress`` fits."""

    def add_task(self, description: str, *, total: float | None = ...) -> Any: ...

    def advance(self, task_id: Any, advance: float = ...) -> None: ...


class NullProgress:
    """A progress sink that ignores everything (the default)."""

    def add_task(self, description: str, *, total: float | None = None) -> int:
        return 0

    def advance(self, task_id: Any, advance: float = 1) -> None:
        return None


# ----------------------------------------------------------------------------------------------
# Reading the pools


def read_point(point: SamplePoint, features: Sequence[str]) -> tuple[dict[str, np.ndarray], np.ndarray, float, Any, Path]:
    """Selected events of a sample point: ``({feature: values}, weights, total weight, metadata, path)``.

    The total weight is the metadata's ``sum_weights`` (all generated events), or, when that is
    unknown (0), the weight sum of every row of the table, selected or not.

    Raises:
        InputFileError: the feature table is missing or lacks a feature.
    """
    from darkscan.readers.events import read_feature_table

    path = point.directory / "features.parquet"
    if not path.exists():
        raise InputFileError(f"{path}: no feature table for sample {point.sample!r} point {point.point_id!r}; "
                             "generate it first (darkscan gen run, then darkscan histos features)")
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for non-Parquet input
        raise InputFileError(f"{path}: not a Parquet feature table ({exc})") from None
    missing = [f for f in features if f not in names]
    if missing:
        raise InputFileError(f"{path}: feature table lacks columns {missing}; it has {sorted(names)}")
    wanted = list(dict.fromkeys([*features, *(c for c in ("weight", "passed") if c in names)]))
    columns, metadata = read_feature_table(path, columns=wanted)
    n = len(next(iter(columns.values()))) if columns else 0
    weights = np.asarray(columns["weight"], dtype=np.float64) if "weight" in columns else np.ones(n)
    passed = np.asarray(columns["passed"], dtype=bool) if "passed" in columns else np.ones(n, dtype=bool)
    selected = {f: np.asarray(columns[f])[passed] for f in features}
    total = _sum_weights(metadata, float(weights.sum()))
    return selected, weights[passed], total, metadata, path


def _sum_weights(metadata: Any, weights_all: float) -> float:
    return float(metadata.sum_weights) if metadata.sum_weights > 0 else weights_all


def sample_rates(study: Study) -> list[SampleRate]:
    """Cross section and selection efficiency of every sample point (for the luminosity view)."""
    rates = []
    for point in study.plan():
        _, weights, total, metadata, _ = read_point(point, [])
        efficiency = float(weights.sum() / total) if total > 0 else 0.0
        rates.append(SampleRate(point.sample, point.point_id, point.role, float(metadata.cross_section_pb),
                                efficiency, len(weights)))
    return rates


@dataclasses.dataclass(frozen=True)
class PointPool:
    """One sample point's events binned for one representation.

    Attributes:
        point: the sample point.
        path: its feature table.
        sha256: content hash of the feature table.
        cross_section_pb: σ from the table metadata.
        selection_efficiency: weighted fraction of generated events passing the selection.
        histogram_efficiency: selection efficiency × fraction with every histogram feature defined.
        pool: the binned pool.
    """

    point: SamplePoint
    path: Path
    sha256: str
    cross_section_pb: float
    selection_efficiency: float
    histogram_efficiency: float
    pool: BinnedPool

    @property
    def key(self) -> str:
        return f"{self.point.sample}/{self.point.point_id}"

    @property
    def rate_fb(self) -> float:
        return self.cross_section_pb * self.histogram_efficiency * 1000.0


def _load_pool(point: SamplePoint, binning: Binning) -> PointPool:
    columns, weights, total, metadata, path = read_point(point, binning.features)
    pool = bin_pool(binning, columns, weights, label=str(path))
    selection = float(weights.sum() / total) if total > 0 else 0.0
    return PointPool(point, path, sha256_file(path), float(metadata.cross_section_pb), selection,
                     selection * pool.kept_weight_fraction, pool)


@dataclasses.dataclass(frozen=True)
class TaskInputs:
    """Everything a task's histograms are drawn from.

    Attributes:
        task: the training task.
        binning: its representation.
        space: the common cell space.
        backgrounds: background pools and their mix fractions (sum 1).
        models: signal pools (one per signal sample point), in study order.
        q: background cell distribution.
        p: ``(n_models, n_cells)`` signal cell distributions (sparse CSR).
    """

    task: TrainingTask
    binning: Binning
    space: CellSpace
    backgrounds: tuple[tuple[PointPool, float], ...]
    models: tuple[PointPool, ...]
    q: np.ndarray
    p: Any


def load_task_inputs(study: Study, task: TrainingTask, *,
                     cache: dict[tuple[str, str, str], PointPool] | None = None) -> TaskInputs:
    """Read and bin the pools of a task; mix the backgrounds by σ·ε."""
    import scipy.sparse

    cache = {} if cache is None else cache
    index, histogram = next((i, h) for i, h in enumerate(study.histograms) if h.name == task.histogram)
    try:
        binning = binning_from_histogram(histogram)
    except ValueError as exc:
        raise StudyError(f"{study.source}: histograms[{index}].axes: {exc}") from None

    def pool_of(point: SamplePoint) -> PointPool:
        key = (point.sample, point.point_id, histogram.name)
        if key not in cache:
            cache[key] = _load_pool(point, binning)
        return cache[key]

    plan = study.plan()
    backgrounds = [pool_of(p) for p in plan if p.role == "background"]
    models = [pool_of(p) for name in task.signals for p in plan if p.sample == name]
    if not backgrounds:
        raise StudyError(f"{study.source}: samples: histogram datasets need at least one background sample")
    for pool in (*backgrounds, *models):
        if pool.pool.total_weight <= 0:
            raise InputFileError(f"{pool.path}: no selected event has every feature of histogram "
                                 f"{binning.name!r} ({', '.join(binning.features)}) defined; cannot build a shape")
    if len(backgrounds) > 1:
        bad = [b for b in backgrounds if not b.cross_section_pb > 0]
        if bad:
            raise InputFileError(f"{bad[0].path}: cross_section_pb is {bad[0].cross_section_pb!r}; mixing "
                                 "several backgrounds needs each one's cross section")
        rates = np.array([b.rate_fb for b in backgrounds])
    else:
        rates = np.ones(1)
    fractions = rates / rates.sum()

    space = cell_space(binning, [pool.pool for pool in (*backgrounds, *models)])
    q = np.zeros(space.n_cells)
    for pool, fraction in zip(backgrounds, fractions):
        q += fraction * space.shape_of(pool.pool)
    p = scipy.sparse.vstack([scipy.sparse.csr_matrix(space.shape_of(m.pool)) for m in models], format="csr")
    return TaskInputs(task, binning, space, tuple(zip(backgrounds, fractions.tolist())), tuple(models), q, p)


# ----------------------------------------------------------------------------------------------
# Pieces: one per (task, S/√B[, model]); each is a list of rows (which class/model, which expectation)


@dataclasses.dataclass(frozen=True)
class _Piece:
    key: str
    group: str
    s_over_sqrt_b: float | None
    labels: np.ndarray | None
    models: np.ndarray  # −1: SM only
    target: np.ndarray | None
    signal_scale: float  # S (or the pure-image event count for models)
    background_scale: float  # B (or the pure-image count for the background rows)
    seed_key: tuple[int, ...]


def _value_key(value: float) -> str:
    return f"{value:g}"


def _model_name(pool: PointPool) -> str:
    return f"{pool.point.sample}.{pool.point.point_id}"


def _pieces(study: Study, inputs: TaskInputs) -> list[_Piece]:
    task, settings = inputs.task, study.datasets
    n, n_models = settings.n_histograms, len(inputs.models)
    background = float(settings.background_events)
    task_key = zlib.crc32(task.name.encode())

    def rng_for(*key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(settings.seed, spawn_key=(task_key, *key, 0)))

    pieces = []
    seed_key: tuple[int, ...]
    if task.labels == "pure":
        classes = n_models + 1
        seed_key = (zlib.crc32(b"pure"),)
        labels = rng_for(*seed_key).permutation(np.repeat(np.arange(classes, dtype=np.int16), n))
        pieces.append(_Piece("pure", "pure", None, labels, (labels - 1).astype(np.int16), None,
                             float(settings.pure_events), float(settings.pure_events), seed_key))
        return pieces
    for value in settings.s_over_sqrt_b:
        signal = value * math.sqrt(background)
        sb_key = zlib.crc32(_value_key(value).encode())
        group = f"sb_{_value_key(value)}"
        if task.labels == "binary":
            for m, model in enumerate(inputs.models):
                seed_key = (sb_key, zlib.crc32(_model_name(model).encode()))
                labels = rng_for(*seed_key).permutation(np.repeat(np.arange(2, dtype=np.int16), n))
                models = np.where(labels == 1, m, -1).astype(np.int16)
                name = _model_name(model)
                pieces.append(_Piece(f"sb_{_value_key(value)}-{name}", f"{group}/{name}", value, labels, models,
                                     None, signal, background, seed_key))
        elif task.labels == "multimodel":
            seed_key = (sb_key,)
            rng = rng_for(*seed_key)
            labels = rng.permutation(np.repeat(np.arange(2, dtype=np.int16), n))
            chosen = rng.integers(0, n_models, size=len(labels))
            models = np.where(labels == 1, chosen, -1).astype(np.int16)
            pieces.append(_Piece(group, group, value, labels, models, None, signal, background, seed_key))
        elif task.labels == "multiclass":
            seed_key = (sb_key,)
            labels = rng_for(*seed_key).permutation(np.repeat(np.arange(n_models + 1, dtype=np.int16), n))
            pieces.append(_Piece(group, group, value, labels, (labels - 1).astype(np.int16), None, signal,
                                 background, seed_key))
        elif task.labels == "regression":
            per_point = settings.histograms_per_point
            models = np.repeat(np.arange(n_models, dtype=np.int16), per_point)
            assert task.target is not None
            targets = np.array([float(m.point.parameters[task.target]) for m in inputs.models])
            pieces.append(_Piece(group, group, value, None, models, targets[models], signal, background, (sb_key,)))
        else:  # pragma: no cover - the study model admits no other labels
            raise ValueError(task.labels)
    return pieces


def _chunk_rows(n_cells: int) -> int:
    """Histograms per chunk: bounds the expectation matrix of the "cells" method (and the output)."""
    return max(1, min(_MAX_CHUNK_ROWS, _CHUNK_VALUES // max(n_cells, 1)))


def _generate(inputs: TaskInputs, piece: _Piece, *, seed: int, task_key: int, normalise: bool,
              pure: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(histograms float32, totals)`` chunk by chunk, each chunk with its own random stream."""
    import scipy.sparse

    # component 0: the background mix; 1 + m: signal model m
    shapes = scipy.sparse.vstack([scipy.sparse.csr_matrix(inputs.q), inputs.p], format="csr")
    if shapes.shape[0] * shapes.shape[1] <= _CHUNK_VALUES * 8:  # small enough: dense rows gather faster
        shapes = shapes.toarray()
    events = piece.signal_scale if pure else piece.background_scale + piece.signal_scale
    method = "events" if inputs.space.n_cells > events else "cells"
    rows = _chunk_rows(inputs.space.n_cells)
    tables: dict[int, Any] = {}
    for chunk, start in enumerate(range(0, len(piece.models), rows)):
        models = piece.models[start:start + rows].astype(np.int64)
        if pure:  # r events of one process: the background mix (model −1) or one signal model
            terms = [(np.where(models < 0, 0, models + 1), np.full(len(models), piece.signal_scale))]
        else:
            terms = [(np.zeros(len(models), dtype=np.int64), np.full(len(models), piece.background_scale)),
                     (np.where(models < 0, -1, models + 1), np.full(len(models), piece.signal_scale))]
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(task_key, *piece.seed_key, chunk + 1)))
        histograms, totals = sample_mixture(rng, inputs.space, shapes, terms, method=method, tables=tables)
        if normalise:
            # each 1D channel by its own total (all channels hold the same events); a 2D image by its total
            sums = histograms.sum(axis=2 if inputs.binning.kind == "1d" else (1, 2), keepdims=True)
            np.divide(histograms, sums, out=histograms, where=sums > 0)
        yield histograms, totals


# ----------------------------------------------------------------------------------------------
# Deterministic HDF5


def _h5_open(path: Path, mode: str = "w") -> h5py.File:
    import h5py

    return h5py.File(path, mode, libver=("earliest", "v110"))


def _group(parent: h5py.Group, name: str) -> h5py.Group:
    """A group without modification times (so that equal content gives equal bytes)."""
    import h5py

    current = parent
    for part in name.split("/"):
        if part in current:
            current = current[part]
            continue
        gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        gcpl.set_obj_track_times(False)
        current = h5py.Group(h5py.h5g.create(current.id, part.encode(), gcpl=gcpl))
    return current


def _dataset(group: h5py.Group, name: str, data: np.ndarray | None = None, *, shape: tuple[int, ...] | None = None,
             dtype: Any = None) -> h5py.Dataset:
    kwargs: dict[str, Any] = {"track_times": False}
    shape = tuple(shape if shape is not None else np.asarray(data).shape)
    if len(shape) >= 1 and int(np.prod(shape)) > 4096:
        kwargs.update(chunks=(min(shape[0], 256), *shape[1:]), compression="gzip", compression_opts=1, shuffle=True)
    if data is not None:
        return group.create_dataset(name, data=data, **kwargs)
    return group.create_dataset(name, shape=shape, dtype=dtype, **kwargs)


def _fingerprint(study: Study, inputs: TaskInputs) -> str:
    histogram = next(h for h in study.histograms if h.name == inputs.task.histogram)
    data = {
        "format_version": FORMAT_VERSION,
        # only what shapes the histograms: training settings (network, epochs, …) must not force a rebuild
        "task": inputs.task.model_dump(mode="json", include=set(DATASET_TASK_FIELDS)),
        "histogram": histogram.model_dump(mode="json"),
        "datasets": study.datasets.model_dump(mode="json"),
        "samples": [(pool.key, pool.sha256) for pool, _ in inputs.backgrounds] + [(m.key, m.sha256) for m in inputs.models],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _write_piece(path: Path, study: Study, inputs: TaskInputs, piece: _Piece, fingerprint: str,
                 progress: Progress, progress_id: Any) -> None:
    settings = study.datasets
    n = len(piece.models)
    with atomic_path(path) as tmp:
        with _h5_open(tmp) as h5:
            h5.attrs["fingerprint"] = fingerprint
            x = _dataset(h5, "x", shape=(n, *inputs.binning.shape), dtype=np.float32)
            totals = np.empty(n)
            start = 0
            for histograms, chunk_totals in _generate(
                    inputs, piece, seed=settings.seed, task_key=zlib.crc32(inputs.task.name.encode()),
                    normalise=settings.counts == "normalise", pure=inputs.task.labels == "pure"):
                x[start:start + len(histograms)] = histograms
                totals[start:start + len(histograms)] = chunk_totals
                start += len(histograms)
                progress.advance(progress_id, len(histograms))
            _dataset(h5, "total", totals)


def _copy_rows(source: h5py.Dataset, group: h5py.Group, name: str) -> None:
    """Copy a piece's dataset into the task file: compressed chunks verbatim (no re-compression)."""
    target = _dataset(group, name, shape=source.shape, dtype=source.dtype)
    if target.chunks is not None and target.chunks == source.chunks and target.compression == source.compression:
        for i in range(source.id.get_num_chunks()):
            offset = source.id.get_chunk_info(i).chunk_offset
            mask, data = source.id.read_direct_chunk(offset)
            target.id.write_direct_chunk(offset, data, mask)
        return
    step = max(1, _CHUNK_VALUES // max(1, int(np.prod(source.shape[1:]))))
    for start in range(0, source.shape[0], step):
        target[start:start + step] = source[start:start + step]


def _samples_json(inputs: TaskInputs, output_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for pool, fraction in [*inputs.backgrounds, *((m, None) for m in inputs.models)]:
        rows.append({
            "id": pool.key, "sample": pool.point.sample, "point_id": pool.point.point_id, "role": pool.point.role,
            "process": pool.point.process, "parameters": pool.point.parameters, "scanned": pool.point.scanned,
            # relative to the study output, so that the file does not depend on where the study lives
            "features_path": _relative(pool.path, output_dir), "sha256": pool.sha256, "cross_section_pb": pool.cross_section_pb,
            "selection_efficiency": pool.selection_efficiency, "histogram_efficiency": pool.histogram_efficiency,
            "pool_events": pool.pool.n_events, "pool_effective_events": pool.pool.effective_events,
            "background_fraction": fraction,
        })
    return rows


def _relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


def _write_task_file(path: Path, study: Study, inputs: TaskInputs, pieces: Sequence[_Piece],
                     piece_paths: Sequence[Path], fingerprint: str) -> None:
    from darkscan import __version__
    from darkscan.analysis.features import FEATURES

    settings, task, binning = study.datasets, inputs.task, inputs.binning
    histogram = next(h for h in study.histograms if h.name == task.histogram)
    with atomic_path(path) as tmp, _h5_open(tmp) as h5:
        attrs = {
            "format": "darkscan-histograms", "format_version": FORMAT_VERSION, "darkscan_version": __version__,
            "study": study.name, "task": task.name, "labels": task.labels, "histogram": histogram.name,
            "kind": histogram.kind, "shape": np.array(binning.shape, dtype=np.int64), "counts": settings.counts,
            "background_events": float(settings.background_events), "n_histograms": settings.n_histograms,
            "pure_events": settings.pure_events, "histograms_per_point": settings.histograms_per_point,
            "seed": settings.seed, "s_over_sqrt_b": np.array(settings.s_over_sqrt_b, dtype=np.float64),
            "models": json.dumps([_model_name(m) for m in inputs.models]),
            "class_names": json.dumps(["SM"] + [_model_name(m) for m in inputs.models]
                                      if task.labels in ("multiclass", "pure") else ["SM", "SM+NP"]),
            "target": task.target or "",
            "samples": json.dumps(_samples_json(inputs, study.output_dir), sort_keys=True),
            "groups": json.dumps([p.group for p in pieces]),
            "overflow": ("values outside an axis range are counted in its first/last bin; "
                         "events with a non-finite feature are dropped"),
            "sampling": "per-cell Poisson(B q + S p): exact resampling of Poisson(B) + Poisson(S) pool events",
            "fingerprint": fingerprint,
        }
        for key, value in attrs.items():
            h5.attrs[key] = value
        axes = _group(h5, "axes")
        for i, (axis, spec) in enumerate(zip(binning.axes, histogram.axes)):
            edges = _dataset(axes, str(i), axis.edges)
            edges.attrs.update({"feature": axis.feature, "unit": FEATURES.get(axis.feature, ("", ""))[0],
                                "bins": axis.bins, "range": np.array(spec.range), "log": axis.log})
        shapes = _group(h5, "shapes")
        _dataset(shapes, "background", inputs.space.marginal(inputs.q).astype(np.float64))
        model_shapes = np.stack([inputs.space.marginal(inputs.p[m].toarray()[0]) for m in range(len(inputs.models))])
        _dataset(shapes, "models", model_shapes.astype(np.float64))
        if task.labels != "pure":
            _write_ceiling(_group(h5, "ceiling"), study, inputs)
        for piece, piece_path in zip(pieces, piece_paths):
            group = _group(h5, piece.group)
            with _h5_open(piece_path, "r") as source:
                _copy_rows(source["x"], group, "x")
                _dataset(group, "total", source["total"][...])
            if piece.labels is not None:
                _dataset(group, "y", piece.labels)
            _dataset(group, "model", piece.models)
            if piece.target is not None:
                _dataset(group, "target", piece.target)
                group.attrs["target"] = task.target or ""
            group.attrs["seed"] = settings.seed
            group.attrs["seed_spawn_key"] = np.array([zlib.crc32(task.name.encode()), *piece.seed_key], dtype=np.int64)
            if piece.s_over_sqrt_b is not None:
                group.attrs["s_over_sqrt_b"] = piece.s_over_sqrt_b
                group.attrs["background_events"] = piece.background_scale
                group.attrs["signal_events"] = piece.signal_scale
            else:
                group.attrs["pure_events"] = piece.signal_scale


def _write_ceiling(group: h5py.Group, study: Study, inputs: TaskInputs) -> None:
    values = study.datasets.s_over_sqrt_b
    background = float(study.datasets.background_events)
    n_models = len(inputs.models)
    auc = np.zeros((n_models, len(values)))
    auc_llr = np.zeros_like(auc)
    best_channel = np.zeros_like(auc)
    ratio = np.zeros(n_models)
    empty = np.zeros(n_models)
    channels = inputs.binning.kind == "1d" and len(inputs.binning.axes) > 1
    q_marginal = inputs.space.marginal(inputs.q)
    for m in range(n_models):
        p = inputs.p[m].toarray()[0]
        p_marginal = inputs.space.marginal(p) if channels else None
        for j, value in enumerate(values):
            ceiling = optimal_auc(p, inputs.q, value, background, counts=study.datasets.counts)
            auc[m, j], auc_llr[m, j] = ceiling.auc, ceiling.auc_llr
            ratio[m], empty[m] = ceiling.sum_p2_over_q, ceiling.empty_background_fraction
            if p_marginal is not None:
                best_channel[m, j] = max(c.auc for c in channel_ceilings(p_marginal, q_marginal, value, background,
                                                                         counts=study.datasets.counts))
    for m in np.flatnonzero(empty > 0.01):
        # The pool's empty cells are unsampled tails, not regions without background: the dataset
        # really separates there, but only because the background pool is too small.
        warnings.warn(f"{inputs.task.name} ({inputs.task.histogram}), {_model_name(inputs.models[m])}: {empty[m]:.0%} "
                      "of the signal falls in histogram cells where the background pool has no event, which separate perfectly "
                      f"(optimal AUC {auc[m, 0]:.3f} at S/√B = {values[0]:g}); generate more background events "
                      "or use coarser bins", UnsampledBackgroundWarning, stacklevel=2)
    for name, data in (("auc", auc), ("auc_llr", auc_llr), ("sum_p2_over_q", ratio), ("empty_background_fraction", empty)):
        _dataset(group, name, data)
    if channels:
        _dataset(group, "best_channel_auc", best_channel)
    group.attrs["s_over_sqrt_b"] = np.array(values, dtype=np.float64)
    group.attrs["models"] = json.dumps([_model_name(m) for m in inputs.models])
    group.attrs["bound"] = ("upper bound: joint cells of the stacked channels (best_channel_auc is a lower bound)"
                            if channels else "exact for these binned shapes (Gaussian LLR approximation)")


# ----------------------------------------------------------------------------------------------
# Building


def _check_pools(study: Study, inputs: TaskInputs) -> None:
    settings = study.datasets
    if inputs.task.labels == "pure":
        for pool, _ in inputs.backgrounds:
            check_pool_size(pool.pool, settings.pure_events, label=str(pool.path))
        for model in inputs.models:
            check_pool_size(model.pool, settings.pure_events, label=str(model.path))
        return
    for pool, fraction in inputs.backgrounds:
        check_pool_size(pool.pool, settings.background_events * fraction, label=str(pool.path))
    signal = max(settings.s_over_sqrt_b) * math.sqrt(settings.background_events)
    for model in inputs.models:
        check_pool_size(model.pool, signal, label=str(model.path))


def build_task(study: Study, task: TrainingTask, *, progress: Progress | None = None,
               cache: dict[tuple[str, str, str], PointPool] | None = None, plots: bool = True) -> Path:
    """Build (or resume, or skip when up to date) the dataset file of one training task."""
    if task.network == "event_dnn":  # single events, not histograms
        from darkscan.datasets.events import build_event_task

        return build_event_task(study, task, progress=progress)
    progress = progress if progress is not None else NullProgress()
    inputs = load_task_inputs(study, task, cache=cache)
    fingerprint = _fingerprint(study, inputs)
    out_dir = study.output_dir / "datasets"
    path = out_dir / f"{task.name}.h5"
    piece_dir = out_dir / ".pieces" / task.name
    if path.exists() and _file_fingerprint(path) == fingerprint:
        return path
    _check_pools(study, inputs)
    pieces = _pieces(study, inputs)
    piece_paths = [piece_dir / f"{piece.key}.h5" for piece in pieces]
    todo = [(piece, piece_path) for piece, piece_path in zip(pieces, piece_paths)
            if not (piece_path.exists() and _file_fingerprint(piece_path) == fingerprint)]
    progress_id = progress.add_task(f"{task.name}: histograms", total=sum(len(p.models) for p, _ in todo))
    for piece, piece_path in todo:
        _write_piece(piece_path, study, inputs, piece, fingerprint, progress, progress_id)
    _write_task_file(path, study, inputs, pieces, piece_paths, fingerprint)
    shutil.rmtree(piece_dir, ignore_errors=True)
    with contextlib.suppress(OSError):  # other tasks' pieces may still be there
        piece_dir.parent.rmdir()
    if plots:
        _plot(path, out_dir / f"{task.name}.png")
    return path


def _file_fingerprint(path: Path) -> str | None:
    try:
        with _h5_open(path, "r") as h5:
            value = h5.attrs.get("fingerprint")
    except OSError:  # a file that does not open is not a finished piece
        return None
    return value.decode() if isinstance(value, bytes) else (str(value) if value is not None else None)


def dataset_state(study: Study, task_name: str) -> tuple[bool, str]:
    """(up to date, why not) of a task's dataset file: :func:`build_task`'s skip check, the stored
    fingerprint against the one of the feature tables and settings now ("" when the file is not there)."""
    from darkscan.errors import DarkscanError

    task = next(t for t in study.training if t.name == task_name)
    path = study.output_dir / "datasets" / f"{task.name}.h5"
    if not path.exists():
        return False, ""
    try:
        inputs = load_task_inputs(study, task)
    except DarkscanError as exc:
        return False, str(exc)
    if _file_fingerprint(path) != _fingerprint(study, inputs):
        return False, "older than its feature tables or the dataset settings"
    return True, ""


def build_datasets(study: Study, *, tasks: Sequence[str] | None = None, progress: Progress | None = None,
                   plots: bool = True) -> list[Path]:
    """Build the dataset file of every training task (or of ``tasks``); return their paths.

    Raises:
        StudyError: an unknown task name, or a study without training tasks.
        InputFileError: a sample point's feature table is missing or unusable.
    """
    from darkscan.errors import did_you_mean

    names = [t.name for t in study.training]
    if not names:
        raise StudyError(f"{study.source}: training: no training tasks, so no datasets to build; add one "
                         "(e.g. {name: sig_vs_sm, labels: binary, signals: [...], histogram: ...})")
    for name in tasks or ():
        if name not in names:
            raise StudyError(f"{study.source}: no training task {name!r}: {did_you_mean(name, names)}")
    cache: dict[tuple[str, str, str], PointPool] = {}
    return [build_task(study, task, progress=progress, cache=cache, plots=plots)
            for task in study.training if not tasks or task.name in tasks]


# ----------------------------------------------------------------------------------------------
# Example plots


def _plot(dataset: Path, target: Path) -> None:
    """Example plots: per group (up to four), the mean histogram of each class.

    1D: one panel per channel, mean counts per class as steps over the physical bin edges.
    2D: the mean first-class (SM) image, and the mean difference of every other class to it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with _h5_open(dataset, "r") as h5:
        groups = json.loads(h5.attrs["groups"])[:4]
        kind = str(h5.attrs["kind"])
        class_names = json.loads(h5.attrs["class_names"])
        axes_info = [(h5[f"axes/{i}"][...], str(h5[f"axes/{i}"].attrs["feature"]), bool(h5[f"axes/{i}"].attrs["log"]),
                      str(h5[f"axes/{i}"].attrs["unit"])) for i in range(len(h5["axes"]))]
        means: list[tuple[str, dict[str, np.ndarray]]] = []
        for name in groups:
            group = h5[name]
            x = group["x"][: min(4000, group["x"].shape[0])]
            if "y" in group:
                y = group["y"][: len(x)]
                classes = {class_names[int(c)]: x[y == c].mean(axis=0) for c in np.unique(y)}
            else:  # regression: the lowest and highest target
                target_values = group["target"][: len(x)]
                classes = {f"{h5.attrs['target']}={t:g}": x[target_values == t].mean(axis=0)
                           for t in (target_values.min(), target_values.max())}
            means.append((name, classes))

    def label(feature: str, unit: str) -> str:
        return f"{feature} [{unit}]" if unit else feature

    columns = len(axes_info) if kind == "1d" else max(len(c) for _, c in means)
    fig, panels = plt.subplots(len(means), columns, figsize=(4.2 * columns, 3.2 * len(means)), squeeze=False)
    for row, (name, classes) in enumerate(means):
        if kind == "1d":
            for channel, (edges, feature, log, unit) in enumerate(axes_info):
                ax = panels[row, channel]
                for class_name, mean in classes.items():
                    ax.stairs(mean[channel], edges, label=class_name)
                ax.set(xlabel=label(feature, unit), ylabel="mean count" if channel == 0 else None,
                       xscale="log" if log else "linear", yscale="log", title=name if channel == 0 else None)
                ax.legend(fontsize="x-small")
        else:
            (x_edges, x_feature, x_log, x_unit), (y_edges, y_feature, _, y_unit) = axes_info
            items = list(classes.items())
            reference_name, reference = items[0]
            for col, (class_name, mean) in enumerate(items):
                ax = panels[row, col]
                if col == 0:
                    image = ax.pcolormesh(x_edges, y_edges, mean.T, norm=matplotlib.colors.LogNorm(
                        vmin=max(mean[mean > 0].min(), 1e-3) if (mean > 0).any() else 1e-3))
                    ax.set_title(f"{name}: mean {class_name}", fontsize="small")
                else:
                    difference = mean - reference
                    limit = float(np.abs(difference).max()) or 1.0
                    image = ax.pcolormesh(x_edges, y_edges, difference.T, cmap="RdBu_r", vmin=-limit, vmax=limit)
                    ax.set_title(f"{name}: {class_name} − {reference_name}", fontsize="small")
                ax.set(xlabel=label(x_feature, x_unit), ylabel=label(y_feature, y_unit),
                       xscale="log" if x_log else "linear")
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
                fig.colorbar(image, ax=ax)
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
