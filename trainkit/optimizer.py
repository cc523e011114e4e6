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
import pickle
import threading
import warnings

import numpy as np

from .base import MXNetError
from .ndarray.ndarray import NDArray, zeros

__all__ = ["Optimizer", "SGD", "Adam", "RMSProp", "AdaGrad", "Updater", "create", "register", "get_updater"]


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
        for idx in index:
            if idx not in self._index_update_count:
                self._index_update_count[idx] = self.begin_num_update
            self._index_update_count[idx] += 1
            self.num_update = max(self._index_update_count[idx], self.num_update)

    def _get_lrs(self, indices):
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return self._scaled(lr, indices, "lr_mult", self.lr_mult)

    def _get_lr(self, index):
        return self._get_lrs([index])[0]

    def _get_wds(self, indices):
        return self._scaled(self.wd, indices, "wd_mult", self.wd_mult)

    def _scaled(self, base, indices, attr, mults):
        """``base`` times each index's multiplier: from param_dict, then by index, then by name."""
        values = []
        for index in indices:
            if index in self.param_dict:
                values.append(base * getattr(self.param_dict[index], attr))
            elif index in mults:
                values.append(base * mults[index])
            elif index in self.idx2name:
                values.append(base * mults.get(self.idx2name[index], 1.0))
            else:
                values.append(base)
        return values

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

    def get(self, ctx, dtype, shape, count):
        n = math.prod(shape)
        key = (ctx, np.dtype(dtype).str)
        flat = self.buffers.get(key)
        if flat is None or flat.size < n * count:
            flat = self.buffers[key] = ctx.xp.empty(n * count, dtype=dtype)
        return [flat[i * n:(i + 1) * n].reshape(shape) for i in range(count)]


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


# ----- SGD --------------------------------------------------------------------------------------
@register
class SGD(Optimizer):
    """Stochastic gradient descent with momentum and weight decay.

    Per element, in the weight's dtype (MXNet's ``multi_sgd_mom_update``)::

        g   = clip(rescale_grad * grad, clip_gradient)
        mom = momentum * mom - lr * wd * weight - lr * g      # mom is 0 without momentum
        weight = weight + mom

    Parameters
    ----------
    momentum : float
        The momentum; 0 keeps no state.
    lazy_update : bool
        Accepted for compatibility; trainkit has no sparse gradients, so every update is dense.
    """

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        # MXNet's Updater hands SGD lists of up to 4 weights at a time (MXNET_OPTIMIZER_AGGREGATION_SIZE)
        self.aggregate_num = 4

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros(weight.shape, weight.context, dtype=weight._data.dtype)
        return None

    def create_state_multi_precision(self, index, weight):
        if self.multi_precision and weight.dtype == np.float16:
            master = weight.astype(np.float32)
            return (self.create_state(index, master), master)
        if weight.dtype == np.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or slow "
                          "convergence. Consider using multi_precision=True option of the SGD optimizer")
        return self.create_state(index, weight)

    def _update_impl(self, indices, weights, grads, states, multi_precision=False):
        if not isinstance(indices, (list, tuple)):
            indices, weights, grads, states = [indices], [weights], [grads], [states]
        for index, weight, grad in zip(indices, weights, grads):
            _check_pair(self, index, weight, grad)
        self._update_count(indices)
        lrs = self._get_lrs(indices)
        wds = self._get_wds(indices)
        clip = self.clip_gradient if _clip_on(self.clip_gradient) else None
        momentum = self.momentum if self.momentum > 0 else 0.0
        for weight, grad, state, lr, wd in zip(weights, grads, states, lrs, wds):
            if multi_precision:
                mom, master = state
                _sgd_step(master._ctx, master._data, grad._data.astype(np.float32),
                          None if mom is None else mom._data, lr, wd, self.rescale_grad, clip, momentum)
                _write(weight, master._data.astype(weight._data.dtype))
            else:
                _sgd_step(weight._ctx, weight._data, grad._data,
                          None if state is None else state._data, lr, wd, self.rescale_grad, clip, momentum)

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, multi_precision=False)

    def update_multi_precision(self, index, weight, grad, state):
        first = weight[0] if isinstance(weight, (list, tuple)) else weight
        self._update_impl(index, weight, grad, state,
                          multi_precision=self.multi_precision and first.dtype == np.float16)


def _sgd_step(ctx, w, g, mom, lr, wd, rescale, clip, momentum):
    xp, dt = ctx.xp, w.dtype.type
    lr, wd = dt(lr), dt(wd)
    step, tmp = _scratch.get(ctx, w.dtype, w.shape, 2)
    if clip is None:
        xp.multiply(g, lr * dt(rescale), out=step)                 # (lr * rescale) * g
    else:
        xp.multiply(g, dt(rescale), out=step)
        xp.clip(step, dt(-clip), dt(clip), out=step)
        step *= lr                                                  # lr * clip(rescale * g)
    if mom is not None and momentum:
        mom *= dt(momentum)
        if wd:
            xp.multiply(w, lr * wd, out=tmp)
            mom -= tmp
        mom -= step
        w += mom
    elif wd:
        xp.multiply(w, -(lr * wd), out=tmp)                         # 0 - lr*wd*w - step
        tmp -= step
        w += tmp
    else:
        w -= step


# ----- Adam -------------------------------------------------------------------------------------
@register
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014) with MXNet's bias correction folded into the learning rate.

    With ``t`` the update count of this weight::

        lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
        g    = clip(rescale_grad * grad + wd * weight, clip_gradient)
        m    = beta1 * m + (1 - beta1) * g
        v    = beta2 * v + (1 - beta2) * g * g
        weight = weight - lr_t * m / (sqrt(v) + epsilon)

    ``epsilon`` is not bias-corrected (it is in the paper's formula), exactly as in MXNet.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 lazy_update=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        dtype = weight._data.dtype
        return (zeros(weight.shape, weight.context, dtype=dtype),   # mean
                zeros(weight.shape, weight.context, dtype=dtype))   # variance

    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index, weight, grad)
        t = self._index_update_count[index]
        lr *= math.sqrt(1. - self.beta2 ** t) / (1. - self.beta1 ** t)

        w, ctx = weight._data, weight._ctx
        xp, dt = ctx.xp, w.dtype.type
        g, tmp = _scratch.get(ctx, w.dtype, w.shape, 2)
        clip = self.clip_gradient if _clip_on(self.clip_gradient) else None
        _rescaled_into(xp, g, tmp, grad._data, self.rescale_grad, wd, w, clip)
        mean, var = state[0]._data, state[1]._data
        beta1, beta2 = dt(self.beta1), dt(self.beta2)
        mean *= beta1
        xp.multiply(g, dt(1) - beta1, out=tmp)
        mean += tmp                                       # beta1*m + (1-beta1)*g
        var *= beta2
        xp.multiply(g, dt(1) - beta2, out=tmp)
        tmp *= g
        var += tmp                                        # beta2*v + (1-beta2)*g*g
        xp.sqrt(var, out=g)
        g += dt(self.epsilon)
        xp.multiply(mean, dt(lr), out=tmp)
        tmp /= g
        w -= tmp                                          # w - lr*m / (sqrt(v) + eps)


# ----- RMSProp ----------------------------------------------------------------------------------
@register
class RMSProp(Optimizer):
    """RMSProp: Tieleman & Hinton's (default) or Graves' centered version.

    With ``g = clip(rescale_grad * grad + wd * weight, clip_gradient)``::

        non-centered:  n = (1 - gamma1) * g * g + gamma1 * n
                       weight = weight - lr * g / sqrt(n + epsilon)
        centered:      n = (1 - gamma1) * g * g + gamma1 * n
                       m = (1 - gamma1) * g + gamma1 * m
                       delta = gamma2 * delta - lr * g / sqrt(n - m * m + epsilon)
                       weight = weight + delta

    then ``weight`` is clipped to ``[-clip_weights, clip_weights]`` when ``clip_weights`` is set.
    ``epsilon`` sits inside the square root, as in MXNet's kernels.
    """

    def __init__(self, learning_rate=0.001, gamma1=0.9, gamma2=0.9, epsilon=1e-8, centered=False,
                 clip_weights=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def create_state(self, index, weight):
        # MXNet creates these with the default dtype (float32) whatever the weight's
        if self.centered:
            return (zeros(weight.shape, weight.context),    # n
                    zeros(weight.shape, weight.context),    # g (mean gradient)
                    zeros(weight.shape, weight.context))    # delta
        return (zeros(weight.shape, weight.context),)       # n

    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index, weight, grad)

        w, ctx = weight._data, weight._ctx
        xp, dt = ctx.xp, w.dtype.type
        g, tmp = _scratch.get(ctx, w.dtype, w.shape, 2)
        clip = self.clip_gradient if _clip_on(self.clip_gradient) else None
        _rescaled_into(xp, g, tmp, grad._data, self.rescale_grad, wd, w, clip)
        gamma1 = dt(self.gamma1)
        n = state[0]._data
        xp.multiply(g, dt(1) - gamma1, out=tmp)
        tmp *= g
        n *= gamma1
        n += tmp                                          # (1-gamma1)*g*g + gamma1*n
        if not self.centered:
            xp.add(n, dt(self.epsilon), out=tmp)
            xp.sqrt(tmp, out=tmp)
            xp.divide(g, tmp, out=tmp)
            tmp *= dt(lr)
            w -= tmp                                      # w - lr * g / sqrt(n + eps)
        else:
            mg, delta = state[1]._data, state[2]._data
            mg *= gamma1
            xp.multiply(g, dt(1) - gamma1, out=tmp)
            mg += tmp                                     # (1-gamma1)*g + gamma1*m
            xp.multiply(mg, mg, out=tmp)
            xp.subtract(n, tmp, out=tmp)
            tmp += dt(self.epsilon)
            xp.sqrt(tmp, out=tmp)
            xp.divide(g, tmp, out=tmp)
            tmp *= dt(lr)
            delta *= dt(self.gamma2)
            delta -= tmp                                  # gamma2*delta - lr*g / sqrt(n - m*m + eps)
            w += delta
        if self.clip_weights and self.clip_weights >= 0:
            xp.clip(w, dt(-self.clip_weights), dt(self.clip_weights), out=w)


# ----- AdaGrad ----------------------------------------------------------------------------------
@register
class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al., 2011), as MXNet 1.x's Python implementation computes it::

        g = clip(rescale_grad * grad, clip_gradient)      # clipped whenever clip_gradient is not None
        history = history + g * g
        weight = weight - lr * (g / sqrt(history + eps) + wd * weight)

    Weight decay is added outside the adaptive scaling, as in MXNet.
    """

    def __init__(self, eps=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return zeros(weight.shape, weight.context)    # history, float32 as in MXNet

    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index, weight, grad)

        w, ctx = weight._data, weight._ctx
        xp, dt = ctx.xp, w.dtype.type
        g, tmp = _scratch.get(ctx, w.dtype, w.shape, 2)
        xp.multiply(grad._data, dt(self.rescale_grad), out=g)
        if self.clip_gradient is not None:
            xp.clip(g, dt(-self.clip_gradient), dt(self.clip_gradient), out=g)
        history = state._data
        xp.multiply(g, g, out=tmp)
        history += tmp
        xp.add(history, dt(self.float_stable_eps), out=tmp)
        xp.sqrt(tmp, out=tmp)
        xp.divide(g, tmp, out=tmp)                        # g / sqrt(history + eps)
        xp.multiply(w, dt(wd), out=g)
        g += tmp
        g *= dt(-lr)
        w += g                                            # w + (div + w*wd) * -lr


# ----- Updater ----------------------------------------------------------------------------------
class Updater:
    """Holds one state per weight index and applies the optimizer: ``updater(index, grad, weight)``.

    ``index``, ``grad`` and ``weight`` may also be equal-length lists. ``get_states()`` pickles
    the dict of states, as MXNet writes ``.states`` files (the arrays inside are trainkit
    NDArrays, so the files do not move between trainkit and MXNet). ``get_states(dump_optimizer=True)``
    also pickles the optimizer, whose update counts and scheduler position are needed to continue
    a run exactly: Adam's bias correction and every lr schedule depend on them.
    """

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"Updater needs an mx.optimizer.Optimizer, got {type(optimizer).__name__}. "
                            "Create one with mx.optimizer.create('sgd', ...).")
        self.optimizer = optimizer
        self.states = {}
        self.states_synced = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight):
        if not isinstance(index, (list, tuple)):
            indices, grads, weights = [index], [grad], [weight]
        else:
            indices, grads, weights = list(index), _as_list(grad), _as_list(weight)
            if not len(indices) == len(grads) == len(weights):
                raise ValueError(f"Updater got {len(indices)} indices, {len(grads)} gradients and "
                                 f"{len(weights)} weights; pass one gradient and one weight per index.")
        for w, g in zip(weights, grads):
            if not isinstance(w, NDArray) or not isinstance(g, NDArray):
                bad = w if not isinstance(w, NDArray) else g
                raise TypeError(f"Updater expects NDArrays for grad and weight, got {type(bad).__name__}. "
                                "Call it as updater(index, grad, weight) with mx.nd arrays.")
        if weights:
            self.optimizer._set_current_context(weights[0].context.device_id)
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):
                idx = indices[i] = idx.decode()
            if idx not in self.states:
                self.states[idx] = self.optimizer.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
            elif not self.states_synced.get(idx, False):
                self.states[idx] = self.sync_state_context(self.states[idx], weights[i].context)
                self.states_synced[idx] = True
        if self.aggregate_updates:
            # as MXNet: group by dtype, then hand the optimizer chunks of aggregate_num weights
            by_dtype = {}
            for i, w, g in zip(indices, weights, grads):
                by_dtype.setdefault(w._data.dtype, []).append((i, w, g))
            step = self.optimizer.aggregate_num
            for group in by_dtype.values():
                for start in range(0, len(group), step):
                    chunk = group[start:start + step]
                    self.optimizer.update_multi_precision(
                        [c[0] for c in chunk], [c[1] for c in chunk], [c[2] for c in chunk],
                        [self.states[c[0]] for c in chunk])
        else:
            for i, w, g in zip(indices, weights, grads):
                self.optimizer.update_multi_precision(i, w, g, self.states[i])

    def sync_state_context(self, state, context):
        """Move a state (an NDArray, or a tuple/list of them) to ``context``."""
        if isinstance(state, NDArray):
            return state.as_in_context(context)
        if isinstance(state, (tuple, list)):
            synced = [self.sync_state_context(s, context) for s in state]
            return tuple(synced) if isinstance(state, tuple) else synced
        return state

    def set_states(self, states):
        """Restore what ``get_states`` returned (bytes of a pickled dict, or of (dict, optimizer))."""
        if not isinstance(states, (bytes, bytearray)):
            raise TypeError(f"set_states expects the bytes returned by get_states() (or read from a "
                            f".states file), got {type(states).__name__}.")
        loaded = pickle.loads(states)
        if isinstance(loaded, tuple) and len(loaded) == 2:
            loaded, optimizer = loaded
            if not isinstance(optimizer, Optimizer):
                raise ValueError("set_states: the pickled pair does not hold an Optimizer; pass bytes "
                                 "from Updater.get_states().")
            self.optimizer = optimizer
            self.aggregate_updates = optimizer.aggregate_num > 0
        if not isinstance(loaded, dict):
            raise ValueError(f"set_states: expected pickled optimizer states (a dict of index to state), "
                             f"found {type(loaded).__name__}. Pass bytes from Updater.get_states().")
        self.states = loaded
        self.states_synced = dict.fromkeys(self.states.keys(), False)

    def get_states(self, dump_optimizer=False):
        """Pickled states; with ``dump_optimizer`` the optimizer (counts, scheduler) is included."""
        return pickle.dumps((self.states, self.optimizer) if dump_optimizer else self.states)


def get_updater(optimizer):
    """An ``Updater`` for ``optimizer``: call it as ``updater(index, grad, weight)``."""
    return Updater(optimizer)
