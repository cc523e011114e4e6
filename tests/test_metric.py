"""mx.metric: values on small examples worked out by hand, accumulation rules, create forms, errors."""
import json
import math
from collections import OrderedDict

import numpy as np
import pytest

import trainkit as mx
from trainkit import metric

nd = mx.nd.array
PREDS3 = [nd([[0.3, 0.7], [0, 1.], [0.4, 0.6]])]
LABELS3 = [nd([0, 1, 1])]


def test_nan_before_any_update():
    assert metric.create("acc").get()[0] == "accuracy"
    assert math.isnan(metric.create("acc").get()[1])
    name, value = metric.create("mse").get()
    assert name == "mse" and math.isnan(value)
    assert metric.Accuracy().num_inst == 0 and metric.Accuracy().sum_metric == 0.0


def test_accuracy_argmax_over_classes_and_accumulates():
    acc = metric.Accuracy()
    acc.update(LABELS3, PREDS3)                       # argmax -> [1, 1, 1] vs [0, 1, 1]
    assert acc.get() == ("accuracy", 2 / 3)
    acc.update([nd([1])], [nd([[0.9, 0.1]])])         # wrong
    assert (acc.sum_metric, acc.num_inst) == (2, 4)
    assert acc.get_name_value() == [("accuracy", 0.5)]
    acc.reset()
    assert math.isnan(acc.get()[1])


def test_accuracy_with_class_indices_float_labels_and_numpy():
    acc = metric.Accuracy()
    acc.update([np.array([0., 1., 2.])], [np.array([0., 2., 2.])])   # same shape: compared directly
    assert acc.get()[1] == pytest.approx(2 / 3)
    acc2 = metric.Accuracy()
    acc2.update(nd([[1], [0]]), nd([[0.2, 0.8], [0.7, 0.3]]))       # single arrays, (N, 1) labels
    assert acc2.get()[1] == 1.0


def test_accuracy_axis():
    acc = metric.Accuracy(axis=0)
    acc.update([nd([1, 0])], [nd([[0.1, 0.9], [0.8, 0.2]])])   # argmax over axis 0 -> [1, 0]
    assert acc.get()[1] == 1.0


def test_top_k_accuracy():
    preds = [nd([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1], [0.3, 0.1, 0.6]])]
    m = metric.create("top_k_accuracy", top_k=2)
    m.update([nd([2, 1, 1])], preds)     # top-2 sets {1,2}, {0,1}, {0,2}: the last misses label 1
    assert m.get() == ("top_k_accuracy_2", pytest.approx(2 / 3))
    m5 = metric.TopKAccuracy(top_k=5)    # more than the number of classes: everything is in
    m5.update([nd([2, 1, 1])], preds)
    assert m5.get()[1] == 1.0


def test_cross_entropy():
    ce = metric.create("ce")
    ce.update([nd([1, 0])], [nd([[0.2, 0.8], [0.6, 0.4]])])
    assert ce.get()[0] == "cross-entropy"
    assert ce.get()[1] == pytest.approx((-math.log(0.8) - math.log(0.6)) / 2, rel=1e-6)
    ce0 = metric.CrossEntropy(eps=0.5)
    ce0.update([nd([0])], [nd([[0.0, 1.0]])])
    assert ce0.get()[1] == pytest.approx(-math.log(0.5))


def test_regression_metrics_mxnet_docstring_values():
    preds = [nd(np.array([3, -0.5, 2, 7]).reshape(4, 1))]
    labels = [nd(np.array([2.5, 0.0, 2, 8]).reshape(4, 1))]
    expect = {"mse": 0.375, "rmse": math.sqrt(0.375), "mae": 0.5}
    for name, value in expect.items():
        m = metric.create(name)
        m.update(labels, preds)
        assert m.get() == (name, pytest.approx(value))


def test_regression_metrics_average_per_batch_means():
    # one instance per array pair: the result is the mean of the batch means, as in MXNet
    mse, rmse, mae = metric.MSE(), metric.RMSE(), metric.MAE()
    for m in (mse, rmse, mae):
        m.update([nd([2.5, 0.0, 2, 8])], [nd([3, -0.5, 2, 7])])    # 1-D arrays become columns
        m.update([nd([0., 0.])], [nd([2., 2.])])
    assert mse.num_inst == 2
    assert mse.get()[1] == pytest.approx((0.375 + 4) / 2)
    assert rmse.get()[1] == pytest.approx((math.sqrt(0.375) + 2) / 2)
    assert mae.get()[1] == pytest.approx((0.5 + 2) / 2)


def test_f1_macro_and_micro():
    # batch 1: predicted [1,1,1] vs [0,1,1]: tp 2 fp 1 fn 0 -> F1 0.8
    # batch 2: predicted [0,1] vs [1,1]: tp 1 fp 0 fn 1 -> F1 2/3
    b2 = ([nd([1, 1])], [nd([[0.9, 0.1], [0.2, 0.8]])])
    macro = metric.F1()
    macro.update(LABELS3, PREDS3)
    assert macro.get() == ("f1", pytest.approx(0.8))
    macro.update(*b2)
    assert macro.get()[1] == pytest.approx((0.8 + 2 / 3) / 2)
    micro = metric.F1(average="micro")
    micro.update(LABELS3, PREDS3)
    micro.update(*b2)
    # pooled: tp 3 fp 1 fn 1 -> precision 3/4 recall 3/4
    assert micro.get()[1] == pytest.approx(0.75)
    assert micro.num_inst == 5


def test_f1_no_positive_is_zero():
    f1 = metric.F1()
    f1.update([nd([0, 0])], [nd([[0.9, 0.1], [0.8, 0.2]])])
    assert f1.get()[1] == 0.0


def test_composite_and_create_list():
    comp = metric.CompositeEvalMetric()
    for child in [metric.Accuracy(), metric.F1()]:
        comp.add(child)
    comp.update(labels=LABELS3, preds=PREDS3)
    names, values = comp.get()
    assert names == ["accuracy", "f1"] and values == pytest.approx([2 / 3, 0.8])
    assert comp.get_name_value() == [("accuracy", pytest.approx(2 / 3)), ("f1", pytest.approx(0.8))]
    assert comp.get_metric(1).name == "f1"
    with pytest.raises(IndexError, match="out of range"):
        comp.get_metric(2)
    made = metric.create(["acc", "mse"])
    assert isinstance(made, metric.CompositeEvalMetric)
    assert made.get()[0] == ["accuracy", "mse"]
    comp.reset()
    assert all(math.isnan(v) for v in comp.get()[1])


def test_create_forms():
    acc = metric.Accuracy()
    assert metric.create(acc) is acc
    assert type(metric.create("ACCURACY")) is metric.Accuracy
    assert type(metric.create(metric.MSE)) is metric.MSE
    assert metric.create("composite").name == "composite"
    rebuilt = metric.create(metric.CrossEntropy(eps=1e-3).get_config())
    assert type(rebuilt) is metric.CrossEntropy and rebuilt.eps == 1e-3
    from_json = metric.create(json.dumps(["acc", {"axis": 0}]))
    assert type(from_json) is metric.Accuracy and from_json.axis == 0
    assert mx.metric.Accuracy is metric.Accuracy


def test_custom_metric_from_function_and_np():
    def mean_abs(label, pred):
        return np.abs(label - pred).mean()
    m = metric.create(mean_abs)
    assert isinstance(m, metric.CustomMetric) and m.name == "mean_abs"
    m.update([nd([1., 2.])], [nd([2., 4.])])
    assert m.get() == ("mean_abs", pytest.approx(1.5))
    lam = metric.create(lambda label, pred: (float((label == pred).sum()), label.size))
    assert lam.name == "custom(<lambda>)"
    lam.update([nd([1, 2, 3])], [nd([1, 0, 3])])
    assert (lam.sum_metric, lam.num_inst) == (2.0, 3)
    wrapped = metric.np(mean_abs, name="mabs")
    wrapped.update([nd([0.])], [nd([3.])])
    assert wrapped.get() == ("mabs", 3.0)


def test_loss_metric():
    m = metric.create("loss")
    m.update(None, [nd([1., 2., 3.])])
    assert m.get() == ("loss", 2.0)


def test_update_dict_and_names():
    m = metric.Accuracy(output_names=["out"], label_names=["lab"])
    m.update_dict(OrderedDict(lab=LABELS3[0], other=nd([0, 0, 0])),
                  OrderedDict(out=PREDS3[0], aux=nd([[1., 0]] * 3)))
    assert m.get()[1] == pytest.approx(2 / 3)


def test_global_stats_survive_reset_local():
    m = metric.Accuracy()
    m.update(LABELS3, PREDS3)
    m.reset_local()
    m.update([nd([0])], [nd([[0.9, 0.1]])])
    assert m.get()[1] == 1.0
    assert m.get_global() == ("accuracy", pytest.approx(3 / 4))
    assert str(m) == "EvalMetric: {'accuracy': 1.0}"


def test_errors():
    with pytest.raises(ValueError, match="Shape of labels 2 does not match shape of predictions 1"):
        metric.Accuracy().update([nd([0]), nd([1])], [nd([[0.1, 0.9]])])
    with pytest.raises(ValueError, match="Shape of labels 3 does not match shape of predictions 2"):
        metric.Accuracy().update([nd([0, 1, 1])], [nd([[0.1, 0.9], [0.2, 0.8]])])
    with pytest.raises(ValueError, match=r"Unknown metric 'acuracy'.*accuracy"):
        metric.create("acuracy")
    with pytest.raises(ValueError, match="use Accuracy if top_k is no more than 1"):
        metric.create("top_k_acc")
    with pytest.raises(ValueError, match="only supports binary"):
        metric.F1().update([nd([0, 1, 2])], [nd([[1., 0]] * 3)])
    with pytest.raises(ValueError, match=r"Shape of labels \(3, 1\) does not broadcast with shape of predictions "
                                         r"\(2, 2\)"):
        metric.MSE().update([nd([1., 2., 3.])], [nd([[1., 2.]] * 2)])
    with pytest.raises(ValueError, match="one label per row"):
        metric.CrossEntropy().update([nd([0, 1])], [nd([[0.5, 0.5]])])
    with pytest.raises(TypeError, match="metric name"):
        metric.create(3)
    with pytest.raises(ValueError, match="already configured"):
        metric.create(metric.Accuracy(), axis=0)


# ----- MCC, PCC, Perplexity, NLL, Pearson, Torch/Caffe; global values; broadcasting -----------------
def test_mcc_by_hand_and_micro():
    labels = [nd([0., 0., 1., 1., 1.])]
    preds = [nd([[.7, .3], [.3, .7], [.3, .7], [.3, .7], [.7, .3]])]   # TP=2 FP=1 FN=1 TN=1
    m = metric.create("mcc")
    m.update(labels, preds)
    assert m.get() == ("mcc", (2 * 1 - 1 * 1) / math.sqrt(3 * 3 * 2 * 2))
    micro = metric.MCC(average="micro")
    micro.update(labels, preds)
    micro.update(labels, preds)                                         # pooled: TP=4 FP=2 FN=2 TN=2
    assert micro.get()[1] == pytest.approx((4 * 2 - 2 * 2) / math.sqrt(6 * 6 * 4 * 4))


def test_f1_global_is_the_mean_of_batch_scores_after_reset_local():
    a = ([nd([0., 1., 1.])], [nd([[.3, .7], [0., 1.], [.4, .6]])])     # F1 0.8
    b = ([nd([1., 1., 0.])], [nd([[.3, .7], [.8, .2], [.4, .6]])])     # F1 0.5
    f1 = metric.F1()
    f1.update(*a)
    f1.reset_local()
    f1.update(*b)
    assert f1.get()[1] == pytest.approx(0.5) and f1.get_global()[1] == pytest.approx(0.65)


def test_pcc_matches_mcc_for_two_classes():
    labels = [nd([0., 0., 1., 1., 1.])]
    preds = [nd([[.7, .3], [.3, .7], [.3, .7], [.3, .7], [.7, .3]])]
    pcc, mcc = metric.create("pcc"), metric.create("mcc")
    pcc.update(labels, preds)
    mcc.update(labels, preds)
    assert pcc.get()[1] == pytest.approx(mcc.get()[1])
    pcc.update([nd([0., 2.])], [nd([[1., 0, 0], [0, 0, 1.]])])          # a third class grows the matrix
    assert pcc.k == 3


def test_perplexity_with_ignore_label_and_axis():
    pred = np.array([[0.3, 0.7], [0., 1.], [0.4, 0.6]], np.float32)
    m = metric.Perplexity(ignore_label=None)
    m.update([nd([0, 1, 1])], [nd(pred)])
    assert m.get() == ("perplexity", pytest.approx(math.exp(-(math.log(0.3) + math.log(1.0) + math.log(0.6)) / 3)))
    m = metric.Perplexity(ignore_label=1)
    m.update([nd([0, 1, 1])], [nd(pred)])
    assert m.get()[1] == pytest.approx(1 / 0.3)
    with pytest.raises(ValueError, match=r"shape mismatch: \(2,\) vs. \(3, 2\)"):
        m.update([nd([0, 1])], [nd(pred)])


def test_nll_loss_and_pearsonr():
    m = metric.create("nll_loss")
    m.update([nd([2, 1])], [nd([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])])
    assert m.get() == ("nll-loss", pytest.approx(-(math.log(0.5) + math.log(0.1)) / 2))
    pred, label = np.array([[0.3, 0.7], [0, 1.], [0.4, 0.6]]), np.array([[1, 0], [0, 1], [0, 1.]])
    p = metric.create("pearsonr")
    p.update([nd(label)], [nd(pred)])
    assert p.get() == ("pearsonr", pytest.approx(np.corrcoef(pred.ravel(), label.ravel())[0, 1]))
    micro = metric.PearsonCorrelation(average="micro")
    micro.update([nd(label[:2])], [nd(pred[:2])])
    micro.update([nd(label[2:])], [nd(pred[2:])])
    assert micro.get()[1] == pytest.approx(np.corrcoef(pred.ravel(), label.ravel())[0, 1])


def test_torch_and_caffe_are_loss_metrics():
    for name in ("torch", "caffe"):
        m = metric.create(name)
        m.update(None, [nd([1., 2., 3.])])
        assert m.get() == (name, 2.0)


def test_regression_label_n_broadcasts_against_pred_n_by_1():
    m = metric.MSE()
    m.update([nd([1., 2., 3.])], [nd([[1.], [2.], [5.]])])
    assert m.get() == ("mse", pytest.approx(4 / 3))
    m = metric.MAE()
    m.update([nd([[1., 2.]])], [nd([[1.], [3.]])])                      # (1, 2) against (2, 1): MXNet broadcasts
    assert m.get()[1] == pytest.approx(np.abs(np.array([[1., 2.]]) - np.array([[1.], [3.]])).mean())
