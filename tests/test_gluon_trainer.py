"""gluon.Trainer against MXNet 1.9.1's updates, its state files, and a Gluon training loop on digits."""
import os

import numpy as np
import pytest

import trainkit as mx
from trainkit import autograd, gluon
from trainkit.datasets import load_digits
from trainkit.gluon import nn

STEPS = np.load(os.path.join(os.path.dirname(__file__), "data", "gluon", "trainer_steps.npz"))
OPTS = {"sgd": ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01}), "adam": ("adam", {"learning_rate": 0.05})}


def _fc(key):
    net = nn.Dense(2, in_units=3, prefix="fc_")
    net.initialize()
    net.weight.set_data(mx.nd.array(STEPS[f"{key}/init_weight"]))
    net.bias.set_data(mx.nd.array(STEPS[f"{key}/init_bias"]))
    net.bias.lr_mult = 0.5
    return net


def _train_step(net, trainer):
    with autograd.record():
        loss = gluon.loss.L2Loss()(net(mx.nd.array(STEPS["x"])), mx.nd.array(STEPS["y"]))
    loss.backward()
    trainer.step(4)


@pytest.mark.parametrize("key", sorted(OPTS))
def test_three_steps_match_mxnet(key):
    net = _fc(key)
    trainer = gluon.Trainer(net.collect_params(), *OPTS[key])
    for _ in range(3):
        _train_step(net, trainer)
    np.testing.assert_allclose(net.weight.data().asnumpy(), STEPS[f"{key}/weight"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.bias.data().asnumpy(), STEPS[f"{key}/bias"], rtol=1e-5, atol=1e-6)


def test_save_and_load_states_continue_exactly(tmp_path):
    net = _fc("adam")
    trainer = gluon.Trainer(net.collect_params(), *OPTS["adam"], kvstore="local")
    _train_step(net, trainer)
    trainer.save_states(str(tmp_path / "t.states"))
    saved = {k: p.data().asnumpy().copy() for k, p in net.collect_params().items()}
    for _ in range(2):
        _train_step(net, trainer)
    net2 = _fc("adam")
    for k, p in net2.collect_params().items():
        p.set_data(mx.nd.array(saved[k]))
    trainer2 = gluon.Trainer(net2.collect_params(), *OPTS["adam"])
    trainer2.load_states(str(tmp_path / "t.states"))
    for _ in range(2):
        _train_step(net2, trainer2)
    np.testing.assert_allclose(net2.weight.data().asnumpy(), STEPS["adam/weight"], rtol=1e-5, atol=1e-6)


def test_learning_rate_and_allreduce_update_split():
    net = _fc("sgd")
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01})
    assert trainer.learning_rate == 0.1
    trainer.set_learning_rate(0.1)
    for _ in range(3):
        with autograd.record():
            loss = gluon.loss.L2Loss()(net(mx.nd.array(STEPS["x"])), mx.nd.array(STEPS["y"]))
        loss.backward()
        trainer.allreduce_grads()
        trainer.update(4)
    np.testing.assert_allclose(net.weight.data().asnumpy(), STEPS["sgd/weight"], rtol=1e-5, atol=1e-6)
    trainer.set_learning_rate(0.5)
    assert trainer.learning_rate == 0.5 and trainer.optimizer.lr == 0.5


def test_stale_gradients_and_bad_arguments():
    net = nn.HybridSequential()
    net.add(nn.Dense(2, in_units=2), nn.Dense(2, in_units=2))
    net.initialize()
    trainer = gluon.Trainer(net.collect_params(), "sgd")
    with autograd.record():
        loss = net[0](mx.nd.ones((1, 2))).sum()
    loss.backward()
    with pytest.raises(UserWarning, match="has not been updated by backward since last `step`"):
        trainer.step(1)
    before = net[1].weight.data().asnumpy().copy()
    with autograd.record():
        loss = net[0](mx.nd.ones((1, 2))).sum()
    loss.backward()
    trainer.step(1, ignore_stale_grad=True)
    np.testing.assert_array_equal(net[1].weight.data().asnumpy(), before)
    with pytest.raises(ValueError, match="list or dict of Parameters"):
        gluon.Trainer(net, "sgd")
    with pytest.raises(AssertionError, match="optimizer_params must be None"):
        gluon.Trainer(net.collect_params(), mx.optimizer.SGD(), {"learning_rate": 1})


def test_grad_req_add_accumulates_until_zero_grad():
    net = nn.Dense(1, in_units=2)
    net.initialize(mx.init.One())
    net.collect_params().setattr("grad_req", "add")
    for _ in range(2):
        with autograd.record():
            y = net(mx.nd.ones((1, 2))).sum()
        y.backward()
    np.testing.assert_array_equal(net.weight.grad().asnumpy(), [[2.0, 2.0]])
    net.collect_params().zero_grad()
    np.testing.assert_array_equal(net.weight.grad().asnumpy(), [[0.0, 0.0]])


def test_gluon_training_loop_learns_digits():
    X, y = load_digits()
    X = X.astype(np.float32) / 16.0
    rng = np.random.RandomState(0)
    order = rng.permutation(len(X))
    train, test = order[:1500], order[1500:]
    mx.random.seed(0)
    np.random.seed(0)
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(64, activation="relu"), nn.Dense(10))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X[train], y[train].astype(np.float32)),
                                   batch_size=32, shuffle=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for _ in range(6):
        for data, label in loader:
            with autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
            trainer.step(data.shape[0])
    pred = net(mx.nd.array(X[test])).argmax(axis=1).asnumpy()
    assert (pred == y[test]).mean() >= 0.96


def test_copies_on_several_contexts_get_the_summed_gradient():
    x = gluon.Parameter("x", shape=(4,))
    x.initialize(ctx=[mx.cpu(0), mx.cpu(1)], init="zeros")
    trainer = gluon.Trainer([x], "sgd", {"learning_rate": 1.0, "momentum": 0.5})
    for _ in range(2):
        with autograd.record():
            for w in x.list_data():
                (w + 1).backward()
        trainer.step(1)
    for copy in x.list_data():
        np.testing.assert_array_equal(copy.asnumpy(), np.full(4, -5.0))   # -2, then -2 + (0.5 * -2 - 2)
    sparse = gluon.Parameter("s", shape=(2,), stype="row_sparse")
    sparse.initialize()
    gluon.Trainer([sparse], "sgd")
    with pytest.raises(RuntimeError, match="More than one trainers"):
        gluon.Trainer([sparse], "sgd")
    y = gluon.Parameter("y", shape=(4,))
    y.initialize(ctx=mx.cpu(0))
    with pytest.raises(ValueError, match="same set of contexts"):
        gluon.Trainer([x, y], "sgd")
