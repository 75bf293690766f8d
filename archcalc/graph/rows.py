"""What passes from one spec row to the next while compiling, and how a row repeats.

`repeats` is the one place of MobileNetV2 Table 2's repeat rule (each row is repeated n
times; "the first layer of each sequence has a stride s and all others use stride 1"): the
compiler's sections (graph/compile.py) and the rows inside cells (graph/cells.py) both
iterate it. `RowOutput` is a row's result as the next row sees it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class RowOutput:
    """A row's output: its graph node, its design (unscaled) channel count and its output
    stride (the product of the strides since the input), which decide structure (residuals,
    NASNet's fits) identically at every point. None where unknown (a `from` that names a
    layer inside a block)."""
    node: str
    design_c: int | None
    output_stride: int | None = 1
    rate: int = 1          # atrous rate of the layers after it (a spec's output_stride)


def repeats(row) -> Iterator[tuple[int, int]]:
    """(repeat index, stride) of each of a row's n repeats: the first has the row's stride s
    (1 for rows without one), the others stride 1 (MobileNetV2 Table 2)."""
    first = getattr(row, "s", 1)
    return ((rep, first if rep == 0 else 1) for rep in range(row.n))
