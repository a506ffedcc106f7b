"""LHE → columnar arrays: darkscan's reader vs pylhe 2.x (``LHEFile.fromfile`` + ``to_awkward``).

Builds a ≥ 100k-event MadGraph file by replicating the 2000 events of the real MG5 3.5.7 run in
``shared/data/mg5/znunu_j`` (written to a temporary folder, plain and gzipped), reads it with both,
checks the arrays agree on a subset, and prints the ratio. pylhe is timed on ``--pylhe-events``
events (default 20 000) and scaled per event, because it takes minutes on 100k; the scaling is
stated in the output.

Run: ``python benchmarks/lhe_reader.py [--events 100000] [--pylhe-events 20000]``
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from pathlib import Path

from _shared_data import shared_data

SOURCE = "mg5/znunu_j/unweighted_events.lhe.gz"


def _replicate(source: Path, n_events: int) -> bytes:
    raw = gzip.open(source).read()
    first = raw.index(b"<event")
    last = raw.rindex(b"</event>") + len(b"</event>\n")
    body = raw[first:last]
    per_copy = body.count(b"</event>")
    copies = -(-n_events // per_copy)
    return raw[:first] + body * copies + raw[last:]


def _best_of(repeat: int, function) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    import awkward as ak
    import pylhe

    from darkscan.readers import lhe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pylhe-events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    source = shared_data() / SOURCE
    if not source.exists():
        sys.exit(f"reference file {source} is missing")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.lhe"
        big.write_bytes(_replicate(source, args.events))
        big_gz = Path(tmp) / "big.lhe.gz"
        big_gz.write_bytes(gzip.compress(big.read_bytes(), compresslevel=6))
        small = Path(tmp) / "small.lhe"
        small.write_bytes(_replicate(source, args.pylhe_events))

        n_big = len(lhe.read(big, filter_name="eventinfo"))
        n_small = len(lhe.read(small, filter_name="eventinfo"))
        t_ours, ours = _best_of(args.repeat, lambda: lhe.read(big))
        t_ours_gz, _ = _best_of(args.repeat, lambda: lhe.read(big_gz))
        t_pylhe, ref = _best_of(1, lambda: pylhe.to_awkward(pylhe.LHEFile.fromfile(small)))
        t_ours_small, ours_small = _best_of(args.repeat, lambda: lhe.read(small))
        start = time.perf_counter()
        decompress_only = len(gzip.decompress(big_gz.read_bytes()))
        t_gunzip = time.perf_counter() - start

    assert ak.to_list(ref[:500]) == ak.to_list(ours_small[:500]), "readers disagree"
    assert len(ours) == n_big
    per_event_pylhe = t_pylhe / n_small
    print(f"file: {n_big} events replicated from {SOURCE} ({big.stat().st_size if big.exists() else 0} bytes)")
    print(f"pylhe 2.x   : {n_small} events in {t_pylhe:.2f} s → {per_event_pylhe * 1e6:.1f} µs/event"
          f" (scaled to {n_big}: {per_event_pylhe * n_big:.1f} s)")
    print(f"darkscan    : {n_small} events in {t_ours_small:.3f} s (same file as pylhe): "
          f"ratio {t_pylhe / t_ours_small:.1f}×")
    print(f"darkscan    : {n_big} events, plain .lhe in {t_ours:.3f} s → {t_ours / n_big * 1e6:.2f} µs/event; "
          f"ratio vs pylhe per event {per_event_pylhe * n_big / t_ours:.1f}×")
    print(f"darkscan    : {n_big} events, .lhe.gz in {t_ours_gz:.3f} s; ratio {per_event_pylhe * n_big / t_ours_gz:.1f}× "
          f"(of which gunzip alone {t_gunzip:.3f} s for {decompress_only / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
