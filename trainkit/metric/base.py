"""``mx.metric`` base: EvalMetric, the registry, ``create``, CompositeEvalMetric, Loss, Torch, Caffe
and CustomMetric.

A metric accumulates ``sum_metric`` and ``num_inst`` over ``update(labels, preds)``
calls and reports ``sum_metric / num_inst`` (NaN before the first update). What
one update adds follows MXNet:

* Accuracy, TopKAccuracy, CrossEntropy: one instance per sample.
* MSE, MAE, RMSE: one instance per *array pair*: the value is the mean of the
  per-batch means (RMSE averages per-batch roots), not a per-sample mean.
* F1, MCC (``average='macro'``), PearsonCorrelation, PCC: one instance per update
  call (or array pair): the mean of per-batch scores. ``average='micro'`` pools the
  counts of all batches instead.
* Perplexity, NegativeLogLikelihood: one instance per (non-ignored) label.

``labels`` and ``preds`` are lists of NDArrays (one per output); single arrays and
numpy arrays are accepted too. A global copy of the counters (``get_global``)
survives ``reset_local``, as in MXNet.
"""
import json
from collections import OrderedDict

import numpy

from ..ndarray.ndarray import NDArray

__all__ = ["EvalMetric", "CompositeEvalMetric", "Loss", "Torch", "Caffe", "CustomMetric", "create", "register",
           "alias", "np", "check_label_shapes"]

_REGISTRY = {}


def _asnumpy(x):
    if type(x) is numpy.ndarray:
        return x
    if isinstance(x, NDArray):
        return x.asnumpy()
    if isinstance(x, numpy.ndarray):
        return x
    return numpy.asarray(x)


def _is_array(x):
    return isinstance(x, (NDArray, numpy.ndarray))


def check_label_shapes(labels, preds, wrap=False, shape=False):
    """Raise ``ValueError`` unless labels and preds match in length (or in shape with ``shape=True``).

    With ``wrap``, a single array is wrapped in a list; returns ``(labels, preds)``.
    """
    if not shape:
        label_shape, pred_shape = len(labels), len(preds)
    else:
        label_shape, pred_shape = labels.shape, preds.shape
    if label_shape != pred_shape:
        raise ValueError(f"Shape of labels {label_shape} does not match shape of predictions {pred_shape}. "
                         "Pass one label array per prediction array, each with one label per sample.")
    if wrap:
        if _is_array(labels):
            labels = [labels]
        if _is_array(preds):
            preds = [preds]
    return labels, preds


def _pairs(labels, preds):
    """The (label, pred) list pairs of an update, with single arrays wrapped first."""
    if type(labels) is list and type(preds) is list and len(labels) == len(preds):  # the Trainer's and Module's
        return labels, preds
    if _is_array(labels):
        labels = [labels]
    if _is_array(preds):
        preds = [preds]
    return check_label_shapes(labels, preds)


class EvalMetric:
    """Base class of all metrics.

    Parameters
    ----------
    name : str
        Shown by ``get()``.
    output_names, label_names : list of str, optional
        Which named outputs/labels ``update_dict`` uses (all by default).
    """

    def __init__(self, name, output_names=None, label_names=None, **kwargs):
        self.name = str(name)
        self.output_names = output_names
        self.label_names = label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self.reset()

    def __str__(self):
        return f"EvalMetric: {dict(self.get_name_value())}"

    def get_config(self):
        """The constructor arguments; ``mx.metric.create(**config)`` rebuilds the metric."""
        config = self._kwargs.copy()
        config.update({"metric": self.__class__.__name__, "name": self.name,
                       "output_names": self.output_names, "label_names": self.label_names})
        return config

    def update_dict(self, label, pred):
        """``update`` from OrderedDicts of name to array, keeping ``label_names``/``output_names``."""
        pred = [pred[n] for n in self.output_names] if self.output_names is not None else list(pred.values())
        label = [label[n] for n in self.label_names] if self.label_names is not None else list(label.values())
        self.update(label, pred)

    def update(self, labels, preds):
        """Add one batch: ``labels`` and ``preds`` are lists of arrays, one pair per output."""
        raise NotImplementedError(f"{type(self).__name__} must implement update(labels, preds).")

    def reset(self):
        """Forget everything, the global counters included."""
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self):
        """Forget the local counters only; ``get_global`` keeps counting."""
        self.num_inst = 0
        self.sum_metric = 0.0

    def _add(self, value, count):
        self.sum_metric += value
        self.global_sum_metric += value
        self.num_inst += count
        self.global_num_inst += count

    def get(self):
        """``(name, value)``; the value is NaN before any update."""
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.sum_metric / self.num_inst)

    def get_global(self):
        """Like ``get`` over everything since the last ``reset`` (ignores ``reset_local``)."""
        if self._has_global_stats:
            if self.global_num_inst == 0:
                return (self.name, float("nan"))
            return (self.name, self.global_sum_metric / self.global_num_inst)
        return self.get()

    def get_name_value(self):
        """``[(name, value), ...]``: ``get()`` as a list of pairs."""
        return _zip_name_value(*self.get())

    def get_global_name_value(self):
        """``get_global()`` as a list of pairs."""
        if self._has_global_stats:
            return _zip_name_value(*self.get_global())
        return self.get_name_value()


def _zip_name_value(name, value):
    if not isinstance(name, list):
        name = [name]
    if not isinstance(value, list):
        value = [value]
    return list(zip(name, value))


# ----- registry --------------------------------------------------------------------------------
def register(klass):
    """Class decorator: make a metric available to ``create`` under its lower-case class name."""
    if not (isinstance(klass, type) and issubclass(klass, EvalMetric)):
        raise TypeError(f"register expects a subclass of mx.metric.EvalMetric, got {klass!r}.")
    _REGISTRY[klass.__name__.lower()] = klass
    return klass


def alias(*aliases):
    """Class decorator: extra names for ``create`` (``@alias('acc')``)."""
    def reg(klass):
        for name in aliases:
            _REGISTRY[name.lower()] = klass
        return klass
    return reg


def _create_registered(metric, *args, **kwargs):
    if isinstance(metric, EvalMetric):
        if args or kwargs:
            raise ValueError(f"create got an EvalMetric instance ({metric.name!r}) and extra arguments; "
                             "the instance is already configured. Pass the instance alone.")
        return metric
    if isinstance(metric, dict):
        return _create_registered(**metric)
    if not isinstance(metric, str):
        raise TypeError(f"create expects a metric name, an EvalMetric, a list of them or a function "
                        f"feval(label, pred); got {type(metric).__name__}.")
    if metric.startswith("["):
        name, config = json.loads(metric)
        return _create_registered(name, *args, **{**config, **kwargs})
    if metric.startswith("{"):
        return _create_registered(**json.loads(metric), **kwargs)
    klass = _REGISTRY.get(metric.lower())
    if klass is None:
        raise ValueError(f"Unknown metric {metric!r}. Registered metrics: {', '.join(sorted(_REGISTRY))}. "
                         "Register your own with @mx.metric.register, or pass a function "
                         "feval(label, pred).")
    return klass(*args, **kwargs)


def create(metric, *args, **kwargs):
    """A metric from a registered name (``'acc'``, ``'mse'``, ...), an EvalMetric (returned
    as is), an EvalMetric class, a list of those (a ``CompositeEvalMetric``), a dict from
    ``get_config()``, a JSON string ``'["name", {kwargs}]'``, or a function
    ``feval(label, pred)`` (a ``CustomMetric``). ``args``/``kwargs`` go to the constructor.
    """
    if isinstance(metric, type) and issubclass(metric, EvalMetric):
        return metric(*args, **kwargs)     # MXNet would wrap the class in a CustomMetric
    if callable(metric) and not isinstance(metric, EvalMetric):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, list):
        composite = CompositeEvalMetric()
        for child in metric:
            composite.add(create(child, *args, **kwargs))
        return composite
    if isinstance(metric, dict):
        return _create_registered(**{**metric, **kwargs})
    return _create_registered(metric, *args, **kwargs)


# ----- metrics ---------------------------------------------------------------------------------
@register
@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; ``get()`` returns ``([names], [values])``."""

    def __init__(self, metrics=None, name="composite", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)
        self.metrics = [create(m) for m in (metrics or [])]

    def add(self, metric):
        """Add a child metric (anything ``create`` accepts)."""
        self.metrics.append(create(metric))

    def get_metric(self, index):
        """The child metric at ``index``."""
        try:
            return self.metrics[index]
        except IndexError:
            # MXNet *returns* this ValueError instead of raising it
            raise IndexError(f"Metric index {index} is out of range 0 and {len(self.metrics)}") from None

    def update_dict(self, labels, preds):
        if self.label_names is not None:
            labels = OrderedDict([i for i in labels.items() if i[0] in self.label_names])
        if self.output_names is not None:
            preds = OrderedDict([i for i in preds.items() if i[0] in self.output_names])
        for metric in self.metrics:
            metric.update_dict(labels, preds)

    def update(self, labels, preds):
        for metric in self.metrics:
            metric.update(labels, preds)

    def reset(self):
        for metric in getattr(self, "metrics", []):
            metric.reset()

    def reset_local(self):
        for metric in self.metrics:
            metric.reset_local()

    def _collect(self, getter):
        names, values = [], []
        for metric in self.metrics:
            name, value = getter(metric)
            names.extend(name if isinstance(name, list) else [name])
            values.extend(value if isinstance(value, list) else [value])
        return (names, values)

    def get(self):
        return self._collect(lambda m: m.get())

    def get_global(self):
        return self._collect(lambda m: m.get_global())

    def get_config(self):
        config = super().get_config()
        config.update({"metrics": [m.get_config() for m in self.metrics]})
        return config



@register
class Loss(EvalMetric):
    """Mean of the loss values the network outputs (labels are ignored)."""

    def __init__(self, name="loss", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def update(self, _, preds):
        if _is_array(preds):
            preds = [preds]
        for pred in preds:
            loss = _asnumpy(pred)
            self._add(float(loss.sum()), loss.size)


@register
class Torch(Loss):
    """``Loss`` under the name ``torch`` (MXNet's metric for Torch-module outputs)."""

    def __init__(self, name="torch", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class Caffe(Loss):
    """``Loss`` under the name ``caffe`` (MXNet's metric for Caffe-op outputs)."""

    def __init__(self, name="caffe", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class CustomMetric(EvalMetric):
    """A metric from a function ``feval(label, pred)`` of numpy arrays.

    ``feval`` returns a number (one instance per array pair) or a tuple
    ``(sum_metric, num_inst)``. The default name is the function's name, or
    ``custom(<lambda>)`` for a lambda.
    """

    def __init__(self, feval, name=None, allow_extra_outputs=False, output_names=None, label_names=None):
        if not callable(feval):
            raise TypeError(f"CustomMetric needs a function feval(label, pred), got {type(feval).__name__}.")
        if name is None:
            name = feval.__name__
            if name.find("<") != -1:
                name = f"custom({name})"
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs,
                         output_names=output_names, label_names=label_names, has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels, preds):
        if _is_array(labels):
            labels = [labels]
        if _is_array(preds):
            preds = [preds]
        if not self._allow_extra_outputs:
            check_label_shapes(labels, preds)
        for pred, label in zip(preds, labels):
            reval = self._feval(_asnumpy(label), _asnumpy(pred))
            if isinstance(reval, tuple):
                sum_metric, num_inst = reval
                self._add(sum_metric, num_inst)
            else:
                self._add(reval, 1)

    def get_config(self):
        raise NotImplementedError("CustomMetric cannot be serialized: it holds a Python function.")


def np(numpy_feval, name=None, allow_extra_outputs=False):
    """A ``CustomMetric`` from a function of numpy ``(label, pred)`` arrays."""
    def feval(label, pred):
        return numpy_feval(label, pred)
    feval.__name__ = numpy_feval.__name__
    return CustomMetric(feval, name, allow_extra_outputs)
