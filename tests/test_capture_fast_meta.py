"""archcalc/capture/fast_meta.py: each shortcut gives what the meta kernel it replaces gives
(shape, strides, dtype; the input itself for in-place ops), and a capture with the shortcuts
equals one without them, node for node."""
import pytest

torch = pytest.importorskip("torch")

from archcalc.capture import dispatch, fast_meta  # noqa: E402

aten = torch.ops.aten
SCALAR_ARGS = {aten.hardtanh.default: (0.0, 6.0), aten.hardtanh_.default: (0.0, 6.0),
               aten.leaky_relu.default: (0.1,), aten.leaky_relu_.default: (0.1,),
               aten.mul.Scalar: (0.5,)}


def inputs(dtype):
    base = torch.empty(2, 8, 6, 5, device="meta", dtype=dtype)
    return {"contiguous": base,
            "channels_last": base.to(memory_format=torch.channels_last),
            "sliced": torch.empty(2, 16, 6, 5, device="meta", dtype=dtype)[:, ::2],
            "rank2": torch.empty(7, 12, device="meta", dtype=dtype)}


def same(a, b):
    return (a.shape, a.stride(), a.dtype, a.device) == (b.shape, b.stride(), b.dtype, b.device)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("func", sorted(fast_meta.IN_PLACE | fast_meta.LIKE_INPUT, key=str),
                         ids=str)
def test_an_activation_shortcut_is_the_kernel(func, dtype):
    for label, x in inputs(dtype).items():
        args = (x,) + SCALAR_ARGS.get(func, ())
        fast = fast_meta.meta_outputs(func, args)
        real = func(*args)
        assert fast is not None, label
        assert same(fast, real), (label, fast.stride(), real.stride())
        if func in fast_meta.IN_PLACE:
            assert fast is x and real is x


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("affine", [True, False])
def test_the_batch_norm_shortcut_is_the_kernel(dtype, affine):
    for label, x in inputs(dtype).items():
        c = x.shape[1]
        vec = torch.empty(c, device="meta", dtype=torch.float32 if dtype == torch.bfloat16
                          else dtype)
        w = vec if affine else None
        args = (x, w, w, vec, vec, False, 0.1, 1e-5)
        fast = fast_meta.meta_outputs(aten.native_batch_norm.default, args)
        real = aten.native_batch_norm.default(*args)
        assert len(fast) == len(real) == 3
        for f, r in zip(fast, real):
            assert same(f, r), (label, f.shape, f.stride(), f.dtype, r.shape, r.stride(), r.dtype)


def test_other_ops_and_devices_run_their_kernel():
    x = torch.empty(2, 3, device="meta")
    assert fast_meta.meta_outputs(aten.add.Tensor, (x, x)) is None          # two tensors
    assert fast_meta.meta_outputs(aten.relu.default, (torch.zeros(2, 3),)) is None   # real data
    ints = torch.empty(2, 3, device="meta", dtype=torch.int64)
    assert fast_meta.meta_outputs(aten.relu.default, (ints,)) is None       # not a float
    assert fast_meta.meta_outputs(aten.convolution.default, (x,)) is None   # not listed


def test_a_capture_with_the_shortcuts_equals_one_without(monkeypatch):
    import reference_models as rm
    import reference_torchvision as rtv
    for build in (rm.mobilenet_v2, rtv.efficientnet_b0, rm.vit_b_16):
        with torch.device("meta"):
            model = build().eval()
        x = (torch.empty(1, 3, 96, 96),) if build is not rm.vit_b_16 else \
            (torch.empty(1, 3, 224, 224),)
        fast = dispatch.capture_dispatch(model, x)
        with monkeypatch.context() as m:
            m.setattr(dispatch, "meta_outputs", lambda func, args: None)
            slow = dispatch.capture_dispatch(model, x)
        assert fast.nodes == slow.nodes, build.__name__
        assert (fast.inputs, fast.outputs, fast.params) == (slow.inputs, slow.outputs, slow.params)


def test_a_meta_build_skips_init_and_keeps_every_shape():
    import torch.nn.init as init
    import reference_torchvision as rtv
    from archcalc.imported.refs import build_for_counting
    before = {n: getattr(init, n) for n in dir(init)}
    meta = build_for_counting(rtv.efficientnet_b0)
    real = rtv.efficientnet_b0()
    assert [(n, p.shape, p.device.type) for n, p in meta.named_parameters()] == \
        [(n, p.shape, "meta") for n, p in real.named_parameters()]
    assert [(n, b.shape) for n, b in meta.named_buffers()] == \
        [(n, b.shape) for n, b in real.named_buffers()]

    def boom():
        raise ValueError("constructor failed")
    with pytest.raises(ValueError):
        build_for_counting(boom)
    assert {n: getattr(init, n) for n in dir(init)} == before     # restored, also after a raise


def test_a_constructor_that_reads_values_is_built_on_the_cpu_without_init():
    from torch import nn
    from archcalc.imported.refs import build_for_counting

    def value_reading():          # as RegNet computes its widths with torch
        width = int(torch.tensor([3.0]).mul(4).item())
        return nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(width))
    model = build_for_counting(value_reading)
    assert [(n, p.shape, p.device.type) for n, p in model.named_parameters()] == \
        [("0.weight", (12, 3, 3, 3), "cpu"), ("0.bias", (12,), "cpu"), ("1.weight", (12,), "cpu"),
         ("1.bias", (12,), "cpu")]
