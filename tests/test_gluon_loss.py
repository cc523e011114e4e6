"""Every gluon.loss against MXNet 1.9.1's values, its formula in numpy, and finite-difference gradients."""
import os

import numpy as np
import pytest

import trainkit as mx
from trainkit import autograd
from trainkit.gluon import loss as L

from gradcheck import check_grads

F = np.load(os.path.join(os.path.dirname(__file__), "data", "gluon", "losses.npz"))
nd = mx.nd.array


def _log_softmax(x):
    m = x - x.max(-1, keepdims=True)
    return m - np.log(np.exp(m).sum(-1, keepdims=True))


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


pred, target, prob, binary, signed = F["pred"], F["target"], F["prob"], F["binary"], F["signed"]
sparse, sw, dist, counts, pos, neg, cos_label = (F[k] for k in ("sparse", "sw", "dist", "counts", "pos", "neg",
                                                                 "cos_label"))


def _cos(a, b):
    return ((a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12))[:, None]


# name: (trainkit call, numpy formula)
CASES = {
    "l2": (lambda: L.L2Loss()(nd(pred), nd(target), nd(sw)), lambda: (0.5 * (target - pred) ** 2 * sw).mean(1)),
    "l2_w": (lambda: L.L2Loss(weight=3.0)(nd(pred), nd(target)), lambda: (1.5 * (target - pred) ** 2).mean(1)),
    "l1": (lambda: L.L1Loss()(nd(pred), nd(target), nd(sw)), lambda: (np.abs(target - pred) * sw).mean(1)),
    "sbce": (lambda: L.SigmoidBinaryCrossEntropyLoss()(nd(pred), nd(binary), nd(sw)),
             lambda: ((_softplus(pred) - pred * binary) * sw).mean(1)),
    "sbce_pos": (lambda: L.SigmoidBinaryCrossEntropyLoss()(nd(pred), nd(binary), None, nd(np.full((1, 3), 2.0))),
                 lambda: (-(2 * binary * np.log(1 / (1 + np.exp(-pred)))
                            + (1 - binary) * np.log(1 - 1 / (1 + np.exp(-pred))))).mean(1)),
    "sbce_sig": (lambda: L.SigmoidBinaryCrossEntropyLoss(from_sigmoid=True)(nd(prob), nd(binary)),
                 lambda: (-(binary * np.log(prob) + (1 - binary) * np.log(1 - prob))).mean(1)),
    "sce": (lambda: L.SoftmaxCrossEntropyLoss()(nd(pred), nd(sparse), nd(sw)),
            lambda: -_log_softmax(pred)[np.arange(4), sparse.astype(int)] * sw[:, 0]),
    "sce_dense": (lambda: L.SoftmaxCrossEntropyLoss(sparse_label=False)(nd(pred), nd(dist)),
                  lambda: -(_log_softmax(pred) * dist).sum(1)),
    "sce_logits": (lambda: L.SoftmaxCrossEntropyLoss(from_logits=True)(nd(_log_softmax(pred)), nd(sparse)),
                   lambda: -_log_softmax(pred)[np.arange(4), sparse.astype(int)]),
    "kl": (lambda: L.KLDivLoss()(nd(_log_softmax(pred)), nd(dist)),
           lambda: (dist * (np.log(dist + 1e-12) - _log_softmax(pred))).sum(1)),
    "kl_nologits": (lambda: L.KLDivLoss(from_logits=False)(nd(pred), nd(dist)),
                    lambda: (dist * (np.log(dist + 1e-12) - _log_softmax(pred))).sum(1)),
    "huber": (lambda: L.HuberLoss(rho=0.7)(nd(pred), nd(target), nd(sw)),
              lambda: (np.where(np.abs(target - pred) > 0.7, np.abs(target - pred) - 0.35,
                                (target - pred) ** 2 / 1.4) * sw).mean(1)),
    "hinge": (lambda: L.HingeLoss()(nd(pred), nd(signed)), lambda: np.maximum(0, 1 - pred * signed).mean(1)),
    "sqhinge": (lambda: L.SquaredHingeLoss(margin=1.5)(nd(pred), nd(signed)),
                lambda: (np.maximum(0, 1.5 - pred * signed) ** 2).mean(1)),
    "logistic": (lambda: L.LogisticLoss()(nd(pred), nd(signed)), lambda: np.log1p(np.exp(-pred * signed)).mean(1)),
    "logistic_bin": (lambda: L.LogisticLoss(label_format="binary")(nd(pred), nd(binary)),
                     lambda: np.log1p(np.exp(-pred * (2 * binary - 1))).mean(1)),
    "triplet": (lambda: L.TripletLoss(margin=0.5)(nd(pred), nd(pos), nd(neg)),
                lambda: np.maximum(0, ((pos - pred) ** 2 - (neg - pred) ** 2).sum(1) + 0.5)),
    "poisson": (lambda: L.PoissonNLLLoss()(nd(pred), nd(counts)),
                lambda: np.array([(np.exp(pred) - counts * pred).mean()])),
    # Stirling's term is NaN for a zero count (0 * log 0), in MXNet too: counts + 1 avoids zeros
    "poisson_full": (lambda: L.PoissonNLLLoss(from_logits=False, compute_full=True)(nd(prob * 3), nd(counts + 1)),
                     lambda: np.array([(prob * 3 - (counts + 1) * np.log(prob * 3 + 1e-8)
                                        + np.where(counts + 1 > 1, (counts + 1) * np.log(counts + 1) - (counts + 1)
                                                   + 0.5 * np.log(2 * np.pi * (counts + 1)), 0)).mean()])),
    "cosine": (lambda: L.CosineEmbeddingLoss(margin=0.2)(nd(pred), nd(target), nd(cos_label)),
               lambda: np.where(cos_label[:, None] == 1, 1 - _cos(pred, target),
                                np.maximum(0, _cos(pred, target) - 0.2))),
    "l2_axis1": (lambda: L.L2Loss(batch_axis=1)(nd(pred), nd(target)), lambda: (0.5 * (target - pred) ** 2).mean(0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_mxnet_and_formula(name):
    ours, formula = CASES[name]
    got = ours().asnumpy()
    np.testing.assert_allclose(got, F["out/" + name], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, formula(), rtol=1e-4, atol=1e-5)


# loss, the arguments it is differentiated in, the constant arguments
GRADS = {
    "l2": (L.L2Loss(), [pred, target], [sw]),
    "l1": (L.L1Loss(), [pred], [target]),
    "sbce": (L.SigmoidBinaryCrossEntropyLoss(), [pred], [binary, sw]),
    "sbce_sig": (L.SigmoidBinaryCrossEntropyLoss(from_sigmoid=True), [prob], [binary]),
    "sce": (L.SoftmaxCrossEntropyLoss(), [pred], [sparse]),
    "sce_dense": (L.SoftmaxCrossEntropyLoss(sparse_label=False), [pred, dist], []),
    "kl": (L.KLDivLoss(from_logits=False), [pred], [dist]),
    "huber": (L.HuberLoss(rho=0.7), [pred], [target]),
    "hinge": (L.HingeLoss(), [pred], [signed]),
    "sqhinge": (L.SquaredHingeLoss(margin=1.5), [pred], [signed]),
    "logistic": (L.LogisticLoss(), [pred], [signed]),
    "triplet": (L.TripletLoss(margin=0.5), [pred, pos, neg], []),
    "poisson": (L.PoissonNLLLoss(), [pred], [counts]),
    "cosine": (L.CosineEmbeddingLoss(margin=0.2), [pred, target], [cos_label]),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_loss_gradients_first_and_second_order(name):
    loss, diff, const = GRADS[name]
    consts = [mx.nd.array(c, dtype=np.float64) for c in const]
    check_grads(lambda *xs: loss(*xs, *consts), *[a.astype(np.float64) for a in diff], order=2,
                rtol=1e-4, atol=1e-6)


def test_loss_reprs_weight_check_and_label_format():
    assert repr(L.SoftmaxCrossEntropyLoss()) == "SoftmaxCrossEntropyLoss(batch_axis=0, w=None)"
    assert L.SoftmaxCELoss is L.SoftmaxCrossEntropyLoss and L.SigmoidBCELoss is L.SigmoidBinaryCrossEntropyLoss
    with pytest.raises(ValueError, match="label_format can only be signed or binary"):
        L.LogisticLoss(label_format="onehot")
    with pytest.raises(AssertionError, match="weight must be a number"):
        L.L1Loss(weight="2")(nd(pred), nd(target))


def test_hybridized_loss_gives_the_same_values_and_gradients():
    x = nd(pred)
    x.attach_grad()
    results = []
    for hybrid in (False, True, True):
        loss = L.SoftmaxCrossEntropyLoss()
        loss.hybridize(hybrid)
        with autograd.record():
            out = loss(x, nd(sparse))
        out.backward()
        results.append((out.asnumpy(), x.grad.asnumpy().copy()))
    for out, grad in results[1:]:
        np.testing.assert_allclose(out, results[0][0], rtol=1e-6)
        np.testing.assert_allclose(grad, results[0][1], rtol=1e-6)


def test_sdml_loss_and_column_labels():
    x1 = np.random.RandomState(2).uniform(-1, 1, (4, 3)).astype(np.float32)
    x2 = x1 + 0.05
    got = L.SDMLLoss()(nd(x1), nd(x2)).asnumpy()
    dist = ((x1[:, None, :] - x2[None, :, :]) ** 2).sum(-1)
    labels = np.where(np.eye(4) == 1, 0.7, 0.3 / 3)
    want = (labels * (np.log(labels + 1e-12) - _log_softmax(-dist))).sum(1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    column = L.SoftmaxCrossEntropyLoss()(nd(pred), nd(sparse.reshape(4, 1))).asnumpy()
    np.testing.assert_allclose(column, CASES["sce_logits"][1](), rtol=1e-5)
