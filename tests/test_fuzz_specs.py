"""Property: mutate valid specs at random; every result is a valid report or a one-line
ArchcalcError naming the file -- never another exception, never a wrong-looking number.

Mutations: delete / duplicate a line, replace a value (ints, zero, negatives, floats,
strings, booleans, null, lists, mappings, vocabulary words, parameter references),
rename a key (insert / delete / replace a character), change indentation, insert garbage
characters, swap ops. Width and resolution are drawn too, bad values included.
"""
from __future__ import annotations

import contextlib
import io
import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archcalc
from archcalc import cli

REPO = Path(__file__).resolve().parents[1]
MOBILENET = (REPO / "specs" / "mobilenet_v2.yaml").read_text()

# A small second spec exercising the other row kinds, parameters and width options.
SMALL = """\
name: small
input: {channels: 3, resolution: 32}
params:
  num_classes: {default: 10, min: 1, max: 1000}
  mult: {default: 4, choices: [2, 4, 6]}
  wide: {default: 1.5}
width: {rounding: make_divisible, divisor: 8, min_channels: 8, expand: make_divisible}
defaults: {act: relu, padding: same}
layers:
  stem:
    - {op: conv, c: 16, k: 3, s: 2, groups: 1}
    - {op: maxpool, k: 3, s: 2, padding: 1}
  body:
    - {op: sepconv, c: 32, k: 3, s: 1}
    - {op: dwconv, k: 5, s: 2}
    - {op: pwconv, c: 32, groups: 2}
    - {op: bottleneck, t: $mult, c: 32, n: 2, s: 1, residual: bottleneck}
    - {op: bottleneck, t: $wide, c: 48, n: 2, s: 1, k: 5, residual: expansion}
  head:
    - {op: conv, c: 64, k: 1, scale: up, norm: none, bias: true}
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: $num_classes, act: linear}
"""

BASES = {"mobilenet_v2": MOBILENET, "small": SMALL}

OPS = ["conv", "dwconv", "pwconv", "sepconv", "bottleneck", "avgpool", "maxpool", "fc"]
WORDS = ["relu", "relu6", "linear", "bn", "none", "all", "up", "same", "valid", "bottleneck",
         "expansion", "make_divisible", "truncate", "round", "true", "false", "null", "~",
         "$num_classes", "$mult", "$wide", "$nope", "$", "abc", "''", '"3"', "1e3", ".inf",
         "-.inf", ".nan", "0x10", "0o7", "1_000", "[]", "{}", "[1, 2]", "{a: 1}", "[conv]",
         "!!binary aGk=", "2001-12-14", "*nope", "&a 3", "!!str 3", "!!int 3", "!!float 3"]
GARBAGE = list(":{}[]-#&*!|>'\"%@`,?\t ") + ["\n", ": ", "- ", "{", "}}", "[[", "!!python/none",
                                             "&a", "*a", "<<: ", "\\", "\u00e9", "\ufeff"]

KEY_RE = re.compile(r"([A-Za-z_]\w*)(\s*:)")
VALUE_RE = re.compile(r"(?<=:)[ \t]*([^,{}\[\]#\n]+?)(?=\s*[,}\]#\n]|\s*$)", re.M)
OP_RE = re.compile(r"(?<=op: )[a-z]+")
ENUM_RE = re.compile(r"\b(rounding|expand|act|project_act|norm|scale|residual|padding|global|"
                     r"bias): ([a-z_0-9]+)")
INT_RE = re.compile(r"\b(?:c|k|s|n|t|groups|padding|divisor|min_channels|resolution|"
                    r"channels|default): (\d+)\b")
ENUMS = {"rounding": ["make_divisible", "truncate", "none"], "expand": ["round", "make_divisible"],
         "act": ["relu", "relu6", "linear"], "project_act": ["relu", "relu6", "linear"],
         "norm": ["bn", "none"], "scale": ["all", "up", "none"],
         "residual": ["bottleneck", "expansion", "none"], "padding": ["same", "valid", "0", "1", "2"],
         "global": ["true", "false"], "bias": ["true", "false"]}
ALL_ENUM_WORDS = sorted({w for words in ENUMS.values() for w in words})

ints = st.one_of(st.integers(-3, 12), st.sampled_from([0, -1, 16, 24, 100, 257, 1000]))
floats = st.one_of(st.sampled_from([0.0, -0.5, 0.5, 1.5, 2.25, 1e-9, 6.0, 3.3]),
                   st.floats(-10, 50, allow_nan=False, allow_infinity=False).map(lambda f: round(f, 3)))
values = st.one_of(ints.map(str), floats.map(repr), st.sampled_from(WORDS),
                   st.text(alphabet="abcxyz_$ ", min_size=1, max_size=6))


def _spans(regex, text, group=1):
    return [(m.start(group), m.end(group)) for m in regex.finditer(text)]


@st.composite
def mutation(draw, text: str) -> str:
    lines = text.split("\n")
    kind = draw(st.sampled_from(["delete", "duplicate", "value", "value", "value", "rename",
                                 "indent", "garbage", "swap_op", "enum", "enum", "tweak", "tweak"]))
    if kind == "enum":
        # another option word, usually one the key allows: the spec often stays valid
        found = [(m.group(1), m.start(2), m.end(2)) for m in ENUM_RE.finditer(text)]
        if found:
            key, a, b = draw(st.sampled_from(found))
            word = draw(st.sampled_from(ENUMS[key] * 4 + ALL_ENUM_WORDS))
            return text[:a] + word + text[b:]
        return text
    if kind == "tweak":
        # another size: often still a valid spec, at another shape
        spans = _spans(INT_RE, text)
        if spans:
            a, b = draw(st.sampled_from(spans))
            return text[:a] + str(draw(st.integers(1, 64))) + text[b:]
        return text
    if kind in ("delete", "duplicate", "indent"):
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        else:
            delta = draw(st.sampled_from([-4, -2, -1, 1, 2, 4]))
            line = lines[i]
            lines[i] = " " * delta + line if delta > 0 else line[min(-delta, len(line) - len(line.lstrip(" "))):]
        return "\n".join(lines)
    if kind == "value":
        spans = _spans(VALUE_RE, text)
        if spans:
            a, b = draw(st.sampled_from(spans))
            return text[:a] + " " + draw(values) + text[b:]
        return text
    if kind == "rename":
        spans = _spans(KEY_RE, text)
        if spans:
            a, b = draw(st.sampled_from(spans))
            key = text[a:b]
            j = draw(st.integers(0, len(key)))
            how = draw(st.sampled_from(["insert", "delete", "replace"]))
            ch = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz_0"))
            if how == "insert":
                key = key[:j] + ch + key[j:]
            elif how == "delete" and len(key) > 1:
                key = key[:max(0, j - 1)] + key[j:] if j else key[1:]
            else:
                key = key[:j] + ch + key[j + 1:]
            return text[:a] + key + text[b:]
        return text
    if kind == "garbage":
        j = draw(st.integers(0, len(text)))
        junk = "".join(draw(st.lists(st.sampled_from(GARBAGE), min_size=1, max_size=3)))
        return text[:j] + junk + text[j:]
    spans = _spans(OP_RE, text, 0)   # swap_op
    if spans:
        a, b = draw(st.sampled_from(spans))
        return text[:a] + draw(st.sampled_from(OPS + ["bottleneckk", "conv2d", "Conv"])) + text[b:]
    return text


@st.composite
def mutated_spec(draw):
    name = draw(st.sampled_from(sorted(BASES)))
    text = BASES[name]
    for _ in range(draw(st.integers(1, 3))):
        text = draw(mutation(text))
    return name, text


widths = st.one_of(st.none(), st.sampled_from([1, 0.5, 0.75, 1.4, "0.35", "1.3", 0, -1, "abc",
                                               "1/3", 0.1, 2]),
                   st.fractions(Fraction(-1), Fraction(3), max_denominator=20))
resolutions = st.one_of(st.none(), st.integers(-2, 320),
                        st.sampled_from(["0.5x", "0.3x", "2x", "abc", "160", "0x", "224.0"]))


# ---- the property -------------------------------------------------------------------------------

def _is_count(v, idealised: bool = False) -> bool:
    """A count is a non-negative int; under `rounding: none` (the idealised model, where
    channels are continuous) an exact non-negative Fraction."""
    if idealised and isinstance(v, Fraction):
        return v >= 0
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def check_table(table, text: str) -> None:
    assert isinstance(table, archcalc.CostTable)
    idealised = table.spec.width.rounding == "none"
    totals = table.totals
    for key in ("params", "bn_params", "madds", "flops", "activation_bytes",
                "peak_memory_bytes", "peak_memory_bytes_streamed"):
        assert _is_count(totals[key], idealised), (key, totals[key])
    rows = table.rows
    assert rows
    for row in rows:
        assert len(row.output_shape) == 3
        c, h, w = row.output_shape
        assert isinstance(h, int) and isinstance(w, int) and h >= 1 and w >= 1, row.name
        assert _is_count(c, idealised) and c > 0, (row.name, row.output_shape)
        for m in ("params", "bn_params", "madds", "memory_bytes", "live_bytes", "live_bytes_streamed"):
            assert _is_count(getattr(row, m), idealised), (row.name, m, getattr(row, m))
    assert sum(r.madds for r in rows) == totals["madds"]
    assert sum(r.params for r in rows) == totals["params"]
    assert sum(r.bn_params for r in rows) == totals["bn_params"]
    assert sum(r.memory_bytes for r in rows) == totals["activation_bytes"]
    assert totals["flops"] == 2 * totals["madds"]
    assert totals["peak_memory_bytes"] == max(r.live_bytes for r in rows)
    assert totals["peak_memory_bytes_streamed"] == max(r.live_bytes_streamed for r in rows)


def check_error(err: BaseException, path: str, text: str) -> None:
    assert isinstance(err, archcalc.ArchcalcError), f"{type(err).__name__}: {err!r}"
    msg = str(err)
    assert msg and "\n" not in msg and "\r" not in msg, f"not one line: {msg!r}"
    if isinstance(err, archcalc.SpecError):
        assert msg.startswith(path), msg
        assert err.line is None or 1 <= err.line <= text.count("\n") + 1, (err.line, msg)
    else:
        # options (width, resolution) are not in the file; the message names the option
        assert isinstance(err, archcalc.OptionError), msg
        assert "width" in msg or "resolution" in msg, msg


@pytest.fixture(scope="module")
def spec_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=mutated_spec(), width=widths, resolution=resolutions)
def test_mutated_specs_report_or_one_line_error(spec_dir, spec, width, resolution):
    name, text = spec
    path = str(spec_dir / f"{name}.yaml")
    Path(path).write_text(text, encoding="utf-8")
    try:
        table = archcalc.evaluate(path, width, resolution)
    except Exception as err:   # noqa: BLE001 -- which exception it is, is the property
        check_error(err, path, text)
    else:
        check_table(table, text)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=mutated_spec(), width=widths, resolution=resolutions,
       fmt=st.sampled_from(["table", "csv", "json", "markdown"]),
       symbolic=st.booleans())
def test_mutated_specs_cli_exit_status(spec_dir, spec, width, resolution, fmt, symbolic):
    name, text = spec
    path = str(spec_dir / f"cli_{name}.yaml")
    Path(path).write_text(text, encoding="utf-8")
    args = ["report", path, "--format", fmt]
    if width is not None:
        args.append(f"--width={width}")
    if resolution is not None:
        args.append(f"--resolution={resolution}")
    if symbolic and name == "small":      # closed forms of the big spec take ~0.5 s each
        args.append("--symbolic")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(args)
    assert rc in (0, 2)
    if rc == 0:
        assert out.getvalue().strip() and err.getvalue() == ""
    else:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("archcalc: error: "), err.getvalue()
        assert out.getvalue() == ""


def test_bases_are_valid(spec_dir):
    for name, text in BASES.items():
        path = spec_dir / f"base_{name}.yaml"
        path.write_text(text)
        check_table(archcalc.evaluate(str(path)), text)
        check_table(archcalc.evaluate(str(path), "0.5", "0.5x"), text)
