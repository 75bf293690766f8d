"""archcalc.from_onnx and `archcalc report model.onnx`: ONNX exports (torch.onnx.export,
dynamo=True, optimize=False: every parameter kept) of the same models as
tests/test_import_torch.py give the same params and MAdds as PyTorch (sum of numel,
FlopCounterMode / 2)."""
from __future__ import annotations

import json
import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxscript")

import archcalc  # noqa: E402
import reference_models as rm  # noqa: E402
import reference_torchvision as rtv  # noqa: E402
from archcalc import cli  # noqa: E402
from test_import_torch import fcm_madds as fcm_meta  # noqa: E402  (one definition)

class LeakyReorgPad(torch.nn.Module):
    """YOLOv2's leaky ReLU and passthrough reorg, NASNet's padded shifted path, in small."""
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.act = torch.nn.LeakyReLU(0.1)
        self.head = torch.nn.Conv2d(32, 4, 1)

    def forward(self, x):
        x = torch.nn.functional.pixel_unshuffle(self.act(self.conv(x)), 2)
        x = torch.nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.head(x)


class AdaptivePoolUp(torch.nn.Module):
    """VGG-16's and AlexNet's head below 224: an adaptive average pool to 7 x 7 from 5 x 5,
    which torch.onnx writes as GatherND, Where, Gather, Add and Div (no pooling operator)."""
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d((7, 7))
        self.fc = torch.nn.Linear(4 * 7 * 7, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.conv(x)), 1))


CASES = {   # name: (builder, input C x H x W)
    "adaptive_pool_up_5": (AdaptivePoolUp, (3, 5, 5)),
    "leaky_reorg_pad_64": (LeakyReorgPad, (3, 64, 64)),
    "mobilenet_v2_160": (rm.mobilenet_v2, (3, 160, 160)),
    "resnet18_224x320": (rm.resnet18, (3, 224, 320)),
    "mobilenet_v3_small_224": (rtv.mobilenet_v3_small, (3, 224, 224)),
    "shufflenet_v2_160": (lambda: rtv.shufflenet_v2("x0_5"), (3, 160, 160)),
    "vit_tiny_32": (rm.vit_tiny, (3, 32, 32)),
    "atrous_96": (rm.atrous, (3, 96, 96)),
}


def export_onnx(model, shape, path) -> None:
    """torch.onnx.export as the tests use it: dynamo, optimize=False (every parameter kept)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, *shape),), str(path), dynamo=True,
                          optimize=False, verbose=False)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = {}
    folder = tmp_path_factory.mktemp("onnx")
    torch.manual_seed(0)
    for name, (build, shape) in CASES.items():
        model = build().eval()
        path = folder / f"{name}.onnx"
        export_onnx(model, shape, path)
        out[name] = (model, shape, path)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_onnx_counts_equal_pytorch(exported, name):
    model, shape, path = exported[name]
    table = archcalc.analyze(archcalc.from_onnx(path), "torchvision")
    assert table.total("params") == sum(p.numel() for p in model.parameters())
    assert table.total("madds") == fcm_meta(model, shape)
    assert table.spec.unknown_ops == ()


def test_onnx_layers_keep_module_paths(exported):
    model, shape, path = exported["resnet18_224x320"]
    graph = archcalc.from_onnx(path)
    table = archcalc.analyze(graph, "torchvision")
    layers = {g["name"]: g for g in table.layers()}
    # conv1: 7x7/2, pad 3: 112 x 160; 64 x 3 x 49 weights + BN 128
    assert layers["conv1"]["output_shape"] == (64, 112, 160)
    assert layers["conv1"]["madds"] == 64 * 3 * 49 * 112 * 160
    assert layers["conv1"]["params"] == 64 * 3 * 49 + 128
    assert "layer4.1.conv2" in layers and "fc" in layers


def test_report_onnx_file_on_the_command_line(exported, capsys):
    model, shape, path = exported["mobilenet_v2_160"]
    rc = cli.main(["report", str(path), "-c", "torchvision", "-f", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    data = json.loads(out.out)
    assert data["totals"]["madds"] == fcm_meta(model, shape)
    assert data["model"]["source"] == "ONNX, shape inference"
    assert data["model"]["input_shape"] == [[1, 3, 160, 160]]
