"""`archcalc verify`, `archcalc bench` and `archcalc results`: registered through the archcalc.commands entry points (archcalc/cli/main.py)
through `add_commands(subparsers)`.

This module is imported on every `archcalc` invocation, so it imports neither torch nor
the bench harness at module level: `verify` and `bench` import them when they run, and
`results` never does (it only reads the SQLite file). Numeric options are read as text and
range-checked (option_checks.py), and the memory a run needs is estimated (memory_check.py),
before torch is imported.
"""
from __future__ import annotations

import argparse
import sys
import textwrap

from ..errors import ArchcalcError, OptionError

BENCH_DTYPES = ("fp32", "fp16", "bf16")
# The point options verify and bench take: --dtype and --elementwise, --bn-params and --bias
# change only what `report` prints, never what a PyTorch build compares or times.
_POINT = ("width", "resolution", "sets", "convention")
_VERIFY_HINT = "lower --resolution, --width or a --set value"
_BENCH_HINT = "lower --batch, --resolution, --width or a --set value"


def _point_options(parser: argparse.ArgumentParser, extra: tuple = ()) -> None:
    """The options of archcalc.cli.options.point_options named in _POINT (+ extra), as they are
    defined there (one definition, one help text)."""
    from .options import point_options
    template = argparse.ArgumentParser(add_help=False)
    point_options(template)
    for action in template._actions:    # noqa: SLF001 - argparse has no public copy
        if action.dest in _POINT + extra:
            parser._add_action(action)   # noqa: SLF001


def add_commands(subparsers) -> None:
    """Add the `verify`, `bench` and `results` subcommands to archcalc's subparsers."""
    ver = subparsers.add_parser(
        "verify", help="check the counts against a PyTorch build of the spec",
        description="Build SPEC as a PyTorch model (needs archcalc[torch]) and check params, "
                    "MAdds (FlopCounterMode / 2) and every layer's output shape against "
                    "archcalc's. Params are compared with everything PyTorch holds as a "
                    "parameter (weights, biases, BN gamma/beta), whatever --convention says; "
                    "--convention sets the class count and names the convention whose "
                    "`report` figure the output relates to.")
    ver.add_argument("spec", metavar="SPEC", help="a spec file or a zoo name, e.g. mobilenet_v2; or "
                     "a model (package.module:callable, file.py:callable): its counts against "
                     "PyTorch's on the same module")
    _point_options(ver, ("input_shape", "allow_unknown"))
    ver.add_argument("--against", default=None, metavar="MODEL",
                     help="check SPEC against your own model (package.module:callable, "
                          "file.py:callable, model.onnx) instead of a PyTorch build of SPEC")
    ver.set_defaults(run=cmd_verify)

    bench = subparsers.add_parser(
        "bench", help="time a PyTorch build of the spec, per layer, with a roofline",
        description="Build SPEC as a PyTorch model (needs archcalc[torch]) and time it: "
                    "inference mode, fixed threads, warm-up, repeats until the median is "
                    "known to +-precision, median and IQR; per-layer times from "
                    "torch.profiler next to a roofline prediction from archcalc's MAdds and "
                    "bytes. The result is stored in the results database.")
    bench.add_argument("spec", metavar="SPEC", help="a spec file, e.g. specs/mobilenet_v2.yaml; or "
                       "a model (package.module:callable, file.py:callable): that module is "
                       "timed as its constructor builds it, counted by archcalc's import")
    _point_options(bench, ("dtype", "input_shape", "allow_unknown"))
    _retarget_dtype(bench)
    bench.add_argument("--batch", "-b", default=1, metavar="N", help="batch size (default 1)")
    bench.add_argument("--threads", "-t", default=None, metavar="N",
                       help="intra-op threads (default: every core this process may use)")
    bench.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                       help="where the model runs (default cpu; cuda: the first GPU, needs a "
                            "CUDA build of PyTorch)")
    bench.add_argument("--channels-last", action="store_true",
                       help="NHWC memory format for the model and the input")
    bench.add_argument("--compile", action="store_true",
                       help="time torch.compile(model) (the first call, compilation included, "
                            "is reported apart; the per-layer profile stays eager)")
    bench.add_argument("--min-time", default=1.0, metavar="S",
                       help="seconds of timed samples at least (default 1)")
    bench.add_argument("--max-time", default=10.0, metavar="S",
                       help="stop after this many seconds even if not stable (default 10, "
                            "at most 3600)")
    bench.add_argument("--precision", default=0.01, metavar="F",
                       help="stop when the median's 95%% CI is within +-F of it (default 0.01, "
                            "from 0.0001 to 1)")
    bench.add_argument("--warmup", default=0.5, metavar="S",
                       help="seconds of warm-up after the first call (default 0.5)")
    bench.add_argument("--micro-time", default=0.3, metavar="S",
                       help="seconds of each machine micro-benchmark: matmul peak, copy "
                            "bandwidth, per-op overhead (default 0.3, at most 60)")
    bench.add_argument("--layer-runs", default=None, metavar="N",
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
    bench.add_argument("--format", "-f", default="text", choices=("text", "json"),
                       help="text (default) or everything as one JSON object")
    bench.set_defaults(run=cmd_bench)

    res = subparsers.add_parser(
        "results", help="list, export or import stored bench results",
        description="List the bench results stored in the results database, or export them; "
                    "--import stores results that bench kept beside a locked database.")
    res.add_argument("--db", metavar="PATH", default=None,
                     help="results database (default $XDG_CACHE_HOME/archcalc/results.sqlite)")
    res.add_argument("--format", "-f", default="table", choices=("table", "csv", "json"),
                     help="table (default), csv (one flat row per result) or json (everything)")
    res.add_argument("--spec", default=None, metavar="NAME",
                     help="only results whose spec name contains NAME")
    res.add_argument("--import", dest="imports", nargs="+", default=None, metavar="FILE",
                     help="store these unsaved results (the JSON files bench writes beside a "
                          "database that stayed locked) and remove each file once stored")
    res.set_defaults(run=cmd_results)


def _retarget_dtype(parser: argparse.ArgumentParser) -> None:
    """The point options' --dtype (activation bytes in `report`) is also bench's tensor
    dtype: restrict its choices to what bench runs and say so in --help."""
    for action in parser._actions:   # noqa: SLF001 - argparse has no public lookup
        if action.dest == "dtype":
            action.choices = BENCH_DTYPES
            action.help = "tensor dtype of the model and input (default fp32)"


def _warn(text: str) -> None:
    print(f"archcalc: warning: {text}", file=sys.stderr)


def cmd_verify(args) -> str:
    from ..imported.refs import is_model_ref
    if getattr(args, "against", None):
        from .models import verify_against
        return verify_against(args)
    if is_model_ref(args.spec):
        from .models import verify_model
        return verify_model(args)
    from ..api import load
    from ..graph import compile_graph
    from .options import parse_pairs
    from ..report.progress import progress
    from ..torch_backend import memory_check
    spec = load(args.spec, parse_pairs(args.sets), args.convention)
    graph = compile_graph(spec, args.width, args.resolution)
    memory_check.check("verify", memory_check.verify_needs(graph), _VERIFY_HINT)
    try:
        from ..torch_backend import parity
    except ImportError as err:
        raise OptionError(f"verify needs PyTorch: pip install 'archcalc[torch]' ({err})") from None
    with memory_check.torch_errors("verify", graph, _VERIFY_HINT), \
            progress("verify", total=2 * (len(graph) - 1)) as advance:
        result = parity.verify(graph, progress=advance)
    lines = [f"{spec.name} at width {args.width}, resolution {graph.resolution}: params archcalc "
             f"{result.params[0]:,} / torch {result.params[1]:,}; MAdds archcalc "
             f"{result.madds[0]:,} / torch {result.madds[1]:,} (FlopCounterMode / 2); "
             f"{result.shapes_checked} output shapes checked"]
    lines += [textwrap.fill(line, 80, subsequent_indent="    ", break_on_hyphens=False)
              for line in _conventions(graph, args.convention, result.params[0])]
    if result.ok:
        lines.append("OK: archcalc and PyTorch agree on every layer")
        return "\n".join(lines) + "\n"
    from .main import VerifyFailed
    name, what, ours, theirs = result.first_mismatch
    raise VerifyFailed("\n".join(lines) + f"\nMISMATCH: first differing layer {name}: {what} "
                       f"archcalc {ours} vs torch {theirs} ({len(result.mismatches)} mismatches)")


def _conventions(graph, preset: str, all_params: int) -> list[str]:
    """What verify compares under, what torch counts, and how `report`'s params relate."""
    from dataclasses import replace

    from ..api import convention_named
    from ..cost import analyze
    from ..torch_backend.parity import CONVENTION, TORCH_SIDE
    chosen = convention_named(preset)
    lines = [f"archcalc side: {replace(CONVENTION, num_classes=chosen.num_classes).describe()}",
             f"torch side: {TORCH_SIDE}"]
    totals = analyze(graph, chosen).totals
    shown = totals["params"]
    if shown == all_params:
        lines.append(f"`archcalc report -c {preset}` prints the same params ({shown:,}): "
                     f"it counts BN gamma/beta and biases too")
        return lines
    bn = 0 if chosen.bn_params else totals["bn_params"]
    parts = [f"{bn:,} BN gamma/beta"] if bn else []
    if all_params - shown - bn:
        parts.append(f"{all_params - shown - bn:,} biases")
    lines.append(f"`archcalc report -c {preset}` prints params {shown:,}: these {all_params:,} "
                 f"without the {' and '.join(parts)} that convention excludes")
    return lines


def cmd_bench(args) -> str:
    import json

    from .. import results
    from ..api import load
    from ..graph import compile_graph
    from ..report.bench import bench_text, stored_text
    from .options import parse_pairs as _sets
    from ..torch_backend import memory_check
    from ..torch_backend.option_checks import checked
    numbers = checked({k: getattr(args, k) for k in (
        "batch", "threads", "min_time", "max_time", "precision", "warmup", "micro_time",
        "layer_runs")})                               # before torch is imported
    sets = _sets(args.sets)
    from ..imported.refs import is_model_ref
    module = None
    if is_model_ref(args.spec):      # the user's own model: timed as it is, counted by import
        graph, module = _bench_model(args, sets)
    else:
        spec = load(args.spec, sets, args.convention)
        graph = compile_graph(spec, args.width, args.resolution)
    try:
        from ..torch_backend import bench as harness
    except ImportError as err:
        raise OptionError(f"bench needs PyTorch: pip install 'archcalc[torch]' ({err})") from None
    options = harness.BenchOptions(
        device=args.device, dtype=args.dtype, channels_last=args.channels_last,
        compile=args.compile, layers=args.layers, roofline=args.roofline, **numbers).check()
    memory_check.check("bench", memory_check.bench_needs(
        graph, options.batch, options.dtype, options.device, options.roofline), _BENCH_HINT)
    db = None
    if args.save:   # open (and check) the database before spending time on the run
        db = results.ResultsDB(args.db)
    try:
        bar, update = _progress_bar()
        with memory_check.torch_errors("bench", graph, _BENCH_HINT), bar:
            result = harness.bench(graph, options, spec_path=args.spec, sets=sets,
                                   progress=update, module=module)
        data = result.to_dict()
        if db is not None:
            data["stored"] = _store(db, results.record_from_bench(data))
    finally:
        if db is not None:
            db.close()
    if args.format == "json":
        return json.dumps(data, indent=2) + "\n"
    return bench_text(data) + stored_text(data.get("stored"))


def _bench_model(args, sets: dict) -> tuple:
    """(graph, module) of a PyTorch model reference for bench: the graph captured on the meta
    device (its counts), the module built for real (what is timed)."""
    from ..imported.refs import build_module, model_graph
    from .options import model_ref_options
    if args.spec.lower().endswith(".onnx"):
        raise OptionError("bench times a PyTorch model: give package.module:callable or "
                          "file.py:callable, not an ONNX file")
    if str(args.width).strip() not in ("1", "1.0"):
        raise OptionError("--width needs a spec: an imported model has no width multiplier")
    options = model_ref_options(args)
    graph = model_graph(args.spec, sets, resolution=args.resolution, **options)
    if len(graph.spec.input_shape) != 1:
        raise OptionError(f"bench feeds one input; {args.spec} takes "
                          f"{len(graph.spec.input_shape)}")
    return graph, build_module(args.spec, sets, on_meta=False)


def _progress_bar():
    """A rich progress bar on stderr and its (what, fraction) callback, for `with bar:
    bench(..., progress=callback)`. Silent when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr)
    bar = RichProgress(TextColumn("[bold]bench[/bold] {task.description:<28}"), BarColumn(),
                       TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                       console=console, transient=True, disable=not console.is_terminal)
    task = bar.add_task("starting", total=1.0)

    def update(what: str, fraction: float) -> None:
        bar.update(task, description=what, completed=fraction)
    return bar, update


def _store(db, record: dict) -> dict:
    """Add `record` to `db`; when the database refuses (locked past its busy timeout, disk
    full, ...), keep it beside the database as JSON and say where (results/pending.py)."""
    from ..results import pending
    try:
        return {"database": str(db.path), "id": db.add(record)}
    except ArchcalcError as err:
        kept = pending.save(record, db.path, str(err))
        _warn(f"{err}; the result was NOT stored in the database; " +
              (f"kept in {kept} (archcalc results --db {db.path} --import {kept})" if kept
               else "and no folder could be written to keep it: it is printed only"))
        return {"database": str(db.path), "id": None, "error": str(err),
                "kept": str(kept) if kept else None}


def cmd_results(args) -> str:
    from .. import results
    from ..report.results import export
    from ..results import pending
    if args.imports:
        with results.ResultsDB(args.db) as db:
            return "\n".join(pending.import_files(db, args.imports)) + "\n"
    with results.ResultsDB(args.db, create=False) as db:
        rows = db.rows(spec=args.spec)
        if db.note:
            _warn(db.note)
        for row_id, problem in db.skipped:
            _warn(f"{db.path}: result {row_id} skipped: {problem}")
        kept = pending.kept_beside(db.path)
        if kept:
            _warn(f"{len(kept)} unsaved bench result(s) beside {db.path} (kept while it was "
                  f"locked): archcalc results --db {db.path} --import {' '.join(map(str, kept))}")
        return export(rows, args.format, schema_version=results.SCHEMA_VERSION,
                      source=str(db.path))
