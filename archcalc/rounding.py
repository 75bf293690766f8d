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
    if not isinstance(v, (int, Fraction)):
        v = Fraction(v)
    return _make_divisible_pq(v.numerator, v.denominator, divisor, min_value)


def make_divisible_scaled(num: int, den: int, x: Number, divisor: int, min_value: int) -> int:
    """make_divisible(num / den * x, divisor, min_value) for an int or Fraction x and den > 0,
    in integers: no Fraction is built (generated code calls it for `make_divisible(16*alpha)`,
    archcalc.cost.codegen). The rule is invariant under scaling p and q together, so p / q
    need not be in lowest terms."""
    return _make_divisible_pq(num * x.numerator, den * x.denominator, divisor, min_value)


def _make_divisible_pq(p: int, q: int, divisor: int, min_value: int) -> int:
    """make_divisible of v = p / q (q > 0): floor(v/d + 1/2) = (2p + dq) // 2dq."""
    new = max(min_value, (2 * p + divisor * q) // (2 * divisor * q) * divisor)
    if 10 * new * q < 9 * p:               # new < 9/10 v
        new += divisor
    return new


def truncate(v: Number, min_value: int = 8) -> int:
    """max(int(v), min_value): TF-slim's MobileNetV1 rule (mobilenet_v1.py `depth`)."""
    return max(math.floor(v), min_value)


def round_half_even(v: Number) -> int:
    """Python's round(), as torchvision's `int(round(inp * expand_ratio))` applies it."""
    return round(Fraction(v))


def spatial_out(size: int, kernel: int, stride: int, padding: str | int, dilation: int = 1,
                ceil_mode: bool = False) -> int:
    """Output size of a window op: "same" -> ceil(in / s); "valid" -> floor((in - K) / s) + 1;
    an int p -> floor((in + 2p - K) / s) + 1 (PyTorch's Conv2d rule), where K = d (k - 1) + 1
    is the span of a kernel dilated by d. ceil_mode (PyTorch's pooling): ceil instead of
    floor, less one where the last window would start in the right padding
    ((out - 1) s >= in + p)."""
    if padding == "same":
        return -(-size // stride)
    pad = 0 if padding == "valid" else padding
    span = dilation * (kernel - 1) + 1
    if not ceil_mode:
        return (size + 2 * pad - span) // stride + 1
    out = -(-(size + 2 * pad - span) // stride) + 1
    if (out - 1) * stride >= size + pad:
        out -= 1
    return out

