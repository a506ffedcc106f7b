"""``darkscan histos features|inspect`` through typer's CliRunner on the real app."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from shared import SHARED_DATA, SKIP_REASON
from typer.testing import CliRunner

from darkscan.cli.main import app

FIXTURES = Path(__file__).parent / "data" / "readers"


DATA = SHARED_DATA
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=SKIP_REASON)
runner = CliRunner()

STUDY = """\
name: readers_test
generator: {n_events: 500}
samples:
  - {name: znunu, process: sm_znunu_jet}
  - {name: zz, process: sm_zz_llvv}
selection:
  preset: atlas_monojet
  cuts:
    - {feature: met, min: 250}
luminosity_fb: 100
"""


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def _write_shards(directory: Path, root_file: Path, sigmas: tuple[float, float], trials: tuple[int, int]) -> None:
    from darkscan.readers import delphes
    from darkscan.readers.events import write_event_table

    table, metadata = delphes.event_table(root_file)
    half = len(table) // 2
    for i, (part, sigma, n_trials) in enumerate(zip((table[:half], table[half:]), sigmas, trials)):
        meta = dataclasses.replace(metadata, cross_section_pb=sigma, n_trials=n_trials, n_accepted=len(part),
                                   sum_weights=float(np.sum(ak.to_numpy(part.weight))), source="embedded")
        write_event_table(directory / "events" / f"shard-{i:05d}.parquet", part, meta)


@pytest.fixture()
def study_dir(tmp_path: Path) -> Path:
    (tmp_path / "study.yaml").write_text(STUDY)
    base = tmp_path / "darkscan-output" / "readers_test" / "samples"
    _write_shards(base / "znunu" / "nominal", DATA / "delphes" / "znunu_jet_500ev_ATLAS_slim.root", (30.0, 35.0), (1000, 3000))
    return tmp_path


def test_features_for_a_study_are_written_resumed_and_rebuilt(study_dir: Path) -> None:
    from darkscan.readers.events import read_feature_table
    from darkscan.analysis.selection import PRESETS, Cut, apply

    result = _invoke("histos", "features", str(study_dir / "study.yaml"))
    # the zz point has no events yet: exit 2, naming it, after the znunu point was done
    assert result.exit_code == 2, result.output
    assert "samples/zz/nominal/events: no event files" in result.output and "Traceback" not in result.output
    output = study_dir / "darkscan-output" / "readers_test" / "samples" / "znunu" / "nominal" / "features.parquet"
    columns, metadata = read_feature_table(output)
    assert len(columns["met"]) == 500 and columns["passed"].dtype == bool
    cuts = [*PRESETS["atlas_monojet"], Cut("met", min=250.0)]
    np.testing.assert_array_equal(columns["passed"], apply(columns, cuts))
    assert metadata.cross_section_pb == pytest.approx((30.0 * 1000 + 35.0 * 3000) / 4000)
    assert metadata.n_trials == 4000 and metadata.n_accepted == 500
    flow = metadata.extra["cutflow"]
    assert [row["cut"] for row in flow][-1] == "250 ≤ met" and flow[-1]["events"] == int(columns["passed"].sum())
    assert flow[-1]["yield_events"] == pytest.approx(33.75 * 1000 * 100 * columns["passed"].sum() / 500)

    stamp = output.stat().st_mtime_ns
    again = _invoke("histos", "features", str(study_dir / "study.yaml"))
    assert "0 feature tables written, 1 up to date" in again.output
    assert output.stat().st_mtime_ns == stamp  # untouched
    shard = output.parent / "events" / "shard-00001.parquet"
    # a new modification time alone is no new input (fingerprints hash content, so reruns are reproducible)
    os.utime(shard, ns=(shard.stat().st_atime_ns, shard.stat().st_mtime_ns + 10**9))
    assert "0 feature tables written, 1 up to date" in _invoke("histos", "features", str(study_dir / "study.yaml")).output
    shutil.copy(output.parent / "events" / "shard-00000.parquet", shard)  # new content: rebuilt
    rebuilt = _invoke("histos", "features", str(study_dir / "study.yaml"))
    assert "1 feature tables written" in rebuilt.output


@pytest.mark.parametrize(
    "source",
    ["mg5/mssm_n1n1j/unweighted_events.lhe.gz", "delphes/zz_llnunu_first5.hepmc.gz",
     "delphes/zz_llnunu_500ev_ATLAS_slim.root"],
)
def test_features_of_a_single_file(tmp_path: Path, source: str) -> None:
    from darkscan.readers.events import read_feature_table

    path = tmp_path / Path(source).name
    shutil.copy(DATA / source, path)
    result = _invoke("histos", "features", str(path), "--selection", "atlas_monoz", "--lumi", "139")
    assert result.exit_code == 0, result.output
    produced = Path(result.stdout.strip().splitlines()[-1])
    assert produced.parent == tmp_path and produced.name.endswith(".features.parquet")
    columns, metadata = read_feature_table(produced)
    assert metadata.extra["cutflow"][0]["cut"] == "all events"
    assert len(columns["met"]) == metadata.n_accepted


def test_single_lhe_file_uses_declared_invisibles(tmp_path: Path) -> None:
    from darkscan.readers.events import read_feature_table

    path = tmp_path / "n1.lhe.gz"
    shutil.copy(DATA / "mg5" / "mssm_n1n1j" / "unweighted_events.lhe.gz", path)
    only_nu = _invoke("histos", "features", str(path), "--invisible", "12", "-o", str(tmp_path / "nu.parquet"))
    with_n1 = _invoke("histos", "features", str(path), "-o", str(tmp_path / "n1.parquet"))  # default: registry
    assert only_nu.exit_code == with_n1.exit_code == 0
    assert np.all(read_feature_table(tmp_path / "nu.parquet")[0]["met"] == 0)
    assert np.mean(read_feature_table(tmp_path / "n1.parquet")[0]["met"]) > 150


def _not_delphes(tmp_path: Path) -> Path:
    import uproot

    path = tmp_path / "plain.root"
    with uproot.recreate(path) as out:
        out["tree"] = {"x": np.arange(3.0)}
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: FIXTURES / "truncated.lhe", r"truncated\.lhe: event 3: is truncated"),
        (lambda tmp: FIXTURES / "broken_number.lhe", r"broken_number\.lhe: event 2: '1\.69459x565E\+02' is not a number"),
        (lambda tmp: FIXTURES / "missing_particle.lhe", r"missing_particle\.lhe: event 2: header says 6 particles"),
        (_not_delphes, r"plain\.root: ROOT file has no 'Delphes' tree"),
        (lambda tmp: FIXTURES / "empty.lhe", r"empty\.lhe: empty file"),
        (lambda tmp: (tmp / "empty.root").touch() or tmp / "empty.root", r"empty\.root: empty file"),
        (lambda tmp: FIXTURES / "README.md", r"README\.md: unknown file type \(accepted endings: \.parquet"),
        (lambda tmp: FIXTURES / "not_lhe.lhe", r"not_lhe\.lhe: no <LesHouchesEvents> tag"),
    ],
    ids=["truncated", "broken-event", "short-event", "not-delphes", "empty-lhe", "empty-root", "wrong-extension",
         "not-lhe"],
)
@pytest.mark.parametrize("command", ["features", "inspect"])
def test_bad_inputs_give_one_line_and_exit_2(tmp_path: Path, make, message: str, command: str) -> None:  # type: ignore[no-untyped-def]
    import re

    path = make(tmp_path)
    result = _invoke("histos", command, str(path))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert re.search(message, lines[0]), lines[0]
    assert not list(tmp_path.glob("*.features.parquet"))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("lhe/pylhe-testfile-pythia-8.3.14-weakbosons.lhe", "σ = 48.7678 ± 2.2 pb"),
        ("mg5/znunu_j/unweighted_events.lhe.gz", "MadGraph5_aMC@NLO 3.5.7"),
        ("delphes/znunu_jet_first5.hepmc.gz", "5 events; σ (last event)"),
        ("delphes/zz_llnunu_first5_ATLAS_full.root", "Delphes tree: 5 events; branches: Event, Weight, Particle"),
    ],
)
def test_inspect_describes_files(source: str, expected: str) -> None:
    result = _invoke("histos", "inspect", str(DATA / source))
    assert result.exit_code == 0, result.output
    assert expected in result.stdout
    assert "leading_jet_pt" in result.stdout  # the distribution summaries


def test_inspect_feature_table(study_dir: Path) -> None:
    _invoke("histos", "features", str(study_dir / "study.yaml"))
    table = study_dir / "darkscan-output" / "readers_test" / "samples" / "znunu" / "nominal" / "features.parquet"
    result = _invoke("histos", "inspect", str(table))
    assert result.exit_code == 0, result.output
    assert "feature table: 500 events" in result.stdout and "cut flow: MET > 200 GeV" in result.stdout


def test_a_feature_table_is_not_an_event_table(study_dir: Path) -> None:
    _invoke("histos", "features", str(study_dir / "study.yaml"))
    table = study_dir / "darkscan-output" / "readers_test" / "samples" / "znunu" / "nominal" / "features.parquet"
    result = _invoke("histos", "features", str(table))
    assert result.exit_code == 2
    assert "features.parquet: not an event table (no jets, electrons, muons, photons columns)" in result.output


def test_cross_section_override_for_a_delphes_file(tmp_path: Path) -> None:
    from darkscan.readers.events import read_feature_table

    path = tmp_path / "zz.root"
    shutil.copy(DATA / "delphes" / "zz_llnunu_500ev_ATLAS_slim.root", path)
    result = _invoke("histos", "features", str(path), "--cross-section", "1.5")
    assert result.exit_code == 0, result.output
    _, metadata = read_feature_table(tmp_path / "zz.features.parquet")
    assert metadata.cross_section_pb == 1.5
    assert metadata.extra["cutflow"][0]["yield_events"] == pytest.approx(1.5 * 1000 * 139)


def test_a_madgraph_study_reads_delphes_and_lhe_output_from_the_point_folders(tmp_path: Path) -> None:
    from darkscan.readers.events import read_feature_table

    (tmp_path / "mg.yaml").write_text(
        "name: mg\ngenerator: {backend: madgraph}\nsamples:\n"
        "  - {name: zz, process: sm_zz_llvv}\n  - {name: znunu, process: sm_znunu_jet}\n"
        "selection: {preset: atlas_monoz}\n")
    points = tmp_path / "darkscan-output" / "mg" / "samples"
    for sample, source in (("zz", "delphes/zz_llnunu_500ev_ATLAS_slim.root"),
                           ("znunu", "mg5/znunu_j/unweighted_events.lhe.gz")):
        (points / sample / "nominal" / "events").mkdir(parents=True)
        shutil.copy(DATA / source, points / sample / "nominal" / "events")
    result = _invoke("histos", "features", str(tmp_path / "mg.yaml"))
    assert result.exit_code == 0, result.output
    columns, zz = read_feature_table(points / "zz" / "nominal" / "features.parquet")
    assert len(columns["met"]) == 500 and zz.cross_section_pb == pytest.approx(0.2473, rel=1e-3)
    columns, znunu = read_feature_table(points / "znunu" / "nominal" / "features.parquet")
    assert len(columns["met"]) == 2000 and znunu.cross_section_pb == pytest.approx(45.8651, rel=1e-5)
