"""Progress on the terminal for long commands (verify, frontier, fit, formula, derive, bench,
sweep): a rich progress bar or spinner on stderr, shown only when stderr is a terminal (or
when forced), never mixed into stdout, and nothing at all when output is redirected.

    with progress("verify", total=len(layers)) as advance:
        for layer in layers:
            ...
            advance()            # one step; advance(n) for n; advance(fraction=0.4) to set
"""
from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator


def _enabled(force: bool | None) -> bool:
    if force is not None:
        return force
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):      # closed or replaced stderr
        return False


@contextlib.contextmanager
def progress(description: str, total: float | None = None, *, force: bool | None = None,
             unit: str = "") -> Iterator[Callable[..., None]]:
    """A progress display for one task. `total` None: a spinner with elapsed time. Yields
    `advance(n=1, *, fraction=None)`; a no-op function when the display is off."""
    if not _enabled(force):
        yield _noop
        return
    from rich.console import Console
    from rich.progress import (BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), TextColumn("{task.completed:,.0f}/{task.total:,.0f}" +
                                            (f" {unit}" if unit else "")), TimeRemainingColumn()]
    else:
        columns += [TimeElapsedColumn()]
    bar = Progress(*columns, console=Console(stderr=True), transient=True)
    task = bar.add_task(description, total=total)

    def advance(n: float = 1, *, fraction: float | None = None) -> None:
        if fraction is not None and total is not None:
            bar.update(task, completed=fraction * total)
        else:
            bar.advance(task, n)

    with bar:
        yield advance


def _noop(*args, **kwargs) -> None:
    return None
