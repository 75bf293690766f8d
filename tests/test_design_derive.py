"""`archcalc derive`: the seed papers' analytic claims, derived symbolically from archcalc's
per-op rules, hold exactly; and each derived expression agrees with the real specs, compiled
at concrete points, on the layers it describes."""
from __future__ import annotations

import sympy

import archcalc
from archcalc.design import explain

from design_helpers import REPO, run


def _claim(name):
    (claim,) = explain.derive([name])
    return claim


def _sym(name):
    return sympy.Symbol(name, positive=True, integer=True)


def _madds_of(table, prefix: str) -> int:
    return sum(r.madds for r in table.rows if r.name.startswith(prefix))


def test_separable_is_one_over_n_plus_one_over_k_squared():
    claim = _claim("separable")
    (label, ratio, paper, holds), = claim.results
    M, N, DK, DF = (_sym(n) for n in ("M", "N", "D_K", "D_F"))
    assert holds and sympy.simplify(ratio - (1 / N + 1 / DK**2)) == 0
    assert ratio.subs({DK: 3}).subs(N, sympy.oo) == sympy.Rational(1, 9)
    # the derived separable cost is MobileNetV1's separable.2 (128 -> 128, 3x3, 56x56 at 224)
    _, _, c_sep = claim.derived[1]
    table = archcalc.evaluate(REPO / "specs" / "mobilenet_v1.yaml", 1, 224)
    assert c_sep.subs({M: 128, N: 128, DK: 3, DF: 56}) == _madds_of(table, "separable.2.")
    # and the standard conv formula is the stem's (3 -> 32, 3x3, stride 2 -> 112x112)
    _, _, c_std = claim.derived[0]
    assert c_std.subs({M: 3, N: 32, DK: 3, DF: 112}) == _madds_of(table, "stem.0.")


def test_bottleneck_two_pointwise_convs_are_two_over_t():
    claim = _claim("bottleneck")
    (_, ratio, paper, holds), = claim.results
    t, d, h, w = (_sym(n) for n in ("t", "d", "h", "w"))
    assert holds and sympy.simplify(ratio - 2 / t) == 0 and ratio.subs(t, 6) == sympy.Rational(1, 3)
    # MobileNetV2 bottlenecks.2.1: 32 -> 192 -> 32 at 28x28 (t = 6, stride 1)
    _, _, pointwise = claim.derived[0]
    table = archcalc.evaluate(REPO / "specs" / "mobilenet_v2.yaml", 1, 224)
    want = _madds_of(table, "bottlenecks.2.1.expand.") + _madds_of(table, "bottlenecks.2.1.project.")
    assert pointwise.subs({d: 32, t: 6, h: 28, w: 28}) == want


def test_mobilenet_v2_block_cost():
    claim = _claim("block")
    (_, derived, paper, holds), = claim.results
    d1, d2, t, k, h, w = (_sym(n) for n in ("d'", "d''", "t", "k", "h", "w"))
    assert holds and sympy.expand(derived - h * w * d1 * t * (d1 + k**2 + d2)) == 0
    table = archcalc.evaluate(REPO / "specs" / "mobilenet_v2.yaml", 1, 224)
    # every stride-1 block of the real network: (row, repeat, d', d'', h)
    for prefix, din, dout, size in (("bottlenecks.2.1.", 32, 32, 28), ("bottlenecks.4.0.", 64, 96, 14),
                                    ("bottlenecks.6.", 160, 320, 7)):
        assert derived.subs({d1: din, d2: dout, t: 6, k: 3, h: size, w: size}) == \
            _madds_of(table, prefix), prefix


def test_shufflenet_resnet_resnext_units():
    claim = _claim("shufflenet")
    assert claim.holds and len(claim.results) == 3
    c, m, g, h, w = (_sym(n) for n in ("c", "m", "g", "h", "w"))
    papers = {"ShuffleNet unit": h * w * (2 * c * m / g + 9 * m),
              "ResNet bottleneck": h * w * (2 * c * m + 9 * m**2),
              "ResNeXt unit": h * w * (2 * c * m + 9 * m**2 / g)}
    for label, derived, paper, holds in claim.results:
        assert holds and sympy.simplify(derived - papers[label]) == 0, label
    # the real ShuffleNet (g = 3): stage3's second unit, c = 480, m = 120, 14x14
    shuffle = next(e for label, _, e in claim.derived if label == "ShuffleNet unit")
    for groups, c_out in ((3, 480), (8, 768)):
        table = archcalc.evaluate(REPO / "specs" / "shufflenet_v1.yaml", 1, 224,
                                  sets={"groups": str(groups)})
        assert shuffle.subs({c: c_out, m: c_out // 4, g: groups, h: 14, w: 14}) == \
            _madds_of(table, "stage3.0.1."), groups


def test_cli_derive_and_alias():
    rc, out, err = run("derive")
    assert rc == 0 and err == ""
    assert out.count("-> holds") == 6 and "DOES NOT HOLD" not in out
    for name in explain.CLAIMS:
        assert f"[{name}]" in out
    rc, out2, _ = run("explain", "separable", "--latex")
    assert rc == 0 and "[separable]" in out2 and "\\frac" in out2 and "[block]" not in out2
    rc, _, err = run("derive", "separble")
    assert rc == 2 and "separable" in err
