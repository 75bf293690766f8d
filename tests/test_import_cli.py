"""Model references on the command line (archcalc/imported/refs.py): `archcalc report` and
`compare` take `package.module:callable`, `path/to/file.py:callable` and `model.onnx`; counts
checked against PyTorch (sum of numel, FlopCounterMode / 2); bad references are one line and
exit status 2."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from archcalc import cli  # noqa: E402
import reference_models as rm  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REF = "tests/reference_models.py"

MODEL_FILE = textwrap.dedent('''
    import torch
    from torch import nn

    def build(width=8, act="relu", bias=False):
        acts = {"relu": nn.ReLU(), "gelu": nn.GELU()}
        return nn.Sequential(nn.Conv2d(1, width, 3, 2, 1, bias=bias), nn.BatchNorm2d(width),
                             acts[act], nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(width, 10))

    def broken():
        raise RuntimeError("no weights here\\nsecond line")

    class Bad(nn.Module):
        def forward(self, x):
            return x[x > 0].sum()

    def bad_forward():
        return Bad()

    NOT_CALLABLE = 3

    def odd():
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.PixelShuffle(2))
''')


def fcm(model, shape) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.randn(1, *shape))
    return counter.get_total_flops() // 2


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "mymodel.py"
    path.write_text(MODEL_FILE)
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_report_json_subprocess_equals_pytorch():
    cmd = [sys.executable, "-m", "archcalc", "report", f"{REF}:resnet18", "--resolution", "160",
           "--convention", "torchvision", "--format", "json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    model = rm.resnet18()
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters()) == 11689512
    assert data["totals"]["madds"] == fcm(model, (3, 160, 160))
    assert data["model"]["input_shape"] == [[1, 3, 160, 160]]
    assert data["warnings"] == []
    assert data["layers"][1]["name"] == "conv1.conv" or data["layers"][1]["name"] == "conv1"


def test_file_reference_with_sets_and_input_shape(capsys, model_file):
    rc, out, err = run(capsys, "report", f"{model_file}:build", "--set", "width=16", "--set",
                       "act=gelu", "--set", "bias=true", "--input-shape", "1x64x48",
                       "-c", "torchvision", "-f", "json")
    assert rc == 0, err
    data = json.loads(out)
    # conv 16 x 1 x 3 x 3 + bias 16, BN 32, linear 16 x 10 + 10
    assert data["totals"]["params"] == 144 + 16 + 32 + 170
    # conv output 16 x 32 x 24; linear 160
    assert data["totals"]["madds"] == 144 * 32 * 24 + 160
    assert data["params"] == {"width": 16, "act": "gelu", "bias": True}
    assert [layer["op"] for layer in data["layers"]][:4] == ["input", "conv", "bn", "act"]


def test_resolution_hxw_and_compare(capsys):
    rc, out, err = run(capsys, "report", f"{REF}:mobilenet_v2", "--resolution", "224x320",
                       "-c", "torchvision", "-f", "json")
    assert rc == 0, err
    model = rm.mobilenet_v2()
    assert json.loads(out)["totals"]["madds"] == fcm(model, (3, 224, 320))
    rc, out, err = run(capsys, "compare", f"{REF}:resnet18", f"{REF}:mobilenet_v2@1,160",
                       "-c", "torchvision", "-f", "json")
    assert rc == 0, err
    data = json.loads(out)
    entries = data["entries"] if isinstance(data, dict) else data
    madds = [e["totals"]["madds"] if "totals" in e else e["madds"] for e in entries]
    assert madds == [fcm(rm.resnet18(), (3, 224, 224)), fcm(model, (3, 160, 160))]


@pytest.mark.parametrize("ref, extra, message", [
    ("nosuch_pkg_x.mod:build", [], "No module named 'nosuch_pkg_x'"),
    ("{file}:nothere", [], "has no attribute 'nothere'"),
    ("{file}:NOT_CALLABLE", [], "is not callable"),
    ("{file}:broken", [], "raised RuntimeError: no weights here"),
    ("json:dumps", [], "raised TypeError"),
    ("os:getcwd", [], "returned str, not a torch.nn.Module"),
    ("{file}:bad_forward", [], "failed"),
    ("{file}:build", ["--width", "0.5"], "no width multiplier"),
    ("{file}:build", ["--symbolic"], "no closed forms"),
    ("{file}:build", ["--input-shape", "3x224"], "--input-shape expects CxHxW"),
    ("{file}:build", ["--resolution", "0.5x"], "--resolution for a model expects"),
    ("{file}:odd", [], "pixel_shuffle"),
    ("missing.onnx", [], "no such ONNX file"),
    ("/no/such/dir/m.py:build", [], "no such file"),
])
def test_bad_references_are_one_line(capsys, model_file, ref, extra, message):
    rc, out, err = run(capsys, "report", ref.format(file=model_file), *extra)
    assert rc == 2
    assert out == ""
    assert err.startswith("archcalc: error: ") and err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err


def test_allow_unknown_on_the_command_line(capsys, model_file):
    rc, out, err = run(capsys, "report", f"{model_file}:odd", "--allow-unknown", "-f", "json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["warnings"] == ["unknown op aten.pixel_shuffle.default at 1 x1: counted as zero"]
    assert data["totals"]["madds"] == 4 * 27 * 222 * 222
    rc, out, err = run(capsys, "report", f"{model_file}:odd", "--allow-unknown")
    assert "warnings:\n  unknown op aten.pixel_shuffle.default at 1 x1" in out


def test_subprocess_bad_reference_has_no_traceback(model_file):
    cmd = [sys.executable, "-m", "archcalc", "report", f"{model_file}:broken"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_verify_a_model_against_pytorch(capsys, model_file):
    rc, out, err = run(capsys, "verify", f"{REF}:vit_tiny", "--resolution", "32")
    assert rc == 0, err
    model = rm.vit_tiny()
    params = sum(p.numel() for p in model.parameters())
    assert f"params archcalc {params:,} / torch {params:,}" in out
    assert out.rstrip().endswith("OK: archcalc and PyTorch agree")
    # a transposed convolution has no rule: counted as zero under --allow-unknown, while
    # FlopCounterMode counts it (4 x 8 x 9 weights x 8 x 8 input positions = 18,432 MACs);
    # the 1x1 conv before it: 4 x 3 weights x 64 positions = 768
    path = model_file.parent / "tconv.py"
    path.write_text("from torch import nn\n\ndef build():\n"
                    "    return nn.Sequential(nn.Conv2d(3, 4, 1), nn.ConvTranspose2d(4, 8, 3, 2))\n")
    rc, out, err = run(capsys, "verify", f"{path}:build", "--input-shape", "3x8x8",
                       "--allow-unknown")
    assert rc == 1
    assert "MISMATCH: MAdds archcalc 768 vs torch 19,200" in err


@pytest.mark.parametrize("spec, model, extra", [
    ("specs/mobilenet_v2.yaml", f"{REF}:mobilenet_v2", ["--resolution", "160"]),
    ("specs/mobilenet_v3_small.yaml", "tests/reference_torchvision.py:mobilenet_v3_small", []),
    ("specs/efficientnet_b0.yaml", "tests/reference_torchvision.py:efficientnet_b0",
     ["--resolution", "128"]),
    ("specs/shufflenet_v2.yaml", "tests/reference_torchvision.py:shufflenet_v2",
     ["--set", "size=x0_5", "--resolution", "96"]),
])
def test_verify_spec_against_its_pytorch_twin(capsys, spec, model, extra):
    rc, out, err = run(capsys, "verify", spec, "--against", model, *extra)
    assert rc == 0, err
    assert out.rstrip().endswith("every conv / linear layer's output shape, params and MAdds")


def test_verify_against_reports_the_first_differing_layer(capsys):
    rc, out, err = run(capsys, "verify", "specs/mobilenet_v2.yaml", "--width", "0.75",
                       "--against", f"{REF}:mobilenet_v2")
    assert rc == 1
    # the stem: 24 (= make_divisible(32 x 0.75)) vs 32 output channels, 3x3 x 3 inputs,
    # 112 x 112 outputs: 648 vs 864 weights
    assert ("MISMATCH: first differing layer: spec stem.0.conv (conv 3x3/2, 24x112x112, 648 "
            "params, 8,128,512 MAdds) vs model features.0.0 (conv 3x3/2, 32x112x112, 864 params, "
            "10,838,016 MAdds)") in err


def test_compare_prints_a_models_warnings(capsys, model_file):
    rc, out, err = run(capsys, "compare", f"{model_file}:odd", f"{model_file}:odd@1,64",
                       "--allow-unknown")
    assert rc == 0, err
    assert out.endswith("warnings:\n  odd: unknown op aten.pixel_shuffle.default at 1 x1: "
                        "counted as zero\n  odd @64: unknown op aten.pixel_shuffle.default at 1 x1: "
                        "counted as zero\n")
    rc, out, err = run(capsys, "compare", f"{model_file}:odd", f"{REF}:resnet18",
                       "--allow-unknown", "-f", "json")
    entries = json.loads(out)["entries"]
    assert [len(e["warnings"]) for e in entries] == [1, 0]
    rc, out, err = run(capsys, "compare", f"{model_file}:odd", "--allow-unknown", "-f", "csv")
    assert out.startswith("# warning: odd: unknown op aten.pixel_shuffle.default at 1 x1")
