"""Frontiers: the generic Pareto front equals its brute-force definition; published points get
archcalc's exact costs; `archcalc frontier` writes an interactive plotly figure; the published
data files are well formed."""
from __future__ import annotations

import itertools
import random
from fractions import Fraction

import pytest
import yaml

import archcalc
from archcalc.design import frontier

from design_helpers import REPO, reference, run

MBV2 = REPO / "specs" / "mobilenet_v2.yaml"
MBV1 = REPO / "specs" / "mobilenet_v1.yaml"


def brute_front(points, objectives):
    def better_eq(a, b, k, s):
        return a[k] <= b[k] if s == "min" else a[k] >= b[k]

    def strictly(a, b, k, s):
        return a[k] < b[k] if s == "min" else a[k] > b[k]
    out = []
    for i, p in enumerate(points):
        if not any(all(better_eq(q, p, k, s) for k, s in objectives)
                   and any(strictly(q, p, k, s) for k, s in objectives)
                   for j, q in enumerate(points) if j != i):
            out.append(i)
    return out


@pytest.mark.parametrize("senses", list(itertools.product(("min", "max"), repeat=2)))
def test_pareto_front_2d_equals_brute_force(senses):
    rng = random.Random(str(senses))
    for trial in range(60):
        n = rng.randint(1, 40)
        pts = [{"x": rng.randint(0, 12), "y": rng.choice([Fraction(rng.randint(0, 12), 3), rng.randint(0, 4)])}
               for _ in range(n)]       # many ties and duplicates
        obj = [("x", senses[0]), ("y", senses[1])]
        assert frontier.pareto_front(pts, obj) == brute_front(pts, obj), (trial, pts)


def test_pareto_front_3d_equals_brute_force():
    rng = random.Random(3)
    for _ in range(40):
        pts = [{"a": rng.randint(0, 5), "b": rng.randint(0, 5), "c": rng.randint(0, 5)}
               for _ in range(rng.randint(1, 30))]
        obj = [("a", "min"), ("b", "max"), ("c", "min")]
        assert frontier.pareto_front(pts, obj) == brute_front(pts, obj)


def test_directions():
    assert frontier.direction("top1") == "max" and frontier.direction("madds") == "min"
    assert frontier.direction("pixel1_ms") == "min"
    assert frontier.direction("madds", maximise=["madds"]) == "max"
    with pytest.raises(archcalc.OptionError):
        frontier.pareto_front([{"x": 1}], [("x", "up")])


def test_published_points_get_exact_costs():
    pts = frontier.collect_points([MBV2, MBV1], "madds", "top1")
    v2 = [p for p in pts if p["group"].startswith("MobileNetV2")]
    v1 = [p for p in pts if p["group"].startswith("MobileNetV1")]
    for spec, got in ((MBV2, v2), (MBV1, v1)):
        rows = yaml.safe_load(frontier.published_for(spec).read_text())["points"]
        assert len(got) == len([r for r in rows if "top1" in r])
    assert len([p for p in v2 if p["label"].startswith("mobilenet_v2_")]) == 22
    assert len([p for p in v1 if p["label"].startswith("MobileNet_v1_")]) == 16
    for p in pts:
        assert p["madds"] == reference(p["spec"], p["width"], p["resolution"])["madds"], p["label"]
    by_label = {p["label"]: p for p in v2}
    assert by_label["mobilenet_v2_1.0_224"]["madds"] == 300_774_272      # the paper's 300M
    assert by_label["mobilenet_v2_1.0_224"]["top1"] == Fraction("71.8")
    front = frontier.pareto_front(pts, [("madds", "min"), ("top1", "max")])
    assert front == brute_front(pts, [("madds", "min"), ("top1", "max")])
    labels = {pts[i]["label"] for i in front}
    assert "mobilenet_v2_1.4_224" in labels and "mobilenet_v2_0.35_96" in labels
    assert "mobilenet_v2_1.0_192" in labels


def test_every_published_point_of_every_spec():
    """All specs' published files, including per-point parameter bindings (`set:`)."""
    from design_helpers import SPECS
    pts = frontier.collect_points(SPECS, "params", "top1")
    assert pts
    for p in pts:
        want = reference(p["spec"], p["width"], p["resolution"], sets=p.get("set", {}))
        assert p["params"] == want["params"], p["label"]
    assert any(p.get("set") for p in pts) == any(
        "set:" in f.read_text() for f in (REPO / "specs" / "published").glob("*.yaml"))


def test_cost_vs_cost_uses_a_grid():
    pts = frontier.collect_points([MBV2], "madds", "params", widths="0.5,1", resolutions="128,224",
                                  published=False)
    assert len(pts) == 4 and all(p["group"] == "MobileNetV2 (grid)" for p in pts)
    for p in pts:
        want = reference(MBV2, p["width"], p["resolution"])
        assert (p["madds"], p["params"]) == (want["madds"], want["params"])


def test_points_files_csv_and_yaml(tmp_path):
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text("label,width,resolution,top1\nA,0.5,160,60.5\nB,1.0,224,70\n")
    pts = frontier.collect_points([MBV2], "madds", "top1", points_files=[csv_path], published=False)
    assert [p["label"] for p in pts] == ["A", "B"]
    assert pts[0]["madds"] == reference(MBV2, "0.5", 160)["madds"] and pts[0]["top1"] == Fraction("60.5")
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"source": "somewhere", "points": [
        {"label": "Foo", "madds": 100_000_000, "top1": 70.1},
        {"label": "no cost", "top1": 50}]}))
    pts = frontier.collect_points([], "madds", "top1", points_files=[other])
    assert [p["label"] for p in pts] == ["Foo"] and pts[0]["source"] == "somewhere"
    bad = tmp_path / "bad.yaml"
    bad.write_text("points: 3\n")
    with pytest.raises(archcalc.OptionError, match="points"):
        frontier.load_points(bad)
    with pytest.raises(archcalc.OptionError, match="not found"):
        frontier.load_points(tmp_path / "missing.csv")


def test_published_files_are_well_formed():
    files = sorted((REPO / "specs" / "published").glob("*.yaml"))
    assert {f.stem for f in files} >= {"mobilenet_v1", "mobilenet_v2"}
    for path in files:
        doc = yaml.safe_load(path.read_text())
        spec = (path.parent / doc["spec"]).resolve()
        assert spec.is_file() and frontier.published_for(spec) == path.resolve()
        assert doc["source"]
        points = frontier.load_points(path)
        assert len(points) == len(doc["points"])
        for p in points:
            assert p["label"] and p["source"], (path.name, p)
            if "top1" in p:
                assert 0 < p["top1"] < 100
            if "top5" in p:
                assert p["top1"] < p["top5"] < 100
    # the TF-slim checkpoint tables (MobileNetV2: 22 rows, MobileNetV1 float: 16 rows)
    for name, rows in (("mobilenet_v2", 22), ("mobilenet_v1", 16)):
        doc = yaml.safe_load((REPO / "specs" / "published" / f"{name}.yaml").read_text())
        ckpts = [p for p in doc["points"] if "checkpoint" in p]
        assert len(ckpts) == rows and "tensorflow/models" in doc["source"]
        for p in ckpts:
            assert p["checkpoint"].lower().startswith(name) and f"_{p['resolution']}" in p["checkpoint"]
            assert p["checkpoint"].split("_")[2].rstrip("0").rstrip(".") == \
                str(p["width"]).rstrip("0").rstrip(".")


def test_cli_frontier_writes_plotly_html(tmp_path):
    out = tmp_path / "frontier.html"
    rc, text, err = run("frontier", MBV2, MBV1, "--x", "madds", "--y", "top1", "--out", out,
                        "--plotlyjs", "cdn")
    assert rc == 0 and err == ""
    assert "Pareto front of top1 (higher is better) vs madds (lower is better)" in text
    assert f"wrote {out}" in text
    html = out.read_text()
    assert "plotly" in html.lower() and "Pareto front" in html and "mobilenet_v2_1.4_224" in html
    rc, text, _ = run("frontier", MBV2, "--x", "madds", "--y", "params", "--widths", "0.5,1", "--resolutions", "160")
    assert rc == 0 and "params (lower is better)" in text
    rc, _, err = run("frontier")
    assert rc == 2 and "SPEC" in err
    rc, _, err = run("frontier", MBV2, "--y", "top9", "--no-published")
    assert rc == 2 and "no points" in err
