"""The rest of ``mx.test_utils`` for dense CPU work: data makers, comparisons, optimizer and
context-consistency checks, environment helpers and test matrices.

Everything here is re-exported by ``trainkit.test_utils``; the names and results are
MXNet 1.9.1's (datasets: ``testing_data``; generator statistics: ``testing_stats``).
"""
import contextlib
import copy
import os
import platform
import sys

import numpy as np

from .io import DataIter
from .ndarray import ndarray as _nd

__all__ = ["default_numeric_eps", "effective_dtype", "get_etol", "random_uniform_arrays", "random_sample",
           "assign_each", "assign_each2", "create_2d_tensor", "create_vector", "get_identity_mat",
           "get_identity_mat_batch", "rand_coord_2d", "np_reduce", "checkShapes", "assert_allclose",
           "assert_almost_equal_with_err", "assert_almost_equal_ignore_nan", "retry", "list_gpus",
           "same_array", "discard_stderr", "DummyIter",
           "compare_ndarray_tuple", "compare_optimizer", "check_consistency", "same_symbol_structure",
           "collapse_sum_like", "is_cd_run", "is_aarch64_run", "has_tvm_ops", "is_op_runnable", "set_env_var",
           "locationError", "new_matrix_with_real_eigvals_2d", "new_matrix_with_real_eigvals_nd",
           "new_orthonormal_matrix_2d", "new_sym_matrix_with_real_eigvals_2d", "new_sym_matrix_with_real_eigvals_nd",
           "rand_sparse_ndarray", "create_sparse_array", "create_sparse_array_zd"]


def _tu():
    from . import test_utils
    return test_utils


def default_numeric_eps():
    """Finite-difference step per dtype (powers of two, so no bits are lost in ``x + eps``)."""
    return {np.dtype(np.float16): 1.0 / 2 ** 6, np.dtype(np.float32): 1.0 / 2 ** 9,
            np.dtype(np.float64): 1.0 / 2 ** 14}


def effective_dtype(dat):
    """The dtype that sets comparison tolerances for ``dat`` (its own dtype on CPU)."""
    return np.dtype(dat.dtype)


def get_etol(etol=None):
    """The error-rate threshold of ``assert_almost_equal_with_err`` (0 unless given)."""
    return 0 if etol is None else etol


# ----- data -------------------------------------------------------------------------------------
def random_uniform_arrays(*shapes, low=0.0, high=1.0, dtype=np.float32, **kwargs):
    """numpy arrays drawn from U[low, high) with numpy's global generator, one per shape (always a list)."""
    if kwargs:
        raise TypeError(f"Got unexpected argument/s : {kwargs.keys()}")
    return [np.random.uniform(low, high, size=s).astype(dtype) for s in shapes]


def random_sample(population, k):
    """``k`` elements of ``population`` in random order (numpy's global generator shuffles a copy)."""
    if not 0 <= k <= len(population):
        raise ValueError(f"random_sample needs 0 <= k <= {len(population)}, got k={k}.")
    population_copy = population[:]
    np.random.shuffle(population_copy)
    return population_copy[0:k]


def assign_each(the_input, function):
    """``function`` applied to every element of a numpy array (float64 result), or a copy if None."""
    if function is None:
        return np.array(the_input)
    return np.vectorize(function, otypes=[np.float64])(the_input).reshape(np.shape(the_input))


def assign_each2(input1, input2, function):
    """``function(a, b)`` element by element over two same-shaped arrays (float64), or a copy of input1."""
    if function is None:
        return np.array(input1)
    if np.shape(input1) != np.shape(input2):
        raise ValueError(f"assign_each2 needs equal shapes, got {np.shape(input1)} and {np.shape(input2)}.")
    return np.vectorize(function, otypes=[np.float64])(input1, input2).reshape(np.shape(input1))


def create_2d_tensor(rows, columns, dtype=np.int64):
    """An NDArray whose row i is filled with i."""
    rows_of_i = np.broadcast_to(np.arange(rows).reshape(rows, 1), (rows, columns))
    return _nd.array(rows_of_i, dtype=dtype)


def create_vector(size, dtype=np.int64):
    """``arange(size)`` as an NDArray."""
    return _nd.arange(0, size, dtype=dtype)


def get_identity_mat(size):
    """The ``size`` x ``size`` identity as a float32 NDArray."""
    return _nd.array(np.eye(size, dtype=np.float32))


def get_identity_mat_batch(size):
    """Two stacked identities, shape ``(2, size, size)``."""
    return _nd.array(np.stack([np.eye(size, dtype=np.float32)] * 2))


def rand_coord_2d(x_low, x_high, y_low, y_high):
    """A random integer point (x, y) with x in [x_low, x_high), y in [y_low, y_high)."""
    x = np.random.randint(x_low, x_high, dtype=np.int64)
    y = np.random.randint(y_low, y_high, dtype=np.int64)
    return x, y


def np_reduce(dat, axis, keepdims, numpy_reduce_func):
    """Reduce ``dat`` with ``numpy_reduce_func`` over ``axis`` (int, list or None), one axis at a time."""
    if isinstance(axis, int):
        axis = [axis]
    else:
        axis = list(axis) if axis is not None else range(len(dat.shape))
    ret = dat
    for i in reversed(sorted(axis)):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        keepdims_shape = list(dat.shape)
        for i in axis:
            keepdims_shape[i] = 1
        ret = ret.reshape(tuple(keepdims_shape))
    return ret


def collapse_sum_like(a, shape):
    """Sum numpy ``a`` over the axes that broadcasting to ``a.shape`` added to ``shape``."""
    if len(a.shape) < len(shape):
        raise ValueError(f"collapse_sum_like: shape {shape} has more axes than the array ({a.shape}).")
    if np.prod(shape) == 0 or a.size == 0:
        return np.zeros(shape, dtype=a.dtype)
    ndim_diff = len(a.shape) - len(shape)
    axes = list(range(ndim_diff))
    for i, s in enumerate(shape):
        if s != a.shape[i + ndim_diff]:
            if s != 1:
                raise ValueError(f"collapse_sum_like: {shape} does not broadcast to {a.shape}.")
            axes.append(i + ndim_diff)
    return np.sum(a, axis=tuple(axes)).reshape(shape)


# ----- comparisons ------------------------------------------------------------------------------
def checkShapes(a, b):  # noqa: N802 (MXNet's name)
    """Raise AssertionError unless ``a`` and ``b`` have the same shape."""
    if np.shape(a) != np.shape(b):
        raise AssertionError(f"Shape mismatch: {np.shape(a)} vs {np.shape(b)}")


def locationError(a, b, index, names, maxError=False):  # noqa: N802,N803 (MXNet's names)
    """A readable ``names[0][index]=... names[1][index]=...`` fragment for error messages."""
    a, b = np.asarray(_tu()._as_numpy(a)), np.asarray(_tu()._as_numpy(b))
    index = tuple(index) if isinstance(index, (tuple, list)) else index
    what = "Maximum error" if maxError else "Error"
    return f"{what} at location {index}: {names[0]}[{index}]={a[index]}, {names[1]}[{index}]={b[index]}"


def assert_allclose(a, b, rtol=1e-07, atol=0, equal_nan=True):
    """numpy's assert_allclose with MXNet's defaults (NaNs compare equal)."""
    np.testing.assert_allclose(_tu()._as_numpy(a), _tu()._as_numpy(b), rtol=rtol, atol=atol, equal_nan=equal_nan)


def assert_almost_equal_with_err(a, b, rtol=None, atol=None, etol=None, names=("a", "b"), equal_nan=False,
                                 mismatches=(10, 10)):
    """Like ``assert_almost_equal``, but passes while the fraction of mismatching elements is at most ``etol``."""
    etol = get_etol(etol)
    if etol <= 0:
        return _tu().assert_almost_equal(a, b, rtol=rtol, atol=atol, names=names, equal_nan=equal_nan)
    tu = _tu()
    rtol, atol = tu.get_tols(a, b, rtol, atol)
    a_np, b_np = np.asarray(tu._as_numpy(a)), np.asarray(tu._as_numpy(b))
    equals = np.isclose(a_np, b_np, rtol=rtol, atol=atol, equal_nan=equal_nan)
    err = 1 - np.count_nonzero(equals) / equals.size
    if err > etol:
        bad = np.argwhere(~equals)
        shown = "\n".join(locationError(a_np, b_np, tuple(i), names) for i in bad[:mismatches[0]])
        raise AssertionError(f"{100 * err:f}% of the elements differ (allowed {100 * etol:f}%) with rtol={rtol:e}, "
                             f"atol={atol:e}:\n{shown}")


def assert_almost_equal_ignore_nan(a, b, rtol=None, atol=None, names=("a", "b")):
    """``assert_almost_equal`` after zeroing the positions where either array is NaN."""
    tu = _tu()
    a = np.array(tu._as_numpy(a), copy=True)
    b = np.array(tu._as_numpy(b), copy=True)
    nan_mask = np.logical_or(np.isnan(a), np.isnan(b))
    a[nan_mask] = 0
    b[nan_mask] = 0
    tu.assert_almost_equal(a, b, rtol, atol, names)


def same_array(array1, array2):
    """True when two NDArrays share memory (a write to one shows in the other)."""
    tu = _tu()
    array1[:] += 1
    if not tu.same(array1.asnumpy(), array2.asnumpy()):
        array1[:] -= 1
        return False
    array1[:] -= 1
    return tu.same(array1.asnumpy(), array2.asnumpy())


def compare_ndarray_tuple(t1, t2, rtol=None, atol=None):
    """``assert_almost_equal`` over (nested tuples of) NDArrays; None on either side is skipped."""
    if t1 is None or t2 is None:
        return
    if isinstance(t1, tuple):
        for s1, s2 in zip(t1, t2):
            compare_ndarray_tuple(s1, s2, rtol, atol)
    else:
        _tu().assert_almost_equal(t1, t2, rtol=rtol, atol=atol)


def compare_optimizer(opt1, opt2, shape, dtype, w_stype="default", g_stype="default", rtol=1e-4, atol=1e-5,
                      compare_states=True, ntensors=1):
    """Run one update of ``opt1`` and ``opt2`` from the same random weight and gradient and
    compare states and weights (sparse ``w_stype``/``g_stype`` use dense arrays). A list of
    shapes updates ``ntensors`` weights at once with ``opt2`` (its aggregated path) and one
    by one with ``opt1``."""
    from .ndarray import random as _random
    for stype in (w_stype, g_stype):
        if stype not in ("default", "row_sparse", "csr"):
            raise ValueError(f"compare_optimizer: unknown storage type {stype!r}; use 'default'.")
    # trainkit has dense storage only: a 'row_sparse'/'csr' request compares dense arrays with
    # every row present, where lazy and dense updates agree
    ctx = _tu().default_context()
    if not isinstance(shape, list):
        if ntensors != 1:
            raise ValueError("compare_optimizer: ntensors > 1 needs a list of shapes.")
        w2 = _random.uniform(shape=shape, ctx=ctx, dtype=dtype)
        w1 = w2.copyto(ctx)
        g2 = _random.uniform(shape=shape, ctx=ctx, dtype=dtype)
        g1 = g2.copyto(ctx)
        state1 = opt1.create_state_multi_precision(0, w1)
        state2 = opt2.create_state_multi_precision(0, w2)
        if compare_states:
            compare_ndarray_tuple(state1, state2)
        opt1.update_multi_precision(0, w1, g1, state1)
        opt2.update_multi_precision(0, w2, g2, state2)
        if compare_states:
            compare_ndarray_tuple(state1, state2, rtol=rtol, atol=atol)
        _tu().assert_almost_equal(w1, w2, rtol=rtol, atol=atol)
        return
    w1 = tuple(_random.uniform(shape=s, ctx=ctx, dtype=dtype) for s in shape)
    g1 = tuple(_random.uniform(shape=s, ctx=ctx, dtype=dtype) for s in shape)
    w2, g2 = copy.deepcopy(w1), copy.deepcopy(g1)
    state2 = [opt2.create_state_multi_precision(0, w2[i]) for i in range(ntensors)]
    opt2.update_multi_precision(list(range(ntensors)), w2, g2, state2)
    for i in range(ntensors):
        state1 = opt1.create_state_multi_precision(i, w1[i])
        opt1.update_multi_precision(i, w1[i], g1[i], state1)
        if compare_states:
            compare_ndarray_tuple(state1, state2[i], rtol, atol)
        compare_ndarray_tuple(w1[i], w2[i], rtol, atol)


def same_symbol_structure(sym1, sym2):
    """True when two Symbols have the same operators, in the same order, with the same inputs."""
    import json
    nodes1, nodes2 = json.loads(sym1.tojson())["nodes"], json.loads(sym2.tojson())["nodes"]
    if len(nodes1) != len(nodes2):
        return False
    return all(n1["op"] == n2["op"] and n1["inputs"] == n2["inputs"] for n1, n2 in zip(nodes1, nodes2))


def check_consistency(sym, ctx_list, scale=1.0, grad_req="write", arg_params=None, aux_params=None, tol=None,
                      raise_on_err=True, ground_truth=None, equal_nan=False, use_uniform=False, rand_type=np.float64):
    """Run ``sym`` (or one symbol per entry) under every configuration of ``ctx_list``
    (dicts of ``ctx``, input shapes and ``type_dict``) and check that outputs and gradients
    agree with the most precise one. Returns the outputs and gradients of each run."""
    tu = _tu()
    if tol is None:
        tol = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-5,
               np.dtype(np.uint8): 0, np.dtype(np.int32): 0, np.dtype(np.int64): 0}
    elif isinstance(tol, (int, float)):
        tol = {np.dtype(t): tol for t in (np.float16, np.float32, np.float64, np.uint8, np.int32, np.int64)}
    syms = sym if isinstance(sym, list) else [sym] * len(ctx_list)
    if len(syms) != len(ctx_list):
        raise ValueError(f"check_consistency got {len(syms)} symbols for {len(ctx_list)} contexts.")
    output_names = syms[0].list_outputs()
    arg_names = syms[0].list_arguments()
    exe_list = []
    for s, ctx in zip(syms, ctx_list):
        if s.list_arguments() != arg_names or s.list_outputs() != output_names:
            raise ValueError("check_consistency: all symbols need the same arguments and outputs.")
        ctx = dict(ctx)
        exe_list.append(s.simple_bind(grad_req=grad_req, **ctx))
    arg_params = {} if arg_params is None else dict(arg_params)
    aux_params = {} if aux_params is None else dict(aux_params)
    for name, arr in exe_list[0].arg_dict.items():
        if name not in arg_params:
            values = (np.random.uniform(-0.5, 0.5, size=arr.shape) if use_uniform
                      else np.random.normal(size=arr.shape, scale=scale))
            arg_params[name] = values.astype(rand_type)
    for name, arr in exe_list[0].aux_dict.items():
        if name not in aux_params:
            aux_params[name] = 0
    for exe in exe_list:
        for name, arr in exe.arg_dict.items():
            arr[:] = _nd.array(np.asarray(tu._as_numpy(arg_params[name])), dtype=arr.dtype)
        for name, arr in exe.aux_dict.items():
            arr[:] = aux_params[name]
    dtypes = [np.dtype(exe.outputs[0].dtype) for exe in exe_list]
    max_idx = int(np.argmax([d.itemsize if d.kind == "f" else 0 for d in dtypes]))
    gt = ground_truth
    for exe in exe_list:
        exe.forward(is_train=False)
    if gt is None:
        gt = exe_list[max_idx].output_dict.copy()
    for i, exe in enumerate(exe_list):
        if i == max_idx and ground_truth is None:
            continue
        rtol = atol = tol[dtypes[i]]
        for name, arr in zip(output_names, exe.outputs):
            _compare_or_print(tu, gt[name], arr, rtol, atol, equal_nan, raise_on_err, name, ctx_list[i])
    if grad_req != "null":
        for exe in exe_list:
            exe.forward(is_train=True)
            exe.backward([_nd.array(tu._as_numpy(o)) for o in exe.outputs])
        if ground_truth is None:
            gt = dict(exe_list[max_idx].output_dict)
            gt.update({k: v for k, v in exe_list[max_idx].grad_dict.items() if v is not None})
        for i, exe in enumerate(exe_list):
            if i == max_idx and ground_truth is None:
                continue
            rtol = atol = tol[dtypes[i]]
            for name, arr in exe.grad_dict.items():
                if arr is not None and name in gt:
                    _compare_or_print(tu, gt[name], arr, rtol, atol, equal_nan, raise_on_err, name, ctx_list[i])
    return gt


def _compare_or_print(tu, expected, actual, rtol, atol, equal_nan, raise_on_err, name, ctx):
    try:
        tu.assert_almost_equal(expected, actual, rtol=rtol, atol=atol, equal_nan=equal_nan,
                               names=(f"{name} (ground truth)", f"{name} ({ctx})"))
    except AssertionError as err:
        if raise_on_err:
            raise
        print(f"check_consistency: {name} differs for {ctx}: {err}")


# ----- running tests ----------------------------------------------------------------------------
def retry(n):
    """Decorator: rerun a stochastic test up to ``n`` times while it raises AssertionError."""
    if n <= 0:
        raise ValueError(f"retry needs n > 0, got {n}.")

    def decorate(f):
        def wrapper(*args, **kwargs):
            for i in range(n):
                try:
                    f(*args, **kwargs)
                    return
                except AssertionError:
                    if i == n - 1:
                        raise
        wrapper.__name__ = f.__name__
        wrapper.__doc__ = f.__doc__
        return wrapper
    return decorate


@contextlib.contextmanager
def discard_stderr():
    """Silence stderr inside a ``with`` block: file descriptor 2 (C-level writes included) and
    the descriptor behind ``sys.stderr`` when something (pytest, a notebook) has moved it."""
    fds = {2}
    try:
        fds.add(sys.stderr.fileno())
    except (AttributeError, ValueError, OSError):
        pass
    sys.stderr.flush()
    with open(os.devnull, "w") as bit_bucket:
        saved = {fd: os.dup(fd) for fd in fds}
        try:
            for fd in fds:
                os.dup2(bit_bucket.fileno(), fd)
            yield
        finally:
            sys.stderr.flush()
            for fd, copy_fd in saved.items():
                os.dup2(copy_fd, fd)
                os.close(copy_fd)


def set_env_var(key, val, default_val=""):
    """Set environment variable ``key`` to ``val``; return its previous value (``default_val`` if unset)."""
    prev_val = os.environ.get(key, default_val)
    os.environ[key] = val
    return prev_val


def list_gpus():
    """``range(number of GPUs)``: empty without CuPy or a GPU."""
    from .base import MXNetError
    from .context import num_gpus
    try:
        return range(num_gpus())
    except MXNetError:      # no CuPy: no GPU arrays, so no GPUs to test on
        return range(0)


def is_cd_run():
    return os.environ.get("CD_JOB", 0) == "1"


def is_aarch64_run():
    return platform.machine() == "aarch64"


def has_tvm_ops():
    """False: trainkit has no TVM-generated operators."""
    return False


def is_op_runnable():
    """True: every trainkit operator runs on the current context."""
    return True


class DummyIter(DataIter):
    """Returns the first batch of ``real_iter`` forever (for speed tests)."""

    def __init__(self, real_iter):
        super().__init__()
        self.real_iter = real_iter
        self.provide_data = real_iter.provide_data
        self.provide_label = real_iter.provide_label
        self.batch_size = real_iter.batch_size
        self.the_batch = next(real_iter)

    def __iter__(self):
        return self

    def __next__(self):
        return self.the_batch

    next = __next__


# ----- well-conditioned matrices for linear-algebra tests ---------------------------------------
def new_matrix_with_real_eigvals_2d(n):
    """A random well-conditioned n x n matrix ``Q^-1 D Q`` with real eigenvalues in [-10, 10]."""
    while True:
        d = np.diag(np.random.uniform(-1.0, 1.0, n))
        v = np.random.uniform(-1., 1., n).reshape(n, 1)
        v = v / np.linalg.norm(v, axis=-2, keepdims=True)
        q = np.matmul(np.eye(n) - 2 * np.matmul(v, v.T), d)      # a Householder reflection, scaled
        if np.linalg.cond(q, 2) < 3:
            break
    d = np.diag(np.random.uniform(-10.0, 10.0, n))
    return np.matmul(np.matmul(np.linalg.inv(q), d), q)


def new_matrix_with_real_eigvals_nd(shape):
    """A stack of ``new_matrix_with_real_eigvals_2d`` matrices of ``shape`` (..., n, n)."""
    n = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return np.array([new_matrix_with_real_eigvals_2d(shape[-1]) for _ in range(n)]).reshape(shape)


def new_orthonormal_matrix_2d(n):
    """A random n x n orthonormal matrix (the Q of a QR factorisation)."""
    x = np.random.randn(n, n)
    return np.linalg.qr(np.matmul(x.T, x))[0]


def new_sym_matrix_with_real_eigvals_2d(n):
    """A random symmetric n x n matrix ``Q^T D Q`` with eigenvalues in [-10, 10]."""
    q = new_orthonormal_matrix_2d(n)
    d = np.diag(np.random.uniform(-10.0, 10.0, n))
    return np.matmul(np.matmul(q.T, d), q)


def new_sym_matrix_with_real_eigvals_nd(shape):
    """A stack of ``new_sym_matrix_with_real_eigvals_2d`` matrices of ``shape`` (..., n, n)."""
    n = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return np.array([new_sym_matrix_with_real_eigvals_2d(shape[-1]) for _ in range(n)]).reshape(shape)


def rand_sparse_ndarray(shape, stype, density=None, dtype=None, distribution=None, data_init=None,
                        rsp_indices=None, modifier_func=None, shuffle_csr_indices=False, ctx=None):
    """Sparse arrays are out of trainkit's scope (dense storage only)."""
    raise NotImplementedError(f"rand_sparse_ndarray: trainkit has dense arrays only; stype={stype!r} is not "
                              "supported. Use rand_ndarray(shape) for a dense array.")


create_sparse_array = create_sparse_array_zd = rand_sparse_ndarray
