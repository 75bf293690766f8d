"""A bench result as text (pure: the JSON of `archcalc bench --format json` in, text out):
the header (spec, point, run, machine, model, latency, roofline), the warnings, the per-layer
table and the per-op-kind table, then where the result was stored.

Counts and bytes use report.units (human_count, human_bytes); times use `seconds_text`.
"""
from __future__ import annotations

import io

from .units import human_bytes, human_count


def seconds_text(seconds) -> str:
    """A time in s, ms or us with three significant digits; "" for None."""
    if seconds is None:
        return ""
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def _header(d: dict) -> list[tuple[str, str]]:
    _t = seconds_text
    o, t, m, mach = d["options"], d["timing"], d["model"], d["machine"]
    layout = "channels-last" if o["channels_last"] else "NCHW"
    mode = "torch.compile" if o["compile"] else "eager"
    sets = ", ".join(f"{k}={v}" for k, v in d["point"]["sets"].items())
    head = [
        ("spec", f"{d['spec']['name']} ({d['spec']['path']})"),
        ("point", f"width {d['point']['width']}, resolution {d['point']['resolution']}"
                  + (f", {sets}" if sets else "")),
        ("run", f"batch {o['batch']}, {o['dtype']}, {layout}, {mode}, {o['device']}, "
                f"{o['threads']} thread(s)"),
        ("machine", f"{mach['cpu']}, {mach['cores']} cores, GPU {mach['gpu']}, torch "
                    f"{mach['torch']} (fingerprint {mach['fingerprint']})"),
        ("model", f"{m['params']:,} params, {m['madds_per_image']:,} MAdds/image, "
                  f"{human_bytes(m['bytes_moved'])} moved per batch (inputs+outputs+weights "
                  f"per op), {m['ops']} ops"),
        ("latency", f"median {_t(t['median'])}, IQR {_t(t['q1'])} .. {_t(t['q3'])} "
                    f"({100 * t['rel_iqr']:.1f}%), 95% CI of median +-{100 * t['rel_ci']:.1f}%, "
                    f"{t['samples']} samples x {t['iters_per_sample']} iter, "
                    f"{'stable' if t['stable'] else 'NOT stable'}"),
        ("", f"first call {_t(t['first'])}, {t['warmup_iters']} warm-up iters; "
             f"{d['achieved']['images_per_s']:.1f} images/s; CPU time {100 * t['sys_fraction']:.0f}% "
             f"in the kernel, {t['minor_faults_per_call']:,.0f} page faults per call"),
    ]
    roof = d.get("roofline")
    if roof:
        mp = d["machine_peak"]
        head += [
            ("compute", f"achieved {d['achieved']['gflops']:.1f} GFLOP/s (2 x MAdds) = "
                        f"{100 * d['achieved']['gflops'] / roof['peak_gflops']:.1f}% of measured "
                        f"peak {roof['peak_gflops']:.1f} GFLOP/s (matmul {mp['matmul']['n']}^3 "
                        f"{o['dtype']})"),
            ("memory", f"achieved {d['achieved']['gbs']:.2f} GB/s of measured "
                       f"{roof['bandwidth_gbs']:.1f} GB/s (copy {human_bytes(mp['copy']['bytes'])}); "
                       f"per-op overhead {_t(roof['overhead_s'])}"),
            ("roofline", f"ridge {roof['ridge_flop_per_byte']:.1f} FLOP/B; predicted "
                         f"{_t(roof['predicted_s'])} (compute-bound ops {_t(roof['compute_bound_s'])}"
                         f" + memory-bound ops {_t(roof['memory_bound_s'])}) vs measured "
                         f"{_t(roof['measured_s'])}: {roof['measured_over_predicted']:.2f}x"),
            ("", f"with {m['ops']} x per-op overhead: predicted "
                 f"{_t(roof['predicted_with_overhead_s'])}, measured/predicted "
                 f"{roof['measured_over_predicted_with_overhead']:.2f}x"),
        ]
    return head


def _layer_table(d: dict, total: float):
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    _t = seconds_text
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    cols = ["layer", "ops", "MAdds", "bytes", "FLOP/B", "bound", "roofline", "measured",
            "ratio", "% time"]
    for c in cols:
        grid.add_column(c, justify="left" if c in ("layer", "ops", "bound") else "right",
                        no_wrap=True)
    previous = None
    for g in d["layers"]:
        if previous is not None and g["block"] != previous:
            grid.add_section()
        previous = g["block"]
        ratio = g.get("measured_over_predicted")
        grid.add_row(
            escape(g["name"]), escape(" + ".join(g["ops"])),
            human_count(g["madds"]) if g["madds"] else "",
            human_bytes(g["bytes"]), f"{g['intensity']:.1f}" if g.get("intensity") is not None else "",
            g.get("bound", ""), _t(g.get("predicted_s")), _t(g.get("measured_s")),
            f"{ratio:.1f}x" if ratio is not None else "",
            f"{100 * g['measured_s'] / total:.1f}" if total and g.get("measured_s") is not None else "")
    return grid


def _kind_table(kinds: dict, total: float):
    from rich import box
    from rich.table import Table

    _t = seconds_text
    madds_total = sum(k["madds"] for k in kinds.values()) or 1
    kt = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=None)
    for c in ("op kind", "ops", "% MAdds", "% time", "measured", "roofline", "ratio"):
        kt.add_column(c, justify="left" if c == "op kind" else "right", no_wrap=True)
    for name, k in sorted(kinds.items(), key=lambda kv: -kv[1]["measured_s"]):
        ratio = k["measured_s"] / k["predicted_s"] if k["predicted_s"] else None
        kt.add_row(name, str(k["ops"]), f"{100 * k['madds'] / madds_total:.1f}",
                   f"{100 * k['measured_s'] / total:.1f}", _t(k["measured_s"]),
                   _t(k["predicted_s"]) if k["predicted_s"] else "",
                   f"{ratio:.1f}x" if ratio else "")
    return kt


def bench_text(d: dict, width: int = 132) -> str:
    """A bench result (BenchResult.to_dict()) as text: header, timing, roofline, per-layer
    table, per-op-kind table."""
    from rich.console import Console
    from rich.markup import escape

    out = io.StringIO()
    con = Console(file=out, width=width, highlight=False, color_system=None)
    for key, value in _header(d):
        con.print(f"[bold]{key:>9}[/bold]  {escape(value)}", soft_wrap=True)
    for w in d.get("warnings", []):
        con.print(f"[bold]{'warning':>9}[/bold]  {escape(w)}", soft_wrap=True)

    prof = d.get("profile")
    if prof:
        _t = seconds_text
        con.print()
        con.print(f"per layer (batch {d['options']['batch']}): torch.profiler over {prof['iters']} "
                  f"eager runs; layers sum to {_t(prof['sum_of_layers_s'])} vs "
                  f"{_t(prof['end_to_end_s'])} end to end (profiler overhead included); roofline "
                  f"= max(FLOPs / peak, bytes / bandwidth) summed over the layer's ops; ratio = "
                  f"measured / roofline", soft_wrap=True)
    total = (prof or {}).get("sum_of_layers_s") or 0
    con.print(_layer_table(d, total))
    kinds = d.get("by_kind")
    if kinds and total:
        con.print()
        con.print(_kind_table(kinds, total))
    return out.getvalue()


def stored_text(stored: dict | None) -> str:
    """Where bench stored its result (`data["stored"]`), or where it kept it when the
    database refused it; "" when it was not to be stored."""
    if stored and stored.get("id") is not None:
        return f"\nstored as result {stored['id']} in {stored['database']}\n"
    if stored:
        return f"\nNOT stored in {stored['database']} ({stored['error']}); " + (
            f"kept in {stored['kept']}: store it with `archcalc results --db "
            f"{stored['database']} --import {stored['kept']}`\n" if stored.get("kept")
            else "no folder could be written to keep it: this output is the only copy\n")
    return ""
