from __future__ import annotations

import stat
from pathlib import Path

import pytest

from darkscan.io import atomic_path, write_text_atomic


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path: Path):
    target = tmp_path / "result.txt"
    write_text_atomic(target, "finished piece\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half-writ")
        raise RuntimeError("interrupted")
    assert target.read_text() == "finished piece\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.txt"]


def test_atomic_files_get_the_permissions_of_a_plain_open(tmp_path: Path):
    write_text_atomic(tmp_path / "atomic.txt", "x")
    (tmp_path / "plain.txt").write_text("x")
    mode = stat.S_IMODE((tmp_path / "atomic.txt").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    assert mode & stat.S_IRGRP  # not mkstemp's private 0600 (under the usual umasks 022/002)
