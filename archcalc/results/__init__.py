"""The results database: every `archcalc bench` run, in one local SQLite file (stdlib sqlite3).

A row is one timing of one spec at one point on one machine, keyed by

* the machine fingerprint: a hash of CPU model, core count, GPU and torch version
  (`machine_info`, `fingerprint`);
* the spec's content hash (sha256 of the file's bytes, so an edited spec is a new key) and
  its name and path;
* the point: width, resolution and the `--set` overrides;
* batch, dtype, device, threads and the options (channels-last, torch.compile).

Rows are never replaced: running the same key again adds a row (a history), and `key`
groups them. The file lives under the user's cache directory unless `--db PATH` says
otherwise (`default_path`).

Safety, because a results file collects hours of measurements:

* WAL journal, `synchronous=FULL` and a busy timeout: concurrent writers queue instead of
  failing, and a writer killed mid-transaction loses only its own uncommitted row; a new
  file is built under a temporary name and hard-linked into place, so concurrent creators
  never see half a schema; the temporaries of a creator killed meanwhile are removed by
  the next writer (safety.py);
* an existing file is checked before anything is written: not SQLite (a corrupt header),
  an SQLite file of another application (foreign tables, another `application_id`), a
  malformed database (`PRAGMA quick_check`) or a newer schema each give a one-line
  ArchcalcError, and the file is left exactly as it was;
* the schema version is kept in `PRAGMA user_version` and in the `meta` table;
* a reader in a folder it cannot write opens the file read-only (SQLite URI `mode=ro` or
  `immutable=1`); a row with a malformed field is skipped and listed in `ResultsDB.skipped`;
  every error is one line (safety.py). A result that cannot be stored is kept beside the
  database as JSON (pending.py).

Modules: db.py (ResultsDB, the schema, where the file lives), records.py (a record, its key
and column values, `record_from_bench`), safety.py, pending.py. The text, CSV and JSON
exports are archcalc.report.results. This package never imports torch: `archcalc results`
runs without it.
"""
from __future__ import annotations

from .db import APPLICATION_ID, SCHEMA_VERSION, ResultsDB, default_path
from .records import (COLUMNS, KEY_COLUMNS, canonical, cpu_model, fingerprint, machine_info, now,
                      record_from_bench, row_values, spec_hash)

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "ResultsDB", "default_path", "COLUMNS",
           "KEY_COLUMNS", "canonical", "cpu_model", "fingerprint", "machine_info", "now",
           "record_from_bench", "row_values", "spec_hash"]
