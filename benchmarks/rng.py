"""trainkit.random against numpy's own generator: 16M float32 uniforms and normals.

Run ``python benchmarks/rng.py`` (``--quick`` for fewer rounds). Variants are
interleaved over several rounds after a warm-up; medians and the
trainkit/numpy ratio are printed. One BLAS thread, set before numpy loads,
as in benchmarks/engine.py.
"""
import os
import sys

if __name__ == "__main__":
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

N = 16_000_000


def _variants():
    from trainkit import random as tk_random
    rng = np.random.default_rng(0)
    return {
        "uniform": {"trainkit": lambda: tk_random.uniform(0.0, 1.0, (N,)),
                    "numpy": lambda: rng.random(N, dtype=np.float32)},
        "normal": {"trainkit": lambda: tk_random.normal(0.0, 1.0, (N,)),
                   "numpy": lambda: rng.standard_normal(N, dtype=np.float32)},
    }


def run(rounds=7):
    results = {}
    for name, variants in _variants().items():
        for fn in variants.values():      # warm-up: page in buffers, fill caches
            fn()
        times = {k: [] for k in variants}
        for _ in range(rounds):
            for k, fn in variants.items():
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        results[name] = med
        print(f"{N // 10**6}M {name:8s} trainkit {med['trainkit'] * 1e3:7.1f} ms   "
              f"numpy {med['numpy'] * 1e3:7.1f} ms   ratio {med['trainkit'] / med['numpy']:.2f}x")
    return results


if __name__ == "__main__":
    run(rounds=3 if "--quick" in sys.argv else 7)
