"""User-defined cells (`cells:`): decoded once when the spec loads, bound per instance.

Loading decodes every cell body into frozen templates (spec/rows.py), orders the cells by
what they contain (a cell containing itself, directly or not, is an error; so is nesting
deeper than MAX_CELL_DEPTH) and checks each body once, with its own defaults -- never by
expanding the cells it contains, so loading is linear in the spec's size. Compiling binds a
cell for each distinct set of arguments once (`bind_cell` with a cache). Inside a cell,
`$name` refers to the cell's parameters, then to the spec's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..errors import SpecError, closest
from ..limits import MAX_CELL_DEPTH
from ..numbers import cut, quote
from . import schema
from .rows import build_row, decode_row
from .values import literal
from .yamlio import Located, LocatedList

CELL_KEYS = ("params", "inputs", "nodes", "output", "doc")


@dataclass(frozen=True)
class NodeTemplate:
    """One node of a cell as decoded: branches (an input name and row templates) combined by
    `combine` ("seq": one branch, "add" or "concat")."""
    name: str
    combine: str
    branches: tuple         # ((source, (RowTemplate, ...)), ...)
    line: int
    key: str                # cells.NAME.nodes.NODE (or cells.NAME.output), for errors


@dataclass(frozen=True)
class CellNode:
    """One node of a bound cell: branches (each an input name and rows) combined by `combine`."""
    name: str
    combine: str            # "seq" (one branch) | "add" | "concat" | "mul" (x times a gate)
    branches: tuple         # ((from_name, (rows...)), ...)
    line: int
    key: str = ""


def parse_cells(raw, path, names, defaults: tuple, scope: Mapping) -> tuple:
    """Decode and check `cells:` (see the module docstring); the cells in file order."""
    if raw is None:
        return ()
    if not isinstance(raw, Located):
        raise SpecError("expected a mapping of cell names", path=path, key="cells")
    heads = {name: _signature(name, body, raw.key_lines[name], path) for name, body in raw.items()}
    decoded = {}
    for name, body in raw.items():
        head = heads[name]
        cell_names = set(names) | {p for p, _ in head.params}
        nodes = _decode_nodes(head, body, cell_names, defaults, path, heads)
        uses = tuple(dict.fromkeys(t.op for n in nodes for _, rows in n.branches for t in rows
                                   if t.cell))
        decoded[name] = (head, nodes, uses)
    depths = _depths({name: uses for name, (_, _, uses) in decoded.items()}, heads, path)
    cells = {name: schema.CellDef(name=name, line=head.line, inputs=head.inputs,
                                  params=head.params, nodes=nodes, uses=uses, depth=depths[name])
             for name, (head, nodes, uses) in decoded.items()}
    for cell in cells.values():             # each body once, with its own defaults
        _bind_nodes(cell, {**scope, **dict(cell.params)}, path, cells)
    return tuple(cells.values())


def _signature(name, body, line, path) -> schema.CellDef:
    key = f"cells.{name}"
    if not isinstance(name, str) or not name.isidentifier() or name in schema.ROW_TYPES:
        raise SpecError("a cell name must be an identifier that is not a built-in op",
                        path=path, line=line, key=key)
    if not isinstance(body, Located):
        raise SpecError("expected a mapping with inputs, nodes and output", path=path,
                        line=line, key=key)
    for k in body:
        if k not in CELL_KEYS:
            raise SpecError("unknown key", path=path, line=body.key_lines[k], key=f"{key}.{k}",
                            hint=closest(k, CELL_KEYS))
    for k in ("inputs", "nodes", "output"):
        if k not in body:
            raise SpecError(f"missing '{k}'", path=path, line=line, key=key)
    inputs = body["inputs"]
    if (not isinstance(inputs, list) or not 1 <= len(inputs) <= 2
            or not all(isinstance(i, str) and i.isidentifier() for i in inputs)):
        raise SpecError("expected one or two input names, e.g. [x, prev]", path=path,
                        line=body.key_lines["inputs"], key=f"{key}.inputs")
    cell_params = body.get("params") or Located()
    if not isinstance(cell_params, Located):
        raise SpecError("expected a mapping of parameter defaults", path=path,
                        line=body.key_lines.get("params", line), key=f"{key}.params")
    params = []
    for pname, default in cell_params.items():
        where = dict(path=path, line=cell_params.key_lines[pname], key=f"{key}.params.{pname}")
        if not isinstance(pname, str) or not pname.isidentifier() or \
                not isinstance(default, (int, float, str, bool)):
            raise SpecError("a cell parameter is a name with a number, word or true/false "
                            "default", **where)
        try:
            params.append((pname, literal(default)))
        except ValueError as err:
            raise SpecError(str(err), **where) from None
    return schema.CellDef(name=name, line=line, inputs=tuple(inputs), params=tuple(params))


def _decode_nodes(head, body: Located, names, defaults, path, cells) -> tuple:
    nodes_raw = body["nodes"]
    if not isinstance(nodes_raw, Located) or not nodes_raw:
        raise SpecError("expected a mapping of node names to branches", path=path,
                        line=body.key_lines["nodes"], key=f"cells.{head.name}.nodes")
    known = set(head.inputs)
    out = []
    items = [(name, raw, nodes_raw.key_lines[name], f"cells.{head.name}.nodes.{name}")
             for name, raw in nodes_raw.items()]
    items.append(("output", body["output"], body.key_lines["output"], f"cells.{head.name}.output"))
    for name, raw, line, key in items:
        if not isinstance(name, str) or not name.isidentifier():
            raise SpecError("a node name must be an identifier", path=path, line=line, key=key)
        ctx = (head, known, names, defaults, path, cells, line)
        if isinstance(raw, Located) and any(k in raw for k in ("add", "concat", "mul")):
            combine = next(k for k in ("add", "concat", "mul") if k in raw)
            branches = raw[combine]
            if combine == "mul" and isinstance(branches, LocatedList) and len(branches) != 2:
                raise SpecError("'mul' takes two branches: a tensor and its C x 1 x 1 gate",
                                path=path, line=raw.key_lines[combine], key=f"{key}.mul")
            if len(raw) != 1 or not isinstance(branches, LocatedList) or len(branches) < 2:
                raise SpecError(f"'{combine}' takes a list of two or more branches", path=path,
                                line=line, key=key)
            decoded = tuple(_branch(b, f"{key}.{combine}[{i}]", ctx) for i, b in enumerate(branches))
        elif isinstance(raw, (str, Located)):
            combine, decoded = "seq", (_branch(raw, key, ctx),)
        else:
            raise SpecError("expected {from: NAME, ops: [...]}, {add: [...]} or {concat: [...]}",
                            path=path, line=line, key=key)
        out.append(NodeTemplate(name, combine, decoded, line, key))
        known.add(name)
    return tuple(out)


def _branch(raw, key: str, ctx) -> tuple:
    head, known, names, defaults, path, cells, line = ctx
    if isinstance(raw, str):
        source, ops = raw, LocatedList()
    elif isinstance(raw, Located) and "from" in raw:
        for k in raw:
            if k not in ("from", "ops"):
                raise SpecError("unknown key", path=path, line=raw.key_lines[k], key=f"{key}.{k}",
                                hint=closest(k, ("from", "ops")))
        source, ops = raw["from"], raw.get("ops") or LocatedList()
        line = raw.key_lines["from"]
        if not isinstance(ops, LocatedList):
            raise SpecError("expected a list of ops", path=path, line=raw.key_lines["ops"],
                            key=f"{key}.ops")
    else:
        raise SpecError("expected a branch such as {from: h0, ops: [...]} or a node name",
                        path=path, line=getattr(raw, "line", line), key=key)
    if not isinstance(source, str) or source not in known:
        raise SpecError(f"no input or earlier node named {quote(source)} in cell '{cut(head.name)}'",
                        path=path, line=line, key=key,
                        hint=closest(source, sorted(known)) if isinstance(source, str) else None)
    rows = tuple(decode_row(item, ops.item_lines[i], f"{key}.ops[{i}]", defaults, names, path,
                            cells) for i, item in enumerate(ops))
    return source, rows


def _depths(uses: dict, heads: dict, path) -> dict:
    """Each cell's nesting depth (1: contains no cell), in an order where every cell comes
    after the cells it contains (Kahn's algorithm: no recursion, linear). A cell on a cycle
    is an error."""
    waiting = {name: set(u) for name, u in uses.items()}
    users: dict = {}
    for name, u in uses.items():
        for used in u:
            users.setdefault(used, []).append(name)
    ready = [name for name, w in waiting.items() if not w]
    depth = {}
    while ready:
        name = ready.pop()
        depth[name] = 1 + max((depth[u] for u in uses[name]), default=0)
        if depth[name] > MAX_CELL_DEPTH:
            raise SpecError(f"cells nest more than {MAX_CELL_DEPTH:,} deep (limit MAX_CELL_DEPTH)",
                            path=path, line=heads[name].line, key=f"cells.{name}")
        for user in users.get(name, ()):
            waiting[user].discard(name)
            if not waiting[user]:
                ready.append(user)
    if len(depth) < len(uses):
        order = {n: i for i, n in enumerate(uses)}
        name = next(n for n in uses if n not in depth)     # follow what it waits on to a cycle
        seen: dict = {}
        while name not in seen:
            seen[name] = len(seen)
            name = min(waiting[name], key=order.__getitem__)
        cycle = [n for n, i in seen.items() if i >= seen[name]]
        first = min(cycle, key=order.__getitem__)
        raise SpecError("a cell cannot contain itself", path=path, line=heads[first].line,
                        key=f"cells.{first}")
    return depth


def _bind_nodes(cell: schema.CellDef, scope: Mapping, path, cells: Mapping) -> tuple:
    return tuple(CellNode(n.name, n.combine,
                          tuple((source, tuple(r for r in (build_row(t, scope, path, cells)
                                                           for t in rows) if r.when))
                                for source, rows in n.branches), n.line, n.key)
                 for n in cell.nodes)


def bind_cell(spec: schema.NetworkSpec, row: schema.CellRow, cache: dict | None = None) -> tuple:
    """The cell of an instance row and its nodes with the row's arguments bound (rows built
    and checked as any row); `cache` keeps each distinct (cell, arguments) binding once."""
    key = (row.cell, row.args)
    if cache is not None and key in cache:
        return cache[key]
    cell = spec.cell(row.cell)
    scope = {**{p.name: p.value for p in spec.params}, **dict(row.args)}
    bound = cell, _bind_nodes(cell, scope, spec.path, spec.cells_by_name)
    if cache is not None:
        cache[key] = bound
    return bound
