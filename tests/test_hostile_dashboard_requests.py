"""The dashboard against crafted requests (issue 10, section 5 and the dashboard parts of
sections 3 and 7), without a browser: what a client can post to every callback through
Flask's test client, the Host check, the connection bound, --host/--port validation, and
the installed zoo served from any directory.

Time bounds here are guards against hangs, generous for a busy 2-core machine, never speed
checks (benchmarks/dashboard_load.py measures latency under load).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

pytest.importorskip("dash")

from archcalc.zoo import zoo_dir                  # noqa: E402
from dashboard import app as dash_app             # noqa: E402
from dashboard import serving, workspace          # noqa: E402
from dashboard.layout import editor as editor_tab  # noqa: E402
from dashboard.views import compare, designer     # noqa: E402
from dashboard.workspace import Workspace         # noqa: E402

SPECS = REPO / "specs"
MINI = """\
name: mini
input: {channels: 3, resolution: 64}
params:
  num_classes: {default: 10, min: 1}
layers:
  stem:
    - {op: conv, c: 16, k: 3, s: 2, act: relu6}
  body:
    - {op: bottleneck, t: 6, c: 16, n: 2, s: 1}
  head:
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: $num_classes}
"""


@pytest.fixture(scope="module")
def ws():
    return Workspace(SPECS, db_path=REPO / "no-such-results.sqlite", wait_for_compile=True)


# -- posting callbacks as a client can -------------------------------------------------------------
def dependencies(client) -> list:
    client.get("/")
    return json.loads(client.get("/_dash-dependencies").get_data(as_text=True))


def callback_body(dep, values: dict, params: dict | None = None, changed: str | None = None):
    """The JSON Dash's renderer posts for `dep`; `values` maps "id.property" to any value."""
    params = params or {}

    def one(item, state=False):
        if item["id"].startswith("{"):
            return [{"id": {"name": n, "type": "param"}, "property": item["property"],
                     "value": {"name": n, "type": "param"} if state else v}
                    for n, v in params.items()]
        return {"id": item["id"], "property": item["property"],
                "value": values.get(f"{item['id']}.{item['property']}")}

    out = dep["output"]
    outputs = ([{"id": o.split(".")[0], "property": o.split(".")[1]}
                for o in out.strip(".").split("...")] if out.startswith("..") else
               {"id": out.split(".")[0], "property": out.split(".")[1]})
    return {"output": out, "outputs": outputs, "inputs": [one(i) for i in dep["inputs"]],
            "state": [one(s, True) for s in dep.get("state", [])],
            "changedPropIds": [changed or (next(iter(values)) if values else "x.y")]}


def dep_for(deps, part):
    return [d for d in deps if part in d["output"]][0]



# == 3. what a crafted request can do =============================================================
def test_a_check_that_ends_in_an_internal_error_leaves_no_spec_behind(monkeypatch):
    w = Workspace(SPECS)
    app = dash_app.create_app(SPECS, workspace=w)
    client = app.server.test_client()
    dep = dep_for(dependencies(client), "editor-status.children")

    def broken(text, result):
        raise OverflowError("cannot render this number")

    monkeypatch.setattr(editor_tab, "editor_status", broken)
    body = callback_body(dep, {"editor-check.n_clicks": 1, "editor-text.value": MINI},
                         changed="editor-check.n_clicks")
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert "internal error" in text and "user:" not in text
    assert w.user_options() == []
    monkeypatch.undo()
    resp = client.post("/_dash-update-component", json=body)         # and when it renders
    assert "mini is a valid spec" in resp.get_data(as_text=True)
    assert [o["label"] for o in w.user_options()] == ["mini  ·  your spec (pasted)"]


@pytest.mark.parametrize("sets, words", [({"groups": "5"}, "groups"),
                                         ({"num_classes": "0"}, "minimum"),
                                         ({"num_classes": "abc"}, "integer")])
def test_designer_errors_name_the_catalog_file_not_the_servers_path(ws, sets, words):
    key = "shufflenet_v1.yaml"
    p = designer.designer_payload(ws, f"file:{key}", 1, 224, sets=sets)
    assert p["error"] and words in p["error"]
    assert p["error"].startswith(f"{key}:"), p["error"]
    folder = str(SPECS.resolve())
    assert folder not in p["error"] and str(zoo_dir()) not in p["error"]


def test_errors_of_new_values_checked_in_the_sandbox_name_the_file_too(ws, monkeypatch):
    monkeypatch.setattr(workspace, "MAX_GRAPH_OPS", 10)
    w = Workspace(SPECS)
    p = designer.designer_payload(w, "file:mobilenet_v1.yaml", 1, 224, sets={"num_classes": "12"})
    assert p["error"].startswith("mobilenet_v1.yaml: the compiled graph has")
    assert str(SPECS.resolve()) not in p["error"]
    entries, errors = compare.compare_entries(w, [{"spec": "file:nope.yaml"}])
    assert errors and str(SPECS.resolve()) not in errors[0]


JUNK = [None, 0, -1, 1e308, "x" * 5000, "../../etc/passwd", [], [1, 2], {}, {"a": [1]},
        True, "NaN", [[[]]], {"points": "x"}]
CLICKS = [
    {"points": [{"customdata": ["file:mobilenet_v2.yaml", "abc", 224, {}, 0]}]},
    {"points": [{"customdata": ["file:mobilenet_v2.yaml", 1, "1e999", {}, 0]}]},
    {"points": [{"customdata": ["file:mobilenet_v2.yaml", 1, 224, "groups=8", 0]}]},
    {"points": [{"customdata": ["file:mobilenet_v2.yaml", 1, 224, {"g": [1, 2]}, 0]}]},
    {"points": [{"customdata": ["file:nope.yaml", 1, 224, {}, 0]}]},
    {"points": [{"customdata": [["file:x"], 1, 224, {}, 0]}]},
    {"points": [{"customdata": "file:mobilenet_v2.yaml"}]}, {"points": [5]}, {"points": {}},
    [1, 2], "click", 7,
]


def test_crafted_frontier_clicks_are_a_no_op_never_a_500(ws):
    app = dash_app.create_app(SPECS, workspace=ws)
    client = app.server.test_client()
    dep = dep_for(dependencies(client), "tabs.value")
    for click in CLICKS:
        body = callback_body(dep, {"frontier-graph.clickData": click,
                                   "frontier-convention.value": "paper"},
                             changed="frontier-graph.clickData")
        resp = client.post("/_dash-update-component", json=body)
        assert resp.status_code in (200, 204), (click, resp.status_code)
        if resp.status_code == 200:                                 # nothing to update
            assert resp.json["response"] == {}, (click, resp.json)
    ok = {"points": [{"customdata": ["file:shufflenet_v1.yaml", "0.5", 224, {"groups": 8}, 3]}]}
    body = callback_body(dep, {"frontier-graph.clickData": ok, "frontier-convention.value": "?"},
                         changed="frontier-graph.clickData")
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200
    out = resp.json["response"]
    assert out["designer-spec"]["value"] == "file:shufflenet_v1.yaml"
    assert out["designer-width"]["value"] == 0.5 and out["designer-resolution"]["value"] == 224
    assert out["designer-request"]["data"] == {"source": "file:shufflenet_v1.yaml",
                                               "sets": {"groups": "8"}}
    assert out["designer-convention"]["value"] == "paper"


def test_junk_in_any_input_of_any_callback_is_never_a_500(ws):
    """Every callback of the app, each input and state in turn set to junk values."""
    app = dash_app.create_app(SPECS, workspace=ws)
    client = app.server.test_client()
    deps = dependencies(client)
    good = {"designer-spec.value": "file:mobilenet_v1.yaml", "designer-width.value": 1,
            "designer-resolution.value": 224, "designer-convention.value": "paper",
            "designer-dtype.value": "fp32", "frontier-x.value": "madds",
            "frontier-scale.value": "log", "frontier-fronts.value": ["overall"],
            "frontier-convention.value": "paper", "compare-convention.value": "paper",
            "compare-dtype.value": "fp32"}
    for dep in deps:
        names = [f"{i['id']}.{i['property']}" for i in dep["inputs"] + dep.get("state", [])
                 if not i["id"].startswith("{")]
        for name in names:
            for junk in JUNK:
                body = callback_body(dep, {**good, name: junk}, changed=name)
                resp = client.post("/_dash-update-component", json=body)
                assert resp.status_code in (200, 204), (dep["output"], name, junk,
                                                        resp.status_code)


@pytest.mark.parametrize("host, status", [
    ("localhost:8050", 200), ("127.0.0.1:8050", 200), ("[::1]:8050", 200),
    ("LOCALHOST:8050", 200), ("evil.example:8050", 400), ("evil.example", 400),
    ("localhost", 400), ("127.0.0.1:8051", 400), ("localhost.evil.example:8050", 400), ("", 400)])
def test_a_loopback_server_answers_only_to_loopback_host_names(ws, host, status):
    app = dash_app.create_app(SPECS, workspace=ws, host="127.0.0.1", port=8050)
    client = app.server.test_client()
    assert client.get("/", headers={"Host": host}).status_code == status
    dep = dep_for(dependencies_for(client), "designer-cards.children")
    body = callback_body(dep, {"designer-spec.value": "file:mobilenet_v1.yaml",
                               "designer-width.value": 1, "designer-resolution.value": 224,
                               "designer-convention.value": "paper",
                               "designer-dtype.value": "fp32"}, changed="designer-width.value")
    resp = client.post("/_dash-update-component", json=body, headers={"Host": host})
    assert resp.status_code == status
    if status == 400:
        assert "DNS rebinding" in resp.get_data(as_text=True)


def dependencies_for(client):
    client.get("/", headers={"Host": "localhost:8050"})
    return json.loads(client.get("/_dash-dependencies",
                                 headers={"Host": "localhost:8050"}).get_data(as_text=True))


def test_run_installs_the_host_check_and_the_connection_bound(ws, monkeypatch):
    seen = {}
    monkeypatch.setattr(dash_app.Dash, "run", lambda self, **kw: seen.update(kw))
    app = dash_app.create_app(SPECS, workspace=ws)
    client = app.server.test_client()
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 200   # not served yet
    app.run(host="127.0.0.1", port=8123, debug=False)
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123 and seen["debug"] is False
    assert seen["request_handler"].__name__ == "BoundedHandler"
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"Host": "localhost:8123"}).status_code == 200
    # an address other machines can reach: no Host check (the server warns instead)
    open_app = dash_app.create_app(SPECS, workspace=ws)
    open_app.run(host="0.0.0.0", port=8124)
    assert open_app.server.test_client().get(
        "/", headers={"Host": "dashboard.example:8124"}).status_code == 200


def test_connections_beyond_the_bound_are_answered_503():
    from werkzeug.serving import make_server

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, hello, threaded=True,
                         request_handler=serving.bounded_handler(1, 60))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port

    def get():
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return b"".join(iter(lambda: s.recv(65536), b"")).decode()

    try:
        assert " 200 " in get().splitlines()[0]
        holder = socket.create_connection(("127.0.0.1", port), timeout=60)  # holds the slot
        deadline = time.monotonic() + 120
        while True:
            answer = get()
            if " 503 " in answer.splitlines()[0]:
                break
            assert time.monotonic() < deadline, answer
            time.sleep(0.05)
        assert "Retry-After: 2" in answer and "too many connections" in answer
        holder.close()
        deadline = time.monotonic() + 120
        while " 200 " not in get().splitlines()[0]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        server.shutdown()


@pytest.mark.parametrize("args, words", [
    (["--port", "99999"], "--port 99999: not a port number"),
    (["--port", "0"], "--port 0: not a port number"),
    (["--port", "abc"], "--port abc: not a port number"),
    (["--host", "no such host"], "not a host name"),
    (["--host", "nosuchhost.invalid"], "--host nosuchhost.invalid: cannot resolve")])
def test_bad_host_or_port_is_one_line_and_exit_2(args, words):
    out = subprocess.run([sys.executable, "-m", "archcalc.cli", "dashboard", *args],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archcalc: error: ") and words in lines[0], lines
    assert "Traceback" not in out.stderr


def test_a_port_in_use_is_one_line_and_exit_2():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "archcalc.cli", "dashboard", "--port",
                              str(port)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], lines


def test_the_dashboard_serves_the_installed_zoo_from_any_directory(tmp_path):
    """`archcalc dashboard` outside a clone: --specs defaults to the zoo of the package, and
    the app builds from it (run from an empty temporary directory)."""
    code = ("import argparse, json, socket\n"
            "import dashboard.app as A\n"
            "from dashboard.commands import add_commands\n"
            "seen = {}\n"
            "def main(host, port, specs, db):\n"
            "    app = A.create_app(specs, db)\n"
            "    c = app.server.test_client()\n"
            "    seen.update(specs=specs, page=c.get('/').status_code,\n"
            "                layout=c.get('/_dash-layout').status_code,\n"
            "                keys=sorted(app.archcalc_workspace.catalog.entries))\n"
            "A.main = main\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()\n"
            "p = argparse.ArgumentParser(); add_commands(p.add_subparsers())\n"
            "a = p.parse_args(['dashboard', '--port', str(port)])\n"
            "a.run(a)\n"
            "print(json.dumps(seen))\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(seen["specs"]) == zoo_dir()
    assert seen["page"] == 200 and seen["layout"] == 200
    assert seen["keys"] == sorted(p.name for p in zoo_dir().glob("*.yaml"))
    assert not list(tmp_path.iterdir())          # nothing written where it was started
