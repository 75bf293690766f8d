"""`archcalc compare SPEC --conventions A,B,...`: one spec under several conventions, its MAdds
by part and each total's difference from the first, part by part.

The expected parts are counted on the hand-written twin of torchvision's MobileNetV2
(tests/reference_models.py) with forward hooks: BN output elements, ReLU6 elements, the
global pool's input elements, and FlopCounterMode's conv and linear multiply-accumulates. The
tool totals these parts add up to are the ones each tool reports (tests/test_peer_conventions.py
checks those against the installed packages; the issue quotes them for torchvision's
mobilenet_v2: fvcore 314,193,216, ptflops 320,300,008, thop 327,486,720).
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from archcalc import cli  # noqa: E402
from archcalc.cost import CONVENTIONS  # noqa: E402

SPEC = str(Path(__file__).resolve().parent.parent / "specs" / "mobilenet_v2.yaml")


@pytest.fixture(scope="module")
def twin():
    """Element counts of torchvision's MobileNetV2 (the twin) at 224, by hooks."""
    import reference_models as rm     # tests/ is on sys.path via conftest
    from torch.utils.flop_counter import FlopCounterMode
    model = rm.mobilenet_v2().eval()
    counts = {"bn": 0, "relu6": 0, "bn_channels": 0}

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.BatchNorm2d):
            counts["bn"] += output.numel()
            counts["bn_channels"] += module.num_features
        elif isinstance(module, torch.nn.ReLU6):
            counts["relu6"] += output.numel()
        elif isinstance(module, torch.nn.Linear):
            counts["linear_macs"] = module.in_features * module.out_features
            counts["linear_bias"] = module.out_features
    for m in model.modules():
        m.register_forward_hook(hook)
    flops = FlopCounterMode(display=False)
    with torch.no_grad(), flops:
        model(torch.zeros(1, 3, 224, 224))
    counts["macs"] = flops.get_total_flops() // 2
    counts["conv_macs"] = counts["macs"] - counts["linear_macs"]
    counts["pool_in"] = model.last_channel * 7 * 7    # F.adaptive_avg_pool2d over 1280 x 7 x 7
    counts["params"] = sum(p.numel() for p in model.parameters())
    return counts


def compare(capsys, *args: str) -> str:
    rc = cli.main(["compare", SPEC, *args])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert err == ""
    return out


def test_parts_and_differences(capsys, twin):
    doc = json.loads(compare(capsys, "--conventions", "paper,torchvision,fvcore,ptflops,thop",
                             "--format", "json"))
    by_name = {c["convention"]: c for c in doc["conventions"]}
    assert list(by_name) == ["paper", "torchvision", "fvcore", "ptflops", "thop"]
    assert doc["reference"] == "paper"
    macs = {"conv": twin["conv_macs"], "linear": twin["linear_macs"]}
    assert by_name["paper"]["madds_by_part"] == macs
    assert by_name["torchvision"]["madds_by_part"] == macs
    assert by_name["fvcore"]["madds_by_part"] == {**macs, "BN": 2 * twin["bn"],
                                                  "pooling": twin["pool_in"]}
    assert by_name["ptflops"]["madds_by_part"] == {
        **macs, "linear bias": twin["linear_bias"], "BN": 2 * twin["bn"],
        "activation": twin["relu6"], "pooling": twin["pool_in"]}
    assert by_name["thop"]["madds_by_part"] == {**macs, "BN": 4 * twin["bn"]}
    for c in doc["conventions"]:
        assert sum(c["madds_by_part"].values()) == c["totals"]["madds"]
    assert by_name["paper"]["totals"]["madds"] == twin["macs"]
    assert by_name["thop"]["difference"] == {"madds": 4 * twin["bn"],
                                             "params": 2 * twin["bn_channels"],
                                             "madds_by_part": {"BN": 4 * twin["bn"]}}
    assert by_name["torchvision"]["difference"] == {"madds": 0, "params": 2 * twin["bn_channels"],
                                                    "madds_by_part": {}}
    assert by_name["thop"]["totals"]["params"] == twin["params"]
    assert "difference" not in by_name["paper"]


def test_text_says_why_thop_differs(capsys, twin):
    out = compare(capsys, "--conventions", "paper,torchvision,fvcore,ptflops,thop")
    paper, thop = twin["macs"], twin["macs"] + 4 * twin["bn"]
    assert f"thop {thop:,} = paper {paper:,} +{4 * twin['bn']:,} (BN +{4 * twin['bn']:,}); " \
           f"params +{2 * twin['bn_channels']:,}" in " ".join(out.split())
    assert f"torchvision {paper:,}: the same MAdds as paper" in out
    for name in ("paper", "torchvision", "fvcore", "ptflops", "thop"):
        assert " ".join(CONVENTIONS[name].describe().split()) in " ".join(out.split())


def test_csv_and_markdown(capsys, twin):
    text = compare(capsys, "--conventions", "torchvision,thop", "--format", "csv")
    rows = list(csv.reader(io.StringIO("".join(line + "\n" for line in text.splitlines()
                                               if not line.startswith("#")))))
    assert rows[0] == ["metric", "torchvision", "thop"]
    table = {r[0]: [int(v) for v in r[1:]] for r in rows[1:]}
    assert table["madds_BN"] == [0, 4 * twin["bn"]]
    assert table["madds"] == [twin["macs"], twin["macs"] + 4 * twin["bn"]]
    assert table["params"] == [twin["params"], twin["params"]]
    md = compare(capsys, "--conventions", "torchvision,thop", "--format", "markdown")
    assert f"| MAdds: BN | 0 | {4 * twin['bn']:,} |" in md


def test_width_and_resolution_of_the_target(capsys):
    doc = json.loads(compare(capsys, "--conventions", "paper,thop", "--format", "json"))
    rc = cli.main(["compare", SPEC + "@0.5,160", "--conventions", "paper,thop", "-f", "json"])
    out, _ = capsys.readouterr()
    small = json.loads(out)
    assert rc == 0 and (small["width"], small["resolution"]) == ("0.5", "160")
    assert small["conventions"][1]["totals"]["madds"] < doc["conventions"][1]["totals"]["madds"]


@pytest.mark.parametrize("args, message", [
    (["--conventions", "paper"], "two or more names"),
    (["--conventions", "paper,nope"], "unknown convention 'nope'"),
    (["--conventions", "thop,paper,thop"], "names 'thop' twice"),
    ([SPEC, "--conventions", "paper,thop"], "give one SPEC"),
    (["--conventions", "paper,thop", "--memory-by-resolution"], "give one SPEC"),
])
def test_bad_conventions_are_one_line_errors(capsys, args, message):
    assert cli.main(["compare", SPEC, *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith("archcalc: error: ") and message in err
