"""A spec that cannot be built fails the design commands as it fails `archcalc report`.

The engine skips grid points where the spec cannot be built (Evaluator.valid: no channels
left, a spatial size below 1, a concat of different sizes, ...). When *no* point of a request
can be built, the answer is not an empty table: it is the located error a concrete compile
gives (file:line: key: message), raised here.
"""
from __future__ import annotations

from ..errors import OptionError, SpecError


def concrete_error(spec, width=None, resolution=None) -> SpecError | None:
    """The SpecError compiling `spec` at one point raises, or None when it builds."""
    from ..graph import compile_graph
    try:
        compile_graph(spec, width, resolution)
    except SpecError as err:
        return err
    return None


def require_buildable_at_own_point(spec) -> None:
    """Raise what `archcalc report SPEC` raises (width 1, the spec's resolution), if anything."""
    err = concrete_error(spec)
    if err is not None:
        raise err.located(spec.path) from None


def fail_nowhere_buildable(forms, width, resolution, what: str = "grid") -> None:
    """Raise the located error of a concrete compile at (width, resolution), said to hold at
    every point of the request."""
    from ..numbers import decimal_text
    err = concrete_error(forms.spec, width, resolution)
    where = f"at every point of the {what}, e.g. width {decimal_text(width)}, resolution {resolution}"
    if err is None:       # the engine's checks and the compiler disagree: say so, do not guess
        raise OptionError(f"{forms.spec.name}: no point of the {what} passed the engine's "
                          f"build checks, yet width {decimal_text(width)}, resolution "
                          f"{resolution} compiles (please report this)")
    raise SpecError(f"{err.message} ({where})", path=err.path or forms.spec.path, line=err.line,
                    key=err.key, hint=err.hint) from None


def require_some_valid(forms, widths, resolutions, valid, what: str = "grid") -> None:
    """`valid` (bool array over widths x resolutions, or paired points): raise when none is."""
    if valid.size and valid.any():
        return
    from ..cost.axes import resolution_values, width_values
    ws = width_values(widths)
    rs = resolution_values(resolutions, forms.spec.resolution)
    if ws and rs:
        fail_nowhere_buildable(forms, ws[0], rs[0], what)


def resolutions_never_valid(forms, rs) -> bool:
    """True when no resolution of `rs` passes the spatial checks (whatever the width)."""
    if forms.validity is None or not rs:
        return False
    return not forms.resolutions_valid(rs).any()
