"""The one evaluator (archcalc.cost.Evaluator, also behind archcalc.evaluate's cache, sweep and
the dashboard's sliders) on specs whose tensors are not all C x H x W (a flatten before a
linear layer, ViT's tokens): every row and total at a point equals a fresh compile of that
point, as for the zoo (tests/test_api_cache.py)."""
import pytest

torch = pytest.importorskip("torch")

import archcalc  # noqa: E402
from archcalc.cost import Evaluator, analyze  # noqa: E402
from archcalc.export import export_spec  # noqa: E402
from archcalc.graph import compile_graph  # noqa: E402
from archcalc.spec.load import parse_spec  # noqa: E402


def written(build, shape):
    with torch.device("meta"):
        model = build()
    return export_spec(archcalc.from_torch(model, input_shape=shape))


@pytest.mark.parametrize("name, shape, points", [
    ("resnet18", (3, 64, 64), [("1", 64), ("0.5", 96), ("1", 64), ("1.25", 80)]),
    ("mobilenet_v2", (3, 64, 64), [("1", 64), ("0.35", 96), ("1", 64)]),
])
def test_evaluator_rows_equal_a_fresh_compile(name, shape, points):
    import reference_models as rm
    text = written(getattr(rm, name), shape)
    spec = parse_spec(text, f"<{name}>")
    ev = Evaluator(spec, "torchvision")
    for width, res in points:
        fresh = analyze(compile_graph(spec, width, res), "torchvision")
        table = ev.table(width, res)
        assert [(r.name, r.output_shape, r.params, r.madds, r.memory_bytes) for r in table.rows] \
            == [(r.name, r.output_shape, r.params, r.madds, r.memory_bytes) for r in fresh.rows]
        assert table.totals == fresh.totals
    linear = [r for r in fresh.rows if r.op == "linear"][-1]
    assert len(linear.output_shape) != 3           # the case the test is about


def test_a_spec_with_fixed_token_shapes_has_no_closed_form_and_says_so():
    import reference_models as rm
    spec = parse_spec(written(rm.vit_tiny, (3, 32, 32)), "<vit_tiny>")
    with pytest.raises(archcalc.SpecError, match="fixed shape"):
        Evaluator(spec, "torchvision")
    fresh = analyze(compile_graph(spec, 1, 32), "torchvision")    # a point still compiles
    assert fresh.totals["params"] == sum(p.numel() for p in rm.vit_tiny().parameters())
