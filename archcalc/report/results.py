"""Results-database rows (archcalc.results.ResultsDB.rows()) as text (pure: rows in, text
out): a table, CSV (flat columns, payload left out) or JSON (everything, with the schema
version the caller names: archcalc.results.SCHEMA_VERSION)."""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterable, Mapping

from ..errors import ArchcalcError


def _json_cell(obj) -> str:
    """A JSON object in one CSV cell: sorted keys, no spaces."""
    return json.dumps(obj or {}, sort_keys=True, separators=(",", ":"))


EXPORT_FORMATS = ("table", "csv", "json")
_FLAT = ("id", "created", "spec_name", "width", "resolution", "sets", "batch", "device", "dtype",
         "threads", "options", "median_s", "q1_s", "q3_s", "iqr_s", "samples", "stable",
         "params", "madds", "gflops", "peak_gflops", "bandwidth_gbs", "predicted_s", "machine",
         "cpu", "cores", "gpu", "torch", "spec_path", "spec_hash", "key")


def export(rows: Iterable[Mapping[str, Any]], fmt: str = "table", *, schema_version: int,
           source: str = "") -> str:
    """Results as a text table, CSV (flat columns, payload left out) or JSON (everything;
    `schema_version` is the results schema it was read under)."""
    rows = list(rows)
    if fmt == "json":
        return json.dumps({"database": source, "schema_version": schema_version,
                           "results": rows}, indent=2, sort_keys=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_FLAT)
        for r in rows:
            writer.writerow([_json_cell(r[k]) if isinstance(r.get(k), dict) else r.get(k)
                             for k in _FLAT])
        return out.getvalue()
    if fmt == "table":
        return _table(rows, source)
    raise ArchcalcError(f"unknown results format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")


def ms_text(seconds) -> str:
    """Seconds as milliseconds: three significant digits below 100 ms, whole ms above."""
    return "" if seconds is None else f"{seconds * 1e3:.3g}" if seconds < 1e-1 else f"{seconds * 1e3:.0f}"


def _table(rows: list, source: str) -> str:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    out = io.StringIO()
    console = Console(file=out, width=132, highlight=False, color_system=None)
    if not rows:
        console.print(escape(f"no results in {source or 'the database'} yet (run `archcalc bench SPEC`)"))
        return out.getvalue()
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    cols = ["id", "date (UTC)", "spec", "width", "res", "batch", "run", "median ms", "IQR%",
            "n", "GFLOP/s", "%peak", "roofline ms", "machine"]
    for col in cols:
        grid.add_column(col, justify="left" if col in ("date (UTC)", "spec", "run", "machine")
                        else "right", no_wrap=col != "run",
                        min_width=max(len(r["spec_name"]) for r in rows) if col == "spec" else None)
    machines = {}
    for r in rows:
        run = [r["device"], r["dtype"], f"t{r['threads']}"]
        run += [{"channels_last": "NHWC"}.get(k, k) for k, v in sorted(r["options"].items())
                if v is True]
        res = r["options"].get("input") or str(r["resolution"])     # HxW when not square
        spec = r["spec_name"]
        if r["sets"]:   # on a line of its own under the name
            spec += "\n[" + ",".join(f"{k}={v}" for k, v in sorted(r["sets"].items())) + "]"
        iqr = 100 * r["iqr_s"] / r["median_s"] if r["median_s"] else 0
        peak = (100 * r["gflops"] / r["peak_gflops"]) if r.get("gflops") and r.get("peak_gflops") else None
        machines[r["machine"]] = r
        grid.add_row(str(r["id"]), r["created"].replace("T", " ")[:16], escape(spec),
                     str(r["width"]), str(res), str(r["batch"]), " ".join(run),
                     ms_text(r["median_s"]), f"{iqr:.1f}" + ("" if r["stable"] else "*"),
                     str(r["samples"]),
                     f"{r['gflops']:.1f}" if r.get("gflops") is not None else "",
                     f"{peak:.0f}" if peak is not None else "", ms_text(r.get("predicted_s")),
                     r["machine"][:8])
    console.print(grid)
    console.print()
    for fp, r in machines.items():
        if r.get("cores") is None:      # a row whose machine is missing from `machines`
            console.print(escape(f"machine {fp[:8]}: not in the machines table"), soft_wrap=True)
            continue
        console.print(escape(f"machine {fp[:8]}: {r['cpu']}, {r['cores']} cores, GPU {r['gpu']}, "
                             f"torch {r['torch']}"), soft_wrap=True)
    console.print(f"{len(rows)} result(s) in {escape(source)}; * = the stopping rule was not met "
                  f"before the time limit (estimate less stable)", soft_wrap=True)
    return out.getvalue()
