"""Les Houches event files (LHEF 1–3, ``.lhe`` or gzipped) → awkward arrays, columnar.

The reader never builds a Python object per particle: it cuts the file into blocks of whole events,
finds the text part of every ``<event>`` (the lines before the first sub-element), blanks ``#``
comment lines, tokenises all numbers of a block at once with numpy and converts them with one
Arrow string → float64 cast (correctly rounded, so every value equals Python's ``float``, hence
pylhe's). Named weights (LHEF 3 ``<rwgt><wgt id=…>`` and ``<weights>`` with the header's
``<initrwgt>``) and the ``<init>`` block are read as well.

The array of events has the layout of ``pylhe.to_awkward`` (pylhe 2.x)::

    eventinfo: {nparticles, pid, weight, scale, aqed, aqcd}
    weights:   {<weight id>: float64, ...}          (only when the file has named weights)
    particles: var * {vector: Momentum4D{px, py, pz, e}, id, status, mother1, mother2,
                      color1, color2, m, lifetime, spin}

A truncated or malformed file raises :class:`~darkscan.errors.InputFileError` naming the file and
the (1-based) event number; a short read is never silent.

Sibling readers with the same verbs (``open``, ``iterate``, ``read``, ``event_table``) and keywords
(``step_size``, ``filter_name``): :mod:`darkscan.readers.hepmc` (HepMC3 ASCII) and
:mod:`darkscan.readers.delphes` (Delphes ROOT).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from darkscan.errors import InputFileError, InputFileWarning
from darkscan.readers._stream import ByteSource

__all__ = [
    "LHEFile",
    "LHEInit",
    "LHEProcess",
    "event_table",
    "iterate",
    "open",
    "read",
]

_builtin_open = open

try:  # the compiled one-pass parser (setup.py builds it when a C compiler is there)
    from darkscan.readers import _lhe_parse as _compiled
except ImportError:  # pragma: no cover - a build without a compiler
    _compiled = None

#: ν_e, ν_μ, ν_τ: invisible in every sample; a sample adds its BSM invisibles.
NEUTRINOS = (12, 14, 16)

_BLOCK_BYTES = 32 << 20  # text parsed per numpy pass (bounded memory for any file size)

_EVENT_TEXT = re.compile(rb"<event(?:\s[^>]*)?>([^<]*)")
_EVENT_OPEN = re.compile(rb"<event[\s>]")
_MG5_INTEGRATED_WEIGHT = re.compile(r"<MGGenerationInfo>.*?Integrated weight \(pb\)\s*:\s*([-+.\deE]+)", re.S)
#: MadSpin writes its card into the header of the file it decayed (never into the undecayed one)
_MADSPIN_CARD = re.compile(r"<madspin>(.*?)</madspin>", re.S | re.I)
_WGT = re.compile(rb"<wgt\s+id\s*=\s*(?:'([^']*)'|\"([^\"]*)\")[^>]*>([^<]*)</wgt>")
_WHITESPACE = bytes(range(33))  # what the tokeniser treats as whitespace: every byte ≤ 0x20
_ANY_WEIGHT = re.compile(rb"<w(?:gt|eights)[\s>]")
_WEIGHTS_BLOCK = re.compile(rb"<weights(?:\s[^>]*)?>([^<]*)</weights>")
_ROOT = re.compile(rb"<LesHouchesEvents(?:\s[^>]*)?>")
_VERSION = re.compile(rb"version\s*=\s*['\"]([^'\"]*)['\"]")

PARTICLE_FIELDS = ("id", "status", "mother1", "mother2", "color1", "color2",
                   "px", "py", "pz", "e", "m", "lifetime", "spin")
EVENTINFO_FIELDS = ("nparticles", "pid", "weight", "scale", "aqed", "aqcd")
_INT_PARTICLE = ("id", "status", "mother1", "mother2", "color1", "color2")


@dataclasses.dataclass(frozen=True)
class LHEProcess:
    """One line of the ``<init>`` block after the beam line (one subprocess)."""

    xsec_pb: float  #: XSECUP, pb
    error_pb: float  #: XERRUP, pb
    xmax: float  #: XMAXUP, the maximum event weight
    lprup: int  #: LPRUP, the process id used in the events' ``pid``


@dataclasses.dataclass(frozen=True)
class LHEInit:
    """The ``<init>`` block: beams, PDFs, weighting strategy, processes; plus header weight names."""

    beams: tuple[int, int]  #: IDBMUP, PDG ids
    energies_gev: tuple[float, float]  #: EBMUP
    pdf_groups: tuple[int, int]  #: PDFGUP
    pdf_sets: tuple[int, int]  #: PDFSUP (LHAPDF ids)
    weighting_strategy: int  #: IDWTUP (±1…±4)
    processes: tuple[LHEProcess, ...]
    generators: tuple[tuple[str, str], ...] = ()  #: (name, version) of ``<generator>`` tags
    weight_ids: tuple[str, ...] = ()  #: ``<initrwgt>`` weight ids, in order
    version: str = ""  #: the ``version`` attribute of ``<LesHouchesEvents>``

    @property
    def cross_section_pb(self) -> float:
        """Σ XSECUP over the processes, pb."""
        return float(sum(p.xsec_pb for p in self.processes))

    @property
    def cross_section_error_pb(self) -> float:
        """Errors of the processes added in quadrature, pb."""
        return float(sum(p.error_pb**2 for p in self.processes) ** 0.5)


def _error(path: Path, event: int, what: str) -> InputFileError:
    return InputFileError(f"{path}: event {event}: {what}")


def _parse_init(path: Path, head: bytes) -> LHEInit:
    """Parse the header part (everything before the first ``<event``)."""
    text = head.decode("utf-8", errors="replace")
    root = _ROOT.search(head)
    if root is None:
        what = "empty file" if not head.strip() else "no <LesHouchesEvents> tag; not an LHE file"
        raise InputFileError(f"{path}: {what}")
    version_match = _VERSION.search(root.group(0))
    version = version_match.group(1).decode() if version_match else ""
    match = re.search(r"<init(?:\s[^>]*)?>([^<]*)", text)
    if match is None:
        raise InputFileError(f"{path}: no <init> block before the first event")
    lines = [line for line in match.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]
    if not lines:
        raise InputFileError(f"{path}: <init> block is empty")
    try:
        beam = lines[0].split()
        if len(beam) < 10:
            raise ValueError(f"beam line has {len(beam)} numbers, needs 10")
        n_proc = int(float(beam[9]))
        processes = []
        for line in lines[1:]:
            values = line.split()
            if len(values) < 4:
                raise ValueError(f"process line {line.strip()!r} has {len(values)} numbers, needs 4")
            processes.append(LHEProcess(float(values[0]), float(values[1]), float(values[2]), int(float(values[3]))))
    except ValueError as exc:
        raise InputFileError(f"{path}: malformed <init> block ({exc})") from None
    if len(processes) != n_proc:
        # the events are intact; only σ from <init> is in doubt (sample_cross_section says which one it uses)
        warnings.warn(InputFileWarning(f"{path}: <init> declares {n_proc} processes (NPRUP) but lists "
                                       f"{len(processes)}; reading the events anyway"), stacklevel=2)
    generators = tuple(
        (m.group(2) or m.group(3) or "", m.group(5) or m.group(6) or "")
        for m in re.finditer(
            r"<generator(?=[^>]*?name\s*=\s*('([^']*)'|\"([^\"]*)\")|)(?=[^>]*?version\s*=\s*('([^']*)'|\"([^\"]*)\")|)[^>]*>",
            text[match.start():],
        )
    )
    return LHEInit(
        beams=(int(float(beam[0])), int(float(beam[1]))),
        energies_gev=(float(beam[2]), float(beam[3])),
        pdf_groups=(int(float(beam[4])), int(float(beam[5]))),
        pdf_sets=(int(float(beam[6])), int(float(beam[7]))),
        weighting_strategy=int(float(beam[8])),
        processes=tuple(processes),
        generators=generators,
        weight_ids=_initrwgt_ids(path, text),
        version=version,
    )


def _initrwgt_ids(path: Path, text: str) -> tuple[str, ...]:
    """Weight ids declared in ``<initrwgt>`` (inside or outside ``<weightgroup>``), in order."""
    import xml.etree.ElementTree as ET

    match = re.search(r"<initrwgt(?:\s[^>]*)?>.*?</initrwgt>", text, flags=re.S)
    if match is None:
        return ()
    try:
        element = ET.fromstring(match.group(0))
    except ET.ParseError as exc:
        raise InputFileError(f"{path}: malformed <initrwgt> block ({exc})") from None
    ids = []
    for child in element:
        weights = [child] if child.tag == "weight" else list(child) if child.tag == "weightgroup" else []
        for weight in weights:
            if weight.tag == "weight" and weight.attrib:
                if "id" not in weight.attrib:
                    raise InputFileError(f"{path}: a <weight> in <initrwgt> has no id attribute")
                ids.append(weight.attrib["id"])
    return tuple(ids)


@dataclasses.dataclass
class _Columns:
    """Flat numpy columns of a block of events."""

    info: dict[str, Any]
    particles: dict[str, Any]
    counts: Any
    weights: dict[str, Any] | None


def _tokenise(joined: Any) -> tuple[Any, Any]:
    """(start, stop) byte offsets of the whitespace-separated tokens of a uint8 buffer."""
    import numpy as np

    # padded with whitespace at both ends so that every token has a start and an end edge;
    # bool arrays throughout: numpy's nonzero has a fast path for them (2× over int8 here)
    ws = np.empty(len(joined) + 2, dtype=np.bool_)
    ws[0] = ws[-1] = True
    np.less_equal(joined, 32, out=ws[1:-1])
    edges = np.flatnonzero(ws[1:] != ws[:-1])
    return edges[0::2], edges[1::2]


def _parse_block(path: Path, data: bytes | memoryview, first_event: int, init: LHEInit, *,
                 want_weights: bool) -> _Columns:
    """Parse the whole events in ``data``; ``first_event`` is the 1-based number of the first one.

    The compiled one-pass parser handles regular blocks; it declines anything irregular, and the
    numpy path below then parses the block and names the problem. Both give identical values."""
    import numpy as np

    parsed = _compiled.parse_events(data) if _compiled is not None else None
    if parsed is not None:
        _, info_columns, particle_columns, count_raw, has_weights = parsed
        info = {name: np.frombuffer(column, dtype=np.float64) for name, column in zip(EVENTINFO_FIELDS, info_columns)}
        particles = {name: np.frombuffer(column, dtype=np.float64)
                     for name, column in zip(PARTICLE_FIELDS, particle_columns)}
        counts = np.frombuffer(count_raw, dtype=np.int64)
    else:
        data = bytes(data)
        info_values, particle_values, counts = _parse_block_numpy(path, data, first_event, data.count(b"</event>"))
        has_weights = data.find(b"<w") >= 0 and _ANY_WEIGHT.search(data) is not None
        info = {name: np.ascontiguousarray(info_values[:, i]) for i, name in enumerate(EVENTINFO_FIELDS)}
        particles = {name: np.ascontiguousarray(particle_values[:, i]) for i, name in enumerate(PARTICLE_FIELDS)}
    info["nparticles"] = info["nparticles"].astype(np.int64)
    info["pid"] = np.trunc(info["pid"]).astype(np.int64)
    for name in _INT_PARTICLE:
        particles[name] = np.trunc(particles[name]).astype(np.int64)
    weights = None
    if want_weights and has_weights:
        data = bytes(data)
        starts = np.fromiter((m.start() for m in _EVENT_OPEN.finditer(data)), dtype=np.int64)
        weights = _weights(path, data, starts, first_event, init)
    return _Columns(info=info, particles=particles, counts=counts, weights=weights)


def _parse_block_numpy(path: Path, data: bytes, first_event: int, n_close: int) -> tuple[Any, Any, Any]:
    """The pure-Python (numpy + Arrow) parser: (event-line values (n, 6), particle values (m, 13),
    particles per event); raises :class:`InputFileError` naming the first broken event."""
    import numpy as np

    texts = _EVENT_TEXT.findall(data)  # the text part of every event, copied in C
    n_events = len(texts)
    if n_events != n_close:
        _locate_structure_error(path, data, first_event)
    # The event texts, each followed by a newline so that numbers never merge across events.
    joined = b"\n".join(texts) + b"\n"
    buf = np.frombuffer(joined, dtype=np.uint8)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n_events) + 1
    text_start = np.zeros(n_events + 1, dtype=np.int64)
    np.cumsum(lengths, out=text_start[1:])

    tok_start, tok_stop = _tokenise(buf)
    complete = True
    if b"#" in joined:
        complete = False
        keep = _non_comment_tokens(buf, tok_start)
        tok_start, tok_stop = tok_start[keep], tok_stop[keep]
    per_event = np.diff(np.searchsorted(tok_start, text_start))
    empty = np.flatnonzero(per_event < 6)
    if empty.size:
        k = int(empty[0])
        raise _error(path, first_event + k, f"event line has {per_event[k]} numbers, needs 6 (nparticles, pid, weight, scale, aqed, aqcd)")

    values = _to_float(path, joined, buf, tok_start, tok_stop, text_start, first_event, complete=complete)
    first_token = np.zeros(n_events, dtype=np.int64)
    np.cumsum(per_event[:-1], out=first_token[1:])
    n_particles = values[first_token]
    counts = n_particles.astype(np.int64)
    bad = np.flatnonzero((counts != n_particles) | (counts < 0) | (per_event != 6 + 13 * counts))
    if bad.size:
        k = int(bad[0])
        found = (per_event[k] - 6) / 13
        raise _error(path, first_event + k,
                     f"header says {n_particles[k]:g} particles but the event holds {found:.4g} particle lines "
                     f"({per_event[k]} numbers); the event is malformed or cut short")

    info_mask = np.zeros(len(values), dtype=bool)
    info_index = first_token[:, None] + np.arange(6)
    info_mask[info_index.ravel()] = True
    return values[info_index], values[~info_mask].reshape(-1, 13), counts


def _non_comment_tokens(buf: Any, tok_start: Any) -> Any:
    """Mask of tokens not in ``#`` comment lines (a ``#`` first on its line, up to the newline)."""
    import numpy as np

    hashes = np.flatnonzero(buf == 35)
    newlines = np.flatnonzero(buf == 10)
    # a '#' starts a comment when only whitespace lies between the previous newline and it
    previous_newline = np.searchsorted(newlines, hashes) - 1
    line_start = np.where(previous_newline >= 0, newlines[np.maximum(previous_newline, 0)] + 1, 0)
    first_token = tok_start[np.maximum(np.searchsorted(tok_start, line_start), 0).clip(max=len(tok_start) - 1)]
    starts_line = first_token == hashes
    hashes = hashes[starts_line]
    line_end = newlines[np.searchsorted(newlines, hashes)]
    bounds = np.column_stack([hashes, line_end]).ravel()
    return np.searchsorted(bounds, tok_start, side="right") % 2 == 0


def _to_float(path: Path, joined: bytes, buf: Any, tok_start: Any, tok_stop: Any, text_start: Any, first_event: int,
              *, complete: bool) -> Any:
    """All tokens → float64 with one Arrow cast (fast_float: correctly rounded, like ``float``)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = tok_stop - tok_start
    offsets = np.zeros(len(tok_start) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    # drop the whitespace: the tokens back to back, so that Arrow sees one string per token
    if complete:  # every token kept: deleting the whitespace bytes (one C pass) packs them
        packed = np.frombuffer(joined.translate(None, _WHITESPACE), dtype=np.uint8)
    else:
        keep = np.zeros(len(buf) + 1, dtype=np.int8)
        keep[tok_start] += 1
        keep[tok_stop] -= 1
        packed = buf[np.cumsum(keep[:-1], dtype=np.int8).view(np.bool_)]
    strings = pa.LargeStringArray.from_buffers(len(tok_start), pa.py_buffer(offsets), pa.py_buffer(packed))
    try:
        return pc.cast(strings, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        pass
    # slow path, only to name the culprit
    for i, (a, b) in enumerate(zip(tok_start.tolist(), tok_stop.tolist())):
        token = joined[a:b]
        try:
            float(token)
        except ValueError:
            event = int(np.searchsorted(text_start, a, side="right")) - 1
            raise _error(path, first_event + event, f"{token.decode(errors='replace')!r} is not a number") from None
    raise InputFileError(f"{path}: unparsable numbers after event {first_event}")  # pragma: no cover


def _locate_structure_error(path: Path, data: bytes, first_event: int) -> None:
    """Name the first event whose ``<event>``/``</event>`` tags do not pair up."""
    opens = [m.start() for m in _EVENT_OPEN.finditer(data)]
    closes = [m.start() for m in re.finditer(rb"</event>", data)]
    for k, start in enumerate(opens):
        if k >= len(closes) or closes[k] < start:
            raise _error(path, first_event + k, "has no </event> before the next event (broken or truncated event)")
        if k + 1 < len(opens) and closes[k] > opens[k + 1]:
            raise _error(path, first_event + k, "has no </event> before the next event (broken or truncated event)")
        text = _EVENT_TEXT.match(data, start)
        if text is None:
            raise _error(path, first_event + k, "malformed <event> tag")
    raise _error(path, first_event + len(opens), "stray </event> tag")


def _weights(path: Path, data: bytes, event_of: Any, first_event: int, init: LHEInit) -> dict[str, Any] | None:
    """Named weights per event, with pylhe's precedence: ``<rwgt>`` values win over ``<weights>``."""
    import numpy as np

    n_events = len(event_of)
    columns: dict[str, Any] = {}
    if b"<weights" in data:
        blocks = [(m.start(), m.group(1)) for m in _WEIGHTS_BLOCK.finditer(data)]
        if blocks:
            if not init.weight_ids:
                raise InputFileError(f"{path}: events have <weights> blocks but the header has no <initrwgt>")
            where = np.searchsorted(event_of, [b[0] for b in blocks], side="right") - 1
            for (_, text), k in zip(blocks, where.tolist()):
                values = text.split()
                if len(values) > len(init.weight_ids):
                    raise _error(path, first_event + k, f"<weights> has {len(values)} entries but <initrwgt> declares {len(init.weight_ids)}")
                for i, value in enumerate(values):
                    column = columns.setdefault(init.weight_ids[i], np.full(n_events, np.nan))
                    column[k] = _float(path, first_event + k, value)
    if b"<wgt" in data:
        matches = list(_WGT.finditer(data))
        if matches:
            where = np.searchsorted(event_of, [m.start() for m in matches], side="right") - 1
            ids = [(m.group(1) if m.group(1) is not None else m.group(2)).decode() for m in matches]
            raw = [m.group(3).strip() for m in matches]
            try:  # numpy's bytes → float64 cast rounds like float(), without importing Arrow for a few weights
                values = np.array(raw, dtype=np.bytes_).astype(np.float64)
            except ValueError:  # one of them is not a number: find which
                values = np.array([_float(path, first_event + int(k), v) for v, k in zip(raw, where)])
            codes: dict[str, int] = {}
            for name in ids:
                codes.setdefault(name, len(codes))
            matrix = np.full((n_events, len(codes)), np.nan)
            matrix[where, np.fromiter((codes[name] for name in ids), dtype=np.int64, count=len(ids))] = values
            for name, code in codes.items():
                column = matrix[:, code]
                if name in columns:  # <rwgt> wins over <weights>, as in pylhe
                    column = np.where(np.isnan(column), columns[name], column)
                columns[name] = np.ascontiguousarray(column)
    if not columns:
        return None
    for name, column in columns.items():
        missing = np.flatnonzero(np.isnan(column))
        if missing.size:
            raise _error(path, first_event + int(missing[0]), f"has no weight {name!r} although other events have it")
    return columns


def _float(path: Path, event: int, text: bytes | str) -> float:
    try:
        return float(text)
    except ValueError:
        shown = text.decode(errors="replace") if isinstance(text, bytes) else text
        raise _error(path, event, f"weight {shown!r} is not a number") from None


def _build(columns: _Columns, fields: set[str] | None) -> Any:
    """awkward array of a block, in pylhe's layout, with vector behaviours."""
    import awkward as ak
    import vector

    vector.register_awkward()
    contents: dict[str, Any] = {}
    if fields is None or "eventinfo" in fields:
        contents["eventinfo"] = ak.zip(columns.info, with_name="EventInfo")
    if columns.weights is not None and (fields is None or "weights" in fields):
        contents["weights"] = ak.zip(columns.weights, with_name="Weights")
    if fields is None or "particles" in fields:
        p = columns.particles
        momentum = ak.zip({k: p[k] for k in ("px", "py", "pz", "e")}, with_name="Momentum4D")
        flat = ak.zip({"vector": momentum, **{k: p[k] for k in PARTICLE_FIELDS if k not in ("px", "py", "pz", "e")}},
                      with_name="Particle", depth_limit=1)
        contents["particles"] = ak.unflatten(flat, columns.counts)
    return ak.zip(contents, depth_limit=1, with_name="Event")


def _selected_fields(filter_name: str | Sequence[str] | None) -> set[str] | None:
    if filter_name is None:
        return None
    patterns = [filter_name] if isinstance(filter_name, str) else list(filter_name)
    fields = {f for f in ("eventinfo", "weights", "particles") if any(fnmatch.fnmatchcase(f, p) for p in patterns)}
    if not fields:
        raise InputFileError(f"filter_name {patterns} matches none of the LHE fields eventinfo, weights, particles")
    return fields


class LHEFile:
    """An open LHE file: its ``init`` block and events read block by block.

    Use :func:`open`; see also :func:`iterate` and :func:`read`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._source = ByteSource(self.path, what="an LHE file")
        try:
            head = b""
            while True:
                chunk = self._source.read()
                if not chunk:
                    break
                head += chunk
                if _EVENT_OPEN.search(head) or b"</LesHouchesEvents>" in head:
                    break
            match = _EVENT_OPEN.search(head)
            cut = match.start() if match else len(head)
            self.init: LHEInit = _parse_init(self.path, head[:cut])
        except BaseException:
            self._source.close()
            raise
        self.header: str = head[:cut].decode("utf-8", errors="replace")
        self._pending = head[cut:]
        self._done = False
        self._next_event = 1  # 1-based number of the next event to parse

    def __enter__(self) -> LHEFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._source.close()

    @property
    def decayed_by_madspin(self) -> bool:
        """Whether MadSpin decayed the events of this file (its card is in the header)."""
        return _MADSPIN_CARD.search(self.header) is not None

    @property
    def cross_section_source(self) -> str:
        """Where :meth:`sample_cross_section` takes σ from, in words."""
        has_weight = _MG5_INTEGRATED_WEIGHT.search(self.header) is not None
        if self.init.processes and (self.decayed_by_madspin or not has_weight):
            return "<init>: σ × BR after MadSpin's decays" if self.decayed_by_madspin else "<init>"
        return "MG5 Integrated weight" if has_weight else "none (unknown)"

    def sample_cross_section(self) -> tuple[float, float]:
        """σ of the events in this file and its error, pb.

        - MG5 run decayed by MadSpin (its ``<madspin>`` card in the header): the ``<init>`` block's
          Σ XSECUP, which MadSpin rewrites as σ × BR of the decays it made (the event weights carry
          the same). The banner's "Integrated weight" there is the undecayed σ whenever MadSpin ran
          with ``spinmode none`` (e.g. loop-induced mono-Z: 1.030e-5 pb undecayed, 6.877e-7 pb after
          Z → ee, μμ), so it does not describe these events.
        - Other MG5 runs: the "Integrated weight (pb)", MG5's cross section of the run, which every
          unweighted event carries with ``event_norm = average``. Their ``<init>`` can be wrong: when
          MG5 combines ≥ 80 channels without a working ``ulimit`` it wrote 4.2e-07 pb for
          ``p p > n1 n1 z, z > l+ l-`` against 1.345e-05 pb in the banner and the weights.
        - Anything else: Σ XSECUP of ``<init>``.

        The init block's relative error is kept. σ is NaN, with a warning, when nothing gives it.
        """
        init_sigma, init_error = self.init.cross_section_pb, self.init.cross_section_error_pb
        match = _MG5_INTEGRATED_WEIGHT.search(self.header)
        if match is None or (self.decayed_by_madspin and self.init.processes):
            if not self.init.processes:
                warnings.warn(InputFileWarning(f"{self.path}: no cross section (<init> lists no process and the "
                                               "header has no MG5 Integrated weight); σ is unknown (NaN)"),
                              stacklevel=2)
                return math.nan, math.nan
            return init_sigma, init_error
        sigma = float(match.group(1))
        return sigma, (init_error / init_sigma * sigma if init_sigma > 0 else 0.0)

    def _blocks(self) -> Iterator[memoryview]:
        """Text blocks holding whole events (the parser counts them into ``self._next_event``)."""
        if self._done:
            raise InputFileError(f"{self.path}: events were already read; open the file again")
        self._done = True
        pending = bytearray(self._pending)
        at_end = False
        while not at_end:
            while len(pending) < _BLOCK_BYTES:
                chunk = self._source.read()
                if not chunk:
                    at_end = True
                    break
                pending += chunk
            cut = pending.rfind(b"</event>")
            if cut < 0:
                continue
            cut += len(b"</event>")
            # the parser reads the block in place; nothing is copied out of the buffer
            with memoryview(pending) as view, view[:cut] as block:
                yield block
            del pending[:cut]
        rest = pending.strip()
        if _EVENT_OPEN.search(rest):
            raise _error(self.path, self._next_event, "is truncated: the file ends before its </event>")
        if b"</LesHouchesEvents>" not in rest:
            raise InputFileError(f"{self.path}: file ends after event {self._next_event - 1} without "
                                 "</LesHouchesEvents> (truncated?)")

    def _parsed_blocks(self, fields: set[str] | None) -> Iterator[Any]:
        """One awkward array per text block."""
        want_weights = fields is None or "weights" in fields
        for block in self._blocks():
            columns = _parse_block(self.path, block, self._next_event, self.init, want_weights=want_weights)
            self._next_event += len(columns.counts)
            yield _build(columns, fields)

    def iterate(self, *, step_size: int = 100_000, filter_name: str | Sequence[str] | None = None) -> Iterator[Any]:
        """Yield awkward arrays of up to ``step_size`` events (the last may be shorter)."""
        import awkward as ak

        if step_size < 1:
            raise ValueError(f"step_size must be positive, got {step_size}")
        fields = _selected_fields(filter_name)
        buffered: list[Any] = []
        n_buffered = 0
        for array in self._parsed_blocks(fields):
            buffered.append(array)
            n_buffered += len(array)
            while n_buffered >= step_size:
                merged = ak.concatenate(buffered) if len(buffered) > 1 else buffered[0]
                yield merged[:step_size]
                rest = merged[step_size:]
                buffered, n_buffered = ([rest], len(rest)) if len(rest) else ([], 0)
        if n_buffered:
            yield ak.concatenate(buffered) if len(buffered) > 1 else buffered[0]

    def read(self, *, filter_name: str | Sequence[str] | None = None) -> Any:
        """All events as one awkward array."""
        import awkward as ak

        fields = _selected_fields(filter_name)
        arrays = list(self._parsed_blocks(fields))
        if not arrays:
            raise InputFileError(f"{self.path}: the file has no events")
        return ak.concatenate(arrays) if len(arrays) > 1 else arrays[0]


def open(path: str | os.PathLike[str]) -> LHEFile:  # noqa: A001 (uproot-style verb)
    """Open an LHE file (plain or gzip, detected from its content) and read its ``<init>`` block.

    See also :func:`darkscan.readers.hepmc.open`, :func:`darkscan.readers.delphes.open`.
    """
    return LHEFile(path)


def iterate(path: str | os.PathLike[str], *, step_size: int = 100_000,
            filter_name: str | Sequence[str] | None = None) -> Iterator[Any]:
    """Events of an LHE file in chunks of ``step_size``; ``filter_name``: glob(s) over
    ``eventinfo``, ``weights``, ``particles``.

    See also :func:`darkscan.readers.hepmc.iterate`, :func:`darkscan.readers.delphes.iterate`.
    """
    with LHEFile(path) as lhe:
        yield from lhe.iterate(step_size=step_size, filter_name=filter_name)


def read(path: str | os.PathLike[str], *, filter_name: str | Sequence[str] | None = None) -> Any:
    """All events of an LHE file as one awkward array (layout of ``pylhe.to_awkward``).

    See also :func:`darkscan.readers.hepmc.read`, :func:`darkscan.readers.delphes.read`.
    """
    with LHEFile(path) as lhe:
        return lhe.read(filter_name=filter_name)


def event_table(path: str | os.PathLike[str], *, invisible_pdgids: Iterable[int] = (),
                sample: str | None = None, step_size: int = 100_000) -> tuple[Any, Any]:
    """A parton-level event table (schema of :mod:`darkscan.readers.events`) and its metadata.

    Outgoing (status 1) partons: quarks d…b and gluons become ``jets`` (``btag`` = |id| is 5),
    e/μ become ``electrons``/``muons``, photons ``photons``; ν and ``invisible_pdgids`` make
    ``met`` (= ``invisible_pt``). Undecayed heavy states (t, W, Z, H, τ with status 1) are not
    objects of the table: decay them in the generator. ``weight`` is XWGTUP; σ is Σ XSECUP.

    See also :func:`darkscan.readers.hepmc.event_table`, :func:`darkscan.readers.delphes.event_table`.
    """
    import awkward as ak

    from darkscan.readers.events import EventTableMetadata, concatenate_event_chunks

    with LHEFile(path) as lhe:
        init = lhe.init
        sigma, sigma_error = lhe.sample_cross_section()
        chunks = [
            _truth_table(chunk.particles, chunk.eventinfo.weight, invisible_pdgids=invisible_pdgids)
            for chunk in lhe.iterate(step_size=step_size, filter_name=["eventinfo", "particles"])
        ]
    table = concatenate_event_chunks(chunks, path=path)
    metadata = EventTableMetadata(
        sample=sample or Path(path).name.split(".")[0],
        source="lhe",
        level="parton",
        cross_section_pb=sigma,
        cross_section_error_pb=sigma_error,
        sum_weights=float(ak.sum(table.weight)),
        n_accepted=len(table),
        extra={"input": str(path), "lhe_version": init.version, "beams": list(init.beams),
               "energies_gev": list(init.energies_gev), "invisible_pdgids": sorted({*NEUTRINOS, *invisible_pdgids})},
    )
    return table, metadata


def _truth_table(particles: Any, weight: Any, *, invisible_pdgids: Iterable[int]) -> Any:
    """Generator-level objects → event-table fields (shared with the HepMC reader)."""
    import awkward as ak
    import numpy as np
    import vector

    vector.register_awkward()
    final = particles[particles.status == 1]
    abs_id = abs(final.id)
    p4 = final.vector if "vector" in ak.fields(final) else final
    p4 = ak.zip({"px": p4.px, "py": p4.py, "pz": p4.pz, "e": p4.e}, with_name="Momentum4D")
    invisible = np.isin(ak.to_numpy(ak.flatten(abs_id)), sorted({*NEUTRINOS, *(abs(int(i)) for i in invisible_pdgids)}))
    invisible = ak.unflatten(invisible, ak.num(abs_id))

    def objects(mask: Any, *, charge: bool = False, btag: bool = False) -> Any:
        selected = p4[mask]
        ids = final.id[mask]
        fields: dict[str, Any] = {"pt": selected.pt, "eta": _safe_eta(selected), "phi": selected.phi}
        if btag:
            fields["mass"] = selected.mass
            fields["btag"] = ak.values_astype(abs(ids) == 5, np.int8)
        if charge:
            fields["charge"] = ak.values_astype(-np.sign(ids), np.int8)  # e⁻/μ⁻ have positive PDG ids
        record = ak.zip(fields)
        return record[ak.argsort(record.pt, ascending=False)]

    is_parton = ((abs_id >= 1) & (abs_id <= 5)) | (abs_id == 21)
    inv = p4[invisible]
    px, py = ak.sum(inv.px, axis=1), ak.sum(inv.py, axis=1)
    met = np.hypot(ak.to_numpy(px), ak.to_numpy(py))
    met_phi = np.arctan2(ak.to_numpy(py), ak.to_numpy(px))
    return ak.zip(
        {
            "jets": objects(is_parton, btag=True),
            "electrons": objects(abs_id == 11, charge=True),
            "muons": objects(abs_id == 13, charge=True),
            "photons": objects(abs_id == 22),
            "met": met,
            "met_phi": np.where(met > 0, met_phi, 0.0),
            "weight": ak.to_numpy(weight).astype(np.float64),
            "invisible_pt": met,
        },
        depth_limit=1,
    )


def _safe_eta(p4: Any) -> Any:
    """η, finite for particles along the beam (|η| capped where pT = 0, e.g. incoming partons)."""
    import awkward as ak
    import numpy as np

    flat = ak.flatten(p4)
    pt = ak.to_numpy(flat.pt)
    pz = ak.to_numpy(flat.pz)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(np.divide(pz, pt, out=np.full_like(pz, np.inf), where=pt > 0))
    eta = np.clip(eta, -1e3, 1e3)
    return ak.unflatten(eta, ak.num(p4))


def __dir__() -> list[str]:
    return list(__all__)
