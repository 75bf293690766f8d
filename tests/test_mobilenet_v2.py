"""MobileNetV2 end to end: archcalc's counts against published figures, hand arithmetic and
an independent reference implementation (tests/reference_mobilenet_v2.py).

Every expected number below is either a published figure (cited), arithmetic written out
here, or computed by the reference counter; none comes from archcalc itself.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import archcalc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_mobilenet_v2 import mobilenet_v2 as reference  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "mobilenet_v2.yaml"
SPEC_TEXT = SPEC.read_text(encoding="utf-8")

CONV_OPS = ("conv", "grouped_conv", "depthwise", "pointwise")


def evaluate(width="1.0", resolution=224, convention="paper", **kw):
    return archcalc.evaluate(SPEC, width=width, resolution=resolution, convention=convention, **kw)


def rows_by_name(table):
    return {row.name: row for row in table.rows}


# ---- (a) published goldens -----------------------------------------------------------------------

def test_torchvision_published_params_and_madds():
    # torchvision MobileNet_V2_Weights.IMAGENET1K_V1 meta: num_params 3504872, _ops 0.301 GFLOPS
    # (= 300,774,272 multiply-adds of convs and the linear layer).
    t = evaluate(convention="torchvision")
    assert t.totals["params"] == 3_504_872
    assert t.totals["madds"] == 300_774_272
    assert t.totals["flops"] == 2 * 300_774_272
    assert t.spec.param("num_classes") == 1000


def test_paper_convention_excludes_bn():
    # The torchvision count minus BN gamma/beta: 3,504,872 - 34,112 = 3,470,760 ("3.4M", Table 4).
    t = evaluate(convention="paper")
    assert t.totals["params"] == 3_470_760
    assert t.totals["bn_params"] == 3_504_872 - 3_470_760
    assert t.totals["madds"] == 300_774_272


def test_tf_slim_convention_1001_classes():
    # TF-slim / Keras mobilenet_v2_1.0_224: 3,472,041 params (1001 classes, logits with bias):
    # the paper count plus one class: 1280 weights + 1 bias.
    t = evaluate(convention="tf-slim")
    assert t.totals["params"] == 3_472_041 == 3_470_760 + 1280 + 1
    assert t.totals["madds"] == 300_774_272 + 1280
    assert t.spec.param("num_classes") == 1001


@pytest.mark.parametrize("width, params", [
    ("0.75", 2_611_065),   # TF-slim mobilenet_v2_0.75_224 / Keras alpha 0.75 (1001 classes)
    ("1.4", 6_062_633),    # TF-slim mobilenet_v2_1.4_224 / Keras alpha 1.4
])
def test_tf_slim_width_variants_published_params(width, params):
    t = evaluate(width=width, convention="tf-slim")
    assert t.totals["params"] == params
    ref = reference(float(width), 224, 1001, variant="tf-slim")
    assert ref.params == params            # the reference agrees with the published figure too


def test_tf_slim_madds_at_160():
    # TF-slim table: mobilenet_v2_1.0_160, 154 million MACs; the exact count rounds to 154.08M.
    ref = reference(1.0, 160, 1001, variant="tf-slim")
    assert round(ref.madds / 1e6, 2) == 154.08
    t = evaluate(resolution=160, convention="tf-slim")
    assert t.totals["madds"] == ref.madds
    assert round(t.totals["madds"] / 1e6, 2) == 154.08


# TF-slim research/slim/nets/mobilenet/README.md checkpoint table: (depth multiplier,
# resolution) -> (million MACs as printed, i.e. truncated; million params, 2 decimals).
TF_SLIM_TABLE = {
    ("1.4", 224): (582, 6.06), ("1.3", 224): (509, 5.34),
    ("1.0", 224): (300, 3.47), ("1.0", 192): (221, 3.47), ("1.0", 160): (154, 3.47),
    ("1.0", 128): (99, 3.47), ("1.0", 96): (56, 3.47),
    ("0.75", 224): (209, 2.61), ("0.75", 192): (153, 2.61), ("0.75", 160): (107, 2.61),
    ("0.75", 128): (69, 2.61), ("0.75", 96): (39, 2.61),
    ("0.5", 224): (97, 1.95), ("0.5", 192): (71, 1.95), ("0.5", 160): (50, 1.95),
    ("0.5", 128): (32, 1.95), ("0.5", 96): (18, 1.95),
    ("0.35", 224): (59, 1.66), ("0.35", 192): (43, 1.66), ("0.35", 160): (30, 1.66),
    ("0.35", 128): (20, 1.66), ("0.35", 96): (11, 1.66),
}


@pytest.mark.parametrize("point", sorted(TF_SLIM_TABLE))
def test_tf_slim_published_table(point):
    width, resolution = point
    macs_m, params_m = TF_SLIM_TABLE[point]
    t = evaluate(width=width, resolution=resolution, convention="tf-slim")
    assert t.totals["madds"] // 10**6 == macs_m
    assert round(t.totals["params"] / 1e6, 2) == params_m


# ---- (b) hand-derived rows -------------------------------------------------------------------------

@pytest.mark.parametrize("resolution", [224, 160])
def test_hand_derived_rows_width_1(resolution):
    """Table 2 at alpha = 1, written out: 3x3/2 stem to 32, t=1 block to 16, first t=6 block."""
    t = evaluate(resolution=resolution, convention="torchvision")
    rows = rows_by_name(t)
    h1 = resolution // 2            # 224 -> 112, 160 -> 80 (stride-2 stem, even input)
    h2 = h1 // 2                    # 56 / 40
    h5 = resolution // 32           # 7 / 5

    stem = rows["stem.0.conv"]
    assert stem.op == "conv"
    assert stem.output_shape == (32, h1, h1)
    assert stem.params == 32 * 3 * 3 * 3 == 864
    assert stem.madds == 32 * 3 * 3 * 3 * h1 * h1
    assert rows["stem.0.bn"].bn_params == 2 * 32
    assert rows["stem.0.bn"].params == 2 * 32      # torchvision counts gamma and beta
    assert rows["stem.0.bn"].madds == 0

    dw = rows["bottlenecks.0.dw.conv"]             # t = 1: no expansion, depthwise on 32
    assert "bottlenecks.0.expand.conv" not in rows
    assert dw.op == "depthwise"
    assert dw.output_shape == (32, h1, h1)
    assert dw.params == 32 * 1 * 3 * 3
    assert dw.madds == 32 * 3 * 3 * h1 * h1
    proj = rows["bottlenecks.0.project.conv"]
    assert proj.output_shape == (16, h1, h1)
    assert proj.params == 16 * 32
    assert proj.madds == 16 * 32 * h1 * h1
    assert "bottlenecks.0.project.act" not in rows   # linear bottleneck
    assert "bottlenecks.0.add" not in rows           # 32 -> 16: no residual

    exp = rows["bottlenecks.1.0.expand.conv"]        # 16 -> 6 * 16 = 96
    assert exp.output_shape == (96, h1, h1)
    assert exp.params == 96 * 16
    assert exp.madds == 96 * 16 * h1 * h1
    dw = rows["bottlenecks.1.0.dw.conv"]
    assert dw.output_shape == (96, h2, h2)
    assert dw.params == 96 * 3 * 3
    assert dw.madds == 96 * 3 * 3 * h2 * h2
    proj = rows["bottlenecks.1.0.project.conv"]
    assert proj.output_shape == (24, h2, h2)
    assert proj.params == 24 * 96
    assert proj.madds == 24 * 96 * h2 * h2
    assert "bottlenecks.1.0.add" not in rows         # stride 2
    add = rows["bottlenecks.1.1.add"]                # second repeat: 24 -> 24, stride 1
    assert add.output_shape == (24, h2, h2)
    assert (add.params, add.madds) == (0, 0)
    assert rows["bottlenecks.1.1.expand.conv"].params == 144 * 24

    head = rows["head.0.conv"]
    assert head.output_shape == (1280, h5, h5)
    assert head.params == 1280 * 320
    assert head.madds == 1280 * 320 * h5 * h5
    fc = rows["classifier.0.fc"]
    assert fc.output_shape == (1000, 1, 1)
    assert fc.params == 1280 * 1000 + 1000
    assert fc.madds == 1280 * 1000


def test_hand_derived_rows_width_075_at_160():
    """alpha = 0.75: stem 32*0.75 = 24; block 0 16*0.75 = 12 -> 16 (12 is a half: rounds up);
    block 1 24*0.75 = 18 -> 16, but 16 < 0.9 * 18 = 16.2 so the 10% rule gives 24; last conv stays 1280 (max(1, alpha)); classes never scaled."""
    t = evaluate(width="0.75", resolution=160, convention="paper")
    rows = rows_by_name(t)
    assert rows["stem.0.conv"].output_shape == (24, 80, 80)
    assert rows["stem.0.conv"].params == 24 * 3 * 9
    assert rows["stem.0.conv"].madds == 24 * 3 * 9 * 80 * 80
    assert rows["stem.0.bn"].params == 0                 # paper: BN excluded
    assert rows["stem.0.bn"].bn_params == 2 * 24
    assert rows["bottlenecks.0.dw.conv"].params == 24 * 9
    assert rows["bottlenecks.0.project.conv"].output_shape == (16, 80, 80)
    assert rows["bottlenecks.0.project.conv"].madds == 16 * 24 * 80 * 80
    assert rows["bottlenecks.1.0.expand.conv"].output_shape == (96, 80, 80)
    assert rows["bottlenecks.1.0.project.conv"].output_shape == (24, 40, 40)
    assert rows["bottlenecks.1.0.project.conv"].params == 24 * 96
    assert rows["bottlenecks.1.1.expand.conv"].output_shape == (6 * 24, 40, 40)
    assert rows["bottlenecks.1.1.add"].output_shape == (24, 40, 40)
    assert rows["head.0.conv"].output_shape == (1280, 5, 5)
    assert rows["head.0.conv"].params == 1280 * 240      # 320 * 0.75 = 240 in
    assert rows["classifier.0.fc"].params == 1280 * 1000 + 1000


# ---- (c) the grid against the reference ------------------------------------------------------------

ALPHAS = ["0.35", "0.5", "0.75", "1.0", "1.3", "1.4"]
RESOLUTIONS = [96, 128, 160, 192, 224]
GRID = [(a, r) for a in ALPHAS for r in RESOLUTIONS]
GRID += [(a, r) for a in ("0.6", "0.9", "1.1") for r in RESOLUTIONS]
GRID += [(a, r) for a in ALPHAS + ["0.6", "0.9", "1.1"] for r in (100, 150, 200, 257)]


@pytest.mark.parametrize("width, resolution", GRID)
def test_grid_matches_reference(width, resolution):
    ref = reference(float(width), resolution, 1000)
    tv = evaluate(width, resolution, convention="torchvision").totals
    assert (tv["params"], tv["bn_params"], tv["madds"]) == \
        (ref.params + ref.bn_params, ref.bn_params, ref.madds)
    paper = evaluate(width, resolution, convention="paper").totals
    assert (paper["params"], paper["bn_params"], paper["madds"]) == \
        (ref.params, ref.bn_params, ref.madds)
    slim = reference(float(width), resolution, 1001, variant="tf-slim")
    tfs = evaluate(width, resolution, convention="tf-slim").totals
    assert (tfs["params"], tfs["bn_params"], tfs["madds"]) == (slim.params, slim.bn_params, slim.madds)


def test_num_classes_override():
    ref = reference(0.75, 160, 10)
    t = evaluate("0.75", 160, convention="torchvision", sets={"num_classes": "10"})
    assert t.totals["params"] == ref.params + ref.bn_params
    assert t.totals["madds"] == ref.madds
    assert rows_by_name(t)["classifier.0.fc"].params == 1280 * 10 + 10


# ---- (d) structure (TF-slim mobilenet_v2_test.py style) ----------------------------------------------

def conv_widths(table):
    return {row.output_shape[0] for row in table.rows if row.op in CONV_OPS}


def test_conv_widths_at_half_width():
    # alpha 0.5: stem 16; c 16,24,32,64,96,160,320 -> 8,12->16,16,32,48,80,160; expanded 6*c_in:
    # 48, 96, 96, 192, 288, 480 (first block t=1: depthwise on 16); last conv 1280.
    widths = {16, 8, 32, 48, 80, 160, 6 * 8, 6 * 16, 6 * 32, 6 * 48, 6 * 80, 1280}
    t = evaluate("0.5")
    assert conv_widths(t) == widths
    assert set(reference(0.5).conv_widths()) == widths


def _variant(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


def test_divisible_by_16_min_depth_32():
    # TF-slim testDivisibleBy: divisible_by=16, min_depth=32 ->
    # {32, 64, 96, 160, 192, 320, 384, 576, 960, 1280, 1001}.
    text = _variant(SPEC_TEXT, "divisor: 8\n", "divisor: 16\n  min_channels: 32\n")
    spec = archcalc.parse_spec(text, "divisible16.yaml", {"num_classes": 1001})
    t = archcalc.analyze(archcalc.compile_graph(spec, 1, 224), "tf-slim")
    assert conv_widths(t) | {1001} == {32, 64, 96, 160, 192, 320, 384, 576, 960, 1280, 1001}
    assert rows_by_name(t)["classifier.0.fc"].output_shape == (1001, 1, 1)


def test_divisible_by_min_depth_32_tiny_multiplier():
    # TF-slim testDivisibleByWithArgScope: depth_multiplier 0.1, min_depth 32, last conv scaled
    # (finegrain off) -> {32, 192, 128, 1001}.
    text = _variant(SPEC_TEXT, "divisor: 8\n", "divisor: 8\n  min_channels: 32\n")
    text = _variant(text, "k: 1, scale: up}", "k: 1, scale: all}")
    spec = archcalc.parse_spec(text, "argscope.yaml", {"num_classes": 1001})
    t = archcalc.analyze(archcalc.compile_graph(spec, "0.1", 224), "tf-slim")
    assert conv_widths(t) | {1001} == {32, 192, 128, 1001}


def test_fine_grained_last_layer():
    # TF-slim testFineGrained: depth_multiplier 0.01 with the last layer kept:
    # "All convolutions will be 8->48, except for the last one" -> {8, 48, 1001, 1280}.
    t = evaluate("0.01", convention="tf-slim")
    assert conv_widths(t) | {rows_by_name(t)["classifier.0.fc"].output_shape[0]} == {8, 48, 1001, 1280}


@pytest.mark.parametrize("resolution, final", [(224, 7), (192, 6), (160, 5), (128, 4), (96, 3)])
def test_final_spatial_size(resolution, final):
    # TF-slim testImageSizes.
    t = evaluate("1.0", resolution)
    rows = rows_by_name(t)
    assert rows["head.0.conv"].output_shape == (1280, final, final)
    assert rows["head.1.pool"].output_shape == (1280, 1, 1)
    assert reference(1.0, resolution).final_spatial == final


# ---- (e) per-layer shapes and costs vs the reference -----------------------------------------------

@pytest.mark.parametrize("width, resolution", [
    ("1.0", 224), ("0.35", 96), ("0.5", 160), ("0.75", 257), ("1.4", 150), ("1.3", 100),
    ("0.6", 199), ("2.0", 33),
])
def test_per_layer_against_reference(width, resolution):
    ref = reference(float(width), resolution, 1000)
    t = evaluate(width, resolution, convention="paper")
    rows = rows_by_name(t)
    weighted = [r.name for r in t.rows if r.op in CONV_OPS + ("fc", "add")]
    assert weighted == [layer.name for layer in ref.layers]     # same layers, same order
    for layer in ref.layers:
        row = rows[layer.name]
        assert row.output_shape == layer.shape, layer.name
        assert row.params == layer.params, layer.name
        assert row.madds == layer.madds, layer.name
        if layer.bn:
            bn = rows[layer.name[:-len(".conv")] + ".bn"]
            assert bn.output_shape == layer.shape
            assert bn.bn_params == layer.bn_params
    assert len([r for r in t.rows if r.op == "bn"]) == len([la for la in ref.layers if la.bn])


@pytest.mark.parametrize("width", ["0.25", "0.1"])
def test_residual_follows_actual_channel_counts(width):
    """torchvision (`use_res_connect = stride == 1 and inp == oup`), TF-slim (`stride == 1 and
    net.shape[3] == input_tensor.shape[3]`) and Keras (`in_channels == pointwise_filters and
    stride == 1`) all decide the residual on the actual, rounded widths. At alpha 0.25 the stem
    is make_divisible(8) = 8 and block 0 outputs make_divisible(4) = 8, so block 0 (stride 1,
    8 -> 8) has a residual; at alpha 0.1 also block 4 (64*0.1 -> 8, 96*0.1 -> 8)."""
    ref = reference(float(width), 224, 1000)
    expected = [la.name for la in ref.layers if la.kind == "add"]
    assert "bottlenecks.0.add" in expected
    t = evaluate(width, 224, convention="torchvision")
    assert [r.name for r in t.rows if r.op == "add"] == expected


def test_residual_with_an_unscaled_input_is_decided_on_actual_widths():
    """The same rule with a `scale: none` layer before a bottleneck: at alpha 0.5 the 1x1 conv
    keeps 24 channels while the bottleneck projects to make_divisible(24 * 0.5 = 12) = 16, so its
    first repeat has no residual (24 != 16) and its second one has (16 == 16). The spec is valid at every width;
    it must not be rejected as a residual between mismatched shapes."""
    text = """
name: unscaled-then-bottleneck
input: {channels: 3, resolution: 32}
layers:
  stem:
    - {op: conv, c: 16, k: 3, s: 2}
    - {op: pwconv, c: 24, scale: none}
  body:
    - {op: bottleneck, t: 6, c: 24, n: 2, s: 1}
"""
    spec = archcalc.parse_spec(text, "<unscaled>")
    at_one = rows_by_name(archcalc.analyze(archcalc.compile_graph(spec, "1", 32)))
    assert at_one["body.0.0.add"].output_shape == (24, 16, 16)       # 24 == 24 at alpha 1
    rows = rows_by_name(archcalc.analyze(archcalc.compile_graph(spec, "0.5", 32)))
    assert rows["body.0.0.expand.conv"].output_shape == (6 * 24, 16, 16)
    assert rows["body.0.0.project.conv"].output_shape == (16, 16, 16)
    assert "body.0.0.add" not in rows
    assert rows["body.0.1.expand.conv"].output_shape == (6 * 16, 16, 16)
    assert rows["body.0.1.add"].output_shape == (16, 16, 16)
