"""ONNX operators -> archcalc op kinds: the mapping of a `capture_onnx` graph.

Covers the operators torch.onnx's exporter (dynamo=True, with or without optimize) emits for
torchvision's classification models: Conv, Gemm, MatMul, BatchNormalization,
LayerNormalization, Relu / Clip / HardSwish / HardSigmoid / Sigmoid / Gelu / Tanh, Add / Mul /
Sub / Div, MaxPool / AveragePool / GlobalAveragePool / ReduceMean, Concat, Split /
SplitToSequence + SequenceAt, Softmax, and the data-movement operators (Reshape, Transpose,
Flatten, Squeeze, Unsqueeze, Gather, Slice, Expand, Identity, Dropout, Cast) as free views;
LeakyRelu, SpaceToDepth (YOLOv2) and a constant Pad (a copy, no arithmetic); GatherND and
Where of one activation (a copy: torch.onnx writes an adaptive average pool whose output
does not divide its input as index gathers, masked fills, adds and a division); ReduceL2 /
LpNormalization only as F.normalize times a per-channel scale (SSD's L2Norm, l2norm.py).
Shape plumbing (Shape, Constant, ... on initializers) reads no activation and leaves no node.
A Conv's bias counts only when it is an initializer (optimize=False adds a runtime zero bias
built by Expand / CastLike: not a parameter). MatMul with an initializer as its right operand
is a linear layer (its bias, a following Add, is a PARAM operand there).
"""
from __future__ import annotations

from ..ops import OpKind
from . import l2norm
from .to_graph import Unsupported, strip

ACTIVATIONS = {"Relu": "relu", "Clip": "clip", "HardSwish": "hswish", "HardSigmoid": "hsigmoid",
               "Sigmoid": "sigmoid", "Gelu": "gelu", "Tanh": "tanh", "Elu": "elu", "Selu": "selu",
               "Softplus": "softplus", "Mish": "mish", "Celu": "celu", "Sqrt": "sqrt",
               "Reciprocal": "reciprocal", "Neg": "neg", "Exp": "exp", "Log": "log",
               "Abs": "abs", "Erf": "erf", "Pow": "pow", "LeakyRelu": "leaky_relu"}
VIEWS = {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Gather", "Slice", "Expand",
         "Identity", "Dropout", "Cast", "CastLike"}
BINARY = {"Add": OpKind.ADD, "Sub": OpKind.ADD, "Mul": OpKind.MUL, "Div": OpKind.MUL}
PLUMBING = {"Shape", "Size", "Constant", "ConstantOfShape"}


def fuse(captured) -> tuple:
    """The captured nodes, ReduceL2 -> Clip -> Expand -> Div -> Mul by a per-channel scale
    (F.normalize times SSD's scale, l2norm.py) as one node."""
    return l2norm.fuse(captured)


def kind_hint(n) -> OpKind | None:
    if n.op == "Conv":
        return OpKind.CONV
    if n.op == "Gemm" or (n.op == "MatMul" and any(t.kind == "parameter" for t in n.inputs)):
        return OpKind.LINEAR
    return None


def _square(values, what: str) -> int:
    values = tuple(values)
    if values and all(v == values[0] for v in values):
        return int(values[0])
    raise Unsupported(f"non-square {what} {values}")


def map_node(b, n) -> None:
    op = n.op
    x = b.activations(n)
    if op in PLUMBING or (op == "CastLike" and (not x or x[0] is not n.inputs[0])):
        return None     # CastLike(constant, x) reads x for its type only: constant plumbing
    if op == l2norm.L2NORM_OP:
        return l2norm.emit(b, n)
    if op in ("ReduceL2", "LpNormalization"):
        raise l2norm.unfused(n)
    if op == "Conv":
        return _conv(b, n)
    if op in ("Gemm", "MatMul"):
        return _matmul(b, n)
    if op == "BatchNormalization":
        w, bias = n.operand("scale"), n.operand("B")
        b.consume(w, bias, norm=True)
        return b.emit(OpKind.BN, [b.node(x[0])])
    if op == "LayerNormalization":
        w, bias = n.operand("Scale"), n.operand("B")
        b.consume(w, bias, norm=True)
        rank = len(x[0].shape)
        axis = n.arg("axis", -1) % rank
        return b.emit(OpKind.NORM, [b.node(x[0])], norm="layer", size=tuple(x[0].shape[axis:]),
                      bias=w is not None and bias is not None)
    if op in ACTIVATIONS:
        return b.emit(OpKind.ACT, [b.node(x[0])], act=ACTIVATIONS[op])
    if op in BINARY:
        nodes = [b.node(t) for t in n.inputs if t.role in ("A", "B")]
        present = [u for u in nodes if u is not None]
        if len(present) == 2:
            return b.emit(BINARY[op], present)
        return b.emit(OpKind.ACT, present, act=f"{op.lower()} const")
    if op in VIEWS:
        return b.emit(OpKind.VIEW, [b.node(x[0])], size=strip(n.outputs[0].shape))
    if op == "Pad" and n.arg("mode", "constant") in ("constant", b"constant"):
        return b.emit(OpKind.COPY, [b.node(x[0])], size=strip(n.outputs[0].shape))
    if op in ("GatherND", "Where"):     # an adaptive pool that does not divide, decomposed
        present = [u for u in (b.node(t) for t in x) if u is not None]
        if len(present) != 1:
            raise Unsupported(f"{op} of {len(present)} activations")
        return b.emit(OpKind.COPY, present, size=strip(n.outputs[0].shape))
    if op == "SpaceToDepth":
        return b.emit(OpKind.SPACE_TO_DEPTH, [b.node(x[0])], stride=n.arg("blocksize"))
    if op in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean"):
        return _pool(b, n, x[0])
    if op == "Concat":
        nodes = [b.node(t) for t in n.inputs]
        if any(u is None for u in nodes):
            raise Unsupported("concatenating a constant")
        return b.emit(OpKind.CONCAT, nodes, axis=_axis(n.arg("axis", 0), n.outputs[0].shape))
    if op == "Split":
        return _split(b, n, x[0], n.outputs)
    if op == "SplitToSequence":
        b.scratch[n.outputs[0].name] = (b.node(x[0]), x[0], n.arg("axis", 0))
        b.node_of[n.outputs[0].name] = b.node(x[0])
        return None
    if op == "SequenceAt":
        src, t, axis = b.scratch[n.operand("input_sequence").name]
        out = n.outputs[0]
        ax = _axis(axis, t.shape)
        return b.emit(OpKind.SLICE, [src], out_ch=out.shape[ax], axis=ax)
    if op == "Softmax":
        return b.emit(OpKind.SOFTMAX, [b.node(x[0])])
    raise Unsupported("")


def _axis(axis: int, shape: tuple) -> int:
    """An axis counted from the end; the batch axis (a leading 1 that is dropped) is refused."""
    rank = len(shape)
    out = axis % rank - rank
    if rank >= 2 and out == -rank and shape[0] == 1:
        raise Unsupported("along the batch axis")
    return out


def _conv(b, n) -> None:
    x, w, bias = n.operand("X"), n.operand("W"), n.operand("B")
    if len(w.shape) != 4:
        raise Unsupported(f"{len(w.shape) - 2}-d convolution")
    k = _square(n.arg("kernel_shape", w.shape[2:]), "kernel")
    s = _square(n.arg("strides", (1, 1)), "stride")
    d = _square(n.arg("dilations", (1, 1)), "dilation")
    if n.arg("auto_pad", "NOTSET") not in ("NOTSET", ""):
        raise Unsupported(f"auto_pad {n.arg('auto_pad')}")
    p = _square(n.arg("pads", (0, 0, 0, 0)), "padding")
    b.conv(x, w, bias, k, s, p, int(n.arg("group", 1)), d)


def _matmul(b, n) -> None:
    a, w = n.operand("A"), n.operand("B")
    bias = n.operand("C")
    if n.arg("transA", 0):
        raise Unsupported("transA")
    if a.kind == "parameter":
        raise Unsupported("a parameter as the left operand")
    if w.kind != "parameter":
        if bias is not None:
            raise Unsupported("Gemm of two activations with a bias")
        return b.emit(OpKind.MATMUL, [b.node(a), b.node(w)])
    if len(w.shape) != 2:
        raise Unsupported(f"a rank-{len(w.shape)} weight")
    out = w.shape[0] if n.arg("transB", 0) else w.shape[1]
    has_bias = bias is not None and bias.kind == "parameter"
    b.consume(w, bias)
    b.emit(OpKind.LINEAR, [b.node(a)], out_ch=out, bias=has_bias)


def _pool(b, n, x) -> None:
    shape = strip(x.shape)
    if len(shape) != 3:
        raise Unsupported(f"pooling a rank-{len(shape)} tensor")
    pool = "max" if "Max" in n.op else "avg"
    if n.op.startswith("Global") or n.op == "ReduceMean":
        if n.op == "ReduceMean" and (len(x.shape) != 4 or
                                     strip(n.outputs[0].shape) not in ((shape[0], 1, 1), (shape[0],))):
            raise Unsupported("a mean over other axes than H and W")
        return b.emit(OpKind.POOL, [b.node(x)], pool=pool, global_pool=True)
    k = _square(n.arg("kernel_shape"), "kernel")
    s = _square(n.arg("strides", (1, 1)), "stride")
    p = _square(n.arg("pads", (0, 0, 0, 0)), "padding")
    d = _square(n.arg("dilations", (1, 1)), "dilation")
    b.emit(OpKind.POOL, [b.node(x)], pool=pool, kernel=k, stride=s, padding=p, dilation=d,
           ceil_mode=bool(n.arg("ceil_mode", 0)))


def _split(b, n, x, outputs) -> None:
    axis = _axis(n.arg("axis", 0), x.shape)
    src = b.node(x)
    start = 0
    for i, out in enumerate(outputs):
        width = out.shape[axis]
        b.emit(OpKind.SLICE, [src], output=i, out_ch=width, start=start, axis=axis)
        start += width
