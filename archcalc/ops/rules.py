"""The rules of the spec-level op kinds (convolutions, BN, activations, pooling, residual add,
SE gate, channel split / concat / shuffle, shift, fully connected), one per kind, registered in
archcalc.ops.core's registry. Shapes are C x H x W (ConcatRule and SliceRule take any rank
along `op.axis`)."""
from __future__ import annotations

from .core import CONV_KINDS, Cost, OpKind, broadcast, exact_div, numel, rule, spatial

@rule(OpKind.INPUT, arity=0)
class InputRule:
    """The image: C x r x r; no cost, its tensor is live until first consumed."""
    @staticmethod
    def shape(op, inputs):
        raise AssertionError("the input node's shape is set by the compiler")

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(*CONV_KINDS)
class ConvRule:
    """weights = c_out * (c_in / g) * k^2, bias = c_out; MAdds = weights * h_out * w_out.
    A dilated (atrous) conv has the same weights and MAdds per output position; its kernel
    spans dilation * (k - 1) + 1 pixels for the spatial rule (DeepLab, Chen et al. 2017)."""
    @staticmethod
    def shape(op, inputs):
        _, h, w = inputs[0]
        return (op.out_ch, spatial(h, op.kernel, op.stride, op.padding, op.dilation),
                spatial(w, op.kernel, op.stride, op.padding, op.dilation))

    @staticmethod
    def cost(op, inputs, out):
        weights = op.out_ch * exact_div(inputs[0][0], op.groups) * op.kernel ** 2
        return Cost(weights=weights, bias=op.out_ch if op.bias else 0,
                    madds=weights * out[1] * out[2])


@rule(OpKind.BN, inplace=True)
class BatchNormRule:
    """gamma and beta per channel (running statistics are buffers, not parameters);
    one element-wise multiply-add per element."""
    @staticmethod
    def shape(op, inputs):
        return inputs[0]

    @staticmethod
    def cost(op, inputs, out):
        return Cost(bn_params=2 * out[0], elementwise=numel(out))


@rule(OpKind.ACT, inplace=True)
class ActivationRule:
    """No parameters; one element-wise op per element."""
    @staticmethod
    def shape(op, inputs):
        return inputs[0]

    @staticmethod
    def cost(op, inputs, out):
        return Cost(elementwise=numel(out))


@rule(OpKind.POOL)
class PoolRule:
    """Global: C x 1 x 1; windowed: the conv spatial rule, with `dilation` and `ceil_mode`
    torch's pooling rule (rounding.spatial_out: ceil instead of floor, less a window that
    would start in the right padding). k^2 element-wise ops per output."""
    @staticmethod
    def shape(op, inputs):
        c, h, w = inputs[0]
        if op.global_pool:
            return (c, 1, 1)
        return (c, spatial(h, op.kernel, op.stride, op.padding, op.dilation, op.ceil_mode),
                spatial(w, op.kernel, op.stride, op.padding, op.dilation, op.ceil_mode))

    @staticmethod
    def cost(op, inputs, out):
        window = inputs[0][1] * inputs[0][2] if op.global_pool else op.kernel ** 2
        return Cost(elementwise=numel(out) * window)


@rule(OpKind.ADD, OpKind.MUL, arity=2)
class ElementwiseBinaryRule:
    """Residual add of two equal shapes, and squeeze-and-excitation's x * gate (Hu et al. 2018;
    the gate, C x 1 x 1, broadcast over x's spatial size), and in general any two operands of
    any rank under NumPy/PyTorch broadcasting (an operand may be a PARAM node: ConvNeXt's layer
    scale, ViT's position embedding): the broadcast shape, a new tensor, one element-wise op
    per element."""
    @staticmethod
    def shape(op, inputs):
        return broadcast(*inputs)

    @staticmethod
    def cost(op, inputs, out):
        return Cost(elementwise=numel(out))


@rule(OpKind.SLICE, inplace=True)
class SliceRule:
    """Channels [start, start + out_ch) of the input (any axis: `op.axis`, counted from the
    end): a view (it keeps its input's buffer alive, as torch.chunk does); no parameters or
    arithmetic."""
    @staticmethod
    def shape(op, inputs):
        out = list(inputs[0])
        out[op.axis] = op.out_ch
        return tuple(out)

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(OpKind.CONCAT, arity=None)
class ConcatRule:
    """Channel concatenation of equal-size maps: C = sum of inputs' C (any axis: `op.axis`,
    counted from the end; ViT's class token joins the patch tokens on the token axis); a new
    tensor, no ops."""
    @staticmethod
    def shape(op, inputs):
        out = list(inputs[0])
        out[op.axis] = sum(s[op.axis] for s in inputs)
        return tuple(out)

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(OpKind.SHUFFLE, OpKind.SHIFT)
class DataMovementRule:
    """Ops that only move data: ShuffleNet's channel shuffle (reshape (g, C/g), transpose,
    flatten) and NASNet's factorized-reduction shift (pad 1 at the right/bottom, crop the
    top-left). Same shape, no parameters or arithmetic; as PyTorch computes them, a new tensor."""
    @staticmethod
    def shape(op, inputs):
        return inputs[0]

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(OpKind.FC)
class FullyConnectedRule:
    """weights = in_features * out, bias = out; MAdds = weights (input flattened)."""
    @staticmethod
    def shape(op, inputs):
        return (op.out_ch, 1, 1)

    @staticmethod
    def cost(op, inputs, out):
        weights = numel(inputs[0]) * op.out_ch
        return Cost(weights=weights, bias=op.out_ch if op.bias else 0, madds=weights)
