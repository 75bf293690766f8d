"""Activation-memory schedules over the op-graph: the live set while each op runs.

naive: ops run one by one in topological order; a tensor is live from the op that makes it
  to its last consumer (residual inputs included). BN and activations run in place on their
  conv's output (they fuse at inference), so they add no tensor.
streamed: MobileNetV2 Sec. 5.1 "memory efficient inference": inside an inverted-residual
  block the expanded tensors are computed in slices and never fully materialised, so a
  block costs only its input and output: the block is scheduled as one step and tensors
  made and consumed only inside it count zero.
"""
from __future__ import annotations

from ..ops import numel, rule_for


def tensors(graph):
    """node -> the node that owns its buffer (in-place ops alias their input)."""
    owner = {}
    for name in graph.names:
        op = graph.op(name)
        owner[name] = owner[graph.inputs(name)[0]] if rule_for(op).inplace else name
    return owner


def live_sets(graph, bytes_per_elem: int):
    """Per node: (bytes materialised by it, live bytes naive, live bytes streamed)."""
    names = graph.names
    index = {n: i for i, n in enumerate(names)}
    owner = tensors(graph)
    size = {n: numel(graph.shape(n)) * bytes_per_elem for n in names if owner[n] == n}

    step = dict(index)                      # streamed schedule: a block is one step
    last_in_group = {}
    for n in names:
        group = graph.op(n).stream_group
        if group is not None:
            last_in_group[group] = index[n]
    for n in names:
        group = graph.op(n).stream_group
        if group is not None:
            step[n] = last_in_group[group]

    consumers = {t: [] for t in size}
    for n in names:
        for u in graph.inputs(n):
            consumers[owner[u]].append(n)
    end = len(names) - 1
    outputs = {owner[o] for o in graph.outputs()}

    def span(t, position):
        last = max((position[c] for c in consumers[t]), default=position[t])
        return position[t], (end if t in outputs else last)

    naive_spans = {t: span(t, index) for t in size}
    streamed_spans = {t: span(t, step) for t in size}
    streamed_size, internal = {}, set()
    for t in size:
        group = graph.op(t).stream_group
        is_internal = (group is not None and t not in outputs and consumers[t]
                    and all(graph.op(c).stream_group == group for c in consumers[t]))
        if is_internal:
            internal.add(t)
        streamed_size[t] = 0 if is_internal else size[t]

    rows = {}
    for n in names:
        i, s = index[n], step[n]
        naive = sum(size[t] for t, (a, b) in naive_spans.items() if a <= i <= b)
        streamed = sum(streamed_size[t] for t, (a, b) in streamed_spans.items()
                       if a <= s <= b and t not in internal)
        rows[n] = (size.get(n, 0), naive, streamed)
    return rows
