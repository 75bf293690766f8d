"""The width multiplier: how alpha turns a row's c (and t) into channel counts.

The one place channel rounding is applied (MobileNetV1 Sec. 4.2 width multiplier; rounding
rules of TF-slim and torchvision, see archcalc.rounding). Works over either domain: exact
numbers at a point, or sympy expressions in alpha.
"""
from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

from .. import rounding
from ..spec.schema import WidthRule, sides


class ConcreteDomain:
    """Exact arithmetic at one (alpha, r) point: ints and Fractions, no sympy. The input is
    h x w (r x r, or a non-square InputSize)."""
    symbolic = False
    exact_widths = True      # channel counts are numbers: structure is decided on them

    def __init__(self, width: Fraction, resolution):
        self.alpha, self.r = width, resolution      # r: an int side, or an InputSize (H, W)
        self.h, self.w = sides(resolution)

    @staticmethod
    def make_divisible(v, divisor, min_value):
        return rounding.make_divisible(v, divisor, min_value)

    @staticmethod
    def truncate(v, min_value):
        return rounding.truncate(v, min_value)

    @staticmethod
    def round(v):
        return rounding.round_half_even(v)

    @staticmethod
    def at_least_one(alpha):
        return max(Fraction(1), alpha)

    @staticmethod
    def floor(v):
        return v if isinstance(v, int) else math.floor(v)

    @staticmethod
    def max(a, b):
        return max(a, b)

    @staticmethod
    def clean(v):
        return int(v) if isinstance(v, Fraction) and v.denominator == 1 else v


class SymbolicDomain:
    """Closed forms: sympy expressions in alpha and r (one compile answers every point), or,
    given `alpha`, in r alone with exact channel counts at that width."""
    symbolic = True

    def __init__(self, alpha: Fraction | None = None):
        import sympy

        from .. import symbolic
        self._sym = symbolic
        self.r = symbolic.r
        self.h = self.w = symbolic.r                # closed forms: square r x r inputs
        if alpha is None:
            self.alpha, self.exact_widths = symbolic.alpha, False
        else:
            self.alpha = sympy.Rational(alpha.numerator, alpha.denominator)
            self.exact_widths = True

    def make_divisible(self, v, divisor, min_value):
        return self._sym.make_divisible(v, divisor, min_value)

    def truncate(self, v, min_value):
        return self._sym.truncate(v, min_value)

    def round(self, v):
        return self._sym.round_half_even(v)

    def at_least_one(self, alpha):
        import sympy
        return sympy.Max(1, alpha)

    @staticmethod
    def floor(v):
        import sympy
        return sympy.floor(v)

    @staticmethod
    def max(a, b):
        import sympy
        return sympy.Max(a, b)

    @staticmethod
    def clean(v):
        return v


def _round(v, rule: WidthRule, domain):
    if rule.rounding == "make_divisible":
        return domain.make_divisible(v, rule.divisor, rule.minimum)
    if rule.rounding == "truncate":
        return domain.truncate(v, rule.minimum)
    return domain.clean(v)


def scaled_channels(c: int, scale: str, rule: WidthRule, domain, divisor: int | None = None):
    """c under the width multiplier: scale "all" -> alpha * c, "up" -> max(1, alpha) * c
    (MobileNetV2's last conv), "none" -> c (the classifier); then the spec's rounding rule,
    with the row's own divisor if it has one."""
    if scale == "none":
        return c
    if divisor is not None:
        rule = replace(rule, divisor=divisor)
    factor = domain.alpha if scale == "all" else domain.at_least_one(domain.alpha)
    return _round(c * factor, rule, domain)


def expanded_channels(c_in, t, rule: WidthRule, domain):
    """Inner width of an inverted residual, t * c_in of the actual (rounded) input width:
    round(t * c_in) (torchvision) or make_divisible(t * c_in) (TF-slim expand_input_by_factor)."""
    v = t * c_in
    if rule.rounding == "none":
        return domain.clean(v)
    if rule.expand == "round":
        return domain.round(v)
    return domain.make_divisible(v, rule.divisor, rule.minimum)


def squeeze_channels(c, ratio, rounding: str, rule: WidthRule, domain):
    """Squeeze-and-excitation width from the (actual) width c it squeezes:
    make_divisible(floor(ratio * c)) (torchvision MobileNetV3 `_make_divisible(expanded // 4, 8)`;
    TF-slim divides exactly, the same whenever ratio * c is whole) or max(1, floor(ratio * c))
    (torchvision EfficientNet `max(1, input_channels // 4)`)."""
    v = ratio * c
    if rule.rounding == "none":
        return domain.clean(v)
    if rounding == "floor":
        return domain.max(1, domain.floor(v))
    return domain.make_divisible(domain.floor(v), rule.divisor, rule.minimum)
