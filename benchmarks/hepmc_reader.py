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
from pathlib import Path

from _shared_data import best_of

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "darkscan" / "benchmarks"


def make_file(path: Path, n_events: int, seed: int = 1001) -> None:
    """Pythia 8 (full preset) Z(→νν)+jet events → HepMC3 ASCII, gzipped.

    Every particle of Pythia's record is written (its status codes kept), all produced at one vertex
    fed by the two beams: the reader's work is per particle line, and the history is not read.
    """
    import gzip

    import awkward as ak
    import numpy as np
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in ("Beams:eCM = 13000.", "WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on",
                 "23:onIfAny = 12 14 16", "PhaseSpace:pTHatMin = 150.", "Random:setSeed = on",
                 f"Random:seed = {seed}", "Print:quiet = on"):
        pythia.readString(line)
    pythia.init()
    tmp = path.with_name(path.name + ".partial")
    with gzip.open(tmp, "wt", compresslevel=6) as out:
        out.write("HepMC::Version 3.02.05\nHepMC::Asciiv3-START_EVENT_LISTING\n")
        for number, event in enumerate(pythia.nextBatch(n_events, "skip")):
            prt = event.prt[3:]  # entry 0 is Pythia's "system" line, 1 and 2 the beams
            p = prt.p
            n = len(prt)
            out.write(f"E {number} 1 {n + 2}\nU GEV MM\n")
            out.write("P 1 0 2212 0 0 6.4999999322807234e+03 6.5e+03 9.3827e-01 4\n"
                      "P 2 0 2212 0 0 -6.4999999322807234e+03 6.5e+03 9.3827e-01 4\nV -1 0 [1,2]\n")
            columns = np.column_stack([np.arange(3, n + 3), ak.to_numpy(prt.id), ak.to_numpy(p.px), ak.to_numpy(p.py),
                                       ak.to_numpy(p.pz), ak.to_numpy(p.e), ak.to_numpy(prt.m),
                                       np.where(ak.to_numpy(prt.status) > 0, 1, 2)])  # HepMC: 1 final, 2 decayed
            out.writelines(f"P {int(i)} -1 {int(pid)} {px:.16e} {py:.16e} {pz:.16e} {e:.16e} {m:.16e} {int(st)}\n"
                           for i, pid, px, py, pz, e, m, st in columns)
        out.write("HepMC::Asciiv3-END_EVENT_LISTING\n")
    os.replace(tmp, path)


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
        print(f"writing {path} ({args.events} Pythia events; once) …", flush=True)
        make_file(path, args.events)

    def baseline() -> int:
        n = 0
        with pyhepmc.open(str(path)) as reader:
            for event in reader:
                n += len(event.particles)
        return n

    t_base, n_particles = best_of(args.repeat, baseline)
    t_read, array = best_of(args.repeat, lambda: hepmc.read(path))
    t_table, _ = best_of(args.repeat, lambda: hepmc.event_table(path))
    n_events = len(array)  # type: ignore[arg-type]
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB, {n_events} events, "
          f"{n_particles / n_events:.0f} particles/event)")
    print(f"pyhepmc read loop        : {t_base:.2f} s (the limit)")
    print(f"darkscan hepmc.read      : {t_read:.2f} s → {t_read / t_base:.2f}× the pyhepmc loop (goal ≤ 1.15×)")
    print(f"darkscan hepmc.event_table: {t_table:.2f} s → {t_table / t_base:.2f}× the pyhepmc loop; objects "
          f"(jets, leptons, MET) add {t_table - t_read:.2f} s")


if __name__ == "__main__":
    main()
