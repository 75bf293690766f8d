"""`archcalc bench` and `archcalc results`: registered by archcalc/cli.py through
`add_commands(subparsers)`.

This module is imported on every `archcalc` invocation, so it imports neither torch nor
the bench harness at module level: `bench` imports them when it runs, and `results` never
does (it only reads the SQLite file).
"""
from __future__ import annotations

import argparse

from ..errors import OptionError

BENCH_DTYPES = ("fp32", "fp16", "bf16")


def add_commands(subparsers) -> None:
    """Add the `bench` and `results` subcommands to archcalc's subparsers."""
    from ..options import point_options as _point_options

    bench = subparsers.add_parser(
        "bench", help="time a PyTorch build of the spec, per layer, with a roofline",
        description="Build SPEC as a PyTorch model (needs archcalc[torch]) and time it: "
                    "inference mode, fixed threads, warm-up, repeats until the median is "
                    "known to +-precision, median and IQR; per-layer times from "
                    "torch.profiler next to a roofline prediction from archcalc's MAdds and "
                    "bytes. The result is stored in the results database.")
    bench.add_argument("spec", metavar="SPEC", help="a spec file, e.g. specs/mobilenet_v2.yaml")
    _point_options(bench)
    _retarget_dtype(bench)
    bench.add_argument("--batch", "-b", type=int, default=1, metavar="N", help="batch size (default 1)")
    bench.add_argument("--threads", "-t", type=int, default=None, metavar="N",
                       help="intra-op threads (default: every core this process may use)")
    bench.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    bench.add_argument("--channels-last", action="store_true",
                       help="NHWC memory format for the model and the input")
    bench.add_argument("--compile", action="store_true",
                       help="time torch.compile(model) (the first call, compilation included, "
                            "is reported apart; the per-layer profile stays eager)")
    bench.add_argument("--min-time", type=float, default=1.0, metavar="S",
                       help="seconds of timed samples at least (default 1)")
    bench.add_argument("--max-time", type=float, default=10.0, metavar="S",
                       help="stop after this many seconds even if not stable (default 10)")
    bench.add_argument("--precision", type=float, default=0.01, metavar="F",
                       help="stop when the median's 95%% CI is within +-F of it (default 0.01)")
    bench.add_argument("--warmup", type=float, default=0.5, metavar="S",
                       help="seconds of warm-up after the first call (default 0.5)")
    bench.add_argument("--micro-time", type=float, default=0.3, metavar="S",
                       help="seconds of each machine micro-benchmark: matmul peak, copy "
                            "bandwidth, per-op overhead (default 0.3)")
    bench.add_argument("--layer-runs", type=int, default=None, metavar="N",
                       help="profiled runs for the per-layer breakdown (default: about 0.2 s "
                            "worth, 3 to 10)")
    bench.add_argument("--no-layers", dest="layers", action="store_false",
                       help="skip the per-layer torch.profiler breakdown")
    bench.add_argument("--no-roofline", dest="roofline", action="store_false",
                       help="skip the peak / bandwidth / overhead micro-benchmarks")
    bench.add_argument("--db", metavar="PATH", default=None,
                       help="results database (default $XDG_CACHE_HOME/archcalc/results.sqlite)")
    bench.add_argument("--no-save", dest="save", action="store_false",
                       help="do not store the result in the database")
    bench.add_argument("--format", "-f", default="text", choices=("text", "json"))
    bench.set_defaults(run=cmd_bench)

    res = subparsers.add_parser(
        "results", help="list or export stored bench results",
        description="List the bench results stored in the results database, or export them.")
    res.add_argument("--db", metavar="PATH", default=None,
                     help="results database (default $XDG_CACHE_HOME/archcalc/results.sqlite)")
    res.add_argument("--format", "-f", default="table", choices=("table", "csv", "json"))
    res.add_argument("--spec", default=None, metavar="NAME",
                     help="only results whose spec name contains NAME")
    res.set_defaults(run=cmd_results)


def _retarget_dtype(parser: argparse.ArgumentParser) -> None:
    """The point options' --dtype (activation bytes in `report`) is also bench's tensor
    dtype: restrict its choices to what bench runs and say so in --help."""
    for action in parser._actions:   # noqa: SLF001 - argparse has no public lookup
        if action.dest == "dtype":
            action.choices = BENCH_DTYPES
            action.help = "tensor dtype of the model and input (default fp32)"


def cmd_bench(args) -> str:
    import json

    from .. import results
    from ..api import load
    from ..options import parse_pairs as _sets
    from ..graph import compile_graph
    try:
        from . import bench as harness
    except ImportError as err:
        raise OptionError(f"bench needs PyTorch: pip install 'archcalc[torch]' ({err})") from None
    sets = _sets(args.sets)
    spec = load(args.spec, sets, args.convention)
    graph = compile_graph(spec, args.width, args.resolution)
    options = harness.BenchOptions(
        batch=args.batch, threads=args.threads, device=args.device, dtype=args.dtype,
        channels_last=args.channels_last, compile=args.compile, min_time=args.min_time,
        max_time=args.max_time, precision=args.precision, warmup=args.warmup,
        layers=args.layers, roofline=args.roofline, micro_time=args.micro_time,
        layer_runs=args.layer_runs).check()
    db = None
    if args.save:   # open (and check) the database before spending time on the run
        db = results.ResultsDB(args.db)
    try:
        bar, update = harness.progress_bar()
        with bar:
            result = harness.bench(graph, options, spec_path=args.spec, sets=sets, progress=update)
        data = result.to_dict()
        if db is not None:
            data["stored"] = {"database": str(db.path), "id": db.add(result.record())}
    finally:
        if db is not None:
            db.close()
    if args.format == "json":
        return json.dumps(data, indent=2) + "\n"
    text = result.to_text()
    if db is not None:
        text += f"\nstored as result {data['stored']['id']} in {data['stored']['database']}\n"
    return text


def cmd_results(args) -> str:
    from .. import results
    with results.ResultsDB(args.db, create=False) as db:
        rows = db.rows(spec=args.spec)
        return results.export(rows, args.format, source=str(db.path))
