"""`archcalc formula | derive | sweep | fit | frontier`: the design-space sub-commands.

`add_commands(subparsers)` registers them on the `archcalc` parser; each sub-command's `run`
returns the text to print and raises archcalc's OptionError / SpecError on bad input (exit
status 2). Width flags say what they take (archcalc.graph.point parses all three):
`--widths`/`--resolutions` a grid (sweep, fit, frontier), `--width-range LO:HI` an interval
(fit, formula); `--width A` is a point, as in report. The spellings before issue 11
(`--width`/`-a`, `--resolution`/`-r` for grids and ranges) stay accepted, hidden from help. This module imports only argparse at import time; numpy, sympy and plotly are
imported inside the commands that use them.
"""
from __future__ import annotations

import argparse
import os
import sys

from ..errors import OptionError
from .options import convention_from as _convention
from .options import model_options as _model_options
from ..numbers import quote
from .options import parse_pairs

DEFAULT_FORMULA_WIDTHS = "0.25:1.5"
DEFAULT_SWEEP_WIDTHS = "0.25:1.5:0.05"
DEFAULT_SWEEP_RESOLUTIONS = "96:320:16"
DEFAULT_FIT_WIDTHS = "0.1:2"
DEFAULT_FIT_RESOLUTIONS = "96:320:32"
DEFAULT_FRONTIER_WIDTHS = "0.35,0.5,0.75,1,1.3,1.4"
DEFAULT_FRONTIER_RESOLUTIONS = "96:224:32"
STDOUT_TEXT_LIMIT = 200_000     # sweeps larger than this stream to stdout instead of a string


# -- shared options ----------------------------------------------------------------------------

def _metrics(text):
    if text is None:
        return None
    out = [m.strip() for m in text.split(",") if m.strip()]
    if not out:
        raise OptionError("--metrics: give at least one metric")
    return out


def _hidden(p, dest: str, *flags: str) -> None:
    """The spelling a flag had before issue 11, accepted for `dest` and left out of --help."""
    p.add_argument(*flags, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _forms(args, spec=None, metrics=None):
    from ..cost import Evaluator
    return Evaluator(spec or args.spec, _convention(args), args.dtype,
                     sets=parse_pairs(args.sets), metrics=metrics)


# -- formula -----------------------------------------------------------------------------------

def cmd_formula(args) -> str:
    from ..report.progress import progress
    from ..report.terminal import columns
    from ..design import formula
    from ..graph.point import parse_width_interval
    from ..report.formula import render_formulas, render_idealised
    if args.ideal:
        with progress("formula: idealised closed forms"):
            ideal = formula.idealised(args.spec, convention=_convention(args), dtype=args.dtype,
                                      sets=parse_pairs(args.sets))
        return render_idealised(ideal, latex=args.latex, width=columns())
    span = parse_width_interval(args.width_range)
    if span is None:
        raise OptionError(f"--width-range for formula is a range LO:HI, got "
                          f"{quote(args.width_range)}")
    with progress("formula: closed forms", total=formula.STEPS) as advance:
        f = formula.formulas(args.spec, convention=_convention(args), dtype=args.dtype,
                             sets=parse_pairs(args.sets), per_stage=args.per_stage,
                             width_range=span, metrics=_metrics(args.metrics), advance=advance)
    return render_formulas(f, latex=args.latex, width=columns())


# -- derive ------------------------------------------------------------------------------------

def cmd_derive(args) -> str:
    from ..report.progress import progress
    from ..design import explain
    from ..report.derive import render
    names = list(args.claims or explain.CLAIMS)
    claims = []
    with progress("derive: the papers' claims", total=len(names)) as advance:
        for name in names:
            claims += explain.derive([name])
            advance()
    return render(claims, latex=args.latex)


# -- sweep -------------------------------------------------------------------------------------

def cmd_sweep(args) -> str:
    from ..report.output import write_stdout
    from ..design import sweep
    from ..design.grid import check_grid_size
    from ..graph.point import parse_resolution_grid, parse_width_grid
    check_grid_size(args.widths, args.resolutions)      # before building either axis
    forms = _forms(args, metrics=_metrics(args.metrics))
    widths = parse_width_grid(args.widths)
    resolutions = parse_resolution_grid(args.resolutions, forms.spec.resolution)
    if args.out:
        counts: list = []
        text = sweep.sweep_file(forms, widths, resolutions, args.out, args.format, None,
                                args.progress, counts)
        _note_skipped(sweep, *counts)
        return text
    fmt = args.format or "csv"
    if fmt == "parquet":
        raise OptionError("--format parquet writes a file: give --out FILE")
    if len(widths) * len(resolutions) <= STDOUT_TEXT_LIMIT:
        text, n, skipped = sweep.sweep_text_counted(forms, widths, resolutions, fmt)
        _note_skipped(sweep, n, skipped)
        return text
    try:
        n, skipped = sweep.write(forms, widths, resolutions, sys.stdout, fmt, None, args.progress)
    except BrokenPipeError:      # `archcalc sweep ... | head`
        write_stdout("")
        return ""
    write_stdout("")             # flush: a full disk is one line
    _note_skipped(sweep, n, skipped)
    return ""


def _note_skipped(sweep, written: int, skipped: int) -> None:
    if skipped:
        print(f"archcalc: note: {sweep.skipped_note(skipped, written + skipped)}", file=sys.stderr)


# -- fit ---------------------------------------------------------------------------------------

def cmd_fit(args) -> str:
    from ..report.progress import progress
    from ..design import fit
    from ..design.grid import check_grid_size, parse_budget
    from ..graph.point import parse_resolution_grid, parse_width_grid, parse_width_interval
    budgets = []
    memory_metric = "peak_memory_bytes_streamed" if args.memory == "streamed" else "peak_memory_bytes"
    for metric, text, unit in (("madds", args.max_madds, "count"), ("params", args.max_params, "count"),
                               (memory_metric, args.max_memory, "bytes")):
        if text is not None:
            budgets.append(fit.Budget(metric, parse_budget(text, unit), text))
    for name, value in parse_pairs(args.max, "--max", "METRIC").items():
        budgets.append(fit.Budget(name, parse_budget(value, "bytes" if "bytes" in name else "count"),
                                  value))
    if not budgets:
        raise OptionError("give at least one budget: --max-madds, --max-params, --max-memory or "
                          "--max METRIC=VALUE")
    widths, interval = _fit_widths(args)
    if interval is None:
        check_grid_size(widths, args.resolutions, streamed=False)
    with progress("fit: closed forms, breakpoints, budgets", total=3) as advance:
        forms = _forms(args)
        advance()
        resolutions = parse_resolution_grid(args.resolutions, forms.spec.resolution)
        if interval is not None:
            result = fit.fit(forms, budgets, resolutions, interval=interval, advance=advance)
        else:
            result = fit.fit(forms, budgets, resolutions, widths=parse_width_grid(widths),
                             advance=advance)
    from ..report.fit import render
    return render(result, args.format)


def _fit_widths(args):
    """(grid text, None) for --widths, (None, (LO, HI)) for --width-range; the old --width
    takes either (an interval when it is LO:HI)."""
    from ..graph.point import parse_width_interval
    given = [(flag, text) for flag, text in (("--widths", args.widths),
                                             ("--width-range", args.width_range),
                                             ("--width", args.width_either)) if text is not None]
    if len(given) > 1:
        raise OptionError(f"give one of {' and '.join(flag for flag, _ in given)}")
    flag, text = given[0] if given else ("--width-range", DEFAULT_FIT_WIDTHS)
    interval = parse_width_interval(text)
    if flag == "--width-range" and interval is None:
        raise OptionError(f"--width-range is an interval LO:HI, got {quote(text)} (a grid is "
                          f"--widths)")
    if flag == "--widths":
        return text, None
    return (None, interval) if interval is not None else (text, None)


# -- frontier ----------------------------------------------------------------------------------

def cmd_frontier(args) -> str:
    from ..report.progress import progress
    from ..design import frontier
    from ..design.grid import check_grid_size
    if not args.specs and not args.points:
        raise OptionError("give at least one SPEC or --points FILE")
    sx = frontier.direction(args.x, args.maximize, args.minimize)
    sy = frontier.direction(args.y, args.maximize, args.minimize)
    costs_only = all(frontier.direction(m) == "min" and m not in ("pixel1_ms",)
                     for m in (args.x, args.y))
    widths = args.widths or (DEFAULT_FRONTIER_WIDTHS if costs_only else None)
    resolutions = args.resolutions or (DEFAULT_FRONTIER_RESOLUTIONS if costs_only else None)
    if (widths is None) != (resolutions is None):
        widths = widths or DEFAULT_FRONTIER_WIDTHS
        resolutions = resolutions or DEFAULT_FRONTIER_RESOLUTIONS
    if widths is not None:
        check_grid_size(widths, resolutions, streamed=False)
    left_out: list = []
    with progress("frontier: specs and points", total=len(args.specs) + 1) as advance:
        points = frontier.collect_points(args.specs, args.x, args.y, points_files=args.points or (),
                                         convention=_convention(args), dtype=args.dtype,
                                         sets=parse_pairs(args.sets), widths=widths,
                                         resolutions=resolutions, published=not args.no_published,
                                         advance=advance, left_out=left_out)
        front = frontier.pareto_front(points, [(args.x, sx), (args.y, sy)])
        advance()
    mine = {os.path.normpath(f) for f in args.points or ()}
    by_file: dict = {}
    for file, label, reason in left_out:      # the user's own points are never dropped silently
        if os.path.normpath(file) in mine:
            by_file.setdefault((file, reason), []).append(label)
    for (file, reason), labels in by_file.items():
        print(f"archcalc: note: {len(labels)} point(s) of {file} left out ({reason}), e.g. "
              f"{labels[0]}", file=sys.stderr)
    from ..report.frontier import figure, render
    text = render(points, args.x, args.y, front, sx, sy)
    if args.out:
        from ..report.output import output_file
        fig = figure(points, args.x, args.y, front, title=args.title or "")
        html = fig.to_html(include_plotlyjs=True if args.plotlyjs == "inline" else "cdn")
        with output_file(args.out) as fh:
            fh.write(html)
        text += f"\nwrote {args.out} ({len(points)} points, {len(front)} on the front)\n"
    return text


# -- registration ------------------------------------------------------------------------------

def add_commands(subparsers) -> None:
    """Register formula, derive (alias explain), sweep, fit and frontier."""
    p = subparsers.add_parser(
        "formula", help="closed forms of params, MAdds and memory in alpha and r",
        description="Closed forms of SPEC's totals in the width multiplier alpha and the input "
                    "resolution r: channel counts as named step functions of alpha (with their "
                    "exact values), spatial sizes as functions of r, every total grouped by "
                    "spatial size. --ideal drops the rounding (the papers' polynomials in alpha "
                    "and rho).")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--per-stage", action="store_true", help="also the forms of each spec row")
    p.add_argument("--latex", action="store_true", help="LaTeX instead of plain text")
    p.add_argument("--ideal", action="store_true",
                   help="idealised: no channel rounding, r/s for ceil(r/s), r = rho * r0")
    p.add_argument("--width-range", default=DEFAULT_FORMULA_WIDTHS, metavar="LO:HI",
                   help=f"range of alpha for the channel-count step tables (default "
                        f"{DEFAULT_FORMULA_WIDTHS})")
    _hidden(p, "width_range", "--width", "-a")
    p.add_argument("--metrics", default=None, metavar="M1,M2",
                   help="totals to show (default: all the report's totals)")
    _model_options(p)
    p.set_defaults(run=cmd_formula)

    p = subparsers.add_parser(
        "derive", aliases=["explain"],
        help="derive the seed papers' analytic cost claims from archcalc's per-op rules",
        description="Derive the MobileNetV1/V2 and ShuffleNet papers' analytic cost claims "
                    "symbolically from archcalc's own per-op rules and compare each with the "
                    "paper: separable (1/N + 1/D_K^2), bottleneck (2/t), block "
                    "(h w d' t (d' + k^2 + d'')), shufflenet (hw(2cm/g + 9m) vs ResNet, ResNeXt).")
    p.add_argument("claims", nargs="*", metavar="CLAIM",
                   help="separable, bottleneck, block, shufflenet (default: all)")
    p.add_argument("--latex", action="store_true", help="LaTeX instead of plain text")
    p.set_defaults(run=cmd_derive)

    p = subparsers.add_parser(
        "sweep", help="exact metrics over a grid of widths and resolutions (CSV, JSON, Parquet)",
        description="Every total of SPEC at every (width, resolution) of the grid, exact "
                    "integers identical to `archcalc report` at each point, streamed in blocks.")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--widths", default=DEFAULT_SWEEP_WIDTHS, metavar="GRID",
                   help=f"widths: A, A,B,..., LO:HI:STEP (inclusive) (default {DEFAULT_SWEEP_WIDTHS})")
    p.add_argument("--resolutions", default=DEFAULT_SWEEP_RESOLUTIONS, metavar="GRID",
                   help=f"resolutions, same forms, or 0.5x (default {DEFAULT_SWEEP_RESOLUTIONS})")
    _hidden(p, "widths", "--width", "-a")
    _hidden(p, "resolutions", "--resolution", "-r")
    p.add_argument("--metrics", default=None, metavar="M1,M2",
                   help="columns (default: the report's totals)")
    p.add_argument("--format", "-f", default=None, choices=("csv", "json", "parquet"),
                   help="output format (default csv, or from --out's extension)")
    p.add_argument("--out", "-o", default=None, metavar="FILE", help="write to FILE")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: long sweeps on a terminal)")
    _model_options(p)
    p.set_defaults(run=cmd_sweep)

    p = subparsers.add_parser(
        "fit", help="the largest width per resolution that meets MAdds/params/memory budgets",
        description="For each resolution, the widest network of SPEC that meets every budget, "
                    "exactly (the channel counts' step functions are resolved breakpoint by "
                    "breakpoint), and the Pareto set of those answers (no other answer both "
                    "wider and higher-resolution).")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--max-madds", default=None, metavar="N", help="MAdds budget, e.g. 150M")
    p.add_argument("--max-params", default=None, metavar="N", help="parameter budget, e.g. 2M")
    p.add_argument("--max-memory", default=None, metavar="BYTES",
                   help="peak activation memory budget, e.g. 500KB (decimal) or 512KiB")
    p.add_argument("--memory", default="naive", choices=("naive", "streamed"),
                   help="which peak --max-memory bounds (default naive; streamed: MobileNetV2 "
                        "Sec. 5.1)")
    p.add_argument("--max", action="append", default=[], metavar="METRIC=N",
                   help="a budget on any total, e.g. flops=300M (repeatable)")
    widths = p.add_mutually_exclusive_group()
    widths.add_argument("--width-range", default=None, metavar="LO:HI",
                        help=f"every alpha in the interval, exactly (default {DEFAULT_FIT_WIDTHS})")
    widths.add_argument("--widths", default=None, metavar="GRID",
                        help="only these widths: A,B,... or LO:HI:STEP")
    p.add_argument("--resolutions", default=DEFAULT_FIT_RESOLUTIONS, metavar="GRID",
                   help=f"resolutions (default {DEFAULT_FIT_RESOLUTIONS})")
    p.add_argument("--width", "-a", dest="width_either", default=None, help=argparse.SUPPRESS)
    _hidden(p, "resolutions", "--resolution", "-r")
    p.add_argument("--format", "-f", default="table", choices=("table", "csv", "json"))
    _model_options(p)
    p.set_defaults(run=cmd_fit)

    p = subparsers.add_parser(
        "frontier", help="Pareto front of two metrics over specs and published points (plotly)",
        description="The Pareto front of --y against --x over the published points of each SPEC "
                    "(<spec dir>/published/<spec file>), --points files and, when both axes are "
                    "costs, a grid of each SPEC; costs are archcalc's exact counts. --out writes "
                    "an interactive plotly figure.")
    p.add_argument("specs", nargs="*", metavar="SPEC")
    p.add_argument("--x", default="madds", help="x metric (default madds)")
    p.add_argument("--y", default="top1", help="y metric (default top1)")
    p.add_argument("--points", action="append", default=[], metavar="FILE",
                   help="published points, YAML or CSV (repeatable)")
    p.add_argument("--no-published", action="store_true",
                   help="ignore the specs' own published/ files")
    p.add_argument("--maximize", action="append", default=[], metavar="METRIC",
                   help="treat METRIC as higher-is-better (default: top1, top5, accuracy)")
    p.add_argument("--minimize", action="append", default=[], metavar="METRIC",
                   help="treat METRIC as lower-is-better (default: everything else)")
    p.add_argument("--widths", default=None, metavar="GRID",
                   help="also a grid of each SPEC at these widths (cost-vs-cost default "
                        f"{DEFAULT_FRONTIER_WIDTHS})")
    p.add_argument("--resolutions", default=None, metavar="GRID",
                   help=f"grid resolutions (cost-vs-cost default {DEFAULT_FRONTIER_RESOLUTIONS})")
    _hidden(p, "widths", "--width", "-a")
    _hidden(p, "resolutions", "--resolution", "-r")
    p.add_argument("--out", "-o", default=None, metavar="FILE.html", help="write the plotly figure")
    p.add_argument("--title", default=None, help="figure title")
    p.add_argument("--plotlyjs", default="inline", choices=("inline", "cdn"),
                   help="embed plotly.js (inline, works offline; default) or link the CDN")
    _model_options(p)
    p.set_defaults(run=cmd_frontier)
