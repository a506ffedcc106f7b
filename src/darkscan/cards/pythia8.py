"""Pythia 8 card for showering and hadronising the MG5 events of one sample point.

Reads the LHE file MG5 wrote (``Beams:frameType = 4``; Pythia also takes the SLHA spectrum and the
widths from the LHE header), with an explicit seed. Presets follow the study's
``generator.preset``: ``fast`` switches multiparton interactions off, ``full`` keeps Pythia's
defaults (Monash tune). Usable as is by ``DelphesPythia8 delphes_card.tcl pythia8_card.dat out.root``.
"""

from __future__ import annotations

import re
from typing import Literal

from darkscan import __version__
from darkscan.cards._render import TEMPLATE_VERSIONS, render_template
from darkscan.errors import CardError
from darkscan.study import SamplePoint

__all__ = ["CARD_NAME", "check_pythia8_card", "parse_pythia8_card", "pythia8_settings", "render_pythia8_card"]

CARD_NAME = "pythia8_card.dat"


def pythia8_settings(point: SamplePoint, *, preset: Literal["fast", "full"], lhef: str) -> dict[str, str]:
    """The settings the card must contain, as Pythia would read them (``key → value``)."""
    if preset not in ("fast", "full"):
        raise CardError(f"generator.preset must be 'fast' or 'full', got {preset!r}")
    return {
        "Main:numberOfEvents": str(point.n_events),
        "Beams:frameType": "4",
        "Beams:LHEF": lhef,
        "Random:setSeed": "on",
        "Random:seed": str(point.seed),
        "PartonLevel:MPI": "off" if preset == "fast" else "on",
        "PartonLevel:ISR": "on",
        "PartonLevel:FSR": "on",
        "HadronLevel:all": "on",
    }


def render_pythia8_card(point: SamplePoint, *, study_name: str, preset: Literal["fast", "full"], lhef: str) -> str:
    """The ``pythia8_card.dat`` of ``point``; ``lhef`` is the LHE path relative to the card's folder."""
    settings = pythia8_settings(point, preset=preset, lhef=lhef)
    text = render_template(
        "pythia8_card.dat.j2",
        version=__version__, template_version=TEMPLATE_VERSIONS["pythia8_card"], study=study_name,
        sample=point.sample, point_id=point.point_id, preset=preset, n_events=point.n_events, lhef=lhef,
        seed=point.seed, mpi=settings["PartonLevel:MPI"], hadronisation=settings["HadronLevel:all"],
        count_every=max(1, point.n_events // 10),
    )
    check_pythia8_card(text, settings)
    return text


_LINE = re.compile(r"^\s*([A-Za-z0-9_:]+)\s*=\s*(.*?)\s*$")


def parse_pythia8_card(text: str) -> dict[str, str]:
    """``key → value`` of a Pythia card (comments ``!``/``#`` and blank lines skipped)."""
    settings: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "!#":
            continue
        match = _LINE.match(line.split("!", 1)[0])
        if not match:
            raise CardError(f"Pythia card line {number}: cannot read {raw.strip()!r}")
        settings[match.group(1)] = match.group(2)
    return settings


def check_pythia8_card(text: str, expected: dict[str, str]) -> None:
    """Raise :class:`CardError` unless every expected setting is in ``text`` with its value."""
    if "{{" in text or "{%" in text:
        raise CardError("Pythia card: unrendered template markup left in the card")
    if not text.isascii():
        raise CardError("Pythia card: non-ASCII text in the card")
    found = {k.lower(): v for k, v in parse_pythia8_card(text).items()}
    for key, value in expected.items():
        if found.get(key.lower()) != value:
            raise CardError(f"Pythia card: {key} is {found.get(key.lower())!r}, expected {value!r}")
