"""Shared rendering machinery: the Jinja environment, number formatting, template versions."""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

from darkscan.errors import CardError

__all__ = ["TEMPLATE_VERSIONS", "environment", "format_number", "render_template"]

#: Bumped whenever a template's output changes; recorded in every ``sample.json``.
TEMPLATE_VERSIONS: dict[str, int] = {
    "mg5_script": 2,
    "mssm_slha2": 3,
    "pythia8_card": 1,
    "delphes_card": 1,
}


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja environment: templates from package data, any undefined name is an error."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("darkscan.cards", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - physics cards, not HTML
    )


def render_template(name: str, **context: object) -> str:
    """Render package template ``name``; a missing variable is a :class:`CardError`."""
    import jinja2

    try:
        return environment().get_template(name).render(**context)
    except jinja2.UndefinedError as exc:
        raise CardError(f"template {name}: {exc.message}") from None


def format_number(value: float) -> str:
    """A card number: MG5's own ``%e`` style, with enough digits that no typed value is rounded."""
    if not math.isfinite(value):
        raise CardError(f"cannot write the non-finite number {value!r} into a card")
    text = f"{value:.6e}"
    if float(text) != float(value):
        text = repr(float(value))
    return text
