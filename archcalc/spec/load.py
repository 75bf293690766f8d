"""YAML -> NetworkSpec: safe-load, validate every key and value, bind parameters.

Nothing in a spec is evaluated: a value is a literal, or `$name` naming a declared
parameter. Every error is a SpecError naming the file, the line and the key.
"""
from __future__ import annotations

import dataclasses
import keyword
import math
import os
import re
from fractions import Fraction
from typing import Any, Callable, Mapping

from ..errors import SpecError, closest
from ..rounding import EXPAND_RULES, PADDINGS, ROUNDING_RULES
from . import schema
from .yamlio import Located, LocatedList, load_yaml

TOP_KEYS = ("name", "source", "description", "input", "params", "width", "defaults", "cells",
            "layers")
INPUT_KEYS = ("channels", "resolution")
WIDTH_KEYS = ("rounding", "divisor", "min_channels", "expand")
PARAM_KEYS = ("default", "choices", "min", "max")
MAX_SPEC_BYTES = 1_000_000
RATIO = re.compile(r"[0-9]{1,9}/[0-9]{1,9}")   # "88/24": parsed as two integers, never evaluated


# ---- value checkers: each returns the clean value or raises ValueError(reason) ----------------

def _pos_int(v):
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"expected a positive integer, got {v!r}")
    if v <= 0:
        raise ValueError(f"must be a positive integer, got {v}")
    return v


def _nonneg_int(v):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"expected a non-negative integer, got {v!r}")
    return v


def _pos_number(v):
    """A positive number, or a ratio written as text such as 88/24 (TF-slim's expansion factors)."""
    if isinstance(v, str) and RATIO.fullmatch(v.strip()):
        num, den = (int(p) for p in v.split("/"))
        if den == 0:
            raise ValueError(f"division by zero in {v!r}")
        v = Fraction(num, den)
    if isinstance(v, bool) or not isinstance(v, (int, float, Fraction)):
        raise ValueError(f"expected a positive number (or a ratio such as 88/24), got {v!r}")
    value = to_fraction(v)
    if value <= 0:
        raise ValueError(f"must be positive, got {v}")
    return value if value.denominator != 1 else int(value)


def _fraction01(v):
    """A fraction in [0, 1) given as a number or a ratio (0: off)."""
    if v == 0 and not isinstance(v, bool):
        return 0
    value = _pos_number(v)
    if value >= 1:
        raise ValueError(f"must be below 1 (a fraction of the channels), got {v}")
    return value


def _bool(v):
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def _one_of(choices) -> Callable:
    def check(v):
        if v not in choices:
            hint = closest(v, choices) if isinstance(v, str) else None
            text = f"expected one of {', '.join(map(str, choices))}, got {v!r}"
            raise ValueError(text + (f" (did you mean '{hint}'?)" if hint else ""))
        return v
    return check


def _padding(v):
    if isinstance(v, str):
        return _one_of(PADDINGS)(v)
    return _nonneg_int(v)


def _identifier(v):
    if not isinstance(v, str) or not v.isidentifier():
        raise ValueError(f"expected a name (letters, digits, _), got {v!r}")
    return v


def _reference(v):
    if not isinstance(v, str) or not all(p.isidentifier() or p.isdigit() for p in v.split(".")):
        raise ValueError(f"expected an earlier row's name or layer path such as "
                         f"bottlenecks.5.0.expand, got {v!r}")
    return v


KEY_CHECKS: dict[str, Callable] = {
    "n": _pos_int, "c": _pos_int, "k": _pos_int, "s": _pos_int, "groups": _pos_int,
    "t": _pos_number, "act": _one_of(schema.ACTIVATIONS), "project_act": _one_of(schema.ACTIVATIONS),
    "norm": _one_of(schema.NORMS), "bias": _bool, "padding": _padding,
    "scale": _one_of(schema.SCALES), "residual": _one_of(schema.RESIDUALS), "global": _bool,
    "divisor": _pos_int, "group_first_pw": _bool, "anchors": _pos_int, "classes": _pos_int,
    "box_size": _pos_int, "separable": _bool, "se": _fraction01, "se_of": _one_of(schema.SE_OF),
    "se_rounding": _one_of(schema.SE_ROUNDING), "se_act": _one_of(schema.ACTIVATIONS),
    "se_gate": _one_of(schema.ACTIVATIONS), "like": _identifier, "relu": _bool, "from": _reference, "name": _identifier,
}
REQUIRED = {"conv": ("c",), "pwconv": ("c",), "sepconv": ("c",), "bottleneck": ("t", "c"),
            "fc": ("c",), "shuffle_unit": ("c",), "shuffle_v2_unit": ("c",), "predictor": ("anchors", "classes"),
            "fit": ("c",)}
NO_DEFAULTS = ("fc",)   # the classifier stays linear unless its own row says otherwise


def to_fraction(v) -> Fraction:
    """An exact fraction from a YAML/CLI number: 0.75 -> 3/4 (by its decimal text, not binary)."""
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v}")
        return Fraction(repr(v))
    return Fraction(v)


def _row_keys(row_type: type) -> list[str]:
    internal = {"op", "line", "key_lines"} | ({"pool"} if row_type is schema.PoolRow else set()) \
        | ({"act"} if row_type is schema.ActivationRow else set())   # both set by the op name
    names = [f.name for f in dataclasses.fields(row_type) if f.name not in internal]
    return [{"global_": "global", "from_": "from"}.get(n, n) for n in names]


# ---- parameters ---------------------------------------------------------------------------------

def parse_value(text: str, like: Any):
    """Parse a --set value by the type of the parameter's default (never evaluated)."""
    if isinstance(like, bool):
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected an integer, got {text!r}") from None
    if isinstance(like, Fraction):
        try:
            return Fraction(text.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"expected a number, got {text!r}") from None
    return text


def _check_param_value(decl: schema.ParamDecl, value):
    if type(value) is not type(decl.default) and not (
            isinstance(decl.default, Fraction) and isinstance(value, int) and not isinstance(value, bool)):
        raise ValueError(f"expected a {decl.type_name}, got {value!r}")
    if decl.choices is not None and value not in decl.choices:
        raise ValueError(f"{value!r} is not one of the allowed values "
                         f"{', '.join(map(str, decl.choices))}")
    if decl.minimum is not None and value < decl.minimum:
        raise ValueError(f"{value!r} is below the minimum {decl.minimum}")
    if decl.maximum is not None and value > decl.maximum:
        raise ValueError(f"{value!r} is above the maximum {decl.maximum}")
    return value


def _literal(v):
    """A param default/choice: numbers become exact fractions when not integral."""
    if isinstance(v, float):
        return to_fraction(v)
    return v


def _parse_params(raw, path) -> list[schema.ParamDecl]:
    if raw is None:
        return []
    if not isinstance(raw, Located):
        raise SpecError("expected a mapping of parameter names", path=path, key="params")
    decls = []
    for name, body in raw.items():
        line = raw.key_lines[name]
        key = f"params.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            raise SpecError("parameter names must be identifiers", path=path, line=line, key=key)
        if not isinstance(body, Located):
            body = Located({"default": body})
            body.line, body.key_lines = line, {"default": line}
        for k in body:
            if k not in PARAM_KEYS:
                raise SpecError("unknown key", path=path, line=body.key_lines[k], key=f"{key}.{k}",
                                hint=closest(k, PARAM_KEYS))
        if "default" not in body:
            raise SpecError("a parameter needs a default", path=path, line=line, key=key)
        try:
            default = _literal(body["default"])
        except ValueError as err:
            raise SpecError(str(err), path=path, line=body.key_lines["default"],
                            key=f"{key}.default") from None
        if not isinstance(default, (bool, int, Fraction, str)):
            raise SpecError(f"default must be a number, a word or true/false, got {default!r}",
                            path=path, line=body.key_lines["default"], key=f"{key}.default")
        choices = body.get("choices")
        if choices is not None:
            if not isinstance(choices, list) or not choices:
                raise SpecError("expected a non-empty list", path=path, line=body.key_lines["choices"],
                                key=f"{key}.choices")
            try:
                choices = tuple(_literal(c) for c in choices)
            except ValueError as err:
                raise SpecError(str(err), path=path, line=body.key_lines["choices"],
                                key=f"{key}.choices") from None
        bounds = {}
        for bound in ("min", "max"):
            if bound in body:
                value = body[bound]
                numeric = isinstance(default, (int, Fraction)) and not isinstance(default, bool)
                if not numeric or isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise SpecError(f"'{bound}' needs a number and a numeric default, got {value!r}",
                                    path=path, line=body.key_lines[bound], key=f"{key}.{bound}")
                try:
                    bounds[bound] = _literal(value)
                except ValueError as err:
                    raise SpecError(str(err), path=path, line=body.key_lines[bound],
                                    key=f"{key}.{bound}") from None
        decl = schema.ParamDecl(name=name, default=default, value=default, choices=choices,
                                minimum=bounds.get("min"), maximum=bounds.get("max"), line=line)
        try:
            _check_param_value(decl, default)
        except ValueError as err:
            raise SpecError(f"default: {err}", path=path, line=line, key=key) from None
        decls.append(decl)
    return decls


def _bind(decls, overrides: Mapping[str, Any], path, soft: Mapping[str, Any] = ()
          ) -> list[schema.ParamDecl]:
    """Bind parameters: `overrides` (--set) must name declared parameters; `soft` values
    (a convention's num_classes) apply only where declared and not overridden."""
    by_name = {d.name: d for d in decls}
    overrides = {**{k: v for k, v in dict(soft).items() if k in by_name}, **overrides}
    for name in overrides:
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise SpecError(f"unknown parameter (this spec declares: {known})", path=path,
                            key=f"--set {name}", hint=closest(name, by_name))
    bound = []
    for decl in decls:
        value = decl.default
        if decl.name in overrides:
            value = overrides[decl.name]
            try:
                if isinstance(value, str) and not isinstance(decl.default, str):
                    value = parse_value(value, decl.default)
                value = _check_param_value(decl, _literal(value))
            except ValueError as err:
                raise SpecError(str(err), path=path, line=decl.line, key=f"--set {decl.name}") from None
        bound.append(dataclasses.replace(decl, value=value))
    return bound


# ---- rows ---------------------------------------------------------------------------------------

def _resolve(value, params: dict, path, line, key):
    """`$name` -> the bound parameter's value; `{by: name, V1: X1, V2: X2, ...}` -> the Xi whose
    Vi equals the parameter's value (a table lookup, e.g. ShuffleNet's channels per group
    count); anything else as written."""
    if isinstance(value, Located) and "by" in value:
        name = value["by"]
        name = name[1:] if isinstance(name, str) and name.startswith("$") else name
        if name not in params:
            raise SpecError(f"lookup by unknown parameter {name!r}", path=path,
                            line=value.key_lines["by"], key=f"{key}.by",
                            hint=closest(name, params) if isinstance(name, str) else None)
        table = {_literal(k): v for k, v in value.items() if k != "by"}
        if params[name] not in table:
            raise SpecError(f"the lookup has no entry for {name}={params[name]} (entries: "
                            f"{', '.join(map(str, table))})", path=path, line=value.line, key=key)
        return table[params[name]]
    if isinstance(value, str) and value.startswith("$"):
        name = value[1:]
        if name not in params:
            raise SpecError(f"unknown parameter reference {value!r}", path=path, line=line, key=key,
                            hint=("$" + closest(name, params)) if closest(name, params) else None)
        return params[name]
    return value


def _parse_row(raw, line: int, section: str, index: int, defaults: Located, params: dict, path,
               cells: Mapping | None = None):
    where = f"layers.{section}[{index}]"
    if not isinstance(raw, Located):
        raise SpecError("expected a mapping such as {op: conv, c: 32, k: 3, s: 2}", path=path,
                        line=line, key=where)
    if "op" not in raw:
        raise SpecError("missing 'op'", path=path, line=raw.line, key=where)
    op = raw["op"]
    cells = cells or {}
    if not isinstance(op, str):
        raise SpecError(f"expected an op name, got {op!r}", path=path, line=raw.key_lines["op"],
                        key=f"{where}.op")
    if op in cells:
        return _parse_cell_row(raw, cells[op], where, params, path)
    if op not in schema.ROW_TYPES:
        known = list(schema.ROW_TYPES) + list(cells)
        raise SpecError(f"unknown op {op!r} (known: {', '.join(known)})", path=path,
                        line=raw.key_lines["op"], key=f"{where}.op",
                        hint=closest(op, known) if isinstance(op, str) else None)
    row_type = schema.ROW_TYPES[op]
    allowed = _row_keys(row_type)
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    if op not in NO_DEFAULTS:
        for key, value in defaults.items():
            if key in allowed:
                values[key], lines[key] = value, defaults.key_lines[key]
    for key, value in raw.items():
        if key == "op":
            continue
        if key not in allowed:
            raise SpecError(f"unknown key for op '{op}' (allowed: {', '.join(allowed)})", path=path,
                            line=raw.key_lines[key], key=f"{where}.{key}", hint=closest(key, allowed))
        values[key], lines[key] = value, raw.key_lines[key]
    for key in REQUIRED.get(op, ()):
        if key not in values:
            raise SpecError(f"missing required key '{key}'", path=path, line=raw.line,
                            key=f"{where}.{key}")
    clean: dict[str, Any] = {}
    for key, value in values.items():
        value = _resolve(value, params, path, lines[key], f"{where}.{key}")
        try:
            clean[{"global": "global_", "from": "from_"}.get(key, key)] = KEY_CHECKS[key](value)
        except ValueError as err:
            raise SpecError(str(err), path=path, line=lines[key], key=f"{where}.{key}") from None
    if op in ("avgpool", "maxpool"):
        clean["pool"] = op[:3]
        if not clean.get("global_"):
            if "k" not in clean:
                raise SpecError("a windowed pool needs 'k' (or global: true)", path=path,
                                line=raw.line, key=f"{where}.k")
            clean.setdefault("s", clean["k"])
    if row_type is schema.ActivationRow:
        clean["act"] = op
    if op in ("conv", "dwconv", "pwconv") and "bias" not in clean:
        clean["bias"] = clean.get("norm", "bn") == "none"   # a bias only where no BN follows
    return row_type(op=op, line=raw.line, key_lines=tuple(lines.items()), **clean)


# ---- cells ----------------------------------------------------------------------------------------

CELL_KEYS = ("params", "inputs", "nodes", "output", "doc")
CELL_ROW_KEYS = ("n", "from", "name")


def _parse_cell_row(raw: Located, cell: schema.CellDef, where: str, params: dict, path):
    """An instance row of a user-defined cell: its own parameters, resolved in the caller's scope."""
    defaults = dict(cell.params)
    allowed = list(CELL_ROW_KEYS) + list(defaults)
    args = dict(defaults)
    common: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "op":
            continue
        line = raw.key_lines[key]
        if key not in allowed:
            raise SpecError(f"unknown key for cell '{cell.name}' (allowed: {', '.join(allowed)})",
                            path=path, line=line, key=f"{where}.{key}", hint=closest(key, allowed))
        value = _resolve(value, params, path, line, f"{where}.{key}")
        if key in CELL_ROW_KEYS:
            try:
                common[{"from": "from_"}.get(key, key)] = KEY_CHECKS[key](value)
            except ValueError as err:
                raise SpecError(str(err), path=path, line=line, key=f"{where}.{key}") from None
        else:
            like = defaults[key]
            if isinstance(value, bool) != isinstance(like, bool) or \
                    isinstance(value, str) != isinstance(like, str):
                raise SpecError(f"expected a value like the default {like!r}, got {value!r}",
                                path=path, line=line, key=f"{where}.{key}")
            try:
                args[key] = _literal(value)
            except ValueError as err:
                raise SpecError(str(err), path=path, line=line, key=f"{where}.{key}") from None
    return schema.CellRow(op=cell.name, line=raw.line, key_lines=tuple(raw.key_lines.items()),
                          cell=cell.name, args=tuple(args.items()), **common)


def _parse_cell_defs(raw, path) -> dict[str, schema.CellDef]:
    if raw is None:
        return {}
    if not isinstance(raw, Located):
        raise SpecError("expected a mapping of cell names", path=path, key="cells")
    cells = {}
    for name, body in raw.items():
        line = raw.key_lines[name]
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
        if not isinstance(cell_params, dict):
            raise SpecError("expected a mapping of parameter defaults", path=path,
                            line=body.key_lines.get("params", line), key=f"{key}.params")
        for pname, default in cell_params.items():
            if not isinstance(pname, str) or not pname.isidentifier() or \
                    not isinstance(default, (int, float, str, bool)):
                raise SpecError("a cell parameter is a name with a number, word or true/false "
                                "default", path=path, line=cell_params.key_lines[pname],
                                key=f"{key}.params.{pname}")
        cells[name] = schema.CellDef(name=name, line=line, inputs=tuple(inputs),
                                     params=tuple((k, _literal(v)) for k, v in cell_params.items()),
                                     body=body)
    return cells


@dataclasses.dataclass(frozen=True)
class CellNode:
    """One node of a bound cell: branches (each an input name and rows) combined by `combine`."""
    name: str
    combine: str            # "seq" (one branch) | "add" | "concat"
    branches: tuple         # ((from_name, (rows...)), ...)
    line: int


def _branch(raw, key: str, scope: dict, ctx) -> tuple:
    path, defaults, cells = ctx
    if isinstance(raw, str):
        return raw, ()
    if not isinstance(raw, Located) or "from" not in raw:
        raise SpecError("expected a branch such as {from: h0, ops: [...]} or a node name",
                        path=path, line=getattr(raw, "line", None), key=key)
    for k in raw:
        if k not in ("from", "ops"):
            raise SpecError("unknown key", path=path, line=raw.key_lines[k], key=f"{key}.{k}",
                            hint=closest(k, ("from", "ops")))
    ops = raw.get("ops") or LocatedList()
    if not isinstance(ops, LocatedList):
        raise SpecError("expected a list of ops", path=path, line=raw.key_lines["ops"], key=f"{key}.ops")
    rows = tuple(_parse_row(item if not isinstance(item, str) else _op_only(item, ops.item_lines[i]),
                            ops.item_lines[i], key, i, defaults, scope, path, cells)
                 for i, item in enumerate(ops))
    return raw["from"], rows


def _op_only(op: str, line: int) -> Located:
    """`relu` in an op list is short for {op: relu}."""
    out = Located({"op": op})
    out.line, out.key_lines = line, {"op": line}
    return out


def bind_cell(spec: schema.NetworkSpec, row: schema.CellRow, outer: Mapping) -> tuple:
    """The nodes and output of `row`'s cell with its parameters bound (checked as any row)."""
    cell = spec.cell(row.cell)
    body = cell.body
    scope = {**outer, **dict(row.args)}
    ctx = (spec.path, _spec_defaults(spec), {c.name: c for c in spec.cells})
    nodes_raw = body["nodes"]
    if not isinstance(nodes_raw, Located) or not nodes_raw:
        raise SpecError("expected a mapping of node names to branches", path=spec.path,
                        line=body.key_lines["nodes"], key=f"cells.{cell.name}.nodes")
    nodes = []
    for name, raw in list(nodes_raw.items()) + [("output", body["output"])]:
        key = f"cells.{cell.name}.{'nodes.' if name != 'output' else ''}{name}"
        line = nodes_raw.key_lines.get(name, body.key_lines["output"])
        if isinstance(raw, str):
            nodes.append(CellNode(name, "seq", ((raw, ()),), line))
            continue
        if not isinstance(raw, Located):
            raise SpecError("expected {from: NAME, ops: [...]}, {add: [...]} or {concat: [...]}",
                            path=spec.path, line=line, key=key)
        combine = [k for k in ("add", "concat") if k in raw]
        if combine:
            branches = raw[combine[0]]
            if len(raw) != 1 or not isinstance(branches, LocatedList) or len(branches) < 2:
                raise SpecError(f"'{combine[0]}' takes a list of two or more branches", path=spec.path,
                                line=line, key=key)
            nodes.append(CellNode(name, combine[0], tuple(
                _branch(b, f"{key}.{combine[0]}[{i}]", scope, ctx) for i, b in enumerate(branches)), line))
        else:
            nodes.append(CellNode(name, "seq", (_branch(raw, key, scope, ctx),), line))
    return cell, nodes


def _spec_defaults(spec) -> Located:
    if spec.defaults is not None:
        return spec.defaults
    empty = Located()
    empty.line, empty.key_lines = 1, {}
    return empty


def _section_rows(raw, name, line, defaults, params, path, cells):
    if not isinstance(raw, LocatedList) or not raw:
        raise SpecError("expected a non-empty list of rows", path=path, line=line,
                        key=f"layers.{name}")
    return tuple(_parse_row(item if not isinstance(item, str) else _op_only(item, raw.item_lines[i]),
                            raw.item_lines[i], name, i, defaults, params, path, cells)
                 for i, item in enumerate(raw))


def _mapping(doc: Located, key: str, allowed, path) -> Located:
    value = doc.get(key)
    if value is None:
        empty = Located()
        empty.line, empty.key_lines = doc.key_lines.get(key, doc.line), {}
        return empty
    if not isinstance(value, Located):
        raise SpecError("expected a mapping", path=path, line=doc.key_lines[key], key=key)
    if allowed is not None:
        for k in value:
            if k not in allowed:
                raise SpecError("unknown key", path=path, line=value.key_lines[k], key=f"{key}.{k}",
                                hint=closest(k, allowed))
    return value


def _field(mapping: Located, key: str, check: Callable, default, path, prefix):
    if key not in mapping:
        return default
    try:
        return check(mapping[key])
    except ValueError as err:
        raise SpecError(str(err), path=path, line=mapping.key_lines[key], key=f"{prefix}.{key}") from None


def parse_spec(text: str, path: str = "<spec>", overrides: Mapping[str, Any] | None = None,
               param_defaults: Mapping[str, Any] | None = None) -> schema.NetworkSpec:
    """Validate spec text into a NetworkSpec, binding `overrides` ({name: value or text}) and,
    where the spec declares them and no override does, `param_defaults`."""
    doc = load_yaml(text, path)
    if not isinstance(doc, Located):
        raise SpecError("a spec is a YAML mapping with at least 'name' and 'layers'", path=path,
                        line=getattr(doc, "line", 1))
    for key in doc:
        if key not in TOP_KEYS:
            raise SpecError("unknown top-level key", path=path, line=doc.key_lines[key], key=str(key),
                            hint=closest(key, TOP_KEYS))
    for key in ("name", "layers"):
        if key not in doc:
            raise SpecError(f"missing required top-level key '{key}'", path=path, line=1, key=key)
    for key in ("name", "source", "description"):
        if key in doc and not isinstance(doc[key], str):
            raise SpecError("expected text", path=path, line=doc.key_lines[key], key=key)

    decls = _bind(_parse_params(doc.get("params"), path), overrides or {}, path,
                  param_defaults or {})
    params = {d.name: d.value for d in decls}

    inp = _mapping(doc, "input", INPUT_KEYS, path)
    channels = _field(inp, "channels", _pos_int, 3, path, "input")
    resolution = _field(inp, "resolution", _pos_int, 224, path, "input")

    w = _mapping(doc, "width", WIDTH_KEYS, path)
    for key in w:
        w[key] = _resolve(w[key], params, path, w.key_lines[key], f"width.{key}")
    width = schema.WidthRule(
        rounding=_field(w, "rounding", _one_of(ROUNDING_RULES), "make_divisible", path, "width"),
        divisor=_field(w, "divisor", _pos_int, 8, path, "width"),
        min_channels=_field(w, "min_channels", _pos_int, None, path, "width"),
        expand=_field(w, "expand", _one_of(EXPAND_RULES), "round", path, "width"))

    all_keys = sorted({k for t in schema.ROW_TYPES.values() for k in _row_keys(t)}
                      - {"c", "n", "t", "from", "name"})
    defaults = _mapping(doc, "defaults", all_keys, path)
    for key, value in defaults.items():
        value = _resolve(value, params, path, defaults.key_lines[key], f"defaults.{key}")
        try:
            KEY_CHECKS[key](value)
        except ValueError as err:
            raise SpecError(str(err), path=path, line=defaults.key_lines[key], key=f"defaults.{key}") from None

    cells = _parse_cell_defs(doc.get("cells"), path)
    layers = _mapping(doc, "layers", None, path)
    if not layers:
        raise SpecError("expected at least one section of rows", path=path, line=layers.line,
                        key="layers")
    sections = []
    for name, rows in layers.items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise SpecError("section names must be identifiers and not Python keywords", path=path,
                            line=layers.key_lines[name], key=f"layers.{name}")
        sections.append(schema.Section(name=name, line=layers.key_lines[name],
                                       rows=_section_rows(rows, name, layers.key_lines[name],
                                                          defaults, params, path, cells)))
    spec = schema.NetworkSpec(name=doc["name"], path=path, input_channels=channels,
                              resolution=resolution, width=width, sections=tuple(sections),
                              params=tuple(decls), source=doc.get("source", ""),
                              description=doc.get("description", ""),
                              cells=tuple(cells.values()), defaults=defaults)
    for cell in cells.values():                       # check every cell body once, with defaults
        _check_cell(spec, cell, params, set())
    return spec


def _check_cell(spec, cell, params, seen) -> None:
    if cell.name in seen:
        raise SpecError("a cell cannot contain itself", path=spec.path, line=cell.line,
                        key=f"cells.{cell.name}")
    row = schema.CellRow(op=cell.name, line=cell.line, cell=cell.name, args=cell.params)
    _, nodes = bind_cell(spec, row, params)
    for node in nodes:
        for _, rows in node.branches:
            for r in rows:
                if isinstance(r, schema.CellRow):
                    _check_cell(spec, spec.cell(r.cell), {**params, **dict(row.args)},
                                seen | {cell.name})


def load_spec(path: str | os.PathLike, overrides: Mapping[str, Any] | None = None,
              param_defaults: Mapping[str, Any] | None = None) -> schema.NetworkSpec:
    """Read and validate a spec file (a path, or the name of a zoo spec such as
    mobilenet_v2); a missing or unreadable file is a SpecError too."""
    from ..zoo import resolve
    path = resolve(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_SPEC_BYTES:
            raise SpecError(f"spec is too large ({size} bytes; limit {MAX_SPEC_BYTES})", path=path)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise SpecError("no such file", path=path) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", path=path) from None
    except UnicodeDecodeError:
        raise SpecError("not a UTF-8 text file", path=path) from None
    except OSError as err:
        raise SpecError(f"cannot read: {err.strerror}", path=path) from None
    return parse_spec(text, path, overrides, param_defaults)
