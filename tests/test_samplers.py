"""mx.nd.random / mx.random samplers: shapes, dtypes, out=/ctx=, array parameters, seeding, and
distributions checked by chi-square tests against their exact pmf/cdf (numpy only)."""
import math

import numpy as np
import pytest

import trainkit as mx
from trainkit import nd
from trainkit import random_streams

N = 20000


def _chi2_threshold(dof, z=4.0):
    """An upper quantile of chi2(dof) (Wilson-Hilferty; z=4 sd: a false alarm about once in 30000 runs)."""
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


def _check_discrete(samples, pmf, support):
    """Chi-square of integer ``samples`` against ``pmf(k)`` on ``support``, the tail lumped into the last bin."""
    samples = np.asarray(samples).ravel()
    expected = np.array([pmf(k) for k in support]) * len(samples)
    observed = np.array([np.sum(samples == k) for k in support], np.float64)
    observed[-1] += np.sum(samples > support[-1])
    expected[-1] = len(samples) - expected[:-1].sum()
    keep = expected >= 5
    stat = np.sum((observed[keep] - expected[keep]) ** 2 / expected[keep])
    assert stat < _chi2_threshold(keep.sum() - 1), (stat, observed, expected)


def _check_continuous(samples, cdf, edges):
    """Chi-square over the bins between ``edges`` (plus both tails)."""
    samples = np.asarray(samples, np.float64).ravel()
    probs = np.diff([0.0] + [cdf(e) for e in edges] + [1.0])
    counts = np.histogram(samples, [-np.inf] + list(edges) + [np.inf])[0]
    expected = probs * len(samples)
    keep = expected >= 5
    stat = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    assert stat < _chi2_threshold(keep.sum() - 1), (stat, counts, expected)


def _poisson_pmf(lam):
    return lambda k: math.exp(k * math.log(lam) - lam - math.lgamma(k + 1))


def _nb_pmf(k, p):
    return lambda x: math.exp(math.lgamma(x + k) - math.lgamma(k) - math.lgamma(x + 1) + k * math.log(p)
                              + x * math.log(1 - p))


# ----- distributions ----------------------------------------------------------------------------------
def test_uniform_and_normal_are_the_bit_exact_streams():
    mx.random.seed(11)
    want_u = random_streams.uniform(-2, 3, (7, 5))
    want_n = random_streams.normal(1.5, 0.2, (33, 3))
    mx.random.seed(11)
    got_u = nd.random.uniform(-2, 3, shape=(7, 5))
    got_n = mx.random.normal(1.5, 0.2, shape=(33, 3))
    assert isinstance(got_u, nd.NDArray) and got_u.dtype == np.float32
    np.testing.assert_array_equal(got_u.asnumpy(), want_u)
    np.testing.assert_array_equal(got_n.asnumpy(), want_n)


def test_normal_and_uniform_distributions():
    mx.random.seed(0)
    _check_continuous(nd.random.normal(1, 2, shape=(N,)).asnumpy(),
                      lambda x: 0.5 * (1 + math.erf((x - 1) / (2 * math.sqrt(2)))), np.linspace(-4, 6, 21))
    _check_continuous(nd.random.uniform(-1, 3, shape=(N,)).asnumpy(), lambda x: (x + 1) / 4,
                      np.linspace(-0.8, 2.8, 19))


def test_exponential_uses_scale():
    mx.random.seed(1)
    x = nd.random.exponential(2.0, shape=(N,)).asnumpy()
    _check_continuous(x, lambda v: 1 - math.exp(-v / 2.0), np.linspace(0.2, 8, 20))
    assert abs(x.mean() - 2.0) < 0.1


def test_gamma_with_integer_shape_is_erlang():
    mx.random.seed(2)
    alpha, beta = 3, 0.5
    x = nd.random.gamma(alpha, beta, shape=(N,)).asnumpy()

    def cdf(v):
        t = v / beta
        return 1 - sum(math.exp(-t) * t ** k / math.factorial(k) for k in range(alpha))
    _check_continuous(x, cdf, np.linspace(0.2, 4, 20))


def test_poisson_distribution():
    mx.random.seed(3)
    x = nd.random.poisson(3.5, shape=(N,))
    assert x.dtype == np.float32
    _check_discrete(x.asnumpy(), _poisson_pmf(3.5), list(range(12)))


def test_negative_binomial_distribution():
    mx.random.seed(4)
    k, p = 3, 0.4
    x = nd.random.negative_binomial(k, p, shape=(N,)).asnumpy()
    _check_discrete(x, _nb_pmf(k, p), list(range(20)))
    assert abs(x.mean() - k * (1 - p) / p) < 0.15


def test_generalized_negative_binomial_mean_and_variance():
    mx.random.seed(5)
    mu, alpha = 2.0, 0.5
    x = nd.random.generalized_negative_binomial(mu, alpha, shape=(N,)).asnumpy()
    # it is NB with k = 1/alpha and p = 1/(1 + alpha*mu)
    _check_discrete(x, _nb_pmf(1 / alpha, 1 / (1 + alpha * mu)), list(range(15)))
    assert abs(x.var() - (mu + alpha * mu ** 2)) < 0.3
    # alpha = 0 is Poisson(mu)
    _check_discrete(nd.random.generalized_negative_binomial(mu, 0.0, shape=(N,)).asnumpy(), _poisson_pmf(mu),
                    list(range(10)))


def test_randint_distribution_and_dtypes():
    mx.random.seed(6)
    x = nd.random.randint(-3, 4, shape=(N,))
    assert x.dtype == np.int32 and x.shape == (N,)
    _check_discrete(x.asnumpy(), lambda k: 1 / 7, list(range(-3, 4)))
    assert nd.random.randint(0, 5, shape=(3,), dtype="int64").dtype == np.int64
    assert nd.random.randint(0, 5).shape == (1,)
    with pytest.raises(mx.MXNetError, match="valid values are"):
        nd.random.randint(0, 5, shape=(3,), dtype="float32")


def test_multinomial_distribution_shapes_and_log_probabilities():
    mx.random.seed(7)
    probs = nd.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
    draws = nd.random.multinomial(probs, shape=(N // 2,))
    assert draws.shape == (2, N // 2) and draws.dtype == np.int32
    for row, p in zip(draws.asnumpy(), probs.asnumpy()):
        _check_discrete(row, lambda k: p[k], [0, 1, 2])
    assert nd.random.multinomial(probs).shape == (2,)
    assert nd.random.multinomial(nd.array([0.2, 0.8])).shape == (1,)
    assert nd.random.multinomial(nd.array([0.2, 0.8]), dtype="float32").dtype == np.float32
    sample, logp = nd.random.multinomial(probs, shape=(4,), get_prob=True)
    np.testing.assert_allclose(logp.asnumpy(), np.log(np.take_along_axis(probs.asnumpy(), sample.asnumpy(), 1)),
                               rtol=1e-6)
    assert logp.dtype == np.float32


def test_shuffle_permutes_rows():
    mx.random.seed(8)
    x = nd.arange(20).reshape((10, 2))
    y = nd.random.shuffle(x)
    assert y.shape == (10, 2) and y is not x
    rows = y.asnumpy()
    assert sorted(rows[:, 0].tolist()) == list(range(0, 20, 2))
    np.testing.assert_array_equal(rows[:, 1] - rows[:, 0], 1)   # rows move whole
    assert nd.shuffle is not None and nd.random.shuffle(nd.arange(5)).shape == (5,)
    firsts = {int(nd.random.shuffle(nd.arange(4))[0].asscalar()) for _ in range(40)}
    assert firsts == {0, 1, 2, 3}


# ----- calling conventions ----------------------------------------------------------------------------
def test_seed_makes_every_sampler_reproducible():
    def draw():
        return [f().asnumpy() for f in (
            lambda: nd.random.uniform(shape=(3,)), lambda: nd.random.gamma(2, 2, shape=(3,)),
            lambda: nd.random.poisson(4, shape=(3,)), lambda: nd.random.randint(0, 100, shape=(3,)),
            lambda: nd.random.multinomial(nd.array([0.3, 0.7]), shape=(5,)),
            lambda: nd.random.shuffle(nd.arange(6)), lambda: nd.random.normal(nd.zeros((2,)), nd.ones((2,))))]
    mx.random.seed(42)
    first = draw()
    mx.random.seed(42)
    again = draw()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(draw()[1], first[1])


def test_defaults_shape_dtype_out_and_ctx():
    assert nd.random.uniform().shape == (1,) and nd.random.uniform(shape=3).shape == (3,)
    out = nd.zeros((2, 3), dtype="float64")
    assert nd.random.uniform(out=out) is out and out.dtype == np.float64 and out.asnumpy().max() > 0
    assert nd.random.normal(shape=(2,), dtype="float16").dtype == np.float16
    assert nd.random.gamma(3, 0.5, shape=(2,), dtype="float64").dtype == np.float64
    assert nd.random.uniform(shape=(2,), ctx=mx.cpu(1)).context == mx.cpu(1)
    with pytest.raises(mx.MXNetError, match="valid values are"):
        nd.random.uniform(0, 1, shape=(2,), dtype="int32")


def test_array_parameters_dispatch_to_sample_ops():
    low, high = nd.array([0, 10]), nd.array([1, 20])
    x = nd.random.uniform(low, high)
    assert x.shape == (2,)
    y = nd.random.uniform(low, high, shape=(3, 4)).asnumpy()
    assert y.shape == (2, 3, 4)
    assert (y[0] >= 0).all() and (y[0] < 1).all() and (y[1] >= 10).all() and (y[1] < 20).all()
    assert nd.random.poisson(nd.array([1, 2]), shape=3).shape == (2, 3)
    assert nd.random.normal(nd.array([0, 100]), nd.array([1, 1]), shape=(500,)).asnumpy().mean(1)[1] > 90
    assert nd.random.exponential(nd.array([1.0, 2.0]), shape=(2,)).shape == (2, 2)
    assert nd.random.randn(2, loc=nd.zeros((3,)), scale=nd.ones((3,))).shape == (3, 2)
    with pytest.raises(AssertionError, match="all be numbers or all be NDArrays"):
        nd.random.uniform(nd.zeros((2,)), 1)


def test_like_forms_and_randn():
    src = nd.zeros((2, 3), dtype="float64")
    for fn in (nd.random.uniform_like, nd.random.normal_like, nd.random.gamma_like, nd.random.exponential_like,
               nd.random.poisson_like, nd.random.negative_binomial_like,
               nd.random.generalized_negative_binomial_like):
        out = fn(src)
        assert out.shape == (2, 3) and out.dtype == np.float64, fn
    assert nd.random.normal_like(nd.zeros((2,)), loc=100, scale=0.01).asnumpy().min() > 99
    assert nd.random.randn(2, 3).shape == (2, 3)
    with pytest.raises(ValueError, match="needs a shape"):
        nd.random.randn()


def test_legacy_names_and_namespaces():
    assert mx.random.uniform is nd.random.uniform and mx.random.randint is nd.random.randint
    for name in ("random_uniform", "random_normal", "uniform", "normal", "random_randint", "random_gamma",
                 "random_exponential", "random_poisson", "random_negative_binomial",
                 "random_generalized_negative_binomial", "sample_uniform", "sample_normal", "sample_gamma",
                 "sample_exponential", "sample_poisson", "sample_negative_binomial",
                 "sample_generalized_negative_binomial", "sample_multinomial", "shuffle"):
        assert callable(getattr(nd, name)), name
    assert nd.random_normal(0, 1, shape=(2,)).shape == (2,)
    assert nd.random_exponential(lam=4, shape=(2,)).shape == (2,)
    assert nd.sample_normal(nd.zeros(2), nd.ones(2)).shape == (2,)


def test_symbol_samplers():
    s = mx.sym.random.uniform(low=0, high=1, shape=(2, 3))
    assert '"op": "_random_uniform"' in s.tojson()
    assert s.infer_shape()[1] == [(2, 3)]
    n = mx.sym.random.normal(loc=mx.sym.var("a"), scale=mx.sym.var("b"))
    assert '"op": "_sample_normal"' in n.tojson()


def test_invalid_parameters_raise():
    with pytest.raises(mx.MXNetError, match="p must be in"):
        nd.random.negative_binomial(2, 1.5, shape=(2,))
    with pytest.raises(mx.MXNetError, match="must be positive"):
        nd.random.gamma(-1, 1, shape=(2,))
    with pytest.raises(mx.MXNetError, match="low < high"):
        nd.random.randint(5, 1, shape=(2,))


# ----- densities: _random_pdf_* ----------------------------------------------------------------------
def _lgamma(x):
    return np.vectorize(math.lgamma)(x)


def test_pdf_values_match_the_formulas():
    x = np.array([[0.5, 1.0, 2.5], [1.0, 2.0, 3.0]])
    a, b = np.array([2.0, 3.0]), np.array([1.5, 0.5])
    col = lambda v: v[:, None]  # noqa: E731 - parameters broadcast over the sample axis
    nx, na, nb = nd.array(x, dtype="float64"), nd.array(a, dtype="float64"), nd.array(b, dtype="float64")
    normal = np.exp(-0.5 * ((x - col(a)) / col(b)) ** 2) / (col(b) * math.sqrt(2 * math.pi))
    np.testing.assert_allclose(nd.random_pdf_normal(nx, na, nb).asnumpy(), normal, rtol=1e-12)
    gamma = np.exp(col(a) * np.log(col(b)) + (col(a) - 1) * np.log(x) - col(b) * x - _lgamma(col(a)))
    np.testing.assert_allclose(nd.random_pdf_gamma(nx, na, nb).asnumpy(), gamma, rtol=1e-12)  # beta is a rate
    np.testing.assert_allclose(nd.random_pdf_exponential(nx, na, is_log=True).asnumpy(),
                               np.log(col(a)) - col(a) * x, rtol=1e-12)
    k = np.array([[0, 1, 2], [3, 4, 5]], np.float64)
    nk = nd.array(k, dtype="float64")
    poisson = k * np.log(col(a)) - col(a) - _lgamma(k + 1)
    np.testing.assert_allclose(nd.random_pdf_poisson(nk, na, is_log=True).asnumpy(), poisson, rtol=1e-12)
    p = np.array([0.4, 0.7])
    nb_pmf = np.exp(_lgamma(k + col(a)) - _lgamma(col(a)) - _lgamma(k + 1) + col(a) * np.log(col(p))
                    + k * np.log(1 - col(p)))
    np.testing.assert_allclose(nd.random_pdf_negative_binomial(nk, na, nd.array(p, dtype="float64")).asnumpy(),
                               nb_pmf, rtol=1e-12)
    # generalized NB(mu, alpha) is NB(1/alpha, 1/(1 + alpha mu)); values checked on MXNet 1.9.1
    got = nd.random_pdf_generalized_negative_binomial(nd.array([[1.0, 2.0]]), nd.array([2.0]), nd.array([0.5]))
    np.testing.assert_allclose(got.asnumpy(), [[0.25, 0.1875]], rtol=1e-6)
    u = nd.random_pdf_uniform(nd.array([[0.5, 5.0]]), nd.array([0.0]), nd.array([4.0]))
    assert u.asnumpy().tolist() == [[0.25, 0.0]]
    d = nd.random_pdf_dirichlet(nd.array([[0.3, 0.7]]), nd.array([[2.0, 3.0]]))
    assert d.shape == (1,) and abs(d.asscalar() - 1.764) < 1e-5


def test_pdf_gradients_first_and_second_order():
    from gradcheck import check_grads
    x = np.array([[0.5, 1.2], [2.0, 0.8]])
    a, b = np.array([1.5, 2.5]), np.array([0.7, 1.3])
    check_grads(lambda s, m, v: nd.random_pdf_normal(s, m, v), x, a, b)
    check_grads(lambda s, al, be: nd.random_pdf_gamma(s, al, be, is_log=True), x, a, b)
    check_grads(lambda s, lam: nd.random_pdf_exponential(s, lam), x, a)
    k = np.array([[0.0, 1.0], [2.0, 3.0]])
    check_grads(lambda lam: nd.random_pdf_poisson(nd.array(k, dtype="float64"), lam), a)
    check_grads(lambda kk, pp: nd.random_pdf_negative_binomial(nd.array(k, dtype="float64"), kk, pp),
                a, np.array([0.3, 0.6]))
    check_grads(lambda s, al: nd.random_pdf_dirichlet(s, al, is_log=True), np.array([[0.3, 0.7], [0.6, 0.4]]),
                np.array([[2.0, 3.0], [1.5, 0.5]]))


def test_multinomial_log_probability_is_differentiable():
    x = nd.array([[0.1, 0.2, 0.3, 0.4]])
    dx = nd.zeros_like(x)
    mx.autograd.mark_variables([x], [dx])
    with mx.autograd.record():
        y, logp = nd.random.multinomial(x, shape=50, get_prob=True)
        loss = logp * 5
    loss.backward()
    counts = np.bincount(y.asnumpy().ravel(), minlength=4)
    np.testing.assert_allclose(dx.asnumpy()[0], 5 * counts / x.asnumpy()[0], rtol=1e-5)
    with pytest.raises(mx.MXNetError, match="cannot all be represented exactly in dtype float16"):
        nd.random.multinomial(nd.zeros((4096,)), dtype="float16")


def test_zipfian_candidate_samplers():
    mx.random.seed(9)
    classes, trials = nd._internal._sample_unique_zipfian(1000, shape=(3, 200))
    assert classes.shape == (3, 200) and classes.dtype == np.int64 and trials.shape == (3,)
    for row, t in zip(classes.asnumpy(), trials.asnumpy()):
        assert np.unique(row).size == 200 and row.min() >= 0 and row.max() < 1000 and t >= 200
    range_max, n = 20, N
    true = nd.array([0, 3, 19], dtype="int32")
    sampled, expected_true, expected_sampled = nd.contrib.rand_zipfian(true, n, range_max)
    prob = lambda c: np.log((c + 2.0) / (c + 1.0)) / np.log(range_max + 1)  # noqa: E731
    np.testing.assert_allclose(expected_true.asnumpy(), prob(np.array([0, 3, 19])) * n, rtol=1e-12)
    np.testing.assert_allclose(expected_sampled.asnumpy(), prob(sampled.asnumpy()) * n, rtol=1e-12)
    _check_discrete(sampled.asnumpy(), prob, list(range(range_max)))
