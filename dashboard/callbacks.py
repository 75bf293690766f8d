"""The Dash callbacks: which component changes call which view, and a guard that turns an
unexpected exception into a message on the page (and a traceback in the server's log).

Each callback is a thin wrapper around a module-level function of dashboard/layout/ (the
tab's `*_view`, `editor_check`, `navigate`, ...), which takes the Workspace and plain values,
so tests and benchmarks/dashboard_callbacks.py call exactly what the browser triggers,
without a browser.
"""
from __future__ import annotations

from dash import ALL, Input, Output, State, ctx, html, no_update

from . import inputs
from .controls import CONVENTIONS
from .figures import empty_figure
from .layout import compare, designer, editor, frontier, page
from .log import log


def register(app, ws) -> None:
    """Wire every callback of the page to `ws`."""
    @app.callback(Output("frontier-graph", "figure"), Output("frontier-summary", "children"),
                  Output("frontier-table", "children"),
                  Input("frontier-x", "value"), Input("frontier-scale", "value"),
                  Input("frontier-fronts", "value"), Input("frontier-convention", "value"),
                  Input("frontier-task", "value"))
    def _frontier(x, scale, show, convention, task):
        return guard(lambda: frontier.frontier_view(ws, x, scale, show, convention, task),
                     (empty_figure("the frontier could not be drawn"), None, None))

    @app.callback(Output("frontier-space-graph", "figure"),
                  Output("frontier-space-summary", "children"),
                  Input("frontier-space-upload", "contents"), Input("frontier-convention", "value"))
    def _space_front(contents, convention):
        return guard(lambda: frontier.space_front_view(
            ws, contents if isinstance(contents, str) else None,
            inputs.choice(convention, CONVENTIONS, "paper")),
            (empty_figure("the space could not be drawn"), None))

    @app.callback(Output("tabs", "value"), Output("designer-spec", "value"),
                  Output("designer-width", "value"), Output("designer-resolution", "value"),
                  Output("designer-convention", "value"), Output("designer-request", "data"),
                  Input("frontier-graph", "clickData"), Input("editor-open", "n_clicks"),
                  Input("designer-own", "n_clicks"),
                  State("editor-source", "data"), State("frontier-convention", "value"),
                  prevent_initial_call=True)
    def _navigate(click, _open, _own, editor_source, frontier_convention):
        def go():
            out = page.navigate(ws, ctx.triggered_id, click, editor_source)
            if ctx.triggered_id == "frontier-graph" and out[0] == "designer":
                out = out[:4] + (inputs.choice(frontier_convention, CONVENTIONS, "paper"),) \
                    + out[5:]
            return out
        return guard(go, (no_update,) * 6)

    @app.callback(Output("designer-params", "children"),
                  Input("designer-spec", "value"), Input("designer-request", "data"))
    def _params(source, request):
        return guard(lambda: designer.designer_params(ws, source, request), [])

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
        empty = empty_figure("")
        return guard(lambda: designer.designer_view(ws, source, width, resolution, convention,
                                                    dtype, values, ids),
                     ("", "", "", None, html.Div("internal error; see the server log",
                                                 className="banner banner-error"), [], empty, empty))

    @app.callback(Output("designer-forms", "children"),
                  Input("designer-spec", "value"), Input("designer-convention", "value"),
                  Input("designer-dtype", "value"),
                  Input({"type": "param", "name": ALL}, "value"),
                  State({"type": "param", "name": ALL}, "id"))
    def _forms(source, convention, dtype, values, ids):
        return guard(lambda: designer.forms_view(ws, source, convention, dtype, values, ids),
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
        return guard(lambda: compare.compare_view(ws, compare.compare_slots(values), convention,
                                                  dtype),
                     (None, None, empty_figure(""),
                      html.Div("internal error; see the server log",
                               className="banner banner-error")))

    @app.callback(Output("compare-download", "data"), Input("compare-download-btn", "n_clicks"),
                  *[State(i.component_id, i.component_property) for i in slot_inputs],
                  State("compare-convention", "value"), State("compare-dtype", "value"),
                  prevent_initial_call=True)
    def _download(_n, *args):
        *values, convention, dtype = args
        return guard(lambda: compare.compare_download(ws, compare.compare_slots(values),
                                                      convention, dtype),
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
        status, new_text, source = guard(
            lambda: editor.editor_check(ws, trigger, text if isinstance(text, str) else "",
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


def guard(fn, fallback):
    """Run a view; an unexpected exception is logged and the page keeps working."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001  (never a broken page or a dead server)
        import traceback
        traceback.print_exc()
        log(f"callback failed: {type(err).__name__}: {err}")
        return fallback
