"""What the benchmarks share: the reference data (``../shared/data`` beside the checkout, or
``$DARKSCAN_SHARED_DATA``) and best-of-N timing."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path


def shared_data() -> Path:
    path = Path(os.environ.get("DARKSCAN_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
    if not path.is_dir():
        raise SystemExit(f"reference data not found at {path}: put shared/ beside the checkout or set DARKSCAN_SHARED_DATA")
    return path


def best_of(repeat: int, function: Callable[[], object]) -> tuple[float, object]:
    """The shortest wall time of ``repeat`` calls (s) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result
