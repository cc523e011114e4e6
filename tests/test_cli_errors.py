"""Bad inputs through the real command line: exit status 1, one line on stderr naming the thing, no
traceback; and the routes that must never rewrite a finished run's files."""
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from test_cli import REPO, metrics, no_time, trainkit

TINY = ["data=synthetic", "data.n_samples=100", "trainer.epochs=2", "model.hidden=[8]"]


def one_line_error(r, *needles):
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "Error executing job" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trainkit: error: "), r.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 2-epoch run with a checkpoint per epoch."""
    folder = tmp_path_factory.mktemp("finished")
    r = trainkit(folder, *TINY, "trainer.checkpoint_every=1", "hydra.run.dir=run")
    assert r.returncode == 0, r.stderr
    return folder / "run"


# ----- damaged checkpoints ------------------------------------------------------------------------
@pytest.mark.parametrize("victim", ["model-0002.params", "model-0002.states", "trainer-0002.state",
                                    "trainer-0002.json"])
@pytest.mark.parametrize("damage", ["truncated", "empty", "random"])
def test_a_damaged_checkpoint_is_named(tmp_path, finished, victim, damage):
    import shutil
    run = tmp_path / "old"
    shutil.copytree(finished, run)
    data = (run / victim).read_bytes()
    (run / victim).write_bytes({"truncated": data[:len(data) // 3], "empty": b"",
                                "random": np.random.default_rng(0).bytes(max(len(data), 8))}[damage])
    r = trainkit(tmp_path, *TINY, "trainer.epochs=3", "trainer.resume=old/trainer-0002.json", "hydra.run.dir=new")
    one_line_error(r, victim)
    # a folder falls back to the previous complete checkpoint, with a warning naming the damaged file
    r = trainkit(tmp_path, *TINY, "trainer.epochs=3", "trainer.resume=old", "hydra.run.dir=new2")
    assert r.returncode == 0, r.stderr
    assert victim in r.stdout and "resuming from the previous complete checkpoint" in r.stdout
    assert [m["epoch"] for m in metrics(tmp_path / "new2")] == [1, 2, 3]


# ----- bad config values and data -------------------------------------------------------------------
@pytest.mark.parametrize("args,needles", [
    (["initializer=normal", "initializer.sigma=-1"], ["initializer=normal", "sigma must be a finite number >= 0"]),
    (["initializer=xavier", "initializer.magnitude=-2"], ["initializer=xavier", "magnitude"]),
    (["model.hidden=[2000000000]"], ["GiB", "model.hidden"]),
])
def test_bad_values_are_one_line(tmp_path, args, needles):
    one_line_error(trainkit(tmp_path, *TINY, *args, "hydra.run.dir=run"), *needles)


def test_initializer_load_on_a_csv(tmp_path):
    (tmp_path / "w.csv").write_text("1,2,3\n4,5,6\n")
    one_line_error(trainkit(tmp_path, *TINY, "initializer=load", "initializer.path=w.csv", "hydra.run.dir=run"),
                   "initializer.path='w.csv' cannot be read as saved parameters")


@pytest.mark.parametrize("x,needle", [
    (np.array([["a", "b"], ["c", "d"], ["e", "f"], ["g", "h"]]), "have dtype <U1 (text)"),
    (np.array([[1, None], [2, 3], [4, 5], [6, 7]], dtype=object), "cannot be read without running pickled code"),
])
def test_npz_of_strings_or_objects(tmp_path, x, needle):
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 0, 1]))
    one_line_error(trainkit(tmp_path, "data=npz", "data.path=d.npz", "hydra.run.dir=run"), "d.npz", needle)


def test_a_label_of_1e9_is_refused_not_a_billion_classes(tmp_path):
    rows = [f"{i % 3}.0,{i % 5}.5,{i % 3}" for i in range(30)] + ["1.0,2.0,1000000000"]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    one_line_error(trainkit(tmp_path, "data=csv", "data.path=d.csv", "hydra.run.dir=run"),
                   "the largest is 1000000000", "model.num_classes")


def test_non_finite_features_name_row_and_column(tmp_path):
    rows = [f"{i % 3}.0,{i % 5}.5,{i % 2}" for i in range(20)]
    rows[7] = "1.0,inf,1"
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    one_line_error(trainkit(tmp_path, "data=csv", "data.path=d.csv", "hydra.run.dir=run"),
                   "sample 7 (0-based), feature column 1 is inf")


def test_the_number_of_classes_is_reported(tmp_path):
    r = trainkit(tmp_path, *TINY, "hydra.run.dir=run")
    assert r.returncode == 0 and "4 classes (inferred from the labels 0..3" in r.stdout


# ----- folders that must not be rewritten ------------------------------------------------------------
@pytest.mark.parametrize("key", ["hydra.run.dir", "+hydra.run.dir", "++hydra.run.dir"])
def test_a_finished_run_is_never_rewritten(tmp_path, finished, key):
    import shutil
    shutil.copytree(finished, tmp_path / "old")
    before = {p: p.read_bytes() for p in (tmp_path / "old").rglob("*") if p.is_file()}
    r = trainkit(tmp_path, *TINY, f"{key}=old")
    one_line_error(r, "'old' already holds a run", "trainer.resume=auto")
    assert {p: p.read_bytes() for p in (tmp_path / "old").rglob("*") if p.is_file()} == before


def test_two_runs_started_together_never_share_a_folder(tmp_path):
    env = dict(__import__("os").environ, PYTHONPATH=str(REPO))
    env.pop("HYDRA_FULL_ERROR", None)
    procs = [subprocess.Popen([sys.executable, "-m", "trainkit", *TINY, "hydra.run.dir=same"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 1], results
    err = next(e for code, e in results if code == 1)
    assert "Traceback" not in err and ("another run has just started in 'same'" in err or "already holds" in err)


def test_resume_auto_continues_in_place_and_keeps_the_first_config(tmp_path):
    r = trainkit(tmp_path, *TINY, "hydra.run.dir=run", "trainer.resume=auto")
    assert r.returncode == 0, r.stderr
    first = (tmp_path / "run/.hydra/config.yaml").read_text()
    r = trainkit(tmp_path, *TINY, "trainer.epochs=3", "optimizer.lr=0.05", "hydra.run.dir=run", "trainer.resume=auto")
    assert r.returncode == 0, r.stderr
    assert [m["epoch"] for m in metrics(tmp_path / "run")] == [1, 2, 3] and metrics(tmp_path / "run")[2]["lr"] == 0.05
    assert (tmp_path / "run/.hydra/config.yaml").read_text() == first
    (resumed,) = (tmp_path / "run/.hydra").glob("resume-*")
    assert yaml.safe_load((resumed / "config.yaml").read_text())["trainer"]["epochs"] == 3
    meta = json.loads((tmp_path / "run/trainer-0003.json").read_text())
    assert meta["config_changes"][-1]["changes"]["optimizer.lr"] == [0.1, 0.05]
    assert meta["config_changes"][-1]["changes"]["trainer.epochs"] == [2, 3]
    # the result equals a run of 3 epochs whose lr changed after epoch 2 ... and one of 3 epochs in one go
    # differs only from epoch 3 on
    r = trainkit(tmp_path, *TINY, "trainer.epochs=3", "hydra.run.dir=straight")
    assert no_time(metrics(tmp_path / "straight"))[:2] == no_time(metrics(tmp_path / "run"))[:2]


def test_a_change_a_checkpoint_cannot_take_is_refused_with_the_keys(tmp_path, finished):
    r = trainkit(tmp_path, *TINY[:-1], "model.hidden=[16]", "trainer.batch_size=8", "trainer.epochs=3",
                 f"trainer.resume={finished}", "hydra.run.dir=new")
    one_line_error(r, "model.hidden: [8] there, [16] now", "trainer.batch_size: 32 there, 8 now",
                   "Keys that can change on resume")
    assert not (tmp_path / "new").exists() or not (tmp_path / "new/metrics.jsonl").exists()


def test_a_read_only_output_folder_is_one_line(tmp_path):
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here (needs root and mount rights)")
    try:
        one_line_error(trainkit(tmp_path, *TINY, "hydra.run.dir=ro/run"), "'ro/run'", "is read-only")
        one_line_error(trainkit(tmp_path, "-m", *TINY, "hydra.sweep.dir=ro/sweep"), "is read-only")
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
