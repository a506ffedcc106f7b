"""Bin-space histogram sampling vs naive event resampling (one process, ratios).

Three ways to make 28×28 leading-jet (pT, η) images of B = 50 000 background events on average:

- naive: per histogram draw n ~ Poisson(B) event indices from the pool, then ``np.histogram2d``;
- ours: :func:`darkscan.analysis.histograms.sample_histograms` (per-cell Poisson(B·p_i), float32 images);
- bare: ``rng.poisson(lam_vector, size=(n, 784))`` alone, the cost of the random variates themselves.

Goals (issue 6): ours ≥ 100× faster than naive, and within 1.5× of bare.

Run: ``python benchmarks/histogram_sampling.py [--naive N] [--ours N]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from darkscan.analysis.histograms import bin_pool, binning_from_histogram, cell_space, sample_histograms
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

    t_naive = _best_per_histogram(naive, args.repeats)
    t_ours = _best_per_histogram(ours, args.repeats)
    t_bare = _best_per_histogram(bare, args.repeats)
    print(f"B = {B:,}, 28×28 bins, pool {POOL:,} events")
    print(f"naive  (indices + np.histogram2d): {t_naive * 1e6:10.1f} µs/histogram")
    print(f"ours   (bin-space Poisson)       : {t_ours * 1e6:10.1f} µs/histogram")
    print(f"bare   (rng.poisson alone)       : {t_bare * 1e6:10.1f} µs/histogram")
    print(f"speed-up naive/ours: {t_naive / t_ours:8.1f}×   (goal ≥ 100×)")
    print(f"overhead ours/bare : {t_ours / t_bare:8.2f}×   (goal ≤ 1.5×)")


if __name__ == "__main__":
    main()
