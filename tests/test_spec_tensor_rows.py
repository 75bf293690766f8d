"""The spec rows of an imported model's ops (`archcalc import` writes them; docs/spec.md,
"Rows of imported ops"): each compiles onto an existing op kind, counted by its one rule,
and bad input is one located line with exit status 2."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import archcalc
from archcalc import cli

ROOT = Path(__file__).resolve().parent.parent
HEAD = """name: t
input: {channels: 3, resolution: 8}
layers:
  body:
    - {op: conv, c: 16, k: 3, padding: 1, act: linear, norm: none, name: a}
"""


def spec(tmp_path, *rows) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD + "".join(f"    - {r}\n" for r in rows))
    return path


def table(tmp_path, *rows, convention="torchvision"):
    return archcalc.analyze(archcalc.compile_graph(archcalc.load(str(spec(tmp_path, *rows)))),
                            convention)


def test_rows_compile_to_the_ops_and_counts_by_hand(tmp_path):
    t = table(tmp_path, "{op: bn}", "{op: act, fn: gelu, name: g}",
              "{op: add, of: [a, g]}", "{op: slice, index: 1, parts: 2, name: h}",
              "{op: groupnorm, groups: 4, from: a}", "{op: concat, of: [h, a]}",
              "{op: mean}", "{op: linear, c: 10, scale: none}")
    rows = {r.name: r for r in t.rows}
    assert [r.op for r in t.rows] == ["input", "conv", "bn", "act", "add", "slice", "norm",
                                      "concat", "pool", "linear"]
    assert rows["body.1.bn"].bn_params == 2 * 16                 # gamma, beta per channel
    assert rows["body.3.add"].output_shape == (16, 8, 8)
    assert rows["body.4.slice"].output_shape == (8, 8, 8)         # the second half
    assert rows["body.5.norm"].bn_params == 2 * 16
    assert rows["body.6.concat"].output_shape == (24, 8, 8)
    assert rows["body.7.mean"].output_shape == (24,)
    # linear over 24 features to 10: 240 weights + 10 biases, 240 MAdds
    assert (rows["body.8.linear"].params, rows["body.8.linear"].madds) == (250, 240)
    # conv 3x3 3 -> 16 with a bias on 8 x 8: 432 + 16 params, 432 * 64 MAdds
    assert t.total("madds") == 432 * 64 + 240
    assert t.total("params") == 432 + 16 + 32 + 32 + 250


def test_view_copy_param_and_merges(tmp_path):
    t = table(tmp_path, "{op: flatten}", "{op: view, shape: [64, 16]}",
              "{op: param, shape: [64, 16], name: p}", "{op: add, from: a, of: [body.2, p]}",
              "{op: copy}", "{op: layernorm, axes: 1}", "{op: softmax, name: s}",
              "{op: param, shape: [16, 8], name: q}", "{op: matmul, of: [s, q]}")
    rows = {r.name: r for r in t.rows}
    assert rows["body.1.flatten"].output_shape == (1024,)
    assert rows["body.3.param"].params == 64 * 16
    assert rows["body.4.add"].output_shape == (64, 16)
    assert rows["body.6.norm"].bn_params == 2 * 16
    # (64 x 16) @ (16 x 8): 64 x 8 outputs, 16 multiply-adds each
    assert rows["body.9.matmul"].output_shape == (64, 8)
    assert rows["body.9.matmul"].madds == 64 * 8 * 16
    assert t.total("params") == 432 + 16 + 64 * 16 + 2 * 16 + 16 * 8


@pytest.mark.parametrize("row,message,key", [
    ("{op: add, of: []}", "expected a list of 1 to 64 earlier row names", "layers.body[1].of"),
    ("{op: add, of: [a]}", "'add' takes 2 tensors, `of` names 1", "of"),
    ("{op: add, of: [nope, a]}", "no earlier row or layer named 'nope'", "of"),
    ("{op: act}", "missing required key 'fn'", "layers.body[1].fn"),
    ("{op: act, fn: Gel U}", "expected a function name", "layers.body[1].fn"),
    ("{op: view, shape: [7, 0]}", "must be a positive integer", "layers.body[1].shape"),
    ("{op: view, shape: [10]}", "shape [10] has 10 elements, its input [16, 8, 8] has 1,024",
     "shape"),
    ("{op: view, shape: [4], expects: [3, 8, 8]}", "written for an input of shape [3, 8, 8]",
     "expects"),
    ("{op: slice, index: 2, parts: 2}", "part 2 of 2", "index"),
    ("{op: slice, index: 0, parts: 3}", "16 cannot be split in 3 equal parts", "parts"),
    ("{op: concat, of: [a, a], axis: 0}", "expected an axis from -1", "layers.body[1].axis"),
    ("{op: mul, of: [a, input]}", "do not broadcast", "of"),
    ("{op: groupnorm, groups: 3}", "16 channels are not divisible by groups=3", "groups"),
    ("{op: layernorm, axes: 5}", "5 axes of a rank-3 tensor", "axes"),
    ("{op: bn, c: 3}", "unknown key for op 'bn' (allowed: stream_group, n, from, name, when)",
     "layers.body[1].c"),
    ("{op: attention, of: [a, a]}", "'attention' takes 3 tensors", "of"),
    ("{op: matmul, of: [a, input]}", "'matmul' of shapes [16, 8, 8] and [3, 8, 8]", "of"),
    ("{op: shuffle, groups: 3}", "16 channels cannot be shuffled in 3 groups", "groups"),
])
def test_bad_rows_are_one_located_line(tmp_path, capsys, row, message, key):
    path = spec(tmp_path, row)
    assert cli.main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"archcalc: error: {path}:6: {key}: "), err
    assert message in err


def test_fixed_shapes_have_no_closed_form(tmp_path, capsys):
    path = spec(tmp_path, "{op: flatten}", "{op: view, shape: [64, 16]}")
    assert cli.main(["formula", str(path)]) == 2
    assert "has a fixed shape [64, 16]" in capsys.readouterr().err


def test_subprocess_has_no_traceback(tmp_path):
    path = spec(tmp_path, "{op: add, of: [a, zzz]}")
    proc = subprocess.run([sys.executable, "-m", "archcalc", "report", str(path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"archcalc: error: {path}:6: of: no earlier row or layer named 'zzz'"]
