"""How wide text output may be: the terminal's width on a terminal, $COLUMNS when set, else
80 columns (a pipe or a file). Long lines (a convention, a closed form) are wrapped to it
with a hanging indent; the full, unwrapped text is always in --format json.
"""
from __future__ import annotations

import re
import shutil

MIN_COLUMNS = 40


def columns(default: int = 80) -> int:
    """$COLUMNS if set, else the terminal's width when standard output is a terminal, else
    `default`."""
    return max(MIN_COLUMNS, shutil.get_terminal_size((default, 24)).columns)


def wrap(text: str, width: int, indent: int = 0, first: int = 0) -> str:
    """`text` wrapped at spaces to `width` columns; continuation lines start with `indent`
    spaces; the first line already holds `first` characters. A word longer than a line is
    broken after its ' + ', ', ' or '*' joints (closed forms), else kept whole."""
    room = max(MIN_COLUMNS // 2, width - indent)
    lead = text[:len(text) - len(text.lstrip(" "))]
    tokens = _tokens(text, room)
    if tokens:
        tokens[0] = lead + tokens[0]
    lines, line, used = [], "", first
    limit = width
    for tok in tokens:
        if line and used + len(tok.rstrip()) > limit:
            lines.append(line.rstrip())
            line, used, limit = "", indent, width
            tok = tok.lstrip()
        line += tok
        used += len(tok)
    if line or not lines:
        lines.append(line.rstrip())
    return ("\n" + " " * indent).join(lines)


def _tokens(text: str, room: int) -> list[str]:
    out = []
    for word in re.findall(r"\S+\s*", text):
        if len(word) <= room:
            out.append(word)
            continue
        out.extend(p for p in re.split(r"(?<=[,+(])|(?<=[^*]\*)(?=[^*])", word) if p)
    return out
