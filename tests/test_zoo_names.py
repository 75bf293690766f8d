"""Zoo specs by name, from any directory: `mobilenet_v2`, `zoo:mobilenet_v2` (as reports show
it), hints for a misspelt name, and paths that exist win over names."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import archcalc
from archcalc import cli, zoo

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_zoo_file_is_listed_and_resolves(elsewhere):
    files = sorted(p.stem for p in (REPO / "specs").glob("*.yaml"))
    assert zoo.zoo_names() == files and len(files) >= 11
    for name in files:
        assert Path(zoo.resolve(name)).resolve() == (REPO / "specs" / f"{name}.yaml").resolve()
        assert zoo.resolve(f"zoo:{name}") == zoo.resolve(name)


def test_names_and_prefixed_names_give_the_same_counts(elsewhere):
    # MobileNetV2 Table 2 / torchvision: 3,504,872 params with BN (torchvision's published num_params)
    for ref in ("mobilenet_v2", "zoo:mobilenet_v2"):
        table = archcalc.evaluate(ref, convention="torchvision")
        assert table.total("params") == 3_504_872


def test_an_existing_path_wins_over_a_zoo_name(elsewhere):
    (elsewhere / "mobilenet_v2").write_text("name: mine\nlayers:\n  body:\n    - {op: conv, c: 8}\n")
    assert archcalc.load("mobilenet_v2").name == "mine"


def test_a_misspelt_name_is_one_line_with_a_hint(elsewhere, capsys):
    for ref in ("zoo:mobilenet_v8", "mobilenetv2"):
        assert cli.main(["report", ref]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "did you mean 'mobilenet_v2'" in err and "archcalc zoo" in err


def test_the_zoo_command_lists_names_and_sources(capsys):
    assert cli.main(["zoo"]) == 0
    out = capsys.readouterr().out
    for name in zoo.zoo_names():
        assert name in out
    assert "arXiv:1801.04381" in out          # MobileNetV2's source line
    assert os.sep + "zoo" + os.sep not in out  # paths only with --paths
