"""Streamed-memory groups of an imported graph: the inverted-residual blocks it contains.

MobileNetV2 Sec. 5.1 (docs/memory.md): inside an inverted-residual block (1x1 expansion,
depthwise k x k, linear 1x1 projection, with their BN and activations and the residual add)
the expanded tensors can be computed in slices and never fully materialised. A compiled spec
marks its bottleneck rows' ops with `stream_group`; here the same pattern is recognised in the
captured graph: a depthwise conv whose input comes, through BN / activations only, from a 1x1
conv (or straight from the block input when there is no expansion), and whose output goes,
through BN / activations only, to a 1x1 conv (the projection), every tensor on the way read
by the next op alone; the projection's BN and a residual add of the block input join the
group. Blocks with squeeze-and-excitation (the gate reads the whole depthwise output) are
left unstreamed.
"""
from __future__ import annotations

from ..ops import OpKind

_FOLLOW = (OpKind.BN, OpKind.ACT)


def _only_consumer(graph, name):
    out = graph.consumers(name)
    return out[0] if len(out) == 1 else None


def _block(graph, dw: str) -> list | None:
    chain, cur = [dw], dw
    p = graph.inputs(dw)[0]
    while graph.op(p).kind in _FOLLOW and _only_consumer(graph, p) == cur:
        chain.insert(0, p)
        cur, p = p, graph.inputs(p)[0]
    if graph.op(p).kind is OpKind.POINTWISE and _only_consumer(graph, p) == cur:
        chain.insert(0, p)
        block_input = graph.inputs(p)[0]
    else:                            # no expansion (t = 1): the block starts at the depthwise
        chain, block_input = [dw], graph.inputs(dw)[0]
    node = dw
    while True:                                  # forward to the projection
        nxt = _only_consumer(graph, node)
        if nxt is None:
            return None
        chain.append(nxt)
        if graph.op(nxt).kind is OpKind.POINTWISE:
            break
        if graph.op(nxt).kind not in _FOLLOW:
            return None
        node = nxt
    node = chain[-1]
    while True:                                  # its BN, then the residual add
        nxt = _only_consumer(graph, node)
        if nxt is None:
            break
        if graph.op(nxt).kind is OpKind.BN:
            chain.append(nxt)
            node = nxt
            continue
        if graph.op(nxt).kind is OpKind.ADD and block_input in graph.inputs(nxt):
            chain.append(nxt)
        break
    return chain


def mark_streams(graph) -> int:
    """Set `stream_group` on the ops of every inverted-residual block; the number of blocks."""
    blocks = 0
    for name in graph.names:
        op = graph.op(name)
        if op.kind is not OpKind.DEPTHWISE or op.stream_group is not None:
            continue
        chain = _block(graph, name)
        if not chain:
            continue
        blocks += 1
        group = f"{op.layer}#stream"
        for n in chain:
            graph.nodes[n]["op"] = _in_group(graph.op(n), group)
    return blocks


def _in_group(op, group: str):
    """`dataclasses.replace(op, stream_group=group)` without replace's per-call field
    introspection (Op: every field an __init__ field, no __post_init__; tests/
    test_import_speedups.py compares the two)."""
    new = object.__new__(type(op))
    new.__dict__.update(op.__dict__)
    new.__dict__["stream_group"] = group
    return new
