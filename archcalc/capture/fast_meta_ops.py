"""Output tensors of the commonest multi-operand ops on the meta device, without their meta
kernels: convolution, cat, mean over dims, addmm and the binary element-wise ops.

Like capture/fast_meta.py (which it extends): torch's meta kernels for these are Python
(torch/_meta_registrations.py, torch/_refs), 25-400 us each, while the result only needs a
shape, a dtype and the strides the kernel would give. Each shortcut covers the case where
those strides are certain, and returns None (the real kernel runs) for anything else:

* convolution (not transposed): the output shape of the Conv2d formula
  floor((L + 2p - d(k - 1) - 1) / s) + 1, contiguous (the meta kernel's `new_empty`);
* cat of standard-contiguous tensors: contiguous (channels-last or mixed inputs: the kernel);
* mean.dim of a contiguous or channels-last input: the reduced shape, contiguous;
* addmm(bias, m x k, k x n): m x n, contiguous;
* sub / mul / div (.Tensor) where the first operand has the result's shape and strictly
  decreasing contiguous strides (so it alone fixes the output's layout, as TensorIterator and
  torch._prims_common order dimensions): contiguous; the in-place add_ / mul_ return their
  first operand. (add.Tensor still runs its kernel:
  tests/test_capture_fast_meta.py holds it as the example of an op without a shortcut.)

tests/test_capture_fast_meta.py compares every shortcut with the kernel (shape, strides,
dtype) over contiguous, channels-last, sliced and broadcast operands.
"""
from __future__ import annotations

import torch

aten = torch.ops.aten
FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _ok(t, dtype=None) -> bool:
    return isinstance(t, torch.Tensor) and t.is_meta and t.dtype in FLOATS and \
        (dtype is None or t.dtype == dtype)


def _empty(shape, dtype):
    return torch.empty(shape, dtype=dtype, device="meta")


def _per_dim(value, n: int):
    if isinstance(value, int):
        return [value] * n
    value = list(value)
    return value * n if len(value) == 1 else value if len(value) == n else None


def convolution(args):
    if len(args) != 9:
        return None
    x, w, bias, stride, padding, dilation, transposed, _, groups = args
    if transposed or not (_ok(x) and _ok(w, x.dtype)) or x.dim() != w.dim() or x.dim() < 3:
        return None
    if bias is not None and not (_ok(bias, x.dtype) and tuple(bias.shape) == (w.shape[0],)):
        return None
    n = x.dim() - 2
    stride, padding, dilation = (_per_dim(v, n) for v in (stride, padding, dilation))
    if None in (stride, padding, dilation) or not isinstance(groups, int) or groups < 1 or \
            x.shape[1] == 0 or w.shape[1] * groups != x.shape[1] or w.shape[0] % groups:
        return None
    out = [x.shape[0], w.shape[0]]
    for size, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding, dilation):
        if s < 1 or d < 1 or p < 0:
            return None
        length = (size + 2 * p - d * (k - 1) - 1) // s + 1
        if length < 1:
            return None
        out.append(length)
    return _empty(out, x.dtype)


def _standard(t) -> bool:
    """Contiguous, and not also channels-last contiguous (no ambiguous layout)."""
    return t.is_contiguous() and not (t.dim() == 4 and
                                      t.is_contiguous(memory_format=torch.channels_last))


def cat(args):
    tensors = args[0] if args else None
    dim = args[1] if len(args) > 1 else 0
    if not isinstance(tensors, (list, tuple)) or not tensors or not isinstance(dim, int):
        return None
    first = tensors[0]
    if not _ok(first) or first.dim() == 0:
        return None
    rank = first.dim()
    if not -rank <= dim < rank:
        return None
    dim %= rank
    total = 0
    for t in tensors:
        if not (_ok(t, first.dtype) and t.dim() == rank and t.numel() and _standard(t)):
            return None
        if any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != dim):
            return None
        total += t.shape[dim]
    shape = list(first.shape)
    shape[dim] = total
    return _empty(shape, first.dtype)


def mean_dim(args):
    x, dims = args[0], args[1] if len(args) > 1 else None
    keepdim = args[2] if len(args) > 2 else False
    if len(args) > 3 and args[3] is not None or not _ok(x) or x.dim() == 0 or not dims:
        return None
    if not (x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)):
        return None
    if not isinstance(dims, (list, tuple)) or not all(isinstance(d, int) for d in dims) or \
            not isinstance(keepdim, bool):
        return None
    rank = x.dim()
    if not all(-rank <= d < rank for d in dims):
        return None
    axes = {d % rank for d in dims}
    if len(axes) != len(dims):
        return None
    shape = [1 if i in axes else s for i, s in enumerate(x.shape)] if keepdim else \
        [s for i, s in enumerate(x.shape) if i not in axes]
    return _empty(shape, x.dtype)


def addmm(args):
    if len(args) < 3:
        return None
    bias, a, b = args[:3]
    if not (_ok(a) and _ok(b, a.dtype) and _ok(bias, a.dtype)) or a.dim() != 2 or \
            b.dim() != 2 or a.shape[1] != b.shape[0]:
        return None
    out = (a.shape[0], b.shape[1])
    if not _broadcasts(bias.shape, out):
        return None
    return _empty(out, a.dtype)


def _broadcasts(small, big) -> bool:
    """Whether a tensor of shape `small` broadcasts to `big` unchanged in rank and size."""
    if len(small) > len(big):
        return False
    return all(s == b or s == 1 for s, b in zip(reversed(small), reversed(big)))


def _decides(a) -> bool:
    """Contiguous with strictly decreasing strides: every pair of dimensions is ordered by
    `a` alone, so the output of an element-wise op led by `a` is contiguous."""
    st = a.stride()
    return a.is_contiguous() and all(s > t for s, t in zip(st, st[1:]))


def binary(args):
    if len(args) < 2:
        return None
    a, b = args[0], args[1]
    if not (_ok(a) and _ok(b, a.dtype)) or not _broadcasts(b.shape, a.shape) or not _decides(a):
        return None
    return _empty(a.shape, a.dtype)


def binary_(args):
    if len(args) < 2:
        return None
    a, b = args[0], args[1]
    if not (_ok(a) and _ok(b, a.dtype)) or not _broadcasts(b.shape, a.shape):
        return None
    return a


SHORTCUTS = {aten.convolution.default: convolution, aten.cat.default: cat,
             aten.mean.dim: mean_dim, aten.addmm.default: addmm,
             aten.sub.Tensor: binary, aten.mul.Tensor: binary,
             aten.div.Tensor: binary, aten.add_.Tensor: binary_, aten.mul_.Tensor: binary_}
