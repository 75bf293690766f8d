"""The spec editor's data: a dcc.Upload's data URL decoded (its size checked before
decoding), and the lines around an error with the faulty one marked. Checking a spec is the
Workspace's (`check_text`: size, then parse + compile + cost in the sandbox)."""
from __future__ import annotations

from archcalc import limits as L

MAX_SPEC_BYTES = L.DASHBOARD_MAX_SPEC_BYTES       # pasted or uploaded spec text


def error_context(text: str, line: int | None, around: int = 3) -> list[dict]:
    """The lines around an error (1-based numbers), the faulty one marked."""
    if not line or not text:
        return []
    lines = text.splitlines()
    lo, hi = max(1, line - around), min(len(lines), line + around)
    return [{"number": i, "text": lines[i - 1][:200], "error": i == line} for i in range(lo, hi + 1)]


def decode_upload(contents: str | None) -> tuple[str | None, str | None]:
    """A dcc.Upload data URL -> (text, error). The size is checked before decoding."""
    import base64
    import binascii
    if not contents:
        return None, "nothing was uploaded"
    head, sep, data = contents.partition(",")
    if not sep:
        return None, "the upload is not a data URL"
    if len(data) * 3 // 4 > MAX_SPEC_BYTES:
        return None, (f"the file is too large (about {len(data) * 3 // 4:,} bytes; the "
                      f"dashboard accepts up to {MAX_SPEC_BYTES:,})")
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None, "the upload could not be decoded"
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "the file is not UTF-8 text (a spec is a YAML text file)"
