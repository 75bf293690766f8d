"""F.normalize over channels times a per-channel scale -> one L2NORM op, for both op maps.

SSD's L2Norm (Liu et al. 2016, arXiv:1512.02325, Sec. 3.1, after ParseNet) L2-normalises
conv4_3 over the channels at each position and multiplies by a learned per-channel scale;
torchvision's ssd.py writes it `self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)`, which
the captures record as a chain of five ops:

* ATen (dispatch trace and torch.export): linalg_vector_norm(x, ord=2, dim=[1], keepdim=True)
  -> clamp_min(eps) -> expand / expand_as (to x's shape) -> div(x, .) -> mul by the scale;
* ONNX (torch.onnx, dynamo): ReduceL2(x, axes=[1], keepdims=1) -> Clip(min=eps) (or Max) ->
  Expand -> Div(x, .) -> Mul by the scale; the Expand may be absent, and LpNormalization(axis=1,
  p=2) stands for the first four.

`fuse(captured)` replaces each such chain by one node `L2NORM_OP` (operands "input": x,
"weight": the scale) at the chain's last position, when every intermediate tensor is read by
the next op of the chain alone (and is not a graph output) and the scale is a parameter (or a
view of one) of C elements shaped [1, C, 1, 1] or [C, 1, 1]. The op maps emit it as
OpKind.L2NORM, whose rule (archcalc/ops/resample_rules.py) is the spec's `l2norm` row: the C
weights counted once, no MAdds, 3 element-wise ops per element, a new tensor. F.normalize
whose result is not read by such a scale product alone is an L2NORM without `affine` (the row
`{op: l2norm, affine: false}`: no weights, 2 per element); what reads it is imported as
captured (a product by another parameter: a `mul` and its `param`). Anything else is left as
captured and never guessed: a norm over another axis, p != 2, without keepdim, or not followed
by the clamp and division of F.normalize is an unknown op (`unfused` says why).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ..capture.records import CapturedNode
from ..ops import OpKind
from .to_graph import Unsupported, short

L2NORM_OP = "archcalc.l2norm"
NOT_FUSED = "not part of F.normalize(x, dim=1)"


def _name(n) -> str:
    return short(n.op).rstrip("_") if n.op.startswith("aten.") else n.op


# -- the first op of a chain: an L2 norm over the channel axis --------------------------------
def norm_problem(n) -> str | None:
    """Why node `n` (an ATen norm, ONNX ReduceL2 / LpNormalization) is not an L2 norm over the
    channels of a 1 x C x H x W tensor that keeps its dimensions; None when it is one."""
    x = n.inputs[0] if n.inputs else None
    if x is None or len(x.shape) != 4 or x.shape[0] != 1:
        return "a norm of a tensor that is not 1 x C x H x W"
    name = _name(n)
    if name == "LpNormalization":
        p, axis = n.arg("p", 2), n.arg("axis", -1)
        return f"p={p}" if p != 2 else None if axis % 4 == 1 else f"over axis {axis}"
    if name == "ReduceL2":
        out = n.outputs[0].shape if n.outputs else ()
        if not n.arg("keepdims", 1):
            return "without keepdims"
        # axes of size 1 (batch) reduce nothing: the shapes tell the channel norm exactly
        return None if tuple(out) == (1, 1, *x.shape[2:]) else f"to shape {list(out)}"
    p = n.arg("ord", n.arg("p", 2))
    if p != 2:
        return f"ord={p}"
    dims = n.arg("dim")
    dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
    if {d % 4 for d in dims} != {1}:
        return f"over axes {list(dims)}" if dims else "over all axes"
    if not n.arg("keepdim", False):
        return "without keepdim"
    if n.arg("dtype") is not None:
        return "with a dtype"
    return None


def _is_norm(n) -> bool:
    return _name(n) in ("linalg_vector_norm", "norm", "ReduceL2", "LpNormalization")


def _is_clamp(n) -> bool:
    name = _name(n)
    if name == "clamp_min":
        return True
    if name == "clamp":
        return n.arg("max") is None and n.operand("max") is None
    if name == "Clip":
        return n.operand("max") is None and n.arg("max") is None
    return name == "Max" and len(n.inputs) == 2 and n.inputs[1].kind == "constant"


def _operands(n) -> list:
    """The two operands of a binary op, in order."""
    return [t for t in n.inputs if t.role in ("self", "other", "A", "B")]


def _type_only(n, t) -> bool:
    """Whether node `n` reads tensor `t` for its shape or type only (ONNX Shape, CastLike's
    target_type: the exporter casts the clamp's eps like the norm)."""
    return _name(n) in ("Shape", "Size", "shape", "size", "sym_size") or \
        (_name(n) == "CastLike" and t.role == "target_type")


def _same_shape(shape, like) -> bool:
    """`shape` is `like`'s, where shape inference left a dimension unknown (-1) too."""
    return len(shape) == len(like) and all(d in (e, -1) for d, e in zip(shape, like))


class _Walk:
    """Readers of every tensor and the tensors computed from one parameter alone."""

    def __init__(self, captured):
        nodes = captured.nodes
        self.readers: dict = {}
        for i, n in enumerate(nodes):
            for t in n.inputs:
                if not _type_only(n, t):
                    self.readers.setdefault(t.name, []).append(i)
        self.outputs = Counter(t.name for t in captured.outputs)
        live = {t.name for t in captured.inputs}
        self.param: dict = {}          # tensor name -> the parameter it is (a view of)
        for n in nodes:
            if any(t.name in live for t in n.inputs):
                live.update(t.name for t in n.outputs)
                continue
            read = {t.param or t.name if t.kind == "parameter" else self.param[t.name]
                    for t in n.inputs if t.kind == "parameter" or t.name in self.param}
            if len(read) == 1 and _name(n) not in ("shape", "size", "Shape", "Size"):
                self.param.update((t.name, next(iter(read))) for t in n.outputs)
        self.nodes = nodes

    def next(self, t):
        """(index, node) of the one reader of tensor `t`, or None."""
        if self.outputs[t.name]:
            return None
        readers = self.readers.get(t.name, [])
        if len(readers) != 1:
            return None
        return readers[0], self.nodes[readers[0]]

    def is_param(self, t) -> bool:
        return t.kind == "parameter" or t.name in self.param


def _chain(walk, i: int, n) -> tuple | None:
    """(indices of the chain starting at norm node `n` (index i), the scale operand or None):
    the chain ends at the scale product, or at the division when no per-channel scale product
    alone reads the normalised tensor; None when the normalisation is not there."""
    if norm_problem(n) is not None:
        return None
    x = n.inputs[0]
    c = x.shape[1]
    members, cur = [i], n
    if _name(n) != "LpNormalization":
        step = walk.next(cur.outputs[0])
        if step is None or not _is_clamp(step[1]) or step[1].inputs[0].name != cur.outputs[0].name:
            return None
        members.append(step[0])
        cur = step[1]
        step = walk.next(cur.outputs[0])
        if step is not None and _name(step[1]) in ("expand", "expand_as", "Expand") and \
                _same_shape(step[1].outputs[0].shape, x.shape):
            members.append(step[0])
            cur = step[1]
            step = walk.next(cur.outputs[0])
        if step is None or _name(step[1]) not in ("div", "Div"):
            return None
        ops = _operands(step[1])
        if len(ops) != 2 or ops[0].name != x.name or ops[1].name != cur.outputs[0].name:
            return None
        members.append(step[0])
        cur = step[1]
    step = walk.next(cur.outputs[0])
    if step is None or _name(step[1]) not in ("mul", "Mul"):
        return members, None
    ops = _operands(step[1])
    scale = [t for t in ops if t.name != cur.outputs[0].name]
    if len(ops) != 2 or len(scale) != 1 or not walk.is_param(scale[0]) or \
            tuple(scale[0].shape) not in ((1, c, 1, 1), (c, 1, 1)) or \
            tuple(step[1].outputs[0].shape) != tuple(x.shape):
        return members, None
    return members + [step[0]], scale[0]


def fuse(captured) -> tuple:
    """The captured nodes with each L2-normalisation-and-scale chain replaced by one
    `L2NORM_OP` node."""
    if not any(_is_norm(n) for n in captured.nodes):
        return captured.nodes
    walk = _Walk(captured)
    drop, fused = set(), {}
    for i, n in enumerate(captured.nodes):
        if i in drop or not _is_norm(n):
            continue
        chain = _chain(walk, i, n)
        if chain is None:
            continue
        members, scale = chain
        x = replace(n.inputs[0], role="input")
        drop.update(members)
        fused[members[-1]] = CapturedNode(
            name=f"{n.name}_l2norm", op=L2NORM_OP,
            inputs=(x,) if scale is None else (x, replace(scale, role="weight")),
            outputs=captured.nodes[members[-1]].outputs, module=n.module,
            module_type=n.module_type, module_stack=n.module_stack)
    return tuple(fused[i] if i in fused else n for i, n in enumerate(captured.nodes)
                 if i not in drop or i in fused)


def emit(b, n) -> str:
    """The L2NORM op of a fused node: the scale is the rule's C weights; without one, an
    L2NORM without `affine` (F.normalize alone: no weights)."""
    x, scale = n.operand("input"), n.operand("weight")
    if scale is not None:
        if scale.kind != "parameter":
            raise Unsupported("an L2 normalisation scaled by an activation")
        b.consume(scale, None)
    return b.emit(OpKind.L2NORM, [b.node(x)], short_name="l2norm", affine=scale is not None)


def unfused(n) -> Unsupported:
    """The error of a norm op left alone: the reason it is not SSD's L2Norm."""
    return Unsupported(norm_problem(n) or NOT_FUSED)
