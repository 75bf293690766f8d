"""The model a bench times: build_module(graph) with seeded default weights and BatchNorm
statistics calibrated on one random batch, so activations keep a realistic scale (an
uncalibrated deep net decays towards denormals, which are slow on CPUs).

torch is imported when a model is made, so that the memory check (memory_check.py, run before
torch is imported) reads CALIBRATION_BATCH from here.
"""
from __future__ import annotations

CALIBRATION_BATCH = 4      # images of the calibration batch (fp32, on the CPU)


def calibrate_bn(model, image_shape: tuple, seed: int = 0, batch: int = CALIBRATION_BATCH) -> None:
    """Set every BatchNorm's running statistics to those of one random batch of `batch`
    images (several, so 1x1 maps still have several values per channel), then eval mode."""
    import torch
    from torch import nn

    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [(m, m.momentum) for m in bns]
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(batch, *image_shape, generator=gen)
    try:
        for m in bns:
            m.reset_running_stats()
            m.momentum = None          # cumulative average: after one batch, its statistics
            m.train()
        with torch.no_grad():
            model(x)
    finally:
        for m, momentum in saved:
            m.momentum = momentum
        model.eval()


def materialise(graph, *, seed: int = 0):
    """build_module(graph) with seeded weights and calibrated BN (CPU, fp32, eval mode)."""
    import torch

    from .build import build_module
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_module(graph)
    calibrate_bn(model, graph.shape("input"), seed)
    return model
