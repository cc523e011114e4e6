"""mx.optimizer: each update against its formula written out in numpy (float64), over several steps."""
import math
import pickle

import numpy as np
import pytest

import trainkit as mx
from trainkit import optimizer as opt
from trainkit.base import MXNetError

RNG = np.random.default_rng(7)
W0 = RNG.normal(size=(3, 4))
GRADS = [RNG.normal(size=(3, 4)) * s for s in (1.0, 3.0, 0.5, 2.0)]


def nd(x):
    return mx.nd.array(x)


def run(optimizer, grads=GRADS, w0=W0, index=0):
    """Apply the optimizer through an Updater; returns the float32 weights after each step."""
    updater = opt.get_updater(optimizer)
    w = nd(w0)
    out = []
    for g in grads:
        updater(index, nd(g), w)
        out.append(w.asnumpy().copy())
    return out


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


# ----- SGD ---------------------------------------------------------------------------------------
def test_sgd_plain():
    got = run(opt.SGD(learning_rate=0.1))
    w = W0.copy()
    for g, gw in zip(GRADS, got):
        w = w - 0.1 * g
        close(gw, w)


def test_sgd_momentum_wd_rescale_clip():
    lr, mom_c, wd, rescale, clip = 0.05, 0.9, 0.01, 0.5, 1.0
    got = run(opt.SGD(learning_rate=lr, momentum=mom_c, wd=wd, rescale_grad=rescale, clip_gradient=clip))
    w, mom = W0.copy(), np.zeros_like(W0)
    for g, gw in zip(GRADS, got):
        gc = np.clip(rescale * g, -clip, clip)        # clip applies to the rescaled gradient, not to wd
        mom = mom_c * mom - lr * wd * w - lr * gc
        w = w + mom
        close(gw, w)


def test_sgd_clip_gradient_zero_means_no_clipping():
    got = run(opt.SGD(learning_rate=0.1, clip_gradient=0))
    close(got[0], W0 - 0.1 * GRADS[0])


def test_module_sgd_step_from_behaviour_spec():
    # LinearRegressionOutput, zero weights, X=[[1,2,3],[4,5,6]], y=[1,2], lr 0.1, batch 2
    x, y = np.array([[1., 2, 3], [4, 5, 6]]), np.array([1., 2])
    pred = np.zeros(2)
    grad_w, grad_b = ((pred - y)[:, None] * x).sum(0, keepdims=True), np.array([(pred - y).sum()])
    o = opt.create("sgd", learning_rate=0.1, rescale_grad=0.5, param_idx2name={0: "fc_weight", 1: "fc_bias"})
    assert (o.lr, o.wd, o.momentum, o.rescale_grad) == (0.1, 0.0, 0.0, 0.5)
    updater = opt.get_updater(o)
    w, b = mx.nd.zeros((1, 3)), mx.nd.zeros((1,))
    updater([0, 1], [nd(grad_w), nd(grad_b)], [w, b])
    close(w.asnumpy(), [[0.45, 0.6, 0.75]])
    close(b.asnumpy(), [0.15])


def test_wd_mult_zero_for_non_weights_and_lr_mult():
    o = opt.SGD(learning_rate=0.1, wd=0.5, param_idx2name={0: "fc_weight", 1: "fc_bias", 2: "bn_gamma"})
    assert o.wd_mult == {"fc_bias": 0.0}
    assert [o._get_wd(i) for i in range(3)] == [0.5, 0.0, 0.5]
    o.set_lr_mult({"fc_weight": 2.0, 2: 0.5})
    assert [o._get_lr(i) for i in range(3)] == [0.2, 0.1, 0.05]
    o.set_wd_mult({1: 3.0})
    assert o._get_wd(1) == 1.5   # an index key wins over the name's default


def test_param_dict_multipliers():
    class P:
        lr_mult, wd_mult = 3.0, 0.0
    o = opt.SGD(learning_rate=0.1, wd=0.2, param_dict={0: P()})
    assert o._get_lr(0) == pytest.approx(0.3) and o._get_wd(0) == 0.0
    assert pickle.loads(pickle.dumps(o)).param_dict == {}   # Gluon Parameters are not pickled


def test_sgd_lists_and_float16_multi_precision():
    o = opt.SGD(learning_rate=0.1, momentum=0.5, multi_precision=True)
    updater = opt.get_updater(o)
    w = mx.nd.array(W0, dtype=np.float16)
    g = mx.nd.array(GRADS[0], dtype=np.float16)
    updater(0, g, w)
    mom, master = updater.states[0]
    assert master.dtype == np.float32 and w.dtype == np.float16
    want = W0.astype(np.float16).astype(np.float64) - 0.1 * GRADS[0].astype(np.float16).astype(np.float64)
    close(master.asnumpy(), want)
    np.testing.assert_array_equal(w.asnumpy(), master.asnumpy().astype(np.float16))


def test_float16_without_multi_precision_warns():
    with pytest.warns(UserWarning, match="multi_precision=True"):
        opt.get_updater(opt.Adam())(0, mx.nd.ones((2,), dtype=np.float16), mx.nd.ones((2,), dtype=np.float16))


# ----- Adam --------------------------------------------------------------------------------------
def adam_reference(grads, lr, b1, b2, eps, wd=0.0, rescale=1.0, clip=None):
    w, m, v = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    out = []
    for t, g in enumerate(grads, start=1):
        lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)   # MXNet folds bias correction into lr
        g = rescale * g + wd * w
        if clip is not None:
            g = np.clip(g, -clip, clip)                       # wd is inside the clip for Adam
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr_t * m / (np.sqrt(v) + eps)
        out.append(w)
    return out


def test_adam_defaults_and_formula():
    o = opt.create("Adam")
    assert (o.lr, o.beta1, o.beta2, o.epsilon) == (0.001, 0.9, 0.999, 1e-8)
    for gw, want in zip(run(o), adam_reference(GRADS, 0.001, 0.9, 0.999, 1e-8)):
        close(gw, want)


def test_adam_wd_rescale_clip():
    o = opt.Adam(learning_rate=0.01, beta1=0.8, beta2=0.99, epsilon=1e-6, wd=0.1, rescale_grad=0.5,
                 clip_gradient=0.7)
    for gw, want in zip(run(o), adam_reference(GRADS, 0.01, 0.8, 0.99, 1e-6, 0.1, 0.5, 0.7)):
        close(gw, want)


def test_adam_first_step_is_lr_times_sign():
    # bias correction makes the first step lr * g / (|g| + eps / sqrt(1 - beta2)) ~ lr * sign(g)
    got = run(opt.Adam(learning_rate=0.01), grads=GRADS[:1])[0]
    close(got, W0 - 0.01 * np.sign(GRADS[0]))


def test_adam_counts_steps_per_index():
    o = opt.Adam(learning_rate=0.01)
    updater = opt.get_updater(o)
    w0, w1 = nd(W0), nd(W0)
    for g in GRADS[:3]:
        updater(0, nd(g), w0)
    updater(1, nd(GRADS[0]), w1)   # index 1's first step is bias-corrected as t=1
    close(w1.asnumpy(), adam_reference(GRADS[:1], 0.01, 0.9, 0.999, 1e-8)[0])
    assert o._index_update_count == {0: 3, 1: 1} and o.num_update == 3


# ----- RMSProp -----------------------------------------------------------------------------------
def test_rmsprop_plain():
    lr, g1, eps, wd = 0.01, 0.9, 1e-8, 0.05
    got = run(opt.RMSProp(learning_rate=lr, gamma1=g1, epsilon=eps, wd=wd))
    w, n = W0.copy(), np.zeros_like(W0)
    for g, gw in zip(GRADS, got):
        g = g + wd * w
        n = (1 - g1) * g * g + g1 * n
        w = w - lr * g / np.sqrt(n + eps)          # epsilon inside the square root
        close(gw, w)


def test_rmsprop_centered_with_clip_weights():
    lr, g1, g2, eps, cw, rescale = 0.05, 0.95, 0.9, 1e-8, 1.2, 2.0
    o = opt.RMSProp(learning_rate=lr, gamma1=g1, gamma2=g2, epsilon=eps, centered=True, clip_weights=cw,
                    rescale_grad=rescale)
    got = run(o)
    w, n, m, delta = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), np.zeros_like(W0)
    for g, gw in zip(GRADS, got):
        g = rescale * g
        n = (1 - g1) * g * g + g1 * n
        m = (1 - g1) * g + g1 * m
        delta = g2 * delta - lr * g / np.sqrt(n - m * m + eps)
        w = np.clip(w + delta, -cw, cw)
        close(gw, w)
    assert np.abs(got[-1]).max() <= cw


def test_rmsprop_state_shapes():
    o = opt.RMSProp()
    assert len(o.create_state(0, nd(W0))) == 1
    assert len(opt.RMSProp(centered=True).create_state(0, nd(W0))) == 3


# ----- AdaGrad -----------------------------------------------------------------------------------
def test_adagrad():
    lr, eps, wd, clip = 0.1, 1e-7, 0.01, 2.0
    got = run(opt.AdaGrad(learning_rate=lr, eps=eps, wd=wd, clip_gradient=clip))
    w, h = W0.copy(), np.zeros_like(W0)
    for g, gw in zip(GRADS, got):
        g = np.clip(g, -clip, clip)
        h = h + g * g
        w = w - lr * (g / np.sqrt(h + eps) + wd * w)  # wd outside the adaptive scaling
        close(gw, w)


def test_adagrad_default_lr_and_eps():
    o = opt.create("adagrad")
    assert (o.lr, o.float_stable_eps) == (0.01, 1e-7)


# ----- schedules and counting -------------------------------------------------------------------
def test_lr_scheduler_drives_sgd(capsys):
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=0.3)
    o = opt.SGD(learning_rate=1.0, lr_scheduler=sched)
    assert "overwritten by ``learning_rate``" in capsys.readouterr().out   # MXNet prints this
    assert sched.base_lr == 1.0
    updater = opt.get_updater(o)
    w0, w1 = nd(W0), nd(W0)
    g = np.ones_like(W0)
    lrs = []
    for _ in range(5):
        updater(0, nd(g), w0)
        updater(1, nd(g), w1)
        lrs.append(o.learning_rate)
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]
    close(w0.asnumpy(), W0 - sum(lrs))
    np.testing.assert_array_equal(w0.asnumpy(), w1.asnumpy())
    assert o.num_update == 5


def test_scheduler_without_learning_rate_keeps_its_base_lr():
    sched = mx.lr_scheduler.CosineScheduler(max_update=4, base_lr=0.2)
    o = opt.SGD(lr_scheduler=sched)
    assert o.lr is None and o.learning_rate == pytest.approx(0.2)
    run(o, grads=GRADS[:2])
    assert o.learning_rate == pytest.approx(0.1)   # cos at update 2 of 4


def test_begin_num_update_and_set_learning_rate():
    o = opt.SGD(learning_rate=0.1, begin_num_update=10)
    run(o, grads=GRADS[:2])
    assert o.num_update == 12 and o._index_update_count == {0: 12}
    o.set_learning_rate(0.5)
    assert o.learning_rate == 0.5
    with pytest.raises(UserWarning, match="LRScheduler of the optimizer has already been defined"):
        opt.SGD(lr_scheduler=mx.lr_scheduler.FactorScheduler(step=5)).set_learning_rate(0.1)


# ----- Updater states: save, restore, resume exactly ---------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: opt.Adam(learning_rate=0.01, wd=0.01),
    lambda: opt.SGD(learning_rate=0.1, momentum=0.9,
                    lr_scheduler=mx.lr_scheduler.FactorScheduler(step=3, factor=0.5, base_lr=0.1)),
    lambda: opt.RMSProp(centered=True),
    lambda: opt.AdaGrad(),
])
def test_resume_with_dumped_optimizer_is_identical(make):
    updater = opt.get_updater(make())
    w = nd(W0)
    for g in GRADS[:2]:
        updater(0, nd(g), w)
    saved, w_saved = updater.get_states(dump_optimizer=True), w.asnumpy().copy()
    for g in GRADS[2:]:
        updater(0, nd(g), w)

    resumed = opt.get_updater(make())
    resumed.set_states(saved)
    w2 = nd(w_saved)
    for g in GRADS[2:]:
        resumed(0, nd(g), w2)
    np.testing.assert_array_equal(w2.asnumpy(), w.asnumpy())


def test_states_only_resume_for_sgd_momentum():
    # SGD's update does not depend on the step count, so the states alone continue it exactly
    updater = opt.get_updater(opt.SGD(learning_rate=0.1, momentum=0.9))
    w = nd(W0)
    updater(0, nd(GRADS[0]), w)
    saved, w_saved = updater.get_states(), w.asnumpy().copy()
    assert isinstance(pickle.loads(saved), dict)
    updater(0, nd(GRADS[1]), w)
    resumed = opt.get_updater(opt.SGD(learning_rate=0.1, momentum=0.9))
    resumed.set_states(saved)
    w2 = nd(w_saved)
    resumed(0, nd(GRADS[1]), w2)
    np.testing.assert_array_equal(w2.asnumpy(), w.asnumpy())


def test_empty_states_bytes_match_mxnet():
    assert opt.get_updater(opt.SGD()).get_states() == b"\x80\x04}\x94."


def test_set_states_errors():
    updater = opt.get_updater(opt.SGD())
    with pytest.raises(TypeError, match="bytes returned by get_states"):
        updater.set_states({0: None})
    with pytest.raises(ValueError, match="expected pickled optimizer states"):
        updater.set_states(pickle.dumps([1, 2]))


# ----- the gradient is never written ------------------------------------------------------------
@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad"])
def test_gradient_buffer_is_read_only(name):
    o = opt.create(name, learning_rate=0.1, wd=0.1, rescale_grad=0.5, clip_gradient=0.3, momentum=0.9) \
        if name == "sgd" else opt.create(name, learning_rate=0.1, wd=0.1, rescale_grad=0.5, clip_gradient=0.3)
    g = nd(GRADS[1])
    g._data.flags.writeable = False
    w = nd(W0)
    opt.get_updater(o)(0, g, w)
    np.testing.assert_array_equal(g.asnumpy(), GRADS[1].astype(np.float32))
    assert not np.allclose(w.asnumpy(), W0)


# ----- registry and errors ----------------------------------------------------------------------
def test_create_is_case_insensitive_and_registers():
    assert type(opt.create("SGD")) is opt.SGD
    assert type(mx.optimizer.create("RmsProp")) is opt.RMSProp
    assert mx.optimizer.Optimizer.create_optimizer("adagrad").__class__ is opt.AdaGrad

    @opt.register
    class MyOpt(opt.Optimizer):
        def update(self, index, weight, grad, state):
            weight[:] = weight - grad
    try:
        w = nd([1.0, 2.0])
        opt.get_updater(opt.create("myopt"))(0, nd([1.0, 1.0]), w)
        assert w.asnumpy().tolist() == [0.0, 1.0]
    finally:
        del opt.Optimizer.opt_registry["myopt"]


def test_create_errors():
    with pytest.raises(ValueError, match=r"Cannot find optimizer 'sgdd'.*adagrad, adam, adamax.*sgd, sgld"):
        opt.create("sgdd")
    with pytest.raises(TypeError, match=r"SGD got unknown argument\(s\) 'momentun'.*momentum"):
        opt.create("sgd", momentun=0.9)
    with pytest.raises(TypeError, match="name as a str"):
        opt.create(opt.SGD)


def test_update_argument_errors():
    o = opt.SGD()
    with pytest.raises(TypeError, match="expects NDArrays"):
        o.update(0, W0, nd(GRADS[0]), None)
    o = opt.SGD(param_idx2name={0: "fc_weight"})
    with pytest.raises(MXNetError, match=r"'fc_weight' has shape \(2,\) but the weight has shape \(3, 4\)"):
        opt.get_updater(o)(0, mx.nd.ones((2,)), nd(W0))
    with pytest.raises(ValueError, match="2 indices, 1 gradients"):
        opt.get_updater(o)([0, 1], [nd(W0)], [nd(W0), nd(W0)])
    with pytest.raises(TypeError, match="param_idx2name should be a dict"):
        opt.SGD(param_idx2name=["a"])


def test_update_inside_record_is_refused():
    w = nd(W0)
    w.attach_grad()
    with mx.autograd.record():
        with pytest.raises(MXNetError, match="record"):
            opt.get_updater(opt.SGD())(0, nd(GRADS[0]), w)


@pytest.mark.parametrize("n,dtypes", [(3, ("float32",)), (6, ("float32",)), (6, ("float32", "float64"))])
def test_updater_lists_equal_one_weight_at_a_time(n, dtypes):
    # one chunk, several chunks of aggregate_num (4 for SGD), and regrouping by dtype: all the same maths
    rng = np.random.default_rng(3)
    shapes = [(2, 3), (4,), (3, 1), (5,), (2, 2), (1,)][:n]
    values = [(rng.normal(size=s), rng.normal(size=s)) for s in shapes]

    def run(as_list):
        updater = opt.get_updater(opt.SGD(learning_rate=0.1, momentum=0.9, wd=0.01))
        ws = [mx.nd.array(w, dtype=dtypes[i % len(dtypes)]) for i, (w, _) in enumerate(values)]
        gs = [mx.nd.array(g, dtype=dtypes[i % len(dtypes)]) for i, (_, g) in enumerate(values)]
        for _ in range(3):
            if as_list:
                updater(list(range(n)), gs, ws)
            else:
                for i in range(n):
                    updater(i, gs[i], ws[i])
        return [w.asnumpy() for w in ws]

    for a, b in zip(run(True), run(False)):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_updater_leaves_the_callers_lists_as_they_were():
    # Module and Gluon pass their own lists every step: the Updater reads them, a bytes index (as pickled
    # states from MXNet carry) is decoded into a copy
    updater = opt.get_updater(opt.SGD(learning_rate=0.5))
    indices, w, g = [b"0"], nd(W0), nd(GRADS[0])
    grads, weights = [g], [w]
    updater(indices, grads, weights)
    assert indices == [b"0"] and grads == [g] and weights == [w]
    assert list(updater.states) == ["0"]
    np.testing.assert_allclose(w.asnumpy(), W0 - 0.5 * GRADS[0], rtol=1e-6)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_updater_refuses_numpy_arrays_on_any_step(name):
    """The first call checks each pair; later ones leave it to SGD's chunk check, while Adam's per-weight
    updates are checked by the Updater first: either way numpy arrays get a TypeError naming the type, and
    nothing changes."""
    updater = opt.get_updater(opt.create(name, learning_rate=0.1))
    ws, gs = [nd(W0), nd(W0)], [nd(GRADS[0]), nd(GRADS[0])]
    with pytest.raises(TypeError, match="expects NDArrays for grad and weight, got ndarray"):
        updater([0, 1], [gs[0], GRADS[0]], ws)
    updater([0, 1], gs, ws)
    before = [w.asnumpy() for w in ws]
    with pytest.raises(TypeError, match="expects NDArrays for (grad and weight|weight and grad), got ndarray"):
        updater([0, 1], [gs[0], GRADS[0]], ws)
    with pytest.raises(TypeError, match="expects NDArrays for (grad and weight|weight and grad), got ndarray"):
        updater([0, 1], gs, [ws[0], W0.copy()])
    assert all(np.array_equal(w.asnumpy(), b) for w, b in zip(ws, before))


def test_updater_refuses_a_bad_pair_before_updating_any_chunk():
    """Six weights are two SGD chunks of 4 and 2: a numpy gradient in the second leaves the first unchanged."""
    updater = opt.get_updater(opt.SGD(learning_rate=0.1, momentum=0.9))
    ws, gs = [nd(W0) for _ in range(6)], [nd(GRADS[0]) for _ in range(6)]
    updater(list(range(6)), gs, ws)
    before = [w.asnumpy() for w in ws]
    with pytest.raises(TypeError, match="Updater expects NDArrays for grad and weight, got ndarray"):
        updater(list(range(6)), gs[:5] + [GRADS[0]], ws)
    assert all(np.array_equal(w.asnumpy(), b) for w, b in zip(ws, before))
