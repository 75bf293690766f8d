"""Channel rounding rules and the spatial-size rule: the one place each is defined.

Exact on integers and fractions (never floats), so a count never depends on binary
floating point. The symbolic twins live in archcalc.symbolic and call these.
"""
from __future__ import annotations

import math
from fractions import Fraction

Number = int | Fraction

ROUNDING_RULES = ("make_divisible", "truncate", "none")
EXPAND_RULES = ("round", "make_divisible")
PADDINGS = ("same", "valid")


def make_divisible(v: Number, divisor: int = 8, min_value: int | None = None) -> int:
    """Nearest multiple of `divisor` (halves up), at least `min_value`, plus one divisor if
    that lost more than 10% of v.

    From TF-slim's mobilenet.py `_make_divisible` (also torchvision models/_utils.py).
    """
    min_value = divisor if min_value is None else min_value
    new = max(min_value, math.floor(Fraction(v) / divisor + Fraction(1, 2)) * divisor)
    if new < Fraction(9, 10) * v:
        new += divisor
    return new


def truncate(v: Number, min_value: int = 8) -> int:
    """max(int(v), min_value): TF-slim's MobileNetV1 rule (mobilenet_v1.py `depth`)."""
    return max(math.floor(v), min_value)


def round_half_even(v: Number) -> int:
    """Python's round(), as torchvision's `int(round(inp * expand_ratio))` applies it."""
    return round(Fraction(v))


def spatial_out(size: int, kernel: int, stride: int, padding: str | int) -> int:
    """Output size of a window op: "same" -> ceil(in / s); "valid" -> floor((in - k) / s) + 1;
    an int p -> floor((in + 2p - k) / s) + 1 (PyTorch's Conv2d rule)."""
    if padding == "same":
        return -(-size // stride)
    pad = 0 if padding == "valid" else padding
    return (size + 2 * pad - kernel) // stride + 1


def pool_out(size: int, kernel: int, stride: int, padding: int | str, dilation: int = 1,
             ceil_mode: bool = False) -> int:
    """Output size of torch's max/avg pooling (torch/nn/modules/pooling.py, MaxPool2d's shape
    formula): floor or ceil((size + 2p - d(k - 1) - 1) / s) + 1; in ceil mode the last window
    is dropped when it would start in the right padding ((out - 1) * s >= size + p)."""
    pad = 0 if padding == "valid" else padding
    if not isinstance(pad, int):
        raise ValueError(f"pooling with ceil_mode or dilation needs an explicit padding, got {padding!r}")
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out
