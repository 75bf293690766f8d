"""Where a spec can be built, over many widths and resolutions at once.

A concrete compile refuses a point with a SpecError (no channels left, a spatial size below
1, groups that do not divide channels, mismatched shapes at an add, a gate or a concat, more
than MAX_CHANNELS channels). Those checks are defined once, in archcalc.graph.checks; here
their symbolic conditions are read off a symbolic graph and compiled (archcalc.cost.codegen)
into exact tests on alpha alone (channel conditions) and on r alone (spatial conditions), so
that a grid is valid where both hold: `valid = outer(alpha_ok(widths), r_ok(resolutions))`.
"""
from __future__ import annotations

from .codegen import ExactSource


class Validity:
    """The build checks of a symbolic graph as exact tests of alpha and of r."""

    def __init__(self, graph, guards, source: ExactSource, alpha, r):
        import sympy

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
        self.alpha_tests, self.r_tests = [], []
        for cond in found:
            symbol, var, tests = (alpha, "alpha", self.alpha_tests) if cond.axis == "channels" \
                else (r, "r", self.r_tests)
            exprs = [sympy.sympify(e) for e in cond.exprs]
            if not all(e.free_symbols <= {symbol} for e in exprs):
                continue        # mixed (never produced by the compiler): not checked
            leaf = {symbol: var}.get
            fns = [source.compile(var, source(e, leaf)) for e in exprs]
            tests.append(_test(cond, fns))

    def alpha_ok(self, widths):
        import numpy as np
        return np.array([all(t(w) for t in self.alpha_tests) for w in widths], dtype=bool)

    def r_ok(self, rs):
        import numpy as np
        return np.array([all(t(x) for t in self.r_tests) for x in rs], dtype=bool)


def _test(cond, fns):
    holds = cond.holds
    if len(fns) == 1:
        f, = fns
        return lambda x: holds(f(x))
    f, g = fns
    return lambda x: holds(f(x), g(x))
