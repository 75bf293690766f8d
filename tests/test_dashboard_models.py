"""`archcalc dashboard --model MODEL`: a model named on the server's command line is imported,
written back as a spec (archcalc import) and offered like the zoo's specs; its counts in the
dashboard are PyTorch's own (sum of numel, FlopCounterMode / 2), and a browser still names
only catalog files."""
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
REF = "tests/reference_models.py:resnet18"


@pytest.fixture(scope="module")
def model_ws():
    mp = pytest.MonkeyPatch()
    mp.chdir(REPO)
    from archcalc.zoo import zoo_dir
    from dashboard.models import write_model_specs
    from dashboard.workspace import Workspace
    paths = write_model_specs([REF], "3x96x96")
    yield Workspace(zoo_dir(), db_path=REPO / "no-such-results.sqlite", wait_for_compile=True,
                    extra_specs=paths)
    mp.undo()


def test_a_model_is_offered_and_counted_as_pytorch_counts_it(model_ws):
    import reference_models as rm
    from torch.utils.flop_counter import FlopCounterMode
    assert "model_resnet18.yaml" in model_ws.catalog.entries
    assert "file:model_resnet18.yaml" in [o["value"] for o in model_ws.catalog.options()]
    assert "mobilenet_v2.yaml" in model_ws.catalog.entries          # the zoo is still there
    model = rm.resnet18().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, 96, 96))
    table = model_ws.table("file:model_resnet18.yaml", 1, 96, convention="torchvision")
    assert table.totals["params"] == sum(p.numel() for p in model.parameters())
    assert table.totals["madds"] == counter.get_total_flops() // 2


def test_the_width_slider_scales_an_imported_model(model_ws):
    full = model_ws.table("file:model_resnet18.yaml", 1, 96, convention="torchvision")
    half = model_ws.table("file:model_resnet18.yaml", "0.5", 96, convention="torchvision")
    assert 0 < half.totals["madds"] < full.totals["madds"] / 2


def test_a_model_that_cannot_be_imported_stops_the_server_with_one_line():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = subprocess.run([sys.executable, "-m", "archcalc", "dashboard", "--port", str(port),
                          "--model", "tests/reference_models.py:no_such_model"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "no_such_model" in run.stderr, run.stderr


def test_a_model_error_names_the_file_never_the_servers_folder():
    from archcalc.zoo import zoo_dir
    from dashboard.layout.designer import designer_view
    from dashboard.models import write_model_specs
    from dashboard.workspace import Workspace
    mp = pytest.MonkeyPatch()
    mp.chdir(REPO)
    try:
        paths = write_model_specs(["tests/reference_models.py:vit_tiny"], "3x32x32")
    finally:
        mp.undo()
    ws = Workspace(zoo_dir(), db_path=REPO / "no-such-results.sqlite", wait_for_compile=True,
                   extra_specs=paths)
    folder = str(Path(paths[0]).parent)
    ok = designer_view(ws, "file:model_vit_tiny.yaml", 1, 32)        # the size it was written at
    assert folder not in str(ok)
    bad = designer_view(ws, "file:model_vit_tiny.yaml", 1, 64)       # token shapes are fixed
    text = str(bad)
    assert "model_vit_tiny.yaml:" in text and folder not in text


def test_the_command_line_hands_the_written_specs_to_the_app(monkeypatch):
    import argparse
    import dashboard.app as dash_app
    from dashboard.commands import add_commands
    monkeypatch.chdir(REPO)
    seen = {}

    def main(host, port, specs, db, extra_specs=()):
        app = dash_app.create_app(specs, db, extra_specs=extra_specs)
        seen["keys"] = sorted(app.archcalc_workspace.catalog.entries)
        seen["page"] = app.server.test_client().get("/").status_code
    monkeypatch.setattr(dash_app, "main", main)
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(["dashboard", "--port", str(port), "--model", REF,
                              "--input-shape", "3x64x64"])
    args.run(args)
    assert "model_resnet18.yaml" in seen["keys"] and "mobilenet_v2.yaml" in seen["keys"]
    assert seen["page"] == 200
