"""Rows: decoded once from YAML into a frozen template, then built into a schema.Row in a
scope of parameter values (the spec's for `layers:` rows; a cell instance's for rows inside
a cell, see spec/cells.py).

A row keeps the paper's column names (MobileNetV2 Table 2: t, c, n, s; k the kernel).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

from ..errors import SpecError, closest
from ..numbers import cut, quote
from . import schema
from .values import KEY_CHECKS, literal, resolve, template
from .yamlio import Located

REQUIRED = {"conv": ("c",), "pwconv": ("c",), "sepconv": ("c",), "bottleneck": ("t", "c"),
            "fc": ("c",), "shuffle_unit": ("c",), "shuffle_v2_unit": ("c",),
            "predictor": ("anchors", "classes"), "fit": ("c",), "act": ("fn",),
            "param": ("shape",), "shuffle": ("groups",),
            "slice": ("index", "parts"), "linear": ("c",), "groupnorm": ("groups",),
            "adaptive_avgpool": ("size",), "adaptive_maxpool": ("size",),
            **{op: ("of",) for op in ("add", "mul", "concat", "matmul", "attention")}}
# the classifier stays linear unless its own row says otherwise; an imported op's row is
# written out whole (`archcalc import`), so no default changes it
NO_DEFAULTS = ("fc", *schema.STANDALONE_KEYS)
CELL_ROW_KEYS = ("n", "from", "name", "when")
FIELD_NAMES = {"global": "global_", "from": "from_"}


def row_keys(row_type: type, op: str | None = None) -> list[str]:
    if op in schema.STANDALONE_KEYS:
        return list(schema.STANDALONE_KEYS[op]) + ["n", "from", "name", "when"]
    internal = {"op", "line", "key_lines"} | ({"pool"} if row_type is schema.PoolRow else set()) \
        | ({"act"} if row_type is schema.ActivationRow else set())   # both set by the op name
    names = [f.name for f in dataclasses.fields(row_type) if f.name not in internal]
    return [{"global_": "global", "from_": "from"}.get(n, n) for n in names]


DEFAULT_KEYS = sorted({k for op, t in schema.ROW_TYPES.items() for k in row_keys(t)
                       if op not in schema.STANDALONE_KEYS} - {"c", "n", "t", "from", "name",
                                                               "when", "stream_group"})


@dataclass(frozen=True)
class RowTemplate:
    """A row as decoded: its op, where it is, and its values (the spec's defaults merged in,
    the row's own winning) as templates to resolve in a scope."""
    op: str
    line: int
    where: str                  # the key prefix of its errors, e.g. layers.body[0]
    values: tuple               # ((key, template, line), ...)
    key_lines: tuple            # ((key, line), ...) as schema.Row keeps them
    cell: bool = False          # an instance of a user-defined cell


def op_only(op: str, line: int) -> Located:
    """`relu` in an op list is short for {op: relu}."""
    out = Located({"op": op})
    out.line, out.key_lines = line, {"op": line}
    return out


def decode_defaults(raw: Located, names, scope: Mapping, path) -> tuple:
    """`defaults:` as ((key, template, line), ...), each checked once in the spec's scope."""
    out = []
    for key, value in raw.items():
        line = raw.key_lines[key]
        tpl = template(value, names, path, line, f"defaults.{key}")
        try:
            KEY_CHECKS[key](resolve(tpl, scope, path, line, f"defaults.{key}"))
        except ValueError as err:
            raise SpecError(str(err), path=path, line=line, key=f"defaults.{key}") from None
        out.append((key, tpl, line))
    return tuple(out)


def decode_row(raw, line: int, where: str, defaults: tuple, names, path,
               cells: Mapping) -> RowTemplate:
    """Check a row's structure (op, keys, required keys, references) once."""
    if isinstance(raw, str):
        raw = op_only(raw, line)
    if not isinstance(raw, Located):
        raise SpecError("expected a mapping such as {op: conv, c: 32, k: 3, s: 2}", path=path,
                        line=line, key=where)
    if "op" not in raw:
        raise SpecError("missing 'op'", path=path, line=raw.line, key=where)
    op = raw["op"]
    if not isinstance(op, str):
        raise SpecError(f"expected an op name, got {quote(op)}", path=path,
                        line=raw.key_lines["op"], key=f"{where}.op")
    if op in cells:
        allowed = list(CELL_ROW_KEYS) + [name for name, _ in cells[op].params]
        what = f"cell '{cut(op)}'"
    elif op in schema.ROW_TYPES:
        allowed = row_keys(schema.ROW_TYPES[op], op)
        what = f"op '{op}'"
    else:
        known = list(schema.ROW_TYPES) + list(cells)
        raise SpecError(f"unknown op {quote(op)} (known: {cut(', '.join(known), 120)})", path=path,
                        line=raw.key_lines["op"], key=f"{where}.op", hint=closest(op, known))
    values: dict[str, Any] = {}
    if op not in cells and op not in NO_DEFAULTS:
        values = {key: (tpl, ln) for key, tpl, ln in defaults if key in allowed}
    for key, value in raw.items():
        if key == "op":
            continue
        ln = raw.key_lines[key]
        if key not in allowed:
            raise SpecError(f"unknown key for {what} (allowed: {', '.join(allowed)})", path=path,
                            line=ln, key=f"{where}.{key}",
                            hint=closest(key, allowed) if isinstance(key, str) else None)
        values[key] = (template(value, names, path, ln, f"{where}.{key}"), ln)
    for key in () if op in cells else REQUIRED.get(op, ()):
        if key not in values:
            raise SpecError(f"missing required key '{key}'", path=path, line=raw.line,
                            key=f"{where}.{key}")
    key_lines = tuple(raw.key_lines.items()) if op in cells else \
        tuple((key, ln) for key, (_, ln) in values.items())
    return RowTemplate(op=op, line=raw.line, where=where,
                       values=tuple((key, tpl, ln) for key, (tpl, ln) in values.items()),
                       key_lines=key_lines, cell=op in cells)


def build_row(tpl: RowTemplate, scope: Mapping, path, cells: Mapping) -> schema.Row:
    """The row with every template resolved in `scope` and every value checked."""
    if tpl.cell:
        return _build_cell_row(tpl, cells[tpl.op], scope, path)
    op, where = tpl.op, tpl.where
    clean: dict[str, Any] = {}
    lines = {}
    for key, value, ln in tpl.values:
        value = resolve(value, scope, path, ln, f"{where}.{key}")
        try:
            clean[FIELD_NAMES.get(key, key)] = KEY_CHECKS[key](value)
        except ValueError as err:
            raise SpecError(str(err), path=path, line=ln, key=f"{where}.{key}") from None
        lines[key] = ln
    if op in ("avgpool", "maxpool"):
        clean["pool"] = op[:3]
        if clean.get("written_as") == "mean" and (op != "avgpool" or not clean.get("global_")):
            raise SpecError("written_as: mean is a global average pool (x.mean([2, 3])); "
                            "use it with {op: avgpool, global: true}", path=path,
                            line=lines["written_as"], key=f"{where}.written_as")
        if not clean.get("global_"):
            if "k" not in clean:
                raise SpecError("a windowed pool needs 'k' (or global: true)", path=path,
                                line=tpl.line, key=f"{where}.k")
            clean.setdefault("s", clean["k"])
            pad = clean.get("padding")
            if isinstance(pad, int) and pad > clean["k"] // 2:
                raise SpecError(f"padding {pad} is more than half the kernel ({clean['k']} // 2 = "
                                f"{clean['k'] // 2}); PyTorch's pooling refuses it", path=path,
                                line=lines["padding"], key=f"{where}.padding")
    if op == "upsample" and sum(k in clean for k in ("factor", "size", "to")) != 1:
        raise SpecError("an upsample needs exactly one of 'factor', 'size' and 'to'", path=path,
                        line=tpl.line, key=where)
    row_type = schema.ROW_TYPES[op]
    if row_type is schema.ActivationRow:
        clean["act"] = op
    if op in ("conv", "dwconv", "pwconv") and "bias" not in clean:
        clean["bias"] = clean.get("norm", "bn") == "none"   # a bias only where no BN follows
    return row_type(op=op, line=tpl.line, key_lines=tpl.key_lines, **clean)


def _build_cell_row(tpl: RowTemplate, cell: schema.CellDef, scope: Mapping, path):
    """An instance row of a user-defined cell: its own parameters, resolved in the caller's scope."""
    defaults = dict(cell.params)
    args = dict(defaults)
    common: dict[str, Any] = {}
    for key, value, ln in tpl.values:
        value = resolve(value, scope, path, ln, f"{tpl.where}.{key}")
        if key in CELL_ROW_KEYS:
            try:
                common[FIELD_NAMES.get(key, key)] = KEY_CHECKS[key](value)
            except ValueError as err:
                raise SpecError(str(err), path=path, line=ln, key=f"{tpl.where}.{key}") from None
            continue
        like = defaults[key]
        if not isinstance(value, (bool, str, int, float, Fraction)) or \
                isinstance(value, bool) != isinstance(like, bool) or \
                isinstance(value, str) != isinstance(like, str):
            raise SpecError(f"expected a value like the default {quote(like)}, got {quote(value)}",
                            path=path, line=ln, key=f"{tpl.where}.{key}")
        try:
            args[key] = literal(value)
        except ValueError as err:
            raise SpecError(str(err), path=path, line=ln, key=f"{tpl.where}.{key}") from None
    return schema.CellRow(op=cell.name, line=tpl.line, key_lines=tpl.key_lines, cell=cell.name,
                          args=tuple(args.items()), **common)
