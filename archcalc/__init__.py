"""archcalc: exact params, multiply-adds and activation memory of efficient CNNs from
paper-style t/c/n/s specs (MobileNetV2, Sandler et al. 2018, arXiv:1801.04381, and its lineage).

Public API (imported lazily, so `import archcalc` stays fast and never imports torch):
load, evaluate, closed_form, compare_specs (several specs side by side), load_spec, parse_spec,
compile_graph, analyze, CostTable, Convention, CONVENTIONS, DTYPE_BYTES, flops_from_madds,
ArchcalcError, SpecError, OptionError; from_torch and from_onnx (a PyTorch module or an ONNX
model as the same graph compile_graph returns; torch / onnx imported only when called).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "load": "api", "evaluate": "api", "closed_form": "api", "convention_named": "api",
    "compare_specs": "compare",
    "load_spec": "spec", "parse_spec": "spec", "NetworkSpec": "spec",
    "compile_graph": "graph", "ArchGraph": "graph",
    "analyze": "cost", "CostTable": "cost", "Convention": "cost", "CONVENTIONS": "cost",
    "flops_from_madds": "cost", "DTYPE_BYTES": "cost",
    "ArchcalcError": "errors", "SpecError": "errors", "OptionError": "errors",
    "UnsupportedOpError": "errors",
    "from_torch": "imported", "from_onnx": "imported",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'archcalc' has no attribute {name!r}")
