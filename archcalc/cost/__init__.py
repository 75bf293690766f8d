"""Costs of an op-graph: per-op rules summed into a CostTable under a named convention."""
from .analyze import CostTable, LayerCost, analyze
from .convention import CONVENTIONS, DTYPE_BYTES, Convention, flops_from_madds

__all__ = ["CostTable", "LayerCost", "analyze", "CONVENTIONS", "DTYPE_BYTES", "Convention",
           "flops_from_madds"]
