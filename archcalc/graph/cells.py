"""Compiling instances of user-defined cells, without recursion.

A cell may contain cells (NASNet's normal cell contains `sep` cells), up to MAX_CELL_DEPTH
deep. Each instance is a generator that builds its nodes row by row and hands a contained
cell row back to one driver loop (`run_cell`), which keeps the open instances on an explicit
stack: the Python stack stays a few frames deep however deep cells nest, and the work is
linear in the size of the compiled graph. Bindings are reused for equal arguments
(spec.cells.bind_cell with the compiler's cache).
"""
from __future__ import annotations

from ..errors import SpecError
from ..numbers import cut
from ..ops import OpKind
from ..spec import schema
from ..spec.cells import bind_cell
from .rows import RowOutput, repeats


def run_cell(c, row: schema.CellRow, x, path: str):
    """Build one instance of `row`'s cell on input `x` with compiler `c`; its output RowOutput."""
    stack = [_instance(c, row, x, path)]
    value = None
    try:
        while stack:
            try:
                request = stack[-1].send(value)
            except StopIteration as done:
                stack.pop()
                value = done.value
                continue
            inner, h, p = request
            stack.append(_instance(c, inner, h, p))
            value = None
    finally:
        for gen in reversed(stack):      # on an error: restore each open instance's state
            gen.close()
    return value


def _instance(c, row: schema.CellRow, x, path: str):
    """A generator building one cell instance; yields (cell row, input, path) for each cell
    it contains and is sent back that instance's output."""
    cell, nodes = bind_cell(c.spec, row, c.bound_cells)
    scope: dict = {cell.inputs[0]: x}
    fallback = None
    if len(cell.inputs) > 1:      # the output of the row before this one (NASNet's h_{i-1})
        hist = c.history
        skip = 1 if hist and hist[-1] is x else 0
        earlier = hist[-1 - skip] if len(hist) > skip else None
        scope[cell.inputs[1]] = x if earlier is None else earlier
        fallback = x if earlier is None else None
    saved_history = c.history
    c.cell_scope.append((scope, fallback))
    try:
        for node in nodes:
            outs = []
            for b, (source, rows) in enumerate(node.branches):
                h = scope[source]          # names were checked when the spec loaded
                prefix = f"{path}.{node.name}" + (f".{b}" if len(node.branches) > 1 else "")
                c.history = [h]
                for j, r in enumerate(rows):
                    for rep, s in repeats(r):
                        p = f"{prefix}.{j}" + (f".{rep}" if r.n > 1 else "")
                        if isinstance(r, schema.CellRow):
                            c.count(r)
                            c.prev_expansion = None
                            h = yield r, h, p
                        else:
                            h = c.row(r, h, s, p, rep)
                        c.history.append(h)
                outs.append(h)
            if node.combine == "seq":
                scope[node.name] = outs[0]
                continue
            scope[node.name] = _combine(c, row, cell, node, outs, path)
    finally:
        c.cell_scope.pop()
        c.history = saved_history
    return scope["output"]


def _combine(c, row, cell, node, outs, path: str) -> RowOutput:
    """A node's branches added (same output stride) or concatenated along channels."""
    if node.combine == "add":
        if len({o.output_stride for o in outs}) > 1:
            raise SpecError(f"an add of branches with different strides in cell '{cut(cell.name)}'",
                            path=c.spec.path, line=node.line, key=node.key)
        acc = outs[0].node
        for k, o in enumerate(outs[1:], 1):
            acc = c.op(row, [acc, o.node], kind=OpKind.ADD, layer=f"{path}.{node.name}",
                       name=f"{path}.{node.name}.add" + (f"{k}" if len(outs) > 2 else ""))
        return RowOutput(acc, outs[0].design_c, outs[0].output_stride)
    if node.combine == "mul":    # a tensor times a C x 1 x 1 gate (LR-ASPP's attention)
        acc = c.op(row, [outs[0].node, outs[1].node], kind=OpKind.MUL,
                   layer=f"{path}.{node.name}", name=f"{path}.{node.name}.mul")
        return RowOutput(acc, outs[0].design_c, outs[0].output_stride)
    acc = c.op(row, [o.node for o in outs], kind=OpKind.CONCAT, layer=f"{path}.{node.name}",
               name=f"{path}.{node.name}.concat")
    design = None if any(o.design_c is None for o in outs) else sum(o.design_c for o in outs)
    return RowOutput(acc, design, outs[0].output_stride)
