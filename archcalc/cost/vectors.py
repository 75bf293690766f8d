"""Exact vectorised evaluation of plans (archcalc.cost.plan) over a grid or paired points.

`AtomValues` evaluates every atom exactly (Python ints and Fractions, through
archcalc.rounding) once per distinct alpha and once per distinct r of a request. Composite
atoms A_j and R_j become `ExactVector`s: int64 where every value is a whole number within
int64, else numpy object arrays of Python ints/Fractions. A `SeparableSum` is then
`sum_j A_j[:, None] * R_j[None, :]` (a grid) or `sum_j A_j[ia] * R_j[ir]` (paired points),
in int64 only after proving an upper bound on every intermediate below 2^63 (else in exact
Python ints: slower, never wrong).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

from ..numbers import exact_python
from .plan import (ONE, Constant, Extremum, PointFunction, Power, Product, SeparableSum,
                   Sum)
from .vector_source import SAFE_BOUND

INT64_MAX = 2**63 - 1
FLOAT_EXACT = 2**53              # every integer below it is a float64, and so are sums


@dataclass
class ExactVector:
    """An exact vector: int64 when every value is an int within int64, else object."""
    values: Any
    bound: int | None      # max |v| when int64-eligible, None for object (Fractions or huge)


def exact_vector(arr) -> ExactVector:
    import numpy as np
    if len(arr) and set(map(type, arr)) == {int}:     # Python ints only (one C-level pass)
        try:
            ints = np.array(arr.tolist() if hasattr(arr, "tolist") else list(arr),
                            dtype=np.int64)
        except OverflowError:                         # past int64: exact objects below
            pass
        else:
            bound = max(int(ints.max()), -int(ints.min()))
            if bound <= INT64_MAX:                    # (not -2**63, as below)
                return ExactVector(ints, bound)
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
            return ExactVector(np.array(out, dtype=np.int64), bound)
    obj = np.empty(len(out), dtype=object)
    obj[:] = out
    return ExactVector(obj, None)


def fits_int64(value) -> bool:
    return isinstance(value, int) and abs(value) <= INT64_MAX


def _base_values(fn, array_fn, values):
    """fn at each of `values` (ints), as an object array of Python ints: on the whole int64
    array at once where archcalc.cost.vector_source proves that exact, else one call each."""
    import numpy as np
    if values and all(type(v) is int for v in values):
        bound = max(max(values), -min(values))
        if bound <= SAFE_BOUND:
            out = array_fn(np.array(values, dtype=np.int64), bound)
            if out is not None:
                return out.astype(object)
    return np.array([fn(v) for v in values] or [0], dtype=object)[:len(values)]


ARRAY_WIDTHS = 32        # from this many widths, width atoms and checks go through numpy


def _alpha_base(side, alphas) -> tuple[list, list]:
    """([each base atom of the width at every width], [max |value| of each, None where
    unknown]): int64 arrays where archcalc.cost.alpha_arrays evaluates them exactly on all
    widths at once, else object arrays of the exact values, one call per width."""
    import numpy as np

    from .alpha_arrays import ratios
    many = ratios(alphas) if len(alphas) >= ARRAY_WIDTHS else None
    values, bounds = [], []
    for i, fn in enumerate(side.base_fns):
        ints = side.ratio_fn(i)(many) if many is not None else None
        if ints is None:
            values.append(np.array([fn(a) for a in alphas] or [0], dtype=object)[:len(alphas)])
            bounds.append(None)
        else:
            values.append(ints)
            bounds.append(max(int(ints.max()), -int(ints.min())))
    return values, bounds


def _alpha_composites(side, base: list, bounds: list, zeros) -> list:
    """Each composite atom of the width (a polynomial in the base atoms) as an ExactVector:
    on the int64 base arrays where a majorant of every intermediate stays below 2^62
    (vector_source), else in exact Python ints (the base atoms as object arrays)."""
    import numpy as np
    n = len(zeros)
    exact = None
    out = []
    for j, fn in enumerate(side.comp_fns):
        ints = side.comp_array(j)(base, bounds, n) if n >= ARRAY_WIDTHS else None
        if ints is not None:
            ints = np.ascontiguousarray(ints)
            out.append(ExactVector(ints, max(int(ints.max()), -int(ints.min()))))
            continue
        if exact is None:
            exact = [b if b.dtype == object else b.astype(object) for b in base]
        out.append(exact_vector(fn(exact, zeros)))
    return out


def _memo(memo: dict, key, make):
    found = memo.get(key)
    if found is None:
        found = memo[key] = make()
    return found


class AtomValues:
    """Exact atom values for one request: per distinct alpha and per distinct r (`planner`:
    the archcalc.cost.plan.Planner whose atoms these are)."""

    def __init__(self, planner, alphas: Sequence[Fraction], rs: Sequence[int],
                 r_memo: dict | None = None):
        """`r_memo`: {atom expression: values} shared by the AtomValues of one request over
        the same resolutions (the structural variants of a sweep: their r atoms are mostly
        the same expressions, e.g. ceiling(r/2)); a value is a function of its expression
        and the resolutions alone, so sharing it changes nothing."""
        import numpy as np
        self.n_a, self.n_r = len(alphas), len(rs)
        memo = {} if r_memo is None else r_memo
        self.a_base, a_bounds = _alpha_base(planner.alpha_side, alphas)
        self.r_base = [_memo(memo, ("base", e), lambda: _base_values(fn, array_fn, rs))
                       for e, fn, array_fn in zip(planner.r_side.base, planner.r_side.base_fns,
                                                  planner.r_side.base_arrays)]
        za = np.zeros(self.n_a, dtype=object)
        zr = np.zeros(self.n_r, dtype=object)
        self.alpha_vectors = _alpha_composites(planner.alpha_side, self.a_base, a_bounds, za)
        self.r_vectors = [_memo(memo, ("comp", e), lambda: exact_vector(fn(self.r_base, zr)))
                          for e, fn in zip(planner.r_side.comp, planner.r_side.comp_fns)]
        self.alphas, self.rs = alphas, rs
        self._signs: dict = {}            # (side, base atom index): every value >= 0

    def r_composite_nonnegative(self, j) -> bool:
        """Whether every value of composite r atom j is >= 0 (checked once)."""
        ok = self._signs.get(("rc", j))
        if ok is None:
            ok = self._signs[("rc", j)] = bool((self.r_vectors[j].values >= 0).all())
        return ok

    def nonnegative(self, alpha_idx, r_idx) -> bool:
        """Whether every value of these base atoms is >= 0 (each atom checked once)."""
        signs = self._signs
        for side, idx, base in (("a", alpha_idx, self.a_base), ("r", r_idx, self.r_base)):
            for i in idx:
                ok = signs.get((side, i))
                if ok is None:
                    ok = signs[(side, i)] = bool((base[i] >= 0).all())
                if not ok:
                    return False
        return True


class PlanContext:
    """Evaluates plan nodes on one AtomValues; subclasses lay the atoms out (grid or pairs)."""

    def __init__(self, values: AtomValues):
        import numpy as np
        self.np = np
        self.v = values
        self._cache: dict = {}

    def eval(self, node):
        np = self.np
        if isinstance(node, Constant):
            return self.constant(node.value)
        if isinstance(node, SeparableSum):
            return self._separable(node)
        if isinstance(node, Extremum):
            children = node.children
            if node.survivors is not None and self.v.nonnegative(node.guard_alpha, node.guard_r):
                children = [children[i] for i in node.survivors]
            results, products = self._extremum_children(children, node.is_max)
            return self._fold(results, products, np.maximum if node.is_max else np.minimum)
        if isinstance(node, (Sum, Product, Power)):
            kids = [self.eval(c) for c in (node.children if not isinstance(node, Power)
                                           else [node.child])]
            # generic combination in exact Python ints (object dtype): rare, never overflows
            kids = [k.astype(object) for k in kids]
            if isinstance(node, Sum):
                out = kids[0]
                for k in kids[1:]:
                    out = out + k
            elif isinstance(node, Product):
                out = kids[0]
                for k in kids[1:]:
                    out = out * k
            else:
                out = kids[0] ** node.n
            return out
        if isinstance(node, PointFunction):
            return self.point(node.fn)
        raise AssertionError(node)

    def _extremum_children(self, children, is_max: bool) -> tuple[list, list]:
        """(the children of a max / min evaluated as they are, [(A, R)]: products still to
        form). Children that are one product A_i(alpha) * R_j(r) within int64 are kept as
        (A, R) pairs, and those sharing R_j >= 0 combined first as max_i(A_i) * R_j (exact:
        r >= 0 gives max(a r, b r) = max(a, b) r, and min alike): one grid product per
        distinct R_j instead of one per child (peak memory: a max over every step)."""
        np = self.np
        by_r: dict = {}
        rest = []
        for child in children:
            if isinstance(child, SeparableSum) and len(child.terms) == 1:
                by_r.setdefault(child.terms[0][1], []).append(child)
            else:
                rest.append(child)
        results = [self.eval(c) for c in rest]
        products = []
        fn = np.maximum if is_max else np.minimum
        for rj, group in by_r.items():
            r = self.v.r_vectors[rj]
            alphas = [self.v.alpha_vectors[c.terms[0][0]] for c in group]
            if (r.bound is None or any(a.bound is None for a in alphas)
                    or max(a.bound for a in alphas) * r.bound > INT64_MAX
                    or (len(group) > 1 and not self.v.r_composite_nonnegative(rj))):
                results.extend(self.eval(c) for c in group)
                continue
            atoms = [self.alpha_atom(c.terms[0][0], False) for c in group]
            products.append((atoms[0] if len(atoms) == 1 else fn.reduce(atoms),
                             self.r_atom(rj, False)))
        return results, products

    def _fold(self, results: list, products: list, fn):
        """fn (np.maximum or np.minimum) over the arrays `results` and the int64 products A * R
        of `products`, element-wise: the products formed one at a time into one scratch
        array, so that memory is two grids whatever the number of children."""
        np = self.np
        shape = np.broadcast_shapes(*(r.shape for r in results),
                                    *(np.broadcast_shapes(a.shape, r.shape) for a, r in products))
        if any(res.dtype == object for res in results):      # exact Python ints throughout
            results = [res.astype(object) for res in results] + \
                [(a * r).astype(object) for a, r in products]
            products = []
        if products:
            a, r = products[0]
            acc, products = a * r, products[1:]              # a new array, ours to overwrite
            if acc.shape != shape:
                acc = np.array(np.broadcast_to(acc, shape))
        else:       # a copy: a result may be an atom vector a context caches (PairContext's)
            acc, results = np.array(np.broadcast_to(results[0], shape)), results[1:]
        scratch = None
        for a, r in products:
            if scratch is None or scratch.shape != np.broadcast_shapes(a.shape, r.shape):
                scratch = np.empty(np.broadcast_shapes(a.shape, r.shape), dtype=np.int64)
            np.multiply(a, r, out=scratch)
            fn(acc, scratch, out=acc)
        for res in results:
            fn(acc, res, out=acc)
        return acc

    def _separable(self, node: SeparableSum):
        np = self.np
        alpha_vectors, r_vectors = self.v.alpha_vectors, self.v.r_vectors
        bound, obj = 0, False
        for ai, rj in node.terms:
            a, r = alpha_vectors[ai], r_vectors[rj]
            if a.bound is None or r.bound is None:
                obj = True
                break
            bound += a.bound * r.bound
        if bound > INT64_MAX:
            obj = True
        acc, owned = None, False
        for ai, rj in node.terms:
            a = self.alpha_atom(ai, obj)
            r = self.r_atom(rj, obj)
            if rj == ONE:
                term, fresh = a, False
            elif ai == ONE:
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

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]


class GridContext(PlanContext):
    """Alpha atoms as columns (the widths `rows`: a slice, or a list of indices, of the
    values' widths), r atoms as a row: results broadcast to a grid."""

    def __init__(self, values: AtomValues, rows):
        super().__init__(values)
        if not isinstance(rows, slice):
            rows = list(rows)
            if rows and rows == list(range(rows[0], rows[-1] + 1)):
                rows = slice(rows[0], rows[-1] + 1)       # contiguous: views, not copies
            else:
                rows = self.np.array(rows, dtype=self.np.intp)
        self.rows = rows
        self.n_rows = len(range(values.n_a)[rows]) if isinstance(rows, slice) else len(rows)

    def alpha_atom(self, i, obj):
        def make():
            v = self.v.alpha_vectors[i].values[self.rows]
            return (v.astype(object) if obj else v)[:, None]
        return self._cached(("a", i, obj), make)

    def r_atom(self, j, obj):
        def make():
            v = self.v.r_vectors[j].values
            return (v.astype(object) if obj else v)[None, :]
        return self._cached(("r", j, obj), make)

    def constant(self, value):
        np = self.np
        return np.full((1, 1), value, dtype=np.int64 if fits_int64(value) else object)

    def _separable(self, node: SeparableSum):
        """A sum of three or more products A_j(alpha) R_j(r) over the block as one matrix
        product [A_1 .. A_k] @ [R_1; ..; R_k] in float64 (BLAS), exact because every product
        and partial sum is an integer below 2^53 in magnitude (the bound summed over the
        terms, as for int64), then int64; otherwise term by term."""
        np = self.np
        terms = node.terms
        if len(terms) < 3:
            return super()._separable(node)
        alpha_vectors, r_vectors = self.v.alpha_vectors, self.v.r_vectors
        bound = 0
        for ai, rj in terms:
            a, r = alpha_vectors[ai], r_vectors[rj]
            if a.bound is None or r.bound is None:
                return super()._separable(node)
            bound += a.bound * r.bound
        if bound >= FLOAT_EXACT:
            return super()._separable(node)
        left = np.empty((self.n_rows, len(terms)), dtype=np.float64)
        right = np.empty((len(terms), self.v.n_r), dtype=np.float64)
        for k, (ai, rj) in enumerate(terms):
            left[:, k] = alpha_vectors[ai].values[self.rows]
            right[k] = r_vectors[rj].values
        return (left @ right).astype(np.int64)

    def point(self, fn):
        np = self.np
        out = np.empty((self.n_rows, self.v.n_r), dtype=object)
        alphas = self.v.alphas
        picked = (alphas[self.rows] if isinstance(self.rows, slice)
                  else [alphas[k] for k in self.rows])
        for i, a in enumerate(picked):
            for j, r in enumerate(self.v.rs):
                out[i, j] = exact_python(fn(a, r))
        return out


class PairContext(PlanContext):
    """Paired points: atoms gathered by the points' indices into the distinct values."""

    def __init__(self, values: AtomValues, ia, ir):
        super().__init__(values)
        self.ia, self.ir = ia, ir

    def alpha_atom(self, i, obj):
        def make():
            v = self.v.alpha_vectors[i].values
            return (v.astype(object) if obj else v)[self.ia]
        return self._cached(("a", i, obj), make)

    def r_atom(self, j, obj):
        def make():
            v = self.v.r_vectors[j].values
            return (v.astype(object) if obj else v)[self.ir]
        return self._cached(("r", j, obj), make)

    def constant(self, value):
        np = self.np
        return np.full((1,), value, dtype=np.int64 if fits_int64(value) else object)

    def point(self, fn):
        np = self.np
        out = np.empty(len(self.ia), dtype=object)
        for k, (i, j) in enumerate(zip(self.ia, self.ir)):
            out[k] = exact_python(fn(self.v.alphas[i], self.v.rs[j]))
        return out


class _Chunk:
    """The widths of one variant in one chunk, their rows, and what is made of them."""

    __slots__ = ("widths", "row_of", "values", "ok")

    def __init__(self, widths: list, row_of: dict):
        self.widths, self.row_of, self.values, self.ok = widths, row_of, None, None


class BlockAtoms:
    """The atom values of a sweep's blocks (Evaluator.grid_blocks), and which of their widths
    pass the channel build checks: per structural variant and chunk of about CHUNK_WIDTHS
    widths (whole blocks), made once, on the first block of the chunk that needs them (under
    a lock: blocks may run on several threads), and dropped after the chunk's last block.
    Width atoms and checks made for many widths at once go through numpy (alpha_arrays)
    instead of one call per width, and memory stays that of one chunk."""

    CHUNK_WIDTHS = 4096

    def __init__(self, make, widths, key_of: list, rows: int, make_ok):
        """`make(key, widths)`: the AtomValues of that variant at those widths; `make_ok(key,
        widths)`: where they pass its channel checks (a bool array); `key_of`: each width's
        variant; `rows`: widths per block."""
        import threading
        self.make, self.make_ok = make, make_ok
        self.widths, self.key_of = widths, key_of
        self.span = max(1, -(-self.CHUNK_WIDTHS // rows)) * rows
        self.r_memo: dict = {}            # r atoms: computed once for every block
        self._lock = threading.Lock()
        self._made: dict = {}             # (chunk, key) -> _Chunk
        self._left = {c: len(range(c * self.span, min(len(widths), (c + 1) * self.span), rows))
                      for c in range(-(-len(widths) // self.span))}

    def _chunk(self, start: int, idx: list, what: str):
        """(the chunk holding the widths start + idx, all of one variant, with `what` made:
        "values" or "ok"; their rows in it)."""
        chunk, key = start // self.span, self.key_of[start + idx[0]]
        with self._lock:
            found = self._made.get((chunk, key))
            if found is None:
                lo, hi = chunk * self.span, min(len(self.widths), (chunk + 1) * self.span)
                mine = [i for i in range(lo, hi) if self.key_of[i] == key]
                found = self._made[(chunk, key)] = _Chunk(
                    [self.widths[i] for i in mine], {i: row for row, i in enumerate(mine)})
            if getattr(found, what) is None:
                make = self.make if what == "values" else self.make_ok
                setattr(found, what, make(key, found.widths))
        return found, [found.row_of[start + i] for i in idx]

    def rows(self, start: int, idx: list) -> tuple:
        """(the AtomValues holding the widths start + idx, all of one variant; their rows)."""
        found, rows = self._chunk(start, idx, "values")
        return found.values, rows

    def alpha_ok(self, start: int, idx: list):
        """Whether the widths start + idx (all of one variant) pass its channel checks."""
        found, rows = self._chunk(start, idx, "ok")
        return found.ok[rows]

    def finished(self, start: int) -> None:
        """The block at `start` is done: its chunk's values go after its last block."""
        chunk = start // self.span
        with self._lock:
            self._left[chunk] = left = self._left.get(chunk, 0) - 1
            if left <= 0:
                for key in [k for k in self._made if k[0] == chunk]:
                    del self._made[key]
