"""Fast ATLAS-like detector simulation on generator particles, vectorised over batches of events.

The chain mirrors the Delphes ATLAS card (its numbers live in ``detector_atlas.yaml``; a study's
``detector.params`` swaps in another file):

1. tracks: electrons, muons and charged hadrons that reach the calorimeter, with the card's tracking
   efficiencies and log-normal pT smearing;
2. stable particles except muons → ECal/HCal towers on an (η, φ) grid; each tower's energy is
   smeared log-normally with the calorimeter resolution and dropped below the energy and
   significance thresholds; the tower direction is drawn uniformly inside the tower (Delphes'
   "smeared centre");
3. energy flow per tower (Delphes' SimpleCalorimeter): the tracks of the species that deposit in the
   layer (ECal: electrons, HCal: charged hadrons) against the tower's measured energy; a significant
   neutral excess becomes an eflow photon (ECal) or neutral hadron (HCal), otherwise the tracks are
   scaled to the combined track + calorimeter measurement;
4. photons = ECal eflow photons, electrons = electron eflow tracks, muons = muon tracks, each with its
   (pT, |η|) efficiency and the card's relative isolation on the eflow objects (charged-hadron
   tracks plus the neutral excesses);
5. anti-kT jets (``fastjet``, the card's R) on the towers plus every tracked muon (the card's
   Calorimeter merger), a jet energy scale, then b-tagging from the flavour of b/c quarks within ΔR
   of the jet axis;
6. the card's unique-object finder, in its order photons, electrons, muons, jets: an object sharing
   a generator particle with one kept before it is dropped (a jet containing the tower of an
   isolated photon or electron, or an isolated muon);
7. MET = −Σ towers − Σ tracked muons (``met.include_muons: false`` counts muons as missing and keeps
   them out of the jets).

As in Delphes' ParticlePropagator, particles produced outside the tracker cylinder (decay products of
K⁰_S, Λ, … that flew beyond it) are not seen at all: without that the fast detector read jets and MET
~3 % above Delphes on the same events (``benchmarks/validate_embedded.py``).

Invisible particles are the neutrinos plus the sample's BSM invisible PDG ids; they deposit
nothing and make up ``invisible_pt``. Everything works on flat numpy arrays with an event index:
no Python loop over particles or events.

The numpy code below is the definition. Its particle-level part (steps 1–4, 6 and 7, up to the jet
inputs) also runs compiled, in ``_detector.c``, built by ``pip install`` where a C compiler and numpy's
headers are: one pass per stage over the batch instead of ~150 numpy calls and their temporaries, at
about half the CPU time. It draws the same random numbers from the same Generator in the same order
and gives the same objects (``tests/test_detector_identity.py`` runs both against one reference).

The towers are the card's (its forward ECal edges and the HCal's interleaved 10°/20° bins at
2.6 < |η| < 3.3 included); as in Delphes, a tower's resolution is that of the |η| region of the
tower's centre (the ECal tower at 3.125–3.3 is forward throughout though the card's regions meet at 3.2).

Differences from Delphes, by construction: a curling charged particle with pz = 0 exactly never
reaches the calorimeter here (its propagation time to an endcap is infinite); eflow tracks of
species that split their energy between the layers (none in the card) use the track energy as
Delphes' calorimeter-energy guess.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from darkscan.errors import InputFileError

try:
    from darkscan.gen import _detector as _compiled
except ImportError:  # built without a C compiler or numpy's random library: the numpy chain does it all
    _compiled = None

__all__ = [
    "NEUTRINO_PDGIDS",
    "DetectorParams",
    "FastDetector",
    "ParticleArrays",
    "charge_of",
    "default_params_path",
    "load_detector_params",
]

NEUTRINO_PDGIDS = (12, 14, 16)
_TWO_PI = 2.0 * math.pi


def default_params_path() -> Path:
    """The packaged ATLAS-like parameter file."""
    return Path(str(resources.files("darkscan.gen").joinpath("detector_atlas.yaml")))


@dataclasses.dataclass(frozen=True)
class DetectorParams:
    """A parsed detector parameter file: ``data`` is the YAML mapping, ``path`` where it came from."""

    data: Mapping[str, Any]
    path: Path

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


_REQUIRED = {
    "calorimeter": ("eta_max", "ecal_fraction", "ecal", "hcal"),
    "electrons": ("tracking_efficiency", "efficiency", "resolution", "isolation"),
    "muons": ("tracking_efficiency", "efficiency", "resolution", "isolation"),
    "charged_hadrons": ("tracking_efficiency", "resolution"),
    "photons": ("efficiency", "isolation"),
    "jets": ("radius", "pt_min", "energy_scale"),
    "btag": ("delta_r", "parton_pt_min", "parton_eta_max", "b", "c", "light"),
    "met": ("include_muons",),
    "tracker": ("radius_m", "half_length_m", "bz_tesla"),
}
_OPTIONAL = {"": ("name",), "jets": ("algorithm",)}
#: parameters of older files that no longer mean anything: a file that sets one is refused, with why,
#: rather than run without the effect its author expects
_RETIRED = {
    "jets.overlap_delta_r": "jets are now removed when they share a particle with an isolated photon, electron "
                            "or muon (the card's UniqueObjectFinder), not within a ΔR",
}

#: electric charge (units of e) of the charged particles that reach a detector, by PDG id
#: (antiparticles: opposite sign); anything else is treated as neutral
_CHARGE = {11: -1, 13: -1, 15: -1, 211: 1, 321: 1, 2212: 1, 3222: 1, 3112: -1, 3312: -1, 3334: -1,
           411: 1, 431: 1, 521: 1, 24: 1, 37: 1, 1000024: 1, 1000037: 1}


_CHARGE_KEYS = np.array(sorted([*_CHARGE, *(-k for k in _CHARGE)]), dtype=np.int64)
_CHARGE_VALUES = np.array([_CHARGE[abs(int(k))] * (1 if k > 0 else -1) for k in _CHARGE_KEYS], dtype=float)


def charge_of(pid: np.ndarray) -> np.ndarray:
    """Electric charge of each PDG id (a sorted-table lookup, no Python loop)."""
    pid = np.asarray(pid, dtype=np.int64)
    index = np.minimum(np.searchsorted(_CHARGE_KEYS, pid), len(_CHARGE_KEYS) - 1)
    return np.where(_CHARGE_KEYS[index] == pid, _CHARGE_VALUES[index], 0.0)


def load_detector_params(path: str | Path | None = None) -> DetectorParams:
    """Read and check a detector parameter file (YAML); None: the packaged ATLAS-like one."""
    import yaml

    path = Path(path) if path is not None else default_params_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"{path}: detector parameter file not found") from None
    except yaml.YAMLError as exc:
        raise InputFileError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: a detector parameter file is a mapping of sections, got {type(data).__name__}")
    problems = []
    for section, keys in _REQUIRED.items():
        if not isinstance(data.get(section), dict):
            problems.append(f"{path}: missing section {section!r} (see {default_params_path().name})")
            continue
        problems += [f"{path}: {section}.{key} is missing" for key in keys if key not in data[section]]
        known = (*keys, *_OPTIONAL.get(section, ()))
        problems += [_unknown(path, f"{section}.{key}", known) for key in data[section] if key not in known]
    problems += [_unknown(path, str(section), (*_REQUIRED, *_OPTIONAL[""])) for section in data
                 if section not in _REQUIRED and section not in _OPTIONAL[""]]
    if not problems:
        for name, key in (("electrons", "tracking_efficiency"), ("electrons", "efficiency"),
                          ("muons", "tracking_efficiency"), ("muons", "efficiency"),
                          ("charged_hadrons", "tracking_efficiency"), ("photons", "efficiency")):
            table = data[name][key]
            values = np.asarray(table.get("values"), dtype=float)
            shape = (len(table.get("abs_eta_edges", [])) - 1, len(table.get("pt_edges", [])) - 1)
            if values.shape != shape:
                problems.append(f"{path}: {name}.{key}.values has shape {values.shape}, "
                                f"the eta × pt edges need {shape}")
            elif np.any((values < 0) | (values > 1)):
                problems.append(f"{path}: {name}.{key}.values must lie in [0, 1]")
        if not data["jets"]["radius"] > 0:
            problems.append(f"{path}: jets.radius must be positive")
    if problems:
        raise InputFileError(*problems)
    return DetectorParams(data, path.resolve())


def _unknown(path: Path, name: str, known: tuple[str, ...]) -> str:
    if name in _RETIRED:
        return f"{path}: {name} is no longer a parameter: {_RETIRED[name]}; remove it"
    return f"{path}: {name} is not a detector parameter (known here: {', '.join(sorted(known))})"


@dataclasses.dataclass
class ParticleArrays:
    """Final-state particles of a batch of events as flat arrays plus the event index of each.

    ``heavy_quarks`` (optional) are the b and c quarks anywhere in the event record, for b-tagging:
    their ``(event, abs_id, pt, eta, phi)``. ``production_rho_mm`` / ``production_z_mm`` (optional)
    are each particle's production vertex (transverse distance and z from the beam spot, mm); None
    means every particle comes from the interaction point.
    """

    n_events: int
    event: np.ndarray
    pid: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    heavy_quarks: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    production_rho_mm: np.ndarray | None = None
    production_z_mm: np.ndarray | None = None

    @classmethod
    def from_pythia_batch(cls, batch: Any) -> ParticleArrays:
        """From ``Pythia.nextBatch`` output (an awkward array of events with a ``prt`` list)."""
        import awkward as ak

        # read the flat particle buffers straight from the layout: the high-level awkward calls
        # (flatten, field projection, fill_none on the optional vertex) cost more than the detector
        prt = ak.to_layout(batch["prt"])
        if not (prt.is_list and prt.content.is_record):  # a filtered batch: events picked from a larger one
            prt = ak.to_layout(ak.to_packed(batch["prt"]))
        prt = prt.to_ListOffsetArray64(True)
        offsets = np.asarray(prt.offsets)
        n, total = len(offsets) - 1, int(offsets[-1])
        record = prt.content

        def column(layout: Any, name: str) -> np.ndarray:
            return np.asarray(layout.content(name).data)[:total]

        def event_of(index: np.ndarray) -> np.ndarray:
            # index is sorted: one search per event boundary, not one per particle
            return np.repeat(np.arange(n, dtype=np.int64), np.diff(np.searchsorted(index, offsets)))

        status, pid32 = column(record, "status"), column(record, "id")
        momentum = record.content("p")
        px, py, pz, e = (column(momentum, c) for c in ("px", "py", "pz", "e"))
        # Pythia leaves the vertex unset (None) for particles from the interaction point
        vertex = record.content("vProd").to_IndexedOptionArray64()
        slot = np.asarray(vertex.index.data)[:total]
        vertex_xyz = ([np.asarray(vertex.content.content(c).data) for c in ("px", "py", "pz")]
                      if len(vertex.content) else [np.zeros(0)] * 3)
        heavy = np.flatnonzero((np.abs(pid32) == 4) | (np.abs(pid32) == 5))
        if _compiled is not None:  # the same selection in one pass (_detector.c)
            n_final = int(np.count_nonzero(status > 0))
            event, pid = np.empty(n_final, dtype=np.int64), np.empty(n_final, dtype=np.int64)
            fpx, fpy, fpz, fe, rho, z = (np.empty(n_final) for _ in range(6))
            _compiled.final_particles(offsets, status, pid32, px, py, pz, e, slot, *vertex_xyz, event, pid, fpx, fpy,
                                      fpz, fe, rho, z)
        else:
            final = np.flatnonzero(status > 0)
            slot = slot[final]
            unset = slot < 0
            vx, vy, vz = (np.zeros(len(slot)) for _ in range(3))
            if len(vertex.content):
                for values, data in zip((vx, vy, vz), vertex_xyz):
                    values[:] = data[slot]
                    values[unset] = 0.0
                    if not np.isfinite(values).all():
                        values[:] = np.nan_to_num(values)
            event, pid, fpx, fpy, fpz, fe = (event_of(final), pid32[final].astype(np.int64), px[final], py[final],
                                             pz[final], e[final])
            rho, z = np.hypot(vx, vy), vz
        hpx, hpy = px[heavy], py[heavy]
        hpt = np.hypot(hpx, hpy)
        return cls(
            n_events=n, event=event, pid=pid, px=fpx, py=fpy, pz=fpz, e=fe,
            heavy_quarks=(event_of(heavy), np.abs(pid32[heavy]).astype(np.int64), hpt,
                          _eta(hpx, hpy, pz[heavy], hpt), np.arctan2(hpy, hpx)),
            production_rho_mm=rho, production_z_mm=z,
        )


def _eta(px: np.ndarray, py: np.ndarray, pz: np.ndarray, pt: np.ndarray | None = None) -> np.ndarray:
    pt = np.hypot(px, py) if pt is None else pt
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(np.where(pt > 0, pz / np.where(pt > 0, pt, 1.0), 0.0))
    # particles along the beam: give them a huge |eta| so that every acceptance cut drops them
    return np.where(pt > 0, eta, np.copysign(1e9, pz))


def _delta_phi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a - b + math.pi) % _TWO_PI - math.pi


def _wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Map to (−π, π]."""
    wrapped = (phi + math.pi) % _TWO_PI - math.pi
    return np.where(wrapped == -math.pi, math.pi, wrapped)


def _pairs(cand_event: np.ndarray, target_event: np.ndarray, n_events: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (candidate, target) of every candidate with every target of the same event.

    ``target_event`` must be sorted.
    """
    starts = np.searchsorted(target_event, np.arange(n_events), side="left")
    stops = np.searchsorted(target_event, np.arange(n_events), side="right")
    n_per = (stops - starts)[cand_event]
    cand = np.repeat(np.arange(len(cand_event)), n_per)
    offsets = np.repeat(np.cumsum(n_per) - n_per, n_per)
    target = np.repeat(starts[cand_event], n_per) + (np.arange(len(cand)) - offsets)
    return cand, target


def _binned(table: Mapping[str, Any], abs_eta: np.ndarray, pt: np.ndarray) -> np.ndarray:
    eta_edges = np.asarray(table["abs_eta_edges"], dtype=float)
    pt_edges = np.asarray(table["pt_edges"], dtype=float)
    values = np.asarray(table["values"], dtype=float)
    ie = np.searchsorted(eta_edges, abs_eta, side="right") - 1
    ip = np.searchsorted(pt_edges, pt, side="right") - 1
    inside = (ie >= 0) & (ie < values.shape[0]) & (ip >= 0) & (ip < values.shape[1])
    out = np.zeros(len(pt))
    out[inside] = values[ie[inside], ip[inside]]
    return out


def _by_region(regions: list[Mapping[str, float]], abs_eta: np.ndarray, keys: tuple[str, ...]) -> list[np.ndarray]:
    """The ``keys`` values of the |η| region (upper edges ``eta_max``) each entry falls in; NaN outside."""
    edges = np.array([r["eta_max"] for r in regions], dtype=float)
    index = np.searchsorted(edges, abs_eta, side="left")
    # one NaN slot past the last region catches everything outside
    return [np.array([*(r.get(key, 0.0) for r in regions), np.nan], dtype=float)[index] for key in keys]


def _lognormal(rng: np.random.Generator, mean: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Log-normal draws with the given mean and standard deviation (Delphes' smearing law)."""
    mean = np.asarray(mean, dtype=float)
    sigma = np.nan_to_num(np.asarray(sigma, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.log1p(np.where(mean > 0, (sigma / np.where(mean > 0, mean, 1.0)) ** 2, 0.0))
    mu = np.log(np.where(mean > 0, mean, 1.0)) - 0.5 * s2
    draws = np.exp(mu + np.sqrt(s2) * rng.standard_normal(len(mean)))
    return np.where(mean > 0, draws, 0.0)


def _sorted_collection(event: np.ndarray, pt: np.ndarray, n_events: int, fields: dict[str, np.ndarray]) -> Any:
    """A pT-ordered var-length awkward collection per event."""
    import awkward as ak

    order = np.lexsort((-pt, event))
    offsets = np.zeros(n_events + 1, dtype=np.int64)
    if len(event):
        np.cumsum(np.bincount(event, minlength=n_events), out=offsets[1:])
    # built from its buffers: ak.zip + ak.unflatten give the same layout at several times the cost
    record = ak.contents.RecordArray([ak.contents.NumpyArray(values[order]) for values in fields.values()],
                                     list(fields), length=len(order))
    return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets), record))


def _cluster(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray, starts: np.ndarray, stops: np.ndarray,
             jetdef: Any, pt_min: float) -> tuple[np.ndarray, ...]:
    """Inclusive jets with pt >= ``pt_min`` of every event (inputs ``starts[i]:stops[i]``): their px,
    py, pz, E, the number per event and, for every input, the flat index of its jet or -1.

    Anti-kT with E-scheme recombination (the card's) runs in the compiled port of FastJet where built,
    which gives FastJet's jets bit for bit in 60 % of the time; other definitions run in FastJet.
    """
    import fastjet

    from darkscan.gen import clustering

    if (jetdef.jet_algorithm() == fastjet.antikt_algorithm and jetdef.recombination_scheme() == fastjet.E_scheme
            and jetdef.strategy() == fastjet.Best):
        return clustering.cluster_antikt(px, py, pz, e, starts, stops, jetdef.R(), pt_min)
    return clustering.cluster_with_fastjet(px, py, pz, e, starts, stops, jetdef.R(), pt_min, jetdef=jetdef)


class _Chain(NamedTuple):
    """What the particle-level chain gives the jets and the event table (flat, event-numbered)."""

    invisible_pt: np.ndarray
    met_x: np.ndarray
    met_y: np.ndarray
    photons: tuple[np.ndarray, ...]  # event, pt, eta, phi
    electrons: tuple[np.ndarray, ...]  # event, pt, eta, phi, charge
    muons: tuple[np.ndarray, ...]
    jet_inputs: tuple[np.ndarray, ...]  # px, py, pz, E event after event, and their number per event
    shared: np.ndarray  # jet inputs that belong to a kept photon, electron or muon


_BANNER_SHOWN = False


def _silence_fastjet_banner(jetdef: Any) -> None:
    """FastJet prints its banner to C++ stdout on the first clustering; stdout is for data, so
    cluster once with file descriptor 1 pointed at /dev/null."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return
    import os
    import sys

    import awkward as ak
    import fastjet

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            dummy = ak.Array([[{"px": 1.0, "py": 0.0, "pz": 0.0, "E": 1.0}]], with_name="Momentum4D")
            fastjet.ClusterSequence(dummy, jetdef).inclusive_jets()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_SHOWN = True


class FastDetector:
    """The fast detector for one sample: parameters plus the sample's invisible PDG ids."""

    def __init__(self, params: DetectorParams | None = None, invisible_pdgids: tuple[int, ...] = ()) -> None:
        self.params = params if params is not None else load_detector_params()
        self.invisible = np.array(sorted({*NEUTRINO_PDGIDS, *(abs(int(i)) for i in invisible_pdgids)}), dtype=np.int64)
        calo = self.params["calorimeter"]
        self._ecal_fraction = {int(k): float(v) for k, v in calo["ecal_fraction"].items()}
        self._layers = [self._layer(calo["ecal"]), self._layer(calo["hcal"])]
        import fastjet

        algorithm = str(self.params["jets"].get("algorithm", "antikt")).lower()
        algorithms = {"antikt": fastjet.antikt_algorithm, "kt": fastjet.kt_algorithm,
                      "cambridge": fastjet.cambridge_algorithm}
        if algorithm not in algorithms:
            raise InputFileError(f"{self.params.path}: jets.algorithm {algorithm!r} unknown; allowed: {sorted(algorithms)}")
        self._jetdef = fastjet.JetDefinition(algorithms[algorithm], float(self.params["jets"]["radius"]))
        _silence_fastjet_banner(self._jetdef)
        self._packed = self._packed_params() if _compiled is not None else None

    def _packed_params(self) -> np.ndarray | None:
        """The parameters as ``_detector.c`` reads them, one float64 vector (its ``parse_params``); None
        where the file has more segments or regions than the compiled code holds (the numpy chain runs)."""
        spec = self.params
        values: list[float] = []

        def table(t: Mapping[str, Any]) -> None:
            eta_edges, pt_edges = list(t["abs_eta_edges"]), list(t["pt_edges"])
            values.extend([len(eta_edges), len(pt_edges), *eta_edges, *pt_edges,
                           *np.asarray(t["values"], dtype=float).ravel()])

        def regions(rows: list[Mapping[str, float]], keys: tuple[str, ...]) -> bool:
            values.append(len(rows))
            for r in rows:
                values.extend([r["eta_max"], *(r.get(key, 0.0) for key in keys)])
            return len(rows) <= _compiled.MAX_REGIONS

        fits = True
        tracker = spec["tracker"]
        values += [tracker["radius_m"], tracker["half_length_m"], tracker["bz_tesla"],
                   spec["calorimeter"]["eta_max"], float(bool(spec["met"]["include_muons"]))]
        values += [len(self.invisible), *self.invisible]
        values += [len(_CHARGE_KEYS), *_CHARGE_KEYS, *_CHARGE_VALUES]
        values += [len(self._ecal_fraction), *self._ecal_fraction, *self._ecal_fraction.values()]
        for layer in self._layers:
            fits &= len(layer["segments"]) <= _compiled.MAX_SEGMENTS
            values.append(len(layer["segments"]))
            for segment in layer["segments"]:
                values.extend(segment)
            values.append(layer["n_towers"])
            fits &= regions(layer["resolution"], ("c", "s", "n"))
            values += [layer["energy_min"], layer["significance_min"]]
        for kind in ("electrons", "muons", "charged_hadrons"):
            table(spec[kind]["tracking_efficiency"])
            fits &= regions(spec[kind]["resolution"], ("a", "b"))
        for kind in ("electrons", "muons", "photons"):
            table(spec[kind]["efficiency"])
            iso = spec[kind]["isolation"]
            values += [iso["delta_r"], iso["pt_min"], iso["pt_ratio_max"]]
        return np.array(values, dtype=np.float64) if fits else None

    @staticmethod
    def _layer(spec: Mapping[str, Any]) -> dict[str, Any]:
        segments = []
        offset = 0
        for seg in spec["segments"]:
            n_eta, n_phi = int(seg["n_eta"]), int(seg["n_phi"])
            segments.append((float(seg["eta_min"]), float(seg["eta_max"]), n_eta, n_phi, offset))
            offset += 2 * n_eta * n_phi
        return {"segments": segments, "n_towers": offset, "resolution": list(spec["resolution"]),
                "energy_min": float(spec["energy_min"]), "significance_min": float(spec["significance_min"])}

    # ------------------------------------------------------------------------------------------
    def simulate(self, particles: ParticleArrays, rng: np.random.Generator) -> dict[str, Any]:
        """Reconstructed objects of a batch: the event-table fields except ``weight`` and ``event``.

        The particle-level chain (everything up to the jet inputs) runs compiled (``_detector.c``) where
        built and the events come sorted, as ``from_pythia_batch`` gives them; otherwise in numpy
        (``_chain``). Both draw the same random numbers in the same order and give the same objects.
        """
        n = particles.n_events
        event = particles.event
        if self._packed is not None and (len(event) < 2 or bool(np.all(event[1:] >= event[:-1]))):
            chain = self._chain_compiled(particles, rng)
        else:
            chain = self._chain(particles, rng)
        jets = self._jets(chain.jet_inputs, n, particles.heavy_quarks, chain.shared, rng)

        def collection(obj: tuple[np.ndarray, ...], names: tuple[str, ...]) -> Any:
            return _sorted_collection(obj[0], obj[1], n, dict(zip(names, obj[1:])))

        return {
            "jets": collection(jets, ("pt", "eta", "phi", "mass", "btag")),
            "electrons": collection(chain.electrons, ("pt", "eta", "phi", "charge")),
            "muons": collection(chain.muons, ("pt", "eta", "phi", "charge")),
            "photons": collection(chain.photons, ("pt", "eta", "phi")),
            "met": np.hypot(chain.met_x, chain.met_y),
            "met_phi": _wrap_phi(np.arctan2(chain.met_y, chain.met_x)),
            "invisible_pt": chain.invisible_pt,
        }

    def _chain_compiled(self, particles: ParticleArrays, rng: np.random.Generator) -> _Chain:
        """``_chain`` in ``_detector.c``: one call per batch, drawing from ``rng``'s bit generator."""
        n, size = particles.n_events, len(particles.pid)

        def floats(k: int) -> np.ndarray:
            return np.empty(k)

        def ints(k: int) -> np.ndarray:
            return np.empty(k, dtype=np.int64)

        # (event, pt, eta, phi[, charge]) of photons, electrons, muons: at most one per particle;
        # jet inputs: at most a tower per layer per particle plus the muons
        per_event = (floats(n), floats(n), floats(n))
        photons = (ints(size), floats(size), floats(size), floats(size))
        electrons = (ints(size), floats(size), floats(size), floats(size), ints(size))
        muons = (ints(size), floats(size), floats(size), floats(size), ints(size))
        inputs = (floats(3 * size), floats(3 * size), floats(3 * size), floats(3 * size), ints(n))
        shared = ints(3 * size)
        has_vertex = particles.production_rho_mm is not None and particles.production_z_mm is not None
        vertex = ((particles.production_rho_mm, particles.production_z_mm) if has_vertex
                  else (np.empty(0), np.empty(0)))
        px, py, pz, e = (np.ascontiguousarray(a, dtype=np.float64)
                         for a in (particles.px, particles.py, particles.pz, particles.e))
        # pT, eta, phi of every particle as the numpy chain computes them: the same bits
        pt = np.hypot(px, py)
        arrays = (np.ascontiguousarray(particles.event, dtype=np.int64),
                  np.ascontiguousarray(particles.pid, dtype=np.int64), px, py, pz, e,
                  *(np.ascontiguousarray(a, dtype=np.float64) for a in vertex), pt, _eta(px, py, pz, pt), np.arctan2(py, px))
        bit_generator = rng.bit_generator
        with bit_generator.lock:
            n_photons, n_electrons, n_muons, n_inputs, n_shared = _compiled.simulate(
                bit_generator.capsule, self._packed, arrays,
                (*per_event, *photons, *electrons, *muons, *inputs, shared))

        def lepton(values: tuple[np.ndarray, ...], k: int) -> tuple[np.ndarray, ...]:
            return (*(v[:k] for v in values[:4]), values[4][:k].astype(np.int8))

        return _Chain(*per_event, tuple(v[:n_photons] for v in photons), lepton(electrons, n_electrons),
                      lepton(muons, n_muons), (*(v[:n_inputs] for v in inputs[:4]), inputs[4]), shared[:n_shared])

    def _chain(self, particles: ParticleArrays, rng: np.random.Generator) -> _Chain:
        """The particle-level chain in numpy: tracks, calorimeter towers, energy flow, photons, electrons,
        muons, the jet inputs and MET."""
        n = particles.n_events
        invisible = np.isin(np.abs(particles.pid), self.invisible)
        inv_px = np.bincount(particles.event[invisible], particles.px[invisible], minlength=n)
        inv_py = np.bincount(particles.event[invisible], particles.py[invisible], minlength=n)
        invisible_pt = np.hypot(inv_px, inv_py)

        # Delphes' ParticlePropagator drops particles produced outside the tracker cylinder: the
        # decay products of a K⁰_S, Λ, Σ, Ξ or Ω that flew beyond r = 1.15 m or |z| = 3.51 m (a 40 GeV
        # K⁰_S flies 2 m on average) never reach its calorimeter, tracks or lepton collections.
        # Everything below sees only the visible particles, so it works on those alone.
        seen = np.flatnonzero(~invisible & self._produced_inside_tracker(particles))
        p = ParticleArrays(n_events=n, event=particles.event[seen], pid=particles.pid[seen], px=particles.px[seen],
                           py=particles.py[seen], pz=particles.pz[seen], e=particles.e[seen])
        abs_id = np.abs(p.pid)
        pt = np.hypot(p.px, p.py)
        eta = _eta(p.px, p.py, p.pz, pt)
        phi = np.arctan2(p.py, p.px)
        # Delphes places deposits and judges the efficiency and resolution formulas at the particle's
        # position on the calorimeter face; objects keep the momentum direction
        eta_calo, phi_calo, reaches = self._propagate(p.pid, pt, eta, phi)
        abs_eta = np.abs(eta_calo)

        # tracks: the card's tracking efficiency and momentum smearing, per kind
        charged = (charge_of(p.pid) != 0) & reaches
        kinds = ("electrons", "muons", "charged_hadrons")
        per_kind = [self._tracks(kind, np.flatnonzero(mask), pt, abs_eta, rng) for kind, mask in zip(kinds, (
            charged & (abs_id == 11), charged & (abs_id == 13), charged & (abs_id != 11) & (abs_id != 13)))]
        track_index, track_pt, track_res = (np.concatenate(values) for values in zip(*per_kind))
        track_kind = np.repeat(np.arange(len(kinds)), [len(t[0]) for t in per_kind])

        # calorimeter: every visible particle that reaches it except muons, split ECal / HCal by species
        calo = np.flatnonzero(reaches & (abs_id != 13) & (abs_eta < float(self.params["calorimeter"]["eta_max"])))
        f_ecal = np.zeros(len(p.pid))
        for pid, fraction in self._ecal_fraction.items():
            f_ecal[abs_id == pid] = fraction
        layers = []
        for layer, fraction in zip(self._layers, (f_ecal, 1.0 - f_ecal)):
            towers = self._layer_towers(layer, p.event[calo], p.e[calo] * fraction[calo], eta_calo[calo],
                                        phi_calo[calo], rng)
            tower_of = np.full(len(p.pid), -1, dtype=np.int64)
            tower_of[calo] = towers["tower_of_deposit"]
            # energy flow: the tracks of species that deposit in this layer against their tower (the
            # ECal: electrons; the HCal: charged hadrons); muons have no tower
            flow = self._eflow(layer, towers, tower_of[track_index], fraction[track_index],
                               track_pt * np.cosh(eta[track_index]), track_res)
            # the eflow tracks leave the layer rescaled where their tower's neutral excess was not significant
            track_pt = track_pt * flow["track_scale"]
            layers.append((towers, tower_of, flow))
        tracks = {kind: {"index": track_index[track_kind == k], "pt": track_pt[track_kind == k]}
                  for k, kind in enumerate(kinds)}
        (ecal, ecal_of, ecal_flow), (hcal, hcal_of, hcal_flow) = layers

        # isolation reference: the card's EFlowFilter, i.e. charged-hadron eflow tracks plus the neutral
        # ECal (photon) and HCal (neutral-hadron) excesses; leptons' own tracks are not in it
        hadrons = tracks["charged_hadrons"]
        h_index = hadrons["index"]
        reference = [(p.event[h_index], hadrons["pt"], eta[h_index], phi[h_index])]
        for towers, flow in ((ecal, ecal_flow), (hcal, hcal_flow)):
            t = flow["neutral"]
            reference.append((towers["event"][t], flow["neutral_pt"], towers["eta"][t], towers["phi"][t]))
        ref = tuple(np.concatenate(parts) for parts in zip(*reference))
        ref_order = np.argsort(ref[0], kind="stable")
        ref = tuple(values[ref_order] for values in ref)
        # a photon is its own ECal eflow entry: where that entry landed in the sorted reference
        position = np.empty(len(ref_order), dtype=np.int64)
        position[ref_order] = np.arange(len(ref_order))
        photon_self = position[len(h_index):len(h_index) + len(ecal_flow["neutral"])]

        photons = self._photons(ecal, ecal_flow, photon_self, ref, n, rng)
        electrons = self._leptons("electrons", tracks["electrons"], p, eta, phi, abs_eta, ref, n, rng)
        muons = self._leptons("muons", tracks["muons"], p, eta, phi, abs_eta, ref, n, rng)

        # the card's unique-object finder, in its order photons, electrons, muons, jets: an object that
        # shares a generator particle with one kept before it is dropped. An electron shares its ECal
        # deposit with a photon made from the same tower; muons deposit nothing, so only jets can
        # share them. A photon's particles are all those of its ECal tower.
        # (one slot past the towers: where a particle without an ECal tower, −1, looks)
        photon_tower = np.zeros(len(ecal["event"]) + 1, dtype=bool)
        photon_tower[photons["tower"]] = True
        electrons = {k: v[~photon_tower[ecal_of[electrons["index"]]]] for k, v in electrons.items()}
        owned = np.concatenate((np.flatnonzero(photon_tower[ecal_of]), electrons["index"]))

        # jet inputs and MET: the card's Calorimeter merger, ECal and HCal towers plus every tracked muon
        ecal_kept, hcal_kept = np.flatnonzero(ecal["energy"] > 0), np.flatnonzero(hcal["energy"] > 0)
        parts = [(ecal["event"][ecal_kept], ecal["pt"][ecal_kept], ecal["eta"][ecal_kept], ecal["phi"][ecal_kept]),
                 (hcal["event"][hcal_kept], hcal["pt"][hcal_kept], hcal["eta"][hcal_kept], hcal["phi"][hcal_kept])]
        mu_tracks = tracks["muons"]
        include_muons = bool(self.params["met"]["include_muons"])
        if include_muons:
            mu = mu_tracks["index"]
            parts.append((p.event[mu], mu_tracks["pt"], eta[mu], phi[mu]))
        i_event, i_pt, i_eta, i_phi = (np.concatenate(values) for values in zip(*parts))
        i_px, i_py = i_pt * np.cos(i_phi), i_pt * np.sin(i_phi)
        met_x = -np.bincount(i_event, i_px, minlength=n)
        met_y = -np.bincount(i_event, i_py, minlength=n)

        # jet-input index of each ECal / HCal tower and tracked muon (−1: not an input)
        input_of_ecal = np.full(len(ecal["event"]), -1, dtype=np.int64)
        input_of_ecal[ecal_kept] = np.arange(len(ecal_kept))
        input_of_hcal = np.full(len(hcal["event"]), -1, dtype=np.int64)
        input_of_hcal[hcal_kept] = len(ecal_kept) + np.arange(len(hcal_kept))
        owned_ecal, owned_hcal = ecal_of[owned], hcal_of[owned]
        shared = [input_of_ecal[owned_ecal[owned_ecal >= 0]], input_of_hcal[owned_hcal[owned_hcal >= 0]]]
        if include_muons:
            mu_input = len(ecal_kept) + len(hcal_kept) + np.searchsorted(mu_tracks["index"], muons["index"])
            shared.append(mu_input)
        def lepton(obj: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
            return obj["event"], obj["pt"], obj["eta"], obj["phi"], obj["charge"]

        # the jet inputs event after event (a stable sort keeps each event's ECal, HCal, muon order)
        order = np.argsort(i_event, kind="stable")
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        t_pt, t_eta = i_pt[order], i_eta[order]
        jet_inputs = (i_px[order], i_py[order], t_pt * np.sinh(t_eta), t_pt * np.cosh(t_eta),
                      np.bincount(i_event, minlength=n))
        shared_inputs = np.concatenate(shared)
        return _Chain(invisible_pt, met_x, met_y, tuple(photons[k] for k in ("event", "pt", "eta", "phi")),
                      lepton(electrons), lepton(muons), jet_inputs, position[shared_inputs[shared_inputs >= 0]])

    # ------------------------------------------------------------------------------------------
    def _produced_inside_tracker(self, p: ParticleArrays) -> np.ndarray:
        """Whether each particle starts inside the tracker cylinder (all of them without vertices)."""
        if p.production_rho_mm is None or p.production_z_mm is None:
            return np.ones(len(p.pid), dtype=bool)
        spec = self.params["tracker"]
        return ((p.production_rho_mm <= 1e3 * float(spec["radius_m"]))
                & (np.abs(p.production_z_mm) <= 1e3 * float(spec["half_length_m"])))

    def _propagate(self, pid: np.ndarray, pt: np.ndarray, eta: np.ndarray,
                   phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position (η, φ) on the calorimeter face and whether the particle gets there, as Delphes'
        ParticlePropagator: neutral particles fly straight; charged ones follow their helix to the
        barrel (ρ = radius) or, if they get there first, an endcap (|z| = half_length). A particle that
        curls up inside the tracker (pT < 0.3·B·radius/2) leaves through an endcap, at a large |η|;
        one with pz = 0 never leaves (Delphes' propagation time is then infinite)."""
        spec = self.params["tracker"]
        charge = charge_of(pid)
        radius, half_length, bz = float(spec["radius_m"]), float(spec["half_length_m"]), float(spec["bz_tesla"])
        helix = np.flatnonzero((charge != 0) & (pt > 0) & (np.abs(eta) < 1e8))
        curvature_radius = pt[helix] / (0.3 * bz)  # metres, pT in GeV, B in T
        sinh_eta = np.sinh(eta[helix])
        x = radius / (2.0 * curvature_radius)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # transverse path length to the barrel (infinite for a particle that curls up) or the endcap
            to_barrel = np.where(x <= 1.0, 2.0 * curvature_radius * np.arcsin(np.minimum(x, 1.0)), np.inf)
            path = np.minimum(to_barrel, half_length / np.abs(sinh_eta))
            half_turn = path / (2.0 * curvature_radius)
            rho = 2.0 * curvature_radius * np.abs(np.sin(half_turn))  # the chord: distance from the beam
            helix_eta = np.arcsinh(sinh_eta * path / rho)
        gets_there = np.isfinite(path) & (rho > 0)
        eta_calo, phi_calo, reaches = eta.copy(), phi.copy(), np.ones(len(pid), dtype=bool)
        eta_calo[helix] = np.where(gets_there, helix_eta, 0.0)
        # a positive charge in a field along +z turns clockwise: its azimuth decreases
        phi_calo[helix] = _wrap_phi(phi[helix] - charge[helix] * np.where(gets_there, half_turn, 0.0))
        reaches[helix] = gets_there
        return eta_calo, phi_calo, reaches

    def _tracks(self, kind: str, index: np.ndarray, pt: np.ndarray, abs_eta: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tracked particles of one kind: the tracking efficiency, then the log-normal pT smearing with the
        relative resolution sqrt(a² + (b·pT)²) (kept per track: the energy flow weighs tracks by it)."""
        spec = self.params[kind]
        index = index[rng.random(len(index)) < _binned(spec["tracking_efficiency"], abs_eta[index], pt[index])]
        a, b = _by_region(spec["resolution"], abs_eta[index], ("a", "b"))
        relative = np.minimum(np.nan_to_num(np.hypot(a, b * pt[index])), 1.0)  # Delphes caps it at 1
        return index, _lognormal(rng, pt[index], relative * pt[index]), relative

    def _isolated(self, event: np.ndarray, cand_pt: np.ndarray, cand_eta: np.ndarray, cand_phi: np.ndarray,
                  self_ref: np.ndarray | None, ref: tuple[np.ndarray, ...], n_events: int,
                  spec: Mapping[str, float]) -> np.ndarray:
        """Delphes' Isolation: Σ pT of the eflow objects above ``pt_min`` within ΔR ≤ ``delta_r`` (not the
        candidate itself, ``self_ref``: its position in ``ref``) at most ``pt_ratio_max`` × pT."""
        if len(event) == 0:
            return np.zeros(0, dtype=bool)
        r_event, r_pt, r_eta, r_phi = ref
        use = np.flatnonzero(r_pt > float(spec["pt_min"]))
        c, t = _pairs(event, r_event[use], n_events)
        ti = use[t]
        dr2 = (cand_eta[c] - r_eta[ti]) ** 2 + _delta_phi(cand_phi[c], r_phi[ti]) ** 2
        inside = dr2 <= float(spec["delta_r"]) ** 2
        if self_ref is not None:
            inside &= ti != self_ref[c]
        sums = np.bincount(c[inside], r_pt[ti[inside]], minlength=len(event))
        return sums <= float(spec["pt_ratio_max"]) * cand_pt

    def _leptons(self, kind: str, tracks: dict[str, np.ndarray], p: ParticleArrays, eta: np.ndarray, phi: np.ndarray,
                 abs_eta: np.ndarray, ref: tuple[np.ndarray, ...], n_events: int,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Tracked leptons (eflow pT) that pass the identification efficiency and the isolation."""
        spec = self.params[kind]
        index, pt = tracks["index"], tracks["pt"]
        keep = rng.random(len(index)) < _binned(spec["efficiency"], abs_eta[index], pt)
        index, pt = index[keep], pt[keep]
        iso = self._isolated(p.event[index], pt, eta[index], phi[index], None, ref, n_events, spec["isolation"])
        index, pt = index[iso], pt[iso]
        charge = np.where(p.pid[index] > 0, -1, 1).astype(np.int8)  # e-, mu- have positive PDG ids
        return {"index": index, "event": p.event[index], "pt": pt, "eta": eta[index], "phi": phi[index],
                "charge": charge}

    def _photons(self, ecal: dict[str, np.ndarray], flow: dict[str, np.ndarray], self_ref: np.ndarray,
                 ref: tuple[np.ndarray, ...], n_events: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The card's photons: ECal eflow photons (each tower's neutral excess) passing the efficiency
        and the isolation."""
        spec = self.params["photons"]
        tower, pt = flow["neutral"], flow["neutral_pt"]
        event, eta, phi = ecal["event"][tower], ecal["eta"][tower], ecal["phi"][tower]
        keep = rng.random(len(tower)) < _binned(spec["efficiency"], np.abs(eta), pt)
        keep[keep] = self._isolated(event[keep], pt[keep], eta[keep], phi[keep], self_ref[keep], ref, n_events,
                                    spec["isolation"])
        return {"tower": tower[keep], "event": event[keep], "pt": pt[keep], "eta": eta[keep], "phi": phi[keep]}

    def _layer_towers(self, layer: dict[str, Any], event: np.ndarray, energy: np.ndarray, eta: np.ndarray,
                      phi: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Every hit tower of one layer (``energy``: each particle's deposit in it), smeared; ``energy`` is 0
        for a tower below the thresholds (it still takes part in the energy flow, as in Delphes).
        ``tower_of_deposit``: each particle's tower, −1 without a deposit."""
        tower_of_deposit = np.full(len(energy), -1, dtype=np.int64)
        deposits = np.flatnonzero(energy > 0)
        event, energy, eta, phi = event[deposits], energy[deposits], eta[deposits], phi[deposits]
        abs_eta = np.abs(eta)
        tower = np.full(len(energy), -1, dtype=np.int64)
        n_towers = layer["n_towers"]
        for lo, hi, n_eta, n_phi, offset in layer["segments"]:
            inside = (abs_eta >= lo) & (abs_eta < hi)
            ieta = np.minimum(((abs_eta[inside] - lo) / (hi - lo) * n_eta).astype(np.int64), n_eta - 1)
            side = (eta[inside] < 0).astype(np.int64)
            iphi = np.minimum(((phi[inside] + math.pi) / _TWO_PI * n_phi).astype(np.int64), n_phi - 1)
            tower[inside] = offset + (side * n_eta + ieta) * n_phi + iphi
        hit = tower >= 0
        keys = event[hit] * n_towers + tower[hit]
        unique, inverse = np.unique(keys, return_inverse=True)
        tower_of_deposit[deposits[hit]] = inverse
        tower_energy = np.bincount(inverse, energy[hit], minlength=len(unique))
        t_event = unique // n_towers
        t_id = unique % n_towers
        # decode each tower's cell back to its (eta, phi) box
        t_eta = np.empty(len(unique))
        t_phi = np.empty(len(unique))
        t_centre = np.empty(len(unique))  # |eta| of the cell's centre, where Delphes judges the resolution
        for lo, hi, n_eta, n_phi, offset in layer["segments"]:
            mine = (t_id >= offset) & (t_id < offset + 2 * n_eta * n_phi)
            local = t_id[mine] - offset
            cell, iphi = np.divmod(local, n_phi)
            side, ieta = np.divmod(cell, n_eta)
            width = (hi - lo) / n_eta
            u_eta = rng.random(len(local))
            drawn = lo + (ieta + u_eta) * width
            t_eta[mine] = np.where(side == 1, -drawn, drawn)
            t_centre[mine] = lo + (ieta + 0.5) * width
            t_phi[mine] = -math.pi + (iphi + rng.random(len(local))) * (_TWO_PI / n_phi)
        c, s, noise = _by_region(layer["resolution"], t_centre, ("c", "s", "n"))
        smeared = _lognormal(rng, tower_energy, np.sqrt((c * tower_energy) ** 2 + s ** 2 * tower_energy + noise ** 2))
        # Delphes judges the significance with the resolution at the smeared (measured) energy
        sigma_measured = np.nan_to_num(np.sqrt((c * smeared) ** 2 + s ** 2 * smeared + noise ** 2))
        keep = (smeared > layer["energy_min"]) & (smeared > layer["significance_min"] * sigma_measured)
        measured = np.where(keep, smeared, 0.0)
        return {"event": t_event, "eta": t_eta, "phi": _wrap_phi(t_phi), "energy": measured,
                "pt": measured / np.cosh(t_eta), "sigma": sigma_measured, "tower_of_deposit": tower_of_deposit}

    def _eflow(self, layer: dict[str, Any], towers: dict[str, np.ndarray], track_tower: np.ndarray,
               track_fraction: np.ndarray, track_energy: np.ndarray, track_res: np.ndarray) -> dict[str, np.ndarray]:
        """Delphes' SimpleCalorimeter energy flow for one layer. Tracks whose species deposits in this layer
        count against their tower: a significant neutral excess (measured energy − track energy) becomes
        a neutral eflow object (``neutral``: the towers, ``neutral_pt``); otherwise the tracks are scaled to
        the weighted mean of the track and calorimeter measurements (``track_scale``, one per track)."""
        counted = np.flatnonzero((track_fraction > 1e-9) & (track_tower >= 0))
        n_towers = len(towers["event"])
        energy = track_energy[counted] * track_fraction[counted]
        track_sum = np.bincount(track_tower[counted], energy, minlength=n_towers)
        # the card's fractions are 0 or 1 for every tracked species, where Delphes' guess of a track's
        # calorimeter energy is the track energy itself
        track_sigma2 = np.bincount(track_tower[counted], (track_res[counted] * energy) ** 2, minlength=n_towers)
        measured, sigma = towers["energy"], towers["sigma"]
        neutral = np.maximum(measured - track_sum, 0.0)
        total_sigma = np.sqrt(track_sigma2 + sigma**2)
        with np.errstate(divide="ignore", invalid="ignore"):
            significant = (neutral > layer["energy_min"]) & (neutral / total_sigma > layer["significance_min"])
            w_track = np.where(track_sigma2 > 0, 1.0 / track_sigma2, 0.0)
            w_calo = np.where(sigma > 0, 1.0 / sigma**2, 0.0)
            best = (w_track * track_sum + w_calo * measured) / (w_track + w_calo)
            tower_scale = np.where(~significant & (track_sum > 0), best / track_sum, 1.0)
        track_scale = np.ones(len(track_tower))
        track_scale[counted] = tower_scale[track_tower[counted]]
        index = np.flatnonzero(significant)
        return {"neutral": index, "neutral_pt": neutral[index] / np.cosh(towers["eta"][index]),
                "track_scale": track_scale}

    def _jets(self, inputs: tuple[np.ndarray, ...], n_events: int, heavy_quarks: Any, shared: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """Jets from the inputs ``(px, py, pz, E, number per event)``, event after event, less those
        containing an input of ``shared`` (a deposit of a kept photon or electron, or a kept muon)."""
        t_px, t_py, t_pz, t_e, counts = inputs
        spec = self.params["jets"]
        if len(t_px):
            stops = np.cumsum(counts)
            jpx, jpy, jpz, je, j_counts, jet_of_input = _cluster(t_px, t_py, t_pz, t_e, stops - counts, stops,
                                                                 self._jetdef, float(spec["pt_min"]))
        else:
            j_counts, jet_of_input = np.zeros(n_events, dtype=np.int64), np.zeros(0, dtype=np.int64)
            jpx = jpy = jpz = je = np.zeros(0)
        j_event = np.repeat(np.arange(n_events, dtype=np.int64), j_counts)
        jpt = np.hypot(jpx, jpy)
        jeta = _eta(jpx, jpy, jpz, jpt)
        jphi = np.arctan2(jpy, jpx)
        jmass = np.sqrt(np.maximum(je**2 - jpx**2 - jpy**2 - jpz**2, 0.0))
        scale = np.sqrt((float(spec["energy_scale"]["a"]) - float(spec["energy_scale"]["b"]) * np.abs(jeta)) ** 2
                        / np.where(jpt > 0, jpt, 1.0) + 1.0)
        jpt, jmass = jpt * scale, jmass * scale

        keep = np.ones(len(jpt), dtype=bool)
        taken = jet_of_input[shared]
        keep[taken[taken >= 0]] = False
        j_event, jpt, jeta, jphi, jmass = j_event[keep], jpt[keep], jeta[keep], jphi[keep], jmass[keep]
        btag = self._btag(j_event, jpt, jeta, jphi, n_events, heavy_quarks, rng)
        return j_event, jpt, jeta, jphi, jmass, btag

    def _btag(self, j_event: np.ndarray, jpt: np.ndarray, jeta: np.ndarray, jphi: np.ndarray, n_events: int,
              heavy_quarks: Any, rng: np.random.Generator) -> np.ndarray:
        spec = self.params["btag"]
        flavour = np.zeros(len(jpt), dtype=np.int64)
        if heavy_quarks is not None and len(jpt):
            q_event, q_id, q_pt, q_eta, q_phi = heavy_quarks
            ok = (q_pt > float(spec["parton_pt_min"])) & (np.abs(q_eta) < float(spec["parton_eta_max"]))
            q_event, q_id, q_eta, q_phi = q_event[ok], q_id[ok], q_eta[ok], q_phi[ok]
            order = np.argsort(q_event, kind="stable")
            q_event, q_id, q_eta, q_phi = q_event[order], q_id[order], q_eta[order], q_phi[order]
            c, t = _pairs(j_event, q_event, n_events)
            dr2 = (jeta[c] - q_eta[t]) ** 2 + _delta_phi(jphi[c], q_phi[t]) ** 2
            near = dr2 < float(spec["delta_r"]) ** 2
            np.maximum.at(flavour, c[near], q_id[t[near]])

        def efficiency(k: Mapping[str, float], x: np.ndarray) -> np.ndarray:
            return (k["p0"] * np.tanh(k["p1"] * x) * (k["p2"] / (1.0 + k["p3"] * x)) + k["p4"] + k["p5"] * x)

        eff = np.where(flavour == 5, efficiency(spec["b"], jpt),
                       np.where(flavour == 4, efficiency(spec["c"], jpt), efficiency(spec["light"], jpt)))
        return (rng.random(len(jpt)) < eff).astype(np.int8)
