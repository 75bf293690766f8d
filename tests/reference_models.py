"""More plain-PyTorch twins of torchvision classification models, re-implemented by hand.

No torchvision or archcalc import: these are module-for-module copies of torchvision's code,
with the *same module paths and parameter names*, so captures of them read like captures of
torchvision's models and torchvision's published meta numbers apply. Transcribed from
pytorch/vision (torchvision 0.29):

* ``torchvision/models/mobilenetv2.py``: ``InvertedResidual`` (``hidden_dim = int(round(inp *
  expand_ratio))``; expand Conv2dNormActivation only when t != 1; depthwise
  Conv2dNormActivation; ``nn.Conv2d(hidden, oup, 1, 1, 0, bias=False)`` + BatchNorm2d; the
  residual ``x + self.conv(x)`` when stride 1 and inp == oup), ``MobileNetV2`` (features,
  ``nn.functional.adaptive_avg_pool2d(x, (1, 1))``, ``torch.flatten(x, 1)``, classifier
  Dropout(0.2) + Linear).
* ``torchvision/models/resnet.py``: ``conv3x3``/``conv1x1``, ``BasicBlock``, ``Bottleneck``
  (``width = int(planes * (base_width / 64.0)) * groups``; ``out += identity``),
  ``ResNet._make_layer`` (downsample = conv1x1 + BN when stride != 1 or widths differ) and
  ``ResNet`` (7x7/2 stem, 3x3/2 max pool, AdaptiveAvgPool2d((1, 1)), flatten, fc).
* ``torchvision/models/vision_transformer.py``: ``MLPBlock`` (ops.MLP: Linear, GELU, Dropout,
  Linear, Dropout), ``EncoderBlock`` (LayerNorm eps 1e-6, nn.MultiheadAttention batch_first,
  ``need_weights=False``), ``Encoder`` (pos_embedding parameter, ``encoder_layer_{i}``),
  ``VisionTransformer`` (conv_proj patch embedding, class_token, ``x[:, 0]``, heads.head).

Published parameter counts (torchvision ``Weights.meta["num_params"]``, pytorch.org/vision
model pages): mobilenet_v2 3,504,872; resnet18 11,689,512; resnet50 25,557,032;
resnext50_32x4d 25,028,904; vit_b_16 86,567,656.
"""
from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import List

import torch
from torch import Tensor, nn

from reference_mobilenet_v2 import _make_divisible
from reference_torchvision import _conv_norm_act

TORCHVISION_NUM_PARAMS = {"mobilenet_v2": 3504872, "resnet18": 11689512, "resnet50": 25557032,
                          "resnext50_32x4d": 25028904, "vit_b_16": 86567656}


# --------------------------------------------------------------------------- MobileNetV2

class _InvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: List[nn.Module] = []
        if expand_ratio != 1:
            layers.append(_conv_norm_act(inp, hidden_dim, 1, activation_layer=nn.ReLU6))
        layers.extend([
            _conv_norm_act(hidden_dim, hidden_dim, 3, stride=stride, groups=hidden_dim,
                           activation_layer=nn.ReLU6),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ])
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2):
        super().__init__()
        setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                   [6, 160, 3, 2], [6, 320, 1, 1]]
        input_channel = _make_divisible(32 * width_mult, 8)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult), 8)
        features: List[nn.Module] = [_conv_norm_act(3, input_channel, 3, stride=2,
                                                    activation_layer=nn.ReLU6)]
        for t, c, n, s in setting:
            output_channel = _make_divisible(c * width_mult, 8)
            for i in range(n):
                features.append(_InvertedResidual(input_channel, output_channel,
                                                  s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(_conv_norm_act(input_channel, self.last_channel, 1,
                                       activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channel, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        return self.classifier(x)


def mobilenet_v2(width_mult: float = 1.0, num_classes: int = 1000) -> nn.Module:
    return MobileNetV2(num_classes, width_mult).eval()


# --------------------------------------------------------------------------- ResNet

def _conv3x3(inp, out, stride=1, groups=1, dilation=1):
    return nn.Conv2d(inp, out, 3, stride=stride, padding=dilation, groups=groups, bias=False,
                     dilation=dilation)


def _conv1x1(inp, out, stride=1):
    return nn.Conv2d(inp, out, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = _conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, groups=1, width_per_group=64):
        super().__init__()
        self.inplanes, self.groups, self.base_width = 64, groups, width_per_group
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(_conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet18(num_classes=1000) -> nn.Module:
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes).eval()


def resnet50(num_classes=1000) -> nn.Module:
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes).eval()


def resnext50_32x4d(num_classes=1000) -> nn.Module:
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, groups=32, width_per_group=4).eval()


# --------------------------------------------------------------------------- ViT

class MLPBlock(nn.Sequential):
    def __init__(self, in_dim: int, mlp_dim: int, dropout: float):
        super().__init__(nn.Linear(in_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(mlp_dim, in_dim), nn.Dropout(dropout))


class EncoderBlock(nn.Module):
    def __init__(self, num_heads, hidden_dim, mlp_dim, dropout=0.0, attention_dropout=0.0):
        super().__init__()
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads,
                                                    dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input: Tensor) -> Tensor:
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x)
        x = x + input
        y = self.mlp(self.ln_2(x))
        return x + y


class Encoder(nn.Module):
    def __init__(self, seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout=0.0):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential(OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout))
            for i in range(num_layers)))
        self.ln = nn.LayerNorm(hidden_dim, eps=1e-6)

    def forward(self, input: Tensor) -> Tensor:
        input = input + self.pos_embedding
        return self.ln(self.layers(self.dropout(input)))


class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim,
                 num_classes=1000):
        super().__init__()
        self.image_size, self.patch_size, self.hidden_dim = image_size, patch_size, hidden_dim
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2 + 1
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim)
        self.heads = nn.Sequential(OrderedDict(head=nn.Linear(hidden_dim, num_classes)))

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        torch._assert(h == self.image_size, "Wrong image height!")
        n_h, n_w = h // self.patch_size, w // self.patch_size
        x = self.conv_proj(x).reshape(n, self.hidden_dim, n_h * n_w).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = self.encoder(x)
        return self.heads(x[:, 0])


def vit_b_16(image_size=224, num_classes=1000) -> nn.Module:
    return VisionTransformer(image_size, 16, 12, 12, 768, 3072, num_classes).eval()


def vit_tiny(image_size=32, num_classes=10) -> nn.Module:
    """A small ViT (same code, patch 8, 2 layers, 4 heads, width 64) for fast tests."""
    return VisionTransformer(image_size, 8, 2, 4, 64, 128, num_classes).eval()


# --------------------------------------------------------------------------- dilated convs

class _Atrous(nn.Module):
    """DeepLab-style dilated convolutions: dense, depthwise and strided, with odd paddings."""
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 2, 1)
        self.a2 = nn.Conv2d(16, 32, 3, padding=2, dilation=2, bias=False)
        self.dw4 = nn.Conv2d(32, 32, 3, padding=4, dilation=4, groups=32)
        self.s3 = nn.Conv2d(32, 8, 3, stride=2, padding=3, dilation=(3, 3))
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        x = self.s3(self.dw4(torch.relu(self.a2(self.stem(x)))))
        return self.head(nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))


def atrous() -> nn.Module:
    """Not a torchvision model: a test network of dilated convolutions (issue 12's import)."""
    return _Atrous()
