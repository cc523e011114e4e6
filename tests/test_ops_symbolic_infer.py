"""Symbol-side behaviours MXNet 1.9.1's unit tests rely on: amp casts, softmax(length), partial and
backward shape inference (0 / -1 = unknown), legacy Reshape(target_shape), layer-level lr_mult,
sym.random.randn / exponential(scale) and zero-input samplers whose shape=() comes from inference."""
import json

import numpy as np
import pytest

import trainkit as mx
from trainkit.base import MXNetError


# ----- amp_cast / amp_multicast ---------------------------------------------------------------------
def test_amp_cast_values_dtype_and_int_passthrough():
    x = np.array([1.0, 2.5, 65504.0, 1e-8, np.nan], np.float32)
    out = mx.nd.amp_cast(mx.nd.array(x), dtype="float16")
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out.asnumpy(), x.astype(np.float64).astype(np.float16))
    i = mx.nd.array([3, 4], dtype="int32")
    assert mx.nd.amp_cast(i, dtype="float16").dtype == np.int32


def test_amp_cast_symbol_and_gradient():
    x = mx.sym.Variable("x", dtype=np.float32)
    y = mx.sym.amp_cast(x, dtype=np.float16)
    exe = y.bind(mx.cpu(), {"x": mx.nd.array([0.5, -2.0])})
    assert exe.forward()[0].dtype == np.float16
    a = mx.nd.array([0.5, -2.0], dtype="float64")
    a.attach_grad()
    with mx.autograd.record():
        out = mx.nd.amp_cast(a, dtype="float32") * 3
    out.backward()
    assert a.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.asnumpy(), [3.0, 3.0])


def test_amp_multicast_widest_narrowest_and_errors():
    x = mx.nd.array([1, 2.5])
    h = mx.nd.array([1, 2], dtype="float16")
    i = mx.nd.array([3, 4], dtype="int32")
    wide = mx.nd.amp_multicast(x, h, i, num_outputs=3)
    assert [o.dtype for o in wide] == [np.float32, np.float32, np.int32]
    narrow = mx.nd.amp_multicast(x, h, i, num_outputs=3, cast_narrow=True)
    assert [o.dtype for o in narrow] == [np.float16, np.float16, np.int32]
    np.testing.assert_array_equal(narrow[0].asnumpy(), np.array([1, 2.5], np.float16))
    with pytest.raises(MXNetError, match="num_outputs=2 but 3 inputs"):
        mx.nd.amp_multicast(x, h, i, num_outputs=2)
    s = mx.sym.amp_multicast(mx.sym.Variable("a"), mx.sym.Variable("b"), num_outputs=2)
    outs = s.list_outputs()
    assert len(outs) == 2 and outs[0].endswith("_output0") and outs[1].endswith("_output1")
    assert s.infer_shape(a=(2, 3), b=(4,))[1] == [(2, 3), (4,)]


# ----- softmax with length in mx.sym ------------------------------------------------------------------
def _masked_softmax(x, lengths):
    out = np.zeros_like(x)
    for i, n in enumerate(lengths):
        e = np.exp(x[i, :n] - x[i, :n].max())
        out[i, :n] = e / e.sum()
    return out


def test_sym_softmax_use_length_values_and_gradient():
    data, length = mx.sym.Variable("data"), mx.sym.Variable("length")
    sym = mx.sym.softmax(data=data, length=length, use_length=True, axis=1)
    assert sym.list_arguments() == ["data", "length"]
    assert sym.infer_shape(data=(3, 5))[0] == [(3, 5), (3,)]
    x = np.random.RandomState(0).randn(3, 5)
    lengths = np.array([2, 5, 1], np.int32)
    exe = sym.bind(mx.cpu(), {"data": mx.nd.array(x, dtype="float64"), "length": mx.nd.array(lengths, dtype="int32")})
    np.testing.assert_allclose(exe.forward()[0].asnumpy(), _masked_softmax(x, lengths), rtol=1e-6)
    proj = np.random.RandomState(1).randn(3, 5)
    grad = mx.nd.zeros((3, 5), dtype="float64")
    exe = sym.bind(mx.cpu(), {"data": mx.nd.array(x, dtype="float64"), "length": mx.nd.array(lengths, dtype="int32")},
                   args_grad={"data": grad}, grad_req={"data": "write", "length": "null"})
    exe.forward(is_train=True)
    exe.backward(mx.nd.array(proj, dtype="float64"))
    numeric = np.zeros_like(x)
    eps = 1e-6
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = ((_masked_softmax(up, lengths) - _masked_softmax(down, lengths)) * proj).sum() / (2 * eps)
    np.testing.assert_allclose(grad.asnumpy(), numeric, atol=1e-6)
    plain = mx.sym.softmax(data, axis=1)  # without use_length there is no length input
    assert plain.list_arguments() == ["data"]


# ----- partial and backward shape inference -------------------------------------------------------------
@pytest.mark.parametrize("codes,src,dst", [((0, -1), (2, 3, 5, 5), (2, 75)), ((2, 0, -1), (2, 3, 5, 5), (2, 3, 25)),
                                           ((-1, 5), (2, 3, 5, 5), (30, 5))])
def test_reshape_input_with_an_unknown_size_is_inferred_from_the_output(codes, src, dst):
    for i in range(len(src)):
        holdout = tuple(0 if k == i else d for k, d in enumerate(src))
        net = mx.sym.elemwise_add(mx.sym.Variable("data").reshape(codes), mx.sym.ones(shape=dst))
        arg, out, _ = net.infer_shape(data=holdout)
        assert out == [dst] and arg == [src]


def test_transpose_back_and_mixed_inference_with_unknown_creation_shapes():
    b = mx.sym.ones(shape=[2, 3]) + mx.sym.transpose(mx.sym.ones(shape=[-1, -1]))
    y = b.bind(mx.cpu(), args={}).forward()[0]
    assert y.shape == (2, 3) and (y.asnumpy() == 2).all()
    m = mx.sym.ones(shape=[2, -1]) + mx.sym.transpose(mx.sym.ones(shape=[3, -1]))
    assert m.infer_shape() == ([], [(2, 3)], [])
    assert m.bind(mx.cpu(), args={}).forward()[0].shape == (2, 3)


def test_unknown_creation_shape_nobody_decides_raises():
    lone = mx.sym.ones(shape=[2, -1]) * 2
    with pytest.raises(MXNetError, match="unknown sizes"):
        lone.bind(mx.cpu(), args={}).forward()


def test_elemwise_conflicting_shapes_still_raise():
    net = mx.sym.elemwise_add(mx.sym.Variable("a"), mx.sym.Variable("b"))
    with pytest.raises(MXNetError, match="same shape"):
        net.infer_shape(a=(2, 3), b=(3, 2))
    assert net.infer_shape(a=(2, 0), b=(0, 3))[0] == [(2, 3), (2, 3)]


def test_reshape_legacy_target_shape_and_keep_highest():
    net = mx.sym.load_json(mx.sym.Reshape(mx.sym.Variable("data"), target_shape=(2, 0)).tojson())
    assert net.infer_shape(data=(2, 3, 5, 5))[1] == [(2, 75)]
    x = np.arange(150.0).reshape(2, 3, 5, 5)
    out = net.bind(mx.cpu(), {"data": mx.nd.array(x)}).forward()[0]
    np.testing.assert_array_equal(out.asnumpy(), x.reshape(2, 75))
    kh = mx.sym.Reshape(mx.sym.Variable("data"), target_shape=(0, 5), keep_highest=True)
    assert kh.infer_shape(data=(2, 3, 5, 5))[1] == [(2, 15, 5)]
    with pytest.raises(MXNetError, match="one 0"):
        mx.sym.Reshape(mx.sym.Variable("data"), target_shape=(0, 0)).infer_shape(data=(2, 3))


# ----- layer-level lr_mult / wd_mult -----------------------------------------------------------------------
def test_layer_lr_mult_becomes_hidden_attribute_inherited_by_its_parameters():
    bias = mx.sym.Variable("fc1_bias", lr_mult=1.0)
    fc = mx.sym.FullyConnected(mx.sym.Variable("data"), bias=bias, name="fc1", num_hidden=4, lr_mult=0)
    attrs = fc.attr_dict()
    assert attrs["fc1"]["__lr_mult__"] == "0" and attrs["fc1_weight"]["__lr_mult__"] == "0"
    assert attrs["fc1_bias"]["__lr_mult__"] == "1.0"
    node = [n for n in json.loads(fc.tojson())["nodes"] if n["name"] == "fc1"][0]
    assert node["attrs"] == {"__lr_mult__": "0", "num_hidden": "4"}
    with pytest.raises(TypeError, match="unexpected argument 'lr_mul'"):
        mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=4, lr_mul=0)


# ----- sym.random.randn / exponential, shape=() from inference ---------------------------------------------------
def test_sym_random_randn_positional_shape_and_symbol_parameters():
    mx.random.seed(3)
    y = mx.sym.random.randn(4000, loc=10.0, scale=0.5)
    assert y.infer_shape()[1] == [(4000,)]
    v = y.eval()[0].asnumpy()
    assert abs(v.mean() - 10.0) < 0.05 and abs(v.std() - 0.5) < 0.05
    loc, scale = mx.sym.Variable("loc"), mx.sym.Variable("scale")
    z = mx.sym.random.randn(3, loc=loc, scale=scale)
    exe = z.bind(mx.cpu(), {"loc": mx.nd.array([0.0, 100.0]), "scale": mx.nd.array([1e-6, 1e-6])})
    out = exe.forward()[0].asnumpy()
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, [[0] * 3, [100] * 3], atol=1e-3)
    with pytest.raises(TypeError, match="positionally"):
        mx.sym.random.randn(shape=(2,))


def test_zero_input_sampler_with_empty_shape_takes_the_inferred_shape():
    y = mx.sym.random.normal(loc=10.0, scale=0.5, shape=(), data=mx.sym.ones((2, 3)))  # data= is dropped, as MXNet
    assert y.list_arguments() == [] and "data" not in y.tojson()
    z = y + mx.sym.Variable("X")
    assert z.infer_shape(X=(2, 3)) == ([(2, 3)], [(2, 3)], [])
    out = z.bind(mx.cpu(), {"X": mx.nd.zeros((2, 3))}).forward()[0]
    assert out.shape == (2, 3) and np.all(np.abs(out.asnumpy() - 10) < 5)
    assert mx.sym.random.normal().infer_shape_partial()[1] == [()]  # nothing decides it: unchanged


def test_sym_random_exponential_takes_the_mean_scale():
    mx.random.seed(5)
    v = mx.sym.random.exponential(scale=4.0, shape=(20000,)).eval()[0].asnumpy()
    assert abs(v.mean() - 4.0) < 0.15
    assert json.loads(mx.sym.random.exponential(scale=4.0, shape=(2,)).tojson())["nodes"][0]["attrs"]["lam"] == "0.25"
    with pytest.raises(TypeError, match="lam is 1/scale"):
        mx.sym.random.exponential(lam=2.0)


# ----- arange: MXNet's values per dtype, infer_range from the consumers ------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8])
@pytest.mark.parametrize("config", [(10,), (0, 10), (5, 100, 4), (50, -50, -2), (1.3, 456.6, 1.3)])
def test_arange_matches_numpy_per_dtype(dtype, config):
    want = np.arange(*config, dtype=dtype)
    got = mx.nd.arange(*config, dtype=dtype)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got.asnumpy().astype(np.float64), want.astype(np.float64), rtol=1e-6)
    sym = mx.sym.arange(*config, dtype=dtype).eval()[0]
    np.testing.assert_array_equal(sym.asnumpy(), got.asnumpy())


def test_arange_float32_accumulates_in_float32_as_mxnet():
    got = mx.nd.arange(1.3, 456.6, 1.3).asnumpy()
    assert got.dtype == np.float32 and got[-1] == np.float32(456.29996)  # MXNet 1.9.1's last value


def test_sym_arange_infer_range_takes_the_length_from_its_consumer():
    s = mx.sym.elemwise_add(mx.sym.arange(start=0, stop=None, infer_range=True), mx.sym.zeros(shape=[5]))
    assert s.infer_shape() == ([], [(5,)], [])
    np.testing.assert_array_equal(s.bind(mx.cpu(), args={}).forward()[0].asnumpy(), np.arange(5))
    r = mx.sym.arange(start=2, step=3, repeat=2, infer_range=True) + mx.sym.zeros(shape=[6])
    np.testing.assert_array_equal(r.eval()[0].asnumpy(), [2, 2, 5, 5, 8, 8])  # what MXNet 1.9.1 returns
