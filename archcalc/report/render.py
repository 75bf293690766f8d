"""CostTable -> text in four formats. The table groups a conv with its BN and activation
into one row per layer; CSV and JSON list every primitive op with exact integers."""
from __future__ import annotations

import csv
import io
import json
from fractions import Fraction

from ..numbers import approx, count_text, number_text
from .units import human_bytes, human_count

FORMATS = ("table", "csv", "json", "markdown")


def _shape(shape) -> str:
    return "x".join(str(v) if not isinstance(v, Fraction) else approx(v, ".4g") for v in shape)


def _model_header(table) -> list[tuple[str, str]]:
    """The header of an imported model (archcalc.imported): what it is, how it was captured."""
    spec = table.spec
    lines = [("model", f"{spec.name} ({spec.path or '<module>'}), {spec.source}"),
             ("input", ", ".join(_shape(s) for s in spec.input_shape))]
    if spec.params:
        lines.append(("arguments", ", ".join(f"{p.name}={p.value}" for p in spec.params)))
    lines.append(("convention", table.convention.describe()))
    lines.append(("memory", f"{table.dtype} activations; peak = largest live set while one op "
                            "runs, in the captured order"))
    return lines


def warnings_of(table) -> list[str]:
    """Lines every output of an imported model prints in its warnings section (unknown ops
    counted as zero, capture notes); none for a spec."""
    return list(getattr(table.spec, "warnings", None) or ())


def _warning_text(table) -> str:
    lines = warnings_of(table)
    return "".join(["\nwarnings:\n"] + [f"  {w}\n" for w in lines]) if lines else ""


def _header(table) -> list[tuple[str, str]]:
    from .provenance import spec_shown
    spec = table.spec
    if getattr(spec, "imported", False):
        return _model_header(table)
    point = f"width {number_text(table.width)}, resolution {table.resolution}"
    lines = [("spec", f"{spec.name} ({spec_shown(spec)})" + (f", {spec.source}" if spec.source else "")),
             ("point", point)]
    if spec.params:
        lines.append(("params", ", ".join(f"{p.name}={number_text(p.value)}" for p in spec.params)))
    w = spec.width
    if w.rounding == "none":
        rule = "none: idealised, continuous channels c * alpha (exact fractions)"
    elif w.rounding == "truncate":
        rule = f"truncate: max(int(c * alpha), {w.minimum})"
    else:
        rule = f"make_divisible(c * alpha, {w.divisor}), expanded width {w.expand}"
    lines.append(("channels", rule))
    lines.append(("convention", table.convention.describe()))
    lines.append(("memory", f"{table.dtype} activations; peak = largest live set while one op runs"))
    return lines


def _total_lines(table) -> list[tuple[str, str, str]]:
    t = table.totals
    rows = [("params", human_count(t["params"]), count_text(t["params"])),
            ("BN params", human_count(t["bn_params"]),
             f"{count_text(t['bn_params'])} ({'included in' if table.convention.bn_params else 'not in'} params)"),
            ("MAdds", human_count(t["madds"]), count_text(t["madds"]) + _passes_note(table)),
            ("FLOPs", human_count(t["flops"]), f"{count_text(t['flops'])} (2 x MAdds)")]
    if table.convention.elementwise:
        rows.append(("element-wise ops", human_count(t["elementwise_ops"]), count_text(t["elementwise_ops"])))
    rows += [("activations", human_bytes(t["activation_bytes"]),
              f"{count_text(t['activation_bytes'])} bytes, all tensors"),
             ("peak memory", human_bytes(t["peak_memory_bytes"]),
              f"{count_text(t['peak_memory_bytes'])} bytes, naive schedule"),
             ("peak streamed", human_bytes(t["peak_memory_bytes_streamed"]),
              f"{count_text(t['peak_memory_bytes_streamed'])} bytes, MobileNetV2 Sec. 5.1")]
    return rows


def _passes_note(table) -> str:
    if not table.passes:
        return ""
    return (f" (sum of {len(table.passes)} inference passes, multiscale; the layers above are "
            f"the pass at {table.resolution})")


def render_passes(table) -> str:
    """One line per multi-scale inference pass (report --passes), then their sum."""
    if not table.passes:
        return "passes  one (this spec has no multiscale section, or multiscale=false)\n"
    lines = ["pass  scale  flip  input        MAdds"]
    for i, p in enumerate(table.passes):
        lines.append(f"{i:>4}  {number_text(p.scale):>5}  {'yes' if p.flip else 'no':>4}  "
                     f"{str(p.resolution):<11}  {count_text(p.madds)}")
    lines.append(f" sum  {'':>5}  {'':>4}  {'':<11}  {count_text(table.totals['madds'])}")
    return "\n".join(lines) + "\n"


def _layer_rows(table, all_ops: bool) -> list[dict]:
    if all_ops:
        return [{"name": r.name, "ops": [r.label], "output_shape": r.output_shape, "params": r.params,
                 "madds": r.madds, "memory_bytes": r.memory_bytes,
                 "elementwise_ops": r.elementwise_ops} for r in table.rows]
    return table.layers()


def _columns(table) -> list[str]:
    cols = ["layer", "op", "output", "params", "MAdds", "% MAdds", "memory"]
    if table.convention.elementwise:
        cols.insert(6, "elem. ops")
    return cols


def _cells(table, row) -> list[str]:
    total = table.totals["madds"] or 1
    cells = [row["name"], " + ".join(row["ops"]), _shape(row["output_shape"]),
             human_count(row["params"]) if row["params"] else "",
             human_count(row["madds"]) if row["madds"] else "",
             approx(Fraction(row["madds"]) * 100 / Fraction(total), ".1f") if row["madds"] else "",
             human_bytes(row["memory_bytes"]) if row["memory_bytes"] else ""]
    if table.convention.elementwise:
        cells.insert(6, human_count(row["elementwise_ops"]))
    return cells


def render_table(table, all_ops: bool = False, width: int | None = None) -> str:
    """The terminal table, fitted to `width` columns (default: the terminal's, or 80; see
    report/terminal.py): long header values wrap under themselves, op labels drop the spaces
    around '+' when the table is too wide, and long layer names and op labels then wrap."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from .terminal import columns, wrap
    width = width or columns()
    out = io.StringIO()
    console = Console(file=out, width=width, highlight=False, color_system=None)
    for key, value in _header(table):
        console.print(f"[bold]{key:>10}[/bold]  " + escape(wrap(value, width, 12, 12)),
                      soft_wrap=True)
    rows = [_cells(table, row) for row in _layer_rows(table, all_ops)]
    cols = _columns(table)
    gap = 3                   # SIMPLE_HEAD's blank column divider and one space either side
    if _natural(cols, rows, gap) > width:
        # compact: "dwconv 3x3+bn+relu6", no "% MAdds" column (it is in csv/json), gap 1
        keep = [i for i, c in enumerate(cols) if c != "% MAdds"]
        cols = [cols[i] for i in keep]
        rows = [[r[i].replace(" + ", "+") if cols_i == "op" else r[i]
                 for i, cols_i in zip(keep, cols)] for r in rows]
        gap = 1
    fixed = {}
    if _natural(cols, rows, gap) > width:     # layer names keep their width; op labels wrap
        widths = [max(len(c) for c in col) for col in zip(cols, *rows)]
        rest = width - sum(w for c, w in zip(cols, widths) if c not in ("layer", "op")) \
            - gap * (len(cols) - 1)
        layer_w = widths[cols.index("layer")]
        fixed["layer"] = max(8, min(layer_w, rest - 12))
        fixed["op"] = max(6, rest - fixed["layer"])
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                 padding=(0, 1) if gap == 3 else (0, 0))
    for col in cols:
        text_col = col in ("layer", "op", "output")
        grid.add_column(col, justify="left" if text_col else "right", width=fixed.get(col),
                        no_wrap=col not in ("layer", "op"), overflow="fold")
    previous_block = None
    for name, cells in zip((r["name"] for r in _layer_rows(table, all_ops)), rows):
        block = name.split(".")[0]
        if previous_block is not None and block != previous_block:
            grid.add_section()
        previous_block = block
        grid.add_row(*(escape(c) for c in cells))
    console.print(grid)
    console.print()
    totals = Table(box=None, show_header=False, pad_edge=False)
    totals.add_column(justify="right", style="bold", no_wrap=True)
    totals.add_column(justify="right", no_wrap=True)
    totals.add_column(justify="left")
    for name, short, exact in _total_lines(table):
        totals.add_row(name, short, escape(exact))
    console.print(totals)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n" + \
        _warning_text(table)


def _natural(cols, rows, gap: int) -> int:
    return sum(max(len(c) for c in col) for col in zip(cols, *rows)) + gap * (len(cols) - 1)


def render_markdown(table, all_ops: bool = False) -> str:
    lines = [f"**{k}**: {v}  " for k, v in _header(table)] + [""]
    cols = _columns(table)
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" if c in ("layer", "op", "output") else "---:" for c in cols) + "|")
    for row in _layer_rows(table, all_ops):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in _cells(table, row)) + " |")
    lines += ["", "| total | | exact |", "|---|---:|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in _total_lines(table)]
    return "\n".join(lines) + "\n" + _warning_text(table)


def table_provenance(table) -> dict:
    """What a report measured (report/provenance.py): spec, point, convention, dtype, version."""
    from .provenance import provenance
    return provenance(table.spec, table.convention, table.dtype, width=number_text(table.width),
                      resolution=table.resolution)


def render_csv(table) -> str:
    """One row per op, after `# key: value` provenance lines (pd.read_csv(f, comment="#"))."""
    from .provenance import csv_comments
    out = io.StringIO()
    out.write(csv_comments(table_provenance(table)))
    out.write("".join(csv_comments({"warning": w}) for w in warnings_of(table)))
    data = table.to_dict()
    keys = [k for k in data["layers"][0] if k != "output_shape"]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "block", "op", "out_c", "out_h", "out_w"] + keys[3:])
    for layer in data["layers"]:
        shape = layer["output_shape"]      # an imported model's tensors have any rank
        cells = shape if len(shape) == 3 else ["x".join(map(str, shape)), "", ""]
        writer.writerow([layer["name"], layer["block"], layer["op"], *cells]
                        + [layer[k] for k in keys[3:]])
    return out.getvalue()


def render_json(table, closed_forms: dict | None = None) -> str:
    from .. import __version__
    from .provenance import spec_shown
    data = {"archcalc_version": __version__, **table.to_dict()}
    data["spec_shown"] = spec_shown(table.spec)
    if closed_forms:
        data["closed_forms"] = closed_forms
    return json.dumps(data, indent=2) + "\n"


def render(table, fmt: str = "table", all_ops: bool = False, closed_forms: dict | None = None) -> str:
    if fmt == "table":
        return render_table(table, all_ops)
    if fmt == "markdown":
        return render_markdown(table, all_ops)
    if fmt == "csv":
        return render_csv(table)
    if fmt == "json":
        return render_json(table, closed_forms)
    raise ValueError(f"unknown format {fmt!r}")


def render_closed_forms(forms: dict, width: int | None = None) -> str:
    """Closed forms (strings) of totals and per layer, in alpha (width) and r (resolution),
    wrapped to the terminal (report/terminal.py; the full text is in --format json)."""
    from .terminal import columns, wrap
    width = width or columns()
    lines = ["closed forms in alpha (width multiplier) and r (input resolution):", ""]
    if forms.get("invalid_where"):
        lines.append(wrap("  (they hold except where one of these holds: rounding then changes the "
                          "structure, and archcalc compiles such points exactly)", width, 3))
        lines += [wrap(f"    {g}", width, 6) for g in forms["invalid_where"]] + [""]
    for key, expr in forms["totals"].items():
        if len(expr) > 2000:
            expr = f"{expr[:200]} ... ({len(expr):,} characters; full form with --format json)"
        lines.append(wrap(f"  {key} = {expr}", width, 6))
    lines.append("")
    for layer in forms["layers"]:
        lines.append(f"  {layer['name']}:")
        for key in ("output_shape", "params", "madds", "memory_bytes"):
            lines.append(wrap(f"      {key} = {layer[key]}", width, 10))
    return "\n".join(lines) + "\n"
