"""Captured records (archcalc.capture) -> ArchGraph: the second front end of the op-graph.

`to_graph(captured, model, mapper, allow_unknown)` walks the captured nodes in execution order
and asks `mapper` (aten.py for PyTorch, onnx_ops.py for ONNX) to emit archcalc `Op`s through a
`Builder`; `mapper.fuse` first replaces the chains of captured ops that are one archcalc op
(SSD's L2Norm, l2norm.py) by one node. The graph is the same type `compile_graph` returns, so `archcalc.cost.analyze`,
`CostTable.layers()`, the memory schedules and every renderer work unchanged.

Shapes: the batch dimension of 1 is dropped from every captured shape (a leading 1 of a
tensor of rank >= 2), so an image map is C x H x W as in a compiled spec and a token
sequence is N x D. Each node stores its captured shape; its rule's shape must agree (same
number of elements), which checks the mapping on every import.

Parameters: an op whose rule counts weights (conv, linear, BN, norm) consumes its parameter
operands; a parameter read as an ordinary operand (ViT's position embedding, ConvNeXt's
layer scale) becomes a PARAM node, once; parameters no op reads (googlenet's auxiliary heads
in eval) become PARAM nodes at the end, so params equal sum(p.numel()) of the model.
Ops that read no activation (shape arithmetic, `empty`, views of parameters) are constant
plumbing and leave no node. An op no mapping knows is an error listing every such op with
its module path and count, unless `allow_unknown` (then an UNKNOWN node counted as zero, and
listed in the model's warnings).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ..errors import UnsupportedOpError
from ..graph.archgraph import ArchGraph
from ..limits import MAX_GRAPH_OPS
from ..ops import Op, OpKind, numel, rule_for
from .layers import WEIGHTED, Namer


class Unsupported(Exception):
    """Raised by a mapper: this node has no archcalc op (the message says why)."""


def strip(shape) -> tuple:
    """The captured shape without its batch dimension of 1."""
    shape = tuple(map(int, shape))
    return shape[1:] if len(shape) >= 2 and shape[0] == 1 else shape


_SHORT: dict = {}      # op text -> short(op): a model has a few dozen distinct ops


def short(op: str) -> str:
    """"aten.convolution.default" -> "convolution"; ONNX "Conv" -> "conv"."""
    name = _SHORT.get(op)
    if name is None:
        parts = op.split(".")
        name = (parts[1] if len(parts) >= 2 and parts[0] == "aten" else parts[-1]).lower()
        if len(_SHORT) < 4096:
            _SHORT[op] = name
    return name


class Builder:
    """The graph being built, with the tensor -> node map the mappers read operands through."""

    def __init__(self, captured, model, weighted_modules):
        self.captured = captured
        self.graph = ArchGraph(spec=model, width=1, resolution=model.resolution, symbolic=False)
        self.node_of: dict[str, str] = {}          # captured tensor name -> graph node
        self.param_node: dict[str, str] = {}       # parameter name -> its PARAM node
        self.used_params: set = set()
        self.param_shape = {p.name: p.shape for p in captured.params}
        paths = {n.module for n in captured.nodes} | {p for n in captured.nodes
                                                      for p, _ in n.module_stack}
        self.namer = Namer(paths, weighted_modules)
        self.current = None                         # the captured node being mapped
        self.pending: list = []                     # PARAM nodes to add before the next op
        self.scratch: dict = {}                     # a mapper's state across nodes
        self.reused: list = []                      # (category, elements) counted before

    # -- operands -----------------------------------------------------------------------------
    def node(self, t) -> str | None:
        """The graph node of an operand: an activation's producer, a PARAM node for a
        parameter (made on first use), None for a buffer, a constant or constant plumbing."""
        if t.kind == "parameter":
            return self.param(t)
        return self.node_of.get(t.name)

    def param(self, t) -> str:
        """The PARAM node of a parameter operand; a new one joins its reader's layer (it is
        added when the reader is emitted, just before it)."""
        name = t.param or t.name
        if name not in self.param_node:
            reused = ((("weights", self.numel(name)),) if name in self.used_params else ())
            self.used_params.add(name)
            self.param_node[name] = self.namer.node_name("", name)
            self.pending.append((self.param_node[name], strip(t.shape), reused))
        return self.param_node[name]

    def numel(self, param: str) -> int:
        return numel(self.param_shape.get(param, ()))

    def consume(self, weight, bias, norm: bool = False) -> None:
        """Mark the parameter operands the op's own rule counts (a conv's weight and bias; a
        norm's gamma and beta, `norm`). One already counted by an earlier op (a module called
        twice, tied weights) is recorded as reused, and analyze subtracts it."""
        for t, category in ((weight, "bn_params" if norm else "weights"),
                            (bias, "bn_params" if norm else "bias")):
            if t is not None and t.kind == "parameter":
                name = t.param or t.name
                if name in self.used_params:
                    self.reused.append((category, self.numel(name)))
                self.used_params.add(name)

    def activations(self, n) -> list:
        """The activation operands of node `n` (graph inputs and op results) in order."""
        return [t for t in n.inputs if t.kind in ("input", "activation") and t.name in self.node_of]

    # -- nodes --------------------------------------------------------------------------------
    def emit(self, kind: OpKind, inputs: list, shape=None, output: int | None = 0,
             module: str | None = None, short_name: str | None = None, alias: bool = True,
             **fields) -> str:
        """Add one op reading `inputs` (graph nodes); its shape is the captured output's
        (`output`: which result), or `shape`. The captured result then maps to this node."""
        n = self.current
        outs = n.outputs if n is not None else ()
        if shape is None:
            if output is None or output >= len(outs):
                raise Unsupported("no tensor result")
            shape = strip(outs[output].shape)
        module = n.module if module is None else module
        op_short = short_name or short(n.op)
        layer, block = self.namer.layer(kind, module, op_short)
        for param, size, reused in self.pending:
            self.graph.add(Op(kind=OpKind.PARAM, name=param, layer=layer, block=block, size=size,
                              reused=reused), size, [])
        self.pending = []
        name = self.namer.node_name("" if kind is OpKind.PARAM else module, op_short)
        if self.reused:
            fields["reused"] = tuple(self.reused)
            self.reused = []
        op = Op(kind=kind, name=name, layer=layer, block=block, **fields)
        in_shapes = [self.graph.shape(u) for u in inputs]
        rule = rule_for(op)
        if kind is not OpKind.INPUT:
            expected = rule.shape(op, in_shapes)
            if numel(expected) != numel(shape):
                raise UnsupportedOpError(
                    f"internal: {n.op if n else kind} at {module or '<root>'}: the {kind} rule "
                    f"gives shape {expected}, the capture {shape}")
        if len(self.graph) >= MAX_GRAPH_OPS:
            raise UnsupportedOpError(f"the model has more than {MAX_GRAPH_OPS:,} ops (limit "
                                     "MAX_GRAPH_OPS)")
        self.graph.add(op, tuple(shape), inputs)
        if alias and output is not None and n is not None:
            for i, t in enumerate(outs):
                if i == output or len(outs) == 1:
                    self.node_of[t.name] = name
        return name

    def conv(self, x, w, bias, kernel: int, stride: int, padding, groups: int,
             dilation: int) -> str:
        """A 2-d convolution of activation `x` by weight `w` (and `bias`, counted when it is a
        stored parameter), of the kind its kernel and groups make it: pointwise (1 x 1),
        dense, depthwise (groups = C_in = C_out) or grouped. Both op maps (ATen, ONNX) end here."""
        c_in, c_out = strip(x.shape)[-3], w.shape[0]
        kind = OpKind.POINTWISE if kernel == 1 else OpKind.CONV if groups == 1 else \
            OpKind.DEPTHWISE if groups == c_in == c_out else OpKind.GROUPED_CONV
        has_bias = bias is not None and bias.kind == "parameter"
        self.consume(w, bias)
        return self.emit(kind, [self.node(x)], out_ch=c_out, kernel=kernel, stride=stride,
                         padding=padding, groups=groups, bias=has_bias,
                         dilation=dilation if kernel != 1 else 1)

    def alias(self, result, node: str) -> None:
        self.node_of[result.name] = node


def weighted_modules(captured, mapper) -> set:
    """Modules that run a conv or a linear (for layer names)."""
    return {n.module for n in captured.nodes if mapper.kind_hint(n) in WEIGHTED}


def to_graph(captured, model, mapper, allow_unknown: bool = False) -> ArchGraph:
    b = Builder(captured, model, weighted_modules(captured, mapper))
    for i, t in enumerate(captured.inputs):
        b.node_of[t.name] = b.emit(OpKind.INPUT, [], shape=strip(t.shape), output=None,
                                   module="", short_name="input",
                                   out_ch=strip(t.shape)[0] if len(strip(t.shape)) else 1)
    unknown: Counter = Counter()
    derived: dict = {}      # a tensor computed from one parameter alone -> that parameter
    for n in mapper.fuse(captured):
        if derived and any(t.name in derived for t in n.inputs):
            n = replace(n, inputs=tuple(replace(t, kind="parameter", param=derived[t.name])
                                        if t.name in derived else t for t in n.inputs))
        b.current = n
        if not b.activations(n):
            # constant plumbing: shape arithmetic, empty(), views of parameters (an ONNX
            # Transpose of a weight is still that weight)
            read = {t.param or t.name for t in n.inputs if t.kind == "parameter"}
            if len(read) == 1 and short(n.op) not in ("shape", "size"):   # not its shape
                derived.update((t.name, next(iter(read))) for t in n.outputs)
            continue
        try:
            try:
                mapper.map_node(b, n)
            except (Unsupported, UnsupportedOpError):
                raise
            except Exception as err:      # arguments a mapping did not expect: unknown, too
                raise Unsupported(f"{type(err).__name__}") from None
        except Unsupported as why:     # (a PARAM it reserved is added with the next node)
            unknown[(f"{n.op}" + (f" ({why})" if str(why) else ""), n.module)] += 1
            # kept (counted as zero) so that the walk goes on and every unknown op is listed
            ins = [b.node(t) for t in b.activations(n)]
            if n.outputs:
                b.emit(OpKind.UNKNOWN, ins, size=strip(n.outputs[0].shape), act=n.op)
                for t in n.outputs:
                    b.alias(t, b.node_of.get(n.outputs[0].name, ins[0]))
    if unknown and not allow_unknown:
        listing = "; ".join(f"{op} at {path or '<root>'} x{count}"
                            for (op, path), count in unknown.items())
        raise UnsupportedOpError(f"{model.name}: {sum(unknown.values())} op(s) archcalc has no "
                                 f"rule for: {listing} (--allow-unknown counts them as zero)")
    b.current = None
    for p in captured.params:
        if p.name not in b.used_params:
            module = p.name.rpartition(".")[0]
            b.emit(OpKind.PARAM, [], shape=tuple(p.shape), size=tuple(p.shape), module=module,
                   short_name=p.name, output=None)
    from .stream import mark_streams
    mark_streams(b.graph)
    notes = [t for t in getattr(captured, "notes", ()) if not t.startswith("producer:")]
    b.graph.spec = replace(model, unknown_ops=tuple((op, path, c) for (op, path), c
                                                    in unknown.items()),
                           notes=tuple(model.notes) + tuple(notes))
    return b.graph
