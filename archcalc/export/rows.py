"""An imported model's ArchGraph -> spec rows (`archcalc import`), one row per layer.

Walks the graph in its execution order and writes each op as the row that compiles back to
it (graph/compile.py, graph/tensor_rows.py): a convolution with the BN and activation that
follow it alone becomes one `conv` / `dwconv` / `pwconv` row (norm: none, act: linear and
bias as the model has them); pools, `fc`, and the rows of the ops an imported model is made
of (`bn`, `act`, `add`, `mul`, `concat`, `flatten`, `linear`, `view`, ...; SSD's L2Norm as
`l2norm`). A row whose input
is not the previous row's output says so with `from:`; a tensor read again later gets a
`name:`. The ops of a streamed block (MobileNetV2 Sec. 5.1, imported/stream.py) carry one
`stream_group:` id, so the streamed memory is the model's.

Width: channel counts get `scale: none` where they are tied to an output (the classifier's
classes, a head's logits: a weighted op from which an output is reached through shape-keeping
ops only); the others scale with --width under make_divisible with the largest divisor of
8, 4, 2, 1 that divides them all, so that width 1 is the model exactly.

An op no row can express (an unknown op, a parameter shared by two ops, a second input) is
refused with one line naming the node, its layer and its kind: a spec that would compile to
other numbers is never written.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import OptionError
from ..ops import CONV_KINDS, OpKind, numel
from ..spec.schema import ACTIVATIONS
from .text import unique_name

PASS_THROUGH = (OpKind.BN, OpKind.ACT, OpKind.VIEW, OpKind.COPY, OpKind.UPSAMPLE,
                OpKind.SOFTMAX, OpKind.POOL, OpKind.ADAPTIVE_POOL, OpKind.L2NORM)
WEIGHTED = (*CONV_KINDS, OpKind.LINEAR, OpKind.FC)
MERGES = {OpKind.ADD: "add", OpKind.MUL: "mul", OpKind.CONCAT: "concat",
          OpKind.MATMUL: "matmul", OpKind.ATTENTION: "attention"}


@dataclass
class Row:
    """One emitted row: its keys in order, the nodes it compiles to, its section and a comment."""
    keys: dict
    nodes: list
    section: str
    comment: str = ""
    name: str | None = None

    @property
    def output(self) -> str:
        return self.nodes[-1]


@dataclass
class Emitted:
    rows: list = field(default_factory=list)
    divisor: int = 1


def refuse(graph, node: str, why: str):
    op = graph.op(node)
    raise OptionError(f"cannot write node {node} (layer {op.layer or '<root>'}, op {op.kind}) "
                      f"as a spec row: {why}")


def _tied_to_output(graph) -> set:
    """Weighted ops an output is reached from through shape-keeping ops only."""
    tied = set()
    for out in graph.outputs():
        stack = [out]
        seen = set()
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            op = graph.op(n)
            if op.kind in WEIGHTED:
                tied.add(n)
            elif op.kind in PASS_THROUGH:
                stack.extend(graph.inputs(n))
    return tied


def _chain(graph, order, i: int, conv: str) -> list:
    """The conv at order[i] with the BN and the activation right after it that read it alone."""
    members, cur = [conv], conv
    group = graph.op(conv).stream_group
    j = i + 1
    for want in (OpKind.BN, OpKind.ACT):
        if j >= len(order):
            break
        nxt = order[j]
        op = graph.op(nxt)
        if op.kind is want and graph.inputs(nxt) == (cur,) and graph.consumers(cur) == [nxt] \
                and op.stream_group == group and \
                (want is OpKind.BN or (op.act in ACTIVATIONS and op.act != "linear")):
            members.append(nxt)
            cur = nxt
            j += 1
    return members


def _conv_keys(graph, members: list, tied: set) -> dict:
    conv = graph.op(members[0])
    kinds = [graph.op(m).kind for m in members]
    norm = "bn" if OpKind.BN in kinds else "none"
    act = graph.op(members[-1]).act if kinds[-1] is OpKind.ACT else "linear"
    c_in = graph.shape(graph.inputs(members[0])[0])[0]
    if conv.kind is OpKind.DEPTHWISE:
        keys = {"op": "dwconv", "k": conv.kernel}
    elif conv.kind is OpKind.POINTWISE and conv.stride == 1 and \
            conv.padding in (0, "same", "valid"):
        keys = {"op": "pwconv", "c": conv.out_ch}
    else:
        keys = {"op": "conv", "c": conv.out_ch, "k": conv.kernel}
    if keys["op"] != "pwconv":
        if conv.stride != 1:
            keys["s"] = conv.stride
        keys["padding"] = conv.padding
        if conv.dilation != 1:
            keys["dilation"] = conv.dilation
    if conv.groups != 1 and keys["op"] != "dwconv":
        keys["groups"] = conv.groups
    if conv.kind is OpKind.DEPTHWISE and not (conv.groups == c_in == conv.out_ch):
        refuse(graph, members[0], "a depthwise conv whose groups differ from its channels")
    keys["act"] = act
    if norm == "none":
        keys["norm"] = "none"
    if conv.bias != (norm == "none"):
        keys["bias"] = conv.bias
    if members[0] in tied and "c" in keys:
        keys["scale"] = "none"
    return keys


def _single_keys(graph, n: str, tied: set) -> dict:
    op = graph.op(n)
    k = op.kind
    ins = graph.inputs(n)
    in_shape = graph.shape(ins[0]) if ins else ()
    shape = graph.shape(n)
    if k is OpKind.BN:
        return {"op": "bn"}
    if k is OpKind.ACT:
        return {"op": "act", "fn": op.act}
    if k is OpKind.SOFTMAX:
        return {"op": "softmax"}
    if k in (OpKind.VIEW, OpKind.COPY):
        word = "view" if k is OpKind.VIEW else "copy"
        if k is OpKind.VIEW and len(in_shape) > 1 and tuple(shape) == (numel(in_shape),):
            return {"op": "flatten"}
        if tuple(shape) == tuple(in_shape):
            return {"op": word}
        if numel(shape) != numel(in_shape):  # a selection (select, narrow, expand), a padding
            return {"op": word, "shape": list(shape), "expects": list(in_shape)}
        return {"op": word, "shape": list(shape)}
    if k is OpKind.SHUFFLE:
        return {"op": "shuffle", "groups": op.groups}
    if k is OpKind.SPACE_TO_DEPTH:
        return {"op": "space_to_depth", "block": op.stride}
    if k is OpKind.L2NORM:
        if len(in_shape) != 3:
            refuse(graph, n, f"an L2 normalisation of a rank-{len(in_shape)} tensor")
        return {"op": "l2norm"} if op.affine else {"op": "l2norm", "affine": False}
    if k is OpKind.SLICE:
        total = in_shape[op.axis]
        if op.out_ch <= 0 or total % op.out_ch or op.start % op.out_ch:
            refuse(graph, n, f"a slice of {op.out_ch} from {op.start} is not an equal part of "
                             f"{total}")
        keys = {"op": "slice", "index": op.start // op.out_ch, "parts": total // op.out_ch}
        if op.axis != -3:
            keys["axis"] = op.axis
        return keys
    if k is OpKind.LINEAR:
        keys = {"op": "linear", "c": op.out_ch}
        if not op.bias:
            keys["bias"] = False
        if n in tied:
            keys["scale"] = "none"
        return keys
    if k is OpKind.FC:
        keys = {"op": "fc", "c": op.out_ch}
        if not op.bias:
            keys["bias"] = False
        if n not in tied:
            keys["scale"] = "all"
        return keys
    if k is OpKind.NORM:
        if op.norm == "layer":
            axes = len(op.size)
            if tuple(in_shape[-axes:]) != tuple(op.size):
                refuse(graph, n, f"a layer norm over {list(op.size)} of {list(in_shape)}")
            keys = {"op": "layernorm", "axes": axes}
        else:
            keys = {"op": "groupnorm", "groups": op.groups}
        if not op.bias:
            keys["affine"] = False
        return keys
    if k is OpKind.ADAPTIVE_POOL:
        oh, ow = op.size
        return {"op": f"adaptive_{op.pool}pool", "size": oh if oh == ow else [oh, ow]}
    if k is OpKind.POOL and op.global_pool and len(shape) == 1:
        if op.pool != "avg" or op.written_as != "module":
            refuse(graph, n, f"a global {op.pool} pool to {list(shape)}")
        return {"op": "mean"}
    if k is OpKind.POOL:
        keys = {"op": f"{op.pool}pool"}
        if op.global_pool:
            keys["global"] = True
        else:
            if op.dilation != 1:
                refuse(graph, n, "a dilated pooling window")
            keys.update(k=op.kernel, s=op.stride, padding=op.padding)
            if op.ceil_mode:
                keys["ceil_mode"] = True
        if op.written_as != "module":
            keys["written_as"] = op.written_as
        return keys
    if k is OpKind.PARAM:
        return {"op": "param", "shape": list(op.size)}
    if k is OpKind.UPSAMPLE:
        return {"op": "upsample", "mode": op.mode}      # the size is wired in emit_rows
    refuse(graph, n, f"no spec row writes a '{k}' op")


def emit_rows(graph, readable: bool = True) -> Emitted:
    """The rows of `graph` (an imported model's ArchGraph), in its execution order; with
    `readable`, inverted-residual blocks as `bottleneck` rows and repeats as `n`
    (export/blocks.py)."""
    order = graph.names
    inputs = [n for n in order if graph.op(n).kind is OpKind.INPUT]
    if inputs != [order[0]]:
        refuse(graph, inputs[-1] if inputs else order[0], "a spec has one input, first")
    tied = _tied_to_output(graph)
    rows: list = []
    row_of: dict = {}
    streams: dict = {}
    i = 1
    while i < len(order):
        n = order[i]
        op = graph.op(n)
        if op.reused:
            refuse(graph, n, "it shares a parameter with an earlier op")
        if op.kind is OpKind.UNKNOWN:
            refuse(graph, n, f"archcalc has no rule for it ({op.act})")
        if op.kind in CONV_KINDS:
            members = _chain(graph, order, i, n)
            keys = _conv_keys(graph, members, tied)
        else:
            members = [n]
            keys = MERGES.get(op.kind) and {"op": MERGES[op.kind]} or _single_keys(graph, n, tied)
            if op.kind is OpKind.CONCAT and op.axis != -3:
                keys["axis"] = op.axis
        if op.stream_group is not None:
            keys["stream_group"] = streams.setdefault(op.stream_group, f"s{len(streams) + 1}")
        # a top-level nn.Sequential's children (blocks "0", "1", ...) share one section
        section = "layers" if not op.block or op.block.isdigit() else op.block
        row = Row(keys=keys, nodes=members, section=section, comment=op.layer)
        for m in members:
            row_of[m] = row
        rows.append((row, graph.inputs(n)))
        i += len(members)
    if not readable:
        return _wire(graph, rows, row_of)
    from .blocks import bottlenecks, repeats
    rows = bottlenecks(graph, rows)
    row_of = {m: row for row, _ in rows for m in row.nodes}
    out = _wire(graph, rows, row_of)
    out.rows = repeats(out.rows)
    return out


def _wire(graph, rows: list, row_of: dict) -> Emitted:
    """`from`, `of`, `to` and `name` keys: every operand a row reads is the previous row's
    output, the input, or a named earlier row."""
    taken: set = set()
    out = Emitted()

    def ref(node: str, reader) -> str:
        if graph.op(node).kind is OpKind.INPUT:
            return "input"
        owner = row_of[node]
        if owner.output != node:
            refuse(graph, node, "a later op reads it from inside a fused conv row")
        if owner.name is None:
            owner.name = unique_name(owner.comment or owner.output, taken, prefix="t_", empty="t",
                                     reserved=("input",))
        return owner.name

    previous = graph.names[0]
    for row, ins in rows:
        op = graph.op(row.nodes[0])
        if op.kind in MERGES:
            row.keys = {"op": row.keys["op"], "of": [ref(u, row) for u in ins],
                        **{k: v for k, v in row.keys.items() if k != "op"}}
        elif ins and ins[0] != previous:
            row.keys = {"op": row.keys["op"], "from": ref(ins[0], row),
                        **{k: v for k, v in row.keys.items() if k != "op"}}
        if op.kind is OpKind.UPSAMPLE:
            _, h, w = graph.shape(row.nodes[0])
            target = _same_size(graph, out.rows, h, w)
            if target is None:
                row.keys["size"] = h if h == w else [h, w]
            else:
                row.keys["to"] = ref(target, row)
        out.rows.append(row)
        previous = row.output
    scaled = [r.keys["c"] for r in out.rows if "c" in r.keys and
              r.keys.get("scale", "none" if r.keys["op"] == "fc" else "all") != "none"]
    out.divisor = next((d for d in (8, 4, 2) if all(c % d == 0 for c in scaled)), 1)
    return out


def _same_size(graph, rows: list, h, w):
    """The latest earlier tensor (the input first) with spatial size h x w."""
    first = graph.names[0]
    if tuple(graph.shape(first)[1:]) == (h, w):
        return first
    for row in reversed(rows):
        shape = graph.shape(row.output)
        if len(shape) == 3 and tuple(shape[1:]) == (h, w):
            return row.output
    return None
