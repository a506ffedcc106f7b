"""Training loop: every unit of every training task, side by side where that pays, resumable.

:func:`train_study` trains one network per unit (see :mod:`darkscan.ml.data`) and writes
``study.output_dir/models/<task>/<unit>.keras`` with a JSON sidecar ``<unit>.json`` (task, unit,
network, hyper-parameters, seed, dataset path and fingerprint, split, scaler, per-epoch history,
test metrics, versions). A unit whose sidecar records the same dataset fingerprint and settings is
skipped, so an interrupted run resumes without retraining finished networks.

The grid. A study trains many small networks (one per model × S/√B for ``binary``). Fitting them
one ``model.fit`` at a time spends most of the time in per-fit overhead (building, tracing the
train step, callbacks, tiny kernels). Units of one task with the same input shape and row counts
are instead trained side by side: up to ``grid_size`` independent networks ("towers") updated in
one compiled training step, each with its own inputs, loss and early stopping, and a whole epoch
(shuffle, all batches, validation) runs as one TensorFlow function over tensors kept in memory.
The losses are summed, but the towers share no weights, and Adam scales each weight's step by its
own gradient moments, so every tower follows the trajectory it would follow alone (with the same
batch order, which depends on the task seed only).
Each tower's weights are kept from its best validation epoch; training stops when every tower has
run out of patience (or at ``epochs``). ``benchmarks/training_grid.py`` measures the gain.

Determinism: ``keras.utils.set_random_seed`` per unit before building it (initial weights and
dropout streams depend on the unit's seed only, not on which units share a grid) and per grid
before fitting (batch order), with TensorFlow's op determinism on: the same seed gives the same
metrics on CPU. A GPU is used when TensorFlow sees one; ``mixed_precision`` is applied only there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
import warnings
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from darkscan.datasets.build import NullProgress, Progress
from darkscan.errors import InputFileError, StudyError, did_you_mean
from darkscan.io import atomic_path, write_json_atomic
from darkscan.ml.data import UnitData, dataset_fingerprint, load_unit, task_of, training_seed, units
from darkscan.ml.networks import NetworkSpec, build_network, network_spec

if TYPE_CHECKING:
    from darkscan.study import Study, TrainingTask

__all__ = [
    "MODEL_FORMAT",
    "TrainedUnit",
    "binary_auc",
    "hyperparameters",
    "load_model",
    "model_path",
    "train_study",
    "train_units",
    "unfinished_units",
]

MODEL_FORMAT = "darkscan-model"
#: bump when the training code changes what a saved model means (forces retraining on resume)
TRAINING_VERSION = 1


def __dir__() -> list[str]:
    return list(__all__)


@dataclasses.dataclass(frozen=True)
class TrainedUnit:
    """One unit's saved model: ``path`` (.keras), its sidecar, and whether it was already there."""

    task: str
    unit: str
    path: Path
    sidecar: dict[str, Any]
    skipped: bool


def model_path(study: Study, task_name: str, unit_id: str) -> Path:
    return study.output_dir / "models" / task_name / f"{unit_id}.keras"


def hyperparameters(task: TrainingTask) -> dict[str, Any]:
    """The task's training settings that a saved model depends on."""
    # the event-level fields only for event_dnn, so that histogram models keep their settings hash
    events = {"features", "weights", "class_weight"} if task.network == "event_dnn" else set()
    return task.model_dump(mode="json", include={"network", "epochs", "batch_size", "patience", "learning_rate",
                                                 "layers", "units", "dropout", "filters", "split", "scaling",
                                                 "mixed_precision", *events})


def binary_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC = P(score of a positive > score of a negative), ties counted half (Mann–Whitney U)."""
    from scipy.stats import rankdata

    labels = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _keras() -> Any:
    # TensorFlow's C++ start-up chatter (CUDA probing) is noise on CPU machines
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    return keras


def _gpus() -> list[Any]:
    import tensorflow as tf

    return list(tf.config.list_physical_devices("GPU"))


def _unit_seed(seed: int, task: str, unit: str) -> int:
    sequence = np.random.SeedSequence(seed, spawn_key=(zlib.crc32(f"{task}/{unit}".encode()),))
    return int(sequence.generate_state(1)[0] % (2**31 - 1))


def _settings_hash(task: TrainingTask, seed: int, fingerprint: str) -> str:
    data = {"training_version": TRAINING_VERSION, "hyperparameters": hyperparameters(task), "seed": seed,
            "labels": task.labels, "dataset_fingerprint": fingerprint}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == MODEL_FORMAT else None


def _spec_for(task: TrainingTask, data: UnitData) -> NetworkSpec:
    if data.labels == "regression":
        mean = float(np.mean(data.y_train))
        scale = float(np.std(data.y_train)) or 1.0
        return network_spec(task, kind=data.kind, input_shape=data.x_train.shape[1:], n_outputs=1,
                            n_candidates=len(data.candidate_names or []), target_mean=mean, target_scale=scale)
    return network_spec(task, kind=data.kind, input_shape=data.x_train.shape[1:], n_outputs=data.n_outputs)


def _loss_function(data: UnitData) -> Any:
    import keras

    if data.labels == "regression":
        return keras.losses.MeanSquaredError()
    if data.n_outputs == 1:
        return keras.losses.BinaryCrossentropy()
    return keras.losses.SparseCategoricalCrossentropy()


def _targets(data: UnitData, y: np.ndarray) -> np.ndarray:
    # binary and regression outputs are (n, 1); sparse categorical takes class indices
    if data.labels == "regression" or data.n_outputs == 1:
        return y.astype(np.float32).reshape(-1, 1)
    return y.astype(np.int64)


class _GridStopping:
    """Early stopping per tower on its own validation loss, keeping each tower's best weights."""

    def __init__(self, towers: Sequence[Any], patience: int) -> None:
        self.towers = list(towers)
        self.patience = patience
        self.best = [math.inf] * len(towers)
        self.best_epoch = [0] * len(towers)
        self.best_weights: list[list[np.ndarray] | None] = [None] * len(towers)
        self.stopped_at: list[int | None] = [None] * len(towers)
        self.epochs_seen = 0

    def end_epoch(self, epoch: int, val_loss: Sequence[float]) -> bool:
        """Record an epoch; True when every tower has stopped."""
        self.epochs_seen = epoch + 1
        for i, tower in enumerate(self.towers):
            if self.stopped_at[i] is not None:
                continue
            if val_loss[i] < self.best[i]:
                self.best[i], self.best_epoch[i] = float(val_loss[i]), epoch
                self.best_weights[i] = tower.get_weights()
            elif epoch - self.best_epoch[i] >= self.patience:
                self.stopped_at[i] = epoch
        return all(s is not None for s in self.stopped_at)


#: validation rows per forward pass (bounds the activations of a Conv network)
_VALIDATION_CHUNK = 2048


def _fit_grid(task: TrainingTask, datas: Sequence[UnitData], *, mixed: bool, progress: Progress,
              progress_id: Any) -> list[dict[str, Any]]:
    """Train the units side by side; return per unit its model, history, epochs and timing.

    The whole epoch (shuffle, every batch's step for every tower, the validation pass) is one
    compiled TensorFlow function over tensors that stay in memory (or on the GPU): none of
    ``model.fit``'s per-epoch data pipeline and callback overhead, which dominates for small networks.
    """
    keras = _keras()
    import tensorflow as tf

    towers, specs = [], []
    for data in datas:
        # initial weights and dropout streams from the unit's own seed, whatever shares its grid
        keras.utils.set_random_seed(_unit_seed(data.seed, data.task, data.unit))
        spec = _spec_for(task, data)
        specs.append(spec)
        towers.append(build_network(spec, name=f"u{len(towers)}"))
    # the batch order depends on the task seed only
    keras.utils.set_random_seed(datas[0].seed)
    shuffle = tf.random.Generator.from_seed(datas[0].seed)

    def tensors(part: str) -> list[list[Any]]:
        out = []
        for data in datas:
            value = data.inputs(part)
            out.append([tf.constant(v) for v in (value if isinstance(value, list) else [value])])
        return out

    x_train, x_val = tensors("train"), tensors("val")
    y_train = [tf.constant(_targets(d, d.y_train)) for d in datas]
    y_val = [tf.constant(_targets(d, d.y_val)) for d in datas]
    # per-row weights of the event-level weight schemes (None: every row counts once)
    w_train = [None if d.sample_weight_train is None else tf.constant(d.sample_weight_train, tf.float32) for d in datas]
    w_val = [None if d.sample_weight_val is None else tf.constant(d.sample_weight_val, tf.float32) for d in datas]
    regression = datas[0].labels == "regression"
    loss_fn = _loss_function(datas[0])
    n_train, n_val = len(datas[0].y_train), len(datas[0].y_val)
    batch = min(task.batch_size, n_train)
    n_batches = -(-n_train // batch)
    variables = [v for tower in towers for v in tower.trainable_variables]
    optimizer = keras.optimizers.Adam(learning_rate=task.learning_rate)
    if mixed:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    optimizer.build(variables)

    def call(i: int, inputs: list[Any], training: bool) -> Any:
        return tf.cast(towers[i](inputs if len(inputs) > 1 else inputs[0], training=training), tf.float32)

    def statistics(y: Any, prediction: Any, weight: Any = None) -> Any:
        """Sums over rows: loss, then accuracy (classification) or |Δ|, |Δ|/|y| (regression)."""
        rows = tf.cast(tf.shape(y)[0], tf.float32)
        loss = loss_fn(y, prediction, sample_weight=weight) * rows
        if regression:
            delta = tf.abs(prediction - y)
            return tf.stack([loss, tf.reduce_sum(delta), tf.reduce_sum(delta / tf.maximum(tf.abs(y), 1e-12))])
        if prediction.shape[-1] == 1:
            correct = tf.cast(tf.equal(tf.cast(prediction > 0.5, tf.float32), y), tf.float32)
        else:
            correct = tf.cast(tf.equal(tf.argmax(prediction, axis=-1), y), tf.float32)
        return tf.stack([loss, tf.reduce_sum(correct)])

    @tf.function
    def run_epoch() -> tuple[Any, Any]:
        order = tf.argsort(shuffle.uniform([n_train]))
        train_sums = tf.zeros([len(towers)])
        for b in tf.range(n_batches):
            rows = order[b * batch:tf.minimum((b + 1) * batch, n_train)]
            with tf.GradientTape() as tape:
                losses = tf.stack([loss_fn(tf.gather(y_train[i], rows), call(i, [tf.gather(x, rows) for x in x_train[i]], True),
                                           sample_weight=None if w_train[i] is None else tf.gather(w_train[i], rows))
                                   for i in range(len(towers))])
                total = tf.reduce_sum(losses)
                if mixed:
                    total = optimizer.scale_loss(total)
            gradients = tape.gradient(total, variables)
            optimizer.apply(gradients, variables)
            train_sums += losses * tf.cast(tf.shape(rows)[0], tf.float32)
        val_sums = tf.zeros([len(towers), 3 if regression else 2])
        for start in tf.range(0, n_val, _VALIDATION_CHUNK):
            stop = tf.minimum(start + _VALIDATION_CHUNK, n_val)
            val_sums += tf.stack([statistics(y_val[i][start:stop], call(i, [x[start:stop] for x in x_val[i]], False),
                                             None if w_val[i] is None else w_val[i][start:stop])
                                  for i in range(len(towers))])
        return train_sums / n_train, val_sums / n_val

    stopping = _GridStopping(towers, task.patience)
    history: list[list[dict[str, float]]] = [[] for _ in towers]
    start_time = time.perf_counter()
    for epoch in range(task.epochs):
        train_loss, validation = (t.numpy() for t in run_epoch())
        for i in range(len(towers)):
            row = {"loss": float(train_loss[i]), "val_loss": float(validation[i, 0])}
            if regression:
                row.update(val_mae=float(validation[i, 1]), val_mape=float(100 * validation[i, 2]),
                           val_rmse=float(np.sqrt(validation[i, 0])))
            else:
                row["val_accuracy"] = float(validation[i, 1])
            history[i].append(row)
        progress.advance(progress_id, 1)
        if stopping.end_epoch(epoch, validation[:, 0]):
            break
    seconds = time.perf_counter() - start_time
    results = []
    for i, tower in enumerate(towers):
        if stopping.best_weights[i] is not None:
            tower.set_weights(stopping.best_weights[i])
        stopped = stopping.stopped_at[i]
        epochs_run = (stopped if stopped is not None else stopping.epochs_seen - 1) + 1
        rows = history[i][:epochs_run]
        results.append({"model": tower, "spec": specs[i], "history": {k: [r[k] for r in rows] for k in rows[0]},
                        "epochs_run": epochs_run, "best_epoch": stopping.best_epoch[i] + 1, "grid_seconds": seconds,
                        "grid_size": len(towers), "grid_epochs": stopping.epochs_seen,
                        "histograms_per_second": stopping.epochs_seen * n_train * len(towers) / seconds})
    return results


def _test_metrics(model: Any, data: UnitData) -> tuple[dict[str, float], np.ndarray]:
    inputs = data.inputs("test")
    prediction = np.asarray(model.predict(inputs, batch_size=4096, verbose=0))
    metrics: dict[str, float] = {}
    if data.labels == "regression":
        predicted = prediction[:, 0].astype(np.float64)
        truth = data.y_test.astype(np.float64)
        metrics = {"mae": float(np.mean(np.abs(predicted - truth))),
                   "mape": float(100 * np.mean(np.abs(predicted - truth) / np.abs(truth))),
                   "rmse": float(np.sqrt(np.mean((predicted - truth) ** 2)))}
    elif data.n_outputs == 1:
        scores = prediction[:, 0]
        metrics = {"auc": binary_auc(scores, data.y_test), "accuracy": float(np.mean((scores > 0.5) == (data.y_test == 1)))}
    else:
        metrics = {"accuracy": float(np.mean(np.argmax(prediction, axis=1) == data.y_test))}
    return metrics, prediction


def _save(path: Path, model: Any, sidecar: dict[str, Any]) -> None:
    # the sidecar goes last: a .keras without a matching sidecar is not a finished unit
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # Keras 3.15 converts TF variables with np.array(copy=False), which NumPy 2 flags; harmless
        warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword",
                                category=DeprecationWarning)
        model.save(tmp)
    write_json_atomic(path.with_suffix(".json"), sidecar)


def _grid_key(data: UnitData) -> tuple[Any, ...]:
    return (data.x_train.shape, data.x_val.shape, data.n_outputs)


def _finished_sidecar(path: Path, settings_hash: str) -> dict[str, Any] | None:
    """The sidecar of a finished unit: the ``.keras`` is there and its sidecar (written last) records these
    settings, which include the dataset's fingerprint; None otherwise."""
    sidecar = _read_sidecar(path.with_suffix(".json"))
    if sidecar is not None and sidecar.get("settings_hash") == settings_hash and path.exists():
        return sidecar
    return None


def unfinished_units(study: Study, task_name: str) -> list[str]:
    """The units of a task that :func:`train_units` would train now (resume check; trains nothing).

    Raises:
        InputFileError: the task's dataset is missing or does not match the study.
    """
    task = task_of(study, task_name)
    settings = _settings_hash(task, training_seed(study, task), dataset_fingerprint(study, task.name))
    return [unit for unit in units(study, task.name)
            if _finished_sidecar(model_path(study, task.name, unit), settings) is None]


def train_units(study: Study, task_name: str, unit_ids: Sequence[str] | None = None, *,
                progress: Progress | None = None) -> list[TrainedUnit]:
    """Train (or skip when up to date) the units of one task; all of them when ``unit_ids`` is None."""
    import keras
    import tensorflow as tf

    from darkscan import __version__

    progress = progress if progress is not None else NullProgress()
    task = task_of(study, task_name)
    all_units = units(study, task.name)
    for unit in unit_ids or ():
        if unit not in all_units:
            raise StudyError(f"{study.source}: task {task.name!r} has no unit {unit!r}: {did_you_mean(unit, all_units)}")
    wanted = list(unit_ids) if unit_ids else all_units
    seed = training_seed(study, task)
    settings = _settings_hash(task, seed, dataset_fingerprint(study, task.name))
    done: list[TrainedUnit] = []
    todo: list[str] = []
    for unit in wanted:
        path = model_path(study, task.name, unit)
        sidecar = _finished_sidecar(path, settings)
        if sidecar is not None:
            done.append(TrainedUnit(task.name, unit, path, sidecar, skipped=True))
        else:
            todo.append(unit)
    gpus = _gpus() if todo else []
    mixed = bool(task.mixed_precision and gpus)

    def chunks() -> Iterator[list[UnitData]]:
        """Up to ``grid_size`` units of equal shapes at a time, read when needed (bounded memory)."""
        chunk: list[UnitData] = []
        for unit in todo:
            data = load_unit(study, task.name, unit)
            if chunk and (len(chunk) == task.grid_size or _grid_key(chunk[0]) != _grid_key(data)):
                yield chunk
                chunk = []
            chunk.append(data)
        if chunk:
            yield chunk

    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        for chunk in chunks():
            progress_id = progress.add_task(f"{task.name}: {len(chunk)} network(s) ({chunk[0].unit}…)", total=task.epochs)
            for data, result in zip(chunk, _fit_grid(task, chunk, mixed=mixed, progress=progress,
                                                     progress_id=progress_id)):
                model = result["model"]
                test, _ = _test_metrics(model, data)
                path = model_path(study, task.name, data.unit)
                spec: NetworkSpec = result["spec"]
                sidecar = {
                    "format": MODEL_FORMAT, "task": task.name, "unit": data.unit, "labels": task.labels,
                    "network": spec.network, "architecture": dataclasses.asdict(spec),
                    "hyperparameters": hyperparameters(task), "seed": seed,
                    "unit_seed": _unit_seed(seed, task.name, data.unit),
                    "dataset_path": str(data.dataset_path), "dataset_fingerprint": data.dataset_fingerprint,
                    "settings_hash": _settings_hash(task, seed, data.dataset_fingerprint),
                    "split": list(data.split), "scaler": data.scaler.to_json(), "history": result["history"],
                    "epochs_run": result["epochs_run"], "best_epoch": result["best_epoch"],
                    "train_seconds": result["grid_seconds"] / result["grid_size"],
                    "grid_seconds": result["grid_seconds"], "grid_size": result["grid_size"],
                    "grid_epochs": result["grid_epochs"], "histograms_per_second": result["histograms_per_second"],
                    "n_train": int(len(data.y_train)), "n_val": int(len(data.y_val)), "n_test": int(len(data.y_test)),
                    "s_over_sqrt_b": data.s_over_sqrt_b, "model": data.model, "class_names": data.class_names,
                    "candidate_names": data.candidate_names, "test": test,
                    "device": "GPU" if gpus else "CPU", "mixed_precision": mixed,
                    "versions": {"darkscan": __version__, "tensorflow": tf.__version__, "keras": keras.__version__},
                }
                _save(path, model, sidecar)
                done.append(TrainedUnit(task.name, data.unit, path, sidecar, skipped=False))
    finally:
        if mixed:
            keras.mixed_precision.set_global_policy("float32")
    order = {unit: i for i, unit in enumerate(wanted)}
    return sorted(done, key=lambda t: order[t.unit])


def train_study(study: Study, *, tasks: Sequence[str] | None = None,
                progress: Progress | None = None) -> list[TrainedUnit]:
    """Train every unit of every training task (or of ``tasks``); skip units already trained.

    Raises:
        StudyError: an unknown task, or a study without training tasks.
        InputFileError: a task's dataset is missing or was built for another version of the study.
    """
    names = [t.name for t in study.training]
    if not names:
        raise StudyError(f"{study.source}: training: no training tasks to train")
    for name in tasks or ():
        if name not in names:
            raise StudyError(f"{study.source}: no training task {name!r}: {did_you_mean(name, names)}")
    # every dataset is checked before the first (slow) fit, so a stale one fails fast
    selected = [t.name for t in study.training if not tasks or t.name in tasks]
    for name in selected:
        units(study, name)
    _keras()
    results: list[TrainedUnit] = []
    for name in selected:
        results.extend(train_units(study, name, progress=progress))
    return results


def load_model(path: str | os.PathLike[str], *, dataset_fingerprint: str | None = None) -> tuple[Any, dict[str, Any]]:
    """A saved model and its sidecar.

    Raises:
        InputFileError: the file or its sidecar is missing or unreadable, the file is not a Keras
            model, or ``dataset_fingerprint`` is given and the model was trained on another dataset.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such model file")
    sidecar_path = path.with_suffix(".json")
    sidecar = _read_sidecar(sidecar_path)
    if sidecar is None:
        raise InputFileError(f"{sidecar_path}: missing or not a darkscan model sidecar; {path} is not a model "
                             "written by darkscan train")
    if dataset_fingerprint is not None and sidecar.get("dataset_fingerprint") != dataset_fingerprint:
        raise InputFileError(f"{path}: trained on another dataset (fingerprint {str(sidecar.get('dataset_fingerprint'))[:12]}…, "
                             f"expected {dataset_fingerprint[:12]}…); retrain it: darkscan train")
    keras = _keras()
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # keras raises ValueError/OSError/zipfile errors for a non-model file
        raise InputFileError(f"{path}: not a Keras model file ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
    return model, sidecar
