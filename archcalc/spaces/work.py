"""One partition of a space run: cost its architectures, count, write its Parquet file and
return its partial front. A plain function of picklable data, so that the same code runs in
process or as a Dask task on any worker (dask.distributed ships it; nothing here talks to
other processes).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import ArchcalcError, OptionError, SpecError
from ..limits import MAX_SPACE_OUTPUT_ROWS
from . import pareto
from .enumerate import Blocks, Evaluator, within
from .stages import METRICS, N_SUMS

PRUNE_POINTS = 1 << 18          # candidates gathered before a partial front is pruned


@dataclass
class Shared:
    """What every partition of a run needs (sent to each worker once)."""
    space: object
    tables: list | None          # Tables per grid point (decomposed), or None (compiled)
    block_target: int
    budgets: dict                # {metric: integer bound}
    extended: tuple              # (metric, sign) of the partial fronts: --pareto (sign -1:
                                 # maximised), then each budgeted metric minimised
    keep: str                    # budget | front | all
    columns: object | None       # output.Columns, None without --out
    version: str
    _blocks: dict = field(default_factory=dict, repr=False)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_blocks"] = {}
        return state

    def blocks(self, g: int) -> Blocks:
        if g not in self._blocks:
            self._blocks = {g: Blocks(self.space, self.tables[g], self.block_target)}
        return self._blocks[g]


@dataclass
class Job:
    part: int
    g: int                       # grid point
    blocks: tuple | None = None  # (first, end) blocks: --all, decomposed
    span: tuple | None = None    # (first, end) local indices: --all, compiled
    indices: np.ndarray | None = None   # local indices: --sample
    file: str | None = None


@dataclass
class PartResult:
    part: int
    evaluated: int = 0
    valid: int = 0
    in_budget: int = 0
    written: int = 0
    points: np.ndarray | None = None    # the partial front over Shared.extended
    ids: np.ndarray | None = None       # global indices attaining them
    seconds: float = 0.0
    cpu_seconds: float = 0.0            # the CPU time of the thread that ran it
    error: str | None = None


def run_job(shared: Shared, job: Job) -> PartResult:
    """Run one partition; an archcalc error comes back as text (one line)."""
    from .. import __version__
    t0, c0 = time.perf_counter(), time.thread_time()
    out = PartResult(job.part)
    writer = None
    try:
        if shared.version != __version__:
            raise OptionError(f"a worker runs archcalc {__version__}, this run {shared.version}")
        if job.file is not None and shared.columns is not None:
            from .output import PartWriter
            writer = PartWriter(job.file, shared.columns)
        acc = _Front(shared, job.g * shared.space.n_choices)
        if shared.tables is None:
            _compiled(shared, job, out, writer, acc)
        elif job.blocks is not None:
            _blocks(shared, job, out, writer, acc)
        else:
            ev = Evaluator(shared.space, shared.tables[job.g])
            for lo in range(0, len(job.indices), 1 << 16):
                local = job.indices[lo:lo + (1 << 16)]
                values, valid = ev.totals(local)
                _account(shared, job, out, writer, acc, local, values, valid)
        out.points, out.ids = acc.result()
        if writer is not None:
            writer.close()
            writer = None
    except ArchcalcError as err:
        out.error = str(err)
    finally:
        if writer is not None:
            writer.abort()
    out.seconds = time.perf_counter() - t0
    out.cpu_seconds = time.thread_time() - c0
    return out


class _Front:
    """A partial front over the extended metrics, pruned as candidates accumulate."""

    def __init__(self, shared: Shared, first: int):
        self.cols = [METRICS.index(m) for m, _ in shared.extended]
        self.signs = [sign for _, sign in shared.extended]
        self.first = first
        self.parts: list = []
        self.size = 0

    def add(self, points: np.ndarray, ids: np.ndarray) -> None:
        if not len(points):
            return
        self.parts.append((points, ids))
        self.size += len(points)
        if self.size > PRUNE_POINTS:
            self.parts = [pareto.merge(self.parts, self.signs)]
            self.size = len(self.parts[0][0])

    def result(self) -> tuple:
        if not self.parts:
            return np.zeros((0, len(self.cols)), dtype=np.int64), np.zeros(0, dtype=np.int64)
        return pareto.merge(self.parts, self.signs)


def _check_rows(out: PartResult) -> None:
    if out.written > MAX_SPACE_OUTPUT_ROWS:
        raise OptionError(f"more than {MAX_SPACE_OUTPUT_ROWS:,} rows to write (limit "
                          f"MAX_SPACE_OUTPUT_ROWS): tighten the budgets or use --keep front")


def _account(shared, job, out, writer, acc, local, values, valid) -> None:
    """Count, write and add to the front a batch of architectures (rows: (n, METRICS))."""
    ok = within(values, shared.budgets, metric_major=False) & valid
    out.evaluated += len(local)
    out.valid += int(valid.sum())
    out.in_budget += int(ok.sum())
    ids = np.asarray(local, dtype=np.int64) + acc.first
    acc.add(values[ok][:, acc.cols], ids[ok])
    if writer is not None and shared.keep != "front":
        rows = ok if shared.keep == "budget" else valid
        if rows.any():
            writer.write(shared.columns.table(shared.space, ids[rows], values[rows], ok[rows]))
            out.written += int(rows.sum())
            _check_rows(out)


def _blocks(shared, job, out, writer, acc) -> None:
    """--all through blocks: one vector operation per metric per block."""
    layout = shared.blocks(job.g)
    first, end = job.blocks
    offsets, offsets_valid = layout.offsets(np.arange(first, end))
    cols = acc.cols
    sums = [k for k, c in enumerate(cols) if c < N_SUMS]
    inner_fronts: dict = {}
    maxes = [j for j in range(len(cols)) if j not in sums]
    for k, b in enumerate(range(first, end)):
        key = layout.split_key(b)
        if key not in inner_fronts:       # the block without its outer offset: its front
            bare = layout.block(b, np.zeros(len(METRICS), dtype=np.int64), True)
            pts = bare.values[cols].T
            keep = np.ones(layout.B, dtype=bool) if bare.valid is None else bare.valid
            inner_fronts[key] = pareto.front(pts[keep], np.flatnonzero(keep), acc.signs)
        block = layout.block(b, offsets[k], bool(offsets_valid[k]))
        valid = block.valid
        ok = within(block.values, shared.budgets)
        if valid is not None:
            ok &= valid
        out.evaluated += layout.B
        out.valid += layout.B if valid is None else int(valid.sum())
        out.in_budget += int(ok.sum())
        start = acc.first + b * layout.B
        pts, ids = inner_fronts[key]
        if offsets_valid[k] and len(pts):
            cand = pts.copy()
            off = offsets[k][cols]
            cand[:, sums] += off[sums]
            cand[:, maxes] = np.maximum(cand[:, maxes], off[maxes])
            inb = within(_widen(cand, cols), shared.budgets, metric_major=False)
            acc.add(cand[inb], ids[inb] + start)
        if writer is not None and shared.keep != "front":
            rows = ok if shared.keep == "budget" else (
                np.ones(layout.B, dtype=bool) if valid is None else valid)
            sel = np.flatnonzero(rows)
            if len(sel):
                values = block.values[:, sel].T
                writer.write(shared.columns.table(shared.space, sel + start, values, ok[sel]))
                out.written += len(sel)
                _check_rows(out)


def _widen(points: np.ndarray, cols: list) -> np.ndarray:
    """Points over some metrics as rows over all METRICS (others 0) for `within`."""
    out = np.zeros((len(points), len(METRICS)), dtype=points.dtype)
    out[:, cols] = points
    return out


def compile_values(space, g: int, local: int):
    """One architecture compiled whole (the spec loaded with its choices): its totals in
    METRICS order, or None where it cannot be built."""
    from ..api import evaluate
    from .declare import value_text
    digits = [(local // s) % c.radix for s, c in zip(space.strides, space.choices)]
    sets = {c.name: value_text(c.values[d]) for c, d in zip(space.choices, digits)}
    width, res = space.grid_point(g)
    try:
        table = evaluate(space.parse(sets), width, res, convention=space.convention,
                         dtype=space.dtype)
    except SpecError:
        return None
    return [table.totals[m] for m in METRICS]


def _compiled(shared, job, out, writer, acc) -> None:
    """Architectures compiled one by one (a space that does not decompose)."""
    space = shared.space
    local = np.arange(*job.span, dtype=np.int64) if job.span else job.indices
    for lo in range(0, len(local), 256):
        batch = local[lo:lo + 256]
        rows = [compile_values(space, job.g, int(i)) for i in batch]
        valid = np.array([r is not None for r in rows], dtype=bool)
        fractional = space.base.width.rounding == "none"
        if not fractional and any(r is not None and any(not isinstance(v, int) for v in r)
                                  for r in rows):
            raise OptionError("counts are not integers where the width rule rounds them")
        values = np.array([[0] * len(METRICS) if r is None else
                           [float(v) for v in r] if fractional else r for r in rows],
                          dtype=np.float64 if fractional else np.int64)
        _account(shared, job, out, writer, acc, batch, values, valid)
