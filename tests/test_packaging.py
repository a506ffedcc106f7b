"""The wheel carries every data file the package reads (templates, detector cards): a fresh
``pip install .`` found the Slurm job template missing once, while the editable install had it."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[1]


def test_every_data_file_under_src_is_declared_package_data() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["darkscan"]
    package = REPO / "src" / "darkscan"
    data_files = [p.relative_to(package) for p in package.rglob("*")
                  # C sources and headers are build inputs, not files the package reads
                  if p.is_file() and p.suffix not in (".py", ".pyc", ".c", ".h", ".so") and "__pycache__" not in p.parts]
    assert data_files, "no data files found: the package layout changed"
    missing = [str(f) for f in data_files
               if not any(PurePosixPath(f.as_posix()).match(p) or PurePosixPath(f.as_posix()).match(p.removeprefix("**/"))
                          for p in patterns)]
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"
