"""Interpretation: what an AUC at a given S/√B means in luminosity and significance.

The datasets fix S/√B, not a luminosity. A signal point with selected rate ``R_S = σ_S·ε_S`` over a
background ``R_B = Σ σ_b·ε_b`` (fb) reaches ``S/√B = R_S·√L / √R_B`` at luminosity L
(:mod:`darkscan.analysis.luminosity`). The histogram method's AUC depends on S/√B only, not on B
(Arganda et al.'s B-invariance, and exactly so for the large-B ceiling ``Φ(a·(S/√B)/√2)``), so a
classifier's AUC-vs-S/√B curve read at ``S/√B(L)`` gives its AUC at luminosity L.

**Reading the curve.** For equal-variance Gaussian scores separated by d (in units of their width)
``AUC = Φ(d/√2)``, and d grows linearly with S/√B (the ceiling has exactly this form). So the curve is
interpolated linearly in ``Φ⁻¹(AUC)`` against S/√B, anchored at (0, AUC = 0.5); it is never
extrapolated beyond the largest S/√B measured: a target AUC not reached there gives a lower bound on
the luminosity, and a study luminosity beyond the grid a lower bound on the AUC.

**Significance.** With the same Gaussian scores, the median SM+NP score lies d standard deviations
above the SM-only mean, so the expected significance of one histogram test is

    Z = d = √2 · Φ⁻¹(AUC).

:func:`empirical_significance` checks this without the Gaussian assumption: the p-value of the
median SM+NP score under the SM-only score distribution of the test set, ``Z = Φ⁻¹(1 − p)``; a test
set of n SM histograms resolves ``p ≥ 1/n`` only, so a larger Z is reported as a lower bound.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = [
    "CurvePoint",
    "EmpiricalSignificance",
    "ModelInterpretation",
    "auc_at",
    "empirical_significance",
    "interpret",
    "llr_scores",
    "mann_whitney_auc",
    "s_over_sqrt_b_for_auc",
    "significance_from_auc",
]

#: target AUCs for the luminosity columns
TARGET_AUCS = (0.9, 0.99)


def __dir__() -> list[str]:
    return list(__all__)


def significance_from_auc(auc: float) -> float:
    """Expected significance ``Z = √2·Φ⁻¹(AUC)`` of equal-variance Gaussian scores (∞ at AUC = 1).

    Example: AUC = Φ(1/√2) ≈ 0.760 means one standard deviation
        >>> round(significance_from_auc(0.7602499389), 4)
        1.0
    """
    if not 0.0 <= auc <= 1.0:
        raise ValueError(f"an AUC lies in [0, 1], got {auc!r}")
    return float(math.sqrt(2.0) * ndtri(auc))


def _curve(s_over_sqrt_b: Sequence[float], aucs: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (S/√B, Φ⁻¹(AUC)) with the (0, 0) anchor; AUCs of 1 are clipped just below 1."""
    pairs = sorted((float(s), float(a)) for s, a in zip(s_over_sqrt_b, aucs) if a is not None and math.isfinite(a))
    x = np.array([0.0] + [s for s, _ in pairs])
    y = np.array([0.0] + [float(ndtri(min(max(a, 0.5), 1.0 - 1e-12))) for _, a in pairs])
    # a curve measured on noisy test sets need not be monotone: the running maximum is what the
    # classifier reaches at least, and keeps the inverse well defined
    return x, np.maximum.accumulate(y)


def auc_at(s_over_sqrt_b: Sequence[float], aucs: Sequence[float | None], value: float) -> tuple[float, bool]:
    """The curve's AUC at S/√B = ``value``: ``(auc, exact)``; beyond the grid ``(AUC at its end, False)``,
    a lower bound (AUC grows with S/√B)."""
    x, y = _curve(s_over_sqrt_b, aucs)
    if len(x) < 2:
        raise ValueError("an AUC curve needs at least one measured point")
    if value > x[-1]:
        return float(ndtr(y[-1])), False
    return float(ndtr(np.interp(value, x, y))), True


def s_over_sqrt_b_for_auc(s_over_sqrt_b: Sequence[float], aucs: Sequence[float | None], target: float
                          ) -> tuple[float, bool]:
    """The S/√B at which the curve reaches AUC = ``target``: ``(value, exact)``; when the grid never
    reaches it, ``(largest S/√B measured, False)``, a lower bound.

    Example: a ceiling-like curve Φ(S/√B/√2) reaches 0.9 at S/√B = √2·Φ⁻¹(0.9) ≈ 1.81
        >>> grid = [1.0, 2.0, 3.0]
        >>> value, exact = s_over_sqrt_b_for_auc(grid, [float(ndtr(s / 2 ** 0.5)) for s in grid], 0.9)
        >>> round(value, 3), exact
        (1.812, True)
    """
    x, y = _curve(s_over_sqrt_b, aucs)
    goal = float(ndtri(target))
    if len(x) < 2 or y[-1] < goal:
        return float(x[-1]), False
    i = int(np.searchsorted(y, goal))  # first point at or above the goal (y is non-decreasing)
    if y[i] == y[i - 1]:
        return float(x[i]), True
    return float(x[i - 1] + (goal - y[i - 1]) * (x[i] - x[i - 1]) / (y[i] - y[i - 1])), True


def mann_whitney_auc(background_scores: np.ndarray, signal_scores: np.ndarray) -> float:
    """AUC = P(signal score > background score) + ½ P(tie), from ranks."""
    from scipy.stats import rankdata

    scores = np.concatenate([background_scores, signal_scores])
    ranks = rankdata(scores)
    n0, n1 = len(background_scores), len(signal_scores)
    return float((ranks[n0:].sum() - n1 * (n1 + 1) / 2) / (n0 * n1))


@dataclasses.dataclass(frozen=True)
class EmpiricalSignificance:
    """Z of the median SM+NP score under the SM-only scores.

    Attributes:
        z: ``Φ⁻¹(1 − p)``; with ``resolved`` False, the lower bound ``Φ⁻¹(1 − 1/n)``.
        p_value: fraction of SM-only scores above the median SM+NP score, ties counted half (mid-p).
        resolved: whether at least one SM-only score reaches the median (p measured, not bounded).
        n_background: SM-only histograms behind p.
    """

    z: float
    p_value: float
    resolved: bool
    n_background: int


def empirical_significance(background_scores: np.ndarray, signal_scores: np.ndarray) -> EmpiricalSignificance:
    """The p-value of the median SM+NP score under the SM-only score distribution, as a Z."""
    background_scores = np.asarray(background_scores, dtype=np.float64)
    median = float(np.median(signal_scores))
    n = len(background_scores)
    above = int(np.count_nonzero(background_scores > median))
    ties = int(np.count_nonzero(background_scores == median))
    if above + ties == 0:
        return EmpiricalSignificance(float(ndtri(1.0 - 1.0 / n)), 0.0, False, n)
    # mid-p: ties count half, as in the AUC (Poisson counts give discrete scores with many ties)
    p = (above + 0.5 * ties) / n
    return EmpiricalSignificance(float(ndtri(1.0 - p)) if p < 1 else -math.inf, p, True, n)


def llr_scores(x: np.ndarray, q: np.ndarray, p: np.ndarray, background: float, signal: float) -> np.ndarray:
    """The Poisson log-likelihood-ratio statistic ``Σ n_i ln(1 + S p_i / (B q_i))`` per histogram.

    Cells without background get the weight of the largest finite one times 10 (one event there is
    decisive, and an infinite weight would break ranks); ``x`` is ``(n, *shape)``, q and p the shapes.
    """
    q = np.asarray(q, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.log1p(signal * p / (background * q))
    finite = np.isfinite(weights)
    cap = 10.0 * float(weights[finite].max()) if finite.any() and weights[finite].max() > 0 else 1.0
    weights = np.where(finite, weights, np.where(p > 0, cap, 0.0))
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1) @ weights


@dataclasses.dataclass(frozen=True)
class CurvePoint:
    """One point of the Gaussian-method check: a statistic's AUC and both Z estimates at one S/√B."""

    s_over_sqrt_b: float
    auc: float
    z_from_auc: float
    z_empirical: EmpiricalSignificance


@dataclasses.dataclass(frozen=True)
class ModelInterpretation:
    """One signal model of one task, read in luminosity and significance.

    Attributes:
        task, model: the training task and the model (``sample.point_id``).
        classifier: whose AUC curve (``network``, ``likelihood ratio`` or ``optimal ceiling``).
        cross_section_pb, selection_efficiency: σ and ε of the signal point.
        signal_rate_fb, background_rate_fb: selected rates σ·ε (fb).
        s_over_sqrt_b: S/√B of all selected events at the study luminosity.
        luminosity_fb: the study luminosity.
        curve: (S/√B, AUC) measured.
        luminosity_for_auc: per target AUC, ``(L in fb⁻¹, exact)``; not exact: a lower bound.
        auc_at_luminosity, auc_exact: the AUC at the study luminosity (not exact: a lower bound).
        z_at_luminosity: ``√2·Φ⁻¹(AUC)`` at the study luminosity (a lower bound when the AUC is).
        check: the empirical check of ``Z = √2·Φ⁻¹(AUC)`` on the dataset histograms, per S/√B.
        check_statistic: what the check ranks histograms by.
    """

    task: str
    model: str
    classifier: str
    cross_section_pb: float
    selection_efficiency: float
    signal_rate_fb: float
    background_rate_fb: float
    s_over_sqrt_b: float
    luminosity_fb: float
    curve: tuple[tuple[float, float], ...]
    luminosity_for_auc: dict[float, tuple[float, bool]]
    auc_at_luminosity: float
    auc_exact: bool
    z_at_luminosity: float
    check: tuple[CurvePoint, ...] = ()
    check_statistic: str = ""


def _curves_from_evaluation(evaluation: dict[str, Any]) -> dict[str, tuple[str, list[float], list[float | None]]]:
    """{model: (classifier, S/√B values, AUCs)} from an evaluation JSON (network AUCs, else the LR's)."""
    curves: dict[str, tuple[str, list[float], list[float | None]]] = {}
    for unit in evaluation.get("units") or []:
        if unit.get("s_over_sqrt_b") is None or not unit.get("model"):
            continue
        for key, name in (("auc", "network"), ("auc_likelihood_ratio", "likelihood ratio")):
            if unit.get(key) is not None:
                classifier, xs, ys = curves.setdefault(unit["model"], (name, [], []))
                if classifier == name:
                    xs.append(float(unit["s_over_sqrt_b"]))
                    ys.append(float(unit[key]))
                break
    return curves


def _check(h5: Any, m: int, s_values: Sequence[float], background: float) -> tuple[list[CurvePoint], str]:
    """Z from the AUC vs Z from the median p-value, of the dataset's own LLR statistic, per S/√B."""
    q = h5["shapes/background"][...]
    p = h5["shapes/models"][m]
    kind = str(h5.attrs["kind"])
    statistic = "Poisson likelihood ratio of the full histogram"
    if kind == "1d" and q.shape[0] > 1:  # per-channel marginals only: use the first channel
        q, p = q[0], p[0]
        statistic = "Poisson likelihood ratio of the first channel"
    name = json.loads(h5.attrs["models"])[m]
    points = []
    for value in s_values:
        key = f"sb_{value:g}"
        group = h5.get(f"{key}/{name}") if f"{key}/{name}" in h5 else h5.get(key)
        if group is None or "y" not in group:
            continue
        y = group["y"][...]
        models = group["model"][...]
        keep = (models == m) | (models == -1)
        if str(h5.attrs["labels"]) == "binary":
            keep = np.ones(len(y), dtype=bool)
        x = group["x"][...][keep]
        x = x[:, 0] if kind == "1d" and x.ndim == 3 and x.shape[1] > 1 else x
        labels = y[keep] > 0
        if labels.all() or not labels.any():
            continue
        signal = float(group.attrs["signal_events"])
        scores = llr_scores(x, q, p, float(group.attrs["background_events"]), signal)
        auc = mann_whitney_auc(scores[~labels], scores[labels])
        points.append(CurvePoint(float(value), auc, significance_from_auc(auc),
                                 empirical_significance(scores[~labels], scores[labels])))
    return points, statistic


def interpret(study: Any) -> list[ModelInterpretation]:
    """Per task (binary, multimodel, multiclass) and signal model: luminosities for AUC 0.9/0.99 and Z.

    The AUC curve is the network's from ``evaluation/<task>.json`` when the evaluation ran, else the
    dataset's optimal ceiling (``ceiling/auc`` of ``datasets/<task>.h5``).
    """
    import h5py

    from darkscan.analysis.luminosity import luminosity_view
    from darkscan.datasets.build import sample_rates

    view = luminosity_view(sample_rates(study), luminosity_fb=study.luminosity_fb,
                           targets=study.datasets.s_over_sqrt_b,
                           dataset_background_events=study.datasets.background_events)
    rates = {f"{s.sample}.{s.point_id}": s for s in view.signals}
    out: list[ModelInterpretation] = []
    for task in study.training:
        if task.labels not in ("binary", "multimodel", "multiclass") or task.network == "event_dnn":
            continue
        path = study.output_dir / "datasets" / f"{task.name}.h5"
        if not path.exists():
            continue
        evaluation_path = study.output_dir / "evaluation" / f"{task.name}.json"
        curves = _curves_from_evaluation(json.loads(evaluation_path.read_text())) if evaluation_path.exists() else {}
        with h5py.File(path, "r") as h5:
            models = json.loads(h5.attrs["models"])
            grid = [float(v) for v in h5["ceiling"].attrs["s_over_sqrt_b"]]
            # the exact-moment ceiling, the one the evaluation compares the networks with
            ceiling = h5["ceiling/auc_llr" if "ceiling/auc_llr" in h5 else "ceiling/auc"][...]
            for m, model in enumerate(models):
                if model not in rates:
                    continue
                classifier, xs, ys = curves.get(model) or ("optimal ceiling", grid, [float(a) for a in ceiling[m]])
                rate = rates[model]
                s_now = view.s_over_sqrt_b(rate)
                lumis: dict[float, tuple[float, bool]] = {}
                for target in TARGET_AUCS:
                    value, exact = s_over_sqrt_b_for_auc(xs, ys, target)
                    lumis[target] = (view.luminosity_for(rate, value), exact)
                auc_now, exact = auc_at(xs, ys, s_now)
                check, statistic = _check(h5, m, grid, float(h5.attrs["background_events"]))
                out.append(ModelInterpretation(
                    task=task.name, model=model, classifier=classifier, cross_section_pb=rate.cross_section_pb,
                    selection_efficiency=rate.selection_efficiency, signal_rate_fb=rate.rate_fb,
                    background_rate_fb=view.background_rate_fb, s_over_sqrt_b=s_now,
                    luminosity_fb=study.luminosity_fb, curve=tuple(zip(xs, (float(a) for a in ys if a is not None))),
                    luminosity_for_auc=lumis, auc_at_luminosity=auc_now, auc_exact=exact,
                    z_at_luminosity=significance_from_auc(auc_now), check=tuple(check), check_statistic=statistic))
    return out
