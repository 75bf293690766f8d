"""Render one spec under several conventions (archcalc.compare.compare_conventions's entries):
MAdds by part (conv, linear, BN, activation, pooling, ...) in each, params and totals, and
each total's difference from the first convention's, part by part: why fvcore, ptflops and
thop give three numbers for one network (docs/conventions.md, "Peer tools")."""
from __future__ import annotations

import csv
import io
import json

from ..numbers import plain
from .compare import grid
from .provenance import csv_comments, spec_shown


def _parts(entries) -> list[str]:
    """Every part any entry counts, in archcalc.cost.peers.PARTS order (others after)."""
    from ..cost.peers import PARTS
    order = {p: i for i, p in enumerate(PARTS)}
    found = list(dict.fromkeys(p for e in entries for p in e.parts))
    return sorted(found, key=lambda p: (order.get(p, len(PARTS)), found.index(p)))


def _signed(n) -> str:
    return f"+{n:,}" if n > 0 else (f"{n:,}" if n < 0 else "0")


def differences(entries) -> list[dict]:
    """Per entry after the first: its MAdds minus the first's, and that difference by part
    (parts that differ only)."""
    first = entries[0]
    out = []
    for e in entries[1:]:
        by_part = {p: e.parts.get(p, 0) - first.parts.get(p, 0) for p in _parts(entries)}
        out.append({"convention": e.table.convention.name,
                    "madds": e.table.totals["madds"] - first.table.totals["madds"],
                    "params": e.table.totals["params"] - first.table.totals["params"],
                    "by_part": {p: d for p, d in by_part.items() if d}})
    return out


def _meta(entries) -> dict:
    from .. import __version__
    t = entries[0].table
    return {"archcalc_version": __version__, "spec": t.spec.name, "spec_path": spec_shown(t.spec),
            "label": entries[0].label, "width": str(plain(t.width)),
            "resolution": str(t.resolution), "dtype": t.dtype}


def to_dict(entries) -> dict:
    diffs = {d["convention"]: d for d in differences(entries)}
    out = {**_meta(entries), "reference": entries[0].table.convention.name, "conventions": []}
    for e in entries:
        c, t = e.table.convention, e.table.totals
        item = {"convention": c.name, "convention_description": c.describe(),
                "totals": {k: t[k] for k in ("params", "bn_params", "madds", "flops")},
                "madds_by_part": dict(e.parts)}
        if c.name in diffs:
            d = diffs[c.name]
            item["difference"] = {"madds": d["madds"], "params": d["params"],
                                  "madds_by_part": d["by_part"]}
        out["conventions"].append(item)
    return out


def _body(entries) -> list[list[str]]:
    rows = [[f"MAdds: {p}", *[f"{e.parts.get(p, 0):,}" for e in entries]] for p in _parts(entries)]
    rows.append(["MAdds total", *[f"{e.table.totals['madds']:,}" for e in entries]])
    rows.append(["params", *[f"{e.table.totals['params']:,}" for e in entries]])
    return rows


def _why(entries) -> list[str]:
    """One line per convention after the first: total = first + difference (by part)."""
    first = entries[0]
    ref = first.table.convention.name
    lines = []
    for e, d in zip(entries[1:], differences(entries)):
        parts = ", ".join(f"{p} {_signed(v)}" for p, v in d["by_part"].items())
        name, madds = e.table.convention.name, e.table.totals["madds"]
        if d["madds"] or parts:
            text = (f"{name} {madds:,} = {ref} {first.table.totals['madds']:,} "
                    f"{_signed(d['madds'])} ({parts})")
        else:
            text = f"{name} {madds:,}: the same MAdds as {ref}"
        lines.append(text + (f"; params {_signed(d['params'])}" if d["params"] else ""))
    return lines


def render_text(entries, markdown: bool = False) -> str:
    from .terminal import columns, wrap
    width = columns()
    say = (lambda s: s) if markdown else (lambda s: wrap(s, width, 4))
    t = entries[0].table
    lines = [say(f"{entries[0].label} ({spec_shown(t.spec)}) at width {plain(t.width)}, "
                 f"resolution {t.resolution}, under {len(entries)} conventions"), ""]
    lines += grid(["", *[e.table.convention.name for e in entries]], _body(entries), markdown)
    lines += ["", f"difference from {t.convention.name}, by part:"]
    lines += [("- " + line) if markdown else say("  " + line) for line in _why(entries)]
    lines += ["", "what each counts:"]
    lines += [("- " + e.table.convention.describe()) if markdown
              else say("  " + e.table.convention.describe()) for e in entries]
    return "\n".join(lines) + "\n"


def render_conventions(entries, fmt: str) -> str:
    """The comparison as text: table (default), markdown, csv (# comment lines first) or json."""
    if fmt == "json":
        return json.dumps(to_dict(entries), indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        meta = _meta(entries)
        meta.update({f"convention {e.table.convention.name}": e.table.convention.describe()
                     for e in entries})
        buf.write(csv_comments(meta))
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["metric", *[e.table.convention.name for e in entries]])
        for p in _parts(entries):
            writer.writerow([f"madds_{p.replace(' ', '_')}", *[e.parts.get(p, 0) for e in entries]])
        for key in ("madds", "params"):
            writer.writerow([key, *[e.table.totals[key] for e in entries]])
        return buf.getvalue()
    return render_text(entries, markdown=fmt == "markdown")
