"""Plain-PyTorch twins of MobileNetV1 and ShuffleNet (v1), written by hand (no torchvision, no
archcalc), for `archcalc verify SPEC --against` (tests/test_verify_against_zoo.py).

MobileNetV1, transcribed from TF-slim ``research/slim/nets/mobilenet_v1.py`` (Howard et al.
2017, arXiv:1704.04861, Table 1): ``MOBILENETV1_CONV_DEFS`` = Conv(3x3, stride 2, 32), then 13
DepthSepConv(3x3, stride, depth) with strides 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1 and
depths 64, 128, 128, 256, 256, 512 (x6), 1024, 1024 -- TF-slim's 13th layer has stride 1
(Table 1 prints s2 for it). Every conv has no bias and is followed by BatchNorm and ReLU6;
``depth(d) = max(int(d * depth_multiplier), min_depth=8)``; the depthwise layer keeps its
input's channels. Head: global average pool, then ``Conv2d_1c_1x1`` (a 1x1 conv *with* bias,
no BN) to num_classes (dropout is free). ``Conv2d_11_pointwise`` and ``Conv2d_13_pointwise``
are the feature maps TF object detection's ssd_mobilenet_v1 feature extractor takes
(``features_v1`` returns them).

ShuffleNet v1, transcribed from the authors' release megvii-model/ShuffleNet-Series
``ShuffleNetV1/network.py`` and ``blocks.py`` (Zhang et al. 2017, arXiv:1707.01083):

* ``ShuffleV1Block(inp, oup, group, first_group, mid_channels = oup // 4, ksize 3, stride)``:
  1x1 conv to mid (groups 1 in the very first block, ``group`` otherwise) + BN + ReLU, 3x3
  depthwise (stride) + BN, channel shuffle (``group > 1``), 1x1 group conv to ``oup`` (stride
  1) or ``oup - inp`` (stride 2) + BN; stride 1: ``relu(x + shortcut)``; stride 2:
  ``cat(avgpool3x3/2 pad 1 (shortcut), relu(x))``. No conv has a bias.
* Network: Conv 3x3/2 (no bias) + BN + ReLU, MaxPool 3x3/2 pad 1, stages of 4, 8, 4 blocks
  (first of each stride 2), global average pool (``AvgPool2d(7)`` at 224; adaptive here so the
  twin runs at any resolution), ``Linear(c, num_classes, bias=False)``.
* ``stage_out_channels``: the release lists group 3 (0.5x: 12, 120, 240, 480; 1.0x: 24, 240,
  480, 960; 1.5x: 24, 360, 720, 1440; 2.0x: 48, 480, 960, 1920) and group 8 (0.5x: 16, 192,
  384, 768; 1.0x: 24, 384, 768, 1536; 1.5x: 24, 576, 1152, 2304; 2.0x: 48, 768, 1536, 3072);
  the paper's Table 1 gives the 1x widths of groups 1, 2, 4 (144 / 200 / 272 at stage 2,
  doubling per stage, first conv 24).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

# ------------------------------------------------------------------------------ MobileNetV1

V1_STRIDES = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)
V1_DEPTHS = (64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)


def _cbr(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


def v1_body(depth_multiplier: float = 1.0) -> nn.Sequential:
    """Conv2d_0 and Conv2d_1..13 (each a depthwise + pointwise pair) of TF-slim MobileNetV1."""
    def depth(d: int) -> int:
        return max(int(d * depth_multiplier), 8)

    layers = [_cbr(3, depth(32), 3, 2)]
    cin = depth(32)
    for stride, d in zip(V1_STRIDES, V1_DEPTHS):
        layers.append(nn.Sequential(_cbr(cin, cin, 3, stride, groups=cin),
                                    _cbr(cin, depth(d), 1)))
        cin = depth(d)
    return nn.Sequential(*layers)


class MobileNetV1(nn.Module):
    def __init__(self, depth_multiplier: float = 1.0, num_classes: int = 1000):
        super().__init__()
        self.features = v1_body(depth_multiplier)
        channels = max(int(1024 * depth_multiplier), 8)
        self.logits = nn.Conv2d(channels, num_classes, 1)     # Conv2d_1c_1x1, with bias

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x).mean((2, 3), keepdim=True)
        return torch.flatten(self.logits(x), 1)


def mobilenet_v1(depth_multiplier: float = 1.0, num_classes: int = 1000) -> nn.Module:
    return MobileNetV1(float(depth_multiplier), num_classes).eval()


def features_v1(body: nn.Sequential, x: Tensor) -> tuple[Tensor, Tensor]:
    """(Conv2d_11_pointwise, Conv2d_13_pointwise) of a v1_body."""
    c11 = body[:12](x)
    return c11, body[12:](c11)


# ------------------------------------------------------------------------------ ShuffleNet v1

RELEASED = {
    3: {"0.5x": (12, 120, 240, 480), "1.0x": (24, 240, 480, 960),
        "1.5x": (24, 360, 720, 1440), "2.0x": (48, 480, 960, 1920)},
    8: {"0.5x": (16, 192, 384, 768), "1.0x": (24, 384, 768, 1536),
        "1.5x": (24, 576, 1152, 2304), "2.0x": (48, 768, 1536, 3072)},
}
PAPER_1X = {1: (24, 144, 288, 576), 2: (24, 200, 400, 800), 4: (24, 272, 544, 1088)}


def _shuffle(x: Tensor, groups: int) -> Tensor:
    b, c, h, w = x.shape
    return x.reshape(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class ShuffleV1Block(nn.Module):
    def __init__(self, inp: int, oup: int, group: int, first_group: bool, stride: int):
        super().__init__()
        self.stride, self.group = stride, group
        mid = oup // 4
        outputs = oup - inp if stride == 2 else oup
        self.branch_main_1 = nn.Sequential(
            nn.Conv2d(inp, mid, 1, 1, 0, groups=1 if first_group else group, bias=False),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid))
        self.branch_main_2 = nn.Sequential(
            nn.Conv2d(mid, outputs, 1, 1, 0, groups=group, bias=False), nn.BatchNorm2d(outputs))
        if stride == 2:
            self.branch_proj = nn.AvgPool2d(3, 2, 1)

    def forward(self, old_x: Tensor) -> Tensor:
        x = self.branch_main_1(old_x)
        if self.group > 1:
            x = _shuffle(x, self.group)
        x = self.branch_main_2(x)
        if self.stride == 1:
            return torch.relu(x + old_x)
        return torch.cat((self.branch_proj(old_x), torch.relu(x)), 1)


class ShuffleNetV1(nn.Module):
    def __init__(self, widths, group: int, num_classes: int = 1000):
        super().__init__()
        first = widths[0]
        self.first_conv = nn.Sequential(nn.Conv2d(3, first, 3, 2, 1, bias=False),
                                        nn.BatchNorm2d(first), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        blocks, cin = [], first
        for stage, (repeats, out) in enumerate(zip((4, 8, 4), widths[1:])):
            for i in range(repeats):
                blocks.append(ShuffleV1Block(cin, out, group, stage == 0 and i == 0,
                                             2 if i == 0 else 1))
                cin = out
        self.features = nn.Sequential(*blocks)
        self.globalpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(widths[-1], num_classes, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(self.maxpool(self.first_conv(x)))
        return self.classifier(torch.flatten(self.globalpool(x), 1))


def shufflenet_v1(groups: int = 3, model_size: str = "1.0x", num_classes: int = 1000):
    """The released widths for groups 3 and 8 (every model_size), the paper's Table 1 1x
    widths for groups 1, 2, 4."""
    widths = RELEASED[groups][model_size] if groups in RELEASED else \
        {"1.0x": PAPER_1X[groups]}[model_size]
    return ShuffleNetV1(widths, groups, num_classes).eval()
