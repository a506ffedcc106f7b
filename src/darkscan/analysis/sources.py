"""Any supported event file → an event table: the one entry point that picks the reader.

Formats are recognised by name (``.parquet`` event/feature tables, ``.lhe`` / ``.lhe.gz``,
``.hepmc`` / ``.hepmc3`` (+ ``.gz``), ``.root`` Delphes output); an unknown suffix is an
:class:`~darkscan.errors.InputFileError` listing what is accepted, and each reader checks the
content (an ``.lhe`` that is not LHE, a ``.root`` without a Delphes tree, an empty file all fail
with the file named).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from darkscan.errors import InputFileError

__all__ = ["FORMATS", "default_invisible_pdgids", "detect_format", "load_event_table"]

#: format → accepted file-name endings
FORMATS: dict[str, tuple[str, ...]] = {
    "parquet": (".parquet",),
    "lhe": (".lhe", ".lhe.gz", ".lhef", ".lhef.gz"),
    "hepmc": (".hepmc", ".hepmc.gz", ".hepmc3", ".hepmc3.gz"),
    "delphes": (".root",),
}


def default_invisible_pdgids() -> tuple[int, ...]:
    """Every BSM invisible PDG id declared in the process registry (DM 52, χ̃⁰₁, sneutrinos, …):
    the default for a lone generator-level file whose sample is unknown."""
    from darkscan.registry import PROCESSES

    return tuple(sorted({abs(i) for p in PROCESSES.values() for i in p.invisible_pdgids}))


def detect_format(path: str | os.PathLike[str]) -> str:
    """``parquet``, ``lhe``, ``hepmc`` or ``delphes``, from the file name."""
    name = Path(path).name.lower()
    if name.endswith((".hepmc2", ".hepmc2.gz")):
        raise InputFileError(f"{path}: HepMC2 files are not supported; convert to HepMC3 ASCII")
    for fmt, endings in FORMATS.items():
        if name.endswith(endings):
            return fmt
    accepted = ", ".join(e for endings in FORMATS.values() for e in endings)
    raise InputFileError(f"{path}: unknown file type (accepted endings: {accepted})")


def load_event_table(path: str | os.PathLike[str], *, invisible_pdgids: Iterable[int] = (),
                     sample: str | None = None) -> tuple[Any, Any]:
    """(event table, :class:`~darkscan.analysis.events.EventTableMetadata`) from any supported file."""
    fmt = detect_format(path)
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise InputFileError(f"{path}: empty file")
    if fmt == "parquet":
        from darkscan.analysis.events import read_event_table

        return read_event_table(path)
    if fmt == "lhe":
        from darkscan.analysis import lhe

        return lhe.event_table(path, invisible_pdgids=invisible_pdgids, sample=sample)
    if fmt == "hepmc":
        from darkscan.analysis import hepmc

        return hepmc.event_table(path, invisible_pdgids=invisible_pdgids, sample=sample)
    from darkscan.analysis import delphes

    return delphes.event_table(path, invisible_pdgids=invisible_pdgids, sample=sample)
