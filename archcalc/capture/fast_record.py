"""Per-op record pieces of the dispatch capture (capture/dispatch.py), computed once per ATen
overload instead of once per call.

A dispatch capture records every ATen op a forward pass runs (ShuffleNetV2: about 300, each
with its operands and arguments), so what is per call matters: `op_spec` reads an overload's
name, schema slots (argument names with their defaults) and view annotation once; `bound`
then pairs a call's arguments with those slots exactly as `capture.torch.bind` does (schema
order, defaults filled in, missing ones None). tests/test_capture_fast_record.py checks both
against `bind` / `is_view` on every op of the reference models.
"""
from __future__ import annotations

from .records import TensorInfo
from .torch import is_view

def op_spec(func) -> tuple:
    """(node base name, op text, slots, is a view) of an ATen overload; slots are (argument
    name, default or None) in schema order, or None for a target without a schema."""
    base = func._opname if hasattr(func, "_opname") else str(func)
    schema = getattr(func, "_schema", None)
    slots = None if schema is None else tuple(
        (a.name, a.default_value if a.has_default_value() else None) for a in schema.arguments)
    return base, str(func), slots, is_view(func)


def bound(slots: tuple, args: tuple, kwargs: dict):
    """[(argument name, value)] of one call, as capture.torch.bind gives it."""
    n = len(args)
    if not kwargs:
        return [(name, args[i] if i < n else default)
                for i, (name, default) in enumerate(slots)]
    return [(name, args[i] if i < n else kwargs[name] if name in kwargs else default)
            for i, (name, default) in enumerate(slots)]


def with_role(info: TensorInfo, role: str) -> TensorInfo:
    """`dataclasses.replace(info, role=role)`, without replace's field introspection."""
    if info.role == role:
        return info
    return TensorInfo(info.name, info.shape, info.dtype, info.kind, info.param, role)
