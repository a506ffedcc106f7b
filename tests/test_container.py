"""darkscan's Docker image, built here from a local Debian base and the local sources, running one
small point of the chain (MG5 → Pythia 8 → real Delphes) through the ``docker`` executor.

Slow (the build compiles Delphes): CI's Docker tier starts dockerd with ``.ci/start-docker``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared import SHARED_DATA

REPO = Path(__file__).resolve().parents[1]
TAG = "darkscan:test"
BASE = "debian:bookworm"


def _docker() -> str:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed (.ci/start-docker installs docker.io and starts dockerd)")
    if subprocess.run([docker, "info"], capture_output=True, timeout=60, check=False).returncode != 0:
        pytest.skip("no Docker daemon answers `docker info` (.ci/start-docker starts one)")
    return docker


def _has_image(docker: str, tag: str) -> bool:
    return subprocess.run([docker, "image", "inspect", tag], capture_output=True, timeout=60,
                          check=False).returncode == 0


@pytest.mark.slow
def test_image_builds_offline_and_runs_a_point_with_real_delphes(tmp_path: Path) -> None:
    docker = _docker()
    dist = SHARED_DATA.parent / "dist"
    if not (dist / "SHA256SUMS").is_file():
        pytest.skip(f"offline sources not found at {dist} (../shared/dist beside the checkout)")
    if not _has_image(docker, BASE):
        if shutil.which("debootstrap") is None:
            pytest.skip(f"no {BASE} image and no debootstrap to make one (apt-get install debootstrap)")
        subprocess.run([str(REPO / "containers" / "debian-base"), "--tag", BASE], check=True, timeout=1200)
    build = [str(REPO / "containers" / "build"), "--local", str(dist), "--tag", TAG, "--base", BASE]
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if bundle.is_file():  # our machines reach PyPI through a proxy that re-signs TLS
        build += ["--pip-cert", str(bundle)]
    log = tmp_path / "build.log"
    with open(log, "w") as handle:
        result = subprocess.run(build, stdout=handle, stderr=subprocess.STDOUT, timeout=3600, check=False)
    assert result.returncode == 0, log.read_text()[-4000:]

    from darkscan.gen import madgraph
    from darkscan.readers.sources import load_event_table
    from darkscan.study import load_study

    study_file = tmp_path / "study.yaml"
    study_file.write_text(yaml.safe_dump({
        "name": "docker", "generator": {"backend": "madgraph", "executor": "docker", "image": TAG,
                                        "n_events": 100, "seed": 5},
        "detector": {"simulation": "delphes"},
        "samples": [{"name": "znunu", "process": "sm_znunu_jet"}],
    }))
    study = load_study(study_file)
    madgraph.run_study(study)
    point = study.plan()[0].directory
    output = point / "events" / "delphes-00000.root"
    record = json.loads((point / "events" / "delphes-00000.record.json").read_text())
    assert record["executor"]["kind"] == "docker" and record["executor"]["image"] == TAG
    assert record["executor"]["image_digest"].startswith("sha256:")
    events, metadata = load_event_table(output)
    assert len(events) == 100
    # Delphes' Event.CrossSection carries the LHE sample's σ (written into the HepMC3 GenCrossSection)
    assert metadata.cross_section_pb == pytest.approx(record["cross_section_pb"], rel=1e-6)
    assert record["cross_section_pb"] == pytest.approx(45.87, rel=0.1)
