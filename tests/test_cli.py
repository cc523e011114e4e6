"""The real command line, `python -m trainkit`, in a subprocess run from tmp_path (never
main() in-process: it would parse pytest's argv and write outputs/ into the repo)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import trainkit as mx
import trainkit.app

REPO = Path(trainkit.app.__file__).resolve().parents[2]  # the folder holding trainkit/


def trainkit(tmp_path, *args, **env):
    environ = dict(os.environ)
    environ.pop("HYDRA_FULL_ERROR", None)  # a developer's shell setting must not change the output
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "trainkit", *args], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, timeout=120)


def metrics(folder):
    return [json.loads(line) for line in (Path(folder) / "metrics.jsonl").read_text().splitlines()]


def no_time(lines):
    return [{k: v for k, v in line.items() if k != "time"} for line in lines]


def test_recipe_mlp_trains_digits_to_96_percent_and_writes_its_run_folder(tmp_path):
    start = time.perf_counter()
    r = trainkit(tmp_path, "+recipe=mlp", "hydra.run.dir=run")
    wall = time.perf_counter() - start
    assert r.returncode == 0, r.stderr
    assert "data digits: train X (1438, 64)" in r.stdout and "epoch 20/20: train_loss=" in r.stdout
    run = tmp_path / "run"
    saved = yaml.safe_load((run / ".hydra/config.yaml").read_text())
    assert saved["model"]["hidden"] == [128] and saved["trainer"]["epochs"] == 20
    resolved = yaml.safe_load((run / "config_resolved.yaml").read_text())
    assert resolved["initializer"]["name"] == "xavier" and resolved["optimizer"]["lr"] == 0.1
    lines = metrics(run)
    assert [m["epoch"] for m in lines] == list(range(1, 21))
    assert set(lines[0]) == {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "time"}
    assert lines[-1]["val_accuracy"] >= 0.96 and wall < 20
    for name in ("model-symbol.json", "model-0020.params", "model-0020.states", "trainer-0020.json",
                 "trainer-0020.state", "best.params", "trainkit.log"):
        assert (run / name).is_file(), name
    assert "epoch 20/20" in (run / "trainkit.log").read_text()
    assert "Traceback" not in r.stderr and "\r" not in r.stderr  # no progress bars off a terminal


def test_the_issue_overrides_train_that_model(tmp_path):
    r = trainkit(tmp_path, "+recipe=mlp", "optimizer.lr=0.05", "initializer=xavier", "initializer.magnitude=2",
                 "model.hidden=[256,128]", "device=cpu", "trainer.epochs=5", "seed=3", "hydra.run.dir=run")
    assert r.returncode == 0, r.stderr
    run = tmp_path / "run"
    lines = metrics(run)
    assert len(lines) == 5 and all(m["lr"] == 0.05 for m in lines) and lines[-1]["val_accuracy"] > 0.9
    params = mx.nd.load(str(run / "model-0005.params"))
    assert {k: v.shape for k, v in params.items()} == {
        "arg:fc1_weight": (256, 64), "arg:fc1_bias": (256,), "arg:fc2_weight": (128, 256), "arg:fc2_bias": (128,),
        "arg:fc3_weight": (10, 128), "arg:fc3_bias": (10,)}
    assert json.loads((run / "trainer-0005.json").read_text())["seed"] == 3


SMALL = ["data=synthetic", "data.n_samples=300", "model.dropout=0.2", "model.batchnorm=true", "optimizer=adam",
         "optimizer.lr=0.01"]


def test_same_seed_same_results_and_resume_is_exact(tmp_path):
    """Two runs with one seed agree; 2 epochs + resume to 4 == 4 epochs (except `time`)."""
    for name, extra in (("a", ["trainer.epochs=4"]), ("b", ["trainer.epochs=4"]), ("half", ["trainer.epochs=2"])):
        r = trainkit(tmp_path, *SMALL, *extra, f"hydra.run.dir={name}")
        assert r.returncode == 0, r.stderr
    assert no_time(metrics(tmp_path / "a")) == no_time(metrics(tmp_path / "b"))
    r = trainkit(tmp_path, *SMALL, "trainer.epochs=4", "trainer.resume=half", "hydra.run.dir=resumed")
    assert r.returncode == 0, r.stderr
    assert no_time(metrics(tmp_path / "resumed")) == no_time(metrics(tmp_path / "a"))
    assert "resumed from" in r.stdout and len(metrics(tmp_path / "half")) == 2
    meta = json.loads((tmp_path / "resumed/trainer-0004.json").read_text())
    assert meta["resumed_from"] == str((tmp_path / "half").resolve())


def test_recipe_gluon_mlp_trains_digits_writes_gluon_files_and_resumes_exactly(tmp_path):
    """+recipe=gluon_mlp: a hybridized HybridSequential of Dense layers, >= 96%, Gluon's checkpoint files;
    8 epochs then trainer.resume=PATH (a new folder) or resume=auto (in place) == 20 epochs at once."""
    r = trainkit(tmp_path, "+recipe=gluon_mlp", "hydra.run.dir=run")
    assert r.returncode == 0, r.stderr
    run = tmp_path / "run"
    lines = metrics(run)
    assert [m["epoch"] for m in lines] == list(range(1, 21)) and lines[-1]["val_accuracy"] >= 0.96
    for name in ("model-0020.params", "model-export-symbol.json", "model-export-0020.params", "model-0020.states",
                 "trainer-0020.json", "trainer-0020.state", "best.params", "trainkit.log", "status.json"):
        assert (run / name).is_file(), name
    assert not (run / "model-symbol.json").exists()
    assert set(mx.nd.load(str(run / "model-0020.params"))) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert set(mx.nd.load(str(run / "model-export-0020.params"))) == {
        "arg:fc1_weight", "arg:fc1_bias", "arg:fc2_weight", "arg:fc2_bias"}
    assert json.loads((run / "trainer-0020.json").read_text())["model"] == "gluon"
    r = trainkit(tmp_path, "+recipe=gluon_mlp", "trainer.epochs=8", "hydra.run.dir=half")
    assert r.returncode == 0, r.stderr
    r = trainkit(tmp_path, "+recipe=gluon_mlp", "trainer.resume=half", "hydra.run.dir=resumed")
    assert r.returncode == 0 and "resumed from" in r.stdout, r.stderr
    assert no_time(metrics(tmp_path / "resumed")) == no_time(lines)
    r = trainkit(tmp_path, "+recipe=gluon_mlp", "trainer.resume=auto", "hydra.run.dir=half")
    assert r.returncode == 0, r.stderr
    assert no_time(metrics(tmp_path / "half")) == no_time(lines)
    r = trainkit(tmp_path, "+recipe=mlp", "trainer.resume=half", "hydra.run.dir=other")
    assert r.returncode == 1 and "model.name: 'gluon_mlp' there, 'mlp' now" in r.stderr


def test_model_gluon_mlp_trains_to_model_mlp_numbers_and_dry_runs(tmp_path):
    for model in ("mlp", "gluon_mlp"):
        r = trainkit(tmp_path, *SMALL, f"model={model}", "trainer.epochs=2", "trainer.keep_last=1",
                     "trainer.checkpoint_every=1", f"hydra.run.dir={model}")
        assert r.returncode == 0, r.stderr
    assert no_time(metrics(tmp_path / "gluon_mlp")) == no_time(metrics(tmp_path / "mlp"))
    r = trainkit(tmp_path, "+recipe=mlp_mixed", "model=gluon_mlp", "dry_run=true", "hydra.run.dir=dry")
    assert r.returncode == 0, r.stderr
    assert "model: gluon_mlp  data (64 features) -> fc1_fwd -> relu1_fwd -> fc2_fwd (10 classes)" in r.stdout
    row = next(line for line in r.stdout.splitlines() if line.startswith("fc1_weight"))
    assert "128x64" in row and "orthogonal" in row and row.split()[-1] == "8,192"
    assert "total: 9,610 parameters in 4 arrays" in r.stdout and not (tmp_path / "dry/metrics.jsonl").exists()


def test_dry_run_prints_the_parameter_table_and_trains_nothing(tmp_path):
    r = trainkit(tmp_path, "+recipe=mlp_mixed", "dry_run=true", "hydra.run.dir=run")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "fc1 -> relu1 -> fc2 (10 classes)" in out
    header = next(line for line in out.splitlines() if line.startswith("name"))
    assert header.split() == ["name", "shape", "init", "pattern", "mean", "std", "count"]
    row = next(line for line in out.splitlines() if line.startswith("fc1_weight"))
    assert "128x64" in row and "orthogonal" in row and row.split()[-1] == "8,192"
    # orthogonal rows of scale 1.414 over 128x64: rms = 1.414 / sqrt(128)
    assert float(row.split()[-2]) == pytest.approx(1.414 / 128 ** 0.5, rel=1e-4)
    assert "fc2_bias" in out and ".*bias" in out
    assert "total: 9,610 parameters in 4 arrays" in out and "nothing was trained" in out
    assert not (tmp_path / "run/metrics.jsonl").exists() and (tmp_path / "run/config_resolved.yaml").is_file()


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


def test_a_user_config_that_sets_hydra_mode_still_decides_the_mode(tmp_path):
    # trainkit skips Hydra's first composition (it only reads hydra.mode) unless other configs take part
    (tmp_path / "myconf/recipe").mkdir(parents=True)
    (tmp_path / "myconf/recipe/sweep.yaml").write_text(
        "# @package _global_\nhydra:\n  mode: MULTIRUN\n  sweep:\n    dir: swept\n"
        "trainer:\n  epochs: 1\n")
    r = trainkit(tmp_path, "-cd", "myconf", "+recipe=sweep", "model.hidden=[8]")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "swept/0/metrics.jsonl").is_file()  # a sweep of one job, as Hydra decided


def test_hydras_mode_probe_is_skipped_only_for_trainkits_own_configs(monkeypatch):
    from hydra._internal.hydra import Hydra
    from trainkit.app import cli
    monkeypatch.setattr(Hydra, "get_mode", Hydra.__dict__["get_mode"])  # put back after the test
    cli._skip_hydras_mode_probe(["-cd", "myconf"])
    probe = cli._hydras_probe  # Hydra's own, kept from the first call
    assert Hydra.get_mode is probe and probe.__module__.startswith("hydra")
    for args in (["hydra.mode=MULTIRUN"], ["-cd", "myconf"], ["--config-name=other"],
                 ["hydra.searchpath=[file:///elsewhere]"], ["+hydra.searchpath=[pkg://x]"]):
        cli._skip_hydras_mode_probe(["+recipe=mlp", "optimizer.lr=0.05", "-m"])
        assert Hydra.get_mode is not probe and Hydra.get_mode(None, "config", []) is None
        cli._skip_hydras_mode_probe(["+recipe=mlp", *args])  # a second command in the same process
        assert Hydra.get_mode is probe, args
    assert cli._SETS_MODE.search("hydra:\n  mode: MULTIRUN\n") and not cli._SETS_MODE.search("  mode: auto\n")


@pytest.mark.parametrize("args,message", [
    (["optimizer.lrr=0.1"], "Key 'lrr' not in 'SGDConf'"),
    (["+recipe=mpl"], "Could not find 'recipe/mpl'"),
    (["+trainer.epoch=3"], "trainkit: error: Unknown key trainer.epoch"),
    (["data=csv", "data.path=missing.csv"], "trainkit: error: data.path='missing.csv'"),
    (["initializer=mixed", "initializer.patterns.0.pattern='(bias'"],
     "initializer.patterns.0.pattern='(bias' is not a valid regular expression"),
    (["trainer.epochs=1.5"], "Value '1.5' of type 'float' could not be converted to Integer"),
    (["initializer=xavir"], "Could not find 'initializer/xavir'"),
    (["trainer.resume=nowhere"], "trainkit: error: trainer.resume='nowhere' does not exist"),
    (["initializer=bilinear"], "trainkit: error: initializer=bilinear cannot initialize this model"),
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


def test_gpu_where_there_is_none(tmp_path):
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            pytest.skip("this machine has a GPU")
    except Exception:
        pass
    r = trainkit(tmp_path, "device=gpu", "hydra.run.dir=run")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("trainkit: error: device=gpu") and "device=cpu" in r.stderr


def test_resume_folder_without_a_checkpoint(tmp_path):
    (tmp_path / "empty").mkdir()
    r = trainkit(tmp_path, "trainer.resume=empty", "hydra.run.dir=run")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "trainer.resume) holds no checkpoint: no trainer-NNNN.json" in r.stderr


def test_data_with_other_features_than_the_loaded_model(tmp_path):
    """Parameters for 64 inputs (digits) loaded into a model for synthetic data with 20 features."""
    mx.nd.save(str(tmp_path / "digits.params"), {
        "arg:fc1_weight": mx.nd.zeros((64, 64)), "arg:fc1_bias": mx.nd.zeros((64,)),
        "arg:fc2_weight": mx.nd.zeros((4, 64)), "arg:fc2_bias": mx.nd.zeros((4,))})
    r = trainkit(tmp_path, "data=synthetic", "initializer=load", "initializer.path=digits.params",
                 "hydra.run.dir=run")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert ("the data (data=synthetic) has 20 features per sample, but initializer.path='digits.params' holds "
            "fc1_weight (64, 64): a model input of 64 features") in r.stderr
    assert "data.n_features=64" in r.stderr and not (tmp_path / "run/metrics.jsonl").exists()


def test_an_earlier_run_folder_is_refused_before_hydra_writes_into_it(tmp_path):
    (tmp_path / "old/.hydra").mkdir(parents=True)
    (tmp_path / "old/.hydra/config.yaml").write_text("seed: 123\n")
    (tmp_path / "old/metrics.jsonl").write_text('{"epoch": 1}\n')
    r = trainkit(tmp_path, "data=synthetic", "hydra.run.dir=old")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "already holds a run (metrics.jsonl, .hydra/)" in r.stderr and "never overwrites" in r.stderr
    assert (tmp_path / "old/.hydra/config.yaml").read_text() == "seed: 123\n"
    assert (tmp_path / "old/metrics.jsonl").read_text() == '{"epoch": 1}\n'


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    env = dict(os.environ)
    env.pop("HYDRA_FULL_ERROR", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, "-m", "trainkit", "data=synthetic", "data.n_samples=20000",
                             "trainer.epochs=1000", "hydra.run.dir=run"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if "epoch 1/1000:" in line:
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.startswith("trainkit: interrupted (Ctrl-C); checkpoint ")
    run = tmp_path / "run"
    (ckpt,) = sorted(run.glob("trainer-*.json"))
    meta = json.loads(ckpt.read_text())
    number = meta["number"]
    assert (run / f"model-{number:04d}.params").is_file() and (run / f"model-{number:04d}.states").is_file()
    assert meta["epoch"] >= 1 and len(metrics(run)) == meta["epoch"]
    # and it continues from there, into its own folder
    r = trainkit(tmp_path, "data=synthetic", "data.n_samples=20000", f"trainer.epochs={meta['epoch'] + 1}",
                 "trainer.resume=run", "hydra.run.dir=more")
    assert r.returncode == 0, r.stderr
    assert len(metrics(tmp_path / "more")) == meta["epoch"] + 1
    assert no_time(metrics(tmp_path / "more"))[:meta["epoch"]] == no_time(metrics(run))


@pytest.mark.skipif(shutil.which("trainkit") is None, reason="the console script is not installed (pip install -e .)")
def test_console_script(tmp_path):
    r = subprocess.run(["trainkit", "+recipe=logreg", "trainer.epochs=1", "hydra.run.dir=run"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(metrics(tmp_path / "run")) == 1


def run_on_a_terminal(tmp_path, *args):
    """stderr on a pseudo-terminal (40x120), as in an interactive shell; returns what it showed."""
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen([sys.executable, "-m", "trainkit", *args], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    return shown.decode(errors="replace")


def test_progress_bars_on_a_terminal_but_never_in_a_multirun(tmp_path):
    shown = run_on_a_terminal(tmp_path, "data=synthetic", "trainer.epochs=2", "hydra.run.dir=run")
    assert "epochs: 100%" in shown and "2/2" in shown and "epoch 1:" in shown and "loss=" in shown
    shown = run_on_a_terminal(tmp_path, "-m", "data=synthetic", "trainer.epochs=2", "seed=1,2",
                              "hydra.sweep.dir=sweep")
    assert "epochs:" not in shown and "it/s" not in shown and "batch/s" not in shown
