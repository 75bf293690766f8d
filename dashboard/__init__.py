"""The archcalc dashboard: accuracy-vs-cost frontiers, a live architecture designer, side-by-side
comparisons and a spec editor, served with Dash (`archcalc dashboard`).

Layout of the package:

* `data`: everything the views show, as plain data (numbers, strings, plotly figure dicts),
  computed through archcalc's public API. No Dash import; unit-tested without a browser.
  `Workspace` is the one object that owns the caches (parsed specs, compiled closed forms,
  cost tables), keyed by spec + `--set` values + convention.
* `sandbox`: runs untrusted work (a pasted spec, new parameter values, closed forms) in a
  child process with a CPU-time, memory and wall-time limit, so a hostile spec cannot hang or
  exhaust the server.
* `bounded`: the worker pools (fixed threads, bounded queues, "busy" beyond them) and the
  LRU caches; `trust`: what the server may compile itself; `inputs`: validation of what the
  browser sends; `serving`: --host/--port validation, the Host check, bounded connections.
* `app`: the Dash layout and callbacks (`create_app`, `main`); each callback is a thin
  wrapper around a module-level function the benchmark and tests call directly.
* `commands`: `add_commands(subparsers)` registers the `archcalc dashboard` sub-command.

Importing this package imports nothing heavy; Dash is imported only by `app`.
"""
