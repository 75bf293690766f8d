"""Run archcalc on untrusted work (a pasted or uploaded spec, new parameter values of a zoo
spec, closed forms) in a child process with a CPU-time, memory and wall-time limit.

A spec is data, but data can still be expensive: `n: 100000000` asks for a hundred million
blocks, and cells nested ten deep multiply. Rather than guess from the text how large the
compiled graph will be, the dashboard parses, compiles and costs the spec in a child process
(`python -m dashboard.sandbox`, JSON in on stdin, JSON out on stdout); the server only ever
compiles such a spec in-process after the child has shown that it compiles to at most
`DASHBOARD_MAX_GRAPH_OPS` ops in at most `DASHBOARD_MAX_COMPILE_CPU_S` of CPU. Closed forms
(sympy) are computed here too, for every spec.

Each child (limits in archcalc/limits.py, "the dashboard"): an address-space limit
(RLIMIT_AS, `DASHBOARD_CHILD_MEMORY_BYTES`), a CPU-time limit (RLIMIT_CPU: the task's budget),
a lower priority (nice `DASHBOARD_CHILD_NICE`, so a busy child never slows the server's
requests) and, as a backstop, a wall-time limit of the CPU budget x `DASHBOARD_WALL_FACTOR` +
10 s (generous: on a busy machine wall time stretches, CPU time does not). How many children
run at once is the Workspace's `children` pool (dashboard/bounded.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from archcalc import limits

MEMORY_LIMIT_BYTES = limits.DASHBOARD_CHILD_MEMORY_BYTES
_ROOT = str(Path(__file__).resolve().parents[1])


def wall_limit(cpu_s: float) -> float:
    """The wall-time backstop of a child with `cpu_s` of CPU time."""
    return cpu_s * limits.DASHBOARD_WALL_FACTOR + 10.0


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB"


def run(task: str, payload: dict, timeout: float) -> dict:
    """Run one task ("check" or "forms") in a child process with `timeout` seconds of CPU
    time; always returns a dict with "ok". A failure that says nothing about the spec (the
    wall-time backstop on a busy machine, no process could be started) has "transient": True:
    the caller must not remember it."""
    label = str(payload.get("path") or "<pasted>")
    env = dict(os.environ)
    env["PYTHONPATH"] = _ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env["ARCHCALC_SANDBOX_TIMEOUT"] = str(timeout)
    what = "checking" if task == "check" else "computing the closed forms of"
    wall = wall_limit(timeout)
    try:
        proc = subprocess.run([sys.executable, "-m", "dashboard.sandbox"],
                              input=json.dumps({"task": task, **payload}), capture_output=True,
                              text=True, timeout=wall, env=env, cwd=_ROOT)
    except subprocess.TimeoutExpired:
        return {"ok": False, "transient": True,
                "message": f"{label}: {what} this spec took longer than {wall:g} s (wall time) "
                           f"and was stopped: the server is busy, try again later"}
    except OSError as err:
        return {"ok": False, "transient": True,
                "message": f"{label}: could not start the spec checker ({err})"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        if proc.returncode in (-24, 152, -9, 137) and "MemoryError" not in proc.stderr:
            # SIGXCPU at the soft CPU limit (SIGKILL at the hard one, a second later)
            return {"ok": False, "message": f"{label}: {what} this spec took longer than "
                                            f"{timeout:g} s of CPU time and was stopped: the "
                                            f"network is too large or too deeply nested"}
        if "MemoryError" in proc.stderr:
            return {"ok": False, "message": f"{label}: this spec needed more than "
                                            f"{_mb(MEMORY_LIMIT_BYTES)} of memory and was stopped"}
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return {"ok": False, "message": f"{label}: the spec checker failed ({tail})"}
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"ok": False, "message": f"{label}: the spec checker returned garbage"}


def _limit(cpu_s: float) -> None:
    """This process's limits: address space, CPU time (SIGXCPU at the soft limit, SIGKILL a
    second later) and a lower priority."""
    try:
        import resource
    except ImportError:     # not POSIX: the wall-time limit still applies
        return
    cpu = int(cpu_s) + 1
    for name, soft, hard in (("RLIMIT_AS", MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES),
                             ("RLIMIT_CPU", cpu, cpu + 1)):
        lim = getattr(resource, name, None)
        if lim is None:
            continue
        try:
            _, old_hard = resource.getrlimit(lim)
            if old_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, old_hard), min(hard, old_hard)
            resource.setrlimit(lim, (soft, hard))
        except (ValueError, OSError):
            pass
    try:
        os.nice(limits.DASHBOARD_CHILD_NICE)
    except (AttributeError, OSError):
        pass


def _task(req: dict) -> dict:
    import archcalc
    import archcalc.api  # noqa: F401  (imports outside the timed part)
    from archcalc.numbers import plain
    conv = archcalc.convention_named(req.get("convention", "paper"))
    sets = req.get("sets") or None
    t0 = time.process_time()          # CPU time: a busy machine does not stretch it
    spec = archcalc.parse_spec(req["text"], req.get("path", "<pasted>"), sets, conv.param_defaults())
    if req["task"] == "check":
        table = archcalc.evaluate(spec, convention=conv)
        seconds = time.process_time() - t0
        return {"ok": True, "name": spec.name, "ops": len(table.rows), "seconds": seconds,
                "totals": {k: plain(v) for k, v in table.totals.items()}}
    if req["task"] == "forms":
        from dashboard.views.formulas import compute_formulas
        return {"ok": True, **compute_formulas(spec, conv.name, req.get("dtype", "fp32"))}
    return {"ok": False, "message": f"unknown task {req['task']!r}"}


def main() -> int:
    _limit(float(os.environ.get("ARCHCALC_SANDBOX_TIMEOUT", "15")))
    sys.setrecursionlimit(5000)
    req = json.loads(sys.stdin.read())
    try:
        import archcalc
        try:
            out = _task(req)
        except archcalc.SpecError as err:
            out = {"ok": False, "message": str(err), "line": err.line, "key": err.key}
        except archcalc.ArchcalcError as err:
            out = {"ok": False, "message": str(err)}
    except RecursionError:
        out = {"ok": False, "message": f"{req.get('path', '<pasted>')}: the spec is nested too "
                                       f"deeply"}
    except MemoryError:
        out = {"ok": False, "message": f"{req.get('path', '<pasted>')}: this spec needed more "
                                       f"than {_mb(MEMORY_LIMIT_BYTES)} of memory"}
    except Exception as err:  # noqa: BLE001  (report, never a traceback in the browser)
        out = {"ok": False, "message": f"{req.get('path', '<pasted>')}: archcalc could not "
                                       f"handle this spec ({type(err).__name__}: "
                                       f"{str(err)[:200]})"}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
