"""The server's log: one line per event on stderr, prefixed `archcalc dashboard:`."""
from __future__ import annotations

import sys


def log(msg: str) -> None:
    print(f"archcalc dashboard: {msg}", file=sys.stderr)
