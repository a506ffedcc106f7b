"""Delphes card: the stock detector card, unchanged, plus what one sample needs.

The rendered card ``source``-s the stock card (a bare name such as ``delphes_card_ATLAS.tcl`` means
``cards/<name>`` of the Delphes installation, so Delphes runs from its installation folder, as in
the container; a user card path is resolved against the study file's folder) and appends, with the Tcl constructs of
``shared/data/delphes/cards/override_common.tcl``:

- a fixed ``RandomSeed`` (the stock card's 0 means a new seed every run);
- every invisible BSM PDG id of the sample with ``EnergyFraction {PDG} {0.0}`` in ECal and HCal and
  ``±PDG`` in ``NeutrinoFilter``; otherwise Delphes deposits the dark matter in the calorimeters and
  the MET is lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from darkscan import __version__
from darkscan.cards._render import TEMPLATE_VERSIONS, render_template
from darkscan.errors import CardError
from darkscan.study import SamplePoint

__all__ = ["CARD_NAME", "check_delphes_card", "parse_delphes_card", "render_delphes_card", "stock_card_path"]

CARD_NAME = "delphes_card.tcl"


def stock_card_path(delphes_card: str) -> str:
    """Where the rendered card finds the stock card: ``cards/NAME`` for a bare name, else the path."""
    if not delphes_card or any(c.isspace() for c in delphes_card) or any(c in delphes_card for c in "{}[]$;\""):
        raise CardError(f"detector.delphes_card: {delphes_card!r} is not a usable Delphes card name or path "
                        "(no spaces or Tcl special characters)")
    return delphes_card if "/" in delphes_card else f"cards/{delphes_card}"


def render_delphes_card(point: SamplePoint, *, study_name: str, delphes_card: str,
                        invisible: Sequence[int]) -> str:
    """The Delphes card of ``point``: stock card + seed + the sample's invisible PDG ids."""
    pdgids = sorted({abs(int(p)) for p in invisible})
    stock = stock_card_path(delphes_card)
    text = render_template(
        "delphes_card.tcl.j2",
        version=__version__, template_version=TEMPLATE_VERSIONS["delphes_card"], study=study_name,
        sample=point.sample, point_id=point.point_id, stock_card=stock, seed=point.seed,
        invisible=pdgids,
    )
    check_delphes_card(text, stock_card=stock, seed=point.seed, invisible=pdgids)
    return text


_MODULE = re.compile(r"^module\s+(\S+)\s+(\S+)\s*\{$")


def parse_delphes_card(text: str) -> dict[str, object]:
    """What our appended part says: ``source``, ``RandomSeed`` and the per-module ``add`` lines."""
    out: dict[str, object] = {"source": [], "RandomSeed": None, "modules": {}}
    module: str | None = None
    modules: dict[str, list[str]] = out["modules"]  # type: ignore[assignment]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if module is not None:
            if line == "}":
                module = None
            else:
                modules.setdefault(module, []).append(" ".join(line.split()))
            continue
        if match := _MODULE.match(line):
            module = match.group(2)
        elif line.startswith("source "):
            out["source"].append(line.split(None, 1)[1])  # type: ignore[union-attr]
        elif line.startswith("set RandomSeed "):
            out["RandomSeed"] = int(line.split()[2])
        else:
            raise CardError(f"Delphes card line {number}: unexpected {raw.strip()!r}")
    if module is not None:
        raise CardError(f"Delphes card: module {module} is not closed")
    return out


def check_delphes_card(text: str, *, stock_card: str, seed: int, invisible: Sequence[int]) -> None:
    """Raise :class:`CardError` unless the card sources the stock card, sets the seed and hides every id."""
    if "{{" in text or "{%" in text:
        raise CardError("Delphes card: unrendered template markup left in the card")
    if not text.isascii():
        raise CardError("Delphes card: non-ASCII text in the card")
    card = parse_delphes_card(text)
    if card["source"] != [stock_card]:
        raise CardError(f"Delphes card: sources {card['source']}, expected [{stock_card!r}]")
    if card["RandomSeed"] != seed:
        raise CardError(f"Delphes card: RandomSeed is {card['RandomSeed']}, expected {seed}")
    modules: dict[str, list[str]] = card["modules"]  # type: ignore[assignment]
    for pdg in invisible:
        for calo in ("ECal", "HCal"):
            if f"add EnergyFraction {{{pdg}}} {{0.0}}" not in modules.get(calo, []):
                raise CardError(f"Delphes card: {calo} does not make PDG {pdg} invisible")
        for signed in (pdg, -pdg):
            if f"add PdgCode {{{signed}}}" not in modules.get("NeutrinoFilter", []):
                raise CardError(f"Delphes card: NeutrinoFilter misses PDG {signed}")
