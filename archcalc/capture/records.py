"""Neutral records of a captured model: what a model computes, before archcalc interprets it.

A `CapturedGraph` is what `capture_torch` (torch.export or a dispatch trace) and `capture_onnx`
(an ONNX file after shape inference) both return: frozen dataclasses of plain Python values
(ints, floats, strings, tuples), no torch or onnx objects, so the records can be compared,
hashed, pickled and written as JSON. Mapping captured ops onto archcalc's `Op` kinds is a
separate step; this layer records facts only:

* one `CapturedNode` per computation, in execution order: the op's name as its library spells
  it ("aten.conv2d.default", "aten.convolution.default", ONNX "Conv"), its tensor operands and
  results (`TensorInfo`: shape, dtype, where the tensor comes from), its non-tensor arguments
  by name (stride, padding, dilation, groups, ceil_mode, ...; ONNX attributes), and the
  nn.Module it ran in (path "features.3.conv.1" and class);
* the graph's inputs and outputs;
* the model's parameters (`ParamInfo`), each once: a tensor reachable under several names
  (tied weights) is one entry whose `aliases` list the other names, so `num_params` equals
  `sum(p.numel() for p in module.parameters())`; buffers (BN running statistics) apart.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from math import prod
from typing import Any

from ..errors import ArchcalcError, one_line

TENSOR_KINDS = ("input", "activation", "parameter", "buffer", "constant")


class CaptureError(ArchcalcError):
    """A model could not be captured (not a module, export failed, unreadable ONNX file)."""

    def __init__(self, message: str):
        super().__init__(one_line(message))


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as an op sees it.

    name: the tensor's name in the graph: the node that produced it ("conv2d_3"; the i-th
    result of a multi-output node is "chunk_2:1"), a graph input's name, or the parameter /
    buffer / constant name ("features.0.0.weight").
    kind: input | activation | parameter | buffer | constant.
    param: for kind parameter/buffer/constant, the canonical name of the stored tensor this is
    (or is a view of: a dispatch trace reads a Linear's weight through `aten.t`).
    role: the operand's slot in the op's schema ("input", "weight", "bias"; ONNX "X", "W", "B").
    """
    name: str
    shape: tuple
    dtype: str
    kind: str = "activation"
    param: str = ""
    role: str = ""

    @property
    def numel(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class ParamInfo:
    """A stored tensor of the model: a parameter, a buffer or a constant, counted once."""
    name: str
    shape: tuple
    dtype: str
    aliases: tuple = ()       # other names of the same tensor (tied weights)

    @property
    def numel(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class CapturedNode:
    """One op call. `args` are the non-tensor arguments as (schema name, value) pairs in schema
    order, defaults filled in (torch), or the node's attributes (ONNX). `module` is the
    innermost nn.Module the op ran in ("" for the root), `module_type` its class
    ("torch.nn.modules.conv.Conv2d"), `module_stack` every enclosing (path, class) pair from the
    outermost child of the root inwards."""
    name: str
    op: str
    inputs: tuple
    outputs: tuple
    args: tuple = ()
    module: str = ""
    module_type: str = ""
    module_stack: tuple = ()

    def arg(self, name: str, default: Any = None) -> Any:
        for key, value in self.args:
            if key == name:
                return value
        return default

    def operand(self, role: str) -> TensorInfo | None:
        """The (first) tensor operand in schema slot `role`, or None when it is absent."""
        for t in self.inputs:
            if t.role == role:
                return t
        return None

    @property
    def params(self) -> tuple:
        """Names of the parameters this op reads (directly or through a view)."""
        return tuple(t.param for t in self.inputs if t.kind == "parameter")

    @property
    def buffers(self) -> tuple:
        return tuple(t.param for t in self.inputs if t.kind == "buffer")


@dataclass(frozen=True)
class CapturedGraph:
    """A captured model. `source` says how: "torch.export", "torch.dispatch" or "onnx"."""
    source: str
    model: str
    inputs: tuple
    outputs: tuple
    nodes: tuple
    params: tuple
    buffers: tuple = ()
    constants: tuple = ()
    notes: tuple = ()         # facts a reader must know (an exporter fused BN into Conv, ...)

    @property
    def num_params(self) -> int:
        """Elements of all parameters, each stored tensor once (= sum(p.numel()) in PyTorch)."""
        return sum(p.numel for p in self.params)

    @property
    def num_buffers(self) -> int:
        return sum(b.numel for b in self.buffers)

    def op_counts(self) -> dict:
        """{op name: number of calls}, most frequent first."""
        return dict(Counter(n.op for n in self.nodes).most_common())

    def node(self, name: str) -> CapturedNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def by_module(self) -> dict:
        """{module path: [nodes that ran directly in it]}, in order of first use."""
        out: dict = {}
        for n in self.nodes:
            out.setdefault(n.module, []).append(n)
        return out

    def to_dict(self) -> dict:
        """Plain JSON-able data (tuples become lists)."""
        return asdict(self)
