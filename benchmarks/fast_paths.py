"""The fast paths of issue 14, measured in ONE run on this machine, each as a ratio:

1. cold `archcalc report specs/mobilenet_v2.yaml --format json`: wall and CPU (user + system)
   time of a fresh process, median of --rounds runs after one untimed warm-up; `python -c
   pass` is timed the same way for the interpreter's own start-up. Target: 100 ms. The
   children run without PYTHONDONTWRITEBYTECODE, so the warm-up leaves the bytecode cache
   that any installed package has (pip compiles it at install time); with it set, every
   start compiles archcalc's sources again (about 50 ms more here).
2. `archcalc.evaluate` at a NEW point of a spec already used in this process (every point
   below has a width never asked before), with the per-layer table (every op's row), against
   a fresh compile of the same point (read + parse + compile + cost, what every call did
   before). Median over --points points after the spec's first FORMS_AFTER calls. The rows
   are built on first access (archcalc.cost.rows.LazyRows), so the same calls are timed
   again reading every row (`list(table.rows)`). Every table must equal the fresh one (exit
   1 otherwise). Target: 100 us.
3. the sweep writers: 10^6 points (a 1000 x 1000 grid of MobileNetV2) x 7 metrics written to
   a CSV file and to a Parquet file by archcalc.design.sweep.sweep_file (the code behind
   `archcalc sweep -o FILE`) from compiled forms (compiled once, timed apart). Each round
   runs one cold report (as in 1), the CSV, the Parquet, and the floors: the grid alone
   (Evaluator.iter_grid, every block) and pyarrow's CSV and Parquet writers alone, writing
   the same 10^6 x 9 columns (already computed) to the same folder. Medians of --rounds
   rounds, the ratios being of medians from the same rounds. Targets: CSV within 2x one cold
   report, Parquet within 1.5x.

    .venv/bin/python benchmarks/fast_paths.py              # about a minute
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = "specs/mobilenet_v2.yaml"
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
med = statistics.median


def archcalc_command() -> list:
    script = Path(sys.executable).with_name("archcalc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "archcalc"]


REPORT = archcalc_command() + ["report", SPEC, "--format", "json"]
BARE = [sys.executable, "-c", "pass"]


def process(cmd: list) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=CHILD_ENV)
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return dt, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed(fn) -> tuple[float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def evaluate_points(n: int) -> dict:
    import archcalc
    from archcalc.api import FORMS_AFTER, analyze, compile_graph, load
    spec = str(ROOT / SPEC)
    for i in range(FORMS_AFTER):
        archcalc.evaluate(spec, Fraction(1, 2) + Fraction(i, 1000), 160)
    points = [(Fraction(7, 20) + Fraction(i, 997), 96 + (i * 7) % 200) for i in range(n)]
    lazy = [(Fraction(7, 20) + Fraction(i, 991), 96 + (i * 11) % 200) for i in range(n)]
    cached, cached_cpu, read, fresh, tables = [], [], [], [], []
    for (w, r), (w2, r2) in zip(points, lazy):    # interleaved: table only / every row read
        c0, t0 = time.process_time(), time.perf_counter()
        tables.append(archcalc.evaluate(spec, w, r))
        t1, c1 = time.perf_counter(), time.process_time()
        cached.append(t1 - t0)
        cached_cpu.append(c1 - c0)
        t0 = time.perf_counter()
        rows = list(archcalc.evaluate(spec, w2, r2).rows)
        read.append(time.perf_counter() - t0)
        assert len(rows) > 100
    bad = 0
    for (w, r), a in zip(points, tables):
        t0 = time.perf_counter()
        b = analyze(compile_graph(load(spec), w, r))
        fresh.append(time.perf_counter() - t0)
        bad += a != b or a.to_dict() != b.to_dict()
    return {"us": med(cached) * 1e6, "cpu_us": med(cached_cpu) * 1e6, "rows_us": med(read) * 1e6,
            "fresh_us": med(fresh) * 1e6, "bad": bad}


def floor_tables(forms, ws, rs):
    """The sweep's 10^6 x 9 columns (width text, resolution, 7 metrics; Parquet: width as a
    float too), computed once, as pyarrow tables: what the writers alone are timed on."""
    import numpy as np
    import pyarrow as pa

    from archcalc.design.arrow_columns import number_column, text_column
    from archcalc.numbers import decimal_text
    texts = [decimal_text(w) for w in ws]
    which = np.repeat(np.arange(len(ws)), len(rs))
    res = number_column(np.tile(np.array(rs, dtype=np.int64), len(ws)))
    totals = forms.totals(ws, rs)
    metrics = [number_column(np.ascontiguousarray(totals[m]).ravel()) for m in forms.metrics]
    csv = pa.table([text_column(texts, which), res, *metrics],
                   names=["width", "resolution", *forms.metrics])
    width = number_column(np.repeat([float(w) for w in ws], len(rs)))
    parquet = pa.table([width, text_column(texts, which), res, *metrics],
                       names=["width", "width_text", "resolution", *forms.metrics])
    return csv, parquet


def writers(rounds: int) -> dict:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from archcalc.cost import Evaluator
    from archcalc.design.sweep import BLOCK_POINTS, sweep_file
    from archcalc.design.sweep_blocks import BATCH_ROWS
    out: dict = {}
    out["compile"] = timed(lambda: out.setdefault("forms", Evaluator(str(ROOT / SPEC))))[0]
    forms = out.pop("forms")
    ws = [Fraction(1, 4) + Fraction(i, 800) for i in range(1000)]
    rs = list(range(64, 1064))
    csv_table, parquet_table = floor_tables(forms, ws, rs)
    runs: dict = {}

    def grid():
        for _ in forms.iter_grid(ws, rs, max_points=BLOCK_POINTS):
            pass

    with tempfile.TemporaryDirectory(prefix="archcalc-fast-") as tmp:
        def sweep(fmt):
            counts: list = []
            sweep_file(forms, ws, rs, os.path.join(tmp, f"sweep.{fmt}"), fmt, progress=False,
                       counts=counts)
            assert counts == [1_000_000, 0], counts

        def csv_alone():
            with open(os.path.join(tmp, "alone.csv"), "wb") as fh:
                pacsv.write_csv(csv_table, fh, pacsv.WriteOptions(quoting_style="none",
                                                                   batch_size=BATCH_ROWS))

        def parquet_alone():
            pq.write_table(parquet_table, os.path.join(tmp, "alone.parquet"))

        jobs = {"csv": lambda: sweep("csv"), "parquet": lambda: sweep("parquet"), "grid": grid,
                "csv_alone": csv_alone, "parquet_alone": parquet_alone}
        for name, job in jobs.items():                # untimed warm-up of each
            job()
        process(REPORT)
        for k in range(rounds):
            order = list(jobs) if k % 2 == 0 else list(reversed(jobs))
            runs.setdefault("report", []).append(process(REPORT))
            for name in order:
                runs.setdefault(name, []).append(timed(jobs[name]))
        out["csv_bytes"] = os.path.getsize(os.path.join(tmp, "sweep.csv"))
        out["parquet_bytes"] = os.path.getsize(os.path.join(tmp, "sweep.parquet"))
    for name, vals in runs.items():
        out[name] = (med(v[0] for v in vals), med(v[1] for v in vals))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=11, help="cold runs, and writer rounds")
    ap.add_argument("--points", type=int, default=300, help="new points for evaluate")
    args = ap.parse_args()
    load0 = os.getloadavg()
    print(f"{os.cpu_count()} logical cores, load average {load0[0]:.2f}, {load0[1]:.2f}, "
          f"{load0[2]:.2f} (1, 5, 15 min) at start", flush=True)
    process(REPORT), process(BARE)                    # warm-up: file cache, bytecode cache
    rs, bs = [], []
    for _ in range(args.rounds):                      # interleaved: load drift hits both
        rs.append(process(REPORT))
        bs.append(process(BARE))
    c = {"wall": med(r[0] for r in rs), "cpu": med(r[1] for r in rs),
         "bare_wall": med(b[0] for b in bs), "bare_cpu": med(b[1] for b in bs)}
    print(f"1. cold `archcalc report {SPEC} --format json`: {c['wall'] * 1000:.0f} ms wall, "
          f"{c['cpu'] * 1000:.0f} ms CPU (medians of {args.rounds}; `python -c pass`: "
          f"{c['bare_wall'] * 1000:.0f} ms wall, {c['bare_cpu'] * 1000:.0f} ms CPU); target "
          f"100 ms: {c['wall'] / 0.1:.2f}x of it by wall time, {c['cpu'] / 0.1:.2f}x by CPU",
          flush=True)
    e = evaluate_points(args.points)
    print(f"2. archcalc.evaluate at a new point, per-layer table: {e['us']:.0f} us wall, "
          f"{e['cpu_us']:.0f} us CPU (medians of {args.points}); reading every row too: "
          f"{e['rows_us']:.0f} us; a fresh compile: {e['fresh_us']:.0f} us "
          f"({e['fresh_us'] / e['us']:.0f}x slower); target 100 us: {e['us'] / 100:.2f}x of it "
          f"({e['rows_us'] / 100:.2f}x reading every row); {e['bad']} tables differ",
          flush=True)
    w = writers(args.rounds)
    rep_wall, rep_cpu = w["report"]

    def line(name, target):
        wall, cpu = w[name]
        return (f"{wall:.3f} s wall, {cpu:.3f} s CPU = {wall / rep_wall:.2f}x a cold report by "
                f"wall time, {cpu / rep_cpu:.2f}x by CPU" + (f" (target {target}x)" if target
                                                             else ""))
    print(f"3. sweep of 10^6 points x 7 metrics (forms compiled once in {w['compile']:.2f} s), "
          f"medians of {args.rounds} interleaved rounds, each with one cold report "
          f"({rep_wall * 1000:.0f} ms wall, {rep_cpu * 1000:.0f} ms CPU):\n"
          f"   CSV ({w['csv_bytes'] / 1e6:.0f} MB)       {line('csv', 2)}\n"
          f"   Parquet ({w['parquet_bytes'] / 1e6:.1f} MB)  {line('parquet', 1.5)}\n"
          f"   floors: the grid alone           {line('grid', None)}\n"
          f"           pyarrow's CSV writer alone {line('csv_alone', None)}\n"
          f"           pyarrow's Parquet alone  {line('parquet_alone', None)}", flush=True)
    load1 = os.getloadavg()
    print(f"   load average at the end {load1[0]:.2f}, {load1[1]:.2f}, {load1[2]:.2f}")
    print(json.dumps({
        "load_start": round(load0[0], 2), "load_end": round(load1[0], 2),
        "cold_report_s": round(c["wall"], 4), "cold_report_cpu_s": round(c["cpu"], 4),
        "python_start_s": round(c["bare_wall"], 4),
        "evaluate_new_point_us": round(e["us"], 1), "evaluate_new_point_cpu_us":
        round(e["cpu_us"], 1), "evaluate_reading_rows_us": round(e["rows_us"], 1),
        "evaluate_fresh_us": round(e["fresh_us"], 1), "tables_differ": e["bad"],
        **{f"{k}_s": round(w[k][0], 3) for k in ("csv", "parquet", "grid", "csv_alone",
                                                  "parquet_alone")},
        **{f"{k}_ratio": round(w[k][0] / rep_wall, 2) for k in ("csv", "parquet", "grid",
                                                                 "csv_alone", "parquet_alone")},
        **{f"{k}_cpu_ratio": round(w[k][1] / rep_cpu, 2) for k in ("csv", "parquet", "grid",
                                                                    "csv_alone",
                                                                    "parquet_alone")}}))
    return 1 if e["bad"] else 0


if __name__ == "__main__":
    sys.exit(main())
