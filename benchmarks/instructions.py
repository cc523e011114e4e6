"""Instructions per training step, counted by valgrind: the glue's cost without the machine's noise.

Run ``python benchmarks/instructions.py`` (``--steps N``, default 50). Each variant's step runs in a
child process under ``valgrind --tool=cachegrind`` twice, once with no steps and once with N, after
the same warm-up; the difference over N is the step's instruction count, the same to about 1% run to
run. On a shared machine a timing can move by half between two runs, so a change of a few percent
in Python glue shows here and nowhere else. Instructions are not time: numpy's and BLAS's loops do
more per instruction than the interpreter's, so a ratio here is a floor for the timed one
(``engine.py``, ``compiled.py``, ``gluon.py`` give those). Needs valgrind (``apt-get install valgrind``).
"""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES, BATCH = (64, 32, 10), 32
VARIANTS = ("numpy", "compiled Module", "imperative nd", "Gluon hybridized", "Gluon nd same step")


def _step(kind):
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(HERE, ".."))
    from compiled import module_step_factory
    from engine import make_mlp, numpy_step_factory, trainkit_step_factory
    from gluon import gluon_step_factory, nd_same_step_factory
    factories = {"numpy": numpy_step_factory, "compiled Module": module_step_factory,
                 "imperative nd": trainkit_step_factory,
                 "Gluon hybridized": lambda w, x, y: gluon_step_factory(w, x, y, True),
                 "Gluon nd same step": nd_same_step_factory}
    return factories[kind](*make_mlp(SIZES, BATCH))


def _child(kind, steps):
    step = _step(kind)
    for _ in range(5):  # traces, generated code and first allocations happen in both runs
        step()
    for _ in range(steps):
        step()


def _instructions(kind, steps):
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
           sys.executable, os.path.abspath(__file__), "--child", kind, str(steps)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stderr
    return int(re.search(r"I\s+refs:\s+([\d,]+)", out).group(1).replace(",", ""))


def main():
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        return _child(sys.argv[i + 1], int(sys.argv[i + 2]))
    if shutil.which("valgrind") is None:
        sys.exit("benchmarks/instructions.py counts instructions with valgrind, which is not installed: "
                 "install it (apt-get install valgrind) or use the timed benchmarks (engine.py, compiled.py).")
    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 50
    print(f"instructions per training step, {'-'.join(map(str, SIZES))} batch {BATCH} ({steps} steps, valgrind)")
    counts = {}
    for kind in VARIANTS:
        counts[kind] = (_instructions(kind, steps) - _instructions(kind, 0)) / steps
        ratio = counts[kind] / counts["numpy"]
        print(f"{kind:<22} {counts[kind] / 1e3:9.1f} k instructions   ratio to numpy {ratio:5.2f}x")
    print(f"Gluon hybridized / nd same step: {counts['Gluon hybridized'] / counts['Gluon nd same step']:.3f}x")


if __name__ == "__main__":
    main()
