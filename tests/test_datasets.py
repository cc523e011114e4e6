"""The data sets shipped in trainkit/datasets: contents, provenance checksums, no network, learnability.

The expected numbers were computed from the files scikit-learn 1.9.1 ships
(see trainkit/datasets/README.md); the learnability checks use plain numpy only.
"""
import hashlib
import socket
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import trainkit.datasets as ds
from trainkit.datasets import load_breast_cancer, load_diabetes, load_digits

HERE = Path(ds.__file__).resolve().parent

# sha256 of each shipped file, as listed in trainkit/datasets/README.md
FILE_SHA256 = {
    "digits.npz": "dff739c317c3d7a561cd1d11ae22ab4ac7f0557489c9e3935e97bec510d05737",
    "diabetes.npz": "935f9c8e796153f8f6d42aa0c5bf313979f1c80726d09c2b852df9f91bcafbd2",
    "breast_cancer.npz": "ea3c0ed35d6ed80e9ed22d292107ab4e6f4a46c30d84a32b210ea8fc08292498",
}

DIABETES_NAMES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
_MEASURES = ["radius", "texture", "perimeter", "area", "smoothness", "compactness",
             "concavity", "concave points", "symmetry", "fractal dimension"]
BREAST_CANCER_NAMES = ([f"mean {m}" for m in _MEASURES] + [f"{m} error" for m in _MEASURES]
                       + [f"worst {m}" for m in _MEASURES])


def _sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", sorted(FILE_SHA256))
def test_file_checksums_match_readme(name):
    assert _sha((HERE / name).read_bytes()) == FILE_SHA256[name]
    assert FILE_SHA256[name] in (HERE / "README.md").read_text(encoding="utf-8")


def test_files_hold_plain_arrays_only():
    # no object arrays: every file loads with allow_pickle=False (np.load's default)
    for name in FILE_SHA256:
        with np.load(HERE / name, allow_pickle=False) as f:
            for key in f.files:
                assert f[key].dtype != object


# ------------------------------------------------------------------ diabetes

def test_diabetes_shapes_dtypes_names():
    X, y = load_diabetes()
    assert X.shape == (442, 10) and X.dtype == np.float64
    assert y.shape == (442,) and y.dtype == np.float64
    X2, y2, names = load_diabetes(return_feature_names=True)
    assert names == DIABETES_NAMES and all(type(n) is str for n in names)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    with np.load(HERE / "diabetes.npz") as f:
        assert sorted(f.files) == ["X", "feature_names", "y"]
        assert f["y"].dtype == np.uint16


def test_diabetes_values_are_the_raw_ones():
    X, y = load_diabetes()
    # the first rows of sklearn's diabetes_data_raw.csv.gz / diabetes_target.csv.gz
    np.testing.assert_array_equal(X[0], [59, 2, 32.1, 101.0, 157, 93.2, 38.0, 4.0, 4.8598, 87])
    np.testing.assert_array_equal(X[1], [48, 1, 21.6, 87.0, 183, 103.2, 70.0, 3.0, 3.8918, 69])
    np.testing.assert_array_equal(y[:3], [151.0, 75.0, 141.0])
    assert np.all(y == np.round(y)) and y.min() == 25 and y.max() == 346
    assert y.mean() == pytest.approx(152.13348416289594, rel=1e-12)
    assert y.std() == pytest.approx(77.00574586945044, rel=1e-12)
    assert np.median(y) == 140.5
    np.testing.assert_allclose(X.mean(0), [48.51809954751131, 1.4683257918552035, 26.37579185520364,
                                           94.64701357466065, 189.14027149321268, 115.43914027149319,
                                           49.78846153846154, 4.070248868778281, 4.641410859728506,
                                           91.26018099547511], rtol=1e-12)
    np.testing.assert_array_equal(X.min(0), [19, 1, 18, 62, 97, 41.6, 22, 2, 3.2581, 58])
    np.testing.assert_array_equal(X.max(0), [79, 2, 42.2, 133, 301, 242.4, 99, 9.09, 6.107, 124])
    # sex is coded 1/2: 235 and 207 patients
    np.testing.assert_array_equal(np.unique(X[:, 1], return_counts=True), [[1, 2], [235, 207]])
    assert not np.isnan(X).any()


def test_diabetes_scaled_copy_is_derivable():
    # scikit-learn's default (scaled=True) copy: each column centred, divided by std * sqrt(n),
    # so every column has unit sum of squares
    X, _ = load_diabetes()
    Z = (X - X.mean(0)) / (X.std(0) * np.sqrt(len(X)))
    np.testing.assert_allclose((Z ** 2).sum(0), 1.0, rtol=1e-12)
    assert np.abs(Z).max() < 0.2


def test_diabetes_least_squares_generalises():
    # ordinary least squares with an intercept, 5 interleaved folds (sample i in fold i % 5);
    # out-of-fold R^2 is 0.50 (in-sample 0.52), and each fold's is 0.44..0.56
    X, y = load_diabetes()
    A = np.c_[np.ones(len(X)), X]
    idx = np.arange(len(X))
    pred = np.empty_like(y)
    for k in range(5):
        te, tr = idx[idx % 5 == k], idx[idx % 5 != k]
        w = np.linalg.lstsq(A[tr], y[tr], rcond=None)[0]
        pred[te] = A[te] @ w
        e = y[te] - pred[te]
        assert 1 - (e @ e) / ((y[te] - y[te].mean()) ** 2).sum() > 0.4
    e = y - pred
    assert 1 - (e @ e) / ((y - y.mean()) ** 2).sum() > 0.45


# ------------------------------------------------------------------ breast cancer

def test_breast_cancer_shapes_dtypes_names():
    X, y = load_breast_cancer()
    assert X.shape == (569, 30) and X.dtype == np.float64
    assert y.shape == (569,) and y.dtype == np.int64
    X2, y2, names = load_breast_cancer(return_feature_names=True)
    assert names == BREAST_CANCER_NAMES and all(type(n) is str for n in names)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    with np.load(HERE / "breast_cancer.npz") as f:
        assert sorted(f.files) == ["X", "feature_names", "target_names", "y"]
        assert list(f["target_names"]) == ["malignant", "benign"]
        assert f["y"].dtype == np.uint8


def test_breast_cancer_values():
    X, y = load_breast_cancer()
    # 0 = malignant, 1 = benign, as in scikit-learn
    np.testing.assert_array_equal(np.bincount(y), [212, 357])
    assert list(y[:3]) == [0, 0, 0] and list(y[[10, 50, 85]]) == [0, 1, 0]
    np.testing.assert_array_equal(X[0, :4], [17.99, 10.38, 122.8, 1001])
    np.testing.assert_array_equal(X[0, 20:24], [25.38, 17.33, 184.6, 2019])
    assert not np.isnan(X).any() and X.min() == 0.0 and X.max() == 4254.0
    assert (X == 0).sum() == 78          # concavity / concave points of some samples
    np.testing.assert_allclose(X[:, :4].mean(0), [14.127291739894563, 19.28964850615117,
                                                  91.96903339191566, 654.8891036906857], rtol=1e-12)
    # the min/max table of sklearn's breast_cancer.rst (rounded there to 3 decimals)
    np.testing.assert_array_equal(X[:, [0, 3, 20, 23]].min(0), [6.981, 143.5, 7.93, 185.2])
    np.testing.assert_array_equal(X[:, [0, 3, 20, 23]].max(0), [28.11, 2501.0, 36.04, 4254.0])
    # malignant tumours are larger on average
    assert X[y == 0, 0].mean() > X[y == 1, 0].mean()


def test_breast_cancer_logistic_regression_generalises():
    # 300 steps of full-batch gradient descent (lr 0.5) on standardised features, 5 interleaved
    # folds; out-of-fold accuracy is 0.979 (each fold 0.956..1.0)
    X, y = load_breast_cancer()
    idx = np.arange(len(X))
    correct = 0
    for k in range(5):
        te, tr = idx[idx % 5 == k], idx[idx % 5 != k]
        mu, sd = X[tr].mean(0), X[tr].std(0)
        Z = (X - mu) / sd
        w, b = np.zeros(X.shape[1]), 0.0
        for _ in range(300):
            g = 1 / (1 + np.exp(-(Z[tr] @ w + b))) - y[tr]
            w -= 0.5 * (Z[tr].T @ g) / len(tr)
            b -= 0.5 * g.mean()
        correct += int(((Z[te] @ w + b > 0) == y[te]).sum())
    assert correct / len(X) >= 0.95


# ------------------------------------------------------------------ all loaders

@pytest.mark.parametrize("loader", [load_digits, load_diabetes, load_breast_cancer])
def test_loaders_do_not_touch_the_network(loader, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a data set loader tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    X, y = loader()
    assert len(X) == len(y) > 0


@pytest.mark.parametrize("loader", [load_digits, load_diabetes, load_breast_cancer])
def test_loaders_return_fresh_arrays(loader):
    X, y = loader()
    X[...] = 0
    y[...] = 0
    X2, y2 = loader()
    assert X2.any() and y2.any()
