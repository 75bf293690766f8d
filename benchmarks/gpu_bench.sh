#!/usr/bin/env bash
# GPU run of the torch backend's bench (issue 5, step 6): one prepared command for the
# device machine. From the repository root:
#
#     bash benchmarks/gpu_bench.sh                 # on the GPU machine (about 4-6 minutes)
#     DEVICE=cpu QUICK=1 bash benchmarks/gpu_bench.sh   # dry run of the script itself on a CPU
#
# It runs archcalc.torch_backend.bench.bench (the harness behind `archcalc bench`) through the Python
# API, so it needs neither the console script nor `pip install` (the GPU image has no package
# registry; its python3 already holds torch, networkx, sympy, pyyaml, rich and pandas):
# PYTHONPATH points at this checkout. For MobileNetV1, MobileNetV2, MobileNetV2 (1.4) and
# ShuffleNet 1x / 2x (g=3) when specs/shufflenet_v1.yaml exists, at 224x224, batch 1 and 64,
# fp32 (NCHW) and fp16 (channels-last), it prints one table: median latency, IQR, images/s,
# achieved GFLOP/s against the measured matmul peak, the roofline prediction and
# measured / predicted, and the share of GPU time spent in depthwise convolutions.
#
# Output files go to $OUT (the device tool's folder that comes back) or /tmp/archcalc-gpu:
#   gpu_bench.txt   the table and the machine
#   gpu_bench.json  every bench result in full (per layer, per op, environment)
#   results.sqlite  the same results in an archcalc results database
#                   (`archcalc results --db results.sqlite` reads it)
#
# Environment knobs: DEVICE (cuda), BATCHES ("1 64"), DTYPES ("fp32 fp16"), COMPILE=1 (also
# time torch.compile for MobileNetV2, batch 64, fp16: adds about a minute of compilation),
# QUICK=1 (short time budgets), PYTHON (python3).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
DEST=${OUT:-/tmp/archcalc-gpu}
mkdir -p "$DEST"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export ARCHCALC_GPU_DEST="$DEST" DEVICE="${DEVICE:-cuda}" BATCHES="${BATCHES:-1 64}" \
       DTYPES="${DTYPES:-fp32 fp16}" COMPILE="${COMPILE:-0}" QUICK="${QUICK:-0}"

{
  echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC') archcalc GPU bench, device $DEVICE"
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem \
      --format=csv 2>&1 || true
  fi
} | tee "$DEST/gpu_bench.txt"

"$PYTHON" - <<'PY' 2>&1 | tee -a "$DEST/gpu_bench.txt"
import json, os, sys, time, traceback
from pathlib import Path

import torch
import archcalc
from archcalc import results
from archcalc.graph import compile_graph
from archcalc.torch_backend import bench as harness

dest = Path(os.environ["ARCHCALC_GPU_DEST"])
device = os.environ["DEVICE"]
batches = [int(b) for b in os.environ["BATCHES"].split()]
dtypes = os.environ["DTYPES"].split()
quick = os.environ["QUICK"] == "1"
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN "
      f"{torch.backends.cudnn.version() if torch.cuda.is_available() else None}, "
      f"GPU {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}, "
      f"python {sys.version.split()[0]}", flush=True)
if device == "cuda" and not torch.cuda.is_available():
    sys.exit("CUDA is not available to this python; nothing to do")

models = [("MobileNetV1", "specs/mobilenet_v1.yaml", "1", {}),
          ("MobileNetV2", "specs/mobilenet_v2.yaml", "1", {}),
          ("MobileNetV2 (1.4)", "specs/mobilenet_v2.yaml", "1.4", {}),
          ("ShuffleNet 1x (g=3)", "specs/shufflenet_v1.yaml", "1", {"groups": "3"}),
          ("ShuffleNet 2x (g=3)", "specs/shufflenet_v1.yaml", "2", {"groups": "3"})]
runs = [(m, b, dt, dt != "fp32", False) for m in models for b in batches for dt in dtypes]
if os.environ["COMPILE"] == "1":
    runs.append((models[1], max(batches), "fp16" if "fp16" in dtypes else dtypes[0], True, True))

budget = dict(min_time=0.2, max_time=1.0, micro_time=0.1, warmup=0.2) if quick else \
         dict(min_time=1.0, max_time=5.0, micro_time=0.3, warmup=0.5)
db = results.ResultsDB(dest / "results.sqlite")
rows, full = [], []
started = time.perf_counter()
for (label, spec, width, sets), batch, dtype, channels_last, compiled in runs:
    if not Path(spec).exists():
        continue
    what = f"{label}, batch {batch}, {dtype}{', channels-last' if channels_last else ''}" \
           f"{', torch.compile' if compiled else ''}"
    t0 = time.perf_counter()
    try:
        graph = compile_graph(archcalc.load(spec, sets), width, 224)
        opts = harness.BenchOptions(batch=batch, device=device, dtype=dtype,
                                    channels_last=channels_last, compile=compiled,
                                    layer_runs=5, **budget)
        d = harness.bench(graph, opts, spec_path=spec, sets=sets)
        data = d.to_dict()
        data["stored"] = {"id": db.add(d.record())}
        full.append(data)
        rows.append((label, batch, dtype, channels_last, compiled, data))
        t = data["timing"]
        print(f"  done {what}: {t['median'] * 1e3:.3f} ms ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    except Exception as err:   # one failing configuration must not lose the others
        print(f"  FAILED {what}: {type(err).__name__}: {err}", flush=True)
        traceback.print_exc(limit=3)
db.close()
(dest / "gpu_bench.json").write_text(json.dumps(full, indent=1))

print()
if rows:
    env = rows[0][5]["environment"]
    mp = rows[0][5].get("machine_peak", {})
    print(f"device: {env.get('gpu', device)}, torch {env['torch']}, CUDA {env.get('cuda')}, "
          f"cuDNN {env.get('cudnn')}, cudnn.benchmark on for the run, "
          f"TF32 for convs {env.get('cudnn_allow_tf32')}")
hdr = (f"{'model':<20} {'batch':>5} {'dtype':<5} {'layout':<6} {'mode':<7} {'median ms':>10} "
       f"{'IQR%':>5} {'img/s':>9} {'GFLOP/s':>9} {'peak':>9} {'%peak':>6} {'roof ms':>8} "
       f"{'meas/roof':>9} {'dw %time':>8}")
print(hdr)
print("-" * len(hdr))
for label, batch, dtype, cl, compiled, d in rows:
    t, roof, ach = d["timing"], d.get("roofline", {}), d["achieved"]
    kinds = d.get("by_kind", {})
    total = sum(k["measured_s"] for k in kinds.values()) or 1
    dw = 100 * kinds.get("depthwise", {}).get("measured_s", 0) / total
    print(f"{label:<20} {batch:>5} {dtype:<5} {'NHWC' if cl else 'NCHW':<6} "
          f"{'compile' if compiled else 'eager':<7} {t['median'] * 1e3:>10.3f} "
          f"{100 * t['rel_iqr']:>5.1f} {ach['images_per_s']:>9.0f} {ach['gflops']:>9.0f} "
          f"{roof.get('peak_gflops', 0):>9.0f} "
          f"{100 * ach['gflops'] / roof['peak_gflops'] if roof else 0:>6.1f} "
          f"{roof.get('predicted_s', 0) * 1e3:>8.3f} {roof.get('measured_over_predicted', 0):>9.1f} "
          f"{dw:>8.1f}")
print()
print("peak = measured matmul (8192^3 on CUDA) in the run's dtype; roofline = sum over ops of "
      "max(FLOPs / peak, bytes / copy bandwidth); dw %time = depthwise convs' share of the "
      "per-layer profile (eager, torch.profiler device time)")
if rows:
    bw = {r[2]: r[5]["roofline"]["bandwidth_gbs"] for r in rows if r[5].get("roofline")}
    print("copy bandwidth: " + ", ".join(f"{v:.0f} GB/s" for v in bw.values()))
print(f"{len(rows)} of {sum(Path(r[0][1]).exists() for r in runs)} configurations ran in "
      f"{time.perf_counter() - started:.0f} s; files in {dest}")
PY
status=${PIPESTATUS[0]}
ls -l "$DEST"
exit "$status"
