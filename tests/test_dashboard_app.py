"""The dashboard's Dash app without a browser: the layout it serves, one slider move through
Dash's JSON protocol, the loopback warning, the `archcalc dashboard` command."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("dash")

import archcalc                                   # noqa: E402
from dashboard import app as dash_app             # noqa: E402
from dashboard.workspace import Workspace         # noqa: E402
from dashboard_fixtures import REPO, SPECS, reference, ws  # noqa: E402,F401  (ws: a fixture)


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
        Workspace(REPO / "no-such-folder")

