"""The typed shape of trainkit's config, and the checks Hydra cannot make.

Every config group option is a dataclass stored in Hydra's ConfigStore, so a typo'd key
(`optimizer.lrr=0.1`) or a wrong type (`trainer.epochs=1.5`) fails while the config is
composed, with Hydra's own message naming the key. Closed choices are Enums, because a
`str` field accepts anything (`device.name=1` would pass). `validate(cfg)` runs at task
start for the rest: `???` values, Mixed regexes, nested initializer specs, `+key` typos,
value ranges and a GPU that is not there.

Groups with one shape (model, device, trainer) are typed once in the root schema.
Groups whose options take different keys (initializer, optimizer, data) are typed per
option: each YAML file pulls its dataclass in with `defaults: [/schema/<group>/<name>@_here_]`.
"""
import difflib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from typing import Any, List, Optional

from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


class ConfigError(Exception):
    """A config that composed but cannot work; the message says which key and what to do."""

    user_error = True  # cli.main prints these as one message, without a traceback


# ------------------------------------------------------------------ closed choices

class Choice(str, Enum):
    """An Enum whose members are also their string values: `Activation.relu == "relu"`,
    `f"{m}"` gives "relu" and json.dumps writes "relu", so code past the config
    (and MXNet's `dumps()` strings) sees plain names."""

    def __str__(self):
        return self.value

    def __format__(self, spec):
        return format(self.value, spec)


def _choice(name, *values):
    # The functional API because `in` (Xavier's factor_type) cannot be a class attribute.
    # module/qualname keep the Enum picklable for the joblib and submitit launchers.
    return Choice(name, [(v, v) for v in values], module=__name__, qualname=name)


ModelName = _choice("ModelName", "mlp", "logreg", "gluon_mlp")
Activation = _choice("Activation", "relu", "sigmoid", "tanh", "softrelu")
RndType = _choice("RndType", "uniform", "gaussian")            # Xavier
RandType = _choice("RandType", "uniform", "normal")            # Orthogonal (MXNet's spelling)
FactorType = _choice("FactorType", "avg", "in", "out")
RNNMode = _choice("RNNMode", "rnn_relu", "rnn_tanh", "lstm", "gru")
SchedulerName = _choice("SchedulerName", "none", "factor", "multifactor", "cosine")
WarmupMode = _choice("WarmupMode", "linear", "constant")
DeviceName = _choice("DeviceName", "cpu", "gpu")
Monitor = _choice("Monitor", "val_accuracy", "val_loss", "train_accuracy", "train_loss")
MonitorMode = _choice("MonitorMode", "auto", "min", "max")
MnistValidation = _choice("MnistValidation", "test", "split")


# ------------------------------------------------------------------ initializers
# One dataclass per MXNet registry name, fields in MXNet's constructor order, so a
# config node reads like `Xavier(...).dumps()`: ["xavier", {"rnd_type": ..., ...}].

@dataclass
class ZeroInit:
    name: str = "zero"


@dataclass
class OneInit:
    name: str = "one"


@dataclass
class ConstantInit:
    name: str = "constant"
    value: float = MISSING  # MXNet's Constant(value) has no default either


@dataclass
class UniformInit:
    name: str = "uniform"
    scale: float = 0.07


@dataclass
class NormalInit:
    name: str = "normal"
    sigma: float = 0.01


@dataclass
class OrthogonalInit:
    name: str = "orthogonal"
    scale: float = 1.414
    rand_type: RandType = RandType.uniform


@dataclass
class XavierInit:
    name: str = "xavier"
    rnd_type: RndType = RndType.uniform
    factor_type: FactorType = FactorType.avg
    magnitude: float = 3.0


@dataclass
class MSRAPreluInit:
    name: str = "msraprelu"
    factor_type: FactorType = FactorType.avg
    slope: float = 0.25


@dataclass
class BilinearInit:
    name: str = "bilinear"


@dataclass
class LSTMBiasInit:
    name: str = "lstmbias"
    forget_bias: float = 1.0


@dataclass
class FusedRNNInit:
    name: str = "fusedrnn"
    init: Any = None  # an initializer spec (see init_spec); null = the global initializer
    num_hidden: int = MISSING
    num_layers: int = MISSING
    mode: RNNMode = MISSING
    bidirectional: bool = False
    forget_bias: float = 1.0


@dataclass
class MixedPattern:
    pattern: str = MISSING  # Python regex, tried with re.match (anchored at the start)
    init: Any = field(default_factory=lambda: {"name": "zero"})  # an initializer spec


@dataclass
class MixedInit:
    name: str = "mixed"
    patterns: List[MixedPattern] = field(default_factory=list)


@dataclass
class LoadInit:
    name: str = "load"
    path: str = MISSING  # a .params/.nd/.npz file saved by mx.nd.save or a trainkit run
    default_init: Any = None  # initializer spec for names the file lacks; null = error
    verbose: bool = False


INITIALIZERS = {
    c.name: c
    for c in (ZeroInit, OneInit, ConstantInit, UniformInit, NormalInit, OrthogonalInit,
              XavierInit, MSRAPreluInit, BilinearInit, LSTMBiasInit, FusedRNNInit,
              MixedInit, LoadInit)
}
INIT_ALIASES = {"zeros": "zero", "ones": "one"}  # MXNet registers these too


# ------------------------------------------------------------------ optimizers

@dataclass
class LRSchedulerConf:
    name: SchedulerName = SchedulerName.none
    step: int = 1000                       # factor: updates between two decays
    steps: List[int] = field(default_factory=list)  # multifactor: updates at which to decay
    factor: float = 0.1                    # factor, multifactor: lr *= factor at each decay
    stop_factor_lr: float = 1e-8           # factor: never decay below this
    max_update: Optional[int] = None       # cosine: updates to reach final_lr; null = whole run
    final_lr: float = 0.0                  # cosine
    warmup_steps: int = 0                  # all: updates of warm-up before the schedule
    warmup_begin_lr: float = 0.0
    warmup_mode: WarmupMode = WarmupMode.linear


@dataclass
class OptimizerBase:
    name: str = MISSING
    lr: float = 0.01
    wd: float = 0.0
    clip_gradient: Optional[float] = None
    lr_scheduler: LRSchedulerConf = field(default_factory=LRSchedulerConf)


@dataclass
class SGDConf(OptimizerBase):
    name: str = "sgd"
    momentum: float = 0.0


@dataclass
class AdamConf(OptimizerBase):
    name: str = "adam"
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8


@dataclass
class RMSPropConf(OptimizerBase):
    name: str = "rmsprop"
    gamma1: float = 0.9
    gamma2: float = 0.9
    epsilon: float = 1e-8
    centered: bool = False
    clip_weights: Optional[float] = None


@dataclass
class AdaGradConf(OptimizerBase):
    name: str = "adagrad"
    eps: float = 1e-7  # MXNet 1.x spells it `eps` for AdaGrad


OPTIMIZERS = {c.name: c for c in (SGDConf, AdamConf, RMSPropConf, AdaGradConf)}


# ------------------------------------------------------------------ data

@dataclass
class DataBase:
    name: str = MISSING
    val_fraction: float = 0.2
    split_seed: int = 0


@dataclass
class DigitsData(DataBase):
    name: str = "digits"


@dataclass
class MnistData(DataBase):
    name: str = "mnist"
    path: str = MISSING
    validation: MnistValidation = MnistValidation.test


@dataclass
class CsvData(DataBase):
    name: str = "csv"
    path: str = MISSING
    label: Any = -1  # a column index (negative counts from the end) or, with a header, a name; a list for several targets
    features: Optional[List[Any]] = None  # feature columns (names with a header, or indices); null = all but the label
    header: bool = False
    delimiter: str = ","
    standardize: bool = False


@dataclass
class NpzData(DataBase):
    name: str = "npz"
    path: str = MISSING
    x_key: str = "x"
    y_key: str = "y"
    standardize: bool = False


@dataclass
class SyntheticData(DataBase):
    name: str = "synthetic"
    n_samples: int = 1000
    n_features: int = 20
    n_classes: int = 4
    center_std: float = 1.0
    cluster_std: float = 1.0
    seed: int = 0
    standardize: bool = False


@dataclass
class DiabetesData(DataBase):
    name: str = "diabetes"
    standardize: bool = False


@dataclass
class BreastCancerData(DataBase):
    name: str = "breast_cancer"
    standardize: bool = False


DATASETS = {c.name: c for c in (DigitsData, MnistData, CsvData, NpzData, SyntheticData, DiabetesData,
                                BreastCancerData)}


# ------------------------------------------------------------------ task and loss (trainkit.tasks)

TaskName = _choice("TaskName", "classification", "binary", "regression")


@dataclass
class TaskConf:
    name: TaskName = TaskName.classification
    metrics: Optional[List[str]] = None  # null = the task's defaults (trainkit.tasks)


@dataclass
class LossConf:
    name: Optional[str] = None  # null = the task's default loss
    rho: Optional[float] = None  # huber only: width of the quadratic part (null = 1.0)


# ------------------------------------------------------------------ model, device, trainer

@dataclass
class ModelConf:
    name: ModelName = ModelName.mlp
    hidden: List[int] = field(default_factory=lambda: [64])
    activation: Activation = Activation.relu
    dropout: float = 0.0
    batchnorm: bool = False
    num_classes: Optional[int] = None


@dataclass
class DeviceConf:
    name: DeviceName = DeviceName.cpu
    id: int = 0


@dataclass
class EarlyStoppingConf:
    monitor: Optional[str] = None  # null = the task's (val_accuracy, val_auc, val_rmse)
    patience: Optional[int] = None
    mode: MonitorMode = MonitorMode.auto
    min_delta: float = 0.0


@dataclass
class TrainerConf:
    epochs: int = 10
    batch_size: int = 32
    shuffle: bool = True
    log_every: int = 0
    early_stopping: EarlyStoppingConf = field(default_factory=EarlyStoppingConf)
    checkpoint_every: int = 0
    keep_last: Optional[int] = None
    resume: Optional[str] = None
    progress: Optional[bool] = None


@dataclass
class TrainKitConf:
    seed: int = 0
    dry_run: bool = False
    model: ModelConf = field(default_factory=ModelConf)
    initializer: Any = MISSING  # typed per option (schema/initializer/<name>)
    optimizer: Any = MISSING    # typed per option (schema/optimizer/<name>)
    data: Any = MISSING         # typed per option (schema/data/<name>)
    device: DeviceConf = field(default_factory=DeviceConf)
    trainer: TrainerConf = field(default_factory=TrainerConf)
    task: TaskConf = field(default_factory=TaskConf)
    loss: LossConf = field(default_factory=LossConf)


def register_configs():
    """Store the schemas; conf/config.yaml and the group files refer to them by name."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="trainkit_schema", node=TrainKitConf)
    for group, table in (("initializer", INITIALIZERS), ("optimizer", OPTIMIZERS),
                         ("data", DATASETS)):
        for name, node in table.items():
            cs.store(group=f"schema/{group}", name=name, node=node)


# ------------------------------------------------------------------ validate

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
