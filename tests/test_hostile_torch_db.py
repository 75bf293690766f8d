"""Hostile input to the torch backend (verify, bench) and the results database (issue 10,
sections 3, 4, 6 and 7): every case ends with exit status 2 and ONE line on stderr (or, for
the database, a kept result and one warning), within a generous time bound that only guards
against hangs. Expected figures are derived here (by hand, or from PyTorch's own counts),
never copied from archcalc's output.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import archcalc
from archcalc import cli, limits, results
from archcalc.errors import OptionError
from archcalc.graph import compile_graph
from archcalc.ops import OpKind
from archcalc.torch_backend import build as torch_build
from archcalc.torch_backend import bench as harness

REPO = Path(__file__).resolve().parents[1]
HANG_GUARD_S = 120            # a guard against hangs on a busy machine, never a speed check

# input 3x16x16 -> conv 3x3/2 (8 channels, BN, ReLU) -> global avgpool -> fc 10
CHAIN = """\
name: chain
input: {channels: 3, resolution: 16}
layers:
  stem:
    - {op: conv, c: 8, k: 3, s: 2}
  head:
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: 10}
"""
# The naive schedule's largest live set is the conv's: its input and its output (BN and ReLU
# run in place), in fp32.
CHAIN_PEAK_BYTES = (3 * 16 * 16 + 8 * 8 * 8) * 4
FAST = ["--threads", "1", "--min-time", "0.02", "--max-time", "0.2", "--warmup", "0.02",
        "--micro-time", "0.02", "--layer-runs", "3"]


@pytest.fixture
def chain(tmp_path):
    path = tmp_path / "chain.yaml"
    path.write_text(CHAIN)
    return path


def run_cli(args, timeout=HANG_GUARD_S, env=None, user=None):
    """`python -m archcalc ARGS` in a subprocess: (exit status, stdout, stderr, seconds)."""
    cmd = [sys.executable, "-m", "archcalc", *map(str, args)]
    if user is not None:
        cmd = user + cmd
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start


def one_error_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("archcalc: error: "), err
    assert "Traceback" not in err
    return err


class Hung(Exception):
    """An in-process command ran past HANG_GUARD_S."""


def in_process(capsys, args):
    """cli.main(ARGS) in this process, stopped by SIGALRM past HANG_GUARD_S (a hang guard for
    commands that used to loop forever, e.g. `bench --max-time inf`)."""
    def hung(signum, frame):
        raise Hung(f"archcalc {' '.join(map(str, args))[:80]} ran past {HANG_GUARD_S} s")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_GUARD_S)
    try:
        code = cli.main([str(a) for a in args])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    out, err = capsys.readouterr()
    return code, out, err


# -- §3: runs that cannot fit in memory are refused before anything is allocated --------------------
@pytest.mark.parametrize("args", [["--resolution", "100000"], ["--width", "50", "--resolution", "2000"]])
def test_verify_beyond_memory_is_one_line(args):
    code, out, err, _ = run_cli(["verify", "mobilenet_v2", *args])
    assert code == 2 and out == ""
    one_error_line(err)
    assert "needs at least" in err and "the limit is" in err and "lower --resolution" in err


def test_verify_beyond_the_width_limit_is_one_line():
    """--width 1000000 (the issue's case) stops at the width limit, before any estimate."""
    code, out, err, _ = run_cli(["verify", "mobilenet_v2", "--width", "1000000"])
    assert code == 2 and out == ""
    one_error_line(err)
    assert "MAX_WIDTH" in err


def test_bench_beyond_memory_is_one_line(tmp_path):
    db = tmp_path / "r.sqlite"
    code, out, err, _ = run_cli(["bench", "mobilenet_v2", "--resolution", "100000", "--db", db])
    assert code == 2 and out == ""
    one_error_line(err)
    assert "needs at least" in err and "lower --batch" in err
    assert not db.exists()


def test_estimate_is_weights_plus_peak_times_batch(chain):
    """The estimate: every parameter and BN buffer PyTorch holds (counted by torch itself)
    plus the hand-derived peak live set per image times the batch."""
    from archcalc.torch_backend import memory_check
    graph = compile_graph(archcalc.load(chain), "1", None)
    model = torch_build.build_module(graph)
    tensors = [*model.parameters(), *(b for n, b in model.named_buffers()
                                      if not n.endswith("num_batches_tracked"))]
    weights = 4 * sum(t.numel() for t in tensors)
    [need] = memory_check.verify_needs(graph)
    assert need.bytes == weights + CHAIN_PEAK_BYTES
    [need] = memory_check.bench_needs(graph, 1000, "fp32", "cpu", roofline=False)
    assert need.bytes == weights + 1000 * CHAIN_PEAK_BYTES
    # bf16 halves both; the fp32 model built first stays counted
    [need] = memory_check.bench_needs(graph, 1000, "bf16", "cpu", roofline=False)
    assert need.bytes == weights + weights // 2 + 1000 * CHAIN_PEAK_BYTES // 2


def test_bench_refuses_past_the_available_memory(monkeypatch, capsys, chain, tmp_path):
    """With 1 MB available, batch 1000 of the chain (5.12 MB of activations) is refused by
    name: the estimate, the limit and where the limit comes from."""
    from archcalc.torch_backend import memory_check
    monkeypatch.setattr(memory_check, "available_memory", lambda: (10**6, "test memory"))
    db = tmp_path / "r.sqlite"
    code, out, err = in_process(capsys, ["bench", chain, "--batch", "1000", "--no-roofline",
                                         "--db", db, *FAST])
    assert code == 2
    one_error_line(err)
    limit = int(10**6 * limits.MEMORY_FRACTION)
    assert f"but the limit is {memory_check.size_text(limit)}" in err and "test memory" in err
    assert "x batch 1,000" in err and not db.exists()


@pytest.mark.parametrize("error", [
    RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't "
                 "allocate memory: you tried to allocate 120000000000 bytes.\nsecond line"),
    torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB\nmore"),
    MemoryError(),
])
def test_torch_allocation_errors_are_one_line(monkeypatch, capsys, chain, error):
    """The last resort: whatever the estimate missed, torch's allocation failure is one line."""
    from archcalc.torch_backend import parity

    def fail(*args, **kwargs):
        raise error
    monkeypatch.setattr(parity, "verify", fail)
    code, out, err = in_process(capsys, ["verify", chain])
    assert code == 2 and out == ""
    one_error_line(err)
    assert "verify: PyTorch ran out of memory" in err
    monkeypatch.setattr(harness, "bench", fail)
    code, out, err = in_process(capsys, ["bench", chain, "--no-save", *FAST])
    assert code == 2
    one_error_line(err)
    assert "bench: PyTorch ran out of memory" in err


# -- §3: a module torch refuses is a located line (defence in depth behind the spec loader) -------
def test_a_builder_error_names_file_line_and_node(monkeypatch, capsys, chain):
    def broken(op, in_shape):
        raise RuntimeError("torch refuses these arguments\nand says more on a second line")
    monkeypatch.setitem(torch_build.BUILDERS, OpKind.CONV, broken)
    code, out, err = in_process(capsys, ["verify", chain])
    assert code == 2 and out == ""
    one_error_line(err)
    line = CHAIN.splitlines().index("    - {op: conv, c: 8, k: 3, s: 2}") + 1
    assert f"{chain}:{line}: node stem.0.conv: PyTorch cannot build this conv" in err
    assert "torch refuses these arguments" in err
    code, out, err = in_process(capsys, ["bench", chain, "--no-save", *FAST])
    assert code == 2
    one_error_line(err)
    assert f"{chain}:{line}: node stem.0.conv" in err


def test_a_module_refused_when_it_runs_is_located(monkeypatch, capsys, chain):
    """torch checks some arguments only in forward (a pool's padding): verify and bench name
    the node whose module failed."""
    class Refuses(nn.Module):
        def forward(self, x):
            raise RuntimeError("pad should be at most half of effective kernel size")
    monkeypatch.setitem(torch_build.BUILDERS, OpKind.POOL, lambda op, shape: Refuses())
    line = CHAIN.splitlines().index("    - {op: avgpool, global: true}") + 1
    for command in (["verify", chain], ["bench", chain, "--no-save", *FAST]):
        code, out, err = in_process(capsys, command)
        assert code == 2
        one_error_line(err)
        assert f"{chain}:{line}: node head.0.pool: {command[0]}: PyTorch refused the model: " \
               "pad should be at most half" in err


@pytest.mark.parametrize("kernel, padding, refused", [(3, 2, True), (3, 1, False), (2, 1, False),
                                                      (4, 3, True), (5, 2, False)])
def test_pool_padding_rule_matches_torch(kernel, padding, refused):
    """The pool builder refuses exactly what torch refuses when it runs (padding > kernel // 2)."""
    from types import SimpleNamespace
    op = SimpleNamespace(global_pool=False, kernel=kernel, stride=1, padding=padding, pool="max",
                         dilation=1, ceil_mode=False)
    x = torch.zeros(1, 1, 8, 8)
    try:
        nn.functional.max_pool2d(x, kernel, 1, padding)
        torch_refuses = False
    except RuntimeError:
        torch_refuses = True
    assert torch_refuses == refused
    if refused:
        with pytest.raises(OptionError, match="more than half"):
            torch_build.BUILDERS[OpKind.POOL](op, (1, 8, 8))
    else:
        torch_build.BUILDERS[OpKind.POOL](op, (1, 8, 8))


def test_maxpool_padding_past_half_the_kernel_is_one_line(tmp_path):
    """Refused at load time by the spec loader or, behind it, by the builder: either way one
    line naming the file."""
    spec = tmp_path / "pool.yaml"
    spec.write_text(CHAIN.replace("    - {op: conv, c: 8, k: 3, s: 2}\n",
                                  "    - {op: conv, c: 8, k: 3, s: 2}\n"
                                  "    - {op: maxpool, k: 3, s: 2, padding: 2}\n"))
    code, out, err, _ = run_cli(["verify", spec])
    assert code == 2
    one_error_line(err)
    assert str(spec) in err and "padding" in err


# -- §3: every numeric option of bench is range-checked before anything runs ----------------------
BAD_OPTIONS = [
    (["--micro-time", "inf"], "--micro-time"),
    (["--max-time", "inf", "--precision", "1e-300"], "--max-time"),
    (["--precision", "1e-300"], "--precision"),
    (["--precision", "2"], "--precision"),
    (["--min-time", "nan"], "--min-time"),
    (["--min-time", "0"], "--min-time"),
    (["--max-time", "3601"], "--max-time"),
    (["--warmup", "-1"], "--warmup"),
    (["--warmup", "1e9"], "--warmup"),
    (["--micro-time", "61"], "--micro-time"),
    (["--batch", "1000000000"], "--batch"),
    (["--batch", "9" * 5000], "--batch"),
    (["--batch", "2.5"], "--batch"),
    (["--threads", str(4 * (os.cpu_count() or 1) + 1)], "--threads"),
    (["--layer-runs", "1000000"], "--layer-runs"),
    (["--layer-runs", "0"], "--layer-runs"),
    (["--batch", "many"], "--batch"),
]


@pytest.mark.parametrize("args, flag", BAD_OPTIONS, ids=[" ".join(a)[:40] for a, _ in BAD_OPTIONS])
def test_bench_numeric_options_are_range_checked(capsys, chain, tmp_path, args, flag):
    db = tmp_path / "r.sqlite"
    code, out, err = in_process(capsys, ["bench", chain, "--db", db, "--no-layers", *args])
    assert code == 2 and out == ""
    one_error_line(err)
    assert flag in err
    assert not db.exists()


def test_bench_option_limits_are_the_documented_ones():
    """Each limit is accepted at its edge and refused just past it (API values too)."""
    from archcalc.torch_backend import option_checks
    assert option_checks.number("precision", "1e-4") == 1e-4
    assert option_checks.number("precision", "1") == 1.0
    assert option_checks.number("max_time", "3600") == 3600.0
    assert option_checks.number("batch", str(limits.MAX_BENCH_BATCH)) == limits.MAX_BENCH_BATCH
    assert option_checks.number("threads", str(4 * (os.cpu_count() or 1))) == 4 * (os.cpu_count() or 1)
    with pytest.raises(OptionError):
        option_checks.number("batch", str(limits.MAX_BENCH_BATCH + 1))
    for field, value in [("micro_time", float("inf")), ("precision", 1e-300),
                         ("max_time", float("nan")), ("batch", 10**9)]:
        with pytest.raises(OptionError):
            harness.BenchOptions(**{field: value}).check()
    spec_md = (REPO / "docs" / "spec.md").read_text()
    for name in ("MAX_BENCH_BATCH", "MAX_THREADS_PER_CORE", "MAX_BENCH_SECONDS", "MIN_PRECISION",
                 "MAX_MICRO_SECONDS", "MAX_WARMUP_SECONDS", "MAX_LAYER_RUNS", "MEMORY_FRACTION",
                 "MAX_PENDING_BYTES"):
        assert f"`{name}`" in spec_md, f"{name} is not in docs/spec.md's Limits table"


# -- §4: verify says what it compares under ----------------------------------------------------------
def test_verify_names_its_convention_and_the_report_figure(capsys):
    """MobileNetV2 at 96 px: the params line relates to `report`'s by the BN gamma/beta that the
    paper convention excludes, counted here from the torch model's BatchNorm modules."""
    code, out, err = in_process(capsys, ["verify", "mobilenet_v2", "--resolution", "96"])
    assert code == 0, err
    assert all(len(line) <= 80 for line in out.splitlines()[1:])   # wrapped for a terminal
    out = out.replace("\n    ", " ")                                # unwrapped
    graph = compile_graph(archcalc.load("mobilenet_v2"), "1", 96)
    model = torch_build.build_module(graph)
    total = sum(p.numel() for p in model.parameters())
    bn = sum(p.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d)
             for p in m.parameters())
    assert total == 3_504_872      # torchvision's mobilenet_v2 meta num_params
    assert f"params archcalc {total:,} / torch {total:,}" in out
    assert "archcalc side: verify (" in out and "BN params counted; biases counted" in out
    assert "torch side: params = sum(p.numel() for p in model.parameters())" in out
    assert "FlopCounterMode's total / 2" in out
    assert f"`archcalc report -c paper` prints params {total - bn:,}: these {total:,} without " \
           f"the {bn:,} BN gamma/beta" in out
    code, report, _ = in_process(capsys, ["report", "mobilenet_v2", "--resolution", "96",
                                          "--format", "json"])
    assert json.loads(report)["totals"]["params"] == total - bn
    code, out, _ = in_process(capsys, ["verify", "mobilenet_v2", "--resolution", "96",
                                       "-c", "torchvision"])
    out = out.replace("\n    ", " ")
    assert f"`archcalc report -c torchvision` prints the same params ({total:,})" in out


# -- §6: the results database ---------------------------------------------------------------------
RECORD_SRC = '''
def make_record(tag, i):
    return {
        "machine_info": {"cpu": "Test CPU", "cores": 2, "gpu": "none", "torch": "0.0"},
        "spec_name": "Spec-" + tag, "spec_path": "specs/test.yaml", "spec_hash": "ab" * 32,
        "width": "1", "resolution": 160, "sets": {}, "batch": 1, "device": "cpu",
        "dtype": "fp32", "threads": 1, "options": {"channels_last": False, "compile": False},
        "median_s": 0.001 * (i + 1), "q1_s": 0.0009 * (i + 1), "q3_s": 0.0011 * (i + 1),
        "samples": 20, "stable": True, "params": 1000 + i, "madds": 10**6 + i, "gflops": 2.0,
        "peak_gflops": 100.0, "bandwidth_gbs": 10.0, "predicted_s": 0.0005,
        "payload": {"tag": tag, "i": i},
    }
'''
exec(RECORD_SRC)   # defines make_record (also run inside the subprocesses below)


def make_db(path, n=4) -> Path:
    with results.ResultsDB(path) as db:
        for i in range(n):
            db.add(make_record("t", i))
    return Path(path)


def test_malformed_rows_are_skipped_with_one_warning_each(capsys, tmp_path):
    path = make_db(tmp_path / "r.sqlite", 5)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE results SET sets = '[1,2]' WHERE id = 2")
        conn.execute("UPDATE results SET median_s = 'fast' WHERE id = 3")
        conn.execute("UPDATE results SET payload = '{' WHERE id = 4")
    for fmt in ("table", "csv", "json"):
        code, out, err = in_process(capsys, ["results", "--db", path, "--format", fmt])
        assert code == 0 and "Traceback" not in err
        lines = err.splitlines()
        assert lines == [f"archcalc: warning: {path}: result 2 skipped: sets is not a JSON "
                         f"object ('[1,2]')",
                         f"archcalc: warning: {path}: result 3 skipped: median_s is not a "
                         f"number ('fast')",
                         f"archcalc: warning: {path}: result 4 skipped: payload is not valid JSON"]
        if fmt == "json":
            assert [r["id"] for r in json.loads(out)["results"]] == [1, 5]
    code, out, err, _ = run_cli(["results", "--db", path])        # the installed command too
    assert code == 0 and err.count("\n") == 3 and "2 result(s)" in out


def test_a_row_without_its_machine_is_shown(capsys, tmp_path):
    path = make_db(tmp_path / "r.sqlite", 2)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE results SET machine = 'gone' WHERE id = 2")
    code, out, err = in_process(capsys, ["results", "--db", path])
    assert code == 0 and err == ""
    assert "2 result(s)" in out and "machine gone: not in the machines table" in out


@pytest.mark.parametrize("offset, value", [(20, 0xFF), (20, 0x07), (32, 0xFF), (52, 0xFF),
                                           (64, 0xFF)])
def test_every_corrupt_header_field_is_one_line(tmp_path, offset, value):
    """Header fields whose corruption makes quick_check report many lines (reserved bytes,
    freelist, auto-vacuum root): one line, and the file is left as it was."""
    path = make_db(tmp_path / "r.sqlite", 30)
    data = bytearray(path.read_bytes())
    data[offset] = value
    path.write_bytes(bytes(data))
    code, out, err, _ = run_cli(["results", "--db", path])
    assert code == 2
    one_error_line(err)
    assert len(err) < 600 and "corrupt" in err
    assert path.read_bytes() == bytes(data)


def _as_nobody():
    """A command prefix that runs as an unprivileged user (root ignores file permissions)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root without setpriv: cannot test a read-only folder")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


KILLED_WRITER = RECORD_SRC + '''
import os, sys
from archcalc import results
db = results.ResultsDB(sys.argv[1])
for i in range(int(sys.argv[2])):
    db.add(make_record("w", i))
os._exit(0)                    # no close(): the WAL and its -shm index stay, not checkpointed
'''


@pytest.mark.parametrize("leave_wal", [False, True])
def test_read_only_folder(leave_wal):
    """A WAL database in a folder the reader cannot write: read-only open, every row shown."""
    prefix = _as_nobody()
    folder = Path(tempfile.mkdtemp(prefix="archcalc-ro-", dir="/tmp"))
    try:
        path = folder / "r.sqlite"
        if leave_wal:
            subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path), "7"], check=True,
                           cwd=REPO, timeout=HANG_GUARD_S)
            assert Path(f"{path}-wal").stat().st_size > 0 and Path(f"{path}-shm").exists()
        else:
            make_db(path, 7)
        for f in folder.iterdir():
            f.chmod(0o444)
        folder.chmod(0o555)
        code, out, err, _ = run_cli(["results", "--db", path, "--format", "json"], user=prefix,
                                    env={"HOME": "/tmp"})
        assert code == 0, err
        assert [r["payload"]["i"] for r in json.loads(out)["results"]] == list(range(7))
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["r.sqlite"] + (["r.sqlite-wal", "r.sqlite-shm"] if leave_wal else []))
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


CREATOR = '''
import sys, time
from archcalc import results
original = results.ResultsDB._init_schema

def slow(self):
    original(self)
    print("schema written", flush=True)
    time.sleep(120)            # killed here: the temporary is complete but not linked
results.ResultsDB._init_schema = slow
results.ResultsDB(sys.argv[1])
'''


def test_a_creator_killed_mid_creation_leaves_nothing_behind(tmp_path):
    path = tmp_path / "r.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", CREATOR, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout.readline().strip() == "schema written", proc.stderr.read()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=HANG_GUARD_S)
        proc.stdout.close()
        proc.stderr.close()
    leftovers = [p.name for p in tmp_path.iterdir() if ".tmp" in p.name]
    assert leftovers and not path.exists()
    # a live creator's temporary is never touched
    live = tmp_path / f".r.sqlite.{os.getpid()}.1.tmp"
    live.write_bytes(b"in progress")
    with results.ResultsDB(path) as db:
        db.add(make_record("after", 0))
        assert db.count() == 1
    assert sorted(p.name for p in tmp_path.iterdir() if ".tmp" in p.name) == [live.name]


def test_a_locked_database_keeps_the_measurement(monkeypatch, capsys, chain, tmp_path):
    """The database stays locked past the busy timeout after the run: the measurement is
    printed, kept beside the database as JSON, and `results --import` stores it later."""
    path = make_db(tmp_path / "r.sqlite", 1)
    monkeypatch.setattr(results.db, "BUSY_TIMEOUT_S", 0.5)
    real_bench = harness.bench
    holder = sqlite3.connect(path, isolation_level=None)

    def bench_then_lock(*args, **kwargs):
        out = real_bench(*args, **kwargs)
        holder.execute("BEGIN EXCLUSIVE")          # another writer holds the database
        return out
    monkeypatch.setattr(harness, "bench", bench_then_lock)
    try:
        code, out, err = in_process(capsys, ["bench", chain, "--db", path, "--no-roofline",
                                             *FAST])
        assert code == 0
        assert "latency" in out and "median" in out and "NOT stored" in out
        assert err.count("\n") == 1 and err.startswith("archcalc: warning: ")
        assert "locked" in err and "--import" in err
        [kept] = list(tmp_path.glob("r.sqlite.unsaved-*.json"))
        assert str(kept) in out and str(kept) in err
        code, out, err = in_process(capsys, ["results", "--db", path])   # readers still work
        assert code == 0 and "1 result(s)" in out
        assert "1 unsaved bench result(s)" in err and str(kept) in err
    finally:
        holder.close()
    median = json.loads(kept.read_text())["record"]["median_s"]
    code, out, err = in_process(capsys, ["results", "--db", path, "--import", kept])
    assert code == 0, err
    assert "imported as result 2" in out and not kept.exists()
    code, out, err = in_process(capsys, ["results", "--db", path, "--format", "json"])
    rows = json.loads(out)["results"]
    assert [r["id"] for r in rows] == [1, 2] and rows[1]["median_s"] == median
    assert rows[1]["spec_name"] == "chain" and err == ""


def test_importing_twice_stores_once(capsys, tmp_path):
    from archcalc.results import pending as results_pending
    path = make_db(tmp_path / "r.sqlite", 1)
    first = results_pending.save(make_record("x", 5), path, "test")
    copy = tmp_path / "copy.json"
    copy.write_text(first.read_text())
    code, out, _ = in_process(capsys, ["results", "--db", path, "--import", first])
    assert code == 0 and "imported as result 2" in out
    code, out, _ = in_process(capsys, ["results", "--db", path, "--import", copy])
    assert code == 0 and "already stored as result 2" in out
    with results.ResultsDB(path) as db:
        assert db.count() == 2


@pytest.mark.parametrize("content, message", [
    ("not json", "not valid JSON"),
    ('{"record": {}}', "not an unsaved archcalc bench result"),
    ('{"archcalc_unsaved_result": 1, "record": {"spec_name": "x"}}', "not a complete bench result"),
    ("[" * 100_000, "not valid JSON"),
])
def test_import_refuses_foreign_files_in_one_line(capsys, tmp_path, content, message):
    path = make_db(tmp_path / "r.sqlite", 1)
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, out, err = in_process(capsys, ["results", "--db", path, "--import", bad])
    assert code == 2
    one_error_line(err)
    assert message in err and bad.exists()


# -- §7: progress, and only the options that mean something ------------------------------------------
def test_verify_offers_only_what_changes_it(capsys):
    with pytest.raises(SystemExit):
        cli.main(["verify", "--help"])
    text = capsys.readouterr().out
    for option in ("--width", "--resolution", "--set", "--convention"):
        assert option in text
    for option in ("--dtype", "--elementwise", "--bn-params", "--bias"):
        assert option not in text


def test_every_torch_and_results_option_has_help():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for command in ("verify", "bench", "results"):
        for action in sub.choices[command]._actions:
            if action.option_strings:
                assert action.help, f"{command} {action.option_strings[0]} has no help text"


def test_verify_reports_progress_per_module(monkeypatch, capsys, chain):
    """Two steps per node (built, run); the display itself is report/progress.py's."""
    import archcalc.report.progress as progress_module
    calls = {}

    @contextlib.contextmanager
    def recording(description, total=None, **kwargs):
        calls.update(description=description, total=total, steps=0)

        def advance(n=1, **kw):
            calls["steps"] += n
        yield advance
    monkeypatch.setattr(progress_module, "progress", recording)
    code, out, err = in_process(capsys, ["verify", chain])
    assert code == 0, err
    nodes = 5                  # conv, bn, act, pool, fc (the input is no module)
    assert calls == {"description": "verify", "total": 2 * nodes, "steps": 2 * nodes}


def test_progress_only_on_a_terminal(chain):
    """Redirected stderr: not one byte of progress."""
    code, out, err, _ = run_cli(["verify", chain])
    assert code == 0 and err == ""
    pty = pytest.importorskip("pty")
    import threading
    master, slave = pty.openpty()
    shown = bytearray()

    def drain():                 # read while it runs: a full pty buffer would block the child
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:      # EIO: every writer has closed the terminal
                return
            if not chunk:
                return
            shown.extend(chunk)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "archcalc", "verify", str(chain)],
                              stdout=subprocess.PIPE, stderr=slave, cwd=REPO,
                              timeout=HANG_GUARD_S, env={**os.environ, "COLUMNS": "100"})
    finally:
        os.close(slave)
        reader.join(timeout=HANG_GUARD_S)
        os.close(master)
    shown = bytes(shown)
    assert proc.returncode == 0
    assert b"verify" in shown and b"OK:" not in shown      # the bar on the terminal only
    assert b"OK: archcalc and PyTorch agree" in proc.stdout


# -- docs/torch-backend.md says what the commands print ----------------------------------------------
def test_the_documented_verify_output_is_current():
    doc = (REPO / "docs" / "torch-backend.md").read_text()
    blocks = [b for b in re.finditer(r"```\n\$ (archcalc verify [^\n]+)\n(.*?)```", doc, re.S)
              if "OK: archcalc and PyTorch agree" in b.group(2)]
    assert blocks, "no verify example in docs/torch-backend.md"
    for block in blocks:
        code, out, err, _ = run_cli(block.group(1).split()[1:])
        assert code == 0, err
        assert out == block.group(2)
