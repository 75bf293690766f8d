"""archcalc's counts against PyTorch's own, for every spec in specs/ at a grid of points:
parameters (sum of numel), MAdds (FlopCounterMode / 2) and every node's output shape."""
from __future__ import annotations

from pathlib import Path

import pytest

import archcalc
from archcalc.ops import RULES, Cost, OpKind, Rule
from archcalc.torch_backend import build_module, verify

SPECS = sorted((Path(__file__).resolve().parent.parent / "specs").glob("*.yaml"))
# widths that round differently; an odd resolution exercises ceil(in / s) at every stride
POINTS = [("0.35", 97), ("1", 128), ("1.3", 160)]
EXTRA_SETS = {"shufflenet_v1.yaml": [{"groups": g} for g in ("1", "2", "3", "4", "8")]}
# SSD's valid 3x3 / 4x4 extra layers need an input of about 268 pixels or more
SPEC_POINTS = {"ssd300_vgg16.yaml": [("0.35", 268), ("1", 301)],
               "ssd512_vgg16.yaml": [("0.35", 272), ("1", 301)]}


def cases():
    for spec in SPECS:
        for sets in EXTRA_SETS.get(spec.name, [None]):
            for width, resolution in SPEC_POINTS.get(spec.name, POINTS):
                yield pytest.param(spec, sets, width, resolution,
                                   id=f"{spec.stem}-{sets or ''}-{width}-{resolution}")


@pytest.mark.parametrize("spec, sets, width, resolution", list(cases()))
def test_counts_equal_pytorch(spec, sets, width, resolution):
    graph = archcalc.compile_graph(archcalc.load(spec, sets), width, resolution)
    result = verify(graph)
    assert result.mismatches == []
    assert result.params[0] == result.params[1] and result.madds[0] == result.madds[1]
    assert result.shapes_checked == len(graph) - 1     # every node but the input


def test_module_names_equal_node_names():
    graph = archcalc.compile_graph(archcalc.load(SPECS[0]), "1", 96)
    module_names = {name for name, _ in build_module(graph).named_modules()}
    assert set(graph.names) - {"input"} <= module_names


def test_a_broken_rule_names_the_first_differing_layer(monkeypatch):
    """Break the depthwise rule (count k^2 MAdds per channel once, not per output pixel):
    verify must fail and name MobileNetV2's first depthwise conv as the first difference."""
    good = RULES[OpKind.DEPTHWISE]

    def broken_cost(op, inputs, out):
        cost = good.cost(op, inputs, out)
        return Cost(cost.weights, cost.bias, cost.bn_params, cost.weights, cost.elementwise)

    monkeypatch.setitem(RULES, OpKind.DEPTHWISE, Rule(good.shape, broken_cost, good.inplace, good.arity))
    spec = next(s for s in SPECS if s.name == "mobilenet_v2.yaml")
    result = verify(archcalc.compile_graph(archcalc.load(spec), "1", 96))
    assert not result.ok
    name, what, ours, theirs = result.first_mismatch
    assert (name, what) == ("bottlenecks.0.dw.conv", "madds")
    assert theirs == 32 * 3 * 3 * 48 * 48 and ours == 32 * 3 * 3


def test_verify_cli_reports_the_first_differing_layer(monkeypatch, capsys):
    good = RULES[OpKind.POINTWISE]

    def broken_cost(op, inputs, out):
        cost = good.cost(op, inputs, out)
        return Cost(cost.weights + 1, cost.bias, cost.bn_params, cost.madds, cost.elementwise)

    monkeypatch.setitem(RULES, OpKind.POINTWISE, Rule(good.shape, broken_cost, good.inplace, good.arity))
    from archcalc.cli import main
    spec = next(s for s in SPECS if s.name == "mobilenet_v1.yaml")
    assert main(["verify", str(spec), "--resolution", "64"]) == 1
    err = capsys.readouterr().err
    assert "first differing layer separable.0.pw.conv: params" in err
