"""Back to a spec: an imported model (archcalc.imported) written as a YAML spec that compiles to
the same op graph (`archcalc import MODEL -o model.yaml`; issue 12, item 6).

`export_spec(graph)` writes the rows (export/rows.py) and the text (export/text.py), then
compiles the text it wrote and compares it with the model, op by op (kind, output shape,
params, MAdds, element-wise ops, the bytes each op makes live in the naive and the streamed
schedule) and in total; any difference is an error, so a spec that compiles to other numbers
is never handed back.
"""
from __future__ import annotations

from ..errors import ArchcalcError, OptionError

__all__ = ["export_spec", "round_trip_differences"]

CHECKED = ("op", "output_shape", "params", "bn_params", "madds", "elementwise_ops",
           "memory_bytes", "live_bytes", "live_bytes_streamed")


def _source(graph) -> tuple[str, int, object]:
    model = graph.spec
    c, *rest = graph.shape(graph.names[0])
    if len(rest) != 2:
        raise OptionError(f"a spec's input is C x H x W; this model's is "
                          f"{list(graph.shape(graph.names[0]))}")
    h, w = rest
    ref = getattr(model, "path", None) or getattr(model, "name", "model")
    return f"{ref}, input {c}x{h}x{w}", c, (h if h == w else (h, w))


def export_spec(graph, *, check: bool = True) -> str:
    """The spec text of an imported model's ArchGraph; with `check`, compiled back and compared
    (an OptionError naming the first difference)."""
    from .rows import emit_rows
    from .text import spec_text
    source, channels, resolution = _source(graph)
    name = getattr(graph.spec, "name", "model")
    problems: list = []
    for readable in (True, False):      # readable rows where they compile to the model
        emitted = emit_rows(graph, readable)
        text = spec_text(emitted, name=name, source=source, channels=channels,
                         resolution=resolution)
        if not check:
            return text
        try:
            problems = round_trip_differences(graph, text)
        except ArchcalcError as err:
            problems = [str(err)]
        if not problems:
            return text
    raise OptionError(f"the spec written for {name} does not compile to the model (archcalc "
                      f"import cannot express it): {problems[0]}")


def round_trip_differences(graph, text: str, conventions=("paper", "torchvision")) -> list:
    """How the spec `text` compiled differs from `graph` (empty: the same numbers), per op in
    order and in total, under each convention."""
    from ..cost import analyze
    from ..graph import compile_graph
    from ..spec.load import parse_spec
    spec = parse_spec(text, "<imported>")
    compiled = compile_graph(spec)
    out = []
    for convention in conventions:
        a, b = analyze(graph, convention), analyze(compiled, convention)
        if len(a.rows) != len(b.rows):
            out.append(f"{len(b.rows)} ops in the spec, {len(a.rows)} in the model")
            return out
        for x, y in zip(a.rows, b.rows):
            for key in CHECKED:
                if getattr(x, key) != getattr(y, key):
                    out.append(f"{key} of {x.name} ({x.label}): model {getattr(x, key)}, spec "
                               f"{getattr(y, key)} ({convention})")
                    return out
        for key, value in a.totals.items():
            if b.totals.get(key) != value:
                out.append(f"total {key}: model {value}, spec {b.totals.get(key)} ({convention})")
                return out
    return out
