"""Search spaces are exact: every sampled architecture of every shipped space equals
`archcalc report SPEC --set ...` of the same choices (archcalc.evaluate, the full compile),
through the stage tables and through per-architecture compiles; budgets count what they
should; Pareto fronts equal brute force; the Parquet dataset holds what it says.

Brute force here is independent of archcalc.spaces: totals from archcalc.evaluate of each
architecture, fronts by comparing every pair.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import archcalc
from archcalc import cli
from archcalc.spaces import declare
from archcalc.spaces.run import Options, run_space
from archcalc.spaces.stages import METRICS

pd = pytest.importorskip("pandas")
pq = pytest.importorskip("pyarrow.parquet")

REPO = Path(__file__).resolve().parents[1]
REPORTED = [m for m in METRICS if m != "elementwise_ops"]   # report's JSON under `paper`
SPACES = {name: REPO / "specs" / "spaces" / f"{name}.yaml"
          for name in ("mobilenet_v2_space", "mnasnet_space")}

# Choices that trade MAdds against params (a stride-2 wide layer or a stride-1 narrow one), a
# stage whose input depends on the previous stage's choice, SE and repeats: 288 architectures.
TRADE = """\
name: trade
input: {channels: 3, resolution: 32}
params:
  m1: {default: a, choices: [a, b, c]}
  k2: {default: 3, choices: [3, 5]}
  t2: {default: 6, choices: [2, 6]}
  m2: {default: a, choices: [a, b]}
  n2: {default: 1, choices: [1, 3]}
  m3: {default: a, choices: [a, b, c]}
  se3: {default: 0.0, choices: [0.0, 0.25]}
defaults: {act: relu6}
layers:
  stem:
    - {op: conv, c: {by: m1, a: 16, b: 48, c: 96}, k: 3, s: {by: m1, a: 1, b: 2, c: 4}}
  body:
    - {op: bottleneck, t: $t2, k: $k2, c: {by: m2, a: 24, b: 64}, n: $n2, s: {by: m2, a: 1, b: 2}}
    - {op: bottleneck, t: 3, c: {by: m3, a: 32, b: 96, c: 160}, s: {by: m3, a: 1, b: 2, c: 4},
       se: $se3}
  head:
    - {op: avgpool, global: true}
    - {op: fc, c: 10}
"""


@pytest.fixture(scope="module")
def trade(tmp_path_factory):
    """(path, space, totals of every architecture by full compile: (n, METRICS))."""
    path = tmp_path_factory.mktemp("trade") / "trade.yaml"
    path.write_text(TRADE)
    space = declare(str(path))
    assert space.size == 288
    totals = np.array([[archcalc.evaluate(str(path), sets=space.sets_for(i)).totals[m]
                        for m in METRICS] for i in range(space.size)], dtype=np.int64)
    return str(path), space, totals


def brute_front(values: np.ndarray, signs) -> set:
    """The non-dominated value vectors, by comparing every pair."""
    v = np.unique(values * np.array(signs), axis=0)
    out = set()
    for row in v:
        if not (((v <= row).all(1)) & ((v != row).any(1))).any():
            out.add(tuple(int(x) for x in row * np.array(signs)))
    return out


def sets_of(space, row) -> dict:
    """--set texts from a Parquet row's choice columns (floats of exact decimals)."""
    from archcalc.spaces.declare import value_text
    out = {}
    for c in space.choices:
        v = row[c.name]
        match = [x for x in c.values if (float(x) if not isinstance(x, str) else x) == v]
        assert len(match) == 1, (c.name, v)
        out[c.name] = value_text(match[0])
    return out


# ---- every sampled architecture equals `archcalc report` ----------------------------------------

@pytest.mark.parametrize("name", sorted(SPACES))
def test_a_random_sample_of_each_shipped_space_equals_report(tmp_path, name):
    path = str(SPACES[name])
    space = declare(path)
    out = tmp_path / "sample"
    res = run_space(space, Options(sample=15, seed=20260, out=str(out)))
    assert res.path == "decomposed" and res.reason == "" and res.evaluated == res.valid == 15
    rows = pd.read_parquet(out).sort_values("index")
    assert len(rows) == 15 and rows["index"].is_unique
    for _, row in rows.iterrows():
        assert space.sets_for(int(row["index"])) == {**space.sets, **sets_of(space, row)}
        table = archcalc.evaluate(path, sets=sets_of(space, row))
        assert {m: int(row[m]) for m in REPORTED} == {m: table.totals[m] for m in REPORTED}
    compiled = tmp_path / "compiled"
    res2 = run_space(space, Options(sample=15, seed=20260, out=str(compiled), compile_each=True))
    assert res2.path == "compiled"
    again = pd.read_parquet(compiled).sort_values("index").reset_index(drop=True)
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), again)


@pytest.mark.parametrize("name", sorted(SPACES))
def test_a_sampled_front_member_equals_the_report_command(capsys, name):
    """`archcalc space --format json` and `archcalc report --format json --set ...`, both
    through the command line, for the front's architectures."""
    path = str(SPACES[name])
    assert cli.main(["space", path, "--sample", "200", "--seed", "7", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["evaluated"] == 200 and summary["front"]
    for member in summary["front"][:3]:
        args = ["report", path, "--format", "json"]
        for k, v in member["sets"].items():
            args += ["--set", f"{k}={v}"]
        assert cli.main(args) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["totals"] == member["totals"]


def test_grids_conventions_and_dtypes_equal_report(tmp_path):
    path = str(SPACES["mobilenet_v2_space"])
    conv = archcalc.CONVENTIONS["torchvision"].with_options(elementwise=True)
    space = declare(path, {"num_classes": "100"}, conv, "fp16", widths="0.5,1.4",
                    resolutions="160,224")
    out = tmp_path / "grid"
    res = run_space(space, Options(sample=12, seed=3, out=str(out)))
    assert res.path == "decomposed"
    rows = pd.read_parquet(out)
    assert set(rows.columns) >= {"width", "resolution", "elementwise_ops"}
    for _, row in rows.iterrows():
        table = archcalc.evaluate(path, repr(float(row["width"])), int(row["resolution"]),
                                  convention=conv, dtype="fp16",
                                  sets={"num_classes": "100", **sets_of(space, row)})
        assert {m: int(row[m]) for m in METRICS} == {m: table.totals[m] for m in METRICS}


# ---- budgets and fronts against brute force -----------------------------------------------------

CASES = [
    ({}, ("madds", "params"), ()),
    ({"madds": 3_000_000, "peak_memory_bytes_streamed": 80_000}, ("madds", "params"), ()),
    ({"params": 30_000}, ("madds", "params", "peak_memory_bytes"), ()),
    ({"params": 30_000}, ("madds", "params"), ("params",)),
    ({"madds": 3_000_000, "params": 40_000}, ("madds", "params", "peak_memory_bytes"),
     ("params", "peak_memory_bytes")),
]


@pytest.mark.parametrize("budgets,metrics,maximize", CASES)
@pytest.mark.parametrize("target,partitions", [(1 << 19, None), (1, 2), (5, 3), (37, None)])
def test_fronts_and_budgets_of_all_equal_brute_force(trade, budgets, metrics, maximize, target,
                                                     partitions):
    """Blocks of 1 to 288 architectures (the straddling stage included), several partitions."""
    path, space, totals = trade
    ok = np.ones(len(totals), dtype=bool)
    for m, b in budgets.items():
        ok &= totals[:, METRICS.index(m)] <= b
    signs = [-1 if m in maximize else 1 for m in metrics]
    cols = [METRICS.index(m) for m in metrics]
    expect = brute_front(totals[ok][:, cols], signs)
    res = run_space(space, Options(all=True, budgets=budgets, pareto=metrics, maximize=maximize,
                                   block_target=target, partitions=partitions))
    assert (res.evaluated, res.valid, res.in_budget) == (288, 288, int(ok.sum()))
    got = {tuple(r["totals"][m] for m in metrics) for r in res.front}
    assert got == expect and len(res.front) == len(expect)
    for r in res.front:                         # each member attains its point, within budget
        assert list(totals[r["index"]]) == [r["totals"][m] for m in METRICS]
        assert ok[r["index"]]


def test_a_sample_front_equals_brute_force_over_the_sample(trade, tmp_path):
    path, space, totals = trade
    for compile_each in (False, True):
        out = tmp_path / f"s{int(compile_each)}"
        res = run_space(space, Options(sample=100, seed=5, keep="all", out=str(out),
                                       budgets={"madds": 5_000_000}, compile_each=compile_each))
        rows = pd.read_parquet(out)
        idx = rows["index"].to_numpy()
        assert len(set(idx)) == 100 and rows["in_budget"].sum() == res.in_budget
        ok = totals[idx, METRICS.index("madds")] <= 5_000_000
        assert (rows["in_budget"].to_numpy() == ok).all()
        expect = brute_front(totals[idx][ok][:, [2, 0]], [1, 1])
        assert {(r["totals"]["madds"], r["totals"]["params"]) for r in res.front} == expect


# ---- the Parquet dataset ------------------------------------------------------------------------

def test_the_dataset_holds_the_in_budget_rows_the_front_and_its_provenance(trade, tmp_path):
    path, space, totals = trade
    out = tmp_path / "ds"
    budgets = {"madds": 4_000_000, "params": 60_000}
    res = run_space(space, Options(all=True, budgets=budgets, out=str(out), partitions=3,
                                   block_target=16))
    files = sorted(p.name for p in out.iterdir())
    assert files == ["_front.parquet"] + [f"part-{k:06d}.parquet" for k in range(res.partitions)]
    assert res.partitions == 3
    ok = (totals[:, 2] <= 4_000_000) & (totals[:, 0] <= 60_000)
    rows = pd.read_parquet(out)                     # _front.parquet is not part of the dataset
    assert sorted(rows["index"]) == list(np.flatnonzero(ok))
    for _, row in rows.iterrows():
        assert [int(row[m]) for m in REPORTED] == \
            [int(totals[int(row["index"]), METRICS.index(m)]) for m in REPORTED]
    front = pd.read_parquet(out / "_front.parquet")
    assert sorted(front["index"]) == sorted(r["index"] for r in res.front)
    meta = {k.decode(): v.decode() for k, v in
            pq.read_schema(out / "part-000001.parquet").metadata.items()}
    assert meta["convention"] == "paper" and meta["dtype"] == "fp32"
    assert meta["archcalc_version"] == archcalc.__version__ and meta["spec"] == "trade"
    assert meta["space_path"] == "decomposed" and meta["space_size"] == "288"
    assert json.loads(meta["space_choices"])["m1"] == ["a", "b", "c"]
    assert json.loads(meta["space_budgets"]) == {"madds": "4000000", "params": "60000"}
    assert "elementwise_ops" not in rows.columns      # as report's JSON under `paper`


def test_keep_front_and_keep_all(trade, tmp_path):
    path, space, totals = trade
    res = run_space(space, Options(all=True, keep="front", out=str(tmp_path / "f")))
    assert res.written == 0 and len(pd.read_parquet(tmp_path / "f")) == 0
    assert len(pd.read_parquet(tmp_path / "f" / "_front.parquet")) == len(res.front)
    run_space(space, Options(all=True, keep="all", budgets={"params": 30_000},
                             out=str(tmp_path / "a")))
    rows = pd.read_parquet(tmp_path / "a").sort_values("index")
    assert list(rows["index"]) == list(range(288))
    assert list(rows["in_budget"]) == list(totals[:, 0] <= 30_000)


def test_an_existing_output_is_not_overwritten_and_a_failed_run_leaves_no_partial_files(
        trade, tmp_path, monkeypatch):
    path, space, _ = trade
    out = tmp_path / "once"
    run_space(space, Options(sample=10, out=str(out)))
    with pytest.raises(archcalc.OptionError, match="already holds"):
        run_space(space, Options(sample=10, out=str(out)))
    from archcalc.spaces import run, work
    monkeypatch.setattr(work, "MAX_SPACE_OUTPUT_ROWS", 50)
    monkeypatch.setattr(run, "MAX_SPACE_OUTPUT_ROWS", 50)
    with pytest.raises(archcalc.OptionError, match="MAX_SPACE_OUTPUT_ROWS"):
        run_space(space, Options(all=True, out=str(tmp_path / "big")))
    with pytest.raises(archcalc.OptionError, match="MAX_SPACE_OUTPUT_ROWS"):
        run_space(space, Options(all=True, budgets={"params": 10**9}, partitions=4,
                                 block_target=16, out=str(tmp_path / "late")))
    assert list((tmp_path / "late").iterdir()) == []
