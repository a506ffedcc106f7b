"""The reference data the benchmarks read: ``../shared/data`` beside the checkout, or ``$DARKSCAN_SHARED_DATA``."""

from __future__ import annotations

import os
from pathlib import Path


def shared_data() -> Path:
    path = Path(os.environ.get("DARKSCAN_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
    if not path.is_dir():
        raise SystemExit(f"reference data not found at {path}: put shared/ beside the checkout or set DARKSCAN_SHARED_DATA")
    return path
