"""A space's Parquet dataset: one file per partition, streamed in row groups, plus the front.

Columns: `index` (the architecture's index in the space), `width` and `resolution` when the
space has a grid, one column per choice parameter (its value), then every total of
`archcalc report`'s JSON (params, bn_params, madds, flops, [elementwise_ops with
--elementwise], activation_bytes, peak_memory_bytes, peak_memory_bytes_streamed), and
`in_budget` when every architecture is kept and budgets were given. Each file's schema
metadata names what was measured (archcalc version, spec, convention, dtype, the space, the
path taken). `_front.parquet` (a name pyarrow and pandas skip when they read the folder as a
dataset) holds the front. A file is written under a temporary name and renamed when done.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import OptionError
from .stages import METRICS

FRONT_FILE = "_front.parquet"


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise OptionError("--out needs pyarrow: pip install 'archcalc[spaces]'") from None
    return pa, pq


@dataclass
class Columns:
    """What each row holds: built once per run, shipped to every partition."""
    choices: tuple          # (name, values) of each choice parameter
    metrics: tuple          # the totals written (report's JSON totals)
    grid: tuple             # ("width",), ("resolution",), both or ()
    in_budget: bool
    fractional: bool        # idealised counts (rounding: none): float64 totals
    metadata: dict

    def schema(self):
        pa, _ = _pyarrow()
        fields = [pa.field("index", pa.int64())]
        if "width" in self.grid:
            fields.append(pa.field("width", pa.float64()))
        if "resolution" in self.grid:
            fields.append(pa.field("resolution", pa.int64()))
        for name, values in self.choices:
            fields.append(pa.field(name, _arrow_type(pa, values)))
        total = pa.float64() if self.fractional else pa.int64()
        fields += [pa.field(m, total) for m in self.metrics]
        if self.in_budget:
            fields.append(pa.field("in_budget", pa.bool_()))
        from ..report.provenance import parquet_metadata
        return pa.schema(fields, metadata=parquet_metadata(self.metadata))

    def table(self, space, index: np.ndarray, values: np.ndarray, in_budget=None):
        """A table of rows: global indices and their (n, len(METRICS)) totals."""
        pa, _ = _pyarrow()
        index = np.asarray(index, dtype=np.int64)
        g, local = np.divmod(index, space.n_choices)
        data = {"index": index}
        if "width" in self.grid or "resolution" in self.grid:
            n_r = len(space.resolutions)
            if "width" in self.grid:
                data["width"] = np.array([float(w) for w in space.widths])[g // n_r]
            if "resolution" in self.grid:
                data["resolution"] = np.array(space.resolutions, dtype=np.int64)[g % n_r]
        for (name, options), stride in zip(self.choices, space.strides):
            data[name] = _column(pa, options)[(local // stride) % len(options)]
        for m in self.metrics:
            col = values[:, METRICS.index(m)]
            data[m] = col.astype(np.float64) if self.fractional else col.astype(np.int64)
        if self.in_budget:
            data["in_budget"] = np.asarray(in_budget, dtype=bool)
        return pa.table({k: pa.array(v) for k, v in data.items()}, schema=self.schema())


def _arrow_type(pa, values):
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, (int, Fraction)) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def _column(pa, values) -> np.ndarray:
    kind = _arrow_type(pa, values)
    if kind == pa.bool_():
        return np.array(values, dtype=bool)
    if kind == pa.int64():
        return np.array(values, dtype=np.int64)
    if kind == pa.float64():
        return np.array([float(v) for v in values], dtype=np.float64)
    return np.array([str(v) for v in values], dtype=object)


class PartWriter:
    """One Parquet file written in row groups; `close` renames it into place (a file is
    there only when its partition finished)."""

    def __init__(self, path: str, columns: Columns):
        self.path, self.columns, self.rows = path, columns, 0
        self.tmp = f"{path}.tmp-{os.getpid()}"
        self.writer = None

    def write(self, table) -> None:
        _, pq = _pyarrow()
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.tmp, table.schema)
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        _, pq = _pyarrow()
        if self.writer is None:           # no rows: the schema and metadata still
            self.writer = pq.ParquetWriter(self.tmp, self.columns.schema())
        self.writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
        finally:
            if os.path.exists(self.tmp):
                os.remove(self.tmp)


def prepare_dir(path: str) -> None:
    """Create --out DIR, or accept an existing one that holds no space output yet."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise OptionError(f"--out {path}: exists and is not a directory (give a folder)")
    try:
        os.makedirs(path, exist_ok=True)
        names = os.listdir(path)
    except OSError as err:
        raise OptionError(f"--out {path}: cannot create: {err.strerror or err}") from None
    if any(n.startswith("part-") or n == FRONT_FILE for n in names):
        raise OptionError(f"--out {path}: already holds a space's output (remove it or give "
                          f"another folder)")
    if not os.access(path, os.W_OK):
        raise OptionError(f"--out {path}: cannot write: Permission denied")


def metadata_json(value) -> str:
    return json.dumps(value, separators=(", ", ": "))
