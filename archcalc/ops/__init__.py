"""Primitive ops of the op-graph and the one registry of their rules.

Each op kind has exactly one rule object, holding its shape rule, parameters, multiply-adds
(MAdds: the papers' multiply-accumulates of convolutions and fully-connected layers; for an
imported model also linear layers, matmuls and attention, as torch's FlopCounterMode counts
them), element-wise op count and whether it runs in place. Rules are pure: they see an `Op`
and the input shapes (exact ints or sympy expressions), never a tensor or a module. An op kind
without a rule raises UnsupportedOpError; it is never counted as zero.

core.py holds the kinds, `Op`, `Cost`, `Rule` and the registry; rules.py the spec-level
kinds' rules; resample_rules.py the detection and segmentation kinds' (resampling,
space-to-depth, L2Norm); tensor_rules.py those an imported model needs (shapes of any rank).
"""
from __future__ import annotations

from . import resample_rules, rules, tensor_rules  # noqa: F401  (registers the rules)
from .core import (CONV_KINDS, RULES, Cost, Op, OpKind, Rule, Shape, broadcast, numel, rule,
                   rule_for)
from .resample_rules import tf_atrous_madds

__all__ = ["CONV_KINDS", "RULES", "Cost", "Op", "OpKind", "Rule", "Shape", "broadcast", "numel",
           "rule", "rule_for", "tf_atrous_madds"]
