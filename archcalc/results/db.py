"""The results database: one local SQLite file (stdlib sqlite3) of bench records
(records.py), and its safety (safety.py; see the package docstring).

Rows are never replaced: running the same key again adds a row (a history), and `key`
groups them. The file lives under the user's cache directory unless `--db PATH` says
otherwise (`default_path`). This module never imports torch.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Mapping

from ..errors import ArchcalcError, one_line
from . import safety
from .records import COLUMNS, now, row_values

APPLICATION_ID = 0x41524331          # "ARC1" in the SQLite header: marks the file as ours
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60.0
_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS machines (
    fingerprint TEXT PRIMARY KEY,
    cpu         TEXT NOT NULL,
    cores       INTEGER NOT NULL,
    gpu         TEXT NOT NULL,
    torch       TEXT NOT NULL,
    first_seen  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT NOT NULL,       -- hash of the key columns below
    created       TEXT NOT NULL,       -- UTC, ISO 8601
    machine       TEXT NOT NULL REFERENCES machines(fingerprint),
    spec_name     TEXT NOT NULL,
    spec_path     TEXT NOT NULL,
    spec_hash     TEXT NOT NULL,       -- sha256 of the spec file's bytes
    width         TEXT NOT NULL,       -- exact, as archcalc prints it ("0.75", "1")
    resolution    INTEGER NOT NULL,
    sets          TEXT NOT NULL,       -- JSON object, sorted keys: the --set overrides
    batch         INTEGER NOT NULL,
    device        TEXT NOT NULL,       -- cpu | cuda
    dtype         TEXT NOT NULL,       -- fp32 | fp16 | bf16
    threads       INTEGER NOT NULL,
    options       TEXT NOT NULL,       -- JSON object, sorted keys: channels_last, compile
    median_s      REAL NOT NULL,
    q1_s          REAL NOT NULL,
    q3_s          REAL NOT NULL,
    iqr_s         REAL NOT NULL,
    samples       INTEGER NOT NULL,
    stable        INTEGER NOT NULL,    -- 1: the stopping rule was met before the time limit
    params        INTEGER,
    madds         INTEGER,             -- per image
    gflops        REAL,                -- achieved, 2 x MAdds x batch / median
    peak_gflops   REAL,                -- measured matmul peak on this device and dtype
    bandwidth_gbs REAL,                -- measured copy bandwidth
    predicted_s   REAL,                -- roofline prediction for the batch
    payload       TEXT NOT NULL        -- the whole bench result as JSON
);
CREATE INDEX IF NOT EXISTS results_by_key ON results(key);
CREATE INDEX IF NOT EXISTS results_by_spec ON results(spec_name, created);
"""

# -- location -------------------------------------------------------------------------------
def default_path() -> Path:
    """$ARCHCALC_RESULTS_DB, else $XDG_CACHE_HOME/archcalc/results.sqlite, else
    ~/.cache/archcalc/results.sqlite."""
    explicit = os.environ.get("ARCHCALC_RESULTS_DB")
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "archcalc" / "results.sqlite"


# -- the database ---------------------------------------------------------------------------
class ResultsDB:
    """One open results file. Use as a context manager, or call close().

    `ResultsDB(path)` opens for writing: it creates the file (and its folder) when missing.
    `ResultsDB(path, create=False)` opens an existing file for reading; a missing file is an
    empty database and nothing is created.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = True):
        self.path = Path(path).expanduser() if path is not None else default_path()
        self._conn: sqlite3.Connection | None = None
        self._create_mode = create
        self.skipped: list[tuple[Any, str]] = []     # (row id, problem) of malformed rows
        self.note: str | None = None                 # a reader's warning (safety.py)
        if create:
            safety.remove_stale_temporaries(self.path)
        if not self.path.exists():
            if not create:
                return
            self._create()
        elif self.path.is_dir():
            raise ArchcalcError(f"{self.path}: is a directory, not a results database")
        else:
            self._check_header()
        # SQLite answers "database is locked" at once, without waiting on the busy timeout,
        # in a few cases (another connection switching the file to WAL, recovering a WAL
        # left by a killed writer): retry opening until the timeout.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        delay = 0.005
        while True:
            try:
                self._conn = self._connect()
                self._check_or_init(create)
                return
            except sqlite3.OperationalError as err:
                self.close()
                if "locked" not in str(err) and "busy" not in str(err).lower() \
                        or time.monotonic() > deadline:
                    raise self._error(err) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
            except sqlite3.DatabaseError as err:
                self.close()
                raise self._error(err) from None

    def _create(self) -> None:
        """A new results file, created complete and then linked into place atomically: two
        processes creating the same file never see each other's half-made schema (the
        loser of the race finds the winner's file and uses it)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ArchcalcError(f"{self.path}: cannot create the results database's folder "
                                f"({err.strerror or err})") from None
        tmp = safety.temporary_name(self.path, os.getpid(), time.monotonic_ns())
        try:
            conn = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                self._conn = conn
                self._init_schema()
            finally:
                self._conn = None
                conn.close()                    # checkpoints and removes tmp's -wal / -shm
            try:
                os.link(tmp, self.path)         # fails if the file appeared meanwhile
            except FileExistsError:
                pass                            # another process won the race: use its file
            except OSError:
                # No hard links on this file system. Never rename over a path another
                # process may have created and written to: create the file in place
                # instead (the open below initialises it under a write lock).
                pass
        except sqlite3.Error as err:
            raise ArchcalcError(f"{self.path}: cannot create the results database ({err})") from None
        except OSError as err:
            raise ArchcalcError(f"{self.path}: cannot create the results database "
                                f"({err.strerror or err})") from None
        finally:
            for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                with contextlib.suppress(OSError):
                    leftover.unlink()

    # -- opening ----------------------------------------------------------------------------
    def _check_header(self) -> None:
        """A non-empty file must start with SQLite's magic string; nothing is written."""
        try:
            with open(self.path, "rb") as f:
                head = f.read(len(_SQLITE_MAGIC))
        except OSError as err:
            raise ArchcalcError(f"{self.path}: cannot read the results database "
                                f"({err.strerror or err})") from None
        if head and head != _SQLITE_MAGIC:
            raise ArchcalcError(
                f"{self.path}: not an SQLite database (corrupt, or not an archcalc results "
                f"file); left untouched: move it away or choose another file with --db")

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: autocommit; every write is an explicit BEGIN IMMEDIATE ...
        # COMMIT, so concurrent writers queue on the busy timeout instead of deadlocking.
        uri = None
        if not self._create_mode:       # a folder this process cannot write: read-only URI
            uri, self.note = safety.reader_uri(self.path)
        conn = sqlite3.connect(uri or str(self.path), timeout=BUSY_TIMEOUT_S,
                               isolation_level=None, uri=uri is not None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA synchronous = FULL")   # a committed result survives a power cut too
        return conn

    def _tables(self) -> set[str]:
        return {r[0] for r in self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}

    def _check_or_init(self, create: bool) -> None:
        conn = self._conn
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = self._tables()
        if app_id == APPLICATION_ID:
            self._check_schema(conn.execute("PRAGMA user_version").fetchone()[0])
            problem = conn.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise ArchcalcError(
                    f"{self.path}: the results database is corrupt (sqlite quick_check: "
                    f"{safety.problem_text(problem)}); left untouched: copy it away before "
                    f"repairing it")
            return
        if app_id != 0 or tables:
            what = f"application_id {app_id:#x}" if app_id else "tables " + ", ".join(sorted(tables))
            raise ArchcalcError(
                f"{self.path}: an SQLite database but not an archcalc results database "
                f"({what}); left untouched: choose another file with --db")
        if create:
            self._init_schema()
        else:                  # an empty SQLite file, opened for reading: no results yet
            self.close()

    def _check_schema(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise ArchcalcError(
                f"{self.path}: results schema version {version} was written by a newer archcalc "
                f"(this one reads up to {SCHEMA_VERSION}); upgrade archcalc")

    def _init_schema(self) -> None:
        conn = self._conn
        # WAL persists in the file; changing it needs no transaction (and may wait for one).
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have initialised the file while we waited for the lock.
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id not in (0, APPLICATION_ID) or (app_id == 0 and self._tables()):
                raise ArchcalcError(f"{self.path}: another application wrote to this file "
                                    f"while archcalc was creating its results database")
            if app_id == 0:
                # one statement at a time: executescript() would COMMIT our transaction
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    conn.execute(statement)
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('application', 'archcalc-results')")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('created', ?)", (now(),))
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _error(self, err: sqlite3.Error) -> ArchcalcError:
        text = safety.problem_text(str(err))
        if isinstance(err, sqlite3.OperationalError) and "locked" in text:
            return ArchcalcError(f"{self.path}: the results database stayed locked by another "
                                 f"writer for {BUSY_TIMEOUT_S:.0f} s ({text})")
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            return ArchcalcError(f"{self.path}: the results database is corrupt ({text}); left "
                                 f"untouched: copy it away before repairing it, or choose "
                                 f"another file with --db")
        return ArchcalcError(f"{self.path}: cannot use the results database ({text}); "
                             f"left untouched")

    # -- context ----------------------------------------------------------------------------
    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "ResultsDB":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------
    def add(self, record: Mapping[str, Any]) -> int:
        """Store one bench record (records.py; `record_from_bench` makes one); returns its id."""
        if self._conn is None:
            raise ArchcalcError(f"{self.path}: opened read-only (create=False)")
        row = row_values(record)
        machine = record["machine_info"]
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("INSERT OR IGNORE INTO machines VALUES (?, ?, ?, ?, ?, ?)",
                             (row["machine"], str(machine["cpu"]), int(machine["cores"]),
                              str(machine["gpu"]), str(machine["torch"]), row["created"]))
                cur = conn.execute(
                    f"INSERT INTO results ({', '.join(COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(COLUMNS))})", [row[c] for c in COLUMNS])
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as err:
            raise self._error(err) from None
        return int(cur.lastrowid)

    def find(self, record: Mapping[str, Any]) -> int | None:
        """The id of a stored row with `record`'s key, time and median (the same run), if any."""
        row = row_values(record)
        if self._conn is None:
            return None
        try:
            found = self._conn.execute(
                "SELECT id FROM results WHERE key = ? AND created = ? AND median_s = ?",
                (row["key"], row["created"], row["median_s"])).fetchone()
        except sqlite3.Error as err:
            raise self._error(err) from None
        return None if found is None else int(found[0])

    # -- reading ----------------------------------------------------------------------------
    def rows(self, *, spec: str | None = None) -> list[dict]:
        """All results, oldest first, flat dicts with the machine's fields joined in
        (`payload` is returned parsed); `spec` keeps rows whose spec name contains it. Rows
        with a malformed field are left out and listed in `self.skipped` as (id, problem)."""
        if self._conn is None:
            return []
        query = ("SELECT r.*, m.cpu AS cpu, m.cores AS cores, m.gpu AS gpu, m.torch AS torch "
                 "FROM results r LEFT JOIN machines m ON m.fingerprint = r.machine")
        args: list = []
        if spec:
            query += " WHERE r.spec_name LIKE ?"
            args.append(f"%{spec}%")
        query += " ORDER BY r.id"
        self.skipped = []
        try:
            out = []
            for r in self._conn.execute(query, args):
                try:       # a malformed row is skipped and reported, never a traceback
                    out.append(safety.clean_row(dict(r)))
                except ValueError as err:
                    self.skipped.append((dict(r).get("id"), one_line(str(err))))
            return out
        except sqlite3.Error as err:
            raise self._error(err) from None

    def count(self) -> int:
        if self._conn is None:
            return 0
        try:
            return self._conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        except sqlite3.Error as err:
            raise self._error(err) from None

    def schema_version(self) -> int:
        if self._conn is None:
            return 0
        return self._conn.execute("PRAGMA user_version").fetchone()[0]
