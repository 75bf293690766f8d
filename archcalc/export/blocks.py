"""Readable rows for `archcalc import`: MobileNetV2 inverted-residual blocks as `bottleneck`
rows, and runs of identical rows as one row with `n`.

* A streamed block of flat rows (export/rows.py) -- a 1x1 expansion conv + BN + act (absent
  when t = 1), a k x k depthwise conv + BN + the same act, a 1x1 projection + BN (+ act), and
  the residual add of the block input where MobileNetV2 Table 1 / Fig. 6b puts one (stride 1,
  equal actual widths) -- becomes `{op: bottleneck, t: mid/c_in, c, s, k, ...}`: the
  expansion width round(t * c_in) is the model's (`width.expand: round`, torchvision's
  `int(round(inp * expand_ratio))`).
* Consecutive rows with the same keys, the later ones at stride 1, none read from elsewhere
  but the last (MobileNetV2 Table 2's repeats: "the first layer of each sequence has a stride
  s and all others use stride 1"), become one row with `n`.

Every rewrite is checked by the caller (export.export_spec compiles the text and compares
it with the model); where a readable form does not compile to the model, the flat rows are
written instead.
"""
from __future__ import annotations

from fractions import Fraction

from .rows import Row

NO_BIAS = ("bias", "norm", "groups", "dilation", "scale", "from", "divisor")


def _plain(row: Row, op: str) -> bool:
    return row.keys["op"] == op and not any(k in row.keys for k in NO_BIAS)


def _prefix(layers: list) -> str:
    parts = [x.split(".") for x in layers if x]
    if not parts:
        return ""
    out = []
    for items in zip(*parts):
        if len(set(items)) != 1:
            break
        out.append(items[0])
    return ".".join(out)


def _bottleneck(graph, rows: list, i: int):
    """(bottleneck Row, rows it replaces) for a block starting at rows[i], or None."""
    row, ins = rows[i]
    group = row.keys.get("stream_group")
    if group is None or (i > 0 and rows[i - 1][0].keys.get("stream_group") == group):
        return None                       # a block starts at its group's first row
    block = [(r, x) for r, x in rows[i:i + 4] if r.keys.get("stream_group") == group]
    ops = [r.keys["op"] for r, _ in block]
    if ops[:3] == ["pwconv", "dwconv", "pwconv"]:
        expand, dw, project = (r for r, _ in block[:3])
    elif ops[:2] == ["dwconv", "pwconv"]:
        expand, (dw, project) = None, (r for r, _ in block[:2])
    else:
        return None
    add = block[-1][0] if ops[-1] == "add" else None
    parts = [r for r in (expand, dw, project, add) if r is not None]
    if len(parts) != len(block) or not all(_plain(r, r.keys["op"]) for r in parts):
        return None
    block_input = ins[0]
    c_in = graph.shape(block_input)[0]
    mid = graph.shape(dw.output)[0]
    if expand is not None and expand.keys["act"] != dw.keys["act"]:
        return None
    if expand is None and mid != c_in:
        return None
    c_out = graph.shape(project.output)[0]
    stride = dw.keys.get("s", 1)
    if add is not None and set(graph.inputs(add.nodes[0])) != {block_input, project.output}:
        return None
    residual = stride == 1 and c_in == c_out
    if add is None and residual:
        keys_residual = "none"
    elif add is not None and not residual:
        return None
    else:
        keys_residual = None
    inside = {n for r in parts for n in r.nodes}
    for r in parts[:-1]:                    # nothing outside reads a tensor inside the block
        if any(u not in inside for u in graph.consumers(r.output)):
            return None
    t = Fraction(mid, c_in) if expand is not None else Fraction(1)
    keys = {"op": "bottleneck", "t": int(t) if t.denominator == 1 else f"{t.numerator}/"
            f"{t.denominator}", "c": project.keys["c"]}
    if stride != 1:
        keys["s"] = stride
    if dw.keys["k"] != 3:
        keys["k"] = dw.keys["k"]
    keys["padding"] = dw.keys["padding"]
    if dw.keys["act"] != "relu6":
        keys["act"] = dw.keys["act"]
    if project.keys["act"] != "linear":
        keys["project_act"] = project.keys["act"]
    if keys_residual:
        keys["residual"] = keys_residual
    comment = _prefix([r.comment for r in parts])
    merged = Row(keys=keys, nodes=[n for r in parts for n in r.nodes], section=row.section,
                 comment=comment or row.comment)
    return merged, len(parts)


def bottlenecks(graph, rows: list) -> list:
    """`rows` ((Row, inputs) pairs, before wiring) with inverted-residual blocks merged."""
    out, i = [], 0
    while i < len(rows):
        found = _bottleneck(graph, rows, i)
        if found is None:
            out.append(rows[i])
            i += 1
            continue
        merged, count = found
        out.append((merged, rows[i][1]))
        i += count
    return out


def repeats(rows: list) -> list:
    """Wired rows with runs of identical rows (the later ones at stride 1, read only at the
    end) joined into one row with `n`."""
    out: list = []
    for row in rows:
        prev = out[-1] if out else None
        if prev is not None and _repeat_of(prev, row):
            n = prev.keys.get("n", 1) + 1
            keys = {k: v for k, v in prev.keys.items() if k != "n"}
            items = list(keys.items())
            keys = dict(items[:1] + [("n", n)] + items[1:]) if keys["op"] != "bottleneck" \
                else dict(items[:3] + [("n", n)] + items[3:])
            first = prev.comment.split(" .. ")[0]
            out[-1] = Row(keys=keys, nodes=prev.nodes + row.nodes, section=prev.section,
                          comment=f"{first} .. {row.comment}", name=row.name)
            continue
        out.append(row)
    return out


def _repeat_of(prev: Row, row: Row) -> bool:
    if prev.name is not None or row.section != prev.section or "from" in row.keys or \
            "stream_group" in row.keys or "of" in row.keys or row.keys.get("s", 1) != 1:
        return False
    a = {k: v for k, v in prev.keys.items() if k not in ("n", "s", "from")}
    b = {k: v for k, v in row.keys.items() if k not in ("n", "s")}
    if a != b or a["op"] in ("param", "view", "copy"):
        return False
    return True
