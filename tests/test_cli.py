"""The real command line, `python -m trainkit`, in a subprocess run from tmp_path (never
main() in-process: it would parse pytest's argv and write outputs/ into the repo)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import trainkit.app

REPO = Path(trainkit.app.__file__).resolve().parents[2]  # the folder holding trainkit/


def trainkit(tmp_path, *args, **env):
    environ = dict(os.environ)
    environ.pop("HYDRA_FULL_ERROR", None)  # a developer's shell setting must not change the output
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "trainkit", *args], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, timeout=120)


def test_recipe_mlp_runs_and_writes_its_run_folder(tmp_path):
    r = trainkit(tmp_path, "+recipe=mlp", "hydra.run.dir=run")
    assert r.returncode == 0, r.stderr
    assert "data digits: train X (1438, 64)" in r.stdout
    saved = yaml.safe_load((tmp_path / "run/.hydra/config.yaml").read_text())
    assert saved["model"]["hidden"] == [128] and saved["trainer"]["epochs"] == 20
    assert (tmp_path / "run/trainkit.log").is_file()


def test_default_run_folder_is_dated_with_microseconds(tmp_path):
    r = trainkit(tmp_path, "data=synthetic", "data.n_samples=40")
    assert r.returncode == 0, r.stderr
    (day,) = (tmp_path / "outputs").iterdir()
    (run,) = day.iterdir()
    assert len(day.name) == 10 and len(run.name) == len("12-34-56.123456")


def test_cfg_job_shows_every_override_taking_effect(tmp_path):
    r = trainkit(tmp_path, "+recipe=mlp", "optimizer.lr=0.05", "initializer=xavier",
                 "initializer.magnitude=2", "model.hidden=[256,128]", "device=cpu",
                 "trainer.epochs=5", "seed=3", "--cfg", "job")
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    assert cfg["optimizer"]["lr"] == 0.05 and cfg["optimizer"]["momentum"] == 0.9
    assert cfg["initializer"] == {"name": "xavier", "rnd_type": "uniform",
                                  "factor_type": "avg", "magnitude": 2.0}
    assert cfg["model"]["hidden"] == [256, 128] and cfg["device"]["name"] == "cpu"
    assert cfg["trainer"]["epochs"] == 5 and cfg["seed"] == 3


def test_user_recipe_from_a_config_dir(tmp_path):
    (tmp_path / "myconf/recipe").mkdir(parents=True)
    (tmp_path / "myconf/recipe/mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /initializer: mixed\n"
        "trainer:\n  epochs: 3\n")
    r = trainkit(tmp_path, "-cd", "myconf", "+recipe=mine", "--cfg", "job")
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    assert cfg["trainer"]["epochs"] == 3 and cfg["initializer"]["name"] == "mixed"


@pytest.mark.parametrize("args,message", [
    (["optimizer.lrr=0.1"], "Key 'lrr' not in 'SGDConf'"),
    (["+recipe=mpl"], "Could not find 'recipe/mpl'"),
    (["+trainer.epoch=3"], "trainkit: error: Unknown key trainer.epoch"),
    (["data=csv", "data.path=missing.csv"], "trainkit: error: data.path='missing.csv'"),
    (["initializer=mixed", "initializer.patterns.0.pattern='(bias'"],
     "initializer.patterns.0.pattern='(bias' is not a valid regular expression"),
])
def test_errors_exit_1_with_one_message_and_no_traceback(tmp_path, args, message):
    r = trainkit(tmp_path, *args, "hydra.run.dir=run")
    assert r.returncode == 1
    assert message in r.stderr and "Traceback" not in r.stderr + r.stdout
    if message.startswith("trainkit: error:"):
        assert r.stderr.count("trainkit: error:") == 1 and r.stderr.count("\n") == 1
        assert message in (tmp_path / "run/trainkit.log").read_text()  # kept with the run


def test_full_error_shows_the_traceback(tmp_path):
    r = trainkit(tmp_path, "data=csv", "data.path=missing.csv", "hydra.run.dir=run",
                 HYDRA_FULL_ERROR="1")
    assert r.returncode == 1
    assert "Traceback" in r.stderr and "DataError" in r.stderr
