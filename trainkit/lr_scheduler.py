"""``mx.lr_scheduler``: learning rate as a function of the update count, as in MXNet 1.9.1.

A scheduler is called with ``num_update``, the largest number of times any one
weight has been updated (``Optimizer.num_update``), and returns the learning
rate. The maths, the boundaries and the state each scheduler keeps follow MXNet
1.9.1 exactly:

* ``FactorScheduler`` and ``MultiFactorScheduler`` decay ``base_lr`` in place,
  so an optimizer that overwrites ``base_lr`` changes where they continue from;
  the decay happens once ``num_update`` *exceeds* a step (update ``step + 1``
  is the first one at the lower rate).
* ``PolyScheduler`` and ``CosineScheduler`` decay from ``base_lr_orig``, the
  value given at construction: an optimizer's ``learning_rate`` does not change
  their curve (it does in MXNet neither). Pass ``base_lr`` to the scheduler.
* Warm-up ramps from ``warmup_begin_lr`` towards the ``base_lr`` given at
  construction, for ``num_update < warmup_steps``.

``ReduceLROnPlateau`` (not in MXNet; Keras' and Lightning's rule) follows a metric instead of the
update count: ``trainkit.Trainer`` hands it each epoch's logs through ``observe(logs)``, and it
lowers ``base_lr`` in place when the metric stalls. Living in the optimizer, it is pickled with the
optimizer's states, so a resumed run continues with its reduced rate and its patience count.
"""
import logging
from math import cos, pi

__all__ = ["LRScheduler", "FactorScheduler", "MultiFactorScheduler", "PolyScheduler", "CosineScheduler",
           "ReduceLROnPlateau"]


def _check_int(value, what, cls):
    # MXNet asserts isinstance(..., int); bool is excluded because True is not a count
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{cls}: {what} must be an int, got {type(value).__name__} {value!r}. "
                        f"Pass a whole number of updates, e.g. {what}=100.")


class LRScheduler:
    """Base class: a callable ``num_update -> learning rate`` with optional warm-up.

    Parameters
    ----------
    base_lr : float
        The learning rate after warm-up.
    warmup_steps : int
        Number of updates spent warming up before the schedule starts.
    warmup_begin_lr : float
        The learning rate at update 0 of the warm-up.
    warmup_mode : {'linear', 'constant'}
        ``linear``: ``warmup_begin_lr + (base_lr - warmup_begin_lr) * num_update / warmup_steps``;
        ``constant``: ``warmup_begin_lr`` throughout the warm-up.
    """

    def __init__(self, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        cls = type(self).__name__
        self.base_lr = base_lr
        _check_int(warmup_steps, "warmup_steps", cls)
        self.warmup_steps = warmup_steps
        self.warmup_final_lr = base_lr
        self.warmup_begin_lr = warmup_begin_lr
        if self.warmup_begin_lr > self.warmup_final_lr:
            raise ValueError(f"Base lr has to be higher than warmup_begin_lr: {cls} got base_lr={base_lr} "
                             f"and warmup_begin_lr={warmup_begin_lr}. Warm-up ramps up towards base_lr.")
        if self.warmup_steps < 0:
            raise ValueError(f"Warmup steps has to be positive or 0: {cls} got warmup_steps={warmup_steps}.")
        if warmup_mode not in ("linear", "constant"):
            raise ValueError(f"Supports only linear and constant modes of warmup: {cls} got "
                             f"warmup_mode={warmup_mode!r}. Use 'linear' or 'constant'.")
        self.warmup_mode = warmup_mode

    def get_warmup_lr(self, num_update):
        """The learning rate during warm-up (``num_update < warmup_steps``)."""
        if num_update >= self.warmup_steps:
            raise ValueError(f"get_warmup_lr({num_update}) called after the warm-up of "
                             f"{self.warmup_steps} updates has ended.")
        if self.warmup_mode == "linear":
            increase = (self.warmup_final_lr - self.warmup_begin_lr) \
                * float(num_update) / float(self.warmup_steps)
            return self.warmup_begin_lr + increase
        return self.warmup_begin_lr

    def __call__(self, num_update):
        """The learning rate for ``num_update``, the largest update count over all weights."""
        raise NotImplementedError(f"{type(self).__name__} must override __call__(num_update).")


class FactorScheduler(LRScheduler):
    """Multiply the learning rate by ``factor`` every ``step`` updates.

    ``lr = base_lr * factor ** ((num_update - 1) // step)`` after warm-up (the
    rate changes once ``num_update`` exceeds a multiple of ``step``), but never
    below ``stop_factor_lr``.
    """

    def __init__(self, step, factor=1, stop_factor_lr=1e-8, base_lr=0.01,
                 warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if step < 1:
            raise ValueError(f"Schedule step must be greater or equal than 1 round: FactorScheduler "
                             f"got step={step}.")
        if factor > 1.0:
            raise ValueError(f"Factor must be no more than 1 to make lr reduce: FactorScheduler got "
                             f"factor={factor}.")
        self.step = step
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.count = 0

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        # a while loop, not an if: a resumed run may jump several steps at once
        while num_update > self.count + self.step:
            self.count += self.step
            self.base_lr *= self.factor
            if self.base_lr < self.stop_factor_lr:
                self.base_lr = self.stop_factor_lr
                logging.info("Update[%d]: now learning rate arrived at %0.5e, will not "
                             "change in the future", num_update, self.base_lr)
            else:
                logging.info("Update[%d]: Change learning rate to %0.5e", num_update, self.base_lr)
        return self.base_lr


class MultiFactorScheduler(LRScheduler):
    """Multiply the learning rate by ``factor`` each time ``num_update`` passes a step in ``step``.

    ``lr = base_lr * factor ** k`` where ``k`` is the number of steps strictly
    below ``num_update``.
    """

    def __init__(self, step, factor=1, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0,
                 warmup_mode="linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(step, (list, tuple)) or len(step) < 1:
            raise ValueError(f"MultiFactorScheduler needs step as a non-empty list of update counts, "
                             f"got {step!r}. For a single step use FactorScheduler or step=[n].")
        for i, s in enumerate(step):
            if i != 0 and step[i] <= step[i - 1]:
                raise ValueError(f"Schedule step must be an increasing integer list: got {list(step)}.")
            if s < 1:
                raise ValueError(f"Schedule step must be greater or equal than 1 round: got {list(step)}.")
        if factor > 1.0:
            raise ValueError(f"Factor must be no more than 1 to make lr reduce: MultiFactorScheduler got "
                             f"factor={factor}.")
        self.step = list(step)
        self.cur_step_ind = 0
        self.factor = factor
        self.count = 0

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while self.cur_step_ind <= len(self.step) - 1:
            if num_update > self.step[self.cur_step_ind]:
                self.count = self.step[self.cur_step_ind]
                self.cur_step_ind += 1
                self.base_lr *= self.factor
                logging.info("Update[%d]: Change learning rate to %0.5e", num_update, self.base_lr)
            else:
                return self.base_lr
        return self.base_lr


class _DecayScheduler(LRScheduler):
    """Decay from ``base_lr`` to ``final_lr`` between ``warmup_steps`` and ``max_update``, along
    ``_curve(t)`` (1 at t=0, 0 at t=1); after ``max_update`` the last value stays."""

    def __init__(self, max_update, base_lr, final_lr, warmup_steps, warmup_begin_lr, warmup_mode):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        who = type(self).__name__
        _check_int(max_update, "max_update", who)
        if max_update < 1:
            raise ValueError(f"maximum number of updates must be strictly positive: {who} got "
                             f"max_update={max_update}.")
        if max_update <= warmup_steps:
            raise ValueError(f"{who} needs max_update > warmup_steps, got max_update={max_update} and "
                             f"warmup_steps={warmup_steps}: the decay runs between the two.")
        self.base_lr_orig = self.base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = self.max_update - self.warmup_steps

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            t = float(num_update - self.warmup_steps) / float(self.max_steps)
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * self._curve(t)
        return self.base_lr


class PolyScheduler(_DecayScheduler):
    """Polynomial decay to ``final_lr`` at ``max_update``.

    ``lr = final_lr + (base_lr - final_lr) * (1 - (n - warmup_steps) / (max_update - warmup_steps)) ** pwr``
    for ``warmup_steps <= n <= max_update``; after ``max_update`` the last value stays.
    """

    def __init__(self, max_update, base_lr=0.01, pwr=2, final_lr=0,
                 warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        super().__init__(max_update, base_lr, final_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        self.power = pwr

    def _curve(self, t):
        return pow(1 - t, self.power)


class CosineScheduler(_DecayScheduler):
    """Cosine decay to ``final_lr`` at ``max_update``.

    ``lr = final_lr + (base_lr - final_lr) * (1 + cos(pi * (n - warmup_steps) / (max_update - warmup_steps))) / 2``
    for ``warmup_steps <= n <= max_update``; after ``max_update`` the last value stays.
    """

    def __init__(self, max_update, base_lr=0.01, final_lr=0,
                 warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        super().__init__(max_update, base_lr, final_lr, warmup_steps, warmup_begin_lr, warmup_mode)

    def _curve(self, t):
        return (1 + cos(pi * t)) / 2


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving (Keras, Lightning).

    ``trainkit.Trainer`` calls ``observe(logs)`` with each epoch's logs (``val_loss``, ``train_accuracy``,
    ...) after validation; ``__call__(num_update)`` returns the current rate. The rule, per epoch:

    * the value improves when it beats the best so far by more than ``min_delta`` (lower for
      ``mode='min'``, higher for ``'max'``; ``'auto'`` minimises losses and errors, maximises the rest);
      the first value always does; NaN never does;
    * each epoch that does not improve counts one; the ``patience``-th such epoch in a row lowers the
      rate to ``max(lr * factor, min_lr)`` and resets the count (so with ``patience=2`` the rate drops
      at the end of the second stalled epoch, as Keras' and trainkit's EarlyStopping count);
    * the ``cooldown`` epochs after a reduction do not count (improvements still set the best);
    * at ``min_lr`` the rate stays.

    A new rate takes effect from the next update. ``num_reductions`` counts the reductions.
    """

    _SETTINGS = ("monitor", "factor", "patience", "mode", "min_delta", "cooldown", "min_lr")

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4, cooldown=0,
                 min_lr=0, base_lr=0.01):
        super().__init__(base_lr)
        from .callbacks import _mode_for  # trainkit's one 'auto' rule, shared with EarlyStopping and best.params
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"ReduceLROnPlateau: monitor must be a metric name such as 'val_loss', got {monitor!r}.")
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be a number in (0, 1), the multiplier that lowers the "
                             f"rate, got {factor!r}. Use e.g. factor=0.1 (ten times lower) or 0.5.")
        for what, value in (("patience", patience), ("cooldown", cooldown)):
            _check_int(value, what, "ReduceLROnPlateau")
            if value < 0:
                raise ValueError(f"ReduceLROnPlateau: {what} must be 0 or more epochs, got {value}.")
        for what, value in (("min_delta", min_delta), ("min_lr", min_lr)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"ReduceLROnPlateau: {what} must be a number >= 0, got {value!r}.")
        self.monitor = monitor
        self.mode = _mode_for(monitor, mode)
        self.factor = float(factor)
        self.patience = patience
        self.min_delta = float(min_delta)
        self.cooldown = cooldown
        self.min_lr = float(min_lr)
        self.best = None
        self.wait = 0               # epochs without improvement, counted outside cooldown
        self.cooldown_counter = 0
        self.num_reductions = 0

    def __call__(self, num_update):
        return self.base_lr

    def _improves(self, value):
        from .callbacks import improves  # the same rule as EarlyStopping and best.params
        return improves(None if value is None else float(value), self.best, self.mode, self.min_delta)

    def observe(self, logs, epoch=None):
        """Take one epoch's ``logs``; returns the new rate when this epoch lowered it, else None."""
        if self.monitor not in logs:
            raise KeyError(f"ReduceLROnPlateau monitors {self.monitor!r}, which the logs lack (they hold "
                           f"{', '.join(sorted(logs))}); give a monitor from those.")
        value = float(logs[self.monitor]) if logs[self.monitor] is not None else float("nan")
        improved = self._improves(value)
        if improved:
            self.best, self.wait = value, 0
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
            return None
        if improved:
            return None
        self.wait += 1
        if self.wait < self.patience or self.base_lr <= self.min_lr:
            return None
        old = self.base_lr
        self.base_lr = max(old * self.factor, self.min_lr)
        self.wait, self.cooldown_counter = 0, self.cooldown
        self.num_reductions += 1
        where = f" after epoch {epoch}" if epoch is not None else ""
        logging.getLogger("trainkit").info(
            "ReduceLROnPlateau: %s has not improved on %.6g for %d epoch(s)%s: lr %.6g -> %.6g",
            self.monitor, self.best, self.patience, where, old, self.base_lr)
        return self.base_lr

    def restart(self, lr):
        """Continue from the rate ``lr`` (a resume that changes optimizer.lr), keeping the best and the count."""
        self.base_lr = self.warmup_final_lr = float(lr)

    def adopt_settings(self, other):
        """Take ``other``'s settings (a resume whose config changed them), keeping this one's state;
        returns ``{setting: [old, new]}`` for those that differ."""
        changes = {}
        for key in self._SETTINGS:
            old, new = getattr(self, key), getattr(other, key)
            if old != new:
                setattr(self, key, new)
                changes[key] = [old, new]
        if "monitor" in changes or "mode" in changes:  # the best so far was of another quantity or direction
            self.best, self.wait = None, 0
        return changes
