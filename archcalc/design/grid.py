"""Budgets from command-line text, and the grids of widths and resolutions (archcalc.cost.axes).

The grid parsers live with the Evaluator that consumes them (archcalc.cost.axes) and are
re-exported here, where the design commands have always imported them.
"""
from __future__ import annotations

from fractions import Fraction

from ..cost.axes import (axis_size, check_grid_size, parse_resolutions, parse_width_interval,  # noqa: F401
                         parse_widths)
from ..errors import OptionError
from ..numbers import decimal_text, parse_decimal, quote  # noqa: F401 (decimal_text: public name)

__all__ = ["axis_size", "check_grid_size", "decimal_text", "parse_budget", "parse_resolutions",
           "parse_width_interval", "parse_widths"]


# -- budgets ---------------------------------------------------------------------------------

_COUNT_SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_BYTE_SUFFIXES = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20,
                  "GIB": 2**30, "K": 10**3, "M": 10**6, "G": 10**9, "": 1}


def parse_budget(text: str, unit: str = "count") -> Fraction:
    """"150M" -> 150,000,000; "2.5M"; "500KB" -> 500,000 bytes; "512KiB" -> 524,288 bytes.
    Decimal prefixes (K = 10^3), as the report prints them; exact."""
    raw = str(text).strip().replace(",", "").replace("_", "")
    i = len(raw)
    while i > 0 and raw[i - 1].isalpha():
        i -= 1
    number, suffix = raw[:i].strip(), raw[i:].upper()
    table = _BYTE_SUFFIXES if unit == "bytes" else _COUNT_SUFFIXES
    if suffix not in table or not number:
        known = "K, M, G" + (", KB, MB, GB, KiB, MiB, GiB" if unit == "bytes" else "")
        raise OptionError(f"budget {quote(text)}: expected a number with an optional suffix ({known})")
    value = parse_decimal(number, f"budget {quote(text)}") * table[suffix]
    if value < 0:
        raise OptionError(f"budget {quote(text)} is negative")
    return value
