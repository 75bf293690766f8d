"""The sweep's CSV and JSON are written column-wise (issue 14): pyarrow's CSV writer where it
is installed, numpy and str.join otherwise. Both give the same bytes, rows appear only where
the spec can be built, and the values are hand-derived here (two valid-padding convs)."""
from __future__ import annotations

import io
import json
import sys

import pytest

from archcalc.cost import Evaluator
from archcalc.design import sweep

SPEC = """\
name: V
input: {channels: 3, resolution: 32}
layers:
  body:
    - {op: conv, c: 8, k: 3, s: 1, padding: valid}
    - {op: conv, c: 8, k: 3, s: 2, padding: valid}
"""
WIDTHS = ["0.5", "1", "2"]
RES = list(range(1, 13))


def by_hand(width: str, r: int):
    """MAdds, or None where a side vanishes: conv 1 (3x3 valid, stride 1) gives r - 2, conv 2
    (3x3 valid, stride 2) (r - 2 - 3) // 2 + 1; channels 8 x width rounded to a multiple of
    8, at least 8 (make_divisible): 8, 8, 16."""
    c = {"0.5": 8, "1": 8, "2": 16}[width]
    h1 = r - 2
    h2 = (h1 - 3) // 2 + 1 if h1 >= 3 else 0
    if h1 < 1 or h2 < 1:
        return None
    return 27 * c * h1 * h1 + 9 * c * c * h2 * h2


@pytest.fixture(scope="module")
def forms(tmp_path_factory):
    path = tmp_path_factory.mktemp("v") / "v.yaml"
    path.write_text(SPEC)
    return Evaluator(str(path))


def rows_of(text: str) -> list:
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    head = lines[0].split(",")
    return [dict(zip(head, ln.split(","))) for ln in lines[1:]]


def test_csv_rows_and_values_by_hand(forms):
    buf = io.StringIO()
    written, skipped = sweep.write(forms, WIDTHS, RES, buf, "csv", progress=False)
    expected = [(w, r, by_hand(w, r)) for w in WIDTHS for r in RES if by_hand(w, r) is not None]
    assert (written, skipped) == (len(expected), len(WIDTHS) * len(RES) - len(expected))
    got = [(row["width"], int(row["resolution"]), int(row["madds"])) for row in rows_of(buf.getvalue())]
    assert got == expected
    assert "# convention: paper" in buf.getvalue()          # provenance kept


def test_json_rows_are_the_csv_rows(forms):
    c, j = io.StringIO(), io.StringIO()
    sweep.write(forms, WIDTHS, RES, c, "csv", progress=False)
    sweep.write(forms, WIDTHS, RES, j, "json", progress=False)
    doc = json.loads(j.getvalue())
    csv_rows = [[float(v) for v in row.values()] for row in rows_of(c.getvalue())]
    assert [[float(v) for v in row] for row in doc["rows"]] == csv_rows


def test_without_pyarrow_the_bytes_are_the_same(forms, monkeypatch):
    pytest.importorskip("pyarrow")
    with_arrow = io.StringIO()
    sweep.write(forms, WIDTHS + ["0.3333"], RES, with_arrow, "csv", progress=False)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.csv", None)
    plain = io.StringIO()
    sweep.write(forms, WIDTHS + ["0.3333"], RES, plain, "csv", progress=False)
    assert plain.getvalue() == with_arrow.getvalue()
