"""The example studies: every one validates; the Arganda study runs end to end scaled down."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from darkscan.pipeline import run_pipeline
from darkscan.study import load_study, parse_study

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates(path: Path):
    study = load_study(path)
    assert study.training, f"{path.name}: an example ends in trained networks"


def test_quickstart_has_two_signals_and_five_or_more_s_over_sqrt_b(examples_dir: Path):
    study = load_study(examples_dir / "quickstart.yaml")
    assert study.generator.backend == "embedded"
    assert len({p.sample for p in study.plan() if p.role == "signal"}) >= 2
    assert len(study.datasets.s_over_sqrt_b) >= 5


def test_khosa_study_carries_the_published_aucs(examples_dir: Path):
    study = load_study(examples_dir / "khosa_images.yaml")
    published = {(r.task, r.model): r.value for r in study.report.published}
    assert published == {("alp", "alp.nominal"): 0.80, ("spin1", "spin1.nominal"): 0.99,
                         ("n1_100", "n1_100.nominal"): 0.90, ("n1_200", "n1_200.nominal"): 0.97,
                         ("n1_300", "n1_300.nominal"): 0.99}
    histogram = study.histograms[0]
    assert [(a.feature, a.bins, a.range) for a in histogram.axes] == [
        ("leading_jet_pt", 28, (130.0, 2000.0)), ("leading_jet_eta", 28, (-4.0, 4.0))]
    assert study.datasets.pure_events == 20 and study.collider.sqrt_s_gev == 14000


def test_arganda_study_scaled_down_runs_to_the_report(examples_dir: Path, tmp_path: Path):
    """The full-size study with fewer events, a smaller B and fewer histograms; same tasks and models."""
    data = yaml.safe_load((examples_dir / "arganda_monojet.yaml").read_text())
    assert data["datasets"]["background_events"] == 50_000 and data["datasets"]["n_histograms"] == 20_000
    data["generator"].update(n_events=400, shard_events=400, workers=1)
    data["samples"][0]["n_events"] = 3000
    data["datasets"].update(background_events=300, n_histograms=40, s_over_sqrt_b=[1, 3])
    data["histograms"][0]["axes"][0]["bins"] = data["histograms"][0]["axes"][1]["bins"] = 6
    for task in data["training"]:
        task["epochs"] = 2
    study_file = tmp_path / "arganda_small.yaml"
    study_file.write_text(yaml.safe_dump(data, allow_unicode=True))
    study = parse_study(data, source=study_file)
    results = {r.stage: r.action for r in run_pipeline(study)}
    assert results["generation"] == results["features"] == results["datasets"] == results["report"] == "ran"
    with h5py.File(study.output_dir / "datasets" / "which_model.h5", "r") as h5:
        assert h5["sb_1/x"].shape == (5 * 40, 6, 6)  # SM + four models
        ceiling = h5["ceiling/auc"][...]
    assert ceiling.shape == (4, 2) and np.all(ceiling[:, 1] > ceiling[:, 0]) and np.all(ceiling > 0.5)
    page = (study.output_dir / "report" / "index.html").read_text()
    for model in ("alp.nominal", "spin0.nominal", "spin1.nominal", "spin2.nominal"):
        assert model in page
