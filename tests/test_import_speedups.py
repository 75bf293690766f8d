"""The import path's speed-ups give what the code they replace gives: stream groups set
without dataclasses.replace (imported/stream.py), the cached short op names
(imported/to_graph.py), and the garbage collector paused only for the duration of a
capture (imported/frontend.py gc_paused)."""
import gc
from dataclasses import fields, replace

import pytest

from archcalc.imported.frontend import gc_paused
from archcalc.imported.stream import _in_group
from archcalc.imported.to_graph import short
from archcalc.ops import Op, OpKind


def test_in_group_is_replace():
    ops = [Op(kind=OpKind.DEPTHWISE, name="features.3.conv.1.0", layer="features.3.conv.1",
              block="features", out_ch=96, kernel=3, stride=2, padding=1, groups=96),
           Op(kind=OpKind.BN, name="b", layer="l", block="x", reused=(("bn_params", 4),)),
           Op(kind=OpKind.ADD, name="add", layer="add", block="add", stream_group="old")]
    for op in ops:
        new = _in_group(op, "features.3#stream")
        assert new == replace(op, stream_group="features.3#stream")
        assert type(new) is Op and new is not op and op.stream_group != "features.3#stream"
        assert {f.name for f in fields(Op)} == set(vars(new))
    with pytest.raises(AttributeError):            # still frozen
        new.stream_group = "x"


def test_short_names():
    def plain(op):
        parts = op.split(".")
        return (parts[1] if len(parts) >= 2 and parts[0] == "aten" else parts[-1]).lower()
    for op in ("aten.convolution.default", "aten.add_.Tensor", "aten.mean.dim", "Conv",
               "Gemm", "aten.t.default", "custom.lib.Op", "aten", "", "aten.convolution.default"):
        assert short(op) == plain(op)
    assert short("aten.convolution.default") == "convolution" and short("Conv") == "conv"


def test_gc_paused_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with gc_paused():
            raise ValueError("capture failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()               # a caller's choice is kept
    finally:
        gc.enable()
