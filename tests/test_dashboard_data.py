"""The dashboard's data layer and callback functions, without a browser.

Every number the dashboard shows is checked against archcalc's own point evaluation
(`archcalc.evaluate`, what `archcalc report` prints), never against copied values.
"""
from __future__ import annotations

import base64
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:           # the dashboard package sits beside archcalc
    sys.path.insert(0, str(REPO))

pytest.importorskip("dash")

import archcalc                                   # noqa: E402
from archcalc.design.frontier import load_points  # noqa: E402
from dashboard import app as dash_app             # noqa: E402
from dashboard import data                        # noqa: E402

SPECS = REPO / "specs"
V2 = (SPECS / "mobilenet_v2.yaml").read_text()

# A small valid spec (a residual bottleneck stack) and faults placed on known lines.
MINI = """\
name: mini
input: {channels: 3, resolution: 64}
params:
  num_classes: {default: 10, min: 1}
  blocks: {default: 2, min: 1, max: 3}
layers:
  stem:
    - {op: conv, c: 16, k: 3, s: 2, act: relu6}
  body:
    - {op: bottleneck, t: 6, c: 16, n: $blocks, s: 1}
  head:
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: $num_classes}
"""


def line_of(text: str, marker: str) -> int:
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if marker in line]
    assert hits, marker
    return hits[0]


@pytest.fixture(scope="module")
def ws():
    return data.Workspace(SPECS, db_path=REPO / "no-such-results.sqlite", wait_for_compile=True)


def reference(path, width, resolution, sets=None, convention="paper", dtype="fp32"):
    return archcalc.evaluate(str(path), width, resolution, convention=convention, dtype=dtype,
                             sets=sets)


# -- small helpers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value, text", [(0.35000000000000003, "0.35"), (1.0, "1"), (1.4, "1.4"),
                                         (0.05, "0.1"), (7, "2"), ("x", "1"), (None, "1"),
                                         (float("nan"), "1"), (0.999, "1")])
def test_width_text_snaps_to_exact_decimals(value, text):
    assert data.width_text(value) == text


@pytest.mark.parametrize("value, res", [(224, 224), (223.6, 224), (5, 32), (9000, 512),
                                        (None, 224), ("abc", 224), (float("inf"), 224)])
def test_resolution_is_clamped(value, res):
    assert data.resolution_value(value) == res


def test_readable_numbers():
    assert data.fmt_count(300774272) == "300.8M"
    assert data.fmt_count(3470760) == "3.47M"
    assert data.fmt_bytes(6021120) == "6.02 MB"
    assert data.fmt_exact(300774272) == "300,774,272"


# -- catalog: the browser can name only files of --specs -------------------------------------------
def test_catalog_lists_the_specs_folder(ws):
    assert set(ws.catalog.entries) == {p.name for p in SPECS.glob("*.yaml")}
    assert ws.catalog.entries["mobilenet_v2.yaml"].name == "MobileNetV2"
    options = ws.catalog.options()
    assert {"label": "MobileNetV2  ·  mobilenet_v2.yaml", "value": "file:mobilenet_v2.yaml"} in options
    assert all(str(SPECS) not in o["label"] for o in options)


@pytest.mark.parametrize("name", ["../pyproject.toml", "/etc/passwd", "published/mobilenet_v2.yaml",
                                  "mobilenet_v2", str(SPECS / "mobilenet_v2.yaml"), "", "..",
                                  "%2e%2e/pyproject.toml"])
def test_nothing_outside_the_catalog_can_be_named(ws, name):
    with pytest.raises(archcalc.ArchcalcError):
        ws.catalog.path(name)
    with pytest.raises(archcalc.ArchcalcError):
        data.catalog_text(ws, name)
    p = data.designer_payload(ws, f"file:{name}", 1, 224)
    assert p["error"] and "no spec named" in p["error"]


def test_an_unknown_source_kind_is_an_error_not_a_crash(ws):
    for source in ("http://example.com/x.yaml", "path:/etc/passwd", "user:deadbeef"):
        p = data.designer_payload(ws, source, 1, 224)
        assert p["error"]


def test_junk_from_the_browser_is_refused_and_caches_stay_bounded():
    w = data.Workspace(SPECS, wait_for_compile=True)
    for bad in ({"dtype": "fp64"}, {"convention": "mine"}, {"sets": {"num_classes": "9" * 500}}):
        kw = {"convention": "paper", "dtype": "fp32", "sets": None, **bad}
        p = data.designer_payload(w, "file:mobilenet_v1.yaml", 1, 224, **kw)
        assert p["error"], bad
    with pytest.raises(archcalc.ArchcalcError):
        data.frontier_points(w, "mine")
    for n in range(1, 300):           # 299 parameter values: the caches keep their bounds
        w.spec("file:mobilenet_v1.yaml", {"num_classes": str(n)})
    assert len(w._specs) <= 256
    w._evaluators.maxsize = 3
    for n in range(6):
        p = data.designer_payload(w, "file:mobilenet_v1.yaml", 1, 224, sets={"num_classes": str(n + 1)})
        assert p["madds_exact"] == reference(SPECS / "mobilenet_v1.yaml", "1", 224,
                                             sets={"num_classes": str(n + 1)}).totals["madds"]
    # new parameter values are checked in the sandbox and never lambdified in the server
    assert len(w._evaluators) == 0 and len(w._tables) <= data.TABLE_CACHE
    # the zoo's own configurations are; the evaluators' cache keeps its bound
    for convention, dtype in [(c, d) for c in data.CONVENTIONS for d in ("fp32", "fp16")]:
        p = data.designer_payload(w, "file:mobilenet_v1.yaml", 0.5, 160, convention, dtype)
        assert p["madds_exact"] == reference(SPECS / "mobilenet_v1.yaml", "0.5", 160,
                                             convention=convention, dtype=dtype).totals["madds"]
    assert len(w._evaluators) == 3 and len(w._tables) <= data.TABLE_CACHE


# -- the lambdified per-layer evaluator ------------------------------------------------------------
WIDTHS = ["0.1", "0.25", "0.35", "0.5", "0.6", "0.75", "1", "1.3", "1.4", "2"]
RESOLUTIONS = [32, 96, 160, 224, 225, 320, 512]


@pytest.mark.parametrize("key", sorted(p.name for p in SPECS.glob("*.yaml")))
def test_layer_evaluator_equals_archcalc_evaluate(ws, key):
    """Every row (all seven metrics and the output shape) and every total equals the concrete
    compile, on a grid that includes widths where residual guards fire (those fall back)."""
    ev = ws.layer_evaluator(f"file:{key}")
    assert ev is not None
    spec = ws.spec(f"file:{key}")
    fell_back = 0
    for w in WIDTHS:
        for r in RESOLUTIONS:
            got = ev.at(w, r)
            ref = archcalc.evaluate(spec, w, r)
            if got is None:
                fell_back += 1
                continue
            assert got.rows == ref.rows, (key, w, r)
            assert got.totals == ref.totals, (key, w, r)
            assert (got.width, got.resolution) == (ref.width, ref.resolution)
    assert fell_back < len(WIDTHS) * len(RESOLUTIONS) // 2


def test_workspace_table_matches_report_everywhere(ws):
    """What the designer shows is archcalc report's number, evaluator or fallback."""
    for key in ("mobilenet_v2.yaml", "ssd_mobilenet_v2.yaml"):
        for w in ("0.1", "0.35", "1", "1.4"):
            for r in (32, 160, 224):
                t = ws.table(f"file:{key}", w, r)
                ref = reference(SPECS / key, w, r)
                assert t.totals == ref.totals and t.rows == ref.rows


def test_evaluator_is_built_in_the_background_when_asked():
    fresh = data.Workspace(SPECS)
    assert fresh.layer_evaluator("file:mobilenet_v1.yaml", wait=False) is None
    t = fresh.table("file:mobilenet_v1.yaml", "0.5", 160)        # compiled meanwhile
    assert t.totals == reference(SPECS / "mobilenet_v1.yaml", "0.5", 160).totals
    assert fresh.layer_evaluator("file:mobilenet_v1.yaml", wait=True) is not None


# -- designer --------------------------------------------------------------------------------------
def test_designer_payload_at_the_paper_point(ws):
    p = data.designer_payload(ws, "file:mobilenet_v2.yaml", 1.0, 224)
    assert p["error"] is None
    cards = {c["key"]: c for c in p["cards"]}
    assert cards["madds"]["value"] == "300.8M"
    assert cards["madds"]["exact"] == "300,774,272"
    assert cards["params"]["value"] == "3.47M"
    assert cards["peak_memory_bytes"]["exact"] == "6,021,120 bytes"
    assert p["madds_exact"] == 300774272
    assert "72.0% top-1" in p["published"] and "Table 4" in p["published"]
    assert p["point"] == "MobileNetV2 at width 1, resolution 224×224"


@pytest.mark.parametrize("width, res", [(0.35000000000000003, 96), (0.75, 160), (1.4, 224),
                                        (2.0, 512), (0.1, 32), (1.3, 333)])
def test_designer_payload_equals_report(ws, width, res):
    p = data.designer_payload(ws, "file:mobilenet_v2.yaml", width, res)
    ref = reference(SPECS / "mobilenet_v2.yaml", data.width_text(width), res)
    assert p["madds_exact"] == ref.totals["madds"]
    assert {c["key"]: c["exact"] for c in p["cards"]}["params"] == f"{ref.totals['params']:,}"


def test_designer_figures_have_labelled_axes_and_op_colours(ws):
    p = data.designer_payload(ws, "file:shufflenet_v1.yaml", 1, 224)
    fig = p["layer_figure"]
    titles = [fig["layout"][k]["title"]["text"] for k in ("yaxis", "yaxis2", "yaxis3", "xaxis")]
    assert titles == ["MAdds", "params", "output (fp32, bytes)", "layer (network order)"]
    kinds = {t["legendgroup"] for t in fig["data"]}
    assert {"conv", "pointwise", "grouped_pointwise", "depthwise", "shuffle", "fc"} <= kinds
    for t in fig["data"]:
        assert t["marker"]["color"] == data.OP_COLORS[t["legendgroup"]]
    n_layers = p["layers"]
    assert sum(len(t["x"]) for t in fig["data"]) == 3 * n_layers
    mem = p["memory_figure"]
    assert [t["name"] for t in mem["data"]] == ["naive schedule (whole tensors)",
                                                "streamed (MobileNetV2 Sec. 5.1)"]
    ref = reference(SPECS / "shufflenet_v1.yaml", "1", 224)
    assert max(mem["data"][0]["y"]) == ref.totals["peak_memory_bytes"]
    assert max(mem["data"][1]["y"]) == ref.totals["peak_memory_bytes_streamed"]
    json.dumps(fig), json.dumps(mem)       # plain JSON: no plotly objects, no Fractions


def test_designer_sets_are_filtered_and_applied(ws):
    """groups=8 changes ShuffleNet; a parameter the spec does not declare is ignored."""
    p = data.designer_payload(ws, "file:shufflenet_v1.yaml", 1, 224, sets={"groups": "8"})
    ref = reference(SPECS / "shufflenet_v1.yaml", "1", 224, sets={"groups": "8"})
    assert p["madds_exact"] == ref.totals["madds"]
    p = data.designer_payload(ws, "file:mobilenet_v2.yaml", 1, 224, sets={"groups": "8"})
    assert p["madds_exact"] == 300774272
    p = data.designer_payload(ws, "file:shufflenet_v1.yaml", 1, 224, sets={"groups": "5"})
    assert p["error"] and "groups" in p["error"]


def test_designer_conventions_and_dtypes(ws):
    p = data.designer_payload(ws, "file:mobilenet_v2.yaml", 1, 224, "torchvision", "fp16")
    ref = reference(SPECS / "mobilenet_v2.yaml", "1", 224, convention="torchvision", dtype="fp16")
    cards = {c["key"]: c["exact"] for c in p["cards"]}
    assert cards["params"] == "3,504,872" == f"{ref.totals['params']:,}"
    assert cards["peak_memory_bytes"] == f"{ref.totals['peak_memory_bytes']:,} bytes"


def test_designer_view_outputs(ws):
    out = dash_app.designer_view(ws, "file:mobilenet_v2.yaml", 0.75, 160, "paper", "fp32",
                                 [None], [{"type": "param", "name": "num_classes"}])
    width_label, res_label, title, published, error, cards, f1, f2 = out
    assert (width_label, res_label, error) == ("0.75", "160 × 160 px", None)
    assert "69.8% top-1" in published.children or "66.4% top-1" in published.children
    madds = [c for c in cards if c.children[0].children == "MAdds"][0]
    assert madds.children[2].children == f"{reference(SPECS / 'mobilenet_v2.yaml', '0.75', 160).totals['madds']:,}"
    assert f1["data"] and f2["data"]


def test_designer_view_without_a_spec(ws):
    out = dash_app.designer_view(ws, None, 1, 224)
    assert out[2] == "Choose a spec" and out[5] == []


def test_designer_params_controls(ws):
    ctl = dash_app.designer_params(ws, "file:shufflenet_v1.yaml",
                                   {"source": "file:shufflenet_v1.yaml", "sets": {"groups": "8"}})
    by_name = {c.children[1].id["name"]: c.children[1] for c in ctl}
    assert set(by_name) == {"num_classes", "groups"}
    assert by_name["groups"].value == "8"
    assert [o["value"] for o in by_name["groups"].options] == ["1", "2", "3", "4", "8"]
    assert by_name["num_classes"].value == ""          # empty: the spec's (or convention's) default
    ctl = dash_app.designer_params(ws, "file:shufflenet_v1.yaml",
                                   {"source": "file:mobilenet_v2.yaml", "sets": {"groups": "8"}})
    assert {c.children[1].id["name"]: c.children[1] for c in ctl}["groups"].value is None


def test_closed_forms_once_per_spec_without_server_paths(ws, monkeypatch):
    runs = []
    real = ws.sandbox

    class Counting:
        @staticmethod
        def run(task, payload, timeout):
            runs.append(task)
            return real.run(task, payload, timeout)

    monkeypatch.setattr(ws, "sandbox", Counting)
    out = data.formula_text(ws, "file:mobilenet_v2.yaml")
    again = data.formula_text(ws, "file:mobilenet_v2.yaml")
    assert again is out and runs == ["forms"]          # computed once (in the sandbox)
    assert "madds = h2**2*(6*c16**2" in out["text"]
    assert "rho" in out["idealised"]
    assert str(SPECS) not in out["text"]                 # never the server's folders
    assert "zoo:mobilenet_v2" in out["text"] or "(mobilenet_v2.yaml)" in out["text"]
    view = dash_app.forms_view(ws, "file:mobilenet_v2.yaml")
    assert any(getattr(c, "id", None) == "designer-formula-text" for c in view)


# -- frontier --------------------------------------------------------------------------------------
def published_rows():
    rows = []
    for f in sorted((SPECS / "published").glob("*.yaml")):
        for p in load_points(f):
            if p.get("top1") is not None and "width" in p:
                rows.append(p)
    return rows


def test_frontier_has_every_published_point_with_exact_costs(ws):
    points, notes = data.frontier_points(ws)
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
        for m in data.COST_METRICS:
            assert p[m] == ref.totals[m], (p["label"], m)
    # the ShuffleNet group counts are honoured point by point
    g = {p["sets"].get("groups"): p["madds"] for p in points
         if p["family"] == "ShuffleNetV1" and p["width"] == "1"}
    assert len(set(g.values())) == len(g) == 5


def test_published_note_matches_archcalc_compare(ws):
    """The designer's "published at this point" agrees with archcalc.compare.published_point
    (which reads the YAML file) at every published point and at unpublished ones."""
    from archcalc.compare import published_point
    points, _ = data.frontier_points(ws)
    cases = {(p["spec"], p["width"], p["resolution"], tuple(sorted(p["sets"].items())))
             for p in points}
    cases |= {("mobilenet_v2.yaml", "0.6", 224, ()), ("shufflenet_v1.yaml", "1", 224, ()),
              ("ssd_mobilenet_v2.yaml", "1", 320, ())}
    for key, w, r, sets in sorted(cases):
        table = ws.table(f"file:{key}", w, r, sets=dict(sets))
        ref = published_point(str(SPECS / key), table)
        text = data.published_text(ws, f"file:{key}", table)
        if ref is None:
            assert text is None, (key, w, r, sets)
            continue
        if "top1" in ref:
            assert f"{ref['top1']:.1f}% top-1" in text
        if "latency_ms" in ref:
            assert f"{ref['latency_ms']:g} ms on a Pixel 1" in text
        assert text.endswith(f"({ref['source']})"), (text, ref)


def test_frontier_pareto_fronts_are_non_dominated(ws):
    points, _ = data.frontier_points(ws)
    for x in ("madds", "params", "peak_memory_bytes_streamed", "pixel1_ms"):
        overall, per_family = data.fronts(points, x)
        have = [p for p in points if data.x_value(p, x) is not None]
        on = [p for p in have if p["id"] in overall]
        assert on
        for p in on:
            assert not any(q[x] <= p[x] and q["top1"] >= p["top1"]
                           and (q[x] < p[x] or q["top1"] > p["top1"]) for q in have)
        for fam, ids in per_family.items():
            assert ids and all(any(p["id"] == i and p["family"] == fam for p in have) for i in ids)


def test_frontier_figure(ws):
    points, _ = data.frontier_points(ws)
    fig = data.frontier_figure(points, "madds", True)
    assert fig["layout"]["xaxis"]["type"] == "log"
    assert fig["layout"]["xaxis"]["title"]["text"].startswith("MAdds")
    assert fig["layout"]["yaxis"]["title"]["text"] == "ImageNet top-1 accuracy (%)"
    markers = [t for t in fig["data"] if t["mode"] == "markers"]
    assert sum(len(t["x"]) for t in markers) == len(points)
    assert any(t["name"] == "Pareto front (all families)" for t in fig["data"])
    v2 = [t for t in markers if t["name"] == "MobileNetV2"][0]
    assert v2["marker"]["color"] == data.FAMILY_COLORS["MobileNetV2"]
    assert all(cd[0].startswith("file:") for cd in v2["customdata"])
    assert any("source: Sandler et al. 2018" in t for t in v2["text"])
    lin = data.frontier_figure(points, "pixel1_ms", False, ())
    assert lin["layout"]["xaxis"]["type"] == "linear"
    assert not any(t["mode"] == "lines" for t in lin["data"])
    assert sum(len(t["x"]) for t in lin["data"]) == sum(1 for p in points if "pixel1_ms" in p)
    json.dumps(fig)


def test_frontier_view_and_conventions(ws):
    fig, summary, table = dash_app.frontier_view(ws, "madds", "log", ["overall"], "tf-slim")
    points, _ = data.frontier_points(ws, "tf-slim")
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
    w = data.Workspace(SPECS, db_path, wait_for_compile=True)
    points, notes = data.frontier_points(w)
    label = "cpu: Test CPU · fp32 · batch 1"
    got = {(p["width"], p["resolution"]): p["measured"].get(label) for p in points
           if p["spec"] == "mobilenet_v2.yaml" and p["measured"]}
    assert got == {("0.75", 160): pytest.approx(12.3), ("0.5", 160): pytest.approx(7.0)}
    assert {"label": f"Measured latency ({label})", "value": f"measured:{label}"} in data.x_options(points)
    fig = data.frontier_figure(points, f"measured:{label}", False)
    assert sum(len(t["x"]) for t in fig["data"] if t["mode"] == "markers") == 2
    assert fig["layout"]["xaxis"]["title"]["text"].startswith("measured latency (ms")


def test_a_broken_results_db_is_a_note_not_a_crash(tmp_path):
    bad = tmp_path / "results.sqlite"
    bad.write_bytes(b"not a database at all")
    w = data.Workspace(SPECS, bad)
    points, notes = data.frontier_points(w)
    assert points and any("not an SQLite database" in n for n in notes)
    assert bad.read_bytes() == b"not a database at all"


def test_navigate_from_a_frontier_click(ws):
    points, _ = data.frontier_points(ws)
    fig = data.frontier_figure(points, "madds")
    sh = [t for t in fig["data"] if t.get("name") == "ShuffleNetV1"][0]
    i = [k for k, cd in enumerate(sh["customdata"]) if cd[3] == {"groups": "8"}][0]
    click = {"points": [{"customdata": sh["customdata"][i]}]}
    tab, source, width, res, _, request = dash_app.navigate(ws, "frontier-graph", click)
    assert (tab, source, res) == ("designer", "file:shufflenet_v1.yaml", 224)
    assert request == {"source": "file:shufflenet_v1.yaml", "sets": {"groups": "8"}}
    p = data.designer_payload(ws, source, width, res, sets=request["sets"])
    pt = [p for p in points if p["id"] == sh["customdata"][i][4]][0]
    assert p["madds_exact"] == pt["madds"]
    for junk in (None, {}, {"points": []}, {"points": [{"x": 1}]},
                 {"points": [{"customdata": ["path:/etc/passwd", 1, 224, {}, 0]}]}):
        assert dash_app.navigate(ws, "frontier-graph", junk) == (dash_app.no_update,) * 6


# -- compare ---------------------------------------------------------------------------------------
def test_compare_defaults_and_ratios(ws):
    slots = [{"spec": f"file:{k}", "width": 1, "resolution": None} for k in data.DEFAULT_COMPARE]
    entries, errors = data.compare_entries(ws, slots + [{"spec": None}])
    assert errors == [] and [e.label for e in entries] == ["MobileNetV1", "MobileNetV2", "ShuffleNetV1"]
    t = data.compare_table(entries)
    madds = [r for r in t["rows"] if r["metric"] == "MAdds"][0]["cells"]
    v1 = reference(SPECS / "mobilenet_v1.yaml", "1", 224).totals["madds"]
    v2 = reference(SPECS / "mobilenet_v2.yaml", "1", 224).totals["madds"]
    assert madds[0]["exact"] == f"{v1:,}" and madds[1]["value"] == "300.8M"
    assert madds[1]["ratio"] == f"×{v2 / v1:.2f}" and madds[0]["ratio"] == ""
    m = data.compare_memory(entries)
    assert m["rows"][0]["size"] == "112x112"
    csv = data.compare_csv(entries)
    assert [x for x in csv.splitlines() if not x.startswith("#")][0] == "metric,MobileNetV1,MobileNetV2,ShuffleNetV1"
    assert f"madds,{v1},{v2}," in csv and "memory_max_bytes" in csv


def test_compare_points_and_bad_slots(ws):
    slots = [{"spec": "file:mobilenet_v2.yaml", "width": 1.4, "resolution": 192},
             {"spec": "file:../pyproject.toml", "width": 1, "resolution": None},
             {"spec": "file:mobilenet_v2.yaml", "width": "0.35@x,1", "resolution": "96,1"}]
    entries, errors = data.compare_entries(ws, slots, "paper", "fp16")
    assert len(entries) == 2 and len(errors) == 1 and "no spec named" in errors[0]
    ref = reference(SPECS / "mobilenet_v2.yaml", "1.4", 192, dtype="fp16")
    assert entries[0].table.totals == ref.totals
    assert entries[0].label == "MobileNetV2 1.4x @192"
    metrics, memory, fig, err = dash_app.compare_view(ws, slots)
    assert err is not None and fig["data"]


def test_compare_download(ws):
    slots = [{"spec": "file:mobilenet_v2.yaml", "width": 1, "resolution": None}]
    out = dash_app.compare_download(ws, slots)
    assert out["filename"] == "archcalc-compare.csv" and out["content"].startswith("# archcalc_version: ") and "\nmetric," in out["content"]
    assert dash_app.compare_download(ws, [{"spec": None}]) is dash_app.no_update


def test_compare_slots_from_flat_values():
    assert dash_app.compare_slots(["file:a", 1, None, None, None, None]) == [
        {"spec": "file:a", "width": 1, "resolution": None},
        {"spec": None, "width": None, "resolution": None}]


# -- spec editor: pasted and uploaded specs --------------------------------------------------------
def test_a_valid_pasted_spec_is_checked_and_kept(ws):
    result = ws.check_text(MINI, "mini.yaml")
    assert result.ok and result.name == "mini" and result.source.startswith("user:")
    direct = archcalc.evaluate(archcalc.parse_spec(MINI))
    assert result.totals == direct.totals and result.ops == len(direct.rows)
    p = data.designer_payload(ws, result.source, 0.5, 96)
    ref = archcalc.evaluate(archcalc.parse_spec(MINI), "0.5", 96)
    assert p["madds_exact"] == ref.totals["madds"]
    assert {"label": "mini  ·  your spec (mini.yaml)", "value": result.source} in ws.user_options()
    # parameters of a pasted spec are re-checked in the sandbox before they are applied
    p = data.designer_payload(ws, result.source, 1, 64, sets={"blocks": "3"})
    ref = archcalc.evaluate(archcalc.parse_spec(MINI, overrides={"blocks": "3"}), "1", 64)
    assert p["madds_exact"] == ref.totals["madds"]
    p = data.designer_payload(ws, result.source, 1, 64, sets={"blocks": "9"})
    assert p["error"] and "blocks" in p["error"]
    # and it can be compared
    entries, errors = data.compare_entries(ws, [{"spec": result.source, "width": 1}])
    assert errors == [] and entries[0].table.totals == direct.totals
    # closed forms of a pasted spec come from the sandbox
    forms = data.formula_text(ws, result.source)
    assert "madds" in forms["text"]


def test_a_spatial_size_that_vanishes_is_shown_not_raised(ws):
    text = MINI.replace("{op: conv, c: 16, k: 3, s: 2, act: relu6}",
                        "{op: conv, c: 16, k: 33, s: 1, padding: valid, act: relu6}")
    result = ws.check_text(text, "valid.yaml")
    assert result.ok
    p = data.designer_payload(ws, result.source, 1, 32)
    assert p["error"] and "vanishes" in p["error"]
    assert p["layer_figure"]["data"] == []


BAD_CASES = [
    ("c: 16, n: $blocks", "c: -16, n: $blocks", "c: -16", "must be a positive integer"),
    ("{op: avgpool, global: true}", "{op: avgpool, global: true, strde: 2}", "strde", "strde"),
    ("    - {op: fc, c: $num_classes}", "    - {op: fc, c: $num_classes", "op: fc", "YAML"),
    ("name: mini", "name: mini\nsource: !!python/object/apply:os.system ['true']", "os.system",
     "tags"),
]


@pytest.mark.parametrize("old, new, marker, words", BAD_CASES)
def test_a_bad_spec_names_its_line(ws, old, new, marker, words):
    text = MINI.replace(old, new)
    assert text != MINI
    result = ws.check_text(text, "bad.yaml")
    assert not result.ok and words in result.message
    if words != "YAML":        # an unclosed flow mapping is reported where YAML notices it
        assert result.line == line_of(text, marker)
    assert result.message.startswith("<bad.yaml>:")
    status = dash_app.editor_status(text, result)
    assert status.id == "editor-error"


def test_the_error_context_marks_the_line():
    text = "a\nb\nc\nd\ne\nf\ng\nh"
    ctx = data.error_context(text, 5, around=2)
    assert [c["number"] for c in ctx] == [3, 4, 5, 6, 7]
    assert [c["error"] for c in ctx] == [False, False, True, False, False]
    assert data.error_context(text, None) == []


def test_size_limits_before_any_parsing(ws, monkeypatch):
    calls = []
    monkeypatch.setattr(ws, "sandbox", type("S", (), {"run": staticmethod(
        lambda *a, **k: calls.append(a) or {"ok": False, "message": "x"})}))
    big = MINI + "#" * data.MAX_SPEC_BYTES
    r = ws.check_text(big, "big.yaml")
    assert not r.ok and "too large" in r.message
    assert not ws.check_text("   \n", "empty.yaml").ok
    assert calls == []
    blob = base64.b64encode(b"x" * (data.MAX_SPEC_BYTES + 10)).decode()
    text, err = data.decode_upload(f"data:text/yaml;base64,{blob}")
    assert text is None and "too large" in err
    text, err = data.decode_upload("data:text/yaml;base64," + base64.b64encode(b"\xff\xfe\x00").decode())
    assert text is None and "UTF-8" in err
    text, err = data.decode_upload("data:text/yaml;base64," + base64.b64encode(MINI.encode()).decode())
    assert err is None and text == MINI


def test_a_huge_network_is_stopped_in_the_sandbox(ws, monkeypatch):
    monkeypatch.setattr(data, "CHECK_TIMEOUT_S", 3.0)
    huge = V2.replace("n: 4", "n: 100000000", 1)
    assert huge != V2
    t0 = time.perf_counter()
    result = ws.check_text(huge, "huge.yaml")
    assert time.perf_counter() - t0 < 120         # a guard against a hang, not a speed check
    assert not result.ok and ("longer than" in result.message or "memory" in result.message
                              or "MAX_REPEATS" in result.message)   # archcalc.limits, at load
    # the server is still fine
    assert data.designer_payload(ws, "file:mobilenet_v2.yaml", 1, 224)["madds_exact"] == 300774272


def test_the_graph_size_limit(ws, monkeypatch):
    monkeypatch.setattr(data, "MAX_GRAPH_OPS", 100)
    result = ws.check_text(V2 + "\n# a different text\n", "v2.yaml")
    assert not result.ok and "152 ops" in result.message and "at most 100" in result.message


def test_deeply_nested_yaml_is_an_error(ws):
    result = ws.check_text("name: x\nlayers: " + "[" * 3000 + "]" * 3000, "deep.yaml")
    assert not result.ok


def test_editor_check_paths(ws):
    status, text, source = dash_app.editor_check(ws, "editor-check", MINI)
    assert source and source.startswith("user:") and status.id == "editor-ok-text"
    assert text is dash_app.no_update
    status, text, source = dash_app.editor_check(ws, "editor-example", "", example="mobilenet_v1.yaml")
    assert source and text == (SPECS / "mobilenet_v1.yaml").read_text()
    upload = "data:text/yaml;base64," + base64.b64encode(MINI.replace("c: 16, n", "c: 0, n").encode()).decode()
    status, text, source = dash_app.editor_check(ws, "editor-upload", "", upload, "../../etc/evil.yaml")
    assert source is None and status.id == "editor-error"
    assert "<evil.yaml>:" in status.children[1].children          # no directories from the browser
    status, text, source = dash_app.editor_check(ws, "editor-example", "", example="../pyproject.toml")
    assert source is None


def test_navigate_from_the_editor_and_designer(ws):
    out = dash_app.navigate(ws, "editor-open", None, "user:abc")       # gone: still navigates
    assert out[0] == "designer" and out[1] == "user:abc"
    source = ws.check_text(MINI, "mini.yaml").source
    out = dash_app.navigate(ws, "editor-open", None, source)
    assert out[:4] == ("designer", source, 1.0, 64)           # the spec's own resolution
    assert dash_app.navigate(ws, "designer-own")[0] == "editor"
    assert dash_app.navigate(ws, "editor-open", None, None) == (dash_app.no_update,) * 6


def test_user_specs_are_bounded(monkeypatch):
    w = data.Workspace(SPECS)
    monkeypatch.setattr(data, "MAX_USER_SPECS", 2)
    sources = [w.check_text(MINI.replace("name: mini", f"name: mini{i}"), f"m{i}.yaml").source
               for i in range(3)]
    assert all(sources)
    assert [o["value"] for o in w.user_options()] == sources[1:]
    p = data.designer_payload(w, sources[0], 1, 64)
    assert "paste it again" in p["error"]


# -- the app -------------------------------------------------------------------------------------
def test_the_app_serves_its_layout(ws):
    app = dash_app.create_app(SPECS, workspace=ws)
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").get_data(as_text=True)
    for cid in ("frontier-graph", "designer-width", "designer-resolution", "compare-table",
                "editor-text", "editor-upload"):
        assert f'"{cid}"' in layout
    assert str(SPECS) not in layout
    deps = json.loads(client.get("/_dash-dependencies").get_data(as_text=True))
    assert len(deps) >= 9
    assert client.get("/assets/style.css").status_code == 200


def test_a_designer_update_through_the_server(ws):
    """One slider move as the browser sends it (Dash's JSON protocol)."""
    app = dash_app.create_app(SPECS, workspace=ws)
    client = app.server.test_client()
    client.get("/")
    deps = json.loads(client.get("/_dash-dependencies").get_data(as_text=True))
    dep = [d for d in deps if "designer-cards.children" in d["output"]][0]
    values = {"designer-spec": "file:mobilenet_v2.yaml", "designer-width": 0.5,
              "designer-resolution": 128, "designer-convention": "paper", "designer-dtype": "fp32"}
    inputs = []
    for i in dep["inputs"]:
        if not i["id"].startswith("{"):
            inputs.append({"id": i["id"], "property": i["property"], "value": values[i["id"]]})
        else:
            inputs.append([])
    body = {"output": dep["output"], "outputs": [
        {"id": o.split(".")[0], "property": o.split(".")[1]}
        for o in dep["output"].strip(".").split("...")],
        "inputs": inputs, "state": [[]], "changedPropIds": ["designer-width.value"]}
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    ref = reference(SPECS / "mobilenet_v2.yaml", "0.5", 128)
    assert f"{ref.totals['madds']:,}" in text


def test_loopback_detection_and_warning(monkeypatch, capsys):
    assert dash_app.is_loopback("127.0.0.1") and dash_app.is_loopback("::1")
    assert dash_app.is_loopback("localhost") and dash_app.is_loopback("127.0.0.2")
    assert not dash_app.is_loopback("0.0.0.0") and not dash_app.is_loopback("192.168.1.4")
    ran = []

    class Fake:
        archcalc_workspace = type("W", (), {"catalog": type("C", (), {"dir": SPECS})})

        def run(self, **kw):
            ran.append(kw)

    monkeypatch.setattr(dash_app, "create_app", lambda specs, db: Fake())
    dash_app.main("0.0.0.0", 8123, str(SPECS), None)
    err = capsys.readouterr().err
    assert "WARNING" in err and "0.0.0.0:8123" in err
    assert ran == [{"host": "0.0.0.0", "port": 8123, "debug": False}]
    dash_app.main("127.0.0.1", 8124, str(SPECS), None)
    assert "WARNING" not in capsys.readouterr().err


def test_the_command_registers_and_imports_dash_lazily():
    code = ("import argparse, sys\n"
            "from dashboard.commands import add_commands\n"
            "p = argparse.ArgumentParser(); s = p.add_subparsers(dest='command')\n"
            "add_commands(s)\n"
            "a = p.parse_args(['dashboard'])\n"
            "assert (a.host, a.port, a.specs, a.db) == ('127.0.0.1', 8050, None, None), a\n"
            "a = p.parse_args(['dashboard', '--host', '0.0.0.0', '--port', '9000', '--specs', 'x', '--db', 'y'])\n"
            "assert (a.host, a.port, a.specs, a.db) == ('0.0.0.0', 9000, 'x', 'y')\n"
            "assert callable(a.run)\n"
            "assert 'dash' not in sys.modules and 'plotly' not in sys.modules\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_a_bad_specs_folder_is_an_error():
    with pytest.raises(archcalc.ArchcalcError):
        data.Workspace(REPO / "no-such-folder")


# -- the slider's path (speed: benchmarks/dashboard_callbacks.py; here a hang guard only) --------
@pytest.mark.parametrize("key", ["mobilenet_v2.yaml", "nasnet_a_mobile.yaml"])
def test_slider_moves_are_fast(ws, key, monkeypatch):
    """A slider move on a zoo spec is read off the lambdified evaluator in the request's own
    thread: no archcalc.evaluate, no pool job, no sandbox child, except at points where the
    evaluator says its closed forms do not apply."""
    source = f"file:{key}"
    dash_app.designer_view(ws, source, 1, 224)          # evaluator built, caches warm
    ev = ws.layer_evaluator(source)
    jobs = []
    real_call = ws.work.call
    monkeypatch.setattr(ws.work, "call", lambda *a, **k: jobs.append(a[0]) or real_call(*a, **k))
    monkeypatch.setattr(ws, "sandbox", None)            # any child would fail loudly
    times, expected_jobs = [], 0
    for i, w in enumerate([0.3, 0.45, 0.6, 0.8, 0.95, 1.1, 1.25, 1.45, 1.6, 1.85]):
        r = 100 + 17 * i
        expected_jobs += ev.at(data.width_text(w), r) is None
        t0 = time.perf_counter()
        out = dash_app.designer_view(ws, source, w, r)
        times.append(time.perf_counter() - t0)
        assert out[4] is None                           # no error banner
    assert len(jobs) == expected_jobs < 10, jobs
    assert statistics.median(times) < 10, times         # a guard against a hang
