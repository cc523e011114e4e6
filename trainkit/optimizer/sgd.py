"""SGD and its relatives: NAG, Signum, LARS, LBSGD, DCASGD, SGLD, ccSGD (MXNet 1.9.1's formulas)."""
import math
import warnings

import numpy as np

from .optimizer import (Optimizer, register, _check_pair, _check_pairs, _write, _clip_on, _scratch,  # noqa: F401
                        _rescaled_into)
from . import flat
from .. import autograd
from ..ndarray.ndarray import NDArray, zeros

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
        self._flat_groups = {}  # (kind, device, indices) -> flat.FlatGroup: never pickled

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
        chunk = None
        if not multi_precision and len(weights) > 1:
            chunk = self._flat_chunk(indices, weights, grads, states)  # checks the pairs
        else:
            _check_pairs(self, indices, weights, grads)
        self._update_count(indices)
        clip = self.clip_gradient if _clip_on(self.clip_gradient) else None
        momentum = self.momentum if self.momentum > 0 else 0.0
        rescale = self.rescale_grad
        rates = None if chunk is None or chunk.buffers is None else self._shared_rates(indices)
        if rates is not None:  # one step on the chunk's buffers, the gradients concatenated
            w, mom = chunk.buffers
            g = np.concatenate([grad._data for grad in grads], axis=None)
            if g.dtype == w.dtype:
                _sgd_step(weights[0]._ctx, w, g, mom, *rates, rescale, clip, momentum)
                return
        lrs, wds = self._get_lrs(indices), self._get_wds(indices)
        if multi_precision:
            for weight, grad, (mom, master), lr, wd in zip(weights, grads, states, lrs, wds):
                _sgd_step(master._ctx, master._data, grad._data.astype(np.float32),
                          None if mom is None else mom._data, lr, wd, rescale, clip, momentum)
                _write(weight, master._data.astype(weight._data.dtype))
            return
        for weight, grad, state, lr, wd in zip(weights, grads, states, lrs, wds):
            _sgd_step(weight._ctx, weight._data, grad._data, None if state is None else state._data,
                      lr, wd, rescale, clip, momentum)

    def _flat_chunk(self, indices, weights, grads, states):
        """The chunk's weights and momenta as views of one buffer each (trainkit.optimizer.flat), its pairs
        checked; made when missing or when the arrays were replaced since (new states, a new binding)."""
        first = weights[0]
        key = (first._ctx.device_id, *indices) if isinstance(first, NDArray) else None  # a Gluon Trainer's
        chunk = self._flat_groups.get(key)  # devices share the optimizer, not the weights
        if chunk is not None and chunk.serves(weights, grads, states, autograd._mode.recording):
            return chunk
        _check_pairs(self, indices, weights, grads)
        has_state = [s is not None for s in states]
        if has_state.count(has_state[0]) != len(has_state):  # momentum set after some states were made without it
            return None
        chunk = self._flat_groups[key] = flat.Chunk(weights, states)
        return chunk

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_flat_groups", None)  # buffers the weights view: made again on the next update
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._flat_groups = {}

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, multi_precision=False)

    def update_multi_precision(self, index, weight, grad, state):
        first = weight[0] if isinstance(weight, (list, tuple)) else weight
        self._update_impl(index, weight, grad, state,
                          multi_precision=self.multi_precision and first.dtype == np.float16)


_SMALL = 1 << 15  # elements: below this a fresh temporary costs less than fetching a scratch buffer


def _sgd_step(ctx, w, g, mom, lr, wd, rescale, clip, momentum):
    if clip is None and not wd and w.size < _SMALL and g.dtype == w.dtype:
        # the same (lr * rescale) * g as below, into a temporary; a Python float meets an array as the
        # array's dtype, so with rescale 1 the product needs no numpy scalars (which cost more than the maths)
        step = g * (float(lr) if rescale == 1 else w.dtype.type(lr) * w.dtype.type(rescale))
        if mom is not None and momentum:
            mom *= float(momentum)
            mom -= step
            w += mom
        else:
            w -= step
        return
    dt = w.dtype.type
    lr, wd = dt(lr), dt(wd)
    xp = ctx.xp
    step, tmp = _scratch.get(ctx, w.dtype, w.shape, 2) if wd or (mom is not None and momentum) else \
        (_scratch.get(ctx, w.dtype, w.shape, 1)[0], None)
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




def _mp_states(opt, weight, kind):
    """(momentum state, float32 master copy) for float16 weights with multi_precision, as MXNet's SGD family."""
    if opt.multi_precision and weight.dtype == np.float16:
        master = weight.astype(np.float32)
        return (opt.create_state(None, master), master)
    if weight.dtype == np.float16 and not opt.multi_precision:
        warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or slow "
                      f"convergence. Consider using multi_precision=True option of the {kind} optimizer")
    return opt.create_state(None, weight)


def _run_mp(opt, index, weight, grad, state, step):
    """Call ``step(weight, grad, state)`` on the float32 master copy when multi_precision applies."""
    if opt.multi_precision and weight.dtype == np.float16 and isinstance(state, (tuple, list)):
        mom, master = state
        step(master, grad.astype(np.float32), mom)
        _write(weight, master._data.astype(weight._data.dtype))
    else:
        step(weight, grad, state)


def _clipped(opt, g_data, dt, xp):
    """``clip(rescale_grad * grad)`` in dtype ``dt``, clipping as the fused kernels do."""
    g = xp.multiply(g_data, dt(opt.rescale_grad))
    if _clip_on(opt.clip_gradient):
        g = xp.clip(g, dt(-opt.clip_gradient), dt(opt.clip_gradient))
    return g


# ----- NAG --------------------------------------------------------------------------------------
@register
class NAG(Optimizer):
    """Nesterov accelerated gradient (MXNet's ``nag_mom_update``)::

        g      = clip(rescale_grad * grad, clip_gradient)
        mom    = momentum * mom
        weight = weight - mom + (momentum + 1) * (mom - lr * (g + wd * weight))
        mom    = mom - lr * (g + wd * weight)      # with the new weight, as MXNet's in-place kernel

    Without momentum it is plain SGD. ``multi_precision`` keeps a float32 master copy.
    """

    def __init__(self, momentum=0.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros(weight.shape, weight.context, dtype=weight._data.dtype)
        return None

    def create_state_multi_precision(self, index, weight):
        return _mp_states(self, weight, "NAG")

    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index, weight, grad)
        self._step(weight, grad, state, lr, wd)

    def update_multi_precision(self, index, weight, grad, state):
        lr, wd = self._begin_update(index, weight, grad)
        _run_mp(self, index, weight, grad, state, lambda w, g, s: self._step(w, g, s, lr, wd))

    def _step(self, weight, grad, mom, lr, wd):
        w, xp = weight._data, weight._ctx.xp
        dt = w.dtype.type
        if mom is None:
            clip = self.clip_gradient if _clip_on(self.clip_gradient) else None
            _sgd_step(weight._ctx, w, grad._data, None, lr, wd, self.rescale_grad, clip, 0.0)
            return
        momentum = dt(self.momentum if self.momentum > 0 else 0.0)
        m = mom._data
        g = _clipped(self, grad._data, dt, xp)
        m *= momentum
        w[...] = w - m + (momentum + dt(1)) * (m - dt(lr) * (g + dt(wd) * w))
        # MXNet's kernel writes the weight in place before this line reads it: wd uses the new weight
        m -= dt(lr) * (g + dt(wd) * w)


# ----- Signum -----------------------------------------------------------------------------------
@register
class Signum(Optimizer):
    """signSGD / Signum (Bernstein et al., 2018): steps of size ``lr`` along the sign of the momentum::

        mom    = momentum * mom - (1 - momentum) * (wd * weight + clip(rescale_grad * grad))
        weight = (1 - lr * wd_lh) * weight + lr * sign(mom)

    With ``momentum=0`` (signSGD) the step is ``(1 - lr*wd) * weight - lr * sign(grad)``; as in
    MXNet's ``signsgd_update``, rescaling and clipping do not change a sign, so they are skipped.
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros(weight.shape, weight.context, dtype=weight._data.dtype)
        return None

    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index, weight, grad)
        w, xp = weight._data, weight._ctx.xp
        dt = w.dtype.type
        if state is None:
            w[...] = (dt(1) - dt(lr) * dt(wd)) * w - dt(lr) * xp.sign(grad._data).astype(w.dtype)
            return
        momentum = dt(self.momentum if self.momentum > 0 else 0.0)
        m = state._data
        m[...] = momentum * m - (dt(1) - momentum) * dt(wd) * w \
            - (dt(1) - momentum) * _clipped(self, grad._data, dt, xp)
        w[...] = (dt(1) - dt(lr) * dt(self.wd_lh or 0.0)) * w + dt(lr) * xp.sign(m).astype(w.dtype)


# ----- LARS -------------------------------------------------------------------------------------
@register
class LARS(Optimizer):
    """LARS (You et al., 2017): SGD whose learning rate is scaled per layer by
    ``eta * |w| / (|rescale_grad * g| + wd * |w| + eps)`` (1 when either norm is 0).

    Parameters named ``*gamma``, ``*beta`` or ``*bias`` keep the plain learning rate. With
    ``momentum_correction`` the momentum is scaled by ``lr_now / lr_before`` when the
    schedule changes the learning rate. Only names ending in ``_weight`` get weight decay.
    """

    def __init__(self, momentum=0.0, lazy_update=True, eta=0.001, eps=0, momentum_correction=True,
                 **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.momentum_correction = momentum_correction
        self.lazy_update = lazy_update
        self.aggregate_num = 4
        self.eta = eta
        self.eps = eps
        self.skip = 0
        self.last_lr = None
        self.cur_lr = None

    def _get_lrs(self, indices):
        if self.cur_lr is not None:
            self.last_lr = self.cur_lr
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        if self.cur_lr is None:
            self.last_lr = lr
        self.cur_lr = lr
        return self._scaled(lr, indices, "lr_mult", self.lr_mult)

    def set_wd_mult(self, args_wd_mult):
        self.wd_mult = {n: 0.0 for n in self.idx2name.values() if not n.endswith("_weight")}
        self.wd_mult.update(self._symbol_mults("__wd_mult__"))
        self.wd_mult.update(args_wd_mult)

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros(weight.shape, weight.context, dtype=weight._data.dtype)
        return None

    def create_state_multi_precision(self, index, weight):
        return _mp_states(self, weight, "SGD")

    def _skips_lars(self, index):
        name = self.idx2name.get(index, str(index))
        return name.endswith("gamma") or name.endswith("beta") or name.endswith("bias")

    def _update_impl(self, indices, weights, grads, states):
        if not isinstance(indices, (list, tuple)):
            indices, weights, grads, states = [indices], [weights], [grads], [states]
        for index, weight, grad in zip(indices, weights, grads):
            if type(weight) is not NDArray or type(grad) is not NDArray or weight.shape != grad.shape or \
                    (weight._node is not None and autograd._mode.recording):
                _check_pair(self, index, weight, grad)  # the checks that raise, with their messages
        self._update_count(indices)
        lrs = self._get_lrs(indices)
        wds = self._get_wds(indices)
        momentum = 0.0
        if self.momentum > 0:
            momentum = (self.momentum * (self.cur_lr / self.last_lr)
                        if self.momentum_correction and self.last_lr != 0 else self.momentum)
        clip = self.clip_gradient if _clip_on(self.clip_gradient) else None
        for index, weight, grad, state, lr, wd in zip(indices, weights, grads, states, lrs, wds):
            if not self._skips_lars(index):
                w_norm = math.sqrt(float((weight._data.astype(np.float32) ** 2).sum()))
                g_norm = math.sqrt(float((grad._data.astype(np.float32) ** 2).sum()))
                if w_norm > 0 and g_norm > 0:
                    lr = lr * self.eta * w_norm / (g_norm * self.rescale_grad + wd * w_norm + self.eps)

            def step(w, g, mom, lr=lr, wd=wd):
                _sgd_step(w._ctx, w._data, g._data, None if mom is None else mom._data,
                          lr, wd, self.rescale_grad, clip, momentum)
            _run_mp(self, index, weight, grad, state, step)

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state)

    def update_multi_precision(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state)


# ----- LBSGD ------------------------------------------------------------------------------------
@register
class LBSGD(Optimizer):
    """Large-batch SGD: accumulates ``batch_scale`` gradients per weight, then takes one SGD
    step with the learning rate multiplied by a warm-up factor (``warmup_strategy`` 'linear',
    'power2', 'sqrt' from 1 to ``batch_scale`` over ``warmup_epochs * updates_per_epoch``
    updates, or 'lars': ``sqrt(|w|² / (|g|² + wd*|w|² + 1e-18))`` clipped to [0.01, 100]).
    Between steps the weight gets a plain SGD update with the current gradient, as in MXNet.
    """

    def __init__(self, momentum=0.0, multi_precision=False, warmup_strategy="linear", warmup_epochs=5,
                 batch_scale=1, updates_per_epoch=32, begin_epoch=0, num_epochs=60, **kwargs):
        super().__init__(multi_precision=multi_precision, **kwargs)
        self.momentum = momentum
        self.warmup_strategy = warmup_strategy
        self.warmup_epochs = warmup_epochs
        self.batch_scale = batch_scale
        self.updates_per_epoch = updates_per_epoch
        self.init_updates = begin_epoch * updates_per_epoch
        self.num_epochs = num_epochs
        self.lbmult = 1
        self.cumgrads = {}
        self.adaptive = False
        self.admult = 1

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros(weight.shape, weight.context, dtype=weight._data.dtype)
        return None

    def create_state_multi_precision(self, index, weight):
        return _mp_states(self, weight, "SGD")

    def _get_lbmult(self, nup):
        nwup = self.warmup_epochs * self.updates_per_epoch
        maxmult = float(self.batch_scale)
        if nup >= nwup:
            return maxmult
        if nwup <= 1:
            return 1.0
        ramps = {"linear": nup / nwup, "power2": (nup * nup) / (nwup * nwup), "sqrt": math.sqrt(nup / nwup)}
        if self.warmup_strategy not in ramps:
            return 1.0
        return 1.0 + (maxmult - 1) * ramps[self.warmup_strategy]

    def _get_lars(self, weight, g, wd):
        weight2 = float((weight._data.astype(np.float64) ** 2).sum())
        grad2 = float((g ** 2).sum())
        return min(max(math.sqrt(weight2 / (grad2 + wd * weight2 + 1e-18)), 0.01), 100)

    def update(self, index, weight, grad, state):
        lr, wd = self._get_lr(index), self._get_wd(index)
        _check_pair(self, index, weight, grad)
        self._update_count(index)
        cgrad = self.cumgrads.get(index)
        if cgrad and cgrad["num_cums"] > 0:
            cgrad = {"cum_grad": cgrad["cum_grad"] + grad._data, "num_cums": cgrad["num_cums"] + 1}
        else:
            cgrad = {"cum_grad": grad._data.copy(), "num_cums": self.init_updates + 1}
        self.cumgrads[index] = cgrad
        clip = self.clip_gradient if _clip_on(self.clip_gradient) else None
        if cgrad["num_cums"] % self.batch_scale == 0:
            g = cgrad["cum_grad"] / self.batch_scale
            mult = (self._get_lars(weight, g, wd) if self.warmup_strategy == "lars"
                    else self._get_lbmult(cgrad["num_cums"]))
            lr = lr * mult
            momentum = self.momentum if self.momentum > 0 else 0.0
            cgrad["cum_grad"] = 0 * cgrad["cum_grad"]
        else:
            g, momentum = grad._data, 0.0
            lr = 0.0
        if isinstance(state, (tuple, list)):
            mom, master = state
            _sgd_step(master._ctx, master._data, g.astype(np.float32), None if mom is None else mom._data,
                      lr, wd, self.rescale_grad, clip, momentum)
            _write(weight, master._data.astype(weight._data.dtype))
        else:
            _sgd_step(weight._ctx, weight._data, g.astype(weight._data.dtype),
                      None if state is None or not momentum else state._data,
                      lr, wd, self.rescale_grad, clip, momentum)


# ----- DCASGD -----------------------------------------------------------------------------------
@register
class DCASGD(Optimizer):
    """Delay-compensated asynchronous SGD (Zheng et al., 2016)::

        g      = clip(rescale_grad * grad, clip_gradient)
        mom    = momentum * mom - lr * (g + wd * weight + lamda * g * g * (weight - previous_weight))
        previous_weight = weight
        weight = weight + mom
    """

    def __init__(self, momentum=0.0, lamda=0.04, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.weight_previous = {}
        self.lamda = lamda

    def create_state(self, index, weight):
        mom = None if self.momentum == 0.0 else zeros(weight.shape, weight.context, dtype=weight._data.dtype)
        return (mom, weight.copy())

    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index, weight, grad)
        w, xp = weight._data, weight._ctx.xp
        dt = w.dtype.type
        g = grad._data * dt(self.rescale_grad)
        if self.clip_gradient is not None:
            g = xp.clip(g, dt(-self.clip_gradient), dt(self.clip_gradient))
        mom, previous = state
        step = dt(-lr) * (g + dt(wd) * w + dt(self.lamda) * g * g * (w - previous._data))
        if mom is not None:
            mom._data *= dt(self.momentum)
            mom._data += step
            step = mom._data
        previous._data[...] = w
        w += step


# ----- SGLD -------------------------------------------------------------------------------------
@register
class SGLD(Optimizer):
    """Stochastic gradient Langevin dynamics: half an SGD step plus Gaussian noise of variance ``lr``::

        weight = weight - lr/2 * (clip(rescale_grad * grad, clip_gradient) + wd * weight) + N(0, sqrt(lr))

    The noise comes from ``mx.nd.random.normal``, so ``mx.random.seed`` makes it reproducible.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def create_state(self, index, weight):
        return None

    def update(self, index, weight, grad, state):
        from ..ndarray import random as _random
        lr, wd = self._begin_update(index, weight, grad)
        w, xp = weight._data, weight._ctx.xp
        dt = w.dtype.type
        g = grad._data * dt(self.rescale_grad)
        if self.clip_gradient is not None:
            g = xp.clip(g, dt(-self.clip_gradient), dt(self.clip_gradient))
        w += dt(-lr / 2) * (g + dt(wd) * w)
        noise = _random.normal(0, math.sqrt(lr), shape=weight.shape, dtype=w.dtype, ctx=weight.context)
        w += noise._data


@register
class ccSGD(SGD):  # noqa: N801 (MXNet's name)
    """Deprecated alias of SGD, kept because MXNet still registers it."""
