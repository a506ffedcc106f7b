"""Training on small histogram datasets built by the project's own code from synthetic feature tables.

Every task type trains here on CPU in a few seconds; the bounds are weak (small datasets, few
epochs) but each one fails for a network that learns nothing. The full-size checks (AUC against
the optimal ceiling, B-invariance, multiclass vs the Bayes rule, the mass regressor's MAPE) are in
``test_ml_train_physics.py`` (slow).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from darkscan.datasets.build import build_datasets
from darkscan.errors import InputFileError, StudyError
from darkscan.readers.events import EventTableMetadata, write_feature_table
from darkscan.study import Study, parse_study

pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::darkscan.datasets.build.UnsampledBackgroundWarning")

# sample: (σ pb, MET slope GeV, η width); signal harder and more central than the background
SPECTRA = {"znunu": (200.0, 120.0, 1.4), "spin1": (0.5, 300.0, 1.0), "spin0": (0.3, 220.0, 1.2),
           "n1": (0.05, 200.0, 1.1)}


def study_data(**overrides: Any) -> dict[str, Any]:
    fast = {"epochs": 30, "patience": 5, "learning_rate": 3e-3, "batch_size": 64}
    data: dict[str, Any] = {
        "name": "toyml",
        "samples": [
            {"name": "znunu", "process": "sm_znunu_jet"},
            {"name": "spin1", "process": "spin1_monojet", "scan": {"m_med": [500, 1500]}},
            {"name": "spin0", "process": "spin0_monojet"},
            {"name": "n1", "process": "neutralino_monojet", "parameters": {"m_sneutrino": 3000, "m_sneutrino_tau": 3000, "m_sparticles": 3000}, "scan": {"m_dm": [200, 400, 800]}},
        ],
        "histograms": [
            {"name": "image", "kind": "2d", "axes": [
                {"feature": "leading_jet_pt", "bins": 8, "range": [200, 1500], "log": True},
                {"feature": "leading_jet_eta", "bins": 6, "range": [-2.4, 2.4]}]},
            {"name": "channels", "kind": "1d", "axes": [
                {"feature": "met", "bins": 12, "range": [200, 1400]},
                {"feature": "ht", "bins": 12, "range": [200, 2000]}]},
        ],
        "datasets": {"s_over_sqrt_b": [1, 6], "background_events": 400, "n_histograms": 250, "seed": 5,
                     "histograms_per_point": 200, "pure_events": 60},
        "training": [
            {"name": "bin", "labels": "binary", "signals": ["spin1"], "histogram": "image", "network": "dnn", **fast},
            {"name": "multi", "labels": "multimodel", "signals": ["spin1", "spin0"], "histogram": "channels",
             "network": "cnn1d", **fast},
            {"name": "which", "labels": "multiclass", "signals": ["spin1", "spin0"], "histogram": "image",
             "network": "cnn", **fast},
            {"name": "pure", "labels": "pure", "signals": ["spin0"], "histogram": "channels", "network": "dnn", **fast},
            {"name": "mass", "labels": "regression", "signals": ["n1"], "histogram": "channels", "target": "m_dm",
             "network": "cnn", **{**fast, "epochs": 150, "patience": 15}},
        ],
    }
    data.update(overrides)
    return data


def write_pools(study: Study, n_events: int = 3000) -> None:
    rng = np.random.default_rng(123)
    for point in study.plan():
        sigma, slope, eta_width = SPECTRA[point.sample]
        mass = float(point.parameters.get("m_med", point.parameters.get("m_dm", 1000.0)))
        if point.sample in ("spin1", "n1"):
            slope *= (mass / 1000.0) ** 0.5
        met = 100.0 + rng.exponential(slope, n_events)
        jet_pt = met * rng.normal(1.0, 0.1, n_events)
        ht = jet_pt + rng.exponential(80.0, n_events)
        eta = rng.normal(0.0, eta_width, n_events)
        columns = {"met": met.astype(np.float32), "leading_jet_pt": jet_pt.astype(np.float32),
                   "leading_jet_eta": eta.astype(np.float32), "ht": ht.astype(np.float32),
                   "weight": np.ones(n_events), "passed": met > 200.0}
        metadata = EventTableMetadata(sample=point.sample, source="embedded", level="detector",
                                      cross_section_pb=sigma, sum_weights=float(n_events), n_accepted=n_events,
                                      parameters=dict(point.parameters))
        write_feature_table(point.directory / "features.parquet", columns, metadata)


def make_study(root: Path, **overrides: Any) -> Study:
    study = parse_study(study_data(**overrides), source=root / "toyml.yaml")
    write_pools(study)
    return study


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Study:
    study = make_study(tmp_path_factory.mktemp("toyml"))
    build_datasets(study, plots=False)
    return study


@pytest.fixture(scope="module")
def trained(built: Study) -> tuple[Study, list[Any]]:
    from darkscan.ml.train import train_study

    return built, train_study(built)


def test_units_and_split(built: Study) -> None:
    from darkscan.ml.data import load_unit, units

    assert units(built, "bin") == ["sb_1__spin1.m_med-500", "sb_1__spin1.m_med-1500",
                                   "sb_6__spin1.m_med-500", "sb_6__spin1.m_med-1500"]
    assert units(built, "multi") == ["sb_1", "sb_6"]
    assert units(built, "pure") == ["pure"] and units(built, "mass") == ["all"]
    data = load_unit(built, "bin", "sb_6__spin1.m_med-1500")
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (320, 80, 100)
    assert data.s_over_sqrt_b == 6 and data.model == "spin1.m_med-1500" and data.class_names == ["SM", "SM+NP"]
    # scaling fitted on the training part: standardised there, not exactly elsewhere
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-4)
    assert np.abs(data.x_test.mean(axis=0)).max() > 1e-3
    np.testing.assert_allclose(data.scaler.transform(data.raw_test), data.x_test, rtol=1e-6)
    with h5py.File(data.dataset_path) as h5:
        rows = h5["sb_6/spin1.m_med-1500/x"][...][data.test_index]
    np.testing.assert_array_equal(rows, data.raw_test)
    # the split is seeded: same rows again, other rows for another seed
    again = load_unit(built, "bin", "sb_6__spin1.m_med-1500")
    np.testing.assert_array_equal(again.test_index, data.test_index)
    mass = load_unit(built, "mass", "all")
    assert mass.candidate_test is not None and mass.candidate_test.shape == (len(mass.y_test), 1)
    assert set(np.unique(mass.y_test)) == {200.0, 400.0, 800.0}
    np.testing.assert_array_equal(mass.target, mass.y_test)


def test_every_task_trains_and_learns(trained: tuple[Study, list[Any]]) -> None:
    study, results = trained
    by_unit = {(r.task, r.unit): r.sidecar for r in results}
    assert len(results) == 4 + 2 + 2 + 1 + 1
    for (task, unit), sidecar in by_unit.items():
        path = study.output_dir / "models" / task / f"{unit}.keras"
        assert path.exists() and path.with_suffix(".json").exists()
        for key in ("labels", "network", "hyperparameters", "seed", "dataset_path", "dataset_fingerprint", "split",
                    "scaler", "history", "epochs_run", "train_seconds", "n_train", "n_val", "n_test",
                    "s_over_sqrt_b", "model", "class_names", "versions"):
            assert key in sidecar, key
        assert len(sidecar["history"]["loss"]) == len(sidecar["history"]["val_loss"]) == sidecar["epochs_run"]
    # weak bounds on 250 histograms per class (100 test histograms: AUC known to ±0.03)
    with h5py.File(study.output_dir / "datasets" / "bin.h5") as h5:
        ceiling = h5["ceiling/auc"][...]  # (model, S/√B)
    assert 0.85 < ceiling[0, 0] < 0.95  # S/√B = 1 is not trivially separable
    for m, model in enumerate(("spin1.m_med-500", "spin1.m_med-1500")):
        assert by_unit[("bin", f"sb_1__{model}")]["test"]["auc"] > ceiling[m, 0] - 0.1
        assert by_unit[("bin", f"sb_6__{model}")]["test"]["auc"] > ceiling[m, 1] - 0.02
    assert by_unit[("multi", "sb_6")]["test"]["accuracy"] > 0.6
    assert by_unit[("which", "sb_6")]["test"]["accuracy"] > 0.45  # 3 classes: chance is 1/3
    assert by_unit[("pure", "pure")]["test"]["accuracy"] > 0.6
    mass = by_unit[("mass", "all")]
    assert mass["network"] == "cnn1d" and mass["candidate_names"] == ["n1"]
    # the three masses are 200/400/800 GeV: predicting their mean (467 GeV) gives MAPE = 64 %
    assert mass["test"]["mape"] < 55
    assert by_unit[("which", "sb_1")]["network"] == "cnn" and by_unit[("multi", "sb_1")]["network"] == "cnn1d"


def test_load_model_matches_sidecar_metrics(trained: tuple[Study, list[Any]]) -> None:
    from darkscan.ml.data import load_unit
    from darkscan.ml.train import binary_auc, load_model

    study, results = trained
    result = next(r for r in results if r.unit == "sb_1__spin1.m_med-500")
    model, sidecar = load_model(result.path, dataset_fingerprint=result.sidecar["dataset_fingerprint"])
    data = load_unit(study, "bin", result.unit)
    scores = model.predict(data.x_test, verbose=0)[:, 0]
    assert binary_auc(scores, data.y_test) == pytest.approx(sidecar["test"]["auc"], abs=1e-9)
    with pytest.raises(InputFileError, match="another dataset"):
        load_model(result.path, dataset_fingerprint="0" * 64)
    bogus = study.output_dir / "bogus.keras"
    bogus.write_text("not a zip")
    (study.output_dir / "bogus.json").write_text(json.dumps({"format": "darkscan-model"}))
    with pytest.raises(InputFileError, match="not a Keras model"):
        load_model(bogus)
    with pytest.raises(InputFileError, match="not a Keras model"):
        load_model(result.path.with_suffix(".json"))
    orphan = study.output_dir / "orphan.keras"
    orphan.write_bytes(result.path.read_bytes())
    with pytest.raises(InputFileError, match="orphan.json: missing or not a darkscan model sidecar"):
        load_model(orphan)


def test_resume_skips_finished_units(trained: tuple[Study, list[Any]]) -> None:
    from darkscan.ml.train import train_study

    study, first = trained
    stamp = {r.unit: r.path.stat().st_mtime_ns for r in first if r.task == "bin"}
    again = train_study(study, tasks=["bin"])
    assert all(r.skipped for r in again)
    assert {r.unit: r.path.stat().st_mtime_ns for r in again} == stamp


def test_the_training_piece_is_done_from_the_models_on_disk(trained: tuple[Study, list[Any]]) -> None:
    """``darkscan status``/``jobs`` and ``submit --retry-failed`` judge train tasks by this check."""
    from darkscan.ml.train import unfinished_units
    from darkscan.pipeline import stage_pieces

    study, first = trained
    pieces = {p.label: p for p in stage_pieces(study, "training")}
    assert pieces["bin"].state() == (True, "") and unfinished_units(study, "bin") == []
    sidecar = next(r.path for r in first if r.task == "bin").with_suffix(".json")
    kept = sidecar.read_bytes()
    try:
        # a sidecar of another dataset: the unit is to train again
        data = json.loads(kept)
        sidecar.write_text(json.dumps({**data, "settings_hash": "another dataset"}))
        assert pieces["bin"].state() == (False, "") and unfinished_units(study, "bin") == [data["unit"]]
        sidecar.unlink()  # a .keras without its sidecar (killed between the two) is not finished
        assert pieces["bin"].state() == (False, "")
    finally:
        sidecar.write_bytes(kept)
    assert pieces["bin"].state() == (True, "")


def test_binary_auc_is_mann_whitney() -> None:
    from darkscan.ml.train import binary_auc

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 400)
    scores = rng.normal(labels * 0.7, 1.0)
    pairs = (scores[labels == 1][:, None] > scores[labels == 0][None, :]).mean()
    assert binary_auc(scores, labels) == pytest.approx(pairs)
    assert binary_auc(np.ones(4), np.array([0, 1, 0, 1])) == 0.5


def test_broken_inputs_give_one_line_errors(tmp_path: Path) -> None:
    from darkscan.ml.data import load_unit
    from darkscan.ml.train import train_study

    study = make_study(tmp_path, training=[study_data()["training"][0]])
    with pytest.raises(InputFileError, match="no dataset for training task 'bin'.*histos build"):
        train_study(study)
    with pytest.raises(StudyError, match="no training task 'bim'.*did you mean 'bin'"):
        train_study(study, tasks=["bim"])
    build_datasets(study, plots=False)
    changed = parse_study({**study_data(training=[study_data()["training"][0]]),
                           "datasets": {**study_data()["datasets"], "background_events": 900}},
                          source=study.source)
    with pytest.raises(InputFileError, match="another version of the study.*background_events"):
        load_unit(changed, "bin", "sb_1__spin1.m_med-500")
    with pytest.raises(InputFileError, match="no unit 'sb_4"):
        load_unit(study, "bin", "sb_4__spin1.m_med-500")
    with pytest.raises(StudyError, match="network"):
        parse_study({**study_data(), "training": [{**study_data()["training"][0], "network": "transformer"}]})
    with pytest.raises(StudyError, match="split"):
        parse_study({**study_data(), "training": [{**study_data()["training"][0], "split": [0.5, 0.5, 0.5]}]})


def test_cli_train_resumes_and_reports_errors(trained: tuple[Study, list[Any]], tmp_path: Path) -> None:
    import yaml

    from darkscan.cli.main import app

    study, _ = trained
    study_file = study.output_dir.parent.parent / "toyml.yaml"
    study_file.write_text(yaml.safe_dump(study_data()))
    result = CliRunner().invoke(app, ["train", str(study_file), "--task", "pure"])
    assert result.exit_code == 0, result.output
    assert "pure/pure: dnn, up to date" in result.output
    assert str(study.output_dir / "models" / "pure" / "pure.keras") in result.output
    result = CliRunner().invoke(app, ["train", str(study_file), "--task", "nope"])
    assert result.exit_code == 2 and result.output.count("error:") == 1 and "no training task 'nope'" in result.output
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(study_data()))
    result = CliRunner().invoke(app, ["train", str(other)])
    assert result.exit_code == 2 and "no dataset for training task 'bin'" in result.output
    assert "Traceback" not in result.output


def test_a_unit_trained_alone_equals_the_same_unit_in_its_grid(trained: tuple[Study, list[Any]]) -> None:
    """Same seed → same network, whichever units share its grid: retrain one unit alone, compare."""
    from darkscan.ml.train import train_units

    study, results = trained
    first = next(r for r in results if r.task == "bin" and r.unit == "sb_1__spin1.m_med-1500")
    assert first.sidecar["grid_size"] == 4
    first.path.with_suffix(".json").unlink()
    (again,) = train_units(study, "bin", ["sb_1__spin1.m_med-1500"])
    assert not again.skipped and again.sidecar["grid_size"] == 1
    assert again.sidecar["history"] == first.sidecar["history"]
    assert again.sidecar["test"] == first.sidecar["test"]
