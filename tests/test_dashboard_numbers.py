"""The numbers the dashboard shows, checked against values computed independently of archcalc
(never against `archcalc.evaluate`, which the other dashboard tests use to check that the
dashboard shows archcalc's numbers):

* a tiny spec whose params, MAdds and activation memory are derived by hand below, shown in
  the designer both from the catalog (the lambdified evaluator's path) and pasted (the
  sandbox and `archcalc.evaluate` path);
* published figures, with their sources: torchvision's MobileNet_V2 weights meta, TF-slim's
  released MobileNetV2 checkpoints, the MobileNetV1 paper (Howard et al. 2017,
  arXiv:1704.04861, Table 1 layers, 569M Mult-Adds and 4.2M parameters), the MobileNetV2
  paper (Sandler et al. 2018, arXiv:1801.04381, Table 3 memory and Table 4 accuracy and
  latency);
* tests/reference_mobilenet_v2.py, a plain-Python counter of MobileNetV2 (no archcalc), at
  the designer's slider points, per layer;
* PyTorch's own counts (sum of parameters, FlopCounterMode / 2) of hand-written models in
  tests/reference_torchvision.py (no archcalc), shown in the designer.
"""
from __future__ import annotations

import pytest

pytest.importorskip("dash")

from archcalc.report.units import human_count    # noqa: E402
from dashboard.controls import width_text         # noqa: E402
from dashboard.views import compare, designer     # noqa: E402
from dashboard.workspace import Workspace         # noqa: E402
from dashboard_fixtures import ws                 # noqa: E402,F401  (ws: a fixture)
from reference_mobilenet_v2 import mobilenet_v2 as reference_v2   # noqa: E402

TINY = """\
name: tiny
input: {channels: 3, resolution: 32}
layers:
  stem:
    - {op: conv, c: 16, k: 3, s: 2, act: relu6}
  body:
    - {op: dwconv, s: 2, act: relu6}
    - {op: pwconv, c: 24, act: relu6}
  head:
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: 10}
"""


def tiny_by_hand(alpha_channels, r, dtype_bytes=4):
    """The tiny spec at a point, by hand (docs/spec.md: conv/dwconv/pwconv have a BN and so no
    bias, 'same' padding, k x k x c_in x c_out weights; fc: weights + a bias; MAdds = weights x
    output positions; docs/memory.md: a layer materialises C x H x W x bytes, its live set is
    its input and its output, BN and activations run in place). `alpha_channels` are the
    scaled widths (c16, c24) of the stem and the pointwise conv."""
    c1, c2 = alpha_channels
    h1, h2 = r // 2, r // 4                       # stride 2 twice, 'same' padding
    stem_w, dw_w, pw_w, fc_w = 3 * 3 * 3 * c1, 3 * 3 * c1, c1 * c2, c2 * 10
    image = 3 * r * r * dtype_bytes
    out = [c1 * h1 * h1 * dtype_bytes, c1 * h2 * h2 * dtype_bytes, c2 * h2 * h2 * dtype_bytes,
           c2 * dtype_bytes, 10 * dtype_bytes]    # stem, dw, pw, pool, fc outputs
    layers = [  # name, params (paper: no BN), BN params, MAdds, bytes materialised, live bytes
        ("input", 0, 0, 0, image, image),
        ("stem.0", stem_w, 2 * c1, stem_w * h1 * h1, out[0], image + out[0]),
        ("body.0", dw_w, 2 * c1, dw_w * h2 * h2, out[1], out[0] + out[1]),
        ("body.1", pw_w, 2 * c2, pw_w * h2 * h2, out[2], out[1] + out[2]),
        ("head.0", 0, 0, 0, out[3], out[2] + out[3]),
        ("classifier.0", fc_w + 10, 0, fc_w, out[4], out[3] + out[4]),
    ]
    return layers


# (width, resolution) -> the scaled widths: make_divisible(16 a, 8), make_divisible(24 a, 8)
# (docs/spec.md "Rounding rules": max(8, int(v + 4) // 8 * 8), + 8 if that is below 0.9 v)
TINY_POINTS = [("1", 32, (16, 24)), ("0.5", 64, (8, 16)), ("2", 96, (32, 48))]


def test_the_hand_derived_values_are_what_they_say():
    """The arithmetic above, once written out for width 1 at 32 x 32."""
    layers = tiny_by_hand((16, 24), 32)
    assert sum(g[1] for g in layers) == 432 + 144 + 384 + 250 == 1210
    assert sum(g[3] for g in layers) == 432 * 256 + 144 * 64 + 384 * 64 + 240 == 144_624
    assert max(g[5] for g in layers) == 3 * 32 * 32 * 4 + 16 * 16 * 16 * 4 == 28_672


def check_tiny(p, table, layers, bn_counted=False):
    cards = {c["key"]: c["exact"] for c in p["cards"]}
    params = sum(g[1] + (g[2] if bn_counted else 0) for g in layers)
    assert cards["params"] == f"{params:,}"
    assert cards["madds"] == f"{sum(g[3] for g in layers):,}"
    assert cards["activation_bytes"] == f"{sum(g[4] for g in layers):,} bytes"
    peak = max(g[5] for g in layers)
    assert cards["peak_memory_bytes"] == f"{peak:,} bytes"
    assert cards["peak_memory_bytes_streamed"] == f"{peak:,} bytes"    # no block to stream
    assert p["flops"].endswith(human_count(2 * sum(g[3] for g in layers)))
    rows = designer.layer_rows(table)
    got = [(g["name"], g["params"], g["bn_params"], g["madds"], g["memory_bytes"], g["live_bytes"])
           for g in rows]
    want = [(n, w + (b if bn_counted else 0), b, m, o, live) for n, w, b, m, o, live in layers]
    assert got == want
    # the figures plot the same numbers: MAdds bars per layer, live memory per layer
    bars = {}
    for trace in p["layer_figure"]["data"]:
        if trace["yaxis"] == "y":                  # the MAdds panel
            bars.update(zip(trace["x"], trace["y"]))
    assert [bars[i] for i in range(len(layers))] == [g[3] for g in layers]
    assert p["memory_figure"]["data"][0]["y"] == [g[5] for g in layers]


@pytest.mark.parametrize("width, res, channels", TINY_POINTS)
def test_a_tiny_spec_in_the_designer_equals_the_hand_derivation(tmp_path_factory, width, res,
                                                               channels):
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "tiny.yaml").write_text(TINY)
    w = Workspace(folder, db_path=folder / "none.sqlite", wait_for_compile=True)
    assert w.layer_evaluator("file:tiny.yaml") is not None        # the slider's path
    layers = tiny_by_hand(channels, res)
    p = designer.designer_payload(w, "file:tiny.yaml", width, res)
    assert p["error"] is None and p["layers"] == len(layers)
    check_tiny(p, w.table("file:tiny.yaml", width, res), layers)
    p = designer.designer_payload(w, "file:tiny.yaml", width, res, "torchvision", "fp16")
    check_tiny(p, w.table("file:tiny.yaml", width, res, "torchvision", "fp16"),
               tiny_by_hand(channels, res, dtype_bytes=2), bn_counted=True)


def test_a_pasted_tiny_spec_equals_the_hand_derivation(ws):
    result = ws.check_text(TINY, "tiny.yaml")          # parsed, compiled, costed in the sandbox
    layers = tiny_by_hand((16, 24), 32)
    assert result.ok and result.totals["madds"] == sum(g[3] for g in layers)
    for width, res, channels in TINY_POINTS:
        p = designer.designer_payload(ws, result.source, width, res)
        check_tiny(p, ws.table(result.source, width, res), tiny_by_hand(channels, res))


# -- published figures ------------------------------------------------------------------------------
def cards_at(ws, width, res, convention="paper", dtype="fp32", spec="mobilenet_v2.yaml"):
    p = designer.designer_payload(ws, f"file:{spec}", width, res, convention, dtype)
    assert p["error"] is None, p["error"]
    return {c["key"]: c["exact"] for c in p["cards"]}, p


def test_mobilenet_v2_in_the_designer_equals_published_figures(ws):
    # torchvision MobileNet_V2_Weights.IMAGENET1K_V1 meta: num_params 3504872, _ops 0.301
    # GFLOPS (torchvision's "GFLOPS" there are multiply-adds): 300,774,272 exactly (the
    # reference counter, tests/reference_mobilenet_v2.py, and tests/test_mobilenet_v2.py).
    cards, p = cards_at(ws, 1, 224, "torchvision")
    assert cards["params"] == "3,504,872"
    assert cards["madds"] == "300,774,272"
    assert round(300_774_272 / 1e9, 3) == 0.301
    # The paper's convention leaves out BN's 34,112 gamma/beta: 3.4M params, 300M MAdds
    # (MobileNetV2 Table 4).
    cards, p = cards_at(ws, 1, 224)
    assert cards["params"] == f"{3_504_872 - 34_112:,}" and cards["madds"] == "300,774,272"
    # Table 4 also gives its top-1 and Pixel 1 latency, which the designer quotes.
    assert p["published"].startswith("Published at this point: 72.0% top-1, 75 ms on a Pixel 1")
    # TF-slim's released mobilenet_v2_0.75_224 and _1.4_224 (1001 classes): 2,611,065 and
    # 6,062,633 parameters (tests/test_mobilenet_v2.py cites them).
    assert cards_at(ws, 0.75, 224, "tf-slim")[0]["params"] == "2,611,065"
    assert cards_at(ws, 1.4, 224, "tf-slim")[0]["params"] == "6,062,633"


# -- the plain-Python reference counter -------------------------------------------------------------
@pytest.mark.parametrize("width, res", [(0.35000000000000003, 96), (0.5, 128), (0.75, 160),
                                        (1.0, 224), (1.3, 224), (1.4, 192)])
def test_mobilenet_v2_in_the_designer_equals_the_reference_counter(ws, width, res):
    """Totals and every conv/fc layer (network order) against tests/reference_mobilenet_v2.py
    (torchvision's make_divisible in float arithmetic, BN counted as torchvision counts it)."""
    ref = reference_v2(width, res, 1000, "torchvision")
    cards, p = cards_at(ws, width, res, "torchvision")
    assert cards["params"] == f"{ref.params + ref.bn_params:,}"
    assert cards["madds"] == f"{ref.madds:,}"
    table = ws.table("file:mobilenet_v2.yaml", width_text(width), res, "torchvision")
    shown = [(g["madds"], g["params"]) for g in designer.layer_rows(table) if g["madds"]]
    assert shown == [(r.madds, r.params + r.bn_params) for r in ref.layers if r.madds]


# -- PyTorch's own counts ---------------------------------------------------------------------------
@pytest.mark.parametrize("spec, sets, build", [
    ("shufflenet_v2.yaml", {"size": "x1_0"}, lambda ref: ref.shufflenet_v2("x1_0")),
    ("mobilenet_v3_large.yaml", {}, lambda ref: ref.mobilenet_v3_large()),
])
@pytest.mark.parametrize("res", [224, 160])
def test_the_designer_equals_pytorchs_counts_of_a_hand_written_model(ws, spec, sets, build, res):
    """sum(p.numel()) and FlopCounterMode / 2 of torchvision's models re-written by hand in
    plain PyTorch (tests/reference_torchvision.py: no archcalc, no torchvision)."""
    pytest.importorskip("torch")
    import reference_torchvision as ref
    params, madds = ref.count(build(ref), res)
    p = designer.designer_payload(ws, f"file:{spec}", 1, res, "torchvision", sets=sets)
    assert p["error"] is None, p["error"]
    cards = {c["key"]: c["exact"] for c in p["cards"]}
    assert (cards["params"], cards["madds"]) == (f"{params:,}", f"{madds:,}")


# -- compare --------------------------------------------------------------------------------------
def mobilenet_v1_by_hand():
    """MobileNetV1 at 1.0 / 224 from the paper's Table 1: a 3x3/2 conv to 32 channels, 13
    depthwise-separable layers (3x3 depthwise + 1x1 pointwise), a global pool and a 1000-way
    fully connected layer. Returns (params without BN, with the fc bias; MAdds)."""
    layers = [(32, 64, 112), (64, 128, 56), (128, 128, 56), (128, 256, 28), (256, 256, 28),
              (256, 512, 14)] + [(512, 512, 14)] * 5 + [(512, 1024, 7), (1024, 1024, 7)]
    params = 3 * 3 * 3 * 32 + sum(9 * c_in + c_in * c_out for c_in, c_out, _ in layers) \
        + 1024 * 1000 + 1000
    madds = 3 * 3 * 3 * 32 * 112 * 112 + sum((9 * c_in + c_in * c_out) * h * h
                                             for c_in, c_out, h in layers) + 1024 * 1000
    return params, madds


def test_the_compare_view_equals_published_and_hand_derived_figures(ws):
    v1_params, v1_madds = mobilenet_v1_by_hand()
    assert (round(v1_madds / 1e6), round(v1_params / 1e6, 1)) == (569, 4.2)   # V1 paper
    slots = [{"spec": f"file:{k}", "width": 1, "resolution": None}
             for k in ("mobilenet_v1.yaml", "mobilenet_v2.yaml")]
    entries, errors = compare.compare_entries(ws, slots, "paper", "fp16")
    assert errors == []
    rows = {r["metric"]: r["cells"] for r in compare.compare_table(entries)["rows"]}
    assert [c["exact"] for c in rows["params"]] == [f"{v1_params:,}", f"{3_504_872 - 34_112:,}"]
    assert [c["exact"] for c in rows["MAdds"]] == [f"{v1_madds:,}", "300,774,272"]
    assert rows["MAdds"][1]["ratio"] == f"×{300_774_272 / v1_madds:.2f}"
    # MobileNetV2 Table 4: top-1 70.6 / 72.0, Pixel 1 latency 113 / 75 ms
    assert [c["value"] for c in rows["top-1 (published, %)"]] == ["70.6", "72.0"]
    assert [c["value"] for c in rows["phone latency (published, ms)"]] == ["113.0", "75.0"]
    # MobileNetV2 Table 3 (fp16 activations): the largest tensor to materialise at 112 x 112
    # is V1's 64-channel one (1600K) and V2's 16-channel bottleneck output (400K; its first
    # conv's output is streamed, Sec. 5.1): 64 x 112 x 112 x 2 and 16 x 112 x 112 x 2 bytes.
    memory = compare.compare_memory(entries)
    first = memory["rows"][0]
    assert first["size"] == "112x112"
    assert [(c["channels"], c["bytes"]) for c in first["cells"]] == [
        (64, 64 * 112 * 112 * 2), (16, 16 * 112 * 112 * 2)]
    assert [round(c["bytes"] / 1000, -2) for c in first["cells"]] == [1600, 400]

