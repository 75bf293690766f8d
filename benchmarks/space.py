"""Search spaces at scale (issue 14): the MobileNetV2 space of specs/spaces/mobilenet_v2_space.yaml
(t in {3, 6}, k in {3, 5, 7}, n in {1..4} for each of 7 stages: 24^7 = 4,586,471,424
architectures), in one run:

1. rate: architectures per second on one core through the decomposed path: `--all` of a
   slice of the space (stage 1 fixed, 24^6 = 191,102,976 architectures) in this process,
   every total of every architecture computed (one vector operation per metric per block),
   budgets counted, the front kept. Wall and CPU (time.process_time) seconds both: on a busy
   shared machine the CPU figure is the per-core rate, the wall figure what this run got.
   The sampled path (random indices, one gather per stage) is timed too.
2. speed-up: `--all` of the whole space with --keep budget Parquet output on a local Dask
   cluster of 1 worker process, then of 2 (one thread each), the same options; cluster start
   excluded (reported apart). --rounds N alternates 1-worker and 2-worker runs N times and
   keeps the fastest of each. The load average before and after says how busy the machine was.
3. the full space: the 2-worker run above is the whole 4.6 x 10^9 space enumerated, with its
   exact (madds, params) front, its in-budget set (--max-madds, --max-params) written as
   Parquet (rows and bytes reported); plus the (madds, max params) front, in process.

Checks (exit 1 otherwise): the 1- and 2-worker runs agree (counts, front, rows); random
in-budget rows and every front member equal archcalc.evaluate of the same choices.

    .venv/bin/python benchmarks/space.py                # about 3 minutes on 2 busy cores
    .venv/bin/python benchmarks/space.py --rounds 2
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "spaces" / "mobilenet_v2_space.yaml"


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def _check(space, rows, front, path) -> int:
    """Rows (a DataFrame) and front members against archcalc.evaluate; mismatches."""
    import archcalc
    from archcalc.spaces.stages import METRICS
    bad = 0
    reported = [m for m in METRICS if m != "elementwise_ops"]
    for _, row in rows.iterrows():
        table = archcalc.evaluate(str(path), sets=space.sets_for(int(row["index"])))
        bad += any(int(row[m]) != table.totals[m] for m in reported)
    for member in front:
        table = archcalc.evaluate(str(path), sets=space.sets_for(member["index"]))
        bad += any(member["totals"][m] != table.totals[m] for m in reported)
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=1, help="alternating 1/2-worker runs")
    ap.add_argument("--max-madds", type=int, default=200_000_000)
    ap.add_argument("--max-params", type=int, default=2_500_000)
    ap.add_argument("--check-rows", type=int, default=20)
    args = ap.parse_args()

    import numpy as np
    import pandas as pd

    import archcalc
    from archcalc.spaces import declare
    from archcalc.spaces.run import Options, run_space

    print(f"archcalc {archcalc.__version__}, {os.cpu_count()} logical cores, load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    budgets = {"madds": args.max_madds, "params": args.max_params}
    out: dict = {}

    # 1. one core
    part = declare(SPEC, {"t1": "6", "k1": "3", "n1": "1"})
    t0 = time.process_time()
    res = run_space(part, Options(all=True, budgets=budgets))
    cpu = time.process_time() - t0
    out["rate_wall"] = res.evaluated / res.seconds
    out["rate_cpu"] = res.evaluated / cpu
    print(f"1. decomposed --all, one process: {res.evaluated:,} architectures in "
          f"{res.seconds:.2f} s wall, {cpu:.2f} s CPU: {out['rate_wall']:.3g} per wall second, "
          f"{out['rate_cpu']:.3g} per CPU second (stage tables: {res.setup_seconds:.2f} s)",
          flush=True)
    space = declare(SPEC)
    t0, c0 = time.perf_counter(), time.process_time()
    sres = run_space(space, Options(sample=1_000_000, seed=1, budgets=budgets))
    print(f"   sampled path: 10^6 uniform architectures in {sres.seconds:.2f} s wall "
          f"({1e6 / sres.seconds:.3g} per second; sampling included)", flush=True)

    # 2. and 3. the whole space on 1 and 2 Dask worker processes
    tmp = Path(tempfile.mkdtemp(prefix="archcalc-space-bench-"))
    best: dict = {}
    load_before = os.getloadavg()[0]
    try:
        for r in range(args.rounds):
            for workers in (1, 2):
                folder = tmp / f"w{workers}-r{r}"
                res = run_space(space, Options(all=True, budgets=budgets, workers=workers,
                                               out=str(folder)))
                share = res.cpu_seconds / (res.seconds * workers)
                print(f"2. --all --workers {workers}: {res.evaluated:,} in {res.seconds:.1f} s "
                      f"(cluster start {res.start_seconds:.1f} s), {res.in_budget:,} in budget, "
                      f"{res.partitions} partitions; the partitions' CPU {res.cpu_seconds:.1f} s "
                      f"= {share:.0%} of {workers} core{'s' if workers > 1 else ''} over the "
                      f"run; load average {os.getloadavg()[0]:.2f}", flush=True)
                if workers not in best or res.seconds < best[workers][0].seconds:
                    best[workers] = (res, folder)
        load_after = os.getloadavg()[0]
        one, two = best[1][0], best[2][0]
        out["speedup"] = one.seconds / two.seconds
        # what the workers got: CPU seconds per wall second (2 = two whole cores)
        out["cores_used_1"] = one.cpu_seconds / one.seconds
        out["cores_used_2"] = two.cpu_seconds / two.seconds
        out["cpu_rate_2"] = two.evaluated / two.cpu_seconds
        rows1 = pd.read_parquet(best[1][1]).sort_values("index").reset_index(drop=True)
        rows2 = pd.read_parquet(best[2][1]).sort_values("index").reset_index(drop=True)
        same = (one.in_budget, one.front) == (two.in_budget, two.front) and rows1.equals(rows2)
        pick = rows2.sample(min(args.check_rows, len(rows2)), random_state=0)
        bad = _check(space, pick, two.front, SPEC)
        mx = run_space(space, Options(all=True, pareto=("madds", "params"),
                                      maximize=("params",)))
        bad += _check(space, pick[:0], mx.front[:5] + mx.front[-5:], SPEC)
        print(f"2. speed-up of 2 workers over 1: {out['speedup']:.2f}x ({one.seconds:.1f} s -> "
              f"{two.seconds:.1f} s; load average {load_before:.2f} before, {load_after:.2f} "
              f"after, on {os.cpu_count()} logical cores); the workers computed on "
              f"{out['cores_used_1']:.2f} and {out['cores_used_2']:.2f} cores on average "
              f"(CPU s / wall s), {out['cpu_rate_2']:.3g} architectures per CPU second on 2")
        print(f"3. the whole space: {two.evaluated:,} architectures in {two.seconds:.1f} s on 2 "
              f"workers ({two.evaluated / two.seconds:.3g} per second), "
              f"{two.start_seconds:.1f} s to start the cluster")
        print(f"   (madds, params) front: {len(two.front)} architecture(s): " + "; ".join(
            f"#{m['index']} madds {m['totals']['madds']:,} params {m['totals']['params']:,}"
            for m in two.front))
        print(f"   in budget (madds <= {args.max_madds:,}, params <= {args.max_params:,}): "
              f"{two.in_budget:,}, written to {two.partitions} Parquet files + _front.parquet, "
              f"{_size(best[2][1]) / 1e6:.1f} MB")
        print(f"   (madds, max params) front, in process: {len(mx.front)} architectures in "
              f"{mx.seconds:.1f} s, from {mx.front[0]['totals']['madds']:,} MAdds / "
              f"{mx.front[0]['totals']['params']:,} params to "
              f"{mx.front[-1]['totals']['madds']:,} / {mx.front[-1]['totals']['params']:,}")
        print(f"checks: 1 and 2 workers agree: {same}; {len(pick)} rows and "
              f"{len(two.front) + min(10, len(mx.front))} front members against "
              f"archcalc.evaluate: {bad} mismatches")
        out.update(full_seconds=two.seconds, front=len(two.front), in_budget=two.in_budget,
                   max_front=len(mx.front), agree=same, mismatches=bad)
        print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                          for k, v in out.items()}))
        return 0 if same and not bad else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
