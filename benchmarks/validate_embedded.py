"""Validate the embedded generator against real programs.

1. σ(Z(→νν) + jet) from Pythia 8 at pTHat > 130 GeV vs MadGraph5 LO (``shared/data/mg5/znunu_j``,
   σ read from the LHE ``<init>`` block), for pure Z and for γ*/Z.
2. The fast detector vs real Delphes 3.5.1 (stock ATLAS card) on the SAME Pythia events: the
   reference ROOT files in ``shared/data/delphes`` were made from Pythia 8.317 with known seeds and
   settings, so we regenerate those events in process (checked: identical final-state particles)
   and compare mean MET, leading-jet pT, jet multiplicity and lepton efficiencies, in distribution
   and event by event.

The fast detector drops what Delphes' ParticlePropagator drops (particles produced outside the
tracker cylinder, e.g. the decay products of K⁰_S and Λ that fly beyond r = 1.15 m): before that it
read the Z(νν)+jet sample 2.6 % (MET) and 2.8 % (leading-jet pT) high, with an ``atlas_monojet``
efficiency 12 % high (Delphes had a low tail of jet response, 5 % of jets below 0.74, from those
lost decays).
Besides the means it shows where the true leptons go (reconstructed, or seen only as a jet) and the
photon multiplicity. The card clusters every tracked muon into the jets (only a jet sharing a
particle with an isolated muon, electron or photon is removed), so on ZZ → ℓℓνν ~10 % of the true
muons end up as jets, and its photons are the ECal towers' neutral excess (an electron whose track
reads low, or a π⁰-led deposit, can become one): the fast detector follows both since it follows the
card's object flow; before that it turned 0.3 % of the muons into jets, found 0.74× Delphes' photons
and read the ZZ leading-jet pT 3.5 % low.
The signal samples against MG5 + shower are ``validate_signals.py``.

A reference file is ONE Delphes random seed, and one seed moves Delphes' means as much as one seed
moves the fast detector's. ``--delphes-seeds N`` (needs a Delphes build) rebuilds Delphes' input from
the regenerated events in the reference layout (RandomSeed 12345 then gives the reference files bit
for bit), runs N other seeds and compares the fast detector with Delphes' seed average. With 24
(fast over 12 seeds / Delphes' average ± both means' standard errors): Z(νν)+jet MET 1.000 ± 0.001,
leading-jet pT 1.000 ± 0.001, jet multiplicity 0.998 ± 0.002, atlas_monojet efficiency 0.991 ±
0.010; ZZ → ℓℓνν MET 1.004 ± 0.002, leading-jet pT 1.000 ± 0.006, jet multiplicity 0.998 ± 0.006,
e / μ efficiency 1.011 / 0.999. Against the ZZ reference file alone the leading-jet pT reads 0.978 ±
0.018 (one-seed spread) and the jet multiplicity 1.063: that file's seed has 3.1 one-seed spreads
fewer jets than the other seeds (1.046 per event; 1.114 ± 0.022), and so ~19 fewer events with a jet
(the "fast-only" soft jets, from leptons that fail identification or isolation, and soft hadronic
ones alike). The Z(νν)+jet file's multiplicity sits 3.2 spreads high (2.208; 2.175 ± 0.011).
The tower grid is the card's (its forward ECal edges and the HCal's 10°/20° interleaved bins), with
the resolution taken at the tower's centre as Delphes does: with the former regular grid the fast
MET mean fluctuated half as much as Delphes' from seed to seed on Z(νν)+jet (0.25 vs 0.5 GeV).

Run: ``PYTHONPATH=src python benchmarks/validate_embedded.py [--sigma-events N] [--delphes-seeds N]``
(a few minutes; Delphes adds ~3 s per seed and sample).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _shared_data import shared_data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from darkscan.gen.detector import FastDetector, ParticleArrays  # noqa: E402
from darkscan.gen.pythia import PythiaRun, Recipe, recipe_for  # noqa: E402


def sigma_check(n_events: int) -> None:
    from darkscan.gen.shower import lhe_cross_section

    mg_sigma, mg_error = lhe_cross_section(shared_data() / "mg5" / "znunu_j" / "unweighted_events.lhe.gz")
    print(f"MadGraph5 LO  p p > z j, z > vl vl~, ptj > 130: σ = {mg_sigma:.3f} ± {mg_error:.3f} pb")
    base = recipe_for("sm_znunu_jet", {}, {"ptj": 130.0})
    variants = {
        "pure Z (gmZmode = 2), Pythia defaults": base,
        "γ*/Z (gmZmode = 0)": Recipe("sm_znunu_jet", tuple(s for s in base.settings if "gmZmode" not in s)),
        "pure Z, 2-loop αs running (as the PDF / MG5)": Recipe("sm_znunu_jet", (*base.settings, "SigmaProcess:alphaSorder = 2")),
        "pure Z, 2-loop αs, μR² = μF² = mean mT² (option 3)": Recipe("sm_znunu_jet", (
            *base.settings, "SigmaProcess:alphaSorder = 2", "SigmaProcess:renormScale2 = 3", "SigmaProcess:factorScale2 = 3")),
        "pure Z, 2-loop αs, μR² = μF² = ŝ (option 4)": Recipe("sm_znunu_jet", (
            *base.settings, "SigmaProcess:alphaSorder = 2", "SigmaProcess:renormScale2 = 4", "SigmaProcess:factorScale2 = 4")),
    }
    for label, recipe in variants.items():
        run = PythiaRun(recipe, sqrt_s_gev=13000.0, preset="fast", seed=4242,
                        extra_settings=("PartonLevel:all = off", "HadronLevel:all = off"))
        for _ in range(max(n_events // 1000, 1)):
            run.pythia.nextBatch(1000, "skip")
        sigma, error = run.cross_section_pb()
        print(f"Pythia 8 {label:<52s} σ = {sigma:7.3f} ± {error:.3f} pb   ratio to MG5 = {sigma / mg_sigma:.3f}")


def sigma_check_mssm(n_events: int) -> None:
    """χ̃⁰₁χ̃⁰₁ + jet: MG5 (2 → 3, ptj > 20) vs Pythia (2 → 2, jet from ISR, recoil > 20 GeV filter)."""
    from darkscan.gen.shower import lhe_cross_section
    from darkscan.registry import PROCESSES

    mg_sigma, mg_error = lhe_cross_section(shared_data() / "mg5" / "mssm_n1n1j" / "unweighted_events.lhe.gz")
    print(f"\nMadGraph5 LO  p p > n1 n1 j (MSSM_SLHA2, SPS1a-like), ptj > 20: σ = {mg_sigma:.4f} ± {mg_error:.4f} pb")
    process = PROCESSES["neutralino_monojet"]
    for cut in (20.0, 130.0):
        run = PythiaRun(recipe_for(process.name, process.defaults(), {"ptj": cut}), sqrt_s_gev=13000.0,
                        preset="fast", seed=99, extra_settings=("HadronLevel:all = off",))
        while run.n_passed < n_events:
            run.batch(2000)
        sigma, error = run.cross_section_pb()
        ratio = f"   ratio to MG5 = {sigma / mg_sigma:.3f}" if cut == 20.0 else ""
        print(f"Pythia 8 qqbar2chi0chi0 + qg2chi0squark (q̃ → q χ̃⁰₁), recoil > {cut:g} GeV (filter efficiency "
              f"{run.filter_efficiency:.3f}): σ = {sigma:.4f} ± {error:.4f} pb{ratio}")


def sigma_check_spin1(n_events: int) -> None:
    """DMsimp spin-1 monojet: MG5's measured σ (shared/notes/madgraph-models.md) vs the embedded recipe
    (the full comparison at three masses, shapes included, is ``validate_signals.py``)."""
    from darkscan.registry import PROCESSES

    mg_sigma, mg_error = 5.341, 0.043  # MG5 3.5.7, DMsimp_s_spin1-full, p p > xd xd~ j, ptj > 130, Γ(Y1) = 10 GeV
    print(f"\nMadGraph5 LO  p p > xd xd~ j (DMsimp_s_spin1, m_med 1 TeV, m_dm 10 GeV, g_q 0.25, g_dm 1, Γ = 10 GeV), "
          f"ptj > 130: σ = {mg_sigma:.3f} ± {mg_error:.3f} pb")
    process = PROCESSES["spin1_monojet"]
    run = PythiaRun(recipe_for(process.name, {**process.defaults(), "w_med": 10.0}, {"ptj": 130.0}),
                    sqrt_s_gev=13000.0, preset="fast", seed=7, extra_settings=("HadronLevel:all = off",))
    while run.n_passed < n_events:
        run.batch(2000)
    sigma, error = run.cross_section_pb()
    print(f"embedded (Z + jet matrix element at m_med, Γ = 10 GeV, reweighted to DMsimp couplings): "
          f"σ = {sigma:.3f} ± {error:.3f} pb   ratio to MG5 = {sigma / mg_sigma:.3f}")


def read_delphes(path: Path) -> dict[str, object]:
    import uproot

    with uproot.open(path) as handle:
        tree = handle["Delphes"]
        names = ["Jet.PT", "Jet.Eta", "Jet.Phi", "Jet.BTag", "MissingET.MET", "Electron.PT", "Electron.Eta",
                 "Electron.Phi", "Muon.PT", "Muon.Eta", "Muon.Phi", "Photon.PT"]
        return tree.arrays(names, library="ak")


def regenerate_events(recipe: Recipe, seed: int, n_events: int) -> tuple[object, dict[str, np.ndarray]]:
    """The Pythia events Delphes saw (same settings and seed), and their leptons in acceptance."""
    import awkward as ak

    run = PythiaRun(recipe, sqrt_s_gev=13000.0, preset="full", seed=seed)
    events = []
    while sum(len(e) for e in events) < n_events:
        events.append(run.batch(n_events - sum(len(e) for e in events)))
    events = ak.concatenate(events)
    prt = events["prt"]
    final = prt[prt["status"] > 0]
    pt = np.hypot(final["p"]["px"], final["p"]["py"])
    eta = np.arcsinh(final["p"]["pz"] / np.maximum(pt, 1e-9))
    accept = (pt > 10) & (abs(eta) < 2.5)
    # prompt leptons: status-1 leptons whose ancestry is the hard process are hard to trace in the
    # flat record; isolated hard leptons (pT > 10, |eta| < 2.5) dominate in these samples
    phi = np.arctan2(final["p"]["py"], final["p"]["px"])
    truth = {"n_e": ak.to_numpy(ak.sum(accept & (abs(final["id"]) == 11), axis=1)),
             "n_mu": ak.to_numpy(ak.sum(accept & (abs(final["id"]) == 13), axis=1))}
    for name, pid in (("e", 11), ("mu", 13)):
        mine = accept & (abs(final["id"]) == pid)
        truth[f"{name}_eta"], truth[f"{name}_phi"] = eta[mine], phi[mine]
    return events, truth


#: the RandomSeed of the reference Delphes files (shared/data/delphes/cards/override_common.tcl)
REFERENCE_DELPHES_SEED = 12345


def _mother_list(mother1: int, mother2: int, status: int) -> list[int]:
    """Pythia's ``Particle::motherList``: none for the beams, a range for string and ministring
    fragmentation products, else one mother or two separate ones."""
    code = abs(status)
    if code in (11, 12) or (mother1 == 0 and mother2 == 0):
        return []
    if mother2 == 0 or mother2 == mother1:
        return [mother1]
    if 80 < code < 90 or 100 < code < 107:
        return list(range(mother1, mother2 + 1))
    return [min(mother1, mother2), max(mother1, mother2)]


def write_reference_hepmc(events: object, path: Path) -> None:
    """HepMC3 ASCII of Pythia events laid out as the reference Delphes inputs were (Pythia8ToHepMC3:
    each particle's production vertex joins its mother list, at Pythia's production point, and the
    event is the tree grown from the two beams). Delphes reads the particles in that order, so with
    the reference RandomSeed it gives the reference ROOT files bit for bit (``delphes_runs`` checks)."""
    import awkward as ak
    import pyhepmc

    from darkscan.gen.madgraph import _hepmc_status

    with pyhepmc.open(path, "w") as writer:
        for number, event in enumerate(events):
            prt = event["prt"]
            px, py, pz, e = (ak.to_numpy(prt["p"][c]) for c in ("px", "py", "pz", "e"))
            mass, pid, status = ak.to_numpy(prt["m"]), ak.to_numpy(prt["id"]), ak.to_numpy(prt["status"])
            mother1, mother2 = ak.to_numpy(prt["mother1"]), ak.to_numpy(prt["mother2"])
            hepmc_status = _hepmc_status(status)
            vertex = prt["vProd"]
            vx, vy, vz, vt = (np.nan_to_num(ak.to_numpy(ak.fill_none(vertex[c], 0.0))) for c in ("px", "py", "pz", "e"))
            # entry 0 is Pythia's whole system, not a particle
            particles = [None] + [pyhepmc.GenParticle(pyhepmc.FourVector(px[i], py[i], pz[i], e[i]), int(pid[i]),
                                                      int(hepmc_status[i])) for i in range(1, len(pid))]
            vertices = []  # a particle holds its end vertex weakly: keep them alive until the event owns them
            for i in range(1, len(pid)):
                particles[i].generated_mass = float(mass[i])
                mothers = _mother_list(int(mother1[i]), int(mother2[i]), int(status[i]))
                if not mothers:
                    continue
                production = particles[mothers[0]].end_vertex
                if production is None:
                    production = pyhepmc.GenVertex()
                    vertices.append(production)
                    for m in mothers:
                        production.add_particle_in(particles[m])
                position = pyhepmc.FourVector(vx[i], vy[i], vz[i], vt[i])
                if position != production.position:
                    production.position = position
                production.add_particle_out(particles[i])
            genevent = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
            genevent.event_number = number
            genevent.add_tree([particles[1], particles[2]])
            genevent.weights = [1.0]
            writer.write(genevent)


def delphes_card(delphes_home: Path, seed: int) -> str:
    """The reference files' card (stock ATLAS + override_common + override_slim_output) with ``seed``."""
    cards = shared_data() / "delphes" / "cards"
    parts = [delphes_home / "cards" / "delphes_card_ATLAS.tcl", cards / "override_common.tcl",
             cards / "override_slim_output.tcl"]
    return "".join(part.read_text() for part in parts) + f"\nset RandomSeed {seed}\n"


def run_delphes(delphes_home: Path, hepmc: Path, seed: int, output: Path) -> Path:
    """DelphesHepMC3 through the MadGraph route's step runner (timeout, one log beside ``output``)."""
    from darkscan.gen.executors import LocalExecutor, run_step

    executor = LocalExecutor(delphes=delphes_home)
    card = output.with_suffix(".tcl")
    card.write_text(delphes_card(delphes_home, seed))
    output.unlink(missing_ok=True)  # DelphesHepMC3 refuses to overwrite
    run_step(executor, executor.delphes_command(card, output, hepmc), workdir=executor.delphes_workdir(),
             log=output.with_suffix(".log"), timeout_s=600)
    return output


def delphes_runs(delphes_home: Path, events: object, reference: Path, seeds: list[int], workdir: Path) -> list[Path]:
    """Real Delphes on the reference events with other random seeds: the HepMC3 input is rebuilt from
    the regenerated events, checked to give the reference file exactly with its own seed, then run
    once per seed (one output each)."""
    import awkward as ak
    import uproot

    hepmc = workdir / f"{reference.stem}.hepmc"
    write_reference_hepmc(events, hepmc)
    check = run_delphes(delphes_home, hepmc, REFERENCE_DELPHES_SEED, workdir / f"{reference.stem}-check.root")
    with uproot.open(check) as ours, uproot.open(reference) as theirs:
        for leaf in ("Jet.PT", "MissingET.MET", "Electron.PT", "Muon.PT", "Photon.PT"):
            mine, reference_values = ours["Delphes"][leaf].array(), theirs["Delphes"][leaf].array()
            if not (np.array_equal(ak.to_numpy(ak.num(mine)), ak.to_numpy(ak.num(reference_values)))
                    and np.array_equal(ak.to_numpy(ak.ravel(mine)), ak.to_numpy(ak.ravel(reference_values)))):
                raise SystemExit(f"{reference.name}: rebuilt input with RandomSeed {REFERENCE_DELPHES_SEED} does not "
                                 f"reproduce its {leaf}: not the reference events")
    return [run_delphes(delphes_home, hepmc, seed, workdir / f"{reference.stem}-seed{seed}.root") for seed in seeds]


def _only_as_jet(lep_eta: object, lep_phi: object, obj_eta: object, obj_phi: object, jet_eta: object,
                 jet_phi: object, delta_r: float = 0.15) -> int:
    """How many true leptons have a jet along them (ΔR < 0.15) but no reconstructed lepton: leptons that
    the detector turned into jets (failed identification or isolation, their deposit clustered)."""
    import awkward as ak

    def near(eta: object, phi: object) -> object:
        pairs = ak.cartesian({"l_eta": lep_eta, "o_eta": eta}, nested=True)
        phis = ak.cartesian({"l": lep_phi, "o": phi}, nested=True)
        dphi = (phis["l"] - phis["o"] + np.pi) % (2 * np.pi) - np.pi
        return ak.any((pairs["l_eta"] - pairs["o_eta"]) ** 2 + dphi**2 < delta_r**2, axis=-1)

    return int(ak.sum(near(jet_eta, jet_phi) & ~near(obj_eta, obj_phi)))


def simulate(events: object, recipe: Recipe, detector_seed: int) -> dict[str, object]:
    """The fast detector's objects for the events, with one detector seed."""
    detector = FastDetector(invisible_pdgids=recipe.invisible_pdgids)
    return detector.simulate(ParticleArrays.from_pythia_batch(events), np.random.default_rng(detector_seed))


def _lead(pt: object) -> np.ndarray:
    import awkward as ak

    return ak.to_numpy(ak.fill_none(ak.firsts(pt), np.nan))


def monojet_efficiency(objects: dict[str, object]) -> float:
    """Fraction of events passing the ``atlas_monojet`` preset (features of an event table)."""
    import awkward as ak

    from darkscan.analysis.features import compute_features
    from darkscan.analysis.selection import apply, study_cuts

    n = len(objects["met"])  # type: ignore[arg-type]
    table = ak.zip({**objects, "weight": np.ones(n)}, depth_limit=1)
    return float(np.mean(np.asarray(apply(compute_features(table), study_cuts("atlas_monojet")))))


def delphes_monojet_efficiency(path: Path) -> float:
    """The same selection on the real Delphes file, read by darkscan's own Delphes reader."""
    from darkscan.readers.delphes import event_table

    table, _ = event_table(path, invisible_pdgids=(52,), cross_section_pb=1.0)
    return monojet_efficiency({k: table[k] for k in table.fields if k != "weight"})


def compare_rows(ours: dict[str, object], truth: dict[str, np.ndarray],
                 delphes: dict[str, object], delphes_path: Path | None = None) -> list[tuple[str, float, float]]:
    """(quantity, Delphes, fast) for the comparisons the embedded-generation issue asks for."""
    import awkward as ak

    d_met = np.asarray(ak.to_numpy(ak.fill_none(ak.firsts(delphes["MissingET.MET"]), np.nan)))
    o_met = np.asarray(ours["met"])
    d_nj = ak.to_numpy(ak.num(delphes["Jet.PT"]))
    o_nj = ak.to_numpy(ak.num(ours["jets"]))
    d_lead, o_lead = _lead(delphes["Jet.PT"]), _lead(ours["jets"]["pt"])
    d_ne, o_ne = ak.to_numpy(ak.num(delphes["Electron.PT"])), ak.to_numpy(ak.num(ours["electrons"]))
    d_nm, o_nm = ak.to_numpy(ak.num(delphes["Muon.PT"])), ak.to_numpy(ak.num(ours["muons"]))
    d_nb, o_nb = ak.to_numpy(ak.sum(delphes["Jet.BTag"] & 1, axis=1)), ak.to_numpy(ak.sum(ours["jets"]["btag"], axis=1))
    rows = [
        ("mean MET [GeV]", d_met.mean(), o_met.mean()),
        ("fraction MET > 150 GeV", (d_met > 150).mean(), (o_met > 150).mean()),
        ("mean leading-jet pT [GeV]", np.nanmean(d_lead), np.nanmean(o_lead)),
        ("fraction with >= 1 jet", (d_nj > 0).mean(), (o_nj > 0).mean()),
        ("mean jet multiplicity", d_nj.mean(), o_nj.mean()),
        ("mean b-tagged jets", d_nb.mean(), o_nb.mean()),
    ]
    if truth["n_e"].sum():
        rows.append(("electron efficiency (reco / true pT>10,|eta|<2.5)", d_ne.sum() / truth["n_e"].sum(),
                     o_ne.sum() / truth["n_e"].sum()))
    if truth["n_mu"].sum():
        rows.append(("muon efficiency (reco / true pT>10,|eta|<2.5)", d_nm.sum() / truth["n_mu"].sum(),
                     o_nm.sum() / truth["n_mu"].sum()))
    rows += [("fraction with >= 1 electron", (d_ne > 0).mean(), (o_ne > 0).mean()),
             ("fraction with >= 1 muon", (d_nm > 0).mean(), (o_nm > 0).mean()),
             ("mean photon multiplicity", ak.mean(ak.num(delphes["Photon.PT"])), ak.mean(ak.num(ours["photons"])))]
    if "mu_eta" in truth:
        # where the true leptons go: a lepton lost to a jet in one detector and not the other moves the
        # jet multiplicity and the leading-jet pT (Delphes clusters muon tracks into jets)
        for name, kind, pid in (("muons", "Muon", "mu"), ("electrons", "Electron", "e")):
            if truth[f"n_{pid}"].sum():
                rows.append((f"true {name} seen only as a jet (fraction)",
                             _only_as_jet(truth[f"{pid}_eta"], truth[f"{pid}_phi"], delphes[f"{kind}.Eta"],
                                          delphes[f"{kind}.Phi"], delphes["Jet.Eta"], delphes["Jet.Phi"])
                             / truth[f"n_{pid}"].sum(),
                             _only_as_jet(truth[f"{pid}_eta"], truth[f"{pid}_phi"], ours[name]["eta"],
                                          ours[name]["phi"], ours["jets"]["eta"], ours["jets"]["phi"])
                             / truth[f"n_{pid}"].sum()))
    if delphes_path is not None:
        rows.append(("atlas_monojet selection efficiency", delphes_monojet_efficiency(delphes_path),
                     monojet_efficiency(ours)))
    return [(name, float(d), float(o)) for name, d, o in rows]


def compare(label: str, ours: dict[str, object], truth: dict[str, np.ndarray], delphes: dict[str, object],
            delphes_path: Path | None = None) -> None:
    import awkward as ak

    rows = compare_rows(ours, truth, delphes, delphes_path)
    d_met = np.asarray(ak.to_numpy(ak.fill_none(ak.firsts(delphes["MissingET.MET"]), np.nan)))
    o_met = np.asarray(ours["met"])
    d_nj, o_nj = ak.to_numpy(ak.num(delphes["Jet.PT"])), ak.to_numpy(ak.num(ours["jets"]))
    d_ne, o_ne = ak.to_numpy(ak.num(delphes["Electron.PT"])), ak.to_numpy(ak.num(ours["electrons"]))
    d_nm, o_nm = ak.to_numpy(ak.num(delphes["Muon.PT"])), ak.to_numpy(ak.num(ours["muons"]))
    d_lead, o_lead = _lead(delphes["Jet.PT"]), _lead(ours["jets"]["pt"])
    n = len(d_met)
    print(f"\n{label}: {n} events, real Delphes 3.5.1 ATLAS card vs darkscan fast detector (same Pythia events)")
    print(f"  {'quantity':<52s} {'Delphes':>10s} {'fast':>10s} {'fast/Delphes':>13s}")
    for name, d, o in rows:
        if d == 0 and o == 0:
            print(f"  {name:<52s} {'none in this sample':>35s}")
            continue
        ratio = o / d if d else float("nan")
        flag = "" if abs(ratio - 1) <= 0.05 else "   (> 5 %)"
        print(f"  {name:<52s} {d:10.4g} {o:10.4g} {ratio:13.3f}{flag}")
    both = ~np.isnan(d_lead) & ~np.isnan(o_lead)
    print("  event by event: "
          f"MET correlation {np.corrcoef(d_met, o_met)[0, 1]:.3f}, median |ΔMET| {np.median(np.abs(d_met - o_met)):.1f} GeV; "
          f"leading-jet pT correlation {np.corrcoef(d_lead[both], o_lead[both])[0, 1]:.3f}, fast/Delphes "
          f"{o_lead[both].mean() / d_lead[both].mean():.3f} where both have a jet ({both.sum()} events; a jet in "
          f"one only: fast {(~np.isnan(o_lead) & np.isnan(d_lead)).sum()}, Delphes {(np.isnan(o_lead) & ~np.isnan(d_lead)).sum()}); "
          f"same jet count in {(d_nj == o_nj).mean():.1%}, same electron count in {(d_ne == o_ne).mean():.1%}, "
          f"same muon count in {(d_nm == o_nm).mean():.1%} of events")


def detector_check(n_detector_seeds: int, delphes_seeds: int = 0, delphes_home: Path | None = None) -> None:
    """Fast detector vs Delphes on the shared samples; the fast side is averaged over detector seeds
    (on 500 events one seed moves a selection efficiency of 0.25 by ±2 %). With ``delphes_seeds``, real
    Delphes (built at ``delphes_home``) also runs that many other random seeds on the same events: the
    reference file is one seed, and one seed moves Delphes' own means as much as the fast detector's."""
    data = shared_data() / "delphes"
    samples = [
        ("Z(→νν)+jet, pTHat > 150, seed 1001", recipe_for("sm_znunu_jet", {}, {"ptj": 150.0}), 1001,
         data / "znunu_jet_500ev_ATLAS_slim.root"),
        ("ZZ → ℓℓνν (filtered), seed 1003", recipe_for("sm_zz_llvv", {}, {}), 1003,
         data / "zz_llnunu_500ev_ATLAS_slim.root"),
    ]
    for label, recipe, seed, path in samples:
        delphes = read_delphes(path)
        events, truth = regenerate_events(recipe, seed, len(delphes))
        ours = simulate(events, recipe, 12345)
        compare(f"{label}, detector seed 12345", ours, truth, delphes, path)
        if n_detector_seeds <= 1 and delphes_seeds <= 0:
            continue
        fast = [compare_rows(simulate(events, recipe, 12345 + k), truth, delphes, path)
                for k in range(max(n_detector_seeds, 1))]
        names = [name for name, _, _ in fast[0]]
        reference = np.array([d for _, d, _ in fast[0]])
        fast_values = np.array([[o for _, _, o in rows] for rows in fast])
        if n_detector_seeds > 1:
            print(f"  fast/Delphes over {n_detector_seeds} detector seeds: mean ± spread of one seed (std. deviation)")
            for i, name in enumerate(names):
                if reference[i]:
                    ratios = fast_values[:, i] / reference[i]
                    print(f"    {name:<52s} {ratios.mean():.3f} ± {ratios.std(ddof=1):.3f}")
        if delphes_seeds > 0:
            seeds = [REFERENCE_DELPHES_SEED + 1 + k for k in range(delphes_seeds)]
            with tempfile.TemporaryDirectory() as tmp:
                runs = delphes_runs(delphes_home, events, path, seeds, Path(tmp))
                delphes_values = np.array([[d for _, d, _ in compare_rows(ours, truth, read_delphes(run), run)]
                                           for run in runs])
            print(f"  real Delphes with {delphes_seeds} other random seeds (its input rebuilt and checked: RandomSeed "
                  f"{REFERENCE_DELPHES_SEED} gives the reference file exactly)")
            print("    reference: the shared file; Delphes: mean over the seeds; pull: (reference − mean) / one seed's "
                  "spread;\n    fast/Delphes: fast mean over its seeds / Delphes mean ± both means' standard errors; "
                  "one seed: the spread of one seed relative to the Delphes mean")
            print(f"    {'quantity':<52s} {'reference':>9s} {'Delphes':>9s} {'pull':>6s} {'fast/Delphes':>16s} "
                  f"{'one seed: Delphes':>17s} {'fast':>6s}")
            for i, name in enumerate(names):
                mean, spread = delphes_values[:, i].mean(), delphes_values[:, i].std(ddof=1)
                if not mean:
                    continue
                fast_spread = fast_values[:, i].std(ddof=1)
                error = np.hypot(spread / np.sqrt(delphes_seeds), fast_spread / np.sqrt(len(fast)))
                pull = (reference[i] - mean) / spread if spread else 0.0
                ratio = fast_values[:, i].mean() / mean
                print(f"    {name:<52s} {reference[i]:9.4g} {mean:9.4g} {pull:6.1f} {ratio:9.3f} ± {error / mean:.3f} "
                      f"{spread / mean:17.3f} {fast_spread / mean:6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigma-events", type=int, default=20000, help="hard-process events per σ estimate")
    parser.add_argument("--skip-sigma", action="store_true")
    parser.add_argument("--detector-seeds", type=int, default=12, help="detector seeds averaged against Delphes")
    parser.add_argument("--delphes-seeds", type=int, default=0,
                        help="also run real Delphes with this many other random seeds on the same events (needs a "
                             "Delphes build: $DARKSCAN_DELPHES_HOME or .ci/install-delphes' folder)")
    args = parser.parse_args()
    delphes_home = None
    if args.delphes_seeds > 0:
        from darkscan.errors import DarkscanError
        from darkscan.gen.executors import LocalExecutor

        try:
            delphes_home = LocalExecutor().delphes_home()
        except DarkscanError as exc:
            raise SystemExit(f"--delphes-seeds: {exc}") from None
    start = time.perf_counter()
    if not args.skip_sigma:
        sigma_check(args.sigma_events)
        sigma_check_mssm(2000)
        sigma_check_spin1(2000)
    detector_check(args.detector_seeds, args.delphes_seeds, delphes_home)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
