"""Widths and resolutions as exact values: grids from text and the Evaluator's input coercion.

Widths are exact Fractions built from their decimal text ("0.35" is 7/20, never the binary
float 0.34999...), so a grid point is exactly the width `archcalc report --width 0.35` uses;
a resolution is a whole number of pixels (square: closed forms have one resolution symbol r).
Ranges are inclusive of their end when a step lands on it: "0.25:1.5:0.05" has 26 widths.
Every number goes through archcalc.numbers.parse_decimal (bounded length and exponent), and
an axis holds at most limits.MAX_GRID_AXIS values.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..errors import OptionError
from ..graph.point import (parse_resolution, parse_resolution_grid, parse_width,
                           parse_width_grid, parse_width_interval)
from ..numbers import parse_decimal


# -- grids from text -------------------------------------------------------------------------
# One parser of width and resolution text (archcalc/graph/point.py); the names the design
# layer and the Evaluator use for it:
parse_widths = parse_width_grid
parse_resolutions = parse_resolution_grid
__all__ = ["parse_widths", "parse_resolutions", "parse_width_interval", "axis_size",
           "check_grid_size", "width_value", "width_values", "resolution_values",
           "distinct_index"]


def axis_size(text) -> int:
    """How many values a grid text ("0.25:1.5:0.05", "96,128", ...) names, counted without
    building them (duplicates included): the size check before a sweep materialises a grid."""
    if isinstance(text, (list, tuple)):
        return len(text)
    count = 0
    for item in str(text).split(","):
        parts = item.strip().split(":")
        if len(parts) == 3:
            lo, hi, step = (parse_decimal(p, "range", ratio=True) for p in parts)
            if step > 0 and hi >= lo:
                count += int((hi - lo) // step) + 1
        else:
            count += 1
    return count


def check_grid_size(widths, resolutions, streamed: bool = True) -> None:
    """Refuse a grid of more than limits.MAX_SWEEP_POINTS points (a streamed sweep) or
    MAX_GRID_POINTS (a grid held in memory: fit, frontier): each axis may be within its own
    limit while the product is not. The message says how to sweep a larger grid in chunks."""
    from ..limits import MAX_GRID_POINTS, MAX_SWEEP_POINTS
    limit, name = (MAX_SWEEP_POINTS, "MAX_SWEEP_POINTS") if streamed else \
        (MAX_GRID_POINTS, "MAX_GRID_POINTS")
    n_w, n_r = axis_size(widths), axis_size(resolutions)
    if n_w * n_r > limit:
        per_chunk = max(1, limit // max(n_r, 1))
        advice = (f"sweep it in chunks of at most {per_chunk:,} widths (--width LO:MID:STEP, then "
                  f"the next range, each with its own --out file)" if streamed
                  else "use larger steps")
        raise OptionError(f"the grid has {n_w * n_r:,} points ({n_w:,} widths x {n_r:,} "
                          f"resolutions; limit {name} = {limit:,}): {advice}")


# -- coercion of a request ------------------------------------------------------------------

def width_value(w) -> Fraction:
    """One width as an exact positive Fraction."""
    if isinstance(w, Fraction):
        if w <= 0:
            raise OptionError(f"width must be positive, got {w}")
        return w
    return parse_width(w)


def width_values(widths) -> list[Fraction]:
    """Distinct widths, in order: a grid text or a list of widths."""
    if isinstance(widths, str):
        return parse_widths(widths)
    return list(dict.fromkeys(width_value(w) for w in widths))


def resolution_values(resolutions, base: int, unique: bool = True) -> list[int]:
    """Resolutions as ints (distinct unless `unique` is False): a grid text or a list; `base`
    is the spec's own resolution (for multipliers such as 0.5x)."""
    if isinstance(resolutions, str):
        return parse_resolutions(resolutions, base)
    out = [r if isinstance(r, int) and not isinstance(r, bool) and r > 0
           else parse_resolution(r, base) for r in resolutions]
    return list(dict.fromkeys(out)) if unique else out


def distinct_index(values, convert) -> tuple[list, Any]:
    """(distinct converted values, index array into them), converting each raw value once."""
    import numpy as np
    seen: dict = {}
    distinct: list = []
    pos: dict = {}

    def lookup(v):
        i = seen.get(id(v))      # by identity first: hashing a Fraction is slow; `values`
        if i is None:            # keeps every object alive, so ids are not reused meanwhile
            c = convert(v)
            i = pos.get(c)
            if i is None:
                i = pos[c] = len(distinct)
                distinct.append(c)
            seen[id(v)] = i
        return i
    values = list(values)
    return distinct, np.fromiter((lookup(v) for v in values), dtype=np.intp, count=len(values))
