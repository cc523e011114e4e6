"""The seed tutorial's code, run verbatim in a fresh process, prints exactly what MXNet 1.9.1 prints."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_seed_examples_stdout_matches_mxnet_byte_for_byte():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "seed_examples.py")],
                            capture_output=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr.decode()
    with open(os.path.join(ROOT, "tests", "data", "seed_examples.out"), "rb") as f:
        expected = f.read()
    assert result.stdout == expected
