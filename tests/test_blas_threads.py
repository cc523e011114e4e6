"""blas_threads: finding OpenBLAS, one thread for small products, timed choices for large ones, overrides."""
import os
import subprocess
import sys

import numpy as np
import pytest

from trainkit import blas_threads as bt

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NUMPY_HAS_OPENBLAS = "openblas" in str(np.show_config(mode="dicts")["Build Dependencies"]["blas"]).lower()


class FakeBlas:
    """Stands in for the library: records every thread count set."""

    def __init__(self, threads=4):
        self.threads, self.calls = threads, []

    def set(self, n):
        self.threads = n
        self.calls.append(n)

    def get(self):
        return self.threads


class FakeClock:
    def __init__(self):
        self.now, self.cost = 0.0, {}

    def perf_counter(self):
        return self.now


@pytest.fixture
def fake(monkeypatch):
    """Module state wired to a fake 4-thread library and a clock the test advances."""
    bt._reset()
    blas, clock = FakeBlas(), FakeClock()
    st = bt._state
    st.searched, st.path, st.set, st.get, st.all, st.current = True, "fake", blas.set, blas.get, 4, 4
    monkeypatch.setattr(bt, "time", clock)
    yield blas, clock
    bt._reset()


def run_product(work, clock, seconds):
    """One product of ``work`` multiply-adds that takes ``seconds[threads]`` on the fake clock."""
    with bt._pick(work):
        clock.now += seconds[bt._state.current]


# ----- the real library ---------------------------------------------------------------------
@pytest.mark.skipif(not NUMPY_HAS_OPENBLAS, reason="this numpy is not linked against OpenBLAS")
def test_finds_numpys_openblas_and_sets_threads():
    bt._reset()
    try:
        info = bt.info()
        assert "openblas" in os.path.basename(info["library"]).lower()
        if info["mode"] != "auto":  # an OPENBLAS_NUM_THREADS in the test environment: left alone
            assert "is set" in info["mode"] or "one thread" in info["mode"]
            return
        bt.set_max_threads(1)
        assert bt._state.get() == 1
        assert bt.info()["mode"] == "fixed at 1 by set_max_threads"
        bt.set_max_threads(None)
        assert bt._state.get() == info["threads"]
        with bt.threads_for(8, 8, 8):
            assert bt._state.get() == 1  # small: one thread
    finally:
        if bt._state.set is not None:  # leave OpenBLAS as the rest of the session found it
            bt._state.set(bt._state.all)
        bt._reset()


def test_dot_and_matmul_give_numpys_values():
    rng = np.random.default_rng(0)
    a, b = rng.random((5, 7)), rng.random((7, 3))
    np.testing.assert_array_equal(bt.dot(a, b), np.dot(a, b))
    np.testing.assert_array_equal(bt.dot(a[0], b), np.dot(a[0], b))  # 1-D: passed straight through
    batch = rng.random((4, 5, 7))
    np.testing.assert_array_equal(bt.matmul(batch, b), np.matmul(batch, b))


def test_environment_variable_leaves_openblas_alone():
    code = ("from trainkit import blas_threads as bt; i = bt.info(); bt.set_max_threads(1); "
            "print(i['mode']); print(bt.info()['current'] == i['current'])")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    if NUMPY_HAS_OPENBLAS:
        assert out == ["OPENBLAS_NUM_THREADS=2 is set: OpenBLAS keeps that count", "True"]
    else:
        assert out[0].startswith("no OpenBLAS is loaded")


# ----- the choice, on a fake library --------------------------------------------------------
def test_small_products_run_on_one_thread_untimed(fake):
    blas, clock = fake
    for _ in range(3):
        assert bt._pick(bt.small_work() - 1) is bt._NOTHING
    assert blas.calls == [1]  # set once, then left there
    assert bt.info()["choices"] == {}


def test_large_products_choose_all_threads_when_they_are_faster(fake):
    blas, clock = fake
    work = 1 << 24
    for _ in range(2 * bt.TRIALS):
        run_product(work, clock, {1: 1.0, 4: 0.5})
    assert bt.info()["choices"] == {"2**24-2**25": 4}
    blas.calls.clear()
    run_product(work, clock, {1: 1.0, 4: 0.5})
    assert blas.threads == 4


def test_threads_must_win_by_the_margin(fake):
    blas, clock = fake
    for _ in range(2 * bt.TRIALS):
        run_product(1 << 24, clock, {1: 1.0, 4: 0.95})  # 5% faster is not enough: spinning workers cost too
    assert bt.info()["choices"] == {"2**24-2**25": 1}


def test_rare_long_waits_count(fake):
    """Mostly faster but one trial stalls (a descheduled worker): the total decides, so one thread wins."""
    blas, clock = fake
    stalls = iter([0.4, 0.4, 0.4, 0.4, 5.0])
    for i in range(2 * bt.TRIALS):
        with bt._pick(1 << 24):
            clock.now += 1.0 if bt._state.current == 1 else next(stalls)
    assert bt.info()["choices"] == {"2**24-2**25": 1}


def test_size_classes_choose_separately_and_retime(fake):
    blas, clock = fake
    for _ in range(2 * bt.TRIALS):
        run_product(1 << 21, clock, {1: 1.0, 4: 2.0})
        run_product(1 << 26, clock, {1: 1.0, 4: 0.3})
    assert bt.info()["choices"] == {"2**21-2**22": 1, "2**26-2**27": 4}
    cls = bt._state.classes[(1 << 21).bit_length()]
    for _ in range(bt.RETRY):  # the machine got quiet: threads now win, seen at the next trial
        run_product(1 << 21, clock, {1: 1.0, 4: 0.3})
    assert cls.choice == 1 and cls.left == 0
    for _ in range(2 * bt.TRIALS):
        run_product(1 << 21, clock, {1: 1.0, 4: 0.3})
    assert cls.choice == 4 and cls.retry == bt.RETRY  # a changed choice is checked again soon
    for _ in range(bt.RETRY + 2 * bt.TRIALS):
        run_product(1 << 21, clock, {1: 1.0, 4: 0.3})
    assert cls.choice == 4 and cls.retry == 2 * bt.RETRY  # a choice that held: checked half as often


def test_set_max_threads_fixes_every_product(fake):
    blas, clock = fake
    bt.set_max_threads(2)
    for work in (10, 1 << 24, 1 << 30):
        assert bt._pick(work) is bt._NOTHING
    assert blas.threads == 2 and bt.info()["mode"] == "fixed at 2 by set_max_threads"
    bt.set_max_threads(None)
    assert blas.threads == 4 and bt.info()["mode"] == "auto"


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_max_threads_rejects_non_counts(bad):
    with pytest.raises(ValueError, match=r"set_max_threads\(.*\): pass a whole number of threads >= 1, or None"):
        bt.set_max_threads(bad)


def test_set_small_work_moves_the_cut_off(fake):
    blas, clock = fake
    bt.set_small_work(1 << 30)
    assert bt._pick(1 << 24) is bt._NOTHING and blas.threads == 1
    with pytest.raises(ValueError, match="pass a number of multiply-adds"):
        bt.set_small_work(-5)


def test_no_openblas_changes_nothing(monkeypatch):
    bt._reset()
    monkeypatch.setattr(bt, "_candidates", lambda: [])
    try:
        assert bt._pick(1 << 30) is bt._NOTHING
        bt.set_max_threads(3)  # accepted, and nothing to set
        assert bt.info()["mode"].startswith("no OpenBLAS is loaded")
    finally:
        bt._reset()


def test_a_stalled_threaded_product_goes_back_to_one_thread(fake):
    blas, clock = fake
    for _ in range(2 * bt.TRIALS):
        run_product(1 << 24, clock, {1: 1.0, 4: 0.5})
    cls = bt._state.classes[(1 << 24).bit_length()]
    assert cls.choice == 4 and cls.one == 1.0
    run_product(1 << 24, clock, {1: 1.0, 4: 1.9})  # slower, but under STALL x one thread: kept
    assert cls.choice == 4
    run_product(1 << 24, clock, {1: 1.0, 4: 2.5})  # a worker waited for a core
    assert cls.choice == 1 and cls.left == 2 * bt.RETRY  # and threads wait twice as long for their next try
    run_product(1 << 24, clock, {1: 1.0, 4: 0.5})
    assert blas.threads == 1


def test_a_sub_millisecond_hiccup_is_not_a_stall(fake):
    """0.2 ms products: one that loses a scheduler tick (0.9 ms, over twice the one-thread time but within
    STALL_SLACK of it) keeps the threads; one that waits milliseconds for a core does not."""
    blas, clock = fake
    for _ in range(2 * bt.TRIALS):
        run_product(1 << 24, clock, {1: 2e-4, 4: 1e-4})
    cls = bt._state.classes[(1 << 24).bit_length()]
    assert cls.choice == 4
    run_product(1 << 24, clock, {1: 2e-4, 4: 9e-4})
    assert cls.choice == 4
    run_product(1 << 24, clock, {1: 2e-4, 4: 3e-3})
    assert cls.choice == 1


def test_a_stall_during_the_trial_ends_it(fake):
    blas, clock = fake
    run_product(1 << 24, clock, {1: 1.0, 4: 0.5})   # one thread first
    run_product(1 << 24, clock, {1: 1.0, 4: 30.0})  # the first threaded trial stalls
    cls = bt._state.classes[(1 << 24).bit_length()]
    assert cls.choice == 1 and cls.times == {} and cls.left == bt.RETRY
    blas.calls.clear()
    run_product(1 << 24, clock, {1: 1.0, 4: 0.5})
    assert blas.threads == 1
