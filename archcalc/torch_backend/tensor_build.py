"""Torch builders of the op kinds an imported model's rows compile to (spec/schema.py's
StandaloneRow and MergeRow, `archcalc import`): flatten and reshapes, copies, nn.Linear over the
last axis, layer / group norm, adaptive pooling, softmax, matmul and scaled dot-product
attention, so that `archcalc verify` checks a written spec's rules against PyTorch as it does
every spec's. Registered in build.py's one table (`@builder`)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..ops import Op, OpKind, numel
from .build import builder


class Reshape(nn.Module):
    """A view to `op.size` (flatten, view, reshape; a permute is counted, not computed, as a
    reshape of the same elements: no op of it counts)."""
    def __init__(self, size: tuple, copy: bool = False):
        super().__init__()
        self.size, self.copy = tuple(size), copy

    def forward(self, x):
        out = x.reshape(x.shape[0], *self.size)
        return out.clone() if self.copy else out


@builder(OpKind.VIEW, OpKind.COPY)
def _view(op: Op, in_shape: tuple) -> nn.Module:
    if numel(op.size) != numel(in_shape):
        raise ValueError(f"a selection from {list(in_shape)} to {list(op.size)} has no module")
    return Reshape(op.size, op.kind is OpKind.COPY)


@builder(OpKind.LINEAR)
def _linear(op: Op, in_shape: tuple) -> nn.Module:
    return nn.Linear(in_shape[-1], op.out_ch, bias=op.bias)


@builder(OpKind.NORM)
def _norm(op: Op, in_shape: tuple) -> nn.Module:
    if op.norm == "layer":
        return nn.LayerNorm(tuple(op.size), elementwise_affine=op.bias)
    return nn.GroupNorm(op.groups, in_shape[0], affine=op.bias)


@builder(OpKind.ADAPTIVE_POOL)
def _adaptive(op: Op, in_shape: tuple) -> nn.Module:
    make = nn.AdaptiveAvgPool2d if op.pool == "avg" else nn.AdaptiveMaxPool2d
    return make(tuple(op.size))


class Softmax(nn.Module):
    def forward(self, x):
        return torch.softmax(x, dim=-1)


class Matmul(nn.Module):
    def forward(self, a, b):
        return torch.matmul(a, b)


class Attention(nn.Module):
    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


@builder(OpKind.SOFTMAX)
def _softmax(op: Op, in_shape: tuple) -> nn.Module:
    return Softmax()


@builder(OpKind.MATMUL)
def _matmul(op: Op, in_shape: tuple) -> nn.Module:
    return Matmul()


@builder(OpKind.ATTENTION)
def _attention(op: Op, in_shape: tuple) -> nn.Module:
    return Attention()
