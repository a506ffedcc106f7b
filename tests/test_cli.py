from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from darkscan import __version__
from darkscan.cli.main import app

HEAVY = ("tensorflow", "keras", "uproot", "awkward", "pythia8mc", "numpy", "pyarrow", "h5py", "pydantic", "fastjet")


def _console_script() -> Path:
    script = Path(sys.executable).parent / "darkscan"
    if not script.exists():
        pytest.skip(f"console script not installed beside {sys.executable} (install the package first)")
    return script


def test_help_is_fast_through_the_installed_console_script():
    script = _console_script()
    subprocess.run([script, "--help"], check=True, capture_output=True)  # warm the file cache
    best = min(_timed([script, "--help"]) for _ in range(3))
    assert best < 1.0, f"darkscan --help took {best:.2f} s"


def _timed(argv: list) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def test_version_through_the_console_script():
    result = subprocess.run([_console_script(), "--version"], check=True, capture_output=True, text=True)
    assert result.stdout.strip() == f"darkscan {__version__}"


def test_start_up_imports_nothing_heavy():
    code = "import sys, darkscan.cli.main; print(__import__('json').dumps(sorted(sys.modules)))"
    modules = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    loaded = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    assert loaded == []


def test_plan_as_json(examples_dir: Path):
    result = CliRunner().invoke(app, ["study", "check", "--json", str(examples_dir / "quickstart.yaml")])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["sample"] for row in rows] == ["znunu", "spin1", "spin2"]
    assert rows[1]["parameters"]["m_med"] == 1000
