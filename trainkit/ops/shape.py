"""Shape primitives: reshape, transpose, broadcasting, joining, splitting, indexing and gathering."""
import math

import numpy as np

from .core import primitive, unbroadcast
from .table import operator, write_out
from ..base import MXNetError
from ..ndarray.ndarray import NDArray, apply, _index


def _mx_shape(old, new, reverse=False):
    """Resolve MXNet's reshape codes (0, -1, -2, -3, -4, ``reverse``; see ``ndarray/shape_codes.py``)."""
    from ..ndarray.shape_codes import resolve_reshape
    out = resolve_reshape(old, new, reverse)
    if math.prod(out) != math.prod(old):
        raise MXNetError(f"reshape: cannot reshape an array of shape {tuple(old)} ({math.prod(old)} elements) "
                         f"into {tuple(new)}.")
    return out


def _reshape_back(g, out, x, shape, needs):
    """Reshape's raw_vjp: ``reshape(g, x.shape)`` on a backend array (g itself when the shapes agree)."""
    return (g if g.shape == x.shape else g.reshape(x.shape),)


RESHAPE = primitive("Reshape", lambda x, shape: x.reshape(shape),
                    lambda g, out, x, shape: (reshape(g, x.shape),), raw_vjp=_reshape_back)
TRANSPOSE = primitive("transpose", lambda x, axes: np.transpose(x, axes),
                      lambda g, out, x, axes: (transpose(g, axes=tuple(np.argsort(axes)) if axes else None),))
BROADCAST_TO = primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
                         lambda g, out, x, shape: (unbroadcast(g, x.shape),))
IDENTITY = primitive("_copy", lambda x: x.copy(), lambda g, out, x: (g,), raw_vjp=lambda g, out, x, needs: (g,))
# flatten/expand_dims/squeeze are operators: like MXNet's, they return new memory (Reshape returns a view,
# as NDArray.reshape does)
RESHAPE_COPY = primitive("Reshape", lambda x, shape: x.reshape(shape).copy(),
                         lambda g, out, x, shape: (reshape(g, x.shape),), raw_vjp=_reshape_back)


def _reshape_exact(data, shape):
    """Reshape to exactly ``shape``: no MXNet codes, so zero-size axes stay zero (0 is not "copy a dim")."""
    return data if tuple(shape) == data.shape else apply(RESHAPE, data, shape=tuple(shape))


def _reshaped_copy(data, shape):
    return apply(RESHAPE_COPY, data, shape=tuple(shape))


@operator(name="Reshape", aliases=("reshape",))
def reshape(data, shape=None, reverse=False, name=None, **kwargs):
    shape = kwargs.get("newshape", shape)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if shape == data.shape:
        return data
    shape = _mx_shape(data.shape, shape, reverse)
    if shape == data.shape:
        return data
    return apply(RESHAPE, data, shape=shape)


def _transpose_infer(attrs, in_shapes):
    data = in_shapes[0]
    if data is None:
        return in_shapes, [None]
    axes = attrs["axes"] or tuple(reversed(range(len(data))))
    return in_shapes, [tuple(data[a] for a in axes)]


def _expand_dims_infer(attrs, in_shapes):
    data = in_shapes[0]
    if data is None:
        return in_shapes, [None]
    axis = attrs["axis"] % (len(data) + 1)
    return in_shapes, [tuple(data[:axis]) + (1,) + tuple(data[axis:])]


@operator(infer=_transpose_infer)
def transpose(data, axes=None, name=None):
    return apply(TRANSPOSE, data, axes=tuple(axes) if axes else None)


@operator(aliases=("SwapAxis",))
def swapaxes(data, dim1=0, dim2=0, name=None):
    axes = list(range(data.ndim))
    axes[dim1], axes[dim2] = axes[dim2], axes[dim1]
    return transpose(data, axes)


@operator()
def broadcast_to(data, shape, name=None):
    shape = tuple(old if new == 0 else new for old, new in zip(data.shape, shape)) \
        if len(shape) == data.ndim else tuple(shape)
    if shape == data.shape:
        return data
    return apply(BROADCAST_TO, data, shape=shape)


@operator(("lhs", "rhs"))
def broadcast_like(lhs, rhs, lhs_axes=None, rhs_axes=None, name=None):
    """``lhs`` broadcast to ``rhs``'s shape, or only its ``lhs_axes`` to the sizes of ``rhs``'s ``rhs_axes``."""
    if lhs_axes is None and rhs_axes is None:
        return broadcast_to(lhs, rhs.shape)
    lhs_axes = (lhs_axes,) if isinstance(lhs_axes, int) else tuple(lhs_axes or ())
    rhs_axes = (rhs_axes,) if isinstance(rhs_axes, int) else tuple(rhs_axes or ())
    if len(lhs_axes) != len(rhs_axes) or not lhs_axes:
        raise MXNetError(f"broadcast_like: lhs_axes {lhs_axes} and rhs_axes {rhs_axes} must be non-empty and of "
                         "the same length (leave both out to broadcast to rhs's whole shape).")
    shape = list(lhs.shape)
    for a, b in zip(lhs_axes, rhs_axes):
        shape[a] = rhs.shape[b]
    return broadcast_to(lhs, tuple(shape))


def identity(data, name=None):
    return apply(IDENTITY, data)


copy = identity


@operator(name="Flatten", aliases=("flatten",))
def flatten(data, name=None):
    return _reshaped_copy(data, (data.shape[0], math.prod(data.shape[1:])) if data.ndim else (1, 1))


Flatten = flatten


@operator(infer=_expand_dims_infer)
def expand_dims(data, axis, name=None):
    axis = axis % (data.ndim + 1)
    return _reshaped_copy(data, data.shape[:axis] + (1,) + data.shape[axis:])


@operator()
def squeeze(data, axis=None, name=None):
    if axis is None:
        shape = tuple(n for n in data.shape if n != 1)
    else:
        axes = {a % data.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
        shape = tuple(n for i, n in enumerate(data.shape) if i not in axes)
    return _reshaped_copy(data, shape or (1,))


# ----- joining and splitting ------------------------------------------------------------------
def _concat_fwd(*xs, dim):
    try:
        return np.concatenate(xs, axis=dim)
    except ValueError:
        raise MXNetError(f"concat: inputs of shapes {[x.shape for x in xs]} do not agree outside dim={dim}.") \
            from None


def _concat_vjp(g, out, *xs, dim):
    if len(xs) == 1:  # one input: split_at would hand back one array, not a tuple of them
        return (g,)
    bounds = np.cumsum([x.shape[dim] for x in xs])[:-1]
    return split_at(g, tuple(int(b) for b in bounds), dim)


CONCAT = primitive("Concat", _concat_fwd, _concat_vjp)


@operator(("*data",), name="Concat", aliases=("concat",))
def concat(*data, dim=1, name=None):
    return apply(CONCAT, *data, dim=dim)


Concat = concat


@operator(("*data",))
def stack(*data, axis=0, num_args=None, name=None):
    return concat(*[expand_dims(x, axis) for x in data], dim=axis)


def _split_vjp(g, out, x, bounds, axis):
    return (concat(*g, dim=axis),)


def _split_fwd(x, bounds, axis):
    return tuple(np.split(x, bounds, axis=axis))


SPLIT = {}


def split_at(data, bounds, axis):
    """Split ``data`` along ``axis`` before each index in ``bounds`` (the primitive behind split)."""
    n = len(bounds) + 1
    prim = SPLIT.get(n)
    if prim is None:  # one primitive per output count: the node knows how many outputs it has
        prim = SPLIT[n] = primitive(f"_split_v{n}", _split_fwd, _split_vjp, n_out=n)
    return apply(prim, data, bounds=bounds, axis=axis % data.ndim)


@operator(name="SliceChannel", aliases=("split",), num_outputs=lambda p: p["num_outputs"])
def split(data, num_outputs, axis=1, squeeze_axis=False, name=None):
    size = data.shape[axis]
    if size % num_outputs:
        raise MXNetError(f"split: axis {axis} has size {size}, which does not divide into {num_outputs} outputs.")
    step = size // num_outputs
    parts = split_at(data, tuple(range(step, size, step)), axis) if num_outputs > 1 else (identity(data),)
    if squeeze_axis:
        parts = tuple(squeeze(p, axis) for p in parts)
    return parts[0] if num_outputs == 1 else list(parts)


SliceChannel = split


# ----- indexing -----------------------------------------------------------------------------------
def _scatter_fwd(g, shape, key):
    out = np.zeros(shape, g.dtype, like=g)
    if _advanced(key):
        np.add.at(out, key, g)  # repeated indices must add up
    else:
        out[key] = g
    return out


def _advanced(key):
    keys = key if isinstance(key, tuple) else (key,)
    return any(not isinstance(k, (int, slice, type(None), type(Ellipsis))) for k in keys)


GETITEM = primitive("_getitem", lambda x, key: x[key],
                    lambda g, out, x, key: (apply(SCATTER, g, shape=x.shape, key=key),))
SCATTER = primitive("_scatter", _scatter_fwd, lambda g, out, x, shape, key: (apply(GETITEM, g, key=key),))


def getitem(data, key):
    key = _index(key)
    return apply(GETITEM, data, key=key)


@operator()
def slice_axis(data, axis, begin, end, name=None):
    index = [slice(None)] * data.ndim
    index[axis] = slice(begin, end)
    return getitem(data, tuple(index))


@operator(("a", "indices"))
def take(a, indices, axis=0, mode="clip", name=None):
    """``a`` indexed along ``axis``; out-of-range indices are clipped (``mode='clip'``), wrapped (``'wrap'``)
    or rejected (``'raise'``), as MXNet's modes."""
    n = a.shape[axis]
    idx = indices._data.astype(np.int64)
    if mode == "wrap":
        idx = np.mod(idx, n)
    elif mode == "raise":
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise MXNetError(f"take: an index is out of range for axis {axis} of size {n} (mode='raise').")
        idx = np.where(idx < 0, idx + n, idx)
    else:
        idx = np.clip(idx, 0, n - 1)
    index = [slice(None)] * a.ndim
    index[axis] = idx
    return getitem(a, tuple(index))


# ----- gathering by label ------------------------------------------------------------------
def _gather_index(x, pos, axis):
    """Index for ``pos`` (in-range integer positions) along ``axis`` of ``x``."""
    if x.ndim == 2 and axis == 1:
        return np.arange(x.shape[0], like=x), pos  # the common (batch, classes) case: fancy indexing
    return np.expand_dims(pos.reshape(x.shape[:axis] + x.shape[axis + 1:]), axis)


def _pick_fwd(x, pos, axis, keepdims):
    idx = _gather_index(x, pos, axis)
    if isinstance(idx, tuple):
        out = x[idx]
        return out[:, None] if keepdims else out
    out = np.take_along_axis(x, idx, axis)
    return out if keepdims else np.squeeze(out, axis)


def _pick_grad_fwd(g, pos, shape, axis, keepdims):
    out = np.zeros(shape, g.dtype, like=g)  # zeros(like=) costs a quarter of zeros_like(shape=)
    idx = _gather_index(out, pos, axis)
    if isinstance(idx, tuple):
        out[idx] = g.reshape(-1)
    else:
        np.put_along_axis(out, idx, g if keepdims else np.expand_dims(g, axis), axis)
    return out


PICK = primitive("pick", _pick_fwd, lambda g, out, x, pos, axis, keepdims: (
    apply(PICK_GRAD, g, pos, shape=x.shape, axis=axis, keepdims=keepdims), None),
    raw_vjp=lambda g, out, x, pos, axis, keepdims, needs: (_pick_grad_fwd(g, pos, x.shape, axis, keepdims), None))
PICK_GRAD = primitive("_backward_pick", _pick_grad_fwd, lambda gg, out, g, pos, shape, axis, keepdims: (
    apply(PICK, gg, pos, axis=axis, keepdims=keepdims), None))


@operator(("data", "index"))
def pick(data, index, axis=-1, keepdims=False, mode="clip", name=None, out=None):
    """``data[i, index[i]]`` along ``axis`` (the usual way to read a label's score).

    Out-of-range indices are clipped (MXNet's default ``mode='clip'``); the clipped
    integer positions are computed once and shared by the forward and the gradient.
    """
    axis %= data.ndim
    raw = index._data if isinstance(index, NDArray) else np.asarray(index)
    pos = raw.astype(np.intp)
    np.minimum(np.maximum(pos, 0, out=pos), data.shape[axis] - 1, out=pos)
    result = apply(PICK, data, NDArray(pos, data._ctx), axis=axis, keepdims=keepdims)
    return result if out is None else write_out(result, out, "pick")


ONE_HOT = primitive("one_hot", lambda idx, depth, on_value, off_value, dtype: np.where(
    np.arange(depth, like=idx) == idx.astype(np.int64)[..., None], on_value, off_value).astype(dtype), None)


@operator(("indices",))
def one_hot(indices, depth, on_value=1.0, off_value=0.0, dtype="float32", name=None):
    return apply(ONE_HOT, indices, depth=int(depth), on_value=on_value, off_value=off_value, dtype=np.dtype(dtype))


def _where_vjp(g, out, cond, x, y):
    from .elementwise import not_equal
    mask = not_equal(cond, 0)
    return None, unbroadcast(g * mask, x.shape), unbroadcast(g * (1 - mask), y.shape)


WHERE = primitive("where", lambda cond, x, y: np.where(cond != 0, x, y), _where_vjp)


@operator(("condition", "x", "y"))
def where(condition, x, y, name=None):
    """``x`` where ``condition`` is non-zero, else ``y``; a 1-D condition picks whole rows (MXNet's rule)."""
    if x.shape != y.shape:
        raise MXNetError(f"where: x {x.shape} and y {y.shape} must have the same shape.")
    if condition.shape != x.shape:
        if condition.ndim != 1 or condition.shape[0] != x.shape[0]:
            raise MXNetError(f"where: condition of shape {condition.shape} must have x's shape {x.shape} or be a "
                             f"vector of its first dimension ({x.shape[0] if x.ndim else 1},).")
        condition = _reshape_exact(condition, condition.shape + (1,) * (x.ndim - 1))
    return apply(WHERE, condition, x, y)


@operator()
def tile(data, reps, name=None):
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    reps = (1,) * (data.ndim - len(reps)) + reps
    shape = (1,) * (len(reps) - data.ndim) + data.shape
    # tile = broadcast over new interleaved axes, then merge them: differentiable for free
    x = _reshape_exact(data, tuple(v for n in shape for v in (1, n)))
    x = broadcast_to(x, tuple(v for r, n in zip(reps, shape) for v in (r, n)))
    return _reshape_exact(x, tuple(r * n for r, n in zip(reps, shape)))


@operator()
def repeat(data, repeats, axis=None, name=None):
    if axis is None:
        data, axis = _reshape_exact(data, (data.size,)), 0
    axis %= data.ndim
    x = expand_dims(data, axis + 1)
    x = broadcast_to(x, x.shape[:axis + 1] + (repeats,) + x.shape[axis + 2:])
    return _reshape_exact(x, data.shape[:axis] + (data.shape[axis] * repeats,) + data.shape[axis + 1:])
