"""Recording, modes, backward, grad and custom Functions (MXNet's ``mx.autograd``).

The graph hangs off the arrays: a recorded result points at its ``OpNode``
(primitive, inputs, attributes, output values), a marked array at its
``Variable``. ``backward`` walks the nodes from the heads in reverse
topological order, calling each primitive's vjp. The vjps are trainkit ops, so
with ``create_graph=True`` they are recorded too and can be differentiated again.
"""
import itertools
import operator
import threading

from .base import MXNetError

_GRAD_REQS = ("null", "write", "add")

_NOT_IN_GRAPH = (
    "Cannot differentiate node because it is not in a computational graph. You need to set "
    "is_recording to true or use autograd.record() to save computational graphs for backward. "
    "If you want to differentiate the same graph twice, you need to pass retain_graph=True to backward.")


# ----- mode state: two independent flags, per thread -----------------------------------------
class _Mode(threading.local):
    recording = False
    training = False


_mode = _Mode()


def is_recording():
    return _mode.recording


def is_training():
    return _mode.training


def set_recording(is_recording):  # noqa: F811 - MXNet's parameter name
    prev, _mode.recording = _mode.recording, bool(is_recording)
    return prev


def set_training(train_mode):
    prev, _mode.training = _mode.training, bool(train_mode)
    return prev


class _RecordingStateScope:
    """Sets the flags on enter; on exit puts back each flag the enter actually changed.

    That restore rule is MXNet's (a flag that already had the scope's value is
    left as the block leaves it) and is observable, so it is kept.
    """

    __slots__ = ("_enter_record", "_enter_train", "_prev_record", "_prev_train")

    def __init__(self, is_record, train_mode):
        self._enter_record = None if is_record is None else bool(is_record)
        self._enter_train = None if train_mode is None else bool(train_mode)
        self._prev_record = self._prev_train = None

    def __enter__(self):
        mode = _mode  # a thread-local: each flag is read and written once
        record, train = self._enter_record, self._enter_train
        if record is not None:
            self._prev_record = mode.recording
            mode.recording = record
        if train is not None:
            self._prev_train = mode.training
            mode.training = train
        return self

    def __exit__(self, *exc):
        record, train = self._enter_record, self._enter_train
        if record is not None and self._prev_record != record:
            _mode.recording = self._prev_record
        if train is not None and self._prev_train != train:
            _mode.training = self._prev_train


def record(train_mode=True):
    return _RecordingStateScope(True, train_mode)


def pause(train_mode=False):
    return _RecordingStateScope(False, train_mode)


def train_mode():
    return _RecordingStateScope(None, True)


def predict_mode():
    return _RecordingStateScope(None, False)


class _Saved:
    """Save both flags, set some, restore both: used around forward/backward internals."""

    __slots__ = ("recording", "training", "saved")

    def __init__(self, recording=None, training=None):
        self.recording, self.training = recording, training

    def __enter__(self):
        self.saved = (_mode.recording, _mode.training)
        if self.recording is not None:
            _mode.recording = self.recording
        if self.training is not None:
            _mode.training = self.training

    def __exit__(self, *exc):
        _mode.recording, _mode.training = self.saved


# ----- graph nodes ------------------------------------------------------------------------------
_var_ids = itertools.count()
_node_ids = itertools.count()
_next_node_id = _node_ids.__next__  # one call per recorded op: skip the lookup of next()


class Variable:
    """A marked array: where its gradient goes and how (``grad_req``)."""

    __slots__ = ("grad", "grad_req", "fresh", "id")

    def __init__(self, grad, grad_req):
        self.grad = grad
        self.grad_req = grad_req
        self.fresh = False
        self.id = next(_var_ids)


class OpNode:
    """One recorded primitive call. ``inputs is None`` once backward has freed it."""

    __slots__ = ("prim", "inputs", "attrs", "out", "id")

    def __init__(self, prim, inputs, attrs, out):
        self.prim = prim
        self.inputs = inputs
        self.attrs = attrs
        self.out = out
        self.id = _next_node_id()

    def output(self, i):
        """Output ``i`` as an NDArray still linked to this node (so vjps can be differentiated)."""
        data = self.out if self.prim.n_out == 1 else self.out[i]
        return _nd.NDArray(data, self.inputs[0]._ctx, self, i)


# ndarray.py imports _mode, Variable and OpNode from here, so they are defined above this line:
# whichever of the two modules is imported first, the other then finds them
from .ndarray import ndarray as _nd  # noqa: E402 - circular: only its attributes are used, at call time
from .ops.core import Primitive  # noqa: E402


def mark_variables(variables, gradients, grad_reqs="write"):
    """Mark arrays as variables whose gradients go into ``gradients`` (which become their ``.grad``)."""
    if isinstance(variables, _nd.NDArray):
        if not isinstance(gradients, _nd.NDArray):
            raise TypeError("mark_variables: variables is one NDArray, so gradients must be one NDArray too "
                            f"(got {type(gradients).__name__}).")
        variables, gradients = [variables], [gradients]
    variables, gradients = list(variables), list(gradients)
    if len(variables) != len(gradients):
        raise ValueError(f"mark_variables got {len(variables)} variables but {len(gradients)} gradient "
                         "buffers: pass one gradient buffer per variable.")
    reqs = [grad_reqs] * len(variables) if isinstance(grad_reqs, str) else list(grad_reqs)
    if len(reqs) != len(variables):
        raise ValueError(f"mark_variables got {len(variables)} variables but {len(reqs)} grad_reqs.")
    for i, (var, grad, req) in enumerate(zip(variables, gradients, reqs)):
        if req not in _GRAD_REQS:
            raise ValueError(f"Invalid grad_req {req!r}: use one of 'write', 'add' or 'null'.")
        if grad.shape != var.shape:
            raise ValueError(f"mark_variables: the gradient buffer of variable {i} has shape {grad.shape}, "
                             f"but the variable has shape {var.shape}; they must match.")
        var._node = Variable(grad, req)


# ----- backward ---------------------------------------------------------------------------------
def _as_list(x):
    return [x] if isinstance(x, _nd.NDArray) else list(x)


def _head_gradients(heads, head_grads):
    if head_grads is None:
        head_grads = [None] * len(heads)
    else:
        head_grads = _as_list(head_grads)
        if len(head_grads) != len(heads):
            raise ValueError(f"heads and head_grads must be lists of the same length ({len(heads)} heads, "
                             f"{len(head_grads)} head_grads).")
    out = []
    for i, (h, hg) in enumerate(zip(heads, head_grads)):
        node = h._node
        if node is None or (isinstance(node, OpNode) and node.inputs is None):
            hint = ("its graph was already freed by an earlier backward: pass retain_graph=True to the first one"
                    if node is not None else
                    "it was computed outside autograd.record(), or from arrays none of which had attach_grad()")
            raise MXNetError(f"{_NOT_IN_GRAPH} (head {i}: {hint}.)")
        if hg is None:
            ones = h._ctx.xp.empty_like(h._data)
            ones.fill(1)  # empty + fill: a third of ones_like's cost, and every backward pays it
            hg = _nd.NDArray(ones, h._ctx)
        elif not isinstance(hg, _nd.NDArray):
            raise TypeError(f"head gradient {i} must be an NDArray, got {type(hg).__name__}.")
        elif hg.shape != h.shape:
            raise ValueError(f"head gradient {i} has shape {hg.shape} but its head has shape {h.shape}: "
                             "pass a gradient of the same shape as the output.")
        out.append(hg)
    return out


def _toposort(heads):
    """Op nodes reachable from the heads, each after all the nodes it consumes, and how many
    times each variable is consumed (so its gradient can be written once its last use has run).

    Node ids grow in creation order and a node is always created after its inputs, so
    sorting the reachable nodes by id is a topological order.
    """
    stack = list(dict.fromkeys(h._node for h in heads if type(h._node) is OpNode))
    seen, uses = set(stack), {}
    push, mark, count = stack.append, seen.add, uses.get  # bound once: this loop visits every node
    while stack:
        for x in stack.pop().inputs:
            parent = x._node
            if parent is None:
                continue
            if type(parent) is OpNode:
                if parent not in seen:
                    mark(parent)
                    push(parent)
            else:
                uses[parent] = count(parent, 0) + 1
    return sorted(seen, key=_node_id), uses


_node_id = operator.attrgetter("id")


def _accumulate(grads, node, oidx, g):
    if isinstance(node, OpNode) and node.prim.n_out > 1:
        slots = grads.get(node)
        if slots is None:
            slots = grads[node] = [None] * node.prim.n_out
        slots[oidx] = g if slots[oidx] is None else slots[oidx] + g
        return
    prev = grads.get(node)
    grads[node] = g if prev is None else prev + g


def _propagate(heads, head_grads, order, wanted, pending=None, sink=None):
    """Run the vjps; return {Variable: gradient} for the variables that ``wanted`` accepts.

    Unrecorded (every backward but create_graph's) the gradients are backend arrays: each node's
    vjp runs on plain arrays (``_plain_vjp``), so no NDArray is made per gradient. Recorded, they are
    NDArrays and the vjps are recorded too (``_recorded_vjp``), so they can be differentiated again.
    With ``sink``, each variable's gradient is handed to ``sink(var, g)`` as soon as its
    last consumer has run (``pending`` counts the uses left), so an old ``.grad`` buffer is
    released before the next gradient is computed (peak memory stays near one set of them).
    """
    plain = not _mode.recording
    vjp = _plain_vjp if plain else _recorded_vjp
    grads = {}
    for h, hg in zip(heads, head_grads):
        _accumulate(grads, h._node, h._oidx, hg._data if plain else hg)
    pop, get = grads.pop, grads.get  # locals: this loop is the backward hot path
    for node in reversed(order):
        g = pop(node, None)
        if g is None:
            continue
        inputs = node.inputs
        for x, gx in zip(inputs, vjp(node, g, inputs, wanted)):
            parent = x._node
            if parent is None:
                continue
            if type(parent) is Variable:
                if gx is not None and (parent.grad_req != "null" if wanted is None else parent in wanted):
                    prev = get(parent)
                    grads[parent] = gx if prev is None else prev + gx
                if pending is not None:
                    left = pending[parent] = pending[parent] - 1
                    if not left and parent in grads:
                        sink(parent, pop(parent))
            elif gx is not None:
                if parent.prim.n_out == 1:
                    prev = get(parent)
                    grads[parent] = gx if prev is None else prev + gx
                else:
                    _accumulate(grads, parent, x._oidx, gx)
    return {n: g for n, g in grads.items() if isinstance(n, Variable)}


def _plain_vjp(node, g, inputs, wanted):
    """The node's input gradients as backend arrays (None where there is none), from ``g`` (one, or one
    per output): its primitive's raw_vjp, or its NDArray vjp on wrapped arrays (nothing is recorded)."""
    prim = node.prim
    if wanted is None and len(inputs) == 1:  # most nodes: one input, which wants a gradient unless 'null'
        parent = inputs[0]._node
        needs = _WANTED if type(parent) is OpNode or (parent is not None and parent.grad_req != "null") \
            else _UNWANTED
    else:
        needs = _needs(inputs, wanted)
    if prim.n_out != 1:  # outputs nobody used get zeros, as the recorded path gives them
        xp = inputs[0]._ctx.xp
        g = tuple(xp.zeros_like(o) if gi is None else gi for gi, o in zip(g, node.out))
    raw = prim.raw_vjp
    if raw is not None:
        attrs = node.attrs
        if len(inputs) == 1:  # no list to build, and no empty **{} to unpack (it costs a call's worth)
            results = raw(g, node.out, inputs[0]._data, needs=needs, **attrs) if attrs else \
                raw(g, node.out, inputs[0]._data, needs=needs)
        else:
            results = raw(g, node.out, *[x._data for x in inputs], needs=needs, **attrs) if attrs else \
                raw(g, node.out, *[x._data for x in inputs], needs=needs)
        if results is not None:
            return results
    return plain_nd_vjp(prim, g, node.out, [x._data for x in inputs], needs, node.attrs, inputs[0]._ctx)


def plain_nd_vjp(prim, g, out, xs, needs, attrs, ctx):
    """A primitive's NDArray vjp on backend arrays, its results unwrapped (recording is off)."""
    NDArray = _nd.NDArray
    if prim.n_out == 1:
        g = NDArray(g, ctx)
        out = NDArray(out, ctx) if prim.uses_out else None
    else:
        g = tuple(NDArray(x, ctx) for x in g)
        out = tuple(NDArray(x, ctx) for x in out)
    args = [NDArray(x, ctx) for x in xs]
    if prim.wants_needs:
        results = prim.vjp(g, out, *args, needs=needs, **attrs)
    else:
        results = prim.vjp(g, out, *args, **attrs)
    return [None if r is None else r._data for r in results]


def _recorded_vjp(node, g, inputs, wanted):
    """The node's input gradients as NDArrays, computed by recorded operations (create_graph)."""
    prim = node.prim
    attrs = node.attrs
    if prim.n_out == 1:
        out = _nd.NDArray(node.out, inputs[0]._ctx, node, 0) if prim.uses_out else None
    else:
        out = tuple(node.output(i) for i in range(prim.n_out))
        g = tuple(_nd.zeros_like(o) if gi is None else gi for gi, o in zip(g, out))
    if prim.wants_needs:
        return prim.vjp(g, out, *inputs, needs=_needs(inputs, wanted), **attrs)
    return prim.vjp(g, out, *inputs, **attrs)


_WANTED, _UNWANTED = (True,), (False,)


def _needs(inputs, wanted):
    """Whether each input wants a gradient: a node's output does, a variable per its grad_req
    (or, for ``grad``, whether it is one of ``wanted``), a constant does not."""
    if wanted is None:  # backward: one expression per input, no appends
        return tuple([x._node is not None and (type(x._node) is OpNode or x._node.grad_req != "null")
                      for x in inputs])
    out = []
    for x in inputs:
        node = x._node
        if node is None:
            out.append(False)
        elif type(node) is Variable:
            out.append(node in wanted)
        else:
            out.append(True)
    return tuple(out)


def _free(order):
    for node in order:
        node.inputs = None
        node.out = None
        node.attrs = None  # a compiled graph keeps its forward's values here (trainkit.compiled)


def backward(heads, head_grads=None, retain_graph=False, train_mode=True):
    """Compute the gradients of ``heads`` and write them into the marked variables' ``.grad``."""
    heads = _as_list(heads)
    node = heads[0]._node
    alone = getattr(node.prim.vjp, "backward_alone", None) \
        if len(heads) == 1 and type(node) is OpNode and node.inputs is not None else None
    if alone is not None:  # the graph is one compiled program (a traced step): it writes the gradients itself
        if head_grads is None:
            g, taken = None, set()  # the program's own read-only ones
        else:
            g = _head_gradients(heads, head_grads)[0]._data
            taken = {id(g)}
        with _Saved(recording=False, training=bool(train_mode)):
            done = alone(node, g, taken)
        if done:
            if not retain_graph:
                _free((node,))
            return
    head_grads = _head_gradients(heads, head_grads)
    taken = {id(hg._data) for hg in head_grads}  # buffers the user still holds: copy, never adopt
    written = []

    def sink(var, g):  # g: a backend array (backward is never recorded)
        _write_grad(var, g, taken)
        written.append(var)

    with _Saved(recording=False, training=bool(train_mode)):
        order, uses = _toposort(heads)
        rest = _propagate(heads, head_grads, order, None, uses, sink)
    if not retain_graph:
        _free(order)
    for var, g in rest.items():
        sink(var, g)
    if not written:
        raise MXNetError("There are no inputs in computation graph that require gradients. (Every variable "
                         "reachable from the heads has grad_req='null', or none is reachable.)")


def _write_grads(variables, grads, taken):
    """Store each backend array of ``grads`` per its variable's grad_req (None: nothing to store); adopt an
    array when nobody else holds it (not a view, not ``taken`` by another variable or as a head gradient)."""
    for var, data in zip(variables, grads):
        if data is None:
            continue
        buf = var.grad
        if var.grad_req == "add":
            buf._data += data
        elif (data.base is None and id(data) not in taken and data.dtype == buf._data.dtype
              and data.shape == buf._data.shape):
            buf._data = data
            taken.add(id(data))
        else:
            buf._data[...] = data
        var.fresh = True


def _write_grad(var, data, taken):
    _write_grads((var,), (data,), taken)


def grad(heads, variables, head_grads=None, retain_graph=None, create_graph=False, train_mode=True):
    """Gradients of ``heads`` with respect to ``variables``, returned as a list of new NDArrays.

    ``.grad`` buffers are left alone. A list is returned even for one variable,
    as in MXNet 1.9.1. With ``create_graph=True`` the gradients are recorded,
    so they can be differentiated again.
    """
    heads = _as_list(heads)
    variables = _as_list(variables)
    if not variables:
        raise ValueError("variables cannot be an empty list.")
    if retain_graph is None:
        retain_graph = create_graph
    wanted = set()
    for i, v in enumerate(variables):
        if not isinstance(v._node, Variable):
            raise MXNetError(f"Cannot differentiate with respect to the {i + 1}-th variable because it does "
                             "not require gradient. Call attach_grad() on it (or mark_variables) before "
                             "recording.")
        wanted.add(v._node)
    head_grads = _head_gradients(heads, head_grads)
    order, _ = _toposort(heads)
    with _Saved(recording=create_graph, training=train_mode):
        var_grads = _propagate(heads, head_grads, order, wanted)
    if not retain_graph:
        _free(order)
    result = []
    user_buffers = {id(hg._data) for hg in head_grads}
    for i, v in enumerate(variables):
        g = var_grads.get(v._node)
        if g is None:
            raise MXNetError(f"Cannot differentiate with respect to the {i + 1}-th variable because it is "
                             "unreachable from the outputs: the heads do not depend on it.")
        if not create_graph:  # a backend array
            g = _nd.NDArray(g.copy() if id(g) in user_buffers else g, v._ctx)
        elif id(g._data) in user_buffers:
            g = _nd.NDArray(g._data.copy(), g._ctx, g._node, g._oidx)
        result.append(g)
    return result


# ----- custom differentiation -------------------------------------------------------------------
class Function:
    """A differentiable operation with a user-written gradient (MXNet's ``autograd.Function``).

    Subclass it with ``forward(self, *inputs)`` and ``backward(self, *output_grads)``;
    an instance is called once. ``forward`` runs with recording paused, and the
    call is recorded as one node whose gradient is ``backward``.
    """

    def __init__(self):
        self._used = False
        self.saved_tensors = ()

    def save_for_backward(self, *args):
        self.saved_tensors = args

    def __call__(self, *inputs):
        if getattr(self, "_used", False):
            raise MXNetError("Each Function instance can only be called once. Please create another instance.")
        self._used = True
        name = type(self).__name__
        for i, x in enumerate(inputs):
            if not isinstance(x, _nd.NDArray):
                raise TypeError(f"{name} input {i} is a {type(x).__name__}; Function inputs must be NDArrays.")
        with _Saved(recording=False):
            outputs = self.forward(*inputs)
        outs = [outputs] if isinstance(outputs, _nd.NDArray) else list(outputs)
        for i, o in enumerate(outs):
            if not isinstance(o, _nd.NDArray):
                raise TypeError(f"{name}.forward output {i} is a {type(o).__name__}; it must return NDArrays.")
        if _mode.recording and any(x._node is not None for x in inputs):
            for i, o in enumerate(outs):
                if o._node is not None:
                    raise MXNetError(f"{name}.forward returned output {i} that is already in the graph (an "
                                     "input returned unchanged?): return a new array, e.g. x.copy().")
            prim = Primitive(name, None, self._vjp, n_out=len(outs))
            node = OpNode(prim, tuple(inputs), {}, outs[0]._data if len(outs) == 1 else
                          tuple(o._data for o in outs))
            for i, o in enumerate(outs):
                o._node, o._oidx = node, i
        return outputs

    def _vjp(self, g, out, *inputs):
        name = type(self).__name__
        grads = g if isinstance(g, tuple) else (g,)
        with _Saved(recording=False):
            result = self.backward(*grads)
        result = list(result) if isinstance(result, (list, tuple)) else [result]
        if len(result) != len(inputs):
            raise MXNetError(f"{name}.backward must return exactly one gradient per input of forward: "
                             f"expected {len(inputs)}, got {len(result)}.")
        checked = []
        for i, (r, x) in enumerate(zip(result, inputs)):
            if not isinstance(r, _nd.NDArray):
                raise TypeError(f"{name}.backward must return NDArrays, not {type(r).__name__} (gradient {i}).")
            if r.shape != x.shape:
                raise ValueError(f"{name}.backward returned a gradient of shape {r.shape} for input {i}, "
                                 f"whose shape is {x.shape}.")
            checked.append(_nd.NDArray(r._data.copy(), r._ctx))  # the user may keep r: never adopt it
        return checked

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, *inputs)")

    def backward(self, *output_grads):
        raise NotImplementedError(f"{type(self).__name__} must define backward(self, *output_grads)")


def get_symbol(x):
    """The recorded history of ``x`` as a Symbol (whose ``eval`` recomputes ``x``)."""
    from .symbol import from_recorded
    if not isinstance(x, _nd.NDArray):
        raise TypeError(f"get_symbol: Invalid argument type, expecting NDArray, got {type(x)}")
    if x._node is None or (isinstance(x._node, OpNode) and x._node.inputs is None):
        raise MXNetError("NDArray is not part of a computation graph. Did you forget to turn on recording?")
    return from_recorded(x)
