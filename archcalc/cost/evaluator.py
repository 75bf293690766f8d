"""The one evaluator of a spec's costs away from a single compile: rows at a point, totals over
grids and paired points, and where the spec can be built, all exact.

    >>> from archcalc.cost import Evaluator
    >>> ev = Evaluator("specs/mobilenet_v2.yaml", convention="torchvision")
    >>> ev.table("0.75", 160).totals["madds"]           # every op's row at a point (CostTable)
    >>> ev.totals(["0.35", "1"], [160, 224])["madds"]   # a 2 x 2 int64 grid
    >>> ev.points(["0.35", "1.4"], [160, 224])          # paired points: 1-D arrays
    >>> ev.valid("0.25:1.5:0.05", "96:320:16")          # bool grid: where the spec builds

The spec is compiled once with alpha and r symbolic (archcalc.graph, archcalc.cost.analyze);
its totals are planned into separable sums of atoms (archcalc.cost.plan) evaluated exactly
and vectorised (archcalc.cost.vectors), its rows compiled for points (archcalc.cost.rows) and
its build checks read off as conditions (archcalc.cost.validity). All generated code comes
from archcalc.cost.codegen.

Where the closed forms do not hold (a structural guard fires: residual adds are decided on
the actual widths, e.g. MobileNetV2 at alpha <= 5/18), the widths of each such network are
evaluated with forms compiled at that width with r symbolic (`symbolic="r"`), and `table()`
compiles the point itself; where the spec cannot be built, `table()` raises the SpecError a
compile raises there.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterator, Sequence

from ..errors import OptionError
from ..numbers import exact_python
from .axes import distinct_index, resolution_values, width_value, width_values


class Evaluator:
    """A spec's costs, compiled once for exact evaluation at any number of points.

    `metrics` (default: the totals `archcalc report` prints) are the totals the grid and
    point queries return; `sets` binds spec parameters (the CLI's --set)."""

    def __init__(self, spec, convention="paper", dtype: str = "fp32", *, sets=None,
                 metrics: Sequence[str] | None = None):
        from ..graph import compile_graph
        from .analyze import analyze
        from .convention import convention_named
        conv = convention_named(convention)
        graph = compile_graph(bound_spec(spec, sets, conv), symbolic=True)
        self._setup(analyze(graph, conv, dtype), metrics, graph)

    @classmethod
    def from_table(cls, table, metrics: Sequence[str] | None = None, graph=None) -> "Evaluator":
        """An Evaluator of a symbolic CostTable (`graph`: its symbolic graph, for `valid()`;
        without it every point counts as buildable)."""
        self = cls.__new__(cls)
        self._setup(table, metrics, graph)
        return self

    def _setup(self, table, metrics, graph) -> None:
        import sympy

        from .. import symbolic
        from .codegen import compile_guard, guard_sides
        from .plan import Planner
        from .validity import Validity
        if not table.symbolic:
            raise OptionError("the Evaluator needs a symbolic CostTable (archcalc.closed_form)")
        self.symbolic_table = table
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
        self.planner = Planner(self.alpha, self.r)
        self.plans = {m: self.planner.plan(e) for m, e in self.exprs.items()}
        # Structural guards (archcalc.graph.compile: residual adds decided on actual widths):
        # where one fires, the closed forms above do not hold; those widths are evaluated with
        # variant forms compiled for their structure (see _variant).
        self.guards = tuple(getattr(table, "guards", ()) or ())
        source = self.planner.source
        self._guard_sides = [guard_sides(g, self.alpha, source) for g in self.guards]
        self.guard_tests = [compile_guard(sides, source) for sides in self._guard_sides]
        self._guard_functions: dict = {}          # the sides on arrays (_fires_many)
        self._variants: dict = {}
        self._representative: dict = {}
        self.validity = Validity(graph, self.guards, self.planner.source, self.alpha, self.r) \
            if graph is not None else None

    # -- what was compiled --------------------------------------------------------------------
    @property
    def alpha_base_atoms(self) -> list:
        return list(self.planner.alpha_side.base)

    @property
    def r_base_atoms(self) -> list:
        return list(self.planner.r_side.base)

    def split_term(self, term):
        """A product term = A(alpha) * R(r) -> (A, R), or None when a factor mixes both."""
        return self.planner.split_term(term)

    def metrics_for(self, metrics=None) -> tuple:
        """The metrics a request names (one name or several), checked; None: all of them."""
        if metrics is None:
            return self.metrics
        metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
        for m in metrics:
            if m not in self.plans:
                raise OptionError(f"unknown metric {m!r} (known: {', '.join(self.metrics)})")
        return metrics

    def _widths_ok(self, widths):
        """Which widths pass the channel build checks (whatever the resolution): a bool array,
        all True when this evaluator has no graph."""
        import numpy as np
        if self.validity is None:
            return np.ones(len(widths), dtype=bool)
        return self.validity.alpha_ok(widths)

    def resolutions_valid(self, resolutions):
        """Which resolutions pass the spatial build checks (whatever the width): a bool array,
        all True when this evaluator has no graph."""
        import numpy as np
        rs = resolution_values(resolutions, self.spec.resolution)
        if self.validity is None:
            return np.ones(len(rs), dtype=bool)
        return self.validity.r_ok(rs)

    # -- structural variants ------------------------------------------------------------------
    def _fires(self, width: Fraction) -> tuple:
        return tuple(bool(fn(width)) for fn in self.guard_tests)

    def _fires_many(self, widths):
        """Whether any structural guard fires at each width, as a bool array: both sides of
        each guard on int64 arrays of all the widths at once (archcalc.cost.alpha_arrays);
        None for few widths or where a side is not provably exact there."""
        import numpy as np

        from .alpha_arrays import ratios, width_values
        from .vectors import ARRAY_WIDTHS
        many = ratios(widths) if len(widths) >= ARRAY_WIDTHS else None
        if many is None:
            return None
        sides = [s for s in self._guard_sides if not isinstance(s, bool)]
        values = width_values([b for s in sides for b in s[1:]], self.planner.source, many,
                              self._guard_functions)
        if values is None:
            return None
        fires = np.full(len(widths), any(s is True for s in self._guard_sides))
        for unequal, lhs, rhs in sides:
            fires |= (values[lhs] != values[rhs]) if unequal else (values[lhs] == values[rhs])
        return fires

    def _partition(self, widths) -> dict:
        """{key: [indices]}: key () for widths where the closed forms hold, else the exact
        channel counts (all alpha atoms) of the network, which fix its structure."""
        if not self.guard_tests:
            return {(): list(range(len(widths)))}
        groups: dict = {}
        memo: dict = {}
        fires = self._fires_many(widths)          # None: one test per width
        for i, w in enumerate(widths):
            key = memo.get(w)
            if key is None:
                if fires[i] if fires is not None else any(self._fires(w)):
                    key = tuple(fn(w) for fn in self.planner.alpha_side.base_fns)
                    self._representative.setdefault(key, w)
                else:
                    key = ()
                memo[w] = key
            groups.setdefault(key, []).append(i)
        return groups

    def _variant(self, key: tuple) -> "Evaluator":
        """The forms for the widths of one guarded network: the spec compiled at that width
        with r symbolic, its residual adds decided on the actual channel counts (as a concrete
        compile decides them), so one evaluation serves every resolution."""
        if not key:
            return self
        if key not in self._variants:
            from ..graph import compile_graph
            from .analyze import analyze
            graph = compile_graph(self.spec, self._representative[key], symbolic="r")
            table = analyze(graph, self.convention, self.dtype)
            self._variants[key] = Evaluator.from_table(table, self.metrics, graph)
        return self._variants[key]

    def _stitch(self, widths, call, groups: dict | None = None) -> dict:
        """Evaluate `call(evaluator, indices)` per guard pattern (`groups`: the widths'
        _partition where the caller has it); put the rows back in order."""
        import numpy as np
        groups = self._partition(widths) if groups is None else groups
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

    # -- totals over grids and points ---------------------------------------------------------
    def values(self, widths, resolutions, r_memo: dict | None = None):
        """Exact atom values for these distinct widths and resolutions (reusable; `r_memo`:
        r atom values shared over one request's resolutions, vectors.AtomValues)."""
        from .vectors import AtomValues
        return AtomValues(self.planner, width_values(widths),
                          resolution_values(resolutions, self.spec.resolution), r_memo)

    def totals(self, widths, resolutions, metrics=None, values=None,
               r_memo: dict | None = None) -> dict:
        """Every metric at every (width, resolution) of the grid: arrays of shape
        (len(widths), len(resolutions)), int64 (or exact Python ints/Fractions, dtype object)."""
        metrics = self.metrics_for(metrics)
        if values is not None and not self.guard_tests:
            return self._grid(values, metrics)
        ws = width_values(widths)
        rs = resolution_values(resolutions, self.spec.resolution)
        memo = {} if r_memo is None else r_memo
        return self._stitch(ws, lambda ev, idx: ev._grid(
            ev.values([ws[i] for i in idx], rs, memo), metrics))

    grid = totals

    def _grid(self, values, metrics) -> dict:
        return self._grid_rows(values, slice(0, values.n_a), metrics)

    def iter_grid(self, widths, resolutions, metrics=None, max_points: int = 1 << 20
                  ) -> Iterator[tuple[int, int, dict]]:
        """The grid in blocks of whole width rows, at most about `max_points` each:
        yields (first width index, end width index, {metric: array (rows, len(resolutions))})."""
        for start, stop, block in self.grid_blocks(widths, resolutions, metrics, max_points):
            yield start, stop, block()

    def grid_blocks(self, widths, resolutions, metrics=None, max_points: int = 1 << 20,
                    with_valid: bool = False) -> list:
        """The grid's blocks of whole width rows as jobs: [(first width index, end width
        index, a function computing that block's {metric: array})], in order; `with_valid`:
        the function gives ({metric: array}, where the spec builds: valid()'s bool array).
        The jobs share atom values made under a lock (BlockAtoms) and a memo of r atoms (each
        entry a function of its key), so they may run on several threads at once."""
        import numpy as np

        from .vectors import BlockAtoms
        metrics = self.metrics_for(metrics)
        ws = width_values(widths)
        rs = resolution_values(resolutions, self.spec.resolution)
        rows = max(1, max_points // max(len(rs), 1))
        key_of: list = [None] * len(ws)
        for key, idx in self._partition(ws).items():
            self._variant(key)                # every variant compiled here, not on a thread
            for i in idx:
                key_of[i] = key
        atoms = BlockAtoms(lambda key, sub: self._variant(key).values(sub, rs, atoms.r_memo),
                           ws, key_of, rows,
                           lambda key, sub: self._variant(key)._widths_ok(sub))

        def block(start: int, stop: int):
            sub = ws[start:stop]
            local: dict = {}                  # the block's partition, read off key_of
            for i in range(start, stop):
                local.setdefault(key_of[i], []).append(i - start)
            try:
                out = self._stitch(sub, lambda ev, idx: ev._grid_rows(
                    *atoms.rows(start, idx), metrics), local)
                if not with_valid:
                    return out
                ok = self._stitch(sub, lambda ev, idx: {"valid": np.outer(
                    atoms.alpha_ok(start, idx), ev.resolutions_valid(rs))}, local)["valid"]
                return out, np.asarray(ok, dtype=bool)
            finally:
                atoms.finished(start)
        return [(start, min(len(ws), start + rows),
                 lambda start=start: block(start, min(len(ws), start + rows)))
                for start in range(0, len(ws), rows)]

    def _grid_rows(self, values, rows, metrics) -> dict:
        """Every metric at the rows `rows` (a slice or indices) of `values`' widths."""
        import numpy as np

        from .vectors import GridContext
        ctx = GridContext(values, rows)
        return {m: np.broadcast_to(ctx.eval(self.plans[m]), (ctx.n_rows, values.n_r))
                for m in metrics}

    def points(self, widths, resolutions, metrics=None) -> dict:
        """Metrics at the paired points (widths[i], resolutions[i]): 1-D arrays."""
        import numpy as np
        metrics = self.metrics_for(metrics)
        ua, ia = distinct_index(widths, width_value)
        ur, ir = distinct_index(resolutions,
                                lambda r: resolution_values([r], self.spec.resolution)[0])
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

        from .vectors import AtomValues, PairContext
        used_a = np.unique(ia)
        used_r = np.unique(ir)
        remap_a = np.zeros(len(ua), dtype=np.intp)
        remap_a[used_a] = np.arange(len(used_a))
        remap_r = np.zeros(len(ur), dtype=np.intp)
        remap_r[used_r] = np.arange(len(used_r))
        values = AtomValues(self.planner, [ua[i] for i in used_a], [ur[i] for i in used_r])
        ctx = PairContext(values, remap_a[ia], remap_r[ir])
        return {m: np.broadcast_to(ctx.eval(self.plans[m]), (len(ia),)) for m in metrics}

    def at(self, width, resolution=None) -> dict:
        """Every metric at one point, as exact Python numbers."""
        res = self.spec.resolution if resolution is None else resolution
        out = self.points([width], [res])
        return {m: exact_python(v[0]) for m, v in out.items()}

    # -- where the spec builds ----------------------------------------------------------------
    def valid(self, widths, resolutions) -> Any:
        """Where the spec can be built (archcalc.graph.checks, as a concrete compile checks
        it): a bool array (len(widths), len(resolutions)). All True without a graph."""
        import numpy as np
        ws = width_values(widths)
        rs = resolution_values(resolutions, self.spec.resolution)
        return np.asarray(self._stitch(ws, self._valid_call(ws, rs))["valid"], dtype=bool)

    @staticmethod
    def _valid_call(ws, rs):
        """valid()'s per-variant step: the outer product of its width and resolution tests."""
        import numpy as np

        def call(ev, idx):
            return {"valid": np.outer(ev._widths_ok([ws[i] for i in idx]),
                                      ev.resolutions_valid(rs))}
        return call

    def valid_points(self, widths, resolutions) -> Any:
        """valid() at paired points: a 1-D bool array."""
        import numpy as np
        ws = [width_value(w) for w in widths]
        rs = resolution_values(list(resolutions), self.spec.resolution, unique=False)

        def call(ev, idx):
            if ev.validity is None:
                return {"valid": np.ones(len(idx), dtype=bool)}
            a = ev.validity.alpha_ok([ws[i] for i in idx])
            r = ev.validity.r_ok([rs[i] for i in idx])
            return {"valid": a & r}
        return self._stitch(ws, call)["valid"].astype(bool)

    def channel_atoms(self, widths) -> Any:
        """Exact values of every alpha base atom (channel counts) at each width: an object
        array (len(widths), atoms). Two widths with equal rows give the same network."""
        import numpy as np
        ws = width_values(widths)
        cols = [[fn(w) for w in ws] for fn in self.planner.alpha_side.base_fns]
        out = np.empty((len(ws), len(cols)), dtype=object)
        for j, col in enumerate(cols):
            out[:, j] = col
        return out

    # -- rows at a point ----------------------------------------------------------------------
    def table(self, width, resolution=None):
        """The exact CostTable (every op's row and the totals) at one point: the rows compiled
        once (archcalc.cost.rows); where a structural guard fires or the spec cannot be built
        there, the point is compiled (and a SpecError raised where it cannot be built)."""
        from ..graph.point import parse_resolution, parse_width
        from ..limits import MAX_WIDTH
        w = width_value(width)
        if w > MAX_WIDTH:
            parse_width(w)                    # refused as `at` refuses it
        res = parse_resolution(self.spec.resolution if resolution is None else resolution,
                               self.spec.resolution)
        if self.validity is not None and not (
                self.validity.alpha_test(w) and self.validity.r_test(res)):
            from ..graph import compile_graph
            from .analyze import analyze
            return analyze(compile_graph(self.spec, w, res), self.convention, self.dtype)
        return self.symbolic_table.at_point(w, res)     # compiles where a guard fires


def bound_spec(spec, sets=None, convention="paper"):
    """A validated NetworkSpec (from a path, a zoo name or a NetworkSpec) with its parameters
    bound: the convention's (e.g. num_classes=1000 for torchvision), then `sets` (--set)."""
    from ..spec import NetworkSpec, load_spec
    from .convention import convention_named
    convention = convention_named(convention)
    if isinstance(spec, NetworkSpec):
        if sets:
            raise OptionError("pass a spec path to apply --set overrides")
        return spec
    return load_spec(spec, sets, convention.param_defaults())
