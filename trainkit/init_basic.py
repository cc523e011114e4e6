"""The basic initializers: constants (``Zero``, ``One``, ``Constant``) and random draws (``Uniform``,
``Normal``, ``Xavier``, ``MSRAPrelu``, ``Orthogonal``), each in MXNet 1.9.1's order of draws."""
import math

import numpy as np

from . import random_streams as _random
from .ndarray.ndarray import NDArray
from .init_base import Initializer, _assign, _check_choice, _check_number, _to_json, alias, register


# ----- constants ---------------------------------------------------------------------------------

@register
@alias("zeros")
class Zero(Initializer):
    """Weights are 0."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        _assign(arr, 0.0)

    def _weight_moments(self, desc, shape):
        return 0.0, 0.0


@register
@alias("ones")
class One(Initializer):
    """Weights are 1."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        _assign(arr, 1.0)

    def _weight_moments(self, desc, shape):
        return 1.0, 0.0


@register
class Constant(Initializer):
    """Weights are ``value``: a number, or a list/numpy array/NDArray that broadcasts to the weight's shape."""

    def __init__(self, value):
        if isinstance(value, (str, bytes, dict)) or value is None:
            raise TypeError(f"Constant value must be a number, a list, a numpy array or an NDArray, got {value!r}.")
        # the keyword arguments hold the JSON form (so json.dumps(init._kwargs) works, as MXNet code does),
        # without dumps() having to rewrite them as MXNet's does
        super().__init__(value=_to_json(value))
        self.value = value

    def _values(self, name, shape):
        value = self.value.asnumpy() if isinstance(self.value, NDArray) else np.asarray(self.value)
        try:
            return np.broadcast_to(value, shape)
        except ValueError:
            raise ValueError(f"Constant value of shape {value.shape} cannot be broadcast to parameter {name} of "
                             f"shape {tuple(shape)}. Use a scalar or a value whose shape broadcasts.") from None

    def _init_weight(self, name, arr):
        _assign(arr, self._values(name, arr.shape))

    def _weight_moments(self, desc, shape):
        values = self._values(desc, shape).astype(np.float64)
        return (float(values.mean()), float(values.std())) if values.size else (0.0, 0.0)


# ----- random ----------------------------------------------------------------------------------------

def _fill_uniform(arr, scale):
    # One draw of the parameter's full shape, as MXNet's random.uniform(out=arr).
    _assign(arr, _random.uniform(-scale, scale, arr.shape, arr.dtype))


def _fill_normal(arr, sigma):
    _assign(arr, _random.normal(0, sigma, arr.shape, arr.dtype))


@register
class Uniform(Initializer):
    """Weights from U(-scale, scale): standard deviation ``scale / sqrt(3)``."""

    def __init__(self, scale=0.07):
        _check_number("Uniform", "scale", scale, 0)
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _, arr):
        _fill_uniform(arr, float(self.scale))

    def _weight_moments(self, desc, shape):
        return 0.0, float(self.scale) / math.sqrt(3)


@register
class Normal(Initializer):
    """Weights from N(0, sigma²)."""

    def __init__(self, sigma=0.01):
        _check_number("Normal", "sigma", sigma, 0)
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _, arr):
        _fill_normal(arr, float(self.sigma))

    def _weight_moments(self, desc, shape):
        return 0.0, float(self.sigma)


def _fans(name, shape, cls_name):
    """(fan_in, fan_out) of an (out, in, *kernel) weight, MXNet's convention."""
    if len(shape) < 2:
        raise ValueError(f"{cls_name} initializer cannot be applied to vector {name}. It requires at least 2D. "
                         "Use another initializer for it, e.g. Variable(init=mx.init.Zero()).")
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1.0
    return shape[1] * receptive, shape[0] * receptive


@register
class Xavier(Initializer):
    """Variance scaling, after Glorot & Bengio (2010), "Understanding the difficulty of training deep
    feedforward neural networks".

    With ``fan_in = shape[1] * prod(shape[2:])`` and ``fan_out = shape[0] * prod(shape[2:])``,
    ``factor`` is ``(fan_in + fan_out) / 2`` (``avg``), ``fan_in`` (``in``) or
    ``fan_out`` (``out``), and ``scale = sqrt(magnitude / factor)``. ``uniform``
    draws U(-scale, scale), so Var = magnitude / (3 factor); ``gaussian`` draws
    N(0, scale²), so Var = magnitude / factor. The defaults (uniform, avg, 3)
    give Glorot's Var = 2 / (fan_in + fan_out).
    """

    _RND_TYPES = ("uniform", "gaussian")
    _FACTOR_TYPES = ("avg", "in", "out")

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        _check_choice(type(self).__name__, "rnd_type", rnd_type, self._RND_TYPES)
        _check_choice(type(self).__name__, "factor_type", factor_type, self._FACTOR_TYPES)
        magnitude_f = _check_number(type(self).__name__, "magnitude", magnitude, 0)
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = magnitude_f

    def _scale(self, name, shape):
        fan_in, fan_out = _fans(name, shape, "Xavier")
        factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[self.factor_type]
        # Computed exactly as MXNet does (float64 sqrt of magnitude / factor), so
        # the bound rounds to the same float32 and the draws match bit for bit.
        return float(np.sqrt(self.magnitude / factor))

    def _init_weight(self, name, arr):
        scale = self._scale(name, arr.shape)
        if self.rnd_type == "uniform":
            _fill_uniform(arr, scale)
        else:
            _fill_normal(arr, scale)

    def _weight_moments(self, desc, shape):
        scale = self._scale(desc, shape)
        return 0.0, scale / math.sqrt(3) if self.rnd_type == "uniform" else scale


@register
class MSRAPrelu(Xavier):
    """He et al. (2015), "Delving Deep into Rectifiers" (MSRA/Kaiming init) for PReLU slopes.

    Gaussian variance scaling with ``magnitude = 2 / (1 + slope²)``: std =
    ``sqrt(magnitude / factor)`` with ``factor`` from ``factor_type`` as in
    ``Xavier``. ``slope=0`` gives the ReLU rule std = sqrt(2 / fan).
    """

    def __init__(self, factor_type="avg", slope=0.25):
        _check_number("MSRAPrelu", "slope", slope)
        super().__init__("gaussian", factor_type, 2.0 / (1 + slope ** 2))
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Orthogonal(Initializer):
    """Saxe et al. (2014), "Exact solutions to the nonlinear dynamics of learning in deep linear neural
    networks": a random orthogonal matrix times ``scale``.

    The weight is viewed as ``(nout, nin)`` with ``nin = prod(shape[1:])``. A
    matrix A is drawn from U(-1, 1) (``rand_type='uniform'``) or N(0, 1)
    (``'normal'``), one draw of shape ``(nout, nin)`` as in MXNet, and
    orthonormalised by QR with R's diagonal made positive (Mezzadri 2007, "How to
    generate random matrices from the classical compact groups"): the rows
    (nout <= nin) or columns (nout > nin) of the result are orthonormal, so
    W·Wᵀ = scale²·I (or Wᵀ·W). MXNet uses an SVD instead: same distribution
    family, same draws, different values, and an SVD of a 4096² weight takes
    minutes. Each entry has mean square ``scale² / max(nout, nin)``.
    """

    _RAND_TYPES = ("uniform", "normal")

    def __init__(self, scale=1.414, rand_type="uniform"):
        _check_number("Orthogonal", "scale", scale)
        _check_choice("Orthogonal", "rand_type", rand_type, self._RAND_TYPES)
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    @staticmethod
    def _dims(name, shape):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer cannot be applied to {name} of shape {tuple(shape)}: it "
                             "needs a weight with at least 2 dimensions (out, in, ...).")
        return shape[0], math.prod(shape[1:])

    def _init_weight(self, name, arr):
        nout, nin = self._dims(name, arr.shape)
        if self.rand_type == "uniform":
            tmp = _random.uniform(-1.0, 1.0, (nout, nin))
        else:
            tmp = _random.normal(0.0, 1.0, (nout, nin))
        tmp = tmp.astype(np.float64)
        q = _orthonormal_columns(tmp) if nout >= nin else _orthonormal_columns(tmp.T).T
        _assign(arr, (float(self.scale) * q).reshape(arr.shape).astype(arr.dtype))

    def _weight_moments(self, desc, shape):
        # ||W||_F² = scale² · min(nout, nin) exactly, spread over nout·nin entries.
        nout, nin = self._dims(desc, shape)
        return 0.0, abs(float(self.scale)) / math.sqrt(max(nout, nin))


def _orthonormal_columns(a):
    """Q of a = QR (a is m x n, m >= n) with R's diagonal positive.

    numpy forms Q with LAPACK's dorgqr, which doubles the cost of the
    factorisation; Q = A·R⁻¹ by blocked back-substitution costs one matmul.
    Its orthogonality error grows with cond(A), so near-singular draws (rare)
    take the Householder route.
    """
    if a.size == 0:
        return a
    r = np.linalg.qr(a, mode="r")
    diag = np.diagonal(r)
    signs = np.where(diag < 0, -1.0, 1.0)
    if np.abs(diag).min() <= 1e-6 * np.abs(diag).max():
        q, r = np.linalg.qr(a)
        return q * np.where(np.diagonal(r) < 0, -1.0, 1.0)
    r = r * signs[:, None]
    n = r.shape[0]
    q = np.empty_like(a)
    block = 256
    for j0 in range(0, n, block):
        j1 = min(j0 + block, n)
        rhs = a[:, j0:j1] - q[:, :j0] @ r[:j0, j0:j1] if j0 else a[:, j0:j1]
        q[:, j0:j1] = rhs @ np.linalg.inv(r[j0:j1, j0:j1])
    return q
