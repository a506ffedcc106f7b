"""HepMC3 → columnar arrays and event tables: darkscan's reader vs pyhepmc's own read loop.

The file: 500 Pythia 8 events with MPI and hadronisation on (Z(→νν) + jet, p̂T > 150 GeV, about
1 600–2 400 particles each, ~40 MB gzipped), written through pyhepmc the first time and kept in
``~/.cache/darkscan/benchmarks`` (``--file`` reads another). The baseline is the loop every reader
must run: ``for event in pyhepmc.open(path)`` (HepMC3's C++ parser). Measured in the same process,
best of ``--repeat``:

- ``darkscan.readers.hepmc.read``: the awkward arrays (goal ≤ 1.15× the baseline);
- ``darkscan.readers.hepmc.event_table``: + jets (fastjet), leptons, MET (what ``histos inspect`` and
  ``histos features`` run; goal: no slower than the baseline plus the object building).

Run: ``python benchmarks/hepmc_reader.py [--events 500] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "darkscan" / "benchmarks"


def make_file(path: Path, n_events: int, seed: int = 1001) -> None:
    """Pythia 8 (full preset) Z(→νν)+jet events → HepMC3 ASCII, gzipped."""
    import awkward as ak
    import numpy as np
    import pyhepmc
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in ("Beams:eCM = 13000.", "WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on",
                 "23:onIfAny = 12 14 16", "PhaseSpace:pTHatMin = 150.", "Random:setSeed = on",
                 f"Random:seed = {seed}", "Print:quiet = on"):
        pythia.readString(line)
    pythia.init()
    tmp = path.with_name(path.name.replace(".hepmc", ".partial.hepmc"))  # pyhepmc compresses by suffix
    with pyhepmc.open(str(tmp), "w") as writer:
        for number, event in enumerate(pythia.nextBatch(n_events, "skip")):
            prt = event.prt[1:]  # entry 0 is Pythia's "system" line
            p = prt.p
            record = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
            parents = np.column_stack([ak.to_numpy(prt.mother1), ak.to_numpy(prt.mother2)]).astype(np.int32)
            record.from_hepevt(number, ak.to_numpy(p.px), ak.to_numpy(p.py), ak.to_numpy(p.pz), ak.to_numpy(p.e),
                               ak.to_numpy(prt.m), ak.to_numpy(prt.id).astype(np.int32),
                               ak.to_numpy(prt.status).astype(np.int32), parents=parents)
            writer.write(record)
    os.replace(tmp, path)


def _best_of(repeat: int, function) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    import pyhepmc

    from darkscan.readers import hepmc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--file", type=Path, default=None, help="a HepMC3 file to read instead of the generated one")
    args = parser.parse_args()

    path = args.file or CACHE / f"zjets_full_{args.events}.hepmc.gz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"writing {path} ({args.events} Pythia events through pyhepmc; once) …", flush=True)
        make_file(path, args.events)

    def baseline() -> int:
        n = 0
        with pyhepmc.open(str(path)) as reader:
            for event in reader:
                n += len(event.particles)
        return n

    t_base, n_particles = _best_of(args.repeat, baseline)
    t_read, array = _best_of(args.repeat, lambda: hepmc.read(path))
    t_table, _ = _best_of(args.repeat, lambda: hepmc.event_table(path))
    n_events = len(array)  # type: ignore[arg-type]
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB, {n_events} events, "
          f"{n_particles / n_events:.0f} particles/event)")
    print(f"pyhepmc read loop        : {t_base:.2f} s (the limit)")
    print(f"darkscan hepmc.read      : {t_read:.2f} s → {t_read / t_base:.2f}× the pyhepmc loop (goal ≤ 1.15×)")
    print(f"darkscan hepmc.event_table: {t_table:.2f} s → {t_table / t_base:.2f}× the pyhepmc loop; objects "
          f"(jets, leptons, MET) add {t_table - t_read:.2f} s")


if __name__ == "__main__":
    main()
