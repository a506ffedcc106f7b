"""README.md stays true: its study tour validates and its commands name files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from darkscan.study import load_study, parse_study

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_study_tour_in_the_readme_validates():
    block = re.search(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    study = parse_study(yaml.safe_load(block), source="README.md")
    assert len(study.plan()) == 4


def test_the_main_command_runs_an_example_that_validates():
    text = README.read_text(encoding="utf-8")
    command = re.search(r"<!-- main-command -->\n```bash\n(.*)\n```", text).group(1)
    study = re.search(r"darkscan run (\S+)", command).group(1)
    assert load_study(README.parent / study).generator.backend == "embedded"
