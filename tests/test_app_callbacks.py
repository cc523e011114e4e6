"""The callbacks and logger groups: `_target_` specs built with hydra.utils.instantiate into trainkit
Callbacks for Trainer(callbacks=[...]); a user's own class from the command line; one-line mistakes."""
import json
import os

import pytest

from test_cli import REPO
from test_cli import trainkit as run_cli
from trainkit.app.build import build_callbacks, build_trainer
from trainkit.app.config import load_config
from trainkit.app.schema import ConfigError
from trainkit.callbacks import EarlyStopping

USER_MODULE = '''
import json
from trainkit.callbacks import Callback

class Record(Callback):
    """Writes each epoch's train_loss and its own settings, to show the config reached it."""
    def __init__(self, path, tag="none", every=1):
        self.path, self.tag, self.every = path, tag, every
    def on_epoch_end(self, trainer, epoch, logs, **kwargs):
        with open(self.path, "a") as f:
            f.write(json.dumps({"epoch": epoch, "tag": self.tag, "every": self.every,
                                "train_loss": logs["train_loss"]}) + "\\n")

class NotACallback:
    pass

def make_record(path):
    return Record(path, tag="factory")

def make_nothing():
    return 42
'''


@pytest.fixture
def user(tmp_path):
    (tmp_path / "mycallbacks.py").write_text(USER_MODULE)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), str(REPO), os.environ.get("PYTHONPATH")]))}


def test_a_users_callback_from_the_command_line_gets_its_arguments(tmp_path, user):
    out = tmp_path / "seen.jsonl"
    r = run_cli(tmp_path, "trainer.epochs=2", "+callbacks.mine._target_=mycallbacks.Record",
                f"+callbacks.mine.path={out}", "+callbacks.mine.tag=cli", "+callbacks.mine.every=3",
                "hydra.run.dir=run", **user)
    assert r.returncode == 0, r.stderr
    seen = [json.loads(line) for line in out.read_text().splitlines()]
    logged = [json.loads(line) for line in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    assert [(s["epoch"], s["tag"], s["every"]) for s in seen] == [(1, "cli", 3), (2, "cli", 3)]
    assert [s["train_loss"] for s in seen] == pytest.approx([m["train_loss"] for m in logged])
    # the model is usable without the callback's module: evaluate drops what only training used
    os.remove(tmp_path / "mycallbacks.py")
    r = run_cli(tmp_path, "evaluate", "run=run")
    assert r.returncode == 0, r.stderr


def test_a_factory_function_target_works_and_two_entries_run_in_order(tmp_path, user):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    r = run_cli(tmp_path, "trainer.epochs=1", "data=synthetic", "data.n_samples=100",
                "+callbacks.a._target_=mycallbacks.make_record", f"+callbacks.a.path={a}",
                "+callbacks.b._target_=mycallbacks.Record", f"+callbacks.b.path={b}", "hydra.run.dir=run", **user)
    assert r.returncode == 0, r.stderr
    assert json.loads(a.read_text())["tag"] == "factory" and json.loads(b.read_text())["tag"] == "none"


@pytest.mark.parametrize("args,needle", [
    (["+callbacks.x._target_=mycallbacks.NotACallback"],
     "callbacks.x._target_='mycallbacks.NotACallback' is the class mycallbacks.NotACallback, which is not a trainkit "
     "Callback"),
    (["+callbacks.x._target_=nosuchpackage.Thing"],
     "callbacks.x._target_='nosuchpackage.Thing' cannot be imported (ModuleNotFoundError: No module named "
     "'nosuchpackage')"),
    (["+callbacks.x._target_=mycallbacks.Nope"], "callbacks.x._target_='mycallbacks.Nope' cannot be imported"),
    (["+callbacks.x._target_=mycallbacks.make_nothing"], "built a builtins.int, which is not a trainkit Callback"),
    (["+callbacks.x._target_=mycallbacks.Record", "+callbacks.x.path=p", "+callbacks.x.colour=red"],
     "callbacks.x: building mycallbacks.Record failed (TypeError"),
    (["+callbacks.x.path=p"], "callbacks.x has no _target_"),
    (["+callbacks.x=3"], "callbacks.x=3 must be a mapping with a _target_"),
])
def test_callback_mistakes_are_one_line(tmp_path, user, args, needle):
    r = run_cli(tmp_path, "data=synthetic", "data.n_samples=100", "trainer.epochs=1", *args, **user)
    assert r.returncode == 1, r.stdout
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr


def test_the_example_set_builds_an_early_stopping_and_entries_can_be_switched_off():
    cfg = load_config(["callbacks=example"])
    (cb,) = build_callbacks(cfg)
    assert isinstance(cb, EarlyStopping) and cb.monitor == "val_loss" and cb.patience == 3
    assert build_callbacks(load_config(["callbacks=example", "callbacks.stop_on_val_loss=null"])) == []
    assert build_callbacks(load_config(["callbacks=example", "~callbacks.stop_on_val_loss"])) == []
    trainer = build_trainer(load_config(["callbacks=example", "data=synthetic", "data.n_samples=100"]))
    assert any(isinstance(c, EarlyStopping) and c.monitor == "val_loss" for c in trainer.callbacks)


def test_logger_none_builds_nothing_and_tensorboard_builds_its_logger():
    assert build_callbacks(load_config()) == []
    cfg = load_config(["logger=tensorboard", "logger.every_n_batches=5"])
    (logger,) = build_callbacks(cfg)
    assert type(logger).__name__ == "TensorBoardLogger" and logger.every_n_batches == 5
    assert logger.log_dir is None  # the run folder's tensorboard/
    assert build_callbacks(cfg, logger=False) == []


def test_logger_tensorboard_writes_event_files_into_the_run_folder(tmp_path):
    r = run_cli(tmp_path, "data=synthetic", "data.n_samples=100", "trainer.epochs=2", "logger=tensorboard",
                "hydra.run.dir=run")
    assert r.returncode == 0, r.stderr
    (events,) = (tmp_path / "run/tensorboard").glob("events.out.tfevents.*")
    assert events.stat().st_size > 0


def test_a_logger_without_target_is_an_error():
    with pytest.raises(ConfigError, match="logger has no _target_"):
        load_config(["logger=tensorboard", "logger._target_=null"])
