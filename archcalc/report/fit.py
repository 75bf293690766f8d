"""Text of `archcalc fit`: the widest fitting width per resolution as a table, CSV or JSON.

Renders a FitResult (archcalc.design.fit: budgets, domain, one BudgetFitRow per resolution);
pure: data in, text out.
"""
from __future__ import annotations

from ..numbers import decimal_text, plain, short_text
from .provenance import csv_comments, provenance, spec_shown
from .terminal import columns, wrap
from .units import human_bytes, human_count


def interval_text(row) -> str:
    """The widths that build a row's network: "0.75" (one width), "[0.7, 0.75)" (an
    interval; ')' = the supremum itself builds a wider network), "" when nothing fits."""
    if row.lo is None:
        return ""
    if row.lo == row.hi:
        return decimal_text(row.lo)
    return (("[" if row.lo_closed else "(") + short_text(row.lo) + ", " + short_text(row.hi)
            + ("]" if row.hi_closed else ")"))


def render(result, fmt: str = "table") -> str:
    """A FitResult (archcalc.design.fit) as a table, CSV or JSON."""
    metrics = list(result.rows[0].metrics) if result.rows and result.rows[0].fits else \
        list(result.default_metrics)
    for row in result.rows:
        if row.fits:
            metrics = list(row.metrics)
            break
    meta = provenance(result.spec, result.convention, result.dtype, widths=result.domain)
    if fmt == "json":
        import json
        return json.dumps({
            **meta, "spec_path": result.spec.path, "spec_shown": meta["spec_path"],
            "budgets": [{"metric": b.metric, "max": plain(b.limit)} for b in result.budgets],
            "widths": result.domain,
            "rows": [{"resolution": r.resolution, "fits": r.fits,
                      "width": decimal_text(r.width) if r.fits else None,
                      "widths_same_network": interval_text(r) if r.fits else None,
                      "width_min": plain(r.lo), "width_min_included": r.lo_closed if r.fits else None,
                      "width_max": plain(r.hi), "width_max_included": r.hi_closed if r.fits else None,
                      "metrics": r.metrics, "limited_by": list(r.limited_by), "pareto": r.pareto}
                     for r in result.rows]}, indent=2) + "\n"
    if fmt == "csv":
        import csv
        import io
        buf = io.StringIO()
        buf.write(csv_comments(meta))
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["resolution", "fits", "width", "widths_same_network", *metrics, "limited_by", "pareto"])
        for r in result.rows:
            w.writerow([r.resolution, int(r.fits), decimal_text(r.width) if r.fits else "",
                        interval_text(r), *[r.metrics.get(m, "") for m in metrics],
                        " ".join(r.limited_by), int(r.pareto)])
        return buf.getvalue()
    spec = result.spec
    width = columns()
    lines = [wrap(f"{spec.name} ({spec_shown(spec)}), convention {result.convention.name}, "
                  f"{result.dtype}:", width, 4),
             wrap("  budgets: " + "; ".join(b.describe() for b in result.budgets), width, 11),
             wrap(f"  widths:  {result.domain}", width, 11), ""]
    short = {"params": "params", "madds": "MAdds", "peak_memory_bytes": "peak mem",
             "peak_memory_bytes_streamed": "peak streamed"}
    budgeted = {b.metric for b in result.budgets}

    def build(shown, names):
        header = ["res", "widest fitting width", "use"] + [short.get(m, m) for m in shown] + \
            ["limited by", "pareto"]
        table = []
        for r in result.rows:
            limited = ", ".join(names.get(m, m) for m in r.limited_by)
            if not r.fits:
                table.append([str(r.resolution), "nothing fits", ""] + [""] * len(shown)
                             + [limited, ""])
                continue
            cells = [human_bytes(r.metrics[m]) if "bytes" in m else human_count(r.metrics[m])
                     for m in shown]
            table.append([str(r.resolution), interval_text(r), decimal_text(r.width)] + cells
                         + [limited, "*" if r.pareto else ""])
        return header, table

    header, table = build(metrics, {})
    if _width_of(header, table) > width:       # the budgets' columns only, short names
        header, table = build([m for m in metrics if m in budgeted], short)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
    for k, row in enumerate([header] + table):
        lines.append("  " + "  ".join(
            (c.ljust(w) if i in (1, 2, len(row) - 2, len(row) - 1) else c.rjust(w))
            for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    lines.append("")
    lines.append(wrap("  widest fitting width: every width in the interval builds the same "
                      "(widest) network; ')' = the supremum itself builds a wider one", width, 4))
    lines.append(wrap("  use: the shortest decimal in it; limited by: the budgets the next wider "
                      "network breaks; pareto (*): no other answer is both wider and "
                      "higher-resolution", width, 4))
    if len(header) < 5 + len(metrics):
        lines.append(wrap("  (params and memory of each answer: --format csv or json, or a "
                          "wider terminal)", width, 4))
    return "\n".join(lines) + "\n"


def _width_of(header, table) -> int:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
    return 2 + sum(widths) + 2 * (len(widths) - 1)
