"""``darkscan run`` and ``darkscan status``: the whole pipeline of a study, and where it stands.

Both are thin shells over :mod:`darkscan.pipeline`; :func:`run_one_stage` is what the single-stage
commands (``gen run``, ``histos features``, ``histos build``) call, so every command goes through
the same stages, fingerprints and manifest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

if TYPE_CHECKING:
    from darkscan.pipeline import StageContext, StageResult
    from darkscan.study import Study

__all__ = ["run", "run_one_stage", "status"]


@contextlib.contextmanager
def _display(**options: Any) -> Iterator[StageContext]:
    """One rich progress display on stderr for everything a command runs."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from darkscan.cli._console import err
    from darkscan.pipeline import StageContext

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err, transient=False)
    with progress:
        yield StageContext(progress=progress, log=lambda line: progress.console.print(line, markup=False), **options)


def run_one_stage(study_file: Path, stage: str, **options: Any) -> tuple[Study, StageResult]:
    """Load the study and run one stage of it (the single-stage commands)."""
    from darkscan.pipeline import run_stage
    from darkscan.study import load_study

    study = load_study(study_file)
    with _display(**options) as context:
        result = run_stage(study, stage, context)
    if result.action == "skipped":
        from darkscan.cli._console import err

        err.print(f"{stage}: up to date (darkscan status {study_file} says why)", markup=False)
    return study, result


def run(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    workers: int = typer.Option(0, "--workers", "-j", help="Generator processes (0: the study's generator.workers)."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write example plots (PNG) beside each dataset."),
    start: Optional[str] = typer.Option(None, "--from", help="First stage to run: generation, features, datasets, "
                                                              "training, evaluation, report."),
    until: Optional[str] = typer.Option(None, "--until", help="Last stage to run."),
) -> None:
    """Run the stages of STUDY_FILE in order, skipping those that are up to date; end with a summary."""
    from darkscan.cli._console import err
    from darkscan.pipeline import run_pipeline, select_stages
    from darkscan.study import load_study

    study = load_study(study_file)  # a bad study fails here, before any work
    select_stages(start, until)  # so does a bad --from/--until
    with _display(workers=workers or None, plots=plots) as context:
        overall = context.progress.add_task("stages", total=len(select_stages(start, until)))

        def on_stage(i: int, n: int, stage: Any) -> None:
            context.progress.update(overall, completed=i, description=f"stage {i + 1}/{n}: {stage.name}")

        results = run_pipeline(study, start=start, until=until, context=context, on_stage=on_stage)
        context.progress.update(overall, completed=len(results), description="stages")
    _summary(study, results)
    report = study.output_dir / "report" / "index.html"
    if report.exists():
        err.print(f"report: {report}", markup=False)


def _summary(study: Study, results: list[StageResult]) -> None:
    """The end-of-run tables on stderr: AUCs per task, model and S/√B; what each stage did and took."""
    from rich.markup import escape
    from rich.table import Table

    from darkscan.cli._console import err
    from darkscan.report.build import SUMMARY_HEADER, summary_rows

    rows = summary_rows(study)
    if rows:
        table = Table(title=f"study {study.name}: AUC per task, model and S/√B", title_justify="left")
        for column in SUMMARY_HEADER:
            table.add_column(escape(column), justify="left" if column in ("task", "model") else "right")
        for row in rows:
            table.add_row(*(escape(c) for c in row))
        err.print(table)
    stages = Table(title="stages", title_justify="left")
    for column in ("stage", "action", "seconds", "note"):
        stages.add_column(column, justify="right" if column == "seconds" else "left")
    for result in results:
        stages.add_row(result.stage, result.action, f"{result.seconds:.1f}", escape(result.why))
    err.print(stages)


def status(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
) -> None:
    """Show each stage of STUDY_FILE: done, stale, missing or unavailable, and why."""
    from rich.markup import escape
    from rich.table import Table

    from darkscan.cli._console import out
    from darkscan.pipeline import stage_states
    from darkscan.study import load_study

    study = load_study(study_file)
    table = Table(title=f"study {study.name}: {study.output_dir}", title_justify="left")
    for column in ("stage", "state", "outputs", "seconds", "why"):
        table.add_column(column, justify="right" if column in ("outputs", "seconds") else "left")
    for state in stage_states(study):
        table.add_row(state.stage, state.state, str(state.outputs),
                      "" if state.seconds is None else f"{state.seconds:.1f}", escape(state.why))
    out.print(table)
    if (study.output_dir / "slurm").is_dir():  # submitted with darkscan submit: the array tasks too
        from darkscan.cli.submit import print_job_status
        from darkscan.hpc.slurm import STAGES

        out.print("Slurm array tasks (darkscan jobs STUDY --all lists every one):", markup=False)
        print_job_status(study, [s for s in STAGES if s != "train" or study.training])
