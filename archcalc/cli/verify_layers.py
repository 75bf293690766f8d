"""`archcalc verify SPEC --against MODEL`: matching a spec's conv / linear layers with an
imported model's (archcalc/cli/models.py prints the result).

A layer's signature is (output shape without trailing 1s, params, MAdds). The layers are
compared in order first; where the orders differ, every spec layer is matched with a model
layer of the same signature wherever it runs (parallel branches that the two write in another
order: SSD's box and class predictors per feature map, ASPP's pooling branch first or last),
and a group of layers that read the same tensor and give the same spatial size may stand for
one layer of the other side whose channels, params and MAdds are their sums (YOLOv2's one
1x1 output conv, which a spec writes as a `predictor`'s box and class convs). The
difference reported is the first spec layer left without a counterpart, beside the first
model layer left over (or the first left over when every spec layer found one).
"""
from __future__ import annotations

from dataclasses import dataclass

WEIGHTED = ("conv", "grouped_conv", "depthwise", "pointwise", "fc", "linear")


def canon(shape) -> tuple:
    """A shape without trailing 1s: a spec's fc output (1000, 1, 1) is the model's (1000,)."""
    shape = tuple(shape)
    while len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    return shape


def weighted(table) -> list:
    return [r for r in table.rows if r.op in WEIGHTED]


def describe(row) -> str:
    return (f"{row.name} ({row.label}, {'x'.join(map(str, row.output_shape))}, "
            f"{row.params:,} params, {row.madds:,} MAdds)")


def _sig(row) -> tuple:
    return canon(row.output_shape), row.params, row.madds


def _merged(rows) -> tuple | None:
    """The signature of rows that read one tensor, concatenated along channels."""
    shapes = [tuple(r.output_shape) for r in rows]
    if any(len(s) != 3 or s[1:] != shapes[0][1:] for s in shapes):
        return None
    shape = (sum(s[0] for s in shapes),) + shapes[0][1:]
    return canon(shape), sum(r.params for r in rows), sum(r.madds for r in rows)


def _groups(rows, graph) -> dict:
    """Row index -> indices of the weighted rows reading the same tensor at the same spatial
    size (only groups of two or more)."""
    by_input: dict = {}
    for i, r in enumerate(rows):
        key = (graph.inputs(r.name), tuple(r.output_shape)[1:])
        by_input.setdefault(key, []).append(i)
    return {i: g for g in by_input.values() if len(g) > 1 for i in g}


@dataclass
class Match:
    first: str | None      # the first difference ("first differing layer: ..."), None if none
    reordered: bool        # matched out of order
    merged: int            # groups matched as one layer of the other side


def match_layers(ours, our_graph, theirs, their_graph) -> Match:
    """Match the spec's weighted rows `ours` with the model's `theirs` (see the module doc)."""
    sa, sb = [_sig(r) for r in ours], [_sig(r) for r in theirs]
    if sa == sb:
        return Match(None, False, 0)
    ga, gb = _groups(ours, our_graph), _groups(theirs, their_graph)
    used_a, used_b = set(), set()
    merged = 0
    missing: list = []

    def free_b(sig):
        return next((j for j in range(len(sb)) if j not in used_b and sb[j] == sig), None)

    for i in range(len(sa)):
        if i in used_a:
            continue
        j = free_b(sa[i])
        if j is not None:
            used_a.add(i)
            used_b.add(j)
            continue
        group = [k for k in ga.get(i, ()) if k not in used_a]
        sig = _merged([ours[k] for k in group]) if len(group) > 1 else None
        j = free_b(sig) if sig is not None else None
        if j is not None:
            used_a.update(group)
            used_b.add(j)
            merged += 1
            continue
        hit = None
        for j in range(len(sb)):
            group = [k for k in gb.get(j, ()) if k not in used_b]
            if j not in used_b and len(group) > 1 and _merged([theirs[k] for k in group]) == sa[i]:
                hit = group
                break
        if hit:
            used_a.add(i)
            used_b.update(hit)
            merged += 1
            continue
        missing.append(i)
    left = [j for j in range(len(sb)) if j not in used_b]
    if missing:
        versus = f" vs model {describe(theirs[left[0]])}" if left else \
            " with no counterpart in the model"
        return Match(f"first differing layer: spec {describe(ours[missing[0]])}{versus}", True,
                     merged)
    if left:
        return Match(f"first differing layer: model has {describe(theirs[left[0]])} with no "
                     "counterpart in the spec", True, merged)
    return Match(None, True, merged)
