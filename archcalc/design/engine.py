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


def _ceil_div(n: int, d: int) -> int:
    return -((-n) // d)


def _floor_div(n: int, d: int) -> int:
    return n // d


_NAMESPACE_BASE = {
    "_md": rounding.make_divisible, "_tr": rounding.truncate, "_rh": rounding.round_half_even,
    "_ceil": math.ceil, "_floor": math.floor, "_max": max, "_min": min, "_recip": _recip,
    "_ceil_div": _ceil_div, "_floor_div": _floor_div,
    "Fraction": Fraction,
}


def _integer_ratio(arg):
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
        if fname in ("ceiling", "floor"):
            fast = _integer_ratio(e.args[0])
            if fast is not None:     # ceil(n / d) with n integer-valued: int arithmetic only
                n, d = fast
                fn = "_ceil_div" if fname == "ceiling" else "_floor_div"
                return f"{fn}({self(n, leaf)}, {d})"
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

    def __init__(self, table, metrics: Sequence[str] | None = None, graph=None):
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
        # Structural guards (archcalc.graph.compile: residual adds decided on actual widths):
        # where one fires, the closed forms above do not hold; those widths are evaluated with
        # variant forms compiled for their structure (see _variant).
        self.guards = tuple(getattr(table, "guards", ()) or ())
        self._guard_fns = []
        for g in self.guards:
            if g in (sympy.true, sympy.false):     # decided by sympy (e.g. Eq(32*alpha, 16*alpha))
                self._guard_fns.append(lambda a, v=bool(g): v)
                continue
            leaf = lambda x: "alpha" if x == self.alpha else None   # noqa: E731
            lhs, rhs = g.args
            op = {"Equality": "==", "Unequality": "!="}.get(type(g).__name__)
            if op is None or not (g.free_symbols <= {self.alpha}):
                raise OptionError(f"unsupported structural guard {g}")
            self._guard_fns.append(self._source.compile(
                "alpha", f"({self._source(lhs, leaf)}) {op} ({self._source(rhs, leaf)})"))
        self._variants: dict = {}
        self._representative: dict = {}
        self._validity = _Validity(graph, self.guards, self._source, self.alpha, self.r) \
            if graph is not None else None

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
        node.survivors = survivors
        node.guard_alpha, node.guard_r = tuple(sorted(guard_a)), tuple(sorted(guard_r))
        return node

    # -- structural variants ------------------------------------------------------------------
    def _fires(self, width: Fraction) -> tuple:
        return tuple(bool(fn(width)) for fn in self._guard_fns)

    def _partition(self, widths) -> dict:
        """{key: [indices]}: key () for widths where the closed forms hold, else the exact
        channel counts (all alpha atoms) of the network, which fix its structure."""
        if not self._guard_fns:
            return {(): list(range(len(widths)))}
        groups: dict = {}
        memo: dict = {}
        for i, w in enumerate(widths):
            key = memo.get(w)
            if key is None:
                if any(self._fires(w)):
                    key = tuple(fn(w) for fn in self._a.base_fns)
                    self._representative.setdefault(key, w)
                else:
                    key = ()
                memo[w] = key
            groups.setdefault(key, []).append(i)
        return groups

    def _variant(self, key: tuple) -> "CompiledForms":
        """The forms for the widths of one guarded network: the spec compiled at that width
        with r symbolic, its residual adds decided on the actual channel counts (as a concrete
        compile decides them), so one evaluation serves every resolution."""
        if not key:
            return self
        if key not in self._variants:
            table, graph = _compile_at_width(self.spec, self._representative[key],
                                             self.convention, self.dtype)
            self._variants[key] = CompiledForms(table, self.metrics, graph)
        return self._variants[key]

    def _stitch(self, widths, call) -> dict:
        """Evaluate `call(forms, indices)` per guard pattern and put the rows back in order."""
        import numpy as np
        groups = self._partition(widths)
        if len(groups) == 1:
            (key, idx), = groups.items()
            return call(self._variant(key), idx)
        parts = {key: (idx, call(self._variant(key), idx)) for key, idx in groups.items()}
        out = {}
        for m in next(iter(parts.values()))[1]:
            arrays = [res[m] for _, res in parts.values()]
            obj = any(a.dtype == object for a in arrays)
            shape = (len(widths),) + arrays[0].shape[1:]
            full = np.empty(shape, dtype=object if obj else np.int64)
            for idx, res in parts.values():
                full[np.asarray(idx, dtype=np.intp)] = res[m]
            out[m] = full
        return out

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
        metrics = self._metrics(metrics)
        if values is not None and not self._guard_fns:
            return self._grid(values, metrics)
        ws = _widths(widths)
        rs = _resolutions(resolutions, self.spec.resolution)
        return self._stitch(ws, lambda forms, idx: forms._grid(
            forms.values([ws[i] for i in idx], rs), metrics))

    def _grid(self, values: _Values, metrics) -> dict:
        import numpy as np
        ctx = _GridCtx(values, 0, values.n_a)
        return {m: np.broadcast_to(ctx.eval(self.plans[m]), (values.n_a, values.n_r)) for m in metrics}

    def iter_grid(self, widths, resolutions, metrics=None, max_points: int = 1 << 20
                  ) -> Iterator[tuple[int, int, dict]]:
        """The grid in blocks of whole width rows, at most about `max_points` each:
        yields (first width index, end width index, {metric: array (rows, len(resolutions))})."""
        import numpy as np
        metrics = self._metrics(metrics)
        ws = _widths(widths)
        rs = _resolutions(resolutions, self.spec.resolution)
        rows = max(1, max_points // max(len(rs), 1))
        if list(self._partition(ws)) != [()]:
            for start in range(0, len(ws), rows):
                stop = min(len(ws), start + rows)
                yield start, stop, self.grid(ws[start:stop], rs, metrics)
            return
        values = self.values(ws, rs)
        for start in range(0, values.n_a, rows):
            stop = min(values.n_a, start + rows)
            ctx = _GridCtx(values, start, stop)
            yield start, stop, {m: np.broadcast_to(ctx.eval(self.plans[m]), (stop - start, values.n_r))
                                for m in metrics}

    def points(self, widths, resolutions, metrics=None) -> dict:
        """Metrics at the paired points (widths[i], resolutions[i]): 1-D arrays."""
        import numpy as np
        metrics = self._metrics(metrics)
        ua, ia = _index(widths, _width)
        ur, ir = _index(resolutions, lambda r: _resolutions([r], self.spec.resolution)[0])
        if len(ia) != len(ir):
            raise OptionError(f"{len(ia)} widths but {len(ir)} resolutions")
        groups = self._partition(ua)
        if len(groups) == 1:
            (key, _), = groups.items()
            return self._variant(key)._points(ua, ur, ia, ir, metrics)
        out: dict = {}
        group_of = np.empty(len(ua), dtype=np.intp)
        keys = list(groups)
        for g, key in enumerate(keys):
            group_of[groups[key]] = g
        point_group = group_of[ia]
        for g, key in enumerate(keys):
            sel = np.flatnonzero(point_group == g)
            res = self._variant(key)._points(ua, ur, ia[sel], ir[sel], metrics)
            for m, arr in res.items():
                if m not in out:
                    out[m] = np.empty(len(ia), dtype=arr.dtype)
                elif arr.dtype == object and out[m].dtype != object:
                    out[m] = out[m].astype(object)
                out[m][sel] = arr
        return out

    def _points(self, ua, ur, ia, ir, metrics) -> dict:
        """Points given as indices into distinct widths `ua` and resolutions `ur`."""
        import numpy as np
        used_a = np.unique(ia)
        used_r = np.unique(ir)
        remap_a = np.zeros(len(ua), dtype=np.intp)
        remap_a[used_a] = np.arange(len(used_a))
        remap_r = np.zeros(len(ur), dtype=np.intp)
        remap_r[used_r] = np.arange(len(used_r))
        values = _Values(self, [ua[i] for i in used_a], [ur[i] for i in used_r])
        ctx = _PairCtx(values, remap_a[ia], remap_r[ir])
        return {m: np.broadcast_to(ctx.eval(self.plans[m]), (len(ia),)) for m in metrics}

    def valid(self, widths, resolutions) -> Any:
        """Where the spec can be built (as a concrete compile checks it: channels left, spatial
        sizes >= 1, groups dividing channels, equal shapes at adds and concats): a bool array
        (len(widths), len(resolutions)). All True when the forms carry no graph."""
        import numpy as np
        ws = _widths(widths)
        rs = _resolutions(resolutions, self.spec.resolution)

        def call(forms, idx):
            sub = [ws[i] for i in idx]
            if forms._validity is None:
                return {"valid": np.ones((len(sub), len(rs)), dtype=bool)}
            return {"valid": np.outer(forms._validity.alpha_ok(sub), forms._validity.r_ok(rs))}
        return self._stitch(ws, call)["valid"].astype(bool)

    def valid_points(self, widths, resolutions) -> Any:
        """valid() at paired points: a 1-D bool array."""
        import numpy as np
        ws = [_width(w) for w in widths]
        rs = _resolutions(list(resolutions), self.spec.resolution, unique=False)

        def call(forms, idx):
            if forms._validity is None:
                return {"valid": np.ones(len(idx), dtype=bool)}
            a = forms._validity.alpha_ok([ws[i] for i in idx])
            r = forms._validity.r_ok([rs[i] for i in idx])
            return {"valid": a & r}
        return self._stitch(ws, call)["valid"].astype(bool)

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


class _Validity:
    """The checks a concrete compile makes (archcalc.graph.compile.RowCompiler._check), as exact
    conditions on alpha alone and on r alone, read off the symbolic graph."""

    def __init__(self, graph, guards, source: _Source, alpha, r):
        from ..ops import OpKind
        pos, div, eq_a, ge1, eq_r = {}, {}, {}, {}, {}
        guard_pairs = {frozenset(g.args) for g in guards}

        def add(bucket, key):
            bucket.setdefault(key, None)

        for name in graph.names:
            op = graph.op(name)
            if op.kind is OpKind.INPUT:
                continue
            ins = [graph.shape(u) for u in graph.inputs(name)]
            c, h, w = graph.shape(name)
            if op.kind is OpKind.ADD:
                if ins[0][0] != ins[1][0] and frozenset((ins[0][0], ins[1][0])) not in guard_pairs:
                    add(eq_a, (ins[0][0], ins[1][0]))
                for k in (1, 2):
                    if ins[0][k] != ins[1][k]:
                        add(eq_r, (ins[0][k], ins[1][k]))
            if op.kind is OpKind.CONCAT:
                for other in ins[1:]:
                    for k in (1, 2):
                        if ins[0][k] != other[k]:
                            add(eq_r, (ins[0][k], other[k]))
            if op.groups != 1 and isinstance(op.groups, int):
                add(div, (ins[0][0], op.groups))
                if op.out_ch is not None:
                    add(div, (op.out_ch, op.groups))
            add(pos, c)
            add(ge1, h)
            add(ge1, w)
        leaf_a = lambda x: "alpha" if x == alpha else None   # noqa: E731
        leaf_r = lambda x: "r" if x == r else None            # noqa: E731

        def fn(e, var, leaf):
            import sympy
            e = sympy.sympify(e)
            if not e.free_symbols <= {alpha if var == "alpha" else r}:
                return None        # mixed (never produced by the compiler): not checked
            return source.compile(var, source(e, leaf))

        self.a_checks = []
        for e in pos:
            f = fn(e, "alpha", leaf_a)
            if f is not None:
                self.a_checks.append(lambda a, f=f: f(a) > 0)
        for e, g in div:
            f = fn(e, "alpha", leaf_a)
            if f is not None:
                self.a_checks.append(lambda a, f=f, g=g: _not_int(v := f(a)) or v % g == 0)
        for e1, e2 in eq_a:
            f1, f2 = fn(e1, "alpha", leaf_a), fn(e2, "alpha", leaf_a)
            if f1 is not None and f2 is not None:
                self.a_checks.append(lambda a, f1=f1, f2=f2: f1(a) == f2(a))
        self.r_checks = []
        for e in ge1:
            f = fn(e, "r", leaf_r)
            if f is not None:
                self.r_checks.append(lambda x, f=f: f(x) >= 1)
        for e1, e2 in eq_r:
            f1, f2 = fn(e1, "r", leaf_r), fn(e2, "r", leaf_r)
            if f1 is not None and f2 is not None:
                self.r_checks.append(lambda x, f1=f1, f2=f2: f1(x) == f2(x))

    def alpha_ok(self, widths):
        import numpy as np
        return np.array([all(chk(w) for chk in self.a_checks) for w in widths], dtype=bool)

    def r_ok(self, rs):
        import numpy as np
        return np.array([all(chk(x) for chk in self.r_checks) for x in rs], dtype=bool)


def _not_int(v) -> bool:
    return not (isinstance(v, int) or (isinstance(v, Fraction) and v.denominator == 1))


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


def _index(values, convert) -> tuple[list, Any]:
    """(distinct converted values, index array into them), converting each raw value once."""
    import numpy as np
    seen: dict = {}
    distinct: list = []
    pos: dict = {}

    def lookup(v):
        i = seen.get(id(v))      # by identity first: hashing a Fraction is slow; `values`
        if i is None:            # keeps every object alive, so ids are not reused meanwhile
            c = convert(v)
            i = pos.get(c)
            if i is None:
                i = pos[c] = len(distinct)
                distinct.append(c)
            seen[id(v)] = i
        return i
    values = list(values)
    return distinct, np.fromiter((lookup(v) for v in values), dtype=np.intp, count=len(values))


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


def _compile_at_width(spec, width: Fraction, convention, dtype: str):
    """The CostTable of `spec` at one width with r symbolic: channel counts are numbers, so
    every residual add is decided on the actual widths, exactly as at a concrete point."""
    from ..cost import analyze
    from ..graph import compile_graph
    graph = compile_graph(spec, width, symbolic="r")
    return analyze(graph, convention, dtype), graph


def compile_forms(spec, *, convention="paper", dtype: str = "fp32", sets=None,
                  metrics: Sequence[str] | None = None) -> CompiledForms:
    """Compile a spec (path or NetworkSpec) once; evaluate it exactly at any number of points.
    `metrics` defaults to the totals `archcalc report` prints."""
    from ..api import convention_named, load
    from ..cost import analyze
    from ..graph import compile_graph
    conv = convention_named(convention)
    graph = compile_graph(load(spec, sets, conv), symbolic=True)
    return CompiledForms(analyze(graph, conv, dtype), metrics, graph)
