"""``darkscan histos build`` and ``darkscan histos lumi``: histogram datasets and the luminosity view.

:func:`register` adds the two commands to the ``histos`` group (``darkscan.cli.histos``).
"""

from __future__ import annotations

import math
from pathlib import Path

import typer

__all__ = ["build", "lumi", "register"]


def __dir__() -> list[str]:
    return list(__all__)


def build(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    task: list[str] | None = typer.Option(None, "--task", "-t", help="Only this training task (repeatable)."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write example plots (PNG) beside each file."),
) -> None:
    """Write the histogram datasets of every training task of STUDY_FILE (HDF5, resumable)."""
    from darkscan.cli._console import out
    from darkscan.cli.run import run_one_stage
    from darkscan.errors import StudyError

    study, _ = run_one_stage(study_file, "datasets", tasks=task or None, plots=plots)
    if not study.training:
        raise StudyError(f"{study.source}: training: no training tasks, so no datasets to build; add one "
                         "(e.g. {name: sig_vs_sm, labels: binary, signals: [...], histogram: ...})")
    for path in [study.output_dir / "datasets" / f"{t.name}.h5" for t in study.training
                 if not task or t.name in task]:
        out.print(str(path), markup=False)


def lumi(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    luminosity: float | None = typer.Option(None, "--luminosity", "-L", min=1e-12,
                                               help="Luminosity in fb⁻¹ (default: the study's luminosity_fb)."),
) -> None:
    """Show each signal point's S/√B at the study luminosity and the luminosity for each target S/√B."""
    from rich.markup import escape
    from rich.table import Table

    from darkscan.datasets.build import sample_rates
    from darkscan.analysis.luminosity import luminosity_view
    from darkscan.cli._console import err, out
    from darkscan.study import load_study

    study = load_study(study_file)
    view = luminosity_view(sample_rates(study),
                           luminosity_fb=luminosity if luminosity is not None else study.luminosity_fb,
                           targets=study.datasets.s_over_sqrt_b,
                           dataset_background_events=study.datasets.background_events)

    def number(value: float, digits: int = 3) -> str:
        return "∞" if math.isinf(value) else f"{value:.{digits}g}"

    table = Table(title=f"study {study.name}: one histogram of all selected events at L = {view.luminosity_fb:g} fb⁻¹, "
                        f"B = {view.background_events:,.0f}", title_justify="left")
    for column in ("sample", "point", "σ [pb]", "selection ε", "S", "S/√B"):
        table.add_column(escape(column), justify="left" if column in ("sample", "point") else "right")
    for target in view.targets:
        table.add_column(escape(f"L [fb⁻¹] for S/√B={target:g}"), justify="right")
    for signal in view.signals:
        table.add_row(signal.sample, signal.point_id, number(signal.cross_section_pb, 4),
                      number(signal.selection_efficiency), f"{view.signal_events(signal):,.1f}",
                      number(view.s_over_sqrt_b(signal)),
                      *(number(view.luminosity_for(signal, t)) for t in view.targets))
    out.print(table)
    for background in view.backgrounds:
        err.print(f"background {background.sample}/{background.point_id}: σ = {background.cross_section_pb:.4g} pb, "
                  f"ε = {background.selection_efficiency:.3g}, {background.rate_fb * view.luminosity_fb:,.0f} "
                  f"events at {view.luminosity_fb:g} fb⁻¹", markup=False)
    err.print(f"dataset histograms (B = {view.dataset_background_events:,.0f}) hold all selected background of "
              f"L = {number(view.dataset_luminosity_fb)} fb⁻¹", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``build`` and ``lumi`` to the ``histos`` command group ``app``."""
    app.command("build")(build)
    app.command("lumi")(lumi)
