"""``darkscan train``: train the networks of a study's training tasks (Keras imported only when run)."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["train"]


def __dir__() -> list[str]:
    return list(__all__)


def train(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    task: list[str] | None = typer.Option(None, "--task", "-t", help="Only this training task (repeatable)."),
) -> None:
    """Train one network per unit of every training task of STUDY_FILE on its histogram dataset (resumable).

    Writes models/<task>/<unit>.keras with a JSON sidecar (settings, history, test metrics); units already
    trained on the same dataset with the same settings are skipped.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from darkscan.cli._console import err, out
    from darkscan.ml.train import train_study
    from darkscan.study import load_study

    study = load_study(study_file)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("epochs"),
                  TimeElapsedColumn(), console=err, transient=False) as progress:
        results = train_study(study, tasks=task or None, progress=progress)
    for result in results:
        test = result.sidecar.get("test", {})
        summary = ", ".join(f"{k} {v:.4g}" for k, v in test.items())
        state = "up to date" if result.skipped else f"{result.sidecar['epochs_run']} epochs"
        err.print(f"{result.task}/{result.unit}: {result.sidecar['network']}, {state}, test {summary}", markup=False)
        out.print(str(result.path), markup=False)
