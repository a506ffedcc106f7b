"""The whole chain, ``darkscan run``, on a tiny study: generation → features → datasets, and resume."""

from __future__ import annotations

from pathlib import Path

import h5py
from typer.testing import CliRunner

from darkscan.cli.main import app

STUDY = """\
name: tiny
generator: {backend: embedded, preset: fast, n_events: 300, shard_events: 200, seed: 3}
samples:
  - {name: znunu, process: sm_znunu_jet, n_events: 600, generation_cuts: {ptj: 200}}
  - {name: spin1, process: spin1_monojet, generation_cuts: {ptj: 200}}
selection: {preset: atlas_monojet}
histograms:
  - name: met
    kind: 1d
    axes: [{feature: met, bins: 6, range: [200, 1000]}]
datasets: {s_over_sqrt_b: [2], background_events: 40, n_histograms: 20}
training:
  - {name: spin1_vs_sm, labels: binary, signals: [spin1], histogram: met, network: dnn}
"""

runner = CliRunner()


def test_run_builds_the_chain_and_resumes(tmp_path: Path):
    study = tmp_path / "tiny.yaml"
    study.write_text(STUDY)
    first = runner.invoke(app, ["run", str(study), "--no-plots"])
    assert first.exit_code == 0, first.output
    dataset = tmp_path / "darkscan-output" / "tiny" / "datasets" / "spin1_vs_sm.h5"
    with h5py.File(dataset, "r") as handle:
        x = handle["sb_2/spin1.nominal/x"][()]
        auc = handle["ceiling/auc"][()]
    assert x.shape == (40, 1, 6)
    assert 0.5 < auc[0, 0] <= 1.0
    assert "AUC per task, model and S/√B" in first.stderr and "spin1.nominal" in first.stderr
    shards = sorted((tmp_path / "darkscan-output" / "tiny" / "samples").rglob("shard-*.parquet"))
    assert len(shards) == 5  # 600 background events in 3 shards, 300 signal in 2
    stamps = [p.stat().st_mtime_ns for p in shards]
    bytes_before = dataset.read_bytes()

    again = runner.invoke(app, ["run", str(study), "--no-plots"])
    assert again.exit_code == 0, again.output
    assert "generation: up to date, skipped" in again.stderr
    assert [p.stat().st_mtime_ns for p in shards] == stamps
    assert dataset.read_bytes() == bytes_before


def test_run_on_the_madgraph_backend_without_mg5_says_so_in_one_line(tmp_path: Path):
    study = tmp_path / "mg.yaml"
    nowhere = tmp_path / "no-mg5-here"
    study.write_text(STUDY.replace("backend: embedded", f"backend: madgraph, mg5_path: {nowhere}"))
    result = runner.invoke(app, ["run", str(study)])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert f"no MG5_aMC at {nowhere}" in result.stderr
