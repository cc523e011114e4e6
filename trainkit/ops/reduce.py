"""Reductions. A reduction over every axis gives shape (1,), as MXNet 1.x's NDArray does."""
import math

import numpy as np

from .core import primitive
from .table import operator, write_out
from ..ndarray.ndarray import apply


def _axes(axis, ndim, exclude=False):
    if axis is None or axis == ():
        axes = tuple(range(ndim))
    else:
        axes = tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))
    if exclude:
        axes = tuple(a for a in range(ndim) if a not in axes)
    return axes


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _finish(result, keepdims):
    return result.reshape(1) if result.ndim == 0 else result


def _expand_back(g, x, axes, scale=1.0):
    """Broadcast a reduced gradient back to ``x``'s shape (times ``scale``), as one primitive."""
    return apply(EXPAND_BACK, g, shape=x.shape, axes=axes, scale=scale)


def _expand_back_fwd(g, shape, axes, scale):
    out = np.empty_like(g, shape=shape)
    if g.size == 1:  # a full reduction (a loss): one value to spread
        out.fill(g.reshape(()).item() * scale)
    else:
        np.multiply(g.reshape(_kept_shape(shape, axes)), scale, out=out)  # the ufunc broadcasts into out
    return out


# its own adjoint is a scaled sum: that is what makes sum/mean differentiable to any order
EXPAND_BACK = primitive("_backward_sum", _expand_back_fwd, lambda gg, out, g, shape, axes, scale: (
    apply(SUM, gg, axes=axes, keepdims=False).reshape(g.shape) * scale if scale != 1.0 else
    apply(SUM, gg, axes=axes, keepdims=False).reshape(g.shape),))


def _sum_fwd(x, axes, keepdims):
    return _finish(x.sum(axis=axes, keepdims=keepdims), keepdims)


def _mean_fwd(x, axes, keepdims):
    # sum / n: ndarray.mean's Python wrapper costs more than the arithmetic on small arrays
    count = x.size if len(axes) == x.ndim else math.prod(x.shape[a] for a in axes)
    return _finish(x.sum(axis=axes, keepdims=keepdims) / count, keepdims)


def _extreme_vjp(g, out, x, axes, keepdims):
    from .elementwise import equal
    peak = _expand_back(out, x, axes)
    mask = equal(x, peak)
    count = _expand_back(sum(mask, axis=axes, keepdims=True), x, axes)
    return (_expand_back(g, x, axes) * mask / count,)


def _mean_scale(x, axes):
    return 1.0 / (x.size if len(axes) == x.ndim else math.prod(x.shape[a] for a in axes))


# the raw_vjps (backend arrays: the compiled path, unrecorded backwards) run the same _expand_back_fwd
SUM = primitive("sum", _sum_fwd, lambda g, out, x, axes, keepdims: (_expand_back(g, x, axes),),
                raw_vjp=lambda g, out, x, axes, keepdims, needs: (_expand_back_fwd(g, x.shape, axes, 1.0),))
MEAN = primitive("mean", _mean_fwd, lambda g, out, x, axes, keepdims: (_expand_back(g, x, axes, _mean_scale(x, axes)),),
                 raw_vjp=lambda g, out, x, axes, keepdims, needs: (
                     _expand_back_fwd(g, x.shape, axes, _mean_scale(x, axes)),))
MAX = primitive("max", lambda x, axes, keepdims: _finish(x.max(axis=axes, keepdims=keepdims), keepdims),
                _extreme_vjp)
MIN = primitive("min", lambda x, axes, keepdims: _finish(x.min(axis=axes, keepdims=keepdims), keepdims),
                _extreme_vjp)


def _arg_fwd(fn):
    def forward(x, axis, keepdims):
        out = fn(x, axis=axis, keepdims=keepdims).astype(np.float32)
        return out.reshape(1) if out.ndim == 0 else out
    return forward


ARGMAX = primitive("argmax", _arg_fwd(np.argmax), None)
ARGMIN = primitive("argmin", _arg_fwd(np.argmin), None)


def reduce_infer(attrs, in_shapes):
    """Symbol shape rule of the axis reductions (no run on zeros: Module binds big shapes)."""
    data = in_shapes[0]
    if data is None:
        return in_shapes, [None]
    axes = _axes(attrs["axis"], len(data), attrs["exclude"])
    if attrs["keepdims"]:
        out = tuple(1 if i in axes else n for i, n in enumerate(data))
    else:
        out = tuple(n for i, n in enumerate(data) if i not in axes) or (1,)
    return in_shapes, [out]


@operator(aliases=("sum_axis",), infer=reduce_infer)
def sum(data, axis=None, keepdims=False, exclude=False, name=None, out=None):  # noqa: A001 - MXNet's name
    result = apply(SUM, data, axes=_axes(axis, data.ndim, exclude), keepdims=keepdims)
    return result if out is None else write_out(result, out, "sum")  # out= here: no table wrapper on a hot op


@operator(infer=reduce_infer)
def mean(data, axis=None, keepdims=False, exclude=False, name=None, out=None):
    result = apply(MEAN, data, axes=_axes(axis, data.ndim, exclude), keepdims=keepdims)
    return result if out is None else write_out(result, out, "mean")


@operator(aliases=("max_axis",), infer=reduce_infer)
def max(data, axis=None, keepdims=False, exclude=False, name=None):  # noqa: A001
    return apply(MAX, data, axes=_axes(axis, data.ndim, exclude), keepdims=keepdims)


@operator(aliases=("min_axis",), infer=reduce_infer)
def min(data, axis=None, keepdims=False, exclude=False, name=None):  # noqa: A001
    return apply(MIN, data, axes=_axes(axis, data.ndim, exclude), keepdims=keepdims)


@operator()
def argmax(data, axis=None, keepdims=False, name=None):
    """Indices of the maxima, as floats (MXNet's convention)."""
    return apply(ARGMAX, data, axis=axis, keepdims=keepdims)


@operator()
def argmin(data, axis=None, keepdims=False, name=None):
    return apply(ARGMIN, data, axis=axis, keepdims=keepdims)


@operator()
def norm(data, ord=2, axis=None, out_dtype=None, keepdims=False, name=None):
    """The L2 (or L1) norm over ``axis`` (all axes by default); built from differentiable ops, so every
    order of gradient works."""
    from .elementwise import abs, cast, sqrt, square
    if ord == 1:
        out = sum(abs(data), axis=axis, keepdims=keepdims)
    elif ord == 2:
        out = sqrt(sum(square(data), axis=axis, keepdims=keepdims))
    else:
        raise ValueError(f"norm supports ord=1 or ord=2, got ord={ord!r}.")
    return cast(out, dtype=out_dtype) if out_dtype is not None else out


@operator()
def argmax_channel(data, name=None):
    """Indices of the maxima along the last axis, as floats."""
    return argmax(data, axis=-1)


# ----- products and nan-ignoring reductions --------------------------------------------------------
def _prod_vjp(g, out, x, axes, keepdims):
    # d prod / d x_i = prod / x_i, as MXNet computes it (inputs with zeros give nan there, as MXNet's)
    return (_expand_back(g * out, x, axes) / x,)


PROD = primitive("prod", lambda x, axes, keepdims: _finish(x.prod(axis=axes, keepdims=keepdims), keepdims),
                 _prod_vjp)
NAN_TO = primitive("_nan_to", lambda x, value: np.where(np.isnan(x), value, x).astype(x.dtype, copy=False),
                   lambda g, out, x, value: (g * apply(NOT_NAN, x),))
NOT_NAN = primitive("_not_nan", lambda x: (~np.isnan(x)).astype(x.dtype), None)


@operator()
def prod(data, axis=None, keepdims=False, exclude=False, name=None):
    """The product over ``axis`` (all axes by default)."""
    return apply(PROD, data, axes=_axes(axis, data.ndim, exclude), keepdims=keepdims)


@operator()
def nansum(data, axis=None, keepdims=False, exclude=False, name=None):
    """The sum over ``axis`` treating NaN as 0 (NaN entries get zero gradient)."""
    return sum(apply(NAN_TO, data, value=0.0), axis=axis, keepdims=keepdims, exclude=exclude)


@operator()
def nanprod(data, axis=None, keepdims=False, exclude=False, name=None):
    """The product over ``axis`` treating NaN as 1."""
    return prod(apply(NAN_TO, data, value=1.0), axis=axis, keepdims=keepdims, exclude=exclude)


@operator(num_outputs=2)
def moments(data, axes=None, keepdims=False, name=None):
    """``[mean, variance]`` over ``axes`` (all axes by default), the variance being the biased one."""
    mu = mean(data, axis=axes, keepdims=True)
    from .elementwise import square
    var = mean(square(data - mu), axis=axes, keepdims=keepdims)
    return [mu if keepdims else mean(data, axis=axes, keepdims=False), var]


# ----- cumulative sum -----------------------------------------------------------------------------------
def _cumsum_vjp(g, out, x, axis, dtype):
    # the adjoint of a running sum is the running sum from the other end
    return (apply(REVERSE_CUMSUM, g, axis=axis).reshape(x.shape),)


CUMSUM = primitive("_np_cumsum", lambda x, axis, dtype: np.cumsum(x, axis=axis, dtype=dtype), _cumsum_vjp)
REVERSE_CUMSUM = primitive("_reverse_cumsum", lambda g, axis: np.flip(np.cumsum(np.flip(g, axis), axis), axis),
                           lambda gg, out, g, axis: (apply(CUMSUM, gg, axis=axis, dtype=None),))


@operator(("a",), aliases=("_np_cumsum",))
def cumsum(a, axis=None, dtype=None, name=None):
    """Running sums along ``axis`` (of the flattened array when ``axis`` is None)."""
    if axis is None:
        a = a.reshape((-1,))
        axis = 0
    return apply(CUMSUM, a, axis=int(axis) % a.ndim, dtype=None if dtype is None else np.dtype(dtype))
