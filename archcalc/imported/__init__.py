"""Bring your own model: a PyTorch module or an ONNX file -> the ArchGraph `compile_graph`
returns for a spec, so analyze, CostTable.layers(), the memory schedules and every renderer
work unchanged.

    >>> import archcalc, torch
    >>> graph = archcalc.from_torch(model, torch.empty(1, 3, 224, 224))
    >>> archcalc.analyze(graph, "torchvision").total("madds")

Modules: frontend.py (from_torch, from_onnx), to_graph.py (captured records -> ArchGraph),
aten.py and onnx_ops.py (each library's ops -> archcalc op kinds), layers.py (node and layer
names), model.py (ImportedModel: the graph's `spec`), refs.py (model references on the
command line). torch and onnx are imported only when a model is imported.
"""
from __future__ import annotations

import importlib

_EXPORTS = {"from_torch": "frontend", "from_onnx": "frontend", "ImportedModel": "model"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'archcalc.imported' has no attribute {name!r}")
