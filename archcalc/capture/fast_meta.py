"""Output tensors of the commonest shape-preserving ops on the meta device, without their
meta kernels.

torch's meta kernels for batch norm and for activations such as hardtanh are Python
decompositions (torch/_decomp, torch/_refs): on MobileNetV2 they took about 85% of a
dispatch capture. Their outputs are fully determined by the input: an in-place activation
returns its input, an out-of-place one (and eval-mode batch norm's output) is `empty_like`
the input, and batch norm's saved statistics are (C,) vectors in float32 (float64 for
float64 inputs). tests/test_capture_fast_meta.py checks each entry against the kernel it
replaces (shapes, strides and dtypes, contiguous and channels-last). Anything else, and
anything not on the meta device, runs the real kernel. Convolution, cat, mean, addmm and the
binary element-wise ops: capture/fast_meta_ops.py.
"""
from __future__ import annotations

import torch

from .fast_meta_ops import SHORTCUTS

aten = torch.ops.aten

# in-place unary activations: the result is the input tensor itself
IN_PLACE = frozenset({
    aten.relu_.default, aten.hardtanh_.default, aten.silu_.default, aten.sigmoid_.default,
    aten.hardswish_.default, aten.hardsigmoid_.default, aten.leaky_relu_.default,
})
# out-of-place ops whose one tensor operand fixes the output (same shape, strides, dtype)
LIKE_INPUT = frozenset({
    aten.relu.default, aten.hardtanh.default, aten.silu.default, aten.sigmoid.default,
    aten.hardswish.default, aten.hardsigmoid.default, aten.leaky_relu.default,
    aten.gelu.default, aten.tanh.default, aten.mul.Scalar,
})
BATCH_NORM = aten.native_batch_norm.default
FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def like(x):
    """torch.empty_like(x, device="meta") (preserve_format): a dense tensor's strides are kept
    exactly. On the meta device empty_like itself is a Python reference (~100 us),
    empty_strided a C++ call (~1 us)."""
    if x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last):
        return torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")
    return torch.empty_like(x, device="meta")


def meta_outputs(func, args):
    """The op's result without running its kernel, or None where the real kernel must run."""
    several = SHORTCUTS.get(func)          # multi-operand ops: capture/fast_meta_ops.py
    if several is not None:
        return several(args)
    if not args or not isinstance(args[0], torch.Tensor):
        return None
    x = args[0]
    if not x.is_meta or x.dtype not in FLOATS:
        return None
    if any(isinstance(a, torch.Tensor) for a in args[1:]) and func is not BATCH_NORM:
        return None
    if func in IN_PLACE:
        return x
    if func in LIKE_INPUT:
        return like(x)
    if func is BATCH_NORM and len(args) > 1 and x.dim() >= 2:
        stats = torch.float64 if x.dtype == torch.float64 else torch.float32
        c = x.shape[1]
        return (like(x), torch.empty(c, dtype=stats, device="meta"),
                torch.empty(c, dtype=stats, device="meta"))
    return None
