"""Readable numbers for tables (exact integers stay in CSV and JSON).

Any int or Fraction formats without float overflow: values from 1,000 T up are written in
scientific notation from their exact decimal value (`1.23e+40`), never through float().
"""
from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

_PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
_HUGE = 10**15


def _scientific(value) -> str:
    with localcontext() as ctx:
        ctx.prec = 6
        if isinstance(value, Fraction):
            d = Decimal(value.numerator) / Decimal(value.denominator)
        else:
            d = +Decimal(value)
        return f"{d:.2e}"


def _scaled(value, prefixes, suffix: str, huge_suffix: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, (int, Fraction)) and abs(value) >= _HUGE:
        return _scientific(value) + huge_suffix
    v = float(value)
    for factor, prefix in prefixes:
        if abs(v) >= factor:
            x = v / factor
            digits = 2 if abs(x) < 10 else 1 if abs(x) < 1000 else 0
            return f"{x:.{digits}f}{prefix}{suffix}"
    return f"{int(v)}{suffix}" if v == int(v) else f"{v:.2f}{suffix}"


def human_count(value) -> str:
    """300774272 -> '300.8M'; 3470760 -> '3.47M'; 864 -> '864'; 10**40 -> '1.00e+40'."""
    return _scaled(value, _PREFIXES, "")


def human_bytes(value) -> str:
    """Decimal units, as the MobileNetV2 paper's Table 3: 401408 -> '401.4 kB'."""
    return _scaled(value, ((10**9, " G"), (10**6, " M"), (10**3, " k")), "B", " B") \
        if value else "0 B"
