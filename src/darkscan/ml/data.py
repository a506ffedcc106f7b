"""Training units read from the histogram datasets that ``darkscan histos build`` writes.

A *unit* is what one network is trained on: the rows of one or more groups of a task's HDF5 file
(layout in :mod:`darkscan.datasets.build`):

- ``binary``: one unit per (S/√B, model), id ``sb_<v>__<model>`` (e.g. ``sb_1__spin1.nominal``);
- ``multimodel`` and ``multiclass``: one per S/√B, id ``sb_<v>``;
- ``pure``: one, id ``pure``; ``regression``: one over every S/√B group, id ``all``.

Each unit's rows are split at random (seeded by the task's training seed and the unit id) into
train / validation / test parts (0.64 / 0.16 / 0.20 by default). The input scaling is fitted on
the training part only and applied to all three; ``raw_test`` keeps the unscaled test histograms
for baselines (likelihood ratio, counting, trees) on exactly the same rows.

Before anything is read, the file is checked against the study: a dataset built from another
version of the study (other S/√B values, B, models, seed, …) is refused with one line naming the
attribute, so a network never silently trains on stale histograms.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from darkscan.errors import InputFileError, StudyError, did_you_mean

if TYPE_CHECKING:
    from darkscan.study import Study, TrainingTask

__all__ = [
    "Scaler",
    "UnitData",
    "dataset_fingerprint",
    "dataset_path",
    "load_unit",
    "open_dataset",
    "require_attributes",
    "split_indices",
    "task_of",
    "training_seed",
    "units",
]


def __dir__() -> list[str]:
    return list(__all__)


def task_of(study: Study, task_name: str) -> TrainingTask:
    """The training task called ``task_name``; a one-line :class:`StudyError` when there is none."""
    for task in study.training:
        if task.name == task_name:
            return task
    names = [t.name for t in study.training]
    if not names:
        raise StudyError(f"{study.source}: training: no training tasks")
    raise StudyError(f"{study.source}: no training task {task_name!r}: {did_you_mean(task_name, names)}")


def training_seed(study: Study, task: TrainingTask) -> int:
    """The task's training seed: ``training[].seed``, else ``datasets.seed``."""
    return task.seed if task.seed is not None else study.datasets.seed


def dataset_path(study: Study, task_name: str) -> Path:
    """Where ``darkscan histos build`` writes the task's dataset."""
    return study.output_dir / "datasets" / f"{task_name}.h5"


def _model_names(study: Study, task: TrainingTask) -> list[str]:
    plan = study.plan()
    return [f"{p.sample}.{p.point_id}" for name in task.signals for p in plan if p.sample == name]


def _attr(h5: Any, key: str) -> Any:
    value = h5.attrs.get(key)
    return value.decode() if isinstance(value, bytes) else value


def _check_matches(study: Study, task: TrainingTask, path: Path, h5: Any) -> None:
    """Refuse a dataset that another version of the study (or another study) wrote."""
    if _attr(h5, "format") != "darkscan-histograms":
        raise InputFileError(f"{path}: not a darkscan histogram dataset (no format attribute)")
    settings = study.datasets
    expected: dict[str, Any] = {
        "study": study.name, "task": task.name, "labels": task.labels, "histogram": task.histogram,
        "counts": settings.counts, "background_events": float(settings.background_events),
        "n_histograms": settings.n_histograms, "seed": settings.seed,
        "models": _model_names(study, task),
    }
    if task.labels != "pure":
        expected["s_over_sqrt_b"] = [float(v) for v in settings.s_over_sqrt_b]
    if task.labels == "pure":
        expected["pure_events"] = settings.pure_events
    if task.labels == "regression":
        expected["histograms_per_point"] = settings.histograms_per_point
        expected["target"] = task.target or ""
    require_attributes(study, task, path, h5, expected)


def require_attributes(study: Study, task: TrainingTask, path: Path, h5: Any, expected: dict[str, Any]) -> None:
    """Refuse a dataset whose recorded settings differ from the study's (``models``/``features``: JSON lists)."""
    for key, want in expected.items():
        have = _attr(h5, key)
        if key in ("models", "features"):
            have = json.loads(have) if have is not None else None
        elif isinstance(have, np.ndarray):
            have = have.tolist()
        elif isinstance(have, np.generic):
            have = have.item()
        if have != want:
            raise InputFileError(f"{path}: built for another version of the study ({key} is {have!r} in the file, "
                                 f"{want!r} in {study.source}); rebuild it: darkscan histos build {study.source} "
                                 f"--task {task.name}")


def open_dataset(study: Study, task: TrainingTask,
                 check: Callable[[Study, TrainingTask, Path, Any], None]) -> tuple[Path, Any]:
    """The task's dataset file, open, after ``check`` raised nothing (a missing, unreadable or stale file: one line)."""
    import h5py

    path = dataset_path(study, task.name)
    if not path.exists():
        raise InputFileError(f"{path}: no dataset for training task {task.name!r}; build it first: "
                             f"darkscan histos build {study.source} --task {task.name}")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(f"{path}: not a readable HDF5 dataset ({exc})") from None
    try:
        check(study, task, path, h5)
    except BaseException:
        h5.close()
        raise
    return path, h5


def _open(study: Study, task: TrainingTask) -> tuple[Path, Any]:
    return open_dataset(study, task, _check_matches)


def _unit_groups(task: TrainingTask, groups: list[str]) -> dict[str, list[str]]:
    """Unit id → the HDF5 groups its rows come from."""
    if task.labels == "binary":
        return {group.replace("/", "__"): [group] for group in groups}
    if task.labels == "regression":
        return {"all": list(groups)}
    return {group: [group] for group in groups}


def units(study: Study, task_name: str) -> list[str]:
    """The unit ids of a task, in dataset order (reads the dataset's attributes only)."""
    task = task_of(study, task_name)
    if task.network == "event_dnn":
        from darkscan.ml.events import event_units

        return event_units(study, task)
    _, h5 = _open(study, task)
    with h5:
        return list(_unit_groups(task, json.loads(_attr(h5, "groups"))))


def dataset_fingerprint(study: Study, task_name: str) -> str:
    """The fingerprint (inputs + settings) of a task's dataset, after checking it matches the study."""
    task = task_of(study, task_name)
    if task.network == "event_dnn":
        from darkscan.ml.events import event_fingerprint

        return event_fingerprint(study, task)
    _, h5 = _open(study, task)
    with h5:
        return str(_attr(h5, "fingerprint"))


@dataclasses.dataclass(frozen=True)
class Scaler:
    """``x' = (f(x) − mean) / scale`` per input cell, ``f`` = identity or ``log1p``; fitted on training rows."""

    kind: str
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, kind: str, x: np.ndarray) -> Scaler:
        if kind == "none":
            return cls(kind, np.zeros(x.shape[1:], np.float32), np.ones(x.shape[1:], np.float32))
        values = np.log1p(x) if kind == "log" else x
        mean = values.mean(axis=0, dtype=np.float64)
        scale = values.std(axis=0, dtype=np.float64)
        # a cell that never varies in training carries no information: leave it centred, unscaled
        scale[scale <= 0] = 1.0
        return cls(kind, mean.astype(np.float32), scale.astype(np.float32))

    def transform(self, x: np.ndarray) -> np.ndarray:
        values = np.log1p(x) if self.kind == "log" else x
        return ((values - self.mean) / self.scale).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scaler:
        return cls(str(data["kind"]), np.asarray(data["mean"], np.float32), np.asarray(data["scale"], np.float32))


@dataclasses.dataclass(frozen=True)
class UnitData:
    """One network's data. ``x_*`` are scaled as the network sees them; ``raw_test`` is unscaled.

    ``y_*`` are class indices (int) for classification, the target value (float, e.g. GeV) for
    regression. ``candidate_*`` is the one-hot of the DM candidate (the task's signal sample) of each
    row, an input of the mass regressor (None otherwise). ``test_index`` are the test rows' positions
    in the unit's concatenated groups; ``test_s_over_sqrt_b`` each test row's S/√B (None for ``pure``).
    """

    task: str
    unit: str
    labels: str
    kind: str
    class_names: list[str]
    s_over_sqrt_b: float | None
    model: str | None
    dataset_path: Path
    dataset_fingerprint: str
    split: tuple[float, float, float]
    seed: int
    scaler: Scaler
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    raw_test: np.ndarray
    test_index: np.ndarray
    test_model: np.ndarray
    test_s_over_sqrt_b: np.ndarray | None = None
    target: np.ndarray | None = None
    candidate_names: list[str] | None = None
    candidate_train: np.ndarray | None = None
    candidate_val: np.ndarray | None = None
    candidate_test: np.ndarray | None = None
    #: per-row training weights of the train and validation parts (event-level tasks; None: unweighted)
    sample_weight_train: np.ndarray | None = None
    sample_weight_val: np.ndarray | None = None
    #: event-level tasks: the test part's physical weights and yields (darkscan.ml.events.EventTest)
    events: Any = None

    @property
    def n_outputs(self) -> int:
        """1 for binary classification and regression, else the number of classes."""
        return 1 if self.labels == "regression" or len(self.class_names) == 2 else len(self.class_names)

    def inputs(self, part: str) -> Any:
        """What the network takes for ``part`` (``train``, ``val`` or ``test``): x, or [x, one-hot]."""
        x = getattr(self, f"x_{part}")
        candidate = getattr(self, f"candidate_{part}")
        return x if candidate is None else [x, candidate]


def split_indices(n: int, split: tuple[float, float, float], seed: int, unit: str) -> tuple[np.ndarray, ...]:
    """Seeded random train / validation / test row indices (each sorted, for fast HDF5 reads)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(unit.encode()),)))
    order = rng.permutation(n)
    n_train = int(round(split[0] * n))
    n_val = int(round(split[1] * n))
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def load_unit(study: Study, task_name: str, unit_id: str) -> UnitData:
    """Read, split and scale one unit of a task.

    Raises:
        StudyError: no such task.
        InputFileError: the dataset is missing, unreadable, from another version of the study, or
            has no unit ``unit_id``.
    """
    task = task_of(study, task_name)
    if task.network == "event_dnn":
        from darkscan.ml.events import load_event_unit

        return load_event_unit(study, task, unit_id)
    path, h5 = _open(study, task)
    with h5:
        all_units = _unit_groups(task, json.loads(_attr(h5, "groups")))
        if unit_id not in all_units:
            raise InputFileError(f"{path}: no unit {unit_id!r} in task {task.name!r}: {did_you_mean(unit_id, all_units)}")
        groups = [h5[name] for name in all_units[unit_id]]
        x = np.concatenate([g["x"][...] for g in groups]) if len(groups) > 1 else groups[0]["x"][...]
        model_rows = np.concatenate([g["model"][...] for g in groups]).astype(np.int64)
        if task.labels == "regression":
            y = np.concatenate([g["target"][...] for g in groups]).astype(np.float32)
        else:
            y = groups[0]["y"][...].astype(np.int64)
        row_sb = (np.concatenate([np.full(len(g["model"]), float(g.attrs["s_over_sqrt_b"])) for g in groups])
                  if task.labels != "pure" else None)
        class_names = json.loads(_attr(h5, "class_names"))
        models = json.loads(_attr(h5, "models"))
        fingerprint = str(_attr(h5, "fingerprint"))
        kind = str(_attr(h5, "kind"))
        sb = float(groups[0].attrs["s_over_sqrt_b"]) if len(groups) == 1 and "s_over_sqrt_b" in groups[0].attrs else None
    model = unit_id.split("__", 1)[1] if task.labels == "binary" else None
    seed = training_seed(study, task)
    train, val, test = split_indices(len(x), task.split, seed, f"{task.name}/{unit_id}")
    scaler = Scaler.fit(task.scaling, x[train])
    candidates: dict[str, Any] = {}
    target = None
    if task.labels == "regression":
        target = y[test]
        # the DM candidate is the signal sample a row's scan point belongs to
        sample_of_model = np.array([task.signals.index(name.split(".", 1)[0]) for name in models])
        onehot = np.eye(len(task.signals), dtype=np.float32)[sample_of_model[model_rows]]
        candidates = {"candidate_names": list(task.signals), "candidate_train": onehot[train],
                      "candidate_val": onehot[val], "candidate_test": onehot[test]}
    return UnitData(
        task=task.name, unit=unit_id, labels=task.labels, kind=kind,
        class_names=class_names if task.labels != "regression" else [],
        s_over_sqrt_b=sb, model=model, dataset_path=path, dataset_fingerprint=fingerprint,
        split=tuple(task.split), seed=seed, scaler=scaler,  # type: ignore[arg-type]
        x_train=scaler.transform(x[train]), y_train=y[train], x_val=scaler.transform(x[val]), y_val=y[val],
        x_test=scaler.transform(x[test]), y_test=y[test], raw_test=x[test], test_index=test,
        test_model=model_rows[test], test_s_over_sqrt_b=row_sb[test] if row_sb is not None else None,
        target=target, **candidates,
    )
