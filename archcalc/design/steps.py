"""Exact breakpoints of the channel-rounding step functions in alpha.

A channel count such as make_divisible(16*alpha, 8, 8) is a step function of alpha: constant
between breakpoints, which are rationals. Knowing all of them makes questions about a
continuous alpha exact and finite: between two consecutive breakpoints every count is
constant, so evaluating each breakpoint and one point inside each open cell between them
covers every network the interval contains (this is what `archcalc fit` does).

Thresholds of each rounding rule, in its argument u (archcalc.rounding):

* make_divisible(u, d, m) = n + d*[n < 9u/10] with n = max(m, d*floor(u/d + 1/2)): n jumps at
  u = (k + 1/2) d, the "+d" switches at u = 10 n / 9 for n in {m, d, 2d, ...};
* truncate(u, m) = max(floor(u), m), floor, ceiling: integers; round_half_even: halves;
* Max / Min: where two arguments cross.

Where the argument is linear in alpha on a cell, u = c1 alpha + c0, each threshold T gives
the breakpoint alpha = (T - c0) / c1; nested functions are handled cell by cell. A
non-linear argument raises OptionError (no current spec has one).

The number of breakpoints grows with the channel counts and the interval (make_divisible(c *
alpha, 8) has about c (hi - lo) / 4 of them), so each threshold lattice is counted before it
is built and more than limits.MAX_BREAKPOINTS in one interval raise TooManyBreakpoints.
"""
from __future__ import annotations

import math
from fractions import Fraction

from ..errors import OptionError
from ..limits import MAX_BREAKPOINTS

_STEPS = ("make_divisible", "truncate", "round_half_even", "floor", "ceiling")


class TooManyBreakpoints(OptionError):
    """A width interval holds more than MAX_BREAKPOINTS breakpoints of the channel counts."""

    def __init__(self, lo: Fraction, hi: Fraction, count: int | None = None):
        from ..numbers import decimal_text
        self.lo, self.hi = lo, hi
        found = f"{count:,}" if count is not None else f"more than {MAX_BREAKPOINTS:,}"
        super().__init__(
            f"the channel counts have {found} breakpoints for alpha in [{decimal_text(lo)}, "
            f"{decimal_text(hi)}] (limit MAX_BREAKPOINTS = {MAX_BREAKPOINTS:,}): narrow the "
            f"width interval LO:HI, or give a grid LO:HI:STEP")


def _lattice(lo: Fraction, hi: Fraction, step: Fraction, offset: Fraction = Fraction(0)) -> list:
    """All (k + offset) * step in [lo, hi] (at most MAX_BREAKPOINTS of them)."""
    k0 = math.floor(lo / step - offset)
    k1 = math.ceil(hi / step - offset)
    if k1 - k0 + 1 > MAX_BREAKPOINTS + 2:
        raise TooManyBreakpoints(lo, hi)
    return [x for k in range(k0, k1 + 1) if lo <= (x := (k + offset) * step) <= hi]


def _thresholds(e, u_lo: Fraction, u_hi: Fraction) -> list:
    name = type(e).__name__
    if name == "make_divisible":
        d, m = Fraction(int(e.args[1])), Fraction(int(e.args[2]))
        out = _lattice(u_lo, u_hi, d, Fraction(1, 2))
        out += _lattice(u_lo, u_hi, d * 10 / 9)
        if u_lo <= m * 10 / 9 <= u_hi:
            out.append(m * 10 / 9)
        return out
    if name == "round_half_even":
        return _lattice(u_lo, u_hi, Fraction(1, 2))
    return _lattice(u_lo, u_hi, Fraction(1))    # truncate, floor, ceiling


class Breakpoints:
    """Breakpoint finder for pure-alpha sympy expressions over [lo, hi]."""

    def __init__(self, lo, hi):
        from .. import symbolic
        self.lo, self.hi = Fraction(lo), Fraction(hi)
        if not 0 < self.lo <= self.hi:
            raise OptionError(f"width interval must satisfy 0 < lo <= hi, got {lo}, {hi}")
        self.alpha = symbolic.alpha
        self._memo: dict = {}
        self._fns: dict = {}

    # exact scalar value of a pure-alpha expression at a Fraction
    def value(self, e, a: Fraction):
        fn = self._fns.get(e)
        if fn is None:
            from ..cost.codegen import exact_function
            fn = self._fns[e] = exact_function(e, {self.alpha: "alpha"})
        return fn(a)

    def _cells(self, points) -> list:
        pts = sorted({self.lo, self.hi, *points})
        return list(zip(pts, pts[1:]))

    def local_form(self, e, m: Fraction):
        """The polynomial in alpha that equals `e` on the open cell containing m (valid when the
        cell's ends include every breakpoint of e)."""
        import sympy
        if not e.free_symbols or e == self.alpha:
            return e
        name = type(e).__name__
        if e.is_Add or e.is_Mul or e.is_Pow:
            return e.func(*[self.local_form(a, m) for a in e.args])
        if name in ("Max", "Min"):
            forms = [self.local_form(a, m) for a in e.args]
            vals = [self.value(f, m) for f in forms]
            pick = max if name == "Max" else min
            best = pick(range(len(forms)), key=lambda i: vals[i])
            return forms[best]
        if name in _STEPS:
            v = self.value(e, m)
            return sympy.Rational(v.numerator, v.denominator) if isinstance(v, Fraction) else sympy.Integer(v)
        raise OptionError(f"cannot find the breakpoints of {e}")

    def _roots(self, poly_expr, a: Fraction, b: Fraction, levels) -> list:
        """alphas in [a, b] where the polynomial poly_expr crosses one of `levels`."""
        import sympy
        p = sympy.Poly(poly_expr, self.alpha)
        if p.degree() <= 0:
            return []
        if p.degree() > 1:
            raise OptionError(f"cannot find exact breakpoints: {poly_expr} is not linear in alpha")
        c1, c0 = (Fraction(int(c.p), int(c.q)) for c in p.all_coeffs())
        return [x for t in levels if a <= (x := (t - c0) / c1) <= b]

    def of(self, e) -> set:
        """Breakpoints of a pure-alpha expression e in [lo, hi] (a superset is harmless)."""
        if e in self._memo:
            return self._memo[e]
        if not e.free_symbols or e == self.alpha:
            out: set = set()
        elif e.is_Add or e.is_Mul:
            out = set().union(*(self.of(a) for a in e.args))
        elif e.is_Pow:
            if not (e.args[1].is_Integer and int(e.args[1]) >= 0):
                raise OptionError(f"cannot find the breakpoints of {e}")
            out = set(self.of(e.args[0]))
        else:
            name = type(e).__name__
            if name in ("Max", "Min"):
                out = set().union(*(self.of(a) for a in e.args))
                for a, b in self._cells(out):
                    m = (a + b) / 2
                    forms = [self.local_form(x, m) for x in e.args]
                    for i in range(len(forms)):
                        for j in range(i + 1, len(forms)):
                            out.update(self._roots(forms[i] - forms[j], a, b, [Fraction(0)]))
            elif name in _STEPS:
                inner = e.args[0]
                out = set(self.of(inner))
                for a, b in self._cells(out):
                    form = self.local_form(inner, (a + b) / 2)
                    ua, ub = self.value(form, a), self.value(form, b)
                    try:
                        levels = _thresholds(e, Fraction(min(ua, ub)), Fraction(max(ua, ub)))
                    except TooManyBreakpoints:
                        raise TooManyBreakpoints(self.lo, self.hi) from None
                    out.update(self._roots(form, a, b, levels))
                    if len(out) > MAX_BREAKPOINTS:
                        raise TooManyBreakpoints(self.lo, self.hi)
            else:
                raise OptionError(f"cannot find the breakpoints of {e}")
        out = {x for x in out if self.lo < x < self.hi}
        self._memo[e] = out
        return out

    def all(self, exprs) -> list:
        """Sorted breakpoints in the open interval (lo, hi) of all the given expressions."""
        pts: set = set()
        for e in exprs:
            pts |= self.of(e)
            if len(pts) > MAX_BREAKPOINTS:
                raise TooManyBreakpoints(self.lo, self.hi)
        return sorted(pts)


def candidates(lo: Fraction, hi: Fraction, breakpoints) -> list:
    """Evaluation points that cover every network in [lo, hi]: each breakpoint (and the ends)
    plus the midpoint of each open cell: [(alpha, cell)], cell = None for a breakpoint, else
    the open cell (a, b) the midpoint stands for."""
    pts = sorted({lo, hi, *breakpoints})
    out = []
    for i, p in enumerate(pts):
        out.append((p, None))
        if i + 1 < len(pts):
            out.append(((p + pts[i + 1]) / 2, (p, pts[i + 1])))
    return out


def simplest_in(lo: Fraction, hi: Fraction, lo_closed: bool, hi_closed: bool) -> Fraction:
    """The largest number with the fewest decimal digits in the interval (a width to type)."""
    for digits in range(0, 12):
        scale = 10**digits
        k = math.floor(hi * scale)
        x = Fraction(k, scale)
        if x == hi and not hi_closed:
            x -= Fraction(1, scale)
        if x > lo or (x == lo and lo_closed):
            return x
    return (lo + hi) / 2


def piecewise(values_at, lo: Fraction, hi: Fraction, breakpoints) -> list:
    """Merge a step function's values into intervals: [(value, a, a_closed, b, b_closed)],
    `values_at(alpha)` giving the exact value at a point."""
    pieces: list = []
    for x, cell in candidates(lo, hi, breakpoints):
        v = values_at(x)
        a, b, closed = (x, x, True) if cell is None else (cell[0], cell[1], False)
        if pieces and pieces[-1][0] == v:
            last = pieces[-1]
            pieces[-1] = (v, last[1], last[2], b, closed)
        else:
            pieces.append((v, a, closed, b, closed))
    return pieces
