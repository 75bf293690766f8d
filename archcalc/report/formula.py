"""Text of `archcalc formula`: plain (wrapped to the terminal when a width is given) or
LaTeX only (archcalc.report.latex: prose as `%` comments, every formula a `\\[ ... \\]`).

Renders the dataclasses of archcalc.design.formula (Formulas, Idealised); each total there is
a grouped sum (kind "sum"), a maximum of such sums ("max") or flops as 2*madds ("flops").
Pure: data in, text out.
"""
from __future__ import annotations

from ..numbers import decimal_text, short_text


def show(form, latex: bool = False) -> str:
    """One total's closed form as text: sum_j R_j*(A_j) + ..., Max(...), or 2*madds."""
    if form.kind == "max":
        inner = (", " if not latex else r",\ ").join(show(i, latex) for i in form.items)
        return (r"\max\left(" + inner + r"\right)") if latex else f"Max({inner})"
    if form.kind == "flops":
        return r"2 \cdot \mathrm{madds}" if latex else "2*madds"
    import sympy

    from .latex import latex as to_latex
    pr = to_latex if latex else sympy.sstr
    texts = []
    for r, a in form.parts:
        if r is None:
            texts.append(pr(a))
        elif a == 1:
            texts.append(pr(r))
        elif a.is_Add:
            texts.append(pr(r) + (r" \left(" + pr(a) + r"\right)" if latex else "*(" + pr(a) + ")"))
        else:
            texts.append(pr(r * a))
    texts += [pr(o) for o in form.others]
    return " + ".join(texts) if texts else "0"


def interval_text(a, a_closed, b, b_closed) -> str:
    """An interval of widths: {0.5}, [0.35, 0.5) (exact: 5/9 where a decimal will not do)."""
    if a == b:
        return f"{{{short_text(a)}}}"
    return (("[" if a_closed else "(") + short_text(a) + ", " + short_text(b)
            + ("]" if b_closed else ")"))


def _plain_wrap(width):
    if not width:
        return lambda text, indent=0: text
    from .terminal import wrap
    return lambda text, indent=0: "\n".join(wrap(line, width, indent) for line in text.split("\n"))


def render_formulas(f, latex: bool = False, width: int | None = None) -> str:
    """The closed forms of a Formulas (archcalc.design.formula.formulas)."""
    if latex:
        return _render_latex(f)
    import sympy

    from .provenance import spec_shown
    wrap = _plain_wrap(width)
    spec = f.spec
    lines = [wrap(f"{spec.name} ({spec_shown(spec)}): closed forms in alpha (width multiplier) "
                  f"and r (input resolution r x r)"),
             wrap(f"convention: {f.convention.describe()}; {f.dtype} activations", 4), ""]
    a_atoms = [a for a in f.atoms if a.side == "alpha"]
    r_atoms = [a for a in f.atoms if a.side == "r"]
    if a_atoms:
        lines.append(f"channel counts (step functions of alpha; values for "
                     f"{decimal_text(f.lo)} <= alpha <= {decimal_text(f.hi)}):")
        w = max(len(a.name) for a in a_atoms)
        pad = " " * (w + 5)
        for a in a_atoms:
            lines.append(wrap(f"  {a.name.ljust(w)} = {sympy.sstr(a.shown)}", w + 5))
            if a.pieces and len(a.pieces) <= 6:
                lines.append(wrap(f"{pad[:-2]}= " + ", ".join(
                    f"{v} on {interval_text(x, xc, y, yc)}" for v, x, xc, y, yc in a.pieces), w + 7))
            elif a.pieces:
                first, last = a.pieces[0], a.pieces[-1]
                lines.append(wrap(f"{pad[:-2]}= {len(a.pieces)} values: {first[0]} on "
                                  f"{interval_text(*first[1:])}, ..., {last[0]} on "
                                  f"{interval_text(*last[1:])}", w + 7))
            elif a.too_many:
                lines.append(wrap(f"{pad[:-2]}= (too many steps to list: more than "
                                  f"MAX_BREAKPOINTS; narrow --width)", w + 7))
        lines.append("")
    if r_atoms:
        lines.append("spatial sizes (functions of r):")
        w = max(len(a.name) for a in r_atoms)
        for a in r_atoms:
            lines.append(wrap(f"  {a.name.ljust(w)} = {sympy.sstr(a.shown)}", w + 5))
        lines.append("")
    lines.append("totals:")
    for metric, expr in f.totals.items():
        lines.append(wrap(f"  {metric} = {show(expr, False)}", 6))
        if metric in f.omitted and f.omitted[metric][0] != f.omitted[metric][1]:
            kept, total = f.omitted[metric]
            lines.append(wrap(f"      ({total - kept} of the {total} live sets are left out: "
                              f"each is <= another term for every alpha and r, coefficient by "
                              f"coefficient)", 7))
    if f.guards:
        lines += ["", wrap("the closed forms do not hold where (residual adds are decided on the "
                           "actual widths, so the structure differs there; sweep, fit and "
                           "frontier compile those widths with the structure they have):")]
        for text, spans in f.guards:
            lines.append(wrap(f"  {text}: {_where(f, spans, interval_text)}", 6))
    if f.stages:
        lines += ["", "per stage (one spec row, repeats included):"]
        for key, d in f.stages:
            lines.append(f"  {key}:")
            for metric, expr in d.items():
                lines.append(wrap(f"    {metric} = {show(expr, False)}", 8))
    return "\n".join(lines) + "\n"


def _where(f, spans, interval) -> str:
    if spans is None:
        return "(too many breakpoints to list: more than MAX_BREAKPOINTS; narrow --width)"
    if not spans:
        return f"nowhere for alpha in [{decimal_text(f.lo)}, {decimal_text(f.hi)}]"
    return "alpha in " + ", ".join(interval(a, ac, b, bc) for a, ac, b, bc in spans)


def _render_latex(f) -> str:
    import sympy

    from . import latex as tex
    from .provenance import spec_shown
    spec = f.spec
    out = [tex.comment(f"{spec.name} ({spec_shown(spec)}): closed forms in alpha (width "
                       f"multiplier) and r (input resolution r x r)\nconvention: "
                       f"{f.convention.describe()}; {f.dtype} activations"), ""]
    a_atoms = [a for a in f.atoms if a.side == "alpha"]
    r_atoms = [a for a in f.atoms if a.side == "r"]
    symbol = {a.name: tex.latex(sympy.Symbol(a.name)) for a in f.atoms}
    if a_atoms:
        out.append(tex.comment(f"channel counts (step functions of alpha; values for "
                               f"{decimal_text(f.lo)} <= alpha <= {decimal_text(f.hi)})"))
        for a in a_atoms:
            out.append(tex.display(f"{symbol[a.name]} = {tex.latex(a.shown)}"))
            if a.pieces and len(a.pieces) <= 6:
                steps = r",\ ".join(f"{v}" + r"\ \mathrm{on}\ " + tex.interval(x, xc, y, yc)
                                    for v, x, xc, y, yc in a.pieces)
                out.append(tex.display(f"{symbol[a.name]} = {steps}"))
            elif a.pieces:
                first, last = a.pieces[0], a.pieces[-1]
                out.append(tex.display(
                    f"{symbol[a.name]} = {first[0]}" + r"\ \mathrm{on}\ " + tex.interval(*first[1:])
                    + r",\ \ldots,\ " + f"{last[0]}" + r"\ \mathrm{on}\ " + tex.interval(*last[1:])))
                out.append(tex.comment(f"({len(a.pieces)} values)"))
            elif a.too_many:
                out.append(tex.comment("(too many steps to list: narrow --width)"))
    if r_atoms:
        out.append(tex.comment("spatial sizes (functions of r)"))
        for a in r_atoms:
            out.append(tex.display(f"{symbol[a.name]} = {tex.latex(a.shown)}"))
    out.append(tex.comment("totals"))
    for metric, expr in f.totals.items():
        out.append(tex.display(f"{tex.name(metric)} = {show(expr, True)}"))
        if metric in f.omitted and f.omitted[metric][0] != f.omitted[metric][1]:
            kept, total = f.omitted[metric]
            out.append(tex.comment(f"({total - kept} of the {total} live sets are left out: each "
                                   f"is <= another term for every alpha and r)"))
    if f.guards:
        out.append(tex.comment("the closed forms do not hold where (residual adds are decided on "
                               "the actual widths):"))
        for text, spans in f.guards:
            out.append(tex.comment(f"  {text}: {_where(f, spans, interval_text)}"))
    if f.stages:
        out.append(tex.comment("per stage (one spec row, repeats included)"))
        for key, d in f.stages:
            out.append(tex.comment(key))
            for metric, expr in d.items():
                out.append(tex.display(f"{tex.name(metric)} = {show(expr, True)}"))
    return "\n".join(out) + "\n"


def render_idealised(ideal, latex: bool = False, width: int | None = None) -> str:
    """The idealised forms (archcalc.design.formula.idealised): polynomials in alpha and rho."""
    import sympy
    source = f"source: {ideal.spec.source}" if getattr(ideal.spec, "source", "") else ""
    head = (f"{ideal.spec.name}, idealised: channels c * alpha with no rounding, spatial sizes "
            f"r / s with no ceiling, r = rho * {ideal.r0}")
    note = ("polynomials in alpha and rho, the form of the papers' idealised cost model "
            "(MobileNetV1, Howard et al. 2017, eq. 7: MAdds of a separable layer = "
            "D_K^2 alpha M (rho D_F)^2 + alpha M alpha N (rho D_F)^2)")
    if latex:
        from . import latex as tex
        out = [tex.comment("\n".join(x for x in (head, source, note) if x)), ""]
        for m, e in ideal.totals.items():
            out.append(tex.display(f"{tex.name(m)} = {tex.latex(e)}"))
            share = ideal.leading.get(m)
            if share is not None:
                out.append(tex.comment(f"alpha^2 rho^2 term at alpha = rho = 1 (alpha <= 1): "
                                       f"{float(share) * 100:.2f}% of {m}"))
        return "\n".join(out) + "\n"
    wrap = _plain_wrap(width)
    lines = [wrap(head)] + ([wrap(source, 2)] if source else []) + [wrap(note, 2), ""]
    for m, e in ideal.totals.items():
        lines.append(wrap(f"  {m} = {sympy.sstr(e)}", 6))
        share = ideal.leading.get(m)
        if share is not None:
            lines.append(f"      alpha^2 rho^2 term at alpha = rho = 1 (alpha <= 1): "
                         f"{float(share) * 100:.2f}% of {m}")
    return "\n".join(lines) + "\n"
