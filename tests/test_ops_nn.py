"""Neural-network layer operators: values against numpy, gradients by finite differences, MXNet's conventions."""
import math

import numpy as np
import pytest

import trainkit as mx
from trainkit import nd
from trainkit.base import MXNetError

from gradcheck import check_grads

rng = np.random.default_rng(11)


def r(*shape):
    return rng.uniform(-1.0, 1.0, shape)


def _np_norm(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps), mean, np.sqrt(var + eps)


# ----- normalisation layers ----------------------------------------------------------------------
def test_layer_norm_values_and_mean_std_outputs():
    x, g, b = r(2, 3, 4), r(4), r(4)
    out, mean, std = nd.LayerNorm(nd.array(x), nd.array(g), nd.array(b), output_mean_var=True)
    normed, m, s = _np_norm(x, (-1,), 1e-5)
    np.testing.assert_allclose(out.asnumpy(), normed * g + b, rtol=1e-5, atol=1e-6)
    assert mean.shape == std.shape == (2, 3, 1)
    np.testing.assert_allclose(mean.asnumpy(), m, rtol=1e-5)
    np.testing.assert_allclose(std.asnumpy(), s, rtol=1e-5)
    out1 = nd.LayerNorm(nd.array(x), nd.ones(3), nd.zeros(3), axis=1)
    np.testing.assert_allclose(out1.asnumpy(), _np_norm(x, (1,), 1e-5)[0], rtol=1e-5, atol=1e-6)


def test_instance_norm_normalises_each_channel_over_space():
    x, g, b = r(2, 3, 5), r(3), r(3)
    out = nd.InstanceNorm(nd.array(x), nd.array(g), nd.array(b))
    want = _np_norm(x, (2,), 1e-3)[0] * g.reshape(1, 3, 1) + b.reshape(1, 3, 1)
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-5, atol=1e-6)


def test_group_norm_has_one_gamma_per_group_as_mxnet_191():
    x, g, b = r(2, 4, 3), r(2), r(2)
    out, mean, std = nd.GroupNorm(nd.array(x), nd.array(g), nd.array(b), num_groups=2, output_mean_var=True)
    normed, m, s = _np_norm(x.reshape(2, 2, 6), (2,), 1e-5)
    want = (normed * g.reshape(1, 2, 1) + b.reshape(1, 2, 1)).reshape(x.shape)
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-5, atol=1e-6)
    assert mean.shape == std.shape == (2, 2)
    np.testing.assert_allclose(std.asnumpy(), s.reshape(2, 2), rtol=1e-5)
    with pytest.raises(MXNetError, match="num_groups=3"):
        nd.GroupNorm(nd.array(x), nd.ones(3), nd.zeros(3), num_groups=3)
    with pytest.raises(MXNetError, match="gamma has shape"):
        nd.GroupNorm(nd.array(x), nd.ones(4), nd.zeros(2), num_groups=2)


@pytest.mark.parametrize("mode,axes", [("instance", (1, 2, 3)), ("channel", (1,)), ("spatial", (2, 3))])
def test_l2_normalization_modes(mode, axes):
    x = r(2, 3, 2, 2)
    out = nd.L2Normalization(nd.array(x), mode=mode)
    np.testing.assert_allclose(out.asnumpy(), x / np.sqrt((x * x).sum(axis=axes, keepdims=True) + 1e-10),
                               rtol=1e-5)


def test_norm_layers_differentiate_twice():
    check_grads(lambda x, g, b: nd.LayerNorm(x, g, b), r(2, 3), r(3), r(3))
    check_grads(lambda x, g, b: nd.InstanceNorm(x, g, b), r(2, 2, 3), r(2), r(2))
    check_grads(lambda x, g, b: nd.GroupNorm(x, g, b, num_groups=2), r(1, 4, 2), r(2), r(2))
    check_grads(lambda x: nd.L2Normalization(x, mode="channel"), r(2, 3, 2))


def test_norm_layers_infer_their_parameter_shapes_in_symbols():
    x = mx.sym.var("x")
    args, outs, _ = mx.sym.LayerNorm(x, name="ln").infer_shape(x=(2, 5))
    assert args == [(2, 5), (5,), (5,)] and outs == [(2, 5)]
    args, outs, _ = mx.sym.GroupNorm(x, num_groups=2, output_mean_var=True).infer_shape(x=(2, 4, 3))
    assert args[1:] == [(2,), (2,)] and outs == [(2, 4, 3), (2, 2), (2, 2)]
    assert mx.sym.LayerNorm(x, output_mean_var=True, name="l").list_outputs() == ["l_output", "l_mean", "l_std"]


# ----- BatchNorm, Dropout -------------------------------------------------------------------------
def test_batch_norm_output_mean_var_gives_the_inverse_std_as_mxnet():
    x = r(4, 3, 2)
    mm, mv = np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0])
    _, mean, invstd = nd.BatchNorm(nd.array(x), nd.ones(3), nd.zeros(3), nd.array(mm), nd.array(mv),
                                   output_mean_var=True)
    np.testing.assert_allclose(mean.asnumpy(), mm)
    np.testing.assert_allclose(invstd.asnumpy(), 1 / np.sqrt(mv + 1e-3), rtol=1e-6)
    with mx.autograd.record():
        _, mean, invstd = nd.BatchNorm(nd.array(x), nd.ones(3), nd.zeros(3), nd.zeros(3), nd.ones(3),
                                       output_mean_var=True)
    np.testing.assert_allclose(mean.asnumpy(), x.mean(axis=(0, 2)), rtol=1e-5)
    np.testing.assert_allclose(invstd.asnumpy(), 1 / np.sqrt(x.var(axis=(0, 2)) + 1e-3), rtol=1e-5)


def test_dropout_second_order_gradient_is_zero():
    x = nd.array(r(4, 5))
    x.attach_grad()
    with mx.autograd.record():
        y = nd.Dropout(x, p=0.5)
        head = nd.array(r(4, 5))
        dx = mx.autograd.grad(y, [x], head_grads=head, create_graph=True, retain_graph=True)[0]
        ddx = mx.autograd.grad(dx, [x], head_grads=nd.array(r(4, 5)), create_graph=True, retain_graph=True)[0]
    mask = (y.asnumpy() != 0) * 2.0
    np.testing.assert_allclose(dx.asnumpy(), head.asnumpy() * mask, rtol=1e-6)
    np.testing.assert_array_equal(ddx.asnumpy(), np.zeros((4, 5)))


# ----- activations --------------------------------------------------------------------------------
def test_gelu_is_the_erf_form():
    x = np.array([-2.0, -1.0, 0.0, 0.5, 2.0])
    want = 0.5 * x * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x]))
    np.testing.assert_allclose(nd.LeakyReLU(nd.array(x), act_type="gelu").asnumpy(), want, rtol=1e-6)
    check_grads(lambda a: nd.LeakyReLU(a, act_type="gelu"), r(6))


def test_rrelu_predicts_with_the_mean_slope():
    out = nd.LeakyReLU(nd.array([-1.0, 2.0]), act_type="rrelu", lower_bound=0.1, upper_bound=0.3)
    np.testing.assert_allclose(out.asnumpy(), [-0.2, 2.0], rtol=1e-6)


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "softrelu", "softsign"])
def test_activation_types(act):
    x = r(5)
    want = {"relu": np.maximum(x, 0), "sigmoid": 1 / (1 + np.exp(-x)), "tanh": np.tanh(x),
            "softrelu": np.log1p(np.exp(x)), "softsign": x / (1 + np.abs(x))}[act]
    np.testing.assert_allclose(nd.Activation(nd.array(x), act_type=act).asnumpy(), want, rtol=1e-5)
    with pytest.raises(MXNetError, match="unknown act_type"):
        nd.Activation(nd.array(x), act_type="swish")


# ----- softmax family -----------------------------------------------------------------------------
def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_softmax_with_length_masks_the_tail():
    x = r(2, 4)
    out = nd.softmax(nd.array(x), nd.array([2, 4], dtype="int32"), use_length=True)
    want = np.zeros_like(x)
    want[0, :2] = _np_softmax(x[0, :2])
    want[1] = _np_softmax(x[1])
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-5, atol=1e-7)
    out0 = nd.softmax(nd.array(x), nd.array([1, 2, 2, 0], dtype="int32"), axis=0, use_length=True)
    np.testing.assert_allclose(out0.asnumpy()[:, 3], [0.0, 0.0])
    np.testing.assert_allclose(out0.asnumpy()[0, 0], 1.0)
    length = nd.array([3, 1], dtype="int32")
    check_grads(lambda a: nd.softmax(a, length, use_length=True), r(2, 4))
    with pytest.raises(MXNetError, match="integer array"):
        nd.softmax(nd.array(x), nd.array([2.0, 4.0]), use_length=True)


def test_softmax_temperature_dtype_softmin_and_softmax_activation():
    x = r(2, 3, 2)
    np.testing.assert_allclose(nd.softmax(nd.array(x), temperature=2.0).asnumpy(), _np_softmax(x / 2), rtol=1e-5)
    assert nd.softmax(nd.array(x), dtype="float64").dtype == np.float64
    np.testing.assert_allclose(nd.softmin(nd.array(x), axis=1).asnumpy(), _np_softmax(-x, 1), rtol=1e-5)
    np.testing.assert_allclose(nd.log_softmax(nd.array(x), dtype="float64").asnumpy(), np.log(_np_softmax(x)),
                               rtol=1e-6)
    np.testing.assert_allclose(nd.SoftmaxActivation(nd.array(x), mode="channel").asnumpy(), _np_softmax(x, 1),
                               rtol=1e-5)
    inst = nd.SoftmaxActivation(nd.array(x)).asnumpy()
    np.testing.assert_allclose(inst, _np_softmax(x.reshape(2, -1)).reshape(x.shape), rtol=1e-5)
    check_grads(lambda a: nd.softmin(a, temperature=0.5), r(2, 3))


# ----- Embedding ----------------------------------------------------------------------------------
def test_embedding_gathers_rows_clips_indices_and_sums_gradients():
    weight = np.arange(12.0).reshape(3, 4)
    idx = nd.array([[0, 5], [-1, 1]])
    out = nd.Embedding(idx, nd.array(weight), input_dim=3, output_dim=4)
    assert out.shape == (2, 2, 4)
    np.testing.assert_array_equal(out.asnumpy(), weight[[[0, 2], [0, 1]]])
    check_grads(lambda w: nd.Embedding(nd.array([[0, 2], [2, 1]]), w, input_dim=3, output_dim=2), r(3, 2),
                order=1)
    args, outs, _ = mx.sym.Embedding(mx.sym.var("d"), input_dim=10, output_dim=4, name="e").infer_shape(d=(3, 2))
    assert args == [(3, 2), (10, 4)] and outs == [(3, 2, 4)]
    with pytest.raises(MXNetError, match="input_dim=4"):
        nd.Embedding(idx, nd.array(weight), input_dim=4, output_dim=4)


# ----- heads: BlockGrad, MakeLoss, SVMOutput, smooth_l1 -------------------------------------------
def _grad_of(fn, x, head=None):
    x = nd.array(x)
    x.attach_grad()
    with mx.autograd.record():
        y = fn(x)
    y.backward(head)
    return y, x.grad.asnumpy()


def test_block_grad_and_stop_gradient_stop_the_gradient():
    for op in (nd.BlockGrad, nd.stop_gradient):
        y, g = _grad_of(lambda a: op(a * 2) + a, r(2, 3))
        np.testing.assert_array_equal(g, np.ones((2, 3)))


def test_make_loss_ignores_the_head_gradient_and_normalises():
    x = r(2, 3) + 2.0
    _, g = _grad_of(lambda a: nd.make_loss(a * 2), x, nd.array(np.full((2, 3), 5.0)))
    np.testing.assert_array_equal(g, np.full((2, 3), 2.0))
    _, g = _grad_of(lambda a: nd.MakeLoss(a * 2, grad_scale=3.0, normalization="batch"), x)
    np.testing.assert_allclose(g, np.full((2, 3), 3.0))  # 2 * 3 / batch of 2
    _, g = _grad_of(lambda a: nd.MakeLoss(a - 2.0, normalization="valid", valid_thresh=0.0), x)
    np.testing.assert_allclose(g, np.full((2, 3), 1.0 / max((x - 2 > 0).sum(), 1)), rtol=1e-6)
    _, g = _grad_of(lambda a: nd.MakeLoss(a, normalization="batch"), np.ones(4))
    np.testing.assert_allclose(g, np.ones(4))  # a 1-D array is one sample, as in MXNet


def test_svm_output_gradients_are_mxnets_hinge():
    x = np.array([[0.5, -0.3, 1.2], [0.1, 0.9, -2.0]])
    label = nd.array([2, 0])
    out, g = _grad_of(lambda a: nd.SVMOutput(a, label, margin=1.0, regularization_coefficient=0.5), x)
    np.testing.assert_allclose(out.asnumpy(), x, rtol=1e-6)
    np.testing.assert_allclose(g, [[1.5, 0.7, 0.0], [-0.9, 1.9, 0.0]], rtol=1e-6)  # MXNet 1.9.1's values
    _, g = _grad_of(lambda a: nd.SVMOutput(a, label, regularization_coefficient=0.5, use_linear=True), x)
    np.testing.assert_allclose(g, [[0.5, 0.5, 0.0], [-0.5, 0.5, 0.0]])


def test_smooth_l1_values_and_gradients():
    x = np.array([-2.0, -0.1, 0.3, 1.5])
    np.testing.assert_allclose(nd.smooth_l1(nd.array(x), scalar=2.0).asnumpy(), [1.875, 0.02, 0.175, 1.375],
                               rtol=1e-6)
    check_grads(lambda a: nd.smooth_l1(a, scalar=1.5), np.array([-1.3, -0.2, 0.1, 0.35, 0.9]))


# ----- products and SoftmaxOutput, as MXNet 1.9.1 computes them ------------------------------------
def test_dot_of_nd_arrays_contracts_mxnets_axes():
    x, y = r(4, 3, 2), r(4, 5, 6)
    got = nd.dot(nd.array(x), nd.array(y), transpose_a=True)  # contracts lhs's first axis
    assert got.shape == (3, 2, 5, 6)
    np.testing.assert_allclose(got.asnumpy(), np.tensordot(x, y, axes=([0], [0])), rtol=1e-5, atol=1e-6)
    x, y = r(2, 3), r(4, 5, 3)
    got = nd.dot(nd.array(x), nd.array(y), transpose_b=True)  # contracts rhs's last axis
    np.testing.assert_allclose(got.asnumpy(), np.tensordot(x, y, axes=([1], [2])), rtol=1e-5, atol=1e-6)
    check_grads(lambda a, b: nd.dot(a, b, transpose_a=True), r(3, 2, 2), r(3, 2))


def test_batch_dot_takes_several_batch_axes_and_is_a_symbol():
    a, b = r(2, 3, 4, 5), r(2, 3, 5, 2)
    np.testing.assert_allclose(nd.batch_dot(nd.array(a), nd.array(b)).asnumpy(), a @ b, rtol=1e-5, atol=1e-6)
    with pytest.raises(MXNetError, match="inner dimensions 5 and 4"):
        nd.batch_dot(nd.array(a), nd.array(a))
    _, outs, _ = mx.sym.batch_dot(mx.sym.var("a"), mx.sym.var("b"), transpose_b=True).infer_shape(
        a=(2, 3, 4), b=(2, 5, 4))
    assert outs == [(2, 3, 5)]


def _softmax_output_grad(data, label, **kwargs):
    x = nd.array(data)
    x.attach_grad()
    with mx.autograd.record():
        out = nd.SoftmaxOutput(x, nd.array(label), **kwargs)
    out.backward()
    return out.asnumpy(), x.grad.asnumpy()


def test_softmax_output_smoothing_distributions_and_spatial_normalisation():
    x = r(2, 4)
    p = _np_softmax(x)
    _, g = _softmax_output_grad(x, [1, 3], smooth_alpha=0.3)
    target = np.full((2, 4), 0.1)
    target[0, 1] = target[1, 3] = 0.7
    np.testing.assert_allclose(g, p - target, rtol=1e-5, atol=1e-6)
    dist = _np_softmax(r(2, 4))
    _, g = _softmax_output_grad(x, dist)  # a label of the data's shape is a distribution
    np.testing.assert_allclose(g, p - dist, rtol=1e-5, atol=1e-6)
    x4 = r(2, 3, 2, 2)
    label = rng.integers(0, 3, (2, 2, 2))
    out, g = _softmax_output_grad(x4, label, multi_output=True, normalization="batch", grad_scale=2.0)
    onehot = np.moveaxis(np.eye(3)[label], -1, 1)
    np.testing.assert_allclose(g, (_np_softmax(x4, 1) - onehot) * 2.0 / 2 / 4, rtol=1e-5, atol=1e-6)
    _, g = _softmax_output_grad(x4, label, multi_output=True, normalization="valid", use_ignore=True,
                                ignore_label=0)
    keep = (label != 0)[:, None]
    np.testing.assert_allclose(g, (_np_softmax(x4, 1) - onehot) * keep / keep.sum(), rtol=1e-5, atol=1e-6)


def test_batch_norm_v1_is_batch_norm_on_axis_1():
    x = r(3, 2, 4)
    out = nd.BatchNorm_v1(nd.array(x), nd.ones(2), nd.zeros(2), nd.zeros(2), nd.ones(2))
    np.testing.assert_allclose(out.asnumpy(), x / np.sqrt(1 + 1e-3), rtol=1e-5)
    sym = mx.sym.BatchNorm_v1(mx.sym.var("data"), name="bn")
    assert sym.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]


def test_prelu_gamma_layouts():
    x = r(3, 4, 2)
    per_channel = r(4)
    out = nd.LeakyReLU(nd.array(x), nd.array(per_channel), act_type="prelu").asnumpy()
    np.testing.assert_allclose(out, np.where(x > 0, x, x * per_channel.reshape(1, 4, 1)), rtol=1e-6)
    leading = r(3, 4)  # matches the leading axes, broadcasts over the rest (MXNet's layout)
    out = nd.LeakyReLU(nd.array(x), nd.array(leading), act_type="prelu").asnumpy()
    np.testing.assert_allclose(out, np.where(x > 0, x, x * leading[..., None]), rtol=1e-6)
    check_grads(lambda a, g: nd.LeakyReLU(a, g, act_type="prelu"), r(2, 3), r(3), order=1)


def test_rrelu_draws_slopes_in_range_when_training():
    x = nd.array(-np.ones((200,)))
    x.attach_grad()
    with mx.autograd.record():
        y = nd.LeakyReLU(x, act_type="rrelu", lower_bound=0.1, upper_bound=0.3)
    y.backward()
    slopes = -y.asnumpy()
    assert slopes.min() >= 0.1 and slopes.max() < 0.3 and slopes.std() > 0.03
    np.testing.assert_allclose(x.grad.asnumpy(), slopes, rtol=1e-6)
