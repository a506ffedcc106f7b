"""``darkscan run``: the whole chain of a study on the embedded default.

generation (``gen run``) → features and selection (``histos features``) → histogram datasets
(``histos build``). Each step skips what is already on disk, so an interrupted chain resumes
where it stopped when the same command is run again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from darkscan.study import Study

__all__ = ["run"]


def run(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    workers: int = typer.Option(0, "--workers", "-j", help="Generator processes (0: the study's generator.workers)."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write example plots (PNG) beside each dataset."),
) -> None:
    """Generate, compute features and build the histogram datasets of STUDY_FILE, resuming finished steps."""
    from darkscan.cli import gen, histos, histos_datasets
    from darkscan.cli._console import err
    from darkscan.study import load_study

    study = load_study(study_file)  # a bad study fails here, before any work
    err.rule(f"[bold]1/3 generation[/] ({study.generator.backend}, preset {study.generator.preset})")
    gen.run(study_file, workers=workers, sample=[], executor=None, image=None)
    err.rule("[bold]2/3 features and selection[/]" + f" ({study.selection.preset})")
    histos.features(study_file, output=None, preset="none", luminosity_fb=study.luminosity_fb, invisible=[],
                    cross_section_pb=None, force=False)
    err.rule("[bold]3/3 histogram datasets[/]")
    if not study.training:
        err.print("the study has no training tasks: no datasets to build", markup=False)
        return
    histos_datasets.build(study_file, task=None, plots=plots)
    _report_ceilings(study)


def _report_ceilings(study: Study) -> None:
    """The best AUC any classifier can reach on each dataset: the number to compare a network with."""
    import json

    import h5py

    from darkscan.cli._console import err

    for task in study.training:
        path = study.output_dir / "datasets" / f"{task.name}.h5"
        if not path.exists():
            continue
        with h5py.File(path, "r") as handle:
            if "ceiling" not in handle:
                continue
            ceiling = handle["ceiling"]
            values = ceiling.attrs["s_over_sqrt_b"]
            for model, aucs in zip(json.loads(ceiling.attrs["models"]), ceiling["auc"][()]):
                shown = ", ".join(f"{auc:.3f} at {v:g}" for auc, v in zip(aucs, values))
                err.print(f"{task.name}: optimal AUC of SM vs SM + {model} (S/√B): {shown}", markup=False)
