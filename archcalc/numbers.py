"""Exact numbers from text, bounded: the one parser of decimal text (`0.75` -> 3/4).

Python's Fraction("1e100000000") builds a hundred-million-digit integer; int("9" * 5000)
raises past the interpreter's digit limit. Every number archcalc reads as text (command-line
options, --set values, budgets, CSV/YAML published points) goes through `parse_decimal`, which
refuses such text with one line before building anything (limits in archcalc.limits).
"""
from __future__ import annotations

import re
import reprlib
from fractions import Fraction

from .errors import OptionError
from .limits import MAX_EXPONENT, MAX_NUMBER_CHARS

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_RATIO = re.compile(r"[+-]?\d+/\d+")


class _BoundedRepr(reprlib.Repr):
    """reprlib's bounded repr, taught archcalc's located YAML containers and huge integers,
    so that quoting a value never expands an alias bomb or converts a 5,000-digit int."""

    def __init__(self, limit: int):
        super().__init__()
        self.maxlevel, self.maxdict, self.maxlist, self.maxtuple = 3, 4, 6, 6
        self.maxset = self.maxfrozenset = 6
        self.maxstring = self.maxother = self.maxlong = max(limit, 12)

    def repr_int(self, x, level):
        if x.bit_length() > 3 * MAX_NUMBER_CHARS:
            return f"<an integer of about {int(x.bit_length() * 0.30103):,} digits>"
        return super().repr_int(x, level)

    def repr_Located(self, x, level):  # noqa: N802 (reprlib dispatches on the type's name)
        return self.repr_dict(x, level)

    def repr_LocatedList(self, x, level):  # noqa: N802
        return self.repr_list(x, level)

    def repr_Fraction(self, x, level):  # noqa: N802
        return self.repr_int(x.numerator, level) + (
            "" if x.denominator == 1 else "/" + self.repr_int(x.denominator, level))


def quote(text, limit: int | None = None) -> str:
    """A bounded repr of `text` (any value) for error messages: at most `limit` characters
    (default MAX_QUOTED_CHARS), then "... (N characters)" for long strings. Never expands a
    large structure: containers show their first items only."""
    from .limits import MAX_QUOTED_CHARS
    limit = MAX_QUOTED_CHARS if limit is None else limit
    if isinstance(text, str):
        shown = repr(text[:limit + 1])
        if len(text) <= limit and len(shown) <= limit:
            return shown
        return shown[:limit] + f"... ({len(text):,} characters)"
    try:
        shown = _BoundedRepr(limit).repr(text)
    except (ValueError, RecursionError):
        shown = f"<{type(text).__name__}>"
    return shown if len(shown) <= limit else shown[:limit] + "..."


def cut(text, limit: int | None = None) -> str:
    """A name shown in a message (an op path, a cell name): at most `limit` characters (default
    MAX_KEY_CHARS), keeping both ends, as a path's last parts say where it is."""
    from .limits import MAX_KEY_CHARS
    text, limit = str(text), MAX_KEY_CHARS if limit is None else limit
    if len(text) <= limit:
        return text
    head = limit // 3
    return f"{text[:head]}...{text[len(text) - (limit - head - 3):]}"


def parse_decimal(text, what: str | None = "number", *, ratio: bool = False,
                  error: type[Exception] = OptionError) -> Fraction:
    """An exact Fraction from decimal text ("0.75", "1e-3", "224"; with `ratio`, "88/24").

    Refuses, with `error(one line)` (prefixed "what: " unless `what` is None), text longer
    than MAX_NUMBER_CHARS, exponents beyond +-MAX_EXPONENT, inf/nan and anything that is
    not a plain number."""
    pre = f"{what}: " if what else ""
    if isinstance(text, Fraction):
        _bounded_int(text.numerator, pre, error)
        _bounded_int(text.denominator, pre, error)
        return text
    if isinstance(text, bool):
        raise error(f"{pre}expected a number, got {text!r}")
    if isinstance(text, int):
        return Fraction(_bounded_int(text, pre, error))
    if isinstance(text, float):
        text = repr(text)
    if not isinstance(text, str):
        raise error(f"{pre}expected a number, got {quote(text)}")
    s = text.strip()
    if len(s) > MAX_NUMBER_CHARS:
        raise error(f"{pre}a number of at most {MAX_NUMBER_CHARS} characters is expected, "
                    f"got {len(s):,} characters (limit MAX_NUMBER_CHARS)")
    if ratio and _RATIO.fullmatch(s):
        num, den = s.split("/")
        if int(den) == 0:
            raise error(f"{pre}division by zero in {s!r}")
        return Fraction(int(num), int(den))
    if not _DECIMAL.fullmatch(s):
        raise error(f"{pre}expected a number, got {quote(s)}")
    mantissa, _, exponent = s.lower().partition("e")
    if exponent and abs(int(exponent)) > MAX_EXPONENT:
        raise error(f"{pre}exponent {exponent} is out of range (at most +-{MAX_EXPONENT}, "
                    f"limit MAX_EXPONENT)")
    return Fraction(s)


def _bounded_int(value: int, pre: str, error) -> int:
    if value.bit_length() > 4 * MAX_NUMBER_CHARS:       # ~10^48: far beyond any count
        raise error(f"{pre}number too large ({value.bit_length():,} bits; at most "
                    f"{MAX_NUMBER_CHARS} digits, limit MAX_NUMBER_CHARS)")
    return value


# -- exact numbers out: the one number formatter ------------------------------------------------
# Counts are exact ints, widths and idealised (rounding: none) counts exact Fractions. Every
# renderer (report/, the design engine's text, the torch backend's, the dashboard) prints them
# with these functions; nothing else converts an exact number to text or to JSON.

def plain(x):
    """An exact number as JSON or a plot wants it: numpy scalars unwrapped, whole Fractions as
    ints, other Fractions as floats (the only lossy step, for display and JSON alone)."""
    if hasattr(x, "item") and not isinstance(x, (int, Fraction)):
        x = x.item()
    if isinstance(x, Fraction):
        return x.numerator if x.denominator == 1 else float(x)
    return x


def exact_python(x):
    """numpy scalars and Fractions as exact Python numbers: an int, or a Fraction when not whole."""
    if isinstance(x, Fraction):
        return x.numerator if x.denominator == 1 else x
    if hasattr(x, "item"):
        return x.item()
    return x


def decimal_text(x) -> str:
    """An exact decimal for a Fraction with a terminating expansion ("7/20" -> "0.35"), else
    the shortest float repr that round-trips; ints as ints."""
    if isinstance(x, int):
        return str(x)
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    d = x.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return repr(float(x))
    digits = max(twos, fives)
    scaled = x * 10**digits
    sign = "-" if scaled < 0 else ""
    n = abs(int(scaled))
    text = str(n).rjust(digits + 1, "0")
    return f"{sign}{text[:-digits]}.{text[-digits:]}".rstrip("0").rstrip(".")


def short_text(x) -> str:
    """0.75 as 0.75; 5/9 (or a long decimal) as 5/9: exact either way, at most ~8 characters
    where a decimal will do."""
    text = decimal_text(x)
    if "e" in text or len(text) > 8:
        x = Fraction(x)
        return f"{x.numerator}/{x.denominator}"
    return text


def approx(x, spec: str = "g") -> str:
    """format(x, spec) of an exact number, without float overflow: a count with 400 digits
    (or a Fraction of such) is formatted through Decimal instead of float."""
    try:
        return format(float(x), spec)
    except OverflowError:
        from decimal import Context, Decimal
        q = Fraction(x)
        value = Context(prec=28).divide(Decimal(q.numerator), Decimal(q.denominator))
        return format(value, spec.replace("g", "e") if spec.endswith("g") else spec)


def number_text(x) -> str:
    """A point's coordinate or a parameter's value: 0.75, 1, 224 (whole Fractions as ints)."""
    if isinstance(x, Fraction):
        return str(x.numerator) if x.denominator == 1 else approx(x, "g")
    return str(x)


def count_text(x) -> str:
    """12,345 for integers; an idealised (rounding: none) Fraction with its exact value."""
    if isinstance(x, Fraction) and x.denominator != 1:
        return f"{approx(x, ',.1f')} (= {x.numerator}/{x.denominator}, idealised)"
    return f"{int(x):,}"


def value_text(v) -> str:
    """A table cell of mixed values: ints with separators, Fractions as exact decimals,
    anything else as str()."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, Fraction):
        return decimal_text(v)
    return str(v)
