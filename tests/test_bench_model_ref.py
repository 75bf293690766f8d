"""`archcalc bench MODEL`: a model reference is timed as its own module (built for real, as its
constructor leaves it) and counted by archcalc's import; the counts equal PyTorch's own
(sum of numel, FlopCounterMode / 2 on a real forward pass) and the result is stored."""
import json

import pytest

torch = pytest.importorskip("torch")

from test_torch_bench import _main_with_commands  # noqa: E402

REF = "tests/reference_models.py:resnet18"
FAST = ["--threads", "1", "--min-time", "0.02", "--max-time", "0.3", "--warmup", "0.02",
        "--micro-time", "0.02"]


@pytest.fixture
def main(monkeypatch):
    monkeypatch.chdir(__file__.rsplit("/tests/", 1)[0])
    return _main_with_commands(monkeypatch)


def test_a_model_reference_is_timed_and_counted_as_pytorch_counts_it(main, capsys, tmp_path):
    import reference_models as rm
    from torch.utils.flop_counter import FlopCounterMode
    model = rm.resnet18().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, 48, 64))
    db = tmp_path / "r.sqlite"
    assert main(["bench", REF, "--resolution", "48x64", *FAST, "--db", str(db),
                 "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["model"]["params"] == sum(p.numel() for p in model.parameters())
    assert d["model"]["madds_per_image"] == counter.get_total_flops() // 2
    assert d["spec"]["path"] == REF and "constructor" in d["model"]["weights"]
    assert d["point"]["resolution"] == [48, 64] and d["timing"]["median"] > 0
    layers = {row["layer"] for row in d["ops"]}
    assert {"conv1", "layer1.0.conv1", "fc"} <= layers
    assert main(["results", "--db", str(db), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert len(rows) == 1 and rows[0]["spec_name"] == "resnet18"
    assert rows[0]["options"]["input"] == "48x64" and rows[0]["madds"] == d["model"]["madds_per_image"]


@pytest.mark.parametrize("args, words", [
    (["x.onnx"], "not an ONNX file"),
    ([REF, "--width", "0.5"], "no width multiplier"),
    (["tests/reference_models.py:nothing_here"], "has no attribute"),
])
def test_model_references_bench_cannot_run_are_one_line(main, capsys, args, words):
    assert main(["bench", *args, "--no-save"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
