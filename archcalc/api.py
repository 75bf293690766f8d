"""The Python API, mirroring the CLI: load a spec, compile it, cost it at a point or symbolically.

    >>> import archcalc
    >>> table = archcalc.evaluate("specs/mobilenet_v2.yaml", width=0.75, resolution=160)
    >>> table.total("madds")
    >>> table.to_dataframe()          # one row per primitive op
    >>> forms = archcalc.closed_form("specs/mobilenet_v2.yaml")
    >>> forms.total("madds")          # sympy expression in alpha and r
    >>> forms.at(0.75, 160).total("madds")
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from .cost import CONVENTIONS, Convention, CostTable, analyze
from .errors import OptionError
from .graph import compile_graph
from .spec import NetworkSpec, load_spec


def convention_named(name: str | Convention) -> Convention:
    if isinstance(name, Convention):
        return name
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise OptionError(f"unknown convention {name!r} (known: {', '.join(CONVENTIONS)})") from None


def load(spec: str | os.PathLike | NetworkSpec, sets: Mapping[str, Any] | None = None,
         convention: str | Convention = "paper") -> NetworkSpec:
    """A validated spec with its parameters bound: the convention's (e.g. num_classes=1000
    for torchvision), then `sets` (the CLI's --set), which win."""
    if isinstance(spec, NetworkSpec):
        if sets:
            raise OptionError("pass a spec path to apply --set overrides")
        return spec
    return load_spec(spec, sets, convention_named(convention).param_defaults())


def evaluate(spec, width=None, resolution=None, *, convention: str | Convention = "paper",
             dtype: str = "fp32", sets: Mapping[str, Any] | None = None) -> CostTable:
    """Exact per-op costs of `spec` at (width, resolution)."""
    conv = convention_named(convention)
    return analyze(compile_graph(load(spec, sets, conv), width, resolution), conv, dtype)


def closed_form(spec, *, convention: str | Convention = "paper", dtype: str = "fp32",
                sets: Mapping[str, Any] | None = None) -> CostTable:
    """Per-op costs as sympy expressions in alpha (width) and r (resolution)."""
    conv = convention_named(convention)
    return analyze(compile_graph(load(spec, sets, conv), symbolic=True), conv, dtype)
