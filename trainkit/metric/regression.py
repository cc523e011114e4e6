"""Regression metrics: MAE, MSE, RMSE, PearsonCorrelation."""
import numpy

from .base import EvalMetric, register, alias, check_label_shapes, _asnumpy, _pairs

__all__ = ["MAE", "MSE", "RMSE", "PearsonCorrelation"]


def _as_columns(label, pred):
    """numpy label and pred, 1-D ones made (N, 1); the difference then broadcasts, as in MXNet
    (a label of shape (N,) against predictions (N, 1) compares element by element)."""
    label, pred = _asnumpy(label), _asnumpy(pred)
    if label.ndim == 1:
        label = label.reshape(label.shape[0], 1)
    if pred.ndim == 1:
        pred = pred.reshape(pred.shape[0], 1)
    try:
        numpy.broadcast_shapes(label.shape, pred.shape)
    except ValueError:
        raise ValueError(f"Shape of labels {label.shape} does not broadcast with shape of predictions "
                         f"{pred.shape}. Regression metrics compare label and prediction element by "
                         "element.") from None
    return label, pred


@register
class MAE(EvalMetric):
    """Mean absolute error: mean over update arrays of ``mean(|label - pred|)``."""

    def __init__(self, name="mae", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            label, pred = _as_columns(label, pred)
            self._add(float(numpy.abs(label - pred).mean()), 1)


@register
class MSE(EvalMetric):
    """Mean squared error: mean over update arrays of ``mean((label - pred) ** 2)``."""

    def __init__(self, name="mse", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            label, pred = _as_columns(label, pred)
            self._add(float(((label - pred) ** 2.0).mean()), 1)


@register
class RMSE(EvalMetric):
    """Root mean squared error: mean over update arrays of ``sqrt(mean((label - pred) ** 2))``."""

    def __init__(self, name="rmse", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            label, pred = _as_columns(label, pred)
            self._add(float(numpy.sqrt(((label - pred) ** 2.0).mean())), 1)




@register
@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of labels and predictions (flattened, in float64).

    ``average='macro'`` averages the coefficient of each array pair; ``'micro'`` computes one
    coefficient over everything seen, from running means and sums of squares (Welford).
    """

    def __init__(self, name="pearsonr", output_names=None, label_names=None, average="macro"):
        if average not in ("macro", "micro"):
            raise ValueError(f"PearsonCorrelation average must be 'macro' or 'micro', got {average!r}.")
        self.average = average
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)
        if self.average == "micro":
            self.reset_micro()

    def reset_micro(self):
        self._sse_p = 0
        self._mean_p = 0
        self._sse_l = 0
        self._mean_l = 0
        self._pred_nums = 0
        self._label_nums = 0
        self._conv = 0

    def reset(self):
        super().reset()
        if self.average == "micro":
            self.reset_micro()

    @staticmethod
    def update_variance(new_values, *aggregate):
        """One Welford step over a batch: (count, mean, M2) -> updated (count, mean, M2)."""
        count, mean, m_2 = aggregate
        count += len(new_values)
        delta = new_values - mean
        mean += numpy.sum(delta / count)
        delta_2 = new_values - mean
        m_2 += numpy.sum(delta * delta_2)
        return count, mean, m_2

    def update_cov(self, label, pred):
        self._conv = self._conv + numpy.sum((label - self._mean_l) * (pred - self._mean_p))

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            check_label_shapes(label, pred, False, True)
            label = _asnumpy(label).ravel().astype(numpy.float64)
            pred = _asnumpy(pred).ravel().astype(numpy.float64)
            if self.average == "macro":
                self._add(float(numpy.corrcoef(pred, label)[0, 1]), 1)
            else:
                self.global_num_inst += 1
                self.num_inst += 1
                self._label_nums, self._mean_l, self._sse_l = \
                    self.update_variance(label, self._label_nums, self._mean_l, self._sse_l)
                self.update_cov(label, pred)
                self._pred_nums, self._mean_p, self._sse_p = \
                    self.update_variance(pred, self._pred_nums, self._mean_p, self._sse_p)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        if self.average == "macro":
            return (self.name, self.sum_metric / self.num_inst)
        n = self._label_nums
        pearsonr = self._conv / ((n - 1) * numpy.sqrt(self._sse_p / (n - 1)) * numpy.sqrt(self._sse_l / (n - 1)))
        return (self.name, pearsonr)
