"""Instructions per event of the embedded fast pipeline against a bare pythia8mc loop (callgrind).

Instruction counts do not depend on the machine's load, so the overhead ratio of issue #11 can be
measured on a shared machine: one process, the same Pythia settings and seed as
``embedded_generation.py`` (Z(→νν)+jet, pTHat > 150, preset ``fast``), instrumentation on only for
``--events`` bare ``pythia.next()`` calls and then for as many events through ``generate_events``
(Pythia ``nextBatch`` + reading + fast detector + event table). Pythia's initialisation and the
warm-up run uninstrumented. Prints both counts per event, the ratio and the limit, and the functions
that add the most (own instructions in the pipeline minus in the bare loop, from callgrind_annotate).

Run: ``PYTHONPATH=src python benchmarks/embedded_callgrind.py [--events N]`` (needs valgrind, gcc and
valgrind/callgrind.h; ~1 minute per 100 events).
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# client requests are instruction sequences only C can emit: a four-function library for ctypes
CONTROL = """
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(const char *name) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS_AT(name); }
"""


def child(n_events: int, library: str, fastjet: bool) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    import numpy as np

    if fastjet:
        from darkscan.gen import clustering

        clustering._compiled = None

    from darkscan.gen.detector import FastDetector
    from darkscan.gen.embedded import generate_events
    from darkscan.gen.pythia import PythiaRun, recipe_for

    control = ctypes.CDLL(library)
    runs = [PythiaRun(recipe_for("sm_znunu_jet", {}, {"ptj": 150.0}), sqrt_s_gev=13000.0, preset="fast", seed=1)
            for _ in range(2)]
    detector = FastDetector(invisible_pdgids=())
    generate_events(runs[1], detector, 20, 0, np.random.default_rng(1))  # warm-up: imports, first calls
    for _ in range(20):
        runs[0].pythia.next()
    control.cg_start()
    for _ in range(n_events):
        runs[0].pythia.next()
    control.cg_stop(b"bare")
    control.cg_start()
    generate_events(runs[1], detector, n_events, 0, np.random.default_rng(2))
    control.cg_stop(b"pipeline")


def total(path: Path) -> int:
    return int(re.search(r"^totals: (\d+)", path.read_text(errors="replace"), re.M).group(1))


def exclusive(path: Path) -> collections.Counter:
    """Instructions of each function itself (not its callees), from callgrind_annotate."""
    text = subprocess.run(["callgrind_annotate", "--auto=no", str(path)], capture_output=True, text=True, check=True).stdout
    counts: collections.Counter = collections.Counter()
    for line in text.splitlines():
        match = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*)$", line)
        if match and "PROGRAM TOTALS" not in line:
            counts[match.group(2)] += int(match.group(1).replace(",", ""))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", type=Path, help="a folder to keep bare.cg and pipeline.cg in (for callgrind_annotate)")
    parser.add_argument("--fastjet", action="store_true", help="cluster with FastJet, not the compiled port")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.events, args.child, args.fastjet)
        return
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "cgcontrol.so"
        subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-x", "c", "-", "-o", str(library)], input=CONTROL.encode(),
                       check=True)
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p",
                        sys.executable, __file__, "--events", str(args.events), "--child", str(library),
                        *(["--fastjet"] if args.fastjet else [])],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        dumps = sorted(Path(tmp).glob("callgrind.out.*"))
        by_name = {}
        for dump in dumps:
            match = re.search(r"^desc: Trigger: Client Request: (\w+)", dump.read_text(errors="replace"), re.M)
            if match:
                by_name[match.group(1)] = dump
        bare, pipeline = (total(by_name[name]) / args.events for name in ("bare", "pipeline"))
        clustering = "FastJet" if args.fastjet else "compiled"
        print(f"callgrind, {args.events} events, clustering {clustering}: bare pythia8mc next() {bare / 1e6:.2f}M "
              f"instructions/event, embedded pipeline {pipeline / 1e6:.2f}M → overhead {pipeline / bare - 1:+.1%} (goal ≤ +10 %)")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for name, dump in by_name.items():
                (args.keep / f"{name}.cg").write_bytes(dump.read_bytes())
        # what the pipeline adds: each function's own instructions in the pipeline minus in the bare loop
        bare_functions, pipeline_functions = (exclusive(by_name[name]) for name in ("bare", "pipeline"))
        added = {name: pipeline_functions[name] - bare_functions[name] for name in pipeline_functions}
        print(f"pipeline − bare, top {args.top} functions by own instructions per event:")
        for name, count in sorted(added.items(), key=lambda item: -item[1])[:args.top]:
            print(f"  {count / args.events / 1e3:8.1f}k  {name[:150]}")


if __name__ == "__main__":
    main()
