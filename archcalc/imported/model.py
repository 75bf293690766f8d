"""ImportedModel: what an imported graph's `spec` field holds (the ArchGraph of a PyTorch module
or an ONNX file carries it where a compiled spec carries its NetworkSpec), with the fields the
renderers read from a spec: name, path, source, params, width, resolution; plus the warnings
every output prints (unknown ops counted as zero under --allow-unknown) and capture notes.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SetValue:
    """A keyword argument the model's callable was called with (`--set NAME=VALUE`)."""
    name: str
    value: object


@dataclass(frozen=True)
class ImportedModel:
    name: str                      # the model's class or callable name
    path: str | None = None        # the reference as the user gave it ("pkg.mod:fn", "m.onnx")
    source: str = ""               # how it was captured ("PyTorch, meta-device dispatch trace")
    params: tuple = ()             # SetValue: the callable's keyword arguments
    width: object = None           # imported models have no width multiplier
    resolution: object = None      # the input's H (square) or InputSize (H, W)
    input_shape: tuple = ()        # every input's shape, batch included
    unknown_ops: tuple = ()        # ((op, module path, count), ...) counted as zero
    notes: tuple = ()              # facts a reader must know (from the capture and the mapping)
    imported: bool = True
    multiscale: None = None        # one inference pass (a spec's `multiscale:` section: none)

    @property
    def warnings(self) -> list[str]:
        """One line per unknown op (counted as zero), then the notes."""
        lines = [f"unknown op {op} at {path or '<root>'} x{count}: counted as zero"
                 for op, path, count in self.unknown_ops]
        return lines + list(self.notes)
