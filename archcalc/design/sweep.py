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

FORMATS = ("csv", "json", "parquet")
BLOCK_POINTS = 1 << 18


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


def _columns_of(width_texts, rs, block: dict, metrics, start: int, stop: int, valid) -> list:
    """The block's columns, flattened width-major and filtered to the buildable points: the
    width (as an index into width_texts[start:stop]), the resolution and each metric, as numpy
    arrays (int64; exact decimal text where a metric holds Fractions or values past int64)."""
    import numpy as np
    n_r = len(rs)
    keep = np.asarray(valid).ravel()
    cols = [np.repeat(np.arange(stop - start), n_r), np.tile(np.asarray(rs, dtype=np.int64),
                                                            stop - start)]
    for m in metrics:
        arr = np.ascontiguousarray(block[m]).ravel()
        if arr.dtype == object:
            arr = np.array([decimal_text(v) for v in arr])
        cols.append(arr)
    return cols if keep.all() else [c[keep] for c in cols]


def _csv_block(width_texts, rs, block: dict, metrics, start: int, stop: int, valid,
               binary: bool = False):
    """The block's CSV rows (no header), built column-wise: pyarrow's CSV writer where it is
    installed, else one join per row over columns converted to text by numpy. With `binary`,
    the ASCII bytes (a pyarrow Buffer or bytes, for a binary stream: no decoding and
    re-encoding of the text), else a str."""
    import numpy as np
    cols = _columns_of(width_texts, rs, block, metrics, start, stop, valid)
    if not len(cols[0]):
        return b"" if binary else ""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        from .arrow_columns import column, text_column
    except ImportError:
        texts = [np.asarray(width_texts[start:stop])[cols[0]]] + [c.astype(str) for c in cols[1:]]
        text = "\n".join(map(",".join, zip(*(c.tolist() for c in texts)))) + "\n"
        return text.encode("ascii") if binary else text
    arrays = [text_column(width_texts[start:stop], cols[0])] + [column(c) for c in cols[1:]]
    table = pa.table(arrays, names=[str(k) for k in range(len(arrays))])
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    data = sink.getvalue()
    return data if binary else data.to_pybytes().decode("ascii")


def grid_provenance(forms, ws, rs) -> dict:
    """What a sweep measured (report/provenance.py): spec, grid, convention, dtype, version."""
    from ..report.provenance import provenance
    return provenance(forms.spec, forms.convention, forms.dtype,
                      widths=_axis_text([decimal_text(w) for w in ws]),
                      resolutions=_axis_text([str(r) for r in rs]))


def _axis_text(values: list) -> str:
    if len(values) <= 8:
        return ",".join(values)
    return f"{len(values):,} values {values[0]} .. {values[-1]}"


def write(forms, widths, resolutions, stream, fmt: str = "csv", metrics=None,
          progress=None, block_points: int = BLOCK_POINTS) -> tuple[int, int]:
    """Stream the sweep to a text stream (csv, json) or binary stream (parquet; csv, as
    UTF-8 bytes identical to the text); returns
    (points written, points skipped because the spec cannot be built there, e.g. no
    channels left at a tiny width or a vanishing spatial size at a tiny resolution). A grid
    where no point can be built raises the located SpecError `archcalc report` gives."""
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
    meta = grid_provenance(forms, ws, rs)
    bar = _progress(total, progress)
    done = written = 0
    parquet: dict = {"writer": None}      # the ParquetWriter, made by the first block
    pipe = _Pipeline()
    binary = fmt == "csv" and not isinstance(stream, io.TextIOBase)
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
        for start, stop, block in forms.iter_grid(ws, rs, metrics, max_points=block_points):
            valid = forms.valid(ws[start:stop], rs)
            if fmt == "csv":
                pipe.submit(lambda *a: stream.write(_csv_block(*a)), width_texts, rs, block,
                            metrics, start, stop, valid, binary)
            elif fmt == "json":          # each CSV line as a JSON array of numbers
                text = _csv_block(width_texts, rs, block, metrics, start, stop, valid)
                if text:
                    rows = "[" + text[:-1].replace("\n", "],[") + "]"
                    stream.write(("," if written else "") + rows)
            else:
                pipe.submit(_parquet_into, parquet, stream, ws, rs, block, metrics, start, stop,
                            valid, meta)
            done += (stop - start) * len(rs)
            written += int(valid.sum())
            if bar is not None:
                bar.update(bar.task_ids[0], completed=done)
        pipe.wait()
        if written == 0 and done:
            fail_nowhere_buildable(forms, ws[0], rs[0], "sweep grid")
        if fmt == "json":
            stream.write("]}\n")
        if parquet["writer"] is not None:
            parquet["writer"].close()
    finally:
        pipe.close()
        if bar is not None:
            bar.stop()
    return written, done - written


class _Pipeline:
    """One writer thread: block k is formatted and written while block k+1 is computed
    (pyarrow's CSV and Parquet writers, numpy and file writes release the GIL); blocks are
    written in order, at most one waiting, and a failure is raised in the caller by the next
    submit or wait. No thread is started until the first block."""

    def __init__(self):
        self.pool = self.pending = None

    def submit(self, fn, *args) -> None:
        self.wait()
        if self.pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="archcalc-sweep")
        self.pending = self.pool.submit(fn, *args)

    def wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _parquet_into(state: dict, stream, *args) -> None:
    state["writer"] = _parquet_block(stream, state["writer"], *args)


def _parquet_block(stream, writer, ws, rs, block, metrics, start, stop, valid, meta=None):
    import numpy as np
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise OptionError("--format parquet needs pyarrow: pip install pyarrow") from None
    from .arrow_columns import column, number_column, text_column
    n_r = len(rs)
    rows = stop - start
    keep = np.asarray(valid).ravel()
    every = keep.all()                # else filtered in numpy (pyarrow's filter needs compute)
    which = np.repeat(np.arange(rows), n_r)         # each point's width, as an index
    widths = np.repeat([float(w) for w in ws[start:stop]], n_r)
    res = np.tile(np.array(rs, dtype=np.int64), rows)
    data = {"width": number_column(widths if every else widths[keep]),
            "width_text": text_column([decimal_text(w) for w in ws[start:stop]],
                                      which if every else which[keep]),
            "resolution": number_column(res if every else res[keep])}
    for m in metrics:
        arr = np.ascontiguousarray(block[m]).ravel()
        if arr.dtype == object:
            arr = np.array([decimal_text(v) for v in arr], dtype=object)
        data[m] = column(arr if every else arr[keep])
    table = pa.table(list(data.values()), names=list(data))
    if writer is None:
        from ..report.provenance import parquet_metadata
        schema = table.schema.with_metadata(parquet_metadata(meta or {}))
        writer = pq.ParquetWriter(stream, schema)
    table = table.replace_schema_metadata(writer.schema.metadata)
    writer.write_table(table)
    return writer


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
