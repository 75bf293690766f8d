"""Multi-scale, flipped inference (MobileNetV2 Table 7's "MF"; DeepLabv3, Chen et al. 2017,
arXiv:1706.05587, Sec. 4.1 "multi-scale inputs during inference" and "left-right flipped
inputs"): a spec's `multiscale:` section evaluates the network once per (scale, flip); the
passes' MAdds are summed, the parameters are the network's own (every pass shares them).

Pass sizes per side of the point's H x W: `scaled` floor(H s); `tf` TF DeepLab's
scale_dimension, floor((H - 1) s) + 1 (513 at s = 1, 257 at 0.5, 897 at 1.75). A flip is a
left-right mirror of the image: the same costs as the unflipped pass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from ..errors import SpecError
from ..limits import MAX_RESOLUTION
from ..numbers import decimal_text
from ..spec.schema import input_size, sides


@dataclass(frozen=True)
class Pass:
    """One inference pass: its scale, whether flipped, its input size and its MAdds."""
    scale: Any
    flip: bool
    resolution: Any
    madds: Any


def scaled_side(side: int, scale, rule: str) -> int:
    """One side of a pass's input (see the module docstring)."""
    s = Fraction(scale)
    return max(1, math.floor((side - 1) * s) + 1 if rule == "tf" else math.floor(side * s))


def pass_sizes(multiscale, resolution) -> list:
    """[(scale, flip, input size)] in order: each scale unflipped, then flipped if asked."""
    h, w = sides(resolution)
    out = []
    for s in multiscale.scales:
        size = input_size(scaled_side(h, s, multiscale.sizes), scaled_side(w, s, multiscale.sizes))
        out.append((s, False, size))
        if multiscale.flip:
            out.append((s, True, size))
    return out


def inference_passes(graph, convention, dtype: str) -> tuple:
    """The passes of `graph`'s spec at its point (none without a multiscale section): each
    compiled at its size and costed under `convention`; flipped passes reuse the cost of the
    unflipped one at the same size."""
    spec = graph.spec
    if getattr(spec, "multiscale", None) is None or graph.symbolic:
        return ()
    from ..graph.compile import compile_graph
    from .analyze import analyze
    single = replace(spec, multiscale=None)
    cost: dict = {}
    out = []
    for scale, flip, size in pass_sizes(spec.multiscale, graph.resolution):
        if max(sides(size)) > MAX_RESOLUTION:
            raise SpecError(f"the pass at scale {decimal_text(scale)} is {size} pixels, above the "
                            f"limit {MAX_RESOLUTION:,} (MAX_RESOLUTION)", path=spec.path,
                            line=spec.multiscale.line, key="multiscale.scales")
        if size not in cost:
            cost[size] = analyze(compile_graph(single, graph.width, size), convention,
                                 dtype).totals["madds"]
        out.append(Pass(scale, flip, size, cost[size]))
    return tuple(out)


def symbolic_madds(multiscale, madds):
    """A closed form's MAdds summed over the passes: the single-pass form in r with r replaced
    by each pass's side (floor((r - 1) s) + 1 or floor(r s)), twice with flips."""
    import sympy

    from .. import symbolic
    total = 0
    for s in multiscale.scales:
        q = sympy.Rational(Fraction(s).numerator, Fraction(s).denominator)
        side = sympy.floor((symbolic.r - 1) * q) + 1 if multiscale.sizes == "tf" else \
            sympy.floor(symbolic.r * q)
        total += (2 if multiscale.flip else 1) * madds.xreplace({symbolic.r: side})
    return total
