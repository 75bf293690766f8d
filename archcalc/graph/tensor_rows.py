"""Row handlers of the ops an imported model is made of (the rows `archcalc import` writes:
spec/schema.py StandaloneRow and MergeRow). Each row compiles onto one existing op kind, so
its counts come from that kind's one rule in archcalc/ops (rules.py, tensor_rules.py): no
second cost rule.

- standalone ops on the row's input: `bn`, `act` (an element-wise function), `softmax`,
  `flatten`, `view` / `copy` (a fixed shape), `shuffle`, `slice` (an equal part of an axis),
  `linear` (over the last axis), `layernorm` / `groupnorm`, `adaptive_avgpool` /
  `adaptive_maxpool`, `param` (a stored tensor);
- ops of several earlier tensors named by `of`: `add`, `mul` (broadcasting, as PyTorch),
  `concat`, `matmul`, `attention`.

Shapes of any rank; the build checks of graph/checks.py apply to C x H x W tensors, and the
rank-general ops check what they need here (elements of a view, broadcasting, parts that
divide an axis). A row with a fixed shape (`view`, `copy`, `param`) describes the network at
one input size and width only: it has no closed form, and a point where its shape does not
fit is refused.
"""
from __future__ import annotations

from ..errors import SpecError, closest
from ..numbers import quote
from ..ops import Op, OpKind, numel, rule_for
from ..spec import schema
from .checks import first_violation
from .rows import RowOutput
from .width import scaled_channels

def _fail(c, row, message: str, key: str | None = None):
    raise SpecError(message, path=c.spec.path, line=row.line_of(key) if key else row.line,
                    key=key)


def emit(c, row, inputs: list[str], shape=None, **fields) -> str:
    """Add one op (as RowCompiler.op), checking it as its rank allows; `shape` replaces the
    rule's output shape by one of as many elements (a mean's C values, not C x 1 x 1)."""
    op = Op(block=fields["name"].partition(".")[0], line=row.line, **fields)
    in_shapes = [c.g.shape(n) for n in inputs]
    ruled = rule_for(op).shape(op, in_shapes)
    shape = ruled if shape is None else shape
    if not c.domain.symbolic:
        if op.kind in (OpKind.ADD, OpKind.MUL):
            for axis in range(1, max(len(s) for s in in_shapes) + 1):
                sizes = {s[-axis] for s in in_shapes if len(s) >= axis} - {1}
                if len(sizes) > 1:
                    _fail(c, row, f"shapes {' and '.join(str(list(s)) for s in in_shapes)} do "
                                  f"not broadcast at {op.name}", "of")
        elif all(len(s) == 3 for s in (ruled, *in_shapes)):
            found = first_violation(op, in_shapes, ruled)
            if found is not None:
                _fail(c, row, found.message, found.line_key)
    return c.g.add(op, shape, inputs)


def _operand(c, row, ref: str) -> str:
    if ref in c.names:
        return c.names[ref].node
    node = c.g.last_of_layer.get(ref)
    if node is not None:
        return node
    known = list(c.names) + sorted({c.g.op(n).layer for n in c.g.names})
    raise SpecError(f"no earlier row or layer named {quote(ref)}", path=c.spec.path,
                    line=row.line_of("of"), key="of", hint=closest(ref, known))


def merge(c, row: schema.MergeRow, x: RowOutput, stride: int, path: str, rep: int) -> RowOutput:
    """add / mul / concat / matmul / attention of the tensors `of` names, in order."""
    ins = [_operand(c, row, ref) for ref in row.of]
    kind = {"add": OpKind.ADD, "mul": OpKind.MUL, "concat": OpKind.CONCAT,
            "matmul": OpKind.MATMUL, "attention": OpKind.ATTENTION}[row.op]
    arity = {"add": 2, "mul": 2, "matmul": 2, "attention": 3}.get(row.op)
    if arity is not None and len(ins) != arity:
        _fail(c, row, f"'{row.op}' takes {arity} tensors, `of` names {len(ins)}", "of")
    fields = {}
    if kind in (OpKind.MATMUL, OpKind.ATTENTION) and not c.domain.symbolic:
        shapes = [c.g.shape(u) for u in ins]
        if min(len(s) for s in shapes) < 2:
            _fail(c, row, f"'{row.op}' of a rank-1 tensor", "of")
        pairs = [(shapes[0][-1], shapes[1][-2])] if kind is OpKind.MATMUL else \
            [(shapes[0][-1], shapes[1][-1]), (shapes[1][-2], shapes[2][-2])]
        a, b = shapes[0][:-2], shapes[1][:-2]
        batch = [(x, y) for x, y in zip(a[::-1], b[::-1]) if 1 not in (x, y)]
        if any(x != y for x, y in pairs + batch):
            _fail(c, row, f"'{row.op}' of shapes {' and '.join(str(list(s)) for s in shapes)}: "
                          f"the sizes do not match", "of")
    if kind is OpKind.CONCAT:
        ranks = {len(c.g.shape(u)) for u in ins}
        if len(ranks) > 1 or -row.axis > min(ranks):
            _fail(c, row, f"cannot concatenate tensors of ranks {sorted(ranks)} along axis "
                          f"{row.axis}", "axis")
        if not c.domain.symbolic:
            shapes = [list(c.g.shape(u)) for u in ins]
            rest = {tuple(s[:row.axis] + (s[row.axis + 1:] if row.axis != -1 else []))
                    for s in shapes}
            if len(rest) > 1:
                _fail(c, row, f"concatenation of shapes {' and '.join(map(str, shapes))} along "
                              f"axis {row.axis}", "of")
        fields["axis"] = row.axis
    node = emit(c, row, ins, kind=kind, name=f"{path}.{row.op}", layer=path,
                stream_group=row.stream_group, **fields)
    first = next((o for o in c.names.values() if o.node == ins[0]), None)
    keeps = kind in (OpKind.ADD, OpKind.MUL) and c.g.shape(node) == c.g.shape(ins[0])
    return RowOutput(node, first.design_c if keeps and first else None)


def _fixed_shape(c, row, x: RowOutput) -> tuple:
    """A view's or copy's shape (none written: its input's), or a param's."""
    if not row.shape and row.op != "param":
        return tuple(c.g.shape(x.node))
    if c.domain.symbolic:
        _fail(c, row, f"a '{row.op}' row has a fixed shape {list(row.shape)}: it describes one "
                      f"input size and width, and has no closed form (use report or compare at "
                      f"a point)", "shape")
    if row.expects and tuple(row.expects) != tuple(c.g.shape(x.node)):
        _fail(c, row, f"this view was written for an input of shape {list(row.expects)}, its "
                      f"input is {list(c.g.shape(x.node))}", "expects")
    if row.op != "param" and not row.expects and numel(row.shape) != numel(c.g.shape(x.node)):
        _fail(c, row, f"shape {list(row.shape)} has {numel(row.shape):,} elements, its input "
                      f"{list(c.g.shape(x.node))} has {numel(c.g.shape(x.node)):,} (the shape "
                      f"was written for another input size or width)", "shape")
    return tuple(row.shape)


def standalone(c, row: schema.StandaloneRow, x: RowOutput, stride: int, path: str,
               rep: int) -> RowOutput:
    """One op on the row's input (or none, for `param`)."""
    op, h = row.op, x.node
    shape = c.g.shape(h)
    common = dict(layer=path, stream_group=row.stream_group)
    keep = x.design_c                 # ops that keep the channels keep the design count
    if op == "bn":
        fields = dict(kind=OpKind.BN, name=f"{path}.bn")
    elif op == "act":
        fields = dict(kind=OpKind.ACT, name=f"{path}.act", act=row.fn)
    elif op == "softmax":
        fields = dict(kind=OpKind.SOFTMAX, name=f"{path}.softmax")
    elif op == "shuffle":
        if isinstance(shape[0], int) and shape[0] % row.groups:
            _fail(c, row, f"{shape[0]} channels cannot be shuffled in {row.groups} groups",
                  "groups")
        fields = dict(kind=OpKind.SHUFFLE, name=f"{path}.shuffle", groups=row.groups)
    elif op == "mean":
        if len(shape) != 3:
            _fail(c, row, f"a mean over H and W of a rank-{len(shape)} tensor")
        node = emit(c, row, [h], shape=(shape[0],), kind=OpKind.POOL, name=f"{path}.mean",
                    pool="avg", global_pool=True, **common)
        return RowOutput(node, keep)
    elif op == "flatten":
        fields, keep = dict(kind=OpKind.VIEW, name=f"{path}.flatten", size=(numel(shape),)), None
    elif op in ("view", "copy"):
        kind = OpKind.VIEW if op == "view" else OpKind.COPY
        fields, keep = dict(kind=kind, name=f"{path}.{op}", size=_fixed_shape(c, row, x)), None
    elif op == "param":
        size = _fixed_shape(c, row, x)
        node = emit(c, row, [], kind=OpKind.PARAM, name=f"{path}.param", size=size, **common)
        return RowOutput(node, None, None)
    elif op == "slice":
        if -row.axis > len(shape):
            _fail(c, row, f"axis {row.axis} of a rank-{len(shape)} tensor", "axis")
        total = shape[row.axis]
        if row.index >= row.parts:
            _fail(c, row, f"part {row.index} of {row.parts} (parts count from 0)", "index")
        if isinstance(total, int) and total % row.parts:
            _fail(c, row, f"{total} cannot be split in {row.parts} equal parts", "parts")
        part = total // row.parts if isinstance(total, int) else total / row.parts
        fields = dict(kind=OpKind.SLICE, name=f"{path}.slice", out_ch=part,
                      start=row.index * part, axis=row.axis)
        keep = None
    elif op == "linear":
        out = scaled_channels(row.c, row.scale, c.spec.width, c.domain, row.divisor)
        fields = dict(kind=OpKind.LINEAR, name=f"{path}.linear", out_ch=out, bias=row.bias)
        keep = row.c
    elif op in schema.NORM_ROWS:
        if op == "layernorm":
            if row.axes > len(shape):
                _fail(c, row, f"{row.axes} axes of a rank-{len(shape)} tensor", "axes")
            fields = dict(kind=OpKind.NORM, name=f"{path}.norm", norm="layer",
                          size=tuple(shape[-row.axes:]), bias=row.affine)
        else:
            if isinstance(shape[0], int) and shape[0] % row.groups:
                _fail(c, row, f"{shape[0]} channels are not divisible by groups={row.groups}",
                      "groups")
            fields = dict(kind=OpKind.NORM, name=f"{path}.norm", norm="group",
                          groups=row.groups, bias=row.affine)
    else:                                            # adaptive pools
        if len(shape) != 3:
            _fail(c, row, f"adaptive pooling of a rank-{len(shape)} tensor")
        fields = dict(kind=OpKind.ADAPTIVE_POOL, name=f"{path}.pool", pool=op[9:12],
                      size=schema.sides(row.size))
    node = emit(c, row, [h], **fields, **common)
    return RowOutput(node, keep)


HANDLERS = {schema.StandaloneRow: standalone, schema.MergeRow: merge}
