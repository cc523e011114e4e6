"""Gluon's ``Parameter``, ``Constant`` and ``ParameterDict``, as MXNet 1.9.1 has them.

A Parameter holds one copy of its data per context (trainkit computes on one
device at a time, but the lists keep MXNet's interface) and, unless
``grad_req='null'``, a gradient buffer: the data arrays are autograd variables
(``mark_variables``), so ``backward`` fills ``grad()``.

Initialization is MXNet's: ``initialize`` runs at once when the shape is known;
otherwise (a ``0`` in the shape and ``allow_deferred_init``) it is remembered and
happens on the first forward pass, when the owning block infers the shape.
The initializer is called as ``default_init(InitDesc(name, {'__init__': init}))``,
so a parameter's own ``init`` (``'zeros'`` for biases) wins over the one given to
``initialize``, and the given one fills weights with its weight rule.
"""
import re
import warnings
from collections import OrderedDict

import numpy as np

from .. import autograd, initializer
from ..context import Context, cpu, current_context
from ..ndarray.ndarray import NDArray

__all__ = ["DeferredInitializationError", "Parameter", "Constant", "ParameterDict", "tensor_types"]

tensor_types = (NDArray,)


class DeferredInitializationError(Exception):
    """A parameter's data was asked for before its deferred initialization ran (MXNet's class)."""


def _brief_print_list(lst, limit=7):
    lst = list(lst)
    if len(lst) > limit:
        return _brief_print_list(lst[:limit // 2], limit) + ", ..., " + _brief_print_list(lst[-limit // 2:], limit)
    return ", ".join(f"'{str(i)}'" for i in lst)


def _shape_known(shape):
    return shape is not None and all(d > 0 for d in shape)


def _as_ctx_list(ctx):
    if ctx is None:
        return [current_context()]
    if isinstance(ctx, Context):
        return [ctx]
    return list(ctx)


def _resolve_mixed(init, name):
    """A ``Mixed`` initializer's choice for ``name`` (MXNet's Gluon cannot take Mixed; trainkit resolves it)."""
    while isinstance(init, initializer.Mixed):
        init = init._choose(name)[1]
    return init


class Parameter:
    """A weight of a Block: shape, dtype, initializer, gradient request and learning-rate multipliers."""

    def __init__(self, name, grad_req="write", shape=None, dtype=np.float32, lr_mult=1.0, wd_mult=1.0, init=None,
                 allow_deferred_init=False, differentiable=True, stype="default", grad_stype="default"):
        self._var = None
        self._trainer = None
        self._data = None
        self._grad = None
        self._ctx_list = None
        self._deferred_init = ()
        self._differentiable = differentiable
        self._allow_deferred_init = allow_deferred_init
        self._grad_req = None
        if isinstance(shape, int):
            shape = (shape,)
        self._shape = tuple(shape) if shape is not None else None
        self.name = name
        self.dtype = dtype
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self.grad_req = grad_req
        self.init = init
        for kind, value in (("stype", stype), ("grad_stype", grad_stype)):
            if value not in ("default", "row_sparse", "csr"):
                raise AssertionError(f"Invalid {kind} {value!r} for Parameter '{name}': use 'default', 'row_sparse' "
                                 "or 'csr'.")
        self._stype = stype
        self._grad_stype = grad_stype

    def __repr__(self):
        return f"Parameter {self.name} (shape={self.shape}, dtype={self.dtype})"

    # ----- attributes -------------------------------------------------------------------------
    @property
    def grad_req(self):
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req):
        if req not in ("write", "add", "null"):
            raise ValueError(f"grad_req must be one of 'write', 'add', or 'null', but got '{req}'")
        if not self._differentiable:
            req = "null"
        if self._grad_req == req:
            return
        self._grad_req = req
        if req == "null" and self._grad is not None:
            self._grad = None
            self._data = [d.detach() for d in self._data]
        elif self._data is not None:
            self._init_grad()

    @property
    def dtype(self):
        return self._dtype

    @dtype.setter
    def dtype(self, dtype):
        self._dtype = dtype

    @property
    def shape(self):
        return self._shape

    @shape.setter
    def shape(self, new_shape):
        if self._shape is None:
            self._shape = tuple(new_shape)
            return
        new_shape = tuple(new_shape)
        if len(self._shape) != len(new_shape) or not all(j in (-1, 0, i) for i, j in zip(new_shape, self._shape)):
            raise AssertionError(f"Expected shape {new_shape} is incompatible with given shape {self._shape}.")
        self._shape = new_shape

    @property
    def stype(self):
        return self._stype

    # ----- initialization ---------------------------------------------------------------------
    def initialize(self, init=None, ctx=None, default_init=initializer.Uniform(), force_reinit=False):
        """Create the data on ``ctx`` (now, or on the first forward pass when the shape is still unknown)."""
        if self._data is not None and not force_reinit:
            warnings.warn(f"Parameter '{self.name}' is already initialized, ignoring. Set force_reinit=True to "
                          "re-initialize.", stacklevel=2)
            return
        self._data = self._grad = None
        ctx = _as_ctx_list(ctx)
        if init is None:
            init = default_init if self.init is None else self.init
        if not _shape_known(self.shape):
            if self._allow_deferred_init:
                self._deferred_init = (init, ctx, default_init, None)
                return
            raise ValueError(f"Cannot initialize Parameter '{self.name}' because it has invalid shape: "
                             f"{self.shape}.")
        self._deferred_init = (init, ctx, default_init, None)
        self._finish_deferred_init()

    def _finish_deferred_init(self):
        if not self._deferred_init:
            return
        init, ctx, default_init, data = self._deferred_init
        self._deferred_init = ()
        if not _shape_known(self.shape):
            raise ValueError(f"Cannot initialize Parameter '{self.name}' because it has invalid shape: "
                             f"{self.shape}. Please specify in_units, in_channels, etc for `Block`s.")
        with autograd.pause():
            if data is None:
                data = NDArray(np.zeros(self.shape, dtype=np.dtype(self.dtype)), cpu())
                init, default_init = _resolve_mixed(init, self.name), _resolve_mixed(default_init, self.name)
                initializer.create(default_init)(initializer.InitDesc(self.name, {"__init__": init}), data)
            self._init_impl(data, ctx)

    def _set_trainer(self, trainer):
        """Remember the Trainer that updates this parameter (MXNet keeps the same link)."""
        if self._stype != "default" and self._trainer is not None and trainer is not None and \
                self._trainer is not trainer:
            raise RuntimeError(f"Failed to set the trainer for Parameter '{self.name}' because it was already set. "
                               f"More than one trainers for a {self._stype} Parameter is not supported.")
        self._trainer = trainer

    def _init_impl(self, data, ctx_list):
        self._ctx_list = list(ctx_list)
        self._data = [data.copyto(c) for c in self._ctx_list]
        self._init_grad()

    def _init_grad(self):
        if self.grad_req == "null":
            self._grad = None
            return
        self._grad = [NDArray(d._ctx.xp.zeros_like(d._data), d._ctx) for d in self._data]
        autograd.mark_variables(self._data, self._grad, self.grad_req)

    def _load_init(self, data, ctx, cast_dtype=False, dtype_source="current"):
        """Take loaded ``data`` (checking shape and dtype), initializing the parameter if needed."""
        if self.shape:
            unknown_ok = all(j in (0, -1) or i == j for i, j in zip(data.shape, self.shape))
            if len(self.shape) != len(data.shape) or not unknown_ok:
                raise AssertionError(f"Failed loading Parameter '{self.name}' from saved params: shape incompatible "
                                     f"expected {self.shape} vs saved {data.shape}")
            self.shape = tuple(i if i != 0 else j for i, j in zip(self.shape, data.shape))
        else:
            self._shape = tuple(data.shape)
        if self.dtype:
            if cast_dtype and np.dtype(self.dtype) != np.dtype(data.dtype):
                if dtype_source == "current":
                    data = data.astype(self.dtype, copy=False)
                elif dtype_source == "saved":
                    self.dtype = data.dtype
            elif np.dtype(self.dtype) != np.dtype(data.dtype):
                raise AssertionError(f"Failed loading Parameter '{self.name}' from saved params: dtype incompatible "
                                     f"expected {np.dtype(self.dtype).type} vs saved {np.dtype(data.dtype).type}. "
                                     "Set cast_dtype=True to cast the dtype of saved params.")
        if isinstance(ctx, Context):
            ctx = [ctx]
        if self._data is None:
            if self._deferred_init:
                ctx = self._deferred_init[1] if ctx is None else ctx
            self._init_impl(NDArray(data._data.copy(), data._ctx), _as_ctx_list(ctx))
        else:
            if ctx is not None and set(ctx) != set(self.list_ctx()):
                raise AssertionError(f"Failed to load Parameter '{self.name}' on {ctx} because it was previous "
                                     f"initialized on {self.list_ctx()}.")
            self.set_data(data)
        self._deferred_init = ()

    # ----- access -----------------------------------------------------------------------------
    def _check_and_get(self, arr_list, ctx):
        if arr_list is not None:
            if ctx is list:
                return arr_list
            if ctx is None:
                if len(arr_list) == 1:
                    return arr_list[0]
                ctx = current_context()
            for c, arr in zip(self._ctx_list, arr_list):
                if c == ctx:
                    return arr
            raise RuntimeError(f"Parameter '{self.name}' was not initialized on context {ctx}. It was only "
                               f"initialized on {self._ctx_list}.")
        if self._deferred_init:
            raise DeferredInitializationError(
                f"Parameter '{self.name}' has not been initialized yet because initialization was deferred. "
                "Actual initialization happens during the first forward pass. Please pass one batch of data "
                "through the network before accessing Parameters. You can also avoid deferred initialization "
                "by specifying in_units, num_features, etc., for network layers.")
        raise RuntimeError(f"Parameter '{self.name}' has not been initialized. Note that you should initialize "
                           "parameters and create Trainer with Block.collect_params() instead of Block.params "
                           "because the later does not include Parameters of nested child Blocks")

    def data(self, ctx=None):
        """The data on ``ctx`` (the only copy when there is one)."""
        return self._check_and_get(self._data, ctx)

    def list_data(self):
        return self._check_and_get(self._data, list)

    def grad(self, ctx=None):
        if self._data is not None and self._grad is None:
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' because grad_req='null'")
        return self._check_and_get(self._grad, ctx)

    def list_grad(self):
        if self._data is not None and self._grad is None:
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' because grad_req='null'")
        return self._check_and_get(self._grad, list)

    def list_ctx(self):
        if self._data is None:
            if self._deferred_init:
                return self._deferred_init[1]
            raise RuntimeError(f"Parameter '{self.name}' has not been initialized")
        return self._ctx_list

    def set_data(self, data):
        """Write ``data`` into every copy (before a deferred init runs, it becomes the initial value)."""
        self.shape = data.shape
        if self._data is None:
            if not self._deferred_init:
                raise AssertionError(f"Parameter '{self.name}' has not been initialized")
            self._deferred_init = self._deferred_init[:3] + (data,)
            return
        for arr in self._data:
            with autograd.pause():
                arr[:] = data.as_in_context(arr.context) if isinstance(data, NDArray) else data

    def zero_grad(self):
        if self._grad is None:
            return
        for g in self._grad:
            g._data[...] = 0

    def reset_ctx(self, ctx):
        ctx = _as_ctx_list(ctx)
        if self._data is not None:
            data = self._reduce()
            with autograd.pause():
                self._init_impl(data, ctx)
        elif self._deferred_init:
            init, _, default_init, data = self._deferred_init
            self._deferred_init = (init, ctx, default_init, data)
        else:
            raise ValueError(f"Cannot reset context for Parameter '{self.name}' because it has not been "
                             "initialized.")

    def _reduce(self):
        """The value on the CPU (the mean of the copies, as MXNet saves it)."""
        data = self.list_data()
        if len(data) == 1:
            return data[0].copyto(cpu())
        total = sum(d.asnumpy() for d in data) / len(data)
        return NDArray(total.astype(data[0]._data.dtype), cpu())

    def cast(self, dtype):
        self.dtype = dtype
        if self._data is None:
            return
        with autograd.pause():
            self._data = [d.astype(dtype) for d in self._data]
            if self._grad is not None:
                self._init_grad()

    def var(self):
        """This parameter as a symbol variable (what ``hybridize`` traces with)."""
        if self._var is None:
            from .. import symbol
            self._var = symbol.Variable(self.name, shape=self.shape, dtype=self.dtype, lr_mult=self.lr_mult,
                                        wd_mult=self.wd_mult, init=self.init, stype=self._stype)
        return self._var

    def row_sparse_data(self, row_id):
        raise NotImplementedError("trainkit has no sparse storage: use data() (row_sparse parameters are out of "
                                  "scope).")


class Constant(Parameter):
    """A parameter that is never updated (``grad_req='null'``), initialized to ``value``."""

    def __init__(self, name, value):
        if not isinstance(value, NDArray):
            from ..ndarray.ndarray import array
            value = array(value)
        self.value = value

        class _Init(initializer.Initializer):
            def _init_weight(inner, _, arr):  # noqa: N805 - closes over the constant's value
                arr._data[...] = value.asnumpy().astype(arr._data.dtype)

            def dumps(inner):  # noqa: N805
                return f'["constant", {{"value": {value.asnumpy().tolist()}}}]'

        init_name = f"Constant_{name}_{id(self)}"
        super().__init__(name, grad_req="null", shape=value.shape, dtype=value.dtype, init=_Init())
        self._init_name = init_name

    def __repr__(self):
        return f"Constant {self.name} (shape={self.shape}, dtype={self.dtype})"

    @property
    def grad_req(self):
        return "null"

    @grad_req.setter
    def grad_req(self, req):
        if req != "null":
            warnings.warn(f"Constant parameter \"{self.name}\" does not support grad_req other than \"null\", and "
                          f"new value \"{req}\" is ignored.", stacklevel=2)
        self._grad_req = "null"


def _indent(s, num_spaces):
    lines = s.split("\n")
    return "\n".join([lines[0]] + [num_spaces * " " + line for line in lines[1:]])


class ParameterDict:
    """An ordered ``name -> Parameter`` dict with a name prefix, optionally sharing another dict's parameters."""

    def __init__(self, prefix="", shared=None):
        self._prefix = prefix
        self._params = OrderedDict()
        self._shared = shared

    def __repr__(self):
        name = self._prefix + " " if self._prefix else ""
        content = "\n".join(_indent(f"  {v}", 2) for v in self.values())
        return f"{name}(\n{content}\n)"

    def __getitem__(self, key):
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self):
        return len(self._params)

    def __contains__(self, key):
        return key in self._params

    def items(self):
        return self._params.items()

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    @property
    def prefix(self):
        return self._prefix

    def _get_impl(self, name):
        if name in self._params:
            return self._params[name]
        if self._shared is not None and name in self._shared._params:
            self._params[name] = self._shared._params[name]
            return self._params[name]
        return None

    def get(self, name, **kwargs):
        """The parameter ``prefix + name``, created with ``kwargs`` when it does not exist yet."""
        name = self.prefix + name
        param = self._get_impl(name)
        if param is None:
            param = Parameter(name, **kwargs)
            self._params[name] = param
            return param
        for k, v in kwargs.items():
            if hasattr(param, k) and getattr(param, k) is not None:
                existing = getattr(param, k)
                if k == "shape" and v is not None and len(tuple(v)) == len(existing):
                    inferred, matched = [], True
                    for d1, d2 in zip(v, existing):
                        if d1 != d2 and d1 > 0 and d2 > 0:
                            matched = False
                            break
                        inferred.append(d1 if d1 == d2 or d2 in (0, -1) else d2)
                    if matched:
                        param._shape = tuple(inferred)
                        continue
                elif k == "dtype" and np.dtype(v) == np.dtype(existing):
                    continue
                if not (v is None or v == existing):
                    raise AssertionError(f"Cannot retrieve Parameter '{name}' because desired attribute does not "
                                         f"match with stored for attribute '{k}': desired '{v}' vs stored "
                                         f"'{getattr(param, k)}'.")
            else:
                setattr(param, k, v)
        return param

    def get_constant(self, name, value=None):
        """The constant ``prefix + name``, created from ``value`` when new."""
        name = self.prefix + name
        param = self._get_impl(name)
        if param is None:
            if value is None:
                raise KeyError(f"No constant named '{name}'. Please specify value if you want to create a new "
                               "constant.")
            param = Constant(name, value)
            self._params[name] = param
        elif value is not None:
            if not isinstance(param, Constant):
                raise AssertionError(f"Parameter '{name}' already exists but it is not a constant.")
        return param

    def update(self, other):
        for k, v in other.items():
            if k in self._params:
                if self._params[k] is not v:
                    raise AssertionError(f"Cannot update self with other because they have different Parameters "
                                         f"with the same name '{k}'")
            else:
                self._params[k] = v

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False, force_reinit=False):
        """Initialize every parameter (``init`` fills those that have no ``init`` of their own)."""
        if verbose:
            init.set_verbosity(verbose=verbose)
        for v in self.values():
            v.initialize(None, ctx, init, force_reinit=force_reinit)

    def zero_grad(self):
        for p in self.values():
            p.zero_grad()

    def reset_ctx(self, ctx):
        for p in self.values():
            p.reset_ctx(ctx)

    def list_ctx(self):
        seen = []
        for p in self.values():
            for c in p.list_ctx():
                if c not in seen:
                    seen.append(c)
        return seen

    def setattr(self, name, value):
        """Set attribute ``name`` (``grad_req``, ``lr_mult``, ...) on every parameter."""
        for p in self.values():
            setattr(p, name, value)

    def save(self, filename, strip_prefix=""):
        """Write ``{name without strip_prefix: data}`` in MXNet's format."""
        from .. import ndarray
        arg_dict = {}
        for param in self.values():
            weight = param._reduce()
            if not param.name.startswith(strip_prefix):
                raise ValueError(f"Prefix '{strip_prefix}' is to be striped before saving, but Parameter's name "
                                 f"'{param.name}' does not start with '{strip_prefix}'. this may be due to your "
                                 "Block shares parameters from other Blocks or you forgot to use 'with "
                                 "name_scope()' when creating child blocks.")
            arg_dict[param.name[len(strip_prefix):]] = weight
        ndarray.save(filename, arg_dict)

    def load(self, filename, ctx=None, allow_missing=False, ignore_extra=False, restore_prefix="", cast_dtype=False,
             dtype_source="current"):
        """Read a file written by ``save`` (or ``Module``/``export``: ``arg:``/``aux:`` prefixes are dropped)."""
        from .. import ndarray
        if restore_prefix:
            for name in self.keys():
                if not name.startswith(restore_prefix):
                    raise AssertionError(f"restore_prefix is '{restore_prefix}' but Parameters name '{name}' does "
                                         f"not start with '{restore_prefix}'")
        lprefix = len(restore_prefix)
        loaded = ndarray.load(filename)
        if not isinstance(loaded, dict):
            raise ValueError(f"'{filename}' holds a list of arrays without names; parameter files hold a dict.")
        arg_dict = {restore_prefix + (k[4:] if k.startswith(("arg:", "aux:")) else k): v for k, v in loaded.items()}
        if not allow_missing:
            for name in self.keys():
                if name not in arg_dict:
                    raise AssertionError(f"Parameter '{name[lprefix:]}' is missing in file '{filename}', which "
                                         f"contains parameters: {_brief_print_list(arg_dict.keys())}. Please make "
                                         "sure source and target networks have the same prefix.")
        for name, value in arg_dict.items():
            if name not in self._params:
                if not ignore_extra:
                    raise AssertionError(f"Parameter '{name[lprefix:]}' loaded from file '{filename}' is not present "
                                         f"in ParameterDict, choices are: {_brief_print_list(self._params.keys())}. "
                                         "Set ignore_extra to True to ignore. Please make sure source and target "
                                         "networks have the same prefix.")
                continue
            self[name]._load_init(value, ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)


def _select(params, select):
    pattern = re.compile(select)
    return {name: value for name, value in params.items() if pattern.match(name)}
