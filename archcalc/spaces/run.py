"""Running a space: its index range cut into partitions, run in process (the default) or as
tasks on a Dask cluster (`workers`: a local cluster of that many processes; `scheduler`: an
existing one), each partition writing its own Parquet file and returning its partial front;
the fronts are merged here. dask.distributed does all the distribution.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import numpy as np

from ..errors import OptionError
from ..limits import (MAX_SPACE_COMPILED, MAX_SPACE_OUTPUT_ROWS, MAX_SPACE_PARTITIONS,
                      MAX_SPACE_SAMPLE, MAX_SPACE_WORKERS_PER_CORE)
from . import pareto
from .declare import Space, value_text
from .enumerate import BLOCK_TARGET, Evaluator
from .stages import METRICS, NotDecomposable, build_tables, plan, spot_check
from .work import Job, Shared, compile_values, run_job

PARTITION_ARCHITECTURES = 1 << 26   # --all, decomposed: architectures per partition
SAMPLE_PARTITION = 1 << 20          # sampled architectures per partition (decomposed)
COMPILED_PARTITION = 1 << 8         # architectures per partition, compiled one by one
KEEP = ("budget", "front", "all")


@dataclass
class Options:
    sample: int | None = None
    all: bool = False
    seed: int = 0
    budgets: dict = field(default_factory=dict)     # {metric: bound}, each total <= bound
    pareto: tuple = ("madds", "params")
    maximize: tuple = ()                            # front metrics where more is better
    keep: str = "budget"
    out: str | None = None
    workers: int | None = None
    scheduler: str | None = None
    partitions: int | None = None
    compile_each: bool = False                      # skip the decomposition (for checks)
    block_target: int = BLOCK_TARGET
    progress: Callable | None = None                # progress(done, total) per partition


@dataclass
class SpaceResult:
    space: Space
    path: str                    # decomposed | compiled
    reason: str                  # why compiled
    stages: int = 0
    compiles: int = 0
    mode: str = "none"           # all | sample | none (described only)
    sample: int = 0
    seed: int = 0
    evaluated: int = 0
    valid: int = 0
    in_budget: int = 0
    written: int = 0
    partitions: int = 0
    files: int = 0
    budgets: dict = field(default_factory=dict)
    pareto: tuple = ()
    maximize: tuple = ()
    front: list = field(default_factory=list)       # [{index, choices, totals, ...}]
    out: str | None = None
    runner: str = "in process"
    setup_seconds: float = 0.0   # the decomposition and its stage tables
    start_seconds: float = 0.0   # starting or reaching the cluster
    seconds: float = 0.0         # costing the architectures (all partitions)
    cpu_seconds: float = 0.0     # the partitions' CPU time, summed over every worker


def _check_options(space: Space, o: Options) -> None:
    for m in list(o.pareto) + list(o.budgets):
        if m not in METRICS:
            raise OptionError(f"unknown metric {m!r} (known: {', '.join(METRICS)})")
    if len(set(o.pareto)) != len(o.pareto):
        raise OptionError(f"--pareto names a metric twice: {','.join(o.pareto)}")
    for m in o.maximize:
        if m not in o.pareto:
            raise OptionError(f"--maximize {m}: not a --pareto metric ({','.join(o.pareto)})")
    if o.keep not in KEEP:
        raise OptionError(f"--keep must be one of {', '.join(KEEP)}, got {o.keep!r}")
    if o.sample is not None and o.all:
        raise OptionError("give --sample N or --all, not both")
    if o.sample is not None and not 1 <= o.sample <= MAX_SPACE_SAMPLE:
        raise OptionError(f"--sample must be 1 to {MAX_SPACE_SAMPLE:,} (MAX_SPACE_SAMPLE), got "
                          f"{o.sample:,}")
    if o.partitions is not None and not 1 <= o.partitions <= MAX_SPACE_PARTITIONS:
        raise OptionError(f"--partitions must be 1 to {MAX_SPACE_PARTITIONS:,} "
                          f"(MAX_SPACE_PARTITIONS), got {o.partitions:,}")
    if o.workers is not None and o.scheduler is not None:
        raise OptionError("give --workers N (a local cluster) or --scheduler ADDRESS, not both")
    most = MAX_SPACE_WORKERS_PER_CORE * (os.cpu_count() or 1)
    if o.workers is not None and not 1 <= o.workers <= most:
        raise OptionError(f"--workers must be 1 to {most} ({MAX_SPACE_WORKERS_PER_CORE} per "
                          f"core, MAX_SPACE_WORKERS_PER_CORE), got {o.workers}")


def decompose(space: Space, compile_each: bool = False) -> tuple:
    """(stage tables per grid point or None, the plan, why compiled ("" if decomposed))."""
    if compile_each:
        return None, None, "asked to compile each architecture"
    p = plan(space)
    reason = p.reason or spot_check(space, p)
    if reason:
        return None, p, reason
    try:
        return [build_tables(space, p, g) for g in range(space.n_grid)], p, ""
    except NotDecomposable as err:
        return None, p, str(err)


def run_space(space: Space, options: Options | None = None) -> SpaceResult:
    """Cost the space (a sample or all of it) under `options`; the summary and the front."""
    o = options or Options()
    _check_options(space, o)
    t0 = time.perf_counter()
    tables, p, reason = decompose(space, o.compile_each)
    res = SpaceResult(space=space, path="compiled" if tables is None else "decomposed",
                      reason=reason, stages=len(p.stages) if p and not p.reason else 0,
                      compiles=sum(t.compiles for t in tables) if tables else 0,
                      budgets=dict(o.budgets), pareto=tuple(o.pareto),
                      maximize=tuple(o.maximize), out=o.out,
                      seed=o.seed, setup_seconds=time.perf_counter() - t0)
    if o.sample is None and not o.all:
        return res
    n = space.size if o.all else min(o.sample, space.size)
    res.mode, res.sample = ("all", 0) if o.all else ("sample", n)
    if tables is None and n > MAX_SPACE_COMPILED:
        raise OptionError(f"this space does not decompose ({reason}), so each architecture is "
                          f"compiled: {n:,} is more than {MAX_SPACE_COMPILED:,} "
                          f"(MAX_SPACE_COMPILED); use --sample N")
    budgets = {m: _bound(v) for m, v in o.budgets.items()}
    signs = [-1 if m in o.maximize else 1 for m in o.pareto]
    extended = tuple(zip(o.pareto, signs)) + tuple(
        (m, 1) for m in budgets if (m, 1) not in zip(o.pareto, signs))
    columns = None
    if o.out is not None:
        columns = _columns(space, res, o)
        if (o.keep == "all" or (o.keep == "budget" and not budgets)) and n > MAX_SPACE_OUTPUT_ROWS:
            raise OptionError(f"--out would hold {n:,} rows (limit MAX_SPACE_OUTPUT_ROWS = "
                              f"{MAX_SPACE_OUTPUT_ROWS:,}): give budgets, --keep front or "
                              f"--sample N")
        from .output import prepare_dir
        prepare_dir(o.out)
    from .. import __version__
    target = o.block_target if o.partitions is None else \
        max(1, min(o.block_target, space.n_choices // o.partitions))
    shared = Shared(space=space, tables=tables, block_target=target, budgets=budgets,
                    extended=extended, keep=o.keep, columns=columns, version=__version__)
    jobs = _jobs(space, shared, o, n)
    res.partitions = len(jobs)
    try:
        results = _execute(shared, jobs, o, res)
    except BaseException:
        _remove([j.file for j in jobs])           # a failed run leaves no partial dataset
        raise
    for r in results:
        res.cpu_seconds += r.cpu_seconds
        res.evaluated += r.evaluated
        res.valid += r.valid
        res.in_budget += r.in_budget
        res.written += r.written
    res.files = len(jobs) if o.out is not None else 0
    every = [s for _, s in extended]
    points, ids = pareto.merge([(r.points, r.ids) for r in results], every)
    if len(ids):
        points, ids = pareto.project(points, ids, list(range(len(o.pareto))), every)
    res.front = _front_rows(space, shared, ids)
    if o.out is not None:
        _write_front(space, columns, ids, res.front, o.out)
        res.files += 1
    return res


def _remove(files: list) -> None:
    for f in files:
        if f is not None and os.path.isfile(f):
            try:
                os.remove(f)
            except OSError:
                pass


def _bound(v) -> int:
    """A budget as the largest integer total within it (totals are integers)."""
    v = Fraction(v)
    if v < 0:
        raise OptionError(f"a budget cannot be negative, got {v}")
    return math.floor(v)


def _sample(size: int, n: int, seed: int) -> np.ndarray:
    """n distinct indices of [0, size), uniformly, sorted (exact; memory ~ n)."""
    rng = np.random.default_rng(seed)
    if n >= size:
        return np.arange(size, dtype=np.int64)
    if n * 50 <= size:
        return np.sort(rng.choice(size, n, replace=False).astype(np.int64))
    out, left, need, chunk = [], size, n, 1 << 20       # size < 50 n <= 5 x 10^8 here
    for lo in range(0, size, chunk):
        width = min(chunk, size - lo)
        k = int(rng.hypergeometric(width, left - width, need)) if left > width else need
        out.append(lo + np.sort(rng.choice(width, k, replace=False)).astype(np.int64))
        left, need = left - width, need - k
    return np.concatenate(out)


def _jobs(space: Space, shared: Shared, o: Options, n: int) -> list:
    jobs: list = []
    per = space.n_choices

    def add(g, **kw):
        part = len(jobs)
        if part >= MAX_SPACE_PARTITIONS:
            raise OptionError(f"more than {MAX_SPACE_PARTITIONS:,} partitions "
                              f"(MAX_SPACE_PARTITIONS): give fewer --partitions")
        file = None if o.out is None else os.path.join(o.out, f"part-{part:06d}.parquet")
        jobs.append(Job(part=part, g=g, file=file, **kw))

    if o.all:
        for g in range(space.n_grid):
            if shared.tables is not None:
                layout = shared.blocks(g)
                count = o.partitions or math.ceil(per / PARTITION_ARCHITECTURES)
                blocks = np.arange(layout.n_blocks)
                for chunk in np.array_split(blocks, min(count, layout.n_blocks)):
                    add(g, blocks=(int(chunk[0]), int(chunk[-1]) + 1))
            else:
                count = o.partitions or math.ceil(per / COMPILED_PARTITION)
                for chunk in np.array_split(np.arange(per), min(count, per)):
                    add(g, span=(int(chunk[0]), int(chunk[-1]) + 1))
        return jobs
    idx = _sample(space.size, n, o.seed)
    size = SAMPLE_PARTITION if shared.tables is not None else COMPILED_PARTITION
    count = o.partitions or math.ceil(len(idx) / size)
    for chunk in np.array_split(idx, min(count, len(idx))):
        g = chunk // per
        for gg in np.unique(g):
            add(int(gg), indices=chunk[g == gg] - int(gg) * per)
    return jobs


def _execute(shared: Shared, jobs: list, o: Options, res: SpaceResult) -> list:
    results, written = [], [0]

    def take(r) -> None:
        if r.error:
            raise OptionError(r.error)
        written[0] += r.written
        if written[0] > MAX_SPACE_OUTPUT_ROWS:
            raise OptionError(f"more than {MAX_SPACE_OUTPUT_ROWS:,} rows to write (limit "
                              f"MAX_SPACE_OUTPUT_ROWS): tighten the budgets or use --keep front")
        results.append(r)
        if o.progress is not None:
            o.progress(len(results), len(jobs))

    if o.workers is None and o.scheduler is None:
        t0 = time.perf_counter()
        for job in jobs:
            take(run_job(shared, job))
        res.seconds = time.perf_counter() - t0
    else:
        from .cluster import run_on_dask
        res.runner, res.start_seconds, res.seconds = run_on_dask(shared, jobs, o.workers,
                                                                 o.scheduler, take)
    return sorted(results, key=lambda r: r.part)


def _front_rows(space: Space, shared: Shared, ids: np.ndarray) -> list:
    """Every total of each front architecture, with its choices."""
    rows = []
    per = space.n_choices
    values = np.zeros((len(ids), len(METRICS)), dtype=object)
    for g in np.unique(ids // per) if len(ids) else ():
        sel = np.flatnonzero(ids // per == g)
        if shared.tables is not None:
            v, _ = Evaluator(space, shared.tables[int(g)]).totals(ids[sel] - int(g) * per)
            values[sel] = v.astype(object)
        else:
            for k in sel:
                values[k] = compile_values(space, int(g), int(ids[k]) - int(g) * per)
    for i, v in zip(ids, values):
        g, _ = space.digits(int(i))
        row = {"index": int(i), "choices": space.assignment(int(i)),
               "totals": {m: (int(x) if float(x).is_integer() else x) for m, x in zip(METRICS, v)}}
        width, resolution = space.grid_point(g)
        if space.grid_given[0]:
            row["width"] = width
        if space.grid_given[1]:
            row["resolution"] = resolution
        rows.append(row)
    return rows


def _columns(space: Space, res: SpaceResult, o: Options):
    from .. import __version__
    from ..report.provenance import provenance
    from .output import Columns, metadata_json
    from .declare import shown_path
    meta = provenance(space.base, space.convention, space.dtype)
    meta["spec_path"] = shown_path(space.path)
    fixed = [f"{p.name}={value_text(p.value)}" for p in space.base.params
             if p.name not in {c.name for c in space.choices}]
    meta.pop("spec_params", None)
    if fixed:
        meta["spec_params"] = ", ".join(fixed)
    meta.update({
        "archcalc_version": __version__,
        "space_size": str(space.size),
        "space_choices": metadata_json({c.name: [value_text(v) for v in c.values]
                                        for c in space.choices}),
        "space_grid": metadata_json({"widths": [value_text(w) for w in space.widths
                                                if w is not None],
                                     "resolutions": [str(r) for r in space.resolutions
                                                     if r is not None]}),
        "space_index": "mixed radix over space_choices in this order, the last fastest; "
                       "the grid point (width major, then resolution) outermost",
        "space_path": res.path, "space_path_reason": res.reason,
        "space_run": "all" if o.all else f"sample {min(o.sample, space.size)} seed {o.seed}",
        "space_budgets": metadata_json({m: str(_bound(v)) for m, v in o.budgets.items()}),
        "space_pareto": ",".join(o.pareto), "space_maximize": ",".join(o.maximize),
        "space_keep": o.keep})
    metrics = tuple(m for m in METRICS if m != "elementwise_ops" or space.convention.elementwise)
    grid = tuple(k for k, given in zip(("width", "resolution"), space.grid_given) if given)
    return Columns(choices=tuple((c.name, c.values) for c in space.choices), metrics=metrics,
                   grid=grid, in_budget=o.keep == "all" and bool(o.budgets),
                   fractional=space.base.width.rounding == "none", metadata=meta)


def _write_front(space: Space, columns, ids: np.ndarray, rows: list, out: str) -> None:
    from .output import FRONT_FILE, PartWriter
    writer = PartWriter(os.path.join(out, FRONT_FILE), columns)
    try:
        if rows:
            values = np.array([[r["totals"][m] for m in METRICS] for r in rows],
                              dtype=np.float64 if columns.fractional else np.int64)
            writer.write(columns.table(space, ids, values, np.ones(len(ids), dtype=bool)))
        writer.close()
    except BaseException:
        writer.abort()
        raise


def summary_json(res: SpaceResult) -> str:
    """The run as JSON (the CLI's --format json)."""
    from ..numbers import plain
    space = res.space
    from .declare import shown_path
    out = {"spec": space.base.name, "spec_path": shown_path(space.path), "size": space.size,
           "choices": {c.name: [plain(v) for v in c.values] for c in space.choices},
           "path": res.path, "reason": res.reason, "stages": res.stages,
           "stage_compiles": res.compiles, "mode": res.mode, "evaluated": res.evaluated,
           "valid": res.valid, "in_budget": res.in_budget,
           "budgets": {m: _bound(v) for m, v in res.budgets.items()},
           "pareto": list(res.pareto), "maximize": list(res.maximize),
           "partitions": res.partitions, "runner": res.runner,
           "front": [{"index": r["index"], "sets": space.sets_for(r["index"]),
                      "totals": {m: plain(v) for m, v in r["totals"].items()
                                 if m != "elementwise_ops" or space.convention.elementwise}}
                     for r in res.front],
           "out": res.out, "written": res.written, "seconds": round(res.seconds, 3)}
    return json.dumps(out, indent=2) + "\n"
