"""autograd: mode scopes, grad_req semantics, backward/grad, Function, and the error catalogue."""
import threading

import numpy as np
import pytest

import trainkit as mx
from trainkit import autograd as ag, nd


def state():
    return ag.is_recording(), ag.is_training()


# ----- modes ----------------------------------------------------------------------------------------
def test_setters_return_previous_value():
    assert ag.set_recording(True) is False
    assert ag.set_recording(True) is True
    assert ag.set_recording(False) is True
    assert ag.set_training(True) is False
    assert ag.set_training(False) is True
    assert ag.set_training(False) is False


def test_scope_nesting_table():
    # behaviour.md §1.1, row by row
    assert state() == (False, False)
    with ag.record():
        assert state() == (True, True)
        with ag.pause():
            assert state() == (False, False)
            with ag.train_mode():
                assert state() == (False, True)
        with ag.predict_mode():
            assert state() == (True, False)
        with ag.pause(train_mode=True):
            assert state() == (False, True)
    with ag.record(train_mode=False):
        assert state() == (True, False)
        with ag.record():
            assert state() == (True, True)
        assert state() == (True, False)
    with ag.train_mode():
        assert state() == (False, True)
    with ag.predict_mode():
        assert state() == (False, False)
    assert state() == (False, False)


def test_scope_restores_only_what_it_changed():
    # recording was already on: a set_recording(False) inside survives the inner scope's exit (MXNet)
    with ag.record():
        with ag.record():
            ag.set_recording(False)
        assert ag.is_recording() is False
    assert state() == (False, False)


def test_scope_restores_after_exception_and_can_be_reentered():
    scope = ag.record()
    with pytest.raises(ZeroDivisionError):
        with scope:
            1 / 0
    assert state() == (False, False)
    with scope:
        assert ag.is_recording()
    assert state() == (False, False)


def test_state_is_per_thread():
    seen = []
    with ag.record():
        t = threading.Thread(target=lambda: seen.append(state()))
        t.start()
        t.join()
        assert state() == (True, True)
    assert seen == [(False, False)]


def test_dropout_follows_the_training_flag_not_recording():
    x = nd.ones((1000,))
    assert (nd.Dropout(x, p=0.5).asnumpy() == 1).all()  # predict mode: identity
    with ag.train_mode():
        y = nd.Dropout(x, p=0.5).asnumpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 300 < (y == 0).sum() < 700
    with ag.record(train_mode=False):
        assert (nd.Dropout(x, p=0.5).asnumpy() == 1).all()
    with ag.record():
        with ag.predict_mode():
            assert (nd.Dropout(x, p=0.5).asnumpy() == 1).all()
    assert set(np.unique(nd.Dropout(x, p=0.5, mode="always").asnumpy())) == {0.0, 2.0}


def test_dropout_gradient_uses_the_forward_mask():
    x = nd.ones((50,))
    x.attach_grad()
    with ag.record():
        y = nd.Dropout(x, p=0.3)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), y.asnumpy())


def test_batchnorm_train_and_predict():
    x = nd.array([[1.0, 2.0], [3.0, 5.0], [4.0, 11.0]])
    gamma, beta = nd.ones((2,)), nd.zeros((2,))
    mean, var = nd.zeros((2,)), nd.ones((2,))
    out = nd.BatchNorm(x, gamma, beta, mean, var)  # predict: moving statistics
    np.testing.assert_allclose(out.asnumpy(), x.asnumpy() / np.sqrt(1 + 1e-3), rtol=1e-6)
    assert mean.asnumpy().tolist() == [0, 0]
    x.attach_grad()
    with ag.record():
        out = nd.BatchNorm(x, gamma, beta, mean, var)
    data = x.asnumpy()
    want = (data - data.mean(0)) / np.sqrt(data.var(0) + 1e-3)
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-5)
    np.testing.assert_allclose(mean.asnumpy(), 0.1 * data.mean(0), rtol=1e-6)
    np.testing.assert_allclose(var.asnumpy(), 0.9 + 0.1 * data.var(0), rtol=1e-6)
    with ag.predict_mode():  # no update outside training
        nd.BatchNorm(x, gamma, beta, mean, var)
    np.testing.assert_allclose(mean.asnumpy(), 0.1 * data.mean(0), rtol=1e-6)


# ----- grad_req ---------------------------------------------------------------------------------------
def test_grad_req_write_add_null():
    x = nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    for _ in range(2):
        with ag.record():
            y = x * x
        y.backward()
        assert x.grad.asnumpy().tolist() == [2, 4, 6]
    x.attach_grad("add")
    for k in (1, 2, 3):
        with ag.record():
            y = 2 * x
        y.backward()
        assert x.grad.asnumpy().tolist() == [2 * k] * 3
    a, b = nd.array([1.0]), nd.array([5.0])
    a.attach_grad("null")
    b.attach_grad()
    with ag.record():
        y = a * b
    y.backward()
    assert a.grad.asnumpy().tolist() == [0] and b.grad.asnumpy().tolist() == [1]


def test_attach_grad_resets_and_unmarked_arrays_are_constants():
    x, c = nd.array([1.0, 2.0]), nd.array([3.0, 4.0])
    x.attach_grad()
    assert x.grad.asnumpy().tolist() == [0, 0] and c.grad is None
    with ag.record():
        y = x * c
    y.backward()
    assert x.grad.asnumpy().tolist() == [3, 4] and c.grad is None
    x.attach_grad()
    assert x.grad.asnumpy().tolist() == [0, 0]


def test_mark_variables_uses_the_given_buffer():
    x, gx = nd.array([2.0]), nd.array([10.0])
    ag.mark_variables(x, gx, "add")
    assert x.grad.asnumpy().tolist() == [10]
    with ag.record():
        y = x * 1
    y.backward()
    assert x.grad is gx and gx.asnumpy().tolist() == [11]
    a, b = nd.ones((2,)), nd.ones((3,))
    ga, gb = nd.zeros((2,)), nd.zeros((3,))
    ag.mark_variables([a, b], [ga, gb], ["write", "add"])
    assert a.grad is ga and b.grad is gb


def test_grad_buffer_wrappers_share_storage():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with ag.record():
        y = 3 * x
    y.backward()
    g = x.grad
    g[:] = 0
    assert x.grad.asnumpy().tolist() == [0, 0]


def test_gradients_are_never_aliased_between_variables():
    a, b = nd.array([1.0]), nd.array([2.0])
    a.attach_grad()
    b.attach_grad()
    with ag.record():
        y = a + b
    y.backward()
    a.grad[:] = 7
    assert b.grad.asnumpy().tolist() == [1]


# ----- backward -------------------------------------------------------------------------------------
def test_backward_head_grads_and_several_heads():
    x = nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with ag.record():
        y = x * x
    y.backward(nd.array([10.0, 100.0, 1000.0]))
    assert x.grad.asnumpy().tolist() == [20, 400, 6000]
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with ag.record():
        y1, y2 = 2 * x, x * x
    ag.backward([y1, y2])
    assert x.grad.asnumpy().tolist() == [4, 6]
    with ag.record():
        y1, y2 = 2 * x, x * x
    ag.backward([y1, y2], [None, nd.array([2.0, 2.0])])
    assert x.grad.asnumpy().tolist() == [6, 10]


def test_backward_on_a_leaf_and_an_alias():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    x.backward()
    assert x.grad.asnumpy().tolist() == [1, 1]
    x.attach_grad()
    with ag.record():
        y = x.copy()
    y.backward()
    assert x.grad.asnumpy().tolist() == [1, 1]


def test_retain_graph():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with ag.record():
        y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.asnumpy().tolist() == [2, 4]
    with pytest.raises(mx.MXNetError, match="retain_graph=True"):
        y.backward()


def test_pause_detach_and_ops_outside_record_are_constants():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with ag.record():
        a = 2 * x
        with ag.pause():
            b = 10 * a
        z = a + b
    z.backward()
    assert x.grad.asnumpy().tolist() == [2, 2]
    with ag.record():
        y = (2 * x).detach() * x
    y.backward()
    assert x.grad.asnumpy().tolist() == [2, 4]
    with ag.record():
        y = x * 3
    y *= 2  # outside recording: not part of the graph
    y.backward()
    assert x.grad.asnumpy().tolist() == [3, 3] and y.asnumpy().tolist() == [6, 12]


def test_backward_train_mode_flag_is_seen_inside_and_restored():
    seen = []

    class Probe(ag.Function):
        def forward(self, x):
            return x * 1

        def backward(self, dy):
            seen.append(state())
            return dy

    x = nd.ones((1,))
    x.attach_grad()
    with ag.record():
        y = Probe()(x)
    y.backward(train_mode=False)
    with ag.record():
        y = Probe()(x)
    y.backward()
    assert seen == [(False, False), (False, True)]
    assert state() == (False, False)


# ----- grad -------------------------------------------------------------------------------------------
def test_grad_returns_list_and_leaves_dot_grad_alone():
    x = nd.array([1.0, 1.0])
    x.attach_grad("add")
    for _ in range(2):
        with ag.record():
            y = 5 * x
        (g,) = ag.grad(y, x)
        assert g.asnumpy().tolist() == [5, 5]
    assert x.grad.asnumpy().tolist() == [0, 0]


def test_grad_of_grad_outside_record():
    x = nd.array([0.3, 1.2])
    x.attach_grad()
    with ag.record():
        y = nd.sin(x)
    (dy,) = ag.grad(y, [x], create_graph=True)  # the gradient is recorded even outside record()
    dy.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), -np.sin([0.3, 1.2]), rtol=1e-6)


def test_seed_grad_example_prints_like_mxnet():
    x = nd.ones((2,))
    x.attach_grad()
    with ag.record():
        z = nd.elemwise_add(nd.exp(x), x)
    dx = ag.grad(z, [x], create_graph=True)
    assert str(dx) == "[\n[3.7182817 3.7182817]\n<NDArray 2 @cpu(0)>]"
    dx[0].backward()
    assert repr(x.grad) == "\n[2.7182817 2.7182817]\n<NDArray 2 @cpu(0)>"


def test_grad_frees_graph_unless_retained():
    x = nd.array([1.0])
    x.attach_grad()
    with ag.record():
        y = x * x
    ag.grad(y, [x])
    with pytest.raises(mx.MXNetError, match="Cannot differentiate node"):
        y.backward()


# ----- Function ---------------------------------------------------------------------------------------
class Sigmoid(ag.Function):
    def forward(self, x):
        y = 1 / (1 + nd.exp(-x))
        self.save_for_backward(y)
        return y

    def backward(self, dy):
        (y,) = self.saved_tensors
        return dy * y * (1 - y)


def test_function_gradient_matches_formula():
    x = nd.array([-2, -1, 0, 0.5, 1, 3])
    x.attach_grad()
    with ag.record():
        m = Sigmoid()(x)
    m.backward()
    y = 1 / (1 + np.exp(-x.asnumpy().astype(np.float64)))
    np.testing.assert_allclose(x.grad.asnumpy(), y * (1 - y), atol=2e-8)


def test_function_several_inputs_outputs_and_unused_output_gets_zeros():
    got = []

    class SumProd(ag.Function):
        def forward(self, a, b):
            self.save_for_backward(a, b)
            return a + b, a * b

        def backward(self, dsum, dprod):
            got.append((dsum.asnumpy().tolist(), dprod.asnumpy().tolist()))
            a, b = self.saved_tensors
            return dsum + dprod * b, dsum + dprod * a

    a, b = nd.array([1.0, 2.0]), nd.array([3.0, 4.0])
    a.attach_grad()
    b.attach_grad()
    with ag.record():
        s, p = SumProd()(a, b)
    p.backward()
    assert got == [([0, 0], [1, 1])]
    assert a.grad.asnumpy().tolist() == [3, 4] and b.grad.asnumpy().tolist() == [1, 2]


def test_function_respects_grad_req_per_input():
    class Mul(ag.Function):
        def forward(self, a, b):
            self.save_for_backward(a, b)
            return a * b

        def backward(self, dy):
            a, b = self.saved_tensors
            return dy * b, dy * a

    a, b = nd.array([3.0]), nd.array([2.0])
    a.attach_grad("null")  # MXNet skips b's gradient here; trainkit does not
    b.attach_grad()
    with ag.record():
        y = Mul()(a, b)
    y.backward()
    assert b.grad.asnumpy().tolist() == [3]
    a.attach_grad("add")
    b.attach_grad("add")
    for _ in range(2):
        with ag.record():
            y = Mul()(a, b)
        y.backward()
    assert a.grad.asnumpy().tolist() == [4] and b.grad.asnumpy().tolist() == [6]


def test_function_forward_runs_with_recording_paused():
    seen = []

    class Probe(ag.Function):
        def forward(self, x):
            seen.append(state())
            return x * 2

        def backward(self, dy):
            return dy * 2

    x = nd.ones((1,))
    x.attach_grad()
    with ag.record():
        Probe()(x)
    assert seen == [(False, True)]


def test_function_errors():
    class Twice(ag.Function):
        def forward(self, x):
            return x * 2

        def backward(self, dy):
            return dy * 2

    f = Twice()
    f(nd.ones((1,)))
    with pytest.raises(mx.MXNetError, match="can only be called once"):
        f(nd.ones((1,)))

    class WrongCount(ag.Function):
        def forward(self, a, b):
            return a + b

        def backward(self, dy):
            return dy

    a, b = nd.ones((2,)), nd.ones((2,))
    a.attach_grad()
    b.attach_grad()
    with ag.record():
        y = WrongCount()(a, b)
    with pytest.raises(mx.MXNetError, match=r"WrongCount.backward must return exactly one gradient per input.*"
                                            r"expected 2, got 1"):
        y.backward()

    class WrongShape(ag.Function):
        def forward(self, a):
            return a * 2

        def backward(self, dy):
            return nd.ones((1,))

    with ag.record():
        y = WrongShape()(a)
    with pytest.raises(ValueError, match=r"shape \(1,\) for input 0, whose shape is \(2,\)"):
        y.backward()

    class NotArray(ag.Function):
        def forward(self, a):
            return a * 2

        def backward(self, dy):
            return np.float32(1)

    with ag.record():
        y = NotArray()(a)
    with pytest.raises(TypeError, match="must return NDArrays, not float32"):
        y.backward()

    class Identity(ag.Function):
        def forward(self, a):
            return a

        def backward(self, dy):
            return dy

    with ag.record():
        with pytest.raises(mx.MXNetError, match="already in the graph"):
            Identity()(a)


def test_exceptions_leave_recording_state_unchanged():
    class Boom(ag.Function):
        def forward(self, x):
            raise RuntimeError("boom in forward")

    class BoomBack(ag.Function):
        def forward(self, x):
            return x * 2

        def backward(self, dy):
            raise RuntimeError("boom in backward")

    x = nd.ones((1,))
    x.attach_grad()
    with ag.record():
        with pytest.raises(RuntimeError, match="boom in forward"):
            Boom()(x)
        assert state() == (True, True)
        y = BoomBack()(x)
    with pytest.raises(RuntimeError, match="boom in backward"):
        y.backward()
    assert state() == (False, False)
    with ag.record():
        with pytest.raises(mx.MXNetError, match="FullyConnected"):
            nd.FullyConnected(nd.ones((2, 3)), nd.ones((4, 5)), num_hidden=4, no_bias=True)
        assert state() == (True, True)
    assert state() == (False, False)


# ----- the error catalogue --------------------------------------------------------------------------
def test_backward_without_history():
    with pytest.raises(mx.MXNetError, match="Cannot differentiate node because it is not in a computational "
                                            "graph.*outside autograd.record"):
        (nd.ones((2,)) * 2).backward()
    x = nd.ones((2,))
    x.attach_grad()
    y = x * 2  # not recorded
    with pytest.raises(mx.MXNetError, match="Cannot differentiate node"):
        y.backward()


def test_no_variable_requires_gradient():
    x = nd.ones((2,))
    x.attach_grad("null")
    with ag.record():
        y = x * 2
    with pytest.raises(mx.MXNetError, match="There are no inputs in computation graph that require gradients"):
        y.backward()


def test_grad_with_respect_to_unmarked_or_unreachable():
    x, c = nd.ones((2,)), nd.ones((2,))
    x.attach_grad()
    with ag.record():
        y = x * c
    with pytest.raises(mx.MXNetError, match="the 1-th variable because it does not require gradient"):
        ag.grad(y, [c])
    other = nd.ones((2,))
    other.attach_grad()
    with pytest.raises(mx.MXNetError, match="the 2-th variable because it is unreachable from the outputs"):
        ag.grad(y, [x, other], retain_graph=True)
    with pytest.raises(ValueError, match="variables cannot be an empty list"):
        ag.grad(y, [])


def test_head_grad_errors():
    x = nd.ones((2,))
    x.attach_grad()
    with ag.record():
        y = x * 2
    with pytest.raises(ValueError, match=r"head gradient 0 has shape \(3,\) but its head has shape \(2,\)"):
        y.backward(nd.ones((3,)))
    with pytest.raises(ValueError, match="heads and head_grads must be lists of the same length"):
        ag.backward([y], [nd.ones((2,)), nd.ones((2,))])


def test_mark_variables_errors():
    with pytest.raises(ValueError, match="2 variables but 1 gradient buffers"):
        ag.mark_variables([nd.ones((1,)), nd.ones((1,))], [nd.ones((1,))])
    with pytest.raises(ValueError, match=r"gradient buffer of variable 0 has shape \(3,\)"):
        ag.mark_variables([nd.ones((2,))], [nd.ones((3,))])
    with pytest.raises(ValueError, match="Invalid grad_req 'bogus'"):
        nd.ones((1,)).attach_grad("bogus")
    with pytest.raises(TypeError, match="gradients must be one NDArray"):
        ag.mark_variables(nd.ones((1,)), [nd.ones((1,))])


def test_inplace_write_inside_record_raises():
    x = nd.ones((2,))
    x.attach_grad()
    with ag.record():
        y = x * 2
        for write in (lambda: y.__iadd__(1), lambda: y.__setitem__(slice(None), 5), lambda: x.__iadd__(1)):
            with pytest.raises(mx.MXNetError, match="Assigning to NDArrays that are already in a computational"):
                write()
        fresh = nd.zeros((2,))
        fresh[:] = 3  # not in a graph: fine
    y += 1  # outside record: fine
    assert y.asnumpy().tolist() == [3, 3]


def test_function_gradient_buffers_never_alias_user_arrays():
    kept = nd.array([5.0, 6.0])

    class ReturnsKept(ag.Function):
        def forward(self, x):
            return x * 1

        def backward(self, dy):
            return kept

    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with ag.record():
        y = ReturnsKept()(x)
    y.backward()
    x.grad[:] = 0
    assert kept.asnumpy().tolist() == [5, 6]


# ----- the recording hot path: arithmetic written out inline, raw vjps -----------------------------
def test_arithmetic_records_the_same_nodes_as_the_operators():
    from trainkit.autograd import OpNode
    x = nd.array([1.0, 2.0, 4.0])
    c = nd.array([3.0, 5.0, 7.0])
    x.attach_grad()
    with ag.record():
        ys = {"broadcast_mul": x * c, "_mul_scalar": x * 2.0, "_rminus_scalar": 1 - x, "_div_scalar": x / 4,
              "_rdiv_scalar": 2.0 / x, "broadcast_sub": x - c, "_plus_scalar": x + 3}
        constant = c * 2.0  # no input in the graph: nothing recorded
        total = ys["broadcast_mul"] + ys["_rminus_scalar"] + ys["_rdiv_scalar"]
    for name, y in ys.items():
        assert type(y._node) is OpNode and y._node.prim.name == name
    assert ys["_mul_scalar"]._node.attrs == {"scalar": 2.0} and ys["broadcast_mul"]._node.attrs == {}
    assert constant._node is None
    total.backward()
    data = x.asnumpy()
    np.testing.assert_allclose(x.grad.asnumpy(), c.asnumpy() - 1 - 2.0 / data ** 2, rtol=1e-6)
    assert '"op": "_mul_scalar"' in ag.get_symbol(ys["_mul_scalar"]).tojson()


def test_arithmetic_fast_path_keeps_the_operator_errors_and_dtype_rules():
    with pytest.raises(mx.MXNetError, match=r"Operator broadcast_mul cannot be applied to inputs of shape "
                                            r"\(2, 3\) and \(4,\)"):
        nd.ones((2, 3)) * nd.ones((4,))
    ints = nd.array([7, -7], dtype="int32")
    assert (ints / 2).asnumpy().tolist() == [3, -3] and (ints / 2).dtype == np.int32  # MXNet: truncates
    half = nd.array([1.0, 2.0], dtype="float16") * 0.5
    assert half.dtype == np.float16 and half.asnumpy().tolist() == [0.5, 1.0]
    assert (nd.array([1.0, 2.0]) * True).asnumpy().tolist() == [1.0, 2.0]  # bool: the general path
    assert (nd.array([1.0, 2.0]) * np.float32(3)).asnumpy().tolist() == [3.0, 6.0]


def _counting_square(raw_result):
    """A square primitive whose raw vjp counts its calls and returns ``raw_result(g, x)``."""
    from trainkit.ndarray.ndarray import apply
    from trainkit.ops.core import Primitive
    calls = {"raw": 0, "vjp": 0}

    def vjp(g, out, x):
        calls["vjp"] += 1
        return (g * 2 * x,)

    def raw_vjp(g, out, x, needs):
        calls["raw"] += 1
        assert needs == (True,)
        return raw_result(g, x)

    prim = Primitive("test_square", lambda x: x * x, vjp, raw_vjp=raw_vjp)
    return (lambda x: apply(prim, x)), calls


def test_backward_uses_raw_vjp_and_create_graph_the_recorded_vjp():
    square, calls = _counting_square(lambda g, x: (g * 2 * x,))
    x = nd.array([1.0, -3.0])
    x.attach_grad()
    with ag.record():
        y = square(x) * 3.0
    y.backward()
    assert calls == {"raw": 1, "vjp": 0}
    assert x.grad.asnumpy().tolist() == [6.0, -18.0]
    with ag.record():
        y = square(x)
        (g,) = ag.grad(y, [x], create_graph=True)  # the gradient must itself be recorded
    assert calls == {"raw": 1, "vjp": 1} and g._node is not None
    g.backward()
    assert x.grad.asnumpy().tolist() == [2.0, 2.0]


def test_raw_vjp_that_declines_falls_back_to_the_vjp():
    square, calls = _counting_square(lambda g, x: None)
    x = nd.array([2.0])
    x.attach_grad()
    with ag.record():
        y = square(x)
    y.backward()
    assert calls == {"raw": 1, "vjp": 1} and x.grad.asnumpy().tolist() == [4.0]


def test_fully_connected_raw_and_recorded_gradients_agree_exactly():
    rng = np.random.default_rng(0)
    x, w, b = (nd.array(rng.normal(size=s).astype(np.float32)) for s in ((4, 6), (3, 6), (3,)))
    for p in (x, w, b):
        p.attach_grad()

    def loss():
        return nd.sum(nd.relu(nd.FullyConnected(x, w, b, num_hidden=3)) * 2.0)

    with ag.record():
        by_grad = ag.grad(loss(), [x, w, b], create_graph=True)  # recorded: NDArray vjps
    with ag.record():
        out = loss()
    out.backward()  # unrecorded: raw vjps where the primitives have them
    for want, p in zip(by_grad, (x, w, b)):
        np.testing.assert_array_equal(p.grad.asnumpy(), want.asnumpy())


def test_fluent_methods_registered_later_are_found_when_used(monkeypatch):
    from trainkit.ndarray.ndarray import NDArray, _LateFluent
    assert "__getattr__" not in NDArray.__dict__  # it would slow every attribute read (see _LateFluent)
    monkeypatch.setattr(NDArray, "topk", _LateFluent("topk"))  # as if topk's module came after the install
    x = nd.array([3.0, 1.0, 2.0])
    assert x.topk(k=2).asnumpy().tolist() == [0, 2]
    assert NDArray.topk is nd.topk
    monkeypatch.setattr(NDArray, "not_an_operator", _LateFluent("not_an_operator"), raising=False)
    assert not hasattr(x, "not_an_operator")
    with pytest.raises(AttributeError, match="'NDArray' object has no attribute 'no_such_method'"):
        x.no_such_method
