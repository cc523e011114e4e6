"""Neural-network primitives: matrix products, layers, activations, losses, Dropout, BatchNorm.

FullyConnected and the softmax losses are fused primitives with hand-derived
gradients; their vjps are still trainkit ops, so they differentiate again.
"""
import math

import numpy as np

from .core import primitive
from . import elementwise as ew, reduce, shape as sh
from .. import autograd
from ..base import MXNetError
from ..ndarray.ndarray import NDArray, apply


def _wants_needs(vjp):
    """Mark a vjp that takes ``needs=`` (which inputs want a gradient) to skip costly unused products."""
    vjp.wants_needs = True
    return vjp


# ----- matrix products -----------------------------------------------------------------------
def _dot_fwd(a, b, transpose_a, transpose_b):
    return np.dot(a.T if transpose_a else a, b.T if transpose_b else b)


def _product_vjp(product):
    """The vjp of ``product(a, b, transpose_a, transpose_b)`` (dot or batch_dot), in that product."""
    @_wants_needs
    def vjp(g, out, a, b, transpose_a, transpose_b, needs):
        ta, tb = transpose_a, transpose_b
        da = db = None
        if needs[0]:
            da = product(b, g, transpose_a=tb, transpose_b=True) if ta else product(g, b, transpose_b=not tb)
        if needs[1]:
            db = product(g, a, transpose_a=True, transpose_b=ta) if tb else product(a, g, transpose_a=not ta)
        return da, db
    return vjp


DOT = primitive("dot", _dot_fwd, _product_vjp(lambda *args, **kw: dot(*args, **kw)))


def dot(lhs, rhs, transpose_a=False, transpose_b=False, name=None):
    """Matrix product of two 2-D arrays (1-D and N-D inputs are reshaped around the 2-D product)."""
    if lhs.ndim == 2 and rhs.ndim == 2:
        k1 = lhs.shape[0 if transpose_a else 1]
        k2 = rhs.shape[1 if transpose_b else 0]
        if k1 != k2:
            raise MXNetError(f"dot: shapes {lhs.shape} and {rhs.shape} do not fit (transpose_a={transpose_a}, "
                             f"transpose_b={transpose_b}): the inner dimensions {k1} and {k2} differ.")
        return apply(DOT, lhs, rhs, transpose_a=transpose_a, transpose_b=transpose_b)
    if transpose_a or transpose_b:
        raise MXNetError(f"dot: transpose_a/transpose_b need 2-D inputs, got shapes {lhs.shape} and {rhs.shape}.")
    a = sh.reshape(lhs, (1, -1) if lhs.ndim == 1 else (-1, lhs.shape[-1]))
    b = sh.reshape(rhs, (-1, 1) if rhs.ndim == 1 else (rhs.shape[0], -1))
    out_shape = lhs.shape[:-1] + rhs.shape[1:]
    return sh.reshape(dot(a, b), out_shape or (1,))


def _batch_dot_fwd(a, b, transpose_a, transpose_b):
    return np.matmul(a.swapaxes(-1, -2) if transpose_a else a, b.swapaxes(-1, -2) if transpose_b else b)


BATCH_DOT = primitive("batch_dot", _batch_dot_fwd, _product_vjp(lambda *args, **kw: batch_dot(*args, **kw)))


def batch_dot(lhs, rhs, transpose_a=False, transpose_b=False, name=None):
    if lhs.ndim != 3 or rhs.ndim != 3 or lhs.shape[0] != rhs.shape[0]:
        raise MXNetError(f"batch_dot needs two 3-D arrays with the same batch size, got {lhs.shape} and {rhs.shape}.")
    return apply(BATCH_DOT, lhs, rhs, transpose_a=transpose_a, transpose_b=transpose_b)


# ----- FullyConnected -------------------------------------------------------------------------
def _fc_fwd(x, w, *bias, num_hidden, flatten):
    x2 = x.reshape(x.shape[0], -1) if flatten and x.ndim != 2 else x
    out = x2 @ w.T
    if bias:
        out += bias[0]
    return out


@_wants_needs
def _fc_vjp(g, out, x, w, *bias, num_hidden, flatten, needs):
    x2, g2 = x, g
    if x.ndim != 2:  # work on the 2-D product the forward computed
        x2 = sh.reshape(x, (x.shape[0], -1)) if flatten else sh.reshape(x, (-1, x.shape[-1]))
        g2 = sh.reshape(g, (-1, num_hidden))
    # the products' shapes are known to fit: apply DOT directly, skipping dot()'s checks
    dx = sh.reshape(apply(DOT, g2, w, transpose_a=False, transpose_b=False), x.shape) if needs[0] else None
    dw = apply(DOT, g2, x2, transpose_a=True, transpose_b=False) if needs[1] else None
    if not bias:
        return dx, dw
    return dx, dw, (apply(reduce.SUM, g2, axes=(0,), keepdims=False) if needs[2] else None)


FULLY_CONNECTED = primitive("FullyConnected", _fc_fwd, _fc_vjp)


def FullyConnected(data, weight, bias=None, num_hidden=None, no_bias=False, flatten=True, name=None):
    """``data · weightᵀ + bias`` with weight of shape (num_hidden, input units), as in MXNet."""
    if num_hidden is None:
        num_hidden = weight.shape[0]
    units = data.shape[-1] if data.ndim == 2 or not flatten else math.prod(data.shape[1:])
    if weight.shape != (num_hidden, units):
        raise MXNetError(f"FullyConnected: weight has shape {weight.shape} but data of shape {data.shape} "
                         f"with num_hidden={num_hidden} needs ({num_hidden}, {units}).")
    if no_bias or bias is None:
        return apply(FULLY_CONNECTED, data, weight, num_hidden=num_hidden, flatten=flatten)
    if bias.shape != (num_hidden,):
        raise MXNetError(f"FullyConnected: bias has shape {bias.shape}, expected ({num_hidden},).")
    return apply(FULLY_CONNECTED, data, weight, bias, num_hidden=num_hidden, flatten=flatten)


# ----- activations ----------------------------------------------------------------------------
_ACTIVATIONS = {"relu": ew.relu, "sigmoid": ew.sigmoid, "tanh": ew.tanh,
                "softrelu": ew.softrelu, "softsign": ew.softsign}


def Activation(data, act_type, name=None):
    try:
        fn = _ACTIVATIONS[act_type]
    except KeyError:
        raise MXNetError(f"Activation: unknown act_type {act_type!r}; choose one of {sorted(_ACTIVATIONS)}.") \
            from None
    return fn(data)


LEAKY_MASK = primitive("_leaky_mask", lambda x, slope: np.where(x > 0, 1, slope).astype(x.dtype), None)
LEAKY = primitive("LeakyReLU", lambda x, slope: np.where(x > 0, x, slope * x),
                  lambda g, out, x, slope: (g * apply(LEAKY_MASK, x, slope=slope),))


def LeakyReLU(data, gamma=None, act_type="leaky", slope=0.25, lower_bound=0.125, upper_bound=0.334, name=None):
    """leaky, prelu (learnable per-channel ``gamma``), elu and selu, as MXNet's LeakyReLU."""
    if act_type == "leaky":
        return apply(LEAKY, data, slope=slope)
    if act_type == "prelu":
        if gamma is None:
            raise MXNetError("LeakyReLU(act_type='prelu') needs the learnable gamma array.")
        g = sh.reshape(gamma, (1, -1) + (1,) * (data.ndim - 2)) if data.ndim > 1 else gamma
        return ew.relu(data) - g * ew.relu(-data)
    if act_type in ("elu", "selu"):
        alpha, scale = (slope, 1.0) if act_type == "elu" else (1.6732632423543772, 1.0507009873554805)
        neg = alpha * ew.expm1(ew.minimum(data, 0.0))
        return scale * (ew.relu(data) + neg)
    if act_type == "rrelu":
        return apply(LEAKY, data, slope=(lower_bound + upper_bound) / 2)
    raise MXNetError(f"LeakyReLU: unknown act_type {act_type!r}; choose leaky, prelu, elu, selu or rrelu.")


# ----- softmax family -----------------------------------------------------------------------
def _softmax_fwd(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _log_softmax_fwd(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


SOFTMAX = primitive("softmax", _softmax_fwd, lambda g, out, x, axis: (
    out * (g - reduce.sum(g * out, axis=axis, keepdims=True)),))
def _log_softmax_grad_vjp(gg, out, g, logp, axis):
    p = ew.exp(logp)
    return (gg - reduce.sum(gg * p, axis=axis, keepdims=True),
            -gg * p * reduce.sum(g, axis=axis, keepdims=True))


# g - softmax * sum(g) in one pass: the hot path of every classifier's backward
LOG_SOFTMAX_GRAD = primitive(
    "_backward_log_softmax",
    lambda g, logp, axis: g - np.exp(logp) * g.sum(axis=axis, keepdims=True), _log_softmax_grad_vjp)
LOG_SOFTMAX = primitive("log_softmax", _log_softmax_fwd, lambda g, out, x, axis: (
    apply(LOG_SOFTMAX_GRAD, g, out, axis=axis),))


def softmax(data, axis=-1, temperature=None, name=None):
    if temperature not in (None, 1, 1.0):
        data = data / temperature
    return apply(SOFTMAX, data, axis=axis)


def log_softmax(data, axis=-1, temperature=None, name=None):
    if temperature not in (None, 1, 1.0):
        data = data / temperature
    return apply(LOG_SOFTMAX, data, axis=axis)


def _label_one_hot(label, like):
    return sh.one_hot(label, like.shape[-1], dtype=like._data.dtype)


def _sce_fwd(x, label):
    logp = _log_softmax_fwd(x, -1)
    picked = np.take_along_axis(logp, label.astype(np.int64).reshape(-1, 1), -1)
    return -picked.sum(keepdims=True).reshape(1)


SOFTMAX_CE = primitive("softmax_cross_entropy", _sce_fwd, lambda g, out, x, label: (
    (softmax(x) - _label_one_hot(label, x)) * g, None))


def softmax_cross_entropy(data, label, name=None):
    """Summed cross-entropy of ``softmax(data)`` against integer labels; shape (1,), as in MXNet."""
    if data.ndim != 2 or label.shape != (data.shape[0],):
        raise MXNetError(f"softmax_cross_entropy needs data (batch, classes) and label (batch,), got "
                         f"{data.shape} and {label.shape}.")
    return apply(SOFTMAX_CE, data, label)


# ----- loss heads: the forward is the prediction, the gradient is the loss's --------------------
def _scale(label, grad_scale, normalization="null", valid=None):
    if normalization == "batch":
        return grad_scale / label.shape[0]
    if normalization == "valid" and valid is not None:
        return grad_scale / max(float(valid), 1.0)
    return grad_scale


def _softmax_output_vjp(g, out, x, label, grad_scale, ignore_label, use_ignore, normalization, axis):
    onehot = sh.one_hot(label, x.shape[axis], dtype=x._data.dtype)
    if axis != x.ndim - 1:
        onehot = sh.transpose(onehot, _move_last_to(axis, x.ndim))
    diff = out - onehot
    valid = None
    if use_ignore:
        keep = ew.not_equal(label, ignore_label)
        valid = float(keep._data.sum())
        diff = diff * sh.expand_dims(keep, axis)
    return diff * _scale(label, grad_scale, normalization, valid), None


def _move_last_to(axis, ndim):
    order = list(range(ndim - 1))
    order.insert(axis, ndim - 1)
    return tuple(order)


SOFTMAX_OUTPUT = primitive("SoftmaxOutput", lambda x, label, grad_scale, ignore_label, use_ignore,
                           normalization, axis: _softmax_fwd(x, axis), _softmax_output_vjp)


def SoftmaxOutput(data, label, grad_scale=1.0, ignore_label=-1.0, multi_output=False, use_ignore=False,
                  preserve_shape=False, normalization="null", out_grad=False, smooth_alpha=0.0, name=None):
    """Softmax in the forward pass; ``softmax - one_hot(label)`` as the gradient (the head gradient is ignored)."""
    axis = 1 if multi_output else data.ndim - 1
    if not multi_output and data.ndim > 2 and not preserve_shape:
        data = sh.flatten(data)
        axis = 1
    expected = data.shape[:axis] + data.shape[axis + 1:]
    if label.shape != expected:
        if label.size == int(np.prod(expected)):
            label = sh.reshape(label, expected)
        else:
            raise MXNetError(f"SoftmaxOutput: label has shape {label.shape} but data of shape {data.shape} "
                             f"needs labels of shape {expected}.")
    return apply(SOFTMAX_OUTPUT, data, label, grad_scale=grad_scale, ignore_label=ignore_label,
                 use_ignore=use_ignore, normalization=normalization, axis=axis)


Softmax = SoftmaxOutput


def _regression(name, forward, grad_of):
    def vjp(g, out, x, label, grad_scale):
        per_sample = max(label.size // max(label.shape[0], 1), 1)
        return grad_of(out, sh.reshape(label, out.shape)) * (grad_scale / per_sample), None
    prim = primitive(name, lambda x, label, grad_scale: forward(x), vjp)

    def op(data, label, grad_scale=1.0, name=None):
        if label.size != data.size:
            raise MXNetError(f"{prim.name}: label has shape {label.shape}, which does not fit data {data.shape}.")
        return apply(prim, data, label, grad_scale=grad_scale)
    op.__name__ = name
    return op


LinearRegressionOutput = _regression("LinearRegressionOutput", lambda x: x.copy(), lambda out, y: out - y)
LogisticRegressionOutput = _regression("LogisticRegressionOutput", ew._stable_sigmoid, lambda out, y: out - y)
MAERegressionOutput = _regression("MAERegressionOutput", lambda x: x.copy(), lambda out, y: ew.sign(out - y))


# ----- Dropout and BatchNorm: the two ops that read the training flag ---------------------------
DROPOUT = primitive("Dropout", lambda x, mask, p: x * mask, lambda g, out, x, mask, p: (g * mask, None))


def Dropout(data, p=0.5, mode="training", axes=(), cudnn_off=False, name=None):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p), when training.

    The mask comes from trainkit's generator, so ``mx.random.seed`` makes it reproducible.
    """
    if not (autograd.is_training() or mode == "always") or p == 0:
        return data
    from .. import random
    shape = tuple(1 if i in axes else n for i, n in enumerate(data.shape))
    keep = (random.uniform(0.0, 1.0, shape) >= p).astype(data._data.dtype) / (1.0 - p)
    mask = NDArray(data._ctx.xp.asarray(keep), data._ctx)
    return apply(DROPOUT, data, mask, p=p)


def BatchNorm(data, gamma, beta, moving_mean, moving_var, eps=1e-3, momentum=0.9, fix_gamma=True,
              use_global_stats=False, output_mean_var=False, axis=1, name=None, **kwargs):
    """Normalise per channel (``axis``): batch statistics when training, moving ones otherwise.

    Training also updates ``moving_mean``/``moving_var`` in place (biased variance),
    here in the forward pass; MXNet defers it to backward, which gives the same
    values after every record/backward step.
    """
    axis %= data.ndim
    axes = tuple(i for i in range(data.ndim) if i != axis)
    bshape = tuple(n if i == axis else 1 for i, n in enumerate(data.shape))
    if autograd.is_training() and not use_global_stats:
        mean = reduce.mean(data, axis=axes, keepdims=True)
        centred = data - mean
        var = reduce.mean(ew.square(centred), axis=axes, keepdims=True)
        m = momentum
        moving_mean._data[...] = m * moving_mean._data + (1 - m) * mean._data.reshape(moving_mean.shape)
        moving_var._data[...] = m * moving_var._data + (1 - m) * var._data.reshape(moving_var.shape)
    else:
        mean = sh.reshape(moving_mean, bshape)
        var = sh.reshape(moving_var, bshape)
        centred = data - mean
    out = centred / ew.sqrt(var + eps)
    if not fix_gamma:
        out = out * sh.reshape(gamma, bshape)
    out = out + sh.reshape(beta, bshape)
    if output_mean_var:
        return out, sh.reshape(mean, (-1,)), sh.reshape(var, (-1,))
    return out
