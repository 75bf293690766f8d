"""The `archcalc` command line: a parser whose sub-commands register themselves, and `main`.

Each command group is a function `add_commands(subparsers)` named in the `archcalc.commands`
entry-point group of its package's metadata (pyproject.toml): archcalc's own (report, compare,
zoo; formula, derive, sweep, fit, frontier; verify, bench, results) and any other package's
(the dashboard registers `archcalc dashboard` this way), so archcalc never imports a package
that plugs into it. Run from a source tree that was never installed, archcalc's own groups
are used directly. Bad input prints one line and exits with status 2.
"""
from __future__ import annotations

import argparse
import sys

from ..errors import ArchcalcError

GROUP = "archcalc.commands"
# archcalc's own groups, in the order `archcalc --help` lists them
OWN = {"report": "archcalc.cli.report", "design": "archcalc.cli.design",
       "pytorch": "archcalc.cli.pytorch", "space": "archcalc.cli.space"}


def command_groups() -> list:
    """The `add_commands` functions of every registered command group: archcalc's own
    first (in OWN's order), then other packages' by name."""
    import importlib
    from importlib.metadata import entry_points
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    ordered = [found.pop(name) for name in OWN if name in found] + \
        [found[name] for name in sorted(found)]
    groups = []
    for name, module in OWN.items():         # never installed: archcalc's own, directly
        if not any(ep.name == name for ep in ordered):
            groups.append(importlib.import_module(module).add_commands)
    for ep in ordered:
        try:
            groups.append(ep.load())
        except ImportError:                  # a plug-in whose dependencies are missing
            continue
    return groups


def own_groups() -> list:
    """archcalc's own `add_commands` functions, imported directly (no entry-point lookup)."""
    import importlib
    return [importlib.import_module(module).add_commands for module in OWN.values()]


def build_parser(groups: list | None = None) -> argparse.ArgumentParser:
    """The parser of every registered command (of `groups` only, when given)."""
    parser = argparse.ArgumentParser(
        prog="archcalc",
        description="Exact params, multiply-adds and activation memory of efficient CNNs "
                    "from paper-style specs.")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"archcalc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_commands in (command_groups() if groups is None else groups):
        add_commands(sub)
    return parser


def _parser_for(argv: list) -> argparse.ArgumentParser:
    """The parser for `argv`: archcalc's own groups alone when the command is one of theirs
    (reading the installed packages' entry points costs a cold start ~15 ms), else all."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is not None and argv[0] == command:
        own = build_parser(own_groups())
        sub = next(a for a in own._actions if isinstance(a, argparse._SubParsersAction))
        if command in sub.choices:
            return own
    return build_parser()


class VerifyFailed(Exception):
    """Counts disagree: printed, exit status 1 (not a usage error)."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser_for(argv)
    args = parser.parse_args(argv)
    if args.command is None:            # bare `archcalc`: the commands, and a usage error
        parser.print_help(sys.stderr)
        return 2
    from ..report.output import write_stdout
    try:
        text = args.run(args)
        write_stdout(text)
    except ArchcalcError as err:
        print(f"archcalc: error: {err}", file=sys.stderr)
        return 2
    except VerifyFailed as failed:
        print(failed, file=sys.stderr)
        return 1
    except BrokenPipeError:              # a command streaming to a closed pipe
        from ..report.output import silence_stdout
        silence_stdout()
    except OSError as err:               # a file the command reads or writes (one line)
        where = f": {err.filename}" if err.filename else ""
        print(f"archcalc: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    return 0
