"""The optimal-AUC ceiling against a Monte Carlo of the likelihood-ratio test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from darkscan.datasets.ceiling import counting_auc, likelihood_ratio, optimal_auc


def _monte_carlo_auc(p: np.ndarray, q: np.ndarray, z: float, background: float, n: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    signal = z * math.sqrt(background)
    sm = rng.poisson(background * q / q.sum(), size=(n, q.size))
    np_ = rng.poisson(background * q / q.sum() + signal * p / p.sum(), size=(n, q.size))
    scores = likelihood_ratio(np.concatenate([sm, np_]), p, q, z, background)
    finite = scores[np.isfinite(scores)]
    scores = np.where(np.isinf(scores), finite.max() + 1.0, scores)  # an event in an empty-background cell outranks all
    return float(roc_auc_score(np.repeat([0, 1], n), scores))


def _shape(slope: float, bins: int = 20) -> np.ndarray:
    centres = np.arange(bins) + 0.5
    return np.exp(-centres / slope)


def test_counting_values() -> None:
    assert [round(counting_auc(z), 3) for z in (1, 2, 3)] == [0.760, 0.921, 0.983]
    q = _shape(5.0)
    for z in (1, 2, 3):  # equal shapes: only the total separates
        ceiling = optimal_auc(q, q, z, 10_000)
        assert ceiling.sum_p2_over_q == pytest.approx(1.0)
        assert ceiling.auc == pytest.approx(counting_auc(z))


def test_sum_p2_over_q_at_least_one() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):  # Cauchy–Schwarz: Σp²/q ≥ (Σp)²/Σq = 1
        p, q = rng.dirichlet(np.ones(30)), rng.dirichlet(np.ones(30))
        assert optimal_auc(p, q, 1.0, 1000).sum_p2_over_q >= 1.0


@pytest.mark.parametrize(("z", "slope"), [(1.0, 5.0), (2.0, 5.0), (1.0, 9.0), (0.5, 12.0)])
def test_ceiling_matches_likelihood_ratio_monte_carlo(z: float, slope: float) -> None:
    """Large B: the formula Φ((S/√B)·√(Σp²/q)/√2) is the AUC of the likelihood-ratio test."""
    q, p = _shape(4.0), _shape(slope)
    background = 20_000
    ceiling = optimal_auc(p, q, z, background)
    mc = _monte_carlo_auc(p, q, z, background, 4000, seed=int(10 * z + slope))
    # 8000 histograms: standard error of the AUC ≤ 0.006
    assert abs(mc - ceiling.auc_llr) < 0.02
    assert abs(mc - ceiling.auc) < 0.025
    assert ceiling.auc > counting_auc(z)


def test_small_background_needs_the_llr_moments() -> None:
    """Few background events in the signal region: s/b is not small; auc_llr tracks the Monte Carlo."""
    q, p = _shape(3.0), _shape(40.0)
    ceiling = optimal_auc(p, q, 1.0, 400)
    mc = _monte_carlo_auc(p, q, 1.0, 400, 4000, seed=3)
    assert abs(mc - ceiling.auc_llr) < 0.02
    assert abs(ceiling.auc - ceiling.auc_llr) > abs(mc - ceiling.auc_llr)  # the large-B formula is off here


@pytest.mark.parametrize(("z", "background"), [(2.0, 20_000), (1.0, 2000)])
def test_normalised_histograms_lose_the_counting_information(z: float, background: float) -> None:
    """counts: normalise: the multinomial likelihood ratio of the fractions reaches the normalise ceiling,
    far below the Poisson one (which also uses the total)."""
    q, p = _shape(4.0), _shape(5.0)
    poisson = optimal_auc(p, q, z, background)
    normalised = optimal_auc(p, q, z, background, counts="normalise")
    rng = np.random.default_rng(int(z * 10))
    n, signal = 20_000, z * math.sqrt(background)
    sm = rng.poisson(background * q / q.sum(), size=(n, q.size))
    sm_np = rng.poisson(background * q / q.sum() + signal * p / p.sum(), size=(n, q.size))
    histograms = np.concatenate([sm, sm_np]).astype(np.float64)
    fractions = histograms / histograms.sum(axis=1, keepdims=True)
    mc = float(roc_auc_score(np.repeat([0, 1], n), likelihood_ratio(fractions, p, q, z, background, normalised=True)))
    # 2 × 20 000 histograms: standard error ≤ 0.003
    assert abs(mc - normalised.auc_llr) < 0.01
    assert abs(mc - normalised.auc) < 0.01
    assert poisson.auc_llr - normalised.auc_llr > 0.1
    assert normalised.sum_p2_over_q == poisson.sum_p2_over_q
    # identical shapes: nothing is left to separate
    assert optimal_auc(q, q, z, background, counts="normalise").auc == pytest.approx(0.5)
    with pytest.raises(ValueError, match="counts"):
        optimal_auc(p, q, z, background, counts="raw")


def test_empty_background_cells() -> None:
    """q_i = 0 < p_i: an event there proves new physics; AUC = 1 − e^{−Sπ₀}(1 − AUC_rest)."""
    q = np.concatenate([_shape(4.0, 19), [0.0]])
    p = np.concatenate([_shape(4.0, 19), [0.0]])
    p[-1] = 0.002 * p.sum()
    background = 10_000
    ceiling = optimal_auc(p, q, 1.0, background)
    assert ceiling.empty_background_fraction == pytest.approx(0.002 / 1.002)
    assert math.isfinite(ceiling.sum_p2_over_q) and 0.5 < ceiling.auc < 1.0
    mc = _monte_carlo_auc(p, q, 1.0, background, 4000, seed=5)
    assert abs(mc - ceiling.auc_llr) < 0.02
    scores = likelihood_ratio(np.array([[1.0] * 19 + [1.0]]), p, q, 1.0, background)
    assert scores[0] == np.inf


def test_docstring_examples() -> None:
    import doctest

    from darkscan.analysis import luminosity
    from darkscan.datasets import ceiling, histograms

    for module in (ceiling, histograms, luminosity):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
