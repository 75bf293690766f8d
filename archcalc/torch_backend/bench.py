"""Time a materialised spec properly, per layer, next to what its MAdds and bytes predict.

The harness follows torch.utils.benchmark and the mobile references (TFLite benchmark_model):

* `torch.inference_mode()`, the model in eval mode, a fixed intra-op thread count
  (`torch.set_num_threads`, restored afterwards);
* the first call is timed on its own (it includes torch.compile's compilation, allocator
  and oneDNN/cuDNN set-up), then a time-based warm-up;
* samples are blocks of iterations sized to >= 2 ms (CPU) / 5 ms (CUDA) so the timer and the
  synchronisation are amortised; CUDA is synchronised at block boundaries only;
* repeats until the estimate is stable: the distribution-free 95% confidence interval of the
  median (binomial order statistics) must be within +-`precision` of it, after at least
  `min_time` seconds; `max_time` caps the run and the result is then marked unstable;
* reports the median and the interquartile range (like torch.utils.benchmark's Measurement),
  with a warning when IQR / median > 10%.

Around the end-to-end time it measures the machine (a matmul for the peak FLOP/s, a large
copy for the memory bandwidth, a one-element module call for the per-op overhead) and
predicts every op with a roofline: time = max(FLOPs / peak, bytes / bandwidth), where FLOPs
are 2 x archcalc's MAdds (+ element-wise ops for BN, activations, adds, pooling) and bytes
are inputs + output + weights from archcalc's shapes. The per-layer breakdown comes from
torch.profiler: every graph node's module call is a `record_function` range named after the
node, so the profile lines up with `archcalc report` row by row.

Weights are random (default init, seeded) with BatchNorm statistics calibrated on one random
batch, so activations keep a realistic scale (an uncalibrated deep net decays towards
denormals, which are slow on CPUs).
"""
from __future__ import annotations

import contextlib
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping

import torch
from torch import nn

from .. import results
from ..cost import Convention, analyze
from ..errors import OptionError
from ..ops import numel
from .build import build_module

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
DEVICES = ("cpu", "cuda")
FORMAT_VERSION = 1

# Everything the torch model holds as a parameter: the weights bytes a layer reads.
_ALL_PARAMS = Convention("bench", bn_params=True, bias=True, elementwise=True)

Progress = Callable[[str, float], None]   # (what is running, fraction of the whole run done)


@dataclass(frozen=True)
class BenchOptions:
    batch: int = 1
    threads: int | None = None        # None: every core this process may use
    device: str = "cpu"
    dtype: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    min_time: float = 1.0             # seconds of timed samples at least
    max_time: float = 10.0            # stop there even if the estimate is not yet stable
    precision: float = 0.01           # 95% CI of the median within +-1% of it
    warmup: float = 0.5               # seconds of warm-up after the first call
    layers: bool = True               # per-layer breakdown with torch.profiler
    layer_runs: int | None = None     # profiled runs (None: enough for ~0.2 s, 3 to 10)
    roofline: bool = True             # peak / bandwidth / overhead micro-benchmarks
    micro_time: float = 0.3           # min_time of each micro-benchmark
    seed: int = 0

    def check(self) -> "BenchOptions":
        """Every option in its range (archcalc/torch_backend/option_checks.py), else one OptionError."""
        from dataclasses import fields
        from .option_checks import checked
        checked({f.name: getattr(self, f.name) for f in fields(self)})
        if self.device not in DEVICES:
            raise OptionError(f"unknown device {self.device!r} (known: {', '.join(DEVICES)})")
        if self.dtype not in DTYPES:
            raise OptionError(f"bench runs dtype {', '.join(DTYPES)} (got {self.dtype!r})")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise OptionError(f"--device cuda: CUDA is not available (torch {torch.__version__}"
                              f"{', a CPU-only build' if torch.version.cuda is None else ''})")
        return self


# -- timing ---------------------------------------------------------------------------------
@dataclass
class Timing:
    """Seconds per iteration: median and quartiles of the samples (each a block of
    `iters_per_sample` iterations), with the 95% CI of the median."""
    median: float
    q1: float
    q3: float
    mean: float
    min: float
    max: float
    ci_low: float
    ci_high: float
    samples: int
    iters_per_sample: int
    elapsed: float                    # seconds spent in timed samples
    stable: bool
    first: float | None = None        # the very first call (includes compilation, set-up)
    warmup_iters: int = 0

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def rel_iqr(self) -> float:
        return self.iqr / self.median if self.median else 0.0

    @property
    def rel_ci(self) -> float:
        """Half-width of the median's 95% CI relative to the median."""
        return (self.ci_high - self.ci_low) / 2 / self.median if self.median else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(iqr=self.iqr, rel_iqr=self.rel_iqr, rel_ci=self.rel_ci)
        return d


def median_ci(sorted_samples: list[float], z: float = 1.96) -> tuple[float, float]:
    """Distribution-free CI of the median from order statistics (binomial, normal approx.)."""
    n = len(sorted_samples)
    if n == 0:
        return (math.nan, math.nan)
    lo = int(math.floor((n - z * math.sqrt(n)) / 2))
    hi = int(math.ceil(1 + (n + z * math.sqrt(n)) / 2))
    return sorted_samples[max(lo - 1, 0)], sorted_samples[min(hi - 1, n - 1)]


def _quantile(s: list[float], q: float) -> float:
    """Linear-interpolated quantile of sorted samples (numpy's default)."""
    if len(s) == 1:
        return s[0]
    pos = q * (len(s) - 1)
    i = int(math.floor(pos))
    j = min(i + 1, len(s) - 1)
    return s[i] + (s[j] - s[i]) * (pos - i)


def summarise(samples: list[float], iters: int, elapsed: float, stable: bool, **extra) -> Timing:
    s = sorted(samples)
    lo, hi = median_ci(s)
    return Timing(median=statistics.median(s), q1=_quantile(s, 0.25), q3=_quantile(s, 0.75),
                  mean=statistics.fmean(s), min=s[0], max=s[-1], ci_low=lo, ci_high=hi,
                  samples=len(s), iters_per_sample=iters, elapsed=elapsed, stable=stable, **extra)


def _sync_for(device: str) -> Callable[[], None]:
    if device == "cuda":
        return torch.cuda.synchronize
    return lambda: None


class _Runner:
    """One timed callable: first call, warm-up, block size, then samples on demand."""

    def __init__(self, fn: Callable[[], object], sync: Callable[[], None], target_sample: float):
        self.fn, self.sync, self.target = fn, sync, target_sample
        self.samples: list[float] = []
        self.cpu_samples: list[float] = []    # this thread's CPU time (not preempted time)
        self.elapsed = 0.0
        self.iters = 1
        self.first = None
        self.warmup_iters = 0

    def warm(self, seconds: float) -> None:
        sync, fn = self.sync, self.fn
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        self.first = time.perf_counter() - t0
        times = []
        start = time.perf_counter()
        while not times or time.perf_counter() - start < seconds:
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
        self.warmup_iters = len(times)
        per_iter = statistics.median(times)
        self.iters = max(1, int(round(self.target / per_iter))) if per_iter > 0 else 1000

    def sample(self) -> float:
        sync, fn, k = self.sync, self.fn, self.iters
        sync()
        c0 = time.thread_time()
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        sync()
        dt = time.perf_counter() - t0
        self.cpu_samples.append((time.thread_time() - c0) / k)
        self.elapsed += dt
        self.samples.append(dt / k)
        return dt / k

    def precise(self, precision: float) -> bool:
        s = sorted(self.samples)
        lo, hi = median_ci(s)
        med = statistics.median(s)
        return med > 0 and (hi - lo) / 2 / med <= precision

    def timing(self, stable: bool) -> Timing:
        return summarise(self.samples, self.iters, self.elapsed, stable, first=self.first,
                         warmup_iters=self.warmup_iters)


def time_fn(fn: Callable[[], object], *, device: str = "cpu", min_time: float = 1.0,
            max_time: float = 10.0, precision: float = 0.01, warmup: float = 0.5,
            min_samples: int = 7, progress: Callable[[float], None] | None = None) -> Timing:
    """Seconds per call of `fn`: first call, warm-up, then samples until the median's 95%
    CI is within +-precision (after min_time and min_samples), or max_time."""
    runner = _Runner(fn, _sync_for(device), 5e-3 if device == "cuda" else 2e-3)
    runner.warm(warmup)
    start = time.perf_counter()
    stable = False
    while True:
        runner.sample()
        spent = time.perf_counter() - start
        if progress:
            progress(min(spent / max_time, 1.0))
        if len(runner.samples) >= min_samples and spent >= min_time and runner.precise(precision):
            stable = True
            break
        if spent >= max_time and len(runner.samples) >= 3:
            break
    return runner.timing(stable)


@dataclass
class Comparison:
    """Interleaved timings of several callables, plus the paired per-round ratios."""
    timings: dict
    rounds: list                      # per round: {name: seconds per iteration}, wall clock
    stable: bool
    cpu_rounds: list = field(default_factory=list)   # the same, calling thread's CPU time

    def ratio(self, a: str, b: str, clock: str = "wall") -> dict:
        """a / b: the ratio of medians and the median of paired per-round ratios (+ 95% CI).
        clock="cpu" uses the calling thread's CPU time, which time spent preempted by other
        processes does not inflate (meaningful with one intra-op thread only)."""
        rounds = self.rounds if clock == "wall" else self.cpu_rounds
        paired = sorted(r[a] / r[b] for r in rounds)
        lo, hi = median_ci(paired)
        med = {n: statistics.median(r[n] for r in rounds) for n in (a, b)}
        return {"of_medians": med[a] / med[b],
                "paired_median": statistics.median(paired), "paired_ci": (lo, hi),
                "rounds": len(paired)}


def compare(fns: Mapping[str, Callable[[], object]], *, device: str = "cpu", min_time: float = 2.0,
            max_time: float = 30.0, precision: float = 0.01, warmup: float = 0.5,
            min_rounds: int = 7, seed: int = 0,
            progress: Callable[[float], None] | None = None) -> Comparison:
    """Time callables in the same process, interleaved: every round runs one sample of each
    in a fresh random order, so drift in machine load, clocks and caches hits all of them.
    Stops when every median and every paired ratio against the first callable is known to
    +-precision (95% CI), after min_time; or at max_time."""
    sync = _sync_for(device)
    target = 5e-3 if device == "cuda" else 2e-3
    runners = {name: _Runner(fn, sync, target) for name, fn in fns.items()}
    for runner in runners.values():
        runner.warm(warmup)
    order = list(runners)
    rng = random.Random(seed)
    rounds: list[dict] = []
    cpu_rounds: list[dict] = []
    start = time.perf_counter()
    stable = False
    first = order[0]
    while True:
        rng.shuffle(order)
        rounds.append({name: runners[name].sample() for name in order})
        cpu_rounds.append({name: runners[name].cpu_samples[-1] for name in order})
        spent = time.perf_counter() - start
        if progress:
            progress(min(spent / max_time, 1.0))
        if len(rounds) >= min_rounds and spent >= min_time:
            ok = all(r.precise(precision) for r in runners.values())
            for name in runners:
                if name != first:
                    paired = sorted(r[name] / r[first] for r in rounds)
                    lo, hi = median_ci(paired)
                    ok = ok and (hi - lo) / 2 / statistics.median(paired) <= precision
            if ok:
                stable = True
                break
        if spent >= max_time and len(rounds) >= 3:
            break
    return Comparison({n: r.timing(stable) for n, r in runners.items()}, rounds, stable,
                      cpu_rounds)


# -- the machine ------------------------------------------------------------------------------
def machine() -> dict:
    """results.machine_info with this process's GPU and torch version, plus its fingerprint."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    info = results.machine_info(gpu=gpu, torch_version=torch.__version__)
    info["fingerprint"] = results.fingerprint(info)
    return info


def environment(device: str) -> dict:
    env = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "torch": torch.__version__,
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "interop_threads": torch.get_num_interop_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    governor = "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
    if os.path.exists(governor):
        with open(governor, encoding="utf-8") as f:
            env["cpu_governor"] = f.read().strip()
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        env.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                   gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                   cudnn_benchmark=torch.backends.cudnn.benchmark,
                   cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
                   matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32)
    return env


def measure_peak(device: str, dtype: str, *, n: int | None = None, min_time: float = 0.3) -> dict:
    """Peak FLOP/s of this device, dtype and thread count: a square n x n matmul
    (2 n^3 FLOPs), fastest sample. On CUDA fp32 the matmul may use TF32 exactly when cuDNN's
    convs may."""
    n = n or (8192 if device == "cuda" else 1024)
    gen = torch.Generator(device="cpu").manual_seed(1)
    a = torch.randn(n, n, generator=gen).to(device=device, dtype=DTYPES[dtype])
    b = torch.randn(n, n, generator=gen).to(device=device, dtype=DTYPES[dtype])
    out = torch.empty_like(a)
    saved = torch.backends.cuda.matmul.allow_tf32
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32
    try:
        t = time_fn(lambda: torch.mm(a, b, out=out), device=device, min_time=min_time,
                    max_time=4 * min_time, precision=0.02, warmup=min(0.2, min_time))
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved
    # The peak is a capability: other load only ever slows a sample down, so take the
    # fastest sample (the median is kept in `timing`).
    return {"gflops": 2 * n**3 / t.min / 1e9, "gflops_median": 2 * n**3 / t.median / 1e9,
            "n": n, "timing": t.to_dict()}


def measure_bandwidth(device: str, *, nbytes: int | None = None, min_time: float = 0.3) -> dict:
    """Memory bandwidth: dst.copy_(src) of a buffer far larger than the caches, fastest
    sample; a copy reads and writes every byte, so bytes moved = 2 x size."""
    nbytes = nbytes or (2**30 if device == "cuda" else 2**27)
    src = torch.ones(nbytes // 4, device=device)
    dst = torch.empty_like(src)
    t = time_fn(lambda: dst.copy_(src), device=device, min_time=min_time, max_time=4 * min_time,
                precision=0.02, warmup=min(0.2, min_time))
    return {"gbs": 2 * nbytes / t.min / 1e9, "gbs_median": 2 * nbytes / t.median / 1e9,
            "bytes": nbytes, "timing": t.to_dict()}


def measure_overhead(device: str, dtype: str, *, min_time: float = 0.3) -> dict:
    """Fixed cost of one op: an nn.Module call (in-place ReLU) on a one-element tensor,
    measured in blocks of 100 calls (dispatch + launch; on CUDA, synchronised per block)."""
    x = torch.ones(1, device=device, dtype=DTYPES[dtype])
    relu = nn.ReLU(inplace=True)

    def hundred():
        for _ in range(100):
            relu(x)
    t = time_fn(hundred, device=device, min_time=min_time, max_time=4 * min_time,
                precision=0.02, warmup=min(0.2, min_time))
    return {"seconds": t.median / 100, "timing": t.to_dict()}


# -- model ------------------------------------------------------------------------------------
def calibrate_bn(model: nn.Module, image_shape: tuple, seed: int = 0, batch: int = 4) -> None:
    """Set every BatchNorm's running statistics to those of one random batch of `batch`
    images (several, so 1x1 maps still have several values per channel), then eval mode."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [(m, m.momentum) for m in bns]
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(batch, *image_shape, generator=gen)
    try:
        for m in bns:
            m.reset_running_stats()
            m.momentum = None          # cumulative average: after one batch, its statistics
            m.train()
        with torch.no_grad():
            model(x)
    finally:
        for m, momentum in saved:
            m.momentum = momentum
        model.eval()


def materialise(graph, *, seed: int = 0) -> nn.Module:
    """build_module(graph) with seeded weights and calibrated BN (CPU, fp32, eval mode)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_module(graph)
    calibrate_bn(model, graph.shape("input"), seed)
    return model


def op_costs(graph, batch: int, bytes_per_elem: int) -> list[dict]:
    """Per op (graph order): FLOPs (2 x MAdds + element-wise ops) and bytes moved
    (inputs + output activations for the batch + the weights once), from archcalc's counts.
    BN reads 4 values per channel at inference (gamma, beta, running mean and variance)."""
    table = analyze(graph, _ALL_PARAMS)
    ops = []
    for row in table.rows:
        if row.op == "input":
            continue
        ins = sum(numel(graph.shape(u)) for u in graph.inputs(row.name))
        out = numel(row.output_shape)
        weights = row.params + row.bn_params   # BN: gamma, beta (in params) + running stats
        ops.append({"name": row.name, "layer": row.layer, "block": row.block, "op": row.op,
                    "label": row.label, "output_shape": list(row.output_shape),
                    "params": row.params, "madds": row.madds * batch,
                    "flops": (2 * row.madds + row.elementwise_ops) * batch,
                    "bytes": ((ins + out) * batch + weights) * bytes_per_elem})
    return ops


def profile_layers(model: nn.Module, run: Callable[[], object], names: list[str], *,
                   device: str = "cpu", iters: int = 10) -> dict[str, float]:
    """Seconds per iteration of each named module (median over `iters` profiled runs), from
    torch.profiler: a forward pre-hook opens a record_function range named after the module,
    the forward hook closes it. On CUDA a range's time is the device time of the kernels
    launched inside it."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile, record_function

    modules = dict(model.named_modules())
    wanted = [n for n in names if n in modules]
    stack: list = []

    def enter(name):
        def hook(module, args):
            rf = record_function(name)
            rf.__enter__()
            stack.append(rf)
        return hook

    def leave(module, args, output):
        stack.pop().__exit__(None, None, None)

    handles = []
    for name in wanted:
        handles.append(modules[name].register_forward_pre_hook(enter(name)))
        handles.append(modules[name].register_forward_hook(leave))
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    sync = _sync_for(device)
    try:
        run()                           # one unprofiled pass through the hooks
        sync()
        with _without_kineto_chatter(), profile(activities=activities) as prof:
            for _ in range(iters):
                run()
            sync()
    finally:
        for h in handles:
            h.remove()
    wanted_set = set(wanted)
    per_iter: dict[str, list[float]] = {n: [] for n in wanted}
    for evt in prof.events():
        if evt.name in wanted_set and evt.device_type == DeviceType.CPU:
            us = evt.device_time_total if device == "cuda" else evt.cpu_time_total
            per_iter[evt.name].append(us * 1e-6)
    # A node runs once per iteration (graph nodes are called once each): the median over
    # iterations is robust to the odd preempted call.
    return {n: statistics.median(v) if v else 0.0 for n, v in per_iter.items()}


@contextlib.contextmanager
def _without_kineto_chatter():
    """Kineto writes 'USDT: ... profiler_start/stop' lines straight to file descriptor 2
    whatever KINETO_LOG_LEVEL says; capture fd 2 while profiling and pass on every other line."""
    try:
        saved = os.dup(2)
    except OSError:                     # no fd 2 at all
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().splitlines(True)
                    if not line.startswith((b"USDT:", b"STAGE:"))]
            if kept:
                os.write(2, b"".join(kept))


# -- the bench --------------------------------------------------------------------------------
@dataclass
class BenchResult:
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return self.data

    def record(self) -> dict:
        """The results-database record of this run (see archcalc.results)."""
        d = self.data
        t, roof = d["timing"], d.get("roofline") or {}
        return {
            "machine_info": d["machine"], "spec_name": d["spec"]["name"],
            "spec_path": d["spec"]["path"], "spec_hash": d["spec"]["hash"],
            "width": d["point"]["width"], "resolution": d["point"]["resolution"],
            "sets": d["point"]["sets"], "batch": d["options"]["batch"],
            "device": d["options"]["device"], "dtype": d["options"]["dtype"],
            "threads": d["options"]["threads"],
            "options": {"channels_last": d["options"]["channels_last"],
                        "compile": d["options"]["compile"]},
            "median_s": t["median"], "q1_s": t["q1"], "q3_s": t["q3"], "samples": t["samples"],
            "stable": t["stable"], "params": d["model"]["params"],
            "madds": d["model"]["madds_per_image"], "gflops": d["achieved"]["gflops"],
            "peak_gflops": roof.get("peak_gflops"), "bandwidth_gbs": roof.get("bandwidth_gbs"),
            "predicted_s": roof.get("predicted_s"), "payload": d,
        }

    def to_text(self) -> str:
        return render_text(self.data)


def _width_text(width) -> str:
    from fractions import Fraction
    if isinstance(width, Fraction):
        return str(width.numerator) if width.denominator == 1 else f"{float(width):g}"
    return str(width)


def bench(graph, options: BenchOptions = BenchOptions(), *, spec_path: str | None = None,
          sets: Mapping[str, str] | None = None, progress: Progress | None = None) -> BenchResult:
    """Build `graph` (compiled at a point), time it and profile it; see the module docstring."""
    opts = options.check()
    report = progress or (lambda what, fraction: None)
    device, dtype = opts.device, DTYPES[opts.dtype]
    threads = opts.threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                               else os.cpu_count() or 1)
    saved_threads = torch.get_num_threads()
    saved_cudnn = torch.backends.cudnn.benchmark
    warnings: list[str] = []
    torch.set_num_threads(threads)
    if device == "cuda":
        torch.backends.cudnn.benchmark = True   # autotune once per shape, as deployments do
    try:
        env = environment(device)               # as the run sees it (threads, cuDNN flags)
        env["threads"] = torch.get_num_threads()
        report("building the model", 0.0)
        t_build = time.perf_counter()
        eager = materialise(graph, seed=opts.seed)
        eager = eager.to(device=device, dtype=dtype)
        layout = torch.channels_last if opts.channels_last else torch.contiguous_format
        if opts.channels_last:
            eager = eager.to(memory_format=torch.channels_last)
        gen = torch.Generator().manual_seed(opts.seed)
        x = torch.randn(opts.batch, *graph.shape("input"), generator=gen)
        x = x.to(device=device, dtype=dtype).contiguous(memory_format=layout)
        model = torch.compile(eager) if opts.compile else eager
        build_s = time.perf_counter() - t_build

        def forward():
            return model(x)

        with torch.inference_mode():
            # stages and their share of the progress bar
            report("first call" + (" (torch.compile)" if opts.compile else ""), 0.02)
            usage_before = _rusage()
            try:
                timing = time_fn(
                    forward, device=device, min_time=opts.min_time, max_time=opts.max_time,
                    precision=opts.precision, warmup=opts.warmup,
                    progress=lambda f: report("timing end to end", 0.05 + 0.55 * f))
            except Exception as err:   # noqa: BLE001 - compile/backend failures are user-facing
                if not opts.compile:
                    raise
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise OptionError(f"--compile: torch.compile failed on this machine ({first})") from None
            kernel = _kernel_share(usage_before, _rusage(),
                                   1 + timing.warmup_iters + timing.samples * timing.iters_per_sample)
            if device == "cpu" and kernel["sys_fraction"] > 0.2:
                warnings.append(
                    f"{100 * kernel['sys_fraction']:.0f}% of the CPU time is in the kernel "
                    f"({kernel['minor_faults_per_call']:,.0f} page faults per call): the C "
                    f"allocator returns large tensors to the OS and faults them back in on every "
                    f"call; glibc keeps them with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_="
                    f"68719476736 in the environment (or use jemalloc / tcmalloc)")
            if timing.rel_iqr > 0.25:
                warnings.append(f"IQR is {100 * timing.rel_iqr:.0f}% of the median: significant "
                                "environmental influence (other load, frequency scaling)")
            elif timing.rel_iqr > 0.10:
                warnings.append(f"IQR is {100 * timing.rel_iqr:.0f}% of the median: system fluctuation")
            if not timing.stable:
                warnings.append(f"the median's 95% CI is +-{100 * timing.rel_ci:.1f}% after "
                                f"{opts.max_time:g} s (asked +-{100 * opts.precision:g}%): not stable")

            ops = op_costs(graph, opts.batch, dtype.itemsize)
            peak = bandwidth = overhead = None
            if opts.roofline:
                report("matmul peak", 0.62)
                peak = measure_peak(device, opts.dtype, min_time=opts.micro_time)
                report("copy bandwidth", 0.68)
                bandwidth = measure_bandwidth(device, min_time=opts.micro_time)
                report("per-op overhead", 0.74)
                overhead = measure_overhead(device, opts.dtype, min_time=opts.micro_time)

            measured = None
            profile_iters = 0
            if opts.layers:
                report("per-layer profile", 0.8)
                # the profiler's post-processing costs ~40 us per aten event: keep runs few
                profile_iters = opts.layer_runs or \
                    int(min(10, max(3, math.ceil(0.2 / max(timing.median, 1e-9)))))
                measured = profile_layers(eager, lambda: eager(x), [o["name"] for o in ops],
                                          device=device, iters=profile_iters)
        report("done", 1.0)
    finally:
        torch.set_num_threads(saved_threads)
        torch.backends.cudnn.benchmark = saved_cudnn

    spec = graph.spec
    info = machine()
    model_params = sum(p.numel() for p in eager.parameters())
    madds = sum(o["madds"] for o in ops) // opts.batch
    total_flops = sum(o["flops"] for o in ops)
    total_bytes = sum(o["bytes"] for o in ops)
    data = {
        "archcalc_bench": FORMAT_VERSION,
        "created": results._now(),
        "spec": {"name": spec.name, "path": spec_path or spec.path,
                 "hash": _spec_hash(spec, spec_path), "source": spec.source},
        "point": {"width": _width_text(graph.width), "resolution": (list(graph.resolution) if isinstance(graph.resolution, tuple)
                                     else int(graph.resolution)),
                  "sets": dict(sets or {}),
                  "params": {p.name: _plain(p.value) for p in spec.params}},
        "options": {"batch": opts.batch, "threads": threads, "device": device, "dtype": opts.dtype,
                    "channels_last": opts.channels_last, "compile": opts.compile,
                    "min_time": opts.min_time, "max_time": opts.max_time,
                    "precision": opts.precision, "warmup": opts.warmup, "seed": opts.seed},
        "machine": info,
        "environment": env,
        "model": {"params": model_params, "madds_per_image": madds,
                  "flops_per_image": 2 * madds, "bytes_moved": total_bytes, "ops": len(ops),
                  "build_s": build_s,
                  "weights": "random (seeded default init), BN statistics calibrated on one "
                             "random batch"},
        "timing": {**timing.to_dict(), **kernel},
        "achieved": {"gflops": 2 * madds * opts.batch / timing.median / 1e9,
                     "images_per_s": opts.batch / timing.median,
                     "gbs": total_bytes / timing.median / 1e9},
        "warnings": warnings,
    }
    if peak:
        data["machine_peak"] = {"matmul": peak, "copy": bandwidth, "overhead": overhead}
    data.update(_roofline(ops, timing.median, peak, bandwidth, overhead, measured, profile_iters,
                          total_flops))
    return BenchResult(data)


def _spec_hash(spec, path: str | None) -> str:
    """sha256 of the spec file's bytes; of the parsed spec when it has no file."""
    path = path or spec.path
    if path and os.path.isfile(path):
        return results.spec_hash(path)
    import hashlib
    return hashlib.sha256(repr(spec).encode()).hexdigest()


def _rusage() -> tuple[float, float, int]:
    try:
        import resource
    except ImportError:          # not on Windows
        return (0.0, 0.0, 0)
    u = resource.getrusage(resource.RUSAGE_SELF)
    return (u.ru_utime, u.ru_stime, u.ru_minflt)


def _kernel_share(before, after, calls: int) -> dict:
    """Process CPU time split user / kernel over the timed calls (all threads), and minor
    page faults per call: a high kernel share on CPU means allocator page-fault churn."""
    user, system, faults = (a - b for a, b in zip(after, before))
    total = user + system
    return {"user_s": user, "sys_s": system, "sys_fraction": system / total if total else 0.0,
            "minor_faults_per_call": faults / max(calls, 1)}


def _plain(x):
    from fractions import Fraction
    if isinstance(x, Fraction):
        return int(x) if x.denominator == 1 else float(x)
    return x


def _roofline(ops: list[dict], median: float, peak, bandwidth, overhead, measured,
              profile_iters: int, total_flops: int) -> dict:
    """Per-op and per-layer roofline predictions, joined with the profiled times."""
    out: dict = {}
    if peak:
        p, bw = peak["gflops"] * 1e9, bandwidth["gbs"] * 1e9
        for o in ops:
            o["compute_s"] = o["flops"] / p
            o["memory_s"] = o["bytes"] / bw
            o["predicted_s"] = max(o["compute_s"], o["memory_s"])
            o["bound"] = "compute" if o["compute_s"] >= o["memory_s"] else "memory"
            o["intensity"] = o["flops"] / o["bytes"] if o["bytes"] else None
    if measured is not None:
        for o in ops:
            o["measured_s"] = measured.get(o["name"])
    layers: dict[str, dict] = {}
    for o in ops:
        g = layers.get(o["layer"])
        if g is None:
            layers[o["layer"]] = g = {"name": o["layer"], "block": o["block"], "ops": [],
                                      "kinds": [], "output_shape": o["output_shape"], "madds": 0,
                                      "flops": 0, "bytes": 0}
            if peak:
                g.update(predicted_s=0.0, compute_s=0.0, memory_s=0.0, _dominant=(-1.0, ""))
            if measured is not None:
                g["measured_s"] = 0.0
        g["ops"].append(o["label"])
        g["kinds"].append(o["op"])
        g["output_shape"] = o["output_shape"]
        for k in ("madds", "flops", "bytes"):
            g[k] += o[k]
        if peak:
            for k in ("predicted_s", "compute_s", "memory_s"):
                g[k] += o[k]
            if o["predicted_s"] > g["_dominant"][0]:
                g["_dominant"] = (o["predicted_s"], o["bound"])
        if measured is not None:
            g["measured_s"] += o.get("measured_s") or 0.0
    for g in layers.values():
        if peak:
            g["bound"] = g.pop("_dominant")[1]
            g["intensity"] = g["flops"] / g["bytes"] if g["bytes"] else None
        if peak and measured is not None and g["predicted_s"] > 0:
            g["measured_over_predicted"] = g["measured_s"] / g["predicted_s"]
    out["ops"] = ops
    out["layers"] = list(layers.values())
    if peak:
        predicted = sum(o["predicted_s"] for o in ops)
        with_overhead = predicted + len(ops) * overhead["seconds"]
        out["roofline"] = {
            "peak_gflops": peak["gflops"], "bandwidth_gbs": bandwidth["gbs"],
            "ridge_flop_per_byte": peak["gflops"] / bandwidth["gbs"],
            "overhead_s": overhead["seconds"],
            "predicted_s": predicted,
            "compute_bound_s": sum(o["predicted_s"] for o in ops if o["bound"] == "compute"),
            "memory_bound_s": sum(o["predicted_s"] for o in ops if o["bound"] == "memory"),
            "predicted_with_overhead_s": with_overhead,
            "measured_s": median,
            "measured_over_predicted": median / predicted if predicted else None,
            "measured_over_predicted_with_overhead": median / with_overhead if with_overhead else None,
            "fraction_of_peak": (total_flops / median) / (peak["gflops"] * 1e9),
        }
    if measured is not None:
        total = sum(measured.values())
        out["profile"] = {"iters": profile_iters, "sum_of_layers_s": total,
                          "end_to_end_s": median,
                          "note": "eager model under torch.profiler, median per layer over the "
                                  "profiled runs (profiler overhead included)"}
        kinds: dict[str, dict] = {}
        for o in ops:
            k = kinds.setdefault(o["op"], {"ops": 0, "madds": 0, "measured_s": 0.0,
                                           "predicted_s": 0.0})
            k["ops"] += 1
            k["madds"] += o["madds"]
            k["measured_s"] += o.get("measured_s") or 0.0
            k["predicted_s"] += o.get("predicted_s") or 0.0
        out["by_kind"] = kinds
    return out


# -- text ---------------------------------------------------------------------------------------
def _t(seconds) -> str:
    if seconds is None:
        return ""
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def _count(x) -> str:
    from ..report.units import human_count
    return human_count(x)


def _bytes(x) -> str:
    from ..report.units import human_bytes
    return human_bytes(x)


def render_text(d: dict, width: int = 132) -> str:
    """A bench result (to_dict()) as text: header, timing, roofline, per-layer table."""
    import io

    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    out = io.StringIO()
    con = Console(file=out, width=width, highlight=False, color_system=None)
    o, t, m, mach = d["options"], d["timing"], d["model"], d["machine"]
    layout = "channels-last" if o["channels_last"] else "NCHW"
    mode = "torch.compile" if o["compile"] else "eager"
    sets = ", ".join(f"{k}={v}" for k, v in d["point"]["sets"].items())
    head = [
        ("spec", f"{d['spec']['name']} ({d['spec']['path']})"),
        ("point", f"width {d['point']['width']}, resolution {d['point']['resolution']}"
                  + (f", {sets}" if sets else "")),
        ("run", f"batch {o['batch']}, {o['dtype']}, {layout}, {mode}, {o['device']}, "
                f"{o['threads']} thread(s)"),
        ("machine", f"{mach['cpu']}, {mach['cores']} cores, GPU {mach['gpu']}, torch "
                    f"{mach['torch']} (fingerprint {mach['fingerprint']})"),
        ("model", f"{m['params']:,} params, {m['madds_per_image']:,} MAdds/image, "
                  f"{_bytes(m['bytes_moved'])} moved per batch (inputs+outputs+weights per op), "
                  f"{m['ops']} ops"),
        ("latency", f"median {_t(t['median'])}, IQR {_t(t['q1'])} .. {_t(t['q3'])} "
                    f"({100 * t['rel_iqr']:.1f}%), 95% CI of median +-{100 * t['rel_ci']:.1f}%, "
                    f"{t['samples']} samples x {t['iters_per_sample']} iter, "
                    f"{'stable' if t['stable'] else 'NOT stable'}"),
        ("", f"first call {_t(t['first'])}, {t['warmup_iters']} warm-up iters; "
             f"{d['achieved']['images_per_s']:.1f} images/s; CPU time {100 * t['sys_fraction']:.0f}% "
             f"in the kernel, {t['minor_faults_per_call']:,.0f} page faults per call"),
    ]
    roof = d.get("roofline")
    if roof:
        mp = d["machine_peak"]
        head += [
            ("compute", f"achieved {d['achieved']['gflops']:.1f} GFLOP/s (2 x MAdds) = "
                        f"{100 * d['achieved']['gflops'] / roof['peak_gflops']:.1f}% of measured "
                        f"peak {roof['peak_gflops']:.1f} GFLOP/s (matmul {mp['matmul']['n']}^3 "
                        f"{o['dtype']})"),
            ("memory", f"achieved {d['achieved']['gbs']:.2f} GB/s of measured "
                       f"{roof['bandwidth_gbs']:.1f} GB/s (copy {_bytes(mp['copy']['bytes'])}); "
                       f"per-op overhead {_t(roof['overhead_s'])}"),
            ("roofline", f"ridge {roof['ridge_flop_per_byte']:.1f} FLOP/B; predicted "
                         f"{_t(roof['predicted_s'])} (compute-bound ops {_t(roof['compute_bound_s'])}"
                         f" + memory-bound ops {_t(roof['memory_bound_s'])}) vs measured "
                         f"{_t(roof['measured_s'])}: {roof['measured_over_predicted']:.2f}x"),
            ("", f"with {m['ops']} x per-op overhead: predicted "
                 f"{_t(roof['predicted_with_overhead_s'])}, measured/predicted "
                 f"{roof['measured_over_predicted_with_overhead']:.2f}x"),
        ]
    for key, value in head:
        con.print(f"[bold]{key:>9}[/bold]  {escape(value)}", soft_wrap=True)
    for w in d.get("warnings", []):
        con.print(f"[bold]{'warning':>9}[/bold]  {escape(w)}", soft_wrap=True)

    prof = d.get("profile")
    if prof:
        con.print()
        con.print(f"per layer (batch {o['batch']}): torch.profiler over {prof['iters']} eager runs; "
                  f"layers sum to {_t(prof['sum_of_layers_s'])} vs {_t(prof['end_to_end_s'])} end "
                  f"to end (profiler overhead included); roofline = max(FLOPs / peak, bytes / "
                  f"bandwidth) summed over the layer's ops; ratio = measured / roofline",
                  soft_wrap=True)
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    cols = ["layer", "ops", "MAdds", "bytes", "FLOP/B", "bound", "roofline", "measured",
            "ratio", "% time"]
    for c in cols:
        grid.add_column(c, justify="left" if c in ("layer", "ops", "bound") else "right",
                        no_wrap=True)
    total = (prof or {}).get("sum_of_layers_s") or 0
    previous = None
    for g in d["layers"]:
        if previous is not None and g["block"] != previous:
            grid.add_section()
        previous = g["block"]
        ratio = g.get("measured_over_predicted")
        grid.add_row(
            escape(g["name"]), escape(" + ".join(g["ops"])), _count(g["madds"]) if g["madds"] else "",
            _bytes(g["bytes"]), f"{g['intensity']:.1f}" if g.get("intensity") is not None else "",
            g.get("bound", ""), _t(g.get("predicted_s")), _t(g.get("measured_s")),
            f"{ratio:.1f}x" if ratio is not None else "",
            f"{100 * g['measured_s'] / total:.1f}" if total and g.get("measured_s") is not None else "")
    con.print(grid)
    kinds = d.get("by_kind")
    if kinds and total:
        con.print()
        madds_total = sum(k["madds"] for k in kinds.values()) or 1
        kt = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=None)
        for c in ("op kind", "ops", "% MAdds", "% time", "measured", "roofline", "ratio"):
            kt.add_column(c, justify="left" if c == "op kind" else "right", no_wrap=True)
        for name, k in sorted(kinds.items(), key=lambda kv: -kv[1]["measured_s"]):
            ratio = k["measured_s"] / k["predicted_s"] if k["predicted_s"] else None
            kt.add_row(name, str(k["ops"]), f"{100 * k['madds'] / madds_total:.1f}",
                       f"{100 * k['measured_s'] / total:.1f}", _t(k["measured_s"]),
                       _t(k["predicted_s"]) if k["predicted_s"] else "",
                       f"{ratio:.1f}x" if ratio else "")
        con.print(kt)
    return out.getvalue()


def progress_bar() -> tuple[object, Progress]:
    """A rich progress bar on stderr and its (what, fraction) callback; use as
    `with bar: bench(..., progress=callback)`. Silent when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr)
    bar = RichProgress(TextColumn("[bold]bench[/bold] {task.description:<28}"), BarColumn(),
                       TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                       console=console, transient=True, disable=not console.is_terminal)
    task = bar.add_task("starting", total=1.0)

    def update(what: str, fraction: float) -> None:
        bar.update(task, description=what, completed=fraction)
    return bar, update
