"""Binary operators beyond arithmetic: mod, hypot, logical and/or/xor, comparisons as
named operators (``broadcast_equal``, ``_equal``, ``_equal_scalar``, ...), and ``add_n``.

MXNet has three spellings of each: ``broadcast_X(lhs, rhs)`` broadcasts, ``_X(lhs, rhs)``
needs equal shapes (what ``Symbol == Symbol`` makes), ``_X_scalar(data, scalar)`` takes
a number (``_rX_scalar`` puts it on the left). Comparisons and logical operators
return 0/1 in the input's dtype and have no gradient.
"""
import numpy as np

from .core import primitive, unbroadcast
from . import elementwise as _ew
from .elementwise import (BROADCAST_EQUAL, BROADCAST_GREATER, BROADCAST_GREATER_EQUAL, BROADCAST_LESSER,
                          BROADCAST_LESSER_EQUAL, BROADCAST_NOT_EQUAL, EQUAL_SCALAR, GREATER_EQUAL_SCALAR,
                          GREATER_SCALAR, LESSER_EQUAL_SCALAR, LESSER_SCALAR, NOT_EQUAL_SCALAR, _binary, _scalar,
                          floor)
from .table import nd_function, operator, same_shape
from ..base import MXNetError
from ..ndarray.ndarray import apply


def _mxnet_mod(a, b):
    """MXNet's mod: the result takes the divisor's sign (as Python's %), and x mod 0 is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.mod(a, b)
    if np.issubdtype(np.asarray(out).dtype, np.floating):
        out = np.where(np.asarray(b) == 0, 0, out).astype(out.dtype)
    return out


def _logical(fn):
    return lambda a, b: fn(a != 0, b != 0).astype(a.dtype)


def _mod_vjp(g, out, a, b):
    return unbroadcast(g, a.shape), unbroadcast(-g * floor(a / b), b.shape)


def _hypot_vjp(g, out, a, b):
    return unbroadcast(g * a / out, a.shape), unbroadcast(g * b / out, b.shape)


BROADCAST_MOD = primitive("broadcast_mod", _mxnet_mod, _mod_vjp)
BROADCAST_HYPOT = primitive("broadcast_hypot", np.hypot, _hypot_vjp)
BROADCAST_LOGICAL_AND = primitive("broadcast_logical_and", _logical(np.logical_and), None)
BROADCAST_LOGICAL_OR = primitive("broadcast_logical_or", _logical(np.logical_or), None)
BROADCAST_LOGICAL_XOR = primitive("broadcast_logical_xor", _logical(np.logical_xor), None)

MOD_SCALAR = primitive("_mod_scalar", lambda x, scalar: _mxnet_mod(x, scalar).astype(x.dtype),
                       lambda g, out, x, scalar: (g,))
RMOD_SCALAR = primitive("_rmod_scalar", lambda x, scalar: _mxnet_mod(scalar, x).astype(x.dtype),
                        lambda g, out, x, scalar: (-g * floor(scalar / x),))
HYPOT_SCALAR = primitive("_hypot_scalar", lambda x, scalar: np.hypot(x, scalar).astype(x.dtype),
                         lambda g, out, x, scalar: (g * x / out,))
LOGICAL_AND_SCALAR = primitive("_logical_and_scalar", lambda x, scalar: _logical(np.logical_and)(x, scalar), None)
LOGICAL_OR_SCALAR = primitive("_logical_or_scalar", lambda x, scalar: _logical(np.logical_or)(x, scalar), None)
LOGICAL_XOR_SCALAR = primitive("_logical_xor_scalar", lambda x, scalar: _logical(np.logical_xor)(x, scalar), None)


def _broadcast(prim, aliases=()):
    def op(lhs, rhs, name=None):
        return apply(prim, lhs, rhs)
    op.__name__ = prim.name
    op.__doc__ = f"``{prim.name[10:]}`` of two NDArrays, with numpy broadcasting."
    return operator(("lhs", "rhs"), aliases=aliases)(op)


def _same_shape(prim, op_name):
    def op(lhs, rhs, name=None):
        if lhs.shape != rhs.shape:
            raise MXNetError(f"{op_name} needs inputs of the same shape, got {lhs.shape} and {rhs.shape}; use "
                             f"broadcast_{op_name.lstrip('_')} to broadcast.")
        return apply(prim, lhs, rhs)
    op.__name__ = op_name
    op.__doc__ = f"``{op_name.lstrip('_')}`` of two NDArrays of the same shape."
    return operator(("lhs", "rhs"))(op)


def _with_scalar(prim, op_name):
    def op(data, scalar, name=None):
        return apply(prim, data, scalar=_scalar(scalar))
    op.__name__ = op.__qualname__ = op_name
    op.__doc__ = f"``{prim.name}`` of an NDArray and the number ``scalar``."
    return operator(hint=op_name.replace("_scalar", "scalar") if op_name.endswith("mod_scalar") else None,
                    infer=same_shape)(op)


broadcast_mod = _broadcast(BROADCAST_MOD)
broadcast_hypot = _broadcast(BROADCAST_HYPOT)
broadcast_logical_and = _broadcast(BROADCAST_LOGICAL_AND)
broadcast_logical_or = _broadcast(BROADCAST_LOGICAL_OR)
broadcast_logical_xor = _broadcast(BROADCAST_LOGICAL_XOR)
broadcast_equal = _broadcast(BROADCAST_EQUAL)
broadcast_not_equal = _broadcast(BROADCAST_NOT_EQUAL)
broadcast_greater = _broadcast(BROADCAST_GREATER)
broadcast_greater_equal = _broadcast(BROADCAST_GREATER_EQUAL)
broadcast_lesser = _broadcast(BROADCAST_LESSER)
broadcast_lesser_equal = _broadcast(BROADCAST_LESSER_EQUAL)

_PAIRS = {"mod": BROADCAST_MOD, "hypot": BROADCAST_HYPOT, "logical_and": BROADCAST_LOGICAL_AND,
          "logical_or": BROADCAST_LOGICAL_OR, "logical_xor": BROADCAST_LOGICAL_XOR, "equal": BROADCAST_EQUAL,
          "not_equal": BROADCAST_NOT_EQUAL, "greater": BROADCAST_GREATER,
          "greater_equal": BROADCAST_GREATER_EQUAL, "lesser": BROADCAST_LESSER,
          "lesser_equal": BROADCAST_LESSER_EQUAL}
SAME_SHAPE = {k: _same_shape(prim, "_" + k) for k, prim in _PAIRS.items()}

_SCALARS = {"_mod_scalar": MOD_SCALAR, "_rmod_scalar": RMOD_SCALAR, "_hypot_scalar": HYPOT_SCALAR,
            "_logical_and_scalar": LOGICAL_AND_SCALAR, "_logical_or_scalar": LOGICAL_OR_SCALAR,
            "_logical_xor_scalar": LOGICAL_XOR_SCALAR, "_equal_scalar": EQUAL_SCALAR,
            "_not_equal_scalar": NOT_EQUAL_SCALAR, "_greater_scalar": GREATER_SCALAR,
            "_greater_equal_scalar": GREATER_EQUAL_SCALAR, "_lesser_scalar": LESSER_SCALAR,
            "_lesser_equal_scalar": LESSER_EQUAL_SCALAR}
# the arithmetic ones too (their symbols are hand-written in symbol_ops; this gives nd._internal._plus_scalar)
_SCALARS.update({p.name: p for p in (_ew.PLUS_SCALAR, _ew.MINUS_SCALAR, _ew.RMINUS_SCALAR, _ew.MUL_SCALAR,
                                     _ew.DIV_SCALAR, _ew.RDIV_SCALAR, _ew.POWER_SCALAR, _ew.RPOWER_SCALAR,
                                     _ew.MAXIMUM_SCALAR, _ew.MINIMUM_SCALAR)})
SCALAR_OPS = {k: _with_scalar(prim, k) for k, prim in _SCALARS.items()}


# ----- the Python-level functions that pick a spelling (mx.nd.modulo, logical_and, ...) ----------------
@nd_function
def modulo(lhs, rhs):
    """``lhs % rhs`` for NDArrays and numbers, broadcasting (the result takes the divisor's sign)."""
    return _binary(lhs, rhs, BROADCAST_MOD, MOD_SCALAR, RMOD_SCALAR)


@nd_function
def logical_and(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_LOGICAL_AND, LOGICAL_AND_SCALAR)


@nd_function
def logical_or(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_LOGICAL_OR, LOGICAL_OR_SCALAR)


@nd_function
def logical_xor(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_LOGICAL_XOR, LOGICAL_XOR_SCALAR)


# ----- add_n ------------------------------------------------------------------------------------------
ADD_N = {}


def _add_n_fwd(*xs):
    out = xs[0].copy()
    for x in xs[1:]:
        out += x
    return out


@operator(("*args",), aliases=("ElementWiseSum",))
def add_n(*args, name=None):
    """The sum of several NDArrays of one shape (MXNet's ``add_n`` / ``ElementWiseSum``)."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    if not args:
        raise MXNetError("add_n needs at least one array.")
    shapes = {x.shape for x in args}
    if len(shapes) != 1:
        raise MXNetError(f"add_n needs arrays of one shape, got {[x.shape for x in args]}.")
    prim = ADD_N.get(len(args))
    if prim is None:
        prim = ADD_N[len(args)] = primitive("add_n", _add_n_fwd, lambda g, out, *xs: (g,) * len(xs))
    return apply(prim, *args)
