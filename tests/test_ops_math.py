"""Elementwise math operators: values against numpy/math (and MXNet's printed results), nd and sym alike."""
import math

import numpy as np
import pytest

import trainkit as mx
from trainkit import nd
from trainkit.base import MXNetError

X = np.array([0.1, 0.35, 0.8], np.float32)
POS = np.array([0.5, 1.5, 4.0], np.float32)

UNARY = {
    "tan": (np.tan, X), "arcsin": (np.arcsin, X), "arccos": (np.arccos, X), "arcsinh": (np.arcsinh, X),
    "arccosh": (np.arccosh, POS + 1), "arctanh": (np.arctanh, X), "degrees": (np.degrees, X),
    "radians": (np.radians, X), "log2": (np.log2, POS), "log10": (np.log10, POS), "cbrt": (np.cbrt, POS),
    "rcbrt": (lambda v: 1 / np.cbrt(v), POS), "rsqrt": (lambda v: 1 / np.sqrt(v), POS),
    "rint": (np.rint, np.array([-1.5, 0.5, 2.5, 2.7], np.float32)),
    "fix": (np.fix, np.array([-1.7, 0.5, 2.7], np.float32)),
    "trunc": (np.trunc, np.array([-1.7, 0.5, 2.7], np.float32)),
    "gamma": (np.vectorize(math.gamma), np.array([0.5, 5.0, -1.5], np.float32)),
    "gammaln": (np.vectorize(math.lgamma), np.array([0.5, 100.0, 3.2], np.float32)),
    "erf": (np.vectorize(math.erf), np.array([-2.0, 0.5, 3.0], np.float32)),
    "logical_not": (lambda v: (v == 0).astype(v.dtype), np.array([0.0, 2.0, -1.0], np.float32)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_match_numpy_in_nd_and_sym(name):
    ref, x = UNARY[name]
    want = ref(x.astype(np.float64)).astype(np.float32)
    got = getattr(nd, name)(nd.array(x))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.asnumpy(), want, rtol=2e-6)
    sym = getattr(mx.sym, name)(mx.sym.var("a"))
    np.testing.assert_array_equal(sym.eval(a=nd.array(x))[0].asnumpy(), got.asnumpy())


def test_gamma_and_erfinv_edges_as_mxnet():
    assert nd.gamma(nd.array([0.0, -1.0])).asnumpy().tolist()[0] == np.inf
    assert np.isnan(nd.gamma(nd.array([-1.0])).asnumpy()[0])
    assert nd.gammaln(nd.array([0.0, -1.0])).asnumpy().tolist() == [np.inf, np.inf]
    out = nd.erfinv(nd.array([1.0, -1.0, 2.0])).asnumpy()
    assert out[0] == np.inf and out[1] == -np.inf and np.isnan(out[2])


def test_erfinv_inverts_erf_to_float64_precision():
    y = np.linspace(-0.999999, 0.999999, 41)
    x = nd.erfinv(nd.array(y, dtype=np.float64)).asnumpy()
    np.testing.assert_allclose([math.erf(v) for v in x], y, rtol=0, atol=1e-15)


def test_polygamma_reference_values():
    from trainkit.ops.special import polygamma
    np.testing.assert_allclose(polygamma(0, [1.0, 0.5, -0.5]), [-0.5772156649015329, -1.9635100260214235,
                                                                0.03648997397857652], rtol=1e-12)
    np.testing.assert_allclose(polygamma(1, [1.0]), [math.pi ** 2 / 6], rtol=1e-12)
    np.testing.assert_allclose(polygamma(2, [1.0]), [-2.4041138063191885], rtol=1e-12)


def test_hard_sigmoid():
    x = nd.array([-4.0, 0.0, 1.0, 4.0])
    np.testing.assert_allclose(nd.hard_sigmoid(x).asnumpy(), [0.0, 0.5, 0.7, 1.0], rtol=1e-6)
    np.testing.assert_allclose(nd.hard_sigmoid(x, alpha=0.5, beta=0.25).asnumpy(), [0, 0.25, 0.75, 1], rtol=1e-6)


def test_mod_follows_the_divisor_sign_and_gives_zero_for_zero_divisor():
    a, b = nd.array([-3.0, 3.0, 5.5]), nd.array([2.0, -2.0, 0.0])
    assert nd.broadcast_mod(a, b).asnumpy().tolist() == [1.0, -1.0, 0.0]
    assert nd.modulo(a, 2).asnumpy().tolist() == [1.0, 1.0, 1.5]
    assert nd.modulo(7, nd.array([2.0, 4.0])).asnumpy().tolist() == [1.0, 3.0]
    assert nd._mod(a, nd.array([2.0, 2.0, 2.0])).asnumpy().tolist() == [1.0, 1.0, 1.5]


def test_hypot_and_logical_operators():
    a, b = nd.array([[3.0], [0.0]]), nd.array([4.0, 0.0])
    np.testing.assert_allclose(nd.broadcast_hypot(a, b).asnumpy(), [[5, 3], [4, 0]])
    p, q = nd.array([0.0, 1.0, 2.0]), nd.array([0.0, 0.0, 1.0])
    assert nd.broadcast_logical_and(p, q).asnumpy().tolist() == [0, 0, 1]
    assert nd.broadcast_logical_or(p, q).asnumpy().tolist() == [0, 1, 1]
    assert nd.broadcast_logical_xor(p, q).asnumpy().tolist() == [0, 1, 0]
    assert nd.logical_and(p, 1).asnumpy().tolist() == [0, 1, 1]
    assert nd.logical_xor(p, q).dtype == np.float32


def test_named_comparisons_in_three_spellings():
    a, b = nd.array([1.0, 2.0, 3.0]), nd.array([2.0, 2.0, 2.0])
    assert nd.broadcast_greater(a, nd.array([2.0])).asnumpy().tolist() == [0, 0, 1]
    assert nd._lesser_equal(a, b).asnumpy().tolist() == [1, 1, 0]
    assert nd._equal_scalar(a, scalar=2).asnumpy().tolist() == [0, 1, 0]
    with pytest.raises(MXNetError, match="same shape"):
        nd._equal(a, nd.array([1.0]))
    s = mx.sym._not_equal(mx.sym.var("a"), mx.sym.var("b"))
    assert s.eval(a=a, b=b)[0].asnumpy().tolist() == [1, 0, 1]


def test_add_n_and_element_wise_sum():
    xs = [nd.array([1.0, 2.0]), nd.array([3.0, 4.0]), nd.array([5.0, 6.0])]
    assert nd.add_n(*xs).asnumpy().tolist() == [9, 12]
    assert nd.ElementWiseSum(*xs[:2]).asnumpy().tolist() == [4, 6]
    with pytest.raises(MXNetError, match="one shape"):
        nd.add_n(xs[0], nd.ones((3,)))
    s = mx.sym.ElementWiseSum(mx.sym.var("a"), mx.sym.var("b"), name="s")
    assert s.list_attr() == {"num_args": "2"}
    assert s.infer_shape(a=(2,), b=(2,))[1] == [(2,)]


def test_out_on_math_operators():
    y = nd.zeros((3,))
    assert nd.erf(nd.array(X), out=y) is y
    np.testing.assert_allclose(y.asnumpy(), [math.erf(v) for v in X], rtol=1e-6)
