"""The fast paths of issue 14, measured in ONE run on this machine, each as a ratio:

1. cold `archcalc report specs/mobilenet_v2.yaml --format json`: wall time of a fresh process
   (median of --cold runs, after one untimed warm-up; `python -c pass` timed the same way
   for the interpreter's own start-up). Target: 100 ms.
2. `archcalc.evaluate` at a NEW point of a spec already used in this process (every point
   below has a width and a resolution never asked before), with the per-layer table (every
   op's row), against a fresh compile of the same point (read + parse + compile + cost, what
   every call did before). Median over --points points after the spec's first FORMS_AFTER
   calls. Every cached table must equal the fresh one (exit 1 otherwise). Target: 100 us.
3. the sweep writers: 10^6 points (a 1000 x 1000 grid of MobileNetV2) x 7 metrics written to
   a CSV file and to a Parquet file by archcalc.design.sweep.sweep_file (the code behind
   `archcalc sweep -o FILE`) from compiled forms (compiling them, about a second of sympy
   once per spec, is timed apart), best of --repeats. Targets: CSV within 2x one cold
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


def archcalc_command() -> list:
    script = Path(sys.executable).with_name("archcalc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "archcalc"]


def wall(cmd: list) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return dt, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cold(n: int) -> dict:
    report = archcalc_command() + ["report", SPEC, "--format", "json"]
    bare = [sys.executable, "-c", "pass"]
    wall(report), wall(bare)                      # warm the file cache and .pyc files
    rs, bs = [], []
    for _ in range(n):                            # interleaved: load drift hits both
        rs.append(wall(report))
        bs.append(wall(bare))
    med = statistics.median
    return {"wall": med(r[0] for r in rs), "cpu": med(r[1] for r in rs),
            "bare_wall": med(b[0] for b in bs), "bare_cpu": med(b[1] for b in bs)}


def evaluate_points(n: int) -> tuple[float, float, int]:
    import archcalc
    from archcalc.api import FORMS_AFTER, analyze, compile_graph, load
    spec = str(ROOT / SPEC)
    for i in range(FORMS_AFTER):
        archcalc.evaluate(spec, Fraction(1, 2) + Fraction(i, 1000), 160)
    points = [(Fraction(7, 20) + Fraction(i, 997), 96 + (i * 7) % 200) for i in range(n)]
    cached, fresh, cached_cpu, tables = [], [], [], []
    for w, r in points:            # the cached calls in a row, then the fresh compiles
        c0, t0 = time.process_time(), time.perf_counter()
        tables.append(archcalc.evaluate(spec, w, r))
        t1, c1 = time.perf_counter(), time.process_time()
        cached.append(t1 - t0)
        cached_cpu.append(c1 - c0)
    bad = 0
    for (w, r), a in zip(points, tables):
        t0 = time.perf_counter()
        b = analyze(compile_graph(load(spec), w, r))
        fresh.append(time.perf_counter() - t0)
        bad += a != b
    med = statistics.median
    return med(cached), med(cached_cpu), med(fresh), bad


def writers(repeats: int) -> dict:
    from archcalc.cost import Evaluator
    from archcalc.design.sweep import sweep_file
    t0 = time.perf_counter()
    forms = Evaluator(str(ROOT / SPEC))
    out = {"compile": time.perf_counter() - t0}
    ws = [Fraction(1, 4) + Fraction(i, 800) for i in range(1000)]
    rs = list(range(64, 1064))
    with tempfile.TemporaryDirectory(prefix="archcalc-fast-") as tmp:
        for fmt in ("csv", "parquet"):
            best = None
            for _ in range(repeats):
                path = os.path.join(tmp, f"sweep.{fmt}")
                if os.path.exists(path):
                    os.remove(path)
                counts: list = []
                c0, t0 = time.process_time(), time.perf_counter()
                sweep_file(forms, ws, rs, path, fmt, progress=False, counts=counts)
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
                assert counts == [1_000_000, 0], counts
                best = (dt, cpu) if best is None else min(best, (dt, cpu))
                out[f"{fmt}_bytes"] = os.path.getsize(path)
            out[fmt], out[f"{fmt}_cpu"] = best
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cold", type=int, default=11, help="cold report runs")
    ap.add_argument("--points", type=int, default=300, help="new points for evaluate")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each writer (best kept)")
    args = ap.parse_args()
    print(f"{os.cpu_count()} logical cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    c = cold(args.cold)
    print(f"1. cold `archcalc report {SPEC} --format json`: {c['wall'] * 1000:.0f} ms wall, "
          f"{c['cpu'] * 1000:.0f} ms CPU (medians of {args.cold}; `python -c pass`: "
          f"{c['bare_wall'] * 1000:.0f} ms wall, {c['bare_cpu'] * 1000:.0f} ms CPU); target "
          f"100 ms: {c['wall'] / 0.1:.2f}x of it by wall time, {c['cpu'] / 0.1:.2f}x by CPU",
          flush=True)
    cached, cached_cpu, fresh, bad = evaluate_points(args.points)
    print(f"2. archcalc.evaluate at a new point, per-layer table: {cached * 1e6:.0f} us wall, "
          f"{cached_cpu * 1e6:.0f} us CPU (medians of {args.points}); a fresh compile: "
          f"{fresh * 1e6:.0f} us ({fresh / cached:.1f}x slower); target 100 us: "
          f"{cached / 1e-4:.2f}x of it; {bad} tables differ", flush=True)
    w = writers(args.repeats)
    print(f"3. sweep of 10^6 points x 7 metrics (forms compiled once in {w['compile']:.2f} s, sympy's "
          f"caches warm from step 2):\n"
          f"   CSV {w['csv']:.2f} s wall, {w['csv_cpu']:.2f} s CPU ({w['csv_bytes'] / 1e6:.0f} "
          f"MB) = {w['csv'] / c['wall']:.2f}x a cold report by wall time, "
          f"{w['csv_cpu'] / c['cpu']:.2f}x by CPU (target 2x)\n"
          f"   Parquet {w['parquet']:.2f} s wall, {w['parquet_cpu']:.2f} s CPU "
          f"({w['parquet_bytes'] / 1e6:.1f} MB) = {w['parquet'] / c['wall']:.2f}x by wall "
          f"time, {w['parquet_cpu'] / c['cpu']:.2f}x by CPU (target 1.5x)", flush=True)
    print(f"   load average at the end {os.getloadavg()[0]:.2f}")
    print(json.dumps({"cold_report_s": round(c["wall"], 4), "cold_report_cpu_s":
                      round(c["cpu"], 4), "python_start_s": round(c["bare_wall"], 4),
                      "evaluate_new_point_us": round(cached * 1e6, 1),
                      "evaluate_new_point_cpu_us": round(cached_cpu * 1e6, 1),
                      "evaluate_fresh_us": round(fresh * 1e6, 1), "tables_differ": bad,
                      "csv_s": round(w["csv"], 3), "parquet_s": round(w["parquet"], 3),
                      "csv_ratio": round(w["csv"] / c["wall"], 2),
                      "parquet_ratio": round(w["parquet"] / c["wall"], 2),
                      "csv_cpu_ratio": round(w["csv_cpu"] / c["cpu"], 2),
                      "parquet_cpu_ratio": round(w["parquet_cpu"] / c["cpu"], 2)}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
