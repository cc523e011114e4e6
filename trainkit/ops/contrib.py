"""Small ``contrib`` operators (``mx.nd.contrib.quadratic``, ``div_sqrt_dim``, ``allclose``,
``index_copy``, ``arange_like``) and the finiteness checks ``all_finite``/``multi_all_finite``.

Named with MXNet's ``_contrib_`` prefix, so the table puts them in ``mx.nd.contrib`` and
``mx.sym.contrib``.
"""
import math

import numpy as np

from .core import primitive
from .table import operator, same_shape
from ..base import MXNetError
from ..ndarray.ndarray import NDArray, apply


def _const(data, like):
    return NDArray(like._ctx.xp.asarray(data), like._ctx)


@operator(infer=same_shape, hint="quadratic")
def _contrib_quadratic(data, a=0.0, b=0.0, c=0.0, name=None):
    """``a x² + b x + c``, elementwise."""
    return data * data * float(a) + data * float(b) + float(c)


@operator(infer=same_shape, hint="div_sqrt_dim")
def _contrib_div_sqrt_dim(data, name=None):
    """``data / sqrt(data.shape[-1])`` (attention's scaling)."""
    return data * (1.0 / math.sqrt(data.shape[-1]))


@operator(("a", "b"), hint="allclose")
def _contrib_allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=True, name=None):
    """1 (a 0-d uint8 array, as MXNet's) when ``|a - b| <= atol + rtol |b|`` everywhere, else 0."""
    close = np.allclose(a.asnumpy(), b.asnumpy(), rtol=float(rtol), atol=float(atol), equal_nan=bool(equal_nan))
    return _const(np.array(int(close), np.uint8), a)


def _index_copy_vjp(g, out, old, new, rows):
    from .gather import take_flat
    keep = np.ones(old.shape, old.dtype)
    keep[rows] = 0
    inner = int(np.prod(old.shape[1:]))
    picked = (rows[:, None] * inner + np.arange(inner)[None, :]).reshape(new.shape)
    return g * _const(keep, g), take_flat(g, picked)


INDEX_COPY = primitive("_contrib_index_copy", lambda old, new, rows: _index_copy_fwd(old, new, rows),
                       _index_copy_vjp)


def _index_copy_fwd(old, new, rows):
    out = old.copy()
    out[rows] = new
    return out


@operator(("old_tensor", "index_vector", "new_tensor"), hint="index_copy")
def _contrib_index_copy(old_tensor, index_vector, new_tensor, name=None):
    """``old_tensor`` with rows ``index_vector[i]`` replaced by ``new_tensor[i]``."""
    rows = index_vector.asnumpy().astype(np.int64).reshape(-1)
    if new_tensor.shape != (len(rows),) + old_tensor.shape[1:]:
        raise MXNetError(f"index_copy: new_tensor has shape {new_tensor.shape}, but {len(rows)} indices into "
                         f"old_tensor of shape {old_tensor.shape} need {(len(rows),) + old_tensor.shape[1:]}.")
    if len(rows) and (rows.min() < 0 or rows.max() >= old_tensor.shape[0]):
        raise IndexError(f"index_copy: indices {rows.tolist()} out of range for {old_tensor.shape[0]} rows.")
    return apply(INDEX_COPY, old_tensor, new_tensor, rows=rows)


@operator(hint="arange_like")
def _contrib_arange_like(data, start=0.0, step=1.0, repeat=1, axis=None, name=None):
    """``start, start + step, ...`` shaped like ``data`` (or as long as its ``axis``)."""
    n = data.size if axis is None else data.shape[int(axis)]
    count = -(-n // int(repeat))
    values = np.repeat(start + step * np.arange(count, dtype=np.float64), int(repeat))[:n]
    values = values.astype(data._data.dtype if data._data.dtype.kind == "f" else np.float32)
    return _const(values.reshape(data.shape) if axis is None else values, data)


@operator()
def all_finite(data, init_output=True, name=None):
    """[1.] when every element of ``data`` is finite, else [0.] (float32, shape (1,))."""
    return _const(np.array([float(np.isfinite(data.asnumpy()).all())], np.float32), data)


@operator(("*data",))
def multi_all_finite(*data, num_arrays=1, init_output=True, name=None):
    """[1.] when every element of every array is finite, else [0.]."""
    ok = all(np.isfinite(d.asnumpy()).all() for d in data)
    return _const(np.array([float(ok)], np.float32), data[0])


def _test(fn):
    return lambda data, name=None: _const(fn(data.asnumpy()).astype(data._data.dtype), data)


_contrib_isinf = operator(infer=same_shape, hint="isinf", name="_contrib_isinf")(_test(np.isinf))
_contrib_isfinite = operator(infer=same_shape, hint="isfinite", name="_contrib_isfinite")(_test(np.isfinite))
_contrib_isnan = operator(infer=same_shape, hint="isnan", name="_contrib_isnan")(_test(np.isnan))
