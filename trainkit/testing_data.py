"""Datasets of ``mx.test_utils``, from local files only: trainkit never downloads.

MXNet's helpers fetch MNIST/CIFAR from data.mxnet.io. Here ``download`` raises an error
naming the file to put in place, and the dataset helpers read what is already on disk:
MNIST idx files (gzipped or not) in ``./data``, ``$MXNET_HOME/datasets/mnist`` or
``~/.mxnet/datasets/mnist``, or a ``data/mnist.zip`` (extracted on first use, as MXNet does).
"""
import bz2
import gzip
import os
import struct
import zipfile

import numpy as np

__all__ = ["download", "download_model", "get_mnist", "get_mnist_ubyte", "get_mnist_pkl", "get_mnist_iterator",
           "get_cifar10", "get_zip_data", "get_bz2_data", "get_im2rec_path"]

_MNIST_FILES = {"train_label": "train-labels-idx1-ubyte", "train_data": "train-images-idx3-ubyte",
                "test_label": "t10k-labels-idx1-ubyte", "test_data": "t10k-images-idx3-ubyte"}


def download(url, fname=None, dirname=None, overwrite=False, retries=5):
    """Return the local path of ``url``'s file if it is already there; trainkit never downloads."""
    fname = fname or url.split("/")[-1]
    path = os.path.join(dirname, fname) if dirname and not os.path.isabs(fname) else fname
    if os.path.exists(path) and not overwrite:
        return path
    raise FileNotFoundError(f"{path!r} is not on disk and trainkit never downloads: fetch {url} yourself and "
                            f"save it as {path!r} (tests and CI must not need the network).")


def download_model(model_name, dst_dir="./", meta_info=None):
    """MXNet's model zoo needs the network; trainkit does not download."""
    raise FileNotFoundError(f"download_model({model_name!r}): trainkit never downloads. Put "
                            f"{model_name}-symbol.json and {model_name}-0000.params in {dst_dir!r} and load them "
                            "with mx.model.load_checkpoint.")


def _mnist_dirs():
    dirs = ["data"]
    if os.environ.get("MXNET_HOME"):
        dirs.append(os.path.join(os.environ["MXNET_HOME"], "datasets", "mnist"))
    dirs += [os.path.join(os.path.expanduser("~"), ".mxnet", "datasets", "mnist"), "."]
    return dirs


def _find_mnist_file(base):
    for d in _mnist_dirs():
        for name in (base, base + ".gz"):
            path = os.path.join(d, name)
            if os.path.exists(path):
                return path
    raise FileNotFoundError(
        f"MNIST file {base}(.gz) not found; trainkit never downloads. Put the four MNIST idx files "
        f"({', '.join(v + '.gz' for v in _MNIST_FILES.values())}, gzipped or not) in one of: "
        f"{', '.join(_mnist_dirs())} (set MXNET_HOME to use $MXNET_HOME/datasets/mnist).")


def _open_maybe_gzip(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def get_mnist():
    """MNIST as MXNet returns it: ``train_data``/``test_data`` float32 ``(n, 1, 28, 28)`` in [0, 1],
    ``train_label``/``test_label`` int8, read from local idx files."""
    out = {}
    for key in ("train", "test"):
        with _open_maybe_gzip(_find_mnist_file(_MNIST_FILES[key + "_label"])) as f:
            struct.unpack(">II", f.read(8))
            label = np.frombuffer(f.read(), dtype=np.int8)
        with _open_maybe_gzip(_find_mnist_file(_MNIST_FILES[key + "_data"])) as f:
            _, _, rows, cols = struct.unpack(">IIII", f.read(16))
            image = np.frombuffer(f.read(), dtype=np.uint8).reshape(len(label), 1, rows, cols)
        out[key + "_data"] = image.astype(np.float32) / 255
        out[key + "_label"] = label
    return {"train_data": out["train_data"], "train_label": out["train_label"],
            "test_data": out["test_data"], "test_label": out["test_label"]}


def get_mnist_ubyte():
    """Make sure ``data/`` holds the four uncompressed MNIST idx files, as MXNet's tests expect:
    extract ``data/mnist.zip`` if it is there, else copy them from the other MNIST folders."""
    os.makedirs("data", exist_ok=True)
    wanted = [os.path.join("data", f) for f in _MNIST_FILES.values()]
    if all(os.path.exists(p) for p in wanted):
        return
    if os.path.exists(os.path.join("data", "mnist.zip")):
        with zipfile.ZipFile(os.path.join("data", "mnist.zip")) as zf:
            zf.extractall("data")
        return
    for base, target in zip(_MNIST_FILES.values(), wanted):
        if not os.path.exists(target):
            with _open_maybe_gzip(_find_mnist_file(base)) as src, open(target, "wb") as dst:
                dst.write(src.read())


def get_mnist_pkl():
    """``data/mnist.pkl.gz`` must already exist (trainkit never downloads)."""
    download("http://deeplearning.net/data/mnist/mnist.pkl.gz", dirname="data")


def get_mnist_iterator(batch_size, input_shape, num_parts=1, part_index=0):
    """(train, val) ``mx.io.MNISTIter``s over the local MNIST files; a 1-axis ``input_shape`` flattens."""
    from . import io
    get_mnist_ubyte()
    flat = len(input_shape) != 3
    common = dict(input_shape=input_shape, batch_size=batch_size, flat=flat, num_parts=num_parts,
                  part_index=part_index)
    train = io.MNISTIter(image="data/train-images-idx3-ubyte", label="data/train-labels-idx1-ubyte",
                         shuffle=True, **common)
    val = io.MNISTIter(image="data/t10k-images-idx3-ubyte", label="data/t10k-labels-idx1-ubyte",
                       shuffle=False, **common)
    return (train, val)


def get_cifar10():
    """``data/cifar/{train,test}.{rec,lst}`` or ``data/cifar10.zip`` must already be on disk."""
    os.makedirs("data", exist_ok=True)
    needed = [os.path.join("data", "cifar", f) for f in ("train.rec", "test.rec", "train.lst", "test.lst")]
    if all(os.path.exists(p) for p in needed):
        return
    zip_path = download("http://data.mxnet.io/mxnet/data/cifar10.zip", dirname="data")
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall("data")


def get_zip_data(data_dir, url, data_origin_name):
    """Extract ``data_dir/data_origin_name`` (which must be on disk) into ``data_dir``."""
    path = download(url, fname=data_origin_name, dirname=data_dir)
    with zipfile.ZipFile(path) as zf:
        zf.extractall(path=data_dir)


def get_bz2_data(data_dir, data_name, url, data_origin_name):
    """Decompress ``data_dir/data_origin_name`` into ``data_dir/data_name`` unless that exists."""
    target = os.path.join(data_dir, data_name)
    if os.path.exists(target):
        return
    source = download(url, fname=data_origin_name, dirname=data_dir)
    with bz2.BZ2File(source, "rb") as src, open(target, "wb") as dst:
        for line in src:
            dst.write(line)


def get_im2rec_path(home_env="MXNET_HOME"):
    """im2rec.py ships with MXNet's tools, not with trainkit."""
    raise FileNotFoundError("get_im2rec_path: trainkit does not ship MXNet's tools/im2rec.py (image record files "
                            "are out of scope).")
