"""Embedded generation: recipes ⇔ registry, the fast detector on hand-made events, short real
Pythia runs (MPI off, a few hundred events), sharding, resuming and reproducibility."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from shared import shared_data

from darkscan.errors import InputFileError, StudyError
from darkscan.gen.detector import (
    FastDetector,
    ParticleArrays,
    charge_of,
    load_detector_params,
)
from darkscan.gen.pythia import (
    RECIPES,
    base_settings,
    generation_pt_cut,
    recipe_for,
    shard_seed,
)
from darkscan.registry import PROCESSES


# --- recipes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_registry_pythia_field_matches_recipes(name: str) -> None:
    process = PROCESSES[name]
    assert (process.pythia is None) == (name not in RECIPES)
    if process.pythia is None:
        with pytest.raises(StudyError, match="madgraph"):
            recipe_for(name, process.defaults(), process.generation_cuts)


def test_every_recipe_is_a_registry_process() -> None:
    assert set(RECIPES) <= set(PROCESSES)


def test_jet_cut_maps_to_pthatmin() -> None:
    assert generation_pt_cut({"ptj": 130.0}) == 130.0
    assert generation_pt_cut({"ptj": 20.0, "ptj1min": 150.0}) == 150.0
    assert generation_pt_cut({}) == 0.0
    recipe = recipe_for("sm_znunu_jet", {}, {"ptj": 200.0})
    assert "PhaseSpace:pTHatMin = 200" in recipe.settings
    assert "WeakZ0:gmZmode = 2" in recipe.settings
    assert not any("pTHatMin" in s for s in recipe_for("sm_ttbar", {}, {}).settings)


def test_parameters_reach_pythia_settings() -> None:
    params = {**PROCESSES["spin1_monojet"].defaults(), "m_med": 1500.0, "g_q": 0.1, "w_med": 25.0}
    recipe = recipe_for("spin1_monojet", params, {"ptj": 150.0})
    # the mediator is generated with the Z + jet matrix element at the mediator's mass and width
    assert "23:m0 = 1500" in recipe.settings and "PhaseSpace:pTHatMin = 150" in recipe.settings
    assert "23:mWidth = 25" in recipe.settings and "23:doForceWidth = on" in recipe.settings
    assert recipe.mediator is not None and recipe.mediator.g_q == 0.1
    assert recipe.event_filter is None


def test_spin1_needs_a_numeric_width_without_the_width_calculator() -> None:
    params = {**PROCESSES["spin1_monojet"].defaults(), "w_med": "auto"}
    try:
        import darkscan.widths  # noqa: F401
    except ImportError:
        with pytest.raises(StudyError, match="w_med"):
            recipe_for("spin1_monojet", params, {"ptj": 130.0})
    else:
        assert recipe_for("spin1_monojet", params, {"ptj": 130.0}).mediator is not None


def test_vector_mediator_dm_width_is_dmsimps() -> None:
    from darkscan.gen.pythia import VectorMediator

    # Γ(Y1 → χχ̄) = g² m β (1 + 2 m_χ²/m²) / (12π): 26.5 GeV at m_med 1000, g_dm 1, m_dm 10
    mediator = VectorMediator(m_med=1000.0, m_dm=10.0, g_q=0.25, ga_q=0.0, g_dm=1.0, ga_dm=0.0)
    assert mediator.dm_width_gev() == pytest.approx(1000 / (12 * math.pi) * math.sqrt(1 - 4e-4) * (1 + 2e-4))
    closed = VectorMediator(m_med=100.0, m_dm=60.0, g_q=0.25, ga_q=0.0, g_dm=1.0, ga_dm=0.0)
    assert closed.dm_width_gev() == 0.0


#: MG5_aMC 3.5.7, DMsimp_s_spin0 at the registry couplings (g_q = g_dm = 1), nn23lo1, 13 TeV, 1000 events:
#: loop-induced ``g g > y0 [noborn=QCD]``, σ(g g → Y0) in pb by m_med (GeV), ± 0.3 %
MG5_GG_TO_Y0_PB = {500.0: 1.772, 1000.0: 0.0500, 2000.0: 4.629e-4}


@pytest.mark.parametrize("m_med", sorted(MG5_GG_TO_Y0_PB))
def test_spin0_rate_is_dmsimps_gluon_fusion(m_med: float) -> None:
    """Pythia's S couplings and σ̂ are not DMsimp's (σ came out ~1e-4 of MG5's); renormalised, the
    embedded σ(g g → Y0 → χχ̄) without a jet cut is MG5's σ(g g → Y0) × BR(Y0 → χχ̄)."""
    from darkscan.gen.pythia import PythiaRun
    from darkscan.widths import mediator_width_gev, scalar_partial_widths_gev

    params = {**PROCESSES["spin0_monojet"].defaults(), "m_med": m_med}
    recipe = recipe_for("spin0_monojet", params, {})
    width = mediator_width_gev("spin0_monojet", params)
    assert f"54:mWidth = {width:g}" in recipe.settings and "54:doForceWidth = on" in recipe.settings
    run = PythiaRun(recipe, sqrt_s_gev=13000.0, preset="fast", seed=11, extra_settings=("HadronLevel:all = off",))
    while run.n_passed < 3000:
        run.batch(1000)
    sigma, error = run.cross_section_pb()
    _, dm_width = scalar_partial_widths_gev(m_med, 10.0, 1.0, 0.0, 1.0, 0.0)
    expected = MG5_GG_TO_Y0_PB[m_med] * dm_width / width
    # measured 0.889 / 0.973 / 1.082 (± 0.012) at m_med 500 / 1000 / 2000: MG5's Y0 is on shell, the
    # embedded one has its Breit–Wigner (Γ/m 6–10 %) with Pythia's ŝ-weighted line shape
    assert sigma == pytest.approx(expected, rel=0.15), (sigma, error, expected)


def test_presets_and_seeds() -> None:
    assert "PartonLevel:MPI = off" in base_settings(13000.0, "fast", 5)
    assert not any("MPI" in s for s in base_settings(13000.0, "full", 5))
    with pytest.raises(StudyError):
        base_settings(13000.0, "fastest", 5)
    seeds = [shard_seed(1234, i) for i in range(50)]
    assert len(set(seeds)) == 50 and seeds == [shard_seed(1234, i) for i in range(50)]
    assert all(1 <= s <= 900_000_000 for s in seeds)


# --- detector on hand-made events ---------------------------------------------------------------
def _particles(rows: list[tuple[int, int, float, float, float]]) -> ParticleArrays:
    """rows: (event, pid, pt, eta, phi) of massless particles."""
    event, pid, pt, eta, phi = (np.array(c) for c in zip(*rows))
    return ParticleArrays(n_events=int(event.max()) + 1, event=event.astype(np.int64), pid=pid.astype(np.int64),
                          px=pt * np.cos(phi), py=pt * np.sin(phi), pz=pt * np.sinh(eta), e=pt * np.cosh(eta))


def _perfect_params(tmp_path: Path) -> Path:
    """The ATLAS-like file with every efficiency 1 (so tests do not depend on random losses)."""
    import yaml

    data = yaml.safe_load(load_detector_params().path.read_text())
    for name, key in (("electrons", "tracking_efficiency"), ("electrons", "efficiency"),
                      ("muons", "tracking_efficiency"), ("muons", "efficiency"),
                      ("charged_hadrons", "tracking_efficiency"), ("photons", "efficiency")):
        table = data[name][key]
        table["values"] = [[1.0] * len(row) for row in table["values"]]
    path = tmp_path / "perfect.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_particles_produced_outside_the_tracker_are_not_seen(tmp_path: Path) -> None:
    # as Delphes' ParticlePropagator: the decay products of a K0_S that flew 2 m never reach the
    # calorimeter; the same pions produced at the interaction point make a jet and MET
    detector = FastDetector(load_detector_params(_perfect_params(tmp_path)))
    spray = [(e, 211 if i % 2 else -211, 30.0, 0.3 + 0.02 * i, 1.0 + 0.02 * i) for e in (0, 1) for i in range(4)]
    particles = _particles(spray)
    far = particles.event == 1
    particles.production_rho_mm = np.where(far, 2000.0, 0.0)
    particles.production_z_mm = np.where(far, 500.0, 0.0)
    out = detector.simulate(particles, np.random.default_rng(1))
    assert len(out["jets"][0]) == 1 and out["jets"][0][0]["pt"] == pytest.approx(120.0, rel=0.25)
    assert out["met"][0] == pytest.approx(120.0, rel=0.25)
    assert len(out["jets"][1]) == 0 and out["met"][1] == 0.0


def test_isolated_leptons_jets_and_met(tmp_path: Path) -> None:
    detector = FastDetector(load_detector_params(_perfect_params(tmp_path)), invisible_pdgids=(52,))
    # (seed 3 draws the electron's track 2.4 sigma low: its tower's neutral excess becomes a photon that
    # spoils the electron's isolation, as in Delphes)
    rng = np.random.default_rng(4)
    spray = [(0, 211 if i % 2 else -211, 20.0, 0.05 * (i % 3), 2.0 + 0.03 * i) for i in range(6)]
    rows = [(0, 11, 60.0, 0.3, -1.0), (0, -13, 40.0, -1.2, 0.5), (0, 52, 100.0, 0.0, -2.5), (0, 12, 30.0, 1.0, 3.0),
            *spray, (1, 22, 80.0, 0.1, 1.0), (1, 52, 80.0, 0.5, -2.1)]
    out = detector.simulate(_particles(rows), rng)
    electrons, muons, jets = out["electrons"], out["muons"], out["jets"]
    assert len(electrons[0]) == 1 and electrons[0][0]["charge"] == -1
    assert electrons[0][0]["pt"] == pytest.approx(60.0, rel=0.3)  # 8 % resolution at 60 GeV
    assert len(muons[0]) == 1 and muons[0][0]["charge"] == 1
    assert len(jets[0]) == 1  # the pion spray; the electron's deposit is not a jet
    assert jets[0][0]["pt"] == pytest.approx(120.0, rel=0.25)
    assert len(out["photons"][1]) == 1 and len(jets[1]) == 0
    # invisibles: DM (52) plus the neutrino
    inv = np.hypot(100 * math.cos(-2.5) + 30 * math.cos(3.0), 100 * math.sin(-2.5) + 30 * math.sin(3.0))
    assert out["invisible_pt"][0] == pytest.approx(inv)
    assert out["invisible_pt"][1] == pytest.approx(80.0)
    assert out["met"][1] == pytest.approx(80.0, rel=0.1)
    assert np.all((out["met_phi"] > -math.pi) & (out["met_phi"] <= math.pi))


def test_soft_charged_particles_curl_up(tmp_path: Path) -> None:
    detector = FastDetector(load_detector_params(_perfect_params(tmp_path)))
    rng = np.random.default_rng(1)
    soft = detector.simulate(_particles([(0, 211, 0.3, 0.0, 0.0)] * 40), rng)  # 12 GeV of 0.3 GeV pions
    neutral = detector.simulate(_particles([(0, 130, 0.3, 0.0, 0.0)] * 40), rng)  # same as K0L
    assert soft["met"][0] == pytest.approx(0.0, abs=1e-9)
    assert neutral["met"][0] > 5.0


def test_every_tracked_muon_enters_the_jets_and_the_met(tmp_path: Path) -> None:
    """The card's Calorimeter merger: muon tracks beside the towers. A muon inside a pion spray fails
    the isolation and stays in its jet; an isolated one is a muon, and the jet it alone makes is
    removed (it shares the muon)."""
    detector = FastDetector(load_detector_params(_perfect_params(tmp_path)))
    spray = [(0, 211 if i % 2 else -211, 15.0, 0.05 * (i % 3), 2.0 + 0.03 * i) for i in range(4)]
    rows = [*spray, (0, 13, 50.0, 0.05, 2.05), (1, -13, 60.0, 0.4, -1.0)]
    out = detector.simulate(_particles(rows), np.random.default_rng(2))
    assert len(out["muons"][0]) == 0 and len(out["jets"][0]) == 1
    assert out["jets"][0][0]["pt"] == pytest.approx(110.0, rel=0.15)  # 60 GeV of pions + the 50 GeV muon
    assert out["met"][0] == pytest.approx(110.0, rel=0.15)
    assert len(out["muons"][1]) == 1 and len(out["jets"][1]) == 0
    assert out["met"][1] == pytest.approx(60.0, rel=0.05)  # the muon is visible


def test_photons_are_the_neutral_excess_of_ecal_towers(tmp_path: Path) -> None:
    """An electron without a track leaves only its ECal deposit: a photon (the card's eflow photon), and
    the jet of that deposit is removed as it shares the photon's particles; with its track it is an
    electron, and its deposit makes no photon."""
    import yaml

    data = yaml.safe_load(_perfect_params(tmp_path).read_text())
    tracked = FastDetector(load_detector_params(_perfect_params(tmp_path)))
    data["electrons"]["tracking_efficiency"]["values"] = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    untracked_path = tmp_path / "untracked.yaml"
    untracked_path.write_text(yaml.safe_dump(data))
    untracked = FastDetector(load_detector_params(untracked_path))
    particles = _particles([(0, 11, 40.0, 0.2, 1.0)])
    seen = untracked.simulate(particles, np.random.default_rng(1))
    assert len(seen["electrons"][0]) == 0 and len(seen["jets"][0]) == 0
    assert len(seen["photons"][0]) == 1 and seen["photons"][0][0]["pt"] == pytest.approx(40.0, rel=0.05)
    seen = tracked.simulate(particles, np.random.default_rng(1))
    assert len(seen["electrons"][0]) == 1 and len(seen["photons"][0]) == 0 and len(seen["jets"][0]) == 0


def test_curling_particles_leave_through_the_endcap() -> None:
    """Delphes' ParticlePropagator: a 0.3 GeV pion at η = 0.5 curls up (pT < 0.345 GeV) and reaches the
    endcap at |z| = 3.51 m, far forward; a 5 GeV one reaches the barrel a little further out in η."""
    detector = FastDetector()
    pid = np.array([211, 211, 130])
    pt, eta, phi = np.array([0.3, 5.0, 0.3]), np.array([0.5, 0.5, 0.5]), np.zeros(3)
    eta_calo, phi_calo, reaches = detector._propagate(pid, pt, eta, phi)
    assert reaches.all()
    # curvature radius 0.5 m, transverse path 3.51 / sinh(0.5) = 6.73 m: the chord 2 r |sin(path / 2r)|
    rho = 2 * 0.5 * abs(math.sin(3.51 / math.sinh(0.5) / 1.0))
    assert eta_calo[0] == pytest.approx(math.asinh(3.51 / rho))
    assert eta_calo[1] > 0.5 and eta_calo[1] == pytest.approx(0.5, abs=0.01)
    assert eta_calo[2] == 0.5 and phi_calo[2] == 0.0
    assert phi_calo[1] == pytest.approx(-math.asin(1.15 * 0.6 / (2 * 5.0)))  # positive charge bends clockwise


def test_charges() -> None:
    assert list(charge_of(np.array([11, -11, 211, -2212, 22, 130]))) == [-1, 1, 1, -1, 0, 0]


def test_bad_detector_params(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("jets: {radius: 0.4}\n")
    with pytest.raises(InputFileError, match="missing section 'calorimeter'"):
        load_detector_params(bad)
    text = load_detector_params().path.read_text().replace("values: [[0.95], [0.85]]", "values: [[0.95]]", 1)
    bad.write_text(text)
    with pytest.raises(InputFileError, match="shape"):
        load_detector_params(bad)
    with pytest.raises(InputFileError, match="not found"):
        load_detector_params(tmp_path / "nope.yaml")
    # a misspelt or retired parameter would otherwise be ignored without a word
    good = load_detector_params().path.read_text()
    bad.write_text(good.replace("  pt_min:", "  ptmin:", 1))
    with pytest.raises(InputFileError, match=r"\.ptmin is not a detector parameter"):
        load_detector_params(bad)
    bad.write_text(good + "\nmet_extra: {}\n")
    with pytest.raises(InputFileError, match="met_extra is not a detector parameter"):
        load_detector_params(bad)
    bad.write_text(good.replace("jets:\n", "jets:\n  overlap_delta_r: 0.2\n", 1))
    with pytest.raises(InputFileError, match="jets.overlap_delta_r is no longer a parameter: jets are now removed"):
        load_detector_params(bad)


# --- real Pythia, short -------------------------------------------------------------------------
def test_zz_filter_efficiency_is_folded_into_sigma() -> None:
    from darkscan.gen.pythia import PythiaRun

    run = PythiaRun(recipe_for("sm_zz_llvv", {}, {}), sqrt_s_gev=13000.0, preset="fast", seed=11)
    events = run.batch(400)
    # one Z → ee/μμ and one Z → νν among Z → ee/μμ/νν: 2·BRℓℓ·BRνν / (BRℓℓ + BRνν)² ≈ 0.377
    assert run.filter_efficiency == pytest.approx(0.377, abs=0.08)
    sigma, _ = run.cross_section_pb()
    assert sigma == pytest.approx(run.pythia.infoPython().sigmaGen() * 1e9 * run.filter_efficiency)
    assert len(events) == run.n_passed


STUDY = """
name: tiny
generator: {{backend: embedded, preset: fast, n_events: 300, shard_events: 120, seed: {seed}, workers: {workers}}}
samples:
  - name: znunu
    process: sm_znunu_jet
    generation_cuts: {{ptj: 150}}
"""


def _run(tmp_path: Path, name: str, seed: int = 3, workers: int = 1) -> Path:
    from darkscan.gen.embedded import run_study
    from darkscan.study import load_study

    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    study_file = folder / "study.yaml"
    study_file.write_text(STUDY.format(seed=seed, workers=workers))
    summary = run_study(load_study(study_file))
    assert summary["shards"] == 3
    return folder / "darkscan-output" / "tiny" / "samples" / "znunu" / "nominal" / "events"


def _tables(events_dir: Path) -> list[tuple[object, object]]:
    from darkscan.readers.events import read_event_table

    return [read_event_table(p) for p in sorted(events_dir.glob("shard-*.parquet"))]


def test_run_is_sharded_reproducible_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import awkward as ak

    from darkscan.gen import embedded

    first = _tables(_run(tmp_path, "a"))
    assert [len(t) for t, _ in first] == [120, 120, 60]
    events = ak.concatenate([t for t, _ in first])
    assert list(events["event"]) == list(range(300))
    meta = first[0][1]
    assert meta.source == "embedded" and meta.n_accepted == 120 and meta.sum_weights == pytest.approx(120)
    assert 27.0 < meta.cross_section_pb < 38.0  # Z(νν)+jet at pTHat > 150: 32.6 ± 0.8 pb (shared README)
    assert len({m.seed for _, m in first}) == 3
    assert "PartonLevel:MPI = off" in meta.generator_settings
    assert ak.mean(events["met"]) > 120.0

    # same seed → identical tables
    again = _tables(_run(tmp_path, "b"))
    for (t1, m1), (t2, m2) in zip(first, again):
        assert ak.to_list(t1) == ak.to_list(t2) and m1.cross_section_pb == m2.cross_section_pb

    # two worker processes: the same tables as one
    parallel = _tables(_run(tmp_path, "p", workers=2))
    for (t1, _), (t2, _) in zip(first, parallel):
        assert ak.to_list(t1) == ak.to_list(t2)

    # an interrupted run: the second shard fails; the first is kept, then a rerun completes the set
    calls = []
    kill = [True]
    real = embedded.run_shard

    def failing(task, on_batch=None):  # type: ignore[no-untyped-def]
        calls.append(task.shard)
        if task.shard == 1 and kill[0]:
            raise RuntimeError("killed")  # stands for SIGINT/SIGKILL mid-run
        return real(task, on_batch)

    monkeypatch.setattr(embedded, "run_shard", failing)
    with pytest.raises(RuntimeError, match="killed"):
        _run(tmp_path, "c")
    done = sorted((tmp_path / "c").rglob("shard-*.parquet"))
    assert [p.name for p in done] == ["shard-00000.parquet"]
    assert not list((tmp_path / "c").rglob(".shard-*"))  # no half-written file left behind
    calls.clear()
    kill[0] = False
    resumed = _tables(_run(tmp_path, "c"))
    assert calls == [1, 2]  # finished shard 0 was not redone
    for (t1, _), (t2, _) in zip(first, resumed):
        assert ak.to_list(t1) == ak.to_list(t2)

    other = _tables(_run(tmp_path, "d", seed=4))
    assert ak.to_list(other[0][0]["met"]) != ak.to_list(first[0][0]["met"])


def test_lhe_cross_section_from_init_block() -> None:
    lhe = shared_data() / "mg5" / "znunu_j" / "unweighted_events.lhe.gz"
    from darkscan.gen.shower import lhe_cross_section

    sigma, error = lhe_cross_section(lhe)
    assert sigma == pytest.approx(45.8651, rel=1e-4) and 0 < error < 1


def test_shower_writes_event_table(tmp_path: Path) -> None:
    import awkward as ak

    from darkscan.readers.events import read_event_table
    from darkscan.gen.shower import shower_lhe

    lhe = shared_data() / "mg5" / "znunu_j" / "unweighted_events.lhe.gz"
    out = tmp_path / "znunu.parquet"
    result = shower_lhe(lhe, out, max_events=150, seed=2)
    table, meta = read_event_table(out)
    assert result["events"] == 150 == len(table) == meta.n_accepted
    assert meta.cross_section_pb == pytest.approx(45.8651, rel=1e-4)
    assert "Beams:frameType = 4" in meta.generator_settings
    # MG5 ptj > 130 with Z → νν: the neutrinos recoil against the jet
    assert ak.mean(table["invisible_pt"]) > 130.0
    assert ak.mean(ak.firsts(table["jets"]["pt"])) > 100.0


def test_not_an_lhe_file(tmp_path: Path) -> None:
    from darkscan.gen.shower import lhe_cross_section

    bad = tmp_path / "x.lhe"
    bad.write_text("<LesHouchesEvents>\n<event>\n</event>\n")
    with pytest.raises(InputFileError, match="no <init> block before the first event"):
        lhe_cross_section(bad)
    with pytest.raises(InputFileError, match="no such LHE file"):
        lhe_cross_section(tmp_path / "missing.lhe")


def test_cli_gen_errors_are_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from darkscan.cli.main import app

    result = CliRunner().invoke(app, ["gen", "shower", str(tmp_path / "missing.lhe.gz")])
    assert result.exit_code == 2
    assert "no such LHE file" in result.output and "Traceback" not in result.output


def test_neutralino_recipe_runs_from_the_slha_spectrum() -> None:
    from darkscan.gen.pythia import PythiaRun

    process = PROCESSES["neutralino_monojet"]
    recipe = recipe_for(process.name, process.defaults(), {"ptj": 20.0})
    assert recipe.slha is not None and "BLOCK MASS" in recipe.slha.upper()
    run = PythiaRun(recipe, sqrt_s_gev=13000.0, preset="fast", seed=8, extra_settings=("HadronLevel:all = off",))
    run.batch(300)
    sigma, error = run.cross_section_pb()
    # MG5 p p > n1 n1 j (ptj > 20) on this spectrum: 0.171 pb; Pythia's LO with the same diagrams ≈ 0.22 pb
    assert 0.1 < sigma < 0.4 and error < sigma
    assert 0.8 < run.filter_efficiency <= 1.0


def test_mssm_spectrum_must_keep_the_dark_matter_the_lsp() -> None:
    from darkscan.errors import DarkscanError

    process = PROCESSES["sneutrino_monojet"]
    with pytest.raises(DarkscanError):
        recipe_for(process.name, {**process.defaults(), "m_dm": 3000.0}, {"ptj": 130.0})


def test_cli_gen_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from darkscan.cli.main import app

    study = tmp_path / "study.yaml"
    study.write_text(STUDY.format(seed=1, workers=1).replace("n_events: 300", "n_events: 60"))
    result = CliRunner().invoke(app, ["gen", "run", str(study)])
    assert result.exit_code == 0, result.output
    assert "1 shards generated, 0 already on disk" in result.output
    again = CliRunner().invoke(app, ["gen", "run", str(study)])
    assert "generation: up to date" in again.output  # the pipeline's manifest: nothing to look at


def test_alp_below_pythias_lightest_resonance_is_generated_at_the_floor_with_a_warning() -> None:
    from darkscan.gen.pythia import PythiaRun

    process = PROCESSES["alp_monojet"]
    recipe = recipe_for(process.name, process.defaults(), {"ptj": 150.0})  # m_a = 1 MeV
    assert "36:m0 = 0.1" in recipe.settings and "36:mayDecay = off" in recipe.settings
    assert any("c_g / f_a are not applied" in w for w in recipe.warnings)
    assert any("generated at 0.1 GeV" in w for w in recipe.warnings)
    run = PythiaRun(recipe, sqrt_s_gev=13000.0, preset="fast", seed=2, extra_settings=("HadronLevel:all = off",))
    events = run.batch(50)
    stable = events["prt"][events["prt"]["status"] > 0]
    import awkward as ak

    assert ak.all(ak.sum(stable["id"] == 36, axis=1) == 1)  # the invisible pseudoscalar stays in the event


def test_shards_from_a_changed_study_are_not_silently_reused(tmp_path: Path) -> None:
    from darkscan.gen.embedded import run_study
    from darkscan.study import load_study

    study_file = tmp_path / "study.yaml"
    study_file.write_text(STUDY.format(seed=1, workers=1).replace("n_events: 300", "n_events: 60"))
    run_study(load_study(study_file))
    study_file.write_text(STUDY.format(seed=1, workers=1).replace("n_events: 300", "n_events: 60")
                          .replace("preset: fast", "preset: full"))
    with pytest.raises(StudyError, match="different configuration — preset 'fast'"):
        run_study(load_study(study_file))


def test_changed_generation_cuts_or_detector_file_make_finished_shards_stale(tmp_path: Path) -> None:
    import shutil

    from darkscan.gen.detector import default_params_path
    from darkscan.gen.embedded import run_study
    from darkscan.study import load_study

    small = STUDY.format(seed=1, workers=1).replace("n_events: 300", "n_events: 60")
    study_file = tmp_path / "study.yaml"
    study_file.write_text(small)
    run_study(load_study(study_file))
    study_file.write_text(small.replace("ptj: 150", "ptj: 200"))
    with pytest.raises(StudyError, match="different configuration — generation_cuts"):
        run_study(load_study(study_file))
    detector = tmp_path / "detector.yaml"
    shutil.copy(default_params_path(), detector)
    detector.write_text(detector.read_text() + "\n# a tuned copy\n")
    study_file.write_text(small + "detector: {params: detector.yaml}\n")
    with pytest.raises(StudyError, match="detector_params_sha256"):
        run_study(load_study(study_file))
