"""Per-op rules of archcalc/ops/ against hand-written closed forms (fvcore-style op tests):
for each op, expected shape, weights, bias, BN params, MAdds and element-wise ops are written
out here from the definitions (PyTorch Conv2d / Linear / BatchNorm2d semantics)."""
from __future__ import annotations

from enum import Enum

import pytest

import archcalc
from archcalc import ops
from archcalc.errors import DuplicateRuleError, UnsupportedOpError
from archcalc.graph.archgraph import ArchGraph
from archcalc.ops import Op, OpKind, rule_for


def run(op: Op, *in_shapes):
    rule = rule_for(op)
    out = rule.shape(op, list(in_shapes))
    return out, rule.cost(op, list(in_shapes), out)


def conv_out(h, k, s, padding):
    """PyTorch: floor((h + 2p - k) / s) + 1; TF "SAME": ceil(h / s); "valid": p = 0."""
    if padding == "same":
        return (h + s - 1) // s
    p = 0 if padding == "valid" else padding
    return (h + 2 * p - k) // s + 1


CONV_CASES = [
    # kind, c_in, c_out, k, s, padding, groups, h, w
    (OpKind.CONV, 3, 32, 3, 2, "same", 1, 224, 224),
    (OpKind.CONV, 3, 32, 3, 2, "same", 1, 225, 225),
    (OpKind.CONV, 3, 32, 3, 2, 1, 1, 224, 224),
    (OpKind.CONV, 3, 32, 3, 2, 1, 1, 161, 161),
    (OpKind.CONV, 16, 24, 5, 1, "valid", 1, 17, 20),
    (OpKind.CONV, 16, 24, 5, 2, "valid", 1, 18, 19),
    (OpKind.CONV, 3, 64, 7, 2, 3, 1, 224, 224),
    (OpKind.CONV, 8, 8, 3, 1, 0, 1, 5, 5),
    (OpKind.DEPTHWISE, 96, 96, 3, 2, "same", 96, 112, 112),
    (OpKind.DEPTHWISE, 144, 144, 3, 1, "same", 144, 57, 57),
    (OpKind.DEPTHWISE, 40, 40, 5, 2, "valid", 40, 29, 28),
    (OpKind.DEPTHWISE, 32, 32, 3, 2, 1, 32, 7, 7),
    (OpKind.GROUPED_CONV, 64, 128, 3, 1, "same", 4, 28, 28),
    (OpKind.GROUPED_CONV, 240, 240, 3, 2, 1, 8, 15, 15),
    (OpKind.GROUPED_CONV, 12, 18, 3, 2, "valid", 3, 10, 11),
    (OpKind.POINTWISE, 16, 96, 1, 1, "same", 1, 112, 112),
    (OpKind.POINTWISE, 320, 1280, 1, 1, "same", 1, 7, 7),
    (OpKind.POINTWISE, 240, 60, 1, 1, "same", 3, 28, 28),     # ShuffleNet-style grouped 1x1
    (OpKind.POINTWISE, 24, 48, 1, 2, "same", 1, 13, 13),      # strided 1x1
    (OpKind.POINTWISE, 24, 48, 1, 2, "valid", 1, 13, 13),
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("kind, c_in, c_out, k, s, padding, groups, h, w", CONV_CASES)
def test_conv_rule(kind, c_in, c_out, k, s, padding, groups, h, w, bias):
    op = Op(kind=kind, name="x.conv", layer="x", block="x", out_ch=c_out, kernel=k, stride=s,
            padding=padding, groups=groups, bias=bias)
    out, cost = run(op, (c_in, h, w))
    ho, wo = conv_out(h, k, s, padding), conv_out(w, k, s, padding)
    assert out == (c_out, ho, wo)
    weights = c_out * (c_in // groups) * k * k
    assert cost.weights == weights
    assert cost.bias == (c_out if bias else 0)
    assert cost.madds == weights * ho * wo
    assert cost.bn_params == 0 and cost.elementwise == 0


def test_conv_spot_values():
    # MobileNetV2 stem at 224: 32 * 3 * 3^2 = 864 weights, 864 * 112^2 MAdds.
    _, cost = run(Op(kind=OpKind.CONV, name="s", layer="s", block="s", out_ch=32, kernel=3,
                     stride=2), (3, 224, 224))
    assert (cost.weights, cost.madds) == (864, 10_838_016)
    # Depthwise 3x3 on 32 channels at 112: 288 weights, 288 * 112 * 112 = 3,612,672 MAdds.
    _, cost = run(Op(kind=OpKind.DEPTHWISE, name="d", layer="d", block="d", out_ch=32, kernel=3,
                     groups=32), (32, 112, 112))
    assert (cost.weights, cost.madds) == (288, 3_612_672)
    # Grouped 3x3, 64 -> 128 in 4 groups at 28: 128 * 16 * 9 = 18,432 weights.
    _, cost = run(Op(kind=OpKind.GROUPED_CONV, name="g", layer="g", block="g", out_ch=128,
                     kernel=3, groups=4), (64, 28, 28))
    assert (cost.weights, cost.madds) == (18_432, 18_432 * 784)


def test_separable_costs_less_than_full_conv_by_mobilenet_v1_ratio():
    # MobileNetV1 Eq. (5): (D_K^2 M D_F^2 + M N D_F^2) / (D_K^2 M N D_F^2) = 1/N + 1/D_K^2.
    m, n, dk, df = 64, 128, 3, 56
    full = run(Op(kind=OpKind.CONV, name="f", layer="f", block="f", out_ch=n, kernel=dk),
               (m, df, df))[1].madds
    dw = run(Op(kind=OpKind.DEPTHWISE, name="d", layer="d", block="d", out_ch=m, kernel=dk,
                groups=m), (m, df, df))[1].madds
    pw = run(Op(kind=OpKind.POINTWISE, name="p", layer="p", block="p", out_ch=n), (m, df, df))[1].madds
    assert (dw + pw) * n * dk * dk == full * (dk * dk + n)


@pytest.mark.parametrize("c_in, h, w, out, bias", [
    (1280, 1, 1, 1000, True), (1280, 1, 1, 1001, True), (1024, 1, 1, 10, False),
    (16, 3, 5, 7, True),   # flattened input: 16 * 3 * 5 features
])
def test_fc_rule(c_in, h, w, out, bias):
    op = Op(kind=OpKind.FC, name="fc", layer="fc", block="fc", out_ch=out, bias=bias)
    shape, cost = run(op, (c_in, h, w))
    assert shape == (out, 1, 1)
    assert cost.weights == c_in * h * w * out
    assert cost.bias == (out if bias else 0)
    assert cost.madds == c_in * h * w * out
    assert cost.bn_params == 0


@pytest.mark.parametrize("c, h, w", [(32, 112, 112), (1, 1, 1), (17, 5, 3)])
def test_bn_rule(c, h, w):
    op = Op(kind=OpKind.BN, name="bn", layer="bn", block="bn")
    shape, cost = run(op, (c, h, w))
    assert shape == (c, h, w)
    assert cost.bn_params == 2 * c              # gamma and beta
    assert (cost.weights, cost.bias, cost.madds) == (0, 0, 0)
    assert cost.elementwise == c * h * w
    assert rule_for(op).inplace


@pytest.mark.parametrize("act", ["relu", "relu6", "hswish", "swish", "sigmoid", "hsigmoid"])
def test_activation_rule(act):
    op = Op(kind=OpKind.ACT, name="a", layer="a", block="a", act=act)
    shape, cost = run(op, (24, 56, 56))
    assert shape == (24, 56, 56)
    assert cost == ops.Cost(elementwise=24 * 56 * 56)
    assert rule_for(op).inplace
    assert op.label == act


@pytest.mark.parametrize("pool, k, s, padding, c, h, w", [
    ("avg", 2, 2, "valid", 16, 8, 8),
    ("max", 3, 2, "valid", 64, 112, 112),     # 3x3/2 valid: floor(109/2) + 1 = 55
    ("max", 3, 2, "valid", 64, 113, 113),
    ("max", 3, 2, 1, 64, 112, 112),           # ResNet-style padded max pool: 56
    ("max", 3, 2, "same", 24, 57, 57),
    ("avg", 7, 1, "valid", 1024, 7, 7),
    ("avg", 3, 1, 1, 8, 9, 10),
])
def test_windowed_pool_rule(pool, k, s, padding, c, h, w):
    op = Op(kind=OpKind.POOL, name="p", layer="p", block="p", pool=pool, kernel=k, stride=s,
            padding=padding)
    shape, cost = run(op, (c, h, w))
    ho, wo = conv_out(h, k, s, padding), conv_out(w, k, s, padding)
    assert shape == (c, ho, wo)
    assert cost.elementwise == c * ho * wo * k * k
    assert (cost.weights, cost.bias, cost.madds, cost.bn_params) == (0, 0, 0, 0)
    assert not rule_for(op).inplace
    assert op.label == f"{pool}pool {k}x{k}/{s}"


def test_spot_pool_shapes():
    mk = dict(name="p", layer="p", block="p", pool="max")
    assert run(Op(kind=OpKind.POOL, kernel=3, stride=2, padding="valid", **mk), (64, 112, 112))[0] \
        == (64, 55, 55)
    assert run(Op(kind=OpKind.POOL, kernel=3, stride=2, padding=1, **mk), (64, 112, 112))[0] \
        == (64, 56, 56)


@pytest.mark.parametrize("c, h, w", [(1280, 7, 7), (1024, 5, 5), (3, 1, 1), (8, 4, 6)])
def test_global_pool_rule(c, h, w):
    op = Op(kind=OpKind.POOL, name="p", layer="p", block="p", pool="avg", global_pool=True)
    shape, cost = run(op, (c, h, w))
    assert shape == (c, 1, 1)
    assert cost.elementwise == c * h * w
    assert cost.madds == 0
    assert op.label == "avgpool global"


def test_add_rule():
    op = Op(kind=OpKind.ADD, name="a", layer="a", block="a")
    shape, cost = run(op, (24, 56, 56), (24, 56, 56))
    assert shape == (24, 56, 56)
    assert cost == ops.Cost(elementwise=24 * 56 * 56)
    assert rule_for(op).arity == 2
    assert not rule_for(op).inplace


def test_concat_rule():
    # ShuffleNet stride-2 unit: concat of the 3x3/2 avg-pooled shortcut (24 ch) and the branch.
    op = Op(kind=OpKind.CONCAT, name="c", layer="c", block="c")
    shape, cost = run(op, (24, 28, 28), (216, 28, 28))
    assert shape == (24 + 216, 28, 28)
    assert cost == ops.Cost()
    assert run(op, (8, 5, 5), (8, 5, 5), (16, 5, 5))[0] == (32, 5, 5)
    assert rule_for(op).arity is None          # any number >= 2


def test_shuffle_rule():
    op = Op(kind=OpKind.SHUFFLE, name="s", layer="s", block="s", groups=3)
    shape, cost = run(op, (240, 28, 28))
    assert shape == (240, 28, 28)               # a permutation of channels
    assert cost == ops.Cost()
    assert op.label == "shuffle g3"


def test_gate_rule():
    # squeeze-and-excitation: x (C x H x W) times a C x 1 x 1 gate, a new tensor
    op = Op(kind=OpKind.MUL, name="m", layer="m", block="m")
    shape, cost = run(op, (72, 28, 28), (72, 1, 1))
    assert shape == (72, 28, 28)
    assert cost == ops.Cost(elementwise=72 * 28 * 28)
    assert rule_for(op).arity == 2
    assert not rule_for(op).inplace
    assert op.label == "scale"


def test_slice_rule():
    # ShuffleNetV2 channel split: the second half of 116 channels, a view
    op = Op(kind=OpKind.SLICE, name="s", layer="s", block="s", out_ch=58, start=58)
    shape, cost = run(op, (116, 28, 28))
    assert shape == (58, 28, 28)
    assert cost == ops.Cost()
    assert rule_for(op).inplace                  # aliases its input's buffer
    assert op.label == "channel split"


def test_input_rule_costs_nothing():
    op = Op(kind=OpKind.INPUT, name="input", layer="input", block="input", out_ch=3)
    assert rule_for(op).cost(op, [], (3, 224, 224)) == ops.Cost()
    assert rule_for(op).arity == 0


def test_every_kind_has_exactly_one_rule():
    assert set(ops.RULES) == set(OpKind)
    conv_rules = {id(ops.RULES[k].cost) for k in ops.CONV_KINDS}
    assert len(conv_rules) == 1


@pytest.mark.parametrize("kind, kw, label", [
    (OpKind.CONV, dict(kernel=3, stride=2), "conv 3x3/2"),
    (OpKind.DEPTHWISE, dict(kernel=3, groups=32), "dwconv 3x3"),
    (OpKind.POINTWISE, dict(), "pwconv 1x1"),
    (OpKind.POINTWISE, dict(groups=3), "pwconv 1x1 g3"),
    (OpKind.GROUPED_CONV, dict(kernel=3, groups=4), "gconv 3x3 g4"),
    (OpKind.FC, dict(), "fc"),
    (OpKind.BN, dict(), "bn"),
])
def test_labels(kind, kw, label):
    assert Op(kind=kind, name="n", layer="n", block="n", **kw).label == label


# ---- the registry --------------------------------------------------------------------------------

@pytest.fixture
def registry():
    saved = dict(ops.RULES)
    yield ops.RULES
    ops.RULES.clear()
    ops.RULES.update(saved)


class FakeKind(str, Enum):
    WARP = "warp"

    def __str__(self):
        return self.value


def test_duplicate_registration_is_an_error(registry):
    before = dict(registry)

    class Again:
        @staticmethod
        def shape(op, inputs):
            return inputs[0]

        @staticmethod
        def cost(op, inputs, out):
            return ops.Cost()

    for kind in OpKind:
        with pytest.raises(DuplicateRuleError, match=str(kind)):
            ops.rule(kind)(Again)
    assert registry == before                     # the original rules survive


def test_new_kind_registers_once(registry):
    class Warp:
        @staticmethod
        def shape(op, inputs):
            return inputs[0]

        @staticmethod
        def cost(op, inputs, out):
            return ops.Cost(elementwise=7)

    ops.rule(FakeKind.WARP)(Warp)
    op = Op(kind=FakeKind.WARP, name="w", layer="w", block="w")
    assert rule_for(op).cost(op, [(1, 1, 1)], (1, 1, 1)).elementwise == 7
    with pytest.raises(DuplicateRuleError):
        ops.rule(FakeKind.WARP)(Warp)


def test_unsupported_op_kind_raises():
    op = Op(kind=FakeKind.WARP, name="body.3.warp", layer="body.3", block="body")
    assert FakeKind.WARP not in ops.RULES
    with pytest.raises(UnsupportedOpError, match="warp") as err:
        rule_for(op)
    assert "body.3.warp" in str(err.value)
    assert isinstance(err.value, archcalc.ArchcalcError)


def test_unsupported_op_is_never_counted_as_zero():
    graph = ArchGraph(spec=None, width=1, resolution=8, symbolic=False)
    graph.add(Op(kind=OpKind.INPUT, name="input", layer="input", block="input", out_ch=3),
              (3, 8, 8), [])
    graph.add(Op(kind=OpKind.CONV, name="c.conv", layer="c", block="c", out_ch=8, kernel=3),
              (8, 8, 8), ["input"])
    graph.add(Op(kind=FakeKind.WARP, name="w", layer="w", block="w"), (8, 8, 8), ["c.conv"])
    with pytest.raises(UnsupportedOpError):
        archcalc.analyze(graph, "paper")


# ---- conventions applied to the rule costs --------------------------------------------------------

def test_conventions_on_a_tiny_graph():
    """conv 3x3 3->8 (no bias) + BN + relu, global pool, fc 8->10 with bias, at 8x8."""
    graph = ArchGraph(spec=None, width=1, resolution=8, symbolic=False)
    graph.add(Op(kind=OpKind.INPUT, name="input", layer="input", block="input", out_ch=3),
              (3, 8, 8), [])
    graph.add(Op(kind=OpKind.CONV, name="c.conv", layer="c", block="c", out_ch=8, kernel=3),
              (8, 8, 8), ["input"])
    graph.add(Op(kind=OpKind.BN, name="c.bn", layer="c", block="c"), (8, 8, 8), ["c.conv"])
    graph.add(Op(kind=OpKind.ACT, name="c.act", layer="c", block="c", act="relu"), (8, 8, 8),
              ["c.bn"])
    graph.add(Op(kind=OpKind.POOL, name="p", layer="p", block="p", pool="avg", global_pool=True),
              (8, 1, 1), ["c.act"])
    graph.add(Op(kind=OpKind.FC, name="f", layer="f", block="f", out_ch=10, bias=True),
              (10, 1, 1), ["p"])
    conv_w, fc_w, fc_b, bn = 8 * 3 * 9, 8 * 10, 10, 2 * 8
    madds = 8 * 3 * 9 * 8 * 8 + 8 * 10
    elementwise = 8 * 64 + 8 * 64 + 8 * 64     # BN, relu, global pool (64 inputs per channel)
    paper = archcalc.analyze(graph, "paper").totals
    assert (paper["params"], paper["bn_params"], paper["madds"]) == (conv_w + fc_w + fc_b, bn, madds)
    assert paper["flops"] == 2 * madds
    assert paper["elementwise_ops"] == elementwise
    tv = archcalc.analyze(graph, "torchvision").totals
    assert tv["params"] == conv_w + fc_w + fc_b + bn
    no_bias = archcalc.CONVENTIONS["paper"].with_options(bias=False)
    assert archcalc.analyze(graph, no_bias).totals["params"] == conv_w + fc_w
