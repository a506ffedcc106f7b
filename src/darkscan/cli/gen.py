"""``darkscan gen``: generation (embedded Pythia 8 + fast detector, or the MadGraph chain) and LHE showering."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["app"]

app = typer.Typer(help="Generate event tables with Pythia 8 in-process and the fast detector.", no_args_is_help=True)


@app.command("run")
def run(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    workers: int = typer.Option(0, "--workers", "-j", help="Worker processes (0: the study's generator.workers)."),
    sample: list[str] = typer.Option([], "--sample", "-s", help="Only these samples (repeatable)."),
    executor: str = typer.Option(None, "--executor",
                                 help="madgraph backend: local, docker, podman or apptainer (default: the study's)."),
    image: str = typer.Option(None, "--image", help="madgraph backend: container image (default: the study's)."),
) -> None:
    """Generate every sample × scan point of STUDY_FILE; finished shards are kept and skipped."""
    from darkscan.cli.run import run_one_stage

    run_one_stage(study_file, "generation", workers=workers or None, samples=sample or None, executor=executor,
                  image=image)


@app.command("shower")
def shower(
    lhe_file: Path = typer.Argument(..., help="Les Houches event file (.lhe or .lhe.gz), e.g. MadGraph output."),
    output: Path = typer.Option(None, "--output", "-o",
                                help="Event table to write (default: ./<FILE stem>.parquet in the current folder)."),
    preset: str = typer.Option("fast", help="fast (MPI off) or full (Pythia defaults)."),
    seed: int = typer.Option(1, help="Pythia and detector seed."),
    process: str = typer.Option(None, help="Registry process: its BSM invisible PDG ids are made invisible."),
    invisible: str = typer.Option("", help="Extra invisible PDG ids, comma separated (neutrinos always are)."),
    detector_params: Path = typer.Option(None, "--detector-params", help="Fast-detector parameter file (YAML)."),
    max_events: int = typer.Option(0, "--max-events", help="Stop after this many events (0: all)."),
) -> None:
    """Shower LHE_FILE with Pythia 8 and the fast detector into an event table (σ from the LHE header)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from darkscan.cli._console import err
    from darkscan.errors import StudyError
    from darkscan.gen.shower import lhe_cross_section, shower_lhe

    lhe_cross_section(lhe_file)  # a missing or malformed file fails here, before any progress bar

    ids: list[int] = []
    if process:
        from darkscan.registry import get_process

        ids += list(get_process(process).invisible_pdgids)
    try:
        ids += [int(x) for x in invisible.replace(" ", "").split(",") if x]
    except ValueError:
        raise StudyError(f"--invisible {invisible!r}: expected comma-separated PDG ids such as 52,1000022") from None
    if output is None:
        output = Path.cwd() / (lhe_file.name.split(".")[0] + ".parquet")
    with Progress(TextColumn("[bold]shower[/]"), BarColumn(), TextColumn("{task.completed} events"),
                  TimeElapsedColumn(), console=err) as progress:
        bar = progress.add_task("events", total=max_events or None)
        result = shower_lhe(lhe_file, output, preset=preset, seed=seed, invisible_pdgids=tuple(ids),
                            detector_params=detector_params, max_events=max_events or None,
                            on_batch=lambda k: progress.advance(bar, k))
    err.print(f"{result['events']} events, σ = {result['sigma_pb']:.4g} pb (LHE header) → {result['output']}",
              markup=False)
