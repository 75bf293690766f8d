"""What archcalc's counts predict for a bench run: per op, FLOPs and bytes moved, and a
roofline time = max(FLOPs / peak, bytes / bandwidth) from the measured machine
(micro.py), joined with the profiled times (layer_profile.py), per op, per layer and per op
kind.

FLOPs are archcalc.cost.flops_from_madds(MAdds) (2 x MAdds) + element-wise ops (BN,
activations, adds, pooling); bytes are inputs + output activations for the batch + the
weights once, at the run's dtype. Layers are CostTable.layers(): a report's layers, in its
order, with their op labels.
"""
from __future__ import annotations

from ..cost import analyze, flops_from_madds
from ..ops import numel
from .convention import ALL_PARAMS_ELEMENTWISE


def counted(graph):
    """archcalc's CostTable of `graph` under what the torch model holds, with element-wise ops."""
    return analyze(graph, ALL_PARAMS_ELEMENTWISE)


def op_costs(graph, batch: int, bytes_per_elem: int) -> list[dict]:
    """Per op (graph order): FLOPs and bytes moved for the batch (see table_op_costs)."""
    return table_op_costs(counted(graph), graph, batch, bytes_per_elem)


def table_op_costs(table, graph, batch: int, bytes_per_elem: int) -> list[dict]:
    """Per op of `table` (graph order, the input left out): FLOPs (2 x MAdds + element-wise
    ops) and bytes moved (inputs + output activations for the batch + the weights once), from
    archcalc's counts. BN reads 4 values per channel at inference (gamma, beta, running mean
    and variance)."""
    ops = []
    for row in table.rows:
        if row.op == "input":
            continue
        ins = sum(numel(graph.shape(u)) for u in graph.inputs(row.name))
        out = numel(row.output_shape)
        weights = row.params + row.bn_params   # BN: gamma, beta (in params) + running stats
        ops.append({"name": row.name, "layer": row.layer, "block": row.block, "op": row.op,
                    "label": row.label, "output_shape": list(row.output_shape),
                    "params": row.params, "madds": row.madds * batch,
                    "flops": (flops_from_madds(row.madds) + row.elementwise_ops) * batch,
                    "bytes": ((ins + out) * batch + weights) * bytes_per_elem})
    return ops


def predict_ops(ops: list[dict], peak: dict, bandwidth: dict) -> None:
    """Add each op's roofline terms (compute_s, memory_s), prediction, bound and intensity."""
    p, bw = peak["gflops"] * 1e9, bandwidth["gbs"] * 1e9
    for o in ops:
        o["compute_s"] = o["flops"] / p
        o["memory_s"] = o["bytes"] / bw
        o["predicted_s"] = max(o["compute_s"], o["memory_s"])
        o["bound"] = "compute" if o["compute_s"] >= o["memory_s"] else "memory"
        o["intensity"] = o["flops"] / o["bytes"] if o["bytes"] else None


def layer_rows(ops: list[dict], layers: list[dict], *, predicted: bool,
               measured: bool) -> list[dict]:
    """One row per layer of `layers` (CostTable.layers()) that has ops: its ops' counts,
    predictions and measured times summed; its bound is its slowest predicted op's."""
    members: dict[str, list[dict]] = {}
    for o in ops:
        members.setdefault(o["layer"], []).append(o)
    rows = []
    for layer in layers:
        group = members.get(layer["name"])
        if not group:                   # the input
            continue
        g = {"name": layer["name"], "block": layer["block"], "ops": list(layer["ops"]),
             "kinds": [o["op"] for o in group], "output_shape": list(layer["output_shape"]),
             "madds": 0, "flops": 0, "bytes": 0}
        if predicted:
            g.update(predicted_s=0.0, compute_s=0.0, memory_s=0.0)
        if measured:
            g["measured_s"] = 0.0
        dominant = (-1.0, "")
        for o in group:
            for k in ("madds", "flops", "bytes"):
                g[k] += o[k]
            if predicted:
                for k in ("predicted_s", "compute_s", "memory_s"):
                    g[k] += o[k]
                if o["predicted_s"] > dominant[0]:
                    dominant = (o["predicted_s"], o["bound"])
            if measured:
                g["measured_s"] += o.get("measured_s") or 0.0
        if predicted:
            g["bound"] = dominant[1]
            g["intensity"] = g["flops"] / g["bytes"] if g["bytes"] else None
        if predicted and measured and g["predicted_s"] > 0:
            g["measured_over_predicted"] = g["measured_s"] / g["predicted_s"]
        rows.append(g)
    return rows


def summary(ops: list[dict], median: float, peak: dict, bandwidth: dict, overhead: dict,
            total_flops: int) -> dict:
    """The whole model's roofline prediction against the measured median."""
    predicted = sum(o["predicted_s"] for o in ops)
    with_overhead = predicted + len(ops) * overhead["seconds"]
    return {
        "peak_gflops": peak["gflops"], "bandwidth_gbs": bandwidth["gbs"],
        "ridge_flop_per_byte": peak["gflops"] / bandwidth["gbs"],
        "overhead_s": overhead["seconds"],
        "predicted_s": predicted,
        "compute_bound_s": sum(o["predicted_s"] for o in ops if o["bound"] == "compute"),
        "memory_bound_s": sum(o["predicted_s"] for o in ops if o["bound"] == "memory"),
        "predicted_with_overhead_s": with_overhead,
        "measured_s": median,
        "measured_over_predicted": median / predicted if predicted else None,
        "measured_over_predicted_with_overhead": median / with_overhead if with_overhead else None,
        "fraction_of_peak": (total_flops / median) / (peak["gflops"] * 1e9),
    }


def by_kind(ops: list[dict]) -> dict[str, dict]:
    """Ops, MAdds, measured and predicted seconds summed per op kind."""
    kinds: dict[str, dict] = {}
    for o in ops:
        k = kinds.setdefault(o["op"], {"ops": 0, "madds": 0, "measured_s": 0.0,
                                       "predicted_s": 0.0})
        k["ops"] += 1
        k["madds"] += o["madds"]
        k["measured_s"] += o.get("measured_s") or 0.0
        k["predicted_s"] += o.get("predicted_s") or 0.0
    return kinds


def roofline(ops: list[dict], layers: list[dict], median: float, machine_peak: tuple | None,
             measured: dict | None, profile_iters: int, total_flops: int) -> dict:
    """Per-op and per-layer roofline predictions, joined with the profiled times:
    {"ops", "layers"[, "roofline"][, "profile", "by_kind"]}. `machine_peak` is micro.py's
    (peak, bandwidth, overhead), or None when not measured; `measured` the profiled seconds
    per op name, or None."""
    out: dict = {}
    if machine_peak:
        peak, bandwidth, overhead = machine_peak
        predict_ops(ops, peak, bandwidth)
    if measured is not None:
        for o in ops:
            o["measured_s"] = measured.get(o["name"])
    out["ops"] = ops
    out["layers"] = layer_rows(ops, layers, predicted=bool(machine_peak),
                               measured=measured is not None)
    if machine_peak:
        out["roofline"] = summary(ops, median, peak, bandwidth, overhead, total_flops)
    if measured is not None:
        total = sum(measured.values())
        out["profile"] = {"iters": profile_iters, "sum_of_layers_s": total,
                          "end_to_end_s": median,
                          "note": "eager model under torch.profiler, median per layer over the "
                                  "profiled runs (profiler overhead included)"}
        out["by_kind"] = by_kind(ops)
    return out
