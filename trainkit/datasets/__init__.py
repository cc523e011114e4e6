"""Small data sets shipped inside the package (see README.md beside this file).

Every loader reads a ``.npz`` file beside this module and nothing else: no downloads, no cache.
"""
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent

__all__ = ["load_digits", "load_diabetes", "load_breast_cancer"]


def load_digits():
    """The UCI handwritten digits: ``(X, y)`` with X uint8 ``(1797, 64)`` in 0..16, y int64 ``(1797,)``.

    Each row of X is an 8x8 image read row by row; y is the digit 0..9.
    """
    with np.load(_HERE / "digits.npz") as f:
        return f["X"], f["y"].astype(np.int64)


def load_diabetes(*, return_feature_names=False):
    """The diabetes data of Efron et al. (2004), unscaled: ``(X, y)``, X float64 ``(442, 10)``, y float64 ``(442,)``.

    The columns of X are age (years), sex (coded 1 or 2), bmi, bp (average blood pressure) and six
    blood serum measurements s1..s6, as recorded (not the centred and scaled copy that
    ``sklearn.datasets.load_diabetes()`` returns by default). y, an integer 25..346, is a
    quantitative measure of disease progression one year after baseline.

    With ``return_feature_names=True`` the result is ``(X, y, names)``, names a list of 10 str
    (``['age', 'sex', 'bmi', 'bp', 's1', ..., 's6']``).
    """
    with np.load(_HERE / "diabetes.npz") as f:
        X, y = f["X"], f["y"].astype(np.float64)
        names = [str(n) for n in f["feature_names"]] if return_feature_names else None
    return (X, y, names) if return_feature_names else (X, y)


def load_breast_cancer(*, return_feature_names=False):
    """The Breast Cancer Wisconsin (Diagnostic) data: ``(X, y)``, X float64 ``(569, 30)``, y int64 ``(569,)``.

    y is 0 for malignant (212 samples) and 1 for benign (357), as in scikit-learn. The 30
    columns are the mean, the standard error and the "worst" (mean of the three largest) of ten
    measurements of the cell nuclei in a digitised image of a fine needle aspirate: columns 0-9
    ``'mean radius'``..., 10-19 ``'radius error'``..., 20-29 ``'worst radius'``....

    With ``return_feature_names=True`` the result is ``(X, y, names)``, names a list of 30 str.
    """
    with np.load(_HERE / "breast_cancer.npz") as f:
        X, y = f["X"], f["y"].astype(np.int64)
        names = [str(n) for n in f["feature_names"]] if return_feature_names else None
    return (X, y, names) if return_feature_names else (X, y)
