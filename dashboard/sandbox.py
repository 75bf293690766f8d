"""Run archcalc on untrusted spec text (pasted or uploaded in the browser) in a child process
with a wall-time, CPU-time and memory limit.

A spec is data, but data can still be expensive: `n: 100000000` asks for a hundred million
blocks, and cells nested ten deep multiply. Rather than guess from the text how large the
compiled graph will be, the dashboard parses, compiles and costs the spec in a child process
(`python -m dashboard.sandbox`, JSON in on stdin, JSON out on stdout) and kills it when it
runs over the limit; the server only ever parses a user spec in-process after the child has
shown that it compiles to at most `data.MAX_GRAPH_OPS` ops in at most `data.MAX_COMPILE_S`.
Closed forms of a user spec (sympy) are computed here too.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

MEMORY_LIMIT_BYTES = 3 * 1024**3
_ROOT = str(Path(__file__).resolve().parents[1])


def run(task: str, payload: dict, timeout: float) -> dict:
    """Run one task ("check" or "forms") in a child process; always returns a dict with "ok"."""
    env = dict(os.environ)
    env["PYTHONPATH"] = _ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env["ARCHCALC_SANDBOX_TIMEOUT"] = str(timeout)
    try:
        proc = subprocess.run([sys.executable, "-m", "dashboard.sandbox"],
                              input=json.dumps({"task": task, **payload}), capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=_ROOT)
    except subprocess.TimeoutExpired:
        what = "checking" if task == "check" else "computing the closed forms of"
        return {"ok": False, "message": f"{what} this spec took longer than {timeout:g} s and was "
                                        f"stopped: the network is too large or too deeply nested"}
    except OSError as err:
        return {"ok": False, "message": f"could not start the spec checker ({err})"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        if "MemoryError" in proc.stderr or proc.returncode in (-9, 137):
            return {"ok": False, "message": f"this spec needed more than "
                                            f"{MEMORY_LIMIT_BYTES // 1024**3} GB of memory and was "
                                            f"stopped"}
        if proc.returncode in (-24, 152):   # SIGXCPU
            return {"ok": False, "message": "this spec used too much CPU time and was stopped"}
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return {"ok": False, "message": f"the spec checker failed ({tail})"}
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"ok": False, "message": "the spec checker returned garbage"}


def _limit(timeout: float) -> None:
    try:
        import resource
    except ImportError:     # not POSIX: the wall-time limit still applies
        return
    for name, value in (("RLIMIT_AS", MEMORY_LIMIT_BYTES),
                        ("RLIMIT_CPU", int(timeout) + 2)):
        lim = getattr(resource, name, None)
        if lim is None:
            continue
        try:
            soft, hard = resource.getrlimit(lim)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(lim, (value, hard))
        except (ValueError, OSError):
            pass


def _plain(v):
    from fractions import Fraction
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else float(v)
    return v


def _task(req: dict) -> dict:
    import archcalc
    import archcalc.api  # noqa: F401  (imports outside the timed part)
    conv = archcalc.convention_named(req.get("convention", "paper"))
    sets = req.get("sets") or None
    t0 = time.perf_counter()
    spec = archcalc.parse_spec(req["text"], req.get("path", "<pasted>"), sets, conv.param_defaults())
    if req["task"] == "check":
        table = archcalc.evaluate(spec, convention=conv)
        seconds = time.perf_counter() - t0
        return {"ok": True, "name": spec.name, "ops": len(table.rows), "seconds": seconds,
                "totals": {k: _plain(v) for k, v in table.totals.items()}}
    if req["task"] == "forms":
        from dashboard.data import compute_formulas
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
        out = {"ok": False, "message": "the spec is nested too deeply"}
    except MemoryError:
        out = {"ok": False, "message": f"this spec needed more than "
                                       f"{MEMORY_LIMIT_BYTES // 1024**3} GB of memory"}
    except Exception as err:  # noqa: BLE001  (report, never a traceback in the browser)
        out = {"ok": False, "message": f"archcalc could not handle this spec "
                                       f"({type(err).__name__}: {str(err)[:200]})"}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
