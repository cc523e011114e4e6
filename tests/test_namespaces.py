"""MXNet's module layout: mx.nd is mxnet.ndarray, mx.random, mx.base, mx.context, mx.runtime, legacy names."""
import importlib
import pickle

import numpy as np
import pytest

import trainkit as mx
from trainkit import nd


def test_ndarray_package_is_nd_everywhere():
    import trainkit.ndarray as ndarray_module
    assert ndarray_module is mx.nd is mx.ndarray is importlib.import_module("trainkit.nd")
    from trainkit.ndarray import zeros_like
    assert zeros_like is nd.zeros_like
    from trainkit.ndarray.ndarray import NDArray, py_slice, _GRAD_REQ_MAP
    assert NDArray is nd.NDArray and py_slice is slice and _GRAD_REQ_MAP["add"] == 3
    assert nd.ndarray.NDArray is NDArray and importlib.import_module("trainkit.nd.ndarray") is nd.ndarray
    assert importlib.import_module("trainkit.nd.random") is nd.random


def test_random_module_gives_ndarrays_and_keeps_seed():
    mx.random.seed(3)
    a = mx.random.uniform(0, 1, shape=(4,), ctx=mx.cpu())
    mx.random.seed(3)
    b = mx.nd.random.uniform(0, 1, shape=(4,))
    assert isinstance(a, nd.NDArray) and np.array_equal(a.asnumpy(), b.asnumpy())
    for name in ("uniform", "normal", "randn", "randint", "gamma", "exponential", "poisson", "negative_binomial",
                 "generalized_negative_binomial", "multinomial", "shuffle", "seed"):
        assert callable(getattr(mx.random, name)), name
    assert mx.random.normal is nd.random.normal
    with pytest.raises(ValueError, match="seed_state must be an int"):
        mx.random.seed(0.5)


def test_base_names():
    from trainkit.base import (MXNetError, NotImplementedForSymbol, NotSupportedForSparseNDArray, _as_list,
                               _Null, data_dir, integer_types, numeric_types, py_str, string_types)
    assert MXNetError is mx.MXNetError and issubclass(MXNetError, RuntimeError)
    assert issubclass(NotImplementedForSymbol, MXNetError) and issubclass(NotSupportedForSparseNDArray, MXNetError)
    assert str(NotImplementedForSymbol(len, "op", 1)) == (
        'Function len (namely operator "op") with arguments (<class \'int\'>) is not implemented for Symbol '
        "and only available in NDArray.")
    assert _as_list(1) == [1] and _as_list((1, 2)) == (1, 2) and py_str(b"ab") == "ab"
    assert isinstance(np.int64(3), integer_types) and isinstance(2.5, numeric_types)
    assert isinstance(np.float32(1), numeric_types) and isinstance("s", string_types)
    assert repr(_Null) == "_Null" and data_dir().endswith(".mxnet") or data_dir()
    assert mx.base is importlib.import_module("trainkit.base")


def test_context_without_cupy():
    g = mx.gpu(1)
    assert isinstance(g, mx.Context) and repr(g) == "gpu(1)" and g.device_type == "gpu" and g.device_typeid == 2
    assert mx.gpu(0) == mx.Context("gpu", 0) and hash(mx.gpu(0)) == hash(mx.Context("gpu", 0))
    assert mx.gpu(0) != mx.cpu(0) and {mx.cpu(0): 1}[mx.cpu()] == 1
    assert mx.Context(mx.gpu(2)) == mx.gpu(2) and mx.cpu_pinned() == mx.Context("cpu_pinned", 0)
    assert mx.context.current_context() == mx.cpu() and mx.Context.default_ctx == mx.cpu()
    with mx.cpu(3):
        assert mx.current_context() == mx.cpu(3) == mx.Context.default_ctx and nd.zeros((1,)).context == mx.cpu(3)
    assert mx.current_context() == mx.cpu(0)
    with pytest.raises(KeyError, match="Unknown device type 'tpu'"):
        mx.Context("tpu")
    try:
        import cupy  # noqa: F401
    except ImportError:
        assert mx.context.num_gpus() == 0 == mx.num_gpus()
        with pytest.raises(mx.MXNetError, match="CuPy"):
            nd.ones((2,), ctx=mx.gpu(0))


def test_runtime_features():
    from trainkit import runtime
    features = runtime.Features()
    assert features is runtime.Features() and features.is_enabled("lapack")
    assert not features.is_enabled("INT64_TENSOR_SIZE") and not features.is_enabled("MKLDNN")
    with pytest.raises(RuntimeError, match="Feature 'NOPE' is unknown"):
        features.is_enabled("nope")


def test_legacy_nd_creation_and_fluent_names():
    assert nd.eye(3).asnumpy().tolist() == np.eye(3).tolist()
    assert nd.linspace(0, 1, 5).asnumpy().tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert nd.from_numpy(np.arange(3.0)).asnumpy().tolist() == [0, 1, 2]
    x = nd.array([[1, 2], [3, 4]])
    assert x.zeros_like().asnumpy().tolist() == [[0, 0], [0, 0]] and x.ones_like().sum().asscalar() == 4
    assert x.sum(axis=1).asnumpy().tolist() == [3, 7] and x.exp().shape == (2, 2)


def test_pickled_arrays_round_trip():
    for arr in (nd.array([[1.5, 2], [3, 4]]), nd.array([1, 2], dtype="int32"), nd.ones((2, 3), dtype="float16")):
        back = pickle.loads(pickle.dumps(arr))
        assert back.dtype == arr.dtype and back.shape == arr.shape and back.context == arr.context
        np.testing.assert_array_equal(back.asnumpy(), arr.asnumpy())
    x = nd.ones((2,))
    x.attach_grad()
    assert pickle.loads(pickle.dumps(x)).grad is None   # the graph does not travel


def test_numpy_and_sparse_namespaces_import_and_say_what_to_use():
    # MXNet 1.x code imports them and uses them only in numpy mode or for sparse data
    np_mod = importlib.import_module("trainkit.numpy")
    assert mx.np is np_mod and mx.util.is_np_array() is False
    with pytest.raises(AttributeError, match=r"mx.np.concatenate: .* Use mx.nd"):
        np_mod.concatenate  # noqa: B018
    sparse = importlib.import_module("trainkit.nd.sparse")
    assert mx.nd.sparse is sparse
    with pytest.raises(AttributeError, match=r"mx.nd.sparse.csr_matrix: trainkit has dense storage only"):
        sparse.csr_matrix  # noqa: B018
