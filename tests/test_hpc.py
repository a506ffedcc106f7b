"""darkscan submit / jobs without a Slurm cluster: scripts, sbatch argv, hostile study values, parsing.

The scripts are run for real (bash, with the array variables Slurm would set) against recording
stand-ins for python, apptainer, sbatch and squeue, so a study value that reached a shell unquoted
would run its ``touch`` and leave a canary file.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml
from typer.testing import CliRunner

from darkscan.cli.main import app
from darkscan.errors import StudyError
from darkscan.hpc import slurm
from darkscan.study import load_study, parse_study

runner = CliRunner()


def _hostile(canary: Path) -> list[str]:
    return [
        f"x; touch {canary}-semicolon",
        f"$(touch {canary}-dollar)",
        f"`touch {canary}-backtick`",
        f"'; touch {canary}-quote; '",
        f'"; touch {canary}-dquote; "',
        f"a\ntouch {canary}-newline\n",
        "%A %a %% ${HOME} * ~",
    ]


def _study_data(**extra: object) -> dict[str, object]:
    return {
        "name": "hpc",
        "generator": {"n_events": 300, "shard_events": 100},
        "samples": [{"name": "znunu", "process": "sm_znunu_jet"},
                    {"name": "spin1", "process": "spin1_monojet", "scan": {"m_med": [500, 1000]}}],
        "histograms": [{"name": "met", "kind": "1d", "axes": [{"feature": "met", "bins": 4, "range": [200, 600]}]}],
        "training": [{"name": "t1", "labels": "binary", "signals": ["spin1"], "histogram": "met"}],
        **extra,
    }


def _write_study(folder: Path, data: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _recorder(path: Path) -> Path:
    """An executable that writes its argv (NUL-separated) to $RECORD and prints $RECORD_OUTPUT."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/bin/sh\nprintf \'%s\\0\' "$@" > "$RECORD"\n[ -z "${RECORD_OUTPUT:-}" ] || printf \'%s\\n\' "$RECORD_OUTPUT"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _recorded(record: Path) -> list[str]:
    return record.read_bytes().decode().split("\0")[:-1]


def test_plan_counts_one_task_per_shard_point_and_training_task(tmp_path: Path) -> None:
    study = load_study(_write_study(tmp_path, _study_data()))
    # 3 points × 300 events in shards of 100
    assert [len(slurm.plan_stage(study, s)) for s in slurm.STAGES] == [0, 9, 3, 1, 1]
    gen = slurm.plan_stage(study, "gen")
    assert gen[4].label == "spin1/m_med-500 shard 1"
    assert gen[4].outputs[0] == study.output_dir / "samples/spin1/m_med-500/events/shard-00001.parquet"
    # MadGraph: one MG5 run per point, or with a gridpack one integration per point and one task per seed chunk
    mg = load_study(_write_study(tmp_path / "mg", _study_data(generator={"backend": "madgraph", "n_events": 300,
                                                                        "shard_events": 100})))
    assert [len(slurm.plan_stage(mg, s)) for s in slurm.STAGES] == [0, 3, 3, 1, 1]
    grid = load_study(_write_study(tmp_path / "grid", _study_data(generator={
        "backend": "madgraph", "n_events": 300, "shard_events": 100, "gridpack": True})))
    assert [len(slurm.plan_stage(grid, s)) for s in slurm.STAGES] == [3, 9, 3, 1, 1]
    integrate, chunks = slurm.plan_stage(grid, "integrate"), slurm.plan_stage(grid, "gen")
    assert integrate[1].label == "spin1/m_med-500 gridpack" and chunks[4].label == "spin1/m_med-500 chunk 1"
    assert integrate[1].outputs[0].parent == grid.output_dir / "samples/spin1/m_med-500/madgraph"
    assert chunks[4].outputs[0] == grid.output_dir / "samples/spin1/m_med-500/events/shard-00001.parquet"
    assert integrate[1].state() == (False, "") and chunks[4].state() == (False, "")
    # a finished-looking chunk without its record (made by something else) is stale, not done
    chunks[4].outputs[0].parent.mkdir(parents=True)
    chunks[4].outputs[0].write_text("x")
    done, why = chunks[4].state()
    assert not done and "different configuration" in why


@pytest.mark.parametrize(("indices", "limit", "spec"), [
    ([0, 1, 2, 3], None, "0-3"), ([3, 1], None, "1,3"), ([0, 1, 2, 5, 7, 8], 2, "0-2,5,7-8%2"), ([4], None, "4")])
def test_array_spec(indices: list[int], limit: int | None, spec: str) -> None:
    assert slurm.array_spec(indices, limit) == spec


@pytest.mark.parametrize(("field", "expanded"), [
    ("12_3", [("12", 3)]), ("12_[0-2,5%2]", [("12", 0), ("12", 1), ("12", 2), ("12", 5)]),
    ("12", [("12", None)]), ("12.batch", [])])
def test_job_fields_of_sacct_and_squeue(field: str, expanded: list[tuple[str, int | None]]) -> None:
    assert slurm._expand(field) == expanded


def test_every_template_value_goes_through_the_shell_quote_filter() -> None:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("darkscan.hpc", "templates"))
    source = environment.loader.get_source(environment, "task.sh.jinja")[0]  # type: ignore[union-attr]
    outputs = list(environment.parse(source).find_all(jinja2.nodes.Output))
    expressions = [node for output in outputs for node in output.nodes if not isinstance(node, jinja2.nodes.TemplateData)]
    assert expressions, "the template renders no values?"
    for node in expressions:
        assert isinstance(node, jinja2.nodes.Filter) and node.name == "q", f"unquoted value at line {node.lineno}"


def test_cluster_section_is_validated_and_walltime_always_passed(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match=r"cluster\.walltime"):
        parse_study(_study_data(cluster={"walltime": "1 day"}), source=tmp_path / "s.yaml")
    with pytest.raises(StudyError, match=r"cluster\.memory"):
        parse_study(_study_data(cluster={"memory": "4GB"}), source=tmp_path / "s.yaml")
    study = load_study(_write_study(tmp_path, _study_data()))
    argv = slurm.sbatch_argv(study, "gen", [0, 1], tmp_path / "x.sh")
    assert "--time=02:00:00" in argv and "--mem=4G" in argv and "--array=0-1" in argv


def test_flags_override_the_cluster_section_and_bad_flags_are_one_line(tmp_path: Path) -> None:
    path = _write_study(tmp_path, _study_data(cluster={"walltime": "10", "account": "proj1"}))
    result = runner.invoke(app, ["submit", str(path), "--dry-run", "-s", "gen", "-t", "1-00:00:00", "-p", "core"])
    assert result.exit_code == 0, result.output
    line = result.stdout.strip().splitlines()[0]
    assert "--time=1-00:00:00" in line and "--account=proj1" in line and "--partition=core" in line
    result = runner.invoke(app, ["submit", str(path), "--dry-run", "--mem", "4GB"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "--mem '4GB'" in result.stderr


def test_submit_without_slurm_says_so_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_study(tmp_path / "s", _study_data())
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = runner.invoke(app, ["submit", str(path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "sbatch not found" in result.stderr and "--dry-run" in result.stderr
    result = runner.invoke(app, ["submit", str(path), "--dry-run"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["sbatch"] * 4
    assert "--dependency=afterok:<gen job id>" in lines[1]
    assert (tmp_path / "s/darkscan-output/hpc/slurm/gen/gen-dry-run.sh").exists()


def _run_script(script: Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script)], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_JOB_ID": "7", **env},
                          check=False)


def test_hostile_study_values_reach_the_programs_verbatim_and_run_nothing(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    hostile = _hostile(canary)
    # every free-text field a script sees: study file folder, output, scratch, python, image, binds
    name = " ".join(h.replace("/", "|") for h in hostile)[:200]
    folder = tmp_path / name
    scratch = tmp_path / ("scratch " + name)
    scratch.mkdir(parents=True)
    python = _recorder(tmp_path / ("bin " + name) / "python")
    record = tmp_path / "record"
    cluster = {"account": hostile[0], "partition": hostile[1], "scratch": str(scratch), "python": str(python)}
    path = _write_study(folder, _study_data(description="\n".join(hostile), output=name, cluster=cluster))
    study = load_study(path)
    # the MadGraph backend's image reaches only the executor's argv (test_executors), never the script
    mg_path = _write_study(folder / "mg", _study_data(output=name, cluster=cluster, generator={
        "backend": "madgraph", "n_events": 200, "shard_events": 100, "gridpack": True, "executor": "apptainer",
        "image": hostile[2]}))
    mg_study = load_study(mg_path)

    for study_, stage, expected_tail in [
        (study, "gen", ["-m", "darkscan", "task", str(path.resolve()), "--stage", "gen", "--index", "0", "--scratch"]),
        (study, "features", ["-m", "darkscan", "task", str(path.resolve()), "--stage", "features", "--index", "0",
                             "--scratch"]),
        (study, "train", ["-m", "darkscan", "train", str(path.resolve()), "--task", "t1"]),
        (mg_study, "integrate", ["-m", "darkscan", "task", str(mg_path.resolve()), "--stage", "integrate", "--index",
                                 "0", "--scratch"]),
        (mg_study, "gen", ["-m", "darkscan", "task", str(mg_path.resolve()), "--stage", "gen", "--index", "0",
                           "--scratch"]),
    ]:
        script = tmp_path / f"{stage}.sh"
        script.write_text(slurm.render_script(study_, stage))
        result = _run_script(script, tmp_path, {"RECORD": str(record)})
        assert result.returncode == 0, result.stderr
        argv = _recorded(record)
        assert argv[:len(expected_tail)] == expected_tail
        if stage != "train":
            work = Path(argv[len(expected_tail)])
            assert work.parent == scratch and not work.exists(), "scratch folder not used or not cleaned"
        assert "darkscan-task end" in result.stdout
        record.unlink()
    assert not list(tmp_path.rglob("canary*")), "a study value was run by the shell"
    # the old cluster.container section is gone: generator.executor/image is the one place for the container
    with pytest.raises(StudyError, match=r"cluster\.container"):
        parse_study(_study_data(cluster={"container": {"image": "x.sif"}}), source=tmp_path / "s.yaml")
    # account and partition go to sbatch as single argv elements, never into the script
    argv = slurm.sbatch_argv(study, "gen", [0], tmp_path / "gen.sh")
    assert f"--account={hostile[0]}" in argv and f"--partition={hostile[1]}" in argv
    assert hostile[0] not in slurm.render_script(study, "gen")
    # a % in the output folder stays a %: only the file name carries Slurm's %A_%a
    output = next(a for a in argv if a.startswith("--output="))
    assert output == f"--output={str(study.output_dir / 'slurm/gen/logs').replace('%', '%%')}/gen-%A_%a.log"


def test_submit_passes_argv_to_sbatch_records_the_job_and_reads_squeue(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake_bin = tmp_path / "fakebin"
    _recorder(fake_bin / "sbatch")
    _recorder(fake_bin / "squeue")
    monkeypatch.setenv("PATH", f"{fake_bin}:/usr/bin:/bin")  # no sacct: accounting is off
    path = _write_study(tmp_path / "s", _study_data())
    record = tmp_path / "record"
    monkeypatch.setenv("RECORD", str(record))
    monkeypatch.setenv("RECORD_OUTPUT", "42")
    result = runner.invoke(app, ["submit", str(path), "-s", "gen", "-A", "x; rm -rf ~", "-p", "$(reboot)"])
    assert result.exit_code == 0, result.output
    argv = _recorded(record)
    assert argv[0] == "--parsable" and "--account=x; rm -rf ~" in argv and "--partition=$(reboot)" in argv
    assert "--array=0-8" in argv
    stage_dir = tmp_path / "s/darkscan-output/hpc/slurm/gen"
    script = Path(argv[-1])
    assert script.name == "gen-submitting.sh"
    assert (stage_dir / "gen-42.sh").exists(), "the submitted script is kept beside the logs"
    jobs = json.loads((stage_dir / "jobs.json").read_text())
    assert jobs[0]["job_id"] == "42" and jobs[0]["indices"] == list(range(9))

    # squeue: one line per task with -r, or a compressed pending range
    monkeypatch.setenv("RECORD_OUTPUT", "42_[2-8%4]|PENDING|JobArrayTaskLimit\n42_0|RUNNING|None\n42_1|FAILED|NonZeroExitCode\n41_0|RUNNING|None")
    result = runner.invoke(app, ["jobs", str(path), "-s", "gen"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "gen: 0/9 done (1 failed, 7 pending, 1 running)"
    assert f"log {stage_dir}/logs/gen-42_1.log" in result.stdout
    # tasks still queued block a plain resubmission of the stage
    result = runner.invoke(app, ["submit", str(path), "-s", "gen"])
    assert result.exit_code == 2 and "queued or running" in result.stderr


def test_a_stage_of_more_than_1000_tasks_is_several_arrays_each_told_its_first_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    # sbatch stand-in: job ids 101, 102, … and every argv on its own line (NUL-separated fields)
    (fake_bin / "sbatch").write_text('#!/bin/sh\nn=$(( $(cat "$COUNTER" 2>/dev/null || echo 100) + 1 ))\n'
                                     'echo "$n" > "$COUNTER"\nprintf \'%s\\0\' "$@" >> "$RECORD"\necho >> "$RECORD"\n'
                                     'echo "$n"\n')
    _recorder(fake_bin / "squeue")
    for tool in fake_bin.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}:/usr/bin:/bin")
    monkeypatch.setenv("COUNTER", str(tmp_path / "counter"))
    record = tmp_path / "record"
    path = _write_study(tmp_path / "s", {"name": "big", "generator": {"n_events": 2500, "shard_events": 1},
                                         "samples": [{"name": "znunu", "process": "sm_znunu_jet"}]})
    monkeypatch.setenv("RECORD", str(record))
    result = runner.invoke(app, ["submit", str(path), "-s", "gen", "-s", "features"])
    assert result.exit_code == 0, result.output
    calls = [line.split("\0")[:-1] for line in record.read_text().splitlines() if line]
    assert [next(a for a in c if a.startswith("--array=")) for c in calls] == [
        "--array=0-999", "--array=0-999", "--array=0-499", "--array=0"]
    # the first array needs no offset; the others get theirs after the script
    assert calls[0][-1].endswith("gen-submitting.sh")
    assert [c[-2:] for c in calls[1:3]] == [[calls[0][-1], "1000"], [calls[0][-1], "2000"]]
    assert "--dependency=afterok:101:102:103" in calls[3]

    # task 1500 is task 500 of job 102; its log and state follow
    monkeypatch.setenv("RECORD", str(tmp_path / "squeue-args"))
    monkeypatch.setenv("RECORD_OUTPUT", "101_[0-999]|PENDING|Priority\n102_500|RUNNING|None\n102_[0-499,501-999]|PENDING|Priority\n"
                       "103_[0-499]|PENDING|Priority")
    study = load_study(path)
    rows = slurm.job_status(study, ["gen"])
    assert rows[1500].state == "running" and rows[1500].job == "102"
    assert rows[1500].log == study.output_dir / "slurm/gen/logs/gen-102_500.log"
    assert {rows[i].state for i in range(2500) if i != 1500} == {"pending"}

    # the kept script turns the array task id into the stage's index with its argument
    script = study.output_dir / "slurm/gen/gen-102.sh"
    monkeypatch.setenv("PATH", os.environ["PATH"])
    python = _recorder(tmp_path / "bin" / "python")
    text = script.read_text().replace(shlex_quote(sys.executable), shlex_quote(str(python)))
    script.write_text(text)
    result = subprocess.run(["bash", str(script), "1000"], capture_output=True, text=True, timeout=60, check=False,
                            env={"PATH": "/usr/bin:/bin", "SLURM_ARRAY_TASK_ID": "5", "RECORD": str(record)})
    assert result.returncode == 0, result.stderr
    argv = _recorded(record)
    assert argv[argv.index("--index") + 1] == "1005"


def shlex_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


def test_madgraph_tasks_run_mg5_through_apptainer_with_study_output_and_scratch_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The integrate and chunk tasks of an apptainer study, up to the runtime's argv (Apptainer is not
    installed here: a stand-in records the argv and makes nothing, which the task must report)."""
    from darkscan.errors import ExternalProgramError

    canary = tmp_path / "canary"
    fake_bin = tmp_path / "fakebin"
    _recorder(fake_bin / "apptainer")
    monkeypatch.setenv("PATH", f"{fake_bin}:{os.environ['PATH']}")
    record = tmp_path / "record"
    monkeypatch.setenv("RECORD", str(record))
    image = f"x; touch {canary} $(touch {canary}).sif"  # beside the study, a hostile file name
    path = _write_study(tmp_path / "study dir", _study_data(generator={
        "backend": "madgraph", "n_events": 200, "shard_events": 100, "gridpack": True, "executor": "apptainer",
        "image": image}))
    study = load_study(path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(ExternalProgramError, match="MG5 left no gridpack") as failure:
        slurm.run_task(study, "integrate", 0, scratch=scratch)
    argv = _recorded(record)
    work = scratch.resolve() / "integrate"
    folder, output = str(path.parent.resolve()), str(study.output_dir.resolve())
    assert argv == ["exec", "--cleanenv", "--no-home", "--bind", f"{work}:{work}", "--bind", f"{folder}:{folder}",
                    "--bind", f"{output}:{output}", "--bind", f"{scratch.resolve()}:{scratch.resolve()}",
                    "--pwd", str(work), str(path.parent.resolve() / image), "python3",
                    "/opt/MG5_aMC_v3_5_7/bin/mg5_aMC", "madgraph.mg5"]
    log = study.output_dir / "samples/znunu/nominal/madgraph/logs/mg5-gridpack.log"
    assert str(log) in str(failure.value) and log.exists()
    assert not slurm.plan_stage(study, "integrate")[0].state()[0], "a failed integration looks finished"
    # a chunk whose gridpack is not made refuses to integrate it itself (the point's other chunks would race it)
    with pytest.raises(StudyError, match="no gridpack at .*its integrate task makes it"):
        slurm.run_task(study, "gen", 1, scratch=scratch)
    assert not list(tmp_path.rglob("canary*"))


def test_task_states_are_the_pipelines_resume_checks(tmp_path: Path) -> None:
    """A task is done exactly when a local run would skip its piece, and stale when that run would refuse
    or redo it."""
    from darkscan.pipeline import run_pipeline

    data = _study_data(generator={"n_events": 100, "shard_events": 50},
                       samples=[{"name": "znunu", "process": "sm_znunu_jet"}])
    data.pop("training")
    path = _write_study(tmp_path, data)
    study = load_study(path)
    assert {t.state() for s in ("gen", "features") for t in slurm.plan_stage(study, s)} == {(False, "")}
    run_pipeline(study, until="features")
    assert {t.state() for s in ("gen", "features") for t in slurm.plan_stage(study, s)} == {(True, "")}
    # another selection: the feature table is stale, the shards stay finished
    changed = load_study(_write_study(tmp_path, {**data, "selection": {"cuts": [{"feature": "met", "min": 300}]}}))
    assert [t.state() for t in slurm.plan_stage(changed, "features")] == [
        (False, "older than its event files or the selection")]
    assert [r.state for r in slurm.job_status(changed, ["gen", "features"])] == [
        "done", "done", "stale"]
    # another seed: the finished shards are from another configuration
    reseeded = load_study(_write_study(tmp_path, {**data, "generator": {**data["generator"], "seed": 9}}))
    done, why = slurm.plan_stage(reseeded, "gen")[0].state()
    assert not done and "seed (generator.seed changed)" in why
