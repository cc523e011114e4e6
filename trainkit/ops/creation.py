"""Creation operators with no array inputs (MXNet's ``_zeros``, ``_ones``, ``_full``, ``_arange``,
``_eye``, ``_linspace``), and ``zeros_like``/``ones_like`` as operators.

They give ``mx.sym.zeros(shape)`` & co. their symbol form (a node with no inputs whose
shape and dtype come from its attributes), and ``mx.nd.eye``/``linspace``.
The ``mx.nd.zeros``/``ones``/``full``/``arange`` functions themselves live in ``ndarray.py``.
"""
import numpy as np

from .core import primitive
from .table import operator
from ..context import current_context
from ..ndarray.ndarray import NDArray, _to_device, apply


def _shape(shape):
    if shape is None:
        return ()
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


def _made(data, ctx):
    ctx = ctx or current_context()
    return NDArray(_to_device(data, ctx) if ctx.device_type == "gpu" else data, ctx)


@operator((), aliases=("zeros",), hint="_zeros")
def _zeros(shape=(), ctx=None, dtype="float32", name=None):
    return _made(np.zeros(_shape(shape), np.dtype(dtype or "float32")), ctx)


@operator((), aliases=("ones",), hint="_ones")
def _ones(shape=(), ctx=None, dtype="float32", name=None):
    return _made(np.ones(_shape(shape), np.dtype(dtype or "float32")), ctx)


@operator((), aliases=("full",), hint="_full")
def _full(shape=(), value=0.0, ctx=None, dtype="float32", name=None):
    return _made(np.full(_shape(shape), value, np.dtype(dtype or "float32")), ctx)


@operator((), aliases=("arange",), hint="_arange")
def _arange(start=0.0, stop=None, step=1.0, repeat=1, infer_range=False, ctx=None, dtype="float32", name=None):
    from ..ndarray.creation import arange_values
    if stop is None:
        start, stop = 0.0, start
    data = arange_values(float(start), float(stop), float(step), dtype)
    if int(repeat) != 1:
        data = np.repeat(data, int(repeat))
    return _made(data, ctx)


@operator((), aliases=("eye",), hint="_eye")
def _eye(N, M=0, k=0, ctx=None, dtype="float32", name=None):
    """An ``N x M`` matrix (``M=0`` means ``N``) with ones on the ``k``-th diagonal."""
    return _made(np.eye(int(N), int(M) or None, int(k), dtype=np.dtype(dtype or "float32")), ctx)


@operator((), aliases=("linspace",), hint="_linspace")
def _linspace(start, stop, num, endpoint=True, ctx=None, dtype="float32", name=None):
    return _made(np.linspace(start, stop, int(num), endpoint=bool(endpoint)).astype(np.dtype(dtype or "float32")),
                 ctx)


# zeros_like/ones_like: operators with an input and no gradient (the input's values are unused)
ZEROS_LIKE = primitive("zeros_like", lambda x: np.zeros_like(x), None)
ONES_LIKE = primitive("ones_like", lambda x: np.ones_like(x), None)


@operator()
def zeros_like(data, name=None):
    """Zeros of ``data``'s shape, dtype and context."""
    return apply(ZEROS_LIKE, data)


@operator()
def ones_like(data, name=None):
    """Ones of ``data``'s shape, dtype and context."""
    return apply(ONES_LIKE, data)
