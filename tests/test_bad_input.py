"""Bad input: every malformed spec or option is ONE line naming the file, the line and the
key (with "did you mean ..." for misspellings) and exit status 2 -- never a traceback,
never a wrong number.

Each case is checked three ways: through the API (`archcalc.load_spec` for errors in the
spec text itself, `archcalc.evaluate` for all), through `archcalc.cli.main` in-process and,
for a representative subset, through the installed console script in a subprocess.

Expected line numbers are computed from the test's own spec text (the line holding a
marker string), never copied from archcalc's output.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fractions import Fraction

import pytest

import archcalc
from archcalc import cli

REPO = Path(__file__).resolve().parents[1]
MOBILENET = REPO / "specs" / "mobilenet_v2.yaml"
ARCHCALC = Path(sys.executable).parent / "archcalc"

# A small valid spec: 32x32 input, stem stride 2 -> 16x16, bottleneck stack with residuals,
# global pool, classifier. Two parameters: one with a minimum, one with a set of choices.
MINI = """\
name: mini
input: {channels: 3, resolution: 32}
params:
  num_classes: {default: 10, min: 1}
  expansion: {default: 6, choices: [4, 6]}
defaults: {act: relu6}
layers:
  stem:
    - {op: conv, c: 16, k: 3, s: 2}
  body:
    - {op: bottleneck, t: $expansion, c: 16, n: 2, s: 1}
  head:
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: $num_classes}
"""

STEM = "    - {op: conv, c: 16, k: 3, s: 2}"
BODY = "    - {op: bottleneck, t: $expansion, c: 16, n: 2, s: 1}"
POOL = "    - {op: avgpool, global: true}"
FC = "    - {op: fc, c: $num_classes}"


def sub(text: str, old: str, new: str) -> str:
    """Replace `old` (which must occur exactly once) by `new`."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, marker: str, nth: int = 0) -> int:
    """1-based number of the (nth) line of `text` containing `marker`."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if marker in line]
    assert len(hits) > nth, f"{marker!r} not found in the spec text"
    return hits[nth]


def test_mini_spec_is_valid(tmp_path):
    """The base of every case below is itself a valid spec (so each case has one fault)."""
    path = tmp_path / "mini.yaml"
    path.write_text(MINI)
    table = archcalc.evaluate(str(path))
    assert table.totals["params"] > 0 and table.totals["madds"] > 0
    assert any(row.op == "add" for row in table.rows)   # the residual exists at width 1


# ---- the cases ----------------------------------------------------------------------------------

@dataclass
class Bad:
    id: str
    text: str
    lines: tuple                 # acceptable err.line values (computed from `text`)
    key: str | None              # expected err.key (None: the error names no key)
    error: type = archcalc.SpecError
    stage: str = "load"          # "load": load_spec raises too; "compile": only evaluate does
    key_suffix: bool = False     # compare only the last dotted part of err.key
    hint: str | None = None      # expected err.hint ("did you mean ...")
    says: tuple = ()             # substrings the message must contain
    width: Any = None
    resolution: Any = None
    sets: dict = field(default_factory=dict)


def _case(id, text, marker, key, *, nth=0, **kw) -> Bad:
    lines = (line_of(text, marker, nth),) if marker is not None else kw.pop("lines", (None,))
    return Bad(id=id, text=text, lines=lines, key=key, **kw)


def _spec_cases() -> list[Bad]:
    C = []
    # -- YAML syntax --------------------------------------------------------------------------
    t = sub(MINI, "  body:", "\tbody:")                        # a tab cannot indent YAML
    C.append(_case("yaml-syntax-tab", t, "\tbody:", None, says=("YAML syntax error",)))
    t = sub(MINI, "name: mini", "name: mini: extra")           # mapping value inside a scalar
    C.append(_case("yaml-syntax-colon", t, "name: mini: extra", None, says=("YAML syntax error",)))
    t = sub(MINI, STEM, STEM + "}")                            # stray closing brace
    C.append(_case("yaml-syntax-brace", t, STEM + "}", None, says=("YAML syntax error",)))
    t = sub(MINI, POOL, "    - {op: avgpool, global: true]")   # mismatched bracket
    C.append(_case("yaml-syntax-bracket", t, "global: true]", None, says=("YAML syntax error",)))
    # -- tags that would construct Python objects ---------------------------------------------
    t = sub(MINI, "name: mini", 'name: !!python/object/apply:os.system ["echo hi"]')
    C.append(_case("tag-object-apply", t, "!!python/object/apply", None, says=("tag",)))
    t = sub(MINI, "name: mini", "name: !!python/name:os.system")
    C.append(_case("tag-name", t, "!!python/name", None, says=("tag",)))
    t = sub(MINI, "c: 16, k: 3", "c: !!python/object/new:builtins.int [16], k: 3")
    C.append(_case("tag-nested-in-row", t, "!!python/object/new", None, says=("tag",)))
    # -- unknown keys and ops -----------------------------------------------------------------
    t = sub(MINI, "layers:", "layerz:")
    C.append(_case("unknown-top-key-misspelt", t, "layerz:", "layerz", hint="layers"))
    t = MINI + "bogus: 1\n"
    C.append(_case("unknown-top-key", t, "bogus: 1", "bogus", hint=None))
    t = sub(MINI, STEM, "    - {op: conv, c: 16, k: 3, s: 2, paddng: valid}")
    C.append(_case("unknown-row-key-paddng", t, "paddng", "layers.stem[0].paddng", hint="padding"))
    t = sub(MINI, STEM, "    - {op: conv, c: 16, k: 3, s: 2, groupz: 1}")
    C.append(_case("unknown-row-key-groupz", t, "groupz", "layers.stem[0].groupz", hint="groups"))
    t = sub(MINI, STEM, "    - {op: conv, c: 16, k: 3, strde: 2}")
    C.append(_case("unknown-row-key-strde", t, "strde", "layers.stem[0].strde",
                   says=("unknown key",)))
    t = sub(MINI, "input: {channels: 3,", "input: {chanels: 3,")
    C.append(_case("unknown-input-key", t, "chanels", "input.chanels", hint="channels"))
    t = sub(MINI, "defaults: {act: relu6}", "defaults: {actt: relu6}")
    C.append(_case("unknown-defaults-key", t, "actt", "defaults.actt", hint="act"))
    t = sub(MINI, "{default: 6, choices: [4, 6]}", "{default: 6, choises: [4, 6]}")
    C.append(_case("unknown-param-key", t, "choises", "params.expansion.choises", hint="choices"))
    t = sub(MINI, "op: bottleneck", "op: bottleneckk")
    C.append(_case("unknown-op", t, "bottleneckk", "layers.body[0].op", hint="bottleneck"))
    t = sub(MINI, "op: avgpool", "op: avgpoool")
    C.append(_case("unknown-op-pool", t, "avgpoool", "layers.head[0].op", hint="avgpool"))
    # -- wrong types --------------------------------------------------------------------------
    t = sub(MINI, "c: 16, k: 3", 'c: "abc", k: 3')
    C.append(_case("type-c-string", t, '"abc"', "layers.stem[0].c", says=("'abc'",)))
    t = sub(MINI, "n: 2", "n: 1.5")
    C.append(_case("type-n-float", t, "n: 1.5", "layers.body[0].n", says=("1.5",)))
    t = sub(MINI, "{op: fc, c: $num_classes}", "{op: fc, c: $num_classes, bias: 3}")
    C.append(_case("type-bias-int", t, "bias: 3", "layers.classifier[0].bias", says=("3",)))
    t = sub(MINI, "n: 2", "n: true")
    C.append(_case("type-n-bool", t, "n: true", "layers.body[0].n"))
    t = sub(MINI, "s: 1}", "s: [1, 2]}")
    C.append(_case("type-s-list", t, "s: [1, 2]", "layers.body[0].s"))
    t = sub(MINI, "defaults: {act: relu6}", "defaults: {act: relu7}")
    C.append(_case("value-act-misspelt", t, "relu7", "defaults.act", says=("did you mean",)))
    t = sub(MINI, "input: {channels: 3,", 'input: {channels: "3",')
    C.append(_case("type-input-channels", t, "channels", "input.channels"))
    t = sub(MINI, "name: mini", "name: 123")
    C.append(_case("type-name", t, "name: 123", "name"))
    t = sub(MINI, "name: mini", "name: mini\nwidth: {rounding: nearest}")
    C.append(_case("value-width-rounding", t, "nearest", "width.rounding"))
    # -- zero or negative channels, repeats, strides, kernels, ... ----------------------------
    for what, old, new, key in [
        ("c-zero", "c: 16, k: 3", "c: 0, k: 3", "layers.stem[0].c"),
        ("c-negative", "c: 16, k: 3", "c: -8, k: 3", "layers.stem[0].c"),
        ("n-zero", "n: 2", "n: 0", "layers.body[0].n"),
        ("n-negative", "n: 2", "n: -1", "layers.body[0].n"),
        ("s-zero", "k: 3, s: 2", "k: 3, s: 0", "layers.stem[0].s"),
        ("s-negative", "k: 3, s: 2", "k: 3, s: -1", "layers.stem[0].s"),
        ("k-zero", "k: 3, s: 2", "k: 0, s: 2", "layers.stem[0].k"),
        ("t-zero", "t: $expansion", "t: 0", "layers.body[0].t"),
        ("t-negative", "t: $expansion", "t: -6", "layers.body[0].t"),
        ("groups-zero", "k: 3, s: 2}", "k: 3, s: 2, groups: 0}", "layers.stem[0].groups"),
        ("padding-negative", "k: 3, s: 2}", "k: 3, s: 2, padding: -1}", "layers.stem[0].padding"),
        ("input-resolution-zero", "resolution: 32}", "resolution: 0}", "input.resolution"),
        ("input-channels-negative", "{channels: 3,", "{channels: -3,", "input.channels"),
    ]:
        t = sub(MINI, old, new)
        C.append(_case(what, t, new, key))
    # -- ratios, squeeze-and-excitation, ShuffleNetV2 units -------------------------------------
    for what, new, key, says in [
        ("t-ratio-zero-denominator", "t: 88/0", "layers.body[0].t", ("division by zero",)),
        ("t-ratio-expression", "t: 88/24+1", "layers.body[0].t", ("ratio",)),
        ("t-ratio-name", "t: __import__/2", "layers.body[0].t", ("ratio",)),
        ("se-one", "t: $expansion, se: 1", "layers.body[0].se", ("below 1",)),
        ("se-negative", "t: $expansion, se: -0.25", "layers.body[0].se", ("positive",)),
        ("se-text", "t: $expansion, se: quarter", "layers.body[0].se", ("'quarter'",)),
        ("se-of-misspelt", "t: $expansion, se: 0.25, se_of: expand", "layers.body[0].se_of",
         ("did you mean",)),
        ("se-gate-unknown", "t: $expansion, se: 0.25, se_gate: softmax", "layers.body[0].se_gate",
         ("hsigmoid",)),
        ("se-rounding-unknown", "t: $expansion, se: 0.25, se_rounding: ceil",
         "layers.body[0].se_rounding", ("floor",)),
    ]:
        t = sub(MINI, "t: $expansion", new)
        C.append(_case(what, t, new, key, says=says))
    t = sub(MINI, BODY, "    - {op: shuffle_v2_unit, c: 24, s: 2}\n    - {op: shuffle_v2_unit, c: 32}")
    C.append(_case("shuffle-v2-stride1-width-change", t, "c: 32}", "c", stage="compile",
                   key_suffix=True, says=("half its input",)))
    t = sub(MINI, BODY, "    - {op: shuffle_v2_unit, c: 17, s: 2}")
    t = sub(t, "name: mini", "name: mini\nwidth: {rounding: none}")
    C.append(_case("shuffle-v2-odd-channels", t, "c: 17", "c", stage="compile", key_suffix=True,
                   says=("halves",)))
    t = sub(MINI, BODY, "    - {op: shuffle_v2_unit, s: 2}")
    C.append(_case("shuffle-v2-missing-c", t, "shuffle_v2_unit", "layers.body[0].c"))
    # -- a spatial size that vanishes ---------------------------------------------------------
    # resolution 12: the stride-2 stem makes a 6x6 map, where a 7x7 valid window does not fit
    t = sub(MINI, POOL, "    - {op: avgpool, k: 7, s: 1}")
    t = sub(t, "resolution: 32}", "resolution: 12}")
    C.append(_case("vanish-pool-7x7-on-6x6", t, "k: 7", "k", stage="compile", key_suffix=True))
    t = sub(MINI, "resolution: 32}", "resolution: 3}")
    t = sub(t, STEM, "    - {op: conv, c: 16, k: 7, s: 1, padding: valid}")
    C.append(_case("vanish-conv-k-larger-than-input", t, "k: 7", "k", stage="compile",
                   key_suffix=True))
    t = sub(MINI, POOL, "    - {op: maxpool, k: 3, s: 2}\n    - {op: maxpool, k: 3, s: 2}\n"
                        "    - {op: maxpool, k: 3, s: 2}")   # 16 -> 7 -> 3 -> 1 ... then fc ok
    t = sub(t, "  classifier:", "    - {op: maxpool, k: 3, s: 2}\n  classifier:")  # 1 -> vanishes
    C.append(_case("vanish-after-strided-pools", t, "{op: maxpool", "k", nth=3, stage="compile",
                   key_suffix=True))
    # -- structure ----------------------------------------------------------------------------
    t = sub(MINI, STEM, "    - {op: conv, c: 16, k: 3, s: 2, groups: 3}")   # 16 % 3 != 0
    C.append(_case("groups-not-dividing", t, "groups: 3", "groups", stage="compile",
                   key_suffix=True, says=("groups",)))
    # A residual between mismatched shapes: a cell adds a 16- and a 24-channel branch.
    t = sub(MINI, "layers:\n", "cells:\n  bad:\n    inputs: [x]\n    nodes:\n"
            "      a: {from: x, ops: [{op: pwconv, c: 16}]}\n"
            "      y: {add: [a, {from: x, ops: [{op: pwconv, c: 24}]}]}\n"
            "    output: y\nlayers:\n")
    t = sub(t, BODY, BODY + "\n    - {op: bad}")
    C.append(_case("residual-mismatch", t, "{op: bad}", "residual", stage="compile",
                   key_suffix=True, says=("mismatched",)))
    # -- files, documents, references ---------------------------------------------------------
    t = sub(MINI, "name: mini\n", "name: mini\nname: other\n")
    C.append(_case("duplicate-top-key", t, "name: other", "name", says=("duplicate",)))
    t = sub(MINI, "c: 16, k: 3", "c: 16, c: 32, k: 3")
    C.append(_case("duplicate-row-key", t, "c: 32", "c", key_suffix=True, says=("duplicate",)))
    t = sub(MINI, "c: $num_classes}", "c: $num_clases}")
    C.append(_case("unknown-param-reference", t, "$num_clases", "layers.classifier[0].c",
                   hint="$num_classes"))
    t = sub(MINI, "c: $num_classes}", "c: $unknown_param}")
    C.append(_case("unknown-param-reference-no-hint", t, "$unknown_param",
                   "layers.classifier[0].c", says=("$unknown_param",)))
    C.append(_case("empty-file", "", None, None, lines=(None, 1)))
    C.append(_case("comment-only-file", "# nothing here\n", None, None, lines=(None, 1)))
    C.append(_case("yaml-list-not-mapping", "- {op: conv, c: 16}\n- {op: fc, c: 10}\n", None,
                   None, lines=(None, 1), says=("mapping",)))
    C.append(_case("yaml-scalar-not-mapping", "just a string\n", None, None, lines=(None, 1)))
    t = sub(MINI, "{op: fc, c: $num_classes}", "{op: fc}")
    C.append(_case("missing-required-c", t, "{op: fc}", "layers.classifier[0].c"))
    t = sub(MINI, "{op: fc, c: $num_classes}", "{c: 10}")
    C.append(_case("missing-op", t, "{c: 10}", "layers.classifier[0]"))
    t = sub(MINI, FC, "    - 5")
    C.append(_case("row-not-mapping", t, "    - 5", "layers.classifier[0]"))
    t = sub(MINI, "  classifier:\n" + FC + "\n", "  classifier: []\n")
    C.append(_case("empty-section", t, "classifier: []", "layers.classifier"))
    return C


def _option_cases() -> list[Bad]:
    """Bad --width / --resolution / --set values on the (valid) mini spec."""
    C = []
    for w in ("0", "-1", "abc", "0.0", "1/0"):
        C.append(Bad(id=f"width={w}", text=MINI, lines=(None,), key=None,
                     error=archcalc.OptionError, stage="compile", width=w, says=("width",)))
    for r in ("0", "-5", "abc", "0.3x", "0x", "-1x", "112.5", "1/0x"):
        C.append(Bad(id=f"resolution={r}", text=MINI, lines=(None,), key=None,
                     error=archcalc.OptionError, stage="compile", resolution=r,
                     says=("resolution",)))
    params = line_of(MINI, "params:")
    C.append(Bad(id="set-unknown-name", text=MINI, lines=(None, params), key="--set num_clases",
                 sets={"num_clases": "10"}, hint="num_classes", says=("unknown parameter",)))
    C.append(Bad(id="set-unknown-name-no-hint", text=MINI, lines=(None, params),
                 key="--set depth", sets={"depth": "3"}))
    C.append(Bad(id="set-outside-choices", text=MINI, lines=(line_of(MINI, "expansion:"),),
                 key="--set expansion", sets={"expansion": "5"}, says=("5", "4, 6")))
    C.append(Bad(id="set-below-min", text=MINI, lines=(line_of(MINI, "num_classes:"),),
                 key="--set num_classes", sets={"num_classes": "0"}, says=("minimum",)))
    C.append(Bad(id="set-wrong-type", text=MINI, lines=(line_of(MINI, "num_classes:"),),
                 key="--set num_classes", sets={"num_classes": "ten"}, says=("'ten'",)))
    C.append(Bad(id="set-float-for-int", text=MINI, lines=(line_of(MINI, "num_classes:"),),
                 key="--set num_classes", sets={"num_classes": "1.5"}))
    return C


CASES = _spec_cases() + _option_cases()


# ---- the checks ---------------------------------------------------------------------------------

def check_error(err: BaseException, case: Bad, path: str) -> None:
    """The error is of the right type and renders as one line naming file, line and key."""
    assert isinstance(err, case.error), f"{type(err).__name__}: {err}"
    assert isinstance(err, archcalc.ArchcalcError)
    text = str(err)
    assert "\n" not in text and "\r" not in text, f"not one line: {text!r}"
    assert text.strip(), "empty message"
    for fragment in case.says:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    if case.error is archcalc.OptionError:
        return
    assert err.path == path
    assert err.line in case.lines, f"line {err.line}, expected one of {case.lines}: {text}"
    if case.key is None:
        assert err.key is None, text
    elif case.key_suffix:
        assert err.key is not None and err.key.split(".")[-1] == case.key, text
    else:
        assert err.key == case.key, text
    where = f"{path}:{err.line}" if err.line is not None else path
    assert text.startswith(f"{where}: " + (f"{err.key}: " if err.key else "")), text
    if case.hint is not None:
        assert err.hint == case.hint, text
        assert text.endswith(f"(did you mean '{case.hint}'?)"), text


def write_case(tmp_path: Path, case: Bad) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(case.text)
    return str(path)


def cli_args(path: str, case: Bad) -> list[str]:
    args = ["report", path]
    if case.width is not None:
        args.append(f"--width={case.width}")     # "=": "-1x" must not parse as a flag
    if case.resolution is not None:
        args.append(f"--resolution={case.resolution}")
    for name, value in case.sets.items():
        args += ["--set", f"{name}={value}"]
    return args


def api_error(path: str, case: Bad) -> archcalc.ArchcalcError:
    with pytest.raises(archcalc.ArchcalcError) as info:
        archcalc.evaluate(path, case.width, case.resolution, sets=case.sets)
    return info.value


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_api_evaluate(case, tmp_path):
    path = write_case(tmp_path, case)
    check_error(api_error(path, case), case, path)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_api_load_spec(case, tmp_path):
    """Faults in the spec text (and --set values) are found by load_spec already; faults
    that need a point (width, resolution, shapes) only by evaluate."""
    path = write_case(tmp_path, case)
    if case.stage == "load":
        with pytest.raises(archcalc.ArchcalcError) as info:
            archcalc.load_spec(path, case.sets)
        check_error(info.value, case, path)
    else:
        spec = archcalc.load_spec(path, case.sets)
        assert spec.name == "mini"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_main(case, tmp_path, capsys):
    path = write_case(tmp_path, case)
    expected = api_error(path, case)
    rc = cli.main(cli_args(path, case))
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert err == f"archcalc: error: {expected}\n"


SUBPROCESS_IDS = ("yaml-syntax-tab", "unknown-row-key-paddng", "unknown-op", "c-zero",
                  "vanish-pool-7x7-on-6x6", "residual-mismatch", "width=0", "resolution=0.3x",
                  "set-unknown-name", "set-outside-choices", "empty-file")


def run_console(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(ARCHCALC), *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd or REPO)


@pytest.mark.parametrize("case", [c for c in CASES if c.id in SUBPROCESS_IDS],
                         ids=lambda c: c.id)
def test_console_script(case, tmp_path):
    path = write_case(tmp_path, case)
    proc = run_console(*cli_args(path, case))
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("archcalc: error: ")
    if case.error is archcalc.SpecError:
        assert lines[0].startswith(f"archcalc: error: {path}")


def test_subprocess_ids_exist():
    assert set(SUBPROCESS_IDS) <= {c.id for c in CASES}


# ---- options given as numbers through the API ---------------------------------------------------

@pytest.mark.parametrize("width", [0, -1, 0.0, -0.5, "abc", "", [1]])
def test_api_width_rejected(width, tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(MINI)
    with pytest.raises(archcalc.OptionError) as info:
        archcalc.evaluate(str(path), width=width)
    assert "\n" not in str(info.value) and "width" in str(info.value)


@pytest.mark.parametrize("resolution", [0, -5, 0.5, 31.5, "abc", "0.3x", "0x"])
def test_api_resolution_rejected(resolution, tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(MINI)
    with pytest.raises(archcalc.OptionError) as info:
        archcalc.evaluate(str(path), resolution=resolution)
    assert "\n" not in str(info.value) and "resolution" in str(info.value)


def test_api_set_typed_values(tmp_path):
    """--set values given as Python values (not text) are checked the same way."""
    path = tmp_path / "mini.yaml"
    path.write_text(MINI)
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.evaluate(str(path), sets={"num_classes": 0})
    assert info.value.key == "--set num_classes" and info.value.line == line_of(MINI, "num_classes:")
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.evaluate(str(path), sets={"expansion": 5})
    assert info.value.key == "--set expansion"
    with pytest.raises(archcalc.SpecError):
        archcalc.evaluate(str(path), sets={"num_classes": "ten"})
    # and a good value works
    table = archcalc.evaluate(str(path), sets={"num_classes": 7, "expansion": 4})
    assert table.rows[-1].output_shape == (7, 1, 1)


def test_residual_mismatch_only_where_shapes_differ(tmp_path):
    """The residual-mismatch spec is fine at width 1 (16 + 16 channels): the error is a
    property of the point, not a spurious rejection of the spec."""
    text = sub(MINI, STEM, "    - {op: conv, c: 16, k: 3, s: 2, scale: none}")
    path = tmp_path / "res.yaml"
    path.write_text(text)
    table = archcalc.evaluate(str(path), 1)
    adds = [row for row in table.rows if row.op == "add"]
    assert adds and all(row.output_shape[0] == 16 for row in adds)


# ---- YAML tags never construct Python objects ---------------------------------------------------

def _tag_specs(sentinel: Path) -> list[str]:
    s = str(sentinel)
    return [
        sub(MINI, "name: mini", f'name: !!python/object/apply:os.system ["touch {s}"]'),
        sub(MINI, "name: mini", f'name: !!python/object/apply:builtins.open ["{s}", "w"]'),
        sub(MINI, "name: mini", f'name: !!python/object/new:builtins.open ["{s}", "w"]'),
        sub(MINI, "c: 16, k: 3", f'c: !!python/object/apply:os.system ["touch {s}"], k: 3'),
        sub(MINI, "params:\n", f'params:\n  evil: {{default: !!python/object/apply:os.system '
                               f'["touch {s}"]}}\n'),
    ]


@pytest.mark.parametrize("index", range(5))
def test_yaml_tags_execute_nothing_api(index, tmp_path):
    sentinel = tmp_path / "pwned"
    text = _tag_specs(sentinel)[index]
    path = tmp_path / "evil.yaml"
    path.write_text(text)
    for call in (lambda: archcalc.load_spec(str(path)), lambda: archcalc.evaluate(str(path))):
        with pytest.raises(archcalc.SpecError) as info:
            call()
        msg = str(info.value)
        assert "\n" not in msg and "tag" in msg and msg.startswith(f"{path}:")
        assert info.value.line == line_of(text, "!!python")
    assert not sentinel.exists(), "a YAML tag executed code"


@pytest.mark.parametrize("index", range(5))
def test_yaml_tags_execute_nothing_console(index, tmp_path):
    sentinel = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(_tag_specs(sentinel)[index])
    proc = run_console("report", str(path))
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not sentinel.exists(), "a YAML tag executed code"


def test_python_name_tag_refused(tmp_path):
    text = sub(MINI, "name: mini", "name: !!python/name:os.system")
    path = tmp_path / "evil.yaml"
    path.write_text(text)
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load_spec(str(path))
    assert info.value.line == 1 and "tag" in str(info.value)


# ---- files ----------------------------------------------------------------------------------------

def test_missing_file(tmp_path, capsys):
    path = str(tmp_path / "no_such_spec.yaml")
    for call in (lambda: archcalc.load_spec(path), lambda: archcalc.evaluate(path)):
        with pytest.raises(archcalc.SpecError) as info:
            call()
        assert str(info.value).startswith(path) and "\n" not in str(info.value)
        assert info.value.path == path
    assert cli.main(["report", path]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith(f"archcalc: error: {path}")
    proc = run_console("report", path)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_directory_as_spec(tmp_path, capsys):
    path = str(tmp_path)
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load_spec(path)
    assert str(info.value).startswith(path) and "\n" not in str(info.value)
    assert cli.main(["report", path]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err


def test_binary_file(tmp_path, capsys):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00\x01name: x\n")
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load_spec(str(path))
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))
    assert cli.main(["report", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_nul_byte_in_file(tmp_path):
    path = tmp_path / "nul.yaml"
    path.write_text("name: x\x00\nlayers: {a: [{op: fc, c: 1}]}\n")
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load_spec(str(path))
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))


# ---- inputs archcalc mishandled when these tests were written -------------------------------------
# Each of these raised a non-archcalc exception (a traceback at the CLI), produced a
# multi-line message, or returned a non-integral count. The expected behaviour is the
# issue's: one line naming the file, the line and the key, exit status 2.

def _bug_cases() -> list[Bad]:
    C = []
    t = sub(MINI, "op: bottleneck", "op: [bottleneck]")          # TypeError: unhashable
    C.append(_case("op-is-a-list", t, "op: [bottleneck]", "layers.body[0].op"))
    t = sub(MINI, "op: bottleneck", "op: {kind: bottleneck}")
    C.append(_case("op-is-a-mapping", t, "op: {kind", "layers.body[0].op"))
    t = sub(MINI, "op: bottleneck", "op: !!set {bottleneck}")
    C.append(_case("op-is-a-set", t, "op: !!set", "layers.body[0].op"))
    pline = line_of(MINI, "num_classes:")
    t = sub(MINI, "{default: 10, min: 1}", "{default: 10, min: abc}")   # TypeError: int < str
    C.append(Bad(id="param-min-is-text", text=t, lines=(pline,), key="params.num_classes"))
    t = sub(MINI, "{default: 10, min: 1}", "{default: ten, min: 1}")   # TypeError: str < int
    C.append(Bad(id="param-text-default-numeric-min", text=t, lines=(pline,),
                 key="params.num_classes"))
    t = sub(MINI, "{default: 10, min: 1}", "{default: .inf}")          # ValueError from Fraction
    C.append(Bad(id="param-default-inf", text=t, lines=(pline,), key="params.num_classes"))
    t = sub(MINI, "{default: 10, min: 1}", "{default: 10, max: .nan}")
    C.append(Bad(id="param-max-nan", text=t, lines=(pline,), key="params.num_classes"))
    t = sub(MINI, "{default: 6, choices: [4, 6]}", "{default: 6, choices: [4, .nan]}")
    C.append(Bad(id="param-choice-nan", text=t, lines=(line_of(t, "expansion:"),),
                 key="params.expansion"))
    t = sub(MINI, "  expansion: {default: 6, choices: [4, 6]}",
            "  expansion: {default: 6, choices: [4, 6]}\n  ratio: {default: 0.5}")
    C.append(Bad(id="set-number-divided-by-zero", text=t, lines=(line_of(t, "ratio:"),),
                 key="--set ratio", sets={"ratio": "1/0"}))              # ZeroDivisionError
    t = MINI + '"bo\\ngus": 1\n'                                       # key with a newline
    C.append(Bad(id="key-with-newline", text=t, lines=(line_of(t, '"bo'),), key="bo\ngus"))
    t = sub(MINI, "s: 2}", '"s\\nx": 2}')
    C.append(Bad(id="row-key-with-newline", text=t, lines=(line_of(t, '"s\\nx"'),),
                 key="layers.stem[0].s\nx"))
    t = "name: " + "[" * 5000 + "]" * 5000 + "\nlayers: {a: [{op: fc, c: 1}]}\n"   # RecursionError
    C.append(Bad(id="deeply-nested-yaml", text=t, lines=(None, 1), key=None))
    return C


BUG_CASES = _bug_cases()


def check_bug_case(err: BaseException, case: Bad, path: str) -> None:
    """Like check_error, but the key may be rendered in any one-line form (the fix decides
    how to escape a newline in a key)."""
    assert isinstance(err, archcalc.ArchcalcError), f"{type(err).__name__}: {err}"
    text = str(err)
    assert "\n" not in text and "\r" not in text, f"not one line: {text!r}"
    assert err.path == path and text.startswith(path)
    assert err.line in case.lines, f"line {err.line}, expected one of {case.lines}: {text}"
    if case.key is not None and "\n" not in case.key:
        assert err.key is not None and err.key.startswith(case.key), text


@pytest.mark.parametrize("case", BUG_CASES, ids=[c.id for c in BUG_CASES])
def test_api_mishandled_inputs(case, tmp_path):
    path = write_case(tmp_path, case)
    try:
        archcalc.evaluate(path, case.width, case.resolution, sets=case.sets)
    except Exception as err:   # noqa: BLE001 -- any exception type is what is under test
        check_bug_case(err, case, path)
    else:
        pytest.fail("no error raised")


@pytest.mark.parametrize("case", BUG_CASES, ids=[c.id for c in BUG_CASES])
def test_cli_mishandled_inputs(case, tmp_path):
    path = write_case(tmp_path, case)
    proc = run_console(*cli_args(path, case))
    assert "Traceback" not in proc.stderr, proc.stderr[-600:]
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


def test_misspelt_stride_gets_a_hint(tmp_path):
    """The paper's columns are t, c, n, s, k; a user who writes `strde` (or `stride`) means
    `s`. The issue asks for "did you mean ..." on misspelt keys; difflib alone finds no
    match for a one-letter key, so archcalc gives no hint here."""
    for wrong in ("strde", "stride"):
        text = sub(MINI, STEM, f"    - {{op: conv, c: 16, k: 3, {wrong}: 2}}")
        path = write_case(tmp_path, Bad(id="x", text=text, lines=(), key=None))
        with pytest.raises(archcalc.SpecError) as info:
            archcalc.load_spec(path)
        assert info.value.key == f"layers.stem[0].{wrong}"
        assert info.value.line == line_of(text, wrong)
        assert info.value.hint == "s", str(info.value)


def test_rounding_none_is_the_idealised_model_and_renders_in_every_format(tmp_path):
    """`width: {rounding: none}` is the papers' idealised model (MobileNetV1 eq. 7): channels
    stay continuous, so at width 0.75 a c = 10 conv has 7.5 channels and the costs are exact
    fractions. Every format must render them (no TypeError traceback), the text formats must
    say the values are idealised, and a spec with real rounding never gives a fraction."""
    text = sub(MINI, "name: mini\n", "name: mini\nwidth: {rounding: none}\n")
    text = sub(text, "c: 16, k: 3", "c: 10, k: 3")
    path = write_case(tmp_path, Bad(id="x", text=text, lines=(), key=None))
    table = archcalc.evaluate(path, "0.75")
    stem = next(row for row in table.rows if row.name.endswith(".conv"))
    assert stem.output_shape[0] == Fraction(15, 2)          # 10 * 3/4, not rounded
    for fmt in ("table", "markdown", "csv", "json"):
        proc = run_console("report", path, "--width", "0.75", "--format", fmt)
        assert "Traceback" not in proc.stderr, (fmt, proc.stderr[-400:])
        assert proc.returncode == 0, (fmt, proc.stderr)
        if fmt in ("table", "markdown"):
            assert "idealised" in proc.stdout, fmt
    rounded = write_case(tmp_path, Bad(id="y", text=sub(MINI, "c: 16, k: 3", "c: 10, k: 3"),
                                       lines=(), key=None))
    for value in archcalc.evaluate(rounded, "0.75").totals.values():
        assert isinstance(value, int)


def test_many_errors_print_one_line_each_on_real_spec(tmp_path, capsys):
    """A few faults injected into the shipped MobileNetV2 spec (line numbers from its text)."""
    text = MOBILENET.read_text()
    row = "    - {op: bottleneck, t: 6, c: 64,  n: 4, s: 2}"
    for new, key, hint in [
        ("    - {op: bottleneck, t: 6, c: 64,  n: 4, s: 2, residul: none}",
         "layers.bottlenecks[3].residul", "residual"),
        ("    - {op: bottlenek, t: 6, c: 64,  n: 4, s: 2}", "layers.bottlenecks[3].op",
         "bottleneck"),
        ("    - {op: bottleneck, t: 6, c: 64,  n: 0, s: 2}", "layers.bottlenecks[3].n", None),
    ]:
        bad = sub(text, row, new)
        path = tmp_path / "mnv2.yaml"
        path.write_text(bad)
        with pytest.raises(archcalc.SpecError) as info:
            archcalc.evaluate(str(path), 1, 224)
        err = info.value
        assert err.line == line_of(bad, new.strip())
        assert err.key == key and err.hint == hint
        assert cli.main(["report", str(path)]) == 2
        out, stderr = capsys.readouterr()
        assert stderr == f"archcalc: error: {err}\n" and out == ""
