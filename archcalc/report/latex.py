"""LaTeX output of the closed forms and derivations (`archcalc formula --latex`, `archcalc
derive --latex`): valid LaTeX only.

sympy's own printer writes an unknown function `make_divisible(16*alpha, 8, 8)` as
`\\operatorname{make}_{divisible}{...}` (the underscore read as a subscript). The printer here
writes archcalc's rounding functions (archcalc.symbolic: make_divisible, truncate,
round_half_even) as `\\operatorname{make\\_divisible}\\left(16 \\alpha, 8, 8\\right)`. Prose lines
become LaTeX comments (`% ...`) and every formula a display `\\[ ... \\]`, so the output can be
pasted into a document as it is (tests parse each formula with matplotlib's mathtext).
"""
from __future__ import annotations

import re

_NAMES = {"make_divisible": "make\\_divisible", "truncate": "truncate",
          "round_half_even": "round\\_half\\_even"}


def _printer_class():
    from sympy.printing.latex import LatexPrinter

    class ArchcalcLatexPrinter(LatexPrinter):
        """sympy's LatexPrinter with archcalc's rounding functions as operator names."""

        def _print_Function(self, expr, exp=None):
            name = _NAMES.get(type(expr).__name__)
            if name is None:
                return super()._print_Function(expr, exp)
            args = ", ".join(self._print(a) for a in expr.args)
            text = rf"\operatorname{{{name}}}\left({args}\right)"
            return f"{text}^{{{exp}}}" if exp else text

    return ArchcalcLatexPrinter


_PRINTER = None


def latex(expr) -> str:
    """LaTeX of a sympy expression (archcalc's rounding functions as \\operatorname{...})."""
    global _PRINTER
    if _PRINTER is None:
        _PRINTER = _printer_class()()
    return _PRINTER.doprint(expr)


def comment(text: str) -> str:
    """Prose as LaTeX comment lines."""
    return "\n".join("% " + line if line else "%" for line in text.split("\n"))


def display(math: str) -> str:
    """A displayed formula."""
    return rf"\[ {math} \]"


def name(text: str) -> str:
    """A metric or label as upright text in math mode: peak\\_memory\\_bytes."""
    return r"\mathrm{" + re.sub(r"([_%&#$])", r"\\\1", text) + "}"


def number(x) -> str:
    """0.75 as 0.75; 5/9 as \\frac{5}{9}."""
    from fractions import Fraction
    q = Fraction(x)
    if q.denominator == 1:
        return str(q.numerator)
    from ..numbers import short_text
    text = short_text(q)
    if "/" in text:
        sign = "-" if q < 0 else ""
        return rf"{sign}\frac{{{abs(q.numerator)}}}{{{q.denominator}}}"
    return text


def interval(a, a_closed, b, b_closed) -> str:
    if a == b:
        return r"\{" + number(a) + r"\}"
    return ("[" if a_closed else "(") + number(a) + ", " + number(b) + ("]" if b_closed else ")")
