"""`python -m dashboard [--host H] [--port P] [--specs DIR] [--db PATH]`."""
from __future__ import annotations

import argparse
import sys

from .commands import add_commands


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard")
    sub = parser.add_subparsers(dest="command")
    add_commands(sub)
    args = parser.parse_args(["dashboard", *(sys.argv[1:] if argv is None else argv)])
    from archcalc.errors import ArchcalcError
    try:
        args.run(args)
    except ArchcalcError as err:
        print(f"archcalc dashboard: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
