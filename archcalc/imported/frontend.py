"""from_torch / from_onnx: capture a model (archcalc.capture) and map it to an ArchGraph
(to_graph.py). The PyTorch default is the meta-device dispatch trace (capture/dispatch.py:
no arithmetic runs, shapes only; FlopCounterMode's own mechanism, and the fastest capture
measured, research-12 section 7); method="export" uses torch.export's training IR instead.
"""
from __future__ import annotations

from contextlib import contextmanager

from ..errors import OptionError
from .model import ImportedModel, SetValue
from .to_graph import to_graph

DEFAULT_INPUT = (3, 224, 224)


def _resolution(shape: tuple):
    from ..spec.schema import InputSize
    if len(shape) != 4:
        return None
    h, w = int(shape[2]), int(shape[3])
    return h if h == w else InputSize(h, w)


def from_torch(module, example_inputs=None, *, input_shape: tuple = DEFAULT_INPUT,
               allow_unknown: bool = False, method: str = "dispatch", name: str | None = None,
               path: str | None = None, sets: dict | None = None):
    """The ArchGraph of `module` called on `example_inputs` (a tensor or a tuple of tensors,
    batch size 1; default: one 1 x C x H x W meta tensor of `input_shape`). Ops archcalc has
    no rule for are an UnsupportedOpError listing them, unless `allow_unknown`."""
    import torch

    from ..capture import capture_torch
    from . import aten
    if example_inputs is None:
        example_inputs = torch.empty((1, *input_shape), device="meta")
    inputs = (example_inputs,) if isinstance(example_inputs, torch.Tensor) else example_inputs
    for x in inputs if isinstance(inputs, (tuple, list)) else ():
        if isinstance(x, torch.Tensor) and (x.dim() == 0 or x.shape[0] != 1):
            raise OptionError(f"example inputs must have batch size 1 (counts are per sample), "
                              f"got shape {tuple(x.shape)}")
    with gc_paused():
        captured = capture_torch(module, example_inputs, method=method)
    shapes = tuple(t.shape for t in captured.inputs)
    how = "PyTorch, meta-device dispatch trace" if method == "dispatch" else \
        "PyTorch, torch.export training IR"
    model = ImportedModel(name=name or type(module).__name__, path=path, source=how,
                          params=tuple(SetValue(k, v) for k, v in (sets or {}).items()),
                          resolution=_resolution(shapes[0]) if shapes else None,
                          input_shape=shapes)
    with gc_paused():
        return to_graph(captured, model, aten, allow_unknown)


@contextmanager
def gc_paused():
    """The cyclic garbage collector off while the block runs (restored after, also on a raise).
    A capture and its mapping allocate many objects (records, meta tensors, ops) and free
    them by reference counting: after an import with the collector off, gc.collect() found
    no unreachable object (torchvision's ShuffleNetV2, MobileNetV3-Small, ViT-B/16), while
    the collections their allocations trigger cost about 5% of a ShuffleNetV2 import. The
    same holds for building a torchvision model on the meta device (refs.build_for_counting:
    no unreachable object after building ShuffleNetV2, MobileNetV3-Small, ViT-B/16 or
    GoogLeNet with the collector off). Any cycle a block did leave would be collected at the
    next collection after it."""
    import gc
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def from_onnx(path_or_proto, *, input_shape: tuple | None = None, allow_unknown: bool = False,
              name: str | None = None):
    """The ArchGraph of an ONNX model (a path or a ModelProto); `input_shape` (C, H, W) pins
    the first input's shape when the file leaves it symbolic (batch 1)."""
    from ..capture import capture_onnx
    from . import onnx_ops
    shapes = None
    if input_shape is not None:
        from ..capture import CaptureError
        from ..capture.onnx import load_model
        try:
            import onnx
        except ImportError:
            raise CaptureError("reading ONNX files needs the onnx package (pip install onnx)") \
                from None
        proto = load_model(onnx, path_or_proto)
        inits = {i.name for i in proto.graph.initializer}
        first = next((i.name for i in proto.graph.input if i.name not in inits), None)
        shapes = {first: (1, *input_shape)} if first else None
        path_or_proto, source = proto, path_or_proto
    else:
        source = path_or_proto
    captured = capture_onnx(path_or_proto, input_shapes=shapes)
    path_or_proto = source
    in_shapes = tuple(t.shape for t in captured.inputs)
    for shape in in_shapes:
        if shape and shape[0] != 1:
            raise OptionError(f"the ONNX model's input must have batch size 1, got {shape}")
    path = None if not isinstance(path_or_proto, (str, bytes)) and \
        not hasattr(path_or_proto, "__fspath__") else str(path_or_proto)
    model = ImportedModel(name=name or captured.model or "onnx model", path=path,
                          source="ONNX, shape inference",
                          resolution=_resolution(in_shapes[0]) if in_shapes else None,
                          input_shape=in_shapes)
    return to_graph(captured, model, onnx_ops, allow_unknown)
