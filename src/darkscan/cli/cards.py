"""``darkscan cards``: render the generator and detector cards of a study."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

__all__ = ["app"]

app = typer.Typer(help="Render MadGraph5, SLHA, Pythia 8 and Delphes cards.", no_args_is_help=True)


@app.command("render")
def render(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    output: Optional[Path] = typer.Option(  # noqa: UP007 - typer needs Optional on 3.9-style hints
        None, "-o", "--output",
        help="Folder for <sample>/<point>/ card folders (default: each point's <output>/samples/<sample>/<point>/cards).",
    ),
    mg5_scan: bool = typer.Option(False, "--mg5-scan",
                                  help="One MG5 script per sample using MG5's scan:[…] syntax instead of one per point."),
    use_syst: bool = typer.Option(False, "--systematics/--no-systematics",
                                  help="MG5 scale/PDF reweighting (run_card use_syst)."),
) -> None:
    """Render the cards of every sample point of STUDY_FILE, with a sample.json manifest per folder."""
    from rich.progress import Progress

    from darkscan.cards.render import render_study_cards
    from darkscan.cli._console import err, out
    from darkscan.study import load_study

    study = load_study(study_file)
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("rendering cards", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        rendered = render_study_cards(study, output=output, mg5_scan=mg5_scan, use_syst=use_syst, progress=progress)
    for folder in rendered:
        out.print(str(folder.directory), markup=False, highlight=False, soft_wrap=True)
    err.print(f"{study_file}: {len(rendered)} card folders written", markup=False)
