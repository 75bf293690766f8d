"""Symbols and exact symbolic forms of the rounding rules (imported only for closed forms).

`make_divisible`, `truncate` and `round_half_even` are sympy functions that stay
unevaluated for symbolic arguments (so closed forms read like the papers' code) and
evaluate, through archcalc.rounding, to exact integers at any rational point.
"""
from __future__ import annotations

from fractions import Fraction

import sympy

from . import rounding

alpha = sympy.Symbol("alpha", positive=True)
r = sympy.Symbol("r", positive=True, integer=True)


def _fraction(x: sympy.Rational) -> Fraction:
    return Fraction(int(x.p), int(x.q))


class make_divisible(sympy.Function):  # noqa: N801 (prints as the papers' code names it)
    """make_divisible(v, divisor, min_value); see archcalc.rounding.make_divisible."""
    is_integer = True
    is_positive = True

    @classmethod
    def eval(cls, v, divisor, min_value):
        if v.is_Rational:
            return sympy.Integer(rounding.make_divisible(_fraction(v), int(divisor), int(min_value)))
        return None


class truncate(sympy.Function):  # noqa: N801
    """truncate(v, min_value) = max(int(v), min_value); see archcalc.rounding.truncate."""
    is_integer = True
    is_positive = True

    @classmethod
    def eval(cls, v, min_value):
        if v.is_Rational:
            return sympy.Integer(rounding.truncate(_fraction(v), int(min_value)))
        return None


class round_half_even(sympy.Function):  # noqa: N801
    """Python's round(v); identity on integers."""
    is_integer = True

    @classmethod
    def eval(cls, v):
        if v.is_integer:
            return v
        if v.is_Rational:
            return sympy.Integer(rounding.round_half_even(_fraction(v)))
        return None


def spatial_out(size, kernel: int, stride: int, padding, dilation: int = 1,
                ceil_mode: bool = False):
    """Symbolic twin of archcalc.rounding.spatial_out."""
    if ceil_mode and padding != "same":
        pad = 0 if padding == "valid" else padding
        span = dilation * (kernel - 1) + 1
        # torch drops the last window when it would start in the right padding; the windows
        # kept are the starts j s <= min(in + 2p - K + s - 1, in + p - 1): which bound is the
        # smaller depends on s, K and p only (at most one window is dropped for p <= K / 2)
        if stride > span - pad:
            return sympy.floor((size + pad - 1) / sympy.Integer(stride)) + 1
        return sympy.ceiling((size + 2 * pad - span) / sympy.Integer(stride)) + 1
    kernel = dilation * (kernel - 1) + 1
    if padding == "same":
        if stride == 1:
            return size
        if isinstance(size, sympy.ceiling):   # ceil(ceil(x) / s) == ceil(x / s) for integer s
            return sympy.ceiling(size.args[0] / stride)
        return sympy.ceiling(size / stride)
    pad = 0 if padding == "valid" else padding
    if stride == 1:
        return size + 2 * pad - kernel + 1
    return sympy.floor((size + 2 * pad - kernel) / sympy.Integer(stride)) + 1


def to_python(x):
    """A sympy number as an exact Python int (or Fraction when not integral)."""
    if isinstance(x, (int, Fraction)):
        return x
    if x.is_Integer:
        return int(x)
    if x.is_Rational:
        return Fraction(int(x.p), int(x.q))
    raise ValueError(f"expression did not evaluate to a number: {x}")
