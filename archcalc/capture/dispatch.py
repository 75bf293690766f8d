"""The fast capture path: one eager forward pass on the meta device under a TorchDispatchMode.

This is the mechanism of torch.utils.flop_counter.FlopCounterMode (which sees every ATen op
below autograd), with two differences: no arithmetic runs at all (parameters, buffers and
inputs are meta tensors: shapes only), and each op's operands are named. Tensors are
identified by object identity: a parameter is known by the meta tensor put in its place by
``torch.func.functional_call`` (or by itself, when the module was built on the meta device:
then nothing is copied or swapped); an op's result by the node that made it; a view of a
parameter (``aten.t`` of a Linear weight) stays a parameter read. The nn.Module an op runs
in comes from global forward pre/post hooks (a stack of module paths), as torch's own
ModuleTracker does. See capture/torch.py for when to use it instead of torch.export.
Per op, the overload's name, schema slots and view flag are read once (capture/fast_record.py)
and each hook call pushes its module with the enclosing ones already built, so recording an
op costs a few dict look-ups and the record objects themselves.
"""
from __future__ import annotations

from contextlib import ExitStack
from itertools import count

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from .fast_meta import like, meta_outputs
from .fast_record import bound, op_spec, with_role
from .records import CaptureError, CapturedGraph, CapturedNode, TensorInfo
from .torch import bind, plain, stored_tensors, tensor_info, type_name

Tensor = torch.Tensor
_SPECS: dict = {}            # OpOverload -> op_spec(op), filled as ops are first seen


class _Recorder(TorchDispatchMode):
    def __init__(self, names: dict, stack: list):
        super().__init__()
        self.names = names          # id(tensor) -> TensorInfo of that tensor
        self.stack = stack          # [(entry, enclosing non-root entries)] of the modules running
        self.keep: list = []        # every tensor seen stays alive, so ids are not reused
        self.nodes: list = []
        self.used: dict = {}
        self.consts = count()
        self.root_type = ""         # the root module's class (for ops run in its forward)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = None if kwargs else meta_outputs(func, args)
        if out is None:
            out = func(*args, **kwargs)
        self._record(func, args, kwargs, out)
        return out

    def _info(self, t, role):
        info = self.names.get(id(t))
        if info is None:     # a tensor made outside any recorded op (e.g. torch.tensor(...))
            info = tensor_info(t, f"constant_{next(self.consts)}", "constant")
            self.names[id(t)] = info
            self.keep.append(t)
        return with_role(info, role)

    def _record(self, func, args, kwargs, out):
        spec = _SPECS.get(func)
        if spec is None:
            spec = _SPECS[func] = op_spec(func)
        base, op, slots, view = spec
        k = self.used.get(base, 0)
        self.used[base] = k + 1
        name = base if k == 0 else f"{base}_{k}"
        inputs, params = [], []
        names = self.names
        for arg, value in (bind(func, args, kwargs) if slots is None else
                           bound(slots, args, kwargs)):
            if isinstance(value, Tensor):
                info = names.get(id(value))
                inputs.append(self._info(value, arg) if info is None else
                              TensorInfo(info.name, info.shape, info.dtype, info.kind,
                                         info.param, arg))
            elif isinstance(value, (list, tuple)) and value and \
                    all(isinstance(v, Tensor) for v in value):
                inputs.extend(self._info(t, arg) for t in value)
            elif value is None or value.__class__ in (bool, int, float, str):
                params.append((arg, value))          # plain(value) is the value itself
            else:
                params.append((arg, plain(value)))
        view_of = inputs[0] if view and inputs and \
            inputs[0].kind in ("parameter", "buffer", "constant") else None
        kind, param = (view_of.kind, view_of.param) if view_of else ("activation", "")
        if isinstance(out, Tensor):
            results = [out]
        elif isinstance(out, (tuple, list)) and all(isinstance(r, Tensor) for r in out):
            results = list(out)              # a flat tuple of tensors: its own leaves
        else:
            results = [r for r in tree_leaves(out) if isinstance(r, Tensor)]
        outputs = []
        for i, r in enumerate(results):
            info = tensor_info(r, name if len(results) == 1 else f"{name}:{i}", kind, param)
            outputs.append(info)
            self.names[id(r)] = info       # an in-place op's result: now this node's tensor
            self.keep.append(r)
        inner = self.stack[-1][1] if self.stack else ()
        module, module_type = inner[-1] if inner else \
            ("", self.root_type if self.stack else "")
        self.nodes.append(CapturedNode(name=name, op=op, inputs=tuple(inputs),
                                       outputs=tuple(outputs), args=tuple(params), module=module,
                                       module_type=module_type, module_stack=inner))


def capture_dispatch(module, inputs, device: str | None = "meta") -> CapturedGraph:
    """Capture `module(*inputs)` at the post-autograd ATen level: on the meta device (shapes
    only; the module's tensors are swapped for meta copies), or with device=None on the
    module's own tensors and the given inputs (real arithmetic, which for a small model can
    cost less than the meta kernels' Python; measure before relying on it)."""
    params, buffers, canonical = stored_tensors(module)
    state, names = {}, {}
    stored = [(kind, path, t) for kind, named in
              (("parameter", module.named_parameters(remove_duplicate=False)),
               ("buffer", module.named_buffers(remove_duplicate=False))) for path, t in named]
    # a module built on the meta device (archcalc report's model references) runs on its own
    # tensors: nothing to copy or swap in, and a meta tensor holds no values to change
    swap = device == "meta" and not all(t.is_meta for _, _, t in stored)
    meta_of: dict[int, torch.Tensor] = {}
    for kind, path, t in stored:
        if id(t) not in meta_of:
            meta = like(t) if swap else t
            meta_of[id(t)] = meta
            name = canonical[id(t)]
            names[id(meta)] = tensor_info(meta, name, kind, param=name)
        state[path] = meta_of[id(t)]
    meta_inputs = []
    graph_inputs = []
    for i, x in enumerate(inputs):
        m = like(x) if device == "meta" else x
        info = tensor_info(m, f"input_{i}" if len(inputs) > 1 else "input", "input")
        names[id(m)] = info
        meta_inputs.append(m)
        graph_inputs.append(info)

    paths = {id(m): (path, type_name(m)) for path, m in module.named_modules()}
    stack: list = []

    def pre(mod, args):
        entry = paths.get(id(mod))
        if entry is not None:       # with the enclosing non-root modules, built once per call
            inner = stack[-1][1] if stack else ()
            stack.append((entry, inner + (entry,) if entry[0] != "" else inner))

    def post(mod, args, out):
        entry = paths.get(id(mod))
        if entry is not None and stack and stack[-1][0] == entry:
            stack.pop()

    recorder = _Recorder(names, stack)
    recorder.root_type = type_name(module)
    from torch.nn.modules import module as module_mod
    with ExitStack() as ctx:
        ctx.callback(module_mod.register_module_forward_pre_hook(pre).remove)
        ctx.callback(module_mod.register_module_forward_hook(post).remove)
        fastpath = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)
        ctx.callback(torch.backends.mha.set_fastpath_enabled, fastpath)
        ctx.enter_context(torch.no_grad())
        try:
            with recorder:
                out = torch.func.functional_call(module, state, tuple(meta_inputs), strict=False) \
                    if swap else module(*meta_inputs)
        except Exception as err:   # a meta-less kernel, data-dependent control flow, ...
            lines = str(err).strip().splitlines()
            raise CaptureError(f"the dispatch capture of {type(module).__name__} failed: "
                               f"{type(err).__name__}: {lines[0] if lines else ''} "
                               "(try method='export')") from None
    outputs = tuple(names[id(t)] for t in tree_leaves(out)
                    if isinstance(t, torch.Tensor) and id(t) in names)
    return CapturedGraph(source="torch.dispatch", model=type_name(module),
                         inputs=tuple(graph_inputs), outputs=outputs, nodes=tuple(recorder.nodes),
                         params=params, buffers=buffers)

