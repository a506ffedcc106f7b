"""Consoles shared by the CLI: data goes to stdout, diagnostics and progress to stderr."""

from __future__ import annotations

from rich.console import Console

__all__ = ["err", "out"]

out = Console(highlight=False, soft_wrap=True)
if not out.is_terminal:  # piped output: don't squeeze tables into 80 columns
    out.width = 200
err = Console(stderr=True, highlight=False, soft_wrap=True)
if not err.is_terminal:  # logs of batch jobs: keep the summary tables readable
    err.width = 160
