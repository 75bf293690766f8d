"""The frontier tab shows a search space's Parquet output (issue 14): the architectures of an
uploaded `archcalc space --out` file and their (MAdds, params) front against the zoo's
published points; bounded (file size, rows) with a one-line reason for a refused file.

Independent checks: each architecture's totals come from archcalc.evaluate (a full compile
of the spec with its choices, not the space's stage tables), and the expected front is found
by comparing every pair."""
from __future__ import annotations

import base64

import numpy as np
import pytest

pytest.importorskip("dash")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import archcalc                                         # noqa: E402
from archcalc.spaces import declare                     # noqa: E402
from archcalc.spaces.run import Options, run_space      # noqa: E402
from dashboard.layout import frontier as frontier_tab   # noqa: E402
from dashboard.views import frontier, space_front       # noqa: E402
from dashboard_fixtures import ws  # noqa: E402,F401  (ws: a fixture)
from test_spaces_exact import TRADE, brute_front        # noqa: E402


@pytest.fixture(scope="module")
def space_out(tmp_path_factory):
    """(output folder, {index: (madds, params)} of every architecture by full compile)."""
    root = tmp_path_factory.mktemp("space")
    spec = root / "trade.yaml"
    spec.write_text(TRADE)
    space = declare(str(spec))
    costs = {}
    for i in range(space.size):
        t = archcalc.evaluate(str(spec), sets=space.sets_for(i)).totals
        costs[i] = (t["madds"], t["params"])
    run_space(space, Options(all=True, keep="all", out=str(root / "out"), partitions=2))
    return root / "out", costs


def upload(path) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(path.read_bytes()).decode()


def test_the_front_file_is_drawn_against_the_zoo(ws, space_out):
    out, costs = space_out
    fig, summary = frontier_tab.space_front_view(ws, upload(out / "_front.parquet"), "paper")
    traces = {t["name"]: t for t in fig["data"]}
    front = traces["trade: (MAdds, params) front"]
    expected = brute_front(np.array(list(costs.values()), dtype=np.int64), (1, 1))
    assert set(zip(front["x"], front["y"])) == expected
    assert front["x"] == sorted(front["x"])                     # drawn as a staircase
    zoo, _ = frontier.frontier_points(ws, "paper", with_measured=False)
    v2 = [p for p in zoo if p["family"] == "MobileNetV2"]
    assert traces["MobileNetV2"]["x"] == [p["madds"] for p in v2]
    assert f"{len(expected):,} on their (MAdds, params) front" in summary
    assert "288 in all" in summary


def test_a_partition_file_gets_its_own_front(space_out):
    out, costs = space_out
    part = out / "part-000000.parquet"
    rows = pq.read_table(part, columns=["index"]).column("index").to_pylist()
    space = space_front.read_space(part.read_bytes())
    assert [r["index"] for r in space["rows"]] == rows
    assert all((r["madds"], r["params"]) == costs[r["index"]] for r in space["rows"])
    got = {(space["rows"][i]["madds"], space["rows"][i]["params"]) for i in space["front"]}
    assert got == brute_front(np.array([costs[i] for i in rows], dtype=np.int64), (1, 1))
    assert set(space["choices"]) == {"m1", "k2", "t2", "m2", "n2", "m3", "se3"}


def test_refused_files_are_one_line(ws, space_out, monkeypatch, tmp_path):
    out, _ = space_out
    cases = []
    cases.append(("data:x;base64,bm90IGEgcGFycXVldCBmaWxl", "not a Parquet file"))
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"index": [1], "madds": [2], "params": [3]}), plain)
    cases.append((upload(plain), "not a space's output"))
    cases.append(("data:x;base64,!!!", "not valid base64"))
    for contents, says in cases:
        fig, message = frontier_tab.space_front_view(ws, contents, "paper")
        text = message.children
        assert says in text and "\n" not in text, text
    monkeypatch.setattr(space_front, "DASHBOARD_MAX_SPACE_ROWS", 3)
    _, message = frontier_tab.space_front_view(ws, upload(out / "part-000000.parquet"), "paper")
    assert "DASHBOARD_MAX_SPACE_ROWS" in message.children
    monkeypatch.setattr(space_front, "DASHBOARD_MAX_SPACE_BYTES", 100)
    _, message = frontier_tab.space_front_view(ws, upload(out / "_front.parquet"), "paper")
    assert "DASHBOARD_MAX_SPACE_BYTES" in message.children


def test_many_rows_are_thinned_for_drawing_but_the_front_is_whole(monkeypatch):
    rng = np.random.default_rng(0)
    rows = [{"index": i, "madds": int(m), "params": int(p), "choices": {}}
            for i, (m, p) in enumerate(rng.integers(1, 10_000, size=(400, 2)))]
    front = space_front.cost_front(rows)
    expected = brute_front(np.array([(r["madds"], r["params"]) for r in rows]), (1, 1))
    assert {(rows[i]["madds"], rows[i]["params"]) for i in front} == expected
    monkeypatch.setattr(space_front, "DASHBOARD_MAX_SPACE_POINTS", 50)
    fig = space_front.space_figure({"rows": rows, "front": front, "spec": "s"}, [])
    assert len(fig["data"][0]["x"]) == 50 and len(fig["data"][1]["x"]) == len(front)
