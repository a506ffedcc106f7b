from __future__ import annotations

from pathlib import Path

import pytest
from shared import shared_data as _shared_data

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The reference generator outputs in ../shared/data (beside the checkout)."""
    return _shared_data()


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return REPO / "examples"
