"""archcalc/capture/fast_meta_ops.py: each multi-operand shortcut gives what the meta kernel
it replaces gives (shape, strides, dtype; the first operand itself for in-place ops) over
contiguous, channels-last, sliced, broadcast and 1 x 1 operands, returns None (the kernel
runs) where it is not certain, and a capture with the shortcuts equals one without them."""
import itertools

import pytest

torch = pytest.importorskip("torch")

from archcalc.capture import dispatch, fast_meta_ops  # noqa: E402
from archcalc.capture.fast_meta import meta_outputs  # noqa: E402

aten = torch.ops.aten
DTYPES = (torch.float32, torch.float64, torch.bfloat16)


def m(*shape, dtype=torch.float32):
    return torch.empty(*shape, device="meta", dtype=dtype)


def layouts(*shape, dtype=torch.float32):
    """The same logical shape in several layouts."""
    base = m(*shape, dtype=dtype)
    out = {"contiguous": base}
    if len(shape) == 4:
        out["channels_last"] = base.to(memory_format=torch.channels_last)
    wide = list(shape)
    wide[1] *= 2
    out["sliced"] = m(*wide, dtype=dtype).chunk(2, 1)[1]            # a channel-split view
    out["transposed"] = m(*reversed(shape), dtype=dtype).permute(
        *reversed(range(len(shape))))
    return out


def same(fast, real):
    return (fast.shape, fast.stride(), fast.dtype, fast.device) == \
        (real.shape, real.stride(), real.dtype, real.device)


def check(func, args):
    """The shortcut, when it answers, equals the kernel; returns whether it answered."""
    fast = meta_outputs(func, args)
    real = func(*args)
    if fast is None:
        return False
    assert same(fast, real), (func, [getattr(a, "shape", a) for a in args], fast.stride(),
                              real.stride())
    return True


@pytest.mark.parametrize("dtype", DTYPES)
def test_convolution(dtype):
    answered = 0
    for (label, x), (k, s, p, d, g) in itertools.product(
            layouts(1, 8, 9, 7, dtype=dtype).items(),
            [(3, 1, 1, 1, 1), (3, 2, 1, 1, 8), (1, 1, 0, 1, 1), (5, 2, 2, 1, 2),
             (3, 1, 2, 2, 4), (1, 2, 0, 1, 1), (3, 3, 0, 1, 1)]):
        w = m(16, 8 // g, k, k, dtype=dtype)
        for bias in (None, m(16, dtype=dtype)):
            answered += check(aten.convolution.default,
                              (x, w, bias, [s, s], [p, p], [d, d], False, [0, 0], g))
            answered += check(aten.convolution.default,
                              (x, w, bias, [s], [p], [d], False, [0], g))
    one = m(1, 8, 1, 1, dtype=dtype).to(memory_format=torch.channels_last)   # an SE squeeze
    answered += check(aten.convolution.default,
                      (one, m(4, 8, 1, 1, dtype=dtype), None, [1, 1], [0, 0], [1, 1], False,
                       [0, 0], 1))
    assert answered == 4 * 7 * 4 + 1
    x = m(1, 8, 9, 7)
    assert meta_outputs(aten.convolution.default,          # transposed: the kernel
                        (x, m(8, 4, 3, 3), None, [2, 2], [1, 1], [1, 1], True, [1, 1], 1)) is None
    assert meta_outputs(aten.convolution.default,          # channels do not match: it raises
                        (x, m(4, 3, 3, 3), None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)) is None
    assert meta_outputs(aten.convolution.default,          # kernel larger than the input
                        (x, m(4, 8, 11, 11), None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)) \
        is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_cat(dtype):
    parts = layouts(1, 6, 5, 4, dtype=dtype)
    assert check(aten.cat.default, ([parts["contiguous"], parts["sliced"]], 1))   # ShuffleNet
    assert check(aten.cat.default, ([parts["sliced"], parts["contiguous"], m(1, 2, 5, 4,
                                                                             dtype=dtype)], -3))
    assert check(aten.cat.default, ([m(1, 3, dtype=dtype), m(1, 5, dtype=dtype)], 1))
    assert check(aten.cat.default, ([m(2, 3, dtype=dtype), m(4, 3, dtype=dtype)],))
    for pair in itertools.product(parts.values(), repeat=2):
        check(aten.cat.default, (list(pair), 1))          # answered or not: never different
    assert meta_outputs(aten.cat.default, ([parts["channels_last"]] * 2, 1)) is None
    assert meta_outputs(aten.cat.default, ([m(1, 3), m(2, 3)], 1)) is None        # mismatch
    assert meta_outputs(aten.cat.default, ([m(1, 3), m(1, 3, dtype=torch.float64)], 1)) is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_mean_dim(dtype):
    answered = 0
    for x in (*layouts(1, 6, 5, 4, dtype=dtype).values(), m(1, 6, 1, 1, dtype=dtype),
              m(1, 5, 7, dtype=dtype)):
        for dims, keep in itertools.product(([-1, -2], [2, 3], [1], [0, 1], [-1]),
                                            (True, False)):
            if max(dims) < x.dim():
                answered += check(aten.mean.dim, (x, dims, keep))
        answered += check(aten.mean.dim, (x, [-1]))
    assert answered >= 30
    x = m(1, 6, 5, 4)
    assert meta_outputs(aten.mean.dim, (x, [3, -1], True)) is None           # repeated axis
    assert meta_outputs(aten.mean.dim, (x, [-1], True, torch.float64)) is None  # a dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_addmm(dtype):
    w = m(10, 6, dtype=dtype).t()                          # a Linear reads its weight as t()
    for bias in (m(10, dtype=dtype), m(1, 10, dtype=dtype), m(3, 10, dtype=dtype)):
        assert check(aten.addmm.default, (bias, m(3, 6, dtype=dtype), w))
    assert check(aten.addmm.default, (m(10, dtype=dtype), m(1, 6, dtype=dtype), w))
    assert meta_outputs(aten.addmm.default, (m(10), m(3, 5), m(6, 10))) is None   # k differs


@pytest.mark.parametrize("func", [aten.sub.Tensor, aten.mul.Tensor,
                                  aten.div.Tensor], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary(func, dtype):
    answered = 0
    full = layouts(1, 6, 5, 4, dtype=dtype)
    others = {**full, "se": m(1, 6, 1, 1, dtype=dtype),
              "se_cl": m(1, 6, 1, 1, dtype=dtype).to(memory_format=torch.channels_last),
              "row": m(4, dtype=dtype), "scalar": m((), dtype=dtype),
              "expanded": m(1, 6, 1, 1, dtype=dtype).expand(1, 6, 5, 4)}
    for a, b in itertools.product(list(full.values()) + [m(1, 6, 1, 1, dtype=dtype),
                                                          m(1, 7, dtype=dtype)],
                                  others.values()):
        try:
            func(a, b)
        except RuntimeError:         # shapes that do not broadcast: the shortcut must decline
            assert meta_outputs(func, (a, b)) is None
            continue
        answered += check(func, (a, b))
    assert answered >= 8                  # a contiguous first operand with every second one
    assert meta_outputs(func, (m(1, 6, 1, 1), full["contiguous"])) is None  # b is the larger
    assert meta_outputs(func, (full["channels_last"], m(1, 6, 1, 1))) is None


@pytest.mark.parametrize("func", [aten.add_.Tensor, aten.mul_.Tensor], ids=str)
def test_in_place_binary_returns_its_first_operand(func):
    for a in layouts(1, 6, 5, 4).values():
        for b in (m(1, 6, 1, 1), m(1, 6, 5, 4), m(4)):
            fast = meta_outputs(func, (a, b))
            assert fast is a and func(a, b) is a
    assert meta_outputs(func, (m(1, 6, 1, 1), m(1, 6, 5, 4))) is None   # would not fit in a
    assert meta_outputs(func, (m(1, 6), m(1, 6, dtype=torch.float64))) is None


def test_a_capture_with_the_shortcuts_equals_one_without(monkeypatch):
    import reference_models as rm
    import reference_torchvision as rtv
    for build in (rm.resnet18, rtv.mobilenet_v3_small, lambda: rtv.shufflenet_v2("x0_5"),
                  rtv.efficientnet_b0):
        with torch.device("meta"):
            model = build().eval()
        x = (torch.empty(1, 3, 96, 96),)
        fast = dispatch.capture_dispatch(model, x)
        with monkeypatch.context() as mp:
            mp.setattr(fast_meta_ops, "SHORTCUTS", {})
            mp.setattr("archcalc.capture.fast_meta.SHORTCUTS", {})
            slow = dispatch.capture_dispatch(model, x)
        assert fast.nodes == slow.nodes
        assert (fast.inputs, fast.outputs, fast.params) == (slow.inputs, slow.outputs, slow.params)
