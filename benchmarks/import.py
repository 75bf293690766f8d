"""Capture + count time of `archcalc.from_torch` against the tools people count models with.

In one process, warm (one untimed run of every runner first), median of --repeats runs per
model and runner; each runner builds the model anew and counts it once at 1 x 3 x R x R:

* archcalc: the model built on the meta device with torch.nn.init skipped (as `archcalc report
  pkg.mod:callable` builds it: no weight initialisation), `from_torch` (meta-device dispatch trace) + `analyze(graph,
  "torchvision")`; archcalc+init: the same from a module built normally (weights initialised,
  as `archcalc.from_torch(module)` gets it from a user);
* FlopCounterMode: one real forward pass under torch.utils.flop_counter.FlopCounterMode;
* fvcore, ptflops, thop, torchinfo: each tool's own call, when the package is installed
  (none of them is a dependency of archcalc; missing ones are skipped and named).

archcalc's MAdds must equal FlopCounterMode's total / 2 on the CNNs (checked on every run).
Models: torchvision's when torchvision is installed (--models resnet18,mobilenet_v2,...),
else the hand-written twins of tests/reference_models.py and tests/reference_torchvision.py.
Prints seconds per runner and the ratio of each runner to archcalc (> 1: archcalc faster).

    .venv/bin/python benchmarks/import.py --repeats 5
    .venv/bin/python benchmarks/import.py --models mobilenet_v2,resnet18 --resolution 160
    .venv/bin/python benchmarks/import.py --models issue12 --threads 1   # on a shared machine
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

DEFAULT_MODELS = "mobilenet_v2,resnet18,resnet50,mobilenet_v3_large,shufflenet_v2_x1_0,efficientnet_b0"


def builders(names):
    try:
        import torchvision.models as tv
        return {n: getattr(tv, n) for n in names}, "torchvision"
    except Exception:
        import reference_models as rm
        import reference_torchvision as rtv
        known = {"mobilenet_v2": rm.mobilenet_v2, "resnet18": rm.resnet18, "resnet50": rm.resnet50,
                 "resnext50_32x4d": rm.resnext50_32x4d, "vit_b_16": rm.vit_b_16,
                 "mobilenet_v3_large": rtv.mobilenet_v3_large,
                 "mobilenet_v3_small": rtv.mobilenet_v3_small,
                 "shufflenet_v2_x1_0": lambda: rtv.shufflenet_v2("x1_0"),
                 "efficientnet_b0": rtv.efficientnet_b0}
        return {n: known[n] for n in names if n in known}, "hand-written twins (tests/)"


def runners(r: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import archcalc
    from archcalc.imported.refs import build_for_counting

    def run_archcalc(build):
        try:                             # as `archcalc report pkg.mod:callable` builds it:
            model = build_for_counting(build)   # init skipped, on the meta device (on the CPU
        except Exception:                      # where the constructor reads values)
            model = build()
        table = archcalc.analyze(archcalc.from_torch(model, input_shape=(3, r, r)), "torchvision")
        return table.total("madds")

    def run_archcalc_init(build):
        table = archcalc.analyze(archcalc.from_torch(build(), input_shape=(3, r, r)), "torchvision")
        return table.total("madds")

    def run_fcm(build):
        model = build().eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.randn(1, 3, r, r))
        return counter.get_total_flops() // 2

    # nn.MultiheadAttention's inference fast path is one fused op FlopCounterMode does not
    # count; archcalc's capture turns it off, so the benchmark does too (ViT's counts agree)
    torch.backends.mha.set_fastpath_enabled(False)

    out = {"archcalc": run_archcalc, "archcalc+init": run_archcalc_init,
           "FlopCounterMode": run_fcm}
    try:
        from fvcore.nn import FlopCountAnalysis
        out["fvcore"] = lambda build: FlopCountAnalysis(build().eval(),
                                                        torch.randn(1, 3, r, r)).total()
    except ImportError:
        pass
    try:
        from ptflops import get_model_complexity_info
        out["ptflops"] = lambda build: get_model_complexity_info(
            build().eval(), (3, r, r), as_strings=False, print_per_layer_stat=False,
            verbose=False)[0]
    except ImportError:
        pass
    try:
        import thop
        out["thop"] = lambda build: thop.profile(build().eval(), inputs=(torch.randn(1, 3, r, r),),
                                                 verbose=False)[0]
    except Exception:
        pass
    try:
        import torchinfo
        out["torchinfo"] = lambda build: torchinfo.summary(build().eval(), (1, 3, r, r),
                                                           verbose=0).total_mult_adds
    except ImportError:
        pass
    return out


DONE_WHEN_MODELS = ("resnet18,resnet50,resnext50_32x4d,wide_resnet50_2,vgg16,alexnet,squeezenet1_1,"
                    "densenet121,googlenet,mnasnet0_5,mnasnet0_75,mnasnet1_0,mnasnet1_3,"
                    "regnet_y_400mf,regnet_x_800mf,convnext_tiny,efficientnet_b3,"
                    "efficientnet_v2_s,mobilenet_v2,mobilenet_v3_large,mobilenet_v3_small,"
                    "shufflenet_v2_x1_0")


def measure(fn, build, repeats: int, rounds: list) -> None:
    """Append (wall s, CPU s) of `repeats` calls; CPU is the process's over all threads."""
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn(build)
        rounds.append((time.perf_counter() - wall, time.process_time() - cpu))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=DEFAULT_MODELS,
                   help="comma-separated names, or 'issue12' for the issue's whole list")
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads for every runner (default: torch's own); 1 keeps "
                        "the tools' real forward passes off a core another job holds (OpenMP "
                        "threads waiting on a busy core made them 10x slower at load average 3)")
    args = p.parse_args(argv)
    if args.threads is not None:
        import torch
        torch.set_num_threads(args.threads)
    import os
    import warnings
    warnings.simplefilter("ignore")
    names = DONE_WHEN_MODELS if args.models == "issue12" else args.models
    models, source = builders(names.split(","))
    run = runners(args.resolution)
    print(f"models: {source}; resolution {args.resolution}; median of {args.repeats} "
          f"interleaved rounds; runners: {', '.join(run)}; torch threads "
          f"{__import__('torch').get_num_threads()}; load average "
          f"{os.getloadavg()[0]:.2f}")
    print("each cell: median wall seconds, then that runner's time / archcalc's (> 1: archcalc "
          "faster); the CPU ratio (all threads) is in brackets")
    print(f"{'model':<20}" + "".join(f"{n:>26}" for n in run))
    slower = {"archcalc": [], "archcalc+init": []}
    for name, build in models.items():
        counts = {runner: fn(build) for runner, fn in run.items()}   # warm-up, and the count
        samples = {runner: [] for runner in run}
        for _ in range(args.repeats):              # interleaved: load changes hit all alike
            for runner, fn in run.items():
                measure(fn, build, 1, samples[runner])
        if not counts["archcalc"] == counts["archcalc+init"] == counts["FlopCounterMode"]:
            print(f"{name}: MAdds differ: archcalc {counts['archcalc']:,} vs FlopCounterMode "
                  f"{counts['FlopCounterMode']:,}")
            return 1
        wall = {n: statistics.median(w for w, _ in samples[n]) for n in run}
        cpu = {n: statistics.median(c for _, c in samples[n]) for n in run}
        print(f"{name:<20}" + "".join(
            f"{wall[n]:>9.3f}s {wall[n] / wall['archcalc']:>6.1f}x [{cpu[n] / cpu['archcalc']:>5.1f}x]"
            for n in run))
        for base in ("archcalc", "archcalc+init"):
            slower[base] += [f"{name}/{n}" for n in run
                             if not n.startswith("archcalc") and wall[n] < wall[base]]
    print(f"load average {os.getloadavg()[0]:.2f}")
    for base, names in slower.items():
        print(f"{base} slower than: {', '.join(names) if names else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
