"""The compare tab's Dash components: four columns (spec, width, resolution), convention,
dtype and the CSV download, and what its callbacks return (the metrics table with ratios,
the memory table and bars, the CSV) from dashboard.views.compare's view."""
from __future__ import annotations

from dash import dcc, html, no_update

from ..controls import RES_MAX, RES_MIN, WIDTH_MAX, WIDTH_MIN
from ..figures import empty_figure
from ..views import compare as view
from ..views.compare import DEFAULT_COMPARE
from .components import GRAPH_CONFIG, card, conventions, dtypes, field


def compare_slots(values) -> list[dict]:
    """[spec, width, res] * 4 (flat, as the callback receives them) -> slot dicts."""
    slots = []
    for i in range(0, len(values), 3):
        spec, width, res = values[i:i + 3]
        slots.append({"spec": spec, "width": width, "resolution": res})
    return slots


def compare_view(ws, slots, convention="paper", dtype="fp32"):
    """Outputs of the compare view: metrics table, memory table, memory figure, errors."""
    entries, errors = view.compare_entries(ws, slots, convention or "paper", dtype or "fp32")
    err = html.Div("; ".join(errors), className="banner banner-error") if errors else None
    if not entries:
        return (html.Div("Choose at least one spec.", className="muted"), None,
                empty_figure("nothing to compare", 360), err)
    t = view.compare_table(entries)
    head = html.Tr([html.Th(h) for h in t["header"]])
    body = []
    for row in t["rows"]:
        cells = [html.Td(row["metric"], className="metric-name")]
        for c in row["cells"]:
            cells.append(html.Td([html.Span(c["value"]),
                                  html.Span(c["ratio"], className="ratio") if c["ratio"] else None],
                                 className="num", title=c["exact"]))
        body.append(html.Tr(cells))
    metrics = [html.Table([html.Thead(head), html.Tbody(body)], className="table table-compare",
                          id="compare-metrics")]
    if t["sources"]:
        metrics.append(html.Div([html.Div(f"published: {s}") for s in t["sources"]],
                                className="muted small"))
    metrics.append(html.Div("Ratios are to the first column. Hover a value for the exact number.",
                            className="muted small"))
    m = view.compare_memory(entries)
    mhead = html.Tr([html.Th(h) for h in m["header"]])
    mbody = [html.Tr([html.Td(r["size"], className="metric-name")]
                     + [html.Td("" if c is None else c["text"], className="num") for c in r["cells"]])
             for r in m["rows"]]
    mbody.append(html.Tr([html.Td("max", className="metric-name")]
                         + [html.Td(v or "", className="num strong") for v in m["max"]],
                         className="row-total"))
    memory = html.Table([html.Thead(mhead), html.Tbody(mbody)], className="table table-compare",
                        id="compare-memory-table")
    fig = view.compare_memory_figure(entries, dtype or "fp32")
    return metrics, memory, fig, err


def compare_download(ws, slots, convention="paper", dtype="fp32"):
    entries, _ = view.compare_entries(ws, slots, convention or "paper", dtype or "fp32")
    if not entries:
        return no_update
    return {"content": view.compare_csv(entries), "filename": "archcalc-compare.csv",
            "type": "text/csv"}


def compare_layout(ws, options):
    defaults = [f"file:{k}" for k in DEFAULT_COMPARE if k in ws.catalog.entries]
    slots = []
    for i in range(4):
        value = defaults[i] if i < len(defaults) else None
        slots.append(html.Div([
            html.Div(f"Column {i + 1}", className="section-label"),
            dcc.Dropdown(id=f"compare-spec-{i}", options=options, value=value, clearable=True,
                         placeholder="add a spec…", className="dd"),
            html.Div([
                field("width", dcc.Input(id=f"compare-width-{i}", type="number", value=1,
                                         min=WIDTH_MIN, max=WIDTH_MAX, step=0.01,
                                         debounce=True, className="input")),
                field("resolution", dcc.Input(id=f"compare-res-{i}", type="number", value=None,
                                              placeholder="auto", min=RES_MIN,
                                              max=RES_MAX, step=1, debounce=True,
                                              className="input")),
            ], className="slot-point"),
        ], className="slot"))
    return html.Div([
        card([html.Div(slots, className="slots"), html.Div([
            field("Convention", conventions("compare-convention"), class_name="grow"),
            field("Activation dtype", dtypes("compare-dtype", "fp16"),
                  hint="fp16, as the MobileNetV2 paper's Table 3"),
            html.Div([html.Button("Download CSV", id="compare-download-btn", className="button"),
                      dcc.Download(id="compare-download")], className="field field-button"),
        ], className="controls")], class_name="card-controls"),
        html.Div(id="compare-errors"),
        card([dcc.Loading(html.Div(id="compare-table"), type="dot", color="#E4572E")],
             title="Side by side", subtitle="Exact costs at each column's point, with ratios to "
                                             "the first column"),
        html.Div([
            card([html.Div(id="compare-memory")], title="Memory by resolution",
                 subtitle="Largest tensor that must be materialised at each spatial size "
                           "(streamed model; the MobileNetV2 paper's Table 3)",
                 class_name="half"),
            card([dcc.Graph(id="compare-memory-graph", config=GRAPH_CONFIG,
                            style={"height": "360px"})], title="The same, as bars",
                 class_name="half"),
        ], className="row"),
    ], className="view")


