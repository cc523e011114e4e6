"""Neural-network primitives: matrix products, layers, activations, losses, Dropout, BatchNorm.

FullyConnected and the softmax losses are fused primitives with hand-derived
gradients; their vjps are still trainkit ops, so they differentiate again.
"""
import math

import numpy as np

from .core import primitive, wants_needs as _wants_needs
from .table import operator, write_out
from . import elementwise as ew, reduce, shape as sh
from .. import autograd, blas_threads, compiled
from ..base import MXNetError
from ..ndarray.ndarray import NDArray, apply


# ----- matrix products -----------------------------------------------------------------------
def _dot_fwd(a, b, transpose_a, transpose_b):
    return blas_threads.dot(a.T if transpose_a else a, b.T if transpose_b else b)


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


def dot(lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None, name=None):
    """Matrix product of two 2-D arrays (1-D and N-D inputs are reshaped around the 2-D product)."""
    if lhs.ndim == 2 and rhs.ndim == 2:
        k1 = lhs.shape[0 if transpose_a else 1]
        k2 = rhs.shape[1 if transpose_b else 0]
        if k1 != k2:
            raise MXNetError(f"dot: shapes {lhs.shape} and {rhs.shape} do not fit (transpose_a={transpose_a}, "
                             f"transpose_b={transpose_b}): the inner dimensions {k1} and {k2} differ.")
        return apply(DOT, lhs, rhs, transpose_a=transpose_a, transpose_b=transpose_b)
    # N-D: MXNet views each side as a matrix around the contracted axis (lhs's last, or its first
    # when transpose_a; rhs's first, or its last when transpose_b) and keeps the other axes
    if lhs.ndim == 1:
        a, free_a = sh.reshape(lhs, (1, -1) if not transpose_a else (-1, 1)), ()
    elif transpose_a:
        a, free_a = sh.reshape(lhs, (lhs.shape[0], -1)), lhs.shape[1:]
    else:
        a, free_a = sh.reshape(lhs, (-1, lhs.shape[-1])), lhs.shape[:-1]
    if rhs.ndim == 1:
        b, free_b = sh.reshape(rhs, (-1, 1) if not transpose_b else (1, -1)), ()
    elif transpose_b:
        b, free_b = sh.reshape(rhs, (-1, rhs.shape[-1])), rhs.shape[:-1]
    else:
        b, free_b = sh.reshape(rhs, (rhs.shape[0], -1)), rhs.shape[1:]
    return sh.reshape(dot(a, b, transpose_a=transpose_a, transpose_b=transpose_b), (free_a + free_b) or (1,))


def _batch_dot_fwd(a, b, transpose_a, transpose_b):
    return blas_threads.matmul(a.swapaxes(-1, -2) if transpose_a else a, b.swapaxes(-1, -2) if transpose_b else b)


BATCH_DOT = primitive("batch_dot", _batch_dot_fwd, _product_vjp(lambda *args, **kw: batch_dot(*args, **kw)))


@operator(inputs=("lhs", "rhs"))
def batch_dot(lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None, name=None):
    """Matrix products over the leading (batch) axes: (B..., M, K) x (B..., K, N) -> (B..., M, N)."""
    if lhs.ndim < 3 or lhs.ndim != rhs.ndim or lhs.shape[:-2] != rhs.shape[:-2]:
        raise MXNetError(f"batch_dot needs two arrays of at least 3 dimensions with the same batch axes, got "
                         f"{lhs.shape} and {rhs.shape}.")
    k1 = lhs.shape[-2] if transpose_a else lhs.shape[-1]
    k2 = rhs.shape[-1] if transpose_b else rhs.shape[-2]
    if k1 != k2:
        raise MXNetError(f"batch_dot: shapes {lhs.shape} and {rhs.shape} do not fit (transpose_a={transpose_a}, "
                         f"transpose_b={transpose_b}): the inner dimensions {k1} and {k2} differ.")
    return apply(BATCH_DOT, lhs, rhs, transpose_a=transpose_a, transpose_b=transpose_b)


# ----- FullyConnected -------------------------------------------------------------------------
def _fc_fwd(x, w, *bias, num_hidden, flatten):
    x2 = x.reshape(x.shape[0], -1) if flatten and x.ndim != 2 else x
    out = blas_threads.matmul(x2, w.T)
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


def _fc_raw_vjp(g, out, x, w, *bias, num_hidden, flatten, needs):
    """``_fc_vjp`` on backend arrays (the compiled path): the same products in the same order."""
    x2, g2 = x, g
    if x.ndim != 2:
        x2 = x.reshape(x.shape[0], -1) if flatten else x.reshape(-1, x.shape[-1])
        g2 = g.reshape(-1, num_hidden)
    # DOT's and SUM's forwards, called as they call numpy (small layers pay per call)
    dx = blas_threads.dot(g2, w) if needs[0] else None
    if dx is not None and x.ndim != 2:
        dx = dx.reshape(x.shape)
    dw = blas_threads.dot(g2.T, x2) if needs[1] else None
    db = g2.sum(axis=(0,)) if bias and needs[2] else None
    return (dx, dw, db) if bias else (dx, dw)


def _fc_work(site):
    """Multiply-adds of each of the layer's products (forward, and either gradient): batch x in x out."""
    (batch, n_in), (n_out, _) = site.shapes[0], site.shapes[1]
    return batch * n_in * n_out


def _fc_inline(site):
    """``_fc_fwd`` in compiled code, for a 2-D input (Primitive.inline)."""
    if len(site.shapes[0]) != 2:
        return None
    x, w, *bias = site.ins
    return [f"out = {site.product(x, f'{w}.T', _fc_work(site))}"] + [f"out += {b}" for b in bias]


def _fc_inline_vjp(site):
    """``_fc_raw_vjp`` in compiled code, for a 2-D input."""
    if len(site.shapes[0]) != 2:
        return None
    x, w, *bias = site.ins
    needs, lines, work = site.needs, [], _fc_work(site)
    if needs[0]:
        lines.append(f"r0 = {site.product('g', w, work)}")
    if needs[1]:
        lines.append(f"r1 = {site.product('g.T', x, work)}")
    if bias and needs[2]:
        lines.append("r2 = add_reduce(g, axis=(0,))")  # what g.sum(axis=(0,)) calls
    return lines


FULLY_CONNECTED = primitive("FullyConnected", _fc_fwd, _fc_vjp, raw_vjp=_fc_raw_vjp)
FULLY_CONNECTED.inline, FULLY_CONNECTED.inline_vjp = _fc_inline, _fc_inline_vjp


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


# ----- Embedding ----------------------------------------------------------------------------
def _embedding_infer(attrs, in_shapes):
    data = in_shapes[0]
    weight = (int(attrs["input_dim"]), int(attrs["output_dim"]))
    if in_shapes[1] is None:
        in_shapes[1] = weight
    elif tuple(in_shapes[1]) != weight:
        raise MXNetError(f"Embedding: weight has shape {tuple(in_shapes[1])}, but input_dim={weight[0]} and "
                         f"output_dim={weight[1]} need {weight}.")
    return in_shapes, [None if data is None else tuple(data) + (weight[1],)]


@operator(inputs=("data", "weight"), infer=_embedding_infer)
def Embedding(data, weight, input_dim=None, output_dim=None, dtype="float32", sparse_grad=False, name=None):
    """Row ``data[i]`` of ``weight`` (input_dim, output_dim) for every index: output shape data.shape + (output_dim,).

    Indices are rounded down to integers and clipped into [0, input_dim), as MXNet
    does; the weight's gradient adds up the rows' gradients (``sparse_grad`` is
    accepted; the gradient is dense). ``data`` gets no gradient.
    """
    if weight.ndim != 2:
        raise MXNetError(f"Embedding: weight must be 2-D (input_dim, output_dim), got shape {weight.shape}.")
    if input_dim is not None and output_dim is not None and weight.shape != (int(input_dim), int(output_dim)):
        raise MXNetError(f"Embedding: weight has shape {weight.shape}, but input_dim={input_dim} and "
                         f"output_dim={output_dim} need ({input_dim}, {output_dim}).")
    return sh.take(weight, data, axis=0, mode="clip")


# ----- activations ----------------------------------------------------------------------------
_ACTIVATIONS = {"relu": ew.relu, "sigmoid": ew.sigmoid, "tanh": ew.tanh,
                "softrelu": ew.softrelu, "softsign": ew.softsign}


@operator()
def Activation(data, act_type, name=None):
    """relu, sigmoid, tanh, softrelu (``log(1 + exp(x))``) or softsign (``x / (1 + |x|)``), by ``act_type``."""
    try:
        fn = _ACTIVATIONS[act_type]
    except KeyError:
        raise MXNetError(f"Activation: unknown act_type {act_type!r}; choose one of {sorted(_ACTIVATIONS)}.") \
            from None
    return fn(data)


LEAKY_MASK = primitive("_leaky_mask", lambda x, slope: np.where(x > 0, 1, slope).astype(x.dtype), None)
LEAKY = primitive("LeakyReLU", lambda x, slope: np.where(x > 0, x, slope * x),
                  lambda g, out, x, slope: (g * apply(LEAKY_MASK, x, slope=slope),))


_erf = np.vectorize(math.erf, otypes=[np.float64])  # numpy has no erf; scipy is not a dependency
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu_fwd(x):
    return (0.5 * x * (1.0 + _erf(x * _SQRT_HALF))).astype(x.dtype, copy=False)


def _gelu_grad_fwd(g, x):
    """``g * (Φ(x) + x φ(x))``: gelu's derivative, Φ/φ the standard normal cdf/pdf."""
    cdf = 0.5 * (1.0 + _erf(x * _SQRT_HALF))
    return (g * (cdf + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x))).astype(g.dtype, copy=False)


def _gelu_grad_vjp(gg, out, g, x):
    # d/dx [Φ(x) + x φ(x)] = φ(x) (2 - x²); written in trainkit ops so it differentiates again
    pdf = ew.exp(-0.5 * x * x) * _INV_SQRT_2PI
    return apply(GELU_GRAD, gg, x), gg * g * pdf * (2.0 - x * x)


GELU_GRAD = primitive("_backward_gelu", _gelu_grad_fwd, _gelu_grad_vjp)
GELU = primitive("gelu", _gelu_fwd, lambda g, out, x: (apply(GELU_GRAD, g, x),))


def LeakyReLU(data, gamma=None, act_type="leaky", slope=0.25, lower_bound=0.125, upper_bound=0.334, name=None):
    """leaky, prelu (learnable per-channel ``gamma``), elu, selu, gelu (erf form) and rrelu, as MXNet's LeakyReLU.

    rrelu draws a random slope per element in [lower_bound, upper_bound) when training
    (``mx.random.seed`` makes it reproducible) and uses their mean otherwise, as MXNet does.
    """
    if act_type == "leaky":
        return apply(LEAKY, data, slope=slope)
    if act_type == "prelu":
        if gamma is None:
            raise MXNetError("LeakyReLU(act_type='prelu') needs the learnable gamma array.")
        # MXNet's layouts: one slope (shape (1,)), one per channel (axis 1), or an array that
        # matches the data's leading axes (e.g. (batch, channels)) and broadcasts over the rest
        if gamma.ndim > 1:
            g = sh.reshape(gamma, gamma.shape + (1,) * (data.ndim - gamma.ndim))
        elif gamma.shape[0] == 1 or data.ndim == 1:
            g = gamma
        else:
            g = sh.reshape(gamma, (1, -1) + (1,) * (data.ndim - 2))
        return ew.relu(data) - g * ew.relu(-data)
    if act_type in ("elu", "selu"):
        alpha, scale = (slope, 1.0) if act_type == "elu" else (1.6732632423543772, 1.0507009873554805)
        neg = alpha * ew.expm1(ew.minimum(data, 0.0))
        return scale * (ew.relu(data) + neg)
    if act_type == "gelu":
        return apply(GELU, data)
    if act_type == "rrelu":
        if not autograd.is_training():
            return apply(LEAKY, data, slope=(lower_bound + upper_bound) / 2)
        from .. import random  # training: a random slope per element, from trainkit's seeded generator
        slopes = random.uniform(lower_bound, upper_bound, data.shape)._data.astype(data._data.dtype)
        factor = data._ctx.xp.where(data._data > 0, 1, data._ctx.xp.asarray(slopes)).astype(data._data.dtype)
        return data * NDArray(factor, data._ctx)
    raise MXNetError(f"LeakyReLU: unknown act_type {act_type!r}; choose leaky, prelu, elu, selu, gelu or rrelu.")


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
    out * (g - reduce.sum(g * out, axis=axis, keepdims=True)),),
    raw_vjp=lambda g, out, x, axis, needs: (
        out * (g - reduce.SUM.forward(g * out, axes=(axis % out.ndim,), keepdims=True)),))
def _log_softmax_grad_vjp(gg, out, g, logp, axis):
    p = ew.exp(logp)
    return (gg - reduce.sum(gg * p, axis=axis, keepdims=True),
            -gg * p * reduce.sum(g, axis=axis, keepdims=True))


# g - softmax * sum(g) in one pass: the hot path of every classifier's backward
LOG_SOFTMAX_GRAD = primitive(
    "_backward_log_softmax",
    lambda g, logp, axis: g - np.exp(logp) * g.sum(axis=axis, keepdims=True), _log_softmax_grad_vjp)
LOG_SOFTMAX = primitive("log_softmax", _log_softmax_fwd, lambda g, out, x, axis: (
    apply(LOG_SOFTMAX_GRAD, g, out, axis=axis),),
    raw_vjp=lambda g, out, x, axis, needs: (LOG_SOFTMAX_GRAD.forward(g, out, axis=axis),))


def _length_mask(x, length, axis):
    """1 where the position along ``axis`` is below that row's ``length``, else 0 (x's dtype)."""
    axis %= x.ndim
    pos = np.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - 1 - axis))
    return (pos < np.expand_dims(length.astype(np.int64), axis)).astype(x.dtype)


def _masked_softmax_fwd(x, length, axis):
    keep = _length_mask(x, length, axis)
    top = np.where(keep > 0, x, -np.inf).max(axis=axis, keepdims=True)
    e = np.exp(x - np.where(np.isfinite(top), top, 0)) * keep  # a row of length 0 gives zeros
    return e / np.maximum(e.sum(axis=axis, keepdims=True), np.finfo(x.dtype).tiny)


# the masked positions have out == 0, so softmax's own vjp gives them no gradient
MASKED_SOFTMAX = primitive("_softmax_length", _masked_softmax_fwd, lambda g, out, x, length, axis: (
    out * (g - reduce.sum(g * out, axis=axis, keepdims=True)), None))


def _softmax_input(data, temperature, dtype, op):
    if dtype is not None:
        if np.dtype(dtype) not in (np.float16, np.float32, np.float64):
            raise MXNetError(f"{op}: dtype={dtype!r} is not supported; use None, 'float16', 'float32' or 'float64'.")
        data = ew.cast(data, dtype)
    if temperature not in (None, 1, 1.0):
        data = data / temperature
    return data


def _softmax_inputs(attrs):
    return ["data", "length"] if attrs.get("use_length") else ["data"]


@operator(inputs=("data", "length"), input_names=_softmax_inputs)
def softmax(data, length=None, axis=-1, temperature=None, dtype=None, use_length=False, name=None):
    """``exp(x/T) / sum(exp(x/T))`` along ``axis``; with ``use_length``, only the first ``length[i]`` entries.

    ``length`` is an integer array of the data's shape without ``axis``; the entries past
    it are 0 in the output and get no gradient. ``dtype`` computes (and returns) in that type.
    """
    data = _softmax_input(data, temperature, dtype, "softmax")
    if use_length:
        if length is None:
            raise MXNetError("softmax(use_length=True) needs the length array: softmax(data, length, use_length=True).")
        if np.dtype(length.dtype).kind not in "iu":
            raise MXNetError(f"softmax: length must be an integer array (e.g. dtype='int32'), got {np.dtype(length.dtype)}.")
        want = data.shape[:axis % data.ndim] + data.shape[axis % data.ndim + 1:]
        if length.shape != want:
            raise MXNetError(f"softmax: length has shape {length.shape}, but data of shape {data.shape} with "
                             f"axis={axis} needs {want}.")
        return apply(MASKED_SOFTMAX, data, length, axis=axis)
    return apply(SOFTMAX, data, axis=axis)


@operator()
def log_softmax(data, axis=-1, temperature=None, dtype=None, use_length=False, name=None, out=None):
    """``log(softmax(data))``, computed stably."""
    result = apply(LOG_SOFTMAX, _softmax_input(data, temperature, dtype, "log_softmax"), axis=axis)
    return result if out is None else write_out(result, out, "log_softmax")


@operator()
def softmin(data, axis=-1, temperature=None, dtype=None, use_length=False, name=None):
    """``softmax(-data)``: the largest weight on the smallest entry."""
    return apply(SOFTMAX, -_softmax_input(data, temperature, dtype, "softmin"), axis=axis)


@operator()
def SoftmaxActivation(data, mode="instance", name=None):
    """Softmax over everything but the batch axis (``instance``) or over axis 1 (``channel``)."""
    if mode == "channel":
        return apply(SOFTMAX, data, axis=1)
    if mode != "instance":
        raise MXNetError(f"SoftmaxActivation: unknown mode {mode!r}; choose 'instance' or 'channel'.")
    if data.ndim == 2:
        return apply(SOFTMAX, data, axis=-1)
    return sh.reshape(apply(SOFTMAX, sh.reshape(data, (data.shape[0], -1)), axis=-1), data.shape)


def _label_one_hot(label, like):
    return sh.one_hot(label, like.shape[-1], dtype=like._data.dtype)


def _sce_parts(x, label):
    """The summed loss, with the exponentials and their row sums: log_softmax's operations (the same
    values as _log_softmax_fwd), evaluated at the labels only."""
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=-1, keepdims=True)
    picked = shifted[np.arange(len(x)), label.astype(np.int64)]  # fancy indexing: take_along_axis costs more
    picked -= np.log(total[:, 0])
    return -picked.sum(keepdims=True), e, total


def _sce_fwd(x, label):
    return _sce_parts(x, label)[0]


def _sce_fwd_saving(x, label):
    """The loss and softmax(x) for the gradient (_softmax_fwd's operations on the same exponentials)."""
    loss, e, total = _sce_parts(x, label)
    e /= total
    return loss, e


def _sce_raw_vjp(g, out, x, label, needs, saved=None):
    """The vjp below on backend arrays: subtracting the comparison's True/False subtracts one_hot's 1.0/0.0."""
    softmax_x = _softmax_fwd(x, -1) if saved is None else saved
    grad = softmax_x - (np.arange(x.shape[-1]) == label.astype(np.int64)[..., None])
    grad *= g
    return grad, None


def _sce_inline(site):
    """``_sce_fwd_saving`` in compiled code (the batch's row numbers made once); only where the program saves."""
    if not site.saving:
        return None
    x, label = site.ins
    rows = site.const(np.arange(site.shapes[0][0]))
    return [f"shifted = {x} - max_reduce({x}, axis=-1, keepdims=True)",  # x.max(...)'s call
            "e = np.exp(shifted)",
            "total = add_reduce(e, axis=-1, keepdims=True)",
            f"picked = shifted[{rows}, {label}.astype(np.int64)]",
            "picked -= np.log(total[:, 0])",
            "out = -add_reduce(picked, axis=None, keepdims=True)",
            "e /= total",
            "saved = e"]


def _sce_inline_vjp(site):
    """``_sce_raw_vjp`` in compiled code, given the saved softmax (the class numbers made once)."""
    if site.saved is None:
        return None
    x, label = site.ins
    lines = []
    if site.needs[0]:
        classes = site.const(np.arange(site.shapes[0][-1]))
        lines += [f"if {site.saved} is None:", f"    r0 = {site.call}[0]", "else:",
                  f"    r0 = {site.saved} - ({classes} == {label}.astype(np.int64)[..., None])", "    r0 *= g"]
    if site.needs[1]:
        lines.append("r1 = None")
    return lines


SOFTMAX_CE = primitive("softmax_cross_entropy", _sce_fwd, lambda g, out, x, label: (
    (softmax(x) - _label_one_hot(label, x)) * g, None), raw_vjp=_sce_raw_vjp, forward_saving=_sce_fwd_saving)
SOFTMAX_CE.inline, SOFTMAX_CE.inline_vjp = _sce_inline, _sce_inline_vjp


@operator(inputs=("data", "label"))
def softmax_cross_entropy(data, label, name=None):
    """Summed cross-entropy of ``softmax(data)`` against integer labels; shape (1,), as in MXNet."""
    if data.ndim != 2 or label.shape != (data.shape[0],):
        raise MXNetError(f"softmax_cross_entropy needs data (batch, classes) and label (batch,), got "
                         f"{data.shape} and {label.shape}.")
    return apply(SOFTMAX_CE, data, label)


# ----- loss heads: the forward is the prediction, the gradient is the loss's --------------------
def _softmax_output_vjp(g, out, x, label, grad_scale, ignore_label, use_ignore, normalization, axis,
                        smooth_alpha, multi_output):
    if label.shape == x.shape:  # a distribution per sample: the gradient is softmax - label
        target, keep = label, None
    else:
        k = x.shape[axis]
        target = sh.one_hot(label, k, dtype=x._data.dtype)
        if smooth_alpha:
            target = target * (1.0 - smooth_alpha) + (1.0 - target) * (smooth_alpha / (k - 1))
        if axis != x.ndim - 1:
            target = sh.transpose(target, _move_last_to(axis, x.ndim))
        keep = ew.not_equal(label, ignore_label) if use_ignore else None
    diff = out - target
    if keep is not None:
        diff = diff * sh.expand_dims(keep, axis)
    scale = grad_scale
    if normalization == "batch":
        scale /= x.shape[0]
    elif normalization == "valid":
        valid = float(keep._data.sum()) if keep is not None else label.size
        scale /= max(valid, 1.0)
    if multi_output and normalization != "valid":  # MXNet also averages over the spatial positions
        scale /= max(label.size // max(label.shape[0], 1), 1)
    return diff * scale, None


def _move_last_to(axis, ndim):
    order = list(range(ndim - 1))
    order.insert(axis, ndim - 1)
    return tuple(order)


def _softmax_output_raw_vjp(g, out, x, label, grad_scale, ignore_label, use_ignore, normalization, axis,
                            smooth_alpha, multi_output, needs):
    """``_softmax_output_vjp`` on backend arrays for class-index labels on the last axis (the common
    head); None (the NDArray vjp runs) otherwise."""
    if label.shape == x.shape or smooth_alpha or use_ignore or multi_output or axis != x.ndim - 1 \
            or normalization == "valid":
        return None
    # out - one_hot(label): subtracting the comparison's True/False is subtracting 1.0/0.0 in out's dtype
    diff = out - (np.arange(x.shape[axis]) == label.astype(np.int64)[..., None])
    diff *= grad_scale / x.shape[0] if normalization == "batch" else grad_scale
    return diff, None


def _softmax_output_fwd(x, label, grad_scale, ignore_label, use_ignore, normalization, axis, smooth_alpha,
                        multi_output):
    return _softmax_fwd(x, axis)  # the attributes are named, not collected: a dict per call shows on small heads


SOFTMAX_OUTPUT = primitive("SoftmaxOutput", _softmax_output_fwd, _softmax_output_vjp, raw_vjp=_softmax_output_raw_vjp)


def SoftmaxOutput(data, label, grad_scale=1.0, ignore_label=-1.0, multi_output=False, use_ignore=False,
                  preserve_shape=False, normalization="null", out_grad=False, smooth_alpha=0.0, name=None):
    """Softmax in the forward pass; ``softmax - one_hot(label)`` as the gradient (the head gradient is ignored).

    ``label`` holds class indices (one per sample, or per position with ``multi_output``) or,
    with the data's own shape, a distribution per sample. ``smooth_alpha`` spreads that much
    of the target's mass over the other classes; ``normalization`` divides the gradient by
    the batch size (``batch``) or the number of labels not ignored (``valid``); with
    ``multi_output`` the ``null``/``batch`` gradients are also averaged over positions, as MXNet does.
    """
    if normalization not in ("null", "batch", "valid"):
        raise MXNetError(f"SoftmaxOutput: unknown normalization {normalization!r}; choose 'null', 'batch' or 'valid'.")
    axis = 1 if multi_output else data.ndim - 1
    if not multi_output and data.ndim > 2 and not preserve_shape:
        data = sh.flatten(data)
        axis = 1
    expected = data.shape[:axis] + data.shape[axis + 1:]
    if label.shape not in (expected, data.shape):
        if label.size == int(np.prod(expected)):
            label = sh.reshape(label, expected)
        elif label.size == data.size:
            label = sh.reshape(label, data.shape)
        else:
            raise MXNetError(f"SoftmaxOutput: label has shape {label.shape} but data of shape {data.shape} "
                             f"needs labels of shape {expected} (class indices) or {data.shape} (distributions).")
    return apply(SOFTMAX_OUTPUT, data, label, grad_scale=grad_scale, ignore_label=ignore_label,
                 use_ignore=use_ignore, normalization=normalization, axis=axis, smooth_alpha=float(smooth_alpha),
                 multi_output=bool(multi_output))


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
# the gradient is its own primitive of (g, x, mask) whose vjp gives x explicit zeros, so that, as
# in MXNet, differentiating it again with respect to x gives zeros (not "x is unreachable")
DROPOUT_GRAD = primitive("_backward_Dropout", lambda g, x, mask: g * mask,
                         lambda gg, out, g, x, mask: (apply(DROPOUT_GRAD, gg, x, mask), _zeros_like(x), None))


def _zeros_like(x):
    return NDArray(x._ctx.xp.zeros_like(x._data), x._ctx)
DROPOUT = primitive("Dropout", lambda x, mask, p: x * mask,
                    lambda g, out, x, mask, p: (apply(DROPOUT_GRAD, g, x, mask), None),
                    raw_vjp=lambda g, out, x, mask, p, needs: (DROPOUT_GRAD.forward(g, x, mask), None))


def Dropout(data, p=0.5, mode="training", axes=(), cudnn_off=False, name=None):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p), when training.

    The mask comes from trainkit's generator, so ``mx.random.seed`` makes it reproducible.
    """
    if not (autograd.is_training() or mode == "always") or p == 0:
        return data
    shape = tuple(1 if i in axes else n for i, n in enumerate(data.shape))
    mask = NDArray(_dropout_mask(shape, data._data.dtype, p, data._ctx.xp), data._ctx)
    return apply(DROPOUT, data, mask, p=p)


def _dropout_mask(shape, dtype, p, xp):
    from .. import random_streams as random  # numpy draws (mx.random's samplers return NDArrays)
    return xp.asarray((random.uniform(0.0, 1.0, shape) >= p).astype(dtype) / (1.0 - p))


# the compiled path draws the mask afresh on each run, at the same point of the stream
compiled.redrawn(DROPOUT, 1, lambda like, attrs: _dropout_mask(like.shape, like.dtype, attrs["p"], np))


def BatchNorm(data, gamma, beta, moving_mean, moving_var, eps=1e-3, momentum=0.9, fix_gamma=True,
              use_global_stats=False, output_mean_var=False, axis=1, name=None, **kwargs):
    """Normalise per channel (``axis``): batch statistics when training, moving ones otherwise.

    Training also updates ``moving_mean``/``moving_var`` in place (biased variance),
    here in the forward pass; MXNet defers it to backward, which gives the same
    values after every record/backward step. ``output_mean_var=True`` also returns, as
    MXNet does, the mean used and the *inverse* standard deviation ``1/sqrt(var + eps)``
    (batch statistics when training, the moving ones otherwise), each of shape (channels,).
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
        return [out, sh.reshape(mean, (-1,)), sh.reshape(1.0 / ew.sqrt(var + eps), (-1,))]
    return out


def _bn_v1_infer(attrs, in_shapes):
    data = in_shapes[0]
    n_out = 3 if attrs.get("output_mean_var") else 1
    if data is None:
        return in_shapes, [None] * n_out
    c = data[1]
    for i in range(1, 5):
        if in_shapes[i] is None:
            in_shapes[i] = (c,)
        elif tuple(in_shapes[i]) != (c,):
            raise MXNetError(f"BatchNorm_v1: input {i} has shape {tuple(in_shapes[i])}, but data of shape "
                             f"{tuple(data)} has {c} channels.")
    return in_shapes, [tuple(data)] + [(c,), (c,)] * (n_out > 1)


@operator(inputs=("data", "gamma", "beta", "moving_mean", "moving_var"), aux=("moving_mean", "moving_var"),
          infer=_bn_v1_infer, num_outputs=lambda attrs: 3 if attrs.get("output_mean_var") else 1,
          output_names=lambda attrs: ["output", "mean", "var"] if attrs.get("output_mean_var") else ["output"])
def BatchNorm_v1(data, gamma, beta, moving_mean, moving_var, eps=1e-3, momentum=0.9, fix_gamma=True,
                 use_global_stats=False, output_mean_var=False, name=None):
    """MXNet's deprecated first BatchNorm: ``BatchNorm`` on axis 1 with the same statistics and updates."""
    return BatchNorm(data, gamma, beta, moving_mean, moving_var, eps=eps, momentum=momentum, fix_gamma=fix_gamma,
                     use_global_stats=use_global_stats, output_mean_var=output_mean_var, axis=1)
