"""Width and resolution flags say what they take (issue 11): `--width A` is a point (report,
verify, bench), `--widths`/`--resolutions` a grid (sweep, fit, frontier), `--width-range LO:HI`
an interval (fit, formula); the spellings before (`--width`/`-a`, `--resolution`/`-r` on the
grid commands) are accepted, hidden from --help, and give the same output. The choices of
--convention and --dtype are archcalc.cost's CONVENTIONS and DTYPE_BYTES.
"""
from __future__ import annotations

import argparse
from fractions import Fraction

import pytest

from archcalc.cli import build_parser, main
from archcalc.cost import CONVENTIONS, DTYPE_BYTES

MV2 = "mobilenet_v2"


def out_of(capsys, *argv) -> str:
    assert main([str(a) for a in argv]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def error_of(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in argv])
    assert stop.value.code == 2
    return capsys.readouterr().err


def subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def test_sweep_widths_and_resolutions(capsys):
    new = out_of(capsys, "sweep", MV2, "--widths", "0.5,1", "--resolutions", "160:224:64",
                 "--metrics", "madds")
    old = out_of(capsys, "sweep", MV2, "-a", "0.5,1", "-r", "160:224:64", "--metrics", "madds")
    long_old = out_of(capsys, "sweep", MV2, "--width", "0.5,1", "--resolution", "160:224:64",
                      "--metrics", "madds")
    assert new == old == long_old
    rows = [line.split(",") for line in new.splitlines() if not line.startswith("#")][1:]
    # 2 widths x 2 resolutions (160:224:64 is 160 and 224, inclusive)
    assert [(w, r) for w, r, _ in rows] == [("0.5", "160"), ("0.5", "224"), ("1", "160"),
                                            ("1", "224")]


def test_fit_interval_and_grid(capsys):
    default = out_of(capsys, "fit", MV2, "--max-madds", "150M", "--resolutions", "160")
    interval = out_of(capsys, "fit", MV2, "--max-madds", "150M", "--resolutions", "160",
                      "--width-range", "0.1:2")
    old = out_of(capsys, "fit", MV2, "--max-madds", "150M", "-r", "160", "--width", "0.1:2")
    assert default == interval == old
    grid = out_of(capsys, "fit", MV2, "--max-madds", "150M", "--resolutions", "160",
                  "--widths", "0.5,1", "--format", "csv")
    old_grid = out_of(capsys, "fit", MV2, "--max-madds", "150M", "-r", "160", "-a", "0.5,1",
                      "--format", "csv")
    assert grid == old_grid


@pytest.mark.parametrize("argv, says", [
    (["--widths", "0.5", "--width-range", "0.1:1"], "not allowed with"),
    (["--width", "0.5", "--widths", "1"], "give one of --widths and --width"),
    (["--width-range", "0.5,1"], "--width-range is an interval LO:HI"),
])
def test_fit_width_flags_conflict(capsys, argv, says):
    if "not allowed" in says:
        assert says in error_of(capsys, "fit", MV2, "--max-madds", "150M", *argv)
    else:
        assert main(["fit", MV2, "--max-madds", "150M", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err


def test_formula_width_range(capsys):
    new = out_of(capsys, "formula", MV2, "--width-range", "0.5:1", "--metrics", "madds")
    old = out_of(capsys, "formula", MV2, "-a", "0.5:1", "--metrics", "madds")
    assert new == old and "0.5" in new


def test_frontier_widths(capsys):
    argv = ["frontier", MV2, "--x", "madds", "--y", "params"]
    assert out_of(capsys, *argv, "--widths", "0.5,1", "--resolutions", "160") == \
        out_of(capsys, *argv, "-a", "0.5,1", "-r", "160")


@pytest.mark.parametrize("command", ["sweep", "fit", "frontier", "formula"])
def test_grid_commands_document_only_the_new_flags(command):
    text = subparser(command).format_help()
    assert "--width " not in text and "--width," not in text and "-a " not in text
    assert "--resolution " not in text and "-r " not in text
    assert ("--width-range" in text) == (command in ("fit", "formula"))
    assert ("--widths" in text) == (command != "formula")


def test_report_keeps_the_point_flags():
    text = subparser("report").format_help()
    assert "--width A, -a A" in text and "--resolution R, -r R" in text


def test_choices_come_from_their_one_definition():
    for command in ("report", "compare", "sweep", "fit", "frontier", "formula"):
        actions = {a.dest: a for a in subparser(command)._actions}
        assert tuple(actions["convention"].choices) == tuple(CONVENTIONS)
        assert tuple(actions["dtype"].choices) == tuple(DTYPE_BYTES)
    # the published presets and element sizes (docs/conventions.md)
    assert set(CONVENTIONS) == {"paper", "torchvision", "tf-slim", "tf-deeplab",
                                "fvcore", "ptflops", "thop", "torchinfo", "torchprofile"}
    assert DTYPE_BYTES == {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


GRIDS = ["0.75", "0.35,0.5,1,0.5", "1/3", "0.1:0.35:0.1", "0.25:1.5:0.05", " 0.5 , 1 ",
         "0.5:0.5:1", "1e-3:2e-3:5e-4"]
BAD = ["", "0.5,,1", "0:1:0.5", "-1", "1:0.5:0.1", "0.1:1:0", "a", "1:2", "1e100000000",
       "0.1:2:0.0000001", "9" * 5000]


@pytest.mark.parametrize("text", GRIDS + BAD)
def test_the_one_width_grid_parser_agrees_with_design_grid(text):
    # design.grid.parse_widths (helper A's module) is to call graph.point.parse_width_grid;
    # until it does, the two must agree exactly, errors included
    from archcalc.design.grid import parse_widths
    from archcalc.errors import OptionError
    from archcalc.graph.point import parse_width_grid

    def outcome(fn):
        try:
            return fn(text)
        except OptionError as err:
            return str(err)
    assert outcome(parse_width_grid) == outcome(parse_widths)


def test_width_grid_values():
    from archcalc.graph.point import parse_width_grid, parse_width_interval
    assert parse_width_grid("0.25:1.5:0.05")[:3] == [Fraction(1, 4), Fraction(3, 10), Fraction(7, 20)]
    assert len(parse_width_grid("0.25:1.5:0.05")) == 26       # (1.5 - 0.25) / 0.05 + 1
    assert parse_width_interval("0.1:2") == (Fraction(1, 10), Fraction(2))
    assert parse_width_interval("0.1:2:0.1") is None and parse_width_interval("1") is None


RES_GRIDS = ["224", "96,128,160", "96:320:16", "0.5x", "0.5x,224", "96:128:8,96", "1,32"]
RES_BAD = ["", "96:320:0", "96.5:128:8", "96:320", "224x320", "1e100000000", "0:10:1",
           "1:2000000:1", "abc"]


@pytest.mark.parametrize("text", RES_GRIDS + RES_BAD)
def test_the_one_resolution_grid_parser_agrees_with_design_grid(text):
    from archcalc.design.grid import parse_resolutions
    from archcalc.errors import OptionError
    from archcalc.graph.point import parse_resolution_grid

    def outcome(fn):
        try:
            return fn(text, 224)
        except OptionError as err:
            return str(err)
    assert outcome(parse_resolution_grid) == outcome(parse_resolutions)


def test_resolution_grid_values():
    from archcalc.graph.point import parse_resolution_grid
    assert parse_resolution_grid("96:320:16", 224) == list(range(96, 321, 16))   # 15 values
    assert parse_resolution_grid("0.5x,224,112", 224) == [112, 224]


def test_own_commands_map_to_the_groups_that_register_them():
    """archcalc.cli.main.OWN_COMMANDS (the fast path of a cold start) names every command of
    archcalc's own groups, each with the group whose add_commands registers it."""
    import argparse
    import importlib

    cli_main = importlib.import_module("archcalc.cli.main")
    registered = {}
    for group, module in cli_main.OWN.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).add_commands(sub)
        registered.update(dict.fromkeys(sub.choices, group))
    assert cli_main.OWN_COMMANDS == registered
    parser = build_parser("report")
    assert "report" in parser.format_help() and "dashboard" not in parser.format_help()
    assert "dashboard" in build_parser().format_help()       # plug-ins when not an own command
