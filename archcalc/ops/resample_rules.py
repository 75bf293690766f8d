"""The rules of the detection and segmentation op kinds of the spec language (MobileNetV2
paper Tables 6 and 7: SSD, YOLOv2, DeepLabv3): resampling, space-to-depth (YOLOv2's
passthrough), SSD's L2Norm, and TensorFlow's count of a dilated conv (`tf-deeplab`),
registered in archcalc.ops.core's registry. Shapes are C x H x W."""
from __future__ import annotations

from .core import CONV_KINDS, Cost, Op, OpKind, Shape, exact_div, numel, rule


@rule(OpKind.UPSAMPLE)
class UpsampleRule:
    """Resampling to op.size (H, W) or by op.factor: C x H x W, a new tensor, no parameters and
    no MAdds in any convention (the papers count none; torch's FlopCounterMode counts no
    interpolation). Element-wise ops: bilinear 4 per output element (the weighted sum of four
    neighbours), nearest none (a copy)."""
    @staticmethod
    def shape(op, inputs):
        c, h, w = inputs[0]
        if op.size is not None:
            return (c, op.size[0], op.size[1])
        return (c, h * op.factor, w * op.factor)

    @staticmethod
    def cost(op, inputs, out):
        return Cost(elementwise=numel(out) * (4 if op.mode == "bilinear" else 0))


@rule(OpKind.SPACE_TO_DEPTH)
class SpaceToDepthRule:
    """YOLOv2's passthrough layer (Redmon & Farhadi 2016, Sec. 2 "Fine-Grained Features": the
    26 x 26 x 512 map turned into 13 x 13 x 2048): each b x b block of pixels (b = op.stride)
    becomes b^2 channels; C b^2 x H/b x W/b (b must divide H and W), a new tensor that only
    moves data: no parameters or arithmetic."""
    @staticmethod
    def shape(op, inputs):
        c, h, w = inputs[0]
        b = op.stride
        return (c * b * b, exact_div(h, b), exact_div(w, b))

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(OpKind.L2NORM)
class L2NormRule:
    """SSD's L2Norm (Liu et al. 2016, Sec. 3.1, after ParseNet): x / ||x||_2 over channels at
    each position, times a learned per-channel scale: C weights, no MAdds (not a conv or fc);
    3 element-wise ops per element (square-accumulate, divide, scale); a new tensor. Without
    the scale (`op.affine` False: F.normalize alone): no weights, 2 per element."""
    @staticmethod
    def shape(op, inputs):
        return inputs[0]

    @staticmethod
    def cost(op, inputs, out):
        if not op.affine:
            return Cost(elementwise=2 * numel(out))
        return Cost(weights=out[0], elementwise=3 * numel(out))


def tf_atrous_madds(op: Op, cost: Cost, out: Shape):
    """MAdds of a conv with rate r = op.dilation > 1 as TensorFlow computes it (MobileNetV2
    Table 7's counts): tf.nn.convolution runs it as space_to_batch -> VALID conv ->
    batch_to_space on an input padded at the end to a multiple of r
    (required_space_to_batch_paddings), so the conv computes r*ceil(H/r) x r*ceil(W/r) output
    positions, each costing weights MAdds. Other ops: their own MAdds."""
    r = op.dilation
    if op.kind not in CONV_KINDS or r == 1:
        return cost.madds
    _, h, w = out
    if isinstance(h, int) and isinstance(w, int):
        return cost.weights * (r * -(-h // r)) * (r * -(-w // r))
    import sympy
    return cost.weights * r * sympy.ceiling(h / r) * r * sympy.ceiling(w / r)
