"""Reading and creating a results database defensively (used by db.py).

* `remove_stale_temporaries`: a process killed while creating the database leaves its
  temporary file (`.results.sqlite.<pid>.<ns>.tmp`, with `-wal` / `-shm`) beside it; the next
  writer removes those whose process is gone.
* `reader_uri`: a reader in a folder it cannot write to (a shared, read-only results folder)
  opens the file with SQLite's `mode=ro` (when a WAL file is present) or `immutable=1` URI
  instead of failing to create the `-shm` index.
* `problem_text`: SQLite's multi-line integrity report as one bounded line.
* `clean_row`: one stored row checked field by field, so that a malformed row (a `sets` that
  is not a JSON object, a text `median_s`) is reported and skipped, never a traceback.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from urllib.parse import quote as url_quote

from ..errors import one_line
from ..limits import MAX_SHOWN_PROBLEM_CHARS


def temporary_name(path: Path, pid: int, stamp: int) -> Path:
    """The name `ResultsDB` builds a new database under before linking it into place."""
    return path.with_name(f".{path.name}.{pid}.{stamp}.tmp")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True                  # exists but not ours (or unknowable): leave it alone
    return True


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporaries (and their -wal, -shm, -journal) of creators that died; returns
    what was removed. A temporary whose process is still running is left alone."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"(\d+)\.(\d+)\.tmp(-wal|-shm|-journal)?")
    removed = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                (path.parent / name).unlink()
                removed.append(path.parent / name)
    return removed


def _writable(path: Path) -> bool:
    return os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)


def reader_uri(path: Path) -> tuple[str | None, str | None]:
    """(an SQLite URI that reads `path` without writing beside it, a warning) when this process
    may not write there; (None, None) when a normal connection works. With a WAL file and its
    -shm index present, `mode=ro` reads both; without a WAL the database file is complete and
    `immutable=1` reads it without any -shm. A WAL without its index cannot be read: the file
    is read without it, and the warning says the newest results may be missing."""
    if _writable(path):
        return None, None
    uri = "file:" + url_quote(str(path.resolve()))
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if wal.exists() and wal.stat().st_size > 0:
        if shm.exists():
            return uri + "?mode=ro", None
        return uri + "?immutable=1", (f"{path}: read-only folder and a WAL file without its "
                                      f"-shm index: results not yet checkpointed into the "
                                      f"database file are not shown")
    return uri + "?immutable=1", None


def problem_text(text: str) -> str:
    """SQLite's integrity report (one problem per line) as one line of bounded length."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip() and not ln.startswith("***")]
    joined = one_line("; ".join(lines) or str(text))
    if len(joined) > MAX_SHOWN_PROBLEM_CHARS:
        joined = joined[:MAX_SHOWN_PROBLEM_CHARS] + f"... ({len(lines)} problems)"
    return joined


_NUMBERS = ("median_s", "q1_s", "q3_s", "iqr_s")
_OPTIONAL_NUMBERS = ("gflops", "peak_gflops", "bandwidth_gbs", "predicted_s")
_INTEGERS = ("id", "resolution", "batch", "threads", "samples", "stable")
_OPTIONAL_INTEGERS = ("params", "madds", "cores")
_TEXTS = ("created", "machine", "spec_name", "spec_path", "spec_hash", "device", "dtype", "key")


def _json_object(value, field: str) -> dict:
    try:
        parsed = json.loads(value) if isinstance(value, (str, bytes)) else value
    except (ValueError, RecursionError):
        raise ValueError(f"{field} is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{field} is not a JSON object ({_short(value)})")
    return parsed


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def clean_row(raw: dict) -> dict:
    """A row as `ResultsDB.rows()` returns it (JSON fields parsed, `stable` a bool), or
    ValueError naming the first malformed field."""
    d = dict(raw)
    for field in _NUMBERS + _OPTIONAL_NUMBERS:
        v = d.get(field)
        if v is None and field in _OPTIONAL_NUMBERS:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (
                float("inf"), float("-inf")):
            raise ValueError(f"{field} is not a number ({_short(v)})")
        d[field] = float(v)
    for field in _INTEGERS + _OPTIONAL_INTEGERS:
        v = d.get(field)
        if v is None and field in _OPTIONAL_INTEGERS:
            continue
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{field} is not an integer ({_short(v)})")
    for field in _TEXTS:
        if not isinstance(d.get(field), str):
            raise ValueError(f"{field} is not text ({_short(d.get(field))})")
    if not isinstance(d.get("width"), (str, int, float)):
        raise ValueError(f"width is not a number ({_short(d.get('width'))})")
    d["width"] = str(d["width"])
    d["sets"] = _json_object(d.get("sets"), "sets")
    d["options"] = _json_object(d.get("options"), "options")
    d["payload"] = _json_object(d.get("payload"), "payload")
    d["stable"] = bool(d["stable"])
    for field in ("cpu", "gpu", "torch"):      # a row whose machine is missing: shown as unknown
        if not isinstance(d.get(field), str):
            d[field] = "unknown"
    return d
