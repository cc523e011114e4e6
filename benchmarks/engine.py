"""Engine benchmarks: trainkit against the same maths hand-written in numpy, in one process.

Run ``python benchmarks/engine.py`` (add ``--quick`` for fewer rounds). Each
comparison interleaves the variants over several rounds after a warm-up and
reports medians and the trainkit/numpy ratio. Timings use one BLAS thread
(set before numpy is imported): on 2-core machines two-thread timings jump
between two speeds from process to process. ``--threads 2`` prints those too.
"""
import os
import sys

if __name__ == "__main__":
    threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = threads

import gc
import statistics
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from trainkit import autograd, nd  # noqa: E402


# ----- the MLP training step, both ways -----------------------------------------------------------
def make_mlp(sizes, batch, seed=0):
    rng = np.random.default_rng(seed)
    weights = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights.append(rng.normal(0, (2 / n_in) ** 0.5, (n_out, n_in)).astype(np.float32))
        weights.append(np.zeros(n_out, np.float32))
    x = rng.normal(0, 1, (batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    return weights, x, y


def trainkit_step_factory(weights, x, y, lr=0.01):
    params = [nd.array(w) for w in weights]
    for p in params:
        p.attach_grad()
    xs, ys = nd.array(x), nd.array(y)
    n_layers = len(params) // 2

    def step():
        with autograd.record():
            h = xs
            for i in range(n_layers):
                w, b = params[2 * i], params[2 * i + 1]
                h = nd.FullyConnected(h, w, b, num_hidden=w.shape[0])
                if i < n_layers - 1:
                    h = nd.relu(h)
            loss = -nd.pick(nd.log_softmax(h, axis=1), ys, axis=1).mean()
        loss.backward()
        for p in params:
            p -= lr * p.grad
    return step


def numpy_step_factory(weights, x, y, lr=0.01):
    params = [w.copy() for w in weights]
    n_layers = len(params) // 2
    rows = np.arange(x.shape[0])

    def step():
        acts = [x]
        for i in range(n_layers):
            w, b = params[2 * i], params[2 * i + 1]
            z = acts[-1] @ w.T
            z += b
            if i < n_layers - 1:
                np.maximum(z, 0, out=z)
            acts.append(z)
        z = acts.pop()
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = -(z[rows, y] - np.log(s[:, 0])).mean()  # noqa: F841 - computed as the user would
        g = e / s
        g[rows, y] -= 1
        g /= x.shape[0]
        # backward pass first, then the update: the structure of the trainkit code it is compared with
        grads = [None] * len(params)
        for i in reversed(range(n_layers)):
            w = params[2 * i]
            a = acts[i]
            grads[2 * i] = g.T @ a
            grads[2 * i + 1] = g.sum(axis=0)
            if i > 0:
                g = g @ w
                g *= a > 0
        for p, gp in zip(params, grads):
            p -= lr * gp
    return step


def compare(name, variants, rounds, inner, target=None):
    """Interleave the variants, ``inner`` calls each per round; print medians and ratio to the last."""
    for fn in variants.values():  # warm-up
        for _ in range(max(2, inner // 4)):
            fn()
    times = {k: [] for k in variants}
    for _ in range(rounds):
        for k, fn in variants.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            times[k].append((time.perf_counter() - t0) / inner)
    med = {k: statistics.median(v) for k, v in times.items()}
    names = list(variants)
    base = med[names[-1]]
    ratio = med[names[0]] / base
    # each round's own ratio: rounds run back to back, so this spread shows how much the machine's load moved
    per_round = [a / b for a, b in zip(times[names[0]], times[names[-1]])]
    # the fastest rounds' ratio: other processes only ever add time, so on a busy machine it is the steadier figure
    best = min(times[names[0]]) / min(times[names[-1]])
    verdict = "" if target is None else ("  (target <= %.2fx: %s)" % (target, "ok" if ratio <= target else "MISSED"))
    print(f"{name:<44} " + "  ".join(f"{k} {med[k] * 1e3:8.3f} ms" for k in names) + f"   ratio {ratio:5.2f}x"
          f" (rounds {min(per_round):.2f}-{max(per_round):.2f}; fastest rounds {best:.2f}x){verdict}")
    return ratio


def bench_mlp(sizes, batch, rounds, inner, target):
    weights, x, y = make_mlp(sizes, batch)
    compare(f"MLP {'-'.join(map(str, sizes))} batch {batch}",
            {"trainkit": trainkit_step_factory(weights, x, y), "numpy": numpy_step_factory(weights, x, y)},
            rounds, inner, target)


# ----- per-op overhead ----------------------------------------------------------------------------
def bench_op_chain(rounds, n_ops=100):
    x = nd.array(np.linspace(-0.5, 0.5, 16))
    x.attach_grad()
    c = nd.array(np.full(16, 0.5))
    data = np.linspace(-0.5, 0.5, 16).astype(np.float32)

    def chain():
        with autograd.record():
            h = x
            for i in range(n_ops // 4):
                h = nd.tanh(nd.exp(h * c + c))
        h.backward()

    def numpy_calls():
        h = data
        for i in range(n_ops // 4):
            h = np.tanh(np.exp(h * 0.5 + 0.5))

    for _ in range(20):
        chain()
    samples = []
    np_samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(20):
            chain()
        samples.append((time.perf_counter() - t0) / 20 / n_ops)
        t0 = time.perf_counter()
        for _ in range(20):
            numpy_calls()
        np_samples.append((time.perf_counter() - t0) / 20 / n_ops)
    per_op = statistics.median(samples) * 1e6
    np_op = statistics.median(np_samples) * 1e6
    print(f"{'per-op overhead, chain of 100 ops on (16,)':<44} {per_op:6.2f} us/op fwd+bwd  "
          f"(rounds {min(samples) * 1e6:.2f}-{max(samples) * 1e6:.2f}; numpy forward alone {np_op:4.2f} us/op; "
          f"target <= 4 us: {'ok' if per_op <= 4 else 'MISSED'})")


# ----- second derivative ------------------------------------------------------------------------------
def bench_second_derivative(rounds):
    x = nd.array(np.linspace(-1, 1, 1000))
    x.attach_grad()

    def second():
        with autograd.record():
            y = nd.sum(nd.exp(x) + x)
            (g,) = autograd.grad(y, [x], create_graph=True)
        g.backward()

    for _ in range(20):
        second()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(50):
            second()
        samples.append((time.perf_counter() - t0) / 50)
    us = statistics.median(samples) * 1e6
    np.testing.assert_allclose(x.grad.asnumpy(), np.exp(np.linspace(-1, 1, 1000)), rtol=1e-5)
    print(f"{'second derivative of sum(exp(x)+x), (1000,)':<44} {us:6.1f} us/call (target <= 150 us: "
          f"{'ok' if us <= 150 else 'MISSED'})")


# ----- peak memory ------------------------------------------------------------------------------------
def peak_memory(step_factory, weights, x, y, steps):
    gc.collect()
    tracemalloc.start()
    step = step_factory(weights, x, y)
    for _ in range(steps):
        step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def bench_memory(steps):
    weights, x, y = make_mlp((784, 512, 512, 10), 128)
    mine = peak_memory(trainkit_step_factory, weights, x, y, steps)
    ref = peak_memory(numpy_step_factory, weights, x, y, steps)
    ratio = mine / ref
    print(f"{'peak memory, %d steps of 784-512-512-10 b128' % steps:<44} trainkit {mine / 2**20:6.1f} MiB  "
          f"numpy {ref / 2**20:6.1f} MiB   ratio {ratio:5.2f}x  (target <= 1.3x: {'ok' if ratio <= 1.3 else 'MISSED'})")


def main():
    quick = "--quick" in sys.argv
    rounds = 5 if quick else 15
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i['num_threads']} thread(s)" for i in threadpool_info())
    except ImportError:
        blas = f"{os.environ.get('OPENBLAS_NUM_THREADS')} BLAS thread(s) requested"
    print(f"trainkit engine benchmarks  (numpy {np.__version__}; {blas})")
    bench_mlp((784, 512, 512, 10), 128, rounds, 5, 1.15)
    bench_mlp((784, 512, 512, 10), 32, rounds, 10, 1.25)
    bench_mlp((64, 32, 10), 32, rounds, 200, 2.0)
    bench_op_chain(rounds)
    bench_second_derivative(rounds)
    bench_memory(50 if quick else 200)


if __name__ == "__main__":
    main()
