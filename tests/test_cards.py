"""Card rendering: golden cards for every registry process and both MG5 scan styles, read-back
checks that catch tampering, determinism, the CLI and its one-line errors.

Regenerate the goldens after a deliberate template change with
``DARKSCAN_UPDATE_GOLDEN=1 pytest tests/test_cards.py`` and review the diff before committing.
"""

from __future__ import annotations

import dataclasses
import filecmp
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from darkscan.cards import delphes, mg5, pythia8, slha
from darkscan.cards.render import render_study_cards
from darkscan.cli.main import app
from darkscan.errors import CardError
from darkscan.io import sha256_file
from darkscan.registry import PROCESSES
from darkscan.study import parse_study
from darkscan.widths import mediator_width_gev

GOLDEN = Path(__file__).resolve().parent / "golden" / "cards"
UPDATE = os.environ.get("DARKSCAN_UPDATE_GOLDEN") == "1"

#: one sample per registry process at its defaults
EVERY_PROCESS = {
    "name": "golden",
    "generator": {"backend": "madgraph", "n_events": 1000, "seed": 7},
    "samples": [{"name": name, "process": name} for name in PROCESSES],
}
#: both scan shapes MG5 must express: one entry, several entries/parameters together
SCANS = {
    "name": "golden_scans",
    "generator": {"backend": "madgraph", "n_events": 500, "seed": 3, "preset": "full"},
    "samples": [
        # one parameter, one param-card entry: plain scan:[…]
        {"name": "spin1_mmed", "process": "spin1_monojet", "scan": {"m_med": [500, 1000, 2000]},
         "parameters": {"w_med": "auto"}},
        # two parameters in step: scan1:[…] on both
        {"name": "spin1_zip", "process": "spin1_monoz", "scan_mode": "zip",
         "scan": {"m_med": [500, 1000], "m_dm": [10, 100]}},
        # a 2×2 grid: written out point by point as one zipped scan1 group
        {"name": "spin0_grid", "process": "spin0_monojet", "scan": {"m_med": [500, 1000], "m_dm": [10, 50]}},
        # one parameter on three entries (the three sneutrinos): scan1:[…]
        {"name": "snu_mdm", "process": "sneutrino_monojet", "scan": {"m_dm": [100, 120]}},
        {"name": "snu_z_mdm", "process": "sneutrino_monoz", "scan": {"m_dm": [50, 120]},
         "generation_cuts": {"ptl": 20, "mmll": 60, "mmllmax": 120}},
        # misset is a real cut here: the neutrinos of Z → νν
        {"name": "zz_misset", "process": "sm_zz_llvv", "generation_cuts": {"misset": 50}},
    ],
}


def _study(data: dict, tmp_path: Path):
    return parse_study(data, source=tmp_path / "study.yaml")


def _compare_tree(rendered: Path, golden: Path) -> None:
    if UPDATE:
        if golden.exists():
            shutil.rmtree(golden)
        shutil.copytree(rendered, golden)
    assert golden.is_dir(), f"no golden cards at {golden}; run with DARKSCAN_UPDATE_GOLDEN=1 and review them"
    ours = sorted(p.relative_to(rendered) for p in rendered.rglob("*") if p.is_file())
    theirs = sorted(p.relative_to(golden) for p in golden.rglob("*") if p.is_file())
    assert ours == theirs
    for relative in ours:
        assert (rendered / relative).read_text() == (golden / relative).read_text(), relative


def test_every_registry_process_matches_its_golden_cards(tmp_path: Path):
    study = _study(EVERY_PROCESS, tmp_path)
    rendered = render_study_cards(study, output=tmp_path / "cards")
    assert len(rendered) == len(PROCESSES) == 19
    _compare_tree(tmp_path / "cards", GOLDEN / "per_point")


def test_mg5_scan_style_matches_its_golden_cards(tmp_path: Path):
    study = _study(SCANS, tmp_path)
    rendered = render_study_cards(study, output=tmp_path / "cards", mg5_scan=True)
    assert len(rendered) == len(study.plan()) + len(study.samples)
    _compare_tree(tmp_path / "cards", GOLDEN / "mg5_scan")


def _golden_script(*parts: str) -> mg5.MG5Script:
    return mg5.parse_mg5_script((GOLDEN.joinpath(*parts)).read_text())


def test_golden_scan_syntax():
    one = _golden_script("mg5_scan", "spin1_mmed", "mg5-scan", "madgraph.mg5")
    assert one.param_card["MASS 55"] == "scan:[5.000000e+02,1.000000e+03,2.000000e+03]"
    assert one.param_card["DECAY 55"] == "Auto"
    zipped = _golden_script("mg5_scan", "spin1_zip", "mg5-scan", "madgraph.mg5")
    assert zipped.param_card["MASS 55"] == "scan1:[5.000000e+02,1.000000e+03]"
    assert zipped.param_card["MASS 52"] == "scan1:[1.000000e+01,1.000000e+02]"
    grid = _golden_script("mg5_scan", "spin0_grid", "mg5-scan", "madgraph.mg5")
    # plan order: m_med outer, m_dm inner
    assert grid.param_card["MASS 54"] == "scan1:[5.000000e+02,5.000000e+02,1.000000e+03,1.000000e+03]"
    assert grid.param_card["MASS 52"] == "scan1:[1.000000e+01,5.000000e+01,1.000000e+01,5.000000e+01]"
    snu = _golden_script("mg5_scan", "snu_mdm", "mg5-scan", "madgraph.mg5")
    assert {snu.param_card[f"MASS {i}"] for i in (1000012, 1000014, 1000016)} == {"scan1:[1.000000e+02,1.200000e+02]"}
    # the spectrum moved: the ν̃ LSP is stable, and nothing is "Auto" (ν̃ν̃* has no sparticle resonance)
    assert {snu.param_card[f"DECAY {i}"] for i in (1000012, 1000014, 1000016)} == {"0.000000e+00"}
    assert "Auto" not in snu.param_card.values() and not snu.compute_widths
    manifest = json.loads((GOLDEN / "mg5_scan" / "spin0_grid" / "m_med-1000_m_dm-10" / "sample.json").read_text())
    assert manifest["mg5_run"] == "run_03"
    assert manifest["lhef"] == "../mg5-scan/mg5/Events/run_03/unweighted_events.lhe.gz"


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_golden_script_says_what_the_registry_says(name: str):
    """Independent of the renderer: read each golden script and check MG5 syntax and physics."""
    process = PROCESSES[name]
    text = (GOLDEN / "per_point" / name / "nominal" / "madgraph.mg5").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[:3] == ["set auto_update 0 --no_save", "set automatic_html_opening False --no_save",
                         "set notification_center False --no_save"]
    assert lines[3] == f"import model {process.mg5_import}"
    script = mg5.parse_mg5_script(text)
    assert script.processes == list(process.mg5_processes)
    assert lines.index(f"generate {process.mg5_processes[0]}") < lines.index("output mg5") < lines.index("launch mg5")
    assert not any(line.startswith("launch") and "-f" in line.split() for line in lines)
    after_launch = lines[lines.index("launch mg5") + 1:]
    assert after_launch[:2] == ["shower=OFF", "detector=OFF"]
    assert after_launch[-1] == "done" and after_launch.count("done") == 2
    assert script.run_card["ebeam1"] == script.run_card["ebeam2"] == "6500.0"
    assert script.run_card["lpp1"] == script.run_card["lpp2"] == "1"
    assert script.run_card["nevents"] == "1000"
    for key, value in process.generation_cuts.items():
        assert float(script.run_card[key]) == value
    for parameter in process.parameters:
        if parameter.default is None:  # optional, unset: the model's own card values stay
            assert not any(str(entry) in script.param_card for entry in parameter.entries)
            continue
        for entry in parameter.entries:
            found = script.param_card[str(entry)]
            if parameter.default == "physical":  # the minimal width at the default masses and couplings
                assert float(found) == pytest.approx(mediator_width_gev(name, process.defaults()), rel=1e-6)
            elif parameter.default == "auto":
                assert found == "Auto"
            else:  # a mass is |m|: MSSM's χ̃⁰₃ keeps the negative sign its NMIX row was built for
                assert (abs(float(found)) if entry.block == "MASS" else float(found)) == parameter.default
    if process.madspin_decays:
        assert script.switches["madspin"] == "ON"
        assert all(f"decay {decay}" in script.madspin for decay in process.madspin_decays)
        # MadSpin's full spin correlations and Breit-Wigner everywhere but for loop-induced production,
        # where MG5 has no tree-level matrix element and only spinmode none runs
        loop_induced = any("[noborn=QCD]" in line for line in process.mg5_processes)
        assert ("set spinmode none" in script.madspin) == loop_induced
    else:
        assert "madspin" not in script.switches and not script.madspin


def test_delphes_cards_hide_every_invisible_particle():
    for name, process in PROCESSES.items():
        text = (GOLDEN / "per_point" / name / "nominal" / "delphes_card.tcl").read_text()
        card = delphes.parse_delphes_card(text)
        assert card["source"] == ["cards/delphes_card_ATLAS.tcl"]
        modules = card["modules"]
        for pdg in process.invisible_pdgids:
            assert f"add EnergyFraction {{{pdg}}} {{0.0}}" in modules["ECal"]
            assert f"add EnergyFraction {{{pdg}}} {{0.0}}" in modules["HCal"]
            assert {f"add PdgCode {{{pdg}}}", f"add PdgCode {{{-pdg}}}"} <= set(modules["NeutrinoFilter"])
        if not process.invisible_pdgids:
            assert modules == {}


def test_manifest_lists_every_file_with_its_hash(tmp_path: Path):
    study = _study(EVERY_PROCESS, tmp_path)
    for folder in render_study_cards(study, output=tmp_path / "cards"):
        manifest = json.loads(folder.manifest.read_text())
        files = sorted(p.name for p in folder.directory.iterdir() if p.name != "sample.json")
        assert sorted(manifest["files"]) == files
        for name, digest in manifest["files"].items():
            assert sha256_file(folder.directory / name) == digest
        assert manifest["study"] == "golden" and manifest["process"] == manifest["sample"]
        assert manifest["templates"]["mg5_script"] >= 1
        point = next(p for p in study.plan() if p.sample == manifest["sample"])
        assert manifest["seed"] == point.seed and manifest["parameters"] == point.parameters


def test_default_output_is_each_points_cards_folder(tmp_path: Path):
    study = _study({**EVERY_PROCESS, "samples": EVERY_PROCESS["samples"][:2]}, tmp_path)
    rendered = render_study_cards(study)
    assert [r.directory for r in rendered] == [p.directory / "cards" for p in study.plan()]


# --- read-back checks: a card that does not say what was asked is an error --------------------


def _point(tmp_path: Path, process: str, **sample):
    return _study({"name": "t", "generator": {"backend": "madgraph"},
                   "samples": [{"name": "s", "process": process, **sample}]}, tmp_path).plan()[0]


def test_tampered_mg5_script_is_an_error(tmp_path: Path):
    point = _point(tmp_path, "spin1_monojet", parameters={"m_med": 1500})
    settings = mg5.MG5Settings()
    text = mg5.render_mg5_script(point, study_name="t", settings=settings)
    process = PROCESSES["spin1_monojet"]
    run_card = mg5.run_card_entries(point, settings)
    param_card = mg5.param_card_entries(process, point.parameters)
    mg5.check_mg5_script(text, process=process, run_card=run_card, param_card=param_card)
    for old, new, message in [
        ("set param_card MASS 55 1.500000e+03", "set param_card MASS 55 1.400000e+03", "MASS 55"),
        ("set param_card MASS 55 1.500000e+03\n", "", "MASS 55"),
        ("set run_card ptj 130.0", "set run_card ptj 20.0", "ptj"),
        ("launch mg5", "launch mg5 -f", "launch"),
        ("import model DMsimp_s_spin1-full", "import model DMsimp_s_spin1", "imports"),
        ("set run_card iseed", "set run_card iseed {{ seed }}\n#", "unrendered"),
    ]:
        assert old in text
        with pytest.raises(CardError, match=message):
            mg5.check_mg5_script(text.replace(old, new, 1), process=process, run_card=run_card, param_card=param_card)


def test_tampered_slha_pythia_and_delphes_cards_are_errors(tmp_path: Path):
    process = PROCESSES["neutralino_monojet"]
    text = slha.render_slha(process, {**process.defaults(), "m_dm": 120.0})
    with pytest.raises(CardError, match="MASS 1000022"):
        slha.check_slha(text.replace("1000022 1.200000e+02", "1000022 1.300000e+02"),
                        {("MASS", (1000022,)): 120.0}, where="test")
    point = _point(tmp_path, "alp_monojet")
    card = pythia8.render_pythia8_card(point, study_name="t", preset="fast", lhef="x.lhe")
    with pytest.raises(CardError, match="Random:seed"):
        pythia8.check_pythia8_card(card.replace(f"Random:seed = {point.seed}", "Random:seed = 1"),
                                   pythia8.pythia8_settings(point, preset="fast", lhef="x.lhe"))
    card = delphes.render_delphes_card(point, study_name="t", delphes_card="delphes_card_ATLAS.tcl", invisible=[9000005])
    with pytest.raises(CardError, match="NeutrinoFilter misses PDG -9000005"):
        delphes.check_delphes_card(card.replace("  add PdgCode {-9000005}\n", ""), stock_card="cards/delphes_card_ATLAS.tcl",
                                   seed=point.seed, invisible=[9000005])


def test_pythia_presets_switch_mpi(tmp_path: Path):
    point = _point(tmp_path, "sm_ttbar")
    fast = pythia8.parse_pythia8_card(pythia8.render_pythia8_card(point, study_name="t", preset="fast", lhef="a.lhe"))
    full = pythia8.parse_pythia8_card(pythia8.render_pythia8_card(point, study_name="t", preset="full", lhef="a.lhe"))
    assert fast["PartonLevel:MPI"] == "off" and full["PartonLevel:MPI"] == "on"
    assert fast["Beams:frameType"] == "4" and fast["Beams:LHEF"] == "a.lhe"
    assert fast["Random:setSeed"] == "on" and fast["Random:seed"] == str(point.seed)
    assert fast["Main:numberOfEvents"] == str(point.n_events)


def test_user_delphes_card_path_and_bad_names(tmp_path: Path):
    point = _point(tmp_path, "spin1_monojet")
    card = delphes.render_delphes_card(point, study_name="t", delphes_card="/data/my_card.tcl", invisible=[52])
    assert delphes.parse_delphes_card(card)["source"] == ["/data/my_card.tcl"]
    with pytest.raises(CardError, match="delphes_card"):
        delphes.render_delphes_card(point, study_name="t", delphes_card="a card.tcl", invisible=[52])


def test_mssm_dark_matter_must_be_the_lsp():
    process = PROCESSES["neutralino_monojet"]
    with pytest.raises(CardError, match=r"keep m_dm below 134\.491 GeV"):
        slha.render_slha(process, {**process.defaults(), "m_dm": 150.0})
    snu = PROCESSES["sneutrino_monojet"]
    slha.render_slha(snu, snu.defaults())  # the default sneutrino is the LSP
    with pytest.raises(CardError, match="not the lightest sparticle"):
        slha.render_slha(snu, {**snu.defaults(), "m_neutralino": 110.0})


def test_slha_for_pythia_has_no_auto_and_reads_in_pythia():
    pythia8mc = pytest.importorskip("pythia8mc")
    process = PROCESSES["sneutrino_monojet"]
    text = slha.render_slha(process, {**process.defaults(), "m_dm": 110.0})
    assert "Auto" not in text and "DECAY" not in text
    blocks = slha.parse_slha(text)
    assert {"MODSEL", "MASS", "NMIX", "UMIX", "VMIX", "SNUMIX", "USQMIX", "DSQMIX", "SELMIX", "ALPHA"} <= set(blocks)
    assert all(blocks["MASS"][(i,)] == 110.0 for i in (1000012, 1000014, 1000016))
    # MG5 flavour at the reference spectrum keeps the reference widths (reproduces the real runs)
    n1 = PROCESSES["neutralino_monojet"]
    card = slha.parse_slha(slha.render_param_card(n1, n1.defaults()))
    assert card["DECAY"][(1000023,)] == pytest.approx(2.0777e-2) and "FRALPHA" in card
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"darkscan-test-{os.getpid()}.slha"
    path.write_text(text)
    try:
        pythia = pythia8mc.Pythia("", False)
        for setting in ("Beams:eCM = 13000.", f"SLHA:file = {path}", "SUSY:qqbar2sleptonantislepton = on",
                        "SUSY:idA = 1000012", "SUSY:idB = 1000012", "PartonLevel:all = off",
                        "HadronLevel:all = off", "Print:quiet = on"):
            assert pythia.readString(setting)
        assert pythia.init()
        assert pythia.particleData.m0(1000012) == pytest.approx(110.0)
        assert pythia.particleData.m0(1000022) == pytest.approx(2000.0)
        assert pythia.next()
        assert pythia.infoPython().sigmaGen() > 0
    finally:
        path.unlink()


# --- CLI --------------------------------------------------------------------------------------


def _write_study(tmp_path: Path, samples: list[dict], name: str = "cli") -> Path:
    import yaml

    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "generator": {"backend": "madgraph", "n_events": 100},
                                    "samples": samples}))
    return path


def test_cli_renders_byte_identical_cards_twice(tmp_path: Path):
    study = _write_study(tmp_path, [{"name": "a", "process": "spin2_monoz", "scan": {"m_med": [800, 1200]}},
                                    {"name": "b", "process": "neutralino_monojet"}])
    runner = CliRunner()
    for out in ("one", "two"):
        result = runner.invoke(app, ["cards", "render", str(study), "-o", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
    compared = filecmp.dircmp(tmp_path / "one", tmp_path / "two")
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert len(files) == 2 * 4 + 6  # 2 spin-2 points × 4 files, 1 MSSM point × 6 files
    for relative in files:
        assert (tmp_path / "one" / relative).read_bytes() == (tmp_path / "two" / relative).read_bytes()
    assert not compared.left_only and not compared.right_only
    result = runner.invoke(app, ["cards", "render", str(study), "-o", str(tmp_path / "scan"), "--mg5-scan"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "scan" / "a" / "mg5-scan" / "madgraph.mg5").is_file()
    assert not (tmp_path / "scan" / "a" / "m_med-800" / "madgraph.mg5").exists()


@pytest.mark.parametrize(("sample", "message"), [
    ({"name": "s", "process": "spin1_monojet", "parameters": {"m_dm": -5}}, "samples[0].parameters.m_dm: must be ≥ 0 GeV"),
    ({"name": "s", "process": "spin1_monojet", "parameters": {"g_qq": 0.1}}, "unknown parameter of spin1_monojet"),
    ({"name": "s", "process": "neutralino_monojet", "scan": {"m_dm": [100, 150]}},
     "samples[0] (s): point m_dm-150: neutralino_monojet: m_dm = 150 GeV is not the lightest sparticle"),
    ({"name": "s", "process": "sneutrino_monoz", "parameters": {"m_neutralino": 100}}, "m_dm = 120 must be below m_neutralino"),
    ({"name": "s", "process": "spin1_monojet", "generation_cuts": {"misset": 100}}, "misset = 100 GeV would reject every event"),
])
def test_cli_bad_parameters_exit_2_with_one_line(tmp_path: Path, sample: dict, message: str):
    study = _write_study(tmp_path, [sample])
    result = CliRunner().invoke(app, ["cards", "render", str(study), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_cli_help_lists_render():
    result = CliRunner().invoke(app, ["cards", "--help"])
    assert result.exit_code == 0 and "render" in result.output


def test_scan_script_seed_and_events_come_from_the_first_point(tmp_path: Path):
    study = _study(SCANS, tmp_path)
    points = [p for p in study.plan() if p.sample == "spin1_mmed"]
    script = mg5.parse_mg5_script(mg5.render_mg5_scan_script(points, study_name="x", settings=mg5.MG5Settings()))
    assert script.run_card["iseed"] == str(points[0].seed) and script.run_card["nevents"] == "500"
    with pytest.raises(CardError, match="one sample"):
        mg5.render_mg5_scan_script(study.plan()[:4], study_name="x", settings=mg5.MG5Settings())
    bad = dataclasses.replace(points[0], parameters={**points[0].parameters, "g_q": "big"})
    with pytest.raises(CardError, match="g_q"):
        mg5.render_mg5_script(bad, study_name="x", settings=mg5.MG5Settings())


def test_mg5_shower_and_detector_switches(tmp_path: Path):
    point = _point(tmp_path, "spin1_monoz")
    text = mg5.render_mg5_script(point, study_name="t", settings=mg5.MG5Settings(shower=True, detector=True))
    script = mg5.parse_mg5_script(text)
    assert script.switches == {"shower": "Pythia8", "detector": "Delphes"}
    text = mg5.render_mg5_script(point, study_name="t", settings=mg5.MG5Settings(sqrt_s_gev=14000.0))
    assert mg5.parse_mg5_script(text).run_card["ebeam1"] == "7000.0"


def test_user_delphes_card_is_resolved_against_the_study_folder(tmp_path: Path):
    (tmp_path / "detector").mkdir()
    (tmp_path / "detector" / "mine.tcl").write_text("set ExecutionPath {}\n")
    data = {"name": "t", "generator": {"backend": "madgraph"}, "detector": {"delphes_card": "detector/mine.tcl"},
            "samples": [{"name": "s", "process": "sm_ttbar"}]}
    rendered = render_study_cards(_study(data, tmp_path), output=tmp_path / "out")
    card = delphes.parse_delphes_card((rendered[0].directory / "delphes_card.tcl").read_text())
    assert card["source"] == [str((tmp_path / "detector" / "mine.tcl").resolve())]
    data["detector"] = {"delphes_card": "detector/missing.tcl"}
    with pytest.raises(CardError, match="no Delphes card at"):
        render_study_cards(_study(data, tmp_path), output=tmp_path / "out2")


def test_library_callers_get_the_registry_checks_too():
    process = PROCESSES["sneutrino_monojet"]
    with pytest.raises(CardError, match="must be below m_neutralino"):
        mg5.param_card_entries(process, {**process.defaults(), "m_neutralino": 50.0})
    spin1 = PROCESSES["spin1_monojet"]
    with pytest.raises(CardError, match="m_med must be ≥ 0 GeV"):
        mg5.param_card_entries(spin1, {**spin1.defaults(), "m_med": -1.0})
    with pytest.raises(CardError, match="unknown parameter 'g_x'"):
        mg5.param_card_entries(spin1, {**spin1.defaults(), "g_x": 1.0})
    assert mg5.param_card_entries(spin1, {**spin1.defaults(), "w_med": "auto"})["DECAY 55"] == "Auto"


def test_mssm_script_and_param_card_must_agree():
    from darkscan.cards.render import _check_script_matches_param_card

    folder = GOLDEN / "per_point" / "neutralino_monojet" / "nominal"
    script, card = (folder / "madgraph.mg5").read_text(), (folder / "param_card.dat").read_text()
    _check_script_matches_param_card(script, card)
    with pytest.raises(CardError, match="MASS 1000022"):
        _check_script_matches_param_card(script, card.replace("1000022 9.668807e+01", "1000022 9.000000e+01"))


def test_m_sparticles_lifts_the_spectrum_so_a_heavy_dm_stays_the_lsp():
    from darkscan.cards.slha import parse_slha, render_param_card, render_slha

    process = PROCESSES["neutralino_monojet"]
    heavy = {"m_dm": 800.0, "m_sneutrino": 3000.0, "m_sneutrino_tau": 3000.0}
    with pytest.raises(CardError, match="is not the lightest sparticle"):
        render_slha(process, heavy)
    spectrum = parse_slha(render_slha(process, {**heavy, "m_sparticles": 3000.0}))["MASS"]
    assert spectrum[(1000022,)] == 800.0
    assert all(spectrum[(pdg,)] == 3000.0 for pdg in (1000015, 2000011, 1000023, 1000024, 1000021, 1000006))
    # the reference widths belong to the reference spectrum: the process's resonances (the squarks of
    # q g → q̃ χ̃⁰₁) get their 2-body widths, the DM is stable, the rest does not enter p p > n1 n1 j
    widths = parse_slha(render_param_card(process, {**heavy, "m_sparticles": 3000.0}))["DECAY"]
    squarks = slha.light_squark_widths_gev({**{p: m for p, m, _ in slha.MSSM_MASSES},
                                            **{p: 3000.0 for p, _, _ in slha.MSSM_MASSES if p > 1_000_000},
                                            1000022: 800.0})
    assert all(widths[(pdg,)] == pytest.approx(squarks[pdg], rel=1e-6) for pdg in (1000001, 1000002, 2000001, 2000004))
    assert widths[(1000022,)] == 0.0 and widths[(1000023,)] == 0.020777 and widths[(1000006,)] == 2.021596


def test_light_squark_widths_reproduce_the_reference_card_and_mg5():
    reference = {p: m for p, m, _ in slha.MSSM_MASSES}
    computed = slha.light_squark_widths_gev(reference)
    card = {pdg: width for pdg, width, _ in slha.MSSM_WIDTHS}
    for pdg in (1000001, 1000002, 1000003, 1000004, 2000001, 2000002, 2000003, 2000004):
        assert computed[pdg] == pytest.approx(card[pdg], rel=1e-6)  # χ̃⁰ᵢ and χ̃± channels open
    # MG5_aMC 3.5.7 compute_widths --body_decay=2 inside the real run of the example's n1_monojet m_dm-150
    moved = {**reference, **{p: 3000.0 for p in reference if p > 1_000_000}, 1000022: 150.0}
    mg5_widths = {1000001: 0.68733, 1000002: 0.20588, 2000001: 1.6456, 2000002: 6.5822}
    computed = slha.light_squark_widths_gev(moved)
    for pdg, width in mg5_widths.items():
        assert computed[pdg] == pytest.approx(width, rel=1e-4)


def test_mssm_script_computes_only_the_resonance_widths_and_only_2_body():
    point = {"m_dm": 500.0, "m_sneutrino": 3000.0, "m_sneutrino_tau": 3000.0, "m_sparticles": 3000.0}
    monojet = PROCESSES["neutralino_monojet"]
    entries = mg5.param_card_entries(monojet, point)
    assert "Auto" not in entries.values() and not mg5.two_body_widths(monojet, entries)  # squarks: computed here
    assert all(float(entries[f"DECAY {p}"]) > 0 for p in monojet.resonances)
    assert "DECAY 1000022" not in entries  # stable: the reference card's χ̃⁰₁ width is 0 already (no "Auto")
    monoz = PROCESSES["neutralino_monoz"]
    entries = mg5.param_card_entries(monoz, point)
    assert "Auto" not in entries.values() and not mg5.two_body_widths(monoz, entries)  # χ̃⁰₂₋₄: computed here
    entries = mg5.param_card_entries(monoz, {**point, "m_sneutrino": 1000.0})  # χ̃⁰ᵢ → ν̃ ν open: MG5's job
    assert [k for k, v in entries.items() if v == "Auto"] == [f"DECAY {p}" for p in monoz.resonances]
    assert mg5.two_body_widths(monoz, entries) == list(monoz.resonances)
    snu = PROCESSES["sneutrino_monojet"]
    snu_entries = mg5.param_card_entries(snu, snu.defaults())
    assert not [v for v in snu_entries.values() if v == "Auto"]  # ν̃ν̃* goes through the Z alone
    assert all(snu_entries[f"DECAY {pdg}"] == "0.000000e+00" for pdg in (1000012, 1000014, 1000016))


def test_mg5_scan_style_refuses_mssm_widths_it_would_recompute_at_4_body():
    study = parse_study({"name": "s", "generator": {"backend": "madgraph"}, "samples": [
        {"name": "n1", "process": "neutralino_monoz", "scan": {"m_dm": [50, 60]}}]})
    with pytest.raises(CardError, match="render one script per point"):
        mg5.render_mg5_scan_script(study.plan(), study_name="s", settings=mg5.MG5Settings())
