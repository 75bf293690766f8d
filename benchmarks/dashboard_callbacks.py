"""Latency of the dashboard's designer callback: what one slider move costs on the server.

For every spec of --specs, after one untimed warm-up (which builds the spec's evaluator,
archcalc.cost.Evaluator, timed separately as the one-off "compile"), the designer callback body
(`dashboard.layout.designer.designer_view`: cost the spec at the point, build the totals
cards and both figures) is called at --points distinct random slider positions (width on
the slider's 0.05 grid in [0.1, 2.0], resolution in [32, 512]; every point new, so no
memoised table is reused), and the median, 90th percentile and maximum are printed. Three routes per point, interleaved:

* callback: `designer_view(...)`, the function the Dash callback wraps;
* http: the same update through Dash's own endpoint (POST /_dash-update-component on the
  Flask test client): JSON decoding, the callback, and serialising the figures, i.e. the
  server side of a slider move as the browser sends it;
* evaluate: `archcalc.evaluate` alone on the parsed spec at the same point (the route without
  the evaluator), for reference.

The target (issue 6): each slider move updates in under 100 ms. `--strict` exits 1 when a
callback median is at or above --target-ms.

    .venv/bin/python benchmarks/dashboard_callbacks.py
    .venv/bin/python benchmarks/dashboard_callbacks.py --points 200 --specs specs --strict
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def http_request(dep, source, width, res):
    """The JSON body Dash's renderer posts when the width slider moves."""
    values = {"designer-spec": source, "designer-width": width, "designer-resolution": res,
              "designer-convention": "paper", "designer-dtype": "fp32"}
    inputs = [([] if i["id"].startswith("{") else
               {"id": i["id"], "property": i["property"], "value": values[i["id"]]})
              for i in dep["inputs"]]
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]}
               for o in dep["output"].strip(".").split("...")]
    return {"output": dep["output"], "outputs": outputs, "inputs": inputs, "state": [[]],
            "changedPropIds": ["designer-width.value"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--specs", default=str(REPO / "specs"))
    ap.add_argument("--points", type=int, default=60, help="slider positions per spec (default 60)")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--target-ms", type=float, default=100.0)
    ap.add_argument("--strict", action="store_true")
    args = ap.parse_args(argv)

    import dash
    import plotly

    import archcalc
    from dashboard import app as dash_app
    from dashboard import controls
    from dashboard.layout.designer import designer_view
    from dashboard.workspace import Workspace

    try:
        import orjson  # noqa: F401  (only whether it is there)
        json_engine = "orjson"
    except ImportError:
        json_engine = "json (pip install orjson for faster figure serialisation)"
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S')}; cpu: {cpu_model()} "
          f"({os.cpu_count()} logical cores); python {platform.python_version()}; "
          f"dash {dash.__version__}; plotly {plotly.__version__}; figure JSON: {json_engine}; "
          f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

    ws = Workspace(args.specs, db_path=Path(args.specs) / "no-results.sqlite",
                   wait_for_compile=True)
    app = dash_app.create_app(args.specs, workspace=ws)
    client = app.server.test_client()
    client.get("/")
    deps = json.loads(client.get("/_dash-dependencies").get_data(as_text=True))
    dep = [d for d in deps if "designer-cards.children" in d["output"]][0]

    rng = random.Random(args.seed)
    steps = int(round((controls.WIDTH_MAX - controls.WIDTH_MIN) / controls.WIDTH_STEP))
    print(f"\n{args.points} distinct slider positions per spec; times in ms "
          f"(median / p90 / max)\n")
    header = (f"{'spec':<24} {'ops':>5} {'compile':>8}  {'callback':>22}  {'http (server side)':>22}"
              f"  {'evaluate alone':>22}  {'fallbacks':>9}")
    print(header)
    print("-" * len(header))
    worst = 0.0
    summary = {}
    for key, entry in ws.catalog.entries.items():
        source = f"file:{key}"
        t0 = time.perf_counter()
        ev = ws.layer_evaluator(source)
        compile_s = time.perf_counter() - t0
        designer_view(ws, source, 1.0, entry.resolution)       # warm-up
        seen, points = set(), []
        while len(points) < args.points:
            w = round(controls.WIDTH_MIN + rng.randint(0, steps) * controls.WIDTH_STEP, 10)
            r = rng.randint(controls.RES_MIN, controls.RES_MAX)
            if (controls.width_text(w), r) not in seen:
                seen.add((controls.width_text(w), r))
                points.append((w, r))
        cb, http, ev_alone = [], [], []
        fallbacks = 0
        spec = ws.spec(source)
        for i, (w, r) in enumerate(points):
            wt = controls.width_text(w)
            if ev is not None and any(test(Fraction(wt)) for test in ev.guard_tests):
                fallbacks += 1
            routes = ["cb", "http", "eval"] if i % 2 == 0 else ["eval", "http", "cb"]
            for route in routes:
                if route == "cb":
                    # the callback at this point for the first time (a fresh point: the memo
                    # of cost tables is cleared so that nothing is reused)
                    ws.table_cache.clear()
                    t = time.perf_counter()
                    out = designer_view(ws, source, w, r)
                    cb.append(time.perf_counter() - t)
                    assert out[4] is None, out[4]          # no error banner
                elif route == "http":
                    ws.table_cache.clear()
                    body = http_request(dep, source, w, r)
                    t = time.perf_counter()
                    resp = client.post("/_dash-update-component", json=body)
                    http.append(time.perf_counter() - t)
                    assert resp.status_code == 200
                else:
                    t = time.perf_counter()
                    ref = archcalc.evaluate(spec, wt, r)
                    ev_alone.append(time.perf_counter() - t)
            # the number shown is archcalc's
            shown = ws.table(source, wt, r).totals["madds"]
            assert shown == ref.totals["madds"], (key, wt, r)
        ms = lambda xs: f"{statistics.median(xs) * 1e3:6.1f} / {pct(xs, 0.9) * 1e3:5.1f} / {max(xs) * 1e3:5.1f}"  # noqa: E731
        print(f"{entry.name:<24} {len(ws.table(source, '1', entry.resolution).rows):>5} "
              f"{compile_s:7.2f}s  {ms(cb):>22}  {ms(http):>22}  {ms(ev_alone):>22}  "
              f"{fallbacks:>4}/{len(points)}")
        worst = max(worst, statistics.median(cb) * 1e3)
        summary[entry.name] = {"callback_median_ms": statistics.median(cb) * 1e3,
                               "http_median_ms": statistics.median(http) * 1e3,
                               "evaluate_median_ms": statistics.median(ev_alone) * 1e3}
    ok = worst < args.target_ms
    print(f"\nslowest callback median: {worst:.1f} ms; target < {args.target_ms:g} ms: "
          f"{'met' if ok else 'MISSED'}")
    print("(compile: the one-off compile of the spec's closed forms (archcalc.cost.Evaluator), "
          "done in a background thread when a spec is first chosen; fallbacks: points where a "
          "structural guard fires, where the evaluator compiles the point itself)")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
