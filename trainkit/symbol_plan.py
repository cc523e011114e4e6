"""Running a Symbol: ``_Plan`` turns the graph into a flat list of slots and the steps that fill them
(``Symbol.eval``, the Executor, Module and hybridized Gluon blocks run through it), and ``_compute_fn``
says how one node runs (its ``mx.nd`` operator, a replayed recorded primitive, or a clear error).
"""
import numpy as np

from . import autograd, compiled
from .base import MXNetError
from .ndarray.ndarray import apply
from .symbol_infer import _open_shape, _shape_param
from .symbol_ops import _OPS, _literal, is_partial


_UNTRACED = object()


class _Plan:
    """A symbol compiled for repeated runs: a flat list of values and the steps that fill it.

    Variables take the first slots, in ``list_inputs`` order; each step calls an
    operator on some slots and writes its outputs to the next ones. Module builds
    one per symbol and feeds it every batch.
    """

    def __init__(self, symbol):
        topo = symbol._topo()
        self.var_nodes = [n for n in topo if n.op is None]
        self.var_names = [n.name for n in self.var_nodes]
        slot = {(id(n), 0): i for i, n in enumerate(self.var_nodes)}
        self.steps = []
        self.step_nodes = []  # the node behind each step (the Executor's monitor names its values)
        nslots = len(self.var_nodes)
        for n in topo:
            if n.op is None:
                continue
            ins = [slot.get((id(src), idx)) for src, idx, _ in n.inputs]
            if any(i is None for i in ins):
                bad = [src.name for (src, idx, _), i in zip(n.inputs, ins) if i is None]
                raise MXNetError(f"layer '{n.name}' reads a hidden output of {bad}, which trainkit does not compute.")
            nvis = n.num_visible()
            for i in range(nvis):
                slot[(id(n), i)] = nslots + i
            self.steps.append((_compute_fn(n), ins, nslots, nvis))
            self.step_nodes.append(n)
            nslots += nvis
        self.nslots = nslots
        self.heads = []
        for n, i in symbol._outputs:
            if (id(n), i) not in slot:
                raise MXNetError(f"output {i} of '{n.name}' is hidden (MXNet does not expose it either).")
            self.heads.append(slot[(id(n), i)])
        self.positions = {}
        for i, name in enumerate(self.var_names):
            self.positions.setdefault(name, []).append(i)
        # zero-input layers whose shape attribute has unknown sizes (ones(shape=(-1, -1))) take the shape
        # inference gives them from their consumers, once the input shapes are known (prepare)
        self._symbol, self._resolved = symbol, None
        # compiled programs by input shapes, dtypes and training flag; None: this graph always runs imperatively
        self._programs = {} if compiled.ENABLED and compiled.traceable(self) else None
        self._deferred = [k for k, n in enumerate(self.step_nodes)
                          if not n.inputs and n.opdef() is not None
                          and (is_partial(_shape_param(n)) or _open_shape(n))]

    def prepare(self, feed):
        """Resolve the deferred zero-input layers' shapes for the shapes of ``feed`` (cached per shapes)."""
        if not self._deferred:
            return
        key = tuple(None if v is None else tuple(v.shape) for v in feed[:len(self.var_nodes)])
        if key == self._resolved:
            return
        known = {n.name: s for n, s in zip(self.var_nodes, key) if s is not None}
        shapes = self._symbol._shape_pass(self._symbol._topo(), known)
        for k in self._deferred:
            node = self.step_nodes[k]
            shape = shapes.get((id(node), 0))
            if _open_shape(node) and (shape is None or is_partial(shape)):
                continue  # nothing decides it: the layer's own default shape
            if shape is None or is_partial(shape):
                raise MXNetError(f"layer '{node.name}' ({node.op}) has shape {_shape_param(node)} with unknown sizes, "
                                 "and shape inference cannot decide them from the layers that use it; give the "
                                 "full shape.")
            params = dict(node.params())
            if "infer_range" in params:  # arange(infer_range=True): stop follows from the inferred length
                count = int(np.prod(shape)) // (int(params.get("repeat") or 1) or 1)
                params["stop"] = float(params["start"]) + count * float(params["step"])
                params["infer_range"] = False
            else:
                params["shape"] = tuple(shape)
            fn, ins, first, n = self.steps[k]
            self.steps[k] = ((lambda compute, p: lambda xs: compute(p, xs))(node.opdef().compute, params),
                             ins, first, n)
        self._resolved = key

    def constants(self, ctx=None):
        """The feed list with recorded constants filled in and the other slots None."""
        from .ndarray.ndarray import NDArray, array
        feed = [None] * len(self.var_nodes)
        for i, n in enumerate(self.var_nodes):
            if n.value is not None:
                feed[i] = array(n.value, ctx, n.value.dtype) if ctx is not None else NDArray(n.value)
        return feed

    def feed(self, arrays, ctx=None):
        """A feed list from ``{name: array}``; every variable must be given (recorded constants excepted)."""
        from .ndarray.ndarray import NDArray, array
        feed = self.constants(ctx)
        unknown = [k for k in arrays if k not in self.positions]
        if unknown:
            raise MXNetError(f"eval got values for {unknown}, which are not inputs of this symbol; its inputs are "
                             f"{list(self.positions)}.")
        for name, value in arrays.items():
            if not isinstance(value, NDArray):
                value = array(value, ctx)
            for i in self.positions[name]:
                feed[i] = value
        missing = [self.var_names[i] for i, v in enumerate(feed) if v is None]
        if missing:
            raise MXNetError(f"eval needs a value for every input; missing {sorted(set(missing))}. Pass them as "
                             "keyword arguments, e.g. sym.eval(data=mx.nd.ones((2, 3)), ...).")
        return feed

    def run(self, feed):
        """The heads for ``feed`` (a list of NDArrays, one per variable slot), under the caller's autograd
        state: through the compiled program for these shapes (``trainkit.compiled``) when the graph has one."""
        programs = self._programs
        tracing = compiled.TRACING
        if tracing.active:  # inside a traced step: record this graph's primitives one by one
            tracing.plans += 1
            tracing.ok = tracing.ok and programs is not None
            return self.run_imperative(feed)
        if programs is not None and feed:
            try:
                if feed[0]._ctx.device_type != "cpu":
                    return self.run_imperative(feed)
                k = compiled.key(feed, autograd._mode.training)
            except AttributeError:  # an input is missing (None): the imperative run says which
                return self.run_imperative(feed)
            program = programs.get(k, _UNTRACED)
            if program is not _UNTRACED:
                return program.run(feed) if program is not None else self.run_imperative(feed)
            program, heads = compiled.trace(self, feed)
            programs[k] = program
            if program is not None:
                return heads
        return self.run_imperative(feed)

    def program(self, feed, training):
        """The compiled program already traced for ``feed``'s shapes and the training flag, or None."""
        programs = self._programs
        if not programs:
            return None
        try:
            return programs.get(compiled.key(feed, training)) if feed[0]._ctx.device_type == "cpu" else None
        except AttributeError:  # an input is missing
            return None

    def run_imperative(self, feed):
        """The heads for ``feed``, each layer's ``mx.nd`` operators run (and recorded) as imperative code."""
        self.prepare(feed)
        vals = feed + [None] * (self.nslots - len(feed))
        for fn, ins, first, n in self.steps:
            outs = fn([vals[i] for i in ins])
            vals[first:first + n] = outs
        return [vals[h] for h in self.heads]


def _compute_fn(node):
    if node.prim is not None:
        prim, pyattrs = node.prim, node.pyattrs
        if prim.forward is None:
            def unsupported(xs):
                raise MXNetError(f"node '{node.name}' is the custom autograd.Function {prim.name}; a symbol cannot "
                                 "replay it (its forward is Python code that was not recorded).")
            return unsupported

        def replay(xs):
            out = apply(prim, *xs, **pyattrs)
            return [out] if prim.n_out == 1 else list(out)
        return replay
    opdef = node.opdef()
    if opdef is None:
        from .ops.core import REGISTRY
        prim = REGISTRY.get(node.op)
        if prim is None:
            def missing(xs):
                raise MXNetError(f"operator {node.op!r} (layer '{node.name}') is not supported by trainkit; the "
                                 f"supported operators are {sorted(_OPS)}.")
            return missing
        pyattrs = {k: _literal(v) for k, v in node.attrs.items() if not k.startswith("__")}

        def generic(xs):
            out = apply(prim, *xs, **pyattrs)
            return [out] if prim.n_out == 1 else list(out)
        return generic
    p = node.params()
    compute = opdef.compute
    return lambda xs: compute(p, xs)
