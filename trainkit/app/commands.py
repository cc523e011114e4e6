"""`trainkit evaluate` and `trainkit predict`: a trained run's model in use, from the command line.

    python -m trainkit evaluate run=RUN_DIR [checkpoint=FILE] [split=val|train|all] [data/device overrides]
    python -m trainkit predict  run=RUN_DIR input=FILE.csv|FILE.npz output=PRED.csv [checkpoint=FILE]

cli.main hands these over before Hydra starts: they read a finished run rather than start
one, so nothing here goes through @hydra.main, and no run folder is created. The model comes
back through trainkit.app.saved_run (the run's recorded config, its parameter file); the data
through the same loaders that trained it, with the run's recorded standardization.
"""
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

EVALUATE_HELP = """\
usage: python -m trainkit evaluate run=RUN_DIR [checkpoint=FILE] [split=val|train|all] [OVERRIDES...]

Scores a trained run's model and saves the scores in RUN_DIR/evaluations/ (a new file each time).

  run=RUN_DIR        the folder a training run wrote (it prints it as 'run folder ...')
  checkpoint=FILE    the parameters to use: best.params (the default), model-NNNN.params or
                     trainer-NNNN.json (checked against its recorded sizes and digests);
                     a bare name is looked up in RUN_DIR
  split=val|train|all  which samples: the run's validation split (the default), its training
                     part, or both; with data overrides the default is all of that data
  OVERRIDES          data=NAME, data.KEY=VALUE (e.g. data=csv data.path=test.csv data.header=true)
                     and device=cpu|gpu, device.id=N; the model, task and loss are the run's.
                     Features are scaled with the run's recorded standardization, if it used one.

examples:
  python -m trainkit evaluate run=outputs/2026-12-02/10-39-46.123456
  python -m trainkit evaluate run=RUN checkpoint=model-0005.params split=train
  python -m trainkit evaluate run=RUN data=csv data.path=holdout.csv data.header=true
"""

PREDICT_HELP = """\
usage: python -m trainkit predict run=RUN_DIR input=FILE output=PRED.csv [checkpoint=FILE] [OVERRIDES...]

Writes the model's predictions for every sample of FILE, one CSV row each, in FILE's order:
  task=classification   class, prob_0 .. prob_{K-1}   (the softmax probabilities, summing to 1)
  task=binary           class (0/1), prob              (the probability of class 1)
                        class is the label's name when the training data named its classes
                        ("cat", "dog": numbered in sorted order, recorded in RUN_DIR/labels.json)
  task=regression       value (or value_0, value_1, ... for several targets)

  run=RUN_DIR        the folder a training run wrote
  input=FILE         a .csv or .npz laid out like the training data (features; a label column
                     or npz array may be there too and is ignored); scaled with the run's
                     recorded standardization, if it used one
  output=PRED.csv    a new file (an existing one is never overwritten; choose another name)
  checkpoint=FILE    best.params (the default), model-NNNN.params or trainer-NNNN.json
  OVERRIDES          data.KEY=VALUE for reading the input as the training data was read
                     (data.header, data.delimiter, data.label, data.x_key for data=csv/npz runs);
                     device=cpu|gpu

example:
  python -m trainkit predict run=outputs/2026-12-02/10-39-46.123456 input=new.csv output=pred.csv
"""

_OWN_KEYS = {"evaluate": ("run", "checkpoint", "split"), "predict": ("run", "input", "output", "checkpoint")}
_HELP = {"evaluate": EVALUATE_HELP, "predict": PREDICT_HELP}
SPLITS = ("val", "train", "all")


class CommandError(Exception):
    """A wrong argument to evaluate/predict; the message says which and what to give instead."""

    user_error = True


def main(command, argv):
    """Run ``command`` (evaluate or predict) with its arguments; returns the exit status (0, or 1 after
    printing one paragraph for a mistake a user can fix)."""
    if any(a in ("-h", "--help") for a in argv):
        print(_HELP[command], end="")
        return 0
    try:
        options, overrides = parse_args(command, argv)
        if command == "evaluate":
            evaluate(options, overrides)
        else:
            predict(options, overrides)
    except Exception as exc:
        if not getattr(type(exc), "user_error", False) or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"trainkit {command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


def parse_args(command, argv):
    """``({own key: value}, [data/device overrides])`` from ``KEY=VALUE`` arguments."""
    own, overrides = {}, []
    for arg in argv:
        key = arg.split("=", 1)[0].lstrip("+") if "=" in arg else None
        if key in _OWN_KEYS[command]:
            own[key] = arg.split("=", 1)[1]
        elif key is not None and key.split(".", 1)[0] in ("data", "device") and not arg.startswith("~"):
            overrides.append(arg)
        else:
            keys = " ".join(f"{k}=..." for k in _OWN_KEYS[command])
            raise CommandError(f"unknown argument {arg!r}: {command} takes {keys} and data/device overrides "
                               f"(data=NAME, data.KEY=VALUE, device=cpu); python -m trainkit {command} --help "
                               "explains them.")
    return own, overrides


# ----- evaluate ------------------------------------------------------------------------------------
def evaluate(options, overrides):
    """Score the run's model, print the scores as a table, save them to RUN_DIR/evaluations/."""
    from trainkit.app.saved_run import load_run
    split = options.get("split", "all" if overrides else "val")
    if split not in SPLITS:
        raise CommandError(f"split={split!r} is not a split; use split=val (the run's validation samples), "
                           "split=train or split=all.")
    run = load_run(options.get("run"), options.get("checkpoint"), overrides)
    X, y, described = evaluation_data(run, overrides, split)
    scores = run.trainer.evaluate((X, y))
    record = {"run": str(run.folder.resolve()), "checkpoint": str(Path(run.params_path).resolve()),
              "epoch": run.epoch, "model": str(run.cfg.model.name), "task": run.trainer.task.name,
              "data": _plain(run.cfg.data), "overrides": list(overrides), "split": split, "samples": int(len(X)),
              "metrics": {k: _finite(v) for k, v in scores.items()},
              "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    saved = _save_evaluation(run.folder, record)
    epoch = f" (epoch {run.epoch})" if run.epoch is not None else ""
    print(f"evaluate {run.folder}: model={record['model']} task={record['task']}, {run.what}{epoch}")
    print(f"on {described}: {len(X)} samples")
    width = max(len(k) for k in scores)
    for key, value in scores.items():
        print(f"  {key:<{width}}  {value:.6g}")
    print(f"saved {saved}")
    return record, saved


def evaluation_data(run, overrides, split):
    """``(X, y, description)``: the samples of ``split``, scaled as the model was trained."""
    from trainkit.app.data import load_data
    task = run.trainer.task
    data_cfg = run.cfg.data
    if not overrides or not any(o.lstrip("+").startswith("data") for o in overrides):
        d = load_data(data_cfg, task)  # exactly as the run loaded it, standardization included
        what = f"data={data_cfg.name}"
    else:
        from omegaconf import OmegaConf
        data_cfg = OmegaConf.to_container(data_cfg, resolve=True, enum_to_str=True)
        if "standardize" in data_cfg:
            data_cfg["standardize"] = False  # the run's statistics apply, not this data's own
        if split == "all" and "val_fraction" in data_cfg:
            data_cfg["val_fraction"] = 0.0
        from trainkit.app.data import load_class_names
        d = load_data(data_cfg, task, class_names=load_class_names(run.folder))  # the run's class numbering
        stats = run_standardization(run)
        d.X, d.X_val = _scaled(d.X, stats), _scaled(d.X_val, stats)
        what = f"data={data_cfg['name']}" + (f" ({data_cfg['path']})" if data_cfg.get("path") else "")
    parts = {"val": [(d.X_val, d.y_val)], "train": [(d.X, d.y)], "all": [(d.X, d.y), (d.X_val, d.y_val)]}[split]
    parts = [(X, y) for X, y in parts if len(X)]
    if not parts:
        raise CommandError(f"{what} has no {'validation' if split == 'val' else split} samples (data.val_fraction="
                           f"{data_cfg.get('val_fraction') if isinstance(data_cfg, dict) else data_cfg.val_fraction}); "
                           "use split=train or split=all, or name other data (data.path=...).")
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    label = {"val": "the validation split", "train": "the training part", "all": "all samples"}[split]
    _check_features(X, run, what)
    return X, y, f"{label} of {what}"


def run_standardization(run):
    """The statistics the run scaled its features with (None: it did not)."""
    from trainkit.app.data import load_data, load_standardization
    stats = load_standardization(run.folder)
    if stats is None and run.recorded_data.get("standardize"):
        # a run from before standardization.json: recompute the statistics from its own training data
        stats = load_data(run.recorded_data, run.trainer.task).standardization
    return stats


def _scaled(X, stats):
    from trainkit.app.data import apply_standardization
    if stats is None or not len(X):
        return X
    return np.ascontiguousarray(apply_standardization(X, stats), dtype=np.float32)


def _check_features(X, run, what):
    have = int(np.prod(X.shape[1:])) if X.ndim > 1 else 1
    if have != run.features:
        raise CommandError(f"{what} has {have} feature(s) per sample, but the model of run {str(run.folder)!r} "
                           f"takes {run.features} (its input layer, fc1, was trained on {run.features}). Give data "
                           f"with the {run.features} features of the training data, in the same order.")


def _save_evaluation(folder, record):
    from trainkit import files
    out = Path(folder) / "evaluations"
    try:
        out.mkdir(exist_ok=True)
    except OSError as e:
        raise files.WriteError(out, e) from None
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S") + f".{int(time.time() * 1e6) % 1_000_000:06d}"
    data = (json.dumps(record, indent=1, allow_nan=False) + "\n").encode("utf-8")
    for attempt in range(100):  # two evaluations in the same microsecond: the next free name
        path = out / (f"{stamp}.json" if attempt == 0 else f"{stamp}-{attempt}.json")
        try:
            files.write_new(path, data)
            return path
        except FileExistsError:
            continue
    raise CommandError(f"could not find a free file name in {out}.")


# ----- predict -------------------------------------------------------------------------------------
def predict(options, overrides):
    """Write the predictions for every sample of input= to output= (a new CSV file)."""
    from trainkit import files
    from trainkit.app.data import read_features
    from trainkit.app.saved_run import load_run
    source, target = options.get("input"), options.get("output")
    if not source:
        raise CommandError("input= is missing: give input=FILE.csv or input=FILE.npz, the samples to predict "
                           "(laid out like the training data).")
    if not target:
        raise CommandError("output= is missing: give output=PRED.csv, a new file for the predictions.")
    out = Path(os.path.expanduser(target))
    _check_output(out, target)
    path = Path(os.path.expanduser(source))
    if not path.is_file():
        where = "" if path.is_absolute() else f" (relative to {os.getcwd()})"
        raise CommandError(f"input={source!r}: no such file{where}. Give the .csv or .npz file of samples to "
                           "predict.")
    run = load_run(options.get("run"), options.get("checkpoint"), overrides)
    task = run.trainer.task
    X, _, _ = read_features(path, run.cfg.data, require_label=False, task=task, n_features=run.features)
    if not len(X):
        raise CommandError(f"input={source!r} holds no samples.")
    _check_features(X, run, f"input={source!r}")
    X = _scaled(X, run_standardization(run))
    columns = task.predict(run.trainer.predict_logits(X).asnumpy())
    from trainkit.app.data import load_class_names
    names = load_class_names(run.folder)
    if names is not None and "class" in columns:  # the data named its classes: write the names, not indices
        columns["class"] = np.array([names[i] for i in columns["class"]], dtype=object)
    try:
        files.write_new(out, to_csv(columns).encode("utf-8"))
    except FileExistsError:
        _check_output(out, target)  # it appeared meanwhile: the same message
        raise
    names = list(columns)
    shown = ", ".join(names) if len(names) <= 4 else f"{names[0]}, {names[1]} .. {names[-1]}"
    print(f"predict {run.folder}: model={run.cfg.model.name} task={task.name}, {run.what}"
          f"{f' (epoch {run.epoch})' if run.epoch is not None else ''}")
    print(f"wrote {len(X)} predictions ({shown}) to {out}")
    return out, columns


def _check_output(out, given):
    if out.exists() or out.is_symlink():
        stem, suffix = out.stem, out.suffix or ".csv"
        raise CommandError(f"output={given!r} already exists; trainkit never overwrites a file. Choose another "
                           f"name (e.g. output={out.with_name(f'{stem}-2{suffix}')}) or move that file away first.")
    if not out.parent.is_dir():
        raise CommandError(f"output={given!r}: the folder {str(out.parent)!r} does not exist; create it or write "
                           "the predictions elsewhere.")


def to_csv(columns):
    """A header row of the column names, then one row per sample; floats in their shortest exact form."""
    names = list(columns)
    cells = []
    for name in names:
        values = np.asarray(columns[name])
        if values.dtype.kind == "f":
            cells.append([str(v) for v in values.astype(np.float32)])
        else:
            cells.append([str(v) for v in values.tolist()])
    import csv
    import io
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")  # quotes a class name holding a comma or a quote
    writer.writerow(names)
    writer.writerows(zip(*cells))
    return buf.getvalue()


# ----- helpers -------------------------------------------------------------------------------------
def _plain(node):
    from omegaconf import OmegaConf
    return OmegaConf.to_container(node, resolve=True, enum_to_str=True)


def _finite(value):
    value = float(value)
    return value if np.isfinite(value) else None
