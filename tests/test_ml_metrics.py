"""Significance (Asimov, with σ_b), significance scans, KS overfitting test, counting rule, AUC."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from darkscan.ml.metrics import (
    auc,
    confusion_matrix,
    counting_rule,
    finite_scores,
    ks_train_test,
    significance,
    significance_scan,
)


def test_reference_values() -> None:
    """Cowan et al.: s = 10, b = 100 → Z = 0.984; with σ_b = 10 → Z = 0.690."""
    assert significance(10, 100) == pytest.approx(0.98399, abs=5e-5)
    assert significance(10, 100, 10) == pytest.approx(0.69020, abs=5e-5)
    assert significance(0, 100) == 0.0 and significance(5, 0) == math.inf


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 1e4), st.floats(0.01, 1e6), st.floats(1e-4, 1e3))
def test_significance_limits(s: float, b: float, sigma_b: float) -> None:
    plain, uncertain = significance(s, b), significance(s, b, sigma_b)
    # a background uncertainty can only lower the significance; small σ_b recovers the plain formula
    assert uncertain <= plain * (1 + 1e-6) + 1e-9
    assert significance(s, b, 1e-7 * b) == pytest.approx(plain, rel=1e-3, abs=1e-6)
    # s ≪ b: Z → s/√b
    assert significance(1e-3 * b, b) == pytest.approx(1e-3 * math.sqrt(b), rel=1e-3)


def test_significance_scan_finds_the_best_cut() -> None:
    rng = np.random.default_rng(1)
    scores = np.concatenate([rng.normal(0, 1, 200_000), rng.normal(2, 1, 200_000)])
    labels = np.repeat([0, 1], 200_000)
    scan = significance_scan(scores, labels, signal_events=50, background_events=1000)
    # the loosest cut keeps everything: Z of the whole selection
    assert scan.s[0] == pytest.approx(50) and scan.b[0] == pytest.approx(1000)
    assert scan.z[0] == pytest.approx(significance(50, 1000))
    best = scan.best_point()
    assert best["z"] > 1.5 * scan.z[0] and best["z_sigma_b"] < best["z"]
    # the same from the Gaussian tails: ε_s = Φ̄(cut − 2), ε_b = Φ̄(cut)
    tail = 0.5 * math.erfc(best["cut"] / math.sqrt(2))
    assert best["b"] == pytest.approx(1000 * tail, rel=0.05)


def test_ks_sees_overfitting() -> None:
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1], 2000)
    same = ks_train_test(rng.uniform(size=4000), labels, rng.uniform(size=4000), labels, ["SM", "SM+NP"])
    assert min(same.values()) > 1e-3
    # training scores pushed to the extremes (memorised), test scores not
    train = np.where(labels == 1, rng.uniform(0.6, 1.0, 4000), rng.uniform(0.0, 0.4, 4000))
    shifted = ks_train_test(train, labels, rng.uniform(size=4000), labels, ["SM", "SM+NP"])
    assert max(shifted.values()) < 1e-10
    # multiclass: class k is tested on output k
    probabilities = rng.dirichlet([1, 1, 1], size=3000)
    classes = rng.integers(0, 3, 3000)
    assert set(ks_train_test(probabilities, classes, probabilities, classes, ["a", "b", "c"]).values()) == {1.0}


def test_counting_rule_and_confusion() -> None:
    outputs = np.array([[0.6, 0.3, 0.1, 0.0], [0.45, 0.4, 0.1, 0.05], [0.2, 0.2, 0.55, 0.05], [0.1, 0.1, 0.1, 0.7]])
    assigned = counting_rule(outputs)  # threshold 2/4 = 0.5
    assert assigned.tolist() == [0, -1, 2, 3]
    matrix = confusion_matrix(np.array([0, 0, 1, 3]), assigned, 4)
    assert matrix.sum() == 3 and matrix[0, 0] == 1 and matrix[1, 2] == 1 and matrix[3, 3] == 1


def test_auc_handles_infinite_scores() -> None:
    labels = np.array([0, 0, 1, 1, 1])
    scores = np.array([-np.inf, 0.3, 0.2, np.inf, np.inf])
    assert auc(labels, scores) == pytest.approx(5 / 6)
    assert finite_scores(scores)[3] > 0.3 and finite_scores(scores)[0] < 0.2
    with pytest.raises(ValueError, match="NaN"):
        finite_scores(np.array([np.nan, 1.0]))
