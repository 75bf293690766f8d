"""The sweep's CSV and JSON are written column-wise (issue 14): pyarrow's CSV writer where it
is installed, numpy and str.join otherwise. Both give the same bytes, rows appear only where
the spec can be built, and the values are hand-derived here (two valid-padding convs)."""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from archcalc.cost import Evaluator
from archcalc.design import sweep

ROOT = Path(__file__).resolve().parent.parent

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


ALL_BUILDABLE = list(range(5, 13))     # by_hand: both convs have a side of at least 1


def test_all_buildable_grid_bytes_equal_the_plain_join(forms, monkeypatch):
    """A grid buildable everywhere takes the repeated / tiled text columns (width,
    resolution, params); the bytes equal the numpy join's, and the values are by hand."""
    pytest.importorskip("pyarrow")
    with_arrow = io.StringIO()
    sweep.write(forms, WIDTHS, ALL_BUILDABLE, with_arrow, "csv", progress=False,
                block_points=2 * len(ALL_BUILDABLE), workers=2)
    got = [(row["width"], int(row["resolution"]), int(row["madds"]), int(row["params"]))
           for row in rows_of(with_arrow.getvalue())]
    params = {"0.5": 27 * 8 + 9 * 8 * 8, "1": 27 * 8 + 9 * 8 * 8, "2": 27 * 16 + 9 * 16 * 16}
    assert got == [(w, r, by_hand(w, r), params[w]) for w in WIDTHS for r in ALL_BUILDABLE]
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.csv", None)
    plain = io.StringIO()
    sweep.write(forms, WIDTHS, ALL_BUILDABLE, plain, "csv", progress=False)
    assert plain.getvalue() == with_arrow.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_worker_threads_never_change_the_output(forms, fmt, tmp_path):
    """Blocks computed on 1 or 3 threads, in blocks of one width row or of all of them:
    the same file."""
    if fmt == "parquet":
        pq = pytest.importorskip("pyarrow.parquet")
    outputs = []
    for workers, block_points in [(1, 10**6), (1, 1), (3, 1), (3, 2 * len(RES))]:
        path = tmp_path / f"{workers}-{block_points}.{fmt}"
        with open(path, "wb" if fmt != "json" else "w") as fh:
            counts = sweep.write(forms, WIDTHS + ["0.3333"], RES, fh, fmt, progress=False,
                                 block_points=block_points, workers=workers)
        outputs.append((counts, pq.read_table(path) if fmt == "parquet" else path.read_bytes()))
    for counts, out in outputs[1:]:
        assert counts == outputs[0][0]
        assert out.equals(outputs[0][1]) if fmt == "parquet" else out == outputs[0][1]


def test_ordered_results_keep_the_order_and_raise_in_turn():
    """Block 0's formatting cannot finish before block 1's has run (an Event), yet comes out
    first; a failing step (computing or formatting) raises when its block's turn comes,
    after the results before it."""
    import threading

    from archcalc.design.sweep_blocks import ordered_results
    second_ran = threading.Event()

    def compute(k):
        if k == 4:
            raise KeyError("block 4")
        return k

    def finish(k):
        if k == 0:
            assert second_ran.wait(60)          # a guard against a hang, never a timing
        if k == 1:
            second_ran.set()
        if k == 3:
            raise ValueError("block 3")
        return k * k
    assert list(ordered_results([(k,) for k in range(3)], compute, finish, workers=2)) == [0, 1, 4]
    for fails_at, error in [(3, ValueError), (4, KeyError)]:
        second_ran.clear()
        seen = []
        jobs = [(k,) for k in range(8) if fails_at == 3 or k != 3]
        with pytest.raises(error, match=f"block {fails_at}"):
            for value in ordered_results(jobs, compute, finish, workers=2):
                seen.append(value)
        assert seen == [k * k for k, in jobs if k < fails_at]
    second_ran.set()
    assert list(ordered_results([(k,) for k in (1, 2)], compute, finish, workers=1)) == [1, 4]


def test_large_sweeps_keep_freed_memory_for_the_next_block(monkeypatch, forms):
    """A sweep of more than one block asks the C allocator to keep freed memory (glibc's
    mallopt M_MMAP_THRESHOLD, M_TRIM_THRESHOLD); a one-block sweep does not, and
    ARCHCALC_NO_MALLOPT turns it off. (What it saves, page faults and time, is measured by
    benchmarks/fast_paths.py, not here.)"""
    import ctypes

    from archcalc.design import sweep_blocks
    calls: list = []

    class FakeC:
        def mallopt(self, option, value):
            calls.append((option, value))
            return 1
    monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeC())
    monkeypatch.delenv("ARCHCALC_NO_MALLOPT", raising=False)
    sweep.write(forms, ["0.5", "1"], [24], io.StringIO(), "csv")
    assert calls == []
    sweep.write(forms, ["0.5", "1"], [16, 24, 32], io.StringIO(), "csv", block_points=3)
    assert calls == [(-3, 32 << 20), (-1, 256 << 20)]
    monkeypatch.setenv("ARCHCALC_NO_MALLOPT", "1")
    sweep_blocks.keep_freed_memory()
    assert len(calls) == 2


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_overwriting_a_large_file_gives_the_same_file_as_writing_a_new_one(tmp_path, fmt):
    """A previous output of 1 MiB or more is emptied on a thread (report.output.TruncatedLater)
    while the sweep computes: the file ends byte-identical to a sweep into a new file, keeps
    its permissions (it is the same file, as open(path, "wb") keeps it), and a symbolic link
    to it is written through, not replaced."""
    from archcalc.design.grid import parse_widths
    from archcalc.report import output
    forms = Evaluator(str(ROOT / "specs" / "mobilenet_v2.yaml"))
    ws, rs = parse_widths("0.25:1.5:0.01"), list(range(32, 513, 4))
    new = tmp_path / f"new.{fmt}"
    sweep.sweep_file(forms, ws, rs, str(new), fmt)
    old = tmp_path / f"old.{fmt}"
    old.write_bytes(b"x" * (3 * output.LATE_TRUNCATE_BYTES))
    old.chmod(0o640)
    link = tmp_path / f"link.{fmt}"
    link.symlink_to(old)
    sweep.sweep_file(forms, ws, rs, str(link), fmt)
    assert link.is_symlink() and (old.stat().st_mode & 0o777) == 0o640
    assert old.read_bytes() == new.read_bytes()


def test_writes_wait_for_a_slow_truncation_and_a_failed_one_is_one_line(tmp_path, monkeypatch):
    """Writes made while the old content is still being freed are held and written after it;
    a truncation that fails (the OS's error) is the usual one-line OptionError."""
    import os
    import threading

    from archcalc.errors import OptionError
    from archcalc.report import output
    path = tmp_path / "out.bin"
    path.write_bytes(b"old" * output.LATE_TRUNCATE_BYTES)
    gate = threading.Event()
    real = os.ftruncate

    def slow(fd, size):
        gate.wait(60)                      # a guard against a hang, never reached
        real(fd, size)
    monkeypatch.setattr(os, "ftruncate", slow)
    with output.output_file(str(path), binary=True) as fh:
        assert isinstance(fh, output.TruncatedLater)
        fh.write(b"head,")
        reused = bytearray(b"rows\n")
        fh.write(reused)
        reused[:] = b"XXXX\n"              # a writer reusing its buffer: what was held stays
        assert path.read_bytes().startswith(b"oldold")     # nothing written yet
        gate.set()
    assert path.read_bytes() == b"head,rows\n"

    gate.clear()                           # past HELD_BYTES, a write waits for the truncation
    monkeypatch.setattr(output, "HELD_BYTES", 10)
    path.write_bytes(b"old" * output.LATE_TRUNCATE_BYTES)
    with output.output_file(str(path), binary=True) as fh:
        fh.write(b"0123456789")
        assert fh._held_bytes == 10
        threading.Timer(0.05, gate.set).start()
        fh.write(b"more")                  # waits for the truncation, then writes it all
        assert fh._held_bytes == 0 and gate.is_set()
    assert path.read_bytes() == b"0123456789more"

    def failing(fd, size):
        raise OSError(5, "Input/output error")
    path.write_bytes(b"old" * output.LATE_TRUNCATE_BYTES)
    monkeypatch.setattr(os, "ftruncate", failing)
    with output.output_file(str(path), binary=True) as fh:    # emptied by O_TRUNC instead
        fh.write(b"data")
    assert path.read_bytes() == b"data"
    real_open = os.open

    def no_trunc(name, flags, *args):
        if flags & os.O_TRUNC:
            raise OSError(5, "Input/output error")
        return real_open(name, flags, *args)
    path.write_bytes(b"old" * output.LATE_TRUNCATE_BYTES)
    monkeypatch.setattr(os, "open", no_trunc)
    with pytest.raises(OptionError) as err:
        with output.output_file(str(path), binary=True) as fh:
            fh.write(b"data")
    monkeypatch.setattr(os, "open", real_open)
    assert str(err.value) == f"--out {path}: cannot write: Input/output error"
    small = tmp_path / "small.bin"
    small.write_bytes(b"tiny")
    with output.output_file(str(small), binary=True) as fh:   # small: opened the usual way
        assert not isinstance(fh, output.TruncatedLater)
        fh.write(b"new")
    assert small.read_bytes() == b"new"
