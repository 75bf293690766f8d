"""Published points: accuracies (and anything else measured) at named configurations of a
spec, read from points files; the one place a spec's published figures are looked up
(`published_for`, `published_point`), for compare, frontier and the dashboard.

Format (documented in docs/design-space.md, "Points files"), YAML or CSV:

* YAML: a mapping with a `points:` list and optional top-level `spec:` (the spec every point
  belongs to, relative to the file, or a zoo name) and `source:`;
* CSV: a header row, one point per row (`#` comment lines are skipped).

Each point: `label` (or `checkpoint`), `width` (or `multiplier`), `resolution`, optional
`spec` (per point; relative to the file, or a zoo name), `set` (YAML only: spec parameter
bindings), `source`, and metrics (`top1`, `top5`, `pixel1_ms`, any name). Numbers go through
archcalc.numbers.parse_decimal (bounded); the file is read through the spec loader's bounded
YAML (limits.MAX_POINTS_BYTES, depth and alias limits).
"""
from __future__ import annotations

import csv
import io
import os
import re
from fractions import Fraction
from pathlib import Path

from .errors import ArchcalcError, OptionError
from .limits import MAX_POINTS_BYTES
from .numbers import parse_decimal

RESERVED = ("spec", "label", "checkpoint", "width", "multiplier", "resolution", "source", "group",
            "set")


def number(v, what: str):
    """An exact number (int, or Fraction) from a YAML/CSV value, bounded; OptionError else."""
    if isinstance(v, bool):
        raise OptionError(f"{what}: expected a number, got {v!r}")
    value = parse_decimal(v, what)
    return value.numerator if value.denominator == 1 else value


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_POINTS_BYTES + 1)
    except IsADirectoryError:
        raise OptionError(f"points file {path}: is a directory") from None
    except OSError as err:
        raise OptionError(f"points file {path}: cannot read: {err.strerror}") from None
    if len(data) > MAX_POINTS_BYTES:
        raise OptionError(f"points file {path}: larger than {MAX_POINTS_BYTES:,} bytes "
                          f"(limit MAX_POINTS_BYTES)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise OptionError(f"points file {path}: not a UTF-8 text file") from None


def spec_ref(value, base: Path) -> str:
    """A point's `spec`: a path relative to the points file's folder, an absolute path, or a
    zoo name (archcalc zoo)."""
    from .zoo import resolve
    text = str(value)
    if os.path.isabs(text):
        return text
    beside = os.path.normpath(base / text)
    return beside if os.path.exists(beside) else resolve(text)


def load_points(path) -> list[dict]:
    """Published points from a YAML file (`points:` list, optional top-level `spec`, `source`)
    or a CSV file (a header row). Each point: label (or checkpoint), width (or multiplier),
    resolution, metrics (top1, ...), optional spec (relative to the file, or a zoo name)."""
    path = Path(path)
    if not path.exists():
        raise OptionError(f"points file not found: {path}")
    base = path.parent
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        raise OptionError(f"points file must be .yaml, .yml or .csv: {path}")
    text = _read(path)
    lines: list = []
    if suffix in (".yaml", ".yml"):
        from .spec.yamlio import load_yaml
        try:
            doc = load_yaml(text, str(path))
        except ArchcalcError as err:
            raise OptionError(f"points file {err}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("points"), list):
            raise OptionError(f"{path}: expected a mapping with a 'points:' list")
        rows = doc["points"]
        lines = list(getattr(rows, "item_lines", []))
        default_spec, source = doc.get("spec"), doc.get("source", "")
    else:
        body = [line for line in text.splitlines(keepends=True) if not line.startswith("#")]
        rows = list(csv.DictReader(io.StringIO("".join(body))))
        default_spec, source = None, ""
    out = []
    for i, row in enumerate(rows):
        where = f"{path}:{lines[i]}" if i < len(lines) else f"{path}: point {i + 1}"
        if not isinstance(row, dict):
            raise OptionError(f"{where}: a point is a mapping (label, width, resolution, ...)")
        p: dict = {"source": row.get("source") or source, "file": str(path), "index": i + 1}
        spec = row.get("spec") or default_spec
        if spec:
            p["spec"] = spec_ref(spec, base)
        p["label"] = str(row.get("label") or row.get("checkpoint") or f"{path.stem} {i + 1}")
        width = row.get("width", row.get("multiplier"))
        if width not in (None, ""):
            p["width"] = number(width, f"{where}: width")
        res = row.get("resolution")
        if res not in (None, ""):
            p["resolution"] = number(res, f"{where}: resolution")
        binds = row.get("set")
        if binds not in (None, ""):
            if not isinstance(binds, dict):
                raise OptionError(f"{where}: set: expected a mapping of spec parameters")
            p["set"] = {str(k): str(v) for k, v in binds.items()}
        for k, v in row.items():
            if k in RESERVED or k is None or v in (None, "") or isinstance(v, bool):
                continue
            try:
                p[str(k)] = number(v, f"{where}: {k}")
            except OptionError:
                if isinstance(v, (int, float)) or re.match(r"\s*[-+.\d]", str(v)):
                    raise       # a number out of bounds (1e999, nan) is an error, not text
                p[str(k)] = v
        out.append(p)
    return out


def published_for(spec_path) -> Path | None:
    """The published-points file that belongs to a spec: <spec dir>/published/<file name>
    (a zoo name is resolved to its file first)."""
    from .zoo import resolve
    p = Path(resolve(spec_path))
    candidate = p.parent / "published" / p.name
    return candidate if candidate.is_file() else None


def metric_names(points) -> list[str]:
    """The metric names present in points (numbers under a non-reserved key)."""
    seen: dict = {}
    for p in points:
        for k, v in p.items():
            if k not in RESERVED and k not in ("file", "index", "origin", "spec_name") and \
                    isinstance(v, (int, Fraction)) and not isinstance(v, bool):
                seen.setdefault(k, None)
    return list(seen)


# (key in compare's published figures, metric name in points files): ImageNet top-1, Pixel-1
# latency, COCO detection mAP (MobileNetV2 Table 6), PASCAL VOC mIOU (Table 7), and the
# params / MAdds a paper prints for the row (paper_params, paper_madds)
PUBLISHED_METRICS = (("top1", "top1"), ("latency_ms", "pixel1_ms"), ("coco_map", "coco_map"),
                     ("voc_miou", "voc_miou"), ("paper_params", "paper_params"),
                     ("paper_madds", "paper_madds"))


def published_point(spec_path, spec, width, resolution) -> dict | None:
    """Published figures (PUBLISHED_METRICS) for `spec` (bound parameters) at (width,
    resolution), from <spec dir>/published/<spec file>: the first matching row that has each
    metric, with the sources joined."""
    found = published_for(spec_path)
    if found is None:
        return None
    params = {p.name: p.value for p in spec.params}
    out: dict = {}
    sources: list = []
    for point in load_points(found):
        if point.get("width") != width or point.get("resolution") != resolution:
            continue
        wanted = point.get("set") or {}
        if not isinstance(wanted, dict) or any(str(params.get(k)) != str(v) for k, v in wanted.items()):
            continue
        for metric, key in PUBLISHED_METRICS:
            if metric not in out and point.get(key) is not None:
                out[metric] = float(point[key])
                if point["source"] not in sources:
                    sources.append(point["source"])
    if not out:
        return None
    out["source"] = "; ".join(sources)
    return out
