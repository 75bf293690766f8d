"""Several specs side by side (the MobileNetV2 paper's Tables 3 and 4 comparisons):
`compare_specs` costs each target into an `Entry`; archcalc.report.compare renders them.
One spec under several conventions (`archcalc compare SPEC --conventions paper,fvcore,thop`):
`compare_conventions` costs it under each, with its MAdds by part (conv, BN, pooling, ...:
archcalc.cost.peers.breakdown); archcalc.report.conventions renders that.

A target is `SPEC` or `SPEC@WIDTH[,RESOLUTION]` (e.g. specs/mobilenet_v2.yaml@1.4,224), each
optionally followed by its own parameter bindings `+NAME=VALUE` (e.g.
deeplabv3_mobilenet_v2@1,513+output_stride=8+multiscale=true: MobileNetV2 Table 7's rows).
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
    sets: tuple = ()            # ((name, value text), ...) for this target only

    @classmethod
    def parse(cls, text: str) -> "Target":
        text, *binds = text.split("+")
        sets = []
        for bind in binds:
            name, eq, value = bind.partition("=")
            if not eq or not name.strip():
                raise OptionError(f"expected SPEC[@WIDTH[,RESOLUTION]][+NAME=VALUE...], got "
                                  f"{bind!r} after '+'")
            sets.append((name.strip(), value.strip()))
        path, sep, point = text.partition("@")
        if not sep:
            return cls(path, sets=tuple(sets))
        width, _, resolution = point.partition(",")
        if not point or "," in resolution:
            raise OptionError(f"expected SPEC@WIDTH[,RESOLUTION], got {text!r}")
        return cls(path, width.strip() or None, resolution.strip() or None, tuple(sets))


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
        mine.update(target.sets)      # unknown names: load's own error (names the spec)
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


@dataclass(frozen=True)
class ConventionEntry:
    label: str                  # the spec's label, as compare_specs labels it
    table: Any                  # CostTable under this convention
    parts: dict                 # MAdds by part (conv, linear, BN, activation, pooling, ...)


def parse_conventions(text: str) -> list:
    """"paper,fvcore,thop" -> [Convention, ...]: at least two, each known, none twice."""
    names = [n.strip() for n in text.split(",")]
    if len(names) < 2 or not all(names):
        raise OptionError(f"--conventions expects two or more names separated by commas, "
                          f"e.g. paper,torchvision,fvcore, got {text!r}")
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise OptionError(f"--conventions names {twice!r} twice")
    return [convention_named(n) for n in names]


def compare_conventions(target_text: str, conventions: list, sets: Mapping[str, str] | None = None,
                        dtype: str = "fp32") -> list[ConventionEntry]:
    """One target (SPEC[@WIDTH[,RESOLUTION]]) costed under each convention (each binds its own
    num_classes unless --set does), with its MAdds by part: the first is the reference the
    renderer subtracts."""
    from .cost.peers import breakdown
    target = Target.parse(target_text)
    entries = []
    for conv in conventions:
        spec = load(target.path, dict(sets or {}), conv)
        graph = compile_graph(spec, target.width, target.resolution)
        entry = cost_entry(target, spec, conv, dtype, sets)
        entries.append(ConventionEntry(entry.label, entry.table, breakdown(graph, conv)))
    return entries


# The name before issue 11, kept while the dashboard (helper B's branch) still imports it;
# the lead removes it after the merge.
compare = compare_specs
