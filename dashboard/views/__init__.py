"""What each of the dashboard's four views shows, as plain data: numbers, strings and plotly
figures as dicts. Nothing here imports Dash, so each view's data is unit-tested without a
browser (tests/test_dashboard_*.py).

* `designer`: one spec at one point: totals cards, per-layer costs and the memory profile;
* `formulas`: the designer's closed forms (computed in the sandbox);
* `frontier`: every published checkpoint with its exact costs, Pareto fronts;
* `compare`: specs side by side (archcalc.compare and its renderer's rows);
* `editor`: a pasted or uploaded spec's text: upload decoding, the lines around an error.
"""
