"""Event-level training units and their evaluation (``network: event_dnn``).

The event-level dataset of a task (:mod:`darkscan.datasets.events`) holds the selected events of
every background point and every scan point of the task's signal, already split. A *unit* is one
signal model against the whole background, id = the model's name (``<sample>.<point>``, e.g.
``spin1.m_med-1000``); its rows are the background events (y = 0) and that model's events (y = 1),
in the parts the dataset stored. The input scaling is fitted on the training part; the training
weights follow the task's ``weights`` and ``class_weight`` (:func:`darkscan.datasets.events.training_weights`).
Training itself is :mod:`darkscan.ml.train`'s, the same code as for the histogram networks.

:func:`evaluate_event_task` writes ``evaluation/<task>.json`` and ``.csv`` for every unit, on the
test part:

- the AUC with physical weights (σ·L/ΣW: the backgrounds in their physical mix) and unweighted;
- the significance scan over the network's score cut with physical weights: ``s`` and ``b`` are the
  selection's expected yields σ·L·ε times the weighted test fraction above the cut, Asimov Z with and
  without a 10 % background uncertainty (:func:`darkscan.ml.metrics.significance_scan`); the best
  cut keeps at least ``MIN_TEST_BACKGROUND`` simulated background test events, so that its
  background efficiency is measured, not a fluke of a few events;
- beside it on the same test events: the **cut-and-count on the study's selection** (every test
  event passes it, so s and b are the selection yields and Z = Z(s, b)) and scikit-learn's
  ``HistGradientBoostingClassifier`` trained on the same training events with the same weights
  (its AUC and its own best cut);
- the Kolmogorov–Smirnov p-value of train vs test network scores per class.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from darkscan.datasets.build import NullProgress, Progress
from darkscan.errors import InputFileError, did_you_mean

if TYPE_CHECKING:
    from darkscan.ml.data import UnitData
    from darkscan.study import Study, TrainingTask

__all__ = ["MIN_TEST_BACKGROUND", "EventTest", "evaluate_event_task", "event_fingerprint", "event_units", "load_event_unit"]

#: relative background uncertainty of the ``z_sigma_b`` columns
RELATIVE_SIGMA_B = 0.1
#: the best cut keeps at least this many simulated background events of the test part: fewer leave
#: the background efficiency to a handful of events (±1/√20 ≈ 22 % at the limit), and Z to luck
MIN_TEST_BACKGROUND = 20

_CSV_COLUMNS = ["unit", "model", "auc", "auc_unweighted", "auc_gradient_boosting", "accuracy", "ks_min_pvalue",
                "s_selection", "b_selection", "z_selection", "z_sigma_b_selection", "cut", "s", "b", "z", "z_sigma_b",
                "z_gradient_boosting", "z_sigma_b_gradient_boosting"]


def __dir__() -> list[str]:
    return list(__all__)


@dataclasses.dataclass(frozen=True)
class EventTest:
    """What the evaluation needs beyond scores: the test part's physical weights and the selection yields.

    ``signal_events`` / ``background_events``: expected events after the study selection at the
    study luminosity (Σ of the physical weights of every stored event of the model / of the
    backgrounds, all parts). ``train_weight_physical``: physical weights of the training part.
    """

    weight_physical: np.ndarray
    train_weight_physical: np.ndarray
    signal_events: float
    background_events: float
    features: list[str]


def _attr(h5: Any, key: str) -> Any:
    value = h5.attrs.get(key)
    return value.decode() if isinstance(value, bytes) else value


def _expected_models(study: Study, task: TrainingTask) -> list[str]:
    return [f"{p.sample}.{p.point_id}" for name in task.signals for p in study.plan() if p.sample == name]


def _check_matches(study: Study, task: TrainingTask, path: Path, h5: Any) -> None:
    from darkscan.datasets.events import EVENTS_FORMAT
    from darkscan.ml.data import require_attributes

    if _attr(h5, "format") != EVENTS_FORMAT:
        raise InputFileError(f"{path}: not a darkscan event-level dataset (format {_attr(h5, 'format')!r}); "
                             f"rebuild it: darkscan histos build {study.source} --task {task.name}")
    expected = {"study": study.name, "task": task.name, "labels": task.labels, "features": task.features,
                "seed": study.datasets.seed, "split": [float(v) for v in task.split],
                "luminosity_fb": float(study.luminosity_fb), "models": _expected_models(study, task)}
    require_attributes(study, task, path, h5, expected)


def _open(study: Study, task: TrainingTask) -> tuple[Path, Any]:
    """The task's event dataset, checked against the study (a stale file: one line naming the field)."""
    from darkscan.ml.data import open_dataset

    return open_dataset(study, task, _check_matches)


def event_units(study: Study, task: TrainingTask) -> list[str]:
    """The unit ids of an event-level task: its signal models, in study order."""
    _, h5 = _open(study, task)
    with h5:
        return list(json.loads(_attr(h5, "models")))


def event_fingerprint(study: Study, task: TrainingTask) -> str:
    _, h5 = _open(study, task)
    with h5:
        return str(_attr(h5, "fingerprint"))


def load_event_unit(study: Study, task: TrainingTask, unit_id: str) -> UnitData:
    """Read, scale and weight one model's unit (background + that model's events) of an event-level task."""
    from darkscan.datasets.events import PARTS, training_weights
    from darkscan.ml.data import Scaler, UnitData, training_seed

    path, h5 = _open(study, task)
    with h5:
        models = json.loads(_attr(h5, "models"))
        if unit_id not in models:
            raise InputFileError(f"{path}: no unit {unit_id!r} in task {task.name!r}: {did_you_mean(unit_id, models)}")
        samples = json.loads(_attr(h5, "samples"))
        x = h5["x"][...]
        sample = h5["sample"][...].astype(np.int64)
        part = h5["part"][...]
        physical = h5["weight_physical"][...]
        fingerprint = str(_attr(h5, "fingerprint"))
    keys = [s["key"] for s in samples]
    background = np.array([s["role"] == "background" for s in samples])
    model = keys.index(unit_id)
    rows = background[sample] | (sample == model)
    index = np.flatnonzero(rows)
    y_all = (sample == model).astype(np.int64)
    masks = {name: index[part[index] == code] for name, code in PARTS.items()}
    train, val, test = masks["train"], masks["val"], masks["test"]
    scaler = Scaler.fit(task.scaling, x[train])

    def weights(rows: np.ndarray) -> np.ndarray:
        return training_weights(task.weights, task.class_weight, y_all[rows], physical[rows]).astype(np.float32)

    events = EventTest(weight_physical=physical[test], train_weight_physical=physical[train],
                       signal_events=float(physical[sample == model].sum()),
                       background_events=float(physical[background[sample]].sum()), features=list(task.features))
    return UnitData(
        task=task.name, unit=unit_id, labels=task.labels, kind="events", class_names=["SM", unit_id],
        s_over_sqrt_b=None, model=unit_id, dataset_path=path, dataset_fingerprint=fingerprint,
        split=tuple(task.split), seed=training_seed(study, task), scaler=scaler,  # type: ignore[arg-type]
        x_train=scaler.transform(x[train]), y_train=y_all[train], x_val=scaler.transform(x[val]), y_val=y_all[val],
        x_test=scaler.transform(x[test]), y_test=y_all[test], raw_test=x[test], test_index=test,
        test_model=sample[test], sample_weight_train=weights(train), sample_weight_val=weights(val), events=events,
    )


def _scan(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray, *, signal_events: float,
          background_events: float) -> Any:
    """The physical-weight significance scan, its best cut among those keeping ≥ MIN_TEST_BACKGROUND test events."""
    from darkscan.ml import metrics

    scan = metrics.significance_scan(scores, labels, signal_events=signal_events, background_events=background_events,
                                     weights=weights, relative_sigma_b=RELATIVE_SIGMA_B)
    background = np.sort(metrics.finite_scores(scores[labels == 0]))
    kept = len(background) - np.searchsorted(background, scan.cuts, side="left")
    # the first cut keeps everything, so at least the selection itself is allowed
    allowed = np.flatnonzero((kept >= MIN_TEST_BACKGROUND) & (scan.b >= 1.0))
    allowed = allowed if len(allowed) else np.array([0])
    return dataclasses.replace(scan, best=int(allowed[np.argmax(scan.z[allowed])]))


def _best(scan: Any, labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    best = scan.best_point()
    # how many simulated test events the efficiencies at the best cut rest on
    above = scores >= best["cut"]
    return {**best, "test_signal_events": int(np.sum(above & (labels == 1))),
            "test_background_events": int(np.sum(above & (labels == 0)))}


def _evaluate_unit(data: UnitData, network: Any, *, trees: bool, threads: int | None,
                   curves: dict[str, Any]) -> dict[str, Any]:
    from darkscan.ml import metrics
    from darkscan.ml.baselines import tree_probabilities

    events: EventTest = data.events
    y_test, y_train = np.asarray(data.y_test), np.asarray(data.y_train)
    weight = events.weight_physical
    scores = np.asarray(network.predict(data.x_test, batch_size=4096, verbose=0), dtype=np.float64)[:, 0]
    train_scores = np.asarray(network.predict(data.x_train, batch_size=4096, verbose=0), dtype=np.float64)[:, 0]
    yields = {"signal_events": events.signal_events, "background_events": events.background_events}
    scan = _scan(scores, y_test, weight, **yields)
    s, b = events.signal_events, events.background_events
    row: dict[str, Any] = {
        "unit": data.unit, "model": data.model, "s_over_sqrt_b": None, "features": events.features,
        "n_train": int(len(y_train)), "n_test": int(len(y_test)), "n_test_signal": int(np.sum(y_test == 1)),
        "auc": metrics.auc(y_test, scores, sample_weight=weight), "auc_unweighted": metrics.auc(y_test, scores),
        "accuracy": float(np.mean((scores > 0.5) == (y_test == 1))),
        "ks_pvalue_train_test": metrics.ks_train_test(train_scores, y_train, scores, y_test, data.class_names),
        "significance": {**_best(scan, y_test, scores), "score": "network output", "relative_sigma_b": RELATIVE_SIGMA_B},
        # every stored event passed the study selection: cutting nowhere else is the selection's cut-and-count
        "cut_and_count": {"s": s, "b": b, "z": float(metrics.significance(s, b)),
                          "z_sigma_b": float(metrics.significance(s, b, RELATIVE_SIGMA_B * b)),
                          "relative_sigma_b": RELATIVE_SIGMA_B},
        "auc_gradient_boosting": None, "significance_gradient_boosting": None, "plots": {},
    }
    lines = {"network": metrics.roc(y_test, scores, sample_weight=weight)}
    if trees:
        # trees do not care about the scaling; the scaled inputs are the network's, row for row
        probabilities = tree_probabilities("gradient_boosting", data.x_train, y_train, data.x_test, seed=data.seed,
                                           threads=threads, sample_weight=data.sample_weight_train)
        tree = probabilities[:, 1]
        row["auc_gradient_boosting"] = metrics.auc(y_test, tree, sample_weight=weight)
        tree_scan = _scan(tree, y_test, weight, **yields)
        row["significance_gradient_boosting"] = _best(tree_scan, y_test, tree)
        lines["gradient boosting"] = metrics.roc(y_test, tree, sample_weight=weight)
    curves["roc"][data.unit] = lines
    curves["significance"][data.unit] = scan
    return row


def _csv(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for row in rows:
        best, selection = row.get("significance") or {}, row.get("cut_and_count") or {}
        tree = row.get("significance_gradient_boosting") or {}
        ks = row.get("ks_pvalue_train_test") or {}
        values = {**row, "ks_min_pvalue": min(ks.values()) if ks else None,
                  "s_selection": selection.get("s"), "b_selection": selection.get("b"),
                  "z_selection": selection.get("z"), "z_sigma_b_selection": selection.get("z_sigma_b"),
                  "cut": best.get("cut"), "s": best.get("s"), "b": best.get("b"), "z": best.get("z"),
                  "z_sigma_b": best.get("z_sigma_b"), "z_gradient_boosting": tree.get("z"),
                  "z_sigma_b_gradient_boosting": tree.get("z_sigma_b")}
        writer.writerow(["" if values.get(c) is None else (f"{values[c]:.6g}" if isinstance(values[c], float) else values[c])
                         for c in _CSV_COLUMNS])
    return buffer.getvalue()


def evaluate_event_task(study: Study, task: TrainingTask, *, progress: Progress | None = None, trees: bool = True,
                        threads: int | None = None, plots: bool = True, onnx: bool = False) -> dict[str, Any]:
    """Evaluate every unit of an event-level task; write ``evaluation/<task>.json`` and ``.csv``; return the JSON data.

    Raises:
        InputFileError: the dataset is missing or stale, a unit has no trained model, or a model was
            trained on another dataset, with other settings or on other features.
    """
    from darkscan.io import write_json_atomic, write_text_atomic
    from darkscan.ml.evaluate import EVALUATION_FORMAT, _check_settings, _clean, evaluation_dir
    from darkscan.ml.train import load_model, model_path

    progress = progress if progress is not None else NullProgress()
    from darkscan.ml.data import dataset_path

    unit_ids = event_units(study, task)
    path, fingerprint = dataset_path(study, task.name), event_fingerprint(study, task)
    curves: dict[str, Any] = {"roc": {}, "significance": {}, "confusion": {}, "regression": {}, "history": {}}
    rows = []
    progress_id = progress.add_task(f"{task.name}: evaluating", total=len(unit_ids))
    for unit in unit_ids:
        file = model_path(study, task.name, unit)
        if not file.exists():
            raise InputFileError(f"{file}: no trained model for unit {unit!r} of task {task.name!r}; train first: "
                                 f"darkscan train {study.source} --task {task.name}")
        network, sidecar = load_model(file, dataset_fingerprint=fingerprint)
        _check_settings(file, sidecar, task, study)
        data = load_event_unit(study, task, unit)
        have = tuple(network.inputs[0].shape[1:])
        if have != data.x_test.shape[1:]:
            raise InputFileError(f"{file}: the model takes {list(have)} inputs per event, {path} holds "
                                 f"{len(task.features)} features ({', '.join(task.features)})")
        row = _evaluate_unit(data, network, trees=trees, threads=threads, curves=curves)
        row["epochs_run"] = sidecar.get("epochs_run")
        row["network"] = sidecar.get("network")
        row["weights"] = {"scheme": task.weights, "class_weight": task.class_weight}
        curves["history"][unit] = sidecar.get("history") or {}
        if onnx:
            from darkscan.ml.onnx import export_beside

            row["onnx"] = export_beside(network, data, file)
        rows.append(row)
        progress.advance(progress_id, 1)
    result: dict[str, Any] = {
        "format": EVALUATION_FORMAT, "task": task.name, "labels": task.labels, "network": task.network,
        "histogram": None, "features": list(task.features), "dataset": f"datasets/{path.name}",
        "dataset_fingerprint": fingerprint, "luminosity_fb": study.luminosity_fb, "units": rows,
        "train_on_test_on": None, "significance_score": "the network score", "plots": {},
    }
    out = evaluation_dir(study)
    if plots:
        from darkscan.ml.plots import task_plots

        result["plots"] = task_plots(out, result, curves)
        for row in rows:
            row["plots"] = {k: v for k, v in result["plots"].items() if k in ("roc", "significance")}
    write_json_atomic(out / f"{task.name}.json", _clean(result))
    write_text_atomic(out / f"{task.name}.csv", _csv(rows))
    return _clean(result)
