"""archcalc.cost.vector_source: resolution atoms evaluated on whole int64 arrays must equal the
one-value-at-a-time exact functions (Python ints) they replace, and must refuse every source
or range where int64 could differ (Fractions, rounding rules, comparisons, overflow)."""
from __future__ import annotations

import glob
import random
from pathlib import Path

import numpy as np
import pytest

from archcalc.cost import Evaluator
from archcalc.cost.codegen import NAMESPACE, ExactSource
from archcalc.cost.vector_source import SAFE_BOUND, ArrayFunction, majorant
from archcalc.cost.vectors import _base_values

SPECS = sorted(glob.glob(str(Path(__file__).resolve().parent.parent / "specs" / "*.yaml")))


def scalar(var: str, body: str):
    return eval(f"lambda {var}: {body}", dict(NAMESPACE))   # the generated code's own helpers


@pytest.mark.parametrize("path", SPECS, ids=[Path(p).stem for p in SPECS])
def test_every_resolution_atom_of_every_spec_equals_its_exact_function(path):
    """Every spec and its structural variants (widths where a residual is decided
    differently): each r atom on an array of resolutions equals the exact function per r."""
    forms = Evaluator(path)
    forms.grid(["0.2", "0.35", "0.5", "0.75", "1", "1.3"], [96, 160, 224])   # make variants
    rs = sorted(set(range(1, 400)) | {random.Random(Path(path).stem).randrange(400, 5000) for _ in range(50)})
    checked = 0
    for ev in [forms, *forms._variants.values()]:
        side = ev.planner.r_side
        for fn, array_fn in zip(side.base_fns, side.base_arrays):
            got = array_fn(np.array(rs, dtype=np.int64), max(rs))
            if got is None:
                continue
            assert got.dtype == np.int64
            assert got.tolist() == [fn(r) for r in rs]
            checked += 1
    assert checked >= 1          # every spec has at least r itself and one spatial size


def test_helpers_match_python_on_negative_values_and_max_min():
    body = "_max((12), ((r)**2 - _ceil_div((3) * r, 4)), -_floor_div(r, 3)) + _min(r, (5))"
    values = list(range(-60, 61))
    fn, array_fn = scalar("r", body), ArrayFunction("r", body, ExactSource())
    assert array_fn.ok
    assert array_fn(np.array(values, dtype=np.int64), 60).tolist() == [fn(v) for v in values]


@pytest.mark.parametrize("body", [
    "_q0 * r",                        # a Fraction constant
    "r / 2",                          # true division
    "_ceil(r * _q0)",                 # math.ceil of a rational
    "_make_divisible(r, 8, 8)",       # a rounding rule
    "_ceil_div(r, r)",                # a divisor that is not a positive constant
    "_floor_div(r, -2)",
    "(r > 3) and r",                  # comparisons and boolean logic
    "r ** r",
    "abs(r)",                         # any other call
])
def test_sources_outside_integer_arithmetic_are_refused(body):
    array_fn = ArrayFunction("r", body, ExactSource())
    assert not array_fn.ok
    assert array_fn(np.arange(1, 5, dtype=np.int64), 4) is None


def test_a_bound_past_int64_falls_back_to_exact_python_ints():
    """(2^40) * r^2 at r = 10^6 is about 2^80: the array path refuses it, and the values
    come from the exact function, as Python ints, whatever their size."""
    body = f"({2**40}) * (r)**2"
    fn, array_fn = scalar("r", body), ArrayFunction("r", body, ExactSource())
    assert array_fn.ok and majorant(array_fn.tree, 10**6) > SAFE_BOUND
    assert array_fn(np.array([10**6], dtype=np.int64), 10**6) is None
    values = _base_values(fn, array_fn, [3, 10**6])
    assert values.dtype == object and values.tolist() == [2**40 * 9, 2**40 * 10**12]
    small = _base_values(fn, array_fn, [1, 2, 3])          # within the bound: the array path
    assert small.tolist() == [2**40, 2**42, 9 * 2**40]
    assert all(type(v) is int for v in small)


def test_majorant_bounds_every_intermediate():
    """A difference of large terms is small, but its terms are not: the bound covers them."""
    body = f"(r)**2 * ({2**31}) - (r)**2 * ({2**31})"
    array_fn = ArrayFunction("r", body, ExactSource())
    assert majorant(array_fn.tree, 2**16) >= 2**63
    assert array_fn(np.array([2**16], dtype=np.int64), 2**16) is None
