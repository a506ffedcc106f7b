"""The fast detector's output is pinned: the same particles and seed give the same event table.

Speed work on the detector must not change a single jet. Three guards:

- the flat-array paths against the high-level awkward/fastjet calls they replaced, on real Pythia
  events (bit for bit: same machine, same libraries);
- a reference event table (``tests/data/detector_reference.npz``) of a seeded synthetic sample
  covering every collection: counts and integers exactly, floats to 1e-9 relative (a different CPU
  may round a transcendental function differently in the last bit; a physics change moves far more).

A change that is meant to change the detector's output regenerates the reference with
``DARKSCAN_UPDATE_DETECTOR_REFERENCE=1 python -m pytest tests/test_detector_identity.py`` and says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from darkscan.gen import detector
from darkscan.gen.detector import FastDetector, ParticleArrays

REFERENCE = Path(__file__).parent / "data" / "detector_reference.npz"
COLLECTIONS = {"jets": ("pt", "eta", "phi", "mass", "btag"), "electrons": ("pt", "eta", "phi", "charge"),
               "muons": ("pt", "eta", "phi", "charge"), "photons": ("pt", "eta", "phi")}


def _synthetic_particles(n_events: int = 300, seed: int = 2024) -> ParticleArrays:
    """Jet-like sprays of pions, photons, K⁰_L, protons and kaons around 1–3 hard directions, plus
    electrons, muons, neutrinos, a BSM invisible (52), some particles produced outside the tracker
    and b quarks near some sprays: every branch of the detector is exercised."""
    rng = np.random.default_rng(seed)
    rows = []
    quarks = []
    species = np.array([211, -211, 22, 22, 130, 321, -2212, 310])
    for event in range(n_events):
        directions = []
        for _ in range(rng.integers(1, 5)):
            # from sprays near the 20 GeV jet threshold to hard ones
            pt_total, eta0, phi0 = rng.uniform(15.0, 400.0), rng.uniform(-3.0, 3.0), rng.uniform(-np.pi, np.pi)
            directions.append((eta0, phi0))
            n = int(rng.integers(5, 40))
            fractions = rng.dirichlet(np.full(n, 0.7))
            for f in fractions:
                rows.append((event, int(rng.choice(species)), pt_total * f, eta0 + rng.normal(0, 0.15),
                             phi0 + rng.normal(0, 0.15), 2000.0 if rng.random() < 0.03 else 0.0))
            if rng.random() < 0.3:
                quarks.append((event, 5 if rng.random() < 0.7 else 4, pt_total, eta0, phi0))
        for pid, probability in ((11, 0.5), (-13, 0.5), (22, 0.3), (12, 0.5), (52, 0.5)):
            if rng.random() < probability:
                # half of the leptons and photons sit inside or beside a spray (isolation, overlap removal)
                eta0, phi0 = (directions[0] if rng.random() < 0.5 and pid in (11, -13, 22)
                              else (rng.uniform(-2.7, 2.7), rng.uniform(-np.pi, np.pi)))
                rows.append((event, pid * (1 if rng.random() < 0.5 else -1) if pid != 52 else 52,
                             rng.uniform(5.0, 200.0), eta0 + rng.normal(0, 0.3), phi0 + rng.normal(0, 0.3), 0.0))
        rows += [(event, 211, rng.uniform(0.1, 3.0), rng.uniform(-5.0, 5.0), rng.uniform(-np.pi, np.pi), 0.0)
                 for _ in range(int(rng.integers(5, 30)))]  # soft underlying particles, some curling up
    event, pid, pt, eta, phi, rho = (np.array(c) for c in zip(*rows))
    phi = (phi + np.pi) % (2 * np.pi) - np.pi
    q_event, q_id, q_pt, q_eta, q_phi = (np.array(c) for c in zip(*quarks))
    return ParticleArrays(n_events=n_events, event=event.astype(np.int64), pid=pid.astype(np.int64),
                          px=pt * np.cos(phi), py=pt * np.sin(phi), pz=pt * np.sinh(eta), e=pt * np.cosh(eta),
                          heavy_quarks=(q_event.astype(np.int64), q_id.astype(np.int64), q_pt, q_eta, q_phi),
                          production_rho_mm=rho, production_z_mm=np.zeros(len(rho)))


def _flat(objects: dict) -> dict[str, np.ndarray]:
    import awkward as ak

    out = {name: np.asarray(objects[name]) for name in ("met", "met_phi", "invisible_pt")}
    for name, fields in COLLECTIONS.items():
        out[f"{name}.counts"] = ak.to_numpy(ak.num(objects[name]))
        for field in fields:
            out[f"{name}.{field}"] = ak.to_numpy(ak.flatten(objects[name][field]))
    return out


@pytest.fixture(params=["compiled", "numpy"])
def chain(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the compiled particle-level chain (_detector.c) and with the numpy one."""
    if request.param == "numpy":
        monkeypatch.setattr(FastDetector, "_packed_params", lambda self: None)
    elif detector._compiled is None:
        pytest.skip("darkscan.gen._detector is not built (no C compiler or numpy headers when installed)")
    return request.param


def test_event_table_matches_the_reference(chain: str) -> None:
    particles = _synthetic_particles()
    det = FastDetector(invisible_pdgids=(52,))
    assert (det._packed is not None) == (chain == "compiled")
    table = _flat(det.simulate(particles, np.random.default_rng(77)))
    if os.environ.get("DARKSCAN_UPDATE_DETECTOR_REFERENCE") == "1" and chain == "numpy":
        np.savez_compressed(REFERENCE, **table)
    reference = dict(np.load(REFERENCE))
    assert sorted(table) == sorted(reference)
    # the sample is rich enough to mean something
    assert reference["jets.counts"].sum() > 400 and reference["electrons.counts"].sum() > 40
    assert reference["muons.counts"].sum() > 50 and reference["photons.counts"].sum() > 20
    assert reference["jets.btag"].sum() > 10
    for key, expected in reference.items():
        got = table[key]
        assert got.dtype == expected.dtype and got.shape == expected.shape, key
        if np.issubdtype(expected.dtype, np.floating):
            # a one-tower jet's mass is sqrt(E^2 - p^2) of a massless tower: rounding noise of numpy's
            # SIMD sinh/cosh, which differ between CPUs, of ~1e-5 GeV
            atol = 1e-4 if key == "jets.mass" else 1e-12
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=atol, err_msg=key)
        else:
            np.testing.assert_array_equal(got, expected, err_msg=key)


# --- the flat-array paths against the awkward / fastjet calls they replace ------------------------
@pytest.fixture(scope="module")
def pythia_batches() -> list:
    from darkscan.gen.pythia import PythiaRun, recipe_for

    batches = []
    for process, cuts in (("sm_znunu_jet", {"ptj": 150.0}), ("sm_zz_llvv", {})):  # ZZ: a filtered batch
        run = PythiaRun(recipe_for(process, {}, cuts), sqrt_s_gev=13000.0, preset="fast", seed=9)
        events = run.batch(120)
        batches += [events, events[5:100]]
    return batches


def _particles_through_awkward(batch) -> ParticleArrays:  # noqa: ANN001
    """ParticleArrays.from_pythia_batch as written with high-level awkward calls."""
    import awkward as ak

    from darkscan.gen.detector import _eta

    prt = batch["prt"]
    event = np.repeat(np.arange(len(prt), dtype=np.int64), ak.to_numpy(ak.num(prt)))
    flat = ak.flatten(prt)
    pid = ak.to_numpy(flat["id"]).astype(np.int64)
    px, py, pz, e = (ak.to_numpy(flat["p"][c]) for c in ("px", "py", "pz", "e"))
    final = ak.to_numpy(flat["status"]) > 0
    heavy = (np.abs(pid) == 4) | (np.abs(pid) == 5)
    hpt = np.hypot(px[heavy], py[heavy])
    vx, vy, vz = (np.nan_to_num(ak.to_numpy(ak.fill_none(flat["vProd"][c], 0.0)).astype(float))[final]
                  for c in ("px", "py", "pz"))
    return ParticleArrays(
        n_events=len(prt), event=event[final], pid=pid[final], px=px[final], py=py[final], pz=pz[final], e=e[final],
        heavy_quarks=(event[heavy], np.abs(pid)[heavy], hpt, _eta(px[heavy], py[heavy], pz[heavy], hpt),
                      np.arctan2(py[heavy], px[heavy])),
        production_rho_mm=np.hypot(vx, vy), production_z_mm=vz)


def _assert_same_tables(got: dict, expected: dict) -> None:
    assert sorted(got) == sorted(expected)
    for key, values in expected.items():
        assert got[key].dtype == values.dtype and got[key].shape == values.shape, key
        if np.issubdtype(values.dtype, np.floating):
            # numpy's functions are the C library's on some CPUs (then the two chains agree bit for bit,
            # as on the machines this was written on) and its own SIMD ones on others
            np.testing.assert_allclose(got[key], values, rtol=1e-12, atol=1e-4 if key == "jets.mass" else 0.0,
                                       err_msg=key)
        else:
            np.testing.assert_array_equal(got[key], values, err_msg=key)


@pytest.mark.skipif(detector._compiled is None, reason="darkscan.gen._detector is not built")
def test_compiled_chain_equals_the_numpy_chain(pythia_batches: list, tmp_path: Path) -> None:
    """Same objects and the same random-number stream after the batch, on real Pythia events (a
    filtered ZZ batch among them), the synthetic sample, and with muons left out of the jets and MET."""
    import yaml

    params = yaml.safe_load(detector.default_params_path().read_text())
    params["met"]["include_muons"] = False
    no_muons = tmp_path / "no_muons.yaml"
    no_muons.write_text(yaml.safe_dump(params))
    cases = [(FastDetector(), ParticleArrays.from_pythia_batch(batch)) for batch in pythia_batches]
    cases += [(FastDetector(invisible_pdgids=(52,)), _synthetic_particles(120, seed=5)),
              (FastDetector(detector.load_detector_params(no_muons), invisible_pdgids=(52,)),
               _synthetic_particles(120, seed=6))]
    n_muons = 0
    for det, particles in cases:
        rngs = np.random.default_rng(11), np.random.default_rng(11)
        compiled = _flat(det.simulate(particles, rngs[0]))
        packed, det._packed = det._packed, None
        try:
            by_numpy = _flat(det.simulate(particles, rngs[1]))
        finally:
            det._packed = packed
        _assert_same_tables(compiled, by_numpy)
        assert rngs[0].random() == rngs[1].random()  # the next batch draws the same numbers
        n_muons += int(compiled["muons.counts"].sum())
    assert n_muons > 50


def test_unsorted_events_take_the_numpy_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    particles = _synthetic_particles(20, seed=3)
    order = np.argsort(-particles.event, kind="stable")  # events in reverse: the compiled chain needs them sorted
    shuffled = ParticleArrays(particles.n_events, particles.event[order], particles.pid[order], particles.px[order],
                              particles.py[order], particles.pz[order], particles.e[order], particles.heavy_quarks,
                              particles.production_rho_mm[order], particles.production_z_mm[order])

    def refuse(*args: object) -> None:
        raise AssertionError("the compiled chain was given unsorted events")

    monkeypatch.setattr(FastDetector, "_chain_compiled", refuse)
    objects = FastDetector(invisible_pdgids=(52,)).simulate(shuffled, np.random.default_rng(1))
    assert len(objects["met"]) == 20


@pytest.mark.parametrize("selection", ["compiled", "numpy"])
def test_particles_from_layout_buffers_equal_the_awkward_path(pythia_batches: list, selection: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    if selection == "numpy":
        monkeypatch.setattr(detector, "_compiled", None)
    elif detector._compiled is None:
        pytest.skip("darkscan.gen._detector is not built")
    for batch in pythia_batches:
        fast, slow = ParticleArrays.from_pythia_batch(batch), _particles_through_awkward(batch)
        assert fast.n_events == slow.n_events == len(batch)
        for name in ("event", "pid", "px", "py", "pz", "e", "production_rho_mm", "production_z_mm"):
            got, expected = getattr(fast, name), getattr(slow, name)
            assert got.dtype == expected.dtype and np.array_equal(got, expected), name
        for got, expected in zip(fast.heavy_quarks, slow.heavy_quarks):
            np.testing.assert_array_equal(got, expected)
        assert np.any(fast.production_rho_mm > 0)


def test_flat_clustering_equals_fastjets_awkward_interface(pythia_batches: list) -> None:
    import awkward as ak
    import fastjet

    from darkscan.gen import detector

    det = FastDetector()
    seen = []
    original = det._jets
    det._jets = lambda towers, *args: seen.append(towers) or original(towers, *args)  # type: ignore[method-assign]
    for batch in pythia_batches:
        det.simulate(ParticleArrays.from_pythia_batch(batch), np.random.default_rng(1))
    for t_px, t_py, pz, e, counts in seen:  # the jet inputs, event after event, and their number per event
        inputs = ak.unflatten(ak.zip({"px": t_px, "py": t_py, "pz": pz, "E": e}, with_name="Momentum4D"), counts)
        jets = fastjet.ClusterSequence(inputs, det._jetdef).inclusive_jets(min_pt=20.0)
        stops = np.cumsum(counts)
        *momenta, j_counts, jet_of_input = detector._cluster(t_px, t_py, pz, e, stops - counts, stops, det._jetdef,
                                                              20.0)
        np.testing.assert_array_equal(j_counts, ak.to_numpy(ak.num(jets)))
        assert j_counts.sum() > 0
        for got, c in zip(momenta, ("px", "py", "pz", "E")):
            np.testing.assert_array_equal(got, ak.to_numpy(ak.flatten(jets[c])))
        # each jet is the sum of the inputs assigned to it
        inside = jet_of_input >= 0
        for got, values in zip(momenta, (t_px, t_py, pz, e)):
            np.testing.assert_allclose(np.bincount(jet_of_input[inside], values[inside], minlength=len(got)), got,
                                       rtol=1e-9, atol=1e-9)


def test_collections_have_the_layout_of_zip_and_unflatten() -> None:
    import awkward as ak

    from darkscan.gen.detector import _sorted_collection

    event = np.array([0, 2, 2, 0, 3])
    pt = np.array([10.0, 5.0, 30.0, 40.0, 1.0])
    eta = np.arange(5.0)
    got = _sorted_collection(event, pt, 5, {"pt": pt, "eta": eta})
    order = np.lexsort((-pt, event))
    expected = ak.unflatten(ak.zip({"pt": pt[order], "eta": eta[order]}, depth_limit=1),
                            np.bincount(event, minlength=5))
    assert ak.to_layout(got).form == ak.to_layout(expected).form
    assert got.to_list() == expected.to_list()
    assert got.to_list()[0] == [{"pt": 40.0, "eta": 3.0}, {"pt": 10.0, "eta": 0.0}]


def test_clustering_falls_back_to_the_public_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    import fastjet

    from darkscan.gen.clustering import cluster_with_fastjet

    rng = np.random.default_rng(4)
    pt, eta, phi = rng.uniform(1.0, 80.0, 60), rng.normal(0.0, 0.5, 60), rng.normal(0.0, 0.5, 60)
    momenta = (pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta))
    starts, stops = np.array([0, 25, 25]), np.array([25, 25, 60])  # the middle event is empty
    jetdef = FastDetector()._jetdef
    direct = cluster_with_fastjet(*momenta, starts, stops, 0.6, 20.0, jetdef=jetdef)
    real = fastjet._ext

    class ChangedEntryPoint:
        """A fastjet whose private entry point refuses darkscan's direct call (the first one) once."""

        calls = 0

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def interfacemulti(self, *args: object) -> object:
            ChangedEntryPoint.calls += 1
            if ChangedEntryPoint.calls == 1:
                raise TypeError("interfacemulti(): incompatible function arguments")
            return real.interfacemulti(*args)

    monkeypatch.setattr(fastjet, "_ext", ChangedEntryPoint())
    public = cluster_with_fastjet(*momenta, starts, stops, 0.6, 20.0, jetdef=jetdef)
    assert ChangedEntryPoint.calls == 2  # refused, then the public interface's own call
    assert direct[4][1] == 0 and direct[4].sum() >= 2 and np.any(direct[5] >= 0)
    for got, expected in zip(public, direct):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.skipif(detector._compiled is None, reason="darkscan.gen._detector is not built")
def test_a_card_beyond_the_compiled_limits_takes_the_numpy_chain(tmp_path: Path) -> None:
    import yaml

    params = yaml.safe_load(detector.default_params_path().read_text())
    first = params["calorimeter"]["ecal"]["segments"][0]  # 0 < |eta| < 2.958 in 170 bins: 17 segments of 10
    n = detector._compiled.MAX_SEGMENTS + 1
    edges = np.linspace(first["eta_min"], first["eta_max"], n + 1)
    params["calorimeter"]["ecal"]["segments"][:1] = [
        {"eta_min": float(lo), "eta_max": float(hi), "n_eta": first["n_eta"] // n, "n_phi": first["n_phi"]}
        for lo, hi in zip(edges[:-1], edges[1:])]
    card = tmp_path / "many_segments.yaml"
    card.write_text(yaml.safe_dump(params))
    det = FastDetector(detector.load_detector_params(card), invisible_pdgids=(52,))
    assert det._packed is None
    table = _flat(det.simulate(_synthetic_particles(40, seed=8), np.random.default_rng(2)))
    assert table["jets.counts"].sum() > 40
