"""Plain-PyTorch twin of torchvision's MNASNet (B1) and a hand-count of MnasNet-A1.

No torchvision or archcalc import. Transcribed from pytorch/vision
``torchvision/models/mnasnet.py`` (torchvision 0.29.1 as installed; ``_version = 2``):

* ``_round_to_multiple_of(val, divisor=8, round_up_bias=0.9)`` and ``_get_depths(alpha)``,
  verbatim below: *every* depth of ``[32, 16, 24, 40, 80, 96, 192, 320]`` is scaled, including
  the stem (32) and the separable layer's output (16). (Version 1, and the stored pytorch/vision
  revision 05b387b8, kept the stem at 32 / 16; torchvision patches a v1 checkpoint's stem when
  it loads one.) The last conv stays 1280 at every alpha.
* stem: conv 3x3 / 2 (no bias) + BN + ReLU, depthwise 3x3 + BN + ReLU, 1x1 to depths[1] + BN
  (no activation, no skip);
* ``_stack(in, out, k, s, t, repeats)``: inverted residuals (1x1 expand to ``in * t`` -- note:
  no rounding of the expanded width -- + BN + ReLU, depthwise k x k / s pad k // 2 + BN + ReLU,
  linear 1x1 + BN; residual when stride 1 and in == out) with (k, s, t, repeats) =
  (3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1);
* 1x1 conv depths[7] -> 1280 + BN + ReLU, global mean, Dropout, Linear(1280, classes) with bias.
  All convs bias=False.

torchvision's weights meta (``num_params``, ``_ops`` in GMACs): mnasnet0_5 2,218,512 / 0.104;
mnasnet0_75 3,170,208 / 0.215; mnasnet1_0 4,383,312 / 0.314; mnasnet1_3 6,282,256 / 0.526
(``torchvision/models/mnasnet.py``, torchvision 0.29.1).

MnasNet-A1 (Tan et al. 2019, arXiv:1807.11626, Fig. 7(a); the same blocks as
tensorflow/tpu models/official/mnasnet/mnasnet_models.py ``mnasnet_a1``):
``MNASNET_A1_BLOCKS`` below. Its SE squeeze width is ``max(1, int(input_filters * 0.25))``
(of the block *input*), the SE convs have biases, and the stem is conv 3x3/2 32 + a
depthwise-separable 16 (``SepConv``, k3). The paper: 3.9M params, 312M MAdds at 224.
"""
from __future__ import annotations

from typing import List

import torch
from torch import nn, Tensor

TORCHVISION_MNASNET_META = {   # alpha -> (num_params, _ops GMACs)
    0.5: (2218512, 0.104),
    0.75: (3170208, 0.215),
    1.0: (4383312, 0.314),
    1.3: (6282256, 0.526),
}

_BN_MOMENTUM = 1 - 0.9997


def _round_to_multiple_of(val: float, divisor: int, round_up_bias: float = 0.9) -> int:
    """torchvision mnasnet.py, verbatim (float arithmetic)."""
    if not 0.0 < round_up_bias < 1.0:
        raise ValueError("round_up_bias should be greater than 0.0 and smaller than 1.0")
    new_val = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return new_val if new_val >= round_up_bias * val else new_val + divisor


def _get_depths(alpha: float) -> List[int]:
    """torchvision mnasnet.py ``_get_depths``, verbatim."""
    depths = [32, 16, 24, 40, 80, 96, 192, 320]
    return [_round_to_multiple_of(depth * alpha, 8) for depth in depths]


class _InvertedResidual(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int,
                 expansion_factor: int, bn_momentum: float = 0.1):
        super().__init__()
        mid_ch = in_ch * expansion_factor
        self.apply_residual = in_ch == out_ch and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_ch, mid_ch, 1, bias=False),
            nn.BatchNorm2d(mid_ch, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, mid_ch, kernel_size, padding=kernel_size // 2, stride=stride,
                      groups=mid_ch, bias=False),
            nn.BatchNorm2d(mid_ch, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch, momentum=bn_momentum),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x) + x if self.apply_residual else self.layers(x)


def _stack(in_ch, out_ch, kernel_size, stride, exp_factor, repeats, bn_momentum):
    first = _InvertedResidual(in_ch, out_ch, kernel_size, stride, exp_factor, bn_momentum)
    rest = [_InvertedResidual(out_ch, out_ch, kernel_size, 1, exp_factor, bn_momentum)
            for _ in range(1, repeats)]
    return nn.Sequential(first, *rest)


# (kernel, stride, expansion, repeats) of the six stacks, torchvision MNASNet.__init__
MNASNET_B1_STACKS = [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4),
                     (3, 1, 6, 1)]


class MNASNet(nn.Module):
    def __init__(self, alpha: float, num_classes: int = 1000):
        super().__init__()
        d = _get_depths(alpha)
        layers: List[nn.Module] = [
            nn.Conv2d(3, d[0], 3, padding=1, stride=2, bias=False),
            nn.BatchNorm2d(d[0], momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[0], 3, padding=1, stride=1, groups=d[0], bias=False),
            nn.BatchNorm2d(d[0], momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[1], 1, padding=0, stride=1, bias=False),
            nn.BatchNorm2d(d[1], momentum=_BN_MOMENTUM),
        ]
        for i, (k, s, t, n) in enumerate(MNASNET_B1_STACKS):
            layers.append(_stack(d[i + 1], d[i + 2], k, s, t, n, _BN_MOMENTUM))
        layers += [nn.Conv2d(d[7], 1280, 1, padding=0, stride=1, bias=False),
                   nn.BatchNorm2d(1280, momentum=_BN_MOMENTUM), nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers)
        # Dropout(p=0.2) before the Linear omitted (no params / madds)
        self.classifier = nn.Sequential(nn.Linear(1280, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.layers(x).mean([2, 3]))


def mnasnet(alpha: float, num_classes: int = 1000) -> MNASNet:
    """torchvision mnasnet0_5 / 0_75 / 1_0 / 1_3 for alpha 0.5 / 0.75 / 1.0 / 1.3."""
    return MNASNet(alpha, num_classes).eval()


def mnasnet_variant(variant: str = "a1", alpha: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """specs/mnasnet.yaml's `variant` parameter: "a1" the paper's MnasNet-A1 (alpha 1 only),
    "b1" torchvision's mnasnet at depth multiplier `alpha`."""
    if variant == "a1":
        if float(alpha) != 1.0:
            raise ValueError("MnasNet-A1 is written at alpha 1 only")
        return mnasnet_a1(num_classes)
    return mnasnet(float(alpha), num_classes)


# --------------------------------------------------------------------------- MnasNet-A1

# (expansion, kernel, stride, output channels, repeats, se) -- arXiv:1807.11626 Fig. 7(a);
# tensorflow/tpu mnasnet_models.py mnasnet_a1 block strings
# 'r1_k3_s11_e1_i32_o16_noskip', 'r2_k3_s22_e6_i16_o24', 'r3_k5_s22_e3_i24_o40_se0.25',
# 'r4_k3_s22_e6_i40_o80', 'r2_k3_s11_e6_i80_o112_se0.25', 'r3_k5_s22_e6_i112_o160_se0.25',
# 'r1_k3_s11_e6_i160_o320'
MNASNET_A1_BLOCKS = [
    (1, 3, 1, 16, 1, False),    # SepConv (k3x3), no skip
    (6, 3, 2, 24, 2, False),
    (3, 5, 2, 40, 3, True),
    (6, 3, 2, 80, 4, False),
    (6, 3, 1, 112, 2, True),
    (6, 5, 2, 160, 3, True),
    (6, 3, 1, 320, 1, False),
]



class _SE(nn.Module):
    """tensorflow/tpu mnasnet_model.py: mean -> 1x1 reduce (bias) -> ReLU -> 1x1 expand (bias)
    -> sigmoid gate, on the expanded (depthwise) output."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.expand = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        s = torch.relu(self.reduce(x.mean([2, 3], keepdim=True)))
        return x * torch.sigmoid(self.expand(s))


class _A1Block(nn.Module):
    """MnasNet MBConv: [1x1 expand + BN + ReLU] (t > 1), kxk depthwise + BN + ReLU, [SE],
    1x1 linear projection + BN; identity skip when stride 1 and in == out (not the first
    SepConv block: 'noskip')."""

    def __init__(self, cin, cout, t, k, stride, se, skip=True):
        super().__init__()
        hidden = cin * t
        layers: List[nn.Module] = []
        if t != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                       nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, k, stride, k // 2, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU(inplace=True)]
        if se:
            layers.append(_SE(hidden, max(1, int(cin * 0.25))))
        layers += [nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.block = nn.Sequential(*layers)
        self.skip = skip and stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x) + x if self.skip else self.block(x)


class MnasNetA1(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: List[nn.Module] = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32),
                                   nn.ReLU(inplace=True)]
        cin = 32
        for j, (t, k, s, cout, n, se) in enumerate(MNASNET_A1_BLOCKS):
            for i in range(n):
                layers.append(_A1Block(cin, cout, t, k, s if i == 0 else 1, se, skip=j > 0))
                cin = cout
        layers += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).mean([2, 3]))


def mnasnet_a1(num_classes: int = 1000) -> MnasNetA1:
    return MnasNetA1(num_classes).eval()


def mnasnet_a1_counts(resolution: int = 224, num_classes: int = 1000):
    """(params, madds, bn_params) of MnasNet-A1 by hand: convs and FC with their biases
    (SE convs and the FC have biases, other convs none), BN gamma/beta separately."""
    params = madds = bn = 0
    h = (resolution + 1) // 2                            # stem 3x3 / 2, SAME
    params += 3 * 3 * 3 * 32
    madds += 3 * 3 * 3 * 32 * h * h
    bn += 2 * 32
    cin = 32
    for t, k, s, cout, n, se in MNASNET_A1_BLOCKS:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            if t != 1:
                params += cin * hidden
                madds += cin * hidden * h * h
                bn += 2 * hidden
            h = (h + stride - 1) // stride
            params += k * k * hidden
            madds += k * k * hidden * h * h
            bn += 2 * hidden
            if se:
                sq = max(1, int(cin * 0.25))
                params += hidden * sq + sq + sq * hidden + hidden
                madds += hidden * sq + sq * hidden
            params += hidden * cout
            madds += hidden * cout * h * h
            bn += 2 * cout
            cin = cout
    params += cin * 1280
    madds += cin * 1280 * h * h
    bn += 2 * 1280
    params += 1280 * num_classes + num_classes
    madds += 1280 * num_classes
    return params, madds, bn


def count(model: nn.Module, resolution: int = 224):
    """(params, madds): sum of numel, FlopCounterMode total // 2 at 1x3xRxR."""
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in model.parameters())
    model.eval()
    with torch.inference_mode():
        fc = FlopCounterMode(display=False)
        with fc:
            model(torch.zeros(1, 3, resolution, resolution))
    return params, fc.get_total_flops() // 2
