"""Symbol.bind / simple_bind and the Executor: values, gradients per grad_req, shared memory, errors."""
import numpy as np
import pytest

import trainkit as mx
from trainkit.base import MXNetError


def _ab():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    return a, b, 2 * a + a * b


def test_bind_forward_backward_lists_and_dicts():
    a, b, c = _ab()
    av, bv = np.array([1.0, 2.0], np.float32), np.array([3.0, -1.0], np.float32)
    ga, gb = mx.nd.zeros(2), mx.nd.zeros(2)
    exe = c.bind(mx.cpu(), args=[mx.nd.array(av), mx.nd.array(bv)], args_grad=[ga, gb])
    outs = exe.forward(is_train=True)
    assert outs is exe.outputs
    np.testing.assert_allclose(outs[0].asnumpy(), 2 * av + av * bv)
    head = np.array([1.0, 0.5], np.float32)
    exe.backward([mx.nd.array(head)])
    # gradients land in the arrays given as args_grad
    np.testing.assert_allclose(ga.asnumpy(), head * (2 + bv))
    np.testing.assert_allclose(gb.asnumpy(), head * av)
    exe2 = c.bind(mx.cpu(), args={"b": mx.nd.array(bv), "a": mx.nd.array(av)},
                  args_grad={"a": mx.nd.zeros(2), "b": mx.nd.zeros(2)})
    exe2.forward(is_train=True)
    exe2.backward(mx.nd.array(head))
    np.testing.assert_allclose(exe2.grad_dict["a"].asnumpy(), head * (2 + bv))
    assert list(exe2.arg_dict) == ["a", "b"]
    assert list(exe2.output_dict) == c.list_outputs()


def test_grad_req_write_add_null():
    a, b, c = _ab()
    av, bv = np.array([1.0, 2.0], np.float32), np.array([3.0, -1.0], np.float32)
    ga, gb = mx.nd.array([10.0, 10.0]), mx.nd.array([7.0, 7.0])
    exe = c.bind(mx.cpu(), args={"a": mx.nd.array(av), "b": mx.nd.array(bv)}, args_grad={"a": ga, "b": gb},
                 grad_req={"a": "add", "b": "null"})
    for _ in range(2):
        exe.forward(is_train=True)
        exe.backward(mx.nd.ones(2))
    np.testing.assert_allclose(ga.asnumpy(), 10 + 2 * (2 + bv))  # accumulated twice
    np.testing.assert_allclose(gb.asnumpy(), [7.0, 7.0])           # untouched
    exe = c.bind(mx.cpu(), args={"a": mx.nd.array(av), "b": mx.nd.array(bv)},
                 args_grad={"a": mx.nd.ones(2) * 5, "b": mx.nd.ones(2) * 5}, grad_req="write")
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones(2))
    exe.backward(mx.nd.ones(2))  # a second backward of the same forward overwrites, as 'write' says
    np.testing.assert_allclose(exe.grad_dict["a"].asnumpy(), 2 + bv)


def test_no_args_grad_means_no_gradients():
    _, _, c = _ab()
    exe = c.bind(mx.cpu(), args=[mx.nd.ones(2), mx.nd.ones(2)])
    assert exe.grad_arrays is None and exe.grad_dict is None
    exe.forward()
    exe.backward(mx.nd.ones(2))  # nothing to compute: no error, as MXNet
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), [3.0, 3.0])


def test_bound_arrays_are_used_in_place():
    x = mx.sym.Variable("x")
    exe = (x * 3).simple_bind(mx.cpu(), x=(2, 2))
    exe.arg_dict["x"][:] = 1
    out = exe.forward()[0]
    np.testing.assert_allclose(out.asnumpy(), np.full((2, 2), 3.0))
    exe.arg_dict["x"][:] = 2
    exe.forward()
    # the output buffer is overwritten in place, like MXNet's
    np.testing.assert_allclose(out.asnumpy(), np.full((2, 2), 6.0))
    exe.forward(x=mx.nd.ones((2, 2)) * 4)
    np.testing.assert_allclose(exe.arg_dict["x"].asnumpy(), np.full((2, 2), 4.0))


def test_forward_keyword_errors():
    x = mx.sym.Variable("x")
    exe = (x + 1).simple_bind(mx.cpu(), x=(2,))
    with pytest.raises(ValueError, match="Shape not match! Argument x, need: \\(2,\\), received: \\(3,\\)"):
        exe.forward(x=mx.nd.ones(3))
    with pytest.raises(TypeError, match="Unknown argument zz"):
        exe.forward(zz=mx.nd.ones(2))
    with pytest.raises(ValueError, match="only accept keyword argument of NDArrays"):
        exe.forward(x=[1, 2])


def test_bind_errors():
    _, _, c = _ab()
    with pytest.raises(ValueError, match="key `b` is missing in `args`"):
        c.bind(mx.cpu(), args={"a": mx.nd.ones(2)})
    with pytest.raises(ValueError, match="Length of args does not match"):
        c.bind(mx.cpu(), args=[mx.nd.ones(2)])
    with pytest.raises(ValueError, match="grad_req=bad"):
        c.bind(mx.cpu(), args=[mx.nd.ones(2)] * 2, args_grad=[mx.nd.ones(2)] * 2, grad_req="bad")
    with pytest.raises(TypeError, match="must be an NDArray"):
        c.bind(mx.cpu(), args=[np.ones(2), mx.nd.ones(2)])


def test_backward_needs_head_gradient_unless_loss():
    _, _, c = _ab()
    exe = c.simple_bind(mx.cpu(), a=(2,), b=(2,))
    exe.forward(is_train=True)
    with pytest.raises(MXNetError, match="head_gradient is required"):
        exe.backward()
    with pytest.raises(TypeError, match="inputs must be NDArray"):
        exe.backward([np.ones(2)])


def test_softmax_output_backward_without_out_grads():
    x = mx.sym.Variable("x")
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(x, num_hidden=3, name="fc"), name="sm")
    exe = net.simple_bind(mx.cpu(), x=(2, 4))
    assert [a.shape for a in exe.arg_arrays] == [(2, 4), (3, 4), (3,), (2,)]
    xv = np.random.RandomState(0).rand(2, 4).astype(np.float32)
    wv = np.random.RandomState(1).rand(3, 4).astype(np.float32)
    exe.arg_dict["fc_weight"][:] = wv
    exe.arg_dict["sm_label"][:] = np.array([0, 2])
    exe.forward(is_train=True, x=mx.nd.array(xv))
    exe.backward()
    z = xv @ wv.T
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), p, rtol=1e-5)
    dz = p - np.eye(3)[[0, 2]]
    np.testing.assert_allclose(exe.grad_dict["fc_bias"].asnumpy(), dz.sum(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(exe.grad_dict["fc_weight"].asnumpy(), dz.T @ xv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(exe.grad_dict["sm_label"].asnumpy(), 0)


def test_simple_bind_grad_req_and_types():
    x = mx.sym.Variable("x")
    y = mx.sym.FullyConnected(x, num_hidden=4, name="fc")
    exe = y.simple_bind(mx.cpu(), x=(5, 4), grad_req="null")
    assert exe.grad_arrays == [None, None, None]
    exe = y.simple_bind(mx.cpu(), x=(5, 4), grad_req={"fc_weight": "write"})
    assert exe.grad_arrays[0] is None and exe.grad_arrays[1].shape == (4, 4) and exe.grad_arrays[2] is None
    exe = y.simple_bind(mx.cpu(), x=(5, 4), type_dict={"x": np.float64})
    assert [a.dtype for a in exe.arg_arrays] == [np.float64] * 3
    exe.forward()
    assert exe.outputs[0].dtype == np.float64
    with pytest.raises(RuntimeError, match="cannot decide shapes"):
        y.simple_bind(mx.cpu())


def test_batchnorm_aux_states_update_in_place():
    x = mx.sym.Variable("x")
    bn = mx.sym.BatchNorm(x, name="bn", fix_gamma=False, momentum=0.5)
    exe = bn.simple_bind(mx.cpu(), x=(3, 2))
    assert list(exe.aux_dict) == ["bn_moving_mean", "bn_moving_var"]
    xv = np.arange(6, dtype=np.float32).reshape(3, 2)
    exe.arg_dict["bn_gamma"][:] = 1
    exe.forward(is_train=True, x=mx.nd.array(xv))
    np.testing.assert_allclose(exe.aux_dict["bn_moving_mean"].asnumpy(), 0.5 * xv.mean(0), rtol=1e-6)
    exe.backward(mx.nd.ones((3, 2)))
    np.testing.assert_allclose(exe.grad_dict["bn_beta"].asnumpy(), [3.0, 3.0])


def test_reshape_shares_memory():
    x = mx.sym.Variable("x")
    y = mx.sym.FullyConnected(x, num_hidden=4)
    exe = y.simple_bind(mx.cpu(), x=(5, 4), grad_req="null")
    exe.arg_arrays[0][:] = 1
    exe.arg_arrays[1][:] = mx.nd.ones((4, 4))
    exe.arg_arrays[2][:] = 0
    small = exe.reshape(x=(3, 4))
    small.forward()
    assert np.all(small.outputs[0].asnumpy() == 4)
    assert np.all(exe.outputs[0].asnumpy()[:3] == 4)  # the smaller output is a view of the bigger one
    with pytest.raises(MXNetError, match="larger than original"):
        exe.reshape(x=(6, 4))
    big = exe.reshape(allow_up_sizing=True, x=(6, 4))
    big.arg_arrays[0][:] = 0
    assert np.all(exe.arg_arrays[0].asnumpy() == 1)      # new data array
    assert big.arg_arrays[1] is exe.arg_arrays[1]        # same weight
    with pytest.raises(MXNetError, match="partial_shaping=True"):
        exe.reshape(x=(5, 3))
    assert [a.shape for a in exe.reshape(partial_shaping=True, x=(5, 3)).arg_arrays] == [(5, 3), (4, 3), (4,)]


def test_copy_params_from():
    x = mx.sym.Variable("x")
    exe = mx.sym.FullyConnected(x, num_hidden=2, name="fc").simple_bind(mx.cpu(), x=(1, 3))
    exe.copy_params_from({"fc_weight": mx.nd.ones((2, 3)), "fc_bias": np.array([1.0, 2.0])})
    exe.forward(x=mx.nd.ones((1, 3)))
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), [[4.0, 5.0]])
    with pytest.raises(ValueError, match='Find name "zz"'):
        exe.copy_params_from({"zz": mx.nd.ones(1)})
    exe.copy_params_from({"zz": mx.nd.ones(1)}, allow_extra_params=True)


def test_monitor_callback_sees_outputs_and_inputs():
    x = mx.sym.Variable("x")
    y = mx.sym.relu(x * 2, name="r")
    exe = y.simple_bind(mx.cpu(), x=(2,))
    seen = []
    exe.set_monitor_callback(lambda name, arr: seen.append((name, arr.asnumpy().copy())))
    exe.forward(x=mx.nd.array([-1.0, 1.0]))
    names = [n for n, _ in seen]
    assert names == [y.get_internals().list_outputs()[1], "r_output"]
    np.testing.assert_allclose(seen[-1][1], [0.0, 2.0])
    seen.clear()
    exe.set_monitor_callback(lambda name, arr: seen.append(name), monitor_all=True)
    exe.forward()
    assert "r_data" in seen and "r_output" in seen


def test_debug_str_lists_nodes():
    _, _, c = _ab()
    text = c.simple_bind(mx.cpu(), a=(1,), b=(1,)).debug_str()
    assert text.startswith("Symbol Outputs:\n\toutput[0]=")
    assert "Variable:a" in text and "Op:_mul_scalar" in text and "\tscalar=2" in text


def test_executor_gradients_match_finite_differences():
    x = mx.sym.Variable("x")
    y = mx.sym.tanh(x) * x
    xv = np.random.RandomState(3).randn(3).astype(np.float64)
    exe = y.bind(mx.cpu(), args={"x": mx.nd.array(xv, dtype=np.float64)},
                 args_grad={"x": mx.nd.zeros(3, dtype=np.float64)})
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones(3, dtype=np.float64))
    eps = 1e-6
    fd = ((np.tanh(xv + eps) * (xv + eps)) - (np.tanh(xv - eps) * (xv - eps))) / (2 * eps)
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), fd, rtol=1e-6)


def test_monitor_callback_in_backward_gives_same_gradients():
    x = mx.sym.Variable("x")
    w = mx.sym.Variable("w")
    y = mx.sym.sum(mx.sym.tanh(x * w) * x, name="s")
    xv, wv = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.3, -0.7])
    grads = []
    for monitored in (False, True):
        exe = y.bind(mx.cpu(), args={"x": mx.nd.array(xv), "w": mx.nd.array(wv)},
                     args_grad={"x": mx.nd.zeros(3), "w": mx.nd.zeros(3)})
        seen = []
        if monitored:
            exe.set_monitor_callback(lambda name, arr: seen.append(name))
        exe.forward(is_train=True)
        exe.backward(mx.nd.ones(1))
        grads.append({k: v.asnumpy() for k, v in exe.grad_dict.items()})
        if monitored:
            assert "s_backward_output" in seen and "s_output" in seen
    for k in ("x", "w"):
        np.testing.assert_allclose(grads[0][k], grads[1][k], rtol=1e-6)
    t = np.tanh(xv * wv)
    np.testing.assert_allclose(grads[0]["w"], (1 - t ** 2) * xv * xv, rtol=1e-5)


def test_debug_str_memory_total_follows_gradient_flow():
    import re

    data = mx.sym.Variable("data")
    for _ in range(4):
        data = data * data

    def total(sym, **kw):
        return int(re.search(r"Total (\d+) MB allocated", sym.simple_bind(mx.cpu(), data=(4, 256, 256), **kw)
                             .debug_str()).group(1))
    big, no_grad, stopped = total(data), total(data, grad_req="null"), total(mx.sym.stop_gradient(data))
    assert big > stopped and no_grad == stopped == 5  # five (4, 256, 256) float32 values of 1 MB each


def test_simple_bind_refuses_gradient_into_integer_indices():
    x, idx = mx.sym.Variable("x"), mx.sym.Variable("idx")
    y = mx.sym.take(x, idx)
    types = {"x": np.float32, "idx": np.int32}
    with pytest.raises(MXNetError, match="'idx' is an integer index of layer"):
        y.simple_bind(mx.cpu(), x=(3,), idx=(2,), type_dict=types)
    exe = mx.sym.stop_gradient(y).simple_bind(mx.cpu(), x=(3,), idx=(2,), type_dict=types)
    exe.forward(is_train=True)
    exe.backward()  # BlockGrad heads need no head gradient; nothing flows
    np.testing.assert_array_equal(exe.grad_dict["x"].asnumpy(), 0)
    # an integer argument that is data (not an index) may take a gradient, as through Cast
    exe = (x * idx).simple_bind(mx.cpu(), x=(3,), idx=(3,), type_dict=types)
    assert exe.grad_dict["idx"].dtype == np.int32


def test_backward_before_forward_runs_the_forward():
    x = mx.sym.Variable("x")
    exe = (x * 3).bind(mx.cpu(), args=[mx.nd.ones(2)], args_grad=[mx.nd.zeros(2)])
    exe.backward(mx.nd.array([1.0, 2.0]))  # allowed by MXNet: the gradient does not need forward values
    np.testing.assert_allclose(exe.grad_arrays[0].asnumpy(), [3.0, 6.0])


def test_get_optimized_symbol_merges_common_subexpressions(monkeypatch):
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")

    def sizes(sym, **shapes):
        monkeypatch.setenv("MXNET_ELIMINATE_COMMON_EXPR", "0")
        plain = len(sym.simple_bind(mx.cpu(), **shapes).get_optimized_symbol().get_internals())
        monkeypatch.setenv("MXNET_ELIMINATE_COMMON_EXPR", "1")
        exe = sym.simple_bind(mx.cpu(), **shapes)
        return plain, len(exe.get_optimized_symbol().get_internals()), exe

    assert sizes((a + 1) + (a + 2), a=(2,))[:2] == (4, 4)
    assert sizes((a + b) + (a + b), a=(2,), b=(2,))[:2] == (5, 4)
    d = a + 1
    plain, merged, exe = sizes(mx.sym.Group([a * d + b, a * d + b]), a=(2,), b=(2,))
    assert (plain, merged) == (7, 6)  # one add saved, one _copy added so the two outputs stay distinct
    outs = exe.forward(a=mx.nd.array([1.0, 2.0]), b=mx.nd.ones(2))
    np.testing.assert_allclose(outs[1].asnumpy(), [3.0, 7.0])
    assert sizes(mx.sym.Dropout(a) + mx.sym.Dropout(a), a=(2,))[:2] == (4, 4)  # random ops are never merged


def test_simple_forward_and_check_speed():
    from trainkit.test_utils import check_speed, simple_forward
    x = mx.sym.Variable("x")
    np.testing.assert_allclose(simple_forward(x * 2 + 1, x=np.array([1.0, 2.0])), [3.0, 5.0])
    outs = simple_forward(mx.sym.Group([x + 1, x * 3]), x=np.array([1.0]))
    assert [o.tolist() for o in outs] == [[2.0], [3.0]]
    y = mx.sym.FullyConnected(x, num_hidden=2, name="fc")
    assert check_speed(y, N=2, x=(3, 4)) > 0
    assert check_speed(y, location={"x": np.ones((3, 4)), "fc_weight": np.ones((2, 4)), "fc_bias": np.ones(2)},
                       N=2, typ="forward") > 0
    with pytest.raises(ValueError, match="typ can only be"):
        check_speed(y, N=1, typ="nope", x=(3, 4))
