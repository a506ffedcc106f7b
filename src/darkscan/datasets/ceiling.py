"""The optimal-AUC ceiling: the best AUC any classifier can reach on SM vs SM+NP Poisson histograms.

A dataset's SM-only histogram has independent cell counts ``n_i ~ Poisson(b_i)`` and an SM+NP
histogram ``n_i ~ Poisson(b_i + s_i)``, with ``b_i = B q_i``, ``s_i = S p_i`` (q, p the normalised
background and signal shapes, ``S = (S/√B)·√B``). By Neyman–Pearson the likelihood ratio is the
best possible classifier, and every ROC curve lies below its ROC. The log-likelihood ratio is

    T = log L(SM+NP)/L(SM) = Σ_i n_i log(1 + s_i/b_i) − S.

Under SM, ``E[T] + S = Σ b_i w_i`` and ``Var T = Σ b_i w_i²`` with ``w_i = log(1 + s_i/b_i)``; under
SM+NP, ``E[T] + S = Σ (b_i + s_i) w_i`` and ``Var T = Σ (b_i + s_i) w_i²``. With many events T is
Gaussian in both classes (central limit over cells), and the AUC of two Gaussians is
``Φ(Δμ / √(σ₀² + σ₁²))`` — this is :attr:`Ceiling.auc_llr`.

In the large-B limit (``s_i ≪ b_i``, ``w_i ≈ s_i/b_i``) both variances equal the mean difference
``Σ s_i²/b_i = (S²/B) Σ p_i²/q_i``, so ``d' = (S/√B)·√(Σ p_i²/q_i)`` and

    AUC_max = Φ(d'/√2) = Φ((S/√B) · √(Σ_i p_i²/q_i) / √2)                       (:attr:`Ceiling.auc`)

``Σ p²/q ≥ (Σ p)²/(Σ q) = 1`` by Cauchy–Schwarz, with equality when the shapes agree: then only the
total count separates the classes and ``AUC = Φ((S/√B)/√2)`` (0.760, 0.921, 0.983 at 1, 2, 3).

At finite B the large-B formula overstates what any classifier can reach: the log terms flatten the
cells with large ``s_i/b_i``, so the information at fixed S/√B still grows slowly with B. Compare
networks with :attr:`Ceiling.auc_llr`. Measured (tests/test_ml_train_physics.py's spin-1 images,
100 cells, max s/b 0.17 at S/√B = 1, B = 5000): ``auc`` 0.6830 / 0.8295 / 0.9716 at S/√B = 0.5 / 1 / 2,
``auc_llr`` 0.6817 / 0.8257 / 0.9677, the likelihood ratio on 4 × 10⁵ Monte-Carlo histograms per class
0.6815 / 0.8255 / 0.9676 (± 0.0006); at B = 50 000 ``auc_llr`` is 0.8283 at S/√B = 1.

Normalised histograms (``datasets.counts: normalise``) hold the fractions ``x_i = n_i/N``; the
total N, and with it the counting information, is gone. The optimal statistic is then the
multinomial one, ``U = Σ_i x_i w'_i`` with ``w'_i = log(1 + s_i/b_i) − log(1 + S/B)``; given N events
drawn from cell probabilities π, ``Var U = (Σ π_i w'_i² − (Σ π_i w'_i)²)/N`` (N = B for SM, B + S for
SM+NP), which gives :attr:`Ceiling.auc_llr`, and the counting term drops out of the large-B limit:
``d' = (S/√B)·√(Σ p_i²/q_i − 1)`` — identical shapes cannot be separated at all.

Empty background cells (``q_i = 0 < p_i``): one event there proves new physics, so the separation is
infinite. They are handled exactly: an SM+NP histogram has no event in them with probability
``exp(−S·π₀)``, ``π₀ = Σ_{q_i=0} p_i``, and otherwise outranks every SM histogram, so
``AUC = 1 − exp(−S·π₀)·(1 − AUC_rest)`` with AUC_rest from the cells with ``q_i > 0``. This is the
ceiling *of the dataset as built*; when the empty cells only reflect a small background pool, the
real-world ceiling is lower, so :attr:`Ceiling.empty_background_fraction` is stored to flag it.

For stacked 1D channels the cells are the joint bins (see :mod:`darkscan.datasets.histograms`); a
classifier sees only the per-channel projections, so the joint-cell value is an upper bound there,
and the best single channel (:func:`channel_ceilings`) a lower bound.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["Ceiling", "channel_ceilings", "counting_auc", "likelihood_ratio", "optimal_auc"]


def __dir__() -> list[str]:
    return list(__all__)


def _normalise(counts: str) -> bool:
    if counts not in ("poisson", "normalise"):
        raise ValueError(f"counts is 'poisson' or 'normalise', got {counts!r}")
    return counts == "normalise"


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def counting_auc(s_over_sqrt_b: float) -> float:
    """AUC of the total count alone in the large-B limit: ``Φ((S/√B)/√2)``.

    Example:
        >>> [round(counting_auc(z), 3) for z in (1, 2, 3)]
        [0.76, 0.921, 0.983]
    """
    return _phi(s_over_sqrt_b / math.sqrt(2.0))


@dataclasses.dataclass(frozen=True)
class Ceiling:
    """The optimal AUC of SM vs SM+NP at one S/√B.

    Attributes:
        s_over_sqrt_b: S/√B of the histograms.
        background_events: B, mean background events per histogram.
        auc: the large-B formula ``Φ((S/√B)·√(Σp²/q)/√2)`` (with the exact empty-cell correction): the
            limit B → ∞ at fixed S/√B, the same for every B.
        auc_llr: Gaussian AUC from the exact moments of the log-likelihood ratio at this B: the ceiling
            to compare classifiers with.
        sum_p2_over_q: ``Σ p_i²/q_i`` over cells with ``q_i > 0`` (1 when the shapes agree).
        empty_background_fraction: ``π₀ = Σ_{q_i=0} p_i``, signal probability in cells without background.
    """

    s_over_sqrt_b: float
    background_events: float
    auc: float
    auc_llr: float
    sum_p2_over_q: float
    empty_background_fraction: float


def optimal_auc(p: np.ndarray, q: np.ndarray, s_over_sqrt_b: float, background_events: float, *,
                counts: str = "poisson") -> Ceiling:
    """The optimal AUC for signal shape ``p`` and background shape ``q`` (any shape, normalised or not).

    ``counts`` is the dataset's ``datasets.counts``: ``poisson`` (raw counts) or ``normalise``
    (fractions, without the total's information).

    Example:
        >>> ceiling = optimal_auc([1, 1, 2], [2, 1, 1], s_over_sqrt_b=1.0, background_events=10_000)
        >>> round(ceiling.sum_p2_over_q, 4), round(ceiling.auc, 3)
        (1.375, 0.796)
    """
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    q = np.asarray(q, dtype=np.float64).reshape(-1)
    if p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("signal and background shapes need positive totals")
    p, q = p / p.sum(), q / q.sum()
    b_total = float(background_events)
    s_total = s_over_sqrt_b * math.sqrt(b_total)
    filled = q > 0
    empty = float(p[~filled].sum())
    ratio = float(np.sum(p[filled] ** 2 / q[filled]))
    normalise = _normalise(counts)
    information = max(ratio - 1.0, 0.0) if normalise else ratio  # the total's share is 1
    auc_rest = _phi(s_over_sqrt_b * math.sqrt(information) / math.sqrt(2.0))

    b = b_total * q[filled]
    s = s_total * p[filled]
    w = np.log1p(s / b)
    if normalise:
        # the SM+NP histograms that reach here have no event in the empty cells: S(1 − π₀) signal events
        s_filled = float(s.sum())
        w = w - math.log1p(s_filled / b_total)
        sm, sm_np = q[filled], (b + s) / (b_total + s_filled)
        mean_difference = float(np.sum((sm_np - sm) * w))
        variance = (float(np.sum(sm * w**2) - np.sum(sm * w) ** 2) / b_total
                    + float(np.sum(sm_np * w**2) - np.sum(sm_np * w) ** 2) / (b_total + s_filled))
    else:
        mean_difference = float(np.sum(s * w))
        variance = float(np.sum(b * w**2) + np.sum((b + s) * w**2))
    auc_llr_rest = _phi(mean_difference / math.sqrt(variance)) if variance > 0 else 0.5

    none_in_empty = math.exp(-s_total * empty)
    return Ceiling(
        s_over_sqrt_b=float(s_over_sqrt_b),
        background_events=b_total,
        auc=1.0 - none_in_empty * (1.0 - auc_rest),
        auc_llr=1.0 - none_in_empty * (1.0 - auc_llr_rest),
        sum_p2_over_q=ratio,
        empty_background_fraction=empty,
    )


def channel_ceilings(p_channels: np.ndarray, q_channels: np.ndarray, s_over_sqrt_b: float,
                     background_events: float, *, counts: str = "poisson") -> list[Ceiling]:
    """The ceiling of each 1D channel alone (per-channel marginal shapes ``(channels, bins)``).

    The optimal test on one channel is available to any classifier of the stacked channels, so the
    best of these is a lower bound on the stacked-channel ceiling.
    """
    return [optimal_auc(p, q, s_over_sqrt_b, background_events, counts=counts) for p, q in zip(p_channels, q_channels)]


def likelihood_ratio(counts: np.ndarray, p: np.ndarray, q: np.ndarray, s_over_sqrt_b: float,
                     background_events: float, *, normalised: bool = False) -> np.ndarray:
    """The log-likelihood ratio ``Σ n_i log(1 + s_i/b_i) − S`` of histograms ``counts`` ``(n, cells)``.

    ``normalised``: the rows are fractions ``x_i = n_i/N``; the statistic is then the multinomial
    ``Σ x_i (log(1 + s_i/b_i) − log(1 + S/B))`` (the per-event log-likelihood ratio given N).

    A count in a cell with ``b_i = 0 < s_i`` gives ``+inf``. This is the optimal classifier whose AUC
    :func:`optimal_auc` predicts; tests compare the two.
    """
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    q = np.asarray(q, dtype=np.float64).reshape(-1)
    p, q = p / p.sum(), q / q.sum()
    s = s_over_sqrt_b * math.sqrt(background_events) * p
    b = background_events * q
    counts = np.asarray(counts, dtype=np.float64).reshape(len(counts), -1)
    filled = b > 0
    if normalised:
        llr = counts[:, filled] @ (np.log1p(s[filled] / b[filled]) - math.log1p(s.sum() / b.sum()))
    else:
        llr = counts[:, filled] @ np.log1p(s[filled] / b[filled]) - s.sum()
    in_empty = counts[:, ~filled & (s > 0)].sum(axis=1) > 0
    return np.where(in_empty, np.inf, llr)
