"""Values the browser sends, validated before any callback uses them.

A Dash callback receives whatever JSON a client posts to /_dash-update-component, not only
what the page's components can produce: a crafted request can put a string where a number
belongs, a list where a mapping belongs, or a path where a spec name belongs. Every value a
callback takes from a click, a store or a control goes through one of these functions, which
return a clean value or None (the callback then does nothing), never raise.
"""
from __future__ import annotations

import math

MAX_SETS = 16               # parameters in one request (the zoo's specs declare at most 2)


def _short_text(value, limit: int) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        text = repr(value) if isinstance(value, float) else str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        return None
    return text if 0 < len(text) <= limit else None


def param_sets(value, limit: int = 40) -> dict | None:
    """{name: value} with short scalar values as text; None when it is anything else."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_SETS:
        return None
    out = {}
    for k, v in value.items():
        name, text = _short_text(k, limit), _short_text(v, limit)
        if name is None or text is None:
            return None
        out[name] = text
    return out


def number(value) -> float | None:
    """A finite number (or its text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and len(value) <= 40:
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def frontier_click(ws, click) -> tuple | None:
    """A frontier click's point as (source, width, resolution, sets), or None: the point must
    name a spec of the catalog, a finite width and resolution, and short parameter values."""
    from .controls import resolution_value, width_text
    if not isinstance(click, dict):
        return None
    points = click.get("points")
    if not isinstance(points, list) or not points or not isinstance(points[0], dict):
        return None
    custom = points[0].get("customdata")
    if not isinstance(custom, (list, tuple)) or len(custom) != 5:
        return None
    source, width, res, sets, _ = custom
    if not isinstance(source, str) or not source.startswith("file:") \
            or source.partition(":")[2] not in ws.catalog.entries:
        return None
    w, r, clean = number(width), number(res), param_sets(sets)
    if w is None or r is None or clean is None:
        return None
    return source, float(width_text(w)), resolution_value(r), clean


def designer_request(value) -> dict | None:
    """The designer-request store: {"source": str, "sets": {...}} or None."""
    if not isinstance(value, dict) or not isinstance(value.get("source"), str):
        return None
    sets = param_sets(value.get("sets"))
    return None if sets is None else {"source": value["source"], "sets": sets}


def choice(value, allowed, default: str) -> str:
    """One of `allowed` (a dropdown's options), else `default`."""
    return value if isinstance(value, str) and value in allowed else default
