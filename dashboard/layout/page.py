"""The page: header, the four tabs, the stores that carry a request from one tab to another,
the footer, the note on spec files that did not load, and where a click takes the user
(`navigate`)."""
from __future__ import annotations

from dash import dcc, html, no_update

from .. import inputs
from ..controls import resolution_value
from .compare import compare_layout
from .designer import designer_layout
from .editor import editor_layout
from .frontier import frontier_layout

def navigate(ws, trigger, click=None, editor_source=None):
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
            res = resolution_value(ws.spec(editor_source).resolution)
        except Exception:  # noqa: BLE001  (the designer will show why)
            res = no_update
        return ("designer", editor_source, 1.0, res, no_update,
                {"source": editor_source, "sets": {}})
    if trigger == "designer-own":
        return ("editor",) + (no_update,) * 5
    return nothing


def skipped_note(ws):
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


def page(ws):
    """The whole page (rebuilt on each load: the user's pasted specs are in its menus)."""
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
                             selected_className="tab-selected", children=frontier_layout(ws)),
                     dcc.Tab(id="tab-designer", label="Designer", value="designer", className="tab",
                             selected_className="tab-selected",
                             children=designer_layout(ws, options)),
                     dcc.Tab(id="tab-compare", label="Compare", value="compare", className="tab",
                             selected_className="tab-selected",
                             children=compare_layout(ws, options)),
                     dcc.Tab(id="tab-editor", label="Spec editor", value="editor", className="tab",
                             selected_className="tab-selected", children=editor_layout(ws)),
                 ]),
        dcc.Store(id="designer-request"),
        dcc.Store(id="editor-source"),
        dcc.Store(id="user-options", data=ws.user_options()),
        html.Footer(["archcalc · costs are exact integers from the spec, never copied from papers "
                     "· published accuracies cite their source (hover a point)"], className="footer"),
    ], className="page")
