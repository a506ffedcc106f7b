"""darkscan evaluate on small datasets built by darkscan and networks trained by darkscan train.

Every task type (binary, multimodel, multiclass, pure, regression) is evaluated here on CPU; the
numbers are checked against independent computations (the stored ceiling, the likelihood ratio,
the saved model's own predictions, ONNX Runtime on the exported file), and broken inputs give
one-line errors with exit code 2.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import yaml
from ml_eval_toy import make_study, study_data
from typer.testing import CliRunner

from darkscan.cli.main import app
from darkscan.datasets.build import build_datasets
from darkscan.study import Study

pytest.importorskip("keras")
pytest.importorskip("mplhep")

#: small and quick: 150 histograms per class, a few epochs
SIZE = {"n_histograms": 150, "histograms_per_point": 100}
FEW_EPOCHS = {"epochs": 6, "patience": 3}
UNIT_KEYS = {"unit", "model", "s_over_sqrt_b", "auc", "auc_ceiling", "ratio_to_ceiling", "auc_likelihood_ratio",
             "auc_counting", "auc_random_forest", "auc_gradient_boosting", "accuracy", "bayes_accuracy", "confusion",
             "class_names", "ks_pvalue_train_test", "significance", "regression", "plots"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Study, dict[str, Any]]:
    from darkscan.ml.evaluate import evaluate_study
    from darkscan.ml.train import train_study

    study = make_study(tmp_path_factory.mktemp("evaluate"), training=FEW_EPOCHS, **SIZE)
    build_datasets(study, plots=False)
    train_study(study)
    results = evaluate_study(study, threads=1, onnx=True, tasks=["spin1_vs_sm", "mass"])
    results.update(evaluate_study(study, threads=1, tasks=["any_vs_sm", "which", "pure"]))
    return study, results


def test_binary_units_beside_ceiling_and_baselines(trained: tuple[Study, dict[str, Any]]) -> None:
    from darkscan.ml.baselines import LikelihoodRatio, read_shapes
    from darkscan.ml.data import load_unit
    from darkscan.ml.metrics import auc, median_significance
    from darkscan.ml.train import load_model, model_path

    study, results = trained
    result = results["spin1_vs_sm"]
    assert result["labels"] == "binary" and result["network"] == "dnn" and result["histogram"] == "image"
    assert len(result["units"]) == 6  # 3 models × 2 S/√B
    dataset = study.output_dir / "datasets" / "spin1_vs_sm.h5"
    with h5py.File(dataset) as h5:
        ceiling = h5["ceiling/auc_llr"][...]
    shapes = read_shapes(dataset)
    for row in result["units"]:
        assert UNIT_KEYS <= set(row)
        m, j = shapes.model_names.index(row["model"]), shapes.s_over_sqrt_b.index(row["s_over_sqrt_b"])
        assert row["auc_ceiling"] == ceiling[m, j]
        assert row["ratio_to_ceiling"] == pytest.approx(row["auc"] / row["auc_ceiling"])
        # the stored numbers are the saved network's and the likelihood ratio's on the unit's test rows
        data = load_unit(study, "spin1_vs_sm", row["unit"])
        network, _ = load_model(model_path(study, "spin1_vs_sm", row["unit"]))
        scores = network.predict(data.x_test, verbose=0)[:, 0]
        assert row["auc"] == pytest.approx(auc(data.y_test, scores), abs=1e-12)
        lr = LikelihoodRatio.from_shapes(shapes, row["s_over_sqrt_b"]).binary_scores(data.raw_test, model=m)
        assert row["auc_likelihood_ratio"] == pytest.approx(auc(data.y_test, lr), abs=1e-12)
        for key in ("auc", "auc_likelihood_ratio", "auc_counting", "auc_random_forest", "auc_gradient_boosting"):
            assert 0.3 < row[key] <= 1.0, key
        assert set(row["ks_pvalue_train_test"]) == {"SM", "SM+NP"}
        z = row["significance"]
        assert z["z"] >= z["z_selection"] > 0 and z["z_sigma_b"] < z["z"]
        median = row["median_significance"]
        y = np.asarray(data.y_test)
        assert median["network"] == median_significance(scores[y == 0], scores[y == 1])
        assert -4 < median["likelihood_ratio"]["z"] <= median["likelihood_ratio"]["z_max"]
        assert row["onnx"]["max_deviation"] <= 1e-5
    cross = result["train_on_test_on"]
    assert cross["models"] == shapes.model_names and cross["s_over_sqrt_b"] == [1.0, 2.0]
    for matrix, value in zip(cross["auc"], cross["s_over_sqrt_b"]):
        for a, name in enumerate(shapes.model_names):
            # the diagonal is each network on its own test data: the unit's AUC
            own = next(r for r in result["units"] if r["model"] == name and r["s_over_sqrt_b"] == value)
            assert matrix[a][a] == pytest.approx(own["auc"], abs=1e-12)
    folder = study.output_dir / "evaluation"
    assert set(result["plots"]) == {"roc", "auc_vs_s_over_sqrt_b", "training_curves", "significance", "train_on_test_on"}
    for name in result["plots"].values():
        assert (folder / name).stat().st_size > 5000
    on_disk = json.loads((folder / "spin1_vs_sm.json").read_text())
    assert on_disk == result
    with open(folder / "spin1_vs_sm.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [r["unit"] for r in table] == [r["unit"] for r in result["units"]]
    assert float(table[0]["auc_ceiling"]) == pytest.approx(result["units"][0]["auc_ceiling"], rel=1e-5)


def test_onnx_files_reproduce_keras(trained: tuple[Study, dict[str, Any]]) -> None:
    """The exported files, run by ONNX Runtime on raw histograms, give the Keras outputs on scaled ones."""
    from darkscan.ml.data import load_unit
    from darkscan.ml.onnx import onnx_predict
    from darkscan.ml.train import load_model, model_path

    study, _ = trained
    for task, unit in (("spin1_vs_sm", "sb_1__spin1.m_med-500"), ("mass", "all")):
        data = load_unit(study, task, unit)
        network, _ = load_model(model_path(study, task, unit))
        expected = network.predict(data.inputs("test"), verbose=0)
        onnx = onnx_predict(model_path(study, task, unit).with_suffix(".onnx"), data.raw_test, data.candidate_test)
        scale = np.maximum(1.0, np.abs(expected))
        assert np.max(np.abs(onnx - expected) / scale) <= 1e-5


def test_multiclass_and_pure(trained: tuple[Study, dict[str, Any]]) -> None:
    _, results = trained
    for task, n_classes in (("which", 5), ("pure", 4)):
        for row in results[task]["units"]:
            confusion = np.array(row["confusion"])
            assert confusion.shape == (n_classes, n_classes) and len(row["class_names"]) == n_classes
            # the counting rule leaves some histograms unassigned, never counts one twice
            assert confusion.sum() + row["unassigned_counting_rule"] == sum(map(sum, row["confusion_bayes"]))
            assert row["accuracy_counting_rule"] <= row["accuracy"] + 1e-12
            assert 1.0 / n_classes - 0.1 < row["bayes_accuracy"] <= 1.0
            assert set(row["ks_pvalue_train_test"]) == set(row["class_names"])
        assert {"confusion", "roc"} <= set(results[task]["plots"])
    multimodel = results["any_vs_sm"]["units"]
    assert [r["unit"] for r in multimodel] == ["sb_1", "sb_2"]
    for row in multimodel:
        assert row["auc_ceiling"] is None and len(row["per_model"]) == 4
        assert all(v["auc_ceiling"] > 0.5 for v in row["per_model"].values())


def test_regression_per_mass_point(trained: tuple[Study, dict[str, Any]]) -> None:
    _, results = trained
    (row,) = results["mass"]["units"]
    regression = row["regression"]
    assert [p["target"] for p in regression["per_point"]] == [500.0, 1000.0, 2000.0]
    assert sum(p["n"] for p in regression["per_point"]) == 2 * 3 * 100 * 0.2
    for point in regression["per_point"]:
        assert point["rmse"] >= point["mae"] > 0
        assert point["mape"] == pytest.approx(100 * point["mae"] / point["target"])
    assert set(results["mass"]["plots"]) == {"training_curves", "regression"}


def test_same_models_same_json(trained: tuple[Study, dict[str, Any]]) -> None:
    from darkscan.ml.evaluate import evaluate_study

    study, _ = trained
    path = study.output_dir / "evaluation" / "pure.json"
    before = path.read_bytes()
    evaluate_study(study, tasks=["pure"], threads=1)
    assert path.read_bytes() == before


def test_apply_a_model_to_another_dataset(trained: tuple[Study, dict[str, Any]], tmp_path: Path) -> None:
    study, results = trained
    model = study.output_dir / "models" / "spin1_vs_sm" / "sb_2__spin1.m_med-2000.keras"
    runner = CliRunner()
    # its own dataset: on its own group only the test rows, so the AUC is the unit's
    own = runner.invoke(app, ["evaluate", str(study.source), "--model", str(model),
                              "--dataset", str(study.output_dir / "datasets" / "spin1_vs_sm.h5")])
    assert own.exit_code == 0, own.output
    applied = json.loads(Path(own.stdout.strip()).read_text())
    assert applied["same_dataset"]
    group = next(g for g in applied["groups"] if g["group"] == "sb_2/spin1.m_med-2000")
    unit = next(r for r in results["spin1_vs_sm"]["units"] if r["unit"] == "sb_2__spin1.m_med-2000")
    assert group["auc"] == pytest.approx(unit["auc"]) and group["n"] == 60
    # another dataset of the same representation: the multimodel file (all its rows)
    other = runner.invoke(app, ["evaluate", str(study.source), "--model", str(model),
                                "--dataset", str(study.output_dir / "datasets" / "any_vs_sm.h5")])
    assert other.exit_code == 0, other.output
    result = json.loads(Path(other.stdout.strip()).read_text())
    assert not result["same_dataset"] and [g["n"] for g in result["groups"]] == [300, 300]


def _with_training(data: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    for task in data["training"]:
        task.update(settings)
    return data


def _one_line_error(result: Any, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    # the progress bar may have started; the error itself is one line
    lines = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_broken_inputs(trained: tuple[Study, dict[str, Any]], tmp_path: Path) -> None:
    study, _ = trained
    runner = CliRunner()
    # a dataset that was never built
    fresh = make_study(tmp_path / "fresh", tasks=["spin1_vs_sm"], **SIZE)
    _one_line_error(runner.invoke(app, ["evaluate", str(fresh.source)]), "no dataset for training task", "spin1_vs_sm")
    # built but not trained
    build_datasets(fresh, plots=False)
    _one_line_error(runner.invoke(app, ["evaluate", str(fresh.source)]), "no trained model", "darkscan train")
    # the dataset of another version of the study (other B)
    stale = tmp_path / "stale.yaml"
    stale.write_text(yaml.safe_dump({**_with_training(study_data(**{**SIZE, "background_events": 500}), FEW_EPOCHS),
                                     "output": str(study.output_dir)}))
    _one_line_error(runner.invoke(app, ["evaluate", str(stale), "--task", "spin1_vs_sm"]), "another version of the study",
                    "background_events")
    copy = tmp_path / "copy"
    shutil.copytree(study.output_dir, copy)
    moved = tmp_path / "copy.yaml"
    # models trained with other settings than the study file now says
    moved.write_text(yaml.safe_dump({**study_data(**SIZE), "output": str(copy)}))
    _one_line_error(runner.invoke(app, ["evaluate", str(moved), "--task", "spin1_vs_sm"]), "trained with other settings",
                    "epochs: 6 → 25")
    for suffix in (".keras", ".json"):
        shutil.copy(copy / "models" / "which" / f"sb_1{suffix}", copy / "models" / "spin1_vs_sm" / f"sb_1__spin1.m_med-500{suffix}")
    # a model file that does not match: the multiclass network put where a binary one belongs
    moved.write_text(yaml.safe_dump({**_with_training(study_data(**SIZE), FEW_EPOCHS), "output": str(copy)}))
    _one_line_error(runner.invoke(app, ["evaluate", str(moved), "--task", "spin1_vs_sm"]), "trained on another dataset")
    # a model of another representation applied to a dataset
    regressor = study.output_dir / "models" / "mass" / "all.keras"
    _one_line_error(runner.invoke(app, ["evaluate", str(study.source), "--model", str(regressor), "--dataset",
                                        str(study.output_dir / "datasets" / "spin1_vs_sm.h5")]), "all.keras")
    classifier = study.output_dir / "models" / "pure" / "pure.keras"
    _one_line_error(runner.invoke(app, ["evaluate", str(study.source), "--model", str(classifier), "--dataset",
                                        str(study.output_dir / "datasets" / "spin1_vs_sm.h5")]), "pure.keras", "classes")
    _one_line_error(runner.invoke(app, ["evaluate", str(study.source), "--model", str(tmp_path / "none.keras"), "--dataset",
                                        str(study.output_dir / "datasets" / "spin1_vs_sm.h5")]), "no such model file")
    _one_line_error(runner.invoke(app, ["evaluate", str(study.source), "--model", str(classifier)]), "go together")
    _one_line_error(runner.invoke(app, ["evaluate", str(study.source), "--task", "spin1_vs_s"]), "did you mean")
