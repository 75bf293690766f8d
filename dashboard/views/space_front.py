"""A search space's Parquet output on the frontier tab: the architectures of one file that
`archcalc space SPEC ... --out DIR` wrote (its `_front.parquet`, or a partition file) in the
(MAdds, params) plane, their (MAdds, params) Pareto front drawn as a staircase, against the
zoo's published checkpoints at their exact costs (dashboard.views.frontier). The space has no
accuracy, so the plane is cost against cost.

Bounded (archcalc/limits.py, docs/spec.md "Limits"): the file is refused past
DASHBOARD_MAX_SPACE_BYTES before it is parsed and past DASHBOARD_MAX_SPACE_ROWS rows (read
from the Parquet footer, before any column); only the index, the choice columns named by its
metadata and the two costs are read; at most DASHBOARD_MAX_SPACE_POINTS architectures off the
front are drawn (evenly spaced by index).
"""
from __future__ import annotations

import base64
import binascii
import json

from archcalc.limits import (DASHBOARD_MAX_SPACE_BYTES, DASHBOARD_MAX_SPACE_POINTS,
                             DASHBOARD_MAX_SPACE_ROWS)
from archcalc.report.units import human_count

from ..colors import MUTED
from ..figures import axis, base_layout, empty_figure

COSTS = ("madds", "params")


class SpaceFileError(ValueError):
    """The upload is not a space's Parquet output (the message says why, in one line)."""


def decode_upload(contents: str) -> bytes:
    """dcc.Upload's `data:...;base64,...` text -> bytes, refused past the limit first."""
    _, _, b64 = contents.partition(",")
    if len(b64) > (DASHBOARD_MAX_SPACE_BYTES + 2) // 3 * 4 + 4:
        raise SpaceFileError(f"the file is over {DASHBOARD_MAX_SPACE_BYTES:,} bytes "
                             f"(DASHBOARD_MAX_SPACE_BYTES): upload the space's _front.parquet")
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise SpaceFileError("the upload is not valid base64") from None


def read_space(data: bytes) -> dict:
    """A space file's rows and what its metadata says: {spec, convention, dtype, size, run,
    choices, rows: [{index, madds, params, choices}], front: [positions in rows]}."""
    if len(data) > DASHBOARD_MAX_SPACE_BYTES:
        raise SpaceFileError(f"the file is over {DASHBOARD_MAX_SPACE_BYTES:,} bytes "
                             f"(DASHBOARD_MAX_SPACE_BYTES)")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise SpaceFileError("reading a space's Parquet output needs pyarrow") from None
    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        meta = {k.decode(): v.decode() for k, v in (pf.schema_arrow.metadata or {}).items()}
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError):
        raise SpaceFileError("not a Parquet file") from None
    if "space_choices" not in meta:
        raise SpaceFileError("not a space's output (no space_choices in its metadata): "
                             "`archcalc space SPEC --all --out DIR` writes one")
    rows = pf.metadata.num_rows
    if rows > DASHBOARD_MAX_SPACE_ROWS:
        raise SpaceFileError(f"{rows:,} rows (limit DASHBOARD_MAX_SPACE_ROWS = "
                             f"{DASHBOARD_MAX_SPACE_ROWS:,}): upload the space's _front.parquet "
                             f"or a run with tighter budgets")
    try:
        choices = list(json.loads(meta["space_choices"]))
    except (ValueError, TypeError):
        raise SpaceFileError("its space_choices metadata is not a JSON object") from None
    names = set(pf.schema_arrow.names)
    missing = [c for c in ("index", *COSTS) if c not in names]
    if missing:
        raise SpaceFileError(f"no {missing[0]} column")
    choices = [c for c in choices if isinstance(c, str) and c in names]
    try:
        table = pf.read(columns=["index", *COSTS, *choices])
    except (pa.ArrowException, OSError, ValueError):
        raise SpaceFileError("its columns cannot be read") from None
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    out = [{"index": int(cols["index"][i]), "madds": cols["madds"][i],
            "params": cols["params"][i], "choices": {c: cols[c][i] for c in choices}}
           for i in range(table.num_rows)]
    return {"spec": meta.get("spec", "?"), "convention": meta.get("convention", "?"),
            "dtype": meta.get("dtype", "?"), "size": meta.get("space_size", "?"),
            "run": meta.get("space_run", "?"), "choices": choices, "rows": out,
            "front": cost_front(out)}


def cost_front(rows: list) -> list:
    """Positions of the (MAdds, params) Pareto front (both minimised; exact comparisons):
    sorted by MAdds then params, a row is on it when its params are below every cheaper
    row's. Equal (MAdds, params) pairs keep the first (lowest index)."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["madds"], rows[i]["params"],
                                                      rows[i]["index"]))
    front, best = [], None
    for i in order:
        if best is None or rows[i]["params"] < best:
            front.append(i)
            best = rows[i]["params"]
    return front


def _hover(r: dict) -> str:
    chosen = " ".join(f"{k}={v}" for k, v in r["choices"].items())
    return (f"<b>#{r['index']}</b><br>MAdds {human_count(r['madds'])} · params "
            f"{human_count(r['params'])}<br><span style='color:{MUTED}'>{chosen}</span>")


def space_figure(space: dict, zoo: list) -> dict:
    """The space's architectures (grey), its front (a staircase) and the zoo's published
    points (one colour per family), MAdds against params, both on log scales."""
    rows = space["rows"]
    if not rows:
        return empty_figure("the file holds no architectures", 520)
    on_front = set(space["front"])
    rest = [i for i in range(len(rows)) if i not in on_front]
    if len(rest) > DASHBOARD_MAX_SPACE_POINTS:
        step = len(rest) / DASHBOARD_MAX_SPACE_POINTS
        rest = [rest[int(k * step)] for k in range(DASHBOARD_MAX_SPACE_POINTS)]
    data = []
    if rest:
        data.append({"type": "scattergl", "mode": "markers", "name": "space architectures",
                     "x": [rows[i]["madds"] for i in rest], "y": [rows[i]["params"] for i in rest],
                     "marker": {"color": "#B8BDC7", "size": 5, "opacity": 0.6},
                     "text": [_hover(rows[i]) for i in rest],
                     "hovertemplate": "%{text}<extra></extra>"})
    front = [rows[i] for i in space["front"]]
    data.append({"type": "scatter", "mode": "lines+markers",
                 "name": f"{space['spec']}: (MAdds, params) front",
                 "x": [r["madds"] for r in front], "y": [r["params"] for r in front],
                 "line": {"color": "#1F2430", "width": 2, "shape": "hv"},
                 "marker": {"color": "#1F2430", "size": 7},
                 "text": [_hover(r) for r in front], "hovertemplate": "%{text}<extra></extra>"})
    for fam in dict.fromkeys(p["family"] for p in zoo):
        sub = [p for p in zoo if p["family"] == fam]
        data.append({"type": "scatter", "mode": "markers", "name": fam,
                     "x": [p["madds"] for p in sub], "y": [p["params"] for p in sub],
                     "marker": {"color": sub[0]["color"], "size": 10, "symbol": "diamond",
                                "line": {"color": "#FFFFFF", "width": 1}},
                     "text": [f"<b>{p['label']}</b><br>MAdds {human_count(p['madds'])} · params "
                              f"{human_count(p['params'])} · top-1 {p['top1']:.1f}%"
                              for p in sub],
                     "hovertemplate": "%{text}<extra></extra>"})
    layout = base_layout(height=560, hovermode="closest",
                         xaxis=axis("MAdds (multiply-adds per image) · log scale", type="log",
                                    tickformat="~s"),
                         yaxis=axis("parameters · log scale", type="log", tickformat="~s"),
                         margin={"l": 70, "r": 30, "t": 60, "b": 60})
    return {"data": data, "layout": layout}


def space_summary(space: dict, zoo_convention: str) -> str:
    text = (f"{len(space['rows']):,} architectures of the {space['spec']} space "
            f"({space['size']} in all; run: {space['run']}), {len(space['front']):,} on their "
            f"(MAdds, params) front; counted under the {space['convention']} convention.")
    if space["convention"] != zoo_convention:
        text += (f" The zoo's points are under {zoo_convention}: choose {space['convention']} "
                 f"above to compare like with like.")
    return text


def space_view(contents, zoo: list, zoo_convention: str) -> tuple:
    """(figure, summary text, error text or None) of an upload."""
    if not isinstance(contents, str) or not contents:
        return empty_figure("upload a space's _front.parquet to see it here", 320), "", None
    try:
        space = read_space(decode_upload(contents))
    except SpaceFileError as err:
        return empty_figure("the file could not be read", 320), "", str(err)
    return space_figure(space, zoo), space_summary(space, zoo_convention), None


__all__ = ["SpaceFileError", "cost_front", "decode_upload", "read_space", "space_figure",
           "space_summary", "space_view"]
