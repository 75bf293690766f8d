"""Generated integer sources evaluated on whole numpy int64 arrays, where that is provably
exact: the resolution atoms of a sweep (e.g. a variant's peak memory, Max(12*r**2, ...,
576*ceiling(r/32)**2 + ...)) at every resolution at once instead of one Python call each.

A source (archcalc.cost.codegen, the one code generator) qualifies when it is built only from
its variable, integer constants, + - *, powers with a constant exponent, and the generated
helpers `_ceil_div` / `_floor_div` by a positive constant and `_max` / `_min`: integer
arithmetic whose numpy int64 results equal Python's (floor division rounds toward -infinity
in both) as long as nothing overflows. `majorant` bounds every intermediate value from the
largest |value| of the variable (|a + b| <= |a| + |b|, |a * b| = |a| |b|, |ceil(n / d)| and
|floor(n / d)| <= |n| for d >= 1); the array path is taken only when that bound is below
2^62, and otherwise, or for any other source (Fractions, rounding rules, comparisons), the
caller evaluates one value at a time, as before.
"""
from __future__ import annotations

import ast
import functools

SAFE_BOUND = 2**62
HELPERS = ("_ceil_div", "_floor_div", "_max", "_min")


def _check(node, var: str) -> bool:
    """Whether `node` only uses what the array path evaluates exactly (`var` alone, or its
    elements `var[i]`: the base atoms a composite atom is a polynomial in)."""
    if isinstance(node, ast.Name):
        return node.id == var
    if isinstance(node, ast.Subscript):
        return (isinstance(node.value, ast.Name) and node.value.id == var
                and isinstance(node.slice, ast.Constant) and type(node.slice.value) is int)
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.UAdd)) and _check(node.operand, var)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            return _check(node.left, var) and _check(node.right, var)
        if isinstance(node.op, ast.Pow):
            return (isinstance(node.right, ast.Constant) and type(node.right.value) is int
                    and 0 <= node.right.value <= 8 and _check(node.left, var))
        return False
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in HELPERS) or node.keywords:
            return False
        if node.func.id in ("_ceil_div", "_floor_div"):
            return (len(node.args) == 2 and isinstance(node.args[1], ast.Constant)
                    and type(node.args[1].value) is int and node.args[1].value >= 1
                    and _check(node.args[0], var))
        return bool(node.args) and all(_check(a, var) for a in node.args)
    return False


def majorant(node, bound) -> int:
    """An upper bound on |value| of `node` and of every value computed inside it, when the
    variable's values are at most `bound` in absolute value (a node that passed _check; for
    `var[i]`, `bound` is a sequence: bound[i] for element i, None where it is unknown)."""
    if isinstance(node, ast.Name):
        return bound
    if isinstance(node, ast.Subscript):
        found = bound[node.slice.value]
        return SAFE_BOUND + 1 if found is None else found
    if isinstance(node, ast.Constant):
        return abs(node.value)
    if isinstance(node, ast.UnaryOp):
        return majorant(node.operand, bound)
    if isinstance(node, ast.BinOp):
        left = majorant(node.left, bound)
        if isinstance(node.op, ast.Pow):
            return left if left > SAFE_BOUND else max(left, left ** node.right.value)
        right = majorant(node.right, bound)
        out = left + right if not isinstance(node.op, ast.Mult) else left * right
        return max(out, left, right)
    parts = [majorant(a, bound) for a in node.args]          # a helper call
    return max(parts)


def _vmax(*args):
    import numpy as np
    return functools.reduce(np.maximum, args)


def _vmin(*args):
    import numpy as np
    return functools.reduce(np.minimum, args)


# in place of codegen's scalar helpers: its integer divisions (-((-n) // d), n // d) work on
# int64 arrays as they are; max and min need their element-wise forms
NAMESPACE = {"_max": _vmax, "_min": _vmin}


class ArrayFunction:
    """The source `body` of one variable `var`, for whole int64 arrays (see the module)."""

    def __init__(self, var: str, body: str, source):
        """`source`: the archcalc.cost.codegen.ExactSource that wrote `body` (it compiles
        generated code; here with the array forms of max and min)."""
        self.tree = ast.parse(body, mode="eval").body
        self.ok = _check(self.tree, var)
        self.fn = source.compile(var, body, NAMESPACE) if self.ok else None

    def __call__(self, values, bound, length: int | None = None):
        """The values at every element of the int64 array `values` (|values| <= bound), as an
        int64 array of that length; None where the array path is not exact. For a source in
        `var[i]`, `values` is a list of int64 arrays of `length` elements each and `bound`
        their bounds."""
        import numpy as np
        if not self.ok or majorant(self.tree, bound) > SAFE_BOUND:
            return None
        shape = values.shape if length is None else (length,)
        out = np.broadcast_to(np.asarray(self.fn(values)), shape)
        return out if out.dtype == np.int64 else None
