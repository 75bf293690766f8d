"""Plain-PyTorch twins of detection networks, written by hand (no torchvision, no archcalc).

Used as independent checks of the costs of the detection specs (MobileNetV2 paper, Table 6).
Each twin is the network *without* pre- and post-processing: no resize / normalisation
transform, no anchor generation, no box decoding, no NMS (none of which has parameters or
convolution multiply-adds). Counted like tests/reference_torchvision.py: sum of
``p.numel()`` and FlopCounterMode total // 2.

SSD with a VGG-16 backbone, transcribed from pytorch/vision
``torchvision/models/detection/ssd.py`` (torchvision 0.29.1 as installed; same structure in the
stored pytorch/vision revision 01fdb488) and ``torchvision/models/vgg.py``:

* ``vgg.make_layers(cfgs["D"])``: 13 conv 3x3 / pad 1 *with bias*, ReLU, MaxPool2d(2, 2) after
  conv1_2, conv2_2, conv3_3, conv4_3, conv5_3; no BatchNorm. ``ssd300_vgg16`` keeps only
  ``vgg16().features`` (the classifier is dropped).
* ``SSDFeatureExtractorVGG``: maxpool3 patched to ``ceil_mode=True`` (300 -> 150 -> 75 -> 38);
  ``features = backbone[:maxpool4]`` (through conv4_3 + ReLU); a learned per-channel scale
  ``scale_weight`` (512 parameters, initialised to 20) times ``F.normalize(x)`` (L2 over the
  channels) gives the first feature map; ``extra[0]`` = maxpool4, conv5_1..conv5_3 (+ReLU),
  maxpool5 replaced by MaxPool2d(3, stride 1, pad 1), fc6 = Conv2d(512, 1024, 3, pad 6,
  dilation 6), fc7 = Conv2d(1024, 1024, 1); extra[1..4] = (1x1 conv to 256, 3x3/2 pad 1 to
  512), (1x1 to 128, 3x3/2 pad 1 to 256), (1x1 to 128, 3x3 valid to 256) twice; all with bias
  and ReLU. ``highres=True`` (the SSD512 case in torchvision; torchvision ships no SSD512
  builder) appends (1x1 to 128, 4x4 valid to 256) as conv12_2.
* ``SSDHead``: per feature map one Conv2d(c, anchors * num_classes, 3, pad 1) for the class
  logits and one Conv2d(c, anchors * 4, 3, pad 1) for the boxes, with bias;
  ``DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]])`` gives
  ``2 + 2 * len(ratios)`` = 4, 6, 6, 6, 4, 4 anchors per location; num_classes 91 by default
  (COCO's 90 category ids + background).

SSD512 as in the SSD paper's released Caffe code (Liu et al. 2016, arXiv:1512.02325;
weiliu89/caffe, branch ssd, examples/ssd/ssd_pascal_512.py ``AddExtraLayers``): the extra
layers conv6..conv9 are (1x1, then 3x3 / 2 pad 1) and conv10_2 is 4x4 / 1 pad 1, so the seven
maps are 64, 32, 16, 8, 4, 2, 1 at 512x512 (``layout="caffe"``); torchvision's ``highres``
variant keeps SSD300's two valid 3x3 layers and adds a valid 4x4 (maps 64, 32, 16, 8, 6, 4, 1;
``layout="torchvision"``). Anchors per location (ssd_pascal_512.py ``aspect_ratios``
[[2], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]]): 4, 6, 6, 6, 6, 4, 4.

YOLOv2 (Redmon & Farhadi 2016, arXiv:1612.08242), transcribed from the darknet configs
(pjreddie/darknet): Darknet-19's 18 convolutions (3x3 / 1x1, each conv (no bias) + BatchNorm +
leaky ReLU 0.1, five 2x2 / 2 max pools) without its classifier, then two 3x3 1024 convs, the
passthrough from the 26x26x512 map (conv 13, before the fifth pool), a space-to-depth
``reorg`` by 2, a concat (reorg output first, ``[route] layers=-1,-3`` / ``route 27 24``), a
3x3 1024 conv and a 1x1 linear conv with bias to ``anchors * (5 + classes)``.
``passthrough_conv=True`` is the released ``yolo.cfg`` / ``yolov2.cfg`` (a 1x1 conv to 64
before the reorg: 13x13x256 passthrough); ``False`` is ``cfg/yolo-voc.2.0.cfg`` (reorg of the
512-channel map directly: 13x13x2048). The reorg's element order differs from darknet's
(``F.pixel_unshuffle``); it has no parameters and no multiply-adds, so no count changes.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn, Tensor
from torch.nn import functional as F

# torchvision vgg.py cfgs["D"]
VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
             512, 512, 512, "M"]

# anchors per location = 2 + 2 * len(aspect ratios) (DefaultBoxGenerator / SSD paper Sec. 2.2)
SSD300_ANCHORS = [4, 6, 6, 6, 4, 4]
SSD512_ANCHORS = [4, 6, 6, 6, 6, 4, 4]
SSD300_CHANNELS = [512, 1024, 512, 256, 256, 256]
SSD512_CHANNELS = [512, 1024, 512, 256, 256, 256, 256]


def vgg16_features() -> nn.Sequential:
    """torchvision vgg.make_layers(cfgs["D"], batch_norm=False)."""
    layers: List[nn.Module] = []
    in_channels = 3
    for v in VGG16_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


def _extra(cin: int, mid: int, cout: int, kernel: int, stride: int, padding: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, mid, kernel_size=1), nn.ReLU(inplace=True),
        nn.Conv2d(mid, cout, kernel_size=kernel, stride=stride, padding=padding),
        nn.ReLU(inplace=True),
    )


class SSDFeatureExtractorVGG(nn.Module):
    """The VGG-16 trunk of SSD: conv4_3 (L2-normalised, learned scale), fc7, extra layers."""

    def __init__(self, highres: bool = False, layout: str = "torchvision"):
        super().__init__()
        backbone = vgg16_features()
        pools = [i for i, layer in enumerate(backbone) if isinstance(layer, nn.MaxPool2d)]
        maxpool3_pos, maxpool4_pos = pools[2], pools[3]
        backbone[maxpool3_pos].ceil_mode = True
        self.scale_weight = nn.Parameter(torch.ones(512) * 20)
        self.features = nn.Sequential(*backbone[:maxpool4_pos])          # through conv4_3
        if layout == "torchvision" or not highres:
            extra = [
                _extra(1024, 256, 512, 3, 2, 1),      # conv8_2 (Caffe: conv6_2)
                _extra(512, 128, 256, 3, 2, 1),       # conv9_2
                _extra(256, 128, 256, 3, 1, 0),       # conv10_2
                _extra(256, 128, 256, 3, 1, 0),       # conv11_2
            ]
            if highres:
                extra.append(_extra(256, 128, 256, 4, 1, 0))               # conv12_2
        elif layout == "caffe":
            extra = [
                _extra(1024, 256, 512, 3, 2, 1),      # conv6_2  32 -> 16
                _extra(512, 128, 256, 3, 2, 1),       # conv7_2  16 -> 8
                _extra(256, 128, 256, 3, 2, 1),       # conv8_2   8 -> 4
                _extra(256, 128, 256, 3, 2, 1),       # conv9_2   4 -> 2
                _extra(256, 128, 256, 4, 1, 1),       # conv10_2  2 -> 1
            ]
        else:
            raise ValueError(f"layout must be 'torchvision' or 'caffe', not {layout!r}")
        fc = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=False),   # pool5
            nn.Conv2d(512, 1024, kernel_size=3, padding=6, dilation=6),          # fc6, atrous
            nn.ReLU(inplace=True),
            nn.Conv2d(1024, 1024, kernel_size=1),                                # fc7
            nn.ReLU(inplace=True),
        )
        extra.insert(0, nn.Sequential(*backbone[maxpool4_pos:-1], fc))  # pool4, conv5_x, fc
        self.extra = nn.ModuleList(extra)

    def forward(self, x: Tensor) -> "OrderedDict[str, Tensor]":
        x = self.features(x)
        output = [self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)]
        for block in self.extra:
            x = block(x)
            output.append(x)
        return OrderedDict((str(i), v) for i, v in enumerate(output))


class _ScoringHead(nn.Module):
    """SSDScoringHead: per-map 3x3 conv, (N, A*K, H, W) -> (N, H*W*A, K), concatenated."""

    def __init__(self, in_channels: Sequence[int], num_anchors: Sequence[int], num_columns: int):
        super().__init__()
        self.module_list = nn.ModuleList(
            nn.Conv2d(c, num_columns * a, kernel_size=3, padding=1)
            for c, a in zip(in_channels, num_anchors))
        self.num_columns = num_columns

    def forward(self, x: List[Tensor]) -> Tensor:
        results = []
        for features, module in zip(x, self.module_list):
            r = module(features)
            n, _, h, w = r.shape
            r = r.view(n, -1, self.num_columns, h, w).permute(0, 3, 4, 1, 2)
            results.append(r.reshape(n, -1, self.num_columns))
        return torch.cat(results, dim=1)


class SSDHead(nn.Module):
    def __init__(self, in_channels: Sequence[int], num_anchors: Sequence[int], num_classes: int):
        super().__init__()
        self.classification_head = _ScoringHead(in_channels, num_anchors, num_classes)
        self.regression_head = _ScoringHead(in_channels, num_anchors, 4)

    def forward(self, x: List[Tensor]) -> Dict[str, Tensor]:
        return {"bbox_regression": self.regression_head(x),
                "cls_logits": self.classification_head(x)}


class SSDVGG16(nn.Module):
    """backbone + head of torchvision's SSD (no transform, anchors or post-processing)."""

    def __init__(self, num_classes: int = 91, highres: bool = False,
                 num_anchors: Optional[Sequence[int]] = None, layout: str = "torchvision"):
        super().__init__()
        channels = SSD512_CHANNELS if highres else SSD300_CHANNELS
        if num_anchors is None:
            num_anchors = SSD512_ANCHORS if highres else SSD300_ANCHORS
        self.backbone = SSDFeatureExtractorVGG(highres, layout)
        self.head = SSDHead(channels, num_anchors, num_classes)

    def feature_maps(self, x: Tensor) -> List[Tensor]:
        return list(self.backbone(x).values())

    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        return self.head(self.feature_maps(x))


def ssd300_vgg16(num_classes: int = 91) -> SSDVGG16:
    """torchvision.models.detection.ssd300_vgg16 (backbone + head), 300x300 input."""
    return SSDVGG16(num_classes).eval()


def ssd512_vgg16(num_classes: int = 81, layout: str = "caffe") -> SSDVGG16:
    """SSD512 (VGG-16 + conv12; 7 maps, anchors 4, 6, 6, 6, 6, 4, 4), 512x512 input."""
    return SSDVGG16(num_classes, highres=True, layout=layout).eval()


# --------------------------------------------------------------------------- YOLOv2

# Darknet-19 convolutions up to conv 18 (filters, size), "M" = maxpool 2x2/2 (darknet19.cfg,
# yolo.cfg); index 12 (0-based conv count) is the 26x26x512 map the passthrough reads.
DARKNET19_CFG = [(32, 3), "M", (64, 3), "M", (128, 3), (64, 1), (128, 3), "M",
                 (256, 3), (128, 1), (256, 3), "M", (512, 3), (256, 1), (512, 3), (256, 1),
                 (512, 3), "M", (1024, 3), (512, 1), (1024, 3), (512, 1), (1024, 3)]


def _darknet_conv(cin: int, cout: int, k: int) -> nn.Sequential:
    """[convolutional] batch_normalize=1 pad=1 activation=leaky: padding k // 2."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.LeakyReLU(0.1, inplace=True))


class YOLOv2(nn.Module):
    """YOLOv2 at any multiple of 32 (416 -> 13x13 output), without the region layer."""

    def __init__(self, num_classes: int = 80, num_anchors: int = 5,
                 passthrough_conv: bool = True):
        super().__init__()
        layers: List[nn.Module] = []
        cin = 3
        self.passthrough_index = None
        for v in DARKNET19_CFG:
            if v == "M":
                if cin == 512 and self.passthrough_index is None:
                    self.passthrough_index = len(layers) - 1      # conv 13 (26x26x512)
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers.append(_darknet_conv(cin, v[0], v[1]))
                cin = v[0]
        self.darknet19 = nn.ModuleList(layers)
        self.conv21 = _darknet_conv(1024, 1024, 3)
        self.conv22 = _darknet_conv(1024, 1024, 3)
        self.passthrough = _darknet_conv(512, 64, 1) if passthrough_conv else None
        pt = (64 if passthrough_conv else 512) * 4
        self.conv23 = _darknet_conv(pt + 1024, 1024, 3)
        self.out = nn.Conv2d(1024, num_anchors * (5 + num_classes), 1)      # linear, bias

    def forward(self, x: Tensor) -> Tensor:
        fine = None
        for i, layer in enumerate(self.darknet19):
            x = layer(x)
            if i == self.passthrough_index:
                fine = x
        x = self.conv22(self.conv21(x))
        if self.passthrough is not None:
            fine = self.passthrough(fine)
        fine = F.pixel_unshuffle(fine, 2)                     # reorg, stride 2
        x = self.conv23(torch.cat([fine, x], dim=1))
        return self.out(x)


def yolov2(num_classes: int = 80, passthrough_conv: bool = True) -> YOLOv2:
    return YOLOv2(num_classes, 5, passthrough_conv).eval()


def count(model: nn.Module, height: int, width: Optional[int] = None):
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
