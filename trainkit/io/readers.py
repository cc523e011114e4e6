"""File readers of ``mx.io``: ``CSVIter`` and ``MNISTIter``, with MXNet 1.9.1's batching.

MXNet implements both in C++; these read the whole file into memory with numpy (fine for
the sizes they are used with) and reproduce what the C++ iterators hand out:

* ``CSVIter(round_batch=True)``: an incomplete last batch wraps around to the first rows
  (``pad`` = the wrapped count), and the next epoch starts after the rows already served.
  With ``round_batch=False`` the missing rows repeat the previous batch's tail rows
  (what MXNet's reused buffer holds), ``pad`` counting them.
* ``MNISTIter`` reads idx files (gzipped or not), scales pixels by 1/256, drops the
  incomplete last batch and shuffles (default) with its own ``seed``; the order is not
  MXNet's (its C++ generator is not reproduced).
"""
import gzip
import struct
import sys

import numpy as np

from ..ndarray.ndarray import array
from .io import DataBatch, DataDesc, DataIter

__all__ = ["CSVIter", "MNISTIter"]


def _read_csv(path, shape, dtype, what):
    try:
        rows = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except OSError:
        raise FileNotFoundError(f"CSVIter: cannot read {what} file {path!r}. Pass the path of an existing "
                                "comma-separated file.") from None
    except ValueError as err:
        raise ValueError(f"CSVIter: {what} file {path!r} is not a comma-separated table of numbers ({err}).") \
            from None
    per_row = int(np.prod(shape))
    if rows.shape[1] != per_row:
        raise ValueError(f"CSVIter: each row of {path!r} has {rows.shape[1]} values but {what}_shape {shape} "
                         f"needs {per_row}. Make {what}_shape match the file's columns.")
    return rows.astype(dtype).reshape((rows.shape[0],) + tuple(shape))


class CSVIter(DataIter):
    """Batches of rows of a CSV file, each reshaped to ``data_shape``; labels from ``label_csv``
    (zeros of ``label_shape`` when it is not given).

    Parameters
    ----------
    data_csv, label_csv : str
    data_shape, label_shape : tuple
    batch_size : int
    round_batch : bool
        True: wrap the last batch around (see the module doc); False: pad it.
    dtype : str
        'float32' (default), 'int32' or 'int64'; labels stay float32.
    """

    def __init__(self, data_csv, data_shape, label_csv=None, label_shape=(1,), batch_size=1, round_batch=True,
                 dtype="float32", data_name="data", label_name="softmax_label", prefetch_buffer=4, ctx="cpu",
                 **kwargs):
        super().__init__(batch_size)
        if int(batch_size) <= 0:
            raise ValueError(f"CSVIter needs batch_size > 0, got {batch_size}.")
        self.batch_size = int(batch_size)
        self.dtype = np.dtype(dtype)
        self.data = _read_csv(data_csv, tuple(data_shape), self.dtype, "data")
        n = self.data.shape[0]
        if label_csv is None or label_csv == "NULL":
            self.label = np.zeros((n,) + tuple(label_shape), np.float32)
        else:
            self.label = _read_csv(label_csv, tuple(label_shape), np.float32, "label")
            if self.label.shape[0] != n:
                raise ValueError(f"CSVIter: {data_csv!r} has {n} rows but {label_csv!r} has "
                                 f"{self.label.shape[0]}; pass one label row per data row.")
        if tuple(label_shape) == (1,):
            self.label = self.label.reshape(n)
        self.round_batch = bool(round_batch)
        self.data_name, self.label_name = data_name, label_name
        self._start = 0          # where the next epoch begins (after rows a wrapped batch served)
        self._batch = None
        self.reset()

    @property
    def provide_data(self):
        return [DataDesc(self.data_name, (self.batch_size,) + self.data.shape[1:], self.dtype.type)]

    @property
    def provide_label(self):
        return [DataDesc(self.label_name, (self.batch_size,) + self.label.shape[1:], np.float32)]

    def reset(self):
        self._cursor = self._start
        self._prev = None
        self._done = False

    def iter_next(self):
        n, bs = self.data.shape[0], self.batch_size
        if self._done or self._cursor >= n:
            return False
        idx = np.arange(self._cursor, min(self._cursor + bs, n))
        pad = bs - len(idx)
        if pad:
            if self.round_batch:
                idx = np.concatenate([idx, np.arange(pad) % n])
                self._start = pad % n
            else:
                # the C++ iterator's buffer still holds the previous batch's tail
                prev = self._prev if self._prev is not None else np.zeros(bs, np.int64)
                idx = np.concatenate([idx, prev[len(idx):]])
            self._done = True
        elif self._cursor + bs >= n:
            self._start = 0
        self._cursor += bs
        self._prev = idx
        self._batch = DataBatch(data=[array(self.data[idx], dtype=self.dtype)],
                                label=[array(self.label[idx], dtype=np.float32)], pad=pad, index=idx)
        return True

    def next(self):
        if self.iter_next():
            return self._batch
        raise StopIteration

    def getdata(self):
        return self._batch.data[0]

    def getlabel(self):
        return self._batch.label[0]

    def getpad(self):
        return self._batch.pad

    def getindex(self):
        return self._batch.index


def _read_idx(path, what):
    try:
        with open(path, "rb") as f:
            gzipped = f.read(2) == b"\x1f\x8b"
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
            raw = f.read()
    except OSError:
        raise FileNotFoundError(f"MNISTIter: cannot read the {what} file {path!r}. Pass the path of an MNIST "
                                "idx file (e.g. train-images-idx3-ubyte, gzipped or not).") from None
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in (1, 3):
        raise ValueError(f"MNISTIter: {path!r} is not an idx file of unsigned bytes (magic {magic:#x}); "
                         "pass MNIST's train/t10k images-idx3 or labels-idx1 files.")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class MNISTIter(DataIter):
    """Batches of MNIST images ``(batch, 1, 28, 28)`` (``flat=True``: ``(batch, 784)``) in [0, 1)
    and float32 labels, from idx files."""

    def __init__(self, image="./train-images-idx3-ubyte", label="./train-labels-idx1-ubyte", batch_size=128,
                 shuffle=True, flat=False, seed=0, silent=False, num_parts=1, part_index=0, input_shape=None,
                 data_shape=None, data_name="data", label_name="softmax_label", **kwargs):
        super().__init__(batch_size)
        images = _read_idx(image, "image")
        labels = _read_idx(label, "label")
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"MNISTIter: {image!r} holds {images.shape} and {label!r} {labels.shape}; pass an "
                             "images-idx3 file and the labels-idx1 file with one label per image.")
        if not 0 <= part_index < num_parts:
            raise ValueError(f"MNISTIter needs 0 <= part_index < num_parts, got {part_index} of {num_parts}.")
        per_part = len(images) // num_parts
        images = images[part_index * per_part:(part_index + 1) * per_part]
        labels = labels[part_index * per_part:(part_index + 1) * per_part]
        self.flat = bool(flat)
        rows, cols = images.shape[1:]
        self.images = images.reshape((len(images), rows * cols) if self.flat else (len(images), 1, rows, cols))
        self.labels = labels.astype(np.float32)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self._rng = np.random.RandomState(seed)
        self.data_name, self.label_name = data_name, label_name
        self._order = np.arange(len(self.images))
        if self.shuffle:
            self._rng.shuffle(self._order)
        if not silent:
            shape = (f"({self.batch_size},{rows * cols})" if self.flat
                     else f"[{self.batch_size},1,{rows},{cols}]")
            print(f"MNISTIter: load {len(self.images)} images, shuffle={int(self.shuffle)}, shape={shape}",
                  file=sys.stderr)
        self.reset()

    @property
    def provide_data(self):
        return [DataDesc(self.data_name, (self.batch_size,) + self.images.shape[1:])]

    @property
    def provide_label(self):
        return [DataDesc(self.label_name, (self.batch_size,))]

    def reset(self):
        self._cursor = 0
        self._batch = None

    def iter_next(self):
        if self._cursor + self.batch_size > len(self.images):
            return False
        idx = self._order[self._cursor:self._cursor + self.batch_size]
        self._cursor += self.batch_size
        data = self.images[idx].astype(np.float32) * np.float32(1.0 / 256)
        self._batch = DataBatch(data=[array(data)], label=[array(self.labels[idx])], pad=0,
                                index=np.zeros(self.batch_size, np.uint64))
        return True

    def next(self):
        if self.iter_next():
            return self._batch
        raise StopIteration

    def getdata(self):
        return self._batch.data[0]

    def getlabel(self):
        return self._batch.label[0]

    def getpad(self):
        return 0

    def getindex(self):
        return self._batch.index
