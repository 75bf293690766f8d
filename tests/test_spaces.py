"""Search spaces (archcalc.spaces, `archcalc space`): declaring a space, bad choice declarations
(one located line, exit 2), per-stage choices of t, k, n, c and se through `$name`, the
decomposition into stages and why a space falls back to compiling each architecture, and
the exact costs of a tiny space derived by hand (docs/spaces.md).

Expected numbers come from hand formulas in this file (MobileNetV2 Table 1's block: expand
1x1 to t c_in, k x k depthwise, squeeze-and-excitation, linear 1x1 projection) or from
archcalc.evaluate of the same choices (the full compile the space must equal), never from
the space's own output.
"""
from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import archcalc
from archcalc import cli
from archcalc.spaces import declare
from archcalc.spaces.enumerate import Evaluator
from archcalc.spaces.run import Options, decompose, run_space
from archcalc.spaces.stages import METRICS

REPO = Path(__file__).resolve().parents[1]
ARCHCALC = Path(sys.executable).parent / "archcalc"

# 3x8x8 input; stem conv 3x3 to 8; one bottleneck row whose t, k, c, se and n are choices;
# global pool; fc to 10. Divisor 1: channel counts stay as written.
TINY = """\
name: tiny
input: {channels: 3, resolution: 8}
params:
  t: {default: 2, choices: [1, 2]}
  k: {default: 3, choices: [1, 3]}
  c: {default: 8, choices: [8, 16]}
  se: {default: 0.0, choices: [0.0, 0.5]}
  n: {default: 1, choices: [1, 2]}
width: {divisor: 1}
defaults: {act: relu6}
layers:
  stem:
    - {op: conv, c: 8, k: 3, s: 1}
  body:
    - {op: bottleneck, t: $t, k: $k, c: $c, se: $se, n: $n, s: 1}
  head:
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: 10}
"""


def write(tmp_path, text: str, name: str = "space.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def line_of(text: str, marker: str) -> int:
    """1-based line of the only line holding `marker` (from the test's own text)."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


def hand_costs(t, k, c, se, n) -> dict:
    """Params, BN params and MAdds of TINY by hand (paper convention: biases counted, BN not)."""
    hw = 8 * 8
    params, bn, madds = 3 * 8 * 9, 2 * 8, 3 * 8 * 9 * hw          # stem conv 3x3, 3 -> 8
    c_in = 8
    for _ in range(n):
        mid = c_in * t
        if t != 1:                                                  # expand 1x1
            params += c_in * mid
            madds += c_in * mid * hw
            bn += 2 * mid
        params += mid * k * k                                       # depthwise k x k
        madds += mid * k * k * hw
        bn += 2 * mid
        if se:                                                      # squeeze: floor(se * mid)
            sq = int(se * mid)
            params += mid * sq + sq + sq * mid + mid                # two 1x1 convs with biases
            madds += mid * sq + sq * mid                            # on 1x1 maps
        params += mid * c                                           # linear projection
        madds += mid * c * hw
        bn += 2 * c
        c_in = c
    params += c * 10 + 10                                           # fc with bias
    madds += c * 10
    return {"params": params, "bn_params": bn, "madds": madds, "flops": 2 * madds}


# ---- declaring a space --------------------------------------------------------------------------

def test_the_space_is_the_product_of_the_choices_in_declared_order(tmp_path):
    space = declare(write(tmp_path, TINY))
    assert [c.name for c in space.choices] == ["t", "k", "c", "se", "n"]
    assert space.size == 2 ** 5
    # mixed radix, the last choice fastest (itertools.product order)
    order = list(itertools.product([1, 2], [1, 3], [8, 16], [0, 0.5], [1, 2]))
    for index, values in enumerate(order):
        got = space.assignment(index)
        assert tuple(float(got[n]) for n in ("t", "k", "c", "se", "n")) == values


def test_set_fixes_a_choice_and_the_grid_multiplies_the_space(tmp_path):
    path = write(tmp_path, TINY)
    assert declare(path, {"t": "1"}).size == 2 ** 4
    space = declare(path, widths="0.5,1", resolutions="8,16,24")
    assert space.size == 2 ** 5 * 6
    assert space.grid_point(4) == (1, 16)          # width major, then resolution


def test_shipped_spaces_have_the_sizes_their_headers_state():
    mbv2 = declare(REPO / "specs" / "spaces" / "mobilenet_v2_space.yaml")
    assert mbv2.size == (2 * 3 * 4) ** 7 == 4_586_471_424
    mnas = declare("mnasnet_space")                 # a bare name finds zoo/specs/spaces
    assert mnas.size == 216 ** 5 * 144 ** 2
    for name, space in (("mobilenet_v2_space", mbv2), ("mnasnet_space", mnas)):
        header = (REPO / "specs" / "spaces" / f"{name}.yaml").read_text()
        assert f"{space.size:,}" in header


@pytest.mark.parametrize("key,decl,values", [
    ("t", "{default: 6, choices: [3, 6]}", [3, 6]),
    ("k", "{default: 3, choices: [3, 5, 7]}", [3, 5, 7]),
    ("n", "{default: 2, choices: [1, 2, 4]}", [1, 2, 4]),
    ("c", "{default: 16, choices: [16, 24]}", [16, 24]),
    ("se", "{default: 0.0, choices: [0.0, 0.25]}", [0, 0.25]),
])
def test_each_per_stage_key_takes_a_choice_through_a_reference(tmp_path, key, decl, values):
    """t, k, n, c and se of one stage as `$name`, the row written once: each value reaches
    the row, the choice belongs to that row's stage, and the costs are a full compile's."""
    row = {"t": "6", "k": "3", "c": "16", "n": "2", "s": "1", key: "$x"}
    text = ("name: one\ninput: {channels: 3, resolution: 16}\n"
            f"params:\n  x: {decl}\nlayers:\n  stem:\n    - {{op: conv, c: 16, k: 3}}\n"
            "  body:\n    - {op: bottleneck, " + ", ".join(f"{k}: {v}" for k, v in row.items()) +
            "}\n")
    path = write(tmp_path, text)
    space = declare(path)
    assert [c.name for c in space.choices] == ["x"] and space.size == len(values)
    for index, v in enumerate(values):
        got = getattr(space.parse({"x": str(v)}).sections[1].rows[0], key)
        assert float(got) == v
    tables, plan, reason = decompose(space)
    assert reason == "" and [s.params for s in plan.stages] == [(), (0,)]
    res = run_space(space, Options(all=True, pareto=("madds", "params", "elementwise_ops")))
    for row in res.front:
        table = archcalc.evaluate(path, sets=space.sets_for(row["index"]))
        assert {m: table.totals[m] for m in METRICS} == row["totals"]


# ---- bad choice declarations: one located line, exit 2 ------------------------------------------

BAD = [
    ("duplicate", "  k: {default: 3, choices: [1, 3]}", "  k: {default: 3, choices: [3, 1, 3]}",
     "  k: {default: 3", "params.k.choices", "listed twice"),
    ("wrong type", "  c: {default: 8, choices: [8, 16]}", "  c: {default: 8, choices: [8, 12.5]}",
     "  c: {default: 8", "params.c.choices", "not of the default's type"),
    ("a word for a number", "  n: {default: 1, choices: [1, 2]}",
     "  n: {default: 1, choices: [1, two]}", "  n: {default: 1", "params.n.choices",
     "not of the default's type"),
    ("below the minimum", "  c: {default: 8, choices: [8, 16]}",
     "  c: {default: 8, min: 4, choices: [8, 2]}", "  c: {default: 8", "params.c.choices",
     "below the minimum 4"),
    ("a value the row refuses", "  k: {default: 3, choices: [1, 3]}",
     "  k: {default: 3, choices: [0, 3]}", "op: bottleneck", "layers.body[0].k", "k=0"),
    ("se of 1 or more", "  se: {default: 0.0, choices: [0.0, 0.5]}",
     "  se: {default: 0.0, choices: [0.0, 1.5]}", "op: bottleneck", "layers.body[0].se",
     "se=1.5"),
]


@pytest.mark.parametrize("case,old,new,marker,key,says", BAD, ids=[b[0] for b in BAD])
def test_bad_choice_declarations_are_one_located_line(tmp_path, capsys, case, old, new, marker,
                                                      key, says):
    text = TINY.replace(old, new)
    assert text != TINY
    path = write(tmp_path, text)
    line = line_of(text, marker)
    with pytest.raises(archcalc.SpecError) as err:
        declare(path)
    assert str(err.value).startswith(f"{path}:{line}: {key}: "), str(err.value)
    assert says in str(err.value)
    assert cli.main(["space", path, "--sample", "5"]) == 2
    out, errtext = capsys.readouterr()
    assert out == ""
    assert errtext.count("\n") == 1 and errtext.startswith(f"archcalc: error: {path}:{line}: ")


def test_a_bad_choice_through_the_console_script(tmp_path):
    text = TINY.replace("  k: {default: 3, choices: [1, 3]}", "  k: {default: 3, choices: [3, 3]}")
    path = write(tmp_path, text)
    proc = subprocess.run([str(ARCHCALC), "space", path, "--all"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (f"archcalc: error: {path}:{line_of(text, '  k: {default')}: "
                           f"params.k.choices: '3' is listed twice (each choice once)\n")


@pytest.mark.parametrize("args,says", [
    (["--sample", "0"], "--sample must be a whole number"),
    (["--sample", "2.5"], "--sample must be a whole number"),
    (["--sample", "5", "--workers", "0"], "--workers must be a whole number"),
    (["--sample", "5", "--pareto", "madds,latency"], "unknown metric 'latency'"),
    (["--sample", "5", "--maximize", "flops"], "--maximize flops: not a --pareto metric"),
    (["--sample", "5", "--max-madds", "lots"], "budget 'lots'"),
    (["--sample", "5", "--keep", "front"], "give --out DIR"),
    (["--sample", "5", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
    (["--sample", "5", "--set", "k=4"], "--set k"),
    (["--sample", "5", "--widths", "0"], "width must be positive"),
])
def test_bad_options_are_one_line(tmp_path, capsys, args, says):
    path = write(tmp_path, TINY)
    assert cli.main(["space", path, *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("archcalc: error: ")
    assert says in err, err


def test_a_space_beyond_the_size_limit_is_refused(tmp_path):
    from archcalc import limits
    n = 61                                              # 2^61 > 10^18
    assert 2 ** n > limits.MAX_SPACE_SIZE
    params = "".join(f"  p{i}: {{default: 1, choices: [1, 2]}}\n" for i in range(n))
    path = write(tmp_path, TINY.replace("params:\n", "params:\n" + params))
    with pytest.raises(archcalc.OptionError, match="MAX_SPACE_SIZE"):
        declare(path)


# ---- the tiny space by hand ---------------------------------------------------------------------

def test_every_architecture_of_the_tiny_space_matches_the_hand_formulas(tmp_path):
    space = declare(write(tmp_path, TINY))
    tables, plan, reason = decompose(space)
    assert reason == "" and tables is not None
    values, valid = Evaluator(space, tables[0]).totals(np.arange(space.size))
    assert valid.all()
    for index in range(space.size):
        a = space.assignment(index)
        expect = hand_costs(a["t"], a["k"], a["c"], a["se"], a["n"])
        got = {m: int(values[index, METRICS.index(m)]) for m in expect}
        assert got == expect, (a, got, expect)


def test_the_stem_stage_is_costed_once_by_hand(tmp_path):
    """The first stage (the stem, no choices) has one entry: conv 3x3, 3 -> 8 on 8x8 (216
    weights, BN's 16, 13,824 MAdds; BN and ReLU6 one element-wise op per output element
    each), its activations the input (3x8x8) and its output (8x8x8) as fp32, and its peak
    both at once."""
    space = declare(write(tmp_path, TINY))
    tables, plan, _ = decompose(space)
    assert [len(s.rows) for s in plan.stages] == [1, 1, 2]
    stem = tables[0].stages[0]
    assert stem.params == () and stem.values.shape == (1, len(METRICS))
    entry = dict(zip(METRICS, stem.values[0].tolist()))
    both = (3 * 64 + 8 * 64) * 4
    assert entry == {"params": 216, "bn_params": 16, "madds": 216 * 64, "flops": 2 * 216 * 64,
                     "elementwise_ops": 2 * 8 * 64, "activation_bytes": both,
                     "peak_memory_bytes": both, "peak_memory_bytes_streamed": both}
    body = tables[0].stages[1]
    assert [space.choices[p].name for p in body.params] == ["t", "k", "c", "se", "n"]
    assert len(body.values) == 32                   # each own combination compiled once


def test_the_tiny_space_equals_full_compiles_in_every_total(tmp_path):
    """Peak memories included: the decomposition's max over stages against whole graphs."""
    path = write(tmp_path, TINY)
    space = declare(path)
    tables, _, _ = decompose(space)
    values, _ = Evaluator(space, tables[0]).totals(np.arange(space.size))
    for index in range(space.size):
        table = archcalc.evaluate(path, sets=space.sets_for(index))
        assert [table.totals[m] for m in METRICS] == values[index].tolist()


# ---- when the structure does not decompose ------------------------------------------------------

FALLBACKS = [
    ("from", "    - {op: avgpool, global: true}",
     "    - {op: avgpool, global: true, from: stem.0}", "takes its input `from:`"),
    ("expansion", "se: $se, n: $n, s: 1}", "se: $se, n: $n, s: 1, residual: expansion}",
     "residual: expansion"),
    ("width", "width: {divisor: 1}", "width: {divisor: {by: c, 8: 1, 16: 2}}",
     "changes the spec's width rule"),
]


@pytest.mark.parametrize("case,old,new,says", FALLBACKS, ids=[f[0] for f in FALLBACKS])
def test_a_space_that_does_not_decompose_is_compiled_and_says_why(tmp_path, case, old, new, says):
    text = TINY.replace(old, new)
    assert text != TINY
    path = write(tmp_path, text)
    space = declare(path)
    res = run_space(space, Options(all=True))
    assert res.path == "compiled" and says in res.reason, res.reason
    assert res.evaluated == space.size
    table = archcalc.evaluate(path, sets=space.sets_for(res.front[0]["index"]))
    assert {m: table.totals[m] for m in METRICS} == res.front[0]["totals"]


def test_the_compiled_path_is_bounded(tmp_path, monkeypatch):
    from archcalc.spaces import run
    monkeypatch.setattr(run, "MAX_SPACE_COMPILED", 3)
    space = declare("shufflenet_v1")                # groups changes the width rule: compiled
    with pytest.raises(archcalc.OptionError, match="MAX_SPACE_COMPILED"):
        run_space(space, Options(all=True))
    assert run_space(space, Options(sample=3)).evaluated == 3


def test_architectures_that_cannot_be_built_are_counted_not_costed(tmp_path):
    """A 4x4 input through two valid-padded convs: k = 3 then 3 vanishes; 1 then 3 does not."""
    text = """\
name: vanish
input: {channels: 3, resolution: 4}
params:
  k1: {default: 1, choices: [1, 3]}
  k2: {default: 1, choices: [1, 3, 5]}
layers:
  body:
    - {op: conv, c: 8, k: $k1, padding: valid}
    - {op: conv, c: 8, k: $k2, padding: valid}
"""
    path = write(tmp_path, text)
    space = declare(path)
    buildable = []
    for index in range(space.size):
        try:
            archcalc.evaluate(path, sets=space.sets_for(index))
            buildable.append(index)
        except archcalc.SpecError:
            pass
    a = {(i, j) for i, j in itertools.product((1, 3), (1, 3, 5)) if 4 - i + 1 - j + 1 >= 1}
    assert len(buildable) == len(a) == 3
    for opts in (Options(all=True), Options(all=True, compile_each=True)):
        res = run_space(space, opts)
        assert (res.evaluated, res.valid) == (6, 3)
