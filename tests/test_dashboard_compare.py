"""The dashboard's compare view without a browser: the default columns, ratios, memory table,
CSV download, points and bad slots."""
from __future__ import annotations

import pytest

pytest.importorskip("dash")

from dash import no_update                        # noqa: E402

from dashboard.layout import compare as compare_tab   # noqa: E402
from dashboard.views import compare               # noqa: E402
from dashboard_fixtures import SPECS, reference, ws  # noqa: E402,F401  (ws: a fixture)


# -- compare ---------------------------------------------------------------------------------------
def test_compare_defaults_and_ratios(ws):
    slots = [{"spec": f"file:{k}", "width": 1, "resolution": None} for k in compare.DEFAULT_COMPARE]
    entries, errors = compare.compare_entries(ws, slots + [{"spec": None}])
    assert errors == [] and [e.label for e in entries] == ["MobileNetV1", "MobileNetV2", "ShuffleNetV1"]
    t = compare.compare_table(entries)
    madds = [r for r in t["rows"] if r["metric"] == "MAdds"][0]["cells"]
    v1 = reference(SPECS / "mobilenet_v1.yaml", "1", 224).totals["madds"]
    v2 = reference(SPECS / "mobilenet_v2.yaml", "1", 224).totals["madds"]
    assert madds[0]["exact"] == f"{v1:,}" and madds[1]["value"] == "300.8M"
    assert madds[1]["ratio"] == f"×{v2 / v1:.2f}" and madds[0]["ratio"] == ""
    m = compare.compare_memory(entries)
    assert m["rows"][0]["size"] == "112x112"
    csv = compare.compare_csv(entries)
    assert [x for x in csv.splitlines() if not x.startswith("#")][0] == "metric,MobileNetV1,MobileNetV2,ShuffleNetV1"
    assert f"madds,{v1},{v2}," in csv and "memory_max_bytes" in csv


def test_compare_points_and_bad_slots(ws):
    slots = [{"spec": "file:mobilenet_v2.yaml", "width": 1.4, "resolution": 192},
             {"spec": "file:../pyproject.toml", "width": 1, "resolution": None},
             {"spec": "file:mobilenet_v2.yaml", "width": "0.35@x,1", "resolution": "96,1"}]
    entries, errors = compare.compare_entries(ws, slots, "paper", "fp16")
    assert len(entries) == 2 and len(errors) == 1 and "no spec named" in errors[0]
    ref = reference(SPECS / "mobilenet_v2.yaml", "1.4", 192, dtype="fp16")
    assert entries[0].table.totals == ref.totals
    assert entries[0].label == "MobileNetV2 1.4x @192"
    metrics, memory, fig, err = compare_tab.compare_view(ws, slots)
    assert err is not None and fig["data"]


def test_compare_download(ws):
    slots = [{"spec": "file:mobilenet_v2.yaml", "width": 1, "resolution": None}]
    out = compare_tab.compare_download(ws, slots)
    assert out["filename"] == "archcalc-compare.csv" and out["content"].startswith("# archcalc_version: ") and "\nmetric," in out["content"]
    assert compare_tab.compare_download(ws, [{"spec": None}]) is no_update


def test_compare_slots_from_flat_values():
    assert compare_tab.compare_slots(["file:a", 1, None, None, None, None]) == [
        {"spec": "file:a", "width": 1, "resolution": None},
        {"spec": None, "width": None, "resolution": None}]

