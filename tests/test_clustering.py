"""The compiled anti-kT (darkscan.gen._antikt) gives FastJet's jets bit for bit.

It ports FastJet's own strategies and arithmetic, so equality is exact: on the towers of real Pythia
events through the fast detector, and on the inputs where an implementation could differ (exact ties
of distances, zero-pt and beam-collinear inputs, duplicates, the phi wrap, each side of FastJet's
strategy switches at 32/33 and 768/769 inputs for R = 0.6, empty and one-input events).
"""

from __future__ import annotations

import numpy as np
import pytest

from darkscan.gen import clustering
from darkscan.gen.clustering import HAVE_COMPILED, cluster_antikt, cluster_with_fastjet

needs_compiled = pytest.mark.skipif(not HAVE_COMPILED, reason="darkscan.gen._antikt not built (setup.py build_ext)")
FIELDS = ("px", "py", "pz", "E", "counts", "jet_of_input")


def _momenta(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, ...]:
    return pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)


def _flatten(events: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    sizes = np.array([len(ev[0]) for ev in events], dtype=np.int64)
    stops = np.cumsum(sizes)
    return (*(np.concatenate([ev[k] for ev in events]) for k in range(4)), stops - sizes, stops)


def _assert_identical(got: tuple[np.ndarray, ...], expected: tuple[np.ndarray, ...]) -> None:
    for a, b, name in zip(got, expected, FIELDS):
        assert a.dtype == b.dtype and a.shape == b.shape, name
        np.testing.assert_array_equal(a, b, err_msg=name)


def _edge_events() -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(5)
    events = [(np.zeros(0),) * 4, _momenta(np.array([30.0]), np.array([0.3]), np.array([1.0])),
              (np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1))]
    # grids: every distance repeats, and with equal pts every dij ties
    for side in (3, 6, 10, 20, 29):
        grid = np.arange(side) * 0.25
        eta, phi = (g.ravel() for g in np.meshgrid(grid - 1.0, grid))
        for pt in (np.full(len(eta), 25.0), rng.integers(1, 4, len(eta)) * 10.0):
            events.append(_momenta(pt, eta, phi))
    for n in (4, 32, 33, 120, 768, 769, 900):
        pt, eta, phi = rng.exponential(6.0, n), rng.uniform(-4.0, 4.0, n), rng.uniform(-np.pi, np.pi, n)
        px, py, pz, e = _momenta(pt, eta, phi)
        px[:2] = py[:2] = 0.0  # along the beam: FastJet's +-(1e5 + |pz|) rapidities
        pz[0], e[0], pz[1], e[1] = 7.0, 7.0, -3.0, 5.0
        px[2], py[2], pz[2], e[2] = px[3], py[3], pz[3], e[3]  # a duplicate
        events.append((px, py, pz, e))
        wrapped = np.where(rng.random(n) < 0.5, rng.uniform(-np.pi, -np.pi + 0.4, n), rng.uniform(np.pi - 0.4, np.pi, n))
        events.append(_momenta(pt, eta, wrapped))
    return events


@needs_compiled
@pytest.mark.parametrize("pt_min", [0.0, 10.0, 25.0])  # 25: the grid jets sit exactly on the threshold
def test_edge_cases_equal_fastjet(pt_min: float) -> None:
    inputs = _flatten(_edge_events())
    got = cluster_antikt(*inputs, 0.6, pt_min)
    _assert_identical(got, cluster_with_fastjet(*inputs, 0.6, pt_min))
    assert got[4][0] == 0 and got[4][2] == (pt_min == 0)  # empty; a zero input is a jet only at pt_min 0
    assert got[4].sum() > 100


@needs_compiled
def test_other_radii_equal_fastjet() -> None:
    inputs = _flatten(_edge_events())
    for radius in (0.4, 1.0):  # R = 1: FastJet's LazyTiling from 75 inputs, left to FastJet
        _assert_identical(cluster_antikt(*inputs, radius, 5.0), cluster_with_fastjet(*inputs, radius, 5.0))


@pytest.fixture(scope="module")
def pythia_towers() -> list[tuple[np.ndarray, ...]]:
    """The fast detector's towers for real Pythia events (Z(νν)+jet and a min-bias-like QCD dijet)."""
    from darkscan.gen.detector import FastDetector, ParticleArrays
    from darkscan.gen.pythia import PythiaRun, recipe_for

    det = FastDetector()
    seen: list = []
    original = det._jets
    det._jets = lambda towers, *args: seen.append(towers) or original(towers, *args)  # type: ignore[method-assign]
    for process, cuts in (("sm_znunu_jet", {"ptj": 150.0}), ("sm_zz_llvv", {})):
        run = PythiaRun(recipe_for(process, {}, cuts), sqrt_s_gev=13000.0, preset="fast", seed=21)
        det.simulate(ParticleArrays.from_pythia_batch(run.batch(80)), np.random.default_rng(3))
    towers = []
    for px, py, pz, e, counts in seen:  # the jet inputs, event after event, and their number per event
        stops = np.cumsum(counts)
        towers.append((px, py, pz, e, stops - counts, stops))
    return towers


@needs_compiled
def test_pythia_towers_equal_fastjet(pythia_towers: list) -> None:
    sizes = []
    for inputs in pythia_towers:
        got = cluster_antikt(*inputs, 0.6, 20.0)
        _assert_identical(got, cluster_with_fastjet(*inputs, 0.6, 20.0))
        assert got[4].sum() > 30
        sizes.append(inputs[5] - inputs[4])
    sizes = np.concatenate(sizes)
    assert sizes.min() <= 32 < sizes.max()  # both strategies FastJet picks for these sizes ran


def test_jet_of_input_sums_to_the_jets(pythia_towers: list) -> None:
    inputs = pythia_towers[0]
    jpx, jpy, jpz, je, counts, jet_of_input = cluster_antikt(*inputs, 0.6, 20.0)
    member = jet_of_input >= 0
    for values, jet in zip(inputs[:4], (jpx, jpy, jpz, je)):
        # the same sum in another order: equal to rounding
        np.testing.assert_allclose(np.bincount(jet_of_input[member], values[member], minlength=len(jet)), jet,
                                   rtol=1e-12, atol=1e-9)
    # every jet's inputs lie in its event
    event_of_input = np.repeat(np.arange(len(counts)), inputs[5] - inputs[4])
    np.testing.assert_array_equal(event_of_input[member], np.repeat(np.arange(len(counts)), counts)[jet_of_input[member]])


def test_without_the_extension_fastjet_gives_the_same(monkeypatch: pytest.MonkeyPatch, pythia_towers: list) -> None:
    inputs = _flatten(_edge_events()[:12])
    compiled = cluster_antikt(*inputs, 0.6, 10.0), cluster_antikt(*pythia_towers[1], 0.6, 20.0)
    monkeypatch.setattr(clustering, "_compiled", None)
    _assert_identical(cluster_antikt(*inputs, 0.6, 10.0), compiled[0])
    _assert_identical(cluster_antikt(*pythia_towers[1], 0.6, 20.0), compiled[1])
