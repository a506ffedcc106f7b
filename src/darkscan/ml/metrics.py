"""Figures of merit for classifiers: ROC/AUC, discovery significance, overfitting and counting rules.

- :func:`significance`: the Asimov discovery significance of ``s`` signal over ``b`` background
  events, ``Z = √(2((s+b) ln(1+s/b) − s))``, and with an absolute background uncertainty ``σ_b``
  (Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554; Cowan's "Discovery sensitivity for
  a counting experiment with background uncertainty"):
  ``Z = √(2[(s+b) ln((s+b)(b+σ_b²)/(b²+(s+b)σ_b²)) − (b²/σ_b²) ln(1 + σ_b² s/(b(b+σ_b²)))])``.
  Reference values: s = 10, b = 100 → Z = 0.984; with σ_b = 10 → Z = 0.690. For ``s ≪ b`` and
  ``σ_b = 0`` both reduce to ``s/√b``.
- :func:`significance_scan`: Z as a function of a cut on a score, the expected yields above the cut
  being the class totals times the (weighted) fraction of each class above it.
- :func:`ks_train_test`: Kolmogorov–Smirnov p-value of the train vs test score distributions per
  class (a small p-value: the network scores its training data differently, i.e. it overfits).
- :func:`counting_rule`: the multiclass "counting rule" of the reference analyses: a histogram counts
  for class k when output k is the largest *and* above 2/N_classes; otherwise it is not assigned.
- :func:`roc`, :func:`auc`: scikit-learn's ROC curve and AUC, with ``±inf`` scores (the likelihood
  ratio of a histogram with an event where the background has none) mapped to finite extremes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

__all__ = [
    "SignificanceScan",
    "auc",
    "confusion_matrix",
    "counting_rule",
    "finite_scores",
    "ks_train_test",
    "median_significance",
    "multiclass_auc",
    "roc",
    "significance",
    "significance_scan",
]


def __dir__() -> list[str]:
    return list(__all__)


def significance(s: float | np.ndarray, b: float | np.ndarray, sigma_b: float | np.ndarray = 0.0) -> np.ndarray | float:
    """Asimov discovery significance of ``s`` signal over ``b`` background events (± ``sigma_b``, absolute).

    Zero where ``s <= 0``; ``inf`` where ``b <= 0 < s`` (a background-free signal).

    Example:
        >>> round(significance(10, 100), 3), round(significance(10, 100, 10), 3)
        (0.984, 0.69)
    """
    s_arr, b_arr, v_arr = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (s, b, sigma_b)))
    v_arr = v_arr**2
    z2 = np.zeros(s_arr.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        plain = 2.0 * ((s_arr + b_arr) * np.log1p(s_arr / b_arr) - s_arr)
        total = s_arr + b_arr
        # ln((s+b)(b+σ²)/(b²+(s+b)σ²)) = ln(1 + s·b/(b²+(s+b)σ²)): log1p keeps precision for s ≪ b
        with_sigma = 2.0 * (total * np.log1p(s_arr * b_arr / (b_arr**2 + total * v_arr))
                            - b_arr**2 / v_arr * np.log1p(v_arr * s_arr / (b_arr * (b_arr + v_arr))))
    positive = (s_arr > 0) & (b_arr > 0)
    z2 = np.where(positive & (v_arr > 0), with_sigma, np.where(positive, plain, z2))
    # rounding can leave −1e-16 where Z is zero
    z = np.sqrt(np.clip(z2, 0.0, None))
    z = np.where((s_arr > 0) & (b_arr <= 0), np.inf, z)
    return float(z) if z.ndim == 0 else z


@dataclasses.dataclass(frozen=True)
class SignificanceScan:
    """Z against the score cut (keep ``score >= cut``).

    Attributes:
        cuts: the scanned cuts, increasing.
        s, b: expected signal and background events above each cut.
        z: Asimov significance without background uncertainty.
        z_sigma_b: with a relative background uncertainty ``relative_sigma_b`` (σ_b = rel·b).
        relative_sigma_b: the relative background uncertainty used for ``z_sigma_b``.
        best: index of the cut with the largest ``z`` among cuts keeping at least ``min_background`` events.
    """

    cuts: np.ndarray
    s: np.ndarray
    b: np.ndarray
    z: np.ndarray
    z_sigma_b: np.ndarray
    relative_sigma_b: float
    best: int

    def best_point(self) -> dict[str, float]:
        """The best cut as plain floats: ``{"cut", "s", "b", "z", "z_sigma_b"}``."""
        i = self.best
        return {"cut": float(self.cuts[i]), "s": float(self.s[i]), "b": float(self.b[i]), "z": float(self.z[i]),
                "z_sigma_b": float(self.z_sigma_b[i])}


def significance_scan(scores: np.ndarray, labels: np.ndarray, *, signal_events: float, background_events: float,
                      weights: np.ndarray | None = None, relative_sigma_b: float = 0.1, n_cuts: int = 101,
                      min_background: float = 1.0) -> SignificanceScan:
    """Scan a cut on ``scores`` (higher = more signal-like) and compute Z above each cut.

    ``signal_events`` and ``background_events`` are the expected yields before the cut (σ·L·ε of the
    selection); the fraction of each class (``labels`` 1 and 0, weighted by ``weights``) above the cut
    scales them. Cuts are the score quantiles of the signal class, so that the scan resolves where the
    signal is. The best cut ignores cuts leaving fewer than ``min_background`` background events,
    where the asymptotic formula (and the finite test sample) cannot be trusted.
    """
    scores = finite_scores(np.asarray(scores, dtype=np.float64).reshape(-1))
    labels = np.asarray(labels).reshape(-1)
    weights = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    signal, background = labels == 1, labels == 0
    if not signal.any() or not background.any():
        raise ValueError("a significance scan needs both classes (labels 0 and 1)")
    # the first cut keeps everything: Z of the selection alone
    cuts = np.unique(np.concatenate([[scores.min()], np.quantile(scores[signal], np.linspace(0.0, 1.0, n_cuts))]))
    efficiency = []
    for mask in (signal, background):
        order = np.argsort(scores[mask])
        sorted_scores, cumulative = scores[mask][order], np.cumsum(weights[mask][order][::-1])[::-1]
        # weighted fraction with score >= cut
        index = np.searchsorted(sorted_scores, cuts, side="left")
        above = np.where(index < len(sorted_scores), cumulative[np.minimum(index, len(sorted_scores) - 1)], 0.0)
        efficiency.append(above / weights[mask].sum())
    s = signal_events * efficiency[0]
    b = background_events * efficiency[1]
    z = np.asarray(significance(s, b))
    z_sigma_b = np.asarray(significance(s, b, relative_sigma_b * b))
    allowed = np.flatnonzero(b >= min_background)
    best = int(allowed[np.argmax(z[allowed])]) if len(allowed) else 0
    return SignificanceScan(cuts, s, b, z, z_sigma_b, float(relative_sigma_b), best)


def median_significance(background_scores: np.ndarray, signal_scores: np.ndarray) -> dict[str, float]:
    """Median discovery significance of one observed histogram, with a classifier's score as test statistic.

    Under SM the score has the distribution of ``background_scores``; observing the median score of
    SM + signal histograms gives the p-value ``p = P_SM(score ≥ median)`` and ``Z = Φ⁻¹(1 − p)``.
    With ``n`` SM histograms p is estimated as ``(k + 1)/(n + 1)`` (k of them at or above the
    median), so Z cannot exceed ``z_max = Φ⁻¹(1 − 1/(n + 1))``: a larger Z needs more SM histograms.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> round(median_significance(rng.normal(0, 1, 200_000), rng.normal(2, 1, 200_000))["z"], 1)
        2.0
    """
    from scipy.stats import norm

    background = finite_scores(np.asarray(background_scores, dtype=np.float64).reshape(-1))
    signal = finite_scores(np.asarray(signal_scores, dtype=np.float64).reshape(-1))
    median = float(np.median(signal))
    at_or_above = int(np.sum(background >= median))
    p_value = (at_or_above + 1) / (len(background) + 1)
    return {"z": float(norm.isf(p_value)), "p_value": p_value, "z_max": float(norm.isf(1 / (len(background) + 1)))}


def finite_scores(scores: np.ndarray) -> np.ndarray:
    """``scores`` with ``±inf`` replaced by values just beyond the finite ones (ranks unchanged)."""
    scores = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(scores)
    if finite.all():
        return scores
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    low, high = (float(scores[finite].min()), float(scores[finite].max())) if finite.any() else (0.0, 0.0)
    span = max(high - low, 1.0)
    return np.where(scores == np.inf, high + span, np.where(scores == -np.inf, low - span, scores))


def auc(labels: np.ndarray, scores: np.ndarray, *, sample_weight: np.ndarray | None = None) -> float:
    """ROC AUC of binary ``labels`` (1 = signal) against ``scores`` (scikit-learn)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(labels).reshape(-1), finite_scores(np.asarray(scores).reshape(-1)),
                               sample_weight=sample_weight))


def multiclass_auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Macro-averaged one-vs-rest ROC AUC of class ``probabilities`` ``(n, n_classes)`` (scikit-learn)."""
    from sklearn.metrics import roc_auc_score

    probabilities = np.asarray(probabilities, dtype=np.float64)
    # scikit-learn wants rows summing to 1 exactly; float32 softmax outputs are off by ~1e-7
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
    return float(roc_auc_score(np.asarray(labels).reshape(-1), probabilities, multi_class="ovr", average="macro",
                               labels=np.arange(probabilities.shape[1])))


def roc(labels: np.ndarray, scores: np.ndarray, *, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve ``(false positive rate, true positive rate)`` (scikit-learn, redundant points dropped)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(labels).reshape(-1), finite_scores(np.asarray(scores).reshape(-1)),
                            sample_weight=sample_weight)
    return fpr, tpr


def ks_train_test(train_scores: np.ndarray, train_labels: np.ndarray, test_scores: np.ndarray,
                  test_labels: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """Two-sample Kolmogorov–Smirnov p-value of train vs test scores, per class.

    For a multiclass network pass each class's own output (``scores`` of shape ``(n, n_classes)``):
    class k is tested on output k; for one output (binary) every class is tested on it.
    """
    from scipy.stats import ks_2samp

    train_scores, test_scores = np.asarray(train_scores), np.asarray(test_scores)
    result = {}
    for k, name in enumerate(class_names):
        train = train_scores[train_labels == k]
        test = test_scores[test_labels == k]
        if train.ndim == 2:
            train, test = train[:, k], test[:, k]
        if len(train) == 0 or len(test) == 0:
            continue
        result[name] = float(ks_2samp(train.reshape(-1), test.reshape(-1)).pvalue)
    return result


def counting_rule(probabilities: np.ndarray) -> np.ndarray:
    """The class each histogram counts for, −1 when none: the largest output, if above 2/N_classes.

    Example:
        >>> counting_rule(np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]])).tolist()
        [0, -1]
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n_classes = probabilities.shape[1]
    winner = np.argmax(probabilities, axis=1)
    above = probabilities[np.arange(len(probabilities)), winner] > 2.0 / n_classes
    return np.where(above, winner, -1)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)`` counts, rows the true class, columns the predicted one; −1 predictions are not counted."""
    true, predicted = np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    assigned = predicted >= 0
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (true[assigned], predicted[assigned]), 1)
    return matrix
