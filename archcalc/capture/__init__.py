"""Capture a user's model as neutral records (the front end of "bring your own model").

``capture_torch(module, example_inputs, method="export"|"dispatch")`` and
``capture_onnx(path_or_model_proto)`` return a `CapturedGraph` (records.py): every op with
its shapes, arguments, parameters and module path; the model's parameters once each. torch
and onnx are imported only when a capture function is called, so ``import archcalc.capture``
stays light.
"""
from __future__ import annotations

import importlib

_EXPORTS = {"capture_torch": "torch", "capture_onnx": "onnx",
            "CapturedGraph": "records", "CapturedNode": "records", "TensorInfo": "records",
            "ParamInfo": "records", "CaptureError": "records"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'archcalc.capture' has no attribute {name!r}")
