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
    branches (archcalc/cli/verify_layers.py); the first that differs is reported. With
    --allow-unknown the model's ops without a rule count as zero and are named in a warning."""
    from dataclasses import replace

    from ..api import load
    from ..cost import analyze
    from ..cost.convention import convention_named
    from ..graph import compile_graph
    from ..imported.refs import model_graph
    from .options import model_ref_options, parse_pairs
    from .verify_layers import match_layers, weighted
    sets = parse_pairs(args.sets)
    convention = replace(convention_named("torchvision"), num_classes=None)
    declared = {p.name for p in load(args.spec, None, convention).params}
    spec = load(args.spec, {k: v for k, v in sets.items() if k in declared}, convention)
    graph = compile_graph(spec, args.width, args.resolution)
    c, h, w = graph.shape("input")
    options = model_ref_options(args)
    options["shape_text"] = options["shape_text"] or f"{c}x{h}x{w}"
    model = model_graph(args.against, sets, **options)
    ours, theirs = analyze(graph, convention), analyze(model, "torchvision")
    lines = [f"{spec.name} at width {args.width}, input {c}x{h}x{w} against {args.against}: "
             f"params {ours.total('params'):,} / {theirs.total('params'):,}; MAdds "
             f"{ours.total('madds'):,} / {theirs.total('madds'):,} (convention torchvision)"]
    unknown = theirs.spec.unknown_ops
    if unknown:
        lines.append(f"warning: the model's ops without a rule counted as zero: "
                     f"{', '.join(sorted({str(u[0]) for u in unknown}))}")
    a, b = weighted(ours), weighted(theirs)
    lines.append(f"{len(a)} conv / linear layers in the spec, {len(b)} in the model")
    match = match_layers(a, graph, b, model)
    if match.first is None and match.reordered:
        lines.append("matched across parallel branches: the spec and the model run them in "
                     f"another order" + (f"; {match.merged} group(s) of layers reading one tensor "
                                         "matched as one layer" if match.merged else ""))
    same = ours.total("params") == theirs.total("params") and \
        ours.total("madds") == theirs.total("madds")
    if match.first is None and same:
        lines.append("OK: the spec and the model agree on params, MAdds and every conv / "
                     "linear layer's output shape, params and MAdds")
        return "\n".join(lines) + "\n"
    from .main import VerifyFailed
    raise VerifyFailed("\n".join(lines) + "\nMISMATCH: " +
                       (match.first or "the totals differ although every conv / linear layer "
                        "agrees"))

