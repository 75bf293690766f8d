"""Several specs side by side (the MobileNetV2 paper's Tables 3 and 4 comparisons):
`compare_specs` costs each target into an `Entry`; archcalc.report.compare renders them.

A target is `SPEC` or `SPEC@WIDTH[,RESOLUTION]` (e.g. specs/mobilenet_v2.yaml@1.4,224).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .api import convention_named, load
from .cost import DTYPE_BYTES, analyze
from .cost.memory import memory_by_resolution
from .errors import OptionError
from .numbers import decimal_text
from .graph import compile_graph


@dataclass(frozen=True)
class Target:
    path: str
    width: str | None = None
    resolution: str | None = None

    @classmethod
    def parse(cls, text: str) -> "Target":
        path, sep, point = text.partition("@")
        if not sep:
            return cls(path)
        width, _, resolution = point.partition(",")
        if not point or "," in resolution:
            raise OptionError(f"expected SPEC@WIDTH[,RESOLUTION], got {text!r}")
        return cls(path, width.strip() or None, resolution.strip() or None)


@dataclass(frozen=True)
class Entry:
    target: Target
    label: str
    table: Any                  # CostTable at the target's point
    memory: dict                # (h, w) -> (channels, bytes, tensor name)
    published: Mapping | None   # published top-1 / latency for this point, with source


def _sets_for(spec_params: set, sets: Mapping[str, str]) -> dict:
    return {k: v for k, v in sets.items() if k in spec_params}


def published_point(spec_path: str, table) -> dict | None:
    """Published top-1 and latency at the table's point (archcalc.published.published_point)."""
    from .published import published_point as lookup
    return lookup(spec_path, table.spec, table.width, table.resolution)


def cost_entry(target: Target, spec, convention="paper", dtype: str = "fp32",
               sets: Mapping[str, str] | None = None, published=None) -> Entry:
    """One column of a comparison: `spec` (its parameters bound) costed at the target's
    point and labelled as `archcalc compare` labels it (name, width, resolution, the `sets`
    it was given except num_classes), with `published(path, table)`'s figures if given."""
    graph = compile_graph(spec, target.width, target.resolution)
    table = analyze(graph, convention, dtype)
    label = spec.name + ("" if table.width == 1 else f" {decimal_text(table.width)}x") + \
        ("" if table.resolution == spec.resolution else f" @{table.resolution}") + \
        "".join(f" {k}={v}" for k, v in (sets or {}).items() if k != "num_classes")
    pub = published(target.path, table) if published else None
    return Entry(target, label, table, memory_by_resolution(graph, DTYPE_BYTES[dtype]), pub)


def model_entry(target: Target, convention, dtype: str, sets: Mapping[str, str],
                models: Mapping | None) -> Entry:
    """One column for a model reference (archcalc.imported.refs): its graph at the target's
    resolution, costed as a spec's."""
    from .imported.refs import model_graph
    if target.width not in (None, "1"):
        raise OptionError(f"{target.path}: an imported model has no width multiplier")
    graph = model_graph(target.path, sets, resolution=target.resolution, **dict(models or {}))
    table = analyze(graph, convention, dtype)
    label = graph.spec.name + ("" if target.resolution is None else f" @{table.resolution}") + \
        "".join(f" {k}={v}" for k, v in sets.items())
    return Entry(target, label, table, memory_by_resolution(graph, DTYPE_BYTES[dtype]), None)


def compare_specs(targets: list[str], sets: Mapping[str, str] | None = None, convention="paper",
            dtype: str = "fp32", published=published_point, models: Mapping | None = None) -> list[Entry]:
    """Cost every target. A --set applies to the specs that declare that parameter (and to
    every model reference, as keyword arguments); naming a parameter no spec declares is an
    error. `models`: options of model references (input shape, allow_unknown)."""
    from .imported.refs import is_model_ref
    conv = convention_named(convention)
    sets = dict(sets or {})
    used: set = set()
    entries = []
    for text in targets:
        target = Target.parse(text)
        if is_model_ref(target.path):
            used |= set(sets)
            entries.append(model_entry(target, conv, dtype, sets, models))
            continue
        declared = {p.name for p in load(target.path, None, conv).params}
        mine = _sets_for(declared, sets)
        used |= set(mine)
        spec = load(target.path, mine, conv)
        entries.append(cost_entry(target, spec, conv, dtype, mine, published))
    unused = set(sets) - used
    if unused:
        from .report.provenance import spec_shown
        name = sorted(unused)[0]
        files = ", ".join(dict.fromkeys(spec_shown(e.table.spec) for e in entries))
        declared = sorted({p.name for e in entries for p in e.table.spec.params})
        raise OptionError(f"--set {name}: none of the compared specs declares this parameter "
                          f"({files}; they declare: {', '.join(declared) or 'nothing'})")
    return entries


# The name before issue 11, kept while the dashboard (helper B's branch) still imports it;
# the lead removes it after the merge.
compare = compare_specs
