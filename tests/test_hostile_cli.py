"""Hostile and new-user input to the command line (issue 10): every bad input is ONE line on
stderr and exit status 2, quickly; every output says what it measured; text fits the
terminal; LaTeX is LaTeX; zoo names work from any directory.

Commands run as the installed console script in a subprocess, from a temporary directory
outside the repository unless a test needs the repository's relative paths, with $COLUMNS
unset and no terminal (so text is fitted to 80 columns). Time bounds (TIMEOUT) are generous
guards against hangs on a busy machine, never speed checks.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

import archcalc
from archcalc.cost import CONVENTIONS

REPO = Path(__file__).resolve().parents[1]
ARCHCALC = Path(sys.executable).parent / "archcalc"
TIMEOUT = 120          # seconds: a hang guard, not a benchmark

# A cell that concatenates its input (16x16 after the stride-2 conv) with the output of the
# row before it (32x32): no point of any width or resolution >= 2 builds.
BAD_CONCAT = """\
name: badcat
input: {channels: 3, resolution: 32}
cells:
  pair:
    params: {c: 16}
    inputs: [x, prev]
    nodes:
      p: {from: prev, ops: [{op: conv, c: $c}]}
    output: {concat: [x, p]}
layers:
  body:
    - {op: conv, c: 16}
    - {op: conv, c: 32, s: 2}
    - {op: pair, c: 16}
"""
CONCAT_LINE = 14        # the `pair` row, where report locates the error


def run(*args, cwd=None, stdout=subprocess.PIPE, env_extra=None, timeout=TIMEOUT):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update(env_extra or {})
    proc = subprocess.run([str(ARCHCALC), *map(str, args)], cwd=cwd, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=timeout, env=env)
    return proc.returncode, proc.stdout or "", proc.stderr


def one_line_error(rc, err, *says):
    assert rc == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("archcalc: error: "), err
    for s in says:
        assert s in lines[0], (s, lines[0])
    return lines[0]


@pytest.fixture
def outside(tmp_path):
    """A working directory outside the repository (zoo names must resolve from anywhere)."""
    d = tmp_path / "elsewhere"
    d.mkdir()
    return d


def data_text(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


# -- §2: small inputs that hung ---------------------------------------------------------------

@pytest.mark.parametrize("args,says", [
    (["fit", "mobilenet_v2", "--max-madds", "1e100000000"], "exponent"),
    (["fit", "mobilenet_v2", "--max-params", "1e40M"], "exponent"),
    (["fit", "mobilenet_v2", "--max-madds", "300M", "--width-range", "0.1:1e6"], "MAX_BREAKPOINTS"),
    (["sweep", "mobilenet_v2", "--widths", "1e100000000"], "exponent"),
    (["sweep", "mobilenet_v2", "--widths", "0.1:2:1e-100000000"], "exponent"),
    (["sweep", "mobilenet_v2", "--widths", "0.1:2:0.0000001", "--resolutions", "224"], "MAX_GRID_AXIS"),
    (["sweep", "mobilenet_v2", "--widths", "9" * 5000], "characters"),
])
def test_huge_numbers_and_intervals_are_refused_quickly(outside, args, says):
    one_line_error(*run(*args, cwd=outside)[::2], says)


def test_breakpoints_grow_with_channels_and_are_bounded(outside):
    """The slow mechanism behind `fit`/`formula` on a spec with c: 1e5: the breakpoints of
    make_divisible(c * alpha) number about c (hi - lo) / 4. fit refuses beyond the limit;
    formula still prints (the step table says it is too long to list)."""
    spec = outside / "wide.yaml"
    spec.write_text("name: wide\ninput: {channels: 3, resolution: 32}\nlayers:\n  body:\n"
                    "    - {op: conv, c: 30000, k: 1, s: 1}\n")
    one_line_error(*run("fit", spec, "--max-madds", "1G", cwd=outside)[::2], "MAX_BREAKPOINTS")
    rc, out, err = run("formula", spec, "--width-range", "0.25:10", cwd=outside)
    assert rc == 0 and err == "" and "too many steps to list" in out
    rc, out, err = run("formula", "mobilenet_v2", "--width-range", "0.25:1000000", cwd=outside)  # hung
    assert rc == 0 and err == "" and "too many steps to list" in out


def test_many_distinct_rows_formula_finishes(outside):
    """400 bottleneck rows with distinct c: formula is linear in the rows (it took 34 s)."""
    rows = "\n".join(f"    - {{op: bottleneck, t: 6, c: {8 * (i + 1)}, n: 1, s: 1}}" for i in range(400))
    spec = outside / "rows.yaml"
    spec.write_text(f"name: rows\ninput: {{channels: 8, resolution: 32}}\nlayers:\n  body:\n{rows}\n")
    rc, out, err = run("formula", spec, "--metrics", "params", cwd=outside)
    assert rc == 0 and err == ""
    # params of row i: 1x1 expand (c_in * 6 c_in) + 3x3 dw (9 * 6 c_in) + 1x1 project
    # (6 c_in * c), no BN params, no biases, at width 1 (multiples of 8: no rounding);
    # c_in of row 0 is the input's 8.
    total, c_in = 0, 8
    for i in range(400):
        c = 8 * (i + 1)
        hidden = 6 * c_in
        total += c_in * hidden + 9 * hidden + hidden * c
        c_in = c
    assert archcalc.evaluate(str(spec)).totals["params"] == total


def test_sweep_product_is_bounded_and_says_how_to_chunk(outside):
    # each axis is under MAX_GRID_AXIS (950,001 widths; 481 resolutions), the product is not
    line = one_line_error(*run("sweep", "mobilenet_v2", "--widths", "0.1:2:0.000002",
                               "--resolutions", "32:512:1", cwd=outside)[::2], "MAX_SWEEP_POINTS")
    assert "chunks" in line and f"{950_001 * 481:,}" in line


# -- §3: output errors ------------------------------------------------------------------------

@pytest.mark.parametrize("out,says", [("/nonexistent/x.csv", "No such file"), (".", "directory")])
def test_sweep_out_unwritable(outside, out, says):
    one_line_error(*run("sweep", "mobilenet_v2", "--widths", "1", "--resolutions", "224", "--out", out,
                        cwd=outside)[::2], says)


def test_frontier_out_unwritable(outside):
    one_line_error(*run("frontier", "mobilenet_v2", "--out", "/nonexistent/f.html",
                        cwd=outside)[::2], "/nonexistent/f.html")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["report", "mobilenet_v2"], ["compare", "mobilenet_v1", "mobilenet_v2"],
                                  ["sweep", "mobilenet_v2", "--widths", "0.5:1:0.05", "--resolutions", "96:224:32"],
                                  ["fit", "mobilenet_v2", "--max-madds", "300M", "--resolutions", "224"]])
def test_stdout_full_disk(outside, args):
    with open("/dev/full", "w") as full:
        rc, _, err = run(*args, cwd=outside, stdout=full)
    one_line_error(rc, err, "No space left")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", [[], ["--format", "parquet"]], ids=["csv", "parquet"])
@pytest.mark.parametrize("grid", [[], ["--widths", "0.25:1.5:0.005", "--resolutions", "64:1063:4"]],
                         ids=["default-grid", "62750-points"])
def test_sweep_out_full_disk(outside, fmt, grid):
    """One line, whichever writer meets the full disk (the Parquet one writes through a
    buffer of pyarrow's own: its failure must not also be printed by Arrow's destructor)."""
    one_line_error(*run("sweep", "mobilenet_v2", *grid, "--out", "/dev/full", *fmt,
                        cwd=outside)[::2], "/dev/full", "No space left")


# -- §4: a spec that cannot be built anywhere --------------------------------------------------

@pytest.mark.parametrize("command", [["formula"], ["formula", "--ideal"], ["sweep"],
                                     ["fit", "--max-madds", "1G"]])
def test_unbuildable_spec_fails_like_report(outside, command):
    spec = outside / "badcat.yaml"
    spec.write_text(BAD_CONCAT)
    report_line = one_line_error(*run("report", spec, cwd=outside)[::2], f"badcat.yaml:{CONCAT_LINE}")
    assert "concat" in report_line
    rc, out, err = run(command[0], spec, *command[1:], cwd=outside)
    one_line_error(rc, err, f"badcat.yaml:{CONCAT_LINE}", "concat")
    assert out == ""


def test_sweep_says_how_many_points_it_skipped(outside):
    """At r = 1 every size is 1x1 and the concat builds; at r = 32 it does not."""
    spec = outside / "badcat.yaml"
    spec.write_text(BAD_CONCAT)
    rc, out, err = run("sweep", spec, "--widths", "1", "--resolutions", "1,32", "--metrics", "madds", cwd=outside)
    assert rc == 0
    assert err.strip() == "archcalc: note: 1 of 2 grid points skipped: the spec cannot be built " \
        "there (no channels left, a spatial size below 1, or mismatched shapes)"
    rows = list(csv.DictReader(io.StringIO(data_text(out))))
    assert [(r["width"], r["resolution"]) for r in rows] == [("1", "1")]
    assert int(rows[0]["madds"]) == archcalc.evaluate(str(spec), 1, 1).totals["madds"]


# -- §7: every output says what it measured ------------------------------------------------------

def _expect_meta(meta: dict, spec_shown="zoo:mobilenet_v2", convention="paper", dtype="fp32"):
    assert meta["archcalc_version"] == archcalc.__version__
    assert meta["spec"] == "MobileNetV2" and meta["spec_path"] == spec_shown
    assert meta["convention"] == convention
    assert meta["convention_description"] == CONVENTIONS[convention].describe()
    assert meta["dtype"] == dtype


def test_report_csv_provenance_round_trips_with_pandas(outside):
    import pandas as pd

    from archcalc.report.provenance import read_csv_comments
    rc, out, err = run("report", "mobilenet_v2", "-a", "0.75", "-r", "160", "-f", "csv",
                       "--dtype", "fp16", cwd=outside)
    assert rc == 0 and err == ""
    meta = read_csv_comments(out)
    _expect_meta(meta, dtype="fp16")
    assert meta["width"] == "0.75" and meta["resolution"] == "160"
    frame = pd.read_csv(io.StringIO(out), comment="#")
    want = archcalc.evaluate("mobilenet_v2", "0.75", 160, dtype="fp16")
    assert int(frame["madds"].sum()) == want.totals["madds"]
    assert list(frame["name"]) == [r.name for r in want.rows]


def test_report_json_carries_version_and_convention(outside):
    rc, out, _ = run("report", "mobilenet_v2", "-f", "json", cwd=outside)
    doc = json.loads(out)
    assert doc["archcalc_version"] == archcalc.__version__
    assert doc["spec_shown"] == "zoo:mobilenet_v2"
    assert doc["convention_description"] == CONVENTIONS["paper"].describe()


def test_sweep_csv_json_parquet_provenance(outside):
    import pandas as pd
    import pyarrow.parquet as pq

    from archcalc.report.provenance import read_csv_comments
    grid = ["-a", "0.5,1", "-r", "160,224", "--convention", "torchvision"]
    want = {(w, r): archcalc.evaluate("mobilenet_v2", w, r, convention="torchvision").totals["madds"]
            for w in ("0.5", "1") for r in (160, 224)}
    rc, out, _ = run("sweep", "mobilenet_v2", *grid, cwd=outside)
    meta = read_csv_comments(out)
    _expect_meta(meta, convention="torchvision")
    assert meta["widths"] == "0.5,1" and meta["resolutions"] == "160,224"
    frame = pd.read_csv(io.StringIO(out), comment="#", dtype={"width": str})
    assert {(w, int(r)): int(m) for w, r, m in zip(frame.width, frame.resolution, frame.madds)} == want
    rc, out, _ = run("sweep", "mobilenet_v2", *grid, "-f", "json", cwd=outside)
    doc = json.loads(out)
    _expect_meta(dict(doc, spec_path=doc["spec_shown"]), convention="torchvision")
    rc, _, err = run("sweep", "mobilenet_v2", *grid, "--out", outside / "g.parquet", cwd=outside)
    assert rc == 0 and err == ""
    table = pq.read_table(outside / "g.parquet")
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items() if not k.startswith(b"ARROW")}
    _expect_meta(meta, convention="torchvision")
    frame = table.to_pandas()
    assert {(w, int(r)): int(m) for w, r, m in zip(frame.width_text, frame.resolution, frame.madds)} == want


def test_compare_csv_and_fit_csv_provenance(outside):
    import pandas as pd

    from archcalc.report.provenance import read_csv_comments
    rc, out, _ = run("compare", "mobilenet_v1", "mobilenet_v2@0.5,160", "-f", "csv", cwd=outside)
    meta = read_csv_comments(out)
    assert meta["archcalc_version"] == archcalc.__version__
    assert meta["convention_description"] == CONVENTIONS["paper"].describe()
    assert "zoo:mobilenet_v2" in meta["column 2"] and "width 0.5, resolution 160" in meta["column 2"]
    frame = pd.read_csv(io.StringIO(out), comment="#")
    madds = frame[frame.metric == "madds"].iloc[0]
    assert int(madds.iloc[2]) == archcalc.evaluate("mobilenet_v2", "0.5", 160).totals["madds"]
    rc, out, _ = run("fit", "mobilenet_v2", "--max-madds", "300M", "--resolutions", "224", "-f", "csv",
                     cwd=outside)
    _expect_meta(read_csv_comments(out))


# -- §7: frontier points files ---------------------------------------------------------------

POINTS = "label,width,resolution,top1\nmine a,0.5,160,66\nmine b,0.75,192,70\n"


def test_frontier_points_with_several_specs_need_a_spec_column(outside):
    (outside / "pts.csv").write_text(POINTS)
    one_line_error(*run("frontier", "mobilenet_v2", "mobilenet_v1", "--points", "pts.csv",
                        cwd=outside)[::2], "pts.csv", "spec")
    (outside / "pts2.csv").write_text("spec,label,width,resolution,top1\n"
                                      "mobilenet_v2,mine a,0.5,160,66\n")
    rc, out, err = run("frontier", "mobilenet_v2", "mobilenet_v1", "--points", "pts2.csv",
                       "--no-published", cwd=outside)
    assert rc == 0 and err == ""
    line = next(x for x in out.splitlines() if "mine a" in x)
    madds = archcalc.evaluate("mobilenet_v2", "0.5", 160).totals["madds"]
    assert f"{madds:,}" in line and "(published)" not in line and "pts2" in line


def test_frontier_one_spec_labels_user_points_by_their_file(outside):
    (outside / "pts.csv").write_text(POINTS)
    rc, out, _ = run("frontier", "mobilenet_v2", "--points", "pts.csv", cwd=outside)
    mine = [x for x in out.splitlines() if "mine " in x]
    assert mine and all("(published)" not in x and "pts" in x for x in mine)


def test_frontier_unknown_metric_lists_the_metrics(outside):
    line = one_line_error(*run("frontier", "mobilenet_v2", "--x", "latency", cwd=outside)[::2],
                          "latency")
    assert "metrics available" in line and "pixel1_ms" in line and "madds" in line


def test_points_file_numbers_are_bounded(outside):
    (outside / "bad.csv").write_text("label,width,resolution,top1\nx,1e100000000,224,70\n")
    one_line_error(*run("frontier", "mobilenet_v2", "--points", "bad.csv", cwd=outside)[::2],
                   "exponent")


# -- §7: progress only on a terminal -----------------------------------------------------------

@pytest.mark.parametrize("args", [["formula", "mobilenet_v2"], ["derive", "separable"],
                                  ["fit", "mobilenet_v2", "--max-madds", "150M", "--resolutions", "160"],
                                  ["frontier", "mobilenet_v2", "--x", "madds", "--y", "params"]])
def test_no_progress_when_not_a_terminal(outside, args):
    rc, out, err = run(*args, cwd=outside)
    assert rc == 0 and err == "" and out


@pytest.mark.skipif(sys.platform != "linux", reason="pty")
def test_progress_shows_on_a_terminal(outside):
    import pty
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.run([str(ARCHCALC), "formula", "nasnet_a_mobile"], cwd=outside,
                          stdout=subprocess.DEVNULL, stderr=follower, timeout=TIMEOUT, env=env)
    os.close(follower)
    seen = b""
    try:
        while chunk := os.read(leader, 65536):
            seen += chunk
    except OSError:           # the terminal is closed once everything is read
        pass
    os.close(leader)
    assert proc.returncode == 0 and b"formula" in seen


# -- §7: 80 columns ----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["report", "mobilenet_v2"], ["report", "nasnet_a_mobile", "--ops"],
                                  ["report", "mobilenet_v2", "--symbolic"],
                                  ["report", "efficientnet_b0", "--elementwise"],
                                  ["compare", "mobilenet_v1", "mobilenet_v2", "shufflenet_v1@2.0",
                                   "nasnet_a_mobile", "--set", "groups=3"],
                                  ["formula", "mobilenet_v2"]])
def test_text_fits_80_columns(outside, args):
    rc, out, err = run(*args, cwd=outside)
    assert rc == 0 and err == ""
    longest = max(out.splitlines(), key=len)
    assert len(longest) <= 80, longest


def test_columns_is_honoured_and_numbers_survive_wrapping(outside):
    rc, out, _ = run("report", "mobilenet_v2", env_extra={"COLUMNS": "132"}, cwd=outside)
    assert max(len(x) for x in out.splitlines()) > 80          # the wide layout, unabbreviated
    assert "conv 3x3/2 + bn + relu6" in out and "% MAdds" in out
    rc, narrow, _ = run("report", "mobilenet_v2", cwd=outside)
    madds = archcalc.evaluate("mobilenet_v2").totals["madds"]
    assert f"{madds:,}" in out and f"{madds:,}" in narrow


# -- §7: LaTeX ---------------------------------------------------------------------------------

def _latex_lines_parse(text: str) -> int:
    from matplotlib.mathtext import MathTextParser
    parser = MathTextParser("path")
    formulas = 0
    for line in text.splitlines():
        if not line or line.startswith("%"):
            continue
        m = re.fullmatch(r"\\\[ (.+) \\\]", line)
        assert m, f"not LaTeX: {line!r}"
        parser.parse("$" + m.group(1) + "$")
        formulas += 1
    return formulas


@pytest.mark.parametrize("args", [["formula", "mobilenet_v2", "--latex"],
                                  ["formula", "mobilenet_v3_small", "--latex", "--per-stage"],
                                  ["formula", "mobilenet_v1", "--ideal", "--latex"],
                                  ["derive", "--latex"]])
def test_latex_output_is_latex_only(outside, args):
    rc, out, err = run(*args, cwd=outside)
    assert rc == 0 and err == ""
    assert _latex_lines_parse(out) >= 3
    math = "\n".join(x for x in out.splitlines() if not x.startswith("%"))
    assert "operatorname{make}_" not in math and "**" not in math


def test_latex_names_the_rounding_functions():
    import sympy

    from archcalc import symbolic
    from archcalc.report.latex import latex
    e = symbolic.make_divisible(16 * symbolic.alpha, 8, 8)
    assert latex(e) == r"\operatorname{make\_divisible}\left(16 \alpha, 8, 8\right)"
    assert latex(symbolic.round_half_even(sympy.Symbol("x") / 2)).startswith(
        r"\operatorname{round\_half\_even}\left(")


# -- §7: compare, formula --ideal, FitResult, bare archcalc, help -----------------------------

def test_compare_sources_name_their_columns_and_markdown_separates_them(outside):
    args = ["compare", "mobilenet_v1", "mobilenet_v2", "shufflenet_v1@2.0", "--set", "groups=3"]
    rc, out, _ = run(*args, cwd=outside)
    published = [x for x in out.splitlines() if x.startswith("published")]
    assert published and all(re.match(r"published \(.+\): ", x) for x in published)
    assert any("MobileNetV1, MobileNetV2" in x for x in published)
    assert any("ShuffleNetV1" in x and "Table 5" in x for x in published)
    rc, md, _ = run(*args, "-f", "markdown", cwd=outside)
    lines = md.splitlines()
    first = next(i for i, x in enumerate(lines) if "published (" in x)
    assert lines[first - 1] == "" and lines[first - 2].startswith("|")


def test_compare_unknown_set_names_the_files(outside):
    line = one_line_error(*run("compare", "mobilenet_v1", "mobilenet_v2", "--set", "foo=3",
                               cwd=outside)[::2], "--set foo", "zoo:mobilenet_v1", "zoo:mobilenet_v2")
    assert "<spec>" not in line


def test_formula_ideal_names_the_specs_own_source(outside):
    rc, out, _ = run("formula", "mobilenet_v2", "--ideal", cwd=outside)
    assert rc == 0 and "source: Sandler et al. 2018" in out
    assert "the MobileNetV1 paper's eq. 7" not in out


def test_fit_result_prints_concisely():
    from archcalc.design.engine import compile_forms
    from archcalc.design.fit import Budget, fit
    result = fit(compile_forms("mobilenet_v2"), [Budget("madds", Fraction(300_000_000), "300M")],
                 [224], widths=["0.5", "1", "1.4"])
    text = repr(result)
    assert text == str(result) and len(text) < 300 and "\n" not in text
    # MAdds at 1.0/224 are 300,774,272 > 300M, so 0.5 is the widest of the grid that fits
    assert archcalc.evaluate("mobilenet_v2", 1, 224).totals["madds"] > 300_000_000
    assert "224: 0.5" in text and "MobileNetV2" in text


def test_bare_archcalc_lists_the_commands(outside):
    rc, out, err = run(cwd=outside)
    assert rc == 2 and out == ""
    for command in ("report", "compare", "formula", "sweep", "fit", "frontier", "zoo"):
        assert re.search(rf"^\s+{command}\s", err, re.M), command


@pytest.mark.parametrize("command", ["report", "compare"])
def test_format_has_help(outside, command):
    rc, out, _ = run(command, "--help", cwd=outside)
    options = out[out.index("options:"):]
    block = options[options.index("--format"):]
    text = " ".join(block.split("\n  -")[0].split())       # the option's help, unwrapped
    assert "comment lines" in text and "json" in text.split("}", 1)[1]


# -- zoo names from any directory ----------------------------------------------------------------

def test_reports_show_zoo_specs_by_name(outside):
    rc, out, _ = run("report", "mobilenet_v2", cwd=outside)
    assert rc == 0 and "(zoo:mobilenet_v2)" in out and "site-packages" not in out
    assert str(REPO) not in out


@pytest.mark.parametrize("args", [
    ["compare", "mobilenet_v1", "mobilenet_v2@0.5"],
    ["sweep", "mobilenet_v2", "--widths", "1", "--resolutions", "224"],
    ["formula", "mobilenet_v1", "--metrics", "madds"],
    ["fit", "mobilenet_v2", "--max-madds", "300M", "--resolutions", "224"],
    ["frontier", "mobilenet_v2", "mobilenet_v1"],
])
def test_every_command_accepts_zoo_names(outside, args):
    rc, out, err = run(*args, cwd=outside)
    assert rc == 0 and err == "", err
    assert str(REPO) not in out


def test_frontier_finds_published_points_of_a_zoo_name(outside):
    rc, out, _ = run("frontier", "mobilenet_v2", cwd=outside)
    assert "MobileNetV2 (published)" in out


# -- README's Python snippet -------------------------------------------------------------------

def test_readme_python_snippet_holds(monkeypatch):
    """Every line of README.md's Python API block runs; its last line is True as written."""
    monkeypatch.chdir(REPO)
    text = (REPO / "README.md").read_text()
    block = text[text.index("## Python API"):]
    code = block[block.index("```python") + len("```python"):block.index("```", block.index("```python") + 3)]
    import ast
    tree = ast.parse(code)
    *body, last = tree.body
    namespace: dict = {}
    exec(compile(ast.Module(body=body, type_ignores=[]), "README.md", "exec"), namespace)  # noqa: S102
    assert eval(compile(ast.Expression(last.value), "README.md", "eval"), namespace) is True  # noqa: S307


# -- §3: renderers never float() an unbounded count -------------------------------------------

def test_renderers_format_huge_counts_without_float():
    from archcalc.report.compare import _kilo, ratio_text as _ratio
    from archcalc.numbers import approx
    huge = 10 ** 400
    assert approx(huge, ".1f").startswith("1")
    assert approx(Fraction(huge, 3), "g").startswith("3.33")
    assert _ratio(huge, 1) .startswith("x1") and _ratio(2 * huge, huge) == "x2.00"
    assert _kilo(huge + 499) == f"{10 ** 397}K"
