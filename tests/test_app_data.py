"""Datasets: every source gives float32 features and int64 labels, splits are
deterministic, and bad files raise DataError naming the file and the key to change."""
import gzip
import json
import struct

import numpy as np
import pytest

from trainkit.app.data import (DataError, load_class_names, load_data, load_dataset, num_classes, read_features,
                               read_idx, save_class_names, split_indices)
from trainkit.datasets import load_digits


def write_idx(path, array):
    """LeCun's idx format: 00 00 <type> <ndim>, big-endian dims, big-endian values."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D}
    array = np.asarray(array)
    array = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    blob = (bytes([0, 0, codes[array.dtype], array.ndim])
            + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes())
    path.write_bytes(gzip.compress(blob) if path.suffix == ".gz" else blob)
    return path


def check_arrays(X, y, X_val, y_val, n_features):
    assert X.dtype == X_val.dtype == np.float32 and y.dtype == y_val.dtype == np.int64
    assert X.shape[1] == X_val.shape[1] == n_features
    assert len(X) == len(y) and len(X_val) == len(y_val)


# ------------------------------------------------------------------ digits

def test_shipped_digits_file():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.uint8 and X.max() == 16
    assert y.shape == (1797,) and sorted(np.unique(y)) == list(range(10))
    assert np.bincount(y).min() >= 170  # 174..183 images per digit


def test_digits_are_scaled_and_split():
    X, y, X_val, y_val = load_dataset({"name": "digits", "val_fraction": 0.2, "split_seed": 0})
    check_arrays(X, y, X_val, y_val, 64)
    assert (len(X), len(X_val)) == (1438, 359)
    assert 0.0 <= X.min() and X.max() == 1.0


def test_split_is_deterministic_and_partitions_the_data():
    train, val = split_indices(100, 0.25, seed=7)
    again = split_indices(100, 0.25, seed=7)
    assert np.array_equal(train, again[0]) and np.array_equal(val, again[1])
    assert len(val) == 25 and sorted(np.concatenate([train, val])) == list(range(100))
    other = split_indices(100, 0.25, seed=8)
    assert not np.array_equal(val, other[1])


def test_split_seed_changes_the_split_and_nothing_else():
    a = load_dataset({"name": "digits", "val_fraction": 0.2, "split_seed": 0})
    b = load_dataset({"name": "digits", "val_fraction": 0.2, "split_seed": 0})
    c = load_dataset({"name": "digits", "val_fraction": 0.2, "split_seed": 1})
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[3], c[3])


def test_no_validation_set_with_val_fraction_zero():
    X, y, X_val, y_val = load_dataset({"name": "digits", "val_fraction": 0.0})
    assert len(X) == 1797 and X_val.shape == (0, 64) and y_val.shape == (0,)


def test_accepts_the_composed_config():
    from trainkit.app.config import load_config

    cfg = load_config(["data=synthetic", "data.n_samples=50", "data.n_features=3"])
    check_arrays(*load_dataset(cfg.data), n_features=3)


# ------------------------------------------------------------------ mnist

@pytest.fixture
def mnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    for part, n, gz in (("train", 30, ".gz"), ("t10k", 10, "")):
        write_idx(tmp_path / f"{part}-images-idx3-ubyte{gz}",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{part}-labels-idx1-ubyte{gz}", np.arange(n, dtype=np.uint8) % 10)
    return tmp_path


def test_mnist_idx_files_plain_and_gzipped(mnist_dir):
    X, y, X_val, y_val = load_dataset({"name": "mnist", "path": str(mnist_dir),
                                       "validation": "test"})
    check_arrays(X, y, X_val, y_val, 784)
    assert (len(X), len(X_val)) == (30, 10)
    images = read_idx(mnist_dir / "train-images-idx3-ubyte.gz")
    assert np.allclose(X[3], images[3].reshape(-1) / 255.0)
    assert list(y_val) == list(range(10))


def test_mnist_split_from_the_training_files(mnist_dir):
    X, y, X_val, y_val = load_dataset({"name": "mnist", "path": str(mnist_dir),
                                       "validation": "split", "val_fraction": 0.2,
                                       "split_seed": 0})
    assert (len(X), len(X_val)) == (24, 6)


def test_mnist_dotted_file_names(mnist_dir):
    for p in mnist_dir.iterdir():
        p.rename(p.with_name(p.name.replace("-idx", ".idx")))
    assert len(load_dataset({"name": "mnist", "path": str(mnist_dir)})[0]) == 30


@pytest.mark.parametrize("array", [np.arange(6, dtype=">i4").reshape(2, 3),
                                   np.linspace(0, 1, 4, dtype=">f4")])
def test_read_idx_element_types(tmp_path, array):
    assert np.array_equal(read_idx(write_idx(tmp_path / "a.idx", array)), array)


def test_mnist_errors(tmp_path, mnist_dir):
    with pytest.raises(DataError, match=r"data.path='.*nowhere'.*no such folder"):
        load_dataset({"name": "mnist", "path": str(tmp_path / "nowhere")})
    (mnist_dir / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="holds no t10k-labels-idx1-ubyte") as e:
        load_dataset({"name": "mnist", "path": str(mnist_dir)})
    assert "train-images-idx3-ubyte.gz" in str(e.value)  # lists what is there


def test_idx_format_errors(tmp_path):
    bad = tmp_path / "bad-idx"
    bad.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DataError, match="is not an idx file.*50 4b 03 04"):
        read_idx(bad)
    good = write_idx(tmp_path / "cut", np.zeros((4, 2, 2), np.uint8))
    good.write_bytes(good.read_bytes()[:-3])
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(good)
    notgz = tmp_path / "x.gz"
    notgz.write_bytes(b"plain")
    with pytest.raises(DataError, match="could not be read"):
        read_idx(notgz)


# ------------------------------------------------------------------ csv

def csv_config(path, **kw):
    return {"name": "csv", "path": str(path), "label": -1, "header": False, "delimiter": ",",
            "standardize": False, "val_fraction": 0.25, "split_seed": 0, **kw}


def test_csv_with_header_and_named_text_labels(tmp_path):
    path = tmp_path / "iris.csv"
    rows = ["sepal,petal,species"] + [f"{i}.5,{i % 3},{['b', 'a', 'c'][i % 3]}" for i in range(8)]
    path.write_text("\n".join(rows) + "\n\n")
    X, y, X_val, y_val = load_dataset(csv_config(path, header=True, label="species"))
    check_arrays(X, y, X_val, y_val, 2)
    X_all, y_all = np.concatenate([X, X_val]), np.concatenate([y, y_val])
    # text labels are numbered in sorted order: a=0, b=1, c=2
    assert {tuple(x): int(c) for x, c in zip(X_all, y_all)}[(0.5, 0.0)] == 1


def test_csv_label_by_index_and_delimiter(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("".join(f"{i % 2};{i};{2 * i}\n" for i in range(10)))
    X, y, X_val, y_val = load_dataset(csv_config(path, label=0, delimiter=";"))
    assert X.shape == (7, 2) and set(y) | set(y_val) == {0, 1}
    assert np.all(X[:, 1] == 2 * X[:, 0])


def test_csv_standardize_uses_training_statistics(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("".join(f"{i},{5.0},{i % 2}\n" for i in range(20)))
    X, _, X_val, _ = load_dataset(csv_config(path, standardize=True))
    assert np.allclose(X.mean(0), 0, atol=1e-6) and np.allclose(X[:, 0].std(), 1, atol=1e-5)
    assert np.all(X[:, 1] == 0) and np.all(X_val[:, 1] == 0)  # constant stays finite


@pytest.mark.parametrize("text,kw,expected", [
    ("a,b,y\n1,2,0\n3,4,1\n", {}, r"line 1: 'a' is not a number\. .*data.header=true"),
    ("1,2,0\n3,4\n", {}, r"line 2: 2 columns where the first data row has 3"),
    ("a,b,y\n1,2,0\n", {"header": True, "label": "z"}, r"data.label='z' is not a column.*a, b, y"),
    ("1,2,0\n", {"label": "y"}, r"data.label='y' names a column, but data.header=false"),
    ("1,2,0\n", {"label": 5}, r"data.label=5 is out of range: .* has 3 columns"),
    ("1,2,0.5\n3,4,1\n", {}, r"label 0.5 is not a class index"),
    ("1,2,-1\n3,4,1\n", {}, r"label -1 is negative"),
    ("1,,0\n3,4,1\n", {}, r"line 1: '' is not a number"),
    ("", {}, r"holds no data rows"),
])
def test_csv_errors(tmp_path, text, kw, expected):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=expected):
        load_dataset(csv_config(path, **kw))


def test_missing_file_names_the_file_and_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as e:
        load_dataset(csv_config("data/train.csv"))
    message = str(e.value)
    assert "data.path='data/train.csv'" in message and str(tmp_path / "data/train.csv") in message
    with pytest.raises(DataError, match="is a folder"):
        load_dataset(csv_config(tmp_path))
    with pytest.raises(DataError, match="needs data.path"):
        load_dataset({"name": "csv", "path": None})


# ------------------------------------------------------------------ npz

def test_npz_default_and_custom_keys(tmp_path):
    rng = np.random.default_rng(1)
    images, labels = rng.random((20, 4, 4)), np.arange(20) % 4
    np.savez(tmp_path / "a.npz", x=images, y=labels)
    np.savez(tmp_path / "b.npz", images=images, targets=labels.astype(np.float32))
    X, y, X_val, y_val = load_dataset({"name": "npz", "path": str(tmp_path / "a.npz"),
                                       "val_fraction": 0.25, "split_seed": 0})
    check_arrays(X, y, X_val, y_val, 16)
    X2, y2, _, _ = load_dataset({"name": "npz", "path": str(tmp_path / "b.npz"),
                                 "x_key": "images", "y_key": "targets", "val_fraction": 0.25})
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "a.npz", data=np.zeros((4, 2)), y=np.zeros(4))
    with pytest.raises(DataError, match=r"has no array 'x' \(data.x_key\); it holds data, y"):
        load_dataset({"name": "npz", "path": str(tmp_path / "a.npz")})
    np.savez(tmp_path / "b.npz", x=np.zeros((4, 2)), y=np.zeros(3))
    with pytest.raises(DataError, match="one label per row"):
        load_dataset({"name": "npz", "path": str(tmp_path / "b.npz")})
    np.save(tmp_path / "c.npy", np.zeros(3))
    with pytest.raises(DataError, match="single array, not an .npz"):
        load_dataset({"name": "npz", "path": str(tmp_path / "c.npy")})
    (tmp_path / "d.npz").write_text("not a zip")
    with pytest.raises(DataError, match="is not a readable .npz file"):
        load_dataset({"name": "npz", "path": str(tmp_path / "d.npz")})


# ------------------------------------------------------------------ synthetic

def synthetic(**kw):
    return {"name": "synthetic", "n_samples": 200, "n_features": 5, "n_classes": 4,
            "center_std": 3.0, "cluster_std": 0.5, "seed": 0, "val_fraction": 0.2,
            "split_seed": 0, **kw}


def test_synthetic_is_seeded_balanced_and_learnable():
    X, y, X_val, y_val = load_dataset(synthetic())
    check_arrays(X, y, X_val, y_val, 5)
    assert np.bincount(np.concatenate([y, y_val])).tolist() == [50, 50, 50, 50]
    again = load_dataset(synthetic())
    assert np.array_equal(X, again[0])
    assert not np.array_equal(X, load_dataset(synthetic(seed=1))[0])
    # nearest class mean classifies well separated blobs almost perfectly
    means = np.stack([X[y == k].mean(0) for k in range(4)])
    predicted = np.argmin(((X_val[:, None] - means) ** 2).sum(-1), axis=1)
    assert (predicted == y_val).mean() > 0.9


def test_synthetic_needs_two_classes():
    with pytest.raises(DataError, match="n_classes >= 2"):
        load_dataset(synthetic(n_classes=1))


# ------------------------------------------------------------------ shared checks

def test_too_few_samples(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("1,2,0\n")
    with pytest.raises(DataError, match="too few samples: 1 sample"):
        load_dataset(csv_config(path))


def test_one_class_is_nothing_to_learn(tmp_path):
    path = tmp_path / "same.csv"
    path.write_text("1,0\n2,0\n3,0\n4,0\n")
    with pytest.raises(DataError, match="only one class"):
        load_dataset(csv_config(path))


def test_unknown_source():
    with pytest.raises(DataError, match="data.name='parquet' is not a data source"):
        load_dataset({"name": "parquet"})


def test_num_classes():
    y, y_val = np.array([0, 2, 1, 3, 4]), np.array([4])
    assert num_classes(y, y_val)[0] == 5 and num_classes(y, y_val, 10) == (10, "model.num_classes")
    assert "inferred from the labels 0..4" in num_classes(y, y_val)[1]
    with pytest.raises(DataError, match="validation data has label 5, but model.num_classes=5"):
        num_classes(y, np.array([5]), 5)


def test_labels_with_a_gap_are_refused_when_the_classes_are_inferred():
    # MNIST labels with one stray 200: inferring 201 classes would build (and train) a 201-class model
    y = np.concatenate([np.arange(10).repeat(5), [200]])
    with pytest.raises(DataError, match=r"the largest is 200, but only 11 distinct labels .*model.num_classes=201"):
        num_classes(y, np.array([1]))
    assert num_classes(y, np.array([1]), 201)[0] == 201  # said explicitly, it is taken


def test_non_finite_features_name_row_and_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("1,2,0\n3,nan,1\n5,6,0\n")
    with pytest.raises(DataError, match=r"sample 1 \(0-based\), feature column 1 is nan"):
        load_dataset({"name": "csv", "path": str(path), "label": -1})


def test_npz_of_strings_or_objects_is_refused(tmp_path):
    np.savez(tmp_path / "s.npz", x=np.array([["a", "b"], ["c", "d"]]), y=np.array([0, 1]))
    with pytest.raises(DataError, match="features 'x' have dtype <U1 \\(text\\)"):
        load_dataset({"name": "npz", "path": str(tmp_path / "s.npz")})
    np.savez(tmp_path / "o.npz", x=np.array([[1, None], [2, 3]], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError, match="array 'x' \\(data.x_key\\) cannot be read without running pickled code"):
        load_dataset({"name": "npz", "path": str(tmp_path / "o.npz")})


def test_data_errors_are_user_errors():
    assert DataError.user_error is True


# ------------------------------------------------------------------ read_features (predict's input) and class names

def test_read_features_npz_with_and_without_labels(tmp_path):
    X = np.arange(24, dtype=np.float64).reshape(6, 2, 2)
    np.savez(tmp_path / "xy.npz", x=X, y=np.array([0, 1, 2, 0, 1, 2]))
    np.savez(tmp_path / "x.npz", x=X)
    got, y, _ = read_features(tmp_path / "xy.npz", {"name": "npz"})
    assert got.dtype == np.float32 and got.shape == (6, 4) and np.array_equal(got, X.reshape(6, 4))
    assert y.tolist() == [0, 1, 2, 0, 1, 2]
    got, y, names = read_features(tmp_path / "x.npz", {"name": "npz"})
    assert np.array_equal(got, X.reshape(6, 4)) and y is None and names is None
    with pytest.raises(DataError, match="has no label array 'y'"):
        read_features(tmp_path / "x.npz", {"name": "npz"}, require_label=True)
    np.savez(tmp_path / "k.npz", feats=X)  # a data=npz run's own keys are used
    got, _, _ = read_features(tmp_path / "k.npz", {"name": "npz", "x_key": "feats", "y_key": "labels"})
    assert got.shape == (6, 4)


def test_read_features_csv_without_the_label_column(tmp_path):
    (tmp_path / "with.csv").write_text("1,2,3,0\n4,5,6,1\n")
    (tmp_path / "without.csv").write_text("1,2,3\n4,5,6\n")
    run_data = csv_config(tmp_path / "train.csv")  # label: -1, no header
    X, y, _ = read_features(tmp_path / "with.csv", run_data, n_features=3)
    assert X.tolist() == [[1, 2, 3], [4, 5, 6]] and y.tolist() == [0, 1]
    X, y, _ = read_features(tmp_path / "without.csv", run_data, n_features=3)
    assert X.tolist() == [[1, 2, 3], [4, 5, 6]] and y is None
    # a named label column the file lacks, with a header: every other column is a feature
    (tmp_path / "named.csv").write_text("a,b\n1,2\n3,4\n")
    X, y, names = read_features(tmp_path / "named.csv", csv_config("t", header=True, label="species"))
    assert X.tolist() == [[1, 2], [3, 4]] and y is None and names == ["a", "b"]
    with pytest.raises(DataError, match="'species' is not a column"):
        read_features(tmp_path / "named.csv", csv_config("t", header=True, label="species"), require_label=True)
    # other runs' data (digits): the columns are the features, a wider file has a last label column
    X, y, _ = read_features(tmp_path / "with.csv", {"name": "synthetic"}, n_features=3)
    assert X.shape == (2, 3) and y.tolist() == [0, 1]
    with pytest.raises(DataError, match="no such file"):
        read_features(tmp_path / "nothere.csv", run_data)


def test_text_class_labels_are_numbered_and_their_names_kept(tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text("".join(f"{i},{i % 3},{['dog', 'cat', 'emu'][i % 3]}\n" for i in range(12)))
    d = load_data(csv_config(path, val_fraction=0.0))
    assert d.class_names == ["cat", "dog", "emu"]
    by_row = {int(x[0]): int(label) for x, label in zip(d.X, d.y)}  # the split shuffles; column 0 is the row
    assert [by_row[i] for i in range(12)] == [[1, 0, 2][i % 3] for i in range(12)]
    # another file with only some of the classes keeps the run's numbering when given its names
    other = tmp_path / "few.csv"
    other.write_text("0,0,emu\n1,1,emu\n2,2,dog\n")
    alone = load_data(csv_config(other, val_fraction=0.0))
    assert sorted(alone.y.tolist()) == [0, 1, 1] and alone.class_names == ["dog", "emu"]
    d = load_data(csv_config(other, val_fraction=0.0), class_names=["cat", "dog", "emu"])
    assert sorted(d.y.tolist()) == [1, 2, 2] and d.class_names == ["cat", "dog", "emu"]
    (tmp_path / "new.csv").write_text("0,0,cat\n1,1,yak\n")
    with pytest.raises(DataError, match="label 'yak' is not one of the model's classes"):
        load_data(csv_config(tmp_path / "new.csv", val_fraction=0.0), class_names=["cat", "dog", "emu"])
    (tmp_path / "numbers.csv").write_text("0.5,0\n1.5,1\n")
    assert load_data(csv_config(tmp_path / "numbers.csv", val_fraction=0.0)).class_names is None


def test_class_names_round_trip_through_labels_json(tmp_path):
    assert load_class_names(tmp_path) is None
    save_class_names(tmp_path, ["cat", "dog, large"])
    assert json.loads((tmp_path / "labels.json").read_text()) == {"classes": ["cat", "dog, large"]}
    assert load_class_names(tmp_path) == ["cat", "dog, large"]
    (tmp_path / "labels.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="labels.json is damaged"):
        load_class_names(tmp_path)
