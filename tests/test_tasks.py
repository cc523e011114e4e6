"""trainkit.tasks: losses against their formulas and numerical gradients, the task metrics against
hand computations, predictions, label checks, and the Trainer on each task."""
import numpy as np
import pytest

import trainkit as mx
from trainkit import nd
from trainkit.tasks import get_task
from trainkit.trainer import Trainer, TrainerError


def _value_and_grad(loss, out, y):
    x = nd.array(out)
    x.attach_grad()
    with mx.autograd.record():
        v = loss(x, nd.array(y))
    v.backward()
    return v, x.grad.asnumpy()


def _numeric_grad(loss, out, y, eps=1e-3):
    g = np.zeros_like(out, dtype=np.float64)
    for i in np.ndindex(out.shape):
        hi, lo = out.copy(), out.copy()
        hi[i] += eps
        lo[i] -= eps
        g[i] = (float(loss(nd.array(hi), nd.array(y)).asnumpy()[0]) -
                float(loss(nd.array(lo), nd.array(y)).asnumpy()[0])) / (2 * eps)
    return g


BCE = lambda x, y: np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x))))


@pytest.mark.parametrize("task,name,kw,out,y,formula", [
    ("binary", None, {}, np.array([[2.0], [-1.0], [0.5]], np.float32), np.array([1.0, 0.0, 0.0], np.float32),
     lambda o, y: BCE(o[:, 0], y)),
    ("regression", "l2", {}, np.array([[1.0], [2.0], [4.0]], np.float32), np.array([1.5, 2.0, 1.0], np.float32),
     lambda o, y: np.mean((o[:, 0] - y) ** 2)),
    ("regression", "l1", {}, np.array([[1.0], [2.5], [4.0]], np.float32), np.array([1.5, 2.0, 1.0], np.float32),
     lambda o, y: np.mean(np.abs(o[:, 0] - y))),
    ("regression", "huber", {"rho": 1.0}, np.array([[1.0], [2.3], [4.0]], np.float32),
     np.array([1.5, 2.0, 1.0], np.float32),
     lambda o, y: np.mean(np.where(np.abs(o[:, 0] - y) > 1, np.abs(o[:, 0] - y) - 0.5, 0.5 * (o[:, 0] - y) ** 2))),
    ("classification", None, {}, np.array([[1.0, 2.0, 0.1], [0.3, -1.0, 2.0]], np.float32), np.array([1, 2.0], np.float32),
     lambda o, y: np.mean(-np.log(np.exp(o[np.arange(2), y.astype(int)]) / np.exp(o).sum(1)))),
])
def test_losses_match_their_formula_and_numerical_gradient(task, name, kw, out, y, formula):
    loss = get_task(task).loss(name, **kw)
    assert isinstance(loss.loss_name, str) and loss.task == task
    v, g = _value_and_grad(loss, out, y)
    assert v.shape == (1,)
    assert float(v.asnumpy()[0]) == pytest.approx(formula(out.astype(np.float64), y.astype(np.float64)), rel=1e-5)
    np.testing.assert_allclose(g, _numeric_grad(loss, out, y), rtol=2e-2, atol=1e-3)


def test_bce_is_finite_for_huge_logits():
    loss = get_task("binary").loss()
    v, g = _value_and_grad(loss, np.array([[500.0], [-500.0]], np.float32), np.array([0.0, 1.0], np.float32))
    assert float(v.asnumpy()[0]) == pytest.approx(500.0) and np.all(np.isfinite(g))


def test_loss_errors_name_the_fix():
    with pytest.raises(ValueError, match=r"'softmax_cross_entropy' is a classification loss; task=regression takes "
                                         r"loss=l2 \| l1 \| huber"):
        get_task("regression").loss("softmax_cross_entropy")
    with pytest.raises(ValueError, match="loss l2 takes no parameters; got rho"):
        get_task("regression").loss("l2", rho=1.0)
    with pytest.raises(ValueError, match="rho > 0"):
        get_task("regression").loss("huber", rho=0)
    with pytest.raises(ValueError, match="unknown task 'ranking'; choose one of classification, binary, regression"):
        get_task("ranking")


def test_auc_with_ties_by_hand():
    # positives score 0.8, 0.5, 0.5; negatives 0.5, 0.2: pairs (p > n) = 2 + (1 + 0.5) + (1 + 0.5) = 5 of 6
    m = mx.metric.AUC()
    m.update([np.array([1, 1])], [np.array([0.8, 0.5])])
    m.update([np.array([1, 0, 0])], [np.array([0.5, 0.5, 0.2])])
    assert m.get() == ("auc", pytest.approx(5 / 6))
    assert mx.metric.roc_auc([0, 1], [0.3, 0.3]) == 0.5 and np.isnan(mx.metric.roc_auc([1, 1], [0.1, 0.2]))


def test_r2_f1_and_pooled_regression_by_hand():
    y, p = np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])
    r2 = mx.metric.R2()
    r2.update([y[:3]], [p[:3]])   # pooled over updates: the same as one update with everything
    r2.update([y[3:]], [p[3:]])
    sst = ((y - y.mean()) ** 2).sum()
    assert r2.get()[1] == pytest.approx(1 - 1.5 / sst)
    rmse, mse = mx.metric.PooledRMSE(), mx.metric.PooledMSE()
    for m in (rmse, mse):
        m.update([y[:3]], [p[:3]])
        m.update([y[3:]], [p[3:]])
    assert mse.get() == ("mse", pytest.approx(1.5 / 4)) and rmse.get() == ("rmse", pytest.approx(np.sqrt(1.5 / 4)))
    f1 = mx.metric.MacroF1()   # class 0: 2tp/(3+2)=0.8; classes 1 and 2: 0
    f1.update([np.array([0, 1, 2, 0, 1, 2])], [np.eye(3)[[0, 2, 1, 0, 0, 1]]])
    assert f1.get() == ("f1", pytest.approx(0.8 / 3))
    bf1 = mx.metric.BinaryF1()  # logits > 0 are class 1: tp=1, predicted 2, labelled 2 -> 0.5
    bf1.update([np.array([1, 1, 0, 0])], [np.array([[2.0], [-1.0], [0.5], [-3.0]])])
    assert bf1.get() == ("f1", 0.5)


def test_predict_columns_and_label_checks():
    out = np.array([[0.0, np.log(3.0)]], np.float32)
    cols = get_task("classification").predict(out)
    assert list(cols) == ["class", "prob_0", "prob_1"] and cols["class"][0] == 1
    assert cols["prob_1"][0] == pytest.approx(0.75)
    assert get_task("binary").predict(np.array([[0.0], [-2.0]]))["prob"].tolist() == pytest.approx(
        [0.5, 1 / (1 + np.exp(2))])
    assert list(get_task("regression").predict(np.zeros((2, 2)))) == ["value_0", "value_1"]
    with pytest.raises(TrainerError, match="task=binary needs labels 0 and 1, but found 2"):
        get_task("binary").check_labels(np.array([0, 1, 2]), "train_data", TrainerError)
    assert get_task("regression").check_labels(np.array([1, 2]), "y").dtype == np.float32


def _linear(units):
    return mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=units, name="fc1")


def test_trainer_regression_and_binary_predict_and_errors():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
    tr = Trainer(_linear(1), task="regression", train_data=(X[:150], y[:150]), val_data=(X[150:], y[150:]),
                 epochs=30, optimizer_params={"learning_rate": 0.05}, seed=0)
    h = tr.fit()
    assert {"train_mse", "train_r2", "val_rmse", "val_mae"} <= set(h[-1]) and h[-1]["val_r2"] > 0.99
    assert h[-1]["val_loss"] == pytest.approx(h[-1]["val_mse"], rel=1e-5) and tr.best["monitor"] == "val_rmse"
    np.testing.assert_allclose(tr.predict(X[150:]).asnumpy(), tr.predict_logits(X[150:]).asnumpy())
    yb = (y > 3).astype(np.int64)
    tb = Trainer(_linear(1), task="binary", train_data=(X, yb), epochs=5, metrics=["accuracy", "auc", "f1"])
    h = tb.fit()
    assert {"train_accuracy", "train_auc", "train_f1"} <= set(h[-1]) and tb.best["monitor"] == "train_auc"
    logits = tb.predict_logits(X).asnumpy()
    np.testing.assert_allclose(tb.predict(X).asnumpy(), 1 / (1 + np.exp(-logits)), rtol=1e-5)
    with pytest.raises(TrainerError, match="task=binary needs labels 0 and 1"):
        Trainer(_linear(1), task="binary", train_data=(X, yb + 1))
    with pytest.raises(ValueError, match="belongs to task=classification"):
        Trainer(_linear(1), task="regression", loss=get_task("classification").loss(), train_data=(X, y))
