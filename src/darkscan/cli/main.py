"""Top-level ``darkscan`` app: composes the command groups and turns errors into one-line messages.

Only typer and rich are imported at start-up; each command imports the library it needs, so
``darkscan --help`` stays fast (no TensorFlow, uproot or pythia8mc at import).
"""

from __future__ import annotations

from typing import Any

import typer
import typer.core

from darkscan import __version__
from darkscan.cli import cards, gen, histos, histos_datasets, run, study
from darkscan.cli import submit
from darkscan.cli import train as train_cli
from darkscan.cli import evaluate as evaluate_cli
from darkscan.errors import DarkscanError

__all__ = ["app", "main"]


class _Group(typer.core.TyperGroup):
    """Reports :class:`DarkscanError` as plain lines on stderr with its exit code, no traceback."""

    def invoke(self, ctx: Any) -> Any:
        import warnings

        from darkscan.cli._console import err

        def one_line(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
            err.print("warning: " + " ".join(str(message).split()), markup=False, soft_wrap=True)

        try:
            with warnings.catch_warnings():
                warnings.showwarning = one_line  # a library warning is one line on stderr, like an error
                return super().invoke(ctx)
        except DarkscanError as exc:
            for problem in exc.problems:
                # one line per problem, even when a library's message spans several
                err.print("error: " + " ".join(problem.split()), markup=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted: finished pieces are kept; rerun the same command to resume", markup=False)
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_Group,
    name="darkscan",
    help="From a dark-matter model to a trained classifier. Every command takes a study file (YAML).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"darkscan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """From a dark-matter model to a trained classifier. Every command takes a study file (YAML)."""


app.add_typer(study.app, name="study")
app.add_typer(cards.app, name="cards")
app.add_typer(gen.app, name="gen")
histos_datasets.register(histos.app)
app.add_typer(histos.app, name="histos")
app.command("run")(run.run)
app.command("submit")(submit.submit)
app.command("jobs")(submit.jobs)
app.command("task", hidden=True)(submit.task)
app.command("status")(run.status)
app.command("train")(train_cli.train)
app.command("evaluate")(evaluate_cli.evaluate)


def main() -> None:
    app()
