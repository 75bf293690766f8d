"""Plans: how each closed-form total is evaluated exactly over many (alpha, r) points.

The totals of a symbolic CostTable are split by what they depend on:

* an **alpha atom** is a maximal sub-expression that depends on alpha alone (channel counts:
  `make_divisible(16*alpha, 8, 8)`, `truncate(512*alpha, 8)`, `floor(make_divisible(240*alpha,
  12, 12)/4)`, `Max(1, alpha)`, ...); an **r atom** one that depends on r alone (spatial sizes:
  `ceiling(r/32)`, `floor((r - 1)/2) + 1`, `r**2`);
* every total is then a polynomial in atoms, and after grouping by the r part it is
  separable: `madds = sum_j A_j(alpha) * R_j(r)` (a `SeparableSum`; for MobileNetV2, six
  terms, one per spatial size), and the peak-memory totals are a `Max` (an `Extremum`) of
  such sums.

Each atom is compiled once (archcalc.cost.codegen) and evaluated once per distinct alpha and
once per distinct r of a request (archcalc.cost.vectors). A `Max` over many terms is pruned
here: a term whose coefficients are all <= another term's, monomial by monomial, can never
be the maximum when the atoms are non-negative, which is checked exactly on each request's
atom values before the pruned list is used. Anything that fits none of these shapes (an
expression mixing alpha and r inside a rounding function) becomes a `PointFunction`,
evaluated exactly point by point: slow, still exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..errors import OptionError
from .codegen import ExactSource
from .vector_source import ArrayFunction

# the constant-1 composite atom is registered first on each side (AtomSide.composite(1) == 0)
ONE = 0


# -- plan nodes ------------------------------------------------------------------------------

@dataclass
class Constant:
    value: Any


@dataclass
class SeparableSum:
    """sum_j A[a_j](alpha) * R[r_j](r): `terms` are (alpha composite, r composite) indices."""
    terms: list


@dataclass
class Sum:
    children: list


@dataclass
class Product:
    children: list


@dataclass
class Power:
    child: Any
    n: int


@dataclass
class Extremum:
    """Max (is_max) or Min of its children; `survivors` (indices) suffice where every atom in
    `guard_alpha` / `guard_r` (base-atom indices) is >= 0."""
    children: list
    is_max: bool
    survivors: list | None = None
    guard_alpha: tuple = ()
    guard_r: tuple = ()


@dataclass
class PointFunction:
    fn: Any     # exact scalar f(alpha, r)


# -- atoms -----------------------------------------------------------------------------------

def depends_only_on(e, sym) -> bool:
    return e.free_symbols <= {sym}


class AtomSide:
    """Atoms of one variable (alpha or r): base atoms (non-polynomial functions and the bare
    symbol) and composite atoms (polynomials in base atoms), each compiled once."""

    def __init__(self, symbol, var: str, source: ExactSource):
        self.symbol, self.var, self.source = symbol, var, source
        self.base: list = []
        self.base_index: dict = {}
        self.base_fns: list = []
        self.base_arrays: list = []       # the same sources on whole int64 arrays (or None)
        self.comp: list = []
        self.comp_index: dict = {}
        self.comp_fns: list = []
        self._bodies: dict = {}           # ("base" | "comp", index): generated source
        self._arrays: dict = {}           # the same sources for many widths (made on demand)

    def ratio_fn(self, i: int):
        """Base atom i for many widths at once (alpha_arrays.RatioFunction), compiled on first
        use: a sweep needs it, a single point does not."""
        from .alpha_arrays import RatioFunction
        return self._array(("base", i), lambda body: RatioFunction(self.var, body, self.source))

    def comp_array(self, j: int):
        """Composite atom j on int64 arrays of its base atoms (vector_source.ArrayFunction in
        b[i]), compiled on first use."""
        return self._array(("comp", j), lambda body: ArrayFunction("b", body, self.source))

    def _array(self, key: tuple, make):
        found = self._arrays.get(key)
        if found is None:
            found = self._arrays[key] = make(self._bodies[key])
        return found

    def base_atom(self, e) -> int:
        i = self.base_index.get(e)
        if i is None:
            i = self.base_index[e] = len(self.base)
            self.base.append(e)
            leaf = lambda x: self.var if x == self.symbol else None   # noqa: E731
            body = self._bodies[("base", i)] = self.source(e, leaf)
            self.base_fns.append(self.source.compile(self.var, body))
            self.base_arrays.append(ArrayFunction(self.var, body, self.source))
        return i

    def _leaf(self, e):
        if e == self.symbol or (e.is_Function and not e.is_Number):
            return f"b[{self.base_atom(e)}]"
        if e.is_Pow and not (e.args[1].is_Integer and int(e.args[1]) >= 0):
            return f"b[{self.base_atom(e)}]"
        return None

    def composite(self, e) -> int:
        i = self.comp_index.get(e)
        if i is None:
            i = self.comp_index[e] = len(self.comp)
            self.comp.append(e)
            body = self._bodies[("comp", i)] = self.source(e, self._leaf)
            self.comp_fns.append(self.source.compile("b, z", f"{body} + z"))
        return i

    def base_atoms_of(self, e) -> set:
        """Indices of the base atoms a pure expression uses (registering them)."""
        found = set()

        def walk(x):
            if self._leaf(x) is not None:
                found.add(self.base_atom(x))
                return
            for a in x.args:
                walk(a)
        walk(e)
        return found


def exact_number(e):
    if e.is_Integer:
        return int(e)
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    raise OptionError(f"not an exact number: {e}")


def coefficient_and_monomial(e):
    """e = c * (product of non-numeric factors) -> (c as Fraction, product), or (None, None)."""
    import sympy
    c, rest = e.as_coeff_Mul()
    if not c.is_Rational:
        return None, None
    return Fraction(int(c.p), int(c.q)), rest if rest != 1 else sympy.Integer(1)


def _expand(e):
    import sympy
    return sympy.expand(e, deep=False, power_base=False, power_exp=False, log=False)


# -- planning --------------------------------------------------------------------------------

class Planner:
    """Plans for the closed forms in `alpha` and `r`, sharing one ExactSource and one pair of
    AtomSides (so an atom used by several totals is evaluated once)."""

    def __init__(self, alpha, r, source: ExactSource | None = None):
        import sympy
        self.alpha, self.r = alpha, r
        self.source = ExactSource() if source is None else source
        self.alpha_side = AtomSide(alpha, "alpha", self.source)
        self.r_side = AtomSide(r, "r", self.source)
        one = sympy.Integer(1)
        assert self.alpha_side.composite(one) == ONE == self.r_side.composite(one)

    def split_term(self, term):
        """term = A(alpha) * R(r) -> (A, R), or None when a factor mixes both."""
        import sympy
        a, r = [], []
        for f in sympy.Mul.make_args(term):
            if depends_only_on(f, self.alpha):
                a.append(f)
            elif depends_only_on(f, self.r):
                r.append(f)
            else:
                return None
        return sympy.Mul(*a), sympy.Mul(*r)

    def _separable(self, pairs) -> SeparableSum:
        return SeparableSum([(self.alpha_side.composite(a), self.r_side.composite(r))
                             for a, r in pairs])

    def plan(self, e):
        import sympy
        if not e.free_symbols:
            return Constant(exact_number(e))
        if depends_only_on(e, self.alpha):
            return self._separable([(e, sympy.Integer(1))])
        if depends_only_on(e, self.r):
            return self._separable([(sympy.Integer(1), e)])
        if isinstance(e, (sympy.Max, sympy.Min)):
            return self._plan_extremum(e)
        if e.is_Add or e.is_Mul:
            e = _expand(e)
        if e.is_Add:
            groups: dict = {}
            others = []
            for term in e.args:
                split = self.split_term(term)
                if split is None:
                    others.append(self.plan(term))
                else:
                    groups.setdefault(split[1], []).append(split[0])
            node = self._separable([(sympy.Add(*a), r) for r, a in groups.items()]) \
                if groups else None
            if not others:
                return node
            return Sum(([node] if node else []) + others)
        if e.is_Mul:
            split = self.split_term(e)
            if split is not None:
                return self._separable([split])
            return Product([self.plan(f) for f in e.args])
        if e.is_Pow and e.args[1].is_Integer and int(e.args[1]) >= 0:
            return Power(self.plan(e.args[0]), int(e.args[1]))
        return self._plan_point(e)

    def _plan_point(self, e) -> PointFunction:
        leaf = {self.alpha: "alpha", self.r: "r"}.get
        return PointFunction(self.source.compile("alpha, r", self.source(e, leaf)))

    def _plan_extremum(self, e) -> Extremum:
        import sympy
        children = list(dict.fromkeys(e.args))
        node = Extremum([self.plan(c) for c in children], isinstance(e, sympy.Max))
        # Compile-time pruning of dominated terms (see the module docstring).
        polys, guard_a, guard_r = [], set(), set()
        for c in children:
            terms = {}
            for term in sympy.Add.make_args(_expand(c)):
                split = self.split_term(term)
                if split is None:
                    return node
                a_part, r_part = split
                coeff_a, mono_a = coefficient_and_monomial(a_part)
                coeff_r, mono_r = coefficient_and_monomial(r_part)
                if coeff_a is None or coeff_r is None:
                    return node
                for base in sympy.Mul.make_args(mono_a):
                    guard_a |= self.alpha_side.base_atoms_of(base)
                for base in sympy.Mul.make_args(mono_r):
                    guard_r |= self.r_side.base_atoms_of(base)
                key = (mono_a, mono_r)
                terms[key] = terms.get(key, 0) + coeff_a * coeff_r
            polys.append(terms)
        node.survivors = _undominated(polys, 1 if node.is_max else -1)
        node.guard_alpha, node.guard_r = tuple(sorted(guard_a)), tuple(sorted(guard_r))
        return node


def _undominated(polys: list, sign: int) -> list:
    """Indices of the polynomials ({monomial: coefficient}) no other one dominates
    coefficient by coefficient (after multiplying by `sign`: -1 for a Min)."""
    # signed coefficients (ints where whole); j can only dominate i if it has every
    # monomial where i's signed coefficient is positive
    polys = [{k: sign * (int(v) if v.denominator == 1 else v) for k, v in p.items()}
             for p in polys]
    having: dict = {}
    for j, pj in enumerate(polys):
        for k in pj:
            having.setdefault(k, set()).add(j)
    survivors = []
    for i, pi in enumerate(polys):
        need = [k for k, v in pi.items() if v > 0]
        cands = set.intersection(*(having[k] for k in need)) if need else set(range(len(polys)))
        cands.discard(i)
        dominated = False
        for j in sorted(cands):
            pj = polys[j]
            if any(v < pi.get(k, 0) for k, v in pj.items()) or \
                    any(k not in pj and v > 0 for k, v in pi.items()):
                continue
            if j < i or any(pj.get(k, 0) > v for k, v in pi.items()) or \
                    any(k not in pi and v > 0 for k, v in pj.items()):
                dominated = True
                break
        if not dominated:
            survivors.append(i)
    return survivors
