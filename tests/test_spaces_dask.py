"""`archcalc space --workers 2`: a Dask LocalCluster of 2 worker processes (one thread each)
gives the same counts, front and Parquet rows as the in-process run. Small spaces and
generous timeouts: it must pass on a busy 2-core machine (a guard against hangs, not a speed
check; benchmarks/space.py measures speed)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import archcalc

pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

ARCHCALC = Path(sys.executable).parent / "archcalc"
REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 600
SPACE = REPO / "specs" / "spaces" / "mnasnet_space.yaml"
# a slice of the MnasNet space: blocks 3 and 4 choose (filter size f4 changes block 5's input)
FIXED = [f"{k}{i}={v}" for i in (1, 2, 5, 6, 7) for k, v in
         (("op", 6), ("k", 3), ("se", 0), ("skip", "bottleneck"), ("f", 1))] + \
        [f"n{i}={n}" for i, n in ((1, 1), (2, 2), (5, 3), (6, 3), (7, 1))]


def run(*args) -> dict:
    sets = [a for kv in FIXED for a in ("--set", kv)]
    proc = subprocess.run([str(ARCHCALC), "space", str(SPACE), *sets, *args, "--format", "json"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("seconds", "runner", "out"):
        out.pop(key)
    return out


def rows(folder: Path):
    return pd.read_parquet(folder).sort_values("index").reset_index(drop=True)


@pytest.mark.parametrize("mode", [["--all", "--partitions", "5"],
                                  ["--sample", "3000", "--seed", "11", "--partitions", "4"]])
def test_two_worker_processes_give_the_in_process_results(tmp_path, mode):
    budget = ["--max-madds", "400M", "--max-memory", "20MB", "--pareto", "madds,params",
              "--maximize", "params"]
    here = run(*mode, *budget, "--out", str(tmp_path / "here"))
    there = run(*mode, *budget, "--out", str(tmp_path / "there"), "--workers", "2")
    assert here["size"] == 216 ** 2
    assert here == there
    assert here["front"] and here["partitions"] >= 4
    assert 0 < here["in_budget"] < here["evaluated"]
    pd.testing.assert_frame_equal(rows(tmp_path / "here"), rows(tmp_path / "there"))
    assert len(rows(tmp_path / "here")) == here["in_budget"]


def test_an_unreachable_scheduler_is_one_line(monkeypatch):
    from archcalc.spaces import cluster, declare
    from archcalc.spaces.run import Options, run_space
    monkeypatch.setattr(cluster, "SPACE_CONNECT_SECONDS", 3)
    space = declare(SPACE, dict(kv.split("=") for kv in FIXED))
    with pytest.raises(archcalc.OptionError, match="--scheduler tcp://127.0.0.1:9: cannot connect"):
        run_space(space, Options(sample=10, scheduler="tcp://127.0.0.1:9"))
