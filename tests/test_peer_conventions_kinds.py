"""The peer conventions (archcalc.cost.peers, peer_kinds) on the op kinds added after the first
five presets, against the installed tools (the runners of tests/test_peer_conventions.py):

* detection / segmentation kinds of the spec language (upsample, space-to-depth, L2Norm,
  dilated convs, ceil-mode pools, leaky ReLU): the hand-written twins of
  tests/reference_detection.py and tests/reference_segmentation.py against their zoo specs
  (SSD300-VGG16, YOLOv2, LR-ASPP and DeepLabv3 on MobileNetV3-Large, DeepLabv3 on MobileNetV2);
* kinds of imported models (parameter, linear, layer / group norm, adaptive pooling, matmul,
  attention, softmax, view, copy): small modules written here, imported with
  archcalc.from_torch and counted under each preset, against the tool on the same module.

Totals must equal each tool's own; params too, for the tools that count every parameter
(fvcore, ptflops, torchinfo; thop counts only the parameters of the leaf modules it hooks).
"""
from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import archcalc  # noqa: E402
import reference_detection as det      # noqa: E402  (tests/ is on sys.path via conftest)
import reference_segmentation as seg   # noqa: E402
from test_peer_conventions import RUNNERS, _package, _quiet  # noqa: E402

nn, F = torch.nn, torch.nn.functional
SPECS = Path(__file__).resolve().parent.parent / "specs"
ALL_PARAMS = ("fvcore", "ptflops", "torchinfo")

# id -> (spec, resolution, --set, twin builder)
DETECTION = {
    "ssd300_vgg16-300": ("ssd300_vgg16.yaml", 300, {"num_classes": "91"},
                         lambda: det.ssd300_vgg16(91)),
    "yolov2-128": ("yolov2.yaml", 128, {"num_classes": "80", "passthrough_conv": "true"},
                   lambda: det.yolov2(80, True)),
    "lraspp_mobilenet_v3_large-128": ("lraspp_mobilenet_v3_large.yaml", 128,
                                      {"num_classes": "21"},
                                      lambda: seg.lraspp_mobilenet_v3_large(21)),
    "deeplabv3_mobilenet_v3_large-96": ("deeplabv3_mobilenet_v3_large.yaml", 96,
                                        {"num_classes": "21"},
                                        lambda: seg.deeplabv3_mobilenet_v3_large(21)),
    "deeplabv3_mobilenet_v2-os8-96": ("deeplabv3_mobilenet_v2.yaml", 96,
                                      {"num_classes": "21", "output_stride": "8",
                                       "aspp": "true"},
                                      lambda: seg.deeplabv3_mobilenet_v2(8, True)),
}
_measured: dict = {}


def measure(key, tool, build, x):
    """(total, params or None) of `tool` on a fresh model, once per key and tool."""
    if (key, tool) not in _measured:
        _package(tool)
        model = build().eval()
        with _quiet(), torch.no_grad():
            total, params, _ = RUNNERS[tool](model, x)
        _measured[key, tool] = (total, params, sum(p.numel() for p in model.parameters()))
    return _measured[key, tool]


@pytest.mark.parametrize("tool", list(RUNNERS))
@pytest.mark.parametrize("model_id", list(DETECTION))
def test_detection_and_segmentation_specs_equal_the_tool(model_id, tool):
    spec, resolution, sets, build = DETECTION[model_id]
    total, params, numel = measure(model_id, tool, build, torch.zeros(1, 3, resolution,
                                                                       resolution))
    t = archcalc.evaluate(SPECS / spec, None, resolution, sets=sets, convention=tool).totals
    assert t["madds"] == total
    assert t["params"] == numel          # every parameter, as FlopCounterMode's twin test
    if tool in ALL_PARAMS:
        assert t["params"] == params


# ---- imported models: one small module per family of kinds

class ViTBlock(nn.Module):
    """A pre-norm transformer block: position embedding (a parameter), LayerNorm, qkv Linear,
    F.scaled_dot_product_attention, projection, MLP with nn.GELU; 16 tokens of width 32."""
    def __init__(self, d=32, heads=4, tokens=16):
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(1, tokens, d))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.act, self.fc2 = nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d)
        self.heads = heads

    def attend(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)

    def forward(self, x):
        x = x + self.pos
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, self.heads, d // self.heads) \
            .permute(2, 0, 3, 1, 4)
        x = x + self.proj(self.attend(q, k, v).transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(self.act(self.fc1(self.ln2(x))))


class MatmulViTBlock(ViTBlock):
    """The same block with attention written out: torch.matmul, nn.Softmax(dim=-1)."""
    def __init__(self):
        super().__init__()
        self.softmax = nn.Softmax(dim=-1)

    def attend(self, q, k, v):
        scores = torch.matmul(q, k.transpose(-2, -1))
        return torch.matmul(self.softmax(scores), v)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block (Liu et al. 2022, Fig. 4): 7x7 depthwise conv, permute, LayerNorm,
    Linear 4x, GELU, Linear, layer scale (a parameter times x), permute, residual add."""
    def __init__(self, c=16):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm, self.fc1, self.act = nn.LayerNorm(c), nn.Linear(c, 4 * c), nn.GELU()
        self.fc2 = nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.full((c,), 1e-6))

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.gamma * self.fc2(self.act(self.fc1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class NormsAndPools(nn.Module):
    """Conv + GroupNorm + ReLU, then adaptive average pooling 7x7 -> 3x3 (windows that
    overlap: a fractional kernel for thop) and adaptive max pooling to 2x2, concatenated."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.gn, self.gn_plain = nn.GroupNorm(2, 8), nn.GroupNorm(4, 8, affine=False)
        self.relu = nn.ReLU()
        self.avg, self.max = nn.AdaptiveAvgPool2d((3, 3)), nn.AdaptiveMaxPool2d(2)
        self.fc = nn.Linear(8 * 13, 10)

    def forward(self, x):
        x = self.gn_plain(self.relu(self.gn(self.conv(x))))
        x = torch.cat([torch.flatten(self.avg(x), 1), torch.flatten(self.max(x), 1)], 1)
        return self.fc(x)


IMPORTED = {   # id -> (builder, input shape, capture method)
    "vit-sdpa": (ViTBlock, (1, 16, 32), "export"),
    "vit-matmul": (MatmulViTBlock, (1, 16, 32), "dispatch"),
    "convnext-block": (ConvNeXtBlock, (1, 16, 14, 14), "dispatch"),
    "groupnorm-adaptive-pools": (NormsAndPools, (1, 3, 14, 14), "dispatch"),
}


@pytest.mark.parametrize("tool", list(RUNNERS))
@pytest.mark.parametrize("model_id", list(IMPORTED))
def test_imported_models_equal_the_tool(model_id, tool):
    build, shape, method = IMPORTED[model_id]
    total, params, numel = measure(model_id, tool, build, torch.zeros(shape))
    torch.manual_seed(0)
    graph = archcalc.from_torch(build().eval(), torch.zeros(shape), method=method)
    t = archcalc.analyze(graph, tool).totals
    assert t["madds"] == total
    assert t["params"] == numel
    if tool in ALL_PARAMS:
        assert t["params"] == params


def test_the_imported_models_have_the_kinds_they_test():
    """The models above reach every imported kind with a peer rule of its own."""
    kinds = set()
    for build, shape, method in IMPORTED.values():
        graph = archcalc.from_torch(build().eval(), torch.zeros(shape), method=method)
        kinds |= {graph.op(n).kind.value for n in graph.names}
        norms = {graph.op(n).norm for n in graph.names if graph.op(n).kind.value == "norm"}
        kinds |= {f"norm:{n}" for n in norms}
    assert {"param", "linear", "norm:layer", "norm:group", "adaptive_pool", "matmul",
            "attention", "softmax", "view", "mul", "add", "depthwise"} <= kinds


def test_thop_adaptive_average_pool_kernel_by_hand():
    """thop's count_adap_avgpool on 8 x 7x7 -> 3x3: kernel (7/3)^2 = 49/9 (float64), + 1,
    times the 8 * 9 outputs: 58/9 * 72 = 464 (the rule by hand; the tool in the test above)."""
    from archcalc.cost.peer_kinds import KINDS
    from archcalc.ops import Op, OpKind
    op = Op(OpKind.ADAPTIVE_POOL, "p", "p", "p", pool="avg", size=(3, 3))
    parts = KINDS["thop"][OpKind.ADAPTIVE_POOL].parts(op, [(8, 7, 7)], (8, 3, 3), None)
    assert parts == {"pooling": 58 * 8}


def test_every_imported_activation_has_a_ptflops_factor():
    """Every activation name archcalc.imported gives an op (aten.py) has a ptflops rule."""
    from archcalc.cost import peers
    from archcalc.imported import aten
    names = set(aten.ACTIVATIONS.values()) | {"hardtanh"} | \
        {f"{op} const" for op in ("add", "sub", "rsub", "mul", "div")}
    assert names <= set(peers.PTFLOPS_ACT_MODULE) & set(peers.PTFLOPS_ACT_FUNCTIONAL)


@pytest.mark.parametrize("model_id, unhooked", [
    ("ssd300_vgg16-300", lambda m: m.backbone.scale_weight.numel()),
    ("groupnorm-adaptive-pools", lambda m: m.gn.weight.numel() + m.gn.bias.numel()),
    ("convnext-block", lambda m: m.gamma.numel()),
])
def test_thop_params_leave_out_unhooked_parameters(model_id, unhooked):
    """thop counts the parameters of the leaf modules it hooks only (docs/conventions.md)."""
    if model_id in DETECTION:
        spec, resolution, sets, build = DETECTION[model_id]
        x = torch.zeros(1, 3, resolution, resolution)
    else:
        build, shape, _ = IMPORTED[model_id]
        x = torch.zeros(shape)
    _, params, numel = measure(model_id, "thop", build, x)
    assert params == numel - unhooked(build())
