"""`archcalc bench` and `archcalc results` (archcalc/torch_backend/, archcalc/cli/pytorch.py).

Every spec in specs/ is benched once (64x64, one thread, short time budgets so CI stays
fast) into one results database; the tests then check the JSON contract against archcalc's
own counts, the per-layer breakdown against the graph's node names, the roofline
arithmetic, the database rows and `archcalc results`. The timing harness itself is checked
on callables whose cost is known (sleeps).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from pathlib import Path

import pytest
import torch

import archcalc
from archcalc import cli, results
from archcalc.graph import compile_graph
from archcalc.torch_backend import bench as harness
from archcalc.torch_backend import calibrate, layer_profile, machine, roofline, timing
from archcalc.cli.pytorch import add_commands

REPO = Path(__file__).resolve().parents[1]
SPECS = sorted((REPO / "specs").glob("*.yaml"))
# SSD's valid 3x3 / 4x4 extra layers need an input of about 268 pixels or more
RESOLUTION = {"ssd300_vgg16": 268, "ssd512_vgg16": 272}


def resolution(spec) -> int:
    return RESOLUTION.get(spec.stem, 64)
FAST = ["--resolution", "64", "--threads", "1", "--min-time", "0.05", "--max-time", "0.3",
        "--warmup", "0.05", "--micro-time", "0.05", "--layer-runs", "3"]

TINY = """\
name: tiny
input: {channels: 3, resolution: 16}
params:
  num_classes: {default: 10, min: 1}
defaults: {act: relu}
layers:
  stem:
    - {op: conv, c: 8, k: 3, s: 2}
  body:
    - {op: bottleneck, t: 2, c: 8, n: 2, s: 1}
  head:
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: $num_classes}
"""


def _main_with_commands(monkeypatch):
    """cli.main with bench/results registered (a no-op once cli.py calls add_commands)."""
    original = cli.build_parser

    def build_parser():
        parser = original()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "bench" not in sub.choices:
            add_commands(sub)
        return parser
    monkeypatch.setattr(cli, "build_parser", build_parser)
    return cli.main


@pytest.fixture
def main(monkeypatch):
    return _main_with_commands(monkeypatch)


@pytest.fixture(scope="module")
def benched(tmp_path_factory):
    """Bench every spec once into one database: {spec path: (exit code, JSON, stderr)}."""
    mp = pytest.MonkeyPatch()
    run = _main_with_commands(mp)
    db = tmp_path_factory.mktemp("bench") / "results.sqlite"
    out = {}
    import contextlib
    import io
    try:
        for spec in SPECS:
            stdout, stderr = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = run(["bench", str(spec), *FAST, "--resolution", str(resolution(spec)),
                            "--db", str(db), "--format", "json"])
            out[spec] = (code, stdout.getvalue(), stderr.getvalue())
    finally:
        mp.undo()
    return db, out


def torch_counts(graph) -> tuple[int, int, dict]:
    """PyTorch's own counts of the model bench times, independent of archcalc's: parameters
    (sum of numel), MAdds (FlopCounterMode's FLOPs / 2) and MAdds per graph node."""
    from torch.utils.flop_counter import FlopCounterMode
    model = calibrate.materialise(graph)
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.randn(1, *graph.shape("input")))
    counts = counter.get_flop_counts()
    prefix = type(model).__name__ + "."       # FlopCounterMode names modules "<Class>.<path>"
    per_node = {name[len(prefix):]: sum(v.values()) // 2 for name, v in counts.items()
                if name.startswith(prefix)}
    params = sum(p.numel() for p in model.parameters())
    return params, sum(counts["Global"].values()) // 2, per_node


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


# -- every spec ---------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_bench_every_spec(benched, spec):
    db, out = benched
    code, stdout, stderr = out[spec]
    assert code == 0, stderr
    d = json.loads(stdout)                      # stdout is pure JSON
    assert "USDT" not in stderr and "USDT" not in stdout

    graph = compile_graph(archcalc.load(str(spec)), 1, resolution(spec))
    table = archcalc.evaluate(str(spec), 1, resolution(spec))
    assert d["spec"]["hash"] == hashlib.sha256(spec.read_bytes()).hexdigest()
    assert d["point"] == {"width": "1", "resolution": resolution(spec), "sets": {},
                          "params": d["point"]["params"]}
    assert d["options"]["threads"] == 1 and d["options"]["batch"] == 1
    # the model is exactly what archcalc counts (verify's convention: everything torch holds)
    assert d["model"]["madds_per_image"] == table.totals["madds"]
    assert d["model"]["ops"] == len(graph) - 1
    # ... and what PyTorch itself counts on the model, independently of archcalc
    params, madds, per_node = torch_counts(graph)
    assert d["model"]["params"] == params and d["model"]["madds_per_image"] == madds
    assert {o["name"]: o["madds"] for o in d["ops"]} == \
        {o["name"]: per_node.get(o["name"], 0) for o in d["ops"]}

    t = d["timing"]
    assert 0 < t["q1"] <= t["median"] <= t["q3"] and t["min"] <= t["q1"]
    assert t["samples"] >= 3 and t["first"] > 0 and t["warmup_iters"] >= 1
    assert t["ci_low"] <= t["median"] <= t["ci_high"]
    assert d["achieved"]["gflops"] == pytest.approx(2 * table.totals["madds"] / t["median"] / 1e9)

    # per op: one entry per graph node, in graph order, each profiled
    assert [o["name"] for o in d["ops"]] == graph.names[1:]
    assert all(o["measured_s"] >= 0 for o in d["ops"])
    assert all(o["measured_s"] > 0 for o in d["ops"] if o["madds"])
    # per layer: the report's layers, in order
    assert [g["name"] for g in d["layers"]] == [g["name"] for g in table.layers()
                                                if g["name"] != "input"]
    # roofline: each op's prediction is the max of its two terms; totals add up
    roof = d["roofline"]
    for o in d["ops"]:
        assert o["predicted_s"] == max(o["flops"] / (roof["peak_gflops"] * 1e9),
                                       o["bytes"] / (roof["bandwidth_gbs"] * 1e9))
        assert o["bound"] == ("compute" if o["compute_s"] >= o["memory_s"] else "memory")
    assert roof["predicted_s"] == pytest.approx(sum(o["predicted_s"] for o in d["ops"]))
    assert roof["predicted_s"] == pytest.approx(roof["compute_bound_s"] + roof["memory_bound_s"])
    assert roof["measured_over_predicted"] == pytest.approx(t["median"] / roof["predicted_s"])
    assert roof["peak_gflops"] > 0 and roof["bandwidth_gbs"] > 0 and roof["overhead_s"] > 0
    assert sum(k["ops"] for k in d["by_kind"].values()) == len(d["ops"])

    assert d["stored"]["database"] == str(db) and d["stored"]["id"] >= 1


def test_results_lists_every_bench(benched, main, capsys):
    db, out = benched
    assert main(["results", "--db", str(db), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    stored = {json.loads(stdout)["stored"]["id"]: spec for spec, (_, stdout, _) in out.items()}
    assert {r["id"] for r in rows} == set(stored)
    for r in rows:
        spec = stored[r["id"]]
        assert r["spec_path"] == str(spec)
        assert r["spec_hash"] == hashlib.sha256(spec.read_bytes()).hexdigest()
        assert r["machine"] == machine.machine()["fingerprint"]
        assert r["torch"] == torch.__version__ and r["gpu"] in ("none", r["gpu"])
        assert (r["width"], r["resolution"], r["batch"], r["dtype"], r["device"], r["threads"]) \
            == ("1", resolution(spec), 1, "fp32", "cpu", 1)
        assert r["options"] == {"channels_last": False, "compile": False}
        assert r["payload"]["timing"]["median"] == r["median_s"]

    assert main(["results", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    for spec in out:
        name = json.loads(out[spec][1])["spec"]["name"]
        assert name in text
    assert f"{len(out)} result(s)" in text

    assert main(["results", "--db", str(db), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("id,created,spec_name") and len(lines) == len(out) + 1


def test_results_without_a_database(main, capsys, tmp_path):
    path = tmp_path / "none.sqlite"
    assert main(["results", "--db", str(path)]) == 0
    assert "no results" in capsys.readouterr().out
    assert not path.exists()


def test_results_on_a_foreign_file_is_one_line(main, capsys, tmp_path):
    path = tmp_path / "x.sqlite"
    path.write_text("not a database")
    assert main(["results", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an SQLite database" in err


def test_bench_refuses_a_bad_database_before_timing(main, capsys, tmp_path, tiny):
    path = tmp_path / "x.sqlite"
    path.write_text("not a database")
    start = time.perf_counter()
    assert main(["bench", str(tiny), "--db", str(path)]) == 2
    assert time.perf_counter() - start < 1.0       # failed at open, not after a bench
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an SQLite database" in err
    assert path.read_text() == "not a database"


# -- text output and options ------------------------------------------------------------------------
def test_text_output_and_options(main, capsys, tmp_path, tiny):
    db = tmp_path / "r.sqlite"
    args = ["bench", str(tiny), "--threads", "1", "--min-time", "0.02", "--max-time", "0.2",
            "--warmup", "0.02", "--micro-time", "0.02", "--db", str(db)]
    assert main(args + ["--batch", "2", "--set", "num_classes=7"]) == 0
    text = capsys.readouterr().out
    for piece in ("latency", "median", "IQR", "roofline", "GFLOP/s", "per layer (batch 2)",
                  "stem.0", "body.0.0.expand", "body.0.1.add", "classifier.0",
                  "stored as result 1"):
        assert piece in text, piece
    assert main(args + ["--dtype", "bf16", "--channels-last", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["options"]["dtype"] == "bf16" and d["options"]["channels_last"]
    # bytes are counted at the run's dtype (2 bytes for bf16)
    assert d["ops"][0]["bytes"] == (3 * 16 * 16 + 8 * 8 * 8 + 8 * 3 * 9) * 2
    assert main(args + ["--no-layers", "--no-roofline", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert "roofline" not in d and "profile" not in d and d["timing"]["median"] > 0
    assert main(["results", "--db", str(db), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [(r["batch"], r["dtype"], r["sets"], r["options"]["channels_last"]) for r in rows] == \
        [(2, "fp32", {"num_classes": "7"}, False), (1, "bf16", {}, True), (1, "fp32", {}, False)]
    assert len({r["key"] for r in rows}) == 3


def test_no_profiler_chatter_on_stderr(main, capfd, tiny):
    """Kineto prints 'USDT: ... profiler_start' to fd 2 on every profile; bench hides it."""
    assert main(["bench", str(tiny), "--threads", "1", "--min-time", "0.02", "--max-time", "0.1",
                 "--warmup", "0.01", "--no-roofline", "--no-save"]) == 0
    out, err = capfd.readouterr()
    assert "per layer" in out
    assert "USDT" not in err and "profiler_st" not in err, err


def test_no_save(main, capsys, tmp_path, tiny, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ARCHCALC_RESULTS_DB", raising=False)
    assert main(["bench", str(tiny), "--threads", "1", "--min-time", "0.02", "--max-time", "0.1",
                 "--warmup", "0.01", "--no-roofline", "--no-layers", "--no-save"]) == 0
    assert "stored as" not in capsys.readouterr().out
    assert not (tmp_path / "cache").exists()


def test_compile(main, capsys, tmp_path, tiny):
    """torch.compile (inductor, CPU): the first call (compilation) is reported apart."""
    assert main(["bench", str(tiny), "--compile", "--threads", "1", "--min-time", "0.02",
                 "--max-time", "0.2", "--warmup", "0.02", "--micro-time", "0.02", "--no-save",
                 "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["options"]["compile"] is True
    assert d["timing"]["first"] > 10 * d["timing"]["median"]
    assert [o["name"] for o in d["ops"] if o.get("measured_s")]   # profile of the eager model


@pytest.mark.parametrize("args, message", [
    (["--batch", "0"], "--batch must be at least 1"),
    (["--threads", "0"], "--threads must be at least 1"),
    (["--min-time", "2", "--max-time", "1"], "--min-time"),
    (["--precision", "0"], "--precision"),
    (["--width", "0"], "width"),
])
def test_bad_options_are_one_line(main, capsys, tiny, tmp_path, args, message):
    db = tmp_path / "r.sqlite"
    assert main(["bench", str(tiny), "--db", str(db), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not db.exists()                      # refused before the database is opened


def test_cuda_device(main, capsys, tiny, tmp_path):
    """Without CUDA: one line, exit 2. With CUDA (the GPU machine): a real run."""
    args = ["bench", str(tiny), "--device", "cuda", "--min-time", "0.02", "--max-time", "0.2",
            "--warmup", "0.02", "--micro-time", "0.02", "--no-save", "--format", "json"]
    if torch.cuda.is_available():
        assert main(args) == 0
        d = json.loads(capsys.readouterr().out)
        assert d["options"]["device"] == "cuda" and d["machine"]["gpu"] != "none"
        assert all(o["measured_s"] > 0 for o in d["ops"] if o["madds"])
    else:
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "CUDA is not available" in err


def test_int8_is_not_a_bench_dtype(main, capsys, tiny):
    with pytest.raises(SystemExit) as info:
        main(["bench", str(tiny), "--dtype", "int8"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# -- the harness --------------------------------------------------------------------------------------
def test_median_ci_order_statistics():
    s = list(range(100))
    lo, hi = timing.median_ci(s)
    assert 38 <= lo <= 41 and 58 <= hi <= 61
    assert timing.median_ci([5.0]) == (5.0, 5.0)


def test_summarise_quantiles():
    t = timing.summarise([4.0, 1.0, 3.0, 2.0, 5.0], iters=1, elapsed=15.0, stable=True)
    assert (t.min, t.q1, t.median, t.q3, t.max) == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert t.iqr == 2.0 and t.rel_iqr == pytest.approx(2 / 3) and t.mean == 3.0


def test_time_fn_measures_a_known_cost():
    t = timing.time_fn(lambda: time.sleep(0.002), min_time=0.1, max_time=1.0,
                       precision=0.05, warmup=0.01)
    assert 0.002 <= t.median < 0.006
    assert t.samples >= 7 and t.iters_per_sample == 1 and t.first is not None
    assert t.q1 <= t.median <= t.q3


def test_time_fn_blocks_fast_calls():
    """A call far below the 2 ms sample target is timed in blocks of many iterations."""
    t = timing.time_fn(lambda: None, min_time=0.02, max_time=0.2, warmup=0.01)
    assert t.iters_per_sample > 100 and t.median < 1e-5


def test_time_fn_gives_up_at_max_time_and_says_so():
    import random
    rng = random.Random(0)
    t = timing.time_fn(lambda: time.sleep(rng.choice([0.0005, 0.004])), min_time=0.05,
                       max_time=0.15, precision=0.001, warmup=0.0)
    assert not t.stable and t.elapsed < 0.5


def test_compare_interleaves_and_estimates_the_ratio(monkeypatch):
    """On a simulated clock (a busy machine cannot stretch it): each "fast" call costs 1 ms,
    each "slow" one 3 ms, with a little jitter, so the ratio must come out near 3."""
    import random
    import types
    clock = {"t": 0.0}
    jitter = random.Random(1)
    fake = types.SimpleNamespace(perf_counter=lambda: clock["t"],
                                 thread_time=lambda: clock["t"])
    monkeypatch.setattr(timing, "time", fake)

    def costs(seconds):
        def call():
            clock["t"] += seconds * (1 + jitter.uniform(-0.02, 0.02))
        return call
    c = timing.compare_timings({"fast": costs(0.001), "slow": costs(0.003)},
                               min_time=0.2, max_time=1.5, precision=0.05, warmup=0.01)
    assert len(c.rounds) >= 7 and all(set(r) == {"fast", "slow"} for r in c.rounds)
    r = c.ratio("slow", "fast")
    assert 2.8 < r["of_medians"] < 3.2 and 2.8 < r["paired_median"] < 3.2
    assert r["paired_ci"][0] <= r["paired_median"] <= r["paired_ci"][1]


# -- the model it times ------------------------------------------------------------------------------
def test_calibrated_bn_keeps_activations_at_unit_scale():
    graph = compile_graph(archcalc.load(str(REPO / "specs" / "mobilenet_v2.yaml")), 1, 64)
    model = calibrate.materialise(graph)
    seen = {}
    model.get_submodule("head.0.bn").register_forward_hook(
        lambda m, a, out: seen.__setitem__("std", float(out.std())))
    with torch.inference_mode():
        model(torch.randn(2, 3, 64, 64))
    assert 0.3 < seen["std"] < 3, seen
    assert not model.training


def test_op_costs_bytes_and_flops(tiny):
    graph = compile_graph(archcalc.load(str(tiny)), 1, 16)
    ops = {o["name"]: o for o in roofline.op_costs(graph, batch=4, bytes_per_elem=4)}
    stem = ops["stem.0.conv"]
    madds = 8 * 3 * 9 * 8 * 8
    assert stem["madds"] == 4 * madds and stem["flops"] == 4 * 2 * madds
    assert stem["bytes"] == ((3 * 16 * 16 + 8 * 8 * 8) * 4 + 8 * 3 * 9) * 4
    bn = ops["stem.0.bn"]                       # gamma, beta, running mean and variance
    assert bn["bytes"] == (2 * 8 * 8 * 8 * 4 + 4 * 8) * 4 and bn["flops"] == 4 * 8 * 8 * 8
    add = ops["body.0.1.add"]                     # two inputs, one output
    assert add["bytes"] == 3 * 8 * 8 * 8 * 4 * 4


def test_profile_layers_names_every_node(tiny):
    graph = compile_graph(archcalc.load(str(tiny)), 1, 16)
    model = calibrate.materialise(graph)
    x = torch.randn(1, 3, 16, 16)
    with torch.inference_mode():
        times = layer_profile.profile_layers(model, lambda: model(x), graph.names[1:], iters=3)
    assert list(times) == graph.names[1:]
    assert all(v > 0 for v in times.values())
    assert not model._forward_hooks and not model.get_submodule("stem.0.conv")._forward_pre_hooks


def test_bench_restores_threads(tiny):
    before = torch.get_num_threads()
    graph = compile_graph(archcalc.load(str(tiny)), 1, 16)
    harness.bench(graph, harness.BenchOptions(threads=1, min_time=0.01, max_time=0.05,
                                              warmup=0.0, layers=False, roofline=False))
    assert torch.get_num_threads() == before


def test_machine_fingerprint_matches_results():
    m = machine.machine()
    assert m["fingerprint"] == results.fingerprint(m)
    assert m["torch"] == torch.__version__ and m["cores"] >= 1 and not math.isnan(m["cores"])
