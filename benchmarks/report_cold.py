"""Cold-process timing: `archcalc report specs/mobilenet_v2.yaml` vs counting in PyTorch.

Route (a), archcalc: a fresh process runs

    archcalc report specs/mobilenet_v2.yaml --convention torchvision --format json

Route (b), torch: a fresh `python -c` process imports torch, builds the hand-written
MobileNetV2 of benchmarks/mobilenet_v2_torch.py and counts one batch-1 forward pass with
torch.utils.flop_counter.FlopCounterMode (MAdds = FLOPs // 2).

Each timed sample is the wall time of one whole process, start to exit (interpreter start-up,
imports, work, output), measured by the parent with time.perf_counter. The two routes run
interleaved, in alternating order (a b, b a, a b, ...), so drift in machine load hits both.
One untimed warm-up run of each goes first (file cache, .pyc files); `--warmup 0` skips it.
Every run's counts are checked against the expected totals at width 1.0, 224x224
(3,504,872 params, 300,774,272 MAdds); the script exits 1 if any run disagrees.

`--points` also times counting many (width, resolution) points warm, in this process:
archcalc.evaluate(spec, width, resolution, convention="torchvision") vs building each torch
model and counting it, with the ratio per point, and checks the counts agree at every point.

    .venv/bin/python benchmarks/report_cold.py                 # 15 interleaved cold pairs
    .venv/bin/python benchmarks/report_cold.py --repeats 31 --points
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = "specs/mobilenet_v2.yaml"
EXPECTED = {"params": 3_504_872, "madds": 300_774_272}   # width 1.0, 224x224, 1000 classes

# Goals from the issue: report under 1 s cold, and at least 5x faster than the torch route.
TARGET_COLD_S = 1.0
TARGET_RATIO = 5.0

TORCH_SNIPPET = f"""
import json, sys
sys.path.insert(0, {str(HERE)!r})
import torch
from mobilenet_v2_torch import count
params, madds = count(1.0, 224)
print(json.dumps({{"params": params, "madds": madds, "torch": torch.__version__,
                  "threads": torch.get_num_threads()}}))
"""


# -- machine ----------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_lines(torch_info: dict | None) -> list[str]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        from importlib.metadata import version
        archcalc_version = version("archcalc")
    except Exception:   # noqa: BLE001 - only for the description
        archcalc_version = "?"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    torch_desc = "?"
    if torch_info:
        torch_desc = f"{torch_info['torch']} ({torch_info['threads']} intra-op threads)"
    return [
        f"date:     {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"cpu:      {cpu_model()}",
        f"cores:    {os.cpu_count()} logical, {usable} usable by this process",
        f"os:       {platform.system()} {platform.release()} ({platform.machine()})",
        f"python:   {platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        f"torch:    {torch_desc}",
        f"archcalc: {archcalc_version}",
        f"load avg: {load} (1, 5, 15 min, at start)",
    ]


# -- cold runs --------------------------------------------------------------------------------
def archcalc_command() -> list[str]:
    script = Path(sys.executable).with_name("archcalc")
    if script.exists():
        return [str(script)]
    found = shutil.which("archcalc")
    if found and Path(found).resolve().parent == Path(sys.executable).resolve().parent:
        return [found]
    return [sys.executable, "-m", "archcalc.cli"]


def routes() -> dict[str, list[str]]:
    return {
        "archcalc": archcalc_command() + ["report", SPEC, "--convention", "torchvision",
                                          "--format", "json"],
        "torch": [sys.executable, "-c", TORCH_SNIPPET],
    }


def parse_counts(route: str, stdout: str) -> dict:
    data = json.loads(stdout)
    if route == "archcalc":
        return {"params": data["totals"]["params"], "madds": data["totals"]["madds"]}
    return data


def run_once(route: str, cmd: list[str]) -> tuple[float, float, dict]:
    """(wall seconds, child CPU seconds, parsed output) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"{route} route failed with status {proc.returncode}:\n{proc.stderr.strip()}")
    return wall, cpu, parse_counts(route, proc.stdout)


def summary(xs: list[float]) -> dict:
    xs = sorted(xs)
    if len(xs) >= 2:
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    else:
        q1 = q3 = xs[0]
    return {"median": statistics.median(xs), "q1": q1, "q3": q3, "iqr": q3 - q1,
            "min": xs[0], "max": xs[-1], "n": len(xs)}


def check(route: str, counts: dict, expected: dict, where: str) -> list[str]:
    return [f"{route} {where}: {k} = {counts.get(k)}, expected {v}"
            for k, v in expected.items() if counts.get(k) != v]


def cold(repeats: int, warmup: int) -> tuple[dict, dict, list[str]]:
    cmds = routes()
    names = list(cmds)
    walls: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    errors: list[str] = []
    torch_info = None
    for i in range(warmup):
        for name in names:
            run_once(name, cmds[name])
    for i in range(repeats):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            wall, cpu, counts = run_once(name, cmds[name])
            walls[name].append(wall)
            cpus[name].append(cpu)
            errors += check(name, counts, EXPECTED, f"cold run {i + 1}")
            if name == "torch":
                torch_info = counts
    return ({n: (summary(walls[n]), summary(cpus[n])) for n in names}, torch_info or {}, errors)


# -- warm points ------------------------------------------------------------------------------
def points(widths: list[str], resolutions: list[int], reps: int) -> tuple[list[dict], list[str]]:
    import archcalc   # noqa: PLC0415 - only for --points
    sys.path.insert(0, str(HERE))
    from mobilenet_v2_torch import count   # noqa: PLC0415 - imports torch

    spec = str(ROOT / SPEC)

    def ours(w, r):
        t = archcalc.evaluate(spec, w, r, convention="torchvision")
        return {"params": t.total("params"), "madds": t.total("madds")}

    def theirs(w, r):
        params, madds = count(float(w), r)
        return {"params": params, "madds": madds}

    ours("1", 224)        # imports, first-call costs: not part of the per-point timings
    theirs("1", 224)
    rows, errors = [], []
    for w, r in itertools.product(widths, resolutions):
        t_ours, t_theirs = [], []
        for k in range(reps):
            pair = [("a", ours), ("t", theirs)] if k % 2 == 0 else [("t", theirs), ("a", ours)]
            for tag, fn in pair:
                t0 = time.perf_counter()
                got = fn(w, r)
                dt = time.perf_counter() - t0
                (t_ours if tag == "a" else t_theirs).append(dt)
                if tag == "a":
                    a_counts = got
                else:
                    t_counts = got
        bad = check("archcalc vs torch", a_counts, t_counts, f"at width {w}, {r}px")
        errors += bad
        rows.append({"width": w, "resolution": r, **a_counts,
                     "archcalc": statistics.median(t_ours), "torch": statistics.median(t_theirs),
                     "ok": not bad})
    return rows, errors


# -- output -----------------------------------------------------------------------------------
def ms(x: float) -> str:
    return f"{x * 1e3:9.1f}"


def print_cold(stats: dict, repeats: int, warmup: int) -> tuple[float, float]:
    print(f"\nCold process, wall time per run (ms), {repeats} interleaved runs each "
          f"after {warmup} warm-up run(s) each:")
    print(f"  {'route':<9} {'median':>9} {'IQR':>9} {'q1':>9} {'q3':>9} {'min':>9} {'max':>9}"
          f" {'CPU med':>9}")
    for name, (w, c) in stats.items():
        print(f"  {name:<9} {ms(w['median'])} {ms(w['iqr'])} {ms(w['q1'])} {ms(w['q3'])}"
              f" {ms(w['min'])} {ms(w['max'])} {ms(c['median'])}")
    a, t = stats["archcalc"][0], stats["torch"][0]
    ratio = t["median"] / a["median"]
    print(f"  ratio torch/archcalc (median wall): {ratio:.1f}x "
          f"(min/min: {t['min'] / a['min']:.1f}x)")
    print(f"  (CPU med = user+sys CPU time of the process, median; 'archcalc' runs "
          f"{' '.join(Path(x).name for x in archcalc_command())} report {SPEC} "
          f"--convention torchvision --format json)")
    return a["median"], ratio


def print_points(rows: list[dict], reps: int) -> None:
    print(f"\nWarm, in-process, per (width, resolution) point: median of {reps} interleaved "
          f"calls each (ms)")
    print(f"  {'width':>5} {'res':>4} {'params':>10} {'MAdds':>12} {'archcalc':>9} {'torch':>9}"
          f" {'ratio':>7}  counts")
    for row in rows:
        print(f"  {row['width']:>5} {row['resolution']:>4} {row['params']:>10,} {row['madds']:>12,}"
              f" {ms(row['archcalc'])} {ms(row['torch'])} {row['torch'] / row['archcalc']:>6.1f}x"
              f"  {'agree' if row['ok'] else 'DIFFER'}")
    a = sum(r["archcalc"] for r in rows)
    t = sum(r["torch"] for r in rows)
    ratios = [r["torch"] / r["archcalc"] for r in rows]
    print(f"  all {len(rows)} points: archcalc {a * 1e3:.1f} ms, torch {t * 1e3:.1f} ms, "
          f"ratio {t / a:.1f}x (per-point ratio median {statistics.median(ratios):.1f}x, "
          f"range {min(ratios):.1f}x to {max(ratios):.1f}x)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", "-n", type=int, default=15,
                   help="timed cold runs per route (default 15)")
    p.add_argument("--warmup", type=int, default=1,
                   help="untimed cold runs per route first (default 1)")
    p.add_argument("--points", action="store_true",
                   help="also time many (width, resolution) points warm, in-process")
    p.add_argument("--widths", default="0.35,0.5,0.75,1.0,1.4",
                   help="widths for --points (default 0.35,0.5,0.75,1.0,1.4)")
    p.add_argument("--resolutions", default="96,128,160,224",
                   help="resolutions for --points (default 96,128,160,224; 5 x 4 = 20 points)")
    p.add_argument("--point-repeats", type=int, default=5,
                   help="timed calls per route per point for --points (default 5)")
    p.add_argument("--strict", action="store_true",
                   help="also exit 1 if a target (cold < 1 s, ratio >= 5x) is missed")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or args.point_repeats < 1:
        p.error("--repeats and --point-repeats must be at least 1, --warmup at least 0")

    load_at_start = machine_lines(None)   # load average before we add to it
    stats, torch_info, errors = cold(args.repeats, args.warmup)
    print("Machine")
    for line in machine_lines(torch_info):
        print("  " + (next(x for x in load_at_start if x.startswith("load avg"))
                      if line.startswith("load avg") else line))
    cold_median, ratio = print_cold(stats, args.repeats, args.warmup)

    if args.points:
        widths = [w.strip() for w in args.widths.split(",") if w.strip()]
        resolutions = [int(r) for r in args.resolutions.split(",") if r.strip()]
        rows, point_errors = points(widths, resolutions, args.point_repeats)
        print_points(rows, args.point_repeats)
        errors += point_errors

    print("\nTargets")
    ok_cold = cold_median < TARGET_COLD_S
    ok_ratio = ratio >= TARGET_RATIO
    print(f"  archcalc report cold < {TARGET_COLD_S:.0f} s:  "
          f"{'met' if ok_cold else 'MISSED'} ({cold_median * 1e3:.0f} ms median)")
    print(f"  torch/archcalc >= {TARGET_RATIO:.0f}x:     "
          f"{'met' if ok_ratio else 'MISSED'} ({ratio:.1f}x)")
    print(f"  counts agree ({EXPECTED['params']:,} params, {EXPECTED['madds']:,} MAdds at 1.0/224"
          f"{', and at every point' if args.points else ''}): "
          f"{'yes' if not errors else 'NO'}")
    for e in errors[:20]:
        print("    " + e)
    if errors:
        return 1
    if args.strict and not (ok_cold and ok_ratio):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
