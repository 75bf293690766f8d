"""archcalc/capture/fast_record.py and the dispatch capture's own-tensor path: the per-overload
cache gives what `capture.torch.bind` / `is_view` / `dataclasses.replace` give, call for call,
on every ATen op the reference models run; and a model built on the meta device, captured on
its own tensors, gives the same records as the same model built on the CPU (whose tensors
the capture swaps for meta copies)."""
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from archcalc.capture import capture_torch  # noqa: E402
from archcalc.capture.fast_record import bound, op_spec, with_role  # noqa: E402
from archcalc.capture.records import TensorInfo  # noqa: E402
from archcalc.capture.torch import bind, is_view  # noqa: E402


class _Calls(TorchDispatchMode):
    """Every (func, args, kwargs) an eager forward pass dispatches."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls.append((func, args, kwargs or {}))
        return func(*args, **(kwargs or {}))


def _models():
    import reference_models as rm
    import reference_torchvision as rtv
    return {"mobilenet_v2": (rm.mobilenet_v2, 64), "vit_tiny": (rm.vit_tiny, 32),
            "mobilenet_v3_small": (rtv.mobilenet_v3_small, 64),
            "shufflenet_v2": (lambda: rtv.shufflenet_v2("x0_5"), 64),
            "efficientnet_b0": (rtv.efficientnet_b0, 64)}


def _same(a, b):
    """Equal argument lists: the same names, the same objects (tensors) or equal values."""
    return len(a) == len(b) and all(
        na == nb and (va is vb or (not isinstance(va, torch.Tensor) and va == vb))
        for (na, va), (nb, vb) in zip(a, b))


@pytest.mark.parametrize("name", sorted(_models()))
def test_bound_and_op_spec_equal_bind_and_is_view_on_every_op(name):
    build, r = _models()[name]
    with torch.device("meta"):
        model = build().eval()
    rec = _Calls()
    with torch.no_grad(), rec:
        model(torch.empty(1, 3, r, r, device="meta"))
    assert len(rec.calls) > 20
    for func, args, kwargs in rec.calls:
        base, op, slots, view = op_spec(func)
        assert (base, op, view) == (func._opname, str(func), is_view(func))
        assert _same(bound(slots, args, kwargs), bind(func, args, kwargs)), (func, args, kwargs)
    assert any(kw for _, _, kw in rec.calls) or name == "vit_tiny"   # keyword calls covered


def test_bound_fills_keywords_and_defaults_like_bind():
    aten = torch.ops.aten
    x = torch.empty(2, 3, device="meta")
    cases = [(aten.sum.dim_IntList, (x, [1]), {}),                      # keepdim, dtype defaulted
             (aten.sum.dim_IntList, (x, [1]), {"keepdim": True}),
             (aten.empty.memory_format, ([2, 3],), {"dtype": torch.float16, "device": "meta"}),
             (aten.convolution.default, (x, x, None, [1], [0], [1], False, [0], 1), {})]
    for func, args, kwargs in cases:
        assert _same(bound(op_spec(func)[2], args, kwargs), bind(func, args, kwargs)), func
    assert op_spec(aten.t.default)[3] and not op_spec(aten.add_.Tensor)[3]   # view; a write


def test_with_role_is_replace():
    info = TensorInfo("conv_3", (8, 4, 4), "float32", "parameter", "stem.0.weight", "")
    for role in ("weight", "input", ""):
        assert with_role(info, role) == replace(info, role=role)


@pytest.mark.parametrize("name", sorted(_models()))
def test_a_meta_built_model_captures_like_the_cpu_built_one(name):
    build, r = _models()[name]
    torch.manual_seed(0)
    cpu = build()
    with torch.device("meta"):
        meta = build()
    before = [(n, t) for n, t in meta.state_dict(keep_vars=True).items()]
    x = torch.zeros(1, 3, r, r)
    a, b = capture_torch(meta, x, method="dispatch"), capture_torch(cpu, x, method="dispatch")
    assert a.nodes == b.nodes
    assert (a.inputs, a.outputs, a.params, a.buffers) == (b.inputs, b.outputs, b.params, b.buffers)
    after = list(meta.state_dict(keep_vars=True).items())
    assert [n for n, _ in after] == [n for n, _ in before]
    assert all(t is u and t.is_meta for (_, t), (_, u) in zip(after, before))   # untouched
