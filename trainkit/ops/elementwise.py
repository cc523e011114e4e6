"""Elementwise primitives: arithmetic with broadcasting, scalars, comparisons and math functions.

Names are MXNet's operator names (``broadcast_add``, ``_plus_scalar``, ...),
which is what ``get_symbol`` writes.
"""
import builtins
import numbers
import operator as _py_op

import numpy as np

from .core import primitive, unbroadcast, wants_needs
from .table import operator, same_shape, write_out
from ..base import MXNetError
from ..ndarray.ndarray import NDArray, apply, _as_nd


def _scalar(value):
    # numpy scalars are "strong" under NEP 50 and would promote float32 arrays to float64
    return value.item() if isinstance(value, np.generic) else value


def _floats(vjp):
    """``vjp`` itself as a raw_vjp (the vjp on backend arrays: backward without create_graph, the compiled
    path). Its formula is arithmetic that numpy arrays compute as NDArrays do, for float gradients; integer
    ones (NDArray arithmetic follows MXNet's integer rules) and empty ones (MXNet's reshape codes read a 0
    as "keep") return None, so the NDArray vjp runs."""
    # one closure per signature: backward calls these for every node, and argument packing would cost
    # as much as the check
    if getattr(vjp, "wants_needs", False):  # the array (op) array vjps
        def raw(g, out, a, b, needs):
            return vjp(g, out, a, b, needs) if g.dtype.kind == "f" and g.size else None
    elif "scalar" in vjp.__code__.co_varnames:
        def raw(g, out, x, needs, scalar):
            return vjp(g, out, x, scalar) if g.dtype.kind == "f" and g.size else None
    else:
        def raw(g, out, x, needs):
            return vjp(g, out, x) if g.dtype.kind == "f" and g.size else None
    return raw


def _arithmetic(name, forward, vjp):
    """A primitive whose vjp is plain arithmetic, so the same vjp serves as its raw_vjp."""
    return primitive(name, forward, vjp, raw_vjp=_floats(vjp))


# ----- array (op) array ---------------------------------------------------------------------------
@wants_needs
def _add_vjp(g, out, a, b, needs):
    return (unbroadcast(g, a.shape) if needs[0] else None), (unbroadcast(g, b.shape) if needs[1] else None)


@wants_needs
def _sub_vjp(g, out, a, b, needs):
    return (unbroadcast(g, a.shape) if needs[0] else None), (unbroadcast(-g, b.shape) if needs[1] else None)


@wants_needs
def _mul_vjp(g, out, a, b, needs):
    return (unbroadcast(g * b, a.shape) if needs[0] else None), (unbroadcast(g * a, b.shape) if needs[1] else None)


@wants_needs
def _div_vjp(g, out, a, b, needs):
    return ((unbroadcast(g / b, a.shape) if needs[0] else None),
            (unbroadcast(-g * out / b, b.shape) if needs[1] else None))


def _pow_vjp(g, out, a, b):
    return (unbroadcast(g * b * a ** (b - 1), a.shape),
            unbroadcast(g * out * log(a), b.shape))


def _max_vjp(g, out, a, b):
    mask = greater_equal(a, b)
    return unbroadcast(g * mask, a.shape), unbroadcast(g * (1 - mask), b.shape)


def _min_vjp(g, out, a, b):
    mask = lesser_equal(a, b)
    return unbroadcast(g * mask, a.shape), unbroadcast(g * (1 - mask), b.shape)


BROADCAST_ADD = _arithmetic("broadcast_add", np.add, _add_vjp)
BROADCAST_SUB = _arithmetic("broadcast_sub", np.subtract, _sub_vjp)
BROADCAST_MUL = _arithmetic("broadcast_mul", np.multiply, _mul_vjp)
BROADCAST_DIV = _arithmetic("broadcast_div", np.divide, _div_vjp)
BROADCAST_POWER = primitive("broadcast_power", np.power, _pow_vjp)
BROADCAST_MAXIMUM = primitive("broadcast_maximum", np.maximum, _max_vjp)
BROADCAST_MINIMUM = primitive("broadcast_minimum", np.minimum, _min_vjp)


def _same_shape(ufunc, name):
    def forward(a, b):
        if a.shape != b.shape:
            raise MXNetError(f"{name} needs inputs of the same shape, got {a.shape} and {b.shape}; "
                             f"use broadcast_{name.split('_')[1]} (or the operator) to broadcast.")
        return ufunc(a, b)
    return forward


ELEMWISE_ADD = _arithmetic("elemwise_add", _same_shape(np.add, "elemwise_add"), _add_vjp)
ELEMWISE_SUB = _arithmetic("elemwise_sub", _same_shape(np.subtract, "elemwise_sub"), _sub_vjp)
ELEMWISE_MUL = _arithmetic("elemwise_mul", _same_shape(np.multiply, "elemwise_mul"), _mul_vjp)
ELEMWISE_DIV = _arithmetic("elemwise_div", _same_shape(np.divide, "elemwise_div"), _div_vjp)


def _compare(name, ufunc):
    return primitive(name, lambda a, b: ufunc(a, b).astype(a.dtype), None)


BROADCAST_EQUAL = _compare("broadcast_equal", np.equal)
BROADCAST_NOT_EQUAL = _compare("broadcast_not_equal", np.not_equal)
BROADCAST_GREATER = _compare("broadcast_greater", np.greater)
BROADCAST_GREATER_EQUAL = _compare("broadcast_greater_equal", np.greater_equal)
BROADCAST_LESSER = _compare("broadcast_lesser", np.less)
BROADCAST_LESSER_EQUAL = _compare("broadcast_lesser_equal", np.less_equal)


# ----- array (op) scalar ----------------------------------------------------------------------
PLUS_SCALAR = _arithmetic("_plus_scalar", lambda x, scalar: x + scalar, lambda g, out, x, scalar: (g,))
MINUS_SCALAR = _arithmetic("_minus_scalar", lambda x, scalar: x - scalar, lambda g, out, x, scalar: (g,))
RMINUS_SCALAR = _arithmetic("_rminus_scalar", lambda x, scalar: scalar - x, lambda g, out, x, scalar: (-g,))
MUL_SCALAR = _arithmetic("_mul_scalar", lambda x, scalar: x * scalar, lambda g, out, x, scalar: (g * scalar,))
DIV_SCALAR = _arithmetic("_div_scalar", lambda x, scalar: x / scalar, lambda g, out, x, scalar: (g / scalar,))


def _scalar_inline(op):
    """A scalar primitive whose forward is ``x op scalar`` and vjp ``g op scalar``, in compiled code: the
    forward, and its raw_vjp (``_floats``: the NDArray vjp for gradients that are not float or are empty)."""
    def forward(site):
        return [f"out = {site.ins[0]} {op} {site.const(site.attrs['scalar'])}"]

    def vjp(site):
        return ["if g.dtype.kind == 'f' and g.size:", f"    r0 = g {op} {site.const(site.attrs['scalar'])}",
                "else:", f"    r0 = {site.fallback}[0]"]
    return forward, vjp


MUL_SCALAR.inline, MUL_SCALAR.inline_vjp = _scalar_inline("*")
DIV_SCALAR.inline, DIV_SCALAR.inline_vjp = _scalar_inline("/")
RDIV_SCALAR = primitive("_rdiv_scalar", lambda x, scalar: scalar / x,
                        lambda g, out, x, scalar: (-g * out / x,))
POWER_SCALAR = primitive("_power_scalar", lambda x, scalar: x ** scalar,
                         lambda g, out, x, scalar: (g * scalar * x ** (scalar - 1),))
RPOWER_SCALAR = primitive("_rpower_scalar", lambda x, scalar: scalar ** x,
                          lambda g, out, x, scalar: (g * out * float(np.log(scalar)),))
MAXIMUM_SCALAR = primitive("_maximum_scalar", lambda x, scalar: np.maximum(x, scalar),
                           lambda g, out, x, scalar: (g * (x >= scalar),))
MINIMUM_SCALAR = primitive("_minimum_scalar", lambda x, scalar: np.minimum(x, scalar),
                           lambda g, out, x, scalar: (g * (x <= scalar),))


def _compare_scalar(name, ufunc):
    return primitive(name, lambda x, scalar: ufunc(x, scalar).astype(x.dtype), None)


EQUAL_SCALAR = _compare_scalar("_equal_scalar", np.equal)
NOT_EQUAL_SCALAR = _compare_scalar("_not_equal_scalar", np.not_equal)
GREATER_SCALAR = _compare_scalar("_greater_scalar", np.greater)
GREATER_EQUAL_SCALAR = _compare_scalar("_greater_equal_scalar", np.greater_equal)
LESSER_SCALAR = _compare_scalar("_lesser_scalar", np.less)
LESSER_EQUAL_SCALAR = _compare_scalar("_lesser_equal_scalar", np.less_equal)


def _binary(lhs, rhs, array_prim, scalar_prim, rscalar_prim=None):
    """Dispatch ``lhs (op) rhs`` where either side may be a Python/numpy scalar."""
    if isinstance(lhs, NDArray):
        if isinstance(rhs, NDArray):
            return apply(array_prim, lhs, rhs)
        if type(rhs) is float or type(rhs) is int:
            return apply(scalar_prim, lhs, scalar=rhs)
        if isinstance(rhs, numbers.Number):
            return apply(scalar_prim, lhs, scalar=_scalar(rhs))
        return apply(array_prim, lhs, _as_nd(rhs, lhs))
    if type(lhs) is float or type(lhs) is int or isinstance(lhs, numbers.Number):
        if isinstance(rhs, numbers.Number):  # two numbers: a number, as MXNet's nd.power(0.9, t)
            return _ON_NUMBERS[array_prim.name](lhs, rhs)
        return apply(rscalar_prim or scalar_prim, rhs, scalar=_scalar(lhs))
    return apply(array_prim, _as_nd(lhs, rhs), rhs)


_ON_NUMBERS = {
    "broadcast_add": _py_op.add, "broadcast_sub": _py_op.sub, "broadcast_mul": _py_op.mul,
    "broadcast_div": _py_op.truediv, "broadcast_power": _py_op.pow, "broadcast_maximum": builtins.max,
    "broadcast_minimum": builtins.min,
    # MXNet's comparisons of two numbers give 1 or 0
    "broadcast_equal": lambda a, b: int(a == b), "broadcast_not_equal": lambda a, b: int(a != b),
    "broadcast_greater": lambda a, b: int(a > b), "broadcast_greater_equal": lambda a, b: int(a >= b),
    "broadcast_lesser": lambda a, b: int(a < b), "broadcast_lesser_equal": lambda a, b: int(a <= b),
}


def add(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_ADD, PLUS_SCALAR)


def subtract(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_SUB, MINUS_SCALAR, RMINUS_SCALAR)


def multiply(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_MUL, MUL_SCALAR)


def divide(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_DIV, DIV_SCALAR, RDIV_SCALAR)


def power(base, exp):
    return _binary(base, exp, BROADCAST_POWER, POWER_SCALAR, RPOWER_SCALAR)


def maximum(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_MAXIMUM, MAXIMUM_SCALAR)


def minimum(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_MINIMUM, MINIMUM_SCALAR)


def equal(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_EQUAL, EQUAL_SCALAR)


def not_equal(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_NOT_EQUAL, NOT_EQUAL_SCALAR)


def greater(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_GREATER, GREATER_SCALAR, LESSER_SCALAR)


def greater_equal(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_GREATER_EQUAL, GREATER_EQUAL_SCALAR, LESSER_EQUAL_SCALAR)


def lesser(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_LESSER, LESSER_SCALAR, GREATER_SCALAR)


def lesser_equal(lhs, rhs):
    return _binary(lhs, rhs, BROADCAST_LESSER_EQUAL, LESSER_EQUAL_SCALAR, GREATER_EQUAL_SCALAR)


def _broadcast_infer(attrs, in_shapes):
    a, b = in_shapes
    if a is None or b is None:
        return in_shapes, [None]
    try:
        return in_shapes, [tuple(np.broadcast_shapes(tuple(a), tuple(b)))]
    except ValueError:
        raise MXNetError(f"shapes {tuple(a)} and {tuple(b)} cannot be broadcast together") from None


def _array_op(prim, aliases=()):
    # MXNet's binary array operators have no parameters, and an operator without parameters ignores
    # the keywords it is given (MXNet 1.9.1's own test_cosine_loss calls broadcast_maximum(..., axis=1))
    def op(lhs, rhs, name=None, out=None, **ignored):
        result = apply(prim, lhs, rhs)
        return result if out is None else write_out(result, out, prim.name)
    op.__name__ = prim.name
    op.__doc__ = f"``{prim.name}`` of two NDArrays (MXNet's operator of that name)."
    broadcasts = prim.name.startswith("broadcast_")
    return operator(("lhs", "rhs"), aliases=aliases, infer=_broadcast_infer if broadcasts else None)(op)


broadcast_add = _array_op(BROADCAST_ADD, ("broadcast_plus",))
broadcast_sub = _array_op(BROADCAST_SUB, ("broadcast_minus",))
broadcast_mul, broadcast_div, broadcast_power, broadcast_maximum, broadcast_minimum = map(
    _array_op, (BROADCAST_MUL, BROADCAST_DIV, BROADCAST_POWER, BROADCAST_MAXIMUM, BROADCAST_MINIMUM))
elemwise_add, elemwise_sub, elemwise_mul, elemwise_div = map(
    _array_op, (ELEMWISE_ADD, ELEMWISE_SUB, ELEMWISE_MUL, ELEMWISE_DIV))


# ----- unary math ----------------------------------------------------------------------------
def _libm(ufunc):
    """Evaluate in float64 and round once: numpy's float32 SIMD kernels can be 1 ulp off the
    correctly rounded C library results MXNet prints, and the seed examples print them."""
    def forward(x):
        if x.dtype.itemsize < 8 and x.dtype.kind == "f":
            return ufunc(x.astype(np.float64)).astype(x.dtype)
        return ufunc(x)
    return forward


def _stable_sigmoid(x):
    # exp of a large positive number overflows; split by sign so neither branch does
    e = _libm(np.exp)(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


NEGATIVE = _arithmetic("negative", np.negative, lambda g, out, x: (-g,))
EXP = _arithmetic("exp", _libm(np.exp), lambda g, out, x: (g * out,))
LOG = _arithmetic("log", _libm(np.log), lambda g, out, x: (g / x,))
SQRT = _arithmetic("sqrt", np.sqrt, lambda g, out, x: (g / (2 * out),))
SQUARE = _arithmetic("square", np.square, lambda g, out, x: (g * 2 * x,))
ABS = primitive("abs", np.abs, lambda g, out, x: (g * sign(x),))
def zero_grad(g, out, x, *rest, **attrs):
    """The gradient of a piecewise-constant op (sign, floor, a 0/1 mask): zeros, as MXNet's
    MakeZeroGradNodes. Unlike ``vjp=None`` this keeps the result in the graph, so a
    second-order gradient through relu/abs/clip is zero instead of an error."""
    return (NDArray(x._ctx.xp.zeros_like(x._data), x._ctx),) + (None,) * len(rest)


SIGN = primitive("sign", np.sign, zero_grad)
TANH = _arithmetic("tanh", _libm(np.tanh), lambda g, out, x: (g * (1 - out * out),))
SIGMOID = _arithmetic("sigmoid", _stable_sigmoid, lambda g, out, x: (g * out * (1 - out),))
SIN = primitive("sin", _libm(np.sin), lambda g, out, x: (g * cos(x),))
COS = primitive("cos", _libm(np.cos), lambda g, out, x: (-g * sin(x),))
RECIPROCAL = primitive("reciprocal", np.reciprocal, lambda g, out, x: (-g * out * out,))
LOG1P = primitive("log1p", _libm(np.log1p), lambda g, out, x: (g / (1 + x),))
EXPM1 = primitive("expm1", _libm(np.expm1), lambda g, out, x: (g * (out + 1),))
SINH = primitive("sinh", _libm(np.sinh), lambda g, out, x: (g * cosh(x),))
COSH = primitive("cosh", _libm(np.cosh), lambda g, out, x: (g * sinh(x),))
ARCTAN = primitive("arctan", _libm(np.arctan), lambda g, out, x: (g / (1 + x * x),))
SOFTRELU = primitive("softrelu", lambda x: np.logaddexp(0, x).astype(x.dtype, copy=False),
                     lambda g, out, x: (g * sigmoid(x),))
SOFTSIGN = primitive("softsign", lambda x: x / (1 + np.abs(x)),
                     lambda g, out, x: (g / square(1 + abs(x)),))


def _relu_backward(g, y):
    """``g`` where relu's output ``y`` is positive, 0 where it is 0, NaN where the input was NaN (as MXNet):
    ``sign(y)`` is that mask, and one product with it is bit for bit ``g * (x > 0)`` everywhere else."""
    mask = np.sign(y)
    if mask.dtype != g.dtype:
        return g * mask
    mask *= g
    return mask


# relu's gradient is its own primitive: one autograd node instead of a sign and a product
BACKWARD_RELU = primitive("_backward_relu", _relu_backward,
                          lambda gg, out, g, y: (relu_grad(gg, y), zero_grad(None, None, y)[0]))
RELU = primitive("relu", lambda x: np.maximum(x, 0), lambda g, out, x: (relu_grad(g, out),),
                 raw_vjp=lambda g, out, x, needs: (BACKWARD_RELU.forward(g, out),))
# the same two in compiled code (Primitive.inline): the forward, and _relu_backward(g, o)
RELU.inline = lambda site: [f"out = np.maximum({site.ins[0]}, 0)"]
RELU.inline_vjp = lambda site: ["r0 = np.sign(o)", "if r0.dtype != g.dtype:", "    r0 = g * r0", "else:", "    r0 *= g"]
FLOOR = primitive("floor", np.floor, zero_grad)
CEIL = primitive("ceil", np.ceil, zero_grad)
ROUND = primitive("round", np.round, zero_grad)


def relu_grad(g, y):
    """relu's gradient for the output gradient ``g``, from relu's output ``y``."""
    return apply(BACKWARD_RELU, g, y)


def _unary(prim):
    # takes out= itself, so the table adds no wrapper: these run on every step, vjps included
    def op(data, name=None, out=None):
        result = apply(prim, data)
        return result if out is None else write_out(result, out, prim.name)
    op.__name__ = prim.name
    op.__doc__ = f"Elementwise ``{prim.name}`` (MXNet's operator of that name)."
    return operator(infer=same_shape)(op)


negative, exp, log, sqrt, square, abs, sign, tanh, sigmoid, relu = map(
    _unary, (NEGATIVE, EXP, LOG, SQRT, SQUARE, ABS, SIGN, TANH, SIGMOID, RELU))
sin, cos, reciprocal, log1p, expm1, sinh, cosh, arctan, softrelu, softsign = map(
    _unary, (SIN, COS, RECIPROCAL, LOG1P, EXPM1, SINH, COSH, ARCTAN, SOFTRELU, SOFTSIGN))
floor, ceil, round = map(_unary, (FLOOR, CEIL, ROUND))


# ----- clip and casts ---------------------------------------------------------------------
IN_RANGE = primitive("_in_range", lambda x, a_min, a_max: ((x >= a_min) & (x <= a_max)).astype(x.dtype),
                     zero_grad)
CLIP = primitive("clip", lambda x, a_min, a_max: np.clip(x, a_min, a_max),
                 lambda g, out, x, a_min, a_max: (g * apply(IN_RANGE, x, a_min=a_min, a_max=a_max),))
CAST = primitive("Cast", lambda x, dtype: x.astype(dtype),
                 lambda g, out, x, dtype: (cast(g, dtype=x.dtype),))


@operator(infer=same_shape)
def clip(data, a_min, a_max, name=None):
    return apply(CLIP, data, a_min=_scalar(a_min), a_max=_scalar(a_max))


@operator(name="Cast", aliases=("cast",), infer=same_shape)
def cast(data, dtype, name=None):
    return apply(CAST, data, dtype=np.dtype(dtype))


def _is_float(dtype):
    return np.dtype(dtype).kind == "f"


@operator(infer=same_shape)
def amp_cast(data, dtype, name=None):
    """AMP's cast: a floating-point ``data`` becomes ``dtype``; integer arrays pass through unchanged."""
    if not _is_float(data.dtype):
        return data.copy()
    return apply(CAST, data, dtype=np.dtype(dtype))


def _amp_multicast_outputs(p):
    return int(p["num_outputs"])


@operator(("*data",), num_outputs=_amp_multicast_outputs)
def amp_multicast(*data, num_outputs, cast_narrow=False, name=None):
    """AMP's multicast: every floating-point input cast to the widest float type among them
    (the narrowest with ``cast_narrow``); integer inputs pass through. Returns ``num_outputs`` arrays."""
    if int(num_outputs) != len(data):
        raise MXNetError(f"amp_multicast: num_outputs={num_outputs} but {len(data)} inputs were given; "
                         "they must be equal.")
    floats = [np.dtype(d.dtype) for d in data if _is_float(d.dtype)]
    if not floats:
        return [d.copy() for d in data]
    pick = builtins.min if cast_narrow else builtins.max
    target = pick(floats, key=lambda t: t.itemsize)
    return [apply(CAST, d, dtype=target) if _is_float(d.dtype) else d.copy() for d in data]
