"""Time a materialised spec properly, per layer, next to what its MAdds and bytes predict.

`bench()` runs these steps, each in its own module:

* the model (calibrate.py): build_module with seeded default init and BatchNorm statistics
  calibrated on one random batch, then `.to(device, dtype)`, channels-last and torch.compile
  if asked; in `torch.inference_mode()`, at a fixed intra-op thread count
  (`torch.set_num_threads`, restored afterwards);
* the end-to-end time (timing.py): first call apart, warm-up, blocks of >= 2 ms (CPU) /
  5 ms (CUDA), repeats until the median's 95% CI is within +-`precision` (after `min_time`,
  capped by `max_time`); median and IQR, with a warning when IQR / median > 10%; the
  process's kernel-time share (machine.py);
* the machine (micro.py): a matmul for the peak FLOP/s, a large copy for the memory
  bandwidth, a one-element module call for the per-op overhead;
* the per-layer breakdown (layer_profile.py): torch.profiler, one `record_function` range per
  graph node, named after the node, so the profile lines up with `archcalc report` row by row;
* the roofline (roofline.py): time = max(FLOPs / peak, bytes / bandwidth) per op from
  archcalc's counts, summed per layer and per op kind.

The result is a BenchResult (its data is the JSON of `archcalc bench --format json`);
archcalc.report.bench renders it as text and archcalc.results.record_from_bench turns it into
a results-database record.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch

from .. import results
from ..cost import flops_from_madds
from ..errors import OptionError
from ..numbers import number_text, plain
from .calibrate import materialise
from .layer_profile import profile_layers
from .machine import (DEVICES, DTYPES, environment, kernel_share, machine, process_usage,
                      usable_cores)
from .micro import measure_machine
from .roofline import counted, roofline, table_op_costs
from .timing import Timing, time_fn

FORMAT_VERSION = 1

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


@dataclass
class BenchResult:
    """One bench run: `data` is the JSON of `archcalc bench --format json`."""
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return self.data


@dataclass
class Built:
    """The model as timed (`model`: compiled if asked), its eager form, the input batch."""
    eager: torch.nn.Module
    model: Callable
    x: torch.Tensor
    build_s: float


@dataclass
class Measured:
    """What a run measured, before it is joined with archcalc's counts."""
    timing: Timing
    kernel: dict
    warnings: list
    machine_peak: tuple | None = None    # micro.measure_machine's (peak, bandwidth, overhead)
    layer_times: dict | None = None      # profiled seconds per node name
    profile_iters: int = 0


@contextlib.contextmanager
def run_settings(threads: int, device: str):
    """torch's intra-op threads (and on CUDA, cuDNN autotuning) for the run, restored after."""
    saved_threads = torch.get_num_threads()
    saved_cudnn = torch.backends.cudnn.benchmark
    torch.set_num_threads(threads)
    if device == "cuda":
        torch.backends.cudnn.benchmark = True   # autotune once per shape, as deployments do
    try:
        yield
    finally:
        torch.set_num_threads(saved_threads)
        torch.backends.cudnn.benchmark = saved_cudnn


def build(graph, opts: BenchOptions, module: torch.nn.Module | None = None) -> Built:
    """The seeded, calibrated model (or the user's own `module`, in eval mode, weights as its
    constructor left them) on the run's device, dtype and layout, and its input."""
    dtype = DTYPES[opts.dtype]
    t_build = time.perf_counter()
    eager = materialise(graph, seed=opts.seed) if module is None else module.eval()
    eager = eager.to(device=opts.device, dtype=dtype)
    layout = torch.channels_last if opts.channels_last else torch.contiguous_format
    if opts.channels_last:
        eager = eager.to(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(opts.seed)
    shape = graph.shape("input") if module is None else graph.spec.input_shape[0][1:]
    x = torch.randn(opts.batch, *shape, generator=gen)
    x = x.to(device=opts.device, dtype=dtype).contiguous(memory_format=layout)
    model = torch.compile(eager) if opts.compile else eager
    return Built(eager, model, x, time.perf_counter() - t_build)


def time_end_to_end(built: Built, opts: BenchOptions, report: Progress) -> tuple[Timing, dict]:
    """The timing of the whole model and the process's kernel share over the timed calls; a
    torch.compile failure is one OptionError."""
    model, x = built.model, built.x

    def forward():
        return model(x)

    report("first call" + (" (torch.compile)" if opts.compile else ""), 0.02)
    usage_before = process_usage()
    try:
        timing = time_fn(
            forward, device=opts.device, min_time=opts.min_time, max_time=opts.max_time,
            precision=opts.precision, warmup=opts.warmup,
            progress=lambda f: report("timing end to end", 0.05 + 0.55 * f))
    except Exception as err:   # noqa: BLE001 - compile/backend failures are user-facing
        if not opts.compile:
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise OptionError(f"--compile: torch.compile failed on this machine ({first})") from None
    kernel = kernel_share(usage_before, process_usage(),
                          1 + timing.warmup_iters + timing.samples * timing.iters_per_sample)
    return timing, kernel


def timing_warnings(timing: Timing, kernel: dict, opts: BenchOptions) -> list[str]:
    """Page-fault churn, a wide IQR and an unstable estimate, each as one sentence."""
    warnings = []
    if opts.device == "cpu" and kernel["sys_fraction"] > 0.2:
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
    return warnings


def profile_runs(opts: BenchOptions, median: float) -> int:
    """Profiled runs: --layer-runs, else about 0.2 s worth, 3 to 10 (the profiler's
    post-processing costs ~40 us per aten event: keep runs few)."""
    return opts.layer_runs or int(min(10, max(3, math.ceil(0.2 / max(median, 1e-9)))))


def measure(built: Built, names: list[str], opts: BenchOptions, report: Progress) -> Measured:
    """Time the model end to end, then the machine and the per-layer profile if asked."""
    timing, kernel = time_end_to_end(built, opts, report)
    run = Measured(timing, kernel, timing_warnings(timing, kernel, opts))
    if opts.roofline:
        run.machine_peak = measure_machine(opts.device, opts.dtype, min_time=opts.micro_time,
                                           report=report)
    if opts.layers:
        report("per-layer profile", 0.8)
        run.profile_iters = profile_runs(opts, timing.median)
        eager, x = built.eager, built.x
        run.layer_times = profile_layers(eager, lambda: eager(x), names, device=opts.device,
                                         iters=run.profile_iters)
    return run


def bench(graph, options: BenchOptions = BenchOptions(), *, spec_path: str | None = None,
          sets: Mapping[str, str] | None = None, progress: Progress | None = None,
          module: torch.nn.Module | None = None) -> BenchResult:
    """Build `graph` (compiled at a point), time it and profile it; see the module docstring.
    With `module` (the nn.Module an imported graph was captured from) that module is timed
    instead of a build of the graph; the counts are the graph's."""
    opts = options.check()
    report = progress or (lambda what, fraction: None)
    threads = opts.threads or usable_cores()
    with run_settings(threads, opts.device):
        env = environment(opts.device)          # as the run sees it (threads, cuDNN flags)
        env["threads"] = torch.get_num_threads()
        report("building the model", 0.0)
        built = build(graph, opts, module)
        table = counted(graph)
        ops = table_op_costs(table, graph, opts.batch, DTYPES[opts.dtype].itemsize)
        with torch.inference_mode():
            run = measure(built, [o["name"] for o in ops], opts, report)
        report("done", 1.0)
    return BenchResult(result_data(graph, opts, threads, env, built, run, table, ops,
                                   spec_path=spec_path, sets=sets))


def result_data(graph, opts: BenchOptions, threads: int, env: dict, built: Built,
                run: Measured, table, ops: list[dict], *, spec_path: str | None,
                sets: Mapping[str, str] | None) -> dict:
    """The JSON of one run: spec, point, options, machine, model, timing, roofline, layers."""
    spec = graph.spec
    timing = run.timing
    madds = sum(o["madds"] for o in ops) // opts.batch
    total_flops = sum(o["flops"] for o in ops)
    total_bytes = sum(o["bytes"] for o in ops)
    data = {
        "archcalc_bench": FORMAT_VERSION,
        "created": results.now(),
        "spec": {"name": spec.name, "path": spec_path or spec.path,
                 "hash": spec_hash(spec, spec_path), "source": spec.source},
        "point": {"width": number_text(graph.width),
                  "resolution": (list(graph.resolution) if isinstance(graph.resolution, tuple)
                                 else int(graph.resolution)),
                  "sets": dict(sets or {}),
                  "params": {p.name: plain(p.value) for p in spec.params}},
        "options": {"batch": opts.batch, "threads": threads, "device": opts.device,
                    "dtype": opts.dtype, "channels_last": opts.channels_last,
                    "compile": opts.compile, "min_time": opts.min_time, "max_time": opts.max_time,
                    "precision": opts.precision, "warmup": opts.warmup, "seed": opts.seed},
        "machine": machine(),
        "environment": env,
        "model": {"params": sum(p.numel() for p in built.eager.parameters()),
                  "madds_per_image": madds, "flops_per_image": flops_from_madds(madds),
                  "bytes_moved": total_bytes, "ops": len(ops), "build_s": built.build_s,
                  "weights": "random (seeded default init), BN statistics calibrated on one "
                             "random batch" if not getattr(spec, "imported", False) else
                             "the model's own, as its constructor left them"},
        "timing": {**timing.to_dict(), **run.kernel},
        "achieved": {"gflops": flops_from_madds(madds) * opts.batch / timing.median / 1e9,
                     "images_per_s": opts.batch / timing.median,
                     "gbs": total_bytes / timing.median / 1e9},
        "warnings": run.warnings,
    }
    if run.machine_peak:
        peak, bandwidth, overhead = run.machine_peak
        data["machine_peak"] = {"matmul": peak, "copy": bandwidth, "overhead": overhead}
    data.update(roofline(ops, table.layers(), timing.median, run.machine_peak, run.layer_times,
                         run.profile_iters, total_flops))
    return data


def spec_hash(spec, path: str | None) -> str:
    """sha256 of the spec file's bytes; of the parsed spec when it has no file."""
    path = path or spec.path
    if path and os.path.isfile(path):
        return results.spec_hash(path)
    import hashlib
    return hashlib.sha256(repr(spec).encode()).hexdigest()
