"""Node and layer names of an imported graph, from the module paths the capture recorded.

Node names are module paths (`features.3.conv.1.0`; `_1`, `_2` on repeats; an op run directly
in the root's forward is named after the op, e.g. `flatten`). Layers group ops the way a
compiled spec groups them ("a conv with its BN and activation is one layer"):

* an *anchor* op (a conv, linear, pool, add, concat, ...: anything but BN, activations, norms,
  views and copies) starts a layer;
* a following BN / activation / norm / view / copy joins it when it runs in the same module,
  a child of it, or a sibling module (a Conv2dNormActivation's BN and ReLU6; a ResNet
  block's bn1 and relu after conv1; the block's relu after its residual add); otherwise it
  starts its own layer; a parameter read as an operand joins its reader's layer;
* a layer is named after its anchor's module, or after the anchor's parent when that parent
  holds only leaf modules and exactly one conv / linear among them (torchvision's
  Conv2dNormActivation `features.0`, `features.3.conv.1`), as torchinfo's rows at depth 2-3.

The block (the report's top-level section) is the first component of the layer's name.
"""
from __future__ import annotations

from ..ops import CONV_KINDS, OpKind

FOLLOWERS = (OpKind.BN, OpKind.ACT, OpKind.NORM, OpKind.VIEW, OpKind.COPY, OpKind.PARAM)
WEIGHTED = (*CONV_KINDS, OpKind.LINEAR, OpKind.FC)


def parent(path: str) -> str:
    return path.rpartition(".")[0]


def unique(base: str, taken: set, first: int = 1) -> str:
    """`base`, or `base_<first>`, `base_<first + 1>`, ... the first not in `taken` (then added
    to it): node and layer names stay distinct when a module runs twice (and a written
    spec's row names, export/text.py, from `_2`)."""
    name, k = base, first - 1
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


class Namer:
    """Gives each emitted op its node name, layer and block, in execution order."""

    def __init__(self, module_paths, weighted_modules):
        self.children: dict[str, set] = {}
        for path in module_paths:
            parts = path.split(".") if path else []
            for i in range(len(parts)):
                self.children.setdefault(".".join(parts[:i]), set()).add(".".join(parts[:i + 1]))
        self.weighted = set(weighted_modules)     # modules that run a conv / linear
        self.nodes: set = set()
        self.layers: set = set()
        self.current: tuple | None = None          # (anchor module, layer name)

    def node_name(self, module: str, op_short: str) -> str:
        return unique(module or op_short, self.nodes)

    def _is_leaf(self, path: str) -> bool:
        return not self.children.get(path)

    def _layer_of_anchor(self, module: str, op_short: str) -> str:
        if not module:
            return op_short
        up = parent(module)
        siblings = self.children.get(up, set())
        if up and self._is_leaf(module) and all(self._is_leaf(s) for s in siblings) and \
                sum(s in self.weighted for s in siblings) == 1:
            return up
        return module

    def _fresh(self, base: str) -> str:
        return unique(base, self.layers)

    def layer(self, kind: OpKind, module: str, op_short: str) -> tuple[str, str]:
        """(layer, block) of the next op."""
        if kind in FOLLOWERS and self.current is not None:
            anchor, name = self.current
            if module == anchor or (module and parent(module) == anchor) or \
                    (module and anchor and parent(module) == parent(anchor)):
                return name, name.split(".")[0]
        base = self._layer_of_anchor(module, op_short)
        if self.current is not None and self.current[1] == base:
            return base, base.split(".")[0]
        name = self._fresh(base)
        self.current = (module, name)
        return name, name.split(".")[0]
