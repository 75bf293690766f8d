"""Self-checks of the hand-written PyTorch twins (tests/reference_detection.py,
reference_segmentation.py, reference_mnasnet.py), without torchvision and without archcalc.

Each twin's parameter count is checked against a formula written out layer by layer in this
file (conv weights k*k*cin/groups*cout, biases, BatchNorm gamma/beta = 2 per channel), its
multiply-adds (FlopCounterMode / 2) against the same layer list times the output positions,
its output shapes, and -- where one exists -- against a published figure with its source:
torchvision's weights meta (``num_params``; ``_ops`` = GMACs, to its printed digits), the SSD
paper's box counts, the MnasNet and MobileNetV2 papers. The twins were also run once next to
torchvision 0.29.1 itself (equal params and FlopCounterMode counts; the research notes of issue
13 list the commands and figures).

Models are built on the ``meta`` device: shapes and FlopCounterMode counts without computing
anything, so even SSD512 counts in milliseconds.
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import reference_detection as det        # noqa: E402  (tests/ is on sys.path via conftest)
import reference_mnasnet as mna          # noqa: E402
import reference_segmentation as seg     # noqa: E402


def meta_count(build, height, width=None):
    """(params, madds, output) of a twin built and run on the meta device."""
    width = height if width is None else width
    with torch.device("meta"):
        model = build()
        x = torch.zeros(1, 3, height, width)
    params = sum(p.numel() for p in model.parameters())
    fc = FlopCounterMode(display=False)
    with fc:
        out = model(x)
    return params, fc.get_total_flops() // 2, out


def tally(layers):
    """(params, madds) of a layer list: (cin, cout, k, h_out, w_out, groups, bias, bn)."""
    params = madds = 0
    for cin, cout, k, h, w, groups, bias, bn in layers:
        weights = cin // groups * cout * k * k
        params += weights + (cout if bias else 0) + (2 * cout if bn else 0)
        madds += weights * h * w
    return params, madds


def L(cin, cout, k, h, w=None, groups=1, bias=False, bn=False):
    return (cin, cout, k, h, h if w is None else w, groups, bias, bn)


# ------------------------------------------------------------------------------ MnasNet (B1)

# _get_depths by hand: _round_to_multiple_of(v, 8) = max(8, int(v + 4) // 8 * 8), plus 8 when
# that is below 0.9 v. alpha 0.75: 24 * 0.75 = 18 -> 16 < 16.2 -> 24; 16 * 0.75 = 12 -> 16.
# alpha 1.3: 32 * 1.3 = 41.6 -> 40 (>= 37.44); 24 * 1.3 = 31.2 -> 32; 192 * 1.3 = 249.6 -> 248.
EXPECTED_DEPTHS = {
    0.5: [16, 8, 16, 24, 40, 48, 96, 160],
    0.75: [24, 16, 24, 32, 64, 72, 144, 240],
    1.0: [32, 16, 24, 40, 80, 96, 192, 320],
    1.3: [40, 24, 32, 56, 104, 128, 248, 416],
}
# (kernel, stride, expansion, repeats) of torchvision's six stacks
B1_STACKS = [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1)]


def mnasnet_b1_layers(depths, r, classes=1000):
    h = (r + 1) // 2
    d = depths
    layers = [L(3, d[0], 3, h, bn=True), L(d[0], d[0], 3, h, groups=d[0], bn=True),
              L(d[0], d[1], 1, h, bn=True)]
    for i, (k, s, t, n) in enumerate(B1_STACKS):
        for j in range(n):
            cin = d[i + 1] if j == 0 else d[i + 2]
            mid = cin * t
            layers.append(L(cin, mid, 1, h, bn=True))
            if j == 0 and s == 2:
                h = (h + 1) // 2
            layers += [L(mid, mid, k, h, groups=mid, bn=True), L(mid, d[i + 2], 1, h, bn=True)]
    layers += [L(d[7], 1280, 1, h, bn=True), L(1280, classes, 1, 1, bias=True)]
    return layers


def test_mnasnet_round_to_multiple_of_docstring_examples():
    """torchvision's docstring: (83, 8) -> 80 but (84, 8) -> 88."""
    assert mna._round_to_multiple_of(83, 8) == 80
    assert mna._round_to_multiple_of(84, 8) == 88


@pytest.mark.parametrize("alpha", sorted(EXPECTED_DEPTHS))
def test_mnasnet_get_depths(alpha):
    assert mna._get_depths(alpha) == EXPECTED_DEPTHS[alpha]


@pytest.mark.parametrize("alpha", sorted(EXPECTED_DEPTHS))
@pytest.mark.parametrize("resolution", [224, 160])
def test_mnasnet_b1_params_and_madds_by_hand(alpha, resolution):
    params, madds, out = meta_count(lambda: mna.mnasnet(alpha), resolution)
    assert (params, madds) == tally(mnasnet_b1_layers(EXPECTED_DEPTHS[alpha], resolution))
    assert tuple(out.shape) == (1, 1000)


@pytest.mark.parametrize("alpha", sorted(EXPECTED_DEPTHS))
def test_mnasnet_b1_torchvision_meta(alpha):
    """torchvision 0.29.1 MNASNet*_Weights meta: num_params exactly, _ops to its digits."""
    num_params, gmacs = mna.TORCHVISION_MNASNET_META[alpha]
    params, madds, _ = meta_count(lambda: mna.mnasnet(alpha), 224)
    assert params == num_params
    assert round(madds / 1e9, 3) == gmacs


def test_mnasnet_a1_twin_equals_hand_count_and_paper():
    """MnasNet-A1: the torch twin equals the plain-Python count in reference_mnasnet.py (two
    separate implementations of Fig. 7(a)) and the paper's 3.9M params / 312M MAdds
    (Tan et al. 2019, arXiv:1807.11626, Table 1), BN gamma/beta included in the params."""
    for r in (224, 160):
        params, madds, out = meta_count(mna.mnasnet_a1, r)
        p, m, bn = mna.mnasnet_a1_counts(r)
        assert (params, madds) == (p + bn, m)
    params, madds, _ = meta_count(mna.mnasnet_a1, 224)
    assert round(params / 1e6, 1) == 3.9
    assert round(madds / 1e6) == 312


def test_mnasnet_a1_se_squeezes_block_input():
    """SE squeeze = max(1, int(block input * 0.25)): the first 40-channel block (input 24,
    expansion 3 -> 72) squeezes to 6, not 18."""
    model = mna.mnasnet_a1()
    ses = [m for m in model.modules() if isinstance(m, mna._SE)]
    assert (ses[0].reduce.in_channels, ses[0].reduce.out_channels) == (72, 6)
    assert len(ses) == 3 + 2 + 3


# ------------------------------------------------------------------------------ SSD / YOLOv2

VGG_CONVS = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
VGG_SIZES_300 = [300, 300, 150, 150, 75, 75, 75, 38, 38, 38, 19, 19, 19]   # pool3 ceil: 75 -> 38
VGG_SIZES_512 = [512, 512, 256, 256, 128, 128, 128, 64, 64, 64, 32, 32, 32]


def ssd_layers(sizes, extras, maps, anchors, classes):
    """VGG-16 convs, fc6 (3x3 dilated) / fc7, extras (1x1 then kxk), and per map a class and
    a box 3x3 conv; every conv with a bias. The L2Norm scale (512) is added by the caller."""
    fc = sizes[-1]
    layers = [L(ci, co, 3, h, bias=True) for (ci, co), h in zip(VGG_CONVS, sizes)]
    layers += [L(512, 1024, 3, fc, bias=True), L(1024, 1024, 1, fc, bias=True)]
    h = fc
    for (cin, mid, cout, k), hout in zip(extras, maps[2:]):
        layers += [L(cin, mid, 1, h, bias=True), L(mid, cout, k, hout, bias=True)]
        h = hout
    chans = [512, 1024] + [e[2] for e in extras]
    for c, hh, a in zip(chans, maps, anchors):
        layers += [L(c, a * classes, 3, hh, bias=True), L(c, a * 4, 3, hh, bias=True)]
    return layers


SSD300_EXTRAS = [(1024, 256, 512, 3), (512, 128, 256, 3), (256, 128, 256, 3), (256, 128, 256, 3)]
SSD512_EXTRAS = SSD300_EXTRAS + [(256, 128, 256, 4)]
SSD300_MAPS = [38, 19, 10, 5, 3, 1]
SSD512_MAPS = {"caffe": [64, 32, 16, 8, 4, 2, 1], "torchvision": [64, 32, 16, 8, 6, 4, 1]}


def test_ssd300_vgg16_by_hand_and_torchvision_meta():
    """torchvision ssd300_vgg16 (91 classes): 35,641,826 params = weights meta num_params;
    34.858 GMACs = meta _ops; 8732 default boxes (SSD paper, Fig. 2)."""
    params, madds, out = meta_count(lambda: det.ssd300_vgg16(91), 300)
    p, m = tally(ssd_layers(VGG_SIZES_300, SSD300_EXTRAS, SSD300_MAPS, det.SSD300_ANCHORS, 91))
    assert (params, madds) == (p + 512, m)
    assert params == 35641826
    assert round(madds / 1e9, 3) == 34.858
    boxes = sum(h * h * a for h, a in zip(SSD300_MAPS, det.SSD300_ANCHORS))
    assert boxes == 8732
    assert tuple(out["bbox_regression"].shape) == (1, 8732, 4)
    assert tuple(out["cls_logits"].shape) == (1, 8732, 91)


def test_ssd300_feature_maps_and_coco_81_classes():
    with torch.device("meta"):
        model = det.ssd300_vgg16(81)
        maps = model.feature_maps(torch.zeros(1, 3, 300, 300))
    assert [tuple(f.shape[1:]) for f in maps] == [
        (c, h, h) for c, h in zip(det.SSD300_CHANNELS, SSD300_MAPS)]
    params, _, _ = meta_count(lambda: det.ssd300_vgg16(81), 300)
    p, _ = tally(ssd_layers(VGG_SIZES_300, SSD300_EXTRAS, SSD300_MAPS, det.SSD300_ANCHORS, 81))
    assert params == p + 512


@pytest.mark.parametrize("layout", ["caffe", "torchvision"])
def test_ssd512_vgg16_by_hand(layout):
    """SSD512, 81 classes: same params in both layouts; Caffe's maps give the SSD paper's
    24564 default boxes."""
    maps = SSD512_MAPS[layout]
    params, madds, out = meta_count(lambda: det.ssd512_vgg16(81, layout), 512)
    p, m = tally(ssd_layers(VGG_SIZES_512, SSD512_EXTRAS, maps, det.SSD512_ANCHORS, 81))
    assert (params, madds) == (p + 512, m)
    boxes = sum(h * h * a for h, a in zip(maps, det.SSD512_ANCHORS))
    assert tuple(out["cls_logits"].shape) == (1, boxes, 81)
    if layout == "caffe":
        assert boxes == 24564


def yolov2_layers(passthrough_conv, r=416, classes=80):
    cfg = [(32, 3), "M", (64, 3), "M", (128, 3), (64, 1), (128, 3), "M", (256, 3), (128, 1),
           (256, 3), "M", (512, 3), (256, 1), (512, 3), (256, 1), (512, 3), "M",
           (1024, 3), (512, 1), (1024, 3), (512, 1), (1024, 3)]
    layers, cin, h = [], 3, r
    for v in cfg:
        if v == "M":
            h //= 2
            continue
        layers.append(L(cin, v[0], v[1], h, bn=True))
        cin = v[0]
    layers += [L(1024, 1024, 3, h, bn=True), L(1024, 1024, 3, h, bn=True)]
    if passthrough_conv:
        layers.append(L(512, 64, 1, 2 * h, bn=True))
    layers.append(L(1024 + (256 if passthrough_conv else 2048), 1024, 3, h, bn=True))
    layers.append(L(1024, 5 * (5 + classes), 1, h, bias=True))
    return layers


@pytest.mark.parametrize("passthrough_conv", [True, False])
def test_yolov2_by_hand(passthrough_conv):
    """Darknet counts each conv's weights, biases (= BN beta) and BN scales: the params here.
    Without the 1x1 conv to 64 (yolo-voc.2.0.cfg) the 80-class network at 416 is
    17,500,980,224 MAdds, darknet's 35.00 BFLOPs / 2 and Table 6's "17.5B"."""
    params, madds, out = meta_count(lambda: det.yolov2(80, passthrough_conv), 416)
    assert (params, madds) == tally(yolov2_layers(passthrough_conv))
    assert tuple(out.shape) == (1, 425, 13, 13)
    if not passthrough_conv:
        assert round(madds / 1e9, 1) == 17.5


# ------------------------------------------------------------------------------ segmentation

# torchvision mobilenet_v3_large weights meta num_params 5,483,032 (IMAGENET1K_V1) includes
# its classifier Linear(960, 1280) + Linear(1280, 1000); dilation adds no parameters.
V3_FEATURES_PARAMS = 5483032 - (960 * 1280 + 1280) - (1280 * 1000 + 1000)


def test_mobilenet_v3_dilated_backbone_strides():
    """low = features[4] at output stride 8 (40 ch), high = features[16] at 16 (960 ch)."""
    with torch.device("meta"):
        b = seg._V3Backbone()
        f = b(torch.zeros(1, 3, 512, 512))
    assert tuple(f["low"].shape) == (1, 40, 64, 64)
    assert tuple(f["high"].shape) == (1, 960, 32, 32)
    assert sum(p.numel() for p in b.parameters()) == V3_FEATURES_PARAMS
    dil = [m.dilation for m in b.features.modules() if isinstance(m, torch.nn.Conv2d)
           and m.groups > 1]
    assert dil.count((2, 2)) == 3 and dil[-1] == (2, 2)


def test_lraspp_by_hand_and_torchvision_meta():
    """LR-ASPP head: cbr 1x1 960->128 + BN, scale 1x1 960->128, two 1x1 classifiers with bias.
    torchvision meta: num_params 3,221,538; _ops 2.086 (its eval size 520)."""
    head, _ = tally([L(960, 128, 1, 1, bn=True), L(960, 128, 1, 1), L(40, 21, 1, 1, bias=True),
                     L(128, 21, 1, 1, bias=True)])
    params, madds, out = meta_count(seg.lraspp_mobilenet_v3_large, 512)
    assert params == V3_FEATURES_PARAMS + head == 3221538
    assert tuple(out.shape) == (1, 21, 512, 512)
    _, madds520, _ = meta_count(seg.lraspp_mobilenet_v3_large, 520)
    assert round(madds520 / 1e9, 3) == 2.086


@pytest.mark.parametrize("aux", [False, True])
def test_deeplabv3_mobilenet_v3_by_hand_and_torchvision_meta(aux):
    """DeepLabHead(960): ASPP (1x1, three 3x3 rates 12/24/36, pooling, 1x1 projection from
    1280), 3x3 256 conv, 1x1 logits; FCNHead(40) aux. Meta (with aux): 11,029,328 params,
    10.452 GMACs at 520."""
    head = [L(960, 256, 1, 1, bn=True)] + [L(960, 256, 3, 1, bn=True)] * 3 + [
        L(960, 256, 1, 1, bn=True), L(1280, 256, 1, 1, bn=True), L(256, 256, 3, 1, bn=True),
        L(256, 21, 1, 1, bias=True)]
    if aux:
        head += [L(40, 10, 3, 1, bn=True), L(10, 21, 1, 1, bias=True)]
    params, _, out = meta_count(lambda: seg.deeplabv3_mobilenet_v3_large(21, aux), 512)
    assert params == V3_FEATURES_PARAMS + tally(head)[0]
    assert tuple(out["out"].shape) == (1, 21, 512, 512)
    if aux:
        assert params == 11029328
        _, madds520, _ = meta_count(lambda: seg.deeplabv3_mobilenet_v3_large(21, True), 520)
        assert round(madds520 / 1e9, 3) == 10.452


V2_ROWS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
           (6, 160, 3, 2), (6, 320, 1, 1)]
V1_ROWS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + \
    [(1024, 2), (1024, 1)]


def table7_layers(net, r, os_, aspp):
    """Backbone (strides past the output stride become dilation: sizes stop halving), then
    image pooling 1x1 (on 1x1), 1x1 branch, [three 3x3], projection, logits with bias."""
    h, cur = (r + 1) // 2, 2
    layers = [L(3, 32, 3, h, bn=True)]
    cin = 32
    if net == "v2":
        for t, c, n, s in V2_ROWS:
            for i in range(n):
                hid = cin * t
                if t != 1:
                    layers.append(L(cin, hid, 1, h, bn=True))
                if i == 0 and s == 2 and cur < os_:
                    h, cur = (h + 1) // 2, cur * 2
                layers += [L(hid, hid, 3, h, groups=hid, bn=True), L(hid, c, 1, h, bn=True)]
                cin = c
    else:
        for c, s in V1_ROWS:
            if s == 2 and cur < os_:
                h, cur = (h + 1) // 2, cur * 2
            layers += [L(cin, cin, 3, h, groups=cin, bn=True), L(cin, c, 1, h, bn=True)]
            cin = c
    n = 3 if aspp else 0
    layers += [L(cin, 256, 1, 1, bn=True), L(cin, 256, 1, h, bn=True)]
    layers += [L(cin, 256, 3, h, bn=True)] * n
    layers += [L((2 + n) * 256, 256, 1, h, bn=True), L(256, 21, 1, h, bias=True)]
    return layers


# MobileNetV2 paper (Sandler et al. 2018, arXiv:1801.04381) Table 7 params, as printed
TABLE7_PARAMS = {("v2", True): "4.52", ("v2", False): "2.11", ("v1", True): "11.15"}


@pytest.mark.parametrize("net, aspp", sorted(TABLE7_PARAMS))
@pytest.mark.parametrize("os_", [16, 8])
def test_table7_deeplabv3_twins_by_hand(net, aspp, os_):
    """Params with BN gamma/beta equal Table 7's printed figures to their digits; MAdds at
    512 (H x W positions per conv, as FlopCounterMode counts) equal the layer list."""
    build = seg.deeplabv3_mobilenet_v2 if net == "v2" else seg.deeplabv3_mobilenet_v1
    params, madds, out = meta_count(lambda: build(os_, aspp), 512)
    assert (params, madds) == tally(table7_layers(net, 512, os_, aspp))
    assert f"{params / 1e6:.2f}" == TABLE7_PARAMS[(net, aspp)]
    assert tuple(out.shape) == (1, 21, 512, 512)


def test_table7_feature_map_is_second_last_and_dilated():
    """MobileNetV2's 'second last feature map' = layer_18's 320 channels (before the 1x1 to
    1280); at output stride 8 the map of a 512 input is 64 x 64."""
    with torch.device("meta"):
        f16 = seg.mobilenet_v2_features(16)(torch.zeros(1, 3, 512, 512))
        f8 = seg.mobilenet_v2_features(8)(torch.zeros(1, 3, 512, 512))
    assert tuple(f16.shape) == (1, 320, 32, 32)
    assert tuple(f8.shape) == (1, 320, 64, 64)
    # TF-slim rule: the layer that would stride runs at stride 1 with the current rate, and the
    # layers after it get rate * stride.
    assert seg._atrous_schedule([2, 2, 1, 2, 1], 4) == [(2, 1), (2, 1), (1, 1), (1, 1), (1, 2)]


def _aspp_dilations(model):
    aspp = next(m for m in model.modules() if isinstance(m, seg.ASPP))
    return [m.dilation[0] for m in aspp.modules()
            if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]


def test_aspp_atrous_rates():
    """Dilation changes no count, so it is checked directly: torchvision's DeepLabHead uses
    (12, 24, 36) at output stride 16; Table 7's heads (6, 12, 18) at 16 and (12, 24, 36) at 8
    (DeepLabv3, Chen et al. 2017, arXiv:1706.05587, Sec. 3.3), padding = rate."""
    assert _aspp_dilations(seg.deeplabv3_mobilenet_v3_large()) == [12, 24, 36]
    assert _aspp_dilations(seg.deeplabv3_mobilenet_v2(16)) == [6, 12, 18]
    assert _aspp_dilations(seg.deeplabv3_mobilenet_v2(8)) == [12, 24, 36]
    assert _aspp_dilations(seg.deeplabv3_mobilenet_v2(16, aspp=False)) == []
    aspp = next(m for m in seg.deeplabv3_mobilenet_v1(8).modules() if isinstance(m, seg.ASPP))
    assert all(m.padding == m.dilation for m in aspp.modules()
               if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
