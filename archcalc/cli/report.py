"""`archcalc report`, `compare` and `zoo`: one spec at a point, several side by side, and the
specs that ship with archcalc."""
from __future__ import annotations

from .options import convention_from as _convention
from .options import model_options as _model_options
from .options import parse_pairs as _sets
from .options import point_options as _point_options

FORMATS = ("table", "csv", "json", "markdown")


def add_commands(sub) -> None:
    """Register report, compare and zoo on the `archcalc` sub-parsers."""
    rep = sub.add_parser("report", help="per-layer params, MAdds and memory of one spec",
                         description="Per-layer params, MAdds and memory of SPEC at one point.")
    rep.add_argument("spec", metavar="SPEC", help="a spec file, e.g. specs/mobilenet_v2.yaml, or "
                     "a model: package.module:callable, path/to/file.py:callable, model.onnx")
    _point_options(rep)
    rep.add_argument("--format", "-f", default="table", choices=FORMATS,
                     help="table (default; fits the terminal), csv (one row per op, # comment "
                          "lines first), json (every field, full text) or markdown")
    rep.add_argument("--symbolic", action="store_true",
                     help="also print closed forms in alpha and r (totals and per layer)")
    rep.add_argument("--ops", action="store_true",
                     help="one table row per primitive op (conv, bn, act) instead of per layer")
    rep.add_argument("--passes", action="store_true",
                     help="also list each multi-scale inference pass (a spec's multiscale: "
                          "section) with its MAdds")
    rep.set_defaults(run=cmd_report)

    cmp = sub.add_parser("compare", help="several specs side by side, with ratios to the first",
                         description="Params, MAdds, FLOPs and peak memory of several specs (each "
                                     "optionally at its own point: SPEC@WIDTH[,RESOLUTION]), with "
                                     "ratios to the first and published accuracy where known.")
    cmp.add_argument("specs", nargs="+", metavar="SPEC[@WIDTH[,RES]]",
                     help="spec files, zoo names or models (package.module:callable, "
                          "file.py:callable, model.onnx; MODEL@1,RES for a resolution)")
    _model_options(cmp)     # a --set applies to the specs that declare that parameter
    from .options import model_ref_flags
    model_ref_flags(cmp)
    cmp.add_argument("--format", "-f", default="table", choices=FORMATS,
                     help="table (default), csv (# comment lines first), json or markdown")
    cmp.add_argument("--memory-by-resolution", action="store_true",
                     help="the MobileNetV2 paper's Table 3 layout (use --dtype fp16 as the paper does)")
    cmp.add_argument("--conventions", metavar="A,B,...",
                     help="one SPEC under each of these conventions (e.g. paper,torchvision,fvcore,"
                          "ptflops,thop), MAdds by part and each difference from the first")
    cmp.set_defaults(run=cmd_compare)

    zoo = sub.add_parser("zoo", help="list the specs that ship with archcalc, with their sources",
                         description="The zoo's specs: use a name anywhere a SPEC is accepted "
                                     "(archcalc report mobilenet_v2), from any directory.")
    zoo.add_argument("--paths", action="store_true", help="also print each spec's file path")
    zoo.set_defaults(run=cmd_zoo)


def cmd_report(args) -> str:
    from ..api import closed_form, evaluate
    from ..imported.refs import is_model_ref
    from ..report.render import render, render_closed_forms
    convention = _convention(args)
    sets = _sets(args.sets)
    if is_model_ref(args.spec):
        return _report_model(args, convention, sets)
    table = evaluate(args.spec, args.width, args.resolution, convention=convention,
                     dtype=args.dtype, sets=sets)
    forms = None
    if args.symbolic:
        forms = closed_form(args.spec, convention=convention, dtype=args.dtype, sets=sets).closed_forms()
    text = render(table, args.format, all_ops=args.ops, closed_forms=forms)
    if forms and args.format != "json":
        text += "\n" + render_closed_forms(forms)
    if args.passes and args.format in ("table", "markdown"):
        from ..report.render import render_passes
        text += "\n" + render_passes(table)
    return text


def _report_model(args, convention, sets) -> str:
    """`archcalc report MODEL`: an imported model (archcalc.imported) at its input shape."""
    from ..cost import analyze
    from ..errors import OptionError
    from ..imported.refs import model_graph
    from ..report.render import render
    from .options import model_ref_options
    if args.symbolic:
        raise OptionError("--symbolic needs a spec: an imported model has no closed forms")
    if str(args.width).strip() not in ("1", "1.0"):
        raise OptionError("--width needs a spec: an imported model has no width multiplier "
                          "(pass the model's own argument with --set, e.g. --set width_mult=0.75)")
    graph = model_graph(args.spec, sets, resolution=args.resolution, **model_ref_options(args))
    return render(analyze(graph, convention, args.dtype), args.format, all_ops=args.ops)


def cmd_zoo(args) -> str:
    from ..zoo import entries
    rows = entries()
    width = max(len(e.name) for e in rows)
    lines = []
    for e in rows:
        lines.append(f"{e.name:<{width}}  {e.title}" + (f"  ({e.path})" if args.paths else ""))
        if e.source:
            lines.append(f"{'':<{width}}  {e.source}")
    return "\n".join(lines) + "\n"


def cmd_compare(args) -> str:
    if args.conventions is not None:
        return _compare_conventions(args)
    from ..compare import compare_specs
    from ..report.compare import render_comparison
    from .options import model_ref_options
    entries = compare_specs(args.specs, _sets(args.sets), _convention(args), args.dtype,
                            models=model_ref_options(args))
    return render_comparison(entries, args.format, args.memory_by_resolution)


def _compare_conventions(args) -> str:
    from ..compare import compare_conventions, parse_conventions
    from ..errors import OptionError
    from ..report.conventions import render_conventions
    if len(args.specs) != 1 or args.memory_by_resolution:
        raise OptionError("--conventions compares one SPEC under several conventions: give one "
                          "SPEC and no --memory-by-resolution")
    conventions = [c.with_options(bn_params=args.bn_params, bias=args.bias,
                                  elementwise=args.elementwise)
                   for c in parse_conventions(args.conventions)]
    return render_conventions(compare_conventions(args.specs[0], conventions, _sets(args.sets),
                                                  args.dtype), args.format)
