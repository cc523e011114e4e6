"""Gathering by index: the one primitive pair behind gather_nd, scatter_nd, topk, sort,
batch_take, the Sequence* operators and pad's edge/reflect modes.

``take_flat(x, idx)`` reads ``x.reshape(-1)[idx]`` (``idx`` a numpy integer array of the
output's shape). Its gradient adds ``g`` back at those positions (``put_flat``), and
that one's gradient is ``take_flat`` again, so every order of derivative works and
repeated indices accumulate as they must.
"""
import numpy as np

from .core import primitive
from ..ndarray.ndarray import NDArray, apply


def _put_flat_fwd(g, idx, size):
    flat = np.bincount(idx.reshape(-1), weights=g.reshape(-1).astype(np.float64), minlength=size)
    return flat.astype(g.dtype)


TAKE_FLAT = primitive("_take_flat", lambda x, idx, shape: x.reshape(-1)[idx],
                      lambda g, out, x, idx, shape: (put_flat(g, idx, x.shape),))
PUT_FLAT = primitive("_put_flat", lambda g, idx, shape: _put_flat_fwd(g, idx, int(np.prod(shape))).reshape(shape),
                     lambda gg, out, g, idx, shape: (take_flat(gg, idx),))


def take_flat(x, idx):
    """``x.reshape(-1)[idx]`` for a numpy integer index array, differentiable in ``x``."""
    return apply(TAKE_FLAT, x, idx=np.asarray(idx, dtype=np.int64), shape=tuple(idx.shape))


def put_flat(g, idx, shape):
    """Zeros of ``shape`` with ``g`` added at the flat positions ``idx`` (the adjoint of take_flat)."""
    return apply(PUT_FLAT, g, idx=np.asarray(idx, dtype=np.int64), shape=tuple(shape))


def flat_index(shape, coords):
    """Flat positions in an array of ``shape`` for a tuple of broadcastable coordinate arrays (one per axis)."""
    strides = np.cumprod((1,) + tuple(shape[::-1]))[:-1][::-1]
    flat = 0
    for c, s in zip(coords, strides):
        flat = flat + np.asarray(c, dtype=np.int64) * int(s)
    return np.asarray(flat, dtype=np.int64)


def along_axis_index(shape, idx, axis):
    """Flat positions for ``np.take_along_axis(x, idx, axis)`` on an array of ``shape``."""
    grids = list(np.indices(idx.shape, sparse=True))
    grids[axis] = idx
    return np.broadcast_to(flat_index(shape, grids), idx.shape)


def take_along_axis(x, idx, axis):
    return take_flat(x, along_axis_index(x.shape, np.asarray(idx, dtype=np.int64), axis))


def index_array(data):
    """An NDArray or array-like of indices as a numpy int64 array (MXNet takes float indices too)."""
    raw = data.asnumpy() if isinstance(data, NDArray) else np.asarray(data)
    return raw.astype(np.int64)
