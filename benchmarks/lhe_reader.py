"""LHE → columnar arrays: darkscan's reader vs pylhe 2.x (``LHEFile.fromfile`` + ``to_awkward``).

Builds a ≥ 100k-event MadGraph file by replicating the 2000 events of the real MG5 3.5.7 run in
``shared/data/mg5/znunu_j`` (written to a temporary folder, plain and gzipped), reads it with both,
checks the arrays agree on a subset, and prints the ratio. pylhe is timed on ``--pylhe-events``
events (default 20 000) and scaled per event, because it takes minutes on 100k; the scaling is
stated in the output.

Small files (the reference LHE files of a few to a few hundred events), where start-up dominates:
each reader in a fresh interpreter (import included), best of ``--repeat``, both timed in the same run.

Ratios are given for wall time and, because a loaded machine stretches wall time unevenly, for the
process's CPU time (for the ``.lhe.gz`` read, whose decompression runs on a second thread, wall time
is the figure that counts). The limit for ``.lhe.gz`` is gunzip alone.

Run: ``python benchmarks/lhe_reader.py [--events 100000] [--pylhe-events 20000]``
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from pathlib import Path

from _shared_data import best_of, shared_data

SOURCE = "mg5/znunu_j/unweighted_events.lhe.gz"


def _replicate(source: Path, n_events: int) -> bytes:
    raw = gzip.open(source).read()
    first = raw.index(b"<event")
    last = raw.rindex(b"</event>") + len(b"</event>\n")
    body = raw[first:last]
    per_copy = body.count(b"</event>")
    copies = -(-n_events // per_copy)
    return raw[:first] + body * copies + raw[last:]


def _cpubest_of(repeat: int, function) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def _fresh_interpreter(code: str, repeat: int) -> float:
    """Best wall time of ``code`` in a new Python process (imports included)."""
    import os
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        best = min(best, time.perf_counter() - start)
    return best


def small_files(repeat: int) -> None:
    """Every reference LHE file read once in a fresh interpreter, by pylhe and by darkscan."""
    data = shared_data()
    files = sorted((data / "lhe").glob("*.lhe*")) + sorted((data / "mg5").glob("*/*.lhe.gz"))
    print("small files (fresh interpreter each, import included; best of", repeat, "):")
    worst = float("inf")
    for path in files:
        t_pylhe = _fresh_interpreter(f"import pylhe; pylhe.to_awkward(pylhe.LHEFile.fromfile({str(path)!r}))", repeat)
        t_ours = _fresh_interpreter(f"from darkscan.readers import lhe; lhe.read({str(path)!r})", repeat)
        worst = min(worst, t_pylhe / t_ours)
        print(f"  {path.name:55s} pylhe {t_pylhe:.2f} s, darkscan {t_ours:.2f} s: {t_pylhe / t_ours:.2f}×")
    print(f"  slowest relative to pylhe: {worst:.2f}× (goal: ≥ 1 on every file)")


def main() -> None:
    import awkward as ak
    import pylhe

    from darkscan.readers import lhe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pylhe-events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    # a fresh interpreter's start-up varies by ±0.1 s on 0.4–0.5 s runs: best of 3 put two files at
    # 0.85× and 0.96× pylhe in one run, where best of 9 gives ≥ 1.04× on every file
    parser.add_argument("--small-repeat", type=int, default=9, help="best of N fresh-interpreter runs per small file")
    parser.add_argument("--skip-small", action="store_true", help="skip the fresh-interpreter small-file runs")
    args = parser.parse_args()
    print("compiled parser:", "yes" if lhe._compiled is not None else "NO (pure-Python path)")

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
        t_ours, ours = best_of(args.repeat, lambda: lhe.read(big))
        t_ours_gz, _ = best_of(args.repeat, lambda: lhe.read(big_gz))
        start_cpu = time.process_time()
        t_pylhe, ref = best_of(1, lambda: pylhe.to_awkward(pylhe.LHEFile.fromfile(small)))
        cpu_pylhe = time.process_time() - start_cpu
        t_ours_small, ours_small = best_of(args.repeat, lambda: lhe.read(small))
        cpu_ours = _cpubest_of(args.repeat, lambda: lhe.read(big))
        t_gunzip, decompressed = best_of(args.repeat, lambda: gzip.decompress(big_gz.read_bytes()))
        decompress_only = len(decompressed)  # type: ignore[arg-type]

    assert ak.to_list(ref[:500]) == ak.to_list(ours_small[:500]), "readers disagree"
    assert len(ours) == n_big
    per_event_pylhe = t_pylhe / n_small
    print(f"file: {n_big} events replicated from {SOURCE} ({big.stat().st_size if big.exists() else 0} bytes)")
    print(f"pylhe 2.x   : {n_small} events in {t_pylhe:.2f} s → {per_event_pylhe * 1e6:.1f} µs/event"
          f" (scaled to {n_big}: {per_event_pylhe * n_big:.1f} s)")
    print(f"darkscan    : {n_small} events in {t_ours_small:.3f} s (same file as pylhe): "
          f"ratio {t_pylhe / t_ours_small:.1f}×")
    print(f"darkscan    : {n_big} events, plain .lhe in {t_ours:.3f} s → {t_ours / n_big * 1e6:.2f} µs/event; "
          f"ratio vs pylhe per event {per_event_pylhe * n_big / t_ours:.1f}× (CPU time: "
          f"{cpu_pylhe / n_small * n_big / cpu_ours:.1f}×; goal ≥ 20×)")
    print(f"darkscan    : {n_big} events, .lhe.gz in {t_ours_gz:.3f} s; ratio {per_event_pylhe * n_big / t_ours_gz:.1f}× "
          f"(of which gunzip alone {t_gunzip:.3f} s for {decompress_only / 1e6:.0f} MB); "
          f"{t_ours_gz / t_gunzip:.2f}× the time of gunzip alone (goal ≤ 1.5×)")
    if not args.skip_small:
        small_files(args.small_repeat)


if __name__ == "__main__":
    main()
