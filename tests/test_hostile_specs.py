"""Hostile inputs (issue 10): small specs, options and files that used to hang, exhaust memory,
print a traceback or give a wrong number. Each must now be refused with ONE line on stderr
naming the file (and the limit, documented in docs/spec.md "Limits"), exit status 2 -- or,
where the input is legitimate, work.

Cases that could hang or grow without bound run the console script in a subprocess with a
memory cap and a generous timeout: the timeout only guards against hangs on a slow, busy
machine, it measures nothing (speed is measured by benchmarks/hostile_inputs.py). Expected
numbers are derived by hand in each test; expected line numbers from the test's own text.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import pytest

import archcalc
from archcalc import cli, limits
from archcalc.report.units import human_bytes, human_count
from archcalc.spec.yamlio import load_yaml

REPO = Path(__file__).resolve().parents[1]
ARCHCALC = Path(sys.executable).parent / "archcalc"
HANG_GUARD_S = 120            # a guard against hangs, not a speed check
MEMORY_CAP = 3 * 1024**3      # address space of a child: an unbounded input fails, not the box

BASE = """\
name: hostile
input: {channels: 3, resolution: 32}
params:
  g: {default: 3}
  ratio: {default: 0.5}
layers:
  body:
    - {op: conv, c: 16, k: 3, s: 2}
"""
ROW = "    - {op: conv, c: 16, k: 3, s: 2}"


def sub(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, marker: str) -> int:
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if marker in line]
    assert hits, f"{marker!r} not in the text"
    return hits[0]


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _cap_memory():   # runs in the child before exec
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def console(*args: str, python: str | None = None) -> subprocess.CompletedProcess:
    """The console script (or `python -c` code) in a child with capped memory and a hang guard."""
    cmd = [sys.executable, "-c", python, *args] if python else [str(ARCHCALC), *args]
    env = {**os.environ, **{v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                               "MKL_NUM_THREADS")}}  # no per-core reservations
    return subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_GUARD_S,
                          cwd=REPO, env=env, preexec_fn=_cap_memory)


def one_line(proc: subprocess.CompletedProcess, path: str | None, *says: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr naming `path` (and each of `says`)."""
    assert "Traceback" not in proc.stderr, proc.stderr[-800:]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-800:])
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr[-800:]
    line = lines[0]
    assert line.startswith("archcalc: error: " + (path or "")), line
    assert len(line) < 400, f"{len(line)} characters"
    for fragment in says:
        assert fragment in line, (fragment, line)
    return line


def cli_one_line(capsys, args: list, path: str | None, *says: str) -> str:
    """The same through archcalc.cli.main in-process."""
    rc = cli.main(args)
    out, err = capsys.readouterr()
    return one_line(subprocess.CompletedProcess(args, rc, out, err), path, *says)


# ---- §1: nesting depth is counted while parsing ---------------------------------------------------

def test_deep_nesting_is_refused_while_parsing_even_with_a_high_recursion_limit(tmp_path):
    """The dashboard's sandbox raises the recursion limit to 5000; the depth must be caught by
    a counter as the YAML is composed, never by exhausting the stack."""
    path = write(tmp_path, "name: x\nlayers: " + "[" * 5000 + "]" * 5000 + "\n")
    proc = console("report", path, python="import sys; sys.setrecursionlimit(5000); "
                   "from archcalc.cli import main; sys.exit(main(sys.argv[1:]))")
    one_line(proc, path, "MAX_YAML_DEPTH", f"{limits.MAX_YAML_DEPTH} levels")


def test_the_depth_limit_is_exact():
    """A document nests MAX_YAML_DEPTH levels at most: the mapping is level 1, so a value may
    hold MAX_YAML_DEPTH - 1 nested lists; one more is refused, on the line where it opens."""
    ok = "a: " + "[" * (limits.MAX_YAML_DEPTH - 1) + "]" * (limits.MAX_YAML_DEPTH - 1)
    value = load_yaml(ok, "ok.yaml")["a"]
    for _ in range(limits.MAX_YAML_DEPTH - 2):
        value = value[0]
    assert value == []
    deep = "x: 1\na: " + "[" * limits.MAX_YAML_DEPTH + "]" * limits.MAX_YAML_DEPTH
    with pytest.raises(archcalc.SpecError) as info:
        load_yaml(deep, "deep.yaml")
    assert info.value.line == 2 and "MAX_YAML_DEPTH" in str(info.value)


# ---- §2: alias bombs, and values quoted in errors -------------------------------------------------

def _bomb(levels: int) -> str:
    """YAML anchors b0..b{levels}: b0 is 9 words, each next one 9 aliases of the one before,
    so b{i} expands to 9**(i+1) words."""
    out = ["[x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        out.append("[" + ", ".join([f"*b{i - 1}"] * 9) + "]")
    return ", ".join(f"&b{i} {v}" for i, v in enumerate(out))


def _bomb_spec(levels: int, where: str) -> str:
    """The anchors sit in a cell's free-text `doc`; the last one is then used as a value."""
    cell = ("cells:\n  holder:\n    inputs: [x]\n    nodes: {a: x}\n    output: a\n"
            f"    doc: [{_bomb(levels - 1)}]\n")
    if where == "c":
        return "name: bomb\n" + cell + f"layers:\n  body:\n    - {{op: conv, c: *b{levels - 1}}}\n"
    return "name: bomb\n" + cell + f"defaults: {{act: *b{levels - 1}}}\n" + \
        "layers:\n  body:\n    - {op: conv, c: 8}\n"


@pytest.mark.parametrize("where", ["c", "act"])
def test_alias_bomb_used_as_a_value(tmp_path, where):
    """A ~700-byte alias bomb (9**9 values when expanded) is refused by counting values over
    the composed node graph, not by expanding it (which once built a 1.8 GB message)."""
    text = _bomb_spec(9, where)
    assert len(text.encode()) < 1000
    path = write(tmp_path, text)
    one_line(console("report", path), path, "MAX_YAML_NODES")


@pytest.mark.parametrize("where", ["c", "act"])
def test_a_large_value_is_quoted_short(tmp_path, capsys, where):
    """Under the alias limit (9**4 = 6,561 words), the bad value is still quoted in at most
    MAX_QUOTED_CHARS characters."""
    path = write(tmp_path, _bomb_spec(4, where))
    line = cli_one_line(capsys, ["report", path], path, "layers.body[0].c" if where == "c"
                        else "defaults.act")
    assert len(line) < 300


def test_long_text_values_keys_and_ops_are_cut(tmp_path, capsys):
    long = "y" * 100_000
    for old, new, key in [(ROW, f"    - {{op: conv, c: 16, act: {long}}}", "layers.body[0].act"),
                          (ROW, f"    - {{op: {long}}}", "layers.body[0].op"),
                          (ROW, f"    - {{op: conv, c: 16, ? {long} : 1}}", "layers.body[0].yyy")]:
        path = write(tmp_path, sub(BASE, old, new))
        line = cli_one_line(capsys, ["report", path], path, key)
        assert len(line) < 400 and re.search(r"\(100,0\d\d characters\)", line), line


# ---- §2: repeats and the size of the compiled graph -------------------------------------------------

def test_repeats_are_bounded(tmp_path):
    text = sub(BASE, ROW, "    - {op: relu, n: 1000000000}")
    path = write(tmp_path, text)
    line = one_line(console("report", path), path, "layers.body[0].n", "MAX_REPEATS")
    assert line.startswith(f"archcalc: error: {path}:{line_of(text, 'n: 1000000000')}:")


def test_graph_size_is_bounded_as_ops_are_added(tmp_path):
    """60 rows of 1,000 ReLUs would be 60,000 ops: refused at the ReLU that would be op number
    MAX_GRAPH_OPS + 1 (the input node is op 1), in row (MAX_GRAPH_OPS - 1) // 1000."""
    rows = "".join("    - {op: relu, n: 1000}  # row %d\n" % i for i in range(60))
    text = "name: big\ninput: {channels: 3, resolution: 8}\nlayers:\n  body:\n" + rows
    path = write(tmp_path, text)
    line = one_line(console("report", path, "--format", "json"), path, "MAX_GRAPH_OPS")
    row = (limits.MAX_GRAPH_OPS - 1) // 1000
    assert line.startswith(f"archcalc: error: {path}:{line_of(text, f'# row {row}')}:"), line


def _doubling(levels: int, used: bool, ops: str = "relu") -> str:
    """Cells d0..d{levels}: d0 applies `ops`, each next one two instances of the one before."""
    out = ["name: dbl\ninput: {channels: 3, resolution: 8}\ncells:\n",
           f"  d0:\n    inputs: [x]\n    nodes:\n      a: {{from: x, ops: [{ops}]}}\n    output: a\n"]
    for i in range(1, levels + 1):
        out.append(f"  d{i}:\n    inputs: [x]\n    nodes:\n"
                   f"      a: {{from: x, ops: [{{op: d{i - 1}}}, {{op: d{i - 1}}}]}}\n"
                   f"    output: a\n")
    out.append("layers:\n  body:\n    - " + (f"{{op: d{levels}}}" if used else "relu") + "\n")
    return "".join(out)


def test_doubling_cells_that_no_row_uses_load_in_linear_time(tmp_path):
    """2**25 instances if expanded: each cell is checked once, alone, when the spec loads."""
    path = write(tmp_path, _doubling(25, used=False))
    proc = console("report", path, "--format", "json")
    assert proc.returncode == 0, proc.stderr[-800:]
    assert [layer["op"] for layer in json.loads(proc.stdout)["layers"]] == ["input", "act"]
    spec = archcalc.load_spec(path)
    assert [c.depth for c in spec.cells] == list(range(1, 27))


@pytest.mark.parametrize("ops", ["relu", ""], ids=["relu", "no-ops"])
def test_doubling_cells_that_a_row_uses_are_bounded(tmp_path, ops):
    """Used, they expand past MAX_GRAPH_OPS: refused as soon as they do, ops or not (cells
    of nothing but names count as instances)."""
    path = write(tmp_path, _doubling(60 if not ops else 25, used=True, ops=ops))
    one_line(console("report", path), path, "MAX_GRAPH_OPS")


# ---- §2: chains of cells: linear, and no recursion as deep as the chain ---------------------------

def _chain(n: int, reverse: bool = False) -> str:
    """c0 applies two ReLUs; c{i} a ReLU, then c{i-1}; the one row uses c{n-1}: n + 1 ReLUs."""
    cells = []
    for i in range(n):
        inner = f"{{op: c{i - 1}}}" if i else "relu"
        cells.append(f"  c{i}:\n    inputs: [x]\n    nodes:\n      a: {{from: x, ops: [relu, {inner}]}}\n"
                     f"    output: a\n")
    if reverse:
        cells.reverse()
    return ("name: chain\ninput: {channels: 3, resolution: 8}\ncells:\n" + "".join(cells) +
            f"layers:\n  body:\n    - {{op: c{n - 1}}}\n")


def test_a_chain_of_cells_compiles_to_ops_linear_in_its_length(tmp_path):
    counts = {}
    for n in (100, 400):
        graph = archcalc.compile_graph(archcalc.load_spec(write(tmp_path, _chain(n), f"c{n}.yaml")))
        counts[n] = len(graph)
        assert counts[n] == 1 + (n + 1)                         # the input and n + 1 ReLUs
        deepest = "body.0" + ".a.1" * (n - 1) + ".a.1.act"         # c0's second ReLU
        assert deepest in graph and len(deepest) == max(map(len, graph.names))
    assert (counts[400] - 2) / (counts[100] - 2) == 4


def test_an_error_deep_in_nested_cells_names_the_op_briefly(tmp_path, capsys):
    """A 9x9 valid conv on the 8x8 input, 300 cells deep: the op's 1,200-character path is
    shown cut in the middle (both ends kept), so the line stays short."""
    text = _chain(300).replace("ops: [relu, relu]", "ops: [relu, {op: conv, c: 8, k: 9, padding: valid}]")
    path = write(tmp_path, text)
    line = cli_one_line(capsys, ["report", path], path, "the spatial size vanishes at body.0.a.1",
                        ".a.1.a.1.conv (input 8x8")
    assert len(line) < 400


def test_a_chain_of_1200_cells_in_reverse_order_is_one_line(tmp_path):
    path = write(tmp_path, _chain(1200, reverse=True))
    one_line(console("report", path), path, "MAX_CELL_DEPTH")


def test_a_chain_at_the_depth_limit_compiles_on_a_shallow_stack(tmp_path):
    """MAX_CELL_DEPTH nested cells compile with the interpreter's stack cut to 200 frames:
    neither loading nor compiling recurses as deep as the cells nest."""
    n = limits.MAX_CELL_DEPTH
    path = write(tmp_path, _chain(n))
    proc = console("report", path, "--format", "json", python="import sys; "
                   "sys.setrecursionlimit(200); from archcalc.cli import main; "
                   "sys.exit(main(sys.argv[1:]))")
    assert proc.returncode == 0, proc.stderr[-800:]
    assert len(json.loads(proc.stdout)["layers"]) == 1 + (n + 1)


# ---- §2: channel counts and the other sizes ---------------------------------------------------------

@pytest.mark.parametrize("new,key,limit", [
    ("{op: conv, c: 1000000000}", "layers.body[0].c", "MAX_CHANNELS"),
    ("{op: conv, c: 16, k: 1001}", "layers.body[0].k", "MAX_KERNEL"),
    ("{op: conv, c: 16, s: 1001}", "layers.body[0].s", "MAX_STRIDE"),
    ("{op: conv, c: 16, groups: 100001}", "layers.body[0].groups", "MAX_CHANNELS"),
    ("{op: conv, c: 16, padding: 1001}", "layers.body[0].padding", "MAX_KERNEL"),
    ("{op: bottleneck, t: 200000, c: 16}", "layers.body[0].t", "MAX_CHANNELS"),
    ("{op: predictor, anchors: 100001, classes: 3}", "layers.body[0].anchors", "MAX_CHANNELS"),
    ("{op: predictor, anchors: 3, classes: 100001}", "layers.body[0].classes", "MAX_CHANNELS"),
])
def test_sizes_in_rows_are_bounded(tmp_path, capsys, new, key, limit):
    text = sub(BASE, ROW, "    - " + new)
    path = write(tmp_path, text)
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load_spec(path)
    assert info.value.key == key and info.value.line == line_of(text, new)
    cli_one_line(capsys, ["report", path], path, key, limit)


def test_input_sizes_are_bounded(tmp_path, capsys):
    for old, new, key, limit in [("channels: 3", "channels: 200000", "input.channels", "MAX_CHANNELS"),
                                 ("resolution: 32", "resolution: 100001", "input.resolution",
                                  "MAX_RESOLUTION")]:
        path = write(tmp_path, sub(BASE, old, new))
        cli_one_line(capsys, ["report", path], path, key, limit)


def test_channels_are_bounded_after_width_scaling(tmp_path, capsys):
    """c = 60,000 is within the limit; at width 2 it is 120,000 channels, which is not."""
    assert limits.MAX_CHANNELS < 120_000
    text = sub(BASE, ROW, "    - {op: conv, c: 60000, k: 1}")
    path = write(tmp_path, text)
    assert archcalc.evaluate(path, 1).rows[1].output_shape == (60000, 32, 32)
    line = cli_one_line(capsys, ["report", path, "--width", "2"], path, "MAX_CHANNELS", "120,000")
    assert f":{line_of(text, 'c: 60000')}:" in line


def test_formula_on_a_huge_channel_count_is_refused_fast(tmp_path):
    path = write(tmp_path, sub(BASE, ROW, "    - {op: conv, c: 1000000000}"))
    for command in ("formula", "fit"):
        args = [command, path] + (["--max-madds", "300M"] if command == "fit" else [])
        one_line(console(*args), path, "MAX_CHANNELS")


# ---- §2: numbers with huge exponents --------------------------------------------------------------

@pytest.mark.parametrize("option,says", [
    ("--width=1e100000000", "MAX_EXPONENT"), ("--width=1e400", "MAX_EXPONENT"),
    ("--width=101", "MAX_WIDTH"), ("--resolution=1e100000000", "MAX_EXPONENT"),
    ("--resolution=1e400x", "MAX_EXPONENT"), ("--resolution=100001", "MAX_RESOLUTION"),
    ("--resolution=100000x100001", "MAX_RESOLUTION")])
def test_point_options_are_bounded(tmp_path, option, says):
    path = write(tmp_path, BASE)
    one_line(console("report", path, option), None, says)


def test_set_values_are_bounded(tmp_path):
    path = write(tmp_path, BASE)
    one_line(console("report", path, "--set", "ratio=1e100000000"), path, "--set ratio",
             "MAX_EXPONENT")
    one_line(console("report", path, "--set", "g=" + "9" * 5000), path, "--set g",
             "MAX_NUMBER_CHARS")


def test_huge_counts_render_without_float_overflow(tmp_path, capsys):
    """Counts far past float's range format from their exact value; within the limits a count
    reaches 10**26 MAdds: 10**5 channels in and out, a 1000 x 1000 kernel, 100,000^2 pixels."""
    assert human_count(10**400) == "1.00e+400" and human_bytes(10**400) == "1.00e+400 B"
    assert human_count(Fraction(10**400, 3)) == "3.33e+399"
    assert human_count(300774272) == "300.8M"                    # as before, below 10**15
    text = "name: huge\ninput: {channels: 100000, resolution: 100000}\nlayers:\n  body:\n" \
           "    - {op: conv, c: 100000, k: 1000, norm: none, act: linear}\n"
    path = write(tmp_path, text)
    table = archcalc.evaluate(path)
    weights = 10**5 * 10**5 * 1000**2
    assert table.totals["madds"] == weights * 100000**2 == 10**26
    assert table.totals["params"] == weights + 10**5             # a bias: no BN follows
    assert cli.main(["report", path]) == 0
    out = capsys.readouterr().out
    assert "1.00e+26" in out and "1.00e+16" in out


# ---- §2: files that never end, or never start ---------------------------------------------------

@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_endless_devices_are_read_to_the_limit_only(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    one_line(console("report", device), device, "MAX_SPEC_BYTES")


def test_a_fifo_with_no_writer_is_given_up_on(tmp_path):
    """Opening a FIFO that nobody writes to would block forever: archcalc opens it without
    blocking and waits SPEC_READ_SECONDS for data (cut to 1 s here)."""
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)
    proc = console("report", str(fifo), python="import sys; import archcalc.spec.load as L; "
                   "L.SPEC_READ_SECONDS = 1; from archcalc.cli import main; "
                   "sys.exit(main(sys.argv[1:]))")
    one_line(proc, str(fifo), "no data", "SPEC_READ_SECONDS")


def test_a_fifo_with_a_writer_is_read(tmp_path):
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "w") as handle:       # blocks until archcalc opens the FIFO
            handle.write(BASE)
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    proc = console("report", str(fifo), "--format", "json")
    thread.join(timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr
    # stem: 16 x 3 x 3 x 3 weights at 16 x 16 outputs (32, stride 2, same padding)
    assert json.loads(proc.stdout)["totals"]["madds"] == 16 * 3 * 9 * 16 * 16


# ---- §3: values that gave tracebacks ----------------------------------------------------------------

LOOKUP = "    - {op: conv, c: {by: g, 3: 24}}"


@pytest.mark.parametrize("case,old,new,key", [
    ("c-5000-digits", ROW, "    - {op: conv, c: " + "9" * 5000 + "}", "MAX_NUMBER_CHARS"),
    ("c-310-digits", ROW, "    - {op: conv, c: " + "9" * 310 + "}", "MAX_NUMBER_CHARS"),
    ("lookup-by-a-list", ROW, "    - {op: conv, c: {by: [g], 3: 8}}", "layers.body[0].c.by"),
    ("lookup-nan-key", ROW, "    - {op: conv, c: {by: g, .nan: 8}}", "layers.body[0].c"),
    ("lookup-inf-key", ROW, "    - {op: conv, c: {by: g, .inf: 8}}", "layers.body[0].c"),
    ("lookup-ok", ROW, LOOKUP, None),
])
def test_values_that_gave_tracebacks(tmp_path, capsys, case, old, new, key):
    text = sub(BASE, old, new)
    path = write(tmp_path, text)
    if key is None:
        assert archcalc.evaluate(path).rows[1].output_shape[0] == 24
        return
    line = cli_one_line(capsys, ["report", path], path, key)
    assert f":{line_of(text, new.strip()[:30])}:" in line


CELL = """\
cells:
  two:
    params: {w: 2}
    inputs: [x]
    nodes:
      a: {from: x, ops: [relu]}
    output: a
"""


@pytest.mark.parametrize("old,new,key", [
    ("params: {w: 2}", "params: {w: .inf}", "cells.two.params.w"),
    ("params: {w: 2}", "params: {w: .nan}", "cells.two.params.w"),
    ("a: {from: x, ops: [relu]}", "a: {from: [x], ops: [relu]}", "cells.two.nodes.a"),
    ("a: {from: x, ops: [relu]}", "a: {from: y, ops: [relu]}", "cells.two.nodes.a"),
])
def test_cells_that_gave_tracebacks(tmp_path, capsys, old, new, key):
    text = sub(BASE, "layers:\n", sub(CELL, old, new) + "layers:\n") + "    - {op: two}\n"
    path = write(tmp_path, text)
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load_spec(path)          # found when the spec loads, not when it compiles
    assert info.value.key == key and info.value.line == line_of(text, new)
    cli_one_line(capsys, ["report", path], path, key)


def test_cell_instance_argument_inf(tmp_path, capsys):
    text = sub(BASE, "layers:\n", CELL + "layers:\n") + "    - {op: two, w: .inf}\n"
    path = write(tmp_path, text)
    cli_one_line(capsys, ["report", path], path, "layers.body[1].w")


@pytest.mark.parametrize("op,k,padding", [("maxpool", 3, 1), ("maxpool", 3, 2), ("avgpool", 2, 1),
                                          ("avgpool", 2, 2), ("maxpool", 7, 3), ("maxpool", 7, 4)])
def test_pool_padding_follows_pytorch_at_load_time(tmp_path, capsys, op, k, padding):
    """PyTorch's max and average pooling refuse a padding above half the kernel; archcalc
    refuses the same specs when they load (also inside cells)."""
    torch = pytest.importorskip("torch")
    layer = (torch.nn.MaxPool2d if op == "maxpool" else torch.nn.AvgPool2d)(k, 1, padding)
    try:
        layer(torch.zeros(1, 1, 16, 16))
        torch_ok = True
    except RuntimeError:
        torch_ok = False
    assert torch_ok == (padding <= k // 2)          # the rule, derived from torch itself
    row = f"    - {{op: {op}, k: {k}, s: 1, padding: {padding}}}"
    for text in (sub(BASE, ROW, ROW + "\n" + row),
                 sub(BASE, "layers:\n", sub(CELL, "ops: [relu]", f"ops: [{row.strip()[2:]}]") +
                     "layers:\n") + "    - {op: two}\n"):
        path = write(tmp_path, text)
        if torch_ok:
            assert archcalc.load_spec(path)
            continue
        with pytest.raises(archcalc.SpecError) as info:
            archcalc.load_spec(path)
        assert info.value.key.endswith(".padding") and info.value.line == line_of(text, "padding:")
        cli_one_line(capsys, ["report", path], path, "padding", "PyTorch")


# ---- §4: YAML 1.2 core schema ---------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("1:30", "1:30"), ("010", 10), ("0o17", 15), ("0x1F", 31), ("-7", -7), ("+7", 7),
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"),
    ("true", True), ("False", False), ("TRUE", True), ("~", None), ("null", None), ("", None),
    ("1e3", 1000.0), ("0.75", 0.75), (".5", 0.5), ("1_000", "1_000"), ("0b101", "0b101"),
    ("2001-12-14", "2001-12-14"), ("-.inf", float("-inf")), (".Inf", float("inf"))])
def test_scalars_resolve_by_yaml_1_2_core_schema(text, value):
    loaded = load_yaml(f"a: {text}\n", "s.yaml")["a"]
    assert loaded == value and type(loaded) is type(value)


def test_nan_is_a_float():
    import math
    assert math.isnan(load_yaml("a: .nan", "s.yaml")["a"])


def test_yaml_1_1_readings_no_longer_change_a_spec(tmp_path, capsys):
    """`c: 010` is 10 channels (YAML 1.1: octal 8); `c: 1:30` is text (1.1: 90), `bias: yes`
    is text (1.1: true), so both are errors."""
    path = write(tmp_path, sub(BASE, ROW, "    - {op: conv, c: 010, k: 1, scale: none}"))
    assert archcalc.evaluate(path).rows[1].output_shape == (10, 32, 32)
    for new, says in [("{op: conv, c: 1:30}", "'1:30'"), ("{op: conv, c: 8, bias: yes}", "'yes'")]:
        path = write(tmp_path, sub(BASE, ROW, "    - " + new))
        cli_one_line(capsys, ["report", path], path, "layers.body[0]", says)


# ---- §7: non-square inputs --------------------------------------------------------------------------

RECT = """\
name: rect
input: {channels: 3, resolution: [224, 320]}
layers:
  body:
    - {op: conv, c: 32, k: 3, s: 2, scale: none, norm: none, act: linear}
"""


def test_a_non_square_input_by_hand(tmp_path, capsys):
    """A 3x3/2 conv with 32 outputs on 3 x 224 x 320 ('same' padding): 112 x 160 outputs, each
    32 * 3 * 9 multiply-adds; memory: the input and the output tensor, 4 bytes each."""
    path = write(tmp_path, RECT)
    table = archcalc.evaluate(path)
    assert table.rows[0].output_shape == (3, 224, 320)
    assert table.rows[1].output_shape == (32, 112, 160)
    assert table.totals["madds"] == 32 * 3 * 9 * 112 * 160
    assert table.totals["activation_bytes"] == 4 * (3 * 224 * 320 + 32 * 112 * 160)
    assert str(table.resolution) == "224x320" and tuple(table.resolution) == (224, 320)
    assert cli.main(["report", path, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["resolution"] == [224, 320]
    assert cli.main(["report", path]) == 0
    assert re.search(r"point +width 1, resolution 224x320\n", capsys.readouterr().out)
    half = archcalc.evaluate(path, 1, "0.5x")                   # 112 x 160 -> 56 x 80
    assert half.totals["madds"] == 32 * 3 * 9 * 56 * 80 and str(half.resolution) == "112x160"


def test_a_non_square_input_agrees_with_pytorch(tmp_path, capsys):
    """verify builds the network in PyTorch and counts it on a 1 x 3 x 224 x 320 input."""
    pytest.importorskip("torch")
    path = write(tmp_path, RECT)
    assert cli.main(["verify", path]) == 0
    out = capsys.readouterr().out
    assert f"torch {32 * 3 * 9 * 112 * 160:,}" in out and "resolution 224x320" in out


def test_resolution_hxw_on_a_square_spec(tmp_path, capsys):
    square = write(tmp_path, sub(RECT, "[224, 320]", "224"))
    table = archcalc.evaluate(square, 1, "224x320")
    assert table.totals["madds"] == 32 * 3 * 9 * 112 * 160
    outputs = []
    for res in ("224", "224x224"):                               # square prints as it always has
        assert cli.main(["report", square, "--resolution", res]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and "resolution 224\n" in outputs[0]


def test_closed_forms_need_a_square_input(tmp_path, capsys):
    path = write(tmp_path, RECT)
    cli_one_line(capsys, ["formula", path], path, "square")
    square = write(tmp_path, sub(RECT, "[224, 320]", "224"), "square.yaml")
    with pytest.raises(archcalc.OptionError, match="not square"):
        archcalc.closed_form(square).at(1, "224x320")


# ---- the limits are documented in one place ----------------------------------------------------

def test_every_limit_is_in_the_docs_table():
    docs = (REPO / "docs" / "spec.md").read_text()
    table = docs[docs.index("## Limits"):]
    table = table[:table.index("\n## ", 5)]
    names = [n for n in dir(limits) if n.isupper()]
    assert len(names) >= 15
    for name in names:
        row = next((line for line in table.splitlines() if f"`{name}`" in line), None)
        assert row is not None, f"{name} is not in docs/spec.md's Limits table"
        value = getattr(limits, name)
        assert f"{value:,}" in row, (name, value, row)


def test_the_documented_default_keys_are_the_allowed_ones():
    """docs/spec.md's `defaults` section lists exactly the keys a `defaults:` mapping accepts
    (archcalc.spec.rows.DEFAULT_KEYS, derived from the row schema)."""
    import re

    from archcalc.spec.rows import DEFAULT_KEYS
    docs = (REPO / "docs" / "spec.md").read_text()
    section = docs[docs.index("## `defaults`"):]
    listed = section[section.index("`when`:") + 7:section.index("Any other key is")]
    listed = re.sub(r"\([^)]*\)", "", listed)          # "(of `l2norm` rows)": a remark
    assert sorted(re.findall(r"`(\w+)`", listed)) == sorted(DEFAULT_KEYS)
