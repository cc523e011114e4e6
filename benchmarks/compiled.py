"""The compiled path: a bound Module's training step against the same maths hand-written in numpy.

Run ``python benchmarks/compiled.py`` (``--quick`` for fewer rounds). The Module is the engine
benchmark's MLP (``benchmarks/engine.py``: FullyConnected and relu layers, softmax cross-entropy
averaged over the batch, plain SGD) bound once; each step is ``forward(is_train=True)``,
``backward()``, ``update()``, which run through ``trainkit.compiled``. The same step with
``TRAINKIT_COMPILE=0`` semantics (the imperative plan) is timed too, between them (its ratio is
its median over numpy's). One BLAS thread, as in engine.py, whose ``compare`` prints the medians
of interleaved rounds and the compiled/numpy ratio with its per-round spread.
"""
import os
import sys

if __name__ == "__main__":
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import trainkit as mx  # noqa: E402
from trainkit import compiled  # noqa: E402
from engine import compare, make_mlp, numpy_step_factory  # noqa: E402

TARGETS = {((784, 512, 512, 10), 128): 1.03, ((784, 512, 512, 10), 32): 1.08, ((64, 32, 10), 32): 1.3}


def module_step_factory(weights, x, y, lr=0.01, compile_=True):
    saved, compiled.ENABLED = compiled.ENABLED, compile_
    try:
        h = mx.sym.var("data")
        n_layers = len(weights) // 2
        for i in range(n_layers):
            h = mx.sym.FullyConnected(h, num_hidden=weights[2 * i].shape[0], name=f"fc{i}")
            if i < n_layers - 1:
                h = mx.sym.relu(h)
        net = mx.sym.SoftmaxOutput(h, name="softmax", normalization="batch")
        mod = mx.mod.Module(net, context=mx.cpu())
        mod.bind(data_shapes=[("data", x.shape)], label_shapes=[("softmax_label", y.shape)])
    finally:
        compiled.ENABLED = saved
    arg_params = {}
    for i in range(n_layers):
        arg_params[f"fc{i}_weight"] = mx.nd.array(weights[2 * i])
        arg_params[f"fc{i}_bias"] = mx.nd.array(weights[2 * i + 1])
    mod.init_params(arg_params=arg_params)
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": lr, "rescale_grad": 1.0})
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y.astype(np.float32))])

    def step():
        mod.forward(batch, is_train=True)
        mod.backward()
        mod.update()
    return step


def main():
    quick = "--quick" in sys.argv
    rounds = 5 if quick else 15
    print(f"trainkit compiled-path benchmarks (numpy {np.__version__}; 1 BLAS thread)")
    for (sizes, batch), target in TARGETS.items():
        weights, x, y = make_mlp(sizes, batch)
        inner = 20 if sizes[1] > 100 else 300
        compare(f"Module step {'-'.join(map(str, sizes))} b{batch}",
                {"compiled": module_step_factory(weights, x, y),
                 "imperative": module_step_factory(weights, x, y, compile_=False),
                 "numpy": numpy_step_factory(weights, x, y)}, rounds, inner, target)


if __name__ == "__main__":
    main()
