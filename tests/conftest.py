import os
import sys

import numpy as np
import pytest

# gradcheck.py and other helpers live beside the tests
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope="module")
def blobs():
    """Three Gaussian blobs in 6 dimensions: 180 training and 60 validation samples (the Trainer tests)."""
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 2, (3, 6))
    y = rng.integers(0, 3, 240)
    X = (centers[y] + rng.normal(0, 1, (240, 6))).astype(np.float32)
    return X[:180], y[:180], X[180:], y[180:]
