"""``mx.nd.random``: draws from trainkit's MXNet-compatible generator (see ``trainkit.random``)."""
import numpy as np

from .. import random as _rng
from ..context import current_context
from .ndarray import NDArray, _to_device


def _wrap(data, ctx, out):
    ctx = ctx or current_context()
    if ctx.device_type == "gpu":
        data = _to_device(data, ctx)
    if out is not None:
        out[:] = data
        return out
    return NDArray(data, ctx)


def uniform(low=0.0, high=1.0, shape=(1,), dtype=None, ctx=None, out=None, **kwargs):
    """Samples from U[low, high), the same stream as MXNet 1.9.1's CPU generator."""
    shape, dtype = _target(shape, dtype, out)
    return _wrap(_rng.uniform(low, high, shape, dtype), ctx, out)


def normal(loc=0.0, scale=1.0, shape=(1,), dtype=None, ctx=None, out=None, **kwargs):
    """Samples from N(loc, scale²), the same stream as MXNet 1.9.1's CPU generator."""
    shape, dtype = _target(shape, dtype, out)
    return _wrap(_rng.normal(loc, scale, shape, dtype), ctx, out)


def _target(shape, dtype, out):
    if out is not None:
        return out.shape, out.dtype
    return ((shape,) if isinstance(shape, int) else tuple(shape)), np.dtype(dtype or np.float32)
