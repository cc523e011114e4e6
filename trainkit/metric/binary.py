"""Binary classifiers scored over every sample seen: BinaryAccuracy, BinaryF1, AUC.

A binary network has one output per sample: a logit (``from_logits=True``, the Trainer's case,
class 1 when the logit is > 0) or a probability of class 1 (``from_logits=False``, class 1 when
> 0.5). Predictions shaped ``(N,)`` or ``(N, 1)`` are that score; ``(N, 2)`` class scores are
reduced to ``score_1 - score_0``, which orders samples as the probability of class 1 does.
Labels are 0 and 1. Unlike MXNet's F1 (which averages per-update scores), the counts are pooled
over all updates, so the value after an epoch is the value over the whole epoch.
"""
import numpy

from .base import EvalMetric, _asnumpy, _pairs, alias, register

__all__ = ["BinaryAccuracy", "BinaryF1", "AUC", "roc_auc"]


def _scores(pred):
    pred = _asnumpy(pred)
    if pred.ndim == 2 and pred.shape[1] == 2:
        return (pred[:, 1].astype(numpy.float64) - pred[:, 0])
    if pred.ndim == 1 or (pred.ndim == 2 and pred.shape[1] == 1):
        return pred.reshape(-1)
    raise ValueError(f"a binary metric needs one score per sample, shape (N,) or (N, 1) (or class scores "
                     f"(N, 2)); got predictions of shape {pred.shape}.")


def _labels(label, n):
    label = _asnumpy(label).reshape(-1)
    if len(label) != n:
        raise ValueError(f"{len(label)} labels for {n} predictions; give one 0/1 label per sample.")
    return label


class _Thresholded(EvalMetric):
    """Shared by BinaryAccuracy and BinaryF1: the predicted class is score > threshold."""

    def __init__(self, name, from_logits=True, output_names=None, label_names=None):
        self.from_logits = bool(from_logits)
        self.threshold = 0.0 if self.from_logits else 0.5
        super().__init__(name, from_logits=from_logits, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            scores = _scores(pred)
            self.update_arrays(_labels(label, len(scores)) > 0.5, scores > self.threshold)


@register
@alias("binary_accuracy")
class BinaryAccuracy(_Thresholded):
    """Fraction of samples whose predicted class (score above the threshold) equals the 0/1 label."""

    def __init__(self, name="accuracy", from_logits=True, output_names=None, label_names=None):
        super().__init__(name, from_logits, output_names, label_names)

    def update_arrays(self, positive, predicted):
        """One batch as boolean host arrays: label is 1, prediction is 1."""
        self._add(int(numpy.count_nonzero(positive == predicted)), len(positive))


@register
@alias("binary_f1")
class BinaryF1(_Thresholded):
    """F1 of class 1, ``2 TP / (2 TP + FP + FN)``, from counts pooled over every update (0 when
    there is neither a positive label nor a positive prediction)."""

    def __init__(self, name="f1", from_logits=True, output_names=None, label_names=None):
        super().__init__(name, from_logits, output_names, label_names)

    def reset(self):
        super().reset()
        self.counts = numpy.zeros(3, numpy.int64)  # true positives, predicted positives, labelled positives

    def reset_local(self):
        self.reset()  # one set of counts: local and global are the same here

    def update_arrays(self, positive, predicted):
        self.counts += (numpy.count_nonzero(positive & predicted), numpy.count_nonzero(predicted),
                        numpy.count_nonzero(positive))
        self.num_inst = self.global_num_inst = self.num_inst + len(positive)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        tp, pred_pos, label_pos = (int(c) for c in self.counts)
        return (self.name, 2.0 * tp / (pred_pos + label_pos) if pred_pos + label_pos else 0.0)

    def get_global(self):
        return self.get()


def roc_auc(labels, scores):
    """The area under the ROC curve of ``scores`` for 0/1 ``labels``, exactly: the probability that a
    random positive scores above a random negative, ties counting one half (Mann-Whitney U from
    average ranks). NaN when only one class is present."""
    labels = numpy.asarray(labels).reshape(-1) > 0.5
    scores = numpy.asarray(scores, dtype=numpy.float64).reshape(-1)
    n_pos = int(numpy.count_nonzero(labels))
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, group, counts = numpy.unique(scores, return_inverse=True, return_counts=True)
    ends = numpy.cumsum(counts)                     # 1-based rank of the last member of each group of ties
    ranks = (ends - (counts - 1) / 2.0)[group.reshape(-1)]  # the average rank of each sample's group
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


@register
@alias("roc_auc")
class AUC(EvalMetric):
    """Area under the ROC curve over every sample since ``reset()``, computed exactly from the scores
    (ties count one half). It keeps the scores of the epoch (8 bytes per sample) and ranks them in
    ``get()``. Scores may be logits or probabilities: only their order matters."""

    def __init__(self, name="auc", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)

    def reset(self):
        super().reset()
        self._labels, self._scores = [], []

    def reset_local(self):
        self.reset()

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            scores = _scores(pred)
            self.update_arrays(_labels(label, len(scores)), scores)

    def update_arrays(self, label, scores):
        """One batch of host arrays: 0/1 labels and scores, both (N,)."""
        self._labels.append(numpy.array(label, copy=True).reshape(-1))
        self._scores.append(numpy.array(scores, dtype=numpy.float64, copy=True).reshape(-1))
        self.num_inst += len(self._scores[-1])

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        if len(self._scores) > 1:  # keep one array: get() each epoch stays a single sort
            self._labels, self._scores = [numpy.concatenate(self._labels)], [numpy.concatenate(self._scores)]
        return (self.name, roc_auc(self._labels[0], self._scores[0]))
