"""``mx.nd.random`` (also ``mx.random``): MXNet 1.x's samplers, returning NDArrays.

Each function takes Python numbers (one distribution: ``_random_*``, with
``shape``, ``dtype``, ``ctx``, ``out``) or NDArrays (one distribution per element:
``_sample_*``, output shape ``param.shape + shape``), as MXNet's do; mixing the two
raises ``AssertionError`` as in MXNet. The operators live in ``trainkit/ops/random_ops.py``.
"""
import numbers

from ..ops import random_ops as _ops
from .ndarray import NDArray

__all__ = ["uniform", "normal", "randn", "gamma", "exponential", "poisson", "negative_binomial",
           "generalized_negative_binomial", "multinomial", "shuffle", "randint", "uniform_like", "normal_like",
           "gamma_like", "exponential_like", "poisson_like", "negative_binomial_like",
           "generalized_negative_binomial_like"]


def _dispatch(name, params, scalar_op, array_op, shape, dtype, ctx, out):
    """Call the ``_random_`` form for numbers, the ``_sample_`` form for NDArrays (MXNet's _random_helper)."""
    values = list(params.values())
    if all(isinstance(v, numbers.Number) for v in values):
        return scalar_op(*values, shape=shape, dtype=dtype, ctx=ctx, out=out)
    if all(isinstance(v, NDArray) for v in values):
        return array_op(*values, shape=shape, dtype=dtype, out=out)
    kinds = " and ".join(sorted({type(v).__name__ for v in values}))
    # AssertionError, as MXNet's _random_helper raises
    raise AssertionError(f"random.{name}: distribution parameters must all be numbers or all be NDArrays, got {kinds} "
                     f"({', '.join(params)}). Pass NDArrays of one shape for per-element distributions.")


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from U[low, high); scalar bounds replay MXNet 1.9.1's CPU stream bit for bit."""
    return _dispatch("uniform", {"low": low, "high": high}, _ops.random_uniform, _ops.sample_uniform,
                     shape, dtype, ctx, out)


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from N(loc, scale**2); scalar parameters replay MXNet 1.9.1's CPU stream bit for bit."""
    return _dispatch("normal", {"loc": loc, "scale": scale}, _ops.random_normal, _ops.sample_normal,
                     shape, dtype, ctx, out)


def randn(*shape, **kwargs):
    """``normal`` with the shape given positionally: ``randn(2, 3, loc=0, scale=1)``."""
    loc, scale = kwargs.pop("loc", 0), kwargs.pop("scale", 1)
    if not shape:
        raise ValueError("random.randn needs a shape, e.g. mx.nd.random.randn(2, 3).")
    return normal(loc, scale, shape, kwargs.pop("dtype", None), kwargs.pop("ctx", None), kwargs.pop("out", None))


def gamma(alpha=1, beta=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Gamma with shape ``alpha`` and scale ``beta`` (mean alpha * beta)."""
    return _dispatch("gamma", {"alpha": alpha, "beta": beta}, _ops.random_gamma, _ops.sample_gamma,
                     shape, dtype, ctx, out)


def exponential(scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Exponential with mean ``scale`` (the operators take the rate, 1/scale)."""
    return _dispatch("exponential", {"lam": 1.0 / scale}, _ops.random_exponential, _ops.sample_exponential,
                     shape, dtype, ctx, out)


def poisson(lam=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    return _dispatch("poisson", {"lam": lam}, _ops.random_poisson, _ops.sample_poisson, shape, dtype, ctx, out)


def negative_binomial(k=1, p=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Failures before the k-th success, each trial succeeding with probability p."""
    return _dispatch("negative_binomial", {"k": k, "p": p}, _ops.random_negative_binomial,
                     _ops.sample_negative_binomial, shape, dtype, ctx, out)


def generalized_negative_binomial(mu=1, alpha=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Mean ``mu``, variance ``mu + alpha * mu**2``."""
    return _dispatch("generalized_negative_binomial", {"mu": mu, "alpha": alpha},
                     _ops.random_generalized_negative_binomial, _ops.sample_generalized_negative_binomial,
                     shape, dtype, ctx, out)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Integers uniform in [low, high), int32 by default (``dtype='int64'`` for 64-bit)."""
    return _ops.random_randint(low, high, shape=shape, dtype=dtype, ctx=ctx, out=out)


def multinomial(data, shape=None, get_prob=False, out=None, dtype="int32", **kwargs):
    """Indices drawn from the distributions on ``data``'s last axis (``get_prob`` adds their log-probabilities)."""
    return _ops.sample_multinomial(data, shape=shape, get_prob=get_prob, dtype=dtype, out=out)


def shuffle(data, **kwargs):
    """A copy of ``data`` with its rows (first axis) in random order."""
    return _ops.shuffle(data, out=kwargs.get("out"))


def uniform_like(data=None, low=0, high=1, out=None, **kwargs):
    return _ops.random_uniform_like(data, low, high, out=out)


def normal_like(data=None, loc=0, scale=1, out=None, **kwargs):
    return _ops.random_normal_like(data, loc, scale, out=out)


def gamma_like(data=None, alpha=1, beta=1, out=None, **kwargs):
    return _ops.random_gamma_like(data, alpha, beta, out=out)


def exponential_like(data=None, lam=1, out=None, **kwargs):
    return _ops.random_exponential_like(data, lam, out=out)


def poisson_like(data=None, lam=1, out=None, **kwargs):
    return _ops.random_poisson_like(data, lam, out=out)


def negative_binomial_like(data=None, k=1, p=1, out=None, **kwargs):
    return _ops.random_negative_binomial_like(data, k, p, out=out)


def generalized_negative_binomial_like(data=None, mu=1, alpha=1, out=None, **kwargs):
    return _ops.random_generalized_negative_binomial_like(data, mu, alpha, out=out)
