"""sympy expression -> exact Python function over ints and Fractions: the one code generator.

Every closed form archcalc evaluates at many points goes through here: the totals the
Evaluator vectorises (archcalc.cost.plan), every op's row at a point (archcalc.cost.rows),
the validity conditions (archcalc.cost.validity), the breakpoints of the width steps
(archcalc.design.steps) and the readable formulas' atoms (archcalc.design.formula).

Why not `sympy.lambdify`: the closed forms hold rounding step functions (make_divisible,
truncate, floor, ceiling) of *rational* arguments (16*alpha, r/32, c/4), and a float
evaluation of them is wrong at exactly the points that matter (0.35 * 160 is 55.99999... in
binary; make_divisible(56) != make_divisible(55.999)). The source generated here is Python
over exact numbers: a rational constant becomes a Fraction constant (never a float literal),
`ceiling(n/d)` with an integer-valued n becomes integer division, and the rounding rules call
archcalc.rounding, the functions `archcalc report` uses. This module holds archcalc's only
`eval` of generated code.
"""
from __future__ import annotations

import math
from fractions import Fraction

from .. import rounding
from ..errors import OptionError

# sympy function name -> the name the generated code calls it by
FUNCTION_NAMES = {
    "make_divisible": "_make_divisible", "truncate": "_truncate",
    "round_half_even": "_round_half_even", "ceiling": "_ceil", "floor": "_floor",
    "Max": "_max", "Min": "_min",
}


def _reciprocal(x):
    return Fraction(1) / x


def _ceil_div(n: int, d: int) -> int:
    return -((-n) // d)


def _floor_div(n: int, d: int) -> int:
    return n // d


NAMESPACE = {
    "_make_divisible": rounding.make_divisible, "_truncate": rounding.truncate,
    "_round_half_even": rounding.round_half_even, "_ceil": math.ceil, "_floor": math.floor,
    "_max": max, "_min": min, "_reciprocal": _reciprocal, "_ceil_div": _ceil_div,
    "_floor_div": _floor_div, "Fraction": Fraction,
    "_make_divisible_scaled": rounding.make_divisible_scaled,
}


def integer_ratio(arg):
    """arg = n / d with n an integer-valued expression (integer symbols, integer functions,
    integer coefficients) and d a positive int, or None."""
    import sympy
    d = 1
    for term in sympy.Add.make_args(arg):
        c, _ = term.as_coeff_Mul()
        if not c.is_Rational:
            return None
        d = d * int(c.q) // math.gcd(d, int(c.q))
    n = sympy.expand(arg * d, deep=False, power_base=False, power_exp=False, log=False)
    if n.is_integer is not True:
        return None
    return n, d


class ExactSource:
    """sympy expressions -> Python source over exact ints/Fractions, compiled to functions.

    `source(expr, leaf)` writes an expression; `leaf(sub)` names a sub-expression the caller
    supplies itself (a symbol -> its argument name, an atom -> an element of a list), or
    returns None to have it written out. Rational constants are shared across every function
    compiled by one ExactSource."""

    def __init__(self):
        self.consts: dict[str, Fraction] = {}
        self._names: dict[Fraction, str] = {}

    def const(self, q: Fraction) -> str:
        name = self._names.get(q)
        if name is None:
            name = self._names[q] = f"_q{len(self._names)}"
            self.consts[name] = q
        return name

    def source(self, e, leaf) -> str:
        import sympy
        name = leaf(e)
        if name is not None:
            return name
        if e.is_Integer:
            return f"({int(e)})"
        if e.is_Rational:
            return self.const(Fraction(int(e.p), int(e.q)))
        if e.is_Add:
            return "(" + " + ".join(self.source(a, leaf) for a in e.args) + ")"
        if e.is_Mul:
            return "(" + " * ".join(self.source(a, leaf) for a in e.args) + ")"
        if e.is_Pow:
            base, exp = e.args
            if exp.is_Integer:
                n = int(exp)
                if n >= 0:
                    return f"({self.source(base, leaf)})**{n}"
                return f"_reciprocal(({self.source(base, leaf)})**{-n})"
            raise OptionError(f"cannot evaluate {e} exactly (non-integer power)")
        fname = type(e).__name__
        if fname in ("ceiling", "floor"):
            fast = integer_ratio(e.args[0])
            if fast is not None:     # ceil(n / d) with n integer-valued: int arithmetic only
                n, d = fast
                fn = "_ceil_div" if fname == "ceiling" else "_floor_div"
                return f"{fn}({self.source(n, leaf)}, {d})"
        if fname == "make_divisible" and len(e.args) == 3 and e.args[0].is_Mul:
            coeff, rest = e.args[0].as_coeff_Mul()     # make_divisible(16*alpha, ...): ints
            if coeff.is_Rational and coeff > 0 and rest != 1:
                return (f"_make_divisible_scaled({int(coeff.p)}, {int(coeff.q)}, "
                        f"{self.source(rest, leaf)}, {self.source(e.args[1], leaf)}, "
                        f"{self.source(e.args[2], leaf)})")
        if fname in FUNCTION_NAMES:
            return (f"{FUNCTION_NAMES[fname]}("
                    + ", ".join(self.source(a, leaf) for a in e.args) + ")")
        if isinstance(e, sympy.Symbol):
            raise OptionError(f"unexpected symbol {e} in a closed form")
        raise OptionError(f"cannot evaluate {fname} exactly in a closed form: {e}")

    __call__ = source

    def compile(self, args: str, body: str, names: dict | None = None):
        """`lambda args: body` with the exact helpers, this source's constants and `names`
        (further functions the body calls) in scope."""
        namespace = dict(NAMESPACE)
        namespace.update(names or {})
        namespace.update(self.consts)
        return eval(f"lambda {args}: {body}", namespace)   # noqa: S307 (generated from sympy trees)


def exact_function(expr, symbols: dict, source: ExactSource | None = None):
    """A Python function of the given symbols' values (in `symbols`' order; {symbol: argument
    name}) computing `expr` exactly. E.g. exact_function(e, {alpha: "alpha", r: "r"})."""
    source = ExactSource() if source is None else source
    return source.compile(", ".join(symbols.values()), source.source(expr, symbols.get))


def guard_sides(guard, alpha, source: ExactSource):
    """A structural guard (archcalc.graph.compile: `Eq` / `Ne` of two channel expressions in
    alpha, or sympy's true / false) as (is it `Ne`, the source of each side), or as the bool
    sympy decided it to."""
    import sympy
    if guard in (sympy.true, sympy.false):     # decided by sympy (e.g. Eq(32*alpha, 16*alpha))
        return bool(guard)
    kind = type(guard).__name__
    if kind not in ("Equality", "Unequality") or not (guard.free_symbols <= {alpha}):
        raise OptionError(f"unsupported structural guard {guard}")
    leaf = {alpha: "alpha"}.get
    lhs, rhs = guard.args
    return kind == "Unequality", source(lhs, leaf), source(rhs, leaf)


def compile_guard(sides, source: ExactSource):
    """guard_sides' answer as an exact test of a width."""
    if isinstance(sides, bool):
        return lambda a, v=sides: v
    unequal, lhs, rhs = sides
    return source.compile("alpha", f"({lhs}) {'!=' if unequal else '=='} ({rhs})")


def guard_test(guard, alpha, source: ExactSource | None = None):
    """A structural guard as an exact test of a width."""
    source = ExactSource() if source is None else source
    return compile_guard(guard_sides(guard, alpha, source), source)
