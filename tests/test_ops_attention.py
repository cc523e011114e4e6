"""contrib.interleaved_matmul_*: multi-head attention products on interleaved projections."""
import numpy as np

import trainkit as mx
from gradcheck import check_grads

nd = mx.nd
HEADS, DIM = 2, 3


def split(x, parts, which):
    """numpy: part ``which`` of (seq, batch, heads * parts * dim) as (batch, heads, seq, dim)."""
    seq, batch = x.shape[:2]
    return x.reshape(seq, batch, HEADS, parts, DIM)[:, :, :, which].transpose(1, 2, 0, 3)


def test_selfatt_scores_and_values_match_the_attention_formula():
    rng = np.random.default_rng(0)
    qkv = rng.normal(size=(4, 2, HEADS * 3 * DIM))
    att = rng.random((2 * HEADS, 4, 4))
    scores = nd.contrib.interleaved_matmul_selfatt_qk(nd.array(qkv, dtype=np.float64), heads=HEADS)
    q, k, v = (split(qkv, 3, i) for i in range(3))
    want = np.einsum("bhsd,bhtd->bhst", q, k) / np.sqrt(DIM)
    np.testing.assert_allclose(scores.asnumpy(), want.reshape(2 * HEADS, 4, 4), rtol=1e-12)
    out = nd.contrib.interleaved_matmul_selfatt_valatt(nd.array(qkv, dtype=np.float64),
                                                        nd.array(att, dtype=np.float64), heads=HEADS)
    ctx = np.einsum("bhst,bhtd->bhsd", att.reshape(2, HEADS, 4, 4), v)  # (batch, heads, seq, dim)
    np.testing.assert_allclose(out.asnumpy(), ctx.transpose(2, 0, 1, 3).reshape(4, 2, HEADS * DIM), rtol=1e-12)


def test_encdec_scores_and_values_match_the_attention_formula():
    rng = np.random.default_rng(1)
    q = rng.normal(size=(3, 2, HEADS * DIM))
    kv = rng.normal(size=(5, 2, HEADS * 2 * DIM))
    att = rng.random((2 * HEADS, 3, 5))
    scores = nd.contrib.interleaved_matmul_encdec_qk(nd.array(q, dtype=np.float64), nd.array(kv, dtype=np.float64),
                                                     heads=HEADS)
    want = np.einsum("bhsd,bhtd->bhst", split(q, 1, 0), split(kv, 2, 0)) / np.sqrt(DIM)
    np.testing.assert_allclose(scores.asnumpy(), want.reshape(2 * HEADS, 3, 5), rtol=1e-12)
    out = nd.contrib.interleaved_matmul_encdec_valatt(nd.array(kv, dtype=np.float64), nd.array(att, dtype=np.float64),
                                                      heads=HEADS)
    ctx = np.einsum("bhst,bhtd->bhsd", att.reshape(2, HEADS, 3, 5), split(kv, 2, 1))
    np.testing.assert_allclose(out.asnumpy(), ctx.transpose(2, 0, 1, 3).reshape(3, 2, HEADS * DIM), rtol=1e-12)


def test_gradients_first_and_second_order():
    rng = np.random.default_rng(2)
    qkv = nd.array(rng.normal(size=(3, 1, HEADS * 3 * DIM)), dtype=np.float64)
    att = nd.array(rng.random((HEADS, 3, 3)), dtype=np.float64)
    check_grads(lambda x: nd.contrib.interleaved_matmul_selfatt_qk(x, heads=HEADS), qkv)
    check_grads(lambda x, a: nd.contrib.interleaved_matmul_selfatt_valatt(x, a, heads=HEADS), qkv, att)


def test_symbol_form_infers_shapes_and_names():
    qkv = mx.sym.Variable("qkv")
    scores = mx.sym.contrib.interleaved_matmul_selfatt_qk(qkv, heads=HEADS)
    assert scores.name.startswith("interleaved_matmul_selfatt_qk")
    _, (out,), _ = scores.infer_shape(qkv=(4, 2, HEADS * 3 * DIM))
    assert out == (2 * HEADS, 4, 4)
