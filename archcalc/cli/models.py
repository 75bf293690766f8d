"""`archcalc verify MODEL`: a model reference's counts (archcalc.imported) against PyTorch's
own on the same module (archcalc/imported/check.py)."""
from __future__ import annotations

from ..errors import OptionError


def verify_model(args) -> str:
    from ..imported.check import check_model
    from ..imported.refs import input_shape, model_graph
    from .options import model_ref_options, parse_pairs
    if args.spec.lower().endswith(".onnx"):
        raise OptionError("verify takes a PyTorch model reference, not an ONNX file")
    if str(args.width).strip() not in ("1", "1.0"):
        raise OptionError("--width needs a spec: an imported model has no width multiplier")
    options = model_ref_options(args)
    kept: list = []
    graph = model_graph(args.spec, parse_pairs(args.sets), resolution=args.resolution,
                        keep_module=kept, **options)
    shape = input_shape(options["shape_text"], args.resolution)
    from ..cost import analyze
    result = check_model(kept[0], analyze(graph, "torchvision"), shape)
    lines = [f"{result.name} at input {'x'.join(map(str, shape))}: params archcalc "
             f"{result.params[0]:,} / torch {result.params[1]:,} (sum of numel); MAdds archcalc "
             f"{result.madds[0]:,} / torch {result.madds[1]:,} (FlopCounterMode / 2 on the meta "
             "device); convention torchvision"]
    if result.unknown:
        lines.append(f"warning: {result.unknown} unknown op kind(s) counted as zero")
    if result.ok:
        lines.append("OK: archcalc and PyTorch agree")
        return "\n".join(lines) + "\n"
    from .main import VerifyFailed
    raise VerifyFailed("\n".join(lines) + "\nMISMATCH: " + "; ".join(
        f"{what} archcalc {a:,} vs torch {b:,}" for what, (a, b) in
        (("params", result.params), ("MAdds", result.madds)) if a != b))


def verify_against(args) -> str:
    """`archcalc verify SPEC --against MODEL`: the spec at its point against an imported model
    at the same input (a --set applies to the spec when it declares it, and is a keyword argument
    of the model's callable; the spec keeps its own num_classes default, as the model's callable
    keeps its own): params and MAdds (torchvision convention: every parameter), then every
    conv / linear layer (output shape, params, MAdds), in order or matched across parallel
    branches (archcalc/cli/verify_layers.py); the first that differs is reported. A spec with
    multi-scale passes (cost/passes.py) is checked at every distinct pass size against the
    model run at that size, and the model's MAdds are summed over the passes as the spec's are.
    With --allow-unknown the model's ops without a rule count as zero and are named."""
    from dataclasses import replace

    from ..api import load
    from ..cost import analyze
    from ..cost.convention import convention_named
    from ..graph import compile_graph
    from ..spec.schema import sides
    from .options import model_ref_options, parse_pairs
    sets = parse_pairs(args.sets)
    convention = replace(convention_named("torchvision"), num_classes=None)
    declared = {p.name for p in load(args.spec, None, convention).params}
    spec = load(args.spec, {k: v for k, v in sets.items() if k in declared}, convention)
    graph = compile_graph(spec, args.width, args.resolution)
    c, h, w = graph.shape("input")
    ours = analyze(graph, convention)
    options = model_ref_options(args)
    if ours.passes:
        if options["shape_text"]:
            raise OptionError("--input-shape does not apply to a multi-scale spec: each pass's "
                              "input size comes from the spec")
        single = replace(spec, multiscale=None)
        sizes = list(dict.fromkeys(p.resolution for p in ours.passes))
        points = [(compile_graph(single, args.width, s), "x".join(map(str, (c, *sides(s)))))
                  for s in sizes]
    else:
        points = [(graph, options["shape_text"] or f"{c}x{h}x{w}")]
    checks = [_check_point(g, convention, args.against, sets, dict(options, shape_text=shape))
              for g, shape in points]
    params = checks[0].params
    by_shape = {shape: chk.madds[1] for (_, shape), chk in zip(points, checks)}
    madds = sum(by_shape["x".join(map(str, (c, *sides(p.resolution))))] for p in ours.passes) \
        if ours.passes else checks[0].madds[1]
    lines = [f"{spec.name} at width {args.width}, input {c}x{h}x{w} against {args.against}: "
             f"params {ours.total('params'):,} / {params[1]:,}; MAdds "
             f"{ours.total('madds'):,} / {madds:,} (convention torchvision)"]
    if ours.passes:
        lines.append(f"{len(ours.passes)} inference passes at {len(points)} input sizes "
                     f"({', '.join(shape for _, shape in points)}), the model run at each; "
                     "MAdds summed over the passes")
    unknown = sorted({u for chk in checks for u in chk.unknown})
    if unknown:
        lines.append(f"warning: the model's ops without a rule counted as zero: "
                     f"{', '.join(unknown)}")
    first = None
    for (_, shape), chk in zip(points, checks):
        at = f" at {shape}" if ours.passes else ""
        lines.append(f"{chk.layers[0]} conv / linear layers in the spec, {chk.layers[1]} in the "
                     f"model{at}")
        if chk.match.first is None and chk.match.reordered:
            lines.append("matched across parallel branches: the spec and the model run them in "
                         "another order" + (f"; {chk.match.merged} group(s) of layers reading one "
                                            "tensor matched as one layer" if chk.match.merged
                                            else ""))
        first = first or (chk.match.first and chk.match.first + at)
    same = ours.total("params") == params[1] and ours.total("madds") == madds
    if first is None and same:
        lines.append("OK: the spec and the model agree on params, MAdds and every conv / "
                     "linear layer's output shape, params and MAdds")
        return "\n".join(lines) + "\n"
    from .main import VerifyFailed
    raise VerifyFailed("\n".join(lines) + "\nMISMATCH: " +
                       (first or "the totals differ although every conv / linear layer agrees"))


def _check_point(graph, convention, against: str, sets: dict, options: dict):
    """The spec's graph at one point against the model imported at the same input shape."""
    from types import SimpleNamespace

    from ..cost import analyze
    from ..imported.refs import model_graph
    from .verify_layers import match_layers, weighted
    model = model_graph(against, sets, **options)
    ours, theirs = analyze(graph, convention), analyze(model, "torchvision")
    a, b = weighted(ours), weighted(theirs)
    return SimpleNamespace(
        params=(ours.total("params"), theirs.total("params")),
        madds=(ours.total("madds"), theirs.total("madds")),
        unknown={str(u[0]) for u in theirs.spec.unknown_ops},
        layers=(len(a), len(b)), match=match_layers(a, graph, b, model))
