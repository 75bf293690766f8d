"""Load test of the dashboard server: one client must not be able to starve the others.

Starts `python -m dashboard` (a subprocess on 127.0.0.1, the zoo's specs, no results
database), then:

1. baseline: a normal client moves the designer's width slider (MobileNetV2, resolution 224,
   the width stepping through the slider's 0.05 grid) for --moves designer callback requests,
   alone;
2. under attack: the same client again while --hostile threads (50) keep one hostile request
   each in flight, back to back (a new one as soon as the last is answered), cycling through
   - a slow spec pasted into the editor (`n: 100000000` blocks, or brackets nested 5,000
     deep; a fresh comment each time so that no check is reused),
   - a designer request with a new parameter value (`num_classes` = a number never sent
     before, so a sandbox check and an uncached point each time),
   - a closed-form request (a spec x convention x dtype x new `num_classes`, never cached).

Every request is a POST to /_dash-update-component built from the app's own callback map
(/_dash-dependencies), as the browser sends it. Reported: the normal client's latency
(p50 / p95 / max), what the hostile requests got (answered, "busy", errors), the server's
peak RSS alone (VmHWM) and with its sandbox children (sampled every 0.1 s), its peak thread
count, and how many sandbox children ran at once. Targets (issue 10): p95 under 300 ms under
attack, server RSS under 1 GB.

    nice -n 10 .venv/bin/python benchmarks/dashboard_load.py
    nice -n 10 .venv/bin/python benchmarks/dashboard_load.py --moves 300 --hostile 50 --strict
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
V2_TEXT = (REPO / "specs" / "mobilenet_v2.yaml").read_text()
SLOW_SPECS = (V2_TEXT.replace("n: 4", "n: 100000000", 1),
              "name: deep\nlayers: " + "[" * 5000 + "]" * 5000 + "\n")


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- process memory ----------------------------------------------------------------------------
def _status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "Threads"):
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(x) for x in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            continue
    return out


class Sampler(threading.Thread):
    """Peak RSS of the server alone and with its children; peak threads and children."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.stop = pid, threading.Event()
        self.peak_tree_kb = self.peak_threads = self.peak_children = 0

    def run(self):
        while not self.stop.is_set():
            st = _status(self.pid)
            kids = _descendants(self.pid)
            tree = st.get("VmRSS", 0) + sum(_status(k).get("VmRSS", 0) for k in kids)
            self.peak_tree_kb = max(self.peak_tree_kb, tree)
            self.peak_threads = max(self.peak_threads, st.get("Threads", 0))
            self.peak_children = max(self.peak_children, len(kids))
            time.sleep(0.1)


# -- Dash requests -----------------------------------------------------------------------------
class Client:
    def __init__(self, port: int, deps: list | None = None):
        self.port = port
        self.deps = deps

    def request(self, method: str, path: str, body=None, timeout: float = 600.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Host": f"127.0.0.1:{self.port}"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def dep(self, output_part: str) -> dict:
        return [d for d in self.deps if output_part in d["output"]][0]

    def callback(self, output_part: str, values: dict, params: dict | None = None,
                 changed: str | None = None):
        """POST one callback: `values` maps "id.property" to a value; `params` the designer's
        {"type": "param", "name": ALL} inputs (name -> value)."""
        dep = self.dep(output_part)
        params = params or {}

        def one(item, state=False):
            if item["id"].startswith("{"):       # the pattern-matching parameter controls
                return [{"id": {"name": n, "type": "param"}, "property": item["property"],
                         "value": {"name": n, "type": "param"} if state else v}
                        for n, v in params.items()]
            key = f"{item['id']}.{item['property']}"
            return {"id": item["id"], "property": item["property"], "value": values.get(key)}

        out = dep["output"]
        outputs = ([{"id": o.split(".")[0], "property": o.split(".")[1]}
                    for o in out.strip(".").split("...")] if out.startswith("..") else
                   {"id": out.split(".")[0], "property": out.split(".")[1]})
        body = {"output": out, "outputs": outputs,
                "inputs": [one(i) for i in dep["inputs"]],
                "state": [one(s, True) for s in dep["state"]],
                "changedPropIds": [changed or next(iter(values))]}
        return self.request("POST", "/_dash-update-component", body)


def designer_move(client: Client, width: float, sets=None, spec="file:mobilenet_v2.yaml"):
    return client.callback("designer-cards.children", {
        "designer-spec.value": spec, "designer-width.value": width,
        "designer-resolution.value": 224, "designer-convention.value": "paper",
        "designer-dtype.value": "fp32"}, params=sets, changed="designer-width.value")


def normal_client(client: Client, moves: int, think: float) -> tuple[list, int]:
    widths = [round(0.1 + 0.05 * i, 2) for i in range(39)]
    times, errors = [], 0
    for i in range(moves):
        w = widths[(i * 7) % len(widths)]
        t0 = time.perf_counter()
        status, text = designer_move(client, w)
        times.append(time.perf_counter() - t0)
        if status != 200 or "metric-madds-exact" not in text:
            errors += 1
        time.sleep(think)
    return times, errors


class Hostile(threading.Thread):
    counter = iter(range(10**9))
    lock = threading.Lock()

    def __init__(self, client: Client, index: int, stop: threading.Event, stats: dict):
        super().__init__(daemon=True)
        self.client, self.index, self.stop, self.stats = client, index, stop, stats
        self.rng = random.Random(index)

    def fresh(self) -> int:
        with Hostile.lock:
            return next(Hostile.counter)

    def one(self, kind: str):
        n = self.fresh()
        if kind == "paste":
            text = SLOW_SPECS[n % 2] + f"\n# {n}\n"
            return self.client.callback("editor-status.children", {
                "editor-check.n_clicks": n + 1, "editor-upload.contents": None,
                "editor-example.value": None, "editor-text.value": text,
                "editor-upload.filename": None}, changed="editor-check.n_clicks")
        if kind == "param":
            return designer_move(self.client, self.rng.choice([0.5, 0.75, 1.0, 1.4]),
                                 {"num_classes": str(2000 + n)})
        spec = self.rng.choice(["mobilenet_v1", "mobilenet_v2", "nasnet_a_mobile",
                                "efficientnet_b0", "shufflenet_v1", "ssdlite_mobilenet_v2"])
        return self.client.callback("designer-forms.children", {
            "designer-spec.value": f"file:{spec}.yaml",
            "designer-convention.value": self.rng.choice(["paper", "torchvision", "tf-slim"]),
            "designer-dtype.value": self.rng.choice(["fp32", "fp16", "bf16", "int8"])},
            params={"num_classes": str(5000 + n)}, changed="designer-spec.value")

    def run(self):
        kinds = ("paste", "param", "forms")
        i = self.index
        while not self.stop.is_set():
            kind = kinds[i % 3]
            i += 1
            t0 = time.perf_counter()
            try:
                status, text = self.one(kind)
                what = ("http" + str(status) if status != 200 else
                        "busy" if "server is busy" in text else "answered")
            except OSError as err:
                what = f"error ({type(err).__name__})"
            with Hostile.lock:
                s = self.stats.setdefault(kind, {})
                s[what] = s.get(what, 0) + 1
                self.stats.setdefault("_seconds", []).append(time.perf_counter() - t0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moves", type=int, default=200, help="slider moves per phase (200)")
    ap.add_argument("--hostile", type=int, default=50, help="concurrent hostile requests (50)")
    ap.add_argument("--think", type=float, default=0.05, help="normal client's pause (s)")
    ap.add_argument("--specs", default=str(REPO / "specs"))
    ap.add_argument("--target-ms", type=float, default=300.0)
    ap.add_argument("--target-mb", type=float, default=1024.0)
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)

    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    server = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "--host", "127.0.0.1", "--port", str(port),
         "--specs", args.specs, "--db", str(Path(args.specs) / "no-results.sqlite")],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log_lines: list = []
    threading.Thread(target=lambda: log_lines.extend(server.stderr), daemon=True).start()
    try:
        client = Client(port)
        deadline = time.time() + 300
        while True:
            try:
                if client.request("GET", "/")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                print("".join(log_lines[-20:]))
                raise SystemExit("the server did not start")
            time.sleep(0.5)
        client.deps = json.loads(client.request("GET", "/_dash-dependencies")[1])
        for _ in range(40):                     # warm: evaluator and frontier built
            t0 = time.perf_counter()
            designer_move(client, 1.0)
            if time.perf_counter() - t0 < 0.2:
                break
            time.sleep(0.5)
        print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S')}; {os.cpu_count()} logical cores; "
              f"python {platform.python_version()}; nice {os.nice(0)}; load average at start: "
              f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        sampler = Sampler(server.pid)
        sampler.start()

        base, base_err = normal_client(client, args.moves, args.think)
        stop, stats = threading.Event(), {}
        hostile = [Hostile(client, i, stop, stats) for i in range(args.hostile)]
        for h in hostile:
            h.start()
        time.sleep(2.0)                          # the attack is in full swing
        attacked, att_err = normal_client(client, args.moves, args.think)
        stop.set()
        for h in hostile:
            h.join(timeout=120)
        sampler.stop.set()
        sampler.join()
        hwm = _status(server.pid).get("VmHWM", 0)

        ms = lambda xs: (f"p50 {statistics.median(xs) * 1e3:6.1f} ms  p95 "  # noqa: E731
                         f"{pct(xs, 0.95) * 1e3:6.1f} ms  max {max(xs) * 1e3:7.1f} ms")
        print(f"\nnormal client, {args.moves} width-slider moves each (designer callback, "
              f"MobileNetV2 at 224):")
        print(f"  alone:                         {ms(base)}  errors {base_err}")
        print(f"  with {args.hostile} hostile requests in flight: {ms(attacked)}  errors {att_err}")
        total = {k: v for k, v in stats.items() if not k.startswith("_")}
        print(f"hostile requests answered during the run ({len(stats.get('_seconds', []))} in "
              f"all; median {statistics.median(stats.get('_seconds', [0])):.2f} s each):")
        for kind, counts in sorted(total.items()):
            print(f"  {kind:<6} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        print(f"server: peak RSS {hwm / 1024:.0f} MB (VmHWM); with its sandbox children "
              f"{sampler.peak_tree_kb / 1024:.0f} MB (peak of sampled sums); peak threads "
              f"{sampler.peak_threads}; peak children at once {sampler.peak_children}")
        p95 = pct(attacked, 0.95) * 1e3
        peak_mb = max(hwm, sampler.peak_tree_kb) / 1024
        ok = p95 < args.target_ms and peak_mb < args.target_mb and att_err == 0
        print(f"targets: p95 under attack {p95:.0f} ms < {args.target_ms:g} ms; peak RSS "
              f"{peak_mb:.0f} MB < {args.target_mb:g} MB: {'met' if ok else 'MISSED'}")
        return 1 if args.strict and not ok else 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
