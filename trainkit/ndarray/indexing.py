"""MXNet 1.x indexing keys: which keys are allowed, and their numpy form.

Basic indexing (ints, slices with steps, ``None``, ``Ellipsis``) and advanced
indexing (integer NDArrays, numpy arrays, lists) work as in numpy, with MXNet 1.x's
differences, which ``NDArray.__getitem__`` applies: a result that would be 0-d is
shape ``(1,)``; float keys and boolean masks raise ``ValueError`` (MXNet's legacy
mode has no boolean indexing); an int out of range raises ``IndexError`` with
numpy's message, as MXNet does.
"""
import numbers

import numpy as np


def numpy_key(key, shape):
    """``key`` with NDArrays turned into integer backend arrays, after MXNet's checks."""
    from .ndarray import NDArray
    parts = key if isinstance(key, tuple) else (key,)
    out = []
    for k in parts:
        if isinstance(k, NDArray):
            if k._data.dtype == np.bool_:
                raise ValueError(_BOOL_MESSAGE)
            k = k._data.astype(np.int64)
        elif isinstance(k, np.ndarray):
            if k.dtype == np.bool_:
                raise ValueError(_BOOL_MESSAGE)
            if not np.issubdtype(k.dtype, np.integer):
                k = k.astype(np.int64)
        elif isinstance(k, (list, range)) or (isinstance(k, tuple) and isinstance(key, tuple)):
            k = _list_key(k)   # a sequence inside a tuple key is an integer array, as in numpy
        elif isinstance(k, (bool, np.bool_)) or not (
                isinstance(k, (numbers.Integral, slice)) or k is None or k is Ellipsis):
            raise ValueError(f"NDArray does not support slicing with key {k} of type {type(k)}.")
        elif isinstance(k, numbers.Integral):
            k = int(k)
        elif isinstance(k, slice) and k.step == 0:
            raise ValueError("slice step cannot be zero")
        out.append(k)
    _check_int_bounds(out, shape)
    return tuple(out) if isinstance(key, tuple) else out[0]


_BOOL_MESSAGE = ("Cannot perform boolean indexing in legacy mode (MXNet 1.x's mx.nd has none). Index with the "
                 "positions instead, e.g. x[mx.nd.array(np.flatnonzero(mask))], or use mx.nd.where / "
                 "contrib.boolean_mask.")


def _list_key(k):
    from .ndarray import NDArray
    values = [v.asnumpy() if isinstance(v, NDArray) else v for v in k]
    arr = np.asarray(values)
    if arr.dtype == np.bool_:
        raise ValueError(_BOOL_MESSAGE)
    return arr.astype(np.int64) if arr.size or arr.dtype != np.int64 else arr


def _check_int_bounds(parts, shape):
    """IndexError for an int past its axis (numpy's message, which MXNet's matches)."""
    used = sum(1 for k in parts if k is not None and k is not Ellipsis)
    if used > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, but {used} were indexed")
    axis = 0
    for k in parts:
        if k is Ellipsis:
            axis += len(shape) - used
        elif k is None:
            continue
        else:
            if isinstance(k, int) and not -shape[axis] <= k < shape[axis]:
                raise IndexError(f"index {k} is out of bounds for axis {axis} with size {shape[axis]}")
            axis += 1

