"""Anti-kT jets of many events on flat arrays: the compiled port of FastJet's clustering, FastJet itself
as the fallback.

``darkscan.gen._antikt`` (built by setup.py, optional) runs FastJet's own strategies for the event
sizes the fast detector sees with FastJet's arithmetic, so its jets are FastJet's bit for bit
(tests/test_clustering.py compares them) at about 60 % of the time (``benchmarks/jet_clustering.py``).
It leaves events it does not port (FastJet's LazyTiling for > 768 inputs at R = 0.6, any > 32 inputs at
R >= 0.65) to FastJet, as it does everything when the extension is not built.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from darkscan.gen import _antikt as _compiled
except ImportError:  # built without a C compiler: FastJet does all of it
    _compiled = None

__all__ = ["HAVE_COMPILED", "cluster_antikt", "cluster_with_fastjet"]

HAVE_COMPILED = _compiled is not None

Jets = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _flat(values: np.ndarray, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=dtype)


def cluster_antikt(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray, starts: np.ndarray,
                   stops: np.ndarray, radius: float, pt_min: float) -> Jets:
    """Inclusive anti-kT jets with pt >= ``pt_min`` of every event (inputs ``starts[i]:stops[i]``).

    Returns ``(jpx, jpy, jpz, je, counts, jet_of_input)``: the jets' four-momenta flat, event after
    event in the order of FastJet's ``inclusive_jets``; their number per event; for every input the
    flat index of the kept jet it ended in, or -1.
    """
    px, py, pz, e = (_flat(v, np.float64) for v in (px, py, pz, e))
    starts, stops = _flat(starts, np.int64), _flat(stops, np.int64)
    if _compiled is None or not 0 < radius < np.pi:
        return cluster_with_fastjet(px, py, pz, e, starts, stops, radius, pt_min)
    n = len(px)
    jpx, jpy, jpz, je = (np.empty(n) for _ in range(4))
    counts = np.empty(len(starts), dtype=np.int64)
    jet_of_input = np.empty(n, dtype=np.int64)
    n_jets = _compiled.cluster(px, py, pz, e, starts, stops, float(radius), float(pt_min),
                               jpx, jpy, jpz, je, counts, jet_of_input)
    jets = (jpx[:n_jets], jpy[:n_jets], jpz[:n_jets], je[:n_jets], counts, jet_of_input)
    left = np.flatnonzero(counts < 0)
    return _splice(jets, left, px, py, pz, e, starts, stops, radius, pt_min) if len(left) else jets


def _splice(jets: Jets, left: np.ndarray, px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray,
            starts: np.ndarray, stops: np.ndarray, radius: float, pt_min: float) -> Jets:
    """Put FastJet's jets of the events the compiled code left (count -1) in their places."""
    jpx, jpy, jpz, je, counts, jet_of_input = jets
    sizes = stops[left] - starts[left]
    inputs = np.concatenate([np.arange(a, b) for a, b in zip(starts[left], stops[left])])
    sub_stops = np.cumsum(sizes)
    fj = cluster_with_fastjet(px[inputs], py[inputs], pz[inputs], e[inputs], sub_stops - sizes, sub_stops,
                              radius, pt_min)
    counts = counts.copy()
    counts[left] = fj[4]
    # each event's jets move to where the per-event counts put them
    old_offsets = np.concatenate(([0], np.cumsum(np.where(jets[4] < 0, 0, jets[4]))))
    new_offsets = np.concatenate(([0], np.cumsum(counts)))
    n_jets = int(new_offsets[-1])
    is_left = np.zeros(len(counts), dtype=bool)
    is_left[left] = True
    kept = np.flatnonzero(~is_left)
    src = np.concatenate([np.arange(old_offsets[i], old_offsets[i + 1]) for i in kept] or [np.zeros(0, np.int64)])
    dst = np.concatenate([np.arange(new_offsets[i], new_offsets[i + 1]) for i in kept] or [np.zeros(0, np.int64)])
    fj_dst = np.concatenate([np.arange(new_offsets[i], new_offsets[i + 1]) for i in left])
    out = []
    for mine, theirs in zip((jpx, jpy, jpz, je), fj[:4]):
        values = np.empty(n_jets)
        values[dst] = mine[src]
        values[fj_dst] = theirs
        out.append(values)
    remap = np.full(len(jpx) + 1, -1, dtype=np.int64)
    remap[src] = dst
    jet_of_input = remap[jet_of_input]  # -1 stays -1 through the extra last slot
    jet_of_input[inputs] = np.where(fj[5] >= 0, fj_dst[np.maximum(fj[5], 0)], -1)
    return (*out, counts, jet_of_input)


def cluster_with_fastjet(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray, starts: np.ndarray,
                         stops: np.ndarray, radius: float, pt_min: float, jetdef: Any = None) -> Jets:
    """``cluster_antikt`` by FastJet's C++ (one ClusterSequence per event), ``jetdef`` in place of
    anti-kT with ``radius`` when given.

    The call ``fastjet.ClusterSequence`` makes on an awkward array, made directly on the flat arrays:
    building and taking apart the awkward arrays around it cost as much as the clustering itself.
    """
    import fastjet

    if jetdef is None:
        jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, float(radius))
    px, py, pz, e = (_flat(v, np.float64) for v in (px, py, pz, e))
    starts, stops = _flat(starts, np.int64), _flat(stops, np.int64)
    jet_of_input = np.full(len(px), -1, dtype=np.int64)
    try:
        results = fastjet._ext.interfacemulti(px, py, pz, e, starts, stops, jetdef)
        jpx, jpy, jpz, je, offsets = results.to_numpy(pt_min)
        cons_offsets, cons, _ = results.to_numpy_with_constituents(pt_min)
    except (AttributeError, TypeError):  # a fastjet release whose private entry point differs: the public one
        import awkward as ak

        inputs = ak.unflatten(ak.zip({"px": px, "py": py, "pz": pz, "E": e}, with_name="Momentum4D"), stops - starts)
        sequence = fastjet.ClusterSequence(inputs, jetdef)
        jets = sequence.inclusive_jets(min_pt=pt_min)
        counts = ak.to_numpy(ak.num(jets)).astype(np.int64)
        members = sequence.constituent_index(min_pt=pt_min)
        per_jet = ak.to_numpy(ak.flatten(ak.num(members, axis=2)))
        cons = ak.to_numpy(ak.flatten(members, axis=None))
        jet = np.repeat(np.arange(len(per_jet)), per_jet)
        jet_of_input[np.repeat(starts, counts)[jet] + cons] = jet
        return (*(ak.to_numpy(ak.flatten(jets[c])).astype(np.float64) for c in ("px", "py", "pz", "E")),
                counts, jet_of_input)
    counts = np.diff(offsets).astype(np.int64)
    # constituents are indices inside their event; the array behind them can be longer than used
    per_jet = np.diff(cons_offsets)
    cons = np.asarray(cons[: int(cons_offsets[-1])], dtype=np.int64)
    jet = np.repeat(np.arange(len(per_jet)), per_jet)
    jet_of_input[np.repeat(starts, counts)[jet] + cons] = jet
    return (np.asarray(jpx, np.float64), np.asarray(jpy, np.float64), np.asarray(jpz, np.float64),
            np.asarray(je, np.float64), counts, jet_of_input)
