"""Timing of hostile inputs (issue 10): how fast archcalc refuses them, and how compile time
grows with a chain of nested cells (it must be linear in the compiled graph).

Part 1, in this process (time.perf_counter, best of --repeats): load + compile a chain of N
cells (cell c_i applies a ReLU, then c_{i-1}; the one row uses c_{N-1}; N + 2 ops), for
N = 50 .. 800, with the time per op and the ratio to the smallest N; and loading the spec
of 26 doubling cells that no row uses (2**25 instances if expanded).

Part 2, fresh processes (wall time of the whole `archcalc` process, start to exit, best of
--repeats): each hostile input of tests/test_hostile_specs.py that used to hang, with the
exit status and the one line archcalc prints. A process start costs about half a second
here (interpreter and imports), so a refusal's own cost is the figure minus that.

    .venv/bin/python benchmarks/hostile_inputs.py
    .venv/bin/python benchmarks/hostile_inputs.py --repeats 5 --chains 100,200,400,800,1000
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARCHCALC = Path(sys.executable).parent / "archcalc"


def chain(n: int) -> str:
    cells = []
    for i in range(n):
        inner = f"{{op: c{i - 1}}}" if i else "relu"
        cells.append(f"  c{i}:\n    inputs: [x]\n    nodes:\n      a: {{from: x, ops: [relu, {inner}]}}\n"
                     f"    output: a\n")
    return ("name: chain\ninput: {channels: 3, resolution: 8}\ncells:\n" + "".join(cells) +
            f"layers:\n  body:\n    - {{op: c{n - 1}}}\n")


def doubling(levels: int, used: bool) -> str:
    out = ["name: dbl\ninput: {channels: 3, resolution: 8}\ncells:\n",
           "  d0:\n    inputs: [x]\n    nodes:\n      a: {from: x, ops: [relu]}\n    output: a\n"]
    for i in range(1, levels + 1):
        out.append(f"  d{i}:\n    inputs: [x]\n    nodes:\n"
                   f"      a: {{from: x, ops: [{{op: d{i - 1}}}, {{op: d{i - 1}}}]}}\n    output: a\n")
    out.append("layers:\n  body:\n    - " + (f"{{op: d{levels}}}" if used else "relu") + "\n")
    return "".join(out)


def bomb() -> str:
    levels = ["[x, x, x, x, x, x, x, x, x]"] + \
        ["[" + ", ".join([f"*b{i - 1}"] * 9) + "]" for i in range(1, 9)]
    anchors = ", ".join(f"&b{i} {v}" for i, v in enumerate(levels))
    return ("name: bomb\ncells:\n  holder:\n    inputs: [x]\n    nodes: {a: x}\n    output: a\n"
            f"    doc: [{anchors}]\nlayers:\n  body:\n    - {{op: conv, c: *b8}}\n")


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def part1(tmp: Path, sizes, repeats: int) -> None:
    import archcalc
    print("chain of N nested cells: load + compile in this process (best of %d)" % repeats)
    print(f"{'N':>6} {'ops':>6} {'load s':>8} {'compile s':>10} {'us/op':>8} {'ratio':>7}")
    first = None
    for n in sizes:
        path = tmp / f"chain{n}.yaml"
        path.write_text(chain(n))
        load = best(lambda: archcalc.load_spec(str(path)), repeats)
        spec = archcalc.load_spec(str(path))
        comp = best(lambda: archcalc.compile_graph(spec), repeats)
        ops = len(archcalc.compile_graph(spec))
        assert ops == n + 2, (n, ops)
        total = load + comp
        first = first or (total / ops)
        print(f"{n:>6} {ops:>6} {load:>8.3f} {comp:>10.4f} {1e6 * total / ops:>8.0f} "
              f"{total / ops / first:>7.2f}")
    path = tmp / "doubling.yaml"
    path.write_text(doubling(25, used=False))
    t = best(lambda: archcalc.load_spec(str(path)), repeats)
    print(f"26 doubling cells no row uses (2**25 instances if expanded): load {t:.3f} s")


def part2(tmp: Path, repeats: int) -> None:
    fifo = tmp / "nowriter.fifo"
    os.mkfifo(fifo)
    files = {"deep": "name: x\nlayers: " + "[" * 5000 + "]" * 5000 + "\n", "bomb": bomb(),
             "repeats": "name: r\nlayers:\n  a:\n    - {op: relu, n: 1000000000}\n",
             "graph": "name: g\ninput: {channels: 3, resolution: 8}\nlayers:\n  a:\n" +
                      "    - {op: relu, n: 1000}\n" * 60,
             "dbl_used": doubling(25, used=True), "chain1200": chain(1200),
             "c1e9": "name: c\nlayers:\n  a:\n    - {op: conv, c: 1000000000}\n",
             "base": "name: b\ninput: {channels: 3, resolution: 32}\nparams:\n  ratio: {default: 0.5}\n"
                     "layers:\n  a:\n    - {op: conv, c: 16, k: 3, s: 2}\n"}
    for name, text in files.items():
        (tmp / f"{name}.yaml").write_text(text)
    deep_py = ("import sys; sys.setrecursionlimit(5000); from archcalc.cli import main; "
               "sys.exit(main(sys.argv[1:]))")
    cases = [
        ("5,000 brackets, recursion limit 5000", [sys.executable, "-c", deep_py, "report",
                                                   str(tmp / "deep.yaml")]),
        ("alias bomb used as a value (9**9)", ["report", str(tmp / "bomb.yaml")]),
        ("{op: relu, n: 1000000000}", ["report", str(tmp / "repeats.yaml")]),
        ("60 x {op: relu, n: 1000}", ["report", str(tmp / "graph.yaml")]),
        ("doubling cells, 25 levels, used", ["report", str(tmp / "dbl_used.yaml")]),
        ("1200 nested cells", ["report", str(tmp / "chain1200.yaml")]),
        ("formula, c: 1000000000", ["formula", str(tmp / "c1e9.yaml")]),
        ("--width 1e100000000", ["report", str(tmp / "base.yaml"), "--width=1e100000000"]),
        ("--resolution 1e100000000", ["report", str(tmp / "base.yaml"),
                                      "--resolution=1e100000000"]),
        ("--set ratio=1e100000000", ["report", str(tmp / "base.yaml"), "--set",
                                     "ratio=1e100000000"]),
        ("/dev/zero", ["report", "/dev/zero"]),
        ("a FIFO with no writer (waits SPEC_READ_SECONDS)", ["report", str(fifo)]),
    ]
    print(f"\nfresh processes: wall time, start to exit (best of {repeats})")
    for label, args in cases:
        cmd = args if args[0] == sys.executable else [str(ARCHCALC), *args]
        times, proc = [], None
        for _ in range(1 if "FIFO" in label else repeats):
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            times.append(time.perf_counter() - start)
        line = (proc.stderr.strip().splitlines() or [""])[-1]
        line = line.replace(str(tmp) + "/", "")
        print(f"{min(times):7.2f} s  exit {proc.returncode}  {label}\n           {line[:150]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chains", default="50,100,200,400,800")
    args = ap.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        part1(Path(tmp), [int(n) for n in args.chains.split(",")], args.repeats)
        part2(Path(tmp), args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
