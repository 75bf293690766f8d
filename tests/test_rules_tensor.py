"""The rules of the op kinds an imported model needs (archcalc/ops/tensor_rules.py, and the
generalised pool / concat / slice / broadcasting rules of archcalc/ops/rules.py), each against
numbers derived here by hand from PyTorch's definitions; the pooling shape rule also against
torch itself."""
from __future__ import annotations

import pytest

from archcalc import rounding
from archcalc.ops import Op, OpKind, broadcast, numel, rule_for


def run(op: Op, *in_shapes):
    rule = rule_for(op)
    out = rule.shape(op, list(in_shapes))
    return out, rule.cost(op, list(in_shapes), out)


def op(kind, **fields):
    return Op(kind=kind, name="n", layer="l", block="b", **fields)


def test_numel_any_rank():
    assert numel(()) == 1
    assert numel((1000,)) == 1000
    assert numel((197, 768)) == 151296
    assert numel((12, 197, 64)) == 151296
    assert numel((2, 3, 4, 5)) == 120


def test_broadcast():
    assert broadcast((96, 56, 56), (96, 1, 1)) == (96, 56, 56)
    assert broadcast((197, 768), (197, 768)) == (197, 768)
    assert broadcast((5, 1, 4), (3, 1)) == (5, 3, 4)
    assert broadcast((4,), (2, 3, 4)) == (2, 3, 4)


def test_linear_over_last_axis():
    # ViT tokens: (197, 768) -> (197, 3072): 768 x 3072 weights, 3072 biases, one MAC per
    # weight per token
    out, cost = run(op(OpKind.LINEAR, out_ch=3072, bias=True), (197, 768))
    assert out == (197, 3072)
    assert cost.weights == 768 * 3072 == 2359296
    assert cost.bias == 3072
    assert cost.madds == 197 * 768 * 3072 == 464781312
    # a classifier on a vector, no bias; ConvNeXt's channel-last Linear (56, 56, 96) -> 384
    out, cost = run(op(OpKind.LINEAR, out_ch=1000), (1280,))
    assert out == (1000,) and cost.madds == 1280000 and cost.bias == 0
    out, cost = run(op(OpKind.LINEAR, out_ch=384, bias=True), (56, 56, 96))
    assert out == (56, 56, 384) and cost.madds == 56 * 56 * 96 * 384 == 115605504


def test_layer_and_group_norm():
    out, cost = run(op(OpKind.NORM, norm="layer", size=(768,), bias=True), (197, 768))
    assert out == (197, 768)
    assert cost.bn_params == 2 * 768 and cost.weights == 0 and cost.madds == 0
    assert cost.elementwise == 2 * 197 * 768
    out, cost = run(op(OpKind.NORM, norm="group", groups=2, bias=True), (4, 10, 10))
    assert cost.bn_params == 8 and cost.elementwise == 800
    assert run(op(OpKind.NORM, norm="layer", size=(7, 7), bias=False), (3, 7, 7))[1].bn_params == 0
    assert rule_for(op(OpKind.NORM)).inplace


@pytest.mark.parametrize("size, out, total", [
    (6, 6, 6),          # identity windows
    (5, 7, 11),         # upsampling windows overlap: starts 0,0,1,2,2,3,4 ends 1,2,3,3,4,5,5
    (7, 3, 9),          # [0,3) [2,5) [4,7)
    (13, 6, 18),        # alexnet at 224: 13 -> 6, six windows of 3 (starts 0,2,4,6,8,10)
])
def test_adaptive_pool(size, out, total):
    # window i covers [floor(i * size / out), ceil((i + 1) * size / out))
    windows = sum(-(-(i + 1) * size // out) - i * size // out for i in range(out))
    assert windows == total
    shape, cost = run(op(OpKind.ADAPTIVE_POOL, pool="avg", size=(out, out)), (4, size, size))
    assert shape == (4, out, out)
    assert cost.elementwise == 4 * total * total
    assert cost.madds == 0 and cost.weights == 0


@pytest.mark.parametrize("h, k, s, p, d, ceil", [
    (112, 3, 2, 1, 1, False), (112, 3, 2, 0, 1, True), (56, 3, 2, 0, 1, True),
    (55, 3, 2, 0, 1, True), (14, 2, 2, 0, 1, True), (10, 3, 2, 1, 1, True), (7, 3, 2, 1, 1, True),
    (9, 2, 2, 1, 1, True), (20, 3, 1, 1, 2, False), (20, 3, 2, 1, 3, True), (5, 2, 3, 1, 1, True),
])
def test_pool_spatial_out_matches_torch(h, k, s, p, d, ceil):
    torch = pytest.importorskip("torch")
    x = torch.empty(1, 1, h, h, device="meta")
    want = torch.nn.functional.max_pool2d(x, k, s, p, d, ceil_mode=ceil).shape[-1]
    assert rounding.spatial_out(h, k, s, p, d, ceil) == want
    shape, cost = run(op(OpKind.POOL, pool="max", kernel=k, stride=s, padding=p, dilation=d,
                         ceil_mode=ceil), (8, h, h))
    assert shape == (8, want, want)
    assert cost.elementwise == 8 * want * want * k * k


def test_pool_ceil_mode_by_hand():
    # 112 / 3x3 stride 2 no padding: floor(109 / 2) + 1 = 55; ceil: ceil(109 / 2) + 1 = 56
    assert rounding.spatial_out(112, 3, 2, 0, 1, False) == 55
    assert rounding.spatial_out(112, 3, 2, 0, 1, True) == 56
    # 9 with k=2, s=2, p=1: ceil(8 / 2) + 1 = 5, but the 5th window starts at 8 >= 9 + 1? no:
    # (5 - 1) * 2 = 8 < 10: kept; with h=8: ceil(7/2)+1 = 5, starts at 8 >= 8 + 1? no -> 5
    assert rounding.spatial_out(9, 2, 2, 1, 1, True) == 5
    # 5 with k=2, s=3, p=1: ceil(4 / 3) + 1 = 3; the 3rd starts at 6 >= 5 + 1: dropped -> 2
    assert rounding.spatial_out(5, 2, 3, 1, 1, True) == 2


def test_binary_broadcast_with_parameter_operand():
    # ConvNeXt's layer scale (C, 1, 1) times x; the PARAM node carries the C weights
    shape, cost = run(op(OpKind.MUL), (96, 56, 56), (96, 1, 1))
    assert shape == (96, 56, 56) and cost.elementwise == 96 * 56 * 56
    shape, cost = run(op(OpKind.PARAM, size=(96, 1, 1)))
    assert shape == (96, 1, 1) and cost.weights == 96 and cost.madds == 0
    assert rule_for(op(OpKind.PARAM, size=(1,))).stored
    # ViT: x + pos_embedding, both (197, 768)
    shape, cost = run(op(OpKind.ADD), (197, 768), (197, 768))
    assert shape == (197, 768) and cost.elementwise == 151296


def test_matmul_and_attention():
    # q k^T per head: (12, 197, 64) @ (12, 64, 197): 12 x 197 x 197 x 64 MACs
    shape, cost = run(op(OpKind.MATMUL), (12, 197, 64), (12, 64, 197))
    assert shape == (12, 197, 197) and cost.madds == 12 * 197 * 197 * 64 == 29805312
    shape, cost = run(op(OpKind.MATMUL), (5, 16), (16, 5))
    assert shape == (5, 5) and cost.madds == 400
    # sdpa: b x h x Lq x Lk x (d + dv) = 12 x 197 x 197 x 128; the two matmuls above, summed
    shape, cost = run(op(OpKind.ATTENTION), (12, 197, 64), (12, 197, 64), (12, 197, 64))
    assert shape == (12, 197, 64)
    assert cost.madds == 2 * 29805312 and cost.elementwise == 12 * 197 * 197
    shape, cost = run(op(OpKind.ATTENTION), (2, 5, 8), (2, 7, 8), (2, 7, 3))
    assert shape == (2, 5, 3) and cost.madds == 2 * 5 * 7 * (8 + 3)


def test_free_ops():
    for kind, inplace in ((OpKind.VIEW, True), (OpKind.COPY, False)):
        shape, cost = run(op(kind, size=(1280,)), (1280, 1, 1))
        assert shape == (1280,)
        assert cost == (0, 0, 0, 0, 0)
        assert rule_for(op(kind)).inplace is inplace
    shape, cost = run(op(OpKind.SOFTMAX), (12, 197, 197))
    assert shape == (12, 197, 197) and cost.elementwise == 465708 and cost.madds == 0
    shape, cost = run(op(OpKind.UNKNOWN, size=(3, 4)), (3, 4))
    assert shape == (3, 4) and cost == (0, 0, 0, 0, 0)


def test_concat_and_slice_along_any_axis():
    # spec graphs: channels (axis -3); ViT's class token joins 196 patch tokens on axis -2
    assert run(op(OpKind.CONCAT), (16, 8, 8), (24, 8, 8))[0] == (40, 8, 8)
    assert run(op(OpKind.CONCAT, axis=-2), (1, 768), (196, 768))[0] == (197, 768)
    assert run(op(OpKind.SLICE, out_ch=58, start=58), (116, 28, 28))[0] == (58, 28, 28)
    assert run(op(OpKind.SLICE, out_ch=3, start=0, axis=-1), (10, 9))[0] == (10, 3)


def test_activation_any_rank():
    shape, cost = run(op(OpKind.ACT, act="gelu"), (197, 3072))
    assert shape == (197, 3072) and cost.elementwise == 197 * 3072
