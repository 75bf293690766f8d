"""The designer: one spec at one point (width, resolution, convention, dtype, parameter
values), as plain data: the totals cards, the per-layer bars (MAdds, params, output bytes,
coloured by op type), the live-memory profile (naive vs MobileNetV2 Sec. 5.1 streaming) and
the published figures at that point, if any.

Every number is archcalc's: the CostTable at the point (`Workspace.table`), its layers
(`CostTable.layers()`), readable through archcalc.report.units and exact through
archcalc.numbers.
"""
from __future__ import annotations

import archcalc
from archcalc.numbers import count_text, plain
from archcalc.report.units import human_bytes, human_count

from ..bounded import Busy
from ..colors import OP_COLORS, OP_NAMES, MUTED
from ..controls import resolution_value, width_text
from ..figures import axis, base_layout, empty_figure


def primary_ops(table) -> dict:
    """Layer name -> the op type it is coloured by: its first op that is not BN or an
    activation (a grouped 1x1 conv, ShuffleNet's, gets its own colour), else its first op."""
    first: dict = {}
    main: dict = {}
    for row in table.rows:
        first.setdefault(row.layer, row.op)
        if row.layer not in main and row.op not in ("bn", "act"):
            main[row.layer] = ("grouped_pointwise" if row.op == "pointwise" and " g" in row.label
                               else row.op)
    return {layer: main.get(layer, op) for layer, op in first.items()}


def shape_text(shape) -> str:
    """An output shape as the hover shows it: 32×112×112."""
    return "×".join(str(plain(v)) if not isinstance(v, float) else f"{v:.4g}" for v in shape)


def layer_rows(table) -> list[dict]:
    """The table's layers (`CostTable.layers()`: a conv with its BN and activation, in network
    order: name, block, op labels, output shape, params, MAdds, bytes materialised, live bytes
    naive and streamed), each with its stage (the spec row it comes from) and the op type it
    is coloured by (`kind`)."""
    kinds = primary_ops(table)
    layers = table.layers()
    for g in layers:
        g["stage"] = ".".join(g["name"].split(".")[:2])
        g["kind"] = kinds[g["name"]]
    return layers


def stage_shapes(layers, yref="paper") -> tuple[list, list]:
    """Alternate light bands per spec row (stage) and section names above the plot."""
    shapes, notes = [], []
    start, band = 0, 0
    n = len(layers)
    for i in range(1, n + 1):
        if i == n or layers[i]["stage"] != layers[start]["stage"]:
            if band % 2 == 1:
                shapes.append({"type": "rect", "xref": "x", "yref": yref, "x0": start - 0.5,
                               "x1": i - 0.5, "y0": 0, "y1": 1, "line": {"width": 0},
                               "fillcolor": "rgba(31,36,48,0.035)", "layer": "below"})
            band += 1
            start = i
    start = 0
    for i in range(1, n + 1):
        if i == n or layers[i]["block"] != layers[start]["block"]:
            if (i - start) / max(n, 1) >= 0.06:
                notes.append({"text": layers[start]["block"], "xref": "x", "yref": "paper",
                              "x": (start + i - 1) / 2, "y": 1.0, "yanchor": "bottom",
                              "showarrow": False, "font": {"size": 11, "color": MUTED}})
            if start > 0:
                shapes.append({"type": "line", "xref": "x", "yref": yref, "x0": start - 0.5,
                               "x1": start - 0.5, "y0": 0, "y1": 1,
                               "line": {"width": 1, "color": "#C9CDD3", "dash": "dot"}})
            start = i
    return shapes, notes


LAYER_METRICS = (("madds", "MAdds", human_count), ("params", "params", human_count),
                 ("memory_bytes", "output (bytes)", human_bytes))


def layer_figure(layers: list[dict], dtype: str = "fp32") -> dict:
    """Per-layer bars of MAdds, params and output memory, stacked, coloured by op type."""
    kinds = [k for k in OP_COLORS if any(g["kind"] == k for g in layers)]
    n_rows = len(LAYER_METRICS)
    gap = 0.06
    h = (1 - gap * (n_rows - 1)) / n_rows
    data = []
    layout = base_layout(height=560, bargap=0.15, barmode="overlay",
                         margin={"l": 80, "r": 20, "t": 64, "b": 50})
    layout["legend"].update(y=1.06)
    x_idx = {id(g): i for i, g in enumerate(layers)}
    for r, (metric, title, fmt) in enumerate(LAYER_METRICS):
        ax = "" if r == 0 else str(r + 1)
        top = 1 - r * (h + gap)
        layout[f"yaxis{ax}"] = axis(title if metric != "memory_bytes" else f"output ({dtype}, bytes)",
                                    domain=[max(top - h, 0), top], tickformat="~s",
                                    rangemode="tozero", anchor="x",
                                    **({"ticksuffix": "B"} if metric == "memory_bytes" else {}))
        for kind in kinds:
            sel = [g for g in layers if g["kind"] == kind]
            data.append({
                "type": "bar", "name": OP_NAMES.get(kind, kind), "legendgroup": kind,
                "showlegend": r == 0, "xaxis": "x", "yaxis": f"y{ax}",
                "x": [x_idx[id(g)] for g in sel], "y": [plain(g[metric]) for g in sel],
                "marker": {"color": OP_COLORS.get(kind, "#999999"), "line": {"width": 0}},
                "customdata": [[g["name"], " + ".join(dict.fromkeys(g["ops"])),
                                shape_text(g["output_shape"]), fmt(g[metric])] for g in sel],
                "hovertemplate": "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>output "
                                 "%{customdata[2]}<br>" + title + ": %{customdata[3]}<extra></extra>",
            })
    layout["xaxis"] = axis("layer (network order)", anchor=f"y{n_rows}", showgrid=False,
                           range=[-0.5, len(layers) - 0.5], zeroline=False)
    shapes, notes = stage_shapes(layers)
    layout["shapes"] = shapes
    # annotations above the top panel would collide with the legend: put them inside instead
    layout["annotations"] = [dict(a, y=0.995, yanchor="top") for a in notes]
    return {"data": data, "layout": layout}


def memory_figure(layers: list[dict], dtype: str = "fp32") -> dict:
    """The live activation memory while each layer runs: naive schedule vs MobileNetV2 Sec. 5.1
    streaming (the expanded tensors of a block computed in slices, never materialised)."""
    x = list(range(len(layers)))
    naive = [plain(g["live_bytes"]) for g in layers]
    streamed = [plain(g["live_bytes_streamed"]) for g in layers]
    names = [g["name"] for g in layers]
    custom = [[g["name"], human_bytes(g["live_bytes"]), human_bytes(g["live_bytes_streamed"]),
               shape_text(g["output_shape"])] for g in layers]
    hover = ("<b>%{customdata[0]}</b><br>output %{customdata[3]}<br>naive: %{customdata[1]}"
             "<br>streamed: %{customdata[2]}<extra></extra>")
    data = [
        {"type": "scatter", "mode": "lines", "name": "naive schedule (whole tensors)", "x": x,
         "y": naive, "line": {"shape": "hv", "color": "#F28E2B", "width": 1.5},
         "fill": "tozeroy", "fillcolor": "rgba(242,142,43,0.18)", "customdata": custom,
         "hovertemplate": hover},
        {"type": "scatter", "mode": "lines", "name": "streamed (MobileNetV2 Sec. 5.1)", "x": x,
         "y": streamed, "line": {"shape": "hv", "color": "#3A6EA5", "width": 2},
         "fill": "tozeroy", "fillcolor": "rgba(58,110,165,0.35)", "customdata": custom,
         "hoverinfo": "skip"},
    ]
    notes = []
    if layers:
        for series, label, color, ay in ((naive, "naive peak", "#C4661A", -28),
                                         (streamed, "streamed peak", "#2B5680", -28)):
            i = max(range(len(series)), key=series.__getitem__)
            notes.append({"x": i, "y": series[i], "xref": "x", "yref": "y",
                          "text": f"{label} {human_bytes(series[i])}<br><span style='font-size:10px'>"
                                  f"{names[i]}</span>",
                          "showarrow": True, "arrowhead": 0, "arrowcolor": color, "ax": 30,
                          "ay": ay, "font": {"size": 11, "color": color}, "align": "left",
                          "bgcolor": "rgba(255,255,255,0.85)"})
    shapes, block_notes = stage_shapes(layers)
    for a in block_notes:
        a.update(y=0.995, yanchor="top")
    layout = base_layout(
        height=330, hovermode="closest",
        xaxis=axis("layer (network order)", showgrid=False, range=[-0.5, len(layers) - 0.5],
                   zeroline=False),
        yaxis=axis(f"live activations ({dtype}, bytes)", tickformat="~s", ticksuffix="B",
                   rangemode="tozero"),
        shapes=shapes, annotations=notes + block_notes,
        margin={"l": 80, "r": 20, "t": 40, "b": 50})
    return {"data": data, "layout": layout}


CARD_METRICS = (
    ("params", "Parameters", human_count, "weights + biases"),
    ("madds", "MAdds", human_count, "multiply-adds per image"),
    ("peak_memory_bytes", "Peak memory", human_bytes, "naive schedule"),
    ("peak_memory_bytes_streamed", "Peak memory, streamed", human_bytes, "MobileNetV2 Sec. 5.1"),
    ("activation_bytes", "All activations", human_bytes, "sum of every tensor"),
)


def cards(table) -> list[dict]:
    """The headline totals: a readable value, the exact value and what it counts."""
    t = table.totals
    out = []
    for key, label, fmt, note in CARD_METRICS:
        if key == "params":
            note = "weights + biases" + (" + BN" if table.convention.bn_params else "")
        exact = count_text(t[key]) + (" bytes" if "bytes" in key else "")
        out.append({"key": key, "label": label, "value": fmt(t[key]), "exact": exact, "note": note})
    return out


def published_text(ws, source: str, table) -> str | None:
    """The published top-1 / Pixel-1 latency at the table's point as `archcalc compare`
    reports it (`Workspace.published_point`: archcalc.published.published_point), as one line."""
    pub = ws.published_point(source, table)
    if not pub:
        return None
    parts = []
    if "top1" in pub:
        parts.append(f"{pub['top1']:.1f}% top-1")
    if "latency_ms" in pub:
        parts.append(f"{pub['latency_ms']:g} ms on a Pixel 1")
    return f"Published at this point: {', '.join(parts)} ({pub['source']})"


def designer_payload(ws, source: str, width, resolution, convention="paper",
                     dtype="fp32", sets=None) -> dict:
    """Everything the designer shows at one point, as plain data (never raises for bad input:
    an error becomes {"error": one line})."""
    w = width_text(width)
    base = {"width": w, "resolution": None, "error": None, "busy": False, "cards": [],
            "published": None, "layers": 0, "ops": 0, "spec_name": "", "flops": ""}
    try:
        ws.check_dtype(dtype)
        sets = ws.filter_sets(source, sets)
        spec = ws.spec(source, sets, convention)
        r = resolution_value(resolution, spec.resolution)
        base["resolution"] = r
        base["spec_name"] = spec.name
        table = ws.table(source, w, r, convention, dtype, sets)
    except archcalc.ArchcalcError as err:
        base["error"] = ws.scrub(str(err))
        base["busy"] = isinstance(err, Busy)
        base["layer_figure"] = empty_figure("no costs at this point")
        base["memory_figure"] = empty_figure("no memory profile at this point", 330)
        return base
    layers = layer_rows(table)
    base.update(
        cards=cards(table), layers=len(layers), ops=len(table.rows),
        flops=f"FLOPs = 2 × MAdds = {human_count(table.totals['flops'])}",
        layer_figure=layer_figure(layers, dtype), memory_figure=memory_figure(layers, dtype),
        published=published_text(ws, source, table), madds_exact=table.totals["madds"],
        convention=table.convention.describe(),
        point=f"{spec.name} at width {w}, resolution {r}×{r}"
              + "".join(f", {k}={v}" for k, v in sorted(sets.items())))
    return base
