"""What an output measured: archcalc's version, the spec (name and path), the point or grid,
the counting convention (name and full description) and the activation dtype.

Every file archcalc writes carries it (docs/conventions.md, "Reading archcalc's files"):

* CSV: leading comment lines `# key: value`, then the header row; pandas reads such a file
  with `pd.read_csv(path, comment="#")`, Python's csv module after skipping lines that
  start with `#`;
* Parquet: the schema's key/value metadata (the same keys, UTF-8 text);
* JSON: fields of the top-level object.
"""
from __future__ import annotations


def spec_shown(spec) -> str:
    """A spec's path as shown to people: `zoo:mobilenet_v2` for a zoo file, else the path."""
    from ..zoo import display_path
    return display_path(spec.path) if getattr(spec, "path", None) else "<spec>"


def params_text(spec) -> str:
    from ..numbers import number_text
    return ", ".join(f"{p.name}={number_text(p.value)}" for p in getattr(spec, "params", ()) or ())


def provenance(spec, convention, dtype: str, **point) -> dict:
    """The ordered fields naming what was measured; `point` adds width/resolution (or the
    grid's widths/resolutions, or anything else that says where)."""
    from .. import __version__
    out = {"archcalc_version": __version__, "spec": spec.name, "spec_path": spec_shown(spec)}
    params = params_text(spec)
    if params:
        out["spec_params"] = params
    out.update({k: str(v) for k, v in point.items() if v is not None})
    out.update({"convention": convention.name, "convention_description": convention.describe(),
                "dtype": dtype})
    return out


def csv_comments(meta: dict) -> str:
    """`# key: value` lines (newlines in a value are flattened: one line per key)."""
    return "".join(f"# {k}: {' '.join(str(v).split())}\n" for k, v in meta.items())


def parquet_metadata(meta: dict) -> dict:
    """Parquet schema metadata: {b"key": b"value"} (UTF-8)."""
    return {str(k).encode(): str(v).encode() for k, v in meta.items()}


def read_csv_comments(text: str) -> dict:
    """The `# key: value` lines at the start of a CSV text, as a dict (the inverse of
    csv_comments; for tests and for tools that want the provenance back)."""
    out = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line[1:].strip().partition(":")
        out[key.strip()] = value.strip()
    return out
