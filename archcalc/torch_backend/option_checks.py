"""The range of every numeric option of `archcalc bench` (limits in archcalc.limits, documented
in docs/spec.md "Limits" and docs/torch-backend.md).

On the command line the options arrive as text and go through archcalc.numbers.parse_decimal
(bounded: no `inf`, `nan`, 5,000-digit integers or 1e-300 reach the harness); from the Python
API, `BenchOptions.check()` applies the same ranges to its numbers. Either way a value out of
range is one line naming the option, its range and what was given, before torch is imported
or anything is built. This module never imports torch.
"""
from __future__ import annotations

import math
import os
from fractions import Fraction

from ..errors import OptionError
from ..limits import (MAX_BENCH_BATCH, MAX_BENCH_SECONDS, MAX_LAYER_RUNS, MAX_MICRO_SECONDS,
                      MAX_PRECISION, MAX_THREADS_PER_CORE, MAX_WARMUP_SECONDS, MIN_PRECISION)
from ..numbers import parse_decimal, quote


def max_threads() -> int:
    """bench --threads at most MAX_THREADS_PER_CORE x the logical cores."""
    return MAX_THREADS_PER_CORE * (os.cpu_count() or 1)


# option (BenchOptions field) -> (flag, whole number?, low, low included?, high, unit, limit)
RANGES = {
    "batch": ("--batch", True, 1, True, MAX_BENCH_BATCH, "", "MAX_BENCH_BATCH"),
    "threads": ("--threads", True, 1, True, None, "", "MAX_THREADS_PER_CORE x cores"),
    "min_time": ("--min-time", False, 0, False, MAX_BENCH_SECONDS, " s", "MAX_BENCH_SECONDS"),
    "max_time": ("--max-time", False, 0, False, MAX_BENCH_SECONDS, " s", "MAX_BENCH_SECONDS"),
    "precision": ("--precision", False, MIN_PRECISION, True, MAX_PRECISION, "",
                  "MIN_PRECISION, MAX_PRECISION"),
    "warmup": ("--warmup", False, 0, True, MAX_WARMUP_SECONDS, " s", "MAX_WARMUP_SECONDS"),
    "micro_time": ("--micro-time", False, 0, False, MAX_MICRO_SECONDS, " s", "MAX_MICRO_SECONDS"),
    "layer_runs": ("--layer-runs", True, 1, True, MAX_LAYER_RUNS, "", "MAX_LAYER_RUNS"),
}


def _exact(value, flag: str) -> Fraction:
    if isinstance(value, bool):
        raise OptionError(f"{flag}: expected a number, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise OptionError(f"{flag} must be a finite number (got {value!r})")
        return Fraction(value)
    return parse_decimal(value, flag)


def _g(x) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def number(field: str, value):
    """`value` (text from the command line, or a number) for option `field`: an int or a float
    inside its range, else OptionError. None (an option's "automatic") stays None."""
    if value is None:
        return None
    flag, whole, low, low_in, high, unit, limit = RANGES[field]
    high = max_threads() if high is None else high
    x = _exact(value, flag)
    if whole and x.denominator != 1:
        raise OptionError(f"{flag} must be a whole number (got {quote(str(value))})")
    lo, hi = Fraction(repr(low)), Fraction(repr(high))    # the limits as written (1e-4 exactly)
    too_low = x < lo if low_in else x <= lo
    if whole and too_low:
        raise OptionError(f"{flag} must be at least {low} (got {_g(int(x))})")
    if too_low or x > hi:
        shown = _g(int(x)) if whole else f"{float(x):g}"
        span = f"1 to {_g(high)}" if whole else f"{'[' if low_in else '('}{_g(low)}, {_g(high)}]"
        raise OptionError(f"{flag} must be in {span}{unit} (got {shown}{unit}; limit {limit} "
                          f"in archcalc/limits.py)")
    return int(x) if whole else float(x)


def checked(values: dict) -> dict:
    """Every known option of `values` through `number`, and --min-time <= --max-time."""
    out = {k: number(k, v) if k in RANGES else v for k, v in values.items()}
    if "min_time" in out and "max_time" in out and out["min_time"] > out["max_time"]:
        raise OptionError(f"need --min-time <= --max-time (got {out['min_time']:g}, "
                          f"{out['max_time']:g})")
    return out
