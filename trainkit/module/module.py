"""``mx.mod.Module``: a Symbol plus its parameters, trained the MXNet 1.x way.

The "executor" is the symbol's ``_Plan``. The parameters are NDArrays marked with
``attach_grad``. From the second batch of a shape on, ``forward(is_train=True)`` runs
the plan's compiled program (``trainkit.compiled``: the primitives' numpy forwards,
nothing recorded) and ``backward`` its vjps in reverse, writing each parameter's
``.grad``; graphs the compiled path does not take (BatchNorm, a monitor) run under
``autograd.record`` and ``backward`` is ``autograd.backward`` on the outputs (loss
heads such as SoftmaxOutput supply their own gradient). ``update`` hands each
gradient to the optimizer's updater.

Like MXNet, a Module keeps two sets of arrays: the live ones the graph reads
(``module.params``) and CPU copies returned by ``get_params()`` (the same dict
objects every time). trainkit refreshes the copies on every ``get_params()``, so
they also see parameters a trainer changed in place.

Where MXNet is weak, trainkit validates first and then writes:

* ``init_params``/``set_params`` check every name (extra keys need
  ``allow_extra=True``), shape and value type before any parameter changes, and
  accept numpy arrays and initializer names (``'xavier'``);
* ``forward`` with a batch that does not fit raises before any state changes; a
  new batch size without labels works (labels default to zeros);
* ``Module.load`` and ``bind`` check a checkpoint's parameters against the symbol;
* calls out of order (``init_params`` before ``bind``, ``update`` before
  ``init_optimizer``, ``get_params`` before init) say what to call first.
  These errors are ``MXNetError`` and also ``AssertionError``, the type MXNet raises.

A Module is also callable on NDArrays: ``out = module(x)`` or
``module(data=x, softmax_label=y)`` runs the graph with the current autograd
state (see ``__call__``).
"""
import logging
import warnings
from collections import OrderedDict

import numpy as np

from .. import autograd, initializer as _init, optimizer as _opt
from ..base import MXNetError
from ..context import Context, cpu
from ..io import DataDesc
from ..model import load_checkpoint
from ..ndarray.ndarray import NDArray, _to_device, array, zeros
from .base_module import BaseModule, ModuleStateError, ModuleValueError, _as_list
from ..symbol import Symbol

_log = logging.getLogger(__name__)

__all__ = ["Module"]


def _check_input_names(symbol, names, typename, throw):
    """MXNet's check that data/label/state names are symbol arguments (without its ANSI colours)."""
    args = symbol.list_arguments()
    for name in names:
        if name in args:
            continue
        candidates = [a for a in args if not a.endswith(("_weight", "_bias", "_gamma", "_beta"))]
        msg = (f"You created Module with Module(..., {typename}_names={names}) but input with name '{name}' is not "
               f"found in symbol.list_arguments(). Did you mean one of:\n\t" + "\n\t".join(candidates))
        if throw:
            raise ModuleValueError(msg)
        warnings.warn(msg, stacklevel=3)


def _check_names_match(names, shapes, kind, throw):
    actual = [x[0] for x in shapes]
    if sorted(names) != sorted(actual):
        msg = (f"Data provided by {kind}_shapes don't match names specified by {kind}_names "
               f"({shapes} vs. {names})")
        if throw:
            raise ModuleValueError(msg)
        warnings.warn(msg, stacklevel=3)


def _descs(shapes):
    out = []
    for x in shapes:
        if isinstance(x, DataDesc):
            out.append(x)
        else:
            name, shape = x[0], x[1]
            if not isinstance(shape, (tuple, list)):
                raise TypeError(f"the shape of input '{name}' must be a tuple of ints, e.g. ('{name}', (32, 10)), "
                                f"got a {type(shape).__name__}.")
            out.append(DataDesc(name, tuple(int(d) for d in shape), *x[2:]))
    return out


def _as_nd(value, what, dtype=None):
    if isinstance(value, NDArray):
        return value
    if isinstance(value, (np.ndarray, list, tuple, np.generic, float, int)):
        return array(value, dtype=dtype)
    raise TypeError(f"{what} must be an NDArray or a numpy array, got {type(value).__name__}.")


def _assign(dst, data):
    """``dst[...] = data`` across devices (CuPy refuses numpy arrays in slice assignment)."""
    if type(dst._data) is not type(data):
        data = _to_device(data, dst._ctx)
    dst._data[...] = data


class Module(BaseModule):
    """A Symbol with parameters, bound to input shapes (MXNet's ``mx.mod.Module``).

    Parameters
    ----------
    symbol : Symbol
    data_names, label_names, state_names : list of str, or None for none
        Inputs fed from batches. A label name missing from the symbol only warns
        (pass ``label_names=None`` for nets without labels).
    fixed_param_names : list of str
        Parameters that ``update`` leaves alone.
    context : Context or list of Context
        trainkit runs on the first one.
    """

    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",), logger=logging,
                 context=cpu(), work_load_list=None, fixed_param_names=None, state_names=None, group2ctxs=None,
                 compression_params=None):
        super().__init__(logger=logger)
        if not isinstance(symbol, Symbol):
            raise TypeError(f"Module needs an mx.sym.Symbol, got {type(symbol).__name__}. Build one with mx.sym "
                            "functions, mx.sym.load(...), or mx.autograd.get_symbol(y).")
        contexts = _as_list(context) or [cpu()]
        for c in contexts:
            if not isinstance(c, Context):
                raise TypeError(f"context must be an mx.Context or a list of them, got {type(c).__name__}.")
        self._context = contexts
        self._work_load_list = work_load_list
        self._symbol = symbol
        data_names = list(data_names) if data_names is not None else []
        label_names = list(label_names) if label_names is not None else []
        state_names = list(state_names) if state_names is not None else []
        fixed_param_names = list(fixed_param_names) if fixed_param_names is not None else []
        _check_input_names(symbol, data_names, "data", True)
        _check_input_names(symbol, label_names, "label", False)
        _check_input_names(symbol, state_names, "state", True)
        _check_input_names(symbol, fixed_param_names, "fixed_param", True)

        arg_names = symbol.list_arguments()
        input_names = data_names + label_names + state_names
        self._param_names = [x for x in arg_names if x not in input_names]
        self._fixed_param_names = fixed_param_names
        self._aux_names = symbol.list_auxiliary_states()
        self._data_names = data_names
        self._label_names = label_names
        self._state_names = state_names
        self._output_names = symbol.list_outputs()

        self._arg_params = None
        self._aux_params = None
        self._params_dirty = False
        self._optimizer = None
        self._kvstore = None
        self._update_on_kvstore = None
        self._updater = None
        self._preload_opt_states = None
        self._grad_req = None           # grad_req as given to bind (MXNet keeps it as given)
        self._grad_reqs_by_name = None  # parameter name -> 'write' / 'add' / 'null'
        self._reset_bind()

    def _reset_bind(self):
        self.binded = False
        self._plan = None
        self._exec_args = None          # name -> live parameter NDArray (argument order)
        self._exec_aux = None           # name -> live auxiliary-state NDArray
        self._feed = None               # the plan's feed list with parameters and constants in place
        self._data_pos = None           # feed positions of each data name, in data_names order
        self._label_pos = None          # (label name, positions) for labels the symbol reads
        self._state_pos = None
        self._data_shapes = None
        self._label_shapes = None
        self._output_shapes = None
        self._label_expect = None       # label name -> shape the current data shapes need
        self._label_zeros = {}
        self._shape_cache = {}
        self._outputs = None
        self._recorded = False
        self._compiled = None           # the compiled forward of the last training batch (trainkit.compiled.Step)
        self._input_arrays = None
        self._update_list = None
        self._monitor_exec = None       # an Executor over the live arrays, made by install_monitor

    # ----- properties --------------------------------------------------------------------------
    @property
    def data_names(self):
        return self._data_names

    @property
    def label_names(self):
        return self._label_names

    @property
    def output_names(self):
        return self._output_names

    @property
    def data_shapes(self):
        self._need_bound("data_shapes")
        return self._data_shapes

    @property
    def label_shapes(self):
        self._need_bound("label_shapes")
        return self._label_shapes

    @property
    def output_shapes(self):
        self._need_bound("output_shapes")
        return self._output_shapes

    @property
    def params(self):
        """The live parameters, arguments then auxiliary states: an OrderedDict of name to NDArray.

        These are the arrays the graph reads. Trainable ones carry ``.grad`` after a
        backward (auxiliary states and ``fixed_param_names`` have ``grad`` None), so
        a hand-written step is ``for p in module.params.values(): if p.grad is not
        None: p -= lr * p.grad`` (outside ``autograd.record()``).
        """
        self._need_bound("params")
        out = OrderedDict(self._exec_args)
        out.update(self._exec_aux)
        return out

    @property
    def trainable_params(self):
        """The live parameters that receive gradients: an OrderedDict of name to NDArray."""
        self._need_bound("trainable_params")
        return OrderedDict((n, a) for n, a in self._exec_args.items() if a.grad is not None)

    @property
    def _exec_group(self):
        """MXNet's executor-group view (``execs[0].arg_dict/grad_dict/aux_dict``, ``param_names``), read-only."""
        self._need_bound("_exec_group")
        return _ExecGroupView(self)

    def _need_bound(self, what):
        if not self.binded:
            raise ModuleStateError(f"{what}: the module is not bound yet; call bind(data_shapes=...) first.")

    # ----- shapes ------------------------------------------------------------------------------
    def _infer(self, data_shapes, label_shapes, with_params):
        """Shapes of every argument/aux/output for these input shapes (validated; raises on misfit)."""
        inputs = set(self._symbol.list_inputs())
        known = {d.name: tuple(d.shape) for d in data_shapes if d.name in inputs}
        for d in label_shapes or []:
            if d.name in inputs:
                known[d.name] = tuple(d.shape)
        if with_params:
            known.update({n: a.shape for n, a in self._exec_args.items()})
            known.update({n: a.shape for n, a in self._exec_aux.items()})
        arg, out, aux = self._symbol._infer_shape((), known)
        arg_shapes = dict(zip(self._symbol.list_arguments(), arg))
        aux_shapes = dict(zip(self._aux_names, aux))
        return arg_shapes, aux_shapes, out

    def _shapes_for(self, data, labels, what):
        """Check a batch against the parameters; returns the label shapes it needs. Changes nothing."""
        key = tuple(d.shape for d in data) + tuple(l.shape for l in labels)
        hit = self._shape_cache.get(key)
        if hit is not None:
            return hit
        descs = [DataDesc(d.name, a.shape, d.dtype, d.layout) for d, a in zip(self._data_shapes, data)]
        label_descs = [DataDesc(n, a.shape) for n, a in zip(self._label_names, labels)]
        try:
            arg_shapes, _, out = self._infer(descs, label_descs, with_params=True)
        except MXNetError as e:
            bound = [(d.name, d.shape) for d in self._data_shapes]
            raise MXNetError(f"{what}: the batch {[(d.name, d.shape) for d in descs]} does not fit this module "
                             f"(bound with {bound}; only the batch size may change between batches). {e}") from None
        label_expect = {n: arg_shapes.get(n) for n, _ in self._label_pos}
        hit = (label_expect, out)
        self._shape_cache[key] = hit
        return hit

    # ----- bind --------------------------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False, force_rebind=False,
             shared_module=None, grad_req="write"):
        """Fix the input shapes and create the parameter arrays (zeros until init_params)."""
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if inputs_need_grad and not for_training:
            raise ModuleStateError("bind: inputs_need_grad=True needs for_training=True.")
        data_shapes = _descs(data_shapes)
        _check_names_match(self._data_names, data_shapes, "data", True)
        if label_shapes is not None:
            label_shapes = _descs(label_shapes)
            _check_names_match(self._label_names, label_shapes, "label", False)
        else:
            _check_names_match(self._label_names, [], "label", False)

        arg_shapes, aux_shapes, out_shapes = self._infer(data_shapes, label_shapes, with_params=False)
        unknown = [n for n in self._param_names + self._aux_names
                   if (arg_shapes.get(n) if n in arg_shapes else aux_shapes.get(n)) is None]
        if unknown or any(s is None for s in out_shapes):
            given = {d.name: d.shape for d in data_shapes + (label_shapes or [])}
            raise MXNetError(f"bind: cannot infer the shapes of {unknown or 'the outputs'} from the input shapes "
                             f"{given}. Give every data input's shape in data_shapes (and labels in label_shapes), "
                             "or declare the others with mx.sym.Variable(name, shape=...).")
        dtypes = self._param_dtypes()
        if self.params_initialized:
            self._check_loaded(arg_shapes, aux_shapes)
        grad_reqs = self._grad_reqs(grad_req, for_training)
        ctx = self._context[0]

        shared_args = shared_module._exec_args if shared_module is not None else {}
        shared_aux = shared_module._exec_aux if shared_module is not None else {}
        if shared_module is not None and not (shared_module.binded and shared_module.params_initialized):
            raise ModuleStateError("bind: shared_module must be bound and initialized.")
        exec_args = OrderedDict()
        for name in self._param_names:
            shape = arg_shapes[name]
            if name in shared_args and shared_args[name].shape == shape:
                exec_args[name] = shared_args[name]
                continue
            arr = zeros(shape, ctx, dtypes.get(name, np.float32))
            if grad_reqs[name] != "null":
                arr.attach_grad(grad_reqs[name])
            exec_args[name] = arr
        exec_aux = OrderedDict()
        for name in self._aux_names:
            shape = aux_shapes[name]
            exec_aux[name] = (shared_aux[name] if name in shared_aux and shared_aux[name].shape == shape
                              else zeros(shape, ctx, dtypes.get(name, np.float32)))

        plan = self._symbol._plan()
        feed = plan.constants(ctx)
        for name, arr in list(exec_args.items()) + list(exec_aux.items()):
            for i in plan.positions.get(name, ()):
                feed[i] = arr
        # commit: nothing above changed the module
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        self._grad_reqs_by_name = grad_reqs
        self._plan = plan
        self._feed = feed
        self._exec_args = exec_args
        self._exec_aux = exec_aux
        self._data_pos = [plan.positions.get(n, []) for n in self._data_names]
        self._label_pos = [(n, plan.positions[n]) for n in self._label_names if n in plan.positions]
        self._labels_in_feed_order = [n for n, _ in self._label_pos] == list(self._label_names)
        self._state_pos = [plan.positions.get(n, []) for n in self._state_names]
        self._data_shapes = data_shapes
        self._label_shapes = label_shapes
        self._label_expect = {n: arg_shapes.get(n) for n, _ in self._label_pos}
        self._output_shapes = list(zip(self._output_names, out_shapes))
        self._shape_cache = {}
        self._update_list = [(i, n, exec_args[n]) for i, n in enumerate(self._param_names)
                             if n not in self._fixed_param_names and exec_args[n].grad is not None]
        self._update_args = ([i for i, _, _ in self._update_list], [w for _, _, w in self._update_list])
        self.binded = True

        if shared_module is not None:
            self._arg_params = shared_module._arg_params
            self._aux_params = shared_module._aux_params
            self.params_initialized = True
        elif self.params_initialized:
            self._order_params()
            self._push_params()
        else:
            if self._arg_params is None or set(self._arg_params) != set(self._param_names):
                self._arg_params = {n: zeros(a.shape, dtype=a._data.dtype) for n, a in exec_args.items()}
            if self._aux_params is None or set(self._aux_params) != set(self._aux_names):
                self._aux_params = {n: zeros(a.shape, dtype=a._data.dtype) for n, a in exec_aux.items()}

    def reshape(self, data_shapes, label_shapes=None):
        """Re-bind for new input shapes, keeping the parameters (MXNet's ``Module.reshape``)."""
        self._need_bound("reshape")
        data_shapes = _descs(data_shapes)
        _check_names_match(self._data_names, data_shapes, "data", True)
        label_shapes = _descs(label_shapes) if label_shapes is not None else None
        arg_shapes, _, out = self._infer(data_shapes, label_shapes, with_params=True)
        self._data_shapes = data_shapes
        self._label_shapes = label_shapes
        self._label_expect = {n: arg_shapes.get(n) for n, _ in self._label_pos}
        self._output_shapes = list(zip(self._output_names, out))

    def _param_dtypes(self):
        from ..symbol import _FLAG_TO_DTYPE
        attrs = self._symbol.attr_dict()
        out = {}
        for name in self._param_names + self._aux_names:
            flag = attrs.get(name, {}).get("__dtype__")
            if flag is not None:
                out[name] = _FLAG_TO_DTYPE[int(flag)]
        return out

    def _grad_reqs(self, grad_req, for_training):
        names = self._param_names
        if not for_training:
            return dict.fromkeys(names, "null")
        if isinstance(grad_req, str):
            reqs = dict.fromkeys(names, grad_req)
        elif isinstance(grad_req, dict):
            reqs = {n: grad_req.get(n, "write") for n in names}
        elif isinstance(grad_req, (list, tuple)):
            reqs = dict(zip(self._symbol.list_arguments(), grad_req))
            reqs = {n: reqs.get(n, "write") for n in names}
        else:
            raise TypeError(f"grad_req must be a str, a dict or a list, got {type(grad_req).__name__}.")
        for n, r in reqs.items():
            if r not in ("write", "add", "null"):
                raise ValueError(f"grad_req for {n!r} is {r!r}; use 'write', 'add' or 'null'.")
        for n in self._fixed_param_names:
            reqs[n] = "null"
        return reqs

    def _check_loaded(self, arg_shapes, aux_shapes):
        """Loaded parameters (Module.load, or init before a rebind) must fit the symbol exactly."""
        problems = []
        for kind, given, names, shapes in (("arg", self._arg_params, self._param_names, arg_shapes),
                                           ("aux", self._aux_params, self._aux_names, aux_shapes)):
            missing = [n for n in names if n not in given]
            extra = [n for n in given if n not in names]
            if missing:
                problems.append(f"missing {kind} parameters {missing}")
            if extra:
                problems.append(f"{kind} parameters {extra} that the symbol does not have")
            for n in names:
                if n in given and tuple(given[n].shape) != tuple(shapes[n]):
                    problems.append(f"'{n}' has shape {tuple(given[n].shape)} but the symbol needs {tuple(shapes[n])}")
        if problems:
            raise MXNetError("bind: the module's parameters do not match its symbol: " + "; ".join(problems) +
                             ". Load a checkpoint made from this symbol, or bind with the data shapes it was "
                             "trained on.")

    def _order_params(self):
        """Loaded dicts come in file order; keep the same dict objects but in argument order."""
        for target, names in ((self._arg_params, self._param_names), (self._aux_params, self._aux_names)):
            items = [(n, target[n]) for n in names]
            target.clear()
            target.update(items)

    # ----- parameters --------------------------------------------------------------------------
    def init_params(self, initializer=_init.Uniform(0.01), arg_params=None, aux_params=None, allow_missing=False,
                    force_init=False, allow_extra=False):
        """Initialize the parameters: copy from ``arg_params``/``aux_params``, draw the rest.

        The initializer runs on the parameters in sorted-name order (arguments, then
        auxiliary states), each with ``InitDesc(name, symbol.attr_dict().get(name))``.
        Everything is checked before anything is written; a failure leaves the
        parameters as they were.
        """
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. init_params call ignored.",
                          stacklevel=2)
            return
        if not self.binded:
            raise ModuleStateError("call bind before initializing the parameters")
        if isinstance(initializer, str):
            initializer = _init.create(initializer)
        arg_values, arg_todo = self._collect(arg_params, self._param_names, self._exec_args, "arg_params",
                                             allow_missing, allow_extra)
        aux_values, aux_todo = self._collect(aux_params, self._aux_names, self._exec_aux, "aux_params",
                                             allow_missing, allow_extra)
        attrs = self._symbol.attr_dict()
        new, initialized = {}, []
        for values, todo, live in ((arg_values, arg_todo, self._exec_args), (aux_values, aux_todo, self._exec_aux)):
            for name in sorted(live):
                target = live[name]
                if name in values:
                    new[name] = values[name].astype(target._data.dtype, copy=False)
                elif name in todo and initializer is not None:
                    tmp = zeros(target.shape, dtype=target._data.dtype)
                    initializer(_init.InitDesc(name, attrs.get(name)), tmp)
                    new[name] = tmp._data
                    initialized.append(name)
        # every check and every draw succeeded: write
        for name, value in new.items():
            cpu_arr = self._arg_params[name] if name in self._exec_args else self._aux_params[name]
            cpu_arr._data[...] = value
        if initializer is not None and initialized:
            _init.warn_unmatched(initializer, initialized)
        self.params_initialized = True
        self._params_dirty = False
        self._push_params()

    def _collect(self, given, names, live, what, allow_missing, allow_extra):
        """Check ``given`` (name -> array) against the module; returns (numpy values, names to initialize)."""
        if given is None:
            return {}, list(names)
        if not isinstance(given, dict):
            raise TypeError(f"{what} must be a dict of name to NDArray, got {type(given).__name__}.")
        # MXNet checks for missing names first (a RuntimeError, which MXNetError is), then extra ones (ValueError)
        missing = [n for n in names if n not in given]
        if missing and not allow_missing:
            raise MXNetError(f"{missing[0]} is not presented: {what} lacks {missing}. Pass them, or "
                             "allow_missing=True to draw the missing ones from the initializer.")
        extra = [k for k in given if k not in live]
        if extra and not allow_extra:
            raise ModuleValueError(f"{what} has entries {extra} that are not parameters of this module (its "
                                   f"parameters are {list(names)}). Remove them, or pass allow_extra=True to ignore "
                                   "them.")
        values = {}
        for n in names:
            if n not in given:
                continue
            v = given[n]
            if isinstance(v, NDArray):
                data = v.asnumpy()
            elif isinstance(v, (np.ndarray, np.generic, list, tuple, float, int)):
                data = np.asarray(v)
            else:
                raise TypeError(f"{what}['{n}'] is a {type(v).__name__}; pass an NDArray or a numpy array.")
            if data.shape != live[n].shape:
                raise MXNetError(f"{what}['{n}'] has shape {data.shape}, but the module's parameter '{n}' has shape "
                                 f"{live[n].shape} (inferred from the bound data shapes). Pass a value of that shape.")
            values[n] = data
        return values, missing

    def _push_params(self):
        """Copy the CPU copies into the live arrays."""
        for name, arr in self._exec_args.items():
            _assign(arr, self._arg_params[name]._data)
        for name, arr in self._exec_aux.items():
            _assign(arr, self._aux_params[name]._data)

    def _sync_params_from_devices(self):
        for name, arr in self._exec_args.items():
            _assign(self._arg_params[name], arr._data)
        for name, arr in self._exec_aux.items():
            _assign(self._aux_params[name], arr._data)
        self._params_dirty = False

    def get_params(self):
        """``(arg_params, aux_params)``: the same two dicts every call, refreshed from the live parameters."""
        if not self.params_initialized:
            raise ModuleStateError("get_params: the parameters are not initialized yet; call bind() and "
                                   "init_params() (or fit()) first.")
        if self.binded:
            self._sync_params_from_devices()
        return self._arg_params, self._aux_params

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False):
        """Set the parameters from dicts (every one needed unless ``allow_missing``)."""
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init, allow_extra=allow_extra)
            return
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. set_params call ignored.",
                          stacklevel=2)
            return
        if not self.binded:
            raise ModuleStateError("call bind before setting the parameters")
        arg_values, _ = self._collect(arg_params, self._param_names, self._exec_args, "arg_params", True,
                                      allow_extra)
        aux_values, _ = self._collect(aux_params, self._aux_names, self._exec_aux, "aux_params", True, allow_extra)
        for values, live, cpu_copy in ((arg_values, self._exec_args, self._arg_params),
                                       (aux_values, self._exec_aux, self._aux_params)):
            for name, value in values.items():
                _assign(live[name], value)
                _assign(cpu_copy[name], value)
        self._params_dirty = True
        self.params_initialized = True

    # ----- optimizer ---------------------------------------------------------------------------
    def init_optimizer(self, kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),),
                       force_init=False):
        """Create the optimizer and its updater; ``rescale_grad`` defaults to 1/batch_size."""
        self._check_ready("init_optimizer")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        batch_size = self._data_shapes[0].shape[0] if self._data_shapes and self._data_shapes[0].shape else 1
        rescale_grad = 1.0 / batch_size
        idx2name = dict(enumerate(self._param_names))
        if isinstance(optimizer, str):
            optimizer_params = dict(optimizer_params)
            if "rescale_grad" not in optimizer_params:
                optimizer_params["rescale_grad"] = rescale_grad
            optimizer = _opt.create(optimizer, sym=self.symbol, param_idx2name=idx2name, **optimizer_params)
        else:
            if not isinstance(optimizer, _opt.Optimizer):
                raise TypeError(f"optimizer must be a name or an mx.optimizer.Optimizer, got "
                                f"{type(optimizer).__name__}.")
            if optimizer.rescale_grad != rescale_grad:
                warnings.warn("Optimizer created manually outside Module but rescale_grad is not normalized to "
                              f"1.0/batch_size/num_workers ({optimizer.rescale_grad} vs. {rescale_grad}). "
                              "Is this intended?", stacklevel=2)
            if not optimizer.idx2name:
                optimizer.idx2name = idx2name.copy()
        kv = self._kvstore_for(kvstore)
        self._optimizer = optimizer
        self._updater = _opt.get_updater(optimizer)
        # One device: the update runs here, with the same numbers as MXNet's kvstore update; the store shares
        # the updater, so its optimizer states are the module's (mod._kvstore._updater.states).
        self._kvstore = kv
        self._update_on_kvstore = False
        if kv is not None:
            kv._set_updater(self._updater)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    @staticmethod
    def _kvstore_for(kvstore):
        """``kvstore=`` as init_optimizer/fit take it: None, a type name ('local', 'device', ...) or a KVStore."""
        if kvstore is None:
            return None
        from .. import kvstore as _kv
        if isinstance(kvstore, _kv.KVStore):
            return kvstore
        if isinstance(kvstore, str):
            return _kv.create(kvstore)
        raise TypeError(f"kvstore must be None, a type name such as 'local', or an mx.kv.KVStore, got "
                        f"{type(kvstore).__name__}.")

    def borrow_optimizer(self, shared_module):
        if not shared_module.optimizer_initialized:
            raise ModuleStateError("borrow_optimizer: the shared module has no optimizer yet.")
        self._optimizer = shared_module._optimizer
        self._kvstore = shared_module._kvstore
        self._update_on_kvstore = shared_module._update_on_kvstore
        self._updater = shared_module._updater
        self.optimizer_initialized = True

    # ----- the training step -------------------------------------------------------------------
    def _batch_arrays(self, arrays, names, what):
        arrays = _as_list(arrays)
        if len(arrays) != len(names):
            raise MXNetError(f"forward: the batch has {len(arrays)} {what} array(s) but the module's {what} "
                             f"names are {names}.")
        return [a if type(a) is NDArray else _as_nd(a, f"{what} '{n}'") for a, n in zip(arrays, names)]

    def _labels_for(self, labels, label_expect):
        """Label arrays in feed order: the batch's (reshaped if only the layout differs) or zeros."""
        if self._labels_in_feed_order and len(labels) == len(self._label_pos):
            for (name, _), arr in zip(self._label_pos, labels):  # the usual batch: every label, as expected
                want = label_expect.get(name)
                if arr is None or (want is not None and arr._data.shape != want):
                    break
            else:
                return labels
        given = dict(zip(self._label_names, labels))
        out = []
        for name, _ in self._label_pos:
            want = label_expect.get(name)
            arr = given.get(name)
            if arr is None:
                if want is None:
                    raise MXNetError(f"forward: the label '{name}' is needed and its shape cannot be inferred; put "
                                     "it in the batch.")
                key = (name, want)
                arr = self._label_zeros.get(key)
                if arr is None:
                    arr = self._label_zeros[key] = zeros(want, self._context[0])
            elif want is not None and arr.shape != tuple(want):
                if arr.size != int(np.prod(want)):
                    raise MXNetError(f"forward: label '{name}' has shape {arr.shape} but the data needs labels of "
                                     f"shape {tuple(want)}.")
                arr = arr.reshape(want)
            out.append(arr)
        return out

    def _bound_feed(self, data_batch):
        """The feed for a batch exactly as bound (one NDArray per data and label name, of the bound shapes
        and dtypes, in a list), which needs none of forward's conversions; None for any other batch."""
        data = data_batch.data
        if type(data) is not list or len(data) != len(self._data_pos):
            return None
        feed = self._feed.copy()
        for arr, desc, positions in zip(data, self._data_shapes, self._data_pos):
            if type(arr) is not NDArray or arr._data.shape != desc.shape or arr._data.dtype != desc.dtype:
                return None
            for i in positions:
                feed[i] = arr
        if self._label_pos:
            labels = getattr(data_batch, "label", None)
            if not self._labels_in_feed_order or type(labels) is not list or len(labels) != len(self._label_pos):
                return None
            expect = self._label_expect
            for arr, (name, positions) in zip(labels, self._label_pos):
                if type(arr) is not NDArray or arr._data.shape != expect.get(name):
                    return None
                for i in positions:
                    feed[i] = arr
        return feed

    def _fill(self, data, labels, states=()):
        feed = self._feed.copy()
        for positions, arr in zip(self._data_pos, data):
            for i in positions:
                feed[i] = arr
        for (_, positions), arr in zip(self._label_pos, labels):
            for i in positions:
                feed[i] = arr
        for positions, arr in zip(self._state_pos, states):
            for i in positions:
                feed[i] = arr
        return feed

    def forward(self, data_batch, is_train=None):
        """Run the graph on a DataBatch; ``is_train`` defaults to ``for_training``.

        A batch of another size is fine (labels may then be left out: they default to
        zeros, which loss heads ignore in the forward); a batch that does not fit the
        parameters raises before anything changes.
        """
        self._check_ready("forward")
        if is_train is None:
            is_train = self.for_training
        if is_train and self.for_training and not self.inputs_need_grad and self._monitor_exec is None:
            feed = self._bound_feed(data_batch)  # the usual training batch: its program is already traced
            program = self._plan.program(feed, True) if feed is not None else None
            if program is not None:
                self._compiled = program.start(feed)
                self._outputs = self._compiled.outputs
                self._recorded = True
                return
        data = self._batch_arrays(data_batch.data, self._data_names, "data")
        bound = self._data_shapes
        reshaped = False
        for i, (arr, desc) in enumerate(zip(data, bound)):
            if arr._data.dtype != desc.dtype:
                data[i] = arr = arr.astype(desc.dtype)
            reshaped = reshaped or arr._data.shape != desc.shape
        labels = _as_list(getattr(data_batch, "label", None)) if self._label_pos else []
        labels = [a if type(a) is NDArray else _as_nd(a, "label") for a in labels]
        if reshaped:
            label_expect, out_shapes = self._shapes_for(data, labels, "forward")
            # the batch fits: now record its shapes (MXNet reshapes the module here)
            self._data_shapes = [DataDesc(d.name, a.shape, d.dtype, d.layout) for d, a in zip(bound, data)]
            if self._label_shapes is not None:
                self._label_shapes = [DataDesc(d.name, tuple(label_expect.get(d.name) or d.shape), d.dtype, d.layout)
                                      for d in self._label_shapes]
            self._label_expect = label_expect
            self._output_shapes = list(zip(self._output_names, out_shapes))
        label_arrays = self._labels_for(labels, self._label_expect)
        if self.inputs_need_grad:
            data = [a.copy() for a in data]
            for a in data:
                a.attach_grad()
            self._input_arrays = data
        record = bool(is_train) and self.for_training
        if self._monitor_exec is not None:
            self._monitored_forward(data, label_arrays, bool(is_train))
            self._recorded = record
            return
        feed = self._fill(data, label_arrays)
        training = bool(is_train)
        program = self._plan.program(feed, training) if record else None
        if program is not None:  # the compiled step: nothing recorded, backward() runs it without autograd
            self._compiled = program.start(feed)
            self._outputs = self._compiled.outputs
        else:
            self._compiled = None
            with autograd._Saved(recording=record, training=training):
                self._outputs = self._plan.run(feed)
        self._recorded = record

    # ----- monitoring: the same step through an Executor, which reports every array ------------------
    def install_monitor(self, mon):
        """Let ``mon`` (an ``mx.mon.Monitor``) see every output, gradient and parameter of each batch."""
        self._need_bound("install_monitor")
        from ..executor import Executor
        names = self._symbol.list_arguments()
        inputs = set(self._data_names) | set(self._label_names) | set(self._state_names)
        shapes = {d.name: d.shape for d in list(self._data_shapes) + list(self._label_shapes or [])}
        shapes.update({n: s for n, s in (self._label_expect or {}).items() if s is not None})
        args, grads, reqs = [], [], []
        for name in names:
            if name in inputs:
                arr = zeros(shapes.get(name, (1,)), self._context[0])
                args.append(arr)
                grads.append(zeros(arr.shape, self._context[0]) if self.inputs_need_grad else None)
                reqs.append("write" if self.inputs_need_grad else "null")
            else:
                arr = self._exec_args[name]
                args.append(arr)
                grads.append(arr.grad)
                reqs.append(self._grad_reqs_by_name.get(name, "null") if arr.grad is not None else "null")
        exe = Executor(self._symbol, self._context[0], args, grads, reqs,
                       [self._exec_aux[n] for n in self._aux_names])
        mon.install(exe)
        self._monitor_exec = exe

    def _monitored_forward(self, data, labels, is_train):
        exe = self._monitor_exec
        names = exe._arg_names
        given = dict(zip(self._data_names, data))
        given.update({n: a for (n, _), a in zip(self._label_pos, labels)})
        for name, arr in given.items():
            if name in names:
                exe.arg_arrays[names.index(name)] = arr
                if self.inputs_need_grad and exe.grad_arrays[names.index(name)].shape != arr.shape:
                    exe.grad_arrays[names.index(name)] = zeros(arr.shape, self._context[0])
        exe._arg_dict = exe._grad_dict = None
        self._outputs = list(exe.forward(is_train=is_train))
        self._input_arrays = None

    def backward(self, out_grads=None):
        """Gradients of the last training forward into the parameters' ``.grad``."""
        self._check_ready("backward")
        if not self.for_training:
            raise ModuleStateError("re-bind with for_training=True to run backward")
        if not self._recorded:
            raise ModuleStateError("backward needs a forward(data_batch, is_train=True) first (each forward is "
                                   "good for one backward).")
        self._recorded = False
        if not self._update_list and not self.inputs_need_grad:
            return
        if self._monitor_exec is not None:
            self._monitor_exec.backward(out_grads)
            return
        if self._compiled is not None:
            step, self._compiled = self._compiled, None
            step.backward(out_grads)
            return
        autograd.backward(self._outputs, out_grads)

    def update(self):
        """One optimizer step on every trainable parameter (``fixed_param_names`` excluded)."""
        self._check_ready("update")
        if not self.optimizer_initialized:
            raise ModuleStateError("update() needs an optimizer: call init_optimizer() (fit() does) first.")
        self._params_dirty = True
        if self._update_list:
            indices, weights = self._update_args
            self._updater(indices, [w.grad for w in weights], weights)

    def get_outputs(self, merge_multi_context=True):
        """The outputs of the last forward: a list of NDArrays, or with ``merge_multi_context=False`` MXNet's
        per-device form, one list per output holding each device's part (one device here)."""
        self._check_ready("get_outputs")
        if self._outputs is None:
            raise ModuleStateError("get_outputs: call forward() first.")
        if not merge_multi_context:
            return [[o] for o in self._outputs]
        return list(self._outputs)

    def get_input_grads(self, merge_multi_context=True):
        self._check_ready("get_input_grads")
        if not self.inputs_need_grad:
            raise ModuleStateError("get_input_grads needs bind(..., inputs_need_grad=True).")
        if self._monitor_exec is not None:
            grads = [self._monitor_exec.grad_dict[n] for n in self._data_names]
        elif self._input_arrays is None:
            raise ModuleStateError("get_input_grads: run forward() and backward() first.")
        else:
            grads = [a.grad for a in self._input_arrays]
        return grads if merge_multi_context else [[g] for g in grads]

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Feed the last outputs and ``labels`` to ``eval_metric``."""
        labels = [_as_nd(a, "label") for a in _as_list(labels)]
        label_dict = OrderedDict(zip(self._label_names, labels))
        preds = OrderedDict(zip(self._output_names, self.get_outputs()))
        eval_metric.update_dict(label_dict, preds)

    # ----- calling the module like a function ------------------------------------------------
    def __call__(self, *args, **kwargs):
        """Run the graph on NDArrays with the current autograd state: ``module(x)``, ``module(data=x, label=y)``.

        Positional arrays are the data inputs in ``data_names`` order; keywords may
        name data, labels or states. Inside ``autograd.record()`` the result is
        recorded and a later ``backward`` fills the parameters' ``.grad``
        (``module.params``); ``predict_mode``/``train_mode`` decide Dropout and
        BatchNorm. Labels left out are zeros: a loss head (SoftmaxOutput,
        LinearRegressionOutput, ...) then still returns its prediction (softmax
        probabilities, the regression output), and its gradient in backward is the
        loss gradient against those zero labels, so pass the labels when training.
        Returns one NDArray, or a list for several outputs. The module's bound
        shapes and ``get_outputs()`` are not touched.
        """
        self._check_ready("calling the module")
        if len(args) > len(self._data_names):
            raise TypeError(f"module() takes {len(self._data_names)} positional data array(s) "
                            f"{self._data_names}, got {len(args)}.")
        given = dict(zip(self._data_names, args))
        allowed = set(self._data_names) | set(self._label_names) | set(self._state_names)
        for k, v in kwargs.items():
            if k in given:
                raise TypeError(f"module() got two values for input {k!r}.")
            if k not in allowed:
                raise TypeError(f"module() got an unexpected input {k!r}; its inputs are {sorted(allowed)}.")
            given[k] = v
        missing = [n for n in self._data_names + self._state_names if n not in given]
        if missing:
            raise TypeError(f"module() is missing the input(s) {missing}.")
        data = [_as_nd(given[n], f"data '{n}'") for n in self._data_names]
        for i, (arr, desc) in enumerate(zip(data, self._data_shapes)):
            if arr._data.dtype != desc.dtype:
                data[i] = arr.astype(desc.dtype)
        labels = [_as_nd(given[n], f"label '{n}'") if n in given else None for n in self._label_names]
        present = [l for l in labels if l is not None]
        if any(a.shape != d.shape for a, d in zip(data, self._data_shapes)):
            label_expect, _ = self._shapes_for(data, present if len(present) == len(labels) else [], "module()")
        else:
            label_expect = self._label_expect
        label_arrays = self._labels_for([l for l in labels], label_expect) if self._label_pos else []
        states = [_as_nd(given[n], f"state '{n}'") for n in self._state_names]
        outs = self._plan.run(self._fill(data, label_arrays, states))
        return outs[0] if len(outs) == 1 else outs

    # ----- files ------------------------------------------------------------------------------------
    def save_params(self, fname):
        """Write ``arg:NAME``/``aux:NAME`` arrays in MXNet's .params format."""
        from .. import nd
        arg_params, aux_params = self.get_params()
        save_dict = {f"arg:{k}": v.as_in_context(cpu()) for k, v in arg_params.items()}
        save_dict.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in aux_params.items()})
        nd.save(fname, save_dict)

    def load_params(self, fname):
        """Read a file written by ``save_params`` (or MXNet) and ``set_params`` from it."""
        from .. import nd
        arg_params, aux_params = _split_params(nd.load(fname), fname)
        self.set_params(arg_params, aux_params)

    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False, remove_amp_cast=True):
        """Write ``prefix-symbol.json`` and ``prefix-%04d.params`` (and ``.states``), overwriting as MXNet does."""
        self._symbol.save(f"{prefix}-symbol.json", remove_amp_cast=remove_amp_cast)
        param_name = "%s-%04d.params" % (prefix, epoch)
        self.save_params(param_name)
        _log.info('Saved checkpoint to "%s"', param_name)
        if save_optimizer_states:
            state_name = "%s-%04d.states" % (prefix, epoch)
            self.save_optimizer_states(state_name)
            _log.info('Saved optimizer state to "%s"', state_name)

    def save_optimizer_states(self, fname):
        if not self.optimizer_initialized:
            raise ModuleStateError("save_optimizer_states: there is no optimizer yet; call init_optimizer() first.")
        from ..files import write_bytes  # whole or absent, never truncated (trainkit.files)
        write_bytes(fname, self._updater.get_states())

    def load_optimizer_states(self, fname):
        if not self.optimizer_initialized:
            raise ModuleStateError("load_optimizer_states: call init_optimizer() first.")
        with open(fname, "rb") as f:
            self._updater.set_states(f.read())

    @staticmethod
    def load(prefix, epoch, load_optimizer_states=False, **kwargs):
        """A Module from ``prefix-symbol.json`` and ``prefix-%04d.params``: not bound, parameters set.

        Extra keyword arguments go to ``Module(...)``. The parameters must be exactly
        the symbol's (checked here by name, at ``bind`` by shape).
        """
        sym, args, auxs = load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        problems = []
        for kind, given, names in (("arg", args, mod._param_names), ("aux", auxs, mod._aux_names)):
            missing = [n for n in names if n not in given]
            extra = [n for n in given if n not in names]
            if missing:
                problems.append(f"it lacks {kind} parameters {missing}")
            if extra:
                problems.append(f"it has {kind} parameters {extra} that the symbol does not use")
        if problems:
            raise MXNetError(f"Module.load: '{prefix}-{epoch:04d}.params' does not match '{prefix}-symbol.json': "
                             + "; ".join(problems) + f". (Module parameters: {mod._param_names}; data_names="
                             f"{mod._data_names}, label_names={mod._label_names}: check them too.)")
        mod._arg_params = args
        mod._aux_params = auxs
        mod.params_initialized = True
        if load_optimizer_states:
            mod._preload_opt_states = "%s-%04d.states" % (prefix, epoch)
        return mod


class _ExecView:
    """What code reads from an MXNet executor of a Module: its argument/gradient/aux dicts and outputs."""

    def __init__(self, module):
        args = module._exec_args
        self.arg_dict = dict(args)
        self.grad_dict = {n: a.grad for n, a in args.items() if a.grad is not None}
        if module._input_arrays is not None:
            for name, arr in zip(module._data_names, module._input_arrays):
                self.arg_dict[name] = arr
                self.grad_dict[name] = arr.grad
        self.aux_dict = dict(module._exec_aux)
        self.outputs = list(module._outputs or [])
        self.arg_arrays = list(self.arg_dict.values())
        self.grad_arrays = list(self.grad_dict.values())
        self.aux_arrays = list(self.aux_dict.values())


class _ExecGroupView:
    def __init__(self, module):
        self.execs = [_ExecView(module)]
        self.param_names = list(module._param_names)
        self.aux_names = list(module._aux_names)
        self.data_names = list(module._data_names)
        self.label_names = list(module._label_names)
        self.grad_req = dict(module._grad_reqs_by_name or {})
        self.contexts = list(module._context)


def _split_params(save_dict, fname):
    arg_params, aux_params = {}, {}
    if not isinstance(save_dict, dict):
        raise ValueError(f"Invalid param file {fname}: it holds a list of arrays, not 'arg:NAME'/'aux:NAME' entries.")
    for key, value in save_dict.items():
        if ":" not in key:
            raise ValueError(f"Invalid param file {fname}: key {key!r} has no 'arg:' or 'aux:' prefix.")
        kind, name = key.split(":", 1)
        if kind == "arg":
            arg_params[name] = value
        elif kind == "aux":
            aux_params[name] = value
        else:
            raise ValueError("Invalid param file " + fname)
    return arg_params, aux_params
