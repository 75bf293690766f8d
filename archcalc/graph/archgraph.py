"""ArchGraph: the compiled op-graph plus the point it was compiled at.

The nodes are kept in plain dicts (insertion order is topological order); `graph` builds the
equivalent networkx DiGraph on request, so compiling and costing never import networkx
(about 75 ms of a cold `archcalc report`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import SpecError
from ..limits import MAX_GRAPH_OPS
from ..ops import Op


@dataclass
class ArchGraph:
    """Nodes are op names in topological (insertion) order; each carries `op` (an Op),
    `shape` (C, H, W) and `inputs` (ordered predecessor names).

    `width` and `resolution` are the point (exact numbers; a non-square resolution is an
    InputSize (H, W)), or sympy symbols when the graph is symbolic.
    """
    spec: object
    width: object
    resolution: object
    symbolic: bool
    # symbolic graphs: conditions on alpha under which the structure differs (see
    # compile.RowCompiler.residual); where one holds, the closed forms do not apply
    guards: list = field(default_factory=list)
    # each layer's last node (a row's `from` may name a layer path)
    last_of_layer: dict = field(default_factory=dict, repr=False, compare=False)
    # name -> {"op": Op, "shape": (C, H, W), "inputs": names}, in insertion order
    nodes: dict = field(default_factory=dict, repr=False)
    # name -> the names that consume it, in the order they were added
    succ: dict = field(default_factory=dict, repr=False, compare=False)

    def add(self, op: Op, shape: tuple, inputs: list[str]) -> str:
        """Add a node; past MAX_GRAPH_OPS nodes the spec is refused (checked as nodes are added,
        so a spec that would compile to millions of ops fails at once)."""
        if len(self.nodes) >= MAX_GRAPH_OPS:
            raise SpecError(f"the network compiles to more than {MAX_GRAPH_OPS:,} ops (limit "
                            f"MAX_GRAPH_OPS)", path=getattr(self.spec, "path", None), line=op.line)
        name = op.name
        if name in self.nodes:            # as networkx's add_node: the attributes are updated
            self.nodes[name].update(op=op, shape=shape, inputs=tuple(inputs))
        else:
            self.nodes[name] = {"op": op, "shape": shape, "inputs": tuple(inputs)}
            self.succ[name] = []
        self.last_of_layer[op.layer] = name
        for u in inputs:
            if u not in self.nodes:       # an edge from an unknown name adds it (as networkx)
                self.nodes[u] = {}
                self.succ[u] = []
            if name not in self.succ[u]:
                self.succ[u].append(name)
        return name

    @property
    def graph(self):
        """The op-graph as a networkx DiGraph (built on each access; node attributes `op`,
        `shape`, `inputs`)."""
        import networkx as nx
        g = nx.DiGraph()
        for name, attrs in self.nodes.items():
            g.add_node(name, **attrs)
        for u, consumers in self.succ.items():
            for v in consumers:
                g.add_edge(u, v)
        return g

    def __contains__(self, name: str) -> bool:
        return name in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def names(self) -> list[str]:
        return list(self.nodes)

    def op(self, name: str) -> Op:
        return self.nodes[name]["op"]

    def shape(self, name: str) -> tuple:
        return self.nodes[name]["shape"]

    def inputs(self, name: str) -> tuple[str, ...]:
        return self.nodes[name]["inputs"]

    def consumers(self, name: str) -> list[str]:
        return list(self.succ[name])

    def outputs(self) -> list[str]:
        """Nodes nothing consumes: the network's outputs."""
        return [n for n, consumers in self.succ.items() if not consumers]
