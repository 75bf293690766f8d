"""The designer tab's Dash components: the sidebar (spec, width and resolution sliders,
convention, dtype, the spec's parameters) and the main panel, and what its callbacks return
(cards, figures, the published note, closed forms) from dashboard.views.designer's and
dashboard.views.formulas's data."""
from __future__ import annotations

from dash import dcc, html

from archcalc.numbers import plain

from .. import inputs
from ..controls import RES_MAX, RES_MIN, WIDTH_MAX, WIDTH_MIN, WIDTH_STEP
from ..figures import empty_figure
from ..views.designer import designer_payload
from ..views.formulas import formula_text
from .components import GRAPH_CONFIG, card, conventions, dtypes, field, slider_marks


def designer_params(ws, source, request=None):
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
        default = plain(d.default) if not isinstance(d.default, str) else d.default
        if d.choices:
            opts = [{"label": str(plain(c)), "value": str(plain(c))} for c in d.choices]
            ctl = dcc.Dropdown(id=cid, options=opts, value=None if value is None else str(value),
                               placeholder=f"default ({default})", clearable=True,
                               searchable=False, className="dd")
        else:
            ctl = dcc.Input(id=cid, type="text", value="" if value is None else str(value),
                            placeholder=f"default ({default})", debounce=True, className="input")
        out.append(field(d.name, ctl))
    if not out:
        out.append(html.Div("This spec declares no parameters.", className="muted small"))
    return out


def sets_from(values, ids) -> dict:
    sets = {}
    for v, i in zip(values or [], ids or []):
        if v is not None and str(v).strip() != "":
            sets[i["name"]] = str(v).strip()
    return sets


def designer_view(ws, source, width, resolution, convention="paper", dtype="fp32",
                  param_values=(), param_ids=()):
    """Outputs of one designer update (what a slider move costs): width label, resolution
    label, title, published note, error banner, totals cards, per-layer figure, memory figure."""
    if not source:
        empty = empty_figure("choose a spec")
        return ("", "", "Choose a spec", None, None, [], empty, empty)
    p = designer_payload(ws, source, width, resolution, convention or "paper",
                         dtype or "fp32", sets_from(param_values, param_ids))
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


def forms_view(ws, source, convention="paper", dtype="fp32", param_values=(),
               param_ids=()):
    if not source:
        return []
    out = formula_text(ws, source, convention or "paper", dtype or "fp32",
                       sets_from(param_values, param_ids))
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


def designer_layout(ws, options):
    first = "file:mobilenet_v2.yaml" if "mobilenet_v2.yaml" in ws.catalog.entries else \
        (options[0]["value"] if options else None)
    sidebar = html.Div([
        card([
            field("Spec", dcc.Dropdown(id="designer-spec", options=options, value=first,
                                       clearable=False, className="dd")),
            html.Button("Paste or upload your own spec →", id="designer-own", className="link-button"),
            html.Div([html.Label("Width multiplier α", className="field-label"),
                      html.Span(id="designer-width-label", className="value-pill")],
                     className="slider-head"),
            dcc.Slider(id="designer-width", min=WIDTH_MIN, max=WIDTH_MAX,
                       step=WIDTH_STEP, value=1.0, updatemode="drag",
                       marks=slider_marks([0.1, 0.5, 1.0, 1.5, 2.0], lambda v: f"{v:g}"),
                       className="slider"),
            html.Div([html.Label("Input resolution r", className="field-label"),
                      html.Span(id="designer-resolution-label", className="value-pill")],
                     className="slider-head"),
            dcc.Slider(id="designer-resolution", min=RES_MIN, max=RES_MAX, step=1,
                       value=224, updatemode="drag",
                       marks=slider_marks([32, 128, 224, 320, 416, 512]), className="slider"),
            field("Convention", conventions("designer-convention")),
            field("Activation dtype", dtypes("designer-dtype")),
            html.Div("Spec parameters", className="section-label"),
            html.Div(id="designer-params", className="params"),
        ], class_name="sidebar-card"),
    ], className="sidebar")
    main = html.Div([
        html.Div([html.H2(id="designer-title", className="point-title"),
                  html.Div(id="designer-published"), html.Div(id="designer-error")]),
        html.Div(id="designer-cards", className="metrics"),
        card([dcc.Graph(id="designer-layers", config=GRAPH_CONFIG, style={"height": "560px"})],
             title="Cost per layer", subtitle="MAdds, parameters and output size of every "
                                               "layer, coloured by op type; hover for details"),
        card([dcc.Graph(id="designer-memory", config=GRAPH_CONFIG, style={"height": "330px"})],
             title="Memory profile: naive vs streamed",
             subtitle="Live activation memory while each layer runs. Streaming the expanded "
                       "tensors of a block in slices (MobileNetV2 Sec. 5.1) leaves only the "
                       "block's input and output: the bottlenecks bound the peak."),
        card([dcc.Loading(html.Div(id="designer-forms"), type="dot", color="#E4572E")],
             title="Closed forms", subtitle="Computed once per spec; not on the slider path."),
    ], className="main")
    return html.Div([sidebar, main], className="view view-designer")
