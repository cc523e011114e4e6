"""Config -> objects -> training: the one place a trainkit config becomes a Module, an
initializer, an optimizer, data and a Trainer (design/layout.md: config -> app/build.py ->
objects -> Trainer -> outputs). The Trainer itself (trainkit/trainer.py) never sees a config.

    build_trainer(cfg, out_dir)   what `Trainer.from_config` and the command line use
    run(cfg)                      the command line's job: write the run folder, train (or dry-run)
"""
import json
import logging
import math
import os
import sys
from pathlib import Path

import numpy as np

import trainkit as mx
from trainkit.app.data import DataError, load_data
from trainkit.app.checks import callback_specs, init_spec, locate_target, task_parts, to_plain
from trainkit.app.schema import ConfigError, SchedulerName

log = logging.getLogger("trainkit")


# ----- model ---------------------------------------------------------------------------------------
def build_symbol(model, classes):
    """The network of `model` (cfg.model) as an mx.sym graph of logits.

    Hidden layer i is fc<i> [-> bn<i>] -> <activation><i> [-> drop<i>]; the output layer is
    fc<N+1> with `classes` units. logreg is the same with no hidden layers (just fc1).
    """
    hidden = [] if str(model.name) == "logreg" else [int(h) for h in model.hidden]
    act = str(model.activation)
    x = mx.sym.Variable("data")
    for i, units in enumerate(hidden, 1):
        x = mx.sym.FullyConnected(x, num_hidden=units, name=f"fc{i}")
        if model.batchnorm:
            x = mx.sym.BatchNorm(x, fix_gamma=False, name=f"bn{i}")
        x = mx.sym.Activation(x, act_type=act, name=f"{act}{i}")
        if model.dropout > 0:
            x = mx.sym.Dropout(x, p=float(model.dropout), name=f"drop{i}")
    return mx.sym.FullyConnected(x, num_hidden=int(classes), name=f"fc{len(hidden) + 1}")


def build_block(model, classes, features):
    """The network of `model` as a Gluon block (model=gluon_mlp): a hybridized nn.HybridSequential.

    The layers and parameter names are build_symbol's: Dense fc<i> [-> BatchNorm bn<i>] -> Activation
    <activation><i> [-> Dropout drop<i>], then Dense fc<N+1> with `classes` units, so parameters are
    fc1_weight, fc1_bias, ... (BatchNorm: bn<i>_gamma/beta/running_mean/running_var). Input sizes are
    given (in_units=features), so nothing waits for the first batch.
    """
    from trainkit.gluon import nn
    hidden = [int(h) for h in model.hidden]
    act = str(model.activation)
    net = nn.HybridSequential(prefix="")
    width = int(features)
    for i, units in enumerate(hidden, 1):
        net.add(nn.Dense(units, in_units=width, prefix=f"fc{i}_"))
        if model.batchnorm:  # epsilon as mx.sym.BatchNorm's default, which model=mlp uses
            net.add(nn.BatchNorm(epsilon=1e-3, in_channels=units, prefix=f"bn{i}_"))
        net.add(nn.Activation(act, prefix=f"{act}{i}_"))
        if model.dropout > 0:
            net.add(nn.Dropout(float(model.dropout), prefix=f"drop{i}_"))
        width = units
    net.add(nn.Dense(int(classes), in_units=width, prefix=f"fc{len(hidden) + 1}_"))
    net.hybridize()
    return net


def build_network(model, classes, features):
    """``(network, symbol)``: the Symbol of logits (model=mlp, logreg) or the Gluon block (model=gluon_mlp)
    with the Symbol it traces to; the symbol gives shapes, layer names and attributes either way."""
    if str(model.name) == "gluon_mlp":
        block = build_block(model, classes, features)
        return block, block(mx.sym.var("data"))
    symbol = build_symbol(model, classes)
    return symbol, symbol


def make_initializer(spec):
    """An mx.init object from init_spec()'s plain `{name, **kwargs}` dict (nested specs included)."""
    spec = dict(spec)
    name = spec.pop("name")
    if name == "mixed":
        patterns = spec["patterns"]
        return mx.init.Mixed([p["pattern"] for p in patterns], [make_initializer(p["init"]) for p in patterns])
    if name == "load":
        default = spec.get("default_init")
        path = os.path.expanduser(spec["path"])
        try:
            return mx.init.Load(path, default_init=make_initializer(default) if default else None,
                                verbose=spec.get("verbose", False))
        except (ValueError, OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"initializer=load: initializer.path={spec['path']!r} cannot be read as saved "
                              f"parameters ({str(e).splitlines()[0]}). Point it at a .params file written by "
                              "mx.nd.save / Module.save_params (e.g. a run's best.params) or an .npz of arrays.") \
                from None
    if name == "fusedrnn" and spec.get("init") is not None:
        spec["init"] = make_initializer(spec["init"])
    return mx.init.create(name, **spec)


def build_context(device):
    """mx.cpu(id) or mx.gpu(id) for cfg.device (checks.validate has checked that the GPU exists)."""
    if str(device.name) == "gpu":
        return mx.gpu(int(device.id))
    return mx.cpu(int(device.id))


# ----- optimizer -----------------------------------------------------------------------------------
_OPTIMIZER_KEYS = {  # config key -> mx.optimizer argument, beyond lr/wd/clip_gradient
    "sgd": {"momentum": "momentum"},
    "adam": {"beta1": "beta1", "beta2": "beta2", "epsilon": "epsilon"},
    "rmsprop": {"gamma1": "gamma1", "gamma2": "gamma2", "epsilon": "epsilon", "centered": "centered",
                "clip_weights": "clip_weights"},
    "adagrad": {"eps": "eps"},
}


def build_lr_scheduler(sched, lr, total_updates, monitor="val_loss"):
    """An mx.lr_scheduler object for cfg.optimizer.lr_scheduler (None for name=none).

    Steps count updates (minibatches), as in MXNet. cosine with max_update=null runs over the
    whole training (`total_updates`). plateau watches a metric once per epoch instead (the Trainer
    feeds it each epoch's logs); `monitor` is the run's, used when lr_scheduler.monitor is null.
    """
    name = str(sched.name)
    if name == SchedulerName.none:
        return None
    if name == SchedulerName.plateau:
        watched = str(sched.monitor) if sched.monitor is not None else monitor
        try:
            return mx.lr_scheduler.ReduceLROnPlateau(monitor=watched, factor=float(sched.factor),
                                                     patience=int(sched.patience), cooldown=int(sched.cooldown),
                                                     min_lr=float(sched.min_lr), base_lr=lr)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"optimizer.lr_scheduler.name=plateau: {str(e).replace('ReduceLROnPlateau: ', '')} "
                              "Set that optimizer.lr_scheduler.* key accordingly.") from None
    warm = {"warmup_steps": int(sched.warmup_steps), "warmup_begin_lr": float(sched.warmup_begin_lr),
            "warmup_mode": str(sched.warmup_mode)}
    if name == "factor":
        return mx.lr_scheduler.FactorScheduler(step=int(sched.step), factor=float(sched.factor),
                                               stop_factor_lr=float(sched.stop_factor_lr), base_lr=lr, **warm)
    if name == "multifactor":
        return mx.lr_scheduler.MultiFactorScheduler(step=[int(s) for s in sched.steps], factor=float(sched.factor),
                                                    base_lr=lr, **warm)
    max_update = int(sched.max_update) if sched.max_update is not None else max(int(total_updates), 1)
    if max_update <= warm["warmup_steps"]:
        raise ConfigError(f"optimizer.lr_scheduler.max_update={max_update} must exceed warmup_steps="
                          f"{warm['warmup_steps']}; raise max_update (or trainer.epochs) or lower warmup_steps.")
    return mx.lr_scheduler.CosineScheduler(max_update=max_update, base_lr=lr, final_lr=float(sched.final_lr), **warm)


def build_optimizer(opt, total_updates, monitor="val_loss"):
    """(name, optimizer_params) for mx.optimizer.create from cfg.optimizer."""
    name = str(opt.name)
    lr = float(opt.lr)
    params = {"learning_rate": lr, "wd": float(opt.wd)}
    if opt.clip_gradient is not None:
        params["clip_gradient"] = float(opt.clip_gradient)
    for key, arg in _OPTIMIZER_KEYS[name].items():
        value = opt[key]
        if value is not None:
            params[arg] = value if isinstance(value, bool) else float(value)
    scheduler = build_lr_scheduler(opt.lr_scheduler, lr, total_updates, monitor)
    if scheduler is not None:
        params["lr_scheduler"] = scheduler
    return name, params


# ----- data and shape checks -----------------------------------------------------------------------
def _data_hint(data_cfg, features):
    name = str(data_cfg.name)
    if name == "synthetic":
        return f"data.n_features={features}"
    if name in ("csv", "npz", "mnist"):
        return f"a data.path whose samples have {features} features"
    return f"a data source with {features} features per sample"


def check_saved_params(params, model_shapes, features, data_cfg, source, key):
    """Saved parameters (a Load file, a checkpoint) must fit the model built for this data.

    Says the data's feature count, the model input the file expects and which key to change."""
    problems, wanted_features = [], None
    for name, want in model_shapes.items():
        have = params.get(name)
        if have is None or tuple(have) == tuple(want):
            continue
        if name == "fc1_weight" and len(have) == 2 and have[0] == want[0] and have[1] != want[1]:
            wanted_features = int(have[1])
        problems.append(f"{name} is {tuple(have)} there but {tuple(want)} in this model")
    if not problems:
        return
    if wanted_features is not None:
        raise ConfigError(
            f"the data (data={data_cfg.name}) has {features} features per sample, but {key}={source!r} holds "
            f"fc1_weight {tuple(params['fc1_weight'])}: a model input of {wanted_features} features. Train on data "
            f"with {wanted_features} features ({_data_hint(data_cfg, wanted_features)}), or point {key} at "
            f"parameters trained on this data.")
    raise ConfigError(
        f"{key}={source!r} does not fit this model (data={data_cfg.name}, {features} features per sample): "
        f"{'; '.join(problems)}. Set model.hidden / model.num_classes to the values it was trained with, or "
        f"point {key} at parameters of this model.")


def _model_shapes(symbol, batch, features):
    arg, _, aux = symbol.infer_shape(data=(batch, features))
    shapes = dict(zip(symbol.list_arguments(), arg))
    shapes.update(zip(symbol.list_auxiliary_states(), aux))
    shapes.pop("data")
    return shapes


def _load_params_shapes(init):
    """{name: shape} of every Load inside an initializer (Mixed included)."""
    out = {}
    if isinstance(init, mx.init.Load):
        out.update({n: tuple(a.shape) for n, a in init.param.items()})
    for _, inner in getattr(init, "map", ()):
        out.update(_load_params_shapes(inner))
    return out


def resume_source(cfg, out_dir):
    """Where trainer.resume points: ``(index, meta)`` of the checkpoint to continue, or (None, None)
    for a fresh start (``auto`` with no checkpoint yet)."""
    from trainkit.checkpoint import find_checkpoint, newest_complete
    resume = cfg.trainer.resume
    if resume is None:
        return None, None
    if resume == "auto":
        return newest_complete(out_dir) if out_dir is not None else (None, None)
    find_checkpoint(resume)  # no checkpoint at all: an error naming the path
    return newest_complete(resume)


def _checkpoint_shapes(index, meta, network):
    from trainkit.checkpoint import KINDS, load_params
    path = index.parent / meta["files"]["params"]
    kind, want = meta.get("model", "module"), "module" if isinstance(network, mx.sym.Symbol) else "gluon"
    if kind != want:
        raise ConfigError(f"trainer.resume: checkpoint {str(index)!r} holds a {KINDS.get(kind, kind)}, but this "
                          f"run's model trains a {KINDS[want]}; resume with the model= of that run, or start afresh.")
    if want == "gluon":  # save_parameters names (0.weight, ...) mapped to the block's parameter names
        from trainkit.gluon.adapter import load_arrays
        return str(path), {k: tuple(v.shape) for k, v in load_arrays(network, path).items()}
    arg, aux = load_params(path)
    shapes = {k: tuple(v.shape) for k, v in arg.items()}
    shapes.update({k: tuple(v.shape) for k, v in aux.items()})
    return str(path), shapes


def _gluon_load_names(init, block):
    """Files a Gluon run wrote with save_parameters (best.params, model-NNNN.params) name parameters by
    position (0.weight); an initializer=load of one reads them under the block's names (fc1_weight)."""
    structural = {k: p.name for k, p in block._collect_params_with_prefix().items()}
    if isinstance(init, mx.init.Load):
        init.param = {structural.get(k, k): v for k, v in init.param.items()}
    for _, inner in getattr(init, "map", ()):
        _gluon_load_names(inner, block)


# ----- memory ----------------------------------------------------------------------------------------
def available_memory():
    """Bytes this process can still allocate: MemAvailable, or a cgroup limit if lower (None: unknown)."""
    avail = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except OSError:
        pass
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            raw = open(limit_file, encoding="ascii").read().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < (1 << 60):
            avail = min(avail, int(raw)) if avail else int(raw)
    return avail


def check_memory(shapes, batch_size, eval_batch, n_samples, features, optimizer_name):
    """Refuse a model whose parameters, gradients, optimizer states and batch activations cannot
    fit in memory, before allocating any of it."""
    params = sum(int(np.prod(s)) for s in shapes.values())
    widest = max([int(s[0]) for n, s in shapes.items() if n.endswith("_weight")] + [features])
    slots = {"sgd": 3, "adam": 4, "rmsprop": 4, "adagrad": 3}.get(optimizer_name, 4)  # weight, grad, states
    need = 4 * (params * slots + 4 * max(batch_size, eval_batch) * widest * max(1, len(shapes) // 2))
    need += 4 * n_samples * features
    avail = available_memory()
    if avail is not None and need > 0.9 * avail:
        raise ConfigError(f"this model needs about {need / 2**30:.1f} GiB ({params:,} parameters with their "
                          f"gradients and {optimizer_name} state, plus the batch activations and data), but only "
                          f"{avail / 2**30:.1f} GiB of memory is available. Shrink model.hidden or "
                          "trainer.batch_size, or check model.num_classes and the labels.")
    return need


class Built:
    """What build() makes from a config: data, network (a Symbol or a Gluon block) and its symbol,
    initializer, shapes (used by dry runs too)."""

    def __init__(self, cfg, out_dir=None, resume=None):
        # the checkpoint to continue, found (and checked) before loading anything
        self.resume_index, self.resume_meta = resume if resume is not None else resume_source(cfg, out_dir)
        self.task, self.loss, self.metric_names, self.monitor = task_parts(cfg)
        data = load_data(cfg.data, self.task)
        self.X, self.y, self.X_val, self.y_val = data.X, data.y, data.X_val, data.y_val
        self.feature_names, self.standardization = data.feature_names, data.standardization
        self.class_names = data.class_names  # text labels in the data ("cat", "dog"): index i is class_names[i]
        if self.task.name == "classification":
            from trainkit.app.data import num_classes
            self.classes, how = num_classes(self.y, self.y_val, cfg.model.num_classes)
        else:  # the output layer's size: 1 logit (binary), one unit per target (regression)
            try:
                self.classes, how = self.task.units_from_labels(self.y, cfg.model.num_classes)
            except ValueError as e:
                raise DataError(str(e)) from None
        log.info("data %s: train X %s y %s, val X %s y %s, %d %s (%s)", cfg.data.name, self.X.shape, self.y.shape,
                 self.X_val.shape, self.y_val.shape, self.classes,
                 "classes" if self.task.name == "classification" else "output unit(s)", how)
        self.features = int(np.prod(self.X.shape[1:]))
        self.network, self.symbol = build_network(cfg.model, self.classes, self.features)
        self.shapes = _model_shapes(self.symbol, int(cfg.trainer.batch_size), self.features)
        check_memory(self.shapes, int(cfg.trainer.batch_size), max(int(cfg.trainer.batch_size), 256), len(self.X),
                     self.features, str(cfg.optimizer.name))
        try:
            self.initializer = make_initializer(init_spec(cfg.initializer))
        except (ValueError, TypeError, mx.MXNetError) as e:
            raise ConfigError(f"initializer={cfg.initializer.name}: {str(e).splitlines()[0]} Change that "
                              f"initializer.* value (python -m trainkit initializer={cfg.initializer.name} --cfg "
                              "job shows them all).") from None
        if not isinstance(self.network, mx.sym.Symbol):  # a Gluon block (not imported for Symbol models)
            _gluon_load_names(self.initializer, self.network)
        loaded = _load_params_shapes(self.initializer)
        if loaded:
            check_saved_params(loaded, self.shapes, self.features, cfg.data, _load_path(cfg.initializer),
                               "initializer.path")
        if self.resume_index is not None:
            source, saved = _checkpoint_shapes(self.resume_index, self.resume_meta, self.network)
            check_saved_params(saved, self.shapes, self.features, cfg.data, source, "trainer.resume")
        try:  # the plan of the real initialisation: raises what init_params would, before training
            self.rows = mx.init.describe(self.initializer, self.shapes, self.symbol.attr_dict())
        except (ValueError, TypeError, mx.MXNetError) as e:
            raise ConfigError(f"initializer={cfg.initializer.name} cannot initialize this model "
                              f"({', '.join(f'{n} {tuple(s)}' for n, s in self.shapes.items())}): {e} Choose an "
                              f"initializer for FullyConnected weights (e.g. initializer=xavier), or route it with "
                              f"initializer=mixed to the parameters it fits.") from None


def _load_path(node):
    spec = to_plain(node)
    if spec.get("name") == "load":
        return spec.get("path")
    for p in spec.get("patterns") or ():
        if isinstance(p.get("init"), dict) and p["init"].get("name") == "load":
            return p["init"].get("path")
    return "?"


def debug_mode(cfg):
    """"fast_dev_run", "overfit" or None (cfg.debug, from debug=NAME)."""
    debug = cfg.get("debug")
    return None if debug is None else str(debug.name)


def build_callbacks(cfg, logger=True):
    """The logger (cfg.logger) and every cfg.callbacks entry, built with hydra.utils.instantiate: each must
    be a trainkit Callback. ConfigError names the entry when one cannot be imported, built or used."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from trainkit.callbacks import Callback
    out = []
    for key, spec in callback_specs(cfg):
        if key == "logger" and not logger:
            continue
        locate_target(spec, key)
        plain = OmegaConf.to_container(spec, resolve=True, enum_to_str=True)
        try:
            obj = instantiate(plain)
        except Exception as e:  # Hydra's InstantiationException wraps the constructor's own error
            cause = e.__cause__ or e
            args = ", ".join(k for k in plain if k != "_target_") or "none"
            raise ConfigError(f"{key}: building {plain['_target_']} failed ({type(cause).__name__}: "
                              f"{str(cause).strip().splitlines()[0] if str(cause).strip() else ''}). Its keyword "
                              f"arguments come from the other keys of {key} ({args}); make them match the "
                              "constructor.") from None
        if not isinstance(obj, Callback):
            raise ConfigError(f"{key}._target_={plain['_target_']!r} built a {type(obj).__module__}."
                              f"{type(obj).__qualname__}, which is not a trainkit Callback; the Trainer can only "
                              "call trainkit.callbacks.Callback objects (subclass it).")
        out.append(obj)
    return out


def build_trainer(cfg, out_dir=None, progress=None, built=None):
    """A ready-to-fit Trainer for a validated config; `out_dir=None` writes no files.

    debug=fast_dev_run and debug=overfit are applied here, after the recipe and every override, so no
    recipe value can undo them: fast_dev_run runs its epochs over limit_batches batches (training and
    validation), with no logger and no files; overfit trains on the first limit_batches batches of
    the training data only, without validation or early stopping."""
    from trainkit.trainer import EarlyStopping, Trainer

    b = built or Built(cfg, out_dir)
    t = cfg.trainer
    ctx = build_context(cfg.device)
    if not isinstance(b.network, mx.sym.Symbol):
        module = b.network  # a Gluon block: the Trainer adapts it (trainkit.gluon.adapter.BlockModel)
    else:
        module = mx.mod.Module(b.symbol, data_names=["data"], label_names=None, context=ctx)
    mode = debug_mode(cfg)
    epochs, limit = int(t.epochs), t.limit_batches
    X, y, X_val, y_val = b.X, b.y, b.X_val, b.y_val
    if mode is not None:
        epochs, limit = int(cfg.debug.epochs), int(cfg.debug.limit_batches)
    if mode == "fast_dev_run":
        out_dir = None
    elif mode == "overfit":
        # the same few samples every epoch: limit_batches alone would draw new ones from each shuffle
        keep = limit * int(t.batch_size)
        X, y, X_val, y_val, limit = X[:keep], y[:keep], X_val[:0], y_val[:0], None
    batches = math.ceil(len(X) / int(t.batch_size))
    total_updates = epochs * (min(batches, int(limit)) if limit is not None else batches)
    has_val = len(X_val) > 0
    monitor = b.monitor if has_val or not b.monitor.startswith("val_") else "train_" + b.monitor[4:]
    opt_name, opt_params = build_optimizer(cfg.optimizer, total_updates, monitor)
    es = t.early_stopping
    callbacks = build_callbacks(cfg, logger=mode != "fast_dev_run")
    if es.patience is not None and mode is None:
        callbacks.append(EarlyStopping(monitor=b.monitor, patience=int(es.patience), mode=str(es.mode),
                                       min_delta=float(es.min_delta)))
    return Trainer(module, task=b.task, loss=b.loss, metrics=b.metric_names, initializer=b.initializer,
                   optimizer=opt_name, optimizer_params=opt_params,
                   train_data=(X, y), val_data=(X_val, y_val) if has_val else None,
                   epochs=epochs, batch_size=int(t.batch_size), shuffle=bool(t.shuffle), seed=int(cfg.seed),
                   callbacks=callbacks, out_dir=out_dir, monitor=monitor, mode=str(es.mode),
                   checkpoint_every=int(t.checkpoint_every), resume=_resume_arg(b, t.resume), progress=progress,
                   log_every=int(t.log_every), context=ctx, keep_last=t.keep_last, config=to_plain(cfg),
                   limit_batches=None if limit is None else int(limit),
                   clip_global_norm=None if t.clip_global_norm is None else float(t.clip_global_norm))


def _resume_arg(built, resume):
    """The checkpoint Built chose (it may have passed over a damaged newer one), else trainer.resume."""
    if built.resume_index is not None:
        return str(built.resume_index)
    return resume  # None, or "auto" with no checkpoint yet: the Trainer starts afresh


# ----- dry run -------------------------------------------------------------------------------------
def network_line(cfg, built):
    """``model: mlp  data (64 features) -> fc1 -> relu1 -> fc2 (10 classes)``."""
    layers = " -> ".join(_layer_names(built.symbol))
    units = "classes" if built.task.name == "classification" else "output unit(s)"
    return f"model: {cfg.model.name}  data ({built.features} features) -> {layers} ({built.classes} {units})"


def describe(cfg, built=None, dry_run=True):
    """The dry run's model summary: the network, then each parameter's shape, initializer, Mixed pattern,
    expected mean/std and count (mx.init.describe), and the total (`dry_run=True` adds the line saying
    nothing was trained). A normal run logs the network line, and the Trainer its own parameter table."""
    b = built or Built(cfg)
    lines = [network_line(cfg, b),
             f"initializer: {cfg.initializer.name} (per parameter below; mean and std are expected values)",
             "", mx.init.format_table(b.rows)]
    if dry_run:
        lines += ["", "dry run: nothing was trained (dry_run=false trains)."]
    return "\n".join(lines)


def _layer_names(symbol):
    nodes = json.loads(symbol.tojson())["nodes"]
    return [n["name"] for n in nodes if n["op"] != "null"]


# ----- the command line's job ------------------------------------------------------------------------
# Keys a resume may change: they apply from the next batch and are recorded in the checkpoint's
# config_changes. Any other difference from the checkpoint's config cannot apply (the model, the data,
# the batch size, the optimizer and its schedule are baked into the saved state) and is refused.
RESUMABLE = ("trainer.epochs", "trainer.checkpoint_every", "trainer.keep_last", "trainer.progress",
             "trainer.log_every", "trainer.resume", "trainer.shuffle", "trainer.early_stopping.patience",
             "trainer.early_stopping.min_delta", "dry_run", "seed", "device.", "data.path",
             "optimizer.lr", "optimizer.wd", "optimizer.clip_gradient", "trainer.clip_global_norm",
             "optimizer.momentum", "optimizer.beta1",
             "optimizer.beta2", "optimizer.epsilon", "optimizer.gamma1", "optimizer.gamma2", "optimizer.eps",
             "optimizer.clip_weights")


def refuse_unresumable(saved, now, source):
    """Raise ConfigError listing every key that differs from the checkpoint's config and cannot change."""
    from trainkit.checkpoint import config_diff
    if not saved:
        return {}
    diff = config_diff(saved, now)
    fixed = {k: v for k, v in diff.items() if not any(k == r or (r.endswith(".") and k.startswith(r))
                                                        for r in RESUMABLE)}
    if fixed:
        listed = "; ".join(f"{k}: {a!r} there, {b!r} now" for k, (a, b) in sorted(fixed.items()))
        raise ConfigError(f"cannot resume {source} with these changes, which a checkpoint cannot take: {listed}. "
                          f"Set them back (e.g. {' '.join(f'{k}={_override(a)}' for k, (a, _) in sorted(fixed.items())[:3])}"
                          f"), or start a new run. Keys that can change on resume: {', '.join(RESUMABLE)}.")
    return diff


def _override(value):
    if value is None:
        return "null"
    if isinstance(value, (list, dict)):
        return json.dumps(value).replace(" ", "")
    return str(value).lower() if isinstance(value, bool) else str(value)


def _own_files(out_dir):
    """What this very process has already written into out_dir: Hydra's .hydra/ of this run (written
    just before the task starts), told apart from an earlier run's by its time."""
    cli = sys.modules.get("trainkit.app.cli")
    started = getattr(cli, "STARTED", None)
    hydra_cfg = out_dir / ".hydra" / "config.yaml"
    if started is not None and hydra_cfg.is_file() and hydra_cfg.stat().st_mtime >= started - 1:
        return (".hydra/",)
    return ()


def run(cfg):
    """One run of the command line: write the run folder, then dry-run or train. Returns the final
    value of trainer.early_stopping.monitor (what sweepers such as optuna optimise)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from trainkit import files
    from trainkit.checkpoint import check_out_dir

    hc = HydraConfig.get()
    out_dir = Path(hc.runtime.output_dir)
    if cfg.trainer.resume is None and "submitit" in str(hc.launcher.get("_target_", "")):
        # submitit requeues a preempted or timed-out job into the same folder: continue it there
        cfg.trainer.resume = "auto"
    mode = debug_mode(cfg)
    writes = mode != "fast_dev_run"  # fast_dev_run: nothing of this run outlives it
    check_out_dir(out_dir, cfg.trainer.resume, own=_own_files(out_dir))  # before writing anything into it
    index, meta = resume_source(cfg, out_dir)
    if meta is not None:
        refuse_unresumable(meta.get("config"), to_plain(cfg), f"from {index}")
    if writes:
        files.write_text(out_dir / "config_resolved.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    built = Built(cfg, out_dir, resume=(index, meta))
    if cfg.dry_run:
        print(describe(cfg, built))
        return None
    progress = cfg.trainer.progress
    if progress is None:  # only on a terminal, never in a multirun (joblib jobs would share it)
        progress = sys.stderr.isatty() and hc.mode != RunMode.MULTIRUN
    if writes:  # prediction (python -m trainkit predict) applies the same scaling and class names
        from trainkit.app.data import save_class_names, save_standardization
        if built.standardization is not None:
            save_standardization(out_dir, built.standardization)
        if built.class_names is not None:
            save_class_names(out_dir, built.class_names)
    trainer = build_trainer(cfg, out_dir=out_dir if writes else None, progress=progress, built=built)
    log.info("%s", network_line(cfg, built))  # the Trainer logs the parameter table when fit starts
    if mode == "fast_dev_run":
        log.info("debug=fast_dev_run: %s of %s and %s; nothing is written (no run folder, checkpoint or log "
                 "is kept)", _count(trainer.epochs, "epoch"), _count(cfg.debug.limit_batches, "training batch"),
                 _count(cfg.debug.limit_batches, "validation batch"))
    else:
        log.info("run folder %s", out_dir)
    history = trainer.fit()
    _log_summary(trainer)
    if mode == "overfit":
        overfit_verdict(history, cfg)
    elif mode == "fast_dev_run":
        log.info("debug=fast_dev_run: the pipeline ran end to end (data, model, updates, evaluation); nothing was "
                 "saved")
        return None
    best = trainer.best
    if best and best["value"] is not None:
        log.info("best %s=%.4f at epoch %s; parameters in %s", best["monitor"], best["value"], best["epoch"],
                 out_dir / "best.params")
    if best and best["value"] is not None:  # sweepers (optuna) optimise the best epoch, not the last one
        return float(best["value"])
    return history[-1].get(trainer.monitor) if history else None


def _log_summary(trainer):
    """The Trainer's end-of-run table (Trainer.summary_table, where this trainkit has it). fit() logs it
    itself when it has a run folder; a run without one (fast_dev_run) gets it here."""
    table = getattr(trainer, "summary_table", None)
    if callable(table) and trainer.out_dir is None:
        text = table()
        if text:
            log.info("%s", text)


def _count(n, noun):
    n = int(n)
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('ch') else 's'}"


def overfit_verdict(history, cfg):
    """Whether debug=overfit drove the training loss down by debug.min_loss_drop: logs PASS and returns the
    ratio, or raises OverfitFailed (so the command exits 1, as a failed check should)."""
    losses = [h.get("train_loss") for h in history if h.get("train_loss") is not None]
    need = float(cfg.debug.min_loss_drop)
    batches = int(cfg.debug.limit_batches)
    if len(losses) < 2:
        log.warning("debug=overfit: too few epochs (%d) to tell whether the loss falls; raise debug.epochs",
                    len(losses))
        return None
    first, last = float(losses[0]), float(losses[-1])
    ratio = first / last if last > 0 else float("inf")
    where = f"{_count(len(losses), 'epoch')} on {_count(batches, 'batch')} of {cfg.trainer.batch_size}"
    if ratio >= need:
        log.info("debug=overfit: PASS: train_loss %.4g -> %.4g over %s (%.3gx lower, >= %gx): the model can fit "
                 "these samples", first, last, where, ratio, need)
    else:
        raise OverfitFailed(f"debug=overfit: FAIL: train_loss {first:.4g} -> {last:.4g} over {where} is only "
                            f"{ratio:.3g}x lower (< {need:g}x). A working setup memorises a few batches; check "
                            "optimizer.lr (too low or too high), the model's size (model.hidden), the initializer "
                            "and whether the labels match the features")
    return ratio


class OverfitFailed(Exception):
    """debug=overfit's check failed: the run ends with exit status 1 and this one paragraph."""
    user_error = True
