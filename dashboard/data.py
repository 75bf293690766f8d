"""What the dashboard shows, as plain data: numbers, strings and plotly figures as dicts.

Everything here goes through archcalc's public API (`archcalc.load`, `archcalc.evaluate`,
`archcalc.parse_spec`, `archcalc.compare`, the report helpers, and the design engine's
`compile_forms`, `pareto_front`, `load_points`, `published_for`, `formula`). Nothing imports
Dash, so each view's data is unit-tested without a browser (tests/test_dashboard_data.py).

`Workspace` is the one object that owns state: the spec catalog (the files of --specs, the
only files the browser can name), the caches (parsed specs, cost tables, compiled closed
forms, formula text; keyed by spec + `--set` values + convention, as the style guide asks:
"callers cache compiled graphs in a dict they own"), the user's pasted specs and the
results database. The app creates one and every callback goes through it.

Speed: a slider move re-costs the spec at one concrete point with `archcalc.evaluate` on the
already-parsed spec (no sympy, no YAML: 2 to 60 ms depending on the spec, see
benchmarks/dashboard_callbacks.py), memoised per point; closed forms are computed once per
spec, off the slider path; the frontier evaluates every published point through the design
engine's compiled (exact, vectorised) evaluator, once per spec and `--set` combination.
"""
from __future__ import annotations

import hashlib
import math
import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

import archcalc
from archcalc import limits as L
from archcalc.report.units import human_bytes, human_count

from .bounded import LRU, Busy, WorkerPool

# -- limits (all defined in archcalc/limits.py, "the dashboard"; docs/spec.md "Limits") ---------
MAX_SPEC_BYTES = L.DASHBOARD_MAX_SPEC_BYTES       # pasted or uploaded spec text
MAX_UPLOAD_BYTES = L.DASHBOARD_MAX_UPLOAD_BYTES   # what the browser may send (before decoding)
MAX_GRAPH_OPS = L.DASHBOARD_MAX_GRAPH_OPS         # ops of a checked spec's compiled graph
MAX_COMPILE_S = L.DASHBOARD_MAX_COMPILE_CPU_S     # CPU seconds it may take (in the sandbox)
CHECK_TIMEOUT_S = L.DASHBOARD_CHECK_CPU_S         # CPU time of one sandbox check
FORMS_TIMEOUT_S = L.DASHBOARD_FORMS_CPU_S         # CPU time of one sandboxed closed form
MAX_USER_SPECS = L.DASHBOARD_MAX_USER_SPECS       # pasted specs kept in memory
TABLE_CACHE = L.DASHBOARD_CACHE_TABLES            # cost tables kept (spec x point)
MAX_FORM_CHARS = L.DASHBOARD_MAX_FORM_CHARS       # closed-form text shown

WIDTH_MIN, WIDTH_MAX, WIDTH_STEP = 0.1, 2.0, 0.05
RES_MIN, RES_MAX = 32, 512
CONVENTIONS = ("paper", "torchvision", "tf-slim")
DTYPES = ("fp32", "fp16", "bf16", "int8")

# -- colours -----------------------------------------------------------------------------------
# One colour per family (frontier, compare) and per op type (designer), everywhere.
FAMILY_COLORS = {
    "MobileNetV2": "#E4572E", "MobileNetV1": "#3A6EA5", "ShuffleNetV1": "#2E9E6A",
    "NASNet-A-Mobile": "#8E5BB5", "SSD-MobileNetV2": "#D9A21B", "SSDLite-MobileNetV2": "#C2185B",
    "SSDLite-MobileNetV1": "#00838F", "MobileNetV3-Large": "#D4A017", "MobileNetV3-Small": "#E9C46A",
    "ShuffleNetV2": "#17A2B8", "EfficientNet-B0": "#6D4C41",
}
_EXTRA_COLORS = ("#6D4C41", "#546E7A", "#7CB342", "#F06292", "#5C6BC0", "#26A69A", "#FFA726")

OP_NAMES = {
    "conv": "conv k×k", "grouped_conv": "group conv", "depthwise": "depthwise",
    "pointwise": "pointwise 1×1", "grouped_pointwise": "grouped 1×1", "fc": "fully connected", "pool": "pooling", "add": "add",
    "concat": "concat", "shuffle": "shuffle", "shift": "shift", "act": "activation",
    "bn": "batch norm", "input": "input", "mul": "SE scale", "slice": "channel split",
}
OP_COLORS = {
    "conv": "#3A6EA5", "grouped_conv": "#8E5BB5", "depthwise": "#2E9E6A",
    "pointwise": "#F28E2B", "grouped_pointwise": "#B07CC6", "fc": "#E15759", "pool": "#9C755F", "add": "#A0A4AB",
    "concat": "#D9A21B", "shuffle": "#4DB6AC", "shift": "#FF9DA7", "act": "#C9CDD3",
    "bn": "#C9CDD3", "input": "#D5D8DD", "mul": "#76B7B2", "slice": "#BAB0AC",
}

FONT = "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
INK, MUTED, GRID = "#1F2430", "#6B7280", "#E8EAF0"


def quoted(value) -> str:
    """A value from the browser, quoted in a message: at most MAX_QUOTED_CHARS characters."""
    text = repr(value)
    limit = L.MAX_QUOTED_CHARS
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def family_color(name: str, index: int = 0) -> str:
    return FAMILY_COLORS.get(name) or _EXTRA_COLORS[index % len(_EXTRA_COLORS)]


# -- numbers -----------------------------------------------------------------------------------
def fmt_count(v) -> str:
    """300774272 -> '300.8M' (archcalc's report units)."""
    return human_count(v)


def fmt_bytes(v) -> str:
    """6021120 -> '6.02 MB' (decimal units, as the MobileNetV2 paper's Table 3)."""
    return human_bytes(v)


def fmt_exact(v) -> str:
    """Exact integers with separators; an idealised (rounding: none) Fraction as a decimal."""
    if isinstance(v, Fraction) and v.denominator != 1:
        return f"{float(v):,.1f}"
    return f"{int(v):,}"


def plain(v):
    """An exact number for JSON / plotting: ints stay ints, other Fractions become floats."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else float(v)
    return v


def width_text(value) -> str:
    """A slider's float (0.35000000000000003) -> the exact decimal it stands for ('0.35'),
    snapped to 0.01 and clamped to [0.1, 2.0]."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = 1.0
    if not math.isfinite(v):
        v = 1.0
    v = min(max(v, WIDTH_MIN), WIDTH_MAX)
    return decimal(Fraction(round(v * 100), 100))


def decimal(x) -> str:
    from archcalc.design.grid import decimal_text
    return decimal_text(Fraction(x))


def resolution_value(value, default: int = 224) -> int:
    try:
        v = int(round(float(value)))
    except (TypeError, ValueError, OverflowError):
        v = default
    return min(max(v, RES_MIN), RES_MAX)


def sets_key(sets: Mapping[str, Any] | None) -> tuple:
    return tuple(sorted((str(k), str(v)) for k, v in (sets or {}).items()
                        if v is not None and str(v).strip() != ""))


# -- the spec catalog --------------------------------------------------------------------------
@dataclass(frozen=True)
class CatalogEntry:
    key: str            # the file name, e.g. "mobilenet_v2.yaml": what the browser names
    path: str           # absolute path (never sent to the browser)
    name: str           # the spec's `name:`
    source: str
    params: tuple       # ParamDecl
    resolution: int
    color: str
    spec_hash: str


class Catalog:
    """The spec files directly inside --specs. A browser request names a spec by its file name;
    anything not in this listing is refused, so nothing outside --specs is ever read."""

    def __init__(self, specs_dir):
        self.dir = Path(specs_dir).expanduser().resolve()
        self.entries: dict[str, CatalogEntry] = {}
        self.errors: dict[str, str] = {}
        if not self.dir.is_dir():
            raise archcalc.OptionError(f"--specs: not a directory: {specs_dir}")
        files = sorted(p for p in self.dir.iterdir()
                       if p.suffix.lower() in (".yaml", ".yml") and p.is_file())
        for i, p in enumerate(files):
            try:
                spec = archcalc.load_spec(str(p))
                self.entries[p.name] = CatalogEntry(
                    key=p.name, path=str(p), name=spec.name, source=spec.source,
                    params=tuple(spec.params), resolution=spec.resolution,
                    color=family_color(spec.name, i),
                    spec_hash=hashlib.sha256(p.read_bytes()).hexdigest())
            except archcalc.ArchcalcError as err:
                self.errors[p.name] = self.scrub(str(err))
            except Exception as err:  # noqa: BLE001  (one broken file never stops the server)
                self.errors[p.name] = (f"{p.name}: archcalc could not load it "
                                       f"({type(err).__name__}: {self.scrub(str(err))[:200]})")
            if p.name in self.errors:
                log(f"skipped a spec that does not load: {self.errors[p.name]}")

    def scrub(self, message: str) -> str:
        """A message for the browser: the specs folder's path removed (file names stay)."""
        folder = str(self.dir)
        return str(message).replace(folder + os.sep, "").replace(folder, self.dir.name)

    def path(self, key: str) -> str:
        entry = self.entries.get(key)
        if entry is None:
            raise archcalc.OptionError(f"no spec named {quoted(key)} in the specs folder")
        return entry.path

    def key_for_path(self, path) -> str | None:
        try:
            p = Path(path).resolve()
        except OSError:
            return None
        for e in self.entries.values():
            if Path(e.path) == p:
                return e.key
        return None

    def options(self) -> list[dict]:
        return [{"label": f"{e.name}  ·  {e.key}", "value": f"file:{e.key}"}
                for e in self.entries.values()]


# -- user specs (pasted or uploaded) -----------------------------------------------------------
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
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# -- per-layer costs, lambdified ---------------------------------------------------------------
LAYER_METRICS_ALL = ("params", "bn_params", "madds", "elementwise_ops", "memory_bytes",
                     "live_bytes", "live_bytes_streamed")


def _exact_printer():
    """sympy's Python code printer, with rationals printed as Fractions (never floats)."""
    from sympy.printing.pycode import PythonCodePrinter

    class ExactPrinter(PythonCodePrinter):
        def _print_Rational(self, e):
            return f"Fraction({int(e.p)}, {int(e.q)})"

        _print_Half = _print_Rational

    return ExactPrinter({"fully_qualified_modules": False, "inline": True,
                         "allow_unknown_functions": True})


class LayerEvaluator:
    """Every op's costs (params, MAdds, memory, live sets, output shape) at any (width,
    resolution), from the spec's symbolic CostTable lambdified once (the style guide: "the
    dashboard and sweeps must use lambdify").

    The design engine's `CompiledForms` evaluates the *totals* over grids; the designer needs
    every row at one point, so this is the per-row counterpart (a minimal one, kept here until
    the engine offers it): each maximal function application in the closed forms (a channel
    count `make_divisible(16*alpha, 8, 8)`, a spatial size `ceiling(r/32)`, `Max(1, alpha)`)
    becomes an atom computed once per point with archcalc.rounding (exact: alpha and r are
    Fractions there), and every row is then an integer polynomial in the atoms: one generated
    Python function of a few thousand int operations (0.1 to 0.6 ms for the zoo).

    `at()` returns None where the closed forms do not apply, so the caller compiles that point
    with `archcalc.evaluate` (which also raises the proper SpecError): where a structural
    guard fires (residual adds decided on the actual widths) or where the spec cannot be built
    (the design engine's `CompiledForms.valid_points`, the checks a concrete compile makes).
    """

    def __init__(self, spec, convention="paper", dtype="fp32"):
        import sympy

        from archcalc import rounding, symbolic
        from archcalc.design.engine import CompiledForms
        conv = archcalc.convention_named(convention)
        graph = archcalc.compile_graph(spec, symbolic=True)
        table = archcalc.analyze(graph, conv, dtype)
        self.spec, self.convention, self.dtype = spec, conv, dtype
        self._validity = CompiledForms(table, ["madds"], graph)
        self.names = [(r.name, r.layer, r.block, r.op, r.label) for r in table.rows]
        atoms: dict = {}
        memo: dict = {}
        Application = sympy.core.function.Application

        def strip(e):
            if not isinstance(e, sympy.Basic):
                return sympy.sympify(e)
            out = memo.get(e)
            if out is None:
                if e.is_Atom:
                    out = e
                elif isinstance(e, Application):
                    out = atoms.get(e)
                    if out is None:
                        out = atoms[e] = sympy.Symbol(f"_atom{len(atoms)}")
                else:
                    out = e.func(*[strip(a) for a in e.args])
                memo[e] = out
            return out

        exprs = []
        for row in table.rows:
            exprs.extend(strip(getattr(row, m)) for m in LAYER_METRICS_ALL)
            exprs.extend(strip(v) for v in row.output_shape)
        namespace = {"make_divisible": rounding.make_divisible, "truncate": rounding.truncate,
                     "round_half_even": rounding.round_half_even, "Fraction": Fraction,
                     "math": math}
        printer = _exact_printer()
        a, r = symbolic.alpha, symbolic.r
        self._atoms = sympy.lambdify((a, r), list(atoms), modules=[namespace], printer=printer,
                                     docstring_limit=0)
        self._rows = sympy.lambdify((a, r, *atoms.values()), exprs, modules=[namespace],
                                    printer=printer, docstring_limit=0)
        self._guards = [sympy.lambdify((a,), g, modules=[namespace], printer=printer,
                                       docstring_limit=0) for g in table.guards]
        self._stride = len(LAYER_METRICS_ALL) + 3

    def at(self, width, resolution: int):
        """The exact CostTable at (width, resolution), or None where the caller must compile."""
        from archcalc.cost import CostTable, LayerCost, flops_from_madds
        w = Fraction(str(width))
        res = int(resolution)
        if any(g(w) for g in self._guards):
            return None
        if not bool(self._validity.valid_points([w], [res])[0]):
            return None
        vals = self._rows(w, res, *self._atoms(w, Fraction(res)))
        vals = [v if type(v) is int else plain(v) for v in vals]
        k = self._stride
        rows = []
        for i, (name, layer, block, op, label) in enumerate(self.names):
            v = vals[i * k:(i + 1) * k]
            rows.append(LayerCost(name, layer, block, op, label, tuple(v[7:10]), v[0], v[1],
                                  v[2], v[3], v[4], v[5], v[6]))
        madds = sum(x.madds for x in rows)
        totals = {
            "params": sum(x.params for x in rows), "bn_params": sum(x.bn_params for x in rows),
            "madds": madds, "flops": flops_from_madds(madds),
            "elementwise_ops": sum(x.elementwise_ops for x in rows),
            "activation_bytes": sum(x.memory_bytes for x in rows),
            "peak_memory_bytes": max(x.live_bytes for x in rows),
            "peak_memory_bytes_streamed": max(x.live_bytes_streamed for x in rows),
        }
        return CostTable(spec=self.spec, width=w, resolution=res, convention=self.convention,
                         dtype=self.dtype, symbolic=False, rows=tuple(rows), totals=totals)


# -- the workspace -----------------------------------------------------------------------------
class Workspace:
    """The dashboard's state: catalog, caches, user specs, results database."""

    def __init__(self, specs_dir, db_path=None, *, sandbox=None, wait_for_compile=False):
        from .trust import published_sets
        self.catalog = Catalog(specs_dir)
        self.wait_for_compile = wait_for_compile
        self.db_path = db_path
        self._lock = threading.RLock()
        # every cache is bounded: a browser can ask for any parameter value or convention
        self._specs = LRU(L.DASHBOARD_CACHE_SPECS)      # (source, sets, convention) -> NetworkSpec
        self._tables = LRU(L.DASHBOARD_CACHE_TABLES, lambda t: len(t.rows),
                           L.DASHBOARD_CACHE_TABLE_ROWS)  # (spec key, width, res, dtype) -> table
        self._forms = LRU(L.DASHBOARD_CACHE_FORMS)      # (spec key, dtype) -> CompiledForms
        self._formula_text = LRU(L.DASHBOARD_CACHE_FORMULA_TEXT)   # -> {"text":..} | {"error":..}
        self._user: OrderedDict = OrderedDict()         # sha -> UserSpec
        self._checked = LRU(L.DASHBOARD_CACHE_CHECKS)   # (sha or source, sets, conv) -> CheckResult
        self._frontier = LRU(len(CONVENTIONS))          # convention -> points
        self._evaluators = LRU(L.DASHBOARD_CACHE_EVALUATORS)   # (spec key, dtype) -> evaluator
        # heavy work on fixed pools with bounded queues (dashboard/bounded.py)
        self.work = WorkerPool("compute", L.DASHBOARD_WORKERS, L.DASHBOARD_WORK_QUEUE,
                               L.DASHBOARD_MAX_WAIT_S, L.DASHBOARD_ADMIT_WAIT_S)
        self.children = WorkerPool("sandbox", L.DASHBOARD_MAX_CHILDREN, L.DASHBOARD_CHILD_QUEUE,
                                   L.DASHBOARD_MAX_WAIT_S, L.DASHBOARD_ADMIT_WAIT_S)
        self.published = published_sets(self.catalog)   # key -> parameter sets of its points
        if sandbox is None:
            from . import sandbox as sandbox_module
            sandbox = sandbox_module
        self.sandbox = sandbox

    # -- specs ---------------------------------------------------------------------------------
    def spec_key(self, source: str, sets=None, convention: str = "paper") -> tuple:
        if convention not in CONVENTIONS:
            raise archcalc.OptionError(f"unknown convention {quoted(convention)}")
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
            found = self._specs.get(key)
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
            raise archcalc.OptionError(f"unknown spec source {quoted(source)}")
        with self._lock:
            self._specs[key] = spec
        return spec

    def trusted(self, source: str, sets=None) -> bool:
        """Whether the server may compile this configuration itself: a zoo file with its
        default parameters, values from a declared list of choices, or the parameters of one
        of its published points. Anything else (a pasted spec, a new value) is untrusted."""
        from .trust import trusted_values
        kind, _, ident = source.partition(":")
        entry = self.catalog.entries.get(ident) if kind == "file" else None
        return entry is not None and trusted_values(entry, sets_key(sets),
                                                    self.published.get(ident, ()))

    def scrub(self, message) -> str:
        return self.catalog.scrub(str(message))

    def table(self, source: str, width, resolution, convention="paper", dtype="fp32", sets=None):
        """The exact CostTable at one point (memoised). A zoo configuration is read off its
        lambdified evaluator when that is ready (the slider's path: no pool, no child);
        every other point is costed with archcalc.evaluate on the `work` pool, an untrusted
        configuration only after the sandbox has checked its size."""
        key = (self.spec_key(source, sets, convention), str(width), str(resolution), dtype)
        with self._lock:
            t = self._tables.get(key)
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
                t = ev.at(width, resolution)
        if t is None:
            try:
                t = self.work.call(("table",) + key, lambda: archcalc.evaluate(
                    spec, width, resolution, convention=convention, dtype=dtype))
            except Busy:
                raise
            except archcalc.ArchcalcError as err:
                raise archcalc.OptionError(self.scrub(str(err))) from None
        with self._lock:
            self._tables[key] = t
        return t

    def layer_evaluator(self, source: str, sets=None, convention="paper", dtype="fp32",
                        wait: bool = True):
        """The lambdified per-layer evaluator of a zoo configuration (None for any other),
        built once on the `work` pool. With wait=False the build is queued (skipped when the
        pool is full) and None returned until it is ready (the caller costs the point
        meanwhile), so choosing a spec never blocks a slider."""
        key = (self.spec_key(source, sets, convention), dtype)
        with self._lock:
            ev = self._evaluators.get(key)
        if ev is not None:
            return ev or None
        if not self.trusted(source, sets):
            return None

        def build():
            with self._lock:
                done = self._evaluators.get(key)
            if done is not None:
                return done
            try:
                made = LayerEvaluator(self.spec(source, sets, convention), convention, dtype)
            except Exception as err:  # noqa: BLE001  (fall back to archcalc.evaluate)
                log(f"no lambdified evaluator for {source}: {type(err).__name__}: {err}")
                made = False
            with self._lock:
                self._evaluators[key] = made
            return made

        if wait:
            return self.work.call(("evaluator",) + key, build) or None
        self.work.try_submit(("evaluator",) + key, build)
        return None

    @staticmethod
    def check_dtype(dtype: str) -> str:
        if dtype not in DTYPES:
            raise archcalc.OptionError(f"unknown dtype {quoted(dtype)} "
                                       f"(known: {', '.join(DTYPES)})")
        return dtype

    def spec_path(self, source: str) -> str | None:
        kind, _, ident = source.partition(":")
        return self.catalog.entries[ident].path if kind == "file" and ident in self.catalog.entries else None

    def forms(self, source: str, convention="paper", dtype="fp32", sets=None):
        """The design engine's compiled closed forms of a catalog spec (cached)."""
        from archcalc.design.engine import compile_forms
        key = (self.spec_key(source, sets, convention), dtype)
        with self._lock:
            f = self._forms.get(key)
        if f is None:
            f = compile_forms(self.catalog.path(source.partition(":")[2]), convention=convention,
                              dtype=dtype, sets=dict(key[0][1]) or None)
            with self._lock:
                self._forms[key] = f
        return f

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
            found = self._checked.get(key)
        if found is not None:
            return found
        result = self.children.call(("check",) + key, run)
        if not result.transient:
            with self._lock:
                self._checked[key] = result
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
        filename = _safe_filename(filename)
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
        filename = _safe_filename(filename)
        sha = text_sha(text)
        with self._lock:
            self._user[sha] = UserSpec(sha, result.name, filename, text, result.ops)
            self._user.move_to_end(sha)
            while len(self._user) > MAX_USER_SPECS:
                old, _ = self._user.popitem(last=False)
                for k in [k for k in self._specs if k[0] == f"user:{old}"]:
                    del self._specs[k]
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


def _safe_filename(name) -> str:
    base = os.path.basename(str(name or "pasted"))[:80]
    return "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in base) or "pasted"


# -- designer ----------------------------------------------------------------------------------
def _primary_op(kinds: list, labels: list) -> str:
    """The op type a layer is coloured by: its first op that is not BN or an activation (a
    grouped 1x1 conv, ShuffleNet's, gets its own colour)."""
    for op, label in zip(kinds, labels):
        if op not in ("bn", "act"):
            if op == "pointwise" and " g" in label:
                return "grouped_pointwise"
            return op
    return kinds[0] if kinds else "act"


def shape_text(shape) -> str:
    return "×".join(str(plain(v)) if not isinstance(v, float) else f"{v:.4g}" for v in shape)


def layer_rows(table) -> list[dict]:
    """One dict per layer (a conv with its BN and activation), in network order: name, block,
    stage (the spec row it comes from), primary op kind, op labels, output shape, params,
    MAdds, bytes materialised, live bytes (naive, streamed; the largest over its ops)."""
    out: list[dict] = []
    index: dict = {}
    for row in table.rows:
        g = index.get(row.layer)
        if g is None:
            parts = row.layer.split(".")
            g = index[row.layer] = {
                "name": row.layer, "block": row.block, "stage": ".".join(parts[:2]),
                "kinds": [], "ops": [], "params": 0, "madds": 0, "memory_bytes": 0,
                "live_bytes": row.live_bytes, "live_bytes_streamed": row.live_bytes_streamed}
            out.append(g)
        g["kinds"].append(row.op)
        g["ops"].append(row.label)
        g["shape"] = row.output_shape
        g["params"] += row.params
        g["madds"] += row.madds
        g["memory_bytes"] += row.memory_bytes
        g["live_bytes"] = max(g["live_bytes"], row.live_bytes)
        g["live_bytes_streamed"] = max(g["live_bytes_streamed"], row.live_bytes_streamed)
    for g in out:
        g["kind"] = _primary_op(g.pop("kinds"), g["ops"])
    return out


def _base_layout(**extra) -> dict:
    layout = {
        "font": {"family": FONT, "size": 12, "color": INK},
        "paper_bgcolor": "#FFFFFF", "plot_bgcolor": "#FFFFFF",
        "margin": {"l": 70, "r": 20, "t": 40, "b": 50},
        "hoverlabel": {"bgcolor": "#FFFFFF", "bordercolor": "#D0D4DC",
                       "font": {"family": FONT, "size": 12, "color": INK}},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom",
                   "font": {"size": 11}},
    }
    layout.update(extra)
    return layout


def _axis(title: str, **extra) -> dict:
    ax = {"title": {"text": title, "font": {"size": 12, "color": MUTED}},
          "gridcolor": GRID, "zerolinecolor": GRID, "linecolor": "#C9CDD3",
          "tickfont": {"size": 11, "color": MUTED}, "automargin": True}
    ax.update(extra)
    return ax


def empty_figure(message: str = "", height: int = 320) -> dict:
    return {"data": [], "layout": _base_layout(
        height=height, xaxis={"visible": False}, yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "xref": "paper", "yref": "paper",
                      "x": 0.5, "y": 0.5, "font": {"size": 14, "color": MUTED}}] if message else [])}


def _stage_shapes(layers, yref="paper") -> tuple[list, list]:
    """Alternate light bands per spec row (stage) and section names above the plot."""
    shapes, notes = [], []
    start, band = 0, 0
    n = len(layers)
    for i in range(1, n + 1):
        if i == n or layers[i]["stage"] != layers[start]["stage"]:
            if band % 2 == 1:
                shapes.append({"type": "rect", "xref": "x", "yref": yref, "x0": start - 0.5,
                               "x1": i - 0.5, "y0": 0, "y1": 1, "line": {"width": 0},
                               "fillcolor": "rgba(31,36,48,0.035)", "layer": "below"})
            band += 1
            start = i
    start = 0
    for i in range(1, n + 1):
        if i == n or layers[i]["block"] != layers[start]["block"]:
            if (i - start) / max(n, 1) >= 0.06:
                notes.append({"text": layers[start]["block"], "xref": "x", "yref": "paper",
                              "x": (start + i - 1) / 2, "y": 1.0, "yanchor": "bottom",
                              "showarrow": False, "font": {"size": 11, "color": MUTED}})
            if start > 0:
                shapes.append({"type": "line", "xref": "x", "yref": yref, "x0": start - 0.5,
                               "x1": start - 0.5, "y0": 0, "y1": 1,
                               "line": {"width": 1, "color": "#C9CDD3", "dash": "dot"}})
            start = i
    return shapes, notes


LAYER_METRICS = (("madds", "MAdds", fmt_count), ("params", "params", fmt_count),
                 ("memory_bytes", "output (bytes)", fmt_bytes))


def layer_figure(layers: list[dict], dtype: str = "fp32") -> dict:
    """Per-layer bars of MAdds, params and output memory, stacked, coloured by op type."""
    kinds = [k for k in OP_COLORS if any(g["kind"] == k for g in layers)]
    n_rows = len(LAYER_METRICS)
    gap = 0.06
    h = (1 - gap * (n_rows - 1)) / n_rows
    data = []
    layout = _base_layout(height=560, bargap=0.15, barmode="overlay",
                          margin={"l": 80, "r": 20, "t": 64, "b": 50})
    layout["legend"].update(y=1.06)
    x_idx = {id(g): i for i, g in enumerate(layers)}
    for r, (metric, title, fmt) in enumerate(LAYER_METRICS):
        axis = "" if r == 0 else str(r + 1)
        top = 1 - r * (h + gap)
        layout[f"yaxis{axis}"] = _axis(title if metric != "memory_bytes" else f"output ({dtype}, bytes)",
                                       domain=[max(top - h, 0), top], tickformat="~s",
                                       rangemode="tozero", anchor="x",
                                       **({"ticksuffix": "B"} if metric == "memory_bytes" else {}))
        for kind in kinds:
            sel = [g for g in layers if g["kind"] == kind]
            data.append({
                "type": "bar", "name": OP_NAMES.get(kind, kind), "legendgroup": kind,
                "showlegend": r == 0, "xaxis": "x", "yaxis": f"y{axis}",
                "x": [x_idx[id(g)] for g in sel], "y": [plain(g[metric]) for g in sel],
                "marker": {"color": OP_COLORS.get(kind, "#999999"), "line": {"width": 0}},
                "customdata": [[g["name"], " + ".join(dict.fromkeys(g["ops"])), shape_text(g["shape"]),
                                fmt(g[metric])] for g in sel],
                "hovertemplate": "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>output "
                                 "%{customdata[2]}<br>" + title + ": %{customdata[3]}<extra></extra>",
            })
    layout["xaxis"] = _axis("layer (network order)", anchor=f"y{n_rows}", showgrid=False,
                            range=[-0.5, len(layers) - 0.5], zeroline=False)
    shapes, notes = _stage_shapes(layers)
    layout["shapes"] = shapes
    layout["annotations"] = [dict(a, y=1.0) for a in notes]
    # annotations above the top panel would collide with the legend: put them inside instead
    for a in layout["annotations"]:
        a.update(y=0.995, yanchor="top")
    return {"data": data, "layout": layout}


def memory_figure(layers: list[dict], dtype: str = "fp32") -> dict:
    """The live activation memory while each layer runs: naive schedule vs MobileNetV2 Sec. 5.1
    streaming (the expanded tensors of a block computed in slices, never materialised)."""
    x = list(range(len(layers)))
    naive = [plain(g["live_bytes"]) for g in layers]
    streamed = [plain(g["live_bytes_streamed"]) for g in layers]
    names = [g["name"] for g in layers]
    custom = [[g["name"], fmt_bytes(g["live_bytes"]), fmt_bytes(g["live_bytes_streamed"]),
               shape_text(g["shape"])] for g in layers]
    hover = ("<b>%{customdata[0]}</b><br>output %{customdata[3]}<br>naive: %{customdata[1]}"
             "<br>streamed: %{customdata[2]}<extra></extra>")
    data = [
        {"type": "scatter", "mode": "lines", "name": "naive schedule (whole tensors)", "x": x,
         "y": naive, "line": {"shape": "hv", "color": "#F28E2B", "width": 1.5},
         "fill": "tozeroy", "fillcolor": "rgba(242,142,43,0.18)", "customdata": custom,
         "hovertemplate": hover},
        {"type": "scatter", "mode": "lines", "name": "streamed (MobileNetV2 Sec. 5.1)", "x": x,
         "y": streamed, "line": {"shape": "hv", "color": "#3A6EA5", "width": 2},
         "fill": "tozeroy", "fillcolor": "rgba(58,110,165,0.35)", "customdata": custom,
         "hoverinfo": "skip"},
    ]
    notes = []
    if layers:
        for series, label, color, ay in ((naive, "naive peak", "#C4661A", -28),
                                         (streamed, "streamed peak", "#2B5680", -28)):
            i = max(range(len(series)), key=series.__getitem__)
            notes.append({"x": i, "y": series[i], "xref": "x", "yref": "y",
                          "text": f"{label} {fmt_bytes(series[i])}<br><span style='font-size:10px'>"
                                  f"{names[i]}</span>",
                          "showarrow": True, "arrowhead": 0, "arrowcolor": color, "ax": 30,
                          "ay": ay, "font": {"size": 11, "color": color}, "align": "left",
                          "bgcolor": "rgba(255,255,255,0.85)"})
    shapes, block_notes = _stage_shapes(layers)
    for a in block_notes:
        a.update(y=0.995, yanchor="top")
    layout = _base_layout(
        height=330, hovermode="x unified" if False else "closest",
        xaxis=_axis("layer (network order)", showgrid=False, range=[-0.5, len(layers) - 0.5],
                    zeroline=False),
        yaxis=_axis(f"live activations ({dtype}, bytes)", tickformat="~s", ticksuffix="B",
                    rangemode="tozero"),
        shapes=shapes, annotations=notes + block_notes,
        margin={"l": 80, "r": 20, "t": 40, "b": 50})
    return {"data": data, "layout": layout}


CARD_METRICS = (
    ("params", "Parameters", fmt_count, "weights + biases"),
    ("madds", "MAdds", fmt_count, "multiply-adds per image"),
    ("peak_memory_bytes", "Peak memory", fmt_bytes, "naive schedule"),
    ("peak_memory_bytes_streamed", "Peak memory, streamed", fmt_bytes, "MobileNetV2 Sec. 5.1"),
    ("activation_bytes", "All activations", fmt_bytes, "sum of every tensor"),
)


def cards(table) -> list[dict]:
    """The headline totals: a readable value, the exact value and what it counts."""
    t = table.totals
    out = []
    for key, label, fmt, note in CARD_METRICS:
        if key == "params":
            note = "weights + biases" + (" + BN" if table.convention.bn_params else "")
        exact = fmt_exact(t[key]) + (" bytes" if "bytes" in key else "")
        out.append({"key": key, "label": label, "value": fmt(t[key]), "exact": exact, "note": note})
    return out


def designer_payload(ws: Workspace, source: str, width, resolution, convention="paper",
                     dtype="fp32", sets=None) -> dict:
    """Everything the designer shows at one point, as plain data (never raises for bad input:
    an error becomes {"error": one line})."""
    w = width_text(width)
    base = {"width": w, "resolution": None, "error": None, "busy": False, "cards": [],
            "published": None, "layers": 0, "ops": 0, "spec_name": "", "flops": ""}
    try:
        ws.check_dtype(dtype)
        sets = ws.filter_sets(source, sets)
        spec = ws.spec(source, sets, convention)
        r = resolution_value(resolution, spec.resolution)
        base["resolution"] = r
        base["spec_name"] = spec.name
        table = ws.table(source, w, r, convention, dtype, sets)
    except archcalc.ArchcalcError as err:
        base["error"] = ws.scrub(str(err))
        base["busy"] = isinstance(err, Busy)
        base["layer_figure"] = empty_figure("no costs at this point")
        base["memory_figure"] = empty_figure("no memory profile at this point", 330)
        return base
    layers = layer_rows(table)
    base.update(
        cards=cards(table), layers=len(layers), ops=len(table.rows),
        flops=f"FLOPs = 2 × MAdds = {fmt_count(table.totals['flops'])}",
        layer_figure=layer_figure(layers, dtype), memory_figure=memory_figure(layers, dtype),
        published=published_text(ws, source, table), madds_exact=table.totals["madds"],
        convention=table.convention.describe(),
        point=f"{spec.name} at width {w}, resolution {r}×{r}"
              + "".join(f", {k}={v}" for k, v in sorted(sets.items())))
    return base


def published_text(ws: Workspace, source: str, table) -> str | None:
    """The published top-1 / Pixel-1 latency at the table's point, as `archcalc compare`
    reports it (archcalc.compare.published_point's rules: the first row of the spec's
    published file at this width, resolution and parameter values that has each metric),
    looked up in the frontier's already-loaded points instead of re-reading the YAML file on
    every slider move."""
    kind, _, key = source.partition(":")
    if kind != "file":
        return None
    try:
        points, _ = frontier_points(ws, "paper", with_measured=False)
    except Busy:            # the frontier is not computed yet and the server is busy
        return None
    params = {p.name: p.value for p in table.spec.params}
    w, r = decimal(table.width), table.resolution
    pub: dict = {}
    sources: list = []
    for p in sorted(points, key=lambda p: p["order"]):
        if p["spec"] != key or p["width"] != w or p["resolution"] != r:
            continue
        if any(str(params.get(k)) != str(v) for k, v in p["sets"].items()):
            continue
        for metric, field_ in (("top1", "top1"), ("latency_ms", "pixel1_ms")):
            if metric not in pub and p.get(field_) is not None:
                pub[metric] = p[field_]
                if p["source"] not in sources:
                    sources.append(p["source"])
    if not pub:
        return None
    parts = []
    if "top1" in pub:
        parts.append(f"{pub['top1']:.1f}% top-1")
    if "latency_ms" in pub:
        parts.append(f"{pub['latency_ms']:g} ms on a Pixel 1")
    return f"Published at this point: {', '.join(parts)} ({'; '.join(sources)})"


# -- closed forms ------------------------------------------------------------------------------
def formula_text(ws: Workspace, source: str, convention="paper", dtype="fp32", sets=None) -> dict:
    """Readable closed forms of the totals (archcalc.design.formula) and the idealised
    polynomials, computed once per spec, convention, dtype and parameter values in a sandbox
    child (sympy can take seconds of CPU: never in the server). Returns {"text": ...,
    "idealised": ...} or {"error": ...} (a busy server's error is not remembered)."""
    ws.check_dtype(dtype)
    sets = ws.filter_sets(source, sets)
    key = (ws.spec_key(source, sets, convention), dtype)
    with ws._lock:
        found = ws._formula_text.get(key)
    if found is not None:
        return found
    kind, _, ident = source.partition(":")
    try:
        if kind == "file":      # the browser sees the file's name, never the server's folders
            text, label = Path(ws.catalog.path(ident)).read_text(encoding="utf-8"), ident
        else:
            user = ws.user_spec(ident)
            text, label = user.text, f"<{user.filename}>"
        out = ws.children.call(("forms",) + key, lambda: ws.sandbox.run(
            "forms", {"text": text, "path": label, "sets": sets, "convention": convention,
                      "dtype": dtype}, timeout=FORMS_TIMEOUT_S))
        if not out.get("ok"):
            out = {"error": ws.scrub(out.get("message", "closed forms unavailable")),
                   "transient": bool(out.get("transient"))}
    except Busy as err:
        return {"error": str(err)}
    except archcalc.ArchcalcError as err:
        out = {"error": ws.scrub(str(err))}
    out = {k: v for k, v in out.items() if k != "ok"}
    for k in ("text", "idealised"):
        if k in out and len(out[k]) > MAX_FORM_CHARS:
            out[k] = out[k][:MAX_FORM_CHARS] + (f"\n... ({len(out[k]):,} characters; the whole "
                                                 "text: archcalc formula SPEC)")
    if not out.pop("transient", False):
        with ws._lock:
            ws._formula_text[key] = out
    return out


def compute_formulas(spec, convention="paper", dtype="fp32", sets=None) -> dict:
    """Formula text of one spec (path or NetworkSpec): the design engine's readable forms."""
    from archcalc.design import formula
    from archcalc.report.formula import render_formulas, render_idealised
    sets = dict(sets or {}) or None
    f = formula.formulas(spec, convention=convention, dtype=dtype, sets=sets)
    out = {"text": render_formulas(f)}
    try:
        out["idealised"] = render_idealised(
            formula.idealised(spec, convention=convention, dtype=dtype, sets=sets))
    except (archcalc.ArchcalcError, ValueError, TypeError) as err:   # idealised is a bonus
        out["idealised"] = f"(no idealised form: {err})"
    return out


# -- frontier ----------------------------------------------------------------------------------
X_METRICS = {
    "madds": ("MAdds (multiply-adds per image, log scale)", "MAdds", fmt_count),
    "params": ("parameters", "params", fmt_count),
    "peak_memory_bytes": ("peak activation memory, naive schedule (bytes, fp32)",
                          "peak memory", fmt_bytes),
    "peak_memory_bytes_streamed": ("peak activation memory, streamed (bytes, fp32; MobileNetV2 "
                                   "Sec. 5.1)", "peak memory (streamed)", fmt_bytes),
    "pixel1_ms": ("latency on a Pixel 1 phone (ms, published)", "Pixel 1 latency",
                  lambda v: f"{v:g} ms"),
}
COST_METRICS = ("params", "madds", "flops", "peak_memory_bytes", "peak_memory_bytes_streamed")


def _measured_label(row) -> str:
    dev = row.get("device", "cpu")
    hw = row.get("gpu") if dev != "cpu" and row.get("gpu") not in (None, "", "none") else row.get("cpu")
    return f"{dev}: {hw} · {row.get('dtype')} · batch {row.get('batch')}"


def _compute_frontier(ws: Workspace, convention: str) -> tuple[list[dict], list[str]]:
    from archcalc.design.frontier import load_points, published_for
    with ws._lock:
        cached = ws._frontier.get(convention)
    if cached is not None:
        return cached
    notes: list[str] = []
    raw = []
    for key, entry in ws.catalog.entries.items():
        f = published_for(entry.path)
        if f is None:
            continue
        try:
            pts = load_points(f)
        except archcalc.ArchcalcError as err:
            notes.append(ws.scrub(str(err)))
            continue
        for p in pts:
            spec_key = ws.catalog.key_for_path(p["spec"]) if p.get("spec") else key
            if spec_key is None or "width" not in p or p.get("top1") is None:
                continue
            sets = p.get("set") if isinstance(p.get("set"), dict) else {}
            raw.append((spec_key, {str(k): str(v) for k, v in sets.items()},
                        dict(p, order=len(raw))))
    groups: dict = {}
    for spec_key, sets, p in raw:
        groups.setdefault((spec_key, sets_key(sets)), []).append(p)
    points = []
    for (spec_key, skey), pts in groups.items():
        entry = ws.catalog.entries[spec_key]
        source = f"file:{spec_key}"
        try:
            forms = ws.forms(source, convention, "fp32", dict(skey))
            widths = [p["width"] for p in pts]
            res = [p.get("resolution", entry.resolution) for p in pts]
            values = forms.points(widths, res, COST_METRICS)
        except archcalc.ArchcalcError as err:
            notes.append(f"{entry.name}: {ws.scrub(str(err))}")
            continue
        for i, p in enumerate(pts):
            w = Fraction(p["width"])
            point = {
                "family": entry.name, "spec": spec_key, "source_id": source,
                "label": p.get("label", ""), "width": decimal(w), "resolution": int(res[i]),
                "sets": dict(skey), "top1": float(p["top1"]),
                "source": p.get("source", ""), "color": entry.color, "order": p["order"],
                **{m: plain(values[m][i]) for m in COST_METRICS}}
            if p.get("pixel1_ms") is not None:
                point["pixel1_ms"] = float(p["pixel1_ms"])
            points.append(point)
    for i, p in enumerate(points):
        p["id"] = i
    with ws._lock:
        ws._frontier[convention] = (points, notes)
    return points, notes


def frontier_points(ws: Workspace, convention: str = "paper", with_measured: bool = True
                    ) -> tuple[list[dict], list[str]]:
    """Every published point of every catalog spec, with archcalc's exact costs at its width,
    resolution and parameters (the design engine's compiled evaluator, once per spec and
    parameter combination), and measured latencies joined from the results database.
    Returns (points, notes)."""
    if convention not in CONVENTIONS:
        raise archcalc.OptionError(f"unknown convention {quoted(convention)}")
    with ws._lock:
        cached = ws._frontier.get(convention)
    if cached is None:      # once per convention, on the `work` pool (seconds of CPU)
        cached = ws.work.call(("frontier", convention), lambda: _compute_frontier(ws, convention))
    points, notes = cached
    notes = list(notes)
    if not with_measured:
        return points, notes
    # measured latencies change while the dashboard runs: joined on every call
    rows, note = ws.measured()
    if note:
        notes.append(note)
    points = [dict(p) for p in points]
    by_hash = {e.spec_hash: k for k, e in ws.catalog.entries.items()}
    for p in points:
        p["measured"] = {}
    index = {}
    for p in points:
        index.setdefault((p["spec"], p["width"], p["resolution"]), []).append(p)
    for row in rows:     # oldest first: a later measurement of the same key wins
        spec_key = by_hash.get(row.get("spec_hash"))
        if spec_key is None:
            continue
        try:
            w = decimal(Fraction(str(row["width"])))
        except (ValueError, ZeroDivisionError):
            continue
        for p in index.get((spec_key, w, int(row["resolution"])), []):
            row_sets = {str(k): str(v) for k, v in (row.get("sets") or {}).items()}
            if any(row_sets.get(k) != v for k, v in p["sets"].items()):
                continue
            p["measured"][_measured_label(row)] = float(row["median_s"]) * 1000.0
    return points, notes


def x_options(points) -> list[dict]:
    opts = [{"label": "MAdds", "value": "madds"}, {"label": "Parameters", "value": "params"},
            {"label": "Peak memory (naive)", "value": "peak_memory_bytes"},
            {"label": "Peak memory (streamed)", "value": "peak_memory_bytes_streamed"},
            {"label": "Pixel 1 latency (published)", "value": "pixel1_ms"}]
    labels = sorted({k for p in points for k in p.get("measured", {})})
    for label in labels:
        opts.append({"label": f"Measured latency ({label})", "value": f"measured:{label}"})
    if not labels:
        opts.append({"label": "Measured latency (no results database rows)",
                     "value": "measured:", "disabled": True})
    return opts


def x_value(p: dict, x: str):
    if x.startswith("measured:"):
        return p.get("measured", {}).get(x.partition(":")[2])
    return p.get(x)


def x_meta(x: str) -> tuple[str, str, Any]:
    if x.startswith("measured:"):
        label = x.partition(":")[2]
        return f"measured latency (ms, {label})", "measured latency", lambda v: f"{v:.2f} ms"
    title, short, fmt = X_METRICS.get(x, (x, x, str))
    if x == "madds":
        title = "MAdds (multiply-adds per image)"
    return title, short, fmt


def fronts(points, x: str) -> tuple[list[int], dict]:
    """Ids on the overall Pareto front (lower x, higher top-1) and on each family's front."""
    from archcalc.design.frontier import pareto_front
    have = [p for p in points if x_value(p, x) is not None]
    objs = [("x", "min"), ("top1", "max")]
    rows = [{"x": x_value(p, x), "top1": p["top1"]} for p in have]
    overall = [have[i]["id"] for i in pareto_front(rows, objs)]
    per_family: dict = {}
    for fam in dict.fromkeys(p["family"] for p in have):
        sub = [p for p in have if p["family"] == fam]
        idx = pareto_front([{"x": x_value(p, x), "top1": p["top1"]} for p in sub], objs)
        per_family[fam] = [sub[i]["id"] for i in idx]
    return overall, per_family


def _point_hover(p, x, fmt, short) -> str:
    parts = [f"<b>{p['label']}</b>",
             f"{p['family']} · width {p['width']} · {p['resolution']}×{p['resolution']}"
             + "".join(f" · {k}={v}" for k, v in sorted(p['sets'].items()))]
    parts.append(f"top-1 {p['top1']:.1f}%")
    parts.append(f"{short}: {fmt(x_value(p, x))}")
    if x != "madds":
        parts.append(f"MAdds: {fmt_count(p['madds'])}")
    if x != "params":
        parts.append(f"params: {fmt_count(p['params'])}")
    src = p.get("source") or ""
    if len(src) > 90:
        src = src[:87] + "..."
    parts.append(f"<span style='color:{MUTED}'>source: {src}</span>")
    parts.append(f"<span style='color:{MUTED}'>click to open in the designer</span>")
    return "<br>".join(parts)


def frontier_figure(points, x: str = "madds", log_x: bool = True,
                    show=("family", "overall")) -> dict:
    """Top-1 vs a cost for every published point: one colour per family, each family's Pareto
    front as a thin staircase and the overall front in black."""
    title, short, fmt = x_meta(x)
    have = [p for p in points if x_value(p, x) is not None]
    if not have:
        return empty_figure(f"no published point has a value for {short}", 560)
    overall, per_family = fronts(have, x)
    on_front = set(overall)
    data = []
    for fam in dict.fromkeys(p["family"] for p in have):
        sub = [p for p in have if p["family"] == fam]
        color = sub[0]["color"]
        if "family" in show:
            ids = set(per_family[fam])
            line = sorted((p for p in sub if p["id"] in ids), key=lambda p: (x_value(p, x), p["top1"]))
            data.append({"type": "scatter", "mode": "lines", "x": [x_value(p, x) for p in line],
                         "y": [p["top1"] for p in line], "legendgroup": fam, "showlegend": False,
                         "line": {"color": color, "width": 1.5, "shape": "hv"}, "opacity": 0.55,
                         "hoverinfo": "skip", "name": f"{fam} front"})
        data.append({
            "type": "scatter", "mode": "markers", "name": fam, "legendgroup": fam,
            "x": [x_value(p, x) for p in sub], "y": [p["top1"] for p in sub],
            "marker": {"color": color, "size": [13 if p["id"] in on_front and "overall" in show
                                                 else 9 for p in sub],
                       "line": {"color": ["#1F2430" if p["id"] in on_front and "overall" in show
                                          else "#FFFFFF" for p in sub], "width": 1.5},
                       "opacity": 0.92},
            "customdata": [[p["source_id"], p["width"], p["resolution"], p["sets"], p["id"]]
                           for p in sub],
            "text": [_point_hover(p, x, fmt, short) for p in sub],
            "hovertemplate": "%{text}<extra></extra>"})
    if "overall" in show:
        line = sorted((p for p in have if p["id"] in on_front), key=lambda p: (x_value(p, x), p["top1"]))
        data.append({"type": "scatter", "mode": "lines", "name": "Pareto front (all families)",
                     "x": [x_value(p, x) for p in line], "y": [p["top1"] for p in line],
                     "line": {"color": "#1F2430", "width": 2, "dash": "dot", "shape": "hv"},
                     "hoverinfo": "skip"})
    x_extra = {"type": "log" if log_x else "linear"}
    if log_x:
        x_extra["dtick"] = "D2"          # 1, 2, 5 per decade: readable tick labels
    if x in ("madds", "params"):
        x_extra["tickformat"] = "~s"
    elif x.startswith("peak_memory"):
        x_extra.update(tickformat="~s", ticksuffix="B")
    layout = _base_layout(
        height=580, hovermode="closest", clickmode="event",
        xaxis=_axis(title + (" · log scale" if log_x else ""), **x_extra),
        yaxis=_axis("ImageNet top-1 accuracy (%)", ticksuffix="%"),
        margin={"l": 70, "r": 30, "t": 60, "b": 60})
    layout["legend"]["itemsizing"] = "constant"
    return {"data": data, "layout": layout}


def front_table(points, x: str) -> list[dict]:
    """The overall Pareto front as table rows, cheapest first."""
    title, short, fmt = x_meta(x)
    have = [p for p in points if x_value(p, x) is not None]
    if not have:
        return []
    overall, _ = fronts(have, x)
    ids = set(overall)
    line = sorted((p for p in have if p["id"] in ids), key=lambda p: (x_value(p, x), p["top1"]))
    return [{"model": p["label"], "family": p["family"], "width": p["width"],
             "resolution": p["resolution"],
             "params": ", ".join(f"{k}={v}" for k, v in sorted(p["sets"].items())),
             "top1": f"{p['top1']:.1f}%", "x": fmt(x_value(p, x)), "MAdds": fmt_count(p["madds"]),
             "source": p["source"]} for p in line]


# -- compare -----------------------------------------------------------------------------------
DEFAULT_COMPARE = ("mobilenet_v1.yaml", "mobilenet_v2.yaml", "shufflenet_v1.yaml")


def compare_entries(ws: Workspace, slots, convention="paper", dtype="fp32") -> tuple[list, list]:
    """archcalc.compare entries for each filled slot {spec, width, resolution}; pasted specs
    are costed the same way. Returns (entries, errors)."""
    from archcalc.compare import Entry, Target, compare
    entries, errors = [], []
    for i, slot in enumerate(slots):
        source = (slot or {}).get("spec") if isinstance(slot, dict) else None
        if not source or not isinstance(source, str):
            continue
        try:
            w = width_text(slot.get("width") if slot.get("width") not in (None, "") else 1)
            kind, _, ident = source.partition(":")
            if kind == "file":
                base = ws.catalog.entries[ident].resolution if ident in ws.catalog.entries else 224
                r = resolution_value(slot.get("resolution") or base, base)
                path = ws.catalog.path(ident)
                entries.extend(ws.work.call(("compare", path, w, r, convention, dtype),
                                            lambda: compare([f"{path}@{w},{r}"], None, convention,
                                                            dtype)))
            else:
                spec = ws.spec(source, None, convention)        # checked in the sandbox
                r = resolution_value(slot.get("resolution") or spec.resolution, spec.resolution)
                entries.append(ws.work.call(None, lambda: _user_entry(spec, w, r, convention,
                                                                      dtype, Entry, Target)))
        except archcalc.ArchcalcError as err:
            errors.append(f"slot {i + 1}: {ws.scrub(str(err))}")
    return entries, errors


def _user_entry(spec, w, r, convention, dtype, Entry, Target):
    from archcalc.cost.memory import memory_by_resolution
    graph = archcalc.compile_graph(spec, w, r)
    table = archcalc.analyze(graph, convention, dtype)
    label = spec.name + ("" if w == "1" else f" {w}x") + ("" if r == spec.resolution else f" @{r}")
    return Entry(Target(spec.path, w, str(r)), label, table,
                 memory_by_resolution(graph, archcalc.DTYPE_BYTES[dtype]), None)


def compare_table(entries) -> dict:
    """Metrics per entry with ratios to the first (archcalc.report.compare.rows)."""
    from archcalc.report.compare import rows
    header = ["", *[e.label for e in entries]]
    body = []
    for row in rows(entries):
        first = row["values"][0]
        cells = []
        for i, v in enumerate(row["values"]):
            text = row["fmt"](v)
            ratio = ""
            if i > 0 and v is not None and first not in (None, 0):
                ratio = f"×{v / first:.2f}"
            cells.append({"value": text, "ratio": ratio,
                          "exact": fmt_exact(v) if isinstance(v, int) else ""})
        body.append({"metric": row["name"], "cells": cells})
    sources = sorted({e.published["source"] for e in entries if e.published})
    return {"header": header, "rows": body, "sources": sources}


def compare_memory(entries) -> dict:
    """The MobileNetV2 paper's Table 3 layout: per spatial size, the largest tensor that must
    be materialised (streamed model), channels and bytes, per entry."""
    from archcalc.report.compare import memory_rows
    table, maxima = memory_rows(entries)
    rows = [{"size": size, "cells": [None if c is None else {"channels": c[0], "bytes": c[1],
                                                              "text": f"{c[0]} ch · {fmt_bytes(c[1])}"}
                                     for c in cells]} for size, cells in table]
    return {"header": ["input size", *[e.label for e in entries]], "rows": rows,
            "max": [None if m is None else fmt_bytes(m[1]) for m in maxima]}


def compare_memory_figure(entries, dtype="fp32", colors=None) -> dict:
    from archcalc.report.compare import memory_rows
    table, _ = memory_rows(entries)
    sizes = [size for size, _ in table]
    data = []
    for j, e in enumerate(entries):
        color = (colors or {}).get(e.table.spec.name) or family_color(e.table.spec.name, j)
        ys = [cells[j][1] if cells[j] is not None else None for _, cells in table]
        data.append({"type": "bar", "name": e.label, "x": sizes, "y": ys,
                     "marker": {"color": color},
                     "customdata": [[e.label, fmt_bytes(v) if v else "—"] for v in ys],
                     "hovertemplate": "<b>%{customdata[0]}</b><br>%{x}: %{customdata[1]}<extra></extra>"})
    return {"data": data, "layout": _base_layout(
        height=360, barmode="group",
        xaxis=_axis("spatial size of the tensor (h × w)", type="category", categoryorder="array",
                    categoryarray=sizes),
        yaxis=_axis(f"largest tensor to materialise ({dtype}, bytes)", tickformat="~s",
                    ticksuffix="B"),
        margin={"l": 80, "r": 20, "t": 50, "b": 60})}


def compare_csv(entries) -> str:
    from archcalc.report.compare import render
    return render(entries, "csv", True)


# -- spec editor -------------------------------------------------------------------------------
def error_context(text: str, line: int | None, around: int = 3) -> list[dict]:
    """The lines around an error (1-based numbers), the faulty one marked."""
    if not line or not text:
        return []
    lines = text.splitlines()
    lo, hi = max(1, line - around), min(len(lines), line + around)
    return [{"number": i, "text": lines[i - 1][:200], "error": i == line} for i in range(lo, hi + 1)]


def decode_upload(contents: str | None) -> tuple[str | None, str | None]:
    """A dcc.Upload data URL -> (text, error). The size is checked before decoding."""
    import base64
    import binascii
    if not contents:
        return None, "nothing was uploaded"
    head, sep, data = contents.partition(",")
    if not sep:
        return None, "the upload is not a data URL"
    if len(data) * 3 // 4 > MAX_SPEC_BYTES:
        return None, (f"the file is too large (about {len(data) * 3 // 4:,} bytes; the "
                      f"dashboard accepts up to {MAX_SPEC_BYTES:,})")
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None, "the upload could not be decoded"
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "the file is not UTF-8 text (a spec is a YAML text file)"


def catalog_text(ws: Workspace, key: str) -> str:
    """The text of a catalog spec (the editor's examples); only files of the listing."""
    return Path(ws.catalog.path(key)).read_text(encoding="utf-8")


def log(msg: str) -> None:
    print(f"archcalc dashboard: {msg}", file=sys.stderr)
