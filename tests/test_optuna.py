"""hparams_search=mlp_optuna through the real CLI: trials return their best epoch; a SQLite study resumes."""
import json
import subprocess
import sys

import pytest

optuna = pytest.importorskip("optuna", reason="the Optuna sweeper is optional: pip install -e '.[optuna]'")
yaml = pytest.importorskip("yaml")


def _study(tmp_path, sweep, db):
    r = subprocess.run([sys.executable, "-m", "trainkit", "-m", "+recipe=mlp", "+hparams_search=mlp_optuna",
                        "hydra.sweeper.n_trials=2", "trainer.epochs=2", "model.hidden=choice([8],[16])",
                        f"hydra.sweeper.storage=sqlite:///{db}", "hydra.sweeper.study_name=t",
                        f"hydra.sweep.dir={tmp_path / sweep}"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return yaml.safe_load((tmp_path / sweep / "optimization_results.yaml").read_text())


def test_study_returns_best_epoch_and_resumes_from_sqlite(tmp_path):
    db = tmp_path / "study.db"
    first = _study(tmp_path, "s1", db)
    bests = []
    for job in ("0", "1"):
        lines = [json.loads(x) for x in (tmp_path / "s1" / job / "metrics.jsonl").read_text().splitlines()]
        bests.append(max(x["val_accuracy"] for x in lines if "val_accuracy" in x))
    assert first["best_value"] == pytest.approx(max(bests))
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{db}")
    assert sorted(t.value for t in study.trials) == pytest.approx(sorted(bests))  # each trial = its best epoch
    _study(tmp_path, "s2", db)
    assert len(optuna.load_study(study_name="t", storage=f"sqlite:///{db}").trials) == 4


def test_plain_hparams_search_minimizes_a_loss_monitor(tmp_path):
    db = tmp_path / "loss.db"
    r = subprocess.run([sys.executable, "-m", "trainkit", "-m", "hparams_search=mlp_optuna", "data=synthetic",
                        "data.n_samples=200", "trainer.early_stopping.monitor=val_loss", "trainer.epochs=2",
                        "hydra.sweeper.n_trials=2", f"hydra.sweeper.storage=sqlite:///{db}",
                        "hydra.sweeper.study_name=loss", f"hydra.sweep.dir={tmp_path / 's'}"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    study = optuna.load_study(study_name="loss", storage=f"sqlite:///{db}")
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    best = []
    for job in ("0", "1"):
        lines = [json.loads(x) for x in (tmp_path / "s" / job / "metrics.jsonl").read_text().splitlines()]
        best.append(min(x["val_loss"] for x in lines))
    assert study.best_value == pytest.approx(min(best))
    results = yaml.safe_load((tmp_path / "s" / "optimization_results.yaml").read_text())
    assert results["best_value"] == pytest.approx(min(best))
