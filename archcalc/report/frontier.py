"""Text and figure of `archcalc frontier`: the Pareto front as a table, and an interactive
plotly figure of every point with the front as a line (plotly imported only by `figure`).

Renders the points of archcalc.design.frontier.collect_points and the indices of
`pareto_front`; pure: data in, text (or a figure) out.
"""
from __future__ import annotations

from ..numbers import decimal_text, value_text
from .terminal import columns

LABELS = {"madds": "MAdds", "params": "parameters", "flops": "FLOPs", "top1": "top-1 accuracy (%)",
          "top5": "top-5 accuracy (%)", "peak_memory_bytes": "peak activation memory (bytes)",
          "peak_memory_bytes_streamed": "peak activation memory, streamed (bytes)",
          "activation_bytes": "activation memory, all tensors (bytes)",
          "pixel1_ms": "latency on a Pixel 1 (ms)"}


def render(points, x: str, y: str, front, sx: str, sy: str) -> str:
    """The frontier as text: every point on it, best x first."""
    lines = [f"Pareto front of {y} ({'higher' if sy == 'max' else 'lower'} is better) vs "
             f"{x} ({'higher' if sx == 'max' else 'lower'} is better): {len(front)} of "
             f"{len(points)} points", ""]
    header = ["label", "group", "width", "res", x, y]
    rows = []
    for i in sorted(front, key=lambda i: (points[i][x], points[i][y])):
        p = points[i]
        rows.append([p.get("label", ""), p.get("group", ""),
                     decimal_text(p["width"]) if "width" in p else "",
                     str(p.get("resolution", "")),
                     value_text(p[x]), value_text(p[y])])
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    over = 2 + sum(widths) + 2 * (len(widths) - 1) - columns()
    if over > 0:        # abbreviate the label and group columns (full text: --out's hover)
        for k, floor in ((0, 20), (1, 16), (0, 12)):
            cut = min(over, max(0, widths[k] - floor))
            widths[k] -= cut
            over -= cut
        rows = [[_clip(r[0], widths[0]), _clip(r[1], widths[1]), *r[2:]] for r in rows]
        header = [_clip(header[0], widths[0]), _clip(header[1], widths[1]), *header[2:]]
    for row in [header] + rows:
        lines.append("  " + "  ".join(c.ljust(w) if k < 2 else c.rjust(w)
                                      for k, (c, w) in enumerate(zip(row, widths))).rstrip())
    return "\n".join(lines) + "\n"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "~"


def figure(points, x: str, y: str, front, title: str = ""):
    """An interactive plotly figure: one marker trace per group, the frontier as a line."""
    import plotly.graph_objects as go
    fig = go.Figure()
    groups: dict = {}
    for i, p in enumerate(points):
        groups.setdefault(p.get("group", "points"), []).append(i)

    def hover(p):
        parts = [f"<b>{p.get('label', '')}</b>"]
        if "width" in p:
            parts.append(f"width {decimal_text(p['width'])}, resolution {p.get('resolution', '')}")
        for k in (x, y):
            parts.append(f"{k}: {value_text(p[k])}")
        if p.get("source"):
            parts.append(f"source: {p['source']}")
        return "<br>".join(parts)

    on_front = set(front)
    for name, idx in groups.items():
        fig.add_trace(go.Scatter(
            x=[float(points[i][x]) for i in idx], y=[float(points[i][y]) for i in idx],
            mode="markers", name=name, text=[hover(points[i]) for i in idx],
            hovertemplate="%{text}<extra></extra>",
            marker=dict(size=[11 if i in on_front else 7 for i in idx],
                        line=dict(width=[2 if i in on_front else 0 for i in idx], color="black"))))
    ordered = sorted(front, key=lambda i: (points[i][x], points[i][y]))
    fig.add_trace(go.Scatter(
        x=[float(points[i][x]) for i in ordered], y=[float(points[i][y]) for i in ordered],
        mode="lines", name="Pareto front", line=dict(shape="hv", color="black", dash="dot"),
        hoverinfo="skip"))
    fig.update_layout(title=title or f"{LABELS.get(y, y)} vs {LABELS.get(x, x)}",
                      xaxis_title=LABELS.get(x, x), yaxis_title=LABELS.get(y, y),
                      template="plotly_white", hovermode="closest")
    return fig
