"""The point a network is compiled at: a width multiplier and an input size, from options;
and the one parser of width text in its three meanings (the commands' flags say which):

* a point, `--width A` (report, compare's SPEC@A, verify, bench): `parse_width`;
* an interval, `--width-range LO:HI` (fit, formula): `parse_width_interval`;
* a grid, `--widths A,B,LO:HI:STEP` (sweep, fit, frontier): `parse_width_grid`;

and of resolution text: a point `--resolution R` (`parse_input_size`, `parse_resolution`)
and a grid `--resolutions R1,R2,LO:HI:STEP` (`parse_resolution_grid`).

Numbers go through the one bounded parser (archcalc.numbers.parse_decimal), so
`--width 1e100000000` is refused before any big number is built; MAX_WIDTH and
MAX_RESOLUTION bound the point itself, MAX_GRID_AXIS the values of one grid axis. An input size is a side r (an r x r input), `HxW`
(e.g. 224x320, H rows by W columns: non-square inputs) or a multiplier `0.5x` of the
spec's own size (square or not). Closed forms are in one resolution symbol r, so the
commands built on them take square sizes only (`parse_resolution`); a point compile takes
any (`parse_input_size`).
"""
from __future__ import annotations

import re
from fractions import Fraction

from ..errors import OptionError
from ..limits import MAX_GRID_AXIS, MAX_RESOLUTION, MAX_WIDTH
from ..numbers import decimal_text, parse_decimal, quote
from ..spec.schema import InputSize, input_size, sides

_HXW = re.compile(r"\s*([^xX\s]+)\s*[xX]\s*([^xX\s]+)\s*")


def parse_width(width) -> Fraction:
    """An exact width multiplier from a number or its decimal text ("0.75" -> 3/4)."""
    if isinstance(width, bool) or not isinstance(width, (str, int, float, Fraction)):
        raise OptionError(f"width must be a number, got {quote(width)}")
    try:
        value = parse_decimal(width, "width", ratio=True)
    except OptionError as err:
        if "expected a number" in str(err):
            raise OptionError(f"width must be a number, got {quote(width)}") from None
        raise
    shown = str(width).strip()          # at most MAX_NUMBER_CHARS: parse_decimal checked it
    if value <= 0:
        raise OptionError(f"width must be positive, got {shown}")
    if value > MAX_WIDTH:
        raise OptionError(f"width {shown} is above the limit {MAX_WIDTH} (MAX_WIDTH)")
    return value


def parse_width_interval(text) -> tuple[Fraction, Fraction] | None:
    """"LO:HI" (two parts, no step): a continuous interval of widths; None for anything else."""
    parts = str(text).split(":")
    if len(parts) != 2 or "," in str(text):
        return None
    lo, hi = (parse_decimal(p, "width interval", ratio=True) for p in parts)
    if not 0 < lo <= hi:
        raise OptionError(f"width interval must satisfy 0 < LO <= HI, got {quote(text)}")
    return lo, hi


def parse_width_grid(text) -> list[Fraction]:
    """"0.75", "0.35,0.5,1", "0.25:1.5:0.05" (inclusive of HI where a step lands on it) or a
    mix, or a list of numbers: exact positive Fractions, first occurrences in order."""
    if isinstance(text, (list, tuple)):
        return list(dict.fromkeys(w if isinstance(w, Fraction) else
                                  parse_decimal(str(w), "width", ratio=True) for w in text))
    out: list[Fraction] = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            raise OptionError(f"width: empty item in {quote(text)}")
        parts = item.split(":")
        if len(parts) == 1:
            out.append(parse_decimal(parts[0], "width", ratio=True))
        elif len(parts) == 3:
            lo, hi, step = (parse_decimal(p, "width range", ratio=True) for p in parts)
            out.extend(grid_range(lo, hi, step, "width"))
        else:
            raise OptionError(f"width: expected A, A,B,... or LO:HI:STEP, got {quote(item)}")
        check_axis(len(out), "width")
    for w in out:
        if w <= 0:
            raise OptionError(f"width must be positive, got {decimal_text(w)}")
    return list(dict.fromkeys(out))


def grid_range(lo: Fraction, hi: Fraction, step: Fraction, what: str) -> list[Fraction]:
    """lo, lo + step, ... up to hi inclusive (`LO:HI:STEP` of a grid axis), exact."""
    if step <= 0:
        raise OptionError(f"{what} range step must be positive, got {decimal_text(step)}")
    if hi < lo:
        raise OptionError(f"{what} range is empty: {decimal_text(lo)} > {decimal_text(hi)}")
    count = int((hi - lo) // step) + 1
    check_axis(count, f"{what} range")
    return [lo + k * step for k in range(count)]


def check_axis(count: int, what: str) -> None:
    """Refuse a grid axis of more than MAX_GRID_AXIS values."""
    if count > MAX_GRID_AXIS:
        raise OptionError(f"{what} has {count:,} values (limit MAX_GRID_AXIS = {MAX_GRID_AXIS:,}): "
                          f"use a larger step")


_USAGE = "resolution must be a size such as 160, 224x320 or a multiplier such as 0.5x, got "


def _number(text, ratio: bool = False, shown=None) -> Fraction:
    try:
        return parse_decimal(text, "resolution", ratio=ratio)
    except OptionError as err:
        if "expected a number" in str(err):
            raise OptionError(_USAGE + quote(text if shown is None else shown)) from None
        raise


def _side(text) -> int:
    value = _number(text)
    if value.denominator != 1 or value <= 0:
        raise OptionError(f"resolution must be a positive whole number of pixels, got {quote(text)}")
    if value > MAX_RESOLUTION:
        raise OptionError(f"resolution {quote(text)} is above the limit {MAX_RESOLUTION:,} "
                          f"(MAX_RESOLUTION)")
    return int(value)


def parse_input_size(resolution, base):
    """An input size: 160 (160x160), "224x320" (H x W) or a multiplier of `base` (the spec's
    size) such as "0.5x". Square sizes are an int, others an InputSize (H, W)."""
    if isinstance(resolution, tuple) and len(resolution) == 2:
        return input_size(_side(resolution[0]), _side(resolution[1]))
    if isinstance(resolution, bool) or not isinstance(resolution, (str, int, float, Fraction)):
        raise OptionError(_USAGE + quote(resolution))
    text = str(resolution).strip()
    if text[-1:] in ("x", "X"):
        factor = _number(text[:-1], ratio=True, shown=text)
        if factor <= 0:
            raise OptionError(f"resolution multiplier must be positive, got {quote(text)}")
        out = []
        for side in sides(base):
            value = factor * side
            if value.denominator != 1:
                raise OptionError(f"resolution multiplier {text} of {base} is not a whole size "
                                  f"({float(value):g})")
            out.append(_side(int(value)))
        return input_size(*out)
    match = _HXW.fullmatch(text)
    if match:
        return input_size(_side(match.group(1)), _side(match.group(2)))
    return _side(resolution)


def parse_resolution(resolution, base) -> int:
    """A square input side, as closed forms in r need: `parse_input_size`, refusing HxW."""
    size = parse_input_size(resolution, base)
    if isinstance(size, InputSize):
        raise OptionError(f"resolution {size} is not square: closed forms (and the commands "
                          f"built on them) use one side r; report, compare and verify take HxW")
    return size


def parse_resolution_grid(text, base) -> list[int]:
    """"224", "96,128,160", "96:320:16" (inclusive) or multiples of the spec's own ("0.5x"),
    or a list: square sides, first occurrences in order."""
    if isinstance(text, (list, tuple)):
        return list(dict.fromkeys(parse_resolution(v, base) for v in text))
    out: list[int] = []
    for item in str(text).split(","):
        item = item.strip()
        parts = item.split(":")
        if len(parts) == 1:
            out.append(parse_resolution(item, base))
        elif len(parts) == 3:
            lo, hi, step = (parse_decimal(p, "resolution range", ratio=True) for p in parts)
            if any(v.denominator != 1 for v in (lo, hi, step)):
                raise OptionError(f"resolution range needs whole numbers, got {quote(item)}")
            out.extend(parse_resolution(int(v), base)
                       for v in grid_range(lo, hi, step, "resolution"))
        else:
            raise OptionError(f"resolution: expected R, R1,R2,... or LO:HI:STEP, got {quote(item)}")
        check_axis(len(out), "resolution")
    return list(dict.fromkeys(out))
