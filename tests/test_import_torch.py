"""archcalc.from_torch: a PyTorch module -> the ArchGraph compile_graph returns, costed by the
same registry. Every count is checked against PyTorch itself: params = sum(p.numel()), MAdds =
torch.utils.flop_counter.FlopCounterMode's total / 2 (on the meta device, where attention is
counted: research-12 section 1; equal to a real CPU forward for the CNNs, checked once here),
on the hand-written torchvision twins (tests/reference_*.py) and models written below."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archcalc  # noqa: E402
import reference_models as rm  # noqa: E402
import reference_torchvision as rtv  # noqa: E402
from archcalc.errors import UnsupportedOpError  # noqa: E402
from archcalc.ops import OpKind  # noqa: E402


class SEBlock(nn.Module):
    """Squeeze-excitation, hardswish / silu / tanh / ELU, GroupNorm, ceil-mode and padded
    pooling, an adaptive pool to 3x3, a channel shuffle, chunk / cat, dropout."""

    def __init__(self, c=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c),
                                  nn.Hardswish())
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, 2, padding=1)
        self.fc1 = nn.Conv2d(c, 4, 1)
        self.fc2 = nn.Conv2d(4, c, 1)
        self.gn = nn.GroupNorm(4, c)
        self.dw = nn.Conv2d(c, c, 3, 1, 1, groups=c)
        self.gc = nn.Conv2d(c, 2 * c, 3, 1, 1, groups=4, bias=False)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(2 * c * 9, 10)

    def forward(self, x):
        x = self.pool(self.stem(x))
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))
        x = x * s                                        # the SE gate
        x = F.silu(self.gn(x))
        a, b = x.chunk(2, dim=1)
        x = torch.cat([torch.tanh(a), F.elu(b)], dim=1)
        n, c, h, w = x.shape                             # channel shuffle, groups 2
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        x = self.avg(F.relu6(self.dw(x)))
        x = F.adaptive_avg_pool2d(self.gc(x), 3)
        return self.head(self.drop(torch.flatten(x, 1)))


class ConvNeXtish(nn.Module):
    """A ConvNeXt block (channel-last LayerNorm and Linear, GELU, a layer-scale parameter,
    stochastic depth as identity in eval) and attention (sdpa, a matmul, a softmax), plus an
    auxiliary head that never runs in eval (its parameters still count)."""

    def __init__(self, c=24):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 4, 4)
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pw1 = nn.Linear(c, 4 * c)
        self.pw2 = nn.Linear(4 * c, c)
        self.layer_scale = nn.Parameter(torch.ones(c, 1, 1) * 1e-6)
        self.qkv = nn.Linear(c, 3 * c)
        self.proj = nn.Linear(c, c, bias=False)
        self.aux = nn.Linear(c, 5)
        self.head = nn.Linear(c, 10)

    def forward(self, x):
        x = self.stem(x)
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.pw2(F.gelu(self.pw1(self.norm(y)))).permute(0, 3, 1, 2)
        x = x + self.layer_scale * y
        t = x.flatten(2).transpose(1, 2)                 # (1, N, c) tokens
        q, k, v = self.qkv(t).reshape(1, -1, 3, 2, t.shape[-1] // 2).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v)
        w = torch.softmax(q @ k.transpose(-2, -1), dim=-1)   # an explicit attention map
        a = a + w @ v
        t = t + self.proj(a.transpose(1, 2).reshape(1, -1, t.shape[-1]))
        if self.training:
            t = t + self.aux(t)
        return self.head(t[:, 0])


MODELS = {
    "mobilenet_v2": rm.mobilenet_v2, "resnet18": rm.resnet18, "vit_tiny": rm.vit_tiny,
    "mobilenet_v3_small": rtv.mobilenet_v3_small, "efficientnet_b0": rtv.efficientnet_b0,
    "shufflenet_v2": lambda: rtv.shufflenet_v2("x1_0"), "se_block": SEBlock,
    "convnextish": ConvNeXtish, "atrous": rm.atrous,
}
SHAPES = {"224": (3, 224, 224), "160": (3, 160, 160), "224x320": (3, 224, 320)}
CASES = [(m, r) for m in MODELS if m != "vit_tiny" for r in ("224", "160")] + \
    [("mobilenet_v2", "224x320"), ("se_block", "224x320"), ("vit_tiny", "32")]
SHAPES["32"] = (3, 32, 32)


@pytest.fixture(scope="module")
def built():
    torch.manual_seed(0)
    return {name: make().eval() for name, make in MODELS.items()}


def fcm_madds(model, shape) -> int:
    """FlopCounterMode's total / 2 on the meta device (no arithmetic), MHA fast path off."""
    meta = {k: torch.empty_like(v, device="meta") for k, v in
            list(model.named_parameters()) + list(model.named_buffers())}
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            torch.func.functional_call(model, meta, (torch.empty(1, *shape, device="meta"),))
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("name, res", CASES)
def test_params_and_madds_equal_pytorch(built, name, res):
    model = built[name]
    graph = archcalc.from_torch(model, input_shape=SHAPES[res])
    table = archcalc.analyze(graph, "torchvision")
    assert table.total("params") == sum(p.numel() for p in model.parameters())
    assert table.total("madds") == fcm_madds(model, SHAPES[res])
    assert table.total("madds") > 0


@pytest.mark.parametrize("name", ["resnet18", "se_block"])
def test_export_method_gives_the_same_counts(built, name):
    model = built[name]
    a = archcalc.analyze(archcalc.from_torch(model, input_shape=(3, 96, 96)), "torchvision")
    b = archcalc.analyze(archcalc.from_torch(model, input_shape=(3, 96, 96), method="export"),
                         "torchvision")
    assert a.totals["madds"] == b.totals["madds"] == fcm_madds(model, (3, 96, 96))
    assert a.totals["params"] == b.totals["params"]


def test_real_forward_count_equals_meta_for_a_cnn(built):
    model = built["mobilenet_v3_small"]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, 160, 160))
    table = archcalc.analyze(archcalc.from_torch(model, input_shape=(3, 160, 160)), "torchvision")
    assert table.total("madds") == counter.get_total_flops() // 2


def test_layers_read_like_the_module_tree(built):
    table = archcalc.analyze(archcalc.from_torch(built["resnet18"], input_shape=(3, 64, 64)),
                             "torchvision")
    layers = {g["name"]: g for g in table.layers()}
    names = list(layers)
    assert names[:9] == ["input", "conv1", "maxpool", "layer1.0.conv1", "layer1.0.conv2",
                         "layer1.0", "layer1.1.conv1", "layer1.1.conv2", "layer1.1"]
    assert layers["conv1"]["ops"] == ["conv 7x7/2", "bn", "relu"]
    assert layers["layer1.0"]["ops"] == ["add", "relu"]
    assert layers["layer2.0.downsample"]["ops"] == ["pwconv 1x1/2", "bn"]
    # conv1: 64 x 3 x 7 x 7 weights + BN 2 x 64; 32 x 32 outputs at 64 x 64 input
    assert layers["conv1"]["params"] == 64 * 3 * 49 + 128
    assert layers["conv1"]["madds"] == 64 * 3 * 49 * 32 * 32
    assert layers["conv1"]["output_shape"] == (64, 32, 32)
    assert names[-1] == "fc" and layers["fc"]["params"] == 512 * 1000 + 1000
    assert {g["block"] for g in table.layers()} == {"input", "conv1", "maxpool", "layer1",
                                                    "layer2", "layer3", "layer4", "avgpool",
                                                    "view", "fc"}
    mb = archcalc.analyze(archcalc.from_torch(built["mobilenet_v2"], input_shape=(3, 64, 64)),
                          "torchvision")
    groups = {g["name"]: g["ops"] for g in mb.layers()}
    assert groups["features.0"] == ["conv 3x3/2", "bn", "relu6"]      # Conv2dNormActivation
    assert groups["features.2.conv.1"] == ["dwconv 3x3/2", "bn", "relu6"]
    assert groups["features.2.conv.2"] == ["pwconv 1x1", "bn"]
    assert groups["features.3"] == ["add"]                             # the residual


def test_node_names_are_module_paths(built):
    graph = archcalc.from_torch(built["mobilenet_v2"], input_shape=(3, 64, 64))
    assert "features.3.conv.1.0" in graph and graph.op("features.3.conv.1.0").kind.value == "depthwise"
    assert graph.op("features.3.conv.1.1").kind.value == "bn"
    assert graph.op("classifier.1").kind.value == "linear"


def test_naive_peak_memory_by_hand():
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv(x)), 2)
            return self.fc(x.flatten(1))

    table = archcalc.analyze(archcalc.from_torch(Tiny(), input_shape=(3, 8, 8)), "torchvision")
    # fp32: input 3x8x8 = 768 B, conv 4x8x8 = 1024 B (relu in place), pool 4x4x4 = 256 B
    # (flatten is a view of it), fc 10 = 40 B. Live while the conv runs: 768 + 1024.
    assert [r.memory_bytes for r in table.rows] == [768, 1024, 0, 256, 0, 40]
    assert [r.live_bytes for r in table.rows] == [768, 1792, 1024, 1280, 256, 296]
    assert table.total("peak_memory_bytes") == 1792
    assert table.total("params") == 4 * 27 + 4 + 640 + 10
    assert table.total("madds") == 4 * 27 * 64 + 640


class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.up = nn.PixelShuffle(2)

    def forward(self, x):
        x = torch.cumsum(self.conv(x), 1)
        return torch.cumsum(self.up(x), 1)


def test_unknown_ops_are_an_error_listing_each():
    with pytest.raises(UnsupportedOpError) as err:
        archcalc.from_torch(Odd(), input_shape=(3, 8, 8))
    text = str(err.value)
    assert "\n" not in text
    assert "2 op(s)" not in text and "3 op(s)" in text
    assert "aten.cumsum.default at <root> x2" in text
    assert "aten.pixel_shuffle.default at up x1" in text
    assert "--allow-unknown" in text


def test_allow_unknown_counts_zero_and_warns():
    graph = archcalc.from_torch(Odd(), input_shape=(3, 8, 8), allow_unknown=True)
    table = archcalc.analyze(graph, "torchvision")
    assert table.total("madds") == 4 * 27 * 64              # the conv alone
    assert table.total("params") == 4 * 27 + 4
    warnings = graph.spec.warnings
    assert warnings == ["unknown op aten.cumsum.default at <root> x2: counted as zero",
                        "unknown op aten.pixel_shuffle.default at up x1: counted as zero"]
    data = table.to_dict()
    assert data["warnings"] == warnings
    from archcalc.report.render import render
    assert "warnings:" in render(table, "table") and "# warning: unknown op" in render(table, "csv")


class Resampling(nn.Module):
    """DeepLab-style resampling: bilinear to a size, nearest by a factor, between convs."""
    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3, 4, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = nn.Conv2d(8, 5, 1)

    def forward(self, x):
        y = self.up(self.down(x))
        y = F.interpolate(self.head(y), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return y


@pytest.mark.parametrize("shape", [(3, 32, 32), (3, 24, 40)])
def test_upsampling_maps_onto_the_upsample_rule(shape):
    """Bilinear and nearest resampling are upsample ops with the captured sizes; no MAdds (as
    FlopCounterMode counts none), so the totals are the convs': by hand and by PyTorch."""
    model = Resampling().eval()
    graph = archcalc.from_torch(model, input_shape=shape)
    ups = [graph.op(n) for n in graph.names if graph.op(n).kind is OpKind.UPSAMPLE]
    assert [(op.mode, op.size) for op in ups] == [
        ("nearest", (shape[1] // 2, shape[2] // 2)), ("bilinear", shape[1:])]
    h, w = shape[1] // 4, shape[2] // 4
    by_hand = 8 * 3 * 9 * h * w + 5 * 8 * (2 * h) * (2 * w)
    table = archcalc.analyze(graph, "torchvision")
    assert table.total("madds") == by_hand == fcm_madds(model, shape)
    assert table.total("params") == sum(p.numel() for p in model.parameters())


def test_batch_must_be_one():
    with pytest.raises(archcalc.OptionError, match="batch size 1"):
        archcalc.from_torch(nn.Conv2d(3, 4, 1), torch.empty(2, 3, 8, 8))


@pytest.mark.parametrize("r", [224, 160])
def test_memory_equals_the_spec_of_the_same_network(built, r):
    """The twin's imported graph runs the ops in the spec's order: the naive peak, the streamed
    peak (17 inverted-residual blocks recognised, MobileNetV2 Sec. 5.1) and all activation
    bytes equal specs/mobilenet_v2.yaml's (whose memory tests/test_mobilenet_v2.py checks
    against the paper's Table 3)."""
    graph = archcalc.from_torch(built["mobilenet_v2"], input_shape=(3, r, r))
    groups = {graph.op(n).stream_group for n in graph.names} - {None}
    assert len(groups) == 17
    ours = archcalc.analyze(graph, "torchvision").totals
    spec = archcalc.evaluate("specs/mobilenet_v2.yaml", 1, r, convention="torchvision").totals
    for key in ("peak_memory_bytes", "peak_memory_bytes_streamed", "activation_bytes"):
        assert ours[key] == spec[key]
    assert ours["peak_memory_bytes_streamed"] < ours["peak_memory_bytes"]


class Shared(nn.Module):
    """A conv and a BN called twice, a Linear sharing another's weight (its own bias), and a
    parameter read by two ops."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.a = nn.Linear(256, 8)
        self.b = nn.Linear(256, 8)
        self.b.weight = self.a.weight
        self.p = nn.Parameter(torch.ones(8))

    def forward(self, x):
        x = self.bn(self.c(self.bn(self.c(x)))).flatten(1)
        return self.a(x) * self.p + self.b(x) + self.p


def test_parameters_read_twice_count_once():
    model = Shared()
    table = archcalc.analyze(archcalc.from_torch(model, input_shape=(4, 8, 8)), "torchvision")
    # conv 4x4x3x3 + 4, BN 8, linear 256 x 8 shared + two biases 8 + 8, p 8
    assert sum(p.numel() for p in model.parameters()) == 148 + 8 + 2048 + 16 + 8
    assert table.total("params") == 148 + 8 + 2048 + 16 + 8
    assert table.total("bn_params") == 8
    # MAdds count every call: two convs of 4 x 36 x 64 and two linears of 256 x 8
    assert table.total("madds") == 2 * 4 * 36 * 64 + 2 * 2048 == fcm_madds(model, (4, 8, 8))
