"""The optimizers beyond SGD/Adam/RMSProp/AdaGrad: two steps against real MXNet 1.9.1's results
(tests/data/optimizer_mxnet_steps.json) and against their formulas in numpy."""
import json
import math
import os
import pickle

import numpy as np
import pytest

import trainkit as mx
from trainkit import optimizer as opt
from trainkit.test_utils import compare_optimizer

W0 = np.array([[0.5, -1.0, 2.0], [0.25, -0.75, 1.5]], np.float32)
G0 = np.array([[0.1, -0.2, 0.3], [-0.4, 0.5, -0.6]], np.float32)
REF = json.load(open(os.path.join(os.path.dirname(__file__), "data", "optimizer_mxnet_steps.json")))
CASES = {
    "nag": dict(momentum=0.9, learning_rate=0.1, wd=0.01),
    "signum": dict(momentum=0.9, learning_rate=0.1, wd=0.01, wd_lh=0.02),
    "signum0": dict(momentum=0.0, learning_rate=0.1, wd=0.01),
    "ftml": dict(learning_rate=0.1, wd=0.01, clip_gradient=0.45),
    "ftrl": dict(learning_rate=0.1, wd=0.01, lamda1=0.01),
    "lamb": dict(learning_rate=0.1, wd=0.01),
    "adamax": dict(learning_rate=0.1, wd=0.01),
    "adadelta": dict(wd=0.01, rescale_grad=0.5),
    "nadam": dict(learning_rate=0.1, wd=0.01),
    "dcasgd": dict(learning_rate=0.1, wd=0.01, momentum=0.0),
    "lars": dict(learning_rate=0.1, wd=0.01, momentum=0.9),
}


def two_steps(name, **kw):
    updater = opt.get_updater(opt.create(name, **kw))
    w = mx.nd.array(W0)
    for step in range(2):
        updater(0, mx.nd.array(G0 * (step + 1)), w)
    return w.asnumpy()


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_steps_match_mxnet(case):
    got = two_steps(case.rstrip("0"), **CASES[case])
    np.testing.assert_allclose(got, np.array(REF[case], np.float32), rtol=2e-6, atol=2e-7)


def test_registry_is_mxnets():
    assert sorted(opt.Optimizer.opt_registry) == [
        "adadelta", "adagrad", "adam", "adamax", "ccsgd", "dcasgd", "ftml", "ftrl", "groupadagrad", "lamb", "lars",
        "lbsgd", "nadam", "nag", "rmsprop", "sgd", "sgld", "signum", "test"]
    for name in ("NAG", "Signum", "FTML", "Ftrl", "LAMB", "Adamax", "AdaDelta", "Nadam", "SGLD", "DCASGD", "LARS",
                 "LBSGD", "ccSGD", "Test", "NDabs", "Updater", "create", "get_updater", "register"):
        assert hasattr(mx.optimizer, name), name
    assert isinstance(opt.create("ccsgd"), opt.SGD)


def test_nag_formula_in_numpy():
    lr, mom, wd = 0.1, 0.9, 0.01
    w, m = W0.astype(np.float64), np.zeros_like(W0, np.float64)
    for step in range(2):
        g = G0 * (step + 1)
        m = mom * m
        w = w - m + (mom + 1) * (m - lr * (g + wd * w))
        m = m - lr * (g + wd * w)       # MXNet's in-place kernel reads the new weight here
    np.testing.assert_allclose(two_steps("nag", **CASES["nag"]), w, rtol=1e-5)


def test_adamax_and_adadelta_formulas_in_numpy():
    w, m, u = W0.astype(np.float64), 0 * W0, 0 * W0
    for t in (1, 2):
        g = G0 * t + 0.01 * w
        m = 0.9 * m + 0.1 * g
        u = np.maximum(0.999 * u, np.abs(g))
        w = w - 0.1 / (1 - 0.9 ** t) * m / u
    np.testing.assert_allclose(two_steps("adamax", **CASES["adamax"]), w, rtol=1e-5)
    w, acc_g, acc_d = W0.astype(np.float64), 0 * W0, 0 * W0
    for t in (1, 2):
        g = G0 * t * 0.5
        acc_g = 0.9 * acc_g + 0.1 * g * g
        delta = np.sqrt(acc_d + 1e-5) / np.sqrt(acc_g + 1e-5) * g
        acc_d = 0.9 * acc_d + 0.1 * delta * delta
        w = w - (delta + 0.01 * w)
    np.testing.assert_allclose(two_steps("adadelta", **CASES["adadelta"]), w, rtol=1e-5)


def test_signsgd_ignores_rescale_and_clip_as_mxnet():
    got = two_steps("signum", momentum=0.0, learning_rate=0.1, rescale_grad=7.0, clip_gradient=1e-9)
    w = W0.astype(np.float64)
    for _ in range(2):
        w = w - 0.1 * np.sign(G0)
    np.testing.assert_allclose(got, w, rtol=1e-6)


def test_lamb_trust_ratio_and_bounds():
    w = mx.nd.array(W0)
    lamb = opt.LAMB(learning_rate=0.1, upper_bound=0.5, bias_correction=False)
    state = lamb.create_state(0, w)
    lamb.update(0, w, mx.nd.array(G0), state)
    g = G0.astype(np.float64)
    mean, var = 0.1 * g, 0.001 * g * g
    r = mean / (np.sqrt(var) + 1e-6)
    r1 = min(np.linalg.norm(W0), 0.5)
    np.testing.assert_allclose(w.asnumpy(), W0 - 0.1 * r1 / np.linalg.norm(r) * r, rtol=1e-5)


def test_sgld_noise_follows_mx_random_seed():
    mx.random.seed(3)
    a = two_steps("sgld", learning_rate=0.01)
    mx.random.seed(3)
    b = two_steps("sgld", learning_rate=0.01)
    np.testing.assert_array_equal(a, b)
    drift = W0.astype(np.float64)
    for t in (1, 2):
        drift = drift - 0.005 * G0 * t
    assert 0 < np.abs(a - drift).max() < 0.5      # Gaussian noise of std 0.1 on top of the drift


def test_ftrl_keeps_its_own_default_learning_rate():
    assert opt.Ftrl().lr == 0.1 and opt.Ftrl(learning_rate=0.3).learning_rate == 0.3


def test_nadam_momentum_schedule_is_optimizer_wide():
    nadam = opt.Nadam()
    upd = opt.get_updater(nadam)
    upd(0, mx.nd.array(G0), mx.nd.array(W0))
    upd(1, mx.nd.array(G0), mx.nd.array(W0))
    m1 = 0.9 * (1 - 0.5 * 0.96 ** 0.004)
    assert math.isclose(nadam.m_schedule, m1 * m1)


def test_multi_precision_keeps_float32_master_copy():
    w16 = mx.nd.array(W0, dtype="float16")
    nag = opt.NAG(momentum=0.9, learning_rate=0.1, multi_precision=True)
    state = nag.create_state_multi_precision(0, w16)
    assert state[1].dtype == np.float32 and state[0].dtype == np.float32
    nag.update_multi_precision(0, w16, mx.nd.array(G0, dtype="float16"), state)
    assert w16.dtype == np.float16
    np.testing.assert_allclose(w16.asnumpy(), state[1].asnumpy().astype(np.float16))
    with pytest.warns(UserWarning, match="multi_precision=True option of the NAG optimizer"):
        opt.NAG(momentum=0.9).create_state_multi_precision(0, mx.nd.array(W0, dtype="float16"))


def test_lamb_multi_precision_and_aggregated_lists():
    lamb = opt.LAMB(multi_precision=True)
    assert lamb.aggregate_num == 45
    w16 = mx.nd.array(W0, dtype="float16")
    state = lamb.create_state_multi_precision(0, w16)
    lamb.update_multi_precision([0], [w16], [mx.nd.array(G0, dtype="float16")], [state])
    np.testing.assert_allclose(w16.asnumpy(), state[0].asnumpy().astype(np.float16))


def test_compare_optimizer_accepts_equal_optimizers_and_flags_different_ones():
    compare_optimizer(opt.NAG(momentum=0.9), opt.NAG(momentum=0.9), (3, 4), np.float32)
    compare_optimizer(opt.LAMB(), opt.LAMB(), [(2, 3), (4,)], np.float32, ntensors=2)
    with pytest.raises(AssertionError):
        compare_optimizer(opt.NAG(momentum=0.9), opt.NAG(momentum=0.5), (3, 4), np.float32)


def test_updater_states_round_trip_with_the_optimizer():
    upd = opt.get_updater(opt.FTML(learning_rate=0.05))
    w = mx.nd.array(W0)
    upd(0, mx.nd.array(G0), w)
    blob = upd.get_states(dump_optimizer=True)
    fresh = opt.get_updater(opt.SGD())
    fresh.set_states(blob)
    assert isinstance(fresh.optimizer, opt.FTML) and fresh.optimizer._index_update_count[0] == 1
    w2 = w.copy()
    upd(0, mx.nd.array(G0), w)
    fresh(0, mx.nd.array(G0), w2)
    np.testing.assert_array_equal(w.asnumpy(), w2.asnumpy())
    assert pickle.loads(upd.get_states())[0][0].shape == (2, 3)


def test_test_optimizer_adds_the_gradient_and_copies_into_the_state():
    t = opt.create("test", rescale_grad=2.0)
    w = mx.nd.array(W0)
    state = t.create_state(0, w)
    t.update(0, w, mx.nd.array(G0), state)
    np.testing.assert_allclose(w.asnumpy(), W0 + 2 * G0)
    np.testing.assert_array_equal(state.asnumpy(), w.asnumpy())


def test_lbsgd_steps_once_per_batch_scale():
    lb = opt.LBSGD(learning_rate=0.1, batch_scale=2, warmup_epochs=0)
    upd = opt.get_updater(lb)
    w = mx.nd.array(W0)
    upd(0, mx.nd.array(G0), w)
    np.testing.assert_array_equal(w.asnumpy(), W0)            # accumulating
    upd(0, mx.nd.array(3 * G0), w)
    np.testing.assert_allclose(w.asnumpy(), W0 - 0.1 * 2 * (G0 + 3 * G0) / 2, rtol=1e-6)


def test_group_adagrad_matches_mxnet():
    ga = opt.contrib.GroupAdaGrad(learning_rate=0.1, clip_gradient=0.35)
    w = mx.nd.array(W0)
    state = ga.create_state(0, w)
    for _ in range(2):
        ga.update(0, w, mx.nd.array(G0), state)
    # real MXNet 1.9.1, same inputs
    np.testing.assert_allclose(w.asnumpy(), [[0.4209830164909363, -0.8419660329818726, 1.7629491090774536],
                                             [0.4207051396369934, -0.9207051396369934, 1.6707051992416382]], rtol=1e-6)
    np.testing.assert_allclose(state.asnumpy(), [[0.09333334118127823], [0.2449999898672104]], rtol=1e-6)
    with pytest.raises(mx.base.MXNetError, match="Weight decay is not supported for GroupAdaGrad"):
        opt.contrib.GroupAdaGrad(wd=0.1).update(0, w, mx.nd.array(G0), state)
