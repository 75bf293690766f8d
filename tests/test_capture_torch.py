"""archcalc.capture.capture_torch: records checked against hand derivations and PyTorch itself.

Independent checks only: shapes and parameter counts derived by hand in the tests; module
paths and output shapes compared with forward hooks on the real modules; parameter totals
with sum(p.numel()); multiply-accumulates recomputed from the captured shapes compared with
torch.utils.flop_counter.FlopCounterMode (total / 2) on the same model.
"""
from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from archcalc.capture import CaptureError, capture_torch  # noqa: E402
from reference_models import mobilenet_v2, resnet18, vit_tiny  # noqa: E402
from reference_torchvision import mobilenet_v3_small, shufflenet_v2  # noqa: E402

METHODS = ("export", "dispatch")


class Tiny(nn.Module):
    """conv/2 + BN + ReLU6, a dilated depthwise conv with bias and a residual add, a ceil-mode
    max pool, a functional global pool, flatten, dropout, linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(8), nn.ReLU6(inplace=True))
        self.dw = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.dw(x)
        x = self.pool(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(self.drop(x))


# Tiny at 1x3x16x16, by hand: stem (16 + 2 - 3) // 2 + 1 = 8; dilated 3x3 (effective 5) with
# padding 2 keeps 8; max pool 3/2 with ceil_mode: ceil((8 - 3) / 2) + 1 = 4 (floor would be 3).
TINY_PARAMS = 8 * 3 * 9 + 2 * 8 + (8 * 9 + 8) + (8 * 5 + 5)          # 357
TINY_EXPORT = [  # (op, module, output shape): torch.export's training IR, one node per call
    ("aten.conv2d.default", "stem.0", (1, 8, 8, 8)),
    ("aten.batch_norm.default", "stem.1", (1, 8, 8, 8)),
    ("aten.hardtanh_.default", "stem.2", (1, 8, 8, 8)),      # F.relu6(inplace) = hardtanh_(0, 6)
    ("aten.conv2d.default", "dw", (1, 8, 8, 8)),
    ("aten.add.Tensor", "", (1, 8, 8, 8)),                   # in Tiny.forward: the root
    ("aten.max_pool2d.default", "pool", (1, 8, 4, 4)),
    ("aten.adaptive_avg_pool2d.default", "", (1, 8, 1, 1)),
    ("aten.flatten.using_ints", "", (1, 8)),
    ("aten.dropout.default", "drop", (1, 8)),
    ("aten.linear.default", "fc", (1, 5)),
]


def test_tiny_export_nodes_shapes_args_and_modules():
    g = capture_torch(Tiny(), torch.zeros(1, 3, 16, 16))
    assert g.source == "torch.export"
    assert [(n.op, n.module, n.outputs[0].shape) for n in g.nodes] == TINY_EXPORT
    stem, bn, _, dw, add, pool, _, _, drop, fc = g.nodes
    assert stem.arg("stride") == (2, 2) and stem.arg("padding") == (1, 1) and stem.arg("groups") == 1
    assert stem.operand("bias") is None and stem.operand("weight").param == "stem.0.weight"
    assert stem.operand("input").kind == "input" and stem.module_type == "torch.nn.modules.conv.Conv2d"
    assert dw.arg("dilation") == (2, 2) and dw.arg("groups") == 8
    assert dw.operand("bias").param == "dw.bias" and dw.operand("bias").shape == (8,)
    assert bn.arg("training") is False and bn.params == ("stem.1.weight", "stem.1.bias")
    assert bn.buffers == ("stem.1.running_mean", "stem.1.running_var")
    assert pool.arg("ceil_mode") is True and pool.arg("kernel_size") == (3, 3)
    assert drop.arg("train") is False                      # eval mode: dropout is identity
    assert [t.name for t in add.inputs] == ["hardtanh_", "conv2d_1"]
    assert fc.params == ("fc.weight", "fc.bias") and fc.module_stack == (("fc", fc.module_type),)
    assert g.num_params == TINY_PARAMS == sum(p.numel() for p in Tiny().parameters())
    assert g.num_buffers == 8 + 8 + 1                      # running mean, var, num_batches_tracked
    assert [t.shape for t in g.inputs] == [(1, 3, 16, 16)] and g.outputs[0].name == "linear"


def test_tiny_dispatch_records_the_ops_below_autograd():
    g = capture_torch(Tiny(), torch.zeros(1, 3, 16, 16), method="dispatch")
    assert g.source == "torch.dispatch"
    ops = [n.op for n in g.nodes]
    # below autograd: conv2d -> convolution, linear -> t + addmm, no dropout op in eval
    assert ops.count("aten.convolution.default") == 2 and "aten.dropout.default" not in ops
    conv = [n for n in g.nodes if n.op == "aten.convolution.default"]
    assert [c.module for c in conv] == ["stem.0", "dw"]
    assert conv[1].arg("transposed") is False and conv[1].arg("groups") == 8
    pool = next(n for n in g.nodes if n.op == "aten.max_pool2d_with_indices.default")
    assert pool.arg("ceil_mode") is True and pool.outputs[0].shape == (1, 8, 4, 4)
    addmm = next(n for n in g.nodes if n.op == "aten.addmm.default")
    assert addmm.module == "fc" and addmm.outputs[0].shape == (1, 5)
    # the weight is read through aten.t (a view): still a read of parameter fc.weight
    assert addmm.operand("mat2").param == "fc.weight" and addmm.operand("mat2").shape == (8, 5)
    assert set(addmm.params) == {"fc.weight", "fc.bias"}
    assert g.num_params == TINY_PARAMS


def _macs(g) -> int:
    """Multiply-accumulates of conv / linear / matmul / attention nodes from captured shapes."""
    total = 0
    for n in g.nodes:
        op = n.op.split(".")[1]
        out = n.outputs[0].shape if n.outputs else ()
        if op in ("conv2d", "convolution"):
            total += math.prod(out) * math.prod(n.operand("weight").shape[1:])
        elif op == "linear":
            total += math.prod(out) * n.operand("weight").shape[1]
        elif op in ("addmm", "baddbmm"):
            total += math.prod(out) * n.operand("mat1" if op == "addmm" else "batch1").shape[-1]
        elif op in ("mm", "bmm"):
            total += math.prod(out) * n.inputs[0].shape[-1]
        elif op == "scaled_dot_product_attention":
            q, k, v = (n.operand(r).shape for r in ("query", "key", "value"))
            total += math.prod(q[:-1]) * k[-2] * (q[-1] + v[-1])
    return total


def _flop_counter_madds(model, x) -> int:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return counter.get_total_flops() // 2


def _hooked_forward(model, x, types=(nn.Conv2d, nn.Linear)):
    """[(module path, output shape)] of every call of a module of `types`, in call order."""
    calls = []
    hooks = [m.register_forward_hook(lambda mod, i, o, name=name: calls.append((name, tuple(o.shape))))
             for name, m in model.named_modules() if isinstance(m, types)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return calls


MODELS = {
    "mobilenet_v2": (mobilenet_v2, 224),
    "resnet18": (resnet18, 96),
    "mobilenet_v3_small": (mobilenet_v3_small, 160),
    "shufflenet_v2_x0_5": (lambda: shufflenet_v2("x0_5"), 224),
}
CONV_OPS = {"export": "aten.conv2d.default", "dispatch": "aten.convolution.default"}
LINEAR_OPS = {"export": "aten.linear.default", "dispatch": "aten.addmm.default"}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_reference_models_match_pytorch(name, method):
    build, res = MODELS[name]
    model = build()
    x = torch.zeros(1, 3, res, res)
    g = capture_torch(model, x, method=method)
    assert g.num_params == sum(p.numel() for p in model.parameters())
    assert g.num_buffers == sum(b.numel() for b in model.buffers())
    # every conv / linear call: same module path and output shape as the forward hooks see
    hooked = _hooked_forward(model, x)
    captured = [(n.module, n.outputs[0].shape) for n in g.nodes
                if n.op in (CONV_OPS[method], LINEAR_OPS[method])]
    assert captured == hooked
    assert _macs(g) == _flop_counter_madds(model, x)
    # every activation operand names a graph input or an earlier node's result
    seen = {t.name for t in g.inputs}
    for n in g.nodes:
        for t in n.inputs:
            if t.kind in ("input", "activation"):
                assert t.name in seen, (n.name, t.name)
        seen.update(t.name for t in n.outputs)
    assert {t.name for t in g.outputs} <= seen
    json.dumps(g.to_dict())                                  # plain data all the way down


def test_multi_output_ops_are_indexed_results():
    """ShuffleNetV2's stride-1 block: x.chunk(2, dim=1); branch2 reads the second half."""
    g = capture_torch(shufflenet_v2("x0_5"), torch.zeros(1, 3, 224, 224))
    chunk = next(n for n in g.nodes if n.op == "aten.chunk.default")
    assert chunk.module == "stage2.1" and chunk.arg("chunks") == 2 and chunk.arg("dim") == 1
    # stage2 of x0_5 has 48 channels at 224 / 8 = 28: two halves of 24
    assert [(t.name, t.shape) for t in chunk.outputs] == \
        [(f"{chunk.name}:0", (1, 24, 28, 28)), (f"{chunk.name}:1", (1, 24, 28, 28))]
    conv = next(n for n in g.nodes if n.module == "stage2.1.branch2.0")
    assert conv.operand("input").name == f"{chunk.name}:1"
    cat = next(n for n in g.nodes if n.op == "aten.cat.default" and n.module == "stage2.1")
    assert cat.inputs[0].name == f"{chunk.name}:0" and cat.outputs[0].shape == (1, 48, 28, 28)


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(self.a(x))


@pytest.mark.parametrize("method", METHODS)
def test_tied_weights_are_counted_once(method):
    g = capture_torch(Tied(), torch.zeros(1, 8), method=method)
    # one 8x8 weight shared, two biases: 64 + 8 + 8 (PyTorch's parameters() dedups the same way)
    assert g.num_params == 64 + 8 + 8 == sum(p.numel() for p in Tied().parameters())
    weight = next(p for p in g.params if p.name == "a.weight")
    assert weight.aliases == ("b.weight",)
    reads = [n.params for n in g.nodes if n.module == "b" and n.params]
    assert any("a.weight" in r for r in reads)               # b reads the canonical name


@pytest.mark.parametrize("method", METHODS)
def test_eval_mode_during_capture_and_training_flags_restored(method):
    model = Tiny().train()
    model.drop.eval()                                        # a mixed state must come back as is
    g = capture_torch(model, torch.zeros(1, 3, 16, 16), method=method)
    bn = next(n for n in g.nodes if n.module == "stem.1" and "batch_norm" in n.op)
    assert bn.arg("training") is False
    assert model.training and model.stem[1].training and not model.drop.training
    assert all(b.item() == 0 for b in [model.stem[1].num_batches_tracked])   # nothing ran


@pytest.mark.parametrize("method", METHODS)
def test_meta_device_model(method):
    """A model built on the meta device (no weights initialised) captures like the real one."""
    with torch.device("meta"):
        meta = mobilenet_v2()
    x = torch.zeros(1, 3, 160, 160)
    g = capture_torch(meta, x, method=method)
    real = capture_torch(mobilenet_v2(), x, method=method)
    assert g.op_counts() == real.op_counts()
    assert [n.outputs[0].shape for n in g.nodes if n.outputs] == \
        [n.outputs[0].shape for n in real.nodes if n.outputs]
    assert g.num_params == 3504872                          # torchvision meta num_params


def test_vit_attention_is_one_sdpa_node_in_export():
    model = vit_tiny()                  # 32x32 image, patch 8: 16 patches + class token = 17
    g = capture_torch(model, torch.zeros(1, 3, 32, 32))
    counts = g.op_counts()
    # 2 blocks x (ln_1, ln_2) + the encoder's final ln; 2 blocks x (in_proj, out_proj, 2 MLP) + head
    assert counts["aten.layer_norm.default"] == 5 and counts["aten.linear.default"] == 9
    sdpa = [n for n in g.nodes if n.op == "aten.scaled_dot_product_attention.default"]
    assert [n.module for n in sdpa] == [f"encoder.layers.encoder_layer_{i}.self_attention"
                                        for i in range(2)]
    # (batch, heads, tokens, head dim) = (1, 4, 17, 64 / 4)
    assert sdpa[0].operand("query").shape == (1, 4, 17, 16) and sdpa[0].outputs[0].shape == (1, 4, 17, 16)
    assert g.num_params == sum(p.numel() for p in model.parameters())
    # FlopCounterMode on the meta device runs the math attention (two bmm): same MACs
    with torch.device("meta"):
        meta = vit_tiny()
    assert _macs(g) == _flop_counter_madds(meta, torch.empty(1, 3, 32, 32, device="meta"))


def test_vit_dispatch_turns_the_attention_fast_path_off():
    model = vit_tiny()
    before = torch.backends.mha.get_fastpath_enabled()
    g = capture_torch(model, torch.zeros(1, 3, 32, 32), method="dispatch")
    assert torch.backends.mha.get_fastpath_enabled() == before
    assert "aten._native_multi_head_attention.default" not in g.op_counts()
    assert g.op_counts()["aten.bmm.default"] == 2 * 2       # q k^T and attn v, per block
    with torch.device("meta"):
        meta = vit_tiny()
    assert _macs(g) == _flop_counter_madds(meta, torch.empty(1, 3, 32, 32, device="meta"))


class DataDependent(nn.Module):
    def forward(self, x):
        return x * 2 if x.sum() > 0 else x


def test_bad_inputs_raise_one_line_capture_errors(capfd):
    with pytest.raises(CaptureError, match="needs a torch.nn.Module"):
        capture_torch("resnet50", torch.zeros(1))
    with pytest.raises(CaptureError, match="example_inputs must be"):
        capture_torch(Tiny(), [1, 3, 16, 16])
    with pytest.raises(CaptureError, match="unknown capture method 'fx'"):
        capture_torch(Tiny(), torch.zeros(1, 3, 16, 16), method="fx")
    capfd.readouterr()
    for method, hint in (("export", "try method='dispatch'"), ("dispatch", "try method='export'")):
        with pytest.raises(CaptureError, match=hint) as err:
            capture_torch(DataDependent(), torch.ones(2), method=method)
        assert "\n" not in str(err.value)
    out, errors = capfd.readouterr()        # torch.export's graph dump and warnings are silenced
    assert "def forward" not in out + errors


def test_dispatch_on_the_modules_own_tensors_matches_meta():
    model = mobilenet_v3_small()
    x = torch.zeros(1, 3, 96, 96)
    meta = capture_torch(model, x, method="dispatch")
    real = capture_torch(model, x, method="dispatch", device=None)
    assert real.op_counts() == meta.op_counts()
    # first results agree; native_batch_norm's saved mean/invstd are (0,) on CPU in eval, (C,)
    # on meta: auxiliary outputs are device-dependent
    assert [n.outputs[0].shape for n in real.nodes if n.outputs] == \
        [n.outputs[0].shape for n in meta.nodes if n.outputs]
    assert [n.params for n in real.nodes] == [n.params for n in meta.nodes]
    assert _macs(real) == _flop_counter_madds(model, x)
    with pytest.raises(CaptureError, match="device must be 'meta' or None"):
        capture_torch(model, x, method="dispatch", device="cuda")
