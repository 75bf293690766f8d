"""Where a spec can be built, over many widths and resolutions at once.

A concrete compile refuses a point with a SpecError (no channels left, a spatial size below
1, groups that do not divide channels, mismatched shapes at an add, a gate or a concat, more
than MAX_CHANNELS channels). Those checks are defined once, in archcalc.graph.checks; here
their symbolic conditions are read off a symbolic graph and compiled (archcalc.cost.codegen)
into one exact test of alpha (the channel conditions) and one of r (the spatial conditions),
each distinct expression computed once per value, so that a grid is valid where both hold:
`valid = outer(alpha_ok(widths), r_ok(resolutions))`.
"""
from __future__ import annotations

from .codegen import ExactSource


class Validity:
    """The build checks of a symbolic graph as exact tests of alpha and of r."""

    def __init__(self, graph, guards, source: ExactSource, alpha, r):
        from ..graph.checks import conditions
        from ..ops import OpKind
        guarded = frozenset(frozenset(g.args) for g in guards)
        found: dict = {}
        for name in graph.names:
            op = graph.op(name)
            if op.kind is OpKind.INPUT:
                continue
            ins = [graph.shape(u) for u in graph.inputs(name)]
            for cond in conditions(op, ins, graph.shape(name), guarded):
                found.setdefault(cond, None)
        self.alpha_test, self._alpha_checks = _side_test(
            [c for c in found if c.axis == "channels"], alpha, "alpha", source)
        self.r_test, _ = _side_test([c for c in found if c.axis == "spatial"], r, "r", source)
        self._last_r: tuple | None = None
        self._source, self._functions = source, {}

    def alpha_ok(self, widths):
        """alpha_test at each width: for many widths, each check's channel counts on int64
        arrays of all of them at once (archcalc.cost.alpha_arrays) where that is provably
        exact, else one exact call per width."""
        import numpy as np

        from .alpha_arrays import ratios
        from .vectors import ARRAY_WIDTHS
        if len(widths) >= ARRAY_WIDTHS:
            many = ratios(widths)
            ok = self._alpha_ok_many(many, len(widths)) if many is not None else None
            if ok is not None:
                return ok
        return np.array([self.alpha_test(w) for w in widths], dtype=bool)

    def _alpha_ok_many(self, many, n: int):
        import numpy as np

        from ..graph.checks import ARRAY_RELATIONS
        from .alpha_arrays import width_values
        values = width_values([b for _, bodies, _ in self._alpha_checks for b in bodies],
                              self._source, many, self._functions)
        if values is None:
            return None
        ok = np.ones(n, dtype=bool)
        for relation, bodies, consts in self._alpha_checks:
            ok &= ARRAY_RELATIONS[relation](*(values[b] for b in bodies), *consts)
        return ok

    def r_ok(self, rs):
        """r_test at each resolution; the last answer is kept (a sweep asks once per block of
        widths, always for the same resolutions), read-only."""
        import numpy as np
        key = tuple(rs)
        last = self._last_r
        if last is None or last[0] != key:
            ok = np.array([self.r_test(x) for x in key], dtype=bool)
            ok.flags.writeable = False
            last = self._last_r = (key, ok)
        return last[1]


def _side_test(conds, symbol, var: str, source: ExactSource) -> tuple:
    """(one function of `var`: every condition on that variable alone (others are mixed, never
    produced by the compiler, and not checked) joined by `and`, each expression computed once
    (`(_v0 := ...)` where first met, `_v0` after); the same checks as data: [(relation,
    [each expression's source], constants)])."""
    import sympy

    from ..graph.checks import RELATIONS
    leaf = {symbol: var}.get
    seen: dict = {}
    bodies: dict = {}
    parts, checks = [], []
    for cond in conds:
        exprs = [sympy.sympify(e) for e in cond.exprs]
        if not all(e.free_symbols <= {symbol} for e in exprs):
            continue
        args = []
        for e in exprs:
            if e in seen:
                args.append(seen[e])
            else:
                seen[e] = f"_v{len(seen)}"
                bodies[e] = source(e, leaf)
                args.append(f"({seen[e]} := {bodies[e]})")
        consts = [int(c) for c in cond.consts]
        args += [repr(c) for c in consts]
        parts.append(f"_{cond.relation}({', '.join(args)})")
        checks.append((cond.relation, [bodies[e] for e in exprs], consts))
    names = {f"_{relation}": fn for relation, fn in RELATIONS.items()}
    return source.compile(var, " and ".join(parts) or "True", names), checks
