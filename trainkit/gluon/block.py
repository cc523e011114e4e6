"""Gluon's ``Block``, ``HybridBlock`` and ``SymbolBlock`` (MXNet 1.9.1's naming, saving and hybridizing).

Naming: a block made outside any ``name_scope`` takes ``<class name><k>_`` from the
thread's ``mx.name.NameManager`` (shared with symbols, as in MXNet); inside a
parent's ``name_scope`` it takes ``<parent prefix><class name><k>_`` from the
parent's own counters. Parameters are ``<prefix><name>``: ``dense0_weight``.

Hybridizing: ``hybrid_forward(F, x, ...)`` runs with ``F = mx.nd`` imperatively.
After ``hybridize()`` the first call traces it with ``F = mx.sym`` into one Symbol
(cached until the block changes); later calls run that graph with
``symbol._Plan``, which calls the same ``mx.nd`` operators, so autograd records
them and gradients reach the Parameters exactly as in the imperative run. A block
whose code uses an operator the symbol side does not have (or Python control flow
on values) cannot be traced: it keeps running imperatively, and ``export`` says why.
"""
import re
import threading
import warnings
from collections import OrderedDict, defaultdict

from .. import initializer
from .. import name as _name
from ..ndarray.ndarray import NDArray
from ._graph import _TRACE_ERRORS, _Graph, _device_of, _flatten, _formats_agree, _gather, _nd_module, _regroup, \
    _symbol_module
from .parameter import DeferredInitializationError, Parameter, ParameterDict, _brief_print_list
from .utils import _indent

__all__ = ["Block", "HybridBlock", "SymbolBlock"]

class _BlockScope:
    """The scope ``with block.name_scope():`` opens: child blocks and symbols get the block's prefix."""

    _current = threading.local()

    def __init__(self, block):
        self._block = block
        self._counter = {}
        self._old_scope = None
        self._name_scope = None

    @staticmethod
    def create(prefix, params, hint):
        current = getattr(_BlockScope._current, "value", None)
        if current is None:
            if prefix is None:
                prefix = _name.NameManager.current.get(None, hint) + "_"
            params = ParameterDict(prefix) if params is None else ParameterDict(params.prefix, params)
            return prefix, params
        if prefix is None:
            count = current._counter.get(hint, 0)
            prefix = f"{hint}{count}_"
            current._counter[hint] = count + 1
        if params is None:
            parent = current._block.params
            params = ParameterDict(parent.prefix + prefix, parent._shared)
        else:
            params = ParameterDict(params.prefix, params)
        return current._block.prefix + prefix, params

    def __enter__(self):
        if self._block._empty_prefix:
            return self
        self._old_scope = getattr(_BlockScope._current, "value", None)
        _BlockScope._current.value = self
        self._name_scope = _name.Prefix(self._block.prefix)
        self._name_scope.__enter__()
        return self

    def __exit__(self, ptype, value, trace):
        if self._block._empty_prefix:
            return
        self._name_scope.__exit__(ptype, value, trace)
        self._name_scope = None
        _BlockScope._current.value = self._old_scope


class HookHandle:
    """Returned by ``register_forward_hook``: ``detach()`` removes the hook."""

    def __init__(self, hooks, key):
        self._hooks, self._key = hooks, key

    def detach(self):
        self._hooks.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.detach()


class Block:
    """Base class of all layers and models: children, parameters, naming, saving and loading.

    Subclasses create children and parameters inside ``with self.name_scope():``
    and implement ``forward``.
    """

    def __init__(self, prefix=None, params=None):
        self._empty_prefix = prefix == ""
        self._prefix, self._params = _BlockScope.create(prefix, params, self._alias())
        self._name = self._prefix[:-1] if self._prefix.endswith("_") else self._prefix
        self._scope = _BlockScope(self)
        self._children = OrderedDict()
        self._reg_params = {}
        self._forward_hooks = OrderedDict()
        self._forward_pre_hooks = OrderedDict()

    def __repr__(self):
        modstr = "\n".join(f"  ({key}): {_indent(block.__repr__(), 2)}" for key, block in self.__dict__.items()
                           if isinstance(block, Block))
        return f"{self.__class__.__name__}(\n{modstr}\n)"

    def __setattr__(self, name, value):
        """Registers Blocks and Parameters assigned as attributes."""
        if hasattr(self, name):
            existing = getattr(self, name)
            if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
                raise TypeError(f"Changing attribute type for {name} from {type(existing)} to {type(value)}"
                                "is not allowed.")
        if isinstance(value, Block):
            self.register_child(value, name)
        elif isinstance(value, Parameter):
            if name in self._reg_params:
                raise AssertionError(f"Overriding Parameter attribute {name} is not allowed. If you want to share "
                                     "parameters between blocks, please set 'params' at Block construction "
                                     "instead.")
            self._reg_params[name] = value
        super().__setattr__(name, value)

    def _check_container_with_block(self):
        children = set(self._children.values())

        def contains_block(data):
            if isinstance(data, (list, tuple)):
                return any(contains_block(x) for x in data)
            if isinstance(data, dict):
                return any(contains_block(x) for x in data.values())
            return isinstance(data, Block) and data not in children
        for k, v in self.__dict__.items():
            if isinstance(v, (list, tuple, dict)) and not (k.startswith("__") or k == "_children"):
                if contains_block(v):
                    warnings.warn(f'"{k}" is an unregistered container with Blocks. Note that Blocks inside the '
                                  'list, tuple or dict will not be registered automatically. Make sure to register '
                                  'them using register_child() or switching to nn.Sequential/nn.HybridSequential '
                                  'instead. ', stacklevel=3)

    def _alias(self):
        return self.__class__.__name__.lower()

    @property
    def prefix(self):
        return self._prefix

    @property
    def name(self):
        return self._name

    def name_scope(self):
        """``with block.name_scope():`` children and parameters created inside take this block's prefix."""
        return self._scope

    @property
    def params(self):
        """This block's own ParameterDict (children's parameters not included: see collect_params)."""
        return self._params

    def collect_params(self, select=None):
        """Every parameter of this block and its children; ``select`` is a regex matched at the name start."""
        self._check_container_with_block()
        ret = ParameterDict(self._params.prefix)
        if not select:
            ret.update(self.params)
        else:
            pattern = re.compile(select)
            ret.update({name: value for name, value in self.params.items() if pattern.match(name)})
        for cld in self._children.values():
            ret.update(cld.collect_params(select=select))
        return ret

    def _collect_params_with_prefix(self, prefix=""):
        if prefix:
            prefix += "."
        ret = {prefix + key: val for key, val in self._reg_params.items()}
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    # ----- files ------------------------------------------------------------------------------
    def save_parameters(self, filename, deduplicate=False):
        """Write the parameters under their structural names (``0.weight``, ``features.1.bias``), as MXNet."""
        params = self._collect_params_with_prefix()
        if deduplicate:
            reverse = {v: k for k, v in params.items()}
            params = {v: k for k, v in reverse.items()}
        _nd_module().save(filename, {key: val._reduce() for key, val in params.items()})

    def load_parameters(self, filename, ctx=None, allow_missing=False, ignore_extra=False, cast_dtype=False,
                        dtype_source="current"):
        """Read a ``save_parameters`` file, or (names without dots) one written by ``collect_params().save``."""
        loaded = _nd_module().load(filename)
        if not isinstance(loaded, dict):
            raise ValueError(f"'{filename}' holds a list of arrays without names; parameter files hold a dict.")
        params = self._collect_params_with_prefix()
        if not loaded and not params:
            return
        if not any("." in k for k in loaded):
            # a file written by collect_params().save or Module: full names, maybe with this block's prefix
            del loaded
            self.collect_params().load(filename, ctx, allow_missing, ignore_extra, self.prefix,
                                       cast_dtype=cast_dtype, dtype_source=dtype_source)
            return
        if not allow_missing:
            params_inv = defaultdict(list)
            for k, v in params.items():
                params_inv[v].append(k)
            for name, param in params.items():
                if not any(p in loaded for p in params_inv[param]):
                    raise AssertionError(f"Parameter '{name}' is missing in file '{filename}', which contains "
                                         f"parameters: {_brief_print_list(loaded.keys())}. Set allow_missing=True "
                                         "to ignore missing parameters.")
        for name in loaded:
            if not ignore_extra and name not in params:
                raise ValueError(f"Parameter '{name}' loaded from file '{filename}' is not present in ParameterDict, "
                                 f"which contains parameters {_brief_print_list(params.keys())}. Set "
                                 "ignore_extra=True to ignore. ")
            if name in params:
                params[name]._load_init(loaded[name], ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)

    def save_params(self, filename):
        """Deprecated (MXNet too): ``collect_params().save`` with this block's prefix stripped."""
        warnings.warn("save_params is deprecated. Please use save_parameters. Note that if you want load from "
                      "SymbolBlock later, please use export instead. For details, see "
                      "https://mxnet.apache.org/tutorials/gluon/save_load_params.html", stacklevel=2)
        self.collect_params().save(filename, strip_prefix=self.prefix)

    def load_params(self, filename, ctx=None, allow_missing=False, ignore_extra=False):
        warnings.warn("load_params is deprecated. Please use load_parameters.", stacklevel=2)
        self.load_parameters(filename, ctx, allow_missing, ignore_extra)

    # ----- structure --------------------------------------------------------------------------
    def register_child(self, block, name=None):
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    def register_forward_pre_hook(self, hook):
        """``hook(block, inputs)`` runs before each forward."""
        key = id(hook)
        self._forward_pre_hooks[key] = hook
        return HookHandle(self._forward_pre_hooks, key)

    def register_forward_hook(self, hook):
        """``hook(block, inputs, outputs)`` runs after each forward."""
        key = id(hook)
        self._forward_hooks[key] = hook
        return HookHandle(self._forward_hooks, key)

    def apply(self, fn):
        for cld in self._children.values():
            cld.apply(fn)
        fn(self)
        return self

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False, force_reinit=False):
        """Initialize this block's and its children's parameters (``collect_params().initialize``)."""
        self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def hybridize(self, active=True, **kwargs):
        for cld in self._children.values():
            cld.hybridize(active, **kwargs)

    def cast(self, dtype):
        for child in self._children.values():
            child.cast(dtype)
        for _, param in self.params.items():
            param.cast(dtype)

    def zero_grad(self):
        self.collect_params().zero_grad()

    def reset_ctx(self, ctx):
        self.collect_params().reset_ctx(ctx)

    def __call__(self, *args):
        if not self._forward_pre_hooks and not self._forward_hooks:  # the usual call: nothing to copy
            return self.forward(*args)
        for hook in list(self._forward_pre_hooks.values()):
            hook(self, args)
        out = self.forward(*args)
        for hook in list(self._forward_hooks.values()):
            hook(self, args, out)
        return out

    def forward(self, *args):
        raise NotImplementedError

    def summary(self, *inputs):
        """Print each block's output shape and parameter count after running ``inputs`` once."""
        rows = []

        def hook(block, _, out):
            shape = [o.shape for o in out] if isinstance(out, (list, tuple)) else out.shape
            n = sum(int(p.data().size) for p in block.params.values() if p._data is not None)
            rows.append((f"{block.__class__.__name__}-{len(rows) + 1}", str(shape), n))
        handles = []
        self.apply(lambda b: handles.append(b.register_forward_hook(hook)))
        try:
            self(*inputs)
        finally:
            for h in handles:
                h.detach()
        line = "-" * 80
        print(line)
        print(f"{'Layer (type)':>30}{'Output Shape':>35}{'Param #':>15}")
        print("=" * 80)
        for name, shape, n in rows:
            print(f"{name:>30}{shape:>35}{n:>15}")
        print("=" * 80)
        total = sum(int(p.data().size) for p in self.collect_params().values() if p._data is not None)
        print(f"Parameters in forward computation graph, duplicate included\n   Total params: {total}")
        print(line)


class HybridBlock(Block):
    """A Block whose ``hybrid_forward(F, x, *args, **params)`` can run with ``mx.nd`` or be traced with ``mx.sym``."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._cached_graph = ()
        self._cached_op = None
        self._trace_error = None
        self._plain_arity = -1  # number of inputs when the traced call took plain arrays (the fast path)
        self._out_format = None
        self._in_format = None
        self._active = False
        self._flags = []

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if isinstance(value, HybridBlock):
            self._clear_cached_op()

    def register_child(self, block, name=None):
        if not isinstance(block, HybridBlock):
            raise ValueError(f"Children of HybridBlock must also be HybridBlock, but {block} has type "
                             f"{type(block)}. If you are using Sequential, please try HybridSequential instead.")
        super().register_child(block, name)
        self._clear_cached_op()

    def _clear_cached_op(self):
        self._cached_graph = ()
        self._cached_op = None
        self._trace_error = None
        self._plain_arity = -1

    def hybridize(self, active=True, backend=None, backend_opts=None, clear=True, **kwargs):
        """Trace into a Symbol on the next call and run the graph from then on (``static_alloc`` etc. accepted)."""
        self._active = active
        self._flags = list(kwargs.items())
        if clear:
            self._clear_cached_op()
        if active and (self._forward_hooks or self._forward_pre_hooks):
            warnings.warn(f'"{self}" is being hybridized while still having forward hook/pre-hook. If "{self}" is '
                          'a child of HybridBlock, the hooks will not take effect.', stacklevel=2)
        super().hybridize(active, **kwargs)

    def cast(self, dtype):
        self._clear_cached_op()
        super().cast(dtype)

    # ----- tracing ----------------------------------------------------------------------------
    def _get_graph(self, *args):
        if not self._cached_graph:
            symbol = _symbol_module()
            for p in self.collect_params().values():
                p._var = None  # fresh variables per trace: aux-state versions count this graph's uses only
            flat, self._in_format = _flatten(args, "input")
            if len(flat) > 1:
                inputs = [symbol.var(f"data{i}") if x is not None else None for i, x in enumerate(flat)]
            else:
                inputs = [symbol.var("data") if flat[0] is not None else None]
            grouped = _regroup(inputs, self._in_format)[0]
            params = {i: j.var() for i, j in self._reg_params.items()}
            with self.name_scope():
                out = self.hybrid_forward(symbol, *grouped, **params)
            out, self._out_format = _flatten(out, "output")
            self._cached_graph = [i for i in inputs if i is not None], symbol.Group(out)
        return self._cached_graph

    def infer_shape(self, *args):
        """Set every parameter's shape from the input shapes, by symbolic shape inference."""
        self._infer_attrs("infer_shape", "shape", *args)

    def infer_type(self, *args):
        self._infer_attrs("infer_type", "dtype", *args)

    def _infer_attrs(self, infer_fn, attr, *args):
        inputs, out = self._get_graph(*args)
        flat, _ = _flatten(args, "input")
        flat = [a for a in flat if a is not None]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            arg_attrs, _, aux_attrs = getattr(out, infer_fn)(**{i.name: getattr(j, attr)
                                                                 for i, j in zip(inputs, flat)})
        if arg_attrs is None:
            raise ValueError(str(caught[0].message) if caught else f"{infer_fn} could not decide every {attr}.")
        sdict = dict(zip(out.list_arguments(), arg_attrs))
        sdict.update(zip(out.list_auxiliary_states(), aux_attrs))
        for p in self.collect_params().values():
            if p.name in sdict:
                setattr(p, attr, sdict[p.name])

    def _infer_param_shapes(self, *args):
        """Fill unknown parameter shapes from NDArray inputs. Layers override this with a direct rule."""
        self.infer_shape(*args)

    def _deferred_infer_shape(self, *args):
        try:
            self._infer_param_shapes(*args)
        except Exception as e:  # noqa: BLE001 - MXNet wraps whatever the inference raised
            raise ValueError(f"Deferred initialization failed because shape cannot be inferred. {e}") from e

    # ----- running ----------------------------------------------------------------------------
    def _build_cache(self, *args):
        try:
            inputs, out = self._get_graph(*args)
            params = {p.name: p for p in self.collect_params().values()}
            self._cached_op = _Graph(out, [i.name for i in inputs], params)
            fmt = self._in_format
            self._plain_arity = len(fmt) if isinstance(fmt, list) and all(f == 0 for f in fmt) else -1
        except _TRACE_ERRORS as e:
            self._cached_graph = ()
            self._trace_error = e

    def _params_ready(self, ctx):
        try:
            for p in self.collect_params().values():
                p.data(ctx)
        except DeferredInitializationError:
            return False
        return True

    def _call_cached_op(self, *args):
        ctx = next(a.context for a in _flatten(args, "input")[0] if isinstance(a, NDArray))
        if self._cached_op is None and self._trace_error is None:
            if not self._params_ready(ctx):
                # one imperative pass lets every layer infer its own shapes and finish its deferred init;
                # the graph is traced right after, so export works and the next call runs it
                out = self._forward_imperative(ctx, *args)
                self._build_cache(*args)
                return out
            self._build_cache(*args)
        if self._cached_op is None:
            return self._forward_imperative(ctx, *args)
        flat, fmt = _flatten(args, "input")
        if not _formats_agree(self._in_format, fmt):
            raise ValueError("The argument structure of HybridBlock does not match the cached version. Stored "
                             f"format = {self._in_format}, input format = {fmt}")
        flat = [a for a in flat if a is not None]
        outs = self._cached_op.run(flat, ctx)
        return _regroup(outs, self._out_format)[0]

    def _forward_imperative(self, ctx, x, *args):
        if not self._reg_params:  # a block without parameters of its own (a loss, an activation)
            return self.hybrid_forward(_nd_module(), x, *args)
        try:
            params = {k: v.data(ctx) for k, v in self._reg_params.items()}
        except DeferredInitializationError:
            self._deferred_infer_shape(x, *args)
            for v in self.params.values():
                v._finish_deferred_init()
            params = {k: v.data(ctx) for k, v in self._reg_params.items()}
        return self.hybrid_forward(_nd_module(), x, *args, **params)

    def forward(self, x, *args):
        """Run ``hybrid_forward`` with NDArrays (imperative or the cached graph) or Symbols (builds a graph)."""
        arrays = type(x) is NDArray and _all_arrays(args)
        if arrays and self._cached_op is not None and self._active and self._plain_arity == len(args) + 1:
            outs = self._cached_op.run((x,) + args, x._ctx)  # the hot path: a traced graph, array inputs
            return _regroup(outs, self._out_format)[0]
        if arrays and not self._active:  # the common imperative call
            return self._forward_imperative(x._ctx, x, *args)
        symbol = _symbol_module()
        flat = _gather([x] + list(args))
        has_symbol = any(isinstance(a, symbol.Symbol) for a in flat)
        has_ndarray = any(isinstance(a, NDArray) for a in flat)
        if has_symbol and has_ndarray:
            raise ValueError("In HybridBlock, we do not support mixed NDArrays and Symbols types for the input. "
                             "Please check the type of the args.\n")
        if not has_symbol and not has_ndarray:
            raise ValueError("In HybridBlock, there must be one NDArray or one Symbol in the input. Please check "
                             "the type of the args.\n")
        if has_ndarray:
            if self._active:
                devices = {_device_of(a) for a in flat if isinstance(a, NDArray)}
                if len(devices) > 1:
                    raise ValueError("Find multiple contexts in the input, After hybridized, the HybridBlock only "
                                     "supports one input context. You can print the ele.ctx in the input arguments "
                                     f"to inspect their contexts. Find all contexts = {devices}")
                return self._call_cached_op(x, *args)
            ctx = next(a.context for a in flat if isinstance(a, NDArray))
            return self._forward_imperative(ctx, x, *args)
        params = {i: j.var() for i, j in self._reg_params.items()}
        with self.name_scope():
            return self.hybrid_forward(symbol, x, *args, **params)

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise NotImplementedError

    # ----- export -----------------------------------------------------------------------------
    def export(self, path, epoch=0, remove_amp_cast=True):
        """Write ``path-symbol.json`` and ``path-%04d.params`` (``arg:``/``aux:`` names), as Module reads them."""
        if not self._cached_graph:
            if self._trace_error is not None:
                raise RuntimeError(f"{self.__class__.__name__} could not be traced into a Symbol, so it cannot be "
                                   f"exported: {self._trace_error}. Write hybrid_forward with operators mx.sym "
                                   "has (and no Python control flow on array values).")
            raise RuntimeError("Please first call block.hybridize() and then run forward with this block at least "
                               "once before calling export.")
        sym = self._cached_graph[1]
        sym.save(f"{path}-symbol.json", remove_amp_cast=remove_amp_cast)
        arg_names = set(sym.list_arguments())
        aux_names = set(sym.list_auxiliary_states())
        arg_dict = {}
        for name, param in self.collect_params().items():
            if name in arg_names:
                arg_dict[f"arg:{name}"] = param._reduce()
            elif name in aux_names:
                arg_dict[f"aux:{name}"] = param._reduce()
        _nd_module().save(f"{path}-{epoch:04d}.params", arg_dict)


def _all_arrays(args):
    """Whether every extra input is an NDArray (most calls pass none or one: no generator for those)."""
    if not args:
        return True
    if len(args) == 1:
        return type(args[0]) is NDArray
    return all(type(a) is NDArray for a in args)


from .symbol_block import SymbolBlock  # noqa: E402,F401 - MXNet's gluon.block.SymbolBlock path
