"""Runs you can trust: atomic files, stop signals, resume=auto and damaged checkpoints, divergence,
retention, the compact random state, config changes on resume; and a handful of the fault
trials of benchmarks/faults.py (kill -9 anywhere and inside writes, SIGTERM, a full tmpfs)."""
import errno
import json
import os
import pickle
import random
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

import trainkit as mx
from trainkit import Trainer, files, nd
from trainkit import random_state
from trainkit.checkpoint import CheckpointError, newest_complete, read_index
from trainkit.trainer import Diverged, Interrupted, TrainerError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import faults  # noqa: E402


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(1)
    centers = rng.normal(0, 2, (3, 6))
    y = rng.integers(0, 3, 160)
    X = (centers[y] + rng.normal(0, 1, (160, 6))).astype(np.float32)
    return X[:120], y[:120], X[120:], y[120:]


def net(hidden=16, dropout=0.3):
    x = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=hidden, name="fc1")
    x = mx.sym.Dropout(mx.sym.Activation(x, act_type="relu"), p=dropout)
    return mx.sym.FullyConnected(x, num_hidden=3, name="fc2")


def trainer(blobs, out, epochs=4, lr=0.05, **kw):
    X, y, Xv, yv = blobs
    kw.setdefault("optimizer_params", {"learning_rate": lr, "momentum": 0.9})
    return Trainer(net(), train_data=(X, y), val_data=(Xv, yv), epochs=epochs, batch_size=16, seed=3,
                   out_dir=out, **kw)


def no_time(history):
    return [{k: v for k, v in h.items() if k != "time"} for h in history]


# ----- the one writer ------------------------------------------------------------------------------
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "x.params"
    nd.save(str(target), {"a": nd.ones((2,))})
    before = target.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(files.WriteError, match=r"cannot write '.*x.params': No space left on device; the disk is full"):
        nd.save(str(target), {"a": nd.zeros((1000,))})
    assert target.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["x.params"]
    with pytest.raises(OSError):  # a WriteError is an OSError, for code that catches those
        mx.sym.Variable("data").save(str(tmp_path / "s.json"))
    assert not (tmp_path / "s.json").exists()


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    (tmp_path / ".model-0001.params.tmp-999999999-abcd").write_bytes(b"half")
    (tmp_path / "trainer-0002.json.tmp").write_bytes(b"{")                       # an older trainkit's
    mine = tmp_path / f".best.params.tmp-{os.getpid()}-beef"                      # a live writer's
    mine.write_bytes(b"")
    (tmp_path / "notes.tmp").write_text("mine")                                   # not trainkit's
    assert sorted(files.clean_stale(tmp_path)) == [".model-0001.params.tmp-999999999-abcd", "trainer-0002.json.tmp"]
    assert mine.exists() and (tmp_path / "notes.tmp").exists()


# ----- stop signals ---------------------------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGUSR1])
def test_sigterm_and_sigusr1_stop_like_ctrl_c_and_resume_auto_is_exact(blobs, tmp_path, signum):
    full = trainer(blobs, tmp_path / "full").fit()

    class Send(mx.Callback):
        def on_batch_end(self, tr, epoch, batch, loss, **kw):
            if (epoch, batch) == (2, 3):
                os.kill(os.getpid(), signum)  # the real signal, through the Trainer's handler

    with pytest.raises(Interrupted) as info:
        trainer(blobs, tmp_path / "run", callbacks=[Send()]).fit()
    assert info.value.signum == signum and info.value.batches_done == 4
    assert signal.getsignal(signum) is signal.SIG_DFL  # handlers are put back
    resumed = trainer(blobs, tmp_path / "run", resume="auto").fit()
    assert no_time(resumed) == no_time(full)


def test_resume_auto_starts_fresh_in_an_empty_folder(blobs, tmp_path):
    hist = trainer(blobs, tmp_path / "new", epochs=2, resume="auto").fit()
    assert [h["epoch"] for h in hist] == [1, 2]
    again = trainer(blobs, tmp_path / "new", epochs=3, resume="auto").fit()  # continues: one more epoch
    assert no_time(again[:2]) == no_time(hist) and len(again) == 3


# ----- damaged checkpoints ------------------------------------------------------------------------
@pytest.mark.parametrize("victim,damage", [("model-0003.params", "truncate"), ("model-0003.states", "empty"),
                                           ("trainer-0003.state", "random"), ("trainer-0003.json", "truncate")])
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(blobs, tmp_path, caplog, victim, damage):
    full = trainer(blobs, tmp_path / "full", epochs=4).fit()
    run = tmp_path / "run"
    trainer(blobs, run, epochs=3, checkpoint_every=1).fit()
    path = run / victim
    data = path.read_bytes()
    path.write_bytes({"truncate": data[:len(data) // 2], "empty": b"",
                      "random": os.urandom(len(data))}[damage])
    with caplog.at_level("WARNING", logger="trainkit"):
        resumed = trainer(blobs, run, epochs=4, resume="auto", checkpoint_every=1).fit()
    assert victim in caplog.text and "resuming from the previous complete checkpoint" in caplog.text
    assert no_time(resumed) == no_time(full)
    with pytest.raises(CheckpointError, match=victim.replace(".", r"\.")):
        path.write_bytes(b"")
        read_index(run / "trainer-0003.json") if victim != "trainer-0003.json" else read_index(path)


def test_an_explicit_damaged_checkpoint_is_one_clear_error(blobs, tmp_path):
    trainer(blobs, tmp_path / "a", epochs=1).fit()
    (tmp_path / "a/model-0001.params").write_bytes(b"\x12\x01")
    with pytest.raises(CheckpointError, match=r"checkpoint file '.*model-0001.params' is damaged: 2 bytes"):
        trainer(blobs, tmp_path / "b", epochs=2, resume=tmp_path / "a/trainer-0001.json").fit()
    with pytest.raises(CheckpointError, match="no complete checkpoint in"):
        newest_complete(tmp_path / "a")


# ----- divergence and strict JSON --------------------------------------------------------------------
def test_divergence_stops_the_run_with_where_and_what_to_try(blobs, tmp_path):
    with pytest.raises(Diverged) as info:
        trainer(blobs, tmp_path / "d", epochs=5, lr=1e6, checkpoint_every=1).fit()
    text = str(info.value)
    assert "training diverged: the loss of epoch" in text and "batch" in text
    assert "optimizer.lr, now 1000000.0" in text and info.value.exit_status == 3
    for line in (tmp_path / "d/metrics.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in metrics.jsonl"))


def test_non_finite_metrics_are_written_as_null_and_listed():
    from trainkit.checkpoint import _json_line
    line = json.loads(_json_line({"epoch": 1, "val_loss": float("inf"), "val_accuracy": float("nan"), "lr": 0.1}))
    assert line == {"epoch": 1, "val_loss": None, "val_accuracy": None, "lr": 0.1,
                    "non_finite": ["val_loss", "val_accuracy"]}


# ----- retention and size --------------------------------------------------------------------------
def test_keep_last_prunes_old_checkpoints_but_keeps_the_best(blobs, tmp_path):
    tr = trainer(blobs, tmp_path, epochs=6, checkpoint_every=1, keep_last=2)
    tr.fit()
    kept = sorted(int(p.stem[8:]) for p in tmp_path.glob("trainer-*.json"))
    assert kept[-2:] == [5, 6] and set(kept) == {5, 6} | {tr.best["epoch"]}
    params = sorted(int(p.stem[6:]) for p in tmp_path.glob("model-0*.params"))
    assert params == kept


def test_a_checkpoint_costs_params_plus_optimizer_plus_a_few_kb(blobs, tmp_path):
    trainer(blobs, tmp_path, epochs=2).fit()
    state = tmp_path / "trainer-0002.state"
    assert state.stat().st_size < 16_000  # the random stream's 2.56 MB bank, as seed + twist counts


def test_the_compact_random_state_is_exact(monkeypatch):
    mx.random.seed(11)
    for n in (70000, 3, 100000, 65):
        mx.nd.random.uniform(shape=(n,))
    state = mx.random.get_state()
    packed = random_state.pack(state, 11)
    assert len(pickle.dumps(packed)) < 12_000
    back = random_state.unpack(packed)
    assert np.array_equal(back["key"], state["key"]) and np.array_equal(back["pos"], state["pos"])
    mx.random.set_state(back)
    a = mx.nd.random.normal(shape=(500,)).asnumpy()
    mx.random.set_state(state)
    assert np.array_equal(a, mx.nd.random.normal(shape=(500,)).asnumpy())
    monkeypatch.setattr(random_state, "_MAX_STEPS", 4)  # the search gives up sooner; the outcome is the same
    other = random_state.pack(state, 12)  # not reachable from that seed: stored whole, still exact
    assert np.array_equal(random_state.unpack(other)["key"], state["key"])


# ----- config changes on resume ---------------------------------------------------------------------
def test_a_new_lr_on_resume_applies_and_is_recorded(blobs, tmp_path):
    trainer(blobs, tmp_path, epochs=2).fit()
    tr = trainer(blobs, tmp_path, epochs=3, lr=0.01, resume="auto")
    hist = tr.fit()
    assert hist[-1]["lr"] == 0.01 and tr.optimizer.lr == 0.01
    meta = json.loads((tmp_path / "trainer-0003.json").read_text())
    assert meta["config_changes"] == [{"epoch": 2, "changes": {"optimizer.lr": [0.05, 0.01]}}]


def test_another_optimizer_on_resume_is_refused(blobs, tmp_path):
    trainer(blobs, tmp_path, epochs=1).fit()
    with pytest.raises(TrainerError, match="trained with optimizer sgd, this run asks for adam"):
        trainer(blobs, tmp_path, epochs=2, resume="auto", optimizer="adam",
                optimizer_params={"learning_rate": 0.01}).fit()


def test_two_trainers_never_write_one_folder_at_once(blobs, tmp_path):
    from trainkit.checkpoint import FolderLock
    lock = FolderLock(tmp_path).acquire()
    try:
        with pytest.raises(TrainerError, match=r"another trainkit process \(pid \d+\) is writing to"):
            trainer(blobs, tmp_path, epochs=1, resume="auto").fit()
    finally:
        lock.release()


# ----- fault trials through the real command line (the full campaign: benchmarks/faults.py) ----------
@pytest.fixture(scope="module")
def work(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    return folder, faults.reference(folder)


def test_kill_9_at_random_moments_then_resume_auto_is_exact(work):
    folder, ref = work
    rng = random.Random(7)
    for _ in range(2):
        assert faults.trial_kill(folder, ref, rng, signal.SIGKILL) == []


def test_kill_9_inside_a_write_leaves_every_file_whole_or_absent(work):
    folder, ref = work
    rng = random.Random(3)
    for _ in range(2):
        assert faults.trial_kill_in_write(folder, ref, rng) == []


def test_sigterm_through_the_command_line_checkpoints_and_resumes_exactly(work):
    folder, ref = work
    assert faults.trial_kill(folder, ref, random.Random(5), signal.SIGTERM) == []


def test_a_full_disk_ends_the_run_with_one_line_naming_the_file(work):
    folder, _ = work
    problems = faults.trial_full_disk(folder)
    if problems is None:
        pytest.skip("mounting a tmpfs is not permitted here (needs root and mount rights)")
    assert problems == []
