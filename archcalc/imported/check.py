"""`archcalc verify MODEL`: an imported model's counts against PyTorch's own on the same
module: params against sum(p.numel()) (every stored tensor once), MAdds against
torch.utils.flop_counter.FlopCounterMode's total / 2 counted on the meta device (no
arithmetic; nn.MultiheadAttention's fast path off, so attention is counted as torch's meta
kernels compute it). torch is imported only here."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelCheck:
    name: str
    params: tuple        # (archcalc, torch)
    madds: tuple         # (archcalc, torch)
    unknown: int         # ops counted as zero (--allow-unknown)

    @property
    def ok(self) -> bool:
        return self.params[0] == self.params[1] and self.madds[0] == self.madds[1]


def torch_counts(module, input_shape: tuple) -> tuple[int, int]:
    """(sum of parameter elements, FlopCounterMode total // 2 on the meta device)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    params = sum(p.numel() for p in module.parameters())
    state = {k: torch.empty_like(v, device="meta") for k, v in
             list(module.named_parameters()) + list(module.named_buffers())}
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            torch.func.functional_call(module, state, (torch.empty(1, *input_shape, device="meta"),))
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
        for m, training in flags:
            m.training = training
    return params, counter.get_total_flops() // 2


def check_model(module, table, input_shape: tuple) -> ModelCheck:
    """Compare the CostTable of `module`'s imported graph (archcalc.from_torch, analysed under
    the torchvision convention: every parameter counted) with PyTorch's counts."""
    params, madds = torch_counts(module, input_shape)
    return ModelCheck(table.spec.name, (table.total("params"), params),
                      (table.total("madds"), madds), len(table.spec.unknown_ops))
