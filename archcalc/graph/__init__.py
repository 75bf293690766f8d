"""Spec -> op-graph: a networkx DiGraph of primitive ops with exact or symbolic shapes."""
from .archgraph import ArchGraph
from .compile import RowCompiler, compile_graph

__all__ = ["ArchGraph", "RowCompiler", "compile_graph"]
