"""``mx.test_utils``: MXNet's helpers for testing operators and models.

Comparisons (``assert_almost_equal``, ``almost_equal``, ``same``) take NDArrays,
numpy arrays or numbers. Their default tolerances depend on the dtype, as in
MXNet 1.9.1 (the larger of the two operands' defaults is used):

=========  ======  ======
dtype      rtol    atol
=========  ======  ======
float16    1e-2    1e-1
float32    1e-4    1e-3
float64    1e-5    1e-20
integers   0       0
=========  ======  ======

The gradient checkers run a Symbol through trainkit's autograd
(``Symbol.eval`` under ``autograd.record``) and compare with central
differences computed in float64.
"""
import contextlib
import numbers
import os

import numpy as np

from . import autograd
from .context import Context, current_context
from .ndarray.ndarray import NDArray, array
from .util import use_np  # noqa: F401  (MXNet's test_utils re-exports it)

# No __all__, as in MXNet: ``from mxnet.test_utils import *`` also hands tests ``np``, ``mx``,
# ``os``, ``sys``, ... and every helper below.
import gzip  # noqa: E402,F401
import importlib  # noqa: E402
import json  # noqa: E402,F401
import logging  # noqa: E402,F401
import struct  # noqa: E402,F401
import sys  # noqa: E402,F401
import time  # noqa: E402,F401
import traceback  # noqa: E402,F401
from collections import OrderedDict  # noqa: E402,F401
from contextlib import contextmanager  # noqa: E402,F401

import numpy.random as rnd  # noqa: E402,F401
import numpy.testing as npt  # noqa: E402,F401

from .testing_data import *  # noqa: E402,F401,F403
from .testing_helpers import *  # noqa: E402,F401,F403
from .testing_stats import *  # noqa: E402,F401,F403

mx = importlib.import_module(__package__)


# ----- contexts and dtypes --------------------------------------------------------------------------
def default_context():
    """The context tests run on: the current default context."""
    return current_context()


def set_default_context(ctx):
    """Make ``ctx`` the default context (of this thread) for array creation and tests."""
    from . import context
    if not isinstance(ctx, Context):
        raise TypeError(f"set_default_context needs an mx.Context, got {type(ctx).__name__}.")
    context._default.ctx = ctx


def default_dtype():
    return np.float32


_INT_TOL = {np.dtype(t): 0 for t in (np.bool_, np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64)}


def default_rtols():
    """Default relative tolerance per dtype."""
    return {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-5, **_INT_TOL}


def default_atols():
    """Default absolute tolerance per dtype."""
    return {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-20, **_INT_TOL}


def get_tolerance(dat, tol, default_tol):
    """``tol`` if it is a number, else its entry (or the default) for ``dat``'s dtype."""
    if isinstance(tol, numbers.Number):
        return tol
    dtype = np.dtype(getattr(dat, "dtype", np.float64))
    tol = {} if tol is None else tol
    return tol.get(dtype, default_tol.get(dtype, 0))


def get_tols(x, y, rtol, atol):
    """The tolerances for comparing ``x`` and ``y``: the larger default of the two dtypes."""
    if isinstance(x, numbers.Number):
        x = np.array(x)
    if isinstance(y, numbers.Number):
        y = np.array(y)
    rtol = max(get_tolerance(x, rtol, default_rtols()), get_tolerance(y, rtol, default_rtols()))
    atol = max(get_tolerance(x, atol, default_atols()), get_tolerance(y, atol, default_atols()))
    return rtol, atol


def get_rtol(rtol=None, dtype=np.dtype(np.float64)):
    return default_rtols()[np.dtype(dtype)] if rtol is None else rtol


def get_atol(atol=None, dtype=np.dtype(np.float64)):
    return default_atols()[np.dtype(dtype)] if atol is None else atol


# ----- comparisons ----------------------------------------------------------------------------------
def _as_numpy(a):
    if isinstance(a, NDArray):
        return a.asnumpy()
    if isinstance(a, numbers.Number):
        return np.array(a)
    return np.asarray(a)


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True):
    """True when ``|a - b| <= atol + rtol * |b|`` everywhere (numpy's allclose)."""
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _as_numpy(a), _as_numpy(b)
    if not use_broadcast and a.shape != b.shape:
        return False
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def _max_violation(a, b, rtol, atol):
    """Index and size of the worst ``|a-b| / (atol + rtol*|b|)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.abs(a - b)
        tol = atol + rtol * np.abs(b)
        violation = diff / (tol + 1e-20)
    violation = np.where(np.isnan(violation), np.inf, violation)
    idx = np.unravel_index(np.argmax(violation), violation.shape) if violation.ndim else ()
    return idx, float(violation[idx])


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False, use_broadcast=True,
                        mismatches=(10, 10)):
    """Raise AssertionError unless ``a`` and ``b`` agree within ``rtol``/``atol`` (dtype defaults when None).

    The message gives the worst element (its index and both values), the share
    of elements out of tolerance and, for small arrays, both arrays.
    """
    rtol, atol = get_tols(a, b, rtol, atol)
    a_np, b_np = _as_numpy(a), _as_numpy(b)
    if not use_broadcast and a_np.shape != b_np.shape:
        raise AssertionError(f"Shapes differ: {names[0]} {a_np.shape} vs {names[1]} {b_np.shape}")
    try:
        a_b, b_b = np.broadcast_arrays(a_np, b_np)
    except ValueError:
        raise AssertionError(f"Shapes cannot be compared: {names[0]} {a_np.shape} vs {names[1]} {b_np.shape}") \
            from None
    if np.allclose(a_b, b_b, rtol=rtol, atol=atol, equal_nan=equal_nan):
        return
    a64, b64 = a_b.astype(np.float64), b_b.astype(np.float64)
    idx, rel = _max_violation(a64, b64, rtol, atol)
    bad = ~np.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    where = tuple(int(i) for i in idx)
    msg = (f"\nError {rel:f} exceeds tolerance rtol={rtol:e}, atol={atol:e} "
           f"(mismatch {100.0 * bad.mean():f}%).\n"
           f"Location of maximum error: {where}, {names[0]}={a64[idx]:.8f}, {names[1]}={b64[idx]:.8f}")
    if a_b.size <= 100:
        msg += f"\n {names[0]}: {a_np}\n {names[1]}: {b_np}"
    raise AssertionError(msg)


def same(a, b):
    """True when ``a`` and ``b`` are exactly equal (same shape and values)."""
    return bool(np.array_equal(_as_numpy(a), _as_numpy(b)))


def assert_exception(f, exception_type, *args, **kwargs):
    """Assert that ``f(*args, **kwargs)`` raises ``exception_type``."""
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{getattr(f, '__name__', f)} did not raise {exception_type.__name__}")


# ----- random data ----------------------------------------------------------------------------------
def random_arrays(*shapes):
    """Standard-normal float32 numpy arrays (one array when one shape is given)."""
    arrays = [np.array(np.random.randn(), dtype=default_dtype()) if len(s) == 0
              else np.random.randn(*s).astype(default_dtype()) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def rand_ndarray(shape, stype="default", density=None, dtype=None, modifier_func=None, shuffle_csr_indices=False,
                 distribution=None, ctx=None):
    """A standard-normal NDArray of ``shape`` (dense storage only)."""
    if stype != "default":
        raise NotImplementedError(f"rand_ndarray: trainkit has dense arrays only; stype={stype!r} is not "
                                  "supported. Use stype='default'.")
    return array(random_arrays(tuple(shape)), ctx=ctx or default_context(), dtype=dtype)


def rand_shape_2d(dim0=10, dim1=10):
    return int(np.random.randint(1, dim0 + 1)), int(np.random.randint(1, dim1 + 1))


def rand_shape_3d(dim0=10, dim1=10, dim2=10):
    return tuple(int(np.random.randint(1, d + 1)) for d in (dim0, dim1, dim2))


def rand_shape_nd(num_dim, dim=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return tuple(int(n) for n in np.random.randint(low, dim + 1, size=num_dim))


# ----- checking symbols -----------------------------------------------------------------------------
def _location_dict(sym, location, what="location"):
    names = sym.list_arguments()
    if isinstance(location, dict):
        unknown = set(location) - set(sym.list_inputs())
        if unknown:
            raise ValueError(f"{what} has names {sorted(unknown)} that are not inputs of the symbol; its arguments "
                             f"are {names}.")
        return dict(location)
    location = list(location)
    if len(location) != len(names):
        raise ValueError(f"{what} has {len(location)} arrays but the symbol has {len(names)} arguments {names}.")
    return dict(zip(names, location))


def _aux_dict(sym, aux_states):
    if aux_states is None:
        return {}
    if isinstance(aux_states, dict):
        return dict(aux_states)
    return dict(zip(sym.list_auxiliary_states(), aux_states))


def _run(sym, arrays, is_train):
    """Outputs of ``sym`` on ``arrays`` (NDArrays by name) with the given training flag, current recording."""
    plan = sym._plan()
    feed = plan.feed(arrays)
    with autograd._Saved(training=is_train):
        return plan.run(feed)


def _f64(arrays):
    return {k: array(_as_numpy(v), dtype=np.float64) for k, v in arrays.items()}


def numeric_grad(executor, location, aux_states=None, eps=1e-4, use_forward_train=True, dtype=np.float32):
    """Central-difference gradients of ``sum(executor(location))`` for each array in ``location``.

    ``executor`` is a callable taking ``{name: NDArray}`` and returning a scalar float
    (trainkit has no Executor objects; ``check_numeric_gradient`` builds it).
    """
    from .executor import Executor
    if isinstance(executor, Executor):
        return _executor_numeric_grad(executor, location, aux_states, eps, use_forward_train, dtype)
    grads = {}
    values = {k: _as_numpy(v).astype(np.float64) for k, v in location.items()}
    for name, value in values.items():
        grad = np.zeros_like(value)
        flat, gflat = value.reshape(-1), grad.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps / 2
            f_plus = executor({k: array(v, dtype=np.float64) for k, v in values.items()})
            flat[i] = old - eps / 2
            f_minus = executor({k: array(v, dtype=np.float64) for k, v in values.items()})
            flat[i] = old
            gflat[i] = (f_plus - f_minus) / eps
        grads[name] = grad
    return grads


def _executor_numeric_grad(executor, location, aux_states, eps, use_forward_train, dtype):
    """MXNet's form: central differences of ``sum(executor.outputs[0])``, perturbing ``executor.arg_dict``."""
    values = {k: np.array(_as_numpy(v), dtype=np.float64) for k, v in location.items()}
    grads = {k: np.zeros(v.shape, dtype=dtype) for k, v in values.items()}
    for k, v in values.items():
        executor.arg_dict[k][:] = v.astype(dtype)
    for k, v in values.items():
        if v.dtype.kind != "f":
            continue
        old = v.copy()
        flat = v.reshape(-1)
        for i in range(flat.size):
            results = []
            for delta in (eps / 2.0, -eps / 2.0):
                flat[i] = old.reshape(-1)[i] + delta
                executor.arg_dict[k][:] = v.astype(dtype)
                for key, val in (aux_states or {}).items():
                    executor.aux_dict[key][:] = _as_numpy(val)
                executor.forward(is_train=use_forward_train)
                results.append(executor.outputs[0].asnumpy().astype(np.float64))
            grads[k].reshape(-1)[i] = (results[0] - results[1]).sum() / eps
            flat[i] = old.reshape(-1)[i]
        executor.arg_dict[k][:] = old.astype(dtype)
    return grads


def check_numeric_gradient(sym, location, aux_states=None, numeric_eps=1e-3, rtol=1e-2, atol=None, grad_nodes=None,
                           use_forward_train=True, ctx=None, grad_stype_dict=None, dtype=np.float32):
    """Compare autograd's gradients of ``sym`` with central differences (both in float64).

    The scalar differentiated is ``sum(output0 * proj)`` for a fixed random
    projection ``proj``, as in MXNet. ``location`` gives the arguments (a list
    in ``list_arguments`` order or a dict); ``grad_nodes`` (default: every
    argument in ``location``) says whose gradients are checked. ``atol=None``
    uses the default for ``dtype`` (1e-3 for float32).
    """
    location = _f64(_location_dict(sym, location))
    aux = _f64(_aux_dict(sym, aux_states))
    if grad_nodes is None:
        grad_nodes = list(location)
    elif isinstance(grad_nodes, dict):
        # 'add' accumulates onto the buffer and 'null' leaves it alone: only the gradient itself is checked
        grad_nodes = [k for k, req in grad_nodes.items() if req != "null"]
        if not grad_nodes:
            with autograd.pause():
                _run(sym, {**location, **aux}, use_forward_train)
            return
    else:
        grad_nodes = list(grad_nodes)
    unknown = [n for n in grad_nodes if n not in location]
    if unknown:
        raise ValueError(f"grad_nodes {unknown} are not in location (which has {sorted(location)}).")
    if atol is None:
        atol = get_atol(None, dtype)
    # MXNet's signature defaults both to None (then per-dtype values); the differences here run in float64
    numeric_eps = 1e-3 if numeric_eps is None else numeric_eps
    rtol = 1e-2 if rtol is None else rtol

    ctx = ctx if ctx is not None else default_context()
    with autograd.pause():
        out0 = _run(sym, {**location, **aux}, use_forward_train)[0]
    proj = np.random.rand(*out0.shape) + 0.1

    # symbolic: one bound forward and a backward whose head gradient is proj (d sum(out0 * proj) / d out0)
    grads = {n: array(np.zeros(location[n].shape), ctx, np.float64) for n in grad_nodes}
    exe = sym.bind(ctx, args={k: v.copy() for k, v in location.items()}, args_grad=grads,
                   grad_req={n: "write" for n in grad_nodes}, aux_states={k: v.copy() for k, v in aux.items()} or None)
    outs = exe.forward(is_train=use_forward_train)
    heads = [array(proj, ctx, np.float64)] + [array(np.zeros(o.shape), ctx, o._data.dtype) for o in outs[1:]]
    exe.backward(heads)
    symbolic = {n: g.asnumpy() for n, g in grads.items()}

    # numeric: central differences, perturbing one element of a bound (gradient-free) executor in place
    evaluator = sym.bind(ctx, args={k: v.copy() for k, v in location.items()},
                         aux_states={k: v.copy() for k, v in aux.items()} or None)

    def objective():
        for key, value in aux.items():  # a training forward may update aux states: start each run alike
            evaluator.aux_dict[key][:] = value
        evaluator.forward(is_train=use_forward_train)
        return float((_as_numpy(evaluator.outputs[0]).astype(np.float64) * proj).sum())

    for name in grad_nodes:
        flat = evaluator.arg_dict[name]._data.reshape(-1)  # a view: the executor reads it on every forward
        numeric = np.zeros(flat.size)
        for i in range(flat.size):
            old = float(flat[i])
            flat[i] = old + numeric_eps / 2
            f_plus = objective()
            flat[i] = old - numeric_eps / 2
            f_minus = objective()
            flat[i] = old
            numeric[i] = (f_plus - f_minus) / numeric_eps
        assert_almost_equal(numeric.reshape(location[name].shape), symbolic[name], rtol, atol,
                            (f"NUMERICAL_{name}", f"BACKWARD_{name}"))


def check_symbolic_forward(sym, location, expected, rtol=None, atol=None, aux_states=None, ctx=None,
                           equal_nan=False, dtype=np.float32):
    """Run ``sym`` in predict mode and compare its outputs with ``expected`` (a list, or a dict by output name)."""
    arrays = {k: _as_nd(v, dtype) for k, v in _location_dict(sym, location).items()}
    arrays.update({k: _as_nd(v, dtype) for k, v in _aux_dict(sym, aux_states).items()})
    with autograd.pause():
        outputs = _run(sym, arrays, False)
    if isinstance(expected, dict):
        expected = [expected[n] for n in sym.list_outputs()]
    if len(expected) != len(outputs):
        raise ValueError(f"expected has {len(expected)} arrays but the symbol has {len(outputs)} outputs.")
    for name, exp, out in zip(sym.list_outputs(), expected, outputs):
        assert_almost_equal(out, exp, rtol, atol, (f"EXPECTED_{name}", f"FORWARD_{name}"), equal_nan=equal_nan)
    return outputs


def _as_nd(value, dtype):
    if isinstance(value, NDArray):
        return value
    value = np.asarray(value)
    if isinstance(dtype, str) and dtype == "asnumpy":  # MXNet's "keep each array's own dtype"
        return array(value, dtype=value.dtype)
    return array(value, dtype=value.dtype if value.dtype.kind == "f" else dtype)


def check_symbolic_backward(sym, location, out_grads, expected, rtol=None, atol=None, aux_states=None,
                            grad_req="write", ctx=None, grad_stypes=None, equal_nan=False, dtype=np.float32):
    """Bind ``sym``, run a training forward and ``backward(out_grads)``; compare the argument gradients.

    ``expected`` is a list in ``list_arguments`` order or a dict by name; only
    those arguments get gradient buffers, which start from random values:
    'write' must overwrite them, 'add' must add to them, 'null' must leave them
    (MXNet's checks). ``out_grads`` may be None for loss heads. Returns the
    gradient buffers, a dict of NDArrays.
    """
    from .context import cpu
    arrays = {k: _as_nd(v, dtype) for k, v in _location_dict(sym, location).items()}
    aux = {k: _as_nd(v, dtype) for k, v in _aux_dict(sym, aux_states).items()}
    names = sym.list_arguments()
    if isinstance(expected, dict):
        expected = dict(expected)
    else:
        expected = dict(zip(names, expected))
    if isinstance(grad_req, str):
        reqs = dict.fromkeys(names, grad_req)
    elif isinstance(grad_req, dict):
        reqs = dict(grad_req)
    else:
        reqs = dict(zip(names, grad_req))
    initial, grads = {}, {}
    for name in sorted(expected):
        want = _as_numpy(expected[name])
        init = np.random.normal(size=want.shape)
        buf_dtype = want.dtype if isinstance(dtype, str) and dtype == "asnumpy" else dtype
        grads[name] = array(init, dtype=buf_dtype)
        initial[name] = grads[name].asnumpy()
    exe = sym.bind(ctx if ctx is not None else cpu(), args=arrays, args_grad=grads, grad_req=reqs,
                   aux_states=aux or None)
    exe.forward(is_train=True)
    if out_grads is not None:
        if isinstance(out_grads, dict):
            out_grads = {k: _as_nd(v, dtype) for k, v in out_grads.items()}
        else:
            out_grads = [_as_nd(g, dtype) for g in _as_list(out_grads)]
    exe.backward(out_grads)
    for name, exp in expected.items():
        req = reqs.get(name, "null")
        if req == "write":
            assert_almost_equal(exp, grads[name], rtol, atol, (f"EXPECTED_{name}", f"BACKWARD_{name}"),
                                equal_nan=equal_nan)
        elif req == "add":
            assert_almost_equal(exp, grads[name].asnumpy() - initial[name], rtol, atol,
                                (f"EXPECTED_{name}", f"BACKWARD_{name}"), equal_nan=equal_nan)
        elif req == "null":
            assert_almost_equal(initial[name], grads[name], rtol, atol, (f"EXPECTED_{name}", f"BACKWARD_{name}"),
                                equal_nan=equal_nan)
        else:
            raise ValueError(f"Invalid grad_req {req} for argument {name}")
    return grads


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def simple_forward(sym, ctx=None, is_train=False, **inputs):
    """Bind ``sym`` to numpy ``inputs`` (by name), run forward; numpy output(s): one array or a list."""
    exe = sym.bind(ctx or default_context(), args={k: array(v) for k, v in inputs.items()})
    exe.forward(is_train=is_train)
    outputs = [x.asnumpy() for x in exe.outputs]
    return outputs[0] if len(outputs) == 1 else outputs


def check_speed(sym, location=None, ctx=None, N=20, grad_req=None, typ="whole", **kwargs):
    """Seconds per iteration of ``sym``: forward+backward (``typ='whole'``) or forward only (``'forward'``).

    ``location`` maps argument names to numpy arrays (random normal values of the
    ``kwargs`` shapes when None). One warm-up run precedes the ``N`` timed ones.
    """
    import time as _time
    if typ not in ("whole", "forward"):
        raise ValueError('typ can only be "whole" or "forward".')
    ctx = ctx or default_context()
    grad_req = grad_req or "write"
    if location is None:
        exe = sym.simple_bind(grad_req=grad_req, ctx=ctx, **kwargs)
        location = {k: np.random.normal(size=arr.shape, scale=1.0) for k, arr in exe.arg_dict.items()}
    else:
        if not isinstance(location, dict):
            raise TypeError(f'Expect dict, get "location"={location!r}')
        exe = sym.simple_bind(grad_req=grad_req, ctx=ctx, **{k: tuple(v.shape) for k, v in location.items()})
    for name, value in location.items():
        exe.arg_dict[name][:] = np.asarray(value).astype(exe.arg_dict[name]._data.dtype)

    def step():
        exe.forward(is_train=typ == "whole")
        if typ == "whole":
            exe.backward(out_grads=exe.outputs)

    step()
    tic = _time.time()
    for _ in range(N):
        step()
    return (_time.time() - tic) / N


# ----- environment ------------------------------------------------------------------------------------
@contextlib.contextmanager
def environment(*args):
    """Set environment variables inside a ``with`` block and restore them after.

    ``environment('NAME', 'value')`` or ``environment({'A': '1', 'B': None})``;
    a value of None unsets the variable.
    """
    if len(args) == 2:
        changes = {args[0]: args[1]}
    elif len(args) == 1 and isinstance(args[0], dict):
        changes = dict(args[0])
    else:
        raise ValueError("environment takes (name, value) or a dict of name to value.")
    saved = {k: os.environ.get(k) for k in changes}
    try:
        for k, v in changes.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = str(v)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
