"""The specs of issue 13 against independent counts: the hand-written PyTorch twins
(tests/reference_detection.py, reference_segmentation.py, reference_mnasnet.py; counted on
the meta device: sum of numel, FlopCounterMode / 2), torchvision's weights meta, and the
figures the papers print (MobileNetV2 Tables 6 and 7, MnasNet Table 1), copied here with
their source. The torchvision convention counts BN gamma/beta as torch's parameters do."""
from __future__ import annotations

from pathlib import Path

import pytest

import archcalc

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import reference_detection as det        # noqa: E402  (tests/ is on sys.path via conftest)
import reference_mnasnet as mna          # noqa: E402
import reference_segmentation as seg     # noqa: E402

SPECS = Path(__file__).resolve().parent.parent / "specs"


def twin(build, height):
    """(params, madds) of a twin on the meta device."""
    with torch.device("meta"):
        model = build()
        x = torch.zeros(1, 3, height, height)
    params = sum(p.numel() for p in model.parameters())
    fc = FlopCounterMode(display=False)
    with fc:
        model(x)
    return params, fc.get_total_flops() // 2


def ours(spec, resolution, sets=None, width=None, convention="torchvision"):
    t = archcalc.evaluate(SPECS / spec, width, resolution, convention=convention,
                          sets=sets).totals
    return t["params"], t["madds"]


TWINS = [
    ("ssd300_vgg16.yaml", 300, {"num_classes": "91"}, None, lambda: det.ssd300_vgg16(91)),
    ("ssd300_vgg16.yaml", 300, {"num_classes": "81"}, None, lambda: det.ssd300_vgg16(81)),
    ("ssd512_vgg16.yaml", 512, {"num_classes": "81"}, None, lambda: det.ssd512_vgg16(81, "caffe")),
    ("ssd512_vgg16.yaml", 512, {"num_classes": "81", "layout": "torchvision"}, None,
     lambda: det.ssd512_vgg16(81, "torchvision")),
    ("yolov2.yaml", 416, {"num_classes": "80"}, None, lambda: det.yolov2(80, False)),
    ("yolov2.yaml", 416, {"num_classes": "80", "passthrough_conv": "true"}, None,
     lambda: det.yolov2(80, True)),
    ("lraspp_mobilenet_v3_large.yaml", 512, {"num_classes": "21"}, None,
     lambda: seg.lraspp_mobilenet_v3_large(21)),
    ("deeplabv3_mobilenet_v3_large.yaml", 512, {"num_classes": "21"}, None,
     lambda: seg.deeplabv3_mobilenet_v3_large(21, aux=False)),
    ("deeplabv3_mobilenet_v3_large.yaml", 512, {"num_classes": "21", "aux": "true"}, None,
     lambda: seg.deeplabv3_mobilenet_v3_large(21, aux=True)),
    ("mnasnet.yaml", 224, {"num_classes": "1000"}, None, lambda: mna.mnasnet_a1(1000)),
] + [
    (f"deeplabv3_mobilenet_{v}.yaml", 512,
     {"num_classes": "21", "output_stride": str(os_), "aspp": str(aspp).lower()}, None,
     (lambda v=v, os_=os_, aspp=aspp: getattr(seg, f"deeplabv3_mobilenet_{v}")(os_, aspp)))
    for v in ("v1", "v2") for os_ in (16, 8) for aspp in (True, False)
] + [
    ("mnasnet.yaml", r, {"variant": "b1", "num_classes": "1000"}, alpha,
     (lambda alpha=alpha: mna.mnasnet(float(alpha))))
    for alpha in ("0.5", "0.75", "1.0", "1.3") for r in (224, 160)
]


@pytest.mark.parametrize("spec, resolution, sets, width, build", TWINS,
                         ids=[f"{t[0][:-5]}-{t[1]}-{t[3] or 1}-" +
                              ",".join(f"{k}={v}" for k, v in t[2].items()) for t in TWINS])
def test_spec_equals_its_pytorch_twin(spec, resolution, sets, width, build):
    assert ours(spec, resolution, sets, width) == twin(build, resolution)


# torchvision 0.29.1 weights meta (num_params; _ops = GMACs as printed), research notes of
# issue 13: ssd300_vgg16 COCO_V1; mnasnet*_IMAGENET1K_V1; the segmentation COCO_WITH_VOC_LABELS_V1
# weights, whose meta counts the auxiliary head and is measured at 520 x 520.
TORCHVISION_META = [
    ("ssd300_vgg16.yaml", 300, {"num_classes": "91"}, None, 35_641_826, 34.858),
    ("mnasnet.yaml", 224, {"variant": "b1"}, "0.5", 2_218_512, 0.104),
    ("mnasnet.yaml", 224, {"variant": "b1"}, "0.75", 3_170_208, 0.215),
    ("mnasnet.yaml", 224, {"variant": "b1"}, "1.0", 4_383_312, 0.314),
    ("mnasnet.yaml", 224, {"variant": "b1"}, "1.3", 6_282_256, 0.526),
    ("lraspp_mobilenet_v3_large.yaml", 520, {"num_classes": "21"}, None, 3_221_538, 2.086),
    ("deeplabv3_mobilenet_v3_large.yaml", 520, {"num_classes": "21", "aux": "true"}, None,
     11_029_328, 10.452),
]


@pytest.mark.parametrize("spec, resolution, sets, width, num_params, gmacs", TORCHVISION_META)
def test_torchvision_weights_meta(spec, resolution, sets, width, num_params, gmacs):
    params, madds = ours(spec, resolution, sets, width)
    assert params == num_params
    assert round(madds / 1e9, 3) == gmacs


# MobileNetV2 paper (Sandler et al. 2018, arXiv:1801.04381), Table 6 (COCO; "SSD/YOLOv2
# numbers are from [35]") and Table 7 (PASCAL VOC 2012 val; MNet V2* = second last feature
# map; OS output stride; MF multi-scale and flipped inputs), as printed.
TABLE6 = {"ssd300_vgg16.yaml": (36.1e6, 35.2e9), "ssd512_vgg16.yaml": (36.1e6, 99.5e9),
          "yolov2.yaml": (50.7e6, 17.5e9)}
TABLE7 = [   # (spec, output_stride, aspp, multiscale, params, madds)
    ("deeplabv3_mobilenet_v1.yaml", 16, True, False, 11.15e6, 14.25e9),
    ("deeplabv3_mobilenet_v1.yaml", 8, True, True, 11.15e6, 941.9e9),
    ("deeplabv3_mobilenet_v2.yaml", 16, True, False, 4.52e6, 5.8e9),
    ("deeplabv3_mobilenet_v2.yaml", 8, True, True, 4.52e6, 387e9),
    ("deeplabv3_mobilenet_v2.yaml", 16, False, False, 2.11e6, 2.75e9),
    ("deeplabv3_mobilenet_v2.yaml", 8, False, True, 2.11e6, 152.6e9),
]


def off(value, printed) -> float:
    return abs(value - printed) / printed


@pytest.mark.parametrize("spec", ["ssd300_vgg16.yaml", "ssd512_vgg16.yaml"])
def test_table6_ssd_within_5_percent(spec):
    """81 classes (COCO's 80 + background), the paper convention (no BN in SSD)."""
    params, madds = ours(spec, None, convention="paper")
    assert off(params, TABLE6[spec][0]) < 0.05 and off(madds, TABLE6[spec][1]) < 0.05


def test_table6_yolov2_cannot_match_both_figures():
    """The paper's network (reorg of the 512-channel map) gives the 17.5B MAdds exactly to
    0.01% but 67.4M params (+33%); the released yolo.cfg (1x1 conv to 64 first) gives 50.9M
    (+0.5%) but 14.7B (-16%): docs/zoo.md."""
    p_text, m_text = ours("yolov2.yaml", None, convention="paper")
    p_cfg, m_cfg = ours("yolov2.yaml", None, {"passthrough_conv": "true"}, convention="paper")
    assert off(m_text, 17.5e9) < 0.001 and off(p_text, 50.7e6) > 0.3
    assert off(p_cfg, 50.7e6) < 0.01 and off(m_cfg, 17.5e9) > 0.15
    assert (p_text, m_text) == (67_424_521, 17_500_980_224)     # research notes, hand count


@pytest.mark.parametrize("spec, os_, aspp, mf, params, madds", TABLE7)
def test_table7(spec, os_, aspp, mf, params, madds):
    """At TF DeepLab's 513 x 513 crop with TF's atrous cost (tf-deeplab; BN gamma/beta
    counted): every row within 5% but MobileNetV1 OS 8 MF, 5.19% over (docs/zoo.md)."""
    sets = {"output_stride": str(os_), "aspp": str(aspp).lower(), "multiscale": str(mf).lower()}
    p, m = ours(spec, 513, sets, convention="tf-deeplab")
    assert off(p, params) < 0.005
    if spec == "deeplabv3_mobilenet_v1.yaml" and mf:
        assert 0.05 < off(m, madds) < 0.06
    else:
        assert off(m, madds) < 0.005


def test_table7_hw_count_is_what_torch_computes():
    """Without TF's atrous padding (the torchvision convention, = FlopCounterMode) the
    OS 16 ASPP row is 12.6% under Table 7 at 512: the reason for tf-deeplab."""
    p, m = ours("deeplabv3_mobilenet_v2.yaml", 512, {"num_classes": "21"})
    assert (p, m) == twin(lambda: seg.deeplabv3_mobilenet_v2(16, True), 512)
    assert 0.12 < off(m, 5.8e9) < 0.13


def test_mnasnet_a1_paper_table1():
    """MnasNet paper Table 1: A1 3.9M params, 312M MAdds at 224."""
    params, madds = ours("mnasnet.yaml", 224, convention="torchvision")
    assert round(params / 1e6, 1) == 3.9 and off(madds, 312e6) < 0.005


def test_compare_reproduces_table6_layout(capsys):
    from archcalc.cli.main import main
    assert main(["compare", "ssd300_vgg16", "ssd512_vgg16", "yolov2", "ssdlite_mobilenet_v1",
                 "ssdlite_mobilenet_v2", "-f", "json"]) == 0
    import json
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [e["published"]["coco_map"] for e in entries] == [23.2, 26.8, 21.6, 22.2, 22.1]
    assert [e["published"]["paper_params"] for e in entries] == [36.1e6, 36.1e6, 50.7e6,
                                                                  5.1e6, 4.3e6]


def test_compare_reproduces_table7_rows(capsys):
    from archcalc.cli.main import main
    targets = [f"deeplabv3_mobilenet_v2@1,513+output_stride={os_}+aspp={a}+multiscale={mf}"
               for os_, a, mf in ((16, "true", "false"), (8, "true", "true"),
                                  (16, "false", "false"), (8, "false", "true"))]
    assert main(["compare", *targets, "--convention", "tf-deeplab", "-f", "json"]) == 0
    import json
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [e["published"]["voc_miou"] for e in entries] == [75.7, 78.42, 75.32, 77.33]
    for e in entries:
        assert off(e["totals"]["madds"], e["published"]["paper_madds"]) < 0.005
    assert "output_stride=8" in entries[1]["label"]


def test_compare_target_bindings_are_checked():
    from archcalc.compare import Target
    from archcalc.errors import ArchcalcError, OptionError
    assert Target.parse("a.yaml@1,513+x=1+y=b").sets == (("x", "1"), ("y", "b"))
    with pytest.raises(OptionError, match="NAME=VALUE"):
        Target.parse("a.yaml+oops")
    with pytest.raises(ArchcalcError, match="unknown parameter"):
        archcalc.compare_specs(["yolov2+output_stride=8"])
