"""Small arrays updated as one (what MXNet's ``multi_sgd_mom_update`` does in one kernel for several weights).

An elementwise update of a layer's small weights costs one numpy call per operation and array, most of it
call overhead. Moved into one buffer that they then view (``FlatGroup``), a chunk of weights and their
optimizer states take one call per operation for the whole chunk; the values are the per-array ones, bit
for bit (the same operations on every element). An array is moved only when nothing else holds it (no view
of it, no other reference), so nobody is left reading memory the update no longer writes; a group whose
arrays were replaced since (``set_states``, a new binding) is made again.
"""
import sys

import numpy as np

from ..ndarray.ndarray import NDArray

SMALL = 1 << 15  # elements in all: above this the call overhead is noise and the gradients' copy is not


class FlatGroup:
    """``arrays``' backend arrays as views of ``buffer`` (None when they could not be moved)."""

    __slots__ = ("views", "buffer")

    def __init__(self, views, buffer):
        self.views, self.buffer = views, buffer

    def holds(self, arrays):
        """Whether ``arrays`` still have the backend arrays this group made (or refused)."""
        views = self.views
        if len(arrays) != len(views):
            return False
        for a, view in zip(arrays, views):
            if a._data is not view:
                return False
        return True


def buffer(groups, key, arrays):
    """The one buffer ``arrays`` (NDArrays) view, moving them there the first time; None when they cannot
    share one (another dtype, not numpy, too large, or something else holds one of them)."""
    group = groups.get(key)
    if group is None or not group.holds(arrays):
        group = groups[key] = _group(arrays)
    return group.buffer


def _references(arrays):
    """Each backend array's reference count, as this function sees it."""
    return [sys.getrefcount(a._data) for a in arrays]


# what _references counts for an array that only its NDArray holds (measured: interpreters count differently)
_ALONE = _references([NDArray(np.empty(1))])[0]


def _group(arrays):
    counts = _references(arrays)
    datas = [a._data for a in arrays]
    refused = FlatGroup(datas, None)
    dtype = getattr(datas[0], "dtype", None)
    for d, count in zip(datas, counts):
        if type(d) is not np.ndarray or d.dtype != dtype or d.base is not None or count > _ALONE:
            return refused
    size = sum(d.size for d in datas)
    if size > SMALL:
        return refused
    flat = np.empty(size, dtype)
    views, start = [], 0
    for a, d in zip(arrays, datas):
        view = flat[start:start + d.size].reshape(d.shape)
        view[...] = d
        a._data = view
        views.append(view)
        start += d.size
    return FlatGroup(views, flat)
