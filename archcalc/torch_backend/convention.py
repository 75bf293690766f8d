"""What a PyTorch build of a spec holds: the one counting convention of the torch backend.

Everything PyTorch counts as a parameter -- weights, biases and BN gamma/beta
(`sum(p.numel() for p in model.parameters())`; BN running statistics are buffers) -- is
counted. `verify` compares archcalc's counts under it (and prints its describe(), hence its
name), `bench` reads the weights a layer moves under it (with element-wise ops, for the
roofline's FLOPs) and the memory check sizes the model under it. Never imports torch.
"""
from __future__ import annotations

from ..cost import Convention

# Everything PyTorch holds as a parameter: weights, biases and BN gamma/beta.
ALL_PARAMS = Convention("verify", bn_params=True, bias=True)
# The same, with the element-wise ops (BN, activations, adds, pooling) a roofline counts.
ALL_PARAMS_ELEMENTWISE = ALL_PARAMS.with_options(elementwise=True)
