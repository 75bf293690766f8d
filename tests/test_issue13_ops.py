"""The spec-language ops of issue 13, each against hand-derived numbers: dilated convolutions
and a backbone's output_stride (DeepLab), resampling (bilinear / nearest, by a factor, to a
size or to another tensor's size), space-to-depth (YOLOv2's reorg), L2Norm with a learned
scale (SSD), leaky ReLU, ceil-mode pooling and max pool s1 p1 (SSD's pool3 / pool5), a gate
product in cells (LR-ASPP), rows left out by `when`, TF's atrous cost (tf-deeplab) and
multi-scale, flipped inference (MobileNetV2 Table 7's MF)."""
from __future__ import annotations

import math
import textwrap

import pytest

import archcalc
from archcalc import ops, rounding
from archcalc.errors import SpecError
from archcalc.ops import Op, OpKind, rule_for
from archcalc.spec.load import parse_spec


def run(op: Op, *in_shapes):
    rule = rule_for(op)
    out = rule.shape(op, list(in_shapes))
    return out, rule.cost(op, list(in_shapes), out)


def build(text: str, **kw):
    return archcalc.compile_graph(parse_spec(textwrap.dedent(text), "t.yaml", kw.pop("sets", None)),
                                  **kw)


def costs(text: str, convention="paper", **kw):
    return archcalc.analyze(build(text, **kw), convention)


# ---- dilation --------------------------------------------------------------------------------

@pytest.mark.parametrize("h, k, s, d, p", [(19, 3, 1, 6, 6), (33, 3, 1, 12, 12), (20, 3, 2, 2, 2),
                                           (38, 3, 1, 2, 0), (17, 5, 1, 3, "valid")])
def test_dilated_conv_rule(h, k, s, d, p):
    """PyTorch: out = floor((h + 2p - d (k - 1) - 1) / s) + 1; weights and MAdds per output
    position as the undilated conv (SSD's fc6: 3x3, pad 6, dilation 6 keeps 19 x 19)."""
    op = Op(kind=OpKind.CONV, name="c", layer="c", block="c", out_ch=8, kernel=k, stride=s,
            padding=p, dilation=d)
    out, cost = run(op, (4, h, h))
    pad = 0 if p == "valid" else p
    side = (h + 2 * pad - d * (k - 1) - 1) // s + 1
    assert out == (8, side, side)
    assert cost.weights == 8 * 4 * k * k and cost.madds == 8 * 4 * k * k * side * side


def test_dilated_same_padding_keeps_ceil():
    op = Op(kind=OpKind.DEPTHWISE, name="c", layer="c", block="c", out_ch=8, kernel=3, groups=8,
            stride=1, dilation=4)
    assert run(op, (8, 33, 33))[0] == (8, 33, 33)
    assert op.label == "dwconv 3x3 d4"


def test_tf_atrous_positions_by_hand():
    """TF runs a rate-r conv on an input padded to a multiple of r: at 33 x 33, rate 6 computes
    36 x 36 = 1296 positions, rate 12 and 18 36 x 36 too, rate 2 34 x 34; rate 1 as it is."""
    for r, side in ((6, 36), (12, 36), (18, 36), (2, 34), (1, 33)):
        op = Op(kind=OpKind.CONV, name="c", layer="c", block="c", out_ch=256, kernel=3,
                dilation=r)
        out, cost = run(op, (320, 33, 33))
        assert ops.tf_atrous_madds(op, cost, out) == 256 * 320 * 9 * side * side


# ---- ceil-mode and stride-1 pooling ----------------------------------------------------------

@pytest.mark.parametrize("h, k, s, p, expected", [
    (75, 2, 2, 0, 38),       # SSD300's pool3 (floor would give 37)
    (150, 2, 2, 0, 75),      # even: the same as floor
    (5, 3, 2, 1, 3),         # ceil((5 + 2 - 3) / 2) + 1 = 3; (3 - 1) * 2 = 4 < 5 + 1: kept
    (6, 3, 2, 1, 4),         # ceil(5 / 2) + 1 = 4; (4 - 1) * 2 = 6 < 6 + 1: kept
    (4, 2, 3, 1, 2),         # ceil(4 / 3) + 1 = 3; (3 - 1) * 3 = 6 >= 4 + 1: one less
])
def test_ceil_mode_pool_is_torch_rule(h, k, s, p, expected):
    op = Op(kind=OpKind.POOL, name="p", layer="p", block="p", pool="max", kernel=k, stride=s,
            padding=p, ceil_mode=True)
    assert run(op, (16, h, h))[0] == (16, expected, expected)
    assert rounding.spatial_out(h, k, s, p, 1, True) == expected


def test_ceil_mode_matches_torch():
    torch = pytest.importorskip("torch")
    for h in range(3, 40):
        for k, s, p in ((2, 2, 0), (3, 2, 1), (3, 3, 1), (2, 3, 1)):
            pool = torch.nn.MaxPool2d(k, s, p, ceil_mode=True)
            with torch.device("meta"):
                got = pool(torch.zeros(1, 1, h, h)).shape[-1]
            assert rounding.spatial_out(h, k, s, p, 1, True) == got, (h, k, s, p)


def test_symbolic_ceil_mode_equals_points():
    import sympy

    from archcalc import symbolic
    r = sympy.Symbol("r", positive=True, integer=True)
    for k, s, p in ((2, 2, 0), (3, 2, 1), (2, 3, 1)):
        form = symbolic.spatial_out(r, k, s, p, 1, True)
        for h in range(4, 30):
            assert int(form.subs(r, h)) == rounding.spatial_out(h, k, s, p, 1, True)


def test_max_pool_stride1_pad1_keeps_the_size():
    g = build("""
        name: t
        input: {resolution: 19}
        layers:
          a:
            - {op: maxpool, k: 3, s: 1, padding: 1}
    """)
    assert g.shape(g.names[-1]) == (3, 19, 19)


# ---- resampling, space-to-depth, L2Norm, leaky ReLU ------------------------------------------

def test_upsample_rules():
    op = Op(kind=OpKind.UPSAMPLE, name="u", layer="u", block="u", mode="bilinear", factor=4)
    out, cost = run(op, (21, 33, 40))
    assert out == (21, 132, 160)
    assert cost.madds == 0 and cost.weights == 0 and cost.elementwise == 4 * 21 * 132 * 160
    op = Op(kind=OpKind.UPSAMPLE, name="u", layer="u", block="u", mode="nearest", size=(513, 500))
    out, cost = run(op, (21, 33, 33))
    assert out == (21, 513, 500) and cost == ops.Cost()


def test_space_to_depth_rule():
    op = Op(kind=OpKind.SPACE_TO_DEPTH, name="r", layer="r", block="r", stride=2)
    out, cost = run(op, (512, 26, 26))       # YOLOv2: 26 x 26 x 512 -> 13 x 13 x 2048
    assert out == (2048, 13, 13) and cost == ops.Cost()


def test_l2norm_rule():
    op = Op(kind=OpKind.L2NORM, name="n", layer="n", block="n")
    out, cost = run(op, (512, 38, 38))
    assert out == (512, 38, 38)
    assert cost.weights == 512 and cost.madds == 0 and cost.elementwise == 3 * 512 * 38 * 38
    assert not rule_for(op).inplace


SMALL = """
    name: t
    input: {resolution: 32}
    cells:
      gated:
        inputs: [x]
        nodes:
          a: {from: x, ops: [{op: pwconv, c: 8}]}
          g: {from: x, ops: [{op: avgpool, global: true}, {op: pwconv, c: 8, norm: none,
                                                          act: sigmoid}]}
          m: {mul: [a, g]}
        output: m
    layers:
      a:
        - {op: conv, c: 16, s: 2, act: leaky_relu, name: f}          # 16 x 16
        - {op: space_to_depth, block: 2}                             # 64 x 8 x 8
        - {op: l2norm}
        - {op: gated}
        - {op: upsample, factor: 2, mode: nearest}                   # 8 x 16 x 16
        - {op: upsample, to: input}                                  # 8 x 32 x 32
        - {op: upsample, size: [40, 48]}
        - {op: conv, c: 8, dilation: 2, when: $extra}
    params:
      extra: {default: false}
"""


def test_small_spec_shapes_and_costs_by_hand():
    g = build(SMALL)
    shapes = {n: g.shape(n) for n in g.names}
    assert shapes["a.0.act"] == (16, 16, 16) and g.op("a.0.act").act == "leaky_relu"
    assert shapes["a.1.reorg"] == (64, 8, 8)
    assert shapes["a.4.upsample"] == (8, 16, 16)
    assert shapes["a.5.upsample"] == (8, 32, 32)
    assert shapes["a.6.upsample"] == (8, 40, 48)
    assert shapes["a.3.m.mul"] == (8, 8, 8)
    t = costs(SMALL)
    # conv 3*16*9; l2norm 64; gated: 1x1 64->8 (BN: no bias) and 1x1 64->8 + bias
    assert t.totals["params"] == 3 * 16 * 9 + 64 + 64 * 8 + 64 * 8 + 8
    assert t.totals["madds"] == 3 * 16 * 9 * 16 * 16 + 64 * 8 * 8 * 8 + 64 * 8
    with_extra = costs(SMALL, sets={"extra": "true"})
    assert with_extra.totals["params"] - t.totals["params"] == 8 * 8 * 9     # BN: no bias
    assert with_extra.rows[-2].output_shape == (8, 40, 48)    # dilation 2, "same" padding


def test_small_spec_verifies_against_pytorch():
    pytest.importorskip("torch")
    from archcalc.torch_backend import verify
    for sets in (None, {"extra": "true"}):
        result = verify(build(SMALL, sets=sets))
        assert result.mismatches == [] and result.ok


@pytest.mark.parametrize("row, message", [
    ("{op: upsample}", "exactly one of 'factor', 'size' and 'to'"),
    ("{op: upsample, factor: 2, to: input}", "exactly one of"),
    ("{op: upsample, to: nowhere}", "no earlier row, layer or cell node named 'nowhere'"),
    ("{op: space_to_depth, block: 3}", "divisible by it, got 32x32"),
    ("{op: upsample, mode: cubic, factor: 2}", "expected one of bilinear, nearest"),
    ("{op: conv, c: 8, dilation: 0}", "must be a positive integer"),
    ("{op: maxpool, k: 2, ceil_mode: yes}", "expected true or false"),
])
def test_bad_rows_are_located_errors(row, message):
    with pytest.raises(SpecError) as err:
        build(f"""
            name: t
            input: {{resolution: 32}}
            layers:
              a:
                - {row}
        """)
    assert message in str(err.value) and "t.yaml:" in str(err.value)


# ---- output_stride ---------------------------------------------------------------------------

OS_SPEC = """
    name: t
    input: {resolution: 64}
    params:
      os: {default: 8}
    output_stride: {value: $os, sections: [body]}
    layers:
      body:
        - {op: conv, c: 8, s: 2}              # OS 2
        - {op: dwconv, s: 2}                  # OS 4
        - {op: dwconv, s: 2}                  # OS 8
        - {op: dwconv, s: 2}                  # would be OS 16: stride 1, rate 1; rate 2 after
        - {op: dwconv}                        # rate 2
        - {op: dwconv, s: 2}                  # stride 1, rate 2; rate 4 after
        - {op: dwconv, k: 1}                  # a 1x1: no dilation
        - {op: dwconv}                        # rate 4
      head:
        - {op: conv, c: 8, dilation: 3}       # not in the listed sections: its own rate
"""


def test_output_stride_turns_strides_into_dilation():
    """TF-slim mobilenet.py: once current_stride == output_stride, layer_stride = 1,
    layer_rate = rate, rate *= stride."""
    g = build(OS_SPEC)
    convs = [g.op(n) for n in g.names if g.op(n).kind in ops.CONV_KINDS]
    assert [(o.stride, o.dilation) for o in convs] == [
        (2, 1), (2, 1), (2, 1), (1, 1), (1, 2), (1, 2), (1, 1), (1, 4), (1, 3)]
    assert g.shape(g.names[-1])[1:] == (8, 8)
    g16 = build(OS_SPEC, sets={"os": "16"})
    convs = [g16.op(n) for n in g16.names if g16.op(n).kind in ops.CONV_KINDS]
    assert [(o.stride, o.dilation) for o in convs] == [
        (2, 1), (2, 1), (2, 1), (2, 1), (1, 1), (1, 1), (1, 1), (1, 2), (1, 3)]
    assert g16.shape(g16.names[-1])[1:] == (4, 4)


def test_output_stride_errors():
    with pytest.raises(SpecError, match="output_stride.value"):
        build(OS_SPEC.replace("{value: $os, sections: [body]}", "{sections: [body]}"))
    with pytest.raises(SpecError, match="output_stride.rate: unknown key"):
        build(OS_SPEC.replace("sections: [body]}", "sections: [body], rate: 2}"))


# ---- multi-scale inference -------------------------------------------------------------------

def test_tf_scale_dimension_sizes():
    """TF DeepLab's scale_dimension(513, s) = int((513 - 1) * s + 1)."""
    from archcalc.cost.passes import scaled_side
    got = [scaled_side(513, s, "tf") for s in ("0.5", "0.75", "1", "1.25", "1.5", "1.75")]
    assert got == [257, 385, 513, 641, 769, 897]
    assert [scaled_side(512, s, "scaled") for s in ("0.5", "1.75")] == [256, 896]


MS_SPEC = """
    name: t
    input: {resolution: 20}
    params:
      ms: {default: true}
    multiscale: {enabled: $ms, scales: [0.5, 1, 1.5], flip: true}
    layers:
      a:
        - {op: conv, c: 8, k: 1}
"""


def test_multiscale_sums_every_pass():
    t = costs(MS_SPEC)
    per = [3 * 8 * side * side for side in (10, 20, 30)]
    assert [p.madds for p in t.passes] == [per[0], per[0], per[1], per[1], per[2], per[2]]
    assert [p.flip for p in t.passes] == [False, True] * 3
    assert t.totals["madds"] == 2 * sum(per) and t.totals["flops"] == 4 * sum(per)
    assert t.totals["params"] == 3 * 8
    assert sum(r.madds for r in t.rows) == per[1]        # the layers: the pass at 20
    off = costs(MS_SPEC, sets={"ms": "false"})
    assert off.passes == () and off.totals["madds"] == per[1]


def test_multiscale_closed_forms_sum_the_passes():
    """The closed form of MAdds is the single-pass form at each pass's side, summed: here
    2 x 24 x (floor(r/2)^2 + r^2 + floor(3r/2)^2)."""
    spec = parse_spec(textwrap.dedent(MS_SPEC), "t.yaml")
    table = archcalc.analyze(archcalc.compile_graph(spec, symbolic=True))
    from archcalc.cost import Evaluator
    ev = Evaluator.from_table(table)
    for r in (20, 21, 33):
        want = 2 * 24 * ((r // 2) ** 2 + r * r + (3 * r // 2) ** 2)
        assert int(ev.points(["1"], [r], "madds")["madds"][0]) == want
        assert table.at(1, r).totals["madds"] == want == costs(MS_SPEC, resolution=r).totals["madds"]


def test_report_lists_passes(tmp_path, capsys):
    from archcalc.cli.main import main
    spec = tmp_path / "ms.yaml"
    spec.write_text(textwrap.dedent(MS_SPEC))
    assert main(["report", str(spec), "--passes"]) == 0
    out = capsys.readouterr().out
    assert "sum of 6 inference passes" in out
    assert f"{2 * 3 * 8 * (100 + 400 + 900):,}" in out and "1.5   yes  30" in out


def test_leaky_relu_slope_in_torch():
    torch = pytest.importorskip("torch")
    from archcalc.torch_backend.build import ACTIVATIONS
    module = ACTIVATIONS["leaky_relu"]()
    assert module(torch.tensor([-10.0])).item() == pytest.approx(-1.0)
    assert math.isclose(module.negative_slope, 0.1)


def test_verify_compares_one_pass_of_a_multiscale_spec():
    """The PyTorch model is one pass: verify checks the rows (the pass at the point's size),
    not the multi-scale sum."""
    pytest.importorskip("torch")
    from archcalc.torch_backend import verify
    result = verify(build(MS_SPEC))
    assert result.ok and result.madds == (3 * 8 * 20 * 20, 3 * 8 * 20 * 20)


@pytest.mark.parametrize("section, message", [
    ("{scales: [10000], flip: true}", "multiscale.scales: the pass at scale 10000 is 200000 pixels"),
    ("{scales: []}", "multiscale.scales: expected a non-empty list of scales"),
    ("{scales: [0.5], sizes: round}", "multiscale.sizes: expected one of scaled, tf"),
    ("{scales: [-1]}", "multiscale.scales: must be positive"),
    ("{scales: [1], mirror: true}", "multiscale.mirror: unknown key"),
])
def test_bad_multiscale_is_a_located_error(section, message):
    text = MS_SPEC.replace("{enabled: $ms, scales: [0.5, 1, 1.5], flip: true}", section)
    with pytest.raises(SpecError) as err:
        costs(text)
    assert message in str(err.value) and "t.yaml:" in str(err.value)
