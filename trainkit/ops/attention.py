"""MXNet's fused multi-head attention products (``mx.nd.contrib.interleaved_matmul_*``).

Projections arrive interleaved per head in one tensor of shape ``(seq, batch, heads * k * dim)``
(``k`` = 3 for query/key/value, 2 for key/value); each operator splits out the heads and runs one
``batch_dot`` over ``batch * heads``. They are written with trainkit's own operators, so their
gradients (of any order) come from those.
"""
import math

from . import nn, shape as sh
from .table import operator


def _heads(x, heads, parts, which):
    """Part ``which`` of ``x`` (seq, batch, heads * parts * dim) as (batch * heads, seq, dim)."""
    seq, batch = x.shape[0], x.shape[1]
    dim = x.shape[2] // (heads * parts)
    part = sh.slice_axis(sh.reshape(x, (seq, batch, heads, parts, dim)), axis=3, begin=which, end=which + 1)
    return sh.reshape(sh.transpose(sh.reshape(part, (seq, batch, heads, dim)), (1, 2, 0, 3)),
                      (batch * heads, seq, dim))


def _merge_heads(out, heads):
    """(batch * heads, seq, dim) back to (seq, batch, heads * dim)."""
    bh, seq, dim = out.shape
    return sh.reshape(sh.transpose(sh.reshape(out, (bh // heads, heads, seq, dim)), (2, 0, 1, 3)),
                      (seq, bh // heads, heads * dim))


def _scaled(q):
    return q * (1.0 / math.sqrt(q.shape[-1]))


@operator(("queries_keys_values",), hint="interleaved_matmul_selfatt_qk")
def _contrib_interleaved_matmul_selfatt_qk(queries_keys_values, heads=1, name=None):
    """Attention scores ``q kᵀ / sqrt(dim)``, (batch * heads, seq, seq), from interleaved q/k/v."""
    heads = int(heads)
    q = _scaled(_heads(queries_keys_values, heads, 3, 0))
    return nn.batch_dot(q, _heads(queries_keys_values, heads, 3, 1), transpose_b=True)


@operator(("queries_keys_values", "attention"), hint="interleaved_matmul_selfatt_valatt")
def _contrib_interleaved_matmul_selfatt_valatt(queries_keys_values, attention, heads=1, name=None):
    """``attention · v`` per head, merged back to (seq, batch, heads * dim)."""
    heads = int(heads)
    return _merge_heads(nn.batch_dot(attention, _heads(queries_keys_values, heads, 3, 2)), heads)


@operator(("queries", "keys_values"), hint="interleaved_matmul_encdec_qk")
def _contrib_interleaved_matmul_encdec_qk(queries, keys_values, heads=1, name=None):
    """Scores of decoder queries (seq_q, batch, heads * dim) against interleaved encoder keys/values."""
    heads = int(heads)
    q = _scaled(_heads(queries, heads, 1, 0))
    return nn.batch_dot(q, _heads(keys_values, heads, 2, 0), transpose_b=True)


@operator(("keys_values", "attention"), hint="interleaved_matmul_encdec_valatt")
def _contrib_interleaved_matmul_encdec_valatt(keys_values, attention, heads=1, name=None):
    """``attention · v`` with v from interleaved encoder keys/values, merged to (seq_q, batch, heads * dim)."""
    heads = int(heads)
    return _merge_heads(nn.batch_dot(attention, _heads(keys_values, heads, 2, 1)), heads)
