"""BucketingModule: buckets made on demand, parameters and optimizer shared, grad_req, checkpoints."""
import numpy as np
import pytest

import trainkit as mx
from trainkit.base import MXNetError


def _scale_gen(_key):
    data = mx.sym.Variable("data")
    weight = mx.sym.Variable("a", shape=(1,), init=mx.init.One())
    return mx.sym.make_loss(mx.sym.broadcast_mul(data, weight)), ("data",), None


def _batch(key, n=2):
    return mx.io.DataBatch(data=[mx.nd.ones((n,))], label=None, bucket_key=key,
                           provide_data=[mx.io.DataDesc("data", (n,), layout="N")])


@pytest.mark.parametrize("req,expected", [("write", [2.0, 2.0]), ("add", [2.0, 4.0])])
def test_grad_req_is_shared_across_buckets(req, expected):
    mod = mx.mod.BucketingModule(sym_gen=_scale_gen, default_bucket_key=10)
    mod.bind(data_shapes=[("data", (2,))], for_training=True, grad_req=req)
    mod.init_params()
    got = []
    for key in (10, 5):
        mod.forward_backward(_batch(key))
        got.append(mod._curr_module._exec_group.execs[0].grad_dict["a"].asscalar())
    assert got == expected
    assert mod._curr_module._grad_req == req
    assert sorted(mod._buckets) == [5, 10]


def _chain_gen(depth):
    data = mx.sym.Variable("data")
    w, b = mx.sym.Variable("w_weight"), mx.sym.Variable("b_bias")
    out = data
    for i in range(depth):
        out = mx.sym.FullyConnected(out, weight=w, bias=b, num_hidden=3, name=f"fc{i}")
    return mx.sym.LinearRegressionOutput(out, name="lro"), ("data",), ("lro_label",)


def test_buckets_share_parameters_and_optimizer():
    mod = mx.mod.BucketingModule(sym_gen=_chain_gen, default_bucket_key=3)
    mod.bind(data_shapes=[("data", (4, 3))], label_shapes=[("lro_label", (4, 3))])
    mod.init_params(mx.init.Uniform(0.5))
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1})
    rng = np.random.RandomState(0)
    x, y = rng.rand(4, 3).astype(np.float32), rng.rand(4, 3).astype(np.float32)
    w0 = mod.get_params()[0]["w_weight"].asnumpy().copy()
    b0 = mod.get_params()[0]["b_bias"].asnumpy().copy()
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)], bucket_key=1,
                            provide_data=[("data", (4, 3))], provide_label=[("lro_label", (4, 3))])
    mod.forward(batch, is_train=True)
    assert mod.symbol.list_arguments() == ["data", "w_weight", "b_bias", "lro_label"]
    mod.backward()
    mod.update()
    assert mod._buckets[1]._exec_args["w_weight"] is mod._buckets[3]._exec_args["w_weight"]
    # one FullyConnected into LinearRegressionOutput: d/dpred = (pred - y) / outputs per sample (3, as
    # MXNet), and Module rescales by 1/batch (4)
    pred = x @ w0.T + b0
    w1 = w0 - 0.1 * ((pred - y).T @ x) / 3 / 4
    np.testing.assert_allclose(mod.get_params()[0]["w_weight"].asnumpy(), w1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), pred, rtol=1e-5)


def test_switch_bucket_and_errors(tmp_path):
    with pytest.raises(MXNetError, match="default_bucket_key"):
        mx.mod.BucketingModule(sym_gen=_chain_gen)
    mod = mx.mod.BucketingModule(sym_gen=_chain_gen, default_bucket_key=2)
    with pytest.raises(MXNetError, match="call bind"):
        mod.switch_bucket(1, [("data", (4, 3))])
    mod.bind(data_shapes=[("data", (4, 3))], label_shapes=[("lro_label", (4, 3))])
    mod.init_params()
    mod.switch_bucket(1, [("data", (4, 3))], [("lro_label", (4, 3))])
    assert mod._curr_bucket_key == 1 and mod.output_shapes == [("lro_output", (4, 3))]
    mod.switch_bucket(2, None)
    mod.save_checkpoint(str(tmp_path / "bm"), 1)
    loaded = mx.mod.BucketingModule.load(str(tmp_path / "bm"), 1, sym_gen=_chain_gen, default_bucket_key=2)
    loaded.bind(data_shapes=[("data", (4, 3))], label_shapes=[("lro_label", (4, 3))])
    for name, arr in mod.get_params()[0].items():
        np.testing.assert_array_equal(loaded.get_params()[0][name].asnumpy(), arr.asnumpy())
