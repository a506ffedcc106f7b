"""Where the reference generator outputs are: ``../shared/data`` beside the checkout.

``DARKSCAN_SHARED_DATA`` points elsewhere. Tests that need the files skip, saying why, when absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("DARKSCAN_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
SKIP_REASON = f"reference data not found at {SHARED_DATA} (CI has ../shared/data beside the checkout)"


def shared_data() -> Path:
    """The reference data folder, or skip the calling test."""
    if not SHARED_DATA.is_dir():
        pytest.skip(SKIP_REASON)
    return SHARED_DATA


MG5_HOME = Path(os.environ.get("DARKSCAN_MG5_HOME")
                or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "darkscan" / "MG5_aMC_v3_5_7")


def mg5_home() -> Path:
    """MG5_aMC 3.5.7 with the registry's UFO models, installed by ``.ci/install-mg5``; or skip."""
    if not (MG5_HOME / ".darkscan-installed").exists():
        pytest.skip(f"MG5_aMC not installed at {MG5_HOME} (run .ci/install-mg5: it installs from ../shared/dist)")
    return MG5_HOME


DELPHES_HOME = Path(os.environ.get("DARKSCAN_DELPHES_HOME")
                    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "darkscan" / "Delphes-3.5.1")


def delphes_home() -> Path:
    """Delphes 3.5.1 built against ROOT from PyPI by ``.ci/install-delphes``; or skip."""
    if not (DELPHES_HOME / ".darkscan-installed").exists():
        pytest.skip(f"Delphes not built at {DELPHES_HOME} (run .ci/install-delphes: it builds from ../shared/dist)")
    return DELPHES_HOME
