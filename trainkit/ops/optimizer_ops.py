"""MXNet's fused optimizer update operators (``sgd_update``, ``adam_update``, ...).

Each returns the updated weight (pass ``out=weight`` to update it in place, as
MXNet's optimizers do) and updates its state arrays (``mom``, ``mean``, ``var``,
``weight32``, ...) in place, as MXNet's mutable inputs are. The formulas are
MXNet 1.9.1's kernels (``src/operator/optimizer_op-inl.h``) step for step, in the
weight's dtype (float32 for the ``mp_*`` master copies), so results agree with
MXNet's to rounding. ``lazy_update`` only matters for sparse gradients and is
accepted. These are not differentiable (no autograd record).
"""
import numpy as np

from .table import operator
from ..base import MXNetError
from ..ndarray.ndarray import NDArray


def _num(x):
    return x._data


def _new(like, data):
    return NDArray(data.astype(like._data.dtype, copy=False), like._ctx)


def _clip(x, bound):
    """mshadow's clip: into [-bound, bound] when bound >= 0, else unchanged."""
    return np.clip(x, -bound, bound) if bound >= 0 else x


def _same_shapes(op, weight, **arrays):
    for role, a in arrays.items():
        if a.shape != weight.shape:
            raise MXNetError(f"{op}: {role} has shape {a.shape} but weight has shape {weight.shape}; every state "
                             f"array must have the weight's shape.")


def _f32(x):
    return _num(x).astype(np.float32)


def _sgd_mom_step(w, g, mom, lr, momentum, wd, rescale_grad, clip_gradient):
    """The SGD-with-momentum step shared by sgd_mom/mp_sgd_mom/multi_*: returns (new weight, new mom)."""
    mom = momentum * mom - lr * wd * w - lr * _clip(rescale_grad * g, clip_gradient)
    return w + mom, mom


# ----- SGD family ---------------------------------------------------------------------------------
@operator(inputs=("weight", "grad"))
def sgd_update(weight, grad, lr, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0, lazy_update=True, name=None):
    """``weight = (1 - lr*wd) * weight - lr * clip(rescale_grad * grad)``."""
    _same_shapes("sgd_update", weight, grad=grad)
    w = _num(weight)
    return _new(weight, (1.0 - lr * wd) * w - lr * _clip(rescale_grad * _num(grad), clip_gradient))


@operator(inputs=("weight", "grad", "mom"))
def sgd_mom_update(weight, grad, mom, lr, momentum=0.0, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0,
                   lazy_update=True, name=None):
    """``mom = momentum*mom - lr*wd*weight - lr*clip(rescale_grad*grad)``; ``weight = weight + mom``."""
    _same_shapes("sgd_mom_update", weight, grad=grad, mom=mom)
    w, m = _sgd_mom_step(_num(weight), _num(grad), _num(mom), lr, momentum, wd, rescale_grad, clip_gradient)
    _num(mom)[...] = m
    return _new(weight, w)


@operator(inputs=("weight", "grad", "weight32"))
def mp_sgd_update(weight, grad, weight32, lr, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0, lazy_update=True,
                  name=None):
    """sgd_update on the float32 master copy ``weight32`` (updated in place); returns it in the weight's dtype."""
    _same_shapes("mp_sgd_update", weight, grad=grad, weight32=weight32)
    w = (1.0 - lr * wd) * _num(weight32) - lr * _clip(rescale_grad * _f32(grad), clip_gradient)
    _num(weight32)[...] = w
    return _new(weight, w)


@operator(inputs=("weight", "grad", "mom", "weight32"))
def mp_sgd_mom_update(weight, grad, mom, weight32, lr, momentum=0.0, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0,
                      lazy_update=True, name=None):
    """sgd_mom_update on the float32 master copy ``weight32``; ``mom`` and ``weight32`` are updated in place."""
    _same_shapes("mp_sgd_mom_update", weight, grad=grad, mom=mom, weight32=weight32)
    w, m = _sgd_mom_step(_num(weight32), _f32(grad), _num(mom), lr, momentum, wd, rescale_grad, clip_gradient)
    _num(mom)[...] = m
    _num(weight32)[...] = w
    return _new(weight, w)


def _nag_step(w, g, mom, lr, momentum, wd, rescale_grad, clip_gradient, decay_new_weight=False):
    g = _clip(rescale_grad * g, clip_gradient)
    mom = momentum * mom
    new_w = w - mom + (momentum + 1) * (mom - lr * (g + wd * w))
    # MXNet's mixed-precision kernel decays the momentum with the *updated* weight; kept for identical results
    return new_w, mom - lr * (g + wd * (new_w if decay_new_weight else w))


@operator(inputs=("weight", "grad", "mom"))
def nag_mom_update(weight, grad, mom, lr, momentum=0.0, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0, name=None):
    """Nesterov momentum, MXNet's form: ``mom = momentum*mom - lr*(clip(rescale_grad*grad) + wd*weight)``,
    ``weight = weight + momentum*mom_new - lr*(...)`` (written as MXNet's kernel computes it)."""
    _same_shapes("nag_mom_update", weight, grad=grad, mom=mom)
    w, m = _nag_step(_num(weight), _num(grad), _num(mom), lr, momentum, wd, rescale_grad, clip_gradient)
    _num(mom)[...] = m
    return _new(weight, w)


@operator(inputs=("weight", "grad", "mom", "weight32"))
def mp_nag_mom_update(weight, grad, mom, weight32, lr, momentum=0.0, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0,
                      name=None):
    """nag_mom_update on the float32 master copy ``weight32`` (``mom`` and ``weight32`` updated in place)."""
    _same_shapes("mp_nag_mom_update", weight, grad=grad, mom=mom, weight32=weight32)
    w, m = _nag_step(_num(weight32), _f32(grad), _num(mom), lr, momentum, wd, rescale_grad, clip_gradient,
                     decay_new_weight=True)
    _num(mom)[...] = m
    _num(weight32)[...] = w
    return _new(weight, w)


@operator(inputs=("weight", "grad"))
def signsgd_update(weight, grad, lr, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0, name=None):
    """``weight = (1 - lr*wd) * weight - lr * sign(grad)`` (clip_gradient and rescale_grad have no effect)."""
    _same_shapes("signsgd_update", weight, grad=grad)
    return _new(weight, (1.0 - lr * wd) * _num(weight) - lr * np.sign(_num(grad)))


@operator(inputs=("weight", "grad", "mom"))
def signum_update(weight, grad, mom, lr, momentum=0.0, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0, wd_lh=0.0,
                  name=None):
    """``mom = momentum*mom - (1-momentum)*(wd*weight + clip(rescale_grad*grad))``;
    ``weight = (1 - lr*wd_lh) * weight + lr * sign(mom)``."""
    _same_shapes("signum_update", weight, grad=grad, mom=mom)
    w = _num(weight)
    m = momentum * _num(mom) - (1 - momentum) * wd * w - (1 - momentum) * _clip(rescale_grad * _num(grad),
                                                                                  clip_gradient)
    _num(mom)[...] = m
    return _new(weight, (1.0 - lr * wd_lh) * w + lr * np.sign(m))


# ----- adaptive methods --------------------------------------------------------------------------
@operator(inputs=("weight", "grad", "mean", "var"))
def adam_update(weight, grad, mean, var, lr, beta1=0.9, beta2=0.999, epsilon=1e-8, wd=0.0, rescale_grad=1.0,
                clip_gradient=-1.0, lazy_update=True, name=None):
    """``g = clip(rescale_grad*grad + wd*weight)``; ``mean``/``var`` the moving moments (in place);
    ``weight = weight - lr * mean / (sqrt(var) + epsilon)`` (no bias correction: the optimizer folds it into lr)."""
    _same_shapes("adam_update", weight, grad=grad, mean=mean, var=var)
    w = _num(weight)
    g = _clip(_num(grad) * rescale_grad + w * wd, clip_gradient)
    m = beta1 * _num(mean) + (1.0 - beta1) * g
    v = beta2 * _num(var) + (1.0 - beta2) * g * g
    _num(mean)[...] = m
    _num(var)[...] = v
    return _new(weight, w - lr * m / (np.sqrt(v) + epsilon))


@operator(inputs=("weight", "grad", "n"))
def rmsprop_update(weight, grad, n, lr, gamma1=0.95, epsilon=1e-8, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0,
                   clip_weights=-1.0, name=None):
    """``n = (1-gamma1) g² + gamma1 n``; ``weight = weight - lr * g / sqrt(n + epsilon)``, clipped to
    ±clip_weights when that is >= 0 (``g = clip(rescale_grad*grad + wd*weight)``)."""
    _same_shapes("rmsprop_update", weight, grad=grad, n=n)
    w = _num(weight)
    g = _clip(rescale_grad * _num(grad) + wd * w, clip_gradient)
    state = (1.0 - gamma1) * (g * g) + gamma1 * _num(n)
    _num(n)[...] = state
    return _new(weight, _clip(w - lr * (g / np.sqrt(state + epsilon)), clip_weights))


@operator(inputs=("weight", "grad", "n", "g", "delta"))
def rmspropalex_update(weight, grad, n, g, delta, lr, gamma1=0.95, gamma2=0.9, epsilon=1e-8, wd=0.0,
                       rescale_grad=1.0, clip_gradient=-1.0, clip_weights=-1.0, name=None):
    """Graves' RMSProp (``centered``): states ``n``, ``g``, ``delta`` updated in place;
    ``weight = weight + delta`` with ``delta = gamma2*delta - lr*grad/sqrt(n - g² + epsilon)``."""
    _same_shapes("rmspropalex_update", weight, grad=grad, n=n, g=g, delta=delta)
    w = _num(weight)
    gr = _clip(rescale_grad * _num(grad) + wd * w, clip_gradient)
    state_n = (1.0 - gamma1) * gr * gr + gamma1 * _num(n)
    state_g = (1.0 - gamma1) * gr + gamma1 * _num(g)
    d = gamma2 * _num(delta) - lr * gr / np.sqrt(state_n - state_g * state_g + epsilon)
    _num(n)[...] = state_n
    _num(g)[...] = state_g
    _num(delta)[...] = d
    return _new(weight, _clip(w + d, clip_weights))


@operator(inputs=("weight", "grad", "z", "n"))
def ftrl_update(weight, grad, z, n, lr, lamda1=0.01, beta=1.0, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0,
                name=None):
    """Follow the regularised leader (McMahan et al.); ``z`` and ``n`` updated in place."""
    _same_shapes("ftrl_update", weight, grad=grad, z=z, n=n)
    w = _num(weight)
    g = _clip(_num(grad) * rescale_grad, clip_gradient)
    n_old = _num(n)
    zz = _num(z) + g - (np.sqrt(n_old + g * g) - np.sqrt(n_old)) * w / lr
    nn = n_old + g * g
    _num(z)[...] = zz
    _num(n)[...] = nn
    new_w = (np.sign(zz) * lamda1 - zz) / ((beta + np.sqrt(nn)) / lr + wd) * (np.abs(zz) > lamda1)
    return _new(weight, new_w)


@operator(inputs=("weight", "grad", "d", "v", "z"))
def ftml_update(weight, grad, d, v, z, lr, t, beta1=0.6, beta2=0.999, epsilon=1e-8, wd=0.0, rescale_grad=1.0,
                clip_grad=-1.0, name=None):
    """Follow the moving leader (Zheng & Kwok) at step ``t``; ``d``, ``v`` and ``z`` updated in place."""
    _same_shapes("ftml_update", weight, grad=grad, d=d, v=v, z=z)
    w = _num(weight)
    g = _clip(rescale_grad * _num(grad) + wd * w, clip_grad)
    vv = beta2 * _num(v) + (1 - beta2) * g * g
    # the bias corrections in the weight's precision, as MXNet's kernel computes them (1 - β^t cancels badly)
    dt = w.dtype.type
    d_t = (1 - dt(beta1) ** dt(t)) / dt(lr) * (np.sqrt(vv / (1 - dt(beta2) ** dt(t))) + dt(epsilon))
    zz = beta1 * _num(z) + (1 - beta1) * g - (d_t - beta1 * _num(d)) * w
    _num(v)[...] = vv
    _num(z)[...] = zz
    _num(d)[...] = d_t
    return _new(weight, -zz / d_t)


# ----- LAMB ------------------------------------------------------------------------------------
def _lamb_direction(w, grad, mean, var, beta1, beta2, epsilon, t, bias_correction, wd, rescale_grad,
                    clip_gradient):
    g = _clip(grad * rescale_grad, clip_gradient)
    m = beta1 * _num(mean) + (1.0 - beta1) * g
    v = beta2 * _num(var) + (1.0 - beta2) * g * g
    _num(mean)[...] = m
    _num(var)[...] = v
    if bias_correction:
        # as MXNet: β^t in double from the float32 β, stored in the weight's type, then 1 - β^t in double
        dt = w.dtype.type
        m = (m / (1.0 - np.float64(dt(np.float64(np.float32(beta1)) ** t)))).astype(m.dtype)
        v = (v / (1.0 - np.float64(dt(np.float64(np.float32(beta2)) ** t)))).astype(v.dtype)
    return m / (np.sqrt(v) + epsilon) + wd * w


def _lamb_lr(lr, r1, r2, lower_bound, upper_bound):
    r1 = float(np.asarray(_num(r1)).reshape(-1)[0])
    r2 = float(np.asarray(_num(r2)).reshape(-1)[0])
    if lower_bound >= 0:
        r1 = max(r1, lower_bound)
    if upper_bound >= 0:
        r1 = min(r1, upper_bound)
    return lr if r1 == 0.0 or r2 == 0.0 else lr * r1 / r2


@operator(inputs=("weight", "grad", "mean", "var"))
def lamb_update_phase1(weight, grad, mean, var, t, wd, beta1=0.9, beta2=0.999, epsilon=1e-6, bias_correction=True,
                       rescale_grad=1.0, clip_gradient=-1.0, name=None):
    """LAMB's first phase: Adam's direction plus ``wd * weight`` (``mean``/``var`` updated in place).
    Feed it, with ``r1 = norm(weight)`` and ``r2 = norm(direction)``, to lamb_update_phase2."""
    _same_shapes("lamb_update_phase1", weight, grad=grad, mean=mean, var=var)
    g = _lamb_direction(_num(weight), _num(grad), mean, var, beta1, beta2, epsilon, t, bias_correction, wd,
                        rescale_grad, clip_gradient)
    return _new(weight, g)


@operator(inputs=("weight", "g", "r1", "r2"))
def lamb_update_phase2(weight, g, r1, r2, lr, lower_bound=-1.0, upper_bound=-1.0, name=None):
    """``weight - lr * (r1/r2) * g``, r1 clipped into [lower_bound, upper_bound] (bounds < 0 are off);
    plain ``lr`` when r1 or r2 is 0. ``r1`` and ``r2`` are arrays of shape (1,)."""
    _same_shapes("lamb_update_phase2", weight, g=g)
    return _new(weight, _num(weight) - _lamb_lr(lr, r1, r2, lower_bound, upper_bound) * _num(g))


@operator(inputs=("weight", "grad", "mean", "var", "weight32"))
def mp_lamb_update_phase1(weight, grad, mean, var, weight32, t, wd, beta1=0.9, beta2=0.999, epsilon=1e-6,
                          bias_correction=True, rescale_grad=1.0, clip_gradient=-1.0, name=None):
    """lamb_update_phase1 with the float32 master copy ``weight32``; the direction is float32."""
    _same_shapes("mp_lamb_update_phase1", weight, grad=grad, mean=mean, var=var, weight32=weight32)
    g = _lamb_direction(_num(weight32), _f32(grad), mean, var, beta1, beta2, epsilon, t, bias_correction, wd,
                        rescale_grad, clip_gradient)
    return NDArray(g.astype(np.float32, copy=False), weight._ctx)


@operator(inputs=("weight", "g", "r1", "r2", "weight32"))
def mp_lamb_update_phase2(weight, g, r1, r2, weight32, lr, lower_bound=-1.0, upper_bound=-1.0, name=None):
    """``weight32 - lr * (r1/r2) * g`` in the weight's dtype. As MXNet 1.9.1's kernel, ``weight32`` itself is
    left as it is (MXNet declares it mutable but does not write it)."""
    _same_shapes("mp_lamb_update_phase2", weight, g=g, weight32=weight32)
    return _new(weight, _num(weight32) - _lamb_lr(lr, r1, r2, lower_bound, upper_bound) * _num(g))


# ----- the multi-tensor forms ------------------------------------------------------------------------
def _groups(op, data, per, num_weights, extra=0):
    want = per * num_weights + extra
    if len(data) != want:
        raise MXNetError(f"{op}: got {len(data)} arrays, but num_weights={num_weights} needs {want} "
                         f"({per} per weight{', then lrs and wds' if extra else ''}).")
    return [data[i * per:(i + 1) * per] for i in range(num_weights)]


def _per_weight(op, values, role, num_weights):
    values = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    if len(values) != num_weights:
        raise MXNetError(f"{op}: {role} has {len(values)} values but num_weights={num_weights}.")
    return values


def _multi(op, data, lrs, wds, momentum, rescale_grad, clip_gradient, num_weights, has_mom, mixed, extra=0):
    per = 2 + has_mom + mixed
    groups = _groups(op, data, per, num_weights, extra)
    lrs = _per_weight(op, lrs, "lrs", num_weights)
    wds = _per_weight(op, wds, "wds", num_weights)
    outs = []
    for (weight, grad, *states), lr, wd in zip(groups, lrs, wds):
        mom = states[0] if has_mom else None
        w32 = states[-1] if mixed else None
        master = _num(w32) if mixed else _num(weight)
        g = _f32(grad) if mixed else _num(grad)
        m = _num(mom) if has_mom else 0.0
        w, new_mom = _sgd_mom_step(master, g, m, lr, momentum, wd, rescale_grad, clip_gradient)
        if has_mom:
            _num(mom)[...] = new_mom
        if mixed:
            _num(w32)[...] = w
        outs.append(_new(weight, w))
    return outs


def _n_weights(attrs):
    return int(attrs.get("num_weights", 1))


def _multi_op(op, has_mom, mixed, preloaded):
    """Build one of the eight multi-tensor operators; its signature is MXNet's (the table reads it)."""
    roles = "weight, grad" + (", mom" if has_mom else "") + (", weight32" if mixed else "")

    def body(data, lrs, wds, momentum, rescale_grad, clip_gradient, num_weights):
        if preloaded:
            if len(data) < 2:
                raise MXNetError(f"{op}: the last two arrays must be the learning rates and weight decays.")
            lrs, wds = _num(data[-2]).tolist(), _num(data[-1]).tolist()
        elif lrs is None or wds is None:
            raise MXNetError(f"{op} needs lrs=(...) and wds=(...), one value per weight.")
        return _multi(op, data, lrs, wds, momentum, rescale_grad, clip_gradient, int(num_weights), has_mom, mixed,
                      extra=2 if preloaded else 0)

    if preloaded and has_mom:
        def fn(*data, momentum=0.0, rescale_grad=1.0, clip_gradient=-1.0, num_weights=1, name=None):
            return body(data, None, None, momentum, rescale_grad, clip_gradient, num_weights)
    elif preloaded:
        def fn(*data, rescale_grad=1.0, clip_gradient=-1.0, num_weights=1, name=None):
            return body(data, None, None, 0.0, rescale_grad, clip_gradient, num_weights)
    elif has_mom:
        def fn(*data, lrs=None, wds=None, momentum=0.0, rescale_grad=1.0, clip_gradient=-1.0, num_weights=1,
               name=None):
            return body(data, lrs, wds, momentum, rescale_grad, clip_gradient, num_weights)
    else:
        def fn(*data, lrs=None, wds=None, rescale_grad=1.0, clip_gradient=-1.0, num_weights=1, name=None):
            return body(data, lrs, wds, 0.0, rescale_grad, clip_gradient, num_weights)
    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = (f"The SGD{' momentum' if has_mom else ''} update of ``num_weights`` weights at once: "
                  f"``data`` is ({roles}) for each weight"
                  + (", then the arrays of learning rates and weight decays" if preloaded else
                     "; ``lrs``/``wds`` give one value per weight")
                  + ". Returns the list of new weights (``out=`` the weights to update them in place).")
    return operator(inputs=("*data",), name=op, num_outputs=_n_weights)(fn)


multi_sgd_update = _multi_op("multi_sgd_update", False, False, False)
multi_sgd_mom_update = _multi_op("multi_sgd_mom_update", True, False, False)
multi_mp_sgd_update = _multi_op("multi_mp_sgd_update", False, True, False)
multi_mp_sgd_mom_update = _multi_op("multi_mp_sgd_mom_update", True, True, False)
preloaded_multi_sgd_update = _multi_op("preloaded_multi_sgd_update", False, False, True)
preloaded_multi_sgd_mom_update = _multi_op("preloaded_multi_sgd_mom_update", True, False, True)
preloaded_multi_mp_sgd_update = _multi_op("preloaded_multi_mp_sgd_update", False, True, True)
preloaded_multi_mp_sgd_mom_update = _multi_op("preloaded_multi_mp_sgd_mom_update", True, True, True)


@operator(inputs=("*data",), num_outputs=lambda attrs: 0)
def reset_arrays(*data, num_arrays=None, name=None):
    """Set every array of ``data`` to zero in place (Gluon's ``zero_grad``); returns an empty list, as MXNet's."""
    if num_arrays is None:
        raise MXNetError("reset_arrays: the required parameter num_arrays is missing; pass "
                         "num_arrays=len(arrays).")
    if len(data) != num_arrays:
        raise MXNetError(f"reset_arrays: got {len(data)} arrays, but num_arrays={num_arrays}; pass "
                         "num_arrays=len(arrays).")
    for a in data:
        _num(a)[...] = 0
    return []
