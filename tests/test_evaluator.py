"""The Evaluator (archcalc.cost.Evaluator: rows at a point, totals over grids and paired points,
validity) against numbers computed WITHOUT archcalc's analyser, so that a bug in the
analyser cannot pass them:

- a tiny spec whose params, MAdds, BN params and activation bytes are derived by hand in this
  file at several widths and resolutions (a make_divisible step, an odd resolution, and the
  structural guard: at alpha = 1/4 the stem and the first block both round to 8 channels, so
  that block gets a residual add);
- build checks derived by hand (a valid-padding spec that vanishes below r = 9; a channel
  count over MAX_CHANNELS);
- MobileNetV2 against tests/reference_mobilenet_v2.py (plain Python transcribed from
  torchvision's mobilenetv2.py; no archcalc import) over a grid;
- MobileNetV2 and ShuffleNet (g = 3) against PyTorch's own counts of the module the torch
  backend builds (sum of p.numel(), FlopCounterMode total / 2) at a few grid points;
- one code generator: no `lambdify` and no `eval(` of generated code in archcalc/ outside
  archcalc/cost/codegen.py.
"""
from __future__ import annotations

import io
import tokenize
from fractions import Fraction
from pathlib import Path

import pytest

import archcalc
from archcalc.cost import Convention, Evaluator

from reference_mobilenet_v2 import mobilenet_v2 as reference_v2

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"

# -- a tiny spec, costed by hand -----------------------------------------------------------------

TINY = """\
name: Tiny
input: {channels: 3, resolution: 32}
width: {rounding: make_divisible, divisor: 8}
defaults: {act: relu6}
layers:
  stem:
    - {op: conv, c: 32, k: 3, s: 2}
  blocks:
    - {op: bottleneck, t: 1, c: 16}
    - {op: bottleneck, t: 2, c: 16}
  head:
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: 10}
"""


def make_divisible(v: Fraction, d: int = 8) -> int:
    """TF-slim / torchvision `_make_divisible(v, d)` (min_value = d), on exact fractions:
    the nearest multiple of d (halves up), at least d, plus d if that lost more than 10%."""
    n = max(d, int(v / d + Fraction(1, 2)) * d)
    return n + d if n < Fraction(9, 10) * v else n


def tiny_by_hand(width: str, r: int) -> dict:
    """c0 = stem width, c1 = block width, h = ceil(r / 2) (3x3 stride-2 'same' stem; every
    later op keeps h until the global pool). Paper convention: conv weights, no conv biases
    (BN follows each), the fc's 10 biases; BN gamma/beta reported apart.

    stem conv 3 -> c0, 3x3:            27 c0 weights,            27 c0 h^2 MAdds, BN c0
    block 0 (t = 1): dw 3x3 on c0:      9 c0,                      9 c0 h^2,      BN c0
                     project c0 -> c1:  c0 c1,                     c0 c1 h^2,     BN c1
                     add (only when c0 == c1, stride 1: torchvision's use_res_connect)
    block 1 (t = 2): expand c1 -> 2c1:  2 c1^2,                    2 c1^2 h^2,    BN 2 c1
                     dw 3x3 on 2 c1:    18 c1,                     18 c1 h^2,     BN 2 c1
                     project 2c1 -> c1: 2 c1^2,                    2 c1^2 h^2,    BN c1
                     add (c1 == c1)
    global avgpool, fc c1 -> 10:        10 c1 + 10 bias,           10 c1
    Activation bytes (fp32, BN and activations in place): the input 3 r^2, every conv's
    output, each add's output, the pooled c1 and the 10 logits."""
    a = Fraction(width)
    c0, c1, h = make_divisible(32 * a), make_divisible(16 * a), -(-r // 2)
    residual_0 = c0 == c1
    params = 27 * c0 + 9 * c0 + c0 * c1 + 2 * c1 * c1 + 18 * c1 + 2 * c1 * c1 + 10 * c1 + 10
    madds = h * h * (27 * c0 + 9 * c0 + c0 * c1 + 2 * c1 * c1 + 18 * c1 + 2 * c1 * c1) + 10 * c1
    tensors = (3 * r * r + h * h * (c0 + c0 + c1 + 2 * c1 + 2 * c1 + c1 + c1)
               + (c1 * h * h if residual_0 else 0) + c1 + 10)
    return {"params": params, "madds": madds, "flops": 2 * madds,
            "bn_params": 2 * (c0 + c0 + c1 + 2 * c1 + 2 * c1 + c1),
            "activation_bytes": 4 * tensors, "_c": (c0, c1), "_residual_0": residual_0}


def test_hand_derivation_itself():
    """The derivation's channel counts and one point written out: alpha = 1, r = 32:
    c0 = 32, c1 = 16, h = 16; params 864 + 288 + 512 + 512 + 288 + 512 + 160 + 10 = 3,146."""
    assert [make_divisible(Fraction(w) * 32) for w in ("0.25", "0.35", "0.75", "1", "1.4")] == \
        [8, 16, 24, 32, 48]        # 11.2 -> 8 loses more than 10%: 16; 44.8 -> 48
    assert [make_divisible(Fraction(w) * 16) for w in ("0.25", "0.35", "0.75", "1", "1.4")] == \
        [8, 8, 16, 16, 24]
    one = tiny_by_hand("1", 32)
    assert one["params"] == 3_146 and one["madds"] == 256 * (864 + 288 + 512 + 512 + 288 + 512) + 160
    assert tiny_by_hand("0.25", 32)["_residual_0"] and not tiny_by_hand("0.35", 32)["_residual_0"]


TINY_WIDTHS = ["0.25", "0.35", "0.75", "1", "1.4"]
TINY_RESOLUTIONS = [32, 33, 96, 1]
METRICS = ("params", "madds", "flops", "bn_params", "activation_bytes")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def tiny_ev(tiny):
    return Evaluator(tiny)


def test_tiny_grid_and_points_equal_the_hand_derivation(tiny_ev):
    grid = tiny_ev.totals(TINY_WIDTHS, TINY_RESOLUTIONS, METRICS)
    assert tiny_ev.valid(TINY_WIDTHS, TINY_RESOLUTIONS).all()
    pairs = [(w, r) for w in TINY_WIDTHS for r in TINY_RESOLUTIONS]
    points = tiny_ev.points([w for w, _ in pairs], [r for _, r in pairs], METRICS)
    for i, w in enumerate(TINY_WIDTHS):
        for j, r in enumerate(TINY_RESOLUTIONS):
            want = tiny_by_hand(w, r)
            k = i * len(TINY_RESOLUTIONS) + j
            for m in METRICS:
                assert int(grid[m][i, j]) == want[m], (w, r, m)
                assert int(points[m][k]) == want[m], (w, r, m)


def test_tiny_table_rows_equal_the_hand_derivation(tiny_ev, tiny):
    """Every route to a point's rows: Evaluator.table (compiled rows; at alpha = 1/4 a guard
    fires and the point is compiled), CostTable.at on the closed forms, and evaluate."""
    symbolic = archcalc.closed_form(tiny)
    for w in TINY_WIDTHS:
        for r in (33, 96):
            want = tiny_by_hand(w, r)
            c0, c1 = want["_c"]
            h = -(-r // 2)
            for table in (tiny_ev.table(w, r), symbolic.at(w, r), archcalc.evaluate(tiny, w, r)):
                assert not table.symbolic and table.width == Fraction(w) and table.resolution == r
                assert {m: table.totals[m] for m in METRICS} == {m: want[m] for m in METRICS}
                rows = {row.name: row for row in table.rows}
                assert rows["stem.0.conv"].madds == 27 * c0 * h * h
                assert rows["stem.0.conv"].output_shape == (c0, h, h)
                assert rows["blocks.0.project.conv"].params == c0 * c1
                assert rows["blocks.1.expand.conv"].output_shape == (2 * c1, h, h)
                assert rows["classifier.0.fc"].params == 10 * c1 + 10
                assert ("blocks.0.add" in rows) == want["_residual_0"], (w, r)
                assert "blocks.1.add" in rows


def test_tiny_torchvision_counts_bn_params(tiny):
    ev = Evaluator(tiny, "torchvision")
    got = ev.at("0.75", 33)
    want = tiny_by_hand("0.75", 33)
    assert got["params"] == want["params"] + want["bn_params"]


# -- where the spec builds, by hand ----------------------------------------------------------------

VANISHING = """\
name: Vanishing
input: {channels: 3, resolution: 32}
width: {rounding: truncate, min_channels: 1}
layers:
  body:
    - {op: conv, c: 8, k: 5, s: 2, padding: valid}
    - {op: conv, c: 16, k: 3, s: 1, padding: valid}
  classifier:
    - {op: fc, c: 10}
"""


def test_valid_where_the_spatial_size_stays_positive(tmp_path):
    """h1 = floor((r - 5) / 2) + 1 >= 1 and h2 = h1 - 2 >= 1, i.e. r >= 9 (by hand)."""
    path = tmp_path / "v.yaml"
    path.write_text(VANISHING)
    ev = Evaluator(path)
    rs = list(range(1, 20))
    valid = ev.valid(["0.5", "1"], rs)
    assert [bool(v) for v in valid[1]] == [r >= 9 for r in rs] == [bool(v) for v in valid[0]]
    assert list(ev.valid_points(["1", "1"], [8, 9])) == [False, True]
    h1 = (9 - 5) // 2 + 1
    assert ev.table("1", 9).totals["madds"] == 8 * 3 * 25 * h1 * h1 + 16 * 8 * 9 * 1 + 16 * 10
    with pytest.raises(archcalc.SpecError) as raised:
        ev.table("1", 8)
    with pytest.raises(archcalc.SpecError) as compiled:
        archcalc.evaluate(path, "1", 8)
    assert str(raised.value) == str(compiled.value)
    assert "the spatial size vanishes at body.1.conv" in str(raised.value)


def test_valid_below_the_channel_limit(tmp_path):
    """make_divisible(1024 alpha, 8): 99,328 channels at alpha 97, 100,352 at 98, over
    MAX_CHANNELS = 100,000: the grid says so, as a compile does."""
    from archcalc.limits import MAX_CHANNELS
    path = tmp_path / "wide.yaml"
    path.write_text("name: Wide\ninput: {channels: 3, resolution: 8}\nlayers:\n  body:\n"
                    "    - {op: conv, c: 1024, k: 1}\n")
    assert make_divisible(Fraction(97) * 1024) == 99_328 <= MAX_CHANNELS < 100_352 == \
        make_divisible(Fraction(98) * 1024)
    ev = Evaluator(path)
    assert [bool(v) for v in ev.valid(["97", "98"], [8])[:, 0]] == [True, False]
    assert ev.table("97", 8).totals["params"] == 3 * 99_328
    with pytest.raises(archcalc.SpecError, match="MAX_CHANNELS"):
        ev.table("98", 8)


# -- MobileNetV2 against an independent reference --------------------------------------------------

V2_WIDTHS = ["0.35", "0.5", "0.75", "1", "1.3", "1.4"]
V2_RESOLUTIONS = [96, 128, 160, 193, 224]


def test_mobilenet_v2_grid_equals_the_plain_python_reference():
    """tests/reference_mobilenet_v2.py transcribes torchvision's mobilenetv2.py (no archcalc);
    torchvision convention: params with BN gamma/beta."""
    ev = Evaluator(SPECS / "mobilenet_v2.yaml", "torchvision")
    grid = ev.totals(V2_WIDTHS, V2_RESOLUTIONS, ["params", "bn_params", "madds"])
    for i, w in enumerate(V2_WIDTHS):
        for j, r in enumerate(V2_RESOLUTIONS):
            ref = reference_v2(float(w), r)
            assert int(grid["params"][i, j]) == ref.params + ref.bn_params, (w, r)
            assert int(grid["bn_params"][i, j]) == ref.bn_params, (w, r)
            assert int(grid["madds"][i, j]) == ref.madds, (w, r)
    table = ev.table("0.75", 193)
    ref = reference_v2(0.75, 193)
    assert table.totals["madds"] == ref.madds
    by_name = ref.by_name()
    for row in table.rows:
        if row.name.endswith(".conv") and row.name in by_name:
            assert row.madds == by_name[row.name].madds, row.name


# -- the torch backend's own counts ----------------------------------------------------------------

ALL_PARAMS = Convention("all parameters", bn_params=True, bias=True)   # what torch counts
TORCH_POINTS = [("mobilenet_v2.yaml", {}, [("0.35", 97), ("1.4", 160)]),
                ("shufflenet_v1.yaml", {"groups": "3"}, [("0.5", 128), ("1.5", 97)])]


def _torch_counts(graph) -> tuple[int, int]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from archcalc.torch_backend import build_module
    model = build_module(graph).eval()
    c, h, w = graph.shape("input")
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.zeros(1, c, h, w))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


@pytest.mark.parametrize("spec, sets, points", TORCH_POINTS, ids=["mobilenet_v2", "shufflenet_v1"])
def test_points_equal_pytorch_counts(spec, sets, points):
    pytest.importorskip("torch")
    ev = Evaluator(SPECS / spec, ALL_PARAMS, sets=sets)
    got = ev.points([w for w, _ in points], [r for _, r in points], ["params", "madds"])
    grid = ev.totals([w for w, _ in points], sorted({r for _, r in points}), ["madds"])
    rs = sorted({r for _, r in points})
    for k, (w, r) in enumerate(points):
        graph = archcalc.compile_graph(archcalc.load(SPECS / spec, sets), w, r)
        params, madds = _torch_counts(graph)
        assert (int(got["params"][k]), int(got["madds"][k])) == (params, madds), (spec, w, r)
        assert int(grid["madds"][k, rs.index(r)]) == madds
        table = ev.table(w, r)
        assert (table.totals["params"], table.totals["madds"]) == (params, madds)


# -- one code generator ----------------------------------------------------------------------------

def _sites(path: Path) -> list:
    """(name, line) of code generation in Python code (comments and strings excluded): a
    call of the builtins eval / exec / compile, or any use of lambdify (sympy.lambdify too)."""
    tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text()).readline))
    out = []
    for k, tok in enumerate(tokens):
        if tok.type != tokenize.NAME:
            continue
        before = tokens[k - 1].string if k else ""
        after = tokens[k + 1].string if k + 1 < len(tokens) else ""
        if tok.string == "lambdify" or (tok.string in ("eval", "exec", "compile")
                                        and after == "(" and before not in (".", "def")):
            out.append((tok.string, tok.start[0]))
    return out


def test_the_only_code_generator_is_cost_codegen():
    """archcalc/cost/codegen.py is archcalc's one place that turns generated source into code
    (the dashboard reads its points off the Evaluator too)."""
    sites = {str(path.relative_to(REPO)): found for path in sorted((REPO / "archcalc").rglob("*.py"))
             if (found := _sites(path))}
    assert list(sites) == ["archcalc/cost/codegen.py"], sites
    assert [name for name, _ in sites["archcalc/cost/codegen.py"]] == ["eval"]
