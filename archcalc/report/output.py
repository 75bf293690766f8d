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


LATE_TRUNCATE_BYTES = 1 << 20     # a file this large is emptied on a thread (see output_file)
HELD_BYTES = 64 << 20             # at most this much written meanwhile is held in memory


@contextlib.contextmanager
def output_file(path: str, binary: bool = False, what: str = "--out") -> Iterator[IO]:
    """open(path, "w"/"wb") whose every failure (open, write, close) is one OptionError line.

    In binary mode, a regular file of LATE_TRUNCATE_BYTES or more (a previous sweep's
    output) is opened without truncating it and emptied on a thread while the caller
    computes what it will write: freeing its pages takes the kernel 10-30 ms for 70 MB.
    Writes made before that is done are held (TruncatedLater) and written after it, so the
    file ends the same."""
    if os.path.isdir(path):
        raise OptionError(f"{what} {path}: is a directory (give a file name)")
    try:
        fh = _open_late(path) if binary else None
        if fh is None:
            fh = open(path, "wb") if binary else open(path, "w", encoding="utf-8", newline="")
    except OSError as err:
        raise OptionError(f"{what} {path}: cannot write: {describe(err)}") from None
    try:
        with fh:
            yield fh
    except OSError as err:
        raise OptionError(f"{what} {path}: cannot write: {describe(err)}") from None


def _open_late(path: str):
    """A TruncatedLater over `path` opened for binary update, or None (not a large regular
    file, or not readable: then the caller opens it the usual way)."""
    import stat
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size < LATE_TRUNCATE_BYTES:
            return None
        fh = open(path, "r+b")
    except OSError:
        return None
    return TruncatedLater(fh)


class TruncatedLater:
    """A binary file opened for update, emptied (ftruncate to 0) on a thread: writes wait in
    memory until that is done (at most HELD_BYTES: past that, the write waits for the
    truncation); `close` (or leaving the `with`) waits for it, writes what is held and closes
    the file. A failed truncation is raised by the next write or by close."""

    def __init__(self, fh):
        import threading
        self._fh, self._held, self._held_bytes, self._error = fh, [], 0, None
        self._thread = threading.Thread(target=self._truncate, name="archcalc-truncate",
                                        daemon=True)
        self._thread.start()

    def _truncate(self) -> None:
        try:
            os.ftruncate(self._fh.fileno(), 0)
        except OSError as err:                # a file system without ftruncate: O_TRUNC,
            try:                              # as open(path, "wb") would have done
                os.close(os.open(self._fh.name, os.O_WRONLY | os.O_TRUNC))
            except OSError:
                self._error = err

    def _settle(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            if self._error is not None:
                raise self._error
            for data in self._held:
                self._fh.write(data)
            self._held, self._held_bytes = [], 0

    def write(self, data):
        if (self._thread is not None and self._thread.is_alive()
                and self._held_bytes + len(data) <= HELD_BYTES):
            # a copy: the caller may reuse its buffer once write returns (pyarrow's writers
            # hand over their own buffers)
            self._held.append(data if type(data) is bytes else bytes(data))
            self._held_bytes += len(data)
            return len(data)
        self._settle()
        return self._fh.write(data)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self._settle()
        self._fh.flush()

    def close(self) -> None:
        try:
            self._settle()
        finally:
            self._fh.close()

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
