"""Primitive ops of the op-graph and the one registry of their rules.

Each op kind has exactly one rule object, holding its shape rule, parameters, multiply-adds
(MAdds: the papers' multiply-accumulates of convolutions and fully-connected layers),
element-wise op count and whether it runs in place. Rules are pure: they see an `Op` and
the input shapes (exact ints or sympy expressions), never a tensor or a module. An op kind
without a rule raises UnsupportedOpError; it is never counted as zero.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, NamedTuple

from . import rounding
from .errors import DuplicateRuleError, UnsupportedOpError


class OpKind(str, Enum):
    INPUT = "input"
    CONV = "conv"                  # dense k x k convolution
    GROUPED_CONV = "grouped_conv"  # k x k convolution with 1 < groups < channels
    DEPTHWISE = "depthwise"        # groups == in channels == out channels
    POINTWISE = "pointwise"        # 1 x 1 convolution (groups allowed)
    BN = "bn"
    ACT = "act"
    POOL = "pool"
    ADD = "add"
    MUL = "mul"           # element-wise product with a per-channel gate (squeeze-and-excitation)
    SLICE = "slice"       # a range of channels (ShuffleNetV2's channel split): a view
    CONCAT = "concat"     # along channels
    SHUFFLE = "shuffle"   # ShuffleNet channel shuffle (a permutation of channels)
    SHIFT = "shift"       # shift by one pixel: pad right/bottom, drop the first row/column
    FC = "fc"
    UPSAMPLE = "upsample"          # bilinear / nearest resampling to a size or by a factor
    SPACE_TO_DEPTH = "space_to_depth"   # YOLOv2's passthrough "reorg": b x b blocks to channels
    L2NORM = "l2norm"              # SSD's conv4_3 L2 normalisation with a per-channel scale

    def __str__(self) -> str:
        return self.value


CONV_KINDS = (OpKind.CONV, OpKind.GROUPED_CONV, OpKind.DEPTHWISE, OpKind.POINTWISE)


@dataclass(frozen=True)
class Op:
    """One node of the op-graph. Channel fields may be ints or sympy expressions."""
    kind: OpKind
    name: str                 # node path, e.g. "bottlenecks.1.0.expand.conv"
    layer: str                # the layer this primitive belongs to, e.g. "bottlenecks.1.0.expand"
    block: str                # top-level section of the spec, e.g. "bottlenecks"
    line: int | None = None   # spec line the op comes from (for error messages)
    out_ch: Any = None        # conv / fc output channels; input: image channels
    kernel: int = 1
    stride: int = 1
    padding: str | int = "same"
    groups: Any = 1
    bias: bool = False
    act: str | None = None    # ACT: one of spec.schema.ACTIVATIONS
    start: Any = 0            # SLICE: first channel (out_ch channels from there)
    pool: str | None = None   # POOL: avg | max
    global_pool: bool = False
    stream_group: str | None = None  # inverted-residual block whose inner tensors stream (Sec. 5.1)
    written_as: str = "module"  # how PyTorch code writes it (module | functional | mean): peer
                                # tools count by module type (archcalc.cost.peers)
    dilation: int = 1         # conv: atrous rate (DeepLab); the kernel spans dilation*(k-1)+1
    ceil_mode: bool = False   # POOL: torch's ceil_mode output-size rule
    size: Any = None          # UPSAMPLE: output (H, W), or None for `factor`
    factor: int = 1           # UPSAMPLE: scale factor when no size
    mode: str | None = None   # UPSAMPLE: bilinear | nearest

    @property
    def label(self) -> str:
        """Short human description, e.g. "conv 3x3/2", "relu6", "avgpool global"."""
        k = self.kind
        if k in CONV_KINDS:
            name = {OpKind.CONV: "conv", OpKind.GROUPED_CONV: "gconv", OpKind.DEPTHWISE: "dwconv",
                    OpKind.POINTWISE: "pwconv"}[k]
            text = f"{name} {self.kernel}x{self.kernel}" + (f"/{self.stride}" if self.stride != 1 else "")
            if k is OpKind.GROUPED_CONV or (k is OpKind.POINTWISE and self.groups != 1):
                text += f" g{self.groups}"
            if self.dilation != 1:
                text += f" d{self.dilation}"
            return text
        if k is OpKind.ACT:
            return str(self.act)
        if k is OpKind.SHUFFLE:
            return f"shuffle g{self.groups}"
        if k is OpKind.SLICE:
            return "channel split"     # structural: the same at every width
        if k is OpKind.MUL:
            return "scale"
        if k is OpKind.POOL:
            size = "global" if self.global_pool else f"{self.kernel}x{self.kernel}/{self.stride}"
            return f"{self.pool}pool {size}" + (" ceil" if self.ceil_mode else "")
        if k is OpKind.UPSAMPLE:
            return f"{self.mode} " + (f"x{self.factor}" if self.size is None else "resize")
        if k is OpKind.SPACE_TO_DEPTH:
            return f"space_to_depth {self.stride}"
        return k.value


Shape = tuple  # (C, H, W); entries are ints or sympy expressions


class Cost(NamedTuple):
    """Per-op counts. params = weights + bias; BN affine parameters are kept apart."""
    weights: Any = 0
    bias: Any = 0
    bn_params: Any = 0
    madds: Any = 0
    elementwise: Any = 0


@dataclass(frozen=True)
class Rule:
    shape: Callable[[Op, list], Shape]
    cost: Callable[[Op, list, Shape], Cost]
    inplace: bool = False     # output aliases the input (BN and activations fuse into their conv)
    arity: int = 1            # number of inputs; 0 for the input node, None for any >= 2


RULES: dict[OpKind, Rule] = {}


def rule(*kinds: OpKind, inplace: bool = False, arity: int | None = 1):
    """Register one rule object for `kinds`; a second registration is an error."""
    def register(cls):
        for kind in kinds:
            if kind in RULES:
                raise DuplicateRuleError(f"duplicate rule for op kind {kind}")
            RULES[kind] = Rule(shape=cls.shape, cost=cls.cost, inplace=inplace, arity=arity)
        return cls
    return register


def rule_for(op: Op) -> Rule:
    try:
        return RULES[op.kind]
    except KeyError:
        raise UnsupportedOpError(f"no cost rule for op kind '{op.kind}' (node {op.name})") from None


def numel(shape: Shape):
    c, h, w = shape
    return c * h * w


def _spatial(size, kernel: int, stride: int, padding, dilation: int = 1, ceil_mode: bool = False):
    if isinstance(size, int):
        return rounding.spatial_out(size, kernel, stride, padding, dilation, ceil_mode)
    from . import symbolic
    return symbolic.spatial_out(size, kernel, stride, padding, dilation, ceil_mode)


def _exact_div(a, b):
    """a / b where b divides a (checked by the compiler on concrete points)."""
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    return a / b


@rule(OpKind.INPUT, arity=0)
class InputRule:
    """The image: C x r x r; no cost, its tensor is live until first consumed."""
    @staticmethod
    def shape(op, inputs):
        raise AssertionError("the input node's shape is set by the compiler")

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(*CONV_KINDS)
class ConvRule:
    """weights = c_out * (c_in / g) * k^2, bias = c_out; MAdds = weights * h_out * w_out.
    A dilated (atrous) conv has the same weights and MAdds per output position; its kernel
    spans dilation * (k - 1) + 1 pixels for the spatial rule (DeepLab, Chen et al. 2017)."""
    @staticmethod
    def shape(op, inputs):
        _, h, w = inputs[0]
        return (op.out_ch, _spatial(h, op.kernel, op.stride, op.padding, op.dilation),
                _spatial(w, op.kernel, op.stride, op.padding, op.dilation))

    @staticmethod
    def cost(op, inputs, out):
        weights = op.out_ch * _exact_div(inputs[0][0], op.groups) * op.kernel ** 2
        return Cost(weights=weights, bias=op.out_ch if op.bias else 0,
                    madds=weights * out[1] * out[2])


@rule(OpKind.BN, inplace=True)
class BatchNormRule:
    """gamma and beta per channel (running statistics are buffers, not parameters);
    one element-wise multiply-add per element."""
    @staticmethod
    def shape(op, inputs):
        return inputs[0]

    @staticmethod
    def cost(op, inputs, out):
        return Cost(bn_params=2 * out[0], elementwise=numel(out))


@rule(OpKind.ACT, inplace=True)
class ActivationRule:
    """No parameters; one element-wise op per element."""
    @staticmethod
    def shape(op, inputs):
        return inputs[0]

    @staticmethod
    def cost(op, inputs, out):
        return Cost(elementwise=numel(out))


@rule(OpKind.POOL)
class PoolRule:
    """Global: C x 1 x 1; windowed: the conv spatial rule (with `ceil_mode`, torch's: the
    output rounds up, less a window that would start in the padding). k^2 element-wise ops
    per output."""
    @staticmethod
    def shape(op, inputs):
        c, h, w = inputs[0]
        if op.global_pool:
            return (c, 1, 1)
        return (c, _spatial(h, op.kernel, op.stride, op.padding, 1, op.ceil_mode),
                _spatial(w, op.kernel, op.stride, op.padding, 1, op.ceil_mode))

    @staticmethod
    def cost(op, inputs, out):
        window = inputs[0][1] * inputs[0][2] if op.global_pool else op.kernel ** 2
        return Cost(elementwise=numel(out) * window)


@rule(OpKind.ADD, OpKind.MUL, arity=2)
class ElementwiseBinaryRule:
    """Residual add of two equal shapes, and squeeze-and-excitation's x * gate (Hu et al. 2018;
    the gate, C x 1 x 1, broadcast over x's spatial size): x's shape, a new tensor, one
    element-wise op per element."""
    @staticmethod
    def shape(op, inputs):
        return inputs[0]

    @staticmethod
    def cost(op, inputs, out):
        return Cost(elementwise=numel(out))


@rule(OpKind.SLICE, inplace=True)
class SliceRule:
    """Channels [start, start + out_ch) of the input: a view (it keeps its input's buffer
    alive, as torch.chunk does); no parameters or arithmetic."""
    @staticmethod
    def shape(op, inputs):
        return (op.out_ch, inputs[0][1], inputs[0][2])

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(OpKind.CONCAT, arity=None)
class ConcatRule:
    """Channel concatenation of equal-size maps: C = sum of inputs' C; a new tensor, no ops."""
    @staticmethod
    def shape(op, inputs):
        return (sum(s[0] for s in inputs), inputs[0][1], inputs[0][2])

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(OpKind.SHUFFLE, OpKind.SHIFT)
class DataMovementRule:
    """Ops that only move data: ShuffleNet's channel shuffle (reshape (g, C/g), transpose,
    flatten) and NASNet's factorized-reduction shift (pad 1 at the right/bottom, crop the
    top-left). Same shape, no parameters or arithmetic; as PyTorch computes them, a new tensor."""
    @staticmethod
    def shape(op, inputs):
        return inputs[0]

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(OpKind.FC)
class FullyConnectedRule:
    """weights = in_features * out, bias = out; MAdds = weights (input flattened)."""
    @staticmethod
    def shape(op, inputs):
        return (op.out_ch, 1, 1)

    @staticmethod
    def cost(op, inputs, out):
        weights = numel(inputs[0]) * op.out_ch
        return Cost(weights=weights, bias=op.out_ch if op.bias else 0, madds=weights)


@rule(OpKind.UPSAMPLE)
class UpsampleRule:
    """Resampling to op.size (H, W) or by op.factor: C x H x W, a new tensor, no parameters and
    no MAdds in any convention (the papers count none; torch's FlopCounterMode counts no
    interpolation). Element-wise ops: bilinear 4 per output element (the weighted sum of four
    neighbours), nearest none (a copy)."""
    @staticmethod
    def shape(op, inputs):
        c, h, w = inputs[0]
        if op.size is not None:
            return (c, op.size[0], op.size[1])
        return (c, h * op.factor, w * op.factor)

    @staticmethod
    def cost(op, inputs, out):
        return Cost(elementwise=numel(out) * (4 if op.mode == "bilinear" else 0))


@rule(OpKind.SPACE_TO_DEPTH)
class SpaceToDepthRule:
    """YOLOv2's passthrough layer (Redmon & Farhadi 2016, Sec. 2 "Fine-Grained Features": the
    26 x 26 x 512 map turned into 13 x 13 x 2048): each b x b block of pixels (b = op.stride)
    becomes b^2 channels; C b^2 x H/b x W/b (b must divide H and W), a new tensor that only
    moves data: no parameters or arithmetic."""
    @staticmethod
    def shape(op, inputs):
        c, h, w = inputs[0]
        b = op.stride
        return (c * b * b, _exact_div(h, b), _exact_div(w, b))

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(OpKind.L2NORM)
class L2NormRule:
    """SSD's L2Norm (Liu et al. 2016, Sec. 3.1, after ParseNet): x / ||x||_2 over channels at
    each position, times a learned per-channel scale: C weights, no MAdds (not a conv or fc);
    3 element-wise ops per element (square-accumulate, divide, scale); a new tensor."""
    @staticmethod
    def shape(op, inputs):
        return inputs[0]

    @staticmethod
    def cost(op, inputs, out):
        return Cost(weights=out[0], elementwise=3 * numel(out))


def tf_atrous_madds(op: Op, cost: Cost, out: Shape):
    """MAdds of a conv with rate r = op.dilation > 1 as TensorFlow computes it (MobileNetV2
    Table 7's counts): tf.nn.convolution runs it as space_to_batch -> VALID conv ->
    batch_to_space on an input padded at the end to a multiple of r
    (required_space_to_batch_paddings), so the conv computes r*ceil(H/r) x r*ceil(W/r) output
    positions, each costing weights MAdds. Other ops: their own MAdds."""
    r = op.dilation
    if op.kind not in CONV_KINDS or r == 1:
        return cost.madds
    _, h, w = out
    if isinstance(h, int) and isinstance(w, int):
        return cost.weights * (r * -(-h // r)) * (r * -(-w // r))
    import sympy
    return cost.weights * r * sympy.ceiling(h / r) * r * sympy.ceiling(w / r)
