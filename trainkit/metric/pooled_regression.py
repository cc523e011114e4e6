"""Regression metrics over every value seen: PooledMSE, PooledMAE, PooledRMSE, R2.

MXNet's MSE/MAE/RMSE average the per-update means (so the last, smaller batch of an epoch weighs
as much as a full one, and RMSE is a mean of per-batch roots); these pool the sums over all
updates, so after an epoch they are the epoch's exact values. Labels and predictions are
``(N,)`` or ``(N, T)`` (T targets); ``(N,)`` against ``(N, 1)`` compares element by element.
"""
import numpy

from .base import EvalMetric, _asnumpy, _pairs, alias, register

__all__ = ["PooledMSE", "PooledMAE", "PooledRMSE", "R2"]


def _columns(label, pred):
    label, pred = _asnumpy(label), _asnumpy(pred)
    label = label.reshape(len(label), -1)
    pred = pred.reshape(len(pred), -1)
    if label.shape != pred.shape:
        raise ValueError(f"labels {label.shape} and predictions {pred.shape} differ in shape: a regression "
                         "metric needs one prediction per label value.")
    return label.astype(numpy.float64, copy=False), pred.astype(numpy.float64, copy=False)


class _Pooled(EvalMetric):
    def __init__(self, name, output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            self.update_arrays(*_columns(label, pred))


@register
@alias("pooled_mse", "pooled_l2")
class PooledMSE(_Pooled):
    """Mean squared error over every value seen: ``sum((label - pred) ** 2) / count``."""

    def __init__(self, name="mse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    def update_arrays(self, label, pred):
        d = label - pred
        self._add(float(numpy.vdot(d, d)), d.size)


@register
@alias("pooled_mae", "pooled_l1")
class PooledMAE(_Pooled):
    """Mean absolute error over every value seen."""

    def __init__(self, name="mae", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    def update_arrays(self, label, pred):
        self._add(float(numpy.abs(label - pred).sum()), label.size)


@register
@alias("pooled_rmse")
class PooledRMSE(PooledMSE):
    """Root of the pooled mean squared error (not a mean of per-batch roots)."""

    def __init__(self, name="rmse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    def get(self):
        name, value = super().get()
        return (name, float(numpy.sqrt(value)))

    def get_global(self):
        name, value = super().get_global()
        return (name, float(numpy.sqrt(value)))


@register
@alias("r2_score", "r_squared")
class R2(_Pooled):
    """Coefficient of determination, ``1 - SS_res / SS_tot`` per target over every sample seen
    (SS_tot around the mean of the labels seen), averaged over targets with equal weight (as
    scikit-learn's ``r2_score``). 1 is perfect, 0 is no better than predicting the mean; NaN
    while the labels seen are all equal."""

    def __init__(self, name="r2", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    def reset(self):
        super().reset()
        self.sums = None  # per target: count, sum of labels, sum of squared labels, sum of squared errors

    def reset_local(self):
        self.reset()

    def update_arrays(self, label, pred):
        d = label - pred
        batch = numpy.stack([numpy.full(label.shape[1], len(label), numpy.float64), label.sum(axis=0),
                             (label * label).sum(axis=0), (d * d).sum(axis=0)])
        if self.sums is not None and self.sums.shape != batch.shape:
            raise ValueError(f"R2 saw {self.sums.shape[1]} targets before and {batch.shape[1]} now.")
        self.sums = batch if self.sums is None else self.sums + batch
        self.num_inst = self.global_num_inst = self.num_inst + len(label)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        n, s, ss, sse = self.sums
        sst = ss - s * s / n   # sum of squares around the mean; float64 keeps this accurate for these sizes
        with numpy.errstate(divide="ignore", invalid="ignore"):
            r2 = numpy.where(sst > 0, 1.0 - sse / numpy.where(sst > 0, sst, 1.0), numpy.nan)
        return (self.name, float(r2.mean()))

    def get_global(self):
        return self.get()
