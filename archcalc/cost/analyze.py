"""ArchGraph -> CostTable: per-op params, MAdds and memory under a convention, plus totals.

A table holds exact Python numbers when the graph was compiled at a point, or sympy
expressions when it is symbolic; `CostTable.at(width, resolution)` evaluates the latter.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from fractions import Fraction
from typing import Any

from ..errors import OptionError
from ..numbers import plain
from ..ops import rule_for, tf_atrous_madds
from .convention import DTYPE_BYTES, Convention, convention_named, flops_from_madds
from .memory import live_sets

FREE_KINDS = ("view", "copy", "param")     # an imported model's plumbing (archcalc.ops.tensor_rules)
METRICS = ("params", "bn_params", "madds", "elementwise_ops", "memory_bytes", "live_bytes",
           "live_bytes_streamed")


@dataclass(frozen=True)
class LayerCost:
    """One primitive op's row: what it costs and the live activation set while it runs."""
    name: str
    layer: str
    block: str
    op: str
    label: str
    output_shape: tuple
    params: Any          # weights + biases (+ BN gamma/beta when the convention counts them)
    bn_params: Any       # BN gamma/beta, always reported
    madds: Any
    elementwise_ops: Any
    memory_bytes: Any    # bytes of the tensor this op materialises (0 for in-place BN/act)
    live_bytes: Any      # naive schedule
    live_bytes_streamed: Any   # MobileNetV2 Sec. 5.1 schedule


@dataclass(frozen=True)
class CostTable:
    spec: Any
    width: Any
    resolution: Any
    convention: Convention
    dtype: str
    symbolic: bool
    rows: tuple
    totals: dict
    guards: tuple = ()     # symbolic: where any holds, the closed forms don't (compile instead)
    passes: tuple = ()     # multi-scale inference (cost/passes.py): MAdds totals are their sum

    def valid_at(self, width) -> bool:
        """Whether the closed forms hold at this width (no structural guard fires)."""
        from ..graph.point import parse_width
        return not self.row_program().guard_fires(parse_width(width))

    def at(self, width, resolution=None) -> "CostTable":
        """Evaluate a symbolic table at a point, exactly (archcalc.cost.rows: the rows compiled
        once into exact Python over ints and Fractions, then Python ints). Where a structural
        guard fires the closed forms do not hold, and the point is compiled instead."""
        if not self.symbolic:
            raise OptionError("this table is already at a point")
        from ..graph.point import parse_resolution, parse_width
        a = parse_width(width)
        res = parse_resolution(self.spec.resolution if resolution is None else resolution,
                               self.spec.resolution)
        return self.at_point(a, res)

    def at_point(self, a: Fraction, res: int) -> "CostTable":
        """`at` of an already parsed point: an exact positive width and an int side."""
        program = self.row_program()
        if program.guard_fires(a) or getattr(self.spec, "multiscale", None) is not None:
            from ..graph.compile import compile_graph
            return analyze(compile_graph(self.spec, a, res), self.convention, self.dtype)
        rows, columns = program.rows(a, res, columns=True)
        return replace(self, width=a, resolution=res, symbolic=False, rows=rows,
                       totals=column_totals(columns), guards=())   # as a compile there

    def row_program(self):
        """This symbolic table's rows compiled for exact evaluation at points
        (archcalc.cost.rows.RowProgram; built once per table and kept on it)."""
        program = self.__dict__.get("_row_program")
        if program is None:
            from .rows import RowProgram
            program = RowProgram(self)
            object.__setattr__(self, "_row_program", program)   # a cache, not a field
        return program

    def __getstate__(self):        # pickled without the compiled code (functions do not pickle)
        return {k: v for k, v in self.__dict__.items() if k != "_row_program"}

    def closed_forms(self) -> dict:
        """Totals and per-layer costs as text (sympy's notation) for a symbolic table."""
        if not self.symbolic:
            raise OptionError("closed forms need a symbolic table (closed_form / --symbolic)")
        return {
            "symbols": {"alpha": "width multiplier", "r": "input resolution (r x r)"},
            "invalid_where": [str(g) for g in self.guards],
            "totals": {k: str(v) for k, v in self.totals.items()
                       if k != "elementwise_ops" or self.convention.elementwise},
            "layers": [{"name": g["name"], "output_shape": [str(v) for v in g["output_shape"]],
                        "params": str(g["params"]), "madds": str(g["madds"]),
                        "memory_bytes": str(g["memory_bytes"])} for g in self.layers()],
        }

    # -- queries ------------------------------------------------------------------------------
    def total(self, metric: str):
        return self.totals[metric]

    def by_block(self) -> dict:
        """Totals of params, MAdds and memory per top-level spec section."""
        out: dict = {}
        for row in self.rows:
            acc = out.setdefault(row.block, {"params": 0, "bn_params": 0, "madds": 0, "memory_bytes": 0})
            for m in acc:
                acc[m] += getattr(row, m)
        return out

    def layers(self) -> list[dict]:
        """Rows grouped by layer: a conv with its BN and activation is one layer. Its costs are
        the sums over its ops; at a point, its live bytes (naive, streamed) are the largest
        live set while any of its ops runs (a symbolic table keeps its first op's)."""
        grouped: dict = {}
        for row in self.rows:
            g = grouped.get(row.layer)
            if g is None:
                grouped[row.layer] = g = {"name": row.layer, "block": row.block, "ops": [],
                                          "params": 0, "bn_params": 0, "madds": 0,
                                          "elementwise_ops": 0, "memory_bytes": 0,
                                          "live_bytes": row.live_bytes,
                                          "live_bytes_streamed": row.live_bytes_streamed}
            if not g["ops"] or (g["ops"][-1] != row.label     # a split's halves: one label
                                and row.op not in FREE_KINDS):  # views inside a layer: unnamed
                g["ops"].append(row.label)
            g["output_shape"] = row.output_shape
            for m in ("params", "bn_params", "madds", "elementwise_ops", "memory_bytes"):
                g[m] += getattr(row, m)
            if not self.symbolic:
                g["live_bytes"] = max(g["live_bytes"], row.live_bytes)
                g["live_bytes_streamed"] = max(g["live_bytes_streamed"], row.live_bytes_streamed)
        return list(grouped.values())

    def by_stage(self, metrics=("params", "madds", "memory_bytes")) -> dict:
        """Layers grouped by spec row ("section.index", repeats included: the first two parts
        of a layer's path), in order: {stage: {metric: sum}}. The input is not a stage."""
        out: dict = {}
        for layer in self.layers():
            stage = ".".join(layer["name"].split(".")[:2])
            if stage == "input":
                continue
            acc = out.setdefault(stage, dict.fromkeys(metrics, 0))
            for m in metrics:
                acc[m] += layer[m]
        return out

    def to_dict(self) -> dict:
        """The JSON contract of `archcalc report --format json` (exact integers)."""
        totals = {k: v for k, v in self.totals.items()
                  if k != "elementwise_ops" or self.convention.elementwise}
        layer_keys = ["name", "block", "op", "output_shape", "params", "bn_params", "madds",
                      "memory_bytes", "live_bytes", "live_bytes_streamed"]
        if self.convention.elementwise:
            layer_keys.append("elementwise_ops")
        out = {
            "spec": self.spec.name,
            "spec_path": self.spec.path,
            "width": plain(self.width),
            "resolution": plain(self.resolution),
            "convention": self.convention.name,
            "convention_description": self.convention.describe(),
            "params": {p.name: plain(p.value) for p in self.spec.params},
            "dtype": self.dtype,
            "totals": {k: plain(v) for k, v in totals.items()},
            **({"passes": [{"scale": plain(p.scale), "flip": p.flip,
                            "resolution": plain(p.resolution), "madds": plain(p.madds)}
                           for p in self.passes]} if self.passes else {}),
            "layers": [{k: (list(map(plain, row.output_shape)) if k == "output_shape"
                            else plain(getattr(row, k))) for k in layer_keys}
                       for row in self.rows],
        }
        if getattr(self.spec, "imported", False):    # a model (archcalc.imported)
            out["model"] = {"source": self.spec.source,
                            "input_shape": [list(s) for s in self.spec.input_shape]}
            out["warnings"] = list(self.spec.warnings)
        return out

    def to_dataframe(self):
        """Per-op rows as a pandas DataFrame (pandas imported only here)."""
        import pandas as pd
        records = []
        for row in self.rows:
            rec = {f.name: getattr(row, f.name) for f in fields(row)}
            shape = rec.pop("output_shape")
            c, h, w = shape if len(shape) == 3 else (shape, None, None)   # imported: any rank
            rec.update(out_c=c, out_h=h, out_w=w)
            records.append(rec)
        return pd.DataFrame.from_records(records)


_plain = plain     # archcalc.report.compare imports this name; it is archcalc.numbers.plain


def _max(values, symbolic: bool):
    if not symbolic:
        return max(values)
    import sympy
    unique = list(dict.fromkeys(values))
    return sympy.Max(*unique, evaluate=False) if len(unique) > 1 else unique[0]


def _sum(values: list, symbolic: bool = True):
    """sum(values); sympy terms are added in one Add (linear, where a running `+` re-sorts the
    growing sum at every step: quadratic in the number of ops). Rows at a point
    (`symbolic` False) hold exact numbers only."""
    if symbolic and any(not isinstance(v, (int, Fraction)) for v in values):
        import sympy
        return sympy.Add(*values)
    return sum(values)


def totals(rows, symbolic: bool | None = None) -> dict:
    """The totals of a table's rows: sums of every count, FLOPs from MAdds, and the peak of
    each schedule's live sets (the one place totals are computed; `symbolic`: the rows hold
    sympy expressions, decided from the rows when None)."""
    if symbolic is None:
        symbolic = any(not isinstance(v, (int, Fraction)) for r in rows
                       for v in (r.live_bytes, r.live_bytes_streamed))
    return column_totals({m: [getattr(r, m) for r in rows] for m in METRICS}, symbolic)


def column_totals(columns: dict, symbolic: bool = False) -> dict:
    """`totals` of the rows' columns ({row metric (METRICS): its values, in row order})."""
    madds = _sum(columns["madds"], symbolic)
    return {
        "params": _sum(columns["params"], symbolic),
        "bn_params": _sum(columns["bn_params"], symbolic),
        "madds": madds,
        "flops": flops_from_madds(madds),
        "elementwise_ops": _sum(columns["elementwise_ops"], symbolic),
        "activation_bytes": _sum(columns["memory_bytes"], symbolic),
        "peak_memory_bytes": _max(columns["live_bytes"], symbolic),
        "peak_memory_bytes_streamed": _max(columns["live_bytes_streamed"], symbolic),
    }


def analyze(graph, convention: Convention | str = "paper", dtype: str = "fp32") -> CostTable:
    """Cost every op of `graph` with the one rule of its kind, under `convention`."""
    convention = convention_named(convention)
    if dtype not in DTYPE_BYTES:
        raise OptionError(f"unknown dtype {dtype!r} (known: {', '.join(DTYPE_BYTES)})")
    memory = live_sets(graph, DTYPE_BYTES[dtype])
    rows = []
    for name in graph.names:
        op = graph.op(name)
        out = graph.shape(name)
        inputs = [graph.shape(u) for u in graph.inputs(name)]
        cost = rule_for(op).cost(op, inputs, out)
        if op.reused:        # an imported model's parameters read twice count once
            less = dict.fromkeys(("weights", "bias", "bn_params"), 0)
            for category, count in op.reused:
                less[category] += count
            cost = cost._replace(weights=cost.weights - less["weights"],
                                 bias=cost.bias - less["bias"],
                                 bn_params=cost.bn_params - less["bn_params"])
        params = cost.weights + (cost.bias if convention.bias else 0) + \
            (cost.bn_params if convention.bn_params else 0)
        if convention.atrous == "tf":
            cost = cost._replace(madds=tf_atrous_madds(op, cost, out))
        materialised, live, live_streamed = memory[name]
        rows.append(LayerCost(name=name, layer=op.layer, block=op.block, op=op.kind.value,
                              label=op.label, output_shape=tuple(out), params=params,
                              bn_params=cost.bn_params,
                              madds=convention.madds(op, inputs, out, cost),
                              elementwise_ops=cost.elementwise, memory_bytes=materialised,
                              live_bytes=live, live_bytes_streamed=live_streamed))
    from .passes import inference_passes
    passes = inference_passes(graph, convention, dtype)
    sums = totals(rows, graph.symbolic)
    if passes:      # rows: the pass at the point's own size; MAdds and FLOPs: all passes
        sums["madds"] = sum(p.madds for p in passes)
        sums["flops"] = flops_from_madds(sums["madds"])
    elif graph.symbolic and getattr(graph.spec, "multiscale", None) is not None:
        from .passes import symbolic_madds
        sums["madds"] = symbolic_madds(graph.spec.multiscale, sums["madds"])
        sums["flops"] = flops_from_madds(sums["madds"])
    return CostTable(spec=graph.spec, width=graph.width, resolution=graph.resolution,
                     convention=convention, dtype=dtype, symbolic=graph.symbolic,
                     rows=tuple(rows), totals=sums, guards=tuple(graph.guards), passes=passes)
