"""The dashboard's spec editor without a browser: pasted and uploaded specs are checked in
the sandbox, kept, bounded, and a bad one names its line."""
from __future__ import annotations

import base64
import time

import pytest

pytest.importorskip("dash")

from dash import no_update                        # noqa: E402

import archcalc                                   # noqa: E402
from dashboard import workspace                   # noqa: E402
from dashboard.layout import editor as editor_tab  # noqa: E402
from dashboard.layout import page                 # noqa: E402
from dashboard.views import compare, designer, editor, formulas   # noqa: E402
from dashboard.workspace import Workspace         # noqa: E402
from dashboard_fixtures import MINI, SPECS, V2, line_of, ws  # noqa: E402,F401  (ws: a fixture)


# -- spec editor: pasted and uploaded specs --------------------------------------------------------
def test_a_valid_pasted_spec_is_checked_and_kept(ws):
    result = ws.check_text(MINI, "mini.yaml")
    assert result.ok and result.name == "mini" and result.source.startswith("user:")
    direct = archcalc.evaluate(archcalc.parse_spec(MINI))
    assert result.totals == direct.totals and result.ops == len(direct.rows)
    p = designer.designer_payload(ws, result.source, 0.5, 96)
    ref = archcalc.evaluate(archcalc.parse_spec(MINI), "0.5", 96)
    assert p["madds_exact"] == ref.totals["madds"]
    assert {"label": "mini  ·  your spec (mini.yaml)", "value": result.source} in ws.user_options()
    # parameters of a pasted spec are re-checked in the sandbox before they are applied
    p = designer.designer_payload(ws, result.source, 1, 64, sets={"blocks": "3"})
    ref = archcalc.evaluate(archcalc.parse_spec(MINI, overrides={"blocks": "3"}), "1", 64)
    assert p["madds_exact"] == ref.totals["madds"]
    p = designer.designer_payload(ws, result.source, 1, 64, sets={"blocks": "9"})
    assert p["error"] and "blocks" in p["error"]
    # and it can be compared
    entries, errors = compare.compare_entries(ws, [{"spec": result.source, "width": 1}])
    assert errors == [] and entries[0].table.totals == direct.totals
    # closed forms of a pasted spec come from the sandbox
    forms = formulas.formula_text(ws, result.source)
    assert "madds" in forms["text"]


def test_a_spatial_size_that_vanishes_is_shown_not_raised(ws):
    text = MINI.replace("{op: conv, c: 16, k: 3, s: 2, act: relu6}",
                        "{op: conv, c: 16, k: 33, s: 1, padding: valid, act: relu6}")
    result = ws.check_text(text, "valid.yaml")
    assert result.ok
    p = designer.designer_payload(ws, result.source, 1, 32)
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
    status = editor_tab.editor_status(text, result)
    assert status.id == "editor-error"


def test_the_error_context_marks_the_line():
    text = "a\nb\nc\nd\ne\nf\ng\nh"
    ctx = editor.error_context(text, 5, around=2)
    assert [c["number"] for c in ctx] == [3, 4, 5, 6, 7]
    assert [c["error"] for c in ctx] == [False, False, True, False, False]
    assert editor.error_context(text, None) == []


def test_size_limits_before_any_parsing(ws, monkeypatch):
    calls = []
    monkeypatch.setattr(ws, "sandbox", type("S", (), {"run": staticmethod(
        lambda *a, **k: calls.append(a) or {"ok": False, "message": "x"})}))
    big = MINI + "#" * workspace.MAX_SPEC_BYTES
    r = ws.check_text(big, "big.yaml")
    assert not r.ok and "too large" in r.message
    assert not ws.check_text("   \n", "empty.yaml").ok
    assert calls == []
    blob = base64.b64encode(b"x" * (workspace.MAX_SPEC_BYTES + 10)).decode()
    text, err = editor.decode_upload(f"data:text/yaml;base64,{blob}")
    assert text is None and "too large" in err
    text, err = editor.decode_upload("data:text/yaml;base64," + base64.b64encode(b"\xff\xfe\x00").decode())
    assert text is None and "UTF-8" in err
    text, err = editor.decode_upload("data:text/yaml;base64," + base64.b64encode(MINI.encode()).decode())
    assert err is None and text == MINI


def test_a_huge_network_is_stopped_in_the_sandbox(ws, monkeypatch):
    monkeypatch.setattr(workspace, "CHECK_TIMEOUT_S", 3.0)
    huge = V2.replace("n: 4", "n: 100000000", 1)
    assert huge != V2
    t0 = time.perf_counter()
    result = ws.check_text(huge, "huge.yaml")
    assert time.perf_counter() - t0 < 120         # a guard against a hang, not a speed check
    assert not result.ok and ("longer than" in result.message or "memory" in result.message
                              or "MAX_REPEATS" in result.message)   # archcalc.limits, at load
    # the server is still fine
    assert designer.designer_payload(ws, "file:mobilenet_v2.yaml", 1, 224)["madds_exact"] == 300774272


def test_the_graph_size_limit(ws, monkeypatch):
    monkeypatch.setattr(workspace, "MAX_GRAPH_OPS", 100)
    result = ws.check_text(V2 + "\n# a different text\n", "v2.yaml")
    assert not result.ok and "152 ops" in result.message and "at most 100" in result.message


def test_deeply_nested_yaml_is_an_error(ws):
    result = ws.check_text("name: x\nlayers: " + "[" * 3000 + "]" * 3000, "deep.yaml")
    assert not result.ok


def test_editor_check_paths(ws):
    status, text, source = editor_tab.editor_check(ws, "editor-check", MINI)
    assert source and source.startswith("user:") and status.id == "editor-ok-text"
    assert text is no_update
    status, text, source = editor_tab.editor_check(ws, "editor-example", "", example="mobilenet_v1.yaml")
    assert source and text == (SPECS / "mobilenet_v1.yaml").read_text()
    upload = "data:text/yaml;base64," + base64.b64encode(MINI.replace("c: 16, n", "c: 0, n").encode()).decode()
    status, text, source = editor_tab.editor_check(ws, "editor-upload", "", upload, "../../etc/evil.yaml")
    assert source is None and status.id == "editor-error"
    assert "<evil.yaml>:" in status.children[1].children          # no directories from the browser
    status, text, source = editor_tab.editor_check(ws, "editor-example", "", example="../pyproject.toml")
    assert source is None


def test_navigate_from_the_editor_and_designer(ws):
    out = page.navigate(ws, "editor-open", None, "user:abc")       # gone: still navigates
    assert out[0] == "designer" and out[1] == "user:abc"
    source = ws.check_text(MINI, "mini.yaml").source
    out = page.navigate(ws, "editor-open", None, source)
    assert out[:4] == ("designer", source, 1.0, 64)           # the spec's own resolution
    assert page.navigate(ws, "designer-own")[0] == "editor"
    assert page.navigate(ws, "editor-open", None, None) == (no_update,) * 6


def test_user_specs_are_bounded(monkeypatch):
    w = Workspace(SPECS)
    monkeypatch.setattr(workspace, "MAX_USER_SPECS", 2)
    sources = [w.check_text(MINI.replace("name: mini", f"name: mini{i}"), f"m{i}.yaml").source
               for i in range(3)]
    assert all(sources)
    assert [o["value"] for o in w.user_options()] == sources[1:]
    p = designer.designer_payload(w, sources[0], 1, 64)
    assert "paste it again" in p["error"]

