"""Values in a spec: the checker of every row key, exact numbers, and value templates.

A value as written is a literal, `$name` (a parameter reference) or `{by: name, V1: X1, ...}`
(a lookup table). `template()` decodes it once, when the spec loads, into frozen data
(`Ref`, `Lookup` or the literal); `resolve()` binds a template in a scope of parameter values.
Each checker returns the clean value or raises ValueError(reason); every bound on a size
comes from archcalc.limits, and every value quoted in a message is cut (numbers.quote).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping

from ..errors import SpecError, closest
from ..limits import (MAX_CHANNELS, MAX_KERNEL, MAX_OPERANDS, MAX_QUOTED_CHARS, MAX_RANK,
                      MAX_SHAPE_SIZE,
                      MAX_REPEATS, MAX_RESOLUTION, MAX_STRIDE)
from ..numbers import parse_decimal, quote
from ..rounding import PADDINGS
from . import schema
from .yamlio import Located

RATIO = re.compile(r"[0-9]{1,9}/[0-9]{1,9}")   # "88/24": parsed as two integers, never evaluated


# ---- exact numbers ------------------------------------------------------------------------------

def to_fraction(v) -> Fraction:
    """An exact fraction from a YAML/CLI number: 0.75 -> 3/4 (by its decimal text, not binary),
    through the one bounded parser (archcalc.numbers.parse_decimal)."""
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v}")
        return parse_decimal(repr(v), "value", error=ValueError)
    if isinstance(v, (int, Fraction)) and not isinstance(v, bool):
        return parse_decimal(v, "value", error=ValueError)
    raise ValueError(f"expected a number, got {quote(v)}")


def literal(v):
    """A parameter default, choice or lookup key: numbers become exact fractions when not
    integral (floats by their decimal text)."""
    return to_fraction(v) if isinstance(v, float) else v


def parse_value(text: str, like: Any):
    """Parse a --set value by the type of the parameter's default (never evaluated)."""
    if isinstance(like, bool):
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        raise ValueError(f"expected true or false, got {quote(text)}")
    if isinstance(like, int):
        if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
            raise ValueError(f"expected an integer, got {quote(text)}")
        return int(parse_decimal(text, None, error=ValueError))
    if isinstance(like, Fraction):
        return parse_decimal(text, None, ratio=True, error=ValueError)
    return text


# ---- checkers -----------------------------------------------------------------------------------

def _int_in(low: int, high: int, what: str, limit: str) -> Callable:
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"expected a {what}, got {quote(v)}")
        if v < low:
            raise ValueError(f"must be a {what}, got {quote(v)}")
        if v > high:
            raise ValueError(f"{quote(v)} is above the limit {high:,} ({limit})")
        return v
    return check


pos_int = _int_in(1, MAX_CHANNELS, "positive integer", "MAX_CHANNELS")
nonneg_int = _int_in(0, MAX_KERNEL, "non-negative integer", "MAX_KERNEL")


side = _int_in(1, MAX_RESOLUTION, "positive integer", "MAX_RESOLUTION")


def input_size(v):
    """`input.resolution`: a side r (an r x r input) or [H, W] (a non-square input)."""
    if isinstance(v, list):
        if len(v) != 2:
            raise ValueError(f"expected a side such as 224 or [H, W] such as [224, 320], got "
                             f"{quote(v)}")
        return schema.input_size(side(v[0]), side(v[1]))
    return side(v)


def pos_number(v):
    """A positive number, or a ratio written as text such as 88/24 (TF-slim's expansion factors)."""
    if isinstance(v, str) and RATIO.fullmatch(v.strip()):
        num, den = (int(p) for p in v.split("/"))
        if den == 0:
            raise ValueError(f"division by zero in {quote(v)}")
        v = Fraction(num, den)
    if isinstance(v, bool) or not isinstance(v, (int, float, Fraction)):
        raise ValueError(f"expected a positive number (or a ratio such as 88/24), got {quote(v)}")
    value = to_fraction(v)
    if value <= 0:
        raise ValueError(f"must be positive, got {quote(v)}")
    if value > MAX_CHANNELS:
        raise ValueError(f"{quote(v)} is above the limit {MAX_CHANNELS:,} (MAX_CHANNELS)")
    return value if value.denominator != 1 else int(value)


def fraction01(v):
    """A fraction in [0, 1) given as a number or a ratio (0: off)."""
    if v == 0 and not isinstance(v, bool):
        return 0
    value = pos_number(v)
    if value >= 1:
        raise ValueError(f"must be below 1 (a fraction of the channels), got {quote(v)}")
    return value


def boolean(v):
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {quote(v)}")
    return v


def one_of(choices) -> Callable:
    def check(v):
        if not isinstance(v, (str, int, float)) or v not in choices:
            hint = closest(v, choices) if isinstance(v, str) else None
            text = f"expected one of {', '.join(map(str, choices))}, got {quote(v)}"
            raise ValueError(text + (f" (did you mean '{hint}'?)" if hint else ""))
        return v
    return check


def padding(v):
    if isinstance(v, str):
        return one_of(PADDINGS)(v)
    return nonneg_int(v)


def identifier(v):
    if not isinstance(v, str) or not v.isidentifier():
        raise ValueError(f"expected a name (letters, digits, _), got {quote(v)}")
    return v


def reference(v):
    if not isinstance(v, str) or not all(p.isidentifier() or p.isdigit() for p in v.split(".")):
        raise ValueError(f"expected an earlier row's name or layer path such as "
                         f"bottlenecks.5.0.expand, got {quote(v)}")
    return v


shape_size = _int_in(1, MAX_SHAPE_SIZE, "positive integer", "MAX_SHAPE_SIZE")


def shape(v):
    """A fixed tensor shape (batch excluded): a list of at most MAX_RANK positive integers."""
    if not isinstance(v, list) or len(v) > MAX_RANK:
        raise ValueError(f"expected a shape such as [197, 192] (at most {MAX_RANK} sizes, "
                         f"MAX_RANK), got {quote(v)}")
    return tuple(shape_size(d) for d in v)


def references(v):
    """`of`: the earlier tensors an op reads, in order (1 to MAX_OPERANDS names: DenseNet
    concatenates a single tensor, `torch.cat([x], 1)`)."""
    if not isinstance(v, list) or not 1 <= len(v) <= MAX_OPERANDS:
        raise ValueError(f"expected a list of 1 to {MAX_OPERANDS} earlier row names "
                         f"(MAX_OPERANDS), got {quote(v)}")
    return tuple(reference(r) for r in v)


def function(v):
    """`act`'s `fn`: an element-wise function's name (gelu, tanh, ...) or `OP const` (x * 0.5)."""
    if not isinstance(v, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,30}( const)?", v):
        raise ValueError(f"expected a function name such as gelu or 'mul const', got {quote(v)}")
    return v


def axis(v):
    """An axis counted from the end (-1 the last), as imported models' concat and split use."""
    if isinstance(v, bool) or not isinstance(v, int) or not -MAX_RANK <= v <= -1:
        raise ValueError(f"expected an axis from -1 (the last) to -{MAX_RANK}, got {quote(v)}")
    return v


KEY_CHECKS: dict[str, Callable] = {
    "n": _int_in(1, MAX_REPEATS, "positive integer", "MAX_REPEATS"), "c": pos_int,
    "k": _int_in(1, MAX_KERNEL, "positive integer", "MAX_KERNEL"),
    "s": _int_in(1, MAX_STRIDE, "positive integer", "MAX_STRIDE"),
    "groups": pos_int, "t": pos_number, "act": one_of(schema.ACTIVATIONS),
    "project_act": one_of(schema.ACTIVATIONS), "norm": one_of(schema.NORMS), "bias": boolean,
    "padding": padding, "scale": one_of(schema.SCALES), "residual": one_of(schema.RESIDUALS),
    "global": boolean, "divisor": pos_int, "group_first_pw": boolean, "anchors": pos_int,
    "classes": pos_int, "box_size": pos_int, "separable": boolean, "se": fraction01,
    "se_of": one_of(schema.SE_OF), "se_rounding": one_of(schema.SE_ROUNDING),
    "se_act": one_of(schema.ACTIVATIONS), "se_gate": one_of(schema.ACTIVATIONS),
    "like": identifier, "relu": boolean, "from": reference, "name": identifier,
    "written_as": one_of(schema.WRITTEN_AS),
    "dilation": _int_in(1, MAX_KERNEL, "positive integer", "MAX_KERNEL"), "ceil_mode": boolean,
    "mode": one_of(schema.RESAMPLING), "factor": _int_in(1, MAX_STRIDE, "positive integer",
                                                        "MAX_STRIDE"),
    "size": input_size, "to": reference,
    "block": _int_in(1, MAX_STRIDE, "positive integer", "MAX_STRIDE"), "when": boolean,
    "fn": function, "shape": shape, "expects": shape, "of": references, "axis": axis, "stream_group": identifier,
    "axes": _int_in(1, MAX_RANK, "positive integer", "MAX_RANK"), "affine": boolean,
    "index": _int_in(0, MAX_CHANNELS, "non-negative integer", "MAX_CHANNELS"), "parts": pos_int,
}


# ---- templates: $name and lookups, decoded once -------------------------------------------------

@dataclass(frozen=True)
class Ref:
    """`$name`: the value of the parameter `name` in the scope a row is bound in."""
    name: str


@dataclass(frozen=True)
class Lookup:
    """`{by: name, V1: X1, ...}`: the Xi whose Vi equals the parameter's value."""
    by: str
    table: tuple            # ((Vi, Xi), ...), each Vi exact (literal())
    line: int
    by_line: int


def template(value, names, path, line, key):
    """Decode a value as written: `$name` -> Ref, a `{by: ...}` mapping -> Lookup, else the
    value itself. `names` (the parameters in scope) catches unknown references now."""
    if isinstance(value, Located) and "by" in value:
        by_line = value.key_lines["by"]
        name = value["by"]
        if not isinstance(name, str):
            raise SpecError(f"a lookup's 'by' names a parameter, got {quote(name)}", path=path,
                            line=by_line, key=f"{key}.by")
        name = name[1:] if name.startswith("$") else name
        if name not in names:
            raise SpecError(f"lookup by unknown parameter {quote(name)}", path=path, line=by_line,
                            key=f"{key}.by", hint=closest(name, names))
        table = []
        for k, v in value.items():
            if k == "by":
                continue
            try:
                table.append((literal(k), v))
            except ValueError as err:
                raise SpecError(f"a lookup entry: {err}", path=path, line=value.key_lines[k],
                                key=key) from None
        return Lookup(name, tuple(table), value.line, by_line)
    if isinstance(value, str) and value.startswith("$"):
        if value[1:] not in names:
            hint = closest(value[1:], names)
            raise SpecError(f"unknown parameter reference {quote(value)}", path=path, line=line,
                            key=key, hint=("$" + hint) if hint else None)
        return Ref(value[1:])
    return value


def resolve(value, scope: Mapping, path, line, key):
    """Bind a template in `scope` ({parameter: value})."""
    if isinstance(value, Ref):
        return scope[value.name]
    if isinstance(value, Lookup):
        current = scope[value.by]
        for entry, result in value.table:
            if entry == current:
                return result
        raise SpecError(f"the lookup has no entry for {value.by}={short(current)} (entries: "
                        f"{', '.join(short(k) for k, _ in value.table[:20])}"
                        f"{', ...' if len(value.table) > 20 else ''})",
                        path=path, line=value.line, key=key)
    return value


def short(v) -> str:
    """str(v) (as the lookup's message always showed it), cut to MAX_QUOTED_CHARS."""
    text = str(v) if isinstance(v, (str, bool, Fraction)) or isinstance(v, int) and \
        v.bit_length() < 256 else quote(v)
    return text if len(text) <= MAX_QUOTED_CHARS else text[:MAX_QUOTED_CHARS] + "..."
