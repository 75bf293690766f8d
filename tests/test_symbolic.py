"""Closed forms (symbolic compilation) evaluated at a point equal concrete compilation there,
exactly: totals on a dense (alpha, r) grid, every row on a subset. Covered: MobileNetV2 and
small inline specs exercising each width rule (make_divisible / truncate / none, expand
round / make_divisible, scale all / up / none), windowed pools with valid and int padding,
grouped and depthwise convs, non-integer expansions and both residual placements."""
from __future__ import annotations

from pathlib import Path

import pytest
import sympy

import archcalc
from archcalc import symbolic

ROOT = Path(__file__).resolve().parents[1]
MOBILENET_V2 = ROOT / "specs" / "mobilenet_v2.yaml"

DENSE_ALPHAS = [f"{k * 5 / 100:g}" for k in range(2, 41)]     # "0.1", "0.15", ..., "2"
assert DENSE_ALPHAS[0] == "0.1" and DENSE_ALPHAS[5] == "0.35" and DENSE_ALPHAS[-1] == "2" and len(DENSE_ALPHAS) == 39


def assert_same(symbolic_table, concrete_table, rows=True):
    point = symbolic_table.at(concrete_table.width, concrete_table.resolution)
    assert not point.symbolic
    assert point.width == concrete_table.width and point.resolution == concrete_table.resolution
    assert point.totals == concrete_table.totals
    for key, value in point.totals.items():
        assert isinstance(value, int), (key, value)
    if rows:
        assert len(point.rows) == len(concrete_table.rows)
        for got, want in zip(point.rows, concrete_table.rows):
            assert got == want, want.name


# ---- MobileNetV2 ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mbv2_forms():
    return {conv: archcalc.closed_form(MOBILENET_V2, convention=conv)
            for conv in ("torchvision", "paper")}


def test_mobilenet_v2_forms_are_symbolic(mbv2_forms):
    forms = mbv2_forms["torchvision"]
    assert forms.symbolic
    madds = forms.totals["madds"]
    assert madds.free_symbols == {symbolic.alpha, symbolic.r}
    assert forms.totals["params"].free_symbols == {symbolic.alpha}     # params ignore r


@pytest.mark.parametrize("resolution", [224, 160, 97, 33, 257])
def test_mobilenet_v2_dense_grid_totals(mbv2_forms, resolution):
    forms = mbv2_forms["torchvision"]
    for alpha in DENSE_ALPHAS:
        concrete = archcalc.evaluate(MOBILENET_V2, alpha, resolution, convention="torchvision")
        assert_same(forms, concrete, rows=False)


@pytest.mark.parametrize("alpha", ["0.1", "0.35", "0.45", "0.75", "1", "1.05", "1.4", "2"])
def test_mobilenet_v2_paper_totals(mbv2_forms, alpha):
    for resolution in (1, 2, 96, 129, 224):
        concrete = archcalc.evaluate(MOBILENET_V2, alpha, resolution, convention="paper")
        assert_same(mbv2_forms["paper"], concrete, rows=False)


@pytest.mark.parametrize("alpha, resolution", [
    ("0.35", 96), ("0.5", 161), ("0.75", 160), ("1.0", 224), ("1.3", 199), ("1.4", 225),
    ("0.1", 31), ("0.95", 257),
])
def test_mobilenet_v2_rows(mbv2_forms, alpha, resolution):
    for conv in ("torchvision", "paper"):
        concrete = archcalc.evaluate(MOBILENET_V2, alpha, resolution, convention=conv)
        assert_same(mbv2_forms[conv], concrete)


def test_mobilenet_v2_closed_form_hand_point(mbv2_forms):
    # At alpha = 1, r = 224 (hand-derived in test_mobilenet_v2.py): 3,504,872 / 300,774,272.
    point = mbv2_forms["torchvision"].at("1", 224)
    assert point.totals["params"] == 3_504_872
    assert point.totals["madds"] == 300_774_272


# ---- small inline specs --------------------------------------------------------------------------

TRUNCATE_SPEC = """
name: tiny-v1
input: {channels: 3, resolution: 64}
width: {rounding: truncate, min_channels: 4}
defaults: {act: relu}
layers:
  stem:
    - {op: conv, c: 10, k: 3, s: 2}
  body:
    - {op: sepconv, c: 20, s: 1}
    - {op: sepconv, c: 36, s: 2, n: 2}
    - {op: maxpool, k: 3, s: 2}
    - {op: sepconv, c: 50, k: 5, s: 2, padding: valid}
    - {op: conv, c: 60, k: 1, scale: up}
    - {op: avgpool, k: 2}
  head:
    - {op: avgpool, global: true}
    - {op: fc, c: 7}
"""

NONE_SPEC = """
name: tiny-none
input: {channels: 3, resolution: 40}
width: {rounding: none}
layers:
  stem:
    - {op: conv, c: 16, k: 3, s: 2, padding: 1}
    - {op: conv, c: 32, k: 3, s: 1, groups: 4, padding: valid}
    - {op: dwconv, k: 3, s: 2}
    - {op: pwconv, c: 20, groups: 2, scale: none}
  body:
    - {op: bottleneck, t: 3, c: 24, n: 2, s: 1}
    - {op: maxpool, k: 2, s: 2, padding: 1}
    - {op: bottleneck, t: 1.5, c: 40, s: 2, k: 5}
  head:
    - {op: avgpool, global: true}
    - {op: fc, c: 12, scale: all, act: relu}
    - {op: fc, c: 5}
"""

GROUPED_SPEC = """
name: tiny-grouped
input: {channels: 3, resolution: 56}
width: {rounding: make_divisible, divisor: 8, expand: make_divisible}
defaults: {act: relu6}
layers:
  stem:
    - {op: conv, c: 32, k: 3, s: 2}
    - {op: maxpool, k: 3, s: 2, padding: same}
  body:
    - {op: conv, c: 64, k: 3, groups: 4}
    - {op: pwconv, c: 48, groups: 2}
    - {op: bottleneck, t: 2.5, c: 48, n: 3, s: 1, residual: expansion}
    - {op: bottleneck, t: 6, c: 56, n: 2, s: 2}
    - {op: avgpool, k: 3, s: 1, padding: 1}
  head:
    - {op: conv, c: 200, k: 1, scale: up}
    - {op: avgpool, global: true}
    - {op: fc, c: 10}
"""

ROUND_SPEC = """
name: tiny-round
input: {channels: 3, resolution: 32}
width: {rounding: truncate, min_channels: 1, expand: round}
layers:
  stem:
    - {op: conv, c: 13, k: 3, s: 2, act: relu}
  body:
    - {op: bottleneck, t: 2.5, c: 13, n: 2, s: 1}
    - {op: bottleneck, t: 1.5, c: 21, n: 2, s: 2, project_act: relu6}
    - {op: avgpool, k: 3, s: 2}
  head:
    - {op: fc, c: 3, bias: false}
"""

INLINE = {  # spec text -> (alphas, resolutions)
    "truncate": (TRUNCATE_SPEC, DENSE_ALPHAS, [64, 77, 101, 128]),
    "none": (NONE_SPEC, ["0.25", "0.5", "0.75", "1", "1.25", "1.5", "2"],   # integral widths
             [40, 41, 57, 64, 99]),
    "grouped": (GROUPED_SPEC, DENSE_ALPHAS, [56, 57, 63, 112]),
    "round": (ROUND_SPEC, DENSE_ALPHAS, [32, 33, 48, 65]),
}


@pytest.fixture(scope="module")
def inline_forms():
    out = {}
    for key, (text, _, _) in INLINE.items():
        spec = archcalc.parse_spec(text, f"<{key}>")
        for conv in ("paper", "torchvision"):
            out[key, conv] = (spec, archcalc.analyze(archcalc.compile_graph(spec, symbolic=True), conv))
    return out


@pytest.mark.parametrize("key", list(INLINE))
@pytest.mark.parametrize("conv", ["paper", "torchvision"])
def test_inline_spec_grid(inline_forms, key, conv):
    spec, forms = inline_forms[key, conv]
    _, alphas, resolutions = INLINE[key]
    if conv == "torchvision":     # differs from paper only in counting BN: a coarser grid
        alphas, resolutions = alphas[::3], resolutions[:2]
    assert forms.symbolic
    for i, alpha in enumerate(alphas):
        for j, resolution in enumerate(resolutions):
            concrete = archcalc.analyze(archcalc.compile_graph(spec, alpha, resolution), conv)
            assert_same(forms, concrete, rows=(i + j) % 7 == 0)


def _concrete(text, alpha, resolution, conv="paper"):
    spec = archcalc.parse_spec(text, "<inline>")
    return archcalc.analyze(archcalc.compile_graph(spec, alpha, resolution), conv)


def test_inline_hand_points():
    """A few rows of the inline specs by hand, so the grid above is anchored to arithmetic."""
    rows = {r.name: r for r in _concrete(TRUNCATE_SPEC, "0.75", 64).rows}
    # truncate: stem 10 * 0.75 = 7.5 -> 7; sepconv 20 -> 15; 36 * 0.75 = 27; 50 -> 37.5 -> 37;
    # scale up: 60 * max(1, 0.75) = 60.
    assert rows["stem.0.conv"].output_shape == (7, 32, 32)
    assert rows["stem.0.conv"].params == 7 * 3 * 9
    assert rows["body.0.dw.conv"].params == 7 * 9
    assert rows["body.0.pw.conv"].output_shape == (15, 32, 32)
    assert rows["body.1.0.pw.conv"].output_shape == (27, 16, 16)
    assert rows["body.1.1.dw.conv"].output_shape == (27, 16, 16)
    assert rows["body.2.pool"].output_shape == (27, 7, 7)          # floor((16 - 3) / 2) + 1
    assert rows["body.2.pool"].elementwise_ops == 27 * 7 * 7 * 9
    assert rows["body.3.dw.conv"].output_shape == (27, 2, 2)       # floor((7 - 5) / 2) + 1
    assert rows["body.3.dw.conv"].madds == 27 * 25 * 2 * 2
    assert rows["body.3.pw.conv"].output_shape == (37, 2, 2)
    assert rows["body.4.conv"].output_shape == (60, 2, 2)
    assert rows["body.4.conv"].params == 60 * 37
    assert rows["body.5.pool"].output_shape == (60, 1, 1)          # k 2, s 2, valid
    assert rows["head.1.fc"].params == 60 * 7 + 7

    rows = {r.name: r for r in _concrete(NONE_SPEC, "0.5", 40).rows}
    # none: 16 * 0.5 = 8; grouped 3x3 valid 32 -> 16 in 4 groups; dw stride 2; pwconv 20 unscaled
    assert rows["stem.0.conv"].output_shape == (8, 20, 20)         # floor((40 + 2 - 3) / 2) + 1
    assert rows["stem.1.conv"].output_shape == (16, 18, 18)
    assert rows["stem.1.conv"].params == 16 * (8 // 4) * 9
    assert rows["stem.2.conv"].output_shape == (16, 9, 9)          # ceil(18 / 2)
    assert rows["stem.3.conv"].output_shape == (20, 9, 9)
    assert rows["stem.3.conv"].params == 20 * (16 // 2)
    assert rows["body.0.0.expand.conv"].output_shape == (60, 9, 9)  # 3 * 20
    assert "body.0.0.add" not in rows                               # 20 -> 12: none
    assert rows["body.0.1.expand.conv"].output_shape == (36, 9, 9)  # 3 * 12
    assert rows["body.0.1.add"].output_shape == (12, 9, 9)
    assert rows["body.1.pool"].output_shape == (12, 5, 5)          # floor((9 + 2 - 2) / 2) + 1
    assert rows["body.2.expand.conv"].output_shape == (18, 5, 5)   # 1.5 * 12
    assert rows["body.2.dw.conv"].output_shape == (18, 3, 3)
    assert rows["body.2.dw.conv"].params == 18 * 25
    assert rows["head.1.fc"].params == 20 * 6 + 6                  # 40 * 0.5 = 20 -> 12 * 0.5
    assert rows["head.2.fc"].params == 6 * 5 + 5

    rows = {r.name: r for r in _concrete(ROUND_SPEC, "0.5", 32).rows}
    # truncate(6.5) = 6; 2.5 * 6 = 15; then 13 * 0.5 -> 6 again; 21 * 0.5 -> 10;
    # 1.5 * 6 = 9; second repeat 1.5 * 10 = 15.
    assert rows["body.0.0.expand.conv"].output_shape == (15, 16, 16)
    assert rows["body.1.0.expand.conv"].output_shape == (9, 16, 16)
    assert rows["body.1.1.expand.conv"].output_shape == (15, 8, 8)

    rows = {r.name: r for r in _concrete(ROUND_SPEC, "0.7", 32).rows}
    # truncate(9.1) = 9; 2.5 * 9 = 22.5 -> round half even -> 22; 21 * 0.7 = 14.7 -> 14;
    # 1.5 * 9 = 13.5 -> 14; 1.5 * 14 = 21.
    assert rows["body.0.0.expand.conv"].output_shape == (22, 16, 16)
    assert rows["body.1.0.expand.conv"].output_shape == (14, 16, 16)
    assert rows["body.1.1.expand.conv"].output_shape == (21, 8, 8)

    rows = {r.name: r for r in _concrete(GROUPED_SPEC, "1", 56).rows}
    # expand make_divisible(2.5 * 48 = 120) = 120; residual "expansion": between the
    # expansions of stride-1 repeats of the same design width.
    assert rows["stem.1.pool"].output_shape == (32, 14, 14)        # ceil(28 / 2)
    assert rows["body.0.conv"].op == "grouped_conv"
    assert rows["body.0.conv"].params == 64 * (32 // 4) * 9
    assert rows["body.1.conv"].params == 48 * (64 // 2)
    assert rows["body.2.0.expand.conv"].output_shape == (120, 14, 14)
    assert "body.2.0.expand_add" not in rows
    assert rows["body.2.1.expand_add"].output_shape == (120, 14, 14)
    assert rows["body.2.2.expand_add"].output_shape == (120, 14, 14)
    assert not any(r.startswith("body.2") and r.endswith(".add") for r in rows)
    assert "body.3.0.expand_add" not in rows and "body.3.1.expand_add" not in rows
    assert rows["body.3.1.add"].output_shape == (56, 7, 7)         # default placement
    assert rows["body.4.pool"].output_shape == (56, 7, 7)          # (7 + 2 - 3) // 1 + 1
    assert rows["head.0.conv"].output_shape == (200, 7, 7)


def test_symbolic_spatial_forms_nest():
    # ceil(ceil(r / 2) / 2) is ceil(r / 4) for integer r; check both the form and values.
    r = symbolic.r
    once = symbolic.spatial_out(r, 3, 2, "same")
    twice = symbolic.spatial_out(once, 3, 2, "same")
    assert sympy.simplify(twice - sympy.ceiling(r / 4)) == 0
    valid = symbolic.spatial_out(twice, 3, 2, "valid")
    padded = symbolic.spatial_out(valid, 3, 2, 1)
    for value in range(9, 300):
        h = -(-(-(-value // 2)) // 2)
        h_valid = (h - 3) // 2 + 1
        assert twice.subs(r, value) == h
        assert valid.subs(r, value) == h_valid
        assert padded.subs(r, value) == (h_valid + 2 - 3) // 2 + 1


def test_symbolic_graph_rejects_a_point():
    spec = archcalc.parse_spec(TRUNCATE_SPEC, "<t>")
    with pytest.raises(archcalc.OptionError):
        archcalc.compile_graph(spec, "0.5", None, symbolic=True)
    concrete = archcalc.analyze(archcalc.compile_graph(spec, "0.5", 64))
    with pytest.raises(archcalc.OptionError):
        concrete.at("0.5", 64)


@pytest.mark.parametrize("spec_name, width", [("mobilenet_v2.yaml", "0.25"),
                                              ("mobilenet_v2.yaml", "1.4"),
                                              ("mobilenet_v3_small.yaml", "0.75"),
                                              ("shufflenet_v2.yaml", "0.5")])
def test_graph_symbolic_in_r_alone(spec_name, width):
    """compile_graph(spec, width, symbolic="r"): exact channel counts at the width (so the
    residuals are decided as at a point: MobileNetV2 at 0.25, where 32 and 16 both round to 8,
    has an extra residual), closed forms in r; every row equals the concrete compile."""
    spec = archcalc.load_spec(ROOT / "specs" / spec_name)
    graph = archcalc.compile_graph(spec, width, symbolic="r")
    assert graph.symbolic and not graph.guards
    assert all(sympy.sympify(graph.shape(n)[0]).is_number for n in graph.names)
    forms = archcalc.analyze(graph)
    for resolution in (96, 161, 224):
        assert_same(forms, archcalc.analyze(archcalc.compile_graph(spec, width, resolution)))
    with pytest.raises(archcalc.OptionError):
        archcalc.compile_graph(spec, width, 224, symbolic="r")
    with pytest.raises(archcalc.OptionError):
        archcalc.compile_graph(spec, width, symbolic="alpha")
