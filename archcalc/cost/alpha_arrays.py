"""The width atoms of many widths at once: make_divisible(16*alpha, 8, 8) and its kin on numpy
int64 arrays, each width alpha = p / q held as two int64 arrays, where that is provably exact.

A sweep evaluates every base atom of the width (channel counts: TF-slim's `_make_divisible`,
MobileNetV1's truncate, the floor divisions of SE blocks and group sizes, Max/Min) at
every width; one exact Python call per width and atom was half the grid's time. The source
archcalc.cost.codegen generates for an atom is evaluated here as it is, with the rounding rules
of archcalc.rounding written for arrays (`_make_divisible_pq`'s integer formula,
floor(v/d + 1/2) = (2p + dq) // 2dq and the 10% test 10 new q < 9 p, numpy's // rounding
toward -infinity as Python's does).

Exactness: a source qualifies only if it is built from the width, integer constants, products
by an integer constant, sums and differences of integers, and these helpers (the grammar
checked on its syntax tree, with a bound on every product and sum below 2^62); every array
entering or leaving a helper is checked to stay within LIMIT = 2^28 in absolute value, so
that no product inside a helper can pass 2^62. Anything else (a Fraction constant,
round_half_even, a width whose numerator or denominator is past the limit, a value that is
not an integer) raises Inexact and the caller evaluates one width at a time, as before.

Besides the sweep's width atoms (cost/vectors.py), the channel build checks
(cost/validity.py, with graph.checks.ARRAY_RELATIONS) and the structural guards
(Evaluator._partition) of many widths are evaluated here.
"""
from __future__ import annotations

import ast

import numpy as np

LIMIT = 2**28
SAFE_BOUND = 2**62
HELPERS = ("_make_divisible_scaled", "_make_divisible", "_truncate", "_floor_div",
           "_ceil_div", "_max", "_min")


class Inexact(Exception):
    """The array path cannot prove this evaluation exact (the caller falls back)."""


def _small(values):
    arr = np.asarray(values)
    if arr.size and int(np.abs(arr).max()) > LIMIT:
        raise Inexact
    return values


def _constant(c) -> int:
    if type(c) is not int or abs(c) > LIMIT:
        raise Inexact
    return c


class Ratio:
    """alpha = numerator / denominator element-wise (int64 arrays, denominators > 0)."""

    __slots__ = ("numerator", "denominator")
    __array_ufunc__ = None      # numpy arrays defer to Ratio: an array + Ratio is a TypeError

    def __init__(self, numerator, denominator):
        self.numerator, self.denominator = _small(numerator), _small(denominator)

    def __mul__(self, c):
        return Ratio(np.multiply(self.numerator, _constant(c)), self.denominator)

    __rmul__ = __mul__


def ratios(alphas) -> Ratio | None:
    """The widths (ints and Fractions) as a Ratio; None if any numerator or denominator is
    past LIMIT."""
    nums = [a.numerator for a in alphas]
    dens = [a.denominator for a in alphas]
    if not nums or max(map(abs, nums)) > LIMIT or max(dens) > LIMIT:
        return None
    return Ratio(np.array(nums, dtype=np.int64), np.array(dens, dtype=np.int64))


def _pq(x) -> tuple:
    """(p, q) with x = p / q: a Ratio's arrays, or an integer array over 1."""
    if isinstance(x, Ratio):
        return x.numerator, x.denominator
    if isinstance(x, np.ndarray) and x.dtype == np.int64:
        return _small(x), 1
    if type(x) is int:
        return _constant(x), 1
    raise Inexact


def _divisible(p, q, divisor: int, min_value: int):
    """archcalc.rounding._make_divisible_pq on arrays: |p|, q, divisor <= LIMIT keep every
    product below 2^62 (2 divisor q <= 2^57; new <= |p| / q + 2 divisor, 10 new q < 2^61)."""
    divisor, min_value = _constant(divisor), _constant(min_value)
    if divisor < 1:
        raise Inexact
    new = np.maximum(min_value, (2 * p + divisor * q) // (2 * divisor * q) * divisor)
    new = new + divisor * (10 * new * q < 9 * p)
    return _small(new)


def _make_divisible_scaled(num: int, den: int, x, divisor: int, min_value: int):
    """rounding.make_divisible_scaled: make_divisible(num / den * x, divisor, min_value)."""
    p, q = _pq(x)
    num, den = _constant(num), _constant(den)
    if den < 1:
        raise Inexact
    return _divisible(_small(np.multiply(p, num)), _small(np.multiply(q, den)), divisor,
                      min_value)


def _make_divisible(x, divisor: int = 8, min_value: int | None = None):
    p, q = _pq(x)
    return _divisible(p, q, divisor, divisor if min_value is None else min_value)


def _truncate(x, min_value: int = 8):
    """rounding.truncate: max(floor(x), min_value)."""
    p, q = _pq(x)
    return _small(np.maximum(p // q, _constant(min_value)))


def _floor_div(n, d: int):
    """n // d of an integer n (codegen writes it only for integer-valued n)."""
    if isinstance(n, Ratio) or _constant(d) < 1:
        raise Inexact
    return _pq(n)[0] // d


def _ceil_div(n, d: int):
    if isinstance(n, Ratio) or _constant(d) < 1:
        raise Inexact
    return -((-_pq(n)[0]) // d)


def _extremum(args, fn):
    """Max / Min of integers and at most one Ratio (over its own denominators)."""
    ratio = [a for a in args if isinstance(a, Ratio)]
    if len(ratio) > 1:
        raise Inexact
    if not ratio:
        parts = [_pq(a)[0] for a in args]
        out = parts[0]
        for part in parts[1:]:
            out = fn(out, part)
        return out
    den = ratio[0].denominator
    out = ratio[0].numerator
    for a in args:
        if a is not ratio[0]:
            out = fn(out, _small(np.multiply(_pq(a)[0], den)))
    return Ratio(out, den)


def _max(*args):
    return _extremum(args, np.maximum)


def _min(*args):
    return _extremum(args, np.minimum)


NAMESPACE = {name: globals()[name] for name in HELPERS}


def _is_constant(node) -> bool:
    """An integer constant: `(8)`, or `(-1)` (a minus sign before it)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def _majorant(node, var: str) -> int | None:
    """None where `node` is outside the grammar, else a bound on |value| of it and of every
    value computed inside it: a constant's own; the width and a helper's result LIMIT (Ratio
    and the helpers check it at run time); a product, the product of its factors' bounds,
    which must stay below 2^62 (a product is computed by numpy unchecked)."""
    if isinstance(node, ast.Name):
        return LIMIT if node.id == var else None
    if isinstance(node, ast.Constant):
        return abs(node.value) if type(node.value) is int else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        if not any(_is_constant(n) for n in (node.left, node.right)):
            return None
        left, right = _majorant(node.left, var), _majorant(node.right, var)
        if left is None or right is None or left * right > SAFE_BOUND:
            return None
        return left * right
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        left, right = _majorant(node.left, var), _majorant(node.right, var)  # of integers:
        if left is None or right is None or left + right > SAFE_BOUND:    # a Ratio has no +
            return None
        return left + right
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _majorant(node.operand, var)
    if isinstance(node, ast.Call):
        ok = (isinstance(node.func, ast.Name) and node.func.id in HELPERS
              and not node.keywords and bool(node.args)
              and all(_majorant(a, var) is not None for a in node.args))
        return LIMIT if ok else None
    return None


class RatioFunction:
    """One source `body` in the width `var` (a base atom, a build check's channel count, a
    structural guard's side), for a Ratio of many widths."""

    def __init__(self, var: str, body: str, source):
        """`source`: the archcalc.cost.codegen.ExactSource that wrote `body`."""
        self.ok = _majorant(ast.parse(body, mode="eval").body, var) is not None
        self.fn = source.compile(var, body, NAMESPACE) if self.ok else None

    def __call__(self, alphas: Ratio):
        """The atom at every width as an int64 array, or None (not provably exact here: the
        caller evaluates it one width at a time)."""
        if not self.ok:
            return None
        try:
            out = self.fn(alphas)
        except (Inexact, TypeError):      # TypeError: a sum with the width itself
            return None
        if isinstance(out, Ratio) or not isinstance(out, (np.ndarray, np.integer, int)):
            return None                   # the width itself, or another non-integer atom
        out = np.broadcast_to(np.asarray(out), alphas.numerator.shape)
        return out if out.dtype == np.int64 else None


def width_values(bodies, source, alphas: Ratio, functions: dict) -> dict | None:
    """{body: its int64 values at every width} for these sources in `alpha` (each distinct
    body once; `functions` keeps the compiled RatioFunctions of a caller's sources), or None
    if any of them is not provably exact here (the caller tests one width at a time)."""
    out: dict = {}
    for body in bodies:
        if body in out:
            continue
        fn = functions.get(body)
        if fn is None:
            fn = functions[body] = RatioFunction("alpha", body, source)
        out[body] = fn(alphas)
        if out[body] is None:
            return None
    return out
