"""Budget fitting: for each resolution, the largest width multiplier whose network meets every
budget (MAdds, params, peak memory, ...), exactly; and the Pareto set of those answers.

Two width domains:

* a **grid** of widths (`0.25:1.5:0.05`, `0.35,0.5,0.75`): the largest grid width that fits,
  the same answer a brute-force loop over the grid gives;
* an **interval** `LO:HI`: every real alpha in it. The channel counts are step functions of
  alpha with rational breakpoints (archcalc.design.steps), so the interval holds finitely many
  networks; each breakpoint and one point inside each open cell between breakpoints are
  evaluated, and the answer is exact: the widest fitting network, the whole interval of
  alphas that builds it (ends open or closed as the rounding rules make them), whether the
  supremum is attained, and the simplest decimal in it to type as `--width`.

Pareto set: a fitting configuration is dominated when another fitting one is at least as wide
and at least as high-resolution (one of them strictly). With a budget that grows with r
(MAdds, memory) every resolution's answer is typically on the front; with a params-only budget
the highest resolution dominates (params do not depend on r).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import OptionError
from ..numbers import decimal_text, exact_python

SHOWN = ("params", "madds", "peak_memory_bytes")


@dataclass(frozen=True)
class Budget:
    metric: str
    limit: Fraction
    text: str = ""

    def describe(self) -> str:
        limit = decimal_text(self.limit)
        return f"{self.metric} <= {self.text} ({int(self.limit):,})" if self.text and \
            self.limit.denominator == 1 else f"{self.metric} <= {limit}"


@dataclass
class BudgetFitRow:
    """The answer at one resolution: the widest fitting width, the interval of widths that
    build the same network, that network's metrics and what stops a wider one."""
    resolution: int
    fits: bool
    width: Fraction | None = None       # the width to use (grid: the grid width)
    lo: Fraction | None = None          # the widths that build the same network
    lo_closed: bool = True
    hi: Fraction | None = None
    hi_closed: bool = True
    metrics: dict = field(default_factory=dict)
    limited_by: tuple = ()              # budgets the next wider network breaks ("width range": none)
    pareto: bool = False

    def key(self):
        """Size order of the widest fitting width, for the Pareto set."""
        return (self.hi, self.hi_closed)


@dataclass
class FitResult:
    spec: object
    convention: object
    dtype: str
    budgets: list
    domain: str
    rows: list
    breakpoints: int | None = None
    default_metrics: tuple = ()     # the metrics shown when no resolution fits

    def __str__(self) -> str:
        fitting = [r for r in self.rows if r.fits]
        best = ", ".join(f"{r.resolution}: {decimal_text(r.width)}" for r in fitting) or "none"
        return (f"FitResult({self.spec.name}, {'; '.join(b.describe() for b in self.budgets)}; "
                f"{len(fitting)} of {len(self.rows)} resolutions fit; widest width per "
                f"resolution {best})")

    __repr__ = __str__


def _feasible(values: dict, budgets) :
    import numpy as np
    mask = None
    for b in budgets:
        arr = values[b.metric]
        limit = b.limit
        if arr.dtype != object:
            # integer metric <= Fraction limit  <=>  metric <= floor(limit)
            lim = limit.numerator // limit.denominator
            ok = arr <= lim if lim <= 2**63 - 1 else np.ones(arr.shape, dtype=bool)
        else:
            ok = np.vectorize(lambda v: v <= limit, otypes=[bool])(arr)
        mask = ok if mask is None else (mask & ok)
    return mask


def _violated(values: dict, budgets, i: int, j: int, valid=None) -> tuple:
    if valid is not None and not valid[i, j]:
        return ("no valid network",)
    return tuple(b.metric for b in budgets if values[b.metric][i, j] > b.limit)


def fit(forms, budgets, resolutions, *, widths=None, interval=None, advance=None) -> FitResult:
    """Largest fitting width per resolution over a width grid (`widths`) or an interval
    (`interval=(lo, hi)`), exactly. `forms` is an archcalc.cost.Evaluator. A spec that cannot be built
    anywhere in the domain raises the located SpecError `archcalc report` gives; `advance`
    is called once the candidate widths are known (a progress display)."""
    from ..cost.axes import resolution_values, width_values
    from .buildable import require_some_valid
    advance = advance or (lambda *a, **k: None)
    if not budgets:
        raise OptionError("give at least one budget (--max-madds, --max-params, --max-memory, "
                          "--max METRIC=VALUE)")
    for b in budgets:
        if b.metric not in forms.plans:
            raise OptionError(f"unknown budget metric {b.metric!r} (known: {', '.join(forms.metrics)})")
    rs = resolution_values(resolutions, forms.spec.resolution)
    shown = list(dict.fromkeys([b.metric for b in budgets] + [m for m in SHOWN if m in forms.plans]))
    rows: list[BudgetFitRow] = []
    n_breaks = None
    if interval is not None:
        from .steps import Breakpoints, candidates, simplest_in
        lo, hi = (Fraction(x) for x in interval)
        if forms.alpha in forms.alpha_base_atoms:
            raise OptionError("an interval of widths needs channel rounding (this spec's channel "
                              "counts are continuous in alpha); give a grid, LO:HI:STEP")
        bp = Breakpoints(lo, hi)
        breaks = bp.all(forms.alpha_base_atoms)
        n_breaks = len(breaks)
        cands = candidates(lo, hi, breaks)
        xs = [x for x, _ in cands]
        advance()
        valid = forms.valid(xs, rs)
        require_some_valid(forms, xs, rs, valid, "width interval")
        values = forms.grid(xs, rs, shown)
        ok = _feasible(values, budgets) & valid
        atoms = forms.channel_atoms(xs)
        for j, r in enumerate(rs):
            feasible = [i for i in range(len(xs)) if ok[i, j]]
            if not feasible:
                rows.append(BudgetFitRow(r, False, limited_by=_violated(values, budgets, 0, j, valid)))
                continue
            top = feasible[-1]
            low = top
            while low > 0 and ok[low - 1, j] and list(atoms[low - 1]) == list(atoms[top]):
                low -= 1
            x_lo, cell_lo = cands[low]
            x_hi, cell_hi = cands[top]
            a, a_closed = (x_lo, True) if cell_lo is None else (cell_lo[0], False)
            b, b_closed = (x_hi, True) if cell_hi is None else (cell_hi[1], False)
            limited = ("width range",) if top == len(xs) - 1 else _violated(values, budgets, top + 1, j, valid)
            rows.append(BudgetFitRow(r, True, simplest_in(a, b, a_closed, b_closed), a, a_closed, b,
                               b_closed, {m: exact_python(values[m][top, j]) for m in shown}, limited))
        domain = (f"every width in [{decimal_text(lo)}, {decimal_text(hi)}] (exact: {n_breaks} "
                  f"breakpoints of the channel counts)")
    else:
        ws = sorted(width_values(widths))
        advance()
        valid = forms.valid(ws, rs)
        require_some_valid(forms, ws, rs, valid, "width grid")
        values = forms.grid(ws, rs, shown)
        ok = _feasible(values, budgets) & valid
        for j, r in enumerate(rs):
            feasible = [i for i in range(len(ws)) if ok[i, j]]
            if not feasible:
                rows.append(BudgetFitRow(r, False, limited_by=_violated(values, budgets, 0, j, valid)))
                continue
            top = feasible[-1]
            limited = ("width range",) if top == len(ws) - 1 else _violated(values, budgets, top + 1, j, valid)
            rows.append(BudgetFitRow(r, True, ws[top], ws[top], True, ws[top], True,
                               {m: exact_python(values[m][top, j]) for m in shown}, limited))
        domain = f"the {len(ws)} widths {decimal_text(ws[0])} .. {decimal_text(ws[-1])}" \
            if len(ws) > 1 else f"width {decimal_text(ws[0])}"
    fitting = [row for row in rows if row.fits]
    for row in fitting:
        row.pareto = not any(
            other is not row and other.key() >= row.key() and other.resolution >= row.resolution
            and (other.key() > row.key() or other.resolution > row.resolution)
            for other in fitting)
    return FitResult(forms.spec, forms.convention, forms.dtype, list(budgets), domain, rows, n_breaks,
                     tuple(dict.fromkeys([b.metric for b in budgets] + list(SHOWN))))
