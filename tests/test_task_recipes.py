"""task= through the real CLI: the two recipes, CSV named columns with standardization, errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

from trainkit.app.data import apply_standardization, load_data, load_standardization, read_features


def _cli(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "trainkit", *args], cwd=tmp_path, capture_output=True, text=True)


def _lines(run):
    return [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]


def test_recipes_regression_and_binary_write_their_metrics(tmp_path):
    r = _cli(tmp_path, "+recipe=diabetes", "trainer.epochs=2", f"hydra.run.dir={tmp_path / 'd'}")
    assert r.returncode == 0, r.stderr
    assert set(_lines(tmp_path / "d")[-1]) == {"epoch", "train_loss", "train_mse", "train_mae", "train_rmse",
                                               "train_r2", "val_loss", "val_mse", "val_mae", "val_rmse", "val_r2",
                                               "lr", "time"}
    stats = load_standardization(tmp_path / "d")
    assert stats["features"][:3] == ["age", "sex", "bmi"] and len(stats["mean"]) == 10
    r = _cli(tmp_path, "+recipe=breast_cancer", "trainer.epochs=2", f"hydra.run.dir={tmp_path / 'b'}")
    assert r.returncode == 0, r.stderr
    last = _lines(tmp_path / "b")[-1]
    assert {"val_accuracy", "val_auc", "val_f1"} <= set(last) and last["val_auc"] > 0.95
    r = _cli(tmp_path, "task=regression", "loss=softmax_cross_entropy", "data=diabetes", "dry_run=true",
             f"hydra.run.dir={tmp_path / 'x'}")
    assert r.returncode == 1 and "'softmax_cross_entropy' is a classification loss; task=regression takes " \
                                  "loss=l2 | l1 | huber" in r.stderr + r.stdout


def test_csv_named_columns_and_standardization_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(40, 3))
    path = tmp_path / "d.csv"
    rows = ["a,b,target,c"] + [f"{x[0]},{x[1]},{x[0] - x[2]},{x[2]}" for x in X]
    path.write_text("\n".join(rows) + "\n")
    cfg = {"name": "csv", "path": str(path), "header": True, "label": "target", "features": ["c", "a"],
           "standardize": True, "val_fraction": 0.25, "split_seed": 0}
    d = load_data(cfg, "regression")
    assert d.feature_names == ["c", "a"] and d.X.shape == (30, 2) and d.y.dtype == np.float32
    np.testing.assert_allclose(d.X.mean(0), 0, atol=1e-5)
    Xr, yr, names = read_features(path, cfg, task="regression")
    assert names == ["c", "a"] and yr is not None
    np.testing.assert_allclose(apply_standardization(Xr, d.standardization)[:1], (X[:1, [2, 0]] - d.standardization[
        "mean"]) / d.standardization["std"], rtol=1e-5)
    with pytest.raises(Exception, match="data.label='nope' is not a column of"):
        load_data({**cfg, "label": "nope"}, "regression")
