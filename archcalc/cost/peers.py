"""What each peer tool counts as a multiply-add, op kind by op kind: the rule tables behind the
conventions `fvcore`, `ptflops`, `thop`, `torchinfo` and `torchprofile` (archcalc.cost.convention).

Each table maps an op kind to one `Count`: what that tool adds to its total for one op of the
kind, split into named *parts* (PARTS: conv, linear, their biases, matmul, attention, BN,
norm, activation, softmax, pooling, upsample, add, scale) so that `archcalc compare
--conventions` can say where two totals differ. The rules of the classification-network kinds
are here, those of the detection / segmentation and imported kinds in peer_kinds.py. They were
read from each tool's source (docs/conventions.md, "Peer tools", names the file and function
of each) and are checked against the installed packages on hand-written PyTorch twins of the
zoo specs and on small imported modules (tests/test_peer_conventions.py, _kinds.py):

* fvcore 0.1.5 `FlopCountAnalysis(model, x).total()` (fvcore/nn/flop_count.py
  `_DEFAULT_SUPPORTED_OPS`, jit_handles.py),
* ptflops 0.7.5 `get_model_complexity_info` with its default pytorch backend
  (ptflops/pytorch_ops.py `MODULES_MAPPING` module hooks plus the patched functionals
  `FUNCTIONAL_MAPPING`, which count again when a hooked module calls them),
* thop 0.1.1.post2209072238 `profile` (thop/profile.py `register_hooks`,
  thop/vision/basic_hooks.py; not `ultralytics-thop`, whose rules differ),
* torchinfo 1.8.0 `summary(...).total_mult_adds` (torchinfo/layer_info.py
  `LayerInfo.calculate_macs`, leaf modules only),
* torchprofile 0.1.0 `profile_macs` (torchprofile/handlers.py `HANDLER_MAP`).

Tools that hook modules count an op by how the PyTorch code writes it: `Op.written_as` is
`module` (nn.AdaptiveAvgPool2d, nn.ReLU, ...; the default), `functional` (F.adaptive_avg_pool2d)
or `mean` (x.mean([2, 3]), for a global average pool); adds and SE products are operators
(`a + b`, `s * x`), as in torchvision. A new op kind needs one entry in every table here
(tests/test_peer_conventions.py lists any missing one); an op kind a table lacks is an error,
never a silent zero.
"""
from __future__ import annotations

from ..errors import OptionError
from ..ops import CONV_KINDS, OpKind, numel
from .peer_counts import (MACS, MACS_BIAS, ZERO, Count, bn_params_parts, mac_part,  # noqa: F401
                          per_element, rule_parts)
from .peer_kinds import KINDS

PARTS = ("conv", "conv bias", "linear", "linear bias", "matmul", "attention", "BN", "norm",
         "activation", "softmax", "pooling", "upsample", "add", "scale")
TOOLS = ("fvcore", "ptflops", "thop", "torchinfo", "torchprofile")


# ---- activations: ptflops hooks nn.ReLU / nn.ReLU6 / nn.LeakyReLU / nn.ELU / nn.GELU and patches
# F.relu / F.relu6 / F.elu / F.gelu / F.silu (pytorch_engine.py `patch_functional`)
# (module hook, patched functional) counts per element, by activation, when written as a module
# (nn.ReLU: hook + F.relu; nn.ReLU6 calls F.hardtanh, not patched; nn.LeakyReLU calls
# F.leaky_relu, not patched). The names after gelu are those of imported models
# (archcalc/imported/aten.py); "<op> const" is an arithmetic operator with a constant (`x * 0.5`),
# which ptflops does not patch (only torch.add / torch.mul and their methods).
_NOT_COUNTED = ("hswish", "sigmoid", "hsigmoid", "tanh", "selu", "celu", "mish", "softplus",
                "clamp", "hardtanh", "sqrt", "rsqrt", "reciprocal", "neg", "exp", "log", "abs",
                "erf", "pow", "add const", "sub const", "rsub const", "mul const", "div const")
PTFLOPS_ACT_MODULE = {"relu": 2, "relu6": 1, "swish": 1, "gelu": 2, "elu": 2, "leaky_relu": 1,
                      **dict.fromkeys(_NOT_COUNTED, 0)}
PTFLOPS_ACT_FUNCTIONAL = {"relu": 1, "relu6": 1, "swish": 1, "gelu": 1, "elu": 1,
                          "leaky_relu": 0, **dict.fromkeys(_NOT_COUNTED, 0)}


def _ptflops_act(op, inputs, out, cost) -> dict:
    table = PTFLOPS_ACT_MODULE if op.written_as == "module" else PTFLOPS_ACT_FUNCTIONAL
    if op.act not in table:
        raise OptionError(f"convention 'ptflops' has no rule for activation {op.act!r} (node "
                          f"{op.name}); archcalc.cost.peers lists the ones it knows")
    return {"activation": table[op.act] * numel(out)}


def _torchprofile_act(op, inputs, out, cost) -> dict:
    """_mul (a product with a constant, `x * 0.5`): 1 per output element. _leaky_relu is
    registered for aten::leaky_relu only: nn.LeakyReLU(inplace=True) (aten::leaky_relu_, as
    darknet ports and tests/reference_detection.py write it) is unknown to it, so 0, like every
    other activation (zero-cost or unknown ops)."""
    return {"activation": numel(out)} if op.act == "mul const" else {}


# ---- pooling -------------------------------------------------------------------------------------
def _is_mean(op) -> bool:
    return op.global_pool and op.written_as == "mean"


def _fvcore_pool(op, inputs, out, cost) -> dict:
    """aten::adaptive_avg_pool2d: 1 per input element; avg_pool2d, max pools, mean: unsupported."""
    if op.global_pool and op.pool == "avg" and not _is_mean(op):
        return {"pooling": numel(inputs[0])}
    return {}


def _ptflops_pool(op, inputs, out, cost) -> dict:
    """Module hook (input elements) + the patched F.*pool* it calls (input elements again)."""
    if _is_mean(op):
        return {}
    return {"pooling": (2 if op.written_as == "module" else 1) * numel(inputs[0])}


def _thop_pool(op, inputs, out, cost) -> dict:
    """nn.AdaptiveAvgPool2d: (kernel + 1) per output element, kernel = H_in*W_in / H_out*W_out;
    nn.AvgPool2d: 1 per output element; max pools 0; functionals and mean are not hooked."""
    if op.written_as != "module" or op.pool != "avg":
        return {}
    if op.global_pool:
        return {"pooling": (inputs[0][1] * inputs[0][2] + 1) * numel(out)}
    return {"pooling": numel(out)}


def _torchprofile_pool(op, inputs, out, cost) -> dict:
    """avg_pool2d / adaptive_avg_pool2d / mean: 1 per output element; max pools 0."""
    return {"pooling": numel(out)} if op.pool == "avg" else {}


_DATA = (OpKind.INPUT, OpKind.SLICE, OpKind.CONCAT, OpKind.SHUFFLE, OpKind.SHIFT)


def _table(conv: Count, fc: Count, bn: Count, act: Count, pool: Count, add: Count = ZERO,
           mul: Count = ZERO) -> dict:
    """The rules of the classification-network kinds; peer_kinds.KINDS adds the others."""
    table = {k: conv for k in CONV_KINDS}
    table.update({k: ZERO for k in _DATA})
    table.update({OpKind.FC: fc, OpKind.BN: bn, OpKind.ACT: act, OpKind.POOL: pool,
                  OpKind.ADD: add, OpKind.MUL: mul})
    return table


TABLES: dict[str, dict] = {
    "fvcore": _table(
        MACS, MACS,
        per_element("BN", 2, "BN (eval, affine): 2 per element"), ZERO,
        Count(_fvcore_pool, "global avg pool (nn.AdaptiveAvgPool2d or F.adaptive_avg_pool2d): "
                            "1 per input element; x.mean, avg_pool2d, max pools 0")),
    "ptflops": _table(
        MACS_BIAS, MACS_BIAS,
        per_element("BN", 2, "BN: 2 per element"),
        Count(_ptflops_act, "nn.ReLU 2 per element (hook + F.relu), nn.ReLU6, "
                            "nn.SiLU and nn.LeakyReLU 1, hswish / sigmoid / hsigmoid 0"),
        Count(_ptflops_pool, "pool modules 2 per input element (hook + F.*pool*), "
                             "F.*pool* 1, x.mean 0")),
    "thop": _table(
        MACS, MACS,
        per_element("BN", 4, "BN: 4 per element (2, doubled for affine)"), ZERO,
        Count(_thop_pool, "nn.AdaptiveAvgPool2d (H*W/out + 1) per output element, "
                          "nn.AvgPool2d 1; F.* and x.mean not hooked, max pools 0")),
    "torchinfo": _table(
        MACS_BIAS, MACS_BIAS,
        Count(bn_params_parts, "BN: its 2C parameters once"), ZERO, ZERO),
    "torchprofile": _table(
        MACS, MACS,
        per_element("BN", 1, "BN (affine): 1 per element"),
        Count(_torchprofile_act, "x * constant 1 per element"),
        Count(_torchprofile_pool, "avg pools and x.mean 1 per output element, max pools 0"),
        mul=per_element("scale", 1, "SE product s * x: 1 per element")),
}
for _tool, _kinds in KINDS.items():
    TABLES[_tool].update(_kinds)

TOOL_CALLS = {
    "fvcore": "fvcore 0.1.5 FlopCountAnalysis(model, x).total()",
    "ptflops": "ptflops 0.7.5 get_model_complexity_info (pytorch backend) MACs",
    "thop": "thop 0.1.1.post2209072238 profile(model, (x,)) MACs",
    "torchinfo": "torchinfo 1.8.0 summary(model, input_size).total_mult_adds",
    "torchprofile": "torchprofile 0.1.0 profile_macs(model, x)",
}
ZERO_TEXT = {"fvcore": "activations, adds, products",
             "ptflops": "adds and products written as operators",
             "thop": "activations, adds, products",
             "torchinfo": "activations, pooling, adds, products (no parameters)",
             "torchprofile": "other activations, adds, max pools"}


def _count_for(tool: str, op) -> Count:
    table = TABLES[tool]
    try:
        return table[op.kind]
    except KeyError:
        raise OptionError(f"convention {tool!r} has no rule for op kind '{op.kind}' (node "
                          f"{op.name}); archcalc.cost.peers.TABLES lists what it counts") from None


def parts(tool: str | None, op, inputs, out, cost) -> dict:
    """{part: count} of one op under `tool`'s rules; None: the registry's own MAdds."""
    if tool is None:
        return rule_parts(op, inputs, out, cost)
    return {k: v for k, v in _count_for(tool, op).parts(op, inputs, out, cost).items()
            if not (isinstance(v, int) and v == 0)}


def madds(tool: str, op, inputs, out, cost):
    """The MAdds `tool` counts for one op: the sum of its parts."""
    values = list(parts(tool, op, inputs, out, cost).values())
    return sum(values[1:], values[0]) if values else 0


def describe(tool: str) -> str:
    """What `tool`'s total counts, in one sentence (the convention's printed description)."""
    table = TABLES[tool]
    conv, fc = table[OpKind.CONV].text, table[OpKind.FC].text
    texts = [f"MAdds as {TOOL_CALLS[tool]}: conv {conv}",
             f"fc {fc}" if fc != conv else "fc the same"]
    for kind in (OpKind.BN, OpKind.ACT, OpKind.POOL, OpKind.ADD, OpKind.MUL):
        text = table[kind].text
        if text and text not in texts:
            texts.append(text)
    return "; ".join(texts) + f"; {ZERO_TEXT[tool]} 0"


def breakdown(graph, convention) -> dict:
    """{part: MAdds} of a graph at a point under `convention` (a Convention), summed over its
    ops in PARTS order (parts a rule names outside PARTS after them); the values add up to the
    convention's MAdds total."""
    from ..ops import rule_for
    out: dict = {}
    for name in graph.names:
        op = graph.op(name)
        inputs = [graph.shape(u) for u in graph.inputs(name)]
        out_shape = graph.shape(name)
        cost = rule_for(op).cost(op, inputs, out_shape)
        for part, value in parts(convention.madds_rules, op, inputs, out_shape, cost).items():
            out[part] = out.get(part, 0) + value
    order = {p: i for i, p in enumerate(PARTS)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(PARTS))))
