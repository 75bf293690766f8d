"""What the dashboard's tests share: the zoo's folder, a small valid spec, a module-scoped
Workspace and the reference (`archcalc.evaluate`, what `archcalc report` prints).

Imported by tests/test_dashboard_*.py (`from dashboard_fixtures import ...`; tests/ is on
sys.path through conftest.py); pytest finds the `ws` fixture in the importing module.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:           # the dashboard package sits beside archcalc
    sys.path.insert(0, str(REPO))

import archcalc                                   # noqa: E402

SPECS = REPO / "specs"
V2 = (SPECS / "mobilenet_v2.yaml").read_text()

# A small valid spec (a residual bottleneck stack) and faults placed on known lines.
MINI = """\
name: mini
input: {channels: 3, resolution: 64}
params:
  num_classes: {default: 10, min: 1}
  blocks: {default: 2, min: 1, max: 3}
layers:
  stem:
    - {op: conv, c: 16, k: 3, s: 2, act: relu6}
  body:
    - {op: bottleneck, t: 6, c: 16, n: $blocks, s: 1}
  head:
    - {op: avgpool, global: true}
  classifier:
    - {op: fc, c: $num_classes}
"""


def line_of(text: str, marker: str) -> int:
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if marker in line]
    assert hits, marker
    return hits[0]


@pytest.fixture(scope="module")
def ws():
    from dashboard.workspace import Workspace
    return Workspace(SPECS, db_path=REPO / "no-such-results.sqlite", wait_for_compile=True)


def reference(path, width, resolution, sets=None, convention="paper", dtype="fp32"):
    return archcalc.evaluate(str(path), width, resolution, convention=convention, dtype=dtype,
                             sets=sets)
