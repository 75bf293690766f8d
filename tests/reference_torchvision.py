"""Plain-PyTorch reference models re-implemented by hand from torchvision's source.

These are *hand re-implementations* (no torchvision import, no archcalc import) of four
torchvision classification models, used by the tests as an independent check of archcalc's
parameter and multiply-add counts. They were transcribed from pytorch/vision:

* ``torchvision/models/mobilenetv3.py``: ``InvertedResidualConfig`` (every width goes
  through ``_make_divisible(c * width_mult, 8)``), ``InvertedResidual`` (the 1x1 expansion
  conv is skipped when ``expanded_channels == input_channels``; SE squeeze width
  ``_make_divisible(expanded_channels // 4, 8)``, Hardsigmoid gate; linear projection),
  ``MobileNetV3`` (BatchNorm eps=0.001, momentum=0.01; stem 3x3/2 Hardswish; last conv
  ``6 * last_out`` channels, *not* rounded; classifier Linear -> Hardswish -> Dropout ->
  Linear) and ``_mobilenet_v3_conf`` (reduced_tail=False, dilated=False; ``last_channel =
  _make_divisible(1280 or 1024 * width_mult, 8)``, no ``max(1.0, width_mult)`` as in V2).
* ``torchvision/models/efficientnet.py``: ``MBConvConfig`` / ``MBConv`` (expanded width
  ``_make_divisible(input_channels * expand_ratio, 8)``, expansion skipped when equal to the
  input width, SE squeeze ``max(1, input_channels // 4)`` -- note: of the block *input*
  width, not the expanded width, and not rounded -- SiLU inside SE, Sigmoid gate),
  ``EfficientNet`` (stem 3x3/2 SiLU, last conv ``4 * 320``, classifier Dropout -> Linear)
  and the B0 setting (width 1.0, depth 1.0).
* ``torchvision/models/shufflenetv2.py``: ``InvertedResidual`` (branch1 only when
  stride > 1: dw3x3+BN, 1x1+BN+ReLU; branch2: 1x1+BN+ReLU, dw3x3+BN, 1x1+BN+ReLU; all convs
  bias=False; channel split for stride 1, channel shuffle with 2 groups), ``ShuffleNetV2``
  (conv1 3x3/2 + BN + ReLU, maxpool 3x3/2 pad 1, stages [4, 8, 4], conv5 1x1 + BN + ReLU,
  global mean, ``nn.Linear``) and ``stages_out_channels`` of each size.
* ``torchvision/ops/misc.py``: ``Conv2dNormActivation`` (padding ``(k - 1) // 2 *
  dilation``; conv ``bias = norm_layer is None``, i.e. bias=False whenever a BN follows) and
  ``SqueezeExcitation`` (AdaptiveAvgPool2d(1), fc1/fc2 are 1x1 ``nn.Conv2d`` *with* bias).
* ``torchvision/models/_utils.py`` (formerly in ``mobilenetv2.py``): ``_make_divisible``,
  transcribed verbatim below (float arithmetic).

Dropout and stochastic depth are left out: they have no parameters and no multiply-adds and
are identity in eval mode, so they cannot change any count or output shape.

torchvision's published meta numbers (``Weights.meta["num_params"]`` and ``"_ops"``, the
latter shown as "GFLOPS" in the docs; torchvision's "GFLOPS" there are really GMACs,
i.e. multiply-adds):

* mobilenet_v3_large: num_params 5483032, _ops 0.217 (IMAGENET1K_V1 and V2) --
  ``torchvision/models/mobilenetv3.py`` (pytorch/vision @ 2f7f558158c8) and
  https://pytorch.org/vision/stable/models/generated/torchvision.models.mobilenet_v3_large.html
  (num_params 5483032, GFLOPS 0.22).
* mobilenet_v3_small: num_params 2542856, _ops 0.057 (IMAGENET1K_V1) --
  ``torchvision/models/mobilenetv3.py`` (pytorch/vision @ 2f7f558158c8).
* efficientnet_b0: num_params 5288548, _ops 0.386 (IMAGENET1K_V1) --
  https://pytorch.org/vision/stable/models/generated/torchvision.models.efficientnet_b0.html
  (num_params 5288548, GFLOPS 0.39, rounded); 0.386 is the unrounded ``"_ops"`` in the
  multi-weight ``torchvision/models/efficientnet.py`` meta (seen via code search in copies of
  that file; the stored pytorch/vision revision predates the meta).
* shufflenet_v2_x0_5 / x1_0 / x1_5 / x2_0: num_params 1366792 / 2278604 / 3503624 / 7393996,
  _ops 0.04 / 0.145 / 0.296 / 0.583 -- ``torchvision/models/shufflenetv2.py`` weights meta
  (multi-weight API version, seen via code search) and
  https://pytorch.org/vision/main/models/generated/torchvision.models.shufflenet_v2_x1_0.html
  (num_params 2278604).
"""
from __future__ import annotations

import math
from typing import List, Optional

from reference_mobilenet_v2 import _make_divisible  # torchvision _utils.py, verbatim (shared)
import torch
from torch import nn, Tensor

# name -> (num_params, _ops in GFLOPS as published by torchvision; see the module docstring
# for where each number was found: torchvision's Weights meta in mobilenetv3.py,
# efficientnet.py, shufflenetv2.py, and the pytorch.org/vision model pages).
TORCHVISION_META = {
    "mobilenet_v3_large": (5483032, 0.217),
    "mobilenet_v3_small": (2542856, 0.057),
    "efficientnet_b0": (5288548, 0.386),
    "shufflenet_v2_x0_5": (1366792, 0.04),
    "shufflenet_v2_x1_0": (2278604, 0.145),
    "shufflenet_v2_x1_5": (3503624, 0.296),
    "shufflenet_v2_x2_0": (7393996, 0.583),
}


def _conv_norm_act(in_ch, out_ch, kernel_size=3, stride=1, groups=1, norm_layer=nn.BatchNorm2d,
                   activation_layer=nn.ReLU, dilation=1):
    """ops.misc.Conv2dNormActivation: conv (bias only if no norm) + norm + activation."""
    padding = (kernel_size - 1) // 2 * dilation
    layers: List[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel_size, stride, padding, dilation=dilation, groups=groups,
                  bias=norm_layer is None)
    ]
    if norm_layer is not None:
        layers.append(norm_layer(out_ch))
    if activation_layer is not None:
        layers.append(activation_layer(inplace=True))
    return nn.Sequential(*layers)


class _SqueezeExcitation(nn.Module):
    """ops.misc.SqueezeExcitation: avgpool -> fc1 (1x1 conv, bias) -> act -> fc2 -> gate."""

    def __init__(self, input_channels, squeeze_channels, activation=nn.ReLU,
                 scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x: Tensor) -> Tensor:
        s = self.avgpool(x)
        s = self.activation(self.fc1(s))
        s = self.scale_activation(self.fc2(s))
        return s * x


# --------------------------------------------------------------------------- MobileNetV3

class _V3Config:
    def __init__(self, input_channels, kernel, expanded_channels, out_channels, use_se,
                 activation, stride, dilation, width_mult):
        self.input_channels = _make_divisible(input_channels * width_mult, 8)
        self.kernel = kernel
        self.expanded_channels = _make_divisible(expanded_channels * width_mult, 8)
        self.out_channels = _make_divisible(out_channels * width_mult, 8)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation


class _V3InvertedResidual(nn.Module):
    def __init__(self, cnf: _V3Config, norm_layer):
        super().__init__()
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        act = nn.Hardswish if cnf.use_hs else nn.ReLU
        layers: List[nn.Module] = []
        if cnf.expanded_channels != cnf.input_channels:
            layers.append(_conv_norm_act(cnf.input_channels, cnf.expanded_channels, 1,
                                         norm_layer=norm_layer, activation_layer=act))
        stride = 1 if cnf.dilation > 1 else cnf.stride
        layers.append(_conv_norm_act(cnf.expanded_channels, cnf.expanded_channels, cnf.kernel,
                                     stride=stride, dilation=cnf.dilation,
                                     groups=cnf.expanded_channels, norm_layer=norm_layer,
                                     activation_layer=act))
        if cnf.use_se:
            squeeze_channels = _make_divisible(cnf.expanded_channels // 4, 8)
            layers.append(_SqueezeExcitation(cnf.expanded_channels, squeeze_channels,
                                             scale_activation=nn.Hardsigmoid))
        layers.append(_conv_norm_act(cnf.expanded_channels, cnf.out_channels, 1,
                                     norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = out + x
        return out


class _MobileNetV3(nn.Module):
    def __init__(self, setting: List[_V3Config], last_channel: int, num_classes: int = 1000):
        super().__init__()
        norm_layer = lambda c: nn.BatchNorm2d(c, eps=0.001, momentum=0.01)  # noqa: E731
        layers: List[nn.Module] = [
            _conv_norm_act(3, setting[0].input_channels, 3, stride=2, norm_layer=norm_layer,
                           activation_layer=nn.Hardswish)
        ]
        for cnf in setting:
            layers.append(_V3InvertedResidual(cnf, norm_layer))
        lastconv_in = setting[-1].out_channels
        lastconv_out = 6 * lastconv_in
        layers.append(_conv_norm_act(lastconv_in, lastconv_out, 1, norm_layer=norm_layer,
                                     activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        # Dropout(p=0.2) between Hardswish and the last Linear omitted (no params / madds).
        self.classifier = nn.Sequential(
            nn.Linear(lastconv_out, last_channel),
            nn.Hardswish(inplace=True),
            nn.Linear(last_channel, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def _mobilenet_v3_conf(arch: str, width_mult: float = 1.0):
    """torchvision _mobilenet_v3_conf with reduced_tail=False, dilated=False."""
    def b(*args):
        return _V3Config(*args, width_mult=width_mult)

    if arch == "mobilenet_v3_large":
        setting = [
            b(16, 3, 16, 16, False, "RE", 1, 1),
            b(16, 3, 64, 24, False, "RE", 2, 1),
            b(24, 3, 72, 24, False, "RE", 1, 1),
            b(24, 5, 72, 40, True, "RE", 2, 1),
            b(40, 5, 120, 40, True, "RE", 1, 1),
            b(40, 5, 120, 40, True, "RE", 1, 1),
            b(40, 3, 240, 80, False, "HS", 2, 1),
            b(80, 3, 200, 80, False, "HS", 1, 1),
            b(80, 3, 184, 80, False, "HS", 1, 1),
            b(80, 3, 184, 80, False, "HS", 1, 1),
            b(80, 3, 480, 112, True, "HS", 1, 1),
            b(112, 3, 672, 112, True, "HS", 1, 1),
            b(112, 5, 672, 160, True, "HS", 2, 1),
            b(160, 5, 960, 160, True, "HS", 1, 1),
            b(160, 5, 960, 160, True, "HS", 1, 1),
        ]
        last_channel = _make_divisible(1280 * width_mult, 8)
    elif arch == "mobilenet_v3_small":
        setting = [
            b(16, 3, 16, 16, True, "RE", 2, 1),
            b(16, 3, 72, 24, False, "RE", 2, 1),
            b(24, 3, 88, 24, False, "RE", 1, 1),
            b(24, 5, 96, 40, True, "HS", 2, 1),
            b(40, 5, 240, 40, True, "HS", 1, 1),
            b(40, 5, 240, 40, True, "HS", 1, 1),
            b(40, 5, 120, 48, True, "HS", 1, 1),
            b(48, 5, 144, 48, True, "HS", 1, 1),
            b(48, 5, 288, 96, True, "HS", 2, 1),
            b(96, 5, 576, 96, True, "HS", 1, 1),
            b(96, 5, 576, 96, True, "HS", 1, 1),
        ]
        last_channel = _make_divisible(1024 * width_mult, 8)
    else:
        raise ValueError(arch)
    return setting, last_channel


def _minimal(setting):
    """TF-slim's minimalistic MobileNetV3 (mobilenet_v3.py V3_*_MINIMALISTIC, README: "no
    squeeze-and-excite, no hard-swish, no 5x5 convolutions"): every block 3x3, no SE, ReLU."""
    for cnf in setting:
        cnf.kernel, cnf.use_se, cnf.use_hs = 3, False, False
    return setting


def mobilenet_v3_large(width_mult: float = 1.0, num_classes: int = 1000,
                       minimalistic: bool = False) -> nn.Module:
    setting, last_channel = _mobilenet_v3_conf("mobilenet_v3_large", float(width_mult))
    return _MobileNetV3(_minimal(setting) if minimalistic else setting, last_channel,
                        num_classes).eval()


def mobilenet_v3_small(width_mult: float = 1.0, num_classes: int = 1000,
                       minimalistic: bool = False) -> nn.Module:
    setting, last_channel = _mobilenet_v3_conf("mobilenet_v3_small", float(width_mult))
    return _MobileNetV3(_minimal(setting) if minimalistic else setting, last_channel,
                        num_classes).eval()


# --------------------------------------------------------------------------- EfficientNet

class _MBConv(nn.Module):
    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels,
                 norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.use_res_connect = stride == 1 and input_channels == out_channels
        act = nn.SiLU
        layers: List[nn.Module] = []
        expanded = _make_divisible(input_channels * expand_ratio, 8)
        if expanded != input_channels:
            layers.append(_conv_norm_act(input_channels, expanded, 1, norm_layer=norm_layer,
                                         activation_layer=act))
        layers.append(_conv_norm_act(expanded, expanded, kernel, stride=stride, groups=expanded,
                                     norm_layer=norm_layer, activation_layer=act))
        squeeze_channels = max(1, input_channels // 4)
        layers.append(_SqueezeExcitation(expanded, squeeze_channels,
                                         activation=lambda: nn.SiLU(inplace=True)))
        layers.append(_conv_norm_act(expanded, out_channels, 1, norm_layer=norm_layer,
                                     activation_layer=None))
        self.block = nn.Sequential(*layers)
        # StochasticDepth on the residual branch omitted (identity in eval, no params).

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = out + x
        return out


def efficientnet_b0(num_classes: int = 1000) -> nn.Module:
    width_mult, depth_mult = 1.0, 1.0

    def ch(c):
        return _make_divisible(c * width_mult, 8)

    # expand_ratio, kernel, stride, input_channels, out_channels, num_layers
    setting = [
        (1, 3, 1, 32, 16, 1),
        (6, 3, 2, 16, 24, 2),
        (6, 5, 2, 24, 40, 2),
        (6, 3, 2, 40, 80, 3),
        (6, 5, 1, 80, 112, 3),
        (6, 5, 2, 112, 192, 4),
        (6, 3, 1, 192, 320, 1),
    ]
    layers: List[nn.Module] = [
        _conv_norm_act(3, ch(setting[0][3]), 3, stride=2, activation_layer=nn.SiLU)
    ]
    for t, k, s, cin, cout, n in setting:
        cin, cout, n = ch(cin), ch(cout), int(math.ceil(n * depth_mult))
        stage = []
        for i in range(n):
            stage.append(_MBConv(t, k, s if i == 0 else 1, cin if i == 0 else cout, cout))
        layers.append(nn.Sequential(*stage))
    lastconv_in = ch(setting[-1][4])
    lastconv_out = 4 * lastconv_in
    layers.append(_conv_norm_act(lastconv_in, lastconv_out, 1, activation_layer=nn.SiLU))
    model = nn.Sequential()
    model.features = nn.Sequential(*layers)
    model.avgpool = nn.AdaptiveAvgPool2d(1)
    model.flatten = nn.Flatten(1)
    # Dropout(p=0.2) before the Linear omitted (no params / madds).
    model.classifier = nn.Linear(lastconv_out, num_classes)
    return model.eval()


# --------------------------------------------------------------------------- ShuffleNetV2

SHUFFLENET_V2_STAGES_OUT_CHANNELS = {
    "x0_5": [24, 48, 96, 192, 1024],
    "x1_0": [24, 116, 232, 464, 1024],
    "x1_5": [24, 176, 352, 704, 1024],
    "x2_0": [24, 244, 488, 976, 2048],
}


def _channel_shuffle(x: Tensor, groups: int) -> Tensor:
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, c, h, w)


class _ShuffleBlock(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int):
        super().__init__()
        self.stride = stride
        bf = oup // 2
        if stride == 1 and inp != bf << 1:
            raise ValueError("stride 1 block needs inp == oup")
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, bias=False, groups=inp),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, bf, 1, 1, 0, bias=False),
                nn.BatchNorm2d(bf),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else bf, bf, 1, 1, 0, bias=False),
            nn.BatchNorm2d(bf),
            nn.ReLU(inplace=True),
            nn.Conv2d(bf, bf, 3, stride, 1, bias=False, groups=bf),
            nn.BatchNorm2d(bf),
            nn.Conv2d(bf, bf, 1, 1, 0, bias=False),
            nn.BatchNorm2d(bf),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return _channel_shuffle(out, 2)


class _ShuffleNetV2(nn.Module):
    def __init__(self, stages_repeats, stages_out_channels, num_classes=1000):
        super().__init__()
        c = stages_out_channels[0]
        self.conv1 = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c),
                                   nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        inp = c
        for name, repeats, oup in zip(("stage2", "stage3", "stage4"), stages_repeats,
                                      stages_out_channels[1:]):
            seq = [_ShuffleBlock(inp, oup, 2)] + [_ShuffleBlock(oup, oup, 1)
                                                  for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*seq))
            inp = oup
        c = stages_out_channels[-1]
        self.conv5 = nn.Sequential(nn.Conv2d(inp, c, 1, 1, 0, bias=False), nn.BatchNorm2d(c),
                                   nn.ReLU(inplace=True))
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        x = self.conv5(x).mean([2, 3])
        return self.fc(x)


def shufflenet_v2(size: str, num_classes: int = 1000) -> nn.Module:
    return _ShuffleNetV2([4, 8, 4], SHUFFLENET_V2_STAGES_OUT_CHANNELS[size], num_classes).eval()


# --------------------------------------------------------------------------- counting

def count(model: nn.Module, resolution: int = 224):
    """(params, madds): sum of p.numel(), and FlopCounterMode total // 2 for one 1x3xRxR pass.

    FlopCounterMode counts convolutions and matmuls (2 flops per multiply-add, biases,
    BatchNorm, activations, pooling and elementwise ops not counted).
    """
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in model.parameters())
    model.eval()
    x = torch.zeros(1, 3, resolution, resolution)
    with torch.inference_mode():
        fc = FlopCounterMode(display=False)
        with fc:
            model(x)
    return params, fc.get_total_flops() // 2


if __name__ == "__main__":   # pragma: no cover - print the counts next to torchvision's meta
    cases = [
        ("mobilenet_v3_large", lambda: mobilenet_v3_large()),
        ("mobilenet_v3_small", lambda: mobilenet_v3_small()),
        ("efficientnet_b0", lambda: efficientnet_b0()),
    ] + [(f"shufflenet_v2_{s}", (lambda s=s: shufflenet_v2(s)))
         for s in SHUFFLENET_V2_STAGES_OUT_CHANNELS]
    for name, build in cases:
        p, m = count(build())
        meta_p, meta_ops = TORCHVISION_META[name]
        print(f"{name:22s} params {p:>9,d} (meta {meta_p:>9,d} {'OK' if p == meta_p else 'DIFF'})"
              f"  madds {m:>11,d} ({m / 1e9:.3f} G; meta _ops {meta_ops})")
    for name, build in (("mobilenet_v3_large@0.75", lambda: mobilenet_v3_large(0.75)),
                        ("mobilenet_v3_small@0.75", lambda: mobilenet_v3_small(0.75))):
        p, m = count(build())
        print(f"{name:22s} params {p:>9,d}  madds {m:>11,d}")
