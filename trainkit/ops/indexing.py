"""Indexing operators: gather_nd, scatter_nd, batch_take, topk, sort, argsort, the
Sequence* operators, ravel/unravel, and the legacy 0-index helpers.

Values move through ``gather.take_flat`` (differentiable to any order); index
outputs are constants, as in MXNet (float32 unless ``dtype`` says otherwise).
"""
import numpy as np

from . import gather
from .core import primitive
from .table import nd_function, operator
from ..base import MXNetError
from ..ndarray.ndarray import NDArray, apply


def _nd(data, like):
    return NDArray(like._ctx.xp.asarray(data), like._ctx)


# ----- gather_nd / scatter_nd ------------------------------------------------------------------------
def _nd_positions(shape, idx):
    """Flat positions of ``x[tuple(idx)]`` for ``idx`` of shape (M, ...), each entry an x[:M] coordinate."""
    m = idx.shape[0]
    if m > len(shape):
        raise MXNetError(f"gather_nd: indices address {m} axes but data has only {len(shape)} (shape {shape}).")
    inner = shape[m:]
    lead = [np.asarray(i).reshape(i.shape + (1,) * len(inner)) for i in idx]
    rest = list(np.indices(inner, sparse=True)) if inner else []
    rest = [r.reshape((1,) * (idx.ndim - 1) + r.shape) for r in rest]
    for axis, (c, n) in enumerate(zip(lead, shape)):
        if c.size and (c.min() < -n or c.max() >= n):
            bad = c.max() if c.max() >= n else c.min()
            raise IndexError(f"gather_nd: index {int(bad)} is out of bounds for axis {axis} with size {n}.")
    coords = [np.where(c < 0, c + n, c) for c, n in zip(lead, shape)] + rest
    out_shape = idx.shape[1:] + tuple(inner)
    return np.broadcast_to(gather.flat_index(shape, coords), out_shape)


@operator(("data", "indices"))
def gather_nd(data, indices, name=None):
    """``out[y...] = data[indices[0, y...], indices[1, y...], ...]``: indices has shape (M, ...)."""
    idx = gather.index_array(indices)
    return gather.take_flat(data, _nd_positions(data.shape, idx))


SCATTER_ND = primitive("scatter_nd", lambda d, pos, shape: _scatter_fwd(d, pos, shape),
                       lambda g, out, d, pos, shape: (gather.take_flat(g, pos),))


def _scatter_fwd(d, pos, shape):
    out = np.zeros(int(np.prod(shape)), d.dtype)
    out[pos.reshape(-1)] = d.reshape(-1)  # duplicates: one of them wins, as MXNet leaves it undefined
    return out.reshape(shape)


@operator(("data", "indices"))
def scatter_nd(data, indices, shape, name=None):
    """Zeros of ``shape`` with ``data`` written at ``indices`` (the inverse of gather_nd)."""
    shape = tuple(int(s) for s in shape)
    pos = _nd_positions(shape, gather.index_array(indices))
    return apply(SCATTER_ND, data, pos=np.ascontiguousarray(pos), shape=shape)


# ----- picking one element per row -----------------------------------------------------------------
def _row_pick(a, indices):
    if a.ndim != 2:
        a = a.reshape((-1, a.shape[-1]))
    idx = np.clip(gather.index_array(indices).reshape(-1), 0, a.shape[1] - 1)
    return gather.take_flat(a, np.arange(a.shape[0]) * a.shape[1] + idx)


@operator(("a", "indices"))
def batch_take(a, indices, name=None):
    """``out[i] = a[i, indices[i]]`` (deprecated in MXNet in favour of pick)."""
    return _row_pick(a, indices)


@operator(("lhs", "rhs"))
def choose_element_0index(lhs, rhs, name=None):
    """``out[i] = lhs[i, rhs[i]]`` (MXNet's legacy name for pick along axis 1)."""
    return _row_pick(lhs, rhs)


@operator(("lhs", "mhs", "rhs"))
def fill_element_0index(lhs, mhs, rhs, name=None):
    """``lhs`` with ``lhs[i, rhs[i]]`` replaced by ``mhs[i]``."""
    from .shape import expand_dims
    mask = np.zeros(lhs.shape, lhs._data.dtype)
    mask[np.arange(lhs.shape[0]), gather.index_array(rhs).reshape(-1)] = 1
    mask = _nd(mask, lhs)
    return lhs * (1 - mask) + expand_dims(mhs, 1) * mask


# ----- sorting ----------------------------------------------------------------------------------------
def _sort_key(x, is_ascend):
    data = x.asnumpy()
    if is_ascend:
        return data
    return -(data.astype(np.int64) if data.dtype.kind == "u" else data)


def _order(x, axis, is_ascend):
    return np.argsort(_sort_key(x, is_ascend), axis=axis, kind="stable")


def _top_positions(x, axis, k, is_ascend):
    """Positions of the k first elements in sorted order along ``axis``: a partition, then a sort of k
    (a full sort of MXNet's 100 x 300096 test matrix takes seconds; this takes a fraction)."""
    key = _sort_key(x, is_ascend)
    if k >= key.shape[axis]:
        return np.argsort(key, axis=axis, kind="stable")
    part = np.take(np.argpartition(key, k - 1, axis=axis), np.arange(k), axis=axis)
    order = np.argsort(np.take_along_axis(key, part, axis), axis=axis, kind="stable")
    return np.take_along_axis(part, order, axis)


def _flat_axis(data, axis):
    if axis is None:
        return data.reshape((-1,)), 0
    return data, axis % data.ndim


def _topk_outputs(p):
    return 2 if p["ret_typ"] == "both" else 1


def _along_axis_shape(shape, axis, size=None):
    """The shape of a sort along ``axis`` (None: the flattened array) keeping ``size`` elements there."""
    if axis is None:
        shape, axis = (int(np.prod(shape)),), 0
    shape = list(shape)
    axis %= len(shape)
    if size is not None:
        shape[axis] = size
    return tuple(shape)


def _topk_infer(attrs, in_shapes):
    # a shape rule, so binding a symbol does not sort zeros of the full input shape
    data = in_shapes[0]
    n = _topk_outputs(attrs)
    if data is None:
        return in_shapes, [None] * n
    if attrs["ret_typ"] == "mask":
        return in_shapes, [tuple(data)]
    k = int(attrs["k"])
    size = _along_axis_shape(data, attrs["axis"])[attrs["axis"] % len(data) if attrs["axis"] is not None else 0]
    return in_shapes, [_along_axis_shape(data, attrs["axis"], k if 0 < k <= size else size)] * n


def _sort_infer(attrs, in_shapes):
    data = in_shapes[0]
    return in_shapes, [None if data is None else _along_axis_shape(data, attrs["axis"])]


@operator(num_outputs=_topk_outputs, infer=_topk_infer,
          total_outputs=lambda p: 1 if p["ret_typ"] in ("indices", "mask") else 2)
def topk(data, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32", name=None):
    """The ``k`` largest (or smallest) along ``axis`` (``None``: the flattened array).

    ``ret_typ``: ``'value'``, ``'indices'``, ``'mask'`` (1 at the chosen places) or ``'both'``
    (``[value, indices]``).
    """
    if ret_typ not in ("value", "indices", "mask", "both"):
        raise ValueError(f"topk: ret_typ must be 'value', 'indices', 'mask' or 'both', got {ret_typ!r}.")
    x, ax = _flat_axis(data, axis)
    k = int(k)
    n = x.shape[ax]
    if k <= 0 or k > n:
        k = n if k <= 0 else k
        if k > n:
            raise MXNetError(f"topk: k={k} is larger than the {n} elements along axis {axis}.")
    idx = _top_positions(x, ax, k, is_ascend)
    if ret_typ == "mask":
        mask = np.zeros(x.shape, x._data.dtype)
        np.put_along_axis(mask, idx, 1, axis=ax)
        return _nd(mask.reshape(data.shape), data)
    indices = _nd(idx.astype(np.dtype(dtype)), data)
    if ret_typ == "indices":
        return indices
    value = gather.take_along_axis(x, idx, ax)
    return value if ret_typ == "value" else [value, indices]


@operator(total_outputs=2, infer=_sort_infer)
def sort(data, axis=-1, is_ascend=True, name=None):
    """Sorted values along ``axis`` (``None``: the flattened array)."""
    x, ax = _flat_axis(data, axis)
    return gather.take_along_axis(x, _order(x, ax, is_ascend), ax)


@operator(infer=_sort_infer)
def argsort(data, axis=-1, is_ascend=True, dtype="float32", name=None):
    """The positions that sort ``data`` along ``axis``, as ``dtype`` (float32 by default, as MXNet)."""
    x, ax = _flat_axis(data, axis)
    return _nd(_order(x, ax, is_ascend).astype(np.dtype(dtype)), data)


# ----- sequences (time on axis 0 or 1, batch on the other) ------------------------------------------
def _lengths(data, sequence_length, use_sequence_length, axis):
    steps, batch = data.shape[axis], data.shape[1 - axis]
    if not use_sequence_length or sequence_length is None:
        return np.full(batch, steps, np.int64)
    return gather.index_array(sequence_length).reshape(-1)


def _time_batch_shape(data, axis, values):
    """``values`` of shape (T, B) laid out along data's (time, batch) axes, broadcastable to data."""
    v = values if axis == 0 else values.T
    return v.reshape(v.shape + (1,) * (data.ndim - 2))


def _sequence_inputs(p):
    return ["data", "sequence_length"] if p["use_sequence_length"] else ["data"]


@operator(("data", "sequence_length"), input_names=_sequence_inputs)
def SequenceMask(data, sequence_length=None, use_sequence_length=False, value=0.0, axis=0, name=None):
    """Steps at or beyond each sequence's length set to ``value``."""
    lengths = _lengths(data, sequence_length, use_sequence_length, axis)
    keep = np.arange(data.shape[axis])[:, None] < lengths[None, :]
    mask = _nd(np.broadcast_to(_time_batch_shape(data, axis, keep), data.shape).astype(data._data.dtype), data)
    return data * mask + (1 - mask) * float(value)


@operator(("data", "sequence_length"), input_names=_sequence_inputs)
def SequenceLast(data, sequence_length=None, use_sequence_length=False, axis=0, name=None):
    """The last valid step of each sequence: shape ``data.shape`` without the time axis."""
    lengths = _lengths(data, sequence_length, use_sequence_length, axis)
    last = np.clip(lengths - 1, 0, data.shape[axis] - 1)
    shape = list(data.shape)
    shape[axis] = 1
    idx = np.broadcast_to(_time_batch_shape(data, axis, last[None, :]), tuple(shape))
    picked = gather.take_along_axis(data, idx, axis)
    return picked.reshape(tuple(n for i, n in enumerate(data.shape) if i != axis))


@operator(("data", "sequence_length"), input_names=_sequence_inputs)
def SequenceReverse(data, sequence_length=None, use_sequence_length=False, axis=0, name=None):
    """Each sequence's first ``length`` steps reversed; the padding after them stays in place."""
    if axis != 0:
        raise MXNetError("SequenceReverse supports axis=0 only (time first), as MXNet does.")
    lengths = _lengths(data, sequence_length, use_sequence_length, axis)
    t = np.arange(data.shape[0])[:, None]
    src = np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)
    idx = np.broadcast_to(_time_batch_shape(data, 0, src), data.shape)
    return gather.take_along_axis(data, idx, 0)


# ----- flat <-> multi-dimensional indices -----------------------------------------------------------
@operator(aliases=("_ravel_multi_index",))
def ravel_multi_index(data, shape, name=None):
    """Flat indices from ``data`` of shape (ndim, N) into an array of ``shape``."""
    idx = gather.index_array(data)
    flat = gather.flat_index(tuple(shape), list(idx))
    return _nd(flat.astype(data._data.dtype), data)


@operator(aliases=("_unravel_index",))
def unravel_index(data, shape, name=None):
    """Coordinates, shape (ndim, N), of the flat indices ``data`` in an array of ``shape`` (``shape[0]`` may
    be -1)."""
    idx = gather.index_array(data)
    shape = tuple(int(s) for s in shape)
    coords = []
    for i in range(len(shape) - 1, -1, -1):  # last axis first; a leading -1 takes what is left
        if i == 0 and shape[0] <= 0:
            coords.append(idx)
        else:
            coords.append(np.mod(idx, shape[i]))
            idx = idx // shape[i]
    return _nd(np.stack(coords[::-1]).astype(data._data.dtype), data)


@nd_function
def onehot_encode(indices, out):
    """Write the one-hot rows of ``indices`` into ``out`` (shape (N, depth)) and return ``out``."""
    idx = gather.index_array(indices).reshape(-1)
    rows = np.zeros(out.shape, out._data.dtype)
    rows[np.arange(out.shape[0]), idx] = 1
    out[:] = rows
    return out
