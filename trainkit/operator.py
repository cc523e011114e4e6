"""``mx.operator``: operators written in Python (MXNet's ``CustomOp``/``CustomOpProp``/``register``).

A custom operator is a ``CustomOpProp`` subclass registered under a name; it says
what the operator takes and returns (``list_arguments``, ``list_outputs``,
``infer_shape``, ...) and makes the ``CustomOp`` that computes it. It runs as
``mx.nd.Custom(*inputs, op_type=NAME, **params)`` or ``mx.sym.Custom(...)``:
trainkit calls the op's ``forward`` on freshly allocated outputs and records the
call as one autograd node whose gradient is the op's ``backward``. Parameters
reach the prop's ``__init__`` as strings, as in MXNet.
"""
import numpy as np

from .base import MXNetError

__all__ = ["CustomOp", "CustomOpProp", "register", "get_all_registered_operators"]  # `import *` gives these

_REGISTRY = {}


class CustomOp:
    """Base class of an operator's computation: override ``forward`` and ``backward``."""

    def __init__(self):
        pass

    def forward(self, is_train, req, in_data, out_data, aux):
        """Write the outputs into ``out_data`` (use ``self.assign``)."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(is_train, req, in_data, out_data, aux)")

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        """Write the input gradients into ``in_grad`` (use ``self.assign``)."""
        raise NotImplementedError(f"{type(self).__name__} must define backward(req, out_grad, in_data, out_data, "
                                  "in_grad, aux)")

    def assign(self, dst, req, src):
        """``dst[:] = src`` for 'write'/'inplace', ``dst[:] += src`` for 'add', nothing for 'null'."""
        if req == "null":
            return
        if req in ("write", "inplace"):
            dst[:] = src
        elif req == "add":
            dst[:] = dst + src
        else:
            raise ValueError(f"assign: unknown req {req!r}; use 'write', 'inplace', 'add' or 'null'.")


class CustomOpProp:
    """Base class of an operator's description: inputs, outputs, shapes, and ``create_operator``."""

    def __init__(self, need_top_grad=True):
        self.need_top_grad_ = need_top_grad

    def infer_shape(self, in_shape):
        return in_shape, (in_shape[0],) * len(self.list_outputs()), ()

    def infer_type(self, in_type):
        return in_type, [in_type[0]] * len(self.list_outputs()), [in_type[0]] * len(self.list_auxiliary_states())

    def infer_storage_type(self, in_stype):
        return in_stype, ["default"] * len(self.list_outputs()), ["default"] * len(self.list_auxiliary_states())

    def list_outputs(self):
        return ["output"]

    def list_arguments(self):
        return ["data"]

    def list_auxiliary_states(self):
        return []

    def declare_backward_dependency(self, out_grad, in_data, out_data):
        deps = []
        if self.need_top_grad_:
            deps.extend(out_grad)
        deps.extend(in_data)
        deps.extend(out_data)
        return deps

    def create_operator(self, ctx, in_shapes, in_dtypes):
        raise NotImplementedError(f"{type(self).__name__} must define create_operator(ctx, in_shapes, in_dtypes)")


def register(reg_name):
    """Class decorator: ``@mx.operator.register("name")`` on a CustomOpProp subclass."""
    def do_register(prop_cls):
        if not (isinstance(prop_cls, type) and issubclass(prop_cls, CustomOpProp)):
            raise TypeError(f"mx.operator.register('{reg_name}') decorates a CustomOpProp subclass, got {prop_cls!r}.")
        _REGISTRY[reg_name] = prop_cls
        return prop_cls
    return do_register


def get_all_registered_operators():
    return sorted(_REGISTRY)


def _make_prop(op_type, params):
    cls = _REGISTRY.get(op_type)
    if cls is None:
        raise MXNetError(f"Cannot find custom operator {op_type!r}: register it first with "
                         f"@mx.operator.register({op_type!r}) on a CustomOpProp subclass. Registered: "
                         f"{sorted(_REGISTRY)}.")
    return cls(**{k: str(v) for k, v in params.items()})


def _shapes(prop, in_shapes):
    res = prop.infer_shape([list(s) for s in in_shapes])
    ins, outs = res[0], res[1]
    auxs = res[2] if len(res) > 2 else []
    return [tuple(s) for s in ins], [tuple(s) for s in outs], [tuple(s) for s in auxs]


_CALL = []


def _custom_call_class():
    """The autograd.Function behind a custom op call (built on first use: mx.nd imports this module early)."""
    if _CALL:
        return _CALL[0]
    from . import autograd

    class _CustomCall(autograd.Function):
        def __init__(self, op, prop, n_args, aux, out_shapes, out_types, is_train):
            super().__init__()
            self.op, self.prop, self.n_args, self.aux = op, prop, n_args, aux
            self.out_shapes, self.out_types, self.is_train = out_shapes, out_types, is_train

        def forward(self, *inputs):
            from .ndarray.ndarray import NDArray
            ctx = inputs[0].context if inputs else None
            xp = inputs[0]._ctx.xp if inputs else np
            outs = [NDArray(xp.zeros(s, t), ctx) for s, t in zip(self.out_shapes, self.out_types)]
            self.inputs, self.outs = list(inputs), outs
            self.op.forward(is_train=self.is_train, req=["write"] * len(outs), in_data=list(inputs), out_data=outs,
                            aux=self.aux)
            return outs[0] if len(outs) == 1 else tuple(outs)

        def backward(self, *out_grads):
            from .ndarray.ndarray import NDArray
            in_grad = [NDArray(x._ctx.xp.zeros_like(x._data), x._ctx) for x in self.inputs]
            self.op.backward(req=["write"] * len(in_grad), out_grad=list(out_grads), in_data=self.inputs,
                             out_data=self.outs, in_grad=in_grad, aux=self.aux)
            return in_grad[0] if len(in_grad) == 1 else tuple(in_grad)

    _CALL.append(_CustomCall)
    return _CustomCall


def _custom(inputs, op_type, params, aux=()):
    """Run a registered custom op on NDArrays ``inputs`` (arguments, then auxiliary states)."""
    from .ndarray.ndarray import NDArray
    prop = _make_prop(op_type, params)
    n_args = len(prop.list_arguments())
    n_aux = len(prop.list_auxiliary_states())
    inputs = list(inputs) + list(aux)
    if len(inputs) != n_args + n_aux:
        raise MXNetError(f"Custom op {op_type!r} takes {n_args} argument(s) {prop.list_arguments()} and {n_aux} "
                         f"auxiliary state(s) {prop.list_auxiliary_states()}, got {len(inputs)} array(s).")
    for i, x in enumerate(inputs):
        if not isinstance(x, NDArray):
            raise TypeError(f"Custom op {op_type!r}: input {i} must be an NDArray, got {type(x).__name__}.")
    args, auxs = inputs[:n_args], inputs[n_args:]
    _, out_shapes, _ = _shapes(prop, [a.shape for a in args] + [a.shape for a in auxs])
    types = prop.infer_type([a._data.dtype.type for a in args])
    out_types = [np.dtype(t) for t in types[1]]
    ctx = args[0].context if args else None
    op = prop.create_operator(ctx, [a.shape for a in args], [a._data.dtype.type for a in args])
    from . import autograd
    call = _custom_call_class()(op, prop, n_args, auxs, out_shapes, out_types, autograd.is_training())
    return call(*args)


def Custom(*data, op_type=None, name=None, out=None, **kwargs):
    """``mx.nd.Custom``: run the custom operator registered as ``op_type``."""
    if op_type is None:
        raise MXNetError("Custom needs op_type=NAME, the name given to @mx.operator.register(NAME).")
    result = _custom(data, op_type, kwargs)
    if out is not None:
        out[:] = result
        return out
    return result


# ----- the symbol side: mx.sym.Custom ---------------------------------------------------------------------
class _AnyKey(dict):
    """A parameter table that accepts every name: a custom op's parameters are whatever its prop takes."""

    def __contains__(self, key):
        return True


class _CustomOpDef:
    """``mx.sym.Custom``'s entry in the symbol operator table (the ``_OpDef`` interface).

    Its inputs, outputs, auxiliary states and shapes come from the registered prop.
    """

    name = hint = "Custom"
    aux = ()
    var_init = None
    ignores_extra = False  # every keyword goes to the prop

    def __init__(self):
        self.hint = "custom"
        self.params = _AnyKey()
        self._inputs = self.input_names  # _OpDef's attribute: the input roles depend on the parameters

    @staticmethod
    def _prop(p):
        return _make_prop(p["op_type"], {k: v for k, v in p.items() if k != "op_type"})

    def parse(self, attrs, layer):
        p = {k: v for k, v in attrs.items() if not (k.startswith("__") and k.endswith("__"))}
        if "op_type" not in p:
            raise MXNetError(f"Custom layer '{layer}' needs op_type=NAME (the name given to mx.operator.register).")
        return p

    def input_names(self, p):
        prop = self._prop(p)
        return list(prop.list_arguments()) + list(prop.list_auxiliary_states())

    def aux_of(self, p):
        prop = self._prop(p)
        n = len(prop.list_arguments())
        return tuple(range(n, n + len(prop.list_auxiliary_states())))

    def outputs(self, p):
        return list(self._prop(p).list_outputs())

    def n_total(self, p):
        return len(self.outputs(p))

    def infer(self, p, s):
        prop = self._prop(p)
        n_args = len(prop.list_arguments())
        if any(x is None for x in s[:n_args]):
            return s, [None] * len(prop.list_outputs())
        ins, outs, auxs = _shapes(prop, s[:n_args])
        return list(ins) + (list(auxs) or list(s[n_args:])), outs

    def compute(self, p, xs):
        n_args = len(self._prop(p).list_arguments())
        out = _custom(xs[:n_args], p["op_type"], {k: v for k, v in p.items() if k != "op_type"}, aux=xs[n_args:])
        return list(out) if isinstance(out, (list, tuple)) else [out]


def symbol_custom(*data, op_type=None, name=None, attr=None, **kwargs):
    """``mx.sym.Custom``: the Python operator registered as ``op_type``; inputs by position or by role name."""
    from .symbol import Symbol, _create
    if op_type is None:
        raise MXNetError("mx.sym.Custom needs op_type=NAME, the name given to @mx.operator.register(NAME).")
    params = {k: v for k, v in kwargs.items() if not isinstance(v, Symbol)}
    prop = _make_prop(op_type, params)
    roles = list(prop.list_arguments()) + list(prop.list_auxiliary_states())
    inputs = dict(zip(roles, data))
    inputs.update({k: v for k, v in kwargs.items() if isinstance(v, Symbol)})
    return _create("Custom", inputs, dict(params, op_type=op_type), name, attr)
