"""`archcalc import MODEL`: the spec written for an imported model compiles to the same graph
(issue 12, item 6). For every model the import tests use (the hand-written torchvision twins
of tests/reference_*.py and the models of tests/test_import_torch.py), `archcalc report` of
the written spec equals `archcalc report` of the model: params, MAdds under the paper and
torchvision conventions, the memory metrics and every op's output shape, params, MAdds and
memory. The spec's counts are also checked against PyTorch itself, independently of
archcalc's import: params = sum(p.numel()), MAdds (torchvision convention) = FlopCounterMode's
total / 2 on the meta device."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import archcalc  # noqa: E402
import reference_detection as rd  # noqa: E402
import reference_models as rm  # noqa: E402
import reference_nasnet as rna  # noqa: E402
import reference_mnasnet as rmn  # noqa: E402
import reference_segmentation as rs  # noqa: E402
import reference_torchvision as rtv  # noqa: E402
import test_import_torch as tit  # noqa: E402
from archcalc import cli  # noqa: E402
from archcalc.export import export_spec, round_trip_differences  # noqa: E402
from archcalc.export.rows import emit_rows  # noqa: E402
from test_import_onnx import export_onnx, fcm_meta  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

MODELS = {   # name: (builder, input C x H x W)
    "mobilenet_v2": (rm.mobilenet_v2, (3, 224, 224)),
    "resnet18": (rm.resnet18, (3, 224, 224)),
    "resnet50": (rm.resnet50, (3, 160, 160)),
    "resnext50_32x4d": (rm.resnext50_32x4d, (3, 224, 224)),
    "mobilenet_v3_small": (rtv.mobilenet_v3_small, (3, 224, 224)),
    "mobilenet_v3_large": (rtv.mobilenet_v3_large, (3, 224, 224)),
    "efficientnet_b0": (rtv.efficientnet_b0, (3, 224, 224)),
    "shufflenet_v2": (lambda: rtv.shufflenet_v2("x1_0"), (3, 224, 224)),
    "mnasnet1_0": (lambda: rmn.mnasnet(1.0), (3, 224, 224)),
    "se_block": (tit.SEBlock, (3, 64, 64)),
    "convnext_ish": (tit.ConvNeXtish, (3, 64, 64)),
    "vit_tiny": (rm.vit_tiny, (3, 32, 32)),
    "atrous": (rm.atrous, (3, 96, 96)),
    "lraspp_mobilenet_v3_large": (rs.lraspp_mobilenet_v3_large, (3, 224, 224)),
    "deeplabv3_mobilenet_v3_large": (rs.deeplabv3_mobilenet_v3_large, (3, 224, 224)),
    "deeplabv3_mobilenet_v2": (rs.deeplabv3_mobilenet_v2, (3, 257, 257)),
    # leaky ReLU and the pixel_unshuffle passthrough (YOLOv2), NASNet's padded shifted path
    "yolov2": (rd.yolov2, (3, 160, 160)),
    "yolov2_released_cfg": (lambda: rd.yolov2(passthrough_conv=True), (3, 160, 160)),
    "nasnet_a_mobile": (rna.nasnet_a_mobile, (3, 96, 96)),
}


def imported(name):
    build, shape = MODELS[name]
    model = build().eval()
    return model, shape, archcalc.from_torch(model, input_shape=shape)


def compiled(text: str, tmp_path, width=None, resolution=None):
    path = tmp_path / "model.yaml"
    path.write_text(text)
    return archcalc.compile_graph(archcalc.load(str(path)), width, resolution)


@pytest.mark.parametrize("name", list(MODELS))
def test_written_spec_compiles_to_the_model(name, tmp_path):
    model, shape, graph = imported(name)
    text = export_spec(graph)
    spec_graph = compiled(text, tmp_path)
    assert round_trip_differences(graph, text) == []
    for convention in ("paper", "torchvision"):
        a, b = archcalc.analyze(graph, convention), archcalc.analyze(spec_graph, convention)
        assert a.totals == b.totals
        assert [(r.op, r.output_shape, r.params, r.madds, r.live_bytes, r.live_bytes_streamed)
                for r in a.rows] == \
            [(r.op, r.output_shape, r.params, r.madds, r.live_bytes, r.live_bytes_streamed)
             for r in b.rows]
    # independently of the import: PyTorch's own counts of the model
    table = archcalc.analyze(spec_graph, "torchvision")
    assert table.total("params") == sum(p.numel() for p in model.parameters())
    assert table.total("madds") == fcm_meta(model, shape)


def _report(capsys, *args) -> dict:
    assert cli.main(["report", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _same_report(a: dict, b: dict) -> None:
    assert a["totals"] == b["totals"]
    strip = [{k: v for k, v in r.items() if k not in ("name", "block")} for r in a["layers"]]
    assert strip == [{k: v for k, v in r.items() if k not in ("name", "block")}
                     for r in b["layers"]]


@pytest.mark.parametrize("ref,extra", [
    ("tests/reference_models.py:mobilenet_v2", ()),
    ("tests/reference_models.py:resnet18", ("--resolution", "224x320")),
    ("tests/test_import_torch.py:SEBlock", ("--input-shape", "3x64x64")),
])
def test_cli_round_trip(capsys, monkeypatch, tmp_path, ref, extra):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "model.yaml"
    assert cli.main(["import", ref, "-o", str(out), *extra]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}:")
    text = out.read_text()
    assert f"source: \"{ref}, input" in text
    for convention in ("paper", "torchvision"):
        _same_report(_report(capsys, ref, *extra, "--convention", convention),
                     _report(capsys, str(out), "--convention", convention))
    # without -o the spec is printed
    assert cli.main(["import", ref, *extra]) == 0
    assert capsys.readouterr().out == text


def test_mobilenet_v2_is_written_as_table_2(tmp_path):
    """MobileNetV2's inverted residuals are written as `bottleneck` rows, repeats as `n`: the
    paper's Table 2 (t, c, n, s) comes back from the PyTorch model; the classifier keeps its
    1000 classes at any width, the other channels scale, so at width 1.4 the spec is
    torchvision's `mobilenet_v2(width_mult=1.4)` (its twin) exactly."""
    model, shape, graph = imported("mobilenet_v2")
    text = export_spec(graph)
    rows = [line.split("  #")[0].strip() for line in text.splitlines() if line.startswith("    - ")]
    table2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1)]           # Sandler et al. 2018, Table 2
    expected = [f"- {{op: bottleneck, t: {t}, c: {c}"
                + (f", n: {n}" if n > 1 else "") + (f", s: {s}" if s > 1 else "")
                + ", padding: 1}" for t, c, n, s in table2]
    assert rows[0] == "- {op: conv, c: 32, k: 3, s: 2, padding: 1, act: relu6}"
    assert rows[1:8] == expected
    assert rows[8:] == ["- {op: pwconv, c: 1280, act: relu6}", "- {op: avgpool, global: true}",
                        "- {op: flatten}", "- {op: linear, c: 1000, scale: none}"]
    assert "width: {rounding: make_divisible, divisor: 8}" in text
    wide = archcalc.analyze(compiled(text, tmp_path, width="1.4"), "torchvision")
    twin = rm.mobilenet_v2(width_mult=1.4).eval()
    assert wide.total("params") == sum(p.numel() for p in twin.parameters())
    assert wide.total("madds") == fcm_meta(twin, shape)
    assert wide.rows[-1].output_shape == (1000,)


def test_flat_rows_when_no_block_matches(tmp_path):
    """ResNet-18 has no inverted residuals: conv + BN (+ ReLU) rows, the residual adds as
    `add` rows naming their operands, the block's ReLU after the add as an `act` row."""
    _, _, graph = imported("resnet18")
    text = export_spec(graph)
    assert "- {op: conv, c: 64, k: 7, s: 2, padding: 3, act: relu}  # conv1" in text
    assert "- {op: add, of: [layer1_0_conv2, maxpool]}  # layer1.0" in text
    assert "- {op: conv, from: layer1_1, c: 128, k: 1, s: 2, padding: 0, act: linear, " \
        "name: layer2_0_downsample}  # layer2.0.downsample" in text
    # 20 conv rows, 8 adds and their 8 ReLUs, the max pool, the global pool, flatten, fc
    assert sum(1 for line in text.splitlines() if line.startswith("    - ")) == 20 + 16 + 4


def test_streamed_blocks_survive(tmp_path):
    """MobileNetV2's 17 inverted-residual blocks stream (Sec. 5.1) in the model and the spec,
    as `bottleneck` rows or as flat rows with a `stream_group` each: the streamed peak is below
    the naive one, and equal in all three."""
    _, _, graph = imported("mobilenet_v2")
    text = export_spec(graph)
    flat = emit_rows(graph, readable=False)
    assert len({r.keys.get("stream_group") for r in flat.rows} - {None}) == 17
    a = archcalc.analyze(graph, "paper").totals
    b = archcalc.analyze(compiled(text, tmp_path), "paper").totals
    assert a["peak_memory_bytes_streamed"] == b["peak_memory_bytes_streamed"] < \
        b["peak_memory_bytes"]
    from archcalc.export.text import spec_text
    flat_text = spec_text(flat, name="m", source="m", channels=3, resolution=224)
    assert round_trip_differences(graph, flat_text) == []


def test_sweep_runs_on_a_written_spec(tmp_path, capsys):
    """ResNet-18 written as a spec sweeps like any spec; at width 1 the sweep's params are the
    model's sum(p.numel()), and its MAdds at 160 FlopCounterMode's / 2."""
    model, shape, graph = imported("resnet18")
    path = tmp_path / "r18.yaml"
    path.write_text(export_spec(graph))
    assert cli.main(["sweep", str(path), "--widths", "0.5:1:0.5", "--resolutions",
                     "160:224:64", "--convention", "torchvision"]) == 0
    rows = [line.split(",") for line in capsys.readouterr().out.splitlines()
            if line and not line.startswith("#")]
    head, body = rows[0], {(r[0], r[1]): r for r in rows[1:]}
    one = dict(zip(head, body[("1", "160")]))
    assert int(one["params"]) == sum(p.numel() for p in model.parameters())
    assert int(one["madds"]) == fcm_meta(model, (3, 160, 160))
    assert set(body) == {("0.5", "160"), ("0.5", "224"), ("1", "160"), ("1", "224")}


def test_fixed_shape_rows_refuse_other_points(tmp_path):
    """ViT's views are written for its input size: another resolution is refused (one located
    error), never counted with shapes that do not fit."""
    _, _, graph = imported("vit_tiny")
    path = tmp_path / "vit.yaml"
    path.write_text(export_spec(graph))
    with pytest.raises(archcalc.SpecError, match=r"vit\.yaml:\d+: .*written for"):
        archcalc.compile_graph(archcalc.load(str(path)), None, 64)
    with pytest.raises(archcalc.SpecError, match="no closed form"):
        archcalc.compile_graph(archcalc.load(str(path)), symbolic=True)


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    folder = tmp_path_factory.mktemp("onnx_export")
    out = {}
    torch.manual_seed(0)
    for name, build, shape in (("resnet18", rm.resnet18, (3, 160, 160)),
                               ("mobilenet_v3_small", rtv.mobilenet_v3_small, (3, 224, 224))):
        model = build().eval()
        path = folder / f"{name}.onnx"
        export_onnx(model, shape, path)
        out[name] = (model, shape, path)
    return out


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_onnx_round_trip(onnx_files, name, tmp_path, capsys):
    model, shape, path = onnx_files[name]
    out = tmp_path / "model.yaml"
    assert cli.main(["import", str(path), "-o", str(out)]) == 0
    capsys.readouterr()
    _same_report(_report(capsys, str(path)), _report(capsys, str(out)))
    table = archcalc.analyze(archcalc.compile_graph(archcalc.load(str(out))), "torchvision")
    assert table.total("params") == sum(p.numel() for p in model.parameters())
    assert table.total("madds") == fcm_meta(model, shape)
    # the export's constant plumbing (CastLike(0, x), Expand to Shape(weight): a zero bias)
    # leaves no node, so its memory is the PyTorch import's
    direct = archcalc.analyze(archcalc.from_torch(model, input_shape=shape), "torchvision")
    assert table.totals == direct.totals


def test_unknown_ops_are_refused_in_one_line(tmp_path):
    """An op counted as zero under --allow-unknown cannot be written as a row: one line, exit 2."""
    model = tmp_path / "odd.py"
    model.write_text("from torch import nn\n\ndef build():\n"
                     "    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.PixelShuffle(2))\n")
    proc = subprocess.run([sys.executable, "-m", "archcalc", "import", f"{model}:build",
                           "--allow-unknown"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archcalc: error: cannot write node ")
    assert "op unknown" in lines[0] and "Traceback" not in proc.stderr


def test_import_refuses_a_spec_file(capsys):
    assert cli.main(["import", "specs/mobilenet_v2.yaml"]) == 2
    assert capsys.readouterr().err.startswith("archcalc: error: import takes a model")


@pytest.mark.parametrize("name,extra", [("mobilenet_v2", ("--resolution", "96")),
                                        ("se_block", ()), ("resnet18", ("--resolution", "64"))])
def test_verify_builds_a_written_spec_in_pytorch(name, extra, tmp_path, capsys):
    """`archcalc verify` on a written spec builds it in PyTorch (flatten, linear, the `act`,
    `add`, `mul`, `slice`, `view`, `copy`, `groupnorm` rows included) and agrees on params,
    MAdds (FlopCounterMode) and every op's shape."""
    _, _, graph = imported(name)
    path = tmp_path / "model.yaml"
    path.write_text(export_spec(graph))
    assert cli.main(["verify", str(path), *extra]) == 0
    assert "OK: archcalc and PyTorch agree on every layer" in capsys.readouterr().out


def test_verify_refuses_a_param_row_in_one_line(tmp_path, capsys):
    _, _, graph = imported("convnext_ish")
    path = tmp_path / "model.yaml"
    path.write_text(export_spec(graph))
    assert cli.main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no torch builder for op kind 'param'" in err


def test_identical_rows_are_one_row_with_n(tmp_path):
    """A VGG-like stack: three 3x3 convs (3 -> 16, then 16 -> 16) with a bias and ReLU, written
    as one row with n: 3 (the repeats take the row's own 16 channels); by hand: params
    3 * 16 * 9 + 16 + 2 * (16 * 16 * 9 + 16) + 16 * 16 * 16 * 10 + 10."""
    from torch import nn
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 16 * 16, 10)).eval()
    graph = archcalc.from_torch(model, input_shape=(3, 32, 32))
    text = export_spec(graph)
    rows = [line.split("  #")[0].strip() for line in text.splitlines() if line.startswith("    - ")]
    assert rows[0] == "- {op: conv, n: 3, c: 16, k: 3, padding: 1, act: relu, norm: none}"
    assert text.splitlines()[[i for i, line in enumerate(text.splitlines())
                              if line.startswith("    - ")][0]].endswith("# 0 .. 4")
    table = archcalc.analyze(compiled(text, tmp_path), "torchvision")
    assert table.total("params") == 3 * 16 * 9 + 16 + 2 * (16 * 16 * 9 + 16) + 4096 * 10 + 10
    assert table.total("madds") == (3 * 16 * 9 + 2 * 16 * 16 * 9) * 32 * 32 + 4096 * 10
