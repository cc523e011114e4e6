"""Classification metrics: Accuracy, TopKAccuracy, F1, MCC, PCC, Perplexity, CrossEntropy, NegativeLogLikelihood."""
import math

import numpy

from .base import EvalMetric, register, alias, check_label_shapes, _asnumpy, _pairs

__all__ = ["Accuracy", "TopKAccuracy", "F1", "MCC", "PCC", "Perplexity", "CrossEntropy", "NegativeLogLikelihood"]


@register
@alias("acc")
class Accuracy(EvalMetric):
    """Fraction of correct predictions.

    A prediction array shaped differently from its label array is reduced with
    ``argmax`` over ``axis`` (class scores ``(N, C)`` -> class indices ``(N,)``).
    Labels and predictions are then truncated to int32 and compared element-wise.
    """

    def __init__(self, axis=1, name="accuracy", output_names=None, label_names=None):
        super().__init__(name, axis=axis, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.axis = axis

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            label, pred = _asnumpy(label), _asnumpy(pred)
            if pred.shape != label.shape:
                pred = pred.argmax(axis=self.axis)
            # MXNet truncates both to int32; integer arrays (argmax's indices, class labels) compare as they are
            if pred.dtype.kind not in "iu":
                pred = pred.astype(numpy.int32)  # the type, not "int32": no dtype string to parse per batch
            if label.dtype.kind not in "iu":
                label = label.astype(numpy.int32)
            if pred.ndim != 1:
                pred = pred.ravel()
            if label.ndim != 1:
                label = label.ravel()
            if len(label) != len(pred):
                check_label_shapes(label, pred)  # raises
            self._add(int(numpy.count_nonzero(pred == label)), len(pred))  # half of .sum()'s time on a batch


@register
@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Fraction of samples whose label is among the ``top_k`` highest scores (preds ``(N, C)``).

    The name becomes ``top_k_accuracy_<k>``. ``top_k`` must be at least 2 (use Accuracy for 1).
    """

    def __init__(self, top_k=1, name="top_k_accuracy", output_names=None, label_names=None):
        super().__init__(name, top_k=top_k, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.top_k = top_k
        if not top_k > 1:
            raise ValueError(f"Please use Accuracy if top_k is no more than 1: TopKAccuracy got "
                             f"top_k={top_k}. Pass e.g. TopKAccuracy(top_k=5).")
        self.name += f"_{self.top_k}"

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            pred = _asnumpy(pred).astype("float32")
            if pred.ndim != 2:
                raise ValueError(f"TopKAccuracy needs predictions shaped (batch, classes), got shape "
                                 f"{pred.shape}.")
            label = _asnumpy(label).astype("int32").ravel()
            check_label_shapes(label, pred)
            num_classes = pred.shape[1]
            top_k = min(num_classes, self.top_k)
            # argpartition is enough: the order inside the top k does not matter
            top = numpy.argpartition(pred, -top_k, axis=1)[:, num_classes - top_k:]
            self._add(int((top == label[:, None]).any(axis=1).sum()), pred.shape[0])


class _BinaryStats:
    """True/false positive/negative counts of a binary classifier, local and global (MXNet's bookkeeping)."""

    def __init__(self, owner):
        self.owner = owner
        self.reset_stats()

    def update(self, label, pred):
        name = self.owner
        pred = _asnumpy(pred)
        label = _asnumpy(label).astype("int32").ravel()
        if pred.ndim != 2:
            raise ValueError(f"{name} needs predictions shaped (batch, 2) (scores of class 0 and 1), got "
                             f"shape {pred.shape}.")
        check_label_shapes(label, pred)
        if len(numpy.unique(label)) > 2:
            raise ValueError(f"{name} currently only supports binary classification: the labels hold "
                             f"{len(numpy.unique(label))} distinct values.")
        pred_true = pred.argmax(axis=1) == 1
        label_true = label == 1
        counts = (int((pred_true & label_true).sum()), int((pred_true & ~label_true).sum()),
                  int((~pred_true & label_true).sum()), int((~pred_true & ~label_true).sum()))
        self.local = [a + b for a, b in zip(self.local, counts)]
        self.glob = [a + b for a, b in zip(self.glob, counts)]

    @staticmethod
    def _fscore(tp, fp, fn, tn):
        precision = tp / (tp + fp) if tp + fp > 0 else 0.
        recall = tp / (tp + fn) if tp + fn > 0 else 0.
        if precision + recall > 0:
            return 2 * precision * recall / (precision + recall)
        return 0.

    @staticmethod
    def _mcc(tp, fp, fn, tn):
        # MXNet replaces zero factors of the denominator by 1
        denom = 1.
        for t in (tp + fp, tp + fn, tn + fp, tn + fn):
            if t != 0.:
                denom *= t
        return (float(tp) * tn - float(fp) * fn) / math.sqrt(denom)

    def score(self, kind, use_global=False):
        counts = self.glob if use_global else self.local
        return (self._fscore if kind == "f1" else self._mcc)(*counts)

    def total(self, use_global=False):
        return sum(self.glob if use_global else self.local)

    def reset_local(self):
        self.local = [0, 0, 0, 0]

    def reset_stats(self):
        """Both local and global counts (what MXNet's ``reset_stats`` does)."""
        self.local = [0, 0, 0, 0]
        self.glob = [0, 0, 0, 0]


class _BinaryScore(EvalMetric):
    """F1 and MCC: ``average='macro'`` averages the per-update scores, ``'micro'`` pools the counts.

    As in MXNet, a macro update clears the global counts too, so ``get_global()`` is the mean of
    the per-update scores since ``reset()`` (``reset_local()`` leaves it alone).
    """
    _kind = None

    def __init__(self, name, output_names=None, label_names=None, average="macro"):
        if average not in ("macro", "micro"):
            raise ValueError(f"{type(self).__name__} average must be 'macro' or 'micro', got {average!r}.")
        self.average = average
        self.metrics = _BinaryStats(type(self).__name__)
        super().__init__(name=name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            self.metrics.update(label, pred)
        m = self.metrics
        if self.average == "macro":
            self.sum_metric += m.score(self._kind)
            self.global_sum_metric += m.score(self._kind, use_global=True)
            self.num_inst += 1
            self.global_num_inst += 1
            m.reset_stats()
        else:
            self.sum_metric = m.score(self._kind) * m.total()
            self.global_sum_metric = m.score(self._kind, use_global=True) * m.total(use_global=True)
            self.num_inst = m.total()
            self.global_num_inst = m.total(use_global=True)

    def reset(self):
        super().reset()
        self.metrics.reset_stats()

    def reset_local(self):
        super().reset_local()
        self.metrics.reset_local()


@register
class F1(_BinaryScore):
    """Binary F1 score, ``2 * precision * recall / (precision + recall)``; class 1 is positive.

    Predictions are ``(N, 2)`` scores (argmax over axis 1). ``average='macro'``
    (default) averages the F1 of each ``update`` call; ``'micro'`` computes one F1
    from the counts pooled over all calls.
    """
    _kind = "f1"

    def __init__(self, name="f1", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names=output_names, label_names=label_names, average=average)


@register
class MCC(_BinaryScore):
    """Matthews correlation coefficient of a binary classifier (predictions ``(N, 2)``)::

        MCC = (TP*TN - FP*FN) / sqrt((TP+FP) (TP+FN) (TN+FP) (TN+FN))

    with zero factors of the denominator replaced by 1, as in MXNet. ``average`` as for F1.
    """
    _kind = "mcc"

    def __init__(self, name="mcc", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names=output_names, label_names=label_names, average=average)


@register
class PCC(EvalMetric):
    """Multi-class Matthews correlation (Gorodkin's R_K) from a K x K confusion matrix.

    Predictions are class scores ``(N, K)`` (argmax) or class indices shaped like the labels;
    K grows with the largest class seen. NaN while a row or column sum is all in one class.
    """

    def __init__(self, name="pcc", output_names=None, label_names=None, has_global_stats=True):
        self.k = 2
        super().__init__(name=name, output_names=output_names, label_names=label_names,
                         has_global_stats=has_global_stats)

    def _grow(self, inc):
        self.lcm = numpy.pad(self.lcm, ((0, inc), (0, inc)), "constant", constant_values=(0))
        self.gcm = numpy.pad(self.gcm, ((0, inc), (0, inc)), "constant", constant_values=(0))
        self.k += inc

    @staticmethod
    def _calc_mcc(cmat):
        n = cmat.sum()
        x = cmat.sum(axis=1)
        y = cmat.sum(axis=0)
        cov_xx = numpy.sum(x * (n - x))
        cov_yy = numpy.sum(y * (n - y))
        if cov_xx == 0 or cov_yy == 0:
            return float("nan")
        cov_xy = numpy.sum(cmat.diagonal() * n - x * y)
        return cov_xy / (cov_xx * cov_yy) ** 0.5

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            label = _asnumpy(label).astype("int32")
            pred = _asnumpy(pred)
            pred = pred.argmax(axis=1) if pred.shape != label.shape else pred.astype("int32")
            n = max(pred.max(), label.max())
            if n >= self.k:
                self._grow(n + 1 - self.k)
            bcm = numpy.zeros((self.k, self.k))
            numpy.add.at(bcm, (pred.ravel(), label.ravel()), 1)
            self.lcm += bcm
            self.gcm += bcm
        self.num_inst += 1
        self.global_num_inst += 1

    # the sums are derived from the confusion matrices; EvalMetric's own writes go nowhere
    @property
    def sum_metric(self):
        return self._calc_mcc(self.lcm) * self.num_inst

    @sum_metric.setter
    def sum_metric(self, value):
        pass

    @property
    def global_sum_metric(self):
        return self._calc_mcc(self.gcm) * self.global_num_inst

    @global_sum_metric.setter
    def global_sum_metric(self, value):
        pass

    def reset(self):
        self.global_num_inst = 0.
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self):
        self.num_inst = 0.
        self.lcm = numpy.zeros((self.k, self.k))


@register
class Perplexity(EvalMetric):
    """``exp(-mean(log p[label]))`` over all labelled positions; ``pred[..., label]`` is picked along ``axis``.

    Labels equal to ``ignore_label`` (pass None to keep all) do not count; probabilities are
    floored at 1e-10 before the log.
    """

    def __init__(self, ignore_label, axis=-1, name="perplexity", output_names=None, label_names=None):
        super().__init__(name, ignore_label=ignore_label, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds):
        labels, preds = _pairs(labels, preds)
        loss = 0.
        num = 0
        for label, pred in zip(labels, preds):
            label, pred = _asnumpy(label), _asnumpy(pred)
            if label.size != pred.size / pred.shape[-1]:
                raise ValueError(f"Perplexity: shape mismatch: {label.shape} vs. {pred.shape}; pass one label "
                                 "per distribution over the last axis of the predictions.")
            label = label.reshape((label.size,))
            probs = numpy.moveaxis(pred, self.axis, -1).reshape(-1, pred.shape[self.axis])
            index = numpy.clip(label.astype("int32"), 0, probs.shape[-1] - 1)
            picked = probs[numpy.arange(index.size), index]
            if self.ignore_label is not None:
                ignore = (label == self.ignore_label).astype(picked.dtype)
                num -= int(ignore.sum())
                picked = picked * (1 - ignore) + ignore
            loss -= float(numpy.log(numpy.maximum(picked.dtype.type(1e-10), picked)).sum())
            num += picked.size
        self._add(loss, num)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self):
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


@register
@alias("ce")
class CrossEntropy(EvalMetric):
    """Mean over samples of ``-log(p[label] + eps)``, ``p`` the predicted probabilities ``(N, C)``."""

    def __init__(self, eps=1e-12, name="cross-entropy", output_names=None, label_names=None):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            label, pred = _asnumpy(label).ravel(), _asnumpy(pred)
            if pred.ndim != 2 or pred.shape[0] != label.shape[0]:
                raise ValueError(f"CrossEntropy needs predictions shaped (batch, classes) with one label "
                                 f"per row: got {label.shape[0]} labels and predictions of shape {pred.shape}.")
            prob = pred[numpy.arange(label.shape[0]), numpy.int64(label)]
            self._add(float((-numpy.log(prob + self.eps)).sum()), label.shape[0])




@register
@alias("nll_loss")
class NegativeLogLikelihood(EvalMetric):
    """Mean over samples of ``-log(p[label] + eps)``; the name is ``nll-loss``."""

    def __init__(self, eps=1e-12, name="nll-loss", output_names=None, label_names=None):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels, preds):
        for label, pred in zip(*_pairs(labels, preds)):
            label, pred = _asnumpy(label).ravel(), _asnumpy(pred)
            num_examples = pred.shape[0]
            if label.shape[0] != num_examples:
                raise ValueError(f"NegativeLogLikelihood needs one label per prediction row: got "
                                 f"{label.shape[0]} labels and {num_examples} rows.")
            prob = pred[numpy.arange(num_examples, dtype=numpy.int64), numpy.int64(label)]
            self._add(float((-numpy.log(prob + self.eps)).sum()), num_examples)
