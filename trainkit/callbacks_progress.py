"""What a ``trainkit.Trainer`` run shows while it trains: the learning rate as it changes, tqdm bars,
running-loss log lines and the run folder's ``trainkit.log``.

The Trainer appends these after its stateful built-ins (DivergenceGuard, RunFiles), so a checkpoint's
callback states keep their slots; none of them has state to save.
"""
import logging
import sys
from contextlib import ExitStack
from pathlib import Path

from .callbacks import Callback

log = logging.getLogger("trainkit")


class LearningRateMonitor(Callback):
    """Log ``lr X at update N (epoch E)`` when the learning rate changes, read after each update.

    A step (FactorScheduler, MultiFactorScheduler, ReduceLROnPlateau) is logged at the update it
    takes effect. A rate that changes at every update (warm-up, cosine, poly) is logged when it
    starts to change, at the first update of each epoch while it keeps changing, and where it stops,
    rather than once per update. The first update of a fit logs the starting rate.
    """

    def __init__(self):
        self.logged = None      # the last rate logged
        self.previous = None    # the rate of the previous update
        self.ramp = False       # whether the previous update changed it too
        self.logged_epoch = None

    def on_fit_start(self, trainer, **kwargs):
        self.logged = self.previous = self.logged_epoch = None
        self.ramp = False

    def on_batch_end(self, trainer, epoch, batch, loss, **kwargs):
        opt = trainer.optimizer
        lr = float(opt.learning_rate)  # the scheduler's rate at num_update: the one this update used
        changed = self.previous is not None and lr != self.previous
        ramping = changed and self.ramp
        self.ramp, self.previous = changed, lr
        if lr == self.logged or (ramping and epoch == self.logged_epoch):
            return
        log.info("lr %.6g at update %d (epoch %d)", lr, opt.num_update, epoch)
        self.logged, self.logged_epoch = lr, epoch


def _show(trainer):
    return trainer.progress if trainer.progress is not None else sys.stderr.isatty()


class ProgressBar(Callback):
    """tqdm bars on stderr: one over the epochs (train_loss and the monitored metric) and one over the
    batches of the epoch (running loss and first metric). ``trainer.progress=None`` shows them only
    when stderr is a terminal. While they show, log lines go through tqdm so they do not tear the bars."""

    def __init__(self):
        self._stack = None
        self.epochs = self.batches = None
        self._shown = 0

    def on_fit_start(self, trainer, **kwargs):
        if not _show(trainer):
            return
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm
        self._stack = ExitStack()
        self._stack.enter_context(logging_redirect_tqdm(loggers=[logging.getLogger()]))
        self._tqdm = tqdm
        self.epochs = self._stack.enter_context(self._bar(total=trainer.epochs, initial=trainer.epoch,
                                                          desc="epochs", unit="epoch", position=0, leave=True))

    def _bar(self, **kwargs):
        return self._tqdm(dynamic_ncols=True, file=sys.stderr, **kwargs)

    def on_epoch_start(self, trainer, epoch, **kwargs):
        if self._stack is not None:
            self._open_batches(trainer, epoch, 0)

    def _open_batches(self, trainer, epoch, start):
        self.batches = self._bar(total=trainer.num_batches, initial=start, desc=f"epoch {epoch}", unit="batch",
                                 position=1, leave=False)
        self._shown = start
        self._every = max(1, (trainer.num_batches or 100) // 50)  # tqdm formats on every call: throttle

    def on_batch_end(self, trainer, epoch, batch, loss, **kwargs):
        if self._stack is None:
            return
        if self.batches is None:  # a run resumed inside this epoch: no on_epoch_start
            self._open_batches(trainer, epoch, batch)
        done = batch + 1
        if done - self._shown >= self._every:
            self.batches.set_postfix(trainer._tally.running(), refresh=False)
            self.batches.update(done - self._shown)
            self._shown = done

    def on_epoch_end(self, trainer, epoch, logs, **kwargs):
        if self._stack is None:
            return
        self._close_batches()
        post = {k: f"{logs[k]:.4f}" for k in ("train_loss", trainer.best["monitor"]) if isinstance(logs.get(k), float)}
        self.epochs.set_postfix(post, refresh=False)
        self.epochs.update(1)

    def _close_batches(self):
        if self.batches is not None:
            self.batches.close()
            self.batches = None

    def on_fit_end(self, trainer, **kwargs):
        self._close()

    def on_exception(self, trainer, exception, **kwargs):
        self._close()

    def _close(self):
        if self._stack is not None:
            self._close_batches()
            self._stack.close()  # the epoch bar, then the logging redirect
            self._stack = self.epochs = None


class ProgressLog(Callback):
    """Every ``trainer.log_every`` batches (0: never), log the running loss and first metric:
    ``epoch 2 batch 50: loss=0.4123 acc=0.8800``."""

    def on_batch_end(self, trainer, epoch, batch, loss, **kwargs):
        every = trainer.log_every
        if every and (batch + 1) % every == 0:
            log.info("epoch %d batch %d: %s", epoch, batch + 1,
                     " ".join(f"{k}={v}" for k, v in trainer._tally.running().items()))


class LogFile(Callback):
    """INFO lines of the ``trainkit`` logger into ``out_dir/trainkit.log`` while fit runs, unless a file
    handler already writes into that folder (Hydra's, under the command line)."""

    def __init__(self):
        self.handler = None

    def on_fit_start(self, trainer, **kwargs):
        if trainer.out_dir is None or self.handler is not None:
            return
        target = Path(trainer.out_dir).resolve()
        for lg in (logging.getLogger(), log):
            for h in lg.handlers:
                if isinstance(h, logging.FileHandler) and Path(h.baseFilename).resolve().parent == target:
                    return
        handler = logging.FileHandler(Path(trainer.out_dir) / "trainkit.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
        self._level = log.level
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)
        log.addHandler(handler)
        self.handler = handler

    def on_fit_end(self, trainer, **kwargs):
        self._detach()

    def on_exception(self, trainer, exception, **kwargs):
        self._detach()

    def _detach(self):
        if self.handler is not None:
            log.removeHandler(self.handler)
            log.setLevel(self._level)
            self.handler.close()
            self.handler = None
