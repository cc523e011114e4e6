"""Callbacks for ``trainkit.Trainer``: the hook base class and early stopping.

A callback overrides only the hooks it needs; each receives the trainer plus keyword
arguments. ``state_dict``/``load_state_dict`` (optional) let a callback survive a
checkpoint and resume.
"""
import math


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


class _Best:
    """The best value of one metric so far: ``better(value)`` says whether a value improves on it."""

    def __init__(self, monitor, mode="auto", min_delta=0.0):
        self.monitor = monitor
        self.mode = _mode_for(monitor, mode)
        self.min_delta = abs(float(min_delta))
        self.value = None
        self.epoch = None

    def better(self, value):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.value is None:
            return True
        if self.mode == "max":
            return value > self.value + self.min_delta
        return value < self.value - self.min_delta

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


def _overrides(cb, hook):
    return getattr(type(cb), hook, None) is not getattr(Callback, hook)
