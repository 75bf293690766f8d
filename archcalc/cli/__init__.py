"""The `archcalc` command line (the console script is archcalc.cli:main).

main.py: the parser, command discovery (the `archcalc.commands` entry points) and `main`;
options.py: the options commands share; report.py, design.py, pytorch.py: archcalc's own
command groups.
"""
from .main import VerifyFailed, build_parser, command_groups, main
from .options import parse_pairs as _sets  # noqa: F401 (tests import cli._sets)

__all__ = ["main", "build_parser", "command_groups", "VerifyFailed"]
