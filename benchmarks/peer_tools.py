"""Manual check of the peer conventions on torchvision's own models (not run by the tests).

Runs fvcore, ptflops, thop, torchinfo, torchprofile and FlopCounterMode on torchvision's
mobilenet_v2 / v3 / efficientnet_b0 / shufflenet_v2 and compares each total (and params, where
the tool reports them) with `archcalc.evaluate(SPEC, convention=TOOL)` (FlopCounterMode / 2
with the `torchvision` convention). torchvision does not import next to the pinned
torch==2.13.0 CPU build (issue 12), so run it from an environment that has torchvision and the
tools, with this checkout on the path, from the repository root:

    PYTHONPATH=. /path/to/venv-with-torchvision/bin/python benchmarks/peer_tools.py

It prints one line per model and tool ("=" where equal) and exits 1 on any difference. The CI
tests check the same on hand-written twins (tests/test_peer_conventions.py).
"""
from __future__ import annotations

import contextlib
import io
import logging
import sys
import warnings

CASES = [  # torchvision name, kwargs, resolution, spec, width, --set
    ("mobilenet_v2", {}, 224, "mobilenet_v2", "1", {}),
    ("mobilenet_v2", {}, 160, "mobilenet_v2", "1", {}),
    ("mobilenet_v2", {"width_mult": 0.5}, 224, "mobilenet_v2", "0.5", {}),
    ("mobilenet_v3_large", {}, 224, "mobilenet_v3_large", "1", {}),
    ("mobilenet_v3_small", {}, 224, "mobilenet_v3_small", "1", {}),
    ("efficientnet_b0", {}, 224, "efficientnet_b0", "1", {}),
    ("shufflenet_v2_x0_5", {}, 224, "shufflenet_v2", "1", {"size": "x0_5"}),
    ("shufflenet_v2_x1_0", {}, 224, "shufflenet_v2", "1", {"size": "x1_0"}),
    ("shufflenet_v2_x1_0", {}, 160, "shufflenet_v2", "1", {"size": "x1_0"}),
]


def tool_totals(build, r: int) -> dict:
    """{tool: (total, params or None)} for a fresh model from `build()` per tool."""
    import thop
    import torch
    import torchinfo
    import torchprofile
    from fvcore.nn import FlopCountAnalysis, parameter_count
    from ptflops import get_model_complexity_info
    from torch.utils.flop_counter import FlopCounterMode
    x = torch.zeros(1, 3, r, r)
    out = {}
    m = build()
    f = FlopCountAnalysis(m, x)
    f.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    out["fvcore"] = (f.total(), parameter_count(m)[""])
    out["ptflops"] = get_model_complexity_info(build(), (3, r, r), as_strings=False,
                                               print_per_layer_stat=False, verbose=False)
    macs, params = thop.profile(build(), inputs=(x,), verbose=False)
    out["thop"] = (int(macs), int(params))
    s = torchinfo.summary(build(), input_size=(1, 3, r, r), verbose=0)
    out["torchinfo"] = (s.total_mult_adds, s.total_params)
    out["torchprofile"] = (torchprofile.profile_macs(build(), x), None)
    m, fc = build(), FlopCounterMode(display=False)
    with fc:
        m(x)
    out["torchvision"] = (fc.get_total_flops() // 2, sum(p.numel() for p in m.parameters()))
    return out


def main() -> int:
    import torch
    import torchvision

    import archcalc
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    differ = 0
    for name, kw, r, spec, width, sets in CASES:
        def build():
            return getattr(torchvision.models, name)(**kw).eval()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                torch.no_grad():
            measured = tool_totals(build, r)
        for tool, (total, params) in measured.items():
            t = archcalc.evaluate(spec, width, r, sets=sets, convention=tool).totals
            same = t["madds"] == total and params in (None, t["params"])
            differ += not same
            print(f"{name}{kw or ''} {r} {tool:12s} tool {total:>13,} params {params or '-':>9} "
                  f"{'=' if same else '!='} archcalc {t['madds']:>13,} params {t['params']:>9}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
