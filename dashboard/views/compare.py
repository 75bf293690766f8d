"""Compare: up to four specs side by side (the MobileNetV2 paper's Tables 3 and 4), each at
its own point. Catalog files are costed by `archcalc.compare.compare` (the entries
`archcalc compare` prints, with their published figures), pasted specs by
`archcalc.compare.cost_entry` (the same column, labelled the same way); the rows, the
readable values and the ratios to the first column are archcalc.report.compare's.
"""
from __future__ import annotations

import archcalc
from archcalc.numbers import count_text
from archcalc.report.units import human_bytes

from ..colors import family_color
from ..controls import resolution_value, width_text
from ..figures import axis, base_layout

DEFAULT_COMPARE = ("mobilenet_v1.yaml", "mobilenet_v2.yaml", "shufflenet_v1.yaml")


def compare_entries(ws, slots, convention="paper", dtype="fp32") -> tuple[list, list]:
    """archcalc.compare entries for each filled slot {spec, width, resolution}; pasted specs
    are costed the same way. Returns (entries, errors)."""
    from archcalc.compare import Target, compare, cost_entry
    entries, errors = [], []
    for i, slot in enumerate(slots):
        source = (slot or {}).get("spec") if isinstance(slot, dict) else None
        if not source or not isinstance(source, str):
            continue
        try:
            w = width_text(slot.get("width") if slot.get("width") not in (None, "") else 1)
            kind, _, ident = source.partition(":")
            if kind == "file":
                base = ws.catalog.entries[ident].resolution if ident in ws.catalog.entries else 224
                r = resolution_value(slot.get("resolution") or base, base)
                path = ws.catalog.path(ident)
                entries.extend(ws.work.call(("compare", path, w, r, convention, dtype),
                                            lambda: compare([f"{path}@{w},{r}"], None, convention,
                                                            dtype)))
            else:
                spec = ws.spec(source, None, convention)        # checked in the sandbox
                r = resolution_value(slot.get("resolution") or spec.resolution, spec.resolution)
                target = Target(spec.path, w, str(r))
                entries.append(ws.work.call(None, lambda: cost_entry(target, spec, convention,
                                                                     dtype)))
        except archcalc.ArchcalcError as err:
            errors.append(f"slot {i + 1}: {ws.scrub(str(err))}")
    return entries, errors


def compare_table(entries) -> dict:
    """Metrics per entry with ratios to the first (archcalc.report.compare's rows and ratio
    text, the ratio written with a multiplication sign)."""
    from archcalc.report.compare import ratio_text, rows
    header = ["", *[e.label for e in entries]]
    body = []
    for row in rows(entries):
        first = row["values"][0]
        cells = []
        for i, v in enumerate(row["values"]):
            ratio = ratio_text(v, first) if i > 0 else ""
            cells.append({"value": row["fmt"](v), "ratio": "×" + ratio[1:] if ratio else "",
                          "exact": count_text(v) if isinstance(v, int) else ""})
        body.append({"metric": row["name"], "cells": cells})
    sources = sorted({e.published["source"] for e in entries if e.published})
    return {"header": header, "rows": body, "sources": sources}


def compare_memory(entries) -> dict:
    """The MobileNetV2 paper's Table 3 layout: per spatial size, the largest tensor that must
    be materialised (streamed model), channels and bytes, per entry."""
    from archcalc.report.compare import memory_rows
    table, maxima = memory_rows(entries)
    rows = [{"size": size, "cells": [None if c is None else {"channels": c[0], "bytes": c[1],
                                                             "text": f"{c[0]} ch · {human_bytes(c[1])}"}
                                     for c in cells]} for size, cells in table]
    return {"header": ["input size", *[e.label for e in entries]], "rows": rows,
            "max": [None if m is None else human_bytes(m[1]) for m in maxima]}


def compare_memory_figure(entries, dtype="fp32", colors=None) -> dict:
    """The same as grouped bars, one colour per family."""
    from archcalc.report.compare import memory_rows
    table, _ = memory_rows(entries)
    sizes = [size for size, _ in table]
    data = []
    for j, e in enumerate(entries):
        color = (colors or {}).get(e.table.spec.name) or family_color(e.table.spec.name, j)
        ys = [cells[j][1] if cells[j] is not None else None for _, cells in table]
        data.append({"type": "bar", "name": e.label, "x": sizes, "y": ys,
                     "marker": {"color": color},
                     "customdata": [[e.label, human_bytes(v) if v else "—"] for v in ys],
                     "hovertemplate": "<b>%{customdata[0]}</b><br>%{x}: %{customdata[1]}<extra></extra>"})
    return {"data": data, "layout": base_layout(
        height=360, barmode="group",
        xaxis=axis("spatial size of the tensor (h × w)", type="category", categoryorder="array",
                   categoryarray=sizes),
        yaxis=axis(f"largest tensor to materialise ({dtype}, bytes)", tickformat="~s",
                   ticksuffix="B"),
        margin={"l": 80, "r": 20, "t": 50, "b": 60})}


def compare_csv(entries) -> str:
    """The download: `archcalc compare --format csv --memory`'s text."""
    from archcalc.report.compare import render
    return render(entries, "csv", True)
