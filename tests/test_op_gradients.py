"""Every differentiable operator against finite differences, first and second order, in float64."""
import numpy as np
import pytest

import trainkit as mx
from trainkit import nd

from gradcheck import check_grads

rng = np.random.default_rng(7)


def r(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, shape)


def pos(*shape):
    return rng.uniform(0.5, 1.5, shape)


LABELS = np.array([2, 0, 1])

CASES = {
    # broadcasting binary operators
    "add": (lambda a, b: a + b, [r(3, 4), r(4)]),
    "sub": (lambda a, b: a - b, [r(3, 1), r(1, 4)]),
    "mul": (lambda a, b: a * b, [r(2, 3, 4), r(3, 1)]),
    "div": (lambda a, b: a / b, [r(3, 4), pos(3, 4)]),
    "pow": (lambda a, b: a ** b, [pos(3, 4), r(4)]),
    "maximum": (nd.maximum, [r(3, 4), r(3, 4)]),
    "minimum": (nd.minimum, [r(3, 4), r(1, 4)]),
    "elemwise_add": (nd.elemwise_add, [r(3, 4), r(3, 4)]),
    "elemwise_sub": (nd.elemwise_sub, [r(3, 4), r(3, 4)]),
    "elemwise_mul": (nd.elemwise_mul, [r(3, 4), r(3, 4)]),
    "elemwise_div": (nd.elemwise_div, [r(3, 4), pos(3, 4)]),
    # scalar forms, both sides
    "plus_scalar": (lambda a: a + 3, [r(5)]),
    "rminus_scalar": (lambda a: 2 - a, [r(5)]),
    "mul_scalar": (lambda a: 2.5 * a, [r(5)]),
    "div_scalar": (lambda a: a / 4, [r(5)]),
    "rdiv_scalar": (lambda a: 2 / a, [pos(5)]),
    "power_scalar": (lambda a: a ** 3, [r(5)]),
    "rpower_scalar": (lambda a: 2 ** a, [r(5)]),
    "neg": (lambda a: -a, [r(5)]),
    # unary math
    **{name: (getattr(nd, name), [r(6)]) for name in
       ("exp", "tanh", "sigmoid", "sin", "cos", "sinh", "cosh", "arctan", "softrelu", "softsign",
        "square", "expm1")},
    **{name: (getattr(nd, name), [pos(6)]) for name in ("log", "sqrt", "reciprocal", "log1p")},
    "abs": (nd.abs, [np.array([-1.2, -0.3, 0.4, 2.0])]),
    "relu": (nd.relu, [np.array([-1.2, -0.3, 0.4, 2.0])]),
    "clip": (lambda a: nd.clip(a, -0.5, 0.5), [np.array([-1.2, -0.3, 0.4, 2.0])]),
    # reductions
    "sum_all": (nd.sum, [r(3, 4)]),
    "sum_axis": (lambda a: nd.sum(a, axis=1), [r(3, 4, 2)]),
    "sum_keepdims": (lambda a: nd.sum(a, axis=(0, 2), keepdims=True), [r(3, 4, 2)]),
    "mean": (lambda a: nd.mean(a, axis=0), [r(3, 4)]),
    "max": (lambda a: nd.max(a, axis=1), [r(3, 4)]),
    "min": (nd.min, [r(3, 4)]),
    "norm": (nd.norm, [r(3, 4)]),
    # shapes
    "reshape": (lambda a: nd.reshape(a, (0, -1)) * a.reshape((3, 8)), [r(3, 2, 4)]),
    "transpose": (lambda a: nd.transpose(a, (2, 0, 1)) ** 2, [r(2, 3, 4)]),
    "T": (lambda a: a.T * a.T, [r(2, 3)]),
    "flatten": (lambda a: nd.flatten(a) ** 2, [r(2, 3, 2)]),
    "expand_dims": (lambda a: nd.expand_dims(a, 1) ** 2, [r(2, 3)]),
    "broadcast_to": (lambda a: nd.broadcast_to(a, (4, 3)) ** 2, [r(1, 3)]),
    "concat": (lambda a, b: nd.concat(a, b, dim=1) ** 2, [r(2, 3), r(2, 2)]),
    "stack": (lambda a, b: nd.stack(a, b, axis=1) ** 2, [r(2, 3), r(2, 3)]),
    "split": (lambda a: [p ** 2 for p in nd.split(a, num_outputs=2, axis=1)], [r(2, 4)]),
    "split_one_used": (lambda a: nd.split(a, num_outputs=3, axis=0)[1] ** 2, [r(3, 2)]),
    "getitem_slice": (lambda a: a[1:3] ** 2, [r(4, 3)]),
    "getitem_index": (lambda a: a[nd.array([0, 2, 0])] ** 2, [r(4, 3)]),
    "getitem_tuple": (lambda a: a[:, 1] ** 2, [r(4, 3)]),
    "tile": (lambda a: nd.tile(a, (2, 3)) ** 2, [r(2, 2)]),
    "repeat": (lambda a: nd.repeat(a, 2, axis=1) ** 2, [r(2, 3)]),
    "where": (lambda a, b: nd.where(nd.array([[1, 0, 1]]) * nd.ones((2, 3)), a, b) ** 2, [r(2, 3), r(2, 3)]),
    "pick": (lambda a: nd.pick(a, nd.array(LABELS), axis=1) ** 2, [r(3, 4)]),
    "pick_keepdims": (lambda a: nd.pick(a, nd.array([1, 0]), axis=0, keepdims=True) ** 2, [r(2, 2)]),
    "copy": (lambda a: a.copy() ** 2, [r(3)]),
    # products and layers
    "dot": (nd.dot, [r(3, 4), r(4, 2)]),
    "dot_ta": (lambda a, b: nd.dot(a, b, transpose_a=True), [r(4, 3), r(4, 2)]),
    "dot_tb": (lambda a, b: nd.dot(a, b, transpose_b=True), [r(3, 4), r(2, 4)]),
    "dot_tab": (lambda a, b: nd.dot(a, b, transpose_a=True, transpose_b=True), [r(4, 3), r(2, 4)]),
    "dot_vec": (nd.dot, [r(4), r(4, 2)]),
    "matmul_op": (lambda a, b: a @ b, [r(2, 3), r(3, 2)]),
    "batch_dot": (nd.batch_dot, [r(2, 3, 4), r(2, 4, 2)]),
    "batch_dot_t": (lambda a, b: nd.batch_dot(a, b, transpose_a=True, transpose_b=True),
                    [r(2, 4, 3), r(2, 2, 4)]),
    "FullyConnected": (lambda x, w, b: nd.FullyConnected(x, w, b, num_hidden=3), [r(4, 5), r(3, 5), r(3)]),
    "FullyConnected_4d": (lambda x, w: nd.FullyConnected(x, w, num_hidden=2, no_bias=True),
                          [r(2, 2, 1, 3), r(2, 6)]),
    "FullyConnected_noflatten": (lambda x, w, b: nd.FullyConnected(x, w, b, num_hidden=2, flatten=False),
                                 [r(2, 3, 4), r(2, 4), r(2)]),
    "Activation_tanh": (lambda x: nd.Activation(x, act_type="tanh"), [r(5)]),
    "LeakyReLU": (lambda x: nd.LeakyReLU(x, slope=0.1), [np.array([-1.0, -0.2, 0.3, 1.5])]),
    "LeakyReLU_elu": (lambda x: nd.LeakyReLU(x, act_type="elu", slope=0.5), [np.array([-1.0, -0.2, 0.3])]),
    "prelu": (lambda x, g: nd.LeakyReLU(x, g, act_type="prelu"), [np.array([[-1.0, 0.5], [0.3, -2.0]]), pos(2)]),
    "softmax": (nd.softmax, [r(3, 4)]),
    "softmax_axis0": (lambda x: nd.softmax(x, axis=0), [r(3, 4)]),
    "log_softmax": (lambda x: nd.log_softmax(x, axis=1), [r(3, 4)]),
    "softmax_cross_entropy": (lambda x: nd.softmax_cross_entropy(x, nd.array(LABELS)), [r(3, 4)]),
    "nll_pick": (lambda z: -nd.pick(nd.log_softmax(z, axis=1), nd.array(LABELS), axis=1).mean(), [r(3, 4)]),
    "BatchNorm_train": (lambda x, g, b: _batchnorm(x, g, b), [r(4, 3), pos(3), r(3)]),
}


IDX = nd.array([[1, 0, 1], [2, 0, 2]])  # gather_nd coordinates into a (2, 3, ...) array; (1, 2) repeats

CASES.update({
    # more unary math (each away from its poles and kinks)
    **{name: (getattr(nd, name), [r(5)]) for name in ("tan", "arcsinh", "degrees", "radians", "erf")},
    **{name: (getattr(nd, name), [r(5, low=-0.8, high=0.8)]) for name in ("arcsin", "arccos", "arctanh",
                                                                           "erfinv")},
    **{name: (getattr(nd, name), [pos(5)]) for name in ("log2", "log10", "cbrt", "rcbrt", "rsqrt", "gamma",
                                                        "gammaln")},
    "arccosh": (nd.arccosh, [r(5, low=1.2, high=2.5)]),
    "gamma_large": (nd.gamma, [r(4, low=2.5, high=4.5)]),
    "gammaln_small": (nd.gammaln, [r(4, low=0.1, high=0.4)]),
    "hard_sigmoid": (lambda x: nd.hard_sigmoid(x, alpha=0.3, beta=0.4), [np.array([-4.0, -1.0, 0.5, 1.5, 3.0])]),
    # binary operators beyond arithmetic
    "broadcast_mod": (nd.broadcast_mod, [r(3, 4, low=2.2, high=2.8), r(4, low=1.0, high=1.05)]),
    "broadcast_hypot": (nd.broadcast_hypot, [r(3, 4), pos(3, 1)]),
    "mod_scalar": (lambda a: nd.modulo(a, 1.5), [r(5, low=1.6, high=2.9)]),
    "rmod_scalar": (lambda a: nd.modulo(2.2, a), [r(5, low=1.2, high=2.0)]),
    "hypot_scalar": (lambda a: nd._hypot_scalar(a, scalar=2.0), [r(5)]),
    "add_n": (lambda a, b, c: nd.add_n(a, b, c) * a, [r(2, 3), r(2, 3), r(2, 3)]),
    # tensor layout
    "slice": (lambda a: nd.slice(a, begin=(1, None), end=(None, 0), step=(1, -2)) ** 2, [r(3, 5)]),
    "slice_like": (lambda a: nd.slice_like(a, nd.zeros((2, 2)), axes=(1,)) ** 2, [r(3, 5)]),
    "reshape_like": (lambda a: nd.reshape_like(a, nd.zeros((3, 2)), lhs_begin=1, rhs_begin=0, rhs_end=2) ** 2,
                     [r(2, 6)]),
    "broadcast_axis": (lambda a: nd.broadcast_axis(a, axis=(0, 2), size=(2, 3)) ** 2, [r(1, 2, 1)]),
    "broadcast_like_axes": (lambda a: nd.broadcast_like(a, nd.zeros((2, 4)), lhs_axes=(0,), rhs_axes=(1,)) ** 2,
                            [r(1, 3)]),
    "reverse": (lambda a: nd.reverse(a, axis=(0, 1)) * a, [r(2, 3)]),
    "diag_vector": (lambda a: nd.diag(a, k=-1) ** 2, [r(3)]),
    "diag_matrix": (lambda a: nd.diag(a, k=1) ** 2, [r(3, 4)]),
    "diag_3d": (lambda a: nd.diag(a, axis1=1, axis2=2) ** 2, [r(2, 3, 3)]),
    "pad_constant": (lambda a: nd.pad(a, mode="constant", pad_width=(0, 0, 0, 0, 1, 2, 2, 1),
                                      constant_value=0.5) ** 2, [r(1, 1, 2, 3)]),
    "pad_edge": (lambda a: nd.pad(a, mode="edge", pad_width=(0, 0, 0, 0, 2, 1, 1, 2)) ** 2, [r(1, 1, 2, 3)]),
    "pad_reflect": (lambda a: nd.pad(a, mode="reflect", pad_width=(0, 0, 0, 0, 1, 1, 2, 2)) ** 2,
                    [r(1, 1, 3, 3)]),
    "depth_to_space": (lambda a: nd.depth_to_space(a, 2) ** 2, [r(1, 4, 2, 1)]),
    "space_to_depth": (lambda a: nd.space_to_depth(a, 2) ** 2, [r(1, 1, 2, 4)]),
    "moveaxis": (lambda a: nd.moveaxis(a, 0, -1) ** 2, [r(2, 3, 2)]),
    "concatenate": (lambda a, b: nd.concatenate([a, b], axis=1) ** 2, [r(2, 1), r(2, 2)]),
    # indexing and sorting
    "gather_nd": (lambda a: nd.gather_nd(a, IDX) ** 2, [r(3, 3, 2)]),
    "scatter_nd": (lambda d: nd.scatter_nd(d, nd.array([[0, 1], [2, 0]]), shape=(2, 3)) ** 2, [r(2)]),
    "batch_take": (lambda a: nd.batch_take(a, nd.array([2, 0, 0])) ** 2, [r(3, 3)]),
    "choose_element_0index": (lambda a: nd.choose_element_0index(a, nd.array([1, 0])) ** 2, [r(2, 3)]),
    "fill_element_0index": (lambda a, m: nd.fill_element_0index(a, m, nd.array([1, 0])) ** 2, [r(2, 3), r(2)]),
    "topk_value": (lambda a: nd.topk(a, k=2, ret_typ="value") ** 2, [r(3, 4)]),
    "topk_both_axis0": (lambda a: nd.topk(a, axis=0, k=2, ret_typ="both", is_ascend=True)[0] ** 2, [r(3, 4)]),
    "sort": (lambda a: nd.sort(a, axis=0, is_ascend=False) * a, [r(3, 4)]),
    "SequenceMask": (lambda a: nd.SequenceMask(a, nd.array([1, 3]), use_sequence_length=True, value=0.5) ** 2,
                     [r(3, 2, 2)]),
    "SequenceLast": (lambda a: nd.SequenceLast(a, nd.array([2, 1]), use_sequence_length=True, axis=1) ** 2,
                     [r(2, 3, 2)]),
    "SequenceReverse": (lambda a: nd.SequenceReverse(a, nd.array([2, 3]), use_sequence_length=True) * a,
                        [r(3, 2)]),
    # reductions
    "prod": (lambda a: nd.prod(a, axis=1), [pos(3, 4)]),
    "prod_all": (nd.prod, [pos(2, 3)]),
    "nansum": (lambda a: nd.nansum(a, axis=0) ** 2, [r(3, 2)]),
    "nanprod": (lambda a: nd.nanprod(a, axis=(0, 1), keepdims=True), [pos(2, 2, 2)]),
    "moments": (lambda a: nd.moments(a, axes=(1,)), [r(3, 4)]),
    "moments_keepdims": (lambda a: nd.moments(a, axes=(0, 2), keepdims=True)[1], [r(2, 3, 2)]),
    "norm_l1_axis": (lambda a: nd.norm(a, ord=1, axis=1), [np.array([[-1.0, 0.5], [0.3, -2.0]])]),
    "norm_axis_keepdims": (lambda a: nd.norm(a, axis=(0,), keepdims=True), [r(3, 2)]),
})


def _batchnorm(x, gamma, beta):
    mean = nd.zeros((3,), dtype=np.float64)
    var = nd.ones((3,), dtype=np.float64)
    with mx.autograd.train_mode():
        return nd.BatchNorm(x, gamma, beta, mean, var, fix_gamma=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_first_and_second_order(name):
    fn, args = CASES[name]
    check_grads(fn, *args, order=2)


def test_second_derivative_values_match_mxnet():
    # behaviour.md §1.4 reference values at x = [0.5, 0.8]
    for fn, first, second in [(nd.log, [2, 1.25], [-4, -1.5625]),
                              (nd.tanh, None, [-0.72686195, -0.7424664]),
                              (nd.sigmoid, None, [-0.0575568, -0.08127477])]:
        x = nd.array([0.5, 0.8])
        x.attach_grad()
        with mx.autograd.record():
            y = fn(x)
        (dy,) = mx.autograd.grad(y, [x], create_graph=True)
        if first is not None:
            np.testing.assert_allclose(dy.asnumpy(), first, rtol=1e-6)
        dy.backward()
        np.testing.assert_allclose(x.grad.asnumpy(), second, rtol=1e-5)


@pytest.mark.parametrize("fn, x", [(nd.relu, [-1.0, 0.5, 2.0]), (nd.abs, [-1.0, 0.5, 2.0]),
                                   (lambda v: nd.clip(v, -0.5, 0.5), [-1.0, 0.2, 2.0])])
def test_second_order_through_kinked_ops_is_zero(fn, x):
    # MXNet's relu/abs/clip gradients are piecewise constant: d/dx (dy/dx * x) is dy/dx itself,
    # the second-order term adding zero (MXNet 1.9.1 prints the same values)
    x = nd.array(x, dtype=np.float64)
    x.attach_grad()
    with mx.autograd.record():
        y = fn(x)
        (dy,) = mx.autograd.grad(y, [x], create_graph=True)
        total = (dy * x).sum()
    total.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), dy.asnumpy())


def test_third_order_exp():
    x = nd.array([0.3, -0.7], dtype=np.float64)
    x.attach_grad()
    with mx.autograd.record():
        y = nd.exp(x)
        (d1,) = mx.autograd.grad(y, [x], create_graph=True)
        (d2,) = mx.autograd.grad(d1, [x], create_graph=True)
    d2.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), np.exp([0.3, -0.7]), rtol=1e-12)


@pytest.mark.parametrize("fn", [nd.relu, nd.abs, lambda v: nd.clip(v, -0.5, 0.5), nd.radians])
def test_grad_of_grad_is_zeros_where_mxnet_gives_zeros(fn):
    # MXNet's test_higher_order_grad: the first gradient is piecewise constant in x, so the second is 0
    x = nd.array([0.3, -0.6, 0.9])
    x.attach_grad()
    with mx.autograd.record():
        y = fn(x)
        g = mx.autograd.grad(y, x, head_grads=nd.array([1.0, 2.0, 3.0]), create_graph=True, retain_graph=True)[0]
        g2 = mx.autograd.grad(g, x, head_grads=nd.array([0.5, 1.0, 2.0]), create_graph=True, retain_graph=True)[0]
    np.testing.assert_array_equal(g2.asnumpy(), np.zeros(3))


def test_rounding_ops_have_zero_gradients_as_mxnet():
    x = nd.array([0.3, -1.6])
    x.attach_grad()
    for fn in (nd.floor, nd.ceil, nd.round, nd.rint, nd.fix, nd.trunc, nd.sign):
        with mx.autograd.record():
            y = fn(x) * 2
        y.backward()
        np.testing.assert_array_equal(x.grad.asnumpy(), [0.0, 0.0])


CASES_ASSIGN = {
    "slice_assign": (lambda a, b: nd._internal._slice_assign(a, b, begin=(0, 1), end=(2, 3)) ** 2,
                     [r(3, 4), r(2, 2)]),
    "slice_assign_scalar": (lambda a: nd._internal._slice_assign_scalar(a, scalar=2.0, begin=(1,), end=(3,),
                                                                      step=(1,)) ** 2, [r(4, 2)]),
    "cumsum": (lambda a: nd.cumsum(a, axis=1) ** 2, [r(2, 3)]),
    "cumsum_flat": (lambda a: nd.cumsum(a) ** 2, [r(2, 2)]),
    "flatten_copy": (lambda a: nd.flatten(a) * nd.expand_dims(nd.squeeze(a), 0).reshape((2, 3)), [r(2, 1, 3)]),
}


@pytest.mark.parametrize("name", sorted(CASES_ASSIGN))
def test_assign_gradients(name):
    fn, args = CASES_ASSIGN[name]
    check_grads(fn, *args, order=2)
