"""``darkscan submit``, ``darkscan jobs`` and the hidden ``darkscan task``: a study as Slurm job arrays.

``submit`` writes each stage's job script and submits it with ``sbatch`` (``--dry-run``: only prints the
``sbatch`` lines); ``jobs`` shows every array task's state; ``task`` is what an array task runs on the
compute node. The work is in :mod:`darkscan.hpc.slurm`.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Optional

import typer

__all__ = ["jobs", "submit", "task"]


def __dir__() -> list[str]:
    return list(__all__)


_STAGE_HELP = ("gen, features, datasets, train or all (repeatable; run in pipeline order, each after the one before; "
               "gen includes the integrate tasks of MadGraph gridpacks).")


def _stages(values: list[str]) -> list[str]:
    from darkscan.errors import StudyError, did_you_mean
    from darkscan.hpc.slurm import STAGES

    chosen: list[str] = []
    for value in values or ["all"]:
        if value == "all":
            chosen += list(STAGES)
        elif value == "gen":  # a gridpack's seed chunks need its integration first
            chosen += ["integrate", "gen"]
        elif value in STAGES:
            chosen.append(value)
        else:
            raise StudyError(f"--stage {value!r}: {did_you_mean(value, [*STAGES, 'all'])}")
    return chosen


def _with_cluster_flags(study: Any, flags: dict[str, Any]) -> Any:
    """The study with its ``cluster:`` section overridden by the command-line flags that were given."""
    from pydantic import ValidationError

    from darkscan.errors import StudyError
    from darkscan.study import Cluster

    given = {key: value for key, value in flags.items() if value is not None}
    if not given:
        return study
    try:
        cluster = Cluster.model_validate({**study.cluster.model_dump(exclude_unset=True), **given})
    except ValidationError as exc:
        names = {"account": "--account", "partition": "--partition", "cpus_per_task": "--cpus-per-task",
                 "memory": "--mem", "walltime": "--time", "max_running": "--max-running"}
        raise StudyError(*(f"{names.get(str(e['loc'][0]), e['loc'][0])} {e['input']!r}: "
                           f"{str(e['msg']).removeprefix('Value error, ')}" for e in exc.errors())) from None
    return study.model_copy(update={"cluster": cluster})


def submit(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    stage: list[str] = typer.Option([], "--stage", "-s", help=_STAGE_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Write the job scripts and print the sbatch lines; submit nothing."),
    retry_failed: bool = typer.Option(False, "--retry-failed",
                                      help="Resubmit the failed, cancelled and never-run tasks (finished ones never rerun)."),
    account: Optional[str] = typer.Option(None, "--account", "-A", help="Slurm account (cluster.account)."),
    partition: Optional[str] = typer.Option(None, "--partition", "-p", help="Partition (cluster.partition)."),
    cpus_per_task: Optional[int] = typer.Option(None, "--cpus-per-task", "-c", help="Cores per task."),
    memory: Optional[str] = typer.Option(None, "--mem", help="Memory per task, e.g. 4G (cluster.memory)."),
    walltime: Optional[str] = typer.Option(None, "--time", "-t", help="Walltime per task, e.g. 02:00:00."),
    max_running: Optional[int] = typer.Option(None, "--max-running", help="At most this many tasks of an array at once."),
) -> None:
    """Submit the stages of STUDY_FILE as Slurm job arrays (one task per shard, sample point or training task)."""
    from darkscan.cli._console import err, out
    from darkscan.hpc.slurm import submit as submit_stages
    from darkscan.study import load_study

    study = _with_cluster_flags(load_study(study_file), {
        "account": account, "partition": partition, "cpus_per_task": cpus_per_task, "memory": memory,
        "walltime": walltime, "max_running": max_running})
    submissions = submit_stages(study, _stages(stage), retry_failed=retry_failed, dry_run=dry_run)
    if not submissions:
        err.print("nothing to submit: every task of these stages is finished", markup=False)
    for submission in submissions:
        out.print(shlex.join(submission.argv), markup=False)
        what = f"job {submission.job_id}" if submission.job_id else "not submitted (--dry-run)"
        err.print(f"{submission.stage}: {len(submission.indices)} task(s), {what}; script {submission.script}",
                  markup=False)


def jobs(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    stage: list[str] = typer.Option([], "--stage", "-s", help=_STAGE_HELP),
    all_tasks: bool = typer.Option(False, "--all", help="One row per task (default: finished tasks are counted, not listed)."),
) -> None:
    """State of every Slurm array task of STUDY_FILE: done / running / pending / failed (with its log) …"""
    from darkscan.study import load_study

    study = load_study(study_file)
    print_job_status(study, [s for s in _stages(stage) if s != "train" or study.training], all_tasks=all_tasks)


def print_job_status(study: Any, stages: list[str], *, all_tasks: bool = False) -> None:
    """One line per stage (done of all), then the tasks that are not done (all with ``all_tasks``)."""
    from collections import Counter

    from darkscan.cli._console import out
    from darkscan.hpc.slurm import job_status

    rows = job_status(study, stages)
    for name in stages:
        mine = [r for r in rows if r.stage == name]
        if not mine:
            continue
        counts = Counter(r.state for r in mine)
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        out.print(f"{name}: {counts['done']}/{len(mine)} done ({summary})", markup=False)
        for row in mine:
            if all_tasks or row.state != "done":
                where = f" job {row.job}_{row.index}" if row.job else ""
                log = f" log {row.log}" if row.log and row.state in ("failed", "cancelled", "stale") else ""
                detail = f" ({row.detail})" if row.detail else ""
                out.print(f"  [{row.index}] {row.label}: {row.state}{where}{detail}{log}", markup=False)


def task(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    stage: str = typer.Option(..., "--stage", help="integrate, gen, features or datasets."),
    index: int = typer.Option(..., "--index", help="The array task index ($SLURM_ARRAY_TASK_ID)."),
    scratch: Optional[Path] = typer.Option(None, "--scratch", help="Node-local work folder."),
) -> None:
    """Run one array task of STUDY_FILE (what a Slurm job array runs; finished work is skipped)."""
    from darkscan.cli._console import err
    from darkscan.hpc.slurm import run_task
    from darkscan.study import load_study

    err.print(run_task(load_study(study_file), stage, index, scratch=scratch), markup=False)
