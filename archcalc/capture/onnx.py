"""capture_onnx: an ONNX model (file path or onnx.ModelProto) -> CapturedGraph.

Uses the ``onnx`` package only: ``onnx.shape_inference.infer_shapes`` (strict off, data
propagation on) gives every intermediate tensor's shape; node ``op_type`` becomes the record's
``op`` ("Conv", "Gemm", "BatchNormalization"), attributes become ``args`` (ints, floats,
strings, tuples; a tensor attribute as ("tensor", dims, dtype)), operand slots are named from
the operator schema (Conv: X, W, B; BatchNormalization: X, scale, B, input_mean, input_var).

Initializers are the stored tensors: floating-point initializers are parameters, except the
running mean/variance operands of BatchNormalization (buffers, as in PyTorch) and rank-0
scalars (Clip's min/max after constant folding: ReLU6 exports as Clip(x, 0.0, 6.0)), which
are constants like the integer initializers (shapes, axes). Graph inputs that are also initializers are not
model inputs. A leading symbolic dimension (batch) is fixed to 1; any other symbolic input
dimension must be given in ``input_shapes={"input": (1, 3, 224, 224)}``.

Module paths: torch.onnx's dynamo exporter (torch >= 2.5, the default since 2.9) writes
``pkg.torch.onnx.name_scopes`` / ``pkg.torch.onnx.class_hierarchy`` metadata on each node
(module path = the last scope before the op's own name); the TorchScript exporter
(``dynamo=False``) names nodes "/features/features.0/features.0.0/Conv" (module = the last
scope). Both are read; other producers give module "".

What exporters do to parameters (torch 2.13, measured on torchvision's models): the dynamo
exporter's default ``optimize=True`` fuses BatchNorm into the preceding Conv and drops a
fused bias that is all zeros (value-dependent); the TorchScript exporter folds BN in eval
mode and merges equal-valued initializers (Identity nodes). The ONNX file then holds fewer
parameters than the PyTorch module; such facts are reported in ``CapturedGraph.notes``.
``torch.onnx.export(..., dynamo=True, optimize=False)`` keeps every parameter.
"""
from __future__ import annotations

import ast
import os

from .records import CaptureError, CapturedGraph, CapturedNode, ParamInfo, TensorInfo

_BN_STATS = {"BatchNormalization": (3, 4)}     # operand slots holding running statistics


def capture_onnx(model, input_shapes: dict | None = None) -> CapturedGraph:
    """Capture an ONNX model given as a path or an onnx.ModelProto."""
    try:
        import onnx
    except ImportError:
        raise CaptureError("reading ONNX files needs the onnx package (pip install onnx)") from None
    proto = load_model(onnx, model)
    graph = proto.graph
    inits = {i.name: i for i in graph.initializer}
    _fix_input_shapes(graph, inits, input_shapes or {})
    try:
        inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=False, data_prop=True)
    except Exception as err:
        raise CaptureError(f"ONNX shape inference failed: {type(err).__name__}: "
                           f"{str(err).strip().splitlines()[0] if str(err).strip() else ''}") from None
    graph = inferred.graph
    opsets = {o.domain or "ai.onnx": o.version for o in inferred.opset_import}
    values = _value_infos(onnx, graph)

    buffer_names = {n.input[i] for n in graph.node for i in _BN_STATS.get(n.op_type, ())
                    if i < len(n.input) and n.input[i] in inits}
    params, buffers, constants, kind_of = [], [], [], {}
    for name, init in inits.items():
        shape, dtype = tuple(init.dims), _dtype(onnx, init.data_type)
        if name in buffer_names:
            kind = "buffer"
            buffers.append(ParamInfo(name, shape, dtype))
        elif dtype.startswith(("float", "bfloat", "double")) and shape != ():
            kind = "parameter"
            params.append(ParamInfo(name, shape, dtype))
        else:
            kind = "constant"
            constants.append(ParamInfo(name, shape, dtype))
        kind_of[name] = kind
        values[name] = (shape, dtype)

    graph_inputs = tuple(_info(values, i.name, "input") for i in graph.input if i.name not in inits)
    for i in graph_inputs:
        kind_of[i.name] = "input"
    nodes, used = [], {}
    for index, n in enumerate(graph.node):
        nodes.append(_node(onnx, n, index, values, kind_of, opsets, used))
    outputs = tuple(_info(values, o.name, kind_of.get(o.name, "activation")) for o in graph.output)
    return CapturedGraph(source="onnx", model=graph.name or "onnx", inputs=graph_inputs,
                         outputs=outputs, nodes=tuple(nodes), params=tuple(params),
                         buffers=tuple(buffers), constants=tuple(constants),
                         notes=tuple(_unknown_shapes(nodes) + _notes(proto, inits)))


def load_model(onnx, model):
    """A file is read without its weights' values (external data is not loaded, embedded
    float weights are dropped after loading): shape inference needs only their dims, and
    serialising 300 MB of weights for it took 5 s of 5.5 (vit_b_16)."""
    if isinstance(model, (str, os.PathLike)):
        try:
            proto = onnx.load(os.fspath(model), load_external_data=False)
        except Exception as err:
            raise CaptureError(f"{os.fspath(model)}: not a readable ONNX model "
                               f"({type(err).__name__})") from None
        floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16,
                  onnx.TensorProto.DOUBLE}
        for init in proto.graph.initializer:
            if init.data_type in floats and len(init.dims) and len(init.raw_data) > 4096:
                init.ClearField("raw_data")
        return proto
    if isinstance(model, onnx.ModelProto):
        return model
    raise CaptureError(f"capture_onnx needs a path or an onnx.ModelProto, got {type(model).__name__}")


def _fix_input_shapes(graph, inits, input_shapes: dict) -> None:
    """Pin symbolic input dimensions: from `input_shapes`, else a leading one to 1."""
    for value in graph.input:
        if value.name in inits:
            continue
        dims = value.type.tensor_type.shape.dim
        given = input_shapes.get(value.name)
        if given is not None:
            if len(given) != len(dims):
                raise CaptureError(f"input {value.name!r} has rank {len(dims)}, "
                                   f"input_shapes gives {len(given)} dimensions")
            for d, size in zip(dims, given):
                d.dim_value = int(size)
            continue
        for axis, d in enumerate(dims):
            if not d.HasField("dim_value"):
                if axis != 0:
                    raise CaptureError(f"input {value.name!r} dimension {axis} is symbolic "
                                       f"({d.dim_param or '?'}); pass input_shapes")
                d.dim_value = 1


def _dtype(onnx, elem_type: int) -> str:
    try:
        return str(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except Exception:
        return onnx.TensorProto.DataType.Name(elem_type).lower()


def _value_infos(onnx, graph) -> dict:
    out = {}
    for v in list(graph.input) + list(graph.value_info) + list(graph.output):
        t = v.type.tensor_type
        if not t.HasField("shape"):
            continue
        dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim)
        out[v.name] = (dims, _dtype(onnx, t.elem_type))
    return out


def _info(values, name, kind="activation", role="", param="") -> TensorInfo:
    shape, dtype = values.get(name, ((), "unknown"))
    return TensorInfo(name=name, shape=tuple(shape), dtype=dtype, kind=kind, param=param, role=role)


def _slot_names(onnx, op_type, domain, opsets, count) -> list:
    try:
        schema = onnx.defs.get_schema(op_type, opsets.get(domain or "ai.onnx", 1), domain)
    except Exception:
        return [f"input{i}" for i in range(count)]
    names = [f.name for f in schema.inputs]
    if not names:
        return [f"input{i}" for i in range(count)]
    return [names[min(i, len(names) - 1)] for i in range(count)]   # variadic last slot repeats


def _attr(onnx, a):
    value = onnx.helper.get_attribute_value(a)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, onnx.TensorProto):
        return ("tensor", tuple(value.dims), _dtype(onnx, value.data_type))
    if isinstance(value, onnx.GraphProto):
        return ("graph", value.name)
    if isinstance(value, (list, tuple)):
        return tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else
                     ("graph", v.name) if isinstance(v, onnx.GraphProto) else v for v in value)
    return value


def _module_of(n) -> tuple:
    """(module path, module class, stack) from torch.onnx metadata or a TorchScript node name."""
    meta = {p.key: p.value for p in n.metadata_props}
    scopes = meta.get("pkg.torch.onnx.name_scopes")
    if scopes:
        try:
            scopes = ast.literal_eval(scopes)
            classes = ast.literal_eval(meta.get("pkg.torch.onnx.class_hierarchy", "[]"))
        except (ValueError, SyntaxError):
            scopes, classes = [], []
        mods = list(zip(scopes[:-1], classes[:-1] if len(classes) >= len(scopes) else
                        [""] * (len(scopes) - 1)))
        stack = tuple((p, c) for p, c in mods if p)
        root = mods[0][1] if mods else ""
        return (stack[-1] if stack else ("", root)) + (stack,)
    if n.name.startswith("/") and n.name.count("/") >= 2:
        # TorchScript scopes are relative: "/features/features.1/block/block.0/Conv" is
        # features -> features.1 -> features.1.block -> features.1.block.0
        paths, prev, full = [], "", ""
        for part in (p for p in n.name.split("/")[1:-1] if p):
            full = full + part[len(prev):] if prev and part.startswith(prev + ".") else \
                (f"{full}.{part}" if full else part)
            prev = part
            paths.append(full)
        stack = tuple((p, "") for p in paths)
        return (paths[-1] if paths else "", "", stack)
    return ("", "", ())


def _node(onnx, n, index, values, kind_of, opsets, used) -> CapturedNode:
    base = n.name or f"{n.op_type}_{index}"
    k = used.get(base, 0)
    used[base] = k + 1
    name = base if k == 0 else f"{base}_{k}"
    roles = _slot_names(onnx, n.op_type, n.domain, opsets, len(n.input))
    inputs = []
    for role, tensor in zip(roles, n.input):
        if not tensor:                      # an omitted optional operand
            continue
        kind = kind_of.get(tensor, "activation")
        inputs.append(_info(values, tensor, kind, role,
                            tensor if kind in ("parameter", "buffer", "constant") else ""))
    outputs = []
    for tensor in n.output:
        if tensor:
            kind_of.setdefault(tensor, "activation")
            outputs.append(_info(values, tensor))
    args = tuple((a.name, _attr(onnx, a)) for a in n.attribute)
    module, module_type, stack = _module_of(n)
    op = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
    return CapturedNode(name=name, op=op, inputs=tuple(inputs), outputs=tuple(outputs),
                        args=args, module=module, module_type=module_type, module_stack=stack)


def _unknown_shapes(nodes) -> list:
    missing = [(t.name, n.name) for n in nodes for t in n.outputs if t.dtype == "unknown"]
    if not missing:
        return []
    return [f"{len(missing)} node results have no inferred shape "
            f"(first: {missing[0][0]} of {missing[0][1]})"]


def _notes(proto, inits) -> list:
    notes = []
    rules = set()
    for n in proto.graph.node:
        for p in n.metadata_props:
            if p.key == "pkg.onnxscript.rewriter.rule_name":
                rules.update(r.strip() for r in p.value.split(","))
    if "FuseBatchNormIntoConv" in rules:
        notes.append("the exporter fused BatchNormalization into Conv (onnxscript rewrite "
                     "FuseBatchNormIntoConv): BN parameters are not in this file")
    copies = sum(1 for n in proto.graph.node if n.op_type == "Identity" and n.input
                 and n.input[0] in inits)
    if copies:
        notes.append(f"{copies} Identity nodes copy initializers (the TorchScript exporter "
                     "merges equal-valued initializers): the file may hold fewer parameters "
                     "than the model")
    if proto.producer_name:
        notes.append(f"producer: {proto.producer_name} {proto.producer_version}".strip())
    return notes
