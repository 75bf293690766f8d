"""archcalc.rounding: channel rounding and the spatial-size rule, against hand-worked cases
and a float transcription of TF-slim's / torchvision's `_make_divisible`."""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archcalc import rounding
from archcalc.rounding import make_divisible, round_half_even, spatial_out, truncate

sys.path.insert(0, str(Path(__file__).resolve().parent))
# TF-slim's / torchvision's `_make_divisible`, verbatim in floats (the reference's copy)
from reference_mobilenet_v2 import _make_divisible as tf_slim_make_divisible  # noqa: E402


# (v, divisor, min_value, expected, the arithmetic)
MAKE_DIVISIBLE_CASES = [
    (32, 8, None, 32, "already a multiple"),
    (Fraction("44.8"), 8, None, 48, "32*1.4: 44.8/8 + 1/2 = 6.1 -> 6*8 = 48"),
    (Fraction("11.2"), 8, None, 16, "32*0.35: floor(1.9) = 1 -> 8; 8 < 0.9*11.2 = 10.08 -> 16"),
    (Fraction("5.6"), 8, None, 8, "16*0.35: floor(1.2) = 1 -> 8; 8 >= 5.04"),
    (12, 8, None, 16, "16*0.75: 12/8 + 1/2 = 2 -> 16 (half rounds up)"),
    (18, 8, None, 24, "24*0.75: floor(2.75) = 2 -> 16; 16 < 16.2 -> 24 (10% rule)"),
    (Fraction("19.9"), 8, None, 24, "floor(2.9875) = 2 -> 16; 16 < 17.91 -> 24 (10% rule)"),
    (Fraction("35.9"), 8, None, 40, "floor(4.9875) = 4 -> 32; 32 < 32.31 -> 40 (10% rule)"),
    (35, 8, None, 32, "floor(4.875) = 4 -> 32; 32 >= 31.5"),
    (44, 8, None, 48, "44/8 + 1/2 = 6 -> 48 (half up)"),
    (Fraction(44) - Fraction(1, 10**9), 8, None, 40, "just below the half: 5 -> 40 >= 39.6"),
    (Fraction(80, 9), 8, None, 8, "floor(1.61) = 1 -> 8; 0.9 * 80/9 = 8 exactly: not less -> 8"),
    (Fraction(80, 9) + Fraction(1, 10**12), 8, None, 16, "8 < 0.9*v now -> 16"),
    (Fraction(160, 9), 8, None, 16, "floor(2.72) = 2 -> 16 = 0.9 * 160/9 exactly -> 16"),
    (Fraction(160, 9) + Fraction(1, 10**12), 8, None, 24, "16 < 0.9*v -> 24"),
    (Fraction("99.9"), 8, None, 96, "floor(12.9875) = 12 -> 96 >= 89.91"),
    (100, 8, None, 104, "100/8 + 1/2 = 13 -> 104"),
    (3, 8, None, 8, "floor(0.875) = 0 -> max(8, 0) = 8"),
    (Fraction(1, 2), 8, None, 8, "min_value"),
    (Fraction("3.2"), 8, 32, 32, "32*0.1 with min_depth 32"),
    (128, 8, 32, 128, "1280*0.1"),
    (3, 8, 1, 9, "floor(0.875) = 0 -> max(1, 0) = 1; 1 < 2.7 -> 9"),
    (40, 16, None, 48, "40/16 + 1/2 = 3 -> 48"),
    (24, 16, 32, 32, "TF-slim testDivisibleBy: floor(2) = 2 -> 32"),
    (Fraction(15, 2), 1, None, 8, "divisor 1: floor(8) = 8"),
    (Fraction(1792), 8, None, 1792, "1280*1.4"),
]


@pytest.mark.parametrize("v, divisor, min_value, expected, why", MAKE_DIVISIBLE_CASES,
                         ids=[c[4] for c in MAKE_DIVISIBLE_CASES])
def test_make_divisible_table(v, divisor, min_value, expected, why):
    assert make_divisible(v, divisor, min_value) == expected
    assert type(make_divisible(v, divisor, min_value)) is int


def test_make_divisible_default_divisor_is_8():
    assert make_divisible(Fraction("11.2")) == 16
    assert make_divisible(12) == 16


def test_make_divisible_is_exact_on_decimal_products():
    # 0.35 as an exact decimal: 160 * 0.35 = 56 exactly (a float product may not be).
    assert make_divisible(160 * Fraction("0.35")) == 56
    assert make_divisible(1280 * Fraction("1.4")) == 1792


@pytest.mark.parametrize("c", list(range(8, 1281, 8)) + [3, 16, 24, 32, 96, 160, 320, 1280])
def test_make_divisible_matches_tf_slim_on_width_grid(c):
    for k in range(1, 301):       # alpha = 0.01 .. 3.00
        alpha = k / 100
        v = c * alpha             # what TF-slim / torchvision compute, in floats
        assert make_divisible(v, 8) == tf_slim_make_divisible(v, 8), (c, alpha)


def test_make_divisible_uses_the_exact_decimal_not_the_float_product():
    # archcalc takes a width's decimal text exactly (0.58 = 29/50): 200 * 0.58 = 116 = 8 * 14.5,
    # a half, which rounds up to 120. In floats 200 * 0.58 = 115.99999999999999 and the verbatim
    # TF-slim code gives 112 (112 >= 0.9 * 116, so the 10% rule does not step in).
    assert make_divisible(200 * Fraction("0.58")) == 120
    assert tf_slim_make_divisible(200 * 0.58, 8) == 112


@settings(max_examples=3000, deadline=None)
@given(v=st.floats(min_value=1e-3, max_value=1e5, allow_nan=False, allow_infinity=False),
       divisor=st.sampled_from([1, 2, 4, 8, 16, 32]),
       min_value=st.one_of(st.none(), st.integers(1, 64)))
def test_make_divisible_matches_tf_slim_on_floats(v, divisor, min_value):
    assert make_divisible(v, divisor, min_value) == tf_slim_make_divisible(v, divisor, min_value)


@settings(max_examples=1000, deadline=None)
@given(num=st.integers(1, 10**6), den=st.integers(1, 1000), divisor=st.sampled_from([4, 8, 16]))
def test_make_divisible_properties(num, den, divisor):
    v = Fraction(num, den)
    out = make_divisible(v, divisor)
    assert out % divisor == 0
    assert out >= divisor
    assert out >= Fraction(9, 10) * v          # never loses more than 10%
    # nearest (halves up) is within divisor/2 of v (or the minimum); the 10% bump adds one
    # divisor only to a value below 0.9 v: so out < v + divisor
    assert out < v + divisor
    nearest = max(divisor, (2 * v + divisor) // (2 * divisor) * divisor)
    assert out in (nearest, nearest + divisor)


# ---- truncate (TF-slim MobileNetV1 `depth`: max(int(d * multiplier), min_depth)) ---------------

@pytest.mark.parametrize("v, min_value, expected", [
    (Fraction(35, 2), 8, 17),        # 17.5 -> 17
    (Fraction(47, 2), 8, 23),
    (24, 8, 24),
    (Fraction("7.9"), 8, 8),         # below the floor
    (Fraction(1, 2), 1, 1),
    (Fraction("0.75") * 1024, 8, 768),
    (Fraction("0.35") * 64, 8, 22),  # 22.4
    (Fraction("0.35") * 32, 16, 16),
    (Fraction(999, 1000), 1, 1),
])
def test_truncate(v, min_value, expected):
    assert truncate(v, min_value) == expected


def test_truncate_default_minimum_is_8():
    assert truncate(Fraction(13, 2)) == 8
    assert truncate(Fraction(19, 2)) == 9


@pytest.mark.parametrize("v, expected", [
    (Fraction(5, 2), 2), (Fraction(7, 2), 4), (Fraction(25, 2), 12), (Fraction(27, 2), 14),
    (Fraction(51, 4), 13), (Fraction(49, 4), 12), (7, 7),
])
def test_round_half_even(v, expected):
    # Python's round(): torchvision's int(round(inp * t)) rounds halves to even.
    assert round_half_even(v) == expected


# ---- spatial_out ---------------------------------------------------------------------------------

@pytest.mark.parametrize("size, kernel, stride, padding, expected", [
    (224, 3, 2, "same", 112), (225, 3, 2, "same", 113), (7, 3, 1, "same", 7),
    (7, 1, 2, "same", 4), (13, 3, 2, "same", 7), (13, 5, 3, "same", 5), (1, 3, 2, "same", 1),
    (224, 3, 2, "valid", 111),   # floor(221/2) + 1
    (225, 3, 2, "valid", 112),   # floor(222/2) + 1
    (7, 3, 1, "valid", 5), (7, 7, 1, "valid", 1), (8, 2, 2, "valid", 4), (9, 2, 2, "valid", 4),
    (112, 3, 2, "valid", 55),    # floor(109/2) + 1
    (224, 3, 2, 1, 112),         # floor(223/2) + 1
    (225, 3, 2, 1, 113),         # floor(224/2) + 1
    (5, 3, 1, 0, 3), (6, 5, 3, 2, 2),   # floor((6+4-5)/3) + 1
    (224, 7, 2, 3, 112), (7, 3, 1, 1, 7), (10, 1, 1, 2, 14),
])
def test_spatial_out(size, kernel, stride, padding, expected):
    assert spatial_out(size, kernel, stride, padding) == expected


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_padding_one_3x3_equals_same(stride):
    # torchvision's padding (k-1)//2 = 1 for a 3x3 conv gives TF's "SAME" size ceil(h / s).
    for h in range(1, 300):
        assert spatial_out(h, 3, stride, 1) == spatial_out(h, 3, stride, "same") == -(-h // stride)


def test_rule_names():
    assert set(rounding.ROUNDING_RULES) == {"make_divisible", "truncate", "none"}
    assert set(rounding.PADDINGS) == {"same", "valid"}


# ---- the symbolic twins evaluate to the same integers ------------------------------------------------

@pytest.mark.parametrize("v, divisor, min_value, expected, why", MAKE_DIVISIBLE_CASES,
                         ids=[c[4] for c in MAKE_DIVISIBLE_CASES])
def test_symbolic_make_divisible_at_rationals(v, divisor, min_value, expected, why):
    import sympy

    from archcalc import symbolic
    f = Fraction(v)
    value = symbolic.make_divisible(sympy.Rational(f.numerator, f.denominator), divisor,
                                    divisor if min_value is None else min_value)
    assert value == expected


def test_symbolic_truncate_and_round_at_rationals():
    import sympy

    from archcalc import symbolic
    assert symbolic.truncate(sympy.Rational(35, 2), 8) == 17
    assert symbolic.truncate(sympy.Rational(3, 2), 8) == 8
    assert symbolic.round_half_even(sympy.Rational(5, 2)) == 2
    assert symbolic.round_half_even(sympy.Rational(7, 2)) == 4
