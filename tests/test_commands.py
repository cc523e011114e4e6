"""`python -m trainkit evaluate` / `predict` through the real command line, on one short training run."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import trainkit.app

REPO = Path(trainkit.app.__file__).resolve().parents[2]


def trainkit(cwd, *args):
    env = dict(os.environ)
    env.pop("HYDRA_FULL_ERROR", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "trainkit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmd")
    r = trainkit(root, "+recipe=mlp", "trainer.epochs=1", "hydra.run.dir=run")
    assert r.returncode == 0, r.stderr
    return root, root / "run"


def test_evaluate_equals_the_runs_validation_scores_and_saves_a_new_file(run):
    root, folder = run
    r = trainkit(root, "evaluate", "run=run")
    assert r.returncode == 0, r.stderr
    assert "on the validation split of data=digits: 359 samples" in r.stdout and "accuracy" in r.stdout
    saved = sorted((folder / "evaluations").glob("*.json"))
    assert len(saved) == 1
    record = json.loads(saved[0].read_text())
    line = json.loads((folder / "metrics.jsonl").read_text().splitlines()[0])
    assert record["metrics"] == {"loss": line["val_loss"], "accuracy": line["val_accuracy"]}
    assert record["epoch"] == 1 and record["split"] == "val" and record["samples"] == 359


def test_evaluate_and_predict_in_process_match_and_probabilities_sum_to_one(run):
    from trainkit.app.commands import to_csv
    from trainkit.app.data import load_dataset
    from trainkit.app.saved_run import load_run
    root, folder = run
    loaded = load_run(folder)
    X, y, Xv, yv = load_dataset(loaded.cfg.data)
    np.savetxt(root / "in.csv", Xv[:7], delimiter=",")
    r = trainkit(root, "predict", "run=run", "input=in.csv", "output=pred.csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader((root / "pred.csv").open()))
    assert rows[0] == ["class"] + [f"prob_{k}" for k in range(10)] and len(rows) == 8
    probs = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    want = loaded.trainer.predict(Xv[:7]).asnumpy()
    np.testing.assert_allclose(probs, want, rtol=1e-6, atol=1e-7)
    assert [int(row[0]) for row in rows[1:]] == want.argmax(axis=1).tolist()
    assert to_csv({"class": np.array([1]), "prob": np.array([0.5], np.float32)}) == \
        "class,prob\n1,0.5\n"
    # a second predict to the same name is refused, and the file is left as it was
    before = (root / "pred.csv").read_bytes()
    r = trainkit(root, "predict", "run=run", "input=in.csv", "output=pred.csv")
    assert r.returncode == 1 and "already exists; trainkit never overwrites" in r.stderr and "pred-2.csv" in r.stderr
    assert (root / "pred.csv").read_bytes() == before


def test_errors_are_one_paragraph(run, tmp_path):
    from trainkit.app import commands
    from trainkit.app.saved_run import RunError, load_run
    root, folder = run
    (tmp_path / "empty").mkdir()
    np.savetxt(tmp_path / "narrow.csv", np.zeros((2, 5)), delimiter=",")
    cases = [
        ((), "run= is missing"),
        (("run=nowhere",), "no such folder"),
        ((f"run={tmp_path / 'empty'}",), "is not a trainkit run folder"),
        ((f"run={folder}", "checkpoint=model-0099.params"), "no such file"),
        ((f"run={folder}", "checkpoint=model-0001.states"), "not the model's parameters"),
        ((f"run={folder}", "split=test"), "is not a split"),
    ]
    for args, message in cases:
        with pytest.raises(Exception) as e:
            options, overrides = commands.parse_args("evaluate", list(args))
            commands.evaluate(options, overrides)
        assert message in str(e.value), (args, str(e.value))
        assert getattr(type(e.value), "user_error", False)
    with pytest.raises(commands.CommandError, match="unknown argument 'optimizer.lr=1'"):
        commands.parse_args("evaluate", ["run=x", "optimizer.lr=1"])
    with pytest.raises(commands.CommandError, match="takes 64"):
        commands.predict({"run": str(folder), "input": str(tmp_path / "narrow.csv"),
                          "output": str(tmp_path / "o.csv")}, [])
    with pytest.raises(commands.CommandError, match="no such file"):
        commands.predict({"run": str(folder), "input": str(tmp_path / "none.csv"),
                          "output": str(tmp_path / "o.csv")}, [])
    (folder / "best.params").rename(folder / "best.params.away")
    try:
        with pytest.raises(RunError, match="has no best.params.*checkpoint=model-0001.params"):
            load_run(folder)
    finally:
        (folder / "best.params.away").rename(folder / "best.params")


def test_text_labels_are_recorded_and_predict_writes_their_names(tmp_path):
    """A CSV whose classes are names: the run keeps them in labels.json, predict writes them (quoted
    when they hold a comma), a CSV without its label column predicts, and evaluate on other data
    keeps the run's numbering even when that data lacks a class."""
    rng = np.random.default_rng(0)
    names = ["cat", "dog, large", "emu"]
    centres = np.array([[0, 0], [4, 0], [0, 4]], dtype=float)
    k = np.arange(150) % 3
    X = centres[k] + rng.normal(0, 0.3, (150, 2))
    with (tmp_path / "pets.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x1", "x2", "kind"])
        w.writerows([[f"{a:.4f}", f"{b:.4f}", names[c]] for (a, b), c in zip(X, k)])
    r = trainkit(tmp_path, "data=csv", "data.path=pets.csv", "data.header=true", "data.label=kind",
                 "trainer.epochs=15", "optimizer.lr=0.05", "hydra.run.dir=run")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "run/labels.json").read_text()) == {"classes": ["cat", "dog, large", "emu"]}
    (tmp_path / "new.csv").write_text("x1,x2\n0.1,0.0\n4.1,0.2\n0.0,3.9\n")  # no label column
    r = trainkit(tmp_path, "predict", "run=run", "input=new.csv", "output=pred.csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader((tmp_path / "pred.csv").open()))
    assert rows[0] == ["class", "prob_0", "prob_1", "prob_2"]
    assert [row[0] for row in rows[1:]] == ["cat", "dog, large", "emu"]
    assert '"dog, large"' in (tmp_path / "pred.csv").read_text()
    # holdout with only two of the classes: scored with the run's class numbers (accuracy stays high)
    (tmp_path / "holdout.csv").write_text('x1,x2,kind\n0.1,0.1,cat\n0.2,-0.1,cat\n-0.1,4.2,emu\n')
    r = trainkit(tmp_path, "evaluate", "run=run", "data.path=holdout.csv")
    assert r.returncode == 0, r.stderr
    record = json.loads(next((tmp_path / "run/evaluations").glob("*.json")).read_text())
    assert record["samples"] == 3 and record["metrics"]["accuracy"] == 1.0
