"""Callbacks for ``trainkit.Trainer``: the hook base class, early stopping, the divergence guard and
the run folder's per-epoch files.

A callback overrides only the hooks it needs; each receives the trainer plus keyword
arguments. ``state_dict``/``load_state_dict`` (optional) let a callback survive a
checkpoint and resume.

The Trainer's list is: your callbacks, then DivergenceGuard and RunFiles (stateful: a checkpoint
stores their states in that order), then the stateless ones of ``callbacks_progress``
(LearningRateMonitor, ProgressBar, ProgressLog, LogFile).
"""
import math
import time

import numpy as np

from .checkpoint import TrainerError


class Callback:
    """Hooks around ``Trainer.fit``; every one is a no-op here, override the ones you need.

    Each receives the trainer plus keyword arguments (more may be added, so keep ``**kwargs``).
    Epochs count from 1. Set ``trainer.stop_training = True`` to stop after the current epoch.
    A callback with state to carry over a resume defines ``state_dict()`` and
    ``load_state_dict(state)`` (pickled into trainer-NNNN.state).
    """

    def on_fit_start(self, trainer, **kwargs):
        """Before the first epoch (after a resume has been loaded)."""

    def on_epoch_start(self, trainer, epoch, **kwargs):
        """Before the first batch of ``epoch``."""

    def on_batch_end(self, trainer, epoch, batch, loss, **kwargs):
        """After the update of batch ``batch`` (0-based) with its mean ``loss`` (a float)."""

    def on_epoch_end(self, trainer, epoch, logs, **kwargs):
        """After validation; ``logs`` is this epoch's metrics.jsonl record."""

    def on_fit_end(self, trainer, history, **kwargs):
        """After the last epoch (also after an early stop)."""

    def on_exception(self, trainer, exception, **kwargs):
        """When fit stops on an exception (Ctrl-C is an ``Interrupted``); it is raised again after."""


def _mode_for(monitor, mode):
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}.")
    low = monitor.lower()
    lower_is_better = any(w in low for w in ("loss", "error", "mse", "mae", "rmse", "entropy", "perplexity"))
    return "min" if lower_is_better else "max"


def improves(value, best, mode, min_delta):
    """Whether ``value`` beats ``best`` (None: nothing yet) by more than ``min_delta`` in ``mode``; never NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if best is None:
        return True
    return value > best + min_delta if mode == "max" else value < best - min_delta


class _Best:
    """The best value of one metric so far: ``better(value)`` says whether a value improves on it."""

    def __init__(self, monitor, mode="auto", min_delta=0.0):
        self.monitor = monitor
        self.mode = _mode_for(monitor, mode)
        self.min_delta = abs(float(min_delta))
        self.value = None
        self.epoch = None

    def better(self, value):
        return improves(value, self.value, self.mode, self.min_delta)

    def as_dict(self):
        return {"monitor": self.monitor, "mode": self.mode, "value": self.value, "epoch": self.epoch}

    def load(self, d):
        self.value, self.epoch = d.get("value"), d.get("epoch")


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    ``mode='auto'`` maximises accuracy-like metrics and minimises losses; an improvement must beat
    the best value by more than ``min_delta``.
    """

    def __init__(self, monitor="val_accuracy", patience=5, mode="auto", min_delta=0.0):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping patience must be an int >= 1, got {patience!r}.")
        self.patience = patience
        self._best = _Best(monitor, mode, min_delta)
        self.wait = 0

    @property
    def monitor(self):
        return self._best.monitor

    @property
    def best(self):
        return self._best.value

    def on_fit_start(self, trainer, **kwargs):
        trainer._check_monitor(self.monitor, "EarlyStopping monitor")

    def on_epoch_end(self, trainer, epoch, logs, **kwargs):
        value = logs.get(self.monitor)
        if self._best.better(value):
            self._best.value, self._best.epoch, self.wait = value, epoch, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.stop_training = True
            trainer.stop_reason = (f"early stopping: {self.monitor} has not improved on {self._best.value:.6g} "
                                   f"(epoch {self._best.epoch}) for {self.wait} epochs")

    def state_dict(self):
        return {"best": self._best.as_dict(), "wait": self.wait}

    def load_state_dict(self, state):
        self._best.load(state["best"])
        self.wait = state["wait"]


class Diverged(TrainerError):
    """Training produced a non-finite loss or parameter; the command line exits with status 3."""

    exit_status = 3


class DivergenceGuard(Callback):
    """Stop the run at the first non-finite batch loss, a batch loss ``max_growth`` times above the
    first batch's (at least 1), or non-finite parameters at an epoch's end (checked before that
    epoch's files are written, so no checkpoint holds them).

    The Trainer adds one unless ``stop_on_divergence=False``."""

    def __init__(self, max_growth=1e4):
        self.max_growth = float(max_growth)
        self.first = None

    def on_batch_end(self, trainer, epoch, batch, loss, **kwargs):
        if not math.isfinite(loss):
            self._stop(trainer, f"the loss of epoch {epoch}, batch {batch} is {loss}")
        if self.first is None:
            self.first = abs(loss)
        elif abs(loss) > self.max_growth * max(self.first, 1.0):
            self._stop(trainer, f"the loss of epoch {epoch}, batch {batch} is {loss:.3g}, {self.max_growth:g} times "
                                f"above where it started ({self.first:.3g})")

    def on_epoch_end(self, trainer, epoch, logs, **kwargs):
        bad = [name for name, arr in trainer.model.params.items() if not np.isfinite(arr.asnumpy()).all()]
        if bad:
            self._stop(trainer, f"after epoch {epoch} parameter(s) {', '.join(bad[:4])} hold NaN or inf")

    def state_dict(self):
        return {"first": self.first}

    def load_state_dict(self, state):
        self.first = state.get("first")

    @staticmethod
    def _stop(trainer, what):
        opt = trainer.optimizer
        lr = getattr(opt, "lr", None)
        good = trainer.last_checkpoint
        where = (f"The last good checkpoint is {good} (trainer.resume= it with a lower learning rate)."
                 if good else "No checkpoint was written before it.")
        trainer.stop_reason = f"diverged: {what}"
        raise Diverged(f"training diverged: {what}. {where} Try a lower learning rate (optimizer.lr, now {lr}), "
                       "gradient clipping (optimizer.clip_gradient=1), a warm-up (optimizer.lr_scheduler.warmup_steps) "
                       "or standardized features (data.standardize=true).")


class RunFiles(Callback):
    """The run folder's files at each epoch's end: metrics.jsonl, best.params when the monitored metric
    improved, a checkpoint at the last epoch and every ``checkpoint_every`` epochs (pruned to
    ``keep_last``), then metrics.csv and report.html (trainkit/report.py). The Trainer adds it when it has
    an out_dir, after DivergenceGuard and before the stateless built-ins (callbacks_progress).

    The report is also rewritten when fit ends or stops on an exception (its heading then says
    interrupted, diverged or the error), so a stopped run's page says why it stopped. Between the
    first and the last epoch those two are rewritten at most once a second (``REPORT_EVERY``): a fast
    run's epochs take milliseconds, the page about 3 ms. metrics.jsonl and the checkpoints are written
    every epoch."""

    REPORT_EVERY = 1.0  # seconds
    _param_rows = None
    _reported = None   # time.monotonic() of the last report written

    def _params(self, trainer):
        if self._param_rows is None:
            from . import report
            self._param_rows = report.param_rows(trainer)
        return self._param_rows

    def on_fit_start(self, trainer, **kwargs):
        if trainer.history:  # a resumed run: the files start with the epochs already trained
            from . import report
            report.write_run_files(trainer, self._params(trainer))

    def on_epoch_end(self, trainer, epoch, logs, **kwargs):
        from . import checkpoint, report
        trainer._write_metrics()
        if trainer.improved:
            trainer.model.save_params(trainer.out_dir / "best.params")  # the network's own format
        last = epoch >= trainer.epochs or trainer.stop_training
        if last or (trainer.checkpoint_every and epoch % trainer.checkpoint_every == 0):
            checkpoint.save(trainer, epoch, 0)
        now = time.monotonic()
        if last or self._reported is None or now - self._reported >= self.REPORT_EVERY:
            report.write_run_files(trainer, self._params(trainer))
            self._reported = now

    def on_exception(self, trainer, exception, **kwargs):
        from . import report
        try:
            # metrics.csv catches up with metrics.jsonl (its writes are throttled); the page says how it stopped
            report.write_run_files(trainer, self._params(trainer), exception)
        except Exception as e:  # a full disk, say: the original exception is what the user must see
            import logging
            logging.getLogger("trainkit").warning("report.html was not updated: %s", e)


def _overrides(cb, hook):
    return getattr(type(cb), hook, None) is not getattr(Callback, hook)
