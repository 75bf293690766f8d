"""archcalc.cost.alpha_arrays and the sweep's width atoms: the channel counts of many widths at
once on int64 arrays must equal the exact one-width-at-a-time functions (archcalc.rounding on
ints and Fractions) they replace, for every atom of every spec, and every source or width the
array path cannot prove exact must fall back to those functions."""
from __future__ import annotations

import glob
import random
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from archcalc import rounding
from archcalc.cost import Evaluator
from archcalc.cost import vectors
from archcalc.cost.alpha_arrays import LIMIT, RatioFunction, ratios
from archcalc.cost.codegen import NAMESPACE, ExactSource
from archcalc.cost.vector_source import ArrayFunction
from archcalc.cost.vectors import AtomValues

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(glob.glob(str(ROOT / "specs" / "*.yaml"))) + \
    sorted(glob.glob(str(ROOT / "specs" / "spaces" / "*.yaml")))


def widths(seed: str) -> list:
    """Widths a sweep may ask for: a regular grid, tiny and large ones, odd denominators."""
    rng = random.Random(seed)
    odd = {Fraction(rng.randrange(1, 4000), rng.choice([1, 3, 7, 8, 100, 800, 999, 1024]))
           for _ in range(200)}
    regular = {Fraction(1, 4) + Fraction(i, 800) for i in range(100)}
    return sorted({w for w in odd if w <= 64} | regular
                  | {Fraction(1, 100), Fraction(1, 20), Fraction(7, 2), Fraction(3)})


def exact_values(planner, ws):
    """AtomValues the way every call made them before: one exact call per width."""
    saved = vectors.ARRAY_WIDTHS
    vectors.ARRAY_WIDTHS = 10**9
    try:
        return AtomValues(planner, ws, [224])
    finally:
        vectors.ARRAY_WIDTHS = saved


@pytest.mark.parametrize("path", SPECS, ids=[Path(p).stem for p in SPECS])
def test_every_width_atom_of_every_spec_equals_its_exact_function(path):
    """Every spec and its structural variants: each base atom of the width and each composite
    atom (a polynomial in them) at 300+ widths equals the exact values, int64 with the same
    bound; and the array path is the one taken (not a silent fallback)."""
    forms = Evaluator(path)
    ws = widths(Path(path).stem)
    forms.grid([str(w) for w in ws[::6]], [224])            # make the structural variants
    arrays = 0
    for ev in [forms, *forms._variants.values()]:
        got, want = AtomValues(ev.planner, ws, [224]), exact_values(ev.planner, ws)
        for a, b in zip(got.a_base, want.a_base):
            assert a.tolist() == b.tolist()
            arrays += a.dtype == np.int64
        for a, b in zip(got.alpha_vectors, want.alpha_vectors):
            assert a.values.tolist() == b.values.tolist() and a.bound == b.bound
            assert a.values.dtype == b.values.dtype
    assert arrays >= 1


@pytest.mark.parametrize("num,den,divisor,min_value", [
    (16, 1, 8, 8), (1280, 1, 8, 8), (3, 4, 8, 8), (32, 1, 4, 16), (24, 1, 16, 8), (1, 3, 2, 1)])
def test_make_divisible_equals_the_rule_at_ties_and_at_the_ten_percent_boundary(
        num, den, divisor, min_value):
    """Widths placed at every half-divisor tie (round half up) and around the point where
    rounding down loses 10% (one divisor more), on both sides: the array rule equals
    archcalc.rounding.make_divisible_scaled."""
    body = f"_make_divisible_scaled({num}, {den}, alpha, ({divisor}), ({min_value}))"
    ws = sorted({Fraction(k * divisor, 2 * num) * den + Fraction(e, 10 * num)
                 for k in range(1, 80) for e in (-1, 0, 1)} - {0}, key=abs)
    ws = [w for w in ws if w > 0]
    fn = RatioFunction("alpha", body, ExactSource())
    assert fn.ok
    got = fn(ratios(ws))
    assert got is not None and got.dtype == np.int64
    assert got.tolist() == [rounding.make_divisible_scaled(num, den, w, divisor, min_value)
                            for w in ws]


@pytest.mark.parametrize("body", [
    "_truncate(((3) * alpha), (8))",
    "_make_divisible_scaled(5, 4, _max((1), alpha), (8), (8))",
    "_min((64), _make_divisible(_floor_div(_make_divisible_scaled(3, 1, alpha, (8), (8)), 4), "
    "(8), (8)))",
    "_max((8), _ceil_div(_make_divisible_scaled(96, 1, alpha, (8), (8)), 3))",
])
def test_other_rules_equal_the_exact_helpers(body):
    ws = widths(body)
    exact = eval(f"lambda alpha: {body}", dict(NAMESPACE))   # the generated code's own helpers
    fn = RatioFunction("alpha", body, ExactSource())
    got = fn(ratios(ws))
    assert got is not None and got.tolist() == [exact(w) for w in ws]


@pytest.mark.parametrize("body", [
    "_make_divisible_scaled(16, 1, alpha * _q0, (8), (8))",   # a Fraction constant
    "_round_half_even(((6) * alpha))",                         # a rule without an array form
    "alpha",                                                   # the width itself: not an int
    "((3) * alpha)",
    "alpha * alpha",
    "_floor_div(alpha, 2)",                                    # a floor of a non-integer
    "_make_divisible_scaled(16, 1, alpha, (-8), (8))",         # a divisor below 1
    f"_make_divisible_scaled({2**40}, 1, alpha, (8), (8))",    # past the limit
    f"_floor_div(({2**40}) * _make_divisible_scaled(16, 1, alpha, (8), (8)), 3)",  # 2^68
    f"({2**20}) * (({2**20}) * _truncate(((3) * alpha), (8)))",  # nested products past 2^62
])
def test_sources_the_array_path_cannot_prove_exact_are_refused(body):
    source = ExactSource()
    source.const(Fraction(1, 3))
    fn = RatioFunction("alpha", body, source)
    assert fn(ratios([Fraction(1, 2), Fraction(3, 4), Fraction(1)])) is None


def test_widths_past_the_limit_fall_back_to_exact_values():
    """A width whose numerator or denominator is past 2^28 (a decimal with many digits) gives
    no Ratio; AtomValues then computes every atom one width at a time, exactly."""
    assert ratios([Fraction(1, 2), Fraction(LIMIT + 1, LIMIT + 3)]) is None
    forms = Evaluator(str(ROOT / "specs" / "mobilenet_v2.yaml"))
    ws = [Fraction(1, 4) + Fraction(i, 100) for i in range(40)] + \
        [Fraction(123456789012, 10**11)]
    got, want = AtomValues(forms.planner, ws, [224]), exact_values(forms.planner, ws)
    assert all(a.dtype == object for a in got.a_base)
    assert [a.tolist() for a in got.a_base] == [b.tolist() for b in want.a_base]


def test_a_composite_past_int64_falls_back_to_exact_python_ints():
    """A composite whose majorant passes 2^62 on the base atoms' bounds is computed in exact
    Python ints instead (width 10^5: channel counts near 10^8, their squares near 10^16 are
    fine, a product of four is not)."""
    source = ExactSource()
    fn = ArrayFunction("b", "(b[0] * b[0] * b[0] * b[0])", source)
    big = np.array([10**8, 3], dtype=np.int64)
    assert fn([big], [10**8], 2) is None
    assert fn([np.array([5, 3], dtype=np.int64)], [5], 2).tolist() == [625, 81]


def test_grid_context_rows_may_be_any_widths():
    """GridContext over a list of rows (not contiguous) equals the same rows of the whole."""
    forms = Evaluator(str(ROOT / "specs" / "shufflenet_v1.yaml"))
    ws = [Fraction(1, 4) + Fraction(i, 50) for i in range(60)]
    values = forms.values(ws, [96, 160, 224])
    whole = forms._grid_rows(values, slice(0, 60), forms.metrics)
    rows = [3, 1, 40, 41, 59]
    part = forms._grid_rows(values, rows, forms.metrics)
    for m in forms.metrics:
        assert np.array_equal(part[m], whole[m][rows])


def test_block_atoms_are_made_once_per_chunk_and_dropped_after_its_last_block(monkeypatch):
    """The jobs of a sweep in any order and on several threads give the grid and valid();
    each chunk's atom values are made once per variant, and none are held once every block
    ran."""
    monkeypatch.setattr(vectors.BlockAtoms, "CHUNK_WIDTHS", 20)
    forms = Evaluator(str(ROOT / "specs" / "mobilenet_v2.yaml"))
    ws = [Fraction(1, 20) + Fraction(i, 90) for i in range(120)]   # several variants
    rs = [32, 96, 224]
    full = forms.grid(ws, rs)
    made: list = []
    real = vectors.BlockAtoms.__init__

    def spy(self, make, *args):
        real(self, lambda key, sub: made.append((key, sub[0])) or make(key, sub), *args)
        made.append(self)
    monkeypatch.setattr(vectors.BlockAtoms, "__init__", spy)
    jobs = forms.grid_blocks(ws, rs, max_points=7 * len(rs), with_valid=True)
    atoms = made.pop(0)
    order = list(range(len(jobs)))
    random.Random(3).shuffle(order)
    results: dict = {}
    threads = [threading.Thread(target=lambda k=k: results.update({k: jobs[k][2]()}))
               for k in order]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    valid = forms.valid(ws, rs)
    for k, (start, stop, _) in enumerate(jobs):
        block, ok = results[k]
        assert np.array_equal(ok, valid[start:stop])
        for m in full:
            assert np.array_equal(block[m][ok], full[m][start:stop][ok])
    assert len(made) == len(set(made))                  # (variant, chunk) made once
    assert len(made) > len(forms._variants)             # several chunks and variants
    assert not atoms._made                              # every chunk dropped


@pytest.mark.parametrize("path", SPECS, ids=[Path(p).stem for p in SPECS])
def test_build_checks_and_structural_guards_on_arrays_equal_the_exact_tests(path):
    """Every spec and its variants: which of 300+ widths (tiny ones among them, where channels
    vanish) pass the channel build checks, and where a structural guard fires, computed on
    arrays of all the widths at once, equal the exact test of each width; and the array path
    is the one taken."""
    forms = Evaluator(path)
    ws = widths(Path(path).stem) + [Fraction(1, 1000), Fraction(1, 300), Fraction(1, 64)]
    forms.grid([str(w) for w in ws[::6]], [224])
    arrays = 0
    for ev in [forms, *forms._variants.values()]:
        if ev.validity is not None:
            many = ev.validity._alpha_ok_many(ratios(ws), len(ws))
            exact = [ev.validity.alpha_test(w) for w in ws]
            assert many is not None and many.dtype == bool
            assert many.tolist() == exact
            assert ev.validity.alpha_ok(ws).tolist() == exact
            arrays += 1
        if ev.guards:
            fires = ev._fires_many(ws)
            assert fires is not None
            assert fires.tolist() == [any(ev._fires(w)) for w in ws]
    assert arrays >= 1


def test_array_relations_equal_the_exact_relations_on_whole_counts():
    from archcalc.graph.checks import ARRAY_RELATIONS, RELATIONS
    xs = np.arange(-20, 41, dtype=np.int64)
    for name, test in RELATIONS.items():
        consts = {"at_most": [7], "divisible": [4]}.get(name, [])
        other = [xs[::-1]] if name == "equal" else []
        want = [bool(test(int(x), *[int(o[i]) for o in other], *consts))
                for i, x in enumerate(xs)]
        assert ARRAY_RELATIONS[name](xs, *other, *consts).tolist() == want, name


@pytest.mark.parametrize("body,ok", [
    ("(((-1) * _floor_div(_make_divisible_scaled(22, 1, alpha, (1), (1)), 2))"
     " + _make_divisible_scaled(22, 1, alpha, (1), (1)))", True),      # NASNet's half split
    ("(_truncate(((3) * alpha), (8)) - (4))", True),
    ("-(_truncate(((3) * alpha), (8)))", True),
    ("(((4) * alpha) + (1))", False),          # a sum with the width itself: not an integer
    ("(_max((1), alpha) + (1))", False),
])
def test_sums_of_counts_are_exact_and_sums_with_the_width_are_refused(body, ok):
    ws = widths(body)
    fn = RatioFunction("alpha", body, ExactSource())
    got = fn(ratios(ws))
    if not ok:
        assert got is None
        return
    exact = eval(f"lambda alpha: {body}", dict(NAMESPACE))
    assert got is not None and got.tolist() == [exact(w) for w in ws]
