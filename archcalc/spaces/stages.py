"""A space's decomposition into stages, and each stage's exact cost table at a grid point.

A stage is a run of consecutive rows: the smallest runs such that every row a choice changes
lies in the stage of that choice (rows no choice changes form stages of their own). In a
plain sequential network (every row reads the previous row's output: no `from:`, no cells,
no `residual: expansion` across rows, one output) a stage's cost depends only on its own
choices and on its input tensor (shape, and the design channel count the compiler carries),
so each (stage, own choices, input) is compiled ONCE, alone: an input node of that shape
followed by the stage's rows, built by the spec's own RowCompiler, costed by the one
analyser. Totals of an architecture are then sums of its stages' entries (params, BN params,
MAdds, FLOPs, element-wise ops, activation bytes) and maxima (the two peak memories: only one
tensor crosses a stage boundary, docs/spaces.md proves it). Where that structure does not
hold, `plan` says why and the space is costed by compiling each architecture instead.

A stage's input tensor may depend on earlier choices (a filter-size choice changes the next
stage's input channels): its table is then indexed by its own choices and by the earlier
choices that decide its input, found by propagating input states stage by stage.
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import SpecError
from ..limits import MAX_GRAPH_OPS, MAX_STAGE_COMPILES
from ..spec import schema

SUMS = ("params", "bn_params", "madds", "flops", "elementwise_ops", "activation_bytes")
MAXES = ("peak_memory_bytes", "peak_memory_bytes_streamed")
METRICS = SUMS + MAXES          # report's JSON totals, in its order
N_SUMS = len(SUMS)
_COUNTS = ("ops", "rows")       # kept while building, to check MAX_GRAPH_OPS
SPOT_CHECKS = 3                 # own-choice combinations per stage re-parsed by the loader


class NotDecomposable(Exception):
    """The structure does not decompose (the message says why): compile each architecture."""


@dataclass(frozen=True)
class Stage:
    rows: tuple      # ((section name, index in the section, flat index), ...)
    params: tuple    # indices (into Space.choices) of the choices that change its rows


@dataclass
class Plan:
    """The stages of a space, or the reason it does not decompose."""
    stages: tuple = ()
    reason: str = ""
    rows: list = dataclasses.field(default_factory=list)    # [(section, i, row)] at the defaults
    diffs: dict = dataclasses.field(default_factory=dict)   # (choice, digit) -> {flat: {field: v}}

    @property
    def decomposed(self) -> bool:
        return not self.reason


@dataclass
class StageTable:
    """A stage's entries: one row of METRICS per combination of the choices it depends on."""
    params: tuple           # choice indices, in declared order
    mult: tuple             # each choice digit's multiplier in the flat entry index
    values: np.ndarray      # (entries, len(METRICS)) int64
    valid: np.ndarray | None = None    # (entries,) bool; None: every entry builds


@dataclass
class Tables:
    """The stage tables of one grid point."""
    stages: tuple
    compiles: int           # stage compiles it took


def _flat_rows(spec) -> list:
    return [(s.name, i, row) for s in spec.sections for i, row in enumerate(s.rows)]


def _structure_reason(row, where: str) -> str:
    if row.from_ is not None:
        return f"{where} takes its input `from:` an earlier row"
    if isinstance(row, schema.CellRow):
        return f"{where} is a cell (several inputs)"
    if isinstance(row, schema.FitRow):
        return f"{where} is a fit row (NASNet's cells)"
    if isinstance(row, schema.PredictorRow):
        return f"{where} is a predictor (several outputs)"
    if isinstance(row, schema.BottleneckRow) and row.residual == "expansion":
        return f"{where} has `residual: expansion`, which joins consecutive rows"
    return ""


def plan(space) -> Plan:
    """Which rows each choice changes (by loading the spec once per choice value), the stages
    they make, and whether the structure decomposes."""
    base = space.base
    rows = _flat_rows(base)
    out = Plan(rows=rows)
    for sec, i, row in rows:
        reason = _structure_reason(row, f"layers.{sec}[{i}] (line {row.line})")
        if reason:
            out.reason = reason
            return out
    names = [row.name for _, _, row in rows if row.name is not None]
    if len(names) != len(set(names)):
        out.reason = "two rows have the same name"
        return out
    changed: dict = {}                   # flat row -> {field: choice}
    hulls = {}
    for ci, c in enumerate(space.choices):
        for d, v in enumerate(c.values):
            if d == c.default:
                continue
            from .declare import value_text
            variant = space.parse({c.name: value_text(v)})
            if (variant.width, variant.input_channels, variant.resolution) != \
                    (base.width, base.input_channels, base.resolution):
                out.reason = f"the choice {c.name} changes the spec's width rule"
                return out
            diff = {}
            for flat, ((sec, i, r0), (_, _, r1)) in enumerate(zip(rows, _flat_rows(variant))):
                reason = _structure_reason(r1, f"layers.{sec}[{i}] with {c.name}={value_text(v)}")
                if reason:
                    out.reason = reason
                    return out
                fields = {f.name: getattr(r1, f.name) for f in dataclasses.fields(r1)
                          if f.compare and getattr(r1, f.name) != getattr(r0, f.name)}
                if fields:
                    diff[flat] = fields
                    for name in fields:
                        owner = changed.setdefault(flat, {}).setdefault(name, ci)
                        if owner != ci:
                            out.reason = (f"layers.{sec}[{i}].{name} depends on two choices "
                                          f"({space.choices[owner].name}, {c.name})")
                            return out
            out.diffs[(ci, d)] = diff
            if diff:
                lo, hi = hulls.get(ci, (len(rows), -1))
                hulls[ci] = (min(lo, min(diff)), max(hi, max(diff)))
    out.stages = _stages(rows, hulls)
    return out


def _stages(rows, hulls: dict) -> tuple:
    """Merge the choices' row intervals; rows outside every interval make constant stages."""
    spans = sorted((lo, hi, ci) for ci, (lo, hi) in hulls.items())
    groups: list = []                    # [lo, hi, [choices]]
    for lo, hi, ci in spans:
        if groups and lo <= groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], hi)
            groups[-1][2].append(ci)
        else:
            groups.append([lo, hi, [ci]])
    stages, flat = [], 0
    for lo, hi, cis in groups + [[len(rows), len(rows) - 1, []]]:
        if flat < lo:
            stages.append(Stage(tuple((s, i, f) for f, (s, i, _) in enumerate(rows)
                                      if flat <= f < lo), ()))
        if lo <= hi:
            stages.append(Stage(tuple((s, i, f) for f, (s, i, _) in enumerate(rows)
                                      if lo <= f <= hi), tuple(sorted(cis))))
        flat = hi + 1
    return tuple(stages)


def stage_rows(space, p: Plan, stage: Stage, digits: tuple) -> list:
    """The stage's rows at its own choices' digits (one per stage.params): the rows at the
    defaults with each choice's changes applied (each field depends on one choice at most)."""
    out = []
    for sec, i, flat in stage.rows:
        row = p.rows[flat][2]
        fields = {}
        for ci, d in zip(stage.params, digits):
            if d != space.choices[ci].default:
                fields.update(p.diffs[(ci, d)].get(flat, {}))
        if fields:
            row = dataclasses.replace(row, **fields)
        if isinstance(row, schema.PoolRow) and not row.global_ and isinstance(row.padding, int) \
                and row.padding > row.k // 2:    # the loader's one check across two keys
            raise SpecError(f"padding {row.padding} is more than half the kernel ({row.k} // 2 = "
                            f"{row.k // 2}); PyTorch's pooling refuses it", path=space.path,
                            line=row.line_of("padding"), key=f"layers.{sec}[{i}].padding")
        out.append((sec, i, row))
    return out


def spot_check(space, p: Plan, seed: int = 0) -> str:
    """Rebuild a few own-choice combinations of each stage with the loader itself and compare
    with the merged rows; a difference (a loader rule across keys) is a reason to compile."""
    from .declare import value_text
    rng = np.random.default_rng(seed)
    for stage in p.stages:
        if not stage.params:
            continue
        radices = [space.choices[ci].radix for ci in stage.params]
        for _ in range(SPOT_CHECKS):
            digits = tuple(int(rng.integers(r)) for r in radices)
            sets = {space.choices[ci].name: value_text(space.choices[ci].values[d])
                    for ci, d in zip(stage.params, digits)}
            try:
                parsed = _flat_rows(space.parse(sets))
            except SpecError:
                continue
            try:
                merged = stage_rows(space, p, stage, digits)
            except SpecError:
                return "the loader accepts a combination the merged rows refuse"
            if [r for _, _, r in merged] != [parsed[f][2] for _, _, f in stage.rows]:
                return "the loader builds rows differently from the merged choices"
    return ""


def compile_stage(space, rows, state, domain):
    """Compile `rows` alone after an input node of `state` = (shape, design channels) and
    cost them: (column values: METRICS then ops and rows built; the output state)."""
    from ..cost import analyze
    from ..graph import ArchGraph, RowCompiler
    from ..graph.cells import repeats
    from ..graph.rows import RowOutput
    from ..ops import Op, OpKind
    shape, design_c = state
    g = ArchGraph(spec=space.base, width=domain.alpha, resolution=domain.r, symbolic=False)
    compiler = RowCompiler(space.base, g, domain)
    node = g.add(Op(kind=OpKind.INPUT, name="input", layer="input", block="input",
                    out_ch=shape[0]), shape, [])
    x = RowOutput(node, design_c)
    for sec, i, row in rows:
        compiler.section = sec
        for rep, stride in repeats(row):
            compiler.rep = rep
            x = compiler.row(row, x, stride, f"{sec}.{i}" + (f".{rep}" if row.n > 1 else ""))
    if g.outputs() != [x.node]:
        raise NotDecomposable(f"layers.{rows[0][0]}[{rows[0][1]}]: a stage leaves more than "
                              f"one tensor (several outputs)")
    table = analyze(g, space.convention, space.dtype)
    costed = table.rows[1:]              # the input node is the previous stage's output
    sums = [sum(getattr(r, m) for r in costed) for m in
            ("params", "bn_params", "madds")]
    madds = sums[2]
    values = sums + [2 * madds, sum(r.elementwise_ops for r in costed),
                     sum(r.memory_bytes for r in costed),
                     max(r.live_bytes for r in table.rows),
                     max(r.live_bytes_streamed for r in table.rows),
                     len(g) - 1, compiler.rows_built]
    if any(not isinstance(v, int) or isinstance(v, bool) for v in values):
        if any(isinstance(v, Fraction) for v in values):
            raise NotDecomposable("counts are fractions (rounding: none): kept exact by "
                                  "compiling each architecture")
        raise NotDecomposable("counts are not integers")
    return values, (tuple(g.shape(x.node)), x.design_c)


def _minimise(arrays: list, axes: list) -> tuple:
    """Drop the axes along which every array is constant: (kept axes, arrays reduced)."""
    keep = []
    for a in range(len(axes)):
        if all(np.array_equal(x, np.take(x, [0], axis=a).repeat(x.shape[a], axis=a))
               for x in arrays):
            arrays = [np.take(x, [0], axis=a) for x in arrays]
        else:
            keep.append(a)
    squeeze = tuple(a for a in range(len(axes)) if a not in keep)
    arrays = [x.squeeze(axis=squeeze) if squeeze else x for x in arrays]
    return [axes[a] for a in keep], arrays


def _mult(radices: list) -> tuple:
    out, m = [], 1
    for r in reversed(radices):
        out.append(m)
        m *= r
    return tuple(reversed(out))


def build_tables(space, p: Plan, g: int) -> Tables:
    """The stage tables at grid point g (raises NotDecomposable where they cannot be built)."""
    from ..graph.compile import parse_input_size, parse_width
    from ..graph.width import ConcreteDomain
    from ..spec.schema import sides
    base = space.base
    width, res = space.grid_point(g)
    size = parse_input_size(base.resolution if res is None else res, base.resolution)
    domain = ConcreteDomain(parse_width(1 if width is None else width), size)
    h, w = sides(size)
    radix = [c.radix for c in space.choices]
    states = [((base.input_channels, h, w), base.input_channels)]
    dep: list = []                       # choices that decide the current input state
    statemap = np.zeros((), dtype=np.int64)
    tables, compiles, first = [], 0, True
    for stage in p.stages:
        own = list(stage.params)
        combos = list(itertools.product(*(range(radix[ci]) for ci in own)))
        compiles += len(combos) * len(states)
        if compiles > MAX_STAGE_COMPILES:
            raise NotDecomposable(f"more than {MAX_STAGE_COMPILES:,} stage compiles "
                                  f"(MAX_STAGE_COMPILES)")
        k = len(METRICS) + len(_COUNTS)
        cost = np.zeros((len(combos), len(states), k), dtype=object)
        valid = np.ones((len(combos), len(states)), dtype=bool)
        out = np.full((len(combos), len(states)), -1, dtype=np.int64)
        found: dict = {}
        for c, digits in enumerate(combos):
            try:
                rows = stage_rows(space, p, stage, digits)
            except SpecError:
                valid[c, :] = False
                continue
            for s, state in enumerate(states):
                try:
                    values, nxt = compile_stage(space, rows, state, domain)
                except SpecError:
                    valid[c, s] = False
                    continue
                if first:                 # the network's input is materialised once
                    values[METRICS.index("activation_bytes")] += _bytes(state, space.dtype)
                    values[len(METRICS)] += 1
                cost[c, s] = values
                out[c, s] = found.setdefault(nxt, len(found))
        first = False
        axes = sorted(dep + own)
        sm = statemap.reshape([radix[a] if a in dep else 1 for a in axes])
        oi = np.arange(len(combos)).reshape([radix[a] if a in own else 1 for a in axes])
        sm, oi = np.broadcast_arrays(sm, oi)
        bad = sm < 0
        safe = np.where(bad, 0, sm)
        values = cost[oi, safe].astype(np.int64) if cost.size else cost[oi, safe]
        values[bad] = 0
        ok = valid[oi, safe] & ~bad
        nxt = np.where(ok, out[oi, safe], -1)
        kept, (values, ok) = _minimise([values, ok], axes)
        tables.append((kept, values, ok))
        dep, (statemap,) = _minimise([nxt], axes)
        ids = np.unique(statemap[statemap >= 0])
        by_id = {v: k for k, v in found.items()}
        states = [by_id[int(i)] for i in ids]
        renumber = np.full(len(found) + 1, -1, dtype=np.int64)
        renumber[ids] = np.arange(len(ids))
        statemap = renumber[statemap]          # -1 (no state) stays -1 via the last slot
    return _finish(tables, radix, compiles)


def _bytes(state, dtype: str) -> int:
    from ..cost import DTYPE_BYTES
    (c, h, w), _ = state
    return c * h * w * DTYPE_BYTES[dtype]


def _finish(tables, radix, compiles) -> Tables:
    """Check the graph-size limit and int64 range over every architecture; pack the tables."""
    k = len(METRICS)
    worst = np.zeros(k + len(_COUNTS), dtype=object)
    out = []
    for kept, values, ok in tables:
        flat = values.reshape(-1, values.shape[-1])
        okf = ok.reshape(-1)
        if okf.any():
            worst = worst + flat[okf].max(axis=0).astype(object)
        out.append(StageTable(params=tuple(kept), mult=_mult([radix[a] for a in kept]),
                              values=np.ascontiguousarray(flat[:, :k]),
                              valid=None if okf.all() else okf))
    if worst[k] > MAX_GRAPH_OPS or worst[k + 1] > MAX_GRAPH_OPS:
        raise NotDecomposable(f"some architectures may compile to more than {MAX_GRAPH_OPS:,} "
                              f"ops (MAX_GRAPH_OPS)")
    if any(int(v) >= 2**62 for v in worst[:k]):
        raise NotDecomposable("totals beyond 64-bit integers")
    return Tables(stages=tuple(out), compiles=compiles)
