"""Will the run fit? `verify` and `bench` estimate the memory a PyTorch build of the graph needs,
from archcalc's own cost table, and refuse with one line before allocating anything when the
estimate exceeds MEMORY_FRACTION of the memory available (archcalc.limits); torch's own
allocation errors, and any other error torch raises while building or running the model, are
turned into one line as a last resort (`torch_errors`).

The estimate is a lower bound, so a refusal is never wrong:

    weights     = (params + BN running mean/var) x bytes per element, where params counts
                  every weight, bias and BN gamma/beta (what model.parameters() holds);
    activations = archcalc's peak_memory_bytes (the naive schedule of cost/memory.py: BN and
                  activations in place; PyTorch's BN is not, so a real run needs more) x batch.

The memory available is the smallest of /proc/meminfo's MemAvailable (else the physical
memory), the cgroup's memory.max - memory.current, and `ulimit -v` minus this process's
virtual size; on CUDA, torch.cuda.mem_get_info()'s free bytes. torch is imported only by the
CUDA and error-handling paths.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from ..cost import DTYPE_BYTES, analyze
from ..errors import ArchcalcError, OptionError, one_line
from ..limits import MEMORY_FRACTION
from ..ops import OpKind
from .calibrate import CALIBRATION_BATCH
from .convention import ALL_PARAMS
from .micro import roofline_bytes


def size_text(n: int) -> str:
    """Bytes in decimal units (kB ... EB), exact up to three significant digits."""
    for factor, unit in ((10**18, "EB"), (10**15, "PB"), (10**12, "TB"), (10**9, "GB"),
                         (10**6, "MB"), (10**3, "kB")):
        if n >= factor:
            return f"{n / factor:,.3g} {unit}" if n < 1000 * 10**18 else f"{n:.3g} B"
    return f"{n} B"


@dataclass(frozen=True)
class Need:
    """Memory one device must hold at least, and what it is made of."""
    device: str
    bytes: int
    parts: str


def _sizes(graph, dtype: str) -> tuple[int, int]:
    """(weights bytes, peak activation bytes for one image) at `dtype`."""
    table = analyze(graph, ALL_PARAMS, dtype)
    itemsize = DTYPE_BYTES[dtype]
    weights = (table.totals["params"] + table.totals["bn_params"]) * itemsize
    return weights, int(table.totals["peak_memory_bytes"])


def _need(device: str, weights: int, peak: int, batch: int, extra: int = 0,
          extra_what: str = "") -> Need:
    parts = f"weights {size_text(weights)} + activations {size_text(peak)} x batch {batch:,}"
    if extra:
        parts += f" + {size_text(extra)} {extra_what}"
    return Need(device, weights + peak * batch + extra, parts)


def verify_needs(graph) -> list[Need]:
    """verify: the fp32 model on the CPU and one image through it."""
    weights, peak = _sizes(graph, "fp32")
    return [_need("cpu", weights, peak, 1)]


def bench_needs(graph, batch: int, dtype: str, device: str, roofline: bool) -> list[Need]:
    """bench: the fp32 model is built and its BN calibrated on the CPU (batch 4), then moved to
    `device` in `dtype` and run at `batch`; the roofline's buffers come on top."""
    weights32, peak32 = _sizes(graph, "fp32")
    weights, peak = _sizes(graph, dtype)
    extra = roofline_bytes(device) if roofline else 0
    what = "for the roofline micro-benchmarks"
    if device == "cpu":
        calibrate = _need("cpu", weights32, peak32, CALIBRATION_BATCH)
        run = _need("cpu", weights32 + (weights if dtype != "fp32" else 0), peak, batch, extra, what)
        return [max(calibrate, run, key=lambda n: n.bytes)]
    return [_need("cpu", weights32, peak32, CALIBRATION_BATCH),
            _need("cuda", weights, peak, batch, extra, what)]


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read(4096)
    except OSError:
        return None


def _meminfo(key: str) -> int | None:
    text = _read("/proc/meminfo") or ""
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return None


def available_memory() -> tuple[int, str]:
    """Bytes of RAM this process may still use, and where that figure comes from."""
    found: list[tuple[int, str]] = []
    avail = _meminfo("MemAvailable")
    if avail is not None:
        found.append((avail, "MemAvailable"))
    else:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            found.append((os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"),
                          "physical memory"))
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit, usage = _read(limit_file), _read(usage_file)
        if limit and usage and limit.strip().isdigit() and usage.strip().isdigit():
            if int(limit) < 2**60:          # cgroup v1 writes ~2^63 for "no limit"
                found.append((max(int(limit) - int(usage), 0), "the cgroup's memory limit"))
            break
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            vm = 0
            for line in (_read("/proc/self/status") or "").splitlines():
                if line.startswith("VmSize:"):
                    vm = int(line.split()[1]) * 1024
            found.append((max(soft - vm, 0), "ulimit -v"))
    if not found:
        return (2**63, "unknown")
    return min(found)


def gpu_memory() -> tuple[int, str]:
    import torch
    free, _total = torch.cuda.mem_get_info()
    return (int(free), "free CUDA memory")


def check(command: str, needs: list[Need], hint: str) -> None:
    """Refuse (OptionError, one line) when a need exceeds MEMORY_FRACTION of what is available."""
    for need in needs:
        available, source = available_memory() if need.device == "cpu" else gpu_memory()
        limit = int(available * MEMORY_FRACTION)
        if need.bytes > limit:
            where = "" if need.device == "cpu" else " of CUDA memory"
            raise OptionError(
                f"{command}: the PyTorch model needs at least {size_text(need.bytes)}{where} "
                f"({need.parts}; archcalc's peak-memory estimate) but the limit is "
                f"{size_text(limit)} ({MEMORY_FRACTION:.0%} of {source}, {size_text(available)}); "
                f"{hint}")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    line = text.splitlines()[0] if text else type(err).__name__
    return one_line(line if len(line) <= 300 else line[:300] + "...")


def _is_memory(err: BaseException) -> bool:
    text = str(err)
    return isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError" or \
        "can't allocate memory" in text or "out of memory" in text.lower()


def locate(graph) -> tuple[str, BaseException] | None:
    """Build `graph` again and run it node by node on one image (fp32, CPU) until a node fails:
    (node name, error), or None when every node runs."""
    import torch

    from .build import build_module
    try:
        model = build_module(graph)
    except ArchcalcError:
        raise
    except Exception as err:   # noqa: BLE001 - reported, located by build_module
        return ("", err)
    env = [None] * model.n_slots
    env[0] = torch.zeros(1, *graph.shape("input"))
    names = [n for n in graph.names if graph.op(n).kind is not OpKind.INPUT]
    with torch.no_grad():
        for name, (module, inputs, out, _free) in zip(names, model.program):
            try:
                env[out] = module(*[env[i] for i in inputs])
            except Exception as err:   # noqa: BLE001
                return (name, err)
    return None


@contextlib.contextmanager
def torch_errors(command: str, graph, hint: str):
    """Turn an error torch raises while building or running `graph`'s model into one line
    (exit 2): out of memory, or a module torch refuses (located to its node)."""
    try:
        yield
    except ArchcalcError:
        raise
    except (RuntimeError, MemoryError, ValueError) as err:   # OutOfMemoryError is a RuntimeError
        if _is_memory(err):
            raise ArchcalcError(f"{command}: PyTorch ran out of memory ({_first_line(err)}); "
                                f"{hint}") from None
        where = ""
        with contextlib.suppress(Exception):
            from .build import node_location
            found = locate(graph)
            if found and found[0] in graph:
                where = f"{node_location(graph, found[0])}: "
        raise ArchcalcError(f"{where}{command}: PyTorch refused the model: "
                            f"{_first_line(err)}") from None
