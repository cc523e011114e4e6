"""The typed shape of trainkit's config, and the checks Hydra cannot make.

Every config group option is a dataclass stored in Hydra's ConfigStore, so a typo'd key
(`optimizer.lrr=0.1`) or a wrong type (`trainer.epochs=1.5`) fails while the config is
composed, with Hydra's own message naming the key. Closed choices are Enums, because a
`str` field accepts anything (`device.name=1` would pass). What composing cannot check
(`???` values, Mixed regexes, value ranges, ...) is `trainkit.app.checks.validate`.

Groups with one shape (model, device, trainer) are typed once in the root schema.
Groups whose options take different keys (initializer, optimizer, data) are typed per
option: each YAML file pulls its dataclass in with `defaults: [/schema/<group>/<name>@_here_]`.
"""
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from omegaconf import MISSING


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
SchedulerName = _choice("SchedulerName", "none", "factor", "multifactor", "cosine", "plateau")
WarmupMode = _choice("WarmupMode", "linear", "constant")
DeviceName = _choice("DeviceName", "cpu", "gpu")
Monitor = _choice("Monitor", "val_accuracy", "val_loss", "train_accuracy", "train_loss")
MonitorMode = _choice("MonitorMode", "auto", "min", "max")
MnistValidation = _choice("MnistValidation", "test", "split")
DebugName = _choice("DebugName", "fast_dev_run", "overfit")


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
    factor: float = 0.1                    # factor, multifactor, plateau: lr *= factor at each decay
    stop_factor_lr: float = 1e-8           # factor: never decay below this
    max_update: Optional[int] = None       # cosine: updates to reach final_lr; null = whole run
    final_lr: float = 0.0                  # cosine
    warmup_steps: int = 0                  # all: updates of warm-up before the schedule
    warmup_begin_lr: float = 0.0
    warmup_mode: WarmupMode = WarmupMode.linear
    monitor: Optional[str] = None          # plateau: the metric watched; null = the run's monitor
    patience: int = 10                     # plateau: epochs without improvement before a decay
    cooldown: int = 0                      # plateau: epochs to wait after a decay before watching again
    min_lr: float = 0.0                    # plateau: never decay below this


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
    limit_batches: Optional[int] = None     # cap on training (and evaluation) batches per epoch
    clip_global_norm: Optional[float] = None  # rescale all gradients together to this L2 norm at most


@dataclass
class DebugConf:
    name: DebugName = MISSING
    epochs: int = 1
    limit_batches: int = 1
    min_loss_drop: float = 10.0  # overfit: the first/last train_loss ratio that counts as learning


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
    logger: Any = None          # a _target_ spec (conf/logger); null or _target_: null = none
    callbacks: Dict[str, Any] = field(default_factory=dict)  # name -> _target_ spec (conf/callbacks)
    debug: Optional[DebugConf] = None


def register_configs():
    """Store the schemas; conf/config.yaml and the group files refer to them by name."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="trainkit_schema", node=TrainKitConf)
    for group, table in (("initializer", INITIALIZERS), ("optimizer", OPTIMIZERS),
                         ("data", DATASETS)):
        for name, node in table.items():
            cs.store(group=f"schema/{group}", name=name, node=node)
