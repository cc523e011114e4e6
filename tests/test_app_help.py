"""The command line's own pages and spellings: --version, --help (user groups only, with recipes),
hparams_search without `+`, the Optuna direction and the message when the optuna extra is missing."""
import re

import pytest
from hydra import compose, initialize_config_dir

import trainkit
from test_cli import trainkit as run_cli
from trainkit.app.config import conf_dir, help_groups, normalize_overrides, optuna_direction, register_all

USER_GROUPS = ("model", "initializer", "optimizer", "data", "device", "trainer", "task", "loss", "debug",
               "logger", "callbacks", "hparams_search")


@pytest.mark.parametrize("args", [("--version",), ("+recipe=mlp", "--version"), ("-V",)])
def test_version_prints_trainkit_and_its_version(tmp_path, args):
    r = run_cli(tmp_path, *args)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"trainkit {trainkit.__version__}\n"
    assert not (tmp_path / "outputs").exists()


def test_help_lists_the_user_groups_in_order_with_options_and_the_recipes(tmp_path):
    r = run_cli(tmp_path, "--help")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    groups = out.split("== Config groups")[1].split("== Examples")[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^  (\w+): +([^\n]*)$", groups, re.M)}
    listed = [g for g in rows if g != "recipe"]
    assert listed == list(USER_GROUPS)
    assert rows["debug"].startswith("fast_dev_run, overfit")
    assert rows["logger"].startswith("none, tensorboard") and rows["callbacks"].startswith("default, example")
    assert rows["optimizer"].startswith("adagrad, adam, rmsprop, sgd")
    assert rows["recipe"] == "breast_cancer, diabetes, gluon_mlp, logreg, mlp, mlp_mixed, mnist_mlp"
    assert "schema/" not in out and "hydra/" not in out and "$" not in out
    assert f"trainkit {trainkit.__version__}" in out.splitlines()[0]
    assert "\nseed: 0\n" in out  # the composed config ($CONFIG) follows
    assert not (tmp_path / "outputs").exists()


def test_help_shows_a_users_own_groups_and_recipes(tmp_path):
    (tmp_path / "myconf/recipe").mkdir(parents=True)
    (tmp_path / "myconf/recipe/mine.yaml").write_text("# @package _global_\nseed: 7  # mine\n")
    (tmp_path / "myconf/extras").mkdir()
    (tmp_path / "myconf/extras/a.yaml").write_text("x: 1  # an option\n")
    r = run_cli(tmp_path, "-cd", str(tmp_path / "myconf"), "--help")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^  recipe: +.*\bmine\b", r.stdout, re.M)
    assert re.search(r"^  extras: +a$", r.stdout, re.M)


def test_help_groups_outside_a_running_hydra_reads_conf():
    text = help_groups()
    assert "  debug:" in text and "schema" not in text and "mlp_mixed" in text


def test_plus_and_plain_spellings_of_defaulted_groups():
    assert normalize_overrides(["+hparams_search=mlp_optuna", "+debug=overfit", "+callbacks.mine._target_=a.B",
                                "++logger=none", "+recipe=mlp"]) == [
        "hparams_search=mlp_optuna", "debug=overfit", "+callbacks.mine._target_=a.B", "++logger=none", "+recipe=mlp"]


def _sweeper(*overrides):
    register_all()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return compose("config", overrides=normalize_overrides(list(overrides)), return_hydra_config=True)


@pytest.mark.parametrize("overrides,direction", [
    ([], "maximize"),                                                 # val_accuracy
    (["trainer.early_stopping.monitor=val_loss"], "minimize"),
    (["+recipe=diabetes"], "minimize"),                               # regression: val_rmse
    (["+recipe=breast_cancer"], "maximize"),                          # binary: val_auc
    (["trainer.early_stopping.monitor=train_loss", "trainer.early_stopping.mode=max"], "maximize"),
])
def test_optuna_direction_follows_the_monitor(overrides, direction):
    for spelling in ("hparams_search=mlp_optuna", "+hparams_search=mlp_optuna"):
        cfg = _sweeper(spelling, *overrides)
        assert cfg.hydra.sweeper.direction == direction
        assert cfg.hydra.runtime.choices["hydra/sweeper"] == "optuna"


def test_optuna_direction_rule():
    assert optuna_direction(None, "auto", "regression") == "minimize"
    assert optuna_direction("val_mae", "auto") == "minimize" and optuna_direction("val_r2", "auto") == "maximize"


def test_hparams_search_without_the_optuna_extra_is_one_message(tmp_path):
    fake = tmp_path / "site/optuna"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named optuna')\n")
    for spelling in ("hparams_search=mlp_optuna", "+hparams_search=mlp_optuna"):
        r = run_cli(tmp_path, "-m", spelling, PYTHONPATH=f"{tmp_path / 'site'}:{trainkit.app.config._PKG.parent}")
        assert r.returncode == 1
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "pip install 'trainkit[optuna]'" in lines[0], r.stderr
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "outputs").exists()


def test_hparams_search_without_multirun_says_it_is_one_run(tmp_path):
    r = run_cli(tmp_path, "hparams_search=mlp_optuna", "debug=fast_dev_run")
    assert r.returncode == 0, r.stderr
    assert "trainkit: note: hparams_search=mlp_optuna only searches in a sweep; add -m" in r.stderr
    r = run_cli(tmp_path, "debug=fast_dev_run")
    assert "note:" not in r.stderr
