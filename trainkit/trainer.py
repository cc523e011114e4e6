"""``trainkit.Trainer``: the training loop for classifiers built as ``mx.sym`` graphs or Gluon blocks.

The Trainer sees the network through one small interface, ``Model`` (below): ``ModuleModel``
for an ``mx.mod.Module`` (or a Symbol), ``trainkit.gluon.adapter.BlockModel`` for a Gluon block.
It binds, initialises, runs forward, lists the trainable weights for the optimizer, and writes
and reads the network's own checkpoint files; everything else (the loop, the optimizer, the
files around them) is the same code for both. The loop reads top to bottom::

    on_fit_start; log model_summary()
    for epoch in epochs:
        on_epoch_start
        for batch in (a pure function of (seed, epoch), the first limit_batches of them):
            with autograd.record(): loss = loss_fn(model.forward(x), y)   # mean over the batch; one
                                                                     #   compiled program (trainkit.compiled)
                                                                     #   for a bound graph and a built-in loss
            loss.backward()
            clip_global_norm(grads)                                  # optional: the grads' joint L2 norm
            updater(indices, grads, weights)                         # mx.optimizer: wd, clipping, lr schedule
            on_batch_end                                             # DivergenceGuard, LearningRateMonitor,
                                                                     #   ProgressBar, ProgressLog (log_every)
        evaluate(val) under predict_mode()                           # Dropout off, BatchNorm moving stats
        lr_scheduler.observe(logs)                                   # ReduceLROnPlateau only
        on_epoch_end                                                 # EarlyStopping, DivergenceGuard, RunFiles:
                                                                     #   metrics.jsonl, best.params, checkpoint
    log summary_table() (with out_dir); on_fit_end                   # LogFile (trainkit.log) detaches last

Everything a run needs to continue exactly is in its checkpoint (``out_dir``):

    model-symbol.json, model-NNNN.params   a Module's: MXNet's checkpoint (mx.model.load_checkpoint reads it);
                                           a Gluon block's: model-NNNN.params from save_parameters, and
                                           model-export-symbol.json, model-export-NNNN.params from export
    model-NNNN.states                      the optimizer's states and the optimizer itself (pickle;
                                           MXNet's .states layout, so Module.load_optimizer_states reads it)
    trainer-NNNN.json                      epoch, position in the epoch, history, best value, seed, config,
                                           config_changes, and the size and sha256 of each file above
    trainer-NNNN.state                     trainkit.random's stream (compact: seed + twist counts, a few
                                           KB), metric and callback states (pickle)
    best.params                            the parameters of the best epoch by ``monitor``
    metrics.jsonl                          one JSON line per epoch (strict JSON: non-finite values are null)

``trainkit.checkpoint`` writes and reads them, each file whole or absent (``trainkit.files``).
SIGINT (Ctrl-C), SIGTERM and SIGUSR1 all finish the batch, checkpoint and raise ``Interrupted``;
a non-finite loss or parameter raises ``Diverged`` (``callbacks.DivergenceGuard``).

NNNN counts epochs from 1, as MXNet's ``do_checkpoint`` does: ``model-0003.params`` holds the
weights after the third epoch. A checkpoint written by Ctrl-C in the middle of epoch 4 is
``model-0004`` with ``"complete": false`` and the number of batches done; resuming skips those
batches. The data order of epoch ``e`` is ``numpy.random.default_rng([seed, e]).permutation(n)``,
so a resumed run sees the same batches as an uninterrupted one, and its metrics are identical.

This module never imports Hydra: the command line builds a Trainer in ``trainkit.app.build``.
"""
import logging
import os
import signal
import time
from pathlib import Path

import numpy as np

from . import autograd
from . import checkpoint as _ckpt
from . import files as _files
from . import random as _random
from . import random_state as _random_state
from . import stop_signals as _stop_signals
from .compiled import TracedStep
from .context import Context
from .callbacks import (Callback, DivergenceGuard, Diverged, EarlyStopping, RunFiles, _Best,  # noqa: F401
                        _overrides)
from .callbacks_progress import LearningRateMonitor, LogFile, ProgressBar, ProgressLog
from .checkpoint import CheckpointError, TrainerError, check_out_dir, find_checkpoint  # noqa: F401 - re-exported
from .checkpoint import _json_line
from .stop_signals import Interrupted  # noqa: F401 - re-exported
from .ndarray.ndarray import NDArray, array
from .tasks import get_task
from .trainer_model import Model, ModuleModel, as_model  # noqa: F401 - Model, ModuleModel: re-exported
from .train_data import _Arrays, _Iter, _as_data, _epoch_order, _host  # noqa: F401 - _epoch_order: tests
from .trainer_epoch import Tally, _fmt, _named, batch_mean, capped, chain, clip_global_norm, iter_inputs

__all__ = ["Trainer", "Model", "ModuleModel", "Callback", "EarlyStopping", "DivergenceGuard", "TrainerError",
           "CheckpointError", "Interrupted", "Diverged", "find_checkpoint", "check_out_dir"]

log = logging.getLogger("trainkit")


# ----- losses and metrics: trainkit.tasks (classification, binary, regression) ---------------------------


# ----- the trainer ---------------------------------------------------------------------------------
class Trainer:
    """Train an ``mx.mod.Module``, a Symbol of logits or a Gluon block on classification data.

    Parameters
    ----------
    module : mx.mod.Module, mx.sym.Symbol, gluon.Block or Model
        The network, whose single output is the class scores (logits) of a batch. A Symbol is
        wrapped in ``Module(symbol, data_names=['data'], label_names=None, context=context)``.
        An unbound module is bound for ``(batch_size, *sample_shape)``; a Gluon block
        (``HybridSequential``, any ``Block`` with one input) infers its deferred shapes from the
        data and runs hybridized if you hybridized it. Parameters are initialised with
        ``initializer`` unless they already are (``Module.load``, ``net.initialize``,
        ``net.load_parameters``). ``trainer.module`` is this network, ``trainer.model`` its adapter.
    initializer : mx.init.Initializer, name or dumps() string, optional
        Default ``Xavier()``. Given explicitly, it (re)initialises the parameters.
    optimizer : str or mx.optimizer.Optimizer
        A name for ``mx.optimizer.create`` (with ``optimizer_params``: learning_rate, momentum, wd,
        clip_gradient, lr_scheduler, ...) or an instance. The loss is a batch mean, so
        ``rescale_grad`` is 1; biases get no weight decay (MXNet's ``param_idx2name`` rule).
    train_data, val_data : (X, y) numpy/NDArray pair, or mx.io.DataIter
        Features ``(N, ...)`` and integer labels ``(N,)``. With arrays the epoch order is a pure
        function of (seed, epoch); a DataIter is ``reset()`` each epoch and its padding trimmed.
    task : 'classification', 'binary', 'regression' or a trainkit.tasks.Task
        What the network's outputs mean (trainkit.tasks): K class logits with integer labels 0..K-1, one
        logit with labels 0/1, or T values with float targets ``(N,)``/``(N, T)``. It picks the default
        loss, metrics and monitor, and what ``predict`` returns.
    loss : a name of the task's losses, callable(outputs, labels) -> NDArray, or None
        None: the task's default (softmax_cross_entropy; sigmoid_binary_cross_entropy; l2). Names:
        trainkit.tasks (huber's ``rho`` via ``get_task('regression').loss('huber', rho=...)``). A
        callable must return the batch mean (or per-sample values, which are averaged).
    metrics : sequence of the task's metric names, mx.metric names or instances, or None
        None: the task's defaults (accuracy; accuracy, auc; mse, mae, rmse, r2). Reported as
        ``train_<name>``/``val_<name>`` over every sample of the epoch, computed on the host arrays.
    epochs, batch_size, shuffle, seed
        ``seed`` seeds ``mx.random`` before initialising (and so Dropout) and the epoch order.
    callbacks : list of Callback
    early_stopping : EarlyStopping, optional (the same as putting it in ``callbacks``)
    out_dir : path, optional
        Where metrics.jsonl, checkpoints and best.params go; None writes nothing. A folder that
        already holds a run is refused unless it is the one being resumed.
    monitor, mode
        The metric that picks best.params (``val_*`` falls back to ``train_*`` without val_data);
        None: the task's (val_accuracy; val_auc; val_rmse).
    checkpoint_every : int
        Also checkpoint every N epochs; the last epoch (and Ctrl-C, SIGTERM, SIGUSR1) always checkpoint.
    keep_last : int, optional
        Keep only the newest N complete checkpoints (the best epoch's is kept too); None keeps all.
    resume : path or 'auto', optional
        A run folder (its newest complete checkpoint; a damaged one is passed over with a warning)
        or checkpoint file to continue from. ``'auto'`` continues ``out_dir`` itself in place when it
        holds a checkpoint and starts fresh when it does not (requeued cluster jobs).
    config : dict, optional
        A plain record of the settings that built this trainer (the app's resolved config), stored
        in each checkpoint so a resume can compare.
    stop_on_divergence : bool
        Stop with ``Diverged`` at the first non-finite loss or parameter (default True).
    progress : bool or None
        tqdm bars (``callbacks_progress.ProgressBar``); None shows them only when stderr is a terminal.
    log_every : int
        Log the running loss every N batches (0: once per epoch; ``callbacks_progress.ProgressLog``).
    context : mx.Context, optional
        Where to compute; default the module's context (a block's: where its parameters are, else cpu).
    eval_batch_size : int, optional
        Batch size for evaluate/predict (default max(batch_size, 256)).
    clip_global_norm : float, optional
        Between backward and the update, rescale the gradients of all trainable weights together so
        their global L2 norm is at most this (``gluon.utils.clip_global_norm``'s rule); None leaves
        them. A non-finite norm is left alone, for DivergenceGuard to report. The optimizer's own
        ``clip_gradient`` (element-wise) still applies after it.
    limit_batches : int, optional
        Run only the first N batches of each training epoch and of each evaluation pass (validation
        and ``evaluate``), for smoke tests and debugging; None runs them all. The epoch order is
        unchanged: epoch ``e`` still starts with the first N batches of its full permutation.
    """

    def __init__(self, module, initializer=None, optimizer="sgd", optimizer_params=None, train_data=None,
                 val_data=None, loss=None, metrics=None, epochs=10, batch_size=32,
                 shuffle=True, seed=0, callbacks=(), early_stopping=None, out_dir=None, monitor=None,
                 mode="auto", checkpoint_every=0, resume=None, progress=None, log_every=0, context=None,
                 eval_batch_size=None, keep_last=None, config=None, stop_on_divergence=True, task="classification",
                 limit_batches=None, clip_global_norm=None):
        self.model = as_model(module, context)   # the one interface the loop uses (ModuleModel, gluon BlockModel)
        self.module = self.model.network          # the network itself: the mx.mod.Module or the Gluon block
        self.context = context if context is not None else self.model.default_context()
        if not isinstance(self.context, Context):
            raise TypeError(f"context must be an mx.Context (mx.cpu(), mx.gpu(0)), got {type(context).__name__}.")
        self.initializer = initializer
        self._optimizer_spec = optimizer
        self.optimizer_params = dict(optimizer_params or {})
        self.task = get_task(task)
        self.train_data = _as_data(train_data, "train_data", self._check_labels)
        self.val_data = _as_data(val_data, "val_data", self._check_labels)
        if loss is None or isinstance(loss, str):
            loss = self.task.loss(loss)
        elif getattr(loss, "loss_name", None) is not None:
            owner = getattr(loss, "task", self.task.name)
            if owner != self.task.name:
                raise ValueError(f"loss {loss.loss_name!r} belongs to task={owner}, but this Trainer has "
                                 f"task={self.task.name}; use one of its losses ({', '.join(self.task.losses)}).")
        elif callable(loss):
            loss = batch_mean(loss)
        else:
            raise TypeError(f"loss must be a name or a callable(outputs, labels), got {type(loss).__name__}.")
        self.loss_fn = loss
        self._metric_specs = list(self.task.default_metrics if metrics is None else metrics)
        self.task.metrics(self._metric_specs)  # unknown names fail here, not after the first epoch
        for name, value, low in (("epochs", epochs, 0), ("batch_size", batch_size, 1),
                                 ("log_every", log_every or 0, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.callbacks = list(callbacks or ())
        if early_stopping is not None:
            self.callbacks.append(early_stopping)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be trainkit.Callback instances, got {type(cb).__name__}.")
        # internal callbacks go last: user callbacks keep their slots in a checkpoint's callback states
        if stop_on_divergence and not any(isinstance(cb, DivergenceGuard) for cb in self.callbacks):
            self.callbacks.append(DivergenceGuard())
        if out_dir is not None:
            self.callbacks.append(RunFiles())
        # what a run shows, after RunFiles: stateless, so older checkpoints' callback states still line up
        self.callbacks += [LearningRateMonitor(), ProgressBar(), ProgressLog()]
        if out_dir is not None:
            self.callbacks.append(LogFile())  # last: it keeps every line the others log up to fit's end
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.monitor, self.mode = (monitor if monitor is not None else self.task.default_monitor), mode
        self.checkpoint_every = int(checkpoint_every or 0)
        if keep_last is not None and (isinstance(keep_last, bool) or int(keep_last) < 1):
            raise ValueError(f"keep_last must be None (keep every checkpoint) or an int >= 1, got {keep_last!r}.")
        self.keep_last = int(keep_last) if keep_last is not None else None
        if resume == "auto" and out_dir is None:
            raise TrainerError("resume='auto' continues the run in out_dir, but out_dir is None; give out_dir.")
        self.resume = resume
        self.config = config
        self.config_changes = []     # what a resume changed: [{"epoch": e, "changes": {key: [old, new]}}]
        self.last_checkpoint = None  # the newest trainer-NNNN.json written or resumed from
        self.improved = False        # whether the epoch just ended improved on the best (for RunFiles)
        self.progress = progress
        self.log_every = int(log_every or 0)
        self.eval_batch_size = int(eval_batch_size or max(self.batch_size, 256))
        self.limit_batches = _check_limit(limit_batches)
        self.clip_global_norm = _check_max_norm(clip_global_norm)
        self.grad_norm = None        # the last batch's gradient norm before clipping (with clip_global_norm)

        self.history = []
        self.epoch = 0               # completed epochs
        self.stop_training = False
        self.stop_reason = None
        self.resumed_from = None
        self._best = None
        self._updater = None
        self._weights = None
        self._ready = False
        self._batches_done = 0       # within the epoch in progress (a mid-epoch resume)
        self._partial = None
        self._epoch_random = None
        self._stop_signal = None     # the signal that asked to stop, handled at the next batch boundary
        self._previous_handlers = {}
        self._extra = []
        self._packer = _random_state.Packer()
        self._lock = None
        self._init_used = None       # the initializer fit applied (None: the network came with its values)
        self._tally = None           # the running totals of the epoch in progress (progress bars, log_every)
        self._run_stats = None       # the last fit's clock and samples (summary_table)
        self.num_batches = None      # batches in each training epoch, after limit_batches (None: unknown)

    # ----- config -----------------------------------------------------------------------------
    @classmethod
    def from_config(cls, overrides=(), cfg=None, out_dir=None, progress=None):
        """A Trainer for a trainkit config: composed from ``overrides`` (command-line style, e.g.
        ``["+recipe=mlp", "trainer.epochs=3"]``) or given as ``cfg``. ``out_dir=None`` writes no files."""
        from .app import build  # the only path into Hydra/OmegaConf, on demand
        from .app.config import load_config
        if cfg is None:
            cfg = load_config(list(overrides))
        elif overrides:
            raise TypeError("from_config takes overrides or cfg, not both.")
        return build.build_trainer(cfg, out_dir=out_dir, progress=progress)

    # ----- public API ------------------------------------------------------------------------
    @property
    def optimizer(self):
        """The mx.optimizer.Optimizer in use (after a resume, the one restored from the checkpoint)."""
        return self._updater.optimizer if self._updater is not None else None

    @property
    def best(self):
        """``{monitor, mode, value, epoch}`` of the best epoch so far (None before fit)."""
        return self._best.as_dict() if self._best is not None else None

    def fit(self, epochs=None):
        """Train until ``epochs`` epochs are complete (counting a resumed run's); returns ``history``."""
        if epochs is not None:
            self.epochs = int(epochs)
        if self.train_data is None:
            raise TrainerError("fit() needs train_data: (X, y) arrays or an mx.io.DataIter.")
        restore = self._install_signals()
        try:
            self._prepare()
        except BaseException:
            restore()
            self._release()
            raise
        self._run_stats = {"start": time.perf_counter(), "samples": 0, "train_seconds": 0.0}
        try:
            # overflow warnings would only repeat what DivergenceGuard reports, in a worse place
            with np.errstate(over="ignore", invalid="ignore"):
                self._fit()
        except BaseException as exc:
            for cb in self.callbacks:
                cb.on_exception(self, exception=exc)
            raise
        finally:
            self._run_stats["end"] = time.perf_counter()
            restore()
            self._release()
        return self.history

    def model_summary(self):
        """A plain-text table of the network's parameters: layer, name, shape, count and initializer (the
        parameter's own, else what the Trainer's initializer gives it), then the totals. fit() logs it
        when it starts. Before fit the shapes a Gluon block defers are shown as '?'."""
        from .callbacks_summary import model_summary
        if not self._ready and self.train_data is not None:
            self._prepare_module(self.train_data)  # bind a Module so its shapes are known
        return model_summary(self)

    def _planned_initializer(self):
        """The initializer fit applied, or (before fit) will apply; None when the network keeps its own values."""
        if self._ready:
            return self._init_used
        if self.model.ready and self.initializer is None:
            return None
        from . import initializer as _init
        init = self.initializer if self.initializer is not None else _init.Xavier()
        return _init.create(init) if isinstance(init, (str, dict, list, tuple)) else init

    def summary_table(self):
        """A plain-text summary of the run: epochs, wall time and samples/s of the last fit(), the best
        (with its epoch) and final value of every train_*/val_* metric, and the run folder's files with
        their sizes. fit() logs it at the end when there is an out_dir."""
        from .callbacks_summary import run_summary
        return run_summary(self)

    def request_stop(self, signum=signal.SIGINT):
        """Stop as a signal would: finish the batch, checkpoint, raise Interrupted (for callbacks, tests)."""
        self._stop_signal = int(signum)

    def evaluate(self, data):
        """``{'loss': ..., <metric>: ...}`` (the trainer's metrics, e.g. accuracy) over ``data`` ((X, y) or a
        DataIter), in predict mode."""
        data = _as_data(data, "data", self._check_labels)
        self._prepare_module(data)
        self._check_ready_for_predict()
        extra = self._new_metrics()
        return self._evaluate(data, extra)

    def predict(self, X):
        """What the network predicts for ``X`` (array or DataIter), in predict mode, as one NDArray:
        class probabilities ``(N, K)`` (softmax) for task=classification, the probability of class 1
        ``(N, 1)`` (sigmoid) for binary, the values ``(N, T)`` for regression. ``predict_logits`` gives the
        raw outputs; ``task.predict(logits)`` names them as columns (class, prob_0, ... / value)."""
        return array(self.task.transform(self.predict_logits(X).asnumpy()), self.context)

    def predict_logits(self, X):
        """The network's raw outputs for ``X`` (array or DataIter), in predict mode, as one NDArray: class
        logits, the binary logit or the regression values, before any softmax or sigmoid."""
        if isinstance(X, (tuple, list)) and len(X) == 2:
            X = X[0]
        if hasattr(X, "reset") and hasattr(X, "__iter__"):
            self._prepare_module(_Iter(X, "X"))
            batches = iter_inputs(X, self.context)
        else:
            Xn = X.asnumpy() if isinstance(X, NDArray) else np.asarray(X)
            Xn = np.ascontiguousarray(Xn, dtype=np.float32)
            if Xn.ndim < 2 or len(Xn) == 0:
                raise TrainerError(f"predict: X must be an array of shape (N, features...), got shape {Xn.shape}.")
            bs = self.eval_batch_size
            batches = (array(Xn[i:i + bs], self.context) for i in range(0, len(Xn), bs))
            self._prepare_module(_Arrays(Xn[:1], np.zeros(1), "X"))
        self._check_ready_for_predict()
        outs = []
        with autograd.predict_mode():
            for x in batches:
                outs.append(_host(self.model.forward(x)).copy())
        return array(np.concatenate(outs, axis=0), self.context)

    # ----- preparation -----------------------------------------------------------------------
    def _check_labels(self, y, what):
        """The task's label check, raising TrainerError (a user error)."""
        return self.task.check_labels(y, what, TrainerError)

    def _check_ready_for_predict(self):
        if not self.model.ready:
            raise TrainerError(f"the {self.model.what} has no parameters yet: call fit() first, or pass a "
                               f"{self.model.what} with initialized (or loaded) parameters.")

    def _prepare_module(self, data):
        """Fit the model to this data once (bind a Module, infer a block's shapes); check later data fits it."""
        if data is None:
            return
        bs = self.batch_size if isinstance(data, _Arrays) else (data.batch_size or self.batch_size)
        self.model.bind(data.sample_shape, bs, self.context)

    def _prepare(self):
        if self._ready:
            if self.out_dir is not None and self._lock is None:  # a second fit() on the same trainer
                self._lock = _ckpt.FolderLock(self.out_dir).acquire()
            return
        from . import optimizer as _opt
        self._prepare_module(self.train_data)
        if self.val_data is not None:
            self._prepare_module(self.val_data)
        m = self.model
        if self.seed is not None:
            _random.seed(int(self.seed))
        if not m.ready or self.initializer is not None:
            init = self._planned_initializer()
            m.initialize(init, self.context)
            self._init_used = init   # for model_summary

        # the optimizer: indices as the network's own format numbers them (Module.load_optimizer_states,
        # gluon.Trainer.load_states read the .states files)
        trainable = m.trainable()
        self._indices = [i for i, _, _ in trainable]
        self._weights = [w for _, _, w in trainable]
        idx2name = {i: n for i, n, _ in trainable}
        opt = self._optimizer_spec
        if isinstance(opt, str):
            params = dict(self.optimizer_params)
            params.setdefault("rescale_grad", 1.0)
            opt = _opt.create(opt, param_idx2name=idx2name, sym=m.attributes(), **params)
        elif isinstance(opt, _opt.Optimizer):
            if self.optimizer_params:
                raise TypeError("optimizer_params go with an optimizer name; set them on the Optimizer instance.")
            if not opt.idx2name:
                opt.idx2name = idx2name.copy()
                opt.set_wd_mult({})  # no weight decay on biases, as with a name
            if opt.rescale_grad != 1.0:
                log.warning("the optimizer has rescale_grad=%s, but the Trainer's loss is already a batch mean; "
                            "gradients are scaled twice. Create it with rescale_grad=1.", opt.rescale_grad)
        else:
            raise TypeError(f"optimizer must be a name or an mx.optimizer.Optimizer, got {type(opt).__name__}.")
        self._updater = _opt.get_updater(opt)
        self._step = self._training_step()
        self._extra = self._new_metrics()

        self._best = _Best(self._monitor_name(), self.mode)
        sched = self._observing_scheduler()
        if sched is not None:
            self._check_monitor(sched.monitor, f"{type(sched).__name__} monitor")
        if self.out_dir is not None:
            self._claim_out_dir()
        if self.resume is not None:
            where = self.out_dir if self.resume == "auto" else self.resume
            if self.resume != "auto":
                find_checkpoint(self.resume)  # a path holding no checkpoint is an error
            index, meta = _ckpt.newest_complete(where)
            if index is not None:
                self._load_checkpoint(index, meta)
            else:
                log.info("trainer.resume=auto: no checkpoint in %s yet, starting afresh", where)
        self._prepare_out_dir()
        self._ready = True

    def _training_step(self):
        """``step(x, y) -> (loss, outputs)``, run under ``autograd.record()``; compiled into one program
        (trainkit.compiled) when the network is one bound graph and the loss a built-in one."""
        forward, loss_fn = self.model.forward, self.loss_fn

        def step(x, y):
            out = forward(x)
            return loss_fn(out, y), out
        if getattr(loss_fn, "loss_name", None) is not None:
            return TracedStep(step, self.model.single_graph)
        return step

    def _forward_backward(self, x, y):
        """MXNet's training cycle: the step under ``autograd.record()``, then ``loss.backward()``. A compiled step
        runs both as one program once it has traced one for these inputs."""
        step = self._step
        done = step.forward_backward(x, y) if type(step) is TracedStep else None
        if done is not None:
            return done
        with autograd.record():
            loss, out = step(x, y)
        loss.backward()
        return loss, out

    def _new_metrics(self):
        out = self.task.metrics(self._metric_specs)
        for m in out:
            m.reset()
        return out

    def _metric_names(self):
        names = ["loss"]
        for m in self._extra:
            name, _ = m.get()
            names += list(name) if isinstance(name, (list, tuple)) else [name]
        return names

    def _known_keys(self):
        keys = [f"train_{n}" for n in self._metric_names()]
        if self.val_data is not None:
            keys += [f"val_{n}" for n in self._metric_names()]
        return keys

    def _monitor_name(self):
        monitor = self.monitor
        if monitor.startswith("val_") and self.val_data is None:
            fallback = "train_" + monitor[4:]
            log.info("no validation data: best.params follows %s instead of %s", fallback, monitor)
            monitor = fallback
        self._check_monitor(monitor, "monitor")
        return monitor

    def _check_monitor(self, monitor, what):
        keys = self._known_keys()
        if monitor not in keys:
            extra = " (val_* needs val_data)" if monitor.startswith("val_") and self.val_data is None else ""
            raise TrainerError(f"{what} {monitor!r} is not a metric of this run{extra}; choose one of "
                               f"{', '.join(keys)}.")

    def _claim_out_dir(self):
        """Refuse a folder holding another run (unless continuing it), lock it for this process,
        and clear temporaries that killed writers left."""
        out = self.out_dir
        in_place = self.resume == "auto" or (
            self.resume is not None and _same_folder(self.resume, out))
        check_out_dir(out, "auto" if in_place else None, app=False)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _files.WriteError(out, e) from None
        self._lock = _ckpt.FolderLock(out).acquire()
        stale = _files.clean_stale(out)
        if stale:
            log.info("removed %d temporary file(s) an interrupted writer left in %s", len(stale), out)

    def _release(self):
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _prepare_out_dir(self):
        if self.out_dir is None:
            return
        out = self.out_dir
        if self.resumed_from is not None and not _same_folder(self.resumed_from, out):
            src = Path(self.resumed_from) / "best.params"
            if src.is_file():  # the best epoch may lie in the part already trained
                _files.copy_file(src, out / "best.params")
        self._write_metrics()

    def _write_metrics(self):
        """metrics.jsonl, whole, every epoch: strict JSON, so NaN/inf are written as null and the
        line lists them under "non_finite"."""
        # not fsync'ed (it is rewritten every epoch): after a power cut it may lag, and a resume rewrites
        # it from the checkpoint's history anyway
        _files.write_text(self.out_dir / "metrics.jsonl", "".join(_json_line(h) for h in self.history),
                          durable=False)

    # ----- the loop -------------------------------------------------------------------------
    def _fit(self):
        train = self.train_data
        nb = train.num_batches(self.batch_size)
        limit = self.limit_batches
        if limit is not None:
            nb = limit if nb is None else min(nb, limit)
        self.num_batches = nb        # of each training epoch (None: a DataIter that does not say)
        forward_backward, updater = self._forward_backward, self._updater
        indices, weights = self._indices, self._weights
        batch_hooks = [cb for cb in self.callbacks if _overrides(cb, "on_batch_end")]
        max_norm = self.clip_global_norm

        for cb in self.callbacks:
            cb.on_fit_start(self)
        _log_table(self.model_summary, "model summary")
        if self.epoch >= self.epochs:
            log.info("nothing to train: %d of %d epochs are already done", self.epoch, self.epochs)
        while self.epoch < self.epochs and not self.stop_training:
            if self._stop_signal:
                self._interrupt(0)
            epoch = self.epoch + 1
            start = self._batches_done
            if start == 0:
                tally = self._tally = Tally(self._extra)
                if isinstance(train, _Iter):
                    self._epoch_random = _random.get_state()  # the DataIter's reset() draws from it
                for cb in self.callbacks:
                    cb.on_epoch_start(self, epoch=epoch)
            else:  # resuming inside this epoch
                tally = self._tally = Tally(self._extra, self._partial)
            tic = time.perf_counter()
            b = start
            for x, y, y_np in capped(self._epoch_batches(epoch, start), limit, start):
                if self._stop_signal:
                    self._partial = tally.partial(tic)
                    self._interrupt(b)
                loss, out = forward_backward(x, y)
                grads = [w.grad for w in weights]
                if max_norm is not None:
                    self.grad_norm = clip_global_norm(grads, max_norm)
                updater(indices, grads, weights)
                value = tally.add(loss, out, y_np)
                for cb in batch_hooks:
                    cb.on_batch_end(self, epoch=epoch, batch=b, loss=value)
                b += 1
            self._run_stats["samples"] += tally.seen - tally.seen_before
            self._run_stats["train_seconds"] += time.perf_counter() - tic
            self._batches_done, self._partial = 0, None
            logs = {"epoch": epoch}
            logs.update({f"train_{k}": v for k, v in tally.result().items()})
            if self.val_data is not None:
                logs.update({f"val_{k}": v for k, v in self._evaluate(self.val_data, self._val_metrics()).items()})
            logs["lr"] = float(self.optimizer.learning_rate)
            logs["time"] = round(tally.elapsed + time.perf_counter() - tic, 6)
            self._end_epoch(epoch, logs)
        if self.stop_reason:
            log.info("stopped after epoch %d: %s", self.epoch, self.stop_reason)
        if self.out_dir is not None:
            _log_table(self.summary_table, "run summary")
        for cb in self.callbacks:
            cb.on_fit_end(self, history=self.history)

    def _epoch_batches(self, epoch, start):
        """The batches of ``epoch`` from batch ``start`` on: ``(x, y, y_numpy)`` on the device."""
        train, bs, ctx = self.train_data, self.batch_size, self.context
        if isinstance(train, _Arrays):
            order = _epoch_order(self.seed or 0, epoch, train.n) if self.shuffle else None
            return train.batches(bs, ctx, order, start)
        if not start:
            return train.batches(bs, ctx)
        # resuming inside an epoch of a DataIter: reset() (which may shuffle) must draw from the stream
        # as it was when the epoch began; then the stream goes back to where the checkpoint left it
        mid = _random.get_state()
        _random.set_state(self._epoch_random)
        batches = train.batches(bs, ctx, None, start)
        first = next(batches, None)
        _random.set_state(mid)
        return chain(first, batches)

    def _val_metrics(self):
        if not hasattr(self, "_val_extra"):
            self._val_extra = self._new_metrics()
        for m in self._val_extra:
            m.reset()
        return self._val_extra

    def _end_epoch(self, epoch, logs):
        self.history.append(logs)
        self.epoch = epoch
        self.improved = self._best.better(logs.get(self._best.monitor))
        if self.improved:
            self._best.value, self._best.epoch = logs[self._best.monitor], epoch
        log.info("epoch %d/%d: %s%s", epoch, self.epochs,
                 " ".join(f"{k}={_fmt(v)}" for k, v in logs.items() if k != "epoch"),
                 " (best)" if self.improved else "")
        sched = self._observing_scheduler()
        if sched is not None:  # before the callbacks, so the checkpoint holds the scheduler after this epoch
            sched.observe(logs, epoch=epoch)
        # user callbacks (EarlyStopping), then DivergenceGuard (non-finite parameters never reach a file),
        # then RunFiles: metrics.jsonl, best.params, the checkpoint
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch=epoch, logs=logs)

    def _observing_scheduler(self):
        """The optimizer's lr_scheduler when it follows the epochs' logs (``observe``: ReduceLROnPlateau)."""
        sched = getattr(self.optimizer, "lr_scheduler", None)
        return sched if callable(getattr(sched, "observe", None)) else None

    # ----- evaluation -----------------------------------------------------------------------
    def _evaluate(self, data, extra):
        forward, loss_fn, ctx = self.model.forward, self.loss_fn, self.context
        loss_sum, seen = 0.0, 0
        with autograd.predict_mode():
            for x, y, y_np in capped(data.batches(self.eval_batch_size, ctx), self.limit_batches):
                out = forward(x)
                loss = loss_fn(out, y)
                n = len(y_np)
                loss_sum += float(_host(loss).mean()) * n
                seen += n
                out_np = [_host(out)]
                for m in extra:
                    m.update([y_np], out_np)
        result = {"loss": loss_sum / max(seen, 1)}
        for m in extra:
            result.update(_named(m))
        return result

    # ----- checkpoints (trainkit.checkpoint) ---------------------------------------------------
    def _save_checkpoint(self, number, batches_done):
        return _ckpt.save(self, number, batches_done)

    def _load_checkpoint(self, path, meta=None):
        _ckpt.restore(self, path, meta)

    # ----- stop signals (trainkit.stop_signals) ------------------------------------------------
    def _install_signals(self):
        return _stop_signals.install(self)

    def _interrupt(self, batches_done):
        _stop_signals.interrupt(self, batches_done)

# ----- helpers -------------------------------------------------------------------------------------
def _log_table(make, what):
    """Log a summary table; one that cannot be made is a warning, never the end of a training run."""
    if not log.isEnabledFor(logging.INFO):  # nobody would read it: not worth a shape inference
        return
    try:
        text = make()
    except Exception as e:  # a network or initializer the table cannot follow: the run matters more
        log.warning("no %s: %s: %s", what, type(e).__name__, e)
        return
    log.info("%s", text)


def _check_limit(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"limit_batches must be None (every batch) or an int >= 1 (the number of batches to run "
                         f"in each training epoch and evaluation pass), got {value!r}. Use e.g. limit_batches=2 "
                         "for a quick smoke run.")
    return int(value)


def _check_max_norm(value):
    if value is None:
        return None
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if not ok or not np.isfinite(value) or value <= 0:
        raise ValueError(f"clip_global_norm must be None (no clipping) or a positive number, the largest global "
                         f"L2 norm the gradients may have, got {value!r}. Use e.g. clip_global_norm=1.0.")
    return float(value)


def _same_folder(path, folder):
    target = Path(os.path.expanduser(str(path)))
    return (target if target.is_dir() else target.parent).resolve() == Path(folder).resolve()


