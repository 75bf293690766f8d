"""archcalc.evaluate keeps what it compiled (issue 14): later calls on a spec read no YAML and,
from the FORMS_AFTER-th call, evaluate rows compiled once from the closed forms. Checked
against numbers computed without archcalc: the hand-derived tiny spec of test_evaluator.py
(before and after the file is edited) and tests/reference_mobilenet_v2.py (torchvision's
mobilenetv2.py in plain Python); and each table equals a fresh compile field by field,
including at widths where a structural guard fires and at points that cannot be built."""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest

import archcalc
from archcalc import api
from archcalc.errors import SpecError
from archcalc.graph import compile_graph
from archcalc.cost import analyze

from reference_mobilenet_v2 import mobilenet_v2 as reference_v2
from test_evaluator import TINY, tiny_by_hand

SPECS = Path(__file__).resolve().parent.parent / "specs"


def fresh(spec, width, resolution, convention="paper", sets=None):
    return analyze(compile_graph(api.load(str(spec), sets, convention), width, resolution),
                   convention)


def test_tiny_spec_by_hand_through_the_cache_and_after_an_edit(tmp_path):
    api.clear_cache()
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    points = [("1", 32), ("0.25", 32), ("0.35", 33), ("0.75", 64), ("1.4", 17), ("0.5", 32)]
    for w, r in points:                   # past FORMS_AFTER: the compiled rows answer
        table = archcalc.evaluate(path, w, r)
        hand = tiny_by_hand(w, r)
        for m in ("params", "madds", "flops", "bn_params", "activation_bytes"):
            assert table.totals[m] == hand[m], (w, r, m)
    assert api.cache_info()["with_forms"] == 1
    # an edit (fc: 10 -> 20 classes) is seen at once, whatever the modification time says
    stat = os.stat(path)
    path.write_text(TINY.replace("c: 10}", "c: 20}"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    c1 = tiny_by_hand("1", 32)["_c"][1]
    assert archcalc.evaluate(path, "1", 32).totals["params"] == \
        tiny_by_hand("1", 32)["params"] + 10 * c1 + 10          # 10 more outputs, 10 more biases


def test_repeated_points_equal_the_reference_and_a_fresh_compile():
    api.clear_cache()
    spec = SPECS / "mobilenet_v2.yaml"
    widths = ["0.75", "1", "0.35", "1.4", "0.5", "0.25", "0.2", "1.3"]   # 0.25, 0.2: guards fire
    for i, w in enumerate(widths):
        r = [96, 128, 160, 193, 224][i % 5]
        table = archcalc.evaluate(spec, w, r, convention="torchvision")
        ref = reference_v2(float(w), r)
        assert table.totals["params"] == ref.params + ref.bn_params, (w, r)
        assert table.totals["madds"] == ref.madds, (w, r)
        assert table == fresh(spec, w, r, "torchvision"), (w, r)
    assert api.cache_info()["with_forms"] == 1
    default = archcalc.evaluate(spec, convention="torchvision")      # width 1, the spec's 224
    assert default == fresh(spec, None, None, "torchvision")
    assert default.totals["madds"] == reference_v2(1.0, 224).madds


def test_points_that_cannot_be_built_raise_as_a_compile_does(tmp_path):
    api.clear_cache()
    path = tmp_path / "valid.yaml"                # valid padding: nothing left below r = 3
    path.write_text("name: V\ninput: {channels: 3, resolution: 32}\nlayers:\n  body:\n"
                    "    - {op: conv, c: 8, k: 3, s: 1, padding: valid}\n")
    for r in (32, 16, 8):
        archcalc.evaluate(path, 1, r)
    assert archcalc.evaluate(path, 1, 5).totals["params"] == 3 * 9 * 8   # 3x3 conv 3 -> 8
    with pytest.raises(SpecError) as cached:
        archcalc.evaluate(path, 1, 2)
    with pytest.raises(SpecError) as compiled:
        fresh(path, 1, 2)
    assert str(cached.value) == str(compiled.value)
    # a non-square point is compiled, as before
    assert archcalc.evaluate(path, 1, "12x20") == fresh(path, 1, "12x20")


def test_sets_conventions_and_dtypes_are_separate_entries():
    api.clear_cache()
    spec = SPECS / "mobilenet_v2.yaml"
    for _ in range(4):
        a = archcalc.evaluate(spec, "1", 224, convention="torchvision")
        b = archcalc.evaluate(spec, "1", 224, convention="torchvision", dtype="fp16")
    ref = reference_v2(1.0, 224)
    assert a.totals["madds"] == b.totals["madds"] == ref.madds
    assert a.totals["activation_bytes"] == 2 * b.totals["activation_bytes"]   # 4 vs 2 bytes
    assert api.cache_info()["specs"] == 2


def test_the_cache_is_bounded(tmp_path):
    api.clear_cache()
    limit = api.cache_info()["limit"]
    for i in range(limit + 3):
        path = tmp_path / f"s{i}.yaml"
        path.write_text(TINY.replace("c: 10}", f"c: {i + 1}}}"))
        c1 = tiny_by_hand("1", 32)["_c"][1]
        params = tiny_by_hand("1", 32)["params"] + (i + 1 - 10) * (c1 + 1)
        assert archcalc.evaluate(path, "1", 32).totals["params"] == params
        assert api.cache_info()["specs"] <= limit
    assert api.cache_info()["specs"] == limit
