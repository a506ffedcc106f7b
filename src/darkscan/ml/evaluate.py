"""Evaluation of the trained networks beside the exact references, one JSON + CSV per task.

:func:`evaluate_study` reads, for every unit of every training task (:mod:`darkscan.ml.data`), the
saved network (:mod:`darkscan.ml.train`) and the *same* test histograms, and computes:

- the network's AUC (ROC via scikit-learn) next to the dataset's optimal ceiling
  (``/ceiling/auc_llr``, the exact-moment likelihood-ratio AUC of :mod:`darkscan.datasets.ceiling`),
  the ratio network/ceiling, and the AUCs of the baselines on the same rows
  (:mod:`darkscan.ml.baselines`): the exact likelihood ratio built from the dataset's shapes, the
  histogram total alone, a random forest and gradient-boosted trees trained on the same training
  rows;
- accuracy next to the Bayes-rule accuracy (equal priors), and for multiclass/pure tasks the
  confusion matrix with the reference counting rule (a histogram counts for a class when that
  output is the largest and above 2/N_classes);
- the Kolmogorov–Smirnov p-value of train vs test network scores per class (overfitting);
- for binary units the best cut-and-count region of cells with its Asimov Z (± a 10 % background
  uncertainty, Cowan et al.), from a scan over the cells' binned likelihood-ratio score; and the
  median discovery significance of one observed histogram with the network's (and the likelihood
  ratio's) score as test statistic (:func:`darkscan.ml.metrics.median_significance`);
- for regression, MAE / MAPE (percent) / RMSE per mass point, next to the likelihood posterior mean;
- for binary tasks with several models, the train-on-A/test-on-B AUC matrix per S/√B: every binary
  network on every other model's test histograms (scaled with the network's own training scaler).

Files: ``study.output_dir/evaluation/<task>.json`` (schema below), ``<task>.csv`` (one row per
unit) and plots ``<task>_*.png`` beside them (:mod:`darkscan.ml.plots`). The JSON holds no
timestamps or absolute paths: the same models and datasets give the same bytes.

``{"task", "labels", "network", "histogram", "units": [{"unit", "model", "s_over_sqrt_b", "auc",
"auc_ceiling", "ratio_to_ceiling", "auc_likelihood_ratio", "auc_counting", "auc_random_forest",
"auc_gradient_boosting", "accuracy", "bayes_accuracy", "confusion", "class_names",
"ks_pvalue_train_test", "significance", "regression", "plots", …}], "train_on_test_on", "plots"}``

:func:`apply_model` applies one saved model to another dataset file (the "incorrect assumptions
about the DM nature" question for any pair of files).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from darkscan.datasets.build import NullProgress, Progress
from darkscan.errors import InputFileError, StudyError, did_you_mean
from darkscan.io import write_json_atomic, write_text_atomic
from darkscan.ml import metrics
from darkscan.ml.baselines import DatasetShapes, LikelihoodRatio, counting_scores, cut_and_count, read_shapes, tree_probabilities

if TYPE_CHECKING:
    from darkscan.ml.data import UnitData
    from darkscan.study import Study, TrainingTask

__all__ = ["EVALUATION_FORMAT", "apply_model", "evaluate_study", "evaluate_task", "evaluation_dir"]

EVALUATION_FORMAT = "darkscan-evaluation"

#: CSV columns, one row per unit
_CSV_COLUMNS = ["unit", "model", "s_over_sqrt_b", "auc", "auc_ceiling", "ratio_to_ceiling", "auc_likelihood_ratio",
                "auc_counting", "auc_random_forest", "auc_gradient_boosting", "accuracy", "bayes_accuracy",
                "ks_min_pvalue", "z", "z_sigma_b", "mae", "mape", "rmse"]


def __dir__() -> list[str]:
    return list(__all__)


def evaluation_dir(study: Study) -> Path:
    return study.output_dir / "evaluation"


def _float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _predict(model: Any, inputs: Any) -> np.ndarray:
    return np.asarray(model.predict(inputs, batch_size=4096, verbose=0), dtype=np.float64)


def _input_shapes(model: Any) -> list[tuple[int | None, ...]]:
    return [tuple(t.shape[1:]) for t in model.inputs]


def _check_model_fits(model: Any, model_file: Path, x_shape: tuple[int, ...], n_classes: int | None,
                      dataset: Path) -> None:
    """A model whose input or output does not match the dataset: one line naming both files."""
    expected = tuple(x_shape)
    have = _input_shapes(model)[0]
    if tuple(have) != expected:
        raise InputFileError(f"{model_file}: the model takes histograms of shape {list(have)}, {dataset} holds "
                             f"{list(expected)}; it was trained on another representation")
    outputs = int(model.outputs[0].shape[-1])
    if n_classes is not None and outputs != (1 if n_classes == 2 else n_classes):
        raise InputFileError(f"{model_file}: the model has {outputs} output(s), {dataset} has {n_classes} classes")


class _TrainOnTestOn:
    """Collects, per S/√B, each binary unit's network and test data; computes the AUC matrix."""

    def __init__(self) -> None:
        self.models: list[str] = []
        self.values: list[float] = []
        self.matrices: list[list[list[float | None]]] = []
        self._current: float | None = None
        self._units: dict[str, tuple[Any, Any, np.ndarray, np.ndarray]] = {}

    def add(self, value: float, model_name: str, network: Any, scaler: Any, raw_test: np.ndarray, y_test: np.ndarray) -> None:
        if self._current is not None and value != self._current:
            self._flush()
        self._current = value
        self._units[model_name] = (network, scaler, raw_test, y_test)

    def _flush(self) -> None:
        if self._current is None:
            return
        names = list(self._units)
        if not self.models:
            self.models = names
        matrix: list[list[float | None]] = []
        for a in self.models:
            row: list[float | None] = []
            for b in self.models:
                if a not in self._units or b not in self._units:
                    row.append(None)
                    continue
                network, scaler = self._units[a][:2]
                raw_test, y_test = self._units[b][2:]
                scores = _predict(network, scaler.transform(raw_test))[:, 0]
                row.append(metrics.auc(y_test, scores))
            matrix.append(row)
        self.values.append(float(self._current))
        self.matrices.append(matrix)
        self._units = {}
        self._current = None

    def result(self) -> dict[str, Any] | None:
        self._flush()
        if len(self.models) < 2:
            return None
        return {"models": self.models, "s_over_sqrt_b": self.values, "auc": self.matrices}


def _ceiling_arrays(path: Path) -> dict[str, np.ndarray]:
    import h5py

    with h5py.File(path, "r") as h5:
        if "ceiling" not in h5:
            return {}
        out = {name: h5[f"ceiling/{name}"][...] for name in ("auc", "auc_llr", "best_channel_auc") if f"ceiling/{name}" in h5}
        out["bound"] = np.array(str(h5["ceiling"].attrs.get("bound", "")))
        return out


def _model_targets(study: Study, task: TrainingTask, shapes: DatasetShapes) -> np.ndarray:
    """The regression target (e.g. m_med in GeV) of each model of the dataset."""
    values = {f"{p.sample}.{p.point_id}": p.parameters.get(task.target or "") for p in study.plan()}
    return np.array([float(values[name]) for name in shapes.model_names], dtype=np.float64)


def _regression_stats(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    error = predicted - truth
    return {"mae": float(np.mean(np.abs(error))), "mape": float(100.0 * np.mean(np.abs(error) / np.abs(truth))),
            "rmse": float(np.sqrt(np.mean(error**2)))}


def _empty_row(data: UnitData) -> dict[str, Any]:
    return {"unit": data.unit, "model": data.model, "s_over_sqrt_b": data.s_over_sqrt_b, "auc": None,
            "auc_ceiling": None, "ratio_to_ceiling": None, "auc_likelihood_ratio": None, "auc_counting": None,
            "auc_random_forest": None, "auc_gradient_boosting": None, "accuracy": None, "bayes_accuracy": None,
            "confusion": None, "class_names": data.class_names or None, "ks_pvalue_train_test": None,
            "significance": None, "regression": None, "plots": {}}


def _evaluate_classifier(data: UnitData, shapes: DatasetShapes, ceilings: dict[str, np.ndarray], network: Any, *,
                         trees: bool, threads: int | None, curves: dict[str, Any]) -> dict[str, Any]:
    row = _empty_row(data)
    test = _predict(network, data.inputs("test"))
    train = _predict(network, data.inputs("train"))
    y_test, y_train = np.asarray(data.y_test), np.asarray(data.y_train)
    value = data.s_over_sqrt_b
    lr = LikelihoodRatio.from_shapes(shapes, value)
    row["likelihood_ratio_channel"] = lr.channel
    tree_scores: dict[str, np.ndarray] = {}
    if trees:
        for kind in ("random_forest", "gradient_boosting"):
            tree_scores[kind] = tree_probabilities(kind, data.x_train, y_train, data.x_test, seed=data.seed,  # type: ignore[arg-type]
                                                   threads=threads)
    if test.shape[1] == 1:  # SM vs SM + signal
        scores, train_scores = test[:, 0], train[:, 0]
        m = shapes.model_names.index(data.model) if data.model is not None else None
        lr_scores = lr.binary_scores(data.raw_test, model=m)
        row["auc"] = metrics.auc(y_test, scores)
        row["auc_likelihood_ratio"] = metrics.auc(y_test, lr_scores)
        row["auc_counting"] = metrics.auc(y_test, counting_scores(data.raw_test))
        for kind, probabilities in tree_scores.items():
            row[f"auc_{kind}"] = metrics.auc(y_test, probabilities[:, 1])
        row["accuracy"] = float(np.mean((scores > 0.5) == (y_test == 1)))
        # equal priors: the Bayes rule says SM + signal when the likelihood ratio exceeds 1
        row["bayes_accuracy"] = float(np.mean((lr_scores > 0) == (y_test == 1)))
        row["ks_pvalue_train_test"] = metrics.ks_train_test(train_scores, y_train, scores, y_test, data.class_names)
        row["median_significance"] = {
            "network": metrics.median_significance(scores[y_test == 0], scores[y_test == 1]),
            "likelihood_ratio": metrics.median_significance(lr_scores[y_test == 0], lr_scores[y_test == 1])}
        j = shapes.s_over_sqrt_b.index(value) if value is not None else None
        if m is not None and j is not None and ceilings:
            row["auc_ceiling"] = float(ceilings["auc_llr"][m, j])
            row["auc_ceiling_large_b"] = float(ceilings["auc"][m, j])
            row["ceiling_bound"] = str(ceilings["bound"])
            if "best_channel_auc" in ceilings:
                row["auc_ceiling_best_channel"] = float(ceilings["best_channel_auc"][m, j])
            row["ratio_to_ceiling"] = row["auc"] / row["auc_ceiling"]
            scan = cut_and_count(shapes, m, value)
            row["significance"] = {**scan.best_point(), "score": "cell likelihood ratio s/(s+b)",
                                   "z_selection": float(scan.z[0]), "relative_sigma_b": scan.relative_sigma_b}
            curves["significance"][data.unit] = scan
        elif data.labels == "multimodel" and j is not None and ceilings:
            # SM vs each model's histograms within the test rows: every network AUC next to a ceiling
            per_model = {}
            for k, name in enumerate(shapes.model_names):
                rows = (data.test_model == k) | (y_test == 0)
                if (y_test[rows] == 1).any():
                    per_model[name] = {"auc": metrics.auc(y_test[rows], scores[rows]),
                                       "auc_likelihood_ratio": metrics.auc(y_test[rows], lr_scores[rows]),
                                       "auc_ceiling": float(ceilings["auc_llr"][k, j])}
            row["per_model"] = per_model
        curves["roc"][data.unit] = {"network": metrics.roc(y_test, scores), "likelihood ratio": metrics.roc(y_test, lr_scores)}
        return row
    # several classes: SM + K models (multiclass) or pure images
    n_classes = test.shape[1]
    posterior = lr.posterior(data.raw_test)
    bayes = lr.predict(data.raw_test)
    predicted = np.argmax(test, axis=1)
    counted = metrics.counting_rule(test)
    confusion = metrics.confusion_matrix(y_test, counted, n_classes)
    row["accuracy"] = float(np.mean(predicted == y_test))
    row["bayes_accuracy"] = float(np.mean(bayes == y_test))
    row["accuracy_counting_rule"] = float(np.trace(confusion) / len(y_test))
    row["unassigned_counting_rule"] = int(np.sum(counted < 0))
    row["confusion"] = confusion.tolist()
    row["confusion_bayes"] = metrics.confusion_matrix(y_test, bayes, n_classes).tolist()
    row["auc"] = metrics.multiclass_auc(y_test, test)
    row["auc_likelihood_ratio"] = metrics.multiclass_auc(y_test, posterior)
    for kind, probabilities in tree_scores.items():
        row[f"auc_{kind}"] = metrics.multiclass_auc(y_test, probabilities)
        row[f"accuracy_{kind}"] = float(np.mean(np.argmax(probabilities, axis=1) == y_test))
    row["ks_pvalue_train_test"] = metrics.ks_train_test(train, y_train, test, y_test, data.class_names)
    curves["confusion"][data.unit] = (confusion, data.class_names)
    # one-vs-rest ROC of the SM class (SM-like score: its output)
    curves["roc"][data.unit] = {"network (SM vs rest)": metrics.roc(y_test != 0, 1 - test[:, 0]),
                                "likelihood ratio": metrics.roc(y_test != 0, 1 - posterior[:, 0])}
    return row


def _evaluate_regression(study: Study, task: TrainingTask, data: UnitData, shapes: DatasetShapes, network: Any,
                         curves: dict[str, Any]) -> dict[str, Any]:
    from scipy.special import softmax

    row = _empty_row(data)
    predicted = _predict(network, data.inputs("test"))[:, 0]
    truth = np.asarray(data.y_test, dtype=np.float64)
    # the likelihood's posterior mean (equal priors over the scan points of the row's DM candidate, at the
    # row's S/√B): the estimator of least mean squared error given the exact shapes
    targets = _model_targets(study, task, shapes)
    sample_of_model = np.array([name.split(".", 1)[0] for name in shapes.model_names])
    reference = np.empty(len(truth))
    sb_rows = data.test_s_over_sqrt_b if data.test_s_over_sqrt_b is not None else np.full(len(truth), shapes.s_over_sqrt_b[0])
    for value in np.unique(sb_rows):
        ll = LikelihoodRatio.from_shapes(shapes, float(value)).log_likelihoods(data.raw_test[sb_rows == value])[:, 1:]
        candidates = sample_of_model[data.test_model[sb_rows == value]]
        for sample in np.unique(candidates):
            rows = candidates == sample
            allowed = sample_of_model == sample
            posterior = softmax(np.where(allowed[None, :], ll[rows], -np.inf), axis=1)
            index = np.flatnonzero(sb_rows == value)[rows]
            reference[index] = posterior @ np.where(allowed, targets, 0.0)
    per_point = []
    for target in np.unique(truth):
        rows = truth == target
        per_point.append({"target": float(target), **_regression_stats(predicted[rows], truth[rows]),
                          "likelihood": _regression_stats(reference[rows], truth[rows]), "n": int(rows.sum())})
    row["regression"] = {**_regression_stats(predicted, truth), "per_point": per_point, "target": task.target,
                         "likelihood": _regression_stats(reference, truth)}
    curves["regression"][data.unit] = (truth, predicted, reference)
    return row


def _check_settings(model_file: Path, sidecar: dict[str, Any], task: TrainingTask, study: Study) -> None:
    from darkscan.ml.train import hyperparameters

    now = hyperparameters(task)
    then = sidecar.get("hyperparameters") or {}
    changed = sorted(k for k in now if then.get(k) != now[k])
    if changed:
        raise InputFileError(f"{model_file}: trained with other settings than {study.source} now has "
                             f"({', '.join(f'{k}: {then.get(k)!r} → {now[k]!r}' for k in changed[:3])}); "
                             f"retrain: darkscan train {study.source} --task {task.name}")


def evaluate_task(study: Study, task_name: str, *, progress: Progress | None = None, trees: bool = True,
                  threads: int | None = None, plots: bool = True, onnx: bool = False) -> dict[str, Any]:
    """Evaluate every unit of one task; write ``evaluation/<task>.json``, ``.csv`` and plots; return the JSON data.

    Raises:
        StudyError: no such task.
        InputFileError: the dataset is missing or from another study version, a unit has no trained
            model, or a model does not match the dataset (other fingerprint, settings or shape).
    """
    from darkscan.ml.data import dataset_path, load_unit, task_of, units
    from darkscan.ml.train import load_model, model_path

    task = task_of(study, task_name)
    if task.network == "event_dnn":  # single events: other references (darkscan.ml.events)
        from darkscan.ml.events import evaluate_event_task

        return evaluate_event_task(study, task, progress=progress, trees=trees, threads=threads, plots=plots, onnx=onnx)
    progress = progress if progress is not None else NullProgress()
    unit_ids = units(study, task.name)
    path = dataset_path(study, task.name)
    missing = [u for u in unit_ids if not model_path(study, task.name, u).exists()]
    if missing:
        raise InputFileError(f"{model_path(study, task.name, missing[0])}: no trained model for unit {missing[0]!r} of task "
                             f"{task.name!r} ({len(missing)} of {len(unit_ids)} missing); train first: "
                             f"darkscan train {study.source} --task {task.name}")
    shapes = read_shapes(path)
    ceilings = _ceiling_arrays(path)
    curves: dict[str, Any] = {"roc": {}, "significance": {}, "confusion": {}, "regression": {}, "history": {}}
    cross = _TrainOnTestOn()
    rows = []
    progress_id = progress.add_task(f"{task.name}: evaluating", total=len(unit_ids))
    for unit in unit_ids:
        data = load_unit(study, task.name, unit)
        file = model_path(study, task.name, unit)
        network, sidecar = load_model(file, dataset_fingerprint=data.dataset_fingerprint)
        _check_settings(file, sidecar, task, study)
        _check_model_fits(network, file, data.x_test.shape[1:],
                          None if task.labels == "regression" else len(data.class_names), path)
        if task.labels == "regression":
            row = _evaluate_regression(study, task, data, shapes, network, curves)
        else:
            row = _evaluate_classifier(data, shapes, ceilings, network, trees=trees, threads=threads, curves=curves)
        row["epochs_run"] = sidecar.get("epochs_run")
        row["network"] = sidecar.get("network")
        curves["history"][unit] = sidecar.get("history") or {}
        if task.labels == "binary" and data.s_over_sqrt_b is not None and data.model is not None:
            cross.add(data.s_over_sqrt_b, data.model, network, data.scaler, data.raw_test, np.asarray(data.y_test))
        if onnx:
            from darkscan.ml.onnx import export_beside

            row["onnx"] = export_beside(network, data, file)
        rows.append(row)
        progress.advance(progress_id, 1)
    result: dict[str, Any] = {
        "format": EVALUATION_FORMAT, "task": task.name, "labels": task.labels, "network": task.network,
        "histogram": task.histogram, "dataset": f"datasets/{path.name}", "dataset_fingerprint": shapes_fingerprint(path),
        "units": rows, "train_on_test_on": cross.result(), "plots": {},
    }
    out = evaluation_dir(study)
    if plots:
        from darkscan.ml.plots import task_plots

        result["plots"] = task_plots(out, result, curves)
        for row in rows:
            row["plots"] = {k: v for k, v in result["plots"].items() if k in ("roc", "significance", "confusion", "regression")}
    write_json_atomic(out / f"{task.name}.json", _clean(result))
    write_text_atomic(out / f"{task.name}.csv", _csv(rows))
    return _clean(result)


def shapes_fingerprint(path: Path) -> str:
    import h5py

    with h5py.File(path, "r") as h5:
        value = h5.attrs.get("fingerprint")
    return value.decode() if isinstance(value, bytes) else str(value)


def _clean(value: Any) -> Any:
    """JSON-ready: numpy scalars → Python, non-finite floats → None (JSON has no inf/NaN)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float(value)
    return value


def _csv(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for row in rows:
        significance = row.get("significance") or {}
        regression = row.get("regression") or {}
        ks = row.get("ks_pvalue_train_test") or {}
        values = {**row, "ks_min_pvalue": min(ks.values()) if ks else None, "z": significance.get("z"),
                  "z_sigma_b": significance.get("z_sigma_b"), "mae": regression.get("mae"),
                  "mape": regression.get("mape"), "rmse": regression.get("rmse")}
        writer.writerow(["" if values.get(c) is None else (f"{values[c]:.6g}" if isinstance(values[c], float) else values[c])
                         for c in _CSV_COLUMNS])
    return buffer.getvalue()


def evaluate_study(study: Study, *, tasks: Sequence[str] | None = None, progress: Progress | None = None,
                   trees: bool = True, threads: int | None = None, plots: bool = True,
                   onnx: bool = False) -> dict[str, dict[str, Any]]:
    """Evaluate every training task (or ``tasks``); return ``{task: evaluation}`` (also written to disk).

    Every task's dataset and models are checked before the first (slow) evaluation, so a stale or
    missing one fails fast.
    """
    from darkscan.ml.data import units
    from darkscan.ml.train import model_path

    names = [t.name for t in study.training]
    if not names:
        raise StudyError(f"{study.source}: training: no training tasks to evaluate")
    for name in tasks or ():
        if name not in names:
            raise StudyError(f"{study.source}: no training task {name!r}: {did_you_mean(name, names)}")
    selected = [t for t in names if not tasks or t in tasks]
    for name in selected:
        for unit in units(study, name):
            if not model_path(study, name, unit).exists():
                raise InputFileError(f"{model_path(study, name, unit)}: no trained model for unit {unit!r} of task "
                                     f"{name!r}; train first: darkscan train {study.source} --task {name}")
    return {name: evaluate_task(study, name, progress=progress, trees=trees, threads=threads, plots=plots, onnx=onnx)
            for name in selected}


def apply_model(model_file: Path, dataset_file: Path, *, output: Path | None = None) -> dict[str, Any]:
    """Apply a saved model to every group of another dataset file; AUCs next to that file's references.

    When the dataset is the one the model was trained on, only the test rows of the model's own
    group are used (the split is recomputed from the sidecar's seed), so no training histogram is scored. The
    result is written to ``output`` (default: ``<dataset folder>/../evaluation/applied/<model>__on__<dataset>.json``).

    Raises:
        InputFileError: a missing or unreadable file, or a model whose input shape or number of
            classes does not match the dataset.
    """
    import h5py

    from darkscan.ml.data import Scaler, split_indices
    from darkscan.ml.train import load_model

    model_file, dataset_file = Path(model_file), Path(dataset_file)
    shapes = read_shapes(dataset_file)
    network, sidecar = load_model(model_file)
    labels = str(sidecar.get("labels"))
    if labels == "regression" or shapes.labels in ("regression",):
        raise InputFileError(f"{model_file}: applying a model to another dataset is for classifiers; "
                             f"this is a {labels} model and {dataset_file} a {shapes.labels} dataset")
    scaler = Scaler.from_json(sidecar["scaler"])
    ceilings = _ceiling_arrays(dataset_file)
    same = sidecar.get("dataset_fingerprint") == shapes_fingerprint(dataset_file)
    results = []
    with h5py.File(dataset_file, "r") as h5:
        groups = json.loads(h5.attrs["groups"])
        n_classes = len(json.loads(h5.attrs["class_names"]))
        _check_model_fits(network, model_file, tuple(h5[groups[0]]["x"].shape[1:]), n_classes, dataset_file)
        for name in groups:
            group = h5[name]
            x, y, models = group["x"][...], group["y"][...].astype(np.int64), group["model"][...].astype(np.int64)
            unit = name.replace("/", "__") if shapes.labels == "binary" else name
            if same and unit == sidecar.get("unit"):
                # the model's own group: score only its test rows, never a training histogram
                _, _, test = split_indices(len(x), tuple(sidecar["split"]), int(sidecar["seed"]),
                                           f"{sidecar['task']}/{unit}")
                x, y, models = x[test], y[test], models[test]
            value = float(group.attrs["s_over_sqrt_b"]) if "s_over_sqrt_b" in group.attrs else None
            lr = LikelihoodRatio.from_shapes(shapes, value)
            scores = _predict(network, scaler.transform(x))
            entry: dict[str, Any] = {"group": name, "s_over_sqrt_b": value, "n": int(len(y))}
            if scores.shape[1] == 1:
                present = sorted(set(models[y == 1].tolist()))
                m = present[0] if len(present) == 1 else None
                entry["auc"] = metrics.auc(y, scores[:, 0])
                entry["auc_likelihood_ratio"] = metrics.auc(y, lr.binary_scores(x, model=m))
                if m is not None and value is not None and ceilings:
                    entry["model"] = shapes.model_names[m]
                    entry["auc_ceiling"] = float(ceilings["auc_llr"][m, shapes.s_over_sqrt_b.index(value)])
            else:
                entry["accuracy"] = float(np.mean(np.argmax(scores, axis=1) == y))
                entry["bayes_accuracy"] = float(np.mean(lr.predict(x) == y))
            results.append(entry)
    result = _clean({"format": EVALUATION_FORMAT, "model": model_file.name, "trained_on": sidecar.get("task"),
                     "unit": sidecar.get("unit"), "dataset": dataset_file.name, "same_dataset": same, "groups": results})
    target = output or dataset_file.parent.parent / "evaluation" / "applied" / f"{model_file.stem}__on__{dataset_file.stem}.json"
    write_json_atomic(target, result)
    result["path"] = str(target)
    return result
