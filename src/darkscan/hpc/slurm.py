"""A study's stages as Slurm job arrays: plan the tasks, render the scripts, submit, follow, retry.

Each stage is one array job with one task per piece of work (:func:`darkscan.pipeline.stage_pieces`):

- ``integrate``: MadGraph backend with ``generator.gridpack``: one task per sample point, integrating
  it into a gridpack (submitted with ``gen``, which waits for it);
- ``gen``: one task per shard (sample × scan point × event chunk) of the embedded backend, or per MG5
  chunk (sample point, or seed chunk of its gridpack) of the MadGraph backend, run through the study's
  ``generator.executor`` (``local``, or ``apptainer`` with the study folder, the output folder and the
  task's scratch bound);
- ``features``: one task per sample point; ``datasets`` and ``train``: one task per training task.

A task runs ``darkscan task STUDY --stage S --index I`` (``darkscan train STUDY --task NAME`` for
``train``), which uses the local resume rules: finished outputs are skipped, and every output is
written to node-local scratch and moved into the study's output folder atomically, so a task killed
at any point leaves nothing complete-looking. Whether a task is done is the pipeline's check of its
piece, the same as a local resume. Stages follow each other with ``--dependency=afterok``
(``--kill-on-invalid-dep=yes``: a failed stage cancels what waits on it).

Everything lives in ``<output>/slurm/<stage>/``: the submitted scripts (``<stage>-<job>.sh``),
``jobs.json`` (job ids, indices and sbatch argv of every submission) and ``logs/<stage>-<job>_<index>.log``.
:func:`job_status` reads task states from ``sacct`` when accounting is there, else from ``squeue``
and the outputs and logs on disk.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from darkscan.errors import DarkscanError, ExternalProgramError, StudyError

__all__ = [
    "STAGES",
    "ArrayTask",
    "Submission",
    "TaskStatus",
    "array_spec",
    "job_status",
    "plan_stage",
    "render_script",
    "run_task",
    "sbatch_argv",
    "submit",
    "task_executor",
]


def __dir__() -> list[str]:
    return list(__all__)


#: the stages in pipeline order; each depends on the one before
STAGES = ("integrate", "gen", "features", "datasets", "train")

#: the pipeline's kind of piece behind each stage's tasks
_PIECES = {"integrate": "gridpack", "gen": "generation", "features": "features", "datasets": "datasets",
           "train": "training"}

#: seconds a Slurm client command may take before it counts as hung
SLURM_TIMEOUT_S = 60

#: tasks per array: array task ids must stay below Slurm's MaxArraySize (1001 by default), so a stage
#: with more tasks is several arrays, each told its first index
ARRAY_BLOCK = 1000

#: Slurm states of a task that is still to finish
_ACTIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED", "STAGE_OUT",
           "SIGNALING", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}
_FAILED = {"FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "PREEMPTED"}

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class SlurmUnavailableError(DarkscanError, RuntimeError):
    """This machine has no Slurm client (sbatch) or its controller does not answer."""

    exit_code = 2


@dataclasses.dataclass(frozen=True)
class ArrayTask:
    """One task of a stage's array: what it makes and how to tell that it is finished."""

    stage: str
    index: int
    #: what the task works on, e.g. ``znunu/nominal shard 1``
    label: str
    #: the files (or folder) it makes
    outputs: tuple[Path, ...] = ()
    #: ``() -> (finished, why it is stale)`` from the files on disk: the pipeline's check of the piece
    state: Callable[[], tuple[bool, str]] = dataclasses.field(default=lambda: (False, ""), compare=False,
                                                             repr=False)


@dataclasses.dataclass(frozen=True)
class TaskStatus:
    """One row of :func:`job_status`."""

    stage: str
    index: int
    label: str
    #: done, running, pending, failed, cancelled, stale, never ran, not submitted
    state: str
    job: str | None = None
    log: Path | None = None
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Submission:
    """One ``sbatch`` of a stage (or the script and argv it would be, with ``--dry-run``)."""

    stage: str
    indices: tuple[int, ...]
    script: Path
    argv: tuple[str, ...]
    job_id: str | None = None
    #: the stage index of this array's task 0
    offset: int = 0


# ----------------------------------------------------------------------------------------------
# Planning


def plan_stage(study: Any, stage: str) -> list[ArrayTask]:
    """The array tasks of ``stage``, index = position: the pipeline's pieces of that stage."""
    from darkscan.pipeline import stage_pieces

    if stage not in STAGES:
        raise StudyError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    return [ArrayTask(stage, i, piece.label, piece.outputs, piece.state)
            for i, piece in enumerate(stage_pieces(study, _PIECES[stage]))]


def _stage_dir(study: Any, stage: str) -> Path:
    return study.output_dir / "slurm" / stage


def _python(study: Any) -> str:
    return study.cluster.python or sys.executable


def _study_path(study: Any) -> Path:
    if study.source is None:
        raise StudyError("a study submitted to Slurm must come from a file (its tasks load it)")
    return Path(study.source).resolve()


def render_script(study: Any, stage: str) -> str:
    """The bash script of one stage's array tasks; every value from the study is shell-quoted."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("darkscan.hpc", "templates"), undefined=jinja2.StrictUndefined,
        autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    environment.filters["q"] = _quote
    study_file = str(_study_path(study))
    names: list[str] = []
    if stage == "train":
        command = [_python(study), "-m", "darkscan", "train", study_file, "--task"]
        names = [t.name for t in study.training]
    else:
        command = [_python(study), "-m", "darkscan", "task", study_file, "--stage", stage]
    return environment.get_template("task.sh.jinja").render(scratch=study.cluster.scratch, names=names,
                                                            command=command)


def _quote(value: Any) -> str:
    # shlex.quote wraps anything unsafe in single quotes; a newline inside them stays literal in bash
    return shlex.quote(str(value))


def array_spec(indices: Sequence[int], max_running: int | None = None) -> str:
    """``0-3``, ``1,3,5-7`` … for ``--array`` (with ``%N`` when at most N may run at once)."""
    ordered = sorted(set(indices))
    if not ordered:
        raise ValueError("an array needs at least one index")
    parts = []
    start = previous = ordered[0]
    for index in [*ordered[1:], None]:
        if index is not None and index == previous + 1:
            previous = index
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if index is not None:
            start = previous = index
    return ",".join(parts) + (f"%{max_running}" if max_running else "")


def _slurm_filename(path: Path) -> str:
    # sbatch expands %A, %a, %j … in --output; a % in the folder's own name must stay a %
    return str(path).replace("%", "%%")


def sbatch_argv(study: Any, stage: str, indices: Sequence[int], script: Path, *,
                after: Sequence[str] = (), offset: int = 0) -> list[str]:
    """The ``sbatch`` argv of one array of a stage: resources, array, log pattern, dependency (an argv,
    never a shell). The array runs the stage's tasks ``indices`` as task ids ``index - offset``."""
    cluster = study.cluster
    logs = _stage_dir(study, stage) / "logs"
    argv = ["sbatch", "--parsable", f"--job-name=darkscan-{study.name}-{stage}",
            f"--array={array_spec([i - offset for i in indices], cluster.max_running)}",
            f"--time={cluster.walltime}", f"--mem={cluster.memory}", f"--cpus-per-task={cluster.cpus_per_task}",
            "--ntasks=1", f"--output={_slurm_filename(logs)}/{stage}-%A_%a.log"]
    if cluster.account:
        argv.append(f"--account={cluster.account}")
    if cluster.partition:
        argv.append(f"--partition={cluster.partition}")
    if after:
        argv += [f"--dependency=afterok:{':'.join(after)}", "--kill-on-invalid-dep=yes"]
    argv.append(str(script))
    if offset:
        argv.append(str(offset))
    return argv


# ----------------------------------------------------------------------------------------------
# Running one task (on the compute node)


def run_task(study: Any, stage: str, index: int, *, scratch: Path | None = None) -> str:
    """Do array task ``index`` of ``stage`` with the local resume rules; a one-line summary."""
    tasks = plan_stage(study, stage)
    if not 0 <= index < len(tasks):
        raise StudyError(f"{study.source}: {stage} has {len(tasks)} tasks, no index {index}")
    label = tasks[index].label
    if stage == "integrate" or (stage == "gen" and study.generator.backend == "madgraph"):
        return _run_madgraph_task(study, stage, index, label, scratch)
    if stage == "gen":
        from darkscan.gen.embedded import run_study_shard

        result = run_study_shard(study, index, work_dir=scratch)
        return f"{label}: already finished" if result is None else \
            f"{label}: {result['n_events']} events, σ = {result['sigma_pb']:.5g} pb, {result['seconds']:.1f} s"
    if stage == "features":
        from darkscan.analysis.features import build_point_features
        from darkscan.analysis.selection import study_cuts
        from darkscan.errors import InputFileError
        from darkscan.registry import PROCESSES

        point = study.plan()[index]
        status = build_point_features(point.directory, cuts=study_cuts(study.selection.preset, study.selection.cuts),
                                      luminosity_fb=study.luminosity_fb,
                                      invisible_pdgids=PROCESSES[point.process].invisible_pdgids)
        if status == "no events":
            raise InputFileError(f"{point.directory}/events: no event files; the gen stage has not made them")
        return f"{label}: features {status}"
    if stage == "datasets":
        from darkscan.datasets.build import build_datasets

        paths = build_datasets(study, tasks=[label])
        return f"{label}: {paths[0]}"
    raise StudyError(f"stage {stage!r} has no array worker (train tasks run `darkscan train`)")


def task_executor(study: Any, scratch: Path | None) -> Any:
    """The study's MadGraph executor for an array task: a container also binds the study folder, the output
    folder and the task's scratch (clusters bind none of them by default)."""
    from darkscan.gen import madgraph

    binds = (_study_path(study).parent, study.output_dir.resolve(), *([Path(scratch).resolve()] if scratch else []))
    return madgraph.study_executor(study, binds=tuple(dict.fromkeys(binds)))


def _run_madgraph_task(study: Any, stage: str, index: int, label: str, scratch: Path | None) -> str:
    """One gridpack integration (``integrate``) or one MG5 chunk (``gen``) through the study's executor."""
    from darkscan.gen import madgraph
    from darkscan.gen.executors import LocalExecutor

    chunks = madgraph.study_chunks(study)
    if stage == "integrate":
        task = [t for t in chunks if t.chunk == 0][index]
        if madgraph.gridpack_path(task).is_file():
            return f"{label}: already finished"
    else:
        task = chunks[index]
        if task.output.exists():
            problems = madgraph.stale(task)
            if problems:
                raise StudyError(*problems)
            return f"{label}: already finished"
        if task.gridpack and not madgraph.gridpack_path(task).is_file():
            # integrating here would race the point's other chunks in one folder
            raise StudyError(f"{label}: no gridpack at {madgraph.gridpack_path(task)}; its integrate task makes "
                             "it (`darkscan submit --stage gen` submits those first)")
    executor = task_executor(study, scratch)
    if isinstance(executor, LocalExecutor):  # a missing installation: one line, before any work
        executor.mg5_home()
        if study.detector.simulation == "delphes":
            executor.delphes_home()
    if stage == "integrate":
        return f"{label}: {madgraph.run_gridpack(task, executor, work_dir=scratch)}"
    record = madgraph.run_chunk(task, executor, work_dir=scratch)
    return (f"{label}: {record['n_accepted']} of {record['n_events']} events, σ = {record['cross_section_pb']:.5g} pb, "
            f"{record['seconds']:.1f} s")


# ----------------------------------------------------------------------------------------------
# Slurm's view of the tasks


def _run(argv: list[str], runner: Runner) -> subprocess.CompletedProcess[str]:
    if shutil.which(argv[0]) is None:
        raise SlurmUnavailableError(f"{argv[0]} not found: this machine has no Slurm client; use --dry-run to write "
                                    "the job scripts and print the sbatch lines")
    try:
        return runner(argv, capture_output=True, text=True, timeout=SLURM_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ExternalProgramError(f"{shlex.join(argv)}: no answer in {SLURM_TIMEOUT_S} s (is slurmctld up?)") from None


def _expand(job_field: str) -> list[tuple[str, int | None]]:
    """``12_3`` → [(12, 3)]; ``12_[0-2,5%2]`` → [(12, 0), (12, 1), (12, 2), (12, 5)]; ``12`` → [(12, None)]."""
    match = re.fullmatch(r"(\d+)_(\d+)", job_field)
    if match:
        return [(match[1], int(match[2]))]
    match = re.fullmatch(r"(\d+)_\[([0-9,\-]+)(?:%\d+)?\]", job_field)
    if match:
        out: list[tuple[str, int | None]] = []
        for part in match[2].split(","):
            low, _, high = part.partition("-")
            out += [(match[1], i) for i in range(int(low), int(high or low) + 1)]
        return out
    match = re.fullmatch(r"(\d+)", job_field)
    return [(match[1], None)] if match else []


def _slurm_states(job_ids: Sequence[str], runner: Runner) -> tuple[dict[tuple[str, int], tuple[str, str]], bool]:
    """{(job, index): (state, detail)}, and whether accounting (sacct) answered. The detail is
    ``exit CODE`` from sacct, squeue's reason for a live task, ``reason REASON`` for an ended task
    that only squeue knows yet (sacct records a task some seconds after it ends)."""
    states: dict[tuple[str, int], tuple[str, str]] = {}
    if not job_ids:
        return states, False
    accounting = False
    if shutil.which("sacct") is not None:
        result = _run(["sacct", "-X", "-n", "-P", "-j", ",".join(job_ids), "-o", "JobID,State,ExitCode"], runner)
        if result.returncode == 0:
            accounting = True
            for line in result.stdout.splitlines():
                fields = line.split("|")
                if len(fields) >= 3:
                    for job, index in _expand(fields[0]):
                        if index is not None:
                            # "CANCELLED by 0" → CANCELLED
                            states[(job, index)] = (fields[1].split()[0], f"exit {fields[2]}")
    # squeue knows the live tasks (and the finished ones for MinJobAge seconds) with their reason
    result = _run(["squeue", "--me", "-h", "-r", "--states=all", "-o", "%i|%T|%r"], runner)
    if result.returncode != 0:
        raise SlurmUnavailableError(f"squeue failed (exit {result.returncode}): {result.stderr.strip()[:300]}")
    wanted = set(job_ids)
    for line in result.stdout.splitlines():
        fields = line.split("|")
        if len(fields) < 3:
            continue
        for job, index in _expand(fields[0]):
            if job in wanted and index is not None:
                if fields[1] in _ACTIVE:
                    states[(job, index)] = (fields[1], fields[2])
                elif (job, index) not in states:
                    states[(job, index)] = (fields[1], f"reason {fields[2]}")
    return states, accounting


def _jobs_file(study: Any, stage: str) -> Path:
    return _stage_dir(study, stage) / "jobs.json"


def _submissions(study: Any, stage: str) -> list[dict[str, Any]]:
    path = _jobs_file(study, stage)
    if not path.exists():
        return []
    try:
        return list(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise StudyError(f"{path}: not a darkscan jobs file ({exc}); move it away to start the stage afresh") from None


def _log_path(study: Any, stage: str, job: str, index: int) -> Path:
    return _stage_dir(study, stage) / "logs" / f"{stage}-{job}_{index}.log"


def job_status(study: Any, stages: Sequence[str] = STAGES, *, runner: Runner = subprocess.run) -> list[TaskStatus]:
    """The state of every array task of ``stages``: one row per task.

    ``done`` comes from the outputs on disk (the resume checks); ``running``/``pending``/``failed``/
    ``cancelled`` from ``sacct`` (or ``squeue`` without accounting; past its memory, a log without
    the task's end line means failed); ``never ran``: submitted but Slurm has no record (e.g.
    cancelled while pending); ``not submitted``: no submission holds it.
    """
    plans = {stage: plan_stage(study, stage) for stage in stages}
    latest: dict[str, dict[int, tuple[str, int]]] = {}
    for stage in stages:
        latest[stage] = {}
        for record in _submissions(study, stage):
            if record.get("job_id"):
                for index in record["indices"]:
                    latest[stage][index] = (str(record["job_id"]), int(record.get("offset", 0)))
    job_ids = sorted({job for jobs in latest.values() for job, _ in jobs.values()}, key=int)
    states, _ = _slurm_states(job_ids, runner) if job_ids else ({}, False)
    rows = []
    for stage, tasks in plans.items():
        for task in tasks:
            job, offset = latest[stage].get(task.index, (None, 0))
            array_index = task.index - offset
            log = _log_path(study, stage, job, array_index) if job else None
            slurm_state, info = states.get((job, array_index), ("", "")) if job else ("", "")
            if slurm_state in _ACTIVE:
                state = "pending" if slurm_state == "PENDING" else "running"
                rows.append(TaskStatus(stage, task.index, task.label, state, job, log,
                                       info if state == "pending" else ""))
                continue
            finished, stale = task.state()
            if finished:
                rows.append(TaskStatus(stage, task.index, task.label, "done", job, log))
            elif slurm_state in _FAILED:
                rows.append(TaskStatus(stage, task.index, task.label, "failed", job, log,
                                       f"{slurm_state} {info}" + (f"; {stale}" if stale else "")))
            elif stale:
                rows.append(TaskStatus(stage, task.index, task.label, "stale", job, log, stale))
            elif slurm_state == "CANCELLED":
                rows.append(TaskStatus(stage, task.index, task.label, "cancelled", job, log))
            elif slurm_state == "COMPLETED":
                rows.append(TaskStatus(stage, task.index, task.label, "failed", job, log,
                                       "ended without its output"))
            elif job is None:
                rows.append(TaskStatus(stage, task.index, task.label, "not submitted"))
            elif log is not None and log.exists():
                rows.append(TaskStatus(stage, task.index, task.label, "failed", job, log,
                                       "no Slurm record; the log has no end line"))
            else:
                rows.append(TaskStatus(stage, task.index, task.label, "never ran", job, None,
                                       "no Slurm record and no log (cancelled before it started?)"))
    return rows


# ----------------------------------------------------------------------------------------------
# Submitting


def submit(study: Any, stages: Sequence[str], *, retry_failed: bool = False, dry_run: bool = False,
           runner: Runner = subprocess.run) -> list[Submission]:
    """Write and (unless ``dry_run``) submit the arrays of ``stages`` in pipeline order.

    Only unfinished tasks are submitted (every task of a stage after one submitted now: its inputs
    change, and its tasks skip what stays up to date); a stage with nothing to do is skipped. A stage
    waits (``afterok``) for the stage before it when that one is submitted now or still has tasks queued.
    Tasks that failed or were cancelled are resubmitted only with ``retry_failed``. Raises
    :class:`SlurmUnavailableError` (exit 2) on a machine without ``sbatch`` unless ``dry_run``.
    """
    # a gridpack's seed chunks need its integration: generation includes it
    stages = [s for s in STAGES if s in stages or (s == "integrate" and "gen" in stages)]
    if not dry_run and shutil.which("sbatch") is None:
        raise SlurmUnavailableError("sbatch not found: this machine has no Slurm; `darkscan submit --dry-run` writes "
                                    "the job scripts and prints the sbatch lines")
    stages = [s for s in stages if plan_stage(study, s)]
    first = STAGES.index(stages[0]) if stages else 0
    upstream_stage = STAGES[first - 1] if first > 0 else None
    rows = {(r.stage, r.index): r for r in job_status(
        study, [*([upstream_stage] if upstream_stage else []), *stages], runner=runner)} \
        if not dry_run else {}
    after: list[str] = []
    if upstream_stage and not dry_run:
        upstream = [r for (stage, _), r in rows.items() if stage == upstream_stage]
        after = sorted({r.job for r in upstream if r.state in ("pending", "running") and r.job}, key=int)
        unfinished = [r for r in upstream if r.state not in ("done", "pending", "running")]
        if unfinished:
            raise StudyError(f"{study.source}: stage {stages[0]} needs {upstream_stage}, which has "
                             f"{len(unfinished)} unfinished task(s) (e.g. {unfinished[0].label}: {unfinished[0].state}); "
                             f"submit with --stage {upstream_stage} (or --retry-failed) first")
    submissions = []
    for position, stage in enumerate(stages):
        tasks = plan_stage(study, stage)
        if position > 0 and not dry_run:
            # the stage before, submitted now or queued from before
            before = stages[position - 1]
            queued = {rows[(before, i)].job for i in range(len(plan_stage(study, before)))
                      if rows[(before, i)].state in ("pending", "running")}
            new = [s.job_id for s in submissions if s.stage == before and s.job_id]
            after = sorted({*new, *(j for j in queued if j)}, key=int)
        if dry_run:  # no Slurm to ask: what is not finished on disk
            todo = [t.index for t in tasks if not t.state()[0]]
            if not todo:
                continue
        else:
            states = {t.index: rows[(stage, t.index)] for t in tasks}
            busy = [r for r in states.values() if r.state in ("pending", "running")]
            if busy and not retry_failed:
                raise StudyError(f"{study.source}: {stage} has {len(busy)} task(s) queued or running (job "
                                 f"{busy[0].job}); wait for them (`darkscan jobs`) or cancel them with scancel")
            retry = [r for r in states.values() if r.state in ("failed", "cancelled", "never ran")]
            if retry and not retry_failed:
                raise StudyError(f"{study.source}: {stage}: {len(retry)} task(s) failed or were cancelled (e.g. "
                                 f"{retry[0].label}, log {retry[0].log}); see `darkscan jobs`, then submit "
                                 "--retry-failed to run those again")
            stale = [r for r in states.values() if r.state == "stale"]
            if stale and stage == "gen":  # a shard of another configuration: the user decides
                raise StudyError(*(f"{r.label}: {r.detail}" for r in stale))
            # a stage whose inputs are remade now runs in full: its tasks skip what stays up to date
            remaking = position > 0 and any(s.stage == stages[position - 1] for s in submissions)
            todo = [i for i, r in states.items()
                    if r.state in ("failed", "cancelled", "never ran", "not submitted", "stale")
                    or (remaking and r.state == "done")]
            if not todo:
                continue
        directory = _stage_dir(study, stage)
        (directory / "logs").mkdir(parents=True, exist_ok=True)
        blocks: dict[int, list[int]] = {}
        for index in todo:
            blocks.setdefault(index // ARRAY_BLOCK * ARRAY_BLOCK, []).append(index)
        submitted_now = []
        for offset, indices in blocks.items():
            submitted_now.append(_submit_array(study, stage, indices, offset, after, dry_run, runner))
        submissions += submitted_now
        after = [s.job_id for s in submitted_now if s.job_id] or [f"<{stage} job id>"]
    return submissions


def _submit_array(study: Any, stage: str, indices: list[int], offset: int, after: Sequence[str], dry_run: bool,
                  runner: Runner) -> Submission:
    """Write the script of one array, submit it, keep the script as ``<stage>-<job>.sh`` and record the job."""
    from darkscan.io import write_json_atomic, write_text_atomic

    directory = _stage_dir(study, stage)
    script = directory / f"{stage}-{'dry-run' if dry_run else 'submitting'}.sh"
    write_text_atomic(script, render_script(study, stage))
    script.chmod(0o755)
    argv = sbatch_argv(study, stage, indices, script, after=after, offset=offset)
    if dry_run:
        return Submission(stage, tuple(indices), script, tuple(argv), offset=offset)
    result = _run(argv, runner)
    if result.returncode != 0 or not re.fullmatch(r"\d+(;\S+)?", result.stdout.strip()):
        raise ExternalProgramError(f"{shlex.join(argv)} failed (exit {result.returncode}): "
                                   f"{(result.stderr or result.stdout).strip()[:500]}")
    job_id = result.stdout.strip().split(";")[0]
    kept = directory / f"{stage}-{job_id}.sh"
    script.replace(kept)
    argv[argv.index(str(script))] = str(kept)
    record = {"job_id": job_id, "indices": indices, "offset": offset, "script": str(kept), "argv": argv,
              "submitted": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    write_json_atomic(_jobs_file(study, stage), [*_submissions(study, stage), record])
    return Submission(stage, tuple(indices), kept, tuple(argv), job_id, offset)
