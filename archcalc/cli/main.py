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
       "pytorch": "archcalc.cli.pytorch", "space": "archcalc.cli.space",
       "export": "archcalc.cli.export"}
# the commands of each own group: `archcalc report ...` builds only the report group's parser,
# without scanning the installed packages' metadata for plug-ins (about 20 ms of a cold
# start); tests/test_cli_flags.py checks this against what the groups register
OWN_COMMANDS = {"report": "report", "compare": "report", "zoo": "report",
                "formula": "design", "derive": "design", "explain": "design", "sweep": "design",
                "fit": "design", "frontier": "design",
                "verify": "pytorch", "bench": "pytorch", "results": "pytorch",
                "space": "space", "import": "export"}


def command_groups(command: str | None = None) -> list:
    """The `add_commands` functions of every registered command group: archcalc's own
    first (in OWN's order), then other packages' by name. With `command`, one of archcalc's
    own, only the group that defines it."""
    import importlib
    if command in OWN_COMMANDS:
        return [importlib.import_module(OWN[OWN_COMMANDS[command]]).add_commands]
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


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archcalc",
        description="Exact params, multiply-adds and activation memory of efficient CNNs "
                    "from paper-style specs.")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"archcalc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_commands in command_groups(command):
        add_commands(sub)
    return parser


class VerifyFailed(Exception):
    """Counts disagree: printed, exit status 1 (not a usage error)."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv else None)
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
