"""The MadGraph backend with real MG5_aMC 3.5.7 (``.ci/install-mg5``), Pythia 8 and the fast detector / Delphes.

The MG5 runs take 15–60 s each on 2 cores, so they are ``slow``; the study-level checks that need no
MG5 run are not. σ references: shared/notes/madgraph-models.md and shared/data/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from darkscan.errors import ExternalProgramError, StudyError
from darkscan.gen import madgraph
from darkscan.gen.executors import LocalExecutor
from darkscan.study import load_study
from shared import delphes_home, mg5_home


def _study(tmp_path: Path, samples: list[dict], **generator: object) -> Path:
    path = tmp_path / "study.yaml"
    detector = generator.pop("detector", {})
    path.write_text(yaml.safe_dump({
        "name": "mgtest", "generator": {"backend": "madgraph", "n_events": 300, "seed": 11, **generator},
        "detector": detector, "samples": samples,
    }), encoding="utf-8")
    return path


def _sigma(point_dir: Path, chunk: int = 0) -> float:
    return json.loads((point_dir / "events" / f"shard-{chunk:05d}.record.json").read_text())["cross_section_pb"]


def test_study_fields_are_for_the_madgraph_backend_only(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "detector": {"simulation": "delphes"},
                                    "generator": {"executor": "docker"},
                                    "samples": [{"name": "z", "process": "sm_znunu_jet"}]}))
    with pytest.raises(StudyError) as caught:
        load_study(path)
    text = str(caught.value)
    assert "detector.simulation" in text and "generator.executor" in text and "generator.image" in text


def test_plan_chunks() -> None:
    assert madgraph.plan_chunks(1000, 300, gridpack=False) == [(0, 0, 1000)]
    assert madgraph.plan_chunks(1000, 300, gridpack=True) == [(0, 0, 300), (1, 300, 300), (2, 600, 300),
                                                              (3, 900, 100)]


_FAKE_MG5 = """
import io, pathlib, sys, tarfile
calls = pathlib.Path({calls!r})
n = int(calls.read_text()) + 1 if calls.exists() else 1
calls.write_text(str(n))
if pathlib.Path("mg5").exists():
    sys.exit("a used working folder: MG5's `output` would refuse it")
pathlib.Path("mg5").mkdir()
if n <= {failures}:
    print("gfortran -o gensym symmetry.o idenparts.o -L../../lib/ -lgammaUPC")
    print({message!r})
    print("\\x1b[1;31mError detected in \\"generate_events run_01\\"")  # coloured, as MG5 prints it
else:
    with tarfile.open("mg5/run_01_gridpack.tar.gz", "w:gz") as archive:
        script = b"#!/bin/sh\\n"
        info = tarfile.TarInfo("./run.sh")
        info.size = len(script)
        archive.addfile(info, io.BytesIO(script))
"""


@pytest.mark.parametrize(("message", "failures", "calls"), [
    ("/usr/bin/ld: ../../lib//libgammaUPC.a: error adding symbols: archive has no index; run ranlib", 1, 2),
    ("/usr/bin/ld: ../../lib//libgammaUPC.a: error adding symbols: archive has no index; run ranlib", 2, 2),
    ("symmetry.f:12: Error: Unclassifiable statement", 1, 1),
])
def test_mg5_compilation_race_is_rerun_once(tmp_path: Path, message: str, failures: int, calls: int) -> None:
    """MG5's parallel-make race (libgammaUPC.a linked before it is indexed) gets one rerun in a fresh
    folder; a second race, or any other compilation error, fails with the log. A stand-in MG5 plays it."""
    home = tmp_path / "mg5"
    (home / "bin").mkdir(parents=True)
    counter = tmp_path / "calls"
    (home / "bin" / "mg5_aMC").write_text(_FAKE_MG5.format(calls=str(counter), failures=failures, message=message))
    study = load_study(_study(tmp_path, [{"name": "z", "process": "sm_znunu_jet"}], mg5_path=str(home),
                              gridpack=True, shard_events=100))
    task = madgraph._tasks(study, study.plan())[0]
    logs = Path(task.point_directory) / "madgraph" / "logs"
    if failures < calls:
        gridpack = madgraph.run_gridpack(task, LocalExecutor(mg5=home))
        assert gridpack.is_file() and _tarfile_names(gridpack) == ["./run.sh"]
        assert message in (logs / "mg5-gridpack-attempt1.log").read_text()
    else:
        with pytest.raises(ExternalProgramError) as caught:
            madgraph.run_gridpack(task, LocalExecutor(mg5=home))
        assert "Error detected in" in str(caught.value) and str(logs / "mg5-gridpack.log") in str(caught.value)
        assert not madgraph.gridpack_path(task).exists()
    assert int(counter.read_text()) == calls


def _tarfile_names(path: Path) -> list[str]:
    import tarfile

    with tarfile.open(path) as archive:
        return archive.getnames()


def test_finished_chunks_are_kept_and_other_cards_refused(tmp_path: Path) -> None:
    import dataclasses

    study = load_study(_study(tmp_path, [{"name": "z", "process": "sm_znunu_jet"}]))
    (task,) = madgraph._tasks(study, study.plan())  # renders the point's cards, runs nothing
    assert (Path(task.cards_directory) / "madgraph.mg5").is_file()
    task.record_path.parent.mkdir(parents=True)
    task.record_path.write_text(json.dumps({"fingerprint": madgraph._fingerprint(task)}))
    assert madgraph.stale(task) == []
    other_seed = dataclasses.replace(task, point_seed=task.point_seed + 1)
    assert "seed" in madgraph.stale(other_seed)[0]
    # another parameter changes the rendered script, hence its sha256
    changed = load_study(_study(tmp_path, [{"name": "z", "process": "sm_znunu_jet",
                                            "generation_cuts": {"ptj": 150}}]))
    (task2,) = madgraph._tasks(changed, changed.plan())
    assert "mg5_script_sha256" in madgraph.stale(task2)[0]
    task.output.write_bytes(b"x")
    with pytest.raises(StudyError, match="different configuration"):
        madgraph.run_study(changed, executor="local")


@pytest.mark.slow
def test_znunu_jet_end_to_end_sigma_features_and_resume(tmp_path: Path) -> None:
    mg5 = mg5_home()
    from darkscan.analysis.features import build_study_features
    from darkscan.readers.events import read_event_table

    study = load_study(_study(tmp_path, [{"name": "znunu_j", "process": "sm_znunu_jet"}], mg5_path=str(mg5)))
    summary = madgraph.run_study(study)
    assert summary["done"] == 1
    point = study.plan()[0].directory
    sigma = _sigma(point)
    assert sigma == pytest.approx(45.87, rel=0.03)  # shared/data/README.md: 45.87 ± 0.33 pb
    events, metadata = read_event_table(point / "events" / "shard-00000.parquet")
    assert len(events) == 300 and metadata.cross_section_pb == sigma
    # Z(νν) + jet with ptj > 130: the neutrinos recoil against the jet
    assert float(np.mean(events["met"])) > 100
    # the LHE is kept beside events/, not in it (features would count it twice)
    assert not list((point / "events").glob("*.lhe*")) and (point / "madgraph" / "unweighted_events-00000.lhe.gz").is_file()
    assert build_study_features(study)[str(point)] == "written"
    # a rerun skips the finished point; a changed study is refused, not silently reused
    assert madgraph.run_study(study)["skipped"] == 1
    changed = load_study(_study(tmp_path, [{"name": "znunu_j", "process": "sm_znunu_jet"}], mg5_path=str(mg5),
                                n_events=400))
    with pytest.raises(StudyError, match="different configuration"):
        madgraph.run_study(changed)


@pytest.mark.slow
def test_dmsimp_spin1_monojet_sigma(tmp_path: Path) -> None:
    mg5 = mg5_home()
    sample = {"name": "spin1", "process": "spin1_monojet",
              "parameters": {"m_med": 1000, "m_dm": 10, "g_q": 0.25, "g_dm": 1, "w_med": 10}}
    study = load_study(_study(tmp_path, [sample], mg5_path=str(mg5), n_events=200))
    madgraph.run_study(study)
    # shared/notes/madgraph-models.md: 5.34 ± 0.04 pb (full model), 5.394 in shared/dist/README.md
    assert _sigma(study.plan()[0].directory) == pytest.approx(5.39, rel=0.03)


@pytest.mark.slow
def test_mssm_reference_spectrum_sigma(tmp_path: Path) -> None:
    mg5 = mg5_home()
    sample = {"name": "n1", "process": "neutralino_monojet", "generation_cuts": {"ptj": 20}}
    study = load_study(_study(tmp_path, [sample], mg5_path=str(mg5), n_events=200))
    madgraph.run_study(study)
    # shared/data/README.md: p p > n1 n1 j on the shipped spectrum, ptj 20: 0.1708 ± 0.0005 pb
    assert _sigma(study.plan()[0].directory) == pytest.approx(0.1708, rel=0.03)


def _one_task(tmp_path: Path, mg5: Path) -> madgraph.ChunkTask:
    study = load_study(_study(tmp_path, [{"name": "znunu_j", "process": "sm_znunu_jet"}], mg5_path=str(mg5)))
    (task,) = madgraph._tasks(study, study.plan())
    return task


@pytest.mark.slow
def test_broken_mg5_script_fails_with_the_log_path(tmp_path: Path) -> None:
    mg5 = mg5_home()
    task = _one_task(tmp_path, mg5)
    script = Path(task.cards_directory) / "madgraph.mg5"
    script.write_text(script.read_text().replace("generate p p > z j, z > vl vl~", "generate p p > zz j"))
    with pytest.raises(ExternalProgramError) as caught:
        madgraph.run_chunk(task, LocalExecutor(mg5=mg5))
    message = str(caught.value)
    log = Path(task.point_directory) / "madgraph" / "logs" / "mg5-00000.log"
    assert "exit code 0 but MG5 reports" in message and str(log) in message and log.is_file()
    assert not task.output.exists() and not task.record_path.exists()


@pytest.mark.slow
def test_run_without_events_fails_with_the_log_path(tmp_path: Path) -> None:
    mg5 = mg5_home()
    task = _one_task(tmp_path, mg5)
    script = Path(task.cards_directory) / "madgraph.mg5"
    # `output` alone: MG5 succeeds and writes the process folder, but generates no events
    script.write_text(script.read_text().split("launch ")[0])
    with pytest.raises(ExternalProgramError) as caught:
        madgraph.run_chunk(task, LocalExecutor(mg5=mg5))
    message = str(caught.value)
    assert "MG5 left no events" in message and "mg5-00000.log" in message
    assert not task.output.exists() and not list(Path(task.point_directory).glob("events/*"))


@pytest.mark.slow
def test_gridpack_integrates_once_then_one_run_per_seed_chunk(tmp_path: Path) -> None:
    mg5 = mg5_home()
    from darkscan.readers.events import read_event_table

    study = load_study(_study(tmp_path, [{"name": "znunu_j", "process": "sm_znunu_jet"}], mg5_path=str(mg5),
                              n_events=400, shard_events=200, gridpack=True))
    summary = madgraph.run_study(study)
    assert summary["done"] == 2
    point = study.plan()[0].directory
    assert len(list((point / "madgraph").glob("gridpack-*.tar.gz"))) == 1
    records = [json.loads((point / "events" / f"shard-{i:05d}.record.json").read_text()) for i in (0, 1)]
    assert records[0]["seed"] != records[1]["seed"]
    first, _ = read_event_table(point / "events" / "shard-00000.parquet")
    second, _ = read_event_table(point / "events" / "shard-00001.parquet")
    assert len(first) == len(second) == 200
    # different seeds, different events
    assert not np.array_equal(np.asarray(first["met"]), np.asarray(second["met"]))
    for record in records:
        assert record["cross_section_pb"] == pytest.approx(45.87, rel=0.05)


@pytest.mark.slow
def test_real_delphes_route_reads_back_with_the_lhe_sigma(tmp_path: Path) -> None:
    mg5, delphes = mg5_home(), delphes_home()
    from darkscan.analysis.features import build_study_features
    from darkscan.readers.sources import load_event_table

    sample = {"name": "spin1", "process": "spin1_monojet",
              "parameters": {"m_med": 1000, "m_dm": 10, "g_q": 0.25, "g_dm": 1, "w_med": 10}}
    study = load_study(_study(tmp_path, [sample], mg5_path=str(mg5), n_events=100,
                              detector={"simulation": "delphes", "delphes_path": str(delphes)}))
    madgraph.run_study(study)
    point = study.plan()[0].directory
    record = json.loads((point / "events" / "delphes-00000.record.json").read_text())
    events, metadata = load_event_table(point / "events" / "delphes-00000.root", invisible_pdgids=(52,))
    assert len(events) == 100
    # Event.CrossSection is the LHE sample's σ, passed through HepMC3's GenCrossSection
    assert metadata.cross_section_pb == pytest.approx(record["cross_section_pb"], rel=1e-6)
    # the DM is invisible to the rendered card: a 1 TeV mediator recoiling against a ptj > 130 jet
    assert float(np.mean(events["met"])) > 150
    assert not list((point / "events").glob("*.hepmc*"))
    assert build_study_features(study)[str(point)] == "written"
