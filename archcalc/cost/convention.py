"""Counting conventions: what a count includes, as one explicit, printed object.

MAdds are the multiply-accumulates of convolutions and fully-connected layers (the papers'
convention: MobileNetV1 Sec. 3, MobileNetV2 Table 4, ShuffleNet Table 1). What varies between
published figures is whether BN's gamma/beta and biases count as parameters, whether
element-wise ops are reported, and the number of classes; those are the fields here. The peer
presets (fvcore, ptflops, thop, torchinfo, torchprofile) also count MAdds as that tool does,
op kind by op kind (`madds_rules`: a rule table of archcalc.cost.peers).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


def flops_from_madds(madds):
    """FLOPs = 2 x MAdds (a multiply and an add each): the one place this is defined."""
    return 2 * madds


@dataclass(frozen=True)
class Convention:
    name: str
    bn_params: bool = False     # count BN gamma/beta in `params` (always reported as bn_params)
    bias: bool = True           # count biases in `params`
    elementwise: bool = False   # report element-wise ops (BN, activations, adds, pooling)
    num_classes: int | None = None   # sets the spec's `num_classes` parameter (None: spec default)
    reproduces: str = ""
    madds_rules: str | None = None   # a peer tool's rule table (cost/peers.py); None: conv + fc
    atrous: str = "hw"          # dilated convs: "hw" = H x W positions; "tf" = TF's padded count

    def describe(self) -> str:
        if self.madds_rules:
            from .peers import describe
            madds = describe(self.madds_rules)
        else:
            madds = "MAdds = conv + fc multiply-accumulates"
        parts = [madds, "FLOPs = 2 x MAdds",
                 "BN params " + ("counted" if self.bn_params else "excluded"),
                 "biases " + ("counted" if self.bias else "excluded"),
                 "element-wise ops " + ("reported" if self.elementwise else "not counted"),
                 f"num_classes = {self.num_classes} unless --set" if self.num_classes
                 else "classes as the spec says"]
        if self.atrous == "tf":
            parts.append("atrous convs at TF's padded positions r*ceil(H/r) x r*ceil(W/r)")
        return f"{self.name} ({'; '.join(parts)})"

    def with_options(self, bn_params: bool | None = None, bias: bool | None = None,
                     elementwise: bool | None = None) -> "Convention":
        """A variant of this convention; its name records what was changed."""
        changes = {k: v for k, v in dict(bn_params=bn_params, bias=bias, elementwise=elementwise).items()
                   if v is not None and v != getattr(self, k)}
        if not changes:
            return self
        suffix = ",".join(f"{'+' if v else '-'}{k}" for k, v in changes.items())
        return replace(self, name=f"{self.name}[{suffix}]", reproduces="", **changes)

    def madds(self, op, inputs, out, cost):
        """The MAdds this convention counts for one op (`cost`: its rule's Cost)."""
        if self.madds_rules is None:
            return cost.madds
        from .peers import madds
        return madds(self.madds_rules, op, inputs, out, cost)

    def param_defaults(self) -> dict:
        """Spec parameters this convention sets (when the spec declares them)."""
        return {"num_classes": self.num_classes} if self.num_classes else {}


CONVENTIONS = {
    "paper": Convention("paper", reproduces="MobileNetV2 paper: 3.4M params, 300M MAdds"),
    "torchvision": Convention("torchvision", bn_params=True, num_classes=1000,
                              reproduces="torchvision mobilenet_v2 meta: num_params 3,504,872"),
    "tf-slim": Convention("tf-slim", num_classes=1001,
                          reproduces="TF-slim / Keras mobilenet_v2: 3.47M params"),
    # MobileNetV2 Table 7 was measured on TF DeepLab's graph: BN gamma/beta counted, and an
    # atrous conv (rate r > 1) run as space_to_batch -> conv -> batch_to_space on an input
    # padded to a multiple of r (tf.nn.with_space_to_batch)
    "tf-deeplab": Convention("tf-deeplab", bn_params=True, atrous="tf",
                             reproduces="MobileNetV2 Table 7 at 513 x 513: 4.52M params, 5.8B MAdds"),
}
# Peer tools: every parameter counted (as each tool reports it), 1000 classes, MAdds by the
# tool's rules (archcalc.cost.peers); "reproduces" is the tool's call.
_PEER_MOBILENET_V2 = {"fvcore": "314,193,216", "ptflops": "320,300,008", "thop": "327,486,720",
                      "torchinfo": "300,809,384", "torchprofile": "307,453,664"}
for _tool, _total in _PEER_MOBILENET_V2.items():
    CONVENTIONS[_tool] = Convention(
        _tool, bn_params=True, num_classes=1000, madds_rules=_tool,
        reproduces=f"{_tool}'s total; torchvision mobilenet_v2 at 224: {_total} MAdds")


def convention_named(name: "str | Convention") -> Convention:
    """A convention by name (a Convention passes through); OptionError for an unknown name."""
    if isinstance(name, Convention):
        return name
    try:
        return CONVENTIONS[name]
    except KeyError:
        from ..errors import OptionError
        raise OptionError(f"unknown convention {name!r} (known: {', '.join(CONVENTIONS)})") from None
