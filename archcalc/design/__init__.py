"""The design-space engine: closed forms, exact million-point sweeps, budget fitting and
Pareto frontiers over the width multiplier alpha and the input resolution r.

Modules (each imports numpy / sympy / plotly only inside the functions that need them, so
`import archcalc.design` is as cheap as `import archcalc`):

* `grid`: exact grids of widths (Fractions from decimal text) and resolutions; budgets.
* `engine`: `compile_forms(spec)` -> `CompiledForms`, the exact vectorised evaluator of a
  spec's closed forms over grids or lists of points (the one engine behind everything else).
* `steps`: the exact breakpoints of the channel-rounding step functions in alpha.
* `formula`: readable closed forms (`archcalc formula`).
* `explain`: the seed papers' analytic claims derived from the per-op rules (`archcalc derive`).
* `sweep`: streamed grid sweeps to CSV / JSON / Parquet (`archcalc sweep`).
* `fit`: the largest configurations under budgets (`archcalc fit`).
* `frontier`: generic Pareto fronts and the plotly figure (`archcalc frontier`).
* `commands`: the argparse sub-commands.
"""
