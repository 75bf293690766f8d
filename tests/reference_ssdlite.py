"""Plain-PyTorch twins of SSD / SSDLite on MobileNetV2 and SSDLite on MobileNetV1, written by
hand (no torchvision, no archcalc), for `archcalc verify SPEC --against`
(tests/test_verify_against_zoo.py).

Transcribed from the MobileNetV2 paper (Sandler et al. 2018, arXiv:1801.04381, Sec. 6.2:
"the first layer of SSDLite is attached to the expansion of layer 15 (with output stride of
16). The second and the rest of SSDLite layers are attached on top of the last layer (with
output stride of 32)"; "SSDLite: replace all the regular convolutions with separable
convolutions (depthwise followed by 1x1 projection) in SSD prediction layers") and TF object
detection's feature extractors and box predictor:

* Backbones: MobileNetV2 as torchvision's ``mobilenet_v2`` features (tests/reference_models.py's
  twin, width 1); feature map 1 = the expansion output of block 14 (``features[14].conv[0]``,
  576 channels, TF's ``layer_15/expansion_output``), feature map 2 = the last 1x1 conv (1280).
  MobileNetV1: tests/reference_mobilenet_v1.py's TF-slim body; feature maps
  ``Conv2d_11_pointwise`` (512) and ``Conv2d_13_pointwise`` (1024).
* ``feature_map_generators.multi_resolution_feature_maps`` with ``feature_map_layout``
  depths (-1, -1, 512, 256, 256, 128): each extra map is a 1x1 conv to depth // 2, then a
  3x3 stride-2 conv to depth (SSDLite, ``use_depthwise``: a 3x3 stride-2 depthwise then a
  1x1 to depth), every conv without bias, with BatchNorm and ReLU6; SAME padding = padding 1.
* ``ConvolutionalBoxPredictor``: per feature map, box encodings (4 per anchor) and class
  scores (num_classes + 1 per anchor; 81 for COCO) from a 3x3 conv with bias (SSD) or, with
  ``use_depthwise`` (SSDLite), a 3x3 depthwise + BatchNorm + ReLU6 then a 1x1 conv with bias,
  one tower per output; anchors per location 3 on the first map, 6 on the others
  (``reduce_boxes_in_lowest_layer``).

No preprocessing, anchors, box decoding or NMS (no parameters, no multiply-adds).
"""
from __future__ import annotations

from typing import List

from torch import Tensor, nn

from reference_mobilenet_v1 import features_v1, v1_body
from reference_models import MobileNetV2

LAYOUT = (512, 256, 256, 128)
ANCHORS = (3, 6, 6, 6, 6, 6)


def _cbr(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


def _extra(cin: int, depth: int, depthwise: bool) -> nn.Sequential:
    mid = depth // 2
    if depthwise:
        return nn.Sequential(_cbr(cin, mid, 1), _cbr(mid, mid, 3, 2, groups=mid),
                             _cbr(mid, depth, 1))
    return nn.Sequential(_cbr(cin, mid, 1), _cbr(mid, depth, 3, 2))


def _tower(cin: int, cout: int, depthwise: bool) -> nn.Module:
    if depthwise:
        return nn.Sequential(_cbr(cin, cin, 3, groups=cin), nn.Conv2d(cin, cout, 1))
    return nn.Conv2d(cin, cout, 3, padding=1)


class SSDHead(nn.Module):
    """Extra feature maps, then box and class towers on every map."""

    def __init__(self, channels: List[int], num_classes: int, depthwise: bool):
        super().__init__()
        extras, cin = [], channels[-1]
        for depth in LAYOUT:
            extras.append(_extra(cin, depth, depthwise))
            cin = depth
        self.extras = nn.ModuleList(extras)
        maps = list(channels) + list(LAYOUT)
        self.box = nn.ModuleList(_tower(c, a * 4, depthwise) for c, a in zip(maps, ANCHORS))
        self.cls = nn.ModuleList(_tower(c, a * num_classes, depthwise)
                                 for c, a in zip(maps, ANCHORS))

    def forward(self, maps: List[Tensor]):
        maps = list(maps)
        for extra in self.extras:
            maps.append(extra(maps[-1]))
        return ([t(m) for t, m in zip(self.box, maps)], [t(m) for t, m in zip(self.cls, maps)])


class SSDMobileNetV2(nn.Module):
    def __init__(self, num_classes: int, depthwise: bool):
        super().__init__()
        self.backbone = MobileNetV2().features
        self.head = SSDHead([576, 1280], num_classes, depthwise)

    def forward(self, x: Tensor):
        f = self.backbone
        x = f[:14](x)
        c15 = f[14].conv[0](x)                # layer 15's expansion (576 channels, OS 16)
        x = f[14].conv[1:](c15)              # the rest of block 14 (stride 2, no residual)
        return self.head([c15, f[15:](x)])


class SSDLiteMobileNetV1(nn.Module):
    def __init__(self, num_classes: int):
        super().__init__()
        self.backbone = v1_body()
        self.head = SSDHead([512, 1024], num_classes, True)

    def forward(self, x: Tensor):
        return self.head(list(features_v1(self.backbone, x)))


def ssd_mobilenet_v2(num_classes: int = 81) -> nn.Module:
    return SSDMobileNetV2(num_classes, depthwise=False).eval()


def ssdlite_mobilenet_v2(num_classes: int = 81) -> nn.Module:
    return SSDMobileNetV2(num_classes, depthwise=True).eval()


def ssdlite_mobilenet_v1(num_classes: int = 81) -> nn.Module:
    return SSDLiteMobileNetV1(num_classes).eval()
