"""Every op's row of a symbolic CostTable at one point, exactly, from code compiled once.

A symbolic table's rows are polynomials in *atoms*: each maximal function application of
the closed forms (a channel count `make_divisible(16*alpha, 8, 8)`, a spatial size
`ceiling(r/32)`, `Max(1, alpha)`). `RowProgram` compiles (archcalc.cost.codegen) one function
computing every atom at a point and one computing every row's metrics and output shape from
the atoms: a few thousand int operations per point (well under a millisecond for the zoo),
where substituting the point into each sympy expression takes tens of milliseconds.
`CostTable.at` and `Evaluator.table` both use it; the totals are summed by
archcalc.cost.analyze.totals, as for any table.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from ..numbers import exact_python
from .analyze import LayerCost
from .codegen import ExactSource, guard_test

# a LayerCost's exact fields, in the order the compiled function returns them per row
ROW_FIELDS = ("params", "bn_params", "madds", "elementwise_ops", "memory_bytes", "live_bytes",
              "live_bytes_streamed")
LAYER_FIELDS = ("name", "layer", "block", "op", "label", "output_shape") + ROW_FIELDS
# the atoms whose generated code always returns an int (archcalc.cost.codegen, rounding)
INT_ATOMS = frozenset({"make_divisible", "truncate", "round_half_even", "ceiling", "floor"})


class RowProgram:
    """The rows of a symbolic CostTable, compiled for exact evaluation at any point."""

    def __init__(self, table):
        import sympy

        from .. import symbolic
        self.table = table
        alpha, r = symbolic.alpha, symbolic.r
        Application = sympy.core.function.Application
        atoms: dict = {}

        def leaf(e):
            if e == alpha:
                return "alpha"
            if e == r:
                return "r"
            if isinstance(e, Application):
                i = atoms.get(e)
                if i is None:
                    i = atoms[e] = len(atoms)
                return f"b[{i}]"
            return None

        source = ExactSource()
        values = []
        # every row takes the same slots (so a metric's values are every k-th value): its
        # output shape padded with zeros to the widest rank (C x H x W, or a token tensor's)
        rank = max([len(row.output_shape) for row in table.rows] + [3])
        for row in table.rows:
            for v in [*(getattr(row, m) for m in ROW_FIELDS), *row.output_shape]:
                values.append(source(sympy.sympify(v), leaf))
            values += ["0"] * (rank - len(row.output_shape))
        body = "[" + ", ".join(values) + "]"
        self._rows = source.compile("alpha, r, b", body)
        # Ints only (no conversion needed at a point) when every atom is an integer rounding
        # and the rows use no rational constant, no bare alpha and no reciprocal.
        self._ints = (not source.consts and all(type(e).__name__ in INT_ATOMS for e in atoms)
                      and re.search(r"\balpha\b|_reciprocal", body) is None)
        point = {alpha: "alpha", r: "r"}.get
        self._atoms = source.compile(
            "alpha, r", "[" + ", ".join(source(e, point) for e in atoms) + "]")
        self._guards = [guard_test(g, alpha, source) for g in table.guards]
        self._stride = len(ROW_FIELDS) + rank
        self._heads = [(row.name, row.layer, row.block, row.op, row.label) for row in table.rows]
        self._ranks = [len(row.output_shape) for row in table.rows]

    def guard_fires(self, width) -> bool:
        """Whether a structural guard fires at this width (the closed forms do not hold)."""
        return any(g(width) for g in self._guards)

    def rows(self, width, resolution, columns: bool = False):
        """Every row at (width, resolution): exact ints (Fractions where not whole), as a
        LazyRows (a sequence of LayerCost built on first access); with `columns`,
        (rows, {ROW_FIELDS name: its values in row order}) for the totals."""
        vals = self._rows(width, resolution, self._atoms(width, resolution))
        if not self._ints and set(map(type, vals)) != {int}:   # convert only if needed
            vals = [v if type(v) is int else exact_python(v) for v in vals]
        k = self._stride
        out = LazyRows(self._heads, vals, k, self._ranks)
        if columns:
            return out, {m: vals[i::k] for i, m in enumerate(ROW_FIELDS)}
        return out


class LazyRows(Sequence):
    """A table's rows at a point, as a read-only sequence of LayerCost that builds the row
    objects on first access (building 150 frozen dataclasses costs more than computing their
    numbers). It equals the tuple of the same rows, hashes and pickles as that tuple, and
    slices to tuples, so a table from it is indistinguishable from a compiled one."""

    __slots__ = ("_heads", "_vals", "_stride", "_ranks", "_built")

    def __init__(self, heads, vals, stride: int, ranks):
        self._heads, self._vals, self._stride, self._ranks = heads, vals, stride, ranks
        self._built = None

    def _all(self) -> tuple:
        built = self._built
        if built is None:
            vals, k = self._vals, self._stride
            new, fields, out = object.__new__, LAYER_FIELDS, []
            for j, head, rank in zip(range(0, len(vals), k), self._heads, self._ranks):
                row = new(LayerCost)       # LayerCost(*fields) without its frozen __init__'s
                row.__dict__.update(zip(fields, (*head, tuple(vals[j + 7:j + 7 + rank]),
                                                 *vals[j:j + 7])))    # per-field setattr calls
                out.append(row)
            built = self._built = tuple(out)
        return built

    def __len__(self) -> int:
        return len(self._heads)

    def __getitem__(self, i):
        return self._all()[i]

    def __iter__(self):
        return iter(self._all())

    def __reversed__(self):
        return reversed(self._all())

    def __contains__(self, row) -> bool:
        return row in self._all()

    def __eq__(self, other):
        if isinstance(other, LazyRows):
            return self._all() == other._all()
        if isinstance(other, tuple):
            return self._all() == other
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(self._all())

    def __add__(self, other):
        return self._all() + tuple(other) if isinstance(other, (tuple, LazyRows)) \
            else NotImplemented

    def __radd__(self, other):
        return tuple(other) + self._all() if isinstance(other, tuple) else NotImplemented

    def __repr__(self) -> str:
        return repr(self._all())

    def __reduce__(self):                 # pickles (and deep-copies) as the plain tuple
        return tuple, (self._all(),)
