"""`archcalc dashboard`: the argparse sub-command (registered by archcalc's CLI through
`add_commands(subparsers)`). Dash is imported only when the command runs."""
from __future__ import annotations

import argparse

from .serving import port_number


def add_commands(subparsers) -> None:
    """Register `dashboard [--host 127.0.0.1] [--port 8050] [--specs DIR] [--model MODEL ...]
    [--db PATH]`."""
    p = subparsers.add_parser(
        "dashboard", help="serve the interactive dashboard (frontiers, designer, compare, editor)",
        description="Serve the archcalc dashboard: accuracy-vs-cost frontiers of the published "
                    "checkpoints, a live designer (width and resolution sliders, per-layer costs, "
                    "memory profile, closed forms), side-by-side comparisons and a spec editor. "
                    "Binds 127.0.0.1 unless told otherwise.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; anything else is reachable from "
                        "other machines and prints a warning)")
    p.add_argument("--port", type=port_number, default=8050, help="port (default 8050)")
    p.add_argument("--specs", default=None, metavar="DIR",
                   help="folder of spec files to offer (default: the zoo that ships with "
                        "archcalc); the browser can open nothing outside it")
    p.add_argument("--model", dest="models", action="append", default=[], metavar="MODEL",
                   help="also offer this model (package.module:callable, file.py:callable or "
                        "model.onnx; repeatable): imported and written as a spec (archcalc "
                        "import) when the server starts, so the browser can name it but never "
                        "run Python")
    p.add_argument("--input-shape", default=None, metavar="CxHxW",
                   help="the --model inputs' shape (default 3x224x224)")
    p.add_argument("--db", default=None, metavar="PATH",
                   help="results database with measured latencies (default: archcalc's results "
                        "database if it exists)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> str:
    """Start the server (blocks until Ctrl-C); returns the empty string for the CLI to print."""
    from archcalc.errors import OptionError

    from .serving import validate_bind
    validate_bind(args.host, args.port, try_bind=True)      # one line, before Dash loads
    try:
        from .app import main
    except ImportError as err:
        raise OptionError(f"the dashboard needs Dash and plotly: pip install dash plotly ({err})") \
            from None
    if args.specs is None:
        from archcalc.zoo import zoo_dir
        args.specs = str(zoo_dir())
    if args.models:
        from .models import write_model_specs
        main(args.host, args.port, args.specs, args.db,
             extra_specs=write_model_specs(args.models, args.input_shape))
    else:
        main(args.host, args.port, args.specs, args.db)
    return ""
