"""Train a small MLP with mx.mod.Module.fit on synthetic data, save a checkpoint, load it back.

    python examples/module_mlp.py

Three classes of 2-D points around three centres; the net is 2 -> 16 -> 3 with
a SoftmaxOutput head. fit() logs Train-accuracy, Time cost and
Validation-accuracy per epoch (and shows a progress bar on a terminal).
"""
import logging
import os
import tempfile

import numpy as np

import trainkit as mx

logging.basicConfig(level=logging.INFO, format="%(message)s")
mx.random.seed(0)   # the initial weights
np.random.seed(0)   # NDArrayIter shuffles with numpy's global generator, as MXNet does
rng = np.random.RandomState(0)
centres = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
y = rng.randint(0, 3, size=600)
x = (centres[y] + rng.randn(600, 2) * 0.7).astype(np.float32)
train = mx.io.NDArrayIter(x[:500], y[:500].astype(np.float32), batch_size=50, shuffle=True)
val = mx.io.NDArrayIter(x[500:], y[500:].astype(np.float32), batch_size=50)

data = mx.sym.Variable("data")
net = mx.sym.FullyConnected(data, num_hidden=16, name="fc1")
net = mx.sym.Activation(net, act_type="relu", name="relu1")
net = mx.sym.FullyConnected(net, num_hidden=3, name="fc2")
net = mx.sym.SoftmaxOutput(net, name="softmax")

module = mx.mod.Module(net)
module.fit(train, eval_data=val, num_epoch=5, initializer=mx.init.Xavier(),
           optimizer="sgd", optimizer_params={"learning_rate": 0.5, "momentum": 0.9})
print("validation", module.score(val, "acc"))

with tempfile.TemporaryDirectory() as tmp:
    prefix = os.path.join(tmp, "mlp")
    module.save_checkpoint(prefix, 5)
    loaded = mx.mod.Module.load(prefix, 5)
    loaded.bind(data_shapes=val.provide_data, label_shapes=val.provide_label, for_training=False)
    same = np.allclose(loaded.predict(val).asnumpy(), module.predict(val).asnumpy())
    print("reloaded checkpoint predicts the same:", same)
