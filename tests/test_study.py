from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from darkscan.cli.main import app
from darkscan.errors import StudyError
from darkscan.study import load_study, parse_study, point_seed

BROKEN = sorted((Path(__file__).parent / "data" / "broken_studies").glob("*.yaml"))
runner = CliRunner()


def test_there_are_at_least_ten_broken_studies():
    assert len(BROKEN) >= 10


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_study_gives_one_line_and_exit_2(path: Path):
    expected = re.match(r"# expect: (.*)", path.read_text(encoding="utf-8")).group(1)
    result = runner.invoke(app, ["study", "check", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}"), lines[0]
    assert expected in lines[0]


def test_missing_study_file(tmp_path: Path):
    result = runner.invoke(app, ["study", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.yaml'}: no such study file"


def test_several_problems_give_one_line_each(tmp_path: Path):
    data = {
        "name": "multi",
        "samples": [
            {"name": "a", "process": "sm_znunu_jet"},
            {"name": "a", "process": "spin1_monojet", "parameters": {"m_dm": -1, "g_qq": 1}},
        ],
    }
    with pytest.raises(StudyError) as info:
        parse_study(data, source="multi.yaml")
    problems = info.value.problems
    assert "multi.yaml: samples[1].name: sample name 'a' is used more than once" in problems
    assert any("samples[1].parameters.g_qq: unknown parameter of spin1_monojet: did you mean 'g_q'?" in p for p in problems)
    assert any("samples[1].parameters.m_dm: must be ≥ 0 GeV, got -1" in p for p in problems)


@pytest.mark.parametrize(("name", "points"), [("quickstart", 3), ("monojet_dmsimp", 8), ("mssm_neutralino_vs_sneutrino", 74),
                                             ("monojet_madgraph", 3)])
def test_examples_validate_and_print_their_plan(examples_dir: Path, name: str, points: int):
    path = examples_dir / f"{name}.yaml"
    assert len(load_study(path).plan()) == points
    result = runner.invoke(app, ["study", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{points} sample points" in result.stdout


def _study(**sample):
    return parse_study({"name": "s", "samples": [{"name": "x", "process": "spin1_monojet", **sample}]}, source="s.yaml")


def test_grid_scan_is_the_full_product():
    plan = _study(scan={"m_med": [500, 1000], "m_dm": [1, 10, 100]}).plan()
    assert [(p.parameters["m_med"], p.parameters["m_dm"]) for p in plan] == [
        (500, 1), (500, 10), (500, 100), (1000, 1), (1000, 10), (1000, 100)]
    assert plan[1].point_id == "m_med-500_m_dm-10"


def test_zip_scan_takes_lists_in_step():
    plan = _study(scan_mode="zip", scan={"m_med": [500, 1000], "m_dm": [100, 200]}).plan()
    assert [(p.parameters["m_med"], p.parameters["m_dm"]) for p in plan] == [(500, 100), (1000, 200)]


def test_linspace_scan_matches_the_uppsala_grid():
    plan = parse_study({"name": "s", "generator": {"backend": "madgraph"}, "samples": [
        {"name": "n1", "process": "neutralino_monojet", "parameters": {"m_sneutrino": 5000, "m_sneutrino_tau": 5000},
         "scan": {"m_dm": {"start": 150, "stop": 1000, "num": 1500}}}]}).plan()
    masses = [p.parameters["m_dm"] for p in plan]
    assert len(masses) == 1500 and masses[0] == 150 and masses[-1] == pytest.approx(1000)
    assert len({p.directory for p in plan}) == 1500


def test_parameters_layer_defaults_sample_values_and_scan():
    point = _study(parameters={"g_q": 0.1}, scan={"m_med": [2000]}).plan()[0]
    assert point.parameters["g_q"] == 0.1 and point.parameters["m_med"] == 2000
    assert point.parameters["g_dm"] == 1.0  # registry default
    assert point.generation_cuts == {"ptj": 130.0}  # monojet default from the registry


def test_seeds_are_stable_distinct_and_in_pythia_range():
    plan = _study(scan={"m_med": [500, 1000, 2000]}).plan()
    seeds = [p.seed for p in plan]
    assert len(set(seeds)) == 3 and all(1 <= s <= 900_000_000 for s in seeds)
    # adding a scan point does not move the others
    seeds_more = [p.seed for p in _study(scan={"m_med": [250, 500, 1000, 2000]}).plan()]
    assert seeds_more[1:] == seeds
    assert point_seed(1, "x", "m_med-500") != point_seed(2, "x", "m_med-500")


def test_output_is_relative_to_the_study_file(tmp_path: Path):
    path = tmp_path / "study.yaml"
    path.write_text("name: s\noutput: out\nsamples: [{name: z, process: sm_znunu_jet}]\n")
    assert load_study(path).plan()[0].directory == tmp_path / "out" / "samples" / "z" / "nominal"
