"""Tensor, indexing, sorting and reduction operators: values (MXNet 1.9.1's outputs), sym shapes, errors."""
import numpy as np
import pytest

import trainkit as mx
from trainkit import nd
from trainkit.base import MXNetError

X = nd.array([[3, 1, 2], [0, 5, 4]])


def v(a):
    return a.asnumpy().tolist()


def test_topk_every_return_type():
    value, idx = nd.topk(X, k=2, ret_typ="both")
    assert v(value) == [[3, 2], [5, 4]] and v(idx) == [[0, 2], [1, 2]]
    assert v(nd.topk(X, k=2, ret_typ="mask")) == [[1, 0, 1], [0, 1, 1]]
    assert v(nd.topk(X, axis=None, k=2)) == [4, 5]
    assert v(nd.topk(X, k=1, is_ascend=True)) == [[1], [0]]
    assert nd.topk(X, k=2, dtype="int32").dtype == np.int32
    with pytest.raises(ValueError, match="ret_typ"):
        nd.topk(X, ret_typ="values")


def test_sort_argsort():
    assert v(nd.argsort(X)) == [[1, 2, 0], [0, 2, 1]]
    assert v(nd.sort(X, is_ascend=False)) == [[3, 2, 1], [5, 4, 0]]
    assert v(nd.sort(X, axis=0)) == [[0, 1, 2], [3, 5, 4]]
    assert nd.argsort(X).dtype == np.float32


def test_gather_nd_scatter_nd():
    idx = nd.array([[1, 0], [2, 0]])
    assert v(nd.gather_nd(X, idx)) == [4, 3]
    assert v(nd.scatter_nd(nd.array([9, 8]), idx, shape=(2, 3))) == [[8, 0, 0], [0, 0, 9]]
    assert nd.gather_nd(nd.ones((2, 3, 4)), nd.array([[0, 1]])).shape == (2, 3, 4)  # M=1: rows 0 and 1
    assert nd.gather_nd(nd.ones((2, 3, 4)), nd.array([[0], [1]])).shape == (1, 4)


def test_row_picks_and_fill():
    assert v(nd.batch_take(X, nd.array([2, 0]))) == [2, 0]
    assert v(nd.choose_element_0index(X, nd.array([2, 0]))) == [2, 0]
    assert v(nd.fill_element_0index(X, nd.array([9, 9]), nd.array([2, 0]))) == [[3, 1, 9], [9, 5, 4]]


def test_slicing_family():
    assert v(nd.slice(X, begin=(0, 1), end=(2, 3))) == [[1, 2], [5, 4]]
    assert v(nd.crop(X, begin=(0, 1), end=(2, 3))) == [[1, 2], [5, 4]]
    assert v(nd.slice(X, begin=(None, None), end=(None, None), step=(-1, 2))) == [[0, 4], [3, 2]]
    assert nd.slice_like(nd.ones((4, 5)), nd.ones((2, 3)), axes=(1,)).shape == (4, 3)
    assert nd.slice_like(nd.ones((4, 5)), nd.ones((2, 3))).shape == (2, 3)
    assert v(nd.reverse(X, axis=1)) == [[2, 1, 3], [4, 5, 0]]
    assert v(nd.flip(X, axis=0)) == [[0, 5, 4], [3, 1, 2]]


def test_reshape_like_broadcast_axis_moveaxis():
    assert nd.reshape_like(nd.ones((2, 6)), nd.ones((3, 4))).shape == (3, 4)
    assert nd.reshape_like(nd.ones((30, 7)), nd.ones((15, 2, 4)), lhs_begin=0, lhs_end=1, rhs_begin=0,
                           rhs_end=2).shape == (15, 2, 7)
    assert nd.broadcast_axis(nd.ones((1, 2, 1)), axis=(0, 2), size=(3, 4)).shape == (3, 2, 4)
    assert nd.broadcast_axes(nd.ones((1, 2)), axis=0, size=3).shape == (3, 2)
    assert nd.moveaxis(nd.ones((2, 3, 4)), 0, -1).shape == (3, 4, 2)
    assert nd.moveaxis(nd.ones((2, 3, 4)), (0, 1), (2, 0)).shape == np.moveaxis(np.ones((2, 3, 4)), (0, 1),
                                                                                (2, 0)).shape
    with pytest.raises(MXNetError, match="size-1"):
        nd.broadcast_axis(nd.ones((2, 2)), axis=0, size=3)


def test_diag():
    assert v(nd.diag(X)) == [3, 5]
    assert v(nd.diag(X, k=1)) == [1, 4]
    assert v(nd.diag(nd.array([1, 2]), k=1)) == [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    a = np.arange(18.0).reshape(2, 3, 3)
    np.testing.assert_array_equal(nd.diag(nd.array(a), axis1=1, axis2=2).asnumpy(), np.diagonal(a, 0, 1, 2))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
def test_pad_matches_numpy(mode):
    a = np.arange(12.0).reshape(1, 1, 3, 4)
    got = nd.pad(nd.array(a), mode=mode, pad_width=(0, 0, 0, 0, 1, 2, 2, 1), constant_value=7)
    kwargs = {"constant_values": 7} if mode == "constant" else {}
    np.testing.assert_array_equal(got.asnumpy(), np.pad(a, ((0, 0), (0, 0), (1, 2), (2, 1)), mode=mode, **kwargs))


def test_pad_errors():
    with pytest.raises(MXNetError, match="2 entries per axis"):
        nd.pad(nd.ones((1, 1, 2, 2)), pad_width=(1, 1))
    with pytest.raises(MXNetError, match="mode"):
        nd.pad(nd.ones((2,)), mode="wrap", pad_width=(1, 1))


def test_depth_space_round_trip():
    x = nd.arange(8).reshape((1, 4, 1, 2))
    assert v(nd.depth_to_space(x, 2)) == [[[[0, 2, 1, 3], [4, 6, 5, 7]]]]
    y = nd.arange(8).reshape((1, 1, 2, 4))
    assert v(nd.space_to_depth(y, 2)).__len__() == 1 and nd.space_to_depth(y, 2).shape == (1, 4, 1, 2)
    assert v(nd.depth_to_space(nd.space_to_depth(y, 2), 2)) == v(y)


def test_sequence_operators():
    t = nd.arange(12).reshape((3, 2, 2))
    assert v(nd.SequenceLast(t, nd.array([1, 3]), use_sequence_length=True)) == [[0, 1], [10, 11]]
    assert v(nd.SequenceLast(t)) == v(t[2])
    s = nd.arange(6).reshape((3, 2))
    assert v(nd.SequenceReverse(s, nd.array([1, 3]), use_sequence_length=True)) == [[0, 5], [2, 3], [4, 1]]
    assert v(nd.SequenceMask(s, nd.array([1, 3]), use_sequence_length=True, value=-1)) == [[0, 1], [-1, 3],
                                                                                          [-1, 5]]
    assert v(nd.SequenceMask(s, nd.array([1, 2, 2]), use_sequence_length=True, axis=1)) == [[0, 0], [2, 3],
                                                                                           [4, 5]]
    sym = mx.sym.SequenceMask(mx.sym.var("d"), use_sequence_length=False)
    assert sym.list_arguments() == ["d"]
    sym = mx.sym.SequenceLast(mx.sym.var("d"), mx.sym.var("l"), use_sequence_length=True)
    assert sym.infer_shape(d=(3, 2, 4), l=(2,))[1] == [(2, 4)]


def test_ravel_unravel_shape_size():
    assert v(nd.ravel_multi_index(nd.array([[1, 0], [2, 1]]), shape=(3, 4))) == [6, 1]
    assert v(nd.unravel_index(nd.array([9, 1]), shape=(3, 4))) == [[2, 0], [1, 1]]
    assert v(nd.shape_array(X)) == [2, 3] and nd.shape_array(X).dtype == np.int64
    assert v(nd.size_array(X)) == [6]


def test_legacy_helpers():
    out = nd.zeros((2, 4))
    assert nd.onehot_encode(nd.array([1, 3]), out) is out
    assert v(out) == [[0, 1, 0, 0], [0, 0, 0, 1]]
    assert nd.concatenate([X, X]).shape == (4, 3)
    assert nd.concatenate([X, X], axis=1).shape == (2, 6)
    assert v(nd.sum_axis(X, axis=1)) == [6, 9]
    assert v(nd.max_axis(X, axis=0)) == [3, 5, 4]
    counts, edges = nd.histogram(X, bins=3)
    assert v(counts) == [2, 2, 2]
    np.testing.assert_allclose(edges.asnumpy(), [0, 5 / 3, 10 / 3, 5], rtol=1e-6)


def test_reductions():
    assert v(nd.prod(X, axis=1)) == [6, 0]
    assert v(nd.nansum(nd.array([1, np.nan, 2]))) == [3]
    assert v(nd.nanprod(nd.array([2, np.nan, 3]))) == [6]
    mean, var = nd.moments(X, axes=(1,))
    np.testing.assert_allclose(mean.asnumpy(), [2, 3])
    np.testing.assert_allclose(var.asnumpy(), [2 / 3, 14 / 3], rtol=1e-6)
    assert nd.moments(X, axes=(1,), keepdims=True)[0].shape == (2, 1)
    assert v(nd.argmax_channel(X)) == [0, 1]
    np.testing.assert_allclose(nd.norm(X, ord=1, axis=1).asnumpy(), [6, 9])
    assert nd.norm(X, axis=1, keepdims=True).shape == (2, 1)


def test_creation_operators():
    assert v(nd.eye(2, 3, k=1)) == [[0, 1, 0], [0, 0, 1]]
    np.testing.assert_allclose(nd.linspace(0, 1, 5).asnumpy(), [0, 0.25, 0.5, 0.75, 1])
    assert v(nd.zeros_like(X)) == [[0] * 3] * 2
    sym = mx.sym.arange(0, 6, 2)
    assert sym.infer_shape()[1] == [(3,)] and v(sym.eval()[0]) == [0, 2, 4]


@pytest.mark.parametrize("make, shape, out", [
    (lambda a: mx.sym.topk(a, k=2, ret_typ="both"), (3, 5), [(3, 2), (3, 2)]),
    (lambda a: mx.sym.sort(a, axis=0), (3, 5), [(3, 5)]),
    (lambda a: mx.sym.slice(a, begin=(1, None), end=(3, None)), (4, 5), [(2, 5)]),
    (lambda a: mx.sym.pad(a, mode="edge", pad_width=(0, 0, 0, 0, 1, 1, 2, 2)), (1, 2, 3, 3), [(1, 2, 5, 7)]),
    (lambda a: mx.sym.diag(a), (3, 4), [(3,)]),
    (lambda a: mx.sym.moments(a, axes=(0,)), (3, 4), [(4,), (4,)]),
    (lambda a: mx.sym.depth_to_space(a, block_size=2), (1, 8, 2, 3), [(1, 2, 4, 6)]),
    (lambda a: mx.sym.shape_array(a), (3, 4), [(2,)]),
])
def test_symbol_shapes(make, shape, out):
    sym = make(mx.sym.var("a"))
    assert sym.infer_shape(a=shape)[1] == out
    x = nd.array(np.random.default_rng(0).uniform(size=shape))
    assert [o.shape for o in sym.eval(a=x)] == out


def test_symbol_output_names_follow_mxnet():
    a = mx.sym.var("a")
    assert mx.sym.topk(a, ret_typ="both", name="t").list_outputs() == ["t_output0", "t_output1"]
    assert mx.sym.topk(a, name="t").list_outputs() == ["t_output"]
    assert mx.sym.sort(a, name="s").list_outputs() == ["s_output0"]
    assert mx.sym.split(a, num_outputs=2, name="p").list_outputs() == ["p_output0", "p_output1"]


def test_symbol_json_of_slice_keeps_none():
    s = mx.sym.slice(mx.sym.var("a"), begin=(0, None), end=(2, 3), name="sl")
    assert s.list_attr() == {"begin": "(0, None)", "end": "(2, 3)"}
    t = mx.sym.load_json(s.tojson())
    assert t.infer_shape(a=(4, 5))[1] == [(2, 3)]


def test_contrib_operators():
    a = nd.array([1.0, 2.0])
    assert v(nd.contrib.quadratic(a, a=1, b=2, c=3)) == [6, 11]
    assert v(nd.contrib.div_sqrt_dim(nd.ones((2, 4)))) == [[0.5] * 4] * 2
    close = nd.contrib.allclose(a, nd.array([1.0, 2.1]))
    assert close.dtype == np.uint8 and close.asnumpy().item() == 0
    assert nd.contrib.allclose(a, nd.array([1.0, 2.1]), rtol=0.1).asnumpy().item() == 1
    assert v(nd.contrib.index_copy(nd.zeros((3, 2)), nd.array([2, 0]), nd.ones((2, 2)))) == [[1, 1], [0, 0], [1, 1]]
    assert v(nd.contrib.arange_like(nd.ones((2, 3)))) == [[0, 1, 2], [3, 4, 5]]
    assert v(nd.contrib.arange_like(nd.ones((2, 3)), axis=1, start=1, step=2)) == [1, 3, 5]
    assert mx.sym.contrib.quadratic(mx.sym.var("x"), a=1).name.startswith("quadratic")


def test_index_copy_gradients():
    old, new = nd.ones((3, 2)), nd.array([[1.0, 2.0]])
    old.attach_grad()
    new.attach_grad()
    with mx.autograd.record():
        y = nd.contrib.index_copy(old, nd.array([1]), new) * nd.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y.backward()
    assert v(old.grad) == [[1, 2], [0, 0], [5, 6]] and v(new.grad) == [[3, 4]]


def test_all_finite():
    assert v(nd.all_finite(nd.array([0.0, 1.0]))) == [1]
    assert v(nd.all_finite(nd.array([np.inf, 1.0]))) == [0]
    assert v(nd.multi_all_finite(nd.ones(2), nd.array([np.nan]), num_arrays=2)) == [0]
    s = mx.sym.multi_all_finite(mx.sym.var("a"), mx.sym.var("b"))
    assert s.list_attr() == {"num_arrays": "2"}
    assert v(s.eval(a=nd.ones(2), b=nd.ones(3))[0]) == [1]


def test_histogram_and_split_v2_symbols():
    x = nd.arange(12).reshape((6, 2))
    h = mx.sym.histogram(mx.sym.var("a"), bins=3, range=(0, 12))
    counts, edges = h.eval(a=x)
    assert v(counts) == [4, 4, 4] and v(edges) == [0, 4, 8, 12]
    assert mx.sym.histogram(mx.sym.var("a"), bins=mx.sym.var("b")).list_arguments() == ["a", "b"]
    with pytest.raises(ValueError, match="null range"):
        mx.sym.histogram(mx.sym.var("a"), bins=3)
    assert [p.shape for p in nd.split_v2(x, [1, 4])] == [(1, 2), (3, 2), (2, 2)]
    assert [p.shape for p in nd.split_v2(x, 3)] == [(2, 2)] * 3
    s = mx.sym.split_v2(mx.sym.var("a"), [1, 4])
    assert s.infer_shape(a=(6, 2))[1] == [(1, 2), (3, 2), (2, 2)]


def test_where_with_a_row_condition_and_cast_symbol():
    out = nd.where(nd.array([1, 0]), nd.ones((2, 3)), nd.zeros((2, 3)))
    assert v(out) == [[1, 1, 1], [0, 0, 0]]
    assert mx.sym.Cast(mx.sym.var("a"), dtype="int32").eval(a=nd.ones(2))[0].dtype == np.int32


def test_index_errors_as_mxnet():
    with pytest.raises(IndexError, match="out of bounds"):
        nd.gather_nd(nd.ones((2, 3)), nd.array([[0, 1, 0], [0, 1, 3]]))
    with pytest.raises(IndexError, match="out of bounds"):
        nd.gather_nd(nd.ones((2, 3)), nd.array([[0, 1, 0], [0, 1, -5]]))
    with pytest.raises(MXNetError, match="out of range"):
        nd.diag(nd.ones((2, 3)), k=4)
    with pytest.raises(MXNetError, match="block_size"):
        nd.depth_to_space(nd.ones((1, 4, 2, 2)), 0)
    with pytest.raises(MXNetError, match="no empty axis"):
        nd.space_to_depth(nd.ones((1, 0, 2, 2)), 2)
    with pytest.raises(MXNetError, match="divide"):
        nd.depth_to_space(nd.ones((1, 3, 2, 2)), 2)


def test_ravel_with_a_leading_minus_one():
    assert v(nd.unravel_index(nd.array([9, 1, 25]), shape=(-1, 4))) == [[2, 0, 6], [1, 1, 1]]
    assert v(nd.ravel_multi_index(nd.array([[6, 0], [1, 1]]), shape=(-1, 4))) == [25, 1]


def test_explicit_none_is_stored_as_mxnet_does():
    s = mx.sym.sort(mx.sym.var("a"), axis=None)
    assert s.list_attr() == {"axis": "None"} and s.infer_shape(a=(2, 3))[1] == [(6,)]
    assert mx.sym.slice_axis(mx.sym.var("a"), axis=1, begin=1, end=None).infer_shape(a=(3, 4))[1] == [(3, 3)]


def test_cumsum_and_broadcast_aliases():
    x = nd.array([[1, 2], [3, 4]])
    assert v(nd.cumsum(x)) == [1, 3, 6, 10]
    assert v(nd.cumsum(x, axis=1)) == [[1, 3], [3, 7]]
    assert nd.cumsum(x, axis=0, dtype="int32").dtype == np.int32
    assert v(nd.broadcast_plus(x, nd.ones((1,)))) == [[2, 3], [4, 5]]
    assert v(nd.broadcast_minus(x, nd.ones((1,)))) == [[0, 1], [2, 3]]


def test_finiteness_tests_slice_like_axes_and_moveaxis_errors():
    x = nd.array([1, np.inf, np.nan, -np.inf])
    assert v(nd.contrib.isinf(x)) == [0, 1, 0, 1]
    assert v(nd.contrib.isfinite(x)) == [1, 0, 0, 0]
    assert v(nd.contrib.isnan(x)) == [0, 0, 1, 0]
    # MXNet: a negative axis counts on data's axes and then indexes shape_like as well
    assert nd.slice_like(nd.ones((5, 17, 1)), nd.ones((3, 3)), axes=(0, -2)).shape == (3, 3, 1)
    with pytest.raises(MXNetError, match="same number of axes"):
        nd.slice_like(nd.ones((5, 17, 1)), nd.ones((3, 3)))
    with pytest.raises(ValueError, match="out of bounds"):
        nd.moveaxis(nd.ones((1, 2, 3)), 3, 0)
    with pytest.raises(ValueError, match="repeated axis"):
        nd.moveaxis(nd.ones((1, 2, 3)), [0, 1], [1, 1])


def test_relu_gradient_lets_nan_through_as_mxnet():
    x = nd.array([np.nan, 1.0, -1.0])
    x.attach_grad()
    with mx.autograd.record():
        y = nd.relu(x)
    y.backward()
    g = x.grad.asnumpy()
    assert np.isnan(g[0]) and g[1:].tolist() == [1.0, 0.0]


def test_take_modes_where_shapes_and_zero_size_tiles():
    a = nd.array([1.0, 2.0, 3.0])
    assert v(nd.take(a, nd.array([-1, 4]), mode="wrap")) == [3, 2]
    assert v(nd.take(a, nd.array([-1, 4]))) == [1, 3]
    with pytest.raises(MXNetError, match="out of range"):
        nd.take(a, nd.array([3]), mode="raise")
    with pytest.raises(MXNetError, match="condition of shape"):
        nd.where(nd.array([1, 0]), nd.ones((3, 2)), nd.ones((3, 2)))
    assert nd.tile(nd.ones((2, 3, 0, 4)), (1, 2, 1, 1)).shape == (2, 6, 0, 4)
    assert nd.repeat(nd.ones((2, 0)), 2, axis=0).shape == (4, 0)
    x = nd.ones((2, 3))
    x.attach_grad()
    with mx.autograd.record():
        y = nd.concat(x, dim=1) * 2  # one input: its gradient is the head gradient itself
    y.backward()
    assert v(x.grad) == [[2, 2, 2], [2, 2, 2]]
