"""The embedded generator against real programs (slow: full Pythia on 2 × 500 events, a few minutes).

The criteria of the embedded-generation issue: σ(Z(νν)+jet) within 15 % of MadGraph LO at the same
cut, and the fast detector within 5 % of real Delphes 3.5.1 on the same Pythia events for mean MET,
leading-jet pT, jet multiplicity and the muon efficiency. The electron efficiency is held to 8 %: it
varies by ±3 % with the detector seed on the ~400 electrons of the sample.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from shared import shared_data

pytestmark = pytest.mark.slow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import validate_embedded  # noqa: E402

TOLERANCE = {
    "mean MET [GeV]": 0.05,
    "mean leading-jet pT [GeV]": 0.05,
    "mean jet multiplicity": 0.05,
    "muon efficiency (reco / true pT>10,|eta|<2.5)": 0.05,
    "electron efficiency (reco / true pT>10,|eta|<2.5)": 0.08,
}


@pytest.mark.parametrize(("process", "cuts", "seed", "root_file"), [
    ("sm_znunu_jet", {"ptj": 150.0}, 1001, "znunu_jet_500ev_ATLAS_slim.root"),
    ("sm_zz_llvv", {}, 1003, "zz_llnunu_500ev_ATLAS_slim.root"),
])
def test_fast_detector_matches_real_delphes_on_the_same_events(process: str, cuts: dict, seed: int, root_file: str):
    delphes = validate_embedded.read_delphes(shared_data() / "delphes" / root_file)
    recipe = validate_embedded.recipe_for(process, {}, cuts)
    ours, truth = validate_embedded.regenerate(recipe, seed, len(delphes))
    rows = {name: (reference, fast) for name, reference, fast in validate_embedded.compare_rows(ours, truth, delphes)}
    checked = 0
    for name, tolerance in TOLERANCE.items():
        if name in rows:
            reference, fast = rows[name]
            assert fast == pytest.approx(reference, rel=tolerance), name
            checked += 1
    assert checked >= 3


def test_z_nunu_jet_cross_section_within_15_percent_of_madgraph():
    from darkscan.gen.pythia import PythiaRun, recipe_for
    from darkscan.gen.shower import lhe_cross_section

    mg_sigma, _ = lhe_cross_section(shared_data() / "mg5" / "znunu_j" / "unweighted_events.lhe.gz")
    run = PythiaRun(recipe_for("sm_znunu_jet", {}, {"ptj": 130.0}), sqrt_s_gev=13000.0, preset="fast", seed=4242,
                    extra_settings=("PartonLevel:all = off", "HadronLevel:all = off"))
    for _ in range(10):
        run.pythia.nextBatch(1000, "skip")
    sigma, _ = run.cross_section_pb()
    # LO scale choice: Pythia's default scales give 1.14, μR² = μF² = ŝ gives 1.01
    assert sigma / mg_sigma == pytest.approx(1.0, abs=0.15)


#: MG5_aMC 3.5.7 LO, DMsimp_s_spin1-full, p p > xd xd~ j, ptj > 130, m_dm 10, g_q 0.25, g_dm 1, Γ(Y1) = 10 GeV
#: (nn23lo1, 3000 events each, benchmarks/mg5_samples.py)
SPIN1_MG5_SIGMA_PB = {500.0: 23.81, 1000.0: 5.406, 2000.0: 0.5795}


@pytest.mark.parametrize("m_med", sorted(SPIN1_MG5_SIGMA_PB))
def test_spin1_cross_section_within_15_percent_of_madgraph_at_the_same_width(m_med: float):
    from darkscan.gen.pythia import PythiaRun, recipe_for
    from darkscan.registry import PROCESSES

    parameters = {**PROCESSES["spin1_monojet"].defaults(), "m_med": m_med, "w_med": 10.0}
    run = PythiaRun(recipe_for("spin1_monojet", parameters, {"ptj": 130.0}), sqrt_s_gev=13000.0, preset="fast",
                    seed=11, extra_settings=("PartonLevel:all = off", "HadronLevel:all = off"))
    while run.n_passed < 3000:
        run.batch(1000)
    sigma, _ = run.cross_section_pb()
    # measured: 1.07 / 1.08 / 1.11 (the rest is LO scale dependence)
    assert sigma / SPIN1_MG5_SIGMA_PB[m_med] == pytest.approx(1.0, abs=0.15)


def test_fast_detector_has_delphes_jet_response_on_the_monojet_sample():
    """Z(νν)+jet: mean MET and leading-jet pT within 1 % of real Delphes (they were 2.6 % / 2.8 % high
    before the detector dropped particles produced outside the tracker), the atlas_monojet efficiency
    within 3 % (measured 1.024 ± 0.007 over 4 detector seeds; one seed moves it by ±2 % on 500 events)."""
    path = shared_data() / "delphes" / "znunu_jet_500ev_ATLAS_slim.root"
    delphes = validate_embedded.read_delphes(path)
    recipe = validate_embedded.recipe_for("sm_znunu_jet", {}, {"ptj": 150.0})
    events, truth = validate_embedded.regenerate_events(recipe, 1001, len(delphes))
    rows = [{name: fast / reference for name, reference, fast in validate_embedded.compare_rows(
        validate_embedded.simulate(events, recipe, 12345 + k), truth, delphes, path) if reference} for k in range(4)]
    mean = {name: float(np.mean([r[name] for r in rows])) for name in rows[0]}
    assert mean["mean MET [GeV]"] == pytest.approx(1.0, abs=0.01)
    assert mean["mean leading-jet pT [GeV]"] == pytest.approx(1.0, abs=0.01)
    assert mean["atlas_monojet selection efficiency"] == pytest.approx(1.0, abs=0.03)
