"""The one operator table: every operator's signature, declared once beside its code.

``@operator(...)`` on an ``mx.nd`` function records which of its arguments are
arrays (inputs, auxiliary states) and which are attributes. From that one entry:

- ``mx.nd`` exports the function under its name and its aliases (the module must be
  imported from ``trainkit/ops/__init__.py``), with ``out=`` and ``name=`` added:
  ``nd.exp(x, out=y)`` writes the result into ``y`` and returns ``y`` (an ``out``
  already in a recorded graph raises, as MXNet does), ``name=`` is accepted and ignored.
- ``mx.sym`` gets ``NAME(*input_symbols, name=None, attr=None, **params)``:
  ``ops/table_sym.py`` turns the entry into a ``symbol_ops._OpDef`` (attributes stored as strings,
  as MXNet's JSON does; auto-names ``<name><k>``; shapes from ``infer=`` or else by
  running the function on zeros of the input shapes; execution calls the function,
  so autograd records symbols like imperative code). Hand-written ``_OpDef``s in
  ``symbol_ops`` take precedence over generated ones of the same name.
- MXNet's name prefixes make sub-namespaces, in ``mx.nd`` and ``mx.sym`` alike:
  ``_linalg_X`` is ``.linalg.X``, ``_random_X``/``_sample_X`` are ``.random.X``,
  ``_contrib_X`` is ``.contrib.X`` (a name already defined there is kept; register
  the top-level spelling, e.g. ``linalg_gemm``, as an alias). Every ``_``-prefixed name
  is also in ``_internal``. ``mx.sym.random.X`` calls ``_random_X`` for number
  parameters and ``_sample_X`` when they are Symbols, as MXNet's wrapper does.
- Names of Python builtins (``slice``, ``round``) are served by the module's
  ``__getattr__``, so ``symbol.py``'s own code keeps the builtin; names in ``FLUENT``
  become NDArray/Symbol methods where those classes lack them (``x.topk(k=2)``).

Decorator arguments:
``inputs``: the array arguments in order; ``"*data"`` is variadic (``add_n(*args)``;
its symbol gets MXNet's ``num_args`` attribute); ``()`` for creation ops and samplers,
whose output shape and dtype then come from the ``shape``/``dtype`` attributes.
``aux``: the inputs that are auxiliary states. ``infer(attrs, in_shapes) ->
(in_shapes, out_shapes)``: a shape rule for operators whose parameter shapes follow
from the data (``None`` is an unknown shape). ``num_outputs``: visible outputs, an
int or a function of the parsed attributes. ``total_outputs``: outputs including
hidden ones (MXNet's Dropout mask; they count in the JSON's ``node_row_ptr``).
``output_names``: suffixes (a list or a function of attrs) instead of MXNet's default
``output`` / ``output0, output1, ...``. ``input_names``: a function of attrs giving
the inputs a symbol actually has (``FullyConnected`` without ``bias``).
``hint``: the auto-name prefix (default: the exported name, lower-cased).
``same_shape`` is the ``infer=`` rule of elementwise operators (no run on zeros needed).

``@nd_function`` exports a plain Python function in ``mx.nd`` only (MXNet's Python-level
helpers such as ``modulo`` or ``concatenate``, which have no symbol form); ``@sym_function``
one in ``mx.sym`` (wrappers that pick an operator by argument types, e.g. ``histogram``).
"""
import functools
import inspect

OPERATORS = {}
ND_FUNCTIONS = {}  # mx.nd-only Python functions (see nd_function)
SYM_FUNCTIONS = {}  # mx.sym Python helpers that pick an operator (see sym_function)

# MXNet's operator-name prefixes and the sub-namespace each one fills
NAMESPACE_PREFIXES = (("_linalg_", "linalg"), ("_random_", "random"), ("_sample_", "random"),
                      ("_contrib_", "contrib"))
_NOT_PARAMS = ("name", "out", "attr", "ctx")


class OpSpec:
    """One operator as the table knows it (see the module docstring for the fields)."""

    __slots__ = ("name", "fn", "raw_fn", "inputs", "aux", "params", "infer", "num_outputs", "hint", "hint_given",
                 "aliases", "total_outputs", "output_names", "input_names", "accepts", "ignores_extra")

    def __init__(self, name, fn, inputs, aux, infer, num_outputs, hint, aliases, total_outputs=None,
                 output_names=None, input_names=None):
        self.name = name
        self.fn = fn
        self.raw_fn = fn
        self.inputs = tuple(inputs)
        self.aux = tuple(aux)
        self.infer = infer
        self.num_outputs = num_outputs
        self.hint_given = hint is not None
        self.hint = hint or name.lower()
        self.aliases = tuple(aliases)
        self.total_outputs = total_outputs
        self.output_names = output_names
        self.input_names = input_names
        array_args = {i.lstrip("*") for i in self.inputs}
        parameters = inspect.signature(fn).parameters.values()
        self.accepts = {p.name for p in parameters} | ({"**"} if any(p.kind == p.VAR_KEYWORD for p in parameters)
                                                        else set())
        # a function whose catch-all keyword is named ``ignored`` drops what it does not know (MXNet's
        # operators without parameters do); other catch-alls (Custom) take every keyword as a parameter
        self.ignores_extra = any(p.kind == p.VAR_KEYWORD and p.name == "ignored" for p in parameters)
        self.params = {p.name: p.default for p in parameters
                       if p.name not in array_args and p.name not in _NOT_PARAMS
                       and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}

    def n_outputs(self, attrs):
        n = self.num_outputs
        return int(n(attrs)) if callable(n) else int(n)

    def __repr__(self):
        return f"<operator {self.name}({', '.join(self.inputs)})>"


def operator(inputs=("data",), *, name=None, aux=(), infer=None, num_outputs=1, hint=None, aliases=(),
             total_outputs=None, output_names=None, input_names=None):
    """Register the decorated ``mx.nd`` function as an operator (under ``name``, default its own).

    Returns the function with ``out=``/``name=`` handling added (see the module docstring).
    """
    def register(fn):
        spec = OpSpec(name or fn.__name__, fn, inputs, aux, infer, num_outputs, hint, aliases, total_outputs,
                      output_names, input_names)
        public = _with_out(fn, spec)
        spec.fn = public
        for key in (spec.name,) + spec.aliases:
            OPERATORS[key] = spec
        public.op_spec = spec
        return public
    return register


def same_shape(attrs, in_shapes):
    """``infer=`` rule of elementwise operators: the output has the first input's shape."""
    return in_shapes, [in_shapes[0] if in_shapes else None]


def nd_function(fn=None, *, name=None, aliases=()):
    """Export a plain Python function (no symbol form: ``modulo``, ``concatenate``) in ``mx.nd``."""
    def register(f):
        for key in (name or f.__name__,) + tuple(aliases):
            ND_FUNCTIONS[key] = f
        return f
    return register(fn) if fn is not None else register


def sym_function(fn=None, *, name=None):
    """Export a Python helper in ``mx.sym`` (MXNet's ``sym.histogram``/``sym.split_v2`` wrappers)."""
    def register(f):
        SYM_FUNCTIONS[name or f.__name__] = f
        return f
    return register(fn) if fn is not None else register


def namespace_of(x):
    """``mx.sym`` for a Symbol, ``mx.nd`` otherwise: for helpers that serve both."""
    from .. import ndarray
    if type(x).__name__ == "Symbol":
        from .. import symbol
        return symbol
    return ndarray


def split_namespace(op_name):
    """``('linalg', 'gemm')`` for ``_linalg_gemm``; ``(None, name)`` for a name without a known prefix."""
    for prefix, sub in NAMESPACE_PREFIXES:
        if op_name.startswith(prefix) and len(op_name) > len(prefix):
            return sub, op_name[len(prefix):]
    return None, op_name


# ----- out= and name= -------------------------------------------------------------------------------
def _with_out(fn, spec):
    """``fn`` taking ``out=`` and ``name=`` too; functions that handle both themselves are kept as they are."""
    handles_out = "out" in spec.accepts
    drop_name = "name" not in spec.accepts and "**" not in spec.accepts
    if handles_out and not drop_name:
        return fn

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if not kwargs:
            return fn(*args)
        if drop_name:
            kwargs.pop("name", None)
        out = None if handles_out else kwargs.pop("out", None)
        result = fn(*args, **kwargs)
        return result if out is None else write_out(result, out, spec.name)
    return op


def write_out(result, out, op_name):
    """Copy ``result`` (an NDArray or a sequence of them) into ``out`` and return ``out``.

    As in MXNet the write is checked like any in-place write (an ``out`` already in a
    recorded graph raises) and, while recording, ``out`` takes the result's place in
    the graph, so gradients flow through it.
    """
    from ..base import MXNetError
    from ..ndarray.ndarray import NDArray
    results = list(result) if isinstance(result, (list, tuple)) else [result]
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    if len(outs) != len(results):
        raise MXNetError(f"{op_name}: out= has {len(outs)} arrays but the operator gives {len(results)} outputs.")
    for r, o in zip(results, outs):
        if not isinstance(o, NDArray):
            raise TypeError(f"{op_name}: out= must be an NDArray (or a list of them for several outputs), got "
                            f"{type(o).__name__}.")
        if tuple(o.shape) != tuple(r.shape):
            raise MXNetError(f"{op_name}: out= has shape {tuple(o.shape)} but the result has shape "
                             f"{tuple(r.shape)}; pass an array of the result's shape.")
        if o is r:
            continue
        o._check_writable()
        o._data[...] = r._data
        if r._node is not None:
            o._node, o._oidx = r._node, r._oidx
    return out


# ----- exporting into mx.nd ---------------------------------------------------------------------------
def install(namespace, name, obj):
    """``namespace[name] = obj`` unless the name is taken; names of Python builtins (``slice``, ``round``)
    are served by a module ``__getattr__`` instead, so the module's own code keeps the builtin."""
    import builtins
    if name in namespace:
        return
    if not hasattr(builtins, name):
        namespace[name] = obj
        return
    lazy = namespace.get("_TABLE_BUILTIN_NAMES")
    if lazy is None:
        lazy = namespace["_TABLE_BUILTIN_NAMES"] = {}
        previous = namespace.get("__getattr__")
        module_name = namespace.get("__name__")

        def __getattr__(attr):
            if attr in lazy:
                return lazy[attr]
            if previous is not None:
                return previous(attr)
            raise AttributeError(f"module {module_name!r} has no attribute {attr!r}")
        namespace["__getattr__"] = __getattr__
    lazy.setdefault(name, obj)


SUB_NAMESPACES = ("linalg", "random", "contrib", "_internal")
# operators MXNet 1.9.1 also has as NDArray/Symbol methods (x.tan(), s.topk(k=2)); added where a class lacks one
FLUENT = ("abs", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "argmax", "argmax_channel",
          "argmin", "argsort", "broadcast_axes", "broadcast_like", "broadcast_to", "cbrt", "ceil", "cos", "cosh",
          "degrees", "depth_to_space", "diag", "exp", "expand_dims", "expm1", "fix", "flatten", "flip", "floor",
          "log", "log10", "log1p", "log2", "log_softmax", "max", "mean", "min", "nanprod", "nansum", "norm",
          "one_hot", "ones_like", "pad", "pick", "prod", "radians", "rcbrt", "reciprocal", "relu", "repeat",
          "reshape_like", "rint", "round", "rsqrt", "shape_array", "sigmoid", "sign", "sin", "sinh",
          "size_array", "slice", "slice_axis", "slice_like", "softmax", "softmin", "sort", "space_to_depth",
          "split", "sqrt", "square", "squeeze", "sum", "swapaxes", "take", "tan", "tanh", "tile", "topk",
          "trunc", "zeros_like")


def add_fluent_methods(cls, lookup):
    """``cls.<name>(self, *args, **kwargs) = lookup(name)(self, *args, **kwargs)`` for FLUENT names it lacks."""
    for name in FLUENT:
        fn = lookup(name)
        if fn is None or hasattr(cls, name):
            continue

        if inspect.isfunction(fn):  # a plain function binds as a method by itself: no extra call per use
            setattr(cls, name, fn)
            continue

        def method(self, *args, _fn=fn, **kwargs):
            return _fn(self, *args, **kwargs)
        method.__name__ = method.__qualname__ = name
        method.__doc__ = f"``{name}(self, ...)``, the fluent form of the ``{name}`` operator."
        setattr(cls, name, method)


def sub_namespace(namespace, sub, what):
    """The module ``<namespace>.<sub>``: an existing one (its own file), else a new, empty one."""
    import importlib
    import sys
    import types
    module = namespace.get(sub)
    if isinstance(module, types.ModuleType):
        return module
    package = namespace["__name__"]
    try:
        module = importlib.import_module(f"{package}.{sub}")
    except ModuleNotFoundError as err:
        if err.name != f"{package}.{sub}":
            raise
        module = sys.modules.get(f"{package}.{sub}")
        if module is None:
            module = types.ModuleType(f"{package}.{sub}", f"``{what}.{sub}``: MXNet's {sub.strip('_')} operators.")
            sys.modules[module.__name__] = module
    namespace[sub] = module
    return module


def export_nd(namespace):
    """Put every registered operator into ``mx.nd``'s ``namespace`` and its sub-namespaces (names not yet there).

    ``_linalg_X`` also becomes ``linalg.X`` (likewise random, contrib), and every ``_``-prefixed
    name is in ``_internal`` too, as in MXNet. Called from ``trainkit/ndarray/__init__.py`` and
    again from ``trainkit/ops/__init__.py`` once every operator module is imported.
    """
    subs = {sub: sub_namespace(namespace, sub, "mx.nd") for sub in SUB_NAMESPACES}
    entries = [(k, spec.fn) for k, spec in OPERATORS.items()] + list(ND_FUNCTIONS.items())
    for op_name, fn in entries:
        install(namespace, op_name, fn)
        if op_name.startswith("_") and not hasattr(subs["_internal"], op_name):
            setattr(subs["_internal"], op_name, fn)
        sub, short = split_namespace(op_name)
        if sub is not None and not hasattr(subs[sub], short):
            setattr(subs[sub], short, fn)
    from ..ndarray.ndarray import NDArray
    add_fluent_methods(NDArray, lambda name: OPERATORS[name].fn if name in OPERATORS else None)
