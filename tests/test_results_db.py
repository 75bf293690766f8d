"""The results database (archcalc.results): round trip, export, location, and the safety
promises: a killed writer loses nothing that was committed, concurrent writers lose no rows,
and a corrupt, foreign or newer file gives one clear line and is left byte for byte as it was.

Writers in other processes are real subprocesses (`sys.executable -c`), killed with SIGKILL.
"""
from __future__ import annotations

import ast
import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archcalc import results
from archcalc.errors import ArchcalcError
from archcalc.report.results import export

REPO = Path(__file__).resolve().parents[1]

# Shared by this module and the writer subprocesses (exec'd in both).
RECORD_SRC = '''
def make_record(tag, i, pad=0):
    return {
        "machine_info": {"cpu": "Test CPU", "cores": 2, "gpu": "none", "torch": "0.0"},
        "spec_name": "Spec-" + tag, "spec_path": "specs/test.yaml", "spec_hash": "ab" * 32,
        "width": "0.75", "resolution": 160, "sets": {"num_classes": "10"}, "batch": 1 + i % 3,
        "device": "cpu", "dtype": "fp32", "threads": 1,
        "options": {"channels_last": False, "compile": False},
        "median_s": 0.001 * (i + 1), "q1_s": 0.0009 * (i + 1), "q3_s": 0.0011 * (i + 1),
        "samples": 20, "stable": True, "params": 1000 + i, "madds": 10**6 + i,
        "gflops": 2.0, "peak_gflops": 100.0, "bandwidth_gbs": 10.0, "predicted_s": 0.0005,
        "payload": {"tag": tag, "i": i, "pad": "x" * pad},
    }
'''
exec(RECORD_SRC)   # defines make_record

WRITER = RECORD_SRC + '''
import sys
from archcalc import results
path, tag, n, pad = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with results.ResultsDB(path) as db:
    for i in range(n):
        rid = db.add(make_record(tag, i, pad))
        print(tag, i, rid, flush=True)    # acknowledged: committed before this line
'''


def writer(path, tag, n, pad=0) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, str(n), str(pad)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


def snapshot(path) -> bytes:
    return Path(path).read_bytes()


# -- round trip ---------------------------------------------------------------------------------
def test_round_trip_and_key(tmp_path):
    path = tmp_path / "r.sqlite"
    with results.ResultsDB(path) as db:
        ids = [db.add(make_record("a", i)) for i in range(4)]
        assert ids == [1, 2, 3, 4]
        assert db.count() == 4
        assert db.schema_version() == results.SCHEMA_VERSION
        rows = db.rows()
    assert [r["payload"]["i"] for r in rows] == [0, 1, 2, 3]
    r = rows[0]
    assert r["spec_name"] == "Spec-a" and r["width"] == "0.75" and r["resolution"] == 160
    assert r["sets"] == {"num_classes": "10"} and r["options"] == {"channels_last": False,
                                                                  "compile": False}
    assert r["cpu"] == "Test CPU" and r["cores"] == 2 and r["gpu"] == "none"
    assert r["machine"] == results.fingerprint(make_record("a", 0)["machine_info"])
    assert r["iqr_s"] == pytest.approx(r["q3_s"] - r["q1_s"])
    assert r["stable"] is True
    # the key is the point: rows 0 and 3 share batch 1 (i % 3), so they share a key
    assert rows[0]["key"] == rows[3]["key"] and rows[0]["key"] != rows[1]["key"]
    # reopening keeps everything
    with results.ResultsDB(path, create=False) as db:
        assert db.rows() == rows


def test_key_changes_with_each_key_field():
    base = make_record("a", 0)
    key = results.row_values(base)["key"]
    changes = {"spec_hash": "cd" * 32, "width": "1", "resolution": 224, "sets": {},
               "batch": 8, "device": "cuda", "dtype": "bf16", "threads": 2,
               "options": {"channels_last": True, "compile": False},
               "machine_info": {**base["machine_info"], "torch": "9.9"}}
    for field, value in changes.items():
        assert results.row_values({**base, field: value})["key"] != key, field
    # timings are not part of the key
    assert results.row_values({**base, "median_s": 1.0})["key"] == key


def test_fingerprint_is_stable_and_specific():
    m = {"cpu": "X", "cores": 8, "gpu": "none", "torch": "2.13.0"}
    assert results.fingerprint(m) == results.fingerprint(dict(reversed(list(m.items()))))
    assert results.fingerprint({**m, "gpu": "NVIDIA H100"}) != results.fingerprint(m)
    assert results.fingerprint({**m, "extra": 1}) == results.fingerprint(m)


def test_spec_hash_is_sha256_of_the_bytes(tmp_path):
    import hashlib
    p = tmp_path / "s.yaml"
    p.write_bytes(b"name: x\n")
    assert results.spec_hash(p) == hashlib.sha256(b"name: x\n").hexdigest()


def test_export_formats(tmp_path):
    path = tmp_path / "r.sqlite"
    with results.ResultsDB(path) as db:
        for i in range(3):
            db.add(make_record("e", i))
        rows = db.rows()
    data = json.loads(export(rows, "json", schema_version=results.SCHEMA_VERSION, source=str(path)))
    assert data["schema_version"] == results.SCHEMA_VERSION and len(data["results"]) == 3
    assert data["results"][2]["payload"]["i"] == 2
    csv_text = export(rows, "csv", schema_version=results.SCHEMA_VERSION)
    table = list(csv.DictReader(io.StringIO(csv_text)))
    assert len(table) == 3 and float(table[1]["median_s"]) == pytest.approx(0.002)
    assert json.loads(table[0]["sets"]) == {"num_classes": "10"}
    assert "payload" not in table[0]
    text = export(rows, "table", schema_version=results.SCHEMA_VERSION, source=str(path))
    assert "Spec-e" in text and "[num_classes=10]" in text
    assert "3 result(s)" in text and "Test CPU" in text
    assert "no results" in export([], "table", schema_version=results.SCHEMA_VERSION,
                                  source="x.sqlite")
    with pytest.raises(ArchcalcError, match="unknown results format"):
        export(rows, "xml", schema_version=results.SCHEMA_VERSION)


# -- location -------------------------------------------------------------------------------------
def test_default_path(monkeypatch, tmp_path):
    monkeypatch.delenv("ARCHCALC_RESULTS_DB", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert results.default_path() == tmp_path / "cache" / "archcalc" / "results.sqlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert results.default_path() == tmp_path / "home" / ".cache" / "archcalc" / "results.sqlite"
    monkeypatch.setenv("ARCHCALC_RESULTS_DB", str(tmp_path / "x.sqlite"))
    assert results.default_path() == tmp_path / "x.sqlite"


def test_writer_creates_folders_reader_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHCALC_RESULTS_DB", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with results.ResultsDB(create=False) as db:       # default path, missing: empty, no file
        assert db.rows() == [] and db.count() == 0
    assert not (tmp_path / "cache").exists()
    with results.ResultsDB() as db:
        db.add(make_record("d", 0))
    assert (tmp_path / "cache" / "archcalc" / "results.sqlite").is_file()


def test_empty_file_is_initialised(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.touch()
    with results.ResultsDB(path, create=False) as db:   # reading an empty file: no rows
        assert db.rows() == [] and db.count() == 0
    assert path.stat().st_size == 0
    with results.ResultsDB(path) as db:
        db.add(make_record("x", 0))
        assert db.count() == 1


def test_wal_mode_and_application_id(tmp_path):
    path = tmp_path / "r.sqlite"
    with results.ResultsDB(path) as db:
        db.add(make_record("w", 0))
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == results.APPLICATION_ID
        assert dict(conn.execute("SELECT key, value FROM meta"))["schema_version"] == "1"
    finally:
        conn.close()


# -- bad files: one line, untouched ---------------------------------------------------------------
def _assert_refused(path, match: str, create: bool = True):
    before = snapshot(path)
    with pytest.raises(ArchcalcError, match=match) as info:
        results.ResultsDB(path, create=create)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert snapshot(path) == before, "a refused file must be left byte for byte as it was"
    return message


def test_not_sqlite_file(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("these are my notes, not a database\n" * 20)
    msg = _assert_refused(path, "not an SQLite database")
    assert "--db" in msg
    _assert_refused(path, "not an SQLite database", create=False)


def test_foreign_sqlite_file(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.commit()
    conn.close()
    msg = _assert_refused(path, "not an archcalc results database")
    assert "users" in msg
    _assert_refused(path, "not an archcalc results database", create=False)


def test_foreign_application_id(tmp_path):
    path = tmp_path / "app.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 12345")
    conn.commit()
    conn.close()
    _assert_refused(path, "application_id 0x3039")


def test_same_table_names_without_our_id_is_foreign(tmp_path):
    """A file with a `results` table that archcalc did not create is not ours."""
    path = tmp_path / "lookalike.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE results (id INTEGER PRIMARY KEY, median_s REAL)")
    conn.commit()
    conn.close()
    _assert_refused(path, "not an archcalc results database")


def _db_with_rows(path, n=60, pad=2000) -> None:
    with results.ResultsDB(path) as db:
        for i in range(n):
            db.add(make_record("c", i, pad))
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


@pytest.mark.parametrize("page", [3, 10, 25])
def test_corrupt_pages(tmp_path, page):
    path = tmp_path / "r.sqlite"
    _db_with_rows(path)
    data = bytearray(snapshot(path))
    page_size = int.from_bytes(data[16:18], "big")
    assert len(data) > (page + 1) * page_size
    data[page * page_size:(page + 1) * page_size] = bytes(range(256)) * (page_size // 256)
    path.write_bytes(bytes(data))
    _assert_refused(path, "corrupt")
    _assert_refused(path, "corrupt", create=False)


def test_truncated_file(tmp_path):
    path = tmp_path / "r.sqlite"
    _db_with_rows(path)
    data = snapshot(path)
    path.write_bytes(data[: len(data) // 2])
    _assert_refused(path, "corrupt")


def test_corrupt_header(tmp_path):
    path = tmp_path / "r.sqlite"
    _db_with_rows(path, n=5)
    data = bytearray(snapshot(path))
    data[0:16] = b"XXXXXXXXXXXXXXXX"
    path.write_bytes(bytes(data))
    _assert_refused(path, "not an SQLite database")


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    _db_with_rows(path, n=2)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {results.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    _assert_refused(path, "newer archcalc")


def test_directory_is_refused(tmp_path):
    with pytest.raises(ArchcalcError, match="is a directory"):
        results.ResultsDB(tmp_path)


# -- killed and concurrent writers ------------------------------------------------------------------
def test_killed_writer_loses_nothing_committed(tmp_path):
    """kill -9 a writer in the middle of its loop, three times: every row it acknowledged
    (printed after COMMIT) is there, the rows written before it are unchanged, the file
    passes quick_check, and the next writer carries on."""
    path = tmp_path / "r.sqlite"
    with results.ResultsDB(path) as db:
        for i in range(5):
            db.add(make_record("before", i))
        before = db.rows()
    for attempt in range(3):
        tag = f"killed{attempt}"
        proc = writer(path, tag, 10**6, pad=200_000)   # big rows: the kill lands mid-write
        acked = []
        deadline = time.monotonic() + 60
        while len(acked) < 8 + 4 * attempt and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(int(line.split()[2]))
        time.sleep(0.003 * attempt)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # rows acknowledged after our last read are still in the pipe: they count too
        acked += [int(line.split()[2]) for line in proc.stdout.read().splitlines()]
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, stderr
        assert len(acked) >= 8, f"the writer acknowledged too few rows before the kill: {stderr}"
        assert Path(f"{path}-wal").exists(), "no WAL left: the writer did not die uncleanly"
        with results.ResultsDB(path) as db:            # opens: header, id, quick_check all fine
            rows = db.rows()
            ids = {r["id"] for r in rows if r["payload"]["tag"] == tag}
            assert set(acked) <= ids, "a committed (acknowledged) row was lost"
            assert len(ids) <= len(acked) + 1            # at most the one not yet printed
            assert [r for r in rows if r["payload"]["tag"] == "before"] == before
            new_id = db.add(make_record("after", attempt))
            assert new_id > max(ids)


HOLDER = RECORD_SRC + """
import sys, time
from archcalc import results
db = results.ResultsDB(sys.argv[1])
db._conn.execute("BEGIN IMMEDIATE")
db._conn.execute("INSERT INTO meta VALUES ('half-done', 'x')")
db._conn.execute("DELETE FROM results")          # an uncommitted disaster in progress
print("in transaction", flush=True)
time.sleep(60)
"""


def test_writer_killed_inside_a_transaction(tmp_path):
    """Kill -9 a process that holds the write lock with an uncommitted delete: nothing of
    its transaction survives, every row is still there, and the lock is free again."""
    path = tmp_path / "r.sqlite"
    with results.ResultsDB(path) as db:
        for i in range(10):
            db.add(make_record("keep", i, pad=5000))
        before = db.rows()
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout.readline().strip() == "in transaction", proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    with results.ResultsDB(path) as db:
        assert db.rows() == before
        assert db._conn.execute("SELECT COUNT(*) FROM meta WHERE key = 'half-done'").fetchone()[0] == 0
        db.add(make_record("after", 0))                  # the lock was released
        assert db.count() == 11


def test_concurrent_writers_lose_no_rows(tmp_path):
    """Two processes create the same new file at once and write 150 rows each."""
    path = tmp_path / "shared" / "r.sqlite"
    n = 150
    procs = [writer(path, tag, n) for tag in ("p", "q")]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs.append(out)
    with results.ResultsDB(path, create=False) as db:
        rows = db.rows()
    assert len(rows) == 2 * n
    for tag, out in zip(("p", "q"), outs):
        acked = {int(line.split()[2]) for line in out.splitlines()}
        mine = [r for r in rows if r["payload"]["tag"] == tag]
        assert sorted(r["payload"]["i"] for r in mine) == list(range(n))
        assert {r["id"] for r in mine} == acked
    assert len({r["id"] for r in rows}) == 2 * n


def test_concurrent_writers_initialise_an_empty_file(tmp_path):
    """Three processes start on an existing empty file (initialised in place, under the
    write lock and the open retry) and write 60 rows each."""
    path = tmp_path / "r.sqlite"
    path.touch()
    procs = [writer(path, tag, 60) for tag in ("a", "b", "c")]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with results.ResultsDB(path, create=False) as db:
        rows = db.rows()
    assert sorted((r["payload"]["tag"], r["payload"]["i"]) for r in rows) == \
        sorted((tag, i) for tag in "abc" for i in range(60))


def test_reader_during_writes(tmp_path):
    """WAL: a reader sees a consistent prefix while a writer is busy."""
    path = tmp_path / "r.sqlite"
    with results.ResultsDB(path) as db:
        db.add(make_record("seed", 0))
    proc = writer(path, "w", 200)
    seen = []
    while proc.poll() is None:
        with results.ResultsDB(path, create=False) as db:
            rows = db.rows()
        ids = [r["id"] for r in rows]
        assert ids == list(range(1, len(ids) + 1))
        seen.append(len(ids))
    assert proc.returncode == 0, proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert seen == sorted(seen)


# -- no torch -----------------------------------------------------------------------------------------
def test_results_module_never_imports_torch():
    code = ("import sys; import archcalc.results as r; from archcalc.report.results import export; "
            "export([], 'table', schema_version=r.SCHEMA_VERSION); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_cli_with_bench_registered_never_imports_torch():
    code = ("import sys; from archcalc import cli; from archcalc.cli import pytorch as commands; "
            "cli.build_parser(); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_commands_module_has_no_module_level_torch_import():
    """archcalc/cli imports cli/pytorch.py on every invocation: torch (and the bench
    harness, which imports torch) may only be imported inside functions."""
    tree = ast.parse((REPO / "archcalc" / "cli" / "pytorch.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [f"{'.' * node.level}{node.module or ''}"] + [a.name for a in node.names]
        else:
            continue
        assert not any(n == "torch" or n.startswith("torch.") or n.endswith("bench") or
                       n in (".", ".build", ".verify") for n in names), names
