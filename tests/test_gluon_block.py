"""Gluon blocks: MXNet 1.9.1's naming, deferred initialization, initializers, hybridize, save/load, export."""
import os
import warnings

import numpy as np
import pytest

import trainkit as mx
from trainkit import autograd, gluon
from trainkit.gluon import nn

DATA = os.path.join(os.path.dirname(__file__), "data", "gluon")


def fixture_net():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(8, activation="relu", in_units=5), nn.BatchNorm(in_channels=8), nn.Dense(3, in_units=8))
    return net


# ----- naming -----------------------------------------------------------------------------------
def test_parameter_names_follow_mxnet_counters_and_scopes():
    with mx.name.NameManager():
        a, b = nn.Dense(2), nn.Dense(3)
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Dense(4), nn.Dense(5, activation="relu"), nn.BatchNorm())
        assert a.weight.name == "dense0_weight" and b.bias.name == "dense1_bias"
        assert list(net.collect_params().keys()) == [
            "hybridsequential0_dense0_weight", "hybridsequential0_dense0_bias",
            "hybridsequential0_dense1_weight", "hybridsequential0_dense1_bias",
            "hybridsequential0_batchnorm0_gamma", "hybridsequential0_batchnorm0_beta",
            "hybridsequential0_batchnorm0_running_mean", "hybridsequential0_batchnorm0_running_var"]
        assert net[1].act.name == "hybridsequential0_dense1_relu"
        assert nn.Dense(1, prefix="out_").weight.name == "out_weight"


def test_repr_matches_mxnet():
    with mx.name.NameManager():
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Dense(10, activation="relu"), nn.BatchNorm(), nn.Dense(3, in_units=10))
    assert repr(net) == (
        "HybridSequential(\n  (0): Dense(None -> 10, Activation(relu))\n"
        "  (1): BatchNorm(axis=1, eps=1e-05, momentum=0.9, fix_gamma=False, use_global_stats=False, "
        "in_channels=None)\n  (2): Dense(10 -> 3, linear)\n)")
    assert repr(net[0].weight) == "Parameter hybridsequential0_dense0_weight (shape=(10, 0), dtype=float32)"
    assert repr(nn.Dropout(0.3)) == "Dropout(p = 0.3, axes=())"
    assert repr(nn.Embedding(10, 3)) == "Embedding(10 -> 3, float32)"
    assert repr(nn.LeakyReLU(0.1)) == "LeakyReLU(0.1)"
    assert repr(gluon.loss.L2Loss()) == "L2Loss(batch_axis=0, w=1.0)"


def test_collect_params_select_and_setattr():
    with mx.name.NameManager():
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Dense(4, in_units=2), nn.Dense(1, in_units=4))
    assert list(net.collect_params(".*weight").keys()) == ["hybridsequential0_dense0_weight",
                                                           "hybridsequential0_dense1_weight"]
    assert list(net.collect_params("hybridsequential0_dense1_.*").keys()) == [
        "hybridsequential0_dense1_weight", "hybridsequential0_dense1_bias"]
    net.collect_params(".*bias").setattr("lr_mult", 0.5)
    assert net[0].bias.lr_mult == 0.5 and net[0].weight.lr_mult == 1.0
    net.collect_params().setattr("grad_req", "null")
    net.initialize()
    with pytest.raises(RuntimeError, match="grad_req='null'"):
        net[0].weight.grad()


# ----- deferred initialization ----------------------------------------------------------------------
def test_deferred_initialization_waits_for_the_first_batch():
    net = nn.Dense(3)
    net.initialize()
    with pytest.raises(gluon.DeferredInitializationError, match="initialization was deferred"):
        net.weight.data()
    assert net.weight.shape == (3, 0)
    y = net(mx.nd.ones((2, 4, 5)))
    assert net.weight.shape == (3, 20) and y.shape == (2, 3)
    dense = nn.Dense(3, flatten=False)
    dense.initialize()
    assert dense(mx.nd.ones((2, 4, 5))).shape == (2, 4, 3) and dense.weight.shape == (3, 5)


def test_uninitialized_parameter_says_so():
    net = nn.Dense(3, in_units=2)
    with pytest.raises(RuntimeError, match="has not been initialized"):
        net.weight.data()
    p = gluon.Parameter("w", shape=(2, 0))
    with pytest.raises(ValueError, match="invalid shape"):
        p.initialize()


def test_deferred_shapes_for_norms_and_hybridized_nets():
    net = nn.HybridSequential()
    net.add(nn.Dense(6), nn.BatchNorm(), nn.LayerNorm(), nn.Dense(2))
    net.initialize()
    net.hybridize()
    out = net(mx.nd.ones((3, 4)))
    assert out.shape == (3, 2)
    assert net[1].gamma.shape == (6,) and net[2].beta.shape == (6,) and net[3].weight.shape == (2, 6)


def test_set_data_before_deferred_init_becomes_the_value():
    net = nn.Dense(2)
    net.initialize()
    net.weight.set_data(mx.nd.ones((2, 3)) * 4)
    net(mx.nd.ones((1, 3)))
    np.testing.assert_array_equal(net.weight.data().asnumpy(), np.full((2, 3), 4.0))


def test_already_initialized_warns_and_force_reinit_redraws():
    net = nn.Dense(2, in_units=2)
    net.initialize(mx.init.One())
    with pytest.warns(UserWarning, match="already initialized"):
        net.initialize(mx.init.Zero())
    np.testing.assert_array_equal(net.weight.data().asnumpy(), np.ones((2, 2)))
    net.initialize(mx.init.Zero(), force_reinit=True)
    np.testing.assert_array_equal(net.weight.data().asnumpy(), np.zeros((2, 2)))


# ----- initializers through initialize ---------------------------------------------------------------
INITS = {
    "uniform": lambda: mx.init.Uniform(0.3), "normal": lambda: mx.init.Normal(0.5), "xavier": mx.init.Xavier,
    "xavier_gauss": lambda: mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2),
    "msraprelu": mx.init.MSRAPrelu, "orthogonal": mx.init.Orthogonal, "constant": lambda: mx.init.Constant(0.3),
    "one": mx.init.One, "zero": mx.init.Zero,
}


def _draw_net():
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(4, in_units=3), nn.Dense(5, in_units=4, bias_initializer="ones"))
    return net


@pytest.mark.parametrize("key", sorted(INITS))
def test_every_initializer_draws_what_mxnet_draws(key):
    want = np.load(os.path.join(DATA, "init_draws.npz"))
    mx.random.seed(11)
    with mx.name.NameManager():
        net = _draw_net()
    net.initialize(INITS[key]())
    for name, p in net.collect_params().items():
        if key == "orthogonal" and name.endswith("weight"):
            # MXNet's Orthogonal draws from numpy's global generator, not mx.random: check the property
            w = p.data().asnumpy().astype(np.float64)
            small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            np.testing.assert_allclose(small, 1.414 ** 2 * np.eye(len(small)), atol=1e-5)
            continue
        np.testing.assert_allclose(p.data().asnumpy(), want[f"{key}/{name}"], rtol=1e-6, atol=1e-7, err_msg=name)


def test_mixed_and_init_attributes():
    mixed = mx.init.Mixed([".*dense1.*", ".*"], [mx.init.Constant(2.0), mx.init.Uniform(0.1)])
    mx.random.seed(3)
    net = _draw_net()
    net.initialize(mixed)
    np.testing.assert_array_equal(net[1].weight.data().asnumpy(), np.full((5, 4), 2.0))
    np.testing.assert_array_equal(net[1].bias.data().asnumpy(), np.ones(5))   # its own init wins
    assert np.abs(net[0].weight.data().asnumpy()).max() <= 0.1
    own = nn.Dense(2, in_units=2, weight_initializer=mx.init.Constant(7))
    own.initialize(mx.init.Zero())
    np.testing.assert_array_equal(own.weight.data().asnumpy(), np.full((2, 2), 7.0))


# ----- hybridize -----------------------------------------------------------------------------------
class _Custom(nn.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.dense = nn.Dense(4, activation="tanh")
            self.scale = self.params.get("scale", shape=(1, 4), init=mx.init.Constant(1.5))

    def hybrid_forward(self, F, x, scale):
        return F.broadcast_add(F.broadcast_mul(self.dense(x), scale), F.relu(x).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("make", [
    lambda: fixture_net(),
    lambda: _Custom(),
    lambda: None,
])
def test_hybridized_equals_imperative_values_and_gradients(make):
    mx.random.seed(0)
    net = make()
    if net is None:
        net = nn.HybridSequential()
        net.add(nn.Dense(5, activation="sigmoid"), nn.Dropout(0.0), nn.Dense(2))
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(np.random.RandomState(0).uniform(-1, 1, (4, 5)))
    results = []
    for hybrid in (False, True, True):
        net.hybridize(hybrid, clear=False)
        with autograd.record():
            y = net(x)
            loss = (y * y).sum()
        loss.backward()
        results.append((y.asnumpy(), {k: p.grad().asnumpy().copy() for k, p in net.collect_params().items()
                                      if p.grad_req != "null"}))
    assert net._cached_op is not None, net._trace_error
    for y, grads in results[1:]:
        np.testing.assert_allclose(y, results[0][0], rtol=1e-5, atol=1e-6)
        for k in grads:
            np.testing.assert_allclose(grads[k], results[0][1][k], rtol=1e-4, atol=1e-6, err_msg=k)


def test_hybridized_block_called_on_symbols_gives_a_symbol():
    with mx.name.NameManager():
        net = fixture_net()
    out = net(mx.sym.var("data"))
    assert isinstance(out, mx.sym.Symbol)
    assert out.list_arguments()[:3] == ["data", "hybridsequential0_dense0_weight", "hybridsequential0_dense0_bias"]
    assert out.list_auxiliary_states() == ["hybridsequential0_batchnorm0_running_mean",
                                           "hybridsequential0_batchnorm0_running_var"]


def test_hybrid_child_rules():
    net = nn.HybridSequential()
    with pytest.raises(ValueError, match="Children of HybridBlock must also be HybridBlock"):
        net.add(nn.Lambda("tanh"))
    with pytest.raises(ValueError, match="mixed NDArrays and Symbols"):
        gluon.loss.L2Loss()(mx.nd.ones((1,)), mx.sym.var("x"))


# ----- files -------------------------------------------------------------------------------------
def _trained_fixture_net(load):
    net = fixture_net()
    load(net)
    return net


def _predict(net):
    io = np.load(os.path.join(DATA, "net_io.npz"))
    return net(mx.nd.array(io["x"])).asnumpy(), io


@pytest.mark.parametrize("how", ["structural", "collect_params"])
def test_load_files_written_by_mxnet(how):
    with mx.name.NameManager():
        net = fixture_net()
    if how == "structural":
        net.load_parameters(os.path.join(DATA, "net.params"))
    else:
        net.collect_params().load(os.path.join(DATA, "net_prefixed.params"))
    y, io = _predict(net)
    np.testing.assert_allclose(y, io["y"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net[1].running_var.data().asnumpy(), io["running_var"], rtol=1e-6)


def test_load_parameters_of_a_full_name_file_fails_as_in_mxnet():
    # MXNet restores this block's prefix onto names that already carry it: use collect_params().load
    with mx.name.NameManager():
        net = fixture_net()
    with pytest.raises(AssertionError, match="'dense0_weight' is missing in file"):
        net.load_parameters(os.path.join(DATA, "net_prefixed.params"))


def test_save_parameters_uses_structural_names_mxnet_reads(tmp_path):
    with mx.name.NameManager():
        net = fixture_net()
    net.load_parameters(os.path.join(DATA, "net.params"))
    net.save_parameters(str(tmp_path / "out.params"))
    theirs = mx.nd.load(os.path.join(DATA, "net.params"))
    ours = mx.nd.load(str(tmp_path / "out.params"))
    assert sorted(ours) == sorted(theirs) == sorted(["0.weight", "0.bias", "1.gamma", "1.beta", "1.running_mean",
                                                     "1.running_var", "2.weight", "2.bias"])
    for k in theirs:
        np.testing.assert_array_equal(ours[k].asnumpy(), theirs[k].asnumpy())
    with open(tmp_path / "out.params", "rb") as a, open(os.path.join(DATA, "net.params"), "rb") as b:
        assert len(a.read()) == len(b.read())


def test_load_parameters_missing_extra_and_dtype(tmp_path):
    small = nn.HybridSequential()
    small.add(nn.Dense(8, activation="relu", in_units=5))
    with pytest.raises(ValueError, match="not present in ParameterDict.*ignore_extra"):
        small.load_parameters(os.path.join(DATA, "net.params"))
    small.load_parameters(os.path.join(DATA, "net.params"), ignore_extra=True)
    big = fixture_net()
    big.add(nn.Dense(2, in_units=3))
    with pytest.raises(AssertionError, match="'3.weight' is missing"):
        big.load_parameters(os.path.join(DATA, "net.params"))
    big.load_parameters(os.path.join(DATA, "net.params"), allow_missing=True)
    wide = nn.Dense(2, in_units=2)
    wide.initialize()
    f64 = nn.Dense(2, in_units=2, dtype="float64")
    wide.save_parameters(str(tmp_path / "w.params"))
    with pytest.raises(AssertionError, match="dtype incompatible.*cast_dtype=True"):
        f64.load_parameters(str(tmp_path / "w.params"))
    f64.load_parameters(str(tmp_path / "w.params"), cast_dtype=True)
    assert f64.weight.data().dtype == np.float64
    bad = nn.Dense(3, in_units=2)
    with pytest.raises(AssertionError, match="shape incompatible"):
        bad.load_parameters(str(tmp_path / "w.params"))


def test_export_then_module_load_and_symbolblock_predict_the_same(tmp_path):
    with mx.name.NameManager():
        net = fixture_net()
    net.load_parameters(os.path.join(DATA, "net.params"))
    net.hybridize()
    y, io = _predict(net)
    prefix = str(tmp_path / "exported")
    net.export(prefix, epoch=3)
    assert os.path.exists(prefix + "-symbol.json") and os.path.exists(prefix + "-0003.params")
    names = sorted(mx.nd.load(prefix + "-0003.params"))
    assert sorted(names) == sorted(mx.nd.load(os.path.join(DATA, "net-0000.params")))
    mod = mx.mod.Module.load(prefix, 3, data_names=["data"], label_names=None)
    mod.bind(data_shapes=[("data", io["x"].shape)], for_training=False)
    mod.forward(mx.io.DataBatch([mx.nd.array(io["x"])]), is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), io["y"], rtol=1e-5, atol=1e-6)
    block = nn.SymbolBlock.imports(prefix + "-symbol.json", ["data"], prefix + "-0003.params")
    np.testing.assert_allclose(block(mx.nd.array(io["x"])).asnumpy(), y, rtol=1e-6)


def test_symbolblock_imports_mxnet_export_and_trains():
    block = nn.SymbolBlock.imports(os.path.join(DATA, "net-symbol.json"), ["data"],
                                   os.path.join(DATA, "net-0000.params"))
    io = np.load(os.path.join(DATA, "net_io.npz"))
    np.testing.assert_allclose(block(mx.nd.array(io["x"])).asnumpy(), io["y"], rtol=1e-5, atol=1e-6)
    params = block.collect_params()
    assert params["hybridsequential0_batchnorm0_running_mean"].grad_req == "null"
    with autograd.record():
        loss = block(mx.nd.array(io["x"])).sum()
    loss.backward()
    assert np.abs(params["hybridsequential0_dense1_weight"].grad().asnumpy()).sum() > 0


def test_export_before_a_forward_says_what_to_do():
    net = fixture_net()
    net.initialize()
    with pytest.raises(RuntimeError, match="hybridize"):
        net.export("nowhere")


def test_lambda_blocks_and_hooks():
    lam = nn.Lambda("tanh")
    np.testing.assert_allclose(lam(mx.nd.array([0.5])).asnumpy(), np.tanh([0.5]), rtol=1e-6)
    hyb = nn.HybridLambda(lambda F, x: F.relu(x) * 2)
    hyb.hybridize()
    np.testing.assert_array_equal(hyb(mx.nd.array([-1.0, 2.0])).asnumpy(), [0.0, 4.0])
    seen = []
    handle = lam.register_forward_hook(lambda b, i, o: seen.append(o.shape))
    lam(mx.nd.ones((2, 2)))
    handle.detach()
    lam(mx.nd.ones((2, 2)))
    assert seen == [(2, 2)]


def test_sequential_container_slicing_and_warnings():
    net = nn.Sequential()
    net.add(nn.Dense(3), nn.Dense(4), nn.Dense(5))
    assert len(net) == 3 and isinstance(net[1:], nn.Sequential) and len(net[1:]) == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.hybridize()
    assert any("HybridSequential" in str(w.message) for w in caught)


def test_argument_structure_none_and_device_rules():
    class Pair(nn.HybridBlock):
        def hybrid_forward(self, F, a, b=None):
            return a if b is None else a + b

    block = Pair()
    block.hybridize()
    one = mx.nd.ones((3,))
    np.testing.assert_array_equal(block(one).asnumpy(), np.ones(3))
    np.testing.assert_array_equal(block(one, None).asnumpy(), np.ones(3))   # a trailing None is the default
    with pytest.raises(ValueError, match="argument structure of HybridBlock does not match"):
        block(one, one)
    fresh = Pair()
    np.testing.assert_array_equal(fresh(one, 1).asnumpy(), np.full(3, 2.0))  # numbers are fine imperatively
    fresh.hybridize()
    with pytest.raises(ValueError, match="must be \\(nested\\) list of Symbol or NDArray"):
        fresh(one, 1)
    with pytest.raises(ValueError, match="multiple contexts"):
        fresh(mx.nd.ones((3,), ctx=mx.cpu(1)), mx.nd.ones((3,), ctx=mx.cpu(2)))


def test_padding_and_group_norm_layers_hybridize():
    x = mx.nd.array(np.random.RandomState(1).uniform(-1, 1, (2, 4, 3, 3)))
    pad = nn.ReflectionPad2D(1)
    np.testing.assert_array_equal(pad(x).asnumpy(),
                                  np.pad(x.asnumpy(), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect"))
    gn = nn.GroupNorm(num_groups=2)
    gn.initialize()
    grouped = x.asnumpy().reshape(2, 2, -1)
    want = ((grouped - grouped.mean(-1, keepdims=True)) / np.sqrt(grouped.var(-1, keepdims=True) + 1e-5))
    np.testing.assert_allclose(gn(x).asnumpy(), want.reshape(x.shape), rtol=1e-4, atol=1e-5)
    for block in (pad, gn, nn.InstanceNorm(in_channels=4), nn.LayerNorm(in_channels=3)):
        if block is not gn:
            block.initialize()
        imperative = block(x).asnumpy()
        block.hybridize()
        block(x)
        np.testing.assert_allclose(block(x).asnumpy(), imperative, rtol=1e-5, atol=1e-6)


def test_constant_parameter_in_a_hybrid_block_stays_put():
    class AddConst(nn.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.const = self.params.get_constant("const", np.array([[1.0, 2.0], [3.0, 4.0]]))

        def hybrid_forward(self, F, x, const):
            return x + const

    block = AddConst()
    block.initialize()
    trainer = gluon.Trainer(block.collect_params(), "sgd", {"learning_rate": 1.0})
    x = mx.nd.ones((2, 2))
    x.attach_grad()
    for hybrid in (False, True):
        block.hybridize(hybrid)
        with autograd.record():
            y = block(x)
        y.backward()
        trainer.step(1)
        np.testing.assert_array_equal(y.asnumpy(), [[2.0, 3.0], [4.0, 5.0]])
        np.testing.assert_array_equal(x.grad.asnumpy(), np.ones((2, 2)))


class _OwnWeight(nn.HybridBlock):
    """A block whose parameter shape only symbolic shape inference can fill (no layer rule)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.w = self.params.get("w", shape=(4, 0), allow_deferred_init=True)

    def hybrid_forward(self, F, x, w):
        return F.FullyConnected(x, w, num_hidden=4, no_bias=True)


@pytest.mark.parametrize("hybrid", [False, True])
def test_deferred_shapes_by_symbolic_inference(hybrid):
    block = _OwnWeight()
    block.initialize(mx.init.One())
    if hybrid:
        block.hybridize()
    np.testing.assert_array_equal(block(mx.nd.ones((2, 3))).asnumpy(), np.full((2, 4), 3.0))
    assert block.w.shape == (4, 3)
    bad = _Unknowable()
    bad.initialize()
    with pytest.raises(ValueError, match="Deferred initialization failed because shape cannot be inferred"):
        bad(mx.nd.ones((2, 3)))


class _Unknowable(nn.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.b = self.params.get("b", shape=(0,), allow_deferred_init=True)

    def hybrid_forward(self, F, x, b):
        return F.broadcast_add(F.sum(x), b)
