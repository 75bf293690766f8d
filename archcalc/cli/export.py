"""`archcalc import MODEL [-o FILE]`: an imported model (a PyTorch reference or an ONNX file)
written back as a YAML spec that compiles to the same graph (archcalc.export)."""
from __future__ import annotations


def add_commands(sub) -> None:
    """Register `import` on the `archcalc` sub-parsers."""
    from .options import model_ref_flags
    imp = sub.add_parser("import", help="write a PyTorch model or an ONNX file as a spec",
                         description="Write MODEL (package.module:callable, file.py:callable or "
                                     "model.onnx) as a YAML spec that compiles to the same op "
                                     "graph: the same params, MAdds, memory and every layer's "
                                     "shape. Checked before it is written.")
    imp.add_argument("spec", metavar="MODEL", help="package.module:callable, "
                     "path/to/file.py:callable or model.onnx")
    imp.add_argument("--output", "-o", default=None, metavar="FILE",
                     help="write the spec to FILE (default: standard output)")
    imp.add_argument("--resolution", "-r", default=None, metavar="R",
                     help="the model's input size: R or HxW (default 224)")
    imp.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                     help="a keyword argument of the model's callable (repeatable)")
    model_ref_flags(imp)
    imp.set_defaults(run=cmd_import)


def cmd_import(args) -> str:
    from ..errors import OptionError
    from ..export import export_spec
    from ..imported.refs import is_model_ref, model_graph
    from .options import model_ref_options, parse_pairs
    if not is_model_ref(args.spec):
        raise OptionError(f"import takes a model (package.module:callable, file.py:callable or "
                          f"model.onnx), got {args.spec!r}")
    graph = model_graph(args.spec, parse_pairs(args.sets), resolution=args.resolution,
                        **model_ref_options(args))
    text = export_spec(graph)
    if args.output is None:
        return text
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)
    rows = sum(1 for line in text.splitlines() if line.startswith("    - "))
    return f"wrote {args.output}: {rows} rows, checked against the model\n"
