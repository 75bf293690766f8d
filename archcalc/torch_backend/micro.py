"""Micro-benchmarks of the machine a bench runs on, at the run's device, dtype and threads:
the peak FLOP/s (a square matmul), the memory bandwidth (a large copy) and the fixed cost of
one op (a one-element module call) -- the three numbers of bench's roofline
(archcalc/torch_backend/roofline.py).

The sizes are module constants, so that the memory check (memory_check.py, which runs
before torch is imported) reads the buffers these allocate from here; torch itself is
imported only when a micro-benchmark runs.
"""
from __future__ import annotations

from ..cost import flops_from_madds
from .timing import time_fn

MATMUL_N = {"cpu": 1024, "cuda": 8192}        # measure_peak: an n x n matmul
COPY_BYTES = {"cpu": 2**27, "cuda": 2**30}    # measure_bandwidth: a buffer far beyond the caches
OVERHEAD_CALLS = 100                          # measure_overhead: module calls per timed block


def roofline_bytes(device: str) -> int:
    """Bytes of the fp32 micro-benchmarks' buffers on `device`, as an upper bound: the copy's
    source and destination plus the matmul's a, b and out."""
    return 2 * COPY_BYTES[device] + 3 * MATMUL_N[device] ** 2 * 4


def measure_peak(device: str, dtype: str, *, n: int | None = None, min_time: float = 0.3) -> dict:
    """Peak FLOP/s of this device, dtype and thread count: a square n x n matmul
    (n^3 MAdds, 2 n^3 FLOPs), fastest sample. On CUDA fp32 the matmul may use TF32 exactly
    when cuDNN's convs may."""
    import torch

    from .machine import DTYPES
    n = n or MATMUL_N[device]
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
    flops = flops_from_madds(n**3)
    return {"gflops": flops / t.min / 1e9, "gflops_median": flops / t.median / 1e9,
            "n": n, "timing": t.to_dict()}


def measure_bandwidth(device: str, *, nbytes: int | None = None, min_time: float = 0.3) -> dict:
    """Memory bandwidth: dst.copy_(src) of a buffer far larger than the caches, fastest
    sample; a copy reads and writes every byte, so bytes moved = 2 x size."""
    import torch
    nbytes = nbytes or COPY_BYTES[device]
    src = torch.ones(nbytes // 4, device=device)
    dst = torch.empty_like(src)
    t = time_fn(lambda: dst.copy_(src), device=device, min_time=min_time, max_time=4 * min_time,
                precision=0.02, warmup=min(0.2, min_time))
    return {"gbs": 2 * nbytes / t.min / 1e9, "gbs_median": 2 * nbytes / t.median / 1e9,
            "bytes": nbytes, "timing": t.to_dict()}


def measure_overhead(device: str, dtype: str, *, min_time: float = 0.3) -> dict:
    """Fixed cost of one op: an nn.Module call (in-place ReLU) on a one-element tensor,
    measured in blocks of 100 calls (dispatch + launch; on CUDA, synchronised per block)."""
    import torch
    from torch import nn

    from .machine import DTYPES
    x = torch.ones(1, device=device, dtype=DTYPES[dtype])
    relu = nn.ReLU(inplace=True)

    def block():
        for _ in range(OVERHEAD_CALLS):
            relu(x)
    t = time_fn(block, device=device, min_time=min_time, max_time=4 * min_time,
                precision=0.02, warmup=min(0.2, min_time))
    return {"seconds": t.median / OVERHEAD_CALLS, "timing": t.to_dict()}


def measure_machine(device: str, dtype: str, *, min_time: float = 0.3,
                    report=None) -> tuple[dict, dict, dict]:
    """(peak, bandwidth, overhead): the three micro-benchmarks in turn; `report(what,
    fraction)` is told each one as it starts (fractions of bench's whole run)."""
    report = report or (lambda what, fraction: None)
    report("matmul peak", 0.62)
    peak = measure_peak(device, dtype, min_time=min_time)
    report("copy bandwidth", 0.68)
    bandwidth = measure_bandwidth(device, min_time=min_time)
    report("per-op overhead", 0.74)
    overhead = measure_overhead(device, dtype, min_time=min_time)
    return peak, bandwidth, overhead
