"""Exact Pareto fronts of integer points (each metric minimised, or maximised), vectorised.

A front here is the set of non-dominated value vectors (a point p dominates q when p is no
worse than q in every metric and p != q), each with one architecture index that attains it;
equal vectors are kept once. Two facts make the fronts of huge spaces cheap (docs/spaces.md):

* the front of {a + b : a in A, b in B} (sums; maxima likewise, being monotone) has the same
  values as the front of {a + b : a in front(A), b in front(B)}: a dominated part can only
  make a dominated (or equal) whole;
* so the front of a block of architectures that share their outer choices, inner block + a
  constant offset, is the inner block's front + that offset, computed once per inner block.
"""
from __future__ import annotations

import numpy as np

from ..errors import OptionError
from ..limits import MAX_FRONT_POINTS


def front(points: np.ndarray, ids: np.ndarray, signs=None) -> tuple:
    """(points, ids) of the non-dominated rows of `points` (n, d), sorted by the metrics;
    among equal rows the smallest id is kept. `signs` (d values, 1 or -1): -1 maximises
    that metric instead."""
    points = np.asarray(points)
    ids = np.asarray(ids, dtype=np.int64)
    n, d = points.shape if points.ndim == 2 else (0, 0)
    if n == 0:
        return points.reshape(0, d), ids[:0]
    signed = points if signs is None else points * np.asarray(signs, dtype=points.dtype)
    order = np.lexsort((ids,) + tuple(signed[:, j] for j in reversed(range(d))))
    p, i = signed[order], ids[order]
    if d == 1:
        keep = np.zeros(n, dtype=bool)
        keep[0] = True
    elif d == 2:
        y = p[:, 1]
        best = np.minimum.accumulate(y)
        keep = np.ones(n, dtype=bool)
        keep[1:] = y[1:] < best[:-1]       # strictly below everything before it (x sorted)
    elif d == 3:
        keep = _sweep3(p)
    else:
        keep = _filter(p)
    p, i = points[order][keep], i[keep]
    if len(p) > MAX_FRONT_POINTS:
        raise OptionError(f"the front has more than {MAX_FRONT_POINTS:,} points (limit "
                          f"MAX_FRONT_POINTS): use fewer --pareto metrics")
    return p, i


def _staircase(a: np.ndarray, b: np.ndarray) -> tuple:
    """The 2-D front of (a, b) as a staircase: a ascending, b strictly descending."""
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = b[1:] < np.minimum.accumulate(b)[:-1]
    return a[keep], b[keep]


def _sweep3(p: np.ndarray) -> np.ndarray:
    """Non-dominated rows of `p` (n, 3), keeping the first of equal rows: a sweep over the
    values of the column with the fewest distinct values (a peak memory takes few), each
    group checked against the staircase of all earlier groups (a binary search per point)
    and against itself (a 2-D front)."""
    g = min(range(3), key=lambda j: len(np.unique(p[:, j])))
    a, b = [j for j in range(3) if j != g]
    order = np.lexsort((p[:, b], p[:, a], p[:, g]))      # stable: equal rows keep their order
    gs = p[order, g]
    cuts = np.flatnonzero(np.diff(gs)) + 1
    keep = np.zeros(len(p), dtype=bool)
    stair_a = stair_b = p[:0, 0]
    for idx in np.split(order, cuts):
        pa, pb = p[idx, a], p[idx, b]
        local = np.ones(len(idx), dtype=bool)
        local[1:] = pb[1:] < np.minimum.accumulate(pb)[:-1]
        if len(stair_a):
            pos = np.searchsorted(stair_a, pa, side="right") - 1
            local &= ~((pos >= 0) & (stair_b[np.maximum(pos, 0)] <= pb))
        keep[idx] = local
        stair_a, stair_b = _staircase(np.concatenate([stair_a, pa]), np.concatenate([stair_b, pb]))
    return keep


def _filter(p: np.ndarray) -> np.ndarray:
    """Non-dominated rows of lexicographically sorted `p` (d >= 3): a row can be dominated
    only by an earlier one (or equal a later one, which is then dropped as a duplicate)."""
    n, d = p.shape
    keep = np.zeros(n, dtype=bool)
    kept = p[:0]
    start = 0
    while start < n:
        size = int(max(1, min(4096, (1 << 24) // (len(kept) * d + d))))
        chunk = p[start:start + size]
        if len(kept):
            dominated = np.zeros(len(chunk), dtype=bool)
            step = max(1, (1 << 24) // (len(chunk) * d))
            for k in range(0, len(kept), step):
                part = kept[k:k + step]
                dominated |= (part[None, :, :] <= chunk[:, None, :]).all(-1).any(-1)
        else:
            dominated = np.zeros(len(chunk), dtype=bool)
        le = (chunk[None, :, :] <= chunk[:, None, :]).all(-1)   # le[a, b]: chunk[b] <= chunk[a]
        dominated |= np.tril(le, -1).any(1)
        keep[start:start + len(chunk)] = ~dominated
        kept = np.concatenate([kept, chunk[~dominated]])
        start += len(chunk)
    return keep


def merge(fronts: list, signs=None) -> tuple:
    """The front of the union of several (points, ids) fronts."""
    fronts = [f for f in fronts if len(f[0])]
    if not fronts:
        return np.zeros((0, 0 if signs is None else len(signs)), dtype=np.int64), \
            np.zeros(0, dtype=np.int64)
    return front(np.concatenate([f[0] for f in fronts]), np.concatenate([f[1] for f in fronts]),
                 signs)


def project(points: np.ndarray, ids: np.ndarray, columns: list, signs=None) -> tuple:
    """The front of `points` restricted to `columns` (a front over more metrics, projected)."""
    signs = None if signs is None else [signs[c] for c in columns]
    if not len(points):
        return points[:, columns], ids
    return front(points[:, columns], ids, signs)
