"""The dashboard against a hostile or unlucky client (issue 10, section 5 and the dashboard parts
of sections 3 and 7), without a browser: bounded pools, caches and sandbox children, a busy
server, spec files that do not load. Crafted requests, the Host check and the serving limits:
tests/test_hostile_dashboard_requests.py.

Time bounds here are guards against hangs, generous for a busy 2-core machine, never speed
checks (benchmarks/dashboard_load.py measures latency under load).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

pytest.importorskip("dash")

import archcalc                                   # noqa: E402
from archcalc import limits                       # noqa: E402
from dashboard import app as dash_app             # noqa: E402
from dashboard import bounded, sandbox                 # noqa: E402
from dashboard.layout import designer as designer_tab   # noqa: E402
from dashboard.layout import frontier as frontier_tab   # noqa: E402
from dashboard.views import designer, formulas     # noqa: E402
from dashboard.workspace import Workspace         # noqa: E402

SPECS = REPO / "specs"
V1 = SPECS / "mobilenet_v1.yaml"
MINI = """\
name: mini
input: {channels: 3, resolution: 64}
params:
  num_classes: {default: 10, min: 1}
layers:
  stem:
    - {op: conv, c: 16, k: 3, s: 2, act: relu6}
  body:
    - {op: bottleneck, t: 6, c: 16, n: 2, s: 1}
  head:
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: $num_classes}
"""
NUM_CLASSES = [{"type": "param", "name": "num_classes"}]


@pytest.fixture(scope="module")
def ws():
    return Workspace(SPECS, db_path=REPO / "no-such-results.sqlite", wait_for_compile=True)


def reference(path, width, resolution, sets=None, convention="paper", dtype="fp32"):
    return archcalc.evaluate(str(path), width, resolution, convention=convention, dtype=dtype,
                             sets=sets)


class Recorder:
    """The real sandbox, with every task it runs recorded."""

    def __init__(self):
        self.tasks: list = []
        self._lock = threading.Lock()

    def run(self, task, payload, timeout):
        with self._lock:
            self.tasks.append((task, payload.get("path"), dict(payload.get("sets") or {})))
        return sandbox.run(task, payload, timeout)


# == 1. one client must not starve the others =====================================================
def test_the_pool_runs_a_fixed_number_of_jobs_and_refuses_beyond_its_queue():
    pool = bounded.WorkerPool("test", workers=1, queue=2, max_wait=120, admit_wait=0)
    gate, started = threading.Event(), threading.Event()

    def job(i):
        def run():
            started.set()
            assert gate.wait(120)
            return i
        return run

    futures = [pool.submit(f"k{i}", job(i)) for i in range(3)]     # 1 running + 2 waiting
    assert started.wait(120)
    with pytest.raises(bounded.Busy, match="busy"):
        pool.submit("k3", job(3))
    assert pool.submit("k1", job(99)) is futures[1]                 # the same job, shared
    assert pool.try_submit("k4", job(4)) is None
    gate.set()
    assert [f.result(timeout=120) for f in futures] == [0, 1, 2]
    assert pool.stats()["refused"] == 1 and pool.stats()["peak"] == 3
    # a job that calls its own pool runs inline instead of waiting for itself
    assert pool.call(None, lambda: pool.call(None, lambda: 7)) == 7


def test_a_full_pool_waits_a_moment_for_a_place_then_answers_busy():
    pool = bounded.WorkerPool("test", workers=1, queue=0, max_wait=120, admit_wait=0.2)
    gate = threading.Event()
    pool.submit(None, lambda: gate.wait(120))
    t0 = time.monotonic()
    with pytest.raises(bounded.Busy):
        pool.submit(None, lambda: 1)
    assert time.monotonic() - t0 >= 0.2          # it waited (a flood is slowed to this pace)
    gate.set()
    assert pool.call(None, lambda: 5, wait=120) == 5    # room again


def test_caches_are_lru_bounded_by_count_and_weight():
    cache = bounded.LRU(3, weigh=len, max_weight=10)
    for k in "abc":
        cache[k] = "xx"
    cache.get("a")                     # a is now the most recent
    cache["d"] = "xx"
    assert list(cache) == ["c", "a", "d"]
    cache["e"] = "x" * 9               # weight 2 + 2 + 9 > 10: the oldest go first
    assert set(cache) == {"e"} and cache.weight == 9
    del cache["e"]
    assert len(cache) == 0 and cache.weight == 0
    ws_ = Workspace(SPECS)
    assert ws_.table_cache.max_weight == limits.DASHBOARD_CACHE_TABLE_ROWS
    assert ws_.evaluator_cache.maxsize == limits.DASHBOARD_CACHE_EVALUATORS


def test_new_parameter_values_start_no_threads_and_are_never_lambdified():
    """20 designer requests with new values of a zoo spec's parameter: a bounded number of
    threads (the pools'), no lambdified evaluator, one sandbox check each, and the numbers
    are archcalc's at those values."""
    w = Workspace(SPECS)                  # as the server: evaluators built in background
    w.sandbox = Recorder()
    before = threading.active_count()
    for n in range(20):
        p = designer.designer_payload(w, "file:mobilenet_v1.yaml", 0.5, 128,
                                  sets={"num_classes": str(11 + n)})
        assert p["error"] is None, p["error"]
        ref = reference(V1, "0.5", 128, sets={"num_classes": str(11 + n)})
        assert p["madds_exact"] == ref.totals["madds"]
    grown = threading.active_count() - before
    assert grown <= limits.DASHBOARD_WORKERS + limits.DASHBOARD_MAX_CHILDREN, grown
    assert len(w.evaluator_cache) == 0
    checks = [t for t in w.sandbox.tasks if t[0] == "check"]
    assert len(checks) == 20 and all(path == "mobilenet_v1.yaml" for _, path, _ in checks)
    # the zoo's own values (a declared choice, a published point) stay on the fast path
    assert w.trusted("file:shufflenet_v1.yaml", {"groups": "8"})
    assert w.trusted("file:mobilenet_v3_small.yaml", {"minimalistic": "true"})
    assert not w.trusted("file:mobilenet_v1.yaml", {"num_classes": "11"})
    assert not w.trusted("user:abc")


def test_closed_forms_are_computed_in_the_sandbox_never_in_the_server(ws, monkeypatch):
    w = Workspace(SPECS)
    w.sandbox = Recorder()
    monkeypatch.setattr(formulas, "compute_formulas", lambda *a, **k: pytest.fail("in the server"))
    out = formulas.formula_text(w, "file:mobilenet_v1.yaml", "tf-slim", "fp16")
    assert "madds =" in out["text"] and "mobilenet_v1.yaml" in out["text"]
    assert str(SPECS.resolve()) not in out["text"]
    assert w.sandbox.tasks == [("forms", "mobilenet_v1.yaml", {})]
    assert formulas.formula_text(w, "file:mobilenet_v1.yaml", "tf-slim", "fp16") is out   # once


def test_sandbox_children_are_limited():
    code = ("import json, os, resource\n"
            "from dashboard import sandbox\n"
            "sandbox._limit(5)\n"
            "print(json.dumps([resource.getrlimit(resource.RLIMIT_AS),\n"
            "                  resource.getrlimit(resource.RLIMIT_CPU), os.nice(0)]))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    (as_soft, as_hard), (cpu_soft, cpu_hard), nice = json.loads(out.stdout)
    assert as_soft == as_hard == limits.DASHBOARD_CHILD_MEMORY_BYTES
    assert cpu_soft == 6 and cpu_hard == 7
    assert nice >= limits.DASHBOARD_CHILD_NICE


def test_a_spec_that_eats_memory_stops_at_the_childs_cap():
    """A hundred million blocks: refused in the child (at load, archcalc.limits.MAX_REPEATS,
    or at its address-space cap), and the child's peak RSS stays under the cap."""
    code = ("import json, resource, sys\n"
            "from dashboard import sandbox\n"
            "text = open(sys.argv[1]).read().replace('n: 4', 'n: 100000000', 1)\n"
            "out = sandbox.run('check', {'text': text, 'path': '<huge.yaml>'}, timeout=100)\n"
            "print(json.dumps([out, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n")
    out = subprocess.run([sys.executable, "-c", code, str(SPECS / "mobilenet_v2.yaml")],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result, maxrss_kb = json.loads(out.stdout)
    assert not result["ok"] and ("memory" in result["message"]
                                 or "MAX_REPEATS" in result["message"]), result
    assert result["message"].startswith("<huge.yaml>")
    assert maxrss_kb * 1024 <= limits.DASHBOARD_CHILD_MEMORY_BYTES


def test_a_child_cannot_allocate_past_its_address_space_cap():
    """The cap itself: a process under the sandbox's limits cannot take 1 GB."""
    code = ("from dashboard import sandbox\n"
            "sandbox._limit(30)\n"
            "try:\n"
            "    x = bytearray(1 << 30)\n"
            "except MemoryError:\n"
            "    print('refused')\n"
            "else:\n"
            "    print('allocated')\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    assert out.stdout.strip() == "refused", (out.stdout, out.stderr)
    assert limits.DASHBOARD_CHILD_MEMORY_BYTES < 1 << 30


def test_concurrent_checks_run_at_most_the_cap_of_children_and_the_rest_are_told_busy(ws):
    w = Workspace(SPECS)
    w.children.admit_wait = 0
    gate, lock = threading.Event(), threading.Lock()
    running, peak = [0], [0]

    class Slow:
        @staticmethod
        def run(task, payload, timeout):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            gate.wait(120)
            with lock:
                running[0] -= 1
            return {"ok": False, "message": f"{payload['path']}: checked"}

    w.sandbox = Slow
    results: list = []
    threads = [threading.Thread(target=lambda i=i: results.append(
        w.check_text(MINI + f"# {i}\n", f"m{i}.yaml"))) for i in range(30)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(results) < 30 - limits.DASHBOARD_MAX_CHILDREN - limits.DASHBOARD_CHILD_QUEUE:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join(120)
    assert peak[0] == limits.DASHBOARD_MAX_CHILDREN
    busy = [r for r in results if "server is busy" in r.message]
    done = [r for r in results if r.message.endswith(": checked")]
    assert len(busy) == 30 - limits.DASHBOARD_MAX_CHILDREN - limits.DASHBOARD_CHILD_QUEUE
    assert len(done) == limits.DASHBOARD_MAX_CHILDREN + limits.DASHBOARD_CHILD_QUEUE
    # a busy answer is not remembered: the same text is checked when there is room
    again = w.check_text(MINI + "# 0\n", "m0.yaml")
    assert again.message.endswith(": checked")


def test_a_busy_server_says_so_in_every_view(monkeypatch):
    w = Workspace(SPECS)
    for pool in (w.work, w.children):
        monkeypatch.setattr(pool, "submit", lambda *a, **k: (_ for _ in ()).throw(
            bounded.Busy("the server is busy (test); try again in a few seconds")))
        monkeypatch.setattr(pool, "try_submit", lambda *a, **k: None)
    out = designer_tab.designer_view(w, "file:mobilenet_v1.yaml", 0.5, 128, "paper", "fp32",
                                 ["77"], NUM_CLASSES)
    banner = out[4]
    assert banner.children[0].children == "The server is busy. "
    forms = designer_tab.forms_view(w, "file:mobilenet_v1.yaml")
    assert "server is busy" in forms.children
    result = w.check_text(MINI, "mini.yaml")
    assert not result.ok and "server is busy" in result.message and w.user_options() == []
    fig, summary, _ = frontier_tab.frontier_view(w)
    assert "server is busy" in summary.children
    # nothing busy is remembered
    assert len(w.formula_cache) == 0 and len(w.check_cache) == 0 and len(w.table_cache) == 0


# == 2. a spec of --specs that does not load ======================================================
def test_specs_that_do_not_load_are_skipped_logged_and_shown(tmp_path, monkeypatch, capsys):
    shutil.copy(V1, tmp_path / "mobilenet_v1.yaml")
    (tmp_path / "broken.yaml").write_text("name: broken\nlayers: [\n")
    (tmp_path / "crashes.yaml").write_text(V1.read_text())
    real = archcalc.load_spec

    def load_spec(path, *a, **k):
        if Path(path).name == "crashes.yaml":
            raise RuntimeError(f"a bug while loading {path}")
        return real(path, *a, **k)

    monkeypatch.setattr(archcalc, "load_spec", load_spec)
    w = Workspace(tmp_path)                  # the server starts
    assert set(w.catalog.entries) == {"mobilenet_v1.yaml"}
    assert set(w.catalog.errors) == {"broken.yaml", "crashes.yaml"}
    assert "RuntimeError" in w.catalog.errors["crashes.yaml"]
    assert all(str(tmp_path) not in m for m in w.catalog.errors.values())
    err = capsys.readouterr().err
    assert "skipped a spec that does not load: broken.yaml" in err
    assert "skipped a spec that does not load: crashes.yaml" in err
    app = dash_app.create_app(tmp_path, workspace=w)
    layout = app.server.test_client().get("/_dash-layout").get_data(as_text=True)
    assert "catalog-skipped" in layout and "broken.yaml" in layout and "crashes.yaml" in layout
    assert str(tmp_path) not in layout
    good = dash_app.create_app(SPECS, workspace=Workspace(SPECS))
    assert "catalog-skipped" not in good.server.test_client().get("/_dash-layout").get_data(
        as_text=True)


