"""mx.kv: init/push/pull on one machine, aggregation by sum, updates on push, states, errors."""
import numpy as np
import pytest

import trainkit as mx
from trainkit.base import MXNetError


def nd(x):
    return mx.nd.array(x)


def test_namespace_and_identity():
    assert mx.kv is mx.kvstore
    kv = mx.kv.create()
    assert (kv.type, kv.rank, kv.num_workers) == ("local", 0, 1)
    assert mx.kv.create("device").type == "device" and kv.is_capable("optimizer")


def test_push_sums_the_values_of_one_key_and_pull_copies_out():
    kv = mx.kv.create("local")
    kv.init(3, mx.nd.ones((2, 3)))
    kv.push(3, [nd(np.full((2, 3), 2.)), nd(np.full((2, 3), 3.))])
    outs = [mx.nd.zeros((2, 3)), mx.nd.zeros((2, 3))]
    kv.pull(3, out=outs)
    for o in outs:
        np.testing.assert_array_equal(o.asnumpy(), np.full((2, 3), 5.))
    kv.init([5, 7], [mx.nd.zeros((2,)), mx.nd.ones((2,))])
    kv.push([5, 7], [nd([1., 2.]), nd([3., 4.])])
    a, b = mx.nd.zeros((2,)), mx.nd.zeros((2,))
    kv.pull([5, 7], out=[a, b])
    assert a.asnumpy().tolist() == [1, 2] and b.asnumpy().tolist() == [3, 4]


def test_set_optimizer_updates_on_push_and_pushpull():
    kv = mx.kv.create("local")
    kv.init("w", nd([1., 1.]))
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.1))
    kv.push("w", [nd([0.5, 1.]), nd([0.5, 1.])])        # gradient = sum = [1, 2]
    out = mx.nd.zeros((2,))
    kv.pull("w", out=out)
    np.testing.assert_allclose(out.asnumpy(), [0.9, 0.8], rtol=1e-6)
    v = nd([1., 1.])
    kv.pushpull("w", v)
    np.testing.assert_allclose(v.asnumpy(), [0.8, 0.7], rtol=1e-6)


def test_custom_updater_and_broadcast():
    kv = mx.kv.create("local")
    seen = []
    kv._set_updater(lambda key, grad, weight: (seen.append(key), weight.__setitem__(slice(None), weight + 2 * grad)))
    out = mx.nd.zeros((2,))
    kv.broadcast(0, nd([1., 2.]), out=out)
    assert out.asnumpy().tolist() == [1, 2]
    kv.push(0, nd([1., 1.]))
    kv.pull(0, out=out)
    assert out.asnumpy().tolist() == [3, 4] and seen == [0]


def test_optimizer_states_round_trip(tmp_path):
    kv = mx.kv.create("local")
    kv.init(0, nd([1., 1.]))
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    kv.push(0, nd([1., 1.]))
    kv.save_optimizer_states(str(tmp_path / "s"))
    kv2 = mx.kv.create("local")
    kv2.init(0, nd([1., 1.]))
    kv2.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    kv2.load_optimizer_states(str(tmp_path / "s"))
    np.testing.assert_allclose(kv2._updater.states[0].asnumpy(), [-0.1, -0.1], rtol=1e-6)


def test_errors():
    kv = mx.kv.create("local")
    kv.init(1, nd([1.]))
    with pytest.raises(MXNetError, match="duplicate init of key 1"):
        kv.init(1, nd([1.]))
    with pytest.raises(MXNetError, match="key 2 has not been inited"):
        kv.push(2, nd([1.]))
    with pytest.raises(MXNetError, match="Mixed key types are not allowed"):
        kv.init("a", nd([1.]))
    with pytest.raises(MXNetError, match="trainkit runs on one machine"):
        mx.kv.create("dist_sync")
    with pytest.raises(ValueError, match="Unknown KVStore type 'foo'"):
        mx.kv.create("foo")
    with pytest.raises(MXNetError, match="not supported for this type of kvstore"):
        kv.set_gradient_compression({"type": "2bit"})


def test_module_fit_accepts_a_kvstore():
    data = mx.sym.Variable("data")
    net = mx.sym.LinearRegressionOutput(mx.sym.FullyConnected(data, num_hidden=1, name="fc"), name="lro")
    it = mx.io.NDArrayIter(np.ones((4, 2), np.float32), np.ones((4,), np.float32), batch_size=2,
                           label_name="lro_label")
    mod = mx.mod.Module(net, label_names=["lro_label"])
    mod.fit(it, num_epoch=1, kvstore=mx.kv.create("local"), optimizer_params={"learning_rate": 0.01})
    assert mod.get_params()[0]["fc_weight"].shape == (1, 2)
