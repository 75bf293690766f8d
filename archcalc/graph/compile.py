"""Compile a NetworkSpec into an ArchGraph of primitive ops, at a point or symbolically.

Row semantics: MobileNetV2 Table 2 (each row repeated n times, "the first layer of each
sequence has a stride s and all others use stride 1"), Table 1 (the bottleneck block) and
Fig. 6b (residual placement); MobileNetV1 Fig. 3 (depthwise separable layer).
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import OptionError, SpecError, closest
from ..limits import MAX_GRAPH_OPS
from ..numbers import quote
from ..ops import Op, OpKind, rule_for
from ..spec import schema
from .archgraph import ArchGraph
from .cells import run_cell
from .checks import first_violation
from . import resample, tensor_rows
from .point import parse_input_size, parse_resolution, parse_width
from .rows import RowOutput, repeats
from .width import (ConcreteDomain, SymbolicDomain, expanded_channels, scaled_channels,
                    squeeze_channels)

__all__ = ["RowCompiler", "RowOutput", "compile_graph", "parse_width", "parse_resolution",
           "parse_input_size"]


class RowCompiler:
    """Builds an ArchGraph row by row: one handler per row type (`row()` dispatches), over an
    exact or a symbolic domain. `compile_graph` drives it over a whole spec; the design
    engine's derivations apply single rows with `row()`."""

    def __init__(self, spec: schema.NetworkSpec, graph: ArchGraph, domain):
        self.spec, self.g, self.domain = spec, graph, domain
        self.handlers = {schema.ConvRow: self.conv, schema.PointwiseRow: self.pwconv,
                         schema.DepthwiseRow: self.dwconv, schema.SeparableRow: self.sepconv,
                         schema.BottleneckRow: self.bottleneck, schema.PoolRow: self.pool,
                         schema.ShuffleUnitRow: self.shuffle_unit,
                         schema.PredictorRow: self.predictor,
                         schema.ShuffleV2UnitRow: self.shuffle_v2_unit,
                         schema.FcRow: self.fc, schema.ActivationRow: self.activation,
                         schema.IdentityRow: self.identity, schema.FitRow: self.fit,
                         schema.CellRow: self.cell}
        self.handlers.update({t: (lambda fn: lambda *a: fn(self, *a))(fn)
                              for t, fn in (*resample.HANDLERS.items(),
                                            *tensor_rows.HANDLERS.items())})
        self.layer_rate = 1          # atrous rate of the row being built (output_stride)
        self.names: dict[str, RowOutput] = {}
        self.history: list[RowOutput] = []   # row outputs in order (cells read the last two)
        # (named tensors, fallback input) of the cell instances being built (graph/cells.py)
        self.cell_scope: list[tuple] = [({}, None)]
        self.bound_cells: dict = {}  # (cell, arguments) -> bound nodes, reused by instances
        self.rows_built = 0          # rows and cell instances built (bounded by MAX_GRAPH_OPS)
        self.prev_expansion = None   # (node, design width, stride-1 block) for residual "expansion"

    # -- primitives ---------------------------------------------------------------------------
    def op(self, row: schema.Row | None, inputs: list[str], **fields) -> str:
        """Add one op; its block is the section its name starts with (every op's name starts
        with its row's path, `section.i...`, and section names are identifiers)."""
        op = Op(block=fields["name"].partition(".")[0], line=row.line if row else None, **fields)
        in_shapes = [self.g.shape(n) for n in inputs]
        shape = rule_for(op).shape(op, in_shapes)
        if not self.domain.symbolic:
            self._check(op, row, in_shapes, shape)
        return self.g.add(op, shape, inputs)

    def _check(self, op: Op, row, in_shapes, shape) -> None:
        """Validate at a concrete point (graph/checks.py: nothing vanishes, groups divide,
        residual shapes match, ...): the first check that fails is a located SpecError."""
        found = first_violation(op, in_shapes, shape)
        if found is None:
            return
        if row is None:
            line = None
        else:
            line = row.line if found.line_key is None else row.line_of(found.line_key)
        raise SpecError(found.message, path=self.spec.path, line=line, key=found.key)

    def conv_layer(self, row, x: str, layer: str, kind: OpKind, out_ch, kernel: int, stride: int,
                   act: str, groups=1, norm: str = "bn", bias: bool = False, padding="same",
                   stream_group: str | None = None, dilation: int = 1) -> str:
        """conv + BN + activation, like torchvision's Conv2dNormActivation; a k x k conv's
        dilation is multiplied by the row's atrous rate (output_stride; a 1x1 has none)."""
        common = dict(layer=layer, stream_group=stream_group)
        dilation = 1 if kind is OpKind.POINTWISE or kernel == 1 else dilation * self.layer_rate
        h = self.op(row, [x], kind=kind, name=f"{layer}.conv", out_ch=out_ch, kernel=kernel,
                    stride=stride, padding=padding, groups=groups, bias=bias, dilation=dilation,
                    **common)
        if norm == "bn":
            h = self.op(row, [h], kind=OpKind.BN, name=f"{layer}.bn", **common)
        if act != "linear":
            h = self.op(row, [h], kind=OpKind.ACT, name=f"{layer}.act", act=act, **common)
        return h

    def channels(self, row, c: int | None = None):
        """The row's c (or `c`) under the width multiplier and the row's rounding."""
        return scaled_channels(row.c if c is None else c, row.scale, self.spec.width, self.domain,
                               row.divisor)

    # -- rows ---------------------------------------------------------------------------------
    def conv(self, row: schema.ConvRow, x: RowOutput, stride: int, path: str,
             rep: int) -> RowOutput:
        if row.k == 1:
            kind = OpKind.POINTWISE
        else:
            kind = OpKind.CONV if row.groups == 1 else OpKind.GROUPED_CONV
        node = self.conv_layer(row, x.node, path, kind, self.channels(row), row.k,
                               stride, row.act, row.groups, row.norm, row.bias, row.padding,
                               dilation=row.dilation, stream_group=row.stream_group)
        return RowOutput(node, row.c)

    def pwconv(self, row: schema.PointwiseRow, x: RowOutput, stride: int, path: str,
               rep: int) -> RowOutput:
        node = self.conv_layer(row, x.node, path, OpKind.POINTWISE, self.channels(row),
                               1, stride, row.act, row.groups, row.norm, row.bias,
                               stream_group=row.stream_group)
        return RowOutput(node, row.c)

    def dwconv(self, row: schema.DepthwiseRow, x: RowOutput, stride: int, path: str,
               rep: int) -> RowOutput:
        c = self.g.shape(x.node)[0]
        node = self.conv_layer(row, x.node, path, OpKind.DEPTHWISE, c, row.k, stride, row.act,
                               c, row.norm, row.bias, row.padding, dilation=row.dilation,
                               stream_group=row.stream_group)
        return RowOutput(node, x.design_c)

    def sepconv(self, row: schema.SeparableRow, x: RowOutput, stride: int, path: str,
                rep: int) -> RowOutput:
        c = self.g.shape(x.node)[0]
        h = self.conv_layer(row, x.node, f"{path}.dw", OpKind.DEPTHWISE, c, row.k, stride,
                            row.act, c, row.norm, padding=row.padding, dilation=row.dilation)
        h = self.conv_layer(row, h, f"{path}.pw", OpKind.POINTWISE, self.channels(row),
                            1, 1, row.act, 1, row.norm)
        return RowOutput(h, row.c)

    def bottleneck(self, row: schema.BottleneckRow, x: RowOutput, stride: int, path: str,
                   rep: int) -> RowOutput:
        """MobileNetV2 Table 1: 1x1 expand to t*c_in + ReLU6 (none when t = 1), k x k depthwise
        with the stride + ReLU6, linear 1x1 projection to c; residual when s = 1 and c_in = c."""
        c_in = self.g.shape(x.node)[0]
        mid = c_in if row.t == 1 else expanded_channels(c_in, row.t, self.spec.width, self.domain)
        group = path
        h = x.node
        prev, self.prev_expansion = self.prev_expansion, None
        if row.t != 1:
            h = self.conv_layer(row, h, f"{path}.expand", OpKind.POINTWISE, mid, 1, 1, row.act,
                                stream_group=group)
            design_mid = (row.t, x.design_c)
            if row.residual == "expansion" and prev is not None and prev[1] == design_mid and prev[2]:
                h = self.op(row, [prev[0], h], kind=OpKind.ADD, name=f"{path}.expand_add",
                            layer=f"{path}.expand_add", stream_group=group)
            self.prev_expansion = (h, design_mid, stride == 1)
        h = self.conv_layer(row, h, f"{path}.dw", OpKind.DEPTHWISE, mid, row.k, stride, row.act,
                            groups=mid, padding=row.padding, stream_group=group,
                            dilation=row.dilation)
        if row.se:
            # The gate needs the whole depthwise output before it can scale it, so that output
            # is materialised: the SE, the scaled tensor and the projection stream as a second
            # group (the projection reads the scaled tensor in slices, Sec. 5.1).
            group = f"{path}.se"
            h = self.squeeze_excite(row, h, c_in if row.se_of == "input" else mid, path, group)
        h = self.conv_layer(row, h, f"{path}.project", OpKind.POINTWISE,
                            self.channels(row), 1, 1, row.project_act,
                            stream_group=group)
        design_equal = (x.design_c == row.c) if x.design_c is not None else None
        if row.residual == "bottleneck" and self.residual(stride, c_in, self.g.shape(h)[0],
                                                          design_equal):
            h = self.op(row, [x.node, h], kind=OpKind.ADD, name=f"{path}.add", layer=f"{path}.add",
                        stream_group=group)
        return RowOutput(h, row.c)

    def squeeze_excite(self, row: schema.BottleneckRow, x: str, of, path: str, group: str) -> str:
        """Squeeze-and-excitation (Hu et al. 2018; MobileNetV3 Sec. 5.3, Fig. 4): global average
        pool, 1x1 conv to the squeeze width + act, 1x1 conv back + gate (both with a bias, no
        BN), then x * gate."""
        c = self.g.shape(x)[0]
        squeeze = squeeze_channels(of, row.se, row.se_rounding, self.spec.width, self.domain)
        h = self.op(row, [x], kind=OpKind.POOL, name=f"{path}.se.pool", pool="avg",
                    global_pool=True, layer=f"{path}.se.pool", stream_group=group)
        h = self.conv_layer(row, h, f"{path}.se.reduce", OpKind.POINTWISE, squeeze, 1, 1,
                            row.se_act, norm="none", bias=True, stream_group=group)
        h = self.conv_layer(row, h, f"{path}.se.expand", OpKind.POINTWISE, c, 1, 1,
                            row.se_gate, norm="none", bias=True, stream_group=group)
        return self.op(row, [x, h], kind=OpKind.MUL, name=f"{path}.se.scale",
                       layer=f"{path}.se.scale", stream_group=group)

    def shuffle_v2_unit(self, row: schema.ShuffleV2UnitRow, x: RowOutput, stride: int,
                        path: str, rep: int) -> RowOutput:
        """ShuffleNetV2 unit (Ma et al. 2018, Fig. 3c, 3d), as torchvision's InvertedResidual:
        each branch makes c / 2 channels; the stride-1 unit passes the first half of its input
        through and runs the second half; then a channel shuffle with 2 groups."""
        c_in = self.g.shape(x.node)[0]
        c_out = self.channels(row)
        half = self._half(c_out, row, "c")
        common = dict(stream_group=path)
        if stride == 1:
            if x.design_c != row.c:
                raise SpecError(f"a stride-1 ShuffleNetV2 unit passes half its input through, so c "
                                f"must equal the input's {x.design_c} (got {row.c})",
                                path=self.spec.path, line=row.line_of("c"), key="c")
            first = self._half(c_in, row, "c")
            keep = self.op(row, [x.node], kind=OpKind.SLICE, name=f"{path}.split1",
                           layer=f"{path}.split", out_ch=first, start=0, **common)
            h = self.op(row, [x.node], kind=OpKind.SLICE, name=f"{path}.split2",
                        layer=f"{path}.split", out_ch=c_in - first, start=first, **common)
        else:
            keep = self.conv_layer(row, x.node, f"{path}.branch1.dw", OpKind.DEPTHWISE, c_in, row.k,
                                   stride, "linear", groups=c_in, **common)
            keep = self.conv_layer(row, keep, f"{path}.branch1.pw", OpKind.POINTWISE, half, 1, 1,
                                   "relu", **common)
            h = x.node
        h = self.conv_layer(row, h, f"{path}.branch2.pw1", OpKind.POINTWISE, half, 1, 1, "relu",
                            **common)
        h = self.conv_layer(row, h, f"{path}.branch2.dw", OpKind.DEPTHWISE, half, row.k, stride,
                            "linear", groups=half, **common)
        h = self.conv_layer(row, h, f"{path}.branch2.pw2", OpKind.POINTWISE, half, 1, 1, "relu",
                            **common)
        h = self.op(row, [keep, h], kind=OpKind.CONCAT, name=f"{path}.concat",
                    layer=f"{path}.concat", **common)
        h = self.op(row, [h], kind=OpKind.SHUFFLE, name=f"{path}.shuffle", layer=f"{path}.shuffle",
                    groups=2, **common)
        return RowOutput(h, row.c)

    def _half(self, c, row, key: str):
        """c / 2 for a channel split; an odd count at a point is a spec error."""
        if getattr(c, "is_Integer", False):      # exact widths in a graph symbolic in r
            c = int(c)
        if isinstance(c, int):
            if c % 2:
                raise SpecError(f"{c} channels cannot be split in two halves", path=self.spec.path,
                                line=row.line_of(key), key=key)
            return c // 2
        return self._floor_div(c, 2)

    def residual(self, stride: int, c_in, c_out, design_equal: bool | None) -> bool:
        """A residual add where stride is 1 and the widths match, decided on the actual (rounded)
        widths as torchvision, TF-slim and Keras do (`stride == 1 and inp == oup`).

        A symbolic graph decides on the design widths, so that one graph serves every point,
        and records a guard: the condition on alpha under which the actual widths decide
        otherwise (e.g. MobileNetV2 at alpha 0.25, where 32 and 16 both round to 8). At such
        points closed forms do not hold, and evaluation compiles the point instead."""
        if stride != 1:
            return False
        if self.domain.exact_widths:
            return bool(c_in == c_out)
        if design_equal is None:   # an input taken `from` a layer path: no design count
            design_equal = c_in == c_out
        if c_in != c_out:          # different expressions: they may still agree at some alpha
            import sympy
            self.g.guards.append(sympy.Eq(c_in, c_out) if not design_equal else sympy.Ne(c_in, c_out))
        return design_equal

    def shuffle_unit(self, row: schema.ShuffleUnitRow, x: RowOutput, stride: int, path: str,
                     rep: int) -> RowOutput:
        """ShuffleNet unit (Zhang et al. 2017, Fig. 2b, 2c); bottleneck width = c / 4 of the
        unit's output (Sec. 3.3), as the authors' released code computes it (out // 4)."""
        c_in = self.g.shape(x.node)[0]
        c_out = self.channels(row)
        mid = c_out // 4 if isinstance(c_out, int) else self._floor_div(c_out, 4)
        g1 = 1 if (rep == 0 and not row.group_first_pw) else row.groups
        branch_out = c_out - c_in if stride != 1 else c_out
        kind1 = OpKind.POINTWISE
        h = self.conv_layer(row, x.node, f"{path}.pw1", kind1, mid, 1, 1, "relu", groups=g1,
                            stream_group=path)
        if row.groups > 1:
            h = self.op(row, [h], kind=OpKind.SHUFFLE, name=f"{path}.shuffle", layer=f"{path}.shuffle",
                        groups=row.groups, stream_group=path)
        h = self.conv_layer(row, h, f"{path}.dw", OpKind.DEPTHWISE, mid, row.k, stride, "linear",
                            groups=mid, stream_group=path)
        h = self.conv_layer(row, h, f"{path}.pw2", OpKind.POINTWISE, branch_out, 1, 1, "linear",
                            groups=row.groups, stream_group=path)
        if stride == 1:
            if x.design_c != row.c:
                raise SpecError(f"a stride-1 ShuffleNet unit adds its input, so c must equal the "
                                f"input's {x.design_c} (got {row.c})", path=self.spec.path,
                                line=row.line_of("c"), key="c")
            h = self.op(row, [x.node, h], kind=OpKind.ADD, name=f"{path}.add", layer=f"{path}.add",
                        stream_group=path)
        else:
            shortcut = self.op(row, [x.node], kind=OpKind.POOL, name=f"{path}.shortcut",
                               layer=f"{path}.shortcut", pool="avg", kernel=3, stride=stride,
                               padding=1, stream_group=path)
            h = self.op(row, [shortcut, h], kind=OpKind.CONCAT, name=f"{path}.concat",
                        layer=f"{path}.concat", stream_group=path)
        h = self.op(row, [h], kind=OpKind.ACT, name=f"{path}.act", layer=f"{path}.concat"
                    if stride != 1 else f"{path}.add", act="relu", stream_group=path)
        return RowOutput(h, row.c)

    def _floor_div(self, c, d: int):
        import sympy
        return sympy.floor(c / d)

    def predictor(self, row: schema.PredictorRow, x: RowOutput, stride: int, path: str,
                  rep: int) -> RowOutput:
        """Box and class predictors of one SSD feature map (graph outputs); passes x through."""
        for name, per_anchor in (("box", row.box_size), ("cls", row.classes)):
            h = x.node
            if row.separable:
                c = self.g.shape(h)[0]
                h = self.conv_layer(row, h, f"{path}.{name}_dw", OpKind.DEPTHWISE, c, row.k, 1,
                                    row.act, groups=c)
            k = 1 if row.separable else row.k
            kind = OpKind.POINTWISE if k == 1 else OpKind.CONV
            self.conv_layer(row, h, f"{path}.{name}", kind, row.anchors * per_anchor, k, 1, "linear",
                            norm="none", bias=True)
        return x

    def activation(self, row: schema.ActivationRow, x: RowOutput, stride: int, path: str,
                   rep: int) -> RowOutput:
        node = self.op(row, [x.node], kind=OpKind.ACT, name=f"{path}.act", layer=path, act=row.act)
        return RowOutput(node, x.design_c)

    def identity(self, row, x: RowOutput, stride: int, path: str, rep: int) -> RowOutput:
        return x

    def fit(self, row: schema.FitRow, x: RowOutput, stride: int, path: str, rep: int) -> RowOutput:
        """NASNet's adjustments (see schema.FitRow); decided on design channels and strides."""
        scope, fallback = self.cell_scope[-1]
        like = scope.get(row.like) if row.like else None
        if row.like and like is None:
            raise SpecError(f"'like' names no earlier node of this cell: {quote(row.like)}",
                            path=self.spec.path, line=row.line_of("like"), key="like")
        if x is fallback:
            return x           # a missing previous input stands in as it is
        h = x.node
        c = self.channels_fixed(row.c)
        if like is not None and like.output_stride != x.output_stride:
            if row.relu:
                h = self.op(row, [h], kind=OpKind.ACT, name=f"{path}.relu", layer=path, act="relu")
            return RowOutput(self.factorized_reduction(row, h, c, path), row.c, like.output_stride)
        if stride > 1 or x.design_c != row.c:
            if row.relu:
                h = self.op(row, [h], kind=OpKind.ACT, name=f"{path}.relu", layer=path, act="relu")
            h = self.conv_layer(row, h, f"{path}.proj", OpKind.POINTWISE, c, 1, stride, "linear")
            return RowOutput(h, row.c, None if x.output_stride is None
                             else x.output_stride * stride)
        return x

    def channels_fixed(self, c: int):
        """A channel count inside a cell, scaled by the width multiplier like any row's."""
        return scaled_channels(c, "all", self.spec.width, self.domain)

    def factorized_reduction(self, row, h: str, c, path: str) -> str:
        """TF-slim nasnet_utils.factorized_reduction (stride 2): two 1x1-subsampled paths (the
        second shifted by one pixel), each a 1x1 conv to c/2, concatenated, then BN."""
        if isinstance(c, int):
            half = c // 2
        else:
            import sympy
            half = sympy.floor(c / 2)
        a = self.op(row, [h], kind=OpKind.POOL, name=f"{path}.path1.pool", layer=f"{path}.path1",
                    pool="avg", kernel=1, stride=2, padding="valid")
        a = self.op(row, [a], kind=OpKind.POINTWISE, name=f"{path}.path1.conv", layer=f"{path}.path1",
                    out_ch=half)
        b = self.op(row, [h], kind=OpKind.SHIFT, name=f"{path}.path2.shift", layer=f"{path}.path2")
        b = self.op(row, [b], kind=OpKind.POOL, name=f"{path}.path2.pool", layer=f"{path}.path2",
                    pool="avg", kernel=1, stride=2, padding="valid")
        b = self.op(row, [b], kind=OpKind.POINTWISE, name=f"{path}.path2.conv", layer=f"{path}.path2",
                    out_ch=c - half)   # TF asserts an even c; an odd one gives path 2 the extra channel
        h = self.op(row, [a, b], kind=OpKind.CONCAT, name=f"{path}.concat", layer=f"{path}.concat")
        return self.op(row, [h], kind=OpKind.BN, name=f"{path}.bn", layer=f"{path}.concat")

    def cell(self, row: schema.CellRow, x: RowOutput, stride: int, path: str,
             rep: int) -> RowOutput:
        """A user-defined cell: its inputs are this row's input and, for a second input, the
        output of the row before (NASNet's h_{i-1}, h_{i-2}); a missing one falls back to x.
        Built without recursion (graph/cells.py)."""
        return run_cell(self, row, x, path)

    def pool(self, row: schema.PoolRow, x: RowOutput, stride: int, path: str,
             rep: int) -> RowOutput:
        node = self.op(row, [x.node], kind=OpKind.POOL, name=f"{path}.pool", layer=path,
                       pool=row.pool, kernel=row.k, stride=stride, padding=row.padding,
                       global_pool=row.global_, written_as=row.written_as,
                       ceil_mode=row.ceil_mode)
        return RowOutput(node, x.design_c)

    def fc(self, row: schema.FcRow, x: RowOutput, stride: int, path: str, rep: int) -> RowOutput:
        h = self.op(row, [x.node], kind=OpKind.FC, name=f"{path}.fc", layer=path,
                    out_ch=self.channels(row), bias=row.bias)
        if row.act != "linear":
            h = self.op(row, [h], kind=OpKind.ACT, name=f"{path}.act", layer=path, act=row.act)
        return RowOutput(h, row.c)

    def build(self) -> None:
        spec, g = self.spec, self.g
        x = RowOutput(g.add(Op(kind=OpKind.INPUT, name="input", layer="input", block="input",
                               out_ch=spec.input_channels),
                            (spec.input_channels, self.domain.h, self.domain.w), []),
                      spec.input_channels)
        for section in spec.sections:
            for i, row in enumerate(section.rows):
                if row.from_ is not None:
                    x = self.lookup(row)
                for rep, stride in repeats(row):
                    path = f"{section.name}.{i}" + (f".{rep}" if row.n > 1 else "")
                    x = self.row(row, x, stride, path, rep)
                    self.names[path] = x
                    self.history.append(x)
                self.names[f"{section.name}.{i}"] = x      # a repeated row's path: its last repeat
                if row.name is not None:
                    if row.name in self.names:
                        raise SpecError("this name is already taken by an earlier row",
                                        path=spec.path, line=row.line_of("name"), key="name")
                    self.names[row.name] = x

    def count(self, row) -> None:
        """Count one row (or cell instance) built: a spec whose rows and cells expand past
        MAX_GRAPH_OPS is refused as soon as it does, even if they build no ops."""
        self.rows_built += 1
        if self.rows_built > MAX_GRAPH_OPS:
            raise SpecError(f"the network expands to more than {MAX_GRAPH_OPS:,} rows and cell "
                            f"instances (limit MAX_GRAPH_OPS)", path=self.spec.path,
                            line=getattr(row, "line", None))

    def row(self, row, x: RowOutput, stride: int, path: str, rep: int = 0) -> RowOutput:
        """Build repeat `rep` of a row on `x` with `stride` (graph.rows.repeats gives both) at
        `path` (`section.i[.rep]`: its first part names the ops' block); the output stride
        follows the row's stride."""
        self.count(row)
        if not isinstance(row, schema.BottleneckRow):
            self.prev_expansion = None     # an expansion shortcut joins consecutive blocks only
        stride, rate, rate_after, grows = resample.layer_stride(self, row, x, stride, path)
        saved, self.layer_rate = self.layer_rate, rate
        try:
            out = self.handlers[type(row)](row, x, stride, path, rep)
        finally:
            self.layer_rate = saved
        if out is x or isinstance(row, (schema.CellRow, schema.FitRow)):
            return out          # passed through, or the handler set the output stride itself
        if isinstance(row, (schema.UpsampleRow, schema.SpaceToDepthRow)):
            return replace(out, rate=rate_after)
        return replace(out, output_stride=None if x.output_stride is None
                       else x.output_stride * (stride if grows else 1), rate=rate_after)

    def lookup(self, row) -> RowOutput:
        """The tensor a row's `from` names: an earlier row's name, a row path (its output)
        or a layer path inside a block (e.g. bottlenecks.5.0.expand: that layer's output)."""
        ref = row.from_
        if ref in self.names:
            return self.names[ref]
        node = self.g.last_of_layer.get(ref)
        if node is not None:
            return RowOutput(node, None, None)
        known = list(self.names) + sorted({self.g.op(n).layer for n in self.g.names})
        raise SpecError(f"no earlier row or layer named {quote(ref)}", path=self.spec.path,
                        line=row.line_of("from"), key="from", hint=closest(ref, known))


def compile_graph(spec: schema.NetworkSpec, width=None, resolution=None, *,
                  symbolic: bool | str = False) -> ArchGraph:
    """Compile `spec` at (width, resolution) with exact numbers; with symbolic=True as closed
    forms in alpha and r; with symbolic="r" at `width` (exact channel counts, residuals decided
    on them as at a point) as closed forms in r alone. A missing width is 1; a missing
    resolution the spec's own. A point's resolution may be non-square (`224x320`, an
    InputSize (H, W)); closed forms need a square spec."""
    if symbolic is not False and not isinstance(spec.resolution, int):
        raise SpecError(f"closed forms are in one resolution symbol r and need a square input; "
                        f"this spec's input is {spec.resolution} (use report, compare or verify "
                        f"at a point)", path=spec.path, key="input.resolution")
    if symbolic == "r":
        if resolution is not None:
            raise OptionError("a graph symbolic in r takes no resolution; evaluate it at one")
        domain = SymbolicDomain(alpha=parse_width(1 if width is None else width))
    elif symbolic is True:
        if width is not None or resolution is not None:
            raise OptionError("a symbolic graph takes no width or resolution; evaluate it at one")
        domain = SymbolicDomain()
    elif symbolic is not False:
        raise OptionError(f"symbolic must be True, False or 'r', got {quote(symbolic)}")
    else:
        domain = ConcreteDomain(parse_width(1 if width is None else width),
                                parse_input_size(spec.resolution if resolution is None
                                                 else resolution, spec.resolution))
    graph = ArchGraph(spec=spec, width=domain.alpha, resolution=domain.r, symbolic=domain.symbolic)
    RowCompiler(spec, graph, domain).build()
    return graph
