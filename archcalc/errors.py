"""Errors archcalc raises on bad input: each renders as one line naming file, line and key."""
from __future__ import annotations

import difflib


class ArchcalcError(ValueError):
    """Base class: a user-facing error (the CLI prints str(err) and exits with status 2)."""


class SpecError(ArchcalcError):
    """A spec (or an option applied to it) is malformed; carries file, line and key."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: str | None = None, hint: str | None = None):
        self.message, self.path, self.line, self.key, self.hint = message, path, line, key, hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path or "<spec>")
        if self.line is not None:
            where += f":{self.line}"
        key = _cut(self.key)
        text = f"{where}: {key}: {self.message}" if self.key else f"{where}: {self.message}"
        if self.hint:
            text += f" (did you mean '{_cut(self.hint)}'?)"
        return one_line(text)

    def located(self, path: str) -> "SpecError":
        """The same error with the spec's file path filled in."""
        return SpecError(self.message, path=self.path or path, line=self.line, key=self.key,
                         hint=self.hint)


class OptionError(ArchcalcError):
    """A command-line or API option is out of range (width <= 0, unknown --set name, ...)."""


class UnsupportedOpError(ArchcalcError):
    """An op kind has no rule: archcalc never counts an unknown op as zero."""


class DuplicateRuleError(RuntimeError):
    """Two rules registered for one op kind (a programming error, raised at import)."""


def _cut(text) -> str:
    """A key or hint as shown: at most MAX_KEY_CHARS characters (a key may be user text)."""
    from .limits import MAX_KEY_CHARS
    text = str(text) if text is not None else ""
    return text if len(text) <= MAX_KEY_CHARS else \
        text[:MAX_KEY_CHARS] + f"... ({len(text):,} characters)"


def one_line(text: str) -> str:
    """Errors are one line: newlines from user input (a quoted key, a path) are shown escaped."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


# Spelled-out names people reach for, mapped to the paper's one-letter row keys.
LONG_NAMES = {"stride": "s", "strides": "s", "kernel": "k", "kernel_size": "k", "ksize": "k",
              "channels": "c", "out_channels": "c", "filters": "c", "repeat": "n", "repeats": "n",
              "expansion": "t", "expand_ratio": "t", "group": "groups", "activation": "act"}


def closest(word: str, choices) -> str | None:
    """The most similar known word, for "did you mean ..." hints (also mapping spelled-out
    names such as "stride" or a misspelt "strde" to the paper's one-letter keys)."""
    choices = [str(c) for c in choices]
    found = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    if found:
        return found[0]
    long_names = [name for name, short in LONG_NAMES.items() if short in choices]
    found = difflib.get_close_matches(str(word), long_names, n=1, cutoff=0.75)
    return LONG_NAMES[found[0]] if found else None
