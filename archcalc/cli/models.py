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
    result = check_model(kept[0], graph, shape)
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
