"""``mx.sym`` operators generated from the one operator table (``trainkit/ops/table.py``).

``sync_table`` turns every table entry that ``symbol_ops`` does not hand-write into a
``_TableOpDef`` (an ``_OpDef``: string attributes parsed by the Python default's type,
shapes from the entry's ``infer=`` or a run on zeros, execution through the ``mx.nd``
function), and ``export_symbols`` gives each one its ``mx.sym`` function, the
``linalg``/``random``/``contrib``/``_internal`` sub-namespaces and MXNet's fluent methods.
"""
import inspect
import numbers
import warnings

import numpy as np

from ..base import MXNetError
from ..symbol_ops import _ALIASES, _OPS, _REQUIRED, _OpDef, _ShapeError, _literal, _p_bool, _p_int


def _p_literal(text):
    """A Python literal (``2``, ``(0, None)``, ``True``, ``None``), or the text itself (``'float32'``)."""
    if not isinstance(text, str):
        return text
    try:
        return _literal(text)
    except (ValueError, SyntaxError):
        return text.strip()


def _parser_for(default):
    """The attribute parser for a parameter with this Python default: MXNet writes ``str(value)``."""
    if isinstance(default, bool):
        return _p_bool
    if isinstance(default, str):
        def _p_text(text):
            return text if not isinstance(text, str) or text.strip() != "None" else None
        return _p_text
    if isinstance(default, float):
        def _p_number(text):
            value = _p_literal(text)
            return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else value
        return _p_number
    return _p_literal


def _outputs_list(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _is_random(name):
    return name.startswith(("_random_", "_sample_"))


def _shape_attr(p):
    shape = p.get("shape")
    if shape is None:
        return None
    return (int(shape),) if isinstance(shape, numbers.Integral) else tuple(int(d) for d in shape)


class _TableOpDef(_OpDef):
    """An ``_OpDef`` made from a table entry (``ops.table.OpSpec``)."""

    def __init__(self, spec):
        self.spec = spec
        fixed = [i for i in spec.inputs if not i.startswith("*")]
        self.variadic = next((i[1:] for i in spec.inputs if i.startswith("*")), None)
        self.fixed = fixed
        params = {k: (_parser_for(v), _REQUIRED if v is inspect_empty else v) for k, v in spec.params.items()}
        # how many arrays a variadic operator got: MXNet's num_args (multi_all_finite says num_arrays)
        self.count_key = "num_arrays" if "num_arrays" in params else "num_args"
        if self.variadic:
            params[self.count_key] = (_p_int, _REQUIRED)
        self.passed = [k for k in params if k in spec.accepts or "**" in spec.accepts]
        aux = tuple(i for i, n in enumerate(fixed) if n in spec.aux)
        super().__init__(spec.name, spec.hint, self._input_roles, params, self._infer, self._compute, aux=aux,
                         outputs=self._output_suffixes, n_total=self._n_total)
        self.ignores_extra = spec.ignores_extra

    def _input_roles(self, p):
        if self.spec.input_names is not None:
            return list(self.spec.input_names(p))
        if self.variadic:
            return self.fixed + [f"arg{i}" for i in range(int(p[self.count_key]))]
        return self.fixed

    def _n_total(self, p):
        total = self.spec.total_outputs
        if total is None:
            return self.spec.n_outputs(p)
        return int(total(p)) if callable(total) else int(total)

    def _output_suffixes(self, p):
        names = self.spec.output_names
        if names is not None:
            return list(names(p) if callable(names) else names)
        n = self.spec.n_outputs(p)
        return ["output"] if self._n_total(p) == 1 else [f"output{i}" for i in range(n)]

    def _call(self, p, xs):
        kwargs = {k: p[k] for k in self.passed}
        return self.spec.fn(*xs, **kwargs)

    def _compute(self, p, xs):
        return _outputs_list(self._call(p, xs))

    def _infer(self, p, s):
        if self.spec.infer is not None:
            try:
                return self.spec.infer(p, s)
            except (MXNetError, ValueError) as e:  # the caller names the layer and its input shapes
                raise _ShapeError(str(e)) from None
        n = self.spec.n_outputs(p)
        if not s or _is_random(self.name):  # samplers: running them would move the random stream
            shape = _shape_attr(p)
            if _is_random(self.name) and s:
                if s[0] is None:
                    return s, [None] * n
                shape = tuple(s[0]) if self.name.endswith("_like") else tuple(s[0]) + (shape or ())
            if shape is not None or _is_random(self.name):
                return s, [shape] * n
        if any(x is None for x in s):
            return s, [None] * n
        outs = self._run_on_zeros(p, s, [np.float32] * len(s))
        return s, [tuple(o.shape) for o in outs]

    def _run_on_zeros(self, p, shapes, dtypes):
        from .. import autograd
        from ..ndarray.ndarray import NDArray
        zeros = [NDArray(np.zeros(tuple(shape), dtype)) for shape, dtype in zip(shapes, dtypes)]
        try:
            with autograd.pause(), np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zeros are only shape probes: log(0) is not news
                return _outputs_list(self._call(p, zeros))
        except (MXNetError, ValueError, IndexError, TypeError) as e:
            raise _ShapeError(str(e).split("\n")[-1] or type(e).__name__) from None

    def infer_type(self, p, in_types, in_shapes=None):
        """Output dtypes: the ``dtype`` attribute for creation ops, else those of a run on zeros."""
        n = self.spec.n_outputs(p)
        if not in_types or _is_random(self.name):
            dtype = p.get("dtype")
            if dtype in (None, "None") and in_types and in_types[0] is not None:
                return [np.dtype(in_types[0]).type] * n
            return [np.dtype(dtype if dtype not in (None, "None") else np.float32).type] * n
        if in_shapes is not None and all(s is not None for s in in_shapes) and all(t is not None for t in in_types):
            try:
                return [np.dtype(o.dtype).type for o in self._run_on_zeros(p, in_shapes, in_types)]
            except _ShapeError:
                pass
        return [np.dtype(in_types[0] or np.float32).type] * n


inspect_empty = inspect.Parameter.empty


def sync_table():
    """Add an ``_OpDef`` for every table operator not hand-written above; returns the names added."""
    from .. import ops  # noqa: F401  (importing the package registers every operator module)
    from .table import OPERATORS
    added = []
    made = {}
    for key, spec in OPERATORS.items():
        if key in _OPS or key in _ALIASES:
            continue
        if spec.name in _OPS and key != spec.name:  # an alias of a hand-written operator
            _ALIASES[key] = spec.name
            continue
        opdef = made.get(id(spec))
        if opdef is None:
            opdef = made[id(spec)] = _TableOpDef(spec)
            if spec.name not in _OPS:
                _OPS[spec.name] = opdef
        if key != spec.name:
            _ALIASES[key] = spec.name
        added.append(key)
    return added


def symbol_function(op_name, export_name=None):
    """``mx.sym.<export_name>(*inputs, name=None, attr=None, **params)`` for table operator ``op_name``.

    Leading Symbol arguments are the inputs (all of them for a variadic operator, or
    one list); positional values after them are parameters in the nd signature's order.
    """
    export_name = export_name or op_name
    opdef = _OPS[_ALIASES.get(op_name, op_name)]
    spec = opdef.spec
    # MXNet names a layer after the function that made it; its random.* wrappers call _random_X/_sample_X
    hint = spec.hint if spec.hint_given else (op_name if _is_random(op_name) else export_name).lower()
    real_name = opdef.name
    param_order = [k for k in spec.params]

    def make(*args, name=None, attr=None, out=None, **kwargs):
        from ..symbol import Symbol, _create
        args = list(args)
        inputs = {}
        if opdef.variadic:
            if len(args) == 1 and isinstance(args[0], (list, tuple)):
                args = list(args[0])
            n_fixed = len(opdef.fixed)
            for role, a in zip(opdef.fixed, args[:n_fixed]):
                inputs[role] = a
            rest = args[n_fixed:]
            syms = [a for a in rest if isinstance(a, Symbol)]
            if len(syms) != len(rest):
                raise TypeError(f"mx.sym.{export_name} takes Symbols as its positional arguments; pass "
                                "parameters by keyword.")
            for role in opdef.fixed:
                if role in kwargs:
                    inputs[role] = kwargs.pop(role)
            key = opdef.count_key
            if kwargs.get(key) is not None and int(kwargs[key]) != len(syms):
                raise ValueError(f"mx.sym.{export_name}: {key}={kwargs[key]} but {len(syms)} symbols were given.")
            kwargs[key] = len(syms)
            inputs.update({f"arg{i}": s for i, s in enumerate(syms)})
        else:
            roles = list(opdef.fixed)
            n_in = 0
            while n_in < len(args) and n_in < len(roles) and (isinstance(args[n_in], Symbol) or args[n_in] is None):
                n_in += 1
            inputs = dict(zip(roles, args[:n_in]))
            extra = args[n_in:]
            free = [k for k in param_order if k not in kwargs]
            if len(extra) > len(free):
                raise TypeError(f"mx.sym.{export_name} takes at most {len(roles)} input symbols ({roles}) and "
                                f"the parameters {param_order}; got {len(args)} positional arguments.")
            for k, v in zip(free, extra):
                if isinstance(v, Symbol):
                    raise TypeError(f"mx.sym.{export_name}: parameter {k!r} must be a value, got a Symbol.")
                kwargs[k] = v
            for role in roles:
                if role in kwargs:
                    inputs[role] = kwargs.pop(role)
        # an explicit None is an attribute value ("None"), as MXNet stores it: sort(axis=None) sorts all
        kwargs = {k: ("None" if v is None and k in opdef.params else v) for k, v in kwargs.items()}
        return _create(real_name, inputs, kwargs, name, attr, hint=hint)

    make.__name__ = make.__qualname__ = export_name
    make.__doc__ = (f"MXNet's ``{op_name}`` operator as a symbol (inputs {list(spec.inputs) or 'none'}, "
                    f"parameters {param_order or 'none'}); see ``mx.nd.{op_name}``.")
    return make


def export_symbols(namespace):
    """Put a symbol function for every table operator into ``mx.sym``'s ``namespace`` where the name is free,
    into the ``linalg``/``random``/``contrib`` sub-namespaces by MXNet's name prefixes, and every
    ``_``-prefixed operator (hand-written ones too) into ``_internal``."""
    from .table import OPERATORS, SUB_NAMESPACES, install, split_namespace, sub_namespace
    sync_table()
    subs = {sub: sub_namespace(namespace, sub, "mx.sym") for sub in SUB_NAMESPACES}
    for key in OPERATORS:
        opdef = _OPS.get(_ALIASES.get(key, key))
        if not isinstance(opdef, _TableOpDef):
            # a hand-written operator: its table aliases (sum_axis) spell the hand-written function
            own = namespace.get(OPERATORS[key].name)
            if key not in namespace and callable(own):
                install(namespace, key, own)
            continue
        if key not in namespace and key not in namespace.get("_TABLE_BUILTIN_NAMES", ()):
            install(namespace, key, symbol_function(key))
        if key.startswith("_") and not hasattr(subs["_internal"], key):
            setattr(subs["_internal"], key, namespace.get(key) or symbol_function(key))
        sub, short = split_namespace(key)
        if sub is None or hasattr(subs[sub], short):
            continue
        sample = f"_sample_{short}"
        if key.startswith("_random_") and isinstance(_OPS.get(sample), _TableOpDef):
            setattr(subs[sub], short, _random_dispatch(key, sample, short))
        else:
            setattr(subs[sub], short, symbol_function(key, short))
    if "random" in subs and hasattr(subs["random"], "normal") and not hasattr(subs["random"], "randn"):
        subs["random"].randn = _randn(subs["random"].normal)
    if "random" in subs and hasattr(subs["random"], "exponential") \
            and not getattr(subs["random"].exponential, "takes_scale", False):
        subs["random"].exponential = _exponential(subs["random"].exponential)
    from .table import SYM_FUNCTIONS, add_fluent_methods
    for key, fn in SYM_FUNCTIONS.items():
        install(namespace, key, fn)
    if isinstance(namespace.get("Symbol"), type):
        add_fluent_methods(namespace["Symbol"], lambda name: namespace.get(name) or
                           namespace.get("_TABLE_BUILTIN_NAMES", {}).get(name))
    layer = namespace.get("_layer")
    for key in list(_OPS) + list(_ALIASES):
        opdef = _OPS.get(_ALIASES.get(key, key))
        if key.startswith("_") and not hasattr(subs["_internal"], key) and not callable(opdef._inputs) \
                and layer is not None:
            setattr(subs["_internal"], key, layer(opdef.name, list(opdef._inputs)))


def _randn(normal):
    """``mx.sym.random.randn(*shape, loc=0, scale=1, dtype=None)``: ``normal`` with the shape given positionally
    (``loc``/``scale`` may be Symbols: one draw of ``shape`` per entry, as ``normal`` does)."""
    def randn(*shape, loc=0, scale=1, dtype=None, **kwargs):
        if "shape" in kwargs:
            raise TypeError("mx.sym.random.randn takes the shape positionally, randn(2, 3, loc=..., scale=...), "
                            "not as shape=.")
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return normal(loc=loc, scale=scale, shape=tuple(int(d) for d in shape), dtype=dtype, **kwargs)
    randn.__name__ = randn.__qualname__ = "randn"
    return randn


def _exponential(by_rate):
    """``mx.sym.random.exponential(scale=1, shape=None, dtype=None)``: MXNet's wrapper takes the mean ``scale``
    and gives the operators the rate ``lam = 1/scale`` (a Symbol ``scale`` becomes ``1/scale``)."""
    def exponential(scale=1, shape=None, dtype=None, **kwargs):
        if "lam" in kwargs:
            raise TypeError("mx.sym.random.exponential takes scale= (the mean), not lam=; lam is 1/scale.")
        return by_rate(lam=1.0 / scale, shape=shape, dtype=dtype, **kwargs)
    exponential.__name__ = exponential.__qualname__ = "exponential"
    exponential.takes_scale = True
    return exponential


def _random_dispatch(scalar_key, sample_key, short):
    """``mx.sym.random.<short>``: ``_random_<short>`` for number parameters, ``_sample_<short>`` when the
    distribution's parameters are Symbols (one draw per parameter entry), as MXNet's wrapper chooses."""
    by_number, by_symbol = symbol_function(scalar_key, short), symbol_function(sample_key, short)
    params = list(_OPS[scalar_key].spec.params)
    n_dist = len(_OPS[sample_key].fixed)

    def make(*args, **kwargs):
        from ..symbol import Symbol
        bound = dict(zip(params, args))
        bound.update(kwargs)
        dist = [bound.pop(k) for k in params[:n_dist] if k in bound]
        if any(isinstance(v, Symbol) for v in dist):
            if not all(isinstance(v, Symbol) for v in dist):
                raise ValueError(f"mx.sym.random.{short}: distribution parameters must all be Symbols or all be "
                                 f"numbers, got {[type(v).__name__ for v in dist]}.")
            return by_symbol(*dist, **bound)
        bound.update(zip(params[:n_dist], dist))
        return by_number(**bound)
    make.__name__ = make.__qualname__ = short
    make.__doc__ = f"Random draws: ``{scalar_key}`` for number parameters, ``{sample_key}`` for Symbol ones."
    return make
