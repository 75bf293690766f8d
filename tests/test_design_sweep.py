"""Sweeps equal per-point reports, exactly: for every spec in specs/, a random sample of a wide
grid (and random off-grid points) against archcalc.evaluate, including where the spec cannot
be built (the engine must say so); each value of every parameter with choices; the other
conventions and dtypes; the output formats; the int64 / exact-object switch; blocks.

Sample sizes: 1000 random grid points per spec (plus 100 off-grid), evaluated on all cores;
a spec whose point evaluation takes 8 ms or more (NASNet-A: about 60 ms) gets what
REFERENCE_SECONDS of evaluation allow, at least 150."""
from __future__ import annotations

import csv
import io
import json
import random
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pytest
import sympy

import archcalc
from archcalc import symbolic
from archcalc.design import sweep
from archcalc.design.engine import CompiledForms, compile_forms
from archcalc.design.grid import decimal_text, parse_widths

from design_helpers import (SPEC_IDS, SPECS, declared_choices, reference, reference_cost,
                            references, run)

# A wide grid: widths 0.05 .. 2.5 by 1/80 (197 values, many off the familiar decimals) and
# every resolution 32 .. 400 (369 values): 72,693 points per spec.
WIDTHS = [Fraction(1, 20) + Fraction(k, 80) for k in range(197)]
RESOLUTIONS = list(range(32, 401))
REFERENCE_SECONDS = 3.0      # of single-core reference evaluation per spec (run on all cores)
# Specs buildable on only part of that grid check fewer points (still hundreds): SSD's valid
# 3x3 extra layers need inputs of about 268 pixels or more (SSD300: 36% of it, SSD512 with
# its extra stride-2 pair about 32%); YOLOv2's
# passthrough needs an even 1/16 map (half of it, 48% of a random sample)
BUILDABLE_SHARE = {"ssd300_vgg16": 3, "ssd512_vgg16": 4, "yolov2": 3}


@lru_cache(maxsize=None)
def _sample_size(path) -> int:
    cost = reference_cost(path)
    return 1000 if cost < 0.008 else max(150, int(REFERENCE_SECONDS / cost))


@pytest.fixture(scope="module", params=SPECS, ids=SPEC_IDS)
def spec_forms(request):
    return request.param, compile_forms(request.param)


def data_text(text: str) -> str:
    """CSV text without its leading `# key: value` provenance lines (report/provenance.py)."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


def test_every_spec_is_covered():
    assert len(SPECS) >= 3 and any(p.stem == "mobilenet_v2" for p in SPECS)


def test_grid_equals_point_reports_on_random_sample(spec_forms):
    path, forms = spec_forms
    grid = forms.grid(WIDTHS, RESOLUTIONS)
    valid = forms.valid(WIDTHS, RESOLUTIONS)
    for m, arr in grid.items():
        assert arr.shape == (len(WIDTHS), len(RESOLUTIONS)), m
    rng = random.Random(f"grid-{path.stem}")
    n = _sample_size(path)
    sample = [(rng.randrange(len(WIDTHS)), rng.randrange(len(RESOLUTIONS))) for _ in range(n)]
    wants = references(path, [(WIDTHS[i], RESOLUTIONS[j]) for i, j in sample])
    checked = 0
    for (i, j), want in zip(sample, wants):
        where = (path.stem, decimal_text(WIDTHS[i]), RESOLUTIONS[j])
        assert bool(valid[i, j]) == (want is not None), where
        if want is None:
            continue
        got = {m: grid[m][i, j] for m in grid}
        assert set(got) == {k for k in want if k != "elementwise_ops"}
        for m, v in got.items():
            assert int(v) == want[m], where + (m,)
        checked += 1
    assert checked >= n // BUILDABLE_SHARE.get(path.stem, 2)


def test_points_equal_point_reports_off_grid(spec_forms):
    """Paired points at random decimal widths (up to 3 digits) and resolutions."""
    path, forms = spec_forms
    rng = random.Random(f"points-{path.stem}")
    n = max(50, _sample_size(path) // 10)
    ws = [Fraction(rng.randint(30, 2600), 1000) for _ in range(n)]
    rs = [rng.randint(16, 600) for _ in range(n)]
    got = forms.points([decimal_text(w) for w in ws], rs)
    valid = forms.valid_points(ws, rs)
    wants = references(path, list(zip(ws, rs)))
    for k, (w, r) in enumerate(zip(ws, rs)):
        want = wants[k]
        assert bool(valid[k]) == (want is not None), (path.stem, w, r)
        if want is None:
            continue
        for m in got:
            assert int(got[m][k]) == want[m], (path.stem, w, r, m)


def test_the_engine_is_int64_where_it_can_be(spec_forms):
    path, forms = spec_forms
    grid = forms.grid(WIDTHS[:3], RESOLUTIONS[:3])
    assert all(a.dtype == np.int64 for a in grid.values()), path.stem


def test_every_choice_of_every_parameter():
    """Specs with parameters (ShuffleNet's groups, ...): a sample at each value."""
    rng = random.Random("choices")
    tested = 0
    for path in SPECS:
        for name, choices in declared_choices(path).items():
            for value in choices:
                forms = compile_forms(path, sets={name: str(value)})
                ws = [Fraction(rng.randint(20, 250), 100) for _ in range(25)]
                rs = [rng.randint(32, 320) for _ in range(25)]
                got = forms.points(ws, rs)
                valid = forms.valid_points(ws, rs)
                for k, (w, r) in enumerate(zip(ws, rs)):
                    want = reference(path, w, r, sets={name: str(value)})
                    assert bool(valid[k]) == (want is not None), (path.stem, name, value, w, r)
                    if want is None:
                        continue
                    assert {m: int(got[m][k]) for m in got} == \
                        {m: v for m, v in want.items() if m in got}, (path.stem, name, value, w, r)
                tested += 1
    assert tested >= 1


@pytest.mark.parametrize("convention,dtype", [("torchvision", "fp16"), ("tf-slim", "int8")])
def test_other_conventions_and_dtypes(convention, dtype):
    rng = random.Random(convention)
    for path in SPECS:
        forms = compile_forms(path, convention=convention, dtype=dtype)
        ws = [Fraction(rng.randint(20, 200), 100) for _ in range(20)]
        rs = [rng.randint(64, 320) for _ in range(20)]
        got = forms.points(ws, rs)
        for k, (w, r) in enumerate(zip(ws, rs)):
            want = reference(path, w, r, convention=convention, dtype=dtype)
            if want is None:
                continue
            for m in got:
                assert int(got[m][k]) == want[m], (path.stem, convention, w, r, m)


def test_elementwise_ops_when_the_convention_reports_them():
    conv = archcalc.convention_named("paper").with_options(elementwise=True)
    path = SPECS[0]
    forms = compile_forms(path, convention=conv)
    assert "elementwise_ops" in forms.metrics
    got = forms.at("0.6", 150)
    want = archcalc.evaluate(path, "0.6", 150, convention=conv).totals
    assert got == want


def test_blocks_cover_the_grid_exactly_once():
    forms = compile_forms(SPECS[0], metrics=["madds", "peak_memory_bytes"])
    ws, rs = WIDTHS[:37], RESOLUTIONS[:50]
    full = forms.grid(ws, rs)
    seen = np.zeros((len(ws), len(rs)), dtype=int)
    for start, stop, block in forms.iter_grid(ws, rs, max_points=7 * len(rs) + 3):
        assert stop - start <= 7
        seen[start:stop] += 1
        for m in full:
            assert np.array_equal(block[m], full[m][start:stop])
    assert (seen == 1).all()


@pytest.mark.parametrize("name", ["mobilenet_v2", "shufflenet_v1", "nasnet_a_mobile"])
def test_block_jobs_with_valid_equal_grid_and_valid(name):
    """Evaluator.grid_blocks(with_valid=True), what sweeps run: each block's metrics and
    buildable points equal grid() and valid() of the whole grid, across structural variants
    (widths from 0.05) and, for NASNet, unbuildable points (resolutions from 1)."""
    forms = compile_forms(next(p for p in SPECS if p.stem == name))
    ws, rs = WIDTHS[::9], [1, 2, 3, 5, 8, 13, 31, 32, 33, 96, 127, 224]
    full, valid = forms.grid(ws, rs), forms.valid(ws, rs)
    assert valid.any()
    assert valid.all() != (name == "nasnet_a_mobile")   # its valid-padded reductions vanish
    jobs = forms.grid_blocks(ws, rs, max_points=4 * len(rs), with_valid=True)
    assert [(a, b) for a, b, _ in jobs] == [(k, min(k + 4, len(ws))) for k in range(0, len(ws), 4)]
    for start, stop, job in jobs:
        block, ok = job()
        assert np.array_equal(ok, valid[start:stop]) and ok.dtype == bool
        for m in full:
            assert np.array_equal(block[m][ok], full[m][start:stop][ok])


def test_csv_json_and_summary_match_the_grid(tmp_path):
    path = SPECS[0]
    forms = compile_forms(path)
    ws, rs = parse_widths("0.35,0.5:0.6:0.05,1"), [96, 160, 224]
    grid = forms.grid(ws, rs)
    text = sweep.sweep_text(forms, ws, rs, "csv")
    rows = list(csv.DictReader(io.StringIO(data_text(text))))
    assert len(rows) == len(ws) * len(rs)
    for k, row in enumerate(rows):
        i, j = divmod(k, len(rs))
        assert row["width"] == decimal_text(ws[i]) and int(row["resolution"]) == rs[j]
        for m in forms.metrics:
            assert int(row[m]) == int(grid[m][i, j])
    doc = json.loads(sweep.sweep_text(forms, ws, rs, "json"))
    assert doc["columns"] == ["width", "resolution", *forms.metrics]
    assert [r[:2] for r in doc["rows"]][:3] == [[0.35, 96], [0.35, 160], [0.35, 224]]
    assert [row[2:] for row in doc["rows"]] == [[int(grid[m][i, j]) for m in forms.metrics]
                                                for i in range(len(ws)) for j in range(len(rs))]
    out = tmp_path / "s.csv"
    summary = sweep.sweep_file(forms, ws, rs, str(out))
    assert summary.startswith(f"wrote {len(ws) * len(rs)} points") and out.read_text() == text


def test_parquet_round_trip(tmp_path):
    """pyarrow is in the test extra (and the `parquet` extra)."""
    import pyarrow.parquet as pq
    forms = compile_forms(SPECS[0], metrics=["madds"])
    out = tmp_path / "s.parquet"
    sweep.sweep_file(forms, ["0.5", "1"], [160], str(out))
    table = pq.read_table(out).to_pydict()
    assert table["madds"] == [reference(SPECS[0], w, 160)["madds"] for w in ("0.5", "1")]


def _tiny_forms(expr, metric="madds"):
    """CompiledForms over a hand-made symbolic table (to reach the engine's rare paths)."""
    table = archcalc.closed_form(SPECS[0])
    from dataclasses import replace
    return CompiledForms(replace(table, totals={metric: expr}), [metric])


def test_object_fallback_when_int64_could_overflow():
    a, r = symbolic.alpha, symbolic.r
    e = symbolic.make_divisible(10**6 * a, 8, 8) ** 2 * sympy.ceiling(r / 2) ** 2 * 10**3
    forms = _tiny_forms(e)
    got = forms.grid(["1", "2.5"], [10**4, 3 * 10**4])["madds"]
    assert got.dtype == object
    for i, w in enumerate((Fraction(1), Fraction(5, 2))):
        for j, res in enumerate((10**4, 3 * 10**4)):
            c = int(10**6 * w)
            assert got[i, j] == c * c * (-(-res // 2)) ** 2 * 10**3


def test_exact_fractions_and_mixed_terms():
    """rounding: none gives fractional counts; an alpha*r term inside a rounding function
    cannot be separated and is evaluated point by point; both stay exact."""
    a, r = symbolic.alpha, symbolic.r
    e = sympy.Rational(3, 7) * a**2 * r + sympy.floor(a * r / 3) + sympy.Max(a * r, 5 * a)
    forms = _tiny_forms(e)
    ws, rs = [Fraction(7, 20), Fraction(1, 3)], [3, 101]
    got = forms.grid(ws, rs)["madds"]
    for i, w in enumerate(ws):
        for j, res in enumerate(rs):
            want = Fraction(3, 7) * w * w * res + (w * res) // 3 + max(w * res, 5 * w)
            assert got[i, j] == want
    pts = forms.points(ws, rs)["madds"]
    assert list(pts) == [got[0, 0], got[1, 1]]


def test_max_pruning_is_exact_with_negative_atoms():
    """The dominated-term pruning of Max is used only when the atoms are >= 0 on the request."""
    r = symbolic.r
    e = sympy.Max(2 * (r - 50), 3 * (r - 50))     # 3(r-50) dominates only for r >= 50
    forms = _tiny_forms(e)
    got = forms.grid(["1"], [10, 50, 80])["madds"]
    assert list(got[0]) == [max(2 * (x - 50), 3 * (x - 50)) for x in (10, 50, 80)]


def test_cli_sweep(tmp_path):
    rc, out, err = run("sweep", SPECS[0], "--widths", "0.5,1", "--resolutions", "160:224:64")
    assert rc == 0 and err == ""
    rows = list(csv.DictReader(io.StringIO(data_text(out))))
    assert [(r["width"], r["resolution"]) for r in rows] == [("0.5", "160"), ("0.5", "224"),
                                                             ("1", "160"), ("1", "224")]
    for row in rows:
        want = reference(SPECS[0], row["width"], int(row["resolution"]))
        assert {k: int(v) for k, v in row.items() if k not in ("width", "resolution")} == \
            {k: v for k, v in want.items() if k != "elementwise_ops"}
    rc, out, _ = run("sweep", SPECS[0], "--widths", "1", "--resolutions", "224", "--metrics",
                     "madds", "-f", "json")
    assert rc == 0 and json.loads(out)["rows"] == [[1, 224, reference(SPECS[0], 1, 224)["madds"]]]
    rc, out, _ = run("sweep", SPECS[0], "--out", tmp_path / "g.json", "--widths", "0.5", "--resolutions", "96")
    assert rc == 0 and "wrote 1 points" in out and json.loads((tmp_path / "g.json").read_text())


def test_cli_sweep_streams_large_grids_to_stdout(monkeypatch):
    from archcalc.cli import design as commands
    monkeypatch.setattr(commands, "STDOUT_TEXT_LIMIT", 10)
    rc, out, _ = run("sweep", SPECS[0], "--widths", "0.5:0.6:0.05", "--resolutions", "96:128:8",
                     "--metrics", "params")
    assert rc == 0 and len(data_text(out).splitlines()) == 1 + 3 * 5


@pytest.mark.parametrize("argv,says", [
    (["--width", "0.5:0.1:0.1"], "empty"),
    (["--width", "-1"], "positive"),
    (["--width", "abc"], "number"),
    (["--resolution", "96:100:0.5"], "whole"),
    (["--metrics", "madds,latency"], "unknown metric"),
    (["--format", "parquet"], "parquet"),
])
def test_cli_sweep_bad_input(argv, says):
    rc, _, err = run("sweep", SPECS[0], *argv)
    assert rc == 2 and says in err


TINY = """\
name: Tiny
input: {channels: 3, resolution: 32}
width: {rounding: truncate, min_channels: 1}
layers:
  body:
    - {op: conv, c: 8, k: 5, s: 2, padding: valid}
    - {op: conv, c: 16, k: 3, s: 1, padding: valid}
  head:
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: 10}
"""


def test_points_where_the_spec_cannot_be_built_are_flagged_and_skipped(tmp_path):
    """Valid padding vanishes below 9 pixels: those points are invalid, as evaluate says."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    forms = compile_forms(path)
    rs = list(range(1, 16))
    valid = forms.valid(["0.5", "1"], rs)
    for j, r in enumerate(rs):
        want = reference(path, "1", r)
        assert bool(valid[1, j]) == (want is not None) == (r >= 9), r
    out = tmp_path / "tiny.csv"
    summary = sweep.sweep_file(forms, ["0.5", "1"], rs, str(out))
    assert "16 of 30 grid points skipped" in summary
    rows = list(csv.DictReader(io.StringIO(data_text(out.read_text()))))
    assert len(rows) == 14 and {int(r["resolution"]) for r in rows} == set(range(9, 16))
    for row in rows:
        want = reference(path, row["width"], int(row["resolution"]))
        assert int(row["madds"]) == want["madds"]


def test_progress_bar_runs(tmp_path, capsys):
    forms = compile_forms(SPECS[0], metrics=["madds"])
    summary = sweep.sweep_file(forms, parse_widths("0.5:1:0.05"), RESOLUTIONS[:20],
                               str(tmp_path / "p.csv"), progress=True)
    assert summary.startswith("wrote 220 points")
