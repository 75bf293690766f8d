"""Costs of an op-graph: per-op rules summed into a CostTable under a named convention, and
the one Evaluator of a spec's costs over points and grids.

Modules: `analyze` (ArchGraph -> CostTable; `totals(rows)`, the one place totals are summed),
`convention` (counting conventions, dtypes), `memory` (live activation sets), `evaluator`
(`Evaluator`: rows at a point, totals over grids and paired points, validity), `axes` (widths
and resolutions from text and lists), `codegen` (sympy -> exact Python: the one code
generator), `plan` (closed-form totals as separable sums of atoms), `vectors` (their exact
vectorised evaluation), `rows` (a symbolic table's rows compiled for points), `validity` (the
build checks of archcalc.graph.checks as conditions on alpha and r).
"""
from .analyze import CostTable, LayerCost, analyze, totals
from .convention import CONVENTIONS, DTYPE_BYTES, Convention, convention_named, flops_from_madds

__all__ = ["CostTable", "LayerCost", "analyze", "totals", "CONVENTIONS", "DTYPE_BYTES",
           "Convention", "convention_named", "flops_from_madds", "Evaluator", "bound_spec"]


def __getattr__(name: str):
    """`Evaluator` and `bound_spec` on first use (a cold `archcalc report` never needs them)."""
    if name in ("Evaluator", "bound_spec"):
        from . import evaluator
        return getattr(evaluator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
