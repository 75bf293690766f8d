"""`archcalc space SPEC`: every architecture a spec's choice parameters allow (a uniform
sample or all of them), costed exactly, with budgets, the Pareto front and a Parquet dataset;
in process, on a local Dask cluster (--workers N) or on an existing one (--scheduler).
The work is in archcalc.spaces (docs/spaces.md); this module parses options and prints."""
from __future__ import annotations

import argparse

from ..errors import OptionError
from .options import convention_from, model_options, parse_pairs

MEMORY = {"naive": "peak_memory_bytes", "streamed": "peak_memory_bytes_streamed"}


def _whole(text, flag: str, low: int, high: int | None = None) -> int | None:
    """A whole number from text (1000, 1e6, 1M), within [low, high]."""
    if text is None:
        return None
    from ..design.grid import parse_budget
    try:
        value = parse_budget(text, "count")
    except OptionError as err:
        raise OptionError(f"{flag}: {err}") from None
    if value.denominator != 1 or value < low or (high is not None and value > high):
        bound = f"{low:,} to {high:,}" if high is not None else f"at least {low:,}"
        raise OptionError(f"{flag} must be a whole number, {bound}, got {text}")
    return int(value)


def _metrics(text: str, memory: str) -> tuple:
    names = [m.strip() for m in str(text).split(",") if m.strip()]
    if not names:
        raise OptionError("--pareto: give metrics such as madds,params[,memory]")
    return tuple(MEMORY[memory] if m == "memory" else m for m in names)


def cmd_space(args) -> str:
    from ..design.grid import parse_budget
    from ..report.progress import progress
    from ..report.space import render
    from ..report.terminal import columns
    from ..spaces import declare
    from ..spaces.run import Options, run_space, summary_json
    budgets = {}
    for metric, text, unit in (("madds", args.max_madds, "count"),
                               ("params", args.max_params, "count"),
                               (MEMORY[args.memory], args.max_memory, "bytes")):
        if text is not None:
            budgets[metric] = parse_budget(text, unit)
    options = Options(sample=_whole(args.sample, "--sample", 1), all=args.all,
                      seed=_whole(args.seed, "--seed", 0, 2**63 - 1), budgets=budgets,
                      pareto=_metrics(args.pareto, args.memory),
                      maximize=_metrics(",".join(args.maximize), args.memory)
                      if args.maximize else (), keep=args.keep, out=args.out,
                      workers=_whole(args.workers, "--workers", 1),
                      scheduler=args.scheduler, partitions=_whole(args.partitions,
                                                                  "--partitions", 1),
                      compile_each=args.compile_each)
    if args.keep != "budget" and args.out is None:
        raise OptionError("--keep chooses what --out DIR holds: give --out DIR")
    space = declare(args.spec, parse_pairs(args.sets), convention_from(args), args.dtype,
                    args.widths, args.resolutions)
    costing = options.all or options.sample is not None
    with progress("space: partitions", total=None, force=args.progress if costing else False
                  ) as advance:
        options.progress = lambda done, total: advance()
        result = run_space(space, options)
    return summary_json(result) if args.format == "json" else render(result, columns())


def add_commands(sub) -> None:
    """Register `archcalc space`."""
    p = sub.add_parser(
        "space", help="a spec's search space: sample or enumerate it, budgets, Pareto front",
        description="The space of SPEC: the product of every parameter that declares `choices` "
                    "(optionally times --widths and --resolutions). --sample N costs N "
                    "architectures drawn uniformly, --all every one; each exactly as `archcalc "
                    "report SPEC --set ...` would. Prints how many fit the budgets and the "
                    "Pareto front; --out DIR writes a Parquet dataset (docs/spaces.md).")
    p.add_argument("spec", metavar="SPEC",
                   help="a spec file, e.g. specs/spaces/mobilenet_v2_space.yaml")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--sample", default=None, metavar="N",
                      help="cost N architectures drawn uniformly without replacement")
    mode.add_argument("--all", action="store_true", help="cost every architecture")
    p.add_argument("--seed", default="0", metavar="S", help="seed of --sample (default 0)")
    p.add_argument("--widths", default=None, metavar="GRID",
                   help="also a grid of width multipliers: A, A,B,... or LO:HI:STEP")
    p.add_argument("--resolutions", default=None, metavar="GRID",
                   help="also a grid of input resolutions (same forms, or 0.5x)")
    p.add_argument("--max-madds", default=None, metavar="N", help="MAdds budget, e.g. 300M")
    p.add_argument("--max-params", default=None, metavar="N", help="parameter budget, e.g. 3M")
    p.add_argument("--max-memory", default=None, metavar="BYTES",
                   help="peak activation memory budget, e.g. 5MB or 4MiB")
    p.add_argument("--memory", default="naive", choices=tuple(MEMORY),
                   help="which peak --max-memory and the `memory` front metric mean (default "
                        "naive; streamed: MobileNetV2 Sec. 5.1)")
    p.add_argument("--pareto", default="madds,params", metavar="M1,M2[,M3]",
                   help="metrics of the Pareto front, minimised unless --maximize (default "
                        "madds,params; `memory` = the --memory peak)")
    p.add_argument("--maximize", action="append", default=[], metavar="METRIC",
                   help="a --pareto metric where more is better (e.g. params: the most "
                        "parameters for the MAdds; repeatable)")
    p.add_argument("--out", "-o", default=None, metavar="DIR",
                   help="write a Parquet dataset: one file per partition, and _front.parquet")
    p.add_argument("--keep", default="budget", choices=("budget", "front", "all"),
                   help="rows --out holds: the in-budget architectures (default; all of them "
                        "without budgets), only the front, or every one")
    p.add_argument("--workers", default=None, metavar="N",
                   help="run on a local Dask cluster of N worker processes")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--partitions", default=None, metavar="N",
                   help="partitions of the index range (default: by size)")
    p.add_argument("--compile-each", action="store_true",
                   help="compile every architecture whole instead of the stage tables (a check)")
    p.add_argument("--format", "-f", default="table", choices=("table", "json"))
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress on stderr (default: when it is a terminal)")
    model_options(p)
    p.set_defaults(run=cmd_space)
