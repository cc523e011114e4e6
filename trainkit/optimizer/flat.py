"""Small arrays updated as one (what MXNet's ``multi_sgd_mom_update`` does in one kernel for several weights).

An elementwise update of a layer's small weights costs one numpy call per operation and array, most of it
call overhead. Moved into one buffer that they then view (``Chunk``), a chunk of weights and their
optimizer states take one call per operation for the whole chunk; the values are the per-array ones, bit
for bit (the same operations on every element). An array is moved only when nothing else holds it (no view
of it, no other reference), so nobody is left reading memory the update no longer writes; a chunk whose
arrays were replaced since (``set_states``, a new binding) is made again. ``Chunk.serves`` checks a call's
arrays in one pass, so the update needs no other per-array check.
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


class Chunk:
    """An optimizer's chunk: its weights, and their states (one array per weight, or None: no state), each list
    moved into one buffer (``buffers``: the two, or None when either list could not be moved)."""

    __slots__ = ("weights", "states", "buffers")

    def __init__(self, weights, states):
        w = _group(weights)
        s = _group(states) if states[0] is not None else None
        self.weights, self.states = w.views, None if s is None else s.views
        self.buffers = None
        if w.buffer is not None and (s is None or s.buffer is not None):
            self.buffers = (w.buffer, None if s is None else s.buffer)

    def serves(self, weights, grads, states, recording):
        """Whether an update of ``weights`` from ``grads`` may use this chunk as it is, all checked in one pass:
        the same weight and state arrays, gradients of the weights' shapes, no weight recorded."""
        views, state_views = self.weights, self.states
        if len(weights) != len(views) or len(grads) != len(views) or len(states) != len(views):
            return False
        # only the chunk's NDArrays hold its views, so `is` checks their type too; what has no _data (None, a
        # numpy array) ends the pass, and the per-pair checks then say what is wrong
        try:
            if state_views is None:
                for w, g, s, view in zip(weights, grads, states, views):
                    if w._data is not view or s is not None or g._data.shape != view.shape:
                        return False
            else:
                for w, g, s, view, state_view in zip(weights, grads, states, views, state_views):
                    if w._data is not view or s._data is not state_view or g._data.shape != view.shape:
                        return False
        except AttributeError:
            return False
        if recording:
            for w in weights:
                if w._node is not None:
                    return False
        return True


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
