"""The machine and the process a bench runs in: the dtypes and devices bench runs, the
machine's identity for the results database (archcalc.results), the software environment as
the run sees it, and the process's CPU time split user / kernel (page-fault churn).
"""
from __future__ import annotations

import os
import platform

import torch

from .. import results

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
DEVICES = ("cpu", "cuda")


def usable_cores() -> int:
    """The cores this process may run on (its affinity), else the logical cores."""
    return (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1)


def machine() -> dict:
    """results.machine_info with this process's GPU and torch version, plus its fingerprint."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    info = results.machine_info(gpu=gpu, torch_version=torch.__version__)
    info["fingerprint"] = results.fingerprint(info)
    return info


def environment(device: str) -> dict:
    """Versions, cores, load and (on CUDA) the GPU and its cuDNN / TF32 flags."""
    env = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "torch": torch.__version__,
        "usable_cores": usable_cores(),
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


def process_usage() -> tuple[float, float, int]:
    """(user CPU seconds, kernel CPU seconds, minor page faults) of this process so far."""
    try:
        import resource
    except ImportError:          # not on Windows
        return (0.0, 0.0, 0)
    u = resource.getrusage(resource.RUSAGE_SELF)
    return (u.ru_utime, u.ru_stime, u.ru_minflt)


def kernel_share(before, after, calls: int) -> dict:
    """Process CPU time split user / kernel over the timed calls (all threads), and minor
    page faults per call: a high kernel share on CPU means allocator page-fault churn."""
    user, system, faults = (a - b for a, b in zip(after, before))
    total = user + system
    return {"user_s": user, "sys_s": system, "sys_fraction": system / total if total else 0.0,
            "minor_faults_per_call": faults / max(calls, 1)}
