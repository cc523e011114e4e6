"""Writes the Gluon fixtures with real MXNet 1.9.1 (not trainkit): run it with MXNet's interpreter.

    ~/.cache/tk-anchors/mxvenv/bin/python tests/data/gluon/make_fixtures.py

Files (next to this script):
  net.params            save_parameters of a trained Dense/BatchNorm/Dense net (structural names: 0.weight)
  net_prefixed.params   collect_params().save of the same net (full names: hybridsequential0_dense0_weight)
  net-symbol.json, net-0000.params   export() of it (arg:/aux: names)
  net_io.npz            its input and MXNet's predict-mode output, and the running statistics
  init_draws.npz        weights after mx.random.seed(s); net.initialize(init) for several initializers
  trainer_steps.npz     weights after three Trainer steps with sgd+momentum and adam, and the data used
  losses.npz            every loss on fixed inputs (with sample_weight where it applies)
"""
import os

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon
from mxnet.gluon import nn

HERE = os.path.dirname(os.path.abspath(__file__))


def out(name):
    return os.path.join(HERE, name)


def make_net():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(8, activation="relu", in_units=5), nn.BatchNorm(in_channels=8), nn.Dense(3, in_units=8))
    return net


def net_files():
    mx.random.seed(7)
    net = make_net()
    net.initialize(mx.init.Xavier())
    rng = np.random.RandomState(0)
    x = mx.nd.array(rng.uniform(-1, 1, (6, 5)))
    label = mx.nd.array(rng.randint(0, 3, (6,)))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for _ in range(3):
        with autograd.record():
            loss = loss_fn(net(x), label)
        loss.backward()
        trainer.step(6)
    net.save_parameters(out("net.params"))
    net.collect_params().save(out("net_prefixed.params"))
    net.hybridize()
    y = net(x)
    net.export(out("net"), epoch=0)
    np.savez(out("net_io.npz"), x=x.asnumpy(), y=y.asnumpy(),
             running_mean=net[1].running_mean.data().asnumpy(), running_var=net[1].running_var.data().asnumpy())


def init_draws():
    inits = {
        "uniform": mx.init.Uniform(0.3), "normal": mx.init.Normal(0.5), "xavier": mx.init.Xavier(),
        "xavier_gauss": mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2),
        "msraprelu": mx.init.MSRAPrelu(), "orthogonal": mx.init.Orthogonal(), "constant": mx.init.Constant(0.3),
        "one": mx.init.One(), "zero": mx.init.Zero(),
    }
    arrays = {}
    for key, init in inits.items():
        mx.random.seed(11)
        with mx.name.NameManager():
            net = nn.HybridSequential(prefix="net_")
            with net.name_scope():
                net.add(nn.Dense(4, in_units=3), nn.Dense(5, in_units=4, bias_initializer="ones"))
        net.initialize(init)
        for name, p in net.collect_params().items():
            arrays[f"{key}/{name}"] = p.data().asnumpy()
    np.savez(out("init_draws.npz"), **arrays)


def trainer_steps():
    arrays = {}
    rng = np.random.RandomState(3)
    x = rng.uniform(-1, 1, (4, 3)).astype(np.float32)
    y = rng.uniform(-1, 1, (4, 2)).astype(np.float32)
    arrays["x"], arrays["y"] = x, y
    for key, (opt, params) in {"sgd": ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01}),
                               "adam": ("adam", {"learning_rate": 0.05})}.items():
        mx.random.seed(5)
        net = nn.Dense(2, in_units=3, prefix="fc_")
        net.initialize(mx.init.Uniform(0.5))
        net.bias.lr_mult = 0.5
        arrays[f"{key}/init_weight"] = net.weight.data().asnumpy()
        arrays[f"{key}/init_bias"] = net.bias.data().asnumpy()
        trainer = gluon.Trainer(net.collect_params(), opt, params)
        for _ in range(3):
            with autograd.record():
                loss = gluon.loss.L2Loss()(net(mx.nd.array(x)), mx.nd.array(y))
            loss.backward()
            trainer.step(4)
        arrays[f"{key}/weight"] = net.weight.data().asnumpy()
        arrays[f"{key}/bias"] = net.bias.data().asnumpy()
    np.savez(out("trainer_steps.npz"), **arrays)


def losses():
    rng = np.random.RandomState(1)
    pred = rng.uniform(-2, 2, (4, 3)).astype(np.float32)
    target = rng.uniform(-2, 2, (4, 3)).astype(np.float32)
    prob = rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32)
    binary = rng.randint(0, 2, (4, 3)).astype(np.float32)
    signed = binary * 2 - 1
    sparse = rng.randint(0, 3, (4,)).astype(np.float32)
    sw = rng.uniform(0.5, 1.5, (4, 1)).astype(np.float32)
    dist = rng.dirichlet(np.ones(3), 4).astype(np.float32)
    counts = rng.randint(0, 5, (4, 3)).astype(np.float32)
    pos = rng.uniform(-2, 2, (4, 3)).astype(np.float32)
    neg = rng.uniform(-2, 2, (4, 3)).astype(np.float32)
    cos_label = np.array([1, -1, 1, -1], np.float32)
    nd = mx.nd.array
    L = gluon.loss
    res = dict(pred=pred, target=target, prob=prob, binary=binary, signed=signed, sparse=sparse, sw=sw, dist=dist,
               counts=counts, pos=pos, neg=neg, cos_label=cos_label)
    cases = {
        "l2": L.L2Loss()(nd(pred), nd(target), nd(sw)),
        "l2_w": L.L2Loss(weight=3.0)(nd(pred), nd(target)),
        "l1": L.L1Loss()(nd(pred), nd(target), nd(sw)),
        "sbce": L.SigmoidBinaryCrossEntropyLoss()(nd(pred), nd(binary), nd(sw)),
        "sbce_pos": L.SigmoidBinaryCrossEntropyLoss()(nd(pred), nd(binary), None, nd(np.full((1, 3), 2.0))),
        "sbce_sig": L.SigmoidBinaryCrossEntropyLoss(from_sigmoid=True)(nd(prob), nd(binary)),
        "sce": L.SoftmaxCrossEntropyLoss()(nd(pred), nd(sparse), nd(sw)),
        "sce_dense": L.SoftmaxCrossEntropyLoss(sparse_label=False)(nd(pred), nd(dist)),
        "sce_logits": L.SoftmaxCrossEntropyLoss(from_logits=True)(mx.nd.log_softmax(nd(pred)), nd(sparse)),
        "kl": L.KLDivLoss()(mx.nd.log_softmax(nd(pred)), nd(dist)),
        "kl_nologits": L.KLDivLoss(from_logits=False)(nd(pred), nd(dist)),
        "huber": L.HuberLoss(rho=0.7)(nd(pred), nd(target), nd(sw)),
        "hinge": L.HingeLoss()(nd(pred), nd(signed)),
        "sqhinge": L.SquaredHingeLoss(margin=1.5)(nd(pred), nd(signed)),
        "logistic": L.LogisticLoss()(nd(pred), nd(signed)),
        "logistic_bin": L.LogisticLoss(label_format="binary")(nd(pred), nd(binary)),
        "triplet": L.TripletLoss(margin=0.5)(nd(pred), nd(pos), nd(neg)),
        "poisson": L.PoissonNLLLoss()(nd(pred), nd(counts)),
        "poisson_full": L.PoissonNLLLoss(from_logits=False, compute_full=True)(nd(prob * 3), nd(counts + 1)),
        "cosine": L.CosineEmbeddingLoss(margin=0.2)(nd(pred), nd(target), nd(cos_label)),
        "l2_axis1": L.L2Loss(batch_axis=1)(nd(pred), nd(target)),
    }
    for k, v in cases.items():
        res["out/" + k] = v.asnumpy()
    np.savez(out("losses.npz"), **res)


if __name__ == "__main__":
    net_files()
    init_draws()
    trainer_steps()
    losses()
    print("wrote", sorted(os.listdir(HERE)))
