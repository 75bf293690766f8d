"""The spec editor tab's Dash components: the text area, the upload and the examples, and
what its callback returns (the check's status: a valid spec's totals, or the error with the
lines around it)."""
from __future__ import annotations

from dash import dcc, html, no_update

from archcalc import limits as L
from archcalc.report.units import human_bytes, human_count

from ..views.editor import decode_upload, error_context
from ..workspace import MAX_GRAPH_OPS, MAX_SPEC_BYTES, CheckResult
from .components import card, field

MAX_UPLOAD_BYTES = L.DASHBOARD_MAX_UPLOAD_BYTES   # what the browser may send (before decoding)


def editor_status(text, result: CheckResult):
    if result.ok:
        t = result.totals
        return html.Div([
            html.Div([html.Span("✓", className="ok-mark"),
                      html.B(f" {result.name} is a valid spec.")], className="status-title"),
            html.Div(f"{result.ops:,} ops; at its default point: {human_count(t.get('params', 0))} "
                     f"params, {human_count(t.get('madds', 0))} MAdds, peak memory "
                     f"{human_bytes(t.get('peak_memory_bytes', 0))} (naive) / "
                     f"{human_bytes(t.get('peak_memory_bytes_streamed', 0))} (streamed).",
                     className="muted"),
            html.Div("Open it in the designer to move width and resolution.", className="muted"),
        ], className="status status-ok", id="editor-ok-text")
    lines = error_context(text or "", result.line)
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


def editor_check(ws, trigger, text, upload_contents=None, upload_name=None,
                 example=None):
    """Check the editor's spec (after a paste, an upload or choosing an example).
    Returns (status, text for the editor, ok source id or None)."""
    if trigger == "editor-upload":
        decoded, err = decode_upload(upload_contents)
        if err:
            return (editor_status("", CheckResult(False, err)), no_update, None)
        text, name = decoded, upload_name or "uploaded.yaml"
    elif trigger == "editor-example" and example:
        try:
            text, name = ws.catalog.text(example), example
        except Exception as err:  # noqa: BLE001
            return (editor_status("", CheckResult(False, str(err))), no_update, None)
    else:
        name = "pasted"
    result = ws.check_text(text, name, keep=False)
    status = editor_status(text, result)
    # added to the user's list only once its status has rendered: a check that ends in an
    # internal error never leaves a spec behind
    source = ws.keep_user(text, name, result) if result.ok else None
    return status, (text if trigger != "editor-check" else no_update), source


EDITOR_HELP = (
    "A spec is YAML: name, input, optional params / width / defaults / cells, and layers of "
    "rows in the papers' columns (t, c, n, s). Errors point at their line. Pasted and uploaded "
    "specs stay in the server's memory only; nothing is written or read outside the specs folder.")


def editor_layout(ws):
    examples = [{"label": f"{e.name} ({e.key})", "value": e.key} for e in ws.catalog.entries.values()]
    return html.Div([
        html.Div([
            card([
                html.Div([
                    field("Start from an example", dcc.Dropdown(
                        id="editor-example", options=examples, value=None, clearable=True,
                        placeholder="load a spec from the specs folder…", className="dd"),
                          class_name="grow"),
                    dcc.Upload(id="editor-upload", max_size=MAX_UPLOAD_BYTES,
                               accept=".yaml,.yml,text/yaml,text/plain",
                               children=html.Div(["Drop a YAML file here or ",
                                                  html.Span("browse", className="accent")]),
                               className="upload"),
                ], className="controls"),
                dcc.Textarea(id="editor-text", value="", spellCheck=False,
                             maxLength=MAX_SPEC_BYTES,
                             placeholder="name: my-net\ninput: {channels: 3, resolution: 224}\n"
                                         "layers:\n  stem:\n    - {op: conv, c: 32, k: 3, s: 2}\n  ...",
                             className="editor"),
                html.Div([
                    html.Button("Check spec", id="editor-check", className="button"),
                    html.Button("Open in designer →", id="editor-open", className="button primary",
                                disabled=True),
                    html.Span(f"up to {MAX_SPEC_BYTES // 1000} kB and "
                              f"{MAX_GRAPH_OPS:,} ops", className="muted small"),
                ], className="button-row"),
            ], title="Spec editor", subtitle="Paste or upload your own architecture"),
        ], className="editor-left"),
        html.Div([
            card([dcc.Loading(html.Div(html.Div("Paste a spec and press Check, or drop a file.",
                                                className="muted"), id="editor-status"),
                              type="dot", color="#E4572E")], title="Check"),
            card([html.P(EDITOR_HELP, className="muted"),
                  html.P(["The reference: ", html.Code("docs/spec.md"), "."], className="muted")],
                 title="About specs"),
        ], className="editor-right"),
    ], className="view view-editor")
