"""``mx.executor.Executor``: a Symbol bound to arrays, as ``Symbol.bind``/``simple_bind`` return it.

The bound arrays are the user's: ``arg_arrays``/``aux_arrays`` are read by every
``forward`` (so ``exe.arg_dict['x'][:] = ...`` is seen by the next one),
gradients are written into ``grad_arrays`` per ``grad_req`` ('write' overwrites,
'add' accumulates, 'null' leaves the array alone) and ``outputs`` are buffers
that each forward overwrites in place (a reshaped executor's smaller arrays are
views of the original's, as MXNet shares memory between them).

How it runs: ``_Runner`` walks the symbol's ``_Plan`` (the topological order and
the value slots); the plan runs the compiled program for the bound shapes
(``trainkit.compiled``: plain numpy calls, the whole graph one autograd node) and the
``mx.nd`` functions under autograd when the graph has none (and with a monitor, which
sees every operator); ``backward`` is ``autograd.backward`` on the recorded outputs.
"""
import os

import numpy as np

from . import autograd
from .base import MXNetError
from .ndarray.ndarray import NDArray, array as _array

__all__ = ["Executor"]

# Heads whose gradient does not read the head gradient: backward() needs no out_grads for them.
_LOSS_OPS = frozenset({"SoftmaxOutput", "Softmax", "LinearRegressionOutput", "LogisticRegressionOutput",
                       "MAERegressionOutput", "SVMOutput", "MakeLoss", "make_loss", "BlockGrad", "stop_gradient",
                       "IdentityAttachKLSparseReg"})
_GRAD_REQS = ("write", "add", "null")


class _Runner:
    """Runs a symbol's plan on a feed list; optionally reports every value to a monitor callback."""

    def __init__(self, symbol):
        self.plan = symbol._plan()
        self.constants = self.plan.constants()

    def feed(self, named):
        """The plan's feed list: ``named`` maps input name to NDArray; recorded constants stay."""
        feed = list(self.constants)
        positions = self.plan.positions
        for name, arr in named.items():
            for i in positions.get(name, ()):
                feed[i] = arr
        return feed

    def run(self, feed, monitor=None, monitor_all=False):
        plan = self.plan
        if monitor is None:
            return plan.run(feed)
        plan.prepare(feed)
        vals = feed + [None] * (plan.nslots - len(feed))
        for node, (fn, ins, first, n) in zip(plan.step_nodes, plan.steps):
            xs = [vals[i] for i in ins]
            if monitor_all:
                roles = _input_roles(node, len(xs))
                for role, x in zip(roles, xs):
                    monitor(f"{node.name}_{role}", x)
            outs = fn(xs)
            vals[first:first + n] = outs
            for name, o in zip(node.output_names(), outs):
                monitor(name, o)
        return [vals[h] for h in plan.heads]


    def run_segmented(self, feed, monitor, monitor_all):
        """Like ``run`` under recording, but every step reads fresh leaves, so ``backward_segmented`` can
        report each operator's input gradients to the monitor (MXNet's monitor sees backward nodes too)."""
        plan = self.plan
        plan.prepare(feed)
        vals = feed + [None] * (plan.nslots - len(feed))
        tape = []
        for node, (fn, ins, first, n) in zip(plan.step_nodes, plan.steps):
            xs = [vals[i] for i in ins]
            if monitor_all:
                for role, x in zip(_input_roles(node, len(xs)), xs):
                    monitor(f"{node.name}_{role}", x)
            leaves = []
            for x in xs:
                leaf = NDArray(x._data, x._ctx)
                autograd.mark_variables(leaf, NDArray(x._ctx.xp.zeros_like(x._data), x._ctx), "write")
                leaves.append(leaf)
            outs = fn(leaves)
            vals[first:first + n] = outs
            for name, o in zip(node.output_names(), outs):
                monitor(name, o)
            tape.append((node, ins, first, leaves, list(outs)))
        return [vals[h] for h in plan.heads], tape

    def backward_segmented(self, tape, head_grads, monitor, train_mode):
        """Chain rule one operator at a time over ``tape``; returns ``{variable slot: gradient}``."""
        grads = {}

        def add(slot, g):
            grads[slot] = g if slot not in grads else grads[slot] + g

        for slot, g in head_grads:
            add(slot, g)
        nvars = len(self.plan.var_nodes)
        for node, ins, first, leaves, outs in reversed(tape):
            ogs = [grads.pop(first + k, None) for k in range(len(outs))]
            if all(g is None for g in ogs):
                continue
            pairs = [(o, g if g is not None else NDArray(o._ctx.xp.zeros_like(o._data), o._ctx))
                     for o, g in zip(outs, ogs) if o._node is not None]
            for leaf in leaves:
                leaf._node.fresh = False
            if pairs:
                try:
                    autograd.backward([o for o, _ in pairs], [g for _, g in pairs], retain_graph=True,
                                      train_mode=train_mode)
                except MXNetError as e:
                    if "no inputs in computation graph" not in str(e):
                        raise
            # MXNet names the backward node's outputs <layer>_backward_output (or output0, output1, ...)
            suffixes = ["output"] if len(leaves) == 1 else [f"output{k}" for k in range(len(leaves))]
            for suffix, slot, leaf in zip(suffixes, ins, leaves):
                var = leaf._node
                g = NDArray(var.grad._data.copy() if var.fresh else leaf._ctx.xp.zeros_like(leaf._data), leaf._ctx)
                monitor(f"{node.name}_backward_{suffix}", g)
                add(slot, g)
        return {slot: g for slot, g in grads.items() if slot < nvars}


def _input_roles(node, count):
    opdef = node.opdef()
    if opdef is not None:
        try:
            roles = opdef.input_names(node.params())
            if len(roles) >= count:
                return roles[:count]
        except MXNetError:
            pass
    return [f"input{i}" for i in range(count)]


def _named_list(names, given, what, allow_missing=False):
    """A list in ``names`` order from a list or a dict (MXNet's bind checks and messages)."""
    if given is None:
        return None
    if isinstance(given, dict):
        out = []
        for name in names:
            if name in given:
                out.append(given[name])
            elif allow_missing:
                out.append(None)
            else:
                raise ValueError(f"key `{name}` is missing in `{what}`")
        return out
    if isinstance(given, (list, tuple)):
        if len(given) != len(names):
            raise ValueError(f"Length of {what} does not match the number of arguments")
        return list(given)
    raise TypeError(f"Only accept list of NDArrays or dict of str to NDArray for {what}, got "
                    f"{type(given).__name__}.")


def _grad_req_list(names, grad_req):
    if isinstance(grad_req, str):
        reqs = [grad_req] * len(names)
    elif isinstance(grad_req, dict):
        reqs = [grad_req.get(n, "null") for n in names]
    elif isinstance(grad_req, (list, tuple)):
        if len(grad_req) != len(names):
            raise ValueError(f"grad_req has {len(grad_req)} entries but the symbol has {len(names)} arguments "
                             f"{names}.")
        reqs = list(grad_req)
    else:
        raise TypeError(f"grad_req must be a str, a list or a dict of str, got {type(grad_req).__name__}.")
    for n, r in zip(names, reqs):
        if r not in _GRAD_REQS:
            raise ValueError(f"grad_req={r} (for argument '{n}') is not a valid grad_req: only 'null', 'write', "
                             "and 'add' are supported.")
    return reqs


def _check_nd(items, what, names):
    for name, a in zip(names, items):
        if a is not None and not isinstance(a, NDArray):
            raise TypeError(f"{what} '{name}' must be an NDArray, got {type(a).__name__}.")


class Executor:
    """A bound symbol: ``forward``, ``backward``, and the arrays they read and write."""

    def __init__(self, symbol, ctx, arg_arrays, grad_arrays, grad_reqs, aux_arrays, group2ctx=None):
        self._symbol = symbol
        self._ctx = ctx
        self._group2ctx = group2ctx
        self._arg_names = symbol.list_arguments()
        self._aux_names = symbol.list_auxiliary_states()
        self._output_names = symbol.list_outputs()
        self.arg_arrays = list(arg_arrays)
        self.grad_arrays = None if grad_arrays is None else list(grad_arrays)
        self.aux_arrays = list(aux_arrays)
        # a gradient needs both a buffer and a req that is not 'null'
        self._grad_req = [r if self.grad_arrays is not None and self.grad_arrays[i] is not None else "null"
                          for i, r in enumerate(grad_reqs)]
        self._runner = _Runner(symbol)
        self._cse = os.environ.get("MXNET_ELIMINATE_COMMON_EXPR", "1") != "0"
        self._monitor_callback = None
        self._monitor_all = False
        self._recorded = None   # (raw outputs, [(arg index, leaf)]) of the last forward, for backward
        self._arg_dict = self._grad_dict = self._aux_dict = self._output_dict = None
        self.outputs = self._allocate_outputs()

    # ----- arrays ------------------------------------------------------------------------------
    def _allocate_outputs(self):
        shapes = {n: a.shape for n, a in zip(self._arg_names, self.arg_arrays)}
        shapes.update({n: a.shape for n, a in zip(self._aux_names, self.aux_arrays)})
        try:
            _, out_shapes, _ = self._symbol._infer_shape((), shapes)
        except MXNetError:
            out_shapes = [None] * len(self._output_names)
        dtype = self.arg_arrays[0]._data.dtype if self.arg_arrays else np.dtype(np.float32)
        types = {n: a._data.dtype for n, a in zip(self._arg_names + self._aux_names,
                                                   self.arg_arrays + self.aux_arrays)}
        try:
            _, out_types, _ = self._symbol._infer_type((), types)
        except (MXNetError, TypeError, ValueError):
            out_types = [None] * len(out_shapes)
        xp = self._ctx.xp
        return [NDArray(xp.zeros(s, t if t is not None else dtype), self._ctx) if s is not None else None
                for s, t in zip(out_shapes, out_types)]

    @staticmethod
    def _get_dict(names, arrays):
        if arrays is None:
            return None
        if len(set(names)) != len(names):
            raise ValueError("Duplicate names detected, %s" % str(names))
        return dict(zip(names, arrays))

    @property
    def arg_dict(self):
        """``{argument name: bound NDArray}``."""
        if self._arg_dict is None:
            self._arg_dict = self._get_dict(self._arg_names, self.arg_arrays)
        return self._arg_dict

    @property
    def grad_dict(self):
        """``{argument name: gradient NDArray or None}``; None when bound without ``args_grad``."""
        if self._grad_dict is None:
            self._grad_dict = self._get_dict(self._arg_names, self.grad_arrays)
        return self._grad_dict

    @property
    def aux_dict(self):
        if self._aux_dict is None:
            self._aux_dict = self._get_dict(self._aux_names, self.aux_arrays)
        return self._aux_dict

    @property
    def output_dict(self):
        if self._output_dict is None:
            self._output_dict = self._get_dict(self._output_names, self.outputs)
        return self._output_dict

    # ----- running -----------------------------------------------------------------------------
    def forward(self, is_train=False, **kwargs):
        """Run the graph on the bound arrays (``name=array`` keywords are copied in first); returns ``outputs``.

        ``is_train`` selects training behaviour (Dropout on, BatchNorm on batch
        statistics and updating its moving ones).
        """
        if kwargs:
            arg_dict = self.arg_dict
            for name, value in kwargs.items():
                if not isinstance(value, (NDArray, np.ndarray)):
                    raise ValueError("only accept keyword argument of NDArrays and numpy.ndarray")
                if name not in arg_dict:
                    raise TypeError("Unknown argument %s" % name)
                if arg_dict[name].shape != value.shape:
                    raise ValueError("Shape not match! Argument %s, need: %s, received: %s"
                                     % (name, str(arg_dict[name].shape), str(value.shape)))
                arg_dict[name][:] = value
        named, leaves = {}, []
        for i, (name, arr) in enumerate(zip(self._arg_names, self.arg_arrays)):
            # a fresh alias of the bound memory: never marks or links the user's array itself
            leaf = NDArray(arr._data, arr._ctx)
            if self._grad_req[i] != "null":
                # 'write' into a scratch buffer; _write_grad then applies the user's req to the bound one
                autograd.mark_variables(leaf, NDArray(arr._ctx.xp.empty_like(arr._data), arr._ctx), "write")
                leaves.append((i, leaf))
            named[name] = leaf
        for name, arr in zip(self._aux_names, self.aux_arrays):
            named[name] = arr
        record = bool(leaves)  # MXNet can run backward after any forward, so record whenever grads are wanted
        with autograd._Saved(recording=record, training=bool(is_train)):
            feed = self._runner.feed(named)
            if record and self._monitor_callback is not None:
                raw, tape = self._runner.run_segmented(feed, self._monitor_callback, self._monitor_all)
                self._recorded = (raw, None, tape)
            else:
                raw = self._runner.run(feed, self._monitor_callback, self._monitor_all)
                self._recorded = (raw, leaves, None) if record else None
        self._store_outputs(raw)
        return self.outputs

    def _store_outputs(self, raw):
        outputs = list(self.outputs)
        for i, value in enumerate(raw):
            buf = outputs[i]
            data = value._data
            if buf is not None and buf.shape == data.shape and buf._data.dtype == data.dtype:
                buf._data[...] = data
            else:
                outputs[i] = NDArray(data.copy(), value._ctx)
        if any(a is not b for a, b in zip(outputs, self.outputs)):
            self._output_dict = None
        self.outputs = outputs

    def backward(self, out_grads=None, is_train=True):
        """Gradients of the last forward's outputs into ``grad_arrays`` (per ``grad_req``).

        ``out_grads`` (an NDArray, a list, or a dict by output name) are the head
        gradients; loss heads (SoftmaxOutput, MakeLoss, the regression outputs, ...)
        need none, as their gradient is their own.
        """
        if out_grads is None:
            out_grads = []
        elif isinstance(out_grads, NDArray):
            out_grads = [out_grads]
        elif isinstance(out_grads, dict):
            out_grads = [out_grads.get(k) for k in self._output_names]
        else:
            out_grads = list(out_grads)
        for g in out_grads:
            if g is not None and not isinstance(g, NDArray):
                raise TypeError("inputs must be NDArray")
        if all(r == "null" for r in self._grad_req):
            return
        if self._recorded is None:
            # MXNet's executor can run backward before any forward (gradients that do not depend on the
            # forward values come out right): run the forward it implies
            self.forward(is_train=is_train)
        raw, leaves, tape = self._recorded
        heads, head_grads, head_index = [], [], []
        for i, (out, (node, _)) in enumerate(zip(raw, self._symbol._outputs)):
            g = out_grads[i] if i < len(out_grads) else None
            if out._node is None:
                continue  # this output does not depend on any argument that takes a gradient
            if g is None:
                if node.op not in _LOSS_OPS:
                    raise MXNetError(
                        f"Because the last operator is not Loss function, head_gradient is required when calling "
                        f"backward (output {i} '{self._output_names[i]}' has none). Pass out_grads=[...] with one "
                        "NDArray per output, or end the graph with a loss such as mx.sym.MakeLoss.")
            else:
                if g.shape != out.shape:
                    raise ValueError(f"out_grads[{i}] has shape {g.shape} but output '{self._output_names[i]}' "
                                     f"has shape {out.shape}.")
                if g._data.dtype != out._data.dtype:
                    g = g.astype(out._data.dtype)
            heads.append(out)
            head_grads.append(g)
            head_index.append(i)
        if tape is not None:
            self._backward_segmented(tape, heads, head_grads, head_index, is_train)
            return
        for _, leaf in leaves:
            leaf._node.fresh = False
        if heads:
            if any(g is None for g in head_grads):
                head_grads = [g if g is not None else _array(np.ones(h.shape), h._ctx, h._data.dtype)
                              for h, g in zip(heads, head_grads)]
            try:
                autograd.backward(heads, head_grads, retain_graph=True, train_mode=is_train)
            except MXNetError as e:
                if "no inputs in computation graph" not in str(e):
                    raise
        for i, leaf in leaves:
            var = leaf._node
            self._write_grad(i, var.grad._data if var.fresh else None)

    def _write_grad(self, i, g):
        """Store gradient ``g`` (backend array, or None for an argument the outputs do not depend on)."""
        dst = self.grad_arrays[i]
        req = self._grad_req[i]
        if g is not None:
            if req == "add":
                dst._data += g.astype(dst._data.dtype, copy=False)
            else:
                dst._data[...] = g
        elif req == "write":
            dst._data[...] = 0

    def _backward_segmented(self, tape, heads, head_grads, head_index, is_train):
        plan = self._runner.plan
        given = [(plan.heads[i], g if g is not None else _array(np.ones(h.shape), h._ctx, h._data.dtype))
                 for i, h, g in zip(head_index, heads, head_grads)]
        by_slot = self._runner.backward_segmented(tape, given, self._monitor_callback, is_train)
        for i, name in enumerate(self._arg_names):
            if self._grad_req[i] == "null":
                continue
            parts = [by_slot[s] for s in plan.positions.get(name, ()) if s in by_slot]
            g = None
            for p in parts:
                g = p if g is None else g + p
            self._write_grad(i, None if g is None else g._data)

    # ----- utilities -----------------------------------------------------------------------------
    def set_monitor_callback(self, callback, monitor_all=False):
        """Call ``callback(name, NDArray)`` on every operator output (and input with ``monitor_all``) in forward."""
        self._monitor_callback = callback
        self._monitor_all = bool(monitor_all)

    def copy_params_from(self, arg_params, aux_params=None, allow_extra_params=False):
        """Copy ``{name: array}`` into the bound arguments/auxiliary states (cast to their dtypes)."""
        for name, value in arg_params.items():
            if name in self.arg_dict:
                dst = self.arg_dict[name]
                dst._data[...] = _host(value).astype(dst._data.dtype)
            elif not allow_extra_params:
                raise ValueError('Find name "%s" that is not in the arguments' % name)
        if aux_params is None:
            return
        for name, value in aux_params.items():
            if name in self.aux_dict:
                dst = self.aux_dict[name]
                dst._data[...] = _host(value).astype(dst._data.dtype)
            elif not allow_extra_params:
                raise ValueError("Find name %s that is not in the auxiliary states" % name)

    def reshape(self, partial_shaping=False, allow_up_sizing=False, **kwargs):
        """A new executor for new input shapes that shares memory with this one.

        Arrays whose shape stays are the same arrays; smaller ones are views of
        this executor's memory; larger ones need ``allow_up_sizing=True`` and are
        new. An argument not named in ``kwargs`` may change shape only with
        ``partial_shaping=True``.
        """
        shapes = {k: tuple(v) for k, v in kwargs.items() if isinstance(v, tuple)}
        arg_shapes, _, aux_shapes = self._symbol.infer_shape(**shapes)
        if arg_shapes is None:
            raise MXNetError(f"Executor.reshape: cannot infer every shape from {shapes}; give the shapes of all the "
                             "data inputs.")

        def remake(name, old, shape, specified):
            if old is None:
                return None
            if tuple(shape) == old.shape:
                return old
            if not specified and not partial_shaping:
                raise MXNetError(f"Shape of unspecifie arg: {name} changed. This can cause the new executor to not "
                                 "share parameters with the old one. Please check for error in network.If this is "
                                 "intended, set partial_shaping=True to suppress this warning.")
            size = int(np.prod(shape))
            if size > old.size:
                if not allow_up_sizing:
                    raise MXNetError(f"New shape of arg: {name} is larger than original.First making a big "
                                     "executor and then down sizing it is more efficient than the reverse.If you "
                                     "really want to up size, set allow_up_sizing=True to enable allocation of new "
                                     "arrays.")
                return NDArray(old._ctx.xp.zeros(shape, old._data.dtype), old._ctx)
            return NDArray(old._data.reshape(-1)[:size].reshape(shape), old._ctx)

        args = [remake(n, a, s, n in shapes) for n, a, s in zip(self._arg_names, self.arg_arrays, arg_shapes)]
        grads = None
        if self.grad_arrays is not None:
            grads = [remake(n, g, s, True) for n, g, s in zip(self._arg_names, self.grad_arrays, arg_shapes)]
        auxs = [remake(n, a, s, True) for n, a, s in zip(self._aux_names, self.aux_arrays, aux_shapes)]
        exe = Executor(self._symbol, self._ctx, args, grads, self._grad_req, auxs, self._group2ctx)
        # outputs: views of this executor's buffers where they fit, as MXNet shares them
        outs = []
        for mine, new in zip(self.outputs, exe.outputs):
            if mine is not None and new is not None and new.size <= mine.size and mine._data.dtype == new._data.dtype:
                outs.append(NDArray(mine._data.reshape(-1)[:new.size].reshape(new.shape), mine._ctx))
            else:
                outs.append(new)
        exe.outputs = outs
        if self._monitor_callback is not None:
            exe.set_monitor_callback(self._monitor_callback, self._monitor_all)
        return exe

    def debug_str(self):
        """A text description of the graph in MXNet's layout, ending with ``Total N MB allocated``.

        The total estimates the memory of a forward (every value in the plan) plus,
        when some gradient flows, the gradient buffers and the backward's copies.
        """
        from .symbol_passes import _debug_str
        return _debug_str(self._symbol) + f"Total {self._estimate_bytes() >> 20} MB allocated\n"

    def get_optimized_symbol(self):
        """The bound graph after MXNet's optimisation that trainkit does too: merging common subexpressions
        (unless ``MXNET_ELIMINATE_COMMON_EXPR=0`` was set at bind). The executor computes the same values."""
        if self._cse:
            from .symbol_passes import _eliminate_common_expr
            return _eliminate_common_expr(self._symbol)
        return self._symbol.__copy__()

    def _estimate_bytes(self):
        sym = self._symbol
        shapes = {n: a.shape for n, a in zip(self._arg_names, self.arg_arrays)}
        shapes.update({n: a.shape for n, a in zip(self._aux_names, self.aux_arrays)})
        try:
            values = sym._shape_pass(sym._topo(), shapes)
        except MXNetError:
            return 0
        itemsize = self.arg_arrays[0]._data.dtype.itemsize if self.arg_arrays else 4
        # BlockGrad's output is its input's memory in MXNet (an identity): not counted twice
        shared = {(id(n), 0) for n in sym._topo() if n.op in ("BlockGrad", "stop_gradient")}
        forward = sum(int(np.prod(s)) for k, s in values.items() if s is not None and k not in shared) * itemsize
        flowing = _gradient_flows(sym)
        wanted = [n for n, r in zip(self._arg_names, self._grad_req) if r != "null" and n in flowing]
        if not wanted:
            return forward
        return 2 * forward

    def __repr__(self):
        return f"<Executor {self._symbol.name or 'group'} @{self._ctx}>"


def _gradient_flows(symbol):
    """Names of the variables a gradient reaches from the heads (BlockGrad/stop_gradient stop it)."""
    stop = {"BlockGrad", "stop_gradient", "_zeros", "zeros_like", "ones_like", "shape_array", "size_array"}
    seen, names = set(), set()
    stack = [n for n, _ in symbol._outputs]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.op is None:
            names.add(node.name)
        elif node.op not in stop:
            stack.extend(src for src, _, _ in node.inputs)
    return names


_INDEX_ROLES = {("Embedding", "data")}


def _integer_index_gradients(symbol, names):
    """``(variable, layer)`` pairs where a gradient would flow into integer variable ``names`` used as indices
    (``indices``/``index`` inputs, Embedding's data): MXNet refuses to bind those."""
    if not names:
        return []
    stop = {"BlockGrad", "stop_gradient"}
    found, seen = [], set()
    stack = [n for n, _ in symbol._outputs]
    while stack:
        node = stack.pop()
        if id(node) in seen or node.op is None or node.op in stop:
            continue
        seen.add(id(node))
        roles = _input_roles(node, len(node.inputs))
        for role, (src, _, _) in zip(roles, node.inputs):
            if src.op is None and src.name in names and (role in ("indices", "index")
                                                        or (node.op, role) in _INDEX_ROLES):
                found.append((src.name, node.name))
            stack.append(src)
    return found


def _host(value):
    if isinstance(value, NDArray):
        return value.asnumpy()
    return np.asarray(value)


# ----- binding ------------------------------------------------------------------------------------------
def bind(symbol, ctx, args, args_grad=None, grad_req="write", aux_states=None, group2ctx=None, shared_exec=None):
    """``Symbol.bind``: an Executor over the given arrays (lists in argument order, or dicts by name)."""
    arg_names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    if args is None:
        raise ValueError("bind needs args: a list of NDArrays in list_arguments() order or a dict by name.")
    arg_arrays = _named_list(arg_names, args, "args")
    _check_nd(arg_arrays, "args", arg_names)
    grad_arrays = _named_list(arg_names, args_grad, "args_grad", allow_missing=True)
    if grad_arrays is not None:
        _check_nd(grad_arrays, "args_grad", arg_names)
    reqs = _grad_req_list(arg_names, grad_req)
    if aux_states is None:
        aux_states = []
    if aux_names or aux_states:
        aux_arrays = _named_list(aux_names, aux_states, "aux_states")
    else:
        aux_arrays = []
    _check_nd(aux_arrays, "aux_states", aux_names)
    return Executor(symbol, ctx, arg_arrays, grad_arrays, reqs, aux_arrays, group2ctx)


def simple_bind(symbol, ctx, grad_req="write", type_dict=None, stype_dict=None, group2ctx=None,
                shared_arg_names=None, shared_exec=None, shared_buffer=None, **kwargs):
    """``Symbol.simple_bind``: allocate every array from the given input shapes (zeros), then bind."""
    from .symbol import _FLAG_TO_DTYPE
    arg_names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    # as in MXNet, only tuple values are shapes; other keywords (axis=..., mode=...) are ignored
    kwargs = {k: v for k, v in kwargs.items() if isinstance(v, tuple)}
    try:
        arg_shapes, _, aux_shapes = symbol._infer_shape((), kwargs)
    except MXNetError as e:
        raise RuntimeError("simple_bind error. Arguments:\n" + "".join(f"{k}: {v}\n" for k, v in kwargs.items())
                           + str(e)) from None
    unknown = [n for n, s in zip(arg_names + aux_names, arg_shapes + aux_shapes) if s is None]
    if unknown:
        raise RuntimeError("simple_bind error. Arguments:\n" + "".join(f"{k}: {v}\n" for k, v in kwargs.items())
                           + "InferShape pass cannot decide shapes for the following arguments (-1 means unknown "
                           "dimensions). Please consider providing them as inputs:\n"
                           + ", ".join(f"{n}: None" for n in unknown) + ", ")
    if isinstance(grad_req, str):
        if grad_req not in _GRAD_REQS:
            raise RuntimeError(f"simple_bind error. grad_req={grad_req} is not a valid input in simple_bind; only "
                               "'null', 'write', and 'add' are supported")
        reqs = [grad_req] * len(arg_names)
    else:
        reqs = _grad_req_list(arg_names, grad_req)
    # dtypes: type_dict, else the variable's __dtype__, else the first known input's type (float32 default)
    attrs = {n.name: n.attrs for n in symbol._topo() if n.op is None}
    type_dict = dict(type_dict or {})
    default = np.dtype(np.float32)
    if type_dict:
        default = np.dtype(type_dict.get(arg_names[0], next(iter(type_dict.values())))) if arg_names else default

    def dtype_of(name):
        if name in type_dict:
            return np.dtype(type_dict[name])
        flag = attrs.get(name, {}).get("__dtype__")
        if flag is not None:
            return np.dtype(_FLAG_TO_DTYPE[int(flag)])
        return default

    xp = ctx.xp
    shared = shared_exec.arg_dict if shared_exec is not None else {}
    shared_grads = (shared_exec.grad_dict or {}) if shared_exec is not None else {}
    share_names = set(shared_arg_names or ())

    def alloc(name, shape, dtype, pool=None):
        if pool is not None:
            have = pool.get(name)
            if have is not None and have.shape == tuple(shape) and have._data.dtype == dtype:
                return have
        return NDArray(xp.zeros(shape, dtype), ctx)

    arg_arrays, grad_arrays = [], []
    for name, shape, req in zip(arg_names, arg_shapes, reqs):
        dtype = dtype_of(name)
        if name in share_names and name in shared:
            arr = alloc(name, shape, dtype, shared)
        elif shared_buffer is not None:
            arr = alloc(name, shape, dtype, shared_buffer)
            shared_buffer[name] = arr
        else:
            arr = alloc(name, shape, dtype)
        arg_arrays.append(arr)
        if req == "null":
            grad_arrays.append(None)
        else:
            grad_arrays.append(alloc(name, shape, dtype, shared_grads if name in share_names else None))
    wants = {n for n, arr, g in zip(arg_names, arg_arrays, grad_arrays)
             if g is not None and arr._data.dtype.kind not in "fc"}
    refused = _integer_index_gradients(symbol, wants)
    if refused:
        name, layer = refused[0]
        raise MXNetError(f"simple_bind: argument '{name}' is an integer index of layer '{layer}' and asks for a "
                         "gradient (grad_req='write'), which is not defined. Pass grad_req={..., "
                         f"'{name}': 'null'}} or wrap it in mx.sym.BlockGrad / stop_gradient.")
    aux_shared = shared_exec.aux_dict if shared_exec is not None else None
    aux_arrays = [alloc(n, s, dtype_of(n), aux_shared) for n, s in zip(aux_names, aux_shapes)]
    return Executor(symbol, ctx, arg_arrays, grad_arrays, reqs, aux_arrays, group2ctx)
