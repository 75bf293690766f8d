"""The seed papers' analytic cost claims, derived by archcalc from its own per-op rules.

Each claim builds tiny op-graphs with *symbolic* channel counts, kernel and map sizes (sympy
symbols M, N, D_K, D_F, t, g, ...) through the same graph compiler row handlers and the same
cost rules (archcalc/ops/) that every report uses, then costs them with `analyze` and lets
sympy simplify the ratio. Nothing here types a cost formula in: the only formulas written
below are the papers' statements, which each derivation is compared against.

Claims:
* separable: MobileNetV1 (Howard et al. 2017, Sec. 3.1, eq. 5): depthwise separable /
  standard convolution = 1/N + 1/D_K^2 (about 1/9 for 3x3 kernels).
* bottleneck: MobileNetV2 (Sandler et al. 2018): the block's two 1x1 convolutions (expand to
  t*d, project back to d) cost 2/t of one full 1x1 convolution on the expanded t*d width
  (1/3 at t = 6).
* block: MobileNetV2 Sec. 3.3: a bottleneck block of size h x w, expansion t, kernel k, d'
  input and d'' output channels costs h*w*d'*t*(d' + k^2 + d'') multiply-adds.
* shufflenet: ShuffleNet (Zhang et al. 2017, Sec. 3.2): with input c x h x w and bottleneck
  width m, a ShuffleNet unit costs hw(2cm/g + 9m), a ResNet bottleneck hw(2cm + 9m^2) and a
  ResNeXt unit hw(2cm + 9m^2/g).

`derive()` returns Claim dataclasses; their text (plain or LaTeX): archcalc.report.derive.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CLAIMS = ("separable", "bottleneck", "block", "shufflenet")


@dataclass
class Claim:
    name: str
    title: str
    source: str
    assumptions: str
    derived: list = field(default_factory=list)     # [(label, ops, sympy expr)] from the rules
    results: list = field(default_factory=list)     # [(label, derived expr, paper expr, holds)]
    notes: list = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return all(r[3] for r in self.results)


def _sym(name: str):
    import sympy
    return sympy.Symbol(name, positive=True, integer=True)


class _Tiny:
    """A one-input op-graph with symbolic shapes, built by the spec compiler's row handlers."""

    def __init__(self, channels, height, width):
        from ..graph.archgraph import ArchGraph
        from ..graph.compile import RowCompiler, RowOutput
        from ..graph.width import SymbolicDomain
        from ..ops import Op, OpKind
        from ..spec import schema
        spec = schema.NetworkSpec(name="derivation", path="<derivation>", input_channels=3,
                                  resolution=224, width=schema.WidthRule(rounding="none"),
                                  sections=())
        self.graph = ArchGraph(spec=spec, width=None, resolution=None, symbolic=True)
        self.builder = RowCompiler(spec, self.graph, SymbolicDomain())
        node = self.graph.add(Op(kind=OpKind.INPUT, name="input", layer="input", block="input",
                                 out_ch=channels), (channels, height, width), [])
        self.x = RowOutput(node, channels)
        self.schema = schema
        self.count = 0

    def row(self, kind: str, stride: int = 1, **fields):
        """Apply one spec row (as the compiler would for `op: kind`) to the current tensor."""
        cls = self.schema.ROW_TYPES[kind]
        row = cls(op=kind, line=0, **fields)
        self.x = self.builder.row(row, self.x, stride, f"derivation.{self.count}")
        self.count += 1
        return self

    def table(self):
        from ..cost import analyze
        return analyze(self.graph, "paper")

    def madds(self):
        return self.table().totals["madds"]

    def ops(self) -> str:
        labels = [r.label for r in self.table().rows if r.op not in ("input", "bn", "act")]
        return " + ".join(label.replace(" gg", " (g groups)") for label in labels)


def _check(derived, paper) -> bool:
    import sympy
    return sympy.simplify(derived - paper) == 0


def separable() -> Claim:
    import sympy
    M, N, DK, DF = _sym("M"), _sym("N"), _sym("D_K"), _sym("D_F")
    std = _Tiny(M, DF, DF).row("conv", c=N, k=DK, scale="none")
    sep = _Tiny(M, DF, DF).row("sepconv", c=N, k=DK, scale="none")
    c_std, c_sep = std.madds(), sep.madds()
    ratio = sympy.expand(sympy.simplify(c_sep / c_std))
    paper = 1 / N + 1 / DK**2
    claim = Claim("separable", "depthwise separable vs standard convolution",
                  "MobileNetV1, Howard et al. 2017, arXiv:1704.04861, Sec. 3.1, eq. (5)",
                  "input M x D_F x D_F, N output channels, D_K x D_K kernel, stride 1, 'same' "
                  "padding; MAdds of the convolutions (BN and ReLU add none)")
    claim.derived = [("standard", std.ops(), c_std), ("separable", sep.ops(), c_sep)]
    claim.results = [("separable / standard", ratio, paper, _check(ratio, paper))]
    at3 = ratio.subs(DK, 3)
    claim.notes = [f"at D_K = 3: {at3}; N = 1024: {float(at3.subs(N, 1024)):.4f} "
                   f"({float(1 / at3.subs(N, 1024)):.2f}x fewer MAdds); limit N -> oo: "
                   f"{sympy.limit(at3, N, sympy.oo)}"]
    return claim


def bottleneck() -> Claim:
    import sympy
    d, t, h, w = _sym("d"), _sym("t"), _sym("h"), _sym("w")
    block = _Tiny(d, h, w).row("bottleneck", t=t, c=d, s=1, scale="none")
    table = block.table()
    pointwise = sum(r.madds for r in table.rows if r.op == "pointwise")
    full = _Tiny(t * d, h, w).row("pwconv", c=t * d, scale="none")
    c_full = full.madds()
    ratio = sympy.simplify(pointwise / c_full)
    paper = 2 / t
    claim = Claim("bottleneck", "a bottleneck's two 1x1 convolutions vs one full 1x1 convolution",
                  "MobileNetV2, Sandler et al. 2018, arXiv:1801.04381, Sec. 3.3 / Table 1",
                  "block input and output d x h x w, expansion t, stride 1; the full 1x1 "
                  "convolution maps the expanded t*d channels to t*d channels")
    claim.derived = [("expand + project 1x1", "pwconv 1x1 (d -> t*d) + pwconv 1x1 (t*d -> d)",
                      pointwise),
                     ("one full 1x1", full.ops() + " (t*d -> t*d)", c_full)]
    claim.results = [("two 1x1 / full 1x1", ratio, paper, _check(ratio, paper))]
    claim.notes = [f"at t = 6: {ratio.subs(t, 6)}"]
    return claim


def block() -> Claim:
    import sympy
    d1, d2, t, k, h, w = (_sym(n) for n in ("d'", "d''", "t", "k", "h", "w"))
    tiny = _Tiny(d1, h, w).row("bottleneck", t=t, c=d2, k=k, s=1, scale="none")
    cost = tiny.madds()
    paper = h * w * d1 * t * (d1 + k**2 + d2)
    claim = Claim("block", "the MobileNetV2 bottleneck block's multiply-adds",
                  "MobileNetV2, Sandler et al. 2018, arXiv:1801.04381, Sec. 3.3",
                  "input d' x h x w, expansion t, k x k depthwise, d'' output channels, stride 1")
    claim.derived = [("bottleneck block", tiny.ops(), cost)]
    claim.results = [("MAdds", sympy.factor(cost), paper, _check(cost, paper))]
    s2 = _Tiny(d1, h, w).row("bottleneck", stride=2, t=t, c=d2, k=k, s=2, scale="none").madds()
    claim.notes = [f"with stride 2 the depthwise and projection run at the output size: "
                   f"{sympy.factor(s2)}"]
    return claim


def shufflenet() -> Claim:
    c, m, g, h, w = (_sym(n) for n in ("c", "m", "g", "h", "w"))
    shuffle = (_Tiny(c, h, w).row("pwconv", c=m, groups=g, scale="none")
               .row("dwconv", k=3, act="linear").row("pwconv", c=c, groups=g, act="linear",
                                                     scale="none"))
    resnet = (_Tiny(c, h, w).row("pwconv", c=m, scale="none").row("conv", c=m, k=3, scale="none")
              .row("pwconv", c=c, act="linear", scale="none"))
    resnext = (_Tiny(c, h, w).row("pwconv", c=m, scale="none")
               .row("conv", c=m, k=3, groups=g, scale="none")
               .row("pwconv", c=c, act="linear", scale="none"))
    claim = Claim("shufflenet", "ShuffleNet unit vs ResNet and ResNeXt bottleneck units",
                  "ShuffleNet, Zhang et al. 2017, arXiv:1707.01083, Sec. 3.2",
                  "input c x h x w, bottleneck width m, g groups, stride 1; the channel "
                  "shuffle and the residual add cost no multiply-adds")
    papers = {"ShuffleNet unit": h * w * (2 * c * m / g + 9 * m),
              "ResNet bottleneck": h * w * (2 * c * m + 9 * m**2),
              "ResNeXt unit": h * w * (2 * c * m + 9 * m**2 / g)}
    for label, tiny in (("ShuffleNet unit", shuffle), ("ResNet bottleneck", resnet),
                        ("ResNeXt unit", resnext)):
        cost = tiny.madds()
        claim.derived.append((label, tiny.ops(), cost))
        claim.results.append((label, _nice(cost, h * w), papers[label], _check(cost, papers[label])))
    import sympy
    ratio = sympy.simplify(papers["ShuffleNet unit"] / papers["ResNet bottleneck"])
    claim.notes = [f"ShuffleNet / ResNet = {ratio}; e.g. c = 4m, g = 3: "
                   f"{sympy.nsimplify(ratio.subs({c: 4 * m, g: 3}).simplify())} "
                   f"(-> {sympy.limit(ratio.subs({c: 4 * m, g: 3}), m, sympy.oo)} for wide units)"]
    return claim


def _nice(expr, factor):
    import sympy
    return sympy.Mul(factor, sympy.expand(sympy.simplify(expr / factor)), evaluate=False)


_BUILDERS = {"separable": separable, "bottleneck": bottleneck, "block": block,
             "shufflenet": shufflenet}


def derive(names=None) -> list[Claim]:
    from ..errors import OptionError, closest
    names = list(names or CLAIMS)
    out = []
    for n in names:
        if n not in _BUILDERS:
            hint = closest(n, CLAIMS)
            raise OptionError(f"unknown claim {n!r} (known: {', '.join(CLAIMS)})"
                              + (f"; did you mean '{hint}'?" if hint else ""))
        out.append(_BUILDERS[n]())
    return out
