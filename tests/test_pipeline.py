"""The pipeline: byte-identical outputs in any folder, resume after SIGKILL, stage skipping, status."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from darkscan.cli.main import app
from darkscan.pipeline import STAGES, run_pipeline, select_stages, stage_states
from darkscan.study import load_study

STUDY = """\
name: tiny
generator: {backend: embedded, preset: fast, n_events: 300, shard_events: 100, seed: 3}
samples:
  - {name: znunu, process: sm_znunu_jet, n_events: 600, generation_cuts: {ptj: 200}}
  - {name: spin1, process: spin1_monojet, generation_cuts: {ptj: 200}}
selection: {preset: atlas_monojet}
histograms:
  - name: met
    kind: 1d
    axes: [{feature: met, bins: 5, range: [200, 1000]}]
datasets: {s_over_sqrt_b: [1, 3], background_events: 40, n_histograms: 30}
training:
  - {name: spin1_vs_sm, labels: binary, signals: [spin1], histogram: met, network: dnn, epochs: 2}
"""

runner = CliRunner()


def _files(output: Path) -> dict[str, bytes]:
    """Every finished output (temporary files of an interrupted write are hidden, ``.name``), except
    the manifest (timings) and the saved Keras models (timings, zip times: their metrics are compared)."""
    return {p.relative_to(output).as_posix(): p.read_bytes() for p in sorted(output.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(output).parts)
            and p.name != "manifest.json" and p.relative_to(output).parts[0] != "models"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of the tiny study, in its own folder."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "tiny.yaml").write_text(STUDY)
    result = runner.invoke(app, ["run", str(folder / "tiny.yaml"), "--no-plots"])
    assert result.exit_code == 0, result.output
    return folder / "darkscan-output" / "tiny"


def test_killed_runs_resume_to_the_same_bytes_in_another_folder(reference: Path, tmp_path: Path):
    study = tmp_path / "elsewhere" / "tiny.yaml"
    study.parent.mkdir()
    study.write_text(STUDY)
    output = study.parent / "darkscan-output" / "tiny"
    argv = [sys.executable, "-m", "darkscan", "run", str(study), "--no-plots"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1] / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}

    def shards() -> int:
        return len(list(output.glob("samples/*/*/events/shard-*.parquet")))

    # SIGKILL mid-generation (some shards written), once the first feature table exists, and once
    # the first network is saved
    for ready in (lambda: shards() >= 2, lambda: any(output.glob("samples/*/*/features.parquet")),
                  lambda: any(output.glob("models/*/*.json"))):
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while not ready() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert 2 <= shards() <= 9
    finished = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    # shards, features, datasets, evaluation metrics and plots, report: the same bytes
    assert _files(output) == _files(reference)
    if (reference / "evaluation").exists():
        assert json.loads((output / "evaluation/spin1_vs_sm.json").read_text())["units"][0]["auc"] is not None
    assert {s.stage: s.state for s in stage_states(load_study(study))} == {stage.name: "done" for stage in STAGES}


def test_a_second_run_skips_everything(reference: Path):
    study = load_study(reference.parent.parent / "tiny.yaml")
    before = {p: p.stat().st_mtime_ns for p in reference.rglob("*") if p.is_file()}
    results = run_pipeline(study)
    assert {r.stage: r.action for r in results} == {stage.name: "skipped" for stage in STAGES}
    assert {p: p.stat().st_mtime_ns for p in reference.rglob("*") if p.is_file()} == before


def test_editing_training_reruns_only_later_stages(reference: Path, tmp_path: Path):
    folder = tmp_path / "copy"
    shutil.copytree(reference.parent.parent, folder)
    study_file = folder / "tiny.yaml"
    study_file.write_text(STUDY.replace("network: dnn, epochs: 2", "network: cnn, epochs: 3"))
    study = load_study(study_file)
    states = {s.stage: s for s in stage_states(study)}
    assert states["datasets"].state == "done"
    assert states["report"].state == "stale" and "settings changed" in states["report"].why
    assert states["training"].state == "stale" and "settings changed: training" in states["training"].why
    dataset = study.output_dir / "datasets" / "spin1_vs_sm.h5"
    stamp = dataset.stat().st_mtime_ns
    actions = {r.stage: r.action for r in run_pipeline(study)}
    assert actions["generation"] == actions["features"] == actions["datasets"] == "skipped"
    assert actions["report"] == "ran"
    assert actions["training"] == actions["evaluation"] == "ran"
    assert dataset.stat().st_mtime_ns == stamp


def test_status_says_what_is_stale_and_why(reference: Path, tmp_path: Path):
    folder = tmp_path / "copy"
    shutil.copytree(reference.parent.parent, folder)
    study_file = folder / "tiny.yaml"
    study_file.write_text(STUDY.replace("{preset: atlas_monojet}", "{preset: atlas_monojet, cuts: "
                                                                     "[{feature: met, min: 250}]}"))
    (folder / "darkscan-output" / "tiny" / "datasets" / "spin1_vs_sm.h5").unlink()
    result = runner.invoke(app, ["status", str(study_file)])
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 3}
    assert "done" in lines["generation"]
    assert "stale" in lines["features"] and "settings changed: selection" in lines["features"]
    assert "stale" in lines["datasets"] and "output(s) missing" in lines["datasets"]

    fresh = tmp_path / "fresh.yaml"
    fresh.write_text(STUDY)
    result = runner.invoke(app, ["status", str(fresh)])
    assert result.exit_code == 0
    rows = [line for line in result.stdout.splitlines() if line.count("│") > 3 and "stage" not in line]
    assert len(rows) == len(STAGES) and all("missing" in line for line in rows)


def test_from_until_run_a_slice_and_bad_names_are_one_line(tmp_path: Path):
    assert [s.name for s in select_stages("features", "datasets")] == ["features", "datasets"]
    assert [s.name for s in select_stages()] == [s.name for s in STAGES]
    study = tmp_path / "tiny.yaml"
    study.write_text(STUDY)
    result = runner.invoke(app, ["run", str(study), "--from", "fetaures"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --from 'fetaures': no such stage; did you mean 'features'? (in order: generation, features, datasets, "
        "training, evaluation, report)"]
    result = runner.invoke(app, ["run", str(study), "--from", "datasets", "--until", "features"])
    assert result.exit_code == 2 and "comes before" in result.stderr
    # datasets without their features: the stage's own one-line error, nothing written
    result = runner.invoke(app, ["run", str(study), "--from", "datasets", "--until", "datasets"])
    assert result.exit_code == 2
    assert "no feature table for sample 'znunu'" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "darkscan-output" / "tiny" / "manifest.json").exists()


def test_manifest_records_versions_seeds_and_content_hashes(reference: Path):
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["versions"]["darkscan"] and manifest["versions"]["numpy"]
    assert manifest["seeds"]["generator"] == 3 and set(manifest["seeds"]["points"]) == {"znunu/nominal",
                                                                                         "spin1/nominal"}
    from darkscan.io import sha256_file

    features = manifest["stages"]["features"]
    for name, digest in features["outputs"].items():
        assert sha256_file(reference / name) == digest
    assert set(features["inputs"]) == set(manifest["stages"]["generation"]["outputs"]) - {
        n for n in manifest["stages"]["generation"]["outputs"] if not n.endswith(".parquet")}
    assert all(isinstance(s["seconds"], float) for s in manifest["stages"].values())


def test_slha_samples_write_the_same_shards_in_any_folder(tmp_path: Path):
    """Pythia reads the MSSM spectrum from a file in the point's folder: the shard names the file, not the path."""
    study_text = """\
name: mssm
generator: {backend: embedded, preset: fast, n_events: 40, seed: 5}
samples:
  - {name: znunu, process: sm_znunu_jet, n_events: 40}
  - name: n1
    process: neutralino_monojet
    parameters: {m_dm: 150, m_sneutrino: 3000, m_sneutrino_tau: 3000, m_sparticles: 3000}
"""
    shards = []
    for folder in ("one", "two/deeper"):
        study = tmp_path / folder / "mssm.yaml"
        study.parent.mkdir(parents=True)
        study.write_text(study_text)
        result = runner.invoke(app, ["gen", "run", str(study), "--sample", "n1"])
        assert result.exit_code == 0, result.output
        shards.append((study.parent / "darkscan-output/mssm/samples/n1/nominal/events/shard-00000.parquet").read_bytes())
    assert shards[0] == shards[1]
