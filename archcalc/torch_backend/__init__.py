"""PyTorch backend (optional extra `archcalc[torch]`): materialise an op-graph as an
nn.Module whose module names equal the graph's node names, verify archcalc's counts against
PyTorch's own, and time it. `import archcalc` never imports this package, and importing
this package does not import torch until one of its tools is used (the CLI registers the
bench command through archcalc.cli.pytorch on every run).

Modules: build.py (the nn.Module), convention.py (what torch counts as a parameter), parity.py
(verify), memory_check.py and option_checks.py (refusals before torch is imported), and the
bench: timing.py (statistics, nothing archcalc-specific), micro.py (machine peak, bandwidth,
overhead), calibrate.py (seeded weights, calibrated BN), layer_profile.py (torch.profiler per
node), roofline.py (archcalc's counts -> predicted times), machine.py and bench.py (the
steps of one run). Text rendering is archcalc.report.bench."""
from __future__ import annotations

import importlib

_EXPORTS = {"BUILDERS": "build", "build_module": "build", "builder": "build",
            "verify": "parity", "VerifyResult": "parity"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'archcalc.torch_backend' has no attribute {name!r}")
