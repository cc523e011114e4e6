"""Adaptive optimizers: Adam, RMSProp, AdaGrad, AdaDelta, Adamax, Nadam, FTML, Ftrl, LAMB (MXNet 1.9.1's formulas)."""
import math

import numpy as np

from .optimizer import Optimizer, register, _check_pair, _write, _clip_on, _scratch, _rescaled_into  # noqa: F401
from ..ndarray.ndarray import zeros


def _zeros_like(weight, count):
    """``count`` zero arrays of the weight's shape, device and dtype: an optimizer's per-weight state."""
    return tuple(zeros(weight.shape, weight.context, dtype=weight._data.dtype) for _ in range(count))

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
        return _zeros_like(weight, 2)   # mean, variance

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




def _preprocessed(opt, grad, w, wd, xp, clip_any=True):
    """``clip(rescale_grad * grad + wd * weight)`` as MXNet's Python optimizers compute it
    (they clip whenever ``clip_gradient`` is not None)."""
    dt = w.dtype.type
    g = grad * dt(opt.rescale_grad)
    if wd:
        g = g + dt(wd) * w
    if opt.clip_gradient is not None and clip_any:
        g = xp.clip(g, dt(-opt.clip_gradient), dt(opt.clip_gradient))
    return g


# ----- AdaDelta ---------------------------------------------------------------------------------
@register
class AdaDelta(Optimizer):
    """AdaDelta (Zeiler, 2012); it needs no learning rate::

        g         = clip(rescale_grad * grad, clip_gradient)
        acc_g     = rho * acc_g + (1 - rho) * g * g
        delta     = sqrt(acc_delta + epsilon) / sqrt(acc_g + epsilon) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta * delta
        weight    = weight - (delta + wd * weight)
    """

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return (zeros(weight.shape, weight.context),    # accumulated g
                zeros(weight.shape, weight.context))    # accumulated delta

    def update(self, index, weight, grad, state):
        _, wd = self._begin_update(index, weight, grad)
        w, xp = weight._data, weight._ctx.xp
        g = _preprocessed(self, grad._data, w, 0.0, xp)
        acc_g, acc_delta = state[0]._data, state[1]._data
        dt = acc_g.dtype.type
        rho, eps = dt(self.rho), dt(self.epsilon)
        acc_g *= rho
        acc_g += (dt(1) - rho) * g * g
        delta = xp.sqrt(acc_delta + eps) / xp.sqrt(acc_g + eps) * g
        acc_delta *= rho
        acc_delta += (dt(1) - rho) * delta * delta
        w -= (delta + dt(wd) * w).astype(w.dtype)


# ----- Adamax -----------------------------------------------------------------------------------
@register
class Adamax(Optimizer):
    """AdaMax (Kingma & Ba, 2014, section 7), Adam with the infinity norm::

        g = clip(rescale_grad * grad + wd * weight, clip_gradient)
        m = beta1 * m + (1 - beta1) * g
        u = maximum(beta2 * u, |g|)
        weight = weight - lr / (1 - beta1**t) * m / u
    """

    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2

    def create_state(self, index, weight):
        return _zeros_like(weight, 2)   # mean, infinity norm

    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index, weight, grad)
        t = self._index_update_count[index]
        lr /= (1. - self.beta1 ** t)
        w, xp = weight._data, weight._ctx.xp
        dt = w.dtype.type
        g = _preprocessed(self, grad._data, w, wd, xp)
        m, u = state[0]._data, state[1]._data
        m *= dt(self.beta1)
        m += dt(1. - self.beta1) * g
        u[...] = xp.maximum(dt(self.beta2) * u, xp.abs(g))
        w -= dt(lr) * m / u


# ----- Nadam ------------------------------------------------------------------------------------
@register
class Nadam(Optimizer):
    """Nesterov Adam (Dozat, 2015) with MXNet's momentum schedule
    ``momentum_t = beta1 * (1 - 0.5 * 0.96 ** (t * schedule_decay))``.

    As in MXNet, the running product of momenta (``m_schedule``) is one number for the
    whole optimizer, advanced by every update of every weight.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, schedule_decay=0.004,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.

    def create_state(self, index, weight):
        return _zeros_like(weight, 2)   # mean, variance

    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index, weight, grad)
        t = self._index_update_count[index]
        w, xp = weight._data, weight._ctx.xp
        dt = w.dtype.type
        g = _preprocessed(self, grad._data, w, wd, xp)
        momentum_t = self.beta1 * (1. - 0.5 * (pow(0.96, t * self.schedule_decay)))
        momentum_t_1 = self.beta1 * (1. - 0.5 * (pow(0.96, (t + 1) * self.schedule_decay)))
        self.m_schedule = self.m_schedule * momentum_t
        m_schedule_next = self.m_schedule * momentum_t_1
        m, v = state[0]._data, state[1]._data
        m *= dt(self.beta1)
        m += dt(1. - self.beta1) * g
        v *= dt(self.beta2)
        v += dt(1. - self.beta2) * g * g
        grad_prime = g / dt(1. - self.m_schedule)
        m_prime = m / dt(1. - m_schedule_next)
        v_prime = v / dt(1. - pow(self.beta2, t))
        m_bar = dt(1. - momentum_t) * grad_prime + dt(momentum_t_1) * m_prime
        w -= dt(lr) * m_bar / (xp.sqrt(v_prime) + dt(self.epsilon))


# ----- FTML -------------------------------------------------------------------------------------
@register
class FTML(Optimizer):
    """FTML, Follow the Moving Leader (Zheng & Kwok, 2017), MXNet's ``ftml_update``::

        g   = clip(rescale_grad * grad + wd * weight, clip_gradient)
        v   = beta2 * v + (1 - beta2) * g * g
        d_t = (1 - beta1**t) / lr * (sqrt(v / (1 - beta2**t)) + epsilon)
        z   = beta1 * z + (1 - beta1) * g - (d_t - beta1 * d) * weight
        d   = d_t
        weight = -z / d_t
    """

    def __init__(self, beta1=0.6, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def create_state(self, index, weight):
        dtype = weight._data.dtype
        return (zeros(weight.shape, weight.context, dtype=dtype),   # d
                zeros(weight.shape, weight.context, dtype=dtype),   # v
                zeros(weight.shape, weight.context, dtype=dtype))   # z

    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index, weight, grad)
        t = self._index_update_count[index]
        w, xp = weight._data, weight._ctx.xp
        dt = w.dtype.type
        g = grad._data * dt(self.rescale_grad) + dt(wd) * w
        if _clip_on(self.clip_gradient):
            g = xp.clip(g, dt(-self.clip_gradient), dt(self.clip_gradient))
        d, v, z = state[0]._data, state[1]._data, state[2]._data
        beta1, beta2 = dt(self.beta1), dt(self.beta2)
        v[...] = beta2 * v + (dt(1) - beta2) * g * g
        d_t = (dt(1) - beta1 ** dt(t)) / dt(lr) * (xp.sqrt(v / (dt(1) - beta2 ** dt(t))) + dt(self.epsilon))
        z[...] = beta1 * z + (dt(1) - beta1) * g - (d_t - beta1 * d) * w
        d[...] = d_t
        w[...] = -z / d_t


# ----- Ftrl -------------------------------------------------------------------------------------
@register
class Ftrl(Optimizer):
    """FTRL-proximal (McMahan et al., 2013), MXNet's ``ftrl_update``::

        g = clip(rescale_grad * grad, clip_gradient)
        z = z + g - (sqrt(n + g*g) - sqrt(n)) * weight / lr
        n = n + g*g
        weight = (sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd) * (|z| > lamda1)
    """

    def __init__(self, lamda1=0.01, learning_rate=0.1, beta=1, **kwargs):
        super().__init__(**kwargs)
        self.lamda1 = lamda1
        self.beta = beta
        self.lr = learning_rate

    def create_state(self, index, weight):
        return (zeros(weight.shape, weight.context),    # z
                zeros(weight.shape, weight.context))    # n

    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index, weight, grad)
        w, xp = weight._data, weight._ctx.xp
        dt = w.dtype.type
        g = grad._data * dt(self.rescale_grad)
        if _clip_on(self.clip_gradient):
            g = xp.clip(g, dt(-self.clip_gradient), dt(self.clip_gradient))
        z, n = state[0]._data, state[1]._data
        lr_ = dt(lr)
        z += g - (xp.sqrt(n + g * g) - xp.sqrt(n)) * w / lr_
        n += g * g
        lamda1 = dt(self.lamda1)
        w[...] = ((xp.sign(z) * lamda1 - z) / ((dt(self.beta) + xp.sqrt(n)) / lr_ + dt(wd))
                  * (xp.abs(z) > lamda1))


# ----- LAMB -------------------------------------------------------------------------------------
@register
class LAMB(Optimizer):
    """LAMB (You et al., 2019), MXNet's ``lamb_update_phase1``/``phase2``::

        g    = clip(rescale_grad * grad, clip_gradient)
        m    = beta1 * m + (1 - beta1) * g
        v    = beta2 * v + (1 - beta2) * g * g
        r    = m_hat / (sqrt(v_hat) + epsilon) + wd * weight    # m_hat = m / (1 - beta1**t), v_hat
                                                                 # likewise (bias_correction)
        r1   = clip(|weight|, lower_bound, upper_bound);  r2 = |r|
        weight = weight - lr * (r1 / r2 if r1 and r2 else 1) * r

    Lists of weights (the Updater's aggregation, ``aggregate_num`` 45) update one by one.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6, lower_bound=None,
                 upper_bound=None, bias_correction=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        self.bias_correction = bias_correction
        self.aggregate_num = 45

    def create_state(self, index, weight):
        return _zeros_like(weight, 2)   # mean, variance

    def update(self, index, weight, grad, state):
        if isinstance(index, (list, tuple)):
            for i, w, g, s in zip(index, weight, grad, state):
                self.update(i, w, g, s)
            return
        lr, wd = self._begin_update(index, weight, grad)
        self._step(self._index_update_count[index], weight._data, grad._data, state, lr, wd, weight._ctx.xp)

    def update_multi_precision(self, index, weight, grad, state):
        if isinstance(index, (list, tuple)):
            for i, w, g, s in zip(index, weight, grad, state):
                self.update_multi_precision(i, w, g, s)
            return
        if not (self.multi_precision and weight.dtype == np.float16):
            return self.update(index, weight, grad, state)
        lr, wd = self._begin_update(index, weight, grad)
        master, mean_var = state
        self._step(self._index_update_count[index], master._data, grad._data.astype(np.float32),
                   mean_var, lr, wd, weight._ctx.xp)
        _write(weight, master._data.astype(weight._data.dtype))

    def _step(self, t, w, grad, state, lr, wd, xp):
        dt = w.dtype.type
        g = grad * dt(self.rescale_grad)
        if _clip_on(self.clip_gradient):
            g = xp.clip(g, dt(-self.clip_gradient), dt(self.clip_gradient))
        mean, var = state[0]._data, state[1]._data
        beta1, beta2 = dt(self.beta1), dt(self.beta2)
        mean[...] = beta1 * mean + (dt(1) - beta1) * g
        var[...] = beta2 * var + (dt(1) - beta2) * g * g
        if self.bias_correction:
            r = (mean / (dt(1) - beta1 ** t)) / (xp.sqrt(var / (dt(1) - beta2 ** t)) + dt(self.epsilon))
        else:
            r = mean / (xp.sqrt(var) + dt(self.epsilon))
        r = r + dt(wd) * w
        r1 = dt(xp.sqrt((w * w).sum()))
        r2 = dt(xp.sqrt((r * r).sum()))
        # the kernel's bounds apply when >= 0 (MXNet passes them only when truthy)
        if self.lower_bound and self.lower_bound >= 0:
            r1 = max(r1, dt(self.lower_bound))
        if self.upper_bound and self.upper_bound >= 0:
            r1 = min(r1, dt(self.upper_bound))
        ratio = dt(1) if r1 == 0 or r2 == 0 else r1 / r2
        w -= dt(lr) * ratio * r
