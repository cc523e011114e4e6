"""Special functions without scipy: gamma, log-gamma, erf, erfinv and the polygamma family.

Forwards are numpy functions on backend arrays, computed in float64 and rounded
once to the input's dtype. ``math.gamma``/``math.lgamma``/``math.erf`` are exact to
double precision; vectorised with ``np.frompyfunc`` they cost about a microsecond
per element, which is fine for the sizes these operators see. Polygamma (digamma's
derivatives, which the gradients of gamma and gammaln need at every order) uses the
recurrence ``psi_n(x) = psi_n(x + 1) - (-1)^n n! / x^(n+1)`` to move ``x`` above 10,
then the asymptotic series, accurate to about 1e-13 there.
"""
import math

import numpy as np



def _gamma1(v):
    if v == 0:
        return math.copysign(math.inf, v)
    if (v < 0 and v == math.floor(v)) or v != v:
        return math.nan
    try:
        return math.gamma(v)
    except OverflowError:
        return math.inf


def _lgamma1(v):
    if v != v:
        return math.nan
    if v <= 0 and v == math.floor(v):
        return math.inf
    try:
        return math.lgamma(v)
    except OverflowError:
        return math.inf


_GAMMA = np.frompyfunc(_gamma1, 1, 1)
_LGAMMA = np.frompyfunc(_lgamma1, 1, 1)
_ERF = np.frompyfunc(math.erf, 1, 1)

# Bernoulli numbers B_2k, k = 1..8, for the asymptotic series
_B2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def _in_float64(fn):
    def forward(x):
        x64 = np.asarray(x, dtype=np.float64)
        out = fn(x64)
        dtype = x.dtype if x.dtype.kind == "f" else np.float32
        return np.asarray(out, dtype=np.float64).astype(dtype)
    return forward


gamma = _in_float64(lambda x: _GAMMA(x).astype(np.float64))
gammaln = _in_float64(lambda x: _LGAMMA(x).astype(np.float64))
erf = _in_float64(lambda x: _ERF(x).astype(np.float64))


def _erfinv64(y):
    """Inverse error function: Giles' single-precision approximation, then two Newton steps on math.erf."""
    y = np.asarray(y, dtype=np.float64)
    out = np.full(y.shape, np.nan)
    inside = np.abs(y) < 1
    yi = y[inside]
    w = -np.log((1.0 - yi) * (1.0 + yi))
    small = w < 5.0
    ws = w - 2.5
    p_small = np.polyval([2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                          -0.00125372503, -0.00417768164, 0.246640727, 1.50140941], ws)
    wl = np.sqrt(np.maximum(w, 5.0)) - 3.0
    p_large = np.polyval([-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                          -0.0076224613, 0.00943887047, 1.00167406, 2.83297682], wl)
    x = np.where(small, p_small, p_large) * yi
    for _ in range(2):  # Newton on erf(x) = y; erf' = 2/sqrt(pi) exp(-x^2)
        err = _ERF(x).astype(np.float64) - yi
        x = x - err / (2.0 / math.sqrt(math.pi) * np.exp(-x * x))
    out[inside] = x
    out[y == 1] = np.inf
    out[y == -1] = -np.inf
    return out


erfinv = _in_float64(_erfinv64)


def polygamma(n, x):
    """``psi_n(x)`` (n = 0 is digamma) in float64, for any real ``x`` off the poles."""
    x = np.array(x, dtype=np.float64)
    acc = np.zeros_like(x)
    fact = math.factorial(n)
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)^(n+1)
    poles = (x <= 0) & (x == np.floor(x))
    low = x < 10
    while low.any():  # psi_n(x) = psi_n(x + 1) - (-1)^n n! / x^(n+1), until every x is above 10
        xl = np.where(low, x, 1.0)
        acc += np.where(low, sign * fact / xl ** (n + 1), 0.0)
        x = np.where(low, x + 1, x)
        low = x < 10
    if n == 0:
        series = np.log(x) - 0.5 / x
        for k, b in enumerate(_B2K, 1):
            series -= b / (2 * k * x ** (2 * k))
    else:
        series = math.factorial(n - 1) / x ** n + fact / (2 * x ** (n + 1))
        for k, b in enumerate(_B2K, 1):
            series += b * math.factorial(2 * k + n - 1) / (math.factorial(2 * k) * x ** (2 * k + n))
        series *= sign
    out = series + acc
    out[poles] = np.nan
    return out
