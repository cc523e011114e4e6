"""``trainkit.Trainer``: the training loop for classifiers built as ``mx.sym`` graphs.

The loop reads top to bottom::

    for epoch in epochs:
        on_epoch_start
        for batch in (a pure function of (seed, epoch)):
            with autograd.record(): loss = loss_fn(module(x), y)     # mean over the batch
            loss.backward()
            updater(indices, grads, weights)                         # mx.optimizer: wd, clipping, lr schedule
            on_batch_end
        evaluate(val) under predict_mode()                           # Dropout off, BatchNorm moving stats
        on_epoch_end -> metrics.jsonl, best.params, checkpoint

Everything a run needs to continue exactly is in its checkpoint (``out_dir``):

    model-symbol.json, model-NNNN.params   MXNet's checkpoint (mx.model.load_checkpoint reads it)
    model-NNNN.states                      the optimizer's states and the optimizer itself (pickle;
                                           MXNet's .states layout, so Module.load_optimizer_states reads it)
    trainer-NNNN.json                      epoch, position in the epoch, history, best value, seed
    trainer-NNNN.state                     trainkit.random's stream, metric and callback states (pickle)
    best.params                            the parameters of the best epoch by ``monitor``
    metrics.jsonl                          one JSON line per epoch

NNNN counts epochs from 1, as MXNet's ``do_checkpoint`` does: ``model-0003.params`` holds the
weights after the third epoch. A checkpoint written by Ctrl-C in the middle of epoch 4 is
``model-0004`` with ``"complete": false`` and the number of batches done; resuming skips those
batches. The data order of epoch ``e`` is ``numpy.random.default_rng([seed, e]).permutation(n)``,
so a resumed run sees the same batches as an uninterrupted one, and its metrics are identical.

This module never imports Hydra: the command line builds a Trainer in ``trainkit.app.build``.
"""
import json
import logging
import os
import pickle
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from . import autograd
from . import random as _random
from .base import MXNetError
from .context import Context
from .callbacks import Callback, EarlyStopping, _Best, _overrides  # noqa: F401 - Callback, EarlyStopping re-exported
from .ndarray.ndarray import NDArray, array

__all__ = ["Trainer", "Callback", "EarlyStopping", "TrainerError", "Interrupted", "find_checkpoint", "check_out_dir"]

log = logging.getLogger("trainkit")

_FORMAT = "trainkit-trainer/1"
_PREFIX = "model"


class TrainerError(MXNetError):
    """A problem with the Trainer's inputs or files that the user can fix; says what to change."""

    user_error = True  # the command line prints these as one message, without a traceback


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped ``fit``; ``checkpoint`` is the trainer-NNNN.json written (None without out_dir)."""

    def __init__(self, checkpoint=None, epoch=0, batches_done=0):
        super().__init__(checkpoint)
        self.checkpoint = checkpoint
        self.epoch = epoch
        self.batches_done = batches_done


# ----- callbacks ---------------------------------------------------------------------------------
# ----- data ----------------------------------------------------------------------------------------
def _host(x):
    """A numpy view of an NDArray's values (no copy on the CPU)."""
    data = x._data
    return data if isinstance(data, np.ndarray) else x.asnumpy()


def _labels(y, what):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise TrainerError(f"{what}: labels must be one class index per sample, shape (N,), got shape {y.shape}.")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y) & (y == np.round(y))):
            raise TrainerError(f"{what}: labels must be whole class indices 0, 1, 2, ...; found a non-integer.")
    elif y.dtype.kind not in "iu":
        raise TrainerError(f"{what}: labels must be numbers (class indices), got dtype {y.dtype}.")
    y = y.astype(np.int64)
    if len(y) and y.min() < 0:
        raise TrainerError(f"{what}: label {y.min()} is negative; class indices start at 0.")
    return y


class _Arrays:
    """(X, y) held as numpy; batches are copied to the device as they are served."""

    def __init__(self, X, y, what):
        if isinstance(X, NDArray):
            X = X.asnumpy()
        if isinstance(y, NDArray):
            y = y.asnumpy()
        X = np.asarray(X)
        if X.ndim < 2:
            raise TrainerError(f"{what}: features must be an array of shape (N, features...), got shape {X.shape}.")
        self.y = _labels(y, what)
        if len(X) != len(self.y):
            raise TrainerError(f"{what}: {len(X)} samples but {len(self.y)} labels; give one label per sample.")
        if len(X) == 0:
            raise TrainerError(f"{what} holds no samples.")
        self.X = np.ascontiguousarray(X, dtype=np.float32)
        self.yf = self.y.astype(np.float32)  # softmax_cross_entropy reads float labels, as MXNet's
        self.n = len(self.X)
        self.sample_shape = self.X.shape[1:]

    def num_batches(self, batch_size):
        return -(-self.n // batch_size)

    def batches(self, batch_size, ctx, order=None, start=0):
        X, yf, y = self.X, self.yf, self.y
        for b in range(start, self.num_batches(batch_size)):
            if order is None:
                sel = slice(b * batch_size, (b + 1) * batch_size)
            else:
                sel = order[b * batch_size:(b + 1) * batch_size]
            yield array(X[sel], ctx), array(yf[sel], ctx), y[sel]


class _Iter:
    """An ``mx.io.DataIter`` (e.g. NDArrayIter): reset each epoch, padding trimmed."""

    def __init__(self, it, what):
        if not (hasattr(it, "reset") and hasattr(it, "__iter__")):
            raise TrainerError(f"{what} must be (X, y) arrays or an mx.io.DataIter, got {type(it).__name__}.")
        self.it = it
        desc = list(getattr(it, "provide_data", []) or [])
        self.sample_shape = tuple(desc[0].shape[1:]) if desc else None
        self.batch_size = getattr(it, "batch_size", None)
        n = getattr(it, "num_data", None)
        self.n = n if isinstance(n, (int, np.integer)) else None

    def num_batches(self, batch_size=None):
        if self.n is None or not self.batch_size:
            return None
        return -(-int(self.n) // int(self.batch_size))

    def batches(self, batch_size, ctx, order=None, start=0):
        self.it.reset()
        for b, batch in enumerate(self.it):
            if b < start:
                continue
            x, lab = batch.data[0], batch.label[0] if batch.label else None
            if lab is None:
                raise TrainerError("the DataIter serves no labels; the Trainer needs (data, label) batches.")
            keep = x.shape[0] - (batch.pad or 0)
            if keep < x.shape[0]:
                x, lab = x[0:keep], lab[0:keep]
            y = _labels(lab.asnumpy(), "a DataIter batch")
            yield x.as_in_context(ctx), array(y.astype(np.float32), ctx), y


def _as_data(data, what):
    if data is None:
        return None
    if isinstance(data, (_Arrays, _Iter)):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return _Arrays(data[0], data[1], what)
    return _Iter(data, what)


def _epoch_order(seed, epoch, n):
    """The training order of ``epoch``: a pure function of (seed, epoch), so resume is exact."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, int(epoch)]).permutation(n)


# ----- losses --------------------------------------------------------------------------------------
def _softmax_cross_entropy(logits, labels):
    from . import nd
    return nd.softmax_cross_entropy(logits, labels) / logits.shape[0]


_LOSSES = {"softmax_cross_entropy": _softmax_cross_entropy, "cross_entropy": _softmax_cross_entropy}

_ACCURACY_NAMES = ("accuracy", "acc")


# ----- checkpoints ---------------------------------------------------------------------------------
def _ckpt_name(kind, epoch):
    ext = {"params": "params", "states": "states", "json": "json", "state": "state"}[kind]
    stem = "trainer" if kind in ("json", "state") else _PREFIX
    return f"{stem}-{epoch:04d}.{ext}"


def find_checkpoint(path):
    """The latest ``trainer-NNNN.json`` in a run folder, or the one a checkpoint file belongs to.

    ``path`` may be the folder, or any of ``model-NNNN.params``, ``model-NNNN.states`` and
    ``trainer-NNNN.json``/``.state``. Raises TrainerError when there is none.
    """
    p = Path(os.path.expanduser(str(path)))
    if not p.exists():
        raise TrainerError(f"resume path {str(path)!r} (trainer.resume) does not exist (relative paths start "
                           f"from {os.getcwd()}). Point it at an earlier run's output folder.")
    if p.is_file():
        stem = p.name.rsplit(".", 1)[0]
        num = stem.rsplit("-", 1)[-1]
        candidate = p.parent / f"trainer-{num}.json"
        if num.isdigit() and candidate.is_file():
            return candidate
        raise TrainerError(f"resume path {str(path)!r} (trainer.resume) is not part of a trainkit checkpoint: "
                           f"there is no {candidate.name} beside it. Point it at a run folder, or at a "
                           "model-NNNN.params or trainer-NNNN.json file of one.")
    found = sorted((f for f in p.glob("trainer-*.json") if f.stem[8:].isdigit()), key=lambda f: int(f.stem[8:]))
    if found:
        return found[-1]
    mxnet = sorted(p.glob(f"{_PREFIX}-*.params"))
    hint = (f" It holds {mxnet[-1].name} but no trainer state; to start from those weights use "
            f"initializer=load initializer.path={mxnet[-1]}." if mxnet else "")
    raise TrainerError(f"resume path {str(path)!r} (trainer.resume) holds no checkpoint: no trainer-NNNN.json "
                       f"in {str(p.resolve())!r}.{hint} Point it at a run folder that saved one (a run "
                       "writes one at its last epoch, every trainer.checkpoint_every epochs, and on Ctrl-C).")


def _write_atomic(path, data):
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


_RUN_FILES = ("metrics.jsonl", "best.params")


def _run_files(folder):
    """trainkit's own files in ``folder`` (Hydra's .hydra/ and log files do not count)."""
    if not folder.is_dir():
        return []
    found = [f for f in _RUN_FILES if (folder / f).exists()]
    found += sorted(f.name for f in folder.glob("trainer-*.json"))
    found += sorted(f.name for f in folder.glob(f"{_PREFIX}-*.params"))
    return found


def check_out_dir(out_dir, resume=None):
    """Refuse a folder that already holds a run, unless ``resume`` points into it (then True)."""
    out = Path(out_dir)
    taken = _run_files(out)
    if resume is not None:
        target = Path(os.path.expanduser(str(resume)))
        if (target if target.is_dir() else target.parent).resolve() == out.resolve():
            return True
    if taken:
        raise TrainerError(f"the output folder {str(out)!r} already holds a run ({', '.join(taken[:4])}"
                           f"{', ...' if len(taken) > 4 else ''}); trainkit never overwrites a run's files. "
                           f"Use a new folder, or resume it (trainer.resume={out}) to continue that run.")
    return False


# ----- the trainer ---------------------------------------------------------------------------------
class Trainer:
    """Train an ``mx.mod.Module`` (or a Symbol of logits) on classification data.

    Parameters
    ----------
    module : mx.mod.Module or mx.sym.Symbol
        The network, whose single output is the class scores (logits) of a batch. A Symbol is
        wrapped in ``Module(symbol, data_names=['data'], label_names=None, context=context)``.
        An unbound module is bound for ``(batch_size, *sample_shape)``; its parameters are
        initialised with ``initializer`` unless they already are (``Module.load``).
    initializer : mx.init.Initializer, name or dumps() string, optional
        Default ``Xavier()``. Given explicitly, it (re)initialises the parameters.
    optimizer : str or mx.optimizer.Optimizer
        A name for ``mx.optimizer.create`` (with ``optimizer_params``: learning_rate, momentum, wd,
        clip_gradient, lr_scheduler, ...) or an instance. The loss is a batch mean, so
        ``rescale_grad`` is 1; biases get no weight decay (MXNet's ``param_idx2name`` rule).
    train_data, val_data : (X, y) numpy/NDArray pair, or mx.io.DataIter
        Features ``(N, ...)`` and integer labels ``(N,)``. With arrays the epoch order is a pure
        function of (seed, epoch); a DataIter is ``reset()`` each epoch and its padding trimmed.
    loss : 'softmax_cross_entropy' or callable(logits, labels) -> NDArray
        A callable must return the batch mean (or per-sample values, which are averaged).
    metrics : sequence of 'accuracy' and mx.metric names/instances
        Reported as ``train_<name>``/``val_<name>``; accuracy is computed on numpy in the loop.
    epochs, batch_size, shuffle, seed
        ``seed`` seeds ``mx.random`` before initialising (and so Dropout) and the epoch order.
    callbacks : list of Callback
    early_stopping : EarlyStopping, optional (the same as putting it in ``callbacks``)
    out_dir : path, optional
        Where metrics.jsonl, checkpoints and best.params go; None writes nothing. A folder that
        already holds a run is refused unless it is the one being resumed.
    monitor, mode
        The metric that picks best.params (``val_*`` falls back to ``train_*`` without val_data).
    checkpoint_every : int
        Also checkpoint every N epochs; the last epoch (and Ctrl-C) always checkpoint.
    resume : path, optional
        A run folder or checkpoint file to continue from (its latest checkpoint).
    progress : bool or None
        tqdm bars; None shows them only when stderr is a terminal.
    log_every : int
        Log the running loss every N batches (0: once per epoch).
    context : mx.Context, optional
        Where to compute; default the module's context.
    eval_batch_size : int, optional
        Batch size for evaluate/predict (default max(batch_size, 256)).
    """

    def __init__(self, module, initializer=None, optimizer="sgd", optimizer_params=None, train_data=None,
                 val_data=None, loss="softmax_cross_entropy", metrics=("accuracy",), epochs=10, batch_size=32,
                 shuffle=True, seed=0, callbacks=(), early_stopping=None, out_dir=None, monitor="val_accuracy",
                 mode="auto", checkpoint_every=0, resume=None, progress=None, log_every=0, context=None,
                 eval_batch_size=None):
        from . import module as _module, symbol as _symbol
        if isinstance(module, _symbol.Symbol):
            module = _module.Module(module, data_names=["data"], label_names=None, context=context)
        if not isinstance(module, _module.Module):
            raise TypeError(f"Trainer needs an mx.mod.Module or an mx.sym.Symbol, got {type(module).__name__}.")
        self.module = module
        self.context = context if context is not None else module._context[0]
        if not isinstance(self.context, Context):
            raise TypeError(f"context must be an mx.Context (mx.cpu(), mx.gpu(0)), got {type(context).__name__}.")
        self.initializer = initializer
        self._optimizer_spec = optimizer
        self.optimizer_params = dict(optimizer_params or {})
        self.train_data = _as_data(train_data, "train_data")
        self.val_data = _as_data(val_data, "val_data")
        if isinstance(loss, str):
            if loss not in _LOSSES:
                raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(_LOSSES)} or a callable "
                                 "loss(logits, labels) returning the batch mean.")
            loss = _LOSSES[loss]
        elif callable(loss):
            loss = _batch_mean(loss)
        else:
            raise TypeError(f"loss must be a name or a callable(logits, labels), got {type(loss).__name__}.")
        self.loss_fn = loss
        self._accuracy, self._metric_specs = False, []
        for m in metrics or ():
            if isinstance(m, str) and m.lower() in _ACCURACY_NAMES:
                self._accuracy = True
            else:
                self._metric_specs.append(m)
        for name, value, low in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
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
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.monitor, self.mode = monitor, mode
        self.checkpoint_every = int(checkpoint_every or 0)
        self.resume = resume
        self.progress = progress
        self.log_every = int(log_every or 0)
        self.eval_batch_size = int(eval_batch_size or max(self.batch_size, 256))

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
        self._sigint = False
        self._extra = []

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
        self._prepare()
        show = self.progress if self.progress is not None else sys.stderr.isatty()
        restore = self._install_sigint()
        file_handler = self._attach_log_file()
        try:
            if show:
                from tqdm.contrib.logging import logging_redirect_tqdm
                with logging_redirect_tqdm(loggers=[logging.getLogger()]):
                    self._fit(show)
            else:
                self._fit(False)
        except BaseException as exc:
            for cb in self.callbacks:
                cb.on_exception(self, exception=exc)
            raise
        finally:
            restore()
            self._detach_log_file(file_handler)
        return self.history

    def evaluate(self, data):
        """``{'loss': ..., 'accuracy': ..., <metric>: ...}`` over ``data`` ((X, y) or a DataIter), in predict mode."""
        data = _as_data(data, "data")
        self._prepare_module(data)
        self._check_ready_for_predict()
        extra = self._new_metrics()
        return self._evaluate(data, extra)

    def predict(self, X):
        """The network's outputs (class scores) for ``X`` (array or DataIter), in predict mode, as one NDArray."""
        if isinstance(X, (tuple, list)) and len(X) == 2:
            X = X[0]
        if hasattr(X, "reset") and hasattr(X, "__iter__"):
            self._prepare_module(_Iter(X, "X"))
            batches = _iter_inputs(X, self.context)
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
                outs.append(_host(self.module(x)).copy())
        return array(np.concatenate(outs, axis=0), self.context)

    # ----- preparation -----------------------------------------------------------------------
    def _check_ready_for_predict(self):
        if not (self.module.binded and self.module.params_initialized):
            raise TrainerError("the module has no parameters yet: call fit() first, or pass a module with "
                               "initialized (or loaded) parameters.")

    def _prepare_module(self, data):
        """Bind the module for this data, once; check that data of a bound module fits it."""
        m = self.module
        shape = data.sample_shape if data is not None else None
        label_args = [n for n in m.label_names if n in m.symbol.list_arguments()]
        if label_args:
            raise TrainerError(f"the module's symbol reads labels {label_args} (a loss head such as SoftmaxOutput); "
                               "the Trainer computes the loss from the network's outputs. End the network with its "
                               "last FullyConnected layer and build Module(..., label_names=None).")
        if len(m.data_names) != 1:
            raise TrainerError(f"the Trainer feeds one data input, but the module has data_names={m.data_names}.")
        if not m.binded:
            if shape is None:
                raise TrainerError("cannot bind the module: the data does not say its sample shape; bind it "
                                   "yourself (module.bind(data_shapes=[('data', (batch, ...))])).")
            bs = self.batch_size if isinstance(data, _Arrays) else (data.batch_size or self.batch_size)
            try:
                m.bind(data_shapes=[(m.data_names[0], (bs,) + tuple(shape))], for_training=True)
            except MXNetError as e:
                raise TrainerError(f"the data's samples have shape {tuple(shape)} ({_features(shape)} features), "
                                   f"which does not fit the module: {e}") from None
        else:
            bound = tuple(m.data_shapes[0].shape[1:])
            if shape is not None and tuple(shape) != bound:
                raise TrainerError(f"the data's samples have shape {tuple(shape)} ({_features(shape)} features), but "
                                   f"the module was bound for input '{m.data_names[0]}' of shape "
                                   f"{tuple(m.data_shapes[0].shape)} ({_features(bound)} features per sample). Use "
                                   "data with that many features, or build and bind the model for this data.")
            if not m.for_training:
                raise TrainerError("the module was bound with for_training=False; bind it with for_training=True "
                                   "(or let the Trainer bind it).")

    def _prepare(self):
        if self._ready:
            return
        from . import initializer as _init, optimizer as _opt
        self._prepare_module(self.train_data)
        if self.val_data is not None:
            self._prepare_module(self.val_data)
        m = self.module
        if self.seed is not None:
            _random.seed(int(self.seed))
        if not m.params_initialized or self.initializer is not None:
            init = self.initializer if self.initializer is not None else _init.Xavier()
            if isinstance(init, (str, dict, list, tuple)):
                init = _init.create(init)
            m.init_params(initializer=init, force_init=True)

        # the optimizer: indices as Module numbers them, so .states files fit Module.load_optimizer_states
        inputs = set(m.data_names) | set(m.label_names)
        param_names = [n for n in m.symbol.list_arguments() if n not in inputs]
        trainable = m.trainable_params
        self._indices = [i for i, n in enumerate(param_names) if n in trainable]
        self._weights = [trainable[param_names[i]] for i in self._indices]
        idx2name = {i: param_names[i] for i in self._indices}
        opt = self._optimizer_spec
        if isinstance(opt, str):
            params = dict(self.optimizer_params)
            params.setdefault("rescale_grad", 1.0)
            opt = _opt.create(opt, param_idx2name=idx2name, sym=m.symbol, **params)
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
        self._extra = self._new_metrics()

        self._best = _Best(self._monitor_name(), self.mode)
        if self.resume is not None:
            self._load_checkpoint(find_checkpoint(self.resume))
        self._prepare_out_dir()
        self._ready = True

    def _new_metrics(self):
        from . import metric as _metric
        out = []
        for spec in self._metric_specs:
            out.append(spec if isinstance(spec, _metric.EvalMetric) else _metric.create(spec))
        for m in out:
            m.reset()
        return out

    def _metric_names(self):
        names = ["loss"] + (["accuracy"] if self._accuracy else [])
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

    def _prepare_out_dir(self):
        if self.out_dir is None:
            return
        out = self.out_dir
        resuming_here = check_out_dir(out, self.resumed_from)
        out.mkdir(parents=True, exist_ok=True)
        if self.resumed_from is not None and not resuming_here:
            src = Path(self.resumed_from) / "best.params"
            if src.is_file():  # the best epoch may lie in the part already trained
                _write_atomic(out / "best.params", src.read_bytes())
        lines = "".join(json.dumps(h) + "\n" for h in self.history)
        _write_atomic(out / "metrics.jsonl", lines.encode())

    # ----- the loop -------------------------------------------------------------------------
    def _fit(self, show):
        train = self.train_data
        nb = train.num_batches(self.batch_size)
        module, loss_fn, updater = self.module, self.loss_fn, self._updater
        indices, weights = self._indices, self._weights
        accuracy, extra = self._accuracy, self._extra
        batch_hooks = [cb for cb in self.callbacks if _overrides(cb, "on_batch_end")]
        log_every = self.log_every
        record = autograd.record

        for cb in self.callbacks:
            cb.on_fit_start(self)
        if self.epoch >= self.epochs:
            log.info("nothing to train: %d of %d epochs are already done", self.epoch, self.epochs)
        epoch_bar = _bar(show, total=self.epochs, initial=self.epoch, desc="epochs", unit="epoch", position=0,
                         leave=True)
        try:
            while self.epoch < self.epochs and not self.stop_training:
                if self._sigint:
                    self._interrupt(0)
                epoch = self.epoch + 1
                start = self._batches_done
                if start == 0:
                    loss_sum, correct, seen, elapsed = 0.0, 0, 0, 0.0
                    for m in extra:
                        m.reset()
                    if isinstance(train, _Iter):
                        self._epoch_random = _random.get_state()  # the DataIter's reset() draws from it
                    for cb in self.callbacks:
                        cb.on_epoch_start(self, epoch=epoch)
                else:  # resuming inside this epoch
                    loss_sum, correct, seen, elapsed = (self._partial[k] for k in ("loss_sum", "correct", "seen",
                                                                                   "elapsed"))
                tic = time.perf_counter()
                batches = self._epoch_batches(epoch, start)
                bar = _bar(show, total=nb, initial=start, desc=f"epoch {epoch}", unit="batch", position=1,
                           leave=False)
                every, shown = max(1, (nb or 100) // 50), start
                b = start
                for x, y, y_np in batches:
                    if self._sigint:
                        self._partial = {"loss_sum": loss_sum, "correct": correct, "seen": seen,
                                         "elapsed": elapsed + time.perf_counter() - tic}
                        self._interrupt(b)
                    with record():
                        out = module(x)
                        loss = loss_fn(out, y)
                    loss.backward()
                    updater(indices, [w.grad for w in weights], weights)
                    n = len(y_np)
                    value = float(_host(loss)[0])
                    loss_sum += value * n
                    seen += n
                    if accuracy:
                        correct += int((_host(out).argmax(axis=1) == y_np).sum())
                    for m in extra:
                        m.update([y], [out])
                    b += 1
                    for cb in batch_hooks:
                        cb.on_batch_end(self, epoch=epoch, batch=b - 1, loss=value)
                    if bar is not None and b - shown >= every:  # throttled: tqdm formats on each call
                        bar.set_postfix(_running(loss_sum, correct, seen, accuracy), refresh=False)
                        bar.update(b - shown)
                        shown = b
                    if log_every and b % log_every == 0:
                        log.info("epoch %d batch %d: %s", epoch, b,
                                 " ".join(f"{k}={v}" for k, v in _running(loss_sum, correct, seen, accuracy).items()))
                if bar is not None:
                    bar.close()
                self._batches_done, self._partial = 0, None
                train_logs = {"loss": loss_sum / max(seen, 1)}
                if accuracy:
                    train_logs["accuracy"] = correct / max(seen, 1)
                for m in extra:
                    train_logs.update(_named(m))
                logs = {"epoch": epoch}
                logs.update({f"train_{k}": v for k, v in train_logs.items()})
                if self.val_data is not None:
                    logs.update({f"val_{k}": v for k, v in self._evaluate(self.val_data, self._val_metrics()).items()})
                logs["lr"] = float(self.optimizer.learning_rate)
                logs["time"] = round(elapsed + time.perf_counter() - tic, 6)
                self._end_epoch(epoch, logs)
                if epoch_bar is not None:
                    post = {k: f"{logs[k]:.4f}" for k in ("train_loss", "val_accuracy") if k in logs}
                    epoch_bar.set_postfix(post, refresh=False)
                    epoch_bar.update(1)
        finally:
            if epoch_bar is not None:
                epoch_bar.close()
        if self.stop_reason:
            log.info("stopped after epoch %d: %s", self.epoch, self.stop_reason)
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
        return _chain(first, batches)

    def _val_metrics(self):
        if not hasattr(self, "_val_extra"):
            self._val_extra = self._new_metrics()
        for m in self._val_extra:
            m.reset()
        return self._val_extra

    def _end_epoch(self, epoch, logs):
        self.history.append(logs)
        self.epoch = epoch
        if self.out_dir is not None:
            with open(self.out_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(logs) + "\n")
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch=epoch, logs=logs)
        improved = self._best.better(logs.get(self._best.monitor))
        if improved:
            self._best.value, self._best.epoch = logs[self._best.monitor], epoch
            if self.out_dir is not None:
                self.module.save_params(str(self.out_dir / "best.params"))
        log.info("epoch %d/%d: %s%s", epoch, self.epochs,
                 " ".join(f"{k}={_fmt(v)}" for k, v in logs.items() if k != "epoch"),
                 " (best)" if improved else "")
        last = epoch >= self.epochs or self.stop_training
        if self.out_dir is not None and (last or (self.checkpoint_every and epoch % self.checkpoint_every == 0)):
            self._save_checkpoint(epoch, 0)

    # ----- evaluation -----------------------------------------------------------------------
    def _evaluate(self, data, extra):
        module, loss_fn, ctx = self.module, self.loss_fn, self.context
        loss_sum, correct, seen = 0.0, 0, 0
        with autograd.predict_mode():
            for x, y, y_np in data.batches(self.eval_batch_size, ctx):
                out = module(x)
                loss = loss_fn(out, y)
                n = len(y_np)
                loss_sum += float(_host(loss).mean()) * n
                seen += n
                if self._accuracy:
                    correct += int((_host(out).argmax(axis=1) == y_np).sum())
                for m in extra:
                    m.update([y], [out])
        result = {"loss": loss_sum / max(seen, 1)}
        if self._accuracy:
            result["accuracy"] = correct / max(seen, 1)
        for m in extra:
            result.update(_named(m))
        return result

    # ----- checkpoints ----------------------------------------------------------------------
    def _save_checkpoint(self, number, batches_done):
        """Write checkpoint ``number`` (= epochs done, or the epoch in progress when batches_done > 0)."""
        out = self.out_dir
        # Module.save_checkpoint's files, written without its root-logger INFO line (logging.info would
        # install a stderr handler on an unconfigured root logger)
        self.module.symbol.save(str(out / f"{_PREFIX}-symbol.json"))
        self.module.save_params(str(out / _ckpt_name("params", number)))
        _write_atomic(out / _ckpt_name("states", number), self._updater.get_states(dump_optimizer=True))
        state = {"random": _random.get_state(), "epoch_random": self._epoch_random if batches_done else None,
                 "extra": self._extra if batches_done else None,
                 "callbacks": [cb.state_dict() if hasattr(cb, "state_dict") else None for cb in self.callbacks]}
        _write_atomic(out / _ckpt_name("state", number), pickle.dumps(state, protocol=4))
        meta = {
            "format": _FORMAT,
            "number": number,                    # NNNN of this checkpoint's files
            "epoch": self.epoch,                 # complete epochs
            "complete": batches_done == 0,
            "batches_done": batches_done,        # of epoch `epoch + 1`, when not complete
            "partial": self._partial if batches_done else None,
            "epochs": self.epochs,
            "seed": self.seed,
            "shuffle": {"enabled": self.shuffle,
                        "order": "numpy.random.default_rng([seed, epoch]).permutation(num_samples)"},
            "best": self._best.as_dict(),
            "stop_reason": self.stop_reason,
            "resumed_from": self.resumed_from,
            "history": self.history,
            "files": {"symbol": f"{_PREFIX}-symbol.json", "params": _ckpt_name("params", number),
                      "states": _ckpt_name("states", number), "state": _ckpt_name("state", number)},
        }
        path = out / _ckpt_name("json", number)
        _write_atomic(path, (json.dumps(meta, indent=1) + "\n").encode())
        return path

    def _load_checkpoint(self, path):
        from .model import load_params
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise TrainerError(f"cannot read checkpoint {str(path)!r}: {e}") from None
        if meta.get("format") != _FORMAT:
            raise TrainerError(f"{str(path)!r} is not a trainkit trainer checkpoint (format {meta.get('format')!r}).")
        folder, files = path.parent, meta["files"]
        for key in ("params", "states", "state"):
            if not (folder / files[key]).is_file():
                raise TrainerError(f"checkpoint {str(path)!r} is incomplete: {files[key]} is missing beside it.")
        arg_params, aux_params = load_params(str(folder / _PREFIX), int(meta["number"]))
        _check_saved_shapes(self.module, arg_params, aux_params, f"resume checkpoint {str(folder / files['params'])!r}",
                            "trainer.resume")
        self.module.set_params(arg_params, aux_params)
        self._updater.set_states((folder / files["states"]).read_bytes())
        with open(folder / files["state"], "rb") as f:
            state = pickle.load(f)
        _random.set_state(state["random"])
        saved_cbs = state.get("callbacks") or []
        for cb, saved in zip(self.callbacks, saved_cbs):
            if saved is not None and hasattr(cb, "load_state_dict"):
                cb.load_state_dict(saved)
        self.history = list(meta["history"])
        self.epoch = int(meta["epoch"])
        self._best.load(meta.get("best") or {})
        if not meta["complete"]:
            self._batches_done = int(meta["batches_done"])
            self._partial = meta["partial"]
            self._epoch_random = state.get("epoch_random")
            if state.get("extra") is not None:
                self._extra = state["extra"]
        if meta.get("seed") != self.seed:
            log.warning("resuming a run trained with seed=%s under seed=%s: the data order changes from here",
                        meta.get("seed"), self.seed)
        self.resumed_from = str(folder.resolve())
        where = f"epoch {self.epoch}" + ("" if meta["complete"] else f" + {self._batches_done} batches")
        log.info("resumed from %s (%s)", path, where)

    # ----- Ctrl-C -----------------------------------------------------------------------------
    def _install_sigint(self):
        """First Ctrl-C: finish the batch, checkpoint, raise Interrupted. A second one stops at once."""
        self._sigint = False
        if threading.current_thread() is not threading.main_thread() or \
                signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return lambda: None

        def handler(signum, frame):
            if self._sigint:
                raise KeyboardInterrupt
            self._sigint = True
            log.warning("Ctrl-C: stopping after this batch and saving a checkpoint (press again to abort)")

        signal.signal(signal.SIGINT, handler)
        return lambda: signal.signal(signal.SIGINT, signal.default_int_handler)

    def _interrupt(self, batches_done):
        ckpt = None
        if self.out_dir is not None:
            if batches_done:
                ckpt = self._save_checkpoint(self.epoch + 1, batches_done)
            else:
                existing = self.out_dir / _ckpt_name("json", self.epoch)
                ckpt = existing if self.epoch and existing.is_file() else (
                    self._save_checkpoint(self.epoch, 0) if self.epoch else None)
            if ckpt is not None:
                where = (f"in epoch {self.epoch + 1} after {batches_done} batches" if batches_done
                         else f"after epoch {self.epoch}")
                log.warning("interrupted %s; checkpoint %s (continue with trainer.resume=%s)", where, ckpt,
                            self.out_dir)
        raise Interrupted(str(ckpt) if ckpt else None, self.epoch, batches_done)

    # ----- log file ---------------------------------------------------------------------------
    def _attach_log_file(self):
        """With out_dir and no log file already writing there (Hydra's), log INFO to out_dir/trainkit.log."""
        if self.out_dir is None:
            return None
        target = self.out_dir.resolve()
        for lg in (logging.getLogger(), log):
            for h in lg.handlers:
                if isinstance(h, logging.FileHandler) and Path(h.baseFilename).resolve().parent == target:
                    return None
        handler = logging.FileHandler(self.out_dir / "trainkit.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
        handler._trainkit_level = log.level
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)
        log.addHandler(handler)
        return handler

    @staticmethod
    def _detach_log_file(handler):
        if handler is not None:
            log.removeHandler(handler)
            log.setLevel(handler._trainkit_level)
            handler.close()


# ----- helpers -------------------------------------------------------------------------------------
def _features(shape):
    return int(np.prod(shape)) if shape else 1


def _check_saved_shapes(module, arg_params, aux_params, source, key):
    """Saved parameters must fit the bound module; name the data's feature count when fc1 does not."""
    live = module.params
    problems = []
    for name, arr in list(arg_params.items()) + list(aux_params.items()):
        if name in live and tuple(arr.shape) != tuple(live[name].shape):
            problems.append(f"{name} is {tuple(arr.shape)} there but {tuple(live[name].shape)} in this model")
    missing = [n for n in live if n not in arg_params and n not in aux_params]
    if missing:
        problems.append(f"it lacks {', '.join(missing)}")
    if problems:
        features = _features(module.data_shapes[0].shape[1:])
        raise TrainerError(f"{source} does not fit this model (the data has {features} features per sample): "
                           f"{'; '.join(problems)}. Resume with the data and model.* settings of that run, or "
                           f"change {key}.")


def _running(loss_sum, correct, seen, accuracy):
    out = {"loss": f"{loss_sum / max(seen, 1):.4f}"}
    if accuracy:
        out["acc"] = f"{correct / max(seen, 1):.4f}"
    return out


def _named(metric):
    name, value = metric.get()
    if isinstance(name, (list, tuple)):
        return {n: float(v) for n, v in zip(name, value)}
    return {name: float(value)}


def _fmt(v):
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _batch_mean(fn):
    """A user loss as the batch mean (backward of a per-sample vector would sum the gradients)."""
    def loss(logits, labels):
        value = fn(logits, labels)
        if not isinstance(value, NDArray):
            raise TypeError(f"the loss function must return an NDArray, got {type(value).__name__}.")
        if value.size != 1:
            from . import nd
            value = nd.mean(value).reshape((1,))
        return value.reshape((1,)) if value.shape != (1,) else value
    return loss


def _iter_inputs(it, ctx):
    it.reset()
    for batch in it:
        x = batch.data[0]
        keep = x.shape[0] - (batch.pad or 0)
        yield (x[0:keep] if keep < x.shape[0] else x).as_in_context(ctx)


def _chain(first, rest):
    if first is not None:
        yield first
    yield from rest


def _bar(show, **kwargs):
    if not show:
        return None
    from tqdm import tqdm
    return tqdm(dynamic_ncols=True, file=sys.stderr, **kwargs)
