"""Every op's exact costs at any (width, resolution), from a spec's symbolic CostTable
lambdified once: the designer's slider path (0.1 to 0.6 ms a point for the zoo).

Kept here, unchanged, until archcalc offers the one evaluator (`archcalc.cost.Evaluator`,
issue 11); the Workspace then uses that instead. Only zoo configurations are lambdified (see
dashboard/trust.py); every other point is costed with `archcalc.evaluate`.
"""
from __future__ import annotations

import math
from fractions import Fraction

import archcalc
from archcalc.numbers import plain

LAYER_METRICS_ALL = ("params", "bn_params", "madds", "elementwise_ops", "memory_bytes",
                     "live_bytes", "live_bytes_streamed")


def _exact_printer():
    """sympy's Python code printer, with rationals printed as Fractions (never floats)."""
    from sympy.printing.pycode import PythonCodePrinter

    class ExactPrinter(PythonCodePrinter):
        def _print_Rational(self, e):
            return f"Fraction({int(e.p)}, {int(e.q)})"

        _print_Half = _print_Rational

    return ExactPrinter({"fully_qualified_modules": False, "inline": True,
                         "allow_unknown_functions": True})


class LayerEvaluator:
    """Every op's costs (params, MAdds, memory, live sets, output shape) at any (width,
    resolution), from the spec's symbolic CostTable lambdified once (the style guide: "the
    dashboard and sweeps must use lambdify").

    The design engine's `CompiledForms` evaluates the *totals* over grids; the designer needs
    every row at one point, so this is the per-row counterpart (a minimal one, kept here until
    the engine offers it): each maximal function application in the closed forms (a channel
    count `make_divisible(16*alpha, 8, 8)`, a spatial size `ceiling(r/32)`, `Max(1, alpha)`)
    becomes an atom computed once per point with archcalc.rounding (exact: alpha and r are
    Fractions there), and every row is then an integer polynomial in the atoms: one generated
    Python function of a few thousand int operations (0.1 to 0.6 ms for the zoo).

    `at()` returns None where the closed forms do not apply, so the caller compiles that point
    with `archcalc.evaluate` (which also raises the proper SpecError): where a structural
    guard fires (residual adds decided on the actual widths) or where the spec cannot be built
    (the design engine's `CompiledForms.valid_points`, the checks a concrete compile makes).
    """

    def __init__(self, spec, convention="paper", dtype="fp32"):
        import sympy

        from archcalc import rounding, symbolic
        from archcalc.design.engine import CompiledForms
        conv = archcalc.convention_named(convention)
        graph = archcalc.compile_graph(spec, symbolic=True)
        table = archcalc.analyze(graph, conv, dtype)
        self.spec, self.convention, self.dtype = spec, conv, dtype
        self._validity = CompiledForms(table, ["madds"], graph)
        self.names = [(r.name, r.layer, r.block, r.op, r.label) for r in table.rows]
        atoms: dict = {}
        memo: dict = {}
        Application = sympy.core.function.Application

        def strip(e):
            if not isinstance(e, sympy.Basic):
                return sympy.sympify(e)
            out = memo.get(e)
            if out is None:
                if e.is_Atom:
                    out = e
                elif isinstance(e, Application):
                    out = atoms.get(e)
                    if out is None:
                        out = atoms[e] = sympy.Symbol(f"_atom{len(atoms)}")
                else:
                    out = e.func(*[strip(a) for a in e.args])
                memo[e] = out
            return out

        exprs = []
        for row in table.rows:
            exprs.extend(strip(getattr(row, m)) for m in LAYER_METRICS_ALL)
            exprs.extend(strip(v) for v in row.output_shape)
        namespace = {"make_divisible": rounding.make_divisible, "truncate": rounding.truncate,
                     "round_half_even": rounding.round_half_even, "Fraction": Fraction,
                     "math": math}
        printer = _exact_printer()
        a, r = symbolic.alpha, symbolic.r
        self._atoms = sympy.lambdify((a, r), list(atoms), modules=[namespace], printer=printer,
                                     docstring_limit=0)
        self._rows = sympy.lambdify((a, r, *atoms.values()), exprs, modules=[namespace],
                                    printer=printer, docstring_limit=0)
        self._guards = [sympy.lambdify((a,), g, modules=[namespace], printer=printer,
                                       docstring_limit=0) for g in table.guards]
        self._stride = len(LAYER_METRICS_ALL) + 3

    def at(self, width, resolution: int):
        """The exact CostTable at (width, resolution), or None where the caller must compile."""
        from archcalc.cost import CostTable, LayerCost, flops_from_madds
        w = Fraction(str(width))
        res = int(resolution)
        if any(g(w) for g in self._guards):
            return None
        if not bool(self._validity.valid_points([w], [res])[0]):
            return None
        vals = self._rows(w, res, *self._atoms(w, Fraction(res)))
        vals = [v if type(v) is int else plain(v) for v in vals]
        k = self._stride
        rows = []
        for i, (name, layer, block, op, label) in enumerate(self.names):
            v = vals[i * k:(i + 1) * k]
            rows.append(LayerCost(name, layer, block, op, label, tuple(v[7:10]), v[0], v[1],
                                  v[2], v[3], v[4], v[5], v[6]))
        madds = sum(x.madds for x in rows)
        totals = {
            "params": sum(x.params for x in rows), "bn_params": sum(x.bn_params for x in rows),
            "madds": madds, "flops": flops_from_madds(madds),
            "elementwise_ops": sum(x.elementwise_ops for x in rows),
            "activation_bytes": sum(x.memory_bytes for x in rows),
            "peak_memory_bytes": max(x.live_bytes for x in rows),
            "peak_memory_bytes_streamed": max(x.live_bytes_streamed for x in rows),
        }
        return CostTable(spec=self.spec, width=w, resolution=res, convention=self.convention,
                         dtype=self.dtype, symbolic=False, rows=tuple(rows), totals=totals)

