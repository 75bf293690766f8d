"""What every plotly figure of the dashboard shares, as plain dicts: the base layout (font,
margins, hover labels, a horizontal legend), a labelled axis and the empty figure that says
why there is nothing to draw."""
from __future__ import annotations

from .colors import FONT, GRID, INK, MUTED


def base_layout(**extra) -> dict:
    layout = {
        "font": {"family": FONT, "size": 12, "color": INK},
        "paper_bgcolor": "#FFFFFF", "plot_bgcolor": "#FFFFFF",
        "margin": {"l": 70, "r": 20, "t": 40, "b": 50},
        "hoverlabel": {"bgcolor": "#FFFFFF", "bordercolor": "#D0D4DC",
                       "font": {"family": FONT, "size": 12, "color": INK}},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom",
                   "font": {"size": 11}},
    }
    layout.update(extra)
    return layout


def axis(title: str, **extra) -> dict:
    ax = {"title": {"text": title, "font": {"size": 12, "color": MUTED}},
          "gridcolor": GRID, "zerolinecolor": GRID, "linecolor": "#C9CDD3",
          "tickfont": {"size": 11, "color": MUTED}, "automargin": True}
    ax.update(extra)
    return ax


def empty_figure(message: str = "", height: int = 320) -> dict:
    return {"data": [], "layout": base_layout(
        height=height, xaxis={"visible": False}, yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "xref": "paper", "yref": "paper",
                      "x": 0.5, "y": 0.5, "font": {"size": 14, "color": MUTED}}] if message else [])}
