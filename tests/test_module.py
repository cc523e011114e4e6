"""mx.mod.Module: the training step against numpy, parameter handling, files, errors."""
import logging
import os
import warnings

import numpy as np
import pytest

import trainkit as mx
from trainkit.base import MXNetError

DATA = os.path.join(os.path.dirname(__file__), "data")


def softmax_net(hidden=3):
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, num_hidden=hidden, name="fc")
    return mx.sym.SoftmaxOutput(fc, name="softmax")


def linreg_net():
    fc = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=1, name="fc")
    return mx.sym.LinearRegressionOutput(fc, name="lin")


def batch(x, y=None):
    return mx.io.DataBatch([mx.nd.array(x)], None if y is None else [mx.nd.array(y)])


def bound(sym=None, shape=(4, 3), label=True, **kw):
    sym = sym or softmax_net()
    mod = mx.mod.Module(sym, **kw)
    mod.bind([("data", shape)], [("softmax_label", shape[:1])] if label else None)
    return mod


def numpy_softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


# ----- the training step ----------------------------------------------------------------------
def test_linear_regression_sgd_step_matches_mxnet():
    mod = mx.mod.Module(linreg_net(), label_names=["lin_label"])
    mod.bind([("data", (2, 3))], [("lin_label", (2,))])
    mod.init_params(mx.init.Zero())
    mod.init_optimizer(optimizer_params=(("learning_rate", 0.1),))
    assert mod._optimizer.rescale_grad == 0.5
    mod.forward_backward(batch([[1, 2, 3], [4, 5, 6]], [1, 2]))
    mod.update()
    arg, aux = mod.get_params()
    np.testing.assert_allclose(arg["fc_weight"].asnumpy(), [[0.45, 0.6, 0.75]], rtol=1e-6)
    np.testing.assert_allclose(arg["fc_bias"].asnumpy(), [0.15], rtol=1e-6)
    assert aux == {}


def test_softmax_sgd_steps_match_numpy():
    rng = np.random.RandomState(0)
    X = rng.randn(4, 3).astype(np.float32)
    y = np.array([0, 2, 1, 2], np.float32)
    W = rng.randn(3, 3).astype(np.float32) * 0.1
    b = rng.randn(3).astype(np.float32) * 0.1
    lr, wd = 0.5, 0.01
    mod = bound()
    mod.init_params(arg_params={"fc_weight": W, "fc_bias": b})  # numpy values are accepted
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": lr, "wd": wd})
    for _ in range(3):
        mod.forward(batch(X, y), is_train=True)
        np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), numpy_softmax(X @ W.T + b), rtol=1e-5)
        mod.backward()
        mod.update()
        g = (numpy_softmax(X @ W.T + b) - np.eye(3)[y.astype(int)]) / 4
        W = W - lr * (g.T @ X + wd * W)        # weight decay on *_weight only, as MXNet
        b = b - lr * g.sum(0)
    arg, _ = mod.get_params()
    np.testing.assert_allclose(arg["fc_weight"].asnumpy(), W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arg["fc_bias"].asnumpy(), b, rtol=1e-5, atol=1e-6)


def test_fixed_params_are_not_updated_and_metric_updates():
    mod = bound(fixed_param_names=["fc_bias"])
    mod.init_params(mx.init.Uniform(0.5))
    mod.init_optimizer(optimizer_params=(("learning_rate", 1.0),))
    before = {k: v.copy() for k, v in mod.get_params()[0].items()}
    b = batch(np.ones((4, 3)), [0, 1, 2, 0])
    mod.forward_backward(b)
    mod.update()
    after = mod.get_params()[0]
    np.testing.assert_array_equal(after["fc_bias"].asnumpy(), before["fc_bias"].asnumpy())
    assert not np.allclose(after["fc_weight"].asnumpy(), before["fc_weight"].asnumpy())
    assert mod.params["fc_bias"].grad is None and list(mod.trainable_params) == ["fc_weight"]
    metric = mx.metric.create("acc")
    mod.update_metric(metric, b.label)
    assert metric.get()[0] == "accuracy" and metric.num_inst == 4


def test_dropout_module_drops_only_when_training():
    net = mx.sym.Dropout(mx.sym.Variable("data"), p=0.5)
    mod = mx.mod.Module(net, label_names=None)
    mod.bind([("data", (1, 200))])
    mod.init_params()
    x = batch(np.ones((1, 200)))
    mod.forward(x)  # is_train defaults to for_training=True, as in MXNet
    assert set(np.unique(mod.get_outputs()[0].asnumpy())) <= {0.0, 2.0}
    mod.forward(x, is_train=False)
    np.testing.assert_array_equal(mod.get_outputs()[0].asnumpy(), np.ones((1, 200)))
    assert not mx.autograd.is_recording() and not mx.autograd.is_training()


def test_batchnorm_module_aux_states():
    net = mx.sym.BatchNorm(mx.sym.Variable("data"), name="bn")
    mod = mx.mod.Module(net, label_names=None)
    mod.bind([("data", (4, 2))])
    mod.init_params(mx.init.Constant(5))
    arg, aux = mod.get_params()
    np.testing.assert_array_equal(arg["bn_gamma"].asnumpy(), [1, 1])  # suffix rules, as MXNet
    np.testing.assert_array_equal(aux["bn_moving_mean"].asnumpy(), [0, 0])
    np.testing.assert_array_equal(aux["bn_moving_var"].asnumpy(), [1, 1])
    x = np.array([[1, 2], [3, 4], [5, 6], [7, 8]], np.float32)
    mod.forward_backward(batch(x))
    _, aux = mod.get_params()
    np.testing.assert_allclose(aux["bn_moving_mean"].asnumpy(), 0.1 * x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(aux["bn_moving_var"].asnumpy(), 0.9 + 0.1 * x.var(0), rtol=1e-6)
    assert list(mod.params) == ["bn_gamma", "bn_beta", "bn_moving_mean", "bn_moving_var"]


# ----- calling a module ----------------------------------------------------------------------
def test_module_call_records_and_feeds_param_grads():
    rng = np.random.RandomState(3)
    X, y = rng.randn(4, 3).astype(np.float32), np.array([0, 1, 2, 1], np.float32)
    mod = bound()
    mod.init_params(mx.init.Uniform(0.3))
    mod.forward_backward(batch(X, y))
    want = {k: v.grad.asnumpy().copy() for k, v in mod.params.items()}
    with mx.autograd.record():
        out = mod(mx.nd.array(X), softmax_label=mx.nd.array(y))
    out.backward()
    for k, v in mod.params.items():
        np.testing.assert_allclose(v.grad.asnumpy(), want[k], rtol=1e-6)
    # no label: the head still predicts (labels default to zeros), any batch size
    probs = mod(X[:2])
    w, b = mod.get_params()[0]["fc_weight"].asnumpy(), mod.get_params()[0]["fc_bias"].asnumpy()
    np.testing.assert_allclose(probs.asnumpy(), numpy_softmax(X[:2] @ w.T + b), rtol=1e-5)
    assert mod.data_shapes[0].shape == (4, 3)  # calling does not rebind
    # a hand-written trainer step on module.params
    for p in mod.params.values():
        if p.grad is not None:
            p -= 0.1 * p.grad
    np.testing.assert_allclose(mod.get_params()[0]["fc_bias"].asnumpy(), b - 0.1 * want["fc_bias"], rtol=1e-6)
    with pytest.raises(TypeError, match="unexpected input"):
        mod(X, labels=y)


# ----- get/set/init params ----------------------------------------------------------------------
def test_get_params_same_dicts_in_argument_order_and_refreshed():
    mod = bound()
    mod.init_params()
    arg, aux = mod.get_params()
    assert list(arg) == ["fc_weight", "fc_bias"]
    held = arg["fc_weight"]
    mod.init_optimizer(optimizer_params=(("learning_rate", 1.0),))
    mod.forward_backward(batch(np.ones((4, 3)), [0, 1, 2, 0]))
    mod.update()
    arg2, aux2 = mod.get_params()
    assert arg2 is arg and aux2 is aux
    np.testing.assert_array_equal(held.asnumpy(), mod.params["fc_weight"].asnumpy())
    assert held is not mod.params["fc_weight"]  # CPU copies, not the live arrays


def test_init_params_already_initialized_warns_and_force_init():
    mod = bound()
    mod.init_params(mx.init.Zero())
    with pytest.warns(UserWarning, match="Parameters already initialized and force_init=False. init_params call "
                                         "ignored."):
        mod.init_params(mx.init.One())
    assert mod.get_params()[0]["fc_weight"].asnumpy().sum() == 0
    mod.init_params(mx.init.One(), force_init=True)
    assert mod.get_params()[0]["fc_weight"].asnumpy().sum() == 9


def test_init_params_missing_extra_and_shapes():
    mod = bound()
    w = np.full((3, 3), 2.0, np.float32)
    with pytest.raises(MXNetError, match=r"fc_bias is not presented.*allow_missing"):
        mod.init_params(arg_params={"fc_weight": w})
    assert not mod.params_initialized
    mod.init_params(mx.init.One(), arg_params={"fc_weight": w}, allow_missing=True)
    arg = mod.get_params()[0]
    np.testing.assert_array_equal(arg["fc_weight"].asnumpy(), w)
    np.testing.assert_array_equal(arg["fc_bias"].asnumpy(), [0, 0, 0])  # One() writes 0 into biases (MXNet)
    extra = {"fc_weight": w, "fc_bias": np.zeros(3), "other_weight": np.zeros(2)}
    with pytest.raises(MXNetError, match=r"\['other_weight'\].*allow_extra=True"):
        mod.init_params(arg_params=extra, force_init=True)
    mod.init_params(arg_params=extra, force_init=True, allow_extra=True)
    with pytest.raises(MXNetError, match=r"fc_weight.*\(3, 2\).*\(3, 3\)"):
        mod.init_params(arg_params={"fc_weight": np.zeros((3, 2)), "fc_bias": np.zeros(3)}, force_init=True)


def test_init_params_is_atomic():
    mod = bound()
    mod.init_params(mx.init.One())
    before = mod.get_params()[0]["fc_weight"].asnumpy()
    bad = mx.init.Mixed(["nomatch"], [mx.init.Zero()])  # raises for every parameter
    with pytest.raises(Exception):
        mod.init_params(bad, force_init=True)
    with pytest.raises(MXNetError):
        mod.init_params(arg_params={"fc_weight": np.zeros((3, 3)), "fc_bias": np.zeros(4)}, force_init=True)
    np.testing.assert_array_equal(mod.get_params()[0]["fc_weight"].asnumpy(), before)


def test_init_params_sorted_order_descs_and_string_initializer():
    seen = []

    def record(desc, arr):
        seen.append((str(desc), dict(desc.attrs)))
        arr[:] = 1
    mod = bound()
    mod.init_params(record)
    assert seen == [("fc_bias", {"num_hidden": "3"}), ("fc_weight", {"num_hidden": "3"})]
    mod.init_params("zeros", force_init=True)
    assert mod.get_params()[0]["fc_weight"].asnumpy().sum() == 0


def test_set_params():
    mod = bound()
    mod.init_params()
    mod.set_params({"fc_weight": mx.nd.ones((3, 3)), "fc_bias": mx.nd.ones(3)}, {})
    assert mod.params["fc_bias"].asnumpy().tolist() == [1, 1, 1]
    mod.set_params({"fc_bias": np.full(3, 2.0)}, None, allow_missing=True)
    assert mod.params["fc_bias"].asnumpy().tolist() == [2, 2, 2]
    assert mod.params["fc_weight"].asnumpy().sum() == 9
    with pytest.warns(UserWarning, match="set_params call ignored"):
        mod.set_params({"fc_bias": np.zeros(3)}, None, allow_missing=True, force_init=False)


# ----- errors ------------------------------------------------------------------------------------
def test_calls_out_of_order():
    mod = mx.mod.Module(softmax_net())
    with pytest.raises(AssertionError, match="call bind before initializing the parameters"):
        mod.init_params()
    with pytest.raises(MXNetError, match="not initialized"):
        mod.get_params()
    mod.bind([("data", (4, 3))], [("softmax_label", (4,))], for_training=False)
    with pytest.raises(MXNetError, match="not initialized"):
        mod.get_params()
    mod.init_params()
    with pytest.raises(MXNetError, match="init_optimizer"):
        mod.update()
    mod.forward(batch(np.ones((4, 3))))
    with pytest.raises(AssertionError, match="re-bind with for_training=True to run backward"):
        mod.backward()


def test_data_names_not_in_symbol():
    with pytest.raises(ValueError) as e:
        mx.mod.Module(softmax_net(), data_names=["x"])
    assert str(e.value) == ("You created Module with Module(..., data_names=['x']) but input with name 'x' is not "
                            "found in symbol.list_arguments(). Did you mean one of:\n\tdata\n\tsoftmax_label")
    assert "\x1b" not in str(e.value)
    with pytest.warns(UserWarning, match="label_names=\\['softmax_label'\\]"):
        mx.mod.Module(linreg_net())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mx.mod.Module(linreg_net(), label_names=["lin_label"])


def test_bind_checks_names_and_warns_when_bound_twice(caplog):
    mod = mx.mod.Module(softmax_net())
    with pytest.raises(ValueError, match="don't match names specified by data_names"):
        mod.bind([("x", (4, 3))])
    mod.bind([("data", (4, 3))], [("softmax_label", (4,))])
    with caplog.at_level(logging.WARNING):
        mod.bind([("data", (4, 3))], [("softmax_label", (4,))])
    assert "Already bound, ignoring bind()" in caplog.text
    assert mod.output_shapes == [("softmax_output", (4, 3))]
    assert repr(mod.data_shapes[0]) == "DataDesc[data,(4, 3),<class 'numpy.float32'>,NCHW]"


def test_forward_with_a_batch_that_does_not_fit_changes_nothing():
    mod = bound()
    mod.init_params()
    with pytest.raises(MXNetError, match=r"fc.*\(3, 3\).*\(3, 5\)"):
        mod.forward(batch(np.ones((4, 5)), np.zeros(4)))
    assert mod.data_shapes[0].shape == (4, 3)
    mod.forward(batch(np.ones((4, 3)), np.zeros(4)))
    assert mod.get_outputs()[0].shape == (4, 3)
    # a new batch size is fine, with or without labels
    mod.forward(batch(np.ones((7, 3))), is_train=False)
    assert mod.get_outputs()[0].shape == (7, 3) and mod.data_shapes[0].shape == (7, 3)
    assert mod.output_shapes == [("softmax_output", (7, 3))]
    mod.forward_backward(batch(np.ones((2, 3)), [0, 1]))
    mod.forward(batch(np.ones((4, 3)), [0, 1, 2, 0]))
    assert mod.get_outputs()[0].shape == (4, 3)
    with pytest.raises(MXNetError, match="label 'softmax_label' has shape"):
        mod.forward(batch(np.ones((4, 3)), [0, 1]))


# ----- fit / score / predict ---------------------------------------------------------------------
def toy_data(n=40, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, 3).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32) + (x[:, 1] > 0)
    return x, y


def test_fit_logs_and_callbacks(caplog):
    x, y = toy_data()
    train = mx.io.NDArrayIter(x, y, batch_size=10)
    epochs, batches = [], []
    mod = mx.mod.Module(softmax_net())
    with caplog.at_level(logging.INFO):
        mod.fit(train, eval_data=train, num_epoch=2, optimizer_params={"learning_rate": 0.5},
                initializer=mx.init.Xavier(), epoch_end_callback=lambda e, s, a, b: epochs.append((e, sorted(a))),
                batch_end_callback=lambda p: batches.append((p.epoch, p.nbatch)))
    text = caplog.text
    for line in ("Epoch[0] Train-accuracy=", "Epoch[0] Time cost=", "Epoch[0] Validation-accuracy=",
                 "Epoch[1] Train-accuracy="):
        assert line in text
    assert epochs == [(0, ["fc_bias", "fc_weight"]), (1, ["fc_bias", "fc_weight"])]
    assert batches[:4] == [(0, 0), (0, 1), (0, 2), (0, 3)] and len(batches) == 8
    (name, acc), = mod.score(train, "acc")
    assert name == "accuracy" and acc > 0.4
    with pytest.raises(AssertionError, match="please specify number of epochs"):
        mod.fit(train)


def test_predict_trims_padding_and_output_forms():
    x, y = toy_data(7)
    mod = bound(shape=(5, 3))
    mod.init_params()
    it = mx.io.NDArrayIter(x, y, batch_size=5)
    out = mod.predict(it)
    assert isinstance(out, mx.nd.NDArray) and out.shape == (7, 3)
    assert [o.shape for o in mod.predict(it, always_output_list=True)] == [(7, 3)]
    per_batch = mod.predict(it, merge_batches=False)
    assert [[o.shape for o in b] for b in per_batch] == [[(5, 3)], [(2, 3)]]
    np.testing.assert_allclose(mod.predict(x).asnumpy(), out.asnumpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="eval_data must be of type NDArray or DataIter"):
        mod.predict([1, 2, 3])


# ----- files ------------------------------------------------------------------------------------
def test_mxnet_checkpoint_loads_and_predicts():
    ref = np.load(os.path.join(DATA, "mlp_inputs_and_predictions.npz"))
    mod = mx.mod.Module.load(os.path.join(DATA, "mlp"), 3)
    assert mod.params_initialized and not mod.binded
    mod.bind(data_shapes=[("data", ref["x"].shape)], label_shapes=[("softmax_label", ref["y"].shape)],
             for_training=False)
    pred = mod.predict(mx.io.NDArrayIter(ref["x"], ref["y"], batch_size=16))
    np.testing.assert_allclose(pred.asnumpy(), ref["predictions"], atol=1e-6)
    assert list(mod.get_params()[0]) == ["fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"]


def test_checkpoint_round_trip(tmp_path):
    x, y = toy_data()
    mod = mx.mod.Module(softmax_net())
    mod.fit(mx.io.NDArrayIter(x, y, batch_size=10), num_epoch=1,
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    prefix = str(tmp_path / "toy")
    mod.save_checkpoint(prefix, 3, save_optimizer_states=True)
    for suffix in ("-symbol.json", "-0003.params", "-0003.states"):
        assert os.path.exists(prefix + suffix)
    sym, arg, aux = mx.model.load_checkpoint(prefix, 3)
    assert sym.tojson() == softmax_net().tojson() and sorted(arg) == ["fc_bias", "fc_weight"]
    raw = mx.nd.load(prefix + "-0003.params")
    assert sorted(raw) == ["arg:fc_bias", "arg:fc_weight"]
    back = mx.mod.Module.load(prefix, 3, load_optimizer_states=True)
    back.bind([("data", (10, 3))], [("softmax_label", (10,))])
    np.testing.assert_allclose(back.predict(x).asnumpy(), mod.predict(x).asnumpy(), rtol=1e-6)
    back.init_optimizer(optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    assert back._updater.states.keys() == mod._updater.states.keys()
    mx.model.save_checkpoint(prefix + "2", 1, sym, arg, aux)
    assert mx.model.load_checkpoint(prefix + "2", 1)[1].keys() == arg.keys()


def test_save_and_load_params(tmp_path):
    mod = bound()
    mod.init_params(mx.init.Uniform(1))
    path = str(tmp_path / "p.params")
    mod.save_params(path)
    other = bound()
    other.load_params(path)
    np.testing.assert_array_equal(other.get_params()[0]["fc_weight"].asnumpy(),
                                  mod.get_params()[0]["fc_weight"].asnumpy())
    mx.nd.save(path, {"bad:fc_weight": mx.nd.ones((3, 3))})
    with pytest.raises(ValueError, match="Invalid param file"):
        other.load_params(path)


def test_checkpoint_that_does_not_fit_the_symbol(tmp_path):
    prefix = str(tmp_path / "m")
    softmax_net(hidden=3).save(prefix + "-symbol.json")
    mx.nd.save(prefix + "-0001.params", {"arg:fc_weight": mx.nd.ones((3, 3)), "arg:other": mx.nd.ones(2)})
    with pytest.raises(MXNetError, match=r"lacks arg parameters \['fc_bias'\].*\['other'\]"):
        mx.mod.Module.load(prefix, 1)
    mx.nd.save(prefix + "-0002.params", {"arg:fc_weight": mx.nd.ones((3, 4)), "arg:fc_bias": mx.nd.ones(3)})
    mod = mx.mod.Module.load(prefix, 2)
    with pytest.raises(MXNetError, match=r"'fc_weight' has shape \(3, 4\) but the symbol needs \(3, 3\)"):
        mod.bind([("data", (2, 3))], [("softmax_label", (2,))])
    assert not mod.binded


def test_set_params_error_types_and_shape_type_check():
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=2, name="fc")
    mod = mx.mod.Module(net, label_names=None)
    with pytest.raises(TypeError, match="tuple of ints"):
        mod.bind(data_shapes=[("data", mx.nd.array([10, 10]))])
    mod.bind(data_shapes=[("data", (1, 3))])
    good = {"fc_weight": mx.nd.ones((2, 3)), "fc_bias": mx.nd.zeros(2)}
    mod.set_params(good, {})
    with pytest.raises(RuntimeError, match="fc_bias is not presented"):  # missing first, as MXNet
        mod.set_params({"fc_weight": mx.nd.ones((2, 3)), "zz": mx.nd.ones(1)}, {})
    with pytest.raises(ValueError, match="not parameters of this module"):
        mod.set_params(dict(good, zz=mx.nd.ones(1)), {}, allow_missing=True)
    mod.set_params(dict(good, zz=mx.nd.ones(1)), {}, allow_missing=True, allow_extra=True)
    # BaseModule.set_params is init_params(initializer=None, ...)
    mx.mod.BaseModule.set_params(mod, good, {})
    assert mod._exec_group.param_names == ["fc_weight", "fc_bias"]
    np.testing.assert_array_equal(mod._exec_group.execs[0].arg_dict["fc_weight"].asnumpy(), np.ones((2, 3)))


def test_init_optimizer_takes_a_kvstore_and_updates_the_same():
    rng = np.random.RandomState(0)
    x, y = rng.rand(6, 3).astype(np.float32), rng.rand(6, 2).astype(np.float32)
    net = mx.sym.LinearRegressionOutput(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc"),
                                        name="lro")
    results = []
    for kv in (None, "local", mx.kv.create("device")):
        mod = mx.mod.Module(net, label_names=["lro_label"])
        mod.bind([("data", (6, 3))], [("lro_label", (6, 2))])
        mod.init_params(mx.init.Constant(0.1))
        mod.init_optimizer(kvstore=kv, optimizer="sgd", optimizer_params={"learning_rate": 0.5, "momentum": 0.9})
        for _ in range(2):
            mod.forward_backward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
            mod.update()
        results.append(mod.get_params()[0]["fc_weight"].asnumpy())
        if kv is not None:
            assert mod._kvstore._updater is mod._updater  # optimizer states live in one place
            assert mod._kvstore.type == (kv if isinstance(kv, str) else "device")
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])
    with pytest.raises(TypeError, match="kvstore must be"):
        mod.init_optimizer(kvstore=3, force_init=True)
    outs = mod.get_outputs(merge_multi_context=False)
    assert len(outs) == 1 and len(outs[0]) == 1 and outs[0][0].shape == (6, 2)


def test_fit_drives_the_monitor(caplog):
    x = np.random.RandomState(1).rand(4, 3).astype(np.float32)
    it = mx.io.NDArrayIter(x, np.zeros((4, 2), np.float32), batch_size=2, label_name="lro_label")
    net = mx.sym.LinearRegressionOutput(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc"),
                                        name="lro")
    mod = mx.mod.Module(net, label_names=["lro_label"])
    mon = mx.mon.Monitor(1, pattern="fc_output")
    with caplog.at_level(logging.INFO):
        mod.fit(it, num_epoch=1, monitor=mon, eval_metric="mse")
    assert caplog.text.count("fc_output") == 2  # one line per batch


def test_contrib_amp_imports_and_says_it_is_unsupported():
    from trainkit.contrib.amp import amp
    with pytest.raises(MXNetError, match="automatic mixed precision is not supported"):
        amp.init()


def test_executor_group_name_exists_for_imports():
    from trainkit.module.executor_group import DataParallelExecutorGroup
    with pytest.raises(MXNetError, match="one device"):
        DataParallelExecutorGroup(symbol=None, contexts=[mx.cpu()])


def test_prelu_slope_starts_at_a_quarter_unless_its_variable_says_otherwise():
    # MXNet gives an auto-created prelu gamma the attribute __init__='["Constant", {"value": 0.25}]'
    net = mx.sym.LeakyReLU(mx.sym.Variable("data"), act_type="prelu", name="act")
    assert net.get_internals()["act_gamma"].attr("__init__") == '["Constant", {"value": 0.25}]'
    mod = mx.mod.Module(net, label_names=None)
    mod.bind(data_shapes=[("data", (4, 3))])
    mod.init_params(mx.init.Xavier())
    np.testing.assert_array_equal(mod.get_params()[0]["act_gamma"].asnumpy(), np.full(3, 0.25, np.float32))
    own = mx.sym.LeakyReLU(mx.sym.Variable("data"), mx.sym.Variable("g", init=mx.init.One()), act_type="prelu")
    mod = mx.mod.Module(own, label_names=None)
    mod.bind(data_shapes=[("data", (4, 3))])
    mod.init_params()
    np.testing.assert_array_equal(mod.get_params()[0]["g"].asnumpy(), np.ones(3, np.float32))
