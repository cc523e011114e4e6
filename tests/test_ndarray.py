"""NDArray: creation, dtypes, repr, operators, indexing, in-place writes, devices, errors."""
import os

import numpy as np
import pytest

import trainkit as mx
from trainkit import nd


def test_creation_dtypes_follow_mxnet():
    assert nd.array([1, 2, 3]).dtype is np.float32
    assert nd.array(np.array([1.0])).dtype is np.float32  # numpy float64 becomes float32
    assert nd.array([1, 2], dtype="int32").dtype is np.int32
    assert nd.array(nd.ones((2,), dtype=np.float64)).dtype is np.float64  # an NDArray keeps its dtype
    assert nd.zeros((2, 3)).shape == (2, 3) and nd.ones(4).shape == (4,)
    assert nd.full((2,), 7).asnumpy().tolist() == [7, 7]
    assert nd.arange(0, 6, 2).asnumpy().tolist() == [0, 2, 4]
    assert nd.arange(3, repeat=2).asnumpy().tolist() == [0, 0, 1, 1, 2, 2]
    x = nd.array([[1, 2], [3, 4]])
    assert nd.ones_like(x).asnumpy().sum() == 4 and nd.zeros_like(x).asnumpy().sum() == 0
    assert (x.size, x.ndim, x.context, x.ctx, x.stype) == (4, 2, mx.cpu(0), mx.cpu(0), "default")


@pytest.mark.parametrize("make, text", [
    (lambda: nd.array([3.7182817, 3.7182817]), "\n[3.7182817 3.7182817]\n<NDArray 2 @cpu(0)>"),
    (lambda: nd.ones((2, 3)), "\n[[1. 1. 1.]\n [1. 1. 1.]]\n<NDArray 2x3 @cpu(0)>"),
    (lambda: nd.ones((2, 1, 2)), "\n[[[1. 1.]]\n\n [[1. 1.]]]\n<NDArray 2x1x2 @cpu(0)>"),
    (lambda: nd.array([5.0]), "\n[5.]\n<NDArray 1 @cpu(0)>"),
    (lambda: nd.array(5.0), "\n5.0\n<NDArray  @cpu(0)>"),
    (lambda: nd.ones((2,), dtype="int32"), "\n[1 1]\n<NDArray 2 @cpu(0)>"),
    (lambda: nd.ones((2,), dtype="float16"), "\n[1. 1.]\n<NDArray 2 @cpu(0)>"),
    (lambda: nd.arange(2000),
     "\n[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]\n<NDArray 2000 @cpu(0)>"),
    (lambda: nd.array([1e-8, 1.0]), "\n[1.e-08 1.e+00]\n<NDArray 2 @cpu(0)>"),
    (lambda: nd.ones((2, 2), ctx=mx.cpu(1)), "\n[[1. 1.]\n [1. 1.]]\n<NDArray 2x2 @cpu(1)>"),
])
def test_repr_matches_mxnet(make, text):
    assert repr(make()) == text and str(make()) == text


def test_list_repr_and_contexts():
    assert repr([nd.array([1.0]), nd.zeros((2,))]) == "[\n[1.]\n<NDArray 1 @cpu(0)>, \n[0. 0.]\n<NDArray 2 @cpu(0)>]"
    assert str(mx.cpu()) == "cpu(0)" and mx.cpu() == mx.cpu(0) and str(mx.current_context()) == "cpu(0)"
    assert str(mx.Context("gpu", 1)) == "gpu(1)" and str(mx.cpu_pinned()) == "cpu_pinned(0)"
    with mx.Context("cpu", 2):
        assert nd.zeros((1,)).context == mx.cpu(2)
    assert nd.zeros((1,)).context == mx.cpu(0)


def test_arithmetic_broadcasting_and_scalars():
    a = nd.array([[1.0, 2.0], [3.0, 4.0]])
    b = nd.array([10.0, 20.0])
    assert (a + b).asnumpy().tolist() == [[11, 22], [13, 24]]
    assert (2 - a).asnumpy().tolist() == [[1, 0], [-1, -2]]
    assert (a / 2).asnumpy().tolist() == [[0.5, 1], [1.5, 2]]
    assert (1 / nd.array([4.0])).asnumpy().tolist() == [0.25]
    assert (a ** 2).asnumpy().tolist() == [[1, 4], [9, 16]]
    assert (2 ** nd.array([3.0])).asnumpy().tolist() == [8]
    assert (-a).asnumpy().tolist() == [[-1, -2], [-3, -4]]
    assert (a @ a).asnumpy().tolist() == [[7, 10], [15, 22]]
    assert (a > 2).asnumpy().tolist() == [[0, 0], [1, 1]] and (a == b / 10).asnumpy().tolist() == [[1, 1], [0, 0]]
    assert (3 > a).asnumpy().tolist() == [[1, 1], [0, 0]]
    assert (a * np.float64(2)).dtype is np.float32  # numpy scalars do not promote
    assert (a + np.array([1.0, 1.0])).asnumpy().tolist() == [[2, 3], [4, 5]]
    assert (np.float32(2) * a).asnumpy().tolist() == [[2, 4], [6, 8]]


def test_reductions_have_mxnet_shapes():
    x = nd.arange(12).reshape((3, 4))
    assert nd.sum(x).shape == (1,) and nd.sum(x).asscalar() == 66
    assert x.sum(axis=0).asnumpy().tolist() == [12, 15, 18, 21]
    assert x.mean(axis=1, keepdims=True).shape == (3, 1)
    assert nd.max(x, axis=1).asnumpy().tolist() == [3, 7, 11] and x.min().asscalar() == 0
    assert nd.sum(x, axis=1, exclude=True).asnumpy().tolist() == [12, 15, 18, 21]
    assert nd.argmax(x, axis=1).asnumpy().tolist() == [3, 3, 3]
    np.testing.assert_allclose(nd.norm(nd.array([3.0, 4.0])).asscalar(), 5.0)
    with pytest.raises(ValueError, match="not a scalar"):
        x.asscalar()


def test_shape_functions():
    x = nd.arange(24).reshape((2, 3, 4))
    assert x.reshape((0, -1)).shape == (2, 12) and x.reshape((-3, 4)).shape == (6, 4)
    assert x.reshape((2, -2)).shape == (2, 3, 4) and x.reshape(6, 4).shape == (6, 4)
    assert nd.transpose(x).shape == (4, 3, 2) and x.transpose((1, 0, 2)).shape == (3, 2, 4)
    assert x.T.shape == (4, 3, 2) and nd.flatten(x).shape == (2, 12)
    assert nd.expand_dims(x, 1).shape == (2, 1, 3, 4) and nd.squeeze(nd.ones((1, 3, 1))).shape == (3,)
    assert nd.concat(x, x, dim=2).shape == (2, 3, 8) and nd.stack(x, x).shape == (2, 2, 3, 4)
    parts = nd.split(x, num_outputs=3, axis=1)
    assert len(parts) == 3 and parts[1].asnumpy().tolist() == x.asnumpy()[:, 1:2].tolist()
    assert nd.split(x, 3, axis=1, squeeze_axis=True)[0].shape == (2, 4)
    assert nd.tile(nd.array([1, 2]), 2).asnumpy().tolist() == [1, 2, 1, 2]
    assert nd.repeat(nd.array([1, 2]), 2).asnumpy().tolist() == [1, 1, 2, 2]
    assert nd.one_hot(nd.array([1, 0]), 3).asnumpy().tolist() == [[0, 1, 0], [1, 0, 0]]
    assert nd.pick(nd.array([[1, 2], [3, 4]]), nd.array([1, 0])).asnumpy().tolist() == [2, 3]
    assert nd.clip(nd.array([-2, 0.5, 3]), -1, 1).asnumpy().tolist() == [-1, 0.5, 1]
    assert nd.where(nd.array([1, 0]), nd.array([1, 2]), nd.array([3, 4])).asnumpy().tolist() == [1, 4]
    with pytest.raises(ValueError, match=r"Cannot reshape array of size 24 into shape \(5, -1\)"):
        x.reshape((5, -1))  # ValueError, as MXNet's NDArray.reshape


def test_indexing_views_and_setitem():
    x = nd.arange(12).reshape((3, 4))
    assert x[1].asnumpy().tolist() == [4, 5, 6, 7] and x[1:3].shape == (2, 4)
    assert x[:, 1].asnumpy().tolist() == [1, 5, 9]
    assert x[nd.array([0, 2])].shape == (2, 4)
    view = x[1:2]
    view[:] = 0  # basic slices share memory, as in MXNet
    assert x.asnumpy()[1].tolist() == [0, 0, 0, 0]
    x[0] = nd.array([9, 9, 9, 9])
    x[2, 3] = -1
    assert x.asnumpy()[0].tolist() == [9] * 4 and x.asnumpy()[2, 3] == -1
    assert len(x) == 3 and [r.shape for r in x] == [(4,)] * 3


def test_inplace_operators_keep_identity():
    p = nd.array([1.0, 2.0])
    q = p
    p -= 0.5 * nd.array([2.0, 2.0])
    p += 1
    p *= 2
    p /= 4
    assert q is p and p.asnumpy().tolist() == [0.5, 1.0]


def test_copies_and_conversion():
    x = nd.array([1.0, 2.0])
    c = x.copy()
    c[:] = 0
    assert x.asnumpy().tolist() == [1, 2]
    target = nd.zeros((2,))
    assert x.copyto(target) is target and target.asnumpy().tolist() == [1, 2]
    assert x.copyto(mx.cpu(1)).context == mx.cpu(1)
    assert x.as_in_context(mx.cpu()) is x
    assert x.astype("int32").dtype is np.int32 and x.astype(np.float32, copy=False) is x
    assert np.asarray(x).tolist() == [1, 2] and float(nd.array([3.5])) == 3.5
    assert x.detach()._node is None
    x.wait_to_read()
    nd.waitall()
    with pytest.raises(mx.MXNetError, match=r"copyto: shape mismatch"):
        x.copyto(nd.zeros((3,)))


def test_operator_errors_name_the_operator_and_shapes():
    with pytest.raises(mx.MXNetError, match=r"broadcast_add .* shape \(2, 3\) and \(4,\)"):
        nd.ones((2, 3)) + nd.ones((4,))
    with pytest.raises(mx.MXNetError, match=r"elemwise_add needs inputs of the same shape, got \(2,\) and \(3,\)"):
        nd.elemwise_add(nd.ones((2,)), nd.ones((3,)))
    with pytest.raises(mx.MXNetError, match=r"FullyConnected: weight has shape \(4, 5\) but data of shape \(2, 3\)"):
        nd.FullyConnected(nd.ones((2, 3)), nd.ones((4, 5)), nd.ones((4,)), num_hidden=4)
    with pytest.raises(mx.MXNetError, match=r"dot: shapes \(2, 3\) and \(2, 3\) do not fit"):
        nd.dot(nd.ones((2, 3)), nd.ones((2, 3)))
    with pytest.raises(mx.MXNetError, match="unknown act_type 'swish'"):
        nd.Activation(nd.ones((1,)), act_type="swish")
    with pytest.raises(mx.MXNetError, match="SoftmaxOutput: label has shape"):
        nd.SoftmaxOutput(nd.ones((2, 3)), nd.ones((5,)))


def test_layers_forward_values():
    x = nd.array([[1.0, 2.0, 3.0]])
    w = nd.array([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    b = nd.array([1.0, -1.0])
    assert nd.FullyConnected(x, w, b, num_hidden=2).asnumpy().tolist() == [[-1, 2]]
    assert nd.FullyConnected(x, w, no_bias=True, num_hidden=2).asnumpy().tolist() == [[-2, 3]]
    z = nd.array([[1.0, 2.0, 3.0]])
    sm = np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum()
    np.testing.assert_allclose(nd.softmax(z).asnumpy()[0], sm, rtol=1e-6)
    np.testing.assert_allclose(nd.log_softmax(z).asnumpy()[0], np.log(sm), rtol=1e-6)
    np.testing.assert_allclose(nd.softmax_cross_entropy(z, nd.array([2])).asnumpy(), [-np.log(sm[2])], rtol=1e-6)
    assert nd.Activation(nd.array([-1, 2]), act_type="relu").asnumpy().tolist() == [0, 2]
    np.testing.assert_allclose(nd.LeakyReLU(nd.array([-1.0, 2.0]), slope=0.1).asnumpy(), [-0.1, 2])
    big = nd.array([-1000.0, 1000.0])
    assert nd.sigmoid(big).asnumpy().tolist() == [0, 1] and np.isfinite(nd.softrelu(big).asnumpy()).all()


def test_softmax_output_gradient_is_softmax_minus_onehot():
    x = nd.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    x.attach_grad()
    with mx.autograd.record():
        out = nd.SoftmaxOutput(x, nd.array([2, 0]))
    out.backward()
    onehot = np.array([[0, 0, 1], [1, 0, 0]])
    np.testing.assert_allclose(x.grad.asnumpy(), out.asnumpy() - onehot, rtol=1e-6)
    with mx.autograd.record():
        out = nd.SoftmaxOutput(x, nd.array([2, 0]), normalization="batch", grad_scale=2.0)
    out.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), (out.asnumpy() - onehot), rtol=1e-6)


def test_linear_regression_output_gradient():
    x = nd.array([[1.0], [4.0]])
    x.attach_grad()
    with mx.autograd.record():
        out = nd.LinearRegressionOutput(x, nd.array([1.5, 2.0]))
    out.backward()
    assert out.asnumpy().tolist() == [[1], [4]] and x.grad.asnumpy().tolist() == [[-0.5], [2]]


def test_gpu_without_cupy_says_what_to_install():
    try:
        import cupy  # noqa: F401
    except ImportError:
        ctx = mx.gpu(0)  # a Context, as in MXNet: only allocating on it fails
        assert repr(ctx) == "gpu(0)" and mx.context.num_gpus() == 0
        with pytest.raises(mx.MXNetError, match=r"pip install 'trainkit\[gpu\]'"):
            nd.zeros((2,), ctx=ctx)
    else:
        pytest.skip("CuPy is installed here; the GPU path is checked by tests/test_gpu.py")


def test_nd_save_and_load(tmp_path):
    data = {"arg:w": nd.array([[1, 2], [3, 4]]), "aux:n": nd.array([7], dtype="int32"),
            "f64": nd.array([0.5], dtype=np.float64)}
    nd.save(str(tmp_path / "d.params"), data)
    back = nd.load(str(tmp_path / "d.params"))
    assert list(back) == list(data)
    for k in data:
        assert back[k].dtype is data[k].dtype and back[k].asnumpy().tolist() == data[k].asnumpy().tolist()
        assert isinstance(back[k], nd.NDArray)
    nd.save(str(tmp_path / "one.nd"), nd.ones((2,)))
    (single,) = nd.load(str(tmp_path / "one.nd"))  # one array comes back as a list of one, as in MXNet
    assert single.asnumpy().tolist() == [1, 1]
    mxnet_file = nd.load(os.path.join(os.path.dirname(__file__), "data", "dict.params"))
    assert sorted(mxnet_file) == ["arg:fc_bias", "arg:fc_weight", "aux:bn_moving_var"]
    assert mxnet_file["arg:fc_weight"].shape == (4, 3)
    with pytest.raises(TypeError, match="only NDArrays can be saved"):
        nd.save(str(tmp_path / "bad.nd"), {"x": np.ones(2)})


# ----- MXNet 1.x semantics ------------------------------------------------------------------------
def test_integer_indexing_and_iteration_give_shape_1_arrays():
    x = nd.arange(5)
    assert x[1].shape == (1,) and x[-1].asscalar() == 4 and isinstance(x[1].asscalar(), np.float32)
    assert [a.shape for a in x] == [(1,)] * 5 and [float(a.asscalar()) for a in x] == [0, 1, 2, 3, 4]
    m = nd.arange(6).reshape((2, 3))
    assert m[1].shape == (3,) and m[1, 2].shape == (1,) and m[1][0].asscalar() == 3
    assert [r.asnumpy().tolist() for r in m] == [[0, 1, 2], [3, 4, 5]] and len(m) == 2
    assert repr(x[2]) == "\n[2.]\n<NDArray 1 @cpu(0)>"
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 5"):
        x[5]
    with pytest.raises(IndexError, match="index -6 is out of bounds"):
        x[-6]
    with pytest.raises(ValueError, match="does not support slicing with key 1.0"):
        x[1.0]
    with pytest.raises(ValueError, match="boolean indexing"):
        x[nd.array([1, 0, 1, 0, 1], dtype="bool")]


def test_basic_and_advanced_indexing_match_numpy():
    a = np.arange(24, dtype=np.float32).reshape((2, 3, 4))
    x = nd.array(a)
    for key in [(slice(None), 1), (Ellipsis, 2), (None, 0), (slice(None, None, -1),), (0, slice(1, None, 2)),
                (slice(None), None, slice(1, 3)), ([1, 0],), ([0, 1], [2, 0]), (np.array([1, 1]), Ellipsis, 3),
                (slice(None), [0, 2], slice(None, 2))]:
        np.testing.assert_array_equal(x[key].asnumpy(), a[key], err_msg=str(key))
    np.testing.assert_array_equal(x[nd.array([1, 0])].asnumpy(), a[[1, 0]])
    np.testing.assert_array_equal(x[(nd.array([0, 1]), nd.array([2, 1]))].asnumpy(), a[[0, 1], [2, 1]])
    assert x[()].shape == (2, 3, 4)


def test_setitem_broadcasts_and_basic_slices_are_views():
    x = nd.zeros((3, 4))
    x[1] = 5
    x[:, 0] = nd.array([1, 2, 3])
    x[2, 1:3] = nd.array([7, 8])
    x[0, 3] = nd.array([9])          # a (1,) value fills one element
    x[[0, 2], 2] = 4
    x[-1, ::2] = np.array([-1, -2])
    want = np.array([[1, 0, 4, 9], [2, 5, 5, 5], [-1, 7, -2, 0]], np.float32)
    np.testing.assert_array_equal(x.asnumpy(), want)
    view = x[1:3]
    view[:] = 0
    assert x.asnumpy()[1:].sum() == 0
    y = nd.zeros((2, 2), dtype="int32")
    y[:] = 2.7                        # cast to the array's dtype, as MXNet
    assert y.asnumpy().tolist() == [[2, 2], [2, 2]]
    with pytest.raises(ValueError, match="cannot assign"):
        x[0] = nd.ones((3,))


def test_in_place_writes_while_recording_raise_as_mxnet():
    y = nd.ones((3,))
    y.attach_grad()
    x = nd.zeros((3,))
    with mx.autograd.record():
        x[:] = 5                                   # no recorded value involved: fine
        with pytest.raises(mx.MXNetError, match=r"Inplace operations \(\+=, -=, x\[:\]=, etc\) are not supported"):
            x[1:] = y[1:]
        with pytest.raises(mx.MXNetError, match="Inplace operations"):
            x += y
        z = y * 2
        with pytest.raises(mx.MXNetError, match="already in a computational graph"):
            z[:] = 3
        w = nd.zeros((3,))
        w[:] = y * 3                               # a full copy stands for the value in the graph
        loss = w.sum()
    loss.backward()
    assert y.grad.asnumpy().tolist() == [3, 3, 3]


def test_integer_arithmetic_stays_integer():
    a, b = nd.array([-5, 7], dtype="int32"), nd.array([2, 2], dtype="int32")
    cases = {"a/b": (a / b, [-2, 3]), "a/2": (a / 2, [-2, 3]), "7/a": (7 / a, [-1, 1]), "a%b": (a % b, [1, 1]),
             "a%-3": (a % -3, [-2, -2]), "a*2.5": (a * 2.5, [-10, 14]), "2.5*a": (2.5 * a, [-10, 14]),
             "a+1.9": (a + 1.9, [-4, 8]), "a**2": (a ** 2, [25, 49]), "a>1": (a > 1, [0, 1]), "-a": (-a, [5, -7])}
    for label, (got, want) in cases.items():
        assert got.dtype == np.int32 and got.asnumpy().tolist() == want, label
    c = nd.array([10, 20], dtype="int64")
    c /= 3
    c += 0.9
    assert c.dtype == np.int64 and c.asnumpy().tolist() == [3, 6]
    assert (nd.array([5.0, -5.0]) % 3).asnumpy().tolist() == [2, 1]   # floats: divisor's sign, like Python
    with pytest.raises(TypeError):
        a // b                                                          # MXNet 1.x has no //


def test_numpy_on_the_left_and_numpy_functions():
    x = nd.array([1, 2])
    r = np.array([10.0, 20.0]) - x
    assert isinstance(r, nd.NDArray) and r.asnumpy().tolist() == [9, 18]
    assert isinstance(np.float32(2) * x, nd.NDArray)
    assert bool(np.all(nd.array([5], dtype="int32") == 5)) and np.sum(x) == 3
    x.attach_grad()
    with mx.autograd.record():
        y = (np.array([3.0, 3.0]) * x).sum()
    y.backward()
    assert x.grad.asnumpy().tolist() == [3, 3]


def test_reshape_codes():
    x = nd.zeros((2, 3, 4))
    cases = {(0, -1): (2, 12), (-2,): (2, 3, 4), (-3, -2): (6, 4), (0, -4, 1, -1, 0): (2, 1, 3, 4),
             (-4, -1, 2, -2): (1, 2, 3, 4), (2, -1): (2, 12), (4, 0, 2): (4, 3, 2), (0, -3): (2, 12)}
    for codes, shape in cases.items():
        assert x.reshape(codes).shape == shape, codes
        assert x.reshape(*codes).shape == shape, codes
    assert x.reshape(shape=(-1, 0), reverse=True).shape == (6, 4)
    assert nd.reshape(x, (0, -4, 1, -1, 0)).shape == (2, 1, 3, 4)          # the operator resolves them too
    assert mx.sym.reshape(mx.sym.var("a"), shape=(0, -4, 1, -1, 0)).infer_shape(a=(2, 3, 4))[1] == [(2, 1, 3, 4)]
    with pytest.raises(mx.MXNetError, match=r"cannot reshape an array of shape \(2, 3, 4\)"):
        nd.reshape(x, (5, -1))
    assert nd.zeros((10, 5, 4)).reshape((-1, 0), reverse=True).shape == (50, 4)
    with pytest.raises(ValueError, match=r"Cannot reshape array of size 24 into shape \(0, -4, 1, -1\)"):
        x.reshape((0, -4, 1, -1))                  # the last input dim is dropped, as MXNet does
    with pytest.raises(mx.MXNetError, match="does not multiply back"):
        x.reshape((-4, 1, 3))
    with pytest.raises(TypeError, match="unknown keywords in reshape: order"):
        x.reshape((2, 12), order="C")
    y = nd.arange(6).reshape((2, 3))
    y.reshape(-1)[:] = 1                           # a reshape is a view
    assert y.asnumpy().sum() == 6


def test_bool_len_and_conversions():
    assert bool(nd.array([1])) and not bool(nd.array([0])) and bool(nd.array(2.0))
    with pytest.raises(ValueError, match="truth value of an NDArray with multiple elements is ambiguous"):
        bool(nd.array([1, 2]))
    with pytest.raises(IndexError):
        len(nd.array(3))
    x = nd.array([[1, 2]])
    assert x.astype("float32", copy=False) is x and x.astype("int32").dtype == np.int32
    assert x.tostype("default").asnumpy().tolist() == [[1, 2]] and x.as_nd_ndarray() is x
    with pytest.raises(mx.MXNetError, match="dense storage only"):
        x.tostype("csr")
    assert x.stype == "default" and x.size == 2 and x.ndim == 2 and x.context == mx.cpu()
    assert nd.ones((3,)).T.shape == (3,) and nd.zeros((2, 3, 4)).T.shape == (4, 3, 2)


def test_fluent_copies_unless_inplace():
    t = (nd.arange(30) + 1).reshape(2, 3, 5)
    copy, view = t.flatten(), t.flatten(inplace=True)
    squeezed, expanded = t.expand_dims(0).squeeze(0), t.expand_dims(1, inplace=True)
    t[0] = -1
    assert copy[0, 0].asscalar() == 1 and view[0, 0].asscalar() == -1
    assert expanded[0, 0, 0, 0].asscalar() == -1 and squeezed.shape == (2, 3, 5)


def test_fluent_methods_come_from_the_operator_table():
    from trainkit.ndarray.ndarray import FLUENT_METHODS
    x = nd.array([[1.0, 4.0], [9.0, 16.0]])
    present = [name for name in sorted(FLUENT_METHODS) if hasattr(nd, name)]
    assert len(present) > 40
    for name in present:
        assert callable(getattr(x, name)), name
    assert x.sqrt().asnumpy().tolist() == [[1, 2], [3, 4]] and x.max(axis=0).asnumpy().tolist() == [9, 16]
    with pytest.raises(AttributeError, match="has no attribute 'no_such_method'"):
        x.no_such_method()


def test_creation_functions_out_and_dtypes():
    assert nd.array(np.arange(3)).dtype is np.float32 and nd.array(np.arange(3), dtype="int64").dtype is np.int64
    out = nd.zeros((2, 2), dtype="float64")
    assert nd.ones((2, 2), out=out) is out and out.asnumpy().tolist() == [[1, 1], [1, 1]]
    assert nd.full((2, 2), 3, out=out) is out and out.dtype == np.float64 and out.asnumpy()[0, 0] == 3
    assert nd.zeros((2,), out=nd.ones((2,))).asnumpy().tolist() == [0, 0]
    with pytest.raises(mx.MXNetError, match="dense storage only"):
        nd.zeros((2,), stype="row_sparse")
    np.testing.assert_allclose(nd.arange(0, 1, 0.25).asnumpy(), [0, 0.25, 0.5, 0.75])
    assert nd.arange(5).dtype is np.float32 and nd.arange(2, dtype="int32").dtype is np.int32
    assert nd.arange(1, 3, repeat=2, infer_range=False).asnumpy().tolist() == [1, 1, 2, 2]
    assert nd.eye(2, 3, 1).asnumpy().tolist() == [[0, 1, 0], [0, 0, 1]] and nd.eye(2).dtype is np.float32
    assert nd.linspace(0, 1, 4, endpoint=False).asnumpy().tolist() == [0, 0.25, 0.5, 0.75]
    assert nd.zeros_like(nd.ones((2,), dtype="int32")).dtype is np.int32
    src = np.arange(6.0).reshape(3, 2)
    shared = nd.from_numpy(src)
    shared[2, 1] = 100
    assert src[2, 1] == 100 and not src.flags.writeable
    with pytest.raises(ValueError, match="C-contiguous"):
        nd.from_numpy(np.arange(6.0).reshape(3, 2).T)
    assert nd.waitall() is None


def test_index_errors_are_catchable_as_mxnet_and_python_errors():
    x = nd.arange(3)
    for key in (nd.array([5]), [5]):
        with pytest.raises(IndexError, match="index 5 is out of bounds"):
            x[key]
        with pytest.raises(mx.MXNetError):
            x[key]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]
    with pytest.raises(IndexError, match="too many indices"):
        nd.zeros((2, 3))[1, 2, 0]
    a = np.arange(2 * 4 * 3 * 5).reshape(2, 4, 3, 5)
    key = ([1, 0], slice(1, 3), (2, 0), [3, 4])      # a tuple inside a tuple key is an integer array
    np.testing.assert_array_equal(nd.array(a, dtype=a.dtype)[key].asnumpy(), a[key])
    assert nd.NDArray._basic_indexing_slice_is_contiguous((slice(None), slice(1, 2)), (3, 4)) is False
    assert nd.NDArray._basic_indexing_slice_is_contiguous((slice(1, 2), slice(None)), (3, 4)) is True


def test_mxnet_pickle_state_round_trip():
    x = nd.array([[1, 2], [3, 4]], dtype="int32")
    y = nd.zeros((1,))
    y.__setstate__(x.__getstate__())
    assert y.dtype == np.int32 and y.asnumpy().tolist() == [[1, 2], [3, 4]]
    # the state MXNet 1.9.1 writes for nd.arange(1, ctx=mx.gpu()): loads on the CPU
    state = {"handle": bytearray(b"\xc9\xfa\x93\xf9\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                                 b"\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")}
    y.__setstate__(state)
    assert y.asnumpy().tolist() == [0] and y.context == mx.cpu()


def test_binary_operators_on_two_numbers_give_numbers_as_mxnet():
    # MXNet code computes bias corrections with nd.power(beta, t) on plain numbers
    assert nd.power(0.9, 3) == pytest.approx(0.729) and isinstance(nd.power(0.9, 3), float)
    assert nd.add(1, 2) == 3 and nd.subtract(1, 2) == -1 and nd.maximum(1, 2) == 2 and nd.minimum(1, 2) == 1
    assert nd.equal(1, 1) == 1 and nd.greater(1, 2) == 0
