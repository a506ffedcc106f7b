"""``darkscan study``: validate a study file and show what it will produce."""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["app"]

def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


app = typer.Typer(help="Validate study files and show their plan.", no_args_is_help=True)


@app.command("check")
def check(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON instead of a table."),
) -> None:
    """Validate STUDY_FILE and print the expanded plan: every sample × scan point and its output."""
    from darkscan.cli._console import err, out
    from darkscan.study import load_study

    study = load_study(study_file)
    plan = study.plan()
    if as_json:
        rows = [
            {
                "sample": p.sample, "process": p.process, "role": p.role, "point": p.point_id,
                "parameters": p.parameters, "generation_cuts": p.generation_cuts,
                "n_events": p.n_events, "seed": p.seed, "directory": str(p.directory),
            }
            for p in plan
        ]
        out.print_json(json.dumps(rows))
        return

    from rich.table import Table

    table = Table(title=f"study {study.name}: {len(plan)} sample points", title_justify="left")
    for column in ("sample", "process", "role", "point", "parameters", "events", "seed", "output"):
        table.add_column(column, overflow="fold")
    for p in plan:
        shown = {**study.sample(p.sample).parameters, **p.scanned}
        values = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items())
        table.add_row(p.sample, p.process, p.role, p.point_id, values or "defaults", str(p.n_events), str(p.seed),
                      _relative(p.directory))
    out.print(table)
    err.print(
        f"{study_file}: valid; backend {study.generator.backend}, {len(plan)} points, "
        f"{sum(p.n_events for p in plan):,} events, {len(study.histograms)} histogram definitions, "
        f"{len(study.training)} training tasks",
        markup=False,
    )
