"""gluon.utils: split_and_load, clip_global_norm, check_sha1, download (no network), and the nn layers' maths."""
import hashlib

import numpy as np
import pytest

import trainkit as mx
from trainkit import autograd, gluon
from trainkit.gluon import nn, utils


def test_split_and_load_even_and_uneven():
    data = np.arange(20).reshape(10, 2)
    parts = utils.split_and_load(data, [mx.cpu(0), mx.cpu(1)])
    assert [p.shape for p in parts] == [(5, 2), (5, 2)] and parts[1].context == mx.cpu(1)
    np.testing.assert_array_equal(parts[1].asnumpy(), data[5:])
    with pytest.raises(ValueError, match="cannot be evenly split"):
        utils.split_and_load(data, [mx.cpu(0)] * 3)
    uneven = utils.split_data(mx.nd.array(data), 3, even_split=False)
    assert [p.shape[0] for p in uneven] == [4, 3, 3]
    assert utils.split_and_load(data, mx.cpu())[0].shape == (10, 2)


def test_clip_global_norm_scales_in_place():
    a, b = mx.nd.array([3.0, 0.0]), mx.nd.array([[4.0]])
    norm = utils.clip_global_norm([a, b], 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(a.asnumpy(), [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(b.asnumpy(), [[0.8]], rtol=1e-6)
    c = mx.nd.array([0.1])
    assert utils.clip_global_norm([c], 1.0) == pytest.approx(0.1)
    np.testing.assert_allclose(c.asnumpy(), [0.1], rtol=1e-6)
    with pytest.warns(UserWarning, match="nan or inf"):
        utils.clip_global_norm([mx.nd.array([np.inf])], 1.0)


def test_check_sha1_and_download_without_network(tmp_path):
    f = tmp_path / "file.bin"
    f.write_bytes(b"trainkit")
    assert utils.check_sha1(str(f), hashlib.sha1(b"trainkit").hexdigest())
    assert not utils.check_sha1(str(f), "0" * 40)
    assert utils.download("http://example.com/file.bin", path=str(tmp_path)) == str(f)
    with pytest.raises(RuntimeError, match="no network access.*place it at"):
        utils.download("http://example.com/other.bin", path=str(tmp_path))


def _run(block, x):
    block.initialize()
    return block(mx.nd.array(x)).asnumpy()


def test_activation_layers_match_their_formulas():
    x = np.linspace(-2, 2, 9).reshape(3, 3).astype(np.float32)
    np.testing.assert_allclose(_run(nn.LeakyReLU(0.1), x), np.where(x > 0, x, 0.1 * x), rtol=1e-6)
    np.testing.assert_allclose(_run(nn.ELU(0.5), x), np.where(x > 0, x, 0.5 * np.expm1(x)), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_run(nn.SELU(), x),
                               1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_run(nn.Swish(2.0), x), x / (1 + np.exp(-2 * x)), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_run(nn.PReLU(), x), np.where(x > 0, x, 0.25 * x), rtol=1e-6)
    from math import erf
    gelu = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))))(x)
    np.testing.assert_allclose(_run(nn.GELU(), x), gelu, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(_run(nn.Activation("tanh"), x), np.tanh(x), rtol=1e-6)


def test_norm_embedding_flatten_dropout_layers():
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (4, 3, 5)).astype(np.float32)
    ln = _run(nn.LayerNorm(), x)
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln, want, rtol=1e-4, atol=1e-5)
    inorm = _run(nn.InstanceNorm(), x)
    want = (x - x.mean(2, keepdims=True)) / np.sqrt(x.var(2, keepdims=True) + 1e-5)
    np.testing.assert_allclose(inorm, want, rtol=1e-4, atol=1e-5)
    emb = nn.Embedding(6, 2)
    emb.initialize()
    idx = mx.nd.array([[0, 5], [2, 2]])
    np.testing.assert_array_equal(emb(idx).asnumpy(), emb.weight.data().asnumpy()[[[0, 5], [2, 2]]])
    assert _run(nn.Flatten(), x).shape == (4, 15)
    drop = nn.Dropout(0.5)
    drop.initialize()
    np.testing.assert_array_equal(drop(mx.nd.ones((10,))).asnumpy(), np.ones(10))
    with autograd.record():
        dropped = drop(mx.nd.ones((1000,))).asnumpy()
    assert set(np.unique(dropped)) <= {0.0, 2.0} and 300 < (dropped == 0).sum() < 700


def test_batchnorm_layer_updates_running_stats_only_when_training():
    bn = nn.BatchNorm(momentum=0.5)
    bn.initialize()
    x = mx.nd.array(np.arange(8, dtype=np.float32).reshape(4, 2))
    bn(x)
    np.testing.assert_array_equal(bn.running_mean.data().asnumpy(), [0.0, 0.0])
    with autograd.record():
        out = bn(x)
    np.testing.assert_allclose(bn.running_mean.data().asnumpy(), [1.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(out.asnumpy().mean(0), [0.0, 0.0], atol=1e-5)
    assert bn.gamma.grad_req == "write" and nn.BatchNorm(scale=False).gamma.grad_req == "null"


def test_constant_and_parameter_errors():
    c = gluon.Constant("c", mx.nd.array([1.0, 2.0]))
    c.initialize()
    np.testing.assert_array_equal(c.data().asnumpy(), [1.0, 2.0])
    assert c.grad_req == "null"
    p = gluon.Parameter("p", shape=(2, 3))
    with pytest.raises(ValueError, match="grad_req must be one of"):
        p.grad_req = "sometimes"
    with pytest.raises(AssertionError, match="incompatible"):
        p.shape = (2, 4)
    params = gluon.ParameterDict("blk_")
    w = params.get("w", shape=(2, 0))
    assert params.get("w", shape=(2, 5)) is w and w.shape == (2, 5)
    with pytest.raises(AssertionError, match="desired attribute does not match"):
        params.get("w", lr_mult=3.0)


def test_out_of_scope_gluon_modules_say_so():
    with pytest.raises(AttributeError, match="mx.gluon.rnn is not part of trainkit"):
        gluon.rnn  # noqa: B018
