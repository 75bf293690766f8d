"""Shared helpers of the tests/test_design_*.py files (not a test module).

The reference for every expected value is archcalc's point evaluation: the spec compiled at
one concrete (width, resolution) and analysed there (archcalc.evaluate), an independent path
from the closed forms the design engine evaluates.
"""
from __future__ import annotations

import argparse
import contextlib
import io
from functools import lru_cache
from pathlib import Path

import archcalc
from archcalc import cli
from archcalc.api import load

REPO = Path(__file__).resolve().parents[1]
SPECS = sorted((REPO / "specs").glob("*.yaml"))
SPEC_IDS = [p.stem for p in SPECS]


@lru_cache(maxsize=None)
def _spec(path: str, convention: str, sets: tuple):
    return load(path, dict(sets), convention)


def reference(path, width, resolution, convention="paper", dtype="fp32", sets=()) -> dict | None:
    """Exact totals at one point by archcalc.evaluate (the spec is parsed once and reused);
    None where the spec cannot be built there (a SpecError: no channels left, ...)."""
    sets = tuple(sorted(dict(sets).items()))
    spec = _spec(str(path), convention, sets)
    try:
        return archcalc.evaluate(spec, width, resolution, convention=convention, dtype=dtype).totals
    except archcalc.SpecError:
        return None


def parser() -> argparse.ArgumentParser:
    """archcalc's parser with the design commands (as archcalc.cli registers them)."""
    from archcalc.cli.design import add_commands
    p = cli.build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    if "sweep" not in sub.choices:
        add_commands(sub)
    return p


def run(*argv: str):
    """Run one command in-process like archcalc's main(): (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        args = parser().parse_args([str(a) for a in argv])
        try:
            text = args.run(args)
        except archcalc.ArchcalcError as e:
            print(f"archcalc: error: {e}", file=err)
            return 2, out.getvalue(), err.getvalue()
        out.write(text)
    return 0, out.getvalue(), err.getvalue()


def declared_choices(path) -> dict:
    """The spec's parameters that have a list of choices: {name: choices}."""
    spec = load(path)
    return {p.name: p.choices for p in spec.params if p.choices}


def _reference_batch(job):
    path, points, convention, dtype, sets = job
    return [reference(path, w, r, convention, dtype, sets) for w, r in points]


def references(path, points, convention="paper", dtype="fp32", sets=(), workers=None) -> list:
    """reference() at many (width, resolution) points, spread over the CPU cores."""
    import os
    from concurrent.futures import ProcessPoolExecutor
    points = [(str(w), r) for w, r in points]
    workers = workers or min(4, os.cpu_count() or 1)
    if workers <= 1 or len(points) < 200:
        return _reference_batch((str(path), points, convention, dtype, tuple(sets)))
    size = -(-len(points) // (workers * 2))
    jobs = [(str(path), points[k:k + size], convention, dtype, tuple(sets))
            for k in range(0, len(points), size)]
    with ProcessPoolExecutor(workers) as pool:
        return [t for batch in pool.map(_reference_batch, jobs) for t in batch]


def reference_cost(path, repeats: int = 5) -> float:
    """Seconds per reference() call for this spec (measured here, after one warm-up call)."""
    import time
    reference(path, "0.75", 224)
    t = time.perf_counter()
    for k in range(repeats):
        reference(path, f"0.7{k}", 200 + k)
    return (time.perf_counter() - t) / repeats
