"""Frozen dataclasses a spec decodes into: the network, its parameters and its rows.

A row keeps the paper's column names: MobileNetV2 Table 2's t (expansion), c (output
channels), n (repeats), s (stride of the first repeat); k is the kernel size.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from fractions import Fraction
from typing import Any

# swish = SiLU (x * sigmoid(x), EfficientNet); hswish / hsigmoid: MobileNetV3 Sec. 5.2
# leaky_relu: slope 0.1 for x < 0 (darknet's "leaky", YOLOv2)
ACTIVATIONS = ("relu", "relu6", "hswish", "swish", "sigmoid", "hsigmoid", "linear", "leaky_relu")
RESAMPLING = ("bilinear", "nearest")
SE_OF = ("expanded", "input")        # the width the squeeze is a fraction of
SE_ROUNDING = ("make_divisible", "floor")
NORMS = ("bn", "none")
SCALES = ("all", "up", "none")       # width multiplier: alpha, max(1, alpha), never
RESIDUALS = ("bottleneck", "expansion", "none")   # MobileNetV2 Fig. 6b placements
POOLS = ("avg", "max")
WRITTEN_AS = ("module", "functional", "mean")   # a pool in PyTorch: nn.*Pool2d | F.*pool2d | x.mean


class InputSize(tuple):
    """A non-square input size (H, W), as the graph's shapes are (C, H, W). Prints as
    `224x320` (the report's point line); JSON encodes it as [224, 320]. A square size is
    always a plain int r (`input_size`), so square inputs print as they always have."""

    def __new__(cls, h: int, w: int):
        return super().__new__(cls, (h, w))

    def __getnewargs__(self):            # pickle and copy rebuild it from (h, w)
        return (self[0], self[1])

    @property
    def h(self) -> int:
        return self[0]

    @property
    def w(self) -> int:
        return self[1]

    def __str__(self) -> str:
        return f"{self[0]}x{self[1]}"

    def __repr__(self) -> str:
        return f"InputSize({self[0]}, {self[1]})"


def input_size(h: int, w: int):
    """r for a square h == w == r, else InputSize(h, w)."""
    return h if h == w else InputSize(h, w)


def sides(size) -> tuple:
    """(H, W) of an input size (an int r or an InputSize)."""
    return (size[0], size[1]) if isinstance(size, tuple) else (size, size)


@dataclass(frozen=True)
class ParamDecl:
    """A named spec parameter (`num_classes`, ...): its default, allowed values and bound value."""
    name: str
    default: Any
    value: Any
    choices: tuple | None = None
    minimum: Any = None
    maximum: Any = None
    line: int | None = None

    @property
    def type_name(self) -> str:
        return {bool: "bool", int: "int", Fraction: "number", str: "str"}[type(self.default)]


@dataclass(frozen=True)
class WidthRule:
    """How the width multiplier alpha becomes channel counts (the spec's `width:` section)."""
    rounding: str = "make_divisible"   # make_divisible | truncate | none
    divisor: int = 8
    min_channels: int | None = None    # None: the divisor (TF-slim's min_value default)
    expand: str = "round"              # round (torchvision) | make_divisible (TF-slim)

    @property
    def minimum(self) -> int:
        return self.divisor if self.min_channels is None else self.min_channels


@dataclass(frozen=True)
class Row:
    op: str
    line: int
    key_lines: tuple = field(default=(), compare=False, repr=False)
    n: int = 1
    from_: str | None = None   # input: an earlier layer path or row name (default: the previous row)
    name: str | None = None    # a name later rows can take their input `from`
    when: bool = True          # false: the row is left out (a $parameter or lookup decides)

    def line_of(self, key: str) -> int:
        return dict(self.key_lines).get(key, self.line)


@dataclass(frozen=True)
class ConvRow(Row):
    """Full k x k convolution (+ BN + activation); grouped when groups > 1; dilated (atrous)
    when dilation > 1."""
    c: int = 0
    k: int = 3
    s: int = 1
    dilation: int = 1
    groups: int = 1
    act: str = "relu"
    norm: str = "bn"
    bias: bool = False
    padding: Any = "same"
    scale: str = "all"
    divisor: int | None = None       # this row's rounding divisor (default: width.divisor)
    stream_group: str | None = None  # streamed block (MobileNetV2 Sec. 5.1) it belongs to


@dataclass(frozen=True)
class DepthwiseRow(Row):
    """Depthwise k x k convolution: one filter per input channel (+ BN + activation)."""
    k: int = 3
    s: int = 1
    dilation: int = 1
    act: str = "relu"
    norm: str = "bn"
    bias: bool = False
    padding: Any = "same"
    stream_group: str | None = None  # streamed block (MobileNetV2 Sec. 5.1) it belongs to


@dataclass(frozen=True)
class PointwiseRow(Row):
    """1 x 1 convolution (+ BN + activation); grouped when groups > 1."""
    c: int = 0
    groups: int = 1
    act: str = "relu"
    norm: str = "bn"
    bias: bool = False
    scale: str = "all"
    divisor: int | None = None       # this row's rounding divisor (default: width.divisor)
    stream_group: str | None = None  # streamed block (MobileNetV2 Sec. 5.1) it belongs to


@dataclass(frozen=True)
class SeparableRow(Row):
    """Depthwise separable layer (MobileNetV1 Fig. 3): k x k depthwise + 1 x 1 to c, each + BN + act."""
    c: int = 0
    k: int = 3
    s: int = 1
    dilation: int = 1
    act: str = "relu"
    norm: str = "bn"
    padding: Any = "same"
    scale: str = "all"
    divisor: int | None = None       # this row's rounding divisor (default: width.divisor)


@dataclass(frozen=True)
class BottleneckRow(Row):
    """Inverted residual with linear bottleneck (MobileNetV2 Table 1), repeated n times; with
    `se` a squeeze-and-excitation gate after the depthwise conv (MobileNetV3 Fig. 4,
    EfficientNet's MBConv)."""
    t: Any = 1
    c: int = 0
    s: int = 1
    k: int = 3
    dilation: int = 1                # of the depthwise conv
    act: str = "relu6"
    project_act: str = "linear"
    residual: str = "bottleneck"
    padding: Any = "same"
    scale: str = "all"
    divisor: int | None = None       # this row's rounding divisor (default: width.divisor)
    se: Any = 0                      # squeeze width as a fraction (0.25) of `se_of`; 0: no SE
    se_of: str = "expanded"          # expanded (MobileNetV3) | input (EfficientNet) width
    se_rounding: str = "make_divisible"   # make_divisible(floor(x)) | floor: max(1, floor(x))
    se_act: str = "relu"             # the squeeze's activation
    se_gate: str = "sigmoid"         # the gate (hsigmoid in MobileNetV3)


@dataclass(frozen=True)
class PoolRow(Row):
    """Average or max pooling, windowed (k, s) or global."""
    pool: str = "avg"
    k: int = 0
    s: int = 0
    padding: Any = "valid"
    global_: bool = False
    written_as: str = "module"       # PyTorch form, for the peer conventions (cost/peers.py)
    ceil_mode: bool = False          # torch's ceil_mode (SSD's pool3: 75 -> 38)


@dataclass(frozen=True)
class FcRow(Row):
    """Fully-connected layer (the classifier): never width-scaled unless asked."""
    c: int = 0
    bias: bool = True
    act: str = "linear"
    scale: str = "none"
    divisor: int | None = None       # this row's rounding divisor (default: width.divisor)


@dataclass(frozen=True)
class ShuffleUnitRow(Row):
    """ShuffleNet unit (Zhang et al. 2017, Fig. 2b/c): 1x1 group conv to c/4 + BN + ReLU, channel
    shuffle, k x k depthwise with the stride + BN, 1x1 group conv + BN; stride 1: add the input,
    then ReLU; stride 2: concat with a 3x3 average-pooled input (the branch makes c - c_in), then ReLU."""
    c: int = 0
    s: int = 1
    k: int = 3
    groups: int = 1
    group_first_pw: bool = True      # False: the first repeat's first 1x1 conv is dense (Stage 2)
    scale: str = "all"
    divisor: int | None = None


@dataclass(frozen=True)
class ShuffleV2UnitRow(Row):
    """ShuffleNetV2 unit (Ma et al. 2018, Fig. 3c/d): stride 1: split the channels in halves,
    the second through 1x1 conv + BN + ReLU, k x k depthwise + BN, 1x1 conv + BN + ReLU, concat
    with the first half; stride 2: no split, a k x k depthwise/2 + BN, 1x1 conv + BN + ReLU
    branch beside that one, concat; then a channel shuffle with 2 groups. Each branch makes c / 2."""
    c: int = 0
    s: int = 1
    k: int = 3
    scale: str = "all"
    divisor: int | None = None


@dataclass(frozen=True)
class PredictorRow(Row):
    """SSD box and class predictors on one feature map (Liu et al. 2016; MobileNetV2 Sec. 6.2):
    a k x k conv to anchors * 4 box encodings and one to anchors * classes scores, both with a
    bias; `separable: true` (SSDLite) makes each a k x k depthwise + BN + act, then a 1x1 conv.
    The row's output is its input, so the next row continues from the feature map."""
    anchors: int = 1
    classes: int = 1
    box_size: int = 4
    k: int = 3
    separable: bool = False
    act: str = "relu6"


@dataclass(frozen=True)
class ActivationRow(Row):
    """A standalone activation (`op: relu`, `relu6`, `hswish`, `swish`, `sigmoid`, `hsigmoid`)."""
    act: str = "relu"


@dataclass(frozen=True)
class UpsampleRow(Row):
    """Resampling (bilinear or nearest) by an integer `factor`, to a `size` (r or [H, W]), or
    to the spatial size of the tensor `to` names (a row name or path, a layer path, or inside
    a cell an input or node of the cell): DeepLabv3's image-pooling branch broadcast back
    to the feature size, and the logits resized to the input (`to: input`)."""
    mode: str = "bilinear"
    factor: int = 0
    size: Any = None
    to: str | None = None


@dataclass(frozen=True)
class SpaceToDepthRow(Row):
    """YOLOv2's passthrough "reorg": each `block` x `block` patch becomes block^2 channels."""
    block: int = 2


@dataclass(frozen=True)
class L2NormRow(Row):
    """SSD's L2Norm on conv4_3: x / ||x||_2 over channels, times a learned per-channel scale
    (`affine: false`: without the scale, F.normalize alone)."""
    affine: bool = True


@dataclass(frozen=True)
class IdentityRow(Row):
    """Passes its input on unchanged (a cell branch with no op)."""


@dataclass(frozen=True)
class FitRow(Row):
    """Make a tensor fit c channels (and `like`'s spatial size), as NASNet's cells do
    (TF-slim nasnet_utils `_reduce_prev_layer`, `_apply_conv_operation`): if its size differs
    from `like`'s, [ReLU +] factorized reduction to c; else if s > 1 or its channels differ from c,
    [ReLU +] 1x1 conv with stride s to c + BN; else nothing. An input that is the cell's own
    first input standing in for a missing second one is left as it is."""
    c: int = 0
    like: str | None = None
    s: int = 1
    relu: bool = True


@dataclass(frozen=True)
class CellRow(Row):
    """An instance of a user-defined cell (`cells:`), with its parameters bound."""
    cell: str = ""
    args: tuple = ()


@dataclass(frozen=True)
class CellDef:
    """A named cell: inputs, parameters with defaults, nodes (branches combined by add or
    concat) and an output, decoded when the spec loads (spec/cells.py) into frozen templates
    that each instance binds with its arguments."""
    name: str
    line: int
    inputs: tuple
    params: tuple                       # ((name, default), ...)
    nodes: tuple = field(default=(), compare=False, repr=False)   # spec.cells.NodeTemplate
    uses: tuple = ()                    # the cells its rows are instances of
    depth: int = 1                      # nesting: 1 + the deepest cell it uses


# ---- rows of the ops an imported model is made of (`archcalc import` writes them; graph/
# tensor_rows.py compiles each onto an existing op kind and its one rule in archcalc/ops) ------
ADAPTIVE_POOLS = ("adaptive_avgpool", "adaptive_maxpool")
NORM_ROWS = ("layernorm", "groupnorm")


@dataclass(frozen=True)
class StandaloneRow(Row):
    """An op of its own on the row's input: `bn` (BatchNorm), `act` (an element-wise function
    `fn`, e.g. gelu or `mul const`), `softmax`, `flatten` (a view to one axis), `view` / `copy`
    (to a fixed `shape`), `mean` (a global average pool to C values), `shuffle` (channel
    shuffle in `groups`), `slice` (part `index` of `parts` equal parts along `axis`), `linear` (over the last axis to `c`), `layernorm` (over
    the last `axes` axes) / `groupnorm` (`groups`), `adaptive_avgpool` / `adaptive_maxpool`
    (to `size`), `param` (a stored tensor of a fixed `shape`)."""
    fn: str = "relu"
    shape: tuple = ()
    groups: int = 1
    index: int = 0
    parts: int = 1
    axis: int = -3
    axes: int = 1
    affine: bool = True
    size: Any = None
    c: int = 0
    bias: bool = True
    scale: str = "all"
    divisor: int | None = None
    stream_group: str | None = None  # streamed block (MobileNetV2 Sec. 5.1) of its op
    expects: tuple = ()              # view / copy: the input shape it was written for (a
    #                                  selection, a padding)


@dataclass(frozen=True)
class MergeRow(Row):
    """An op of several earlier tensors, named in order by `of`: `add` and `mul` (two, under
    broadcasting), `concat` (two or more, along `axis`), `matmul` (two), `attention` (q, k, v)."""
    of: tuple = ()
    axis: int = -3
    stream_group: str | None = None


ROW_TYPES: dict[str, type[Row]] = {
    "conv": ConvRow, "dwconv": DepthwiseRow, "pwconv": PointwiseRow, "sepconv": SeparableRow,
    "bottleneck": BottleneckRow, "shuffle_unit": ShuffleUnitRow, "predictor": PredictorRow,
    "avgpool": PoolRow, "maxpool": PoolRow, "fc": FcRow, "relu": ActivationRow,
    "relu6": ActivationRow, "hswish": ActivationRow, "swish": ActivationRow,
    "sigmoid": ActivationRow, "hsigmoid": ActivationRow, "identity": IdentityRow, "fit": FitRow,
    "shuffle_v2_unit": ShuffleV2UnitRow, "leaky_relu": ActivationRow, "upsample": UpsampleRow,
    "space_to_depth": SpaceToDepthRow, "l2norm": L2NormRow,
    **{op: StandaloneRow for op in ("bn", "act", "softmax", "flatten", "view", "copy", "mean",
                                    "shuffle", "slice", "linear", "param", *NORM_ROWS,
                                    *ADAPTIVE_POOLS)},
    **{op: MergeRow for op in ("add", "mul", "concat", "matmul", "attention")},
}
# keys each imported-op row takes (StandaloneRow holds the union); spec/rows.py checks them
_S = "stream_group"
STANDALONE_KEYS = {"bn": (_S,), "act": ("fn", _S), "softmax": (_S,), "flatten": (_S,),
                   "view": ("shape", "expects"), "copy": ("shape", "expects"), "mean": (),
                   "shuffle": ("groups", _S), "slice": ("index", "parts", "axis", _S),
                   "linear": ("c", "bias", "scale", "divisor", _S), "param": ("shape",),
                   "layernorm": ("axes", "affine"), "groupnorm": ("groups", "affine"),
                   "adaptive_avgpool": ("size",), "adaptive_maxpool": ("size",),
                   "add": ("of", _S), "mul": ("of", _S), "concat": ("of", "axis", _S),
                   "matmul": ("of",), "attention": ("of",)}


@dataclass(frozen=True)
class Section:
    """A top-level section of `layers:` (e.g. stem, bottlenecks, head); reports call it `block`."""
    name: str
    line: int
    rows: tuple


@dataclass(frozen=True)
class NetworkSpec:
    """A validated spec with its parameters bound (defaults, then --set overrides)."""
    name: str
    path: str
    input_channels: int
    resolution: Any          # an int r (an r x r input), or an InputSize (H, W) when not square
    width: WidthRule
    sections: tuple
    params: tuple = ()
    source: str = ""
    description: str = ""
    cells: tuple = ()
    defaults: tuple = field(default=(), compare=False, repr=False)   # ((key, template, line), ...)
    output_stride: Any = None   # spec.inference.OutputStride: later strides become dilation
    multiscale: Any = None      # spec.inference.MultiScale: inference passes summed (Table 7 MF)

    @cached_property
    def cells_by_name(self) -> dict:
        return {c.name: c for c in self.cells}

    def cell(self, name: str) -> "CellDef":
        return self.cells_by_name[name]

    @property
    def square(self) -> bool:
        return isinstance(self.resolution, int)

    def param(self, name: str):
        return {p.name: p.value for p in self.params}[name]

    @property
    def rows(self):
        return [row for section in self.sections for row in section.rows]
