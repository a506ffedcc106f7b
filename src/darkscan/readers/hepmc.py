"""HepMC3 ASCII files (plain or gzipped) → awkward arrays and particle-level event tables.

Events are parsed by pyhepmc (the HepMC3 library); each event's particles come out as numpy
columns (``GenEvent.numpy``), so no Python object is made per particle. The arrays have::

    event_number, weights: {<name>: float64, ...}, cross_section_pb, cross_section_error_pb,
    particles: var * {vector: Momentum4D{px, py, pz, e}, pid, status, m}

HepMC3's reader prints an error and hands back an *empty* event when a file is cut short; this
module checks every event against its ``E`` line (particle count) and the end-of-listing marker,
and raises :class:`~darkscan.errors.InputFileError` naming the file and event instead.

Sibling readers with the same verbs (``open``, ``iterate``, ``read``, ``event_table``) and keywords
(``step_size``, ``filter_name``): :mod:`darkscan.readers.lhe` (Les Houches events) and
:mod:`darkscan.readers.delphes` (Delphes ROOT).
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from darkscan.errors import InputFileError
from darkscan.readers._stream import ByteSource

__all__ = ["HepMCFile", "event_table", "iterate", "open", "read", "table_from_arrays"]

NEUTRINOS = (12, 14, 16)
_E_LINE = re.compile(rb"^E (\d+) (\d+) (\d+)", re.M)
_FIELDS = ("event_number", "weights", "cross_section_pb", "cross_section_error_pb", "particles")

#: particle-level object definitions used by :func:`event_table` (GeV)
JET_R = 0.4
JET_PT_MIN = 20.0
JET_ABS_ETA_MAX = 4.9
LEPTON_PT_MIN = 7.0
PHOTON_PT_MIN = 10.0
B_HADRON_PT_MIN = 5.0


class _IndexingStream(io.RawIOBase):
    """The file's bytes for pyhepmc, noting every ``E`` line (event number, particle count) on the way.

    pyhepmc pulls 4 kB at a time; this serves them from chunks decompressed ahead by
    :class:`~darkscan.readers._stream.ByteSource`, and scans each chunk for ``E`` lines once, so the file
    is decompressed and read only once. pyhepmc reads ahead of the event it returns, so the ``E`` line of
    every returned event has been seen. A stream error is kept and raised by the reader after pyhepmc
    stops (an exception cannot cross HepMC3's C++ stream).
    """

    def __init__(self, source: ByteSource) -> None:
        super().__init__()
        self._source = source
        self._chunk = memoryview(b"")
        self._offset = 0
        self._line_rest = b"\n"  # from the last newline of what was scanned (the file starts a line)
        self.expected: list[tuple[int, int]] = []
        self.tail = b""  # the last bytes of the file, for the end-of-listing marker
        self.error: BaseException | None = None
        self.at_end = False

    def readable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # pyhepmc insists on a file with read and write
        raise io.UnsupportedOperation("read-only")

    def readinto(self, buffer: Any) -> int:
        while self._offset >= len(self._chunk):
            if self.at_end:
                return 0
            try:
                chunk = self._source.read()
            except BaseException as exc:  # noqa: BLE001 - re-raised by HepMCFile.iterate
                self.error, self.at_end = exc, True
                return 0
            self._index(chunk)
            self._chunk, self._offset = memoryview(chunk), 0
        n = min(len(buffer), len(self._chunk) - self._offset)
        buffer[:n] = self._chunk[self._offset:self._offset + n]
        self._offset += n
        return n

    def _index(self, chunk: bytes) -> None:
        # bytes.find runs at memory speed; a multiline regex would try every line start
        text = self._line_rest + chunk + (b"" if chunk else b"\n")
        position = 0  # text[position] is a newline: the carried part starts with one
        while True:
            start = text.find(b"\nE ", position)
            if start < 0:
                carry_from = text.rfind(b"\n", position)
                break
            stop = text.find(b"\n", start + 1)
            if stop < 0:  # the E line goes on in the next chunk
                carry_from = start
                break
            match = _E_LINE.match(text, start + 1, stop)
            if match is not None:
                self.expected.append((int(match.group(1)), int(match.group(3))))
            position = stop
        self._line_rest = text[carry_from:]
        self.at_end = not chunk
        self.tail = (self.tail + chunk)[-400:] if len(chunk) < 400 else chunk[-400:]


class HepMCFile:
    """An open HepMC3 ASCII file. Use :func:`open`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputFileError(f"{self.path}: no such file")
        if self.path.is_dir() or self.path.stat().st_size == 0:
            raise InputFileError(f"{self.path}: {'is a directory' if self.path.is_dir() else 'empty file'}, not HepMC3")
        with ByteSource(self.path, what="a HepMC3 file") as source:
            head = source.read()[:1 << 16]
        if not head.lstrip().startswith(b"HepMC::Version") and b"HepMC::Asciiv3-START_EVENT_LISTING" not in head[:400]:
            raise InputFileError(f"{self.path}: no 'HepMC::Asciiv3-START_EVENT_LISTING' header; "
                                 "not a HepMC3 ASCII file")

    def __enter__(self) -> HepMCFile:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def iterate(self, *, step_size: int = 10_000, filter_name: str | Sequence[str] | None = None) -> Iterator[Any]:
        """awkward arrays of up to ``step_size`` events."""
        import numpy as np
        import pyhepmc
        import vector

        vector.register_awkward()
        fields = _selected(filter_name)
        columns: dict[str, list[Any]] = {name: [] for name in ("pid", "status", "px", "py", "pz", "e", "m")}
        counts: list[int] = []
        numbers: list[int] = []
        xsec: list[float] = []
        xsec_err: list[float] = []
        weights: list[list[float]] = []
        weight_names: list[str] | None = None
        index = 0
        with ByteSource(self.path, what="a HepMC3 file") as source:
            stream = _IndexingStream(source)
            # HepMC3 pulls 4 kB at a time: a C-level buffer in between calls the Python stream per MB
            reader = pyhepmc.io.ReaderAscii(pyhepmc.io.pyiostream(io.BufferedReader(stream, buffer_size=1 << 20)))
            while not reader.failed():  # failed: the previous read reached the end of the stream
                event = pyhepmc.GenEvent()
                parsed = reader.read_event(event)
                particles = event.numpy.particles
                pid = np.asarray(particles.pid)
                if not parsed or len(pid) == 0:  # HepMC3 "reads" an empty event after the last one
                    break
                if index >= len(stream.expected):
                    raise InputFileError(f"{self.path}: event {index + 1}: more events than E lines; malformed file")
                number, n_particles = stream.expected[index]
                if event.momentum_unit != pyhepmc.Units.GEV:
                    event.set_units(pyhepmc.Units.GEV, event.length_unit)
                    particles = event.numpy.particles
                    pid = np.asarray(particles.pid)
                if len(pid) != n_particles:
                    raise InputFileError(f"{self.path}: event {index + 1} (number {number}): {len(pid)} "
                                         f"of {n_particles} particles parsed; the event is malformed or cut short")
                for name, values in (("pid", pid), ("status", particles.status), ("px", particles.px),
                                     ("py", particles.py), ("pz", particles.pz), ("e", particles.e),
                                     ("m", particles.generated_mass)):
                    columns[name].append(np.asarray(values))
                counts.append(n_particles)
                numbers.append(event.event_number)
                cross = event.cross_section
                xsec.append(float(cross.xsec()) if cross else np.nan)
                xsec_err.append(float(cross.xsec_err()) if cross else np.nan)
                weights.append(list(event.weights))
                if weight_names is None:
                    try:
                        weight_names = list(event.weight_names)
                    except (RuntimeError, AttributeError):  # no run info: weights are unnamed
                        weight_names = [f"w{i}" for i in range(len(event.weights))]
                index += 1
                if len(counts) == step_size:
                    yield _assemble(columns, counts, numbers, xsec, xsec_err, weights, weight_names, fields)
                    for values in columns.values():
                        values.clear()
                    for values in (counts, numbers, xsec, xsec_err, weights):
                        values.clear()
            while not stream.at_end:  # HepMC3 may stop before the last bytes (the end marker)
                stream.readinto(bytearray(1 << 16))
        if isinstance(stream.error, InputFileError) or (stream.error is not None
                                                        and not isinstance(stream.error, Exception)):
            raise stream.error  # a Ctrl-C while HepMC3 was reading is an interruption, not a corrupt file
        if stream.error is not None:
            raise InputFileError(f"{self.path}: corrupt or truncated file ({stream.error})") from None
        if index != len(stream.expected):
            raise InputFileError(f"{self.path}: event {index + 1}: could not be parsed (read {index} of "
                                 f"{len(stream.expected)} events); malformed or truncated file")
        if b"HepMC::Asciiv3-END_EVENT_LISTING" not in stream.tail:
            raise InputFileError(f"{self.path}: no HepMC::Asciiv3-END_EVENT_LISTING after event {index}; file is truncated")
        if counts:
            yield _assemble(columns, counts, numbers, xsec, xsec_err, weights, weight_names, fields)

    def read(self, *, filter_name: str | Sequence[str] | None = None) -> Any:
        import awkward as ak

        chunks = list(self.iterate(step_size=1 << 62, filter_name=filter_name))
        if not chunks:
            raise InputFileError(f"{self.path}: the file has no events")
        return chunks[0] if len(chunks) == 1 else ak.concatenate(chunks)


def _selected(filter_name: str | Sequence[str] | None) -> set[str] | None:
    if filter_name is None:
        return None
    patterns = [filter_name] if isinstance(filter_name, str) else list(filter_name)
    chosen = {f for f in _FIELDS if any(fnmatch.fnmatchcase(f, p) for p in patterns)}
    if not chosen:
        raise InputFileError(f"filter_name {patterns} matches none of the HepMC fields {', '.join(_FIELDS)}")
    return chosen


def _assemble(columns: dict[str, list[Any]], counts: list[int], numbers: list[int], xsec: list[float],
              xsec_err: list[float], weights: list[list[float]], weight_names: list[str] | None,
              fields: set[str] | None) -> Any:
    import awkward as ak
    import numpy as np

    flat = {name: np.concatenate(values) if values else np.zeros(0) for name, values in columns.items()}
    contents: dict[str, Any] = {}
    if fields is None or "event_number" in fields:
        contents["event_number"] = np.asarray(numbers, dtype=np.int64)
    if (fields is None or "weights" in fields) and weight_names:
        matrix = np.asarray(weights, dtype=np.float64).reshape(len(counts), -1)
        contents["weights"] = ak.zip({name: matrix[:, i] for i, name in enumerate(weight_names)})
    if fields is None or "cross_section_pb" in fields:
        contents["cross_section_pb"] = np.asarray(xsec, dtype=np.float64)
    if fields is None or "cross_section_error_pb" in fields:
        contents["cross_section_error_pb"] = np.asarray(xsec_err, dtype=np.float64)
    if fields is None or "particles" in fields:
        momentum = ak.zip({k: flat[k].astype(np.float64) for k in ("px", "py", "pz", "e")}, with_name="Momentum4D")
        particle = ak.zip({"vector": momentum, "pid": flat["pid"].astype(np.int64),
                           "status": flat["status"].astype(np.int64), "m": flat["m"].astype(np.float64)},
                          depth_limit=1)
        contents["particles"] = ak.unflatten(particle, np.asarray(counts, dtype=np.int64))
    return ak.zip(contents, depth_limit=1)


def open(path: str | os.PathLike[str]) -> HepMCFile:  # noqa: A001 (uproot-style verb)
    """Open a HepMC3 ASCII file (plain or gzip) and check its header (events are indexed while read).

    See also :func:`darkscan.readers.lhe.open`, :func:`darkscan.readers.delphes.open`.
    """
    return HepMCFile(path)


def iterate(path: str | os.PathLike[str], *, step_size: int = 10_000,
            filter_name: str | Sequence[str] | None = None) -> Iterator[Any]:
    """Events of a HepMC3 file in chunks of ``step_size``; ``filter_name``: glob(s) over
    ``event_number``, ``weights``, ``cross_section_pb``, ``cross_section_error_pb``, ``particles``.

    See also :func:`darkscan.readers.lhe.iterate`, :func:`darkscan.readers.delphes.iterate`.
    """
    yield from HepMCFile(path).iterate(step_size=step_size, filter_name=filter_name)


def read(path: str | os.PathLike[str], *, filter_name: str | Sequence[str] | None = None) -> Any:
    """All events of a HepMC3 file as one awkward array.

    See also :func:`darkscan.readers.lhe.read`, :func:`darkscan.readers.delphes.read`.
    """
    return HepMCFile(path).read(filter_name=filter_name)


def _is_b_hadron(abs_pid: Any) -> Any:
    """PDG numbering: b mesons 5xx, b baryons 5xxx."""
    return ((abs_pid // 100) % 10 == 5) | ((abs_pid // 1000) % 10 == 5)


def particle_table(particles: Any, weight: Any, *, invisible_pdgids: Iterable[int] = ()) -> Any:
    """Particle-level event table (no ``event`` field) from HepMC particles.

    Objects (documented choices, close to the ATLAS truth definitions):
    e/μ: status-1, pT > 7 GeV; γ: status-1, pT > 10 GeV; jets: anti-kT R = 0.4 (fastjet) of all
    other visible status-1 particles, pT > 20 GeV, |η| < 4.9; ``btag`` = a b hadron with
    pT > 5 GeV within ΔR < 0.4 of the jet (truth label); MET = |Σ pT| of status-1 ν and
    ``invisible_pdgids`` (= ``invisible_pt``).
    """
    import awkward as ak
    import fastjet
    import numpy as np
    import vector

    vector.register_awkward()
    wanted = sorted({*NEUTRINOS, *(abs(int(i)) for i in invisible_pdgids)})
    final = particles[particles.status == 1]
    abs_pid = abs(final.pid)
    p4 = final.vector
    invisible = ak.unflatten(np.isin(ak.to_numpy(ak.flatten(abs_pid)), wanted), ak.num(abs_pid))
    is_electron = (abs_pid == 11) & (p4.pt > LEPTON_PT_MIN)
    is_muon = (abs_pid == 13) & (p4.pt > LEPTON_PT_MIN)
    is_photon = (abs_pid == 22) & (p4.pt > PHOTON_PT_MIN)
    for_jets = ~invisible & ~is_electron & ~is_muon & ~is_photon
    constituents = p4[for_jets]
    inputs = ak.zip({"px": constituents.px, "py": constituents.py, "pz": constituents.pz, "E": constituents.e})
    from darkscan.gen.detector import _silence_fastjet_banner

    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, JET_R)
    _silence_fastjet_banner(definition)  # stdout carries data (e.g. `histos inspect`), not FastJet's banner
    sequence = fastjet.ClusterSequence(inputs, definition)
    raw = sequence.inclusive_jets(JET_PT_MIN)
    jets = ak.zip({"px": raw.px, "py": raw.py, "pz": raw.pz, "e": raw.E}, with_name="Momentum4D")
    jets = jets[abs(jets.eta) < JET_ABS_ETA_MAX]
    jets = jets[ak.argsort(jets.pt, ascending=False)]
    all_abs = abs(particles.pid)
    b_hadrons = particles.vector[_is_b_hadron(all_abs) & (particles.vector.pt > B_HADRON_PT_MIN)]
    pairs = ak.cartesian([jets, b_hadrons], nested=True)
    left, right = ak.unzip(pairs)
    btag = ak.values_astype(ak.any(left.deltaR(right) < JET_R, axis=2), np.int8)

    def leptons(mask: Any) -> Any:
        chosen = p4[mask]
        record = ak.zip({"pt": chosen.pt, "eta": chosen.eta, "phi": chosen.phi,
                         "charge": ak.values_astype(-np.sign(final.pid[mask]), np.int8)})
        return record[ak.argsort(record.pt, ascending=False)]

    photons = p4[is_photon]
    photons = ak.zip({"pt": photons.pt, "eta": photons.eta, "phi": photons.phi})
    inv = p4[invisible]
    px = ak.to_numpy(ak.sum(inv.px, axis=1))
    py = ak.to_numpy(ak.sum(inv.py, axis=1))
    met = np.hypot(px, py)
    return ak.zip(
        {
            "jets": ak.zip({"pt": jets.pt, "eta": jets.eta, "phi": jets.phi, "mass": jets.mass, "btag": btag}),
            "electrons": leptons(is_electron),
            "muons": leptons(is_muon),
            "photons": photons[ak.argsort(photons.pt, ascending=False)],
            "met": met,
            "met_phi": np.where(met > 0, np.arctan2(py, px), 0.0),
            "weight": np.asarray(weight, dtype=np.float64),
            "invisible_pt": met,
        },
        depth_limit=1,
    )


def table_from_arrays(arrays: Any, *, invisible_pdgids: Iterable[int] = ()) -> Any:
    """Particle-level event table of arrays that :func:`read` or :func:`iterate` gave (weight: the
    first, nominal event weight)."""
    import awkward as ak
    import numpy as np

    nominal = (ak.to_numpy(arrays.weights[ak.fields(arrays.weights)[0]]) if "weights" in ak.fields(arrays)
               else np.ones(len(arrays)))
    return particle_table(arrays.particles, nominal, invisible_pdgids=invisible_pdgids)


def event_table(path: str | os.PathLike[str], *, invisible_pdgids: Iterable[int] = (), sample: str | None = None,
                step_size: int = 10_000) -> tuple[Any, Any]:
    """Particle-level event table (schema of :mod:`darkscan.readers.events`) and its metadata.

    ``weight`` is the first (nominal) event weight; σ is the last event's ``GenCrossSection``
    (Pythia's running estimate, final after the last event).

    See also :func:`darkscan.readers.lhe.event_table`, :func:`darkscan.readers.delphes.event_table`.
    """
    import awkward as ak
    import numpy as np

    from darkscan.readers.events import EventTableMetadata, concatenate_event_chunks

    hepmc = HepMCFile(path)
    chunks, sigma, sigma_err = [], np.nan, 0.0
    for chunk in hepmc.iterate(step_size=step_size):
        chunks.append(table_from_arrays(chunk, invisible_pdgids=invisible_pdgids))
        sigma, sigma_err = float(chunk.cross_section_pb[-1]), float(chunk.cross_section_error_pb[-1])
    table = concatenate_event_chunks(chunks, path=path)
    metadata = EventTableMetadata(
        sample=sample or Path(path).name.split(".")[0],
        source="hepmc",
        level="particle",
        cross_section_pb=sigma if np.isfinite(sigma) else 0.0,
        cross_section_error_pb=sigma_err if np.isfinite(sigma_err) else 0.0,
        sum_weights=float(np.sum(ak.to_numpy(table.weight))),
        n_accepted=len(table),
        extra={"input": str(path), "invisible_pdgids": sorted({*NEUTRINOS, *invisible_pdgids})},
    )
    return table, metadata


def __dir__() -> list[str]:
    return list(__all__)
