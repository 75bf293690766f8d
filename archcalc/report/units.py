"""Readable numbers for tables (exact integers stay in CSV and JSON)."""
from __future__ import annotations

_PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def _scaled(value, prefixes, suffix: str) -> str:
    if value is None:
        return ""
    v = float(value)
    for factor, prefix in prefixes:
        if abs(v) >= factor:
            x = v / factor
            digits = 2 if abs(x) < 10 else 1 if abs(x) < 1000 else 0
            return f"{x:.{digits}f}{prefix}{suffix}"
    return f"{int(v)}{suffix}" if v == int(v) else f"{v:.2f}{suffix}"


def human_count(value) -> str:
    """300774272 -> '300.8M'; 3470760 -> '3.47M'; 864 -> '864'."""
    return _scaled(value, _PREFIXES, "")


def human_bytes(value) -> str:
    """Decimal units, as the MobileNetV2 paper's Table 3: 401408 -> '401.4 kB'."""
    return _scaled(value, ((10**9, " G"), (10**6, " M"), (10**3, " k")), "B") if value else "0 B"
