"""trainkit.Trainer through its Python API: the loop, evaluation modes, optimizers' options,
callbacks, checkpoints in MXNet's format and exact resume. In-process and small."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import trainkit as mx
from trainkit import Callback, Trainer, nd
from trainkit.trainer import EarlyStopping, Interrupted, TrainerError, _epoch_order, find_checkpoint

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits():
    from trainkit.app.data import load_dataset
    return load_dataset({"name": "digits", "val_fraction": 0.2, "split_seed": 0})


def mlp(hidden=32, classes=10, dropout=0.0, batchnorm=False):
    x = mx.sym.Variable("data")
    x = mx.sym.FullyConnected(x, num_hidden=hidden, name="fc1")
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


# ----- the loop ------------------------------------------------------------------------------------
def test_fit_learns_digits_and_reports_every_epoch(digits):
    X, y, Xv, yv = digits
    tr = Trainer(mlp(64), optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9},
                 train_data=(X, y), val_data=(Xv, yv), epochs=5, batch_size=32)
    history = tr.fit()
    assert history is tr.history and [h["epoch"] for h in history] == [1, 2, 3, 4, 5]
    assert set(history[-1]) == {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "time"}
    assert history[-1]["val_accuracy"] > 0.93 and history[-1]["train_loss"] < history[0]["train_loss"]
    assert all(h["lr"] == 0.1 for h in history)
    # evaluate and predict agree with the last epoch's validation numbers
    ev = tr.evaluate((Xv, yv))
    assert ev["accuracy"] == pytest.approx(history[-1]["val_accuracy"])
    assert ev["loss"] == pytest.approx(history[-1]["val_loss"], rel=1e-6)
    scores = tr.predict(Xv)
    assert isinstance(scores, mx.nd.NDArray) and scores.shape == (len(Xv), 10)
    assert np.mean(scores.asnumpy().argmax(1) == yv) == pytest.approx(ev["accuracy"])
    assert tr.best["monitor"] == "val_accuracy" and tr.best["value"] == max(h["val_accuracy"] for h in history)


def test_same_seed_same_run_and_another_seed_differs(blobs):
    X, y, Xv, yv = blobs

    def run(seed):
        return Trainer(mlp(16, 3, dropout=0.3), train_data=(X, y), val_data=(Xv, yv), epochs=3, batch_size=16,
                       seed=seed, optimizer_params={"learning_rate": 0.1}).fit()
    assert no_time(run(7)) == no_time(run(7))
    assert no_time(run(7)) != no_time(run(8))


def test_epoch_order_is_a_pure_function_of_seed_and_epoch():
    a = _epoch_order(3, 2, 50)
    assert np.array_equal(a, _epoch_order(3, 2, 50)) and sorted(a) == list(range(50))
    assert not np.array_equal(a, _epoch_order(3, 3, 50)) and not np.array_equal(a, _epoch_order(4, 2, 50))


def test_loss_callable_per_sample_is_averaged_like_the_default(blobs):
    X, y, Xv, yv = blobs

    def nll(logits, labels):  # per-sample: the Trainer takes the batch mean
        return -nd.pick(nd.log_softmax(logits), labels)
    default = Trainer(mlp(8, 3), train_data=(X, y), epochs=2, seed=1).fit()
    custom = Trainer(mlp(8, 3), train_data=(X, y), epochs=2, seed=1, loss=nll).fit()
    assert [h["train_loss"] for h in custom] == pytest.approx([h["train_loss"] for h in default], rel=1e-4)


def test_dataiter_input_and_extra_metrics(blobs):
    X, y, Xv, yv = blobs
    it = mx.io.NDArrayIter(X, y.astype(np.float32), batch_size=32, shuffle=True, last_batch_handle="pad")
    tr = Trainer(mlp(16, 3), train_data=it, val_data=(Xv, yv), epochs=2, metrics=("accuracy", mx.metric.TopKAccuracy(top_k=2)),
                 optimizer_params={"learning_rate": 0.1})
    hist = tr.fit()
    top2 = "top_k_accuracy_2"
    assert {f"train_{top2}", f"val_{top2}", "train_accuracy"} <= set(hist[-1])
    assert hist[-1]["val_accuracy"] <= hist[-1][f"val_{top2}"] <= 1
    # padding is trimmed: evaluating the iterator counts every sample once
    ev = tr.evaluate(mx.io.NDArrayIter(Xv, yv.astype(np.float32), batch_size=25, last_batch_handle="pad"))
    assert ev["accuracy"] == pytest.approx(tr.evaluate((Xv, yv))["accuracy"])
    assert tr.predict(mx.io.NDArrayIter(Xv, batch_size=25)).shape == (len(Xv), 3)


def test_evaluation_runs_in_predict_mode(blobs):
    """Dropout is off and BatchNorm uses its moving statistics when evaluating."""
    X, y, Xv, yv = blobs
    tr = Trainer(mlp(16, 3, dropout=0.5, batchnorm=True), train_data=(X, y), epochs=2, seed=0)
    tr.fit()
    whole = tr.predict(Xv).asnumpy()
    assert np.array_equal(whole, tr.predict(Xv).asnumpy())                  # no dropout noise
    one_by_one = np.concatenate([tr.predict(Xv[i:i + 1]).asnumpy() for i in range(5)])
    np.testing.assert_allclose(one_by_one, whole[:5], rtol=1e-5, atol=1e-6)  # no batch statistics
    with mx.autograd.train_mode():
        trained = tr.module(nd.array(Xv)).asnumpy()
    assert not np.allclose(trained, whole)


# ----- optimizer options ---------------------------------------------------------------------------
def test_lr_scheduler_weight_decay_and_clipping_reach_the_optimizer(blobs):
    X, y, _, _ = blobs
    nb = -(-len(X) // 30)
    sched = mx.lr_scheduler.FactorScheduler(step=nb, factor=0.5, base_lr=0.2)
    tr = Trainer(mlp(8, 3), train_data=(X, y), epochs=3, batch_size=30,
                 optimizer_params={"learning_rate": 0.2, "lr_scheduler": sched, "wd": 0.01})
    hist = tr.fit()
    assert [h["lr"] for h in hist] == pytest.approx([0.2, 0.1, 0.05])
    opt = tr.optimizer
    assert opt.wd == 0.01 and opt.wd_mult.get("fc1_bias") == 0.0 and "fc1_weight" not in opt.wd_mult

    # with a tiny clip every element moves by at most lr * clip per update (plain SGD)
    tr = Trainer(mlp(8, 3), train_data=(X, y), epochs=1, batch_size=30,
                 optimizer_params={"learning_rate": 0.1, "clip_gradient": 1e-4})
    tr._prepare()
    before = {k: v.asnumpy() for k, v in tr.module.params.items()}
    tr.fit()
    moved = max(np.abs(v.asnumpy() - before[k]).max() for k, v in tr.module.params.items())
    assert 0 < moved <= 0.1 * 1e-4 * nb * 1.01  # (float32 rounding of the weights)


def test_optimizer_instance_gets_names_so_biases_skip_weight_decay(blobs):
    X, y, _, _ = blobs
    opt = mx.optimizer.create("adam", learning_rate=0.01, wd=0.1)
    tr = Trainer(mlp(8, 3), optimizer=opt, train_data=(X, y), epochs=1)
    tr.fit()
    assert tr.optimizer is opt and opt.wd_mult["fc2_bias"] == 0.0 and opt.num_update == 6


# ----- callbacks and early stopping ----------------------------------------------------------------
class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_fit_start(self, trainer, **kw):
        self.calls.append(("fit_start",))

    def on_epoch_start(self, trainer, epoch, **kw):
        self.calls.append(("epoch_start", epoch))

    def on_batch_end(self, trainer, epoch, batch, loss, **kw):
        assert isinstance(loss, float)
        self.calls.append(("batch", epoch, batch))

    def on_epoch_end(self, trainer, epoch, logs, **kw):
        assert logs is trainer.history[-1]
        self.calls.append(("epoch_end", epoch))

    def on_fit_end(self, trainer, history, **kw):
        self.calls.append(("fit_end", len(history)))

    def on_exception(self, trainer, exception, **kw):
        self.calls.append(("exception", type(exception).__name__))


def test_callback_hooks_in_order(blobs):
    X, y, _, _ = blobs
    rec = Recorder()
    Trainer(mlp(8, 3), train_data=(X[:50], y[:50]), epochs=2, batch_size=20, callbacks=[rec]).fit()
    assert rec.calls == [("fit_start",),
                         ("epoch_start", 1), ("batch", 1, 0), ("batch", 1, 1), ("batch", 1, 2), ("epoch_end", 1),
                         ("epoch_start", 2), ("batch", 2, 0), ("batch", 2, 1), ("batch", 2, 2), ("epoch_end", 2),
                         ("fit_end", 2)]


def test_on_exception_sees_the_error(blobs):
    X, y, _, _ = blobs
    rec = Recorder()

    def broken(logits, labels):
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        Trainer(mlp(8, 3), train_data=(X, y), loss=broken, callbacks=[rec]).fit()
    assert rec.calls[-1] == ("exception", "RuntimeError")


def test_early_stopping_rule():
    es = EarlyStopping(monitor="val_accuracy", patience=2)

    class T:
        stop_training, stop_reason = False, None
    t = T()
    for epoch, acc in enumerate([0.5, 0.6, 0.55, 0.6], 1):
        es.on_epoch_end(t, epoch=epoch, logs={"val_accuracy": acc})
    assert t.stop_training and es.best == 0.6 and "epoch 2" in t.stop_reason
    assert EarlyStopping(monitor="val_loss", patience=1)._best.mode == "min"


def test_early_stopping_stops_training_and_checkpoints(blobs, tmp_path):
    X, y, Xv, yv = blobs
    es = EarlyStopping(monitor="train_loss", patience=1, min_delta=100.0)  # nothing improves by 100
    tr = Trainer(mlp(8, 3), train_data=(X, y), val_data=(Xv, yv), epochs=10, early_stopping=es, out_dir=tmp_path)
    assert len(tr.fit()) == 2 and tr.stop_training and "early stopping" in tr.stop_reason
    assert (tmp_path / "model-0002.params").is_file() and (tmp_path / "trainer-0002.json").is_file()


def test_unknown_monitor_names_the_choices(blobs):
    X, y, _, _ = blobs
    with pytest.raises(TrainerError, match=r"'val_accuracy' is not a metric of this run \(val_\* needs val_data\)"):
        Trainer(mlp(8, 3), train_data=(X, y), early_stopping=EarlyStopping("val_accuracy", 2)).fit()


# ----- files ---------------------------------------------------------------------------------------
def test_run_folder_holds_mxnet_checkpoints_and_metrics(blobs, tmp_path):
    X, y, Xv, yv = blobs
    tr = Trainer(mlp(8, 3, batchnorm=True), train_data=(X, y), val_data=(Xv, yv), epochs=3, checkpoint_every=2,
                 out_dir=tmp_path, optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    hist = tr.fit()
    names = {p.name for p in tmp_path.iterdir()}
    assert {"model-symbol.json", "model-0002.params", "model-0003.params", "model-0002.states", "model-0003.states",
            "trainer-0002.json", "trainer-0003.json", "best.params", "metrics.jsonl", "trainkit.log"} <= names
    assert "model-0001.params" not in names
    assert metrics_file(tmp_path) == hist
    assert "epoch 3/3" in (tmp_path / "trainkit.log").read_text()
    # MXNet's loaders read the checkpoint back
    sym, args, auxs = mx.model.load_checkpoint(str(tmp_path / "model"), 3)
    assert sym.list_arguments() == ["data", "fc1_weight", "fc1_bias", "bn1_gamma", "bn1_beta", "fc2_weight",
                                    "fc2_bias"] and set(auxs) == {"bn1_moving_mean", "bn1_moving_var"}
    mod = mx.mod.Module.load(str(tmp_path / "model"), 3, load_optimizer_states=True, data_names=["data"],
                             label_names=None)
    mod.bind(data_shapes=[("data", (len(Xv), 6))], for_training=True)
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    with mx.autograd.predict_mode():
        np.testing.assert_allclose(mod(nd.array(Xv)).asnumpy(), tr.predict_logits(Xv).asnumpy(), rtol=1e-6)
    meta = json.loads((tmp_path / "trainer-0003.json").read_text())
    assert meta["epoch"] == 3 and meta["complete"] and meta["history"] == hist and meta["seed"] == 0
    # best.params is MXNet's arg:/aux: format, usable by mx.init.Load
    best = mx.nd.load(str(tmp_path / "best.params"))
    assert "arg:fc1_weight" in best and "aux:bn1_moving_var" in best
    assert mx.init.Load(str(tmp_path / "best.params")).param["fc2_bias"].shape == (3,)


def test_a_run_folder_is_never_overwritten(blobs, tmp_path):
    X, y, _, _ = blobs
    Trainer(mlp(8, 3), train_data=(X, y), epochs=1, out_dir=tmp_path).fit()
    before = (tmp_path / "metrics.jsonl").read_text()
    with pytest.raises(TrainerError, match="already holds a run .*never overwrites"):
        Trainer(mlp(8, 3), train_data=(X, y), epochs=1, out_dir=tmp_path).fit()
    assert (tmp_path / "metrics.jsonl").read_text() == before


def run_blobs(blobs, out, epochs, resume=None, callbacks=(), data=None):
    X, y, Xv, yv = blobs
    sched = mx.lr_scheduler.FactorScheduler(step=10, factor=0.7, base_lr=0.02)
    return Trainer(mlp(16, 3, dropout=0.3, batchnorm=True), optimizer="adam",
                   optimizer_params={"learning_rate": 0.02, "lr_scheduler": sched, "wd": 1e-3},
                   train_data=data if data is not None else (X, y), val_data=(Xv, yv), epochs=epochs,
                   batch_size=16, seed=5, out_dir=out, resume=resume, callbacks=list(callbacks))


def test_resume_equals_an_uninterrupted_run(blobs, tmp_path):
    """4 epochs in one go == 2 epochs, then resume to 4 (dropout, BatchNorm, Adam, a schedule)."""
    full = run_blobs(blobs, tmp_path / "full", 4).fit()
    run_blobs(blobs, tmp_path / "half", 2).fit()
    resumed = run_blobs(blobs, tmp_path / "resumed", 4, resume=tmp_path / "half")
    assert no_time(resumed.fit()) == no_time(full)
    assert no_time(metrics_file(tmp_path / "resumed")) == no_time(metrics_file(tmp_path / "full"))
    a = mx.nd.load(str(tmp_path / "full/model-0004.params"))
    b = mx.nd.load(str(tmp_path / "resumed/model-0004.params"))
    assert all(np.array_equal(a[k].asnumpy(), b[k].asnumpy()) for k in a)
    # the resumed run wrote its own folder and says where it came from; the first one is untouched
    meta = json.loads((tmp_path / "resumed/trainer-0004.json").read_text())
    assert meta["resumed_from"] == str((tmp_path / "half").resolve())
    assert sorted(p.name for p in (tmp_path / "half").glob("trainer-*.json")) == ["trainer-0002.json"]
    assert len(metrics_file(tmp_path / "half")) == 2


class StopAt(Callback):
    """Press Ctrl-C (as the SIGINT handler does) after batch `batch` of epoch `epoch`."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, trainer, epoch, batch, loss, **kw):
        if (epoch, batch) == (self.epoch, self.batch):
            trainer.request_stop()


@pytest.mark.parametrize("as_iter", [False, True], ids=["arrays", "NDArrayIter"])
def test_ctrl_c_mid_epoch_then_resume_is_exact(blobs, tmp_path, as_iter):
    def data():
        if not as_iter:
            return None
        X, y = blobs[0], blobs[1]
        return mx.io.NDArrayIter(X, y.astype(np.float32), batch_size=16, shuffle=True, last_batch_handle="discard")
    full = run_blobs(blobs, tmp_path / "full", 3, data=data()).fit()
    with pytest.raises(Interrupted) as info:
        run_blobs(blobs, tmp_path / "run", 3, callbacks=[StopAt(2, 4)], data=data()).fit()
    assert info.value.checkpoint.endswith("trainer-0002.json") and info.value.batches_done == 5
    meta = json.loads((tmp_path / "run/trainer-0002.json").read_text())
    assert meta["complete"] is False and meta["epoch"] == 1 and meta["batches_done"] == 5
    assert len(metrics_file(tmp_path / "run")) == 1
    # resume into the same folder (allowed: it is the run being continued)
    resumed = run_blobs(blobs, tmp_path / "run", 3, resume=tmp_path / "run", data=data()).fit()
    assert no_time(resumed) == no_time(full)
    assert no_time(metrics_file(tmp_path / "run")) == no_time(full)


def test_resume_errors(blobs, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrainerError, match="holds no checkpoint: no trainer-NNNN.json"):
        find_checkpoint(tmp_path / "empty")
    with pytest.raises(TrainerError, match="does not exist"):
        find_checkpoint(tmp_path / "nowhere")
    X, y, _, _ = blobs
    Trainer(mlp(8, 3), train_data=(X, y), epochs=1, out_dir=tmp_path / "a").fit()
    assert find_checkpoint(tmp_path / "a/model-0001.params").name == "trainer-0001.json"
    with pytest.raises(TrainerError, match=r"fc1_weight is \(8, 6\) there but \(4, 6\) in this model"):
        Trainer(mlp(4, 3), train_data=(X, y), epochs=2, resume=tmp_path / "a").fit()


def test_data_that_does_not_fit_the_module_is_named(blobs):
    X, y, _, _ = blobs
    mod = mx.mod.Module(mlp(8, 3), data_names=["data"], label_names=None)
    mod.bind(data_shapes=[("data", (32, 64))])
    with pytest.raises(TrainerError, match=r"shape \(6,\) \(6 features\).*\(32, 64\) \(64 features per sample\)"):
        Trainer(mod, train_data=(X, y)).fit()
    with pytest.raises(TrainerError, match="4 samples but 3 labels"):
        Trainer(mlp(8, 3), train_data=(X[:4], y[:3]))


def test_loss_heads_are_refused(blobs):
    X, y, _, _ = blobs
    head = mx.sym.SoftmaxOutput(mlp(8, 3), name="softmax")
    with pytest.raises(TrainerError, match="loss head"):
        Trainer(mx.mod.Module(head), train_data=(X, y)).fit()


# ----- config and import hygiene -------------------------------------------------------------------
def test_from_config_builds_the_configured_trainer():
    tr = Trainer.from_config(["+recipe=mlp", "trainer.epochs=1", "model.hidden=[16]", "optimizer.lr=0.05",
                              "initializer=normal", "initializer.sigma=0.1", "seed=4"])
    assert tr.epochs == 1 and tr.seed == 4 and tr.out_dir is None
    hist = tr.fit()
    assert tr.optimizer.lr == 0.05 and tr.module.params["fc1_weight"].shape == (16, 64)
    assert hist[0]["val_accuracy"] > 0.5


def test_import_trainkit_does_not_import_hydra():
    code = ("import sys, trainkit; trainkit.Trainer; trainkit.Callback; import trainkit.trainer; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('hydra', 'omegaconf')); "
            "assert not bad, bad; print('clean')")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "clean", r.stderr


def test_log_every_logs_the_running_loss(blobs, caplog):
    X, y, _, _ = blobs
    with caplog.at_level("INFO", logger="trainkit"):
        Trainer(mlp(8, 3), train_data=(X[:64], y[:64]), epochs=1, batch_size=16, log_every=2).fit()
    lines = [r.getMessage() for r in caplog.records]
    assert [l.split(":")[0] for l in lines if "batch" in l] == ["epoch 1 batch 2", "epoch 1 batch 4"]
    assert any(l.startswith("epoch 1/1: train_loss=") for l in lines)


def test_the_example_script_trains(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location("train_digits", REPO / "examples/train_digits.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    trainer = example.main(epochs=3, out_dir=tmp_path / "a")
    assert len(trainer.history) == 3 and trainer.history[-1]["val_accuracy"] > 0.9
    assert "first five predictions" in capsys.readouterr().out
    more = example.main(epochs=4, out_dir=tmp_path / "b", resume=tmp_path / "a")
    assert no_time(more.history[:3]) == no_time(trainer.history) and len(more.history) == 4


@pytest.mark.parametrize("gather_bytes", [1, 64 * 4 * 3, 1 << 22])
def test_shuffled_batches_follow_the_order_across_gathered_chunks(monkeypatch, gather_bytes):
    from trainkit import train_data
    monkeypatch.setattr(train_data, "_GATHER_BYTES", gather_bytes)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 4)), rng.integers(0, 3, 50)
    data = train_data._Arrays(X, y, "train_data")
    order = rng.permutation(50)
    ctx = mx.cpu()
    for start in (0, 5):
        got = list(data.batches(3, ctx, order, start))
        assert len(got) == 17 - start
        for b, (xb, yfb, yb) in enumerate(got, start):
            sel = order[b * 3:(b + 1) * 3]
            assert np.array_equal(xb.asnumpy(), X[sel].astype(np.float32))
            assert np.array_equal(yfb.asnumpy(), y[sel].astype(np.float32)) and np.array_equal(yb, y[sel])
