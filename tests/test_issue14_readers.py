"""Reader defects found with real MadGraph and Delphes files (issue #14, items 1, 5, 9, 10, 11)."""

from __future__ import annotations

import gzip
import math
import re
import subprocess
import sys
import warnings
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from shared import SHARED_DATA, SKIP_REASON

from darkscan.errors import InputFileWarning
from darkscan.readers import delphes, lhe
from darkscan.readers.inspect import _percent

MADSPIN = Path(__file__).parent / "data" / "mg5_madspin"
DELPHES = SHARED_DATA / "delphes"
needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=SKIP_REASON)
Z_MASS_GEV = 91.1876  # the sm model's MZ


def _mll(path: Path) -> np.ndarray:
    particles = lhe.read(path).particles
    leptons = particles[(particles.status == 1) & ((abs(particles.id) == 11) | (abs(particles.id) == 13))]
    assert ak.all(ak.num(leptons) == 2)
    return ak.to_numpy((leptons.vector[:, 0] + leptons.vector[:, 1]).mass)


@pytest.mark.parametrize("mode", ["full", "none"])
def test_madspin_sample_sigma_is_the_decayed_one_the_events_carry(mode):
    with lhe.open(MADSPIN / f"zj_spinmode_{mode}.lhe.gz") as handle:
        sigma, error = handle.sample_cross_section()
        banner = float(re.search(r"Integrated weight \(pb\)\s*:\s*(\S+)", handle.header).group(1))
        weights = ak.to_numpy(handle.read().eventinfo.weight)
        assert handle.decayed_by_madspin and handle.cross_section_source == "<init>: σ × BR after MadSpin's decays"
    # MG5 event_norm = average: every event carries σ; the decayed σ is the undecayed 542.127 pb × BR(Z → ℓℓ)
    assert weights == pytest.approx(sigma, rel=1e-6)
    assert sigma == pytest.approx(542.127 * 0.0688, rel=0.005)
    assert 0 < error < 0.01 * sigma
    if mode == "none":  # MadSpin left the banner at the undecayed σ: 15× too high (issue #14)
        assert banner == pytest.approx(542.127)


@needs_shared
def test_undecayed_mg5_run_still_takes_the_integrated_weight_over_a_wrong_init():
    with lhe.open(SHARED_DATA / "mg5" / "mssm_n1n1z_ll" / "unweighted_events.lhe.gz") as handle:
        sigma, _ = handle.sample_cross_section()
        assert not handle.decayed_by_madspin and handle.cross_section_source == "MG5 Integrated weight"
        assert handle.init.cross_section_pb < 0.1 * sigma  # the ≥ 80-channel <init> of that run
    assert sigma == pytest.approx(1.345e-5, rel=1e-3)


def test_spinmode_none_keeps_the_z_on_shell_and_full_mode_has_its_breit_wigner():
    """Why loop-induced mono-Z (spinmode none, the only MadSpin mode it allows) has no lineshape."""
    on_shell, full = _mll(MADSPIN / "zj_spinmode_none.lhe.gz"), _mll(MADSPIN / "zj_spinmode_full.lhe.gz")
    assert np.abs(on_shell - Z_MASS_GEV).max() < 0.05
    assert np.abs(full - Z_MASS_GEV).max() > 2.0 and np.std(full) > 1.0  # Γ_Z ≈ 2.4 GeV


def _without_process_lines(text: str) -> str:
    head, rest = text.split("<init>", 1)
    init, tail = rest.split("</init>", 1)
    lines = init.strip("\n").splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if not re.match(r"\s*[-+\d.]", line)]
    return head + "<init>\n" + "\n".join(kept) + "\n</init>" + tail


def test_init_without_its_process_lines_is_read_with_one_warning(tmp_path):
    source = MADSPIN / "zj_spinmode_full.lhe.gz"
    broken = tmp_path / "nprup.lhe"
    text = _without_process_lines(gzip.open(source, "rt").read())
    broken.write_text(text.replace("-4 1\n", "-4 8\n", 1))  # NPRUP = 8, no process line
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with lhe.open(broken) as handle:
            events = handle.read()
            sigma, _ = handle.sample_cross_section()
    messages = [str(w.message) for w in caught if issubclass(w.category, InputFileWarning)]
    assert len(messages) == 1 and str(broken) in messages[0] and "declares 8 processes" in messages[0]
    assert len(events) == len(lhe.read(source))  # the events are intact
    assert sigma == pytest.approx(37.28457841674)  # the banner still says σ
    # with neither a banner nor process lines σ is unknown: NaN and a warning, not 0
    bare = tmp_path / "bare.lhe"
    bare.write_text(re.sub(r"<MGGenerationInfo>.*?</MGGenerationInfo>", "", broken.read_text(), flags=re.S))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with lhe.open(bare) as handle:
            assert math.isnan(handle.sample_cross_section()[0])
    assert any("σ is unknown" in str(w.message) for w in caught)


def test_cli_prints_the_warning_as_one_line(tmp_path):
    broken = tmp_path / "nprup.lhe"
    broken.write_text(_without_process_lines(gzip.open(MADSPIN / "zj_spinmode_full.lhe.gz", "rt").read())
                      .replace("-4 1\n", "-4 8\n", 1))
    result = subprocess.run([sys.executable, "-m", "darkscan", "histos", "inspect", str(broken)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    warning_lines = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warning_lines == [f"warning: {broken}: <init> declares 8 processes (NPRUP) but lists 0; reading the events anyway"]
    assert "40 events" in result.stdout


@needs_shared
def test_invisible_pt_is_genmissinget_and_agrees_with_a_full_particle_record():
    arrays = delphes.read(DELPHES / "zz_llnunu_first5_ATLAS_full.root")
    from_gen, source = delphes.invisible_pt_from_arrays(arrays)
    assert source == "GenMissingET"
    full_record = arrays[[f for f in ak.fields(arrays) if not f.startswith("GenMissingET")]]
    from_particles, source = delphes.invisible_pt_from_arrays(full_record)
    assert source == "Particle status 1"
    np.testing.assert_allclose(from_gen, from_particles, rtol=1e-3, atol=0.05)


@needs_shared
def test_invisible_pt_of_a_filtered_particle_branch_is_undefined_not_wrong():
    arrays = delphes.read(DELPHES / "znunu_jet_500ev_ATLAS_slim.root")  # particles above 5 GeV only
    filtered = arrays[[f for f in ak.fields(arrays) if not f.startswith("GenMissingET")]]
    with pytest.warns(InputFileWarning, match="Particle branch is filtered"):
        values, source = delphes.invisible_pt_from_arrays(filtered, path="slim.root")
    assert np.isnan(values).all() and "filtered" in source
    table, metadata = delphes.event_table(DELPHES / "znunu_jet_500ev_ATLAS_slim.root")
    assert metadata.extra["invisible_pt_source"] == "GenMissingET"
    np.testing.assert_allclose(ak.to_numpy(table.invisible_pt), ak.to_numpy(arrays["GenMissingET.MET"][:, 0]))


@needs_shared
def test_inspect_hepmc_keeps_fastjets_banner_off_stdout():
    result = subprocess.run([sys.executable, "-m", "darkscan", "histos", "inspect",
                             str(DELPHES / "zz_llnunu_first5.hepmc.gz")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "FastJet" not in result.stdout and "#####" not in result.stdout
    assert result.stdout.startswith(str(DELPHES / "zz_llnunu_first5.hepmc.gz"))


def test_defined_fraction_never_rounds_to_zero_or_one_hundred():
    assert _percent(2, 500) == "0.4%"
    assert _percent(1, 100_000) == "0.001%"
    assert _percent(499, 500) == "99.8%"
    assert _percent(0, 500) == "0%" and _percent(500, 500) == "100%" and _percent(250, 500) == "50%"
