"""Sweeps through the real command line (`-m`): the basic launcher, joblib (parallel jobs) and
submitit_local (the SLURM launcher's path, run locally). Tiny jobs: 1 epoch on 100 samples."""
import json

import pytest

from test_cli import metrics, trainkit
from trainkit.app.sweep import collect, format_summary

TINY = ["data=synthetic", "data.n_samples=100", "trainer.epochs=1", "model.hidden=[8]"]


def check_sweep(r, folder):
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    for job, lr in (("0", 0.01), ("1", 0.1)):
        lines = metrics(folder / job)
        assert len(lines) == 1 and lines[0]["lr"] == lr
        assert (folder / job / "model-0001.params").is_file() and (folder / job / "config_resolved.yaml").is_file()
    # the table printed at the end: one row per job, showing what varied and the final metrics
    head = next(line for line in r.stdout.splitlines() if line.startswith("sweep "))
    assert head.endswith(f"{folder.name} (2 jobs):")
    rows = [line.split() for line in r.stdout[r.stdout.index(head):].splitlines()[1:]]
    assert rows[0][:3] == ["job", "overrides", "epoch"] and "val_accuracy" in rows[0]
    assert rows[2][:3] == ["0", "optimizer.lr=0.01", "1"] and rows[3][:3] == ["1", "optimizer.lr=0.1", "1"]
    acc = rows[0].index("val_accuracy")
    assert float(rows[3][acc]) == pytest.approx(metrics(folder / "1")[0]["val_accuracy"], abs=1e-4)
    summary = [json.loads(line) for line in (folder / "summary.jsonl").read_text().splitlines()]
    assert [s["job"] for s in summary] == ["0", "1"] and all(s["status"] == "ok" for s in summary)
    assert summary[0]["overrides"] == [*TINY, "optimizer.lr=0.01"]


def test_basic_sweep(tmp_path):
    r = trainkit(tmp_path, "-m", *TINY, "optimizer.lr=0.01,0.1", "hydra.sweep.dir=sweep")
    check_sweep(r, tmp_path / "sweep")
    assert (tmp_path / "sweep/multirun.yaml").is_file()


def test_default_sweep_folder_is_under_outputs_multirun(tmp_path):
    r = trainkit(tmp_path, "-m", *TINY, "optimizer.lr=0.01,0.1")
    (day,) = (tmp_path / "outputs/multirun").iterdir()
    (folder,) = day.iterdir()
    check_sweep(r, folder)


def test_joblib_launcher_runs_jobs_in_parallel(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    r = trainkit(tmp_path, "-m", *TINY, "optimizer.lr=0.01,0.1", "hydra/launcher=joblib",
                 "hydra.launcher.n_jobs=2", "hydra.sweep.dir=sweep")
    check_sweep(r, tmp_path / "sweep")
    assert "Joblib.Parallel(n_jobs=2" in r.stdout


def test_submitit_local_launcher(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    r = trainkit(tmp_path, "-m", *TINY, "optimizer.lr=0.01,0.1", "hydra/launcher=submitit_local",
                 "hydra.launcher.timeout_min=5", "hydra.sweep.dir=sweep")
    check_sweep(r, tmp_path / "sweep")
    logs = list((tmp_path / "sweep/.submitit").glob("*/*_log.out"))
    assert len(logs) == 2


def test_summary_marks_jobs_without_metrics(tmp_path):
    (tmp_path / "0/.hydra").mkdir(parents=True)
    (tmp_path / "0/.hydra/overrides.yaml").write_text("- optimizer.lr=1.0\n")
    (tmp_path / "1/.hydra").mkdir(parents=True)
    (tmp_path / "1/.hydra/overrides.yaml").write_text("- optimizer.lr=2.0\n")
    (tmp_path / "1/metrics.jsonl").write_text('{"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.75}\n')
    rows = collect(tmp_path)
    assert rows[0]["status"].startswith("no metrics") and rows[1]["status"] == "stopped"
    assert rows[1]["best"] == {"metric": "train_accuracy", "value": 0.75, "epoch": 1}
    table = format_summary(rows)
    assert "optimizer.lr=1.0" in table and "0.7500@1" in table
