"""The event table: one columnar schema for every source of events.

Whatever produced the events (the embedded Pythia 8 + fast detector, Delphes ROOT, LHE or HepMC3
files), everything downstream sees an awkward array of records with these fields:

====================  ===========================================================  =====
field                 meaning                                                      unit
====================  ===========================================================  =====
``jets``              var-length list of {pt, eta, phi, mass, btag}, pT-ordered     GeV
``electrons``         var-length list of {pt, eta, phi, charge}, pT-ordered         GeV
``muons``             var-length list of {pt, eta, phi, charge}, pT-ordered         GeV
``photons``           var-length list of {pt, eta, phi}, pT-ordered                 GeV
``met``               missing transverse momentum magnitude                         GeV
``met_phi``           its azimuth, in (-π, π]
``weight``            the generator event weight (1 for unweighted events)
``invisible_pt``      |Σ pT| of generator-level invisibles (ν + the sample's BSM)   GeV
``event``             event number within the sample (0-based, unique per sample)
====================  ===========================================================  =====

``btag`` is 0/1 (bool stored as int8). ``charge`` is ±1. Parton/particle-level tables (LHE,
HepMC3) use the same fields, with truth objects in place of reconstructed ones and ``met`` equal to
the invisible pT.

Normalisation lives in the metadata, not the weights: the expected number of events of a sample
at integrated luminosity L is ``cross_section_pb * 1000 * L_fb * Σ_selected weight / sum_weights``.

The file format is Parquet (via pyarrow); :class:`EventTableMetadata` is stored as JSON under the
``darkscan`` key of the file's schema metadata.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from darkscan.errors import InputFileError
from darkscan.io import atomic_path

__all__ = [
    "EVENT_FIELDS",
    "read_feature_table",
    "write_feature_table",
    "OBJECT_FIELDS",
    "SCHEMA_VERSION",
    "EventTableMetadata",
    "concatenate_event_chunks",
    "empty_event_table",
    "read_event_table",
    "read_event_table_metadata",
    "write_event_table",
]

SCHEMA_VERSION = 1

#: Per-object fields of each collection, and their dtypes.
OBJECT_FIELDS: dict[str, dict[str, str]] = {
    "jets": {"pt": "float32", "eta": "float32", "phi": "float32", "mass": "float32", "btag": "int8"},
    "electrons": {"pt": "float32", "eta": "float32", "phi": "float32", "charge": "int8"},
    "muons": {"pt": "float32", "eta": "float32", "phi": "float32", "charge": "int8"},
    "photons": {"pt": "float32", "eta": "float32", "phi": "float32"},
}

#: Per-event scalar fields and their dtypes.
EVENT_FIELDS: dict[str, str] = {
    "met": "float32",
    "met_phi": "float32",
    "weight": "float64",
    "invisible_pt": "float32",
    "event": "int64",
}


@dataclasses.dataclass
class EventTableMetadata:
    """What an event table needs to be normalised and traced back to its generation.

    Attributes:
        sample: sample name from the study file (or the input file's stem).
        source: what produced the events: ``"embedded"`` (Pythia 8 + fast detector), ``"delphes"``,
            ``"lhe"``, ``"hepmc"``.
        level: ``"detector"``, ``"particle"`` or ``"parton"``.
        cross_section_pb: cross section of the generated process, pb.
        cross_section_error_pb: its statistical error, pb.
        sum_weights: sum of the event weights of all generated (accepted) events in the file.
        n_trials: generator trials behind the accepted events (Pythia ``nTried``), 0 if unknown.
        n_accepted: events in the file.
        seed: random seed used, or None.
        parameters: physics parameters of the sample point (GeV for masses).
        generator_settings: generator settings, verbatim (Pythia ``readString`` lines, card names…).
        extra: anything else worth keeping (detector parameters file, input file hash, …).
    """

    sample: str
    source: str
    level: str
    cross_section_pb: float
    cross_section_error_pb: float = 0.0
    sum_weights: float = 0.0
    n_trials: int = 0
    n_accepted: int = 0
    seed: int | None = None
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    generator_settings: list[str] = dataclasses.field(default_factory=list)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EventTableMetadata:
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _arrow_schema() -> Any:
    import pyarrow as pa

    def collection(fields: dict[str, str]) -> Any:
        struct = pa.struct([pa.field(name, pa.from_numpy_dtype(dtype), nullable=False) for name, dtype in fields.items()])
        return pa.large_list(pa.field("item", struct, nullable=False))

    arrow_fields = [pa.field(name, collection(fields), nullable=False) for name, fields in OBJECT_FIELDS.items()]
    arrow_fields += [pa.field(name, pa.from_numpy_dtype(dtype), nullable=False) for name, dtype in EVENT_FIELDS.items()]
    return pa.schema(arrow_fields)


def empty_event_table() -> Any:
    """An event table with zero events and the full schema."""
    import awkward as ak

    return ak.from_arrow(_arrow_schema().empty_table(), highlevel=True)


def concatenate_event_chunks(chunks: list[Any], *, path: str | os.PathLike[str], what: str = "the file") -> Any:
    """Join the event-table chunks a reader produced and number the events 0, 1, … in file order."""
    import awkward as ak
    import numpy as np

    if not chunks:
        raise InputFileError(f"{path}: {what} has no events")
    table = ak.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    return ak.with_field(table, np.arange(len(table), dtype=np.int64), "event")


def _to_arrow_table(events: Any) -> Any:
    import awkward as ak
    import pyarrow as pa

    missing = [f for f in (*OBJECT_FIELDS, *EVENT_FIELDS) if f not in ak.fields(events)]
    if missing:
        raise ValueError(f"event table lacks fields {missing}")
    schema = _arrow_schema()
    columns = []
    for field in schema:
        column = events[field.name]
        if field.name in OBJECT_FIELDS:
            column = ak.zip(
                {name: ak.values_astype(column[name], dtype) for name, dtype in OBJECT_FIELDS[field.name].items()}
            )
        else:
            column = ak.values_astype(column, EVENT_FIELDS[field.name])
        array = ak.to_arrow(column, extensionarray=False, list_to32=False)
        columns.append(array.cast(field.type) if array.type != field.type else array)
    return pa.Table.from_arrays(columns, schema=schema)


def write_event_table(path: str | os.PathLike[str], events: Any, metadata: EventTableMetadata) -> None:
    """Write ``events`` (an awkward array in the event-table schema) to Parquet, atomically."""
    import pyarrow.parquet as pq

    table = _to_arrow_table(events)
    table = table.replace_schema_metadata({b"darkscan": metadata.to_json().encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_event_table_metadata(path: str | os.PathLike[str]) -> EventTableMetadata:
    """Read only the metadata of an event table."""
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        schema = pq.read_schema(path)
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for non-Parquet input
        raise InputFileError(f"{path}: not a Parquet event table ({exc})") from None
    raw = (schema.metadata or {}).get(b"darkscan")
    if raw is None:
        raise InputFileError(f"{path}: Parquet file has no darkscan metadata; not an event table")
    return EventTableMetadata.from_json(raw.decode())


def read_event_table(path: str | os.PathLike[str], *, columns: list[str] | None = None) -> tuple[Any, EventTableMetadata]:
    """Read an event table and its metadata. ``columns`` restricts the top-level fields read."""
    import awkward as ak
    import pyarrow.parquet as pq

    metadata = read_event_table_metadata(path)
    table = pq.read_table(path, columns=columns)
    return ak.from_arrow(table, highlevel=True), metadata


def write_feature_table(path: str | os.PathLike[str], columns: dict[str, Any], metadata: EventTableMetadata) -> None:
    """Write a flat feature table (one numpy column per feature, same length) to Parquet, atomically.

    Feature tables hold the columns of :data:`darkscan.analysis.features.FEATURES` (plus ``passed``,
    the study selection's verdict, when a selection was applied); their metadata is the event
    table's, carried over so that cross sections travel with the features.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"feature columns differ in length: {lengths}")
    table = pa.table({name: np.asarray(values) for name, values in columns.items()})
    table = table.replace_schema_metadata({b"darkscan": metadata.to_json().encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_feature_table(
    path: str | os.PathLike[str], *, columns: list[str] | None = None
) -> tuple[dict[str, Any], EventTableMetadata]:
    """Read a flat feature table: ``{name: numpy array}`` and its metadata."""
    import pyarrow.parquet as pq

    metadata = read_event_table_metadata(path)
    table = pq.read_table(path, columns=columns)
    return {name: table.column(name).to_numpy() for name in table.column_names}, metadata
