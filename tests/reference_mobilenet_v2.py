"""An independent, plain-Python reference counter for MobileNetV2 (no archcalc imports).

Written from:

* Sandler, Howard, Zhu, Zhmoginov, Chen, "MobileNetV2: Inverted Residuals and Linear
  Bottlenecks", arXiv:1801.04381, Table 1 (the bottleneck block: 1x1 expand + ReLU6,
  3x3 depthwise with stride s + ReLU6, linear 1x1 projection) and Table 2 (the t, c, n, s
  rows; "the first layer of each sequence has a stride s and all others use stride 1").
* torchvision ``torchvision/models/mobilenetv2.py`` and ``torchvision/models/_utils.py``:
  ``_make_divisible`` (float arithmetic, transcribed below verbatim), ``input_channel =
  _make_divisible(32 * width_mult, 8)``, ``output_channel = _make_divisible(c * width_mult,
  8)``, ``hidden_dim = int(round(inp * expand_ratio))``, no expand conv when t == 1,
  ``last_channel = _make_divisible(1280 * max(1.0, width_mult), 8)``,
  ``use_res_connect = stride == 1 and inp == oup`` (actual channel counts),
  Conv2dNormActivation = conv (bias=False, padding (k-1)//2) + BatchNorm2d + ReLU6, and the
  classifier ``nn.Linear(last_channel, num_classes)`` (with bias) after a global average pool.
* TF-slim ``research/slim/nets/mobilenet/mobilenet.py`` / ``mobilenet_v2.py`` (variant
  ``"tf-slim"``): the same ``_make_divisible`` rule, but the expansion width is
  ``expand_input_by_factor(6)`` = ``_make_divisible(num_inputs * 6, 8)`` (the first block
  ``expand_input(1, divisible_by=1)`` keeps the input width and has no expand conv), the
  logits are a 1x1 conv with a bias to 1001 classes (class 0 = background), and the last
  1280 conv is scaled like torchvision's (max(1, alpha); the released Keras/slim checkpoints).

Spatial sizes: a 3x3 conv with padding 1 and stride s gives floor((h + 2 - 3) / s) + 1, which
for s = 2 equals ceil(h / 2) (TF "SAME"); a 1x1 conv keeps h.

Counts: ``params`` = conv and linear weights + biases; ``bn_params`` = 2 per BatchNorm
channel (gamma and beta; the running statistics are buffers); ``madds`` = multiply-
accumulates of convolutions and the linear layer (weights x output positions).
"""
from __future__ import annotations

from dataclasses import dataclass, field

# MobileNetV2 Table 2: expansion t, output channels c, repeats n, first stride s.
INVERTED_RESIDUAL_SETTING = [
    # t, c, n, s
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
]


def _make_divisible(v, divisor, min_value=None):
    """torchvision/models/_utils.py and TF-slim mobilenet.py, verbatim (float arithmetic)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    # Make sure that round down does not go down by more than 10%.
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def conv_out(h, kernel, stride):
    """PyTorch Conv2d output size with padding (kernel - 1) // 2 (dilation 1)."""
    pad = (kernel - 1) // 2
    return (h + 2 * pad - kernel) // stride + 1


@dataclass
class RefLayer:
    """One weight layer (conv or linear) or residual add, named as archcalc names its ops."""
    name: str
    kind: str          # "conv", "depthwise", "pointwise", "fc", "add"
    c_in: int
    c_out: int
    kernel: int
    stride: int
    groups: int
    h_out: int
    bias: bool = False
    bn: bool = False   # a BatchNorm follows

    @property
    def shape(self):
        return (self.c_out, self.h_out, self.h_out)

    @property
    def weights(self):
        if self.kind == "add":
            return 0
        return self.c_out * (self.c_in // self.groups) * self.kernel * self.kernel

    @property
    def params(self):
        return self.weights + (self.c_out if self.bias else 0)

    @property
    def bn_params(self):
        return 2 * self.c_out if self.bn else 0

    @property
    def madds(self):
        return self.weights * self.h_out * self.h_out


@dataclass
class RefNet:
    layers: list = field(default_factory=list)
    final_spatial: int = 0
    pooled_channels: int = 0

    @property
    def params(self):
        return sum(layer.params for layer in self.layers)

    @property
    def bn_params(self):
        return sum(layer.bn_params for layer in self.layers)

    @property
    def madds(self):
        return sum(layer.madds for layer in self.layers)

    def by_name(self):
        return {layer.name: layer for layer in self.layers}

    def conv_widths(self):
        """Output widths of all conv layers (excluding the classifier)."""
        return [layer.c_out for layer in self.layers if layer.kind in ("conv", "depthwise", "pointwise")]


def mobilenet_v2(width_mult=1.0, resolution=224, num_classes=1000, variant="torchvision",
                 round_nearest=8):
    """Build the layer list of MobileNetV2 at (width_mult, resolution).

    variant "torchvision": torchvision's mobilenetv2.py; "tf-slim": TF-slim's mobilenet_v2
    (expansion = make_divisible(t * c_in, 8), logits conv with bias; pass num_classes=1001).
    `width_mult` is a Python float (as both libraries take it).
    """
    if variant not in ("torchvision", "tf-slim"):
        raise ValueError(variant)
    net = RefNet()
    width_mult = float(width_mult)
    h = resolution

    # features[0]: Conv2dNormActivation(3, input_channel, stride=2)
    input_channel = _make_divisible(32 * width_mult, round_nearest)
    h = conv_out(h, 3, 2)
    net.layers.append(RefLayer("stem.0.conv", "conv", 3, input_channel, 3, 2, 1, h, bn=True))

    for i, (t, c, n, s) in enumerate(INVERTED_RESIDUAL_SETTING):
        output_channel = _make_divisible(c * width_mult, round_nearest)
        for rep in range(n):
            stride = s if rep == 0 else 1
            prefix = f"bottlenecks.{i}" + (f".{rep}" if n > 1 else "")
            inp, oup = input_channel, output_channel
            if variant == "torchvision":
                hidden_dim = int(round(inp * t))
            else:
                hidden_dim = inp if t == 1 else _make_divisible(inp * t, round_nearest)
            if t != 1:
                net.layers.append(RefLayer(f"{prefix}.expand.conv", "pointwise", inp, hidden_dim,
                                           1, 1, 1, h, bn=True))
            h = conv_out(h, 3, stride)
            net.layers.append(RefLayer(f"{prefix}.dw.conv", "depthwise", hidden_dim, hidden_dim,
                                       3, stride, hidden_dim, h, bn=True))
            net.layers.append(RefLayer(f"{prefix}.project.conv", "pointwise", hidden_dim, oup,
                                       1, 1, 1, h, bn=True))
            if stride == 1 and inp == oup:
                net.layers.append(RefLayer(f"{prefix}.add", "add", oup, oup, 1, 1, 1, h))
            input_channel = output_channel

    last_channel = _make_divisible(1280 * max(1.0, width_mult), round_nearest)
    net.layers.append(RefLayer("head.0.conv", "pointwise", input_channel, last_channel, 1, 1, 1, h,
                               bn=True))
    net.final_spatial = h
    net.pooled_channels = last_channel
    # Global average pool, then nn.Linear (torchvision) / 1x1 conv with bias (TF-slim logits).
    net.layers.append(RefLayer("classifier.0.fc", "fc", last_channel, num_classes, 1, 1, 1, 1,
                               bias=True))
    return net


if __name__ == "__main__":   # pragma: no cover - a quick look
    ref = mobilenet_v2()
    print(ref.params + ref.bn_params, ref.params, ref.madds)
