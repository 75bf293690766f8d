"""Plain-PyTorch twins of segmentation networks, written by hand (no torchvision, no archcalc).

Independent checks of the segmentation specs' costs; counted like
tests/reference_torchvision.py (sum of ``p.numel()``, FlopCounterMode total // 2, which counts
no interpolation, pooling, normalisation or element-wise op).

1. torchvision's MobileNetV3-Large segmentation models, transcribed from pytorch/vision
   (torchvision 0.29.1 as installed) ``torchvision/models/segmentation/lraspp.py``,
   ``deeplabv3.py``, ``fcn.py`` (``FCNHead``), ``_utils.py`` and ``models/mobilenetv3.py``:

   * backbone ``mobilenet_v3_large(dilated=True).features``: the last three bneck rows (C4:
     112 -> 160 k5 stride 2, and two 160 -> 160 k5) get dilation 2, and a dilated block runs
     with stride 1 (``stride = 1 if cnf.dilation > 1 else cnf.stride``), so the output stride
     is 16; depthwise padding ``(k - 1) // 2 * dilation``. ``_is_cn`` is ``cnf.stride > 1``
     and stays True for the dilated C4 block, so ``stage_indices`` = [0, 2, 4, 7, 13, 16]:
     "low" = ``features[4]`` (40 channels, output stride 8), "high"/"out" = ``features[16]``
     (the 1x1 conv to 960, Hardswish; output stride 16). The classifier (avgpool, Linear
     960 -> 1280 -> 1000) is not part of the segmentation model.
   * ``LRASPPHead`` (inter_channels 128): cbr = 1x1 conv 960 -> 128 (no bias) + BN + ReLU;
     scale = AdaptiveAvgPool2d(1) + 1x1 conv 960 -> 128 (no bias) + Sigmoid; x = cbr * scale,
     bilinear up to the low map; ``low_classifier`` 1x1 conv 40 -> classes (bias) +
     ``high_classifier`` 1x1 conv 128 -> classes (bias); then bilinear up to the input.
   * ``DeepLabHead(960, classes)`` with ``atrous_rates=(12, 24, 36)`` (the default, also at
     output stride 16): ASPP with out_channels 256: 1x1 conv + BN + ReLU, three 3x3 convs with
     dilation 12 / 24 / 36 (padding = dilation) + BN + ReLU, image pooling
     (AdaptiveAvgPool2d(1), 1x1 conv, BN, ReLU, bilinear back), all convs bias=False; project
     1x1 1280 -> 256 + BN + ReLU (+ Dropout 0.5); then 3x3 conv 256 -> 256 (no bias) + BN +
     ReLU, 1x1 conv 256 -> classes (bias). ``aux=True`` adds ``FCNHead(40, classes)`` on the low
     map (3x3 conv 40 -> 10, BN, ReLU, Dropout 0.1, 1x1 conv 10 -> classes with bias): the
     COCO_WITH_VOC_LABELS_V1 weights have it (meta num_params 11,029,328); without it the model
     is what ``aux_loss=False`` builds.

2. DeepLabv3 heads on MobileNetV2 / MobileNetV1 as the MobileNetV2 paper's Table 7 describes
   them (Sandler et al. 2018, arXiv:1801.04381, Sec. 6.3), in the structure of TF DeepLab
   (tensorflow/models research/deeplab ``core/feature_extractor.py``: MobileNetV2's final
   endpoint ``layer_18``, i.e. the 320-channel output of the last bottleneck, before the 1x1
   conv to 1280 = "the second last feature map"; ``model.py`` ``extract_features``): image
   pooling (global average, 1x1 conv to 256 + BN + ReLU, bilinear back), a 1x1 conv to 256 +
   BN + ReLU, with ``aspp=True`` three 3x3 convs to 256 (+ BN + ReLU) at atrous rates
   (6, 12, 18) at output stride 16 and (12, 24, 36) at 8, concat, 1x1 projection to 256 + BN +
   ReLU, and 1x1 logits to 21 classes with bias. The backbone's strides past the output stride
   become dilation (TF-slim ``mobilenet.py``: the block that would stride runs at stride 1 and
   multiplies the rate of the blocks after it). MobileNetV1: TF-slim ``mobilenet_v1_base`` to
   ``Conv2d_13_pointwise`` (1024 channels). Convs before a BN have no bias.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Sequence

import torch
from torch import nn, Tensor
from torch.nn import functional as F

from reference_torchvision import _conv_norm_act, _V3Config, _V3InvertedResidual

# --------------------------------------------------------------------------- torchvision


def mobilenet_v3_large_dilated_features(width_mult: float = 1.0) -> nn.Sequential:
    """torchvision mobilenet_v3_large(dilated=True).features (reduced_tail=False)."""
    def b(cin, k, exp, cout, se, act, s, d):
        return _V3Config(cin, k, exp, cout, se, act, s, d, width_mult=width_mult)

    setting = [
        b(16, 3, 16, 16, False, "RE", 1, 1),
        b(16, 3, 64, 24, False, "RE", 2, 1),    # C1
        b(24, 3, 72, 24, False, "RE", 1, 1),
        b(24, 5, 72, 40, True, "RE", 2, 1),     # C2
        b(40, 5, 120, 40, True, "RE", 1, 1),
        b(40, 5, 120, 40, True, "RE", 1, 1),
        b(40, 3, 240, 80, False, "HS", 2, 1),   # C3
        b(80, 3, 200, 80, False, "HS", 1, 1),
        b(80, 3, 184, 80, False, "HS", 1, 1),
        b(80, 3, 184, 80, False, "HS", 1, 1),
        b(80, 3, 480, 112, True, "HS", 1, 1),
        b(112, 3, 672, 112, True, "HS", 1, 1),
        b(112, 5, 672, 160, True, "HS", 2, 2),  # C4 (dilated: runs at stride 1)
        b(160, 5, 960, 160, True, "HS", 1, 2),
        b(160, 5, 960, 160, True, "HS", 1, 2),
    ]
    norm_layer = lambda c: nn.BatchNorm2d(c, eps=0.001, momentum=0.01)  # noqa: E731
    layers: List[nn.Module] = [
        _conv_norm_act(3, setting[0].input_channels, 3, stride=2, norm_layer=norm_layer,
                       activation_layer=nn.Hardswish)
    ]
    layers += [_V3InvertedResidual(cnf, norm_layer) for cnf in setting]
    last_in = setting[-1].out_channels
    layers.append(_conv_norm_act(last_in, 6 * last_in, 1, norm_layer=norm_layer,
                                 activation_layer=nn.Hardswish))
    return nn.Sequential(*layers)


# features[4] = low (C2, output stride 8); features[16] = high / out (output stride 16)
LOW_POS, HIGH_POS = 4, 16


class _V3Backbone(nn.Module):
    """IntermediateLayerGetter over features[:17], returning {"low", "high"}."""

    def __init__(self):
        super().__init__()
        self.features = mobilenet_v3_large_dilated_features()

    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        out = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i == LOW_POS:
                out["low"] = x
        out["high"] = x
        return out


class LRASPPHead(nn.Module):
    def __init__(self, low_channels: int, high_channels: int, num_classes: int,
                 inter_channels: int = 128):
        super().__init__()
        self.cbr = nn.Sequential(nn.Conv2d(high_channels, inter_channels, 1, bias=False),
                                 nn.BatchNorm2d(inter_channels), nn.ReLU(inplace=True))
        self.scale = nn.Sequential(nn.AdaptiveAvgPool2d(1),
                                   nn.Conv2d(high_channels, inter_channels, 1, bias=False),
                                   nn.Sigmoid())
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, low: Tensor, high: Tensor) -> Tensor:
        x = self.cbr(high) * self.scale(high)
        x = F.interpolate(x, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.low_classifier(low) + self.high_classifier(x)


class LRASPP(nn.Module):
    def __init__(self, num_classes: int = 21):
        super().__init__()
        self.backbone = _V3Backbone()
        self.classifier = LRASPPHead(40, 960, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        f = self.backbone(x)
        out = self.classifier(f["low"], f["high"])
        return F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """torchvision segmentation.deeplabv3.ASPP (also TF DeepLab's ASPP with image pooling).

    ``rates=()`` leaves only the 1x1 branch and image pooling (Table 7's "no ASPP" head)."""

    def __init__(self, in_channels: int, rates: Sequence[int], out_channels: int = 256,
                 pooling_first: bool = False):
        super().__init__()
        branches: List[nn.Module] = [nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU())]
        for r in rates:
            branches.append(nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 3, padding=r, dilation=r, bias=False),
                nn.BatchNorm2d(out_channels), nn.ReLU()))
        pool = nn.Sequential(nn.AdaptiveAvgPool2d(1),
                             nn.Conv2d(in_channels, out_channels, 1, bias=False),
                             nn.BatchNorm2d(out_channels), nn.ReLU())
        # torchvision appends the pooling branch last, TF DeepLab puts it first; the order of
        # the concat changes no count.
        self.pool = pool
        self.convs = nn.ModuleList(branches)
        self.pooling_first = pooling_first
        n = len(branches) + 1
        self.project = nn.Sequential(nn.Conv2d(n * out_channels, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels), nn.ReLU())

    def forward(self, x: Tensor) -> Tensor:
        p = F.interpolate(self.pool(x), size=x.shape[-2:], mode="bilinear", align_corners=False)
        res = [conv(x) for conv in self.convs]
        res = [p] + res if self.pooling_first else res + [p]
        return self.project(torch.cat(res, dim=1))


class DeepLabV3MobileNetV3(nn.Module):
    """torchvision deeplabv3_mobilenet_v3_large: backbone + DeepLabHead (+ FCNHead aux)."""

    def __init__(self, num_classes: int = 21, aux: bool = False):
        super().__init__()
        self.backbone = _V3Backbone()
        self.classifier = nn.Sequential(
            ASPP(960, (12, 24, 36)),
            nn.Conv2d(256, 256, 3, padding=1, bias=False), nn.BatchNorm2d(256), nn.ReLU(),
            nn.Conv2d(256, num_classes, 1))
        self.aux_classifier = nn.Sequential(
            nn.Conv2d(40, 10, 3, padding=1, bias=False), nn.BatchNorm2d(10), nn.ReLU(),
            nn.Conv2d(10, num_classes, 1)) if aux else None

    def forward(self, x: Tensor) -> "OrderedDict[str, Tensor]":
        f = self.backbone(x)
        size = x.shape[-2:]
        result = OrderedDict()
        result["out"] = F.interpolate(self.classifier(f["high"]), size=size, mode="bilinear",
                                      align_corners=False)
        if self.aux_classifier is not None:
            result["aux"] = F.interpolate(self.aux_classifier(f["low"]), size=size,
                                          mode="bilinear", align_corners=False)
        return result


def lraspp_mobilenet_v3_large(num_classes: int = 21) -> LRASPP:
    return LRASPP(num_classes).eval()


def deeplabv3_mobilenet_v3_large(num_classes: int = 21, aux: bool = False) -> nn.Module:
    return DeepLabV3MobileNetV3(num_classes, aux).eval()


# --------------------------------------------------------------------------- Table 7


def _atrous_schedule(strides: Sequence[int], output_stride: int):
    """TF-slim mobilenet.py: per layer (stride, rate) once the output stride is reached."""
    current, rate, out = 1, 1, []
    for s in strides:
        if current == output_stride:
            out.append((1, rate))
            rate *= s
        else:
            out.append((s, 1))
            current *= s
    return out


def _cbr(cin, cout, k=1, stride=1, dilation=1, groups=1, act=nn.ReLU6):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, (k - 1) // 2 * dilation, dilation=dilation,
                  groups=groups, bias=False),
        nn.BatchNorm2d(cout), act(inplace=True))


class _Bottleneck(nn.Module):
    def __init__(self, cin, cout, t, stride, dilation):
        super().__init__()
        hidden = cin * t
        layers = [] if t == 1 else [_cbr(cin, hidden)]
        layers += [_cbr(hidden, hidden, 3, stride, dilation, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


# MobileNetV2 Table 2 (t, c, n, s), width 1
MOBILENET_V2_ROWS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                     (6, 160, 3, 2), (6, 320, 1, 1)]
# MobileNetV1 Table 1: (pointwise output channels, depthwise stride) of the 13 separable layers
MOBILENET_V1_ROWS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + \
    [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def mobilenet_v2_features(output_stride: int = 16) -> nn.Sequential:
    """MobileNetV2 stem + 17 bottlenecks (TF-slim layer_1 .. layer_18), 320 channels out."""
    strides = [2] + [s if i == 0 else 1 for t, c, n, s in MOBILENET_V2_ROWS for i in range(n)]
    sched = _atrous_schedule(strides, output_stride)
    layers: List[nn.Module] = [_cbr(3, 32, 3, sched[0][0])]
    cin, j = 32, 1
    for t, c, n, _ in MOBILENET_V2_ROWS:
        for _ in range(n):
            s, d = sched[j]
            layers.append(_Bottleneck(cin, c, t, s, d))
            cin, j = c, j + 1
    return nn.Sequential(*layers)


def mobilenet_v1_features(output_stride: int = 16) -> nn.Sequential:
    """MobileNetV1 Conv2d_0 .. Conv2d_13_pointwise (TF-slim mobilenet_v1_base), 1024 out."""
    sched = _atrous_schedule([2] + [s for _, s in MOBILENET_V1_ROWS], output_stride)
    layers: List[nn.Module] = [_cbr(3, 32, 3, sched[0][0], act=nn.ReLU6)]
    cin = 32
    for (c, _), (s, d) in zip(MOBILENET_V1_ROWS, sched[1:]):
        layers += [_cbr(cin, cin, 3, s, d, groups=cin), _cbr(cin, c)]
        cin = c
    return nn.Sequential(*layers)


class DeepLabV3TF(nn.Module):
    """Backbone features -> ASPP / image pooling + 1x1 -> projection -> 1x1 logits (bias)."""

    def __init__(self, features: nn.Module, channels: int, output_stride: int = 16,
                 aspp: bool = True, num_classes: int = 21):
        super().__init__()
        rates = {16: (6, 12, 18), 8: (12, 24, 36)}[output_stride] if aspp else ()
        self.features = features
        self.aspp = ASPP(channels, rates, pooling_first=True)
        self.logits = nn.Conv2d(256, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        y = self.logits(self.aspp(self.features(x)))
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


def deeplabv3_mobilenet_v2(output_stride: int = 16, aspp: bool = True,
                           num_classes: int = 21, multiscale: bool = False) -> DeepLabV3TF:
    """`multiscale` is accepted and ignored: multi-scale inference runs this same network once
    per scale (`archcalc verify --against` runs it at each pass size of the spec)."""
    return DeepLabV3TF(mobilenet_v2_features(output_stride), 320, output_stride, aspp,
                       num_classes).eval()


def deeplabv3_mobilenet_v1(output_stride: int = 16, aspp: bool = True,
                           num_classes: int = 21, multiscale: bool = False) -> DeepLabV3TF:
    """`multiscale`: as deeplabv3_mobilenet_v2's."""
    return DeepLabV3TF(mobilenet_v1_features(output_stride), 1024, output_stride, aspp,
                       num_classes).eval()


def count(model: nn.Module, height: int, width: int | None = None):
    """(params, madds) for one 1x3xHxW pass: sum of numel, FlopCounterMode total // 2."""
    from torch.utils.flop_counter import FlopCounterMode

    width = height if width is None else width
    params = sum(p.numel() for p in model.parameters())
    model.eval()
    with torch.inference_mode():
        fc = FlopCounterMode(display=False)
        with fc:
            model(torch.zeros(1, 3, height, width))
    return params, fc.get_total_flops() // 2
