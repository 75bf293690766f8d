"""Readable closed forms of a spec's totals in alpha (width) and r (resolution).

The totals of `archcalc.closed_form` are polynomials in *atoms*: channel counts (step
functions of alpha such as make_divisible(16*alpha, 8, 8)) and spatial sizes (functions of r
such as ceiling(r/32)). Here each atom gets a short name by its scale (c16 ~ 16*alpha
channels; h32 ~ r/32 pixels), its definition and its exact values as a step table over a
width range, and every total is printed grouped by spatial size, e.g. for MobileNetV2

    madds = h2**2*(6*c16**2 + c16*c32 + 36) + h4**2*(...) + ...

`idealised()` drops the rounding (spec `rounding: none`, r/s for ceil(r/s), r = rho * r0),
which turns the totals into the papers' polynomials in alpha and rho (MobileNetV1 eq. 7:
cost ~ alpha^2 rho^2).

`formulas()` and `idealised()` return dataclasses (each total a `GroupedTotal`, a
`MaxOfTotals` or `FLOPS_OF_MADDS`); their text, plain or LaTeX: archcalc.report.formula.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

_BIG = 2**40


@dataclass
class Atom:
    name: str
    expr: object        # sympy expression (alpha or r only)
    shown: object       # the definition with inner atoms replaced by their names
    side: str           # "alpha" | "r"
    pieces: list | None = None   # alpha atoms: [(value, a, a_closed, b, b_closed)]
    too_many: bool = False       # more than MAX_BREAKPOINTS breakpoints: no step table


def _scale(fn, big) -> int:
    v = fn(big)
    return max(1, round(Fraction(v) / big)) if v else 0


def _inverse_scale(fn, big) -> int:
    v = fn(big)
    return max(1, round(Fraction(big) / Fraction(v))) if v else 0


def name_atoms(forms, lo: Fraction, hi: Fraction) -> list[Atom]:
    """Short names for an Evaluator's atoms: c<k> ~ k*alpha channels, h<s> ~ r/s pixels."""
    import sympy

    from .steps import Breakpoints, TooManyBreakpoints, piecewise
    atoms: list[Atom] = []
    taken: set = {"alpha", "r", "rho"}
    bp = Breakpoints(lo, hi) if lo is not None else None

    def unique(base: str) -> str:
        if base not in taken:
            taken.add(base)
            return base
        for suffix in "abcdefghijklmnopqrstuvwxyz":
            if base + suffix not in taken:
                taken.add(base + suffix)
                return base + suffix
        raise AssertionError(base)

    def fn(expr, sym):
        from ..cost.codegen import exact_function
        return exact_function(expr, {sym: "x"})

    a_side = [(e, _scale(fn(e, forms.alpha), Fraction(_BIG))) for e in forms.alpha_base_atoms
              if e != forms.alpha]
    r_side = [(e, _inverse_scale(fn(e, forms.r), _BIG)) for e in forms.r_base_atoms if e != forms.r]
    mapping = {}
    # inner atoms first, so that definitions can use the names of the atoms they contain
    for side, items, prefix in (("alpha", a_side, "c"), ("r", r_side, "h")):
        items.sort(key=lambda it: (it[1], sympy.count_ops(it[0]), str(it[0])))
        for e, k in sorted(items, key=lambda it: sympy.count_ops(it[0])):
            atoms.append(Atom(unique(f"{prefix}{k}"), e, None, side))
    order = {id(a): i for i, a in enumerate(atoms)}
    by_ops = sorted(atoms, key=lambda a: sympy.count_ops(a.expr))
    for atom in by_ops:
        atom.shown = atom.expr.xreplace({k: v for k, v in mapping.items() if k != atom.expr})
        mapping[atom.expr] = sympy.Symbol(atom.name, positive=True, integer=True)
    for atom in atoms:
        if atom.side == "alpha" and bp is not None:
            try:
                pts = sorted(bp.of(atom.expr))
            except TooManyBreakpoints:
                atom.too_many = True
                continue
            atom.pieces = piecewise(lambda x, e=atom.expr: bp.value(e, x), bp.lo, bp.hi, pts)
    atoms.sort(key=lambda a: (a.side != "alpha", _scale_key(a.name), order[id(a)]))
    return atoms


def _scale_key(name: str):
    digits = "".join(ch for ch in name[1:] if ch.isdigit())
    return (int(digits) if digits else 0, name)


def symbols_for(atoms) -> dict:
    import sympy
    return {a.expr: sympy.Symbol(a.name, positive=True, integer=True) for a in atoms}


@dataclass
class GroupedTotal:
    """A total as sum_j R_j * A_j (R_j: spatial part or None, A_j: channel part), atoms
    renamed, plus the terms that mix alpha and r (`others`)."""
    parts: list             # [(R or None, A)]
    others: list            # [expr]
    kind = "sum"

    def expr(self):
        import sympy
        return sympy.Add(*[(r if r is not None else 1) * a for r, a in self.parts], *self.others)


@dataclass
class MaxOfTotals:
    """The maximum of several grouped totals (the peak-memory live sets kept after pruning)."""
    items: list
    kind = "max"


@dataclass
class FlopsOfMadds:
    """flops, shown as 2*madds (archcalc.cost.convention.flops_from_madds)."""
    kind = "flops"


FLOPS_OF_MADDS = FlopsOfMadds()


def grouped(expr, atoms, forms, names: dict | None = None) -> GroupedTotal:
    """expr with atoms renamed, terms grouped by their r part: sum_j R_j * (A_j), largest
    spatial size first (`names`: symbols_for(atoms), when already made; `forms`: the
    Evaluator whose atoms these are)."""
    import sympy
    names = symbols_for(atoms) if names is None else names
    e = sympy.expand(sympy.sympify(expr), deep=False, power_base=False, power_exp=False, log=False)
    groups: dict = {}
    others = []
    for term in sympy.Add.make_args(e):
        split = forms.split_term(term)
        if split is None:
            others.append(term.xreplace(names))
            continue
        a, r = split
        groups.setdefault(r, []).append(a)

    def size(rexpr):
        return -float(rexpr.subs(forms.r, _BIG)) if rexpr.free_symbols else 0.0

    parts = [(None if r == 1 else r.xreplace(names), sympy.Add(*groups[r]).xreplace(names))
             for r in sorted(groups, key=size)]
    return GroupedTotal(parts, others)


@dataclass
class Formulas:
    spec: object
    convention: object
    dtype: str
    atoms: list
    totals: dict            # metric -> GroupedTotal | MaxOfTotals | FLOPS_OF_MADDS
    omitted: dict           # metric -> (terms kept, terms in the Max)
    stages: list            # [(stage, {metric: GroupedTotal})]
    lo: Fraction
    hi: Fraction
    guards: list = None     # [(text, [(a, a_closed, b, b_closed)] where it holds in [lo, hi])]


STEPS = 4      # progress steps of formulas(): closed form, compiled forms, atoms, totals


def formulas(spec, *, convention="paper", dtype="fp32", sets=None, per_stage: bool = False,
             width_range=(Fraction(1, 4), Fraction(3, 2)), metrics=None, advance=None) -> Formulas:
    """Named atoms and grouped closed forms of every total (and of each stage). A spec that
    `archcalc report` refuses at its own point is refused here with the same error.
    `advance()` is called after each of the STEPS steps (a progress display)."""
    import sympy

    from ..cost import Evaluator, analyze, bound_spec, convention_named
    from ..cost.plan import Extremum
    from ..graph import compile_graph
    from .buildable import require_buildable_at_own_point
    advance = advance or (lambda *a, **k: None)
    conv = convention_named(convention)
    loaded = bound_spec(spec, sets, conv)
    require_buildable_at_own_point(loaded)
    table = analyze(compile_graph(loaded, symbolic=True), conv, dtype)
    advance()
    forms = Evaluator.from_table(table, metrics)
    advance()
    lo, hi = width_range
    atoms = name_atoms(forms, lo, hi)
    advance()
    names = symbols_for(atoms)
    totals, omitted = {}, {}
    for metric in forms.metrics:
        expr = forms.exprs[metric]
        plan = forms.plans[metric]
        if metric == "flops":
            totals[metric] = FLOPS_OF_MADDS if "madds" in forms.metrics else \
                grouped(expr, atoms, forms, names)
            continue
        if isinstance(plan, Extremum) and isinstance(expr, (sympy.Max, sympy.Min)):
            args = list(dict.fromkeys(expr.args))
            keep = plan.survivors if plan.survivors is not None else range(len(args))
            kept = [grouped(args[i], atoms, forms, names) for i in keep]
            totals[metric] = MaxOfTotals(kept) if len(kept) > 1 else kept[0]
            omitted[metric] = (len(kept), len(args))
            continue
        totals[metric] = grouped(expr, atoms, forms, names)
    stages = []
    if per_stage:          # one spec row each (CostTable.by_stage), repeats included
        shown = {"params": "params", "madds": "madds", "memory_bytes": "activation_bytes"}
        for key, d in table.by_stage(tuple(shown)).items():
            stages.append((key, {shown[m]: grouped(sympy.sympify(v), atoms, forms, names)
                                 for m, v in d.items()}))
    guards = []
    if forms.guards:
        from .steps import Breakpoints, TooManyBreakpoints, piecewise
        bp = Breakpoints(lo, hi)
        for g, fires_at in zip(forms.guards, forms.guard_tests):
            if g == sympy.false:
                continue
            if g == sympy.true:
                guards.append(("always (sympy decides the guard is true)", [(lo, True, hi, True)]))
                continue
            lhs, rhs = (x.xreplace(names) for x in g.args)
            op = "=" if type(g).__name__ == "Equality" else "!="
            try:
                pts = sorted(bp.of(g.args[0]) | bp.of(g.args[1]))
            except TooManyBreakpoints:
                guards.append((f"{sympy.sstr(lhs)} {op} {sympy.sstr(rhs)}", None))
                continue
            # the guard compiled to exact Python (cost/codegen.py), not sympy substitution
            fires = piecewise(lambda x, f=fires_at: bool(f(x)), lo, hi, pts)
            guards.append((f"{sympy.sstr(lhs)} {op} {sympy.sstr(rhs)}",
                           [(a, ac, b, bc) for v, a, ac, b, bc in fires if v]))
    advance()
    return Formulas(table.spec, table.convention, table.dtype, atoms, totals, omitted, stages, lo,
                    hi, guards)


# -- idealised forms -------------------------------------------------------------------------

@dataclass
class Idealised:
    spec: object
    r0: int
    totals: dict            # metric -> polynomial in alpha, rho (sympy)
    leading: dict           # metric -> (share of the alpha^2 rho^2 term at alpha = rho = 1)


def idealised(spec, *, convention="paper", dtype="fp32", sets=None,
              metrics=("params", "madds", "activation_bytes")) -> Idealised:
    """The totals with no channel rounding (c * alpha), continuous spatial sizes (r / s) and
    r = rho * r0: polynomials in alpha and rho, as in the papers' cost equations."""
    import sympy

    from .. import symbolic
    from ..cost import analyze, bound_spec, convention_named
    from ..graph import compile_graph
    conv = convention_named(convention)
    s = bound_spec(spec, sets, conv)
    from .buildable import require_buildable_at_own_point
    require_buildable_at_own_point(s)
    s = replace(s, width=replace(s.width, rounding="none"))
    table = analyze(compile_graph(s, symbolic=True), conv, dtype)
    rho = sympy.Symbol("rho", positive=True)
    alpha = symbolic.alpha

    def smooth(e):
        e = sympy.sympify(e)
        e = e.replace(sympy.ceiling, lambda x: x).replace(sympy.floor, lambda x: x)
        e = e.replace(symbolic.round_half_even, lambda x: x)
        return sympy.expand(e.xreplace({symbolic.r: rho * s.resolution}))

    totals, leading = {}, {}
    for m in metrics:
        e = smooth(table.totals[m])
        totals[m] = sympy.collect(e, [rho**2, rho], evaluate=True)
        at_one = e.xreplace({alpha: 1, rho: 1})
        lead = e.xreplace({sympy.Max(1, alpha): 1}).coeff(alpha, 2).coeff(rho, 2)
        if at_one and lead.is_number and lead:
            leading[m] = Fraction(int(lead.p), int(lead.q)) / Fraction(int(at_one.p), int(at_one.q)) \
                if at_one.is_Rational and lead.is_Rational else None
    return Idealised(s, s.resolution, totals, leading)
