"""Delphes ROOT files → awkward arrays and detector-level event tables, via uproot.

The ``Delphes`` tree stores one branch per collection, split per member (``Jet.PT``, ``Jet.Eta``,
``MissingET.MET``, ``Event.Weight`` …). uproot 5 cannot read some ``*.fBits`` leaves of objects
referenced through TRef (uproot issues #438, #569, #878), so every read here leaves out ``fBits``
and ``fUniqueID``; TRef leaves (``Electron.Particle``, ``Jet.Constituents``) are only read when
asked for by name.

:func:`read`/:func:`iterate` return uproot's arrays (one field per leaf, dotted names);
:func:`collections` groups them into per-collection records with vector behaviours
(``Momentum4D`` from pt, eta, phi, mass); :func:`event_table` makes the detector-level event table
of :mod:`darkscan.readers.events`.

Sibling readers with the same verbs (``open``, ``iterate``, ``read``, ``event_table``) and keywords
(``step_size``, ``filter_name``): :mod:`darkscan.readers.lhe` (Les Houches events) and
:mod:`darkscan.readers.hepmc` (HepMC3 ASCII).
"""

from __future__ import annotations

import fnmatch
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from darkscan.errors import InputFileError, InputFileWarning

__all__ = [
    "COLLECTIONS",
    "DelphesFile",
    "collections",
    "event_table",
    "invisible_pt_from_arrays",
    "iterate",
    "open",
    "read",
]

TREE = "Delphes"

#: collection → the leaves the event table and features need (besides the optional ones below)
COLLECTIONS: dict[str, tuple[str, ...]] = {
    "Jet": ("PT", "Eta", "Phi", "Mass", "BTag"),
    "Electron": ("PT", "Eta", "Phi", "Charge"),
    "Muon": ("PT", "Eta", "Phi", "Charge"),
    "Photon": ("PT", "Eta", "Phi"),
    "MissingET": ("MET", "Phi"),
    "ScalarHT": ("HT",),
    "Event": ("Number", "Weight", "CrossSection", "CrossSectionError"),
}
#: read when the file has them
OPTIONAL_COLLECTIONS: dict[str, tuple[str, ...]] = {
    "GenJet": ("PT", "Eta", "Phi", "Mass"),
    "GenMissingET": ("MET", "Phi"),
    "Particle": ("PID", "Status", "Px", "Py"),
}
#: ν_e, ν_μ, ν_τ
NEUTRINOS = (12, 14, 16)

_UNREADABLE = ("*.fBits", "*.fUniqueID", "*/fBits", "*/fUniqueID")


class DelphesFile:
    """An open Delphes ROOT file. Use :func:`open`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import uproot

        self.path = Path(path)
        if not self.path.exists():
            raise InputFileError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise InputFileError(f"{self.path}: is a directory, not a ROOT file")
        if self.path.stat().st_size == 0:
            raise InputFileError(f"{self.path}: empty file, not a ROOT file")
        try:
            self._file = uproot.open(self.path)
        except Exception as exc:  # uproot raises ValueError/OSError/… for non-ROOT bytes
            raise InputFileError(f"{self.path}: not a readable ROOT file ({type(exc).__name__}: {exc})") from None
        if TREE not in self._file:
            keys = ", ".join(sorted({k.split(";")[0] for k in self._file.keys()})) or "nothing"
            self._file.close()
            raise InputFileError(f"{self.path}: ROOT file has no {TREE!r} tree (it holds {keys}); not Delphes output")
        self.tree = self._file[TREE]
        self.branches: list[str] = [k for k in self.tree.keys() if "/" not in k]
        leaves = set(self.tree.keys())
        missing = [f"{c}.{leaf}" for c, names in COLLECTIONS.items() for leaf in names
                   if f"{c}/{c}.{leaf}" not in leaves and f"{c}.{leaf}" not in leaves]
        if missing:
            self._file.close()
            raise InputFileError(f"{self.path}: tree {TREE!r} lacks Delphes leaves {missing[:6]}"
                                 f"{' …' if len(missing) > 6 else ''}; not a Delphes file written by a standard card")
        self.num_entries: int = int(self.tree.num_entries)

    def __enter__(self) -> DelphesFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def has(self, collection: str) -> bool:
        return collection in self.branches

    def default_leaves(self) -> list[str]:
        """The leaves the event table needs, plus the optional collections the file has."""
        names = [f"{c}.{leaf}" for c, leaves in COLLECTIONS.items() for leaf in leaves]
        names += [f"{c}.{leaf}" for c, leaves in OPTIONAL_COLLECTIONS.items() if self.has(c) for leaf in leaves]
        return names

    def _expressions(self, filter_name: str | Sequence[str] | None) -> list[str]:
        if filter_name is None:
            return self.default_leaves()
        patterns = [filter_name] if isinstance(filter_name, str) else list(filter_name)
        leaves = [k.split("/")[-1] for k in self.tree.keys() if "/" in k]
        chosen = [leaf for leaf in leaves
                  if any(fnmatch.fnmatchcase(leaf, p) for p in patterns)
                  and not any(fnmatch.fnmatchcase(leaf, u) for u in _UNREADABLE)]
        if not chosen:
            raise InputFileError(f"{self.path}: filter_name {patterns} matches no readable leaf of {TREE!r}")
        return chosen

    def iterate(self, *, step_size: int = 100_000, filter_name: str | Sequence[str] | None = None) -> Iterator[Any]:
        """uproot arrays of up to ``step_size`` events, one field per leaf (``Jet.PT`` …)."""
        expressions = self._expressions(filter_name)
        try:
            for start in range(0, self.num_entries, step_size):
                yield self.tree.arrays(expressions, entry_start=start,
                                       entry_stop=min(start + step_size, self.num_entries))
        except Exception as exc:
            raise InputFileError(f"{self.path}: uproot cannot read {TREE!r} leaves {expressions[:4]}…: "
                                 f"{type(exc).__name__}: {exc}") from None

    def read(self, *, filter_name: str | Sequence[str] | None = None, entry_stop: int | None = None) -> Any:
        """All (or the first ``entry_stop``) events as one uproot array."""
        expressions = self._expressions(filter_name)
        try:
            return self.tree.arrays(expressions, entry_stop=entry_stop)
        except Exception as exc:
            raise InputFileError(f"{self.path}: uproot cannot read {TREE!r} leaves: {type(exc).__name__}: {exc}") from None


def open(path: str | os.PathLike[str]) -> DelphesFile:  # noqa: A001 (uproot-style verb)
    """Open a Delphes ROOT file and check that it is one.

    See also :func:`darkscan.readers.lhe.open`, :func:`darkscan.readers.hepmc.open`.
    """
    return DelphesFile(path)


def iterate(path: str | os.PathLike[str], *, step_size: int = 100_000,
            filter_name: str | Sequence[str] | None = None) -> Iterator[Any]:
    """Events of a Delphes file in chunks of ``step_size``; ``filter_name``: glob(s) over leaf names.

    See also :func:`darkscan.readers.lhe.iterate`, :func:`darkscan.readers.hepmc.iterate`.
    """
    with DelphesFile(path) as delphes:
        yield from delphes.iterate(step_size=step_size, filter_name=filter_name)


def read(path: str | os.PathLike[str], *, filter_name: str | Sequence[str] | None = None,
         entry_stop: int | None = None) -> Any:
    """All events of a Delphes file (uproot arrays, one field per leaf).

    See also :func:`darkscan.readers.lhe.read`, :func:`darkscan.readers.hepmc.read`.
    """
    with DelphesFile(path) as delphes:
        return delphes.read(filter_name=filter_name, entry_stop=entry_stop)


def collections(arrays: Any) -> dict[str, Any]:
    """Group dotted leaves into one record array per collection (fields keep Delphes' leaf names);
    collections with PT, Eta, Phi also get ``pt``, ``eta``, ``phi``, ``mass`` (0 where the
    collection has no Mass) and ``Momentum4D`` behaviour."""
    import awkward as ak
    import vector

    vector.register_awkward()
    grouped: dict[str, dict[str, Any]] = {}
    for name in ak.fields(arrays):
        collection, _, leaf = name.partition(".")
        grouped.setdefault(collection, {})[leaf] = arrays[name]
    result = {}
    for collection, leaves in grouped.items():
        fields = dict(leaves)  # Delphes' own leaf names, plus vector's coordinate names
        if {"PT", "Eta", "Phi"} <= set(fields):
            fields.update(pt=leaves["PT"], eta=leaves["Eta"], phi=leaves["Phi"],
                          mass=leaves.get("Mass", ak.zeros_like(leaves["PT"])))
            result[collection] = ak.zip(fields, with_name="Momentum4D", depth_limit=2)
        else:
            result[collection] = ak.zip(fields, depth_limit=2)
    return result


def _first(values: Any, fill: float) -> Any:
    import awkward as ak
    import numpy as np

    return ak.to_numpy(ak.fill_none(ak.firsts(values), fill)).astype(np.float64)


#: most stable particles of a complete hadron-level record (pions, photons) are softer than this (GeV);
#: a ``Particle`` branch whose median stable particle is harder was written with a pT threshold
_FILTERED_RECORD_PT = 1.0


def invisible_pt_from_arrays(arrays: Any, *, invisible_pdgids: Iterable[int] = (),
                             path: str | os.PathLike[str] | None = None) -> tuple[Any, str]:
    """Per-event invisible pT (GeV) and where it came from.

    1. ``GenMissingET.MET`` when the file has it: Delphes computes it from every stable generator
       particle before any output filter, counting as invisible what the card's ``NeutrinoFilter``
       removes (ν, and the BSM invisibles darkscan's card patch adds).
    2. Else |Σ pT| of status-1 ν and ``invisible_pdgids`` in ``Particle``, when that branch is the full
       record. A ``Particle`` branch written with a pT threshold (e.g. only particles above 5 GeV) can
       lose the invisibles entirely (a DM monojet sample gave 1.6 GeV instead of ~264 GeV), so it is
       not used: the feature is NaN (undefined) with a warning naming the file.
    3. No generator record: NaN (unknown, not zero).
    """
    import awkward as ak
    import numpy as np

    source, softest = _invisible_pt_source(arrays)
    if source == "GenMissingET":
        return _first(arrays["GenMissingET.MET"], np.nan), source
    if source != "Particle status 1":
        if softest is not None:
            warnings.warn(InputFileWarning(
                f"{path or 'Delphes arrays'}: the Particle branch is filtered (median stable-particle pT "
                f"{softest:.3g} GeV) and there is no GenMissingET: invisible_pt is undefined (NaN)"), stacklevel=2)
        return np.full(len(arrays), np.nan), source
    final = arrays["Particle.Status"] == 1
    pid = abs(arrays["Particle.PID"])
    wanted = sorted({*NEUTRINOS, *(abs(int(i)) for i in invisible_pdgids)})
    invisible = ak.unflatten(np.isin(ak.to_numpy(ak.flatten(pid)), wanted), ak.num(pid)) & final
    px = ak.to_numpy(ak.sum(arrays["Particle.Px"][invisible], axis=1)).astype(np.float64)
    py = ak.to_numpy(ak.sum(arrays["Particle.Py"][invisible], axis=1)).astype(np.float64)
    return np.hypot(px, py), "Particle status 1"


def _invisible_pt_source(arrays: Any) -> tuple[str, float | None]:
    """Where :func:`invisible_pt_from_arrays` takes the invisible pT from, and the median stable
    particle's pT when a filtered ``Particle`` branch is the reason it cannot."""
    import awkward as ak
    import numpy as np

    fields = set(ak.fields(arrays))
    if "GenMissingET.MET" in fields:
        return "GenMissingET", None
    if not {"Particle.PID", "Particle.Status", "Particle.Px", "Particle.Py"} <= fields:
        return "none (NaN)", None
    final = arrays["Particle.Status"] == 1
    pt = np.hypot(ak.to_numpy(ak.flatten(arrays["Particle.Px"][final])), ak.to_numpy(ak.flatten(arrays["Particle.Py"][final])))
    if pt.size and np.median(pt) > _FILTERED_RECORD_PT:
        return "none (NaN): Particle branch filtered", float(np.median(pt))
    return "Particle status 1", None


def table_from_arrays(arrays: Any, *, invisible_pdgids: Iterable[int] = (),
                      path: str | os.PathLike[str] | None = None) -> Any:
    """Detector-level event table (without ``event``) from uproot arrays of :meth:`DelphesFile.read`.

    ``invisible_pt`` comes from :func:`invisible_pt_from_arrays` (GenMissingET, else the full
    ``Particle`` record, else NaN).
    """
    import awkward as ak
    import numpy as np

    fields = set(ak.fields(arrays))

    def objects(collection: str, leaves: dict[str, str], types: dict[str, Any]) -> Any:
        record = ak.zip({out: ak.values_astype(arrays[f"{collection}.{leaf}"], types[out]) for out, leaf in leaves.items()})
        return record[ak.argsort(record.pt, ascending=False, stable=True)]

    f32 = np.float32
    jets = ak.zip({
        "pt": arrays["Jet.PT"], "eta": arrays["Jet.Eta"], "phi": arrays["Jet.Phi"], "mass": arrays["Jet.Mass"],
        # Delphes BTag is a bit mask of working points; bit 0 is the card's (only, in the ATLAS card) one
        "btag": ak.values_astype(arrays["Jet.BTag"] & 1, np.int8),
    })
    jets = jets[ak.argsort(jets.pt, ascending=False, stable=True)]
    lepton = {"pt": "PT", "eta": "Eta", "phi": "Phi", "charge": "Charge"}
    lepton_types = {"pt": f32, "eta": f32, "phi": f32, "charge": np.int8}
    met = _first(arrays["MissingET.MET"], np.nan)
    met_phi = _first(arrays["MissingET.Phi"], np.nan)
    weight = _first(arrays["Event.Weight"], 1.0)
    invisible_pt, _ = invisible_pt_from_arrays(arrays, invisible_pdgids=invisible_pdgids, path=path)
    return ak.zip(
        {
            "jets": jets,
            "electrons": objects("Electron", lepton, lepton_types),
            "muons": objects("Muon", lepton, lepton_types),
            "photons": objects("Photon", {"pt": "PT", "eta": "Eta", "phi": "Phi"}, {"pt": f32, "eta": f32, "phi": f32}),
            "met": met,
            "met_phi": met_phi,
            "weight": weight,
            "invisible_pt": invisible_pt,
        },
        depth_limit=1,
    )


def event_table(path: str | os.PathLike[str], *, invisible_pdgids: Iterable[int] = (), sample: str | None = None,
                step_size: int = 100_000, cross_section_pb: float | None = None) -> tuple[Any, Any]:
    """Detector-level event table (schema of :mod:`darkscan.readers.events`) and its metadata.

    σ is the last event's ``Event.CrossSection`` (Pythia's running estimate, final after the last
    event) unless ``cross_section_pb`` is given; a file without a positive σ needs it.

    See also :func:`darkscan.readers.lhe.event_table`, :func:`darkscan.readers.hepmc.event_table`.
    """
    import awkward as ak
    import numpy as np

    from darkscan.readers.events import EventTableMetadata, concatenate_event_chunks

    with DelphesFile(path) as delphes:
        chunks, last_xsec, last_error, source = [], np.nan, 0.0, "none (NaN)"
        for arrays in delphes.iterate(step_size=step_size):
            if not chunks:
                source, _ = _invisible_pt_source(arrays)
            with warnings.catch_warnings():
                if chunks:  # the first chunk has said it; one warning per file
                    warnings.simplefilter("ignore", InputFileWarning)
                chunks.append(table_from_arrays(arrays, invisible_pdgids=invisible_pdgids, path=path))
            if len(arrays):
                last_xsec = float(_first(arrays["Event.CrossSection"][-1:], np.nan)[0])
                last_error = float(_first(arrays["Event.CrossSectionError"][-1:], 0.0)[0])
        n_entries = delphes.num_entries
    table = concatenate_event_chunks(chunks, path=path, what="Delphes tree")
    sigma = cross_section_pb if cross_section_pb is not None else last_xsec
    if not (sigma > 0):
        raise InputFileError(f"{path}: Event.CrossSection is {last_xsec!r}; pass the sample's cross section (pb) explicitly")
    metadata = EventTableMetadata(
        sample=sample or Path(path).stem,
        source="delphes",
        level="detector",
        cross_section_pb=float(sigma),
        cross_section_error_pb=float(last_error) if cross_section_pb is None else 0.0,
        sum_weights=float(np.sum(ak.to_numpy(table.weight))),
        n_accepted=n_entries,
        extra={"input": str(path), "invisible_pdgids": sorted({*NEUTRINOS, *invisible_pdgids}),
               "invisible_pt_source": source},
    )
    return table, metadata


def __dir__() -> list[str]:
    return list(__all__)
