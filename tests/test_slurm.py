"""darkscan submit on a real one-node Slurm (``.ci/slurm``): arrays, dependencies, status, retry.

Marked ``slurm`` (not in the default run): ``python -m pytest -m slurm``. Skips, saying why, where
the cluster cannot start (not root, packages not installed).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from shared import mg5_home
from slurm_cluster import start_cluster, stop_cluster, wait_until
from typer.testing import CliRunner

from darkscan.cli.main import app
from darkscan.gen.madgraph import study_chunks
from darkscan.hpc.slurm import job_status, plan_stage
from darkscan.study import load_study

pytestmark = pytest.mark.slurm
runner = CliRunner()
STAGES = ["gen", "features", "datasets"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("slurm")
    conf = start_cluster(folder)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SLURM_CONF", str(conf))
            yield conf
    finally:
        stop_cluster(folder)


def _study(folder: Path, output: str) -> Path:
    """2 samples × 400 events in shards of 200: a 4-task generation array."""
    data = {
        "name": "arrays", "output": output,
        "generator": {"n_events": 400, "shard_events": 200, "seed": 5},
        "samples": [{"name": "znunu", "process": "sm_znunu_jet"},
                    {"name": "spin1", "process": "spin1_monojet", "parameters": {"m_dm": 10, "m_med": 1000}}],
        "selection": {"preset": "atlas_monojet"},
        "histograms": [{"name": "met", "kind": "1d", "axes": [{"feature": "met", "bins": 6, "range": [200, 800]}]}],
        "datasets": {"s_over_sqrt_b": [2], "background_events": 100, "n_histograms": 20},
        "training": [{"name": "spin1_vs_sm", "labels": "binary", "signals": ["spin1"], "histogram": "met",
                      "network": "dnn", "epochs": 3, "patience": 2, "layers": 1, "units": 4}],
    }
    path = folder / f"{output}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _settled(study: object, stages: list[str]) -> bool:
    return not any(r.state in ("pending", "running") for r in job_status(study, stages))


def _jobs(study: object, stage: str) -> list[dict[str, object]]:
    return json.loads((study.output_dir / "slurm" / stage / "jobs.json").read_text())  # type: ignore[attr-defined]


def _sacct(*jobs: str) -> dict[str, tuple[str, str, str]]:
    """{job_index: (state, start, end)} (sacct lags squeue: poll until every index has an end)."""
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-j", ",".join(jobs), "-o", "JobID,State,Start,End"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return {f[0]: (f[1].split()[0], f[2], f[3]) for f in (line.split("|") for line in out.splitlines())}


def _h5_contents(path: Path) -> dict[str, object]:
    contents: dict[str, object] = {}

    def visit(name: str, item: object) -> None:
        if isinstance(item, h5py.Dataset):
            contents[name] = item[()]
        for key, value in item.attrs.items():  # type: ignore[attr-defined]
            contents[f"{name}@{key}"] = value

    with h5py.File(path, "r") as handle:
        for key, value in handle.attrs.items():
            contents[f"@{key}"] = value
        handle.visititems(visit)
    return contents


def test_arrays_run_in_stage_order_and_equal_a_local_run(cluster: Path, tmp_path: Path) -> None:
    path = _study(tmp_path, "on-slurm")
    stages = [*STAGES, "train"]
    result = runner.invoke(app, ["submit", str(path)])  # all stages
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 4
    study = load_study(path)
    wait_until(lambda: _settled(study, stages), timeout_s=900, what="the gen → features → datasets → train arrays")
    rows = job_status(study, stages)
    assert [(r.stage, r.state) for r in rows] == [("gen", "done")] * 4 + [("features", "done")] * 2 + [
        ("datasets", "done"), ("train", "done")]
    result = runner.invoke(app, ["jobs", str(path)])
    assert result.stdout.splitlines() == ["gen: 4/4 done (4 done)", "features: 2/2 done (2 done)",
                                          "datasets: 1/1 done (1 done)", "train: 1/1 done (1 done)"]
    models = sorted((study.output_dir / "models" / "spin1_vs_sm").glob("*.keras"))
    assert models and all(m.with_suffix(".json").exists() for m in models), "darkscan train left no models"

    # each stage waited for every task of the one before through afterok
    jobs = [str(_jobs(study, s)[0]["job_id"]) for s in stages]
    wait_until(lambda: len(_sacct(*jobs)) == 8 and all(v[2] != "Unknown" for v in _sacct(*jobs).values()),
               timeout_s=30, what="sacct records")
    times = _sacct(*jobs)
    assert {state for state, _, _ in times.values()} == {"COMPLETED"}
    for before, after in zip(jobs, jobs[1:]):
        end = max(end for key, (_, _, end) in times.items() if key.startswith(f"{before}_"))
        start = min(start for key, (_, start, _) in times.items() if key.startswith(f"{after}_"))
        assert start >= end, (before, after)
    for stage, job in zip(stages, jobs):
        folder = study.output_dir / "slurm" / stage
        assert (folder / f"{stage}-{job}.sh").exists(), "the submitted script is kept beside the logs"
        assert "darkscan-task end" in (folder / "logs" / f"{stage}-{job}_0.log").read_text()

    local_path = _study(tmp_path, "local")
    result = runner.invoke(app, ["run", str(local_path), "--no-plots"])
    assert result.exit_code == 0, result.output
    local = load_study(local_path)
    # same seeds: the shards are byte-identical, the feature columns and every dataset array equal
    for task, local_task in zip(plan_stage(study, "gen"), plan_stage(local, "gen")):
        assert task.outputs[0].read_bytes() == local_task.outputs[0].read_bytes(), task.label
    for point, local_point in zip(study.plan(), local.plan()):
        ours = pq.read_table(point.directory / "features.parquet")
        theirs = pq.read_table(local_point.directory / "features.parquet")
        assert ours.column_names == theirs.column_names and ours.num_rows == theirs.num_rows > 0
        for column in ours.column_names:
            np.testing.assert_array_equal(ours[column].to_numpy(zero_copy_only=False),
                                          theirs[column].to_numpy(zero_copy_only=False), err_msg=column)
    ours_h5 = _h5_contents(study.output_dir / "datasets" / "spin1_vs_sm.h5")
    theirs_h5 = _h5_contents(local.output_dir / "datasets" / "spin1_vs_sm.h5")
    assert ours_h5.keys() == theirs_h5.keys()
    # the fingerprint and the per-sample sha256 cover the feature files' bytes, whose metadata holds the
    # shard mtimes; everything else must be equal
    for key in sorted(set(ours_h5) - {"@fingerprint", "@samples"}):
        np.testing.assert_array_equal(np.asarray(ours_h5[key]), np.asarray(theirs_h5[key]), err_msg=key)
    strip = [{k: v for k, v in s.items() if k != "sha256"} for s in json.loads(ours_h5["@samples"])]
    assert strip == [{k: v for k, v in s.items() if k != "sha256"} for s in json.loads(theirs_h5["@samples"])]


def test_failed_and_cancelled_tasks_are_shown_and_only_they_are_retried(cluster: Path, tmp_path: Path) -> None:
    path = _study(tmp_path, "retry")
    study = load_study(path)
    tasks = plan_stage(study, "gen")
    # task 1 fails: a file that is no event table sits where its shard goes. submit checks the disk
    # first and refuses it, so it is put there right after submission: the tasks run one at a time and
    # task 0 takes seconds, so task 1 finds it.
    broken = tasks[1].outputs[0]
    broken.parent.mkdir(parents=True)
    broken.write_text("not an event table\n")
    result = runner.invoke(app, ["submit", str(path), "-s", "gen"])
    assert result.exit_code == 2 and "not a Parquet event table" in result.stderr
    broken.unlink()
    result = runner.invoke(app, ["submit", str(path), "-s", "gen", "--max-running", "1"])
    broken.write_text("not an event table\n")
    assert result.exit_code == 0, result.output
    assert "--array=0-3%1" in result.stdout
    job = str(_jobs(study, "gen")[0]["job_id"])

    def running(index: int) -> bool:
        out = subprocess.run(["squeue", "-h", "-r", "-j", job, "-o", "%i|%T"], capture_output=True, text=True,
                             timeout=60, check=False).stdout
        return f"{job}_{index}|RUNNING" in out.split()

    wait_until(lambda: running(2), timeout_s=600, what="task 2 running", poll_s=0.2)
    # at once: on an idle machine a 200-event shard is done within ~2 s of RUNNING, and a sleep here let
    # it finish before the cancel; Python and Pythia take over a second just to start
    subprocess.run(["scancel", f"{job}_2"], check=True, timeout=60)
    wait_until(lambda: _settled(study, ["gen"]), timeout_s=600, what="the gen array")
    wait_until(lambda: job_status(study, ["gen"])[2].state == "cancelled", timeout_s=30, what="sacct of the cancel")

    # squeue knows the failed task first (reason NonZeroExitCode); its exit code comes with sacct's record
    wait_until(lambda: job_status(study, ["gen"])[1].detail.startswith("FAILED exit"), timeout_s=30,
               what="sacct of the failed task")
    rows = job_status(study, ["gen"])
    assert [r.state for r in rows] == ["done", "failed", "cancelled", "done"]
    assert rows[1].log == study.output_dir / "slurm/gen/logs" / f"gen-{job}_1.log"
    assert "not a Parquet event table" in rows[1].log.read_text()
    assert rows[1].detail.startswith("FAILED exit 2:0")
    # the killed task left nothing that looks finished
    assert not tasks[2].outputs[0].exists()
    result = runner.invoke(app, ["jobs", str(path), "-s", "gen"])
    assert result.stdout.splitlines()[0] == "gen: 2/4 done (1 cancelled, 2 done, 1 failed)"
    assert f"log {rows[1].log}" in result.stdout

    result = runner.invoke(app, ["submit", str(path), "-s", "gen"])
    assert result.exit_code == 2 and "--retry-failed" in result.stderr
    finished = {i: os.stat(tasks[i].outputs[0]).st_mtime_ns for i in (0, 3)}
    broken.unlink()  # the user fixes the cause
    result = runner.invoke(app, ["submit", str(path), "-s", "gen", "--retry-failed"])
    assert result.exit_code == 0, result.output
    assert "--array=1-2 " in result.stdout
    retry_job = str(_jobs(study, "gen")[1]["job_id"])
    wait_until(lambda: _settled(study, ["gen"]), timeout_s=600, what="the retried tasks")
    assert [r.state for r in job_status(study, ["gen"])] == ["done"] * 4
    assert [r.job for r in job_status(study, ["gen"])] == [job, retry_job, retry_job, job]
    # the finished tasks were not rerun: same files, no task of theirs in the retry job
    assert {i: os.stat(tasks[i].outputs[0]).st_mtime_ns for i in (0, 3)} == finished
    wait_until(lambda: len(_sacct(retry_job)) == 2, timeout_s=30, what="sacct of the retry")
    assert sorted(_sacct(retry_job)) == [f"{retry_job}_1", f"{retry_job}_2"]
    assert sorted(p.name for p in (study.output_dir / "slurm/gen/logs").iterdir()) == sorted(
        [f"gen-{job}_{i}.log" for i in range(4)] + [f"gen-{retry_job}_{i}.log" for i in (1, 2)])


def test_a_failed_stage_cancels_the_stages_after_it_and_retry_resumes_the_chain(cluster: Path, tmp_path: Path) -> None:
    path = _study(tmp_path, "chain")
    study = load_study(path)
    broken = plan_stage(study, "gen")[1].outputs[0]
    result = runner.invoke(app, ["submit", str(path), "--max-running", "1", *sum((["-s", s] for s in STAGES), [])])
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("not an event table\n")  # after submission, before task 1 starts (one at a time)
    assert result.exit_code == 0, result.output
    wait_until(lambda: _settled(study, STAGES), timeout_s=600, what="the chain")
    states = [(r.stage, r.state) for r in job_status(study, STAGES)]
    assert states[:4] == [("gen", "done"), ("gen", "failed"), ("gen", "done"), ("gen", "done")]
    # --kill-on-invalid-dep: what waited on the failed array never runs
    assert {state for stage, state in states[4:]} <= {"cancelled", "never ran"}
    assert not any((p.directory / "features.parquet").exists() for p in study.plan())

    broken.unlink()
    result = runner.invoke(app, ["submit", str(path), "--retry-failed", *sum((["-s", s] for s in STAGES), [])])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    jobs = {stage: str(_jobs(study, stage)[-1]["job_id"]) for stage in STAGES}
    assert "--array=1 " in lines[0]
    assert f"--dependency=afterok:{jobs['gen']}" in lines[1] and f"--dependency=afterok:{jobs['features']}" in lines[2]
    wait_until(lambda: _settled(study, STAGES), timeout_s=600, what="the retried chain")
    assert {r.state for r in job_status(study, STAGES)} == {"done"}


def test_madgraph_gridpack_integrates_then_runs_its_seed_chunks_and_resumes(cluster: Path, tmp_path: Path) -> None:
    """Real MG5 (``.ci/install-mg5``, local executor) in array tasks: one integration task, then one task per
    seed chunk after it; a cancelled chunk leaves nothing finished-looking and only it is retried."""
    mg5 = mg5_home()
    data = {"name": "mg5-arrays", "output": "mg5-arrays",
            "generator": {"backend": "madgraph", "executor": "local", "mg5_path": str(mg5), "gridpack": True,
                          "n_events": 200, "shard_events": 100, "seed": 3},
            "samples": [{"name": "znunu", "process": "sm_znunu_jet"}]}
    path = tmp_path / "mg5.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    study = load_study(path)
    result = runner.invoke(app, ["submit", str(path), "-s", "gen"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    integrate_job = str(_jobs(study, "integrate")[0]["job_id"])
    assert len(lines) == 2 and "--array=0 " in lines[0] and "--array=0-1 " in lines[1]
    assert f"--dependency=afterok:{integrate_job}" in lines[1]
    stages = ["integrate", "gen"]
    wait_until(lambda: _settled(study, stages), timeout_s=1200, what="the MG5 integrate → chunk arrays")
    assert [(r.stage, r.state) for r in job_status(study, stages)] == [("integrate", "done"), ("gen", "done"),
                                                                      ("gen", "done")], \
        [(r.state, r.detail, r.log) for r in job_status(study, stages)]
    result = runner.invoke(app, ["jobs", str(path), "-s", "gen"])
    assert result.stdout.splitlines() == ["integrate: 1/1 done (1 done)", "gen: 2/2 done (2 done)"]
    gen_job = str(_jobs(study, "gen")[0]["job_id"])
    wait_until(lambda: len(_sacct(integrate_job, gen_job)) == 3
               and all(v[2] != "Unknown" for v in _sacct(integrate_job, gen_job).values()),
               timeout_s=30, what="sacct records")
    times = _sacct(integrate_job, gen_job)
    assert min(times[f"{gen_job}_{i}"][1] for i in (0, 1)) >= times[f"{integrate_job}_0"][2], "chunks ran before the gridpack"

    chunks = study_chunks(study)
    records = [json.loads(c.record_path.read_text()) for c in chunks]
    # one gridpack, two seeds, σ of Z(νν)j with ptj > 130 (shared/data/README.md: 45.87 ± 0.33 pb)
    assert [r["seed"] for r in records] == [c.seed for c in chunks] and chunks[0].seed != chunks[1].seed
    assert [r["n_events"] for r in records] == [100, 100]
    for record in records:
        assert record["cross_section_pb"] == pytest.approx(45.87, rel=0.05)
    lhe = [Path(r["lhe_file"]).read_bytes() for r in records]
    assert lhe[0] != lhe[1], "the seed chunks are not independent"
    for chunk in chunks:
        table = pq.read_table(chunk.output)
        assert table.num_rows == records[chunk.chunk]["n_accepted"] > 0
    # the work happened in the task's scratch, not in the output folder
    assert not list((chunks[0].output.parent.parent / "madgraph").glob("run-*"))
    print(f"MG5 gridpack chunks of 100 events: {[round(r['seconds'], 1) for r in records]} s")

    # a chunk killed mid-way leaves no events; the retry reruns it alone, never the finished one
    finished = chunks[0].output.stat().st_mtime_ns
    events = pq.read_table(chunks[1].output)
    chunks[1].output.unlink()
    chunks[1].record_path.unlink()
    assert job_status(study, ["gen"])[1].detail == "ended without its output"
    result = runner.invoke(app, ["submit", str(path), "-s", "gen", "--retry-failed"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 and "--array=1 " in result.stdout  # the gridpack is kept
    job = str(_jobs(study, "gen")[-1]["job_id"])

    def running() -> bool:
        out = subprocess.run(["squeue", "-h", "-r", "-j", job, "-o", "%i|%T"], capture_output=True, text=True,
                             timeout=60, check=False).stdout
        return f"{job}_1|RUNNING" in out.split()

    wait_until(running, timeout_s=300, what="chunk 1 running", poll_s=0.2)
    subprocess.run(["scancel", f"{job}_1"], check=True, timeout=60)
    wait_until(lambda: _settled(study, stages), timeout_s=300, what="the cancel")
    wait_until(lambda: job_status(study, ["gen"])[1].state == "cancelled", timeout_s=30, what="sacct of the cancel")
    assert not chunks[1].output.exists()
    result = runner.invoke(app, ["submit", str(path), "-s", "gen", "--retry-failed"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 and "--array=1 " in result.stdout
    wait_until(lambda: _settled(study, stages), timeout_s=600, what="the retried chunk")
    assert [r.state for r in job_status(study, stages)] == ["done"] * 3
    assert chunks[0].output.stat().st_mtime_ns == finished
    assert pq.read_table(chunks[1].output).equals(events), "the same seed gave other events"


def test_madgraph_point_without_gridpack_is_one_task_of_one_mg5_run(cluster: Path, tmp_path: Path) -> None:
    mg5 = mg5_home()
    data = {"name": "mg5-plain", "output": "mg5-plain",
            "generator": {"backend": "madgraph", "executor": "local", "mg5_path": str(mg5), "n_events": 100, "seed": 4},
            "samples": [{"name": "znunu", "process": "sm_znunu_jet"}]}
    path = tmp_path / "plain.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    study = load_study(path)
    result = runner.invoke(app, ["submit", str(path), "-s", "gen"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 and "--array=0 " in result.stdout  # no integrate array
    wait_until(lambda: _settled(study, ["gen"]), timeout_s=900, what="the MG5 task")
    rows = job_status(study, ["integrate", "gen"])
    assert [(r.stage, r.state) for r in rows] == [("gen", "done")], [(r.state, r.detail, r.log) for r in rows]
    (chunk,) = study_chunks(study)
    record = json.loads(chunk.record_path.read_text())
    assert record["cross_section_pb"] == pytest.approx(45.87, rel=0.05) and record["executor"]["kind"] == "local"
    assert pq.read_table(chunk.output).num_rows == record["n_accepted"] > 0
    assert "darkscan-task end" in rows[0].log.read_text()
    result = runner.invoke(app, ["submit", str(path), "-s", "gen"])
    assert result.exit_code == 0 and result.stdout == "" and "nothing to submit" in result.stderr
