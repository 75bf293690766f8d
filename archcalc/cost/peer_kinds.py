"""The peer tools' rules (archcalc.cost.peers) for the op kinds added after the first five
presets: the detection / segmentation kinds of the spec language (archcalc/ops/resample_rules.py:
upsample, space-to-depth, SSD's L2Norm) and the kinds of imported models
(archcalc/ops/tensor_rules.py: parameter, linear, layer / group norm, adaptive pooling,
matmul, attention, softmax, view, copy, unknown). `KINDS[tool]` maps each kind to one
`Count`; each rule names the source it was read from:

* fvcore 0.1.5: fvcore/nn/flop_count.py `_DEFAULT_SUPPORTED_OPS` (jit_handles.py
  `linear_flop_jit`, `matmul_flop_jit`, `bmm_flop_jit`, `norm_flop_counter`,
  `elementwise_flop_counter`); an aten op not in that table (scaled_dot_product_attention,
  softmax, linalg_vector_norm, mul, pixel_unshuffle, adaptive_max_pool2d) counts 0,
* ptflops 0.7.5: ptflops/pytorch_ops.py `MODULES_MAPPING` hooks + the patched functionals
  (`FUNCTIONAL_MAPPING`: F.interpolate, F.softmax, F.*pool*) and tensor ops
  (`TENSOR_OPS_MAPPING`: torch.matmul / Tensor.matmul / bmm; not the `@` operator),
* thop 0.1.1.post2209072238: thop/profile.py `register_hooks`, vision/basic_hooks.py
  (`count_linear`, `count_normalization`, `count_softmax`, `count_adap_avgpool`,
  `count_upsample`) and calc_func.py; functionals and tensor ops are not hooked,
* torchinfo 1.8.0: torchinfo/layer_info.py `calculate_macs`: a leaf module with parameters
  named weight / bias adds output_size[0] (the batch, 1) x those parameters; others 0,
* torchprofile 0.1.0: torchprofile/handlers.py `HANDLER_MAP` (`_matmul` for linear / matmul,
  `_bmm`, `_norm`, `_avg_pool_or_mean`, `_upsample_bilinear2d`, `_mul`,
  `_scaled_dot_product_attention`); an op it does not know counts 0 (with a warning).

The spec language writes upsample and L2Norm as torchvision does: `F.interpolate(x, size |
scale_factor, mode)` and `scale.view(1, -1, 1, 1) * F.normalize(x)` (a parameter of the
enclosing module, not a leaf module). An imported model's ops count as written by modules
(nn.Linear, nn.LayerNorm, nn.GroupNorm, nn.Adaptive*Pool2d, nn.Softmax(dim=-1)) and
torch.matmul; docs/conventions.md, "Peer tools", lists the forms a tool counts differently.
"""
from __future__ import annotations

from ..ops import OpKind, numel
from .peer_counts import MACS, MACS_BIAS, ZERO, Count, bn_params_parts, per_element

_FREE = (OpKind.SPACE_TO_DEPTH, OpKind.PARAM, OpKind.VIEW, OpKind.COPY, OpKind.UNKNOWN)


def _fvcore_upsample(op, inputs, out, cost) -> dict:
    """aten::upsample_nearest2d 1, aten::upsample_bilinear2d 4 per output element."""
    return {"upsample": (4 if op.mode == "bilinear" else 1) * numel(out)}


def _torchprofile_upsample(op, inputs, out, cost) -> dict:
    """_upsample_bilinear2d: 4 per output element; upsample_nearest2d is a zero-cost op."""
    return {"upsample": 4 * numel(out)} if op.mode == "bilinear" else {}


def _fvcore_norm(op, inputs, out, cost) -> dict:
    """aten::layer_norm / group_norm, norm_flop_counter(2): 5 per input element with affine
    parameters, 4 without."""
    return {"norm": (5 if op.bias else 4) * numel(inputs[0])}


def _ptflops_norm(op, inputs, out, cost) -> dict:
    """bn_flops_counter_hook: input elements, doubled when the module has `affine` set:
    nn.GroupNorm has it, nn.LayerNorm does not (its flag is `elementwise_affine`)."""
    double = op.norm == "group" and op.bias
    return {"norm": (2 if double else 1) * numel(inputs[0])}


def _thop_norm(op, inputs, out, cost) -> dict:
    """count_normalization on nn.LayerNorm: 2 per input element, doubled for
    elementwise_affine; nn.GroupNorm is not hooked."""
    if op.norm != "layer":
        return {}
    return {"norm": (4 if op.bias else 2) * numel(inputs[0])}


def _torchprofile_norm(op, inputs, out, cost) -> dict:
    """_norm: 1 per output element with affine parameters, else 0."""
    return {"norm": numel(out)} if op.bias else {}


def _fvcore_adaptive(op, inputs, out, cost) -> dict:
    """aten::adaptive_avg_pool2d: 1 per input element; adaptive_max_pool2d unsupported."""
    return {"pooling": numel(inputs[0])} if op.pool == "avg" else {}


def _ptflops_adaptive(op, inputs, out, cost) -> dict:
    """nn.Adaptive{Avg,Max}Pool2d hook (input elements) + the patched F.adaptive_*_pool2d it
    calls (input elements again); the functional alone once."""
    return {"pooling": (2 if op.written_as == "module" else 1) * numel(inputs[0])}


def _thop_adaptive(op, inputs, out, cost) -> dict:
    """count_adap_avgpool: int((prod(in_size / out_size) + 1) x output elements), computed in
    float64 (a fractional kernel when the sizes do not divide); adaptive max pools 0."""
    if op.pool != "avg" or op.written_as != "module":
        return {}
    (_, h, w), (oh, ow) = inputs[0], op.size
    return {"pooling": int(((h / oh) * (w / ow) + 1) * numel(out))}


def _torchprofile_adaptive(op, inputs, out, cost) -> dict:
    """_avg_pool_or_mean: 1 per output element; adaptive max pools are zero-cost."""
    return {"pooling": numel(out)} if op.pool == "avg" else {}


def _torchprofile_l2norm(op, inputs, out, cost) -> dict:
    """_mul: the scale product, 1 per output element; F.normalize's norm and div are ops it
    does not know (0)."""
    return {"scale": numel(out)} if op.affine else {}


def _thop_softmax(op, inputs, out, cost) -> dict:
    """count_softmax on nn.Softmax(dim=-1): rows x (n exp + (n - 1) adds + n divides), n the
    size of the last axis."""
    n = out[-1] if out else 1
    return {"softmax": numel(out) // n * (3 * n - 1)}


def _torchinfo_linear(op, inputs, out, cost) -> dict:
    """calculate_macs on a leaf nn.Linear: output_size[0] x (weights + bias); output_size[0]
    is the batch (1), so an nn.Linear over tokens counts its parameters once."""
    parts = {"linear": cost.weights}
    if cost.bias:
        parts["linear bias"] = cost.bias
    return parts


UPSAMPLE_TEXT = {
    "fvcore": "upsample nearest 1, bilinear 4 per output element",
    "ptflops": "upsample (F.interpolate) 1 per output element",
    "thop": "",
    "torchinfo": "",
    "torchprofile": "bilinear upsample 4 per output element",
}

KINDS: dict[str, dict] = {
    "fvcore": {
        OpKind.UPSAMPLE: Count(_fvcore_upsample, UPSAMPLE_TEXT["fvcore"]),
        OpKind.L2NORM: ZERO,
        OpKind.LINEAR: MACS,
        OpKind.NORM: Count(_fvcore_norm, "layer / group norm 5 per element (4 without affine)"),
        OpKind.ADAPTIVE_POOL: Count(_fvcore_adaptive, "adaptive avg pool 1 per input element"),
        OpKind.MATMUL: MACS,
        OpKind.ATTENTION: ZERO,
        OpKind.SOFTMAX: ZERO,
    },
    "ptflops": {
        OpKind.UPSAMPLE: per_element("upsample", 1, UPSAMPLE_TEXT["ptflops"]),
        OpKind.L2NORM: ZERO,
        OpKind.LINEAR: MACS_BIAS,
        OpKind.NORM: Count(_ptflops_norm, "nn.LayerNorm 1 per element, nn.GroupNorm 2"),
        OpKind.ADAPTIVE_POOL: Count(_ptflops_adaptive, "adaptive pools as pools"),
        OpKind.MATMUL: MACS,
        OpKind.ATTENTION: ZERO,
        OpKind.SOFTMAX: per_element("softmax", 1, "softmax (F.softmax) 1 per element"),
    },
    "thop": {
        OpKind.UPSAMPLE: ZERO,
        OpKind.L2NORM: ZERO,
        OpKind.LINEAR: MACS,
        OpKind.NORM: Count(_thop_norm, "nn.LayerNorm 4 per element (2 without affine), "
                                       "nn.GroupNorm 0"),
        OpKind.ADAPTIVE_POOL: Count(_thop_adaptive, "nn.AdaptiveAvgPool2d (H*W/(oh*ow) + 1) "
                                                    "per output element"),
        OpKind.MATMUL: ZERO,
        OpKind.ATTENTION: ZERO,
        OpKind.SOFTMAX: Count(_thop_softmax, "nn.Softmax (3n - 1) per row of n"),
    },
    "torchinfo": {
        OpKind.UPSAMPLE: ZERO,
        OpKind.L2NORM: ZERO,
        OpKind.LINEAR: Count(_torchinfo_linear, "nn.Linear: its parameters once"),
        OpKind.NORM: Count(bn_params_parts, "layer / group norm: its parameters once"),
        OpKind.ADAPTIVE_POOL: ZERO,
        OpKind.MATMUL: ZERO,
        OpKind.ATTENTION: ZERO,
        OpKind.SOFTMAX: ZERO,
    },
    "torchprofile": {
        OpKind.UPSAMPLE: Count(_torchprofile_upsample, UPSAMPLE_TEXT["torchprofile"]),
        OpKind.L2NORM: Count(_torchprofile_l2norm, "L2Norm's scale product 1 per element"),
        OpKind.LINEAR: MACS,
        OpKind.NORM: Count(_torchprofile_norm, "affine layer / group norm 1 per element"),
        OpKind.ADAPTIVE_POOL: Count(_torchprofile_adaptive, ""),
        OpKind.MATMUL: MACS,
        OpKind.ATTENTION: MACS,
        OpKind.SOFTMAX: ZERO,
    },
}
for _table in KINDS.values():
    _table.update({kind: ZERO for kind in _FREE})
