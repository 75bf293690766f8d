"""Sweep throughput: exact metrics of MobileNetV2 at 10^6 (width, resolution) points with the
design-space engine, against counting a sample of the same configurations by building the
model in PyTorch and running it under torch.utils.flop_counter.FlopCounterMode.

archcalc route: `compile_forms(spec)` once (timed separately), then `grid(widths,
resolutions)` over a 1000 x 1000 grid (widths 0.25, 0.25125, ..., 1.49875, exact Fractions;
resolutions 64 .. 1063) for every total the report prints (params, bn_params, madds, flops,
activation_bytes, and both peak-memory schedules) - 7 x 10^6 exact integers. Timed with
time.process_time (CPU seconds of this process) and wall time, median of --repeats runs.
A second timing evaluates 10^6 random *paired* points (not a grid).

torch route: for a random sample of --torch-points configurations of the same grid, build
benchmarks/mobilenet_v2_torch.py's hand-written MobileNetV2 (independent of archcalc) and
count it under FlopCounterMode (construction + one batch-1 forward), single-threaded
(torch.set_num_threads(1)); time per point. Every sampled configuration's params and MAdds
must equal the sweep's (torchvision convention), and --check-points random grid points must
equal archcalc.evaluate; the script exits 1 otherwise.

    .venv/bin/python benchmarks/sweep.py                  # about a minute
    .venv/bin/python benchmarks/sweep.py --torch-points 40 --repeats 7
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")      # one core: numpy's element-wise loops are serial anyway

import argparse
import platform
import random
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = ROOT / "specs" / "mobilenet_v2.yaml"
WIDTHS = [Fraction(1, 4) + Fraction(k, 800) for k in range(1000)]
RESOLUTIONS = list(range(64, 1064))


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed sweeps (median reported)")
    ap.add_argument("--torch-points", type=int, default=20, help="configurations counted in torch")
    ap.add_argument("--check-points", type=int, default=200,
                    help="random grid points checked against archcalc.evaluate")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    import numpy as np

    import archcalc
    from archcalc.design.engine import compile_forms

    rng = random.Random(args.seed)
    print("Machine")
    print(f"  date:     {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    print(f"  cpu:      {_cpu()}, {os.cpu_count()} logical cores (one used)")
    print(f"  python:   {platform.python_implementation()} {platform.python_version()}, "
          f"numpy {np.__version__}, archcalc {archcalc.__version__}")
    print(f"  load avg: {', '.join(f'{x:.2f}' for x in os.getloadavg())} (at start)")
    print()

    forms, wall, cpu = _timed(lambda: compile_forms(SPEC, convention="torchvision"))
    compile_cpu = cpu
    print(f"compile_forms(mobilenet_v2, torchvision): {wall:.3f} s wall, {cpu:.3f} s CPU "
          f"(once per spec and convention)")
    n = len(WIDTHS) * len(RESOLUTIONS)
    runs = []
    for k in range(args.repeats):
        fresh = compile_forms(SPEC, convention="torchvision") if k else forms
        grid, wall, cpu = _timed(lambda: fresh.grid(WIDTHS, RESOLUTIONS))
        runs.append((wall, cpu))
    wall_med = statistics.median(r[0] for r in runs)
    cpu_med = statistics.median(r[1] for r in runs)
    metrics = list(grid)
    print(f"grid {len(WIDTHS)} widths x {len(RESOLUTIONS)} resolutions = {n:,} points x "
          f"{len(metrics)} metrics ({', '.join(metrics)}), dtype "
          f"{sorted({a.dtype.name for a in grid.values()})}:")
    print(f"  {args.repeats} runs, each on freshly compiled forms (no cache carried over): "
          f"median {wall_med:.3f} s wall, {cpu_med:.3f} s CPU "
          f"(min {min(r[0] for r in runs):.3f}, max {max(r[0] for r in runs):.3f} s wall)")
    per_point = cpu_med / n
    print(f"  {n / cpu_med:,.0f} points/s of CPU ({per_point * 1e9:.0f} ns per point, all "
          f"{len(metrics)} metrics)")
    print(f"  compile + grid (a spec never seen before): {compile_cpu + cpu_med:.3f} s CPU")
    madds_only, wall_m, cpu_m = _timed(lambda: compile_forms(SPEC, convention="torchvision",
                                                             metrics=["madds"]).grid(WIDTHS, RESOLUTIONS))
    print(f"  MAdds only (compile included): {wall_m:.3f} s wall, {cpu_m:.3f} s CPU")

    pw = [rng.choice(WIDTHS) for _ in range(n)]
    pr = [rng.choice(RESOLUTIONS) for _ in range(n)]
    pts, wall_p, cpu_p = _timed(lambda: forms.points(pw, pr))
    print(f"paired points: {n:,} random (width, resolution) pairs, all metrics: {wall_p:.3f} s "
          f"wall, {cpu_p:.3f} s CPU ({n / cpu_p:,.0f} points/s)")
    print()

    # exactness against the per-point reference
    bad = 0
    for _ in range(args.check_points):
        i, j = rng.randrange(len(WIDTHS)), rng.randrange(len(RESOLUTIONS))
        want = archcalc.evaluate(SPEC, WIDTHS[i], RESOLUTIONS[j], convention="torchvision").totals
        bad += any(int(grid[m][i, j]) != want[m] for m in metrics)
    print(f"exactness: {args.check_points} random grid points vs archcalc.evaluate: "
          f"{'all equal' if not bad else f'{bad} DIFFER'}")

    import torch

    import mobilenet_v2_torch
    torch.set_num_threads(1)
    mobilenet_v2_torch.count(1.0, 224)     # warm-up (first-call overheads)
    sample = [(rng.randrange(len(WIDTHS)), rng.randrange(len(RESOLUTIONS)))
              for _ in range(args.torch_points)]
    times, mismatches = [], 0
    for i, j in sample:
        (params, madds), wall, cpu = _timed(
            lambda: mobilenet_v2_torch.count(float(WIDTHS[i]), RESOLUTIONS[j]))
        times.append(wall)
        if (params, madds) != (int(grid["params"][i, j]), int(grid["madds"][i, j])):
            mismatches += 1
            print(f"  MISMATCH at width {WIDTHS[i]}, resolution {RESOLUTIONS[j]}: torch "
                  f"{params:,} / {madds:,}, archcalc {int(grid['params'][i, j]):,} / "
                  f"{int(grid['madds'][i, j]):,}")
    torch_med = statistics.median(times)
    torch_mean = statistics.fmean(times)
    print(f"torch route: {len(sample)} random configurations of the same grid, build + "
          f"FlopCounterMode forward, 1 thread: median {torch_med * 1e3:.1f} ms, mean "
          f"{torch_mean * 1e3:.1f} ms per point (range {min(times) * 1e3:.1f}-{max(times) * 1e3:.1f} ms); "
          f"params and MAdds {'agree at every sampled point' if not mismatches else f'DIFFER at {mismatches}'}")
    ratio = torch_mean / per_point
    ratio_cold = torch_med / ((compile_cpu + cpu_med) / n)
    print(f"  torch would take {torch_mean * n / 3600:.1f} h for the {n:,} points "
          f"(mean x n); ratio per point (torch mean / archcalc CPU): {ratio:,.0f}x; "
          f"conservative (torch median / archcalc CPU with compile): {ratio_cold:,.0f}x")
    print()
    print("Targets")
    print(f"  10^6 points <= 1 s of compute on one core: "
          f"{'met' if cpu_med <= 1 else 'MISSED'} ({cpu_med:.3f} s CPU, median)")
    print(f"  >= 10^4 x faster per point than the torch route: "
          f"{'met' if min(ratio, ratio_cold) >= 1e4 else 'MISSED'} ({ratio:,.0f}x; "
          f"conservative {ratio_cold:,.0f}x)")
    return 1 if bad or mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
