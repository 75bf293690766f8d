"""The YAML text of an emitted spec (`archcalc import`): a header (name, source: the model
reference and its input shape, input, width), then `layers:` with one flow-style row per
line, each commented with the layer (module path) of the model it comes from.

Written by hand, not by a YAML library, so that rows stay one per line in their key order;
every scalar is an integer, true/false, or a word that YAML 1.2's core schema reads back as
the same text (quoted otherwise)."""
from __future__ import annotations

import keyword
import re

from ..imported.layers import unique

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(scalar(x) for x in v) + "]"
    text = str(v)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def row_text(keys: dict) -> str:
    return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in keys.items()) + "}"


def unique_name(text: str, taken: set, *, prefix: str, empty: str, reserved=()) -> str:
    """A YAML-safe identifier from `text` (other characters as `_`; `prefix` before a leading
    digit, a Python keyword or a reserved word), made unique against `taken` (`_2`, `_3`,
    ...) and added to it: a row's `name:` and a section's key."""
    base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in text).strip("_") or empty
    if base[0].isdigit() or keyword.iskeyword(base) or base in reserved:
        base = prefix + base
    return unique(base, taken, first=2)


def spec_text(emitted, *, name: str, source: str, channels: int, resolution,
              notes: tuple = ()) -> str:
    """The spec file's text."""
    lines = [f"# Written by `archcalc import` from {source}: compiles to the model's op graph",
             "# (params, MAdds, memory and every layer's shape as `archcalc report` of the model).",
             "# Each row's comment is the model's layer (module path) it comes from."]
    lines += [f"# note: {n}" for n in notes]
    res = resolution if isinstance(resolution, int) else list(resolution)
    lines += [f"name: {scalar(name)}", f"source: {scalar(source)}",
              f"input: {{channels: {channels}, resolution: {scalar(res)}}}",
              f"width: {{rounding: make_divisible, divisor: {emitted.divisor}}}", "layers:"]
    taken: set = set()
    current = None
    for row in emitted.rows:
        if row.section != (current[0] if current else None):
            current = (row.section, unique_name(row.section, taken, prefix="s_", empty="layers"))
            lines.append(f"  {current[1]}:")
        keys = dict(row.keys)
        if row.name is not None:
            keys["name"] = row.name
        comment = f"  # {row.comment}" if row.comment else ""
        lines.append(f"    - {row_text(keys)}{comment}")
    return "\n".join(lines) + "\n"
