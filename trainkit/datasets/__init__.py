"""Small data sets shipped inside the package (see README.md beside this file)."""
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent


def load_digits():
    """The UCI handwritten digits: ``(X, y)`` with X uint8 ``(1797, 64)`` in 0..16, y int64 ``(1797,)``.

    Each row of X is an 8x8 image read row by row; y is the digit 0..9.
    """
    with np.load(_HERE / "digits.npz") as f:
        return f["X"], f["y"].astype(np.int64)
