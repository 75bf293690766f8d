"""Op kinds, the `Op` record and the one registry of per-op rules (the rules themselves are
in archcalc/ops/rules.py, spec-level kinds, and archcalc/ops/tensor_rules.py, the kinds an
imported model needs).

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

from .. import rounding
from ..errors import DuplicateRuleError, UnsupportedOpError


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
    # kinds an imported model needs (archcalc/ops/tensor_rules.py); shapes of any rank
    PARAM = "param"       # a stored tensor read as an operand (ViT's position embedding)
    LINEAR = "linear"     # nn.Linear over the last axis (matmul-style)
    NORM = "norm"         # layer / group norm
    ADAPTIVE_POOL = "adaptive_pool"   # adaptive avg / max pooling to a fixed output size
    MATMUL = "matmul"     # matmul / bmm of two activations
    ATTENTION = "attention"   # scaled dot-product attention
    SOFTMAX = "softmax"
    VIEW = "view"         # view / reshape / flatten / permute / expand / dropout in eval: free
    COPY = "copy"         # contiguous / clone: a new tensor, no arithmetic
    UNKNOWN = "unknown"   # an op archcalc has no rule for, kept only under --allow-unknown

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
    dilation: int = 1         # conv: atrous rate (DeepLab), the kernel spans dilation*(k-1)+1;
    #                           POOL: window dilation
    ceil_mode: bool = False   # POOL: torch's ceil_mode output-size rule (rounding.spatial_out)
    size: Any = None          # UPSAMPLE: output (H, W), or None for `factor`; VIEW / COPY /
    #                           PARAM / UNKNOWN: output shape; ADAPTIVE_POOL: (oh, ow); NORM:
    #                           the normalized shape (layer norm)
    factor: int = 1           # UPSAMPLE: scale factor when no size
    mode: str | None = None   # UPSAMPLE: bilinear | nearest
    # imported models (archcalc/imported): fields the spec language does not set
    axis: int = -3            # CONCAT / SLICE axis, counted from the end (-3: channels of C x H x W)
    norm: str | None = None   # NORM: "layer" | "group"
    affine: bool = True       # L2NORM: with its learned per-channel scale (SSD); False: F.normalize
    reused: tuple = ()        # ((category, elements), ...) of parameters an earlier op already
    #                           counted (a module called twice, tied weights); analyze subtracts

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
        if k is OpKind.ADAPTIVE_POOL:
            return f"adaptive {self.pool}pool {'x'.join(map(str, self.size or ()))}"
        if k is OpKind.NORM:
            return f"{self.norm}norm" + (f" g{self.groups}" if self.norm == "group" else "")
        if k is OpKind.UNKNOWN:
            return f"unknown {self.act}"
        return k.value


Shape = tuple  # (C, H, W) for spec graphs; any rank (batch dimension dropped) for imported ones


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
    stored: bool = False      # the output is a stored tensor (a parameter), not an activation


RULES: dict[OpKind, Rule] = {}


def rule(*kinds: OpKind, inplace: bool = False, arity: int | None = 1, stored: bool = False):
    """Register one rule object for `kinds`; a second registration is an error."""
    def register(cls):
        for kind in kinds:
            if kind in RULES:
                raise DuplicateRuleError(f"duplicate rule for op kind {kind}")
            RULES[kind] = Rule(shape=cls.shape, cost=cls.cost, inplace=inplace, arity=arity,
                               stored=stored)
        return cls
    return register


def rule_for(op: Op) -> Rule:
    try:
        return RULES[op.kind]
    except KeyError:
        raise UnsupportedOpError(f"no cost rule for op kind '{op.kind}' (node {op.name})") from None


def numel(shape: Shape):
    """Elements of a tensor of this shape (any rank; 1 for a scalar)."""
    out = 1
    for d in shape:
        out = out * d
    return out


def broadcast(*shapes) -> tuple:
    """The broadcast shape of operands (NumPy / PyTorch rule: align the trailing axes; a size 1
    stretches to the other's)."""
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
        out.append(next((d for d in dims if not (isinstance(d, int) and d == 1)), 1))
    return tuple(out)


def spatial(size, kernel: int, stride: int, padding, dilation: int = 1, ceil_mode: bool = False):
    """Output size of a window op (rounding.spatial_out; symbolic.spatial_out for expressions)."""
    if isinstance(size, int):
        return rounding.spatial_out(size, kernel, stride, padding, dilation, ceil_mode)
    from .. import symbolic
    return symbolic.spatial_out(size, kernel, stride, padding, dilation, ceil_mode)


def exact_div(a, b):
    """a / b where b divides a (checked by the compiler on concrete points)."""
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    return a / b
