"""Every recipe and every config group option composes and trains for one short epoch through
Trainer.from_config (the same build step the command line uses), on tiny data."""
import math
import struct

import numpy as np
import pytest
from hydra.core.global_hydra import GlobalHydra

import trainkit as mx
from trainkit import Trainer
from trainkit.app.config import conf_dir, recipes_dir
from trainkit.app.schema import ConfigError

SYNTHETIC = ["data=synthetic", "data.n_samples=60", "data.n_features=5", "data.n_classes=3"]
TINY = SYNTHETIC + ["trainer.epochs=1", "trainer.batch_size=16", "model.hidden=[8]"]
RECIPES = sorted(p.stem for p in recipes_dir().glob("*.yaml"))


def options(group):
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


@pytest.fixture(autouse=True)
def no_leaked_hydra():
    yield
    assert not GlobalHydra.instance().is_initialized()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tiny csv, npz and MNIST idx files, and a parameter file that fits the TINY model."""
    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)), np.arange(40) % 3
    np.savetxt(d / "train.csv", np.column_stack([X, y]), delimiter=",", fmt="%.5f")
    np.savez(d / "train.npz", x=X, y=y)
    mnist = d / "mnist"
    mnist.mkdir()
    for part, n in (("train", 30), ("t10k", 10)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        (mnist / f"{part}-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", n, 28, 28)
                                                          + images.tobytes())
        (mnist / f"{part}-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", n)
                                                          + (np.arange(n) % 10).astype(np.uint8).tobytes())
    params = {"arg:fc1_weight": mx.nd.ones((8, 5)) * 0.1, "arg:fc1_bias": mx.nd.zeros((8,)),
              "arg:fc2_weight": mx.nd.ones((3, 8)) * 0.1, "arg:fc2_bias": mx.nd.zeros((3,))}
    mx.nd.save(str(d / "tiny.params"), params)
    return d


def fit_one_epoch(overrides):
    tr = Trainer.from_config(overrides)
    history = tr.fit()
    assert len(history) == 1 and math.isfinite(history[0]["train_loss"])
    return tr, history[0]


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_trains_one_epoch(recipe, files):
    extra = [f"data.path={files / 'mnist'}"] if recipe == "mnist_mlp" else []
    tr, last = fit_one_epoch([f"+recipe={recipe}", "trainer.epochs=1", *extra])
    classes = {"diabetes": 1, "breast_cancer": 1}.get(recipe, 10)  # task=regression/binary: one output unit
    params = tr.model.params  # the Module's or the Gluon block's, by name
    assert params[f"fc{len(params) // 2}_weight"].shape[0] == classes
    if recipe not in ("mnist_mlp", "diabetes", "breast_cancer"):  # the real digits: one epoch already learns
        assert last["val_accuracy"] > 0.6


REQUIRED = {
    "initializer=constant": ["initializer.value=0.05"],
    "initializer=fusedrnn": ["initializer.num_hidden=8", "initializer.num_layers=1", "initializer.mode=lstm"],
    "initializer=load": ["initializer.path={files}/tiny.params"],
    "data=csv": ["data.path={files}/train.csv"],
    "data=npz": ["data.path={files}/train.npz"],
    "data=mnist": ["data.path={files}/mnist"],
    "data=diabetes": ["task=regression", "data.standardize=true", "optimizer.lr=0.001"],  # an unscaled target: lr 0.1 diverges
}
# initializers made for other layer types: they refuse an MLP before training, saying why
NOT_FOR_AN_MLP = {"initializer=bilinear": "needs a 4-D", "initializer=fusedrnn": "does not fit mode='lstm'"}
GROUPS = ("model", "initializer", "optimizer", "data", "device", "trainer")


@pytest.mark.parametrize("choice", [f"{g}={o}" for g in GROUPS for o in options(g)])
def test_every_group_option_trains_one_epoch(choice, files):
    if choice == "device=gpu" and not _has_gpu():
        pytest.skip("no GPU here (device=gpu errors are tested in test_cli.py)")
    base = [o for o in TINY if o not in SYNTHETIC] if choice.startswith("data=") else TINY
    overrides = base + [choice] + [o.format(files=files) for o in REQUIRED.get(choice, [])]
    if choice == "model=logreg":
        overrides.remove("model.hidden=[8]")
    if choice in NOT_FOR_AN_MLP:
        with pytest.raises(ConfigError, match=NOT_FOR_AN_MLP[choice]):
            Trainer.from_config(overrides)
        return
    tr, last = fit_one_epoch(overrides)
    group, option = choice.split("=")
    if choice == "initializer=load":  # the file's values, then one epoch of updates
        assert tr.history[0]["train_loss"] == pytest.approx(math.log(3), rel=0.2)
    if choice == "data=mnist":
        assert tr.module.params["fc1_weight"].shape == (8, 784)
    if choice == "model=logreg":
        assert list(tr.module.params) == ["fc1_weight", "fc1_bias"]
    if choice == "model=gluon_mlp":
        assert isinstance(tr.module, mx.gluon.nn.HybridSequential) and tr.model.kind == "gluon"
        assert list(tr.model.params) == ["fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"]
    if group == "optimizer":
        assert type(tr.optimizer).__name__.lower() == option


@pytest.mark.parametrize("model", [["model.batchnorm=true", "model.dropout=0.3"], ["model.activation=sigmoid"],
                                   ["model.activation=tanh"], ["model.activation=softrelu", "model.hidden=[8,4]"]])
def test_model_options(model):
    tr, _ = fit_one_epoch(TINY + model)
    names = list(tr.module.symbol.get_internals().list_outputs())
    if "model.batchnorm=true" in model:
        assert "bn1_output" in names and "drop1_output" in names
    if "model.hidden=[8,4]" in model:
        assert tr.module.params["fc3_weight"].shape == (3, 4)


@pytest.mark.parametrize("model", [["model.batchnorm=true", "model.dropout=0.3"],
                                   ["model.activation=softrelu", "model.hidden=[8,4]"]])
def test_gluon_model_options(model):
    """model=gluon_mlp takes model=mlp's keys and trains to model=mlp's numbers."""
    tr, last = fit_one_epoch(TINY + ["model=gluon_mlp"] + model)
    _, same = fit_one_epoch(TINY + ["model=mlp"] + model)
    assert {k: v for k, v in last.items() if k != "time"} == {k: v for k, v in same.items() if k != "time"}
    names = [type(b).__name__ for b in tr.module._children.values()]
    if "model.batchnorm=true" in model:
        assert names == ["Dense", "BatchNorm", "Activation", "Dropout", "Dense"]
        assert "bn1_running_var" in tr.model.params
    if "model.hidden=[8,4]" in model:
        assert tr.model.params["fc3_weight"].shape == (3, 4)


@pytest.mark.parametrize("sched,check", [
    (["optimizer.lr_scheduler.name=factor", "optimizer.lr_scheduler.step=1", "optimizer.lr_scheduler.factor=0.5"],
     lambda lr: lr < 0.1),
    (["optimizer.lr_scheduler.name=multifactor", "optimizer.lr_scheduler.steps=[1]"], lambda lr: lr == pytest.approx(0.01)),
    (["optimizer.lr_scheduler.name=cosine"], lambda lr: lr == pytest.approx(0.0)),  # max_update null: the whole run
    (["optimizer.lr_scheduler.name=cosine", "optimizer.lr_scheduler.warmup_steps=2"], lambda lr: lr == pytest.approx(0.0)),
])
def test_lr_schedulers(sched, check):
    _, last = fit_one_epoch(TINY + ["optimizer.lr=0.1"] + sched)
    assert check(last["lr"]), last["lr"]


def test_early_stopping_from_the_config():
    tr = Trainer.from_config(TINY + ["trainer.epochs=6", "trainer.early_stopping.patience=1",
                                     "trainer.early_stopping.monitor=train_loss",
                                     "trainer.early_stopping.min_delta=100"])
    assert len(tr.fit()) == 2 and "early stopping" in tr.stop_reason


def test_weight_decay_and_clipping_from_the_config():
    tr = Trainer.from_config(TINY + ["optimizer.wd=0.01", "optimizer.clip_gradient=0.5", "optimizer.momentum=0"])
    tr.fit()
    opt = tr.optimizer
    assert opt.wd == 0.01 and opt.clip_gradient == 0.5 and opt.momentum == 0 and opt.rescale_grad == 1.0
    assert opt.wd_mult == {"fc1_bias": 0.0, "fc2_bias": 0.0}  # no weight decay on biases


def _has_gpu():
    try:
        return mx.num_gpus() > 0
    except Exception:
        return False


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_runs_its_real_data_under_fast_dev_run(recipe, files, tmp_path):
    """debug=fast_dev_run beats each recipe's own epochs: one epoch, one batch, no files even when asked."""
    extra = [f"data.path={files / 'mnist'}"] if recipe == "mnist_mlp" else []
    tr = Trainer.from_config([f"+recipe={recipe}", "debug=fast_dev_run", *extra], out_dir=tmp_path / "run")
    assert tr.epochs == 1 and tr.limit_batches == 1 and tr.out_dir is None
    history = tr.fit()
    assert len(history) == 1 and math.isfinite(history[0]["train_loss"])
    assert not (tmp_path / "run").exists()
