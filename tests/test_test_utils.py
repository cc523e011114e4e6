"""mx.test_utils: tolerances, comparisons, random helpers, gradient checkers, environment."""
import os

import numpy as np
import pytest

import trainkit as mx
from trainkit import test_utils as tu


def test_default_tolerances_follow_dtype():
    assert tu.get_tols(np.float32(1), np.float32(1), None, None) == (1e-4, 1e-3)
    assert tu.get_tols(np.zeros(1, np.float16), np.zeros(1), None, None) == (1e-2, 1e-1)
    assert tu.get_tols(np.zeros(1), np.zeros(1), None, None) == (1e-5, 1e-20)
    assert tu.get_tols(np.zeros(1), np.zeros(1), 0.5, 0.25) == (0.5, 0.25)


def test_assert_almost_equal_and_friends():
    tu.assert_almost_equal(mx.nd.array([1.0, 2.0]), np.array([1.0005, 2.0], np.float32))  # float32 atol 1e-3
    with pytest.raises(AssertionError, match=r"(?s)Error .* exceeds tolerance rtol=1.000000e-05.*Location of maximum "
                                             r"error: \(2,\), x=1\.0+, y=1\.1"):
        tu.assert_almost_equal(np.ones(3), np.array([1, 1, 1.1]), names=("x", "y"))
    with pytest.raises(AssertionError, match="Shapes"):
        tu.assert_almost_equal(np.ones(3), np.ones(4))
    assert tu.almost_equal(np.ones(2), np.ones(2) + 1e-7)
    assert not tu.almost_equal(np.ones(2), np.ones(2) + 1e-3)
    assert tu.same(mx.nd.array([1, 2]), np.array([1, 2], np.float32))
    assert not tu.same(np.ones(2), np.ones(3))
    tu.assert_exception(lambda: 1 / 0, ZeroDivisionError)


def test_random_helpers_and_context():
    a = tu.rand_ndarray((2, 3))
    assert a.shape == (2, 3) and a.dtype == np.float32
    assert tu.rand_ndarray((4,), dtype=np.float64).dtype == np.float64
    with pytest.raises(NotImplementedError):
        tu.rand_ndarray((2, 2), stype="csr")
    assert all(1 <= d <= 10 for d in tu.rand_shape_2d()) and len(tu.rand_shape_3d()) == 3
    assert len(tu.rand_shape_nd(4, dim=3)) == 4
    assert tu.default_context() == mx.cpu()
    tu.set_default_context(mx.cpu(1))
    try:
        assert mx.nd.ones((1,)).context == mx.cpu(1)
    finally:
        tu.set_default_context(mx.cpu(0))


def test_check_numeric_gradient_passes_and_catches_a_wrong_gradient():
    rng = np.random.RandomState(0)
    data = mx.sym.Variable("data")
    net = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=3, name="fc"), act_type="tanh")
    tu.check_numeric_gradient(net, [rng.randn(2, 4), rng.randn(3, 4), rng.randn(3)])
    tu.check_numeric_gradient(net, {"data": rng.randn(2, 4), "fc_weight": rng.randn(3, 4), "fc_bias": rng.randn(3)},
                              grad_nodes=["fc_weight"])
    bn = mx.sym.BatchNorm(data, fix_gamma=False, name="bn")
    tu.check_numeric_gradient(bn, [rng.randn(4, 3), rng.rand(3) + 0.5, rng.randn(3)],
                              aux_states=[np.zeros(3), np.ones(3)])
    # a loss head's backward ignores the head gradient, so it cannot agree with finite differences
    lin = mx.sym.LinearRegressionOutput(data, name="lin")
    with pytest.raises(AssertionError, match="NUMERICAL_data"):
        tu.check_numeric_gradient(lin, [rng.randn(3, 2), rng.randn(3, 2)], grad_nodes=["data"])


def test_check_symbolic_forward_and_backward():
    x = np.array([[0.5, -1.0], [2.0, 0.0]])
    data = mx.sym.Variable("data")
    out = tu.check_symbolic_forward(mx.sym.exp(data), [x], [np.exp(x)])
    assert out[0].shape == (2, 2)
    tu.check_symbolic_forward(mx.sym.exp(data, name="e"), {"data": x}, {"e_output": np.exp(x)})
    with pytest.raises(AssertionError):
        tu.check_symbolic_forward(mx.sym.exp(data), [x], [np.exp(x) + 1])
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    grads = tu.check_symbolic_backward(mx.sym.exp(data), [x], [g], [g * np.exp(x)])
    assert set(grads) == {"data"}
    tu.check_symbolic_backward(mx.sym.exp(data), [x], [g], {"data": g * np.exp(x)}, grad_req="add")
    with pytest.raises(AssertionError):
        tu.check_symbolic_backward(mx.sym.exp(data), [x], [g], [g])


def test_environment_sets_and_restores():
    os.environ.pop("TK_TEST_A", None)
    os.environ["TK_TEST_B"] = "old"
    with tu.environment("TK_TEST_A", "1"):
        assert os.environ["TK_TEST_A"] == "1"
    assert "TK_TEST_A" not in os.environ
    with tu.environment({"TK_TEST_B": None, "TK_TEST_A": "2"}):
        assert "TK_TEST_B" not in os.environ and os.environ["TK_TEST_A"] == "2"
    assert os.environ["TK_TEST_B"] == "old" and "TK_TEST_A" not in os.environ
    del os.environ["TK_TEST_B"]
