"""The Python API, mirroring the CLI: load a spec, compile it, cost it at a point or symbolically.

    >>> import archcalc
    >>> table = archcalc.evaluate("specs/mobilenet_v2.yaml", width=0.75, resolution=160)
    >>> table.total("madds")
    >>> table.to_dataframe()          # one row per primitive op
    >>> forms = archcalc.closed_form("specs/mobilenet_v2.yaml")
    >>> forms.total("madds")          # sympy expression in alpha and r
    >>> forms.at(0.75, 160).total("madds")

`evaluate` keeps what it compiled for the specs it was last given (at most
limits.EVALUATE_CACHE_SPECS, keyed on the file's path, device and inode, size and modification
and change times (an edited file is read again), the --set values, the convention and the dtype): a later call reads no YAML, and from
the FORMS_AFTER-th call on the same spec it evaluates the rows compiled once from the closed
forms (archcalc.cost.Evaluator.table: exact, equal to a fresh compile; a point where a
structural guard fires or the spec cannot be built is compiled as before).
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any, Mapping

from .cost import DTYPE_BYTES, Convention, CostTable, analyze
from .cost.convention import convention_named
from .errors import OptionError
from .graph import compile_graph
from .spec import NetworkSpec, load_spec


def load(spec: str | os.PathLike | NetworkSpec, sets: Mapping[str, Any] | None = None,
         convention: str | Convention = "paper") -> NetworkSpec:
    """A validated spec with its parameters bound: the convention's (e.g. num_classes=1000
    for torchvision), then `sets` (the CLI's --set), which win."""
    if isinstance(spec, NetworkSpec):
        if sets:
            raise OptionError("pass a spec path to apply --set overrides")
        return spec
    return load_spec(spec, sets, convention_named(convention).param_defaults())


def evaluate(spec, width=None, resolution=None, *, convention: str | Convention = "paper",
             dtype: str = "fp32", sets: Mapping[str, Any] | None = None) -> CostTable:
    """Exact per-op costs of `spec` at (width, resolution)."""
    conv = convention_named(convention)
    entry = _CACHE.entry(spec, sets, conv, dtype)
    if entry is None:                 # a NetworkSpec, a pipe, an unhashable --set value
        return analyze(compile_graph(load(spec, sets, conv), width, resolution), conv, dtype)
    return entry.evaluate(width, resolution)


FORMS_AFTER = 3     # calls on one spec before its rows are compiled from the closed forms


class _Compiled:
    """One spec as `evaluate` keeps it: the loaded NetworkSpec, and (from the FORMS_AFTER-th
    call on) its Evaluator, whose `table()` gives every row at a point exactly."""

    def __init__(self, spec: NetworkSpec, convention: Convention, dtype: str):
        self.spec, self.convention, self.dtype = spec, convention, dtype
        self.calls = 0
        self.forms = None            # None: not built yet; False: the spec has none (compile)

    def evaluate(self, width, resolution) -> CostTable:
        self.calls += 1
        if self.forms is None and self.calls >= FORMS_AFTER:
            self.forms = self._build()
        if self.forms and (resolution is None or type(resolution) is int):
            return self.forms.table(1 if width is None else width, resolution)
        return analyze(compile_graph(self.spec, width, resolution), self.convention, self.dtype)

    def _build(self):
        from .cost import Evaluator
        from .errors import ArchcalcError
        if not isinstance(self.spec.resolution, int):
            return False                  # a non-square input has no closed forms in r
        try:
            return Evaluator(self.spec, self.convention, self.dtype)
        except ArchcalcError:
            return False


class _SpecCache:
    """The specs `evaluate` was last given, least recently used first out."""

    def __init__(self):
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def entry(self, spec, sets, convention: Convention, dtype: str) -> _Compiled | None:
        import stat

        from .limits import EVALUATE_CACHE_SPECS, MAX_SPEC_BYTES
        from .zoo import resolve
        if isinstance(spec, NetworkSpec) or dtype not in DTYPE_BYTES:
            return None                   # (an unknown dtype is refused by analyze)
        path = resolve(spec)
        try:
            st = os.stat(path)
            fixed = tuple(sorted((str(k), v) for k, v in (sets or {}).items()))
            hash(fixed)
            hash(convention)
        except (OSError, TypeError, ValueError):
            return None                   # the loader reports a missing file as usual
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SPEC_BYTES:
            return None
        key = (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, fixed,
               convention, dtype)
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
                return found
        found = _Compiled(load(path, sets, convention), convention, dtype)
        with self.lock:
            self.entries[key] = found
            while len(self.entries) > EVALUATE_CACHE_SPECS:
                self.entries.popitem(last=False)
        return found

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_CACHE = _SpecCache()


def cache_info() -> dict:
    """How many specs `evaluate` keeps compiled, of at most how many, and how many of them
    evaluate through their compiled rows."""
    from .limits import EVALUATE_CACHE_SPECS
    with _CACHE.lock:
        entries = list(_CACHE.entries.values())
    return {"specs": len(entries), "limit": EVALUATE_CACHE_SPECS,
            "with_forms": sum(1 for e in entries if e.forms)}


def clear_cache() -> None:
    """Forget what `evaluate` compiled (it also notices any change to a spec file by itself)."""
    _CACHE.clear()


def closed_form(spec, *, convention: str | Convention = "paper", dtype: str = "fp32",
                sets: Mapping[str, Any] | None = None) -> CostTable:
    """Per-op costs as sympy expressions in alpha (width) and r (resolution)."""
    conv = convention_named(convention)
    return analyze(compile_graph(load(spec, sets, conv), symbolic=True), conv, dtype)
