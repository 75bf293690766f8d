"""The Dash app: layout and callbacks. Every callback is a thin wrapper around a module-level
function of this file (`frontier_view`, `designer_view`, `forms_view`, `compare_view`,
`editor_check`, `navigate`, ...), which takes the Workspace and plain values, so tests and
benchmarks/dashboard_callbacks.py call exactly what the browser triggers, without a browser.

    python -m dashboard --specs specs            # or: archcalc dashboard
"""
from __future__ import annotations

import sys
from pathlib import Path

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from . import data, inputs, serving
from .data import Workspace
from .serving import is_loopback  # noqa: F401  (part of this module's interface)

HERE = Path(__file__).resolve().parent
GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
                "toImageButtonOptions": {"format": "png", "scale": 2}}
TABS = ("frontier", "designer", "compare", "editor")


# -- small components --------------------------------------------------------------------------
def _card(children, title=None, subtitle=None, class_name="", **kw):
    head = []
    if title:
        head.append(html.H3(title, className="card-title"))
    if subtitle:
        head.append(html.P(subtitle, className="card-subtitle"))
    return html.Div(([html.Div(head, className="card-head")] if head else []) + list(children),
                    className=f"card {class_name}".strip(), **kw)


def _field(label, control, hint=None, class_name=""):
    return html.Div([html.Label(label, className="field-label"), control]
                    + ([html.Div(hint, className="field-hint")] if hint else []),
                    className=f"field {class_name}".strip())


def _dropdown(id_, options, value, **kw):
    return dcc.Dropdown(id=id_, options=options, value=value, clearable=False, searchable=False,
                        className="dd", **kw)


def _conventions(id_, value="paper"):
    labels = {"paper": "paper (BN not counted)", "torchvision": "torchvision (BN counted, 1000 classes)",
              "tf-slim": "TF-slim (1001 classes)"}
    return _dropdown(id_, [{"label": labels[c], "value": c} for c in data.CONVENTIONS], value)


def _dtypes(id_, value="fp32"):
    return _dropdown(id_, [{"label": d, "value": d} for d in data.DTYPES], value)


# -- views: plain functions the callbacks call ---------------------------------------------------
def frontier_view(ws: Workspace, x="madds", scale="log", show=("family", "overall"),
                  convention="paper"):
    """Outputs of the frontier: figure, summary line, front table rows."""
    try:
        points, notes = data.frontier_points(ws, convention or "paper")
    except data.Busy as err:
        return (data.empty_figure("the server is busy: try again in a few seconds", 560),
                html.Div(str(err), className="banner banner-error"), None)
    x = x or "madds"
    fig = data.frontier_figure(points, x, scale != "linear", tuple(show or ()))
    have = [p for p in points if data.x_value(p, x) is not None]
    fams = list(dict.fromkeys(p["family"] for p in have))
    _, short, _ = data.x_meta(x)
    summary = [html.B(f"{len(have)} published checkpoints"), f" from {len(fams)} families "
               f"({', '.join(fams)}); every cost computed by archcalc under the "
               f"{convention} convention, not copied. "]
    missing = len(points) - len(have)
    if missing:
        summary.append(f"{missing} points have no {short} and are not shown. ")
    summary.append(html.Span("Click a point to open it in the designer.", className="accent"))
    if notes:
        summary.append(html.Div("; ".join(notes), className="note-warn"))
    rows = data.front_table(points, x)
    return fig, summary, _front_table(rows, short)


def _front_table(rows, short):
    if not rows:
        return html.Div("No point has a value for this axis.", className="muted")
    extra = short != "MAdds"
    head = html.Tr([html.Th("model"), html.Th("family")]
                   + [html.Th(h, className="num") for h in ("width", "resolution", "top-1", short)]
                   + ([html.Th("MAdds", className="num")] if extra else []))
    body = [html.Tr([html.Td(r["model"]), html.Td(r["family"]),
                     html.Td(r["width"] + (f" ({r['params']})" if r["params"] else ""), className="num"),
                     html.Td(r["resolution"], className="num"), html.Td(r["top1"], className="num"),
                     html.Td(r["x"], className="num strong")]
                    + ([html.Td(r["MAdds"], className="num")] if extra else []),
                    title=r["source"]) for r in rows]
    return html.Div(html.Table([html.Thead(head), html.Tbody(body)], className="table table-front"),
                    className="scroll")


def designer_params(ws: Workspace, source, request=None):
    """Controls for the parameters the spec declares (groups, num_classes, ...). Empty means
    "the spec's default" (or the convention's, for num_classes)."""
    if not source:
        return []
    try:
        decls = ws.declared_params(source)
    except Exception as err:  # noqa: BLE001  (a spec that no longer loads: say so)
        return [html.Div(str(err), className="note-warn")]
    wanted = {}
    request = inputs.designer_request(request)
    if request and request["source"] == source:
        wanted = request["sets"]
    out = []
    for d in decls:
        cid = {"type": "param", "name": d.name}
        value = wanted.get(d.name)
        default = data.plain(d.default) if not isinstance(d.default, str) else d.default
        if d.choices:
            opts = [{"label": str(data.plain(c)), "value": str(data.plain(c))} for c in d.choices]
            ctl = dcc.Dropdown(id=cid, options=opts, value=None if value is None else str(value),
                               placeholder=f"default ({default})", clearable=True,
                               searchable=False, className="dd")
        else:
            ctl = dcc.Input(id=cid, type="text", value="" if value is None else str(value),
                            placeholder=f"default ({default})", debounce=True, className="input")
        out.append(_field(d.name, ctl))
    if not out:
        out.append(html.Div("This spec declares no parameters.", className="muted small"))
    return out


def _sets_from(values, ids) -> dict:
    sets = {}
    for v, i in zip(values or [], ids or []):
        if v is not None and str(v).strip() != "":
            sets[i["name"]] = str(v).strip()
    return sets


def designer_view(ws: Workspace, source, width, resolution, convention="paper", dtype="fp32",
                  param_values=(), param_ids=()):
    """Outputs of one designer update (what a slider move costs): width label, resolution
    label, title, published note, error banner, totals cards, per-layer figure, memory figure."""
    if not source:
        empty = data.empty_figure("choose a spec")
        return ("", "", "Choose a spec", None, None, [], empty, empty)
    p = data.designer_payload(ws, source, width, resolution, convention or "paper",
                              dtype or "fp32", _sets_from(param_values, param_ids))
    res_label = f"{p['resolution']} × {p['resolution']} px" if p["resolution"] else ""
    if p["error"]:
        head = "The server is busy. " if p.get("busy") else "This point cannot be built. "
        banner = html.Div([html.B(head), html.Span(p["error"])],
                          className="banner banner-error", id="designer-error-text")
        return (p["width"], res_label, p["spec_name"] or "", None, banner, [],
                p["layer_figure"], p["memory_figure"])
    cards = [html.Div([html.Div(c["label"], className="metric-label"),
                       html.Div(c["value"], className="metric-value", id=f"metric-{c['key']}"),
                       html.Div(c["exact"], className="metric-exact", id=f"metric-{c['key']}-exact"),
                       html.Div(c["note"], className="metric-note")], className="metric")
             for c in p["cards"]]
    title = [html.Span(p["point"]), html.Span(f"{p['layers']} layers · {p['ops']} ops · "
                                              f"{p['flops']}", className="title-meta")]
    published = html.Div(p["published"], className="banner banner-info") if p["published"] else None
    return (p["width"], res_label, title, published, None, cards, p["layer_figure"],
            p["memory_figure"])


def forms_view(ws: Workspace, source, convention="paper", dtype="fp32", param_values=(),
               param_ids=()):
    if not source:
        return []
    out = data.formula_text(ws, source, convention or "paper", dtype or "fp32",
                            _sets_from(param_values, param_ids))
    if "error" in out:
        return html.Div(out["error"], className="banner banner-error")
    return [
        html.P(["Exact closed forms of the totals in ", html.Code("alpha"), " (width multiplier) "
                "and ", html.Code("r"), " (input resolution), as ", html.Code("archcalc formula"),
                " prints them: channel counts are step functions of alpha (", html.Code("c16"),
                " ≈ 16·alpha channels), spatial sizes functions of r (", html.Code("h32"),
                " = ceil(r/32))."], className="muted"),
        html.Pre(out["text"], className="formula", id="designer-formula-text"),
        html.Details([html.Summary("Idealised polynomials (no channel rounding, r = rho · r0)"),
                      html.Pre(out.get("idealised", ""), className="formula")]),
    ]


def compare_slots(values) -> list[dict]:
    """[spec, width, res] * 4 (flat, as the callback receives them) -> slot dicts."""
    slots = []
    for i in range(0, len(values), 3):
        spec, width, res = values[i:i + 3]
        slots.append({"spec": spec, "width": width, "resolution": res})
    return slots


def compare_view(ws: Workspace, slots, convention="paper", dtype="fp32"):
    """Outputs of the compare view: metrics table, memory table, memory figure, errors."""
    entries, errors = data.compare_entries(ws, slots, convention or "paper", dtype or "fp32")
    err = html.Div("; ".join(errors), className="banner banner-error") if errors else None
    if not entries:
        return (html.Div("Choose at least one spec.", className="muted"), None,
                data.empty_figure("nothing to compare", 360), err)
    t = data.compare_table(entries)
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
    m = data.compare_memory(entries)
    mhead = html.Tr([html.Th(h) for h in m["header"]])
    mbody = [html.Tr([html.Td(r["size"], className="metric-name")]
                     + [html.Td("" if c is None else c["text"], className="num") for c in r["cells"]])
             for r in m["rows"]]
    mbody.append(html.Tr([html.Td("max", className="metric-name")]
                         + [html.Td(v or "", className="num strong") for v in m["max"]],
                         className="row-total"))
    memory = html.Table([html.Thead(mhead), html.Tbody(mbody)], className="table table-compare",
                        id="compare-memory-table")
    fig = data.compare_memory_figure(entries, dtype or "fp32")
    return metrics, memory, fig, err


def compare_download(ws: Workspace, slots, convention="paper", dtype="fp32"):
    entries, _ = data.compare_entries(ws, slots, convention or "paper", dtype or "fp32")
    if not entries:
        return no_update
    return {"content": data.compare_csv(entries), "filename": "archcalc-compare.csv",
            "type": "text/csv"}


def editor_status(text, result: data.CheckResult):
    if result.ok:
        t = result.totals
        return html.Div([
            html.Div([html.Span("✓", className="ok-mark"),
                      html.B(f" {result.name} is a valid spec.")], className="status-title"),
            html.Div(f"{result.ops:,} ops; at its default point: {data.fmt_count(t.get('params', 0))} "
                     f"params, {data.fmt_count(t.get('madds', 0))} MAdds, peak memory "
                     f"{data.fmt_bytes(t.get('peak_memory_bytes', 0))} (naive) / "
                     f"{data.fmt_bytes(t.get('peak_memory_bytes_streamed', 0))} (streamed).",
                     className="muted"),
            html.Div("Open it in the designer to move width and resolution.", className="muted"),
        ], className="status status-ok", id="editor-ok-text")
    lines = data.error_context(text or "", result.line)
    where = f"line {result.line}" if result.line else "the spec"
    ctx_block = None
    if lines:
        ctx_block = html.Pre([html.Div([html.Span(f"{ln['number']:>4}  ", className="gutter"),
                                        html.Span(ln["text"] or " ")],
                                       className="code-line error-line" if ln["error"] else "code-line")
                              for ln in lines], className="code-context")
    return html.Div([
        html.Div([html.Span("✕", className="err-mark"), html.B(f" Error at {where}")],
                 className="status-title"),
        html.Div(result.message, className="error-message", id="editor-error-message"),
        html.Div(f"key: {result.key}", className="muted small") if result.key else None,
        ctx_block,
    ], className="status status-error", id="editor-error")


def editor_check(ws: Workspace, trigger, text, upload_contents=None, upload_name=None,
                 example=None):
    """Check the editor's spec (after a paste, an upload or choosing an example).
    Returns (status, text for the editor, ok source id or None)."""
    if trigger == "editor-upload":
        decoded, err = data.decode_upload(upload_contents)
        if err:
            return (editor_status("", data.CheckResult(False, err)), no_update, None)
        text, name = decoded, upload_name or "uploaded.yaml"
    elif trigger == "editor-example" and example:
        try:
            text, name = data.catalog_text(ws, example), example
        except Exception as err:  # noqa: BLE001
            return (editor_status("", data.CheckResult(False, str(err))), no_update, None)
    else:
        name = "pasted"
    result = ws.check_text(text, name, keep=False)
    status = editor_status(text, result)
    # added to the user's list only once its status has rendered: a check that ends in an
    # internal error never leaves a spec behind
    source = ws.keep_user(text, name, result) if result.ok else None
    return status, (text if trigger != "editor-check" else no_update), source


def navigate(ws: Workspace, trigger, click=None, editor_source=None):
    """Where a click takes the user: (tab, designer spec, width, resolution, convention,
    request). A frontier point opens the designer at its configuration."""
    nothing = (no_update,) * 6
    if trigger == "frontier-graph":
        point = inputs.frontier_click(ws, click)     # crafted data: nothing happens
        if point is None:
            return nothing
        source, width, res, sets = point
        return ("designer", source, width, res, no_update, {"source": source, "sets": sets})
    if trigger == "editor-open" and isinstance(editor_source, str) and editor_source:
        try:
            res = data.resolution_value(ws.spec(editor_source).resolution)
        except Exception:  # noqa: BLE001  (the designer will show why)
            res = no_update
        return ("designer", editor_source, 1.0, res, no_update,
                {"source": editor_source, "sets": {}})
    if trigger == "designer-own":
        return ("editor",) + (no_update,) * 5
    return nothing


# -- layout ------------------------------------------------------------------------------------
def skipped_note(ws: Workspace):
    """The spec files of --specs that did not load (skipped, and logged when the server
    started), with archcalc's one-line reason each; None when every file loaded."""
    errors = ws.catalog.errors
    if not errors:
        return None
    return html.Details([
        html.Summary(f"{len(errors)} spec file{'s' if len(errors) > 1 else ''} in "
                     f"{ws.catalog.dir.name}/ could not be loaded and "
                     f"{'are' if len(errors) > 1 else 'is'} not offered: "
                     f"{', '.join(sorted(errors))}"),
        html.Ul([html.Li(errors[k]) for k in sorted(errors)])],
        className="banner banner-error", id="catalog-skipped")


def _frontier_layout(ws: Workspace):
    try:
        points, _ = data.frontier_points(ws, "paper")
    except data.Busy:           # the frontier callback draws it (or says busy) once it can
        points = []
    return html.Div([
        _card([html.Div([
            _field("Cost axis", _dropdown("frontier-x", data.x_options(points), "madds"),
                   class_name="grow"),
            _field("Scale", dcc.RadioItems(id="frontier-scale", value="log", inline=True,
                                           className="radio",
                                           options=[{"label": "log", "value": "log"},
                                                    {"label": "linear", "value": "linear"}])),
            _field("Pareto fronts", dcc.Checklist(id="frontier-fronts", inline=True,
                                                  className="radio", value=["family", "overall"],
                                                  options=[{"label": "per family", "value": "family"},
                                                           {"label": "overall", "value": "overall"}])),
            _field("Convention", _conventions("frontier-convention"), class_name="grow"),
        ], className="controls")], class_name="card-controls"),
        _card([
            html.Div(id="frontier-summary", className="summary"),
            dcc.Loading(dcc.Graph(id="frontier-graph", config=GRAPH_CONFIG,
                                  style={"height": "580px"}), type="dot", color="#E4572E"),
        ], title="Accuracy vs cost", subtitle="ImageNet top-1 of every published checkpoint "
                                               "against its exact cost (the MobileNetV2 paper's "
                                               "Figure 5, recomputed)"),
        _card([html.Div(id="frontier-table")], title="The overall Pareto front",
              subtitle="No other checkpoint is both cheaper on this axis and more accurate."),
    ], className="view")


def _slider_marks(values, fmt=str):
    return {v: {"label": fmt(v)} for v in values}


def _designer_layout(ws: Workspace, options):
    first = "file:mobilenet_v2.yaml" if "mobilenet_v2.yaml" in ws.catalog.entries else \
        (options[0]["value"] if options else None)
    sidebar = html.Div([
        _card([
            _field("Spec", dcc.Dropdown(id="designer-spec", options=options, value=first,
                                        clearable=False, className="dd")),
            html.Button("Paste or upload your own spec →", id="designer-own", className="link-button"),
            html.Div([html.Label("Width multiplier α", className="field-label"),
                      html.Span(id="designer-width-label", className="value-pill")],
                     className="slider-head"),
            dcc.Slider(id="designer-width", min=data.WIDTH_MIN, max=data.WIDTH_MAX,
                       step=data.WIDTH_STEP, value=1.0, updatemode="drag",
                       marks=_slider_marks([0.1, 0.5, 1.0, 1.5, 2.0], lambda v: f"{v:g}"),
                       className="slider"),
            html.Div([html.Label("Input resolution r", className="field-label"),
                      html.Span(id="designer-resolution-label", className="value-pill")],
                     className="slider-head"),
            dcc.Slider(id="designer-resolution", min=data.RES_MIN, max=data.RES_MAX, step=1,
                       value=224, updatemode="drag",
                       marks=_slider_marks([32, 128, 224, 320, 416, 512]), className="slider"),
            _field("Convention", _conventions("designer-convention")),
            _field("Activation dtype", _dtypes("designer-dtype")),
            html.Div("Spec parameters", className="section-label"),
            html.Div(id="designer-params", className="params"),
        ], class_name="sidebar-card"),
    ], className="sidebar")
    main = html.Div([
        html.Div([html.H2(id="designer-title", className="point-title"),
                  html.Div(id="designer-published"), html.Div(id="designer-error")]),
        html.Div(id="designer-cards", className="metrics"),
        _card([dcc.Graph(id="designer-layers", config=GRAPH_CONFIG, style={"height": "560px"})],
              title="Cost per layer", subtitle="MAdds, parameters and output size of every "
                                               "layer, coloured by op type; hover for details"),
        _card([dcc.Graph(id="designer-memory", config=GRAPH_CONFIG, style={"height": "330px"})],
              title="Memory profile: naive vs streamed",
              subtitle="Live activation memory while each layer runs. Streaming the expanded "
                       "tensors of a block in slices (MobileNetV2 Sec. 5.1) leaves only the "
                       "block's input and output: the bottlenecks bound the peak."),
        _card([dcc.Loading(html.Div(id="designer-forms"), type="dot", color="#E4572E")],
              title="Closed forms", subtitle="Computed once per spec; not on the slider path."),
    ], className="main")
    return html.Div([sidebar, main], className="view view-designer")


def _compare_layout(ws: Workspace, options):
    defaults = [f"file:{k}" for k in data.DEFAULT_COMPARE if k in ws.catalog.entries]
    slots = []
    for i in range(4):
        value = defaults[i] if i < len(defaults) else None
        slots.append(html.Div([
            html.Div(f"Column {i + 1}", className="section-label"),
            dcc.Dropdown(id=f"compare-spec-{i}", options=options, value=value, clearable=True,
                         placeholder="add a spec…", className="dd"),
            html.Div([
                _field("width", dcc.Input(id=f"compare-width-{i}", type="number", value=1,
                                          min=data.WIDTH_MIN, max=data.WIDTH_MAX, step=0.01,
                                          debounce=True, className="input")),
                _field("resolution", dcc.Input(id=f"compare-res-{i}", type="number", value=None,
                                               placeholder="auto", min=data.RES_MIN,
                                               max=data.RES_MAX, step=1, debounce=True,
                                               className="input")),
            ], className="slot-point"),
        ], className="slot"))
    return html.Div([
        _card([html.Div(slots, className="slots"), html.Div([
            _field("Convention", _conventions("compare-convention"), class_name="grow"),
            _field("Activation dtype", _dtypes("compare-dtype", "fp16"),
                   hint="fp16, as the MobileNetV2 paper's Table 3"),
            html.Div([html.Button("Download CSV", id="compare-download-btn", className="button"),
                      dcc.Download(id="compare-download")], className="field field-button"),
        ], className="controls")], class_name="card-controls"),
        html.Div(id="compare-errors"),
        _card([dcc.Loading(html.Div(id="compare-table"), type="dot", color="#E4572E")],
              title="Side by side", subtitle="Exact costs at each column's point, with ratios to "
                                             "the first column"),
        html.Div([
            _card([html.Div(id="compare-memory")], title="Memory by resolution",
                  subtitle="Largest tensor that must be materialised at each spatial size "
                           "(streamed model; the MobileNetV2 paper's Table 3)",
                  class_name="half"),
            _card([dcc.Graph(id="compare-memory-graph", config=GRAPH_CONFIG,
                             style={"height": "360px"})], title="The same, as bars",
                  class_name="half"),
        ], className="row"),
    ], className="view")


EDITOR_HELP = (
    "A spec is YAML: name, input, optional params / width / defaults / cells, and layers of "
    "rows in the papers' columns (t, c, n, s). Errors point at their line. Pasted and uploaded "
    "specs stay in the server's memory only; nothing is written or read outside the specs folder.")


def _editor_layout(ws: Workspace):
    examples = [{"label": f"{e.name} ({e.key})", "value": e.key} for e in ws.catalog.entries.values()]
    return html.Div([
        html.Div([
            _card([
                html.Div([
                    _field("Start from an example", dcc.Dropdown(
                        id="editor-example", options=examples, value=None, clearable=True,
                        placeholder="load a spec from the specs folder…", className="dd"),
                        class_name="grow"),
                    dcc.Upload(id="editor-upload", max_size=data.MAX_UPLOAD_BYTES,
                               accept=".yaml,.yml,text/yaml,text/plain",
                               children=html.Div(["Drop a YAML file here or ",
                                                  html.Span("browse", className="accent")]),
                               className="upload"),
                ], className="controls"),
                dcc.Textarea(id="editor-text", value="", spellCheck=False,
                             maxLength=data.MAX_SPEC_BYTES,
                             placeholder="name: my-net\ninput: {channels: 3, resolution: 224}\n"
                                         "layers:\n  stem:\n    - {op: conv, c: 32, k: 3, s: 2}\n  ...",
                             className="editor"),
                html.Div([
                    html.Button("Check spec", id="editor-check", className="button"),
                    html.Button("Open in designer →", id="editor-open", className="button primary",
                                disabled=True),
                    html.Span(f"up to {data.MAX_SPEC_BYTES // 1000} kB and "
                              f"{data.MAX_GRAPH_OPS:,} ops", className="muted small"),
                ], className="button-row"),
            ], title="Spec editor", subtitle="Paste or upload your own architecture"),
        ], className="editor-left"),
        html.Div([
            _card([dcc.Loading(html.Div(html.Div("Paste a spec and press Check, or drop a file.",
                                                 className="muted"), id="editor-status"),
                               type="dot", color="#E4572E")], title="Check"),
            _card([html.P(EDITOR_HELP, className="muted"),
                   html.P(["The reference: ", html.Code("docs/spec.md"), "."], className="muted")],
                  title="About specs"),
        ], className="editor-right"),
    ], className="view view-editor")


def layout(ws: Workspace):
    options = ws.catalog.options() + ws.user_options()
    return html.Div([
        html.Header([
            html.Div([html.Span("archcalc", className="brand"),
                      html.Span("exact params, MAdds and memory of efficient CNNs",
                                className="tagline")], className="brand-block"),
            html.Div(f"{len(ws.catalog.entries)} specs · {ws.catalog.dir.name}/", className="header-meta"),
        ], className="header"),
        skipped_note(ws),
        dcc.Tabs(id="tabs", value="frontier", className="tabs", parent_className="tabs-parent",
                 content_className="tabs-content", children=[
                     dcc.Tab(id="tab-frontier", label="Frontier", value="frontier", className="tab",
                             selected_className="tab-selected", children=_frontier_layout(ws)),
                     dcc.Tab(id="tab-designer", label="Designer", value="designer", className="tab",
                             selected_className="tab-selected",
                             children=_designer_layout(ws, options)),
                     dcc.Tab(id="tab-compare", label="Compare", value="compare", className="tab",
                             selected_className="tab-selected",
                             children=_compare_layout(ws, options)),
                     dcc.Tab(id="tab-editor", label="Spec editor", value="editor", className="tab",
                             selected_className="tab-selected", children=_editor_layout(ws)),
                 ]),
        dcc.Store(id="designer-request"),
        dcc.Store(id="editor-source"),
        dcc.Store(id="user-options", data=ws.user_options()),
        html.Footer(["archcalc · costs are exact integers from the spec, never copied from papers "
                     "· published accuracies cite their source (hover a point)"], className="footer"),
    ], className="page")


# -- the app -----------------------------------------------------------------------------------
class ArchcalcDash(Dash):
    """Dash, served with the dashboard's guards: `run` checks the Host header of a loopback
    bind and holds a bounded number of connections (dashboard/serving.py)."""

    def run(self, host=None, port=None, debug=False, **options):
        import os
        host = host or os.getenv("HOST", "127.0.0.1")
        port = int(port or os.getenv("PORT", "8050"))
        serving.validate_bind(host, port)
        serving.install_host_check(self.server, host, port)
        options.setdefault("request_handler", serving.bounded_handler())
        return super().run(host=host, port=port, debug=debug, **options)


def create_app(specs_dir, db_path=None, *, workspace: Workspace | None = None,
               host: str | None = None, port: int | None = None) -> Dash:
    """The dashboard for the specs in `specs_dir` (and measured latencies from `db_path`).
    With `host` and `port` (a loopback bind), requests for any other Host are refused; `run`
    installs the same check for the address it serves."""
    ws = workspace or Workspace(specs_dir, db_path)
    app = ArchcalcDash(__name__, assets_folder=str(HERE / "assets"), title="archcalc dashboard",
                       update_title=None, suppress_callback_exceptions=True)
    app.server.config["MAX_CONTENT_LENGTH"] = 4 * data.MAX_UPLOAD_BYTES
    serving.install_host_check(app.server, host, port)
    app.layout = lambda: layout(ws)
    app.archcalc_workspace = ws

    @app.callback(Output("frontier-graph", "figure"), Output("frontier-summary", "children"),
                  Output("frontier-table", "children"),
                  Input("frontier-x", "value"), Input("frontier-scale", "value"),
                  Input("frontier-fronts", "value"), Input("frontier-convention", "value"))
    def _frontier(x, scale, show, convention):
        return _guard(lambda: frontier_view(ws, x, scale, show, convention),
                      (data.empty_figure("the frontier could not be drawn"), None, None))

    @app.callback(Output("tabs", "value"), Output("designer-spec", "value"),
                  Output("designer-width", "value"), Output("designer-resolution", "value"),
                  Output("designer-convention", "value"), Output("designer-request", "data"),
                  Input("frontier-graph", "clickData"), Input("editor-open", "n_clicks"),
                  Input("designer-own", "n_clicks"),
                  State("editor-source", "data"), State("frontier-convention", "value"),
                  prevent_initial_call=True)
    def _navigate(click, _open, _own, editor_source, frontier_convention):
        def go():
            out = navigate(ws, ctx.triggered_id, click, editor_source)
            if ctx.triggered_id == "frontier-graph" and out[0] == "designer":
                out = out[:4] + (inputs.choice(frontier_convention, data.CONVENTIONS, "paper"),) \
                    + out[5:]
            return out
        return _guard(go, (no_update,) * 6)

    @app.callback(Output("designer-params", "children"),
                  Input("designer-spec", "value"), Input("designer-request", "data"))
    def _params(source, request):
        return _guard(lambda: designer_params(ws, source, request), [])

    @app.callback(Output("designer-width-label", "children"),
                  Output("designer-resolution-label", "children"),
                  Output("designer-title", "children"), Output("designer-published", "children"),
                  Output("designer-error", "children"), Output("designer-cards", "children"),
                  Output("designer-layers", "figure"), Output("designer-memory", "figure"),
                  Input("designer-spec", "value"), Input("designer-width", "value"),
                  Input("designer-resolution", "value"), Input("designer-convention", "value"),
                  Input("designer-dtype", "value"),
                  Input({"type": "param", "name": ALL}, "value"),
                  State({"type": "param", "name": ALL}, "id"))
    def _designer(source, width, resolution, convention, dtype, values, ids):
        empty = data.empty_figure("")
        return _guard(lambda: designer_view(ws, source, width, resolution, convention, dtype,
                                            values, ids),
                      ("", "", "", None, html.Div("internal error; see the server log",
                                                  className="banner banner-error"), [], empty, empty))

    @app.callback(Output("designer-forms", "children"),
                  Input("designer-spec", "value"), Input("designer-convention", "value"),
                  Input("designer-dtype", "value"),
                  Input({"type": "param", "name": ALL}, "value"),
                  State({"type": "param", "name": ALL}, "id"))
    def _forms(source, convention, dtype, values, ids):
        return _guard(lambda: forms_view(ws, source, convention, dtype, values, ids),
                      html.Div("closed forms unavailable", className="muted"))

    slot_inputs = []
    for i in range(4):
        slot_inputs += [Input(f"compare-spec-{i}", "value"), Input(f"compare-width-{i}", "value"),
                        Input(f"compare-res-{i}", "value")]

    @app.callback(Output("compare-table", "children"), Output("compare-memory", "children"),
                  Output("compare-memory-graph", "figure"), Output("compare-errors", "children"),
                  *slot_inputs, Input("compare-convention", "value"), Input("compare-dtype", "value"))
    def _compare(*args):
        *values, convention, dtype = args
        return _guard(lambda: compare_view(ws, compare_slots(values), convention, dtype),
                      (None, None, data.empty_figure(""),
                       html.Div("internal error; see the server log", className="banner banner-error")))

    @app.callback(Output("compare-download", "data"), Input("compare-download-btn", "n_clicks"),
                  *[State(i.component_id, i.component_property) for i in slot_inputs],
                  State("compare-convention", "value"), State("compare-dtype", "value"),
                  prevent_initial_call=True)
    def _download(_n, *args):
        *values, convention, dtype = args
        return _guard(lambda: compare_download(ws, compare_slots(values), convention, dtype),
                      no_update)

    @app.callback(Output("editor-status", "children"), Output("editor-text", "value"),
                  Output("editor-source", "data"), Output("editor-open", "disabled"),
                  Output("user-options", "data"),
                  Input("editor-check", "n_clicks"), Input("editor-upload", "contents"),
                  Input("editor-example", "value"),
                  State("editor-text", "value"), State("editor-upload", "filename"),
                  prevent_initial_call=True)
    def _check(_n, contents, example, text, filename):
        trigger = ctx.triggered_id
        if trigger == "editor-example" and not example:
            return (no_update,) * 5
        status, new_text, source = _guard(
            lambda: editor_check(ws, trigger, text if isinstance(text, str) else "",
                                 contents if isinstance(contents, str) else None,
                                 filename if isinstance(filename, str) else None,
                                 example if isinstance(example, str) else None),
            (html.Div("internal error; see the server log", className="banner banner-error"),
             no_update, None))
        return status, new_text, source, source is None, ws.user_options()

    @app.callback(Output("designer-spec", "options"),
                  *[Output(f"compare-spec-{i}", "options") for i in range(4)],
                  Input("user-options", "data"))
    def _options(_user):
        opts = ws.catalog.options() + ws.user_options()     # the server's list, not the client's
        return (opts,) * 5

    return app


def _guard(fn, fallback):
    """Run a view; an unexpected exception is logged and the page keeps working."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001  (never a broken page or a dead server)
        import traceback
        traceback.print_exc()
        data.log(f"callback failed: {type(err).__name__}: {err}")
        return fallback


# -- serving (dashboard/serving.py: bind, Host check, connections) -------------------------------
def main(host: str = "127.0.0.1", port: int = 8050, specs_dir="specs", db_path=None) -> int:
    """Serve the dashboard (blocking). Warns on stderr when `host` is not a loopback address;
    on a loopback address, answers only requests for localhost / 127.0.0.1 / [::1]."""
    serving.validate_bind(host, port)
    if not is_loopback(host):
        print(f"archcalc dashboard: WARNING: serving on {host}:{port}, which other machines can "
              f"reach. The dashboard has no authentication: anyone who can reach this port can "
              f"use it (pasted specs are checked in a sandbox with size, time and memory limits, "
              f"and nothing outside {specs_dir} is read). Use --host 127.0.0.1 to keep it local.",
              file=sys.stderr)
    app = create_app(specs_dir, db_path)
    ws = app.archcalc_workspace

    def warm():        # the first page load then finds the frontier and the designer ready
        try:
            data.frontier_points(ws, "paper")
            if "mobilenet_v2.yaml" in ws.catalog.entries:
                ws.layer_evaluator("file:mobilenet_v2.yaml", wait=True)
        except Exception as err:  # noqa: BLE001  (the views compute it again and report)
            data.log(f"warm-up failed: {err}")

    import threading
    threading.Thread(target=warm, name="archcalc warm-up", daemon=True).start()
    print(f"archcalc dashboard: http://{host if ':' not in host else f'[{host}]'}:{port}/ "
          f"(specs: {app.archcalc_workspace.catalog.dir}; Ctrl-C to stop)", file=sys.stderr)
    app.run(host=host, port=port, debug=False)
    return 0
