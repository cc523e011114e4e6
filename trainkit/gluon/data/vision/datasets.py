"""MNIST and FashionMNIST read from the standard IDX files in a local folder (trainkit never downloads)."""
import gzip
import os
import struct

import numpy as np

from ....ndarray.ndarray import NDArray
from ..dataset import Dataset

__all__ = ["MNIST", "FashionMNIST"]


def _read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class MNIST(Dataset):
    """Samples ``(image (28, 28, 1) uint8 NDArray, label int32)``; ``transform(data, label)`` if given.

    ``root`` must hold ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
    ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz`` (or the same names without ``.gz``).
    """

    _name = "MNIST"
    _url = "http://yann.lecun.com/exdb/mnist/"
    _train = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    _test = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

    def __init__(self, root=os.path.join("~", ".mxnet", "datasets", "mnist"), train=True, transform=None):
        self._root = os.path.expanduser(root)
        self._train_flag = train
        self._transform = transform
        self._get_data()

    def _find(self, base):
        for name in (base + ".gz", base):
            path = os.path.join(self._root, name)
            if os.path.exists(path):
                return path
        files = self._train if self._train_flag else self._test
        raise RuntimeError(
            f"{self._name}: '{base}.gz' was not found in {self._root}. trainkit does not download datasets: fetch "
            f"{', '.join(f + '.gz' for f in files)} (from {self._url} or a mirror) and put them in that folder, "
            f"or pass root= the folder that holds them.")

    def _get_data(self):
        images, labels = self._train if self._train_flag else self._test
        label = _read_idx(self._find(labels)).astype(np.int32)
        data = _read_idx(self._find(images))
        data = data.reshape(data.shape[0], 28, 28, 1)
        self._data = NDArray(np.ascontiguousarray(data))
        self._label = label

    def __getitem__(self, idx):
        if self._transform is not None:
            return self._transform(self._data[idx], self._label[idx])
        return self._data[idx], self._label[idx]

    def __len__(self):
        return len(self._label)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST, same files and layout as MNIST."""

    _name = "FashionMNIST"
    _url = "https://github.com/zalandoresearch/fashion-mnist"

    def __init__(self, root=os.path.join("~", ".mxnet", "datasets", "fashion-mnist"), train=True, transform=None):
        super().__init__(root, train, transform)
