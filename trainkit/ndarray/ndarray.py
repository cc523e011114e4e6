"""NDArray: an array on a device, plus what autograd needs to know about it.

No calculus lives here: operators call the primitives in ``trainkit.ops``
through ``apply``, which runs the forward and, while recording, links the
result into the graph (an ``autograd.OpNode``).
"""
import functools
import math
import numbers
import operator

import numpy as np

from .. import autograd
from ..autograd import OpNode, Variable, _mode  # bound once: apply and .grad read them on every call
from ..base import MXNetError, MXNetIndexError, MXNetValueError
from ..context import Context
from .indexing import numpy_key
from .shape_codes import resolve_reshape

_CPU0 = Context("cpu", 0)

# names MXNet's ndarray module has that user and test code import from it
py_slice = slice
_GRAD_REQ_MAP = {"null": 0, "write": 1, "add": 3}
_DTYPE_NP_TO_MX = {None: -1, np.float32: 0, np.float64: 1, np.float16: 2, np.uint8: 3, np.int32: 4, np.int8: 5,
                   np.int64: 6, np.bool_: 7}
_DTYPE_MX_TO_NP = {v: k for k, v in _DTYPE_NP_TO_MX.items()}
_STORAGE_TYPE_STR_TO_ID = {"undefined": -1, "default": 0, "row_sparse": 1, "csr": 2}
_STORAGE_TYPE_ID_TO_STR = {v: k for k, v in _STORAGE_TYPE_STR_TO_ID.items()}


def apply(prim, *inputs, **attrs):
    """Run primitive ``prim`` on NDArray ``inputs``; record it when autograd is recording.

    Every operator and every vjp step comes through here, so it avoids what costs a call's worth of
    time: no ``**attrs`` when there are none (a ufunc called with an empty ``**{}`` is ~25% slower),
    no list for one or two inputs, module globals bound once (``_mode``, ``OpNode``).
    """
    x0 = inputs[0]
    try:
        if attrs:
            out = prim.forward(x0._data, **attrs) if len(inputs) == 1 else \
                prim.forward(*[x._data for x in inputs], **attrs)
        elif len(inputs) == 2:
            out = prim.forward(x0._data, inputs[1]._data)
        elif len(inputs) == 1:
            out = prim.forward(x0._data)
        else:
            out = prim.forward(*[x._data for x in inputs])
    except (ValueError, IndexError) as err:
        if isinstance(err, MXNetError):
            raise
        raise _operator_error(prim, inputs, err) from None
    if _mode.recording and prim.vjp is not None:
        for x in inputs:
            if x._node is not None:
                node = OpNode(prim, inputs, attrs, out)
                if prim.n_out == 1:
                    return NDArray(out, x0._ctx, node)
                ctx = x0._ctx
                return tuple(NDArray(o, ctx, node, i) for i, o in enumerate(out))
    if prim.n_out == 1:
        return NDArray(out, x0._ctx)
    ctx = x0._ctx
    return tuple(NDArray(o, ctx) for o in out)


def _operator_error(prim, inputs, err):
    """The MXNet error for a forward's ValueError/IndexError, naming the operator and the shapes."""
    shapes = " and ".join(str(x.shape) for x in inputs)
    # catchable both as MXNetError and as the original class, as MXNet's registered error types are
    kind = MXNetIndexError if isinstance(err, IndexError) else MXNetValueError
    return kind(f"Operator {prim.name} cannot be applied to inputs of shape {shapes}: {err}")


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

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """numpy on the left of an operator hands it back to us (``np_arr + x`` is ``x.__radd__``, so
        autograd sees it); other numpy functions (``np.all(x)``, ``np.exp(x)``) run on the values."""
        if method == "__call__" and len(inputs) == 2 and inputs[1] is self and not kwargs:
            reflected = _REFLECTED_UFUNCS.get(ufunc)
            if reflected is not None and not isinstance(inputs[0], NDArray):
                return getattr(self, reflected)(inputs[0])
        args = [x.asnumpy() if isinstance(x, NDArray) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.asnumpy() if isinstance(o, NDArray) else o for o in kwargs["out"])
        return getattr(ufunc, method)(*args, **kwargs)

    def __init__(self, data, ctx=_CPU0, node=None, oidx=0):
        self._data = data
        self._ctx = ctx
        self._node = node
        self._oidx = oidx

    # ----- properties -------------------------------------------------------------------
    # attrgetters, not Python getters: vjps and unbroadcast read shapes on every step, and a C getter
    # costs no Python frame
    shape = property(operator.attrgetter("_data.shape"), doc="The array's shape, a tuple of ints.")
    dtype = property(operator.attrgetter("_data.dtype.type"), doc="The element type (a numpy scalar type).")
    size = property(operator.attrgetter("_data.size"), doc="The number of elements.")
    ndim = property(operator.attrgetter("_data.ndim"), doc="The number of axes.")
    context = property(operator.attrgetter("_ctx"), doc="The device the array lives on.")

    ctx = context
    stype = "default"

    @property
    def T(self):
        return self if self.ndim < 2 else self.transpose()

    @property
    def grad(self):
        node = self._node
        return node.grad if type(node) is Variable else None

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

    def tostype(self, stype):
        """Storage conversion: only ``'default'`` (dense) exists in trainkit."""
        if stype != "default":
            raise MXNetError(f"tostype({stype!r}): trainkit has dense storage only ('default'); sparse storage "
                             "('csr', 'row_sparse') is not supported. Keep the array dense.")
        return self.copy()

    def as_nd_ndarray(self):
        return self

    def copy(self):
        from ..ops.shape import identity
        return identity(self)

    def __copy__(self):
        return self.copy()

    def copyto(self, other):
        """Copy into another NDArray (in place) or onto a Context (a new array)."""
        if isinstance(other, Context):
            return NDArray(_to_device(self._data, other), other)
        if not isinstance(other, NDArray):
            raise TypeError(f"copyto does not support type {type(other).__name__}: pass an NDArray or a Context.")
        if other.shape != self.shape:
            raise MXNetError(f"copyto: shape mismatch, source {self.shape} vs target {other.shape}; copy into an "
                             "array of the same shape.")
        if other is self:
            return other
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

    wait_to_write = wait_to_read

    def __repr__(self):
        shape = "x".join(str(n) for n in self.shape)
        return f"\n{self.asnumpy()}\n<{type(self).__name__} {shape} @{self._ctx}>"

    __str__ = __repr__

    def __reduce__(self):
        # pickling keeps the values, dtype and device, not the autograd graph (as MXNet)
        return _unpickle, (self.asnumpy(), self._ctx.device_type, self._ctx.device_id)

    def __getstate__(self):
        """MXNet's pickle state: ``{'handle': the array in MXNet's binary NDArray format}``."""
        from .. import serialization
        header, data = serialization._encode_array(self.asnumpy())
        return {"handle": bytearray(header + data.tobytes())}

    def __setstate__(self, state):
        """Load a state from ``__getstate__`` (trainkit's or MXNet's; a GPU array lands on the CPU)."""
        from .. import serialization
        raw = state.get("handle") if isinstance(state, dict) else None
        if raw is None:
            raise ValueError("__setstate__ needs {'handle': bytes} as written by NDArray.__getstate__.")
        values = serialization._read_array(serialization._Reader(bytes(raw), "NDArray state"), 0)
        self._data, self._ctx, self._node, self._oidx = values, _CPU0, None, 0

    def __len__(self):
        return self.shape[0]

    def __iter__(self):
        for i in range(self.shape[0]):
            yield self[i]

    def __bool__(self):
        size = self.size
        if size == 0:
            return False
        if size != 1:
            raise ValueError("The truth value of an NDArray with multiple elements is ambiguous.")
        return bool(self._data.reshape(()))

    def __float__(self):
        return float(self._data.reshape(()))

    def __int__(self):
        return int(self._data.reshape(()))

    def __index__(self):
        if self.size != 1 or not np.issubdtype(self._data.dtype, np.integer):
            raise TypeError("only integer NDArrays of one element can be used as an index")
        return int(self._data.reshape(()))

    __hash__ = object.__hash__

    # ----- autograd -----------------------------------------------------------------
    def attach_grad(self, grad_req="write", stype=None):
        """Mark this array as a variable: ``backward`` fills ``self.grad``."""
        if stype not in (None, "default"):
            raise MXNetError(f"attach_grad(stype={stype!r}): trainkit has dense gradients only.")
        grad = NDArray(self._ctx.xp.zeros_like(self._data), self._ctx)
        autograd.mark_variables(self, grad, grad_req)

    def backward(self, out_grad=None, retain_graph=False, train_mode=True):
        autograd.backward(self, out_grad, retain_graph, train_mode)

    # ----- indexing ---------------------------------------------------------------------
    def __getitem__(self, key):
        """MXNet 1.x indexing: as numpy's, but a single element is an array of shape (1,)."""
        from ..ops.shape import getitem, reshape
        if isinstance(key, tuple) and not key:
            return self
        out = getitem(self, numpy_key(key, self.shape))
        return reshape(out, (1,)) if out.ndim == 0 else out

    def __setitem__(self, key, value):
        """``x[key] = value``: value a number, NDArray, numpy array or list, broadcast to the selection."""
        self._check_writable()
        key = numpy_key(key, self.shape) if not (isinstance(key, tuple) and not key) else Ellipsis
        if isinstance(value, NDArray) and value._node is not None and autograd._mode.recording:
            # as MXNet: x[:] = y while recording makes x stand for y in the graph; a partial write
            # would mix recorded and unrecorded values, so it raises
            whole = key is Ellipsis or key is None or (isinstance(key, slice) and key == slice(None))
            if whole and value.shape == self.shape:
                self._data[...] = value._data
                self._node, self._oidx = value._node, value._oidx
                return
            raise MXNetError(_INPLACE_WHILE_RECORDING)
        if isinstance(value, NDArray):
            value = value._data if value._ctx.device_type == self._ctx.device_type else _to_device(
                value._data, self._ctx)
        elif not isinstance(value, numbers.Number):
            value = self._ctx.xp.asarray(value)
        if getattr(value, "ndim", 0) and value.size == 1:
            value = value.reshape(())  # a (1,) value fills one element, as MXNet's does
        try:
            self._data[key] = value
        except ValueError as err:
            raise ValueError(f"cannot assign a value of shape {getattr(value, 'shape', ())} to x[{key!r}] of an "
                             f"array of shape {self.shape}: {err}") from None

    @staticmethod
    def _basic_indexing_slice_is_contiguous(slc_key, shape):
        """Whether slicing an array of ``shape`` with ``slc_key`` (one slice per axis) gives a contiguous
        block (MXNet's helper; answered by numpy on a zero-cost strided view)."""
        strides = [1] * len(shape)
        for i in range(len(shape) - 2, -1, -1):
            strides[i] = strides[i + 1] * max(shape[i + 1], 1)
        fake = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), tuple(shape), tuple(strides))
        return bool(fake[tuple(slc_key)].flags.c_contiguous)

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

    def _inplace(self, ufunc, other):
        if autograd._mode.recording:  # checked inline: `p -= lr * p.grad` runs for every parameter, every step
            self._check_writable()
            if isinstance(other, NDArray) and other._node is not None:
                raise MXNetError(_INPLACE_WHILE_RECORDING)
        dtype = self._data.dtype
        if isinstance(other, NDArray):
            other = other._data
        if dtype.kind in "iu":
            other = np.asarray(other).astype(dtype) if not hasattr(other, "__cuda_array_interface__") \
                else other.astype(dtype)
            result = _INT_FUNCS.get(ufunc, ufunc)(self._data, other)
            self._data[...] = result
        else:
            ufunc(self._data, other, out=self._data, casting="unsafe")
        return self

    def __iadd__(self, other):
        return self._inplace(np.add, other)

    def __isub__(self, other):
        return self._inplace(np.subtract, other)

    def __imul__(self, other):
        return self._inplace(np.multiply, other)

    def __itruediv__(self, other):
        return self._inplace(np.divide, other)

    def __imod__(self, other):
        return self._inplace(np.mod, other)


_INPLACE_WHILE_RECORDING = (
    "Inplace operations (+=, -=, x[:]=, etc) are not supported when recording with autograd: the target "
    "would mix recorded and unrecorded values. Write y = x + v (or nd.where / nd.concat) instead, or do the "
    "write outside the record() block.")

_REFLECTED_UFUNCS = {np.add: "__radd__", np.subtract: "__rsub__", np.multiply: "__rmul__",
                     np.true_divide: "__rtruediv__", np.power: "__rpow__", np.remainder: "__rmod__",
                     np.equal: "__eq__", np.not_equal: "__ne__", np.greater: "__lt__", np.less: "__gt__",
                     np.greater_equal: "__le__", np.less_equal: "__ge__"}


def _unpickle(values, device_type, device_id):
    ctx = Context(device_type, device_id)
    return NDArray(_to_device(values, ctx) if device_type == "gpu" else values, ctx)


def _c_divide(a, b):
    """Integer division as MXNet's C kernels do it: truncated toward zero, x / 0 gives 0."""
    a, b = np.asarray(a), np.asarray(b)
    safe = np.where(b == 0, 1, b)
    q = np.floor_divide(a, safe)
    q = q + ((np.mod(a, safe) != 0) & ((a < 0) != (safe < 0)))
    return np.where(b == 0, 0, q)


def _c_mod(a, b):
    safe = np.where(np.asarray(b) == 0, 1, b)
    return np.where(np.asarray(b) == 0, 0, np.mod(a, safe))


_INT_FUNCS = {np.divide: _c_divide, np.mod: _c_mod}


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


# ----- creation functions live in creation.py; importable from here as before --------------------------
from .creation import (arange, array, empty, eye, from_numpy, full, linspace, ones, ones_like,  # noqa: E402,F401
                       waitall, zeros, zeros_like)


def split_v2(ary, indices_or_sections, axis=0, squeeze_axis=False):
    """Split ``ary`` along ``axis`` into equal sections (an int) or before each index (a tuple), as
    numpy's ``split``; ``squeeze_axis`` drops the axis when every part has size 1 there."""
    size = ary.shape[axis]
    if isinstance(indices_or_sections, numbers.Integral):
        n = int(indices_or_sections)
        if n <= 0 or size % n:
            raise ValueError(f"split_v2: axis {axis} of size {size} does not split into {n} equal sections.")
        bounds = tuple(range(size // n, size, size // n))
    else:
        bounds = tuple(int(i) for i in indices_or_sections)
    parts = list(_sh.split_at(ary, bounds, axis)) if bounds else [ary.copy()]
    if squeeze_axis:
        parts = [_sh.squeeze(p, axis) for p in parts]
    return parts if len(parts) > 1 else parts[0]


# ----- arithmetic dunders: MXNet's dtype rules, then the operators in trainkit.ops ---------------------------
from ..ops import elementwise as _ew, nn as _nn, shape as _sh  # noqa: E402


def _is_int(x):
    return x._data.dtype.kind in "iu"  # an attribute test: this runs on every arithmetic dunder


def _dunder(prims, int_fn, reflected=False):
    """``self (op) other``: integer arrays stay integer as in MXNet (a float scalar is cast to the array's
    type first, ``/`` truncates); everything else goes to the differentiable primitives ``prims``
    (array op, scalar op, reflected scalar op), as ``nd.add`` and friends do.

    The two common cases, a float array with another NDArray or with a Python float/int, are ``apply``
    written out inline: these run for every arithmetic step of a forward and of every vjp, and the two
    calls they save (``_binary``, ``apply``) are a third of such an operator's cost on small arrays.
    """
    binary = _ew._binary
    array_prim = prims[0]
    scalar_prim = prims[2] if reflected and len(prims) > 2 else prims[1]
    array_fwd, scalar_fwd = array_prim.forward, scalar_prim.forward
    array_rec, scalar_rec = array_prim.vjp is not None, scalar_prim.vjp is not None

    def method(self, other):
        data = self._data
        if data.dtype.kind not in "iu":
            cls = type(other)
            if cls is NDArray and not reflected:
                try:
                    out = array_fwd(data, other._data)
                except (ValueError, IndexError):
                    return apply(array_prim, self, other)  # raises the operator's error
                if _mode.recording and array_rec and (self._node is not None or other._node is not None):
                    return NDArray(out, self._ctx, OpNode(array_prim, (self, other), {}, out))
                return NDArray(out, self._ctx)
            if cls is float or cls is int:
                try:
                    out = scalar_fwd(data, scalar=other)
                except (ValueError, IndexError):
                    return apply(scalar_prim, self, scalar=other)
                if _mode.recording and scalar_rec and self._node is not None:
                    return NDArray(out, self._ctx, OpNode(scalar_prim, (self,), {"scalar": other}, out))
                return NDArray(out, self._ctx)
        elif isinstance(other, numbers.Number) or (isinstance(other, NDArray) and _is_int(other)):
            dtype = data.dtype
            b = other._data if isinstance(other, NDArray) else np.asarray(other).astype(dtype)
            a, b = (b, data) if reflected else (data, b)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                return NDArray(np.asarray(int_fn(a, b)).astype(dtype, copy=False), self._ctx)
        if other is None:
            return NotImplemented
        return binary(other, self, *prims) if reflected else binary(self, other, *prims)
    return method


from ..ops import binary as _binary_ops  # noqa: E402

_ADD = (_ew.BROADCAST_ADD, _ew.PLUS_SCALAR)
_SUB = (_ew.BROADCAST_SUB, _ew.MINUS_SCALAR, _ew.RMINUS_SCALAR)
_MUL = (_ew.BROADCAST_MUL, _ew.MUL_SCALAR)
_DIV = (_ew.BROADCAST_DIV, _ew.DIV_SCALAR, _ew.RDIV_SCALAR)
_MOD = (_binary_ops.BROADCAST_MOD, _binary_ops.MOD_SCALAR, _binary_ops.RMOD_SCALAR)
_POW = (_ew.BROADCAST_POWER, _ew.POWER_SCALAR, _ew.RPOWER_SCALAR)
NDArray.__add__ = NDArray.__radd__ = _dunder(_ADD, np.add)
NDArray.__sub__, NDArray.__rsub__ = _dunder(_SUB, np.subtract), _dunder(_SUB, np.subtract, True)
NDArray.__mul__ = NDArray.__rmul__ = _dunder(_MUL, np.multiply)
NDArray.__truediv__, NDArray.__rtruediv__ = _dunder(_DIV, _c_divide), _dunder(_DIV, _c_divide, True)
NDArray.__div__, NDArray.__rdiv__ = NDArray.__truediv__, NDArray.__rtruediv__
NDArray.__mod__, NDArray.__rmod__ = _dunder(_MOD, _c_mod), _dunder(_MOD, _c_mod, True)
NDArray.__pow__, NDArray.__rpow__ = _dunder(_POW, np.power), _dunder(_POW, np.power, True)
NDArray.__matmul__ = _nn.dot
NDArray.__neg__ = _ew.negative
NDArray.__abs__ = _ew.abs


def _compare(op, when_none):
    def method(self, other):
        if other is None:
            return when_none
        return op(self, other)
    return method


NDArray.__eq__, NDArray.__ne__ = _compare(_ew.equal, False), _compare(_ew.not_equal, True)
NDArray.__gt__, NDArray.__ge__ = _ew.greater, _ew.greater_equal
NDArray.__lt__, NDArray.__le__ = _ew.lesser, _ew.lesser_equal


# ----- fluent methods ---------------------------------------------------------------------------------------
# MXNet 1.9.1's NDArray methods that call the operator of the same name with the array first. Each is
# attached from mx.nd once the operator table is exported (install_fluent_methods), so an operator any
# module registers becomes a method too; names registered later are found through _LateFluent.
FLUENT_METHODS = frozenset("""
abs arccos arccosh arcsin arcsinh arctan arctanh argmax argmax_channel argmin argsort broadcast_axes
broadcast_like broadcast_to cbrt ceil clip cos cosh degrees depth_to_space diag exp expand_dims expm1 fix
flatten flip floor log log10 log1p log2 log_softmax max mean min nanprod nansum norm one_hot ones_like pad
pick prod radians rcbrt reciprocal relu repeat reshape_like rint round rsqrt shape_array sigmoid sign sin
sinh size_array slice slice_axis slice_like softmax softmin sort space_to_depth split split_v2 sqrt square
squeeze sum swapaxes take tan tanh tile topk transpose trunc zeros_like dot softrelu softsign
""".split())


class _LateFluent:
    """A fluent method whose operator is not registered yet: found in ``mx.nd`` when it is used.

    A class attribute rather than ``NDArray.__getattr__``: a class that defines ``__getattr__``
    sends every attribute read of its instances (``x._data`` on every operator call) down
    CPython's unspecialised path, which cost about 8% of a small recorded op.
    """

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __get__(self, obj, cls=None):
        from .. import ndarray as nd
        fn = getattr(nd, self.name, None)
        if fn is None or not callable(fn):
            raise AttributeError(f"'NDArray' object has no attribute {self.name!r}")
        return fn if obj is None else functools.partial(fn, obj)


def install_fluent_methods(namespace):
    """Attach every fluent method whose operator exists in ``namespace`` (mx.nd's) and the class lacks;
    the others are looked up when used, so an operator module registered later still adds its method."""
    for name in FLUENT_METHODS:
        fn = namespace.get(name)
        current = NDArray.__dict__.get(name)
        if current is not None and not isinstance(current, _LateFluent):
            continue
        if fn is not None and callable(fn):
            setattr(NDArray, name, fn)
        elif current is None:
            setattr(NDArray, name, _LateFluent(name))


def _reshape_method(self, *shape, **kwargs):
    """``x.reshape(2, 3)``, ``x.reshape((2, -1))``, ``x.reshape(shape=..., reverse=...)``: every MXNet code."""
    unknown = [k for k in kwargs if k not in ("shape", "reverse")]
    if unknown:
        raise TypeError(f"Got unknown keywords in reshape: {', '.join(unknown)}. Accepted keyword arguments are "
                        "'shape' and 'reverse'.")
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = shape[0]
    elif not shape:
        shape = kwargs.get("shape")
        if not shape:
            raise AssertionError("Shape must be provided.")
    new = resolve_reshape(self.shape, shape, kwargs.get("reverse", False))
    if math.prod(new) != self.size:
        raise ValueError(f"Cannot reshape array of size {self.size} into shape {tuple(shape)}")
    return _sh.reshape(self, new)


def _transpose_method(self, *axes, **kwargs):
    if len(axes) == 1 and not isinstance(axes[0], int):
        axes = axes[0]
    return _sh.transpose(self, axes or kwargs.get("axes") or None)


def _own(out, source):
    """``out`` with its own memory: MXNet's operators return new arrays, only ``inplace=True`` gives views."""
    if out is source:
        return source.copy()
    if isinstance(out._data, np.ndarray) and np.may_share_memory(out._data, source._data):
        return NDArray(out._data.copy(), out._ctx, out._node, out._oidx)
    return out


def _flatten_method(self, inplace=False):
    if inplace:
        return _sh.reshape(self, resolve_reshape(self.shape, (0, -1)))
    return _own(_sh.flatten(self), self)


def _expand_dims_method(self, axis, inplace=False):
    if inplace:
        axis = axis % (self.ndim + 1)
        return _sh.reshape(self, self.shape[:axis] + (1,) + self.shape[axis:])
    return _own(_sh.expand_dims(self, axis), self)


def _squeeze_method(self, axis=None, inplace=False):
    if inplace:
        shape = np.empty(self.shape, dtype=[]).squeeze(axis).shape if self.size else None
        if shape is None:
            return _own(_sh.squeeze(self, axis), self)
        return _sh.reshape(self, shape or (1,))
    return _own(_sh.squeeze(self, axis), self)


def _broadcast_to_method(self, shape):
    return _sh.broadcast_to(self, shape)


NDArray.split_v2 = split_v2
NDArray.reshape = _reshape_method
NDArray.transpose = _transpose_method
NDArray.flatten = _flatten_method
NDArray.expand_dims = _expand_dims_method
NDArray.squeeze = _squeeze_method
NDArray.broadcast_to = _broadcast_to_method
NDArray.zeros_like = lambda self, *args, **kwargs: zeros_like(self, *args, **kwargs)
NDArray.ones_like = lambda self, *args, **kwargs: ones_like(self, *args, **kwargs)
