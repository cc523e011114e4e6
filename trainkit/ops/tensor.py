"""Tensor layout operators: slice/crop, slice_like, reshape_like, broadcast_axis, diag, pad,
reverse/flip, depth_to_space/space_to_depth, moveaxis, shape_array/size_array,
concatenate and histogram.

Most are compositions of getitem, reshape, transpose and broadcast_to, whose
gradients are already differentiable to any order; diag and pad have their own
primitive pairs (each one's gradient is the other).
"""
import builtins

import numpy as np

from . import gather
from .core import primitive
from .shape import _reshape_exact, broadcast_to, concat, getitem, reshape, transpose
from .table import namespace_of, nd_function, operator, sym_function
from ..base import MXNetError
from ..ndarray.ndarray import NDArray, apply


_py_slice = builtins.slice  # this module defines MXNet's slice operator


def _tuple(value):
    if value is None:
        return ()
    return (value,) if isinstance(value, (int, np.integer)) else tuple(value)


# ----- slicing ------------------------------------------------------------------------------------------
@operator(aliases=("crop",))
def slice(data, begin, end, step=(), name=None):  # noqa: A001 - MXNet's name
    """``data[begin[0]:end[0]:step[0], ...]``; ``None`` entries mean the whole axis (MXNet's ``slice``)."""
    begin, end, step = _tuple(begin), _tuple(end), _tuple(step)
    if len(begin) != len(end):
        raise MXNetError(f"slice: begin {begin} and end {end} must have the same length.")
    if len(begin) > data.ndim:
        raise MXNetError(f"slice: begin {begin} addresses more axes than data has (shape {data.shape}).")
    index = []
    for i, (b, e) in enumerate(zip(begin, end)):
        s = step[i] if i < len(step) else None
        if s == 0:
            raise MXNetError("slice: step cannot be 0.")
        index.append(_py_slice(b, e, s))
    return getitem(data, tuple(index))


@operator(("data", "shape_like"))
def slice_like(data, shape_like, axes=(), name=None):
    """``data`` cut from the start to ``shape_like``'s size on ``axes`` (all axes when empty)."""
    if not _tuple(axes) and data.ndim != shape_like.ndim:
        raise MXNetError(f"slice_like: data {data.shape} and shape_like {shape_like.shape} need the same "
                         "number of axes (or name the axes to cut with axes=...).")
    axes = _tuple(axes) or tuple(range(data.ndim))
    index = [_py_slice(None, None, None)] * data.ndim
    for a in axes:
        a %= data.ndim  # as MXNet: a negative axis counts on data's axes, then indexes shape_like too
        if a >= shape_like.ndim:
            raise MXNetError(f"slice_like: axis {a} is beyond shape_like's {shape_like.ndim} axes.")
        if shape_like.shape[a] > data.shape[a]:
            raise MXNetError(f"slice_like: axis {a} of shape_like ({shape_like.shape[a]}) is longer than data's "
                             f"({data.shape[a]}).")
        index[a] = _py_slice(0, shape_like.shape[a], None)
    return getitem(data, tuple(index))


def _span(begin, end, ndim):
    b = 0 if begin is None else (begin + ndim if begin < 0 else begin)
    e = ndim if end is None else (end + ndim if end < 0 else end)
    return b, e


@operator(("lhs", "rhs"))
def reshape_like(lhs, rhs, lhs_begin=None, lhs_end=None, rhs_begin=None, rhs_end=None, name=None):
    """``lhs`` with its axes ``[lhs_begin, lhs_end)`` replaced by ``rhs``'s axes ``[rhs_begin, rhs_end)``."""
    lb, le = _span(lhs_begin, lhs_end, lhs.ndim)
    rb, re = _span(rhs_begin, rhs_end, rhs.ndim)
    shape = lhs.shape[:lb] + rhs.shape[rb:re] + lhs.shape[le:]
    if int(np.prod(shape)) != lhs.size:
        raise MXNetError(f"reshape_like: cannot reshape lhs {lhs.shape} into {shape} (from rhs {rhs.shape}).")
    return _reshape_exact(lhs, shape)


@operator(aliases=("broadcast_axes",))
def broadcast_axis(data, axis=(), size=(), name=None):
    """Repeat ``data`` along its size-1 ``axis`` entries to the matching ``size``."""
    axis, size = _tuple(axis), _tuple(size)
    if len(axis) != len(size):
        raise MXNetError(f"broadcast_axis: axis {axis} and size {size} must have the same length.")
    shape = list(data.shape)
    for a, s in zip(axis, size):
        if shape[a] != 1:
            raise MXNetError(f"broadcast_axis: axis {a} has size {shape[a]}; only size-1 axes can be broadcast.")
        shape[a] = int(s)
    return broadcast_to(data, tuple(shape))


@operator(aliases=("flip",))
def reverse(data, axis, name=None):
    """``data`` reversed along ``axis`` (an int or a tuple)."""
    index = [_py_slice(None, None, None)] * data.ndim
    for a in _tuple(axis):
        index[a % data.ndim] = _py_slice(None, None, -1)
    return getitem(data, tuple(index))


# ----- diag -----------------------------------------------------------------------------------------------
def _diag_positions(shape, k, axis1, axis2):
    """Index tuple of the k-th diagonal of axes (axis1, axis2); the diagonal runs along the last output axis."""
    n1, n2 = shape[axis1], shape[axis2]
    length = max(0, min(n1 - max(0, -k), n2 - max(0, k)))
    i = np.arange(length) + max(0, -k)
    return i, i + k


def _diag_fwd(x, k, axis1, axis2):
    if x.ndim == 1:
        return np.diag(x, k)
    return np.diagonal(x, k, axis1, axis2).copy()


def _diag_back_fwd(g, shape, k, axis1, axis2):
    out = np.zeros(shape, g.dtype)
    if len(shape) == 2 and g.ndim == 1:
        i, j = _diag_positions(shape, k, 0, 1)
        out[i, j] = g
        return out
    moved = np.moveaxis(out, (axis1, axis2), (-2, -1))
    i, j = _diag_positions(shape, k, axis1, axis2)
    moved[..., i, j] = g
    return out


DIAG = primitive("diag", _diag_fwd, lambda g, out, x, k, axis1, axis2: (
    apply(DIAG_BACK, g, shape=x.shape, k=k, axis1=axis1, axis2=axis2) if x.ndim > 1 else
    apply(DIAG, g, k=k, axis1=0, axis2=1),))
DIAG_BACK = primitive("_backward_diag", _diag_back_fwd, lambda gg, out, g, shape, k, axis1, axis2: (
    apply(DIAG, gg, k=k, axis1=axis1, axis2=axis2),))


@operator()
def diag(data, k=0, axis1=0, axis2=1, name=None):
    """A 1-D ``data`` becomes a matrix with it on the ``k``-th diagonal; otherwise the diagonal is read out."""
    if data.ndim == 0:
        raise MXNetError("diag needs an array of at least one axis.")
    if data.ndim > 1:
        a1, a2 = int(axis1) % data.ndim, int(axis2) % data.ndim
        if a1 == a2:
            raise MXNetError(f"diag: axis1 and axis2 must differ, both are {a1}.")
        n1, n2 = data.shape[a1], data.shape[a2]
        if not -n1 < int(k) < n2:
            raise MXNetError(f"diag: k={k} is out of range for axes of sizes {n1} and {n2} (need {-n1} < k < {n2}).")
    return apply(DIAG, data, k=int(k), axis1=int(axis1) % max(data.ndim, 1), axis2=int(axis2) % max(data.ndim, 1))


# ----- pad --------------------------------------------------------------------------------------------------
PAD_CONSTANT = primitive("_pad_constant", lambda x, pairs, value: np.pad(x, pairs, constant_values=value),
                         lambda g, out, x, pairs, value: (getitem(g, tuple(
                             _py_slice(b, b + n, None) for (b, _), n in zip(pairs, x.shape))),))


@operator(aliases=("Pad",))
def pad(data, mode="constant", pad_width=(), constant_value=0.0, name=None):
    """Pad every axis by ``pad_width`` = (before0, after0, before1, after1, ...): ``constant``, ``edge`` or
    ``reflect`` (MXNet allows 4-D and 5-D data with no padding on the first two axes; any rank works here)."""
    width = _tuple(pad_width)
    if len(width) != 2 * data.ndim:
        raise MXNetError(f"pad: pad_width needs 2 entries per axis ({2 * data.ndim} for data of shape "
                         f"{data.shape}), got {len(width)}.")
    pairs = tuple((int(width[2 * i]), int(width[2 * i + 1])) for i in range(data.ndim))
    if mode == "constant":
        return apply(PAD_CONSTANT, data, pairs=pairs, value=float(constant_value))
    if mode not in ("edge", "reflect"):
        raise MXNetError(f"pad: mode must be 'constant', 'edge' or 'reflect', got {mode!r}.")
    # edge/reflect copy existing elements: a gather of their flat positions, so the gradient accumulates
    source = np.pad(np.arange(data.size).reshape(data.shape), pairs, mode=mode)
    return gather.take_flat(data, source)


# ----- depth <-> space ---------------------------------------------------------------------------------------
def _block_args(op, data, block_size):
    b = int(block_size)
    if b <= 0:
        raise MXNetError(f"{op}: block_size must be positive, got {block_size}.")
    if data.ndim != 4 or 0 in data.shape:
        raise MXNetError(f"{op} needs 4-D data (N, C, H, W) with no empty axis, got shape {data.shape}.")
    return b, data.shape


@operator()
def depth_to_space(data, block_size, name=None):
    """(N, C, H, W) -> (N, C / b², H b, W b), moving channel blocks into space (MXNet's DCR order)."""
    b, (n, c, h, w) = _block_args("depth_to_space", data, block_size)
    if c % (b * b):
        raise MXNetError(f"depth_to_space: {c} channels do not divide by block_size² = {b * b}.")
    x = reshape(data, (n, b, b, c // (b * b), h, w))
    x = transpose(x, (0, 3, 4, 1, 5, 2))
    return reshape(x, (n, c // (b * b), h * b, w * b))


@operator()
def space_to_depth(data, block_size, name=None):
    """(N, C, H, W) -> (N, C b², H / b, W / b), the inverse of depth_to_space."""
    b, (n, c, h, w) = _block_args("space_to_depth", data, block_size)
    if h % b or w % b:
        raise MXNetError(f"space_to_depth: height {h} and width {w} must divide by block_size {b}.")
    x = reshape(data, (n, c, h // b, b, w // b, b))
    x = transpose(x, (0, 3, 5, 1, 2, 4))
    return reshape(x, (n, c * b * b, h // b, w // b))


# ----- shapes as arrays, moveaxis, concatenate ------------------------------------------------------------------
@operator()
def shape_array(data, name=None):
    """``data``'s shape as an int64 array."""
    return NDArray(data._ctx.xp.asarray(np.array(data.shape, np.int64)), data._ctx)


@operator()
def size_array(data, name=None):
    """``data``'s number of elements as an int64 array of shape (1,)."""
    return NDArray(data._ctx.xp.asarray(np.array([data.size], np.int64)), data._ctx)


@nd_function
def moveaxis(tensor, source, destination):
    """Move axes ``source`` to positions ``destination`` (ints or sequences), as numpy.moveaxis."""
    n = tensor.ndim
    for a in _tuple(source) + _tuple(destination):
        if not -n <= a < n:
            raise ValueError(f"moveaxis: axis {a} is out of bounds for an array of {n} dimensions.")
    src, dst = [a % n for a in _tuple(source)], [a % n for a in _tuple(destination)]
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} need the same length.")
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: repeated axis in source {source} or destination {destination}.")
    order = [a for a in range(n) if a not in src]
    for d, a in sorted(zip(dst, src)):
        order.insert(d, a)
    return transpose(tensor, tuple(order))


@nd_function
def concatenate(arrays, axis=0, always_copy=True):
    """Join a list of NDArrays along ``axis`` (MXNet's legacy Python helper; ``concat`` is the operator)."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("concatenate needs at least one array.")
    if len(arrays) == 1:
        return arrays[0].copy() if always_copy else arrays[0]
    return concat(*arrays, dim=axis)


def _histogram_inputs(p):
    return ["data"] if p["bin_cnt"] is not None else ["data", "bins"]


@operator(("data", "bins"), num_outputs=2, input_names=_histogram_inputs)
def _histogram(data, bins=None, bin_cnt=None, range=None, name=None):  # noqa: A002 - MXNet's names
    """``[counts, bin_edges]``: ``bin_cnt`` equal bins over ``range``, or the edges in the array ``bins``."""
    values = data.asnumpy().reshape(-1)
    if bins is not None:
        edges = bins.asnumpy()
    else:
        if bin_cnt is None:
            raise MXNetError("histogram needs bins: an integer count (with range) or an array of bin edges.")
        lo, hi = (float(values.min()), float(values.max())) if range is None else map(float, range)
        edges = np.linspace(lo, hi, int(bin_cnt) + 1)
    counts, _ = np.histogram(values, edges)
    ctx = data._ctx
    return [NDArray(ctx.xp.asarray(counts.astype(data._data.dtype)), ctx),
            NDArray(ctx.xp.asarray(edges.astype(data._data.dtype)), ctx)]


@nd_function
@sym_function
def histogram(a, bins=10, range=None, **kwargs):  # noqa: A002 - MXNet's names
    """``(counts, bin_edges)`` of ``a``: ``bins`` equal bins over ``range`` (default: a's min and max; a symbol
    needs a range), or the bin edges given as an array/Symbol. Counts are in ``a``'s dtype, as MXNet's."""
    ns = namespace_of(a)
    if isinstance(bins, (int, np.integer)):
        if range is None and ns.__name__.endswith("symbol"):
            raise ValueError("null range is not supported in symbol mode")
        out = ns._histogram(a, bin_cnt=int(bins), range=range, **kwargs)
    elif bins is not None and not isinstance(bins, (list, tuple)):
        out = ns._histogram(a, bins, **kwargs)
    else:
        raise ValueError("bins argument should be either an integer or an NDArray")
    return tuple(out) if isinstance(out, list) else out


def _split_v2_outputs(p):
    return int(p["sections"]) if int(p["sections"]) > 0 else len(p["indices"])


@operator(num_outputs=_split_v2_outputs)
def _split_v2(data, indices=(), axis=0, squeeze_axis=False, sections=0, name=None):
    """numpy-style split: ``sections`` equal parts, or parts starting at each of ``indices`` (the first is 0)."""
    from .shape import split_at, squeeze
    size = data.shape[axis]
    if int(sections) > 0:
        n = int(sections)
        if size % n:
            raise MXNetError(f"split_v2: axis {axis} of size {size} does not split into {n} equal parts.")
        bounds = tuple(range(size // n, size, size // n))
    else:
        bounds = tuple(int(i) for i in _tuple(indices)[1:])
    parts = list(split_at(data, bounds, axis)) if bounds else [data.copy()]
    if squeeze_axis:
        parts = [squeeze(p, axis=axis) if p.shape[axis] == 1 else p for p in parts]
    return parts[0] if len(parts) == 1 else parts


@nd_function
@sym_function
def split_v2(ary, indices_or_sections, axis=0, squeeze_axis=False):
    """numpy-style split: ``N`` equal parts, or parts cut before each index in a sorted sequence."""
    ns = namespace_of(ary)
    if isinstance(indices_or_sections, (int, np.integer)):
        return ns._split_v2(ary, axis=axis, squeeze_axis=squeeze_axis, sections=int(indices_or_sections))
    if isinstance(indices_or_sections, (list, tuple)):
        return ns._split_v2(ary, indices=(0,) + tuple(int(i) for i in indices_or_sections), axis=axis,
                            squeeze_axis=squeeze_axis)
    raise ValueError("indices_or_sections must either int or tuple of ints")


# ----- writing into a slice (MXNet's _slice_assign, formerly _crop_assign) ------------------------------------
def _region(shape, begin, end, step):
    begin, end, step = _tuple(begin), _tuple(end), _tuple(step)
    return tuple(_py_slice(b, e, step[i] if i < len(step) else None)
                 for i, (b, e) in enumerate(zip(begin, end))) + (_py_slice(None),) * (len(shape) - len(begin))


def _assign_fwd(lhs, rhs, region):
    out = lhs.copy()
    out[region] = rhs
    return out


def _hole(g, region):
    mask = np.ones(g.shape, g._data.dtype)
    mask[region] = 0
    return g * NDArray(g._ctx.xp.asarray(mask), g._ctx)


SLICE_ASSIGN = primitive("_slice_assign", _assign_fwd,
                         lambda g, out, lhs, rhs, region: (_hole(g, region), getitem(g, region)))
SLICE_ASSIGN_SCALAR = primitive("_slice_assign_scalar",
                                lambda x, scalar, region: _assign_fwd(x, scalar, region),
                                lambda g, out, x, scalar, region: (_hole(g, region),))


@operator(("lhs", "rhs"), aliases=("_crop_assign",))
def _slice_assign(lhs, rhs, begin, end, step=(), name=None):
    """``lhs`` with ``lhs[begin:end:step]`` replaced by ``rhs``."""
    return apply(SLICE_ASSIGN, lhs, rhs, region=_region(lhs.shape, begin, end, step))


@operator(aliases=("_crop_assign_scalar",))
def _slice_assign_scalar(data, scalar=0.0, begin=(), end=(), step=(), name=None):
    """``data`` with ``data[begin:end:step]`` set to ``scalar``."""
    return apply(SLICE_ASSIGN_SCALAR, data, scalar=float(scalar), region=_region(data.shape, begin, end, step))
