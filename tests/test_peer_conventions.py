"""The peer conventions (archcalc.cost.peers) against the real tools.

`archcalc report SPEC --convention TOOL` must give exactly the total each tool reports for the
same network, and the parameter count where the tool reports one. The networks are the
hand-written PyTorch twins of the zoo specs (tests/reference_models.py: torchvision's
MobileNetV2; tests/reference_torchvision.py: MobileNetV3, EfficientNet-B0, ShuffleNetV2), at
several widths and resolutions; the tools are the pip packages of the [test] extra:

* fvcore `FlopCountAnalysis(model, x).total()` (one MAdd per "flop"), `parameter_count`;
* ptflops `get_model_complexity_info` (default pytorch backend): MACs and params;
* thop 0.1.1.post2209072238 `profile`: MACs and params;
* torchinfo `summary(...)`: `total_mult_adds`, `total_params`;
* torchprofile `profile_macs`.

Each tool runs once per network (a module-level cache) on a fresh twin. A tool that cannot be
imported skips its tests with the reason.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import logging
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import archcalc  # noqa: E402
import reference_models as rm          # noqa: E402  (tests/ is on sys.path via conftest)
import reference_torchvision as rtv    # noqa: E402

SPECS = Path(__file__).resolve().parent.parent / "specs"

# id -> (spec, width, resolution, --set, twin builder)
MODELS = {
    "mobilenet_v2-1.0-224": ("mobilenet_v2.yaml", "1", 224, {}, lambda: rm.mobilenet_v2(1.0)),
    "mobilenet_v2-0.5-160": ("mobilenet_v2.yaml", "0.5", 160, {}, lambda: rm.mobilenet_v2(0.5)),
    "mobilenet_v2-0.75-128": ("mobilenet_v2.yaml", "0.75", 128, {},
                              lambda: rm.mobilenet_v2(0.75)),
    "mobilenet_v2-1.4-96": ("mobilenet_v2.yaml", "1.4", 96, {}, lambda: rm.mobilenet_v2(1.4)),
    "mobilenet_v3_large-224": ("mobilenet_v3_large.yaml", "1", 224, {},
                               lambda: rtv.mobilenet_v3_large()),
    "mobilenet_v3_small-160": ("mobilenet_v3_small.yaml", "1", 160, {},
                               lambda: rtv.mobilenet_v3_small()),
    "efficientnet_b0-128": ("efficientnet_b0.yaml", "1", 128, {}, lambda: rtv.efficientnet_b0()),
    "shufflenet_v2_x0_5-224": ("shufflenet_v2.yaml", "1", 224, {"size": "x0_5"},
                               lambda: rtv.shufflenet_v2("x0_5")),
    "shufflenet_v2_x1_0-160": ("shufflenet_v2.yaml", "1", 160, {"size": "x1_0"},
                               lambda: rtv.shufflenet_v2("x1_0")),
    "shufflenet_v2_x1_5-128": ("shufflenet_v2.yaml", "1", 128, {"size": "x1_5"},
                               lambda: rtv.shufflenet_v2("x1_5")),
    "shufflenet_v2_x2_0-96": ("shufflenet_v2.yaml", "1", 96, {"size": "x2_0"},
                              lambda: rtv.shufflenet_v2("x2_0")),
}
PACKAGES = {"fvcore": "fvcore.nn", "ptflops": "ptflops", "thop": "thop",
            "torchinfo": "torchinfo", "torchprofile": "torchprofile"}


@contextlib.contextmanager
def _quiet():
    """The tools' warnings, log lines and prints, silenced."""
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def _package(tool):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")    # fvcore, thop: deprecation warnings on import
            return importlib.import_module(PACKAGES[tool])
    except Exception as err:   # ImportError, or thop's distutils import on Python >= 3.12
        pytest.skip(f"{tool} cannot be imported ({type(err).__name__}: {err}); "
                    f"pip install -e '.[test]' installs it")


def _fvcore(model, x):
    fv = _package("fvcore")
    analysis = fv.FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    total, by_module = analysis.total(), analysis.by_module()
    return total, fv.parameter_count(model)[""], lambda name, module: by_module[name]


def _ptflops(model, x):
    pt = _package("ptflops")
    macs, params = pt.get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False,
                                                print_per_layer_stat=False, verbose=False)
    return macs, params, None


def _thop(model, x):
    th = _package("thop")
    macs, params, layers = th.profile(model, inputs=(x,), verbose=False, ret_layer_info=True)

    def per_module(name, module):   # ret_layer_info: {child: (ops, params, {grandchild: ...})}
        node = (None, None, layers)
        for part in name.split("."):
            node = node[2][part]
        return int(node[0])
    return int(macs), int(params), per_module


def _torchinfo(model, x):
    ti = _package("torchinfo")
    stats = ti.summary(model, input_size=tuple(x.shape), verbose=0, device="cpu")
    macs = {id(layer.module): layer.macs for layer in stats.summary_list}
    return stats.total_mult_adds, stats.total_params, lambda name, module: macs[id(module)]


def _torchprofile(model, x):
    tp = _package("torchprofile")
    return tp.profile_macs(model, x), None, None


RUNNERS = {"fvcore": _fvcore, "ptflops": _ptflops, "thop": _thop, "torchinfo": _torchinfo,
           "torchprofile": _torchprofile}
_measured: dict = {}


def measured(model_id: str, tool: str):
    """(total, params or None, per-module count (name, module) -> int, or None, the twin) of
    `tool` on a fresh twin."""
    key = (model_id, tool)
    if key not in _measured:
        _package(tool)
        spec, width, resolution, sets, build = MODELS[model_id]
        model = build().eval()
        x = torch.zeros(1, 3, resolution, resolution)
        with _quiet(), torch.no_grad():
            _measured[key] = (*RUNNERS[tool](model, x), model)
    return _measured[key]


_tables: dict = {}


def archcalc_table(model_id: str, convention: str):
    key = (model_id, convention)
    if key not in _tables:
        spec, width, resolution, sets, _ = MODELS[model_id]
        _tables[key] = archcalc.evaluate(SPECS / spec, width, resolution, sets=sets,
                                         convention=convention)
    return _tables[key]


@pytest.mark.parametrize("tool", list(RUNNERS))
@pytest.mark.parametrize("model_id", list(MODELS))
def test_total_equals_the_tool(model_id, tool):
    total, params, _, _ = measured(model_id, tool)
    table = archcalc_table(model_id, tool)
    assert table.totals["madds"] == total
    if params is not None:
        assert table.totals["params"] == params


# ---- per module: the tools that report one (fvcore by_module, thop ret_layer_info, torchinfo
# summary rows) against archcalc's row for the same op, paired in execution order by type

def _kind_of_module(module):
    nn = torch.nn
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, nn.BatchNorm2d):
        return "bn"
    if isinstance(module, nn.Linear):
        return "fc"
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.MaxPool2d, nn.AvgPool2d)):
        return "pool"
    if isinstance(module, (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU, nn.Sigmoid, nn.Hardsigmoid)):
        return "act"
    return None


def _leaf_calls(model, resolution):
    """[(name, module, kind)] of the twin's leaf modules in the order the forward calls them."""
    names = {id(m): n for n, m in model.named_modules()}
    calls = []
    hooks = [m.register_forward_hook(lambda mod, i, o: calls.append(mod))
             for m in model.modules() if _kind_of_module(m)]
    with torch.no_grad():
        model(torch.zeros(1, 3, resolution, resolution))
    for h in hooks:
        h.remove()
    return [(names[id(m)], m, _kind_of_module(m)) for m in calls]


def _archcalc_rows(model_id, convention):
    """[(row, kind)] of archcalc's ops that the twin writes as modules, in graph order."""
    from archcalc.graph import compile_graph
    spec, width, resolution, sets, _ = MODELS[model_id]
    graph = compile_graph(archcalc.load(SPECS / spec, sets, convention), width, resolution)
    table = archcalc_table(model_id, convention)
    kinds = {"conv": "conv", "grouped_conv": "conv", "depthwise": "conv", "pointwise": "conv",
             "bn": "bn", "fc": "fc", "pool": "pool", "act": "act"}
    out = []
    for row, name in zip(table.rows, graph.names):
        assert row.name == name
        op = graph.op(name)
        if row.op in kinds and op.written_as == "module":
            out.append((row, kinds[row.op]))
    return out


PER_MODULE = ["mobilenet_v2-1.0-224", "mobilenet_v3_large-224", "efficientnet_b0-128",
              "shufflenet_v2_x1_0-160"]


@pytest.mark.parametrize("tool", ["fvcore", "thop", "torchinfo"])
@pytest.mark.parametrize("model_id", PER_MODULE)
def test_per_module_counts_equal_the_tool(model_id, tool):
    _, _, per_module, model = measured(model_id, tool)
    calls = _leaf_calls(model, MODELS[model_id][2])
    rows = _archcalc_rows(model_id, tool)
    assert [k for _, _, k in calls] == [k for _, k in rows]      # the same ops, in order
    assert len(rows) > 100
    for (name, module, _), (row, _) in zip(calls, rows):
        assert (name, per_module(name, module)) == (name, row.madds), row.name


# ---- every rule on one small network written in this file: a conv with a bias and no BN,
# standalone activations of every kind, windowed avg and max pools, a global average pool
# written three ways, a linear classifier without bias

TINY_SPEC = """\
name: PeerOps
input: {{channels: 3, resolution: 32}}
layers:
  body:
    - {{op: conv, c: 8, k: 3, norm: none, act: relu}}
    - relu6
    - {{op: avgpool, k: 2}}
    - {{op: conv, c: 16, k: 3, act: swish}}
    - {{op: maxpool, k: 3, s: 2, padding: 1}}
    - hswish
    - sigmoid
    - hsigmoid
    - {{op: avgpool, global: true, written_as: {form}}}
  classifier:
    - {{op: fc, c: 10, bias: false}}
"""


class TinyTwin(torch.nn.Module):
    def __init__(self, form):
        super().__init__()
        nn = torch.nn
        self.form = form
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=True), nn.ReLU(inplace=True),
            nn.ReLU6(inplace=True), nn.AvgPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.SiLU(inplace=True),
            nn.MaxPool2d(3, 2, 1), nn.Hardswish(), nn.Sigmoid(), nn.Hardsigmoid())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10, bias=False)

    def forward(self, x):
        x = self.body(x)
        if self.form == "module":
            x = self.pool(x)
        elif self.form == "functional":
            x = torch.nn.functional.adaptive_avg_pool2d(x, 1)
        else:
            x = x.mean([2, 3])
        return self.fc(torch.flatten(x, 1))


@pytest.mark.parametrize("tool", list(RUNNERS))
@pytest.mark.parametrize("form", ["module", "functional", "mean"])
def test_every_rule_on_a_small_network(tmp_path, form, tool):
    _package(tool)
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPEC.format(form=form))
    table = archcalc.evaluate(path, convention=tool)
    model = TinyTwin(form).eval()
    with _quiet(), torch.no_grad():
        total, params, _ = RUNNERS[tool](model, torch.zeros(1, 3, 32, 32))
    # by hand: conv1 3*8*9 = 216 weights + 8 bias; BN 2 * 16; conv2 8*16*9 = 1152; fc 160
    assert sum(p.numel() for p in model.parameters()) == 216 + 8 + 1152 + 32 + 160
    assert (table.totals["madds"], table.totals["params"]) == (total, params or 1568)


# ---- the CLI, and what the presets print

@pytest.mark.parametrize("tool", list(RUNNERS))
def test_cli_report_prints_the_tools_total_and_what_it_counts(capsys, tool):
    import json

    from archcalc import cli
    total, params, _, _ = measured("mobilenet_v2-1.0-224", tool)
    assert cli.main(["report", str(SPECS / "mobilenet_v2.yaml"), "--convention", tool,
                     "--format", "json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert err == ""
    assert doc["convention"] == tool
    assert doc["totals"]["madds"] == total
    assert doc["totals"]["flops"] == 2 * total
    assert sum(layer["madds"] for layer in doc["layers"]) == total
    description = doc["convention_description"]
    assert description.startswith(f"{tool} (MAdds as {tool} ")
    assert "BN" in description and "BN params counted" in description


def test_every_op_kind_has_a_rule_in_every_peer_table():
    """A new op kind in archcalc.ops needs one line per peer table (cost/peers.py)."""
    from archcalc.cost import peers
    from archcalc.ops import RULES
    missing = [(tool, kind.value) for tool, table in peers.TABLES.items() for kind in RULES
               if kind not in table]
    assert missing == []


def test_every_activation_has_a_ptflops_factor():
    from archcalc.cost import peers
    from archcalc.spec.schema import ACTIVATIONS
    acts = [a for a in ACTIVATIONS if a != "linear"]      # linear: no op at all
    assert all(a in peers.PTFLOPS_ACT_MODULE for a in acts)
    assert all(a in peers.PTFLOPS_ACT_FUNCTIONAL for a in acts)


def test_an_op_kind_a_table_lacks_is_an_error(monkeypatch):
    from archcalc.cost import peers
    from archcalc.errors import OptionError
    from archcalc.ops import OpKind
    monkeypatch.setitem(peers.TABLES, "thop", {k: v for k, v in peers.TABLES["thop"].items()
                                               if k is not OpKind.BN})
    with pytest.raises(OptionError, match="convention 'thop' has no rule for op kind 'bn'"):
        archcalc.evaluate(SPECS / "mobilenet_v2.yaml", convention="thop")


@pytest.mark.parametrize("tool", ["ptflops", "thop", "torchprofile"])
@pytest.mark.parametrize("spec, sets", [("mobilenet_v2.yaml", {}),
                                        ("shufflenet_v2.yaml", {"size": "x0_5"})])
def test_closed_forms_under_a_peer_convention_equal_each_point(spec, sets, tool):
    """sweep / fit / frontier evaluate the closed forms (archcalc.cost.Evaluator): under a peer
    convention they equal a compile at each point."""
    from archcalc.cost import Evaluator
    ev = Evaluator(SPECS / spec, tool, sets=sets, metrics=("madds", "params"))
    widths, resolutions = ["0.5", "1", "1.3"], [96, 160, 224]
    grid = ev.totals(widths, resolutions)
    for i, w in enumerate(widths):
        for j, r in enumerate(resolutions):
            t = archcalc.evaluate(SPECS / spec, w, r, sets=sets, convention=tool).totals
            assert (int(grid["madds"][i][j]), int(grid["params"][i][j])) == \
                (t["madds"], t["params"]), (w, r)


@pytest.mark.parametrize("row, message", [
    ("{op: maxpool, k: 2, written_as: mean}", "written_as: mean is a global average pool"),
    ("{op: avgpool, k: 2, written_as: mean}", "written_as: mean is a global average pool"),
    ("{op: avgpool, global: true, written_as: lambda}",
     "expected one of module, functional, mean, got 'lambda'"),
])
def test_bad_written_as_is_a_located_error(tmp_path, capsys, row, message):
    from archcalc import cli
    path = tmp_path / "bad.yaml"
    path.write_text("name: Bad\ninput: {channels: 3, resolution: 32}\nlayers:\n  body:\n"
                    f"    - {{op: conv, c: 8, k: 3}}\n    - {row}\n")
    assert cli.main(["report", str(path), "-c", "thop"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"archcalc: error: {path}:6: layers.body[1].written_as: ")
    assert message in err
