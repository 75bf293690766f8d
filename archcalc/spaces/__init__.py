"""Search spaces: every architecture a spec's choice parameters allow, costed exactly and fast.

    >>> from archcalc.spaces import declare, run_space, Options
    >>> space = declare("specs/spaces/mobilenet_v2_space.yaml")
    >>> space.size                                   # 24^7 = 4,586,471,424
    >>> result = run_space(space, Options(sample=1000, budgets={"madds": 300_000_000}))
    >>> result.front                                 # the (madds, params) front, exact

declare.py: the space (choices, index order); stages.py: its decomposition into stages and
their cost tables; enumerate.py: gathers and blocked sums; pareto.py: exact fronts; run.py:
partitions, in-process or on Dask, and Parquet output (docs/spaces.md).
"""
from __future__ import annotations

from .declare import Space, declare

__all__ = ["Space", "declare", "run_space", "Options", "SpaceResult"]


def __getattr__(name: str):
    if name in ("run_space", "Options", "SpaceResult"):
        from . import run
        return getattr(run, name)
    raise AttributeError(f"module 'archcalc.spaces' has no attribute {name!r}")
