"""Command-line pieces shared by every subcommand (archcalc.cli.report, archcalc.cli.design,
archcalc.cli.pytorch, dashboard.commands): NAME=VALUE pairs and the point options."""
from __future__ import annotations

import argparse

from ..errors import OptionError


def parse_pairs(pairs: list[str] | None, flag: str = "--set", what: str = "NAME") -> dict[str, str]:
    """["num_classes=10", ...] -> {"num_classes": "10"} (values stay text: the spec types them)."""
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise OptionError(f"{flag} expects {what}=VALUE, got {pair!r}")
        out[name.strip()] = value.strip()
    return out


def point_options(p: argparse.ArgumentParser) -> None:
    """--width, --resolution and the model options: one point of one spec (grids and
    intervals have their own flags: archcalc.cli.design)."""
    p.add_argument("--width", "-a", default="1", metavar="A",
                   help="width multiplier alpha (default 1)")
    p.add_argument("--resolution", "-r", default=None, metavar="R",
                   help="input size in pixels (160; a model reference also takes HxW) or a "
                        "multiplier of the spec's own (0.5x)")
    model_options(p)
    model_ref_flags(p)


def model_options(p: argparse.ArgumentParser) -> None:
    """--set, the counting convention and its overrides, and the activation dtype (the
    choices are archcalc.cost's CONVENTIONS and DTYPE_BYTES, defined once there)."""
    from ..cost import CONVENTIONS, DTYPE_BYTES
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parameter the spec declares (repeatable)")
    p.add_argument("--convention", "-c", default="paper",
                   choices=tuple(CONVENTIONS),
                   help="counting convention preset (default paper)")
    p.add_argument("--bn-params", action=argparse.BooleanOptionalAction, default=None,
                   help="count BN gamma/beta in params (overrides the preset)")
    p.add_argument("--bias", action=argparse.BooleanOptionalAction, default=None,
                   help="count biases in params (overrides the preset)")
    p.add_argument("--elementwise", action=argparse.BooleanOptionalAction, default=None,
                   help="report element-wise ops (BN, activations, adds, pooling)")
    p.add_argument("--dtype", default="fp32", choices=tuple(DTYPE_BYTES),
                   help="activation element type for memory (default fp32)")


def model_ref_flags(p: argparse.ArgumentParser) -> None:
    """--input-shape and --allow-unknown: the options of a model reference (commands that take
    one: report, compare, verify; archcalc/imported/refs.py)."""
    p.add_argument("--input-shape", default=None, metavar="CxHxW",
                   help="a model reference's input (default 3x224x224; --resolution R or HxW "
                        "sets H and W)")
    p.add_argument("--allow-unknown", action="store_true",
                   help="a model reference's ops without a rule count as zero (listed in the "
                        "output's warnings) instead of an error")


def model_ref_options(args) -> dict:
    """The options a model reference (archcalc.imported.refs) is imported with."""
    return {"shape_text": getattr(args, "input_shape", None),
            "allow_unknown": bool(getattr(args, "allow_unknown", False))}


def convention_from(args):
    """The preset named by --convention with the --bn-params/--bias/--elementwise overrides."""
    from ..api import convention_named
    return convention_named(args.convention).with_options(
        bn_params=args.bn_params, bias=args.bias, elementwise=args.elementwise)
