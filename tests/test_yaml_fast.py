"""archcalc.spec.yamlio reads spec text with libyaml's parser (C) where it can (issue 14: the
cold `archcalc report`), under the same Python composer, bounds and constructors. Checked
against PyYAML's pure-Python parser, which is what load_yaml used before: every zoo spec and
thousands of generated documents give the same values, types and line numbers, or the same
one-line error."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from archcalc.errors import SpecError
from archcalc.spec import yamlio

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "archcalc" / "zoo" / "specs").rglob("*.yaml"))

pytestmark = pytest.mark.skipif(yamlio._FastLoader is None, reason="PyYAML without libyaml")


def shape(obj):
    """Values with their types and the lines the loader recorded."""
    if isinstance(obj, dict):
        return ("map", obj.line, dict(obj.key_lines), {k: shape(v) for k, v in obj.items()})
    if isinstance(obj, list):
        return ("seq", obj.line, list(obj.item_lines), [shape(v) for v in obj])
    if isinstance(obj, float) and math.isnan(obj):
        return ("float", "nan")
    return (type(obj).__name__, obj)


def python_only(text: str):
    """load_yaml as it was: PyYAML's Python parser alone."""
    fast, yamlio._FastLoader = yamlio._FastLoader, None
    try:
        return outcome(text)
    finally:
        yamlio._FastLoader = fast


def outcome(text: str):
    try:
        return shape(yamlio.load_yaml(text, "s.yaml"))
    except SpecError as err:
        return ("error", str(err))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_zoo_spec_reads_the_same_through_libyaml(path):
    text = path.read_text()
    assert yamlio._libyaml_agrees(text)          # the zoo takes the fast path
    direct = shape(yaml.load(text, Loader=yamlio._FastLoader))   # noqa: S506
    assert direct == python_only(text) == outcome(text)


@pytest.mark.parametrize("text", [
    "a: 1\t\n",                   # a tab: PyYAML's scanner refuses it, libyaml does not
    "a: !x 1\n", "a: |\n  x\n", "a: >\n  x\n", "%YAML 1.2\n---\na: 1\n", "\ufeffa: 1\n",
    "a: 1\n...\n", "---\na: 1\n", "# c\x85a: !x 1\n", "a: 'q' # !\n",
])
def test_text_the_parsers_may_read_differently_goes_to_python(text):
    assert not yamlio._libyaml_agrees(text)


@pytest.mark.parametrize("text", ["a: 1  # 10% > 5 | x !\n", "# !x\nb: [1, 2]\n", "a: b#c\n"])
def test_comments_and_plain_text_take_the_fast_path(text):
    assert yamlio._libyaml_agrees(text)
    assert outcome(text) == python_only(text)


@pytest.mark.parametrize("text", [
    "a: [1, 2\n", "a: b: c\n", "a: 1\na: 2\n", "a: *nope\n", "- a\nb: 1\n",
    "a: &x [*x]\n", "[" * 300 + "]" * 300 + "\n", "a: 1\x07\n",
])
def test_errors_read_as_before(text):
    got = outcome(text)
    assert got[0] == "error" and got == python_only(text)


TOKENS = ["\n", "\n  ", "\n    ", "- ", "a: ", "b: 1", "{c: 2, d: [1, 2]}", "[3, {e: f}]", "&x ",
          "*x", "<<: *x", "'q'", '"dq\\n"', "# c", " #", "#", " # > ! | %", "!", "|", ">", "%",
          "'a # !'", " ", "0o17", "0x1F", "1e3", ".5", "-.inf", "~", "null", "true", "yes",
          "1:30", "\r\n", "\x85", "\u2028", "é", "---", "...", "?", ": ", ",", "}", "]", "k",
          "a", "1", ":", "-", "{", "[", "&", "*", "'", '"', "\t", "\ufeff", "."]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=25))
def test_generated_documents_read_the_same(tokens):
    text = "".join(tokens)
    assert outcome(text) == python_only(text)
