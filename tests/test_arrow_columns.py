"""The sweep writers' pyarrow columns (archcalc.design.arrow_columns) are built from buffers,
so that a sweep imports neither pandas nor pyarrow.compute (issue 14: the fast paths). Each
must equal what pyarrow's own constructors give (pa.array, Array.take): same type, same
values, no nulls; and a sweep to CSV and Parquet must not import either module."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")

from archcalc.design.arrow_columns import (column, number_column, repeated_text_column,  # noqa: E402
                                           text_column, tiled_text_column)

ROOT = Path(__file__).resolve().parent.parent


def test_number_columns_equal_pa_array():
    ints = np.array([0, 1, -7, 2**62, -(2**63)], dtype=np.int64)
    got = number_column(ints)
    assert got.type == pa.int64() and got.null_count == 0
    assert got.equals(pa.array(ints)) and got.to_pylist() == [0, 1, -7, 2**62, -(2**63)]
    floats = np.array([0.25, 1.0, 0.35], dtype=np.float64)
    assert number_column(floats).equals(pa.array(floats))
    strided = np.arange(10, dtype=np.int64)[::3]           # not contiguous
    assert number_column(strided).to_pylist() == [0, 3, 6, 9]
    with pytest.raises(TypeError):
        number_column(np.array([1, 2], dtype=np.int32))


def test_text_columns_equal_pa_array_take():
    texts = ["0.25", "0.35", "1", "1.4", "0.3333333333333333", "é", ""]
    index = np.array([0, 0, 1, 6, 5, 4, 3, 2, 2, 2])
    got = text_column(texts, index)
    want = pa.array(texts, pa.string()).take(pa.array(index))
    assert got.type == pa.string() and got.null_count == 0
    assert got.equals(want)
    assert got.to_pylist() == [texts[i] for i in index]
    assert text_column(texts).equals(pa.array(texts, pa.string()))
    assert text_column(["a"], np.array([], dtype=np.intp)).to_pylist() == []
    assert column(np.array(["12", "3/4"])).to_pylist() == ["12", "3/4"]
    assert column(np.array(["x", "yz"], dtype=object)).to_pylist() == ["x", "yz"]
    assert column(np.array([5, 6], dtype=np.int64)).to_pylist() == [5, 6]


@pytest.mark.parametrize("n", [0, 1, 3])
def test_repeated_and_tiled_text_columns_equal_take(n):
    texts = ["0.25", "12345678901", "1", "é", ""]
    k = len(texts)
    want_repeated = pa.array(texts, pa.string()).take(pa.array(np.repeat(np.arange(k), n)))
    want_tiled = pa.array(texts, pa.string()).take(pa.array(np.tile(np.arange(k), n)))
    assert repeated_text_column(texts, n).equals(want_repeated)
    assert tiled_text_column(texts, n).equals(want_tiled)
    assert repeated_text_column(iter([7, 8]), 2).to_pylist() == ["7", "7", "8", "8"]


def test_a_sweep_imports_neither_pandas_nor_pyarrow_compute(tmp_path):
    code = (
        "import sys\n"
        "from archcalc.cost import Evaluator\n"
        "from archcalc.design.sweep import sweep_file\n"
        "f = Evaluator('specs/mobilenet_v2.yaml')\n"
        f"sweep_file(f, '0.1,0.25:1.5:0.25', '1,96:224:32', {str(tmp_path / 'a.csv')!r},"
        " progress=False)\n"
        f"sweep_file(f, '0.1,0.25:1.5:0.25', '1,96:224:32', {str(tmp_path / 'a.parquet')!r},"
        " progress=False)\n"
        "print('pandas' in sys.modules, 'pyarrow.compute' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
    import pyarrow.parquet as pq
    table = pq.read_table(tmp_path / "a.parquet")
    lines = [ln for ln in (tmp_path / "a.csv").read_text().splitlines()
             if ln and not ln.startswith("#")][1:]
    assert table.num_rows == len(lines) > 0          # the same points in both files
    assert [f"{w},{r}" for w, r in zip(table.column("width_text").to_pylist(),
                                        table.column("resolution").to_pylist())] == \
        [",".join(ln.split(",")[:2]) for ln in lines]
