"""Statistical checks of random generators for ``mx.test_utils``, in numpy alone.

``chi_square_check`` needs the chi-square survival function; MXNet takes it from
scipy, which trainkit does not depend on, so it is computed here from the
regularised upper incomplete gamma function ``Q(k/2, x/2)`` (series for
``x < a + 1``, Lentz's continued fraction otherwise; both converge to double
precision in a few hundred terms at most).
"""
import math

import numpy as np

__all__ = ["gen_buckets_probs_with_ppf", "mean_check", "var_check", "chi_square_check", "verify_generator",
           "chi2_sf", "gammaincc"]

_EPS = 1e-15
_TINY = 1e-300


def _gammainc_series(a, x):
    """Regularised lower incomplete gamma P(a, x) by its power series (good for x < a + 1)."""
    term = total = 1.0 / a
    n = a
    for _ in range(10000):
        n += 1.0
        term *= x / n
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gammaincc_fraction(a, x):
    """Regularised upper incomplete gamma Q(a, x) by its continued fraction (good for x >= a + 1)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def gammaincc(a, x):
    """The regularised upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), for a > 0, x >= 0."""
    if a <= 0:
        raise ValueError(f"gammaincc needs a > 0, got a={a}.")
    if x < 0:
        raise ValueError(f"gammaincc needs x >= 0, got x={x}.")
    if x == 0:
        return 1.0
    if x < a + 1.0:
        return 1.0 - _gammainc_series(a, x)
    return _gammaincc_fraction(a, x)


def chi2_sf(statistic, dof):
    """P(X >= statistic) for X chi-square distributed with ``dof`` degrees of freedom."""
    return gammaincc(dof / 2.0, max(float(statistic), 0.0) / 2.0)


def gen_buckets_probs_with_ppf(ppf, nbuckets):
    """``nbuckets`` equal-probability buckets ``[(ppf(i/n), ppf((i+1)/n)), ...]`` and their probabilities."""
    if nbuckets <= 0:
        raise ValueError(f"gen_buckets_probs_with_ppf needs nbuckets > 0, got {nbuckets}.")
    probs = [1.0 / nbuckets for _ in range(nbuckets)]
    buckets = [(ppf(i / float(nbuckets)), ppf((i + 1) / float(nbuckets))) for i in range(nbuckets)]
    return buckets, probs


def mean_check(generator, mu, sigma, nsamples=1000000):
    """True when the mean of ``generator(nsamples)`` lies within mu ± 3 sigma / sqrt(n)."""
    samples = np.array(_as_numpy(generator(nsamples)))
    sample_mean = samples.mean()
    bound = 3 * sigma / np.sqrt(nsamples)
    return bool(mu - bound < sample_mean < mu + bound)


def var_check(generator, sigma, nsamples=1000000):
    """True when the sample variance lies within sigma² ± 3 sqrt(2 sigma⁴ / (n - 1))."""
    samples = np.array(_as_numpy(generator(nsamples)))
    sample_var = samples.var(ddof=1)
    bound = 3 * np.sqrt(2 * sigma ** 4 / (nsamples - 1))
    return bool(sigma ** 2 - bound < sample_var < sigma ** 2 + bound)


def chi_square_check(generator, buckets, probs, nsamples=1000000):
    """Pearson's chi-square test of ``generator(nsamples)`` against bucket probabilities.

    ``buckets`` is a list of ``(low, high)`` ranges (continuous; ascending, not overlapping)
    or of values (discrete). Returns ``(p_value, observed_freq, expected_freq)``, as MXNet's.
    """
    if not isinstance(buckets, list):
        raise TypeError(f"chi_square_check needs buckets as a list, got {type(buckets).__name__}.")
    if len(probs) != len(buckets):
        raise ValueError(f"chi_square_check got {len(buckets)} buckets but {len(probs)} probabilities.")
    samples = _as_numpy(generator(nsamples))
    continuous = isinstance(buckets[0], (list, tuple))
    expected_freq = (nsamples * np.array(probs, dtype=np.float32)).astype(np.int32)
    obs_freq = np.zeros(len(buckets), dtype=np.int64)
    if continuous:
        edges = np.zeros(len(buckets) * 2, dtype=np.float32)
        for i, (low, high) in enumerate(buckets):
            if low > high or (i + 1 < len(buckets) and high > buckets[i + 1][0]):
                raise ValueError("chi_square_check: buckets must be ascending, non-overlapping (low, high) "
                                 f"ranges; bucket {i} is {buckets[i]!r}.")
            edges[2 * i], edges[2 * i + 1] = low, high
        flat = np.asarray(samples).ravel()
        # searchsorted(edges, x, side='right') is the number of edges <= x; with a handful of
        # edges, counting them (in searchsorted's common dtype) is several times faster
        common = np.result_type(flat.dtype, edges.dtype)
        values = flat.astype(common, copy=False)
        position = np.zeros(flat.shape, np.int16 if len(edges) < 32767 else np.int32)
        for edge in edges.astype(common):
            np.add(position, np.greater_equal(values, edge), out=position, casting="unsafe")
        obs_freq[:] = np.bincount(position // 2, minlength=len(buckets) + 1)[:len(buckets)]
    else:
        flat = np.asarray(samples).ravel()
        for i, value in enumerate(buckets):
            obs_freq[i] = (flat == value).sum()
    # scipy.stats.chisquare: sum((obs - exp)² / exp), k - 1 degrees of freedom
    expected = expected_freq.astype(np.float64)
    statistic = float((((obs_freq - expected) ** 2) / expected).sum())
    return chi2_sf(statistic, len(buckets) - 1), obs_freq, expected_freq


def verify_generator(generator, buckets, probs, nsamples=1000000, nrepeat=5, success_rate=0.2, alpha=0.05):
    """Run ``chi_square_check`` ``nrepeat`` times; raise AssertionError unless at least
    ``nrepeat * success_rate`` p-values exceed ``alpha``. Returns the p-values."""
    results = [chi_square_check(generator, buckets, probs, nsamples) for _ in range(nrepeat)]
    p_values = [r[0] for r in results]
    if (np.array(p_values) > alpha).sum() < nrepeat * success_rate:
        raise AssertionError(f"Generator test fails, Chi-square p={p_values}, obs_freq={[r[1] for r in results]}, "
                             f"expected_freq={[r[2] for r in results]}.\nbuckets={buckets}, probs={probs}")
    return p_values


def _as_numpy(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else x
