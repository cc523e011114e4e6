"""``mx.nd``: NDArray creation and every operator, as MXNet 1.x names them."""
from .ndarray import NDArray, install_fluent_methods as _install_fluent_methods, split_v2  # noqa: F401
from .creation import (arange, array, empty, eye, from_numpy, full, linspace, ones, ones_like,  # noqa: F401
                       waitall, zeros, zeros_like)
from . import ndarray, random, sparse  # noqa: F401,F811  (mx.nd.ndarray, mx.nd.random, mx.nd.sparse as in MXNet)
from ..ops.elementwise import (abs, add, arctan, broadcast_add, broadcast_div, broadcast_maximum,  # noqa: F401
                               broadcast_minimum, broadcast_mul, broadcast_power, broadcast_sub, cast, ceil,
                               clip, cos, cosh, divide, elemwise_add, elemwise_div, elemwise_mul, elemwise_sub,
                               equal, exp, expm1, floor, greater, greater_equal, lesser, lesser_equal, log,
                               log1p, maximum, minimum, multiply, negative, not_equal, power, reciprocal, relu,
                               round, sigmoid, sign, sin, sinh, softrelu, softsign, sqrt, square, subtract, tanh)
from ..ops.nn import (Activation, BatchNorm, Dropout, FullyConnected, LeakyReLU,  # noqa: F401
                      LinearRegressionOutput, LogisticRegressionOutput, MAERegressionOutput, Softmax,
                      SoftmaxOutput, batch_dot, dot, log_softmax, softmax, softmax_cross_entropy)
from ..ops.reduce import argmax, argmin, max, mean, min, norm, sum  # noqa: F401
from ..ops.shape import (Concat, Flatten, SliceChannel, broadcast_like, broadcast_to, concat,  # noqa: F401
                         expand_dims, flatten, identity, one_hot, pick, repeat, reshape, slice_axis, split,
                         squeeze, stack, swapaxes, take, tile, transpose, where)
from ..operator import Custom  # noqa: F401,E402 - mx.nd.Custom: Python operators (trainkit/operator.py)

Cast = cast
Reshape = reshape
copy = identity


def save(fname, data):
    """Write an NDArray, a list or a dict of name to NDArray in MXNet's binary format."""
    from .. import serialization
    if isinstance(data, NDArray):
        data = [data]
    if isinstance(data, dict):
        arrays = {}
        for k, v in data.items():
            if not isinstance(v, NDArray):
                raise TypeError(f"save: value for {k!r} is a {type(v).__name__}; only NDArrays can be saved.")
            arrays[k] = v.asnumpy()
    else:
        arrays = []
        for i, v in enumerate(data):
            if not isinstance(v, NDArray):
                raise TypeError(f"save: item {i} is a {type(v).__name__}; only NDArrays can be saved.")
            arrays.append(v.asnumpy())
    serialization.save(fname, arrays)


def load(fname, ctx=None):
    """Read a file written by ``save`` (or by MXNet), or an ``.npz``: a list or a dict of NDArrays."""
    from .. import serialization
    loaded = serialization.load(fname)
    if isinstance(loaded, dict):
        return {k: array(v, ctx, v.dtype) for k, v in loaded.items()}
    return [array(v, ctx, v.dtype) for v in loaded]


def load_frombuffer(buf):
    """Like ``load`` for the bytes of such a file; damaged bytes raise MXNetError."""
    from .. import serialization
    from ..base import MXNetError
    try:
        loaded = serialization.load_frombuffer(buf)
    except ValueError as err:
        raise MXNetError(str(err)) from None
    if isinstance(loaded, dict):
        return {k: array(v, None, v.dtype) for k, v in loaded.items()}
    return [array(v, None, v.dtype) for v in loaded]


def _export_operator_table():
    """Every operator registered with ``ops.table.operator`` is an ``mx.nd`` function (and its aliases)."""
    from .. import ops  # noqa: F401  (importing the package registers every operator module)
    from ..ops.table import export_nd
    export_nd(globals())  # also fills the sub-namespaces: _linalg_X -> nd.linalg.X, _random_X -> nd.random.X
    _install_fluent_methods(globals())  # x.sum(), x.topk(), ...: MXNet's fluent methods for every operator here


_export_operator_table()
