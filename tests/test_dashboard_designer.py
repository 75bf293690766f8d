"""The dashboard's designer without a browser: slider values, the catalog, the lambdified
per-layer evaluator, the designer's payload and view, its closed forms, the slider's path.

Numbers are checked against archcalc's own point evaluation (`archcalc.evaluate`, what
`archcalc report` prints): the dashboard must show archcalc's numbers. That archcalc's numbers
are right is checked independently in tests/test_dashboard_numbers.py (hand-derived values,
published figures, PyTorch's counts).
"""
from __future__ import annotations

import json
import statistics
import time

import pytest

pytest.importorskip("dash")

import archcalc                                   # noqa: E402
from archcalc import limits                       # noqa: E402
from archcalc.numbers import count_text           # noqa: E402
from archcalc.report.units import human_bytes, human_count   # noqa: E402
from dashboard import colors, controls            # noqa: E402
from dashboard.layout import designer as designer_tab   # noqa: E402
from dashboard.views import designer, formulas, frontier   # noqa: E402
from dashboard.workspace import Workspace         # noqa: E402
from dashboard_fixtures import SPECS, reference, ws  # noqa: E402,F401  (ws: a fixture)


# -- small helpers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value, text", [(0.35000000000000003, "0.35"), (1.0, "1"), (1.4, "1.4"),
                                         (0.05, "0.1"), (7, "2"), ("x", "1"), (None, "1"),
                                         (float("nan"), "1"), (0.999, "1")])
def test_width_text_snaps_to_exact_decimals(value, text):
    assert controls.width_text(value) == text


@pytest.mark.parametrize("value, res", [(224, 224), (223.6, 224), (5, 32), (9000, 512),
                                        (None, 224), ("abc", 224), (float("inf"), 224)])
def test_resolution_is_clamped(value, res):
    assert controls.resolution_value(value) == res


def test_readable_numbers():
    """The formatters the dashboard shows numbers with (archcalc's, as `archcalc report`)."""
    assert human_count(300774272) == "300.8M"
    assert human_count(3470760) == "3.47M"
    assert human_bytes(6021120) == "6.02 MB"
    assert count_text(300774272) == "300,774,272"


def test_conventions_and_dtypes_are_archcalcs():
    """The menus list archcalc's one definition of each, labelled from its fields."""
    assert controls.CONVENTIONS == tuple(archcalc.CONVENTIONS) == (
        "paper", "torchvision", "tf-slim", "tf-deeplab", "fvcore", "ptflops", "thop", "torchinfo",
        "torchprofile")
    assert controls.DTYPES == tuple(archcalc.DTYPE_BYTES) == ("fp32", "fp16", "bf16", "int8")
    assert controls.convention_label("paper") == "paper (BN not counted)"
    assert controls.convention_label("torchvision") == "torchvision (BN counted, 1000 classes)"
    assert controls.convention_label("tf-slim") == "tf-slim (BN not counted, 1001 classes)"
    assert controls.convention_label("thop") == "thop (MAdds as thop counts, BN counted, 1000 classes)"
    assert controls.convention_label("tf-deeplab") == "tf-deeplab (BN counted)"


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
        ws.catalog.text(name)
    p = designer.designer_payload(ws, f"file:{name}", 1, 224)
    assert p["error"] and "no spec named" in p["error"]


def test_an_unknown_source_kind_is_an_error_not_a_crash(ws):
    for source in ("http://example.com/x.yaml", "path:/etc/passwd", "user:deadbeef"):
        p = designer.designer_payload(ws, source, 1, 224)
        assert p["error"]


def test_junk_from_the_browser_is_refused_and_caches_stay_bounded():
    w = Workspace(SPECS, wait_for_compile=True)
    for bad in ({"dtype": "fp64"}, {"convention": "mine"}, {"sets": {"num_classes": "9" * 500}}):
        kw = {"convention": "paper", "dtype": "fp32", "sets": None, **bad}
        p = designer.designer_payload(w, "file:mobilenet_v1.yaml", 1, 224, **kw)
        assert p["error"], bad
    with pytest.raises(archcalc.ArchcalcError):
        frontier.frontier_points(w, "mine")
    for n in range(1, 300):           # 299 parameter values: the caches keep their bounds
        w.spec("file:mobilenet_v1.yaml", {"num_classes": str(n)})
    assert len(w.spec_cache) <= 256
    w.evaluator_cache.maxsize = 3
    for n in range(6):
        p = designer.designer_payload(w, "file:mobilenet_v1.yaml", 1, 224, sets={"num_classes": str(n + 1)})
        assert p["madds_exact"] == reference(SPECS / "mobilenet_v1.yaml", "1", 224,
                                             sets={"num_classes": str(n + 1)}).totals["madds"]
    # new parameter values are checked in the sandbox and never lambdified in the server
    assert len(w.evaluator_cache) == 0 and len(w.table_cache) <= limits.DASHBOARD_CACHE_TABLES
    # the zoo's own configurations are; the evaluators' cache keeps its bound
    for convention, dtype in [(c, d) for c in ("paper", "torchvision", "tf-slim")
                              for d in ("fp32", "fp16")]:
        p = designer.designer_payload(w, "file:mobilenet_v1.yaml", 0.5, 160, convention, dtype)
        assert p["madds_exact"] == reference(SPECS / "mobilenet_v1.yaml", "0.5", 160,
                                             convention=convention, dtype=dtype).totals["madds"]
    assert len(w.evaluator_cache) == 3 and len(w.table_cache) <= limits.DASHBOARD_CACHE_TABLES


# -- the per-layer evaluator (archcalc.cost.Evaluator) ---------------------------------------------
WIDTHS = ["0.1", "0.25", "0.35", "0.5", "0.6", "0.75", "1", "1.3", "1.4", "2"]
RESOLUTIONS = [32, 96, 160, 224, 225, 320, 512]


def _table_or_error(fn):
    try:
        return fn()
    except archcalc.SpecError as err:
        return str(err)


@pytest.mark.parametrize("key", sorted(p.name for p in SPECS.glob("*.yaml")))
def test_layer_evaluator_equals_archcalc_evaluate(ws, key):
    """Every row (all seven metrics and the output shape) and every total equals the concrete
    compile, on a grid that includes widths where residual guards fire and points where the
    spec cannot be built (the same error there)."""
    ev = ws.layer_evaluator(f"file:{key}")
    assert ev is not None
    spec = ws.spec(f"file:{key}")
    built = 0
    for w in WIDTHS:
        for r in RESOLUTIONS:
            got = _table_or_error(lambda: ev.table(w, r))
            ref = _table_or_error(lambda: archcalc.evaluate(spec, w, r))
            if isinstance(ref, str):
                assert got == ref, (key, w, r)
                continue
            built += 1
            assert got.rows == ref.rows, (key, w, r)
            assert got.totals == ref.totals, (key, w, r)
            assert (got.width, got.resolution) == (ref.width, ref.resolution)
    # SSD's valid extra layers need inputs of about 268 pixels or more: 320 and 512 only
    assert built > len(WIDTHS) * len(RESOLUTIONS) // 2 or \
        (key.startswith("ssd") and "vgg16" in key and built == len(WIDTHS) * 2)


def test_workspace_table_matches_report_everywhere(ws):
    """What the designer shows is archcalc report's number, evaluator or fallback."""
    for key in ("mobilenet_v2.yaml", "ssd_mobilenet_v2.yaml"):
        for w in ("0.1", "0.35", "1", "1.4"):
            for r in (32, 160, 224):
                t = ws.table(f"file:{key}", w, r)
                ref = reference(SPECS / key, w, r)
                assert t.totals == ref.totals and t.rows == ref.rows


def test_evaluator_is_built_in_the_background_when_asked():
    fresh = Workspace(SPECS)
    assert fresh.layer_evaluator("file:mobilenet_v1.yaml", wait=False) is None
    t = fresh.table("file:mobilenet_v1.yaml", "0.5", 160)        # compiled meanwhile
    assert t.totals == reference(SPECS / "mobilenet_v1.yaml", "0.5", 160).totals
    assert fresh.layer_evaluator("file:mobilenet_v1.yaml", wait=True) is not None


# -- designer --------------------------------------------------------------------------------------
def test_designer_payload_at_the_paper_point(ws):
    p = designer.designer_payload(ws, "file:mobilenet_v2.yaml", 1.0, 224)
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
    p = designer.designer_payload(ws, "file:mobilenet_v2.yaml", width, res)
    ref = reference(SPECS / "mobilenet_v2.yaml", controls.width_text(width), res)
    assert p["madds_exact"] == ref.totals["madds"]
    assert {c["key"]: c["exact"] for c in p["cards"]}["params"] == f"{ref.totals['params']:,}"


def test_designer_figures_have_labelled_axes_and_op_colours(ws):
    p = designer.designer_payload(ws, "file:shufflenet_v1.yaml", 1, 224)
    fig = p["layer_figure"]
    titles = [fig["layout"][k]["title"]["text"] for k in ("yaxis", "yaxis2", "yaxis3", "xaxis")]
    assert titles == ["MAdds", "params", "output (fp32, bytes)", "layer (network order)"]
    kinds = {t["legendgroup"] for t in fig["data"]}
    assert {"conv", "pointwise", "grouped_pointwise", "depthwise", "shuffle", "fc"} <= kinds
    for t in fig["data"]:
        assert t["marker"]["color"] == colors.OP_COLORS[t["legendgroup"]]
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
    p = designer.designer_payload(ws, "file:shufflenet_v1.yaml", 1, 224, sets={"groups": "8"})
    ref = reference(SPECS / "shufflenet_v1.yaml", "1", 224, sets={"groups": "8"})
    assert p["madds_exact"] == ref.totals["madds"]
    p = designer.designer_payload(ws, "file:mobilenet_v2.yaml", 1, 224, sets={"groups": "8"})
    assert p["madds_exact"] == 300774272
    p = designer.designer_payload(ws, "file:shufflenet_v1.yaml", 1, 224, sets={"groups": "5"})
    assert p["error"] and "groups" in p["error"]


def test_designer_conventions_and_dtypes(ws):
    p = designer.designer_payload(ws, "file:mobilenet_v2.yaml", 1, 224, "torchvision", "fp16")
    ref = reference(SPECS / "mobilenet_v2.yaml", "1", 224, convention="torchvision", dtype="fp16")
    cards = {c["key"]: c["exact"] for c in p["cards"]}
    assert cards["params"] == "3,504,872" == f"{ref.totals['params']:,}"
    assert cards["peak_memory_bytes"] == f"{ref.totals['peak_memory_bytes']:,} bytes"


def test_designer_view_outputs(ws):
    out = designer_tab.designer_view(ws, "file:mobilenet_v2.yaml", 0.75, 160, "paper", "fp32",
                                 [None], [{"type": "param", "name": "num_classes"}])
    width_label, res_label, title, published, error, cards, f1, f2 = out
    assert (width_label, res_label, error) == ("0.75", "160 × 160 px", None)
    assert "69.8% top-1" in published.children or "66.4% top-1" in published.children
    madds = [c for c in cards if c.children[0].children == "MAdds"][0]
    assert madds.children[2].children == f"{reference(SPECS / 'mobilenet_v2.yaml', '0.75', 160).totals['madds']:,}"
    assert f1["data"] and f2["data"]


def test_designer_view_without_a_spec(ws):
    out = designer_tab.designer_view(ws, None, 1, 224)
    assert out[2] == "Choose a spec" and out[5] == []


def test_designer_params_controls(ws):
    ctl = designer_tab.designer_params(ws, "file:shufflenet_v1.yaml",
                                   {"source": "file:shufflenet_v1.yaml", "sets": {"groups": "8"}})
    by_name = {c.children[1].id["name"]: c.children[1] for c in ctl}
    assert set(by_name) == {"num_classes", "groups"}
    assert by_name["groups"].value == "8"
    assert [o["value"] for o in by_name["groups"].options] == ["1", "2", "3", "4", "8"]
    assert by_name["num_classes"].value == ""          # empty: the spec's (or convention's) default
    ctl = designer_tab.designer_params(ws, "file:shufflenet_v1.yaml",
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
    out = formulas.formula_text(ws, "file:mobilenet_v2.yaml")
    again = formulas.formula_text(ws, "file:mobilenet_v2.yaml")
    assert again is out and runs == ["forms"]          # computed once (in the sandbox)
    assert "madds = h2**2*(6*c16**2" in out["text"]
    assert "rho" in out["idealised"]
    assert str(SPECS) not in out["text"]                 # never the server's folders
    assert "zoo:mobilenet_v2" in out["text"] or "(mobilenet_v2.yaml)" in out["text"]
    view = designer_tab.forms_view(ws, "file:mobilenet_v2.yaml")
    assert any(getattr(c, "id", None) == "designer-formula-text" for c in view)


# -- the slider's path (speed: benchmarks/dashboard_callbacks.py; here a hang guard only) --------
@pytest.mark.parametrize("key", ["mobilenet_v2.yaml", "nasnet_a_mobile.yaml"])
def test_slider_moves_are_fast(ws, key, monkeypatch):
    """A slider move on a zoo spec is read off the evaluator in the request's own thread: no
    archcalc.evaluate, no pool job, no sandbox child, except at points where the spec cannot
    be built (the error is then reported as for any point)."""
    source = f"file:{key}"
    designer_tab.designer_view(ws, source, 1, 224)          # evaluator built, caches warm
    ev = ws.layer_evaluator(source)
    jobs = []
    real_call = ws.work.call
    monkeypatch.setattr(ws.work, "call", lambda *a, **k: jobs.append(a[0]) or real_call(*a, **k))
    monkeypatch.setattr(ws, "sandbox", None)            # any child would fail loudly
    times, expected_jobs = [], 0
    for i, w in enumerate([0.3, 0.45, 0.6, 0.8, 0.95, 1.1, 1.25, 1.45, 1.6, 1.85]):
        r = 100 + 17 * i
        expected_jobs += isinstance(
            _table_or_error(lambda: ev.table(controls.width_text(w), r)), str)
        t0 = time.perf_counter()
        out = designer_tab.designer_view(ws, source, w, r)
        times.append(time.perf_counter() - t0)
        assert out[4] is None                           # no error banner
    assert len(jobs) == expected_jobs < 10, jobs
    assert statistics.median(times) < 10, times         # a guard against a hang
