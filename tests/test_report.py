"""Interpretation maths (AUC ↔ S/√B ↔ luminosity ↔ Z) and the report page."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.special import ndtr

from darkscan.analysis.luminosity import luminosity_for, s_over_sqrt_b_at
from darkscan.report.interpretation import (
    auc_at,
    empirical_significance,
    llr_scores,
    mann_whitney_auc,
    s_over_sqrt_b_for_auc,
    significance_from_auc,
)


@pytest.mark.parametrize("d", [0.5, 1.0, 2.0, 3.0])
def test_z_from_auc_matches_the_median_p_value_for_gaussian_scores(d: float):
    rng = np.random.default_rng(11)
    sm, np_scores = rng.normal(0.0, 1.0, 200_000), rng.normal(d, 1.0, 200_000)
    auc = mann_whitney_auc(sm, np_scores)
    assert auc == pytest.approx(ndtr(d / math.sqrt(2)), abs=2e-3)
    empirical = empirical_significance(sm, np_scores)
    assert empirical.resolved
    assert significance_from_auc(auc) == pytest.approx(d, abs=0.02)
    assert empirical.z == pytest.approx(d, abs=0.03)


def test_unresolved_p_value_is_a_bound_from_the_test_set_size():
    empirical = empirical_significance(np.zeros(100), np.ones(100))
    assert not empirical.resolved and empirical.p_value == 0.0
    assert empirical.z == pytest.approx(2.326, abs=1e-3)  # Φ⁻¹(1 − 1/100)


def test_poisson_llr_scores_rank_better_than_counting():
    rng = np.random.default_rng(5)
    q = np.array([0.5, 0.3, 0.15, 0.05])
    p = np.array([0.05, 0.15, 0.3, 0.5])
    background, signal = 400.0, 2 * 20.0  # S/√B = 2
    sm = rng.poisson(background * q, size=(20_000, 4))
    np_hist = rng.poisson(background * q + signal * p, size=(20_000, 4))
    x = np.concatenate([sm, np_hist])
    scores = llr_scores(x, q, p, background, signal)
    auc = mann_whitney_auc(scores[:20_000], scores[20_000:])
    counting = mann_whitney_auc(sm.sum(1).astype(float), np_hist.sum(1).astype(float))
    from darkscan.datasets.ceiling import optimal_auc

    assert counting == pytest.approx(ndtr(2 / math.sqrt(2)), abs=0.01)
    assert auc > counting + 0.03
    assert auc == pytest.approx(optimal_auc(p, q, 2.0, background).auc_llr, abs=0.01)


def test_curve_inversion_and_luminosity():
    grid = [0.5, 1.0, 2.0, 3.0]
    slope = 1.3  # a ceiling-like curve Φ(a·x/√2)
    aucs = [float(ndtr(slope * x / math.sqrt(2))) for x in grid]
    for target in (0.8, 0.9, 0.95):
        value, exact = s_over_sqrt_b_for_auc(grid, aucs, target)
        assert exact
        assert auc_at(grid, aucs, value)[0] == pytest.approx(target, abs=1e-9)
        assert value == pytest.approx(math.sqrt(2) * _probit(target) / slope, rel=1e-9)
    value, exact = s_over_sqrt_b_for_auc(grid, aucs, 0.9999)
    assert not exact and value == 3.0  # never reached on the grid: a lower bound
    auc, exact = auc_at(grid, aucs, 10.0)
    assert not exact and auc == pytest.approx(aucs[-1])
    # the luminosity for a target S/√B inverts S/√B(L)
    lumi = luminosity_for(1.8, 12.0, 3000.0)
    assert s_over_sqrt_b_at(12.0, 3000.0, lumi) == pytest.approx(1.8)


def _probit(p: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(p))


def test_report_is_self_contained_and_has_its_sections(tmp_path: Path):
    from test_pipeline import STUDY
    from typer.testing import CliRunner

    from darkscan.cli.main import app

    study = tmp_path / "tiny.yaml"
    study.write_text(STUDY)
    result = CliRunner().invoke(app, ["run", str(study)])
    assert result.exit_code == 0, result.output
    report = tmp_path / "darkscan-output" / "tiny" / "report"
    page = (report / "index.html").read_text()
    markdown = (report / "report.md").read_text()
    for section in ("Summary", "Interpretation: luminosity and significance", "Samples: cross sections and cut flows",
                    "Kinematic distributions", "Example histograms", "Study file", "Provenance"):
        assert f">{section}</h" in page and f"## {section}" in markdown
    # nothing outside the page: every image inline, no link, script or stylesheet to fetch
    assert not re.search(r"""(src|href)=["'](?!data:)""", page) and "<script" not in page
    assert page.count('src="data:image/png;base64,') == len(list((report / "figures").glob("*.png"))) >= 2
    for name in re.findall(r"\(figures/([^)]+)\)", markdown):
        assert (report / "figures" / name).is_file()
    assert "spin1.nominal" in markdown and "optimal ceiling" in markdown


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(tmp_path: Path):
    from test_pipeline import STUDY
    from typer.testing import CliRunner

    from darkscan.cli.main import app

    study = tmp_path / "tiny.yaml"
    study.write_text(STUDY)
    assert CliRunner().invoke(app, ["run", str(study)]).exit_code == 0
    page = tmp_path / "darkscan-output" / "tiny" / "report" / "index.html"
    screenshot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2400",
                    f"--screenshot={screenshot}", page.as_uri()], check=True, capture_output=True, timeout=120)
    from PIL import Image

    image = np.asarray(Image.open(screenshot).convert("L"), dtype=float)
    assert image.shape == (2400, 1280)
    # a rendered page: dark text and figures on white, not a blank or error page
    assert (image < 128).mean() > 0.01 and image.std() > 20
    if os.environ.get("DARKSCAN_KEEP_SCREENSHOT"):  # for a human to look at
        shutil.copy(screenshot, os.environ["DARKSCAN_KEEP_SCREENSHOT"])
