"""Partitions as Dask tasks: a LocalCluster of worker processes (one thread each) or an
existing dask.distributed scheduler. Dask ships the shared data (once per worker, scattered),
schedules the tasks and returns their results; archcalc only maps one function over the
partitions and merges what comes back. On an existing cluster every worker needs archcalc
(the same version: a partition refuses to run otherwise) and the --out folder at the same path.
"""
from __future__ import annotations

import logging
import time

from ..errors import OptionError
from ..limits import SPACE_CONNECT_SECONDS


def _task(job, shared):
    from .work import run_job
    return run_job(shared, job)


def run_on_dask(shared, jobs, workers: int | None, scheduler: str | None, take) -> tuple:
    """Run `jobs` on Dask, calling take(result) as each finishes; (who ran them, seconds to
    start or reach the cluster, seconds to run the partitions)."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise OptionError("--workers and --scheduler need dask.distributed: pip install "
                          "'archcalc[spaces]'") from None
    t0 = time.perf_counter()
    cluster = None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=SPACE_CONNECT_SECONDS)
        except (OSError, TimeoutError, ValueError) as err:
            raise OptionError(f"--scheduler {scheduler}: cannot connect within "
                              f"{SPACE_CONNECT_SECONDS} s ({type(err).__name__}: "
                              f"{str(err).splitlines()[0] if str(err) else ''}; limit "
                              f"SPACE_CONNECT_SECONDS)") from None
        runner = f"Dask scheduler {scheduler}"
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        runner = f"local Dask cluster, {workers} worker process{'es' if workers > 1 else ''}"
    started = time.perf_counter() - t0
    futures = []
    try:
        t1 = time.perf_counter()
        data = client.scatter(shared, broadcast=True)
        futures = client.map(_task, jobs, shared=data, pure=False)
        for future in as_completed(futures):
            take(future.result())
        return runner, started, time.perf_counter() - t1
    finally:
        for future in futures:
            future.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
