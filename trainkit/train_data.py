"""The Trainer's data: (X, y) arrays or an ``mx.io.DataIter``, served as device batches.

With arrays the order of epoch ``e`` is ``numpy.random.default_rng([seed, e]).permutation(n)``, a
pure function of (seed, epoch), so a resumed run sees exactly the batches an uninterrupted one does.
"""
import numpy as np

from . import random as _random  # noqa: F401 - DataIter.reset() may draw from it
from .checkpoint import TrainerError
from .ndarray.ndarray import NDArray, array


# ----- data ----------------------------------------------------------------------------------------
def _host(x):
    """A numpy view of an NDArray's values (no copy on the CPU)."""
    data = x._data
    return data if isinstance(data, np.ndarray) else x.asnumpy()


def _labels(y, what):
    """The default label check: class indices (the classification task's own check)."""
    from .tasks import _class_labels
    return _class_labels(y, what, TrainerError)


class _Arrays:
    """(X, y) held as numpy; batches are copied to the device as they are served."""

    def __init__(self, X, y, what, labels=None):
        if isinstance(X, NDArray):
            X = X.asnumpy()
        if isinstance(y, NDArray):
            y = y.asnumpy()
        X = np.asarray(X)
        if X.ndim < 2:
            raise TrainerError(f"{what}: features must be an array of shape (N, features...), got shape {X.shape}.")
        self.y = (labels or _labels)(y, what)  # labels: the task's check (trainkit.tasks), host dtype
        if len(X) != len(self.y):
            raise TrainerError(f"{what}: {len(X)} samples but {len(self.y)} labels; give one label per sample.")
        if len(X) == 0:
            raise TrainerError(f"{what} holds no samples.")
        self.X = np.ascontiguousarray(X, dtype=np.float32)
        self.yf = self.y.astype(np.float32)  # the losses read float labels (softmax_cross_entropy as MXNet's)
        self.n = len(self.X)
        self.sample_shape = self.X.shape[1:]

    def num_batches(self, batch_size):
        return -(-self.n // batch_size)

    def batches(self, batch_size, ctx, order=None, start=0):
        X, yf, y = self.X, self.yf, self.y
        n = self.num_batches(batch_size)
        if order is None:
            for b in range(start, n):
                sel = slice(b * batch_size, (b + 1) * batch_size)
                yield array(X[sel], ctx), array(yf[sel], ctx), y[sel]
            return
        # shuffled: the samples of several batches gathered at once (fresh copies, wrapped, not copied
        # again), each batch a slice of them: one fancy index per chunk of batches, not per batch
        per_chunk = max(1, _GATHER_BYTES // max(1, batch_size * X[:1].nbytes))
        for first in range(start, n, per_chunk):
            sel = order[first * batch_size:(first + per_chunk) * batch_size]
            Xs, yfs, ys = X[sel], yf[sel], y[sel]
            for b in range(min(per_chunk, n - first)):
                part = slice(b * batch_size, (b + 1) * batch_size)
                yield _wrap(Xs[part], ctx), _wrap(yfs[part], ctx), ys[part]


_GATHER_BYTES = 1 << 22  # the shuffled samples gathered at once: a few MB, whatever the dataset's size


class _Iter:
    """An ``mx.io.DataIter`` (e.g. NDArrayIter): reset each epoch, padding trimmed."""

    def __init__(self, it, what, labels=None):
        self.labels = labels or _labels
        if not (hasattr(it, "reset") and hasattr(it, "__iter__")):
            raise TrainerError(f"{what} must be (X, y) arrays or an mx.io.DataIter, got {type(it).__name__}.")
        self.it = it
        desc = list(getattr(it, "provide_data", []) or [])
        self.sample_shape = tuple(desc[0].shape[1:]) if desc else None
        self.batch_size = getattr(it, "batch_size", None)
        n = getattr(it, "num_data", None)
        self.n = n if isinstance(n, (int, np.integer)) else None

    def num_batches(self, batch_size=None):
        if self.n is None or not self.batch_size:
            return None
        return -(-int(self.n) // int(self.batch_size))

    def batches(self, batch_size, ctx, order=None, start=0):
        from .io import shuffle_source
        with shuffle_source(_random.permutation):   # shuffles from the checkpointed stream, not numpy's
            self.it.reset()
        for b, batch in enumerate(self.it):
            if b < start:
                continue
            x, lab = batch.data[0], batch.label[0] if batch.label else None
            if lab is None:
                raise TrainerError("the DataIter serves no labels; the Trainer needs (data, label) batches.")
            keep = x.shape[0] - (batch.pad or 0)
            if keep < x.shape[0]:
                x, lab = x[0:keep], lab[0:keep]
            y = self.labels(lab.asnumpy(), "a DataIter batch")
            yield x.as_in_context(ctx), array(y.astype(np.float32), ctx), y


def _as_data(data, what, labels=None):
    """``labels(y, what)``: the task's label check (``Task.check_labels``); default class indices."""
    if data is None:
        return None
    if isinstance(data, (_Arrays, _Iter)):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return _Arrays(data[0], data[1], what, labels)
    return _Iter(data, what, labels)


def _epoch_order(seed, epoch, n):
    """The training order of ``epoch``: a pure function of (seed, epoch), so resume is exact."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, int(epoch)]).permutation(n)


def _wrap(data, ctx):
    """A fresh host array as an NDArray on ``ctx`` (moved there for a GPU)."""
    return NDArray(data, ctx) if ctx.device_type != "gpu" else array(data, ctx)
