"""Baselines on real (small) histogram datasets: the exact likelihood ratio reaches the dataset's
ceiling, the Bayes rule is at least as accurate as every other method, counting reaches Φ((S/√B)/√2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
from ml_eval_toy import make_study

from darkscan.datasets.build import build_datasets
from darkscan.datasets.ceiling import counting_auc, likelihood_ratio
from darkscan.errors import InputFileError
from darkscan.ml.baselines import (
    LikelihoodRatio,
    counting_scores,
    cut_and_count,
    read_shapes,
    tree_probabilities,
)
from darkscan.ml.metrics import auc, significance


def _auc_error(value: float, n_signal: int, n_background: int) -> float:
    """Hanley–McNeil standard error of an AUC."""
    q1, q2 = value / (2 - value), 2 * value**2 / (1 + value)
    variance = (value * (1 - value) + (n_signal - 1) * (q1 - value**2) + (n_background - 1) * (q2 - value**2))
    return math.sqrt(variance / (n_signal * n_background))


def _accuracy_error(value: float, n: int) -> float:
    return math.sqrt(max(value * (1 - value), 1e-4) / n)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    study = make_study(tmp_path_factory.mktemp("baselines"), n_histograms=1000)
    return {path.stem: path for path in build_datasets(study, plots=False)}


def _group(path: Path, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with h5py.File(path) as h5:
        group = h5[name]
        y = group["y"][...] if "y" in group else group["target"][...]
        return group["x"][...], y, group["model"][...]


def _split(*arrays: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The first 80 % to train, the rest to test (the file's histograms are already in seeded random order)."""
    n = int(0.8 * len(arrays[0]))
    return [a[:n] for a in arrays], [a[n:] for a in arrays]


def test_binary_score_is_the_ceiling_modules_likelihood_ratio(datasets: dict[str, Path]) -> None:
    shapes = read_shapes(datasets["spin1_vs_sm"])
    x, _, _ = _group(datasets["spin1_vs_sm"], "sb_2/spin1.m_med-1000")
    ours = LikelihoodRatio.from_shapes(shapes, 2.0).binary_scores(x, model=1)
    reference = likelihood_ratio(x.reshape(len(x), -1), shapes.models[1], shapes.background, 2.0, 400)
    np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-9)


def test_likelihood_ratio_reaches_the_ceiling(datasets: dict[str, Path]) -> None:
    """On all 2000 histograms of each group, AUC(LR) = /ceiling/auc_llr within its Monte-Carlo error
    (+0.005 for the Gaussian approximation of the ceiling); counting alone gives Φ((S/√B)/√2)."""
    path = datasets["spin1_vs_sm"]
    shapes = read_shapes(path)
    with h5py.File(path) as h5:
        ceiling = h5["ceiling/auc_llr"][...]
    for m, model in enumerate(shapes.model_names):
        for j, value in enumerate(shapes.s_over_sqrt_b):
            x, y, _ = _group(path, f"sb_{value:g}/{model}")
            measured = auc(y, LikelihoodRatio.from_shapes(shapes, value).binary_scores(x, model=m))
            error = _auc_error(measured, int(y.sum()), int((1 - y).sum()))
            assert abs(measured - ceiling[m, j]) < 3 * error + 0.005, (model, value, measured, ceiling[m, j])
            counting = auc(y, counting_scores(x))
            assert abs(counting - counting_auc(value)) < 3 * _auc_error(counting, 1000, 1000) + 0.01


def test_multimodel_mixture_ratio_beats_trees(datasets: dict[str, Path]) -> None:
    path = datasets["any_vs_sm"]
    shapes = read_shapes(path)
    x, y, models = _group(path, "sb_1")
    (x_train, y_train), (x_test, y_test) = _split(x, y)
    lr = LikelihoodRatio.from_shapes(shapes, 1.0)
    mixture = auc(y_test, lr.binary_scores(x_test))
    error = _auc_error(mixture, int(y_test.sum()), int((1 - y_test).sum()))
    for kind in ("random_forest", "gradient_boosting"):
        trees = auc(y_test, tree_probabilities(kind, x_train, y_train, x_test, seed=1, threads=1)[:, 1])
        assert trees < mixture + 2 * error, kind
    # the ratio of one model alone is a worse test of the mixture than the mixture's own ratio
    single = [auc(y_test, lr.binary_scores(x_test, model=m)) for m in range(len(shapes.model_names))]
    assert mixture >= max(single) - error
    # on the histograms of one model, that model's own ratio wins
    _, test = _split(x, y, models)
    mask = (test[2] == 0) | (test[2] == -1)
    assert auc(test[1][mask], lr.binary_scores(test[0][mask], model=0)) >= auc(
        test[1][mask], lr.binary_scores(test[0][mask], model=2)) - error


@pytest.mark.parametrize("task,group", [("which", "sb_1"), ("pure", "pure")])
def test_bayes_rule_is_the_most_accurate(datasets: dict[str, Path], task: str, group: str) -> None:
    path = datasets[task]
    shapes = read_shapes(path)
    x, y, _ = _group(path, group)
    (x_train, y_train), (x_test, y_test) = _split(x, y)
    lr = LikelihoodRatio.from_shapes(shapes, None if task == "pure" else 1.0)
    bayes = float(np.mean(lr.predict(x_test) == y_test))
    posterior = lr.posterior(x_test)
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0)
    assert np.array_equal(np.argmax(posterior, axis=1), lr.predict(x_test))
    n_classes = len(shapes.model_names) + 1
    assert bayes > 1.5 / n_classes  # well above chance
    for kind in ("random_forest", "gradient_boosting"):
        accuracy = float(np.mean(np.argmax(tree_probabilities(kind, x_train, y_train, x_test, seed=1, threads=1), axis=1) == y_test))
        assert accuracy <= bayes + 2 * math.sqrt(2) * _accuracy_error(bayes, len(y_test)), (kind, accuracy, bayes)


def test_regression_maximum_likelihood(datasets: dict[str, Path]) -> None:
    """The maximum-likelihood scan point from stacked channels: better than guessing, and its posterior mean is
    closer to the truth on average than the middle of the scan."""
    path = datasets["mass"]
    shapes = read_shapes(path)
    assert shapes.kind == "1d" and shapes.background.shape == (2, 10)
    x, target, models = _group(path, "sb_2")
    lr = LikelihoodRatio.from_shapes(shapes, 2.0)
    assert lr.channel == 0  # MET separates the mediator masses, η does not
    assert np.mean(lr.predict(x, include_sm=False) == models) > 0.5
    with h5py.File(path) as h5:
        targets = np.array([float(json.loads(h5.attrs["samples"])[i]["parameters"]["m_med"])
                            for i in range(2, 5)])
    mean = lr.posterior(x, include_sm=False) @ targets
    assert np.mean(np.abs(mean - target)) < np.mean(np.abs(np.median(targets) - target))


def test_normalised_counts(tmp_path: Path) -> None:
    """counts: normalise: the total carries nothing (counting AUC 0.5), the multinomial ratio still separates."""
    study = make_study(tmp_path, tasks=["spin1_vs_sm"], counts="normalise", n_histograms=1000)
    (path,) = build_datasets(study, plots=False)
    shapes = read_shapes(path)
    assert shapes.counts == "normalise"
    x, y, _ = _group(path, "sb_2/spin1.m_med-2000")
    assert np.allclose(x.reshape(len(x), -1).sum(axis=1), 1.0, atol=1e-5)
    lr_auc = auc(y, LikelihoodRatio.from_shapes(shapes, 2.0).binary_scores(x, model=2))
    with h5py.File(path) as h5:
        ceiling = h5["ceiling/auc_llr"][2, 1]
    # the ceiling of normalised histograms is the shape's alone: 0.895 here (0.968 for raw counts, which carry the total too)
    assert abs(lr_auc - ceiling) < 3 * _auc_error(lr_auc, int(y.sum()), int(len(y) - y.sum()))
    assert auc(y, counting_scores(x)) == pytest.approx(0.5, abs=0.05)


def test_cut_and_count(datasets: dict[str, Path]) -> None:
    shapes = read_shapes(datasets["spin1_vs_sm"])
    scan = cut_and_count(shapes, 2, 2.0)
    signal, background = 2.0 * 20, 400.0
    # the loosest cut keeps the whole selection
    assert scan.s[0] == pytest.approx(signal) and scan.b[0] == pytest.approx(background)
    assert scan.z[0] == pytest.approx(significance(signal, background))
    best = scan.best_point()
    assert best["z"] > scan.z[0]  # a cut on the shape helps (a little: the toy shapes differ mostly in η)
    assert best["z_sigma_b"] < best["z"] and best["b"] >= 1.0
    assert best["z"] == pytest.approx(significance(best["s"], best["b"]))
    # s and b fall as the cut tightens
    assert np.all(np.diff(scan.s) <= 1e-12) and np.all(np.diff(scan.b) <= 1e-12)


def test_broken_dataset_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no dataset file"):
        read_shapes(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(InputFileError, match="text.h5: unreadable"):
        read_shapes(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as h5:
        h5.attrs["format"] = "something-else"
    with pytest.raises(InputFileError, match="not a darkscan histogram dataset"):
        read_shapes(tmp_path / "other.h5")


@pytest.mark.slow
def test_likelihood_ratio_reaches_the_ceiling_on_a_large_test_set(tmp_path: Path) -> None:
    """20 000 histograms per class, B = 5 000: AUC(LR) = /ceiling/auc_llr within 3 standard errors (≈ 0.002)
    + 0.002, at S/√B = 0.5, 1, 2 for every model."""
    study = make_study(tmp_path, tasks=["spin1_vs_sm"], n_histograms=20_000, background_events=5_000,
                       s_over_sqrt_b=[0.5, 1, 2])
    (path,) = build_datasets(study, plots=False)
    shapes = read_shapes(path)
    with h5py.File(path) as h5:
        ceiling = h5["ceiling/auc_llr"][...]
    for m, model in enumerate(shapes.model_names):
        for j, value in enumerate(shapes.s_over_sqrt_b):
            x, y, _ = _group(path, f"sb_{value:g}/{model}")
            measured = auc(y, LikelihoodRatio.from_shapes(shapes, value).binary_scores(x, model=m))
            error = _auc_error(measured, 20_000, 20_000)
            assert abs(measured - ceiling[m, j]) < 3 * error + 0.002, (model, value, measured, ceiling[m, j])
