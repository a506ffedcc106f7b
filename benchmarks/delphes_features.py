"""Delphes ROOT → features: events per second on one core.

Reads ``shared/data/delphes/zz_llnunu_500ev_ATLAS_slim.root`` (I/O: uproot, timed on its own),
replicates the 500 events' arrays in memory to ``--events`` (default 1 000 000) so that the
timing means something, then times, on the replicated arrays:

1. Delphes leaves → event table (``delphes.table_from_arrays``),
2. event table → every feature (``compute_features``) + the ``atlas_monoz`` selection,

and, as the in-process baseline, the same features computed event by event with ``vector``
objects on 2 000 events (the "obvious" Python loop), scaled per event. numpy runs single-threaded
here (one core). Goal: ≥ 1 M events/s for step 2.

Run: ``python benchmarks/delphes_features.py [--events 1000000]``
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

from _shared_data import shared_data

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def _loop_features(table, n: int) -> float:  # type: ignore[no-untyped-def]
    """Baseline: a handful of the features per event with vector objects; seconds per event."""
    import vector

    start = time.perf_counter()
    for event in table[:n].to_list():
        met = vector.obj(rho=event["met"], phi=event["met_phi"])
        jets = [vector.obj(pt=j["pt"], eta=j["eta"], phi=j["phi"], mass=j["mass"]) for j in event["jets"]]
        _ = sum(j.pt for j in jets)
        _ = min((abs(j.to_xy().deltaphi(met)) for j in jets[:4] if j.pt > 30), default=math.nan)
        leptons = sorted(event["electrons"] + event["muons"], key=lambda lep: -lep["pt"])
        if len(leptons) >= 2:
            l1, l2 = (vector.obj(pt=lep["pt"], eta=lep["eta"], phi=lep["phi"], mass=0.0) for lep in leptons[:2])
            ll = l1 + l2
            _ = (ll.mass, ll.pt, l1.deltaR(l2))
    return (time.perf_counter() - start) / n


def main() -> None:
    import awkward as ak

    from darkscan.readers import delphes
    from darkscan.analysis.features import compute_features
    from darkscan.analysis.selection import PRESETS, apply

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    path = shared_data() / "delphes" / "zz_llnunu_500ev_ATLAS_slim.root"
    if not path.exists():
        sys.exit(f"reference file {path} is missing")
    start = time.perf_counter()
    with delphes.open(path) as handle:
        raw = handle.read()
    t_io = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(10):
        with delphes.open(path) as handle:
            handle.read()
    t_io_warm = (time.perf_counter() - start) / 10
    copies = -(-args.events // len(raw))
    big_raw = ak.concatenate([raw] * copies)
    n = len(big_raw)

    def best(function):  # type: ignore[no-untyped-def]
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = function()
            times.append(time.perf_counter() - start)
        return min(times), result

    t_table, table = best(lambda: delphes.table_from_arrays(big_raw))
    t_features, features = best(lambda: compute_features(table))
    t_select, passed = best(lambda: apply(features, PRESETS["atlas_monoz"]))
    per_event_loop = _loop_features(table, 2000)
    t_both = t_features + t_select
    print(f"I/O (uproot, {len(raw)} events, {path.name}): {t_io:.3f} s → {len(raw) / t_io / 1e3:.0f} k events/s "
          "(first read, includes file open and decompression)")
    print(f"I/O again (file in page cache): {t_io_warm:.3f} s → {len(raw) / t_io_warm / 1e3:.0f} k events/s; "
          "for 500 events uproot's per-file and per-basket overhead dominates, so this is not a per-event rate")
    print(f"{n} events replicated in memory")
    print(f"leaves → event table : {t_table:.3f} s → {n / t_table / 1e6:.2f} M events/s")
    print(f"event table → {len(features)} features + atlas_monoz selection: {t_both:.3f} s → "
          f"{n / t_both / 1e6:.2f} M events/s per core (goal ≥ 1 M/s); passed {int(passed.sum())}")
    print(f"leaves → features, all in memory: {n / (t_table + t_both) / 1e6:.2f} M events/s")
    print(f"baseline: per-event vector objects, 6 features: {per_event_loop * 1e6:.1f} µs/event → "
          f"{1 / per_event_loop / 1e3:.1f} k events/s; ratio {per_event_loop * n / t_both:.0f}×")


if __name__ == "__main__":
    main()
