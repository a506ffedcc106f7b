"""Histogram datasets built from a synthetic study: layout, labels, mixing, determinism, resume, CLI."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from darkscan.datasets import build as datasets_module
from darkscan.datasets.ceiling import counting_auc
from darkscan.datasets.build import (
    UnsampledBackgroundWarning,
    build_datasets,
    load_task_inputs,
    sample_rates,
)
from darkscan.readers.events import EventTableMetadata, write_feature_table
from darkscan.datasets.histograms import SmallPoolWarning
from darkscan.analysis.luminosity import luminosity_view
from darkscan.errors import InputFileError, StudyError
from darkscan.study import Study, parse_study

# The toy pools (4000 events) leave the hard signal tail without background: expected, tested below.
pytestmark = pytest.mark.filterwarnings("ignore::darkscan.datasets.build.UnsampledBackgroundWarning")

# Toy physics: MET and leading-jet pT spectra falling exponentially, harder for the signal; jet η
# Gaussian, more central for the signal. Cross sections in pb, efficiencies from a MET > 200 cut.
SPECTRA = {
    # sample: (σ pb, MET slope GeV, η width)
    "znunu": (200.0, 120.0, 1.4),
    "wlnu": (300.0, 90.0, 1.6),
    "spin1": (0.5, 300.0, 1.0),
    "spin0": (0.3, 220.0, 1.2),
}


def _study_data(**datasets: Any) -> dict[str, Any]:
    return {
        "name": "toy",
        "luminosity_fb": 139.0,
        "samples": [
            {"name": "znunu", "process": "sm_znunu_jet"},
            {"name": "wlnu", "process": "sm_wlnu_jet"},
            {"name": "spin1", "process": "spin1_monojet", "scan": {"m_med": [500, 1000]}},
            {"name": "spin0", "process": "spin0_monojet"},
        ],
        "histograms": [
            {"name": "jet_pt_eta", "kind": "2d", "axes": [
                {"feature": "leading_jet_pt", "bins": 12, "range": [200, 1500], "log": True},
                {"feature": "leading_jet_eta", "bins": 10, "range": [-2.4, 2.4]}]},
            {"name": "met_ht", "kind": "1d", "axes": [
                {"feature": "met", "bins": 15, "range": [200, 1400]},
                {"feature": "ht", "bins": 15, "range": [200, 2000]}]},
        ],
        "datasets": {"s_over_sqrt_b": [1, 3], "background_events": 400, "n_histograms": 300, "seed": 5,
                     "histograms_per_point": 3, "pure_events": 50, **datasets},
        "training": [
            {"name": "spin1_vs_sm", "labels": "binary", "signals": ["spin1"], "histogram": "jet_pt_eta"},
            {"name": "any_vs_sm", "labels": "multimodel", "signals": ["spin1", "spin0"], "histogram": "met_ht"},
            {"name": "which", "labels": "multiclass", "signals": ["spin1", "spin0"], "histogram": "jet_pt_eta"},
            {"name": "pure", "labels": "pure", "signals": ["spin0"], "histogram": "met_ht"},
            {"name": "mass", "labels": "regression", "signals": ["spin1"], "histogram": "met_ht", "target": "m_med"},
        ],
    }


def _write_pools(study: Study, n_events: int = 4000) -> None:
    rng = np.random.default_rng(123)
    for point in study.plan():
        sigma, slope, eta_width = SPECTRA[point.sample]
        slope *= float(point.parameters.get("m_med", 1000.0)) / 1000.0 if point.sample == "spin1" else 1.0
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


def _make_study(root: Path, **datasets: Any) -> Study:
    study = parse_study(_study_data(**datasets), source=root / "toy.yaml")
    _write_pools(study)
    return study


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Study, list[Path]]:
    study = _make_study(tmp_path_factory.mktemp("toy"))
    return study, build_datasets(study)


def test_files_layout_and_labels(built: tuple[Study, list[Path]]) -> None:
    study, paths = built
    assert [p.name for p in paths] == [f"{t.name}.h5" for t in study.training]
    assert all(p.with_suffix(".png").stat().st_size > 1000 for p in paths)
    assert not (study.output_dir / "datasets" / ".pieces" / "spin1_vs_sm").exists()
    with h5py.File(paths[0]) as h5:
        assert json.loads(h5.attrs["groups"]) == ["sb_1/spin1.m_med-500", "sb_1/spin1.m_med-1000",
                                                  "sb_3/spin1.m_med-500", "sb_3/spin1.m_med-1000"]
        group = h5["sb_3/spin1.m_med-1000"]
        assert group["x"].shape == (600, 12, 10) and group["x"].dtype == np.float32
        assert np.bincount(group["y"][...]).tolist() == [300, 300]
        assert set(group["model"][group["y"][...] == 1].tolist()) == {1}
        assert group.attrs["signal_events"] == pytest.approx(3 * math.sqrt(400))
        np.testing.assert_allclose(group["x"][...].sum(axis=(1, 2)), group["total"][...])
        assert np.allclose(h5["axes/0"][...], np.geomspace(200, 1500, 13))
        samples = {s["id"]: s for s in json.loads(h5.attrs["samples"])}
        assert len(samples["znunu/nominal"]["sha256"]) == 64
        # background mix ∝ σ·ε, ε measured from the pool's passed fraction
        eff = {k: s["selection_efficiency"] for k, s in samples.items()}
        fractions = np.array([200 * eff["znunu/nominal"], 300 * eff["wlnu/nominal"]])
        assert samples["znunu/nominal"]["background_fraction"] == pytest.approx(fractions[0] / fractions.sum())
        assert h5["ceiling/auc"].shape == (2, 2)
    with h5py.File(paths[2]) as h5:  # multiclass: SM + 3 models (two spin1 points, spin0)
        assert np.bincount(h5["sb_1/y"][...]).tolist() == [300] * 4
        np.testing.assert_array_equal(h5["sb_1/model"][...], h5["sb_1/y"][...] - 1)
    with h5py.File(paths[1]) as h5:  # multimodel: the model of each SM+NP histogram drawn uniformly
        model = h5["sb_1/model"][...]
        assert (model[h5["sb_1/y"][...] == 0] == -1).all()
        counts = np.bincount(model[model >= 0])
        assert counts.sum() == 300 and abs(counts[0] - 100) < 4 * math.sqrt(300 * 2 / 9) + 1
        assert h5["sb_1/x"].shape == (600, 2, 15)
        x = h5["sb_1/x"][...]
        np.testing.assert_array_equal(x[:, 0].sum(axis=1), x[:, 1].sum(axis=1))  # same events in each channel
        assert "best_channel_auc" in h5["ceiling"]
        # χ² divergence Σp²/q − 1 is an f-divergence: a projection (one channel) never has more
        assert (h5["ceiling/best_channel_auc"][...] <= h5["ceiling/auc"][...] + 1e-12).all()
    with h5py.File(paths[3]) as h5:
        assert json.loads(h5.attrs["groups"]) == ["pure"]
        assert abs(h5["pure/total"][...].mean() - 50) < 2
    with h5py.File(paths[4]) as h5:  # regression: 3 histograms per scan point, target = m_med
        assert h5["sb_3/target"][...].tolist() == [500.0] * 3 + [1000.0] * 3


def test_means_follow_the_pools(built: tuple[Study, list[Path]]) -> None:
    """Mean SM+NP − mean SM histogram = S·p_model; mean SM = B·q (within Poisson errors)."""
    study, paths = built
    with h5py.File(paths[0]) as h5:
        group = h5["sb_3/spin1.m_med-1000"]
        x, y = group["x"][...], group["y"][...]
        b, s = group.attrs["background_events"], group.attrs["signal_events"]
        q, p = h5["shapes/background"][...], h5["shapes/models"][1]
    for label, expected in ((0, b * q), (1, b * q + s * p)):
        mean = x[y == label].mean(axis=0)
        error = np.sqrt(expected / 300) + 1e-12
        assert np.max(np.abs(mean - expected) / error) < 5


def test_totals_do_not_leak_the_label(built: tuple[Study, list[Path]]) -> None:
    """Totals are Poisson(B) and Poisson(B+S): counting alone separates as the physics allows, no more."""
    from sklearn.metrics import roc_auc_score

    _, paths = built
    with h5py.File(paths[0]) as h5:
        for value in (1, 3):
            group = h5[f"sb_{value}/spin1.m_med-500"]
            total, y = group["total"][...], group["y"][...]
            assert total[y == 0].var() == pytest.approx(400, rel=0.25)
            auc = roc_auc_score(y, total)
            # 600 histograms: the AUC's standard error is ≈ 0.02
            assert abs(auc - counting_auc(value)) < 0.06
            assert auc < 0.999


def test_normalise_removes_totals(tmp_path: Path) -> None:
    study = _make_study(tmp_path, counts="normalise", n_histograms=50)
    study = study.model_copy(update={"training": study.training[:2]})
    paths = build_datasets(study, plots=False)
    with h5py.File(paths[0]) as h5:
        np.testing.assert_allclose(h5["sb_1/spin1.m_med-500/x"][...].sum(axis=(1, 2)), 1.0, rtol=1e-5)
    with h5py.File(paths[1]) as h5:
        np.testing.assert_allclose(h5["sb_1/x"][...].sum(axis=2), 1.0, rtol=1e-5)


def test_same_seed_byte_identical_and_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    study = _make_study(tmp_path, n_histograms=100)
    study = study.model_copy(update={"training": study.training[:2]})
    first = build_datasets(study, plots=False)
    reference = [p.read_bytes() for p in first]
    for path in first:
        path.unlink()

    # interrupt the rebuild after two pieces of the first task
    written: list[str] = []
    real = datasets_module._write_piece

    def failing(path: Path, *args: Any) -> None:
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(path.name)
        real(path, *args)

    monkeypatch.setattr(datasets_module, "_write_piece", failing)
    with pytest.raises(KeyboardInterrupt):
        build_datasets(study, plots=False)
    piece_dir = study.output_dir / "datasets" / ".pieces" / "spin1_vs_sm"
    assert sorted(p.name for p in piece_dir.iterdir()) == sorted(written)  # only whole pieces, no temp files
    assert not first[0].exists()

    resumed: list[str] = []

    def recording(path: Path, *args: Any) -> None:
        resumed.append(path.name)
        real(path, *args)

    monkeypatch.setattr(datasets_module, "_write_piece", recording)
    second = build_datasets(study, plots=False)
    assert set(resumed).isdisjoint(written) and len(resumed) == 2 + 2  # the rest of task 1, both pieces of task 2
    assert [p.read_bytes() for p in second] == reference
    # the same study elsewhere (same pools, same seed), seconds later: the same bytes (no timestamps)
    time.sleep(1.1)
    elsewhere = _make_study(tmp_path / "elsewhere", n_histograms=100)
    elsewhere = elsewhere.model_copy(update={"training": elsewhere.training[:2]})
    assert [p.read_bytes() for p in build_datasets(elsewhere, plots=False)] == reference
    # up to date: nothing regenerated; a different seed changes the content
    resumed.clear()
    build_datasets(study, plots=False)
    assert resumed == []
    reseeded = study.model_copy(update={"datasets": study.datasets.model_copy(update={"seed": 6})})
    assert build_datasets(reseeded, plots=False)[0].read_bytes() != reference[0]


def test_small_pool_warns(tmp_path: Path) -> None:
    study = _make_study(tmp_path, background_events=20_000, n_histograms=5, s_over_sqrt_b=[1])
    study = study.model_copy(update={"training": study.training[:1]})
    with pytest.warns(SmallPoolWarning, match="effective events"):
        build_datasets(study, plots=False)


def test_signal_where_the_background_pool_is_empty_warns(tmp_path: Path) -> None:
    study = _make_study(tmp_path, n_histograms=5, s_over_sqrt_b=[1])
    study = study.model_copy(update={"training": study.training[:1]})
    with pytest.warns(UnsampledBackgroundWarning, match="of the signal falls in histogram cells where the background"):
        build_datasets(study, plots=False)


def test_missing_features_and_unknown_task(tmp_path: Path) -> None:
    study = parse_study(_study_data(), source=tmp_path / "toy.yaml")
    with pytest.raises(InputFileError, match="features.parquet: no feature table for sample 'znunu'"):
        build_datasets(study)
    with pytest.raises(StudyError, match="no training task 'spin1_vs_s'"):
        build_datasets(study, tasks=["spin1_vs_s"])


def test_unequal_channel_bins_and_missing_column(tmp_path: Path) -> None:
    data = _study_data()
    data["histograms"][1]["axes"][1]["bins"] = 20
    study = parse_study(data, source=tmp_path / "toy.yaml")
    _write_pools(study, 200)
    with pytest.raises(StudyError, match=r"toy.yaml: histograms\[1\].axes: .*equal bin counts, got \[15, 20\]"):
        build_datasets(study, tasks=["any_vs_sm"])
    point = study.plan()[0]
    columns, metadata = {"met": np.ones(3)}, EventTableMetadata(sample="znunu", source="embedded", level="detector",
                                                                cross_section_pb=1.0)
    write_feature_table(point.directory / "features.parquet", columns, metadata)
    with pytest.raises(InputFileError, match=r"features.parquet: feature table lacks columns \['leading_jet_pt'"):
        build_datasets(study, tasks=["spin1_vs_sm"])


def test_luminosity_view(built: tuple[Study, list[Path]]) -> None:
    study, _ = built
    rates = {(r.sample, r.point_id): r for r in sample_rates(study)}
    view = luminosity_view(list(rates.values()), luminosity_fb=139.0, targets=[1, 2], dataset_background_events=400)
    background_rate = sum(SPECTRA[s][0] * 1000 * rates[(s, "nominal")].selection_efficiency for s in ("znunu", "wlnu"))
    signal = rates[("spin0", "nominal")]
    s = 0.3 * 1000 * signal.selection_efficiency * 139
    assert view.s_over_sqrt_b(signal) == pytest.approx(s / math.sqrt(background_rate * 139))
    # and back: at the luminosity for S/√B = 2, S/√B is 2
    lumi = view.luminosity_for(signal, 2.0)
    assert s / 139 * lumi / math.sqrt(background_rate * lumi) == pytest.approx(2.0)
    assert view.dataset_luminosity_fb == pytest.approx(400 / background_rate)


def _cli_app() -> typer.Typer:
    """A throwaway app like ``darkscan`` (same error handling) with our commands in a ``histos-test`` group."""
    from darkscan.cli.histos_datasets import register
    from darkscan.cli.main import _Group

    app = typer.Typer(cls=_Group)
    app.callback()(lambda: None)
    group = typer.Typer()
    register(group)
    app.add_typer(group, name="histos-test")
    return app


def test_cli_lumi_and_build(built: tuple[Study, list[Path]], tmp_path: Path) -> None:
    import yaml

    study, _ = built
    study_file = study.output_dir.parent.parent / "toy.yaml"
    study_file.write_text(yaml.safe_dump(_study_data()))
    app = _cli_app()
    runner = CliRunner()
    result = runner.invoke(app, ["histos-test", "lumi", str(study_file)])
    assert result.exit_code == 0, result.output
    assert "spin1" in result.stdout and "m_med-500" in result.stdout and "S/√B=2" not in result.stdout
    view = luminosity_view(sample_rates(study), luminosity_fb=139.0, targets=[1, 3], dataset_background_events=400)
    for signal in view.signals:
        row = next(line for line in result.stdout.splitlines() if signal.point_id in line and signal.sample in line)
        assert f"{view.s_over_sqrt_b(signal):.3g}" in row and f"{view.luminosity_for(signal, 3):.3g}" in row
    result = runner.invoke(app, ["histos-test", "build", str(study_file), "--task", "pure", "--no-plots"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("pure.h5")
    result = runner.invoke(app, ["histos-test", "build", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "no such study file" in result.output


def test_task_inputs_mix(built: tuple[Study, list[Path]]) -> None:
    study, _ = built
    inputs = load_task_inputs(study, study.training[0])
    assert inputs.q.sum() == pytest.approx(1.0)
    assert sum(f for _, f in inputs.backgrounds) == pytest.approx(1.0)
    assert inputs.p.shape == (2, 120)


def test_stored_ceiling_matches_the_likelihood_ratio_on_the_dataset(built: tuple[Study, list[Path]]) -> None:
    """The LLR classifier built from the stored shapes reaches the stored ceiling on the stored histograms."""
    from sklearn.metrics import roc_auc_score

    from darkscan.datasets.ceiling import likelihood_ratio

    _, paths = built
    with h5py.File(paths[0]) as h5:
        q = h5["shapes/background"][...]
        for m, model in enumerate(json.loads(h5.attrs["models"])):
            for j, value in enumerate(h5["ceiling"].attrs["s_over_sqrt_b"]):
                group = h5[f"sb_{value:g}/{model}"]
                x, y = group["x"][...], group["y"][...]
                scores = likelihood_ratio(x.reshape(len(x), -1), h5["shapes/models"][m], q, value, 400)
                scores = np.where(np.isinf(scores), np.max(scores[np.isfinite(scores)]) + 1, scores)
                # 600 histograms: the AUC's standard error is ≲ 0.02
                assert roc_auc_score(y, scores) == pytest.approx(h5["ceiling/auc_llr"][m, j], abs=0.06)


@pytest.mark.slow
def test_full_size_image_dataset(tmp_path: Path) -> None:
    """Issue-size dataset: 28×28 images, B = 50 000, 20 000 histograms per class; the stored ceiling
    matches the likelihood-ratio AUC on the stored histograms to ±0.01."""
    from sklearn.metrics import roc_auc_score

    from darkscan.datasets.ceiling import likelihood_ratio

    data = _study_data(background_events=50_000, n_histograms=20_000, s_over_sqrt_b=[1, 2])
    data["histograms"][0]["axes"][0]["bins"] = 28
    data["histograms"][0]["axes"][1]["bins"] = 28
    data["training"] = data["training"][:1]
    study = parse_study(data, source=tmp_path / "toy.yaml")
    _write_pools(study, 150_000)  # ≥ 50 000 selected per background: no SmallPoolWarning
    (path,) = build_datasets(study, plots=False)
    with h5py.File(path) as h5:
        q = h5["shapes/background"][...]
        group = h5["sb_1/spin1.m_med-500"]
        assert group["x"].shape == (40_000, 28, 28)
        x, y = group["x"][...], group["y"][...]
        scores = likelihood_ratio(x.reshape(len(x), -1), h5["shapes/models"][0], q, 1.0, 50_000)
        scores = np.where(np.isinf(scores), np.max(scores[np.isfinite(scores)]) + 1, scores)
        assert roc_auc_score(y, scores) == pytest.approx(h5["ceiling/auc_llr"][0, 0], abs=0.01)
        assert roc_auc_score(y, group["total"][...]) == pytest.approx(counting_auc(1.0), abs=0.01)
