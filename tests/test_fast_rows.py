"""The fast path of archcalc.evaluate at a new point (issue 14): the rows of a table at a
point are a LazyRows (LayerCost objects built on first access) and channel counts
make_divisible(k * alpha) are computed in integers (archcalc.rounding.make_divisible_scaled).
Checked against TF-slim's float `_make_divisible` (tests/reference_mobilenet_v2.py, on points
where floats are exact), hand-derived values, and a fresh compile, field by field."""
from __future__ import annotations

import copy
import pickle
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archcalc
from archcalc import api
from archcalc.cost import analyze
from archcalc.cost.rows import LazyRows
from archcalc.graph import compile_graph
from archcalc.rounding import make_divisible, make_divisible_scaled

from reference_mobilenet_v2 import _make_divisible as tf_slim_make_divisible

SPECS = Path(__file__).resolve().parent.parent / "specs"


def test_make_divisible_scaled_by_hand():
    # 32 * 0.35 = 11.2: nearest multiple of 8 is 8, below 0.9 * 11.2 = 10.08, so 16
    assert make_divisible_scaled(32, 1, Fraction(7, 20), 8, 8) == 16
    # 160 * 0.35 = 56 exactly: 56 (a float product 55.99999... would also round to 56)
    assert make_divisible_scaled(160, 1, Fraction(7, 20), 8, 8) == 56
    # 200 * 0.58 = 116 = 8 * 14.5: halves go up, 120
    assert make_divisible_scaled(200, 1, Fraction(29, 50), 8, 8) == 120
    # 16 * 0.25 = 4: the minimum 8
    assert make_divisible_scaled(16, 1, Fraction(1, 4), 8, 8) == 8
    # an int x and a rational coefficient: 3/2 * 64 = 96
    assert make_divisible_scaled(3, 2, 64, 8, 8) == 96


@pytest.mark.parametrize("c", [16, 24, 32, 64, 96, 160, 320, 1280])
def test_make_divisible_scaled_matches_tf_slim_on_dyadic_widths(c):
    for k in range(1, 257):          # alpha = k / 64: c * alpha is exact in binary floats
        alpha = Fraction(k, 64)
        assert make_divisible_scaled(c, 1, alpha, 8, 8) == \
            tf_slim_make_divisible(c * k / 64, 8, 8), (c, alpha)


@settings(max_examples=2000, deadline=None)
@given(num=st.integers(1, 10**5), den=st.integers(1, 100), xn=st.integers(1, 10**4),
       xd=st.integers(1, 10**4), divisor=st.sampled_from([1, 4, 8, 16]),
       min_value=st.integers(1, 64))
def test_make_divisible_scaled_is_make_divisible_of_the_product(num, den, xn, xd, divisor,
                                                               min_value):
    x = Fraction(xn, xd)
    assert make_divisible_scaled(num, den, x, divisor, min_value) == \
        make_divisible(Fraction(num, den) * x, divisor, min_value)


def _cached(spec, w, r, convention="paper"):
    api.clear_cache()
    for i in range(api.FORMS_AFTER):
        archcalc.evaluate(spec, Fraction(1, 2) + Fraction(i, 1000), 160, convention=convention)
    assert api.cache_info()["with_forms"] == 1
    return archcalc.evaluate(spec, w, r, convention=convention)


def test_lazy_rows_behave_as_the_tuple_of_a_fresh_compile():
    spec = SPECS / "mobilenet_v2.yaml"
    w, r = Fraction(7, 20) + Fraction(3, 997), 171
    table = _cached(spec, w, r, "torchvision")
    fresh = analyze(compile_graph(api.load(str(spec), None, "torchvision"), w, r),
                    "torchvision")
    assert isinstance(table.rows, LazyRows) and isinstance(fresh.rows, tuple)
    assert len(table.rows) == len(fresh.rows) > 100
    assert table == fresh and fresh == table and not table != fresh
    assert table.rows == fresh.rows and fresh.rows == table.rows
    assert hash(table.rows) == hash(fresh.rows)
    assert table.rows[1:] == fresh.rows[1:] and isinstance(table.rows[1:], tuple)
    assert table.rows[-1] == fresh.rows[-1] and fresh.rows[3] in table.rows
    assert list(reversed(table.rows)) == list(reversed(fresh.rows))
    assert repr(table.rows) == repr(fresh.rows)
    assert table.rows + () == fresh.rows and () + table.rows == fresh.rows
    assert table.to_dict() == fresh.to_dict()
    # every row's fields, one by one (a LayerCost built without its __init__)
    for a, b in zip(table.rows, fresh.rows):
        assert vars(a) == vars(b)
    # pickled and copied as the plain tuple
    back = pickle.loads(pickle.dumps(table))
    assert back == fresh and type(back.rows) is tuple
    assert copy.deepcopy(table) == fresh


def test_lazy_rows_sum_to_the_totals_and_the_reference():
    from reference_mobilenet_v2 import mobilenet_v2 as reference_v2
    spec = SPECS / "mobilenet_v2.yaml"
    table = _cached(spec, "0.75", 160, "torchvision")
    ref = reference_v2(0.75, 160)
    assert table.totals["params"] == ref.params + ref.bn_params
    assert table.totals["madds"] == ref.madds
    assert sum(row.madds for row in table.rows) == ref.madds
    assert sum(row.params for row in table.rows) == ref.params + ref.bn_params
