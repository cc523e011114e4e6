"""Normalisation layers: LayerNorm, InstanceNorm, GroupNorm, L2Normalization.

Each is written in trainkit ops (mean, square, sqrt, broadcasting), so its
gradients of every order come from those primitives' vjps.
"""
import numpy as np

from .core import primitive
from .table import operator
from . import elementwise as ew, shape as sh
from ..base import MXNetError
from ..ndarray.ndarray import apply


# ----- sums that accumulate in float64 --------------------------------------------------------------
# A float32 sum over a long, non-contiguous axis (the batch axis of gamma's and beta's gradients)
# loses ~1e-4 relative accuracy in numpy; MXNet accumulates these in a wider type, so do we.
def _wide_sum_fwd(x, axes):
    wide = np.float64 if x.dtype in (np.float16, np.float32) else None
    return np.sum(x, axis=axes, keepdims=True, dtype=wide).astype(x.dtype, copy=False)


WIDE_SUM = primitive("_norm_sum", _wide_sum_fwd, lambda g, out, x, axes: (apply(EXPAND, g, shape=x.shape),))


def _expand_vjp(g, out, x, shape):
    axes = tuple(i for i, (a, b) in enumerate(zip(x.shape, shape)) if a == 1 and b != 1)
    return (apply(WIDE_SUM, g, axes=axes) if axes else g,)


# broadcast_to (same rank) whose gradient sums with WIDE_SUM
EXPAND = primitive("_norm_expand", lambda x, shape: np.broadcast_to(x, shape).copy(), _expand_vjp)


def _mean(x, axes):
    n = 1
    for a in axes:
        n *= x.shape[a]
    return apply(WIDE_SUM, x, axes=tuple(axes)) / n


def _normalise(x, axes, eps):
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance), with the mean and std (kept dims)."""
    mean = _mean(x, axes)
    centred = x - apply(EXPAND, mean, shape=x.shape)
    std = ew.sqrt(_mean(ew.square(centred), axes) + eps)
    return centred / apply(EXPAND, std, shape=x.shape), mean, std


def _scale_shift(normed, gamma, beta, bshape):
    """``normed * gamma + beta`` with gamma/beta reshaped to ``bshape``, their gradients summed widely."""
    return (normed * apply(EXPAND, sh.reshape(gamma, bshape), shape=normed.shape)
            + apply(EXPAND, sh.reshape(beta, bshape), shape=normed.shape))


def _check_param(op, role, array, want, why):
    if array.shape != want:
        raise MXNetError(f"{op}: {role} has shape {array.shape}, but {why} needs {role} of shape {want}.")


def _fill(in_shapes, i, want, op, role, why):
    have = in_shapes[i]
    if have is None:
        in_shapes[i] = tuple(want)
    elif tuple(have) != tuple(want):
        raise MXNetError(f"{op}: {role} has shape {tuple(have)}, but {why} needs {role} of shape {tuple(want)}.")


def _n_mean_var(attrs):
    return 3 if attrs.get("output_mean_var") else 1


def _mean_std_names(attrs):
    return ["output", "mean", "std"] if attrs.get("output_mean_var") else ["output"]


# ----- LayerNorm ----------------------------------------------------------------------------
def _layer_norm_infer(attrs, in_shapes):
    data = in_shapes[0]
    if data is None:
        return in_shapes, [None] * _n_mean_var(attrs)
    axis = int(attrs.get("axis", -1)) % len(data)
    for i, role in ((1, "gamma"), (2, "beta")):
        _fill(in_shapes, i, (data[axis],), "LayerNorm", role, f"data of shape {tuple(data)} with axis={axis}")
    stats = tuple(1 if i == axis else n for i, n in enumerate(data))
    return in_shapes, [tuple(data)] + ([stats, stats] if attrs.get("output_mean_var") else [])


@operator(inputs=("data", "gamma", "beta"), infer=_layer_norm_infer, num_outputs=_n_mean_var,
          output_names=_mean_std_names)
def LayerNorm(data, gamma, beta, axis=-1, eps=1e-5, output_mean_var=False, name=None):
    """Normalise along ``axis`` to zero mean and unit variance, then scale by ``gamma`` and shift by ``beta``.

    ``gamma`` and ``beta`` have shape (data.shape[axis],). ``output_mean_var=True`` also
    returns the mean and the standard deviation ``sqrt(var + eps)``, with ``axis`` kept as 1.
    """
    axis %= data.ndim
    n = data.shape[axis]
    why = f"data of shape {data.shape} with axis={axis}"
    _check_param("LayerNorm", "gamma", gamma, (n,), why)
    _check_param("LayerNorm", "beta", beta, (n,), why)
    normed, mean, std = _normalise(data, (axis,), eps)
    bshape = tuple(n if i == axis else 1 for i in range(data.ndim))
    out = _scale_shift(normed, gamma, beta, bshape)
    return [out, mean, std] if output_mean_var else out


# ----- InstanceNorm -------------------------------------------------------------------------
def _channel_infer(op):
    def infer(attrs, in_shapes):
        data = in_shapes[0]
        if data is not None:
            for i, role in ((1, "gamma"), (2, "beta")):
                _fill(in_shapes, i, (data[1],), op, role, f"data of shape {tuple(data)} with {data[1]} channels")
        return in_shapes, [None if data is None else tuple(data)]
    return infer


@operator(inputs=("data", "gamma", "beta"), infer=_channel_infer("InstanceNorm"))
def InstanceNorm(data, gamma, beta, eps=1e-3, name=None):
    """Normalise each sample's each channel over its spatial axes (2 onwards), then ``gamma * x + beta`` per channel."""
    if data.ndim < 3:
        raise MXNetError(f"InstanceNorm needs data of at least 3 dimensions (batch, channel, spatial...), got "
                         f"shape {data.shape}.")
    c = data.shape[1]
    why = f"data of shape {data.shape} with {c} channels"
    _check_param("InstanceNorm", "gamma", gamma, (c,), why)
    _check_param("InstanceNorm", "beta", beta, (c,), why)
    normed, _, _ = _normalise(data, tuple(range(2, data.ndim)), eps)
    bshape = (1, c) + (1,) * (data.ndim - 2)
    return _scale_shift(normed, gamma, beta, bshape)


# ----- GroupNorm ----------------------------------------------------------------------------
def _group_norm_infer(attrs, in_shapes):
    data = in_shapes[0]
    if data is None:
        return in_shapes, [None] * _n_mean_var(attrs)
    g = int(attrs.get("num_groups", 1))
    for i, role in ((1, "gamma"), (2, "beta")):
        _fill(in_shapes, i, (g,), "GroupNorm", role, f"num_groups={g}")
    stats = (data[0], g)
    return in_shapes, [tuple(data)] + ([stats, stats] if attrs.get("output_mean_var") else [])


@operator(inputs=("data", "gamma", "beta"), infer=_group_norm_infer, num_outputs=_n_mean_var,
          output_names=_mean_std_names)
def GroupNorm(data, gamma, beta, num_groups=1, eps=1e-5, output_mean_var=False, name=None):
    """Split the channels (axis 1) into ``num_groups`` groups and normalise each sample's each group.

    As in MXNet 1.9.1, ``gamma`` and ``beta`` have one entry per *group*, shape
    (num_groups,). ``output_mean_var=True`` also returns the mean and the standard
    deviation ``sqrt(var + eps)``, each of shape (batch, num_groups).
    """
    g = int(num_groups)
    if data.ndim < 2 or g < 1 or data.shape[1] % g:
        raise MXNetError(f"GroupNorm: {data.shape[1] if data.ndim > 1 else 'no'} channels (data of shape "
                         f"{data.shape}) cannot be split into num_groups={num_groups} equal groups.")
    _check_param("GroupNorm", "gamma", gamma, (g,), f"num_groups={g}")
    _check_param("GroupNorm", "beta", beta, (g,), f"num_groups={g}")
    grouped = sh.reshape(data, (data.shape[0], g, -1))
    normed, mean, std = _normalise(grouped, (2,), eps)
    out = sh.reshape(_scale_shift(normed, gamma, beta, (1, g, 1)), data.shape)
    if output_mean_var:
        return [out, sh.reshape(mean, (data.shape[0], g)), sh.reshape(std, (data.shape[0], g))]
    return out


# ----- L2Normalization ----------------------------------------------------------------------
_L2_AXES = {"instance": lambda nd: tuple(range(1, nd)), "channel": lambda nd: (1,),
            "spatial": lambda nd: tuple(range(2, nd))}


@operator()
def L2Normalization(data, eps=1e-10, mode="instance", name=None):
    """``x / sqrt(sum(x²) + eps)``, the sum over everything but the batch axis (``instance``),
    over axis 1 (``channel``) or over axes 2 onwards (``spatial``)."""
    try:
        axes = _L2_AXES[mode](data.ndim)
    except KeyError:
        raise MXNetError(f"L2Normalization: unknown mode {mode!r}; choose 'instance', 'channel' or "
                         f"'spatial'.") from None
    if not axes:
        raise MXNetError(f"L2Normalization(mode={mode!r}) needs data with more dimensions than shape {data.shape}.")
    norm = ew.sqrt(apply(WIDE_SUM, ew.square(data), axes=axes) + eps)
    return data / apply(EXPAND, norm, shape=data.shape)
