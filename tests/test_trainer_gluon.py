"""trainkit.Trainer with a Gluon block as the model (trainkit.gluon.adapter.BlockModel): the same loop
and optimizer maths as a Module, Gluon's checkpoint files, exact resume, retention, divergence.
In-process and small."""
import json
from pathlib import Path

import numpy as np
import pytest

import trainkit as mx
from trainkit import Callback, Trainer, gluon, nd
from trainkit.gluon import nn
from trainkit.trainer import Diverged, Interrupted, TrainerError


def block(hidden=16, classes=3, features=6, dropout=0.0, batchnorm=False, hybridize=True):
    """The Module mlp() below as a Gluon block, with the same parameter names."""
    net = nn.HybridSequential(prefix="")
    net.add(nn.Dense(hidden, in_units=features, prefix="fc1_"))
    if batchnorm:
        net.add(nn.BatchNorm(epsilon=1e-3, in_channels=hidden, prefix="bn1_"))
    net.add(nn.Activation("relu", prefix="relu1_"))
    if dropout:
        net.add(nn.Dropout(dropout, prefix="drop1_"))
    net.add(nn.Dense(classes, in_units=hidden, prefix="fc2_"))
    if hybridize:
        net.hybridize()
    return net


def mlp(hidden=16, classes=3, dropout=0.0, batchnorm=False):
    x = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=hidden, name="fc1")
    if batchnorm:
        x = mx.sym.BatchNorm(x, fix_gamma=False, name="bn1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    if dropout:
        x = mx.sym.Dropout(x, p=dropout, name="drop1")
    return mx.sym.FullyConnected(x, num_hidden=classes, name="fc2")


def no_time(history):
    return [{k: v for k, v in h.items() if k != "time"} for h in history]


def metrics_file(folder):
    return [json.loads(line) for line in (Path(folder) / "metrics.jsonl").read_text().splitlines()]


def run(blobs, net, out=None, epochs=3, resume=None, callbacks=(), **kw):
    X, y, Xv, yv = blobs
    sched = mx.lr_scheduler.FactorScheduler(step=10, factor=0.7, base_lr=0.02)
    return Trainer(net, optimizer="adam", optimizer_params={"learning_rate": 0.02, "lr_scheduler": sched, "wd": 1e-3},
                   train_data=(X, y), val_data=(Xv, yv), epochs=epochs, batch_size=16, seed=5, out_dir=out,
                   resume=resume, callbacks=list(callbacks), **kw)


# ----- the same numbers as a Module ------------------------------------------------------------------
@pytest.mark.parametrize("hybridize", [True, False], ids=["hybridized", "imperative"])
def test_a_block_trains_to_the_numbers_of_the_same_module(blobs, hybridize):
    """Same initial weights (copied from the Module), Adam + wd + a schedule, Dropout and BatchNorm:
    every metric of every epoch and every final weight agree exactly."""
    X = blobs[0]
    mod = mx.mod.Module(mlp(dropout=0.3, batchnorm=True), label_names=None)
    mod.bind(data_shapes=[("data", (16, 6))])
    mx.random.seed(11)
    mod.init_params(mx.init.Normal(0.3))
    arg, aux = mod.get_params()
    net = block(dropout=0.3, batchnorm=True, hybridize=hybridize)
    net.initialize()
    names = {"bn1_running_mean": "bn1_moving_mean", "bn1_running_var": "bn1_moving_var"}
    for name, p in net.collect_params().items():
        p.set_data({**arg, **aux}[names.get(name, name)])
    h_mod = run(blobs, mod).fit()
    h_net = run(blobs, net).fit()
    assert no_time(h_net) == no_time(h_mod) and h_net[-1]["val_accuracy"] > 0.8
    arg, aux = mod.get_params()
    for name, p in net.collect_params().items():
        assert np.array_equal(p.data().asnumpy(), {**arg, **aux}[names.get(name, name)].asnumpy()), name
    assert np.array_equal(run(blobs, net, epochs=0).predict(X).asnumpy(), Trainer(mod).predict(X).asnumpy())


def test_same_seed_same_initial_weights_as_the_module(blobs):
    """Without copying: Trainer's initializer draws the block's weights as Module.init_params does."""
    a = run(blobs, mlp(dropout=0.2), epochs=2, initializer=mx.init.Xavier()).fit()
    b = run(blobs, block(dropout=0.2), epochs=2, initializer=mx.init.Xavier()).fit()
    assert no_time(a) == no_time(b)


def test_deferred_shapes_an_unhybridized_sequential_evaluate_and_predict(blobs):
    X, y, Xv, yv = blobs
    net = nn.Sequential()
    with net.name_scope():
        net.add(nn.Dense(16, activation="relu"), nn.Dropout(0.5), nn.Dense(3))  # in_units from the data
    tr = Trainer(net, train_data=(X, y), val_data=(Xv, yv), epochs=4, optimizer_params={"learning_rate": 0.1,
                                                                                        "momentum": 0.9})
    hist = tr.fit()
    assert tr.module is net and net[0].weight.shape == (16, 6) and hist[-1]["val_accuracy"] > 0.8
    ev = tr.evaluate((Xv, yv))  # predict mode: Dropout off, so repeatable
    assert ev == tr.evaluate((Xv, yv)) and ev["accuracy"] == pytest.approx(hist[-1]["val_accuracy"])
    scores = tr.predict(Xv)
    assert scores.shape == (len(Xv), 3) and np.mean(scores.asnumpy().argmax(1) == yv) == ev["accuracy"]
    # an initialized block keeps its weights when no initializer is given
    before = net[0].weight.data().asnumpy().copy()
    Trainer(net, train_data=(X, y), epochs=0).fit()
    assert np.array_equal(net[0].weight.data().asnumpy(), before)


def test_parameter_lr_mult_and_wd_rule(blobs):
    X, y, _, _ = blobs
    net = block()
    net.collect_params()["fc1_weight"].lr_mult = 0.0
    net.initialize(mx.init.Xavier())
    w1, b2 = (net.collect_params()[n].data().asnumpy().copy() for n in ("fc1_weight", "fc2_bias"))
    tr = Trainer(net, train_data=(X, y), epochs=1, optimizer_params={"learning_rate": 0.1, "wd": 0.5})
    tr.fit()
    assert np.array_equal(net.collect_params()["fc1_weight"].data().asnumpy(), w1)  # lr_mult 0: frozen
    assert not np.array_equal(net.collect_params()["fc2_bias"].data().asnumpy(), b2)
    assert tr.optimizer.wd_mult["fc2_bias"] == 0.0 and "fc2_weight" not in tr.optimizer.wd_mult  # biases: no wd


# ----- files ------------------------------------------------------------------------------------------
def test_run_folder_holds_gluon_checkpoints(blobs, tmp_path):
    X, y, Xv, yv = blobs
    net = block(batchnorm=True)
    tr = Trainer(net, train_data=(X, y), val_data=(Xv, yv), epochs=3, checkpoint_every=2, out_dir=tmp_path,
                 optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    hist = tr.fit()
    names = {p.name for p in tmp_path.iterdir()}
    assert {"model-0002.params", "model-0003.params", "model-0003.states", "model-export-symbol.json",
            "model-export-0002.params", "model-export-0003.params", "trainer-0003.json", "trainer-0003.state",
            "best.params", "metrics.jsonl"} <= names and "model-symbol.json" not in names
    assert metrics_file(tmp_path) == hist
    meta = json.loads((tmp_path / "trainer-0003.json").read_text())
    assert meta["model"] == "gluon" and meta["files"]["params"] == "model-0003.params"
    expected = tr.predict_logits(Xv).asnumpy()
    # save_parameters format: structural names, read by load_parameters
    saved = mx.nd.load(str(tmp_path / "model-0003.params"))
    assert set(saved) == {"0.weight", "0.bias", "1.gamma", "1.beta", "1.running_mean", "1.running_var", "3.weight",
                          "3.bias"}
    other = block(batchnorm=True)
    other.load_parameters(str(tmp_path / "model-0003.params"))
    with mx.autograd.predict_mode():
        np.testing.assert_array_equal(other(nd.array(Xv)).asnumpy(), expected)
    # export's files: SymbolBlock.imports and Module.load read them
    sb = gluon.SymbolBlock.imports(str(tmp_path / "model-export-symbol.json"), ["data"],
                                   str(tmp_path / "model-export-0003.params"))
    np.testing.assert_allclose(sb(nd.array(Xv)).asnumpy(), expected, rtol=1e-6)
    mod = mx.mod.Module.load(str(tmp_path / "model-export"), 3, label_names=None)
    mod.bind(data_shapes=[("data", (len(Xv), 6))], for_training=False)
    np.testing.assert_allclose(mod(nd.array(Xv)).asnumpy(), expected, rtol=1e-6)
    # the optimizer states, numbered as gluon.Trainer numbers collect_params()
    gt = gluon.Trainer(other.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    gt.load_states(str(tmp_path / "model-0003.states"))
    assert gt.optimizer.num_update == 3 * 6  # 180 samples in batches of 32
    # best.params: save_parameters too
    best = block(batchnorm=True)
    best.load_parameters(str(tmp_path / "best.params"))


def test_an_unhybridized_block_writes_no_export(blobs, tmp_path):
    X, y, _, _ = blobs
    Trainer(block(hybridize=False), train_data=(X, y), epochs=1, out_dir=tmp_path).fit()
    names = {p.name for p in tmp_path.iterdir()}
    assert "model-0001.params" in names and not any(n.startswith("model-export") for n in names)


def test_keep_last_prunes_gluon_checkpoints(blobs, tmp_path):
    X, y, Xv, yv = blobs
    tr = Trainer(block(), train_data=(X, y), val_data=(Xv, yv), epochs=4, checkpoint_every=1, keep_last=1,
                 out_dir=tmp_path, optimizer_params={"learning_rate": 0.1})
    tr.fit()
    kept = sorted(p.name for p in tmp_path.glob("trainer-*.json"))
    best = tr.best["epoch"]
    assert kept == sorted({f"trainer-{n:04d}.json" for n in {best, 4}})
    params = sorted(p.name for p in tmp_path.glob("model-*.params"))
    assert params == sorted({f"model-{n:04d}.params" for n in {best, 4}} |
                            {f"model-export-{n:04d}.params" for n in {best, 4}})
    assert (tmp_path / "model-export-symbol.json").is_file()


# ----- resume -----------------------------------------------------------------------------------------
def test_resume_equals_an_uninterrupted_run(blobs, tmp_path):
    full = run(blobs, block(dropout=0.3, batchnorm=True), tmp_path / "full", 4).fit()
    run(blobs, block(dropout=0.3, batchnorm=True), tmp_path / "half", 2).fit()
    resumed = run(blobs, block(dropout=0.3, batchnorm=True), tmp_path / "resumed", 4, resume=tmp_path / "half")
    assert no_time(resumed.fit()) == no_time(full)
    assert no_time(metrics_file(tmp_path / "resumed")) == no_time(metrics_file(tmp_path / "full"))
    a = mx.nd.load(str(tmp_path / "full/model-0004.params"))
    b = mx.nd.load(str(tmp_path / "resumed/model-0004.params"))
    assert set(a) == set(b) and all(np.array_equal(a[k].asnumpy(), b[k].asnumpy()) for k in a)


class StopAt(Callback):
    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, trainer, epoch, batch, loss, **kw):
        if (epoch, batch) == (self.epoch, self.batch):
            trainer.request_stop()


def test_ctrl_c_mid_epoch_then_resume_auto_is_exact(blobs, tmp_path):
    full = run(blobs, block(dropout=0.3), tmp_path / "full", 3).fit()
    with pytest.raises(Interrupted) as info:
        run(blobs, block(dropout=0.3), tmp_path / "run", 3, callbacks=[StopAt(2, 4)]).fit()
    assert info.value.checkpoint.endswith("trainer-0002.json")
    meta = json.loads((tmp_path / "run/trainer-0002.json").read_text())
    assert meta["complete"] is False and meta["batches_done"] == 5
    resumed = run(blobs, block(dropout=0.3), tmp_path / "run", 3, resume="auto").fit()
    assert no_time(resumed) == no_time(full) and no_time(metrics_file(tmp_path / "run")) == no_time(full)


def test_resume_errors(blobs, tmp_path):
    X, y, _, _ = blobs
    Trainer(mlp(8), train_data=(X, y), epochs=1, out_dir=tmp_path / "module").fit()
    with pytest.raises(TrainerError, match="holds a Module .* this run trains a Gluon block"):
        Trainer(block(8), train_data=(X, y), epochs=2, resume=tmp_path / "module").fit()
    Trainer(block(8), train_data=(X, y), epochs=1, out_dir=tmp_path / "gluon").fit()
    with pytest.raises(TrainerError, match="holds a Gluon block, but this run trains a Module"):
        Trainer(mlp(8), train_data=(X, y), epochs=2, resume=tmp_path / "gluon").fit()
    with pytest.raises(TrainerError, match=r"fc1_weight is \(8, 6\) there but \(4, 6\) in this block"):
        Trainer(block(4), train_data=(X, y), epochs=2, resume=tmp_path / "gluon").fit()


# ----- checks -----------------------------------------------------------------------------------------
def test_divergence_stops_a_block(blobs, tmp_path):
    X, y, _, _ = blobs
    tr = Trainer(block(), train_data=(X * 1e3, y), epochs=3, out_dir=tmp_path,
                 optimizer_params={"learning_rate": 50.0, "momentum": 0.9})
    with pytest.raises(Diverged, match="training diverged"):
        tr.fit()
    assert not list(tmp_path.glob("model-*.params"))


def test_data_that_does_not_fit_the_block_is_named(blobs):
    X, y, _, _ = blobs
    with pytest.raises(TrainerError, match=r"shape \(6,\) \(6 features\), which does not fit the block"):
        Trainer(block(features=64), train_data=(X, y)).fit()
    with pytest.raises(TypeError, match="Gluon block"):
        Trainer(object(), train_data=(X, y))
