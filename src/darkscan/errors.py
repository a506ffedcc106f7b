"""One error hierarchy for darkscan.

Every error a user can cause derives from :class:`DarkscanError`; the CLI prints its message as one
line per problem and exits with :attr:`DarkscanError.exit_code`, with no traceback. Subclasses also
inherit the builtin they refine, so library callers can catch ``ValueError`` or ``FileNotFoundError``
as usual.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "CardError",
    "DarkscanError",
    "ExternalProgramError",
    "InputFileError",
    "InputFileWarning",
    "StudyError",
    "closest",
    "did_you_mean",
]


class DarkscanError(Exception):
    """Base of every error darkscan reports to a user.

    ``problems`` holds one line per problem (a study file can have several); ``str()`` joins them.
    """

    exit_code = 1

    def __init__(self, *problems: str) -> None:
        if not problems:
            raise TypeError("DarkscanError needs at least one message")
        self.problems: tuple[str, ...] = problems
        super().__init__("\n".join(problems))

    def __str__(self) -> str:
        return "\n".join(self.problems)


class StudyError(DarkscanError, ValueError):
    """A study file is missing, unreadable, or does not validate."""

    exit_code = 2


class CardError(DarkscanError, ValueError):
    """A card could not be rendered, or the rendered card does not say what was asked."""

    exit_code = 2


class InputFileError(DarkscanError, ValueError):
    """An input file (LHE, HepMC, ROOT, Parquet, HDF5) is missing, truncated or malformed."""

    exit_code = 2


class InputFileWarning(UserWarning):
    """An input file is readable but something in it is inconsistent (the events themselves are intact)."""


class ExternalProgramError(DarkscanError, RuntimeError):
    """An external program (MadGraph, Delphes, a container runtime, sbatch) failed."""

    exit_code = 1


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most similar to ``word``, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` for the closest choice, else the list of allowed values."""
    choices = sorted(choices)
    match = closest(word, choices)
    if match is not None:
        return f"did you mean {match!r}?"
    shown = ", ".join(repr(c) for c in choices[:12])
    more = f", … ({len(choices)} in all)" if len(choices) > 12 else ""
    return f"allowed: {shown}{more}"
