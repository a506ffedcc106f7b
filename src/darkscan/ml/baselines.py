"""Baselines beside every network, on the same test histograms: the exact likelihood ratio, counting, trees.

The likelihood-ratio classifier (:class:`LikelihoodRatio`) is built from the dataset's own shapes
(``/shapes/background`` = q, ``/shapes/models`` = p_k in the HDF5 written by
:mod:`darkscan.datasets.build`). A dataset histogram has independent cell counts
``n_i ~ Poisson(B q_i + S_k p_ki)`` under hypothesis k (k = 0: SM only, S_0 = 0), so the
log-likelihood of hypothesis k is, up to terms common to all hypotheses,

    ℓ_k(n) = Σ_i n_i ln(B q_i + S_k p_ki) − (B + S_k).

- binary (SM vs SM + model k): ``ℓ_k − ℓ_0 = Σ_i n_i ln(1 + S p_ki/(B q_i)) − S``, the Neyman–Pearson
  optimum whose AUC the dataset's ``/ceiling/auc_llr`` predicts (``darkscan.datasets.ceiling``);
- multimodel (SM vs SM + a model drawn uniformly): ``ln(Σ_k e^{ℓ_k}/K) − ℓ_0``, the exact ratio of the
  mixture (no closed-form ceiling exists for it; this classifier *is* the optimum);
- multiclass: the Bayes rule ``argmax_k ℓ_k`` with equal priors, the highest accuracy any classifier
  can reach on these histograms;
- pure images (``r`` events of one process): ``argmax_k Σ_i n_i ln p_ki`` (with q for SM);
- regression: the maximum-likelihood scan point ``argmax_k ℓ_k`` over the signal points.

With ``counts: normalise`` a histogram holds fractions ``x_i = n_i/N`` and the total N is gone; the
statistic is then the multinomial one, ``Σ_i x_i ln((B q_i + S_k p_ki)/(B + S_k))`` (the Poisson
log-likelihood given N, divided by N). For the Bayes rule N is common to all hypotheses, so it is
exact; for a binary AUC it ranks histograms by the per-event log-likelihood ratio, which is the
optimum up to the small spread of N (relative √B/B).

Stacked 1D channels hold the *same* events in every channel, and the file stores only the
per-channel marginal shapes, so no exact joint likelihood can be built from it; the classifier then
uses the single channel with the largest optimal AUC (the dataset's ``best_channel_auc``, a lower
bound on the stacked-channel optimum). :attr:`LikelihoodRatio.channel` says which one.

Other baselines: :func:`counting_scores` (the histogram total alone, AUC ``Φ((S/√B)/√2)``),
:func:`tree_probabilities` (scikit-learn ``RandomForestClassifier`` and
``HistGradientBoostingClassifier`` on the flattened histograms of the same train/test split) and
:func:`cut_and_count` (the significance scan of cut-and-count regions of cells, ordered by their
binned likelihood ratio, with the Asimov Z with and without a background uncertainty).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np

from darkscan.datasets.ceiling import optimal_auc
from darkscan.errors import InputFileError
from darkscan.ml.metrics import SignificanceScan, significance

__all__ = [
    "DatasetShapes",
    "LikelihoodRatio",
    "counting_scores",
    "cut_and_count",
    "read_shapes",
    "tree_probabilities",
]


def __dir__() -> list[str]:
    return list(__all__)


@dataclasses.dataclass(frozen=True)
class DatasetShapes:
    """What the likelihood ratio needs from a dataset file.

    Attributes:
        path: the dataset file.
        labels: the task's label set.
        kind: ``1d`` (stacked channels) or ``2d``.
        counts: ``poisson`` or ``normalise``.
        background: ``q``, the normalised background shape (histogram shape).
        models: ``p``, ``(n_models, *shape)`` normalised signal shapes.
        model_names: one per model, as in the file's ``models`` attribute.
        background_events: B, the mean background events per histogram.
        pure_events: events per pure image.
        s_over_sqrt_b: the S/√B values of the file.
    """

    path: Path
    labels: str
    kind: str
    counts: str
    background: np.ndarray
    models: np.ndarray
    model_names: list[str]
    background_events: float
    pure_events: float
    s_over_sqrt_b: list[float]

    def signal_events(self, s_over_sqrt_b: float) -> float:
        """S = (S/√B)·√B."""
        return float(s_over_sqrt_b) * math.sqrt(self.background_events)


def read_shapes(path: Path) -> DatasetShapes:
    """The shapes and settings of a dataset file written by ``darkscan histos build``.

    Raises:
        InputFileError: the file is missing or is not a darkscan histogram dataset.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no dataset file; build it first (darkscan histos build)")
    try:
        with h5py.File(path, "r") as h5:
            if h5.attrs.get("format") != "darkscan-histograms":
                raise InputFileError(f"{path}: not a darkscan histogram dataset (attribute format is "
                                     f"{h5.attrs.get('format')!r})")
            return DatasetShapes(
                path=path, labels=str(h5.attrs["labels"]), kind=str(h5.attrs["kind"]), counts=str(h5.attrs["counts"]),
                background=h5["shapes/background"][...], models=h5["shapes/models"][...],
                model_names=json.loads(h5.attrs["models"]), background_events=float(h5.attrs["background_events"]),
                pure_events=float(h5.attrs["pure_events"]),
                s_over_sqrt_b=[float(v) for v in np.atleast_1d(h5.attrs["s_over_sqrt_b"])])
    except (OSError, KeyError) as exc:
        raise InputFileError(f"{path}: unreadable histogram dataset ({exc})") from None


def _best_channel(shapes: DatasetShapes) -> int | None:
    """For stacked 1D channels: the channel with the largest optimal AUC (mean over models, S/√B = 1)."""
    if shapes.kind != "1d" or shapes.background.shape[0] == 1:
        return 0 if shapes.kind == "1d" else None
    value = 1.0 if shapes.labels == "pure" else (shapes.s_over_sqrt_b[0] if shapes.s_over_sqrt_b else 1.0)
    means = [np.mean([optimal_auc(p[c], shapes.background[c], value, shapes.background_events).auc
                      for p in shapes.models]) for c in range(shapes.background.shape[0])]
    return int(np.argmax(means))


@dataclasses.dataclass(frozen=True)
class LikelihoodRatio:
    """The exact likelihood-ratio / Bayes classifier of one dataset at one S/√B (module docstring).

    Build it with :meth:`from_shapes`; ``hypotheses`` are SM (row 0) and SM + each model.

    Attributes:
        rates: ``(n_models + 1, n_cells)`` expected counts per cell under each hypothesis
            (B q, B q + S p_k; pure images: q, p_k).
        totals: expected total per hypothesis (B, B + S; pure images: 1).
        multinomial: histograms are fractions (``counts: normalise``) or pure images: use ln(rate/total)
            per event and no ``− total`` term.
        channel: for stacked 1D channels, the channel used; None for images.
    """

    rates: np.ndarray
    totals: np.ndarray
    multinomial: bool
    channel: int | None

    @classmethod
    def from_shapes(cls, shapes: DatasetShapes, s_over_sqrt_b: float | None = None) -> LikelihoodRatio:
        """The classifier at ``s_over_sqrt_b`` (None for pure images)."""
        channel = _best_channel(shapes)

        def cells(shape: np.ndarray) -> np.ndarray:
            flat = shape[channel] if channel is not None else shape
            flat = np.asarray(flat, dtype=np.float64).reshape(-1)
            return flat / flat.sum() if flat.sum() > 0 else flat

        q = cells(shapes.background)
        p = np.stack([cells(m) for m in shapes.models])
        if shapes.labels == "pure":
            return cls(np.vstack([q, p]), np.ones(len(p) + 1), True, channel)
        if s_over_sqrt_b is None:
            raise ValueError("a likelihood ratio of SM vs SM + signal needs S/√B")
        background = shapes.background_events
        signal = shapes.signal_events(s_over_sqrt_b)
        rates = np.vstack([background * q, background * q + signal * p])
        totals = np.concatenate([[background], np.full(len(p), background + signal)])
        return cls(rates, totals, shapes.counts == "normalise", channel)

    def _cells(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.channel is not None:
            x = x[:, self.channel]
        return x.reshape(len(x), -1)

    def log_likelihoods(self, x: np.ndarray) -> np.ndarray:
        """``(n, n_models + 1)``: ℓ_k of every histogram under every hypothesis (−inf: impossible)."""
        counts = self._cells(x)
        if counts.shape[1] != self.rates.shape[1]:
            raise ValueError(f"histograms have {counts.shape[1]} cells, the shapes {self.rates.shape[1]}")
        possible = self.rates > 0
        scale = self.totals[:, None] if self.multinomial else 1.0
        log_rates = np.where(possible, np.log(np.where(possible, self.rates / scale, 1.0)), 0.0)
        ll = counts @ log_rates.T
        if not self.multinomial:
            ll -= self.totals[None, :]
        impossible = counts @ (~possible).T.astype(np.float64) > 0
        return np.where(impossible, -np.inf, ll)

    def binary_scores(self, x: np.ndarray, model: int | None = None) -> np.ndarray:
        """Log-likelihood ratio of SM + model ``model`` (None: the uniform mixture of all models) vs SM."""
        from scipy.special import logsumexp

        ll = self.log_likelihoods(x)
        if model is None:
            signal = logsumexp(ll[:, 1:], axis=1) - math.log(ll.shape[1] - 1)
        else:
            signal = ll[:, 1 + model]
        with np.errstate(invalid="ignore"):
            llr = signal - ll[:, 0]
        # −inf − (−inf): an event where no hypothesis puts any: no information either way
        return np.where(np.isnan(llr), 0.0, llr)

    def posterior(self, x: np.ndarray, *, include_sm: bool = True) -> np.ndarray:
        """Posterior class probabilities with equal priors (softmax of ℓ_k); without SM for regression."""
        from scipy.special import softmax

        ll = self.log_likelihoods(x)
        if not include_sm:
            ll = ll[:, 1:]
        # rows where every hypothesis is impossible: uniform (no information)
        dead = ~np.isfinite(ll).any(axis=1)
        ll = np.where(dead[:, None], 0.0, ll)
        return np.asarray(softmax(ll, axis=1))

    def predict(self, x: np.ndarray, *, include_sm: bool = True) -> np.ndarray:
        """The Bayes rule: the hypothesis of largest likelihood (index 0 = SM; without SM: index of the model)."""
        ll = self.log_likelihoods(x)
        return np.argmax(ll if include_sm else ll[:, 1:], axis=1)


def counting_scores(x: np.ndarray) -> np.ndarray:
    """The histogram total (for stacked channels the sum over all channels, proportional to it)."""
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(len(x), -1).sum(axis=1)


def tree_probabilities(kind: Literal["random_forest", "gradient_boosting"], x_train: np.ndarray, y_train: np.ndarray,
                       x_test: np.ndarray, *, seed: int, threads: int | None = None,
                       x_train_scores: bool = False, sample_weight: np.ndarray | None = None) -> Any:
    """Class probabilities ``(n_test, n_classes)`` of a scikit-learn tree ensemble fitted on flattened histograms.

    ``random_forest``: 100 trees, leaves of ≥ 5 histograms (fully grown trees memorise Poisson
    noise); ``gradient_boosting``: ``HistGradientBoostingClassifier`` with its own early stopping on
    10 % of the training part. Both are seeded and give the same probabilities for any thread count;
    ``threads`` caps the threads (OpenMP for gradient boosting: on an oversubscribed node its
    default of one thread per core can be 100× slower than one thread). With ``x_train_scores`` the
    training-part probabilities are returned as well. ``sample_weight`` weights the training rows
    (the event-level tasks' weight schemes).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from threadpoolctl import threadpool_limits

    flat_train = np.asarray(x_train, dtype=np.float32).reshape(len(x_train), -1)
    flat_test = np.asarray(x_test, dtype=np.float32).reshape(len(x_test), -1)
    model: Any
    if kind == "random_forest":
        model = RandomForestClassifier(n_estimators=100, min_samples_leaf=5, n_jobs=threads, random_state=seed)
    elif kind == "gradient_boosting":
        model = HistGradientBoostingClassifier(random_state=seed, early_stopping=True)
    else:
        raise ValueError(f"unknown tree ensemble {kind!r}")
    with threadpool_limits(limits=threads):
        model.fit(flat_train, np.asarray(y_train).reshape(-1), sample_weight=sample_weight)
        test = model.predict_proba(flat_test)
        if x_train_scores:
            return test, model.predict_proba(flat_train)
    return test


def cut_and_count(shapes: DatasetShapes, model: int, s_over_sqrt_b: float, *,
                  relative_sigma_b: float = 0.1, min_background: float = 1.0) -> SignificanceScan:
    """The significance scan of cut-and-count regions of histogram cells, SM vs SM + model ``model``.

    Each cell's score is its binned likelihood ratio as a probability, ``s_i/(s_i + b_i)`` with
    ``s_i = S p_i``, ``b_i = B q_i`` (the per-event optimal score at this binning); cutting on it keeps
    the cells with ``score ≥ cut``, with ``s = Σ s_i`` and ``b = Σ b_i`` over them. The loosest cut
    keeps every cell: the Z of the study's selection alone (≈ S/√B). ``best`` ignores regions with
    fewer than ``min_background`` background events.
    """
    lr = LikelihoodRatio.from_shapes(shapes, s_over_sqrt_b)
    b_cells, s_cells = lr.rates[0], lr.rates[1 + model] - lr.rates[0]
    keep = (s_cells + b_cells) > 0
    b_cells, s_cells = b_cells[keep], s_cells[keep]
    score = s_cells / (s_cells + b_cells)
    cuts, inverse = np.unique(score, return_inverse=True)
    # events in cells with score ≥ each cut: reversed cumulative sums over the sorted distinct scores
    s = np.cumsum(np.bincount(inverse, weights=s_cells, minlength=len(cuts))[::-1])[::-1]
    b = np.cumsum(np.bincount(inverse, weights=b_cells, minlength=len(cuts))[::-1])[::-1]
    z = np.asarray(significance(s, b))
    z_sigma_b = np.asarray(significance(s, b, relative_sigma_b * b))
    allowed = np.flatnonzero(b >= min_background)
    best = int(allowed[np.argmax(z[allowed])]) if len(allowed) else 0
    return SignificanceScan(cuts, s, b, z, z_sigma_b, float(relative_sigma_b), best)
