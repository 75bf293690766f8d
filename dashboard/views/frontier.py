"""The frontier: every published checkpoint of the catalog's specs (accuracy from its points
file, archcalc.published) with archcalc's exact costs at its width, resolution and parameter
values (the design engine's compiled, vectorised evaluator, once per spec and parameter
combination, on the `work` pool), measured latencies joined from the results database, and
the Pareto fronts (archcalc.design.frontier.pareto_front): the MobileNetV2 paper's Figure 5,
recomputed.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import archcalc
from archcalc.numbers import decimal_text, plain, quote
from archcalc.report.units import human_bytes, human_count

from ..colors import MUTED
from ..controls import CONVENTIONS, sets_key
from ..figures import axis, base_layout, empty_figure

X_METRICS = {
    "madds": ("MAdds (multiply-adds per image, log scale)", "MAdds", human_count),
    "params": ("parameters", "params", human_count),
    "peak_memory_bytes": ("peak activation memory, naive schedule (bytes, fp32)",
                          "peak memory", human_bytes),
    "peak_memory_bytes_streamed": ("peak activation memory, streamed (bytes, fp32; MobileNetV2 "
                                   "Sec. 5.1)", "peak memory (streamed)", human_bytes),
    "pixel1_ms": ("latency on a Pixel 1 phone (ms, published)", "Pixel 1 latency",
                  lambda v: f"{v:g} ms"),
}
COST_METRICS = ("params", "madds", "flops", "peak_memory_bytes", "peak_memory_bytes_streamed")
# The frontier's tasks: the published metric on the y axis (points files' metric names,
# archcalc.published), its axis title and its short name. Detection: MobileNetV2 Table 6;
# segmentation: Table 7.
TASKS = {
    "top1": ("Classification (ImageNet top-1)", "ImageNet top-1 accuracy (%)", "top-1"),
    "coco_map": ("Detection (COCO mAP)", "COCO detection mAP (%)", "mAP"),
    "voc_miou": ("Segmentation (PASCAL VOC mIOU)", "PASCAL VOC 2012 val mIOU (%)", "mIOU"),
}


def task_options() -> list[dict]:
    return [{"label": label, "value": key} for key, (label, _, _) in TASKS.items()]


def measured_label(row) -> str:
    """A results-database row's machine, as the cost-axis menu names it."""
    dev = row.get("device", "cpu")
    hw = row.get("gpu") if dev != "cpu" and row.get("gpu") not in (None, "", "none") else row.get("cpu")
    return f"{dev}: {hw} · {row.get('dtype')} · batch {row.get('batch')}"


def compute_frontier(ws, convention: str) -> tuple[list[dict], list[str]]:
    """The published points with their costs under `convention` (remembered by the workspace)."""
    from archcalc.published import load_points, published_for
    cached = ws.recall(ws.frontier_cache, convention)
    if cached is not None:
        return cached
    notes: list[str] = []
    raw = []
    for key, entry in ws.catalog.entries.items():
        f = published_for(entry.path)
        if f is None:
            continue
        try:
            pts = load_points(f)
        except archcalc.ArchcalcError as err:
            notes.append(ws.scrub(str(err)))
            continue
        for p in pts:
            spec_key = ws.catalog.key_for_path(p["spec"]) if p.get("spec") else key
            if spec_key is None or "width" not in p or all(p.get(t) is None for t in TASKS):
                continue
            sets = p.get("set") if isinstance(p.get("set"), dict) else {}
            raw.append((spec_key, {str(k): str(v) for k, v in sets.items()},
                        dict(p, order=len(raw))))
    groups: dict = {}
    for spec_key, sets, p in raw:
        groups.setdefault((spec_key, sets_key(sets)), []).append(p)
    points = []
    for (spec_key, skey), pts in groups.items():
        entry = ws.catalog.entries[spec_key]
        source = f"file:{spec_key}"
        try:
            forms = ws.forms(source, convention, "fp32", dict(skey))
            widths = [p["width"] for p in pts]
            res = [p.get("resolution", entry.resolution) for p in pts]
            values = forms.points(widths, res, COST_METRICS)
        except archcalc.ArchcalcError as err:
            notes.append(f"{entry.name}: {ws.scrub(str(err))}")
            continue
        for i, p in enumerate(pts):
            w = Fraction(p["width"])
            point = {
                "family": entry.name, "spec": spec_key, "source_id": source,
                "label": p.get("label", ""), "width": decimal_text(w), "resolution": int(res[i]),
                "sets": dict(skey), "source": p.get("source", ""), "color": entry.color,
                "order": p["order"], **{t: float(p[t]) for t in TASKS if p.get(t) is not None},
                **{m: plain(values[m][i]) for m in COST_METRICS}}
            if p.get("pixel1_ms") is not None:
                point["pixel1_ms"] = float(p["pixel1_ms"])
            points.append(point)
    for i, p in enumerate(points):
        p["id"] = i
    ws.remember(ws.frontier_cache, convention, (points, notes))
    return points, notes


def frontier_points(ws, convention: str = "paper", with_measured: bool = True,
                    task: str = "top1") -> tuple[list[dict], list[str]]:
    """Every published point of the task's metric (TASKS: top1, coco_map, voc_miou) of every
    catalog spec, with archcalc's exact costs at its width, resolution and parameters (the
    design engine's compiled evaluator, once per spec and parameter combination), and
    measured latencies joined from the results database. Returns (points, notes)."""
    if convention not in CONVENTIONS:
        raise archcalc.OptionError(f"unknown convention {quote(convention)}")
    if task not in TASKS:
        raise archcalc.OptionError(f"unknown task {quote(task)} (known: {', '.join(TASKS)})")
    cached = ws.recall(ws.frontier_cache, convention)
    if cached is None:      # once per convention, on the `work` pool (seconds of CPU)
        cached = ws.work.call(("frontier", convention), lambda: compute_frontier(ws, convention))
    points, notes = cached
    points = [p for p in points if task in p]
    notes = list(notes)
    if not with_measured:
        return points, notes
    # measured latencies change while the dashboard runs: joined on every call
    rows, note = ws.measured()
    if note:
        notes.append(note)
    points = [dict(p) for p in points]
    by_hash = {e.spec_hash: k for k, e in ws.catalog.entries.items()}
    for p in points:
        p["measured"] = {}
    index = {}
    for p in points:
        index.setdefault((p["spec"], p["width"], p["resolution"]), []).append(p)
    for row in rows:     # oldest first: a later measurement of the same key wins
        spec_key = by_hash.get(row.get("spec_hash"))
        if spec_key is None:
            continue
        try:
            w = decimal_text(Fraction(str(row["width"])))
        except (ValueError, ZeroDivisionError):
            continue
        for p in index.get((spec_key, w, int(row["resolution"])), []):
            row_sets = {str(k): str(v) for k, v in (row.get("sets") or {}).items()}
            if any(row_sets.get(k) != v for k, v in p["sets"].items()):
                continue
            p["measured"][measured_label(row)] = float(row["median_s"]) * 1000.0
    return points, notes


def x_options(points) -> list[dict]:
    opts = [{"label": "MAdds", "value": "madds"}, {"label": "Parameters", "value": "params"},
            {"label": "Peak memory (naive)", "value": "peak_memory_bytes"},
            {"label": "Peak memory (streamed)", "value": "peak_memory_bytes_streamed"},
            {"label": "Pixel 1 latency (published)", "value": "pixel1_ms"}]
    labels = sorted({k for p in points for k in p.get("measured", {})})
    for label in labels:
        opts.append({"label": f"Measured latency ({label})", "value": f"measured:{label}"})
    if not labels:
        opts.append({"label": "Measured latency (no results database rows)",
                     "value": "measured:", "disabled": True})
    return opts


def x_value(p: dict, x: str):
    if x.startswith("measured:"):
        return p.get("measured", {}).get(x.partition(":")[2])
    return p.get(x)


def x_meta(x: str) -> tuple[str, str, Any]:
    if x.startswith("measured:"):
        label = x.partition(":")[2]
        return f"measured latency (ms, {label})", "measured latency", lambda v: f"{v:.2f} ms"
    title, short, fmt = X_METRICS.get(x, (x, x, str))
    if x == "madds":
        title = "MAdds (multiply-adds per image)"
    return title, short, fmt


def _have(points, x: str, y: str) -> list:
    return [p for p in points if x_value(p, x) is not None and p.get(y) is not None]


def fronts(points, x: str, y: str = "top1") -> tuple[list[int], dict]:
    """Ids on the overall Pareto front (lower x, higher y: the task's metric) and on each
    family's front."""
    from archcalc.design.frontier import pareto_front
    have = _have(points, x, y)
    objs = [("x", "min"), ("y", "max")]
    rows = [{"x": x_value(p, x), "y": p[y]} for p in have]
    overall = [have[i]["id"] for i in pareto_front(rows, objs)]
    per_family: dict = {}
    for fam in dict.fromkeys(p["family"] for p in have):
        sub = [p for p in have if p["family"] == fam]
        idx = pareto_front([{"x": x_value(p, x), "y": p[y]} for p in sub], objs)
        per_family[fam] = [sub[i]["id"] for i in idx]
    return overall, per_family


def point_hover(p, x, fmt, short, y: str = "top1") -> str:
    parts = [f"<b>{p['label']}</b>",
             f"{p['family']} · width {p['width']} · {p['resolution']}×{p['resolution']}"
             + "".join(f" · {k}={v}" for k, v in sorted(p['sets'].items()))]
    parts.append(f"{TASKS[y][2]} {p[y]:.1f}%")
    parts.append(f"{short}: {fmt(x_value(p, x))}")
    if x != "madds":
        parts.append(f"MAdds: {human_count(p['madds'])}")
    if x != "params":
        parts.append(f"params: {human_count(p['params'])}")
    src = p.get("source") or ""
    if len(src) > 90:
        src = src[:87] + "..."
    parts.append(f"<span style='color:{MUTED}'>source: {src}</span>")
    parts.append(f"<span style='color:{MUTED}'>click to open in the designer</span>")
    return "<br>".join(parts)


def frontier_figure(points, x: str = "madds", log_x: bool = True,
                    show=("family", "overall"), y: str = "top1") -> dict:
    """The task's metric y (top-1, COCO mAP, VOC mIOU) vs a cost for every published point:
    one colour per family, each family's Pareto front as a thin staircase and the overall
    front in black."""
    title, short, fmt = x_meta(x)
    have = _have(points, x, y)
    if not have:
        return empty_figure(f"no published point has a value for {short}", 560)
    overall, per_family = fronts(have, x, y)
    on_front = set(overall)
    data = []
    for fam in dict.fromkeys(p["family"] for p in have):
        sub = [p for p in have if p["family"] == fam]
        color = sub[0]["color"]
        if "family" in show:
            ids = set(per_family[fam])
            line = sorted((p for p in sub if p["id"] in ids), key=lambda p: (x_value(p, x), p[y]))
            data.append({"type": "scatter", "mode": "lines", "x": [x_value(p, x) for p in line],
                         "y": [p[y] for p in line], "legendgroup": fam, "showlegend": False,
                         "line": {"color": color, "width": 1.5, "shape": "hv"}, "opacity": 0.55,
                         "hoverinfo": "skip", "name": f"{fam} front"})
        data.append({
            "type": "scatter", "mode": "markers", "name": fam, "legendgroup": fam,
            "x": [x_value(p, x) for p in sub], "y": [p[y] for p in sub],
            "marker": {"color": color, "size": [13 if p["id"] in on_front and "overall" in show
                                                else 9 for p in sub],
                       "line": {"color": ["#1F2430" if p["id"] in on_front and "overall" in show
                                          else "#FFFFFF" for p in sub], "width": 1.5},
                       "opacity": 0.92},
            "customdata": [[p["source_id"], p["width"], p["resolution"], p["sets"], p["id"]]
                           for p in sub],
            "text": [point_hover(p, x, fmt, short, y) for p in sub],
            "hovertemplate": "%{text}<extra></extra>"})
    if "overall" in show:
        line = sorted((p for p in have if p["id"] in on_front), key=lambda p: (x_value(p, x), p[y]))
        data.append({"type": "scatter", "mode": "lines", "name": "Pareto front (all families)",
                     "x": [x_value(p, x) for p in line], "y": [p[y] for p in line],
                     "line": {"color": "#1F2430", "width": 2, "dash": "dot", "shape": "hv"},
                     "hoverinfo": "skip"})
    x_extra = {"type": "log" if log_x else "linear"}
    if log_x:
        x_extra["dtick"] = "D2"          # 1, 2, 5 per decade: readable tick labels
    if x in ("madds", "params"):
        x_extra["tickformat"] = "~s"
    elif x.startswith("peak_memory"):
        x_extra.update(tickformat="~s", ticksuffix="B")
    layout = base_layout(
        height=580, hovermode="closest", clickmode="event",
        xaxis=axis(title + (" · log scale" if log_x else ""), **x_extra),
        yaxis=axis(TASKS[y][1], ticksuffix="%"),
        margin={"l": 70, "r": 30, "t": 60, "b": 60})
    layout["legend"]["itemsizing"] = "constant"
    return {"data": data, "layout": layout}


def front_table(points, x: str, y: str = "top1") -> list[dict]:
    """The overall Pareto front as table rows, cheapest first ("top1": the task's metric)."""
    title, short, fmt = x_meta(x)
    have = _have(points, x, y)
    if not have:
        return []
    overall, _ = fronts(have, x, y)
    ids = set(overall)
    line = sorted((p for p in have if p["id"] in ids), key=lambda p: (x_value(p, x), p[y]))
    return [{"model": p["label"], "family": p["family"], "width": p["width"],
             "resolution": p["resolution"],
             "params": ", ".join(f"{k}={v}" for k, v in sorted(p["sets"].items())),
             "top1": f"{p[y]:.1f}%", "x": fmt(x_value(p, x)), "MAdds": human_count(p["madds"]),
             "source": p["source"]} for p in line]

