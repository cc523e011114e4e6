"""BLAS threads: trainkit's default choice against one thread and all threads, in one process.

Run ``python benchmarks/threads.py`` (``--quick`` for fewer rounds, ``--only "batch 32"`` for
the configs whose name contains that text, ``--sweep`` for single products over a range of
sizes, which is how ``blas_threads.small_work()`` was chosen).
Run it with no OPENBLAS_NUM_THREADS/OMP_NUM_THREADS set: with one, trainkit leaves OpenBLAS
alone and the three columns are the same.

Each config is a training step (engine.py's MLPs) or a whole ``Trainer.fit`` (the default
recipe, digits). The three settings are interleaved round by round, so a change in the
machine's load hits all three alike (the order rotates); the medians are compared and the spread (fastest and
slowest round over the better setting's median) is printed, because on a shared machine
a threaded product's time jumps from round to round. Target: default within 10% of the
better of the other two.
"""
import inspect
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), HERE]
from trainkit import blas_threads  # noqa: E402
from trainkit.ops import nn as _nn  # noqa: E402


def _wire_products():
    """Until ops/nn.py's forwards call blas_threads themselves, route them through it here, so this
    measures the default as it will be. Returns whether it had to (printed in the header)."""
    if "blas_threads" in inspect.getsource(_nn._fc_fwd):
        return False

    def fc(x, w, *bias, num_hidden, flatten):
        x2 = x.reshape(x.shape[0], -1) if flatten and x.ndim != 2 else x
        out = blas_threads.matmul(x2, w.T)
        if bias:
            out += bias[0]
        return out

    def dot(a, b, transpose_a, transpose_b):
        return blas_threads.dot(a.T if transpose_a else a, b.T if transpose_b else b)

    def batch_dot(a, b, transpose_a, transpose_b):
        return blas_threads.matmul(a.swapaxes(-1, -2) if transpose_a else a, b.swapaxes(-1, -2) if transpose_b else b)

    # the module-level functions too: raw vjps (the compiled path's backward) call _dot_fwd by name
    _nn.FULLY_CONNECTED.forward, _nn._fc_fwd = fc, fc
    _nn.DOT.forward, _nn._dot_fwd = dot, dot
    _nn.BATCH_DOT.forward, _nn._batch_dot_fwd = batch_dot, batch_dot
    return True


SETTINGS = ("default", "1 thread", "all threads")


def _set(setting):
    blas_threads.set_max_threads({"default": None, "1 thread": 1, "all threads": blas_threads.info()["threads"]}
                                 [setting])


def compare(name, make_fn, rounds, inner):
    fn = make_fn()
    for setting in SETTINGS:  # warm-up, and the default's first timings
        _set(setting)
        for _ in range(max(2, inner)):
            fn()
    times = {s: [] for s in SETTINGS}
    for r in range(rounds):
        # rotate the order: a setting run just after "all threads" inherits its spinning workers
        for setting in SETTINGS[r % 3:] + SETTINGS[:r % 3]:
            _set(setting)
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            times[setting].append((time.perf_counter() - t0) / inner)
    _set("default")
    med = {s: statistics.median(v) for s, v in times.items()}
    best = min(med["1 thread"], med["all threads"])
    ratio = med["default"] / best
    lo, hi = min(times["default"]) / best, max(times["default"]) / best
    cells = "  ".join(f"{s} {med[s] * 1e3:8.3f} ms" for s in SETTINGS)
    print(f"{name:<34} {cells}   default/best {ratio:4.2f}x (spread {lo:.2f}-{hi:.2f}; target <= 1.10x: "
          f"{'ok' if ratio <= 1.10 else 'MISSED'})")
    return ratio


def mlp_step(sizes, batch):
    from engine import make_mlp, trainkit_step_factory
    weights, x, y = make_mlp(sizes, batch)
    return lambda: trainkit_step_factory(weights, x, y)


def recipe_fit():
    from trainer import digits, trainkit_fit
    data = digits()
    return lambda: (lambda: trainkit_fit(*data))


def sweep(rounds):
    """Single float32 products, one thread against all: where do threads start to pay?"""
    rng = np.random.default_rng(0)
    n_all = blas_threads.info()["threads"]
    print(f"single products, {n_all} threads vs 1 (median of {rounds} interleaved rounds)")
    for m, k, n in [(32, 64, 32), (32, 64, 128), (32, 128, 10), (128, 64, 128), (32, 256, 256), (64, 512, 128),
                    (32, 512, 512), (32, 784, 512), (128, 512, 512), (128, 784, 512), (256, 1024, 1024)]:
        a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
        inner = max(3, int(3e7 / (m * k * n)))
        t = {1: [], n_all: []}
        for _ in range(rounds):
            for threads in t:
                blas_threads.set_max_threads(threads)
                a @ b
                t0 = time.perf_counter()
                for _ in range(inner):
                    a @ b
                t[threads].append((time.perf_counter() - t0) / inner)
        m1, mn = statistics.median(t[1]), statistics.median(t[n_all])
        print(f"  {m:>4}x{k:<4} @ {k:>4}x{n:<4} work 2**{(m * k * n).bit_length() - 1:<3} 1 thread {m1 * 1e6:9.1f} us"
              f"  {n_all} threads {mn * 1e6:9.1f} us  ratio {mn / m1:5.2f} (spread {min(t[n_all]) / m1:.2f}-"
              f"{max(t[n_all]) / m1:.2f})")
    blas_threads.set_max_threads(None)


def main():
    quick = "--quick" in sys.argv
    rounds = 5 if quick else 15
    wired = _wire_products()
    info = blas_threads.info()
    print(f"BLAS threads  (numpy {np.__version__}; {info['library'] or 'no OpenBLAS'}; {info['threads']} threads "
          f"at start; mode: {info['mode']}{'; products routed through blas_threads here' if wired else ''})")
    if info["mode"] != "auto":
        print("trainkit does not choose threads in this process, so there is nothing to compare.")
        return
    if "--sweep" in sys.argv:
        sweep(rounds)
        return
    configs = [("MLP 784-512-512-10 batch 128", lambda: mlp_step((784, 512, 512, 10), 128), rounds, 3),
               ("MLP 784-512-512-10 batch 32", lambda: mlp_step((784, 512, 512, 10), 32), rounds, 6),
               ("MLP 64-32-10 batch 32", lambda: mlp_step((64, 32, 10), 32), rounds, 100),
               ("recipe mlp: Trainer.fit, digits", recipe_fit, 3 if quick else 7, 1)]
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    ok = [compare(name, make(), r, inner) for name, make, r, inner in configs if only in name]
    print(f"choices made by the default: {blas_threads.info()['choices'] or 'none (every product was small)'}")
    return all(r <= 1.10 for r in ok)


if __name__ == "__main__":
    main()
