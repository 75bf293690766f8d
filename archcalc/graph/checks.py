"""Where a spec can be built: each check defined once, as a concrete test and as conditions.

A concrete compile (graph/compile.py, `RowCompiler`) runs `violation()` of every check on
each op it adds and raises the first one found as a located SpecError. The Evaluator
(archcalc.cost.validity) reads the same checks off a symbolic graph: `conditions()` gives,
for each op, exact conditions on its (symbolic) shapes, which it compiles into tests on alpha
alone and r alone, so that a grid knows where the spec builds without compiling each point.

A condition is a `Condition(relation, exprs, consts, axis)`: `positive` (x > 0), `at_most` (x <= limit),
`at_least_one` (x >= 1), `equal` (x == y), `divisible` (x % groups == 0 where x is whole).
`holds(*values)` decides it on exact values; a condition whose two sides are the same
expression is never produced (it holds everywhere).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..limits import MAX_CHANNELS
from ..numbers import cut
from ..ops import OpKind


@dataclass(frozen=True)
class Violation:
    """What a concrete check found: the message, the spec key it names and the row key whose
    line is reported (None: the row's own line)."""
    message: str
    key: str
    line_key: str | None = None


def _whole(v) -> bool:
    return isinstance(v, int) or (isinstance(v, Fraction) and v.denominator == 1)


# relation name -> its exact test on the values of a condition's expressions (then its consts)
RELATIONS = {
    "positive": lambda x: x > 0,
    "at_most": lambda x, limit: x <= limit,
    "at_least_one": lambda x: x >= 1,
    "equal": lambda x, y: x == y,
    # a fractional count (rounding: none) is an idealised one: groups do not apply to it
    "divisible": lambda x, groups: not _whole(x) or x % groups == 0,
}
# the same tests element-wise on int64 arrays of whole counts (many widths at once,
# archcalc.cost.validity): every count is whole, so `divisible` is the remainder test alone
ARRAY_RELATIONS = dict(RELATIONS, divisible=lambda x, groups: x % groups == 0)


@dataclass(frozen=True)
class Condition:
    """An exact condition on shape expressions; `exprs` are the symbolic arguments, `consts`
    the numbers the relation takes besides them (a limit, a group count); `axis` says what
    the expressions count: "channels" (functions of alpha) or "spatial" (functions of r)."""
    relation: str
    exprs: tuple
    consts: tuple = ()
    axis: str = "channels"

    def holds(self, *values) -> bool:
        return bool(RELATIONS[self.relation](*values, *self.consts))


def _equal(a, b, axis: str) -> list:
    return [] if a == b else [Condition("equal", (a, b), (), axis)]


class ResidualShapes:
    """An add joins tensors of one shape (MobileNetV2 Fig. 6b residuals)."""

    def violation(self, op, in_shapes, shape):
        if op.kind is OpKind.ADD and in_shapes[0] != in_shapes[1]:
            return Violation(f"residual between mismatched shapes {list(in_shapes[0])} and "
                             f"{list(in_shapes[1])} at {cut(op.name)}", "residual")
        return None

    def conditions(self, op, in_shapes, shape, guarded=frozenset()):
        if op.kind is not OpKind.ADD:
            return []
        a, b = in_shapes[0], in_shapes[1]
        # channels the compiler decided on design widths carry a structural guard instead
        out = [] if frozenset((a[0], b[0])) in guarded else _equal(a[0], b[0], "channels")
        return out + _equal(a[1], b[1], "spatial") + _equal(a[2], b[2], "spatial")


class GateShape:
    """A squeeze-and-excitation gate is one value per channel of the tensor it scales."""

    def violation(self, op, in_shapes, shape):
        if op.kind is OpKind.MUL and tuple(in_shapes[1]) != (in_shapes[0][0], 1, 1):
            return Violation(f"a gate of shape {list(in_shapes[1])} cannot scale "
                             f"{list(in_shapes[0])} at {cut(op.name)}", "se")
        return None

    def conditions(self, op, in_shapes, shape, guarded=frozenset()):
        if op.kind is not OpKind.MUL:
            return []
        gate, x = in_shapes[1], in_shapes[0]
        return (_equal(gate[0], x[0], "channels") + _equal(gate[1], 1, "spatial")
                + _equal(gate[2], 1, "spatial"))


class ConcatSizes:
    """A concatenation joins tensors of one spatial size."""

    def violation(self, op, in_shapes, shape):
        if op.kind is OpKind.CONCAT and len({s[1:] for s in in_shapes}) > 1:
            return Violation(f"concatenation of different spatial sizes "
                             f"{' and '.join(str(list(s)) for s in in_shapes)} at "
                             f"{cut(op.name)}", "s")
        return None

    def conditions(self, op, in_shapes, shape, guarded=frozenset()):
        if op.kind is not OpKind.CONCAT:
            return []
        first = in_shapes[0]
        return [c for other in in_shapes[1:] for k in (1, 2)
                for c in _equal(first[k], other[k], "spatial")]


class GroupsDivide:
    """A grouped convolution's groups divide its input and output channels."""

    @staticmethod
    def _counts(op, in_shapes):
        if op.groups == 1 or not isinstance(op.groups, int):
            return []
        return [("input", in_shapes[0][0])] + \
            ([("output", op.out_ch)] if op.out_ch is not None else [])

    def violation(self, op, in_shapes, shape):
        for what, c in self._counts(op, in_shapes):
            if isinstance(c, int) and c % op.groups:
                return Violation(f"{what} channels {c} are not divisible by groups={op.groups} "
                                 f"at {cut(op.name)}", "groups", "groups")
        return None

    def conditions(self, op, in_shapes, shape, guarded=frozenset()):
        return [Condition("divisible", (c,), (op.groups,)) for _, c in self._counts(op, in_shapes)]


class BlocksDivide:
    """Space-to-depth's block size divides the spatial size (YOLOv2's reorg: 26 / 2)."""

    def violation(self, op, in_shapes, shape):
        if op.kind is OpKind.SPACE_TO_DEPTH:
            _, h, w = in_shapes[0]
            if isinstance(h, int) and (h % op.stride or w % op.stride):
                return Violation(f"space_to_depth with block {op.stride} needs a spatial size "
                                 f"divisible by it, got {h}x{w} at {cut(op.name)}", "block", "block")
        return None

    def conditions(self, op, in_shapes, shape, guarded=frozenset()):
        if op.kind is not OpKind.SPACE_TO_DEPTH:
            return []
        return [Condition("divisible", (in_shapes[0][k],), (op.stride,), "spatial") for k in (1, 2)]


class ChannelsLeft:
    """The width multiplier leaves every op at least one channel."""

    def violation(self, op, in_shapes, shape):
        if shape[0] <= 0:
            return Violation(f"no channels left at {cut(op.name)}", "c", "c")
        return None

    def conditions(self, op, in_shapes, shape, guarded=frozenset()):
        return [Condition("positive", (shape[0],))]


class ChannelLimit:
    """No op has more than MAX_CHANNELS channels (archcalc.limits)."""

    def violation(self, op, in_shapes, shape):
        c = shape[0]
        if c > MAX_CHANNELS:
            return Violation(f"{c:,} channels at {cut(op.name)} are above the limit "
                             f"{MAX_CHANNELS:,} (MAX_CHANNELS)", "c", "c")
        return None

    def conditions(self, op, in_shapes, shape, guarded=frozenset()):
        return [Condition("at_most", (shape[0],), (MAX_CHANNELS,))]


class SpatialSize:
    """Every spatial size is at least one pixel."""

    def violation(self, op, in_shapes, shape):
        _, h, w = shape
        if h < 1 or w < 1:
            key = "k" if op.kernel > 1 and op.padding != "same" else "s"
            return Violation(f"the spatial size vanishes at {cut(op.name)} (input "
                             f"{in_shapes[0][1]}x{in_shapes[0][2]}, kernel {op.kernel}, stride "
                             f"{op.stride}, padding {op.padding})", key, key)
        return None

    def conditions(self, op, in_shapes, shape, guarded=frozenset()):
        return [Condition("at_least_one", (shape[1],), (), "spatial"),
                Condition("at_least_one", (shape[2],), (), "spatial")]


# In the order a concrete compile tests them (the first violation is the one reported).
CHECKS = (ResidualShapes(), GateShape(), ConcatSizes(), GroupsDivide(), BlocksDivide(), ChannelsLeft(),
          ChannelLimit(), SpatialSize())


def first_violation(op, in_shapes, shape) -> Violation | None:
    """The first check `op` fails at a concrete point, or None (the checks are of C x H x W
    tensors: an op of other ranks, from a row of an imported model's ops, checks its own)."""
    if any(len(s) != 3 for s in (shape, *in_shapes)):
        return None
    for check in CHECKS:
        found = check.violation(op, in_shapes, shape)
        if found is not None:
            return found
    return None


def conditions(op, in_shapes, shape, guarded=frozenset()) -> list:
    """Every check's conditions for one op of a symbolic graph (`guarded`: pairs of channel
    expressions whose equality a structural guard already covers)."""
    if any(len(s) != 3 for s in (shape, *in_shapes)):
        return []
    return [c for check in CHECKS for c in check.conditions(op, in_shapes, shape, guarded)]
