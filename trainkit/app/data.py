"""Datasets for the training app: a `data` config in, numpy arrays out.

`load_dataset(cfg.data)` returns `(X_train, y_train, X_val, y_val)`: float32 features,
one flattened row per sample, and int64 class labels 0..K-1. The train/validation split
uses numpy's own Generator with `data.split_seed`, not trainkit's MXNet-compatible
stream, so changing `seed` changes the initial weights but never which samples are held out.

Sources: digits (shipped), mnist (idx files), csv, npz, synthetic (a Gaussian mixture).
File problems raise DataError naming the file and the config key to change.
"""
import csv
import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np


class DataError(Exception):
    """A data problem the user can fix; the message names the file and the config key."""

    user_error = True  # cli.main prints these as one message, without a traceback


def load_dataset(cfg_data, task="classification"):
    """`(X_train, y_train, X_val, y_val)` for a `data` config (DictConfig, dict or dataclass)."""
    d = load_data(cfg_data, task)
    return d.X, d.y, d.X_val, d.y_val


class Dataset:
    """What load_data returns: X, y, X_val, y_val, feature_names and standardization (stats or None)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


# the task each shipped data set is for (None: classification, or any task the labels allow)
_SOURCE_TASKS = {"diabetes": ("regression",), "breast_cancer": ("binary", "classification")}


def load_data(cfg_data, task="classification", class_names=None):
    """A Dataset for a `data` config and a task (trainkit.tasks name or Task): float32 features,
    labels as the task keeps them (int64 classes, 0/1, float32 targets), the feature names, the
    standardization statistics when data.standardize=true (from the training part only), and
    class_names: the sorted text labels when the file names its classes ("cat", "dog"), else None.
    Given `class_names` (a trained run's), text labels are numbered by that list instead, so other
    data keeps the run's class indices even when it lacks some classes."""
    from trainkit.tasks import get_task
    task = get_task(task)
    c = _as_dict(cfg_data)
    source = _SOURCES.get(str(c.get("name")))
    if source is None:
        raise DataError(f"data.name={c.get('name')!r} is not a data source; choose one of "
                        f"{', '.join(_SOURCES)} (e.g. data=digits).")
    fits = _SOURCE_TASKS.get(str(c["name"]))
    if fits is not None and task.name not in fits:
        raise DataError(f"data={c['name']} is a {fits[0]} data set, but task={task.name}; use task={fits[0]} "
                        f"(or +recipe={c['name']}).")
    c["_task"] = task.name
    c["_class_names"] = list(class_names) if class_names is not None else None
    X, y, X_val, y_val, names = source(c)
    if X_val is None:  # the source has no held-out part of its own: split one off
        train, val = split_indices(len(X), c.get("val_fraction", 0.2), c.get("split_seed", 0))
        X, y, X_val, y_val = X[train], y[train], X[val], y[val]
    names = list(names) if names is not None else [f"x{j}" for j in range(int(np.prod(X.shape[1:])))]
    stats = None
    if c.get("standardize"):
        stats = standardization_stats(X.reshape(len(X), -1), names)
        X, X_val = apply_standardization(X, stats), apply_standardization(X_val, stats)
    y = task.check_labels(y, f"the training labels ({c['name']})", DataError)
    y_val = task.check_labels(y_val, f"the validation labels ({c['name']})", DataError)
    if task.name != "regression" and len(np.unique(y)) < 2:
        raise DataError(f"the training data ({c['name']}) holds only one class "
                        f"({np.unique(y).tolist()}): there is nothing to classify.")
    as_x = lambda a: np.ascontiguousarray(a, dtype=np.float32)
    return Dataset(X=as_x(X), y=np.ascontiguousarray(y), X_val=as_x(X_val), y_val=np.ascontiguousarray(y_val),
                   feature_names=names, standardization=stats, class_names=c.get("_found_class_names"))


# ------------------------------------------------------------------ standardization (recorded in the run)

STANDARDIZATION_FILE = "standardization.json"


def standardization_stats(X, names):
    """``{"features", "mean", "std"}`` of training features X (N, D); constant features get std 1."""
    mean, std = X.mean(axis=0), X.std(axis=0)
    std = np.where(std == 0, 1.0, std)  # constant features stay constant instead of dividing by zero
    return {"features": list(names), "mean": mean.tolist(), "std": std.tolist()}


def apply_standardization(X, stats):
    """``(X - mean) / std`` with recorded statistics (a Dataset's, or load_standardization's)."""
    if stats is None:
        return X
    X = np.asarray(X)
    mean, std = np.asarray(stats["mean"]), np.asarray(stats["std"])
    flat = X.reshape(len(X), -1)
    if flat.shape[1] != len(mean):
        raise DataError(f"the data has {flat.shape[1]} features, but the standardization was recorded for "
                        f"{len(mean)} ({', '.join(stats['features'][:5])}...); give data laid out like the training data.")
    return ((flat - mean) / std).reshape(X.shape)


def save_standardization(run_dir, stats):
    """Write run_dir/standardization.json (trainkit.files: whole or absent)."""
    import json

    from trainkit import files
    files.write_text(Path(run_dir) / STANDARDIZATION_FILE, json.dumps(stats, indent=1) + "\n")


def load_standardization(run_dir):
    """The statistics a run recorded (data.standardize=true), or None when it recorded none."""
    import json
    path = Path(run_dir) / STANDARDIZATION_FILE
    if not path.is_file():
        return None
    try:
        stats = json.loads(path.read_text(encoding="utf-8"))
        assert len(stats["mean"]) == len(stats["std"]) == len(stats["features"])
        return stats
    except (ValueError, KeyError, TypeError, AssertionError):
        raise DataError(f"{path} is damaged (not the JSON a run writes: features, mean, std).") from None


LABELS_FILE = "labels.json"


def save_class_names(run_dir, names):
    """Write run_dir/labels.json: the class names in index order, so predictions can be written as names."""
    import json

    from trainkit import files
    files.write_text(Path(run_dir) / LABELS_FILE, json.dumps({"classes": list(names)}, indent=1) + "\n")


def load_class_names(run_dir):
    """The class names a run recorded (text labels in its data), or None when its labels were numbers."""
    import json
    path = Path(run_dir) / LABELS_FILE
    if not path.is_file():
        return None
    try:
        names = json.loads(path.read_text(encoding="utf-8"))["classes"]
        assert isinstance(names, list) and all(isinstance(n, str) for n in names)
        return names
    except (ValueError, KeyError, TypeError, AssertionError):
        raise DataError(f"{path} is damaged (not the JSON a run writes: {{\"classes\": [names...]}}).") from None


def read_features(path, cfg_data, require_label=False, task="classification", n_features=None):
    """``(X, y_or_None, feature_names)`` from a CSV or NPZ file laid out like the training data of
    ``cfg_data``: for data=csv its delimiter, header, features and label keys; for other data a
    CSV whose columns are the features (a header row, if any, selects them by name) and optionally
    a last label column, or an npz with arrays x (and y). Not standardized (apply_standardization).

    The label column may be missing (unless require_label): a named label (data.label=species)
    that the header lacks, or, given ``n_features`` (the model's input size), a file exactly that
    many columns wide. Without n_features a data=csv file is read with its label column."""
    from trainkit.tasks import get_task
    task = get_task(task)
    c = _as_dict(cfg_data)
    path = Path(os.path.expanduser(str(path)))
    if not path.is_file():
        raise DataError(f"{path}: no such file; give a .csv or .npz laid out like the training data.")
    if path.suffix == ".npz":
        c2 = {"name": "npz", "path": str(path), "x_key": c.get("x_key", "x"), "y_key": c.get("y_key", "y")}
        with np.load(path, allow_pickle=False) as a:
            has_y = c2["y_key"] in a.files
        if not has_y:
            if require_label:
                raise DataError(f"{path} has no label array {c2['y_key']!r}; add it (numpy.savez(path, x=..., y=...)).")
            with np.load(path, allow_pickle=False) as a:
                X = np.asarray(a[c2["x_key"]], dtype=np.float64)
            return X.reshape(len(X), -1).astype(np.float32), None, None
        X, y, _, _, names = _npz({**c2, "_task": task.name})
    else:
        want = dict(c) if c.get("name") == "csv" else {"header": None, "label": -1, "features": None}
        if c.get("name") in ("diabetes", "breast_cancer", "digits"):  # shipped data: its feature count is known
            X0 = _SOURCES[c["name"]](c)[0]
            want["_n_features"] = int(np.prod(X0.shape[1:]))
        if n_features is not None:
            want["_n_features"] = int(n_features)
        want.update({"name": "csv", "path": str(path), "_task": task.name, "_optional_label": not require_label})
        X, y, _, _, names = _csv(want)
    if y is not None:
        y = task.check_labels(y, f"{path} labels", DataError)
    return X.astype(np.float32), y, names


def split_indices(n, val_fraction, seed):
    """A shuffled (train, val) split of range(n); the same (n, fraction, seed) gives the same split."""
    if not 0 <= val_fraction < 1:
        raise DataError(f"data.val_fraction={val_fraction} must be in [0, 1).")
    n_val = int(n * val_fraction + 0.5)  # round half up (Python's round() halves to even)
    if val_fraction > 0:
        n_val = max(n_val, 1)
    if n - n_val < 1:
        raise DataError(f"too few samples: {n} sample(s) cannot give both a training set and "
                        f"a validation set with data.val_fraction={val_fraction}. Add data or "
                        f"lower data.val_fraction.")
    order = np.random.default_rng(seed).permutation(n)
    return order[n_val:], order[:n_val]


def num_classes(y_train, y_val, configured=None):
    """`(classes, how)`: what the model must output and how that was decided (for the log).

    `configured` (model.num_classes) if set, after checking every label fits it. Otherwise it is
    inferred from the labels, which must then be 0..K-1 with every class present in the training
    part: a gap (labels 0..9 and 200) is a mistake in the data far more often than a
    201-class problem, and would silently build (and train) a model that large."""
    top = int(max(y_train.max(initial=0), y_val.max(initial=0)))
    if configured is not None:
        if top >= configured:
            where = "training" if y_train.max(initial=0) == top else "validation"
            raise DataError(f"the {where} data has label {top}, but model.num_classes={configured} allows "
                            f"only 0..{configured - 1}. Raise model.num_classes or fix the labels.")
        return int(configured), "model.num_classes"
    present = np.unique(y_train)
    missing = top + 1 - len(present)
    if missing > 0:
        unseen = np.setdiff1d(np.arange(min(top + 1, 1 << 20)), present)[:5].tolist()
        raise DataError(f"the labels are not the class indices 0..K-1: the largest is {top}, but only "
                        f"{len(present)} distinct labels occur in the training data ({missing} of 0..{top} never "
                        f"do, e.g. {', '.join(map(str, unseen))}). Relabel the classes 0..{len(present) - 1}, or "
                        f"set model.num_classes={top + 1} if that many classes are really meant.")
    return top + 1, f"inferred from the labels 0..{top}; set model.num_classes to fix it"


# ------------------------------------------------------------------ sources

def _digits(c):
    from trainkit.datasets import load_digits

    X, y = load_digits()
    return X / 16.0, y, None, None, None  # pixels count 0..16 "on" dots


def _diabetes(c):
    from trainkit.datasets import load_diabetes
    return (*load_diabetes(return_feature_names=True)[:2], None, None, load_diabetes(return_feature_names=True)[2])


def _breast_cancer(c):
    from trainkit.datasets import load_breast_cancer
    X, y, names = load_breast_cancer(return_feature_names=True)
    return X, y, None, None, names


def _mnist(c):
    folder = _existing(c, want_dir=True)
    X, y = _mnist_pair(folder, "train")
    if str(c.get("validation", "test")) == "test":
        X_val, y_val = _mnist_pair(folder, "t10k")
        return X, y, X_val, y_val, None
    return X, y, None, None, None


def _csv(c):
    path = _existing(c)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [(i, r) for i, r in enumerate(csv.reader(f, delimiter=c.get("delimiter", ",")), 1)
                    if any(cell.strip() for cell in r)]
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path} (data.path) is not a readable CSV text file: {e}.") from None
    header = rows.pop(0)[1] if c.get("header") and rows else None
    if not rows:
        raise DataError(f"{path} (data.path) holds no data rows.")
    width = len(rows[0][1])
    for line, r in rows:
        if len(r) != width:
            raise DataError(f"{path}, line {line}: {len(r)} columns where the first data row "
                            f"has {width} (data.delimiter={c.get('delimiter', ',')!r}).")
    header_auto = c.get("header") is None  # read_features on shipped data: a header row if the first is text
    if header_auto and rows and not all(_is_number(v) for v in rows[0][1]):
        header = rows.pop(0)[1]
    labels = c.get("label", -1)
    labels = list(labels) if isinstance(labels, (list, tuple)) else [labels]
    chosen = c.get("features")
    if chosen is not None:
        features = [_label_column(f, header, width, path, "data.features") for f in chosen]
        label_cols = [_label_column(v, header, width, path) for v in labels
                      if not (c.get("_optional_label") and _absent(v, header, width, len(features)))]
    elif c.get("_n_features") is not None and width == c["_n_features"]:  # read_features: no label column
        features, label_cols = list(range(width)), []
    else:
        if c.get("_optional_label"):  # read_features: the file may lack its label column
            labels = [v for v in labels if not _absent(v, header, width, c.get("_n_features"))]
        label_cols = [_label_column(v, header, width, path) for v in labels]
        features = [j for j in range(width) if j not in label_cols]
    label = label_cols[0] if label_cols else None
    X = np.empty((len(rows), len(features)), dtype=np.float64)
    for i, (line, r) in enumerate(rows):
        try:
            X[i] = [float(r[j]) for j in features]
        except ValueError:
            bad = next(r[j] for j in features if not _is_number(r[j]))
            hint = " Does it start with a header row? Set data.header=true." if i == 0 else ""
            raise DataError(f"{path}, line {line}: {bad!r} is not a number.{hint}") from None
    names = [header[j].strip() for j in features] if header else [f"x{j}" for j in features]
    if not label_cols:
        return _finite(X, path), None, None, None, names
    if c.get("_task") == "regression":
        try:
            y = np.array([[float(r[j]) for j in label_cols] for _, r in rows])
        except ValueError:
            raise DataError(f"{path}: a target in column(s) {label_cols} is not a number; task=regression needs "
                            f"numeric targets (data.label names the target column).") from None
        return _finite(X, path), (y[:, 0] if len(label_cols) == 1 else y), None, None, names
    y = _encode_labels([r[label] for _, r in rows], f"{path}, column {label}", c)
    return _finite(X, path), y, None, None, names


def _npz(c):
    path = _existing(c)
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as e:  # zipfile.BadZipFile, ValueError, OSError, pickle refusals
        raise DataError(f"{path} (data.path) is not a readable .npz file: {_first(e)}. Save one with "
                        f"numpy.savez(path, x=features, y=labels).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path} (data.path) holds a single array, not an .npz archive; save "
                        f"features and labels together with numpy.savez(path, x=..., y=...).")
    with archive:
        arrays = []
        for key in ("x_key", "y_key"):
            name = c.get(key, key[0])
            if name not in archive.files:
                raise DataError(f"{path} has no array {name!r} (data.{key}); it holds "
                                f"{', '.join(archive.files) or 'nothing'}. Set data.{key}=NAME.")
            try:
                arrays.append(archive[name])
            except Exception as e:  # object arrays need pickle, which is never allowed; damaged members
                raise DataError(f"{path}: array {name!r} (data.{key}) cannot be read without running "
                                f"pickled code, or is damaged ({_first(e)}). Save plain numeric arrays: "
                                f"numpy.savez(path, x=features.astype('float32'), y=labels.astype('int64')).") \
                    from None
    X, y = arrays
    if X.ndim < 2 or len(X) != len(y.reshape(-1)):
        raise DataError(f"{path}: features {c.get('x_key', 'x')} {X.shape} and labels "
                        f"{c.get('y_key', 'y')} {y.shape} must give one label per row.")
    if X.dtype.kind not in "biuf":
        raise DataError(f"{path}: features {c.get('x_key', 'x')!r} have dtype {X.dtype} ("
                        f"{'text' if X.dtype.kind in 'US' else 'not numbers'}); save them as a numeric array "
                        f"(e.g. numpy.savez(path, x=features.astype('float32'), y=labels)).")
    if c.get("_task") != "regression":
        y = _encode_labels(y.reshape(-1), f"{path}, array {c.get('y_key', 'y')!r}", c)
    return _finite(X.reshape(len(X), -1).astype(np.float64), path), y, None, None, None


def _synthetic(c):
    """A seeded Gaussian mixture: class k's samples scatter around centre k."""
    n, f, k = c.get("n_samples", 1000), c.get("n_features", 20), c.get("n_classes", 4)
    if k < 2 or f < 1 or n < k:
        raise DataError(f"data=synthetic needs n_classes >= 2, n_features >= 1 and n_samples >= "
                        f"n_classes; got n_samples={n}, n_features={f}, n_classes={k}.")
    rng = np.random.default_rng(c.get("seed", 0))
    centers = rng.normal(0.0, c.get("center_std", 1.0), (k, f))
    y = rng.permutation(np.arange(n) % k)  # balanced classes in random order
    X = centers[y] + rng.normal(0.0, c.get("cluster_std", 1.0), (n, f))
    return X, y, None, None, None


_SOURCES = {"digits": _digits, "mnist": _mnist, "csv": _csv, "npz": _npz,
            "synthetic": _synthetic, "diabetes": _diabetes, "breast_cancer": _breast_cancer}


# ------------------------------------------------------------------ MNIST's idx format

# The third magic byte names the element type; the values are big-endian.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """One idx file (LeCun's MNIST format), optionally gzipped, as a numpy array.

    Layout: two zero bytes, a type byte, a byte giving the number of dimensions, one
    big-endian uint32 per dimension, then the values in C order.
    """
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path} (data.path) could not be read: {e}.") from None
    if len(raw) < 4 or raw[0] or raw[1] or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path} is not an idx file: it should start with bytes 00 00 "
                        f"<type> <ndim>, but starts with {raw[:4].hex(' ') or 'nothing'}.")
    ndim, start = raw[3], 4 + 4 * raw[3]
    if len(raw) < start:
        raise DataError(f"{path} is truncated: its header promises {ndim} dimensions.")
    shape = struct.unpack(f">{ndim}I", raw[4:start])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - start != count * dtype.itemsize:
        raise DataError(f"{path} holds {len(raw) - start} bytes of data, but its header "
                        f"says {shape} x {dtype.itemsize} bytes = {count * dtype.itemsize}; "
                        f"the file is truncated or corrupt (download it again).")
    return np.frombuffer(raw, dtype, count, start).reshape(shape)


def _mnist_pair(folder, part):
    images = read_idx(_mnist_file(folder, part, "images", "idx3"))
    labels = read_idx(_mnist_file(folder, part, "labels", "idx1"))
    if images.ndim < 2 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{folder}: {part} images {images.shape} and labels {labels.shape} do "
                        f"not match (expected (N, 28, 28) and (N,)).")
    X = images.reshape(len(images), -1) / 255.0  # 8-bit grey levels
    return X, _encode_labels(labels, f"{folder}/{part} labels")


def _mnist_file(folder, part, kind, idx):
    # Both spellings seen in the wild: train-images-idx3-ubyte and train-images.idx3-ubyte.
    names = [f"{part}-{kind}{sep}{idx}-ubyte{gz}" for sep in "-." for gz in ("", ".gz")]
    for name in names:
        if (folder / name).is_file():
            return folder / name
    present = sorted(p.name for p in folder.iterdir())[:12]
    raise DataError(f"data.path={str(folder)!r} holds no {names[0]} (or {names[1]}); it "
                    f"holds {', '.join(present) or 'nothing'}. Put the four MNIST idx files "
                    f"(train-images, train-labels, t10k-images, t10k-labels) there, or point "
                    f"data.path at the folder that has them.")


# ------------------------------------------------------------------ helpers

def _as_dict(cfg_data):
    if hasattr(cfg_data, "_metadata"):  # an OmegaConf node; imported lazily to keep this module light
        from omegaconf import OmegaConf

        return OmegaConf.to_container(cfg_data, resolve=True, enum_to_str=True)
    if hasattr(cfg_data, "__dataclass_fields__"):
        from dataclasses import asdict

        return {k: str(v) if hasattr(v, "value") else v for k, v in asdict(cfg_data).items()}
    return dict(cfg_data)


def _existing(c, want_dir=False):
    raw = c.get("path")
    if raw in (None, "", "???"):
        raise DataError(f"data={c['name']} needs data.path: set data.path=... to the "
                        f"{'folder' if want_dir else 'file'} to read.")
    path = Path(os.path.expanduser(str(raw)))
    kind = "folder" if want_dir else "file"
    if not path.exists():
        where = "" if path.is_absolute() else f" (relative to {os.getcwd()})"
        raise DataError(f"data.path={raw!r}: no such {kind} {str(path.absolute())!r}{where}. "
                        f"Point data.path at the {kind} to read.")
    if want_dir and not path.is_dir():
        raise DataError(f"data.path={raw!r} is a file; data={c['name']} wants the folder "
                        f"holding its files.")
    if not want_dir and path.is_dir():
        raise DataError(f"data.path={raw!r} is a folder; data={c['name']} wants a file.")
    return path


def _absent(label, header, width, n_features):
    """An optional label column that the file does not have (read_features on unlabelled data)."""
    if isinstance(label, str) and not label.lstrip("-").isdigit():
        return header is None or label not in [h.strip() for h in header]
    return n_features is not None and width <= n_features


def _label_column(label, header, width, path, key="data.label"):
    if isinstance(label, str) and not label.lstrip("-").isdigit():
        if header is None:
            raise DataError(f"{key}={label!r} names a column, but data.header=false; set "
                            f"data.header=true or give the column's index (e.g. {key}=-1).")
        names = [h.strip() for h in header]
        if label not in names:
            raise DataError(f"{key}={label!r} is not a column of {path}; its header has "
                            f"{', '.join(names)}.")
        return names.index(label)
    index = int(label)
    if not -width <= index < width:
        raise DataError(f"{key}={label} is out of range: {path} has {width} columns "
                        f"(use 0..{width - 1}, or -1 for the last).")
    return index % width


def _encode_labels(values, where, c=None):
    """Class indices as int64. Whole numbers >= 0 are kept as they are; text labels
    ('setosa', ...) are numbered in sorted order, or by c["_class_names"] when a run's names are
    given, and the names used are left in c["_found_class_names"]."""
    values = np.asarray(values)
    c = {} if c is None else c
    if values.dtype.kind in "USO":
        if not all(_is_number(v) for v in values):
            texts = [str(v).strip() for v in values]
            classes = c.get("_class_names") or sorted(set(texts))
            lookup = {name: i for i, name in enumerate(classes)}
            unknown = sorted(set(texts) - set(lookup))
            if unknown:
                raise DataError(f"{where}: label {unknown[0]!r} is not one of the model's classes "
                                f"({', '.join(classes)}); the model was trained on those names only.")
            c["_found_class_names"] = list(classes)
            return np.array([lookup[t] for t in texts], dtype=np.int64)
        values = values.astype(np.float64)
    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (values == np.round(values))
        if not whole.all():
            raise DataError(f"{where}: label {values[~whole][0]} is not a class index; labels "
                            f"must be whole numbers 0, 1, 2, ... or class names.")
    values = values.astype(np.int64)
    if len(values) and values.min() < 0:
        raise DataError(f"{where}: label {values.min()} is negative; class indices start at 0.")
    return values


def _is_number(text):
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


def _finite(X, path):
    if not np.all(np.isfinite(X)):
        row, col = (int(i) for i in np.argwhere(~np.isfinite(X))[0])
        count = int((~np.isfinite(X)).sum())
        raise DataError(f"{path}: sample {row} (0-based), feature column {col} is {X[row, col]} (a missing or "
                        f"infinite value; {count} in all). Fill or drop those samples first.")
    return X


def _first(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__

