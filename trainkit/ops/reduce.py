"""Reductions. A reduction over every axis gives shape (1,), as MXNet 1.x's NDArray does."""
import math

import numpy as np

from .core import primitive
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


SUM = primitive("sum", _sum_fwd, lambda g, out, x, axes, keepdims: (_expand_back(g, x, axes),))
MEAN = primitive("mean", _mean_fwd, lambda g, out, x, axes, keepdims: (
    _expand_back(g, x, axes, 1.0 / (x.size if len(axes) == x.ndim else math.prod(x.shape[a] for a in axes))),))
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


def sum(data, axis=None, keepdims=False, exclude=False, name=None):  # noqa: A001 - MXNet's name
    return apply(SUM, data, axes=_axes(axis, data.ndim, exclude), keepdims=keepdims)


def mean(data, axis=None, keepdims=False, exclude=False, name=None):
    return apply(MEAN, data, axes=_axes(axis, data.ndim, exclude), keepdims=keepdims)


def max(data, axis=None, keepdims=False, exclude=False, name=None):  # noqa: A001
    return apply(MAX, data, axes=_axes(axis, data.ndim, exclude), keepdims=keepdims)


def min(data, axis=None, keepdims=False, exclude=False, name=None):  # noqa: A001
    return apply(MIN, data, axes=_axes(axis, data.ndim, exclude), keepdims=keepdims)


def argmax(data, axis=None, keepdims=False, name=None):
    """Indices of the maxima, as floats (MXNet's convention)."""
    return apply(ARGMAX, data, axis=axis, keepdims=keepdims)


def argmin(data, axis=None, keepdims=False, name=None):
    return apply(ARGMIN, data, axis=axis, keepdims=keepdims)


def norm(data, ord=2, axis=None, keepdims=False, name=None):
    """The L2 (or L1) norm; built from differentiable ops, so every order of gradient works."""
    from .elementwise import abs, sqrt, square
    if ord == 1:
        return sum(abs(data), axis=axis, keepdims=keepdims)
    if ord != 2:
        raise ValueError(f"norm supports ord=1 or ord=2, got ord={ord!r}.")
    return sqrt(sum(square(data), axis=axis, keepdims=keepdims))
