"""Turnaround of a 4-task generation array on a local one-node Slurm, against the same shards generated
in this process (the baseline), with 1 and 2 tasks at a time.

    sudo python benchmarks/slurm_arrays.py [--events-per-shard 1000]

Starts its own cluster with ``.ci/slurm`` (root; packages from ``.ci/slurm install``) unless
``SLURM_CONF`` points at a running one. Prints, per run, the wall time from ``sbatch`` to the last
shard on disk and its ratio to the in-process baseline, and per task the generation rate (events/s
on one core, from the task's own log line) and its overhead (Slurm start + Python/Pythia start-up).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def _study(folder: Path, output: str, events_per_shard: int) -> Path:
    data = {
        "name": "turnaround", "output": output,
        "generator": {"n_events": 2 * events_per_shard, "shard_events": events_per_shard, "seed": 11},
        "samples": [{"name": "znunu", "process": "sm_znunu_jet"},
                    {"name": "spin1", "process": "spin1_monojet", "parameters": {"m_dm": 10, "m_med": 1000}}],
    }
    path = folder / f"{output}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _array(folder: Path, output: str, events_per_shard: int, max_running: int) -> tuple[float, list[tuple[float, float]]]:
    """(sbatch → all shards done, s; per task (events/s in the task, overhead s))."""
    from darkscan.hpc.slurm import job_status, submit
    from darkscan.study import load_study

    study = load_study(_study(folder, output, events_per_shard))
    study = study.model_copy(update={"cluster": study.cluster.model_copy(update={"max_running": max_running})})
    start = time.perf_counter()
    (submission,) = submit(study, ["gen"])
    while True:
        rows = job_status(study, ["gen"])
        if all(r.state == "done" for r in rows):
            break
        if any(r.state in ("failed", "cancelled") for r in rows):
            raise SystemExit(f"a task failed: {rows}")
        # polling costs CPU the tasks share on a small machine: once a second (the figure is ±1 s)
        time.sleep(1.0)
    turnaround = time.perf_counter() - start
    time.sleep(5)  # sacct lags squeue
    elapsed = subprocess.run(["sacct", "-X", "-n", "-P", "-j", str(submission.job_id), "-o", "JobID,ElapsedRaw"],
                             capture_output=True, text=True, check=True).stdout
    per_task = []
    for line in elapsed.splitlines():
        job, seconds = line.split("|")
        log = (study.output_dir / "slurm/gen/logs" / f"gen-{job}.log").read_text()
        match = re.search(r"(\d+) events, σ = \S+ pb, ([0-9.]+) s", log)
        assert match, log
        n, compute = int(match[1]), float(match[2])
        per_task.append((n / compute, float(seconds) - compute))
    return turnaround, per_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events-per-shard", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="darkscan-slurm-bench-") as tmp:
        folder = Path(tmp)
        cluster = None
        if not os.environ.get("SLURM_CONF"):
            cluster = folder / "cluster"
            result = subprocess.run([str(REPO / ".ci/slurm"), "start", str(cluster)], capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"cannot start Slurm: {result.stderr.strip()}")
            os.environ["SLURM_CONF"] = str(cluster / "slurm.conf")
        try:
            from darkscan.gen.embedded import run_study
            from darkscan.study import load_study

            local = load_study(_study(folder, "local", args.events_per_shard))
            start = time.perf_counter()
            run_study(local, workers=1)
            baseline = time.perf_counter() - start
            events = 4 * args.events_per_shard
            print(f"baseline: 4 shards × {args.events_per_shard} events in this process, one after another: "
                  f"{baseline:.1f} s ({events / baseline:.0f} events/s with start-up)")
            for workers in (1, 2):
                turnaround, per_task = _array(folder, f"array-{workers}", args.events_per_shard, workers)
                rates = ", ".join(f"{rate:.0f}" for rate, _ in per_task)
                overheads = ", ".join(f"{over:.1f}" for _, over in per_task)
                print(f"array of 4, {workers} at a time: sbatch → 4/4 done in {turnaround:.1f} s = "
                      f"{turnaround / baseline:.2f} × baseline; per task events/s {rates}; overhead s {overheads}")
        finally:
            if cluster is not None:
                subprocess.run([str(REPO / ".ci/slurm"), "stop", str(cluster)], check=False)


if __name__ == "__main__":
    main()
