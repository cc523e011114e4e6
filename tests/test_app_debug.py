"""debug=fast_dev_run and debug=overfit through the real command line, and the trainer options the app
passes on: trainer.limit_batches, trainer.clip_global_norm, optimizer.lr_scheduler.name=plateau."""
import json
import os

import pytest

from test_cli import metrics
from test_cli import trainkit as run_cli
from trainkit.app.build import build_trainer
from trainkit.app.config import load_config
from trainkit.app.schema import ConfigError

# a callback that writes how many batches each epoch ran (through the callbacks group, as a user would)
COUNTER = '''
import json
from trainkit.callbacks import Callback

class CountBatches(Callback):
    def __init__(self, path):
        self.path, self.n = path, 0
    def on_epoch_start(self, trainer, epoch, **kwargs):
        self.n = 0
    def on_batch_end(self, trainer, epoch, batch, loss, **kwargs):
        self.n += 1
    def on_epoch_end(self, trainer, epoch, logs, **kwargs):
        with open(self.path, "a") as f:
            f.write(json.dumps({"epoch": epoch, "batches": self.n, "keys": sorted(logs)}) + "\\n")
'''


@pytest.fixture
def counter(tmp_path):
    (tmp_path / "counting.py").write_text(COUNTER)
    log = tmp_path / "batches.jsonl"
    args = ["+callbacks.count._target_=counting.CountBatches", f"+callbacks.count.path={log}"]
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", ""),
                                          str(__import__("test_cli").REPO)])}
    return args, env, log


def read(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_fast_dev_run_runs_one_batch_beats_the_recipe_and_writes_nothing(tmp_path, counter):
    args, env, log = counter
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    r = run_cli(tmp_path, "+recipe=mlp", "debug=fast_dev_run", *args, TMPDIR=str(scratch), **env)
    assert r.returncode == 0, r.stderr
    assert read(log) == [{"epoch": 1, "batches": 1, "keys": [
        "epoch", "lr", "time", "train_accuracy", "train_loss", "val_accuracy", "val_loss"]}]  # recipe: 20 epochs
    assert "epoch 1/1:" in r.stdout and "epoch 2/" not in r.stdout
    assert "debug=fast_dev_run: 1 epoch of 1 training batch and 1 validation batch; nothing is written" \
        in r.stdout
    assert "nothing was saved" in r.stdout
    # one validation batch of the evaluation size (256 of digits' 359 validation samples)
    epoch = next(line for line in r.stdout.splitlines() if "epoch 1/1:" in line)
    acc = float(epoch.split("val_accuracy=")[1].split()[0])
    assert abs(acc * 256 - round(acc * 256)) < 0.02
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["batches.jsonl", "counting.py", "tmp"] and not list(scratch.iterdir())  # no outputs/, no temp


def test_fast_dev_run_with_plus_and_a_multirun(tmp_path):
    r = run_cli(tmp_path, "-m", "+debug=fast_dev_run", "seed=1,2", "data=synthetic", "data.n_samples=200")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("nothing was saved") == 2 and not (tmp_path / "outputs").exists()


def test_overfit_trains_the_same_few_batches_without_validation_and_passes(tmp_path, counter):
    args, env, log = counter
    r = run_cli(tmp_path, "+recipe=mlp", "debug=overfit", "hydra.run.dir=run", *args, **env)
    assert r.returncode == 0, r.stderr
    epochs = read(log)
    assert len(epochs) == 50 and {e["batches"] for e in epochs} == {4}
    assert not any(k.startswith("val_") for k in epochs[0]["keys"])
    lines = metrics(tmp_path / "run")
    assert lines[-1]["train_loss"] < lines[0]["train_loss"] / 10
    assert "debug=overfit: PASS: train_loss" in r.stdout and "on 4 batches of 32" in r.stdout


def test_overfit_reports_a_setup_that_cannot_learn(tmp_path):
    r = run_cli(tmp_path, "debug=overfit", "debug.epochs=3", "optimizer.lr=1e-7", "hydra.run.dir=run")
    assert r.returncode == 1, r.stderr  # a failed check fails the command (scripts and CI can tell)
    assert "trainkit: error: debug=overfit: FAIL: train_loss" in r.stderr and "check optimizer.lr" in r.stderr
    assert "Traceback" not in r.stderr
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "failed" and status["exit_status"] == 1 and "debug=overfit: FAIL" in status["error"]


def test_limit_batches_caps_every_epoch(tmp_path, counter):
    args, env, log = counter
    r = run_cli(tmp_path, "trainer.epochs=2", "trainer.limit_batches=3", "hydra.run.dir=run", *args, **env)
    assert r.returncode == 0, r.stderr
    assert [e["batches"] for e in read(log)] == [3, 3]
    assert len(metrics(tmp_path / "run")) == 2


@pytest.mark.parametrize("override,needle", [
    ("trainer.limit_batches=0", "trainer.limit_batches=0 is out of range"),
    ("trainer.clip_global_norm=-1", "trainer.clip_global_norm=-1.0 is out of range"),
    ("debug.epochs=0", "no debug mode is chosen; choose one first: debug=fast_dev_run debug.epochs=..."),
])
def test_bad_debug_and_trainer_values_are_one_line(tmp_path, override, needle):
    r = run_cli(tmp_path, override)
    assert r.returncode == 1 and needle in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    if override.startswith("debug."):  # with a mode chosen, the value itself is checked
        r = run_cli(tmp_path, "debug=overfit", override)
        assert r.returncode == 1 and "debug.epochs=0 is out of range: it must be 1 or more" in r.stderr


def test_trainer_gets_clip_global_norm_and_limit_batches():
    t = build_trainer(load_config(["data=synthetic", "data.n_samples=100", "trainer.clip_global_norm=0.5",
                                   "trainer.limit_batches=2"]))
    assert t.clip_global_norm == 0.5 and t.limit_batches == 2
    t = build_trainer(load_config(["data=synthetic", "data.n_samples=100"]))
    assert t.clip_global_norm is None and t.limit_batches is None


def test_plateau_scheduler_is_built_with_the_runs_monitor():
    from trainkit.lr_scheduler import ReduceLROnPlateau
    cfg = load_config(["data=synthetic", "data.n_samples=100", "optimizer.lr=0.2",
                       "optimizer.lr_scheduler.name=plateau", "optimizer.lr_scheduler.patience=2",
                       "optimizer.lr_scheduler.factor=0.5", "optimizer.lr_scheduler.cooldown=1",
                       "optimizer.lr_scheduler.min_lr=0.01"])
    s = build_trainer(cfg).optimizer_params["lr_scheduler"]
    assert isinstance(s, ReduceLROnPlateau)
    assert (s.monitor, s.factor, s.patience, s.cooldown, s.min_lr, s.base_lr) == ("val_accuracy", 0.5, 2, 1, 0.01, 0.2)
    cfg = load_config(["data=synthetic", "data.n_samples=100", "data.val_fraction=0",
                       "optimizer.lr_scheduler.name=plateau"])
    assert build_trainer(cfg).optimizer_params["lr_scheduler"].monitor == "train_accuracy"  # no validation set
    cfg = load_config(["optimizer.lr_scheduler.name=plateau", "optimizer.lr_scheduler.monitor=val_loss"])
    assert build_trainer(cfg).optimizer_params["lr_scheduler"].monitor == "val_loss"


def test_plateau_lowers_the_rate_through_the_command_line(tmp_path):
    # lr 1e-6 barely moves the loss: every epoch after the first misses min_delta, so patience=1 halves it
    r = run_cli(tmp_path, "optimizer.lr=1e-6", "optimizer.lr_scheduler.name=plateau", "trainer.epochs=3",
                "optimizer.lr_scheduler.patience=1", "optimizer.lr_scheduler.factor=0.5", "hydra.run.dir=run")
    assert r.returncode == 0, r.stderr
    assert [m["lr"] for m in metrics(tmp_path / "run")] == pytest.approx([1e-6, 1e-6, 5e-7])


@pytest.mark.parametrize("overrides,needle", [
    (["optimizer.lr_scheduler.factor=1"], "factor must be a number in (0, 1)"),
    (["optimizer.lr_scheduler.monitor=val_auc"], "optimizer.lr_scheduler.monitor=val_auc is not a metric"),
    (["optimizer.lr_scheduler.warmup_steps=5"], "plateau has no warm-up, but warmup_steps=5"),
    (["optimizer.lr_scheduler.monitor=val_loss", "data.val_fraction=0"], "needs a validation set"),
])
def test_plateau_mistakes_name_the_key(overrides, needle):
    with pytest.raises(ConfigError, match="optimizer.lr_scheduler") as e:
        build_trainer(load_config(["optimizer.lr_scheduler.name=plateau", *overrides]))
    assert needle in str(e.value)
