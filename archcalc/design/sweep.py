"""Grid sweeps: every metric at every (width, resolution) of a grid, streamed to CSV, JSON or
Parquet in blocks of whole width rows, so memory stays bounded however large the grid.

Values are exact integers, identical to `archcalc report` at the same point (the test suite
checks thousands of random points of every spec against archcalc.evaluate).
"""
from __future__ import annotations

import io
import os
import sys
import time

from ..cost.axes import check_grid_size, resolution_values, width_values
from ..errors import OptionError
from ..numbers import decimal_text
from .sweep_blocks import (csv_block, default_workers, finish_parquet, keep_freed_memory,
                           ordered_results, parquet_table, parquet_writer, write_parquet)

FORMATS = ("csv", "json", "parquet")
BLOCK_POINTS = 1 << 16


def _columns(forms, metrics) -> list[str]:
    return ["width", "resolution", *metrics]


def _progress(total: int, enabled):
    """A rich progress bar on stderr (only for long sweeps on a terminal, unless forced)."""
    if enabled is False or (enabled is None and (total < 5_000_000 or not sys.stderr.isatty())):
        return None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    progress = Progress(TextColumn("sweep"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} points"),
                        TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    progress.start()
    progress.add_task("sweep", total=total)
    return progress


def grid_provenance(forms, ws, rs, width_texts=None) -> dict:
    """What a sweep measured (report/provenance.py): spec, grid, convention, dtype, version
    (`width_texts`: the widths' decimal texts where the caller has them)."""
    from ..report.provenance import provenance
    if width_texts is None:
        width_texts = [decimal_text(w) for w in ws]
    return provenance(forms.spec, forms.convention, forms.dtype,
                      widths=_axis_text(width_texts),
                      resolutions=_axis_text([str(r) for r in rs]))


def _axis_text(values: list) -> str:
    if len(values) <= 8:
        return ",".join(values)
    return f"{len(values):,} values {values[0]} .. {values[-1]}"


def write(forms, widths, resolutions, stream, fmt: str = "csv", metrics=None,
          progress=None, block_points: int = BLOCK_POINTS, workers: int | None = None
          ) -> tuple[int, int]:
    """Stream the sweep to a text stream (csv, json) or binary stream (parquet; csv, as
    UTF-8 bytes identical to the text); returns
    (points written, points skipped because the spec cannot be built there, e.g. no
    channels left at a tiny width or a vanishing spatial size at a tiny resolution). A grid
    where no point can be built raises the located SpecError `archcalc report` gives.
    Blocks are computed on one thread and formatted on `workers` threads beside it (default:
    the usable cores, at most 4; 1: all in this thread) and written in order: the bytes
    never depend on it."""
    from .buildable import fail_nowhere_buildable, resolutions_never_valid
    if fmt not in FORMATS:
        raise OptionError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    check_grid_size(widths, resolutions)
    ws = width_values(widths)
    rs = resolution_values(resolutions, forms.spec.resolution)
    check_grid_size(ws, rs)
    metrics = forms.metrics_for(metrics)
    if ws and resolutions_never_valid(forms, rs):
        fail_nowhere_buildable(forms, ws[0], rs[0], "sweep grid")
    total = len(ws) * len(rs)
    width_texts = [decimal_text(w) for w in ws]
    meta = grid_provenance(forms, ws, rs, width_texts)
    bar = _progress(total, progress)
    done = written = 0
    if total > block_points:
        keep_freed_memory()
    writer = None                         # parquet_writer's parts, made for the first block
    binary = fmt == "csv" and not isinstance(stream, io.TextIOBase)
    memo: dict = {}                       # columns every block of this sweep shares

    def compute_block(start: int, stop: int, compute) -> tuple:
        """One block's metrics and buildable points (on the grid thread)."""
        return (start, stop, *compute())

    def format_block(computed: tuple) -> tuple:
        """One block as CSV text or bytes, or as a Parquet table (on a formatting thread)."""
        start, stop, block, valid = computed
        if fmt == "parquet":
            out = parquet_table(ws, width_texts, rs, block, metrics, start, stop, valid)
        else:
            out = csv_block(width_texts, rs, block, metrics, start, stop, valid, binary, memo)
        return out, int(valid.sum()), (stop - start) * len(rs)
    try:
        if fmt == "csv":
            from ..report.provenance import csv_comments
            head = csv_comments(meta) + ",".join(_columns(forms, metrics)) + "\n"
            stream.write(head.encode("utf-8") if binary else head)
        elif fmt == "json":
            import json
            head = dict(meta, spec_path=forms.spec.path, spec_shown=meta["spec_path"],
                        columns=_columns(forms, metrics))
            stream.write(json.dumps(head)[:-1] + ', "rows": [')
        jobs = forms.grid_blocks(ws, rs, metrics, max_points=block_points, with_valid=True)
        for out, n, points in ordered_results(jobs, compute_block, format_block,
                                              default_workers() if workers is None else workers):
            if fmt == "csv":
                if n:
                    stream.write(out)
            elif fmt == "json":          # each CSV line as a JSON array of numbers
                if out:
                    rows = "[" + out[:-1].replace("\n", "],[") + "]"
                    stream.write(("," if written else "") + rows)
            else:
                if writer is None:
                    writer = parquet_writer(stream, out, meta)
                write_parquet(writer, out)
            done += points
            written += n
            if bar is not None:
                bar.update(bar.task_ids[0], completed=done)
        if written == 0 and done:
            fail_nowhere_buildable(forms, ws[0], rs[0], "sweep grid")
        if fmt == "json":
            stream.write("]}\n")
        if writer is not None:
            finish_parquet(*writer)
    finally:
        if bar is not None:
            bar.stop()
    return written, done - written


def sweep_text(forms, widths, resolutions, fmt: str = "csv", metrics=None) -> str:
    """The whole sweep as a string (small grids)."""
    return sweep_text_counted(forms, widths, resolutions, fmt, metrics)[0]


def sweep_text_counted(forms, widths, resolutions, fmt: str = "csv", metrics=None
                       ) -> tuple[str, int, int]:
    """(the sweep as a string, points written, points skipped)."""
    if fmt == "parquet":
        raise OptionError("--format parquet writes a file: give --out FILE")
    buf = io.StringIO()
    n, skipped = write(forms, widths, resolutions, buf, fmt, metrics, progress=False)
    return buf.getvalue(), n, skipped


def format_for(path: str, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    ext = path.rsplit(".", 1)[-1].lower() if "." in os.path.basename(path) else "csv"
    return {"csv": "csv", "json": "json", "parquet": "parquet", "pq": "parquet"}.get(ext, "csv")


def skipped_note(skipped: int, total: int) -> str:
    return (f"{skipped:,} of {total:,} grid points skipped: the spec cannot be built there "
            f"(no channels left, a spatial size below 1, or mismatched shapes)")


def sweep_file(forms, widths, resolutions, path: str, fmt: str | None = None, metrics=None,
               progress=None, counts: list | None = None) -> str:
    """Stream the sweep to `path` (format from the option or the file extension); returns a
    one-line summary (`counts`, a list, receives [written, skipped]). A file that cannot be
    written is one OptionError line; a sweep that fails leaves no partial file behind."""
    from ..report.output import output_file
    fmt = format_for(path, fmt)
    t0 = time.perf_counter()
    existed = os.path.exists(path)
    try:
        with output_file(path, binary=fmt in ("parquet", "csv")) as fh:
            n, skipped = write(forms, widths, resolutions, fh, fmt, metrics, progress)
    except BaseException:
        if not existed and os.path.isfile(path):
            os.remove(path)
        raise
    if counts is not None:
        counts[:] = [n, skipped]
    dt = time.perf_counter() - t0
    metrics = forms.metrics_for(metrics)
    note = f" ({skipped_note(skipped, n + skipped)})" if skipped else ""
    return (f"wrote {n:,} points x {len(metrics)} metrics of {forms.spec.name} to {path} "
            f"({fmt}) in {dt:.2f} s{note}\n")
