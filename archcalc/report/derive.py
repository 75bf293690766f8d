"""Text of `archcalc derive`: the seed papers' claims derived from archcalc's per-op rules
(archcalc.design.explain), each with its source, assumptions, the derived expressions and
whether the paper's statement holds; plain text or LaTeX only. Pure: data in, text out.
"""
from __future__ import annotations


def render(claims, latex: bool = False) -> str:
    """Claims (archcalc.design.explain.derive) as plain text, or LaTeX only."""
    import sympy
    if latex:
        return _render_latex(claims)
    show = sympy.sstr
    lines = []
    for cl in claims:
        lines.append(f"[{cl.name}] {cl.title}")
        lines.append(f"  source:      {cl.source}")
        lines.append(f"  assumptions: {cl.assumptions}")
        lines.append("  derived from archcalc's per-op rules (MAdds):")
        width = max(len(label) for label, _, _ in cl.derived)
        for label, ops, expr in cl.derived:
            lines.append(f"    {label.ljust(width)}  {show(expr)}")
            lines.append(f"    {' ' * width}  ({ops})")
        for label, derived, paper, holds in cl.results:
            lines.append(f"  {label} = {show(derived)}")
            lines.append(f"    paper: {show(paper)}  -> {'holds' if holds else 'DOES NOT HOLD'}"
                         f" (sympy.simplify(derived - paper) == 0)" if holds else
                         f"    paper: {show(paper)}  -> DOES NOT HOLD")
        for note in cl.notes:
            lines.append(f"  {note}")
        lines.append("")
    return "\n".join(lines)


def _render_latex(claims) -> str:
    """LaTeX only (archcalc.report.latex): prose as % comments, each expression displayed."""
    from . import latex as tex
    out = []
    for cl in claims:
        out.append(tex.comment(f"[{cl.name}] {cl.title}\nsource: {cl.source}\nassumptions: "
                               f"{cl.assumptions}\nderived from archcalc's per-op rules (MAdds):"))
        for label, ops, expr in cl.derived:
            out.append(tex.comment(f"{label} ({ops})"))
            out.append(tex.display(f"{tex.name(label)} = {tex.latex(expr)}"))
        for label, derived, paper, holds in cl.results:
            out.append(tex.comment(f"{label}, derived, then the paper's ("
                                   f"{'holds' if holds else 'DOES NOT HOLD'})"))
            out.append(tex.display(tex.latex(derived)))
            out.append(tex.display(tex.latex(paper)))
        for note in cl.notes:
            out.append(tex.comment(note))
        out.append("")
    return "\n".join(out)
