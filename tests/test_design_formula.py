"""`archcalc formula`: the printed closed forms, parsed back from the text, equal point
evaluation (archcalc.evaluate) on a dense grid for every spec; the idealised forms are the
papers' polynomials (MobileNetV1 Table 2: 1x1 convolutions are 94.86% of the MAdds)."""
from __future__ import annotations

import re
from fractions import Fraction

import pytest
import sympy

import archcalc
from archcalc import symbolic
from archcalc.design import formula
from archcalc.cost.codegen import ExactSource
from archcalc.spec import parse_spec

from design_helpers import REPO, SPEC_IDS, SPECS, reference, reference_cost, run

DENSE_WIDTHS = [Fraction(k, 20) for k in range(2, 41)]            # 0.1, 0.15, ..., 2
RESOLUTIONS = [33, 96, 97, 160, 224, 257]
# SSD's valid 3x3 / 4x4 extra layers need inputs of about 268 pixels or more
SPEC_RESOLUTIONS = {"ssd300_vgg16": [268, 300, 301, 320, 333, 512],
                    "ssd512_vgg16": [272, 300, 301, 320, 333, 512]}
NAMES = {"make_divisible": symbolic.make_divisible, "truncate": symbolic.truncate,
         "round_half_even": symbolic.round_half_even, "ceiling": sympy.ceiling,
         "floor": sympy.floor, "Max": sympy.Max, "Min": sympy.Min,
         "alpha": symbolic.alpha, "r": symbolic.r}


def parse_rendered(text: str):
    """Atom definitions and totals from `archcalc formula` text, as sympy expressions in alpha,
    r and the atom names."""
    atoms, totals, section = {}, {}, None
    for line in _unwrapped(text):
        if line.startswith("channel counts") or line.startswith("spatial sizes"):
            section = "atoms"
            continue
        if line.startswith("totals:"):
            section = "totals"
            continue
        if not line.strip():
            section = None          # sections end at a blank line
            continue
        if not line.startswith("  ") or line.lstrip().startswith(("=", "(")):
            continue
        m = re.match(r"^  (\w+)\s*= (.+)$", line)
        if not m or section is None:
            continue
        name, body = m.groups()
        if section == "atoms":
            atoms[name] = body
        elif section == "totals":
            totals[name] = body
    names = dict(NAMES, madds=sympy.Symbol("madds"), **{k: sympy.Symbol(k) for k in atoms})
    return ({k: sympy.sympify(v, locals=names) for k, v in atoms.items()},
            {k: sympy.sympify(v, locals=names) for k, v in totals.items()})


def _unwrapped(text: str) -> list[str]:
    """Lines with the terminal wrapping undone: a deeper-indented line that is neither a step
    table ("= ...") nor a note ("(3 of the ...") continues the formula line above it."""
    out: list[str] = []
    formula_line = False
    for line in text.splitlines():
        stripped = line.strip()
        is_cont = (line.startswith("    ") and formula_line and not stripped.startswith("=")
                   and not re.match(r"\(\d+ of the", stripped))
        if is_cont:
            out[-1] += " " + stripped
            continue
        out.append(line)
        formula_line = bool(re.match(r"^  \w+\s*= ", line))
    return out


class Evaluator:
    """Exact evaluation of the parsed text at a point: atoms first (in dependency order),
    then each total as a function of the atoms' values."""

    def __init__(self, atoms: dict, totals: dict):
        self.src = ExactSource()
        self.atom_fns = {k: self._compile(e) for k, e in atoms.items()}
        self.order = []
        pending = dict(atoms)
        while pending:
            ready = [k for k, e in pending.items()
                     if not ({s.name for s in e.free_symbols} & set(pending) - {k})]
            assert ready, f"cyclic atom definitions: {sorted(pending)}"
            for k in sorted(ready):
                self.order.append(k)
                del pending[k]
        self.total_fns = {k: self._compile(e) for k, e in totals.items()}

    def _compile(self, e):
        def leaf(x):
            if x == symbolic.alpha:
                return "env['alpha']"
            if x == symbolic.r:
                return "env['r']"
            if isinstance(x, sympy.Symbol):
                return f"env[{x.name!r}]"
            return None
        return self.src.compile("env", self.src(e, leaf))

    def __call__(self, alpha, r) -> dict:
        env = {"alpha": alpha, "r": r}
        for k in self.order:
            env[k] = self.atom_fns[k](env)
        out = {k: fn(env) for k, fn in self.total_fns.items() if k != "flops"}
        env["madds"] = out.get("madds")
        if "flops" in self.total_fns:
            out["flops"] = self.total_fns["flops"](env)
        return out


def exact_fn(expr):
    src = ExactSource()
    leaf = {symbolic.alpha: "alpha", symbolic.r: "r"}.get
    return src.compile("alpha, r", src(expr, leaf))


def guarded(table, width) -> bool:
    point = {symbolic.alpha: sympy.Rational(width.numerator, width.denominator)}
    return any(bool(g.xreplace(point)) for g in getattr(table, "guards", ()))


@pytest.mark.parametrize("path", SPECS, ids=SPEC_IDS)
def test_printed_forms_equal_point_evaluation_on_a_dense_grid(path):
    rc, text, err = run("formula", path)
    assert rc == 0 and err == ""
    atoms, totals = parse_rendered(text)
    table = archcalc.closed_form(path)
    assert set(totals) == {k for k in table.totals if k != "elementwise_ops"}
    formula_at = Evaluator(atoms, totals)
    widths = DENSE_WIDTHS if reference_cost(path) < 0.01 else DENSE_WIDTHS[::6]
    checked = 0
    for w in widths:
        if guarded(table, w):
            continue        # the text says where the forms do not hold (tested below)
        for res in SPEC_RESOLUTIONS.get(path.stem, RESOLUTIONS):
            want = reference(path, w, res)
            if want is None:
                continue
            got = formula_at(w, res)
            for k in totals:
                assert got[k] == want[k], (path.stem, w, res, k)
            checked += 1
    assert checked >= len(widths) * len(RESOLUTIONS) // 3


def test_guarded_widths_are_named():
    """Where the residual structure differs from the closed forms (MobileNetV2 at alpha 0.25:
    c32 = c16 = 8, so the first block gets a residual add), the text says so."""
    table = archcalc.closed_form(REPO / "specs" / "mobilenet_v2.yaml")
    if not getattr(table, "guards", ()):
        pytest.fail("MobileNetV2 closed forms carry no guards (core change?)")
    _, text, _ = run("formula", REPO / "specs" / "mobilenet_v2.yaml")
    assert "do not hold where" in text and "c16 = c32" in text.replace("c32 = c16", "c16 = c32")


def test_atom_step_tables_are_exact():
    f = formula.formulas(REPO / "specs" / "mobilenet_v2.yaml",
                         width_range=(Fraction(1, 4), Fraction(3, 2)))
    c16 = next(a for a in f.atoms if a.name == "c16")
    assert str(c16.expr) == "make_divisible(16*alpha, 8, 8)"
    # make_divisible(16 a): 8 until 16a > 10*8/9 (the +8 rule), 16 until 16a > 160/9 ...
    assert c16.pieces == [(8, Fraction(1, 4), True, Fraction(5, 9), True),
                          (16, Fraction(5, 9), False, Fraction(10, 9), True),
                          (24, Fraction(10, 9), False, Fraction(3, 2), True)]
    for value, a, a_closed, b, b_closed in c16.pieces:
        for x in (a, (a + b) / 2, b):
            inside = (a < x < b) or (x == a and a_closed) or (x == b and b_closed)
            if inside:
                assert archcalc.rounding.make_divisible(16 * x, 8, 8) == value


def test_per_stage_forms_sum_to_the_totals_and_match_the_rows():
    path = REPO / "specs" / "mobilenet_v2.yaml"
    f = formula.formulas(path, per_stage=True)
    assert [k for k, _ in f.stages][:3] == ["stem.0", "bottlenecks.0", "bottlenecks.1"]
    names = formula.symbols_for(f.atoms)
    back = {v: k for k, v in names.items()}
    for w, res in ((Fraction(7, 20), 160), (Fraction(1), 224), (Fraction(13, 10), 193)):
        rows = archcalc.evaluate(path, w, res).rows
        for key, d in f.stages:
            want = sum(r.madds for r in rows if ".".join(r.name.split(".")[:2]) == key)
            got = d["madds"].expr().xreplace(back)
            assert exact_fn(got)(w, res) == want, (key, w, res)


def _no_rounding(path) -> str:
    text = path.read_text()
    return re.sub(r"(?m)^(\s*rounding:\s*)\S+", r"\1none", text)


def test_idealised_mobilenet_v1_is_the_papers_polynomial():
    path = REPO / "specs" / "mobilenet_v1.yaml"
    ideal = formula.idealised(path)
    rho = sympy.Symbol("rho", positive=True)
    madds = sympy.expand(ideal.totals["madds"])
    assert sympy.Poly(madds, symbolic.alpha, rho).monoms() and madds.coeff(rho, 1) == 0
    # no rounding and no ceilings: equal to a rounding-none compile wherever the channel counts
    # are whole and r is a multiple of 32 (every ceil(r/s) exact)
    spec = parse_spec(_no_rounding(path), str(path))
    assert spec.width.rounding == "none"
    for a in (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(1)):
        for res in (128, 160, 192, 224):
            want = archcalc.evaluate(spec, a, res).totals
            point = {symbolic.alpha: sympy.Rational(a.numerator, a.denominator),
                     rho: sympy.Rational(res, 224)}
            for m in ("params", "madds", "activation_bytes"):
                assert ideal.totals[m].xreplace(point) == want[m], (a, res, m)
    # the alpha^2 rho^2 term is the 1x1 convolutions: 94.86% of MAdds (Howard et al., Table 2)
    rows = archcalc.evaluate(path, 1, 224).rows
    pointwise = sum(r.madds for r in rows if r.op == "pointwise")
    total = sum(r.madds for r in rows)
    assert ideal.leading["madds"] == Fraction(pointwise, total)
    assert round(float(ideal.leading["madds"]) * 100, 2) == 94.86


def test_cli_formula_variants():
    path = REPO / "specs" / "mobilenet_v2.yaml"
    rc, text, _ = run("formula", path, "--ideal")
    assert rc == 0 and "rho**2*(" in text and "alpha^2 rho^2 term" in text
    rc, text, _ = run("formula", path, "--latex", "--metrics", "madds")
    assert rc == 0 and "h_{2}^{2}" in text and "params =" not in text
    rc, text, _ = run("formula", path, "--per-stage")
    assert rc == 0 and "per stage" in text and "bottlenecks.6:" in text
    rc, _, err = run("formula", path, "--width-range", "0.5:0.1")
    assert rc == 2 and "interval" in err
    rc, _, err = run("formula", path, "--metrics", "latency")
    assert rc == 2 and "unknown metric" in err
