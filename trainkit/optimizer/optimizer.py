"""``mx.optimizer``: weight updates with MXNet 1.9.1's formulas, defaults and bookkeeping.

Each optimizer updates ``weight`` in place from ``grad`` and its per-weight
``state``. The element-wise maths reproduces MXNet's CPU kernels
(``sgd_update``/``multi_sgd_update``, ``adam_update``, ``rmsprop_update``,
``rmspropalex_update``) and the Python AdaGrad: the same operations, in the
weight's dtype and in the kernels' order, so float32 results should agree with
MXNet's up to rounding (not checked bit for bit against MXNet). The gradient is
never written to: Module and autograd may hand the same buffer to several readers.

Bookkeeping follows MXNet too: ``num_update`` is the largest per-index update
count, the learning rate comes from ``lr_scheduler(num_update)`` when there is
one, per-parameter ``lr_mult``/``wd_mult`` apply by index or by name, and with
``param_idx2name`` every parameter whose name does not end in ``_weight`` or
``_gamma`` gets ``wd_mult = 0`` (no weight decay on biases and BatchNorm betas).
``clip_gradient`` of None, 0 or a negative number means "no clipping" for SGD,
Adam and RMSProp (MXNet passes it only when truthy and its kernels clip only
when it is >= 0); AdaGrad clips whenever it is not None, as MXNet's does.
"""
import inspect
import math
import threading
import warnings

import numpy as np

from .. import autograd
from ..base import MXNetError
from ..ndarray.ndarray import NDArray, zeros

__all__ = ["Optimizer", "create", "register"]


class Optimizer:
    """The base class of all optimizers.

    Parameters
    ----------
    rescale_grad : float
        Multiply every gradient by this first; Module sets it to ``1/batch_size``.
    param_idx2name : dict of int to str, optional
        Names of the parameters by update index. Parameters whose name does not
        end in ``_weight`` or ``_gamma`` then get no weight decay.
    wd : float
        Weight decay (L2 penalty coefficient).
    clip_gradient : float, optional
        Clip each rescaled gradient element to ``[-clip_gradient, clip_gradient]``.
    learning_rate : float, optional
        The learning rate. None means 0.01, or the scheduler's ``base_lr`` when
        ``lr_scheduler`` is given; a value together with a scheduler overwrites
        the scheduler's ``base_lr``.
    lr_scheduler : LRScheduler, optional
        Called with ``num_update`` to get the learning rate of each update.
    sym : Symbol, optional
        Its ``__lr_mult__``/``__wd_mult__`` attributes set per-parameter multipliers.
    begin_num_update : int
        The update count to start from (to resume a schedule).
    multi_precision : bool
        Keep a float32 master copy of float16 weights and update that.
    param_dict : dict of int to Parameter, optional
        Objects with ``lr_mult``/``wd_mult`` attributes, by index (Gluon's way).
    """

    opt_registry = {}

    def __init__(self, rescale_grad=1., param_idx2name=None, wd=0., clip_gradient=None,
                 learning_rate=None, lr_scheduler=None, sym=None, begin_num_update=0,
                 multi_precision=False, param_dict=None, **kwargs):
        if kwargs:
            raise _unknown_arguments(type(self), kwargs)
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if lr_scheduler is not None and learning_rate is not None:
            if lr_scheduler.base_lr != learning_rate:
                # MXNet prints (not warns) this line; printing keeps scripts' stdout identical
                print(UserWarning("learning rate from ``lr_scheduler`` has been "
                                  "overwritten by ``learning_rate`` in optimizer."))
                lr_scheduler.base_lr = learning_rate

        self.wd = wd
        self.lr_mult = {}
        self.wd_mult = {}
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        # one update-count table per device id, as MXNet keeps them
        self._all_index_update_counts = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0

        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise TypeError(f"param_idx2name should be a dict of param indexes to names, got "
                            f"{type(param_idx2name).__name__}. Pass e.g. {{0: 'fc_weight', 1: 'fc_bias'}}.")
        self.idx2name = param_idx2name.copy()
        self.sym_info = _sym_info(sym)
        self.param_dict = param_dict if param_dict else {}

        self.set_lr_mult({})
        self.set_wd_mult({})

    # ----- registry -----------------------------------------------------------------------
    @staticmethod
    def register(klass):
        """Class decorator: make ``klass`` available to ``create`` under its lower-case name."""
        if not (isinstance(klass, type) and issubclass(klass, Optimizer)):
            raise TypeError(f"register expects a subclass of mx.optimizer.Optimizer, got {klass!r}.")
        name = klass.__name__.lower()
        old = Optimizer.opt_registry.get(name)
        if old is not None and old is not klass:
            warnings.warn(f"WARNING: New optimizer {klass.__module__}.{klass.__name__} is overriding "
                          f"existing optimizer {old.__module__}.{old.__name__}")
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name, **kwargs):
        """An optimizer by registered name (case-insensitive), e.g. ``create('adam', learning_rate=0.1)``."""
        if not isinstance(name, str):
            raise TypeError(f"create expects the optimizer's name as a str, got {type(name).__name__}. "
                            "Pass e.g. 'sgd', or use the Optimizer instance directly.")
        klass = Optimizer.opt_registry.get(name.lower())
        if klass is None:
            raise ValueError(f"Cannot find optimizer {name!r}. Registered optimizers: "
                             f"{', '.join(sorted(Optimizer.opt_registry))}. "
                             "Add your own with @mx.optimizer.register.")
        return klass(**kwargs)

    # ----- learning rate and multipliers ----------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate (from the scheduler when there is one)."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def set_learning_rate(self, lr):
        """Set a new learning rate; not allowed when an ``lr_scheduler`` decides it."""
        if self.lr_scheduler is not None:
            # MXNet raises UserWarning as an exception here; code may catch exactly that
            raise UserWarning("LRScheduler of the optimizer has already been defined. Note that "
                              "set_learning_rate can mutate the value of the learning rate of the optimizer "
                              "only when the LRScheduler of the optimizer is undefined.")
        self.lr = lr

    def set_lr_mult(self, args_lr_mult):
        """Per-parameter learning-rate multipliers, keyed by name or by index.

        Symbol attributes ``__lr_mult__`` (from ``sym``) come first; the dict overrides them.
        """
        self.lr_mult = self._symbol_mults("__lr_mult__")
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Per-parameter weight-decay multipliers, keyed by name or by index.

        With ``param_idx2name``, names not ending in ``_weight`` or ``_gamma`` default to 0.
        """
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not (n.endswith("_weight") or n.endswith("_gamma")):
                self.wd_mult[n] = 0.0
        self.wd_mult.update(self._symbol_mults("__wd_mult__"))
        self.wd_mult.update(args_wd_mult)

    def _symbol_mults(self, key):
        """``{name: float}`` for the symbol arguments whose attributes carry ``key``."""
        if not self.sym_info:
            return {}
        attr, arg_names = self.sym_info
        return {name: float(attr[name][key]) for name in arg_names if key in attr.get(name, {})}

    def set_lr_scale(self, args_lrscale):
        """Removed in MXNet long ago; use ``set_lr_mult``."""
        raise DeprecationWarning("set_lr_scale is deprecated: use set_lr_mult({name_or_index: mult}).")

    def _set_current_context(self, device_id):
        """Switch to the update counts of device ``device_id``."""
        if device_id not in self._all_index_update_counts:
            self._all_index_update_counts[device_id] = {}
        self._index_update_count = self._all_index_update_counts[device_id]

    def _update_count(self, index):
        """Count one more update of ``index`` (an int or a list); ``num_update`` is the maximum."""
        if not isinstance(index, (list, tuple)):
            index = [index]
        counts, begin, most = self._index_update_count, self.begin_num_update, self.num_update
        for idx in index:
            n = counts.get(idx, begin) + 1
            counts[idx] = n
            if n > most:
                most = n
        self.num_update = most

    def _get_lrs(self, indices):
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return self._scaled(lr, indices, "lr_mult", self.lr_mult)

    def _shared_rates(self, indices):
        """``(lr, wd)`` when every one of ``indices`` gets the same rates (so one update can serve them all),
        else None; without multipliers to tell them apart, no per-index lists are made."""
        lr, wd = self.learning_rate, self.wd
        if not self.param_dict and not self.lr_mult and (not wd or not self.wd_mult):
            return lr, wd
        lrs, wds = self._scaled(lr, indices, "lr_mult", self.lr_mult), self._get_wds(indices)
        if lrs.count(lrs[0]) == len(lrs) and wds.count(wds[0]) == len(wds):
            return lrs[0], wds[0]
        return None

    def _get_lr(self, index):
        return self._get_lrs([index])[0]

    def _get_wds(self, indices):
        return self._scaled(self.wd, indices, "wd_mult", self.wd_mult)

    def _scaled(self, base, indices, attr, mults):
        """``base`` times each index's multiplier: from param_dict, then by index, then by name."""
        params, names = self.param_dict, self.idx2name
        if not base or (not params and not mults):  # nothing to scale (no weight decay; a Module's lrs)
            return [base] * len(indices)
        get = params.get
        # by Parameter (Gluon), else by index, else by name; base * 1.0 is base
        return [base * getattr(param, attr) if (param := get(index)) is not None else
                base * mults.get(index, mults.get(names.get(index), 1.0)) for index in indices]

    def _get_wd(self, index):
        return self._get_wds([index])[0]

    def _begin_update(self, index, weight, grad):
        """Check the pair, count the update and return this weight's (lr, wd)."""
        _check_pair(self, index, weight, grad)
        self._update_count(index)
        return self._get_lr(index), self._get_wd(index)

    # ----- states and updates ---------------------------------------------------------------
    def create_state(self, index, weight):
        """The auxiliary state (momentum, moments...) for one weight; None when there is none."""
        return None

    def create_state_multi_precision(self, index, weight):
        """Like ``create_state``, plus a float32 master copy for float16 weights with ``multi_precision``."""
        if self.multi_precision and weight.dtype == np.float16:
            master = weight.astype(np.float32)
            return (master, self.create_state(index, master))
        if weight.dtype == np.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or slow "
                          "convergence. Consider using multi_precision=True option of the optimizer")
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        """Update ``weight`` in place from ``grad`` and ``state`` (which is updated in place too)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update(index, weight, grad, state).")

    def update_multi_precision(self, index, weight, grad, state):
        """``update``, going through the float32 master copy for float16 weights with ``multi_precision``."""
        if self.multi_precision and weight.dtype == np.float16:
            master, original_state = state
            self.update(index, master, grad.astype(np.float32), original_state)
            _write(weight, master._data.astype(weight._data.dtype))
        else:
            self.update(index, weight, grad, state)

    def __getstate__(self):
        state = self.__dict__.copy()
        # Gluon Parameters are not the optimizer's to save; the trainer sets them again
        state.pop("param_dict", None)
        return state

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}


register = Optimizer.register
create = Optimizer.create_optimizer


def _unknown_arguments(klass, kwargs):
    valid = []
    for k in klass.__mro__:
        if "__init__" in vars(k):
            for p in inspect.signature(k.__init__).parameters.values():
                if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self" and p.name not in valid:
                    valid.append(p.name)
        if k is Optimizer:
            break
    names = ", ".join(repr(k) for k in kwargs)
    return TypeError(f"{klass.__name__} got unknown argument(s) {names}. Valid arguments are: "
                     f"{', '.join(valid)}.")


def _sym_info(sym):
    """(attribute dict, argument names) of a Symbol, for its __lr_mult__/__wd_mult__ attributes."""
    if sym is None:
        return ()
    attr_dict = getattr(sym, "attr_dict", None)
    return (attr_dict() if attr_dict is not None else {}, sym.list_arguments())


# ----- helpers shared by the kernels ------------------------------------------------------------
def _check_pair(opt, index, weight, grad):
    if not isinstance(weight, NDArray) or not isinstance(grad, NDArray):
        bad = weight if not isinstance(weight, NDArray) else grad
        raise TypeError(f"{type(opt).__name__}.update expects NDArrays for weight and grad, got "
                        f"{type(bad).__name__}. Wrap numpy arrays with mx.nd.array(...).")
    if weight.shape != grad.shape:
        name = opt.idx2name.get(index, index) if not isinstance(index, (list, tuple)) else index
        raise MXNetError(f"{type(opt).__name__}.update: the gradient of parameter {name!r} has shape "
                         f"{grad.shape} but the weight has shape {weight.shape}. Pass the gradient that "
                         "belongs to this weight.")
    weight._check_writable()


def _check_pairs(opt, indices, weights, grads):
    """``_check_pair`` for every pair that is not plainly fine (NDArrays of one shape, a weight outside any
    recording)."""
    recording = autograd._mode.recording
    for index, weight, grad in zip(indices, weights, grads):
        if type(weight) is not NDArray or type(grad) is not NDArray or weight._data.shape != grad._data.shape or \
                (recording and weight._node is not None):
            _check_pair(opt, index, weight, grad)  # the checks that raise, with their messages


def _write(weight, values):
    weight._check_writable()
    weight._data[...] = values


def _clip_on(clip_gradient):
    """Fused kernels clip only when MXNet would pass clip_gradient (truthy) and it is >= 0."""
    return bool(clip_gradient) and clip_gradient >= 0


class _ScratchPool(threading.local):
    """Reusable work buffers, one flat array per (device, dtype) and thread.

    Fresh multi-megabyte temporaries cost a page fault per 4 KiB on first touch,
    which made Adam five times slower than its arithmetic; kernels write their
    intermediates into these views instead.
    """

    def __init__(self):
        self.buffers = {}
        self.views = {}  # (device, dtype, shape, count) -> views of the current buffer; every step asks again

    def get(self, ctx, dtype, shape, count):
        vkey = (ctx, dtype, shape, count)
        views = self.views.get(vkey)
        if views is not None:
            return views
        n = math.prod(shape)
        key = (ctx, np.dtype(dtype).str)
        flat = self.buffers.get(key)
        if flat is None or flat.size < n * count:
            flat = self.buffers[key] = ctx.xp.empty(n * count, dtype=dtype)
            self.views = {}  # views of the old buffer would keep it alive
        views = self.views[vkey] = [flat[i * n:(i + 1) * n].reshape(shape) for i in range(count)]
        return views


_scratch = _ScratchPool()


def _rescaled_into(xp, out, tmp, g, rescale, wd, w, clip):
    """``out = clip(rescale*g + wd*w)`` in out's dtype (the gradient is only read)."""
    dt = out.dtype.type
    xp.multiply(g, dt(rescale), out=out)
    if wd:
        xp.multiply(w, dt(wd), out=tmp)
        out += tmp
    if clip is not None:
        xp.clip(out, dt(-clip), dt(clip), out=out)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]




@register
class Test(Optimizer):
    """MXNet's test optimizer: ``weight += rescale_grad * grad``; its state is a copy of the weight."""

    def create_state(self, index, weight):
        return zeros(weight.shape, weight.context)

    def update(self, index, weight, grad, state):
        _check_pair(self, index, weight, grad)
        w = weight._data
        w += (grad._data * w.dtype.type(self.rescale_grad)).astype(w.dtype)
        state._data[...] = w
