"""The rules of the op kinds an imported model needs (archcalc/imported: PyTorch and ONNX
models), one per kind, registered in archcalc.ops.core's registry. Shapes have any rank
(the batch dimension dropped); MAdds are the multiply-accumulates torch's FlopCounterMode
counts (torch/utils/flop_counter.py: mm/addmm/bmm `m * k * n`, `sdpa_flop_count`), so that
under the torchvision convention MAdds = FlopCounterMode's total / 2 exactly.
"""
from __future__ import annotations

from .core import Cost, OpKind, broadcast, numel, rule


def _adaptive_span(size: int, out: int) -> int:
    """Sum of the window lengths of adaptive pooling of `size` into `out` windows: window i
    covers [floor(i * size / out), ceil((i + 1) * size / out)) (torch's
    adaptive_avg_pool2d start_index / end_index)."""
    return sum(-(-((i + 1) * size) // out) - (i * size) // out for i in range(out))


@rule(OpKind.PARAM, arity=0, stored=True)
class ParamRule:
    """A stored tensor read as an operand (or a parameter no op reads, so that params equal
    sum(p.numel())): its elements are weights; it is not an activation (no memory)."""
    @staticmethod
    def shape(op, inputs):
        return tuple(op.size)

    @staticmethod
    def cost(op, inputs, out):
        return Cost(weights=numel(out))


@rule(OpKind.LINEAR)
class LinearRule:
    """nn.Linear over the last axis: (..., in) -> (..., out_ch); weights = in x out_ch,
    bias = out_ch; MAdds = out elements x in (one multiply-accumulate per weight per row)."""
    @staticmethod
    def shape(op, inputs):
        return tuple(inputs[0][:-1]) + (op.out_ch,)

    @staticmethod
    def cost(op, inputs, out):
        features = inputs[0][-1]
        return Cost(weights=features * op.out_ch, bias=op.out_ch if op.bias else 0,
                    madds=numel(out) * features)


@rule(OpKind.NORM, inplace=True)
class NormRule:
    """Layer norm over the trailing `op.size` axes, or group norm (`op.groups` groups over the
    channels, axis 0): affine gamma and beta (2 x normalized size, or 2 x C) kept with BN's
    affine parameters; normalisation and affine: 2 element-wise ops per element (BN: 1, its
    statistics are fixed at inference)."""
    @staticmethod
    def shape(op, inputs):
        return inputs[0]

    @staticmethod
    def cost(op, inputs, out):
        affine = numel(op.size) if op.norm == "layer" else out[0]
        return Cost(bn_params=2 * affine if op.bias else 0, elementwise=2 * numel(out))


@rule(OpKind.ADAPTIVE_POOL)
class AdaptivePoolRule:
    """Adaptive avg / max pooling of C x H x W to C x oh x ow (`op.size`): windows of varying
    size that may overlap; element-wise ops = the elements every window reads (exact)."""
    @staticmethod
    def shape(op, inputs):
        return (inputs[0][0],) + tuple(op.size)

    @staticmethod
    def cost(op, inputs, out):
        c, h, w = inputs[0]
        oh, ow = op.size
        return Cost(elementwise=c * _adaptive_span(h, oh) * _adaptive_span(w, ow))


@rule(OpKind.MATMUL, arity=2)
class MatmulRule:
    """(..., m, k) @ (..., k, n) -> (..., m, n) with broadcast batch axes (torch.matmul, bmm):
    MAdds = out elements x k; no parameters."""
    @staticmethod
    def shape(op, inputs):
        a, b = inputs
        return broadcast(tuple(a[:-2]), tuple(b[:-2])) + (a[-2], b[-1])

    @staticmethod
    def cost(op, inputs, out):
        return Cost(madds=numel(out) * inputs[0][-1])


@rule(OpKind.ATTENTION, arity=3)
class AttentionRule:
    """Scaled dot-product attention of q (..., Lq, d), k (..., Lk, d), v (..., Lk, dv) ->
    (..., Lq, dv): MAdds = batch x Lq x Lk x (d + dv) (q k^T, then the weights times v; torch's
    sdpa_flop_count / 2); softmax over Lq x Lk scores: one element-wise op per score."""
    @staticmethod
    def shape(op, inputs):
        q, _, v = inputs
        return tuple(q[:-1]) + (v[-1],)

    @staticmethod
    def cost(op, inputs, out):
        q, k, v = inputs
        scores = numel(q[:-1]) * k[-2]
        return Cost(madds=scores * (q[-1] + v[-1]), elementwise=scores)


@rule(OpKind.SOFTMAX)
class SoftmaxRule:
    """Softmax along an axis: same shape, a new tensor, one element-wise op per element."""
    @staticmethod
    def shape(op, inputs):
        return inputs[0]

    @staticmethod
    def cost(op, inputs, out):
        return Cost(elementwise=numel(out))


@rule(OpKind.VIEW, inplace=True)
class ViewRule:
    """view / reshape / flatten / permute / transpose / squeeze / expand / dropout and
    stochastic depth in eval: the output shape `op.size`, no new tensor, no cost."""
    @staticmethod
    def shape(op, inputs):
        return tuple(op.size)

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(OpKind.COPY)
class CopyRule:
    """contiguous / clone / constant padding (F.pad, NASNet's shifted path): the data copied
    into a new tensor of shape `op.size`; no arithmetic (it matters for memory only)."""
    @staticmethod
    def shape(op, inputs):
        return tuple(op.size)

    @staticmethod
    def cost(op, inputs, out):
        return Cost()


@rule(OpKind.UNKNOWN, arity=None)
class UnknownRule:
    """An op with no rule, kept only when the user asks for it (--allow-unknown): counted as
    zero, its output shape as captured, and listed in every output's warnings."""
    @staticmethod
    def shape(op, inputs):
        return tuple(op.size)

    @staticmethod
    def cost(op, inputs, out):
        return Cost()
