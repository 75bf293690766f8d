"""ArchGraph: the compiled op-graph (a networkx DiGraph) plus the point it was compiled at."""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

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
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    # symbolic graphs: conditions on alpha under which the structure differs (see
    # compile.RowCompiler.residual); where one holds, the closed forms do not apply
    guards: list = field(default_factory=list)
    # each layer's last node (a row's `from` may name a layer path)
    last_of_layer: dict = field(default_factory=dict, repr=False, compare=False)

    def add(self, op: Op, shape: tuple, inputs: list[str]) -> str:
        """Add a node; past MAX_GRAPH_OPS nodes the spec is refused (checked as nodes are added,
        so a spec that would compile to millions of ops fails at once)."""
        if self.graph.number_of_nodes() >= MAX_GRAPH_OPS:
            raise SpecError(f"the network compiles to more than {MAX_GRAPH_OPS:,} ops (limit "
                            f"MAX_GRAPH_OPS)", path=getattr(self.spec, "path", None), line=op.line)
        self.graph.add_node(op.name, op=op, shape=shape, inputs=tuple(inputs))
        self.last_of_layer[op.layer] = op.name
        for name in inputs:
            self.graph.add_edge(name, op.name)
        return op.name

    def __contains__(self, name: str) -> bool:
        return name in self.graph

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    @property
    def names(self) -> list[str]:
        return list(self.graph.nodes)

    def op(self, name: str) -> Op:
        return self.graph.nodes[name]["op"]

    def shape(self, name: str) -> tuple:
        return self.graph.nodes[name]["shape"]

    def inputs(self, name: str) -> tuple[str, ...]:
        return self.graph.nodes[name]["inputs"]

    def consumers(self, name: str) -> list[str]:
        return list(self.graph.successors(name))

    def outputs(self) -> list[str]:
        """Nodes nothing consumes: the network's outputs."""
        return [n for n in self.graph.nodes if self.graph.out_degree(n) == 0]
