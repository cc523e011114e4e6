"""The checks Hydra cannot make, run on a composed config (``validate``), and the readers of its parts
the app shares (``init_spec``, ``task_parts``, ``callback_specs``, ``to_plain``).

Composing a config already types every key (``trainkit.app.schema``); ``validate(cfg)`` runs at task
start for the rest: ``???`` values, Mixed regexes, nested initializer specs, ``+key`` typos, value
ranges, a callback's ``_target_``, a GPU that is not there. Each failure is a ConfigError whose one
paragraph names the key and the fix.
"""
import difflib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from trainkit.app.schema import (DATASETS, INIT_ALIASES, INITIALIZERS, OPTIMIZERS, ConfigError, DeviceName,
                                 MnistValidation, ModelName, SchedulerName)


def validate(cfg):
    """Raise ConfigError, with one paragraph naming the key and the fix, for what composing
    could not catch. Runs at task start (cli.main) and in load_config()."""
    if "recipe" in cfg:
        # `+recipe=x` with no `recipe` group registered silently adds a plain key.
        raise ConfigError(
            f"recipe={cfg.recipe!r} was added as a plain key, so no recipe was applied: the "
            f"`recipe` config group was not found. Recipes are registered from the recipes/ "
            f"folder next to conf/ (trainkit.app.config.recipes_dir()); check that it is "
            f"installed, or add your own with `-cd DIR +recipe=NAME` and DIR/recipe/NAME.yaml.")
    _check_unknown_keys(cfg, "")
    _check_missing(cfg)
    init_spec(cfg.initializer, "initializer", top=True)
    _check_choice(cfg.optimizer, "optimizer", OPTIMIZERS)
    _check_choice(cfg.data, "data", DATASETS)
    _check_ranges(cfg)
    _check_model(cfg)
    _check_early_stopping(cfg)
    _check_task(cfg)
    _check_resume(cfg)
    _check_plateau(cfg)
    for key, spec in callback_specs(cfg):
        locate_target(spec, key)
    if cfg.device.name == DeviceName.gpu:
        check_gpu(cfg.device.id)


def _fail(msg):
    raise ConfigError(msg)


def _check_unknown_keys(node, path):
    """`+trainer.epoch=5` opens the struct and composes; catch it against the dataclass."""
    if isinstance(node, DictConfig):
        kind = OmegaConf.get_type(node)
        keys = [str(k) for k in node.keys()]
        if is_dataclass(kind):
            allowed = [f.name for f in fields(kind)]
            for k in keys:
                if k not in allowed:
                    near = difflib.get_close_matches(k, allowed, n=1)
                    hint = f" Did you mean {path}{near[0]}?" if near else ""
                    _fail(f"Unknown key {path}{k}: {kind.__name__} has no field {k!r} "
                          f"(it has: {', '.join(allowed)}).{hint} Remove the `+` override "
                          f"that added it, or fix its spelling.")
        children = [(k, node._get_node(k)) for k in keys]
    elif isinstance(node, ListConfig):
        children = [(str(i), node._get_node(i)) for i in range(len(node))]
    else:
        return
    for k, child in children:
        _check_unknown_keys(child, f"{path}{k}.")


_EXAMPLES = {
    "data.path": "the file to read, e.g. data.path=data/train.csv",
    "data.path@mnist": "the folder holding the idx files, e.g. data.path=~/data/mnist",
    "data.path@npz": "the file to read, e.g. data.path=data/train.npz",
    "initializer.path": "a parameter file, e.g. initializer.path=outputs/DATE/TIME/best.params",
    "initializer.value": "a number, e.g. initializer.value=0.1",
}


def _check_missing(cfg):
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        key = missing[0]
        group = key.split(".")[0]
        name = cfg[group].get("name") if isinstance(cfg.get(group), DictConfig) else None
        what = _EXAMPLES.get(f"{key}@{name}") or _EXAMPLES.get(key, f"e.g. {key}=VALUE")
        more = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        _fail(f"{key} has no value ('???' in the config){more}. Set it on the command line: "
              f"{what}.")


def _check_choice(node, key, table):
    name = node.get("name") if isinstance(node, DictConfig) else None
    if name not in table:
        _fail(f"{key}.name={name!r} is not a known {key}; choose one of "
              f"{', '.join(table)} by switching the group, e.g. {key}={next(iter(table))}.")
    kind = OmegaConf.get_type(node)
    if is_dataclass(kind) and kind is not table[name]:
        _fail(f"{key}.name={name!r} but the other {key} keys belong to "
              f"{kind.__name__}. Switch the whole group instead: {key}={name}.")


_DUMPS_EXAMPLE = "'[\"normal\", {\"sigma\": 0.1}]'"  # MXNet's Normal(0.1).dumps(), Hydra-quoted


def init_spec(spec, key="initializer", top=False):
    """An initializer spec, checked, as a plain dict `{name: ..., **kwargs}`: what a builder
    hands to mx.init.create (Mixed and Load take their nested specs the same way).

    Nested specs (Mixed's `init`, Load's `default_init`, FusedRNN's `init`) are typed `Any`
    in the schema, so they are typed here, and they may take any of MXNet's spellings:
      {name: normal, sigma: 0.1}   a mapping, as in the YAML files
      normal                       a registry name (its defaults)
      '["normal", {"sigma": 0.1}]' a dumps() string, or the same list written in YAML
    A string replaces a nested mapping from the command line, where a mapping would be
    merged into the old one: initializer.patterns.2.init=normal.
    Only the keys given are returned (with types checked), so MXNet's own defaults apply.
    """
    spec = _as_mapping(spec, key)
    raw = str(spec["name"])
    name = INIT_ALIASES.get(raw.lower(), raw.lower())
    if name not in INITIALIZERS:
        switch = " Switch the group with initializer=NAME." if top else ""
        _fail(f"{key}.name={raw!r} is not a known initializer; choose one of "
              f"{', '.join(INITIALIZERS)}.{switch}")
    try:
        typed = OmegaConf.merge(OmegaConf.structured(INITIALIZERS[name]), {**spec, "name": name})
    except OmegaConfBaseException as e:
        how = (f"switch the group instead (initializer={name})" if top else
               f"replace the whole spec with a name ({key}=normal) or a dumps() string "
               f"({key}={_DUMPS_EXAMPLE}, quoted for your shell)")
        _fail(f"{key} is not a valid {name} initializer: {_first_line(e)}. Its keys are: "
              f"{', '.join(f.name for f in fields(INITIALIZERS[name]))}; {how}.")
    missing = sorted(OmegaConf.missing_keys(typed))
    if missing:
        _fail(f"{key}.{missing[0]} has no value; set it, e.g. {key}.{missing[0]}=VALUE.")
    out = {k: v for k, v in to_plain(typed).items() if k in spec}
    if name == "mixed":
        out["patterns"] = _mixed_patterns(typed, key)
    elif name == "load":
        path = os.path.expanduser(typed.path)
        if not os.path.isfile(path):
            _fail(f"{key}.path={typed.path!r}: no such file {os.path.abspath(path)!r}. Point it "
                  f"at a saved parameter file, e.g. an earlier run's best.params.")
        if typed.default_init is not None:
            out["default_init"] = init_spec(typed.default_init, f"{key}.default_init")
    elif name == "fusedrnn" and typed.init is not None:
        out["init"] = init_spec(typed.init, f"{key}.init")
    return out


def _as_mapping(spec, key):
    if isinstance(spec, (DictConfig, ListConfig)):
        spec = to_plain(spec)
    if isinstance(spec, str) and spec.strip().startswith("["):
        try:
            spec = json.loads(spec)
        except ValueError as e:
            _fail(f"{key}={spec!r} is not a valid dumps() string ({e}); write it like "
                  f"{_DUMPS_EXAMPLE}.")
    elif isinstance(spec, str):
        spec = {"name": spec.strip()}
    if (isinstance(spec, list) and len(spec) in (1, 2) and isinstance(spec[0], str)
            and (len(spec) == 1 or isinstance(spec[1], Mapping))):
        spec = {"name": spec[0], **(spec[1] if len(spec) == 2 else {})}
    if not isinstance(spec, Mapping) or "name" not in spec:
        _fail(f"{key} must be an initializer spec such as {{name: normal, sigma: 0.1}}, "
              f"normal, or {_DUMPS_EXAMPLE}; got {spec!r}.")
    return dict(spec)


def _mixed_patterns(typed, key):
    if not typed.patterns:
        _fail(f"{key}.patterns is empty: Mixed needs at least one {{pattern, init}} pair, "
              f"usually ending with {{pattern: '.*', init: {{name: xavier}}}}.")
    out = []
    for i, item in enumerate(typed.patterns):
        try:
            re.compile(item.pattern)
        except re.error as e:
            _fail(f"{key}.patterns.{i}.pattern={item.pattern!r} is not a valid regular "
                  f"expression ({e}). Patterns use Python's re syntax and are tried with "
                  f"re.match, from the start of the parameter name: write '.*bias', not 'bias'.")
        out.append({"pattern": item.pattern,
                    "init": init_spec(item.init, f"{key}.patterns.{i}.init")})
    return out


def _first_line(e):
    return str(e).strip().splitlines()[0]


# (key, test, what it must be); a None value is "off" and skips the test.
_RANGES = [
    ("trainer.epochs", lambda v: v >= 0, "0 or more"),
    ("trainer.batch_size", lambda v: v >= 1, "1 or more"),
    ("trainer.log_every", lambda v: v >= 0, "0 (per epoch only) or more"),
    ("trainer.checkpoint_every", lambda v: v >= 0, "0 (last epoch only) or more"),
    ("trainer.keep_last", lambda v: v >= 1, "null (keep every checkpoint) or 1 or more"),
    ("trainer.early_stopping.patience", lambda v: v >= 1, "null (off) or 1 or more"),
    ("data.val_fraction", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("model.dropout", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("model.num_classes", lambda v: v >= 2, "null (from the labels) or 2 or more"),
    ("optimizer.lr", lambda v: v > 0, "greater than 0"),
    ("optimizer.wd", lambda v: v >= 0, "0 or more"),
    ("optimizer.clip_gradient", lambda v: v > 0, "null (off) or greater than 0"),
    ("optimizer.momentum", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("optimizer.lr_scheduler.step", lambda v: v >= 1, "1 or more"),
    ("optimizer.lr_scheduler.factor", lambda v: 0 < v <= 1, "in (0, 1]"),
    ("optimizer.lr_scheduler.max_update", lambda v: v >= 1, "null (whole run) or 1 or more"),
    ("optimizer.lr_scheduler.warmup_steps", lambda v: v >= 0, "0 or more"),
    ("optimizer.lr_scheduler.patience", lambda v: v >= 0, "0 or more"),
    ("optimizer.lr_scheduler.cooldown", lambda v: v >= 0, "0 or more"),
    ("optimizer.lr_scheduler.min_lr", lambda v: v >= 0, "0 or more"),
    ("trainer.limit_batches", lambda v: v >= 1, "null (every batch) or 1 or more"),
    ("trainer.clip_global_norm", lambda v: v > 0, "null (off) or greater than 0"),
    ("debug.epochs", lambda v: v >= 1, "1 or more"),
    ("debug.limit_batches", lambda v: v >= 1, "1 or more"),
    ("debug.min_loss_drop", lambda v: v > 1, "greater than 1"),
    ("device.id", lambda v: v >= 0, "0 or more"),
]


def _check_ranges(cfg):
    for key, ok, what in _RANGES:
        value = OmegaConf.select(cfg, key, default=None)
        if value is not None and not ok(value):
            _fail(f"{key}={value} is out of range: it must be {what}.")
    steps = list(cfg.optimizer.lr_scheduler.steps)
    if cfg.optimizer.lr_scheduler.name == SchedulerName.multifactor and (
            not steps or steps != sorted(set(steps)) or steps[0] < 1):
        _fail(f"optimizer.lr_scheduler.steps={steps} must be a non-empty, strictly increasing "
              f"list of update counts for the multifactor scheduler, e.g. "
              f"optimizer.lr_scheduler.steps=[1000,2000].")


def _check_model(cfg):
    hidden = list(cfg.model.hidden)
    if any(h < 1 for h in hidden):
        _fail(f"model.hidden={hidden}: every layer needs at least 1 unit.")
    if cfg.model.name == ModelName.logreg and hidden:
        _fail(f"model=logreg has no hidden layers but model.hidden={hidden}; use model=mlp "
              f"for hidden layers, or model.hidden=[] to keep logistic regression.")


def _check_early_stopping(cfg):
    es = cfg.trainer.early_stopping
    held_out = cfg.data.val_fraction > 0 or cfg.data.get("validation") == MnistValidation.test
    if es.patience is not None and str(es.monitor or "val_").startswith("val_") and not held_out:  # null: the task's val_*
        _fail(f"trainer.early_stopping.monitor={es.monitor} needs a validation set, but "
              f"data.val_fraction=0. Set data.val_fraction (e.g. 0.2) or monitor train_loss.")


def task_parts(cfg):
    """``(task, loss, metric names, monitor)`` of a config, checked: what the Trainer is built with."""
    from trainkit.tasks import get_task
    task = get_task(str(cfg.task.name))
    kw = {} if cfg.loss.rho is None else {"rho": float(cfg.loss.rho)}
    try:
        loss = task.loss(cfg.loss.name, **kw)
        metrics = task.metrics(None if cfg.task.metrics is None else list(cfg.task.metrics))
    except ValueError as e:
        _fail(f"task={task.name}: {e} Set loss=NAME (conf/loss) or task.metrics=[...] accordingly.")
    names = ["loss"] + [m.get()[0] for m in metrics]
    monitor = str(cfg.trainer.early_stopping.monitor or task.default_monitor)
    keys = [f"{p}_{n}" for p in ("train", "val") for n in names]
    if monitor not in keys:
        _fail(f"trainer.early_stopping.monitor={monitor} is not a metric of task={task.name}; choose one of "
              f"{', '.join(keys)} (or null for the task's default, {task.default_monitor}).")
    return task, loss, [m.get()[0] for m in metrics], monitor


def _check_task(cfg):
    task_parts(cfg)


def _check_resume(cfg):
    path = cfg.trainer.resume
    if path is not None and path != "auto" and not os.path.exists(os.path.expanduser(path)):
        _fail(f"trainer.resume={path!r} does not exist (relative paths start from "
              f"{os.getcwd()}). Point it at an earlier run's output folder or checkpoint file.")


def _check_plateau(cfg):
    sched = cfg.optimizer.lr_scheduler
    if sched.name != SchedulerName.plateau:
        return
    if sched.warmup_steps:
        _fail(f"optimizer.lr_scheduler.name=plateau has no warm-up, but warmup_steps={sched.warmup_steps}; set "
              "optimizer.lr_scheduler.warmup_steps=0, or use factor/multifactor/cosine for a warm-up.")
    if sched.monitor is None:
        return
    held_out = cfg.data.val_fraction > 0 or cfg.data.get("validation") == MnistValidation.test
    if str(sched.monitor).startswith("val_") and not held_out:
        _fail(f"optimizer.lr_scheduler.monitor={sched.monitor} needs a validation set, but data.val_fraction=0. "
              f"Set data.val_fraction (e.g. 0.2) or watch a train_* metric.")
    task, _, metrics, _ = task_parts(cfg)
    keys = [f"{p}_{n}" for p in ("train", "val") for n in ["loss", *metrics]]
    if sched.monitor not in keys:
        _fail(f"optimizer.lr_scheduler.monitor={sched.monitor} is not a metric of task={task.name}; choose one of "
              f"{', '.join(keys)} (or null for the run's monitor, trainer.early_stopping.monitor).")


# ------------------------------------------------------------------ logger and callbacks (_target_ specs)

def callback_specs(cfg):
    """``[(key, spec)]`` of the logger and every callbacks.NAME entry that builds something, checked to be
    `_target_` mappings; a null entry (or `_target_: null`) is switched off."""
    out = []
    entries = [("logger", cfg.get("logger"))]
    callbacks = cfg.get("callbacks")
    if callbacks is not None and not isinstance(callbacks, DictConfig):
        _fail(f"callbacks={callbacks!r} must be a mapping of names to _target_ specs, e.g. "
              "+callbacks.mine._target_=mypkg.MyCallback (or choose a file: callbacks=example).")
    entries += [(f"callbacks.{k}", callbacks.get(k)) for k in (callbacks or {})]
    for key, spec in entries:
        if spec is None:
            continue
        if not isinstance(spec, DictConfig):
            _fail(f"{key}={spec!r} must be a mapping with a _target_ (module.Class of a trainkit Callback), e.g. "
                  f"+{key}._target_=mypkg.MyCallback; null switches it off.")
        if spec.get("_target_") is None:
            if key == "logger" and len(spec) <= 1:
                continue  # logger=none
            _fail(f"{key} has no _target_: give the class to build, e.g. +{key}._target_=mypkg.MyCallback "
                  f"(its other keys, {', '.join(str(k) for k in spec) or 'none'}, are its keyword arguments).")
        out.append((key, spec))
    return out


def locate_target(spec, key):
    """The object `spec._target_` names, imported; ConfigError when it cannot be, or is a class that is not
    a trainkit Callback (a function is accepted here and its result checked when it is built)."""
    from hydra._internal.utils import _locate  # hydra.utils.get_object would also log the error to the console

    from trainkit.callbacks import Callback
    target = str(spec["_target_"])
    try:
        obj = _locate(target)
    except Exception as e:  # ImportError, AttributeError, or an error raised while importing the module
        cause = e.__cause__ or e
        _fail(f"{key}._target_={target!r} cannot be imported ({type(cause).__name__}: {_first_line(cause)}). "
              f"Give the dotted path module.Class of a trainkit Callback subclass, and put its module on "
              f"PYTHONPATH (e.g. PYTHONPATH=. python -m trainkit ...).")
    if isinstance(obj, type) and not issubclass(obj, Callback):
        _fail(f"{key}._target_={target!r} is the class {obj.__module__}.{obj.__qualname__}, which is not a "
              f"trainkit Callback. Subclass trainkit.callbacks.Callback (override the hooks you need: "
              f"on_epoch_end, on_batch_end, ...) or point _target_ at one.")
    return obj


def check_gpu(device_id):
    """device=gpu needs CuPy and a visible GPU with that id."""
    try:
        import cupy
    except ImportError:
        _fail("device=gpu needs CuPy, which is not installed. Install it (pip install "
              "'trainkit[gpu]', the CUDA 12 wheel) or train on the CPU with device=cpu.")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # CuPy without a driver or a device raises CUDARuntimeError
        count = 0
    if count == 0:
        _fail("device=gpu, but CuPy finds no usable GPU on this machine (no device, or no "
              "CUDA driver). Train on the CPU with device=cpu.")
    if device_id >= count:
        _fail(f"device.id={device_id}, but CuPy sees only {count} GPU(s) here (ids 0.."
              f"{count - 1}). Pick one of those ids, or train on the CPU with device=cpu.")


def to_plain(node):
    """A config node as plain dicts, lists and strings (Enums become their names):
    what builders pass on to mx.init.create, optimizers and json."""
    return OmegaConf.to_container(node, resolve=True, enum_to_str=True)
