"""The dashboard's frontier without a browser: every published point with archcalc's exact
costs, the published note, Pareto fronts, the figure, measured latencies, a click on a point.
"""
from __future__ import annotations

import json

import pytest

pytest.importorskip("dash")

from dash import no_update                        # noqa: E402

from archcalc.published import load_points        # noqa: E402
from dashboard import colors                      # noqa: E402
from dashboard.layout import frontier as frontier_tab   # noqa: E402
from dashboard.layout import page                 # noqa: E402
from dashboard.views import designer, frontier    # noqa: E402
from dashboard.workspace import Workspace         # noqa: E402
from dashboard_fixtures import SPECS, reference, ws  # noqa: E402,F401  (ws: a fixture)


# -- frontier --------------------------------------------------------------------------------------
def published_rows():
    rows = []
    for f in sorted((SPECS / "published").glob("*.yaml")):
        for p in load_points(f):
            if p.get("top1") is not None and "width" in p:
                rows.append(p)
    return rows


def test_frontier_has_every_published_point_with_exact_costs(ws):
    points, notes = frontier.frontier_points(ws)
    assert notes == []
    assert len(points) == len(published_rows())
    assert {p["family"] for p in points} >= {"MobileNetV1", "MobileNetV2", "ShuffleNetV1",
                                             "NASNet-A-Mobile", "MobileNetV3-Large",
                                             "MobileNetV3-Small", "ShuffleNetV2", "EfficientNet-B0"}
    # the V3 minimalistic checkpoints and ShuffleNetV2's sizes are honoured point by point
    v2 = {p["sets"]["size"]: p["madds"] for p in points if p["family"] == "ShuffleNetV2"}
    assert len(set(v2.values())) == len(v2) == 4
    mini = [p for p in points if p["sets"].get("minimalistic") in (True, "true", "True")]
    assert len(mini) == 2 and all(p["width"] == "1" for p in mini)
    for p in points:
        ref = reference(SPECS / p["spec"], p["width"], p["resolution"], sets=p["sets"] or None)
        for m in frontier.COST_METRICS:
            assert p[m] == ref.totals[m], (p["label"], m)
    # the ShuffleNet group counts are honoured point by point
    g = {p["sets"].get("groups"): p["madds"] for p in points
         if p["family"] == "ShuffleNetV1" and p["width"] == "1"}
    assert len(set(g.values())) == len(g) == 5


def test_published_note_matches_archcalc_compare(ws):
    """The designer's "published at this point" agrees with archcalc.compare.published_point
    (which reads the YAML file) at every published point and at unpublished ones."""
    from archcalc.compare import published_point
    points, _ = frontier.frontier_points(ws)
    cases = {(p["spec"], p["width"], p["resolution"], tuple(sorted(p["sets"].items())))
             for p in points}
    cases |= {("mobilenet_v2.yaml", "0.6", 224, ()), ("shufflenet_v1.yaml", "1", 224, ()),
              ("ssd_mobilenet_v2.yaml", "1", 320, ())}
    for key, w, r, sets in sorted(cases):
        table = ws.table(f"file:{key}", w, r, sets=dict(sets))
        ref = published_point(str(SPECS / key), table)
        text = designer.published_text(ws, f"file:{key}", table)
        if ref is None:
            assert text is None, (key, w, r, sets)
            continue
        if "top1" in ref:
            assert f"{ref['top1']:.1f}% top-1" in text
        if "latency_ms" in ref:
            assert f"{ref['latency_ms']:g} ms on a Pixel 1" in text
        assert text.endswith(f"({ref['source']})"), (text, ref)


def test_frontier_pareto_fronts_are_non_dominated(ws):
    points, _ = frontier.frontier_points(ws)
    for x in ("madds", "params", "peak_memory_bytes_streamed", "pixel1_ms"):
        overall, per_family = frontier.fronts(points, x)
        have = [p for p in points if frontier.x_value(p, x) is not None]
        on = [p for p in have if p["id"] in overall]
        assert on
        for p in on:
            assert not any(q[x] <= p[x] and q["top1"] >= p["top1"]
                           and (q[x] < p[x] or q["top1"] > p["top1"]) for q in have)
        for fam, ids in per_family.items():
            assert ids and all(any(p["id"] == i and p["family"] == fam for p in have) for i in ids)


def test_frontier_figure(ws):
    points, _ = frontier.frontier_points(ws)
    fig = frontier.frontier_figure(points, "madds", True)
    assert fig["layout"]["xaxis"]["type"] == "log"
    assert fig["layout"]["xaxis"]["title"]["text"].startswith("MAdds")
    assert fig["layout"]["yaxis"]["title"]["text"] == "ImageNet top-1 accuracy (%)"
    markers = [t for t in fig["data"] if t["mode"] == "markers"]
    assert sum(len(t["x"]) for t in markers) == len(points)
    assert any(t["name"] == "Pareto front (all families)" for t in fig["data"])
    v2 = [t for t in markers if t["name"] == "MobileNetV2"][0]
    assert v2["marker"]["color"] == colors.FAMILY_COLORS["MobileNetV2"]
    assert all(cd[0].startswith("file:") for cd in v2["customdata"])
    assert any("source: Sandler et al. 2018" in t for t in v2["text"])
    lin = frontier.frontier_figure(points, "pixel1_ms", False, ())
    assert lin["layout"]["xaxis"]["type"] == "linear"
    assert not any(t["mode"] == "lines" for t in lin["data"])
    assert sum(len(t["x"]) for t in lin["data"]) == sum(1 for p in points if "pixel1_ms" in p)
    json.dumps(fig)


def test_frontier_view_and_conventions(ws):
    fig, summary, table = frontier_tab.frontier_view(ws, "madds", "log", ["overall"], "tf-slim")
    points, _ = frontier.frontier_points(ws, "tf-slim")
    v1 = [p for p in points if p["spec"] == "mobilenet_v1.yaml" and p["width"] == "1"][0]
    ref = reference(SPECS / "mobilenet_v1.yaml", "1", 224, convention="tf-slim")
    assert v1["params"] == ref.totals["params"]          # 1001 classes
    assert table.children.children[1].children           # the front's rows


def test_measured_latencies_join_from_the_results_db(tmp_path):
    from archcalc import results
    db_path = tmp_path / "results.sqlite"
    spec = SPECS / "mobilenet_v2.yaml"
    record = {
        "machine_info": {"cpu": "Test CPU", "cores": 2, "gpu": "none", "torch": "0.0"},
        "spec_name": "MobileNetV2", "spec_path": str(spec), "spec_hash": results.spec_hash(spec),
        "width": "0.75", "resolution": 160, "sets": {}, "batch": 1, "device": "cpu",
        "dtype": "fp32", "threads": 1, "options": {}, "median_s": 0.0123, "q1_s": 0.012,
        "q3_s": 0.013, "samples": 20, "stable": True, "params": 1, "madds": 1}
    with results.ResultsDB(db_path) as db:
        db.add(record)
        db.add({**record, "spec_hash": "0" * 64, "median_s": 9.0})    # another spec's bytes
        db.add({**record, "width": "0.5", "median_s": 0.007})
    w = Workspace(SPECS, db_path, wait_for_compile=True)
    points, notes = frontier.frontier_points(w)
    label = "cpu: Test CPU · fp32 · batch 1"
    got = {(p["width"], p["resolution"]): p["measured"].get(label) for p in points
           if p["spec"] == "mobilenet_v2.yaml" and p["measured"]}
    assert got == {("0.75", 160): pytest.approx(12.3), ("0.5", 160): pytest.approx(7.0)}
    assert {"label": f"Measured latency ({label})", "value": f"measured:{label}"} in frontier.x_options(points)
    fig = frontier.frontier_figure(points, f"measured:{label}", False)
    assert sum(len(t["x"]) for t in fig["data"] if t["mode"] == "markers") == 2
    assert fig["layout"]["xaxis"]["title"]["text"].startswith("measured latency (ms")


def test_a_broken_results_db_is_a_note_not_a_crash(tmp_path):
    bad = tmp_path / "results.sqlite"
    bad.write_bytes(b"not a database at all")
    w = Workspace(SPECS, bad)
    points, notes = frontier.frontier_points(w)
    assert points and any("not an SQLite database" in n for n in notes)
    assert bad.read_bytes() == b"not a database at all"


def test_navigate_from_a_frontier_click(ws):
    points, _ = frontier.frontier_points(ws)
    fig = frontier.frontier_figure(points, "madds")
    sh = [t for t in fig["data"] if t.get("name") == "ShuffleNetV1"][0]
    i = [k for k, cd in enumerate(sh["customdata"]) if cd[3] == {"groups": "8"}][0]
    click = {"points": [{"customdata": sh["customdata"][i]}]}
    tab, source, width, res, _, request = page.navigate(ws, "frontier-graph", click)
    assert (tab, source, res) == ("designer", "file:shufflenet_v1.yaml", 224)
    assert request == {"source": "file:shufflenet_v1.yaml", "sets": {"groups": "8"}}
    p = designer.designer_payload(ws, source, width, res, sets=request["sets"])
    pt = [p for p in points if p["id"] == sh["customdata"][i][4]][0]
    assert p["madds_exact"] == pt["madds"]
    for junk in (None, {}, {"points": []}, {"points": [{"x": 1}]},
                 {"points": [{"customdata": ["path:/etc/passwd", 1, 224, {}, 0]}]}):
        assert page.navigate(ws, "frontier-graph", junk) == (no_update,) * 6



@pytest.mark.parametrize("task, families", [
    ("coco_map", {"SSD300-VGG16", "SSD512-VGG16", "YOLOv2", "SSDLite-MobileNetV1",
                  "SSDLite-MobileNetV2"}),
    ("voc_miou", {"DeepLabv3-MobileNetV1", "DeepLabv3-MobileNetV2"}),
])
def test_frontier_tasks_detection_and_segmentation(ws, task, families):
    """The task selector's detection (MobileNetV2 Table 6) and segmentation (Table 7) points:
    every published point with that metric, costed exactly at its point and parameters
    (multi-scale passes summed), on a figure titled by the task."""
    want = [p for f in sorted((SPECS / "published").glob("*.yaml")) for p in load_points(f)
            if p.get(task) is not None and "width" in p]
    for convention in ("paper", "tf-deeplab"):
        points, notes = frontier.frontier_points(ws, convention, task=task)
        assert notes == [] and len(points) == len(want)
        assert {p["family"] for p in points} == families
        for p in points:
            ref = reference(SPECS / p["spec"], p["width"], p["resolution"], sets=p["sets"] or None,
                            convention=convention)
            for m in frontier.COST_METRICS:
                assert p[m] == ref.totals[m], (p["label"], m)
    fig = frontier.frontier_figure(points, "madds", True, ("family", "overall"), task)
    assert fig["layout"]["yaxis"]["title"]["text"] == frontier.TASKS[task][1]
    markers = [t for t in fig["data"] if t["mode"] == "markers"]
    assert sorted(y for t in markers for y in t["y"]) == sorted(float(p[task]) for p in want)
    _, summary, table = frontier_tab.frontier_view(ws, "madds", "log", ["overall"], "tf-deeplab", task)
    assert f"({frontier.TASKS[task][2]})" in summary[1]
    assert table.children.children[1].children
    if task == "voc_miou":          # Table 7 at 513 under TF's counting: 387B with MF
        mf = [p for p in points if p["label"] == "MNet V2* OS8 ASPP MF"][0]
        assert abs(mf["madds"] - 387e9) / 387e9 < 0.005


def test_frontier_unknown_task_is_refused(ws):
    import archcalc
    with pytest.raises(archcalc.OptionError, match="unknown task"):
        frontier.frontier_points(ws, task="top5")
