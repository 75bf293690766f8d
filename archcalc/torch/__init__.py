"""PyTorch backend (optional extra `archcalc[torch]`): materialise an op-graph as an
nn.Module whose module names equal the graph's node names, and verify archcalc's counts
against PyTorch's own. `import archcalc` never imports this package."""
from .build import BUILDERS, build_module, builder
from .verify import VerifyResult, verify

__all__ = ["BUILDERS", "build_module", "builder", "verify", "VerifyResult"]
