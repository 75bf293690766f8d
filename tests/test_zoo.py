"""The model zoo against its papers' published figures (each cited where it is used).

Published numbers are printed rounded; each check allows the paper's own rounding (or the
tolerance the issue names) and says which table it reproduces.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import archcalc
from archcalc.compare import compare_specs

SPECS = Path(__file__).resolve().parent.parent / "specs"


def totals(spec, width="1", resolution=None, **kw):
    return archcalc.evaluate(SPECS / spec, width, resolution, **kw).totals


# MobileNetV1 paper (Howard et al. 2017, arXiv:1704.04861), Table 6 (width multiplier at 224)
# and Table 7 (resolution at width 1): million MAdds and million parameters as printed.
V1_TABLE6 = [("1.0", 569, 4.2), ("0.75", 325, 2.6), ("0.5", 149, 1.3), ("0.25", 41, 0.5)]
V1_TABLE7 = [(224, 569, 4.2), (192, 418, 4.2), (160, 290, 4.2), (128, 186, 4.2)]


def within_printed(value: float, printed: float, step: float) -> bool:
    """The paper prints both rounded (569 for 568.7) and truncated (290 for 290.7) figures:
    accept either, i.e. a value within one printed step above or half a step below."""
    return printed - step / 2 <= value < printed + step


@pytest.mark.parametrize("width, madds_m, params_m", V1_TABLE6)
def test_mobilenet_v1_table6_width(width, madds_m, params_m):
    t = totals("mobilenet_v1.yaml", width, 224)
    assert within_printed(t["madds"] / 1e6, madds_m, 1)
    assert within_printed(t["params"] / 1e6, params_m, 0.1)


@pytest.mark.parametrize("resolution, madds_m, params_m", V1_TABLE7)
def test_mobilenet_v1_table7_resolution(resolution, madds_m, params_m):
    t = totals("mobilenet_v1.yaml", "1", resolution)
    assert within_printed(t["madds"] / 1e6, madds_m, 1)
    assert within_printed(t["params"] / 1e6, params_m, 0.1)


def test_mobilenet_v1_layer_shares_table2():
    """MobileNetV1 Table 2: 1x1 convs carry 94.86% of the MAdds and 74.59% of the params; the
    fully-connected layer 24.33% of the params (shares as printed, to 0.01%). The parameter
    shares are of weights only: they hold with biases excluded (--no-bias)."""
    weights_only = archcalc.CONVENTIONS["paper"].with_options(bias=False)
    t = archcalc.evaluate(SPECS / "mobilenet_v1.yaml", convention=weights_only)
    pw = [r for r in t.rows if r.op == "pointwise"]
    fc = [r for r in t.rows if r.op == "fc"]
    assert round(100 * sum(r.madds for r in pw) / t.totals["madds"], 2) == 94.86
    assert round(100 * sum(r.params for r in pw) / t.totals["params"], 2) == 74.59
    assert round(100 * sum(r.params for r in fc) / t.totals["params"], 2) == 24.33


# ShuffleNet (Zhang et al. 2017, arXiv:1707.01083), Table 1 complexity row (MFLOPs = million
# multiply-adds) for g = 1, 2, 3, 4, 8 at 1x.
SHUFFLE_TABLE1 = {1: 143, 2: 140, 3: 137, 4: 133, 8: 137}


@pytest.mark.parametrize("groups", sorted(SHUFFLE_TABLE1))
def test_shufflenet_table1_complexity(groups):
    """The paper's complexity row matches the network without its FC layer within 0.4% for every
    g (the FC adds 0.58-1.54M, which at g = 4 takes the total 1.01% above the printed 133M)."""
    t = archcalc.evaluate(SPECS / "shufflenet_v1.yaml", sets={"groups": str(groups)})
    body = sum(r.madds for r in t.rows if r.block != "classifier")
    assert abs(body / 1e6 - SHUFFLE_TABLE1[groups]) / SHUFFLE_TABLE1[groups] < 0.004
    assert abs(t.totals["madds"] / 1e6 - SHUFFLE_TABLE1[groups]) / SHUFFLE_TABLE1[groups] < 0.0105


# ShuffleNet Tables 2 and 5: MFLOPs quoted for scaled networks (Table 5: 2x g=3 524,
# 1.5x g=3 292, 0.5x g=4 38; Table 2: 0.5x at 38 for every g).
@pytest.mark.parametrize("width, groups, mflops", [("2.0", 3, 524), ("1.5", 3, 292),
                                                    ("0.5", 4, 38), ("0.5", 3, 38)])
def test_shufflenet_scaled_mflops(width, groups, mflops):
    t = totals("shufflenet_v1.yaml", width, 224, sets={"groups": str(groups)})
    assert abs(t["madds"] / 1e6 - mflops) / mflops < 0.03


def test_shufflenet_2x_params_as_released():
    """The authors' released ShuffleNetV1 README: 2.0x (group=3) has 5.4M params, 524M FLOPs."""
    t = totals("shufflenet_v1.yaml", "2.0", 224, sets={"groups": "3"})
    assert round(t["params"] / 1e6, 1) == 5.4
    assert round(t["madds"] / 1e6) == 524


def test_nasnet_a_mobile_as_mobilenet_v2_table4():
    """MobileNetV2 Table 4: NASNet-A 5.3M params, 564M MAdds."""
    t = totals("nasnet_a_mobile.yaml")
    assert round(t["params"] / 1e6, 1) == 5.3
    assert round(t["madds"] / 1e6) == 564


def _head(spec):
    t = archcalc.evaluate(SPECS / spec)
    rows = [r for r in t.rows if r.block in ("extras", "predictors")]
    return t, sum(r.params for r in rows), sum(r.madds for r in rows)


def test_ssd_head_table5():
    """MobileNetV2 Table 5, SSD column: 14.8M params, 1.25B MAdds (extra layers + predictors)."""
    _, params, madds = _head("ssd_mobilenet_v2.yaml")
    assert round(params / 1e6, 1) == 14.8
    assert abs(madds / 1e9 - 1.25) / 1.25 < 0.01


def test_ssdlite_mobilenet_v2_tables5_and_6():
    """Table 5, SSDLite: 2.1M params (head); Table 6, MNet V2 + SSDLite: 4.3M params, 0.8B MAdds.
    (Table 5's 0.35B head MAdds do not fit Table 6's 0.8B total with the 0.61B backbone at 320;
    see docs/zoo.md.)"""
    t, params, _ = _head("ssdlite_mobilenet_v2.yaml")
    assert round(params / 1e6, 1) == 2.1
    assert round(t.totals["params"] / 1e6, 1) == 4.3
    assert round(t.totals["madds"] / 1e9, 1) == 0.8


def test_ssdlite_mobilenet_v1_table6():
    """Table 6, MNet V1 + SSDLite: 5.1M params, 1.3B MAdds."""
    t = totals("ssdlite_mobilenet_v1.yaml")
    assert round(t["params"] / 1e6, 1) == 5.1
    assert round(t["madds"] / 1e9, 1) == 1.3


def test_detection_report_tells_backbone_from_head():
    data = archcalc.evaluate(SPECS / "ssdlite_mobilenet_v2.yaml").to_dict()
    blocks = {layer["block"] for layer in data["layers"]}
    assert {"backbone", "extras", "predictors"} <= blocks
    first = [layer for layer in data["layers"] if layer["name"] == "predictors.0.box.conv"][0]
    # the first predictor reads layer 15's expansion: 6 * 96 channels at 320 / 16 = 20
    expand = [layer for layer in data["layers"] if layer["name"] == "backbone.6.0.expand.conv"][0]
    assert expand["output_shape"] == [6 * 96, 20, 20]
    assert first["output_shape"] == [3 * 4, 20, 20]


# MobileNetV2 Table 3, max row (KB at fp16): V1 1600K, V2 400K, ShuffleNet 2x 600K.
def test_table3_max_row():
    """Within 5%. The paper's ShuffleNet column matches the g = 2 widths (400/800/1600
    channels) although its caption says g = 3; see docs/memory.md."""
    entries = compare_specs([str(SPECS / "mobilenet_v1.yaml"), str(SPECS / "mobilenet_v2.yaml"),
                       str(SPECS / "shufflenet_v1.yaml") + "@2.0"], {"groups": "2"}, dtype="fp16")
    for entry, kb in zip(entries, (1600, 400, 600)):
        biggest = max(bytes_ for _, bytes_, _ in entry.memory.values())
        assert abs(biggest / 1000 - kb) / kb < 0.05, (entry.label, biggest)


def test_compare_prints_published_accuracy_and_ratios():
    entries = compare_specs([str(SPECS / "mobilenet_v1.yaml"), str(SPECS / "mobilenet_v2.yaml")])
    v1, v2 = entries
    assert v1.published["top1"] == 70.6 and v1.published["latency_ms"] == 113   # V2 Table 4
    assert v2.published["top1"] == 72.0 and v2.published["latency_ms"] == 75
    from archcalc.report.compare import render_comparison
    text = render_comparison(entries, "table", False)
    ratio = v2.table.totals["madds"] / v1.table.totals["madds"]
    assert f"(x{ratio:.2f})" in text


def test_compare_set_must_be_declared_by_some_spec():
    with pytest.raises(archcalc.OptionError, match="--set groups"):   # names the files, not <spec>
        compare_specs([str(SPECS / "mobilenet_v2.yaml")], {"groups": "3"})
