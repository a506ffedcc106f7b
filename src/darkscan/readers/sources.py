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
                     sample: str | None = None, cross_section_pb: float | None = None) -> tuple[Any, Any]:
    """(event table, :class:`~darkscan.readers.events.EventTableMetadata`) from any supported file.

    ``cross_section_pb`` replaces the file's own σ (needed for Delphes files made from LHE input,
    whose ``Event.CrossSection`` is 0).
    """
    import dataclasses

    events, metadata = _load(path, invisible_pdgids=invisible_pdgids, sample=sample, cross_section_pb=cross_section_pb)
    if cross_section_pb is not None:
        if not cross_section_pb > 0:
            raise InputFileError(f"{path}: cross section must be positive, got {cross_section_pb} pb")
        metadata = dataclasses.replace(metadata, cross_section_pb=float(cross_section_pb), cross_section_error_pb=0.0)
    return events, metadata


def _load(path: str | os.PathLike[str], *, invisible_pdgids: Iterable[int], sample: str | None,
          cross_section_pb: float | None) -> tuple[Any, Any]:
    fmt = detect_format(path)
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise InputFileError(f"{path}: empty file")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        from darkscan.readers.events import OBJECT_FIELDS, read_event_table, read_event_table_metadata

        read_event_table_metadata(path)  # names the file if it is not a darkscan table
        missing = [f for f in OBJECT_FIELDS if f not in pq.read_schema(path).names]
        if missing:
            raise InputFileError(f"{path}: not an event table (no {', '.join(missing)} columns); "
                                 "a feature table cannot be read as events")
        return read_event_table(path)
    if fmt == "lhe":
        from darkscan.readers import lhe

        return lhe.event_table(path, invisible_pdgids=invisible_pdgids, sample=sample)
    if fmt == "hepmc":
        from darkscan.readers import hepmc

        return hepmc.event_table(path, invisible_pdgids=invisible_pdgids, sample=sample)
    from darkscan.readers import delphes

    return delphes.event_table(path, invisible_pdgids=invisible_pdgids, sample=sample, cross_section_pb=cross_section_pb)


def __dir__() -> list[str]:
    return list(__all__)
