"""The spec's `output_stride:` and `multiscale:` sections (DeepLabv3, Chen et al. 2017,
arXiv:1706.05587, Sec. 3 and 4.1; MobileNetV2 Table 7's OS and MF columns).

output_stride: {value: 16, sections: [backbone]}
    Once the running stride of a listed section's rows reaches `value`, a row that would
    stride runs at stride 1 and the k x k convs after it are dilated (graph/resample.py).
multiscale: {enabled: true, scales: [0.5, 0.75, 1.0, 1.25, 1.5, 1.75], flip: true, sizes: tf}
    Inference at every scale (and left-right flipped): one pass per (scale, flip), their
    MAdds summed (archcalc/cost/passes.py). sizes: `scaled` = floor(r s) per side; `tf` =
    TF DeepLab's scale_dimension, floor((r - 1) s) + 1 (utils/... `scale_dimension`).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError
from ..limits import MAX_INFERENCE_SCALES
from .values import boolean, identifier, one_of, pos_int, pos_number, resolve, template
from .yamlio import Located, LocatedList

OUTPUT_STRIDE_KEYS = ("value", "sections")
MULTISCALE_KEYS = ("enabled", "scales", "flip", "sizes")
SIZE_RULES = ("scaled", "tf")


@dataclass(frozen=True)
class OutputStride:
    value: int
    sections: tuple = ()      # section names it applies to; empty: every section


@dataclass(frozen=True)
class MultiScale:
    scales: tuple             # exact Fractions
    flip: bool = False
    sizes: str = "scaled"
    line: int | None = None   # of `scales:`, for errors


def _section(doc: Located, key: str, allowed, path) -> Located | None:
    raw = doc.get(key)
    if raw is None:
        return None
    if not isinstance(raw, Located):
        raise SpecError("expected a mapping", path=path, line=doc.key_lines[key], key=key)
    for k in raw:
        if k not in allowed:
            raise SpecError(f"unknown key (allowed: {', '.join(allowed)})", path=path,
                            line=raw.key_lines[k], key=f"{key}.{k}")
    return raw


def _value(raw: Located, key: str, check, default, path, prefix, scope, names):
    if key not in raw:
        return default
    line, where = raw.key_lines[key], f"{prefix}.{key}"
    value = resolve(template(raw[key], names, path, line, where), scope, path, line, where)
    try:
        return check(value)
    except ValueError as err:
        raise SpecError(str(err), path=path, line=line, key=where) from None


def _names(raw: Located, key: str, path, prefix) -> tuple:
    value = raw.get(key)
    if value is None:
        return ()
    line = raw.key_lines[key]
    if not isinstance(value, LocatedList) or not value:
        raise SpecError("expected a non-empty list", path=path, line=line, key=f"{prefix}.{key}")
    try:
        return tuple(identifier(v) for v in value)
    except ValueError as err:
        raise SpecError(str(err), path=path, line=line, key=f"{prefix}.{key}") from None


def parse_output_stride(doc: Located, path, scope, names) -> OutputStride | None:
    raw = _section(doc, "output_stride", OUTPUT_STRIDE_KEYS, path)
    if raw is None:
        return None
    if "value" not in raw:
        raise SpecError("missing required key 'value'", path=path, line=raw.line,
                        key="output_stride.value")
    value = _value(raw, "value", pos_int, None, path, "output_stride", scope, names)
    return OutputStride(value, _names(raw, "sections", path, "output_stride"))


def parse_multiscale(doc: Located, path, scope, names) -> MultiScale | None:
    raw = _section(doc, "multiscale", MULTISCALE_KEYS, path)
    if raw is None:
        return None
    if not _value(raw, "enabled", boolean, True, path, "multiscale", scope, names):
        return None
    scales = raw.get("scales")
    line = raw.key_lines.get("scales", raw.line)
    if not isinstance(scales, LocatedList) or not scales or len(scales) > MAX_INFERENCE_SCALES:
        raise SpecError(f"expected a non-empty list of scales (at most {MAX_INFERENCE_SCALES:,}; "
                        f"MAX_INFERENCE_SCALES)", path=path, line=line, key="multiscale.scales")
    try:
        values = tuple(pos_number(v) for v in scales)
    except ValueError as err:
        raise SpecError(str(err), path=path, line=line, key="multiscale.scales") from None
    return MultiScale(values, _value(raw, "flip", boolean, False, path, "multiscale", scope, names),
                      _value(raw, "sizes", one_of(SIZE_RULES), "scaled", path, "multiscale",
                             scope, names), line)
