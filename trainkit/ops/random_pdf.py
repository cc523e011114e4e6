"""MXNet's ``_random_pdf_*`` operators: densities (or pmfs) of samples under per-element parameters.

``sample`` has the parameters' shape plus trailing sample axes (``pdf_dirichlet``: plus
the category axis, which the result drops); ``is_log=True`` gives log densities. They
are written in trainkit ops, so they are differentiable to any order in the samples
(continuous distributions) and in the parameters, as MXNet's are. As in MXNet,
``pdf_gamma``'s ``beta`` is a rate, while the gamma sampler's ``beta`` is a scale.
"""
import math

from .table import operator

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _nd():
    from .. import ndarray
    return ndarray


def _spread(param, sample, keep_last=False):
    """``param`` reshaped so it broadcasts over the sample axes that follow its own."""
    extra = sample.ndim - param.ndim
    if extra <= 0:
        return param
    shape = param.shape[:-1] + (1,) * extra + param.shape[-1:] if keep_last else param.shape + (1,) * extra
    return _nd().reshape(param, shape)


def _finish(logp, is_log):
    return logp if is_log else _nd().exp(logp)


@operator(inputs=("sample", "mu", "sigma"), name="_random_pdf_normal", aliases=("random_pdf_normal",))
def random_pdf_normal(sample, mu, sigma, is_log=False, name=None):
    mu, sigma = _spread(mu, sample), _spread(sigma, sample)
    z = (sample - mu) / sigma
    return _finish(-0.5 * z * z - _nd().log(sigma) - _HALF_LOG_2PI, is_log)


@operator(inputs=("sample", "low", "high"), name="_random_pdf_uniform", aliases=("random_pdf_uniform",))
def random_pdf_uniform(sample, low, high, is_log=False, name=None):
    nd = _nd()
    low, high = _spread(low, sample), _spread(high, sample)
    inside = (sample >= low) * (sample <= high)
    width = high - low + 0 * sample
    if is_log:
        return nd.where(inside, -nd.log(width), nd.log(inside))   # log 0 = -inf outside
    return inside / width


@operator(inputs=("sample", "alpha", "beta"), name="_random_pdf_gamma", aliases=("random_pdf_gamma",))
def random_pdf_gamma(sample, alpha, beta, is_log=False, name=None):
    nd = _nd()
    alpha, beta = _spread(alpha, sample), _spread(beta, sample)
    logp = alpha * nd.log(beta) + (alpha - 1) * nd.log(sample) - beta * sample - nd.gammaln(alpha)
    return _finish(logp, is_log)


@operator(inputs=("sample", "lam"), name="_random_pdf_exponential", aliases=("random_pdf_exponential",))
def random_pdf_exponential(sample, lam, is_log=False, name=None):
    lam = _spread(lam, sample)
    return _finish(_nd().log(lam) - lam * sample, is_log)


@operator(inputs=("sample", "lam"), name="_random_pdf_poisson", aliases=("random_pdf_poisson",))
def random_pdf_poisson(sample, lam, is_log=False, name=None):
    nd = _nd()
    lam = _spread(lam, sample)
    return _finish(sample * nd.log(lam) - lam - nd.gammaln(sample + 1), is_log)


def _nb_log_pmf(x, k, p):
    nd = _nd()
    return nd.gammaln(x + k) - nd.gammaln(k) - nd.gammaln(x + 1) + k * nd.log(p) + x * nd.log(1 - p)


@operator(inputs=("sample", "k", "p"), name="_random_pdf_negative_binomial",
          aliases=("random_pdf_negative_binomial",))
def random_pdf_negative_binomial(sample, k, p, is_log=False, name=None):
    return _finish(_nb_log_pmf(sample, _spread(k, sample), _spread(p, sample)), is_log)


@operator(inputs=("sample", "mu", "alpha"), name="_random_pdf_generalized_negative_binomial",
          aliases=("random_pdf_generalized_negative_binomial",))
def random_pdf_generalized_negative_binomial(sample, mu, alpha, is_log=False, name=None):
    """NB with k = 1/alpha and success probability 1/(1 + alpha*mu)."""
    mu, alpha = _spread(mu, sample), _spread(alpha, sample)
    return _finish(_nb_log_pmf(sample, 1 / alpha, 1 / (1 + alpha * mu)), is_log)


@operator(inputs=("sample", "alpha"), name="_random_pdf_dirichlet", aliases=("random_pdf_dirichlet",))
def random_pdf_dirichlet(sample, alpha, is_log=False, name=None):
    nd = _nd()
    alpha = _spread(alpha, sample, keep_last=True)
    logp = (nd.sum((alpha - 1) * nd.log(sample), axis=-1) + nd.gammaln(nd.sum(alpha, axis=-1))
            - nd.sum(nd.gammaln(alpha), axis=-1))
    return _finish(logp, is_log)
