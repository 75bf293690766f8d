"""The golden outputs of `archcalc report` and `archcalc compare` (tests/test_golden.py).

Each case is a command line; its expected standard output is tests/golden/<name>.txt. The
commands run in-process through archcalc.cli.main, from the repository root, with
COLUMNS=80 (the width of text output when it is not a terminal) and archcalc's version
pinned to GOLDEN_VERSION (CSV comment lines and JSON carry the version; a release must not
change every golden file).

The files are regenerated on purpose, never by the test, after a change that is meant to
change the output (review the diff before committing it):

    python tests/golden/regenerate.py            # rewrite every file
    python tests/golden/regenerate.py --check    # list the files that differ (exit 1 if any)
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GOLDEN_VERSION = "0.0.0-golden"
COLUMNS = "80"

FORMATS = ("table", "markdown", "csv")
MV2 = "specs/mobilenet_v2.yaml"

# (name, argv without the format): report at the README's points, other families, a
# non-square input; compare as README.md, docs/zoo.md and docs/memory.md run it
_COMMANDS = [
    ("report_mobilenet_v2", ["report", MV2]),
    ("report_mobilenet_v2_0.75_160", ["report", MV2, "--width", "0.75", "--resolution", "160"]),
    ("report_mobilenet_v2_224x320", ["report", MV2, "--resolution", "224x320"]),
    ("report_shufflenet_v1", ["report", "specs/shufflenet_v1.yaml"]),
    ("report_nasnet_a_mobile", ["report", "specs/nasnet_a_mobile.yaml"]),
    ("compare_readme", ["compare", "specs/mobilenet_v1.yaml", MV2, "specs/shufflenet_v1.yaml@2.0",
                        "specs/nasnet_a_mobile.yaml", "--set", "groups=3"]),
    ("compare_table4", ["compare", "specs/mobilenet_v1.yaml", MV2, "specs/shufflenet_v1.yaml@1.5",
                        "specs/shufflenet_v1.yaml@2.0", "specs/nasnet_a_mobile.yaml",
                        "specs/mobilenet_v2.yaml@1.4", "--set", "groups=3"]),
    ("compare_memory_fp16", ["compare", MV2, "--memory-by-resolution", "--dtype", "fp16"]),
]

# name -> argv, one case per command and format
CASES = {f"{name}.{fmt}": [*argv, "--format", fmt] for name, argv in _COMMANDS for fmt in FORMATS}


def path_of(case: str) -> Path:
    return HERE / f"{case}.txt"


def run(argv: list[str]) -> str:
    """Standard output of `archcalc ARGV` run from the repository root with COLUMNS=80 and the
    pinned version; a failing command (exit status not 0) raises AssertionError."""
    import archcalc
    from archcalc.cli import main
    out, err = io.StringIO(), io.StringIO()
    saved = (os.getcwd(), os.environ.get("COLUMNS"), archcalc.__version__)
    os.chdir(ROOT)
    os.environ["COLUMNS"] = COLUMNS
    archcalc.__version__ = GOLDEN_VERSION
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
    finally:
        os.chdir(saved[0])
        if saved[1] is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved[1]
        archcalc.__version__ = saved[2]
    if status != 0:
        raise AssertionError(f"archcalc {' '.join(argv)} exited {status}: {err.getvalue()}")
    return out.getvalue()


def main(args: list[str]) -> int:
    check = "--check" in args
    stale = sorted(p.name for p in HERE.glob("*.txt") if p.stem not in CASES)
    differ = []
    for case, argv in CASES.items():
        text = run(argv)
        path = path_of(case)
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old != text:
            differ.append(path.name)
            if not check:
                path.write_text(text, encoding="utf-8")
    for name in stale:
        if not check:
            (HERE / name).unlink()
    verb = "differ" if check else "rewritten"
    print(f"{len(CASES)} golden files, {len(differ)} {verb}" + (f": {', '.join(differ)}" if differ
                                                                 else ""))
    if stale:
        print(f"{'stale' if check else 'removed'} (no case): {', '.join(stale)}")
    return 1 if check and (differ or stale) else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
