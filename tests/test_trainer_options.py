"""Trainer options around the loop: limit_batches, clip_global_norm, the learning-rate log."""
import json
import logging

import numpy as np
import pytest

import trainkit as mx
from trainkit import Callback, Trainer
from trainkit.trainer import Interrupted, _epoch_order


def mlp(hidden=8, classes=3, dropout=0.0):
    x = mx.sym.Variable("data")
    x = mx.sym.FullyConnected(x, num_hidden=hidden, name="fc1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    if dropout:
        x = mx.sym.Dropout(x, p=dropout, name="drop1")
    return mx.sym.FullyConnected(x, num_hidden=classes, name="fc2")


def no_time(history):
    return [{k: v for k, v in h.items() if k != "time"} for h in history]


def params(trainer):
    return {k: v.asnumpy() for k, v in trainer.module.params.items()}


class Batches(Callback):
    def __init__(self):
        self.seen = []

    def on_batch_end(self, trainer, epoch, batch, loss, **kw):
        self.seen.append((epoch, batch))


class StopAt(Callback):
    def __init__(self, epoch, batch):
        self.at = (epoch, batch)

    def on_batch_end(self, trainer, epoch, batch, loss, **kw):
        if (epoch, batch) == self.at:
            trainer.request_stop()


# ----- limit_batches ---------------------------------------------------------------------------------
def test_limit_batches_caps_training_and_evaluation(blobs):
    X, y, Xv, yv = blobs
    seen = Batches()
    tr = Trainer(mlp(), train_data=(X, y), val_data=(Xv, yv), epochs=2, batch_size=16, eval_batch_size=10,
                 limit_batches=2, callbacks=[seen])
    hist = tr.fit()
    assert seen.seen == [(1, 0), (1, 1), (2, 0), (2, 1)] and tr.optimizer.num_update == 4
    # validation and evaluate() read the first 2 batches of 10: the first 20 samples
    capped = tr.evaluate((Xv, yv))
    assert capped["loss"] == pytest.approx(hist[-1]["val_loss"], rel=1e-6)
    tr.limit_batches = None
    first20 = tr.evaluate((Xv[:20], yv[:20]))
    assert capped == pytest.approx(first20) and tr.evaluate((Xv, yv))["loss"] != pytest.approx(first20["loss"])


def test_limit_batches_trains_on_the_head_of_the_epoch_order(blobs):
    """Epoch 1 with limit_batches=2 sees the first 32 samples of the full epoch's permutation."""
    X, y, _, _ = blobs
    limited = Trainer(mlp(), train_data=(X, y), epochs=1, batch_size=16, seed=3, limit_batches=2)
    limited.fit()
    head = _epoch_order(3, 1, len(X))[:32]
    by_hand = Trainer(mlp(), train_data=(X[head], y[head]), epochs=1, batch_size=16, seed=3, shuffle=False)
    by_hand.fit()
    a, b = params(limited), params(by_hand)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_limit_batches_with_a_dataiter_and_mid_epoch_resume(blobs, tmp_path):
    X, y, Xv, yv = blobs

    def run(out, **kw):
        it = mx.io.NDArrayIter(X, y.astype(np.float32), batch_size=16, shuffle=True, last_batch_handle="discard")
        return Trainer(mlp(dropout=0.3), train_data=it, val_data=(Xv, yv), epochs=3, batch_size=16, seed=2,
                       limit_batches=3, out_dir=out, optimizer="adam", **kw)
    full = run(tmp_path / "full").fit()
    assert len(full) == 3
    with pytest.raises(Interrupted) as info:
        run(tmp_path / "run", callbacks=[StopAt(2, 1)]).fit()
    assert info.value.batches_done == 2
    resumed = run(tmp_path / "run", resume=tmp_path / "run").fit()
    assert no_time(resumed) == no_time(full)
    meta = json.loads((tmp_path / "run/trainer-0003.json").read_text())
    assert meta["complete"] and meta["epoch"] == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_limit_batches_is_checked(blobs, bad):
    X, y, _, _ = blobs
    with pytest.raises(ValueError, match=r"limit_batches must be None \(every batch\) or an int >= 1"):
        Trainer(mlp(), train_data=(X, y), limit_batches=bad)


# ----- clip_global_norm ------------------------------------------------------------------------------
class GradNorms(Callback):
    """The global norm of the gradients the optimizer received (still in weight.grad after the update)."""

    def __init__(self):
        self.after, self.before = [], []

    def on_batch_end(self, trainer, epoch, batch, loss, **kw):
        total = sum(float(np.sum(w.grad.asnumpy().astype(np.float64) ** 2)) for w in trainer._weights)
        self.after.append(total ** 0.5)
        self.before.append(trainer.grad_norm)


def test_clip_global_norm_bounds_the_gradients(blobs):
    X, y, _, _ = blobs
    norms = GradNorms()
    Trainer(mlp(), train_data=(X, y), epochs=1, batch_size=30, clip_global_norm=0.05, callbacks=[norms],
            optimizer_params={"learning_rate": 0.1}).fit()
    assert len(norms.after) == 6 and all(b > 0.05 for b in norms.before)  # every batch needed clipping
    np.testing.assert_allclose(norms.after, 0.05, rtol=1e-5)
    # a bound above every norm changes nothing
    loose = GradNorms()
    Trainer(mlp(), train_data=(X, y), epochs=1, batch_size=30, clip_global_norm=1e6, callbacks=[loose]).fit()
    np.testing.assert_allclose(loose.after, loose.before, rtol=1e-6)


def test_clip_global_norm_equals_a_hand_rolled_update(blobs):
    X, y, _, _ = blobs
    lr, max_norm, bs = 0.5, 0.1, 30
    tr = Trainer(mlp(), train_data=(X, y), epochs=2, batch_size=bs, shuffle=False, seed=4, clip_global_norm=max_norm,
                 optimizer_params={"learning_rate": lr})
    tr.fit()

    ref = Trainer(mlp(), train_data=(X, y), epochs=0, batch_size=bs, seed=4)
    ref._prepare()   # the same initial weights; the loop below is plain SGD with the clip written out
    for _ in range(2):
        for i in range(0, len(X), bs):
            with mx.autograd.record():
                loss = ref.loss_fn(ref.model.forward(mx.nd.array(X[i:i + bs])), mx.nd.array(y[i:i + bs]))
            loss.backward()
            grads = [w.grad.asnumpy().astype(np.float64) for w in ref._weights]
            norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
            scale = min(1.0, max_norm / (norm + 1e-8))
            for w, g in zip(ref._weights, grads):
                w[:] = w.asnumpy() - lr * (g * scale).astype(np.float32)
    a, b = params(tr), params(ref)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6)
    plain = Trainer(mlp(), train_data=(X, y), epochs=2, batch_size=bs, shuffle=False, seed=4,
                    optimizer_params={"learning_rate": lr})
    plain.fit()
    assert not np.allclose(params(plain)["fc1_weight"], a["fc1_weight"], atol=1e-4)  # the clip mattered


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), True, "1"])
def test_clip_global_norm_is_checked(blobs, bad):
    X, y, _, _ = blobs
    with pytest.raises(ValueError, match="clip_global_norm must be None .no clipping. or a positive number"):
        Trainer(mlp(), train_data=(X, y), clip_global_norm=bad)


def test_a_non_finite_gradient_norm_is_left_to_the_divergence_guard(blobs):
    X, y, _, _ = blobs
    Xbad = X.copy()
    Xbad[5, 0] = np.inf
    with pytest.raises(mx.trainer.Diverged, match="epoch 1, batch 0 is nan"):
        Trainer(mlp(), train_data=(Xbad, y), epochs=1, batch_size=30, shuffle=False, clip_global_norm=1.0).fit()
    from trainkit.trainer_epoch import clip_global_norm
    grads = [mx.nd.array([3.0, 4.0]), mx.nd.array([np.inf])]
    assert clip_global_norm(grads, 1.0) == np.inf
    assert grads[0].asnumpy().tolist() == [3.0, 4.0]  # not scaled to zeros (nor NaN)
    grads = [mx.nd.array([3.0, 4.0])]
    assert clip_global_norm(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(grads[0].asnumpy(), [0.6, 0.8], rtol=1e-6)


# ----- ReduceLROnPlateau in the Trainer --------------------------------------------------------------
def plateau_run(blobs, out, epochs, resume=None, lr=0.05, patience=1, callbacks=()):
    X, y, Xv, yv = blobs
    # min_delta=1: no epoch improves on the first, so the rate halves every `patience` epochs
    sched = mx.lr_scheduler.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=patience, min_delta=1.0,
                                              base_lr=lr)
    return Trainer(mlp(dropout=0.3), optimizer="adam", optimizer_params={"learning_rate": lr, "lr_scheduler": sched},
                   train_data=(X, y), val_data=(Xv, yv), epochs=epochs, batch_size=16, seed=1, out_dir=out,
                   resume=resume, callbacks=list(callbacks))


def test_plateau_lowers_the_trainers_rate_and_resume_is_exact(blobs, tmp_path):
    full = plateau_run(blobs, tmp_path / "full", 4).fit()
    # each epoch's lr is the rate it trained with; the drop after epoch e applies to epoch e + 1
    assert [h["lr"] for h in full] == pytest.approx([0.05, 0.05, 0.025, 0.0125])
    plateau_run(blobs, tmp_path / "half", 2).fit()
    resumed = plateau_run(blobs, tmp_path / "resumed", 4, resume=tmp_path / "half")
    assert no_time(resumed.fit()) == no_time(full)
    assert resumed.optimizer.lr_scheduler.num_reductions == 3 and resumed.config_changes == []


def test_plateau_resume_mid_epoch_is_exact(blobs, tmp_path):
    full = plateau_run(blobs, tmp_path / "full", 3).fit()
    with pytest.raises(Interrupted):
        plateau_run(blobs, tmp_path / "run", 3, callbacks=[StopAt(3, 2)]).fit()
    assert no_time(plateau_run(blobs, tmp_path / "run", 3, resume=tmp_path / "run").fit()) == no_time(full)


def test_plateau_resume_with_a_new_lr_or_patience(blobs, tmp_path):
    plateau_run(blobs, tmp_path / "a", 2).fit()  # reduced once, to 0.025
    more = plateau_run(blobs, tmp_path / "b", 3, resume=tmp_path / "a", lr=0.2)
    hist = more.fit()
    assert hist[2]["lr"] == pytest.approx(0.2)  # the user's new rate wins over the saved reduction
    assert more.config_changes == [{"epoch": 2, "changes": {"optimizer.lr": [0.05, 0.2]}}]
    slow = plateau_run(blobs, tmp_path / "c", 4, resume=tmp_path / "a", patience=3)
    hist = slow.fit()
    assert [h["lr"] for h in hist[2:]] == pytest.approx([0.025, 0.025])  # the saved rate, the new patience
    assert slow.config_changes[0]["changes"] == {"optimizer.lr_scheduler.patience": [1, 3]}


def test_plateau_monitor_must_be_a_metric_of_the_run(blobs):
    X, y, _, _ = blobs
    sched = mx.lr_scheduler.ReduceLROnPlateau(monitor="val_loss")
    tr = Trainer(mlp(), train_data=(X, y), optimizer_params={"lr_scheduler": sched})
    with pytest.raises(mx.trainer.TrainerError, match=r"ReduceLROnPlateau monitor 'val_loss' is not a metric of "
                                                      r"this run \(val_\* needs val_data\); choose one of train_loss"):
        tr.fit()


# ----- the learning-rate log -------------------------------------------------------------------------
def lr_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("lr ")]


def test_each_learning_rate_step_is_logged_once_at_its_update(blobs, caplog):
    X, y, _, _ = blobs
    sched = mx.lr_scheduler.FactorScheduler(step=4, factor=0.5, base_lr=0.2)
    with caplog.at_level("INFO", logger="trainkit"):
        hist = Trainer(mlp(), train_data=(X, y), epochs=2, batch_size=30,
                       optimizer_params={"learning_rate": 0.2, "lr_scheduler": sched}).fit()
    # 6 updates an epoch; FactorScheduler lowers the rate once num_update exceeds 4, then 8
    assert lr_lines(caplog) == ["lr 0.2 at update 1 (epoch 1)", "lr 0.1 at update 5 (epoch 1)",
                                "lr 0.05 at update 9 (epoch 2)"]
    assert [h["lr"] for h in hist] == [0.1, 0.05]  # the rate at each epoch's end, as before


def test_a_rate_that_changes_every_update_is_logged_once_an_epoch(blobs, caplog):
    X, y, _, _ = blobs
    sched = mx.lr_scheduler.CosineScheduler(max_update=12, base_lr=0.1, warmup_steps=0)
    with caplog.at_level("INFO", logger="trainkit"):
        Trainer(mlp(), train_data=(X, y), epochs=3, batch_size=30,
                optimizer_params={"learning_rate": 0.1, "lr_scheduler": sched}).fit()
    lines = lr_lines(caplog)
    updates = [int(l.split("at update ")[1].split()[0]) for l in lines]
    # the start, where it starts moving, epoch 2's first update, and where it stops (update 13: past max_update)
    assert updates == [1, 2, 7, 13] and lines[-1] == "lr 0 at update 13 (epoch 3)"


def test_a_plateau_reduction_is_logged_at_the_next_update(blobs, caplog):
    X, y, _, _ = blobs
    sched = mx.lr_scheduler.ReduceLROnPlateau(monitor="train_loss", factor=0.5, patience=1, min_delta=10.0,
                                              base_lr=0.1)
    with caplog.at_level("INFO", logger="trainkit"):
        Trainer(mlp(), train_data=(X, y), epochs=3, batch_size=30,
                optimizer_params={"learning_rate": 0.1, "lr_scheduler": sched}).fit()
    assert lr_lines(caplog) == ["lr 0.1 at update 1 (epoch 1)", "lr 0.05 at update 13 (epoch 3)"]
    assert any(r.getMessage().startswith("ReduceLROnPlateau: train_loss has not improved on") and
               "after epoch 2: lr 0.1 -> 0.05" in r.getMessage() for r in caplog.records)


# ----- progress bars and the log file as callbacks ---------------------------------------------------
def test_built_in_callbacks_come_after_the_users_and_runfiles(blobs, tmp_path):
    from trainkit.callbacks import DivergenceGuard, RunFiles
    from trainkit.callbacks_progress import LearningRateMonitor, LogFile, ProgressBar, ProgressLog
    X, y, _, _ = blobs
    mine = Batches()
    tr = Trainer(mlp(), train_data=(X, y), callbacks=[mine], out_dir=tmp_path, log_every=3)
    assert [type(cb) for cb in tr.callbacks] == [Batches, DivergenceGuard, RunFiles, LearningRateMonitor,
                                                 ProgressBar, ProgressLog, LogFile]
    tr = Trainer(mlp(), train_data=(X, y), stop_on_divergence=False)
    assert [type(cb) for cb in tr.callbacks] == [LearningRateMonitor, ProgressBar, ProgressLog]
    with pytest.raises(ValueError, match="log_every must be an int >= 0, got -2"):
        Trainer(mlp(), train_data=(X, y), log_every=-2)


def test_progress_bars_show_when_asked(blobs, capsys):
    X, y, Xv, yv = blobs
    Trainer(mlp(), train_data=(X, y), val_data=(Xv, yv), epochs=2, batch_size=30, progress=True).fit()
    err = capsys.readouterr().err
    assert "epochs: 100%" in err and "2/2" in err and "epoch 1:" in err and "loss=" in err and "val_accuracy=" in err
    Trainer(mlp(), train_data=(X, y), epochs=2, batch_size=30, progress=False).fit()
    assert capsys.readouterr().err == ""


def test_progress_bars_survive_an_interrupt_and_a_mid_epoch_resume(blobs, tmp_path, capsys):
    X, y, _, _ = blobs
    with pytest.raises(Interrupted):
        Trainer(mlp(), train_data=(X, y), epochs=2, batch_size=30, progress=True, out_dir=tmp_path,
                callbacks=[StopAt(1, 2)]).fit()
    tr = Trainer(mlp(), train_data=(X, y), epochs=2, batch_size=30, progress=True, out_dir=tmp_path, resume="auto")
    assert len(tr.fit()) == 2
    err = capsys.readouterr().err
    assert "epoch 1:" in err and "epochs: 100%" in err and "6/6" in err


def test_the_log_file_gets_the_run_and_is_detached_after(blobs, tmp_path):
    X, y, _, _ = blobs
    tr = Trainer(mlp(), train_data=(X, y), epochs=2, batch_size=30, out_dir=tmp_path / "a")
    tr.fit()
    text = (tmp_path / "a/trainkit.log").read_text()
    assert "epoch 2/2: train_loss=" in text and "lr 0.01 at update 1 (epoch 1)" in text
    trainkit_log = logging.getLogger("trainkit")
    assert not any(isinstance(h, logging.FileHandler) for h in trainkit_log.handlers)
    # detached on an exception too, after it has logged the last lines
    with pytest.raises(Interrupted):
        Trainer(mlp(), train_data=(X, y), epochs=2, batch_size=30, out_dir=tmp_path / "b",
                callbacks=[StopAt(2, 1)]).fit()
    assert "epoch 1/2: train_loss=" in (tmp_path / "b/trainkit.log").read_text()
    assert not any(isinstance(h, logging.FileHandler) for h in trainkit_log.handlers)


def test_plateau_with_a_gluon_block_resumes_exactly_and_logs_its_rate(blobs, tmp_path, caplog):
    from trainkit.gluon import nn
    X, y, Xv, yv = blobs

    def run(out, epochs, resume=None):
        mx.random.seed(0)
        net = nn.HybridSequential()
        net.add(nn.Dense(8, activation="relu"), nn.Dense(3))
        sched = mx.lr_scheduler.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=1.0,
                                                  base_lr=0.05)
        return Trainer(net, optimizer="adam", optimizer_params={"learning_rate": 0.05, "lr_scheduler": sched},
                       train_data=(X, y), val_data=(Xv, yv), epochs=epochs, batch_size=30, seed=1, out_dir=out,
                       resume=resume)
    full = run(tmp_path / "full", 3).fit()
    run(tmp_path / "half", 2).fit()
    caplog.clear()
    with caplog.at_level("INFO", logger="trainkit"):
        resumed = run(tmp_path / "resumed", 3, resume=tmp_path / "half").fit()
    assert no_time(resumed) == no_time(full) and [h["lr"] for h in full] == pytest.approx([0.05, 0.05, 0.025])
    assert lr_lines(caplog) == ["lr 0.025 at update 13 (epoch 3)"]  # the resumed run's rate, at its first update
