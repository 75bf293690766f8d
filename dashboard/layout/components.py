"""Small Dash components every tab uses: a card, a labelled field, a dropdown, the
convention and dtype menus (their choices from archcalc: dashboard/controls.py), slider
marks, and the plotly toolbar's configuration."""
from __future__ import annotations

from dash import dcc, html

from ..controls import CONVENTIONS, DTYPES, convention_label

GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
                "toImageButtonOptions": {"format": "png", "scale": 2}}


def card(children, title=None, subtitle=None, class_name="", **kw):
    """A white panel with an optional title and subtitle."""
    head = []
    if title:
        head.append(html.H3(title, className="card-title"))
    if subtitle:
        head.append(html.P(subtitle, className="card-subtitle"))
    return html.Div(([html.Div(head, className="card-head")] if head else []) + list(children),
                    className=f"card {class_name}".strip(), **kw)


def field(label, control, hint=None, class_name=""):
    """A control under its label, with an optional hint below."""
    return html.Div([html.Label(label, className="field-label"), control]
                    + ([html.Div(hint, className="field-hint")] if hint else []),
                    className=f"field {class_name}".strip())


def dropdown(id_, options, value, **kw):
    """A menu that always has a value (not clearable, not searchable)."""
    return dcc.Dropdown(id=id_, options=options, value=value, clearable=False, searchable=False,
                        className="dd", **kw)


def conventions(id_, value="paper"):
    """archcalc's counting conventions, each labelled by its own fields."""
    return dropdown(id_, [{"label": convention_label(c), "value": c} for c in CONVENTIONS], value)


def dtypes(id_, value="fp32"):
    """archcalc's activation dtypes."""
    return dropdown(id_, [{"label": d, "value": d} for d in DTYPES], value)


def slider_marks(values, fmt=str):
    """Labelled ticks under a slider."""
    return {v: {"label": fmt(v)} for v in values}
