"""Model references: the one resolver of `package.module:callable`, `path/to/file.py:callable`
and `model.onnx` wherever the command line accepts a SPEC (report, compare).

A model reference is the only thing archcalc ever runs as Python, and only when the user
names it: the callable is imported and called with the `--set NAME=VALUE` values as keyword
arguments (numbers and true/false/none typed, other values as text), first under
`torch.device("meta")` with torch.nn.init's functions skipped (meta tensors hold no values,
and on the meta device those functions run Python reference kernels: skipping them makes
building MobileNetV2 about 7x faster); on the CPU, init still skipped, where the constructor
reads tensor values; again normally if that fails. The input
shape comes from `--input-shape CxHxW` (default 3x224x224) and `--resolution R` or `HxW`.
Every failure (no module, no callable, not an nn.Module, the callable raised, the capture
failed) is one OptionError line.
"""
from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager

from ..errors import ArchcalcError, OptionError

DEFAULT_INPUT_SHAPE = (3, 224, 224)
_REF = re.compile(r"^(?P<module>[^:]+?):(?P<attr>[A-Za-z_][A-Za-z0-9_.]*)$")
_SIDE = re.compile(r"^\d{1,6}$")


def is_model_ref(text: str) -> bool:
    """Whether a SPEC argument names a model rather than a YAML spec."""
    text = os.fspath(text)
    if text.lower().endswith(".onnx"):
        return True
    if text.startswith("zoo:") or text.lower().endswith((".yaml", ".yml")):
        return False
    m = _REF.match(text)
    return bool(m) and (m.group("module").endswith(".py") or
                        re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*",
                                     m.group("module")) is not None)


def input_shape(text: str | None, resolution: str | None) -> tuple:
    """(C, H, W) from --input-shape CxHxW, with --resolution R or HxW replacing H and W."""
    c, h, w = DEFAULT_INPUT_SHAPE
    if text:
        parts = text.lower().split("x")
        if len(parts) != 3 or not all(_SIDE.match(p) and int(p) > 0 for p in parts):
            raise OptionError(f"--input-shape expects CxHxW (e.g. 3x224x224), got {text!r}")
        c, h, w = (int(p) for p in parts)
    if resolution:
        parts = str(resolution).lower().split("x")
        if len(parts) not in (1, 2) or not all(_SIDE.match(p) and int(p) > 0 for p in parts):
            raise OptionError(f"--resolution for a model expects R or HxW (e.g. 224 or 224x320), "
                              f"got {resolution!r}")
        h, w = (int(parts[0]), int(parts[-1]))
    from ..limits import MAX_RESOLUTION
    if max(h, w) > MAX_RESOLUTION or c > MAX_RESOLUTION:
        raise OptionError(f"input shape {c}x{h}x{w} is over the limit MAX_RESOLUTION "
                          f"({MAX_RESOLUTION})")
    return c, h, w


def typed(text: str):
    """A --set value as a Python value for a callable's keyword argument."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    if re.fullmatch(r"[+-]?\d{1,18}", low):
        return int(low)
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", low):
        from ..numbers import parse_decimal
        return float(parse_decimal(low, "--set"))
    return text


def _import(module_text: str):
    import importlib
    import importlib.util
    if module_text.endswith(".py"):
        path = os.path.abspath(module_text)
        if not os.path.isfile(path):
            raise OptionError(f"model reference {module_text!r}: no such file")
        name = f"archcalc_model_{abs(hash(path))}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, os.path.dirname(path))
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(os.path.dirname(path))
        return module
    sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_text)
    finally:
        sys.path.remove(os.getcwd())


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


@contextmanager
def init_skipped():
    """Every torch.nn.init function a no-op (it returns its tensor) while the block runs:
    they only fill values, shapes are the constructor's. Process-wide, restored after."""
    import torch.nn.init as init
    saved = {name: getattr(init, name) for name in dir(init)
             if name.endswith("_") and not name.startswith("_") and callable(getattr(init, name))}

    def keep(tensor, *args, **kw):
        return tensor
    try:
        for name in saved:
            setattr(init, name, keep)
        yield
    finally:
        for name, fn in saved.items():
            setattr(init, name, fn)


def build_for_counting(build, **kwargs):
    """`build(**kwargs)` for a count, init skipped (init_skipped): under torch.device("meta");
    where the constructor reads tensor values (RegNet computes its widths with torch), on the
    CPU (the count never reads a value: the capture runs on meta copies)."""
    import torch

    from .frontend import gc_paused     # the collector off, as for the capture (no cycles)
    try:
        with gc_paused(), init_skipped(), torch.device("meta"):
            return build(**kwargs)
    except Exception:
        with init_skipped():
            return build(**kwargs)


def build_module(ref: str, sets: dict, on_meta: bool = True):
    """Import the callable a reference names and call it with `sets`: an nn.Module, built on
    the meta device where the constructor allows (shapes only: no weight initialisation),
    unless on_meta is False (bench runs it)."""
    m = _REF.match(ref)
    if not m:
        raise OptionError(f"model reference {ref!r}: expected package.module:callable, "
                          "path/to/file.py:callable or a .onnx file")
    try:
        import torch
    except ImportError:
        raise OptionError(f"model reference {ref!r} needs PyTorch (pip install torch)") from None
    try:
        module = _import(m.group("module"))
    except ArchcalcError:
        raise
    except Exception as err:     # the user's module raised anything while importing
        raise OptionError(f"model reference {ref!r}: importing {m.group('module')} failed: "
                          f"{_first_line(err)}") from None
    target = module
    for part in m.group("attr").split("."):
        if not hasattr(target, part):
            raise OptionError(f"model reference {ref!r}: {m.group('module')} has no "
                              f"attribute {m.group('attr')!r}")
        target = getattr(target, part)
    if not callable(target):
        raise OptionError(f"model reference {ref!r}: {m.group('attr')} is not callable")
    kwargs = {k: typed(v) for k, v in sets.items()}
    try:
        if not on_meta:
            raise RuntimeError("built for real")
        model = build_for_counting(target, **kwargs)
    except Exception:            # a constructor that reads tensor values: build it for real
        try:
            model = target(**kwargs)
        except Exception as err:
            raise OptionError(f"model reference {ref!r}: calling {m.group('attr')} raised "
                              f"{_first_line(err)}") from None
    if not isinstance(model, torch.nn.Module):
        raise OptionError(f"model reference {ref!r}: {m.group('attr')} returned "
                          f"{type(model).__name__}, not a torch.nn.Module")
    return model


def model_graph(ref: str, sets: dict | None = None, shape_text: str | None = None,
                resolution: str | None = None, allow_unknown: bool = False,
                keep_module: list | None = None):
    """The ArchGraph of a model reference (archcalc.imported); `keep_module` (a list) receives
    the nn.Module built for a PyTorch reference."""
    from .frontend import from_onnx, from_torch
    sets = dict(sets or {})
    shape = input_shape(shape_text, resolution)
    if ref.lower().endswith(".onnx"):
        if sets:
            raise OptionError(f"--set does not apply to an ONNX file ({ref})")
        if not os.path.isfile(ref):
            raise OptionError(f"no such ONNX file: {ref}")
        pinned = shape if (shape_text or resolution) else None
        return from_onnx(ref, input_shape=pinned, allow_unknown=allow_unknown,
                         name=os.path.basename(ref))
    model = build_module(ref, sets)
    if keep_module is not None:
        keep_module.append(model)
    name = _REF.match(ref).group("attr")
    try:
        return from_torch(model, input_shape=shape, allow_unknown=allow_unknown, name=name,
                          path=ref, sets={k: typed(v) for k, v in sets.items()})
    except ArchcalcError:
        raise
    except Exception as err:      # the model's forward raised on the meta device
        raise OptionError(f"model reference {ref!r}: the forward pass failed: "
                          f"{_first_line(err)}") from None
