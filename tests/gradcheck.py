"""Numerical gradient checks in float64, first and second order (HIPS autograd's check_grads idea)."""
import numpy as np

import trainkit as mx


def _scalarize(fn, weights_seed=0):
    """``x -> sum(fn(x) * w)`` for fixed random weights w, so every output element is checked."""
    cache = {}

    def scalar(*xs):
        out = fn(*xs)
        outs = out if isinstance(out, (list, tuple)) else [out]
        total = None
        for i, o in enumerate(outs):
            if i not in cache:
                cache[i] = np.random.default_rng(weights_seed + i).uniform(0.5, 1.5, o.shape)
            term = mx.nd.sum(o * mx.nd.array(cache[i], dtype=np.float64))
            total = term if total is None else total + term
        return total
    return scalar


def numeric_gradients(scalar_fn, arrays, eps=1e-6):
    grads = []
    for i, a in enumerate(arrays):
        base = a.asnumpy()
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            vals = []
            for step in (eps, -eps):
                shifted = base.copy()
                shifted[idx] += step
                args = list(arrays)
                args[i] = mx.nd.array(shifted, dtype=np.float64)
                vals.append(float(scalar_fn(*args).asnumpy().sum()))
            g[idx] = (vals[0] - vals[1]) / (2 * eps)
        grads.append(g)
    return grads


def analytic_gradients(scalar_fn, arrays, create_graph=False):
    xs = [mx.nd.array(a, dtype=np.float64) for a in arrays]
    for x in xs:
        x.attach_grad()
    with mx.autograd.record():
        y = scalar_fn(*xs)
    return mx.autograd.grad(y, xs, create_graph=create_graph), xs


def check_grads(fn, *arrays, order=2, rtol=1e-5, atol=1e-6, wrt=None):
    """Compare autograd with finite differences for ``fn`` at ``arrays`` up to ``order`` (1 or 2).

    ``wrt`` lists the argument positions to differentiate (default: all).
    """
    wrt = list(range(len(arrays))) if wrt is None else list(wrt)
    arrays = [mx.nd.array(a, dtype=np.float64) for a in arrays]

    def partial(*xs):
        full = list(arrays)
        for i, x in zip(wrt, xs):
            full[i] = x
        return fn(*full)

    scalar = _scalarize(partial)
    chosen = [arrays[i] for i in wrt]
    got, _ = analytic_gradients(scalar, chosen)
    want = numeric_gradients(scalar, chosen)
    for k, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=rtol, atol=atol,
                                   err_msg=f"first-order gradient of argument {wrt[k]}")
    if order < 2:
        return

    def grad_dot_v(*xs):
        xs_marked = list(xs)
        grads = mx.autograd.grad(scalar(*xs_marked), xs_marked, create_graph=True)
        # x * 0 keeps every input reachable when a gradient does not depend on it (linear ops)
        total = None
        for x in xs_marked:
            total = mx.nd.sum(x * 0) if total is None else total + mx.nd.sum(x * 0)
        for i, g in enumerate(grads):
            v = np.random.default_rng(100 + i).uniform(0.5, 1.5, g.shape)
            term = mx.nd.sum(g * mx.nd.array(v, dtype=np.float64))
            total = term if total is None else total + term
        return total

    def second_order_scalar(*xs):
        # inside the finite-difference loop the inputs are plain arrays: mark and record them
        marked = [mx.nd.array(x, dtype=np.float64) for x in xs]
        for x in marked:
            x.attach_grad()
        with mx.autograd.record():
            return grad_dot_v(*marked)

    xs = [mx.nd.array(a, dtype=np.float64) for a in chosen]
    for x in xs:
        x.attach_grad()
    with mx.autograd.record():
        h = grad_dot_v(*xs)
    got2 = mx.autograd.grad(h, xs)
    want2 = numeric_gradients(second_order_scalar, chosen)
    for k, (g, w) in enumerate(zip(got2, want2)):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=max(rtol, 1e-4), atol=max(atol, 1e-5),
                                   err_msg=f"second-order gradient of argument {wrt[k]}")
