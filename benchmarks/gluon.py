"""Gluon benchmark: one Dense-MLP training step, imperative and hybridized, against nd and numpy.

Run ``python benchmarks/gluon.py`` (``--quick`` for fewer rounds). Same method as
``engine.py``: one BLAS thread, a warm-up, the variants interleaved over rounds,
medians. Each variant does one step: forward, softmax cross-entropy, backward
and an SGD update. "nd same step" is the Gluon step written with ``mx.nd``
directly (per-sample loss, ``mx.optimizer`` update as ``Trainer.step`` applies it);
"nd (engine.py)" is engine.py's leaner step (scalar loss, ``w -= lr * grad``). The
issue's target: hybridized no slower than the nd version of the same step.
"""
import os
import sys

if __name__ == "__main__":
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trainkit as mx  # noqa: E402
from trainkit import autograd, gluon, nd  # noqa: E402
from engine import compare, make_mlp, numpy_step_factory, trainkit_step_factory  # noqa: E402


def gluon_step_factory(weights, x, y, hybridize, lr=0.01):
    n_layers = len(weights) // 2
    net = gluon.nn.HybridSequential()
    for i in range(n_layers):
        w = weights[2 * i]
        net.add(gluon.nn.Dense(w.shape[0], in_units=w.shape[1], activation="relu" if i < n_layers - 1 else None))
    net.initialize()
    for i, layer in enumerate(net):
        layer.weight.set_data(nd.array(weights[2 * i]))
        layer.bias.set_data(nd.array(weights[2 * i + 1]))
    if hybridize:
        net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    xs, ys = nd.array(x), nd.array(y)

    def step():
        with autograd.record():
            loss = loss_fn(net(xs), ys)
        loss.backward()
        trainer.step(x.shape[0])
    return step


def nd_same_step_factory(weights, x, y, lr=0.01):
    """The Gluon step written with ``mx.nd`` directly: same layers, per-sample loss, and the same update
    (``mx.optimizer`` SGD through ``get_updater``, gradients rescaled by 1/batch as ``Trainer.step`` does)."""
    params = [nd.array(w) for w in weights]
    for p in params:
        p.attach_grad()
    xs, ys = nd.array(x), nd.array(y)
    n_layers = len(params) // 2
    updater = mx.optimizer.get_updater(mx.optimizer.create("sgd", learning_rate=lr,
                                                           rescale_grad=1.0 / x.shape[0]))
    indices = list(range(len(params)))

    def step():
        with autograd.record():
            h = xs
            for i in range(n_layers):
                w, b = params[2 * i], params[2 * i + 1]
                h = nd.FullyConnected(h, w, b, num_hidden=w.shape[0])
                if i < n_layers - 1:
                    h = nd.relu(h)
            loss = -nd.pick(nd.log_softmax(h, axis=-1), ys, axis=-1, keepdims=True).mean(axis=0, exclude=True)
        loss.backward()
        updater(indices, [p.grad for p in params], params)
    return step


def main():
    quick = "--quick" in sys.argv
    rounds = 5 if quick else 15
    mx.random.seed(0)
    for sizes, batch, inner in (((784, 512, 512, 10), 128, 3), ((784, 512, 512, 10), 32, 5), ((64, 32, 10), 32, 50)):
        weights, x, y = make_mlp(sizes, batch)
        compare(f"Gluon MLP {'-'.join(map(str, sizes))} batch {batch}",
                {"hybridized": gluon_step_factory(weights, x, y, True),
                 "imperative": gluon_step_factory(weights, x, y, False),
                 "nd same step": nd_same_step_factory(weights, x, y),
                 "nd (engine.py)": trainkit_step_factory(weights, x, y),
                 "numpy": numpy_step_factory(weights, x, y)},
                rounds, inner)
        compare("  hybridized vs nd same step", {"hybridized": gluon_step_factory(weights, x, y, True),
                                                 "nd": nd_same_step_factory(weights, x, y)}, rounds, inner,
                target=1.0)


if __name__ == "__main__":
    main()
