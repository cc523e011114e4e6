"""MXNet's sampler operators: ``_random_*`` (scalar parameters), ``_sample_*`` (array parameters) and ``*_like``.

Every draw comes from trainkit's generator (``trainkit.random_streams``), so
``mx.random.seed`` makes it reproducible. ``uniform`` and ``normal`` with scalar
parameters replay MXNet 1.9.1's CPU stream bit for bit; the other distributions
are drawn by numpy from a generator keyed by the bank (correct in distribution,
not MXNet's exact numbers). Samplers have no gradient, as in MXNet.

The table registers MXNet's operator names (``_random_uniform`` is
``mx.sym.random.uniform`` and the legacy ``mx.nd.random_uniform``/``mx.nd.uniform``);
``trainkit/ndarray/random.py`` holds the user-facing ``mx.nd.random`` functions,
which dispatch between the ``_random_`` and ``_sample_`` forms as MXNet's do.
"""
import math

import numpy as np

from .table import operator
from .. import random_streams as _streams
from ..base import MXNetError
from ..context import Context, current_context
from ..ndarray.ndarray import NDArray, _to_device

_FLOATS = ("float16", "float32", "float64")


def _as_shape(shape, default=(1,)):
    if shape is None or shape == ():
        return default
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def _dtype(dtype, out, default="float32", allowed=_FLOATS, op="sampler"):
    if dtype is None or dtype == "None":
        dtype = out.dtype if out is not None else default
    dtype = np.dtype(dtype)
    if dtype.name not in allowed:
        raise MXNetError(f"Invalid Input: '{dtype.name}', valid values are: {set(allowed)}, in operator {op}. "
                         f"Pass one of these dtypes, and cast the result if you need another type.")
    return dtype


def _context(ctx):
    """``ctx`` as a Context: symbols store it as text (``"cpu(0)"``)."""
    if isinstance(ctx, str):
        kind, _, rest = ctx.partition("(")
        return Context(kind.strip(), int(rest.rstrip(")") or 0))
    return ctx or current_context()


def _place(values, ctx, out, dtype):
    """Samples (numpy) as an NDArray on ``ctx``, or written into ``out``."""
    values = np.asarray(values).astype(dtype, copy=False)
    if out is not None:
        if out.shape != values.shape:
            raise MXNetError(f"out= has shape {out.shape} but the samples have shape {values.shape}.")
        out._check_writable()
        out._data[...] = _to_device(values, out._ctx) if out._ctx.device_type == "gpu" else values
        return out
    ctx = _context(ctx)
    return NDArray(_to_device(values, ctx) if ctx.device_type == "gpu" else values, ctx)


def _request(shape, out, dtype, default_dtype="float32", allowed=_FLOATS, op="sampler"):
    shape = out.shape if out is not None and shape in (None, ()) else _as_shape(shape)
    return shape, _dtype(dtype, out, default_dtype, allowed, op)


# ----- scalar parameters: _random_* ---------------------------------------------------------------------
@operator(inputs=(), name="_random_uniform", aliases=("random_uniform", "uniform"))
def random_uniform(low=0.0, high=1.0, shape=None, dtype=None, ctx=None, out=None, name=None):
    shape, dtype = _request(shape, out, dtype, op="_random_uniform")
    return _place(_streams.uniform(float(low), float(high), shape, dtype), ctx, out, dtype)


@operator(inputs=(), name="_random_normal", aliases=("random_normal", "normal"))
def random_normal(loc=0.0, scale=1.0, shape=None, dtype=None, ctx=None, out=None, name=None):
    shape, dtype = _request(shape, out, dtype, op="_random_normal")
    return _place(_streams.normal(float(loc), float(scale), shape, dtype), ctx, out, dtype)


def _numpy_draw(draw, shape, dtype, ctx, out):
    return _place(draw(_streams.numpy_generator(), shape), ctx, out, dtype)


@operator(inputs=(), name="_random_gamma", aliases=("random_gamma",))
def random_gamma(alpha=1.0, beta=1.0, shape=None, dtype=None, ctx=None, out=None, name=None):
    """Gamma with shape ``alpha`` and scale ``beta`` (mean alpha*beta)."""
    shape, dtype = _request(shape, out, dtype, op="_random_gamma")
    _positive(alpha=alpha, beta=beta)
    return _numpy_draw(lambda g, s: g.gamma(float(alpha), float(beta), s), shape, dtype, ctx, out)


@operator(inputs=(), name="_random_exponential", aliases=("random_exponential",))
def random_exponential(lam=1.0, shape=None, dtype=None, ctx=None, out=None, name=None):
    """Exponential with rate ``lam`` (mean 1/lam)."""
    shape, dtype = _request(shape, out, dtype, op="_random_exponential")
    _positive(lam=lam)
    return _numpy_draw(lambda g, s: g.exponential(1.0 / float(lam), s), shape, dtype, ctx, out)


@operator(inputs=(), name="_random_poisson", aliases=("random_poisson",))
def random_poisson(lam=1.0, shape=None, dtype=None, ctx=None, out=None, name=None):
    shape, dtype = _request(shape, out, dtype, op="_random_poisson")
    _non_negative(lam=lam)
    return _numpy_draw(lambda g, s: g.poisson(float(lam), s), shape, dtype, ctx, out)


@operator(inputs=(), name="_random_negative_binomial", aliases=("random_negative_binomial",))
def random_negative_binomial(k=1, p=1.0, shape=None, dtype=None, ctx=None, out=None, name=None):
    """Failures before the ``k``-th success, each trial succeeding with probability ``p``."""
    shape, dtype = _request(shape, out, dtype, op="_random_negative_binomial")
    _probability(p)
    return _numpy_draw(lambda g, s: _negative_binomial(g, k, p, s), shape, dtype, ctx, out)


@operator(inputs=(), name="_random_generalized_negative_binomial",
          aliases=("random_generalized_negative_binomial",))
def random_generalized_negative_binomial(mu=1.0, alpha=1.0, shape=None, dtype=None, ctx=None, out=None,
                                         name=None):
    """Mean ``mu``, variance ``mu + alpha * mu**2`` (a gamma-mixed Poisson; alpha=0 is Poisson)."""
    shape, dtype = _request(shape, out, dtype, op="_random_generalized_negative_binomial")
    _non_negative(mu=mu, alpha=alpha)
    return _numpy_draw(lambda g, s: _generalized_nb(g, mu, alpha, s), shape, dtype, ctx, out)


@operator(inputs=(), name="_random_randint", aliases=("random_randint",))
def random_randint(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, name=None):
    """Integers uniform in ``[low, high)``; int32 unless ``dtype='int64'``."""
    shape, dtype = _request(shape, out, dtype, "int32", ("int32", "int64"), "_random_randint")
    low, high = int(low), int(high)
    if high <= low:
        raise MXNetError(f"randint needs low < high, got low={low}, high={high}.")
    return _numpy_draw(lambda g, s: g.integers(low, high, s, dtype=dtype), shape, dtype, ctx, out)


def _negative_binomial(g, k, p, size):
    k, p = np.asarray(k, np.float64), np.asarray(p, np.float64)
    # p == 1 means every trial succeeds: no failures (numpy's sampler rejects it)
    safe = np.where(p >= 1.0, 0.5, p)
    return np.where(p >= 1.0, 0.0, g.negative_binomial(np.maximum(k, 1e-12), safe, size))


def _generalized_nb(g, mu, alpha, size):
    mu, alpha = np.asarray(mu, np.float64), np.asarray(alpha, np.float64)
    a = np.where(alpha > 0, alpha, 1.0)
    lam = np.where(alpha > 0, g.gamma(1.0 / a, a * mu, size), np.broadcast_to(mu, size))
    return g.poisson(lam)


def _check(ok, message):
    if not ok:
        raise MXNetError(message)


def _positive(**params):
    for key, value in params.items():
        _check(np.all(np.asarray(_host(value)) > 0), f"sampler parameter {key} must be positive, got {value}.")


def _non_negative(**params):
    for key, value in params.items():
        _check(np.all(np.asarray(_host(value)) >= 0), f"sampler parameter {key} must be >= 0, got {value}.")


def _probability(p):
    p = np.asarray(_host(p))
    _check(np.all((p > 0) & (p <= 1)), f"sampler parameter p must be in (0, 1], got {p}.")


def _host(value):
    return value.asnumpy() if isinstance(value, NDArray) else value


# MXNet's zero-input samplers take ctx as an attribute (mx.sym.random.uniform(..., ctx=mx.cpu())), which the
# table leaves out of an operator's parameters by default
for _fn in (random_uniform, random_normal, random_gamma, random_exponential, random_poisson,
            random_negative_binomial, random_generalized_negative_binomial, random_randint):
    _fn.op_spec.params.setdefault("ctx", None)


# ----- array parameters: _sample_* (one draw of `shape` per parameter element) ---------------------------
def _params(op, *arrays):
    first = arrays[0]
    for a in arrays:
        if not isinstance(a, NDArray):
            raise TypeError(f"{op}: distribution parameters must all be NDArrays here, got {type(a).__name__}; "
                            "pass NDArrays for every parameter, or Python numbers for every parameter.")
        if a.shape != first.shape:
            raise MXNetError(f"{op}: parameter arrays must have the same shape, got {first.shape} and {a.shape}.")
    return [a.asnumpy().astype(np.float64) for a in arrays]


def _sample(op, arrays, shape, dtype, out, draw):
    values = _params(op, *arrays)
    extra = _as_shape(shape, default=())
    dtype = _dtype(dtype, out, op=op)
    full = arrays[0].shape + extra
    expanded = [v.reshape(v.shape + (1,) * len(extra)) for v in values]
    samples = draw(*expanded, full)
    return _place(np.broadcast_to(samples, full), arrays[0]._ctx, out, dtype)


@operator(inputs=("low", "high"), name="_sample_uniform", aliases=("sample_uniform",))
def sample_uniform(low, high, shape=None, dtype=None, out=None, name=None):
    def draw(lo, hi, full):
        u = _streams.uniform(0.0, 1.0, full, np.float32).astype(np.float64)
        return lo + (hi - lo) * u
    return _sample("_sample_uniform", (low, high), shape, dtype, out, draw)


@operator(inputs=("mu", "sigma"), name="_sample_normal", aliases=("sample_normal",))
def sample_normal(mu, sigma, shape=None, dtype=None, out=None, name=None):
    def draw(m, s, full):
        return m + s * _streams.normal(0.0, 1.0, full, np.float32).astype(np.float64)
    return _sample("_sample_normal", (mu, sigma), shape, dtype, out, draw)


@operator(inputs=("alpha", "beta"), name="_sample_gamma", aliases=("sample_gamma",))
def sample_gamma(alpha, beta, shape=None, dtype=None, out=None, name=None):
    _positive(alpha=alpha, beta=beta)
    return _sample("_sample_gamma", (alpha, beta), shape, dtype, out,
                   lambda a, b, full: _streams.numpy_generator().gamma(a, b, full))


@operator(inputs=("lam",), name="_sample_exponential", aliases=("sample_exponential",))
def sample_exponential(lam, shape=None, dtype=None, out=None, name=None):
    _positive(lam=lam)
    return _sample("_sample_exponential", (lam,), shape, dtype, out,
                   lambda rate, full: _streams.numpy_generator().exponential(1.0 / rate, full))


@operator(inputs=("lam",), name="_sample_poisson", aliases=("sample_poisson",))
def sample_poisson(lam, shape=None, dtype=None, out=None, name=None):
    _non_negative(lam=lam)
    return _sample("_sample_poisson", (lam,), shape, dtype, out,
                   lambda rate, full: _streams.numpy_generator().poisson(rate, full))


@operator(inputs=("k", "p"), name="_sample_negative_binomial", aliases=("sample_negative_binomial",))
def sample_negative_binomial(k, p, shape=None, dtype=None, out=None, name=None):
    _probability(p)
    return _sample("_sample_negative_binomial", (k, p), shape, dtype, out,
                   lambda kk, pp, full: _negative_binomial(_streams.numpy_generator(), kk, pp, full))


@operator(inputs=("mu", "alpha"), name="_sample_generalized_negative_binomial",
          aliases=("sample_generalized_negative_binomial",))
def sample_generalized_negative_binomial(mu, alpha, shape=None, dtype=None, out=None, name=None):
    _non_negative(mu=mu, alpha=alpha)
    return _sample("_sample_generalized_negative_binomial", (mu, alpha), shape, dtype, out,
                   lambda m, a, full: _generalized_nb(_streams.numpy_generator(), m, a, full))


@operator(inputs=("data",), name="_sample_multinomial", aliases=("sample_multinomial",),
          num_outputs=lambda attrs: 2 if attrs.get("get_prob") else 1)
def sample_multinomial(data, shape=None, get_prob=False, dtype="int32", out=None, name=None):
    """Category indices drawn from the probabilities on ``data``'s last axis.

    Output shape ``data.shape[:-1] + shape`` (``(1,)`` for one distribution and no
    ``shape``); ``get_prob=True`` also returns the log-probability of each draw.
    """
    dtype = _dtype(dtype, None, "int32", ("float16", "float32", "float64", "int32", "uint8"),
                   "_sample_multinomial")
    k = data.shape[-1]
    exact = {"uint8": 2 ** 8, "float16": 2 ** 11, "float32": 2 ** 24}.get(dtype.name)
    if exact is not None and k > exact:
        raise MXNetError(f"multinomial: {k} categories cannot all be represented exactly in dtype {dtype.name}; "
                         "use dtype='int32' or 'float64'.")
    probs = data.asnumpy().astype(np.float64)
    extra = _as_shape(shape, default=())
    batch = probs.shape[:-1]
    flat = probs.reshape(-1, k)
    n = math.prod(extra) if extra else 1
    cdf = np.cumsum(flat, axis=1)
    u = _streams.uniform(0.0, 1.0, (flat.shape[0], n), np.float32).astype(np.float64)
    # one binary search per draw; scaling by the row total covers rows that do not sum exactly to 1
    idx = np.stack([np.searchsorted(c, row_u * c[-1], side="right") for c, row_u in zip(cdf, u)])
    idx = np.minimum(idx, k - 1)
    out_shape = (batch + extra) or (1,)
    result = _place(idx.reshape(out_shape), data._ctx, None, dtype)
    if get_prob:
        result = [result, _log_prob(data, idx, out_shape)]
    if out is not None:
        from .table import write_out
        return write_out(result, out, "_sample_multinomial")
    return result


def _log_prob(data, idx, out_shape):
    """log data[..., idx] in trainkit ops, so the gradient reaches ``data`` (1/p at each drawn category)."""
    from .. import ndarray as nd
    flat = nd.reshape(data, (-1, data.shape[-1]))
    rows = np.arange(idx.shape[0])[:, None]
    return nd.reshape(nd.log(flat[(rows, idx)]), out_shape)


@operator(inputs=("data",), name="_shuffle", aliases=("shuffle", "_random_shuffle"))
def shuffle(data, out=None, name=None):
    """A copy of ``data`` with its first axis randomly permuted."""
    order = _streams.numpy_generator().permutation(data.shape[0]) if data.ndim else None
    values = data.asnumpy()[order] if order is not None else data.asnumpy()
    return _place(values, data._ctx, out, data._data.dtype)


# ----- *_like: shape and dtype from an array ----------------------------------------------------------------
@operator(inputs=("data",), name="_random_uniform_like", aliases=("random_uniform_like",))
def random_uniform_like(data=None, low=0.0, high=1.0, out=None, name=None):
    return random_uniform(low, high, shape=data.shape, dtype=data._data.dtype, ctx=data._ctx, out=out)


@operator(inputs=("data",), name="_random_normal_like", aliases=("random_normal_like",))
def random_normal_like(data=None, loc=0.0, scale=1.0, out=None, name=None):
    return random_normal(loc, scale, shape=data.shape, dtype=data._data.dtype, ctx=data._ctx, out=out)


@operator(inputs=("data",), name="_random_gamma_like", aliases=("random_gamma_like",))
def random_gamma_like(data=None, alpha=1.0, beta=1.0, out=None, name=None):
    return random_gamma(alpha, beta, shape=data.shape, dtype=data._data.dtype, ctx=data._ctx, out=out)


@operator(inputs=("data",), name="_random_exponential_like", aliases=("random_exponential_like",))
def random_exponential_like(data=None, lam=1.0, out=None, name=None):
    return random_exponential(lam, shape=data.shape, dtype=data._data.dtype, ctx=data._ctx, out=out)


@operator(inputs=("data",), name="_random_poisson_like", aliases=("random_poisson_like",))
def random_poisson_like(data=None, lam=1.0, out=None, name=None):
    return random_poisson(lam, shape=data.shape, dtype=data._data.dtype, ctx=data._ctx, out=out)


@operator(inputs=("data",), name="_random_negative_binomial_like", aliases=("random_negative_binomial_like",))
def random_negative_binomial_like(data=None, k=1, p=1.0, out=None, name=None):
    return random_negative_binomial(k, p, shape=data.shape, dtype=data._data.dtype, ctx=data._ctx, out=out)


@operator(inputs=("data",), name="_random_generalized_negative_binomial_like",
          aliases=("random_generalized_negative_binomial_like",))
def random_generalized_negative_binomial_like(data=None, mu=1.0, alpha=1.0, out=None, name=None):
    return random_generalized_negative_binomial(mu, alpha, shape=data.shape, dtype=data._data.dtype,
                                                ctx=data._ctx, out=out)


# ----- log-uniform (Zipfian) candidate samplers ----------------------------------------------------------
def _log_uniform(g, range_max, size):
    """Classes in [0, range_max) with P(c) = log((c + 2) / (c + 1)) / log(range_max + 1)."""
    u = g.random(size)
    return (np.exp(u * math.log(range_max + 1)) - 1).astype(np.int64) % range_max


@operator(inputs=(), name="_sample_unique_zipfian", aliases=("sample_unique_zipfian",), num_outputs=2)
def sample_unique_zipfian(range_max=1, shape=None, out=None, name=None):
    """Per row of ``shape = (batch, n)``: n distinct log-uniform classes, drawn with replacement until n are
    distinct (MXNet's candidate sampler), and how many draws that took."""
    batch, n = _as_shape(shape)
    range_max = int(range_max)
    if n > range_max:
        raise MXNetError(f"_sample_unique_zipfian: cannot draw {n} distinct classes out of {range_max}.")
    g = _streams.numpy_generator()
    samples = np.empty((batch, n), np.int64)
    trials = np.empty(batch, np.int64)
    for row in range(batch):
        draws = _log_uniform(g, range_max, 2 * n)
        while True:
            _, first = np.unique(draws, return_index=True)
            if len(first) >= n:
                break
            draws = np.concatenate([draws, _log_uniform(g, range_max, len(draws))])
        first = np.sort(first)[:n]          # the first n new classes, in the order they were drawn
        samples[row], trials[row] = draws[first], first[-1] + 1
    result = [_place(samples, None, None, np.int64), _place(trials, None, None, np.int64)]
    if out is not None:
        from .table import write_out
        return write_out(result, out, "_sample_unique_zipfian")
    return result


@operator(inputs=("true_classes",), name="_contrib_rand_zipfian", aliases=("rand_zipfian",), num_outputs=3)
def rand_zipfian(true_classes, num_sampled=1, range_max=1, ctx=None, name=None):
    """``num_sampled`` log-uniform classes (with replacement) and the expected counts, under that
    distribution, of ``true_classes`` and of each sampled class (MXNet's ``contrib.rand_zipfian``)."""
    num_sampled, range_max = int(num_sampled), int(range_max)
    log_range = math.log(range_max + 1)
    sampled = _log_uniform(_streams.numpy_generator(), range_max, num_sampled)

    def expected(classes):
        c = np.asarray(classes, np.float64)
        return np.log((c + 2.0) / (c + 1.0)) / log_range * num_sampled
    where = ctx or true_classes._ctx
    return [_place(sampled, where, None, np.int64),
            _place(expected(true_classes.asnumpy()), where, None, np.float64),
            _place(expected(sampled), where, None, np.float64)]
