"""mx.test_utils: tolerances, comparisons, random helpers, gradient checkers, environment."""
import math
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


# ----- the rest of mx.test_utils (dense CPU helpers, statistics, star import) -----------------------
def test_star_import_gives_what_mxnets_gives():
    scope = {}
    exec("from trainkit.test_utils import *", scope)
    for name in ("np", "mx", "os", "sys", "assert_almost_equal", "compare_optimizer", "check_consistency",
                 "verify_generator", "list_gpus", "default_numeric_eps", "discard_stderr", "retry", "environment",
                 "np_reduce", "random_sample", "same_array", "gen_buckets_probs_with_ppf", "chi_square_check",
                 "effective_dtype", "get_etol", "collapse_sum_like", "rand_coord_2d", "set_env_var"):
        assert name in scope, name
    assert scope["mx"] is mx and scope["np"] is np


def test_chi2_survival_function_matches_closed_forms():
    from trainkit.testing_stats import chi2_sf
    assert chi2_sf(1.0, 2) == pytest.approx(math.exp(-0.5), rel=1e-12)                 # dof 2: exp(-x/2)
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-10)             # erfc(sqrt(x/2))
    x = 7.3
    assert chi2_sf(x, 4) == pytest.approx(math.exp(-x / 2) * (1 + x / 2), rel=1e-12)  # dof 4 closed form
    assert chi2_sf(250.0, 200) == pytest.approx(0.0093, abs=2e-4)                      # tables (continued fraction)
    assert chi2_sf(0.0, 3) == 1.0


def test_verify_generator_accepts_uniform_and_rejects_a_biased_one():
    tu = mx.test_utils
    np.random.seed(0)
    buckets, probs = tu.gen_buckets_probs_with_ppf(lambda p: p, 5)
    assert buckets[0] == (0.0, 0.2) and probs == [0.2] * 5
    p_values = tu.verify_generator(lambda n: np.random.uniform(size=n), buckets, probs, nsamples=20000, nrepeat=3)
    assert len(p_values) == 3
    with pytest.raises(AssertionError, match="Generator test fails"):
        tu.verify_generator(lambda n: np.random.uniform(size=n) ** 2, buckets, probs, nsamples=20000, nrepeat=3)
    p, obs, exp = tu.chi_square_check(lambda n: np.random.randint(0, 3, size=n), [0, 1, 2], [1 / 3] * 3, 3000)
    assert obs.sum() == 3000 and exp.tolist() == [1000, 1000, 1000] and 0 <= p <= 1
    assert tu.mean_check(lambda n: np.random.normal(size=n), 0, 1, 10000)
    assert tu.var_check(lambda n: np.random.normal(size=n), 1, 10000)
    assert not tu.mean_check(lambda n: np.random.normal(size=n) + 1, 0, 1, 10000)


def test_data_helpers():
    tu = mx.test_utils
    x = np.arange(24.).reshape(2, 3, 4)
    np.testing.assert_array_equal(tu.np_reduce(x, (0, 2), True, np.sum), x.sum(axis=(0, 2), keepdims=True))
    np.testing.assert_array_equal(tu.collapse_sum_like(x, (3, 1)), x.sum(axis=(0, 2)).reshape(3, 1))
    assert tu.create_2d_tensor(3, 2).asnumpy().tolist() == [[0, 0], [1, 1], [2, 2]]
    assert tu.create_vector(3).asnumpy().tolist() == [0, 1, 2]
    np.random.seed(1)
    assert sorted(tu.random_sample(list(range(10)), 4)) != [] and len(tu.random_sample([1, 2, 3], 2)) == 2
    arrays = tu.random_uniform_arrays((2,), (3, 1), low=-1, high=0)
    assert [a.shape for a in arrays] == [(2,), (3, 1)] and all((a < 0).all() for a in arrays)
    assert tu.default_numeric_eps()[np.dtype(np.float32)] == 1 / 512
    assert tu.effective_dtype(mx.nd.ones((1,))) == np.float32 and tu.get_etol() == 0
    assert list(tu.list_gpus()) == [] or mx.context.num_gpus() > 0
    assert tu.is_op_runnable() and not tu.has_tvm_ops()


def test_comparison_helpers():
    tu = mx.test_utils
    a = np.array([1.0, np.nan, 3.0])
    tu.assert_almost_equal_ignore_nan(a, np.array([1.0, 2.0, np.nan]))
    tu.assert_almost_equal_with_err(np.arange(10.), np.arange(10.) + (np.arange(10) == 3), etol=0.2)
    with pytest.raises(AssertionError, match="20.000000% of the elements differ"):
        tu.assert_almost_equal_with_err(np.arange(10.), np.arange(10.) + (np.arange(10) < 2), etol=0.1)
    x = mx.nd.ones((2, 2))
    assert tu.same_array(x, x[:]) and not tu.same_array(x, x.copy())


def test_retry_discard_stderr_and_set_env_var(capfd):
    calls = []

    @mx.test_utils.retry(3)
    def flaky():
        calls.append(1)
        assert len(calls) >= 2
    flaky()
    assert len(calls) == 2
    with mx.test_utils.discard_stderr():
        os.write(2, b"hidden\n")
    os.write(2, b"shown\n")
    assert capfd.readouterr().err == "shown\n"
    old = mx.test_utils.set_env_var("TK_TEST_VAR", "1", default_val="none")
    assert old == "none" and os.environ.pop("TK_TEST_VAR") == "1"


def test_get_mnist_reads_local_files_or_says_where_to_put_them(tmp_path, monkeypatch):
    import gzip
    import struct
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"trainkit never downloads.*datasets[/\\]mnist"):
        mx.test_utils.get_mnist()
    with pytest.raises(FileNotFoundError, match="fetch http://x/y.zip yourself"):
        mx.test_utils.download("http://x/y.zip")
    folder = tmp_path / "datasets" / "mnist"
    folder.mkdir(parents=True)
    for prefix, n in (("train", 3), ("t10k", 2)):
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 2051, n, 28, 28) + bytes(range(n)) * 784)
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, n) + bytes(range(n)))
    data = mx.test_utils.get_mnist()
    assert data["train_data"].shape == (3, 1, 28, 28) and data["train_data"].dtype == np.float32
    assert data["test_label"].tolist() == [0, 1] and data["train_label"].dtype == np.int8
    mx.test_utils.get_mnist_ubyte()                 # MXNet's tests then read data/train-images-idx3-ubyte
    it = mx.io.MNISTIter(image="data/train-images-idx3-ubyte", label="data/train-labels-idx1-ubyte",
                         batch_size=1, silent=True)
    assert sorted(b.label[0].asscalar() for b in it) == [0, 1, 2]


def test_check_consistency_runs_every_context_config():
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    ctx_list = [{"ctx": mx.cpu(), "data": (2, 4), "type_dict": {"data": np.float64}},
                {"ctx": mx.cpu(), "data": (2, 4), "type_dict": {"data": np.float32}}]
    gt = mx.test_utils.check_consistency(net, ctx_list)
    assert gt["fc_output"].shape == (2, 3)


def test_check_numeric_gradient_takes_none_for_eps_and_rtol_as_mxnet_callers_pass():
    x = mx.sym.Variable("x")
    loc = {"x": np.random.default_rng(0).uniform(0.5, 1.5, (3, 4))}
    mx.test_utils.check_numeric_gradient(mx.sym.exp(x), loc, numeric_eps=None, rtol=None)
    with pytest.raises(AssertionError):  # a wrong gradient is still caught with those defaults
        bad = mx.sym.BlockGrad(x) * x  # the true gradient is 2x; BlockGrad makes the backward give x
        mx.test_utils.check_numeric_gradient(bad, loc, numeric_eps=None, rtol=None)
