"""Trainer.model_summary (the parameter table logged when fit starts) and Trainer.summary_table (the
run's outcome, logged when fit ends with an out_dir)."""
import numpy as np
import pytest

import trainkit as mx
from trainkit import Trainer
from trainkit.callbacks import EarlyStopping
from trainkit.callbacks_summary import _bytes, text_table
from trainkit.gluon import nn


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 2, (3, 6))
    y = rng.integers(0, 3, 160)
    X = (centers[y] + rng.normal(0, 1, (160, 6))).astype(np.float32)
    return X[:120], y[:120], X[120:], y[120:]


def mlp(weight_init=None):
    x = mx.sym.Variable("data")
    w = mx.sym.Variable("fc1_weight", init=weight_init) if weight_init is not None else None
    x = mx.sym.FullyConnected(x, weight=w, num_hidden=8, name="fc1") if w is not None else \
        mx.sym.FullyConnected(x, num_hidden=8, name="fc1")
    x = mx.sym.BatchNorm(x, fix_gamma=False, name="bn1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    return mx.sym.FullyConnected(x, num_hidden=3, name="fc2")


def table_rows(text, first):
    """The cells of the rows of a text table whose first cell is ``first``."""
    return [line.split() for line in text.splitlines() if line.split()[:1] == [first]]


# ----- the model -------------------------------------------------------------------------------------
def test_model_summary_of_a_module(blobs):
    X, y, _, _ = blobs
    tr = Trainer(mlp(weight_init=mx.init.Normal(0.05)), train_data=(X, y), initializer=mx.init.Uniform(0.1))
    assert tr.model.summary_rows()[0]["shape"] is None  # unbound: no shapes yet
    text = tr.model_summary()  # before fit: binds the module, and says what fit will do
    rows = tr.model.summary_rows()
    assert [(r["layer"], r["name"], r["shape"], r["count"], r["trained"]) for r in rows] == [
        ("fc1 (FullyConnected)", "fc1_weight", (8, 6), 48, True), ("fc1 (FullyConnected)", "fc1_bias", (8,), 8, True),
        ("bn1 (BatchNorm)", "bn1_gamma", (8,), 8, True), ("bn1 (BatchNorm)", "bn1_beta", (8,), 8, True),
        ("bn1 (BatchNorm)", "bn1_moving_mean", (8,), 8, False), ("bn1 (BatchNorm)", "bn1_moving_var", (8,), 8, False),
        ("fc2 (FullyConnected)", "fc2_weight", (3, 8), 24, True), ("fc2 (FullyConnected)", "fc2_bias", (3,), 3, True)]
    assert text.splitlines()[0] == "model: Module (module), 8 parameter arrays"
    assert table_rows(text, "fc1")[0][2:] == ["fc1_weight", "8x6", "48", '["normal",', '{"sigma":', "0.05}]"]
    assert table_rows(text, "fc2")[0][2:] == ["fc2_weight", "3x8", "24", '["uniform",', '{"scale":', "0.1}]"]
    assert table_rows(text, "fc2")[1][2:] == ["fc2_bias", "3", "3", '["zero",', "{}]"]
    assert "bn1_moving_var (not trained)" in text
    assert text.splitlines()[-1] == "total: 115 values in 8 arrays (99 trained)"


def test_model_summary_of_a_gluon_block_before_and_after_fit(blobs):
    X, y, _, _ = blobs
    net = nn.HybridSequential(prefix="net_")  # a fixed prefix: auto-names count per process
    with net.name_scope():
        net.add(nn.Dense(5, activation="relu"), nn.Dense(3, bias_initializer="ones"))
    tr = Trainer(net, train_data=(X, y), epochs=1)
    before = tr.model_summary()
    assert "0 (Dense)" in before and "5x?" in before and before.endswith("2 shapes wait for data")
    tr.fit()
    after = tr.model_summary()
    first = table_rows(after, "0")[0]
    assert first[2:5] == ["net_dense0_weight", "5x6", "30"] and first[5] == '["xavier",'
    assert table_rows(after, "1")[1][2:] == ["net_dense1_bias", "3", "3", "ones"]  # the parameter's own initializer
    assert after.splitlines()[-1] == "total: 53 values in 4 arrays (53 trained)"


def test_fit_logs_the_model_summary_when_it_starts(blobs, caplog):
    X, y, _, _ = blobs
    with caplog.at_level("INFO", logger="trainkit"):
        Trainer(mlp(), train_data=(X, y), epochs=1).fit()
    messages = [r.getMessage() for r in caplog.records]
    first_epoch = next(i for i, m in enumerate(messages) if m.startswith("epoch 1/1"))
    assert any(m.startswith("model: Module (module)") for m in messages[:first_epoch])


def test_fit_makes_no_summary_nobody_would_read(blobs, caplog, monkeypatch):
    X, y, _, _ = blobs
    tr = Trainer(mlp(), train_data=(X, y), epochs=1)
    made = []
    monkeypatch.setattr(tr, "model_summary", lambda: made.append(1) or "table")
    with caplog.at_level("WARNING", logger="trainkit"):
        tr.fit()
    assert made == []


def test_a_network_with_its_own_values_says_so(blobs):
    X, y, _, _ = blobs
    mod = mx.mod.Module(mlp(), data_names=["data"], label_names=None)
    mod.bind(data_shapes=[("data", (16, 6))])
    mod.init_params(mx.init.Normal(0.01))
    text = Trainer(mod, train_data=(X, y), batch_size=16).model_summary()
    assert table_rows(text, "fc2")[0][-2:] == ["as", "given"]


# ----- the run ---------------------------------------------------------------------------------------
def test_summary_table_lists_metrics_time_and_files(blobs, tmp_path, caplog):
    X, y, Xv, yv = blobs
    tr = Trainer(mlp(), train_data=(X, y), val_data=(Xv, yv), epochs=3, batch_size=20, out_dir=tmp_path / "run",
                 optimizer_params={"learning_rate": 0.1})
    with caplog.at_level("INFO", logger="trainkit"):
        hist = tr.fit()
    text = tr.summary_table()
    assert text.splitlines()[0] == "run: 3 of 3 epochs"
    assert "360 training samples" in text and "samples/s (training batches only)" in text
    for key, goal in (("train_loss", "min"), ("train_accuracy", "max"), ("val_loss", "min"),
                      ("val_accuracy", "max")):
        values = [h[key] for h in hist]
        best = (min if goal == "min" else max)(values)
        (row,) = table_rows(text, key)
        assert row[1:5] == [goal, f"{best:.4f}", str(values.index(best) + 1), f"{values[-1]:.4f}"]
    assert table_rows(text, "val_accuracy")[0][5:] == ["<-", "best.params"]
    assert f"run folder: {(tmp_path / 'run').resolve()} (" in text
    listed = {row[0]: " ".join(row[1:]) for line in text.split("run folder:")[1].splitlines()[3:]
              for row in [line.split()]}
    on_disk = {p.name: p.stat().st_size for p in (tmp_path / "run").iterdir() if not p.name.startswith(".")}
    assert set(listed) == set(on_disk) >= {"best.params", "metrics.jsonl", "model-0003.params", "trainkit.log"}
    assert all(listed[n] == _bytes(s) for n, s in on_disk.items() if n != "trainkit.log")
    # fit logged the same table at its end (the folder listing differs only in trainkit.log's size)
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("run: 3 of 3 epochs")]
    assert len(logged) == 1 and logged[0].split("\n")[2:9] == text.split("\n")[2:9]


def test_summary_table_says_why_a_run_stopped_and_is_not_logged_without_out_dir(blobs, caplog):
    X, y, _, _ = blobs
    tr = Trainer(mlp(), train_data=(X, y), epochs=5, early_stopping=EarlyStopping("train_loss", 1, min_delta=100.0))
    with caplog.at_level("INFO", logger="trainkit"):
        tr.fit()
    assert not any(r.getMessage().startswith("run: ") for r in caplog.records)
    text = tr.summary_table()
    assert text.startswith("run: 2 of 5 epochs; stopped: early stopping: train_loss has not improved")
    assert "run folder" not in text and table_rows(text, "train_loss")[0][3] == "2"  # best by value, not min_delta


def test_text_table_and_sizes():
    assert text_table(["a", "n"], [["x", 1], ["long", 22]], right=(1,)).splitlines() == [
        "a      n", "----  --", "x      1", "long  22"]
    assert [_bytes(n) for n in (5, 2048, 3 * 1024 ** 2)] == ["5 B", "2.0 KB", "3.0 MB"]


def test_a_summary_that_cannot_be_made_does_not_stop_training(blobs, caplog, monkeypatch):
    X, y, _, _ = blobs
    tr = Trainer(mlp(), train_data=(X, y), epochs=1)

    def broken():
        raise RuntimeError("no rows")
    monkeypatch.setattr(tr.model, "summary_rows", broken)
    with caplog.at_level("INFO", logger="trainkit"):
        assert len(tr.fit()) == 1
    assert "no model summary: RuntimeError: no rows" in [r.getMessage() for r in caplog.records if
                                                         r.levelname == "WARNING"]
