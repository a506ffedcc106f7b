"""A real one-node Slurm (with accounting) for the ``slurm`` tests, started by ``.ci/slurm``.

:func:`start_cluster` starts it in a folder and returns the ``SLURM_CONF`` path, or skips the calling
test with the reason (not root, packages missing, a daemon that would not start). CI installs the
packages with ``.ci/slurm install`` before it runs ``pytest -m slurm``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "slurm"


def start_cluster(folder: Path) -> Path:
    """Start the cluster under ``folder``; the ``slurm.conf`` to point SLURM_CONF at, or skip."""
    try:
        result = subprocess.run([str(SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=240,
                                check=False)
    except subprocess.TimeoutExpired:
        subprocess.run([str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=120, check=False)
        pytest.skip(f"{SCRIPT} start did not finish in 240 s (logs in {folder}/log)")
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no message"])[0]
        pytest.skip(f"Slurm cannot start here: {reason}")
    return folder / "slurm.conf"


def stop_cluster(folder: Path) -> None:
    subprocess.run([str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=120, check=True)


def wait_until(condition: Callable[[], bool], *, timeout_s: float, what: str, poll_s: float = 0.5) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout_s:g} s")
        time.sleep(poll_s)
