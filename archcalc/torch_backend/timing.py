"""Timing statistics for callables, with nothing archcalc-specific: the stopping rule of
`archcalc bench` (archcalc/torch_backend/bench.py) and of benchmarks/torch_backend.py.

The harness follows torch.utils.benchmark and the mobile references (TFLite benchmark_model):

* the first call is timed on its own (it includes torch.compile's compilation, allocator
  and oneDNN/cuDNN set-up), then a time-based warm-up;
* samples are blocks of iterations sized to >= 2 ms (CPU) / 5 ms (CUDA) so the timer and the
  synchronisation are amortised; CUDA is synchronised at block boundaries only;
* repeats until the estimate is stable: the distribution-free 95% confidence interval of the
  median (binomial order statistics) must be within +-`precision` of it, after at least
  `min_time` seconds; `max_time` caps the run and the result is then marked unstable;
* reports the median and the interquartile range (like torch.utils.benchmark's Measurement).

`compare_timings` times several callables interleaved, round by round in random order, with
the paired per-round ratios. torch is imported only to synchronise a CUDA device.
"""
from __future__ import annotations

import math
import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping

CPU_SAMPLE_S = 2e-3        # a sample (a block of iterations) lasts at least this on CPU
CUDA_SAMPLE_S = 5e-3       # ... and this on CUDA (launch and synchronisation amortised)


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


def quantile(s: list[float], q: float) -> float:
    """Linear-interpolated quantile of sorted samples (numpy's default)."""
    if len(s) == 1:
        return s[0]
    pos = q * (len(s) - 1)
    i = int(math.floor(pos))
    j = min(i + 1, len(s) - 1)
    return s[i] + (s[j] - s[i]) * (pos - i)


def summarise(samples: list[float], iters: int, elapsed: float, stable: bool, **extra) -> Timing:
    """A Timing of `samples` (seconds per iteration, any order)."""
    s = sorted(samples)
    lo, hi = median_ci(s)
    return Timing(median=statistics.median(s), q1=quantile(s, 0.25), q3=quantile(s, 0.75),
                  mean=statistics.fmean(s), min=s[0], max=s[-1], ci_low=lo, ci_high=hi,
                  samples=len(s), iters_per_sample=iters, elapsed=elapsed, stable=stable, **extra)


def sync_for(device: str) -> Callable[[], None]:
    """What waits for `device` to finish its queued work: torch.cuda.synchronize, or nothing."""
    if device == "cuda":
        import torch
        return torch.cuda.synchronize
    return lambda: None


def sample_target(device: str) -> float:
    """Seconds a sample (a block of iterations) lasts at least on `device`."""
    return CUDA_SAMPLE_S if device == "cuda" else CPU_SAMPLE_S


class Runner:
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
    runner = Runner(fn, sync_for(device), sample_target(device))
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


def compare_timings(fns: Mapping[str, Callable[[], object]], *, device: str = "cpu",
                    min_time: float = 2.0, max_time: float = 30.0, precision: float = 0.01,
                    warmup: float = 0.5, min_rounds: int = 7, seed: int = 0,
                    progress: Callable[[float], None] | None = None) -> Comparison:
    """Time callables in the same process, interleaved: every round runs one sample of each
    in a fresh random order, so drift in machine load, clocks and caches hits all of them.
    Stops when every median and every paired ratio against the first callable is known to
    +-precision (95% CI), after min_time; or at max_time."""
    sync = sync_for(device)
    runners = {name: Runner(fn, sync, sample_target(device)) for name, fn in fns.items()}
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
