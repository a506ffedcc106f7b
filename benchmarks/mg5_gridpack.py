"""Per-event cost of MadGraph gridpack chunks (the Slurm ``gen`` tasks of a gridpack study), against one
plain MG5 run of the same point (integration + events; the baseline).

    python benchmarks/mg5_gridpack.py [--small 100] [--large 1000]

Needs MG5 from ``.ci/install-mg5``. For a Z(νν)j point (ptj > 130 GeV) it times: the plain MG5 run of
``--small`` events; the gridpack integration (once per point: the ``integrate`` task); then per chunk
size the gridpack's ``run.sh N SEED`` (MG5 events) and Pythia 8 + the fast detector on its LHE file.
The per-event costs are the slopes between the two chunk sizes; the fixed costs, the intercepts. It
prints them, the ratio of a gridpack chunk's cost to the plain run's, and the core-hours of 10⁸ events
in chunks of ``--large``. Costs are CPU seconds (this process and its children): on a shared machine
the wall time measures the neighbours too.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (MG5 runs as children)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main() -> None:
    from darkscan.gen import madgraph
    from darkscan.gen.executors import LocalExecutor, default_mg5_home, run_step
    from darkscan.gen.shower import shower_lhe
    from darkscan.study import load_study

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1000)
    args = parser.parse_args()
    mg5 = default_mg5_home()
    with tempfile.TemporaryDirectory(prefix="darkscan-gridpack-bench-") as tmp:
        folder = Path(tmp)
        data = {"name": "gridpack", "generator": {"backend": "madgraph", "mg5_path": str(mg5), "gridpack": True,
                                                  "n_events": args.small, "shard_events": args.small, "seed": 7},
                "samples": [{"name": "znunu", "process": "sm_znunu_jet"}]}
        (folder / "study.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
        study = load_study(folder / "study.yaml")
        (task,) = madgraph.study_chunks(study)
        executor = LocalExecutor(mg5=mg5)

        plain = folder / "plain"
        plain.mkdir()
        start = cpu_seconds()
        madgraph.run_chunk(dataclasses.replace(task, gridpack=False), executor, work_dir=plain)
        baseline = cpu_seconds() - start
        print(f"plain MG5 run, {args.small} events (integration + events + shower): {baseline:.1f} CPU s")

        start = cpu_seconds()
        gridpack = madgraph.run_gridpack(task, executor, work_dir=folder / "integrate")
        integration = cpu_seconds() - start
        print(f"gridpack integration (once per point): {integration:.1f} CPU s")

        timings = {}
        for n in (args.small, args.large):
            work = folder / f"chunk-{n}"
            work.mkdir()
            with tarfile.open(gridpack) as archive:
                archive.extractall(work, filter="tar")
            start = cpu_seconds()
            run_step(executor, ["./run.sh", str(n), "12345"], workdir=work, log=work / "run.log", timeout_s=3600,
                     binds=[work])
            events = cpu_seconds() - start
            start = cpu_seconds()
            shower_lhe(work / "events.lhe.gz", work / "events.parquet", preset="fast", seed=12345,
                       invisible_pdgids=task.invisible_pdgids, detector_params=None, sample="znunu")
            shower = cpu_seconds() - start
            timings[n] = (events, shower)
            print(f"chunk of {n} events: run.sh {events:.1f} CPU s, Pythia + fast detector {shower:.1f} CPU s")
        (e1, s1), (e2, s2) = timings[args.small], timings[args.large]
        span = args.large - args.small
        mg5_per_event, shower_per_event = (e2 - e1) / span, (s2 - s1) / span
        mg5_fixed, shower_fixed = e1 - mg5_per_event * args.small, s1 - shower_per_event * args.small
        print(f"per event: MG5 gridpack {1e3 * mg5_per_event:.2f} ms, shower + detector {1e3 * shower_per_event:.2f} ms; "
              f"fixed per chunk: {mg5_fixed:.1f} s + {shower_fixed:.1f} s")
        chunk = e2 + s2
        print(f"a gridpack chunk of {args.small} events costs {(e1 + s1) / baseline:.2f}× the plain run of as many")
        n_chunks = 1e8 / args.large
        print(f"10^8 events in {n_chunks:.0f} chunks of {args.large}: {n_chunks * chunk / 3600:.0f} core-hours "
              f"(+ {integration / 3600:.2f} core-hours of integration per point)")


if __name__ == "__main__":
    main()
