"""Capture + count time of `archcalc.from_torch` against the tools people count models with.

In one process, warm (one untimed run of every runner first), median of --repeats runs per
model and runner; each runner builds the model anew and counts it once at 1 x 3 x R x R:

* archcalc: `from_torch` (meta-device dispatch trace) + `analyze(graph, "torchvision")`;
* FlopCounterMode: one real forward pass under torch.utils.flop_counter.FlopCounterMode;
* fvcore, ptflops, thop, torchinfo: each tool's own call, when the package is installed
  (none of them is a dependency of archcalc; missing ones are skipped and named).

archcalc's MAdds must equal FlopCounterMode's total / 2 on the CNNs (checked on every run).
Models: torchvision's when torchvision is installed (--models resnet18,mobilenet_v2,...),
else the hand-written twins of tests/reference_models.py and tests/reference_torchvision.py.
Prints seconds per runner and the ratio of each runner to archcalc (> 1: archcalc faster).

    .venv/bin/python benchmarks/import.py --repeats 5
    .venv/bin/python benchmarks/import.py --models mobilenet_v2,resnet18 --resolution 160
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

    def run_archcalc(build):
        table = archcalc.analyze(archcalc.from_torch(build(), input_shape=(3, r, r)), "torchvision")
        return table.total("madds")

    def run_fcm(build):
        model = build().eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.randn(1, 3, r, r))
        return counter.get_total_flops() // 2

    out = {"archcalc": run_archcalc, "FlopCounterMode": run_fcm}
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=DEFAULT_MODELS)
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    import warnings
    warnings.simplefilter("ignore")
    models, source = builders(args.models.split(","))
    run = runners(args.resolution)
    print(f"models: {source}; resolution {args.resolution}; median of {args.repeats}; "
          f"runners: {', '.join(run)}")
    print(f"{'model':<22}" + "".join(f"{n:>16}" for n in run))
    for name, build in models.items():
        times, counts = {}, {}
        for runner, fn in run.items():
            counts[runner] = fn(build)                  # warm-up, and the count
            samples = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                fn(build)
                samples.append(time.perf_counter() - t)
            times[runner] = statistics.median(samples)
        if counts["archcalc"] != counts["FlopCounterMode"]:
            print(f"{name}: MAdds differ: archcalc {counts['archcalc']:,} vs FlopCounterMode "
                  f"{counts['FlopCounterMode']:,}")
            return 1
        base = times["archcalc"]
        print(f"{name:<22}" + "".join(f"{times[n]:>9.3f}s {times[n] / base:>4.1f}x" for n in run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
