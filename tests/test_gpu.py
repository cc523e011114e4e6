"""The CuPy device path: runs only where CuPy sees a GPU (the test suite's CPU runs skip it)."""
import numpy as np
import pytest

import trainkit as mx
from trainkit import autograd, nd

try:
    import cupy
    HAVE_GPU = cupy.cuda.runtime.getDeviceCount() > 0
except Exception:  # no CuPy, or no driver
    HAVE_GPU = False

pytestmark = pytest.mark.skipif(not HAVE_GPU, reason="needs CuPy and a GPU")


def both(fn):
    """Run ``fn(ctx)`` on the CPU and on gpu(0); return the two results as numpy."""
    return [fn(ctx) for ctx in (mx.cpu(), mx.gpu(0))]


def test_arrays_live_on_the_gpu():
    x = nd.array([[1.0, 2.0], [3.0, 4.0]], ctx=mx.gpu(0))
    assert isinstance(x._data, cupy.ndarray) and x.context == mx.gpu(0)
    assert repr(x) == "\n[[1. 2.]\n [3. 4.]]\n<NDArray 2x2 @gpu(0)>"
    assert x.copyto(mx.cpu()).context == mx.cpu() and isinstance(x.asnumpy(), np.ndarray)
    assert nd.zeros((3,), ctx=mx.gpu(0))._data.device.id == 0
    u = nd.random.uniform(shape=(5,), ctx=mx.gpu(0))
    assert isinstance(u._data, cupy.ndarray)


def test_mlp_step_matches_cpu():
    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(0, 0.1, (16, 8)).astype(np.float32), np.zeros(16, np.float32)
    w2, b2 = rng.normal(0, 0.1, (3, 16)).astype(np.float32), np.zeros(3, np.float32)
    x, y = rng.normal(0, 1, (5, 8)).astype(np.float32), np.array([0, 2, 1, 1, 0])

    def step(ctx):
        params = [nd.array(a, ctx=ctx) for a in (w1, b1, w2, b2)]
        for p in params:
            p.attach_grad()
        xs, ys = nd.array(x, ctx=ctx), nd.array(y, ctx=ctx)
        with autograd.record():
            h = nd.relu(nd.FullyConnected(xs, params[0], params[1], num_hidden=16))
            z = nd.FullyConnected(h, params[2], params[3], num_hidden=3)
            loss = -nd.pick(nd.log_softmax(z, axis=1), ys, axis=1).mean()
        loss.backward()
        for p in params:
            p -= 0.1 * p.grad
        return [loss.asnumpy()] + [p.asnumpy() for p in params]

    cpu, gpu = both(step)
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_ops_and_second_order_on_gpu():
    def run(ctx):
        x = nd.array([0.5, 0.8, -0.3], ctx=ctx)
        x.attach_grad()
        with autograd.record():
            y = nd.sum(nd.tanh(x) * nd.exp(x)) + nd.softmax_cross_entropy(
                nd.reshape(x, (1, 3)), nd.array([1], ctx=ctx))
            (g,) = autograd.grad(y, [x], create_graph=True)
        g.backward()
        parts = nd.split(nd.concat(x, x, dim=0), num_outputs=2, axis=0)
        picked = x[nd.array([0, 2], ctx=ctx)]
        return [g.asnumpy(), x.grad.asnumpy(), parts[1].asnumpy(), picked.asnumpy(),
                nd.one_hot(nd.array([1, 0], ctx=ctx), 3).asnumpy(), nd.norm(x).asnumpy()]

    cpu, gpu = both(run)
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_dropout_and_batchnorm_on_gpu():
    x = nd.ones((200, 4), ctx=mx.gpu(0))
    with autograd.train_mode():
        d = nd.Dropout(x, p=0.5)
        mean, var = nd.zeros((4,), ctx=mx.gpu(0)), nd.ones((4,), ctx=mx.gpu(0))
        out = nd.BatchNorm(x * 2, nd.ones((4,), ctx=mx.gpu(0)), nd.zeros((4,), ctx=mx.gpu(0)), mean, var)
    assert set(np.unique(d.asnumpy())) == {0.0, 2.0}
    np.testing.assert_allclose(mean.asnumpy(), [0.2] * 4, rtol=1e-6)
    assert out.context == mx.gpu(0)


def test_save_and_load_from_gpu(tmp_path):
    x = nd.array([1.0, 2.0], ctx=mx.gpu(0))
    nd.save(str(tmp_path / "x.nd"), {"x": x})
    assert nd.load(str(tmp_path / "x.nd"))["x"].asnumpy().tolist() == [1, 2]


def _mlp_symbol():
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=16, name="fc1")
    return mx.sym.FullyConnected(mx.sym.Activation(net, act_type="relu"), num_hidden=3, name="fc2")


def test_module_on_gpu_matches_cpu():
    x = np.random.default_rng(1).normal(0, 1, (4, 5)).astype(np.float32)

    def run(ctx):
        mx.random.seed(0)
        module = mx.mod.Module(_mlp_symbol(), label_names=None, context=ctx)
        module.bind(data_shapes=[("data", (4, 5))])
        module.init_params(mx.init.Xavier())
        return module.predict(nd.array(x, ctx=ctx)).asnumpy()

    cpu, gpu = both(run)
    np.testing.assert_allclose(cpu, gpu, rtol=1e-5, atol=1e-6)


def test_trainer_on_gpu_matches_cpu():
    rng = np.random.default_rng(2)
    X = rng.normal(0, 1, (64, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)

    def run(ctx):
        trainer = mx.Trainer(mx.mod.Module(_mlp_symbol(), label_names=None, context=ctx),
                             optimizer_params={"learning_rate": 0.1, "momentum": 0.9},
                             train_data=(X, y), val_data=(X, y), epochs=3, batch_size=16, context=ctx)
        history = trainer.fit()
        return np.array([[h["train_loss"], h["val_accuracy"]] for h in history])

    cpu, gpu = both(run)
    np.testing.assert_allclose(cpu, gpu, rtol=1e-4, atol=1e-5)
