"""The archcalc dashboard: accuracy-vs-cost frontiers, a live architecture designer, side-by-side
comparisons and a spec editor, served with Dash (`archcalc dashboard`).

Layout of the package (each module says what it holds in its docstring):

* state and work: `workspace` (`Workspace`, the one object that owns state: catalog, caches
  keyed by spec + `--set` values + convention, pasted specs, worker pools, results
  database), `catalog` (the spec files of --specs, the only files a browser can name),
  `sandbox` (untrusted work in a child process with CPU, memory and wall-time limits), `bounded` (worker pools
  with bounded queues, LRU caches), `trust` (what the server may compile itself);
* what the views show, as plain data (no Dash; unit-tested without a browser): `views`
  (`designer`, `formulas`, `frontier`, `compare`, `editor`), with `controls` (slider
  ranges, conventions and dtypes, snapping a browser's values), `colors` and `figures`
  (the palette and the plotly layout every figure shares);
* the Dash side: `layout` (one module per tab: its components and the outputs of its
  callbacks; `layout.page` the whole page), `callbacks` (the wiring and its guard), `app`
  (`create_app`, `main`), `inputs` (validation of what the browser sends), `serving`
  (--host/--port validation, the Host check, bounded connections), `commands` (registers
  the `archcalc dashboard` sub-command through the `archcalc.commands` entry point), `log`.

The dashboard sits above archcalc and uses only its public API, no private name:

* `archcalc` (load, load_spec, parse_spec, evaluate, compile_graph, analyze,
  convention_named, the errors), `archcalc.limits` (every limit of the dashboard),
  `archcalc.numbers` (plain, decimal_text, count_text, quote: the one number formatter),
  `archcalc.report.units` (human_count, human_bytes), `archcalc.cost` (CONVENTIONS,
  DTYPE_BYTES, CostTable and its `layers()`, LayerCost, flops_from_madds);
* `archcalc.published` (load_points, published_for, published_point), `archcalc.compare`
  (Target, compare, cost_entry) and `archcalc.report.compare` (rows, ratio_text,
  memory_rows, render);
* `archcalc.design.engine` (compile_forms, CompiledForms), `archcalc.design.frontier`
  (pareto_front), `archcalc.design.formula` (the closed-form text), `archcalc.rounding` and
  `archcalc.cost.Evaluator` (the slider's path), `archcalc.results` (ResultsDB,
  default_path), `archcalc.zoo` (zoo_dir).

Importing this package imports nothing heavy; Dash is imported only by `app`, `callbacks`
and `layout`.
"""
