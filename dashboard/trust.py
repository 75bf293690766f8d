"""Which configurations the dashboard server compiles itself, and which go to the sandbox.

The server compiles and costs only what it can bound in advance: the spec files of
--specs (the catalog, chosen by whoever started the server) with

* their default parameters,
* values from a parameter's declared list of `choices` (ShuffleNet's `groups`) or either
  value of a boolean parameter, and
* the parameter values of the catalog's published points (specs/published/*.yaml).

Anything else a browser sends, a pasted or uploaded spec or a new value of a free parameter
(`num_classes=7`), is untrusted: its size is first checked in a sandbox child
(dashboard/sandbox.py) with a CPU, memory and op-count limit, the server never compiles its
closed forms, and its formula text, like every spec's, is computed in the sandbox.
"""
from __future__ import annotations

from fractions import Fraction


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Fraction) and value.denominator == 1:
        return str(value.numerator)
    return str(value)


def published_sets(catalog) -> dict:
    """Catalog key -> the parameter sets (as sets_key tuples) of its published points."""
    from archcalc.published import load_points, published_for

    from .controls import sets_key
    from .log import log
    out: dict = {}
    for key, entry in catalog.entries.items():
        try:
            path = published_for(entry.path)
            points = load_points(path) if path is not None else []
        except Exception as err:  # noqa: BLE001  (the frontier reports a broken file)
            log(f"published points of {key} not read: {type(err).__name__}")
            continue
        for p in points:
            spec_key = catalog.key_for_path(p["spec"]) if p.get("spec") else key
            sets = p.get("set") if isinstance(p.get("set"), dict) else {}
            if spec_key is not None:        # as the frontier writes them, and normalised
                out.setdefault(spec_key, set()).update(
                    (sets_key({str(k): str(v) for k, v in sets.items()}),
                     sets_key({str(k): _text(v) for k, v in sets.items()})))
    return out


def trusted_values(entry, skey: tuple, published=()) -> bool:
    """Whether every value of `skey` ((name, text) pairs) is one the catalog entry vouches for,
    or the whole combination is one of its published points'."""
    if not skey or skey in published:
        return True
    decls = {p.name: p for p in entry.params}
    for name, value in skey:
        d = decls.get(name)
        if d is None:
            return False
        if isinstance(d.default, bool):
            if value.strip().lower() not in ("true", "false"):
                return False
        elif not d.choices or value.strip() not in {_text(c) for c in d.choices}:
            return False
    return True
