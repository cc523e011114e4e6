"""NDArray: an array on a device, plus what autograd needs to know about it.

No calculus lives here: operators call the primitives in ``trainkit.ops``
through ``apply``, which runs the forward and, while recording, links the
result into the graph (an ``autograd.OpNode``).
"""
import numpy as np

from .. import autograd
from ..base import MXNetError
from ..context import Context, current_context

_CPU0 = Context("cpu", 0)


def apply(prim, *inputs, **attrs):
    """Run primitive ``prim`` on NDArray ``inputs``; record it when autograd is recording."""
    try:
        n = len(inputs)
        if n == 1:
            out = prim.forward(inputs[0]._data, **attrs)
        elif n == 2:
            out = prim.forward(inputs[0]._data, inputs[1]._data, **attrs)
        else:
            out = prim.forward(*[x._data for x in inputs], **attrs)
    except (ValueError, IndexError) as err:
        if isinstance(err, MXNetError):
            raise
        shapes = " and ".join(str(x.shape) for x in inputs)
        raise MXNetError(f"Operator {prim.name} cannot be applied to inputs of shape {shapes}: {err}") from None
    ctx = inputs[0]._ctx
    if autograd._mode.recording and prim.vjp is not None:
        for x in inputs:
            if x._node is not None:
                node = autograd.OpNode(prim, inputs, attrs, out)
                if prim.n_out == 1:
                    return NDArray(out, ctx, node)
                return tuple(NDArray(o, ctx, node, i) for i, o in enumerate(out))
    if prim.n_out == 1:
        return NDArray(out, ctx)
    return tuple(NDArray(o, ctx) for o in out)


def _as_nd(value, like):
    """An NDArray for a binary operand that is not a Python scalar (numpy arrays, lists)."""
    if isinstance(value, NDArray):
        return value
    return NDArray(like._ctx.xp.asarray(value, dtype=like._data.dtype), like._ctx)


class NDArray:
    """An n-dimensional array with MXNet 1.x's interface, computed eagerly.

    ``_node`` is the autograd graph entry: ``None`` for a constant, a
    ``Variable`` after ``attach_grad``, or the op node that produced it.
    """

    __slots__ = ("_data", "_ctx", "_node", "_oidx", "__weakref__")
    # numpy must hand binary operations with an NDArray on the right back to us
    __array_ufunc__ = None

    def __init__(self, data, ctx=_CPU0, node=None, oidx=0):
        self._data = data
        self._ctx = ctx
        self._node = node
        self._oidx = oidx

    # ----- properties -------------------------------------------------------------------
    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype.type

    @property
    def size(self):
        return self._data.size

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def context(self):
        return self._ctx

    ctx = context
    stype = "default"

    @property
    def T(self):
        return self.transpose()

    @property
    def grad(self):
        node = self._node
        return node.grad if isinstance(node, autograd.Variable) else None

    @property
    def _fresh_grad(self):
        node = self._node
        return isinstance(node, autograd.Variable) and node.fresh

    @_fresh_grad.setter
    def _fresh_grad(self, value):
        if isinstance(self._node, autograd.Variable):
            self._node.fresh = bool(value)

    # ----- conversion -------------------------------------------------------------------
    def asnumpy(self):
        data = self._data
        if isinstance(data, np.ndarray):
            return data.copy()
        return data.get()  # CuPy -> host

    def __array__(self, dtype=None, copy=None):
        data = self.asnumpy()
        return data if dtype is None else data.astype(dtype, copy=False)

    def asscalar(self):
        if self.shape != (1,):
            raise ValueError("The current array is not a scalar")
        return self.asnumpy()[0]

    def item(self):
        return self.asnumpy().item()

    def astype(self, dtype, copy=True):
        dtype = np.dtype(dtype)
        if not copy and dtype == self._data.dtype:
            return self
        from ..ops.elementwise import cast
        return cast(self, dtype=dtype)

    def copy(self):
        from ..ops.shape import identity
        return identity(self)

    def copyto(self, other):
        """Copy into another NDArray (in place) or onto a Context (a new array)."""
        if isinstance(other, Context):
            return NDArray(_to_device(self._data, other), other)
        if not isinstance(other, NDArray):
            raise TypeError(f"copyto does not support type {type(other).__name__}: pass an NDArray or a Context.")
        if other.shape != self.shape:
            raise MXNetError(f"copyto: shape mismatch, source {self.shape} vs target {other.shape}.")
        other._write(_to_device(self._data, other._ctx))
        return other

    def as_in_context(self, context):
        if context == self._ctx:
            return self
        return self.copyto(context)

    def detach(self):
        return NDArray(self._data, self._ctx)

    def wait_to_read(self):
        """trainkit computes eagerly: nothing to wait for."""

    def __repr__(self):
        shape = "x".join(str(n) for n in self.shape)
        return f"\n{self.asnumpy()}\n<NDArray {shape} @{self._ctx}>"

    __str__ = __repr__

    def __len__(self):
        return self.shape[0]

    def __iter__(self):
        for i in range(self.shape[0]):
            yield self[i]

    def __bool__(self):
        if self.size != 1:
            raise ValueError("The truth value of an NDArray with more than one element is ambiguous.")
        return bool(self._data.reshape(()))

    def __float__(self):
        return float(self._data.reshape(()))

    def __int__(self):
        return int(self._data.reshape(()))

    __hash__ = object.__hash__

    # ----- autograd -----------------------------------------------------------------
    def attach_grad(self, grad_req="write", stype=None):
        """Mark this array as a variable: ``backward`` fills ``self.grad``."""
        grad = NDArray(self._ctx.xp.zeros_like(self._data), self._ctx)
        autograd.mark_variables(self, grad, grad_req)

    def backward(self, out_grad=None, retain_graph=False, train_mode=True):
        autograd.backward(self, out_grad, retain_graph, train_mode)

    # ----- in-place writes --------------------------------------------------------------
    def _check_writable(self):
        if self._node is not None and autograd._mode.recording:
            raise MXNetError(
                "Assigning to NDArrays that are already in a computational graph will cause undefined "
                "behavior when evaluating gradients. Please call backward first to clear the graph or do "
                "this out side of a record section. Also note that you cannot use inplace operations like "
                "+=, *=, relu(x, out=x), y[idx]=x, etc inside a record section.")

    def _write(self, data):
        self._check_writable()
        self._data[...] = data

    def __setitem__(self, key, value):
        self._check_writable()
        if isinstance(value, NDArray):
            value = value._data
        self._data[_index(key)] = value

    def __getitem__(self, key):
        from ..ops.shape import getitem
        return getitem(self, key)

    def _inplace(self, ufunc, other):
        if self._node is not None and autograd._mode.recording:
            self._check_writable()
        if isinstance(other, NDArray):
            other = other._data
        ufunc(self._data, other, out=self._data)
        return self

    def __iadd__(self, other):
        return self._inplace(np.add, other)

    def __isub__(self, other):
        return self._inplace(np.subtract, other)

    def __imul__(self, other):
        return self._inplace(np.multiply, other)

    def __itruediv__(self, other):
        return self._inplace(np.divide, other)


def _index(key):
    """Turn NDArrays inside an index into backend arrays."""
    if isinstance(key, NDArray):
        return key._data.astype(np.int64)
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    return key


def _to_device(data, ctx):
    if ctx.device_type == "gpu":
        cp = ctx.xp
        with cp.cuda.Device(ctx.device_id):
            return cp.array(data)
    if isinstance(data, np.ndarray):
        return data.copy()
    return data.get()


def array(source_array, ctx=None, dtype=None):
    """A new NDArray from a list, numpy array or NDArray (float32 unless ``dtype`` says otherwise)."""
    ctx = ctx or current_context()
    if isinstance(source_array, NDArray):
        dtype = dtype or source_array._data.dtype
        source_array = source_array.asnumpy()
    data = np.array(source_array, dtype=dtype or np.float32)
    if ctx.device_type == "gpu":
        data = _to_device(data, ctx)
    return NDArray(data, ctx)


def _fill(maker, shape, ctx, dtype, *args):
    ctx = ctx or current_context()
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    data = getattr(np, maker)(shape, *args, dtype=dtype or np.float32)
    return NDArray(_to_device(data, ctx) if ctx.device_type == "gpu" else data, ctx)


def zeros(shape, ctx=None, dtype=None, **kwargs):
    return _fill("zeros", shape, ctx, dtype)


def ones(shape, ctx=None, dtype=None, **kwargs):
    return _fill("ones", shape, ctx, dtype)


def empty(shape, ctx=None, dtype=None):
    return _fill("zeros", shape, ctx, dtype)


def full(shape, val, ctx=None, dtype=None, **kwargs):
    return _fill("full", shape, ctx, dtype, val)


def zeros_like(data):
    return NDArray(data._ctx.xp.zeros_like(data._data), data._ctx)


def ones_like(data):
    return NDArray(data._ctx.xp.ones_like(data._data), data._ctx)


def arange(start, stop=None, step=1.0, repeat=1, ctx=None, dtype=None, **kwargs):
    ctx = ctx or current_context()
    data = np.arange(start, stop, step, dtype=dtype or np.float32)
    if repeat != 1:
        data = np.repeat(data, repeat)
    return array(data, ctx, data.dtype)


def waitall():
    """trainkit computes eagerly: nothing to wait for."""


# ----- operators and fluent methods: thin links to the primitives in trainkit.ops -------------------
from ..ops import elementwise as _ew, nn as _nn, reduce as _red, shape as _sh  # noqa: E402


def _reflected(op):
    return lambda self, other: op(other, self)


NDArray.__add__ = NDArray.__radd__ = _ew.add
NDArray.__sub__, NDArray.__rsub__ = _ew.subtract, _reflected(_ew.subtract)
NDArray.__mul__ = NDArray.__rmul__ = _ew.multiply
NDArray.__truediv__, NDArray.__rtruediv__ = _ew.divide, _reflected(_ew.divide)
NDArray.__pow__, NDArray.__rpow__ = _ew.power, _reflected(_ew.power)
NDArray.__matmul__ = _nn.dot
NDArray.__neg__ = _ew.negative
NDArray.__abs__ = _ew.abs
NDArray.__eq__, NDArray.__ne__ = _ew.equal, _ew.not_equal
NDArray.__gt__, NDArray.__ge__ = _ew.greater, _ew.greater_equal
NDArray.__lt__, NDArray.__le__ = _ew.lesser, _ew.lesser_equal

for _name in ("exp", "log", "sqrt", "square", "abs", "sign", "tanh", "sigmoid", "relu", "sin", "cos",
              "reciprocal", "log1p", "expm1", "sinh", "cosh", "arctan", "softrelu", "softsign", "clip",
              "floor", "ceil", "round"):
    setattr(NDArray, _name, getattr(_ew, _name))
for _name in ("sum", "mean", "max", "min", "norm", "argmax", "argmin"):
    setattr(NDArray, _name, getattr(_red, _name))
for _name in ("transpose", "flatten", "expand_dims", "squeeze", "broadcast_to", "broadcast_like", "tile",
              "repeat", "swapaxes", "split", "pick", "one_hot", "slice_axis", "take"):
    setattr(NDArray, _name, getattr(_sh, _name))
for _name in ("softmax", "log_softmax", "dot"):
    setattr(NDArray, _name, getattr(_nn, _name))


def _reshape_method(self, *shape, **kwargs):
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = shape[0]
    return _sh.reshape(self, shape or kwargs.pop("shape"), **kwargs)


def _transpose_method(self, *axes):
    if len(axes) == 1 and not isinstance(axes[0], int):
        axes = axes[0]
    return _sh.transpose(self, axes or None)


NDArray.reshape = _reshape_method
NDArray.transpose = _transpose_method
NDArray.reshape_like = lambda self, other: _sh.reshape(self, other.shape)
