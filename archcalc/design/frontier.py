"""Pareto frontiers over any metrics, for any set of specs and published points.

Generic pieces (the dashboard reuses them):

* `pareto_front(points, objectives)`: indices of the non-dominated points, each objective a
  (key, "min" | "max") pair; exact comparisons (ints, Fractions, floats as given).
* `load_points(path)`: published points from YAML or CSV (width, resolution, top1, ...).
* `collect_points(...)`: published points of each spec (from `<spec dir>/published/<spec
  file name>`, and any --points files) with archcalc's exact costs added, or a sweep grid of
  each spec when both axes are costs.
* `figure(points, x, y, front)`: an interactive plotly figure.

Directions: accuracy-like metrics (top1, top5, acc1, acc5, accuracy) are maximised, every
other metric (costs, latencies) minimised, unless told otherwise.
"""
from __future__ import annotations

import csv
import os
from fractions import Fraction
from pathlib import Path

from ..errors import OptionError
from .grid import decimal_text

MAXIMISED = ("top1", "top5", "acc1", "acc5", "accuracy")
LABELS = {"madds": "MAdds", "params": "parameters", "flops": "FLOPs", "top1": "top-1 accuracy (%)",
          "top5": "top-5 accuracy (%)", "peak_memory_bytes": "peak activation memory (bytes)",
          "peak_memory_bytes_streamed": "peak activation memory, streamed (bytes)",
          "activation_bytes": "activation memory, all tensors (bytes)",
          "pixel1_ms": "latency on a Pixel 1 (ms)"}
RESERVED = ("spec", "label", "checkpoint", "width", "multiplier", "resolution", "source", "group",
            "set")


def direction(metric: str, maximise=(), minimise=()) -> str:
    if metric in maximise:
        return "max"
    if metric in minimise:
        return "min"
    return "max" if metric.lower() in MAXIMISED else "min"


def pareto_front(points, objectives) -> list[int]:
    """Indices (in input order) of the points no other point dominates. A point dominates
    another when it is at least as good in every objective and better in one; identical
    points do not dominate each other. `points` are mappings (or sequences) indexed by each
    objective's key; objectives are [(key, "min" | "max")]."""
    objectives = list(objectives)
    for _, sense in objectives:
        if sense not in ("min", "max"):
            raise OptionError(f"objective sense must be 'min' or 'max', got {sense!r}")
    vecs = [tuple(p[k] if s == "min" else -p[k] for k, s in objectives) for p in points]
    n = len(vecs)
    if len(objectives) == 2:
        order = sorted(range(n), key=lambda i: vecs[i])
        front, best, best_x = [], None, None
        for i in order:
            x, y = vecs[i]
            if best is None or y < best:
                front.append(i)
                best, best_x = y, x
            elif y == best and x == best_x:
                front.append(i)
        return sorted(front)
    front = []
    for i in range(n):
        vi = vecs[i]
        if not any(all(a <= b for a, b in zip(vecs[j], vi)) and vecs[j] != vi for j in range(n) if j != i):
            front.append(i)
    return front


def _number(v, what: str):
    if isinstance(v, bool):
        raise OptionError(f"{what}: expected a number, got {v!r}")
    if isinstance(v, (int, Fraction)):
        return v
    if isinstance(v, float):
        return Fraction(str(v))
    try:
        return int(v) if str(v).strip().lstrip("-").isdigit() else Fraction(str(v).strip())
    except (ValueError, ZeroDivisionError):
        raise OptionError(f"{what}: expected a number, got {v!r}") from None


def load_points(path) -> list[dict]:
    """Published points from a YAML file (`points:` list, optional top-level `spec`, `source`)
    or a CSV file (a header row). Each point: label (or checkpoint), width (or multiplier),
    resolution, metrics (top1, ...), optional spec (relative to the file)."""
    path = Path(path)
    if not path.is_file():
        raise OptionError(f"points file not found: {path}")
    base = path.parent
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise OptionError(f"{path}: not valid YAML ({err})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("points"), list):
            raise OptionError(f"{path}: expected a mapping with a 'points:' list")
        rows = doc["points"]
        default_spec, source = doc.get("spec"), doc.get("source", "")
    elif path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        default_spec, source = None, ""
    else:
        raise OptionError(f"points file must be .yaml, .yml or .csv: {path}")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise OptionError(f"{path}: point {i + 1} is not a mapping")
        where = f"{path}: point {i + 1}"
        p: dict = {"source": row.get("source") or source, "file": str(path)}
        spec = row.get("spec") or default_spec
        if spec:
            p["spec"] = str(spec) if os.path.isabs(str(spec)) else os.path.normpath(base / str(spec))
        p["label"] = str(row.get("label") or row.get("checkpoint") or f"{path.stem} {i + 1}")
        width = row.get("width", row.get("multiplier"))
        if width not in (None, ""):
            p["width"] = _number(width, f"{where}: width")
        res = row.get("resolution")
        if res not in (None, ""):
            p["resolution"] = _number(res, f"{where}: resolution")
        binds = row.get("set")
        if binds not in (None, ""):
            if not isinstance(binds, dict):
                raise OptionError(f"{where}: set: expected a mapping of spec parameters")
            p["set"] = {str(k): str(v) for k, v in binds.items()}
        for k, v in row.items():
            if k in RESERVED or v in (None, "") or isinstance(v, bool):
                continue
            try:
                p[k] = _number(v, f"{where}: {k}")
            except OptionError:
                p[k] = v
        out.append(p)
    return out


def published_for(spec_path) -> Path | None:
    """The published-points file that belongs to a spec: <spec dir>/published/<file name>."""
    p = Path(spec_path)
    candidate = p.parent / "published" / p.name
    return candidate if candidate.is_file() else None


def collect_points(specs, x: str, y: str, *, points_files=(), convention="paper", dtype="fp32",
                   sets=None, widths=None, resolutions=None, published: bool = True) -> list[dict]:
    """Points with values for x and y: published points (archcalc's exact costs added at their
    width and resolution), plus a grid of each spec when both x and y are costs."""
    from .engine import compile_forms
    compiled: dict = {}
    with_sets: dict = {}

    def forms_for(spec_path, point_sets=None):
        key = os.path.normpath(str(spec_path))
        if point_sets:
            merged = dict(sets or {}, **point_sets)
            skey = (key, tuple(sorted(merged.items())))
            if skey not in with_sets:
                with_sets[skey] = compile_forms(key, convention=convention, dtype=dtype, sets=merged)
            return with_sets[skey]
        if key not in compiled:
            compiled[key] = compile_forms(key, convention=convention, dtype=dtype, sets=sets)
        return compiled[key]

    specs = [os.path.normpath(str(s)) for s in specs]
    for s in specs:
        forms_for(s)
    raw: list[dict] = []
    if published:
        for s in specs:
            f = published_for(s)
            if f is not None:
                for p in load_points(f):
                    p.setdefault("spec", s)
                    raw.append(p)
    for f in points_files:
        for p in load_points(f):
            if "spec" not in p and len(specs) == 1 and "width" in p:
                p["spec"] = specs[0]
            raw.append(p)
    out = []
    for p in raw:
        needs = [m for m in (x, y) if m not in p]
        if needs:
            if "spec" not in p or "width" not in p:
                continue        # a published point without this metric and nothing to compute it from
            forms = forms_for(p["spec"], p.get("set"))
            unknown = [m for m in needs if m not in forms.plans]
            if unknown:
                continue
            res = p.get("resolution", forms.spec.resolution)
            if not forms.valid_points([p["width"]], [res])[0]:
                raise OptionError(f"{p.get('file', '')}: {p['label']}: {forms.spec.name} cannot be "
                                  f"built at width {decimal_text(p['width'])}, resolution {res}")
            values = forms.at(p["width"], res)
            p = dict(p, resolution=res, **{m: values[m] for m in needs})
        p.setdefault("group", _group(p, compiled))
        out.append(p)
    if widths is not None and resolutions is not None:
        for s in specs:
            forms = forms_for(s)
            if x not in forms.plans or y not in forms.plans:
                continue
            grid = forms.grid(widths, resolutions, [x, y])
            valid = forms.valid(widths, resolutions)
            from .engine import _resolutions, _widths
            ws = _widths(widths)
            rs = _resolutions(resolutions, forms.spec.resolution)
            for i, w in enumerate(ws):
                for j, r in enumerate(rs):
                    if not valid[i, j]:
                        continue
                    out.append({"spec": s, "group": f"{forms.spec.name} (grid)",
                                "label": f"{forms.spec.name} {decimal_text(w)} {r}",
                                "width": w, "resolution": r,
                                x: _py(grid[x][i, j]), y: _py(grid[y][i, j]), "source": "archcalc"})
    if not out:
        raise OptionError(f"no points have both {x} and {y} (published points need a spec and a "
                          f"width to compute costs; give a grid with --width/--resolution for "
                          f"cost-vs-cost frontiers)")
    return out


def _py(v):
    from .engine import _python
    return _python(v)


def _group(p, compiled) -> str:
    spec = p.get("spec")
    if spec and os.path.normpath(spec) in compiled:
        return f"{compiled[os.path.normpath(spec)].spec.name} (published)"
    return Path(p.get("file", "points")).stem


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
            parts.append(f"{k}: {_fmt(p[k])}")
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


def _fmt(v) -> str:
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, Fraction):
        return decimal_text(v)
    return str(v)


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
                     _cost(p[x]), _cost(p[y])])
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    for row in [header] + rows:
        lines.append("  " + "  ".join(c.ljust(w) if k < 2 else c.rjust(w)
                                      for k, (c, w) in enumerate(zip(row, widths))).rstrip())
    return "\n".join(lines) + "\n"


def _cost(v) -> str:
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, Fraction):
        return decimal_text(v)
    return str(v)
