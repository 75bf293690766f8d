"""A plain PyTorch MobileNetV2, written by hand for the benchmarks; it does not import archcalc.

Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
arXiv:1801.04381, Table 2, built with torchvision's conventions (models/mobilenetv2.py):

* every conv is bias-free and followed by BatchNorm; ReLU6 after all but the projection conv;
* widths are rounded with `_make_divisible(v, 8)` (nearest multiple of 8, at least 8, plus 8
  if rounding lost more than 10%);
* the expanded width is `int(round(inp * t))` of the already-rounded input width;
* the last conv has `_make_divisible(1280 * max(1, width))` channels (never narrowed);
* classifier: Dropout(0.2) + Linear(last_channel, num_classes), after global average pooling.

`count(width, resolution)` returns (params, madds) with madds = FlopCounterMode's total // 2
for one batch-1 forward pass (FlopCounterMode counts 2 FLOPs per multiply-accumulate of
conv and matmul ops, nothing for BN, activations, adds or pooling).

Run as a script to print the counts at one point:

    python benchmarks/mobilenet_v2_torch.py --width 1.0 --resolution 224
"""
from __future__ import annotations

import argparse

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

# Table 2 of the paper: expansion t, output channels c, repeats n, first stride s.
INVERTED_RESIDUAL_SETTING = [
    # t, c, n, s
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Nearest multiple of `divisor`, at least `min_value`, never more than 10% below `v`."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvBNReLU6(nn.Sequential):
    """Conv2d(bias=False) + BatchNorm2d + ReLU6, 'same' padding."""

    def __init__(self, inp: int, oup: int, kernel_size: int = 3, stride: int = 1, groups: int = 1):
        padding = (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(inp, oup, kernel_size, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(oup),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """1x1 expand (skipped when t == 1) -> 3x3 depthwise -> 1x1 linear projection (+ residual)."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int):
        super().__init__()
        assert stride in (1, 2)
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(inp, hidden, kernel_size=1))
        layers += [
            ConvBNReLU6(hidden, hidden, kernel_size=3, stride=stride, groups=hidden),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, round_nearest: int = 8,
                 dropout: float = 0.2):
        super().__init__()
        input_channel = _make_divisible(32 * width_mult, round_nearest)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [ConvBNReLU6(3, input_channel, kernel_size=3, stride=2)]
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            output_channel = _make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel,
                                                  s if i == 0 else 1, expand_ratio=t))
                input_channel = output_channel
        features.append(ConvBNReLU6(input_channel, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channel, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def count(width: float, resolution: int, num_classes: int = 1000) -> tuple[int, int]:
    """(params, madds) of MobileNetV2 at (width, resolution): params = sum of numel over all
    parameters (conv weights, BN gamma/beta, Linear weight and bias); madds = FlopCounterMode
    total // 2 for one batch-1 forward pass in eval mode."""
    model = MobileNetV2(num_classes=num_classes, width_mult=width).eval()
    params = sum(p.numel() for p in model.parameters())
    x = torch.zeros(1, 3, resolution, resolution)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return params, counter.get_total_flops() // 2


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--num-classes", type=int, default=1000)
    args = p.parse_args(argv)
    params, madds = count(args.width, args.resolution, args.num_classes)
    print(f"params={params} madds={madds}")


if __name__ == "__main__":
    main()
