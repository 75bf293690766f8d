"""The dashboard's state: one `Workspace` per server, and every callback goes through it.

It owns the spec catalog (the files of --specs, the only files the browser can name), the
caches (parsed specs, cost tables, compiled closed forms, evaluators, formula
text, sandbox checks, frontier points; keyed by spec + `--set` values + convention, as the
style guide asks: "callers cache compiled graphs in a dict they own"; every one an LRU
bounded in archcalc/limits.py), the user's pasted specs, the two worker pools
(dashboard/bounded.py) and the results database. A view reads and fills a cache with
`recall` / `remember` (under the workspace's lock).

Speed: a slider move re-costs the spec at one concrete point, read off the spec's
evaluator (archcalc.cost.Evaluator: its rows compiled once) or costed with `archcalc.evaluate` on the
already-parsed spec (no sympy, no YAML: 2 to 60 ms, see benchmarks/dashboard_callbacks.py),
memoised per point; closed forms are computed once per spec, off the slider path.
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import archcalc
from archcalc import limits as L
from archcalc.numbers import quote
from archcalc.cost import Evaluator

from .bounded import LRU, Busy, WorkerPool
from .catalog import Catalog
from .controls import CONVENTIONS, DTYPES, sets_key
from .log import log

# -- limits (all defined in archcalc/limits.py, "the dashboard"; docs/spec.md "Limits") ---------
MAX_SPEC_BYTES = L.DASHBOARD_MAX_SPEC_BYTES       # pasted or uploaded spec text
MAX_GRAPH_OPS = L.DASHBOARD_MAX_GRAPH_OPS         # ops of a checked spec's compiled graph
MAX_COMPILE_S = L.DASHBOARD_MAX_COMPILE_CPU_S     # CPU seconds it may take (in the sandbox)
CHECK_TIMEOUT_S = L.DASHBOARD_CHECK_CPU_S         # CPU time of one sandbox check
MAX_USER_SPECS = L.DASHBOARD_MAX_USER_SPECS       # pasted specs kept in memory

_MISSING = object()


@dataclass
class UserSpec:
    sha: str
    name: str           # the spec's name
    filename: str       # as uploaded ("pasted" for the editor)
    text: str
    ops: int


@dataclass
class CheckResult:
    """The outcome of checking a pasted/uploaded spec."""
    ok: bool
    message: str = ""           # one line, archcalc's str(SpecError) style
    line: int | None = None
    key: str | None = None
    source: str | None = None   # "user:<sha>" when ok
    name: str = ""
    ops: int = 0
    totals: dict = field(default_factory=dict)
    seconds: float = 0.0        # CPU seconds to parse, compile and cost it (in the sandbox)
    transient: bool = False     # busy / wall-time backstop: says nothing about the spec


def text_sha(text: str) -> str:
    """The id of a pasted spec: the start of its text's SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Workspace:
    """The dashboard's state: catalog, caches, user specs, worker pools, results database."""

    def __init__(self, specs_dir, db_path=None, *, sandbox=None, wait_for_compile=False,
                 extra_specs=()):
        from .trust import published_sets
        self.catalog = Catalog(specs_dir, extra_specs)
        self.wait_for_compile = wait_for_compile
        self.db_path = db_path
        self._lock = threading.RLock()
        # every cache is bounded: a browser can ask for any parameter value or convention
        self.spec_cache = LRU(L.DASHBOARD_CACHE_SPECS)        # (source, sets, conv) -> NetworkSpec
        self.table_cache = LRU(L.DASHBOARD_CACHE_TABLES, lambda t: len(t.rows),
                               L.DASHBOARD_CACHE_TABLE_ROWS)  # (spec key, width, res, dtype) -> table
        self.forms_cache = LRU(L.DASHBOARD_CACHE_FORMS)       # (spec key, dtype) -> CompiledForms
        self.formula_cache = LRU(L.DASHBOARD_CACHE_FORMULA_TEXT)  # -> {"text":..} | {"error":..}
        self._user: OrderedDict = OrderedDict()               # sha -> UserSpec
        self.check_cache = LRU(L.DASHBOARD_CACHE_CHECKS)      # (sha or source, sets, conv) -> CheckResult
        self.frontier_cache = LRU(len(CONVENTIONS))           # convention -> (points, notes)
        self.evaluator_cache = LRU(L.DASHBOARD_CACHE_EVALUATORS)  # (spec key, dtype) -> evaluator
        self.published_cache = LRU(L.DASHBOARD_CACHE_TABLES)  # (key, params, w, r) -> dict | None
        self._published_at: dict = {}                         # catalog key -> {(width, res)}
        # heavy work on fixed pools with bounded queues (dashboard/bounded.py)
        self.work = WorkerPool("compute", L.DASHBOARD_WORKERS, L.DASHBOARD_WORK_QUEUE,
                               L.DASHBOARD_MAX_WAIT_S, L.DASHBOARD_ADMIT_WAIT_S)
        self.children = WorkerPool("sandbox", L.DASHBOARD_MAX_CHILDREN, L.DASHBOARD_CHILD_QUEUE,
                                   L.DASHBOARD_MAX_WAIT_S, L.DASHBOARD_ADMIT_WAIT_S)
        self.published_sets = published_sets(self.catalog)   # key -> parameter sets of its points
        if sandbox is None:
            from . import sandbox as sandbox_module
            sandbox = sandbox_module
        self.sandbox = sandbox

    # -- caches --------------------------------------------------------------------------------
    def recall(self, cache: LRU, key, default=None):
        """The value `cache` (one of this workspace's) holds under `key`, else `default`."""
        with self._lock:
            return cache.get(key, default)

    def remember(self, cache: LRU, key, value) -> None:
        with self._lock:
            cache[key] = value

    # -- specs ---------------------------------------------------------------------------------
    def spec_key(self, source: str, sets=None, convention: str = "paper") -> tuple:
        if convention not in CONVENTIONS:
            raise archcalc.OptionError(f"unknown convention {quote(convention)}")
        return (source, sets_key(sets), convention)

    def declared_params(self, source: str) -> tuple:
        """The ParamDecls a spec declares (for the designer's parameter controls)."""
        kind, _, ident = source.partition(":")
        if kind == "file":
            return self.catalog.entries[ident].params if ident in self.catalog.entries else ()
        if kind == "user":
            spec = self.spec(source)
            return tuple(spec.params)
        return ()

    def filter_sets(self, source: str, sets) -> dict:
        """Only the parameters this spec declares (controls of another spec are ignored)."""
        names = {p.name for p in self.declared_params(source)}
        out = {k: v for k, v in (sets or {}).items()
               if k in names and v is not None and str(v).strip() != ""}
        for k, v in out.items():
            if len(str(v)) > L.DASHBOARD_MAX_PARAM_CHARS:
                raise archcalc.OptionError(f"{k}: value too long ({len(str(v))} characters)")
        return out

    def spec(self, source: str, sets=None, convention: str = "paper"):
        """A validated NetworkSpec with parameters bound (cached). A zoo file is parsed here
        (its text is trusted; the values are validated); a pasted spec with other parameter
        values or another convention is checked in the sandbox first."""
        key = self.spec_key(source, sets, convention)
        with self._lock:
            found = self.spec_cache.get(key)
        if found is not None:
            return found
        kind, _, ident = source.partition(":")
        sets_d = dict(key[1])
        if kind == "file":
            try:
                spec = archcalc.load(self.catalog.path(ident), sets_d or None, convention)
            except archcalc.ArchcalcError as err:
                raise archcalc.OptionError(self.scrub(str(err))) from None
        elif kind == "user":
            user = self.user_spec(ident)
            if key[1] or convention != "paper":
                # other parameter values can change the graph's size: check them in the sandbox
                self._require(self._check_user(user, sets_d, convention))
            conv = archcalc.convention_named(convention)
            spec = archcalc.parse_spec(user.text, f"<{user.filename}>", sets_d or None,
                                       conv.param_defaults())
        else:
            raise archcalc.OptionError(f"unknown spec source {quote(source)}")
        with self._lock:
            self.spec_cache[key] = spec
        return spec

    def trusted(self, source: str, sets=None) -> bool:
        """Whether the server may compile this configuration itself: a zoo file with its
        default parameters, values from a declared list of choices, or the parameters of one
        of its published points. Anything else (a pasted spec, a new value) is untrusted."""
        from .trust import trusted_values
        kind, _, ident = source.partition(":")
        entry = self.catalog.entries.get(ident) if kind == "file" else None
        return entry is not None and trusted_values(entry, sets_key(sets),
                                                    self.published_sets.get(ident, ()))

    def scrub(self, message) -> str:
        return self.catalog.scrub(str(message))

    def table(self, source: str, width, resolution, convention="paper", dtype="fp32", sets=None):
        """The exact CostTable at one point (memoised). A zoo configuration is read off its
        evaluator (archcalc.cost.Evaluator) when that is ready (the slider's path: no pool, no child);
        every other point is costed with archcalc.evaluate on the `work` pool, an untrusted
        configuration only after the sandbox has checked its size."""
        key = (self.spec_key(source, sets, convention), str(width), str(resolution), dtype)
        with self._lock:
            t = self.table_cache.get(key)
        if t is not None:
            return t
        spec = self.spec(source, sets, convention)
        trusted = self.trusted(source, sets)
        if source.startswith("file:") and not trusted:
            self._require(self._check_file(source, dict(key[0][1]), convention))
        t = None
        if trusted:
            ev = self.layer_evaluator(source, sets, convention, dtype, wait=self.wait_for_compile)
            if ev is not None:
                try:
                    t = ev.table(width, resolution)
                except archcalc.ArchcalcError:
                    t = None       # costed below, where the error is reported as for any point
        if t is None:
            try:
                t = self.work.call(("table",) + key, lambda: archcalc.evaluate(
                    spec, width, resolution, convention=convention, dtype=dtype))
            except Busy:
                raise
            except archcalc.ArchcalcError as err:
                raise archcalc.OptionError(self.scrub(str(err))) from None
        with self._lock:
            self.table_cache[key] = t
        return t

    def layer_evaluator(self, source: str, sets=None, convention="paper", dtype="fp32",
                        wait: bool = True):
        """The per-layer evaluator (archcalc.cost.Evaluator) of a zoo configuration (None for any other),
        built once on the `work` pool. With wait=False the build is queued (skipped when the
        pool is full) and None returned until it is ready (the caller costs the point
        meanwhile), so choosing a spec never blocks a slider."""
        key = (self.spec_key(source, sets, convention), dtype)
        with self._lock:
            ev = self.evaluator_cache.get(key)
        if ev is not None:
            return ev or None
        if not self.trusted(source, sets):
            return None

        def build():
            with self._lock:
                done = self.evaluator_cache.get(key)
            if done is not None:
                return done
            try:
                made = Evaluator(self.spec(source, sets, convention), convention, dtype,
                                 metrics=("madds",))
            except Exception as err:  # noqa: BLE001  (fall back to archcalc.evaluate)
                log(f"no evaluator for {source}: {type(err).__name__}: {err}")
                made = False
            with self._lock:
                self.evaluator_cache[key] = made
            return made

        if wait:
            return self.work.call(("evaluator",) + key, build) or None
        self.work.try_submit(("evaluator",) + key, build)
        return None

    @staticmethod
    def check_dtype(dtype: str) -> str:
        if dtype not in DTYPES:
            raise archcalc.OptionError(f"unknown dtype {quote(dtype)} "
                                       f"(known: {', '.join(DTYPES)})")
        return dtype

    def forms(self, source: str, convention="paper", dtype="fp32", sets=None):
        """The compiled closed forms (archcalc.cost.Evaluator) of a catalog spec (cached)."""
        key = (self.spec_key(source, sets, convention), dtype)
        with self._lock:
            f = self.forms_cache.get(key)
        if f is None:
            f = Evaluator(self.catalog.path(source.partition(":")[2]), convention, dtype,
                          sets=dict(key[0][1]) or None)
            with self._lock:
                self.forms_cache[key] = f
        return f

    def published_point(self, source: str, table) -> dict | None:
        """The published top-1 / Pixel-1 latency at the table's point, as `archcalc compare`
        reports it (`archcalc.published.published_point`), for a catalog spec; memoised. The
        spec's published file is read once to know where it has points, so a slider move to
        a point without one reads nothing."""
        from archcalc.published import load_points, published_for, published_point
        kind, _, key = source.partition(":")
        entry = self.catalog.entries.get(key) if kind == "file" else None
        if entry is None:
            return None
        where = self.recall(self._published_at, key)
        if where is None:
            try:
                found = published_for(entry.path)
                where = {(p.get("width"), p.get("resolution"))
                         for p in (load_points(found) if found is not None else [])}
            except archcalc.ArchcalcError:      # the frontier shows why the file is unreadable
                where = set()
            self.remember(self._published_at, key, where)
        if (table.width, table.resolution) not in where:
            return None
        memo = (key, tuple((p.name, str(p.value)) for p in table.spec.params), table.width,
                table.resolution)
        found = self.recall(self.published_cache, memo, _MISSING)
        if found is _MISSING:
            try:
                found = published_point(entry.path, table.spec, table.width, table.resolution)
            except archcalc.ArchcalcError:
                found = None
            self.remember(self.published_cache, memo, found)
        return found

    # -- user specs ----------------------------------------------------------------------------
    def user_spec(self, sha: str) -> UserSpec:
        with self._lock:
            user = self._user.get(sha)
            if user is None:
                raise archcalc.OptionError("this pasted spec is no longer in the server's memory "
                                           "(restarted, or too many specs since): paste it again")
            self._user.move_to_end(sha)
            return user

    def user_options(self) -> list[dict]:
        with self._lock:
            return [{"label": f"{u.name}  ·  your spec ({u.filename})", "value": f"user:{u.sha}"}
                    for u in self._user.values()]

    def _check_user(self, user: UserSpec, sets: dict, convention: str) -> CheckResult:
        return self._checked_once((user.sha, sets_key(sets), convention),
                                  lambda: self._run_check(user.text, f"<{user.filename}>", sets,
                                                          convention))

    def _check_file(self, source: str, sets: dict, convention: str) -> CheckResult:
        """A zoo file with new parameter values, checked in the sandbox (the file's name, not
        its path, in every message)."""
        ident = source.partition(":")[2]
        path = self.catalog.path(ident)
        return self._checked_once((source, sets_key(sets), convention),
                                  lambda: self._run_check(Path(path).read_text(encoding="utf-8"),
                                                          ident, sets, convention))

    def _checked_once(self, key: tuple, run) -> CheckResult:
        """A sandbox check, remembered (except a transient failure); one child per key even
        when many requests ask at once; Busy when the sandbox's queue is full."""
        with self._lock:
            found = self.check_cache.get(key)
        if found is not None:
            return found
        result = self.children.call(("check",) + key, run)
        if not result.transient:
            with self._lock:
                self.check_cache[key] = result
        return result

    @staticmethod
    def _require(result: CheckResult) -> None:
        if not result.ok:
            raise archcalc.OptionError(result.message)

    def _run_check(self, text: str, label: str, sets=None, convention="paper") -> CheckResult:
        out = self.sandbox.run("check", {"text": text, "path": label, "sets": dict(sets or {}),
                                         "convention": convention}, timeout=CHECK_TIMEOUT_S)
        if not out.get("ok"):
            return CheckResult(False, self.scrub(out.get("message", "the spec could not be "
                                                                    "checked")),
                               out.get("line"), out.get("key"),
                               transient=bool(out.get("transient")))
        ops, seconds = int(out["ops"]), float(out["seconds"])
        if ops > MAX_GRAPH_OPS:
            return CheckResult(False, f"{label}: the compiled graph has {ops:,} ops; the "
                               f"dashboard accepts at most {MAX_GRAPH_OPS:,}", name=out.get("name", ""),
                               ops=ops)
        if seconds > MAX_COMPILE_S:
            return CheckResult(False, f"{label}: compiling took {seconds:.1f} s of CPU time; the "
                               f"dashboard accepts at most {MAX_COMPILE_S:g} s",
                               name=out.get("name", ""), ops=ops)
        return CheckResult(True, name=out["name"], ops=ops, totals=out["totals"], seconds=seconds)

    def check_text(self, text: str | None, filename: str = "pasted", keep: bool = True
                   ) -> CheckResult:
        """Check a pasted/uploaded spec (size, then parse + compile + cost in the sandbox);
        when it passes and `keep`, keep it (LRU) and return its source id."""
        text = text or ""
        size = len(text.encode("utf-8"))
        if not text.strip():
            return CheckResult(False, "the spec is empty: paste YAML or upload a file")
        if size > MAX_SPEC_BYTES:
            return CheckResult(False, f"the spec is too large ({size:,} bytes; the dashboard "
                               f"accepts up to {MAX_SPEC_BYTES:,})")
        filename = safe_filename(filename)
        sha = text_sha(text)
        try:
            result = self._checked_once((sha, (), "paper"),
                                        lambda: self._run_check(text, f"<{filename}>"))
        except Busy as err:
            return CheckResult(False, str(err), transient=True)
        if result.ok and keep:
            self.keep_user(text, filename, result)
        return result

    def keep_user(self, text: str, filename: str, result: CheckResult) -> str:
        """Add a checked spec to the user's list (the 32 most recent); returns its source."""
        assert result.ok
        filename = safe_filename(filename)
        sha = text_sha(text)
        with self._lock:
            self._user[sha] = UserSpec(sha, result.name, filename, text, result.ops)
            self._user.move_to_end(sha)
            while len(self._user) > MAX_USER_SPECS:
                old, _ = self._user.popitem(last=False)
                for k in [k for k in self.spec_cache if k[0] == f"user:{old}"]:
                    del self.spec_cache[k]
        result.source = f"user:{sha}"
        return result.source

    # -- results database ----------------------------------------------------------------------
    def measured(self) -> tuple[list[dict], str | None]:
        """Rows of the results database (read-only), and a note when it cannot be read."""
        path = self.db_path
        if path is None:
            try:
                from archcalc.results import default_path
            except ImportError:
                return [], None
            path = default_path()
            if not Path(path).is_file():
                return [], None
        try:
            from archcalc.results import ResultsDB
        except ImportError:
            return [], "the results database needs a newer archcalc"
        try:
            with ResultsDB(path, create=False) as db:
                return db.rows(), None
        except archcalc.ArchcalcError as err:
            return [], str(err)


def safe_filename(name) -> str:
    """A browser's file name as shown in messages: its base name, letters, digits and ._- only."""
    base = os.path.basename(str(name or "pasted"))[:80]
    return "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in base) or "pasted"

