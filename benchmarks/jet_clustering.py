"""Jet clustering speed: the compiled anti-kT port (darkscan.gen._antikt) against FastJet's C++.

Inputs: the fast detector's calorimeter towers of Pythia Z(→νν)+jet events (pTHat > 150, preset
``fast``), the detector's R = 0.6 and 20 GeV. Both sides start from the same flat arrays and return
flat arrays; FastJet is timed as the detector called it before (``interfacemulti`` + ``to_numpy``:
jets only) and with the constituents that give ``jet_of_input``. The rounds alternate and the best
of each counts (other load only slows down); CPU time of this process. The jets are checked equal
bit for bit before timing. Goal: the port at most as slow as FastJet (ratio ≤ 1).

Run: ``PYTHONPATH=src python benchmarks/jet_clustering.py [--events N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from darkscan.gen.clustering import HAVE_COMPILED, cluster_antikt, cluster_with_fastjet  # noqa: E402

RADIUS, PT_MIN = 0.6, 20.0


def pythia_towers(n_events: int, seed: int = 3) -> tuple[np.ndarray, ...]:
    """``(px, py, pz, E, starts, stops)`` of the fast detector's towers for ``n_events`` events."""
    from darkscan.gen.detector import FastDetector, ParticleArrays
    from darkscan.gen.pythia import PythiaRun, recipe_for

    run = PythiaRun(recipe_for("sm_znunu_jet", {}, {"ptj": 150.0}), sqrt_s_gev=13000.0, preset="fast", seed=seed)
    detector = FastDetector()
    seen: list = []
    original = detector._jets
    detector._jets = lambda towers, *args: seen.append(towers) or original(towers, *args)  # type: ignore[method-assign]
    parts = []
    offset = 0
    for first in range(0, n_events, 500):
        seen.clear()
        detector.simulate(ParticleArrays.from_pythia_batch(run.batch(min(500, n_events - first))),
                          np.random.default_rng(first))
        px, py, pz, e, counts = seen[0]  # the jet inputs, event after event, and their number per event
        stops = np.cumsum(counts) + offset
        parts.append((px, py, pz, e, stops - counts, stops))
        offset = int(stops[-1])
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(6))


def fastjet_jets_only(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray, starts: np.ndarray,
                      stops: np.ndarray, radius: float, pt_min: float) -> tuple[np.ndarray, ...]:
    """What the detector's clustering was before the port: FastJet's multi-event call, jets only."""
    import fastjet

    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    return fastjet._ext.interfacemulti(px, py, pz, e, starts, stops, jetdef).to_numpy(pt_min)


def best_cpu_seconds(functions: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Each function's least CPU time over ``rounds`` alternating rounds."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.process_time()
            function()
            times[name].append(time.process_time() - start)
    return {name: min(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if not HAVE_COMPILED:
        sys.exit("darkscan.gen._antikt is not built: python setup.py build_ext --inplace")
    print(f"machine: {os.cpu_count()} cores, load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    towers = pythia_towers(args.events)
    sizes = np.diff(np.stack([towers[4], towers[5]]), axis=0)[0]
    ours, theirs = cluster_antikt(*towers, RADIUS, PT_MIN), cluster_with_fastjet(*towers, RADIUS, PT_MIN)
    identical = all(np.array_equal(a, b) for a, b in zip(ours, theirs))
    print(f"{args.events} events, towers per event: median {np.median(sizes):.0f}, max {sizes.max()}; "
          f"{len(ours[0])} jets; compiled == FastJet bit for bit: {identical}")
    if not identical:
        sys.exit(1)
    best = best_cpu_seconds({
        "compiled": lambda: cluster_antikt(*towers, RADIUS, PT_MIN),
        "fastjet": lambda: fastjet_jets_only(*towers, RADIUS, PT_MIN),
        "fastjet+constituents": lambda: cluster_with_fastjet(*towers, RADIUS, PT_MIN),
    }, args.rounds)
    per_event = {name: seconds / args.events * 1e6 for name, seconds in best.items()}
    print(f"µs/event (best of {args.rounds}, CPU): compiled {per_event['compiled']:.1f}, FastJet jets only "
          f"{per_event['fastjet']:.1f}, FastJet with constituents {per_event['fastjet+constituents']:.1f}")
    print(f"ratio compiled / FastJet {best['compiled'] / best['fastjet']:.2f} "
          f"(with constituents {best['compiled'] / best['fastjet+constituents']:.2f}); limit ≤ 1.00")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
