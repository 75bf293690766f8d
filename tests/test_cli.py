"""`archcalc report`: every output format, the JSON contract, options, exit status, and the
promise that a plain report imports neither torch nor sympy."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import archcalc
from archcalc import cli

REPO = Path(__file__).resolve().parents[1]
SPEC = "specs/mobilenet_v2.yaml"
ARCHCALC = Path(sys.executable).parent / "archcalc"

TOP_KEYS = {"spec", "width", "resolution", "convention", "totals", "layers"}
TOTAL_KEYS = {"params", "bn_params", "madds", "flops", "activation_bytes", "peak_memory_bytes",
              "peak_memory_bytes_streamed"}
LAYER_KEYS = {"name", "block", "op", "output_shape", "params", "madds", "memory_bytes"}
SECTIONS = {"stem", "bottlenecks", "head", "classifier"}   # the spec's `layers:` sections


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def report(capsys, *args: str) -> str:
    """Run `archcalc report SPEC ARGS` in-process; it must succeed with nothing on stderr."""
    rc = cli.main(["report", SPEC, *args])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert err == ""
    assert out.strip()
    return out


def report_json(capsys, *args: str) -> dict:
    return json.loads(report(capsys, "--format", "json", *args))


# ---- formats ------------------------------------------------------------------------------------

def test_table_default_format(capsys):
    out = report(capsys)
    assert re.search(r"^\s*convention\s+paper \(", out, re.M), out[:800]
    assert "300,774,272" in out      # MobileNetV2 at 1.0/224: the paper's 300M MAdds, exactly
    # params without BN: torchvision's published 3,504,872 minus 34,112 BN gamma/beta
    assert "3,470,760" in out
    for section in SECTIONS:
        assert f"{section}." in out


def test_table_torchvision(capsys):
    out = report(capsys, "--convention", "torchvision")
    assert re.search(r"^\s*convention\s+torchvision \(", out, re.M)
    assert "300,774,272" in out
    assert "BN params counted" in out


def test_json_contract(capsys):
    data = report_json(capsys)
    assert TOP_KEYS <= set(data), set(data)
    assert set(data["totals"]) == TOTAL_KEYS
    assert data["spec"] == "MobileNetV2"
    assert data["width"] == 1 and data["resolution"] == 224
    assert data["convention"] == "paper"
    for value in data["totals"].values():
        assert type(value) is int and value >= 0
    assert data["totals"]["madds"] == 300_774_272
    assert data["totals"]["flops"] == 2 * data["totals"]["madds"]
    layers = data["layers"]
    assert layers
    for layer in layers:
        assert LAYER_KEYS <= set(layer), set(layer)
        shape = layer["output_shape"]
        assert isinstance(shape, list) and len(shape) == 3
        assert all(type(v) is int and v > 0 for v in shape), layer
        for key in ("params", "madds", "memory_bytes"):
            assert type(layer[key]) is int and layer[key] >= 0, (layer["name"], key)
    # `block` is the spec section the op comes from (the graph's input node is its own)
    blocks = {layer["block"] for layer in layers if layer["op"] != "input"}
    assert blocks == SECTIONS
    for layer in layers:
        if layer["op"] != "input":
            assert layer["name"].split(".")[0] == layer["block"], layer["name"]
    assert [layer["block"] for layer in layers if layer["op"] == "fc"] == ["classifier"]
    # totals are the sums of the rows
    assert sum(layer["madds"] for layer in layers) == data["totals"]["madds"]
    assert sum(layer["params"] for layer in layers) == data["totals"]["params"]
    assert sum(layer["memory_bytes"] for layer in layers) == data["totals"]["activation_bytes"]
    # and the same numbers as the API
    table = archcalc.evaluate(SPEC, 1, 224)
    assert {k: table.totals[k] for k in TOTAL_KEYS} == data["totals"]


def test_csv_parses_and_sums_to_json_total(capsys):
    text = report(capsys, "--format", "csv")
    rows = list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))
    assert rows
    assert {"name", "block", "op", "params", "madds"} <= set(rows[0])
    data = report_json(capsys)
    assert sum(int(r["madds"]) for r in rows) == data["totals"]["madds"]
    assert sum(int(r["params"]) for r in rows) == data["totals"]["params"]
    assert [r["name"] for r in rows] == [layer["name"] for layer in data["layers"]]


def test_markdown_has_a_pipe_table(capsys):
    out = report(capsys, "--format", "markdown")
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| layer"))
    assert re.fullmatch(r"\|(-{3,}:?\|)+", lines[header + 1]), lines[header + 1]
    ncols = lines[header].count(" | ") + 1
    body = lines[header + 2:]
    table_rows = body[:body.index("")]
    assert len(table_rows) > 20
    assert all(line.startswith("| ") and line.endswith(" |") for line in table_rows)
    assert all(line.count(" | ") + 1 == ncols for line in table_rows)
    assert "300,774,272" in out


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "markdown"])
def test_ops_flag_every_format(capsys, fmt):
    plain = report(capsys, "--format", fmt)
    ops = report(capsys, "--format", fmt, "--ops")
    if fmt in ("table", "markdown"):
        assert len(ops.splitlines()) > len(plain.splitlines())   # one row per primitive op
    assert "300,774,272" in ops or fmt in ("csv", "json")


def test_symbolic_prints_closed_forms(capsys):
    out = report(capsys, "--symbolic")
    assert "closed forms" in out
    forms = out[out.index("closed forms"):]
    assert "alpha" in forms
    assert re.search(r"\br\b", forms), "no closed form mentions r"
    madds_line = next(line for line in forms.splitlines() if line.strip().startswith("madds ="))
    assert "alpha" in madds_line and re.search(r"\br\b", madds_line)


def test_symbolic_json_closed_forms_evaluate_to_the_point(capsys):
    data = report_json(capsys, "--symbolic")
    forms = data["closed_forms"]
    assert "alpha" in forms["totals"]["madds"] and "r" in forms["totals"]["madds"]
    table = archcalc.closed_form(SPEC).at(1, 224)
    assert table.totals["madds"] == data["totals"]["madds"]


# ---- options ------------------------------------------------------------------------------------

def _classifier(data: dict) -> dict:
    [fc] = [layer for layer in data["layers"] if layer["op"] == "fc"]
    return fc


def _fc_in_features(data: dict) -> int:
    names = [layer["name"] for layer in data["layers"]]
    before = data["layers"][names.index(_classifier(data)["name"]) - 1]
    c, h, w = before["output_shape"]
    return c * h * w


def test_set_num_classes(capsys):
    base = report_json(capsys)
    ten = report_json(capsys, "--set", "num_classes=10")
    assert _classifier(base)["output_shape"] == [1000, 1, 1]
    assert _classifier(ten)["output_shape"] == [10, 1, 1]
    features = _fc_in_features(ten)
    assert features == 1280
    assert _classifier(ten)["params"] == features * 10 + 10
    assert base["totals"]["params"] - ten["totals"]["params"] == (features + 1) * (1000 - 10)
    assert base["totals"]["madds"] - ten["totals"]["madds"] == features * (1000 - 10)
    # only the classifier changes
    others = lambda d: [l for l in d["layers"] if l["block"] != "classifier"]   # noqa: E731
    assert others(base) == others(ten)


def test_resolution_multiplier_equals_pixels(capsys):
    half = report_json(capsys, "--resolution", "0.5x")
    pixels = report_json(capsys, "--resolution", "112")
    assert half["resolution"] == pixels["resolution"] == 112
    assert half["totals"] == pixels["totals"]
    assert half["layers"] == pixels["layers"]
    assert half["layers"][0]["output_shape"] == [3, 112, 112]


def test_tf_slim_has_one_more_class(capsys):
    paper = report_json(capsys, "--convention", "paper")
    slim = report_json(capsys, "--convention", "tf-slim")
    assert _classifier(paper)["output_shape"][0] == 1000
    assert _classifier(slim)["output_shape"][0] == 1001
    features = _fc_in_features(paper)          # 1280 at width 1
    expected = (features + 1) * (1001 - 1000)  # one more row of weights plus its bias
    assert expected == 1281
    assert slim["totals"]["params"] - paper["totals"]["params"] == expected
    assert slim["totals"]["madds"] - paper["totals"]["madds"] == features


def test_width_changes_counts(capsys):
    full = report_json(capsys)
    small = report_json(capsys, "--width", "0.5")
    assert small["width"] == 0.5
    assert small["totals"]["madds"] < full["totals"]["madds"]
    # the head conv is never made thinner than 1280 (scale: up)
    assert _fc_in_features(small) == 1280


@pytest.mark.parametrize("dtype,size", [("fp32", 4), ("fp16", 2), ("bf16", 2), ("int8", 1)])
def test_dtype_scales_memory(capsys, dtype, size):
    data = report_json(capsys, "--dtype", dtype)
    fp32 = archcalc.evaluate(SPEC).totals["activation_bytes"]
    assert data["totals"]["activation_bytes"] * 4 == fp32 * size


# ---- the console script -------------------------------------------------------------------------

def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, cwd=REPO, **kw)


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "markdown"])
def test_console_script_exit_zero(fmt):
    proc = run(str(ARCHCALC), "report", SPEC, "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.strip()


def test_console_script_bad_input_exit_two(tmp_path):
    proc = run(str(ARCHCALC), "report", str(tmp_path / "missing.yaml"))
    assert proc.returncode == 2
    assert proc.stdout == "" and len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith("archcalc: error: ")


def test_import_archcalc_imports_neither_torch_nor_sympy():
    proc = run(sys.executable, "-c",
               "import archcalc, sys; "
               "assert 'torch' not in sys.modules and 'sympy' not in sys.modules, "
               "[m for m in sys.modules if m.split('.')[0] in ('torch', 'sympy')][:5]")
    assert proc.returncode == 0, proc.stderr


def _modules_after_report(*args: str) -> set:
    code = ("import io, contextlib, sys, json\n"
            "from archcalc import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    rc = cli.main({['report', SPEC, *args]!r})\n"
            "assert rc == 0, rc\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n")
    proc = run(sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout))


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_plain_report_does_not_import_sympy_or_torch(fmt):
    modules = _modules_after_report("--format", fmt)
    assert "archcalc" in modules
    assert "sympy" not in modules
    assert "torch" not in modules


def test_symbolic_report_does_import_sympy():
    """The check above is meaningful: --symbolic does load sympy in the same harness."""
    assert "sympy" in _modules_after_report("--symbolic", "--format", "json")


def test_console_script_importtime_without_sympy():
    proc = run(sys.executable, "-X", "importtime", str(ARCHCALC), "report", SPEC,
               "--format", "csv")
    assert proc.returncode == 0
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert any(name.startswith("archcalc") for name in imported)
    assert not any(name == "sympy" or name.startswith("sympy.") for name in imported)
    assert not any(name == "torch" or name.startswith("torch.") for name in imported)
