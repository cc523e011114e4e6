"""The compiled path (trainkit.compiled): the same values as the imperative path, bit for bit."""
from types import SimpleNamespace

import numpy as np
import pytest

import trainkit as mx
from trainkit import autograd, compiled, compiled_code, nd
from trainkit.gluon import nn


def _mlp(dropout=0.0, act="relu", head="softmax"):
    data = mx.sym.var("data")
    h = mx.sym.FullyConnected(data, num_hidden=16, name="fc1")
    h = mx.sym.Activation(h, act_type=act) if act != "leaky" else mx.sym.LeakyReLU(h, act_type="leaky", slope=0.1)
    if dropout:
        h = mx.sym.Dropout(h, p=dropout)
    skip = mx.sym.FullyConnected(data, num_hidden=16, name="skip")
    h = h + skip  # the input feeds two layers: its gradient is a sum, accumulated in a fixed order
    out = mx.sym.FullyConnected(h, num_hidden=5, name="fc2")
    if head == "softmax":
        return mx.sym.SoftmaxOutput(out, name="softmax", normalization="batch")
    return mx.sym.LinearRegressionOutput(out, name="softmax")


def _train_module(monkeypatch, enabled, symbol_fn, steps=4, grad_req="write", data_shape=(8, 12)):
    monkeypatch.setattr(compiled, "ENABLED", enabled)
    mx.random.seed(3)
    mod = mx.mod.Module(symbol_fn(), context=mx.cpu())
    label_shape = (8, 5) if "LinearRegressionOutput" in symbol_fn().tojson() else (8,)
    mod.bind(data_shapes=[("data", data_shape)], label_shapes=[("softmax_label", label_shape)], grad_req=grad_req)
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-3})
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = rng.normal(size=data_shape).astype(np.float32)
        y = rng.integers(0, 5, label_shape[0]).astype(np.float32) if len(label_shape) == 1 else \
            rng.normal(size=label_shape).astype(np.float32)
        mod.forward(mx.io.DataBatch([nd.array(x)], [nd.array(y)]), is_train=True)
        mod.backward()
        mod.update()
    args, _ = mod.get_params()
    return mod, {k: v.asnumpy() for k, v in args.items()}, mod.get_outputs()[0].asnumpy()


@pytest.mark.parametrize("kind", [dict(), dict(dropout=0.4), dict(act="tanh"), dict(act="sigmoid"),
                                  dict(act="leaky"), dict(head="regression")])
def test_module_training_is_bit_identical(monkeypatch, kind):
    symbol_fn = lambda: _mlp(**kind)  # noqa: E731
    mod, fast, out_fast = _train_module(monkeypatch, True, symbol_fn)
    assert mod._plan._programs, "the compiled path was not taken"
    _, slow, out_slow = _train_module(monkeypatch, False, symbol_fn)
    assert fast.keys() == slow.keys()
    for k in fast:
        assert np.array_equal(fast[k], slow[k]), k
    assert np.array_equal(out_fast, out_slow)


def _inlined_executor(monkeypatch, enabled, data_shape):
    """FullyConnected with and without bias, relu, the scalar ops and softmax_cross_entropy: the operators
    whose compiled code is written inline (Primitive.inline)."""
    monkeypatch.setattr(compiled, "ENABLED", enabled)
    data, label = mx.sym.var("data"), mx.sym.var("label")
    h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=6, no_bias=True, name="fc1"), act_type="relu")
    logits = mx.sym.FullyConnected(h * 0.5, num_hidden=4, name="fc2")
    loss = mx.sym.MakeLoss(mx.sym.softmax_cross_entropy(logits, label) / data_shape[0])
    rng = np.random.default_rng(4)
    args = {"data": nd.array(rng.normal(size=data_shape)), "label": nd.array(rng.integers(0, 4, data_shape[0])),
            "fc1_weight": nd.array(rng.normal(size=(6, int(np.prod(data_shape[1:]))))),
            "fc2_weight": nd.array(rng.normal(size=(4, 6))), "fc2_bias": nd.array(rng.normal(size=4))}
    grads = {k: nd.zeros(v.shape) for k, v in args.items() if k != "label"}
    exe = loss.bind(mx.cpu(), args, args_grad=grads, grad_req={k: "write" for k in grads})
    results = []
    for _ in range(3):  # the first forward traces; its backward recomputes the softmax the later ones saved
        outs = [o.asnumpy() for o in exe.forward(is_train=True)]
        exe.backward()
        results.append(outs + [grads[k].asnumpy().copy() for k in sorted(grads)])
    return exe, results


@pytest.mark.parametrize("data_shape", [(5, 3), (5, 3, 1)], ids=["2-d", "3-d: FullyConnected stays a call"])
def test_inlined_operators_give_their_functions_values(monkeypatch, data_shape):
    exe, fast = _inlined_executor(monkeypatch, True, data_shape)
    programs = [p for p in exe._runner.plan._programs.values() if p is not None]
    assert programs, "the compiled path was not taken"
    source = programs[0].forward.source + "".join(f.source for p in programs for f in p._plans.values())
    assert "np.maximum(v[" in source and "np.exp(shifted)" in source and "r0 = np.sign(o)" in source
    assert ("else dot)(v[0], v[" in source) == (len(data_shape) == 2)
    _, slow = _inlined_executor(monkeypatch, False, data_shape)
    for a, b in zip(fast, slow):
        for u, v in zip(a, b):
            assert np.array_equal(u, v)


def test_inlined_products_pick_threads_as_blas_threads_dot_does():
    """numpy's matmul straight away only for a small product with one thread already set; blas_threads.dot
    (which sets and times threads) for the rest."""
    blas = SimpleNamespace(current=1, small=100)
    env = {"np_matmul": lambda a, b: "direct", "dot": lambda a, b: "dot", "blas": blas}
    small, large = compiled_code.Site.product("a", "b", 50), compiled_code.Site.product("a", "b", 500)
    assert eval(small, env, {"a": 1, "b": 2}) == "direct" and eval(large, env, {"a": 1, "b": 2}) == "dot"
    blas.current = 2  # a larger product left all threads on
    assert eval(small, env, {"a": 1, "b": 2}) == "dot"
    blas.current, blas.small = 1, 10  # set_small_work lowered the bar after the code was generated
    assert eval(small, env, {"a": 1, "b": 2}) == "dot"


def test_grad_req_add_and_4d_input_flattened(monkeypatch):
    symbol_fn = lambda: _mlp()  # noqa: E731
    _, fast, _ = _train_module(monkeypatch, True, symbol_fn, grad_req="add", data_shape=(8, 3, 2, 2))
    _, slow, _ = _train_module(monkeypatch, False, symbol_fn, grad_req="add", data_shape=(8, 3, 2, 2))
    for k in fast:
        assert np.array_equal(fast[k], slow[k]), k


def test_dropout_masks_follow_the_random_stream(monkeypatch):
    """After the same seed, the compiled run draws the same masks, and leaves the stream where the
    imperative run leaves it."""
    draws = []
    for enabled in (True, False):
        _train_module(monkeypatch, enabled, lambda: _mlp(dropout=0.5), steps=3)
        draws.append(mx.nd.random.uniform(shape=(4,)).asnumpy())
    assert np.array_equal(draws[0], draws[1])


def _executor(monkeypatch, enabled):
    monkeypatch.setattr(compiled, "ENABLED", enabled)
    x, w = mx.sym.var("x"), mx.sym.var("w")
    y = mx.sym.broadcast_mul(mx.sym.tanh(mx.sym.dot(x, w)), mx.sym.exp(x.sum(axis=1, keepdims=True) * 0.1))
    rng = np.random.default_rng(1)
    args = {"x": nd.array(rng.normal(size=(4, 3))), "w": nd.array(rng.normal(size=(3, 2)))}
    grads = {k: nd.zeros(v.shape) for k, v in args.items()}
    return y.bind(mx.cpu(), args, args_grad=grads), grads


def test_executor_forward_backward_twice(monkeypatch):
    results = []
    for enabled in (True, False):
        exe, grads = _executor(monkeypatch, enabled)
        head = nd.array(np.linspace(-1, 1, 8).reshape(4, 2))
        outs = []
        for _ in range(2):  # the second forward runs the program traced by the first
            out = exe.forward(is_train=True)[0].asnumpy()
            exe.backward(head)
            exe.backward(head)  # twice from the same forward: gradients are recomputed, not consumed
            outs.append((out, grads["x"].asnumpy().copy(), grads["w"].asnumpy().copy()))
        results.append(outs)
    for a, b in zip(results[0], results[1]):
        for u, v in zip(a, b):
            assert np.array_equal(u, v)


def _hybrid_net(enabled, monkeypatch):
    monkeypatch.setattr(compiled, "ENABLED", enabled)
    mx.random.seed(5)
    net = nn.HybridSequential()
    net.add(nn.Dense(8, activation="tanh"), nn.Dropout(0.3), nn.Dense(3))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    return net


def test_hybridized_block_gradients_and_second_order(monkeypatch):
    x = nd.array(np.random.default_rng(2).normal(size=(6, 4)))
    found = []
    for enabled in (True, False):
        net = _hybrid_net(enabled, monkeypatch)
        grads = []
        for _ in range(3):
            with autograd.record():
                loss = (net(x) ** 2).sum()
            loss.backward()
            grads.append([p.grad().asnumpy().copy() for p in net.collect_params().values()])
        xx = x.copy()
        xx.attach_grad()
        with autograd.record():
            y = net(xx)
            (gx,) = autograd.grad((y ** 2).sum(), [xx], create_graph=True)
            z = (gx * gx).sum()
        z.backward()
        grads.append([gx.asnumpy(), xx.grad.asnumpy()])
        found.append(grads)
    for a, b in zip(found[0][:-1], found[1][:-1]):  # first order: bit-identical
        for u, v in zip(a, b):
            assert np.array_equal(u, v)
    for u, v in zip(found[0][-1], found[1][-1]):  # the replayed second order: the same up to rounding
        assert np.allclose(u, v, rtol=1e-5, atol=1e-6)


def test_graphs_the_program_cannot_repeat_stay_imperative(monkeypatch):
    monkeypatch.setattr(compiled, "ENABLED", True)
    data = mx.sym.var("data")
    bn = mx.sym.BatchNorm(mx.sym.FullyConnected(data, num_hidden=4), name="bn")  # moving stats: a side effect
    assert bn._plan()._programs is None


def test_untraceable_constant_restores_the_random_stream(monkeypatch):
    """A trace that meets a value it cannot explain gives up, and the run it repeats draws the same numbers."""
    x = nd.array(np.linspace(-2, 2, 12).reshape(3, 4))
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(compiled, "ENABLED", enabled)
        data = mx.sym.var("data")
        # rrelu's random slopes are a constant to the trace, not a declared draw like Dropout's mask
        sym = mx.sym.LeakyReLU(mx.sym.Dropout(data, p=0.5), act_type="rrelu")
        exe = sym.bind(mx.cpu(), {"data": x})
        mx.random.seed(9)
        outs = [exe.forward(is_train=True)[0].asnumpy() for _ in range(2)]
        results.append(outs + [mx.nd.random.uniform(shape=(3,)).asnumpy()])
        if enabled:
            assert list(sym._plan()._programs.values()) == [None]
    for a, b in zip(*results):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("needs", [None, (False, True, True), (True, False, True), (False, True, False)])
@pytest.mark.parametrize("case", ["2d", "flatten", "no_flatten", "no_bias"])
def test_fully_connected_raw_vjp_equals_vjp(case, needs):
    from trainkit.ops.nn import FULLY_CONNECTED as FC
    rng = np.random.default_rng(4)
    shape = {"2d": (5, 6), "flatten": (5, 2, 3), "no_flatten": (5, 2, 6), "no_bias": (5, 6)}[case]
    flatten = case != "no_flatten"
    units = int(np.prod(shape[1:])) if flatten else shape[-1]
    x = rng.normal(size=shape).astype(np.float32)
    w = rng.normal(size=(4, units)).astype(np.float32)
    inputs = [x, w] + ([] if case == "no_bias" else [rng.normal(size=(4,)).astype(np.float32)])
    out = FC.forward(*inputs, num_hidden=4, flatten=flatten)
    g = rng.normal(size=out.shape).astype(np.float32)
    needs = (True,) * len(inputs) if needs is None else needs[:len(inputs)]
    raw = FC.raw_vjp(g, out, *inputs, num_hidden=4, flatten=flatten, needs=needs)
    ref = FC.vjp(nd.array(g), nd.array(out), *map(nd.array, inputs), num_hidden=4, flatten=flatten, needs=needs)
    assert len(raw) == len(ref) == len(inputs)
    for r, e, wanted in zip(raw, ref, needs):
        if not wanted:
            assert r is None and e is None
        else:
            assert r.shape == e.shape and np.array_equal(r, e.asnumpy())


@pytest.mark.parametrize("normalization,grad_scale", [("null", 1.0), ("batch", 1.0), ("batch", 0.5)])
def test_softmax_output_raw_vjp_equals_vjp(normalization, grad_scale):
    from trainkit.ops.nn import SOFTMAX_OUTPUT as SO
    rng = np.random.default_rng(6)
    x = rng.normal(size=(7, 5)).astype(np.float32)
    label = rng.integers(0, 5, 7).astype(np.float32)
    attrs = dict(grad_scale=grad_scale, ignore_label=-1.0, use_ignore=False, normalization=normalization,
                 axis=1, smooth_alpha=0.0, multi_output=False)
    out = SO.forward(x, label, **attrs)
    raw = SO.raw_vjp(None, out, x, label, needs=(True, False), **attrs)
    ref = SO.vjp(None, nd.array(out), nd.array(x), nd.array(label), **attrs)
    assert np.array_equal(raw[0], ref[0].asnumpy())
    # the cases it leaves to the NDArray vjp
    assert SO.raw_vjp(None, out, x, label, needs=(True, False), **dict(attrs, smooth_alpha=0.1)) is None


def test_relu_raw_vjp_equals_vjp():
    from trainkit.ops.elementwise import RELU
    x = np.array([-1.0, 0.0, 2.0, np.nan], np.float32)
    g = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    out = RELU.forward(x)
    (raw,) = RELU.raw_vjp(g, out, x, needs=(True,))
    (ref,) = RELU.vjp(nd.array(g), nd.array(out), nd.array(x))
    assert np.array_equal(raw, ref.asnumpy(), equal_nan=True)
    assert np.array_equal(raw, [0.0, 0.0, 3.0, np.nan], equal_nan=True)  # MXNet lets a NaN input through


@pytest.mark.parametrize("name", ["broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_broadcast_binary_raw_vjps_equal_vjps(name, dtype):
    from trainkit.ops.core import REGISTRY
    prim = REGISTRY[name]
    rng = np.random.default_rng(9)
    a = rng.uniform(0.5, 2.0, (3, 1, 4)).astype(dtype)
    b = rng.uniform(0.5, 2.0, (5, 1)).astype(dtype)  # broadcasts against a: both gradients are summed down
    out = prim.forward(a, b)
    g = rng.normal(size=out.shape).astype(dtype)
    raw = prim.raw_vjp(g, out, a, b, needs=(True, True))
    ref = prim.vjp(nd.array(g, dtype=dtype), nd.array(out, dtype=dtype), nd.array(a, dtype=dtype),
                   nd.array(b, dtype=dtype), needs=(True, True))
    for r, e in zip(raw, ref):
        assert r.dtype == dtype and r.shape == e.shape and np.array_equal(r, e.asnumpy())
    assert prim.raw_vjp(g, out, a, b, needs=(False, True))[0] is None  # gradients nobody needs are skipped
    ints = np.arange(4, dtype=np.int32)
    assert prim.raw_vjp(ints, ints, ints, ints, needs=(True, True)) is None  # integer maths: the NDArray vjp


@pytest.mark.parametrize("name,scalar", [("negative", None), ("exp", None), ("log", None), ("sqrt", None),
                                         ("square", None), ("tanh", None), ("sigmoid", None),
                                         ("_plus_scalar", 1.5), ("_minus_scalar", 1.5), ("_rminus_scalar", 1.5),
                                         ("_mul_scalar", 3.0), ("_div_scalar", 3.0)])
def test_unary_raw_vjps_equal_vjps(name, scalar):
    from trainkit.ops.core import REGISTRY
    prim = REGISTRY[name]
    attrs = {} if scalar is None else {"scalar": scalar}
    x = np.random.default_rng(10).uniform(0.5, 2.0, (4, 3)).astype(np.float32)
    out = prim.forward(x, **attrs)
    g = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    (raw,) = prim.raw_vjp(g, out, x, needs=(True,), **attrs)
    (ref,) = prim.vjp(nd.array(g), nd.array(out), nd.array(x), **attrs)
    assert raw.dtype == np.float32 and np.array_equal(raw, ref.asnumpy())


_X34 = np.random.default_rng(11).normal(size=(3, 4)).astype(np.float32)
_POS = np.array([1, 3, 0], np.intp)
_MASK = (np.random.default_rng(12).uniform(size=(3, 4)) > 0.5).astype(np.float32) * 2


@pytest.mark.parametrize("name,inputs,attrs", [
    ("sum", [_X34], {"axes": (1,), "keepdims": False}), ("sum", [_X34], {"axes": (0, 1), "keepdims": False}),
    ("mean", [_X34], {"axes": (0,), "keepdims": True}), ("mean", [_X34], {"axes": (0, 1), "keepdims": False}),
    ("pick", [_X34, _POS], {"axis": 1, "keepdims": True}), ("pick", [_X34, _POS[[0, 1, 2, 0]] % 3], {"axis": 0, "keepdims": False}),
    ("Reshape", [_X34], {"shape": (2, 6)}), ("_copy", [_X34], {}), ("softmax", [_X34], {"axis": 1}),
    ("log_softmax", [_X34], {"axis": 0}), ("Dropout", [_X34, _MASK], {"p": 0.5})])
def test_shape_and_softmax_raw_vjps_equal_vjps(name, inputs, attrs):
    from trainkit.ops.core import REGISTRY
    prim = REGISTRY[name]
    out = prim.forward(*inputs, **attrs)
    g = np.linspace(-1, 1, out.size, dtype=np.float32).reshape(out.shape)
    needs = (True,) + (False,) * (len(inputs) - 1)
    raw = prim.raw_vjp(g, out, *inputs, needs=needs, **attrs)
    ref = prim.vjp(nd.array(g), nd.array(out), *[nd.array(a, dtype=a.dtype) for a in inputs], **attrs)
    assert raw[0].shape == inputs[0].shape and np.array_equal(raw[0], ref[0].asnumpy())
    assert all(r is None for r in raw[1:])


def test_compiled_backward_without_gradients_raises(monkeypatch):
    monkeypatch.setattr(compiled, "ENABLED", True)
    mod = mx.mod.Module(_mlp(), context=mx.cpu(), fixed_param_names=["fc1_weight", "fc1_bias", "skip_weight",
                                                                     "skip_bias", "fc2_weight", "fc2_bias"])
    mod.bind(data_shapes=[("data", (8, 12))], label_shapes=[("softmax_label", (8,))])
    mod.init_params()
    batch = mx.io.DataBatch([nd.ones((8, 12))], [nd.zeros((8,))])
    for _ in range(2):
        mod.forward(batch, is_train=True)
        mod.backward()  # nothing to train: a no-op, as on the imperative path


def test_get_symbol_expands_a_compiled_graph(monkeypatch):
    """get_symbol through a hybridized block shows the layers it ran, as the imperative graph does, and its
    eval recomputes the output."""
    import json
    found = []
    for enabled in (True, False):
        net = _hybrid_net(enabled, monkeypatch)
        x = nd.array(np.random.default_rng(0).normal(size=(2, 4)))
        net(x)  # the first call traces
        with autograd.predict_mode(), autograd.record():
            y = net(x) * 2
        sym = autograd.get_symbol(y)
        found.append([n["op"] for n in json.loads(sym.tojson())["nodes"]])
        values = {f"var{p.data()._node.id}": p.data() for p in net.collect_params().values()}
        if enabled:
            assert compiled.program_of(y._node.inputs[0]._node) is not None  # the block ran compiled
        assert np.allclose(sym.eval(**values)[0].asnumpy(), y.asnumpy())
    assert found[0] == found[1]


def test_softmax_cross_entropy_raw_vjp_equals_vjp():
    from trainkit.ops.nn import SOFTMAX_CE
    rng = np.random.default_rng(8)
    x = rng.normal(size=(6, 4)).astype(np.float32)
    label = np.array([0, 3, 1, 1, 2, 3], np.float32)
    g = np.array([0.25], np.float32)
    out = SOFTMAX_CE.forward(x, label)
    (raw, none) = SOFTMAX_CE.raw_vjp(g, out, x, label, needs=(True, False))
    (ref, _) = SOFTMAX_CE.vjp(nd.array(g), nd.array(out), nd.array(x), nd.array(label))
    assert none is None and raw.dtype == np.float32 and np.array_equal(raw, ref.asnumpy())
    # the compiled forward also keeps softmax(x) for the gradient: the same loss, the same gradient, and
    # the saved value left as it was (a retained graph is differentiated again from it)
    saving_out, saved = SOFTMAX_CE.forward_saving(x, label)
    assert np.array_equal(saving_out, out) and np.array_equal(saved, nd.softmax(nd.array(x)).asnumpy())
    kept = saved.copy()
    for _ in range(2):
        (from_saved, _) = SOFTMAX_CE.raw_vjp(g, out, x, label, needs=(True, False), saved=saved)
        assert np.array_equal(from_saved, raw) and np.array_equal(saved, kept)


def _trainer_run(monkeypatch, enabled, network, task="classification", epochs=2):
    from trainkit import Trainer
    monkeypatch.setattr(compiled, "ENABLED", enabled)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)  # 3 classes
    trainer = Trainer(network(), train_data=(X[:70], y[:70]), val_data=(X[70:], y[70:]), epochs=epochs,
                      batch_size=16, seed=1, optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    history = [{k: v for k, v in h.items() if k != "time"} for h in trainer.fit()]
    params = {k: v.asnumpy() for k, v in trainer.model.params.items()}
    return trainer, history, params


def _symbol_net(dropout=0.3, batchnorm=False):
    def make():
        h = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=12, name="fc1")
        if batchnorm:
            h = mx.sym.BatchNorm(h, name="bn1")
        h = mx.sym.Dropout(mx.sym.Activation(h, act_type="relu"), p=dropout)
        return mx.sym.FullyConnected(h, num_hidden=3, name="fc2")
    return make


def _gluon_net():
    net = nn.HybridSequential(prefix="tnet_")
    with net.name_scope():
        net.add(nn.Dense(12, activation="relu"), nn.Dropout(0.3), nn.Dense(3))
    net.hybridize()
    return net


@pytest.mark.parametrize("network", [_symbol_net(), _gluon_net], ids=["module", "hybridized-gluon"])
def test_trainer_step_compiled_is_bit_identical(monkeypatch, network):
    fast, h_fast, p_fast = _trainer_run(monkeypatch, True, network)
    programs = [p for p in fast._step.programs.values() if p is not None]
    assert programs, "the training step was not compiled"
    assert all(p.saved for p in programs)  # the loss keeps its softmax for the gradient
    _, h_slow, p_slow = _trainer_run(monkeypatch, False, network)
    assert h_fast == h_slow
    assert all(np.array_equal(p_fast[k], p_slow[k]) for k in p_fast)


@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_traced_forward_backward_leaves_what_record_and_backward_leave(monkeypatch, grad_req):
    """The Trainer's fused step: outputs and every parameter's .grad (per grad_req) as the recorded cycle's."""
    trainer, _, _ = _trainer_run(monkeypatch, True, _symbol_net(dropout=0.0), epochs=1)
    step, weights = trainer._step, trainer._weights
    rng = np.random.default_rng(3)
    x = mx.nd.array(rng.normal(size=(16, 6)))
    y = mx.nd.array(rng.integers(0, 3, 16).astype(np.float32))
    assert step.forward_backward(x[:5], y[:5]) is None  # no program for these shapes yet
    start = [rng.normal(size=w.shape).astype(np.float32) for w in weights]

    def run(fused, req):
        for w, g in zip(weights, start):
            w._node.grad_req = req
            w.grad[:] = g
        weights[1]._node.grad_req = "null"
        if fused:
            outputs = step.forward_backward(x, y)
            assert outputs is not None and outputs[0]._node is None  # nothing recorded
        else:
            with autograd.record():
                outputs = step(x, y)
            outputs[0].backward()
        return [o.asnumpy() for o in outputs], [w.grad.asnumpy() for w in weights]

    (loss, out), grads = run(True, grad_req)
    (loss_r, out_r), grads_r = run(False, grad_req)
    assert np.array_equal(loss, loss_r) and np.array_equal(out, out_r)
    assert all(np.array_equal(a, b) for a, b in zip(grads, grads_r))
    assert np.array_equal(grads[1], start[1])  # grad_req null: left as it was
    _, written = run(False, "write")
    expected = [g + s if grad_req == "add" else g for g, s in zip(written, start)]
    assert all(np.array_equal(grads[i], expected[i]) for i in (0, 2, 3))


def test_trainer_step_with_batchnorm_is_never_traced(monkeypatch):
    """A trace runs the step once for real: BatchNorm's moving statistics must not be updated twice."""
    fast, h_fast, p_fast = _trainer_run(monkeypatch, True, _symbol_net(batchnorm=True))
    assert not fast._step.programs
    _, h_slow, p_slow = _trainer_run(monkeypatch, False, _symbol_net(batchnorm=True))
    assert h_fast == h_slow
    assert all(np.array_equal(p_fast[k], p_slow[k]) for k in p_fast)


class _DenseLoss(mx.gluon.HybridBlock):
    """``loss(F, dense(x))`` as the block's output: hybridized, the whole recorded graph is one compiled node."""

    def __init__(self, loss):
        super().__init__(prefix="denseloss_")
        self.loss = loss
        with self.name_scope():
            self.dense = nn.Dense(3, in_units=4)

    def hybrid_forward(self, F, x):
        return self.loss(F, self.dense(x))


def _dense_loss(monkeypatch, enabled, loss):
    monkeypatch.setattr(compiled, "ENABLED", enabled)
    mx.random.seed(0)
    net = _DenseLoss(loss)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    return net


def test_backward_of_a_graph_that_is_one_compiled_node(monkeypatch):
    x = nd.array(np.random.default_rng(5).normal(size=(6, 4)))
    found = []
    for enabled in (True, False):
        net = _dense_loss(monkeypatch, enabled, lambda F, h: F.sum(F.tanh(h) ** 2))
        weight, bias = net.dense.weight, net.dense.bias
        weight.grad_req = "add"  # summed over every backward; the bias's is written afresh by each
        for _ in range(3):
            with autograd.record():
                loss = net(x)
            assert (compiled.program_of(loss._node) is not None) == enabled
            loss.backward(retain_graph=True)
            loss.backward()  # the graph is kept for one more: "add" sums both
            with pytest.raises(mx.MXNetError, match="already freed"):
                loss.backward()
        found.append([weight.data().grad.asnumpy(), bias.data().grad.asnumpy()])
    for fast, slow in zip(*found):
        assert np.array_equal(fast, slow) and np.abs(fast).sum() > 0


def test_one_compiled_node_backward_with_and_without_a_head_gradient(monkeypatch):
    # no head gradient: the program's shared read-only ones; a given one: checked and used, never adopted
    x = nd.array(np.random.default_rng(6).normal(size=(6, 4)))
    net = _dense_loss(monkeypatch, True, lambda F, h: F.sum(F.tanh(h) ** 2))
    grads = []
    for head, value in ((None, None), (nd.ones((1,)), 1.0), (nd.array([2.0]), 2.0), (None, None)):
        with autograd.record():
            loss = net(x)
        loss.backward(head)
        grads.append(net.dense.weight.data().grad.asnumpy())
        if head is not None:
            assert head.asnumpy().tolist() == [value]
    program = compiled.program_of(loss._node)
    assert program is not None
    ones = program.ones_like(loss._data)
    assert not ones.flags.writeable and ones.tolist() == [1.0]
    assert np.array_equal(grads[0], grads[1]) and np.array_equal(grads[0], grads[3])
    np.testing.assert_allclose(grads[2], 2 * grads[0], rtol=1e-6)
    with autograd.record():
        loss = net(x)
    with pytest.raises(ValueError, match="shape"):
        loss.backward(nd.ones((2,)))


def test_a_multi_output_primitive_in_a_program(monkeypatch):
    """slogdet has two outputs; only logdet feeds the loss, so the sign's gradient is zeros, as autograd's."""
    found = []
    for enabled in (True, False):
        monkeypatch.setattr(compiled, "ENABLED", enabled)
        a = nd.array([[2.0, 0.5], [0.3, 1.5]])
        a.attach_grad()
        with autograd.record():
            _, logdet = nd.linalg.slogdet(a)
            loss = (logdet * 2).sum()
        sym = autograd.get_symbol(loss)
        name = sym.list_arguments()[0]
        grad = nd.zeros((2, 2))
        exe = sym.bind(mx.cpu(), args={name: a}, args_grad={name: grad})
        for _ in range(2):  # the first run traces, the second runs the program
            exe.forward(is_train=True)
            exe.backward(nd.ones((1,)))
        programs = [p for p in (exe._runner.plan._programs or {}).values() if p is not None]
        assert bool(programs) == enabled
        if enabled:
            assert any(prim is not None and prim.n_out == 2 for prim, _, _, _ in programs[0].steps)
        found.append(grad.asnumpy())
    assert np.array_equal(found[0], found[1])
    np.testing.assert_allclose(found[0], 2 * np.linalg.inv([[2.0, 0.5], [0.3, 1.5]]).T, rtol=1e-5)


def test_generated_code_runs_the_steps_in_order_and_shows_its_lines_in_tracebacks():
    import traceback
    calls = []

    def scaled(x, scale):
        calls.append(("scaled", x, scale))
        return x * scale

    def fails(x):
        raise ValueError("boom")
    steps = [(SimpleNamespace(forward=scaled, n_out=1, inline=None), (0,), 1, {"scale": 3}),
             (SimpleNamespace(forward=scaled, n_out=1, inline=None), (1,), 2, {"scale": 2})]
    forward = compiled_code.forward_function(SimpleNamespace(nslots=3, nfeed=1, steps=steps, saved={}, specs=None))
    assert forward([5]) == [5, 15, 30] and calls == [("scaled", 5, 3), ("scaled", 15, 2)]
    assert "v[2] = f1(v[1], scale=a1_scale)" in forward.source
    broken = compiled_code.forward_function(SimpleNamespace(
        nslots=2, nfeed=1, saved={}, specs=None,
        steps=[(SimpleNamespace(forward=fails, n_out=1, inline=None), (0,), 1, {})]))
    with pytest.raises(ValueError) as info:
        broken([1])
    assert "v[1] = f0(v[0])" in "".join(traceback.format_tb(info.tb))
    # the same steps with other attribute values: the code is compiled once, each function keeps its own values
    steps_again = [(SimpleNamespace(forward=scaled, n_out=1, inline=None), (0,), 1, {"scale": 10}),
                   (SimpleNamespace(forward=scaled, n_out=1, inline=None), (1,), 2, {"scale": 1})]
    again = compiled_code.forward_function(SimpleNamespace(nslots=3, nfeed=1, steps=steps_again, saved={}, specs=None))
    assert again.__code__ is forward.__code__
    assert again([5]) == [5, 50, 50] and forward([1]) == [1, 3, 6]


def test_a_gradient_summed_over_several_consumers_is_bit_identical(monkeypatch):
    x = nd.array(np.random.default_rng(6).normal(size=(5, 4)))
    found = []
    for enabled in (True, False):
        # dense(x) feeds two operators, one of them twice: its gradient is a sum, in a fixed order
        net = _dense_loss(monkeypatch, enabled, lambda F, h: F.sum(h * h + F.tanh(h)))
        for _ in range(2):
            with autograd.record():
                loss = net(x)
            loss.backward()
        assert (compiled.program_of(loss._node) is not None) == enabled
        found.append([net.dense.weight.data().grad.asnumpy(), net.dense.bias.data().grad.asnumpy()])
    for fast, slow in zip(*found):
        assert np.array_equal(fast, slow)
    w, b = (p.data().asnumpy() for p in (net.dense.weight, net.dense.bias))
    h = x.asnumpy() @ w.T + b
    np.testing.assert_allclose(found[0][1], (2 * h + 1 - np.tanh(h) ** 2).sum(axis=0), rtol=1e-5)


def test_default_head_gradient_is_ones_read_only_and_shared(monkeypatch):
    # Module.backward() without out_grads: ones, from one read-only array per shape that no vjp may write to
    monkeypatch.setattr(compiled, "ENABLED", True)
    net = mx.sym.tanh(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc"))
    mod = mx.mod.Module(net, label_names=None)
    mod.bind(data_shapes=[("data", (4, 5))])
    mod.init_params(mx.init.Xavier())
    x = np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)
    batch = mx.io.DataBatch([nd.array(x)])
    grads = []
    for out_grads in (None, [nd.ones((4, 3))], None):
        mod.forward(batch, is_train=True)
        mod.backward(out_grads)
        grads.append(mod._exec_args["fc_weight"].grad.asnumpy())
    (program,) = mod._plan._programs.values()
    out = mod.get_outputs()[0].asnumpy()
    ones = program.ones_like(out)
    assert ones is program.ones_like(out) and not ones.flags.writeable and (ones == 1).all()
    w = mod._exec_args["fc_weight"].asnumpy()
    b = mod._exec_args["fc_bias"].asnumpy()
    expected = (1 - np.tanh(x @ w.T + b) ** 2).T @ x
    for g in grads:
        np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)
    assert np.array_equal(grads[0], grads[1]) and np.array_equal(grads[0], grads[2])


def test_module_forward_leaves_the_batch_lists_alone(monkeypatch):
    # a float64 batch is cast for the bound float32 graph without touching the batch's own list
    monkeypatch.setattr(compiled, "ENABLED", True)
    mod = mx.mod.Module(_mlp(), context=mx.cpu())
    mod.bind(data_shapes=[("data", (8, 12))], label_shapes=[("softmax_label", (8,))])
    mod.init_params(mx.init.Xavier())
    data, label = nd.array(np.ones((8, 12)), dtype="float64"), nd.zeros((8,))
    batch = mx.io.DataBatch([data], [label])
    for _ in range(2):  # the trace, then the compiled program
        mod.forward(batch, is_train=True)
        mod.backward()
    assert batch.data[0] is data and batch.data[0].dtype == np.float64 and batch.label[0] is label
    assert mod._plan._programs and mod.get_outputs()[0].shape == (8, 5)


def test_a_batch_exactly_as_bound_skips_forwards_conversions(monkeypatch):
    # lists of NDArrays of the bound shapes and dtypes go straight into the traced program's feed; any
    # other batch (here tuples) takes forward's general path, to the same values bit for bit
    monkeypatch.setattr(compiled, "ENABLED", True)
    rng = np.random.default_rng(2)
    batches = [(rng.normal(size=(8, 12)).astype(np.float32), rng.integers(0, 5, 8).astype(np.float32))
               for _ in range(4)]
    results = []
    for wrap in (list, tuple):
        mx.random.seed(3)
        mod = mx.mod.Module(_mlp(), context=mx.cpu())
        mod.bind(data_shapes=[("data", (8, 12))], label_shapes=[("softmax_label", (8,))])
        mod.init_params(mx.init.Xavier())
        mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
        fills = []
        original = mod._fill
        monkeypatch.setattr(mod, "_fill", lambda *a, **k: fills.append(1) or original(*a, **k))
        for x, y in batches:
            mod.forward(mx.io.DataBatch(wrap([nd.array(x)]), wrap([nd.array(y)])), is_train=True)
            mod.backward()
            mod.update()
        assert len(fills) == (1 if wrap is list else len(batches))  # the list batches: only the trace fills
        results.append({k: v.asnumpy() for k, v in mod.get_params()[0].items()})
    for k in results[0]:
        assert np.array_equal(results[0][k], results[1][k]), k
