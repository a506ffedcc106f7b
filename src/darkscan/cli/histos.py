"""``darkscan histos``: look into event files and turn event tables into feature tables.

``inspect FILE`` says what is in a file; ``features STUDY|FILE`` writes feature tables
(``features.parquet`` per sample point, or one next to a single file). The dataset commands
(``build``, ``lumi``) live in :mod:`darkscan.cli.histos_datasets` and join this group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

__all__ = ["app"]

app = typer.Typer(help="Inspect event files; event tables → feature tables → histogram datasets.",
                  no_args_is_help=True)

_STUDY_SUFFIXES = (".yaml", ".yml")


@app.command("features")
def features(
    target: Path = typer.Argument(..., help="Study file (YAML), or one event file: event table (.parquet), "
                                            ".lhe[.gz], .hepmc[.gz], Delphes .root."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output file (single-file mode only)."),
    preset: str = typer.Option("none", "--selection", help="Selection preset (single-file mode): none, "
                                                          "atlas_monojet, atlas_monoz."),
    luminosity_fb: float = typer.Option(139.0, "--lumi", help="Luminosity for the cut flow, fb⁻¹ (single-file mode)."),
    invisible: list[int] = typer.Option([], "--invisible", help="BSM invisible PDG id for generator-level truth "
                                                               "(repeatable; neutrinos always; default: every "
                                                               "invisible of the process registry)."),
    cross_section_pb: Optional[float] = typer.Option(None, "--cross-section", help="σ in pb replacing the file's "
                                                                                 "own (single-file mode)."),
    force: bool = typer.Option(False, "--force", help="Rebuild feature tables that are up to date."),
) -> None:
    """Compute features (+ the selection's `passed`) for every sample point of a study, or for one file."""
    from darkscan.cli._console import err, out
    from darkscan.errors import InputFileError

    if target.name.lower().endswith(_STUDY_SUFFIXES):
        from darkscan.cli.run import run_one_stage

        if output is not None:
            raise InputFileError(f"{target}: -o/--output applies to a single event file, not a study")
        study, _ = run_one_stage(target, "features", force=force)
        for point in study.plan():
            out.print(str(point.directory / "features.parquet"), markup=False)
        return

    from darkscan.analysis.features import build_file_features
    from darkscan.analysis.selection import format_cutflow, study_cuts

    from darkscan.readers.sources import default_invisible_pdgids

    cuts = study_cuts(preset)
    if not invisible:
        invisible = list(default_invisible_pdgids())
    path, metadata = build_file_features(target, output, cuts=cuts, luminosity_fb=luminosity_fb,
                                         invisible_pdgids=invisible, cross_section_pb=cross_section_pb)
    from darkscan.analysis.selection import CutflowRow

    rows = [CutflowRow(**row) for row in metadata.extra["cutflow"]]
    err.print(format_cutflow(rows, title=f"{target}: σ = {metadata.cross_section_pb:.5g} pb", luminosity_fb=luminosity_fb),
              markup=False)
    out.print(str(path), markup=False)


@app.command("inspect")
def inspect(
    file: Path = typer.Argument(..., help="Event table / feature table (.parquet), .lhe[.gz], .hepmc[.gz], Delphes .root."),
) -> None:
    """What is in FILE: format, events, cross section, fields/branches, summaries of a few distributions."""
    from darkscan.readers.inspect import describe
    from darkscan.cli._console import out

    out.print(describe(file), markup=False)

