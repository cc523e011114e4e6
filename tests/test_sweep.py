"""Sweeps through the real command line (`-m`): the basic launcher, joblib (parallel jobs) and
submitit_local (the SLURM launcher's path, run locally). Tiny jobs: 1 epoch on 100 samples."""
import json

import pytest

from test_cli import metrics, no_time, trainkit
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
    assert rows[0][:4] == ["job", "status", "overrides", "epoch"] and "val_accuracy" in rows[0]
    assert rows[2][:4] == ["0", "ok", "optimizer.lr=0.01", "1"] and rows[3][:4] == ["1", "ok", "optimizer.lr=0.1", "1"]
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
    (tmp_path / "1/status.json").write_text('{"status": "ok", "exit_status": 0, "error": null}\n')
    # no checkpoint yet: the monitor is the config's task default, val_accuracy, on train_ without val data
    (tmp_path / "1/.hydra/config.yaml").write_text("task:\n  name: classification\n")
    rows = collect(tmp_path)  # job 0 left no status.json: killed before it could write one
    assert rows[0]["status"] == "crashed" and rows[1]["status"] == "stopped early"
    assert rows[1]["best"] == {"metric": "train_accuracy", "mode": "max", "value": 0.75, "epoch": 1}
    assert rows[0]["best"]["value"] is None and "final" not in rows[0]
    table = format_summary(rows)
    assert "optimizer.lr=1.0" in table and "train_accuracy=0.7500@1" in table


# ----- a job that fails: the others run to the end, the summary says which, the sweep exits 1 ----
BAD = ["model.hidden=[8],[0]", "optimizer.lr=0.1,1000000.0"]  # [0]: a config error; lr=1e6: divergence


def check_failed_sweep(r, folder):
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    summary = {tuple(s["overrides"][-2:]): s for s in
               (json.loads(line) for line in (folder / "summary.jsonl").read_text().splitlines())}
    assert len(summary) == 4
    ok = summary[("model.hidden=[8]", "optimizer.lr=0.1")]
    assert ok["status"] == "ok" and ok["epoch"] == 1 and set(ok["final"]) == {
        "train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    assert summary[("model.hidden=[8]", "optimizer.lr=1000000.0")]["status"] == "diverged"
    assert "training diverged" in summary[("model.hidden=[8]", "optimizer.lr=1000000.0")]["error"]
    for lr in ("0.1", "1000000.0"):
        failed = summary[("model.hidden=[0]", f"optimizer.lr={lr}")]
        assert failed["status"] == "failed" and "model.hidden=[0]" in failed["error"]
    assert "3 of 4 jobs did not finish ok" in r.stderr
    assert "diverged" in r.stdout.split("(4 jobs):")[1]


def test_a_failing_job_does_not_stop_the_basic_sweep(tmp_path):
    r = trainkit(tmp_path, "-m", *TINY[:-1], *BAD, "hydra.sweep.dir=sweep")
    check_failed_sweep(r, tmp_path / "sweep")


def test_a_failing_job_does_not_stop_a_joblib_sweep(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    r = trainkit(tmp_path, "-m", *TINY[:-1], *BAD, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                 "hydra.sweep.dir=sweep")
    check_failed_sweep(r, tmp_path / "sweep")


def test_a_failing_job_does_not_stop_a_submitit_sweep(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    r = trainkit(tmp_path, "-m", *TINY[:-1], *BAD, "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5",
                 "hydra.sweep.dir=sweep")
    check_failed_sweep(r, tmp_path / "sweep")


def test_a_reused_sweep_folder_is_refused(tmp_path):
    r = trainkit(tmp_path, "-m", *TINY, "optimizer.lr=0.1", "hydra.sweep.dir=sweep")
    assert r.returncode == 0, r.stderr
    before = (tmp_path / "sweep/0/.hydra/config.yaml").read_text()
    r = trainkit(tmp_path, "-m", *TINY, "optimizer.lr=0.2", "hydra.sweep.dir=sweep")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "'sweep' (hydra.sweep.dir) already holds a sweep" in r.stderr
    assert (tmp_path / "sweep/0/.hydra/config.yaml").read_text() == before


def test_a_preempted_submitit_job_checkpoints_requeues_and_continues_in_place(tmp_path):
    """submitit's preemption signal (SIGUSR2): the Trainer finishes its batch and checkpoints, submitit
    requeues the job (the launcher's checkpoint()), and the requeued job resumes its own folder."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    import os
    import signal
    import subprocess
    import sys
    import time

    from test_cli import REPO
    job = ["data=synthetic", "data.n_samples=1000", "model.hidden=[32]", "model.dropout=0.2", "trainer.epochs=12",
           "trainer.batch_size=16"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("HYDRA_FULL_ERROR", None)
    proc = subprocess.Popen([sys.executable, "-m", "trainkit", "-m", *job, "hydra/launcher=submitit_local",
                             "hydra.launcher.timeout_min=5", "hydra.sweep.dir=sweep"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics_file = tmp_path / "sweep/0/metrics.jsonl"
    deadline = time.time() + 90
    while not (metrics_file.is_file() and metrics_file.read_text().count("\n") >= 2) and time.time() < deadline:
        time.sleep(0.05)
    pids = subprocess.run(["pgrep", "-f", "submitit.core._submit"], capture_output=True, text=True).stdout.split()
    children = [p for p in pids if f"{tmp_path}" in open(f"/proc/{p}/cmdline").read().replace("\0", " ")]
    os.kill(int((children or pids)[0]), signal.SIGUSR2)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    logs = "".join(p.read_text() for p in (tmp_path / "sweep/.submitit").glob("*/*_log.*"))
    assert "SIGUSR2: stopping after this batch and saving a checkpoint" in logs and "Requeued job" in logs
    assert "resumed from" in logs
    r = trainkit(tmp_path, "-m", *job, "hydra.sweep.dir=straight")
    assert r.returncode == 0, r.stderr
    assert no_time(metrics(tmp_path / "sweep/0")) == no_time(metrics(tmp_path / "straight/0"))
