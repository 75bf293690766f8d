"""`archcalc fit`: on a width grid it equals a brute-force loop over the grid with point
evaluation (archcalc.evaluate); over an interval its answer is exact at the step functions'
edges (checked just inside and just outside the reported interval); the Pareto flags match
their definition; budgets parse exactly."""
from __future__ import annotations

import json
from fractions import Fraction

import pytest

import archcalc
from archcalc.design.engine import compile_forms
from archcalc.design.fit import Budget, fit
from archcalc.design.grid import parse_budget, parse_widths

from design_helpers import REPO, reference, references, run

MBV2 = REPO / "specs" / "mobilenet_v2.yaml"
SHUFFLE = REPO / "specs" / "shufflenet_v1.yaml"
MBV1 = REPO / "specs" / "mobilenet_v1.yaml"
GRID = parse_widths("0.1:1.5:0.05")
RES = [96, 128, 160, 192, 224]
EPS = Fraction(1, 10**9)      # far below the spacing of any two breakpoints

CASES = [
    (MBV2, [Budget("madds", Fraction(150_000_000))]),
    (MBV2, [Budget("params", Fraction(2_000_000)), Budget("peak_memory_bytes", Fraction(2_500_000))]),
    (MBV2, [Budget("madds", Fraction(60_000_000)), Budget("peak_memory_bytes_streamed", Fraction(600_000))]),
    (SHUFFLE, [Budget("madds", Fraction(140_000_000))]),
    (MBV1, [Budget("madds", Fraction(300_000_000)), Budget("params", Fraction(3_000_000))]),
]


def _fits(totals, budgets) -> bool:
    return totals is not None and all(totals[b.metric] <= b.limit for b in budgets)


@pytest.fixture(scope="module")
def grid_references():
    out = {}
    for path in {c[0] for c in CASES}:
        pts = [(w, r) for w in GRID for r in RES]
        out[path] = dict(zip(pts, references(path, pts)))
    return out


@pytest.mark.parametrize("case", range(len(CASES)))
def test_grid_fit_equals_brute_force(case, grid_references):
    path, budgets = CASES[case]
    result = fit(compile_forms(path), budgets, RES, widths=GRID)
    ref = grid_references[path]
    for row in result.rows:
        fitting = [w for w in GRID if _fits(ref[(w, row.resolution)], budgets)]
        if not fitting:
            assert not row.fits
            continue
        best = max(fitting)
        assert row.fits and row.width == best == row.lo == row.hi, (path.stem, row.resolution)
        want = ref[(best, row.resolution)]
        assert all(row.metrics[m] == want[m] for m in row.metrics)
        bigger = [w for w in GRID if w > best]
        if bigger:
            nxt = ref[(min(bigger), row.resolution)]
            broken = ("no valid network",) if nxt is None else \
                tuple(b.metric for b in budgets if nxt[b.metric] > b.limit)
            assert row.limited_by == broken
        else:
            assert row.limited_by == ("width range",)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_interval_fit_is_exact_at_the_edges(case):
    path, budgets = CASES[case]
    lo, hi = Fraction(1, 10), Fraction(2)
    result = fit(compile_forms(path), budgets, RES, interval=(lo, hi))
    for row in result.rows:
        r = row.resolution
        if not row.fits:
            assert not _fits(reference(path, lo, r), budgets)
            continue
        use = reference(path, row.width, r)
        assert _fits(use, budgets) and {m: use[m] for m in row.metrics} == row.metrics
        assert row.lo <= row.width <= row.hi
        # same network everywhere inside the interval, at its closed ends, and nowhere beyond
        inside = [row.lo + EPS, row.hi - EPS, (row.lo + row.hi) / 2]
        inside += [x for x, closed in ((row.lo, row.lo_closed), (row.hi, row.hi_closed)) if closed]
        for x in inside:
            assert reference(path, x, r) == use, (path.stem, r, x)
        if row.hi < hi:
            beyond = [row.hi + EPS] + ([] if row.hi_closed else [row.hi])
            for x in beyond:
                assert not _fits(reference(path, x, r), budgets), (path.stem, r, x)
        else:
            assert row.hi_closed and row.limited_by == ("width range",)
        if row.lo > lo:
            below = row.lo - EPS if row.lo_closed else row.lo
            assert reference(path, below, r) != use


def test_interval_answer_dominates_the_grid_answer():
    """Every grid width that fits is at most the interval's supremum, and the largest one is
    inside the interval or below it."""
    path, budgets = CASES[0]
    forms = compile_forms(path)
    exact = fit(forms, budgets, RES, interval=(Fraction(1, 10), Fraction(3, 2)))
    grid = fit(forms, budgets, RES, widths=parse_widths("0.1:1.5:0.0125"))
    for e, g in zip(exact.rows, grid.rows):
        assert e.fits == g.fits
        if e.fits:
            assert g.width < e.hi or (g.width == e.hi and e.hi_closed)


def test_pareto_flags_match_the_definition():
    path, budgets = CASES[1]
    result = fit(compile_forms(path), budgets, [96, 128, 160, 192, 224, 256],
                 interval=(Fraction(1, 10), Fraction(2)))
    fitting = [r for r in result.rows if r.fits]
    assert fitting
    for row in fitting:
        dominated = any((o.hi, o.hi_closed) >= (row.hi, row.hi_closed) and o.resolution >= row.resolution
                        and ((o.hi, o.hi_closed) != (row.hi, row.hi_closed) or o.resolution != row.resolution)
                        for o in fitting)
        assert row.pareto == (not dominated)


def test_params_only_budget_prefers_the_highest_resolution():
    result = fit(compile_forms(MBV2), [Budget("params", Fraction(2_000_000))], [96, 160, 224],
                 widths=GRID)
    assert [r.width for r in result.rows] == [Fraction(1, 2)] * 3
    assert [r.pareto for r in result.rows] == [False, False, True]


def test_budget_parsing():
    assert parse_budget("150M") == 150_000_000
    assert parse_budget("2.5M") == 2_500_000
    assert parse_budget("300k") == 300_000
    assert parse_budget("500KB", "bytes") == 500_000
    assert parse_budget("512KiB", "bytes") == 524_288
    assert parse_budget("1.5GB", "bytes") == 1_500_000_000
    assert parse_budget("1,000") == 1000
    for bad in ("", "M", "12Q", "-5", "abcM"):
        with pytest.raises(archcalc.OptionError):
            parse_budget(bad)
    with pytest.raises(archcalc.OptionError):
        parse_budget("5MB", "count")


def test_cli_fit_formats():
    rc, out, err = run("fit", MBV2, "--max-madds", "150M", "--max-memory", "2MB",
                       "--resolutions", "96,160,224")
    assert rc == 0 and err == ""
    assert "widest fitting width" in out and "madds <= 150M (150,000,000)" in out
    rc, out, _ = run("fit", MBV2, "--max-madds", "150M", "--resolutions", "160", "--format", "json")
    doc = json.loads(out)
    row, = doc["rows"]
    assert row["fits"] and row["resolution"] == 160
    assert reference(MBV2, row["width"], 160)["madds"] == row["metrics"]["madds"] <= 150_000_000
    rc, out, _ = run("fit", MBV2, "--max", "flops=300M", "--resolutions", "224", "--widths", "0.35,0.5,0.75,1",
                     "--format", "csv")
    assert rc == 0 and [x for x in out.splitlines() if not x.startswith("#")][1].startswith("224,1,0.5,")
    rc, out, _ = run("fit", MBV2, "--max-memory", "1MB", "--memory", "streamed", "--resolutions", "224")
    assert rc == 0 and "peak_memory_bytes_streamed <= 1MB" in out


@pytest.mark.parametrize("argv,says", [
    ([], "at least one budget"),
    (["--max-madds", "lots"], "budget"),
    (["--max", "latency=5"], "unknown budget metric"),
    (["--max", "madds"], "METRIC=VALUE"),
    (["--max-madds", "1M", "--width", "2:1"], "0 < LO <= HI"),
])
def test_cli_fit_bad_input(argv, says):
    rc, _, err = run("fit", MBV2, *argv)
    assert rc == 2 and says in err
