"""The dashboard in a real headless Chromium (dash's testing plugin: the `dash_duo` fixture).

Needs `pip install "dash[testing]"` and Debian's `chromium` + `chromium-driver`
(`apt-get install chromium chromium-driver`); skipped only when those are missing.
Browser options come from tests/conftest.py (`pytest_setup_options`): headless, no sandbox,
no background networking. Run: `pytest tests/test_dashboard_e2e.py --headless`.

Each view is loaded and saved as <view>.png in $ARCHCALC_SCREENSHOTS (regenerate the ones
the README and docs/dashboard.md show with `ARCHCALC_SCREENSHOTS=docs/screenshots pytest
tests/test_dashboard_e2e.py`), else in a temporary folder, so a test run leaves the
checkout as it found it. Expected numbers come from archcalc.evaluate at the point the
page shows, i.e. what `archcalc report` prints there.
"""
from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import dash  # noqa: E402,F401  (dash[testing] is in the test extra)
import selenium  # noqa: E402,F401


def chromium_binary():
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome",
                                                 "google-chrome-stable"))), None)


_NO_BROWSER = chromium_binary() is None or shutil.which("chromedriver") is None
if _NO_BROWSER and os.environ.get("ARCHCALC_REQUIRE_BROWSER"):
    # CI installs Chromium (.ci/run) and sets this: there a missing browser is a failure
    raise RuntimeError("ARCHCALC_REQUIRE_BROWSER is set but chromium/chromedriver are missing")
pytestmark = pytest.mark.skipif(
    _NO_BROWSER, reason="needs Chromium and chromedriver (apt-get install chromium chromium-driver)")

import archcalc                                       # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By           # noqa: E402
from selenium.webdriver.common.keys import Keys       # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from dashboard.views import frontier                 # noqa: E402
from dashboard.workspace import MAX_SPEC_BYTES, Workspace   # noqa: E402
from dashboard.app import create_app                  # noqa: E402

SPECS = REPO / "specs"
SHOTS = Path(os.environ.get("ARCHCALC_SCREENSHOTS")
             or Path(tempfile.gettempdir()) / f"archcalc-screenshots-{os.getpid()}")
V2 = SPECS / "mobilenet_v2.yaml"
WIDTH, HEIGHT = 1440, 1000

# One workspace for the module: the frontier's costs and the lambdified evaluators are
# compiled once (create_app itself is exercised by the first test).
_WS: list = []


def workspace():
    if not _WS:
        _WS.append(Workspace(SPECS, SPECS / "no-results.sqlite", wait_for_compile=True))
    return _WS[0]


# Every wait below is a guard against a hang, generous for a busy 2-core machine (a sandbox
# child, the frontier's closed forms or a lambdify can take seconds there), never a speed
# check: benchmarks/dashboard_callbacks.py and dashboard_load.py measure speed.
WAIT = 120


def until(dash_duo, predicate, timeout=WAIT, what="condition"):
    return WebDriverWait(dash_duo.driver, timeout).until(lambda d: predicate(), message=what)


def text_of(dash_duo, selector) -> str:
    try:
        return dash_duo.driver.find_element(By.CSS_SELECTOR, selector).text
    except Exception:   # noqa: BLE001  (not rendered yet)
        return ""


def open_tab(dash_duo, name):
    dash_duo.find_element(f"#tab-{name}").click()
    until(dash_duo, lambda: "tab-selected" in (dash_duo.find_element(f"#tab-{name}")
                                                .get_attribute("class") or ""), what=f"tab {name}")


def screenshot(dash_duo, name):
    """A full-page PNG in docs/screenshots (the window grows to the page's height)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    d = dash_duo.driver
    d.execute_script("window.scrollTo(0, 0)")
    height = d.execute_script("return Math.max(document.body.scrollHeight, "
                              "document.documentElement.scrollHeight)")
    d.set_window_size(WIDTH, min(int(height) + 120, 4000))
    time.sleep(1.0)                       # plotly re-lays out after the resize
    path = SHOTS / f"{name}.png"
    d.save_screenshot(str(path))
    d.set_window_size(WIDTH, HEIGHT)
    assert path.stat().st_size > 20_000
    return path


def start(dash_duo, app=None):
    # The shared workspace (and its worker threads) must exist before any server starts:
    # dash's runner stops a server by raising SystemExit into every thread started after it.
    workspace()
    dash_duo.wait_timeout = WAIT             # dash_duo's own waits (10 s by default)
    dash_duo.driver.set_window_size(WIDTH, HEIGHT)
    dash_duo.start_server(app or create_app(SPECS, workspace=workspace()), start_timeout=WAIT)
    dash_duo.wait_for_element("#frontier-graph .scatterlayer .points path", timeout=WAIT)


def madds_shown(dash_duo) -> int:
    return int(text_of(dash_duo, "#metric-madds-exact").replace(",", ""))


def wait_for_designer(dash_duo, width: str | None = None):
    until(dash_duo, lambda: text_of(dash_duo, "#metric-madds-exact") != "", what="designer totals")
    if width is not None:
        until(dash_duo, lambda: text_of(dash_duo, "#designer-width-label") == width,
              what=f"width {width}")
    dash_duo.wait_for_element("#designer-layers .main-svg .barlayer", timeout=WAIT)


def no_browser_errors(dash_duo):
    errors = [e for e in dash_duo.get_logs() or [] if e.get("level") == "SEVERE"]
    assert errors == [], errors


# -- frontier ----------------------------------------------------------------------------------
def test_frontier_view(dash_duo):
    start(dash_duo, create_app(SPECS, SPECS / "no-results.sqlite"))
    points, _ = frontier.frontier_points(workspace())
    until(dash_duo, lambda: len(dash_duo.find_elements(
        "#frontier-graph .scatterlayer .points path")) == len(points), what="every point drawn")
    assert "published checkpoints" in text_of(dash_duo, "#frontier-summary")
    xtitle = text_of(dash_duo, "#frontier-graph .xtitle")
    assert xtitle.startswith("MAdds") and "log scale" in xtitle
    assert text_of(dash_duo, "#frontier-graph .ytitle") == "ImageNet top-1 accuracy (%)"
    legend = text_of(dash_duo, "#frontier-graph .legend")
    for fam in ("MobileNetV1", "MobileNetV2", "ShuffleNetV1", "NASNet-A-Mobile", "MobileNetV3-Large",
                "MobileNetV3-Small", "ShuffleNetV2", "EfficientNet-B0", "Pareto front"):
        assert fam in legend
    rows = dash_duo.find_elements("#frontier-table tbody tr")
    assert len(rows) >= 5
    screenshot(dash_duo, "frontier")
    # another axis, linear
    dash_duo.select_dcc_dropdown("#frontier-x", index=1)          # parameters
    until(dash_duo, lambda: text_of(dash_duo, "#frontier-graph .xtitle").startswith("parameters"),
          what="x axis switched")
    dash_duo.find_element("#frontier-scale input[value=linear]").click()
    until(dash_duo, lambda: "log" not in text_of(dash_duo, "#frontier-graph .xtitle"),
          what="linear axis")
    no_browser_errors(dash_duo)


def test_frontier_task_selector(dash_duo):
    """Detection (COCO mAP, MobileNetV2 Table 6) and segmentation (VOC mIOU, Table 7)."""
    start(dash_duo, create_app(SPECS, SPECS / "no-results.sqlite"))
    for index, task, fams in ((1, "coco_map", ("SSD300-VGG16", "YOLOv2", "SSDLite-MobileNetV2")),
                              (2, "voc_miou", ("DeepLabv3-MobileNetV1", "DeepLabv3-MobileNetV2"))):
        points, _ = frontier.frontier_points(workspace(), task=task)
        dash_duo.select_dcc_dropdown("#frontier-task", index=index)
        until(dash_duo, lambda: text_of(dash_duo, "#frontier-graph .ytitle")
              == frontier.TASKS[task][1], what=f"{task} axis")
        until(dash_duo, lambda: len(dash_duo.find_elements(
            "#frontier-graph .scatterlayer .points path")) == len(points), what="task points")
        legend = text_of(dash_duo, "#frontier-graph .legend")
        assert all(f in legend for f in fams)
        assert f"({frontier.TASKS[task][2]})" in text_of(dash_duo, "#frontier-summary")
        screenshot(dash_duo, f"frontier-{task}")
    no_browser_errors(dash_duo)


def _isolated_point(points):
    """The published point farthest from its neighbours on the default plot (log MAdds vs
    top-1), so a click on it cannot land on another."""
    xs = [math.log10(p["madds"]) for p in points]
    ys = [p["top1"] for p in points]
    xspan, yspan = max(xs) - min(xs), max(ys) - min(ys)

    def gap(i):
        return min(math.hypot((xs[i] - xs[j]) / xspan, (ys[i] - ys[j]) / yspan)
                   for j in range(len(points)) if j != i)
    return max(range(len(points)), key=gap)


def test_clicking_a_frontier_point_opens_it_in_the_designer(dash_duo):
    start(dash_duo)
    points, _ = frontier.frontier_points(workspace())
    target = points[_isolated_point(points)]
    fig = frontier.frontier_figure(points, "madds", True, ("family", "overall"))
    trace, index = [(k, j) for k, t in enumerate(fig["data"]) if t["mode"] == "markers"
                    for j, cd in enumerate(t["customdata"]) if cd[4] == target["id"]][0]
    traces = dash_duo.find_elements("#frontier-graph .scatterlayer > g.trace")
    assert len(traces) == len(fig["data"])
    path = traces[trace].find_elements(By.CSS_SELECTOR, ".points path")[index]
    ActionChains(dash_duo.driver).move_to_element(path).pause(0.3).click().perform()
    until(dash_duo, lambda: "tab-selected" in dash_duo.find_element("#tab-designer").get_attribute("class"),
          what="designer opened")
    wait_for_designer(dash_duo, target["width"])
    expected = (f"{target['family']} at width {target['width']}, resolution "
                f"{target['resolution']}×{target['resolution']}")
    # the designer may already show another spec at the same width: wait for the switch
    until(dash_duo, lambda: text_of(dash_duo, "#designer-title").startswith(expected),
          what=f"designer title {expected!r}")
    ref = archcalc.evaluate(str(SPECS / target["spec"]), target["width"], target["resolution"],
                            sets=target["sets"] or None)
    until(dash_duo, lambda: madds_shown(dash_duo) == ref.totals["madds"], what="designer MAdds")
    assert madds_shown(dash_duo) == target["madds"]
    no_browser_errors(dash_duo)


def test_a_shufflenet_point_opens_with_its_group_count(dash_duo):
    """A point's parameters (ShuffleNet's g) travel with the click (the request the click
    callback stores), so the designer's MAdds are that checkpoint's."""
    start(dash_duo)
    points, _ = frontier.frontier_points(workspace())
    sh = [p for p in points if p["family"] == "ShuffleNetV1" and p["sets"] == {"groups": "8"}
          and p["width"] == "0.5"][0]
    # drive the same path a click takes: clickData -> navigate -> designer
    dash_duo.driver.execute_script(
        "const gd = document.querySelector('#frontier-graph .js-plotly-plot');"
        "const tr = gd.data.findIndex(t => t.mode === 'markers' && t.customdata && "
        "  t.customdata.some(c => c[4] === arguments[0]));"
        "const pi = gd.data[tr].customdata.findIndex(c => c[4] === arguments[0]);"
        "gd.emit('plotly_click', {points: [{curveNumber: tr, pointNumber: pi, pointIndex: pi, "
        "  customdata: gd.data[tr].customdata[pi], x: gd.data[tr].x[pi], y: gd.data[tr].y[pi], "
        "  data: gd.data[tr], fullData: gd._fullData[tr]}], event: {}});", sh["id"])
    wait_for_designer(dash_duo, "0.5")
    until(dash_duo, lambda: madds_shown(dash_duo) == sh["madds"], what="g=8 MAdds")
    ref = archcalc.evaluate(str(SPECS / "shufflenet_v1.yaml"), "0.5", 224, sets={"groups": "8"})
    assert madds_shown(dash_duo) == ref.totals["madds"]


# -- designer ----------------------------------------------------------------------------------
def test_designer_sliders_match_archcalc_report(dash_duo):
    start(dash_duo)
    open_tab(dash_duo, "designer")
    wait_for_designer(dash_duo, "1")
    assert madds_shown(dash_duo) == 300774272
    assert text_of(dash_duo, "#metric-madds") == "300.8M"
    dash_duo.wait_for_element("#designer-memory .main-svg .scatterlayer", timeout=WAIT)
    dash_duo.wait_for_element("#designer-formula-text", timeout=WAIT)
    assert "madds =" in text_of(dash_duo, "#designer-formula-text")
    screenshot(dash_duo, "designer")

    thumb = dash_duo.find_element("#designer-width [role=slider]")
    thumb.click()
    seen = []
    for _ in range(5):                     # five steps of 0.05 down: 1 -> 0.75
        thumb.send_keys(Keys.ARROW_LEFT)
        time.sleep(0.15)
    wait_for_designer(dash_duo, "0.75")
    res_thumb = dash_duo.find_element("#designer-resolution [role=slider]")
    res_thumb.click()
    for _ in range(4):                     # 224 -> 220
        res_thumb.send_keys(Keys.ARROW_LEFT)
    until(dash_duo, lambda: text_of(dash_duo, "#designer-resolution-label") == "220 × 220 px",
          what="resolution 220")
    for width, res in (("0.75", 220),):
        ref = archcalc.evaluate(str(V2), width, res)
        until(dash_duo, lambda: madds_shown(dash_duo) == ref.totals["madds"],
              what=f"MAdds at {width}, {res}")
        seen.append((width, res, madds_shown(dash_duo)))
        assert text_of(dash_duo, "#metric-params-exact") == f"{ref.totals['params']:,}"
    # and a spec with another structure, through the spec dropdown
    index = [o["value"] for o in workspace().catalog.options()].index("file:nasnet_a_mobile.yaml")
    dash_duo.select_dcc_dropdown("#designer-spec", index=index)
    until(dash_duo, lambda: text_of(dash_duo, "#designer-title").startswith("NASNet-A-Mobile"),
          what="NASNet selected")
    ref = archcalc.evaluate(str(SPECS / "nasnet_a_mobile.yaml"), "0.75", 220)
    until(dash_duo, lambda: madds_shown(dash_duo) == ref.totals["madds"], what="NASNet MAdds")
    no_browser_errors(dash_duo)


# -- compare -----------------------------------------------------------------------------------
def test_compare_view_and_csv(dash_duo):
    start(dash_duo)
    open_tab(dash_duo, "compare")
    dash_duo.wait_for_element("#compare-metrics", timeout=WAIT)
    header = text_of(dash_duo, "#compare-metrics thead")
    for name in ("MobileNetV1", "MobileNetV2", "ShuffleNetV1"):
        assert name in header
    body = text_of(dash_duo, "#compare-metrics tbody")
    assert "300.8M" in body and "×0.53" in body
    assert "112x112" in text_of(dash_duo, "#compare-memory-table")
    dash_duo.wait_for_element("#compare-memory-graph .main-svg .barlayer", timeout=WAIT)
    screenshot(dash_duo, "compare")
    dash_duo.find_element("#compare-download-btn").click()
    target = Path(dash_duo.download_path) / "archcalc-compare.csv"
    until(dash_duo, target.exists, what="CSV downloaded")
    csv = target.read_text()
    lines = csv.splitlines()
    assert lines[0].startswith("# ")                     # provenance comment lines first
    assert [ln for ln in lines if not ln.startswith("#")][0] == \
        "metric,MobileNetV1,MobileNetV2,ShuffleNetV1"
    assert ",300774272," in csv
    no_browser_errors(dash_duo)


# -- spec editor -------------------------------------------------------------------------------
BAD = """\
name: broken
input: {channels: 3, resolution: 64}
layers:
  stem:
    - {op: conv, c: 16, k: 3, s: 2}
  body:
    - {op: bottleneck, t: 6, c: 24, n: 2, strde: 2}
  classifier:
    - {op: fc, c: 10}
"""
GOOD = BAD.replace("strde: 2", "s: 2").replace("name: broken", "name: tiny")


def test_uploading_a_bad_spec_shows_the_error_with_its_line(dash_duo, tmp_path):
    start(dash_duo)
    open_tab(dash_duo, "editor")
    bad = tmp_path / "broken.yaml"
    bad.write_text(BAD)
    line = [i + 1 for i, t in enumerate(BAD.splitlines()) if "strde" in t][0]
    dash_duo.find_element("#editor-upload input[type=file]").send_keys(str(bad))
    dash_duo.wait_for_element("#editor-error-message", timeout=WAIT)
    msg = text_of(dash_duo, "#editor-error-message")
    assert msg.startswith(f"<broken.yaml>:{line}:") and "strde" in msg and "'s'" in msg
    assert text_of(dash_duo, "#editor-error .status-title") == f"✕ Error at line {line}"
    marked = text_of(dash_duo, "#editor-error .error-line")
    assert marked.split()[0] == str(line) and "strde" in marked
    assert dash_duo.find_element("#editor-text").get_attribute("value") == BAD
    assert dash_duo.find_element("#editor-open").get_attribute("disabled")
    screenshot(dash_duo, "editor")
    no_browser_errors(dash_duo)


def test_pasting_a_spec_then_opening_it_in_the_designer(dash_duo):
    start(dash_duo)
    open_tab(dash_duo, "editor")
    area = dash_duo.find_element("#editor-text")
    area.send_keys(BAD.replace("n: 2", "n: 0"))
    dash_duo.find_element("#editor-check").click()
    dash_duo.wait_for_element("#editor-error-message", timeout=WAIT)
    line = [i + 1 for i, t in enumerate(BAD.splitlines()) if "n: 2" in t][0]
    until(dash_duo, lambda: text_of(dash_duo, "#editor-error-message").startswith(f"<pasted>:{line}:"),
          what="first error")
    # fix it: select all, paste the good spec
    area.send_keys(Keys.CONTROL, "a")
    area.send_keys(Keys.DELETE)
    area.send_keys(GOOD)
    dash_duo.find_element("#editor-check").click()
    dash_duo.wait_for_element("#editor-ok-text", timeout=WAIT)
    assert "tiny is a valid spec" in text_of(dash_duo, "#editor-ok-text")
    until(dash_duo, lambda: not dash_duo.find_element("#editor-open").get_attribute("disabled"),
          what="open enabled")
    dash_duo.find_element("#editor-open").click()
    wait_for_designer(dash_duo, "1")
    until(dash_duo, lambda: text_of(dash_duo, "#designer-title").startswith("tiny at width 1"),
          what="pasted spec in the designer")
    ref = archcalc.evaluate(archcalc.parse_spec(GOOD))
    assert madds_shown(dash_duo) == ref.totals["madds"]
    no_browser_errors(dash_duo)


def test_a_hostile_spec_does_not_break_the_page(dash_duo, tmp_path):
    start(dash_duo)
    open_tab(dash_duo, "editor")
    hostile = tmp_path / "bomb.yaml"
    hostile.write_text("name: bomb\nlayers: " + "[" * 5000 + "]" * 5000 + "\n")
    dash_duo.find_element("#editor-upload input[type=file]").send_keys(str(hostile))
    dash_duo.wait_for_element("#editor-error-message", timeout=WAIT)
    assert "bomb.yaml" in text_of(dash_duo, "#editor-error-message")
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (MAX_SPEC_BYTES + 100) + "\n")
    dash_duo.find_element("#editor-upload input[type=file]").send_keys(str(big))
    until(dash_duo, lambda: "too large" in text_of(dash_duo, "#editor-error-message"),
          what="size limit")
    open_tab(dash_duo, "designer")
    wait_for_designer(dash_duo)
    assert madds_shown(dash_duo) > 0
    no_browser_errors(dash_duo)
