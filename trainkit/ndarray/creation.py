"""Array creation as MXNet 1.x's ``mx.nd`` has it: ``array``, ``zeros``, ``ones``, ``empty``, ``full``,
``arange``, ``linspace``, ``eye``, ``*_like``, ``from_numpy``.

MXNet's dtype rules: the default is float32 for everything, numpy input included
(``nd.array(np.arange(3))`` is float32); an NDArray source keeps its dtype.
``out=`` writes into an existing array and returns it. Only dense storage exists:
``stype`` other than ``'default'`` raises.
"""
import ctypes
import numbers

import numpy as np

from ..base import MXNetError
from ..context import current_context


def _shape(shape):
    if isinstance(shape, (numbers.Integral, np.integer)):
        return (int(shape),)
    return tuple(int(n) for n in shape)


def _dense(stype, fn):
    if stype not in (None, "default"):
        raise MXNetError(f"{fn}(stype={stype!r}): trainkit has dense storage only ('default'); sparse arrays "
                         "('csr', 'row_sparse') are not supported.")


def _finish(data, ctx, out=None):
    """An NDArray of ``data`` (numpy) on ``ctx``, or ``data`` written into ``out``."""
    from .ndarray import NDArray, _to_device
    if out is not None:
        if not isinstance(out, NDArray):
            raise TypeError(f"out= must be an NDArray, got {type(out).__name__}.")
        if out.shape != data.shape:
            raise MXNetError(f"out= has shape {out.shape} but the result has shape {data.shape}; pass an array "
                             "of the result's shape.")
        out._write(_to_device(data, out._ctx) if out._ctx.device_type == "gpu" else data)
        return out
    ctx = ctx or current_context()
    return NDArray(_to_device(data, ctx) if ctx.device_type == "gpu" else data, ctx)


def array(source_array, ctx=None, dtype=None):
    """A new NDArray from a list, number, numpy array or NDArray (float32 unless ``dtype`` says otherwise;
    an NDArray source keeps its dtype)."""
    from .ndarray import NDArray
    if isinstance(source_array, NDArray):
        dtype = dtype or source_array._data.dtype
        source_array = source_array.asnumpy()
    elif hasattr(source_array, "asnumpy") and not isinstance(source_array, np.ndarray):
        source_array = source_array.asnumpy()
    try:
        data = np.array(source_array, dtype=dtype or np.float32)
    except (TypeError, ValueError) as err:
        raise TypeError(f"source_array must be array like object (a list, number or numpy array of numbers), "
                        f"got {type(source_array).__name__}: {err}") from None
    return _finish(data, ctx)


def _made(maker, shape, ctx, dtype, out, *args):
    dtype = np.dtype(dtype or (out.dtype if out is not None else np.float32))
    return _finish(getattr(np, maker)(_shape(shape), *args, dtype=dtype), ctx, out)


def zeros(shape, ctx=None, dtype=None, stype=None, out=None, **kwargs):
    _dense(stype, "zeros")
    return _made("zeros", shape, ctx, dtype, out)


def ones(shape, ctx=None, dtype=None, stype=None, out=None, **kwargs):
    _dense(stype, "ones")
    return _made("ones", shape, ctx, dtype, out)


def empty(shape, ctx=None, dtype=None, stype=None, out=None):
    """An array of ``shape`` (zero-filled: uninitialised memory would only make runs irreproducible)."""
    _dense(stype, "empty")
    return _made("zeros", shape, ctx, dtype, out)


def full(shape, val, ctx=None, dtype=None, out=None, **kwargs):
    return _made("full", shape, ctx, dtype, out, val)


def zeros_like(data, out=None, name=None, **kwargs):
    from .ndarray import NDArray
    result = NDArray(data._ctx.xp.zeros_like(data._data), data._ctx)
    return result if out is None else _copy_into(result, out)


def ones_like(data, out=None, name=None, **kwargs):
    from .ndarray import NDArray
    result = NDArray(data._ctx.xp.ones_like(data._data), data._ctx)
    return result if out is None else _copy_into(result, out)


def _copy_into(result, out):
    if out.shape != result.shape:
        raise MXNetError(f"out= has shape {out.shape} but the result has shape {result.shape}.")
    out._write(result._data)
    return out


def arange(start, stop=None, step=1.0, repeat=1, infer_range=None, ctx=None, dtype=None, out=None, **kwargs):
    """``start, start+step, ...`` below ``stop`` (float32 by default), each value ``repeat`` times."""
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise MXNetError("arange: step must not be 0.")
    data = arange_values(start, stop, step, dtype)
    if int(repeat) != 1:
        data = np.repeat(data, int(repeat))
    return _finish(data, ctx, out)


def arange_values(start, stop, step, dtype):
    """MXNet's arange values: the count in double precision, then ``DType(start) + i * DType(step)`` in the
    output type (integer types truncate start and step first: ``arange(1.3, 456.6, 1.3, dtype=int32)`` is
    1, 2, ..., 351, as MXNet and numpy give; uint8 wraps)."""
    dtype = np.dtype(dtype or np.float32)
    n = max(int(np.ceil((stop - start) / step)), 0)
    if dtype.kind in "iub":
        return (int(start) + np.arange(n, dtype=np.int64) * int(step)).astype(dtype)
    return dtype.type(start) + np.arange(n).astype(dtype) * dtype.type(step)


def linspace(start, stop, num, endpoint=True, ctx=None, dtype=None, out=None, **kwargs):
    data = np.linspace(start, stop, int(num), endpoint=endpoint, dtype=np.float64).astype(dtype or np.float32)
    return _finish(data, ctx, out)


def eye(N, M=0, k=0, ctx=None, dtype=None, out=None, **kwargs):
    """A 2-D array with ones on diagonal ``k`` (``M=0`` means square)."""
    return _finish(np.eye(int(N), int(M) or None, int(k), dtype=dtype or np.float32), ctx, out)


def from_numpy(ndarray, zero_copy=True, **kwargs):
    """An NDArray over a numpy array. With ``zero_copy`` it shares the array's memory, as MXNet's does:
    the array must be C-contiguous (else ``ValueError``) and becomes read-only, so that only the NDArray
    writes to it."""
    from .ndarray import NDArray
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy needs a numpy.ndarray, got {type(ndarray).__name__}.")
    if not zero_copy:
        return NDArray(np.array(ndarray), current_context())
    if not ndarray.flags.c_contiguous:
        raise ValueError("from_numpy(zero_copy=True) needs a C-contiguous array; pass "
                         "np.ascontiguousarray(a) or zero_copy=False.")
    ndarray.flags.writeable = False
    return NDArray(_writable_alias(ndarray), current_context())


def _writable_alias(frozen):
    """A writable array over ``frozen``'s memory (which the NDArray alone may write), keeping it alive."""
    if frozen.nbytes == 0:
        return np.array(frozen)
    buf = (ctypes.c_char * frozen.nbytes).from_address(frozen.ctypes.data)
    buf._owner = frozen   # the memory lives as long as the alias
    return np.frombuffer(buf, frozen.dtype).reshape(frozen.shape)


def waitall():
    """trainkit computes eagerly: nothing to wait for."""
