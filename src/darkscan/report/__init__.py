"""The study report: one self-contained HTML page and its Markdown twin, and the interpretation.

- :mod:`darkscan.report.build`           collects what the stages wrote and renders the page
- :mod:`darkscan.report.interpretation`  AUC ↔ S/√B ↔ luminosity ↔ significance
"""

from __future__ import annotations

from typing import Any

__all__ = ["write_report"]


def __dir__() -> list[str]:
    return list(__all__)


def write_report(study: Any, *, progress: Any = None) -> list[Any]:
    """Write ``report/index.html`` and ``report/report.md`` of ``study``; return their paths."""
    from darkscan.report.build import write_report as _write

    return _write(study, progress=progress)
