"""Squeeze-and-excitation blocks and ShuffleNetV2 units: graph structure and memory, derived
by hand on tiny specs (fp32, 4 bytes per element)."""
from __future__ import annotations

import textwrap

import archcalc

SE_SPEC = """
name: se-block
input: {channels: 8, resolution: 4}
width: {rounding: none}
layers:
  b:
    - {op: bottleneck, t: 2, c: 8, se: 0.25}
"""


def evaluate(tmp_path, text, **kw):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text))
    return archcalc.evaluate(path, **kw)


def test_se_block_structure_and_counts(tmp_path):
    """expand 8 -> 16, dw 16, SE: pool, reduce 16 -> 4 (bias), expand 4 -> 16 (bias), scale;
    project 16 -> 8, add (stride 1, 8 == 8)."""
    t = evaluate(tmp_path, SE_SPEC)
    rows = {r.name: r for r in t.rows}
    assert [n for n in rows if ".se." in n] == [
        "b.0.se.pool", "b.0.se.reduce.conv", "b.0.se.reduce.act", "b.0.se.expand.conv",
        "b.0.se.expand.act", "b.0.se.scale"]
    assert rows["b.0.se.reduce.conv"].params == 16 * 4 + 4
    assert rows["b.0.se.expand.conv"].params == 4 * 16 + 16
    assert rows["b.0.se.reduce.conv"].madds == 16 * 4
    assert rows["b.0.se.expand.conv"].madds == 4 * 16
    assert rows["b.0.se.scale"].output_shape == (16, 4, 4)
    # 8*16 expand + 9*16 dw + 16*8 project + SE (68 + 80)
    assert t.totals["params"] == 8 * 16 + 9 * 16 + 16 * 8 + 68 + 80
    assert "b.0.add" in rows


def test_se_block_memory_by_hand(tmp_path):
    """Bytes: input 512, expand 1024, dw 1024, pool 64, reduce 16, gate 64, scale 1024,
    project 512, add 512.
    Naive peak, while the scale runs: input (the add reads it) 512 + dw 1024 + gate 64 +
    scale 1024 = 2624. Streamed: the expansion streams into the dw conv, but the gate needs
    the whole dw output, so it is materialised: input 512 + dw 1024 + output 512 = 2048
    (a block without SE would cost input + output = 1024)."""
    t = evaluate(tmp_path, SE_SPEC)
    assert t.totals["peak_memory_bytes"] == 2624
    assert t.totals["peak_memory_bytes_streamed"] == 2048
    plain = evaluate(tmp_path, SE_SPEC.replace(", se: 0.25", ""))
    assert plain.totals["peak_memory_bytes_streamed"] == 1024


def test_shufflenet_v2_unit_structure_and_memory(tmp_path):
    """Stride 2 (8 -> 16 ch, 8x8 -> 4x4): branch1 dw 3x3/2 on 8 + pw 8 -> 8; branch2 pw 8 -> 8,
    dw 3x3/2, pw 8 -> 8; concat 16; shuffle. Stride 1: split 8 + 8 (views), branch2 on the
    second half, concat, shuffle."""
    t = evaluate(tmp_path, """
        name: v2
        input: {channels: 8, resolution: 8}
        width: {rounding: none}
        layers:
          s:
            - {op: shuffle_v2_unit, c: 16, s: 2}
            - {op: shuffle_v2_unit, c: 16}
        """)
    rows = {r.name: r for r in t.rows}
    assert rows["s.0.branch1.dw.conv"].params == 9 * 8
    assert rows["s.0.branch1.pw.conv"].params == 8 * 8
    assert rows["s.0.branch2.pw1.conv"].params == 8 * 8
    assert rows["s.0.branch2.dw.conv"].output_shape == (8, 4, 4)
    assert rows["s.0.concat"].output_shape == (16, 4, 4)
    assert rows["s.1.split1"].output_shape == (8, 4, 4)
    assert rows["s.1.split2"].output_shape == (8, 4, 4)
    assert rows["s.1.split1"].memory_bytes == 0 == rows["s.1.split2"].memory_bytes   # views
    assert rows["s.1.branch2.pw1.conv"].params == 8 * 8
    # MAdds: unit 0: dw 9*8*16 + pw 8*8*16 (branch1), pw1 8*8*64 + dw 9*8*16 + pw2 8*8*16;
    # unit 1: pw1 8*8*16 + dw 9*8*16 + pw2 8*8*16
    assert t.totals["madds"] == (9 * 8 * 16 + 64 * 16 + 64 * 64 + 9 * 8 * 16 + 64 * 16
                                 + 64 * 16 + 9 * 8 * 16 + 64 * 16)
    # Unit 1's split keeps unit 0's shuffled output (16x4x4 = 1024 B) alive until the concat
    # reads the first half: while the concat runs, the shuffle output 1024 + branch2 output
    # 512 + concat 1024 = 2560 B are live (naive).
    assert rows["s.1.concat"].live_bytes == 1024 + 512 + 1024
