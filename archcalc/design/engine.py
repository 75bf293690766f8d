"""Exact, vectorised evaluation of a spec's closed forms over many (alpha, r) points.

Why not `sympy.lambdify(..., "numpy")` on the totals directly: the totals contain rounding
step functions (make_divisible, truncate, floor, ceiling) of *rational* arguments (16*alpha,
r/32, c/4), and a float evaluation of them is wrong at exactly the points that matter
(0.35 * 160 is 55.99999... in binary; make_divisible(56) != make_divisible(55.999)). So the
expressions are split by what they depend on:

* an **alpha atom** is a maximal sub-expression that depends on alpha alone (channel counts:
  `make_divisible(16*alpha, 8, 8)`, `truncate(512*alpha, 8)`, `floor(make_divisible(240*alpha,
  12, 12)/4)`, `Max(1, alpha)`, ...); an **r atom** one that depends on r alone (spatial sizes:
  `ceiling(r/32)`, `floor((r - 1)/2) + 1`, `r**2`);
* every total is then a polynomial in atoms, and after grouping by the r part it is
  separable: `madds = sum_j A_j(alpha) * R_j(r)` (for MobileNetV2, six terms, one per
  spatial size), and the peak-memory totals are a `Max` of such sums.

Atoms are evaluated **exactly** (Python ints and Fractions, through archcalc.rounding, the
same functions `archcalc report` uses) once per *distinct* alpha and once per distinct r of
the request. The A_j and R_j are exact integer vectors; the grid is then
`sum_j A_j[:, None] * R_j[None, :]` in numpy int64, after proving an upper bound on every
intermediate below 2^63 (otherwise Python-int object arrays are used: slower, never wrong).
A `Max` over many terms is first pruned at compile time: a term whose coefficients are all
<= another term's, monomial by monomial, can never be the maximum when the atoms are
non-negative, which is checked exactly on each request's atom values before the pruned list
is used. Anything that fits none of these shapes (an expression mixing alpha and r inside a
rounding function) is evaluated exactly point by point: slow, still exact.

The code generated for atoms is Python source over ints/Fractions (rationals become Fraction
constants, never float literals), compiled once per `CompiledForms`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterator, Sequence

from .. import rounding
from ..errors import OptionError

INT64_MAX = 2**63 - 1

# -- exact scalar functions the generated code calls -----------------------------------------

_FUNCS = {
    "make_divisible": "_md", "truncate": "_tr", "round_half_even": "_rh",
    "ceiling": "_ceil", "floor": "_floor", "Max": "_max", "Min": "_min",
}


def _recip(x):
    return Fraction(1) / x


_NAMESPACE_BASE = {
    "_md": rounding.make_divisible, "_tr": rounding.truncate, "_rh": rounding.round_half_even,
    "_ceil": math.ceil, "_floor": math.floor, "_max": max, "_min": min, "_recip": _recip,
    "Fraction": Fraction,
}


class _Source:
    """sympy expression -> Python source over exact ints/Fractions."""

    def __init__(self):
        self.consts: dict[str, Fraction] = {}
        self._names: dict[Fraction, str] = {}

    def const(self, q: Fraction) -> str:
        name = self._names.get(q)
        if name is None:
            name = self._names[q] = f"_q{len(self._names)}"
            self.consts[name] = q
        return name

    def __call__(self, e, leaf) -> str:
        import sympy
        name = leaf(e)
        if name is not None:
            return name
        if e.is_Integer:
            return f"({int(e)})"
        if e.is_Rational:
            return self.const(Fraction(int(e.p), int(e.q)))
        if e.is_Add:
            return "(" + " + ".join(self(a, leaf) for a in e.args) + ")"
        if e.is_Mul:
            return "(" + " * ".join(self(a, leaf) for a in e.args) + ")"
        if e.is_Pow:
            base, exp = e.args
            if exp.is_Integer:
                n = int(exp)
                if n >= 0:
                    return f"({self(base, leaf)})**{n}"
                return f"_recip(({self(base, leaf)})**{-n})"
            raise OptionError(f"cannot evaluate {e} exactly (non-integer power)")
        fname = type(e).__name__
        if fname in _FUNCS:
            return f"{_FUNCS[fname]}(" + ", ".join(self(a, leaf) for a in e.args) + ")"
        if isinstance(e, sympy.Symbol):
            raise OptionError(f"unexpected symbol {e} in a closed form")
        raise OptionError(f"cannot evaluate {fname} exactly in a closed form: {e}")

    def compile(self, args: str, body: str):
        namespace = dict(_NAMESPACE_BASE)
        namespace.update(self.consts)
        return eval(f"lambda {args}: {body}", namespace)   # noqa: S307 (generated from sympy trees)


# -- plan nodes ------------------------------------------------------------------------------

@dataclass
class _Const:
    value: Any


@dataclass
class _Sep:
    """sum_j A[a_j](alpha) * R[r_j](r)."""
    terms: list


@dataclass
class _Add:
    children: list


@dataclass
class _Mul:
    children: list


@dataclass
class _Pow:
    child: Any
    n: int


@dataclass
class _Max:
    children: list
    is_max: bool
    survivors: list | None = None      # valid when every guard atom is >= 0
    guard_alpha: tuple = ()            # alpha base-atom indices that must be >= 0
    guard_r: tuple = ()


@dataclass
class _Point:
    fn: Any     # exact scalar f(alpha, r)


def _is_pure(e, sym) -> bool:
    return e.free_symbols <= {sym}


class _Side:
    """Atoms of one variable (alpha or r): base atoms (non-polynomial functions and the bare
    symbol) and composite atoms (polynomials in base atoms), each compiled once."""

    def __init__(self, symbol, var: str, source: _Source):
        self.symbol, self.var, self.source = symbol, var, source
        self.base: list = []
        self.base_index: dict = {}
        self.base_fns: list = []
        self.comp: list = []
        self.comp_index: dict = {}
        self.comp_fns: list = []

    def base_atom(self, e) -> int:
        i = self.base_index.get(e)
        if i is None:
            i = self.base_index[e] = len(self.base)
            self.base.append(e)
            leaf = lambda x: self.var if x == self.symbol else None   # noqa: E731
            self.base_fns.append(self.source.compile(self.var, self.source(e, leaf)))
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
            body = self.source(e, self._leaf)
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


class _Values:
    """Exact atom values for one request: per distinct alpha and per distinct r."""

    def __init__(self, forms: "CompiledForms", alphas: Sequence[Fraction], rs: Sequence[int]):
        import numpy as np
        self.np = np
        self.n_a, self.n_r = len(alphas), len(rs)
        self.a_base = [np.array([fn(a) for a in alphas] or [0], dtype=object)[:self.n_a]
                       for fn in forms._a.base_fns]
        self.r_base = [np.array([fn(r) for r in rs] or [0], dtype=object)[:self.n_r]
                       for fn in forms._r.base_fns]
        za = np.zeros(self.n_a, dtype=object)
        zr = np.zeros(self.n_r, dtype=object)
        self.A = [_exact_vector(fn(self.a_base, za)) for fn in forms._a.comp_fns]
        self.R = [_exact_vector(fn(self.r_base, zr)) for fn in forms._r.comp_fns]
        self.alphas, self.rs = alphas, rs

    def nonnegative(self, alpha_idx, r_idx) -> bool:
        return (all(v >= 0 for i in alpha_idx for v in self.a_base[i])
                and all(v >= 0 for i in r_idx for v in self.r_base[i]))


@dataclass
class _Vec:
    """An exact vector: int64 when every value is an int within int64, else object."""
    values: Any
    bound: int | None      # max |v| when int64-eligible, None for object (Fractions or huge)


def _exact_vector(arr) -> _Vec:
    import numpy as np
    out = []
    integral = True
    for v in arr:
        if isinstance(v, Fraction):
            if v.denominator == 1:
                v = v.numerator
            else:
                integral = False
        out.append(v)
    if integral:
        bound = max((abs(v) for v in out), default=0)
        if bound <= INT64_MAX:
            return _Vec(np.array(out, dtype=np.int64), bound)
    obj = np.empty(len(out), dtype=object)
    obj[:] = out
    return _Vec(obj, None)


class CompiledForms:
    """A spec's closed forms, compiled for exact evaluation over grids and point lists.

    >>> forms = compile_forms("specs/mobilenet_v2.yaml")
    >>> forms.grid(["0.35", "1"], [160, 224])["madds"]   # 2 x 2 int64 array
    """

    def __init__(self, table, metrics: Sequence[str] | None = None):
        import sympy

        from .. import symbolic
        if not table.symbolic:
            raise OptionError("compile_forms needs a symbolic CostTable (archcalc.closed_form)")
        self.table = table
        self.spec, self.convention, self.dtype = table.spec, table.convention, table.dtype
        available = [k for k in table.totals
                     if k != "elementwise_ops" or table.convention.elementwise]
        if metrics is None:
            metrics = available
        unknown = [m for m in metrics if m not in table.totals]
        if unknown:
            raise OptionError(f"unknown metric {unknown[0]!r} (known: {', '.join(table.totals)})")
        self.metrics = tuple(metrics)
        self.exprs = {m: sympy.sympify(table.totals[m]) for m in self.metrics}
        self.alpha, self.r = symbolic.alpha, symbolic.r
        self._source = _Source()
        self._a = _Side(self.alpha, "alpha", self._source)
        self._r = _Side(self.r, "r", self._source)
        assert self._a.composite(sympy.Integer(1)) == _ONE == self._r.composite(sympy.Integer(1))
        self.plans = {m: self._plan(e) for m, e in self.exprs.items()}

    # -- compile ------------------------------------------------------------------------------
    def _split(self, term):
        """term = A(alpha) * R(r) -> (A, R), or None when a factor mixes both."""
        import sympy
        a, r = [], []
        for f in sympy.Mul.make_args(term):
            if _is_pure(f, self.alpha):
                a.append(f)
            elif _is_pure(f, self.r):
                r.append(f)
            else:
                return None
        return sympy.Mul(*a), sympy.Mul(*r)

    def _sep(self, pairs) -> _Sep:
        return _Sep([(self._a.composite(a), self._r.composite(r)) for a, r in pairs])

    def _plan(self, e):
        import sympy
        if not e.free_symbols:
            return _Const(_to_exact(e))
        if _is_pure(e, self.alpha):
            return self._sep([(e, sympy.Integer(1))])
        if _is_pure(e, self.r):
            return self._sep([(sympy.Integer(1), e)])
        if isinstance(e, (sympy.Max, sympy.Min)):
            return self._plan_max(e)
        if e.is_Add or e.is_Mul:
            e = sympy.expand(e, deep=False, power_base=False, power_exp=False, log=False)
        if e.is_Add:
            groups: dict = {}
            others = []
            for term in e.args:
                split = self._split(term)
                if split is None:
                    others.append(self._plan(term))
                else:
                    groups.setdefault(split[1], []).append(split[0])
            node = self._sep([(sympy.Add(*a), r) for r, a in groups.items()]) if groups else None
            if not others:
                return node
            return _Add(([node] if node else []) + others)
        if e.is_Mul:
            split = self._split(e)
            if split is not None:
                return self._sep([split])
            return _Mul([self._plan(f) for f in e.args])
        if e.is_Pow and e.args[1].is_Integer and int(e.args[1]) >= 0:
            return _Pow(self._plan(e.args[0]), int(e.args[1]))
        return self._plan_point(e)

    def _plan_point(self, e) -> _Point:
        leaf = lambda x: {self.alpha: "alpha", self.r: "r"}.get(x)   # noqa: E731
        return _Point(self._source.compile("alpha, r", self._source(e, leaf)))

    def _plan_max(self, e) -> _Max:
        import sympy
        children = list(dict.fromkeys(e.args))
        node = _Max([self._plan(c) for c in children], isinstance(e, sympy.Max))
        # Compile-time pruning of dominated terms (see the module docstring).
        polys, guard_a, guard_r = [], set(), set()
        for c in children:
            c = sympy.expand(c, deep=False, power_base=False, power_exp=False, log=False)
            terms = {}
            for term in sympy.Add.make_args(c):
                split = self._split(term)
                if split is None:
                    return node
                a_part, r_part = split
                coeff_a, mono_a = _coeff_monomial(a_part)
                coeff_r, mono_r = _coeff_monomial(r_part)
                if coeff_a is None or coeff_r is None:
                    return node
                for base in sympy.Mul.make_args(mono_a):
                    guard_a |= self._a.base_atoms_of(base)
                for base in sympy.Mul.make_args(mono_r):
                    guard_r |= self._r.base_atoms_of(base)
                key = (mono_a, mono_r)
                terms[key] = terms.get(key, 0) + coeff_a * coeff_r
            polys.append(terms)
        sign = 1 if node.is_max else -1
        survivors = []
        for i, pi in enumerate(polys):
            dominated = False
            for j, pj in enumerate(polys):
                if i == j:
                    continue
                keys = pi.keys() | pj.keys()
                diffs = [sign * (pj.get(k, 0) - pi.get(k, 0)) for k in keys]
                if all(d >= 0 for d in diffs) and (j < i or any(d > 0 for d in diffs)):
                    dominated = True
                    break
            if not dominated:
                survivors.append(i)
        node.survivors = survivors
        node.guard_alpha, node.guard_r = tuple(sorted(guard_a)), tuple(sorted(guard_r))
        return node

    # -- evaluate -----------------------------------------------------------------------------
    def _metrics(self, metrics) -> tuple:
        if metrics is None:
            return self.metrics
        metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
        for m in metrics:
            if m not in self.plans:
                raise OptionError(f"unknown metric {m!r} (known: {', '.join(self.metrics)})")
        return metrics

    def values(self, widths, resolutions) -> _Values:
        """Exact atom values for these distinct widths and resolutions (reusable)."""
        return _Values(self, _widths(widths), _resolutions(resolutions, self.spec.resolution))

    def grid(self, widths, resolutions, metrics=None, values: _Values | None = None) -> dict:
        """Every metric at every (width, resolution) of the grid: arrays of shape
        (len(widths), len(resolutions)), int64 (or exact Python ints/Fractions, dtype object)."""
        import numpy as np
        values = values or self.values(widths, resolutions)
        ctx = _GridCtx(values, 0, values.n_a)
        return {m: np.broadcast_to(ctx.eval(self.plans[m]), (values.n_a, values.n_r))
                for m in self._metrics(metrics)}

    def iter_grid(self, widths, resolutions, metrics=None, max_points: int = 1 << 20
                  ) -> Iterator[tuple[int, int, dict]]:
        """The grid in blocks of whole width rows, at most about `max_points` each:
        yields (first width index, end width index, {metric: array (rows, len(resolutions))})."""
        import numpy as np
        values = self.values(widths, resolutions)
        metrics = self._metrics(metrics)
        rows = max(1, max_points // max(values.n_r, 1))
        for start in range(0, values.n_a, rows):
            stop = min(values.n_a, start + rows)
            ctx = _GridCtx(values, start, stop)
            yield start, stop, {m: np.broadcast_to(ctx.eval(self.plans[m]), (stop - start, values.n_r))
                                for m in metrics}

    def points(self, widths, resolutions, metrics=None) -> dict:
        """Metrics at the paired points (widths[i], resolutions[i]): 1-D arrays."""
        import numpy as np
        ws = [_width(w) for w in widths]
        rs = _resolutions(list(resolutions), self.spec.resolution, unique=False)
        if len(ws) != len(rs):
            raise OptionError(f"{len(ws)} widths but {len(rs)} resolutions")
        ua = list(dict.fromkeys(ws))
        ur = list(dict.fromkeys(rs))
        pa = {w: i for i, w in enumerate(ua)}
        pr = {r: i for i, r in enumerate(ur)}
        ia = np.fromiter((pa[w] for w in ws), dtype=np.intp, count=len(ws))
        ir = np.fromiter((pr[r] for r in rs), dtype=np.intp, count=len(rs))
        values = _Values(self, ua, ur)
        ctx = _PairCtx(values, ia, ir)
        return {m: np.broadcast_to(ctx.eval(self.plans[m]), (len(ws),))
                for m in self._metrics(metrics)}

    def at(self, width, resolution=None) -> dict:
        """Every metric at one point, as exact Python numbers."""
        res = self.spec.resolution if resolution is None else resolution
        out = self.points([width], [res])
        return {m: _python(v[0]) for m, v in out.items()}

    def channel_atoms(self, widths) -> Any:
        """Exact values of every alpha base atom (channel counts) at each width: an object
        array (len(widths), atoms). Two widths with equal rows give the same network."""
        import numpy as np
        ws = _widths(widths)
        cols = [[fn(w) for w in ws] for fn in self._a.base_fns]
        out = np.empty((len(ws), len(cols)), dtype=object)
        for j, col in enumerate(cols):
            out[:, j] = col
        return out

    @property
    def alpha_base_atoms(self) -> list:
        return list(self._a.base)

    @property
    def r_base_atoms(self) -> list:
        return list(self._r.base)


def _coeff_monomial(e):
    """e = c * (product of non-numeric factors) -> (c as Fraction, product), or (None, None)."""
    import sympy
    c, rest = e.as_coeff_Mul()
    if not c.is_Rational:
        return None, None
    return Fraction(int(c.p), int(c.q)), rest if rest != 1 else sympy.Integer(1)


class _Ctx:
    def __init__(self, values: _Values):
        import numpy as np
        self.np = np
        self.v = values

    def eval(self, node):
        np = self.np
        if isinstance(node, _Const):
            return self._const(node.value)
        if isinstance(node, _Sep):
            return self._sep(node)
        if isinstance(node, _Max):
            children = node.children
            if node.survivors is not None and self.v.nonnegative(node.guard_alpha, node.guard_r):
                children = [children[i] for i in node.survivors]
            results = [self.eval(c) for c in children]
            obj = any(r.dtype == object for r in results)
            fn = np.maximum if node.is_max else np.minimum
            acc = results[0].astype(object) if obj else results[0]
            acc = np.array(np.broadcast_to(acc, np.broadcast_shapes(*(r.shape for r in results))))
            for res in results[1:]:
                fn(acc, res.astype(object) if obj else res, out=acc)
            return acc
        if isinstance(node, (_Add, _Mul, _Pow)):
            kids = [self.eval(c) for c in (node.children if not isinstance(node, _Pow) else [node.child])]
            # generic combination in exact Python ints (object dtype): rare, never overflows
            kids = [k.astype(object) for k in kids]
            if isinstance(node, _Add):
                out = kids[0]
                for k in kids[1:]:
                    out = out + k
            elif isinstance(node, _Mul):
                out = kids[0]
                for k in kids[1:]:
                    out = out * k
            else:
                out = kids[0] ** node.n
            return out
        if isinstance(node, _Point):
            return self._point(node.fn)
        raise AssertionError(node)

    def _sep(self, node: _Sep):
        np = self.np
        A, R = self.v.A, self.v.R
        bound, obj = 0, False
        for ai, rj in node.terms:
            a, r = A[ai], R[rj]
            if a.bound is None or r.bound is None:
                obj = True
                break
            bound += a.bound * r.bound
        if bound > INT64_MAX:
            obj = True
        acc, owned = None, False
        one_a = one_r = _ONE   # the constant-1 composite is registered first on each side
        for ai, rj in node.terms:
            a = self.a(ai, obj)
            r = self.r(rj, obj)
            if rj == one_r:
                term, fresh = a, False
            elif ai == one_a:
                term, fresh = r, False
            else:
                term, fresh = a * r, True
            if acc is None:
                acc, owned = term, fresh
            elif owned and acc.shape == np.broadcast_shapes(acc.shape, term.shape):
                acc += term          # in place: acc was made here, never a cached atom vector
            else:
                acc, owned = acc + term, True
        return acc


_ONE = 0


class _GridCtx(_Ctx):
    """Alpha atoms as columns (rows start:stop), r atoms as a row: results broadcast to a grid."""

    def __init__(self, values: _Values, start: int, stop: int):
        super().__init__(values)
        self.start, self.stop = start, stop
        self._cache: dict = {}

    def a(self, i, obj):
        key = ("a", i, obj)
        if key not in self._cache:
            v = self.v.A[i].values[self.start:self.stop]
            self._cache[key] = (v.astype(object) if obj else v)[:, None]
        return self._cache[key]

    def r(self, j, obj):
        key = ("r", j, obj)
        if key not in self._cache:
            v = self.v.R[j].values
            self._cache[key] = (v.astype(object) if obj else v)[None, :]
        return self._cache[key]

    def _const(self, value):
        np = self.np
        return np.full((1, 1), value, dtype=np.int64 if _fits_int64(value) else object)

    def _point(self, fn):
        np = self.np
        out = np.empty((self.stop - self.start, self.v.n_r), dtype=object)
        for i, a in enumerate(self.v.alphas[self.start:self.stop]):
            for j, r in enumerate(self.v.rs):
                out[i, j] = _python(fn(a, r))
        return out


class _PairCtx(_Ctx):
    """Paired points: atoms gathered by the points' indices into the distinct values."""

    def __init__(self, values: _Values, ia, ir):
        super().__init__(values)
        self.ia, self.ir = ia, ir
        self._cache: dict = {}

    def a(self, i, obj):
        key = ("a", i, obj)
        if key not in self._cache:
            v = self.v.A[i].values
            self._cache[key] = (v.astype(object) if obj else v)[self.ia]
        return self._cache[key]

    def r(self, j, obj):
        key = ("r", j, obj)
        if key not in self._cache:
            v = self.v.R[j].values
            self._cache[key] = (v.astype(object) if obj else v)[self.ir]
        return self._cache[key]

    def _const(self, value):
        np = self.np
        return np.full((1,), value, dtype=np.int64 if _fits_int64(value) else object)

    def _point(self, fn):
        np = self.np
        out = np.empty(len(self.ia), dtype=object)
        for k, (i, j) in enumerate(zip(self.ia, self.ir)):
            out[k] = _python(fn(self.v.alphas[i], self.v.rs[j]))
        return out


def _fits_int64(value) -> bool:
    return isinstance(value, int) and abs(value) <= INT64_MAX


def _to_exact(e):
    if e.is_Integer:
        return int(e)
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    raise OptionError(f"not an exact number: {e}")


def _python(v):
    """numpy scalar / Fraction -> exact Python int (or Fraction when not whole)."""
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else v
    if hasattr(v, "item"):
        return v.item()
    return v


def _width(w) -> Fraction:
    if isinstance(w, Fraction):
        if w <= 0:
            raise OptionError(f"width must be positive, got {w}")
        return w
    from ..graph.compile import parse_width
    return parse_width(w)


def _widths(widths) -> list[Fraction]:
    if isinstance(widths, str):
        from .grid import parse_widths
        return parse_widths(widths)
    return list(dict.fromkeys(_width(w) for w in widths))


def _resolutions(resolutions, base: int, unique: bool = True) -> list[int]:
    from ..graph.compile import parse_resolution
    if isinstance(resolutions, str):
        from .grid import parse_resolutions
        return parse_resolutions(resolutions, base)
    out = [r if isinstance(r, int) and not isinstance(r, bool) and r > 0 else parse_resolution(r, base)
           for r in resolutions]
    return list(dict.fromkeys(out)) if unique else out


def compile_forms(spec, *, convention="paper", dtype: str = "fp32", sets=None,
                  metrics: Sequence[str] | None = None) -> CompiledForms:
    """Compile a spec (path or NetworkSpec) once; evaluate it exactly at any number of points.
    `metrics` defaults to the totals `archcalc report` prints."""
    from ..api import closed_form
    return CompiledForms(closed_form(spec, convention=convention, dtype=dtype, sets=sets), metrics)
