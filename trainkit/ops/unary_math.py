"""More elementwise math: inverse trigonometric and hyperbolic functions, logs and roots,
rounding, the gamma family, erf/erfinv, hard_sigmoid and logical_not.

Each gradient is written in trainkit ops, so every order of derivative works
(gamma's and gammaln's go through the polygamma primitives, one per order).
Rounding functions (rint, fix, trunc) have zero gradients and logical_not none, as in MXNet.
"""
import math

import numpy as np

from . import special
from .core import primitive
from .elementwise import _libm, exp, sqrt, square, zero_grad
from .table import operator, same_shape
from ..ndarray.ndarray import apply


def _op(prim, doc):
    def op(data, name=None):
        return apply(prim, data)
    op.__name__ = prim.name
    op.__doc__ = doc
    return operator(infer=same_shape)(op)


_LN2, _LN10 = math.log(2.0), math.log(10.0)

TAN = primitive("tan", _libm(np.tan), lambda g, out, x: (g * (1 + out * out),))
ARCSIN = primitive("arcsin", _libm(np.arcsin), lambda g, out, x: (g / sqrt(1 - x * x),))
ARCCOS = primitive("arccos", _libm(np.arccos), lambda g, out, x: (-g / sqrt(1 - x * x),))
ARCSINH = primitive("arcsinh", _libm(np.arcsinh), lambda g, out, x: (g / sqrt(x * x + 1),))
ARCCOSH = primitive("arccosh", _libm(np.arccosh), lambda g, out, x: (g / sqrt(x * x - 1),))
ARCTANH = primitive("arctanh", _libm(np.arctanh), lambda g, out, x: (g / (1 - x * x),))
DEGREES = primitive("degrees", np.degrees, lambda g, out, x: (g * (180.0 / math.pi),))
# radians' gradient reads x (as MXNet's _backward_radians does), so its second order is zero, not an error
SCALED_BY = primitive("_backward_radians", lambda g, x, scale: g * scale,
                      lambda gg, out, g, x, scale: (gg * scale, zero_grad(None, None, x)[0]))
RADIANS = primitive("radians", np.radians, lambda g, out, x: (apply(SCALED_BY, g, x, scale=math.pi / 180.0),))
LOG2 = primitive("log2", _libm(np.log2), lambda g, out, x: (g / (x * _LN2),))
LOG10 = primitive("log10", _libm(np.log10), lambda g, out, x: (g / (x * _LN10),))
CBRT = primitive("cbrt", _libm(np.cbrt), lambda g, out, x: (g / (3 * out * out),))
RCBRT = primitive("rcbrt", _libm(lambda x: 1 / np.cbrt(x)), lambda g, out, x: (-g * out / (3 * x),))
RSQRT = primitive("rsqrt", _libm(lambda x: 1 / np.sqrt(x)), lambda g, out, x: (-0.5 * g * out / x,))
RINT = primitive("rint", np.rint, zero_grad)
FIX = primitive("fix", np.fix, zero_grad)
TRUNC = primitive("trunc", np.trunc, zero_grad)
LOGICAL_NOT = primitive("logical_not", lambda x: (x == 0).astype(x.dtype), None)

tan = _op(TAN, "Elementwise tangent.")
arcsin = _op(ARCSIN, "Elementwise inverse sine, in [-pi/2, pi/2].")
arccos = _op(ARCCOS, "Elementwise inverse cosine, in [0, pi].")
arcsinh = _op(ARCSINH, "Elementwise inverse hyperbolic sine.")
arccosh = _op(ARCCOSH, "Elementwise inverse hyperbolic cosine (x >= 1).")
arctanh = _op(ARCTANH, "Elementwise inverse hyperbolic tangent (|x| < 1).")
degrees = _op(DEGREES, "Radians to degrees.")
radians = _op(RADIANS, "Degrees to radians.")
log2 = _op(LOG2, "Base-2 logarithm.")
log10 = _op(LOG10, "Base-10 logarithm.")
cbrt = _op(CBRT, "Cube root.")
rcbrt = _op(RCBRT, "Reciprocal cube root, 1 / cbrt(x).")
rsqrt = _op(RSQRT, "Reciprocal square root, 1 / sqrt(x).")
rint = _op(RINT, "Round to the nearest integer (halves to even, as numpy and MXNet's CPU kernel).")
fix = _op(FIX, "Round towards zero.")
trunc = _op(TRUNC, "Drop the fractional part (round towards zero).")
logical_not = _op(LOGICAL_NOT, "1 where x == 0, else 0 (in x's dtype).")


# ----- the gamma family ---------------------------------------------------------------------------
POLYGAMMA = {}


def polygamma(data, n):
    """``psi_n(data)``: digamma for n = 0, its n-th derivative otherwise (an internal helper)."""
    prim = POLYGAMMA.get(n)
    if prim is None:  # one primitive per order, each differentiating into the next
        prim = POLYGAMMA[n] = primitive(
            f"_polygamma{n}", lambda x, order=n: special.polygamma(order, x).astype(x.dtype),
            lambda g, out, x, order=n: (g * polygamma(x, order + 1),))
    return apply(prim, data)


GAMMA = primitive("gamma", special.gamma, lambda g, out, x: (g * out * polygamma(x, 0),))
GAMMALN = primitive("gammaln", special.gammaln, lambda g, out, x: (g * polygamma(x, 0),))
ERF = primitive("erf", special.erf, lambda g, out, x: (g * (2 / math.sqrt(math.pi)) * exp(-square(x)),))
ERFINV = primitive("erfinv", special.erfinv, lambda g, out, x: (g * (math.sqrt(math.pi) / 2) * exp(square(out)),))

gamma = _op(GAMMA, "The gamma function (inf at 0, nan at negative integers).")
gammaln = _op(GAMMALN, "log |gamma(x)|.")
erf = _op(ERF, "The error function.")
erfinv = _op(ERFINV, "The inverse error function (+-inf at +-1, nan outside [-1, 1]).")


# ----- hard_sigmoid ---------------------------------------------------------------------------------
def _hard_sigmoid_vjp(g, out, x, alpha, beta):
    inside = apply(_LINEAR_PART, x, alpha=alpha, beta=beta)
    return (g * inside * alpha,)


_LINEAR_PART = primitive("_hard_sigmoid_mask", lambda x, alpha, beta: (
    (alpha * x + beta > 0) & (alpha * x + beta < 1)).astype(x.dtype), None)
HARD_SIGMOID = primitive("hard_sigmoid", lambda x, alpha, beta: np.clip(alpha * x + beta, 0, 1).astype(x.dtype),
                         _hard_sigmoid_vjp)


@operator(infer=same_shape)
def hard_sigmoid(data, alpha=0.2, beta=0.5, name=None):
    """``clip(alpha * x + beta, 0, 1)``."""
    return apply(HARD_SIGMOID, data, alpha=float(alpha), beta=float(beta))


