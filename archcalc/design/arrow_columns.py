"""numpy columns -> pyarrow arrays for the sweep writers (archcalc.design.sweep), built from
buffers: `pa.array()` imports pandas when it is installed (about 0.3 s of CPU at a cold
start) and `Array.take` / `Table.filter` import pyarrow.compute (about 60 ms); neither is
needed to write numbers and texts. Each function gives the array `pa.array` would give
(same type, same values, no nulls), so the files written are the same bytes.
"""
from __future__ import annotations

import numpy as np


def number_column(values):
    """An int64 or float64 (or bool) numpy array as a pyarrow array of that type."""
    import pyarrow as pa
    values = np.ascontiguousarray(values)
    kind = {np.dtype(np.int64): pa.int64(), np.dtype(np.float64): pa.float64()}.get(values.dtype)
    if kind is None:
        raise TypeError(f"no arrow column for dtype {values.dtype}")
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def text_column(texts, index=None):
    """pyarrow string array of texts[index[i]] (every text when `index` is None): the same
    array as pa.array(texts, pa.string()).take(index)."""
    import pyarrow as pa
    raw = [str(t).encode("utf-8") for t in texts]
    index = np.arange(len(raw)) if index is None else np.asarray(index, dtype=np.intp)
    lengths = np.array([len(b) for b in raw] or [0], dtype=np.int64)
    chars = np.zeros((max(len(raw), 1), max(int(lengths.max()), 1)), dtype=np.uint8)
    for i, b in enumerate(raw):
        chars[i, :len(b)] = np.frombuffer(b, dtype=np.uint8)
    lens = lengths[index]
    offsets = np.zeros(len(index) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise ValueError("a text column of 2 GiB or more")   # blocks are far smaller
    data = chars[index][np.arange(chars.shape[1]) < lens[:, None]]
    return pa.Array.from_buffers(pa.string(), len(index),
                                 [None, pa.py_buffer(offsets.astype(np.int32)),
                                  pa.py_buffer(np.ascontiguousarray(data))])


def column(values):
    """A numpy column (int64, float64, or texts: a unicode or object array of str) as a
    pyarrow array."""
    values = np.asarray(values)
    if values.dtype.kind in "US" or values.dtype == object:
        return text_column(values.tolist())
    return number_column(values)


def _offsets(lengths) -> "np.ndarray":
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise ValueError("a text column of 2 GiB or more")   # blocks are far smaller
    return offsets.astype(np.int32)


def _string_array(n: int, offsets, data: bytes):
    import pyarrow as pa
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(data)])


def repeated_text_column(texts, n: int):
    """Each text `n` times in a row (texts[0] n times, then texts[1] ...): the same array as
    text_column(texts, np.repeat(np.arange(len(texts)), n)), built with one bytes join (a
    sweep's width column, and every metric that depends on the width alone)."""
    raw = [str(t).encode("utf-8") for t in texts]
    offsets = _offsets(np.repeat(np.array([len(b) for b in raw], dtype=np.int64), n))
    return _string_array(len(raw) * n, offsets, b"".join(b * n for b in raw))


def tiled_text_column(texts, n: int):
    """The texts `n` times over (texts[0], texts[1], ..., texts[0], ...): the same array as
    text_column(texts, np.tile(np.arange(len(texts)), n)) (a sweep's resolution column)."""
    raw = [str(t).encode("utf-8") for t in texts]
    offsets = _offsets(np.tile(np.array([len(b) for b in raw], dtype=np.int64), n))
    return _string_array(len(raw) * n, offsets, b"".join(raw) * n)
