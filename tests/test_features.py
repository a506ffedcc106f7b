"""Features: columnar values against independent per-event computations (vector objects, scipy)."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
import vector
from shared import SHARED_DATA, SKIP_REASON

from darkscan.readers.events import empty_event_table
from darkscan.analysis.features import FEATURES, MZ_GEV, compute_features

DATA = SHARED_DATA / "delphes"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=SKIP_REASON)
M_LEPTON = {11: 0.000510999, 13: 0.105658}


def _table(events: list[dict]) -> ak.Array:
    """An event table from plain dicts (missing collections empty)."""
    rows = []
    for k, event in enumerate(events):
        rows.append({
            "jets": [dict(pt=p, eta=e, phi=f, mass=m, btag=b) for p, e, f, m, b in event.get("jets", [])],
            "electrons": [dict(pt=p, eta=e, phi=f, charge=q) for p, e, f, q in event.get("electrons", [])],
            "muons": [dict(pt=p, eta=e, phi=f, charge=q) for p, e, f, q in event.get("muons", [])],
            "photons": [dict(pt=p, eta=e, phi=f) for p, e, f in event.get("photons", [])],
            "met": event.get("met", 0.0), "met_phi": event.get("met_phi", 0.0), "weight": 1.0,
            "invisible_pt": event.get("met", 0.0), "event": k,
        })
    jet = "var * {pt: float64, eta: float64, phi: float64, mass: float64, btag: int64}"
    lepton = "var * {pt: float64, eta: float64, phi: float64, charge: int64}"
    photon = "var * {pt: float64, eta: float64, phi: float64}"
    return ak.enforce_type(ak.Array(rows), f"{{jets: {jet}, electrons: {lepton}, muons: {lepton}, photons: {photon}, "
                                             "met: float64, met_phi: float64, weight: float64, invisible_pt: float64, event: int64}")


@pytest.fixture(scope="module")
def delphes_tables() -> list[ak.Array]:
    if not DATA.is_dir():
        pytest.skip(f"reference data not found at {DATA}")
    from darkscan.readers import delphes

    return [delphes.event_table(DATA / name)[0] for name in ("znunu_jet_500ev_ATLAS_slim.root", "zz_llnunu_500ev_ATLAS_slim.root")]


def test_every_feature_is_computed_and_documented() -> None:
    features = compute_features(_table([{"met": 10.0}]))
    assert list(features) == list(FEATURES)
    assert all(len(unit_description) == 2 and unit_description[1] for unit_description in FEATURES.values())


def test_empty_table_gives_empty_columns() -> None:
    features = compute_features(empty_event_table())
    assert all(len(values) == 0 for values in features.values())


def test_missing_objects_are_nan_and_counts_are_zero() -> None:
    features = compute_features(_table([{"met": 50.0, "met_phi": 1.0}]))
    for name in ("leading_jet_pt", "subleading_jet_eta", "dphi_min_jets_met", "met_over_sqrt_ht", "mll", "ptll",
                 "drll", "mt_zz", "mt2_ll", "leading_lepton_pt", "ll_sfos", "leading_photon_pt", "met_significance"):
        assert math.isnan(features[name][0]), name
    for name in ("n_jets", "n_bjets", "n_leptons", "n_photons", "ht"):
        assert features[name][0] == 0.0, name


def test_hand_computed_values() -> None:
    """A Z at rest decaying to μ⁺μ⁻ along x, no MET: m_T^ZZ = 2 m_Z, m_ℓℓ = 2 E."""
    e = 45.0
    event = {
        "muons": [(e, 0.0, 0.0, -1), (e, 0.0, math.pi, 1)],
        "jets": [(100.0, 0.5, 0.5, 10.0, 1), (40.0, 3.5, -2.0, 5.0, 0), (35.0, -1.0, 2.0, 5.0, 0)],
        "met": 0.0,
    }
    f = compute_features(_table([event]))
    assert f["mll"][0] == pytest.approx(2 * math.sqrt(e**2 + M_LEPTON[13] ** 2), rel=1e-6)
    assert f["ptll"][0] == pytest.approx(0.0, abs=1e-4)
    assert f["mt_zz"][0] == pytest.approx(2 * MZ_GEV, rel=1e-6)
    assert f["drll"][0] == pytest.approx(math.pi)
    assert f["ll_sfos"][0] == 1.0 and f["leading_lepton_flavour"][0] == 13
    assert f["ht"][0] == pytest.approx(175.0) and f["n_bjets"][0] == 1 and f["n_jets"][0] == 3
    assert f["n_jets_30"][0] == 2  # the |η| = 3.5 jet is outside |η| < 2.8
    assert f["met_significance"][0] == 0.0
    assert f["mt2_ll"][0] == pytest.approx(M_LEPTON[13], rel=1e-6)  # no MET: m_T2 = m_μ
    same_sign = compute_features(_table([{"electrons": [(50.0, 0.0, 0.0, 1)], "muons": [(40.0, 0.0, 1.0, 1)]}]))
    assert same_sign["ll_sfos"][0] == 0.0 and same_sign["leading_lepton_flavour"][0] == 11


def test_dphi_min_uses_the_four_leading_good_jets() -> None:
    jets = [(200.0, 0.0, 2.0, 0.0, 0), (100.0, 0.0, -2.0, 0.0, 0), (80.0, 3.0, 0.05, 0.0, 0),  # forward: not used
            (60.0, 0.0, 1.0, 0.0, 0), (50.0, 0.0, 1.5, 0.0, 0), (40.0, 0.0, 0.1, 0.0, 0)]  # fifth good jet: not used
    f = compute_features(_table([{"jets": jets, "met": 300.0, "met_phi": 0.0}]))
    assert f["dphi_min_jets_met"][0] == pytest.approx(1.0)
    wrapped = compute_features(_table([{"jets": [(100.0, 0.0, 3.1, 0.0, 0)], "met": 300.0, "met_phi": -3.1}]))
    assert wrapped["dphi_min_jets_met"][0] == pytest.approx(2 * math.pi - 6.2)


def _independent(event: ak.Record) -> dict[str, float]:
    """The same features from vector objects and plain Python, event by event."""
    out: dict[str, float] = {}
    met = vector.obj(rho=float(event.met), phi=float(event.met_phi))
    jets = [vector.obj(pt=j.pt, eta=j.eta, phi=j.phi, mass=j.mass) for j in event.jets]
    out["ht"] = sum(j.pt for j in jets)
    out["leading_jet_pt"] = jets[0].pt if jets else math.nan
    good = [j for j in jets if j.pt > 30 and abs(j.eta) < 2.8][:4]
    out["dphi_min_jets_met"] = min((abs(j.to_xy().deltaphi(met)) for j in good), default=math.nan)
    leptons = sorted([(lep.pt, lep.eta, lep.phi, 11) for lep in event.electrons]
                     + [(lep.pt, lep.eta, lep.phi, 13) for lep in event.muons], reverse=True)
    if len(leptons) >= 2:
        l1, l2 = (vector.obj(pt=p, eta=e, phi=f, mass=M_LEPTON[fl]) for p, e, f, fl in leptons[:2])
        ll = l1 + l2
        out["mll"] = ll.mass
        out["ptll"] = ll.pt
        out["drll"] = l1.deltaR(l2)
        out["dphi_ll_met"] = abs(ll.to_xy().deltaphi(met))
        total = ll.to_xy() + met
        out["mt_ll_met"] = math.sqrt(max((math.sqrt(ll.mass**2 + ll.pt**2) + met.rho) ** 2 - total.rho**2, 0.0))
        out["mt_zz"] = math.sqrt((math.sqrt(MZ_GEV**2 + ll.pt**2) + math.sqrt(MZ_GEV**2 + met.rho**2)) ** 2 - total.rho**2)
    return out


@needs_data
def test_features_agree_with_vector_objects_event_by_event(delphes_tables: list[ak.Array]) -> None:
    for table in delphes_tables:
        features = compute_features(table)
        for k in range(0, len(table), 5):
            expected = _independent(table[k])
            for name, value in expected.items():
                got = features[name][k]
                if math.isnan(value):
                    assert math.isnan(got), (name, k)
                else:
                    assert got == pytest.approx(value, rel=2e-5, abs=2e-4), (name, k)


def _mt(pt_a: np.ndarray, pt_b: np.ndarray, m_a: float) -> float:
    """Transverse mass of a visible particle (mass m_a) and a massless invisible one."""
    et_a = math.sqrt(m_a**2 + pt_a @ pt_a)
    return math.sqrt(max(m_a**2 + 2 * (et_a * math.hypot(*pt_b) - pt_a @ pt_b), 0.0))


def _mt2_brute_force(l1: np.ndarray, l2: np.ndarray, m1: float, m2: float, miss: np.ndarray) -> float:
    """m_T2 by direct minimisation over the split of MET (Nelder–Mead from several starts)."""
    from scipy.optimize import minimize

    def objective(q: np.ndarray) -> float:
        return max(_mt(l1, q, m1), _mt(l2, miss - q, m2))

    starts = [miss / 2, miss, np.zeros(2), l1, -l2, miss + l1 - l2]
    best = min((minimize(objective, s, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000})
                for s in starts), key=lambda r: r.fun)
    return float(best.fun)


@needs_data
def test_mt2_against_brute_force_minimisation(delphes_tables: list[ak.Array]) -> None:
    table = delphes_tables[1]  # ZZ → ℓℓνν: two leptons in 40 % of events
    features = compute_features(table)
    two = np.flatnonzero(features["n_leptons"] >= 2)[:12]
    assert len(two) == 12
    for k in two:
        event = table[k]
        leptons = sorted([(lep.pt, lep.eta, lep.phi, 11) for lep in event.electrons]
                         + [(lep.pt, lep.eta, lep.phi, 13) for lep in event.muons], reverse=True)[:2]
        (p1, _, f1, fl1), (p2, _, f2, fl2) = leptons
        l1 = np.array([p1 * math.cos(f1), p1 * math.sin(f1)])
        l2 = np.array([p2 * math.cos(f2), p2 * math.sin(f2)])
        miss = np.array([event.met * math.cos(event.met_phi), event.met * math.sin(event.met_phi)])
        expected = _mt2_brute_force(l1, l2, M_LEPTON[fl1], M_LEPTON[fl2], miss)
        assert features["mt2_ll"][k] == pytest.approx(expected, rel=1e-3, abs=1e-2)


@needs_data
def test_zz_sample_peaks_at_the_z_mass(delphes_tables: list[ak.Array]) -> None:
    features = compute_features(delphes_tables[1])
    sfos = features["ll_sfos"] == 1
    assert np.median(features["mll"][sfos]) == pytest.approx(91.0, abs=1.5)
    # m_T^ZZ ≥ 2 m_Z·(something ≥ 1) is bounded below by 2 m_Z only when pT(ℓℓ) ∥ MET; always ≥ 0
    assert np.all(features["mt_zz"][sfos] > 0)
    assert np.all((features["dphi_ll_met"][sfos] >= 0) & (features["dphi_ll_met"][sfos] <= math.pi))


def _rotated(table: ak.Array, angle: float) -> ak.Array:
    def turn(phi):  # type: ignore[no-untyped-def]
        return (phi + angle + np.pi) % (2 * np.pi) - np.pi

    fields = {name: table[name] for name in ak.fields(table)}
    for name in ("jets", "electrons", "muons", "photons"):
        fields[name] = ak.with_field(table[name], turn(table[name].phi), "phi")
    fields["met_phi"] = turn(table.met_phi)
    return ak.zip(fields, depth_limit=1)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_pt = st.floats(5.0, 500.0)
_eta = st.floats(-2.4, 2.4)
_phi = st.floats(-3.14, 3.14)
_events = st.lists(
    st.fixed_dictionaries({
        "jets": st.lists(st.tuples(_pt, _eta, _phi, st.floats(0.0, 30.0), st.integers(0, 1)), max_size=5)
        .map(lambda js: sorted(js, reverse=True)),
        "electrons": st.lists(st.tuples(_pt, _eta, _phi, st.sampled_from([-1, 1])), max_size=2)
        .map(lambda ls: sorted(ls, reverse=True)),
        "muons": st.lists(st.tuples(_pt, _eta, _phi, st.sampled_from([-1, 1])), max_size=2)
        .map(lambda ls: sorted(ls, reverse=True)),
        "met": st.floats(1.0, 800.0),
        "met_phi": _phi,
    }),
    min_size=1, max_size=20,
)


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(events=_events, angle=st.floats(-3.0, 3.0))
def test_features_are_invariant_under_a_global_rotation(events: list[dict], angle: float) -> None:
    table = _table(events)
    before = compute_features(table)
    after = compute_features(_rotated(table, angle))
    for name, values in before.items():
        if name.endswith("_phi"):
            continue
        # m_T2's bisection stops at a precision relative to the event's momentum scale (~1e-4 of a few
        # hundred GeV near its lower edge m_T2 ≈ m_ℓ): 0.1 GeV is far below any physics use
        np.testing.assert_allclose(after[name], values, rtol=1e-6, atol=0.1 if name == "mt2_ll" else 1e-6, err_msg=name)
    dphi = before["dphi_min_jets_met"]
    assert np.all(np.isnan(dphi) | ((dphi >= 0) & (dphi <= math.pi)))
    # m_T2 is a minimum over MET splits: giving all MET to one lepton bounds it from above
    two = np.flatnonzero(before["n_leptons"] >= 2)
    for k in two:
        ranked = sorted([(p, f, M_LEPTON[11]) for p, _, f, _ in events[k]["electrons"]]
                        + [(p, f, M_LEPTON[13]) for p, _, f, _ in events[k]["muons"]], reverse=True)
        if len(ranked) > 2 and ranked[1][0] == ranked[2][0]:
            continue  # equal pT: which lepton is "second" is a convention the bound cannot know
        (p1, f1, m1), (p2, f2, m2) = ranked[:2]
        l1, l2 = np.array([p1 * math.cos(f1), p1 * math.sin(f1)]), np.array([p2 * math.cos(f2), p2 * math.sin(f2)])
        miss = events[k]["met"] * np.array([math.cos(events[k]["met_phi"]), math.sin(events[k]["met_phi"])])
        bound = min(max(_mt(l1, miss, m1), m2), max(m1, _mt(l2, miss, m2)))
        assert max(m1, m2) - 0.02 <= before["mt2_ll"][k] <= bound + 0.02
