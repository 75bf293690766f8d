"""YAML -> NetworkSpec: read (bounded), safe-load, validate every key and value, bind parameters.

Nothing in a spec is evaluated: a value is a literal, `$name` naming a declared parameter,
or a `{by: ...}` lookup. Everything is decoded once into frozen data (rows, defaults, cell
bodies); every error is a SpecError naming the file, the line and the key.
"""
from __future__ import annotations

import errno
import keyword
import os
import select
import stat
import time
from typing import Any, Mapping

from ..errors import SpecError, closest
from ..limits import MAX_SPEC_BYTES, SPEC_READ_SECONDS
from ..numbers import quote
from ..rounding import EXPAND_RULES, ROUNDING_RULES
from . import schema
from .cells import CellNode, bind_cell, parse_cells
from .inference import parse_multiscale, parse_output_stride
from .params import bind, parse_params
from .rows import DEFAULT_KEYS, build_row, decode_defaults, decode_row
from .values import KEY_CHECKS, input_size, one_of, parse_value, pos_int, resolve, template, \
    to_fraction
from .yamlio import Located, LocatedList, load_yaml

__all__ = ["load_spec", "parse_spec", "parse_value", "bind_cell", "CellNode", "to_fraction",
           "read_spec_text", "KEY_CHECKS"]

TOP_KEYS = ("name", "source", "description", "input", "params", "width", "defaults", "cells",
            "layers", "output_stride", "multiscale")
INPUT_KEYS = ("channels", "resolution")
WIDTH_KEYS = ("rounding", "divisor", "min_channels", "expand")


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


def _field(mapping: Located, key: str, check, default, path, prefix, scope=None, names=()):
    if key not in mapping:
        return default
    line, where = mapping.key_lines[key], f"{prefix}.{key}"
    value = mapping[key]
    if scope is not None:          # `width:` takes $name references and lookups
        value = resolve(template(value, names, path, line, where), scope, path, line, where)
    try:
        return check(value)
    except ValueError as err:
        raise SpecError(str(err), path=path, line=line, key=where) from None


def _sections(layers: Located, defaults, names, scope, path, cells) -> tuple:
    sections = []
    for name, raw in layers.items():
        line = layers.key_lines[name]
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise SpecError("section names must be identifiers and not Python keywords", path=path,
                            line=line, key=f"layers.{name}")
        if not isinstance(raw, LocatedList) or not raw:
            raise SpecError("expected a non-empty list of rows", path=path, line=line,
                            key=f"layers.{name}")
        rows = tuple(row for row in (
            build_row(decode_row(item, raw.item_lines[i], f"layers.{name}[{i}]", defaults, names,
                                 path, cells), scope, path, cells)
            for i, item in enumerate(raw)) if row.when)
        sections.append(schema.Section(name=name, line=line, rows=rows))
    return tuple(sections)


def parse_spec(text: str, path: str = "<spec>", overrides: Mapping[str, Any] | None = None,
               param_defaults: Mapping[str, Any] | None = None) -> schema.NetworkSpec:
    """Validate spec text into a NetworkSpec, binding `overrides` ({name: value or text}) and,
    where the spec declares them and no override does, `param_defaults`."""
    if len(text) > MAX_SPEC_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise SpecError(f"spec is too large (more than {MAX_SPEC_BYTES:,} bytes; limit "
                        f"MAX_SPEC_BYTES)", path=path)
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

    decls = bind(parse_params(doc.get("params"), path), overrides or {}, path, param_defaults or {})
    scope = {d.name: d.value for d in decls}
    names = tuple(scope)

    inp = _mapping(doc, "input", INPUT_KEYS, path)
    channels = _field(inp, "channels", pos_int, 3, path, "input")
    resolution = _field(inp, "resolution", input_size, 224, path, "input")

    w = _mapping(doc, "width", WIDTH_KEYS, path)
    width = schema.WidthRule(
        rounding=_field(w, "rounding", one_of(ROUNDING_RULES), "make_divisible", path, "width",
                        scope, names),
        divisor=_field(w, "divisor", pos_int, 8, path, "width", scope, names),
        min_channels=_field(w, "min_channels", pos_int, None, path, "width", scope, names),
        expand=_field(w, "expand", one_of(EXPAND_RULES), "round", path, "width", scope, names))

    defaults = decode_defaults(_mapping(doc, "defaults", DEFAULT_KEYS, path), names, scope, path)
    cells = {c.name: c for c in parse_cells(doc.get("cells"), path, names, defaults, scope)}
    layers = _mapping(doc, "layers", None, path)
    if not layers:
        raise SpecError("expected at least one section of rows", path=path, line=layers.line,
                        key="layers")
    return schema.NetworkSpec(name=doc["name"], path=path, input_channels=channels,
                              resolution=resolution, width=width,
                              sections=_sections(layers, defaults, names, scope, path, cells),
                              params=tuple(decls), source=doc.get("source", ""),
                              description=doc.get("description", ""),
                              cells=tuple(cells.values()), defaults=defaults,
                              output_stride=parse_output_stride(doc, path, scope, names),
                              multiscale=parse_multiscale(doc, path, scope, names))


def read_spec_text(path: str) -> str:
    """A spec file's text, reading at most MAX_SPEC_BYTES + 1 bytes whatever the file is.

    A regular file is read as it is. Anything else (a pipe such as `<(cat spec.yaml)`, a
    FIFO, /dev/stdin, a device) is opened without blocking and read as its data arrives, for
    at most SPEC_READ_SECONDS in all: /dev/zero is refused as too large, and a FIFO nobody
    writes to, or a writer that does not finish, is refused when the time is up. Never
    hangs; never reads more than the limit."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        from ..zoo import zoo_names
        name = path[4:] if path.startswith("zoo:") else path
        if path.startswith("zoo:") or (os.sep not in path and not path.endswith(".yaml")):
            raise SpecError(f"no such file, and no zoo spec named {quote(name)} (archcalc zoo lists "
                            f"them)", path=path, hint=closest(name, zoo_names())) from None
        raise SpecError("no such file", path=path) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", path=path) from None
    except OSError as err:
        raise SpecError(f"cannot read: {err.strerror}", path=path) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise SpecError("is a directory, not a spec file", path=path)
        data = _read_bounded(fd, stat.S_ISREG(mode), path)
    except OSError as err:
        raise SpecError(f"cannot read: {err.strerror}", path=path) from None
    finally:
        os.close(fd)
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(f"spec is too large (more than {MAX_SPEC_BYTES:,} bytes; limit "
                        f"MAX_SPEC_BYTES)", path=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError("not a UTF-8 text file", path=path) from None


def _read_bounded(fd: int, regular: bool, path) -> bytes:
    """Up to MAX_SPEC_BYTES + 1 bytes; a non-regular file is waited on (select) for data or
    its end, SPEC_READ_SECONDS in all (a FIFO with no writer is not ready until one comes)."""
    chunks, size = [], 0
    deadline = time.monotonic() + SPEC_READ_SECONDS
    while size <= MAX_SPEC_BYTES:
        if not regular:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                what = "no data arrived" if not size else "the spec did not end"
                raise SpecError(f"{what} within {SPEC_READ_SECONDS} s (a FIFO or pipe with no "
                                f"writer?; limit SPEC_READ_SECONDS)", path=path)
        try:
            chunk = os.read(fd, min(1 << 16, MAX_SPEC_BYTES + 1 - size))
        except BlockingIOError:
            continue
        except OSError as err:
            if err.errno == errno.EISDIR:
                raise SpecError("is a directory, not a spec file", path=path) from None
            raise
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def load_spec(path: str | os.PathLike, overrides: Mapping[str, Any] | None = None,
              param_defaults: Mapping[str, Any] | None = None) -> schema.NetworkSpec:
    """Read and validate a spec file (a path, or the name of a zoo spec such as
    mobilenet_v2); a missing, unreadable or oversized file is a SpecError too."""
    from ..zoo import resolve as resolve_zoo
    path = resolve_zoo(path)
    return parse_spec(read_spec_text(path), path, overrides, param_defaults)
