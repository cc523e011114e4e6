"""The Hydra config: every group option and recipe composes, overrides win, and mistakes
fail early with a message that names the key. Composes through load_config(), the same
conf/ the command line uses; never calls cli.main in-process."""
import re
import sys
import types

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf, open_dict

from trainkit.app.config import conf_dir, load_config, recipes_dir
from trainkit.app.checks import init_spec, validate
from trainkit.app.schema import INITIALIZERS, ConfigError

GROUPS = ("model", "initializer", "optimizer", "data", "device", "trainer")


def options(group):
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


RECIPES = sorted(p.stem for p in recipes_dir().glob("*.yaml"))


@pytest.fixture(autouse=True)
def no_leaked_hydra():
    yield
    assert not GlobalHydra.instance().is_initialized(), "a test left Hydra initialized"


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "best.params"
    path.write_bytes(b"placeholder: validate only checks that the file exists")
    return str(path)


def test_the_issue_lists_every_option():
    assert options("initializer") == sorted([*INITIALIZERS])
    assert set(INITIALIZERS) == {"zero", "one", "constant", "uniform", "normal", "orthogonal",
                                 "xavier", "msraprelu", "bilinear", "lstmbias", "fusedrnn",
                                 "mixed", "load"}
    assert options("optimizer") == ["adagrad", "adam", "rmsprop", "sgd"]
    assert options("data") == ["breast_cancer", "csv", "diabetes", "digits", "mnist", "npz", "synthetic"]
    assert options("device") == ["cpu", "gpu"]
    assert options("model") == ["gluon_mlp", "logreg", "mlp"]
    assert RECIPES == ["breast_cancer", "diabetes", "gluon_mlp", "logreg", "mlp", "mlp_mixed", "mnist_mlp"]


def test_default_config_is_an_mlp_on_digits():
    cfg = load_config()
    assert (cfg.model.name, cfg.initializer.name, cfg.optimizer.name, cfg.data.name,
            cfg.device.name) == ("mlp", "xavier", "sgd", "digits", "cpu")
    assert cfg.seed == 0 and cfg.dry_run is False
    assert cfg.trainer.progress is None and cfg.trainer.resume is None
    assert cfg.trainer.early_stopping.monitor is None  # null: the task's monitor (val_accuracy here)
    assert "hydra" not in cfg and "recipe" not in cfg


# Values an option needs before it can run; everything else validates as shipped.
REQUIRED = {
    "initializer=constant": ["initializer.value=0.5"],
    "initializer=fusedrnn": ["initializer.num_hidden=8", "initializer.num_layers=1",
                             "initializer.mode=lstm"],
    "initializer=load": ["initializer.path={params_file}"],
    "data=mnist": ["data.path=/somewhere/mnist"],
    "data=csv": ["data.path=train.csv"],
    "data=npz": ["data.path=train.npz"],
}


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in options(g)])
def test_every_group_option_composes_and_validates(group, option, params_file, monkeypatch):
    choice = f"{group}={option}"
    if choice == "device=gpu":  # the real check is test_gpu_*; here CuPy sees one GPU
        monkeypatch.setitem(sys.modules, "cupy", fake_cupy(1))
    extra = [o.format(params_file=params_file) for o in REQUIRED.get(choice, [])]
    cfg = load_config([choice, *extra])
    if group != "trainer":
        assert cfg[group].name == option


def test_the_new_groups_compose_with_their_defaults_and_every_option():
    cfg = load_config()
    assert cfg.debug is None and cfg.logger._target_ is None and dict(cfg.callbacks) == {}
    assert options("debug") == ["fast_dev_run", "overfit"] and options("logger") == ["none", "tensorboard"]
    assert options("callbacks") == ["default", "example"] and options("hparams_search") == ["mlp_optuna"]
    fast, overfit = load_config(["debug=fast_dev_run"]), load_config(["+debug=overfit"])
    assert (fast.debug.name, fast.debug.epochs, fast.debug.limit_batches) == ("fast_dev_run", 1, 1)
    assert (overfit.debug.name, overfit.debug.limit_batches, overfit.debug.min_loss_drop) == ("overfit", 4, 10.0)
    assert load_config(["+recipe=mlp", "debug=fast_dev_run"]).trainer.epochs == 20  # the app enforces debug
    tb = load_config(["logger=tensorboard"]).logger
    assert dict(tb) == {"_target_": "trainkit.tensorboard.TensorBoardLogger", "log_dir": None, "every_n_batches": 0}
    assert list(load_config(["callbacks=example"]).callbacks) == ["stop_on_val_loss"]
    for spelling in ("hparams_search=mlp_optuna", "+hparams_search=mlp_optuna"):
        assert "hydra" not in load_config([spelling])
    cfg = load_config(["trainer.limit_batches=3", "trainer.clip_global_norm=2", "optimizer.lr_scheduler.name=plateau"])
    assert (cfg.trainer.limit_batches, cfg.trainer.clip_global_norm) == (3, 2.0)
    assert cfg.optimizer.lr_scheduler.name == "plateau" and cfg.optimizer.lr_scheduler.monitor is None


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_composes_and_validates(recipe):
    extra = ["data.path=/somewhere/mnist"] if recipe == "mnist_mlp" else []
    cfg = load_config([f"+recipe={recipe}", *extra])
    assert "recipe" not in cfg  # '# @package _global_' merged it into the root


def test_recipes_set_what_they_promise():
    mlp = load_config(["+recipe=mlp"])
    assert list(mlp.model.hidden) == [128] and mlp.trainer.epochs == 20
    assert (mlp.optimizer.name, mlp.optimizer.lr, mlp.optimizer.momentum) == ("sgd", 0.1, 0.9)
    mixed = load_config(["+recipe=mlp_mixed"])
    assert mixed.initializer.name == "mixed"
    assert [p.pattern for p in mixed.initializer.patterns] == [".*bias", "fc1_weight", ".*"]
    assert [p.init.name for p in mixed.initializer.patterns] == ["zero", "orthogonal", "xavier"]
    logreg = load_config(["+recipe=logreg"])
    assert logreg.model.name == "logreg" and list(logreg.model.hidden) == []
    mnist = load_config(["+recipe=mnist_mlp", "data.path=x"], validate=False)
    assert mnist.data.name == "mnist" and list(mnist.model.hidden) == [128, 64]


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("switch", ["optimizer=adam", "initializer=normal", "data=synthetic"])
def test_the_command_line_can_switch_any_group_after_a_recipe(recipe, switch):
    # A recipe that set a key only one option has (optimizer.momentum) would break this.
    cfg = load_config([f"+recipe={recipe}", switch], validate=False)
    group, option = switch.split("=")
    assert cfg[group].name == option


def test_command_line_beats_recipe_beats_config():
    cfg = load_config(["+recipe=mlp_mixed", "optimizer.lr=0.05", "initializer=xavier",
                       "initializer.magnitude=2", "model.hidden=[256,128]", "device=cpu",
                       "trainer.epochs=5", "seed=3"])
    assert cfg.initializer.name == "xavier" and cfg.initializer.magnitude == 2.0
    assert cfg.optimizer.lr == 0.05 and cfg.optimizer.momentum == 0.9
    assert list(cfg.model.hidden) == [256, 128]
    assert cfg.trainer.epochs == 5 and cfg.trainer.batch_size == 32 and cfg.seed == 3


def test_enums_read_as_plain_strings():
    cfg = load_config(["initializer.factor_type=in", "optimizer.lr_scheduler.name=cosine"])
    assert cfg.initializer.factor_type == "in" and f"{cfg.initializer.factor_type}" == "in"
    assert str(cfg.optimizer.lr_scheduler.name) == "cosine"
    from trainkit.app.checks import to_plain
    assert to_plain(cfg.initializer) == {"name": "xavier", "rnd_type": "uniform",
                                         "factor_type": "in", "magnitude": 3.0}


def test_mixed_list_can_be_replaced_from_the_command_line():
    cfg = load_config(["initializer=mixed",
                       'initializer.patterns=[{pattern: ".*", init: {name: normal, sigma: 0.1}}]'])
    assert OmegaConf.to_container(cfg.initializer.patterns) == [
        {"pattern": ".*", "init": {"name": "normal", "sigma": 0.1}}]


def test_load_config_nests_inside_a_running_hydra():
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        outer = GlobalHydra.instance()
        cfg = load_config(["+recipe=logreg"])
        assert GlobalHydra.instance() is outer and outer.is_initialized()
    assert cfg.model.name == "logreg"


# ------------------------------------------------------------------ compose-time errors

def compose_error(*overrides):
    with pytest.raises(ConfigError) as e:
        load_config(list(overrides))
    return str(e.value)


@pytest.mark.parametrize("overrides,expected", [
    (["optimizer.lrr=0.1"], "Key 'lrr' not in 'SGDConf'"),
    (["initializer.magnitdue=2"], "Key 'magnitdue' not in 'XavierInit'"),
    (["optimizer.lr=abc"], "could not be converted to Float"),
    (["trainer.epochs=1.5"], "could not be converted to Integer"),
    (["initializer.rnd_type=gausian"], "expected one of [uniform, gaussian]"),
    (["model.activation=relu6"], "expected one of [relu, sigmoid, tanh, softrelu]"),
    (["device.name=tpu"], "expected one of [cpu, gpu]"),
    (["initializer=normal", "initializer.magnitude=2"], "Key 'magnitude' not in 'NormalInit'"),
    (["+recipe=mpl"], "Could not find 'recipe/mpl'"),
    (["initializer=xavir"], "Could not find 'initializer/xavir'"),
])
def test_compose_errors_name_the_key(overrides, expected):
    assert expected in compose_error(*overrides)


def test_unknown_recipe_lists_the_recipes():
    message = compose_error("+recipe=mpl")
    assert all(r in message for r in RECIPES)


# ------------------------------------------------------------------ validate()

def validate_error(*overrides):
    cfg = load_config(list(overrides), validate=False)
    with pytest.raises(ConfigError) as e:
        validate(cfg)
    return str(e.value)


def test_missing_value_names_the_key_and_an_example():
    message = validate_error("data=mnist")
    assert message.startswith("data.path has no value") and "data.path=~/data/mnist" in message
    assert "initializer.value" in validate_error("initializer=constant")
    assert "initializer.path" in validate_error("initializer=load")


def test_invalid_mixed_regex_names_the_pattern_and_its_key():
    message = validate_error("initializer=mixed", 'initializer.patterns.1.pattern="fc1_(weight"')
    assert "initializer.patterns.1.pattern='fc1_(weight'" in message
    assert "not a valid regular expression" in message and "'.*bias'" in message


def test_unknown_nested_initializer_lists_the_valid_names():
    message = validate_error("initializer=mixed", "initializer.patterns.0.init.name=bogus")
    assert "initializer.patterns.0.init.name='bogus' is not a known initializer" in message
    assert "xavier" in message and "msraprelu" in message


def test_nested_initializer_keys_are_typed():
    message = validate_error("initializer=mixed", "+initializer.patterns.2.init.magnitdue=3")
    assert "initializer.patterns.2.init" in message and "'magnitdue'" in message
    message = validate_error("initializer=mixed", "initializer.patterns.2.init.magnitude=big")
    assert "initializer.patterns.2.init" in message and "magnitude" in message


def test_init_spec_reads_every_mxnet_spelling(params_file):
    assert init_spec("ZEROS") == {"name": "zero"}  # registry names are case-insensitive
    assert init_spec(["normal", {"sigma": 2}]) == {"name": "normal", "sigma": 2.0}
    assert init_spec('["xavier", {"factor_type": "in", "magnitude": 2.45}]') == {
        "name": "xavier", "factor_type": "in", "magnitude": 2.45}
    cfg = load_config(["initializer=load", f"initializer.path={params_file}",
                       "initializer.default_init=uniform"])
    assert init_spec(cfg.initializer)["default_init"] == {"name": "uniform"}
    message = validate_error("initializer=load", f"initializer.path={params_file}",
                             "initializer.default_init.name=nope")
    assert "initializer.default_init.name='nope'" in message
    assert "is not a valid dumps() string" in validate_error(
        "initializer=mixed", "initializer.patterns.0.init='[\"normal\", {sigma}]'")


def test_init_spec_of_the_shipped_mixed():
    # What the builder hands to the engine: plain dicts, nested specs normalised.
    cfg = load_config(["initializer=mixed", "initializer.patterns.2.init=normal",
                       """initializer.patterns.1.init='["orthogonal", {"scale": 2.0}]'"""])
    assert init_spec(cfg.initializer) == {"name": "mixed", "patterns": [
        {"pattern": ".*bias", "init": {"name": "zero"}},
        {"pattern": "fc1_weight", "init": {"name": "orthogonal", "scale": 2.0}},
        {"pattern": ".*", "init": {"name": "normal"}}]}


def test_load_path_must_exist():
    message = validate_error("initializer=load", "initializer.path=no/such.params")
    assert "initializer.path='no/such.params'" in message and "no such file" in message


def test_empty_mixed_is_an_error():
    assert "initializer.patterns is empty" in validate_error("initializer=mixed",
                                                             "initializer.patterns=[]")


def test_switching_the_name_instead_of_the_group():
    message = validate_error("initializer.name=normal")
    assert "initializer=normal" in message
    message = validate_error("optimizer.name=adam")
    assert "optimizer=adam" in message


@pytest.mark.parametrize("override,key", [
    ("+trainer.epoch=3", "trainer.epochs"),
    ("+optimizer.momentun=0.5", "optimizer.momentum"),
    ("+data.vall_fraction=0.1", "data.val_fraction"),
])
def test_plus_typos_are_caught_with_a_suggestion(override, key):
    message = validate_error(override)
    assert f"Unknown key {override[1:].split('=')[0]}" in message and f"Did you mean {key}?" in message


def test_plus_recipe_without_a_recipe_group_is_caught():
    cfg = load_config(validate=False)
    with open_dict(cfg):
        cfg.recipe = "mlp"  # what `+recipe=mlp` gives when the group is not registered
    with pytest.raises(ConfigError, match="no recipe was applied"):
        validate(cfg)


@pytest.mark.parametrize("override,expected", [
    ("trainer.batch_size=0", "trainer.batch_size=0 is out of range: it must be 1 or more"),
    ("data.val_fraction=1.0", "data.val_fraction=1.0 is out of range"),
    ("optimizer.lr=-0.1", "optimizer.lr=-0.1 is out of range"),
    ("model.dropout=1.5", "model.dropout=1.5 is out of range"),
    ("model.hidden=[64,0]", "model.hidden=[64, 0]"),
    ("optimizer.lr_scheduler.name=multifactor", "optimizer.lr_scheduler.steps=[]"),
])
def test_values_out_of_range(override, expected):
    assert expected in validate_error(override)


def test_logreg_with_hidden_layers():
    assert "model=logreg has no hidden layers" in validate_error("+recipe=logreg",
                                                                 "model.hidden=[32]")


def test_early_stopping_on_validation_needs_a_validation_set():
    message = validate_error("trainer.early_stopping.patience=3", "data.val_fraction=0")
    assert "data.val_fraction=0" in message
    load_config(["trainer.early_stopping.patience=3", "data.val_fraction=0",
                 "trainer.early_stopping.monitor=train_loss"])


def test_resume_path_must_exist(tmp_path):
    assert "trainer.resume='nowhere/run'" in validate_error("trainer.resume=nowhere/run")
    load_config([f"trainer.resume={tmp_path}"])


def test_gpu_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    message = validate_error("device=gpu")
    assert "CuPy" in message and "device=cpu" in message


def fake_cupy(count):
    runtime = types.SimpleNamespace(getDeviceCount=lambda: count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime))


@pytest.mark.parametrize("count,device_id,expected", [
    (0, 0, "finds no usable GPU"),
    (1, 1, "device.id=1, but CuPy sees only 1 GPU(s)"),
])
def test_gpu_that_is_not_there(monkeypatch, count, device_id, expected):
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(count))
    assert expected in validate_error("device=gpu", f"device.id={device_id}")


# ------------------------------------------------------------------ the files themselves

def yaml_files():
    return sorted(conf_dir().rglob("*.yaml")) + sorted(recipes_dir().glob("*.yaml"))


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_yaml_key_is_commented(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if re.match(r"^\s*(- )?[A-Za-z_]\w*:\s*\S", line) and "#" not in line:
            pytest.fail(f"{path}:{number}: a key without a comment: {line.strip()}")


@pytest.mark.parametrize("path", sorted(recipes_dir().glob("*.yaml")), ids=lambda p: p.name)
def test_recipes_are_global_packages(path):
    assert path.read_text().startswith("# @package _global_\n")
