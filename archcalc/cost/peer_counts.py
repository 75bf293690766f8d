"""The building blocks of the peer tools' rule tables (archcalc.cost.peers, .peer_kinds): a
`Count` (what one tool adds for one op of a kind, split into named parts), and the counts
several tools share (nothing, the op's multiply-accumulates, those plus a bias per output
element, a factor per element, BN's parameters)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..ops import CONV_KINDS, OpKind, numel


@dataclass(frozen=True)
class Count:
    """One op kind's rule in one tool: `parts(op, inputs, out, cost)` -> {part: count}; `text`
    says what it counts, for the convention's printed description (empty: counts nothing)."""
    parts: Callable
    text: str = ""


def mac_part(op) -> str:
    """The part an op's own multiply-accumulates belong to: conv, linear (fc and imported
    nn.Linear), or the kind's name (matmul, attention)."""
    if op.kind in CONV_KINDS:
        return "conv"
    return "linear" if op.kind in (OpKind.FC, OpKind.LINEAR) else op.kind.value


def rule_parts(op, inputs, out, cost) -> dict:
    """The registry rule's own MAdds (archcalc.ops): what the papers' conventions count."""
    return {mac_part(op): cost.madds} if cost.madds else {}


def zero_parts(op, inputs, out, cost) -> dict:
    return {}


ZERO = Count(zero_parts)
MACS = Count(rule_parts, "multiply-accumulates (bias not counted)")


def macs_bias_parts(op, inputs, out, cost) -> dict:
    parts = rule_parts(op, inputs, out, cost)
    if op.bias:
        parts[mac_part(op) + " bias"] = numel(out)
    return parts


MACS_BIAS = Count(macs_bias_parts, "multiply-accumulates + 1 per output element for a bias")


def per_element(part: str, factor: int, text: str, of: str = "out") -> Count:
    """`factor` per element of the op's output (of="out") or first input (of="in")."""
    def parts(op, inputs, out, cost):
        return {part: factor * numel(out if of == "out" else inputs[0])}
    return Count(parts, text)


def bn_params_parts(op, inputs, out, cost) -> dict:
    """A norm's affine parameters, once (torchinfo: output_size[0] x parameters, batch 1)."""
    return {"BN" if op.kind is OpKind.BN else "norm": cost.bn_params}
