"""archcalc.capture.capture_onnx: records of ONNX models, hand-built and exported from PyTorch.

Needs the `onnx` package (and torch + onnxscript for the exported models); without them the
tests skip with the reason. Checks are independent: shapes and counts derived by hand for a
model built node by node with onnx.helper; for exported models, parameter totals against
sum(p.numel()) and module paths / output shapes against forward hooks on the PyTorch model.
"""
from __future__ import annotations

import pytest

onnx = pytest.importorskip("onnx", reason="capture_onnx needs the onnx package (pip install onnx)")
from onnx import TensorProto, helper  # noqa: E402

from archcalc.capture import CaptureError, capture_onnx  # noqa: E402


def _init(name, dims, dtype=TensorProto.FLOAT, value=0.5):
    n = 1
    for d in dims:
        n *= d
    vals = [value] * n if dtype == TensorProto.FLOAT else [0, -1][:n]   # keep dim 0
    return helper.make_tensor(name, dtype, dims, vals)


def _hand_built(batch="N"):
    """Conv 3x3/2 (8 filters, bias) -> BN -> Clip(0, 6) (ReLU6) -> MaxPool 3/2 ceil -> GlobalAveragePool ->
    Reshape to (N, -1) -> Gemm to 5 classes, on a 1x3x15x15 input with a symbolic batch."""
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="/stem/stem.0/Conv",
                         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], group=1),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["bn"],
                         name="/stem/stem.1/BatchNormalization"),
        helper.make_node("Clip", ["bn", "lo", "hi"], ["r"], name="/stem/stem.2/Clip"),
        helper.make_node("MaxPool", ["r"], ["p"], name="/pool/MaxPool", kernel_shape=[3, 3],
                         strides=[2, 2], ceil_mode=1),
        helper.make_node("GlobalAveragePool", ["p"], ["gap"]),
        helper.make_node("Reshape", ["gap", "shape"], ["flat"], name="/Reshape"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["y"], name="/fc/Gemm", transB=1),
    ]
    node = nodes[-1]
    node.metadata_props.add(key="pkg.torch.onnx.name_scopes", value="['', 'head', 'head.fc', 'linear']")
    node.metadata_props.add(key="pkg.torch.onnx.class_hierarchy",
                            value="['M', 'torch.nn.Sequential', 'torch.nn.Linear', 'aten.linear.default']")
    inits = [_init("w", [8, 3, 3, 3]), _init("b", [8]), _init("g", [8]), _init("beta", [8]),
             _init("mean", [8]), _init("var", [8]), _init("shape", [2], TensorProto.INT64),
             _init("lo", [], value=0.0), _init("hi", [], value=6.0),
             _init("fc_w", [5, 8]), _init("fc_b", [5])]
    graph = helper.make_graph(
        nodes, "hand", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 15, 15])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_hand_built_model_shapes_params_and_modules():
    g = capture_onnx(_hand_built())
    assert g.source == "onnx" and [n.op for n in g.nodes] == [
        "Conv", "BatchNormalization", "Clip", "MaxPool", "GlobalAveragePool", "Reshape", "Gemm"]
    # 15 -> (15 + 2 - 3) // 2 + 1 = 8; max pool 3/2 with ceil: ceil((8 - 3) / 2) + 1 = 4
    assert [n.outputs[0].shape for n in g.nodes] == [
        (1, 8, 8, 8), (1, 8, 8, 8), (1, 8, 8, 8), (1, 8, 4, 4), (1, 8, 1, 1), (1, 8), (1, 5)]
    assert g.inputs[0].shape == (1, 3, 15, 15)               # symbolic batch pinned to 1
    # parameters: conv 216 + 8, BN gamma/beta 16, Gemm 40 + 5; running stats are buffers and
    # the int64 reshape target and Clip's scalar bounds are constants
    assert g.num_params == 216 + 8 + 16 + 40 + 5
    assert [b.name for b in g.buffers] == ["mean", "var"] and g.num_buffers == 16
    assert [c.name for c in g.constants] == ["shape", "lo", "hi"]
    conv, bn, clip, pool, gap, reshape, gemm = g.nodes
    assert [(t.role, t.kind) for t in clip.inputs] == \
        [("input", "activation"), ("min", "constant"), ("max", "constant")]
    assert [(t.role, t.kind) for t in conv.inputs] == \
        [("X", "input"), ("W", "parameter"), ("B", "parameter")]
    assert conv.arg("strides") == (2, 2) and conv.arg("pads") == (1, 1, 1, 1) and conv.arg("group") == 1
    assert bn.buffers == ("mean", "var") and bn.params == ("g", "beta")
    assert pool.arg("ceil_mode") == 1
    assert reshape.operand("shape").kind == "constant"
    # module paths: TorchScript-style node names, torch.onnx metadata, none
    assert (conv.module, bn.module, pool.module, gap.module, reshape.module) == \
        ("stem.0", "stem.1", "pool", "", "")
    assert (gemm.module, gemm.module_type) == ("head.fc", "torch.nn.Linear")
    assert gemm.module_stack == (("head", "torch.nn.Sequential"), ("head.fc", "torch.nn.Linear"))
    assert gap.name == "GlobalAveragePool_4"                 # unnamed nodes get op_index


def test_input_shapes_override_and_symbolic_dims(tmp_path):
    model = _hand_built()
    g = capture_onnx(model, input_shapes={"x": (2, 3, 15, 15)})
    assert g.nodes[-1].outputs[0].shape == (2, 5)
    assert not any("no inferred shape" in note for note in g.notes)
    model = _hand_built()
    model.graph.initializer[6].CopyFrom(helper.make_tensor("shape", TensorProto.INT64, [2], [1, -1]))
    g = capture_onnx(model, input_shapes={"x": (2, 3, 15, 15)})   # (1, 16) @ (8, 5): no shape
    assert g.nodes[-1].outputs[0].shape == ()
    assert "1 node results have no inferred shape (first: y of /fc/Gemm)" in g.notes
    with pytest.raises(CaptureError, match="rank 4, input_shapes gives 3"):
        capture_onnx(_hand_built(), input_shapes={"x": (3, 15, 15)})
    model = _hand_built()
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    with pytest.raises(CaptureError, match="dimension 2 is symbolic"):
        capture_onnx(model)
    path = tmp_path / "m.onnx"
    onnx.save(_hand_built(), str(path))
    assert capture_onnx(path).num_params == capture_onnx(str(path)).num_params == 285


def test_bad_onnx_inputs(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf")
    with pytest.raises(CaptureError, match="not a readable ONNX model"):
        capture_onnx(bad)
    with pytest.raises(CaptureError, match="needs a path or an onnx.ModelProto"):
        capture_onnx(42)


# -- models exported by torch.onnx --------------------------------------------------------------
# (torch is imported inside these tests, so the hand-built ones above run without it)

def _export(model, x, path, **kw):
    import logging
    import warnings

    import torch
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), str(path), **kw)
    finally:
        logging.disable(logging.NOTSET)
    return path


def _conv_calls(model, x):
    import torch
    from torch import nn
    calls = []
    hooks = [m.register_forward_hook(lambda mod, i, o, n=n: calls.append((n, tuple(o.shape))))
             for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return calls


def _bn_channels(model):
    from torch import nn
    return sum(m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d))


@pytest.fixture(scope="module")
def v3_small():
    torch = pytest.importorskip("torch")
    from torch import nn

    from reference_torchvision import mobilenet_v3_small
    torch.manual_seed(0)
    model = mobilenet_v3_small()
    for m in model.modules():          # trained-looking BN: fused conv biases are not all zero
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.bias, -1, 1)
            m.running_mean.uniform_(-1, 1)
    return model, torch.zeros(1, 3, 96, 96)


def test_dynamo_export_without_optimize_keeps_every_parameter(v3_small, tmp_path):
    pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs onnxscript")
    model, x = v3_small
    g = capture_onnx(_export(model, x, tmp_path / "m.onnx", dynamo=True, optimize=False))
    assert g.num_params == sum(p.numel() for p in model.parameters())
    # the running statistics are initializers too (num_batches_tracked is not exported)
    assert g.num_buffers == 2 * _bn_channels(model)
    assert [(n.module, n.outputs[0].shape) for n in g.nodes if n.op == "Conv"] == _conv_calls(model, x)
    conv = next(n for n in g.nodes if n.op == "Conv")
    assert conv.module_type == "torch.nn.modules.conv.Conv2d"
    assert not any("fused" in note for note in g.notes)


def test_dynamo_default_export_fuses_batchnorm_into_conv(v3_small, tmp_path):
    pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs onnxscript")
    model, x = v3_small
    g = capture_onnx(_export(model, x, tmp_path / "m.onnx", dynamo=True))
    assert "BatchNormalization" not in g.op_counts() and g.num_buffers == 0
    # every BN follows a bias-free conv: its gamma/beta (2 per channel) are folded into the
    # conv weight and a new conv bias (1 per channel)
    c = _bn_channels(model)
    assert g.num_params == sum(p.numel() for p in model.parameters()) - 2 * c + c
    assert any("FuseBatchNormIntoConv" in note for note in g.notes)
    assert [n.outputs[0].shape for n in g.nodes if n.op == "Conv"] == \
        [shape for _, shape in _conv_calls(model, x)]


def test_torchscript_export_module_paths_from_node_names(tmp_path):
    torch = pytest.importorskip("torch")
    from torch import nn
    model = nn.Module()
    model.features = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()),
        nn.Sequential(nn.Sequential(nn.Conv2d(4, 4, 3, stride=2, groups=4))))
    model.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    model.forward = lambda x: model.head(model.features(x))
    model, x = model.eval(), torch.zeros(1, 3, 9, 9)
    g = capture_onnx(_export(model, x, tmp_path / "m.onnx", dynamo=False))
    # (9 + 2 - 3) + 1 = 9; depthwise 3x3/2 without padding: (9 - 3) // 2 + 1 = 4
    assert [(n.module, n.outputs[0].shape) for n in g.nodes if n.op == "Conv"] == \
        [("features.0.0", (1, 4, 9, 9)), ("features.1.0.0", (1, 4, 4, 4))] == _conv_calls(model, x)
    gemm = next(n for n in g.nodes if n.op == "Gemm")
    assert gemm.module == "head.1" and gemm.outputs[0].shape == (1, 3)
    assert g.num_params == sum(p.numel() for p in model.parameters()) == (108 + 4) + (36 + 4) + (192 + 3)
