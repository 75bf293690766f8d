"""PyTorch (ATen) ops -> archcalc op kinds: the mapping of a `capture_torch` graph.

One table, keyed by the op's short name (the overload dropped: "aten.convolution.default" ->
"convolution"), covering both capture levels: the meta-device dispatch trace (what
FlopCounterMode sees: convolution, addmm + t, native_batch_norm, native_layer_norm, mean.dim,
max_pool2d_with_indices, bmm + _safe_softmax for attention on meta) and torch.export's
training IR (conv2d, linear, batch_norm, layer_norm, scaled_dot_product_attention,
adaptive_avg_pool2d, max_pool2d, dropout); F.normalize(x) times a per-channel scale (SSD's
L2Norm, five ops) is fused into one L2NORM op first (l2norm.py). Mapping is by op name and
arguments, never by module class. An op not in the table raises `Unsupported` (the import lists it).
"""
from __future__ import annotations

from ..ops import OpKind
from . import l2norm
from .to_graph import Unsupported, short, strip

ACTIVATIONS = {"relu": "relu", "hardswish": "hswish", "silu": "swish", "sigmoid": "sigmoid",
               "hardsigmoid": "hsigmoid", "gelu": "gelu", "tanh": "tanh", "elu": "elu",
               "selu": "selu", "celu": "celu", "mish": "mish", "softplus": "softplus",
               "relu6": "relu6", "clamp": "clamp", "clamp_min": "clamp", "clamp_max": "clamp",
               "sqrt": "sqrt", "rsqrt": "rsqrt", "reciprocal": "reciprocal", "neg": "neg",
               "exp": "exp", "log": "log", "abs": "abs", "erf": "erf", "pow": "pow",
               "leaky_relu": "leaky_relu"}
VIEWS = {"view", "_unsafe_view", "reshape", "_reshape_alias", "flatten", "unflatten", "permute",
         "transpose", "t", "unsqueeze", "squeeze", "expand", "alias", "detach", "view_as",
         "expand_as", "movedim", "swapaxes", "select", "slice", "narrow", "as_strided",
         "dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout", "identity"}
COPIES = {"clone", "contiguous", "_to_copy", "to", "constant_pad_nd", "pad"}   # pad: a new
#                                   tensor, no arithmetic (NASNet's shifted path pads by one)
CONVS = {"convolution", "conv2d", "_convolution"}
LINEARS = {"linear", "addmm", "mm", "matmul"}
BATCH_NORMS = {"native_batch_norm", "batch_norm", "_native_batch_norm_legit_no_training",
               "_native_batch_norm_legit", "cudnn_batch_norm"}
SOFTMAXES = {"_softmax", "softmax", "_safe_softmax", "log_softmax", "_log_softmax"}
ATTENTIONS = {"scaled_dot_product_attention", "_scaled_dot_product_flash_attention_for_cpu",
              "_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention",
              "_scaled_dot_product_attention_math", "_scaled_dot_product_cudnn_attention"}
BINARY = {"add": OpKind.ADD, "sub": OpKind.ADD, "rsub": OpKind.ADD, "mul": OpKind.MUL,
          "div": OpKind.MUL}
SPLITS = {"split", "split_with_sizes", "chunk", "unbind", "unsafe_split",
          "unsafe_split_with_sizes", "tensor_split"}


def name_of(n) -> str:
    return short(n.op).rstrip("_")


def _pair(value, what: str) -> int:
    """A square window argument (an int or a list of equal ints)."""
    if isinstance(value, int):
        return value
    values = tuple(value)
    if len(values) == 1 or (len(values) == 2 and values[0] == values[1]):
        return int(values[0])
    raise Unsupported(f"non-square {what} {values}")


def _axis(dim: int, shape: tuple) -> int:
    """A captured axis counted from the end; the batch axis (a leading 1 that is dropped) is
    refused."""
    rank = len(shape)
    axis = dim % rank - rank if rank else dim
    if rank >= 2 and axis == -rank and shape[0] == 1:
        raise Unsupported("along the batch axis")
    return axis


# F.interpolate / nn.Upsample (2-d): the upsample rule (no MAdds, as FlopCounterMode counts)
UPSAMPLES = {"upsample_nearest2d": "nearest", "_upsample_nearest_exact2d": "nearest",
             "upsample_bilinear2d": "bilinear"}


NORMS = {"linalg_vector_norm", "norm"}     # an L2 norm alone: only in SSD's L2Norm (l2norm.py)


def fuse(captured) -> tuple:
    """The captured nodes, F.normalize(x) times a per-channel scale as one node (l2norm.py)."""
    return l2norm.fuse(captured)


def kind_hint(n) -> OpKind | None:
    name = name_of(n)
    if name in CONVS:
        return OpKind.CONV
    if name in LINEARS and any(t.kind == "parameter" for t in n.inputs):
        return OpKind.LINEAR
    return None


def map_node(b, n) -> None:
    name = name_of(n)
    x = b.activations(n)
    if n.op == l2norm.L2NORM_OP:
        return l2norm.emit(b, n)
    if name in NORMS:
        raise l2norm.unfused(n)
    if name in CONVS:
        return _conv(b, n)
    if name in LINEARS:
        return _linear(b, n, name)
    if name in BATCH_NORMS:
        w, bias = n.operand("weight"), n.operand("bias")
        if w is None or bias is None:
            raise Unsupported("batch norm without affine parameters")
        b.consume(w, bias, norm=True)
        return b.emit(OpKind.BN, [b.node(x[0])])
    if name in ("native_layer_norm", "layer_norm", "native_group_norm", "group_norm"):
        return _norm(b, n, name)
    if name in ACTIVATIONS or name == "hardtanh":
        act = ACTIVATIONS.get(name, "hardtanh")
        if name == "hardtanh" and (n.arg("min_val"), n.arg("max_val")) == (0, 6):
            act = "relu6"
        return b.emit(OpKind.ACT, [b.node(x[0])], act=act)
    if name in BINARY:
        return _binary(b, n, name)
    if name in VIEWS:
        return b.emit(OpKind.VIEW, [b.node(x[0])], size=strip(n.outputs[0].shape))
    if name == "pixel_unshuffle":     # YOLOv2's passthrough "reorg": b x b blocks to channels
        return b.emit(OpKind.SPACE_TO_DEPTH, [b.node(x[0])], stride=n.arg("downscale_factor"))
    if name in COPIES:
        return b.emit(OpKind.COPY, [b.node(x[0])], size=strip(n.outputs[0].shape))
    if name in ("mean", "adaptive_avg_pool2d", "_adaptive_avg_pool2d", "adaptive_max_pool2d",
                "max_pool2d_with_indices", "max_pool2d", "avg_pool2d"):
        return _pool(b, n, name, x[0])
    if name == "cat":
        return _cat(b, n)
    if name in SPLITS:
        return _split(b, n, x[0])
    if name in ("bmm", "baddbmm"):
        a, m = n.operand("self") or n.operand("batch1"), n.operand("mat2") or n.operand("batch2")
        return b.emit(OpKind.MATMUL, [b.node(a), b.node(m)])
    if name in SOFTMAXES:
        return b.emit(OpKind.SOFTMAX, [b.node(x[0])])
    if name in ATTENTIONS:
        q, k, v = n.operand("query"), n.operand("key"), n.operand("value")
        if n.operand("attn_mask") is not None:
            raise Unsupported("attention with a mask")
        return b.emit(OpKind.ATTENTION, [b.node(q), b.node(k), b.node(v)])
    if name in ("channel_shuffle", "native_channel_shuffle"):
        return b.emit(OpKind.SHUFFLE, [b.node(x[0])], groups=n.arg("groups"))
    if name in UPSAMPLES:
        out = strip(n.outputs[0].shape)
        if len(out) != 3:
            raise Unsupported(f"resampling a rank-{len(out)} tensor")
        return b.emit(OpKind.UPSAMPLE, [b.node(x[0])], size=tuple(out[1:]),
                      mode=UPSAMPLES[name])
    raise Unsupported("")


def _conv(b, n) -> None:
    x, w, bias = n.operand("input"), n.operand("weight"), n.operand("bias")
    if n.arg("transposed"):
        raise Unsupported("transposed convolution")
    if len(w.shape) != 4:
        raise Unsupported(f"{len(w.shape) - 2}-d convolution")
    k = _pair(w.shape[2:], "kernel")
    s = _pair(n.arg("stride", 1), "stride")
    d = _pair(n.arg("dilation", 1), "dilation")
    pad = n.arg("padding", 0)
    p = pad if isinstance(pad, str) else _pair(pad, "padding")
    b.conv(x, w, bias, k, s, p, int(n.arg("groups", 1)), d)


def _linear(b, n, name: str) -> None:
    if name == "linear":
        x, w, bias = n.operand("input"), n.operand("weight"), n.operand("bias")
        out = w.shape[0]
    elif name == "addmm":
        x, w, bias = n.operand("mat1"), n.operand("mat2"), n.operand("self")
        out = w.shape[-1]
    else:       # mm / matmul
        x, w, bias = n.operand("self"), n.operand("mat2") or n.operand("other"), None
        out = w.shape[-1]
    if x.kind == "parameter":
        raise Unsupported("a parameter as the left operand")
    if w.kind != "parameter":
        if name == "addmm" or len(w.shape) < 2:
            raise Unsupported("matrix product with a bias and two activations")
        return b.emit(OpKind.MATMUL, [b.node(x), b.node(w)])
    if len(w.shape) != 2:
        raise Unsupported(f"a rank-{len(w.shape)} weight")
    has_bias = bias is not None and bias.kind == "parameter"
    b.consume(w, bias)
    b.emit(OpKind.LINEAR, [b.node(x)], out_ch=out, bias=has_bias)


def _norm(b, n, name: str) -> None:
    w, bias = n.operand("weight"), n.operand("bias")
    if (w is None) != (bias is None):
        raise Unsupported("a norm with only one of weight and bias")
    b.consume(w, bias, norm=True)
    x = n.operand("input")
    if "layer" in name:
        b.emit(OpKind.NORM, [b.node(x)], norm="layer", size=tuple(n.arg("normalized_shape")),
               bias=w is not None)
    else:
        groups = n.arg("group", n.arg("num_groups"))
        b.emit(OpKind.NORM, [b.node(x)], norm="group", groups=int(groups), bias=w is not None)


def _binary(b, n, name: str) -> None:
    ops = [t for t in n.inputs if t.role in ("self", "other")]
    nodes = [b.node(t) for t in ops]
    present = [u for u in nodes if u is not None]
    if len(present) == 2:
        return b.emit(BINARY[name], nodes if name != "rsub" else nodes[::-1])
    # one activation and a scalar, a buffer or a constant: an element-wise op on it
    return b.emit(OpKind.ACT, present, act=f"{name} const")


def _pool(b, n, name: str, x) -> None:
    shape = strip(x.shape)
    if len(shape) != 3:
        raise Unsupported(f"pooling a rank-{len(shape)} tensor")
    if name == "mean":
        rank = len(x.shape)
        dims = {d % rank for d in (n.arg("dim") or ())}
        if dims != {rank - 2, rank - 1}:
            raise Unsupported(f"mean over axes {sorted(dims)}")
        return b.emit(OpKind.POOL, [b.node(x)], pool="avg", global_pool=True)
    if "adaptive" in name:
        size = tuple(n.arg("output_size"))
        size = size * 2 if len(size) == 1 else size
        pool = "max" if "max" in name else "avg"
        if size == (1, 1):
            return b.emit(OpKind.POOL, [b.node(x)], pool=pool, global_pool=True)
        return b.emit(OpKind.ADAPTIVE_POOL, [b.node(x)], pool=pool, size=size)
    k = _pair(n.arg("kernel_size"), "kernel")
    stride = n.arg("stride") or k
    s = _pair(stride, "stride")
    p = _pair(n.arg("padding", 0), "padding")
    d = _pair(n.arg("dilation", 1), "dilation")
    b.emit(OpKind.POOL, [b.node(x)], pool="max" if "max" in name else "avg", kernel=k, stride=s,
           padding=p, dilation=d, ceil_mode=bool(n.arg("ceil_mode", False)))


def _cat(b, n) -> None:
    tensors = [t for t in n.inputs if t.role == "tensors"]
    nodes = [b.node(t) for t in tensors]
    if any(u is None for u in nodes):
        raise Unsupported("concatenating a buffer or a constant")
    axis = _axis(int(n.arg("dim", 0)), n.outputs[0].shape)
    b.emit(OpKind.CONCAT, nodes, axis=axis)


def _split(b, n, x) -> None:
    rank = len(x.shape)
    axis = _axis(int(n.arg("dim", 0)), x.shape)
    src = b.node(x)
    start = 0
    for i, out in enumerate(n.outputs):
        if len(out.shape) != rank:           # unbind drops the axis: a view each
            b.emit(OpKind.VIEW, [src], output=i, size=strip(out.shape))
            continue
        width = out.shape[axis]
        b.emit(OpKind.SLICE, [src], output=i, out_ch=width, start=start, axis=axis)
        start += width
