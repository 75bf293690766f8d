"""Exact numbers from text, bounded: the one parser of decimal text (`0.75` -> 3/4).

Python's Fraction("1e100000000") builds a hundred-million-digit integer; int("9" * 5000)
raises past the interpreter's digit limit. Every number archcalc reads as text (command-line
options, --set values, budgets, CSV/YAML published points) goes through `parse_decimal`, which
refuses such text with one line before building anything (limits in archcalc.limits).
"""
from __future__ import annotations

import re
from fractions import Fraction

from .errors import OptionError
from .limits import MAX_EXPONENT, MAX_NUMBER_CHARS

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_RATIO = re.compile(r"[+-]?\d+/\d+")


def quote(text, limit: int | None = None) -> str:
    """repr(text), cut to `limit` characters (default MAX_QUOTED_CHARS) for error messages."""
    from .limits import MAX_QUOTED_CHARS
    limit = MAX_QUOTED_CHARS if limit is None else limit
    shown = repr(text)
    return shown if len(shown) <= limit else shown[:limit] + f"... ({len(shown):,} characters)"


def parse_decimal(text, what: str = "number", *, ratio: bool = False,
                  error: type[Exception] = OptionError) -> Fraction:
    """An exact Fraction from decimal text ("0.75", "1e-3", "224"; with `ratio`, "88/24").

    Refuses, with `error(one line)`, text longer than MAX_NUMBER_CHARS, exponents beyond
    +-MAX_EXPONENT, inf/nan and anything that is not a plain number."""
    if isinstance(text, Fraction):
        return text
    if isinstance(text, bool):
        raise error(f"{what}: expected a number, got {text!r}")
    if isinstance(text, int):
        return _bounded_int(text, what, error)
    if isinstance(text, float):
        text = repr(text)
    s = str(text).strip()
    if len(s) > MAX_NUMBER_CHARS:
        raise error(f"{what}: a number of at most {MAX_NUMBER_CHARS} characters is expected, "
                    f"got {len(s):,} characters")
    if ratio and _RATIO.fullmatch(s):
        num, den = s.split("/")
        if int(den) == 0:
            raise error(f"{what}: division by zero in {s!r}")
        return Fraction(int(num), int(den))
    if not _DECIMAL.fullmatch(s):
        raise error(f"{what}: expected a number, got {quote(s)}")
    mantissa, _, exponent = s.lower().partition("e")
    if exponent and abs(int(exponent)) > MAX_EXPONENT:
        raise error(f"{what}: exponent {exponent} is out of range (at most +-{MAX_EXPONENT})")
    return Fraction(s)


def _bounded_int(value: int, what: str, error) -> Fraction:
    if value.bit_length() > 4 * MAX_NUMBER_CHARS:       # ~10^48: far beyond any count
        raise error(f"{what}: number too large ({value.bit_length()} bits)")
    return Fraction(value)
