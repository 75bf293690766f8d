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
from ..limits import MAX_GRID_AXIS
from ..numbers import decimal_text, parse_decimal, quote


# -- grids from text -------------------------------------------------------------------------

def _fraction(text: str, what: str) -> Fraction:
    """Exact value of decimal text ("0.35", "1e-3") or a ratio ("5/9"), bounded."""
    return parse_decimal(text, what, ratio=True)


def _unique(values: list) -> list:
    return list(dict.fromkeys(values))


def parse_widths(text) -> list[Fraction]:
    """"0.75", "0.35,0.5,1", "0.25:1.5:0.05" (inclusive), or a mix: exact positive Fractions."""
    if isinstance(text, (list, tuple)):
        return _unique([w if isinstance(w, Fraction) else _fraction(str(w), "width") for w in text])
    out: list[Fraction] = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            raise OptionError(f"width: empty item in {quote(text)}")
        parts = item.split(":")
        if len(parts) == 1:
            out.append(_fraction(parts[0], "width"))
        elif len(parts) == 3:
            lo, hi, step = (_fraction(p, "width range") for p in parts)
            out.extend(_range(lo, hi, step, "width"))
        else:
            raise OptionError(f"width: expected A, A,B,... or LO:HI:STEP, got {quote(item)}")
        _check_axis(len(out), "width")
    for w in out:
        if w <= 0:
            raise OptionError(f"width must be positive, got {decimal_text(w)}")
    return _unique(out)


def parse_width_interval(text) -> tuple[Fraction, Fraction] | None:
    """"LO:HI" (two parts, no step): a continuous interval of widths; None for anything else."""
    parts = str(text).split(":")
    if len(parts) != 2 or "," in str(text):
        return None
    lo, hi = (_fraction(p, "width interval") for p in parts)
    if not 0 < lo <= hi:
        raise OptionError(f"width interval must satisfy 0 < LO <= HI, got {quote(text)}")
    return lo, hi


def parse_resolutions(text, base: int) -> list[int]:
    """"224", "96,128,160", "96:320:16" (inclusive) or multiples of the spec's own, "0.5x"."""
    from ..graph.point import parse_resolution
    if isinstance(text, (list, tuple)):
        return _unique([parse_resolution(v, base) for v in text])
    out: list[int] = []
    for item in str(text).split(","):
        item = item.strip()
        parts = item.split(":")
        if len(parts) == 1:
            out.append(parse_resolution(item, base))
        elif len(parts) == 3:
            lo, hi, step = (_fraction(p, "resolution range") for p in parts)
            if any(v.denominator != 1 for v in (lo, hi, step)):
                raise OptionError(f"resolution range needs whole numbers, got {quote(item)}")
            values = _range(lo, hi, step, "resolution")
            out.extend(parse_resolution(int(v), base) for v in values)
        else:
            raise OptionError(f"resolution: expected R, R1,R2,... or LO:HI:STEP, got {quote(item)}")
        _check_axis(len(out), "resolution")
    return _unique(out)


def _range(lo: Fraction, hi: Fraction, step: Fraction, what: str) -> list[Fraction]:
    if step <= 0:
        raise OptionError(f"{what} range step must be positive, got {decimal_text(step)}")
    if hi < lo:
        raise OptionError(f"{what} range is empty: {decimal_text(lo)} > {decimal_text(hi)}")
    count = int((hi - lo) // step) + 1
    _check_axis(count, f"{what} range")
    return [lo + k * step for k in range(count)]


def axis_size(text) -> int:
    """How many values a grid text ("0.25:1.5:0.05", "96,128", ...) names, counted without
    building them (duplicates included): the size check before a sweep materialises a grid."""
    if isinstance(text, (list, tuple)):
        return len(text)
    count = 0
    for item in str(text).split(","):
        parts = item.strip().split(":")
        if len(parts) == 3:
            lo, hi, step = (_fraction(p, "range") for p in parts)
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


def _check_axis(count: int, what: str) -> None:
    if count > MAX_GRID_AXIS:
        raise OptionError(f"{what} has {count:,} values (limit MAX_GRID_AXIS = {MAX_GRID_AXIS:,}): "
                          f"use a larger step")


# -- coercion of a request ------------------------------------------------------------------

def width_value(w) -> Fraction:
    """One width as an exact positive Fraction."""
    if isinstance(w, Fraction):
        if w <= 0:
            raise OptionError(f"width must be positive, got {w}")
        return w
    from ..graph.point import parse_width
    return parse_width(w)


def width_values(widths) -> list[Fraction]:
    """Distinct widths, in order: a grid text or a list of widths."""
    if isinstance(widths, str):
        return parse_widths(widths)
    return list(dict.fromkeys(width_value(w) for w in widths))


def resolution_values(resolutions, base: int, unique: bool = True) -> list[int]:
    """Resolutions as ints (distinct unless `unique` is False): a grid text or a list; `base`
    is the spec's own resolution (for multipliers such as 0.5x)."""
    from ..graph.point import parse_resolution
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
