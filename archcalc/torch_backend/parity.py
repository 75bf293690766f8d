"""archcalc.torch_backend.verify: check archcalc's counts against PyTorch's own on the materialised model.

params: sum(p.numel()) == archcalc params + bn_params (weights, biases, BN gamma/beta);
MAdds: torch.utils.flop_counter.FlopCounterMode total / 2 == archcalc MAdds (torch counts
2 FLOPs per multiply-accumulate); shapes: every node's output == archcalc's (C, H, W).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..cost import analyze
from .build import build_module
from .convention import ALL_PARAMS

CONVENTION = ALL_PARAMS        # what verify compares under (its describe() is printed)
TORCH_SIDE = ("params = sum(p.numel() for p in model.parameters()): weights, biases and BN "
              "gamma/beta (BN running statistics are buffers, not parameters); "
              "MAdds = FlopCounterMode's total / 2 (2 FLOPs per multiply-add)")


@dataclass
class VerifyResult:
    ok: bool
    params: tuple          # (archcalc, torch)
    madds: tuple           # (archcalc, torch FlopCounterMode / 2)
    shapes_checked: int
    mismatches: list = field(default_factory=list)   # (node, what, archcalc, torch), graph order

    @property
    def first_mismatch(self):
        return self.mismatches[0] if self.mismatches else None


def _madds_by_module(model, x) -> tuple[int, dict]:
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(x)
    flops = counter.get_flop_counts()
    total = sum(flops.get("Global", {}).values())
    prefix = type(model).__name__ + "."   # FlopCounterMode names modules "<Class>.<path>"
    per_module = {name[len(prefix):]: sum(v.values()) // 2 for name, v in flops.items()
                  if name.startswith(prefix)}
    return total // 2, per_module


def verify(graph, seed: int = 0, progress: Callable[[], None] | None = None) -> VerifyResult:
    """Build `graph` in PyTorch and compare params, MAdds and every node's output shape.
    `progress` is called once per module built and once per module run (2 x the non-input
    nodes in all)."""
    table = analyze(graph, ALL_PARAMS)
    step = progress or (lambda: None)
    model = build_module(graph, progress=step)
    torch.manual_seed(seed)
    c, h, w = graph.shape("input")
    x = torch.randn(1, c, h, w)

    shapes: dict[str, tuple] = {}

    def record(name, out):
        shapes[name] = tuple(out.shape[1:])
        step()
    hooks = [module.register_forward_hook(lambda mod, args, out, name=name: record(name, out))
             for name, module in model.named_modules() if name in graph]
    try:
        madds, per_module = _madds_by_module(model, x)
    finally:
        for hook in hooks:
            hook.remove()

    mismatches = []
    for row in table.rows:
        if row.name == "input":
            continue
        if shapes.get(row.name) != tuple(row.output_shape):
            mismatches.append((row.name, "output_shape", tuple(row.output_shape), shapes.get(row.name)))
        module = model.get_submodule(row.name)
        n_params = sum(p.numel() for p in module.parameters())
        if n_params != row.params:
            mismatches.append((row.name, "params", row.params, n_params))
        # FlopCounterMode keys its per-module table by the module's dotted path
        got = per_module.get(row.name, 0)
        if got != row.madds:
            mismatches.append((row.name, "madds", row.madds, got))
    params = sum(p.numel() for p in model.parameters())
    # the model is one inference pass: its MAdds are the rows' (a spec's multi-scale passes
    # sum several in table.totals, cost/passes.py)
    ours = sum(row.madds for row in table.rows)
    totals_ok = params == table.totals["params"] and madds == ours
    return VerifyResult(ok=totals_ok and not mismatches, params=(table.totals["params"], params),
                        madds=(ours, madds), shapes_checked=len(shapes), mismatches=mismatches)
