"""Writing what a command produced: files named by --out and standard output.

A file that cannot be opened or written (a missing folder, a directory, a full disk such as
/dev/full, no permission) is an OptionError, one line naming the file; so is standard output
that fails (`archcalc report > /dev/full`). A closed pipe (`archcalc sweep ... | head`) is
not an error.
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import IO, Iterator

from ..errors import OptionError


def describe(err: OSError) -> str:
    """'No space left on device' (the OS's words, without the errno number)."""
    return err.strerror or type(err).__name__


@contextlib.contextmanager
def output_file(path: str, binary: bool = False, what: str = "--out") -> Iterator[IO]:
    """open(path, "w"/"wb") whose every failure (open, write, close) is one OptionError line."""
    if os.path.isdir(path):
        raise OptionError(f"{what} {path}: is a directory (give a file name)")
    try:
        fh = open(path, "wb") if binary else open(path, "w", encoding="utf-8", newline="")
    except OSError as err:
        raise OptionError(f"{what} {path}: cannot write: {describe(err)}") from None
    try:
        with fh:
            yield fh
    except OSError as err:
        raise OptionError(f"{what} {path}: cannot write: {describe(err)}") from None


class OutputFailed(Exception):
    """Standard output could not be written (not a closed pipe)."""


def write_stdout(text: str) -> None:
    """Print `text`; a closed pipe ends quietly, any other failure raises OptionError. Either
    way standard output is then pointed at /dev/null so that the interpreter's own flush at
    exit cannot print a second message."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:       # `archcalc report ... | head`
        silence_stdout()
    except OSError as err:
        silence_stdout()
        raise OptionError(f"cannot write to standard output: {describe(err)}") from None


def silence_stdout() -> None:
    """Point standard output at /dev/null (after a closed pipe or a failed write), so that
    the interpreter's flush at exit prints nothing more; a no-op where stdout has no file
    descriptor (captured by a test)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):     # no real file descriptor (captured)
        pass
