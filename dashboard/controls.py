"""The values the dashboard's controls offer and what a browser's value snaps to.

The slider ranges are the dashboard's own (a width multiplier from 0.1 to 2, a resolution
from 32 to 512). The conventions and dtypes are archcalc's, listed from their one
definition (`archcalc.cost.CONVENTIONS`, `archcalc.cost.DTYPE_BYTES`), and so are their
labels (each convention's own fields). Whatever a browser sends goes through
`width_text` / `resolution_value` before it reaches archcalc: the width snapped to the
slider's 0.01 grid as the exact decimal it stands for, the resolution rounded and clamped.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

from archcalc import cost
from archcalc.numbers import decimal_text

WIDTH_MIN, WIDTH_MAX, WIDTH_STEP = 0.1, 2.0, 0.05
RES_MIN, RES_MAX = 32, 512
CONVENTIONS = tuple(cost.CONVENTIONS)      # paper, torchvision, tf-slim
DTYPES = tuple(cost.DTYPE_BYTES)           # fp32, fp16, bf16, int8


def convention_label(name: str) -> str:
    """A convention as a dropdown shows it, from its own fields: 'torchvision (BN counted,
    1000 classes)'."""
    conv = cost.CONVENTIONS[name]
    parts = ["BN counted" if conv.bn_params else "BN not counted"]
    if conv.madds_rules:
        parts.insert(0, f"MAdds as {conv.madds_rules} counts")
    if conv.num_classes:
        parts.append(f"{conv.num_classes} classes")
    return f"{conv.name} ({', '.join(parts)})"


def width_text(value) -> str:
    """A slider's float (0.35000000000000003) -> the exact decimal it stands for ('0.35'),
    snapped to 0.01 and clamped to [0.1, 2.0]."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = 1.0
    if not math.isfinite(v):
        v = 1.0
    v = min(max(v, WIDTH_MIN), WIDTH_MAX)
    return decimal_text(Fraction(round(v * 100), 100))


def resolution_value(value, default: int = 224) -> int:
    """A browser's resolution as an int in [RES_MIN, RES_MAX] (`default` when not a number)."""
    try:
        v = int(round(float(value)))
    except (TypeError, ValueError, OverflowError):
        v = default
    return min(max(v, RES_MIN), RES_MAX)


def sets_key(sets: Mapping[str, Any] | None) -> tuple:
    """Parameter values as a hashable key: sorted (name, text) pairs, empty values dropped."""
    return tuple(sorted((str(k), str(v)) for k, v in (sets or {}).items()
                        if v is not None and str(v).strip() != ""))
