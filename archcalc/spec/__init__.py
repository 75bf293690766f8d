"""Spec language: YAML (safe-loaded) -> validated, frozen dataclasses."""
from .load import load_spec, parse_spec, parse_value
from .schema import ROW_TYPES, NetworkSpec, ParamDecl, WidthRule

__all__ = ["load_spec", "parse_spec", "parse_value", "NetworkSpec", "ParamDecl", "WidthRule",
           "ROW_TYPES"]
