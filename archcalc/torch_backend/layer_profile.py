"""Per-layer times of a model from torch.profiler: every named module's call is a
`record_function` range named after the module (the graph's node name), so the profile lines
up with `archcalc report` row by row.

Kineto writes 'USDT: ... profiler_start/stop' lines straight to file descriptor 2 whatever
KINETO_LOG_LEVEL says; `without_kineto_chatter` keeps them off the terminal.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
from typing import Callable

from .timing import sync_for


def profile_layers(model, run: Callable[[], object], names: list[str], *,
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
    sync = sync_for(device)
    try:
        run()                           # one unprofiled pass through the hooks
        sync()
        with without_kineto_chatter(), profile(activities=activities) as prof:
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
def without_kineto_chatter():
    """Capture file descriptor 2 while profiling and pass on every line but Kineto's
    'USDT:' / 'STAGE:' chatter."""
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
