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


def _consumers(graph, owner) -> dict:
    """tensor -> the ops that read it (through any in-place alias)."""
    out = {n: [] for n in graph.names if owner[n] == n}
    for n in graph.names:
        for u in graph.inputs(n):
            out[owner[u]].append(n)
    return out


def streamed_internal(graph, owner=None, consumers=None) -> set:
    """Tensors made and read only inside one inverted-residual (or ShuffleNet) block: under
    MobileNetV2 Sec. 5.1 they are computed in slices and never fully materialised."""
    owner = owner or tensors(graph)
    consumers = consumers or _consumers(graph, owner)
    outputs = {owner[o] for o in graph.outputs()}
    internal = set()
    for t, readers in consumers.items():
        group = graph.op(t).stream_group
        if (group is not None and t not in outputs and readers
                and all(graph.op(c).stream_group == group for c in readers)):
            internal.add(t)
    return internal


def live_sets(graph, bytes_per_elem: int):
    """Per node: (bytes materialised by it, live bytes naive, live bytes streamed)."""
    names = graph.names
    index = {n: i for i, n in enumerate(names)}
    owner = tensors(graph)
    size = {n: 0 if rule_for(graph.op(n)).stored else numel(graph.shape(n)) * bytes_per_elem
            for n in names if owner[n] == n}     # a stored tensor (PARAM) is no activation

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

    consumers = _consumers(graph, owner)
    end = len(names) - 1
    outputs = {owner[o] for o in graph.outputs()}

    def span(t, position):
        last = max((position[c] for c in consumers[t]), default=position[t])
        return position[t], (end if t in outputs else last)

    internal = streamed_internal(graph, owner, consumers)
    naive = _live_by_position({t: span(t, index) for t in size}, size, len(names))
    streamed = _live_by_position({t: span(t, step) for t in size if t not in internal}, size,
                                 len(names))
    return {n: (size.get(n, 0), naive[index[n]], streamed[step[n]]) for n in names}


def _live_by_position(spans: dict, size: dict, length: int) -> list:
    """Live bytes at each schedule position: tensors whose [start, end] span covers it
    (a sweep over span starts and ends, linear in the graph's size)."""
    delta: list = [0] * (length + 1)
    for t, (start, end) in spans.items():
        delta[start] = delta[start] + size[t]
        delta[end + 1] = delta[end + 1] - size[t]
    live, running = [], 0
    for position in range(length):
        running = running + delta[position]
        live.append(running)
    return live


def memory_by_resolution(graph, bytes_per_elem: int, first_layer_trick: bool = True) -> dict:
    """MobileNetV2 Table 3's layout: for each spatial size, the largest tensor that must be
    materialised (streamed model) as (channels, bytes), largest size first.

    Tensors inside streamed blocks don't count, nor does the input image; with
    `first_layer_trick` (Table 3's caption: "for the first layer ... we can employ the trick
    described in Section 5") neither does the first layer's output, which is streamed into
    the layer that reads it.
    """
    owner = tensors(graph)
    internal = streamed_internal(graph, owner)
    first = next((n for n in graph.names if owner[n] == n and graph.op(n).kind.value != "input"), None)
    best: dict = {}
    for t in graph.names:
        if owner[t] != t or t in internal or graph.op(t).kind.value == "input" or \
                len(graph.shape(t)) != 3 or rule_for(graph.op(t)).stored:
            continue
        if first_layer_trick and t == first:
            continue
        c, h, w = graph.shape(t)
        size = numel((c, h, w)) * bytes_per_elem
        key = (h, w)
        if key not in best or size > best[key][1]:
            best[key] = (c, size, t)
    return dict(sorted(best.items(), key=lambda kv: -kv[0][0] * kv[0][1]))
