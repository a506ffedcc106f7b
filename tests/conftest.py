from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data() -> Path | None:
    for candidate in (REPO.parent / "shared" / "data", Path(os.environ.get("DARKSCAN_SHARED_DATA", "/nonexistent"))):
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The reference generator outputs in ../shared/data (beside the checkout)."""
    path = _shared_data()
    if path is None:
        pytest.skip("reference data ../shared/data is absent (it lies beside the checkout in CI)")
    return path


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return REPO / "examples"
