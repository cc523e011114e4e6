"""Symbols: MXNet 1.x's ``mx.sym`` graphs, held in Python and run with trainkit's ops.

A Symbol is a list of output entries ``(node, index)``. A node is either a
variable (``op is None``: data, labels, parameters, auxiliary states) or an
operator with string attributes, exactly as MXNet stores them, so ``tojson``
writes MXNet's files and ``load_json`` reads them.

Each operator is declared once in ``symbol_ops._OPS``: its inputs (which of them
are auxiliary states), its parameters with their parsers and defaults, a shape rule
(``infer``), and how to run it (``compute``, a call into ``mx.nd``). Running a
symbol (``eval``, and ``Module`` through ``_Plan``) calls those same ``mx.nd``
functions, so autograd records them like any imperative code.

Naming follows MXNet: an unnamed layer takes ``<hint><count>`` from the thread's
``mx.name.NameManager`` (``fullyconnected0``; arithmetic gives ``_plus0``,
``_mulscalar0``); inputs not given become variables ``<name>_<input>``
(``fc1_weight``, ``softmax_label``), which carry a copy of the layer's attributes
as MXNet's do. Graphs recorded by ``autograd.get_symbol`` become Symbols through
``from_recorded``; their nodes replay the recorded primitives directly.
"""
import numbers
import warnings

import numpy as np

from . import autograd
from .base import MXNetError
from .attribute import current as _attr_scope
from .name import NameManager
from .symbol_infer import _DTYPE_TO_FLAG, _FLAG_TO_DTYPE, infer_shapes, infer_types, shape_pass  # noqa: F401
from .symbol_json import graph_to_json, parse_graph
from .symbol_plan import _Plan
from .symbol_ops import _ALIASES, _OPS, _UNARY, _attr_str

__all__ = ["Symbol", "Variable", "var", "Group", "load", "load_json", "from_recorded", "maximum", "minimum", "power",
           "pow", "hypot", "Custom"]



# ----- graph nodes ----------------------------------------------------------------------------------
class _Node:
    """One graph node. ``inputs`` holds ``(node, output index, version)`` entries.

    ``prim``/``pyattrs`` are set on nodes copied from a recorded autograd graph (they
    replay the primitive with its Python attributes); ``value`` holds a recorded
    constant and ``shape_hint`` a recorded variable's shape (used when no shape is given).
    """

    __slots__ = ("op", "name", "attrs", "inputs", "prim", "pyattrs", "value", "shape_hint", "version",
                 "_parsed")

    def __init__(self, op, name, attrs=None, inputs=None):
        self.op = op
        self.name = name
        self.attrs = attrs if attrs is not None else {}
        self.inputs = inputs if inputs is not None else []
        self.prim = None
        self.pyattrs = None
        self.value = None
        self.shape_hint = None
        self.version = 0
        self._parsed = None

    @property
    def is_var(self):
        return self.op is None

    def opdef(self):
        opdef = _OPS.get(self.op)
        if opdef is None:
            opdef = _OPS.get(_ALIASES.get(self.op, ""))
        return opdef

    def params(self):
        """The operator's parameters as Python values (defaults filled in), parsed once."""
        if self._parsed is None:
            if self.pyattrs is not None:
                self._parsed = self.pyattrs
            else:
                opdef = self.opdef()
                self._parsed = opdef.parse(self.attrs, self.name) if opdef else {}
        return self._parsed

    def num_visible(self):
        if self.op is None:
            return 1
        if self.prim is not None:
            return self.prim.n_out
        opdef = self.opdef()
        return len(opdef.outputs(self.params())) if opdef else 1

    def num_total(self):
        if self.op is None:
            return 1
        if self.prim is not None:
            return self.prim.n_out
        opdef = self.opdef()
        return opdef.n_total(self.params()) if opdef else 1

    def output_names(self):
        if self.op is None:
            return [self.name]
        if self.prim is not None:
            n = self.prim.n_out
            suffixes = ["output"] if n == 1 else [f"output{i}" for i in range(n)]
        else:
            opdef = self.opdef()
            suffixes = opdef.outputs(self.params()) if opdef else ["output"]
        return [f"{self.name}_{s}" for s in suffixes]

    def aux_positions(self):
        if self.op is None or self.prim is not None:
            return ()
        opdef = self.opdef()
        if opdef is not None and hasattr(opdef, "aux_of"):  # operators whose aux states depend on parameters
            return opdef.aux_of(self.params())
        return opdef.aux if opdef else ()


# ----- making symbols -----------------------------------------------------------------------------
def _create(op, inputs, params, name=None, attr=None, hint=None):
    """A new operator node fed by ``inputs`` (role -> Symbol or None), as MXNet's compose does."""
    opdef = _OPS[op]
    attrs = {}
    for k, v in params.items():
        if v is None:
            continue
        v = _plain(v)
        if k in _HIDDEN_KEYS and k not in opdef.params:  # lr_mult=0 on a layer: MXNet's __lr_mult__ attribute,
            attrs[f"__{k}__"] = str(v)                    # which the parameters it creates inherit
            continue
        if isinstance(v, Symbol) and k not in opdef.params and not opdef.input_names(opdef.parse({}, "")):
            continue  # a Symbol given to a zero-input layer (randn(data=...)): MXNet's compose drops it
        if opdef.ignores_extra and k not in opdef.params and not k.startswith("__"):
            continue  # as the nd function: an operator without parameters ignores keywords, as MXNet's do
        if k not in opdef.params and not (k.startswith("__") and k.endswith("__")):
            raise TypeError(f"mx.sym.{op} got an unexpected argument {k!r}; its parameters are "
                            f"{sorted(opdef.params) or 'none'}.")
        attrs[k] = _attr_str(v)
    attr = _attr_scope().get(attr)
    if attr:
        for k, v in attr.items():
            if k in _HIDDEN_KEYS or (k.startswith("__") and k.endswith("__")):
                attrs[f"__{k}__" if k in _HIDDEN_KEYS else k] = str(v)
            elif k in opdef.params:
                attrs[k] = _attr_str(v)
            else:
                raise MXNetError(f"Cannot find argument '{k}' of mx.sym.{op}: attr= takes attributes such as "
                                 "lr_mult, wd_mult, ctx_group or __custom__ keys; its parameters are "
                                 f"{sorted(opdef.params) or 'none'}.")
    name = NameManager.current.get(name, hint or opdef.hint)
    p = opdef.parse(attrs, name)
    roles = opdef.input_names(p)
    aux_positions = opdef.aux_of(p) if hasattr(opdef, "aux_of") else opdef.aux
    extra = [r for r, s in inputs.items() if s is not None and r not in roles]
    if extra:
        raise TypeError(f"mx.sym.{op} layer '{name}' got input(s) {extra} it does not take; its inputs are {roles}.")
    node = _Node(op, name, attrs)
    for i, role in enumerate(roles):
        sym = inputs.get(role)
        if sym is None:
            src, idx = _Node(None, f"{name}_{role}", dict(attrs)), 0
        else:
            if not isinstance(sym, Symbol):
                raise TypeError(f"mx.sym.{op} layer '{name}': input {role} must be a Symbol, got "
                                f"{type(sym).__name__}.")
            src, idx = sym._single(f"input {role!r} of layer '{name}'")
        version = 0
        if src.op is None:
            if opdef.var_init is not None:
                opdef.var_init(i, src)
            if i in aux_positions:
                src.version += 1
            version = src.version
        node.inputs.append((src, idx, version))
    node._parsed = p
    return Symbol([(node, i) for i in range(len(opdef.outputs(p)))])


def _plain(value):
    """numpy scalars inside tuples/lists as Python numbers, so attributes read ``(0, 1)`` as MXNet writes them."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    return value


def Variable(name, attr=None, shape=None, lr_mult=None, wd_mult=None, dtype=None, init=None, stype=None,
             **kwargs):
    """A named input: data, label or parameter. ``shape``/``init``/... are stored as ``__shape__``-style attrs."""
    if not isinstance(name, str):
        raise TypeError("Expect a string for variable `name`")
    attrs = _wrap_hidden(_attr_scope().get(attr))
    if shape is not None:
        attrs["__shape__"] = str(shape)
    if lr_mult is not None:
        attrs["__lr_mult__"] = str(lr_mult)
    if wd_mult is not None:
        attrs["__wd_mult__"] = str(wd_mult)
    if dtype is not None:
        attrs["__dtype__"] = str(_DTYPE_TO_FLAG[np.dtype(dtype)])
    if init is not None:
        attrs["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None:
        attrs["__storage_type__"] = str({"default": 0, "row_sparse": 1, "csr": 2}[stype])
    for k, v in kwargs.items():
        if k.startswith("__") and k.endswith("__"):
            attrs[k] = str(v)
        else:
            raise ValueError(f"Attribute name={k} is not supported. Additional attributes must start and end with "
                             "double underscores, e.g, __yourattr__")
    return Symbol([(_Node(None, name, attrs), 0)])


var = Variable


def Group(symbols):
    """One symbol whose outputs are the outputs of ``symbols``, in order."""
    outputs = []
    for s in symbols:
        if not isinstance(s, Symbol):
            raise TypeError(f"Group expects a list of Symbols, got a {type(s).__name__}.")
        outputs.extend(s._outputs)
    if not outputs:
        raise ValueError("Group needs at least one symbol.")
    return Symbol(outputs)


def _layer(op, roles):
    """A symbol function whose leading positional arguments are the op's inputs."""
    def make(*args, name=None, attr=None, **kwargs):
        if len(args) > len(roles):
            raise TypeError(f"mx.sym.{op} takes at most {len(roles)} input symbols ({roles}), got {len(args)}.")
        inputs = dict(zip(roles, args))
        for role in roles:
            if role in kwargs:
                inputs[role] = kwargs.pop(role)
        return _create(op, inputs, kwargs, name, attr)
    make.__name__ = make.__qualname__ = op
    make.__doc__ = f"MXNet's ``{op}`` operator as a symbol (inputs {roles}); unnamed inputs become variables."
    return make


def FullyConnected(data=None, weight=None, bias=None, num_hidden=None, no_bias=None, flatten=None, name=None,
                   attr=None, **kwargs):
    """``data · weightᵀ + bias``, weight ``(num_hidden, units)``; missing ones become ``NAME_weight``/``NAME_bias``."""
    return _create("FullyConnected", {"data": data, "weight": weight, "bias": bias},
                   dict(num_hidden=num_hidden, no_bias=no_bias, flatten=flatten, **kwargs), name, attr)


def Activation(data=None, act_type=None, name=None, attr=None, **kwargs):
    return _create("Activation", {"data": data}, dict(act_type=act_type, **kwargs), name, attr)


def LeakyReLU(data=None, gamma=None, act_type=None, slope=None, lower_bound=None, upper_bound=None, name=None,
              attr=None, **kwargs):
    """leaky/elu/selu/rrelu, or ``prelu`` with a learnable per-channel ``NAME_gamma``."""
    return _create("LeakyReLU", {"data": data, "gamma": gamma},
                   dict(act_type=act_type, slope=slope, lower_bound=lower_bound, upper_bound=upper_bound, **kwargs),
                   name, attr)


def Dropout(data=None, p=None, mode=None, axes=None, cudnn_off=None, name=None, attr=None, **kwargs):
    return _create("Dropout", {"data": data}, dict(p=p, mode=mode, axes=axes, cudnn_off=cudnn_off, **kwargs),
                   name, attr)


def BatchNorm(data=None, gamma=None, beta=None, moving_mean=None, moving_var=None, eps=None, momentum=None,
              fix_gamma=None, use_global_stats=None, output_mean_var=None, axis=None, cudnn_off=None, name=None,
              attr=None, **kwargs):
    """Arguments ``NAME_gamma``/``NAME_beta``; auxiliary states ``NAME_moving_mean`` (initialized to zero)
    and ``NAME_moving_var`` (one)."""
    return _create("BatchNorm", {"data": data, "gamma": gamma, "beta": beta, "moving_mean": moving_mean,
                                 "moving_var": moving_var},
                   dict(eps=eps, momentum=momentum, fix_gamma=fix_gamma, use_global_stats=use_global_stats,
                        output_mean_var=output_mean_var, axis=axis, cudnn_off=cudnn_off, **kwargs), name, attr)


def SoftmaxOutput(data=None, label=None, name=None, attr=None, **kwargs):
    """Softmax forward, cross-entropy gradient; its label variable is ``NAME_label`` (``softmax_label``)."""
    return _create("SoftmaxOutput", {"data": data, "label": label}, kwargs, name, attr)


def Softmax(data=None, label=None, name=None, attr=None, **kwargs):
    """Deprecated MXNet alias of SoftmaxOutput (auto-named ``softmax<k>``)."""
    return _create("SoftmaxOutput", {"data": data, "label": label}, kwargs, name, attr, hint="softmax")


def LinearRegressionOutput(data=None, label=None, grad_scale=None, name=None, attr=None, **kwargs):
    return _create("LinearRegressionOutput", {"data": data, "label": label}, dict(grad_scale=grad_scale, **kwargs),
                   name, attr)


def LogisticRegressionOutput(data=None, label=None, grad_scale=None, name=None, attr=None, **kwargs):
    return _create("LogisticRegressionOutput", {"data": data, "label": label},
                   dict(grad_scale=grad_scale, **kwargs), name, attr)


def MAERegressionOutput(data=None, label=None, grad_scale=None, name=None, attr=None, **kwargs):
    return _create("MAERegressionOutput", {"data": data, "label": label}, dict(grad_scale=grad_scale, **kwargs),
                   name, attr)


def Flatten(data=None, name=None, attr=None, **kwargs):
    return _create("Flatten", {"data": data}, kwargs, name, attr)


flatten = Flatten


def concat(*data, dim=None, num_args=None, name=None, attr=None, **kwargs):
    """Join symbols along ``dim`` (default 1); ``num_args`` is filled in as MXNet's frontend does."""
    if len(data) == 1 and isinstance(data[0], (list, tuple)):
        data = tuple(data[0])
    if num_args is not None and num_args != len(data):
        raise ValueError(f"concat: num_args={num_args} but {len(data)} symbols were given.")
    return _create("Concat", {f"arg{i}": d for i, d in enumerate(data)},
                   dict(num_args=len(data), dim=dim, **kwargs), name, attr)


Concat = concat


def reshape(data=None, shape=None, reverse=None, name=None, attr=None, **kwargs):
    return _create("Reshape", {"data": data}, dict(shape=shape, reverse=reverse, **kwargs), name, attr)


Reshape = reshape


def dot(lhs=None, rhs=None, transpose_a=None, transpose_b=None, name=None, attr=None, **kwargs):
    return _create("dot", {"lhs": lhs, "rhs": rhs}, dict(transpose_a=transpose_a, transpose_b=transpose_b, **kwargs),
                   name, attr)


def _reducer(op):
    def reduce(data=None, axis=None, keepdims=None, exclude=None, name=None, attr=None, **kwargs):
        return _create(op, {"data": data}, dict(axis=axis, keepdims=keepdims, exclude=exclude, **kwargs), name, attr)
    reduce.__name__ = reduce.__qualname__ = op
    return reduce


sum = _reducer("sum")  # noqa: A001 - MXNet's names
mean = _reducer("mean")
max = _reducer("max")  # noqa: A001
min = _reducer("min")  # noqa: A001


def softmax(data=None, length=None, axis=None, temperature=None, name=None, attr=None, **kwargs):
    return _create("softmax", {"data": data, "length": length}, dict(axis=axis, temperature=temperature, **kwargs),
                   name, attr)


def log_softmax(data=None, axis=None, temperature=None, name=None, attr=None, **kwargs):
    return _create("log_softmax", {"data": data}, dict(axis=axis, temperature=temperature, **kwargs), name, attr)


def transpose(data=None, axes=None, name=None, attr=None, **kwargs):
    return _create("transpose", {"data": data}, dict(axes=axes, **kwargs), name, attr)


def expand_dims(data=None, axis=None, name=None, attr=None, **kwargs):
    return _create("expand_dims", {"data": data}, dict(axis=axis, **kwargs), name, attr)


def clip(data=None, a_min=None, a_max=None, name=None, attr=None, **kwargs):
    return _create("clip", {"data": data}, dict(a_min=a_min, a_max=a_max, **kwargs), name, attr)


for _name in _UNARY + ("_copy",):
    globals()[_name] = _layer(_name, ["data"])
identity = globals()["_copy"]
for _name in ("elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "broadcast_add", "broadcast_sub",
              "broadcast_mul", "broadcast_div", "broadcast_power", "broadcast_maximum", "broadcast_minimum"):
    globals()[_name] = _layer(_name, ["lhs", "rhs"])
broadcast_plus, broadcast_minus = broadcast_add, broadcast_sub  # noqa: F821 - defined just above


# ----- custom Python operators (mx.operator.register): defined in operator.py -----------------------------
from .operator import _CustomOpDef, symbol_custom as Custom  # noqa: E402

_OPS.setdefault("Custom", _CustomOpDef())


# ----- MXNet's Python-level binary functions: Symbol or number on either side --------------------------
def _first_op(*names):
    for n in names:
        if n in _OPS or n in _ALIASES:
            return _ALIASES.get(n, n) if n not in _OPS else n
    raise MXNetError(f"trainkit has none of the operators {names}.")


def _sym_or_scalar(left, right, ops, scalar_ops, rscalar_ops, py, hint, what):
    if isinstance(left, Symbol) and isinstance(right, Symbol):
        return _create(_first_op(*ops), {"lhs": left, "rhs": right}, {}, hint=hint)
    if isinstance(left, Symbol) and isinstance(right, (numbers.Number, np.generic)):
        return _create(_first_op(*scalar_ops), {"data": left}, {"scalar": _scalar_value(right)})
    if isinstance(right, Symbol) and isinstance(left, (numbers.Number, np.generic)):
        return _create(_first_op(*rscalar_ops), {"data": right}, {"scalar": _scalar_value(left)})
    if isinstance(left, (numbers.Number, np.generic)) and isinstance(right, (numbers.Number, np.generic)):
        return py(left, right)
    raise TypeError(f"types ({type(left)}, {type(right)}) not supported by mx.sym.{what}")


def maximum(left, right):
    """Elementwise maximum of two symbols, or of a symbol and a number."""
    return _sym_or_scalar(left, right, ("_maximum", "broadcast_maximum"), ("_maximum_scalar",),
                          ("_maximum_scalar",), lambda a, b: a if a > b else b, "_maximum", "maximum")


def minimum(left, right):
    """Elementwise minimum of two symbols, or of a symbol and a number."""
    return _sym_or_scalar(left, right, ("_minimum", "broadcast_minimum"), ("_minimum_scalar",),
                          ("_minimum_scalar",), lambda a, b: a if a < b else b, "_minimum", "minimum")


def power(base, exp):
    """``base ** exp`` for symbols and numbers."""
    return _sym_or_scalar(base, exp, ("_power", "broadcast_power"), ("_power_scalar",), ("_rpower_scalar",),
                          lambda a, b: a ** b, "_power", "power")


pow = power  # noqa: A001 - MXNet's name


def hypot(left, right):
    """``sqrt(left**2 + right**2)`` for symbols and numbers."""
    return _sym_or_scalar(left, right, ("_hypot", "broadcast_hypot"), ("_hypot_scalar",), ("_hypot_scalar",),
                          lambda a, b: float(np.hypot(a, b)), "_hypot", "hypot")


# ----- the Symbol -----------------------------------------------------------------------------------
# attributes MXNet stores as ``__key__`` and also lists under ``key`` (its C API's hidden keys)
_HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage", "profiler_scope")


def _wrap_hidden(attrs):
    return {(f"__{k}__" if k in _HIDDEN_KEYS else str(k)): str(v) for k, v in attrs.items()}


def _shown_attrs(attrs):
    out = dict(attrs)
    for k in _HIDDEN_KEYS:
        if f"__{k}__" in attrs:
            out[k] = attrs[f"__{k}__"]
    return out


def _not_for_symbol(function):
    try:
        from .base import NotImplementedForSymbol
    except ImportError:  # older base.py: a plain MXNetError
        return MXNetError(f"Function {function} is not implemented for Symbol and only available in NDArray.")
    return NotImplementedForSymbol(function, None)


def _scalar_value(x):
    return x.item() if isinstance(x, np.generic) else x


class Symbol:
    """A graph with one or more outputs (MXNet's ``mx.sym.Symbol``)."""

    __slots__ = ("_outputs", "_topo_cache", "_plan_cache")

    def __init__(self, outputs):
        self._outputs = list(outputs)
        self._topo_cache = None
        self._plan_cache = None

    # ----- structure ---------------------------------------------------------------------------
    def _single(self, what):
        if len(self._outputs) != 1:
            raise MXNetError(f"{what} must be a single-output symbol, but this symbol has {len(self._outputs)} "
                             f"outputs {self.list_outputs()}: pick one with sym[i] or sym['name'].")
        return self._outputs[0]

    def _topo(self):
        """Every node the outputs depend on, each after its inputs (MXNet's DFS post-order)."""
        if self._topo_cache is None:
            order, seen = [], set()
            for head, _ in self._outputs:
                if id(head) in seen:
                    continue
                seen.add(id(head))
                stack = [(head, iter(head.inputs))]
                while stack:
                    node, it = stack[-1]
                    for src, _, _ in it:
                        if id(src) not in seen:
                            seen.add(id(src))
                            stack.append((src, iter(src.inputs)))
                            break
                    else:
                        stack.pop()
                        order.append(node)
            self._topo_cache = order
        return self._topo_cache

    def _aux_ids(self):
        aux = set()
        for node in self._topo():
            for i in node.aux_positions():
                if i < len(node.inputs) and node.inputs[i][0].op is None:
                    aux.add(id(node.inputs[i][0]))
        return aux

    @property
    def name(self):
        """The head node's name (None for a group of several outputs)."""
        if len(self._outputs) != 1:
            return None
        return self._outputs[0][0].name

    def __repr__(self):
        if len(self._outputs) == 1:
            return f"<Symbol {self.name}>"
        return f"<Symbol group [{', '.join(s.name for s in self)}]>"

    def __len__(self):
        return len(self._outputs)

    def __iter__(self):
        return (Symbol([o]) for o in self._outputs)

    def __getitem__(self, index):
        if isinstance(index, str):
            names = self.list_outputs()
            hits = [i for i, n in enumerate(names) if n == index]
            if not hits:
                raise ValueError(f'Cannot find output that matches name "{index}"')
            if len(hits) > 1:
                raise ValueError(f'There are multiple outputs with name "{index}"')
            index = hits[0]
        if isinstance(index, slice):
            return Symbol(self._outputs[index])
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"Symbol only support integer index to fetch i-th output, got {type(index).__name__}.")
        if not -len(self._outputs) <= index < len(self._outputs):
            raise IndexError(f"Symbol output index {index} out of range: it has {len(self._outputs)} outputs.")
        return Symbol([self._outputs[index]])

    def list_arguments(self):
        """Argument names (data, labels, parameters) in MXNet's order; auxiliary states excluded."""
        aux = self._aux_ids()
        return [n.name for n in self._topo() if n.op is None and id(n) not in aux]

    def list_auxiliary_states(self):
        aux = self._aux_ids()
        return [n.name for n in self._topo() if n.op is None and id(n) in aux]

    def list_inputs(self):
        return [n.name for n in self._topo() if n.op is None]

    def list_outputs(self):
        return [node.output_names()[idx] for node, idx in self._outputs]

    def get_internals(self):
        """A group of every node's outputs, in graph order (index it by output name)."""
        outs = []
        for node in self._topo():
            outs.extend((node, i) for i in range(node.num_visible()))
        return Symbol(outs)

    def get_children(self):
        """The inputs of the head node(s) as one group (a group's heads in order), or None when there are none."""
        heads = list({id(node): node for node, _ in self._outputs}.values())  # each head node once
        children = [(src, idx) for node in heads for src, idx, _ in node.inputs]
        if not children:
            return None
        return Symbol(children)

    # ----- attributes --------------------------------------------------------------------------
    def attr(self, key):
        """The head node's attribute ``key`` (``'lr_mult'`` reads ``__lr_mult__``), or None."""
        node, _ = self._single("attr")
        if key in _HIDDEN_KEYS:
            key = f"__{key}__"
        return node.attrs.get(key)

    def list_attr(self, recursive=False):
        """The head node's attributes; ``__lr_mult__``-style ones also under their plain name, as MXNet."""
        if recursive:
            raise DeprecationWarning("Symbol.list_attr with recursive=True has been deprecated. "
                                     "Please use attr_dict instead.")
        node, _ = self._single("list_attr")
        return _shown_attrs(node.attrs)

    def attr_dict(self):
        """``{node name: {attr: string}}`` for every node that has attributes (``__init__``, ``num_hidden``, ...)."""
        return {n.name: _shown_attrs(n.attrs) for n in self._topo() if n.attrs}

    def _set_attr(self, **kwargs):
        node, _ = self._single("_set_attr")
        for k, v in kwargs.items():
            if not isinstance(v, str):
                raise ValueError("Set Attr only accepts string values")
            node.attrs[f"__{k}__" if k in _HIDDEN_KEYS else k] = v
        node._parsed = None
        self._plan_cache = None

    # ----- shapes and types --------------------------------------------------------------------
    def infer_shape(self, *args, **kwargs):
        """``(arg_shapes, out_shapes, aux_shapes)`` from some input shapes, in list order.

        Parameter shapes follow from data shapes. Returns ``(None, None, None)`` with
        a warning when some shape cannot be decided; a shape that does not fit
        raises ``MXNetError`` naming the layer and the shapes.
        """
        arg, out, aux = self._infer_shape(args, kwargs)
        if any(s is None for s in arg + out + aux):
            unknown = [f"{n}: {s}" for n, s in zip(self.list_arguments(), arg) if s is None]
            warnings.warn("Cannot decide shape for the following arguments (0s in shape means unknown dimensions). "
                          "Consider providing them as input:\n\t" + "\n\t".join(unknown[:10]), stacklevel=2)
            return None, None, None
        return arg, out, aux

    def infer_shape_partial(self, *args, **kwargs):
        """Like infer_shape, with ``()`` for shapes that cannot be decided."""
        arg, out, aux = self._infer_shape(args, kwargs)
        fix = lambda shapes: [() if s is None else s for s in shapes]  # noqa: E731
        return fix(arg), fix(out), fix(aux)

    def _infer_shape(self, args, kwargs):
        return infer_shapes(self, args, kwargs)

    def _shape_pass(self, topo, known):
        return shape_pass(self, topo, known)

    def infer_type(self, *args, **kwargs):
        """``(arg_types, out_types, aux_types)`` from some input types (positional in argument order, or by name).

        Types flow forward through the graph (``Cast`` and creation ops set their own);
        a parameter without a given type takes the type of its layer's other inputs.
        Returns ``(None, None, None)`` with a warning when some type stays unknown.
        """
        arg, out, aux = self._infer_type(args, kwargs)
        if any(t is None for t in arg + out + aux):
            unknown = [n for n, t in zip(self.list_arguments(), arg) if t is None]
            warnings.warn("Cannot decide type for the following arguments. Consider providing them as input:\n\t"
                          + "\n\t".join(f"{n}: None" for n in unknown[:10]), stacklevel=2)
            return None, None, None
        return arg, out, aux

    def infer_type_partial(self, *args, **kwargs):
        """Like infer_type, with None for the types that cannot be decided."""
        return self._infer_type(args, kwargs)

    def _infer_type(self, args, kwargs):
        return infer_types(self, args, kwargs)

    # ----- files -------------------------------------------------------------------------------
    def tojson(self, remove_amp_cast=True):
        """MXNet's JSON text for this graph (the ``*-symbol.json`` file format)."""
        topo = self._topo()
        index = {id(n): i for i, n in enumerate(topo)}
        nodes, row_ptr = [], [0]
        for n in topo:
            nodes.append({"op": "null" if n.op is None else n.op, "name": n.name, "attrs": n.attrs,
                          "inputs": [[index[id(src)], idx, ver] for src, idx, ver in n.inputs]})
            row_ptr.append(row_ptr[-1] + n.num_total())
        arg_nodes = [i for i, n in enumerate(topo) if n.op is None]
        heads = [[index[id(n)], i, 0] for n, i in self._outputs]
        return graph_to_json(nodes, arg_nodes, row_ptr, heads)

    def save(self, fname, remove_amp_cast=True):
        from .files import write_text  # whole or absent, never truncated (trainkit.files)
        write_text(fname, self.tojson())

    def __getstate__(self):
        return {"json": self.tojson()}

    def __setstate__(self, state):
        other = load_json(state["json"])
        self._outputs = other._outputs
        self._topo_cache = None
        self._plan_cache = None

    def __copy__(self):
        return Symbol(self._outputs)

    def __deepcopy__(self, memo):
        return self._clone()

    copy = __copy__

    # ----- running -----------------------------------------------------------------------------
    def _plan(self):
        if self._plan_cache is None:
            self._plan_cache = _Plan(self)
        return self._plan_cache

    def eval(self, ctx=None, **kwargs):
        """Run the graph on ``name=array`` inputs (auxiliary states too); returns a list of NDArrays.

        As in MXNet this is a prediction-mode forward (Dropout off, BatchNorm on
        its moving statistics). Unlike MXNet, it keeps autograd's recording flag, so
        inside ``autograd.record()`` the result can be differentiated.
        """
        plan = self._plan()
        feed = plan.feed(kwargs, ctx)
        with autograd._Saved(training=False):
            return plan.run(feed)

    def bind(self, ctx, args, args_grad=None, grad_req="write", aux_states=None, group2ctx=None, shared_exec=None):
        """An ``Executor`` over the given arrays (lists in ``list_arguments`` order, or dicts by name).

        The arrays are used in place: the executor reads ``args``/``aux_states`` on every
        forward and writes gradients into ``args_grad`` per ``grad_req``
        ('write', 'add' or 'null'; one string, a list or a dict).
        """
        from .executor import bind
        return bind(self, _ctx_of(ctx), args, args_grad, grad_req, aux_states, group2ctx, shared_exec)

    def simple_bind(self, ctx, grad_req="write", type_dict=None, stype_dict=None, group2ctx=None,
                    shared_arg_names=None, shared_exec=None, shared_buffer=None, **kwargs):
        """An ``Executor`` with every array allocated (zeros) from input shapes: ``simple_bind(ctx, data=(2, 3))``."""
        from .executor import simple_bind
        return simple_bind(self, _ctx_of(ctx), grad_req, type_dict, stype_dict, group2ctx, shared_arg_names,
                           shared_exec, shared_buffer, **kwargs)

    def _bind(self, *args, **kwargs):
        return self.bind(*args, **kwargs)

    def debug_str(self):
        """A text description of the graph in MXNet's layout."""
        from .symbol_passes import _debug_str
        return _debug_str(self)

    # ----- operators -------------------------------------------------------------------------------
    def _binary(self, other, op, hint, scalar_op, scalar_hint, reflected=False):
        if isinstance(other, Symbol):
            lhs, rhs = (other, self) if reflected else (self, other)
            return _create(op, {"lhs": lhs, "rhs": rhs}, {}, hint=hint)
        if isinstance(other, (numbers.Number, np.generic)):
            return _create(scalar_op, {"data": self}, {"scalar": _scalar_value(other)}, hint=scalar_hint)
        raise TypeError(f"type {type(other)} not supported")

    def __add__(self, other):
        return self._binary(other, "elemwise_add", "_plus", "_plus_scalar", "_plusscalar")

    __radd__ = __add__

    def __sub__(self, other):
        return self._binary(other, "elemwise_sub", "_minus", "_minus_scalar", "_minusscalar")

    def __rsub__(self, other):
        return self._binary(other, "elemwise_sub", "_minus", "_rminus_scalar", "_rminusscalar", reflected=True)

    def __mul__(self, other):
        return self._binary(other, "elemwise_mul", "_mul", "_mul_scalar", "_mulscalar")

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self._binary(other, "elemwise_div", "_div", "_div_scalar", "_divscalar")

    def __rtruediv__(self, other):
        return self._binary(other, "elemwise_div", "_div", "_rdiv_scalar", "_rdivscalar", reflected=True)

    def __pow__(self, other):
        return self._binary(other, "_power", "_power", "_power_scalar", "_powerscalar")

    def __rpow__(self, other):
        return self._binary(other, "_power", "_power", "_rpower_scalar", "_rpower_scalar", reflected=True)

    def __neg__(self):
        return self.__mul__(-1.0)

    def __abs__(self):
        return _create("abs", {"data": self}, {})

    def __mod__(self, other):
        return self._binary(other, "_mod", "_mod", "_mod_scalar", "_modscalar")

    def __rmod__(self, other):
        return self._binary(other, "_mod", "_mod", "_rmod_scalar", "_rmodscalar", reflected=True)

    def _compare(self, other, op):
        return self._binary(other, op, op, op + "_scalar", op + "_scalar")

    def __eq__(self, other):
        return self._compare(other, "_equal")

    def __ne__(self, other):
        return self._compare(other, "_not_equal")

    def __gt__(self, other):
        return self._compare(other, "_greater")

    def __ge__(self, other):
        return self._compare(other, "_greater_equal")

    def __lt__(self, other):
        return self._compare(other, "_lesser")

    def __le__(self, other):
        return self._compare(other, "_lesser_equal")

    __hash__ = object.__hash__  # comparisons build symbols, yet symbols stay usable as dict keys

    def __bool__(self):
        raise _not_for_symbol("__bool__")

    __nonzero__ = __bool__

    def __round__(self, n=0):
        raise _not_for_symbol("round")

    # ----- composition ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        """A copy of this graph with some variables replaced by symbols: ``net(data=other)`` or ``net(other)``.

        Keywords name the variables to replace; positional symbols replace the
        arguments in ``list_arguments`` order. ``name=`` renames the head node.
        """
        name = kwargs.pop("name", None)
        attr = kwargs.pop("attr", None)
        if args and kwargs:
            raise TypeError("compose only accept input Symbols either as positional or keyword arguments, not both")
        for v in list(args) + list(kwargs.values()):
            if not isinstance(v, Symbol):
                raise TypeError("Compose expect `Symbol` as arguments")
        if args:
            arg_names = self.list_arguments()
            if len(args) > len(arg_names):
                raise TypeError(f"compose got {len(args)} positional symbols but the symbol has only "
                                f"{len(arg_names)} arguments {arg_names}.")
            kwargs = dict(zip(arg_names, args))
        inputs = set(self.list_inputs())
        unknown = [k for k in kwargs if k not in inputs]
        if unknown:
            raise MXNetError(f"compose: {unknown} are not variables of this symbol; its inputs are "
                             f"{sorted(inputs)}.")
        subs = {k: v._single(f"the symbol given for '{k}'") for k, v in kwargs.items()}
        out = self._clone(subs)
        if name is not None or attr:
            head, _ = out._single("compose with name=")
            if name is not None:
                head.name = name
            if attr:
                head.attrs.update(_wrap_hidden(attr))
        return out

    def _compose(self, *args, **kwargs):
        """MXNet's in-place compose: this symbol becomes the composed graph."""
        out = self(*args, **kwargs)
        self._outputs = out._outputs
        self._topo_cache = None
        self._plan_cache = None

    def _clone(self, subs=None):
        """A deep copy of the graph; variables named in ``subs`` become the given ``(node, index)`` entries."""
        subs = subs or {}
        clones = {}
        for n in self._topo():
            if n.op is None and n.name in subs:
                clones[id(n)] = subs[n.name]
                continue
            ins = []
            for src, i, v in n.inputs:
                c = clones[id(src)]
                ins.append((c[0], c[1], v) if isinstance(c, tuple) else (c, i, v))
            c = _Node(n.op, n.name, dict(n.attrs), ins)
            c.prim, c.pyattrs, c.value, c.shape_hint, c.version = n.prim, n.pyattrs, n.value, n.shape_hint, n.version
            clones[id(n)] = c
        outs = []
        for n, i in self._outputs:
            c = clones[id(n)]
            outs.append(c if isinstance(c, tuple) else (c, i))
        return Symbol(outs)

    # fluent methods, as MXNet's Symbol has them
    def reshape(self, shape, **kwargs):
        return reshape(self, shape=shape, **kwargs)

    def flatten(self, **kwargs):
        return Flatten(self, **kwargs)

    def sum(self, *args, **kwargs):
        return sum(self, *args, **kwargs)

    def mean(self, *args, **kwargs):
        return mean(self, *args, **kwargs)

    def softmax(self, *args, **kwargs):
        return softmax(self, *args, **kwargs)

    def log_softmax(self, *args, **kwargs):
        return log_softmax(self, *args, **kwargs)

    def dot(self, other, **kwargs):
        return dot(self, other, **kwargs)

    def transpose(self, axes=None, **kwargs):
        return transpose(self, axes=axes, **kwargs)

    def expand_dims(self, axis, **kwargs):
        return expand_dims(self, axis=axis, **kwargs)


# MXNet's fluent methods: ``sym.norm(...)`` is ``mx.sym.norm(sym, ...)``. Looked up when called, so operators
# the table adds later (or another engineer registers) become methods without a list kept here.
_FLUENT = ("reshape_like", "astype", "zeros_like", "ones_like", "broadcast_axes", "repeat", "pad", "swapaxes",
           "split", "slice", "slice_axis", "slice_like", "take", "one_hot", "pick", "sort", "topk", "argsort",
           "argmax", "argmax_channel", "argmin", "clip", "abs", "sign", "shape_array", "size_array",
           "broadcast_to", "broadcast_like", "tile", "flip", "depth_to_space", "space_to_depth", "nansum", "prod",
           "nanprod", "max", "min", "norm", "round", "rint", "fix", "floor", "ceil", "trunc", "sin", "cos", "tan",
           "arcsin", "arccos", "arctan", "degrees", "radians", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
           "arctanh", "exp", "expm1", "log", "log10", "log2", "log1p", "sqrt", "rsqrt", "cbrt", "rcbrt", "square",
           "reciprocal", "relu", "sigmoid", "softmin", "squeeze")
_FLUENT_TARGET = {"astype": "cast"}


def _fluent(name):
    target = _FLUENT_TARGET.get(name, name)

    def method(self, *args, **kwargs):
        fn = globals().get(target)
        if fn is None:
            import sys
            fn = getattr(sys.modules[__name__], target, None)
        if fn is None:
            raise AttributeError(f"'Symbol' object has no attribute '{name}' (trainkit has no mx.sym.{target}).")
        return fn(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Fluent form of ``mx.sym.{target}(self, ...)``."
    return method


for _name in _FLUENT:
    if not hasattr(Symbol, _name):
        setattr(Symbol, _name, _fluent(_name))


def _ctx_of(ctx):
    from .context import Context, current_context
    if ctx is None:
        return current_context()
    if isinstance(ctx, (list, tuple)):
        ctx = ctx[0] if ctx else current_context()
    if not isinstance(ctx, Context):
        raise TypeError(f"ctx must be an mx.Context such as mx.cpu(), got {type(ctx).__name__}.")
    return ctx


# ----- loading --------------------------------------------------------------------------------------
def load_json(json_str):
    """A Symbol from MXNet's JSON text (``Symbol.tojson`` or a ``*-symbol.json`` file's content)."""
    raw_nodes, heads = parse_graph(json_str)
    nodes = []
    for raw in raw_nodes:
        op = None if raw["op"] == "null" else raw["op"]
        node = _Node(op, raw["name"], raw["attrs"], [(nodes[i], idx, ver) for i, idx, ver in raw["inputs"]])
        if op is None:
            node.version = 0
        nodes.append(node)
    for node in nodes:  # variables remember how often an op mutated them (aux states)
        for src, _, ver in node.inputs:
            if src.op is None and ver > src.version:
                src.version = ver
    return Symbol([(nodes[i], idx) for i, idx in heads])


def load(fname):
    """A Symbol from a ``*-symbol.json`` file written by ``Symbol.save`` (trainkit's or MXNet's)."""
    if not isinstance(fname, str):
        raise TypeError("fname needs to be string")
    with open(fname) as f:
        return load_json(f.read())


from .symbol_recorded import from_recorded  # noqa: E402 - it builds Symbols and _Nodes, defined above


# ----- every other operator of the one table (trainkit/ops/table.py), and mx.sym.linalg/random/contrib ----
def _export_table():
    from .symbol_ops import export_symbols
    export_symbols(globals())


_export_table()
