"""Spec parameters (`params:`): declarations with defaults, choices and bounds, and binding
them to values (defaults, then a convention's, then --set overrides)."""
from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any, Mapping

from ..errors import SpecError, closest
from ..numbers import quote
from . import schema
from .values import literal, parse_value, short
from .yamlio import Located

PARAM_KEYS = ("default", "choices", "min", "max")


def check_param_value(decl: schema.ParamDecl, value):
    if type(value) is not type(decl.default) and not (
            isinstance(decl.default, Fraction) and isinstance(value, int) and not isinstance(value, bool)):
        raise ValueError(f"expected a {decl.type_name}, got {quote(value)}")
    if decl.choices is not None and value not in decl.choices:
        raise ValueError(f"{quote(value)} is not one of the allowed values "
                         f"{', '.join(short(c) for c in decl.choices[:20])}"
                         f"{', ...' if len(decl.choices) > 20 else ''}")
    if decl.minimum is not None and value < decl.minimum:
        raise ValueError(f"{quote(value)} is below the minimum {decl.minimum}")
    if decl.maximum is not None and value > decl.maximum:
        raise ValueError(f"{quote(value)} is above the maximum {decl.maximum}")
    return value


def parse_params(raw, path) -> list[schema.ParamDecl]:
    if raw is None:
        return []
    if not isinstance(raw, Located):
        raise SpecError("expected a mapping of parameter names", path=path, key="params")
    decls = []
    for name, body in raw.items():
        line = raw.key_lines[name]
        key = f"params.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            raise SpecError("parameter names must be identifiers", path=path, line=line, key=key)
        if not isinstance(body, Located):
            body = Located({"default": body})
            body.line, body.key_lines = line, {"default": line}
        for k in body:
            if k not in PARAM_KEYS:
                raise SpecError("unknown key", path=path, line=body.key_lines[k], key=f"{key}.{k}",
                                hint=closest(k, PARAM_KEYS))
        if "default" not in body:
            raise SpecError("a parameter needs a default", path=path, line=line, key=key)
        try:
            default = literal(body["default"])
        except ValueError as err:
            raise SpecError(str(err), path=path, line=body.key_lines["default"],
                            key=f"{key}.default") from None
        if not isinstance(default, (bool, int, Fraction, str)):
            raise SpecError(f"default must be a number, a word or true/false, got {quote(default)}",
                            path=path, line=body.key_lines["default"], key=f"{key}.default")
        choices = body.get("choices")
        if choices is not None:
            if not isinstance(choices, list) or not choices:
                raise SpecError("expected a non-empty list", path=path, line=body.key_lines["choices"],
                                key=f"{key}.choices")
            try:
                choices = tuple(literal(c) for c in choices)
            except ValueError as err:
                raise SpecError(str(err), path=path, line=body.key_lines["choices"],
                                key=f"{key}.choices") from None
        bounds = {}
        for bound in ("min", "max"):
            if bound in body:
                value = body[bound]
                numeric = isinstance(default, (int, Fraction)) and not isinstance(default, bool)
                if not numeric or isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise SpecError(f"'{bound}' needs a number and a numeric default, got "
                                    f"{quote(value)}", path=path, line=body.key_lines[bound],
                                    key=f"{key}.{bound}")
                try:
                    bounds[bound] = literal(value)
                except ValueError as err:
                    raise SpecError(str(err), path=path, line=body.key_lines[bound],
                                    key=f"{key}.{bound}") from None
        decl = schema.ParamDecl(name=name, default=default, value=default, choices=choices,
                                minimum=bounds.get("min"), maximum=bounds.get("max"), line=line)
        try:
            check_param_value(decl, default)
        except ValueError as err:
            raise SpecError(f"default: {err}", path=path, line=line, key=key) from None
        decls.append(decl)
    return decls


def bind(decls, overrides: Mapping[str, Any], path, soft: Mapping[str, Any] = ()
         ) -> list[schema.ParamDecl]:
    """Bind parameters: `overrides` (--set) must name declared parameters; `soft` values
    (a convention's num_classes) apply only where declared and not overridden."""
    by_name = {d.name: d for d in decls}
    overrides = {**{k: v for k, v in dict(soft).items() if k in by_name}, **overrides}
    for name in overrides:
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise SpecError(f"unknown parameter (this spec declares: {known})", path=path,
                            key=f"--set {name}", hint=closest(name, by_name))
    bound = []
    for decl in decls:
        value = decl.default
        if decl.name in overrides:
            value = overrides[decl.name]
            try:
                if isinstance(value, str) and not isinstance(decl.default, str):
                    value = parse_value(value, decl.default)
                value = check_param_value(decl, literal(value))
            except ValueError as err:
                raise SpecError(str(err), path=path, line=decl.line, key=f"--set {decl.name}") from None
        bound.append(dataclasses.replace(decl, value=value))
    return bound
