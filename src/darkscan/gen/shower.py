"""Shower external Les Houches events (MadGraph output) with Pythia 8 and the fast detector.

Pythia reads the file itself (``Beams:frameType = 4``); pythia8mc is built with gzip support, so
``.lhe.gz`` is read directly, and when a build without it refuses the file, a decompressed
temporary copy is used instead. The cross section is the LHE sample's (the σ its events carry:
:meth:`darkscan.readers.lhe.LHEFile.sample_cross_section`), not Pythia's running estimate.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from darkscan.errors import ExternalProgramError, InputFileError

__all__ = ["lhe_cross_section", "shower_lhe"]


def lhe_cross_section(path: str | Path) -> tuple[float, float]:
    """σ and its error (pb) of an LHE sample (:meth:`darkscan.readers.lhe.LHEFile.sample_cross_section`).

    Opening the file also validates its ``<init>`` block before Pythia sees it.
    """
    from darkscan.readers.lhe import LHEFile

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such LHE file")
    with LHEFile(path) as lhe:
        return lhe.sample_cross_section()


def _cross_section_source(path: Path) -> str:
    from darkscan.readers.lhe import LHEFile

    with LHEFile(path) as lhe:
        return lhe.cross_section_source


def _pythia_for(path: Path, settings: tuple[str, ...]) -> Any:
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in (*settings, "Beams:frameType = 4", f"Beams:LHEF = {path}"):
        if not pythia.readString(line):
            raise ExternalProgramError(f"Pythia rejected the setting {line!r}")
    return pythia if pythia.init() else None


def shower_lhe(lhe: str | Path, output: str | Path, *, preset: str = "fast", seed: int = 1,
               invisible_pdgids: tuple[int, ...] = (), detector_params: str | Path | None = None,
               sample: str | None = None, max_events: int | None = None,
               on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Shower ``lhe`` through Pythia 8 and the fast detector into the event table ``output``."""
    import awkward as ak

    from darkscan.readers.events import EventTableMetadata, write_event_table
    from darkscan.gen.detector import FastDetector, load_detector_params
    from darkscan.gen.embedded import BATCH_EVENTS, build_event_table
    from darkscan.gen.pythia import _QUIET, base_settings, weights_of
    from darkscan.io import sha256_file

    lhe = Path(lhe)
    sigma, sigma_error = lhe_cross_section(lhe)  # also validates the file before Pythia sees it
    # Beams:eCM is taken from the LHE file; the base settings only add the preset and the seed
    settings = tuple(s for s in base_settings(13000.0, preset, seed) if not s.startswith("Beams:eCM"))
    pythia = _pythia_for(lhe, (*_QUIET, *settings))
    tmpdir = None
    if pythia is None and lhe.suffix == ".gz":
        tmpdir = tempfile.TemporaryDirectory(prefix="darkscan-lhe-")
        plain = Path(tmpdir.name) / lhe.stem
        with gzip.open(lhe, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
        pythia = _pythia_for(plain, (*_QUIET, *settings))
    if pythia is None:
        raise ExternalProgramError(f"{lhe}: Pythia could not initialise from this LHE file")
    try:
        params = load_detector_params(detector_params)
        detector = FastDetector(params, invisible_pdgids)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, 1)))
        parts = []
        done = 0
        while max_events is None or done < max_events:
            want = BATCH_EVENTS if max_events is None else min(BATCH_EVENTS, max_events - done)
            events = pythia.nextBatch(want, "skip")
            if len(events):
                parts.append(build_event_table(detector, _particles(events), weights_of(events), done, rng))
                done += len(events)
                if on_batch is not None:
                    on_batch(len(events))
            if len(events) < want or pythia.infoPython().atEndOfFile():
                break
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    if not parts:
        raise InputFileError(f"{lhe}: no events could be showered")
    table = ak.concatenate(parts) if len(parts) > 1 else parts[0]
    metadata = EventTableMetadata(
        sample=sample or lhe.name.split(".")[0], source="embedded", level="detector",
        cross_section_pb=sigma, cross_section_error_pb=sigma_error,
        sum_weights=float(ak.sum(table["weight"])), n_trials=done, n_accepted=len(table), seed=seed,
        generator_settings=[*settings, "Beams:frameType = 4", f"Beams:LHEF = {lhe}"],
        extra={"lhe_file": str(lhe.resolve()), "lhe_sha256": sha256_file(lhe), "preset": preset,
               "cross_section_from": f"LHE: {_cross_section_source(lhe)}", "detector_params": str(params.path),
               "detector_params_sha256": sha256_file(params.path),
               "invisible_pdgids": [int(i) for i in detector.invisible]},
    )
    write_event_table(output, table, metadata)
    return {"events": len(table), "sigma_pb": sigma, "output": str(output)}


def _particles(events: Any) -> Any:
    from darkscan.gen.detector import ParticleArrays

    return ParticleArrays.from_pythia_batch(events)
