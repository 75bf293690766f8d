"""Golden outputs: `archcalc report` and `archcalc compare` in table, markdown and CSV, byte for
byte as tests/golden/<case>.txt (as torchinfo keeps its expected outputs).

The cases, and how they run (in-process through archcalc.cli.main, COLUMNS=80, archcalc's
version pinned), are in tests/golden/regenerate.py. When a change is MEANT to change the
output, regenerate the files on purpose and review their diff before committing:

    python tests/golden/regenerate.py

A golden file is a regression check, not a source of truth: the anchors below check the
files' numbers against figures derived without archcalc (tests/reference_mobilenet_v2.py,
hand-derived scalings, the papers' published totals), so a file regenerated from a wrong
count fails here too.
"""
from __future__ import annotations

import csv
import difflib
import importlib.util
import io
from fractions import Fraction
from pathlib import Path

import pytest

import reference_mobilenet_v2 as ref

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("golden_regenerate", HERE / "golden" / "regenerate.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

MAX_DIFF_LINES = 80


def expected(case: str) -> str:
    path = golden.path_of(case)
    if not path.exists():
        pytest.fail(f"{path.name} is missing: run `python tests/golden/regenerate.py`")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", sorted(golden.CASES))
def test_output_matches_golden_file(case):
    want, got = expected(case), golden.run(golden.CASES[case])
    if got != want:
        diff = list(difflib.unified_diff(want.splitlines(), got.splitlines(),
                                         f"tests/golden/{case}.txt (expected)",
                                         f"archcalc {' '.join(golden.CASES[case])} (now)",
                                         lineterm=""))
        shown = diff[:MAX_DIFF_LINES] + ([f"... ({len(diff) - MAX_DIFF_LINES} more diff lines)"]
                                         if len(diff) > MAX_DIFF_LINES else [])
        pytest.fail("output changed:\n" + "\n".join(shown) + "\n\nIf the change is intended, run "
                    "`python tests/golden/regenerate.py` and review the diff.", pytrace=False)


def test_every_golden_file_has_a_case():
    files = {p.stem for p in (HERE / "golden").glob("*.txt")}
    assert files == set(golden.CASES), "run `python tests/golden/regenerate.py`"


def test_the_version_is_pinned_and_the_width_fixed():
    csv_text = expected("report_mobilenet_v2.csv")
    assert f"# archcalc_version: {golden.GOLDEN_VERSION}\n" in csv_text
    table = expected("report_nasnet_a_mobile.table")
    assert max(len(line) for line in table.splitlines()) <= int(golden.COLUMNS)


# -- anchors: the golden numbers against figures derived without archcalc ---------------------

def csv_rows(case: str) -> list[dict]:
    text = "".join(line + "\n" for line in expected(case).splitlines() if not line.startswith("#"))
    return list(csv.DictReader(io.StringIO(text)))


def report_totals(case: str) -> dict:
    rows = csv_rows(case)
    return {k: sum(int(r[k]) for r in rows) for k in ("params", "bn_params", "madds")}


@pytest.mark.parametrize("case, width, resolution", [("report_mobilenet_v2.csv", 1.0, 224),
                                                     ("report_mobilenet_v2_0.75_160.csv", 0.75, 160)])
def test_mobilenet_v2_reports_match_the_reference_counter(case, width, resolution):
    # the paper convention: params without BN's gamma/beta, with the classifier's bias
    net = ref.mobilenet_v2(width, resolution)
    assert report_totals(case) == {"params": net.params, "bn_params": net.bn_params,
                                   "madds": net.madds}
    # every weight layer's MAdds, and the residual adds where torchvision places them
    by_name = net.by_name()
    rows = {r["name"]: int(r["madds"]) for r in csv_rows(case) if r["name"] in by_name}
    assert rows == {name: layer.madds for name, layer in by_name.items()}


def test_mobilenet_v2_non_square_scales_every_conv_by_320_over_224():
    # 224 and 320 are both divisible by 32, the network's total stride: every feature map at
    # 224x320 has exactly 320/224 times the positions it has at 224x224; the classifier runs
    # once either way. Weights do not depend on the input size.
    net = ref.mobilenet_v2(1.0, 224)
    fc = by_kind_madds(net, "fc")
    got = report_totals("report_mobilenet_v2_224x320.csv")
    assert got["params"] == net.params
    assert got["madds"] == (net.madds - fc) * Fraction(320, 224) + fc
    shapes = {r["name"]: (int(r["out_h"]), int(r["out_w"])) for r in csv_rows(
        "report_mobilenet_v2_224x320.csv")}
    assert shapes["stem.0.conv"] == (112, 160) and shapes["head.0.conv"] == (7, 10)


def by_kind_madds(net, kind: str) -> int:
    return sum(layer.madds for layer in net.layers if layer.kind == kind)


def test_published_totals_of_other_families():
    # NASNet-A (Mobile): 5.3M params, 564M MAdds (Zoph et al. 2018 Table 2; MobileNetV2 Table 4)
    nasnet = report_totals("report_nasnet_a_mobile.csv")
    assert round(nasnet["params"], -5) == 5_300_000 and round(nasnet["madds"], -6) == 564_000_000
    # ShuffleNet 1x, g = 3: 137 MFLOPs (ShuffleNet Table 1; the paper's FLOPs are mult-adds),
    # within 0.5% (the printed row leaves the FC out, see docs/zoo.md)
    shuffle = report_totals("report_shufflenet_v1.csv")
    assert abs(shuffle["madds"] - 137_000_000) < 137_000_000 * 0.005


def test_compare_csv_columns_match_the_references():
    rows = {r["metric"]: r for r in csv_rows("compare_readme.csv")}
    net = ref.mobilenet_v2(1.0, 224)
    assert int(rows["params"]["MobileNetV2"]) == net.params
    assert int(rows["madds"]["MobileNetV2"]) == net.madds
    assert int(rows["flops"]["MobileNetV2"]) == 2 * net.madds
    # MobileNetV1 1.0-224: 569M mult-adds, 4.2M params (Howard et al. 2017, Table 8)
    assert round(int(rows["madds"]["MobileNetV1"]), -6) == 569_000_000
    assert round(int(rows["params"]["MobileNetV1"]), -5) == 4_200_000
    # ShuffleNet 2x (g = 3): 524 MFLOPs (ShuffleNet Table 5)
    assert round(int(rows["madds"]["ShuffleNetV1 2x groups=3"]), -6) == 524_000_000
    # the published top-1 column: MobileNetV2 Table 4's 72.0 and 74.0
    assert rows["top1"]["MobileNetV2"] == "72.0" and rows["top1"]["NASNet-A-Mobile"] == "74.0"


def test_compare_memory_table_is_table_3():
    # MobileNetV2 Table 3 (fp16): the largest tensor at 112x112 is 16 channels x 112^2 x 2 bytes
    rows = {r["metric"]: r["MobileNetV2"] for r in csv_rows("compare_memory_fp16.csv")}
    assert int(rows["memory_112x112_channels"]) == 16
    assert int(rows["memory_112x112_bytes"]) == 16 * 112 * 112 * 2
    assert int(rows["memory_max_bytes"]) == 16 * 112 * 112 * 2
