"""Every zoo spec against its hand-written PyTorch twin: `archcalc verify SPEC --against
tests/reference_X.py:build` (archcalc/cli/models.py, archcalc/cli/verify_layers.py) agrees on
params, MAdds and every conv / linear layer's output shape, params and MAdds.

The twins (tests/reference_*.py) are plain PyTorch, transcribed from torchvision's or the
papers' reference code, never generated from a spec. Besides verify's own comparison, each
case checks the model side independently: the params and MAdds verify prints for the model
equal sum(p.numel()) and FlopCounterMode's total / 2 of the twin built here (once per case, on
the meta device). Resolutions are
small where the spec allows it (a classifier's layer shapes scale; detection and segmentation
specs keep their base resolution: their heads' sizes are fixed).
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from archcalc import cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TV = "tests/reference_torchvision.py"
OK = "OK: the spec and the model agree on params, MAdds and every conv / linear layer's"

# (spec, twin, --set values for the spec and the twin's callable, other options)
CASES = [
    ("mobilenet_v2", "reference_models.py:mobilenet_v2", {}, ["--resolution", "96"]),
    ("mobilenet_v2", "reference_models.py:mobilenet_v2", {"width_mult": 0.75},
     ["--width", "0.75", "--resolution", "96"]),
    ("mobilenet_v2", "reference_models.py:mobilenet_v2", {"width_mult": 1.4},
     ["--width", "1.4", "--resolution", "96"]),
    ("mobilenet_v1", "reference_mobilenet_v1.py:mobilenet_v1", {}, ["--resolution", "96"]),
    ("mobilenet_v1", "reference_mobilenet_v1.py:mobilenet_v1", {"depth_multiplier": 0.75},
     ["--width", "0.75", "--resolution", "96"]),
    ("mobilenet_v1", "reference_mobilenet_v1.py:mobilenet_v1", {"depth_multiplier": 0.25},
     ["--width", "0.25", "--resolution", "96"]),
    *[("shufflenet_v1", "reference_mobilenet_v1.py:shufflenet_v1", {"groups": g},
       ["--resolution", "96"]) for g in (1, 2, 3, 4, 8)],
    *[("shufflenet_v1", "reference_mobilenet_v1.py:shufflenet_v1",
       {"groups": g, "model_size": f"{s}x"}, ["--width", s, "--resolution", "96"])
      for g in (3, 8) for s in ("0.5", "2.0")],
    ("mobilenet_v3_large", "reference_torchvision.py:mobilenet_v3_large", {},
     ["--resolution", "96"]),
    ("mobilenet_v3_large", "reference_torchvision.py:mobilenet_v3_large",
     {"minimalistic": True}, ["--resolution", "96"]),
    ("mobilenet_v3_small", "reference_torchvision.py:mobilenet_v3_small", {},
     ["--resolution", "96"]),
    ("mobilenet_v3_small", "reference_torchvision.py:mobilenet_v3_small",
     {"minimalistic": True}, ["--resolution", "96"]),
    ("efficientnet_b0", "reference_torchvision.py:efficientnet_b0", {}, ["--resolution", "96"]),
    ("shufflenet_v2", "reference_torchvision.py:shufflenet_v2", {"size": "x0_5"},
     ["--resolution", "96"]),
    ("shufflenet_v2", "reference_torchvision.py:shufflenet_v2", {"size": "x1_0"},
     ["--resolution", "96"]),
    ("shufflenet_v2", "reference_torchvision.py:shufflenet_v2", {"size": "x1_5"},
     ["--resolution", "96"]),
    ("shufflenet_v2", "reference_torchvision.py:shufflenet_v2", {"size": "x2_0"},
     ["--resolution", "96"]),
    ("mnasnet", "reference_mnasnet.py:mnasnet_variant", {"variant": "a1"},
     ["--resolution", "96"]),
    ("mnasnet", "reference_mnasnet.py:mnasnet_variant", {"variant": "b1", "alpha": 0.5},
     ["--width", "0.5", "--resolution", "96"]),
    ("mnasnet", "reference_mnasnet.py:mnasnet_variant", {"variant": "b1", "alpha": 1.0},
     ["--resolution", "96"]),
    ("mnasnet", "reference_mnasnet.py:mnasnet_variant", {"variant": "b1", "alpha": 1.3},
     ["--width", "1.3", "--resolution", "96"]),
    ("deeplabv3_mobilenet_v2", "reference_segmentation.py:deeplabv3_mobilenet_v2", {}, []),
    ("deeplabv3_mobilenet_v2", "reference_segmentation.py:deeplabv3_mobilenet_v2",
     {"output_stride": 8}, []),
    ("deeplabv3_mobilenet_v2", "reference_segmentation.py:deeplabv3_mobilenet_v2",
     {"aspp": False}, []),
    ("deeplabv3_mobilenet_v1", "reference_segmentation.py:deeplabv3_mobilenet_v1", {}, []),
    ("deeplabv3_mobilenet_v1", "reference_segmentation.py:deeplabv3_mobilenet_v1",
     {"output_stride": 8}, []),
    ("deeplabv3_mobilenet_v3_large", "reference_segmentation.py:deeplabv3_mobilenet_v3_large",
     {}, []),
    ("deeplabv3_mobilenet_v3_large", "reference_segmentation.py:deeplabv3_mobilenet_v3_large",
     {"aux": True}, []),
    ("lraspp_mobilenet_v3_large", "reference_segmentation.py:lraspp_mobilenet_v3_large", {}, []),
    ("ssd300_vgg16", "reference_detection.py:ssd300_vgg16", {"num_classes": 91}, []),
    ("ssd300_vgg16", "reference_detection.py:ssd300_vgg16", {"num_classes": 81}, []),
    ("ssd512_vgg16", "reference_detection.py:ssd512_vgg16", {}, []),
    ("ssd512_vgg16", "reference_detection.py:ssd512_vgg16", {"layout": "torchvision"}, []),
    ("ssd_mobilenet_v2", "reference_ssdlite.py:ssd_mobilenet_v2", {}, []),
    ("ssdlite_mobilenet_v2", "reference_ssdlite.py:ssdlite_mobilenet_v2", {}, []),
    ("ssdlite_mobilenet_v2", "reference_ssdlite.py:ssdlite_mobilenet_v2", {"num_classes": 91},
     []),
    ("ssdlite_mobilenet_v1", "reference_ssdlite.py:ssdlite_mobilenet_v1", {}, []),
    ("nasnet_a_mobile", "reference_nasnet.py:nasnet_a_mobile", {}, []),
    ("nasnet_a_mobile", "reference_nasnet.py:nasnet_a_mobile", {}, ["--resolution", "96"]),
    ("yolov2", "reference_detection.py:yolov2", {"passthrough_conv": False}, []),
    ("yolov2", "reference_detection.py:yolov2", {"passthrough_conv": True}, []),
]


def _ids(case) -> str:
    spec, _, sets, extra = case
    tail = ",".join(f"{k}={v}" for k, v in sets.items())
    width = extra[extra.index("--width") + 1] if "--width" in extra else ""
    res = extra[extra.index("--resolution") + 1] if "--resolution" in extra else ""
    return "-".join(p for p in (spec, tail, width and f"w{width}", res and f"r{res}") if p)


def _build(twin: str, sets: dict):
    """The twin built here, on the meta device (as verify builds it), for its parameter sum."""
    path, name = twin.split(":")
    spec = importlib.util.spec_from_file_location(f"_twin_{Path(path).stem}",
                                                  ROOT / "tests" / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with torch.device("meta"):
        return getattr(module, name)(**sets)


def _cli_sets(sets: dict) -> list:
    out = []
    for k, v in sets.items():
        out += ["--set", f"{k}={str(v).lower() if isinstance(v, bool) else v}"]
    return out


def run(capsys, *args) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_zoo_spec_equals_its_twin(capsys, case):
    spec, twin, sets, extra = case
    rc, out, err = run(capsys, "verify", f"specs/{spec}.yaml", "--against", f"tests/{twin}",
                       *_cli_sets(sets), *extra)
    assert rc == 0, err
    assert OK in out
    model = _build(twin, sets)
    params = sum(p.numel() for p in model.parameters())
    m = re.search(r"params ([\d,]+) / ([\d,]+); MAdds ([\d,]+) / ([\d,]+)", out)
    assert m and m.group(1) == m.group(2) == f"{params:,}"
    shape = re.search(r"input (\d+)x(\d+)x(\d+) against", out).groups()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.empty(1, *map(int, shape), device="meta"))
    assert m.group(3) == m.group(4) == f"{counter.get_total_flops() // 2:,}"


def test_every_zoo_spec_has_a_twin():
    specs = {p.stem for p in (ROOT / "archcalc" / "zoo" / "specs").glob("*.yaml")}
    assert specs == {c[0] for c in CASES}      # the 19 specs of the zoo, each with a twin


def test_parallel_branches_and_a_merged_predictor_are_reported(capsys):
    # YOLOv2's darknet cfg writes the output as one 1x1 conv of 5 x (5 + 80) = 425 channels;
    # the spec's predictor writes box (5 x 5 = 25) and class (5 x 80 = 400) convs on the same
    # tensor: 1024 x 425 + 425 = 435,625 parameters together
    rc, out, err = run(capsys, "verify", "specs/yolov2.yaml", "--against",
                       "tests/reference_detection.py:yolov2",
                       "--set", "passthrough_conv=false")
    assert rc == 0, err
    assert "1 group(s) of layers reading one tensor matched as one layer" in out
    # leaky ReLU and the passthrough's pixel_unshuffle are imported (no unknown op left)
    assert "warning" not in out


def test_a_differing_head_is_the_first_difference(capsys):
    # the spec at its default 81 classes against torchvision's 91: the first class predictor
    # on conv4_3 (512 x 38 x 38, 4 anchors) differs: 4 x 81 = 324 vs 4 x 91 = 364 channels,
    # 512 x 9 x 324 + 324 = 1,493,316 vs 512 x 9 x 364 + 364 = 1,677,676 params
    rc, out, err = run(capsys, "verify", "specs/ssd300_vgg16.yaml", "--against",
                       "tests/reference_detection.py:ssd300_vgg16")
    assert rc == 1
    assert "MISMATCH: first differing layer: spec predictors.0.cls.conv (conv 3x3, 324x38x38, " \
           "1,493,316 params" in err
    assert "vs model head.classification_head.module_list.0 (conv 3x3, 364x38x38, " \
           "1,677,676 params" in err


@pytest.mark.parametrize("groups, stem", [(3, 36), (8, 40)])
def test_shufflenet_v1_at_1_5x_differs_from_the_release_in_its_first_conv(capsys, groups, stem):
    # The spec scales the first conv's 24 channels by 1.5 (36, rounded to a multiple of g:
    # 36 for g = 3, 40 for g = 8); the release keeps 24 at 1.5x. Released 1.5x g=3 (the twin):
    # 292M MAdds, the paper's Table 5 figure; docs/zoo.md "ShuffleNet (v1)" and docs/import.md
    rc, out, err = run(capsys, "verify", "specs/shufflenet_v1.yaml", "--width", "1.5",
                       "--set", f"groups={groups}", "--set", "model_size=1.5x", "--against",
                       "tests/reference_mobilenet_v1.py:shufflenet_v1", "--resolution", "96")
    assert rc == 1
    # 3x3 conv of 3 input channels at 48 x 48 outputs: 27 weights per output channel
    assert (f"MISMATCH: first differing layer: spec stem.0.conv (conv 3x3/2, {stem}x48x48, "
            f"{27 * stem:,} params, {27 * stem * 48 * 48:,} MAdds) vs model first_conv.0 "
            f"(conv 3x3/2, 24x48x48, 648 params, {27 * 24 * 48 * 48:,} MAdds)") in err


@pytest.mark.parametrize("backbone", ["v1", "v2"])
def test_multiscale_passes_run_the_model_at_each_size(capsys, backbone):
    # MobileNetV2 Table 7's multi-scale + flipped inference: TF DeepLab's eval scales 0.5 ..
    # 1.75, each unflipped and flipped; a side of the pass is floor((257 - 1) s) + 1
    spec, twin = f"deeplabv3_mobilenet_{backbone}", f"deeplabv3_mobilenet_{backbone}"
    rc, out, err = run(capsys, "verify", f"specs/{spec}.yaml", "--set", "multiscale=true",
                       "--resolution", "257", "--against",
                       f"tests/reference_segmentation.py:{twin}")
    assert rc == 0, err
    sides = [int(256 * s) + 1 for s in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)]
    assert sides == [129, 193, 257, 321, 385, 449]
    assert ("12 inference passes at 6 input sizes (" +
            ", ".join(f"3x{r}x{r}" for r in sides) + "), the model run at each") in out
    model = _build(f"reference_segmentation.py:{twin}", {})
    total = 0
    for r in sides:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.empty(1, 3, r, r, device="meta"))
        total += 2 * (counter.get_total_flops() // 2)          # the flipped pass costs the same
    assert re.search(r"MAdds ([\d,]+) / ([\d,]+)", out).groups() == (f"{total:,}",) * 2
    assert OK in out


def test_input_shape_with_a_multiscale_spec_is_one_line(capsys):
    rc, out, err = run(capsys, "verify", "specs/deeplabv3_mobilenet_v2.yaml", "--set",
                       "multiscale=true", "--input-shape", "3x64x64", "--against",
                       "tests/reference_segmentation.py:deeplabv3_mobilenet_v2")
    assert rc == 2 and out == ""
    assert err == ("archcalc: error: --input-shape does not apply to a multi-scale spec: each "
                   "pass's input size comes from the spec\n")


TINY_SPEC = """\
name: Tiny
input: {channels: 3, resolution: 16}
defaults: {act: relu}
layers:
  body:
    - {op: conv, c: 8, k: 3, s: 2, scale: none}
    - {op: conv, c: 7, k: 3, norm: none, bias: true, act: linear, scale: none}
"""
TINY_MODEL = """\
import torch
from torch import nn


class Split(nn.Module):
    def __init__(self, extra=False):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU())
        self.box, self.cls = nn.Conv2d(8, 4, 3, 1, 1), nn.Conv2d(8, 3, 3, 1, 1)
        self.extra = nn.Conv2d(7, 7, 1) if extra else None

    def forward(self, x):
        x = self.stem(x)
        y = torch.cat([self.box(x), self.cls(x)], 1)
        return self.extra(y) if self.extra is not None else y


def build(extra=False):
    return Split(extra)
"""


def test_a_model_group_stands_for_one_spec_layer_and_a_left_over_layer_is_named(capsys,
                                                                                 tmp_path):
    # the spec's one 3x3 conv to 7 channels (8 x 9 x 7 + 7 = 511 params, 504 x 64 = 32,256
    # MAdds at 8 x 8) is the model's box (4) and class (3) convs on the same tensor
    (tmp_path / "tiny.yaml").write_text(TINY_SPEC)
    (tmp_path / "tiny_model.py").write_text(TINY_MODEL)
    spec, model = str(tmp_path / "tiny.yaml"), f"{tmp_path / 'tiny_model.py'}:build"
    rc, out, err = run(capsys, "verify", spec, "--against", model)
    assert rc == 0, err
    # stem: 3 x 9 x 8 = 216 weights + 16 BN; out: 511
    assert "params 743 / 743" in out
    assert "2 conv / linear layers in the spec, 3 in the model" in out
    assert "1 group(s) of layers reading one tensor matched as one layer" in out and OK in out
    rc, out, err = run(capsys, "verify", spec, "--against", model, "--set", "extra=true")
    assert rc == 1
    # a 1x1 conv 7 -> 7 with bias at 8 x 8: 56 params, 49 x 64 = 3,136 MAdds
    assert err.endswith("MISMATCH: first differing layer: model has extra (pwconv 1x1, 7x8x8, "
                        "56 params, 3,136 MAdds) with no counterpart in the spec\n")
