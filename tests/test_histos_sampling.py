"""Bin-space sampling is statistically the same as resampling events from the pool.

The reference is the naive method: draw n ~ Poisson(Λ) event indices from the pool with replacement
(with probability ∝ weight for weighted pools) and fill np.histogram / np.histogram2d.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from darkscan.datasets.histograms import (
    NegativeWeightWarning,
    SmallPoolWarning,
    bin_pool,
    binning_from_histogram,
    cell_space,
    check_pool_size,
    effective_events,
    sample_histograms,
    sample_mixture,
)
from darkscan.study import Histogram

IMAGE = Histogram.model_validate({"name": "image", "kind": "2d", "axes": [
    {"feature": "leading_jet_pt", "bins": 8, "range": [150, 1000], "log": True},
    {"feature": "leading_jet_eta", "bins": 6, "range": [-2.4, 2.4]}]})
CHANNELS = Histogram.model_validate({"name": "channels", "kind": "1d", "axes": [
    {"feature": "met", "bins": 10, "range": [200, 1000]},
    {"feature": "ht", "bins": 10, "range": [200, 1600]}]})


def _pool(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """A monojet-like pool: falling MET/pT, H_T correlated with the jet, Gaussian η (some out of range)."""
    met = 150.0 + rng.exponential(150.0, n)
    jet_pt = met * rng.normal(1.0, 0.15, n)
    return {"met": met, "leading_jet_pt": jet_pt, "ht": jet_pt + rng.exponential(100.0, n),
            "leading_jet_eta": rng.normal(0.0, 1.5, n)}


def _naive(rng: np.random.Generator, columns: dict[str, np.ndarray], histogram: Histogram, lam: float, n: int,
           weights: np.ndarray | None = None) -> np.ndarray:
    """Event resampling + numpy histograms, out-of-range values clipped into the edge bins."""
    binning = binning_from_histogram(histogram)
    size = len(next(iter(columns.values())))
    prob = None if weights is None else weights / weights.sum()
    values = [np.clip(columns[a.feature], a.edges[0], a.edges[-1]) for a in binning.axes]
    out = np.zeros((n, *binning.shape))
    for i in range(n):
        index = rng.choice(size, size=rng.poisson(lam), replace=True, p=prob)
        if histogram.kind == "2d":
            out[i] = np.histogram2d(values[0][index], values[1][index], bins=[a.edges for a in binning.axes])[0]
        else:
            out[i] = [np.histogram(v[index], bins=a.edges)[0] for v, a in zip(values, binning.axes)]
    return out


def _ours(rng: np.random.Generator, columns: dict[str, np.ndarray], histogram: Histogram, lam: float, n: int,
          weights: np.ndarray | None = None, method: str = "cells") -> np.ndarray:
    binning = binning_from_histogram(histogram)
    pool = bin_pool(binning, columns, weights)
    space = cell_space(binning, [pool])
    if method == "vector":
        return sample_histograms(rng, space, lam * space.shape_of(pool), n)
    terms = [(np.zeros(n, dtype=np.int64), np.full(n, lam))]
    histograms, totals = sample_mixture(rng, space, space.shape_of(pool)[None, :], terms, method=method)
    np.testing.assert_array_equal(histograms.reshape(n, -1).sum(1) / len(binning.axes if histogram.kind == "1d" else [0]),
                                  totals)
    return histograms


def test_binning_edges_and_overflow() -> None:
    binning = binning_from_histogram(IMAGE)
    assert np.allclose(np.diff(np.log(binning.axes[0].edges)), np.log(1000 / 150) / 8)
    axis = binning.axes[1]
    values = np.array([-9.0, -2.4, -1.6, 0.0, 2.39, 2.4, 7.0])
    # first/last bins take the under/overflow; an inner edge belongs to the bin above, the last edge to the last bin
    assert axis.index(values).tolist() == [0, 0, 1, 3, 5, 5, 5]
    columns = {"leading_jet_pt": np.array([100.0, np.nan, 500.0, 2000.0]),
               "leading_jet_eta": np.array([0.1, 0.2, np.inf, -0.3])}
    pool = bin_pool(binning, columns)
    assert pool.n_events == 2 and pool.kept_weight_fraction == pytest.approx(0.5)  # NaN and inf dropped
    assert sorted(map(tuple, pool.cells.tolist())) == [(0, 3), (7, 2)]


def test_per_bin_mean_and_variance_are_poisson() -> None:
    rng = np.random.default_rng(1)
    columns = _pool(rng, 20_000)
    histograms = _ours(rng, columns, IMAGE, 3000.0, 4000)
    binning = binning_from_histogram(IMAGE)
    pool = bin_pool(binning, columns)
    expected = 3000.0 * cell_space(binning, [pool]).shape_of(pool).reshape(binning.shape)
    mean, var = histograms.mean(axis=0), histograms.var(axis=0, ddof=1)
    filled = expected > 0
    assert np.max(np.abs(mean - expected)[filled] / np.sqrt(expected[filled] / 4000)) < 4.5
    # Var of a sample variance of Poisson(μ) ≈ (μ + 2μ²)/n
    assert np.max(np.abs(var - expected)[filled] / np.sqrt((expected + 2 * expected**2)[filled] / 4000)) < 4.5
    assert histograms.sum(axis=(1, 2)).mean() == pytest.approx(3000, abs=4 * np.sqrt(3000 / 4000))


@pytest.mark.parametrize("histogram", [IMAGE, CHANNELS], ids=["2d", "1d-channels"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("method", ["vector", "cells", "events"])
def test_agrees_with_event_resampling(histogram: Histogram, weighted: bool, method: str) -> None:
    rng = np.random.default_rng(2)
    columns = _pool(rng, 5000)
    weights = rng.uniform(0.2, 1.8, 5000) if weighted else None
    lam, n = 500.0, 1500
    naive = _naive(rng, columns, histogram, lam, n, weights).reshape(n, -1)
    ours = _ours(rng, columns, histogram, lam, n, weights, method).reshape(n, -1)
    # summed over histograms: a two-sample chi-square test of the binned distributions
    used = (naive.sum(0) + ours.sum(0)) > 0
    table = np.stack([naive.sum(0)[used], ours.sum(0)[used]])
    assert stats.chi2_contingency(table).pvalue > 1e-3
    # per-bin count distributions: mean and variance within errors, KS on the busiest bins
    mean_error = np.sqrt((naive.var(0) + ours.var(0)) / n) + 1e-9
    assert np.max(np.abs(naive.mean(0) - ours.mean(0)) / mean_error) < 4.5
    busy = np.argsort(naive.mean(0))[-3:]
    for i in busy:
        assert naive[:, i].var() == pytest.approx(ours[:, i].var(), rel=0.2)
        assert stats.ks_2samp(naive[:, i], ours[:, i]).pvalue > 1e-3
    # totals: Poisson(Λ) in both
    assert stats.ks_2samp(naive.sum(1), ours.sum(1)).pvalue > 1e-3


@pytest.mark.parametrize("method", ["cells", "events"])
def test_channels_keep_their_correlation(method: str) -> None:
    """Stacked 1D channels hold the same events: MET and H_T bin counts co-fluctuate as in resampling."""
    rng = np.random.default_rng(3)
    columns = _pool(rng, 5000)
    n = 1500
    naive = _naive(rng, columns, CHANNELS, 500.0, n)
    ours = _ours(rng, columns, CHANNELS, 500.0, n, method=method)
    np.testing.assert_array_equal(ours[:, 0].sum(1), ours[:, 1].sum(1))
    # correlation between the first MET bin and the first H_T bin (both hold the softest events)
    r_naive = np.corrcoef(naive[:, 0, 0], naive[:, 1, 0])[0, 1]
    r_ours = np.corrcoef(ours[:, 0, 0], ours[:, 1, 0])[0, 1]
    assert r_ours > 0.3 and abs(r_naive - r_ours) < 4 / np.sqrt(n)
    # channel-independent sampling would give zero correlation: the test can tell
    binning = binning_from_histogram(CHANNELS)
    independent = [rng.poisson(500.0 * np.histogram(np.clip(columns[a.feature], a.edges[0], a.edges[-1]),
                                                      bins=a.edges)[0] / 5000, size=(n, a.bins)) for a in binning.axes]
    assert abs(np.corrcoef(independent[0][:, 0], independent[1][:, 0])[0, 1]) < 4 / np.sqrt(n)


@pytest.mark.parametrize("method", ["cells", "events"])
def test_mixture_means_and_variances(method: str) -> None:
    """SM+NP rows: cell counts Poisson(B q_i + S p_i); SM rows Poisson(B q_i); pure rows Poisson(r p_i)."""
    rng = np.random.default_rng(8)
    binning = binning_from_histogram(CHANNELS)
    background, signal = _pool(rng, 20_000), _pool(rng, 20_000)
    signal["met"] = signal["met"] * 1.5
    pools = [bin_pool(binning, background), bin_pool(binning, signal)]
    space = cell_space(binning, pools)
    shapes = np.stack([space.shape_of(pool) for pool in pools])
    n = 3000
    component = np.where(np.arange(n) % 2 == 0, -1, 1)
    terms = [(np.zeros(n, dtype=np.int64), np.full(n, 300.0)), (component, np.full(n, 60.0))]
    histograms, totals = sample_mixture(rng, space, shapes, terms, method=method)
    for rows, lam in ((component < 0, 300 * shapes[0]), (component > 0, 300 * shapes[0] + 60 * shapes[1])):
        expected = space.marginal(lam).reshape(-1)
        x = histograms[rows].reshape(rows.sum(), -1)
        filled = expected > 0.5
        assert np.max(np.abs(x.mean(0) - expected)[filled] / np.sqrt(expected[filled] / rows.sum())) < 4.5
        np.testing.assert_allclose(x.var(0, ddof=1)[filled], expected[filled], rtol=0.25)
        assert totals[rows].mean() == pytest.approx(lam.sum(), abs=5 * np.sqrt(lam.sum() / rows.sum()))


def test_weighted_pool_shape_and_negative_weights() -> None:
    binning = binning_from_histogram(CHANNELS)
    columns = {"met": np.array([250.0, 250.0, 900.0, 500.0]), "ht": np.array([300.0, 300.0, 1500.0, 700.0])}
    pool = bin_pool(binning, columns, np.array([1.0, 3.0, 2.0, 2.0]))
    space = cell_space(binning, [pool])
    np.testing.assert_allclose(space.marginal(space.shape_of(pool))[0][[0, 3, 8]], [0.5, 0.25, 0.25])
    assert pool.effective_events == pytest.approx(64 / 18) == effective_events(np.array([1.0, 3, 2, 2]))
    with pytest.warns(NegativeWeightWarning, match="negative weight sum"):
        clipped = bin_pool(binning, columns, np.array([1.0, 3.0, -2.0, 2.0]))
    assert clipped.weights.min() == 0.0 and clipped.total_weight == pytest.approx(6.0)


def test_small_pool_warning() -> None:
    binning = binning_from_histogram(IMAGE)
    pool = bin_pool(binning, _pool(np.random.default_rng(4), 1000))
    assert check_pool_size(pool, 999.0, label="toy")
    with pytest.warns(SmallPoolWarning, match="toy: a histogram draws 5,000 events on average from a pool of 1,000"):
        assert not check_pool_size(pool, 5000.0, label="toy")
