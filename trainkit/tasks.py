"""What kind of problem a network solves: its output layer, loss, metrics, labels and predictions.

    task            outputs        losses (default first)                 metrics (default *)             prediction
    classification  K logits       softmax_cross_entropy                  accuracy*, top_k_accuracy_<k>,  class, prob_0..prob_{K-1}
                                                                          f1 (macro)
    binary          1 logit        sigmoid_binary_cross_entropy           accuracy*, auc*, f1             class (0/1), prob (of 1)
    regression      T values       l2, l1, huber (rho)                    mse, mae, rmse*, r2*            value (or value_0..)

``get_task(name)`` returns the one ``Task`` of that kind. A loss is a callable
``loss(outputs, labels) -> NDArray`` of shape (1,), the batch mean, built from trainkit ops (so
autograd differentiates it); each carries ``loss_name`` and ``task``. Metrics are ``mx.metric``
objects scored over every sample of an epoch. Plain Python, no Hydra: the Trainer and the app
both use it.
"""
import re

import numpy as np

__all__ = ["Task", "get_task", "TASKS", "Loss"]


class Loss:
    """A built-in loss: ``loss(outputs, labels)`` is the batch mean as an NDArray of shape (1,)."""

    def __init__(self, name, task, fn, **params):
        self.loss_name, self.task, self.params, self._fn = name, task, params, fn

    def __call__(self, outputs, labels):
        return self._fn(outputs, labels, **self.params)

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"Loss({self.loss_name!r}, task={self.task!r}{args})"


# ----- losses ---------------------------------------------------------------------------------
def _softmax_cross_entropy(logits, labels):
    from . import nd
    return nd.softmax_cross_entropy(logits, labels) / logits.shape[0]


def _as_outputs(labels, outputs):
    """Labels shaped like the outputs: (N,) labels against (N, 1) outputs compare sample by sample."""
    return labels if labels.shape == outputs.shape else labels.reshape(outputs.shape)


def _sigmoid_bce(logits, labels):
    # -[y log s(x) + (1-y) log(1-s(x))] = max(x, 0) - x y + log(1 + exp(-|x|)): no overflow for any x
    from . import nd
    y = _as_outputs(labels, logits)
    return nd.mean(nd.relu(logits) - logits * y + nd.log1p(nd.exp(-nd.abs(logits))))


def _l2(values, labels):
    from . import nd
    return nd.mean(nd.square(values - _as_outputs(labels, values)))


def _l1(values, labels):
    from . import nd
    return nd.mean(nd.abs(values - _as_outputs(labels, values)))


def _huber(values, labels, rho=1.0):
    # MXNet's HuberLoss: quadratic (d^2 / 2 rho) within rho of the label, linear (|d| - rho/2) beyond
    from . import nd
    d = nd.abs(values - _as_outputs(labels, values))
    return nd.mean(nd.where(d > rho, d - 0.5 * rho, (0.5 / rho) * nd.square(d)))


# ----- tasks ----------------------------------------------------------------------------------
class Task:
    """One kind of problem. Subclasses fill in the tables and the label/prediction rules."""

    name = None
    label_dtype = None
    default_monitor = None
    losses = {}            # name -> (function, {parameter: default})
    loss_aliases = {}
    default_metrics = ()

    def __repr__(self):
        return f"<Task {self.name}>"

    # network
    def output_units(self, num_classes_or_targets):
        """Units of the network's output layer."""
        raise NotImplementedError

    def units_from_labels(self, y, configured=None):
        """``(units, how)``: the output layer's size for these training labels (app log line)."""
        raise NotImplementedError

    # loss
    def loss(self, name=None, **kw):
        """The loss ``name`` (default: this task's first) with its parameters (``rho`` for huber)."""
        if name is None:
            name = next(iter(self.losses))
        key = self.loss_aliases.get(str(name).lower(), str(name).lower())
        if key not in self.losses:
            other = next((t.name for t in TASKS.values() if t is not self and
                          t.loss_aliases.get(key, key) in t.losses), None)
            why = f"{name!r} is a {other} loss" if other else f"unknown loss {name!r}"
            raise ValueError(f"{why}; task={self.name} takes loss={' | '.join(self.losses)}"
                             f"{'' if other is None else f' (or choose task={other})'}.")
        fn, defaults = self.losses[key]
        unknown = sorted(set(kw) - set(defaults))
        if unknown:
            takes = f"takes {', '.join(defaults)}" if defaults else "takes no parameters"
            raise ValueError(f"loss {key} {takes}; got {', '.join(unknown)}.")
        params = {k: float(kw.get(k, v)) for k, v in defaults.items()}
        if key == "huber" and not params["rho"] > 0:
            raise ValueError(f"loss huber needs rho > 0 (the width of its quadratic part), got rho={params['rho']}.")
        return Loss(key, self.name, fn, **params)

    # metrics
    def metric(self, name):
        """One metric by this task's name for it; other registered mx.metric names pass through."""
        from . import metric as _metric
        if isinstance(name, _metric.EvalMetric):
            return name
        if not isinstance(name, str):
            return _metric.create(name)
        made = self._metric(name.lower())
        return made if made is not None else _metric.create(name)

    def metrics(self, names=None):
        """Fresh metric objects for ``names`` (None: this task's defaults); instances are kept as given."""
        return [self.metric(n) for n in (self.default_metrics if names is None else names)]

    def _metric(self, name):
        return None

    # labels and predictions
    def check_labels(self, y, what, error=ValueError):
        """The labels as this task keeps them on the host (``label_dtype``), or ``error`` saying what is wrong."""
        raise NotImplementedError

    def transform(self, outputs):
        """Raw network outputs (numpy) to what ``Trainer.predict`` returns: probabilities or values."""
        raise NotImplementedError

    def predict(self, outputs):
        """Raw outputs (numpy, (N, units)) to named prediction columns: ``{column: (N,) array}``."""
        raise NotImplementedError


def _class_labels(y, what, error):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise error(f"{what}: labels must be one class index per sample, shape (N,), got shape {y.shape}.")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y) & (y == np.round(y))):
            raise error(f"{what}: labels must be whole class indices 0, 1, 2, ...; found a non-integer.")
    elif y.dtype.kind not in "iub":
        raise error(f"{what}: labels must be numbers (class indices), got dtype {y.dtype}.")
    y = y.astype(np.int64)
    if len(y) and y.min() < 0:
        raise error(f"{what}: label {y.min()} is negative; class indices start at 0.")
    return y


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    return (0.5 * (1.0 + np.tanh(0.5 * z))).astype(np.float32)  # = 1 / (1 + exp(-z)), without overflow


class Classification(Task):
    name = "classification"
    label_dtype = np.int64
    default_monitor = "val_accuracy"
    losses = {"softmax_cross_entropy": (_softmax_cross_entropy, {})}
    loss_aliases = {"cross_entropy": "softmax_cross_entropy", "ce": "softmax_cross_entropy"}
    default_metrics = ("accuracy",)

    def output_units(self, num_classes_or_targets):
        return int(num_classes_or_targets)

    def units_from_labels(self, y, configured=None):
        from .app.data import num_classes  # the rules (0..K-1, all present) live with the app's data checks
        return num_classes(y, y[:0], configured)

    def _metric(self, name):
        from . import metric as _metric
        if name in ("accuracy", "acc"):
            return _metric.Accuracy()
        if name in ("f1", "macro_f1", "f1_macro"):
            return _metric.MacroF1()
        k = re.fullmatch(r"(?:top_k_accuracy_|top_k_acc_|top)(\d+)", name)
        if k:
            return _metric.TopKAccuracy(top_k=int(k.group(1)))
        return None

    def check_labels(self, y, what, error=ValueError):
        return _class_labels(y, what, error)

    def transform(self, outputs):
        return _softmax(outputs)

    def predict(self, outputs):
        probs = _softmax(outputs)
        cols = {"class": probs.argmax(axis=1).astype(np.int64)}
        cols.update({f"prob_{k}": probs[:, k] for k in range(probs.shape[1])})
        return cols


class Binary(Task):
    name = "binary"
    label_dtype = np.int64
    default_monitor = "val_auc"
    losses = {"sigmoid_binary_cross_entropy": (_sigmoid_bce, {})}
    loss_aliases = {"sigmoid_bce": "sigmoid_binary_cross_entropy", "bce": "sigmoid_binary_cross_entropy",
                    "binary_cross_entropy": "sigmoid_binary_cross_entropy"}
    default_metrics = ("accuracy", "auc")

    def output_units(self, num_classes_or_targets=1):
        return 1

    def units_from_labels(self, y, configured=None):
        self.check_labels(y, "the training labels")
        if configured not in (None, 2):
            raise ValueError(f"task=binary has two classes (labels 0 and 1, one output unit), but model.num_classes="
                             f"{configured}; leave model.num_classes=null, or use task=classification.")
        return 1, "task=binary: one logit, the log-odds of class 1"

    def _metric(self, name):
        from . import metric as _metric
        if name in ("accuracy", "acc"):
            return _metric.BinaryAccuracy()
        if name in ("auc", "roc_auc"):
            return _metric.AUC()
        if name == "f1":
            return _metric.BinaryF1()
        return None

    def check_labels(self, y, what, error=ValueError):
        y = _class_labels(y, what, error)
        bad = y[(y != 0) & (y != 1)]
        if len(bad):
            raise error(f"{what}: task=binary needs labels 0 and 1, but found {int(bad[0])} "
                        f"(values present: {', '.join(map(str, np.unique(y)[:6].tolist()))}). Map the classes to 0/1, "
                        f"or use task=classification for more than two classes.")
        return y

    def transform(self, outputs):
        return _sigmoid(outputs)

    def predict(self, outputs):
        prob = _sigmoid(np.asarray(outputs).reshape(len(outputs), -1)[:, 0])
        return {"class": (prob > 0.5).astype(np.int64), "prob": prob}


class Regression(Task):
    name = "regression"
    label_dtype = np.float32
    default_monitor = "val_rmse"
    losses = {"l2": (_l2, {}), "l1": (_l1, {}), "huber": (_huber, {"rho": 1.0})}
    loss_aliases = {"mse": "l2", "squared": "l2", "mae": "l1", "absolute": "l1", "huber_loss": "huber"}
    default_metrics = ("mse", "mae", "rmse", "r2")

    def output_units(self, num_classes_or_targets=1):
        return int(num_classes_or_targets)

    def units_from_labels(self, y, configured=None):
        targets = 1 if np.ndim(y) == 1 else int(np.shape(y)[1])
        return targets, f"task=regression: {targets} target value(s) per sample"

    def _metric(self, name):
        from . import metric as _metric
        table = {"mse": _metric.PooledMSE, "mae": _metric.PooledMAE, "rmse": _metric.PooledRMSE,
                 "r2": _metric.R2, "r2_score": _metric.R2}
        return table[name]() if name in table else None

    def check_labels(self, y, what, error=ValueError):
        y = np.asarray(y)
        if y.dtype.kind not in "iufb":
            raise error(f"{what}: task=regression needs numeric target values, got dtype {y.dtype}.")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim not in (1, 2):
            raise error(f"{what}: targets must be shaped (N,) or (N, targets), got shape {y.shape}.")
        y = y.astype(np.float32)
        if not np.all(np.isfinite(y)):
            row = int(np.argwhere(~np.isfinite(y))[0][0])
            raise error(f"{what}: target {row} (0-based) is {y.reshape(len(y), -1)[row].tolist()}, not a finite "
                        f"number; fill or drop those samples first.")
        return y

    def transform(self, outputs):
        return np.asarray(outputs, dtype=np.float32)

    def predict(self, outputs):
        values = np.asarray(outputs, dtype=np.float32).reshape(len(outputs), -1)
        if values.shape[1] == 1:
            return {"value": values[:, 0]}
        return {f"value_{i}": values[:, i] for i in range(values.shape[1])}


TASKS = {t.name: t for t in (Classification(), Binary(), Regression())}


def get_task(name):
    """The Task called ``name`` (classification, binary or regression); a Task is returned as it is."""
    if isinstance(name, Task):
        return name
    task = TASKS.get(str(name).lower())
    if task is None:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}.")
    return task
