"""A finished training run, loaded back: its config, its parameters, a Trainer to use them.

    run = load_run("outputs/2026-12-02/10-39-46.123456")         # best.params
    run = load_run(folder, checkpoint="model-0003.params")        # or trainer-0003.json
    run.trainer.evaluate((X, y)); run.trainer.predict(X)

The network is rebuilt from the run's recorded config (config_resolved.yaml, else
.hydra/config.yaml) with the input and output sizes read from the parameter file itself, so
using a model never needs its training data. The Trainer comes from the same
`build.build_trainer` that trained it, so loss, metrics and task are the run's.

`run_config(folder, overrides)` is the recorded config with data/device overrides applied
(`data=csv data.path=x.csv`, `device=cpu`): the groups are composed by Hydra as the command
line would, then the recorded values are laid over them, then the overrides win.
"""
import json
import os
import re
from pathlib import Path

import numpy as np

CONFIG_FILES = ("config_resolved.yaml", ".hydra/config.yaml")
OVERRIDABLE = ("data", "device")  # what using a model may change: where the data is and where to compute


class RunError(Exception):
    """A run folder or a checkpoint that cannot be used; the message says which and what to do."""

    user_error = True  # the command line prints these as one message, without a traceback


# ----- the run folder ------------------------------------------------------------------------------
def run_folder(path, key="run"):
    """The run folder ``path`` as a Path, or RunError saying what is wrong with it."""
    if path in (None, ""):
        raise RunError(f"{key}= is missing: give {key}=RUN_DIR, the folder a training run wrote (it holds "
                       "best.params and config_resolved.yaml, e.g. outputs/2026-12-02/10-39-46.123456).")
    folder = Path(os.path.expanduser(str(path)))
    if not folder.exists():
        where = "" if folder.is_absolute() else f" (relative to {os.getcwd()})"
        raise RunError(f"{key}={path!r}: no such folder{where}. Point {key}= at the folder a training run "
                       "wrote (outputs/DATE/TIME by default; the run prints it as 'run folder ...').")
    if not folder.is_dir():
        raise RunError(f"{key}={path!r} is a file; {key}= wants the run's folder. To use that file's "
                       f"parameters, give {key}=<its folder> checkpoint={folder.name}.")
    if not any((folder / f).is_file() for f in CONFIG_FILES):
        jobs = sorted(p.name for p in folder.iterdir() if p.is_dir() and any((p / f).is_file() for f in CONFIG_FILES))
        if jobs:
            hint = (f" It holds the runs {', '.join(jobs[:5])}{', ...' if len(jobs) > 5 else ''} (a sweep's jobs): "
                    f"point {key}= at one of them, e.g. {key}={folder / jobs[0]}.")
        else:
            hint = " Point it at the folder a training run wrote."
        raise RunError(f"{key}={path!r} is not a trainkit run folder: it has no config_resolved.yaml (or "
                       f".hydra/config.yaml) recording how the model was built.{hint}")
    return folder


def recorded_config(folder):
    """The run's config as plain dicts (the resolved record first: it holds no ${...} left to resolve)."""
    import yaml
    for name in CONFIG_FILES:
        path = Path(folder) / name
        if path.is_file():
            try:
                cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
                raise RunError(f"the run's config {str(path)!r} cannot be read ({str(e).splitlines()[0]}); "
                               "the run folder is damaged.") from None
            if not isinstance(cfg, dict) or not isinstance(cfg.get("model"), dict):
                raise RunError(f"{str(path)!r} does not hold a trainkit config (no model: section).")
            return cfg
    raise RunError(f"{str(folder)!r} has no config_resolved.yaml or .hydra/config.yaml.")


def _override_key(text):
    """``(key, value)`` of one command-line override (``+data.path=x`` -> ("data.path", "x"))."""
    key, value = text.split("=", 1)
    return key.lstrip("+"), value


def check_overrides(overrides, allowed=OVERRIDABLE, command="evaluate"):
    for text in overrides:
        if "=" not in text or text.startswith("~"):
            raise RunError(f"{text!r}: {command} takes KEY=VALUE overrides of {' and '.join(allowed)} only.")
        key, _ = _override_key(text)
        if key.split(".", 1)[0] not in allowed:
            raise RunError(f"{text!r} cannot change a trained model: {command} takes overrides of "
                           f"{' and '.join(f'{a}/{a}.*' for a in allowed)} only (the rest is fixed by the run's "
                           "recorded config).")


def run_config(folder, overrides=()):
    """The run's config (a typed DictConfig) with ``overrides`` (``data=...``, ``data.KEY=...``,
    ``device=...``) applied. ConfigError/RunError for overrides Hydra or the schema refuse."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from trainkit.app.config import conf_dir, load_config
    from trainkit.app.checks import validate
    from trainkit.app.schema import ConfigError

    check_overrides(overrides)
    stored = recorded_config(folder)
    switched = {k for k, _ in map(_override_key, overrides) if "." not in k}  # data=csv: a new group option
    choices = []
    for group, node in stored.items():
        if group in switched or not isinstance(node, dict) or "name" not in node:
            continue
        if (conf_dir() / group / f"{node['name']}.yaml").is_file():
            choices.append(f"{group}={node['name']}")
    composed = load_config(choices + list(overrides), validate=False)
    # the recorded values beat the group defaults; the overrides beat both (so drop what they set)
    keep = {k: v for k, v in stored.items() if k not in switched}
    for key, _ in map(_override_key, overrides):
        parts = key.split(".")
        node = keep
        for p in parts[:-1]:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    keep.setdefault("trainer", {})["resume"] = None  # using a run never continues it
    # what only training used: a user's callback module need not be importable to use the model
    keep["callbacks"], keep["logger"], keep["debug"] = {}, None, None
    try:
        cfg = OmegaConf.merge(composed, keep)
    except OmegaConfBaseException as e:
        raise RunError(f"the run's recorded config ({folder}) does not fit this trainkit version's schema: "
                       f"{str(e).splitlines()[0]}. Use the trainkit version that trained it.") from None
    try:
        validate(cfg)
    except ConfigError as e:
        raise ConfigError(f"{e} (in the config of run {str(folder)!r} with {' '.join(overrides) or 'no overrides'})") \
            from None
    return cfg


# ----- parameter files -----------------------------------------------------------------------------
def resolve_checkpoint(folder, checkpoint=None):
    """``(params file, epoch or None, what)`` for best.params or ``checkpoint=`` (a .params file, or a
    trainer-NNNN.json index: its digests are checked)."""
    from trainkit.checkpoint import CheckpointError, read_index
    folder = Path(folder)
    if checkpoint in (None, ""):
        path = folder / "best.params"
        if not path.is_file():
            saved = sorted(p.name for p in folder.glob("model-*.params"))
            hint = (f" It holds {', '.join(saved[-3:])}: use one with checkpoint=NAME (e.g. checkpoint={saved[-1]})."
                    if saved else " The run ended before its first epoch did (or was a dry run): train it first.")
            raise RunError(f"run={str(folder)!r} has no best.params.{hint}")
        return path, _best_epoch(folder), "best.params"
    given = Path(os.path.expanduser(str(checkpoint)))
    path = given if given.exists() or given.is_absolute() else folder / given
    if not path.exists():
        saved = sorted(p.name for p in folder.glob("model-*.params"))
        raise RunError(f"checkpoint={checkpoint!r}: no such file (looked in {os.getcwd()} and in the run folder "
                       f"{str(folder)!r}). The run holds {', '.join(['best.params'] + saved[-3:])}.")
    if path.is_dir():
        raise RunError(f"checkpoint={checkpoint!r} is a folder; give a parameter file (best.params, "
                       "model-NNNN.params) or a trainer-NNNN.json checkpoint index.")
    if path.suffix == ".json":
        try:
            meta = read_index(path)
        except CheckpointError as e:
            raise RunError(f"checkpoint={checkpoint!r}: {e}") from None
        return path.parent / meta["files"]["params"], meta.get("epoch"), path.name
    if path.suffix in (".states", ".state"):
        raise RunError(f"checkpoint={checkpoint!r} holds optimizer or trainer state, not the model's parameters; "
                       f"give {path.stem}.params or its trainer-NNNN.json.")
    number = re.search(r"-(\d+)$", path.stem)
    return path, int(number.group(1)) if number and path.stem.startswith("model-") else None, path.name


def _best_epoch(folder):
    from trainkit.checkpoint import indexes
    for index in indexes(folder):
        try:
            best = json.loads(index.read_text(encoding="utf-8")).get("best") or {}
        except (OSError, ValueError):
            continue
        return best.get("epoch")
    return None


def read_params(path):
    """``{name: numpy array}`` of a parameter file, RunError when it is not one."""
    from trainkit import nd
    try:
        saved = nd.load(str(path))
    except (ValueError, OSError, UnicodeDecodeError, EOFError) as e:
        raise RunError(f"{str(path)!r} cannot be read as MXNet parameters ({str(e).splitlines()[0] if str(e) else type(e).__name__}); "
                       "give a .params file the run wrote (best.params, model-NNNN.params).") from None
    if not isinstance(saved, dict) or not saved:
        raise RunError(f"{str(path)!r} holds no named parameters; give a .params file the run wrote.")
    return {k: v.asnumpy() for k, v in saved.items()}


def io_sizes(params, path):
    """``(input features, outputs)`` from the Dense/FullyConnected weights, in layer order: the first
    weight is (units, features), the last (outputs, units). Layer order is the number in each name
    (fc1_weight, ... for a Module; 0.weight, 2.weight, ... for a Gluon save_parameters file)."""
    def layer(name):
        found = re.search(r"\d+", name)
        return int(found.group()) if found else -1
    weights = sorted((layer(k), k) for k, v in params.items() if k.endswith("weight") and v.ndim == 2)
    if not weights:
        raise RunError(f"{str(path)!r} holds no layer weights ({', '.join(list(params)[:6])}); it is not the "
                       "parameters of a trainkit model.")
    return int(params[weights[0][1]].shape[1]), int(params[weights[-1][1]].shape[0])


# ----- the loaded run ------------------------------------------------------------------------------
class SavedRun:
    """A run folder with its parameters loaded into a Trainer built as the run built its own.

    ``cfg`` the config (overrides applied), ``trainer`` the Trainer (``evaluate``, ``predict``),
    ``features``/``outputs`` the model's input and output sizes, ``params_path``/``epoch`` the file
    loaded and the epoch it holds (None when unknown)."""

    def __init__(self, folder, checkpoint=None, overrides=()):
        from trainkit.app import build
        self.folder = run_folder(folder)
        self.cfg = run_config(self.folder, overrides)
        self.recorded_data = recorded_config(self.folder).get("data") or {}  # as trained, overrides aside
        self.params_path, self.epoch, self.what = resolve_checkpoint(self.folder, checkpoint)
        saved = read_params(self.params_path)
        self.features, self.outputs = io_sizes(saved, self.params_path)
        gluon = str(self.cfg.model.name) == "gluon_mlp"
        module_file = all(k.startswith(("arg:", "aux:")) for k in saved)
        if module_file and gluon and not any("." in k for k in saved):
            pass  # an export file (model-export-NNNN.params): arg:fc1_weight, which a block reads too
        elif module_file == gluon:
            raise RunError(f"{str(self.params_path)!r} holds {'a Module' if module_file else 'a Gluon block'}'s "
                           f"parameters, but run {str(self.folder)!r} trained model={self.cfg.model.name}; give a "
                           "parameter file of this run.")
        self.network, self.symbol = build.build_network(self.cfg.model, self.outputs, self.features)
        self.trainer = build.build_trainer(self.cfg, out_dir=None, progress=False, built=self._built(build))
        self._load(saved)

    def _built(self, build):
        """What build_trainer reads of a Built, without loading the training data (none is trained on)."""
        from trainkit.app.checks import task_parts
        b = object.__new__(build.Built)
        empty_x, empty_y = np.zeros((0, self.features), np.float32), np.zeros((0,), np.int64)
        b.X, b.y, b.X_val, b.y_val = np.zeros((1, self.features), np.float32), np.zeros((1,), np.int64), \
            empty_x, empty_y
        b.classes, b.features = self.outputs, self.features
        b.network, b.symbol = self.network, self.symbol
        b.initializer, b.rows, b.resume_index, b.resume_meta = None, None, None, None
        b.shapes = {}
        b.task, b.loss, b.metric_names, b.monitor = task_parts(self.cfg)
        b.feature_names, b.standardization, b.class_names = None, None, None
        return b

    def _load(self, saved):
        from trainkit import nd
        from trainkit.checkpoint import TrainerError
        t = self.trainer
        t.model.bind((self.features,), t.eval_batch_size, t.context)
        source = f"{str(self.params_path)!r} (run {str(self.folder)!r})"
        try:
            if t.model.kind == "module":
                from trainkit.checkpoint import check_saved_shapes
                arrays = {k: nd.array(v, t.context) for k, v in saved.items()}
                arg = {k[4:]: v for k, v in arrays.items() if k.startswith("arg:")}
                aux = {k[4:]: v for k, v in arrays.items() if k.startswith("aux:")}
                check_saved_shapes(t.module, arg, aux, source, "checkpoint")
                t.module.set_params(arg, aux)
            else:
                from trainkit import autograd, init
                from trainkit.gluon.adapter import check_shapes, load_arrays
                arrays = load_arrays(t.module, self.params_path)
                check_shapes(t.module, arrays, source, "checkpoint")
                t.model.initialize(init.Zero(), t.context)  # allocate; every value is replaced below
                params = t.module.collect_params()
                with autograd.pause():
                    for name, arr in arrays.items():
                        params[name].set_data(arr.as_in_context(t.context))
        except TrainerError as e:
            raise RunError(f"{e} The run's recorded config (model.*) does not match this file.") from None


def load_run(folder, checkpoint=None, overrides=()):
    """A ``SavedRun``: ``folder``'s model with best.params (or ``checkpoint``) loaded."""
    return SavedRun(folder, checkpoint, overrides)
