"""Render a comparison (archcalc.compare.compare_specs's entries): metrics per spec with
ratios to the first, and the memory table (MobileNetV2 Table 3's layout)."""
from __future__ import annotations

import csv
import io
import json

from fractions import Fraction

from ..numbers import approx, decimal_text, plain
from .provenance import csv_comments, spec_shown
from .units import human_bytes, human_count

METRICS = (("params", "params", human_count), ("madds", "MAdds", human_count),
           ("flops", "FLOPs", human_count),
           ("peak_memory_bytes", "peak memory (naive)", human_bytes),
           ("peak_memory_bytes_streamed", "peak memory (streamed)", human_bytes))


def _published(entry, key):
    return (entry.published or {}).get(key)


def rows(entries) -> list[dict]:
    """One dict per metric: name, exact values per entry, ratio to the first entry."""
    out = []
    for key, name, fmt in METRICS:
        values = [e.table.totals[key] for e in entries]
        out.append({"metric": key, "name": name, "values": values, "fmt": fmt})
    for key, name in (("top1", "top-1 (published, %)"), ("latency_ms", "phone latency (published, ms)")):
        values = [_published(e, key) for e in entries]
        if any(v is not None for v in values):
            out.append({"metric": key, "name": name, "values": values,
                        "fmt": lambda v: "" if v is None else f"{v:.1f}"})
    for key, name in (("coco_map", "COCO mAP (published, %)"), ("voc_miou", "VOC mIOU (published, %)")):
        values = [_published(e, key) for e in entries]
        if any(v is not None for v in values):      # as printed: 23.2, 75.29
            out.append({"metric": key, "name": name, "values": values,
                        "fmt": lambda v: "" if v is None else f"{v:g}"})
    for key, name in (("paper_params", "params (published)"), ("paper_madds", "MAdds (published)")):
        values = [_published(e, key) for e in entries]
        if any(v is not None for v in values):
            out.append({"metric": key, "name": name, "values": values,
                        "fmt": lambda v: "" if v is None else human_count(round(v))})
    return out


def ratio_text(value, first) -> str:
    """x0.53: the ratio to the first entry, exact until formatted (counts can be huge ints);
    "" where there is none (no value, or a first value of 0 or None)."""
    if value is None or first in (None, 0):
        return ""
    if isinstance(value, float) or isinstance(first, float):
        return f"x{value / first:.2f}"
    return f"x{approx(Fraction(value) / Fraction(first), '.2f')}"


def memory_rows(entries) -> tuple[list, list]:
    sizes = []
    for e in entries:
        for key in e.memory:
            if key not in sizes:
                sizes.append(key)
    sizes.sort(key=lambda k: -k[0] * k[1])
    table = []
    for key in sizes:
        cells = [e.memory.get(key) for e in entries]
        table.append((f"{key[0]}x{key[1]}", cells))
    maxima = [max(e.memory.values(), key=lambda v: v[1]) if e.memory else None for e in entries]
    return table, maxima


def _kilo(n) -> str:
    return f"{round(Fraction(n) / 1000)}K"


def _mem_cell(cell) -> str:
    return "" if cell is None else f"{cell[0]} / {_kilo(cell[1])}"


def _sources(entries) -> list[tuple[str, list[str]]]:
    """[(source, [labels of the columns it gives published figures for])], in column order."""
    out: dict = {}
    for e in entries:
        if e.published:
            out.setdefault(e.published["source"], []).append(e.label)
    return list(out.items())


def render_text(entries, with_memory: bool, markdown: bool = False) -> str:
    conv = entries[0].table.convention
    header = ["", *[e.label for e in entries]]
    body = []
    for row in rows(entries):
        first = row["values"][0]
        cells = [row["fmt"](v) + ("" if i == 0 or not ratio_text(v, first)
                                  else f" ({ratio_text(v, first)})")
                 for i, v in enumerate(row["values"])]
        body.append([row["name"], *cells])
    from .terminal import columns, wrap
    width = columns()
    lines = [wrap(f"convention: {conv.describe()}", width, 4) if not markdown else
             f"convention: {conv.describe()}", f"memory: {entries[0].table.dtype} activations", ""]
    lines += grid(header, body, markdown)
    sources = _sources(entries)
    if sources:
        lines.append("")      # (markdown: else GitHub renders the next line as a table row)
    for source, labels in sources:
        line = f"published ({', '.join(labels)}): {source}"
        lines.append("- " + line if markdown else wrap(line, width, 4))
    if with_memory:
        table, maxima = memory_rows(entries)
        note = ("largest tensor that must be materialised per spatial size, channels / kB "
                "(streamed model, first layer streamed; see docs/memory.md):")
        lines += ["", note if markdown else wrap(note, width), ""]
        mem_body = [[size, *[_mem_cell(c) for c in cells]] for size, cells in table]
        mem_body.append(["max", *[("" if m is None else _kilo(m[1])) for m in maxima]])
        lines += grid(["size", *[e.label for e in entries]], mem_body, markdown)
    return "\n".join(lines) + "\n"


def grid(header, body, markdown: bool, width: int | None = None) -> list[str]:
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
        out += ["| " + " | ".join(r) + " |" for r in body]
        return out
    from .terminal import columns
    width = width or columns()
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    # columns that do not fit the terminal go into further blocks, the row names repeated
    groups, current, used = [], [], widths[0]
    for i in range(1, len(header)):
        if current and used + 2 + widths[i] > width:
            groups.append(current)
            current, used = [], widths[0]
        current.append(i)
        used += 2 + widths[i]
    groups.append(current)
    out: list[str] = []
    for g in groups:
        idx = [0, *g]
        fmt = lambda r: "  ".join(str(r[i]).ljust(widths[i]) if i == 0  # noqa: E731
                                  else str(r[i]).rjust(widths[i]) for i in idx)
        if out:
            out.append("")
        out += [fmt(header), "  ".join("-" * widths[i] for i in idx), *[fmt(r) for r in body]]
    return out


def _meta(entries) -> dict:
    from .. import __version__
    conv = entries[0].table.convention
    return {"archcalc_version": __version__, "convention": conv.name,
            "convention_description": conv.describe(), "dtype": entries[0].table.dtype}


def to_dict(entries, with_memory: bool) -> dict:
    out = {**_meta(entries), "entries": []}
    for e in entries:
        item = {"label": e.label, "spec": e.table.spec.path, "spec_name": e.table.spec.name,
                "spec_shown": spec_shown(e.table.spec), "width": plain(e.table.width),
                "resolution": e.table.resolution,
                "params": {p.name: plain(p.value) for p in e.table.spec.params},
                "totals": {k: e.table.totals[k] for k, _, _ in METRICS},
                "published": dict(e.published) if e.published else None}
        if getattr(e.table.spec, "imported", False):      # a model (archcalc.imported)
            item["warnings"] = list(e.table.spec.warnings)
        if with_memory:
            item["memory_by_resolution"] = [
                {"size": [h, w], "channels": c, "bytes": b, "tensor": name}
                for (h, w), (c, b, name) in e.memory.items()]
        out["entries"].append(item)
    return out


def _warnings(entries) -> list[str]:
    """The warnings of imported models (unknown ops counted as zero), one line each."""
    return [f"{e.label}: {w}" for e in entries for w in getattr(e.table.spec, "warnings", ())]


def render_comparison(entries, fmt: str, with_memory: bool) -> str:
    """The comparison as text: table (default), markdown, csv (# comment lines first) or json;
    imported models' warnings follow the table (csv: `# warning:` lines; json: per entry)."""
    text = _render_comparison(entries, fmt, with_memory)
    lines = _warnings(entries)
    if not lines or fmt == "json":
        return text
    if fmt == "csv":
        return "".join(csv_comments({"warning": w}) for w in lines) + text
    return text + "\nwarnings:\n" + "".join(f"  {w}\n" for w in lines)


def _render_comparison(entries, fmt: str, with_memory: bool) -> str:
    if fmt == "json":
        return json.dumps(to_dict(entries, with_memory), indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        meta = _meta(entries)
        meta.update({f"column {i + 1}": f"{e.label} = {e.table.spec.name} "
                     f"({spec_shown(e.table.spec)}) at width {decimal_text(e.table.width)}, "
                     f"resolution {e.table.resolution}" for i, e in enumerate(entries)})
        meta.update({f"published ({', '.join(labels)})": src for src, labels in _sources(entries)})
        buf.write(csv_comments(meta))
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["metric", *[e.label for e in entries]])
        for row in rows(entries):
            writer.writerow([row["metric"], *["" if v is None else v for v in row["values"]]])
        if with_memory:
            table, maxima = memory_rows(entries)
            for size, cells in table:
                writer.writerow([f"memory_{size}_channels", *["" if c is None else c[0] for c in cells]])
                writer.writerow([f"memory_{size}_bytes", *["" if c is None else c[1] for c in cells]])
            writer.writerow(["memory_max_bytes", *["" if m is None else m[1] for m in maxima]])
        return buf.getvalue()
    return render_text(entries, with_memory, markdown=fmt == "markdown")


render = render_comparison      # the name before issue 11 (the dashboard's branch); see compare.py
