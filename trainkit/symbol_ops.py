"""The operator table behind ``mx.sym``: for each operator, its inputs (and which are
auxiliary states), its parameters with their parsers and defaults, its shape rule,
and how it runs (a call into ``mx.nd``, so autograd records it like imperative code).

Attributes are strings, as MXNet stores them in its JSON files; the parsers turn
them into Python values for the shape rules and the ``mx.nd`` calls.
"""
import ast
import math
import builtins
import numbers

import numpy as np

from .base import MXNetError
from .ndarray.ndarray import apply


class _ShapeError(Exception):
    """Raised by a shape rule; the caller adds the layer's name and its input shapes."""


# ----- attribute parsing ----------------------------------------------------------------------------
_REQUIRED = object()


def _attr_str(value):
    """How MXNet's frontend stores a keyword argument: ``str(value)``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    return str(value)


def _p_bool(text):
    if isinstance(text, (bool, np.bool_)):
        return bool(text)
    t = str(text).strip().lower()
    if t in ("true", "1"):
        return True
    if t in ("false", "0"):
        return False
    raise ValueError("expected True or False")


def _p_int(text):
    return int(text) if isinstance(text, (int, np.integer)) else int(str(text).strip())


def _p_float(text):
    return float(text)


def _p_str(text):
    return str(text)


def _literal(text):
    if not isinstance(text, str):
        return text
    t = text.strip()
    if t in ("None", ""):
        return None
    return ast.literal_eval(t)


def _p_shape(text):
    value = _literal(text)
    if value is None:
        return ()
    if isinstance(value, numbers.Integral):
        return (int(value),)
    return tuple(int(v) for v in value)


def _p_axis(text):
    value = _literal(text)
    if value is None or isinstance(value, numbers.Integral):
        return value
    return tuple(int(v) for v in value)


def _p_opt_float(text):
    value = _literal(text)
    return None if value is None else float(value)


def _p_opt_str(text):
    return None if text in (None, "None", "") else str(text)


class _OpDef:
    """One operator: inputs, parameters, shape rule and how to run it."""

    def __init__(self, name, hint, inputs, params, infer, compute, aux=(), outputs=None, n_total=None,
                 var_init=None):
        self.name = name
        self.hint = hint
        self._inputs = inputs
        self.params = params
        self.infer = infer
        self.compute = compute
        self.aux = aux
        self._outputs = outputs
        self._n_total = n_total
        self.var_init = var_init
        self.ignores_extra = False  # keywords that are not parameters raise (table operators may ignore them)

    def input_names(self, p):
        return list(self._inputs(p)) if callable(self._inputs) else list(self._inputs)

    def outputs(self, p):
        return self._outputs(p) if self._outputs else ["output"]

    def n_total(self, p):
        return self._n_total(p) if self._n_total else len(self.outputs(p))

    def parse(self, attrs, layer):
        p = {}
        for key, (parser, default) in self.params.items():
            if key in attrs:
                try:
                    p[key] = parser(attrs[key])
                except (ValueError, SyntaxError, TypeError):
                    raise MXNetError(f"{self.name} layer '{layer}': attribute {key}={attrs[key]!r} is not a valid "
                                     f"{parser.__name__[3:]} value.") from None
            elif default is _REQUIRED:
                raise MXNetError(f"{self.name} layer '{layer}' needs the parameter {key}, e.g. "
                                 f"mx.sym.{self.name}(..., {key}=...).")
            else:
                p[key] = default
        return p


_OPS = {}
_ALIASES = {}


def _register(opdef, *aliases):
    _OPS[opdef.name] = opdef
    for a in aliases:
        _ALIASES[a] = opdef.name
    return opdef


# ----- shape rules --------------------------------------------------------------------------------
def _prod(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _match(shapes, i, want, role, why):
    have = shapes[i]
    if have is None:
        shapes[i] = tuple(want)
    elif tuple(have) != tuple(want):
        raise _ShapeError(f"{role} has shape {tuple(have)}, but {why} needs {role} of shape {tuple(want)}")


def _same_infer(p, s):
    return s, [s[0]]


def _fc_infer(p, s):
    data = s[0]
    if data is None:
        return s, [None]
    nh = p["num_hidden"]
    if p["flatten"]:
        units, out = _prod(data[1:]), (data[0], nh)
    else:
        units, out = data[-1], tuple(data[:-1]) + (nh,)
    why = f"data of shape {tuple(data)} with num_hidden={nh}"
    _match(s, 1, (nh, units), "weight", why)
    if len(s) > 2:
        _match(s, 2, (nh,), "bias", f"num_hidden={nh}")
    return s, [out]


def _leaky_infer(p, s):
    data = s[0]
    if data is not None and len(s) > 1:
        _match(s, 1, (data[1] if len(data) > 1 else 1,), "gamma", f"prelu on data of shape {tuple(data)}")
    return s, [data]


def _bn_infer(p, s):
    data = s[0]
    if data is None:
        return s, [None] * (3 if p["output_mean_var"] else 1)
    axis = p["axis"] % len(data)
    c = data[axis]
    for i, role in enumerate(("gamma", "beta", "moving_mean", "moving_var"), 1):
        _match(s, i, (c,), role, f"data of shape {tuple(data)} with {c} channels on axis {axis}")
    return s, [data] + ([(c,), (c,)] if p["output_mean_var"] else [])


def _label_infer(want_of):
    def infer(p, s):
        data = s[0]
        if data is None:
            return s, [None]
        want, out = want_of(p, tuple(data))
        label = s[1]
        if label is None:
            s[1] = want
        elif _prod(label) != _prod(want):
            raise _ShapeError(f"label has shape {tuple(label)}, but data of shape {tuple(data)} needs labels of "
                              f"shape {want}")
        return s, [out]
    return infer


def _softmax_label(p, data):
    if p["multi_output"]:
        return (data[0],) + data[2:], data
    if len(data) > 2 and not p["preserve_shape"]:
        return (data[0],), (data[0], _prod(data[1:]))
    return data[:-1], data


def _flatten_infer(p, s):
    data = s[0]
    return s, [None if data is None else (data[0], _prod(data[1:]))]


def _dot_infer(p, s):
    a, b = s
    if a is None or b is None:
        return s, [None]
    ta, tb = p.get("transpose_a", False), p.get("transpose_b", False)
    if len(a) == 2 and len(b) == 2:
        m, k1 = (a[1], a[0]) if ta else (a[0], a[1])
        k2, n = (b[1], b[0]) if tb else (b[0], b[1])
        if k1 != k2:
            raise _ShapeError(f"lhs {tuple(a)} and rhs {tuple(b)} do not fit (transpose_a={ta}, transpose_b={tb}): "
                              f"inner dimensions {k1} and {k2} differ")
        return s, [(m, n)]
    if a[-1] != b[0]:
        raise _ShapeError(f"lhs {tuple(a)} and rhs {tuple(b)} do not fit: last axis of lhs {a[-1]} differs from "
                          f"first axis of rhs {b[0]}")
    return s, [tuple(a[:-1]) + tuple(b[1:]) or (1,)]


def _concat_infer(p, s):
    if any(x is None for x in s):
        return s, [None]
    dim = p["dim"] % len(s[0])
    first = s[0]
    for x in s[1:]:
        if len(x) != len(first) or any(x[i] != first[i] for i in range(len(first)) if i != dim):
            raise _ShapeError(f"inputs of shapes {[tuple(v) for v in s]} differ outside dim={p['dim']}")
    out = list(first)
    out[dim] = builtins.sum(x[dim] for x in s)
    return s, [tuple(out)]


def is_partial(shape):
    """True for a shape with unknown dimensions (MXNet 1.x writes an unknown size as 0)."""
    return shape is not None and any(int(d) <= 0 for d in shape)


def merge_shapes(a, b):
    """The more complete of two descriptions of one shape (``0`` = unknown); None when they conflict."""
    if a is None or b is None:
        return tuple(b if a is None else a) if (a is not None or b is not None) else None
    if len(a) != len(b):
        return None
    out = []
    for x, y in zip(a, b):
        x, y = int(x), int(y)
        if x > 0 and y > 0 and x != y:
            return None
        out.append(x if x > 0 else builtins.max(y, 0))
    return tuple(out)


def _reshape_codes(p, src):
    """Reshape's codes: ``shape``, or the deprecated ``target_shape`` (its one 0 is inferred;
    ``keep_highest`` keeps the first axis and reshapes the rest)."""
    if p["shape"] or not p.get("target_shape"):
        return p["shape"]
    codes = tuple(-1 if int(c) == 0 else int(c) for c in p["target_shape"])
    if codes.count(-1) > 1:
        raise _ShapeError(f"Reshape: target_shape={p['target_shape']} may have one 0 (the size to infer), not more")
    return ((int(src[0]),) + codes) if p.get("keep_highest") else codes


def _reshape_infer(p, s):
    if s[0] is None:
        return s, [None]
    from .ops.shape import _mx_shape
    codes = _reshape_codes(p, s[0])
    if is_partial(s[0]):  # unknown input sizes: only the copied (code 0) and given sizes are known
        return s, [_reshape_partial(tuple(s[0]), codes, p["reverse"])]
    try:
        return s, [_mx_shape(tuple(s[0]), codes, p["reverse"])]
    except MXNetError as e:
        raise _ShapeError(str(e)) from None


def _reshape_partial(src, codes, reverse):
    """The output of a reshape of a partly known ``src``: the plain codes (positive sizes, 0 = copy);
    None when a code needs the sizes (-1 -2 -3 -4) and some are unknown."""
    codes = tuple(int(c) for c in codes)
    if not codes or any(c < 0 for c in codes) or len(codes) > len(src) and 0 in codes:
        return None
    if reverse:
        src, codes = src[::-1], codes[::-1]
    out = tuple(src[i] if c == 0 else c for i, c in enumerate(codes))
    return out[::-1] if reverse else out


def _reshape_back(p, ins, outs):
    """A partly known reshape input from its known output: the one unknown size follows from the count."""
    src, out = ins[0], outs[0]
    if src is None or out is None or is_partial(out) or not is_partial(src):
        return ins
    unknown = [i for i, d in enumerate(src) if int(d) <= 0]
    known = math.prod(int(d) for d in src if int(d) > 0)
    total = math.prod(out)
    if len(unknown) != 1 or known == 0 or total % known:
        return ins
    filled = list(src)
    filled[unknown[0]] = total // known
    return [tuple(filled)] + list(ins[1:])


def _elemwise_infer(p, s):
    a, b = s
    if a is None and b is not None:
        s[0] = a = b
    elif b is None and a is not None:
        s[1] = b = a
    if a is not None:
        merged = merge_shapes(a, b)
        if merged is None:
            raise _ShapeError(f"inputs must have the same shape, got lhs {tuple(a)} and rhs {tuple(b)} (use the "
                              "broadcast_* operators to broadcast)")
        s[0] = s[1] = a = merged
    return s, [a]


def _same_back(p, ins, outs):
    """Elementwise layers: every input has the output's shape."""
    return [merge_shapes(s, outs[0]) or s for s in ins]


def _transpose_back(p, ins, outs):
    """transpose: the input's sizes are the output's, permuted back."""
    out = outs[0]
    if out is None:
        return ins
    axes = _literal(p.get("axes")) if isinstance(p.get("axes"), str) else p.get("axes")
    n = len(out)
    axes = tuple(range(n))[::-1] if not axes else tuple(int(a) % n for a in axes)
    src = [0] * n
    for i, a in enumerate(axes):
        src[a] = out[i]
    return [merge_shapes(ins[0], tuple(src)) or ins[0]]


# backward shape rules (op name -> fn(params, in_shapes, out_shapes) -> in_shapes): an input's unknown
# sizes filled from the layer's known output (MXNet's shape inference runs both ways)
BACK_INFER = {"Reshape": _reshape_back, "reshape": _reshape_back, "transpose": _transpose_back}
for _op in ("elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "_Plus", "_Minus", "_Mul", "_Div",
            "_plus", "_minus", "_mul", "_div", "_power", "_Power"):
    BACK_INFER[_op] = _same_back


# ----- operators ----------------------------------------------------------------------------------
def _nd():
    from . import nd
    return nd


def _one(x):
    return [x]


def _fc_compute(p, xs):
    bias = xs[2] if len(xs) > 2 else None
    return [_nd().FullyConnected(xs[0], xs[1], bias, num_hidden=p["num_hidden"], no_bias=bias is None,
                                 flatten=p["flatten"])]


def _bn_compute(p, xs):
    out = _nd().BatchNorm(*xs, eps=p["eps"], momentum=p["momentum"], fix_gamma=p["fix_gamma"],
                          use_global_stats=p["use_global_stats"], output_mean_var=p["output_mean_var"],
                          axis=p["axis"])
    return list(out) if p["output_mean_var"] else [out]


def _bn_var_init(index, var):
    if "__init__" not in var.attrs:
        if index == 3:
            var.attrs["__init__"] = '["zero", {}]'
        elif index == 4:
            var.attrs["__init__"] = '["one", {}]'


def _prelu_var_init(index, var):
    # MXNet starts an auto-created prelu slope at 0.25, through the variable's __init__ attribute
    if index == 1 and "__init__" not in var.attrs:
        var.attrs["__init__"] = '["Constant", {"value": 0.25}]'


_register(_OpDef(
    "FullyConnected", "fullyconnected",
    lambda p: ["data", "weight"] + ([] if p["no_bias"] else ["bias"]),
    {"num_hidden": (_p_int, _REQUIRED), "no_bias": (_p_bool, False), "flatten": (_p_bool, True)},
    _fc_infer, _fc_compute))
_register(_OpDef(
    "Activation", "activation", ["data"], {"act_type": (_p_str, _REQUIRED)}, _same_infer,
    lambda p, xs: [_nd().Activation(xs[0], act_type=p["act_type"])]))
_register(_OpDef(
    "LeakyReLU", "leakyrelu", lambda p: ["data", "gamma"] if p["act_type"] == "prelu" else ["data"],
    {"act_type": (_p_str, "leaky"), "slope": (_p_float, 0.25), "lower_bound": (_p_float, 0.125),
     "upper_bound": (_p_float, 0.334)},
    _leaky_infer,
    lambda p, xs: [_nd().LeakyReLU(xs[0], xs[1] if len(xs) > 1 else None, act_type=p["act_type"],
                                   slope=p["slope"], lower_bound=p["lower_bound"], upper_bound=p["upper_bound"])],
    n_total=lambda p: 2 if p["act_type"] == "rrelu" else 1, var_init=_prelu_var_init))
_register(_OpDef(
    "Dropout", "dropout", ["data"],
    {"p": (_p_float, 0.5), "mode": (_p_str, "training"), "axes": (_p_shape, ()), "cudnn_off": (_p_bool, False)},
    _same_infer, lambda p, xs: [_nd().Dropout(xs[0], p=p["p"], mode=p["mode"], axes=p["axes"])],
    n_total=lambda p: 2))
_register(_OpDef(
    "BatchNorm", "batchnorm", ["data", "gamma", "beta", "moving_mean", "moving_var"],
    {"eps": (_p_float, 1e-3), "momentum": (_p_float, 0.9), "fix_gamma": (_p_bool, True),
     "use_global_stats": (_p_bool, False), "output_mean_var": (_p_bool, False), "axis": (_p_int, 1),
     "cudnn_off": (_p_bool, False), "min_calib_range": (_p_opt_float, None),
     "max_calib_range": (_p_opt_float, None)},
    _bn_infer, _bn_compute, aux=(3, 4),
    outputs=lambda p: ["output", "mean", "var"] if p["output_mean_var"] else ["output"],
    n_total=lambda p: 3, var_init=_bn_var_init))
_register(_OpDef(
    "SoftmaxOutput", "softmaxoutput", ["data", "label"],
    {"grad_scale": (_p_float, 1.0), "ignore_label": (_p_float, -1.0), "multi_output": (_p_bool, False),
     "use_ignore": (_p_bool, False), "preserve_shape": (_p_bool, False), "normalization": (_p_str, "null"),
     "out_grad": (_p_bool, False), "smooth_alpha": (_p_float, 0.0)},
    _label_infer(_softmax_label),
    lambda p, xs: [_nd().SoftmaxOutput(xs[0], xs[1], grad_scale=p["grad_scale"], ignore_label=p["ignore_label"],
                                       multi_output=p["multi_output"], use_ignore=p["use_ignore"],
                                       smooth_alpha=p["smooth_alpha"],
                                       preserve_shape=p["preserve_shape"], normalization=p["normalization"])]),
    "Softmax")
for _name in ("LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"):
    _register(_OpDef(
        _name, _name.lower(), ["data", "label"], {"grad_scale": (_p_float, 1.0)},
        _label_infer(lambda p, data: (data, data)),
        (lambda fn: lambda p, xs: [getattr(_nd(), fn)(xs[0], xs[1], grad_scale=p["grad_scale"])])(_name)))
_register(_OpDef("Flatten", "flatten", ["data"], {}, _flatten_infer, lambda p, xs: [_nd().flatten(xs[0])]),
          "flatten")
def _softmax_length_infer(p, s):
    """softmax(data, length, use_length=True): ``length`` has the data's shape without ``axis``."""
    data = s[0]
    if data is None or len(s) < 2:
        return s, [data]
    ax = p["axis"] % len(data)
    return [data, data[:ax] + data[ax + 1:]], [data]


for _name in ("softmax", "log_softmax"):
    _register(_OpDef(
        _name, _name, (lambda p: ["data", "length"] if p["use_length"] else ["data"]) if _name == "softmax"
        else ["data"],
        {"axis": (_p_int, -1), "temperature": (_p_opt_float, None), "dtype": (_p_opt_str, None),
         "use_length": (_p_bool, False)}, _softmax_length_infer,
        (lambda fn: lambda p, xs: [getattr(_nd(), fn)(*xs, axis=p["axis"], temperature=p["temperature"],
                                                      dtype=p["dtype"], use_length=p["use_length"])])(_name)))
_UNARY = ("relu", "sigmoid", "tanh", "exp", "log", "sqrt", "square", "abs", "negative", "sin", "cos", "log1p",
          "expm1", "reciprocal", "softsign", "sign", "floor", "ceil", "round")
# the _UNARY operators, transpose, expand_dims, clip, sum/mean/max/min and broadcast_* come from the table
# (their @operator entries in ops/*.py carry the shape rules): see ops/table_sym.sync_table
_register(_OpDef("_copy", "_copy", ["data"], {}, _same_infer, lambda p, xs: [_nd().identity(xs[0])]), "identity")
_register(_OpDef(
    "dot", "dot", ["lhs", "rhs"], {"transpose_a": (_p_bool, False), "transpose_b": (_p_bool, False)}, _dot_infer,
    lambda p, xs: [_nd().dot(xs[0], xs[1], transpose_a=p["transpose_a"], transpose_b=p["transpose_b"])]))
_register(_OpDef(
    "Concat", "concat", lambda p: [f"arg{i}" for i in range(p["num_args"])],
    {"num_args": (_p_int, _REQUIRED), "dim": (_p_int, 1)}, _concat_infer,
    lambda p, xs: [_nd().concat(*xs, dim=p["dim"])]), "concat")
_register(_OpDef(
    "Reshape", "reshape", ["data"], {"shape": (_p_shape, ()), "reverse": (_p_bool, False),
                                     "target_shape": (_p_shape, ()), "keep_highest": (_p_bool, False)},
    _reshape_infer,
    lambda p, xs: [_nd().reshape(xs[0], _reshape_codes(p, xs[0].shape), reverse=p["reverse"])]), "reshape")
# array (op) array: the elemwise_* ops need equal shapes, broadcast_* broadcast
for _name, _hint, _fn in (("elemwise_add", "_plus", "elemwise_add"), ("elemwise_sub", "_minus", "elemwise_sub"),
                          ("elemwise_mul", "_mul", "elemwise_mul"), ("elemwise_div", "_div", "elemwise_div")):
    _register(_OpDef(_name, _hint, ["lhs", "rhs"], {}, _elemwise_infer,
                     (lambda fn: lambda p, xs: [getattr(_nd(), fn)(xs[0], xs[1])])(_fn)),
              "_" + _hint[1:].capitalize())
_register(_OpDef("_power", "_power", ["lhs", "rhs"], {}, _elemwise_infer,
                 lambda p, xs: [_nd().broadcast_power(xs[0], xs[1])]), "_Power")


def _scalar_compute(prim_name):
    def compute(p, xs):
        from .ops.core import REGISTRY
        return [apply(REGISTRY[prim_name], xs[0], scalar=p["scalar"])]
    return compute


for _name, _hint, _legacy in (("_plus_scalar", "_plusscalar", "_PlusScalar"),
                              ("_minus_scalar", "_minusscalar", "_MinusScalar"),
                              ("_rminus_scalar", "_rminusscalar", "_RMinusScalar"),
                              ("_mul_scalar", "_mulscalar", "_MulScalar"),
                              ("_div_scalar", "_divscalar", "_DivScalar"),
                              ("_rdiv_scalar", "_rdivscalar", "_RDivScalar"),
                              ("_power_scalar", "_powerscalar", "_PowerScalar"),
                              ("_rpower_scalar", "_rpowerscalar", "_RPowerScalar"),
                              ("_maximum_scalar", "_maximumscalar", "_MaximumScalar"),
                              ("_minimum_scalar", "_minimumscalar", "_MinimumScalar")):
    _register(_OpDef(_name, _hint, ["data"], {"scalar": (_p_float, _REQUIRED)}, _same_infer,
                     _scalar_compute(_name)), _legacy)


# operators generated from the one table (ops/table.py) live in ops/table_sym.py
from .ops.table_sym import _TableOpDef, export_symbols, symbol_function, sync_table  # noqa: E402,F401
