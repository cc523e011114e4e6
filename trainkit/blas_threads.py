"""How many threads OpenBLAS uses for each of trainkit's matrix products.

OpenBLAS starts with one thread per core and uses them all for any product
above its own small cut-off. For the products a small network makes, waking
and syncing the extra threads costs more than it saves, and on a machine whose
cores are busy with other work a second thread can make a product several times
slower. So trainkit chooses per product:

- a product with fewer than ``small_work()`` multiply-adds (m * n * k) runs on one thread;
- a larger one is timed a few times on one thread and on all of them, per size
  class (powers of two of the work), and then runs on the faster; the choice is
  timed again every ``RETRY`` products of that class (less often while it holds), and a
  threaded product that stalls (another process took a core: over twice the one-thread
  time and ``STALL_SLACK`` more) switches its class back to one thread at once, so the choice
  follows the machine's load.

Overrides, strongest first: ``OPENBLAS_NUM_THREADS``, ``GOTO_NUM_THREADS`` or
``OMP_NUM_THREADS`` in the environment (trainkit then never changes the count),
then ``set_max_threads(n)`` (every product on ``n`` threads; ``None`` goes back to
choosing). Where no OpenBLAS is loaded (MKL, Accelerate, CuPy) nothing changes.
Between products OpenBLAS keeps the count trainkit chose last; ``info()`` says
what was found and chosen.
"""
import ctypes
import glob
import os
import threading
import time

import numpy as np

_ENV_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
# OpenBLAS builds prefix or suffix their symbols (numpy's wheels: scipy_openblas_*64_)
_SETTERS = ("openblas_set_num_threads", "scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads_64_")
_GETTERS = ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads_64_")

TRIALS = 5      # timings per setting before a size class chooses
RETRY = 256     # products of a size class before it is timed again; doubles each time the choice holds
MARGIN = 0.9    # all threads must take under 90% of one thread's time: their spinning after the
                # product (which the timing misses) slows the elementwise work that follows
STALL = 2.0     # a threaded product slower than twice the one-thread time ends the threaded choice ...
STALL_SLACK = 1e-3  # ... and than that plus 1 ms: a sub-millisecond product that loses a scheduler tick is
                    # not a worker waiting for a core, and each false stall cost threads hundreds of products

_lock = threading.Lock()


class _State:
    """What was found (filled on first use, so ``import trainkit`` never pays for the search)."""

    def __init__(self):
        self.searched = False
        self.path = None          # the OpenBLAS library, when one is loaded
        self.set = self.get = None
        self.all = 1              # OpenBLAS's own count at start: one per core, or the environment's
        self.reason = None        # why trainkit does not choose (None: it chooses)
        self.fixed = None         # set_max_threads(n)
        self.current = None       # the count trainkit set last
        self.small = 1 << 20      # work below this: one thread, untimed (benchmarks/threads.py --sweep)
        self.classes = {}         # size class -> _Class


_state = _State()


class _Class:
    """One size class's timings and choice; while the choice is all threads, also the context
    manager that watches each product for a stall (reused, so watching allocates nothing)."""

    __slots__ = ("times", "choice", "left", "retry", "one", "t0")

    def __init__(self):
        self.times = {}     # threads -> list of seconds (trial phase)
        self.choice = None  # threads, once chosen
        self.left = 0       # products until the next trial
        self.retry = RETRY  # the next value of ``left``
        self.one = 0.0      # the trial's mean time on one thread
        self.t0 = 0.0

    def __enter__(self):
        _use(_state.all)
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        # other processes took the cores after the trial: a worker thread waited for one. Back to one
        # thread at once, and time both again after RETRY products
        if time.perf_counter() - self.t0 > STALL * self.one + STALL_SLACK:
            # and wait twice as long as last time before trying threads again: on a machine whose load
            # comes and goes, each return to threads risks another stall
            self.retry = min(self.retry * 2, 1 << 16)
            self.choice, self.left = 1, self.retry


# ----- finding the library --------------------------------------------------------------------
def _candidates():
    """Paths of loaded libraries that may be OpenBLAS: the process map (Linux), then numpy's bundle."""
    paths = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rsplit(None, 1)[-1] if "/" in line else ""
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:  # no /proc (macOS, Windows): numpy's own bundled copies
        pass
    root = os.path.dirname(os.path.dirname(np.__file__))
    for pattern in ("numpy.libs/*openblas*", "numpy/.dylibs/*openblas*", "scipy_openblas*/lib/*openblas*"):
        paths += [p for p in sorted(glob.glob(os.path.join(root, pattern))) if p not in paths]
    return paths


def _bind(path):
    """(setter, getter) of the library at ``path`` if it is loaded already and is OpenBLAS, else None."""
    try:
        # RTLD_NOLOAD: only a copy the process already uses; loading a second one would change nothing
        lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_LOCAL)
    except OSError:
        return None
    setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
    getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
    if setter is None or getter is None:
        return None
    setter.argtypes, setter.restype = [ctypes.c_int], None
    getter.argtypes, getter.restype = [], ctypes.c_int
    return setter, getter


def _search():
    st = _state
    with _lock:
        if st.searched:
            return
        env = next((v for v in _ENV_VARS if os.environ.get(v, "").strip()), None)
        for path in _candidates():
            bound = _bind(path)
            if bound is not None:
                st.path, (st.set, st.get) = path, bound
                st.all = st.current = max(1, st.get())
                break
        if st.path is None:
            st.reason = "no OpenBLAS is loaded (numpy uses another BLAS): nothing to choose"
        elif env is not None:
            st.reason = f"{env}={os.environ[env]} is set: OpenBLAS keeps that count"
        elif st.all == 1:
            st.reason = "OpenBLAS has one thread (one core): nothing to choose"
        st.searched = True


# ----- choosing -------------------------------------------------------------------------------
def _use(n):
    st = _state
    if st.current != n:
        st.set(n)
        st.current = n


class _Timed:
    """Runs one trial product on ``n`` threads and files its time under its size class."""

    __slots__ = ("cls", "n", "t0")

    def __init__(self, cls, n):
        self.cls, self.n = cls, n

    def __enter__(self):
        _use(self.n)
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        _record(self.cls, self.n, time.perf_counter() - self.t0)


class _Nothing:
    __slots__ = ()

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        pass


_NOTHING = _Nothing()


def _record(cls, n, seconds):
    times = cls.times.setdefault(n, [])
    times.append(seconds)
    one, many = cls.times.get(1, ()), cls.times.get(_state.all, ())
    if n != 1 and one and seconds > STALL * sum(one) / len(one) + STALL_SLACK:
        # a stall during the trial already decides it: the remaining threaded trials could stall too
        cls.retry = min(cls.retry * 2, 1 << 16) if cls.choice == 1 else RETRY
        cls.choice, cls.times, cls.left, cls.one = 1, {}, cls.retry, sum(one) / len(one)
        return
    if len(one) >= TRIALS and len(many) >= TRIALS:
        # totals, not medians: when other processes hold the cores, most threaded products are fast but
        # some wait milliseconds for a descheduled worker, and those waits are what a run pays for
        choice = _state.all if sum(many) < MARGIN * sum(one) else 1
        # a choice that holds is checked half as often next time, so re-timing stays a small cost
        cls.retry = min(cls.retry * 2, 1 << 16) if choice == cls.choice else RETRY
        cls.choice, cls.times, cls.left, cls.one = choice, {}, cls.retry, sum(one) / len(one)


def _pick(work):
    """The context manager for one product of ``work`` multiply-adds (sets the threads, may time it)."""
    st = _state
    if not st.searched:
        _search()
    if st.reason is not None:
        return _NOTHING
    if st.fixed is not None:
        _use(st.fixed)
        return _NOTHING
    if work < st.small:
        _use(1)
        return _NOTHING
    key = int(work).bit_length()
    cls = st.classes.get(key)
    if cls is None:
        cls = st.classes[key] = _Class()
    if cls.choice is not None and cls.left > 0:
        cls.left -= 1
        if cls.choice == 1:
            _use(1)
            return _NOTHING
        return cls  # all threads, watched for stalls
    # trial: alternate one thread and all of them until both have TRIALS timings
    n = 1 if len(cls.times.get(1, ())) <= len(cls.times.get(st.all, ())) else st.all
    return _Timed(cls, n)


def threads_for(m, n, k):
    """Context manager around one (m x k) @ (k x n) product: picks OpenBLAS's threads for it."""
    return _pick(m * n * k)


_ndarray, _np_dot, _np_matmul = np.ndarray, np.dot, np.matmul  # bound once: dot() runs for every product


def dot(a, b):
    """``np.dot(a, b)`` of two 2-D arrays on the threads ``threads_for`` picks (other arrays: plain ``np.dot``)."""
    if type(a) is _ndarray and a.ndim == 2 and b.ndim == 2:
        m, k = a.shape
        work = m * k * b.shape[1]
        # matmul, not dot: the same sgemm, but np.dot's 2-D path is 3-5% slower on layer-sized products
        if work < _state.small and _state.current == 1:  # already on one thread (or fixed at one): go
            return _np_matmul(a, b)
        with _pick(work):
            return _np_matmul(a, b)
    return _np_dot(a, b)


def matmul(a, b):
    """``np.matmul(a, b)``; threads picked by one matrix pair's work (numpy multiplies a batch pair by pair)."""
    if type(a) is _ndarray and a.ndim >= 2 and b.ndim >= 2:
        shape = a.shape
        work = shape[-2] * shape[-1] * b.shape[-1]
        if work < _state.small and _state.current == 1:
            return _np_matmul(a, b)
        with _pick(work):
            return _np_matmul(a, b)
    return _np_matmul(a, b)


# ----- overrides and introspection ------------------------------------------------------------
def set_max_threads(n):
    """Run every product on ``n`` threads (trainkit stops choosing); ``None`` lets trainkit choose again.

    An ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` in the environment still wins: trainkit
    then leaves OpenBLAS alone and this has no effect.
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"set_max_threads({n!r}): pass a whole number of threads >= 1, or None to let "
                         "trainkit pick one thread or all of them per product.")
    _search()
    st = _state
    st.fixed = n
    if st.reason is None:
        _use(st.all if n is None else n)


def set_small_work(work):
    """Products with fewer multiply-adds than ``work`` run on one thread without timing (default 2**20)."""
    if isinstance(work, bool) or not isinstance(work, int) or work < 0:
        raise ValueError(f"set_small_work({work!r}): pass a number of multiply-adds (m * n * k), e.g. 2**20.")
    _state.small = work
    _state.classes.clear()


def small_work():
    return _state.small


def info():
    """What was found and what is chosen: library, threads at start, mode, choices per size class."""
    _search()
    st = _state
    if st.reason is not None:
        mode = st.reason
    elif st.fixed is not None:
        mode = f"fixed at {st.fixed} by set_max_threads"
    else:
        mode = "auto"
    choices = {f"2**{k - 1}-2**{k}": c.choice for k, c in sorted(st.classes.items()) if c.choice is not None}
    return {"library": st.path, "threads": st.all, "current": st.current, "mode": mode,
            "small_work": st.small, "choices": choices}


def _reset():
    """Forget every choice and search again (tests)."""
    global _state
    _state = _State()
