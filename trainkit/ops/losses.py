"""Gradient-shaping operators: BlockGrad, make_loss/MakeLoss, SVMOutput, smooth_l1.

The first three are MXNet's "heads": their forward pass is (close to) the identity
and what they define is the gradient that flows back.
"""
import numpy as np

from .core import primitive
from .table import operator
from . import elementwise as ew, shape as sh
from ..base import MXNetError
from ..ndarray.ndarray import NDArray, apply


# ----- BlockGrad ------------------------------------------------------------------------------
# vjp=None: the output is a constant to autograd, so nothing flows back into ``data``
BLOCK_GRAD = primitive("BlockGrad", lambda x: x.copy(), None)


@operator(aliases=("stop_gradient",))
def BlockGrad(data, name=None):
    """The identity in the forward pass; no gradient flows back through it."""
    return apply(BLOCK_GRAD, data)


# ----- make_loss / MakeLoss ---------------------------------------------------------------------
def _make_loss_scale(out, grad_scale, valid_thresh, normalization):
    if normalization == "batch":
        # MXNet views the array as 2-D (first axis, the rest): a 1-D array is one sample
        return grad_scale / (out.shape[0] if out.ndim > 1 else 1)
    if normalization == "valid":
        valid = int((out._data > valid_thresh).sum())
        return grad_scale / max(valid, 1)
    return grad_scale


def _make_loss_vjp(g, out, x, grad_scale, valid_thresh, normalization):
    # the head gradient is ignored: the output *is* the loss, its gradient is grad_scale
    scale = _make_loss_scale(out, grad_scale, valid_thresh, normalization)
    return (NDArray(x._ctx.xp.full(x.shape, scale, dtype=x._data.dtype), x._ctx),)


MAKE_LOSS = primitive("MakeLoss", lambda x, grad_scale, valid_thresh, normalization: x.copy(), _make_loss_vjp)


@operator()
def MakeLoss(data, grad_scale=1.0, valid_thresh=0.0, normalization="null", name=None):
    """Mark ``data`` as a loss: backward starts from ``grad_scale`` everywhere, whatever the head gradient.

    ``normalization='batch'`` divides by the batch size (the first axis), ``'valid'`` by
    the number of elements above ``valid_thresh`` (at least 1), ``'null'`` not at all.
    """
    if normalization not in ("null", "batch", "valid"):
        raise MXNetError(f"MakeLoss: unknown normalization {normalization!r}; choose 'null', 'batch' or 'valid'.")
    return apply(MAKE_LOSS, data, grad_scale=float(grad_scale), valid_thresh=float(valid_thresh),
                 normalization=normalization)


@operator()
def make_loss(data, name=None):
    """``MakeLoss`` with its defaults: backward starts from ones, whatever the head gradient."""
    return apply(MAKE_LOSS, data, grad_scale=1.0, valid_thresh=0.0, normalization="null")


# ----- SVMOutput --------------------------------------------------------------------------------
def _svm_grad(x, label, margin, regularization_coefficient, use_linear):
    """MXNet's hinge-loss gradient, in trainkit ops (so it differentiates again)."""
    onehot = sh.one_hot(label, x.shape[-1], dtype=x._data.dtype)
    other = 1.0 - onehot
    c = regularization_coefficient
    if use_linear:  # L1-SVM: a step where the margin is violated
        return c * (other * ew.greater(margin + x, 0.0) - onehot * ew.greater(margin - x, 0.0))
    # L2-SVM: twice the violation
    return 2.0 * c * (other * ew.relu(margin + x) - onehot * ew.relu(margin - x))


SVM_OUTPUT = primitive(
    "SVMOutput", lambda x, label, margin, regularization_coefficient, use_linear: x.copy(),
    lambda g, out, x, label, margin, regularization_coefficient, use_linear: (
        _svm_grad(x, label, margin, regularization_coefficient, use_linear), None))


def _label_infer(attrs, in_shapes):
    data = in_shapes[0]
    if data is not None and in_shapes[1] is None:
        in_shapes[1] = tuple(data[:-1]) if len(data) > 1 else (data[0],)
    return in_shapes, [data]


@operator(inputs=("data", "label"), infer=_label_infer)
def SVMOutput(data, label, margin=1.0, regularization_coefficient=1.0, use_linear=False, name=None):
    """A support-vector-machine head: the forward pass is the identity, the gradient is the hinge loss's.

    For each sample with label ``k`` (scores on the last axis), entry ``j != k`` gets
    ``c * 2 * max(margin + x_j, 0)`` and entry ``k`` gets ``-c * 2 * max(margin - x_k, 0)``
    (``c`` = regularization_coefficient); ``use_linear=True`` uses the L1 hinge's steps
    ``c * [margin + x_j > 0]`` and ``-c * [margin - x_k > 0]``. The head gradient is ignored.
    """
    want = data.shape[:-1]
    if label.shape != want:
        if label.size != int(np.prod(want)):
            raise MXNetError(f"SVMOutput: label has shape {label.shape} but data of shape {data.shape} needs "
                             f"one label per sample, shape {want}.")
        label = sh.reshape(label, want)
    return apply(SVM_OUTPUT, data, label, margin=float(margin),
                 regularization_coefficient=float(regularization_coefficient), use_linear=bool(use_linear))


# ----- smooth_l1 --------------------------------------------------------------------------------
def _smooth_l1_fwd(x, scalar):
    s2 = scalar * scalar
    ax = np.abs(x)
    return np.where(ax < 1.0 / s2, 0.5 * s2 * x * x, ax - 0.5 / s2).astype(x.dtype, copy=False)


def _smooth_l1_grad_fwd(g, x, scalar):
    s2 = scalar * scalar
    return (g * np.where(np.abs(x) < 1.0 / s2, s2 * x, np.sign(x))).astype(g.dtype, copy=False)


def _smooth_l1_grad_vjp(gg, out, g, x, scalar):
    s2 = scalar * scalar
    inside = ew.lesser(ew.abs(x), 1.0 / s2)
    # d(grad)/dg is the slope again; d(grad)/dx is s² inside the quadratic part, 0 outside
    return apply(SMOOTH_L1_GRAD, gg, x, scalar=scalar), gg * g * inside * s2


SMOOTH_L1_GRAD = primitive("_backward_smooth_l1", _smooth_l1_grad_fwd, _smooth_l1_grad_vjp)
SMOOTH_L1 = primitive("smooth_l1", _smooth_l1_fwd,
                      lambda g, out, x, scalar: (apply(SMOOTH_L1_GRAD, g, x, scalar=scalar),))


@operator()
def smooth_l1(data, scalar=1.0, name=None):
    """``0.5 (σx)²`` where ``|x| < 1/σ²``, else ``|x| - 0.5/σ²`` (σ = ``scalar``), elementwise."""
    return apply(SMOOTH_L1, data, scalar=float(scalar))
