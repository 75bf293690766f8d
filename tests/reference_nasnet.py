"""Plain-PyTorch twin of NASNet-A (Mobile, "4 @ 1056"), written by hand (no archcalc), for
`archcalc verify SPEC --against` (tests/test_verify_against_zoo.py).

Transcribed from TF-slim ``research/slim/nets/nasnet/nasnet.py`` (``mobile_imagenet_config``:
stem_multiplier 1.0, num_cells 12, num_conv_filters 44, filter_scaling_rate 2, 2 reduction
layers, no skip_reduction_layer_input; ``_imagenet_stem``; ``_build_nasnet_base``) and
``nasnet_utils.py`` (``NasNetABaseCell``, ``NasNetANormalCell``, ``NasNetAReductionCell``,
``_stacked_separable_conv``, ``factorized_reduction``, ``_reduce_prev_layer``,
``_combine_unused_states``); Zoph et al. 2018, arXiv:1707.07012, Fig. 4:

* stem: conv0 3x3 / 2 VALID (32 filters, no ReLU) + BN; two reduction cells ``cell_stem_0`` /
  ``cell_stem_1`` at filter scaling 1/4 and 1/2 (11 and 22 filters), each taking the output
  before its input as ``prev_layer`` (none for the first: it then uses its own raw input).
* cells 0..11 normal; before cells 4 and 8 (``calc_reduction_layers``) a reduction cell with
  the filter scaling doubled; every cell's prev_layer is the output two cells back.
* ``_cell_base``: ``prev_layer`` fitted to the input (``_reduce_prev_layer``: spatial sizes
  differ -> ReLU + factorized reduction; channels differ -> ReLU + 1x1 + BN), the input
  itself ReLU -> 1x1 to filters -> BN; hidden states [input, prev].
* each combination applies two ops and adds them (``_apply_conv_operation``): separable_KxK_2
  = (ReLU, KxK depthwise, 1x1 to filters, BN) twice, the stride on the first depthwise; pooling
  3x3 (SAME) then 1x1 + BN if the channels differ; ``none`` = identity, or ReLU + 1x1 (stride)
  + BN when strided or the channels differ; only the cell's two original hidden states are
  strided. Normal cell: ops (sep5, sep3, sep5, sep3, avg, none, avg, avg, sep3, none) on
  hidden states (0, 1, 1, 1, 0, 1, 1, 1, 0, 0), output concat of the unused states
  (h1, c0..c4) = 6 x filters. Reduction cell: ops (sep5, sep7, max, sep7, avg, sep5, none,
  avg, sep3, max) on (0, 1, 0, 1, 0, 1, 3, 2, 2, 0), output concat (c1..c4) = 4 x filters.
* ``factorized_reduction`` (stride 2): path 1 = avg_pool 1x1 / 2 -> 1x1 to filters // 2;
  path 2 = pad right and bottom by one, shift by one, avg_pool 1x1 / 2 -> 1x1 to
  filters // 2 + filters % 2; concat, BN.
* head: ReLU, global average pool, dropout (free), fully connected with bias. The
  auxiliary head is built only in training and is left out; drop path is identity in eval.

Every conv and separable conv has no bias (``nasnet_mobile_arg_scope``: biases_initializer
None). Padding SAME = k // 2 for the odd kernels here (the same output sizes at stride 1 and 2).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NORMAL_OPS = ("sep5", "sep3", "sep5", "sep3", "avg", "none", "avg", "avg", "sep3", "none")
NORMAL_IDX = (0, 1, 1, 1, 0, 1, 1, 1, 0, 0)
NORMAL_USED = (1, 0, 0, 0, 0, 0, 0)
REDUCTION_OPS = ("sep5", "sep7", "max", "sep7", "avg", "sep5", "none", "avg", "sep3", "max")
REDUCTION_IDX = (0, 1, 0, 1, 0, 1, 3, 2, 2, 0)
REDUCTION_USED = (1, 1, 1, 0, 0, 0, 0)


def _conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, 1, stride, bias=False),
                         nn.BatchNorm2d(cout))


class SepStack(nn.Module):
    """_stacked_separable_conv with 2 layers."""

    def __init__(self, cin: int, cout: int, k: int, stride: int):
        super().__init__()
        layers = []
        for i, c in enumerate((cin, cout)):
            layers += [nn.ReLU(), nn.Conv2d(c, c, k, stride if i == 0 else 1, k // 2, groups=c,
                                            bias=False),
                       nn.Conv2d(c, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class FactorizedReduction(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.path1_conv = nn.Conv2d(cin, cout // 2, 1, bias=False)
        self.path2_conv = nn.Conv2d(cin, cout // 2 + cout % 2, 1, bias=False)
        self.final_path_bn = nn.BatchNorm2d(cout)

    def forward(self, x: Tensor) -> Tensor:
        p1 = self.path1_conv(F.avg_pool2d(x, 1, 2))
        p2 = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        p2 = self.path2_conv(F.avg_pool2d(p2, 1, 2))
        return self.final_path_bn(torch.cat([p1, p2], 1))


class Pool(nn.Module):
    def __init__(self, kind: str, cin: int, cout: int, stride: int):
        super().__init__()
        self.pool = nn.MaxPool2d(3, stride, 1) if kind == "max" else \
            nn.AvgPool2d(3, stride, 1, count_include_pad=False)
        self.conv = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout)) \
            if cin != cout else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(self.pool(x))


def _operation(op: str, cin: int, filters: int, stride: int) -> nn.Module:
    if op.startswith("sep"):
        return SepStack(cin, filters, int(op[3:]), stride)
    if op == "none":
        return _conv_bn(cin, filters, stride) if stride > 1 or cin != filters else nn.Identity()
    return Pool(op, cin, filters, stride)


class Cell(nn.Module):
    """One NASNet-A cell. `cin`: the input's channels; `cprev`: prev_layer's channels (None:
    no prev_layer); `prev_larger`: prev_layer has twice the input's spatial size."""

    def __init__(self, reduction: bool, cin: int, cprev, prev_larger: bool, filters: int):
        super().__init__()
        ops, idx, self.used = (REDUCTION_OPS, REDUCTION_IDX, REDUCTION_USED) if reduction else \
            (NORMAL_OPS, NORMAL_IDX, NORMAL_USED)
        self.idx = idx
        stride = 2 if reduction else 1
        if cprev is None:
            self.prev, h1 = None, cin
        elif prev_larger:
            self.prev, h1 = nn.Sequential(nn.ReLU(), FactorizedReduction(cprev, filters)), filters
        elif cprev != filters:
            self.prev, h1 = _conv_bn(cprev, filters), filters
        else:
            self.prev, h1 = nn.Identity(), cprev
        self.base = _conv_bn(cin, filters)              # ReLU, 1x1, beginning_bn
        channels = [filters, h1]
        comb = []
        for i in range(0, len(ops), 2):
            pair = nn.ModuleList(
                _operation(ops[i + j], channels[idx[i + j]], filters,
                           stride if idx[i + j] < 2 else 1) for j in (0, 1))
            comb.append(pair)
            channels.append(filters)
        self.comb = nn.ModuleList(comb)

    def forward(self, x: Tensor, prev) -> Tensor:
        h1 = x if self.prev is None else self.prev(prev)
        states = [self.base(x), h1]
        for n, pair in enumerate(self.comb):
            a, b = self.idx[2 * n], self.idx[2 * n + 1]
            states.append(pair[0](states[a]) + pair[1](states[b]))
        return torch.cat([s for s, used in zip(states, self.used) if not used], 1)


class NASNetAMobile(nn.Module):
    def __init__(self, num_classes: int = 1000, num_cells: int = 12, filters: int = 44,
                 stem_filters: int = 32):
        super().__init__()
        self.conv0 = nn.Sequential(nn.Conv2d(3, stem_filters, 3, 2, 0, bias=False),
                                   nn.BatchNorm2d(stem_filters))
        # (channels, level) of every output, for the prev_layer decisions
        outs = [None, (stem_filters, 0)]
        cells = []
        scaling = 0.25
        for _ in range(2):                              # cell_stem_0, cell_stem_1
            cells.append(self._cell(True, outs, int(filters * scaling)))
            scaling *= 2
        reductions = [int(p / 3 * num_cells) for p in (1, 2)]     # calc_reduction_layers
        scaling = 1.0
        for n in range(num_cells):
            if n in reductions:
                scaling *= 2
                cells.append(self._cell(True, outs, int(filters * scaling)))
            cells.append(self._cell(False, outs, int(filters * scaling)))
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(outs[-1][0], num_classes)

    @staticmethod
    def _cell(reduction: bool, outs: list, filters: int) -> Cell:
        (cin, level), prev = outs[-1], outs[-2]
        cell = Cell(reduction, cin, prev and prev[0], bool(prev) and prev[1] < level, filters)
        outs.append(((4 if reduction else 6) * filters, level + (1 if reduction else 0)))
        return cell

    def forward(self, x: Tensor) -> Tensor:
        outs = [None, self.conv0(x)]
        for cell in self.cells:
            outs.append(cell(outs[-1], outs[-2]))
        x = F.relu(outs[-1]).mean((2, 3))
        return self.classifier(x)


def nasnet_a_mobile(num_classes: int = 1000) -> nn.Module:
    return NASNetAMobile(num_classes).eval()
