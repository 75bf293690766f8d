"""Bench results that could not be stored (the database stayed locked past its busy timeout,
the disk was full, ...) are kept as JSON files beside the database, never lost, and
`archcalc results --import FILE` stores them later.

A kept file is `<database name>.unsaved-<UTC time>-<pid>.json` in the database's folder (or,
when that folder cannot be written, in the system's temporary folder):

    {"archcalc_unsaved_result": 1, "database": "...", "reason": "...", "record": {...}}

where `record` is exactly what `ResultsDB.add` takes (records.py's `record_from_bench`).
Importing a file stores its record unless the database already holds it (same key, time and
median), then removes the file.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from ..errors import ArchcalcError, one_line
from ..limits import MAX_PENDING_BYTES

FORMAT_KEY = "archcalc_unsaved_result"


def pattern(db_path: Path) -> str:
    """The glob of the files kept beside `db_path`."""
    return f"{db_path.name}.unsaved-*.json"


def kept_beside(db_path: Path) -> list[Path]:
    """Unsaved results waiting beside the database, oldest first."""
    try:
        return sorted(db_path.parent.glob(pattern(db_path)))
    except OSError:
        return []


def save(record: dict, db_path: Path, reason: str) -> Path | None:
    """Write `record` beside the database (else in the temporary folder); its path, or None
    when no folder could be written."""
    data = {FORMAT_KEY: 1, "database": str(db_path), "reason": one_line(reason),
            "record": record}
    text = json.dumps(data, indent=1, sort_keys=True, default=str) + "\n"
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for folder in (db_path.parent, Path(tempfile.gettempdir())):
        target = folder / f"{db_path.name}.unsaved-{stamp}-{os.getpid()}.json"
        part = target.with_name(target.name + ".part")
        try:
            with open(part, "x", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(part, target)          # a reader never sees half a file
            return target
        except OSError:
            try:
                part.unlink()
            except OSError:
                pass
    return None


def load(path: str | os.PathLike) -> dict:
    """The record of one kept file; one-line ArchcalcError when it is not one."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_PENDING_BYTES + 1)
    except OSError as err:
        raise ArchcalcError(f"{path}: cannot read ({err.strerror or err})") from None
    if len(raw) > MAX_PENDING_BYTES:
        raise ArchcalcError(f"{path}: larger than {MAX_PENDING_BYTES:,} bytes "
                            f"(MAX_PENDING_BYTES): not an unsaved bench result")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as err:
        raise ArchcalcError(f"{path}: not valid JSON ({one_line(str(err))[:100]})") from None
    if not isinstance(data, dict) or data.get(FORMAT_KEY) != 1 or \
            not isinstance(data.get("record"), dict):
        raise ArchcalcError(f"{path}: not an unsaved archcalc bench result (no "
                            f"'{FORMAT_KEY}': 1 and 'record')")
    return data["record"]


def import_files(db, paths) -> list[str]:
    """Store each file's record in `db` (an open, writable ResultsDB) and remove the file once
    its record is in the database; one line per file."""
    lines = []
    for path in paths:
        record = load(path)
        try:
            found = db.find(record)
        except (KeyError, TypeError, ValueError) as err:
            raise ArchcalcError(f"{path}: not a complete bench result ({one_line(repr(err))[:100]})") from None
        if found is None:
            found = db.add(record)
            lines.append(f"{path}: imported as result {found} into {db.path}")
        else:
            lines.append(f"{path}: already stored as result {found} in {db.path}")
        try:
            os.unlink(path)
            lines[-1] += "; file removed"
        except OSError as err:
            lines[-1] += f"; could not remove the file ({err.strerror or err})"
    return lines
