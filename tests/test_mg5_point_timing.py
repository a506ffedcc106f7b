"""benchmarks/mg5_point_timing.py without MG5: the points it picks and the scripts it runs."""

from __future__ import annotations

import sys

from conftest import REPO

from darkscan.cards.mg5 import MG5Settings, parse_mg5_script, render_mg5_script
from darkscan.study import load_study

sys.path.insert(0, str(REPO / "benchmarks"))
import mg5_point_timing  # noqa: E402


def _study():
    return load_study(REPO / "examples" / "mssm_neutralino_vs_sneutrino.yaml")


def test_corners_of_the_mssm_example_are_each_samples_lightest_and_heaviest_point():
    corners = [f"{p.sample}/{p.point_id}" for p in mg5_point_timing.corner_points(_study().plan())]
    assert corners == ["znunu_j/nominal", "zz_llvv/nominal",
                       "n1_monojet/m_dm-150_m_sparticles-350", "n1_monojet/m_dm-1000_m_sparticles-1200",
                       "snu_monojet/m_dm-150", "snu_monojet/m_dm-1000",
                       "n1_monoz/m_dm-150_m_sparticles-350", "n1_monoz/m_dm-1000_m_sparticles-1200",
                       "snu_monoz/m_dm-150", "snu_monoz/m_dm-1000"]


def test_extra_run_card_settings_come_after_the_rendered_ones_and_override_them():
    study = _study()
    point = next(p for p in study.plan() if p.sample == "n1_monoz")
    script = render_mg5_script(point, study_name=study.name, settings=MG5Settings())
    changed = mg5_point_timing.with_run_card(script, [("sde_strategy", "2"), ("nevents", "300")])
    assert mg5_point_timing.with_run_card(script, []) == script
    lines = changed.splitlines()
    run_card = [line for line in lines if line.startswith("set run_card ")]
    assert run_card[-2:] == ["set run_card sde_strategy 2", "set run_card nevents 300"]
    assert lines.index("set run_card nevents 300") < min(i for i, line in enumerate(lines)
                                                           if line.startswith("set param_card "))
    parsed = parse_mg5_script(changed)
    assert parsed.run_card["nevents"] == "300" and parsed.run_card["sde_strategy"] == "2"


def test_cpu_lines_of_an_mg5_log():
    log = "refine 20000\nsum of cpu time of last step: 1m08s\nINFO: x\n  sum of cpu time of last step: 29.5 s\n"
    assert mg5_point_timing.parse_cpu_seconds(log) == [68.0, 29.5]
