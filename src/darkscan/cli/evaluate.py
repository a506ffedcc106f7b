"""``darkscan evaluate``: every trained network next to its exact references (JSON + CSV + PNG per task).

A thin shell over :func:`darkscan.ml.evaluate.evaluate_study` and
:func:`darkscan.ml.evaluate.apply_model`; TensorFlow is imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["evaluate"]


def __dir__() -> list[str]:
    return list(__all__)


def evaluate(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    task: list[str] | None = typer.Option(None, "--task", "-t", help="Only this training task (repeatable)."),
    model: Path | None = typer.Option(None, "--model", help="Apply this saved model (.keras) to --dataset instead."),
    dataset: Path | None = typer.Option(None, "--dataset", help="Dataset file (.h5) to apply --model to."),
    onnx: bool = typer.Option(False, "--onnx", help="Also export every network to ONNX (parity-checked, beside the .keras)."),
    trees: bool = typer.Option(True, "--trees/--no-trees", help="Train the random-forest and gradient-boosting baselines."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write the PNG plots beside the JSON."),
) -> None:
    """Evaluate the trained networks of STUDY_FILE: AUC vs the optimal ceiling and the baselines, per task."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from darkscan.cli._console import err, out
    from darkscan.errors import StudyError
    from darkscan.study import load_study

    study = load_study(study_file)  # a bad study fails here, before TensorFlow loads
    if (model is None) != (dataset is None):
        raise StudyError("--model and --dataset go together: apply a saved model (FILE.keras) to a dataset (FILE.h5)")
    if model is not None and dataset is not None:
        from darkscan.ml.evaluate import apply_model

        result = apply_model(model, dataset)
        for group in result["groups"]:
            shown = ", ".join(f"{k} {group[k]:.4f}" for k in ("auc", "auc_likelihood_ratio", "auc_ceiling", "accuracy",
                                                             "bayes_accuracy") if group.get(k) is not None)
            err.print(f"{result['model']} on {group['group']}: {shown}", markup=False)
        out.print(result["path"], markup=False)
        return
    from darkscan.ml.evaluate import evaluate_study, evaluation_dir

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=False) as progress:
        results = evaluate_study(study, tasks=task or None, progress=progress, trees=trees, plots=plots, onnx=onnx)
    for name, result in results.items():
        for row in result["units"]:
            parts = [f"{k} {row[k]:.4f}" for k in ("auc", "auc_ceiling", "auc_likelihood_ratio", "accuracy", "bayes_accuracy")
                     if row.get(k) is not None]
            if row.get("regression"):
                parts.append(f"MAPE {row['regression']['mape']:.1f} %")
            if row.get("cut_and_count"):  # event-level units: the trees and the significance gain of the score cut
                if row.get("auc_gradient_boosting") is not None:
                    parts.append(f"auc_gradient_boosting {row['auc_gradient_boosting']:.4f}")
                parts.append(f"Z selection {row['cut_and_count']['z']:.3g} → best cut {row['significance']['z']:.3g}")
            err.print(f"{name}/{row['unit']}: " + ", ".join(parts), markup=False)
        out.print(str(evaluation_dir(study) / f"{name}.json"), markup=False)
