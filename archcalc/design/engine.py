"""`compile_forms` and `CompiledForms`: the design engine's former names for the Evaluator.

The exact evaluator of a spec's closed forms is archcalc.cost.Evaluator (code generation,
plans, vectorised evaluation, validity and rows at a point live in archcalc/cost/). These
two names are kept for code written against them (the dashboard's LayerEvaluator among it):
`compile_forms(spec, ...)` is `Evaluator(spec, ...)`, and `CompiledForms(table, metrics,
graph)` is `Evaluator.from_table(table, metrics, graph)`.
"""
from __future__ import annotations

from typing import Sequence

from ..cost.evaluator import Evaluator

__all__ = ["CompiledForms", "compile_forms"]


def compile_forms(spec, *, convention="paper", dtype: str = "fp32", sets=None,
                  metrics: Sequence[str] | None = None) -> Evaluator:
    """Compile a spec (path or NetworkSpec) once; evaluate it exactly at any number of points.
    `metrics` defaults to the totals `archcalc report` prints."""
    return Evaluator(spec, convention, dtype, sets=sets, metrics=metrics)


def CompiledForms(table, metrics: Sequence[str] | None = None, graph=None) -> Evaluator:  # noqa: N802
    """The Evaluator of a symbolic CostTable (`graph`: its symbolic graph, for validity)."""
    return Evaluator.from_table(table, metrics, graph)
