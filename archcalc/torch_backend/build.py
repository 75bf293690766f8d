"""ArchGraph -> nn.Module (GraphNet), one registered builder per op kind.

Builders sit beside (not inside) the cost rules, like TVM's per-op facets: the core never
imports torch. Module paths equal node names ("bottlenecks.1.0.expand.conv"), so a report's
rows and the model's modules line up one to one.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..errors import ArchcalcError, DuplicateRuleError, OptionError, UnsupportedOpError, one_line
from ..ops import Op, OpKind

BUILDERS: dict[OpKind, Callable[[Op, tuple], nn.Module]] = {}


def builder(*kinds: OpKind):
    """Register the nn.Module factory for `kinds`; a second registration is an error."""
    def register(fn):
        for kind in kinds:
            if kind in BUILDERS:
                raise DuplicateRuleError(f"duplicate torch builder for op kind {kind}")
            BUILDERS[kind] = fn
        return fn
    return register


def _same_padding(kernel: int, padding, dilation: int = 1) -> int | tuple:
    """Symmetric padding that gives out = ceil(in / s) for odd kernels ("same"): a dilated
    kernel's span d (k - 1) + 1 less one, halved (torchvision's Conv2dNormActivation)."""
    if padding == "same":
        if kernel % 2 == 0:
            raise OptionError(f"the torch backend supports 'same' padding for odd kernels only "
                              f"(got {kernel})")
        return (kernel - 1) // 2 * dilation
    return 0 if padding == "valid" else padding


@builder(OpKind.CONV, OpKind.GROUPED_CONV, OpKind.DEPTHWISE, OpKind.POINTWISE)
def _conv(op: Op, in_shape: tuple) -> nn.Module:
    return nn.Conv2d(in_shape[0], op.out_ch, op.kernel, op.stride,
                     _same_padding(op.kernel, op.padding, op.dilation), dilation=op.dilation,
                     groups=op.groups, bias=op.bias)


@builder(OpKind.BN)
def _bn(op: Op, in_shape: tuple) -> nn.Module:
    return nn.BatchNorm2d(in_shape[0])


def _leaky(inplace: bool = True) -> nn.Module:
    """darknet's "leaky" activation (YOLOv2): slope 0.1 below zero."""
    return nn.LeakyReLU(0.1, inplace=inplace)


ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hswish": nn.Hardswish, "swish": nn.SiLU,
               "sigmoid": nn.Sigmoid, "hsigmoid": nn.Hardsigmoid, "leaky_relu": _leaky,
               # an imported model's (`{op: act, fn: ...}` rows of archcalc import)
               "gelu": lambda inplace=True: nn.GELU(), "tanh": lambda inplace=True: nn.Tanh(),
               "elu": nn.ELU, "selu": nn.SELU, "celu": nn.CELU, "mish": nn.Mish,
               "softplus": lambda inplace=True: nn.Softplus()}


@builder(OpKind.ACT)
def _act(op: Op, in_shape: tuple) -> nn.Module:
    make = ACTIVATIONS.get(op.act)
    if make is None:
        raise UnsupportedOpError(f"no torch builder for activation '{op.act}' (node {op.name})")
    return make() if make is nn.Sigmoid else make(inplace=True)


@builder(OpKind.POOL)
def _pool(op: Op, in_shape: tuple) -> nn.Module:
    if op.global_pool:
        return nn.AdaptiveAvgPool2d(1) if op.pool == "avg" else nn.AdaptiveMaxPool2d(1)
    pad = _same_padding(op.kernel, op.padding)
    if isinstance(pad, int) and pad > op.kernel // 2:     # torch checks it only when it runs
        raise OptionError(f"padding {pad} is more than half the {op.pool} pool's kernel "
                          f"{op.kernel}: PyTorch refuses it (at most {op.kernel // 2})")
    ceil = getattr(op, "ceil_mode", False)
    if op.pool == "avg":
        return nn.AvgPool2d(op.kernel, op.stride, pad, ceil_mode=ceil)
    return nn.MaxPool2d(op.kernel, op.stride, pad, ceil_mode=ceil)


class Add(nn.Module):
    """Residual add (no parameters)."""
    def forward(self, a, b):
        return a + b


class FullyConnected(nn.Linear):
    """Linear on the flattened input, output shaped (N, C, 1, 1) like a 1x1 conv's."""
    def forward(self, x):
        return super().forward(torch.flatten(x, 1))[:, :, None, None]


class Scale(nn.Module):
    """x * gate, the gate (N, C, 1, 1) broadcast over space (squeeze-and-excitation)."""
    def forward(self, x, gate):
        return x * gate


class Slice(nn.Module):
    """Channels [start, stop) of the input, a view (ShuffleNetV2's channel split)."""
    def __init__(self, start: int, stop: int):
        super().__init__()
        self.start, self.stop = start, stop

    def forward(self, x):
        return x[:, self.start:self.stop]


@builder(OpKind.MUL)
def _scale(op: Op, in_shape: tuple) -> nn.Module:
    return Scale()


@builder(OpKind.SLICE)
def _slice(op: Op, in_shape: tuple) -> nn.Module:
    return Slice(op.start, op.start + op.out_ch)


@builder(OpKind.ADD)
def _add(op: Op, in_shape: tuple) -> nn.Module:
    return Add()


@builder(OpKind.FC)
def _fc(op: Op, in_shape: tuple) -> nn.Module:
    c, h, w = in_shape
    return FullyConnected(c * h * w, op.out_ch, bias=op.bias)


def node_location(graph, name: str) -> str:
    """"file:line: node NAME" for error messages, as much of it as is known."""
    op = graph.op(name)
    path = getattr(graph.spec, "path", None)
    if not path:
        return f"node {name}"
    return f"{path}:{op.line}: node {name}" if op.line else f"{path}: node {name}"


def _make(make, op: Op, in_shape: tuple, name: str) -> nn.Module:
    """make(op, in_shape), any error it raises as one line naming the node."""
    try:
        return make(op, in_shape)
    except (OptionError, UnsupportedOpError) as err:
        if name in str(err):
            raise
        raise type(err)(f"{name}: {err}") from None
    except ArchcalcError:
        raise
    except Exception as err:     # noqa: BLE001 - torch's own refusal of a module's arguments
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise OptionError(f"{name}: PyTorch cannot build this {op.label} "
                          f"({one_line(text)[:300]})") from None


def _attach(root: nn.Module, path: str, module: nn.Module) -> None:
    parent = root
    *parents, leaf = path.split(".")
    for part in parents:
        if not hasattr(parent, part):
            parent.add_module(part, nn.Module())
        parent = getattr(parent, part)
    parent.add_module(leaf, module)


class GraphNet(nn.Module):
    """The op-graph as a module: submodules at the graph's node paths, and a forward that runs
    a precomputed `program`, (module, input slots, output slot, slots to free) per non-input
    node in graph order, over `n_slots` tensor slots (slot 0 is the input).

    Tensors are dropped when a hand-written model's locals would go out of scope: after their
    last reader, but a block's input only when the block (its stream group, else its layer)
    ends. Each call is one list lookup (no attribute chain per node), so the generic graph
    runs like hand-written code (benchmarks/torch_backend.py measures it)."""

    def __init__(self, graph, progress: Callable[[], None] | None = None):
        super().__init__()
        self.program: list = []
        self._outputs: tuple = ()
        self.n_slots = 0
        self._build(graph, progress)

    def _build(self, graph, progress: Callable[[], None] | None = None) -> None:
        slot = {name: i for i, name in enumerate(graph.names)}
        scope = {n: graph.op(n).stream_group or graph.op(n).layer for n in graph.names}
        scope_end: dict[str, int] = {}
        for position, name in enumerate(graph.names):
            scope_end[scope[name]] = position
        # A tensor is dropped after its last reader, except that a block's input is held until
        # the block's last op, as a hand-written module's caller holds its argument until the
        # call returns (the same allocation order, so the allocator behaves the same).
        release: dict[str, int] = {}
        for position, name in enumerate(graph.names):
            for u in graph.inputs(name):
                at = position if scope[u] == scope[name] else scope_end[scope[name]]
                release[u] = max(release.get(u, 0), at)
        frees: dict[int, list] = {}
        outputs = graph.outputs()
        for u, at in release.items():
            if u not in outputs:
                frees.setdefault(at, []).append(slot[u])
        program = []
        for position, name in enumerate(graph.names):
            op = graph.op(name)
            if op.kind is OpKind.INPUT:
                if slot[name] != 0:
                    raise OptionError("the torch backend needs the input node first")
                continue
            if not graph.inputs(name):      # a stored tensor (an imported model's PARAM)
                raise UnsupportedOpError(f"no torch builder for op kind '{op.kind}' (node {name})")
            in_shape = graph.shape(graph.inputs(name)[0])
            if not all(isinstance(v, int) for v in (*graph.shape(name), *in_shape)):
                raise OptionError(f"{name}: channel counts are not whole numbers (rounding: none); "
                                  "a model needs whole channels")
            make = BUILDERS.get(op.kind)
            if make is None:
                raise UnsupportedOpError(f"no torch builder for op kind '{op.kind}' (node {name})")
            module = _make(make, op, in_shape, node_location(graph, name))
            _attach(self, name, module)
            inputs = tuple(slot[u] for u in graph.inputs(name))
            free = tuple(sorted(frees.get(position, ()), reverse=True))   # newest first
            program.append((module, inputs, slot[name], free))
            if progress is not None:
                progress()
        self.program = program
        self._outputs = tuple(slot[n] for n in outputs)
        self.n_slots = len(graph.names)

    def forward(self, x):
        env = [None] * self.n_slots
        env[0] = x
        for module, inputs, out, free in self.program:
            env[out] = module(*[env[i] for i in inputs])
            for i in free:
                env[i] = None
        if len(self._outputs) == 1:
            return env[self._outputs[0]]
        return tuple(env[i] for i in self._outputs)


def build_module(graph, progress: Callable[[], None] | None = None) -> GraphNet:
    """An nn.Module computing `graph` (compiled at a concrete point), in eval mode. Its class is
    named after the spec (FlopCounterMode and profilers show "<Spec>.<node path>"); `progress`
    is called once per module built. A module torch refuses is one OptionError naming its node."""
    if graph.symbolic:
        raise OptionError("build a model from a graph compiled at a point, not a symbolic one")
    name = "".join(ch if ch.isalnum() else "_" for ch in graph.spec.name) or "Net"
    cls = type(name if name[0].isalpha() else f"Net_{name}", (GraphNet,),
               {"__doc__": GraphNet.__doc__, "__module__": __name__})
    return cls(graph, progress).eval()


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle (Zhang et al. 2017, Sec. 3.1)."""
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.reshape(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class Concat(nn.Module):
    """Channel concatenation (no parameters)."""
    def forward(self, *xs):
        return torch.cat(xs, 1)


@builder(OpKind.SHUFFLE)
def _shuffle(op: Op, in_shape: tuple) -> nn.Module:
    return ChannelShuffle(op.groups)


@builder(OpKind.CONCAT)
def _concat(op: Op, in_shape: tuple) -> nn.Module:
    return Concat()


class Shift(nn.Module):
    """Pad one zero row/column at the bottom/right and drop the first (NASNet's path 2)."""
    def forward(self, x):
        return nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]


@builder(OpKind.SHIFT)
def _shift(op: Op, in_shape: tuple) -> nn.Module:
    return Shift()


class Resample(nn.Module):
    """F.interpolate to a fixed size or by a factor (bilinear: align_corners=False, as
    torchvision's segmentation heads)."""
    def __init__(self, size, factor: int, mode: str):
        super().__init__()
        self.size, self.factor, self.mode = size, factor, mode

    def forward(self, x):
        kwargs = {"align_corners": False} if self.mode == "bilinear" else {}
        if self.size is not None:
            return nn.functional.interpolate(x, size=self.size, mode=self.mode, **kwargs)
        return nn.functional.interpolate(x, scale_factor=self.factor, mode=self.mode, **kwargs)


class L2Norm(nn.Module):
    """SSD's L2Norm: F.normalize over channels times a learned per-channel scale (init 20),
    as torchvision's ssd.py SSDFeatureExtractorVGG; F.normalize alone without `affine`."""
    def __init__(self, channels: int, affine: bool = True):
        super().__init__()
        self.scale_weight = nn.Parameter(torch.full((channels,), 20.0)) if affine else None

    def forward(self, x):
        if self.scale_weight is None:
            return nn.functional.normalize(x)
        return self.scale_weight.view(1, -1, 1, 1) * nn.functional.normalize(x)


@builder(OpKind.UPSAMPLE)
def _upsample(op: Op, in_shape: tuple) -> nn.Module:
    return Resample(None if op.size is None else tuple(op.size), op.factor, op.mode)


@builder(OpKind.SPACE_TO_DEPTH)
def _space_to_depth(op: Op, in_shape: tuple) -> nn.Module:
    return nn.PixelUnshuffle(op.stride)


@builder(OpKind.L2NORM)
def _l2norm(op: Op, in_shape: tuple) -> nn.Module:
    return L2Norm(in_shape[0], op.affine)


from . import tensor_build  # noqa: E402,F401  (registers the imported ops' builders)
