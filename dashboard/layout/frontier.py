"""The frontier tab's Dash components: its controls and plot, and what its callback returns
(figure, summary, the overall Pareto front as a table) from dashboard.views.frontier's view."""
from __future__ import annotations

from dash import dcc, html

from ..bounded import Busy
from ..figures import empty_figure
from ..views import frontier as view
from ..views import space_front
from .components import GRAPH_CONFIG, card, conventions, dropdown, field


def frontier_view(ws, x="madds", scale="log", show=("family", "overall"),
                  convention="paper", task="top1"):
    """Outputs of the frontier for a task (view.TASKS: classification top-1, detection mAP,
    segmentation mIOU): figure, summary line, front table rows."""
    task = task if task in view.TASKS else "top1"
    try:
        points, notes = view.frontier_points(ws, convention or "paper", task=task)
    except Busy as err:
        return (empty_figure("the server is busy: try again in a few seconds", 560),
                html.Div(str(err), className="banner banner-error"), None)
    x = x or "madds"
    fig = view.frontier_figure(points, x, scale != "linear", tuple(show or ()), task)
    have = [p for p in points if view.x_value(p, x) is not None]
    fams = list(dict.fromkeys(p["family"] for p in have))
    _, short, _ = view.x_meta(x)
    summary = [html.B(f"{len(have)} published checkpoints"), f" ({view.TASKS[task][2]})"
               f" from {len(fams)} families "
               f"({', '.join(fams)}); every cost computed by archcalc under the "
               f"{convention} convention, not copied. "]
    missing = len(points) - len(have)
    if missing:
        summary.append(f"{missing} points have no {short} and are not shown. ")
    summary.append(html.Span("Click a point to open it in the designer.", className="accent"))
    if notes:
        summary.append(html.Div("; ".join(notes), className="note-warn"))
    rows = view.front_table(points, x, task)
    return fig, summary, front_rows_table(rows, short, view.TASKS[task][2])


def space_front_view(ws, contents, convention="paper"):
    """Outputs of the space card: figure, summary (or the one-line reason a file is refused)."""
    try:
        zoo, _ = view.frontier_points(ws, convention or "paper", with_measured=False)
    except Busy as err:
        return (empty_figure("the server is busy: try again in a few seconds", 320),
                html.Div(str(err), className="banner banner-error"))
    fig, summary, error = space_front.space_view(contents, zoo, convention or "paper")
    if error:
        return fig, html.Div(f"error: {error}", className="banner banner-error")
    return fig, summary


def front_rows_table(rows, short, metric="top-1"):
    if not rows:
        return html.Div("No point has a value for this axis.", className="muted")
    extra = short != "MAdds"
    head = html.Tr([html.Th("model"), html.Th("family")]
                   + [html.Th(h, className="num") for h in ("width", "resolution", metric, short)]
                   + ([html.Th("MAdds", className="num")] if extra else []))
    body = [html.Tr([html.Td(r["model"]), html.Td(r["family"]),
                     html.Td(r["width"] + (f" ({r['params']})" if r["params"] else ""), className="num"),
                     html.Td(r["resolution"], className="num"), html.Td(r["top1"], className="num"),
                     html.Td(r["x"], className="num strong")]
                    + ([html.Td(r["MAdds"], className="num")] if extra else []),
                    title=r["source"]) for r in rows]
    return html.Div(html.Table([html.Thead(head), html.Tbody(body)], className="table table-front"),
                    className="scroll")


def frontier_layout(ws):
    try:
        points, _ = view.frontier_points(ws, "paper")
    except Busy:           # the frontier callback draws it (or says busy) once it can
        points = []
    return html.Div([
        card([html.Div([
            field("Task", dropdown("frontier-task", view.task_options(), "top1"),
                  class_name="grow"),
            field("Cost axis", dropdown("frontier-x", view.x_options(points), "madds"),
                  class_name="grow"),
            field("Scale", dcc.RadioItems(id="frontier-scale", value="log", inline=True,
                                          className="radio",
                                          options=[{"label": "log", "value": "log"},
                                                   {"label": "linear", "value": "linear"}])),
            field("Pareto fronts", dcc.Checklist(id="frontier-fronts", inline=True,
                                                 className="radio", value=["family", "overall"],
                                                 options=[{"label": "per family", "value": "family"},
                                                          {"label": "overall", "value": "overall"}])),
            field("Convention", conventions("frontier-convention"), class_name="grow"),
        ], className="controls")], class_name="card-controls"),
        card([
            html.Div(id="frontier-summary", className="summary"),
            dcc.Loading(dcc.Graph(id="frontier-graph", config=GRAPH_CONFIG,
                                  style={"height": "580px"}), type="dot", color="#E4572E"),
        ], title="Accuracy vs cost", subtitle="ImageNet top-1 (or COCO mAP, VOC mIOU: the task) "
                                               "of every published checkpoint against its exact "
                                               "cost (the MobileNetV2 paper's Figure 5, "
                                               "recomputed; Tables 6 and 7)"),
        card([html.Div(id="frontier-table")], title="The overall Pareto front",
             subtitle="No other checkpoint is both cheaper on this axis and more accurate."),
        card([
            dcc.Upload(id="frontier-space-upload", max_size=space_front.DASHBOARD_MAX_SPACE_BYTES,
                       accept=".parquet",
                       children=html.Div(["Drop a space's _front.parquet here or ",
                                          html.Span("browse", className="accent")]),
                       className="upload"),
            html.Div(id="frontier-space-summary", className="summary"),
            dcc.Graph(id="frontier-space-graph", config=GRAPH_CONFIG),
        ], title="A search space against the zoo",
           subtitle="The output of `archcalc space SPEC --all --out DIR` (its _front.parquet, "
                    "or one partition file): its architectures and (MAdds, params) front "
                    "beside every published checkpoint, MAdds against params"),
    ], className="view")
