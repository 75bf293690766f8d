"""One block of a grid sweep (archcalc.design.sweep) formatted: its CSV text or bytes, or its
Parquet table; the ordered runner that computes blocks on one thread, formats them on others
and hands them back in grid order; and the Parquet file they go to.

A block is whole width rows of the grid, width-major. Columns that depend on the width alone
(the width, and metrics such as params) and the resolution column are formatted once per
distinct value and repeated (arrow_columns.repeated_text_column / tiled_text_column); every
other metric goes to pyarrow's writers as int64. The bytes are the same either way.
"""
from __future__ import annotations

import os

from ..numbers import decimal_text

BATCH_ROWS = 1 << 16     # rows pyarrow formats (encodes) at a time; its default 1,024
                         # makes the CSV writer 15% slower, the Parquet writer 8%


def keep_freed_memory() -> None:
    """Have the C allocator (glibc's malloc) keep the memory a block frees for the next block
    instead of handing it back to the system and faulting it in again: M_MMAP_THRESHOLD 32 MiB
    (a block's arrays come from the heap, not one mmap each), M_TRIM_THRESHOLD 256 MiB (the
    free top of the heap is kept up to that size). Process-wide and left so: it only decides
    when freed memory goes back to the system (at most 256 MiB is kept). Without it, a 10^6-
    point sweep takes about 13,000 page faults, 25 ms of CPU. Nothing where the C library has
    no mallopt (macOS, Windows)."""
    if os.environ.get("ARCHCALC_NO_MALLOPT"):
        return
    try:
        import ctypes
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):      # no such symbol; Windows: no CDLL(None)
        return
    mallopt(-3, 32 << 20)             # M_MMAP_THRESHOLD
    mallopt(-1, 256 << 20)            # M_TRIM_THRESHOLD


def default_workers() -> int:
    """Formatting threads for a sweep: the cores this process may use, at most 4 (pyarrow's
    writers release the GIL); 1 on one core (everything in the calling thread)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def ordered_results(jobs, compute, finish, workers: int):
    """finish(compute(*job)) for each job, yielded in the jobs' order. With `workers` > 1,
    compute runs on one thread, block after block (the grid is Python-heavy: two threads
    computing at once only contend for the GIL), and finish (formatting, which pyarrow does
    without the GIL) on `workers` threads beside it, at most 2 x workers + 2 blocks ahead
    (memory stays bounded). A failure is raised here when its block's turn comes; the rest
    are cancelled."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield finish(compute(*job))
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor
    pending: deque = deque()
    it = iter(jobs)
    computing = ThreadPoolExecutor(1, thread_name_prefix="archcalc-grid")
    formatting = ThreadPoolExecutor(workers, thread_name_prefix="archcalc-format")

    def submit(job) -> None:
        block = computing.submit(compute, *job)
        pending.append((block, formatting.submit(lambda: finish(block.result()))))
    try:
        for job in it:
            submit(job)
            if len(pending) >= 2 * workers + 2:
                break
        while pending:
            result = pending.popleft()[1].result()
            job = next(it, None)
            if job is not None:
                submit(job)
            yield result
    finally:
        for block, done in pending:
            block.cancel()
            done.cancel()
        computing.shutdown(wait=True, cancel_futures=True)
        formatting.shutdown(wait=True, cancel_futures=True)


def _per_width(arr):
    """The values of a (widths, resolutions) int64 block whose rows are constant (a metric
    of the width alone, e.g. params), else None."""
    import numpy as np
    if arr.dtype != np.int64 or not arr.shape[1]:
        return None
    first = arr[:, :1]
    return first[:, 0] if (arr.strides[1] == 0 or (arr == first).all()) else None


def numpy_columns(width_texts, rs, block: dict, metrics, start: int, stop: int, valid) -> list:
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


def csv_columns(width_texts, rs, block: dict, metrics, start: int, stop: int, valid,
                  memo: dict | None = None) -> list:
    """The block's CSV columns as pyarrow arrays (numpy_columns' values): where every point
    is buildable, the width, the resolution and the metrics of the width alone as texts
    made once per distinct value; otherwise the filtered numpy columns."""
    import numpy as np

    from .arrow_columns import column, repeated_text_column, text_column
    if not np.asarray(valid).all():
        cols = numpy_columns(width_texts, rs, block, metrics, start, stop, valid)
        return [text_column(width_texts[start:stop], cols[0])] + [column(c) for c in cols[1:]]
    n_r = len(rs)
    out = [repeated_text_column(width_texts[start:stop], n_r),
           _resolution_texts(rs, stop - start, {} if memo is None else memo)]
    for m in metrics:
        arr = block[m]
        per_width = _per_width(arr)
        if per_width is not None:
            out.append(repeated_text_column(map(str, per_width.tolist()), n_r))
            continue
        arr = np.ascontiguousarray(arr).ravel()
        out.append(column(np.array([decimal_text(v) for v in arr]) if arr.dtype == object
                          else arr))
    return out


def _resolution_texts(rs, widths: int, memo: dict):
    """The resolution column of a block of `widths` width rows: the same for every full
    block of a sweep, so made once per sweep (`memo`: the sweep's own)."""
    from .arrow_columns import tiled_text_column
    found = memo.get(widths)
    if found is None:
        found = memo[widths] = tiled_text_column([str(r) for r in rs], widths)
    return found


def csv_block(width_texts, rs, block: dict, metrics, start: int, stop: int, valid,
              binary: bool = False, memo: dict | None = None):
    """The block's CSV rows (no header), built column-wise: pyarrow's CSV writer where it is
    installed, else one join per row over columns converted to text by numpy. With `binary`,
    the ASCII bytes (a pyarrow Buffer or bytes, for a binary stream: no decoding and
    re-encoding of the text), else a str. `memo`: columns shared by a sweep's blocks."""
    import numpy as np
    if not np.asarray(valid).any():
        return b"" if binary else ""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        cols = numpy_columns(width_texts, rs, block, metrics, start, stop, valid)
        texts = [np.asarray(width_texts[start:stop])[cols[0]]] + [c.astype(str) for c in cols[1:]]
        text = "\n".join(map(",".join, zip(*(c.tolist() for c in texts)))) + "\n"
        return text.encode("ascii") if binary else text
    arrays = csv_columns(width_texts, rs, block, metrics, start, stop, valid, memo)
    table = pa.table(arrays, names=[str(k) for k in range(len(arrays))])
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none",
                                                    batch_size=BATCH_ROWS))
    data = sink.getvalue()
    return data if binary else data.to_pybytes().decode("ascii")


def parquet_table(ws, width_texts, rs, block: dict, metrics, start: int, stop: int, valid):
    """The block as a pyarrow table: width (float), width_text (exact), resolution, and each
    metric (int64, or exact text where it holds Fractions or values past int64)."""
    import numpy as np
    try:
        import pyarrow as pa
    except ImportError:
        from ..errors import OptionError
        raise OptionError("--format parquet needs pyarrow: pip install pyarrow") from None
    from .arrow_columns import column, number_column, repeated_text_column, text_column
    n_r = len(rs)
    rows = stop - start
    keep = np.asarray(valid).ravel()
    every = keep.all()                # else filtered in numpy (pyarrow's filter needs compute)
    widths = np.repeat([float(w) for w in ws[start:stop]], n_r)
    res = np.tile(np.array(rs, dtype=np.int64), rows)
    data = {"width": number_column(widths if every else widths[keep]),
            "width_text": (repeated_text_column(width_texts[start:stop], n_r) if every else
                           text_column(width_texts[start:stop],
                                       np.repeat(np.arange(rows), n_r)[keep])),
            "resolution": number_column(res if every else res[keep])}
    for m in metrics:
        arr = np.ascontiguousarray(block[m]).ravel()
        if arr.dtype == object:
            arr = np.array([decimal_text(v) for v in arr], dtype=object)
        data[m] = column(arr if every else arr[keep])
    return pa.table(list(data.values()), names=list(data))


class GuardedStream:
    """The caller's binary stream as pyarrow's buffer sees it: a failed write (a full disk) is
    kept and raised by `check`, never raised into Arrow, whose C++ destructor would print it
    as a second line; later writes are dropped (the file is removed anyway)."""

    def __init__(self, raw):
        self.raw, self.error, self.written, self.closed = raw, None, 0, False

    def write(self, data) -> int:
        if self.error is None:
            try:
                self.raw.write(data)
            except OSError as err:
                self.error = err
        self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def check(self) -> None:
        if self.error is not None:
            raise self.error


def parquet_writer(stream, table, meta: dict) -> tuple:
    """(a ParquetWriter for the sweep's tables, with the provenance in the schema's metadata;
    the buffer it writes through; the guarded stream below it). Dictionary encoding only for
    the columns of few distinct values (widths, resolutions): the metrics are nearly all
    distinct, and trying a dictionary on them costs time. The writer writes into a 4 MiB
    buffer of pyarrow's own, which calls the Python stream only when full (each call takes
    the GIL from the thread computing the grid: 15% of the Parquet sweep's time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..report.provenance import parquet_metadata
    schema = table.schema.with_metadata(parquet_metadata(meta or {}))
    guarded = GuardedStream(stream)
    sink = pa.BufferedOutputStream(pa.PythonFile(guarded, mode="w"), buffer_size=1 << 22)
    writer = pq.ParquetWriter(sink, schema, use_dictionary=["width", "width_text", "resolution"],
                              write_batch_size=BATCH_ROWS)
    return writer, sink, guarded


def write_parquet(parts: tuple, table) -> None:
    """One block's table into the file (raises the stream's first failure, if any)."""
    writer, _, guarded = parts
    writer.write_table(table.replace_schema_metadata(writer.schema.metadata))
    guarded.check()


def finish_parquet(writer, sink, guarded) -> None:
    """Close the Parquet file (its footer), flush the buffer into the caller's stream, leave
    the stream open; raise the stream's first failure, if any."""
    writer.close()
    sink.detach()
    guarded.check()
