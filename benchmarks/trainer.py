"""End-to-end benchmarks: ``Trainer.fit`` on the shipped digits against a hand-written numpy loop
with the same maths and epochs, the cost of ``import trainkit`` and the wall time of
``python -m trainkit +recipe=mlp`` (as this environment runs it and with a warm bytecode cache).

Run ``python benchmarks/trainer.py`` (``--quick`` for fewer rounds). The two training loops are
interleaved over several rounds and the medians compared, as in ``engine.py``. BLAS threads are
left as the process gets them (no environment variables): this measures what a user gets.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import trainkit as mx  # noqa: E402
from trainkit import Trainer  # noqa: E402
from trainkit.datasets import load_digits  # noqa: E402

EPOCHS, BATCH, HIDDEN, LR, MOMENTUM = 20, 32, 128, 0.1, 0.9


def digits():
    X, y = load_digits()
    X = X.astype(np.float32) / 16
    return X[:1400], y[:1400], X[1400:], y[1400:]


def trainkit_fit(X_train, y_train, X_val, y_val):
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=HIDDEN, name="fc1")
    net = mx.sym.FullyConnected(mx.sym.Activation(net, act_type="relu"), num_hidden=10, name="fc2")
    trainer = Trainer(mx.mod.Module(net, label_names=None), initializer=mx.init.Xavier(),
                      optimizer="sgd", optimizer_params={"learning_rate": LR, "momentum": MOMENTUM},
                      train_data=(X_train, y_train), val_data=(X_val, y_val), epochs=EPOCHS,
                      batch_size=BATCH)
    return trainer.fit()[-1]["val_accuracy"]


def numpy_fit(X_train, y_train, X_val, y_val, seed=0):
    """The same network, initialisation scheme, loss, metrics and SGD-with-momentum updates."""
    rng = np.random.default_rng(seed)
    sizes = [X_train.shape[1], HIDDEN, 10]
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(3.0 / ((n_in + n_out) / 2))  # Xavier, uniform, magnitude 3, "avg"
        params += [rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32), np.zeros(n_out, np.float32)]
    moms = [np.zeros_like(p) for p in params]

    def forward(x):
        h = np.maximum(x @ params[0].T + params[1], 0)
        return h, h @ params[2].T + params[3]

    def loss_and_probs(z, y):
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        return -np.log(p[np.arange(len(y)), y]).mean(), p

    n = len(X_train)
    for epoch in range(EPOCHS):
        order = rng.permutation(n)
        loss_sum = correct = 0.0
        for b in range(0, n, BATCH):
            sel = order[b:b + BATCH]
            x, y = X_train[sel], y_train[sel]
            h, z = forward(x)
            loss, p = loss_and_probs(z, y)
            loss_sum += loss * len(y)
            correct += (p.argmax(axis=1) == y).sum()
            g = p
            g[np.arange(len(y)), y] -= 1
            g /= len(y)
            gh = (g @ params[2]) * (h > 0)
            grads = [gh.T @ x, gh.sum(axis=0), g.T @ h, g.sum(axis=0)]
            for p_, m, gr in zip(params, moms, grads):
                m *= MOMENTUM
                m -= LR * gr
                p_ += m
        _, z = forward(X_val)
        val_loss, p = loss_and_probs(z, y_val)
        val_accuracy = (p.argmax(axis=1) == y_val).mean()
    return val_accuracy


def bench_fit(rounds):
    data = digits()
    variants = {"Trainer.fit": trainkit_fit, "numpy loop": numpy_fit}
    accuracy = {k: fn(*data) for k, fn in variants.items()}  # warm-up, and both must learn
    times = {k: [] for k in variants}
    for _ in range(rounds):
        for k, fn in variants.items():
            t0 = time.perf_counter()
            fn(*data)
            times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["Trainer.fit"] / med["numpy loop"]
    spread = (min(times["Trainer.fit"]) / med["numpy loop"], max(times["Trainer.fit"]) / med["numpy loop"])
    print(f"{'Trainer.fit, digits, %d epochs, batch %d' % (EPOCHS, BATCH):<44} "
          + "  ".join(f"{k} {med[k]:6.3f} s (val acc {accuracy[k]:.3f})" for k in variants)
          + f"   ratio {ratio:5.2f}x (spread {spread[0]:.2f}-{spread[1]:.2f}; target <= 1.30x: "
          f"{'ok' if ratio <= 1.3 else 'MISSED'})")


def _cli_walls(rounds, tmp, env):
    walls = []
    for _ in range(rounds):
        run_dir = os.path.join(tmp, f"run{len(os.listdir(tmp))}")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "trainkit", "+recipe=mlp", f"hydra.run.dir={run_dir}"],
                       cwd=ROOT, check=True, capture_output=True, env=env)
        walls.append(time.perf_counter() - t0)
    return walls


def bench_cli(rounds):
    """The command's wall time as this environment runs it, and with a warm bytecode cache: a pip
    install compiles trainkit's .pyc files, but a checkout run with PYTHONDONTWRITEBYTECODE=1 (as in
    some sandboxes and containers) recompiles every module on every start, about 0.3 s here."""
    with tempfile.TemporaryDirectory() as tmp:
        as_is = dict(os.environ)
        cached = dict(os.environ, PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"))
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        _cli_walls(1, tmp, cached)  # fills the cache
        walls = {"as is": [], "bytecode cached": []}
        for _ in range(rounds):  # interleaved, as the other comparisons
            walls["as is"] += _cli_walls(1, tmp, as_is)
            walls["bytecode cached"] += _cli_walls(1, tmp, cached)
    note = ", PYTHONDONTWRITEBYTECODE=1" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""
    for label, w in walls.items():
        med = statistics.median(w)
        print(f"{'python -m trainkit +recipe=mlp (' + label + note + ')':<44} {med:6.2f} s median of {rounds} "
              f"({min(w):.2f}-{max(w):.2f}; target < 1 s: {'ok' if med < 1 else 'MISSED'})")
        note = ""


def bench_import(rounds):
    """``import trainkit`` in fresh processes, less ``import numpy`` (which it needs anyway)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPYCACHEPREFIX=tmp)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        code = ("import time; t0 = time.perf_counter(); import numpy; t1 = time.perf_counter(); import trainkit; "
                "print(t1 - t0, time.perf_counter() - t1)")
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, env=env)
        pairs = [tuple(map(float, subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=env,
                                                 capture_output=True, text=True).stdout.split()))
                 for _ in range(rounds)]
    np_t, tk_t = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    print(f"{'import trainkit (after numpy, bytecode cached)':<44} {tk_t * 1e3:6.1f} ms median of {rounds} "
          f"(numpy itself {np_t * 1e3:.1f} ms)")


def main():
    quick = "--quick" in sys.argv
    print(f"trainkit end-to-end benchmarks  (numpy {np.__version__})")
    bench_fit(3 if quick else 7)
    bench_import(5 if quick else 15)
    bench_cli(3 if quick else 5)


if __name__ == "__main__":
    main()
