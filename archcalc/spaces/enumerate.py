"""Costing architectures from stage tables: vectorised gathers, blocked outer sums, budgets.

An architecture's totals are its stages' entries combined (sums, and maxima for the two peak
memories); a stage's entry index is a mixed-radix number of the choice digits it depends on,
so costing N architectures is, per stage, one integer gather of N rows.

For a whole grid point (--all) the index range is cut into blocks: the innermost choices (the
fastest digits) span a block of B architectures whose inner stages' sums are computed once;
the outer choices are constant within a block, so a block costs one vector operation per
metric (inner block + the outer stages' scalar offset). Stages whose choices straddle the cut
add one gather per block.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stages import METRICS, N_SUMS, StageTable

BLOCK_TARGET = 1 << 19          # architectures per block (about 33 MB of int64 totals)


def combine(out: np.ndarray, part: np.ndarray) -> None:
    """out += part for the sums, out = max(out, part) for the peaks; rows are architectures."""
    np.add(out[:, :N_SUMS], part[:, :N_SUMS], out=out[:, :N_SUMS])
    np.maximum(out[:, N_SUMS:], part[:, N_SUMS:], out=out[:, N_SUMS:])


class Evaluator:
    """Totals of architectures of one grid point, from its tables (indices local to the
    point: 0 <= i < Space.n_choices)."""

    def __init__(self, space, tables):
        self.radix = np.array([c.radix for c in space.choices], dtype=np.int64)
        self.strides = np.array(space.strides, dtype=np.int64)
        self.stages: tuple = tables.stages

    def entry(self, stage: StageTable, local: np.ndarray, digits: dict) -> np.ndarray:
        """The entry index of `stage` for each architecture."""
        combo = np.zeros(len(local), dtype=np.int64)
        for p, m in zip(stage.params, stage.mult):
            d = digits.get(p)
            if d is None:
                d = digits[p] = (local // self.strides[p]) % self.radix[p]
            combo += d * m
        return combo

    def totals(self, local: np.ndarray, stages=None) -> tuple:
        """((n, len(METRICS)) int64 totals, (n,) bool: the architecture builds)."""
        local = np.asarray(local, dtype=np.int64)
        out = np.zeros((len(local), len(METRICS)), dtype=np.int64)
        valid = np.ones(len(local), dtype=bool)
        digits: dict = {}
        for stage in self.stages if stages is None else stages:
            e = self.entry(stage, local, digits)
            combine(out, np.take(stage.values, e, axis=0))
            if stage.valid is not None:
                valid &= stage.valid[e]
        return out, valid


@dataclass
class Block:
    """One block's totals, metric-major: values[m] is metric m of the block's architectures."""
    values: np.ndarray          # (len(METRICS), B) int64
    valid: np.ndarray | None    # (B,) bool; None: all build


class Blocks:
    """The blocked layout of one grid point: blocks of B consecutive local indices."""

    def __init__(self, space, tables, target: int = BLOCK_TARGET):
        self.ev = Evaluator(space, tables)
        radix = [c.radix for c in space.choices]
        n = len(radix)
        inner = self._cut(radix, tables.stages, target)
        self.inner = set(range(inner, n))
        self.B = int(np.prod(radix[inner:], dtype=np.int64)) if inner < n else 1
        self.n_blocks = space.n_choices // self.B
        kinds = {"inner": [], "outer": [], "split": []}
        for st in tables.stages:
            ps = set(st.params)
            kinds["inner" if ps <= self.inner and ps else "outer" if not ps & self.inner
                  else "split"].append(st)
        self.outer, self.split = kinds["outer"], kinds["split"]
        local = np.arange(self.B, dtype=np.int64)
        base, valid = self.ev.totals(local, kinds["inner"])
        self.base = np.ascontiguousarray(base.T)
        self.base_valid = None if valid.all() else valid
        self.split_parts = []            # per straddling stage: the inner part of its entries
        for st in self.split:
            inner_part = np.zeros(self.B, dtype=np.int64)
            for p, m in zip(st.params, st.mult):
                if p in self.inner:
                    inner_part += ((local // self.ev.strides[p]) % self.ev.radix[p]) * m
            self.split_parts.append(inner_part)
        self._buf = np.empty_like(self.base)

    @staticmethod
    def _cut(radix: list, stages, target: int) -> int:
        """The first inner choice: the longest suffix of choices spanning at most `target`
        architectures (at least the last choice), moved inwards to a boundary that no stage
        straddles where that keeps the block at least 1/64 as large."""
        n = len(radix)
        cut, size = n, 1
        while cut > 0 and size * radix[cut - 1] <= target:
            cut -= 1
            size *= radix[cut]
        if cut == n and n:
            cut, size = n - 1, radix[-1]
        suffix = {n: 1}
        for k in range(n - 1, -1, -1):
            suffix[k] = suffix[k + 1] * radix[k]
        for k in range(cut, n):
            straddles = any(min(st.params) < k <= max(st.params) for st in stages if st.params)
            if not straddles and suffix[k] * 64 >= size:
                return k
        return cut

    def offsets(self, blocks: np.ndarray) -> tuple:
        """The outer stages' totals for each block: ((k, len(METRICS)), (k,) valid)."""
        return self.ev.totals(np.asarray(blocks, dtype=np.int64) * self.B, self.outer)

    def block(self, b: int, offset: np.ndarray, offset_valid: bool) -> Block:
        """The totals of block b (its architectures are b * B + 0 .. B - 1)."""
        buf = self._buf
        np.add(self.base[:N_SUMS], offset[:N_SUMS, None], out=buf[:N_SUMS])
        np.maximum(self.base[N_SUMS:], offset[N_SUMS:, None], out=buf[N_SUMS:])
        valid = self.base_valid
        if not offset_valid:
            valid = np.zeros(self.B, dtype=bool)
        if self.split:
            start = np.array([b * self.B], dtype=np.int64)
            for st, inner_part in zip(self.split, self.split_parts):
                outer_part = int(self.ev.entry(st, start, {})[0]) - int(inner_part[0])
                rows = np.take(st.values, inner_part + outer_part, axis=0).T
                np.add(buf[:N_SUMS], rows[:N_SUMS], out=buf[:N_SUMS])
                np.maximum(buf[N_SUMS:], rows[N_SUMS:], out=buf[N_SUMS:])
                if st.valid is not None:
                    v = st.valid[inner_part + outer_part]
                    valid = v if valid is None else valid & v
        return Block(buf, valid)

    def split_key(self, b: int) -> tuple:
        """What the block's inner part depends on besides the inner choices."""
        if not self.split:
            return ()
        start = np.array([b * self.B], dtype=np.int64)
        return tuple(int(self.ev.entry(st, start, {})[0]) - int(part[0])
                     for st, part in zip(self.split, self.split_parts))


def within(values: np.ndarray, budgets: dict, metric_major: bool = True) -> np.ndarray:
    """Which architectures meet every budget ({metric: integer bound}, <=)."""
    n = values.shape[1] if metric_major else values.shape[0]
    mask = np.ones(n, dtype=bool)
    for m, bound in budgets.items():
        col = values[METRICS.index(m)] if metric_major else values[:, METRICS.index(m)]
        mask &= col <= bound
    return mask
