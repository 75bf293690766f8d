"""The design-space engine: closed forms, exact million-point sweeps, budget fitting and
Pareto frontiers over the width multiplier alpha and the input resolution r.

Every number comes from the one evaluator, archcalc.cost.Evaluator (exact, vectorised; the
commands build one per spec); these modules turn its numbers into answers and return
dataclasses, which archcalc.report renders (report/formula.py, latex.py, derive.py, fit.py,
frontier.py). Each imports numpy / sympy / plotly only inside the functions that need them,
so `import archcalc.design` is as cheap as `import archcalc`:

* `grid`: budgets from text ("150M", "500KB"); the grids of widths and resolutions are
  archcalc.cost.axes (re-exported here).
* `engine`: `compile_forms` / `CompiledForms`, the former names of the Evaluator.
* `steps`: the exact breakpoints of the channel-rounding step functions in alpha.
* `formula`: readable closed forms (`archcalc formula`): named atoms, grouped totals.
* `explain`: the seed papers' analytic claims derived from the per-op rules (`archcalc derive`).
* `sweep`: streamed grid sweeps to CSV / JSON / Parquet (`archcalc sweep`).
* `fit`: the largest configurations under budgets (`archcalc fit`).
* `frontier`: generic Pareto fronts over specs and published points (`archcalc frontier`).
* `buildable`: a spec that cannot be built fails as `archcalc report` fails.
"""
