"""Bin-space histogram sampling vs naive event resampling (one process, ratios).

Three ways to make 28×28 leading-jet (pT, η) images of B = 50 000 background events on average:

- naive: per histogram draw n ~ Poisson(B) event indices from the pool, then ``np.histogram2d``;
- ours: :func:`darkscan.datasets.histograms.sample_histograms` (per-cell Poisson(B·p_i), float32 images);
- bare: ``rng.poisson(lam_vector, size=(n, 784))`` alone, the cost of the random variates themselves.

Goals (issue 6): ours ≥ 100× faster than naive, and within 1.5× of bare.

A second scenario times the Uppsala Conv1D input: four stacked 1D channels (MET, leading-jet pT,
η, p_T^ℓℓ-like) × 40 bins of the *same* events, B = 20 000. The joint cells of a 200 000-event pool
then outnumber the events of a histogram, so the sampler draws events over cells (look-up table +
bincount, ``method="events"``); the naive reference is index draws + one ``np.histogram`` per channel.

Run: ``python benchmarks/histogram_sampling.py [--naive N] [--ours N]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from darkscan.datasets.histograms import (
    bin_pool,
    binning_from_histogram,
    cell_space,
    sample_histograms,
    sample_mixture,
)
from darkscan.study import Histogram

B = 50_000
POOL = 200_000
IMAGE = Histogram.model_validate({"name": "jet_pt_eta", "kind": "2d", "axes": [
    {"feature": "leading_jet_pt", "bins": 28, "range": [150, 2000], "log": True},
    {"feature": "leading_jet_eta", "bins": 28, "range": [-2.4, 2.4]}]})


def _best_per_histogram(run: Callable[[], int], repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        n = run()
        best = min(best, (time.perf_counter() - start) / n)
    return float(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive", type=int, default=40, help="histograms per naive timing")
    parser.add_argument("--ours", type=int, default=4000, help="histograms per bin-space timing")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(1)
    pt = 150.0 + rng.exponential(200.0, POOL)
    eta = rng.normal(0.0, 1.3, POOL)
    binning = binning_from_histogram(IMAGE)
    edges = [axis.edges for axis in binning.axes]
    # the naive method clips once, like the edge-bin overflow convention of the sampler
    pt_clipped, eta_clipped = (np.clip(v, e[0], e[-1]) for v, e in zip((pt, eta), edges))

    def naive() -> int:
        for _ in range(args.naive):
            index = rng.integers(0, POOL, size=rng.poisson(B))
            np.histogram2d(pt_clipped[index], eta_clipped[index], bins=edges)
        return args.naive

    pool = bin_pool(binning, {"leading_jet_pt": pt, "leading_jet_eta": eta})
    space = cell_space(binning, [pool])
    lam = B * space.shape_of(pool)

    def ours() -> int:
        sample_histograms(rng, space, lam, args.ours)
        return args.ours

    def bare() -> int:
        rng.poisson(lam, size=(args.ours, lam.size))
        return args.ours

    # the dataset builder's path: a chunk of 1024 rows, half SM (B q), half SM+NP (B q + S p)
    signal_pool = bin_pool(binning, {"leading_jet_pt": 150.0 + rng.exponential(400.0, POOL),
                                     "leading_jet_eta": rng.normal(0.0, 0.9, POOL)})
    shapes = np.stack([lam / B, space.shape_of(signal_pool)])
    rows = 1024
    terms = [(np.zeros(rows, dtype=np.int64), np.full(rows, float(B))),
             (np.where(np.arange(rows) % 2 == 0, -1, 1), np.full(rows, 3.0 * np.sqrt(B)))]

    def mixture() -> int:
        for _ in range(max(1, args.ours // rows)):
            sample_mixture(rng, space, shapes, terms, method="cells")
        return max(1, args.ours // rows) * rows

    t_naive = _best_per_histogram(naive, args.repeats)
    t_ours = _best_per_histogram(ours, args.repeats)
    t_bare = _best_per_histogram(bare, args.repeats)
    t_mixture = _best_per_histogram(mixture, args.repeats)
    print(f"B = {B:,}, 28×28 bins, pool {POOL:,} events")
    print(f"naive  (indices + np.histogram2d): {t_naive * 1e6:10.1f} µs/histogram")
    print(f"ours   (bin-space Poisson)       : {t_ours * 1e6:10.1f} µs/histogram")
    print(f"bare   (rng.poisson alone)       : {t_bare * 1e6:10.1f} µs/histogram")
    print(f"speed-up naive/ours: {t_naive / t_ours:8.1f}×   (goal ≥ 100×)")
    print(f"overhead ours/bare : {t_ours / t_bare:8.2f}×   (goal ≤ 1.5×)")
    print(f"dataset path (SM / SM+NP rows, float32 images): {t_mixture * 1e6:.1f} µs/histogram, "
          f"{t_naive / t_mixture:.1f}× naive, {t_mixture / t_bare:.2f}× bare")
    _channels(rng, args.repeats)


CHANNELS = Histogram.model_validate({"name": "channels", "kind": "1d", "axes": [
    {"feature": "met", "bins": 40, "range": [0, 2000]},
    {"feature": "leading_jet_pt", "bins": 40, "range": [0, 2000]},
    {"feature": "leading_jet_eta", "bins": 40, "range": [-4.5, 4.5]},
    {"feature": "ptll", "bins": 40, "range": [0, 2000]}]})


def _channels(rng: np.random.Generator, repeats: int) -> None:
    b, n_naive, n_ours = 20_000, 40, 400
    met = rng.exponential(250.0, POOL)
    columns = {"met": met, "leading_jet_pt": met * rng.normal(1.0, 0.2, POOL),
               "leading_jet_eta": rng.normal(0.0, 1.8, POOL), "ptll": rng.exponential(150.0, POOL)}
    binning = binning_from_histogram(CHANNELS)
    clipped = [np.clip(columns[a.feature], a.edges[0], a.edges[-1]) for a in binning.axes]

    def naive() -> int:
        for _ in range(n_naive):
            index = rng.integers(0, POOL, size=rng.poisson(b))
            for values, axis in zip(clipped, binning.axes):
                np.histogram(values[index], bins=axis.edges)
        return n_naive

    pool = bin_pool(binning, columns)
    space = cell_space(binning, [pool])
    shapes = space.shape_of(pool)[None, :]
    terms = [(np.zeros(n_ours, dtype=np.int64), np.full(n_ours, float(b)))]

    tables: dict[int, object] = {}

    def ours() -> int:
        sample_mixture(rng, space, shapes, terms, tables=tables)
        return n_ours

    t_naive = _best_per_histogram(naive, repeats)
    t_ours = _best_per_histogram(ours, repeats)
    print(f"\nstacked 1D: 4 channels × 40 bins, B = {b:,}, {space.n_cells:,} occupied joint cells")
    print(f"naive  (indices + 4 × np.histogram): {t_naive * 1e6:10.1f} µs/histogram")
    print(f"ours   (events over joint cells)   : {t_ours * 1e6:10.1f} µs/histogram")
    print(f"speed-up naive/ours: {t_naive / t_ours:8.1f}×")


if __name__ == "__main__":
    main()
