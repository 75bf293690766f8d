"""Bounded work and bounded memory for the dashboard server: worker pools and LRU caches.

One browser must not be able to starve the others. Everything the server does that can take
long runs as a job on a `WorkerPool`: a fixed number of threads and a bounded queue. A job
that finds the queue full waits a moment for a place (`admit_wait`, 2 s: a burst is smoothed
and a client that floods the server is slowed to the pace of its answers), then is refused
with `Busy` ("the server is busy ...; try again in a few seconds"), shown in the page like
any other error, instead of piling up threads, memory and latency. A job with a key is
shared: a second request for a job already queued or running waits for that job's result
instead of starting it again. Every cache is an `LRU` with a size (and, for cost tables, a
total weight) from archcalc/limits.py.

The Workspace holds two pools (dashboard/workspace.py):

* `work`: heavy work inside the server on trusted input (compiling a zoo spec's closed forms, the
  frontier's closed forms, costing a point that is not memoised);
* `children`: one sandbox child process per job (dashboard/sandbox.py), so the pool's size
  is the cap on concurrent children; each child has its own CPU-time and memory limits.
"""
from __future__ import annotations

import queue as queue_module
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Hashable

from archcalc.errors import ArchcalcError


class Busy(ArchcalcError):
    """The server refused a job: its queue is full, or the job outlasted the wait."""


class WorkerPool:
    """`workers` threads, started with the pool and never more, and at most `queue` jobs
    waiting for them. A worker survives anything raised into it (a test runner that stops a
    server by raising SystemExit into the threads it started): the job's caller gets the
    exception, the worker takes the next job."""

    def __init__(self, name: str, workers: int, queue: int, max_wait: float,
                 admit_wait: float = 0.0):
        self.name, self.workers, self.queue, self.max_wait = name, workers, queue, max_wait
        self.admit_wait = admit_wait
        self._prefix = f"archcalc-{name}"
        self._jobs: queue_module.SimpleQueue = queue_module.SimpleQueue()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._pending = 0                     # running + queued
        self._inflight: dict = {}             # key -> Future
        self.refused = 0                      # counters (benchmarks/dashboard_load.py)
        self.finished = 0
        self.peak = 0
        self._threads = [threading.Thread(target=self._work, name=f"{self._prefix}_{i}",
                                          daemon=True) for i in range(workers)]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        while True:
            try:
                key, future, fn = self._jobs.get()
            except BaseException:  # noqa: BLE001  (raised into this thread: keep serving)
                continue
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        result = fn()
                    except BaseException as exc:  # noqa: BLE001  (the caller's to handle)
                        future.set_exception(exc)
                    else:
                        future.set_result(result)
            except BaseException:  # noqa: BLE001
                if not future.done():
                    future.set_exception(Busy("the server stopped this job; try again"))
            finally:
                self._done(key, future)

    def _busy(self) -> Busy:
        return Busy(f"the server is busy ({self.workers} {self.name} jobs running and "
                    f"{self.queue} waiting); try again in a few seconds")

    def submit(self, key: Hashable | None, fn: Callable[[], Any]) -> Future:
        """Queue `fn` (or join the job already queued under `key`); Busy when the queue is
        still full after `admit_wait` seconds."""
        with self._lock:
            deadline = None
            while True:
                if key is not None:
                    running = self._inflight.get(key)
                    if running is not None:
                        return running
                if self._pending < self.workers + self.queue:
                    break
                now = time.monotonic()
                deadline = now + self.admit_wait if deadline is None else deadline
                if now >= deadline:
                    self.refused += 1
                    raise self._busy()
                self._room.wait(deadline - now)
            self._pending += 1
            self.peak = max(self.peak, self._pending)
            future: Future = Future()
            if key is not None:
                self._inflight[key] = future
        self._jobs.put((key, future, fn))
        return future

    def try_submit(self, key: Hashable | None, fn: Callable[[], Any]) -> Future | None:
        """Like submit, but at once None instead of waiting or Busy (work that may be skipped)."""
        with self._lock:
            if key is None or key not in self._inflight:
                if self._pending >= self.workers + self.queue:
                    return None
        try:
            return self.submit(key, fn)
        except Busy:
            return None

    def call(self, key: Hashable | None, fn: Callable[[], Any], wait: float | None = None):
        """Run `fn` on the pool and return its result (its exception is raised here).
        A job of this pool that calls the pool again runs inline (no deadlock)."""
        if threading.current_thread().name.startswith(self._prefix + "_"):
            return fn()
        future = self.submit(key, fn)
        try:
            return future.result(timeout=self.max_wait if wait is None else wait)
        except FutureTimeout:
            raise Busy(f"the server is busy: this {self.name} job has waited "
                       f"{self.max_wait if wait is None else wait:g} s; try again later") from None

    def _done(self, key, future) -> None:
        with self._lock:
            self._pending -= 1
            self.finished += 1
            if key is not None and self._inflight.get(key) is future:
                del self._inflight[key]
            self._room.notify()

    def stats(self) -> dict:
        with self._lock:
            return {"pending": self._pending, "peak": self.peak, "refused": self.refused,
                    "finished": self.finished, "workers": self.workers, "queue": self.queue}


class LRU:
    """A mapping that keeps its `maxsize` most recently used entries and, when `weigh` is
    given, at most `max_weight` in total (cost tables are weighed by their rows)."""

    def __init__(self, maxsize: int, weigh: Callable[[Any], int] | None = None,
                 max_weight: int | None = None):
        self._d: OrderedDict = OrderedDict()
        self.maxsize = maxsize
        self.weigh, self.max_weight = weigh, max_weight
        self.weight = 0

    def _w(self, value) -> int:
        return self.weigh(value) if self.weigh is not None else 0

    def get(self, key, default=None):
        if key in self._d:
            self._d.move_to_end(key)
            return self._d[key]
        return default

    def __getitem__(self, key):
        return self._d[key]

    def __setitem__(self, key, value) -> None:
        if key in self._d:
            del self[key]
        self._d[key] = value
        self.weight += self._w(value)
        heavy = self.max_weight is not None
        while self._d and (len(self._d) > self.maxsize or (
                heavy and self.weight > self.max_weight and len(self._d) > 1)):
            del self[next(iter(self._d))]

    def __delitem__(self, key) -> None:
        self.weight -= self._w(self._d.pop(key))

    def __contains__(self, key) -> bool:
        return key in self._d

    def __len__(self) -> int:
        return len(self._d)

    def __iter__(self):
        return iter(list(self._d))

    def keys(self):
        return list(self._d)

    def values(self):
        return list(self._d.values())

    def items(self):
        return list(self._d.items())

    def clear(self) -> None:
        self._d.clear()
        self.weight = 0
