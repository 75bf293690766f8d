"""Exact grids and the import promise: widths are exact Fractions from their decimal text,
ranges are inclusive, and `import archcalc.cli.design` imports no numpy, sympy or plotly."""
from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import pytest

import archcalc
from archcalc.design.grid import (decimal_text, parse_budget, parse_resolutions,
                                  parse_width_interval, parse_widths)

from design_helpers import REPO


def test_width_ranges_are_exact_and_inclusive():
    ws = parse_widths("0.25:1.5:0.05")
    assert len(ws) == 26 and ws[0] == Fraction(1, 4) and ws[-1] == Fraction(3, 2)
    assert Fraction(7, 20) in ws           # 0.35 exactly, not 0.35000000000000003
    assert all(b - a == Fraction(1, 20) for a, b in zip(ws, ws[1:]))
    assert parse_widths("0.35,0.5,1,0.5") == [Fraction(7, 20), Fraction(1, 2), Fraction(1)]
    assert parse_widths("1/3") == [Fraction(1, 3)]
    assert parse_widths("0.1:0.35:0.1") == [Fraction(1, 10), Fraction(2, 10), Fraction(3, 10)]


def test_resolution_grids():
    assert parse_resolutions("96:320:16", 224) == list(range(96, 321, 16))
    assert parse_resolutions("160,0.5x,224", 224) == [160, 112, 224]
    assert parse_width_interval("0.1:2") == (Fraction(1, 10), Fraction(2))
    assert parse_width_interval("0.1:2:0.1") is None and parse_width_interval("1") is None


@pytest.mark.parametrize("bad", ["0.5:0.1:0.1", "0:1:0", "x", "0.1:0.2:0.3:0.4", "-0.5", ""])
def test_bad_widths(bad):
    with pytest.raises(archcalc.OptionError):
        parse_widths(bad)


def test_decimal_text_is_exact():
    assert decimal_text(Fraction(7, 20)) == "0.35"
    assert decimal_text(Fraction(3)) == "3" and decimal_text(5) == "5"
    assert decimal_text(Fraction(-1, 8)) == "-0.125"
    assert decimal_text(Fraction(1, 3)) == repr(1 / 3)
    assert decimal_text(Fraction(1, 1000)) == "0.001"
    assert parse_budget("0.5k") == 500


def test_importing_the_commands_stays_light():
    code = ("import sys, archcalc.design, archcalc.cli.design as c, argparse\n"
            "p = argparse.ArgumentParser(); c.add_commands(p.add_subparsers())\n"
            "print(sorted(m for m in ('numpy', 'sympy', 'plotly', 'torch', 'pandas') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         check=True).stdout
    assert out.strip() == "[]"
