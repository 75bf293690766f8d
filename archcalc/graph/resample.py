"""Row handlers for resampling and detection/segmentation ops, and the output-stride rule.

- `upsample`: bilinear/nearest resampling by a factor, to a size, or to the size of another
  tensor (DeepLabv3's image-pooling branch broadcast back to the feature size, Chen et al.
  2017, arXiv:1706.05587, Sec. 3.3; the logits resized to the input).
- `space_to_depth`: YOLOv2's passthrough "reorg" (Redmon & Farhadi 2016, arXiv:1612.08242,
  Sec. 2 "Fine-Grained Features").
- `l2norm`: SSD's conv4_3 normalisation (Liu et al. 2016, arXiv:1512.02325, Sec. 3.1);
  `affine: false` without its learned scale (F.normalize alone).
- `layer_stride`: a spec's `output_stride` (DeepLab; TF-slim mobilenet.py's rule): once the
  running stride reaches the output stride, a layer that would stride runs at stride 1 with
  the current atrous rate, and the rate of the layers after it is multiplied by that stride.
"""
from __future__ import annotations

from ..errors import SpecError, closest
from ..numbers import quote
from ..ops import OpKind
from ..spec import schema
from .rows import RowOutput


def layer_stride(c, row, x: RowOutput, stride: int, path: str) -> tuple[int, int, int, bool]:
    """(stride to build with, atrous rate of its k x k convs, rate after it, whether the
    running output stride grows) for `row` at `path` on input `x` under the spec's
    output_stride rule (TF-slim mobilenet.py: `if current_stride == output_stride:
    layer_stride = 1; layer_rate = rate; rate *= stride`)."""
    rule = c.spec.output_stride
    if rule is None or x.output_stride is None or \
            (rule.sections and path.partition(".")[0] not in rule.sections):
        return stride, 1, x.rate, True
    if x.output_stride >= rule.value:
        return 1, x.rate, x.rate * stride, False
    return stride, 1, x.rate, True


def target(c, row, ref: str) -> RowOutput:
    """The tensor `ref` names: inside a cell an input or node of the cell, else an earlier row
    name, row path or layer path (as `from`; a layer path's output stride is unknown)."""
    scope, _ = c.cell_scope[-1]
    if ref in scope:
        return scope[ref]
    if ref in c.names:
        return c.names[ref]
    node = c.g.last_of_layer.get(ref)
    if node is not None:
        return RowOutput(node, None, 1 if c.g.op(node).kind is OpKind.INPUT else None)
    known = list(scope) + list(c.names) + sorted({c.g.op(n).layer for n in c.g.names})
    raise SpecError(f"no earlier row, layer or cell node named {quote(ref)}", path=c.spec.path,
                    line=row.line_of("to"), key="to", hint=closest(ref, known))


def upsample(c, row: schema.UpsampleRow, x: RowOutput, stride: int, path: str,
             rep: int) -> RowOutput:
    """Its output stride: the target's (`to`), x's divided by the factor where it divides,
    else unknown."""
    size, out_stride = None, None
    if row.to is not None:
        ref = target(c, row, row.to)
        _, h, w = c.g.shape(ref.node)
        size, out_stride = (h, w), ref.output_stride
    elif row.size is not None:
        size = schema.sides(row.size)
    elif x.output_stride is not None and x.output_stride % row.factor == 0:
        out_stride = x.output_stride // row.factor
    node = c.op(row, [x.node], kind=OpKind.UPSAMPLE, name=f"{path}.upsample", layer=path,
                mode=row.mode, size=size, factor=row.factor or 1)
    return RowOutput(node, x.design_c, out_stride)


def space_to_depth(c, row: schema.SpaceToDepthRow, x: RowOutput, stride: int, path: str,
                   rep: int) -> RowOutput:
    node = c.op(row, [x.node], kind=OpKind.SPACE_TO_DEPTH, name=f"{path}.reorg", layer=path,
                stride=row.block)
    design = None if x.design_c is None else x.design_c * row.block ** 2
    return RowOutput(node, design, None if x.output_stride is None
                     else x.output_stride * row.block)


def l2norm(c, row: schema.L2NormRow, x: RowOutput, stride: int, path: str,
           rep: int) -> RowOutput:
    node = c.op(row, [x.node], kind=OpKind.L2NORM, name=f"{path}.l2norm", layer=path,
                affine=row.affine)
    return RowOutput(node, x.design_c)


HANDLERS = {schema.UpsampleRow: upsample, schema.SpaceToDepthRow: space_to_depth,
            schema.L2NormRow: l2norm}
