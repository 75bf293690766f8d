"""SSD's L2 normalisation imported as one `l2norm` op (issue 12; archcalc/imported/l2norm.py).

torchvision's SSD writes conv4_3's L2Norm `scale_weight.view(1, -1, 1, 1) * F.normalize(x)`
(Liu et al. 2016, Sec. 3.1); the captures record it as a norm, a clamp, an expand, a div and a
mul. Here: a small module written with it, imported with from_torch (both capture methods) and
from_onnx (both torch.onnx exporters), gives one L2NORM op and the counts derived by hand below
and by PyTorch (sum of numel, FlopCounterMode / 2) and by the peer tools on the same module;
a pattern only partly present is an unknown op, named; the SSD300 / SSD512 VGG-16 twins report,
verify and round-trip through `archcalc import` without --allow-unknown.

Hand count of `Normed` (conv 3x3, 3 -> 8 channels, bias, padding 1, on 3 x 6 x 6; then the L2
normalisation with an 8-element scale):
  params: conv 8 x 3 x 3 x 3 + 8 = 224, scale 8 -> 232
  MAdds: conv 8 x 6 x 6 x 27 = 7,776; the normalisation none (FlopCounterMode counts no norm,
         div or mul; the spec's l2norm row no MAdds)
  element-wise ops: the l2norm row's 3 per element, 3 x 8 x 6 x 6 = 864
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import archcalc  # noqa: E402
import reference_detection as rd  # noqa: E402  (tests/ is on sys.path via conftest)
from archcalc import cli  # noqa: E402
from archcalc.errors import UnsupportedOpError  # noqa: E402
from archcalc.export import export_spec, round_trip_differences  # noqa: E402
from test_import_onnx import export_onnx, fcm_meta  # noqa: E402

nn, F = torch.nn, torch.nn.functional
ROOT = Path(__file__).resolve().parent.parent
SHAPE = (3, 6, 6)
PARAMS = 8 * 3 * 3 * 3 + 8 + 8
MADDS = 8 * 6 * 6 * 27
ELEMENTWISE = 3 * 8 * 6 * 6


class Normed(nn.Module):
    """A conv, then SSD's L2Norm as torchvision writes it (`scale_first`) or with the operands
    of the product the other way round, the scale a [C] parameter viewed as 1 x C x 1 x 1 or a
    1 x C x 1 x 1 parameter itself (`shaped`)."""
    def __init__(self, scale_first=True, shaped=False):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.scale_first, self.shaped = scale_first, shaped
        self.scale_weight = nn.Parameter(torch.full((1, 8, 1, 1) if shaped else (8,), 20.0))

    def forward(self, x):
        x = self.conv(x)
        w = self.scale_weight if self.shaped else self.scale_weight.view(1, -1, 1, 1)
        return w * F.normalize(x) if self.scale_first else F.normalize(x) * w


class Partial(nn.Module):
    """Variants that are not SSD's L2Norm: each must stay an unknown op."""
    def __init__(self, variant):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.scale_weight = nn.Parameter(torch.full((8,), 20.0))
        self.variant = variant

    def forward(self, x):
        x = self.conv(x)
        w = self.scale_weight.view(1, -1, 1, 1)
        if self.variant == "dim2":
            return w * F.normalize(x, dim=2)
        if self.variant == "p1":
            return w * F.normalize(x, p=1.0)
        if self.variant == "no_eps":          # x / ||x|| without F.normalize's clamp
            return w * (x / x.norm(dim=1, keepdim=True))
        raise ValueError(self.variant)


class Unscaled(nn.Module):
    """F.normalize without the per-channel scale product: alone, or its result also read by
    something else (an output) beside the product."""
    def __init__(self, read_twice=False):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.read_twice = read_twice
        self.scale_weight = nn.Parameter(torch.full((8,), 20.0)) if read_twice else None

    def forward(self, x):
        y = F.normalize(self.conv(x))
        if self.read_twice:
            return self.scale_weight.view(1, -1, 1, 1) * y, y
        return y


def kinds(graph) -> list:
    return [graph.op(n).kind.value for n in graph.names]


def check_counts(graph) -> None:
    assert kinds(graph) == ["input", "conv", "l2norm"]
    for convention in ("paper", "torchvision"):
        t = archcalc.analyze(graph, convention).totals
        assert (t["params"], t["madds"], t["elementwise_ops"]) == (PARAMS, MADDS, ELEMENTWISE)


@pytest.mark.parametrize("method", ["dispatch", "export"])
@pytest.mark.parametrize("scale_first, shaped", [(True, False), (False, False), (True, True)])
def test_torch_import_is_one_l2norm_op(method, scale_first, shaped):
    model = Normed(scale_first, shaped).eval()
    check_counts(archcalc.from_torch(model, input_shape=SHAPE, method=method))
    # independently of archcalc: PyTorch's own counts of the module
    assert sum(p.numel() for p in model.parameters()) == PARAMS
    assert fcm_meta(model, SHAPE) == MADDS


@pytest.mark.parametrize("how", ["dynamo", "dynamo-optimized", "torchscript-11",
                                 "torchscript-18"])
def test_onnx_import_is_one_l2norm_op(how, tmp_path):
    """ONNX: ReduceL2 -> Clip -> Expand -> Div -> Mul, the scale an initializer (optimize
    folds the view) or a Reshape of one; the TorchScript exporter at opset 11 gives the Expand
    an unknown shape, at 18 the axes an input."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    path = tmp_path / "normed.onnx"
    model = Normed().eval()
    if how == "dynamo":
        export_onnx(model, SHAPE, path)
    else:
        kwargs = {"dynamo": True} if how == "dynamo-optimized" else \
            {"dynamo": False, "opset_version": int(how.rpartition("-")[2])}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.randn(1, *SHAPE),), str(path), **kwargs)
    check_counts(archcalc.from_onnx(str(path)))


def test_onnx_lp_normalization_times_a_scale():
    """LpNormalization(axis=1, p=2) stands for the norm, clamp, expand and div."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    scale = helper.make_tensor("scale", TensorProto.FLOAT, (1, 8, 1, 1), [20.0] * 8)

    def model(p, axis):
        nodes = [helper.make_node("LpNormalization", ["x"], ["n"], axis=axis, p=p),
                 helper.make_node("Mul", ["n", "scale"], ["y"])]
        graph = helper.make_graph(nodes, "lp", [helper.make_tensor_value_info(
            "x", TensorProto.FLOAT, (1, 8, 6, 6))], [helper.make_tensor_value_info(
                "y", TensorProto.FLOAT, (1, 8, 6, 6))], [scale])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])

    graph = archcalc.from_onnx(model(2, 1))
    assert kinds(graph) == ["input", "l2norm"]
    t = archcalc.analyze(graph, "torchvision").totals
    assert (t["params"], t["madds"], t["elementwise_ops"]) == (8, 0, 3 * 8 * 36)
    assert onnx.checker.check_model(model(2, 1)) is None
    with pytest.raises(UnsupportedOpError, match=r"LpNormalization \(p=1\) at <root> x1"):
        archcalc.from_onnx(model(1, 1))
    with pytest.raises(UnsupportedOpError, match=r"LpNormalization \(over axis 2\) at <root>"):
        archcalc.from_onnx(model(2, 2))


@pytest.mark.parametrize("variant, why", [
    ("dim2", r"over axes \[2\]"),
    ("p1", "ord=1.0"),
    ("no_eps", r"not part of F.normalize\(x, dim=1\)"),
])
def test_a_partial_pattern_is_an_unknown_op(variant, why):
    model = Partial(variant).eval()
    with pytest.raises(UnsupportedOpError,
                       match=rf"aten\.linalg_vector_norm\.default \({why}\) at <root> x1"):
        archcalc.from_torch(model, input_shape=SHAPE)
    # --allow-unknown: the norm counted as zero, the rest imported as captured
    graph = archcalc.from_torch(model, input_shape=SHAPE, allow_unknown=True)
    assert "unknown" in kinds(graph) and "l2norm" not in kinds(graph)
    t = archcalc.analyze(graph, "torchvision").totals
    assert t["params"] == sum(p.numel() for p in model.parameters())


def test_f_normalize_without_a_scale_is_an_l2norm_without_affine():
    """No scale product: an l2norm row with `affine: false`: conv 224 params, 7,776 MAdds, the
    normalisation 2 element-wise ops per element (2 x 288 = 576), no weights."""
    graph = archcalc.from_torch(Unscaled().eval(), input_shape=SHAPE)
    assert kinds(graph) == ["input", "conv", "l2norm"]
    t = archcalc.analyze(graph, "torchvision").totals
    assert (t["params"], t["madds"], t["elementwise_ops"]) == (224, MADDS, 2 * 8 * 36)
    text = export_spec(graph)
    assert "{op: l2norm, affine: false}" in text
    assert round_trip_differences(graph, text) == []
    # the normalised tensor also returned: the product by the scale is a mul by a param
    model = Unscaled(read_twice=True).eval()
    graph = archcalc.from_torch(model, input_shape=SHAPE)
    assert kinds(graph) == ["input", "conv", "l2norm", "param", "mul"]
    t = archcalc.analyze(graph, "torchvision").totals
    assert (t["params"], t["madds"]) == (sum(p.numel() for p in model.parameters()), MADDS)


def test_the_unscaled_row_builds_in_pytorch(tmp_path):
    """`{op: l2norm, affine: false}` compiles and builds (torch_backend) to F.normalize alone:
    no parameter, and the module's output is F.normalize of its input."""
    from archcalc.torch_backend.build import L2Norm
    x = torch.randn(1, 8, 6, 6)
    plain, scaled = L2Norm(8, affine=False), L2Norm(8)
    assert list(plain.parameters()) == [] and sum(p.numel() for p in scaled.parameters()) == 8
    assert torch.equal(plain(x), F.normalize(x))
    assert torch.allclose(scaled(x), 20 * F.normalize(x))


def test_a_partial_pattern_fails_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "partial.py"
    path.write_text("import sys\nsys.path.insert(0, %r)\nfrom test_import_l2norm import Partial"
                    "\n\ndef build():\n    return Partial('dim2')\n" % str(ROOT / "tests"))
    assert cli.main(["report", f"{path}:build", "--input-shape", "3x6x6"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("archcalc: error: build: 1 op(s) archcalc has "
                                               "no rule for: aten.linalg_vector_norm.default "
                                               "(over axes [2]) at <root> x1")


@pytest.mark.parametrize("build", [Normed, Unscaled], ids=["scaled", "unscaled"])
@pytest.mark.parametrize("tool", ["fvcore", "ptflops", "thop", "torchinfo", "torchprofile"])
def test_peer_conventions_equal_the_tool(tool, build):
    """The l2norm op's peer rules (cost/peer_kinds.py) on the imported module equal each tool
    on the same module, with and without the scale."""
    from test_peer_conventions import RUNNERS, _package, _quiet
    _package(tool)
    x = torch.zeros(1, *SHAPE)
    with _quiet(), torch.no_grad():
        total, params, _ = RUNNERS[tool](build().eval(), x)
    t = archcalc.analyze(archcalc.from_torch(build().eval(), x), tool).totals
    assert t["madds"] == total
    assert t["params"] == sum(p.numel() for p in build().parameters())
    if tool in ("fvcore", "ptflops", "torchinfo"):
        assert t["params"] == params


def test_round_trip_of_the_small_module(tmp_path):
    graph = archcalc.from_torch(Normed().eval(), input_shape=SHAPE)
    text = export_spec(graph)
    assert "{op: l2norm" in text
    assert round_trip_differences(graph, text) == []
    path = tmp_path / "normed.yaml"
    path.write_text(text)
    spec_graph = archcalc.compile_graph(archcalc.load(str(path)))
    check_counts(spec_graph)


# ---- the SSD twins (tests/reference_detection.py) --------------------------------------------

SSD = {   # id -> (twin reference, builder, resolution)
    "ssd300": ("tests/reference_detection.py:ssd300_vgg16", rd.ssd300_vgg16, 300),
    "ssd512": ("tests/reference_detection.py:ssd512_vgg16", rd.ssd512_vgg16, 512),
    "ssd512-torchvision": ("tests/reference_detection.py:ssd512_vgg16",
                           lambda: rd.ssd512_vgg16(layout="torchvision"), 512),
}


@pytest.fixture(scope="module")
def pytorch_counts():
    """(sum of numel, FlopCounterMode / 2) of each twin, on the meta device."""
    out = {}
    for key, (_, build, r) in SSD.items():
        with torch.device("meta"):
            model = build()
        out[key] = (sum(p.numel() for p in model.parameters()), fcm_meta(model, (3, r, r)))
    return out


def _report(capsys, *args) -> dict:
    assert cli.main(["report", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("key", list(SSD))
def test_ssd_twins_report_without_allow_unknown(key, pytorch_counts, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    ref, _, r = SSD[key]
    sets = ["--set", "layout=torchvision"] if key.endswith("torchvision") else []
    d = _report(capsys, ref, *sets, "--resolution", str(r), "--convention", "torchvision")
    assert d["warnings"] == []
    assert (d["totals"]["params"], d["totals"]["madds"]) == pytorch_counts[key]
    assert sum(1 for row in d["layers"] if row["op"] == "l2norm") == 1


def test_ssd300_import_round_trips_on_the_command_line(tmp_path, capsys, monkeypatch,
                                                      pytorch_counts):
    monkeypatch.chdir(ROOT)
    ref = SSD["ssd300"][0]
    out = tmp_path / "ssd.yaml"
    assert cli.main(["import", ref, "--resolution", "300", "-o", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}:")
    assert "{op: l2norm" in out.read_text()
    for convention in ("paper", "torchvision"):
        a = _report(capsys, ref, "--resolution", "300", "--convention", convention)
        b = _report(capsys, str(out), "--convention", convention)
        assert a["totals"] == b["totals"]      # params, MAdds and the memory metrics
        strip = [{k: v for k, v in row.items() if k not in ("name", "block")}
                 for row in a["layers"]]
        assert strip == [{k: v for k, v in row.items() if k not in ("name", "block")}
                         for row in b["layers"]]
    assert (b["totals"]["params"], b["totals"]["madds"]) == pytorch_counts["ssd300"]


def test_ssd512_import_round_trips(pytorch_counts):
    with torch.device("meta"):
        model = rd.ssd512_vgg16()
    graph = archcalc.from_torch(model, input_shape=(3, 512, 512))
    text = export_spec(graph)
    assert round_trip_differences(graph, text) == []
    t = archcalc.analyze(graph, "torchvision").totals
    assert (t["params"], t["madds"]) == pytorch_counts["ssd512"]


def test_ssd300_memory_is_the_spec_rows(capsys, monkeypatch):
    """The imported l2norm owns one new tensor, as the spec's l2norm row (docs/memory.md):
    512 x 38 x 38 fp32 = 2,957,312 bytes; the naive peaks of twin and spec agree."""
    monkeypatch.chdir(ROOT)
    twin = _report(capsys, SSD["ssd300"][0], "--resolution", "300", "-c", "torchvision")
    spec = _report(capsys, "specs/ssd300_vgg16.yaml", "--set", "num_classes=91",
                   "-c", "torchvision")
    rows = [[{k: row[k] for k in ("output_shape", "params", "madds", "memory_bytes")}
             for row in d["layers"] if row["op"] == "l2norm"] for d in (twin, spec)]
    assert rows[0] == rows[1] == [{"output_shape": [512, 38, 38], "params": 512, "madds": 0,
                                   "memory_bytes": 512 * 38 * 38 * 4}]
    assert twin["totals"]["peak_memory_bytes"] == spec["totals"]["peak_memory_bytes"]
