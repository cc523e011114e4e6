"""Macro-averaged F1 of a multi-class classifier, from counts pooled over every sample seen.

MXNet's ``F1`` is binary only (and its ``average='macro'`` means the mean over update calls);
this is the usual multi-class macro F1 (scikit-learn's ``f1_score(average='macro')``): the F1 of
each class, ``2 TP / (2 TP + FP + FN)``, averaged with equal weight over the classes that occur
among the labels or the predictions.
"""
import numpy

from .base import EvalMetric, _asnumpy, _pairs, alias, register

__all__ = ["MacroF1"]


@register
@alias("macro_f1", "f1_macro")
class MacroF1(EvalMetric):
    """Macro F1 over classes; predictions are class scores ``(N, K)`` (argmax) or class indices ``(N,)``."""

    def __init__(self, name="f1", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)

    def reset(self):
        super().reset()
        self.counts = numpy.zeros((3, 0), numpy.int64)  # per class: true positives, predicted, labelled

    def reset_local(self):
        self.reset()

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            pred = _asnumpy(pred)
            classes = pred.argmax(axis=1) if pred.ndim == 2 else pred.reshape(-1)
            self.update_arrays(_asnumpy(label).reshape(-1), classes, pred.shape[1] if pred.ndim == 2 else 0)

    def update_arrays(self, label, predicted, num_classes=0):
        """One batch of host arrays: class labels (N,) and predicted classes (N,)."""
        label = label.astype(numpy.int64, copy=False)
        predicted = predicted.astype(numpy.int64, copy=False)
        k = max(int(num_classes), int(label.max(initial=-1)) + 1, int(predicted.max(initial=-1)) + 1,
                self.counts.shape[1])
        if k > self.counts.shape[1]:
            self.counts = numpy.pad(self.counts, ((0, 0), (0, k - self.counts.shape[1])))
        self.counts[0] += numpy.bincount(label[label == predicted], minlength=k)
        self.counts[1] += numpy.bincount(predicted, minlength=k)
        self.counts[2] += numpy.bincount(label, minlength=k)
        self.num_inst += len(label)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        tp, predicted, labelled = self.counts
        seen = (predicted + labelled) > 0
        return (self.name, float(numpy.mean(2.0 * tp[seen] / (predicted[seen] + labelled[seen]))))
